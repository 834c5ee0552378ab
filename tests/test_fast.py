"""The fast integrator (mixsig.engine.fast) against closed forms, solve_ivp and the exact kernel."""

import numba
import numpy as np
import pytest

from mixsig.circuits import soma
from mixsig.circuits.dpi import DPIParams, step_element
from mixsig.engine import fast
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, Record, experiment_from_dict

DT = 1e-4
SILENT_DPI = DPIParams(i_0=1e-30)  # DPIs at a negligible floor: the soma sees only i_dc


def _soma_spike_times(params, inputs, duration, dt):
    """Spike times of somata under constant DC inputs, from the fast kernel itself."""
    m = inputs.size
    syn_par, soma_par = fast.tables([SILENT_DPI] * 4, params, (1, m), dt)
    syn, state = fast.resting_state(syn_par, soma_par)
    work, count, offset = np.zeros(fast.work_shape(m)), np.zeros(m, dtype=np.int64), np.zeros(m)
    times = [[] for _ in range(m)]
    for n in range(int(round(duration / dt))):
        fast.advance_serial(syn, state, np.zeros((m, 4)), np.zeros((0, m)), dt, syn_par, np.full(m, 1e-11), soma_par,
                            inputs, work, count, offset)
        for j in np.flatnonzero(count):
            times[j].append(n * dt + offset[j])
    return [np.array(t) for t in times]


@pytest.mark.parametrize("w", [-40.0, -3.0, 0.0, 0.5, 1.0, 7.0, 1e3, 1e6])
def test_invert_solves_the_y_relation(w):
    for guess in (-50.0, 0.0, 50.0):
        v = fast.invert(w, guess)
        assert abs(np.exp(v) + v - w) <= 1e-12 * max(1.0, abs(w))


@numba.njit
def _increments32(e0s, steps, out):
    for i in range(e0s.size):
        for k in range(steps.size):
            e0, dw = np.float32(e0s[i]), np.float32(steps[k])
            out[i, k] = fast.invert_increment32(e0, dw, dw / (e0 + np.float32(1.0)))


def test_invert_increment32_over_the_operating_range():
    """The float32 inversion of the soma's Heun step solves ``e0 (e^d - 1) + d = dw`` to float32
    precision relative to the increment ``d`` itself (so a small step keeps its precision however
    large ``v``), over ``v_0`` in [-60, 15] and ``|dw|`` from 1e-8 to 200 (currents from 1e-26 to 3e6 times the gain
    current; steps far beyond any seen on ref1024, at most 43). Reference:
    Newton in float64 on the same equation with ``expm1``, from an upper bound (monotone on the
    convex residual), for the float32 inputs the kernel sees."""
    v0 = np.linspace(-60.0, 15.0, 151)
    steps = np.concatenate([-np.logspace(-8, np.log10(200.0), 40), [0.0], np.logspace(-8, np.log10(200.0), 40)])
    e0 = np.exp(v0).astype(np.float32).astype(float)[:, None]
    dw = steps.astype(np.float32).astype(float)[None, :]
    reference = np.minimum(np.minimum(dw / (e0 + 1.0), e0 + dw), np.log1p(np.maximum(dw, 0.0) / e0))
    for _ in range(100):
        reference = reference - (e0 * np.expm1(reference) + reference - dw) / (e0 * np.exp(reference) + 1.0)
    out = np.zeros((v0.size, steps.size))
    _increments32(np.exp(v0), steps, out)
    assert np.all(np.abs(out - reference) <= 4e-7 * np.abs(reference))

def _increment_roots(e0, dw):
    """Float64 roots of ``e0 (e^d - 1) + d = dw``: Newton with ``expm1`` from an upper bound (monotone on the
    convex residual)."""
    d = np.minimum(np.minimum(dw / (e0 + 1.0), e0 + dw), np.log1p(np.maximum(dw, 0.0) / e0))
    for _ in range(100):
        d = d - (e0 * np.expm1(d) + d - dw) / (e0 * np.exp(d) + 1.0)
    return d


