"""The simulation engine: determinism, batching, chunking, fidelity to the circuits, conservation."""

import dataclasses

import netCDF4
import numpy as np
import pytest
import xarray as xr

from mixsig.chip import load_chip
from mixsig.circuits import soma, synapses
from mixsig.circuits.dpi import DPIParams
from mixsig.cli import main
from mixsig.engine.simulation import Simulation, run
from mixsig.engine.single_neuron import SingleNeuronJob, simulate
from mixsig.engine.stimuli import bin_times, poisson_times
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, Record, experiment_from_dict
from mixsig.io import combine, open_dataset, to_netcdf

PER_FILE = ("creation_time", "history")

NETWORK = {
    "populations": {"a": {"size": 20, "core": 0}, "b": {"size": 8, "core": 1}},
    "inputs": {"in": {"size": 16, "kind": "poisson", "rate": 60.0}},
    "connections": [
        {"pre": "in", "post": "a", "rule": "probability", "p": 0.4, "syn_type": "ampa", "weight_mask": 8},
        {"pre": "a", "post": "b", "rule": "probability", "p": 0.3, "syn_type": "ampa", "weight_mask": 4},
        {"pre": "a", "post": "a", "rule": "probability", "p": 0.1, "syn_type": "nmda", "weight_mask": 4},
        {"pre": "b", "post": "a", "rule": "probability", "p": 0.5, "syn_type": "gaba", "weight_mask": 4},
    ],
}
WEIGHTS = ((None, "synapse.i_w_2", 50e-9), (None, "synapse.i_w_3", 100e-9))
EXPERIMENT = Experiment(
    duration=0.15, instances=3, seed=11, biases=WEIGHTS, network=NETWORK,
    record=Record(traces=("i_mem", "v_mem", "i_gaba"), neurons=(0, 3, 256), interval=1e-3),
)


def _strip(ds):
    out = ds.copy()
    for key in PER_FILE:
        out.attrs.pop(key, None)
    return out


def _assert_same(a, b):
    xr.testing.assert_identical(_strip(a), _strip(b))


@pytest.fixture(scope="module")
def whole():
    return run(EXPERIMENT)


def test_the_network_is_active_and_mismatched(whole):
    counts = whole["spike_count"].values
    assert counts[:, :20].sum() > 100 and counts[:, 20:].sum() > 50
    # Mismatch: instances differ in their sampled parameters and in their activity.
    i_tau = whole["soma__i_tau"].values
    assert np.all(np.std(i_tau, axis=0) > 0)
    assert not np.array_equal(counts[0], counts[1])


def test_same_experiment_and_seed_give_identical_datasets(whole):
    _assert_same(whole, run(EXPERIMENT))
    other = run(EXPERIMENT.replace(seed=12))
    assert not np.array_equal(other["spike_count"].values, whole["spike_count"].values)


def test_instances_run_separately_equal_the_batch(whole):
    first = run(EXPERIMENT, instances=[0, 2])
    second = run(EXPERIMENT, instances=[1])
    _assert_same(whole, combine([first, second]))


def test_chunked_run_equals_one_run(whole):
    simulation = Simulation(EXPERIMENT)
    for piece in (0.0437, 0.05, 0.0563):  # uneven chunks, crossing drift updates mid-way
        simulation.advance(piece)
    _assert_same(whole, simulation.dataset())


def test_events_are_conserved_and_stored(whole):
    emitted = whole["router__emitted"].values
    total = whole["router__delivered"] + whole["router__dropped"] + whole["router__in_flight"]
    np.testing.assert_array_equal(emitted, total.values)
    # Every spike of a neuron with SRAM destinations is one event per destination chip entry.
    assert emitted.sum() == whole["spike_count"].values.sum()


def test_drop_policy_loses_events_and_conservation_still_holds(tmp_path):
    # A slow core encoder with a 1-event FIFO that drops: spikes close in time overflow it.
    chip_file = tmp_path / "slow.toml"
    chip_file.write_text(_slow_core(load_chip("dynapse2").toml_text))
    experiment = EXPERIMENT.replace(chip=str(chip_file), instances=2, duration=0.1)
    ds = run(experiment)
    dropped = ds["router__dropped"].values
    assert dropped.sum() > 0
    total = ds["router__delivered"] + ds["router__dropped"] + ds["router__in_flight"]
    np.testing.assert_array_equal(ds["router__emitted"].values, total.values)
    assert ds["router__link_dropped"].values.sum() == dropped.sum()


