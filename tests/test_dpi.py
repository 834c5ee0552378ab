"""Tests of the DPI synapse against closed forms and solve_ivp of the full equation."""

import importlib.util
import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixsig.circuits import dpi
from mixsig.constants import I_0, KAPPA, U_T

_PATH = pathlib.Path(__file__).resolve().parents[1] / "validation" / "dpi_step_response.py"
_SPEC = importlib.util.spec_from_file_location("validation_dpi_step_response", _PATH)
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)
solve_full_dpi = _MODULE.solve_full_dpi

P = dpi.DPIParams()
RTOL = 1e-8


def advance(i, i_in, duration, params=P):
    return dpi.dpi_advance(i, i_in, duration, params.i_tau, params.i_gain, params.c_syn, params.kappa,
                           params.u_t, params.i_0)


def reference(i, segments, params=P):
    return solve_full_dpi(i, segments, params.c_syn, params.i_tau, params.i_gain, params.kappa, params.u_t,
                          params.i_0, rtol=1e-11)


CASES = [
    # (start A, input A, duration s): log-domain, linear, saturating, falling, near-threshold, floor
    (I_0, 1e-9, 10e-6),
    (I_0, 1e-9, 0.2),
    (1e-9, 1e-9, 3e-3),
    (2e-9, 1e-7, 1e-4),
    (1e-6, 1e-9, 3e-3),
    (1e-6, 0.5 * P.i_tau, 3e-2),
    (1e-10, 1.0000001 * P.i_tau, 0.05),
    (1e-11, P.i_tau, 0.05),
    (5e-8, 5e-11, 0.05),
    (1e-11, 0.5 * P.i_tau, 1.0),
    (1e-8, 0.0, 0.01),
    (1e-8, 0.0, 0.2),
    (I_0, 0.0, 0.01),
    (I_0, 0.9 * P.i_tau, 0.01),
]


@pytest.mark.parametrize("i_start, i_in, duration", CASES)
def test_advance_matches_solve_ivp(i_start, i_in, duration):
    i_end, charge = advance(i_start, i_in, duration)
    ref_i, ref_q = reference(i_start, [(duration, i_in)])
    assert i_end == pytest.approx(ref_i[0], rel=RTOL)
    assert charge == pytest.approx(ref_q[0], rel=RTOL)


def test_decay_is_exactly_exponential_and_clipped():
    tau = P.tau
    i_end, charge = advance(1e-8, 0.0, 0.5 * tau)
    assert i_end == pytest.approx(1e-8 * math.exp(-0.5), rel=1e-14)
    assert charge == pytest.approx(tau * 1e-8 * (1 - math.exp(-0.5)), rel=1e-14)
    # Reaches the floor at t* = tau ln(I/i_0) and stays there.
    t_star = tau * math.log(1e-8 / I_0)
    i_end, charge = advance(1e-8, 0.0, t_star + 0.1)
    assert i_end == I_0
    assert charge == pytest.approx(tau * (1e-8 - I_0) + I_0 * 0.1, rel=1e-13)
    # Below the floor is raised to it.
    i_end, charge = advance(0.1 * I_0, 0.0, 0.01)
    assert (i_end, charge) == (I_0, pytest.approx(I_0 * 0.01, rel=1e-15))


def test_floor_under_weak_input():
    """Input below I_tau (A < i_0): the current reaches i_0 and stays, with the exact charge."""
    i_in = 0.5 * P.i_tau
    i_end, charge = advance(1e-10, i_in, 0.5)
    ref_i, ref_q = reference(1e-10, [(0.5, i_in)])
    assert i_end == I_0
    assert ref_i[0] == pytest.approx(I_0, rel=1e-14)
    assert charge == pytest.approx(ref_q[0], rel=RTOL)


def test_stationary_at_fixed_point():
    i_in = 2 * P.i_tau
    a = (P.i_gain / P.i_tau) * i_in - P.i_gain
    i_end, charge = advance(a, i_in, 0.01)
    assert i_end == pytest.approx(a, rel=1e-15)
    assert charge == pytest.approx(a * 0.01, rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    log_start=st.floats(math.log(I_0), math.log(1e-6)),
    log_in=st.floats(math.log(1e-12), math.log(1e-6)),
    log_duration=st.floats(math.log(1e-7), math.log(0.1)),
    log_gain=st.floats(math.log(0.1), math.log(1000.0)),
)
def test_advance_random_against_solve_ivp(log_start, log_in, log_duration, log_gain):
    params = dpi.DPIParams(i_gain=math.exp(log_gain) * P.i_tau)
    i_start, i_in, duration = math.exp(log_start), math.exp(log_in), math.exp(log_duration)
    i_end, charge = advance(i_start, i_in, duration, params)
    ref_i, ref_q = reference(i_start, [(duration, i_in)], params)
    assert i_end == pytest.approx(ref_i[0], rel=RTOL)
    assert charge == pytest.approx(ref_q[0], rel=RTOL)