def _float32_bound(e0, dw, d):
    """Rounding bound of a float32 root: 2 float32 ulp of ``d`` itself plus the rounding of the equation's
    terms (``dw``, ``e0 (e^d - 1)``, ``d``) divided by its slope ``e0 e^d + 1``."""
    u = 2.0 ** -24
    return 2 * u * (np.abs(d) + (np.abs(dw) + e0 * np.abs(np.expm1(d)) + np.abs(d)) / (e0 * np.exp(d) + 1.0))


@numba.njit
def _settled32(e0s, steps, n, out, accepted, full):
    for i in range(e0s.size):
        for k in range(steps.size):
            e0, dw = np.float32(e0s[i]), np.float32(steps[k])
            out[i, k], accepted[i, k] = fast.halley_settle32(e0, dw, dw / (e0 + np.float32(1.0)), n)
            full[i, k] = fast.invert_increment32(e0, dw, dw / (e0 + np.float32(1.0)))


@pytest.mark.parametrize("n", [1, 2])
def test_halley_settle32_accepts_only_float32_roots(n):
    """The vector loops' inversion (``n`` Halley steps from the tangent guess, accepted when the last correction
    ``c`` has ``|c|^3 <= SETTLE_TOL |d|``: then the error is below ``|c|^3 / 12``) against the float64 root, on a
    grid 10x finer than test_invert_increment32_over_the_operating_range's: every accepted root is within the
    float32 rounding bound of the equation (:func:`_float32_bound`), as is :func:`fast.invert_increment32` on
    every root (the fix-up's inversion). Lanes are rejected (the criterion is not vacuous), and the accepted
    ones include every small step (|dw| <= 1e-3)."""
    v0 = np.linspace(-60.0, 15.0, 751)
    steps = np.concatenate([-np.logspace(-8, np.log10(200.0), 200), [0.0], np.logspace(-8, np.log10(200.0), 200)])
    e0 = np.exp(v0).astype(np.float32).astype(float)[:, None]
    dw = steps.astype(np.float32).astype(float)[None, :]
    reference = _increment_roots(e0, dw)
    bound = _float32_bound(e0, dw, reference)
    out, full = np.zeros((v0.size, steps.size)), np.zeros((v0.size, steps.size))
    accepted = np.zeros(out.shape, dtype=np.bool_)
    _settled32(np.exp(v0), steps, n, out, accepted, full)
    assert np.all(np.abs(full - reference) <= bound)
    assert np.all(np.abs(out - reference)[accepted] <= bound[accepted])
    assert 0.01 < 1.0 - accepted.mean() < 0.5
    assert np.all(accepted[:, np.abs(steps) <= 1e-3])


