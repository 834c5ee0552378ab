"""``mixsig validate``: run every validation script and write a report.

Each script in ``validation/`` compares closed-form, literature or silicon results with the
emulator (:mod:`mixsig.checks`). This module runs them in-process, collects their checks, prints
one table (result, source, expected, measured, tolerance, pass) per fidelity layer and writes a
markdown report with the same sections: scripts named ``silicon_*.py`` reproduce published
measurements of DYNAP chips with the shipped chip configs ("against silicon"); every other script
is a verification or literature result.
"""

import contextlib
import datetime
import importlib.resources
import importlib.util
import io
import pathlib
import platform
import time
import traceback

from mixsig import __version__
from mixsig.checks import collecting
from mixsig.files import atomic_write


def default_directory():
    """The validation scripts shipped with mixsig.

    The installed package ``mixsig.validation`` (``validation/`` of the source tree, mapped by
    ``setup.cfg``); in a source checkout used without installing (``PYTHONPATH``), the tree's
    ``validation/`` folder beside the package.

    Returns
    -------
    pathlib.Path or importlib.resources.abc.Traversable
    """
    if importlib.util.find_spec("mixsig.validation") is not None:
        return importlib.resources.files("mixsig.validation")
    return pathlib.Path(__file__).resolve().parents[1] / "validation"


def scripts(directory):
    """The validation scripts of ``directory`` and whether each is marked slow (``SLOW = True``).

    Files whose names start with ``_`` (``__init__.py``) are not scripts.

    Returns
    -------
    list of (pathlib.Path, bool)
    """
    paths = sorted(path for path in pathlib.Path(directory).glob("*.py") if not path.name.startswith("_"))
    return [(path, "SLOW = True" in path.read_text()) for path in paths]


LAYERS = (("verification and literature", lambda stem: not stem.startswith("silicon_")),
          ("against silicon", lambda stem: stem.startswith("silicon_")))
"""Report sections: a title and which script stems belong to it."""


def load_script(path):
    """Import a validation script as a module (its ``main()`` runs the checks)."""
    spec = importlib.util.spec_from_file_location(f"validation_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(path):
    """Run one script; returns ``(status, [(title, checks)], seconds, error text or "")``."""
    start = time.perf_counter()
    output = io.StringIO()
    error = ""
    with collecting() as collected:
        try:
            with contextlib.redirect_stdout(output):
                status = load_script(path).main()
        except Exception:  # a crashing script is a failed validation, reported with its traceback
            status, error = 1, traceback.format_exc()
    return status, collected, time.perf_counter() - start, error


def _row(check):
    return (check.name, check.source, f"{check.expected:.6g}", f"{check.measured:.6g}", check.units,
            check.tolerance, "yes" if check.passed else "NO")


def markdown(results, elapsed):
    """The report as markdown text; ``results`` maps script stem -> ``run_script`` output."""
    failed = [stem for stem, (status, *_) in results.items() if status != 0]
    n_checks = sum(len(checks) for _, collected, _, _ in results.values() for _, checks in collected)
    lines = [
        "# mixsig validation report",
        "",
        f"mixsig {__version__}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()} on {platform.machine()}; {len(results)} scripts, {n_checks} checks, "
        f"{elapsed:.0f} s. Reproduce one result with `python validation/<script>.py`.",
        "",
        f"**{'All scripts passed.' if not failed else 'FAILED: ' + ', '.join(failed)}**",
        "",
    ]
    for layer, member in LAYERS:
        lines += [f"## {layer[0].upper()}{layer[1:]}", ""]
        for stem in filter(member, results):
            lines += _script_markdown(stem, *results[stem])
    return "\n".join(lines)


def _script_markdown(stem, status, collected, seconds, error):
    """Markdown lines of one script's section."""
    lines = [f"### `{stem}` — {'pass' if status == 0 else 'FAIL'} ({seconds:.1f} s)", ""]
    for title, checks in collected:
        lines += [f"**{title}**", "", "| result | source | expected | measured | units | tolerance | pass |",
                  "|---|---|---|---|---|---|---|"]
        lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in _row(check)) + " |" for check in checks]
        lines.append("")
    if error:
        lines += ["```", error.rstrip(), "```", ""]
    return lines


def _print_script(stem, result, stream):
    """Print one script's status line and its checks."""
    status, collected, seconds, error = result
    print(f"{'pass' if status == 0 else 'FAIL'}  {stem}  ({seconds:.1f} s)", file=stream)
    for _, checks in collected:
        for check in checks:
            name, source, expected, measured, units, tolerance, ok = _row(check)
            print(f"    {ok:<4} {name:<48} {expected:>12} {measured:>12} {units:<6} {tolerance:>10}  {source}", file=stream)
    if error:
        print("    " + error.strip().splitlines()[-1], file=stream)


def validate(directory="validation", report="validation-report.md", include_slow=True, stream=None):
    """Run the validation scripts, print the table, write the markdown report.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder of the scripts.
    report : str or os.PathLike
        Markdown report to write (atomically).
    include_slow : bool
        Also run scripts marked ``SLOW = True``.
    stream : file-like, optional
        Where to print the table (default stdout).

    Returns
    -------
    int
        0 when every script passed, 1 otherwise.
    """
    import sys

    stream = stream or sys.stdout
    start = time.perf_counter()
    results = {}
    selected = [path for path, slow in scripts(directory) if include_slow or not slow]
    for layer, member in LAYERS:
        print(f"== {layer} ==", file=stream)
        for path in (path for path in selected if member(path.stem)):
            results[path.stem] = run_script(path)
            _print_script(path.stem, results[path.stem], stream)
    text = markdown(results, time.perf_counter() - start)
    atomic_write(report, lambda temporary: pathlib.Path(temporary).write_text(text, encoding="utf-8"))
    failed = sum(status != 0 for status, *_ in results.values())
    print(f"{len(results) - failed} of {len(results)} scripts passed; report written to {report}", file=stream)
    return 0 if failed == 0 and results else 1
