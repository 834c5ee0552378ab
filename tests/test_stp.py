"""Tests of Tsodyks-Markram short-term depression against closed forms and solve_ivp."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from mixsig.circuits import stp
from mixsig.params import attributes, names

RTOL = 1e-8


def solve_ivp_train(times, tau_rec, u_se):
    """Efficacies of a pulse train: solve_ivp of tau_rec dx/dt = 1 - x between pulses, jumps at pulses."""
    x = 1.0
    t_last = times[0]
    out = []
    for t in times:
        if t > t_last:
            sol = solve_ivp(lambda _t, y: (1.0 - y) / tau_rec, (t_last, t), [x], rtol=1e-11, atol=1e-14)
            x = sol.y[0, -1]
        out.append(u_se * x)
        x = x - u_se * x
        t_last = t
    return np.array(out)


def test_recover_matches_solve_ivp():
    for x0, elapsed, tau_rec in [(0.0, 0.3, 0.8), (0.2, 1e-4, 0.45), (0.9, 5.0, 0.1), (0.5, 0.0, 1.0)]:
        expected = x0
        if elapsed > 0:
            expected = solve_ivp(lambda _t, y: (1.0 - y) / tau_rec, (0, elapsed), [x0], rtol=1e-11, atol=1e-14).y[0, -1]
        assert stp.recover(x0, elapsed, tau_rec) == pytest.approx(expected, rel=RTOL, abs=1e-12)


def test_irregular_train_matches_solve_ivp():
    rng = np.random.default_rng(1)
    times = np.cumsum(rng.exponential(0.05, 60))
    times[10] = times[9]  # two pulses arriving together, in order
    params = stp.STPParams(tau_rec=0.45, u_se=0.55)
    expected = solve_ivp_train(times, 0.45, 0.55)
    np.testing.assert_allclose(stp.train_efficacies(params, times), expected, rtol=RTOL)


def test_regular_train_tsodyks_markram_recursion_and_stationary_value():
    tau_rec, u_se, f = 0.8, 0.67, 23.0
    e = math.exp(-1.0 / (f * tau_rec))
    efficacy = stp.train_efficacies(stp.STPParams(tau_rec=tau_rec, u_se=u_se), np.arange(300) / f)
    assert efficacy[0] == pytest.approx(u_se, rel=1e-15)
    np.testing.assert_allclose(efficacy[1:], efficacy[:-1] * (1 - u_se) * e + u_se * (1 - e), rtol=1e-12)
    assert efficacy[-1] == pytest.approx(u_se * (1 - e) / (1 - (1 - u_se) * e), rel=1e-12)


def test_release_of_simultaneous_pulses_equals_sequential_releases():
    for n in range(0, 6):
        x, total = 0.83, 0.0
        for _ in range(n):
            total += 0.3 * x
            x -= 0.3 * x
        x_kernel, eff_kernel = stp.release(0.83, float(n), 0.3)
        assert x_kernel == pytest.approx(x, rel=1e-13, abs=1e-15)
        assert eff_kernel == pytest.approx(total, rel=1e-13, abs=1e-15)


def test_step_matches_reference_loop_with_multiple_pulses_per_step():
    """Vectorised step vs an independent loop: pulses at the step start, closed-form recovery."""
    rng = np.random.default_rng(7)
    dt, n_steps = 1e-3, 400
    tau_rec = np.array([[0.8, 0.45, 0.1]])
    u_se = np.array([[0.67], [0.2]])
    params = stp.STPParams(tau_rec=tau_rec, u_se=u_se)
    counts = rng.poisson(0.05, (n_steps, 2, 3)).astype(float)
    state = stp.initial_state(params, (2, 3))
    ref_x = np.ones((2, 3))
    for k in range(n_steps):
        state, out = stp.step(state, counts[k], params, dt)
        ref_eff = np.zeros((2, 3))
        for i in range(2):
            for j in range(3):
                u = u_se[i, 0]
                for _ in range(int(counts[k, i, j])):
                    ref_eff[i, j] += u * ref_x[i, j]
                    ref_x[i, j] *= 1.0 - u
                ref_x[i, j] = 1.0 - (1.0 - ref_x[i, j]) * math.exp(-dt / tau_rec[0, j])
        np.testing.assert_allclose(out.efficacy, ref_eff, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state.x, ref_x, rtol=1e-12)


def test_pulse_event_equals_step_path_for_pulses_on_the_grid():
    params = stp.STPParams(tau_rec=0.3, u_se=0.4)
    dt = 1e-3
    pattern = [1, 0, 0, 2, 0, 1, 1, 0, 0, 0, 3, 0]
    state = stp.initial_state(params, (1,))
    x, t_last = 1.0, 0.0
    for k, n in enumerate(pattern):
        state, out = stp.step(state, float(n), params, dt)
        if n:
            x, t_last, eff = stp.pulse_event(x, t_last, k * dt, float(n), 0.3, 0.4)
            assert out.efficacy[0] == pytest.approx(eff, rel=1e-12)
    assert state.x[0] == pytest.approx(stp.recover(x, len(pattern) * dt - t_last, 0.3), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(0.0, 1.0),
    n=st.integers(0, 8),
    u=st.floats(1e-3, 1.0),
)
def test_release_conserves_resources_and_stays_in_range(x, n, u):
    left, efficacy = stp.release(x, float(n), u)
    assert 0.0 <= left <= x
    assert 0.0 <= efficacy <= x
    assert left + efficacy == pytest.approx(x, abs=1e-15)


def test_limiting_frequency_property():
    assert stp.STPParams(tau_rec=0.45, u_se=0.55).limiting_frequency == pytest.approx(1 / (0.45 * 0.55))


def test_parameters_have_metadata_and_are_validated():
    for name in names(stp.STPParams):
        assert set(attributes(stp.STPParams, name)) == {"units", "long_name"}
    assert attributes(stp.STPParams, "tau_rec")["units"] == "s"
    with pytest.raises(ValueError, match="u_se"):
        stp.STPParams(u_se=1.5)
    with pytest.raises(ValueError, match="tau_rec"):
        stp.STPParams(tau_rec=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stp.STPParams().u_se = 0.1
    with pytest.raises(ValueError, match="dt"):
        stp.step(stp.initial_state(stp.STPParams(), (1,)), 1.0, stp.STPParams(), 0.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        stp.train_efficacies(stp.STPParams(), [0.1, 0.0])
