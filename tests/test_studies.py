"""Tests of the characterisation and population-coding studies (small settings on the tiny chip)."""

import json
import os

import numpy as np
import pytest
import xarray as xr

from mixsig import cli
from mixsig.errors import ConfigError
from mixsig.studies.characterize import CharacterizeSettings, characterize
from mixsig.studies.population import PopulationSettings, fisher_schedule, input_trains, population

TINY_CH = dict(chips=("tiny",), neurons=4, sizes=(1, 2), fi_drive=(20.0, 200.0), fi_neurons=2, instances=3,
               device_models=("generic_180nm",), bias_modes=("fixed_current", "fixed_gate"), temperatures=(300.0, 320.0), duration=0.15, trace_neurons=2, partitions=4,
               rheobase_window=0.2)
TINY_POP = dict(chip="tiny", neurons=4, sizes=(2, 4), subsets=2, levels=3, repeats=3, window=0.03, settle=0.02, instances=2,
                rheobase_window=0.2)


@pytest.fixture(scope="module")
def char(tmp_path_factory):
    folder = tmp_path_factory.mktemp("characterize")
    return characterize(output=str(folder), **TINY_CH), folder


@pytest.fixture(scope="module")
def pop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("population")
    return population(output=str(folder), **TINY_POP), folder


def _spike_times(ds, instance, neuron):
    mine = (ds["spike_instance"].values == instance) & (ds["spike_neuron"].values == neuron)
    return np.sort(ds["spike_time"].values[mine])


def test_characterize_cv_at_n1_equals_reference_computation(char):
    result, _ = char
    ds = result.datasets["characterize-tiny-generic_180nm-fixed_current-300K"]
    core0 = ds["neuron"].values[ds["core"].values == 0]
    ttfs = np.array([[_spike_times(ds, i, n)[0] for n in core0] for i in ds["instance"].values])
    rel = np.array([row.var(ddof=1) / row.mean() ** 2 for row in ttfs])
    r = result.results.sel(chip="tiny generic_180nm/fixed_current@300K")
    assert float(r["ttfs_cv_within"].sel(n_pop=1)) == pytest.approx(np.sqrt(rel.mean()), rel=1e-9)
    assert float(r["ttfs_mean"]) == pytest.approx(ttfs.mean())
    tau = ds["soma__i_tau"].values[:, ds["core"].values == 0]
    expected = np.mean(tau.std(axis=1, ddof=1) / tau.mean(axis=1))
    assert float(r["parameter_cv_within"].sel(parameter="soma.i_tau")) == pytest.approx(expected)
    assert r["ttfs_enob_within"].attrs["enob_convention"] == "levels"
    assert float(r["ttfs_enob_within"].sel(n_pop=2)) == pytest.approx(-np.log2(float(r["ttfs_cv_within"].sel(n_pop=2))))


def test_characterize_fi_levels_are_per_core_biases_and_rates_are_inverse_mean_isi(char):
    # tiny chip (2 cores): run 0 holds the TTFS population on core 0 and level 0 on core 1; run 1 holds
    # level 1 on core 0. Each level is the core's DC bias, copied into every neuron with mismatch.
    result, _ = char
    r = result.results.sel(chip="tiny generic_180nm/fixed_current@320K")
    rheobase = float(r["threshold_current"])
    np.testing.assert_allclose(r["i_in"].values, [20 * rheobase, 200 * rheobase])
    assert np.isnan(float(r["threshold_rate"])) and str(r["input_path"].values) == "per-core DC bias soma.i_dc"
    for level, (stem, core) in enumerate((("", 1), ("-fi1", 0))):
        ds = result.datasets[f"characterize-tiny-generic_180nm-fixed_current-320K{stem}"]  # fixed_gate at 320 K: x3
        neurons = ds["neuron"].values[ds["core"].values == core]
        assert neurons.size == 2
        i_dc = ds["soma__i_dc"].sel(neuron=neurons).values
        assert np.all(np.abs(np.log(i_dc / (r["i_in"].values[level]))) < np.log(2.0)) and np.unique(i_dc).size == i_dc.size
        rates = []
        for i in ds["instance"].values:
            for n in neurons:
                t = _spike_times(ds, i, n)
                rates.append(1.0 / np.mean(np.diff(t)) if t.size >= 2 else 0.0)
        got = r["fi_rate_mean"]
        assert float(got.isel(fi_drive=level)) == pytest.approx(np.mean(rates))


def test_characterize_bias_modes_agree_at_the_calibration_temperature_only(char):
    # the bias mode says how a current follows the temperature: identical draws at T0 = 300 K, different at 320 K
    result, _ = char
    ttfs = result.results["ttfs_mean"]
    def at(mode, temp):
        return float(ttfs.sel(chip=f"tiny generic_180nm/{mode}@{temp}K"))
    assert at("fixed_current", 300) == at("fixed_gate", 300)
    assert at("fixed_current", 320) != at("fixed_gate", 320)


