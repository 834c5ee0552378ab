"""Chip configs: shipped files, validation of bad files, per-core biases, router levels, boards."""

import dataclasses
import pathlib
import tomllib

import numpy as np
import pytest

from mixsig.chip import Board, RouterLevel, chip_from_dict, load_chip, with_router
from mixsig.chip.config import bias_fields
from mixsig.constants import KAPPA, U_T
from mixsig.errors import ConfigError

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "chip_configs"


def test_dynapse2_structure_matches_the_published_architecture():
    chip = load_chip("dynapse2")
    # physics.md 4.2: 4 cores x 256, 64 CAM, 4 SRAM, 2048 tags, hops in [-7, 7], 4-bit weights
    assert (chip.n_cores, chip.neurons_per_core, chip.cam_per_neuron) == (4, 256, 64)
    assert (chip.sram_per_neuron, chip.n_tags, chip.max_hop, chip.weight_bits) == (4, 2048, 7, 4)
    assert chip.neurons_per_chip == 1024 and chip.synapses_per_chip == 65536
    # Rockpool defaults Iw_0..Iw_3 = 1, 2, 4, 8 nA, the same for every core and synapse type
    np.testing.assert_array_equal(chip.weight_currents(), np.broadcast_to([1e-9, 2e-9, 4e-9, 8e-9], (4, 4, 4)))


def test_dynapse1_has_one_bit_weights_per_synapse_type():
    chip = load_chip("dynapse1")
    assert (chip.n_cores, chip.neurons_per_core, chip.cam_per_neuron, chip.sram_per_neuron) == (4, 256, 64, 3)
    assert chip.weight_scheme == "per_type" and chip.weight_bits == 1
    assert chip.board == (2, 2)  # 4 chips per board
    assert chip.weight_currents().shape == (4, 4, 1)
    # PMC8149394 Table 4: weights 1-2 nA
    assert np.all((chip.weight_currents() >= 1e-9) & (chip.weight_currents() <= 2e-9))


def test_dynapse2_time_constant_biases_follow_the_dpi_relation():
    chip = load_chip("dynapse2")
    tau = lambda c, i: c * U_T / (KAPPA * i)  # noqa: E731  tau = C U_T / (kappa I_tau)
    np.testing.assert_allclose(tau(chip.biases["soma.c_mem"], chip.biases["soma.i_tau"]), 20e-3, rtol=1e-12)
    np.testing.assert_allclose(tau(chip.biases["soma.c_ahp"], chip.biases["soma.i_tau_ahp"]), 50e-3, rtol=1e-12)
    for block in ("ampa", "nmda", "gaba", "shunt"):
        np.testing.assert_allclose(tau(chip.biases[f"{block}.c_syn"], chip.biases[f"{block}.i_tau"]), 10e-3,
                                   rtol=1e-12)
    # refractory pulse extender I_ref = V_ref C_ref / t_ref, t_ref = 1 ms
    np.testing.assert_allclose(chip.biases["soma.i_ref"], 0.7 * 1.5e-12 / 1e-3, rtol=1e-12)


@pytest.mark.parametrize("name", ["dynapse2", "dynapse1", "tiny"])
def test_shipped_configs_are_complete_and_keep_their_text(name):
    chip = load_chip(name)
    assert chip.name == name
    assert chip.toml_text == (CONFIGS / f"{name}.toml").read_text(encoding="utf-8")
    assert set(chip.biases) == set(bias_fields(chip.weight_scheme, chip.weight_bits))
    assert all(values.shape == (chip.n_cores,) for values in chip.biases.values())
    # the DYNAP chips declare their destination-core broadcast stage; the test chip leaves it out
    assert set(chip.router) == {"core", "chip", "mesh"} | ({"broadcast"} if name != "tiny" else set())
    # no published router figure: every level is marked as a placeholder
    assert all(level.placeholder for level in chip.router.values())
    assert load_chip(CONFIGS / f"{name}.toml") == dataclasses.replace(chip, source=str(CONFIGS / f"{name}.toml"))


def test_per_core_overrides():
    chip = load_chip("tiny")
    np.testing.assert_array_equal(chip.biases["synapse.i_w_0"], [1e-9, 2e-9])
    np.testing.assert_array_equal(chip.biases["soma.i_dc"], [0.0, 1e-10])
    np.testing.assert_array_equal(chip.biases["soma.c_mem"], [3e-12, 3e-12])
    np.testing.assert_array_equal(chip.weight_currents()[1, 2], [2e-9, 4e-9])


def test_config_is_frozen():
    chip = load_chip("tiny")
    with pytest.raises(dataclasses.FrozenInstanceError):
        chip.n_tags = 7
    with pytest.raises(ValueError):
        chip.biases["soma.c_mem"][0] = 1.0
    with pytest.raises(TypeError):
        chip.biases["soma.c_mem"] = np.zeros(2)


def test_router_levels_map_onto_link_parameters_and_can_be_overridden():
    chip = load_chip("dynapse2")
    mesh = chip.router["mesh"]
    params = mesh.link_params()
    values = params if isinstance(params, dict) else dataclasses.asdict(params)
    assert values == {"latency": mesh.latency, "service_time": mesh.service_time, "fifo_depth": mesh.fifo_depth,
                      "policy": mesh.policy, "arbiter": "fifo", "arbitration_delay": 0.0}
    core = chip.router["core"]  # the DYNAP-SE2 encoder: greedy tree arbiter
    assert (core.arbiter, core.link_params().arbiter) == ("tree", "tree") and core.arbitration_delay > 0
    faster = with_router(chip, mesh={"latency": 5e-8, "policy": "drop"})
    assert faster.router["mesh"] == RouterLevel(5e-8, mesh.service_time, mesh.fifo_depth, "drop", placeholder=False)
    assert faster.router["core"] == chip.router["core"]
    with pytest.raises(ConfigError, match="router.mesh.fifo_depth"):
        with_router(chip, mesh={"fifo_depth": 0})
    # a chip without a broadcast stage gets one from a stage that costs nothing
    tiny = load_chip("tiny")
    assert "broadcast" not in tiny.router
    searched = with_router(tiny, broadcast={"service_time": 1e-7})
    assert searched.router["broadcast"] == RouterLevel(0.0, 1e-7, 16, "stall", placeholder=False)
    assert searched.router["core"] == tiny.router["core"]


