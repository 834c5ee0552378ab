"""DYNAP-family membrane time constant at its leak bias (PMC8149394, Table 4).

Published operating point of a DYNAP-family chip (PMC8149394, Table 4): membrane time constant
15.2 ms at a leak bias I_tau = 3.5 pA. The membrane of the shipped ``dynapse1`` soma (core 0) is started at a
subthreshold 100 pA without input and its free decay is measured (least squares on ln I_mem
above 2 pA). The positive-feedback and
adaptation blocks are switched off for the measurement: the published figure is the leak time
constant, and the feedback (I_0 (I_mem/I_0)^(kappa/(kappa+1)), 14 % of the leak at rest) would
slow the decay near rest.

Tolerance 1 %: the table gives 15.2 ms to three significant digits (+-0.3 %); the decay is
sampled every 10 us.

Source read first-hand (https://pmc.ncbi.nlm.nih.gov/articles/PMC8149394/table/Tab4):
Sharifshazileh et al. 2021, Nat. Commun. 12:3095, an INI 180 nm chip with four neural cores
(DPI synapses) beside a recording headstage: a DYNAP-family sibling, not DYNAP-SE itself.

Reproduce: ``python validation/silicon_membrane_tau.py``
"""

import dataclasses
import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.chip import load_chip
from mixsig.chip.operating_point import core_circuits, decay_time_constant
from mixsig.circuits import soma

SOURCE = "PMC8149394 Table 4 (DYNAP-family HFO chip)"
TAU_MEM, I_TAU = 15.2e-3, 3.5e-12
"""Published membrane time constant (s) and its leak bias (A)."""

DT = 1e-5
"""Step of the measurement, s."""


def measured_tau(params):
    """Decay time constant of I_mem from 100 pA without input, s."""
    state = soma.initial_state(params, (1, 1))._replace(i_mem=np.full((1, 1), 100e-12))
    n = int(round(3.0 * float(params.tau) / DT))
    trace = np.empty(n)
    for k in range(n):
        state, _ = soma.step(state, 0.0, 0.0, params, DT)
        trace[k] = state.i_mem[0, 0]
    return decay_time_constant(DT * np.arange(1, n + 1), trace, 2e-12)


def main():
    nominal, _ = core_circuits(load_chip("dynapse1"))
    leak_only = dataclasses.replace(nominal, i_fb_0=0.0, i_w_ahp=0.0)
    checks = [Check(f"tau_mem at I_tau = {I_TAU * 1e12:g} pA", SOURCE, 1e3 * TAU_MEM, 1e3 * measured_tau(leak_only),
                    0.01, "ms")]
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