def run_steps(params, i_start, i_w_by_step, dt, shape=(1,)):
    state = dpi.DPIState(np.full(shape, i_start), np.zeros(shape), np.zeros(shape))
    currents, means = [], []
    for i_w in i_w_by_step:
        state, out = dpi.step(state, i_w, params, dt)
        currents.append(out.i_syn.copy())
        means.append(out.i_syn_mean.copy())
    return np.array(currents), np.array(means), state


def check_against_reference(currents, means, i_start, segments_per_step, params=P):
    """Compare step ends and step means with a solve_ivp run over the same input pieces."""
    flat, ends = [], []
    for pieces in segments_per_step:
        flat.extend(pieces)
        ends.append(len(flat) - 1)
    ref_i, ref_q = reference(i_start, flat, params)
    cumulative = np.cumsum(ref_q)
    step_charge = np.diff(np.concatenate([[0.0], cumulative[ends]]))
    durations = np.array([sum(d for d, _ in pieces) for pieces in segments_per_step])
    np.testing.assert_allclose(currents, ref_i[ends], rtol=RTOL)
    np.testing.assert_allclose(means, step_charge / durations, rtol=RTOL)


def test_pulse_spanning_steps():
    params = dpi.DPIParams(t_pulse=25e-6)
    dt = 10e-6
    i_w = 5e-9
    currents, means, _ = run_steps(params, 1e-9, [i_w] + [0.0] * 9, dt)
    # Input: on for 25 us = 2.5 steps, then off.
    pieces = [[(dt, i_w)], [(dt, i_w)], [(5e-6, i_w), (5e-6, 0.0)]] + [[(dt, 0.0)]] * 7
    check_against_reference(currents[:, 0], means[:, 0], 1e-9, pieces, params)


def test_several_pulses_in_one_step_add_their_currents():
    dt = 20e-6
    currents, means, _ = run_steps(P, 1e-9, [3e-9, 0.0, 0.0], dt)
    ref_two, _, _ = run_steps(P, 1e-9, [1e-9 + 2e-9, 0.0, 0.0], dt)
    pieces = [[(P.t_pulse, 3e-9), (dt - P.t_pulse, 0.0)], [(dt, 0.0)], [(dt, 0.0)]]
    check_against_reference(currents[:, 0], means[:, 0], 1e-9, pieces)
    np.testing.assert_array_equal(currents, ref_two)


def test_overlapping_pulses_merge_conserving_charge():
    """A pulse arriving while another is on: currents add, duration = remaining charge / current."""
    params = dpi.DPIParams(t_pulse=30e-6)
    dt = 10e-6
    w1, w2 = 2e-9, 6e-9
    currents, means, _ = run_steps(params, 1e-9, [w1, w2, 0.0, 0.0, 0.0, 0.0], dt)
    # After one step, 20 us of w1 remain: charge 20 us * w1 + 30 us * w2 at current w1 + w2.
    merged = (20e-6 * w1 + 30e-6 * w2) / (w1 + w2)  # 27.5 us
    pieces = [[(dt, w1)], [(dt, w1 + w2)], [(dt, w1 + w2)], [(merged - 2 * dt, w1 + w2), (3 * dt - merged, 0.0)],
              [(dt, 0.0)], [(dt, 0.0)]]
    check_against_reference(currents[:, 0], means[:, 0], 1e-9, pieces, params)


@pytest.mark.parametrize("onset", [0.0, 3e-6, 9.5e-6])
def test_pulse_starting_inside_a_step_matches_solve_ivp(onset):
    """step_element_at: pulses start at given times inside their steps (exact event times), one of
    them while the previous pulse is still on (merged at its onset, conserving charge)."""
    params = dpi.DPIParams(t_pulse=12e-6)
    dt, w1, w2 = 10e-6, 3e-9, 5e-9
    state, currents, means = (1e-9, 0.0, 0.0), [], []
    for i_w in (w1, w2, 0.0, 0.0):
        *state, mean = dpi.step_element_at(*state, i_w, onset, 0.0, dt, params.t_pulse, params.i_tau, params.i_gain,
                                           params.c_syn, params.kappa, params.u_t, params.i_0)
        currents.append(state[0])
        means.append(mean)
    left = params.t_pulse - dt  # of the first pulse when the second starts at onset + dt
    end = dt + onset + (left * w1 + params.t_pulse * w2) / (w1 + w2)
    # input current in continuous time: 0, w1 from onset, w1 + w2 from dt + onset until end, 0; cut into steps
    changes = [(0.0, 0.0), (onset, w1), (dt + onset, w1 + w2), (end, 0.0)]
    pieces = []
    for n in range(4):
        cuts = sorted({n * dt, (n + 1) * dt, *(t for t, _ in changes if n * dt < t < (n + 1) * dt)})
        pieces.append([(b - a, [w for t, w in changes if t <= a][-1]) for a, b in zip(cuts, cuts[1:])])
    check_against_reference(np.array(currents), np.array(means), 1e-9, pieces, params)


