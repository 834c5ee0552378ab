"""The engine's compiled kernels against a slow, obviously correct reference loop, on spike times.

The reference is written from the documented model only: a Python loop over steps that calls the
circuits' public vectorised step functions (:func:`mixsig.circuits.synapses.step`,
:func:`mixsig.circuits.soma.step`), a dense weight matrix built from the network's explicit pairs
and weight masks, input spikes binned by hand, and each spike delivered at the start of the first
step after ``t_spike + router delay`` (the uncongested path delay of the chip's router levels:
source core encoder, then chip router). No engine code (compiled network, CAM tables, delivery
kernels, router) is used by the reference.
"""

import dataclasses

import numpy as np
import pytest

from mixsig.chip import load_chip
from mixsig.circuits import soma, synapses
from mixsig.circuits.dpi import DPIParams
from mixsig.engine.simulation import Simulation, run
from mixsig.experiment import Experiment, Record

DT = 1e-4
TYPES = ("ampa", "nmda", "gaba", "shunt")
BIT_CURRENTS = (12.5e-9, 25e-9, 50e-9, 100e-9)
BIASES = tuple((None, f"synapse.i_w_{b}", value) for b, value in enumerate(BIT_CURRENTS))


def _pairs(rng, n_pre, n_post, p):
    return [(i, j) for i in range(n_pre) for j in range(n_post) if rng.random() < p]


def _network(seed):
    """Two populations on core 0 (all neurons share the nominal biases), explicit pairs only."""
    rng = np.random.default_rng(seed)
    n_in, n_a, n_b = 4, 10, 5
    # Input spikes well inside their steps (no binning ambiguity), ~150 Hz per channel.
    trains = []
    for _ in range(n_in):
        steps = np.sort(rng.choice(np.arange(20, 2900), size=45, replace=False))
        trains.append(((steps + rng.uniform(0.2, 0.8, steps.size)) * DT).tolist())
    connections = [
        ("in", "a", _pairs(rng, n_in, n_a, 0.6), "ampa", 8),
        ("a", "b", _pairs(rng, n_a, n_b, 0.5), "ampa", 6),
        ("a", "a", _pairs(rng, n_a, n_a, 0.2), "nmda", 4),
        ("b", "a", _pairs(rng, n_b, n_a, 0.6), "gaba", 12),
        ("b", "b", _pairs(rng, n_b, n_b, 0.3), "shunt", 1),
    ]
    tables = {
        "populations": {"a": {"size": n_a, "core": 0}, "b": {"size": n_b, "core": 0}},
        "inputs": {"in": {"size": n_in, "kind": "spike_array", "spike_times": trains}},
        "connections": [{"pre": pre, "post": post, "rule": "pairs", "pairs": pairs, "syn_type": kind,
                         "weight_mask": mask} for pre, post, pairs, kind, mask in connections],
    }
    return tables, trains, connections, {"a": 0, "b": n_a}, n_a + n_b


def _nominal_params(chip):
    biases = {name: float(values[0]) for name, values in chip.biases.items()}
    pick = lambda block, cls: {f.name: biases[f"{block}.{f.name}"] for f in dataclasses.fields(cls)
                               if f"{block}.{f.name}" in biases}
    syn = synapses.SynapseParams(**{b: DPIParams(**pick(b, DPIParams)) for b in TYPES},
                                 i_nmda_thr=biases["nmda.i_nmda_thr"])
    return syn, soma.SomaParams(**pick("soma", soma.SomaParams))


def _router_delay(chip):
    """Uncongested delay from a spike to its arrival at a core of the same chip, s."""
    core, board = chip.router["core"], chip.router["chip"]
    return core.service_time + core.latency + board.service_time + board.latency


def _delivery_step(arrival):
    """First step whose start comes after an arrival at ``arrival`` s (the engine's rule)."""
    m = int(np.floor(arrival / DT))
    while arrival >= (m + 1) * DT:
        m += 1
    while m > 0 and arrival < m * DT:
        m -= 1
    return m + 1


