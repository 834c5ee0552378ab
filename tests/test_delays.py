"""Delay synapses (mixsig.circuits.delay): per-synapse delays with mismatch, pulses at arrival + delay."""

import dataclasses

import numpy as np
import pytest

from mixsig.chip import load_chip
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import DCStep, Experiment, Record

DT = 1e-4


def _chain(delay="", delivery="exact", device_model="none", instances=1, seed=5, duration=0.05, extra=()):
    """Eight DC-driven neurons on core 0 exciting eight on core 1 through ``delay`` synapses."""
    connection = {"pre": "a", "post": "b", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 6}
    if delay:
        connection["delay"] = delay
    return Experiment(
        duration=duration, dt=DT, seed=seed, chip="dynapse2", noise=False, device_model=device_model,
        instances=instances, integrator="exact", delivery=delivery,
        network={"populations": {"a": {"size": 8, "core": [0]}, "b": {"size": 8, "core": [1]}},
                 "connections": [connection, *extra]},
        dc=(DCStep(1e-9, population="a"),), record=Record(traces=(), neurons=(), router=True), source="test chain",
    )


def _run(exp):
    sim = Simulation(exp)
    sim.advance(exp.duration)
    _, neuron, time = sim.spikes()
    return sim, neuron, time


def test_shipped_delay_circuits_are_placeholders():
    chip = load_chip("dynapse2")
    assert set(chip.delays) == {"precise", "mismatched"}
    assert all(circuit.placeholder for circuit in chip.delays.values())
    assert chip.delays["precise"].sigma < chip.delays["mismatched"].sigma
    assert dict(load_chip("dynapse1").delays) == {}


def test_nominal_delay_shifts_the_followers_by_the_delay():
    """Nominal devices: every pulse to the followers starts ``delay`` later, and the followers (at
    rest until their first pulse) spike exactly ``delay`` later; the leaders are unchanged."""
    delay = load_chip("dynapse2").delays["precise"].delay
    _, n0, t0 = _run(_chain())
    sim, n1, t1 = _run(_chain("precise", duration=0.05 + delay))
    np.testing.assert_allclose(sim.delays[sim.delays > 0], delay, rtol=1e-15)
    lead0, lead1 = np.sort(t0[n0 < 256]), np.sort(t1[n1 < 256])
    np.testing.assert_array_equal(lead1[:lead0.size], lead0)
    for j in np.unique(n0[n0 >= 256]):
        a, b = np.sort(t0[n0 == j]), np.sort(t1[n1 == j])
        assert a.size and b.size >= a.size
        np.testing.assert_allclose(b[:a.size] - a, delay, atol=1e-9)
    assert sim.event_times.late.sum() == 0


def test_delay_mismatch_is_lognormal_and_per_instance():
    exp = _chain("mismatched", device_model="generic_180nm", instances=3)
    sim = Simulation(exp)
    circuit = sim.chip.delays["mismatched"]
    rows = sim.compiled.cam_connection == 0
    log = np.log(sim.delays[:, rows] / circuit.delay).ravel()
    n = log.size  # 3 instances x 64 synapses: 5 standard errors of the mean and of the std
    assert abs(log.mean()) < 5 * circuit.sigma / np.sqrt(n)
    assert log.std(ddof=1) == pytest.approx(circuit.sigma, abs=5 * circuit.sigma / np.sqrt(2 * (n - 1)))
    alone = Simulation(exp, instances=[2])
    np.testing.assert_array_equal(alone.delays[0], sim.delays[2])
    nominal = Simulation(dataclasses.replace(exp, mismatch_scale=0.0))
    np.testing.assert_array_equal(nominal.delays[:, rows], circuit.delay)


@pytest.mark.parametrize("exp, key", [
    (_chain("precise", delivery="step"), "delivery"),
    (_chain("nowhere"), "connections[0].delay"),
])
def test_delay_synapses_are_refused_where_they_cannot_work(exp, key):
    with pytest.raises(ConfigError) as info:
        Simulation(exp)
    assert any(p.key == key for p in info.value.problems)


def test_exact_delivery_does_not_depend_on_chunks_or_instance_batches():
    """Rounds are global over the instances run together and restart at every advance; with no
    pulse resolved out of time order (late = clamped = 0) the results do not depend on either."""
    exp = _chain("mismatched", device_model="generic_180nm", instances=2, duration=0.04)
    together, _, _ = _run(exp)
    assert together.event_times.late.sum() == 0 and together.event_times.clamped.sum() == 0
    chunked = Simulation(exp)
    chunked.advance(0.013)
    chunked.advance(0.027)
    for one in (chunked, *(Simulation(exp, instances=[i]) for i in (0, 1))):
        if one is not chunked:
            one.advance(exp.duration)
        mine = set(zip(*(a.tolist() for a in one.spikes())))
        theirs = set(zip(*(a.tolist() for a in together.spikes())))
        assert mine == {s for s in theirs if s[0] in set(one.instances.tolist())}


