"""User-facing errors that list every problem found at a boundary (file, key, value, expected).

Loaders collect :class:`Problem` records while validating a whole file and raise a single
:class:`ConfigError`; the CLI prints its message and exits with status 2.
"""

import dataclasses


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
        return f"{self.source}: {self.key} = {self.value!r}: expected {self.expected}"


class ConfigError(ValueError):
    """A user-supplied file or object is invalid; ``problems`` lists every defect found."""

    def __init__(self, problems, what="configuration"):
        self.problems = list(problems)
        lines = [f"invalid {what}: {len(self.problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


def raise_if_any(problems, what="configuration"):
    """Raise :class:`ConfigError` if ``problems`` is non-empty."""
    if problems:
        raise ConfigError(problems, what)
