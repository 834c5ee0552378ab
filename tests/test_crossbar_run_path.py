"""Crossbar periphery in the run path: a run's weights are the array model's reads of the same arrays."""

import pathlib

import numpy as np
import pytest

from mixsig.chip import load_chip
from mixsig.circuits import crossbar
from mixsig.device import crossbar as devices
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import experiment_from_dict

SHIPPED = pathlib.Path(__file__).resolve().parents[1] / "chip_configs" / "pcm_lif.toml"
LSB = 75e-9  # A, one weight bit of pcm_lif


def chip_variant(tmp_path, **periphery):
    """pcm_lif with some ``[crossbar]`` periphery keys changed, as a chip config file."""
    lines = []
    for line in SHIPPED.read_text().splitlines():
        if line.split("=")[0].strip() in periphery:
            continue
        lines.append(line)
        if line.startswith("device_model"):
            lines += [f"{key} = {value!r}" for key, value in periphery.items()]
    path = tmp_path / "pcm_variant.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def experiment(chip="pcm_lif", t_since_program=86400.0, duration=0.01, rate=1.0, seed=5, cores=4):
    masks = [40, 63, 7, 21][:cores]
    return experiment_from_dict({
        "duration": duration, "dt": 1e-3, "instances": 2, "seed": seed, "chip": chip, "device_model": "none",
        "t_since_program": t_since_program,
        "populations": {f"p{k}": {"size": 8, "core": k} for k in range(4)},
        "inputs": {"x": {"size": 12, "kind": "poisson", "rate": rate}},
        "connections": [{"pre": "x", "post": f"p{k}", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": m}
                        for k, m in enumerate(masks)]}, "<crossbar run path>")


def array_model_weights(sim, instance):
    """Each synapse's current from the array model alone: program the core's array from the
    instance's crossbar streams, read it t_since_program later, and digitise one row at a time."""
    chip, compiled, exp = sim.chip, sim.compiled, sim.experiment
    synapses, model = chip.crossbar, chip.crossbar.model
    rows, columns = chip.cam_per_neuron, chip.neurons_per_core
    params = synapses.periphery
    out = np.full(compiled.cam_synapse.size, np.nan)
    for core in np.unique(compiled.cam_synapse // (rows * columns)):
        g_target = np.full((2, rows, columns), model.g_min)
        mine = np.flatnonzero(compiled.cam_synapse // (rows * columns) == core)
        neuron, slot = np.divmod(compiled.cam_synapse[mine] % (rows * columns), rows)
        level = np.rint(compiled.cam_weight[mine] / params.v_read / (model.g_max - model.g_min) * (model.levels - 1))
        g_target[0, slot, neuron] = model.g_min + level / (model.levels - 1) * (model.g_max - model.g_min)
        programming, reading = devices.array_generators(exp.seed, instance, 0, int(core))
        g = devices.read_conductances(devices.program(g_target, model, programming), exp.t_since_program, model, reading)
        if params.r_wire > 0:  # row s alone at v_read (sample s), every column (G+ and G- interleaved) sensed
            both = np.stack([g[0], g[1]], axis=-1).reshape(rows, -1)
            current = crossbar.nodal_read(both, params.v_read * np.eye(rows), params.r_wire)
            out[mine] = current[slot, 2 * neuron] - current[slot, 2 * neuron + 1]
        else:
            out[mine] = params.v_read * (g[0, slot, neuron] - g[1, slot, neuron])
    steps = 2 ** (params.adc_bits - 1) - 1  # signed ADC over the chip's largest weight current (63 LSB)
    return np.maximum(np.clip(np.rint(out / (63 * LSB) * steps), -steps, steps) * 63 * LSB / steps, 0.0)


def test_run_weights_are_the_array_models_digitised_reads():
    sim = Simulation(experiment())
    assert sim.chip.crossbar.periphery.adc_bits == 7 and sim.chip.crossbar.i_fs == pytest.approx(63 * LSB)
    for instance in range(2):
        np.testing.assert_allclose(sim.weight[instance], array_model_weights(sim, instance), rtol=1e-12, atol=1e-18)
    # 7-bit ADC over 63 LSB: every weight is a whole number of LSB
    np.testing.assert_allclose(sim.weight / LSB, np.rint(sim.weight / LSB), atol=1e-9)


def test_ir_drop_weights_are_the_nodal_solution(tmp_path):
    chip = chip_variant(tmp_path, r_wire=50.0, adc_bits=16)
    sim = Simulation(experiment(chip, cores=1))
    expected = array_model_weights(sim, 1)
    np.testing.assert_allclose(sim.weight[1], expected, rtol=1e-9, atol=1e-18)
    ideal = Simulation(experiment(chip_variant(tmp_path, adc_bits=16), cores=1)).weight[1]
    assert np.all(sim.weight[1] <= ideal) and np.mean(sim.weight[1]) < 0.99 * np.mean(ideal)  # the lines drop voltage


def test_adc_bits_change_the_run(tmp_path):
    runs = {}
    for bits in (7, 3):
        sim = Simulation(experiment(chip_variant(tmp_path, adc_bits=bits), duration=0.3, rate=40.0))
        sim.advance(sim.experiment.duration, progress=False)
        runs[bits] = (sim.weight.copy(), sim.spikes()[0].size)
    codes = np.unique(np.rint(runs[3][0] / (63 * LSB / 3)))
    assert set(codes) <= {0, 1, 2, 3}  # 3 signed bits: 3 codes above 0
    np.testing.assert_allclose(runs[3][0], np.rint(runs[3][0] / (21 * LSB)) * 21 * LSB, rtol=1e-12)
    assert runs[3][1] != runs[7][1]


def test_ideal_crossbar_uses_the_nominal_currents():
    sim = Simulation(experiment(), ideal_crossbar=True)
    np.testing.assert_array_equal(sim.weight, np.broadcast_to(sim.compiled.cam_weight, sim.weight.shape))


@pytest.mark.parametrize("key, value", [("adc_bits", 0), ("dac_bits", 40), ("r_wire", -1.0), ("adc_bits", 7.0),
                                        ("gain", 1.0)])
def test_bad_periphery_is_a_config_error(tmp_path, key, value):
    with pytest.raises(ConfigError, match=f"crossbar.{key}"):
        load_chip(chip_variant(tmp_path, **{key: value}))