def test_soma_vector_fixes_up_unaccepted_lanes():
    """One step of the soma vector pass over a block in which lanes the vector loop's inversion rejects (a
    large step of ``v`` at a moderate ``v``) sit between lanes it accepts: every lane's end ``v`` is within
    float32 precision of the same Heun step in float64 (written here from the module docstring's ``dw/dt``,
    inverted by Newton), so the rejected lanes were computed again (a lane left at its start would be off by
    its whole step)."""
    params = soma.SomaParams(i_spkthr=1e-5, i_fb_0=1e-13)
    v_starts = np.linspace(-8.0, 4.0, 13)
    inputs = np.array([0.0, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 5e-7])
    grid = np.array([(v, i) for i in inputs for v in v_starts])
    m = len(grid)
    syn_par, soma_par = fast.tables([SILENT_DPI] * 4, params, (1, m), DT)
    _, state = fast.resting_state(syn_par, soma_par)
    state[0, :m] = grid[:, 0]
    work = np.zeros(fast.work_shape(m))
    work[fast.N_TYPES, :m] = -1.0  # no AHP pulse this step
    before = state.copy()
    fast._soma_vector(0, m, state, DT, np.ones(m), soma_par, grid[:, 1].copy(), False, work)

    def row(name):
        return fast._row(soma_par, fast.SOMA_ROWS, name)[:m]

    v0, scale = grid[:, 0], DT * row("k_mem")
    leak = row("i_tau") + np.maximum(before[1, :m] * row("ahp_mean_factor"), row("ahp_floor"))
    e0 = np.exp(v0)

    def speed(d):  # h dw/dt at v0 + d, dimensionless (module docstring, rule 3)
        fb = row("i_fb_0") * np.exp(row("fb_exponent") * (v0 + d) + row("fb_offset"))
        return scale * (grid[:, 1] - (e0 * np.exp(d) + 1.0) * (leak - fb))

    rise = speed(0.0)
    dp = _increment_roots(e0, rise)
    d1 = _increment_roots(e0, 0.5 * (rise + speed(dp)))
    redone = work[fast.ROW_REDO, :m] != 0.0
    rejected = np.zeros(m, dtype=np.bool_)
    for j in range(m):
        out, ok = np.zeros((1, 1)), np.zeros((1, 1), dtype=np.bool_)
        _settled32(e0[j:j + 1], np.array([rise[j]]), fast.PREDICTOR_STEPS, out, ok, np.zeros((1, 1)))
        rejected[j] = not ok[0, 0]
    assert not redone.any()
    assert 3 <= rejected.sum() <= m // 2
    terms = np.abs(rise) + scale * (e0 + 1.0) * leak
    tolerance = 1e-6 * (np.abs(d1) + terms / (e0 * np.exp(d1) + 1.0))
    assert np.all(np.abs(state[0, :m] - np.maximum(v0 + d1, row("v_floor"))) <= tolerance)


def test_soma_vector_lane_independent_of_its_place_in_the_block():
    """A neuron's soma step is the same bit for bit whichever part of the vector loops computes it (the vector
    body or the loop's remainder, its place in a vector): the soma pass over a grid of states and inputs in one
    call against the same in two calls split at several places (each shifts every later lane's place)."""
    params = soma.SomaParams(i_spkthr=1e-5, i_fb_0=1e-13)
    grid = np.array([(v, i) for i in (0.0, 1e-10, 1e-9, 1e-8, 1e-7) for v in np.linspace(-8.0, 4.0, 19)])
    m = len(grid)
    syn_par, soma_par = fast.tables([SILENT_DPI] * 4, params, (1, m), DT)
    _, start = fast.resting_state(syn_par, soma_par)
    start[0, :m] = grid[:, 0]
    start[2, :m:7] = 0.3 * DT  # some lanes refractory for part of the step
    i_dc = grid[:, 1].copy()

    def run(splits):
        state, work = start.copy(), np.zeros(fast.work_shape(m))
        work[fast.N_TYPES, :m] = -1.0  # no AHP pulse this step
        for lo, hi in zip((0, *splits), (*splits, m)):
            fast._soma_vector(lo, hi, state, DT, np.ones(m), soma_par, i_dc, False, work)
        return state[:, :m], work[[fast.ROW_I_IN, fast.ROW_REDO], :m]

    whole = run(())
    assert np.any(whole[0][0] != start[0, :m])
    for splits in ((1,), (7,), (33, 40), (m - 3,)):
        for a, b in zip(run(splits), whole):
            np.testing.assert_array_equal(a, b)


def test_dpi_without_pulse_decays_exactly():
    params = DPIParams()
    syn_par, soma_par = fast.tables([params] * 4, soma.SomaParams(), (1, 1), DT)
    syn, state = fast.resting_state(syn_par, soma_par)
    syn[0] = 2e-9
    work = np.zeros(fast.work_shape(1))
    fast.advance_serial(syn, state, np.zeros((1, 4)), np.zeros((0, 1)), DT, syn_par, np.ones(1), soma_par,
                        np.zeros(1), work, np.zeros(1, dtype=np.int64), np.zeros(1))
    decay = np.exp(-DT / params.tau)
    np.testing.assert_allclose(syn[0, :, 0], 2e-9 * decay, rtol=1e-14)
    np.testing.assert_allclose(work[:4, 0], 2e-9 * params.tau * (1 - decay) / DT, rtol=1e-14)


