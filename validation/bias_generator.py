"""DYNAP-SE2 coarse/fine bias generator: the six N-type (and P-type) maxima, monotonicity, inverse.

Expected maxima at fine = 255 (physics reference 4.3, from Rockpool's measured DYNAP-SE2 table
rockpool/devices/dynapse/lookup/paramgen.py): N 71.8 pA, 573 pA, 4.57 nA, 36.4 nA, 290 nA, 2.28 uA;
P 66.9 pA, 536 pA, 4.30 nA, 34.4 nA, 277 nA, 2.24 uA. The inverse (current -> nearest coarse/fine)
must land within half a fine step of the lowest coarse range holding the request.
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.device import BiasGenerator

MAXIMA = {
    "n": [71.8e-12, 573e-12, 4.57e-9, 36.4e-9, 290e-9, 2.28e-6],
    "p": [66.9e-12, 536e-12, 4.30e-9, 34.4e-9, 277e-9, 2.24e-6],
}
UNITS = [(1e-12, "pA"), (1e-12, "pA"), (1e-9, "nA"), (1e-9, "nA"), (1e-9, "nA"), (1e-6, "uA")]


def main():
    gen = BiasGenerator.from_model("generic_180nm")
    checks = []
    for polarity, maxima in MAXIMA.items():
        measured = gen.current(np.arange(6), 255, polarity)
        for coarse, (expected, value) in enumerate(zip(maxima, measured)):
            scale, unit = UNITS[coarse]
            checks.append(Check(f"{polarity.upper()} max current, coarse {coarse}", "rockpool paramgen_se2", expected / scale, value / scale, 0.01, unit))
        grid = gen.current(np.arange(6)[:, None], np.arange(256)[None, :], polarity)
        checks.append(Check(f"{polarity.upper()} non-increasing fine steps", "monotone DAC", 0, int(np.sum(np.diff(grid, axis=1) <= 0)), 0, "count", atol=0))
        requests = np.geomspace(grid.min() * 1.01, grid.max() * 0.99, 5000)
        coarse, fine = gen.coarse_fine(requests, polarity)
        error = np.abs(gen.current(coarse, fine, polarity) - requests)
        covering = np.argmax(grid[:, -1][None, :] >= requests[:, None], axis=1)
        worst = float(np.max(error / (0.5 * gen.step(covering, polarity))))
        checks.append(Check(f"{polarity.upper()} round-trip error, half fine steps", "nearest setting: <= 1", 0.0, worst, 0, "step/2", atol=1.0))
    return report("DYNAP-SE2 bias generator", checks)


if __name__ == "__main__":
    sys.exit(main())