def reference_spikes(experiment, trains, connections, offsets, n, duration):
    """Spike (neuron, time) list of the network from the circuits' public step functions."""
    chip = load_chip("dynapse2")
    syn_params, soma_params = _nominal_params(chip)
    weights = np.zeros((4, n, len(trains) + n))  # (type, post, pre); inputs first, then neurons
    for pre, post, pairs, kind, mask in connections:
        current = sum(BIT_CURRENTS[b] for b in range(4) if (mask >> b) & 1)
        for i, j in pairs:
            column = i if pre == "in" else len(trains) + offsets[pre] + i
            weights[TYPES.index(kind), offsets[post] + j, column] += current
    n_steps = int(round(duration / DT))
    arrivals = np.zeros((n_steps + 2, len(trains) + n))  # pulses starting in each step, per source
    for channel, times in enumerate(trains):
        for t in times:
            arrivals[int(np.floor(t / DT)), channel] += 1
    delay = _router_delay(chip)
    shape = (1, n)
    syn_state, soma_state = synapses.initial_state(syn_params, shape), soma.initial_state(soma_params, shape)
    spikes = []
    for step in range(n_steps):
        i_w = np.einsum("kps,s->kp", weights, arrivals[step])[:, None, :]
        syn_state, out = synapses.step(syn_state, i_w, soma_state.i_mem, syn_params, DT)
        soma_state, fired = soma.step(soma_state, out.i_syn_net, out.i_shunt, soma_params, DT)
        for neuron in np.flatnonzero(fired.spiked[0]):
            t = step * DT + fired.spike_offset[0, neuron]
            spikes.append((neuron, t))
            arrivals[_delivery_step(t + delay), len(trains) + neuron] += 1
    return spikes


@pytest.mark.parametrize("seed", [1, 2])
def test_engine_spike_times_equal_the_reference_loop(seed):
    tables, trains, connections, offsets, n = _network(seed)
    experiment = Experiment(duration=0.3, dt=DT, device_model="none", noise=False, biases=BIASES, network=tables,
                            record=Record(router=False, parameters=False), integrator="exact")
    ds = run(experiment, progress=False)
    got = sorted(zip(ds["spike_neuron"].values.tolist(), ds["spike_time"].values.tolist()))
    expected = sorted(reference_spikes(experiment, trains, connections, offsets, n, experiment.duration))
    assert len(expected) > 60
    assert {neuron for neuron, _ in expected} >= set(range(offsets["b"], n))  # recurrent paths are exercised
    assert [neuron for neuron, _ in got] == [neuron for neuron, _ in expected]
    np.testing.assert_allclose([t for _, t in got], [t for _, t in expected], rtol=0, atol=1e-12)


def test_threads_and_multi_step_calls_do_not_change_results():
    """Threaded, multi-step compiled calls equal one Python-driven, single-threaded step at a time
    (mismatch, drift and shot noise on, recurrent routing active)."""
    tables, _, _, _, _ = _network(3)
    experiment = Experiment(duration=0.08, dt=DT, instances=3, seed=5, noise=True, biases=BIASES, network=tables,
                            record=Record(traces=("i_mem", "i_nmda"), neurons=(0, 12), interval=1e-3,
                                          router=True, parameters=False))
    results = []
    for parallel, per_call in ((False, 1), (True, None), (False, None)):
        simulation = Simulation(experiment)
        simulation.parallel = parallel
        if per_call is not None:
            simulation.max_steps_per_call = per_call
        simulation.advance(0.031, progress=False)
        simulation.advance(0.049, progress=False)
        results.append(simulation.dataset())
    assert results[0]["spike_count"].values.sum() > 50
    for other in results[1:]:
        for name in ("spike_time", "spike_neuron", "spike_instance", "i_mem", "i_nmda", "router__delivered"):
            np.testing.assert_array_equal(other[name].values, results[0][name].values)
