"""Tests of homeostatic synaptic scaling against closed forms and solve_ivp of the loop equations."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from mixsig.circuits import homeostasis as h
from mixsig.constants import KAPPA, U_T
from mixsig.params import attributes, names

RTOL = 1e-8
P = h.HomeostasisParams()


def kernel_step(r_hat, v_g, n, offset, dt, i_g0, p=P):
    return h.step_element(r_hat, v_g, n, offset, dt, i_g0, p.r_target, p.tau_r, p.c_h, p.i_leak, p.i_g_min,
                          p.i_g_max, p.time_scale, p.kappa, p.u_t)


def test_time_constant_and_leak_current_are_inverse():
    assert P.tau_h == pytest.approx(1000.0, rel=1e-12)
    assert h.leak_current(29.6e3) == pytest.approx(1e-12 * U_T / (KAPPA * 29.6e3), rel=1e-12)
    assert h.HomeostasisParams(i_leak=h.leak_current(1e5)).tau_h == pytest.approx(1e5, rel=1e-12)


@pytest.mark.parametrize("r0, n, offset, dt, tau_r", [
    (20.0, 0.0, np.nan, 1e-3, 0.1),
    (0.0, 1.0, 0.3e-3, 1e-3, 0.05),
    (35.0, 2.0, 0.0, 2e-3, 0.5),
    (5.0, 1.0, 1e-3, 1e-3, 0.01),
])
def test_trace_is_exact_low_pass_of_spikes(r0, n, offset, dt, tau_r):
    t_s = offset if n > 0 else dt

    def trace(t):
        value = r0 * math.exp(-t / tau_r)
        if n > 0 and t >= t_s:
            value += (n / tau_r) * math.exp(-(t - t_s) / tau_r)
        return value

    mean = quad(trace, 0.0, dt, points=[t_s], epsabs=0, epsrel=1e-12)[0] / dt
    r_end, r_mean = h.trace_advance(r0, n, offset, dt, tau_r)
    assert r_end == pytest.approx(trace(dt), rel=1e-12, abs=1e-12)
    assert r_mean == pytest.approx(mean, rel=1e-10, abs=1e-12)


def test_trace_mean_equals_rate_of_periodic_train():
    dt, tau_r, period_steps = 1e-3, 0.2, 37
    r_hat, total, n_total = 0.0, 0.0, 0
    for k in range(200 * period_steps):
        spike = 1.0 if k % period_steps == 0 else 0.0
        r_hat, r_mean = h.trace_advance(r_hat, spike, 0.4e-3, dt, tau_r)
        if k >= 100 * period_steps:
            total += r_mean
            n_total += 1
    assert total / n_total == pytest.approx(1.0 / (period_steps * dt), rel=1e-9)


def test_gain_follows_linear_control_law_at_constant_error():
    """Constant trace: ln I_g moves by (1 - r/r_target) * t * time_scale / tau_h (closed form)."""
    p = h.HomeostasisParams(i_leak=h.leak_current(50.0), time_scale=10.0)
    v_g = 0.0
    for _ in range(1000):
        v_g = h.gain_advance(v_g, 15.0, 1e-3, p.r_target, p.c_h, p.i_leak, 1e-9, p.i_g_min, p.i_g_max,
                             p.time_scale, p.kappa, p.u_t)
    expected_log_gain = (1.0 - 15.0 / 20.0) * 1.0 * 10.0 / 50.0
    assert p.kappa * v_g / p.u_t == pytest.approx(expected_log_gain, rel=1e-12)


def test_control_saturates_at_full_leak_current():
    p = h.HomeostasisParams(i_leak=h.leak_current(10.0))
    args = (1.0, p.r_target, p.c_h, p.i_leak, 1e-9, p.i_g_min, p.i_g_max, 1.0, p.kappa, p.u_t)
    v_high = h.gain_advance(0.0, 5 * p.r_target, *args)
    assert p.kappa * v_high / p.u_t == pytest.approx(-1.0 / 10.0, rel=1e-12)


def test_gain_is_clamped_to_bias_generator_range():
    p = h.HomeostasisParams(i_leak=h.leak_current(1.0))
    i_g0 = 1e-9
    v_g = 0.0
    for _ in range(100):  # silent neuron: gain rises e-fold per second until the clamp
        v_g = h.gain_advance(v_g, 0.0, 1.0, p.r_target, p.c_h, p.i_leak, i_g0, p.i_g_min, p.i_g_max, 1.0,
                             p.kappa, p.u_t)
    assert i_g0 * math.exp(p.kappa * v_g / p.u_t) == pytest.approx(h.I_G_MAX, rel=1e-12)
    for _ in range(100):
        v_g = h.gain_advance(v_g, 100.0, 1.0, p.r_target, p.c_h, p.i_leak, i_g0, p.i_g_min, p.i_g_max, 1.0,
                             p.kappa, p.u_t)
    assert i_g0 * math.exp(p.kappa * v_g / p.u_t) == pytest.approx(h.I_G_MIN, rel=1e-12)


def test_closed_loop_matches_solve_ivp():
    """Rate neuron r = r0 g^beta driving the loop (spike counts r dt per step) vs the continuous ODEs."""
    r0, beta, tau_h, tau_r, dt, duration = 32.0, 0.8, 2.0, 0.05, 1e-4, 16.0
    p = h.HomeostasisParams(r_target=20.0, tau_r=tau_r, i_leak=h.leak_current(tau_h))

    def rhs(_t, y):
        r_hat, log_g = y
        return [(-r_hat + r0 * math.exp(beta * log_g)) / tau_r, (1.0 - r_hat / p.r_target) / tau_h]

    t_eval = np.linspace(0, duration, 17)
    ref = solve_ivp(rhs, (0, duration), [p.r_target, 0.0], t_eval=t_eval, rtol=1e-10, atol=1e-12, method="LSODA")
    r_hat, v_g, gain = p.r_target, 0.0, 1.0
    every = int(round(1.0 / dt))
    log_gain = [0.0]
    for k in range(int(round(duration / dt))):
        # Step-averaged drive: r(g) dt spikes placed at mid-step (second-order accurate in dt).
        r_hat, v_g, gain, _ = kernel_step(r_hat, v_g, r0 * gain**beta * dt, 0.5 * dt, dt, 1e-9, p)
        if (k + 1) % every == 0:
            log_gain.append(math.log(gain))
    np.testing.assert_allclose(log_gain, ref.y[1], atol=2e-4)
    assert abs(ref.y[1, -1] - math.log(20.0 / 32.0) / beta) < 0.005  # reference reached the set point


def test_time_scale_is_equivalent_to_a_shorter_time_constant():
    fast = h.HomeostasisParams(i_leak=h.leak_current(5.0))
    scaled = h.HomeostasisParams(i_leak=h.leak_current(5000.0), time_scale=1000.0)
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.02, 3000).astype(float)
    a = b = (20.0, 0.0)
    for n in counts:
        a = kernel_step(*a, n, 0.2e-3, 1e-3, 1e-9, fast)[:2]
        b = kernel_step(*b, n, 0.2e-3, 1e-3, 1e-9, scaled)[:2]
    assert a[1] != 0.0
    assert b[1] == pytest.approx(a[1], rel=1e-9)


def test_vectorised_step_matches_scalar_kernel_with_broadcast_parameters():
    p = h.HomeostasisParams(r_target=np.array([[10.0, 20.0, 40.0]]), tau_r=0.1)
    shape = (2, 3)
    state = h.initial_state(p, shape)
    assert state.r_hat.shape == shape and np.all(state.v_g == 0)
    counts = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    offset = np.where(counts > 0, 0.25e-3, np.nan)
    i_g0 = np.array([[1e-9], [3e-9]])
    new, out = h.step(state, counts, offset, i_g0, p, 1e-3)
    for i in range(2):
        for j in range(3):
            pj = dataclasses.replace(p, r_target=p.r_target[0, j])
            expected = kernel_step(state.r_hat[i, j], 0.0, counts[i, j], offset[i, j], 1e-3, i_g0[i, 0], pj)
            assert (new.r_hat[i, j], new.v_g[i, j], out.gain[i, j], out.r_mean[i, j]) == pytest.approx(expected, rel=1e-14)


def test_parameters_have_metadata_and_are_validated():
    for name in names(h.HomeostasisParams):
        assert set(attributes(h.HomeostasisParams, name)) == {"units", "long_name"}
    assert attributes(h.HomeostasisParams, "i_leak")["units"] == "A"
    with pytest.raises(ValueError, match="i_g_min"):
        h.HomeostasisParams(i_g_min=1e-6, i_g_max=1e-9)
    with pytest.raises(ValueError, match="tau_r"):
        h.HomeostasisParams(tau_r=-1.0)
    with pytest.raises(ValueError, match="dt"):
        h.step(h.initial_state(P, (1,)), 0.0, np.nan, 1e-9, P, 0.0)