def test_rheobase_brackets_silence_and_firing():
    from mixsig.studies.operating_point import _probe, measure_rheobase

    rheobase = measure_rheobase("tiny", window=0.2, tolerance=1e-3)
    assert list(_probe("tiny", [rheobase * (1 - 3e-3), rheobase], 0.2, 1e-4)) == [False, True]


def test_with_bias_mode_changes_only_the_mode(tmp_path):
    from mixsig.device import load_device_model
    from mixsig.studies.operating_point import with_bias_mode

    assert with_bias_mode("generic_180nm", "fixed_current", tmp_path) == "generic_180nm"
    original = load_device_model("generic_180nm")
    changed = load_device_model(with_bias_mode("generic_180nm", "fixed_gate", tmp_path))
    assert changed.temperature.bias == "fixed_gate" and changed.name == "generic_180nm-fixed_gate"
    assert changed.parameters == original.parameters and changed.noise == original.noise
    demo = load_device_model(with_bias_mode("empirical_demo", "fixed_gate", tmp_path))  # its netCDF tables are copied along
    assert demo.temperature.bias == "fixed_gate"


def test_characterize_writes_datasets_results_summary_and_figures(char):
    from mixsig.io import open_dataset

    result, folder = char
    names = set(os.listdir(folder))
    assert "generic_180nm-fixed_gate.toml" in names  # the derived calibration file, for provenance
    for stem in ("characterize-ttfs-histogram", "characterize-membrane", "characterize-fi", "characterize-cv-vs-n",
                 "characterize-enob-vs-n"):
        assert f"{stem}.png" in names
        with open(folder / f"{stem}.png", "rb") as stream:
            assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    with open_dataset(folder / "characterize-tiny-generic_180nm-fixed_gate-300K.nc") as ds:
        assert ds.sizes["instance"] == 3
    with xr.open_dataset(folder / "characterize-results.nc") as saved:
        xr.testing.assert_allclose(saved["ttfs_cv_pooled"], result.results["ttfs_cv_pooled"])
        assert saved.attrs["enob_convention"] == "levels"
    summary = json.loads((folder / "characterize-summary.json").read_text())
    assert summary["enob_convention"] == "levels" and "tiny generic_180nm/fixed_gate@300K" in summary["chips"]
    assert summary["chips"]["tiny generic_180nm/fixed_gate@300K"]["not_measured"] == {}  # a DYNAP-class chip: all measured


def test_settings_errors_list_every_problem():
    with pytest.raises(ConfigError) as error:
        CharacterizeSettings(instances=0, sizes=(1, 999), enob_convention="sinad", temperatures=(-3.0,), drive="ideal",
                             bias_modes=("fixed_voltage",)).check()
    keys = {p.key for p in error.value.problems}
    assert keys == {"instances", "sizes", "enob_convention", "temperatures", "drive", "bias_modes"}
    with pytest.raises(ConfigError) as error:
        PopulationSettings(repeats=1, levels=2, window=-1.0).check()
    assert {p.key for p in error.value.problems} == {"repeats", "levels", "window", "dt"}
    with pytest.raises(ConfigError) as error:
        PopulationSettings(encoding="gaussian", intercepts=(0.5, -0.5), gains=(0.0, 1.0)).check()
    assert {p.key for p in error.value.problems} == {"encoding", "intercepts", "gains"}


@pytest.mark.parametrize("encoding", ["linear", "nef"])
def test_population_inputs_follow_the_encoding_rates(encoding):
    settings = PopulationSettings(neurons=4, levels=3, repeats=40, window=0.2, settle=0.0, rate_max=200.0, encoding=encoding,
                                  intercepts=(-0.5, 0.5), gains=(0.5, 1.0))
    trains, (stimulus, starts, stops), enc = input_trains(settings)
    assert list(enc.encoder) == [1.0, -1.0, 1.0, -1.0]
    if encoding == "nef":
        assert np.all((enc.intercept >= -0.5) & (enc.intercept <= 0.5)) and np.all((enc.gain >= 0.5) & (enc.gain <= 1.0))
    for a, e in enumerate(enc.encoder):
        t = np.asarray(trains[a])
        counts = np.array([np.sum((t >= s0) & (t < s1)) for s0, s1 in zip(starts, stops)])
        for x in settings.stimulus_values:
            if encoding == "linear":
                rate = 200.0 * (1 + e * x) / 2
            else:  # rectified: zero below the intercept, g * 200 Hz at e x = 1
                b, g = enc.intercept[a], enc.gain[a]
                rate = 200.0 * g * max(0.0, e * x - b) / (1 - b)
            expected = rate * 0.2
            mean = counts[stimulus == x].mean()
            assert abs(mean - expected) <= 5 * np.sqrt(max(expected, 1.0) / 40)