@pytest.mark.parametrize("slow", [False, True])
def test_compiled_routing_equals_the_python_router_path(whole, slow, tmp_path):
    # The compiled step loop records and routes spikes itself; the Python path (Router.feed after
    # each step with a spike) must give the same dataset, router statistics included. The slow
    # core keeps events in flight across steps and drops some.
    experiment = EXPERIMENT
    if slow:
        chip_file = tmp_path / "slow.toml"
        chip_file.write_text(_slow_core(load_chip("dynapse2").toml_text))
        experiment = EXPERIMENT.replace(chip=str(chip_file), instances=2, duration=0.1)
    python = Simulation(experiment)
    python.compiled_routing = False
    python.advance(experiment.duration)
    compiled = whole if not slow else run(experiment)
    _assert_same(compiled, python.dataset())
    if slow:
        assert compiled["router__dropped"].values.sum() > 0


def _slow_core(text):
    lines, out, section = text.splitlines(), [], None
    for line in lines:
        if line.startswith("["):
            section = line.split("]")[0] + "]"
        if section == "[router.core]" and line.startswith("service_time"):
            line = "service_time = 2.0e-4"
        elif section == "[router.core]" and line.startswith("fifo_depth"):
            line = "fifo_depth = 1"
        elif section == "[router.core]" and line.startswith("policy"):
            line = 'policy = "drop"'
        out.append(line)
    return "\n".join(out) + "\n"


def _one_neuron_experiment(times):
    network = {
        "populations": {"n": {"size": 1, "core": 0}},
        "inputs": {"in": {"size": 1, "kind": "spike_array", "spike_times": [times.tolist()]}},
        "connections": [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8}],
    }
    return Experiment(duration=1.0, device_model="none", noise=False, biases=WEIGHTS, network=network,
                      record=Record(router=False, parameters=False), integrator="exact")


def _chip_params(chip, core=0):
    biases = {name: float(values[core]) for name, values in chip.biases.items()}
    pick = lambda block, cls: {f.name: biases[f"{block}.{f.name}"] for f in dataclasses.fields(cls)
                               if f"{block}.{f.name}" in biases}
    syn = synapses.SynapseParams(**{b: DPIParams(**pick(b, DPIParams)) for b in ("ampa", "nmda", "gaba", "shunt")},
                                 i_nmda_thr=biases["nmda.i_nmda_thr"])
    return syn, soma.SomaParams(**pick("soma", soma.SomaParams))


def test_nominal_noise_free_instance_reproduces_the_circuits():
    times = poisson_times(300.0, 1.0, np.random.default_rng(3))
    experiment = _one_neuron_experiment(times)
    ds = run(experiment)
    got = ds["spike_time"].values
    assert got.size > 20
    # Reference: the circuits' public step functions, wired by hand (no chip, no router).
    chip = Simulation(experiment).chip
    syn_params, soma_params = _chip_params(chip)
    i_w = 100e-9
    n_steps = int(round(experiment.duration / experiment.dt))
    arrivals = bin_times(times, experiment.dt, n_steps)
    shape = (1, 1)
    syn_state, soma_state = synapses.initial_state(syn_params, shape), soma.initial_state(soma_params, shape)
    expected = []
    for n in range(n_steps):
        weights = np.zeros((4,) + shape)
        weights[0] = arrivals[n] * i_w
        syn_state, out = synapses.step(syn_state, weights, soma_state.i_mem, syn_params, experiment.dt)
        soma_state, fired = soma.step(soma_state, out.i_syn_net, out.i_shunt, soma_params, experiment.dt)
        if fired.spiked[0, 0]:
            expected.append(n * experiment.dt + fired.spike_offset[0, 0])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # The single-neuron job (the circuit issue's reference job) with the same parameters.
    job = SingleNeuronJob(duration=1.0, i_w=i_w, synapse=syn_params, neuron=soma_params)
    np.testing.assert_array_equal(simulate(job, [times])[0][0], got)
    # The fast integrator integrates the same equations: the same spikes, whose times drift apart by
    # the scheme's error per interval (about 1e-4 of each ISI at dt = 100 us), under 0.1 % after 1 s.
    fast = run(experiment.replace(integrator="fast"))["spike_time"].values
    np.testing.assert_allclose(fast, got, rtol=1e-3, atol=0)


