"""Charge delivered by one DPI pulse, and the mean current under a regular pulse train.

Integrating ``tau (1 + I_g/I) dI/dt + I = (I_g/I_tau) I_in - I_g`` over a pulse of width ``tp``
from ``I_start`` and adding the exact exponential tail gives the area above the no-pulse baseline
(``I_start exp(-t/tau)``; no contact with the dark-current floor)::

    Q = (I_g/I_tau) I_w tp - I_g tp - tau I_g ln(I(tp)/I_start)

which tends to ``Q_lin = (I_g/I_tau) I_w tp`` in the linear regime, with
``|Q/Q_lin - 1| <= I_tau/I_w + I_g/I_start`` (since ``ln(I(tp)/I_start) <= (I_g/I_tau) I_w tp/(tau I_start)``).
Measured: the area between a stepped run with the pulse and one without, over five time
constants, plus the exactly exponential tail ``tau (I_p - I_n)`` at the end (the pulse spans five
steps; the decay uses 0.1 ms steps).

Regular train at rate ``r`` in periodic steady state: integrating the equation over one period
(``I`` and ``ln I`` return to their values) gives the exact mean
``<I> = r (I_g/I_tau) I_w tp - I_g``, which tends to ``Q_lin r`` when ``<I> >> I_g``
(measured over 200 periods after 2000 periods of warm-up from the dark current; the nonlinear
DPI settles slowly, with effective time constant ``tau (1 + I_g/I)``).
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import dpi


def _run(params, i_start, schedule):
    """Stepped run over ``schedule`` = [(dt, i_w), ...]; returns the total charge and end current."""
    state = dpi.DPIState(np.array([i_start]), np.zeros(1), np.zeros(1))
    charge = 0.0
    for dt, i_w in schedule:
        state, out = dpi.step(state, i_w, params, dt)
        charge += out.i_syn_mean[0] * dt
    return charge, state.i_syn[0]


def pulse_area(params, i_start, i_w, steps_per_pulse=5, dt_decay=1e-4):
    """Area above baseline of one pulse at t = 0 (A*s), and I(tp).

    The pulse spans ``steps_per_pulse`` steps; the rest of the five time constants uses steps of
    ``dt_decay`` (the DPI step is exact, so steps need not be equal).
    """
    dt_pulse = params.t_pulse / steps_per_pulse
    pulse = [(dt_pulse, i_w)] + [(dt_pulse, 0.0)] * (steps_per_pulse - 1)
    tail = [(dt_decay, 0.0)] * int(round((5 * params.tau - params.t_pulse) / dt_decay))
    with_pulse, end_p = _run(params, i_start, pulse + tail)
    without, end_n = _run(params, i_start, [(dt, 0.0) for dt, _ in pulse + tail])
    _, i_tp = _run(params, i_start, pulse)
    return with_pulse - without + params.tau * (end_p - end_n), i_tp


def train_mean(params, i_w, rate, warmup_periods, periods):
    """Mean current over ``periods`` periods of a regular train after ``warmup_periods``.

    Each period is two steps: the pulse (``t_pulse``) and the interval to the next pulse.
    """
    state = dpi.DPIState(np.array([params.i_0]), np.zeros(1), np.zeros(1))
    steps = ((params.t_pulse, i_w), (1.0 / rate - params.t_pulse, 0.0))
    charge = 0.0
    for period in range(warmup_periods + periods):
        for dt, pulse in steps:
            state, out = dpi.step(state, pulse, params, dt)
            if period >= warmup_periods:
                charge += out.i_syn_mean[0] * dt
    return charge * rate / periods


def main():
    checks = []
    # Nonlinear regime (default DPI, gain 100 I_tau): exact area formula.
    base = dpi.DPIParams()
    for i_start, i_w in ((1e-9, 1e-9), (20e-9, 10e-9)):
        area, i_tp = pulse_area(base, i_start, i_w)
        g, tp, tau = base.i_gain, base.t_pulse, base.tau
        exact = (g / base.i_tau) * i_w * tp - g * tp - tau * g * np.log(i_tp / i_start)
        checks.append(Check(f"pulse area, I0 = {i_start*1e9:g} nA, I_w = {i_w*1e9:g} nA",
                            "(Ig/Itau)Iw tp - Ig tp - tau Ig ln(I(tp)/I0)", exact * 1e15, area * 1e15, 1e-8, "fC"))
    # Linear regime (unit gain, I_w = 1000 I_tau, I0 = 1000 I_g): linear limit with its bound.
    linear = dpi.DPIParams(i_gain=base.i_tau)
    i_w, i_start = 1000 * base.i_tau, 1000 * linear.i_gain
    area, _ = pulse_area(linear, i_start, i_w)
    q_lin = i_w * linear.t_pulse * linear.i_gain / linear.i_tau
    bound = linear.i_tau / i_w + linear.i_gain / i_start
    checks.append(Check("pulse area, linear regime", "(Ig/Itau) Iw tp; bound Itau/Iw + Ig/I0",
                        q_lin * 1e15, area * 1e15, bound, "fC"))
    # Regular train: exact periodic mean, and its linear limit Q_lin r.
    rate = 1000.0
    for name, params, i_w in (("default DPI, I_w = 20 nA", base, 20e-9),
                              ("linear regime, I_w = 10000 I_tau", linear, 10000 * base.i_tau)):
        mean = train_mean(params, i_w, rate, warmup_periods=2000, periods=200)
        q_lin = (params.i_gain / params.i_tau) * i_w * params.t_pulse
        exact = rate * q_lin - params.i_gain
        checks.append(Check(f"train mean, {name}", "r (Ig/Itau) Iw tp - Ig", exact * 1e9, mean * 1e9, 1e-8, "nA"))
        if params is linear:
            checks.append(Check(f"train mean vs Q r, {name}", "Q_lin r; bound Ig/<I>",
                                rate * q_lin * 1e9, mean * 1e9, params.i_gain / exact, "nA"))
    return report("DPI pulse charge", checks)


if __name__ == "__main__":
    sys.exit(main())
