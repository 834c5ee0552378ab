"""The exact kernel's precomputed propagators change no number: the engine's fast paths against the
general solvers they stand for, bit for bit (issue 15, exact mode)."""

import numpy as np
import pytest

from mixsig.circuits import dpi
from mixsig.circuits.dpi import DPIParams
from mixsig.circuits.soma import SomaParams
from mixsig.engine import kernels
from mixsig.engine.protocol import SOMA_COLUMNS

DT = 1e-4


def _dpi_params(rng, m):
    """Four DPI types with per-neuron mismatch (time constants 1-100 ms, pulses 1-300 us)."""
    shape = (1, m)
    return [DPIParams(i_tau=dpi.leak_current(10 ** rng.uniform(-3, -1, shape)), t_pulse=10 ** rng.uniform(-6, -3.5, shape),
                      i_gain=10 ** rng.uniform(-11, -8, shape)) for _ in range(kernels.N_TYPES)]


def _states(rng, syn_par, m):
    """DPI states over every regime: at the floor, just above it (reaching it within the step), decaying
    from far above, with a pulse on; and the weight currents of pulses starting in the step."""
    i_0 = syn_par[:, :, kernels.DPI_ROWS.index("i_0")]
    syn = np.zeros((m, kernels.N_TYPES, 3))
    regime = rng.integers(0, 4, size=(m, kernels.N_TYPES))
    syn[:, :, 0] = np.select([regime == 0, regime == 1], [i_0, i_0 * (1 + 1e-4 * rng.random((m, 4)))],
                             i_0 * 10 ** rng.uniform(0, 6, (m, 4)))
    on = regime == 3
    syn[:, :, 1] = np.where(on, 10 ** rng.uniform(-10, -7, (m, 4)), 0.0)
    syn[:, :, 2] = np.where(on, rng.uniform(0, 3 * DT, (m, 4)), 0.0)
    i_w = np.where(rng.random((m, 4)) < 0.2, 10 ** rng.uniform(-10, -7, (m, 4)), 0.0)
    return syn, i_w


@pytest.mark.parametrize("noise_rows", [0, 5, 10])
def test_dpi_decays_from_propagators_equal_step_element(noise_rows):
    """:func:`kernels.advance_dpis` with the table's propagators against the same table with them switched
    off (every DPI through :func:`dpi.step_element`): identical states and step averages."""
    rng = np.random.default_rng(15 + noise_rows)
    m = 4000
    syn_par = kernels.dpi_table(_dpi_params(rng, m), (1, m), DT)
    general = syn_par.copy()
    general[:, :, len(kernels.DPI_ROWS) + kernels.DPI_PROPAGATOR_ROWS.index("dt")] = np.nan  # propagators off
    syn, i_w = _states(rng, syn_par, m)
    z = rng.standard_normal((noise_rows, m)) * (1e-2 if noise_rows > 5 else 1.0)
    results = []
    for table in (syn_par, general):
        state, mean = syn.copy(), np.zeros((m, kernels.N_TYPES))
        for j in range(m):
            kernels.advance_dpis(j, state, i_w, z, DT, table, mean)
        results.append((state, mean))
    (state, mean), (state_ref, mean_ref) = results
    np.testing.assert_array_equal(state, state_ref)
    np.testing.assert_array_equal(mean, mean_ref)
    decaying = (i_w <= 0) & (syn[:, :, 2] <= 0) & (syn[:, :, 0] > syn_par[:, :, 6])
    assert decaying.sum() > m  # the fast path was taken, including floor contacts within the step
    assert np.any(decaying & (state[:, :, 0] == syn_par[:, :, 6]))


def test_propagators_follow_the_step():
    """A table made for another step is not used for this one (the general path runs instead)."""
    rng = np.random.default_rng(3)
    m = 200
    params = _dpi_params(rng, m)
    syn, i_w = _states(rng, kernels.dpi_table(params, (1, m), DT), m)
    results = []
    for table_dt in (DT, 2 * DT):
        state, mean = syn.copy(), np.zeros((m, kernels.N_TYPES))
        for j in range(m):
            kernels.advance_dpis(j, state, i_w, np.zeros((0, m)), DT, kernels.dpi_table(params, (1, m), table_dt), mean)
        results.append(state)
    np.testing.assert_array_equal(results[0], results[1])


def test_decay_step_matches_the_closed_form():
    """:func:`dpi.decay_step`: ``I(dt) = I e^{-dt/tau}`` and mean ``tau I (1 - e^{-dt/tau}) / dt`` above the floor;
    reaching the floor at ``t* = tau ln(I/i_0)``, mean ``(tau (I - i_0) + i_0 (dt - t*)) / dt``."""
    tau, i_0 = 5e-3, 1e-13
    t, decayed = dpi.propagator(DT, dpi.leak_current(tau), 25e-12, DPIParams().kappa, DPIParams().u_t)
    assert t == pytest.approx(tau, rel=1e-12)
    for i in (1e-9, i_0 * (1 + 1e-5)):
        end, mean = dpi.decay_step(i, 0.0, DT, t, decayed, i_0)
        t_star = tau * np.log(i / i_0)
        if t_star > DT:
            assert end == pytest.approx(i * np.exp(-DT / tau), rel=1e-13)
            assert mean == pytest.approx(tau * i * -np.expm1(-DT / tau) / DT, rel=1e-13)
        else:
            assert end == i_0
            assert mean == pytest.approx((tau * (i - i_0) + i_0 * (DT - t_star)) / DT, rel=1e-12)


def test_soma_ahp_propagators_change_nothing():
    """:func:`kernels.advance_soma` with the AHP propagators against the same table with them off (every AHP
    decay through :func:`dpi.dpi_advance`), from states over every regime (at the floor, charging, near
    threshold, refractory, AHP pulse on, AHP at its floor and far above it) and a range of inputs."""
    rng = np.random.default_rng(7)
    m = 4000
    params = SomaParams(i_w_ahp=10 ** rng.uniform(-9, -6, (1, m)), i_ref=10 ** rng.uniform(-10.5, -8.5, (1, m)))
    _, soma_par = kernels.parameter_tables([DPIParams()] * 4, params, (1, m), DT)
    general = soma_par.copy()
    general[:, SOMA_COLUMNS.index("ahp_step")] = 0.0
    col = SOMA_COLUMNS.index
    i_0, thr = soma_par[:, col("i_0")], soma_par[:, col("i_spkthr")]
    soma = np.zeros((m, 4))
    soma[:, 0] = np.exp(rng.uniform(np.log(i_0), np.log(thr)))
    soma[:, 1] = np.where(rng.random(m) < 0.2, i_0, i_0 * 10 ** rng.uniform(0, 5, m))
    soma[:, 2] = np.where(rng.random(m) < 0.1, rng.uniform(0, 2 * DT, m), 0.0)
    soma[:, 3] = np.where(rng.random(m) < 0.1, rng.uniform(0, 2 * DT, m), 0.0)
    i_in = 10 ** rng.uniform(-13, -8, m)
    i_shunt = np.where(rng.random(m) < 0.3, 10 ** rng.uniform(-12, -9, m), 0.0)
    results = []
    for table in (soma_par, general):
        state, count, offset = soma.copy(), np.zeros(m, dtype=np.int64), np.zeros(m)
        for _ in range(20):
            for j in range(m):
                kernels.advance_soma(j, state, i_in[j], i_shunt[j], np.zeros((0, m)), DT, table, count, offset)
        results.append((state, count, offset))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
    assert 0 < results[0][1].sum() < m