def test_dc_step_drives_only_its_population_during_its_window():
    experiment = experiment_from_dict({
        "duration": 0.3, "device_model": "none", "noise": False,
        "populations": {"on": {"size": 4, "core": 0}, "off": {"size": 4, "core": 1}},
        "dc": [{"population": "on", "amplitude": 2e-9, "start": 0.1, "stop": 0.2}],
    })
    ds = run(experiment)
    times, neurons = ds["spike_time"].values, ds["spike_neuron"].values
    assert times.size > 10
    assert set(neurons) <= set(range(4))
    assert times.min() >= 0.1
    # After the step the membrane may finish one spike it had started (positive feedback), then is silent.
    late = times >= 0.2
    assert np.bincount(neurons[late], minlength=4).max() <= 1 and times.max() < 0.25


def test_netcdf_round_trip_is_exact_and_readable(whole, tmp_path):
    path = tmp_path / "run.nc"
    to_netcdf(whole, path)
    with open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), whole)
    with netCDF4.Dataset(path) as raw:
        assert raw.variables["spike_time"].units == "s"
        assert raw.variables["i_mem"].units == "A"
        assert raw.getncattr("Conventions") == "CF-1.8 mixsig-1"


def test_bad_experiment_lists_every_problem():
    with pytest.raises(ConfigError) as error:
        experiment_from_dict({
            "duration": -1.0, "colour": "red",
            "populations": {"a": {"size": 4, "core": 0}},
            "connections": [{"pre": "nobody", "post": "a", "weight_mask": 1}],
            "record": {"traces": ["i_nothing"], "neurons": [0]},
        }, source="bad.toml")
    message = str(error.value)
    for fragment in ("colour", "duration", "nobody", "i_nothing"):
        assert fragment in message
    assert "bad.toml" in message


def test_cli_runs_an_experiment_file_and_exits_2_on_errors(tmp_path, capsys):
    experiment = tmp_path / "exp.toml"
    experiment.write_text(
        'duration = 0.05\ndevice_model = "none"\n[populations.p]\nsize = 2\ncore = 0\n'
        '[[dc]]\npopulation = "p"\namplitude = 2e-9\n'
    )
    out = tmp_path / "out.nc"
    assert main(["run", str(experiment), "-o", str(out), "--instances", "2"]) == 0
    printed = capsys.readouterr().out
    assert "mean rate" in printed and str(out) in printed
    with open_dataset(out) as ds:
        assert ds.sizes["instance"] == 2 and ds.sizes["spike"] > 0
    assert main(["inspect", str(out)]) == 0
    experiment.write_text("duration = 'long'\n")
    assert main(["run", str(experiment), "-o", str(out)]) == 2
    assert "duration" in capsys.readouterr().err


def test_flicker_noise_is_applied_and_keeps_instances_independent(tmp_path):
    from mixsig.device import load_device_model

    model = load_device_model("fdsoi_22nm")
    assert model.noise.flicker and model.noise.shot
    experiment = EXPERIMENT.replace(device_model="fdsoi_22nm", duration=0.08, instances=2)
    both = run(experiment)
    _assert_same(both, combine([run(experiment, instances=[0]), run(experiment, instances=[1])]))
    no_flicker = tmp_path / "no_flicker.toml"
    no_flicker.write_text(model.text.replace("flicker = true", "flicker = false", 1))
    without = run(experiment.replace(device_model=str(no_flicker)))
    # Same mismatch and shot-noise streams; only the flicker term differs.
    np.testing.assert_array_equal(without["soma__i_tau"].values, both["soma__i_tau"].values)
    assert not np.array_equal(without["spike_time"].values, both["spike_time"].values)