@pytest.mark.parametrize("i_w", [1e-9, 5e-9, 1e-7])
@pytest.mark.parametrize("i_start", [0.5e-12, 1e-10, 1e-9, 1e-8, 1e-7])
def test_dpi_pulse_step_close_to_exact(i_w, i_start):
    """Rule 2 (Euler in y, Simpson charge) within 2e-4 of the exact pulse solution (DYNAP-SE2 AMPA)."""
    c, i_tau, i_gain, t_pulse, kappa, u_t, i_0 = 2.45e-11, 8.98e-11, 8.98e-9, 1e-5, 0.7, 0.0258, 0.5e-12
    tau = c * u_t / (kappa * i_tau)
    exact_end, _, _, exact_mean = step_element(i_start, 0.0, 0.0, i_w, 0.0, DT, t_pulse, i_tau, i_gain, c, kappa,
                                               u_t, i_0)
    end, charge = fast.pulse_step(i_start, i_w, t_pulse, DT, np.exp(-(DT - t_pulse) / tau), tau, i_gain / i_tau,
                                  i_gain, i_tau, c, kappa, u_t, i_0)
    assert end == pytest.approx(exact_end, rel=2e-4)
    assert charge / DT == pytest.approx(exact_mean, rel=2e-4)


def test_pulse_lanes_match_the_float64_pulse_step():
    """The vector pulse lanes (float32 inversion in increment form) against the scalar float64
    :func:`fast.pulse_step` (same scheme, inverted by Newton to 1e-16): pulses starting, merging into
    one still on, and continuing from the previous step, currents from the floor to 1e-7 A. The end
    current is within 2e-6 of its change in the step (float32 precision of ``d``, 4e-7 of it, and of
    ``e^d - 1``, 3 ulp, with margin), plus 1e-15 of the current (float64 rounding); the step average
    within 1e-6 relative (the charge's float32 part, the slope correction, is at most 0.6 % of it)."""
    params = DPIParams()
    tau = params.tau
    starts = np.array([0.5e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7])
    weights = np.array([0.0, 1e-10, 1e-9, 5e-9, 1e-7, 1e-6, 1e-5])  # the last two: steps the vector loop rejects
    left_before = 4e-6  # time left of a pulse on from the previous step (of 2 nA where on), s
    grid = np.array([(i, w, c) for i in starts for w in weights for c in (0.0, 2e-9) if w > 0 or c > 0])
    m = len(grid)
    syn_par, soma_par = fast.tables([params] * 4, soma.SomaParams(), (1, m), DT)
    syn, state = fast.resting_state(syn_par, soma_par)
    syn[0, 0, :m], syn[1, 0, :m] = grid[:, 0], grid[:, 2]
    syn[2, 0, :m] = np.where(grid[:, 2] > 0, left_before, 0.0)
    i_w = np.zeros((m, 4))
    i_w[:, 0] = grid[:, 1]
    work = np.zeros(fast.work_shape(m))
    fast.advance_serial(syn, state, i_w, np.zeros((0, m)), DT, syn_par, np.ones(m), soma_par, np.zeros(m), work,
                        np.zeros(m, dtype=np.int64), np.zeros(m))
    for j, (i_start, weight, current) in enumerate(grid):
        left = left_before if current > 0 else 0.0
        if weight > 0:
            left = (current * left + weight * params.t_pulse) / (current + weight)
            current += weight
        t_on = min(left, DT)
        end, charge = fast.pulse_step(i_start, current, t_on, DT, np.exp(-(DT - t_on) / tau), tau,
                                      params.i_gain / params.i_tau, params.i_gain, params.i_tau, params.c_syn,
                                      params.kappa, params.u_t, params.i_0)
        on_end = end * np.exp((DT - t_on) / tau)  # the current at the pulse's end
        assert abs(syn[0, 0, j] - end) <= 2e-6 * abs(on_end - i_start) * np.exp(-(DT - t_on) / tau) + 1e-15 * end
        assert work[0, j] == pytest.approx(charge / DT, rel=1e-6)


