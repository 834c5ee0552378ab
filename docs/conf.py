"""Sphinx configuration for the mixsig documentation.

Build (warnings are errors), from the repository root::

    pip install ".[docs]" && python -m sphinx -W -b html docs docs/_build/html

The markdown pages of ``docs/`` are included as they are (myst-parser); the API reference is
generated from the numpydoc docstrings (autodoc + numpydoc).
"""
import mixsig

project = "mixsig"
author = "the mixsig developers"
copyright = "2026, the mixsig developers"
release = mixsig.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# _build is the output; docs/examples/*.py are scripts (shown by examples/index.md).
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# myst: headings get anchors so that pages can link to sections; $...$ math as in models.md.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# autodoc / numpydoc: members in source order; the class-member autosummary tables of numpydoc
# would duplicate the documented members, so they are off.
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"mixsig {release}"


# -- CLI reference ------------------------------------------------------------------------------
# ``.. mixsig-cli-help::`` renders the argparse help of ``mixsig`` and of each of its
# subcommands, taken from mixsig.cli.build_parser() at build time, so the reference cannot drift
# from the command.
import argparse  # noqa: E402

from docutils import nodes  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402


class CliHelp(SphinxDirective):
    """Literal blocks with ``mixsig --help`` and ``mixsig COMMAND --help``."""

    def run(self):
        from mixsig.cli import build_parser

        parser = build_parser()
        parser.prog = "mixsig"
        out = [nodes.literal_block(text=parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    section = nodes.section(ids=[f"mixsig-{name}"])
                    section += nodes.title(text=f"mixsig {name}")
                    section += nodes.literal_block(text=sub.format_help())
                    out.append(section)
        return out


# -- Parameter tables -------------------------------------------------------------------------
# ``.. mixsig-parameters:: module.ClassName`` renders the fields of a circuit's frozen params
# dataclass (name, default, units, long_name) from the field metadata, the single source of
# units and descriptions, so the tables cannot drift from the code.
import dataclasses  # noqa: E402
import importlib  # noqa: E402


class Parameters(SphinxDirective):
    """A table of the fields of a params dataclass."""

    required_arguments = 1

    def run(self):
        module, name = self.arguments[0].rsplit(".", 1)
        cls = getattr(importlib.import_module(module), name)
        table = nodes.table()
        group = nodes.tgroup(cols=4)
        table += group
        for width in (18, 14, 8, 60):
            group += nodes.colspec(colwidth=width)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body

        def row(cells, parent):
            line = nodes.row()
            for text in cells:
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                line += entry
            parent += line

        row(("parameter", "default", "units", "meaning"), head)
        for field in dataclasses.fields(cls):
            if "units" not in field.metadata:
                continue
            default = field.default
            shown = f"{default:.4g}" if isinstance(default, float) else str(default)
            row((field.name, shown, field.metadata["units"], field.metadata["long_name"]), body)
        return [table]


def setup(app):
    app.add_directive("mixsig-cli-help", CliHelp)
    app.add_directive("mixsig-parameters", Parameters)
    return {"parallel_read_safe": True}
