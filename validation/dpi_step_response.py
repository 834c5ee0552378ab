"""DPI step response: linear-regime closed form (with a proven bound) and the full equation via solve_ivp.

A long input pulse (a current step ``I_in = I_w`` from ``t = 0``) drives the DPI from ``I_start``.

* Linear regime (``I >> I_g``, ``I_w >> I_tau``): ``I_lin(t) = I_inf + (I_start - I_inf) exp(-t/tau)``
  with ``I_inf = I_g I_w / I_tau``. The full equation is ``tau dI/dt = I_inf - I - p(t)`` with
  ``p = I_g I_inf / (I + I_g)`` (exact rewrite). ``I`` moves monotonically towards
  ``A = I_inf - I_g`` without crossing it, so ``I >= I_min = min(I_start, A)`` and
  ``0 <= I_lin - I <= I_g I_inf / (I_min + I_g) (1 - exp(-t/tau))``: that bound is the tolerance.
* Any regime: against ``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-10) of the full equation,
  written for ``x = ln I`` with the charge ``int I dt`` as a second state.

:func:`solve_full_dpi` is the reference integrator shared by the DPI validation scripts and tests.
"""

import math
import sys

import numpy as np
from scipy.integrate import solve_ivp

from mixsig.checks import Check, report
from mixsig.circuits import dpi
from mixsig.constants import I_0, KAPPA, U_T


def solve_full_dpi(i_start, segments, c, i_tau, i_gain, kappa=KAPPA, u_t=U_T, i_0=I_0, rtol=1e-10):
    """Integrate the full DPI equation with ``solve_ivp`` over piecewise-constant input.

    ``tau (1 + I_g/I) dI/dt = (I_g/I_tau) I_in - I_g - I``, clipped at ``i_0``, integrated in
    ``x = ln I`` (DOP853); the floor is located with a terminal event and held afterwards.

    Parameters
    ----------
    i_start : float
        Initial current, A.
    segments : sequence of (float, float)
        ``(duration s, input current A)`` pieces, in order.
    c, i_tau, i_gain, kappa, u_t, i_0 : float
        DPI parameters (F, A, A, 1, V, A).
    rtol : float
        Relative tolerance of ``solve_ivp``.

    Returns
    -------
    currents : ndarray
        Current at the end of each segment, A.
    charges : ndarray
        Integral of the current over each segment, A*s.
    """
    tau = c * u_t / (kappa * i_tau)
    x = math.log(max(i_start, i_0))
    x_floor = math.log(i_0)
    currents, charges = [], []
    for duration, i_in in segments:
        a = (i_gain / i_tau) * i_in - i_gain
        if x <= x_floor and a <= i_0:
            currents.append(i_0)
            charges.append(i_0 * duration)
            continue

        def rhs(_t, y, a=a):
            i = math.exp(y[0])
            return [(a - i) / (tau * (i + i_gain)), i]

        def floor(_t, y):
            return y[0] - x_floor

        floor.terminal = True
        floor.direction = -1
        sol = solve_ivp(rhs, (0.0, duration), [x, 0.0], method="DOP853", rtol=rtol, atol=[1e-13, 1e-40],
                        events=floor if a < i_0 else None)
        if a < i_0 and sol.t_events[0].size:
            t_hit = sol.t_events[0][0]
            x = x_floor
            charges.append(sol.y_events[0][0][1] + i_0 * (duration - t_hit))
        else:
            x = sol.y[0, -1]
            charges.append(sol.y[1, -1])
        currents.append(math.exp(x))
    return np.array(currents), np.array(charges)


def _simulate_step(i_start, i_w, duration, params, n_steps):
    """Run ``dpi.step`` with a pulse as long as the run; return end-of-step currents."""
    state = dpi.DPIState(np.array([i_start]), np.array([0.0]), np.array([0.0]))
    dt = duration / n_steps
    currents = []
    for k in range(n_steps):
        state, out = dpi.step(state, i_w if k == 0 else 0.0, params, dt)
        currents.append(out.i_syn[0])
    return np.array(currents), dt


def main():
    checks = []
    n_steps = 50
    # Linear regime: I_g = I_tau (unit DC gain), I_start = 100 I_g, I_w = 1000 I_tau.
    i_tau = dpi.leak_current(10e-3)
    for gain, i_start_rel in ((1.0, 100.0), (1.0, 10000.0)):
        i_gain = gain * i_tau
        i_w = 1000 * i_tau
        i_start = i_start_rel * i_gain
        duration = 5 * 10e-3
        params = dpi.DPIParams(i_tau=i_tau, i_gain=i_gain, t_pulse=duration)
        currents, dt = _simulate_step(i_start, i_w, duration, params, n_steps)
        t = dt * np.arange(1, n_steps + 1)
        i_inf = i_gain * i_w / i_tau
        linear = i_inf + (i_start - i_inf) * np.exp(-t / params.tau)
        i_min = min(i_start, i_inf - i_gain)
        bound = i_gain * i_inf / (i_min + i_gain) * -np.expm1(-t / params.tau)
        worst = np.argmax(np.abs(currents - linear) / bound)
        checks.append(Check(
            f"I(t) vs linear, I0={i_start_rel:g} Ig, worst t", "I_inf+(I0-I_inf)e^(-t/tau); bound Ig I_inf/(Imin+Ig)",
            linear[worst] * 1e9, currents[worst] * 1e9, 0.0, "nA", atol=bound[worst] * 1e9,
        ))
        checks.append(Check(
            f"max(I - I_lin), I0={i_start_rel:g} Ig (never above)", "tau dI/dt = I_inf - I - p, p >= 0",
            0.0, max(0.0, float(np.max(currents - linear))) * 1e9, 0.0, "nA", atol=1e-12 * i_inf * 1e9,
        ))
    # Full equation against solve_ivp, nonlinear regimes included (default gain 100 I_tau).
    base = dpi.DPIParams()
    cases = (
        ("from I_0, I_w = 1 nA", base.i_0, 1e-9, 20e-3),
        ("from I_0, I_w = 10 nA", base.i_0, 10e-9, 5e-3),
        ("from 1 uA, I_w = 1 nA (falls)", 1e-6, 1e-9, 20e-3),
        ("from 1 nA, I_w = 1.0001 I_tau", 1e-9, 1.0001 * base.i_tau, 20e-3),
    )
    for name, i_start, i_w, duration in cases:
        params = dpi.DPIParams(t_pulse=duration)
        currents, dt = _simulate_step(i_start, i_w, duration, params, n_steps)
        reference, _ = solve_full_dpi(i_start, [(dt, i_w)] * n_steps, params.c_syn, params.i_tau, params.i_gain)
        worst = int(np.argmax(np.abs(currents / reference - 1)))
        checks.append(Check(
            f"I(t) vs solve_ivp, {name}", "full DPI ODE, DOP853 rtol 1e-10",
            reference[worst] * 1e9, currents[worst] * 1e9, 1e-8, "nA",
        ))
    return report("DPI step response", checks)


if __name__ == "__main__":
    sys.exit(main())
