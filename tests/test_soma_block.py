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
    """The block table of :func:`soma_block.substeps` for the given states and inputs, as the kernel fills it."""
    n = soma.shape[0]
    work = np.empty((len(soma_block.ROWS), n))
    for j in range(n):
        kernels.soma_column(j, j, soma, i_in[j], i_shunt[j], dt, soma_par, work)
    return work


def test_vector_passes_take_exactly_the_steps_of_one_segment():
    """:func:`soma_block.substeps` (from :func:`soma_block.start`, passes until no lane runs) finishes the lanes the
    scalar kernel advances as one segment (no spike, timer or AHP pulse), one to many sub-steps (counted on its
    Python form), with its end state to rounding, and leaves every other lane to it."""
    assert tuple(SOMA_COLUMNS[c] for c in kernels._SOMA_TABLE_COLUMNS) == soma_block.ROWS[soma_block.C_MEM:
                                                                                           soma_block.N_INPUT_ROWS]
    rng = np.random.default_rng(4)
    m = 1500
    _, soma, _, _, soma_par, _, _ = _network(rng, m)
    i_in = np.where(rng.random(m) < 0.1, -1e-11, 10 ** rng.uniform(-13, -7.5, m))
    i_shunt = np.where(rng.random(m) < 0.3, 10 ** rng.uniform(-12, -9, m), 0.0)
    work = _block(soma, soma_par, i_in, i_shunt, DT)
    soma_block.start(m, work)
    passes = [soma_block.substeps(m, DT, work)]
    while passes[-1] > 0:
        passes.append(soma_block.substeps(m, DT, work))
    assert len(passes) > 3
    calls = [0]
    patched = ("_rk4", "_integrate_segment", "_crossing")
    compiled = [getattr(soma_circuit, name) for name in patched]

    def counted(*args):
        calls[0] += 1
        return compiled[0].py_func(*args)

    substeps, results = np.zeros(m, dtype=int), []
    for name, function in zip(patched, (counted, compiled[1].py_func, compiled[2].py_func)):
        setattr(soma_circuit, name, function)
    try:
        for j in range(m):
            before = calls[0]
            results.append(soma_circuit.soma_advance_propagated.py_func(*soma[j], i_in[j], i_shunt[j], DT,
                                                                        *soma_par[j]))
            substeps[j] = calls[0] - before
    finally:
        for name, function in zip(patched, compiled):
            setattr(soma_circuit, name, function)
    i_mem, i_ahp, refractory, pulse, count = (np.array([r[k] for r in results]) for k in range(5))
    segment = (soma[:, 2] <= 0) & (soma[:, 3] <= 0) & (count == 0)
    done = work[soma_block.STATUS] == soma_block.DONE
    np.testing.assert_array_equal(done, segment)
    np.testing.assert_array_equal(work[soma_block.STATUS, ~done], soma_block.SCALAR)
    assert 0.3 * m < done.sum() < m
    assert all(np.any(done & (substeps == n)) for n in (0, 1, 2)) and np.any(done & (substeps >= 5))
    np.testing.assert_array_equal(work[soma_block.ELAPSED, done], DT)
    np.testing.assert_allclose(work[soma_block.I_MEM, done], i_mem[done], rtol=1e-13, atol=0)
    np.testing.assert_allclose(work[soma_block.I_AHP, done], i_ahp[done], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(refractory[done], soma[done, 2])
    np.testing.assert_array_equal(pulse[done], soma[done, 3])
