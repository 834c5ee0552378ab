"""Where user files are looked for, and errors that cross process boundaries."""

import concurrent.futures
import multiprocessing

import pytest

from malformed import BASE_EXPERIMENT, REPO, base_chip, dumps, mutate, write
from mixsig.chip import load_chip
from mixsig.device import load_device_model
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import load_experiment


def test_shipped_names_win_over_files_and_folders_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    write(tmp_path / "generic_180nm", "not a calibration")
    write(tmp_path / "tiny.toml", "[chip]\nname = 'impostor'\n")
    assert load_chip("tiny").name == "tiny"
    assert load_device_model("generic_180nm").name == "generic_180nm"
    exp = load_experiment(write(tmp_path / "exp.toml", dumps(BASE_EXPERIMENT)))
    assert (exp.chip, exp.device_model) == ("tiny", "generic_180nm")


def test_chip_and_device_model_paths_are_relative_to_the_experiment_file(tmp_path, monkeypatch):
    folder, elsewhere = tmp_path / "study", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    write(folder / "chip.toml", dumps(mutate(base_chip(), {"chip.name": "mine"})))
    write(folder / "cal.toml", (REPO / "device_models" / "generic_180nm.toml").read_text().replace(
        'name = "generic_180nm"', 'name = "my_cal"'))
    write(elsewhere / "chip.toml", "garbage = [")  # what a cwd-relative lookup would find
    path = write(folder / "exp.toml", dumps(mutate(BASE_EXPERIMENT, {"chip": "chip.toml", "device_model": "cal.toml"})))
    monkeypatch.chdir(elsewhere)
    simulation = Simulation(load_experiment(path))
    assert simulation.chip.name == "mine" and simulation.model.name == "my_cal"


def test_a_chip_config_names_its_device_model_relative_to_itself(tmp_path, monkeypatch):
    (tmp_path / "chips").mkdir()
    write(tmp_path / "chips" / "cal.toml", "[model\n")  # broken, so that loading it is visible
    chip = mutate(base_chip(), {"chip.device_model": "cal.toml",
                                ("biases", "soma", "i_tau"): {"coarse": 1, "fine": 20, "type": "N"}})
    path = write(tmp_path / "chips" / "chip.toml", dumps(chip))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_chip(path)
    assert str(tmp_path / "chips" / "cal.toml") in str(error.value)


def test_a_config_error_raised_in_a_worker_process_arrives_whole(tmp_path):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        with pytest.raises(ConfigError) as error:
            pool.submit(load_chip, str(tmp_path / "missing.toml")).result()
    assert len(error.value.problems) == 1
    assert error.value.problems[0].key == "(file)"
    assert str(error.value).splitlines()[0] == "invalid chip config: 1 problem(s)"


def test_a_huge_bad_value_gives_a_short_message(tmp_path):
    pairs = [[0, 9]] * 100_000
    path = write(tmp_path / "exp.toml", dumps(mutate(BASE_EXPERIMENT, {
        ("connections", 0, "rule"): "pairs", ("connections", 0, "pairs"): pairs})))
    with pytest.raises(ConfigError) as error:
        load_experiment(path)
    assert len(str(error.value)) < 1000 and "connections[0]" in str(error.value)