def test_depression_is_applied_at_the_delayed_onset(monkeypatch):
    """Short-term depression of the followers' AMPA pools with mismatched delay synapses: each pool
    takes its pulses in onset order (arrival + the synapse's drawn delay), recovering between onsets;
    hand computation of the Tsodyks-Markram recursion from the router's arrival times and the delays."""
    exp = dataclasses.replace(_chain("mismatched", device_model="generic_180nm", duration=0.1),
                              biases=((None, "stp.enable_ampa", 1.0),))
    sim = Simulation(exp)
    arrivals = []
    feed = sim._feed

    def spy(fired, times, until):
        keys, owner, arrival = feed(fired, times, until)
        arrivals.append((keys, owner, arrival))
        return keys, owner, arrival

    monkeypatch.setattr(sim, "_feed", spy)
    sim.advance(exp.duration)
    keys, owner, arrival = (np.concatenate(column) for column in zip(*arrivals))
    assert keys.size > 16 and np.all(owner == 0)
    cam_ptr, cam_local = sim.compiled.cam_ptr, sim.cam_local
    onsets, arrived = {}, {}
    for key, a in zip(keys, arrival):
        for row in range(cam_ptr[key], cam_ptr[key + 1]):
            if cam_local[row] >= 0:
                onsets.setdefault(cam_local[row], []).append(a + sim.delays[0, row])
                arrived.setdefault(cam_local[row], []).append(a)
    tau, u = sim.stp_par[0, 0, 0], sim.stp_par[1, 0, 0]
    reordered = 0
    for j, times in onsets.items():
        order = np.argsort(times, kind="stable")
        reordered += int(np.any(np.argsort(arrived[j], kind="stable") != order))
        x, last = 1.0, 0.0
        for t in np.asarray(times)[order]:
            if t >= exp.duration:
                break
            x = 1.0 + (x - 1.0) * np.exp(-(t - last) / tau)
            x, last = x - u * x, t
        assert sim.stp_state[0, 0, j] == pytest.approx(x, rel=1e-12)
        assert sim.stp_state[1, 0, j] == pytest.approx(last, rel=1e-15)
    assert reordered > 0  # the delays changed the order of some pulses: depression at arrival would differ


def test_delay_on_an_input_connection_shifts_its_pulses_and_followers():
    """Input spikes pass their connection's delay synapses like routed events: with nominal devices
    every follower of a regular input train spikes exactly ``delay`` later (to 1 ns)."""
    delay = load_chip("dynapse2").delays["precise"].delay
    times = (np.arange(9) * 0.01 + 3.212e-4).tolist()
    runs = []
    for name in ("", "precise"):
        connection = {"pre": "drive", "post": "b", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 15}
        if name:
            connection["delay"] = name
        exp = dataclasses.replace(_chain(), duration=0.1, dc=(), network={
            "populations": {"b": {"size": 4, "core": [0]}},
            "inputs": {"drive": {"size": 8, "kind": "spike_array", "spike_times": [times] * 8}},
            "connections": [connection]})
        runs.append(_run(exp))
    (_, n0, t0), (sim, n1, t1) = runs
    assert sim.delays.max() == delay and t0.size > 4
    for j in np.unique(n0):
        a, b = np.sort(t0[n0 == j]), np.sort(t1[n1 == j])
        assert b.size >= a.size - 1
        np.testing.assert_allclose(b[:a.size - 1] - a[:a.size - 1], delay, atol=1e-9)


def test_delays_and_out_of_order_counts_round_trip_through_the_dataset(tmp_path):
    """The drawn delays (per instance and delay synapse, s) with their synapses' descriptors, and the
    per-instance out-of-order counters of exact delivery, survive netCDF and the combination of
    per-instance shards."""
    from mixsig.io import combine, open_dataset, to_netcdf

    exp = _chain("mismatched", device_model="generic_180nm", instances=2, duration=0.02)
    together, _, _ = _run(exp)
    to_netcdf(together.dataset(), tmp_path / "all.nc")
    shards = []
    for i in (0, 1):
        one = Simulation(exp, instances=[i])
        one.advance(exp.duration)
        to_netcdf(one.dataset(), tmp_path / f"shard{i}.nc")
        shards.append(tmp_path / f"shard{i}.nc")
    rows = np.flatnonzero(together.cam_local >= 0)
    with open_dataset(tmp_path / "all.nc") as ds:
        delay = ds["router__synapse_delay"]
        assert delay.dims == ("instance", "delay_synapse") and delay.attrs["units"] == "s" and delay.attrs["long_name"]
        np.testing.assert_array_equal(delay.values, together.delays[:, rows])
        np.testing.assert_array_equal(ds["router__delay_synapse_neuron"].values, together.compiled.cam_neuron[rows])
        np.testing.assert_array_equal(ds["router__delay_synapse_source"].values, together.compiled.cam_source[rows])
        assert np.all(ds["router__delay_synapse_nominal"].values == together.chip.delays["mismatched"].delay)
        for name in ("router__exact_late", "router__exact_clamped"):
            assert ds[name].dims == ("instance",) and ds[name].attrs["units"] == "1"
            np.testing.assert_array_equal(ds[name].values, 0)
        combined = combine(shards)
        for name in ("router__synapse_delay", "router__delay_synapse_neuron", "router__exact_late"):
            np.testing.assert_array_equal(combined[name].values, ds[name].values)
