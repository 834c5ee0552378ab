"""Sweeps: one dataset with a condition dimension, each condition the run of its own settings."""

import concurrent.futures

import numpy as np
import pytest
import xarray as xr

from mixsig.cli import main
from mixsig.engine.simulation import run
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment
from mixsig.io import open_dataset, to_netcdf
from mixsig.io.conditions import condition_dataset
from mixsig.settings import apply_settings
from mixsig.sweep import conditions, run_sweep

BASE = Experiment(duration=0.03, instances=2, seed=3,
                  network={"populations": {"p": {"size": 6, "core": 0}, "q": {"size": 3, "core": 1}}},
                  biases=((None, "soma.i_dc", 2e-9),))
SWEEP = [("soma.i_dc", [1e-9, 1e-8]), ("device.mismatch_scale", [0.0, 1.0])]
PER_CONDITION = ("creation_time", "history", "experiment_toml", "mismatch_scale", "sweep")


def _strip(ds):
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k not in PER_CONDITION}
    return out


@pytest.fixture(scope="module")
def swept():
    return run_sweep(BASE, SWEEP, progress=False)


def test_conditions_are_every_combination_first_key_slowest():
    assert conditions([("a", [1, 2]), ("b", ["x", "y", "z"])])[:4] == [
        [("a", 1), ("b", "x")], [("a", 1), ("b", "y")], [("a", 1), ("b", "z")], [("a", 2), ("b", "x")]]


def test_each_condition_is_the_run_of_its_settings(swept):
    assert swept.sizes["condition"] == 4 and swept["spike_count"].dims == ("condition", "instance", "neuron")
    np.testing.assert_array_equal(swept["soma.i_dc"].values, [1e-9, 1e-9, 1e-8, 1e-8])
    assert swept["soma.i_dc"].attrs["units"] == "A"
    for k, settings in enumerate(conditions(SWEEP)):
        alone = run(apply_settings(BASE, settings), progress=False)
        assert alone["spike_time"].size > 0
        xr.testing.assert_identical(_strip(condition_dataset(swept, k)), _strip(alone))
    rates = swept["spike_count"].sum(("instance", "neuron")).values
    assert rates[2] > rates[0] and rates[3] > rates[1]  # more DC, more spikes
    assert "mismatch_scale" not in swept.attrs and "soma.i_dc" in swept.attrs["sweep"]


def test_sweep_on_an_executor_is_bit_identical_and_round_trips_through_netcdf(swept, tmp_path):
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        remote = run_sweep(BASE, SWEEP, backend={"executor": executor, "shards": 2, "threads": None}, progress=False)
    xr.testing.assert_identical(_strip(remote), _strip(swept))
    path = tmp_path / "sweep.nc"
    to_netcdf(swept, path)
    with open_dataset(path) as back:
        xr.testing.assert_identical(back.load(), swept)
    broken = swept.copy()
    broken["spike_condition"] = broken["spike_condition"][::-1].variable
    with pytest.raises(ConfigError, match="spike_condition"):
        to_netcdf(broken, tmp_path / "broken.nc")


def test_a_sweep_that_changes_the_layout_or_fails_validation_is_refused():
    with pytest.raises(ConfigError, match="neuron"):
        run_sweep(BASE.replace(duration=0.005), [("populations.q.size", [3, 4])], progress=False)
    with pytest.raises(ConfigError) as error:
        run_sweep(BASE, [("mismatch_scale", [0.5, 5.0]), ("device.temperature", [-1])], progress=False)
    assert "mismatch_scale" in str(error.value) and "temperature" in str(error.value)


def test_cli_sweep(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text('duration = 0.01\ninstances = 2\ndevice_model = "none"\n[populations.p]\nsize = 2\ncore = 0\n')
    out = tmp_path / "o.nc"
    assert main(["run", str(path), "-o", str(out), "--sweep", "soma.i_dc=1e-9,2e-9,4e-9", "--workers", "1"]) == 0
    assert "condition 2: soma.i_dc = 4e-09" in capsys.readouterr().out
    with open_dataset(out) as ds:
        assert ds.sizes["condition"] == 3 and ds.sizes["instance"] == 2


def test_inspect_plot_select_and_rerun_of_a_sweep_file(swept, tmp_path, capsys):
    import mixsig

    path = tmp_path / "sweep.nc"
    to_netcdf(swept, path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("condition ") == 4 and "soma.i_dc = 1e-08" in out
    assert main(["plot", str(path), "--prefix", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig-condition3-raster.png").is_file()
    with pytest.raises(ConfigError, match="condition_dataset"):
        mixsig.select(swept, instance=0)
    assert main(["run", "--from-dataset", str(path), "-o", str(tmp_path / "again.nc")]) == 2
    assert "--sweep" in capsys.readouterr().err
