"""Per-neuron calibration of the BrainScaleS-2-like chip: residual against the trim resolution.

``mixsig.calibrate`` searches every neuron's CapMem codes (successive approximation, as
BrainScaleS-2's calibration does) on 2 instances of a 2 x 32-neuron copy of ``brainscales2``. The
device model's offsets (20 mV, CV 20-30 %) are much wider than a code step, so after calibration
each neuron's parameter sits at a uniformly distributed distance from the target within half a
step: a uniform quantiser, rms ``step / sqrt(12)`` [D]. The measurement adds its own error
(readout noise, rms ``sigma``: measured minus actual, which the emulator knows), so the expected
rms residual is ``sqrt(step^2/12 + sigma^2)``. Checked at 6 and 8 bits (steps of 14 and 3.5 mV on the leak
potential, below its 20 mV offsets), where the step dominates,
for the leak potential and the spike threshold (additive offsets, so one step is the same for
every neuron). Tolerance 30 %: with 128 neurons the relative spread of an rms estimate of a
uniform variable is ``sqrt(0.8/128) / 2 = 4 %`` [D], and the step's position within the DAC range
and the readout noise's share add a few per cent; 30 % still separates neighbouring resolutions
(a factor 4 per two bits). At 10 bits (the chip's), the residual of every parameter is reported
against the same expectation, to 50 %: there the readout noise is a comparable share and the steps
of `g_l` and `b` scale with each neuron's mismatch factor (CV 20-30 %).
"""

import pathlib
import sys
import tempfile

import numpy as np

from mixsig import paths
from mixsig.calibrate import calibrate
from mixsig.checks import Check, report

SOURCE = "uniform quantiser sqrt(step^2/12 + sigma^2) [D]"
SLOW = True


def small_chip(folder):
    """A copy of the shipped brainscales2 config with 32 neurons per hemisphere, in ``folder``."""
    text = paths.shipped("brainscales2", "chip_configs").read_text()
    path = pathlib.Path(folder) / "bss2_small.toml"
    path.write_text(text.replace("neurons_per_core = 256", "neurons_per_core = 32"))
    return str(path)


def main():
    checks = []
    with tempfile.TemporaryDirectory() as folder:
        chip = small_chip(folder)
        for bits, names, rtol in ((6, ("adex.e_l", "adex.v_cut"), 0.3), (8, ("adex.e_l", "adex.v_cut"), 0.3),
                                  (10, ("adex.e_l", "adex.g_l", "adex.v_cut", "adex.b"), 0.5)):
            result = calibrate(chip, instances=2, bits=bits)
            for name in names:
                error = result.true_after[name] - result.targets[name]
                sigma = np.sqrt(np.mean((result.residual(name) + result.targets[name] - result.true_after[name]) ** 2))
                expected = np.sqrt(result.lsb[name] ** 2 / 12 + sigma ** 2)
                checks.append(Check(f"rms residual of {name} at {bits} bits", SOURCE, float(expected),
                                    float(np.sqrt(np.mean(error ** 2))), rtol,
                                    units={"adex.g_l": "s", "adex.b": "A"}.get(name, "V")))
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