def test_soma_rates_match_solve_ivp_and_converge():
    """Constant inputs, feedback and adaptation on: spike times within 2e-4 s at 100 us, error falling > 2.5x from dt to dt/2."""
    inputs = np.array([1e-9, 5e-9, 30e-9, 200e-9])
    params = soma.SomaParams(i_w_ahp=0.5e-6)
    duration = 0.3
    errors = []
    for dt in (DT, DT / 2):
        trains = _soma_spike_times(params, inputs, duration, dt)
        worst = 0.0
        for i_in, times in zip(inputs, trains):
            reference, _ = soma.reference_spike_times(params, float(i_in), duration)
            assert times.size == reference.size
            worst = max(worst, np.max(np.abs(times - reference)))
        errors.append(worst)
    assert errors[0] < 2e-4
    assert errors[1] < errors[0] / 2.5


def _experiment(integrator, **changes):
    tables = {
        "populations": {"a": {"size": 64, "core": [0, 1]}},
        "inputs": {"drive": {"size": 16, "kind": "poisson", "rate": 200.0}},
        "connections": [
            # 4 nA: per-pulse log gain 0.75 on the calibrated dynapse2 synapses (12 nA drove the
            # neurons so hard that 5 % of the v_mem samples sat next to a spike)
            {"pre": "drive", "post": "a", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 4},
            {"pre": "a", "post": "a", "rule": "probability", "p": 0.1, "syn_type": "gaba", "weight_mask": 1},
        ],
    }
    return Experiment(duration=0.2, instances=2, seed=3, integrator=integrator, network=tables, noise=True,
                      record=Record(traces=("i_mem", "v_mem", "i_ampa"), neurons=(0, 5), interval=1e-3),
                      **changes)


def test_fast_engine_independent_of_threads_and_chunks():
    one = Simulation(_experiment("fast"))
    one.parallel = False
    one.advance(0.2, progress=False)
    other = Simulation(_experiment("fast"))
    other.parallel = True
    for _ in range(4):
        other.advance(0.05, progress=False)
    assert one.spikes()[2].size > 0
    for a, b in zip(one.spikes(), other.spikes()):
        np.testing.assert_array_equal(a, b)


def test_fast_engine_close_to_exact_and_records_integrator():
    datasets = {name: Simulation(_experiment(name)) for name in ("fast", "exact")}
    for simulation in datasets.values():
        simulation.advance(0.2, progress=False)
    datasets = {name: simulation.dataset() for name, simulation in datasets.items()}
    fast_ds, exact_ds = datasets["fast"], datasets["exact"]
    assert fast_ds.attrs["integrator"] == "fast" and exact_ds.attrs["integrator"] == "exact"
    assert fast_ds.sizes["spike"] == pytest.approx(exact_ds.sizes["spike"], rel=0.03)
    for name in ("i_mem", "v_mem", "i_ampa"):
        assert fast_ds[name].shape == exact_ds[name].shape
        assert np.all(np.isfinite(fast_ds[name].values))
    # Same read-out of the same membranes: equal to the scheme's error over the first 5 ms (later,
    # spike times a few us apart leave one trace refractory and the other not).
    early = slice(0, 5)
    np.testing.assert_allclose(fast_ds["v_mem"].values[..., early], exact_ds["v_mem"].values[..., early], atol=1e-3)
    np.testing.assert_allclose(fast_ds["i_ampa"].values[..., early], exact_ds["i_ampa"].values[..., early], rtol=1e-3)


def test_unknown_integrator_is_a_config_error():
    with pytest.raises(ConfigError, match="integrator"):
        experiment_from_dict({"integrator": "rk45"}, source="x.toml")