def _tiny_data():
    return tomllib.loads((CONFIGS / "tiny.toml").read_text(encoding="utf-8"))


def test_bad_config_reports_every_problem_at_once(tmp_path):
    text = (CONFIGS / "tiny.toml").read_text(encoding="utf-8")
    text = text.replace("n_cores = 2", "n_cores = 0").replace('policy = "drop"', 'policy = "lose"')
    text = text.replace("soma.c_mem = 3.0e-12", "soma.c_men = 3.0e-12").replace("ampa.i_tau = 9.0e-11",
                                                                                 "ampa.i_tau = -9.0e-11")
    text = text.replace("[board]", "[board]\nnz = 2").replace("weight_scheme = \"mask\"",
                                                                "weight_scheme = \"mask\"\ncolour = \"red\"")
    text += "\n[extras]\nfoo = 1\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_chip(path)
    keys = {problem.key for problem in info.value.problems}
    assert keys >= {"chip.n_cores", "router.mesh.policy", "biases.soma.c_men", "biases.soma.c_mem",
                    "biases.ampa.i_tau", "board.nz", "chip.colour", "extras"}
    assert all(problem.source == str(path) for problem in info.value.problems)
    assert str(info.value).startswith(f"invalid chip config: {len(info.value.problems)} problem(s)")


def test_bias_type_and_per_core_problems():
    data = _tiny_data()
    data["core_biases"]["5"] = {"soma": {"c_mem": 1e-12}}
    data["core_biases"]["1"]["soma"]["i_tau"] = "fast"
    del data["biases"]["soma"]["i_gain"]
    data["router"]["chip"]["fifo_depth"] = 2.5
    data["chip"]["weight_scheme"] = "per_type"  # needs 1-bit weights and per-type weight biases
    with pytest.raises(ConfigError) as info:
        chip_from_dict(data, source="x.toml")
    keys = {problem.key for problem in info.value.problems}
    assert keys >= {"core_biases.5", "core_biases.1.soma.i_tau", "biases.soma.i_gain", "router.chip.fifo_depth",
                    "chip.weight_bits", "biases.synapse.i_w_ampa", "biases.synapse.i_w_0"}


def test_coarse_fine_settings_go_through_the_bias_generator():
    data = _tiny_data()
    data["biases"]["soma"]["i_tau"] = {"coarse": 2, "fine": 128, "type": "N"}
    calls = []

    def generator(coarse, fine, polarity):
        calls.append((coarse, fine, polarity))
        return 4.57e-9 * fine / 255  # a linear stand-in for the bias generator

    chip = chip_from_dict(data, biasgen=generator)
    np.testing.assert_allclose(chip.biases["soma.i_tau"], 4.57e-9 * 128 / 255)
    assert calls == [(2, 128, "N")] * 2
    assert chip.bias_settings["soma.i_tau"] == ({"coarse": 2, "fine": 128, "type": "N"},) * 2
    data["biases"]["soma"]["i_tau"] = {"coarse": 2, "fine": 128, "type": "Q"}
    with pytest.raises(ConfigError, match="soma.i_tau.type"):
        chip_from_dict(data, biasgen=generator)


def test_unknown_chip_name_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match="dynapse2"):
        load_chip("dynapse9")


def test_board_numbering_and_hops():
    chip = load_chip("dynapse2")
    board = Board(chip, 3, 2)
    assert board.n_chips == 6 and board.n_neurons == 6 * 1024
    assert board.chip_index(2, 1) == 1 * 3 + 2
    assert board.global_neuron(5, 3, 17) == 5 * 1024 + 3 * 256 + 17
    chip_i, core, n = board.locate(5 * 1024 + 3 * 256 + 17)
    assert (chip_i, core, n) == (5, 3, 17)
    assert tuple(int(v) for v in board.hops(board.chip_index(2, 0), board.chip_index(0, 1))) == (-2, 1)
    assert Board.from_chip(load_chip("dynapse1")).n_chips == 4
    with pytest.raises(ValueError):
        Board(chip, 0, 1)


def test_coarse_fine_settings_use_the_device_models_bias_generator():
    pytest.importorskip("mixsig.device.biasgen")
    data = _tiny_data()
    data["chip"]["device_model"] = "generic_180nm"
    data["biases"]["ampa"]["i_gain"] = {"coarse": 2, "fine": 255, "type": "N"}
    data["biases"]["gaba"]["i_gain"] = {"coarse": 5, "fine": 255, "type": "P"}
    chip = chip_from_dict(data)
    # physics.md 4.3: full-scale currents of the DYNAP-SE2 generator, N coarse 2 and P coarse 5
    np.testing.assert_allclose(chip.biases["ampa.i_gain"], 4.57e-9, rtol=5e-3)
    np.testing.assert_allclose(chip.biases["gaba.i_gain"], 2.24e-6, rtol=5e-3)
    data["biases"]["gaba"]["i_gain"] = {"coarse": 9, "fine": 255, "type": "P"}
    with pytest.raises(ConfigError, match="biases.gaba.i_gain"):
        chip_from_dict(data)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="an existing chip config file"):
        load_chip(tmp_path / "absent.toml")
