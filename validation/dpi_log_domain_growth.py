"""Log-domain DPI: at I << I_g a pulse makes I grow exponentially, ln(I(tp)/I(0)) = kappa (I_in - I_tau) tp / (C U_T).

When ``I << I_g`` the differential pair sends the whole input current to the capacitor, so the
gate voltage ramps linearly and the output current grows (or, for ``I_in < I_tau``, decays)
exponentially. From the full equation, ``d ln I/dt = (A - I) / (tau (I + I_g))`` with
``A = (I_g/I_tau) I_in - I_g``; the closed form is its ``I -> 0`` limit ``A / (tau I_g)``, and the
ratio of the two lies between ``1 - I_max (1/|A| + 1/I_g)`` and ``1 + I_max/|A|``, where
``I_max`` is the largest current during the pulse: that bound (plus 1e-12) is the tolerance.
Pulses are stepped with ``dpi.step`` (10 steps per pulse) from near the dark current.
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import dpi


def main():
    params = dpi.DPIParams()
    checks = []
    cases = (
        ("I_w = 1 nA, tp = 10 us", 1e-9, 10e-6, params.i_0),
        ("I_w = 1 nA, tp = 200 us", 1e-9, 200e-6, params.i_0),
        ("I_w = 5 nA, tp = 100 us", 5e-9, 100e-6, params.i_0),
        ("I_w = 0.5 I_tau, tp = 1 ms (decays)", 0.5 * params.i_tau, 1e-3, 1e-12),
    )
    for name, i_w, t_pulse, i_start in cases:
        case_params = dpi.DPIParams(t_pulse=t_pulse)
        state = dpi.DPIState(np.array([i_start]), np.zeros(1), np.zeros(1))
        n_steps = 10
        dt = t_pulse / n_steps
        currents = [i_start]
        for k in range(n_steps):
            state, out = dpi.step(state, i_w if k == 0 else 0.0, case_params, dt)
            currents.append(out.i_syn[0])
        a = (params.i_gain / params.i_tau) * i_w - params.i_gain
        expected = params.kappa * (i_w - params.i_tau) * t_pulse / (params.c_syn * params.u_t)
        bound = max(currents) * (1 / abs(a) + 1 / params.i_gain) + 1e-12
        measured = np.log(currents[-1] / currents[0])
        checks.append(Check(f"ln(I(tp)/I(0)), {name}", "kappa (I_in - I_tau) tp / (C U_T)", expected, measured, bound))
    return report("DPI log-domain growth", checks)


if __name__ == "__main__":
    sys.exit(main())
