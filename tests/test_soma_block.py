"""The exact kernel's vector pass over the somas (:mod:`mixsig.engine.soma_block`) against the scalar soma
kernel it stands for: the same steps to rounding, and every step it cannot take left to the scalar kernel."""

import numpy as np
import pytest

from mixsig.circuits import soma as soma_circuit
from mixsig.circuits.dpi import DPIParams
from mixsig.circuits.soma import SomaParams
from mixsig.engine import kernels, soma_block
from mixsig.engine.protocol import SOMA_COLUMNS

DT = 1e-4
COL = SOMA_COLUMNS.index


def _network(rng, m, i_fb_0=None):
    """Tables and states of ``m`` neurons over every regime: membrane at the floor, charging, near threshold,
    refractory, AHP pulse on, AHP off / at its floor / far above it, with shunt and pulses starting."""
    params = SomaParams(i_w_ahp=np.where(rng.random((1, m)) < 0.2, 0.0, 10 ** rng.uniform(-9, -6, (1, m))),
                        i_ref=10 ** rng.uniform(-10.5, -8.5, (1, m)),
                        **({} if i_fb_0 is None else {"i_fb_0": i_fb_0}))
    dpis = [DPIParams(i_gain=10 ** rng.uniform(-11, -9, (1, m))) for _ in range(kernels.N_TYPES)]
    syn_par, soma_par = kernels.parameter_tables(dpis, params, (1, m), DT)
    syn, soma = kernels.resting_state(syn_par, soma_par)
    i_0, thr = soma_par[:, COL("i_0")], soma_par[:, COL("i_spkthr")]
    soma[:, 0] = np.where(rng.random(m) < 0.2, i_0, np.exp(rng.uniform(np.log(i_0), np.log(thr))))
    enabled = soma_par[:, COL("i_w_ahp")] > 0
    soma[:, 1] = np.where(enabled, np.where(rng.random(m) < 0.3, i_0, i_0 * 10 ** rng.uniform(0, 5, m)), 0.0)
    soma[:, 2] = np.where(rng.random(m) < 0.1, rng.uniform(0, 2 * DT, m), 0.0)
    soma[:, 3] = np.where(enabled & (rng.random(m) < 0.1), rng.uniform(0, 2 * DT, m), 0.0)
    syn[:, :, 0] *= 10 ** rng.uniform(0, 4, (m, kernels.N_TYPES))
    i_w = np.where(rng.random((m, kernels.N_TYPES)) < 0.05, 10 ** rng.uniform(-10, -8, (m, kernels.N_TYPES)), 0.0)
    i_dc = 10 ** rng.uniform(-13, -6.5, m)
    return syn, soma, i_w, syn_par, soma_par, rng.uniform(1e-12, 1e-10, m), i_dc


def _reference(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, mean, count, offset):
    """One step of every neuron with the scalar soma kernel (the kernel before its vector pass)."""
    for j in range(soma.shape[0]):
        kernels.advance_dpis(j, syn, i_w, z, dt, syn_par, mean)
        i_syn = mean[j, 0] + mean[j, 1] / (1.0 + nmda_thr[j] / soma[j, 0]) - mean[j, 2]
        kernels.advance_soma(j, soma, i_dc[j] + i_syn, mean[j, 3], z, dt, soma_par, count, offset)


