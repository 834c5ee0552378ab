"""DYNAP refractory periods: the shipped chips' rate ceilings (d1sim and Rockpool settings).

The refractory pulse extender of the shipped chips is set to t_ref = 5 ms on ``dynapse1`` (the
INI DYNAP-SE1 simulator's chip setting, documented there as "limits maximum firing rate at
200 Hz") and 1 ms on ``dynapse2`` (Rockpool's DYNAP-SE2 default). Neither is a measurement of
silicon: no published measurement of a DYNAP refractory period at a stated bias was found (see
docs/calibration.md), so this script checks the documented settings, the closest published
figures. Each shipped soma (core 0, feedback and adaptation on) is driven by 100 uA of DC input,
where the integration time after the refractory period is a few microseconds, for 0.3 s: the
firing rate must approach 1/t_ref and no interval may be shorter than t_ref.

Tolerance 2 %: at 100 uA the reset-to-threshold time (below 1 % of t_ref here) and the AHP
shift the rate below 1/t_ref by less than that.

Reproduce: ``python validation/silicon_refractory_period.py``
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.chip import load_chip
from mixsig.chip.operating_point import core_circuits
from mixsig.circuits import soma

PUBLISHED = {"dynapse1": (200.0, "d1sim dynapse_param: 5 ms, 'maximum firing rate at 200Hz'"),
             "dynapse2": (1000.0, "Rockpool DYNAP-SE2 default t_ref = 1 ms")}
"""Published rate ceiling (Hz) and its source, per chip."""

I_DC, DURATION = 100e-6, 0.3
"""DC input (A) and simulated time (s)."""


def main():
    checks = []
    for name, (ceiling, source) in PUBLISHED.items():
        params, _ = core_circuits(load_chip(name))
        times = soma.constant_input_spike_times(params, DURATION, i_syn=I_DC)[0]
        isi = np.diff(times)
        checks.append(Check(f"{name}: rate at {I_DC * 1e6:g} uA", source, ceiling, 1.0 / isi.mean(), 0.02, "Hz"))
        checks.append(Check(f"{name}: shortest ISI", source, 1e3 / ceiling, 1e3 * isi.min(), 0.02, "ms"))
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
