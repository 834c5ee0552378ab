"""Exact delivery times (mixsig.engine.onsets): pulses start inside the step at their arrival."""

import dataclasses

import numpy as np
import pytest

from mixsig.circuits.dpi import DPIParams
from mixsig.circuits.soma import SomaParams
from mixsig.engine import kernels
from mixsig.engine.onsets import advance_with_onsets, lookahead
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import DCStep, Experiment, Record

DT = 1e-4


def _neuron(i_dc):
    """Tables and resting state of one silicon neuron (default parameters) with DC input ``i_dc`` (A)."""
    syn_par, soma_par = kernels.parameter_tables([DPIParams()] * 4, SomaParams(), (1, 1), DT)
    syn, soma = kernels.resting_state(syn_par, soma_par)
    return syn_par, soma_par, syn, soma, np.array([i_dc])


def _serial(syn, soma, i_w, dt, syn_par, soma_par, i_dc):
    """One step of the engine's one-piece kernel; returns (count, offset)."""
    count, offset = np.zeros(1, dtype=np.int64), np.zeros(1)
    kernels.advance_neurons_serial(syn, soma, i_w, np.zeros((0, 1)), dt, syn_par, np.zeros(1), soma_par, i_dc,
                                   np.zeros((1, 4)), count, offset)
    return count[0], offset[0]


