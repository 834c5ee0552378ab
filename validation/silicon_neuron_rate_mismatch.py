"""Firing-rate mismatch across the neurons of a core against a sibling chip's published figure (ROLLS).

Published (Qiao et al. 2015, Front. Neurosci. 9:141, the ROLLS chip: an INI 180 nm processor whose
256 adaptive exponential silicon neurons and DPI synapses are the circuits DYNAP-SE inherits), as
summarised by the Open Neuromorphic page on ROLLS
(https://open-neuromorphic.org/neuromorphic-computing/hardware/rolls-ini/; its source,
open-neuromorphic/open-neuromorphic.github.io, content/english/neuromorphic-computing/hardware/
rolls-ini/index.md at commit 24fdaf04, read first-hand): "Low mismatch between neurons (9.4% avg)". The paper's own figure and its definition of that number
(which statistic, at which inputs) were not readable here: the reading below is stated, and the
tolerance covers it.

Reading: the coefficient of variation across the neurons of one chip of their firing rate under a
common input, averaged over input levels. On DYNAP a core's neurons share one DC bias, itself
mismatched per neuron, so each of the 256 neurons of core 0 of a ``dynapse1`` chip (statistics of
its device model ``dynapse1_180nm``, at the start of a run of the aged chip, no temporal noise;
feedback and adaptation on) fires for 1 s under the core's DC bias at 10, 20, 50, 100 and 300 leaks
(35 pA to 1.05 nA, about 19 to 100 Hz); the CV across the core is averaged over 4 chips and the
five levels. Near the rheobase (5 leaks) the model's CV rises to 0.17: levels that close to it are
left out, as a rate-mismatch figure is normally taken on the f-I curve above it.

Sibling chip, not DYNAP-SE: the same caveat as the PMC8149394 scripts. Only ``dynapse1`` is
checked: the same reading on ``dynapse2`` (device model ``generic_180nm``) gives 0.133, but its
shipped adaptation holds the rate at 10-25 Hz over these DC levels, an operating point the
published figure says nothing about. This is the first published
across-neuron spread the shipped statistics are checked against; their within-core spread comes
from ``technology.a_vt`` and the bias devices' area, both still ``[asm]``
(``d ln ttfs_cv_core / d ln a_vt`` = +1.09, docs/calibration.md).

Tolerance 25 %: the definition is not known; over the five levels the model's CV itself spans
0.086-0.124 (-10 % to +30 % of its mean), and 256 neurons give a CV to about 4 % (1/sqrt(2 N)).

Reproduce: ``python validation/silicon_neuron_rate_mismatch.py``
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.chip import load_chip
from mixsig.chip.sensitivity import soma_parameters
from mixsig.circuits import soma
from mixsig.device.calibration import load_device_model

SOURCE = "Qiao et al. 2015 (ROLLS), via Open Neuromorphic's ROLLS page"
PUBLISHED_CV = 0.094
"""Published average mismatch between neurons (fraction)."""

DC_LEVELS = (10.0, 20.0, 50.0, 100.0, 300.0)
"""DC biases of the core, multiples of its leak ``soma.i_tau``."""

CHIPS, SEED, DURATION, DT = 4, 0, 1.0, 1e-4
"""Chips sampled, their seed, the counting window (s) and the step (s, below t_ref = 5 ms)."""


def rate_cv(params, duration=DURATION, dt=DT):
    """CV across the neurons of each chip of the rate under constant input, shaped (chips,), and the mean rate (Hz)."""
    counts = np.array([t.size for t in soma.constant_input_spike_times(params, duration, dt=dt)], dtype=float)
    rates = counts.reshape(np.shape(params.i_dc)) / duration
    return rates.std(axis=1) / rates.mean(axis=1), float(rates.mean())


def main():
    chip = load_chip("dynapse1")
    model = load_device_model(chip.device_model)
    per_level = []
    for level in DC_LEVELS:
        cv, mean_rate = rate_cv(soma_parameters(model, chip, CHIPS, SEED, "tt", dc_factor=level))
        per_level.append(cv.mean())
        print(f"  DC {level:g} leaks: mean rate {mean_rate:.1f} Hz, CV across the core {cv.mean():.3f} "
              f"(chips {', '.join(f'{c:.3f}' for c in cv)})")
    checks = [Check("rate CV across a core, mean over DC levels and chips", SOURCE, PUBLISHED_CV,
                    float(np.mean(per_level)), 0.25)]
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
