"""DPI time constant tau = C U_T / (kappa I_tau), measured from the simulated decay.

The DPI is released from 10 nA with no input and stepped with ``dpi.step``; ``tau`` is the
negative inverse slope of a least-squares line through ``ln I(t)``. Expected: the closed form,
and its scaling (``I_tau`` x2 halves ``tau``, ``C`` x2 doubles it, a 330 K thermal voltage
scales it by 330/300).
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import dpi
from mixsig.constants import thermal_voltage


def measured_tau(params, i_start=10e-9, n_steps=200):
    """Time constant fitted to ``ln I`` of a simulated decay over two nominal time constants, s."""
    dt = 2 * params.tau / n_steps
    state = dpi.DPIState(np.array([i_start]), np.zeros(1), np.zeros(1))
    log_i = np.empty(n_steps)
    for k in range(n_steps):
        state, out = dpi.step(state, 0.0, params, dt)
        log_i[k] = np.log(out.i_syn[0])
    t = dt * np.arange(1, n_steps + 1)
    slope = np.polyfit(t, log_i, 1)[0]
    return -1.0 / slope


def main():
    base = dpi.DPIParams()
    variants = {
        "default (C 25 pF, tau 10 ms)": base,
        "I_tau x2": dpi.DPIParams(i_tau=2 * base.i_tau, i_gain=base.i_gain),
        "C x2": dpi.DPIParams(c_syn=2 * base.c_syn),
        "U_T at 330 K": dpi.DPIParams(u_t=thermal_voltage(330.0)),
    }
    taus = {name: measured_tau(params) for name, params in variants.items()}
    checks = [
        Check(f"tau, {name}", "C U_T / (kappa I_tau)", params.c_syn * params.u_t / (params.kappa * params.i_tau) * 1e3,
              taus[name] * 1e3, 1e-9, "ms")
        for name, params in variants.items()
    ]
    reference = taus["default (C 25 pF, tau 10 ms)"]
    checks.append(Check("tau ratio, I_tau x2", "tau ~ 1/I_tau", 0.5, taus["I_tau x2"] / reference, 1e-9))
    checks.append(Check("tau ratio, C x2", "tau ~ C", 2.0, taus["C x2"] / reference, 1e-9))
    checks.append(Check("tau ratio, 330 K / 300 K", "tau ~ U_T = kT/q", 1.1, taus["U_T at 330 K"] / reference, 1e-9))
    return report("DPI time constant", checks)


if __name__ == "__main__":
    sys.exit(main())
