"""DYNAP-SE1 semantics: weights at the DPI input (one device per neuron and type), OR-ed pulses."""

import numpy as np
import pytest

from mixsig.engine.simulation import Simulation, run
from mixsig.experiment import Experiment, Record

DT = 1e-4
WEIGHT = {"dynapse1": "synapse.i_w_ampa", "dynapse2": "synapse.i_w_3"}  # 20 nA: a visible PSC at any shipped bias


def _experiment(chip, trains, t_pulse, device_model="none", mask=1, instances=1, integrator="exact"):
    network = {
        "populations": {"p": {"size": 2, "core": 0}},
        "inputs": {"in": {"size": len(trains), "kind": "spike_array", "spike_times": trains}},
        "connections": [{"pre": "in", "post": "p", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": mask}],
    }
    return Experiment(duration=0.03, dt=DT, chip=chip, device_model=device_model, noise=False, instances=instances,
                      integrator=integrator,
                      network=network, biases=((None, "ampa.t_pulse", t_pulse), (None, WEIGHT[chip], 20e-9)),
                      record=Record(traces=("i_ampa",), neurons=(0,), interval=DT, router=False))


def _i_ampa(chip, trains, t_pulse, **kwargs):
    return run(_experiment(chip, trains, t_pulse, **kwargs))["i_ampa"].values[0, 0]


def test_se1_coincident_pulses_are_ored_not_summed():
    one = _i_ampa("dynapse1", [[0.01005]], 1e-3)
    two = _i_ampa("dynapse1", [[0.01005], [0.01005]], 1e-3)
    assert one.max() > 2 * one[0]  # the pulse moves the synapse
    np.testing.assert_array_equal(two, one)
    # on DYNAP-SE2 (weights per CAM entry) the two pulses add
    assert _i_ampa("dynapse2", [[0.01005], [0.01005]], 1e-3, mask=8).max() > \
        1.5 * _i_ampa("dynapse2", [[0.01005]], 1e-3, mask=8).max()


@pytest.mark.parametrize("integrator", ["exact", "fast"])
def test_se1_overlapping_pulse_extends_the_pulse(integrator):
    """A second pulse 0.5 ms into a 1 ms pulse: one pulse from 10.0 ms to 11.5 ms (not 2 ms of charge)."""
    extended = _i_ampa("dynapse1", [[0.01005, 0.01055]], 1e-3, integrator=integrator)
    single = _i_ampa("dynapse1", [[0.01005]], 1.5e-3, integrator=integrator)
    np.testing.assert_allclose(extended, single, rtol=1e-9 if integrator == "exact" else 1e-3)
    summed = _i_ampa("dynapse1", [[0.01005]], 2e-3, integrator=integrator)
    assert summed.max() > extended.max() * 1.05


def test_se1_weight_mismatch_is_per_neuron_and_type():
    sim = Simulation(_experiment("dynapse1", [[0.01], [0.02], [0.03]], 1e-5, device_model="generic_180nm", instances=2))
    rows = np.flatnonzero(sim.cam_local >= 0)
    weight = sim.weight[:, rows]
    neuron = sim.cam_local[rows]
    for j in np.unique(neuron):
        same = weight[:, neuron == j]
        np.testing.assert_array_equal(same, same[:, :1].repeat(same.shape[1], axis=1))
    assert not np.allclose(weight[:, neuron == 0][:, 0], weight[:, neuron == 1][:, 0], rtol=1e-3, atol=0)
    # on DYNAP-SE2 every CAM entry has its own weight device
    sim2 = Simulation(_experiment("dynapse2", [[0.01], [0.02], [0.03]], 1e-5, device_model="generic_180nm", mask=8))
    rows2 = np.flatnonzero(sim2.cam_local == 0)
    assert np.unique(sim2.weight[0, rows2]).size == rows2.size


@pytest.mark.parametrize("name, expected", [("fast_inh", "shunt"), ("GABA_A", "shunt"), ("slow_inh", "gaba"),
                                            ("gaba_b", "gaba"), ("fast_exc", "ampa"), ("slow_exc", "nmda")])
def test_se1_synapse_names_map_to_the_circuit_roles(name, expected):
    from mixsig.chip import Network
    from mixsig.chip.config import SYN_TYPES

    net = Network()
    net.population("a", 2, core=0)
    net.connect("a", "a", syn_type=name, weight_mask=1)
    assert SYN_TYPES[net.connections[0].syn_type] == expected


def test_se1_bias_generator_has_eight_coarse_levels():
    from mixsig.chip import load_chip
    from mixsig.device import BiasGenerator, load_device_model

    model = load_device_model("dynapse1_180nm")
    generic = load_device_model("generic_180nm")
    assert model.parameters.keys() == generic.parameters.keys() and model.common == generic.common
    assert load_chip("dynapse1").device_model == "dynapse1_180nm"
    generator = BiasGenerator.from_model(model)
    bases = [15e-12, 105e-12, 820e-12, 6.5e-9, 50e-9, 400e-9, 3.2e-6, 24e-6]  # rockpool COARSE_BASE_EXT
    for polarity in ("n", "p"):
        assert generator.n_coarse(polarity) == 8
        for coarse, base in enumerate(bases):
            assert generator.current(coarse, 255, polarity) == pytest.approx(base, rel=1e-12)
            assert generator.current(coarse, 100, polarity) == pytest.approx(base * 100 / 255, rel=1e-12)
    assert generator.current(0, 0) == 0.0
    coarse, fine = generator.coarse_fine(10e-6)
    assert (int(coarse), int(fine)) == (7, 106)


def test_extends_merges_tables_and_rejects_cycles(tmp_path):
    from mixsig.device import load_device_model
    from mixsig.errors import ConfigError

    child = tmp_path / "child.toml"
    child.write_text('[model]\nname = "child"\nextends = "generic_180nm"\n[noise]\nshot = false\n'
                     '[parameters."soma.i_tau"]\nsource = "bias"\ndistribution = "cv"\ntransistor = "n"\ncv = 0.3\n')
    model = load_device_model(child)
    generic = load_device_model("generic_180nm")
    assert model.name == "child" and not model.noise.shot and model.noise.flicker == generic.noise.flicker
    assert model.parameters["soma.i_tau"].distribution == "cv" and "core" not in model.parameters["soma.i_tau"].sigma
    assert model.parameters["soma.i_gain"] == generic.parameters["soma.i_gain"]
    assert "extends generic_180nm" in model.text
    loop = tmp_path / "loop.toml"
    loop.write_text('[model]\nname = "loop"\nextends = "loop.toml"\n')
    with pytest.raises(ConfigError, match="model.extends"):
        load_device_model(loop)


def test_se1_tags_are_source_addresses_and_alias_beyond_the_virtual_cores():
    from mixsig.chip import Board, Network, compile_network, load_chip

    chip = load_chip("dynapse1")
    assert chip.tag_scheme == "source_address" and load_chip("dynapse2").tag_scheme == "free"
    board = Board(chip, 3, 2)
    net = Network()
    net.population("target", 1, core=1, chip=0)
    for c in range(6):  # neuron 0 of core 0 on every chip: six sources with one address
        net.population(f"src{c}", 1, core=0, chip=c)
        net.connect(f"src{c}", "target", syn_type="ampa", weight_mask=1)
    net.population("local", 3, core=2, chip=0)
    net.connect("local", "target", syn_type="nmda", weight_mask=1)
    compiled = compile_network(board, net, seed=1)
    per_core = chip.neurons_per_core
    neuron = compiled.sram_src < board.n_neurons
    assert np.all(compiled.sram_tag[neuron] % per_core == compiled.sram_src[neuron] % per_core)
    local = np.isin(compiled.sram_src, compiled.population("local"))
    # a source without competition keeps its own core in its address
    np.testing.assert_array_equal(compiled.sram_tag[local], compiled.sram_src[local] % (chip.n_cores * per_core))
    six = np.isin(compiled.sram_src, [compiled.population(f"src{c}")[0] for c in range(6)])
    # virtual cores 0, 1, 3 (core 2's address 0 is the local neuron's own tag), then aliasing on tag 0
    assert set(compiled.sram_tag[six].tolist()) == {0, 256, 768}
    assert compiled.aliased == 1
    free = compile_network(Board(load_chip("dynapse2"), 1, 1), Network.from_dict(
        {"populations": {"a": {"size": 4, "core": 0}}, "connections": [{"pre": "a", "post": "a", "weight_mask": 1}]}), seed=1)
    assert free.aliased == 0