def test_arrays_with_per_instance_parameters():
    shape = (2, 3)
    i_tau = np.array([[1.0], [2.0]]) * P.i_tau
    c_syn = np.array([[20e-12, 25e-12, 30e-12]])
    params = dpi.DPIParams(i_tau=i_tau, c_syn=c_syn)
    i_w = np.array([[1e-9, 0.0, 5e-9], [2e-9, 1e-8, 0.0]])
    dt = 4e-6
    steps = [i_w, 0.0, 0.0, 0.0, 0.0]
    currents, means, _ = run_steps(params, 2e-10, steps, dt, shape)
    for n in range(2):
        for m in range(3):
            element = dpi.DPIParams(i_tau=float(i_tau[n, 0]), c_syn=float(c_syn[0, m]))
            w = i_w[n, m]
            pieces = [[(dt, w)], [(dt, w)], [(2e-6, w), (2e-6, 0.0)], [(dt, 0.0)], [(dt, 0.0)]]
            check_against_reference(currents[:, n, m], means[:, n, m], 2e-10, pieces, element)


def test_isolated_pulses_aligned_to_steps_are_dt_independent():
    """Pulses at multiples of 100 us: state at common times is the same for any dt dividing 100 us."""
    period, n_periods = 100e-6, 30
    weights = np.where(np.arange(n_periods) % 3 == 0, 4e-9, 0.0)
    results = []
    for dt in (100e-6, 20e-6, 5e-6, 2e-6):
        per = int(round(period / dt))
        inputs = np.zeros(n_periods * per)
        inputs[::per] = weights
        currents, means, _ = run_steps(P, 1e-9, inputs, dt)
        results.append((currents[per - 1::per, 0], means.reshape(n_periods, per).mean(axis=1)))
    for currents, means in results[1:]:
        np.testing.assert_allclose(currents, results[0][0], rtol=1e-12)
        np.testing.assert_allclose(means, results[0][1], rtol=1e-12)


def test_noise_is_low_passed_and_clipped():
    dt = 1e-4
    state = dpi.DPIState(np.array([1e-9, 1e-9, 1e-9]), np.zeros(3), np.zeros(3))
    noise = np.array([1e-10, -1e-10, -1.0])
    new, out = dpi.step(state, 0.0, P, dt, noise=noise)
    decay = math.exp(-dt / P.tau)
    expected = 1e-9 * decay + noise[:2] * (1 - decay)
    np.testing.assert_allclose(new.i_syn[:2], expected, rtol=1e-14)
    assert new.i_syn[2] == I_0
    np.testing.assert_allclose(out.i_syn_mean, 1e-9 * P.tau * (1 - decay) / dt, rtol=1e-14)


def test_params_and_initial_state():
    assert P.tau == pytest.approx(25e-12 * U_T / (KAPPA * P.i_tau), rel=1e-15)
    assert P.tau == pytest.approx(10e-3, rel=1e-14)
    assert P.i_gain == pytest.approx(100 * P.i_tau, rel=1e-15)
    state = dpi.initial_state(dpi.DPIParams(i_0=np.array([[1e-12], [2e-12]])), (2, 3))
    np.testing.assert_array_equal(state.i_syn, [[1e-12] * 3, [2e-12] * 3])
    np.testing.assert_array_equal(state.pulse_left, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="i_tau"):
        dpi.DPIParams(i_tau=-1e-12)


def test_step_rejects_non_positive_dt():
    with pytest.raises(ValueError, match="dt"):
        dpi.step(dpi.initial_state(P, (1,)), 0.0, P, 0.0)


def test_taylor_series_of_a_short_rise_matches_the_newton_root(monkeypatch):
    """The rising side over a short interval is summed as a Taylor series (``dpi._taylor_rise``): its end
    current and charge agree with the Newton root of the implicit solution (``T(I) = t/tau``, the path
    taken when the series is switched off) to a few ulp, over a wide range of states, gains and drives."""
    rng = np.random.default_rng(20)
    c, kappa, u_t, i_tau = 25e-12, 0.7, 0.025, 1e-10
    tau = c * u_t / (kappa * i_tau)
    cases, drawn = [], []
    for _ in range(1500):
        i = 10 ** rng.uniform(-13, -7)
        i_gain = i * 10 ** rng.uniform(-4, 4)
        a = i * (1 + 10 ** rng.uniform(-6, 4))
        s = 10 ** rng.uniform(-8, np.log10(dpi._TAYLOR_RATE)) * (i + i_gain) / a
        cases.append((i, (a + i_gain) * i_tau / i_gain, s * tau))
        drawn.append((i, i_gain, a, s))
    series = np.array([dpi.dpi_advance(i, i_in, t, i_tau, i_gain, c, kappa, u_t, 1e-20)
                       for i, i_in, t in cases])
    monkeypatch.setattr(dpi, "_TAYLOR_RATE", 0.0)  # the Python body of dpi_advance reads it: Newton only
    newton = np.array([dpi.dpi_advance.py_func(i, i_in, t, i_tau, i_gain, c, kappa, u_t, 1e-20)
                       for i, i_in, t in cases])
    np.testing.assert_allclose(series, newton, rtol=4e-15, atol=0)
    assert all(dpi._taylor_rise(i, a, i_gain, s, s * tau)[0] for i, i_gain, a, s in drawn)  # the series was used
