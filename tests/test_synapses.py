"""Tests of the four synapse types of a neuron (AMPA, NMDA, GABA, SHUNT)."""

import math

import numpy as np
import pytest

from mixsig.circuits import dpi, synapses
from mixsig.circuits.synapses import SynapseType

SHAPE = (2, 3)


def params_with_distinct_types():
    """Four DPIs with different time constants and gains, to tell them apart."""
    base = dpi.DPIParams()
    return synapses.SynapseParams(
        ampa=dpi.DPIParams(i_tau=base.i_tau),
        nmda=dpi.DPIParams(i_tau=0.1 * base.i_tau, i_gain=10 * base.i_tau),
        gaba=dpi.DPIParams(i_tau=0.5 * base.i_tau, c_syn=20e-12),
        shunt=dpi.DPIParams(i_tau=2 * base.i_tau, t_pulse=20e-6),
        i_nmda_thr=np.array([[5e-12], [50e-12]]),
    )


def test_type_order_matches_cam_indices():
    assert [t.name for t in SynapseType] == ["AMPA", "NMDA", "GABA", "SHUNT"]
    assert [int(t) for t in SynapseType] == [0, 1, 2, 3]
    assert synapses.N_TYPES == 4


def test_nmda_gate_formula():
    assert synapses.nmda_gate(2e-9, 1e-11, 1e-11) == pytest.approx(1e-9, rel=1e-15)
    assert synapses.nmda_gate(2e-9, 1e-6, 1e-11) == pytest.approx(2e-9 / (1 + 1e-5), rel=1e-15)
    assert synapses.nmda_gate(2e-9, 1e-15, 1e-11) == pytest.approx(2e-9 * 1e-15 / (1e-15 + 1e-11), rel=1e-12)


def test_each_type_integrates_independently_with_its_own_params():
    """Each type's DPI equals a lone dpi.advance run with that type's parameters and inputs."""
    params = params_with_distinct_types()
    state = synapses.initial_state(params, SHAPE)
    rng = np.random.default_rng(3)
    dt = 5e-6
    i_mem = np.full(SHAPE, 1e-10)
    weights = rng.uniform(0.0, 1e-8, size=(4, 6, *SHAPE)) * (rng.random((4, 6, *SHAPE)) < 0.5)
    history = []
    for k in range(6):
        state, out = synapses.step(state, weights[:, k], i_mem, params, dt)
        history.append(out)
    for t, p in zip(SynapseType, params.by_type()):
        lone = dpi.initial_state(p, SHAPE)
        for k in range(6):
            lone, lone_out = dpi.step(lone, weights[t, k], p, dt)
            np.testing.assert_array_equal(history[k].i_syn[t], lone_out.i_syn)
            np.testing.assert_array_equal(history[k].i_syn_mean[t], lone_out.i_syn_mean)


def test_outputs_signs_gating_and_shunt_routing():
    params = params_with_distinct_types()
    dt = 1e-4
    i_mem = np.array([[1e-12, 1e-10, 1e-8], [1e-12, 1e-10, 1e-8]])
    _, rest = synapses.step(synapses.initial_state(params, SHAPE), np.zeros((4, *SHAPE)), i_mem, params, dt)
    for driven in SynapseType:
        state = synapses.initial_state(params, SHAPE)
        i_w = np.zeros((4, *SHAPE))
        i_w[driven] = 5e-8
        _, out = synapses.step(state, i_w, i_mem, params, dt)
        mean = out.i_syn_mean
        gated = mean[SynapseType.NMDA] / (1 + params.i_nmda_thr / i_mem)
        np.testing.assert_allclose(out.i_nmda_eff, gated, rtol=1e-15)
        np.testing.assert_allclose(out.i_exc, mean[SynapseType.AMPA] + gated, rtol=1e-15)
        np.testing.assert_array_equal(out.i_inh, mean[SynapseType.GABA])
        np.testing.assert_array_equal(out.i_shunt, mean[SynapseType.SHUNT])
        np.testing.assert_allclose(out.i_syn_net, out.i_exc - out.i_inh, rtol=1e-15)
        resting = synapses.initial_state(params, SHAPE).dpi.i_syn
        # Only the driven type rises above its resting (dark-current) level.
        for t in SynapseType:
            assert np.all(mean[t] > resting[t]) == (t == driven)
        # GABA lowers the net input, AMPA and NMDA raise it, SHUNT leaves it and feeds i_shunt.
        if driven == SynapseType.GABA:
            assert np.all(out.i_syn_net < rest.i_syn_net)
        elif driven == SynapseType.SHUNT:
            np.testing.assert_array_equal(out.i_syn_net, rest.i_syn_net)
            assert np.all(out.i_shunt > rest.i_shunt)
        else:
            assert np.all(out.i_syn_net > rest.i_syn_net)
        if driven == SynapseType.NMDA:
            # Gate opens with the membrane current.
            assert np.all(np.diff(out.i_nmda_eff, axis=1) > 0)


def test_initial_state_and_defaults():
    params = synapses.SynapseParams()
    state = synapses.initial_state(params, SHAPE)
    assert state.dpi.i_syn.shape == (4, *SHAPE)
    np.testing.assert_array_equal(state.dpi.i_syn, params.ampa.i_0)
    for p in params.by_type():
        assert p.tau == pytest.approx(10e-3, rel=1e-14)
    # Default gate: ~95 % blocked at the dark current, ~90 % open at 100 pA.
    assert synapses.nmda_gate(1.0, 0.5e-12, params.i_nmda_thr) == pytest.approx(1 / 21, rel=1e-12)
    assert synapses.nmda_gate(1.0, 100e-12, params.i_nmda_thr) == pytest.approx(1 / 1.1, rel=1e-12)
    with pytest.raises(ValueError, match="i_nmda_thr"):
        synapses.SynapseParams(i_nmda_thr=0.0)


def test_noise_per_type():
    params = synapses.SynapseParams()
    state = synapses.initial_state(params, SHAPE)
    state = synapses.SynapsesState(state.dpi._replace(i_syn=np.full((4, *SHAPE), 1e-9)))
    noise = np.zeros((4, *SHAPE))
    noise[SynapseType.SHUNT] = 1e-10
    dt = 1e-4
    new, _ = synapses.step(state, np.zeros((4, *SHAPE)), np.full(SHAPE, 1e-10), params, dt, noise=noise)
    decay = math.exp(-dt / params.shunt.tau)
    np.testing.assert_allclose(new.dpi.i_syn[SynapseType.SHUNT], 1e-9 * decay + 1e-10 * (1 - decay), rtol=1e-14)
    np.testing.assert_allclose(new.dpi.i_syn[SynapseType.AMPA], 1e-9 * decay, rtol=1e-14)


def test_inputs_must_have_the_type_axis_first():
    params = synapses.SynapseParams()
    state = synapses.initial_state(params, SHAPE)
    with pytest.raises(ValueError, match="i_w_by_type"):
        synapses.step(state, np.zeros(SHAPE), np.full(SHAPE, 1e-10), params, 1e-4)
    with pytest.raises(ValueError, match="noise"):
        synapses.step(state, np.zeros((4, *SHAPE)), np.full(SHAPE, 1e-10), params, 1e-4, noise=np.zeros(SHAPE))
