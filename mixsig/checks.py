"""Expected-versus-measured checks shared by the scripts in ``validation/``.

Each validation script builds a list of :class:`Check` records and passes it to :func:`report`,
which prints a table and returns the exit status (0 when every check passes).
"""

import contextlib
import dataclasses
import sys


@dataclasses.dataclass(frozen=True)
class Check:
    """One literature or closed-form result compared with the emulator.

    Attributes
    ----------
    name : str
        What is checked, e.g. ``"tau at C = 2 pF"``.
    source : str
        Where the expected value comes from (equation or paper).
    expected : float
        Expected value, in ``units``.
    measured : float
        Value measured on the emulator, in ``units``.
    rtol : float
        Allowed relative deviation ``|measured - expected| / |expected|`` (``atol`` is used
        instead when it is given).
    units : str
        Units of ``expected`` and ``measured``.
    atol : float or None
        Allowed absolute deviation, for quantities whose expected value is near zero.
    """

    name: str
    source: str
    expected: float
    measured: float
    rtol: float
    units: str = "1"
    atol: float = None

    @property
    def error(self):
        """Relative (or, with ``atol``, absolute) deviation of the measurement."""
        deviation = abs(self.measured - self.expected)
        return deviation if self.atol is not None else deviation / abs(self.expected)

    @property
    def passed(self):
        """Whether the deviation is within tolerance."""
        return self.error <= (self.atol if self.atol is not None else self.rtol)

    @property
    def tolerance(self):
        """The tolerance as text (relative in %, or absolute with units)."""
        return f"±{self.atol:.3g} {self.units}" if self.atol is not None else f"±{100 * self.rtol:.3g} %"


_COLLECTORS = []


@contextlib.contextmanager
def collecting():
    """Collect every ``(title, checks)`` passed to :func:`report` inside the ``with`` block.

    Yields
    ------
    list of (str, list of Check)
    """
    collected = []
    _COLLECTORS.append(collected)
    try:
        yield collected
    finally:
        _COLLECTORS.remove(collected)


def report(title, checks, stream=None):
    """Print a table of checks and return the process exit status.

    Parameters
    ----------
    title : str
        Heading of the table.
    checks : sequence of Check
    stream : file-like, optional
        Where to print (default ``sys.stdout``).

    Returns
    -------
    int
        0 if every check passed, 1 otherwise.
    """
    stream = stream or sys.stdout
    for collected in _COLLECTORS:
        collected.append((title, list(checks)))
    print(f"== {title}", file=stream)
    print(f"{'result':<44} {'expected':>12} {'measured':>12} {'units':<6} {'tolerance':>12}  pass  source", file=stream)
    for check in checks:
        print(
            f"{check.name:<44} {check.expected:>12.5g} {check.measured:>12.5g} {check.units:<6} "
            f"{check.tolerance:>12}  {'yes ' if check.passed else 'NO  '}  {check.source}",
            file=stream,
        )
    failed = sum(not check.passed for check in checks)
    print(f"{len(checks) - failed} passed, {failed} failed", file=stream)
    return 0 if failed == 0 and checks else 1
