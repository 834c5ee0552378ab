"""Experiment files: loading, validation, input kinds, biases and the temperature profile."""

import dataclasses

import numpy as np
import pytest

from mixsig.aer.aedat import write_aedat
from mixsig.chip import load_chip
from mixsig.chip.operating_point import core_circuits
from mixsig.circuits import soma
from mixsig.constants import I_0, thermal_voltage
from mixsig.engine.simulation import run
from mixsig.errors import ConfigError
from mixsig.experiment import default_experiment, experiment_from_dict, load_experiment


def _inputs(kind_table, duration=0.5):
    return experiment_from_dict({
        "duration": duration,
        "populations": {"p": {"size": 2, "core": 0}},
        "inputs": {"x": kind_table},
        "connections": [{"pre": "x", "post": "p", "rule": "one_to_one", "syn_type": "ampa", "weight_mask": 8}],
    }, source=kind_table.get("source", "<test>"))


def test_default_experiment_loads_and_keeps_its_text():
    exp = default_experiment()
    assert exp.instances >= 2 and exp.text.startswith("# mixsig default experiment")
    network = exp.build_network()
    assert {"exc", "inh"} <= set(network.populations)


def test_regular_input_becomes_a_spike_array():
    exp = _inputs({"size": 2, "kind": "regular", "rate": 40.0, "phase": 0.01})
    group = exp.build_network().inputs["x"]
    expected = 0.01 + np.arange(20) / 40.0
    for channel in group.spike_times:
        np.testing.assert_allclose(channel, expected, rtol=0, atol=1e-12)


def test_aedat_input_is_read_relative_to_the_experiment_file(tmp_path):
    write_aedat(tmp_path / "in.aedat", np.array([0, 1, 0], dtype=np.uint32), np.array([1000, 2500, 7000]))
    path = tmp_path / "exp.toml"
    path.write_text(
        "duration = 0.5\n[populations.p]\nsize = 2\ncore = 0\n"
        '[inputs.x]\nsize = 2\nkind = "aedat"\nfile = "in.aedat"\n'
        '[[connections]]\npre = "x"\npost = "p"\nrule = "one_to_one"\nsyn_type = "ampa"\nweight_mask = 8\n'
    )
    group = load_experiment(path).build_network().inputs["x"]
    np.testing.assert_allclose(group.spike_times[0], [1e-3, 7e-3])
    np.testing.assert_allclose(group.spike_times[1], [2.5e-3])


def test_aedat_address_beyond_the_channels_is_an_error(tmp_path):
    write_aedat(tmp_path / "in.aedat", np.array([5], dtype=np.uint32), np.array([10]))
    with pytest.raises(ConfigError) as error:
        _inputs({"size": 2, "kind": "aedat", "file": str(tmp_path / "in.aedat")})
    assert "channel addresses below 2" in str(error.value)


def test_syntax_and_bias_errors_are_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("duration = \n")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_experiment(path)
    with pytest.raises(ConfigError) as error:
        experiment_from_dict({"biases": [{"core": -1, "i_dc": 1.0, "soma.i_tau": "fast"}],
                              "populations": {"p": {"size": 1}}})
    message = str(error.value)
    assert "biases[0].core" in message and "namespaced" in message and "a finite number in SI units" in message
    with pytest.raises(ConfigError, match="a bias of dynapse2"):
        run(experiment_from_dict({"biases": [{"soma.i_nothing": 1.0}], "populations": {"p": {"size": 1}}}))


def _dc_neuron(temperature):
    """One nominal neuron without feedback or adaptation under a 50 nA DC step (2x rheobase) from t = 0."""
    return experiment_from_dict({
        "duration": 0.05, "device_model": "none", "temperature": temperature,
        "biases": [{"soma.i_fb_0": 0.0, "soma.i_w_ahp": 0.0}],
        "populations": {"p": {"size": 1, "core": 0}},
        "dc": [{"population": "p", "amplitude": 50e-9}],
    })


@pytest.mark.parametrize("temperature", [300.0, 330.0])
def test_temperature_sets_the_thermal_voltage_of_the_circuits(temperature):
    # tau_mem = C U_T / (kappa I_tau) grows with T at fixed bias currents, and so does the first
    # interspike interval; the idle NMDA/GABA/SHUNT DPIs add pA-scale currents (a 1e-5 effect).
    spikes = run(_dc_neuron(temperature))["spike_time"].values
    nominal, _ = core_circuits(load_chip("dynapse2"))
    params = dataclasses.replace(nominal, i_fb_0=0.0, i_w_ahp=0.0, i_dc=0.0, u_t=thermal_voltage(temperature))
    expected = soma.interspike_interval(params, 50e-9 - I_0, i_shunt=I_0)
    assert spikes[0] == pytest.approx(expected, rel=1e-4)


def test_temperature_profile_moves_the_rate_during_the_run():
    cold = run(_dc_neuron(300.0).replace(duration=0.2))["spike_time"].values
    ramp = run(_dc_neuron([[0.0, 300.0], [0.1, 300.0], [0.2, 360.0]]).replace(duration=0.2))["spike_time"].values
    # Identical before the ramp starts; then the integration time (ISI - t_ref), proportional to
    # U_T, stretches towards 360/300 as the die heats up (parameters follow T every 10 ms).
    np.testing.assert_array_equal(ramp[ramp < 0.1], cold[cold < 0.1])
    n = min(ramp.size, cold.size) - 1
    stretch = (np.diff(ramp)[:n] - 1e-3) / (np.diff(cold)[:n] - 1e-3)
    late = ramp[1:n + 1] > 0.12
    assert np.all(np.diff(stretch[late]) > 0)
    assert 1.1 < stretch[-1] < 1.2
