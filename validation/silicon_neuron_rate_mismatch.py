"""Firing-rate mismatch across the neurons of a core against a sibling chip's published figure (ROLLS).

Published (Qiao et al. 2015, Front. Neurosci. 9:141, the ROLLS chip: an INI 180 nm processor whose
256 adaptive exponential silicon neurons and DPI synapses are the circuits DYNAP-SE inherits), as
summarised by the Open Neuromorphic page on ROLLS
(https://open-neuromorphic.org/neuromorphic-computing/hardware/rolls-ini/; its source,
open-neuromorphic/open-neuromorphic.github.io, content/english/neuromorphic-computing/hardware/
rolls-ini/index.md at commit 24fdaf04, read first-hand): "Low mismatch between neurons (9.4%
avg)". The paper's own figure and its definition of that number (which statistic, at which
inputs) were not readable here: the reading below is stated, and the tolerance covers it.

Reading: the coefficient of variation across the neurons of one chip of their firing rate under a
common input, averaged over input levels. On DYNAP a core's neurons share one DC bias, itself
mismatched per neuron, so the 256 neurons of core 0 of the shipped ``dynapse1`` chip (the engine,
``mixsig.run``: its device model ``dynapse1_180nm``, mismatch on, temporal noise off, the aged chip;
feedback, adaptation and the idle DPIs' dark currents as in any run) fire for 1 s under the core's
DC bias ``soma.i_dc`` at 10, 20, 50, 100 and 300 leaks (35 pA to 1.05 nA, about 18 to 100 Hz),
without synaptic input; the CV across the core is averaged over 4 chips and the five levels. The
CV rises towards the rheobase (0.139 at 10 leaks, 0.087-0.089 from 50 leaks up): levels closer to
it are left out, as a rate-mismatch figure is normally taken on the f-I curve above it.

Sibling chip, not DYNAP-SE: the same caveat as the PMC8149394 scripts. Only ``dynapse1`` is
checked: the same reading on ``dynapse2`` (device model ``generic_180nm``) gives 0.138, but its
shipped adaptation holds the rate at 9-25 Hz over these DC levels, an operating point the
published figure says nothing about. This is the first published across-neuron spread the
shipped statistics are checked against; their within-core spread comes from ``technology.a_vt``
and the bias devices' area, both still ``[asm]`` (``d ln ttfs_cv_core / d ln a_vt`` = +1.09,
docs/calibration.md).

Tolerance 25 %: the definition is not known; over the five levels the model's CV itself spans
0.087-0.139 (-15 % to +36 % of its mean 0.102), and 256 neurons give a CV to about 4 %
(1/sqrt(2 N)).

Reproduce: ``python validation/silicon_neuron_rate_mismatch.py``
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.chip import load_chip
from mixsig.engine.simulation import run
from mixsig.experiment import experiment_from_dict

SOURCE = "Qiao et al. 2015 (ROLLS), via Open Neuromorphic's ROLLS page"
PUBLISHED_CV = 0.094
"""Published average mismatch between neurons (fraction)."""

DC_LEVELS = (10.0, 20.0, 50.0, 100.0, 300.0)
"""DC biases of core 0, multiples of its leak ``soma.i_tau``."""

CHIPS, SEED, DURATION, DT = 4, 0, 1.0, 1e-4
"""Chips (instances), their seed, the counting window (s) and the step (s, below t_ref = 5 ms)."""


def core_rates(chip, level):
    """Rates (Hz) of the neurons of core 0 under its DC bias at ``level`` leaks, shaped (chips, neurons)."""
    i_dc = level * float(chip.biases["soma.i_tau"][0])
    experiment = experiment_from_dict({
        "duration": DURATION, "dt": DT, "instances": CHIPS, "seed": SEED, "chip": chip.name,
        "noise": False, "mismatch": True, "biases": [{"core": 0, "soma.i_dc": i_dc}],
        "populations": {"core0": {"size": chip.neurons_per_core, "core": 0}}}, source=__file__)
    return run(experiment, progress=False)["spike_count"].values / DURATION


def main():
    chip = load_chip("dynapse1")
    per_level = []
    for level in DC_LEVELS:
        rates = core_rates(chip, level)
        cv = rates.std(axis=1) / rates.mean(axis=1)
        per_level.append(cv.mean())
        print(f"  DC {level:g} leaks: mean rate {rates.mean():.1f} Hz, CV across the core {cv.mean():.3f} "
              f"(chips {', '.join(f'{c:.3f}' for c in cv)})")
    checks = [Check("rate CV across a core, mean over DC levels and chips", SOURCE, PUBLISHED_CV,
                    float(np.mean(per_level)), 0.25)]
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
