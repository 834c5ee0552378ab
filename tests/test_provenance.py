"""Provenance: the effective experiment as TOML, the embedded calibration, versions, re-runs.

The round trips are checked against ``tomllib`` (an independent TOML reader) and against
the experiment objects themselves; the re-run against the dataset of the first run.
"""

import math
import pathlib
import tomllib

import numpy as np
import pytest
import xarray as xr

from mixsig.cli import main
from mixsig.device import load_device_model
from mixsig.engine import philox
from mixsig.engine.simulation import run
from mixsig.errors import ConfigError
from mixsig.experiment import DCStep, Experiment, Record, default_experiment, experiment_from_dict, load_experiment
from mixsig.io import open_dataset
from mixsig.io.provenance import experiment_from_dataset
from mixsig.tomlwrite import dumps

NETWORK = {
    "populations": {"a": {"size": 4, "core": 0}, "b": {"size": 3, "core": 1}},
    "inputs": {"in": {"size": 4, "kind": "regular", "rate": 200.0, "phase": 0.001},
               "noise": {"size": 2, "kind": "poisson", "rate": 50.0}},
    "connections": [
        {"pre": "in", "post": "a", "rule": "one_to_one", "syn_type": "ampa", "weight_mask": 2},
        {"pre": "noise", "post": "b", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 2},
        {"pre": "a", "post": "b", "rule": "pairs", "pairs": ((0, 1), (2, 0)), "syn_type": "gaba", "weight_mask": 1},
    ],
}

# Built in code, with tuples, numpy values, a temperature profile and DC steps.
PYTHON_EXPERIMENT = Experiment(
    duration=0.03, dt=np.float64(1e-4), instances=np.int64(2), seed=7, chip="tiny", board=(1, 1),
    temperature=((0.0, 300.0), (0.03, np.float64(305.5))),
    biases=((None, "synapse.i_w_1", 100e-9), (1, "soma.i_dc", 1.5e-12)),
    network=NETWORK,
    dc=(DCStep(amplitude=2e-8, population="b"), DCStep(amplitude=5e-9, start=0.01, stop=0.02, neurons=(0, 1))),
    record=Record(traces=("i_mem",), neurons=(0,), interval=1e-3, router=False),
)


def test_dumps_round_trips_through_tomllib():
    data = {
        "text": 'quote " backslash \\ tab \t newline \n del \x7f µ Ω', "yes": True, "n": -3, "big": 2**64 - 1,
        "floats": [0.1, 1e-300, -2.5e17, math.inf, -math.inf], "empty": [], "nested": [[1, 2], ["a"]],
        "dotted.key": 1, "table": {"x": 1, "sub": {"y": [1.0]}, "inner": [{"z": 1}]},
        "array": [{"a": 1, "b": {"c": "d"}}, {"a": 2}], "emptytable": {},
    }
    assert tomllib.loads(dumps(data, comment="two\nlines")) == data
    assert math.isnan(tomllib.loads(dumps({"x": float("nan")}))["x"])


def test_default_experiment_round_trips_through_toml():
    exp = default_experiment()
    again = experiment_from_dict(tomllib.loads(exp.to_toml()), source=exp.source, text=exp.text)
    assert again == exp
    assert again.to_toml() == exp.to_toml()


