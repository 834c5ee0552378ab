"""Tests of the mathematical AdEx soma (mixsig.circuits.adex).

References: closed forms (leaky integrate-and-fire limit, exponential decay of w when a = 0)
and scipy.integrate.solve_ivp (DOP853, rtol 1e-10 or tighter) on the model equations through
``adex.reference_run``, which integrates them with numpy independently of the compiled kernel.
"""

import dataclasses
import math

import numpy as np
import pytest

from mixsig.circuits import adex
from mixsig.params import attributes

RS = adex.AdExParams()  # Brette & Gerstner (2005) regular-spiking cell


def lif_params(**overrides):
    """AdEx reduced to a leaky integrate-and-fire neuron: V_T far above V_cut, a = b = 0."""
    values = dict(v_t=1.0, delta_t=2e-3, a=0.0, b=0.0, v_cut=-50e-3, v_r=-65e-3)
    values.update(overrides)
    return dataclasses.replace(RS, **values)


def lif_first_spike_and_isi(params, current):
    """Closed-form first-spike time from rest and ISI of the LIF limit, s."""
    tau = params.c_m / params.g_l
    v_inf = params.e_l + current / params.g_l
    first = tau * math.log((v_inf - params.e_l) / (v_inf - params.v_cut))
    isi = tau * math.log((v_inf - params.v_r) / (v_inf - params.v_cut))
    return first, isi


def run_trace(params, currents, dt, shape=(1, 1)):
    """Run step over a current trace; return V and w after every step (n_steps, *shape)."""
    state = adex.initial_state(params, shape)
    v, w = [], []
    for current in currents:
        state, _ = adex.step(state, current, params, dt)
        v.append(state.v.copy())
        w.append(state.w.copy())
    return np.array(v), np.array(w)


def test_parameter_metadata_and_defaults():
    for name in ("c_m", "g_l", "e_l", "v_t", "delta_t", "tau_w", "a", "b", "v_r", "v_cut", "i_ext"):
        assert attributes(adex.AdExParams, name)["units"] in ("F", "S", "V", "s", "A")
        assert attributes(adex.AdExParams, name)["long_name"]
    # Brette & Gerstner (2005) regular-spiking cell, physics.md 2.5
    assert RS.c_m == pytest.approx(281e-12) and RS.g_l == pytest.approx(30e-9)
    assert RS.v_cut == pytest.approx(RS.v_t + 5 * RS.delta_t)
    assert RS.b == pytest.approx(80.5e-12) and RS.tau_w == pytest.approx(0.144)


def test_naud_table_rows():
    # physics.md 2.6: "regular bursting" row, V_T = -50 mV, Delta_T = 2 mV, cut at 0 mV
    p = adex.naud_params("regular bursting")
    assert (p.c_m, p.g_l, p.e_l, p.a, p.tau_w, p.b, p.v_r, p.i_ext) == pytest.approx(
        (200e-12, 10e-9, -58e-3, 2e-9, 0.12, 100e-12, -46e-3, 210e-12))
    assert (p.v_t, p.delta_t, p.v_cut) == pytest.approx((-50e-3, 2e-3, 0.0))
    assert len(adex.NAUD_2008) == 8
    assert adex.naud_params("adaptation", i_ext=0.0).i_ext == 0.0
    with pytest.raises(KeyError, match="unknown Naud"):
        adex.naud_params("chattering")


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError, match="c_m"):
        adex.AdExParams(c_m=-1e-12)
    with pytest.raises(ValueError, match="v_r"):
        adex.AdExParams(v_r=-40e-3, v_cut=-45e-3)
    with pytest.raises(ValueError, match="dt"):
        adex.step(adex.initial_state(RS, (1, 1)), 0.0, RS, 0.0)


def test_initial_state_is_rest_with_per_neuron_leak_reversal():
    params = dataclasses.replace(RS, e_l=np.array([[-70e-3, -65e-3, -60e-3]]))
    state = adex.initial_state(params, (2, 3))
    np.testing.assert_array_equal(state.v, np.broadcast_to([[-70e-3, -65e-3, -60e-3]], (2, 3)))
    np.testing.assert_array_equal(state.w, np.zeros((2, 3)))


