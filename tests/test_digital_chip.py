"""The digital reference chip in the engine: bit-exact against the circuit, deterministic, refusals."""

import pathlib

import numpy as np
import pytest

from mixsig.chip import load_chip
from mixsig.circuits import digital_lif
from mixsig.cli import main
from mixsig.engine.simulation import run
from mixsig.errors import ConfigError
from mixsig.experiment import experiment_from_dict

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples" / "digital_lif.toml"
DT = 1e-3


def one_neuron(train, weight_mask=37, syn_type="ampa", **top):
    data = {"duration": 0.3, "dt": DT, "instances": 1, "seed": 0, "chip": "digital_lif", "device_model": "none",
            "populations": {"one": {"size": 1, "core": 0}},
            "inputs": {"train": {"size": 1, "kind": "spike_array", "spike_times": [list(train)]}},
            "connections": [{"pre": "train", "post": "one", "rule": "all_to_all", "syn_type": syn_type,
                             "weight_mask": weight_mask}]}
    data.update(top)
    return experiment_from_dict(data, "<digital test>")


def circuit_spike_steps(counts, weight, steps):
    """The circuit's own step, driven with ``weight * count`` per step (chip defaults at dt = 1 ms)."""
    d_u, d_v = (int(digital_lif.decay_register(tau, DT, 12)) for tau in (5e-3, 20e-3))
    params = digital_lif.DigitalLIFParams(d_u=d_u, d_v=d_v, v_th=256)
    state, fired = digital_lif.initial_state((1,)), []
    for n in range(steps):
        state, spiked = digital_lif.step(state, weight * counts[n], params)
        if spiked[0]:
            fired.append(n)
    return fired


def test_engine_is_bit_exact_against_the_circuit():
    rng = np.random.default_rng(4)
    steps = 300
    chosen = np.sort(rng.choice(steps - 1, 120, replace=False))
    ds = run(one_neuron(chosen * DT), progress=False)
    counts = np.bincount(chosen, minlength=steps)
    expected = circuit_spike_steps(counts, 37, steps)
    assert len(expected) > 3
    np.testing.assert_array_equal(np.rint(ds["spike_time"].values / DT).astype(int), expected)


def test_inhibitory_types_subtract():
    train = np.arange(0, 290) * DT
    assert run(one_neuron(train, syn_type="ampa"), progress=False)["spike_time"].size > 0
    assert run(one_neuron(train, syn_type="gaba"), progress=False)["spike_time"].size == 0


def test_example_runs_with_the_cli_and_is_deterministic(tmp_path):
    out = [tmp_path / f"d{k}.nc" for k in range(2)]
    for path in out:
        assert main(["run", str(EXAMPLE), "-o", str(path)]) == 0
    import xarray as xr

    a, b = (xr.open_dataset(p) for p in out)
    assert "mixsig-1" in a.attrs["Conventions"] and a["spike_time"].size > 100
    np.testing.assert_array_equal(a["spike_time"].values, b["spike_time"].values)


def test_device_model_and_traces_are_refused():
    with pytest.raises(ConfigError, match="no analog devices"):
        run(one_neuron([0.0], device_model="generic_180nm"), progress=False)
    with pytest.raises(ConfigError, match="record.traces"):
        run(one_neuron([0.0], record={"traces": ["v_mem"], "neurons": [0], "interval": DT}), progress=False)


def test_bad_registers_are_refused(tmp_path):
    exp = one_neuron([0.0], biases=[{"lif.state_bits": 60.0}])
    with pytest.raises(ConfigError, match="state_bits"):
        run(exp, progress=False)


def test_chip_has_no_dpi_biases():
    chip = load_chip("digital_lif")
    assert chip.neuron_model == "digital_lif"
    assert not any(name.split(".")[0] in ("ampa", "nmda", "gaba", "shunt") for name in chip.biases)


def pcm_experiment(t_since_program, seed=3, instances=2):
    return experiment_from_dict({
        "duration": 0.01, "dt": DT, "instances": instances, "seed": seed, "chip": "pcm_lif", "device_model": "none",
        "t_since_program": t_since_program, "populations": {"p": {"size": 16, "core": 0}},
        "inputs": {"x": {"size": 16, "kind": "poisson", "rate": 1.0}},
        "connections": [{"pre": "x", "post": "p", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 40}]},
        "<pcm test>")


def test_crossbar_weights_are_programmed_pairs_that_drift():
    from mixsig.engine.simulation import Simulation

    fresh, later = Simulation(pcm_experiment(0.0)).weight, Simulation(pcm_experiment(3.15e7)).weight
    nominal = 40 * 75e-9
    assert abs(np.mean(fresh) / nominal - 1) < 0.05  # programming noise ~1 uS on 15 uS, averaged over 512 pairs
    assert 0.03 < np.std(fresh) / nominal < 0.2
    assert not np.array_equal(fresh[0], fresh[1])  # instances are independently programmed arrays
    assert 0.45 < np.mean(later) / np.mean(fresh) < 0.55  # G halves in a year (nu ~ 0.05)
    one = Simulation(pcm_experiment(0.0, instances=1)).weight
    np.testing.assert_array_equal(one[0], fresh[0])  # instance 0 is the same chip whatever the others


@pytest.mark.parametrize("integrator", ["fast", "exact"])
def test_summary_names_the_kernel_that_ran(integrator):
    from mixsig.summary import summarize

    ds = run(one_neuron([0.01], duration=0.02, integrator=integrator))
    assert ds.attrs["kernel"] == "digital_lif" and ds.attrs["integrator"] == integrator
    header = summarize(ds).splitlines()[0]
    assert header.endswith("kernel digital_lif") and "fast" not in header and "exact" not in header
