"""``--set KEY=VALUE``: dotted keys of the experiment, validated like the file."""

import numpy as np
import pytest

from mixsig.cli import main
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, load_experiment
from mixsig.io import open_dataset
from mixsig.settings import apply_settings, parse_setting, parse_sweep, parse_value, split_values

BASE = Experiment(duration=0.01, instances=2, device_model="none",
                  network={"populations": {"p": {"size": 3, "core": 0}, "q": {"size": 2, "core": 1}}})


def test_values_are_toml_or_bare_strings():
    assert parse_value("5e-12") == 5e-12 and parse_value("310") == 310 and parse_value("true") is True
    assert parse_value("fdsoi_22nm") == "fdsoi_22nm" and parse_value('"a b"') == "a b"
    assert parse_value("[[0.0, 300.0], [1.0, 310.0]]") == [[0.0, 300.0], [1.0, 310.0]]
    assert parse_setting(" soma.i_tau = 5e-12") == ("soma.i_tau", 5e-12)
    assert split_values('1, [2, 3], "a,b", 4') == ["1", " [2, 3]", ' "a,b"', " 4"]
    assert parse_sweep("device.temperature=300,310") == ("device.temperature", [300, 310])
    for bad in ("soma.i_tau", "=3"):
        with pytest.raises(ValueError):
            parse_setting(bad)
    with pytest.raises(ValueError):
        parse_sweep("seed=")


def test_bias_device_and_table_keys():
    exp = apply_settings(BASE, [("soma.i_tau", 5e-12), ("device.temperature", 310), ("device.mismatch_scale", 0.5),
                                ("record.interval", 2e-3), ("populations.q.size", 4), ("seed", 7)])
    assert exp.temperature == 310 and exp.mismatch_scale == 0.5 and exp.record.interval == 2e-3 and exp.seed == 7
    assert exp.network["populations"]["q"]["size"] == 4
    simulation = Simulation(exp)
    assert simulation.n == 7
    np.testing.assert_array_equal(simulation.values["soma.i_tau"], 5e-12)  # every core, every instance
    assert BASE.temperature == 300.0 and BASE.biases == ()  # the original is left as it was


def test_every_problem_of_the_settings_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        apply_settings(BASE, [("device.temp", 310), ("mismatch_scale", 3), ("record.interval.x", 2),
                              ("foo.bar.baz", 1), ("soma.i_tau", "fast")])
    message = str(error.value)
    for fragment in ("device.temp", "device.temperature", "mismatch_scale", "record.interval", "foo", "soma.i_tau"):
        assert fragment in message, fragment


def test_cli_set_records_the_effective_experiment(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text('duration = 0.01\ndevice_model = "none"\n[populations.p]\nsize = 2\ncore = 0\n')
    out = tmp_path / "o.nc"
    assert main(["run", str(path), "-o", str(out), "--set", "soma.i_dc=2e-9", "--set", "device.temperature=310"]) == 0
    with open_dataset(out) as ds:
        recorded = tmp_path / "recorded.toml"
        recorded.write_text(ds.attrs["experiment_toml"])
    exp = load_experiment(recorded)
    assert exp.temperature == 310 and (None, "soma.i_dc", 2e-9) in exp.biases
    capsys.readouterr()
    assert main(["run", str(path), "-o", str(tmp_path / "x.nc"), "--set", "mismatch_scale=-1"]) == 2
    assert "mismatch_scale" in capsys.readouterr().err and not (tmp_path / "x.nc").exists()
