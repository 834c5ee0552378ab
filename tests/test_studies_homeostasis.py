"""The homeostasis study: its analysis against closed forms, and one short run through the CLI."""

import json
import math
import types

import numpy as np
import pytest
import xarray as xr

from mixsig import cli
from mixsig.errors import ConfigError
from mixsig.io import check_dataset, open_dataset
from mixsig.studies.homeostasis import HomeostasisSettings, convergence_time, cv, homeostasis, window_rates


def test_convergence_time_of_an_exponential_relaxation():
    tau, amplitude, end = 3.0, 0.8, 15.0
    times = np.linspace(0.0, end, 30001)
    gains = np.exp(amplitude * np.exp(-times / tau))[:, None] * np.array([1.0, 1.0])
    # |ln g - ln g_end| = A (e^{-t/tau} - e^{-T/tau}) reaches e^{-2} of its start at:
    tail = math.exp(-end / tau)
    expected = -tau * math.log(math.exp(-2.0) * (1.0 - tail) + tail)
    assert convergence_time(times, gains) == pytest.approx(expected, rel=1e-6)
    assert math.isnan(convergence_time(times, np.ones((times.size, 2))))


def test_window_rates_are_exact_for_regular_firing_and_cv_is_the_relative_spread():
    times = {(0, 0): np.arange(0.013, 2.0, 1 / 25.0), (0, 1): np.arange(0.001, 2.0, 1 / 40.0), (0, 2): np.array([0.5])}
    keys = list(times)
    stub = types.SimpleNamespace(
        instances=np.array([7]), n_instances=1, n=3, local=np.arange(3),
        spikes=lambda: (np.concatenate([np.full(times[k].size, 7) for k in keys]),
                        np.concatenate([np.full(times[k].size, k[1]) for k in keys]),
                        np.concatenate([times[k] for k in keys])),
    )
    rates = window_rates(stub, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(rates[:, 0, 0], 25.0, rtol=1e-12)
    np.testing.assert_allclose(rates[:, 0, 1], 40.0, rtol=1e-12)
    np.testing.assert_array_equal(rates[:, 0, 2], [1.0, 0.0])
    values = np.array([[[10.0, 20.0], [30.0, 40.0]]])
    assert cv(values)[0] == pytest.approx(np.std([10, 20, 30, 40]) / 25.0, rel=1e-15)


def test_invalid_settings_are_all_listed():
    with pytest.raises(ConfigError) as error:
        homeostasis(neurons=1, tau_h=(), time_scale=0.5, r_target=-1.0)
    message = str(error.value)
    for field in ("neurons", "tau_h", "time_scale", "r_target"):
        assert field in message


def test_cli_study_adapts_a_mismatched_population_to_the_target(tmp_path):
    folder = tmp_path / "out"
    status = cli.main(["study", "homeostasis", "--instances", "1", "--tau-h", "1e4", "--time-scale", "2500",
                       "-o", str(folder)])
    assert status == 0
    settings = HomeostasisSettings()
    summary = json.loads((folder / "homeostasis-summary.json").read_text())
    assert summary["tau_h_s"] == [1e4] and summary["settings"]["time_scale"] == 2500.0
    # Mismatch spreads the rates; homeostasis cuts the CV >= 5x and sets the mean at the target.
    assert summary["cv_before"] > 0.2
    assert summary["cv_reduction"][0] >= 5.0
    assert abs(summary["mean_over_target"][0] - 1.0) < 0.05
    results = xr.open_dataset(folder / "homeostasis-results.nc")
    assert results["gain"].dims == ("tau_h", "sample_time", "instance", "neuron")
    assert results["rate_after"].shape == (1, 1, settings.neurons)
    np.testing.assert_array_equal(results["gain"].values[0, 0], 1.0)
    ds = open_dataset(folder / "homeostasis-tau_h-10000.nc")
    check_dataset(ds)
    np.testing.assert_allclose(ds["homeostasis__gain"].values, results["gain"].values[0, -1], rtol=0)
    for stem in ("homeostasis-rates", "homeostasis-cv", "homeostasis-convergence"):
        assert (folder / f"{stem}.png").stat().st_size > 1000
    assert cli.main(["study", "homeostasis", "--sizes", "4", "-o", str(folder)]) == 2
    assert cli.main(["study", "population", "--tau-h", "100", "-o", str(folder)]) == 2
