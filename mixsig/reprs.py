"""Short text and HTML summaries of configuration objects for the console and notebooks.

A class mixes in :class:`Summary` and lists its key facts in ``_summary()``; the mixin gives it a
one-line ``repr`` (instead of a dataclass repr that prints whole TOML texts and tables) and a small
HTML table (``_repr_html_``) that Jupyter shows. A dataclass using it is declared ``repr=False``.
"""

import html


class Summary:
    """Mixin: ``__repr__`` and ``_repr_html_`` from ``_summary() -> (title, [(label, value), ...])``."""

    def _summary(self):
        raise NotImplementedError

    def __repr__(self):
        title, rows = self._summary()
        return f"<{title}: " + "; ".join(f"{label} {value}" for label, value in rows) + ">"

    def _repr_html_(self):
        title, rows = self._summary()
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(str(label))}</th>"
                       f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>" for label, value in rows)
        return f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>{body}</table>"
