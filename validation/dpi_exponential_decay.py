"""The full nonlinear DPI decays exactly exponentially (no input: tau dI/dt = -I).

With ``I_in = 0`` the full equation ``tau (1 + I_g/I) dI/dt + I = -I_g`` reduces algebraically to
``tau dI/dt = -I``, whatever ``I / I_g``. Released from 10, 100 and 1000 x ``I_g`` (default DPI,
``I_g = 100 I_tau``, so the nonlinearity ``I_g/I`` is not small at the start of the first case),
the stepped current is compared with ``I_0 exp(-t/tau)`` and with ``solve_ivp`` (DOP853,
rtol 1e-10) of the full equation, over three time constants; the step-averaged current with
the closed form ``I_0 tau (exp(-t_k/tau) - exp(-t_(k+1)/tau)) / dt``.
"""

import importlib.util
import pathlib
import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import dpi


def _reference_solver():
    path = pathlib.Path(__file__).with_name("dpi_step_response.py")
    spec = importlib.util.spec_from_file_location("validation_dpi_step_response", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.solve_full_dpi


def main():
    solve_full_dpi = _reference_solver()
    params = dpi.DPIParams()
    tau = params.tau
    n_steps = 60
    dt = 3 * tau / n_steps
    t = dt * np.arange(1, n_steps + 1)
    checks = []
    for multiple in (10, 100, 1000):
        i_start = multiple * params.i_gain
        state = dpi.DPIState(np.array([i_start]), np.zeros(1), np.zeros(1))
        currents, means = np.empty(n_steps), np.empty(n_steps)
        for k in range(n_steps):
            state, out = dpi.step(state, 0.0, params, dt)
            currents[k], means[k] = out.i_syn[0], out.i_syn_mean[0]
        closed = i_start * np.exp(-t / tau)
        closed_mean = i_start * tau * (np.exp(-(t - dt) / tau) - np.exp(-t / tau)) / dt
        reference, _ = solve_full_dpi(i_start, [(dt, 0.0)] * n_steps, params.c_syn, params.i_tau, params.i_gain)
        for name, expected, measured, rtol, source in (
            ("I(t) vs I0 exp(-t/tau)", closed, currents, 1e-12, "tau dI/dt = -I"),
            ("step mean vs closed form", closed_mean, means, 1e-12, "integral of I0 exp(-t/tau)"),
            ("I(t) vs solve_ivp", reference, currents, 1e-8, "full DPI ODE, DOP853 rtol 1e-10"),
        ):
            worst = int(np.argmax(np.abs(measured / expected - 1)))
            checks.append(Check(f"{name}, I0 = {multiple} Ig, worst t", source,
                                expected[worst] * 1e9, measured[worst] * 1e9, rtol, "nA"))
    return report("DPI exponential decay", checks)


if __name__ == "__main__":
    sys.exit(main())
