"""Capacitive-memory (CapMem) parameter storage: per-neuron DAC codes that calibration trims.

On BrainScaleS-2 every analog neuron parameter (leak potential, leak and adaptation bias
currents, threshold, ...) is an individually programmable cell of an on-chip capacitive memory,
a ``bits``-bit DAC per cell [R: Pehle et al. 2022, Front. Neurosci. 16:795876, sec. 2 (analog
parameter storage, 10-bit cells); Hock et al. 2013, ESSCIRC, the CapMem cell]. A chip config
lists the trimmable parameters with the DAC's output range (``[capmem]``, ``docs/substrate_brainscales2.md``);
a cell programmed with code ``k`` holds the nominal value

.. math:: p(k) = p_{low} + k \\, \\frac{p_{high} - p_{low}}{2^{bits} - 1}, \\qquad k = 0 .. 2^{bits} - 1,

and the neuron's parameter is that value with the device's mismatch applied (added for a
voltage, multiplied otherwise, :mod:`mixsig.device.drift`). Without a trim file every cell holds the
chip's nominal bias (the ideal code's value); calibration (:mod:`mixsig.calibrate`) chooses each
neuron's code so that its *measured* parameter hits a target, cancelling mismatch down to the
DAC's step and the measurement noise.
"""

import dataclasses
import types

import numpy as np

from mixsig.errors import Problem, is_finite, is_int

MAX_BITS = 16
"""Largest CapMem resolution accepted (a code table of ``2**bits`` levels) [asm]."""


@dataclasses.dataclass(frozen=True)
class CapMem:
    """Trimmable parameters of a chip and the DAC of their cells.

    Attributes
    ----------
    bits : int
        DAC resolution of a cell, bits (``2**bits`` codes).
    ranges : mapping of str to (float, float)
        Trimmable bias ``<block>.<field>`` -> output range ``(low, high)`` of its DAC, SI units.
    """

    bits: int
    ranges: types.MappingProxyType

    @property
    def names(self):
        """Trimmable parameters, in file order."""
        return tuple(self.ranges)

    @property
    def max_code(self):
        """Largest code, ``2**bits - 1``."""
        return (1 << self.bits) - 1

    def value(self, name, code):
        """Nominal value a cell of ``name`` holds at ``code`` (array of int) -> SI array."""
        low, high = self.ranges[name]
        return low + np.asarray(code, dtype=float) * ((high - low) / self.max_code)

    def ideal_code(self, name, value):
        """Code whose nominal value is nearest ``value`` (clipped to the DAC range)."""
        low, high = self.ranges[name]
        return np.clip(np.rint((np.asarray(value, dtype=float) - low) / (high - low) * self.max_code),
                       0, self.max_code).astype(np.int64)

    def with_bits(self, bits):
        """The same cells at another resolution (for resolution studies)."""
        return dataclasses.replace(self, bits=int(bits))


def parse_capmem(source, table, fields, problems):
    """Validate a ``[capmem]`` table; return a :class:`CapMem` (None when invalid).

    Parameters
    ----------
    source : str
        File name for problem reports.
    table : dict
        ``{"bits": int, "range": {name: [low, high]}}``.
    fields : mapping of str
        The chip's bias names (a trimmable parameter must be one).
    problems : list of Problem
        Appended to.
    """
    count = len(problems)
    for key in sorted(set(table) - {"bits", "range"}):
        problems.append(Problem(source, f"capmem.{key}", table[key], "one of ['bits', 'range']"))
    bits = table.get("bits")
    if not (is_int(bits) and 1 <= bits <= MAX_BITS):
        problems.append(Problem(source, "capmem.bits", bits, f"an integer in [1, {MAX_BITS}] (DAC bits of a cell)"))
    ranges = table.get("range", {})
    if not isinstance(ranges, dict) or not ranges:
        problems.append(Problem(source, "capmem.range", ranges, "a table of trimmable biases: name = [low, high]"))
        ranges = {}
    parsed = {}
    for name, pair in ranges.items():
        key = f'capmem.range."{name}"'
        if name not in fields:
            problems.append(Problem(source, key, pair, "a bias <block>.<field> of this chip"))
        elif not (isinstance(pair, list) and len(pair) == 2 and all(is_finite(v) for v in pair) and pair[0] < pair[1]):
            problems.append(Problem(source, key, pair, f"[low, high] with low < high ({fields[name][0]})"))
        else:
            parsed[name] = (float(pair[0]), float(pair[1]))
    if len(problems) > count:
        return None
    return CapMem(bits=bits, ranges=types.MappingProxyType(parsed))


def nominal_problems(source, capmem, biases):
    """Problems of nominal biases outside their CapMem range (a cell cannot hold them)."""
    problems = []
    for name, (low, high) in capmem.ranges.items():
        values = biases.get(name)
        if values is not None and not np.all((values >= low) & (values <= high)):
            problems.append(Problem(source, f"biases.{name}", values.tolist(),
                                    f"within its CapMem range [{low:g}, {high:g}]"))
    return problems


def lsb(capmem, name):
    """Step of one code of ``name``'s cells, SI units."""
    low, high = capmem.ranges[name]
    return (high - low) / capmem.max_code


__all__ = ["CapMem", "MAX_BITS", "lsb", "nominal_problems", "parse_capmem"]