@pytest.mark.parametrize(
    "params, current",
    [(RS, 0.4e-9), (adex.naud_params("delayed accelerating", i_ext=0.0), 0.1e-9),
     (adex.naud_params("transient spiking", i_ext=0.0), 0.1e-9)],
    ids=["regular spiking 0.4 nA", "delayed accelerating 0.1 nA", "transient 0.1 nA"],
)
def test_subthreshold_trajectory_matches_solve_ivp(params, current):
    dt, n_steps = 1e-4, 3000
    v, w = run_trace(params, np.full(n_steps, current), dt)
    times = dt * np.arange(1, n_steps + 1)
    reference = adex.reference_run(params, current, times[-1], rtol=1e-11, t_eval=times)
    assert reference.spike_times.size == 0
    np.testing.assert_allclose(v[:, 0, 0], reference.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(w[:, 0, 0], reference.w, rtol=0, atol=1e-8 * np.max(np.abs(reference.w)))


def test_lif_limit_spike_times_match_closed_form():
    params = lif_params()
    current = 1e-9
    first, isi = lif_first_spike_and_isi(params, current)
    _, (times,) = adex.simulate(params, np.full(1000, current), 1e-4)
    expected = first + isi * np.arange(times.size)
    assert times.size == int((0.1 - first) // isi) + 1
    np.testing.assert_allclose(times, expected, rtol=0, atol=1e-9)


def test_several_spikes_in_one_step_are_counted():
    params = lif_params()
    current = 2e-9
    first, isi = lif_first_spike_and_isi(params, current)
    dt = 10 * isi  # a deliberately long step
    state, out = adex.step(adex.initial_state(params, (1, 1)), current, params, dt)
    assert out.spiked[0, 0]
    assert out.spike_count[0, 0] == int((dt - first) // isi) + 1
    assert out.spike_offset[0, 0] == pytest.approx(first, abs=1e-10)
    last = first + isi * (out.spike_count[0, 0] - 1)
    tau = params.c_m / params.g_l
    v_inf = params.e_l + current / params.g_l
    assert state.v[0, 0] == pytest.approx(v_inf + (params.v_r - v_inf) * math.exp(-(dt - last) / tau), abs=1e-10)


def test_spike_times_match_solve_ivp_regular_spiking():
    _, (times,) = adex.simulate(RS, np.full(3000, 1e-9), 1e-4)
    reference = adex.reference_run(RS, 1e-9, 0.3, rtol=1e-10).spike_times
    assert times.size == reference.size > 5
    np.testing.assert_allclose(times, reference, rtol=0, atol=1e-8)


def test_reset_and_adaptation_jump_within_one_step():
    # a = 0 decouples w from V: w decays as exp(-t/tau_w) and jumps by b at the spike
    params = dataclasses.replace(RS, a=0.0, b=0.2e-9, tau_w=0.05)
    v0, w0, dt, current = -44e-3, 0.1e-9, 1e-3, 1e-9
    state = adex.AdExState(v=np.array([[v0]]), w=np.array([[w0]]))
    state, out = adex.step(state, current, params, dt)
    reference = adex.reference_run(params, current, dt, state=(v0, w0), rtol=1e-12)
    assert reference.spike_times.size == 1 and out.spike_count[0, 0] == 1
    t_spike = out.spike_offset[0, 0]
    assert t_spike == pytest.approx(reference.spike_times[0], abs=1e-10)
    expected_w = (w0 * math.exp(-t_spike / params.tau_w) + params.b) * math.exp(-(dt - t_spike) / params.tau_w)
    assert state.w[0, 0] == pytest.approx(expected_w, rel=1e-9)
    assert state.v[0, 0] == pytest.approx(reference.v_end, abs=1e-9)


def test_no_spike_reports_nan_offset():
    state, out = adex.step(adex.initial_state(RS, (2, 3)), 0.0, RS, 1e-4)
    assert not out.spiked.any() and np.isnan(out.spike_offset).all()
    np.testing.assert_array_equal(out.spike_count, 0)
    assert out.spike_count.dtype.kind == "i"


def test_noise_enters_as_an_input_current():
    state = adex.initial_state(RS, (1, 2))
    noisy, _ = adex.step(state, 0.2e-9, RS, 1e-3, noise=np.array([[0.1e-9, -0.1e-9]]))
    plain, _ = adex.step(state, np.array([[0.3e-9, 0.1e-9]]), RS, 1e-3)
    np.testing.assert_array_equal(noisy.v, plain.v)
    assert noisy.v[0, 0] > noisy.v[0, 1]


def test_per_instance_and_per_neuron_parameters():
    shape = (3, 4)
    c_m = np.array([[200e-12], [281e-12], [350e-12]])  # per instance
    b = np.linspace(0.0, 0.15e-9, 12).reshape(shape)  # per element
    current = np.array([[0.8e-9, 1.0e-9, 1.2e-9, 1.5e-9]])  # per neuron
    params = dataclasses.replace(RS, c_m=c_m, b=b)
    duration, dt = 0.15, 1e-4
    _, times = adex.simulate(params, np.broadcast_to(current, (int(round(duration / dt)), *shape)), dt, shape=shape)
    for k, (i, j) in enumerate(np.ndindex(shape)):
        element = dataclasses.replace(RS, c_m=float(c_m[i, 0]), b=float(b[i, j]))
        reference = adex.reference_run(element, float(current[0, j]), duration, rtol=1e-10).spike_times
        assert times[k].size == reference.size > 0
        np.testing.assert_allclose(times[k], reference, rtol=0, atol=1e-8)


def test_spike_times_independent_of_dt_for_constant_input():
    reference = adex.reference_run(RS, 1e-9, 0.2, rtol=1e-11).spike_times
    for dt in (1e-3, 1e-4, 2e-5):
        _, (times,) = adex.simulate(RS, np.full(int(round(0.2 / dt)), 1e-9), dt)
        assert times.size == reference.size
        np.testing.assert_allclose(times, reference, rtol=0, atol=1e-8)


def test_spike_times_converge_with_dt_for_time_varying_input():
    # piecewise-constant (midpoint-sampled) input converges to the continuous one as dt^2
    def current(t):
        return 0.9e-9 + 0.4e-9 * np.sin(2 * np.pi * 25.0 * t)

    duration = 0.2
    reference = adex.reference_run(RS, current, duration, rtol=1e-11).spike_times
    errors = []
    for dt in (4e-4, 1e-4, 2.5e-5):
        n_steps = int(round(duration / dt))
        _, (times,) = adex.simulate(RS, current(dt * (np.arange(n_steps) + 0.5)), dt)
        assert times.size == reference.size
        errors.append(np.max(np.abs(times - reference)))
    assert errors[0] > errors[1] > errors[2]
    orders = np.log(np.array(errors[:-1]) / np.array(errors[1:])) / np.log(4.0)
    assert np.all(orders > 1.5), (errors, orders)


def test_state_handed_in_above_the_cut_fires_at_the_start_of_the_step():
    params = dataclasses.replace(RS, a=0.0, tau_w=1e6)  # w constant but for the jump
    state = adex.AdExState(v=np.array([[RS.v_cut + 1e-3]]), w=np.array([[0.0]]))
    state, out = adex.step(state, 0.0, params, 1e-4)
    assert out.spike_count[0, 0] == 1 and out.spike_offset[0, 0] == 0.0
    assert state.w[0, 0] == pytest.approx(params.b, rel=1e-9)
    reference = adex.reference_run(params, 0.0, 1e-4, state=(params.v_r, params.b), rtol=1e-12)
    assert state.v[0, 0] == pytest.approx(reference.v_end, abs=1e-10)
