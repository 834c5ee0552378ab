"""User-facing errors that list every problem found at a boundary (file, key, value, expected).

Loaders collect :class:`Problem` records while validating a whole file and raise a single
:class:`ConfigError`; the CLI prints its message and exits with status 2.

A message stays readable whatever the input: a long value (a 1e5-entry pair list, a whole
table) is shown summarised to at most :data:`MAX_VALUE_CHARS` characters, and at most
:data:`MAX_PROBLEMS_SHOWN` problems are listed (the count of the others follows). A
:class:`ConfigError` survives pickling (raised in a worker process or a dask task, it arrives
with its problems intact).
"""

import dataclasses
import math
import numbers
import reprlib

MAX_VALUE_CHARS = 120
"""Longest shown representation of a problem's value, characters."""

MAX_PROBLEMS_SHOWN = 50
"""Most problems listed in one message (the rest are counted)."""

_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxstring = _REPR.maxother = MAX_VALUE_CHARS
_REPR.maxlevel = 3


def summarize_value(value):
    """A short representation of ``value`` for a message (``repr``, abbreviated when long).

    Parameters
    ----------
    value : object

    Returns
    -------
    str
        At most :data:`MAX_VALUE_CHARS` characters (plus a size note for long containers).
    """
    text = repr(value)
    if len(text) <= MAX_VALUE_CHARS:
        return text
    short = _REPR.repr(value)
    if len(short) > MAX_VALUE_CHARS:
        short = short[:MAX_VALUE_CHARS - 3] + "..."
    size = f" ({len(value)} items)" if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) else \
        f" ({len(text)} characters)"
    return short + size


@dataclasses.dataclass(frozen=True)
class Problem:
    """One defect in a user-supplied file or object.

    Attributes
    ----------
    source : str
        File path (or a description such as ``"<experiment>"``).
    key : str
        Dotted key path inside the source, e.g. ``"parameters.i_tau.cv"``.
    value : object
        The offending value (``None`` when the key is missing).
    expected : str
        What was expected instead.
    """

    source: str
    key: str
    value: object
    expected: str

    def __str__(self):
        return f"{self.source}: {self.key} = {summarize_value(self.value)}: expected {self.expected}"


class ConfigError(ValueError):
    """A user-supplied file or object is invalid; ``problems`` lists every defect found."""

    def __init__(self, problems, what="configuration"):
        self.problems = list(problems)
        self.what = what
        lines = [f"invalid {what}: {len(self.problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__("\n".join(lines))

    def __reduce__(self):
        # Exception pickling re-calls the class with ``self.args`` (the message), which would turn
        # the message into a list of one-character "problems"; rebuild from the problems instead.
        return type(self), (self.problems, self.what)


def is_int(value):
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value):
    """Whether ``value`` is a real number (Python or numpy, possibly inf or NaN), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite(value):
    """Whether ``value`` is a finite real number, not a bool."""
    return is_number(value) and math.isfinite(value)


def raise_if_any(problems, what="configuration"):
    """Raise :class:`ConfigError` if ``problems`` is non-empty."""
    if problems:
        raise ConfigError(problems, what)