@pytest.mark.parametrize("noise_rows, i_fb_0", [(0, None), (5, None), (0, 0.0)])
def test_vector_pass_equals_the_scalar_kernel(noise_rows, i_fb_0):
    """:func:`kernels.advance_neurons_serial` (vector pass, scalar kernel for the rest) against the scalar soma
    kernel for every neuron, 30 steps from every regime: the same spikes, spike times and states to rounding
    (``exp``/``log`` within 2 ulp of libm: 1e-12 relative after 30 steps), the threaded kernel bit-identical."""
    rng = np.random.default_rng(150 + noise_rows)
    m = 3000
    syn, soma, i_w, syn_par, soma_par, nmda_thr, i_dc = _network(rng, m, i_fb_0)
    z_steps = [rng.standard_normal((noise_rows, m)) for _ in range(30)]
    runs = []
    for advance in (kernels.advance_neurons_serial, kernels.advance_neurons, _reference):
        s, x, mean = syn.copy(), soma.copy(), np.zeros((m, kernels.N_TYPES))
        counts, offsets = np.zeros((30, m), dtype=np.int64), np.zeros((30, m))
        for step, z in enumerate(z_steps):
            advance(s, x, i_w if step == 0 else np.zeros_like(i_w), z, DT, syn_par, nmda_thr, soma_par, i_dc, mean,
                    counts[step], offsets[step])
        runs.append((s, x, counts, offsets))
    vector, threaded, scalar = runs
    for got, want in zip(vector, threaded):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(vector[2], scalar[2])
    assert 0 < scalar[2].sum() < 30 * m
    np.testing.assert_allclose(vector[3], scalar[3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(vector[1], scalar[1], rtol=1e-12, atol=0)
    np.testing.assert_allclose(vector[0], scalar[0], rtol=1e-12, atol=0)


def _block(soma, soma_par, i_in, i_shunt, dt):
    """The block table of :func:`soma_block.first_attempt` for the given states and inputs, as the kernel fills it."""
    n = soma.shape[0]
    work = np.empty((len(soma_block.ROWS), n))
    for j in range(n):
        kernels.soma_column(j, j, soma, i_in[j], i_shunt[j], dt, soma_par, work)
    return work


def test_first_attempt_accepts_only_what_the_scalar_kernel_does_in_one_sub_step():
    """Lanes accepted by :func:`soma_block.first_attempt` are those the scalar kernel advances without a spike,
    a timer or the AHP pulse and in at most one RK4 sub-step (counted on its Python form), with its end state to
    rounding; every lane with several sub-steps, a spike, a refractory period or an AHP pulse is left to it."""
    assert tuple(SOMA_COLUMNS[c] for c in kernels._SOMA_TABLE_COLUMNS) == soma_block.ROWS[soma_block.C_MEM:]
    rng = np.random.default_rng(4)
    m = 1500
    _, soma, _, _, soma_par, _, _ = _network(rng, m)
    i_in = np.where(rng.random(m) < 0.1, -1e-11, 10 ** rng.uniform(-13, -7.5, m))
    i_shunt = np.where(rng.random(m) < 0.3, 10 ** rng.uniform(-12, -9, m), 0.0)
    work = _block(soma, soma_par, i_in, i_shunt, DT)
    soma_block.first_attempt(m, DT, work)
    calls, partial = [0], [0]
    patched = ("_rk4", "_integrate_segment", "_crossing")
    compiled = [getattr(soma_circuit, name) for name in patched]

    def counted(*args):
        calls[0] += 1
        partial[0] += args[3] != DT
        return compiled[0].py_func(*args)

    substeps, partials, results = np.zeros(m, dtype=int), np.zeros(m, dtype=int), []
    for name, function in zip(patched, (counted, compiled[1].py_func, compiled[2].py_func)):
        setattr(soma_circuit, name, function)
    try:
        for j in range(m):
            before, partial[0] = calls[0], 0
            results.append(soma_circuit.soma_advance_propagated.py_func(*soma[j], i_in[j], i_shunt[j], DT,
                                                                        *soma_par[j]))
            substeps[j], partials[j] = calls[0] - before, partial[0]
    finally:
        for name, function in zip(patched, compiled):
            setattr(soma_circuit, name, function)
    i_mem, i_ahp, refractory, pulse, count = (np.array([r[k] for r in results]) for k in range(5))
    simple = (soma[:, 2] <= 0) & (soma[:, 3] <= 0) & (count == 0) & (substeps <= 1) & (partials == 0)
    accepted = work[soma_block.ELIGIBLE] == 1.0
    np.testing.assert_array_equal(accepted, simple)
    assert 0.3 * m < accepted.sum() < m
    assert np.any(accepted & (substeps == 0)) and np.any(accepted & (substeps == 1))
    np.testing.assert_allclose(work[soma_block.I_MEM, accepted], i_mem[accepted], rtol=1e-14, atol=0)
    np.testing.assert_array_equal(work[soma_block.I_AHP, accepted], i_ahp[accepted])
    np.testing.assert_array_equal(refractory[accepted], soma[accepted, 2])
    np.testing.assert_array_equal(pulse[accepted], soma[accepted, 3])
