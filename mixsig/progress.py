"""Progress bars: ``tqdm.auto`` (a widget in Jupyter, text on a terminal), quiet otherwise.

One helper decides whether a bar is shown, so runs, ensembles and studies agree: by default a bar
appears when stderr is a terminal or the code runs in a Jupyter kernel, and never in a batch job
whose output goes to a file.
"""

import contextlib
import sys


def in_notebook():
    """Whether the code runs in a Jupyter (IPython kernel) session."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython() if hasattr(shell, "get_ipython") else None
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def progress_bar(total, unit, desc="mixsig", show=None):
    """A tqdm bar of ``total`` items, or None when it is not shown.

    Parameters
    ----------
    total : int
        Number of items (steps, shards, conditions).
    unit : str
        Name of one item.
    desc : str
        Label in front of the bar.
    show : bool, optional
        Force the bar on or off (default: stderr is a terminal, or a Jupyter kernel runs the code).

    Returns
    -------
    tqdm.auto.tqdm or None
        Call ``update(n)`` and ``close()`` on it.
    """
    if show is None:
        show = sys.stderr.isatty() or in_notebook()
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, leave=False)


@contextlib.contextmanager
def counting(total, unit, desc="mixsig", show=None):
    """One overall bar over ``total`` items: ``with counting(n, "run") as done: ... done()``.

    Parameters
    ----------
    total, unit, desc, show
        As in :func:`progress_bar`.

    Yields
    ------
    callable
        Call it once per finished item (does nothing when the bar is not shown).
    """
    bar = progress_bar(total, unit, desc, show)
    try:
        yield (lambda: None) if bar is None else (lambda: bar.update(1))
    finally:
        if bar is not None:
            bar.close()