@pytest.mark.parametrize("i_dc", [0.0, 3e-9])
@pytest.mark.parametrize("onset", [1e-9, 3.7e-5, DT * (1 - 1e-9)])
def test_pulse_inside_a_step_equals_the_step_split_at_its_onset(onset, i_dc):
    """A pulse starting ``onset`` into the step gives the state of two engine steps, ``onset`` long
    without it and ``dt - onset`` long starting with it (the one-piece kernel is checked against
    solve_ivp in tests/test_dpi.py and tests/test_soma.py)."""
    syn_par, soma_par, syn, soma, dc = _neuron(i_dc)
    for _ in range(200):  # drive the membrane near its threshold (or to rest with no DC)
        _serial(syn, soma, np.zeros((1, 4)), DT, syn_par, soma_par, dc)
    w = np.array([[2e-8, 0.0, 0.0, 0.0]])
    ref_syn, ref_soma = syn.copy(), soma.copy()
    n1, o1 = _serial(ref_syn, ref_soma, np.zeros((1, 4)), onset, syn_par, soma_par, dc)
    n2, o2 = _serial(ref_syn, ref_soma, w, DT - onset, syn_par, soma_par, dc)
    out_syn, out_soma = np.empty_like(syn), np.empty_like(soma)
    count, offset, mean = np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros((1, 4))
    advance_with_onsets(np.array([0]), np.array([0, 1]), np.array([0]), np.array([onset]), np.array([w[0, 0]]),
                        out_syn, out_soma, syn, soma, np.zeros((1, 4)), np.zeros((0, 1)), DT, syn_par, np.zeros(1),
                        soma_par, dc, mean, count, offset)
    np.testing.assert_allclose(out_syn, ref_syn, rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(out_soma, ref_soma, rtol=1e-12, atol=1e-30)
    assert count[0] == n1 + n2
    if n1 + n2:
        expected = o1 if n1 else onset + o2
        assert offset[0] == pytest.approx(expected, rel=1e-12)


def test_onset_zero_is_the_one_piece_step():
    syn_par, soma_par, syn, soma, dc = _neuron(3e-9)
    w = np.array([[2e-8, 0.0, 5e-9, 0.0]])
    ref_syn, ref_soma = syn.copy(), soma.copy()
    _serial(ref_syn, ref_soma, w, DT, syn_par, soma_par, dc)
    out_syn, out_soma = np.empty_like(syn), np.empty_like(soma)
    count, offset, mean = np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros((1, 4))
    advance_with_onsets(np.array([0]), np.array([0, 2]), np.array([0, 2]), np.zeros(2), w[0, [0, 2]],
                        out_syn, out_soma, syn, soma, np.zeros((1, 4)), np.zeros((0, 1)), DT, syn_par, np.zeros(1),
                        soma_par, dc, mean, count, offset)
    np.testing.assert_allclose(out_syn, ref_syn, rtol=1e-14)
    np.testing.assert_allclose(out_soma, ref_soma, rtol=1e-14)


def _chain(dt, delivery, duration=0.05):
    """Eight DC-driven neurons on core 0 exciting eight on core 1 (all to all, AMPA, 6 nA)."""
    exp = Experiment(
        duration=duration, dt=dt, seed=5, chip="dynapse2", noise=False, integrator="exact", delivery=delivery,
        network={"populations": {"a": {"size": 8, "core": [0]}, "b": {"size": 8, "core": [1]}},
                 "connections": [{"pre": "a", "post": "b", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 6}]},
        dc=(DCStep(1e-9, population="a"),), record=Record(traces=(), neurons=(), router=True),
        source="test chain",
    )
    sim = Simulation(exp)
    sim.advance(duration)
    _, neuron, time = sim.spikes()
    return sim, neuron, time


def _follower_times(neuron, time):
    return {j: np.sort(time[neuron == j]) for j in np.unique(neuron) if j >= 256}


def test_follower_spike_times_do_not_depend_on_the_step():
    """The followers spike only from routed pulses: with exact delivery their spike times at dt and
    dt/2 agree within 1 us (issue 19); with step-start delivery the pulses move by up to dt."""
    shifts = {}
    for delivery in ("exact", "step"):
        (_, n1, t1), (_, n2, t2) = (_chain(DT / f, delivery) for f in (1, 2))
        a, b = _follower_times(n1, t1), _follower_times(n2, t2)
        assert a and a.keys() == b.keys()
        assert all(a[j].size == b[j].size for j in a)
        shifts[delivery] = np.concatenate([np.abs(a[j] - b[j]) for j in a])
    assert shifts["exact"].max() < 1e-6
    assert shifts["step"].max() > 5e-6


def test_exact_delivery_conserves_events_and_counts_no_late_pulse():
    sim, neuron, _ = _chain(DT, "exact")
    assert int(sim.emitted.sum()) == sim.router.delivered + sim.router.dropped + sim.router.in_flight
    assert sim.emitted.sum() == np.count_nonzero(neuron < 256)
    assert sim.event_times.late.sum() == 0 and sim.event_times.clamped.sum() == 0
    assert sim.event_times.lookahead == lookahead(sim.router.levels) > 0


def test_exact_delivery_is_refused_with_the_fast_integrator():
    with pytest.raises(ConfigError) as info:
        Experiment(integrator="fast", delivery="exact").check()
    assert any(p.key == "delivery" for p in info.value.problems)
    exp = Experiment(integrator="exact", delivery="exact", chip="dynapse1", noise=False,
                     network={"populations": {"a": {"size": 2}}})
    with pytest.raises(ConfigError) as info:
        Simulation(exp)
    assert any(p.key == "delivery" for p in info.value.problems)


def test_exact_delivery_round_trips_through_the_recorded_toml():
    import tomllib

    from mixsig.experiment import experiment_from_dict

    exp = Experiment(integrator="exact", delivery="exact", noise=False)
    again = experiment_from_dict(tomllib.loads(exp.to_toml()), source=exp.source, text=exp.text)
    assert (again.integrator, again.delivery) == ("exact", "exact")


def test_command_line_selects_the_delivery(tmp_path):
    from mixsig.cli import main
    from mixsig.io import open_dataset

    out = tmp_path / "out.nc"
    assert main(["run", "--integrator", "exact", "--delivery", "exact", "--duration", "0.01", "--instances", "1",
                 "-o", str(out)]) == 0
    with open_dataset(out) as ds:
        assert ds.attrs["delivery"] == "exact" and ds.attrs["integrator"] == "exact"
    assert main(["run", "--integrator", "fast", "--delivery", "exact", "--duration", "0.01", "-o", str(out)]) == 2


def _driven(dt, delivery, inputs, size=4, duration=0.1, device_model="none", instances=1):
    """A population of ``size`` neurons on core 0 driven only by the input group ``inputs`` (all to all, AMPA)."""
    exp = Experiment(
        duration=duration, dt=dt, seed=3, chip="dynapse2", noise=False, integrator="exact", delivery=delivery,
        device_model=device_model, instances=instances,
        network={"populations": {"b": {"size": size, "core": [0]}}, "inputs": {"drive": inputs},
                 "connections": [{"pre": "drive", "post": "b", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 15}]},
        record=Record(traces=(), neurons=(), router=False), source="test driven",
    )
    return Simulation(exp)


def _regular_drive(duration):
    """Eight channels of one regular 97 Hz train starting off the step grid (0.3212 ms)."""
    from mixsig.engine.stimuli import regular_times

    times = regular_times(97.0, duration, phase=3.212e-4).tolist()
    return {"size": 8, "kind": "spike_array", "spike_times": [times] * 8}


@pytest.mark.parametrize("device_model", ["none", "generic_180nm"])
def test_input_spike_trains_start_at_their_times(device_model):
    """A regular input train off the step grid: with exact delivery the postsynaptic spike times at
    dt and dt/2 agree within 0.5 us (the pulses start at the spike times exactly; what remains is
    the soma's coupling to the DPI current averaged over each piece between onsets, O(dt): 0.06 to
    0.2 us measured here); with step-start delivery every pulse moves to the step's start (up to dt)."""
    shifts = {}
    for delivery in ("exact", "step"):
        runs = []
        for dt in (DT, DT / 2):
            sim = _driven(dt, delivery, _regular_drive(0.1), device_model=device_model)
            sim.advance(0.1)
            _, neuron, time = sim.spikes()
            runs.append(time[np.lexsort((time, neuron))])
        assert runs[0].size == runs[1].size > 8
        shifts[delivery] = np.abs(runs[0] - runs[1])
    assert shifts["exact"].max() < 5e-7
    assert shifts["step"].max() > 1e-5


def test_poisson_input_pulses_start_at_the_input_spike_times(monkeypatch):
    """The pulses of a Poisson input start at its spike times (not on the step grid), which are the
    same continuous times at dt and dt/2 and form a Poisson train of the channel's rate."""
    from scipy import stats

    from mixsig.engine import onsets

    rate, duration = 400.0, 0.5
    starts = {}
    for dt in (DT, DT / 2):
        sim = _driven(dt, "exact", {"size": 1, "kind": "poisson", "rate": rate}, size=2, duration=duration)
        seen = []

        def spy(targets, ptr, kind, onset, current, *rest, _seen=seen, _sim=sim):
            t0 = _sim.step_index_running * _sim.experiment.dt
            for t, j in enumerate(targets):
                _seen.extend((int(j), t0 + x) for x in onset[ptr[t]:ptr[t + 1]])
            return onsets.advance_with_onsets(targets, ptr, kind, onset, current, *rest)

        original = sim.event_times.rounds

        def rounds(n, saved, z, _sim=sim, _original=original):
            _sim.step_index_running = n
            return _original(n, saved, z)

        monkeypatch.setattr(sim, "kernel", dataclasses.replace(sim.kernel, advance_onsets=spy))
        monkeypatch.setattr(sim.event_times, "rounds", rounds)
        sim.advance(duration)
        starts[dt] = {j: np.array(sorted(t for k, t in seen if k == j)) for j in (0, 1)}
    a, b = starts[DT], starts[DT / 2]
    np.testing.assert_allclose(a[0], a[1], rtol=0, atol=1e-15)  # one channel drives both neurons
    np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-12)
    train = a[0]
    assert abs(train.size - rate * duration) < 5 * np.sqrt(rate * duration)
    phase = np.abs(train / DT - np.round(train / DT))
    assert np.count_nonzero(phase < 1e-6) == 0
    assert stats.kstest(np.diff(train), "expon", args=(0, 1 / rate)).pvalue > 1e-3


def test_exact_input_onsets_do_not_depend_on_chunks_or_instance_batches():
    """Poisson-driven neurons with exact delivery, across a stimulus block boundary (1 s): a run
    advanced in two chunks, and each instance run alone, give the same spikes as one run."""
    def run(instances=None, chunks=(1.05,)):
        exp = _driven(DT, "exact", {"size": 4, "kind": "poisson", "rate": 300.0}, size=3, duration=1.05,
                      device_model="generic_180nm", instances=2).experiment
        sim = Simulation(exp, instances=instances)
        for chunk in chunks:
            sim.advance(chunk)
        return set(zip(*(a.tolist() for a in sim.spikes())))

    together = run()
    assert len(together) > 20 and {s[0] for s in together} == {0, 1}
    assert run(chunks=(0.6, 0.45)) == together
    for i in (0, 1):
        assert run(instances=[i]) == {s for s in together if s[0] == i}