def test_python_experiment_round_trips_through_load_experiment(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(PYTHON_EXPERIMENT.to_toml())
    loaded = load_experiment(path)
    assert loaded.to_dict() == PYTHON_EXPERIMENT.to_dict()
    assert loaded.to_toml() == PYTHON_EXPERIMENT.to_toml()
    assert loaded.temperature == ((0.0, 300.0), (0.03, 305.5)) and loaded.dc == PYTHON_EXPERIMENT.dc
    assert loaded.biases == PYTHON_EXPERIMENT.biases and loaded.record == PYTHON_EXPERIMENT.record
    assert loaded.network["connections"][2]["pairs"] == [[0, 1], [2, 0]]


def test_files_are_written_as_absolute_paths_and_shipped_names_as_names(tmp_path, monkeypatch):
    exp = Experiment(source=str(tmp_path / "exp.toml"), network={
        "populations": {"p": {"size": 1}}, "inputs": {"x": {"size": 1, "kind": "aedat", "file": "in.aedat"}}})
    assert exp.to_dict()["inputs"]["x"]["file"] == str(tmp_path / "in.aedat")
    assert exp.to_dict()["chip"] == "dynapse2" and exp.to_dict()["device_model"] == "generic_180nm"
    monkeypatch.chdir(tmp_path)
    custom = exp.replace(chip="chips/mine.toml", device_model="cal.toml").to_dict()
    assert custom["chip"] == str(tmp_path / "chips" / "mine.toml") and custom["device_model"] == str(tmp_path / "cal.toml")
    assert exp.network["inputs"]["x"]["file"] == "in.aedat"  # the experiment itself is untouched


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("provenance")
    exp_path = folder / "exp.toml"
    exp_path.write_text(PYTHON_EXPERIMENT.replace(duration=0.5, instances=5).to_toml())
    out = folder / "first.nc"
    assert main(["run", str(exp_path), "--instances", "2", "--duration", "0.03", "-o", str(out)]) == 0
    return out


def test_recorded_experiment_is_the_effective_one(recorded):
    with open_dataset(recorded) as ds:
        attrs = dict(ds.attrs)
    data = tomllib.loads(attrs["experiment_toml"])
    assert data["instances"] == 2 and data["duration"] == 0.03  # the command-line values, not the file's
    assert data == PYTHON_EXPERIMENT.to_dict()
    assert attrs["calibration_file"] == "generic_180nm.toml"  # a name, not an install path
    shipped = pathlib.Path(__import__("device_models").__file__).parent / "generic_180nm.toml"
    assert attrs["calibration_toml"] == shipped.read_text(encoding="utf-8")
    for package in ("numpy", "numba", "scipy", "xarray", "netcdf4", "python"):
        assert attrs[f"{package}_version"][0].isdigit()
    assert attrs["numpy_version"] == np.__version__ and attrs["xarray_version"] == xr.__version__
    assert attrs["platform"]


def test_from_dataset_reproduces_the_run_bit_for_bit(recorded, tmp_path):
    again = tmp_path / "again.nc"
    assert main(["run", "--from-dataset", str(recorded), "-o", str(again)]) == 0
    with open_dataset(recorded) as first, open_dataset(again) as second:
        first, second = first.load(), second.load()
    for key in ("creation_time", "history", "title"):
        first.attrs.pop(key), second.attrs.pop(key)
    xr.testing.assert_identical(first, second)
    assert first["spike_count"].values.sum() > 0


def test_from_dataset_refuses_a_changed_calibration_or_an_experiment_file(recorded, tmp_path, capsys):
    with open_dataset(recorded) as ds:
        ds = ds.load()
    ds.attrs["calibration_sha256"] = "0" * 64
    with pytest.raises(ConfigError, match="calibration_sha256"):
        experiment_from_dataset(ds, "changed.nc")
    ds.attrs["experiment_toml"] = "duration = "
    with pytest.raises(ConfigError, match="experiment TOML"):
        experiment_from_dataset(ds, "broken.nc")
    assert main(["run", "x.toml", "--from-dataset", str(recorded), "-o", str(tmp_path / "o.nc")]) == 2
    assert "not both" in capsys.readouterr().err


def test_from_dataset_refuses_other_shot_noise_draws(recorded):
    """A noisy run whose shot noise came from another draw scheme (or from before the scheme was recorded)
    would not re-run bit for bit."""
    with open_dataset(recorded) as ds:
        ds = ds.load()
    assert ds.attrs["noise"] and ds.attrs["shot_noise_generator"] == philox.GENERATOR
    experiment_from_dataset(ds, "same.nc")
    for attrs in ({"shot_noise_generator": "philox4x32-10 numpy-layout"}, {}):
        changed = ds.copy()
        changed.attrs.pop("shot_noise_generator")
        changed.attrs.update(attrs)
        with pytest.raises(ConfigError, match="shot_noise_generator"):
            experiment_from_dataset(changed, "old.nc")
    changed.attrs["noise"] = 0
    experiment_from_dataset(changed, "noise_free.nc")


def test_python_run_records_its_experiment():
    ds = run(PYTHON_EXPERIMENT.replace(instances=1, duration=0.002), progress=False)
    assert tomllib.loads(ds.attrs["experiment_toml"])["duration"] == 0.002


def test_empirical_tables_are_recorded_by_their_sha256(tmp_path):
    exp = PYTHON_EXPERIMENT.replace(instances=1, duration=0.002, device_model="empirical_demo")
    ds = run(exp, progress=False)
    model = load_device_model("empirical_demo")
    assert ds.attrs["calibration_tables_sha256"] == model.tables_sha256 and model.tables_sha256
    assert experiment_from_dataset(ds, "demo.nc").device_model == "empirical_demo"
    ds.attrs["calibration_tables_sha256"] = "0" * 64
    with pytest.raises(ConfigError, match="calibration_tables_sha256"):
        experiment_from_dataset(ds, "demo.nc")