def test_population_tuning_curves_and_outputs(pop):
    result, folder = pop
    ds = result.datasets["population-mismatch"]
    settings = PopulationSettings(**TINY_POP)
    _, (stimulus, starts, stops), _ = input_trains(settings)
    for i in ds["instance"].values:
        for n in ds["neuron"].values:
            t = _spike_times(ds, i, n)
            counts = np.array([np.sum((t >= s0) & (t < s1)) for s0, s1 in zip(starts, stops)])
            for x in settings.stimulus_values:
                expected = counts[stimulus == x].mean() / settings.window
                assert float(result.results["tuning_curve"].sel(instance=i, neuron=n, stimulus=x)) == pytest.approx(expected)
    r = result.results
    assert r["rmse"].dims == ("condition", "n_pop") and np.all(np.isfinite(r["rmse"].values))
    i_dc = ds["soma__i_dc"].values  # the population's DC bias: dc_drive x the measured rheobase, mismatched
    assert r.attrs["i_dc"] == pytest.approx(2.0 * r.attrs["rheobase"])
    assert np.all(np.abs(np.log(i_dc / r.attrs["i_dc"])) < np.log(2.0)) and np.unique(i_dc).size == i_dc.size
    assert r["enob"].attrs["enob_convention"] == "uniform"
    for name in ("population-tuning.png", "population-decoding.png", "population-results.nc", "population-summary.json",
                 "population-mismatch.nc", "population-nominal.nc"):
        assert (folder / name).exists()


def test_population_linear_fisher_information_from_spike_times(pop):
    # n_pop = 4 is the whole tiny population, so every sub-population is the same set: the result is
    # the instance mean of I_bc computed here from the spike times with an explicit inverse covariance
    result, _ = pop
    ds = result.datasets["population-mismatch"]
    settings = PopulationSettings(**TINY_POP)
    _, (_, _, stops), _ = input_trains(settings)
    _, (stimulus, starts, ends) = fisher_schedule(settings, stops[-1])
    assert np.all(np.diff(starts) > 0) and np.sum(stimulus < 0) == np.sum(stimulus > 0) == settings.fisher_trials
    values = []
    for i in ds["instance"].values:
        counts = np.array([[np.sum((t >= a) & (t < b)) for a, b in zip(starts, ends)]
                           for t in (_spike_times(ds, i, n) for n in ds["neuron"].values)])
        lo, hi = counts[:, stimulus < 0], counts[:, stimulus > 0]
        slope = (hi.mean(axis=1) - lo.mean(axis=1)) / settings.fisher_delta
        cov = (np.cov(lo) + np.cov(hi)) / 2
        t, n = settings.fisher_trials, counts.shape[0]
        values.append(slope @ np.linalg.inv(cov) @ slope * (2 * t - n - 3) / (2 * t - 2) - 2 * n / (t * settings.fisher_delta ** 2))
    got = result.results["fisher_linear"].sel(condition="mismatch", n_pop=4)
    assert float(got) == pytest.approx(np.mean(values), rel=1e-9)
    assert got.attrs["units"] == "1" and "Kanitscheider" in got.attrs["method"]


def test_cli_study_runs_and_reports_bad_options(tmp_path, capsys):
    folder = tmp_path / "out"
    status = cli.main(["study", "characterize", "--chips", "dynapse2", "--instances", "1", "--device-model", "generic_180nm", "--temperatures", "300",
                       "--sizes", "1,2", "--duration", "0.05", "--drive", "exact", "--bias-mode", "calibrated", "-o", str(folder)])
    assert status == 0
    summary = json.loads((folder / "characterize-summary.json").read_text())
    assert summary["settings"]["drive"] == "exact" and list(summary["chips"]) == ["dynapse2 generic_180nm/calibrated@300K"]
    assert (folder / "characterize-cv-vs-n.png").exists()
    assert cli.main(["study", "characterize", "--instances", "0", "-o", str(folder)]) == 2
    assert "instances" in capsys.readouterr().err
    assert cli.main(["study", "population", "--temperatures", "300", "-o", str(folder)]) == 2
    assert cli.main(["study", "characterize", "--encoding", "linear", "-o", str(folder)]) == 2
    assert "--encoding" in capsys.readouterr().err
    assert cli.main(["study", "population", "--drive", "exact", "-o", str(folder)]) == 2
    assert "--drive" in capsys.readouterr().err


@pytest.mark.parametrize("chip_name", ["tiny", "dynapse1", "dynapse2"])
def test_population_weight_scales_the_calibrated_weight_of_every_core(chip_name):
    from mixsig.chip import load_chip
    from mixsig.studies.population import experiment

    chip = load_chip(chip_name)
    settings = PopulationSettings(chip=chip_name, weight=2.5)
    exp = experiment(settings, "none", 1, [[0.01]], 0.05, 1e-11)
    name = "synapse.i_w_ampa" if chip.weight_scheme == "per_type" else f"synapse.i_w_{chip.weight_bits - 1}"
    set_by_core = {core: value for core, key, value in exp.biases if key == name}
    assert set_by_core == {core: pytest.approx(2.5 * chip.biases[name][core]) for core in range(chip.n_cores)}
