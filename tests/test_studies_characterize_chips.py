"""The characterisation study on every shipped chip, side by side (tiny settings)."""

import json

import numpy as np
import pytest

from mixsig.paths import shipped_names
from mixsig.cli import main
from mixsig.studies.characterize import characterize

TINY = dict(neurons=4, sizes=(1, 2), fi_drive=(2.0, 20.0), fi_neurons=2, instances=2, device_models=("generic_180nm",),
            bias_modes=("fixed_current",), temperatures=(300.0,), duration=0.03, trace_neurons=1, partitions=4,
            rheobase_window=0.03, trim_bits=())
"""4 neurons (the tiny chip's core), 30 ms runs: about 20 s with warm kernels."""


@pytest.fixture(scope="module")
def every_chip(tmp_path_factory):
    from mixsig.calibrate import calibrate
    from mixsig.experiment import Experiment
    from mixsig.trims import write_trims

    folder = tmp_path_factory.mktemp("characterize_chips")
    # a trim file as 'mixsig calibrate' writes it, for the study's seed and instances (4 neurons per core)
    trims = calibrate("brainscales2", experiment=Experiment(chip="brainscales2", device_model="hx_65nm", seed=0, instances=2),
                      bits=8, per_core=4).trims
    write_trims(trims, folder / "bss2-trims.nc")
    result = characterize(chips=tuple(shipped_names("chip_configs")), trims=(str(folder / "bss2-trims.nc"),), output=str(folder), **TINY)
    return result, folder


def test_every_shipped_chip_is_on_the_chip_axis_with_its_own_input(every_chip):
    result, _ = every_chip
    r = result.results
    configs = set(r["chip_config"].values)
    assert configs == set(shipped_names("chip_configs"))
    path = {str(c): str(p) for c, p in zip(r["chip"].values, r["input_path"].values)}
    assert path["digital_lif"] == "per-core DC bias lif.i_dc"
    assert path["brainscales2 uncalibrated"] == "per-core DC bias adex.i_ext"
    assert path["pcm_lif"].startswith("regular input trains through the crossbar")
    assert path["dynapse2 generic_180nm/fixed_current@300K"] == "per-core DC bias soma.i_dc"
    # the crossbar chip's levels are input rates (Hz), the others' DC currents (A)
    pcm = r.sel(chip="pcm_lif")
    assert np.all(np.isnan(pcm["i_in"].values)) and np.all(pcm["input_rate"].values > 0)
    np.testing.assert_allclose(pcm["input_rate"].values, float(pcm["threshold_rate"]) * r["fi_drive"].values)
    assert r["input_rate"].attrs["units"] == "Hz" and r["i_in"].attrs["units"] == "A"
    for name, var in {**r.data_vars, **r.coords}.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name


def test_spread_digital_none_dynap_some_calibration_reduces_it(every_chip):
    result, _ = every_chip
    r = result.results
    cv = r["ttfs_cv_within"].sel(n_pop=1)
    # digital: identical neurons, no devices: no TTFS spread, every neuron of a level at the same rate
    # (CVs to float rounding: identical TTFS, group means of identical values)
    assert float(cv.sel(chip="digital_lif")) < 1e-12
    assert float(r["fi_rate_std"].sel(chip="digital_lif").max()) == 0.0
    assert float(r["ttfs_cv_pooled"].sel(chip="digital_lif", n_pop=1)) < 1e-12
    assert np.isnan(float(r["ttfs_cv_slope"].sel(chip="digital_lif")))
    # DYNAP: device mismatch through the bias path
    for label in ("dynapse1 generic_180nm/fixed_current@300K", "dynapse2 generic_180nm/fixed_current@300K",
                  "tiny generic_180nm/fixed_current@300K"):
        assert float(cv.sel(chip=label)) > 0.0, label
    # the crossbar: programming and read noise of the PCM pairs make the same input rate give other
    # output rates (its TTFS at 40 x the threshold rate is a few steps of its digital neurons, which
    # the step grid may equalise)
    assert float(r["fi_rate_std"].sel(chip="pcm_lif").max()) > 0.0
    # BrainScaleS-2: the per-neuron trims of the file cancel most of the spread of the same chips
    calibrated = [str(c) for c in r["chip"].values if str(c).startswith("brainscales2 trims")]
    assert len(calibrated) == 1 and int(r["trim_bits"].sel(chip=calibrated[0])) == 8
    assert float(cv.sel(chip=calibrated[0])) < 0.5 * float(cv.sel(chip="brainscales2 uncalibrated"))


def test_missing_dynap_measurements_are_stated_not_faked(every_chip):
    result, folder = every_chip
    summary = json.loads((folder / "characterize-summary.json").read_text())["chips"]
    assert summary["dynapse2 generic_180nm/fixed_current@300K"]["not_measured"] == {}
    for label in ("brainscales2 uncalibrated", "pcm_lif", "digital_lif"):
        assert set(summary[label]["not_measured"]) == {"bias_mode", "temperature"}
        assert summary[label]["bias_mode"] == "not applicable"
    assert "digital_lif: bias_mode not applicable" in result.results.attrs["not_measured"]
    names = {p.name for p in folder.iterdir()}
    assert {"characterize-fi.png", "characterize-cv-vs-n.png", "characterize-enob-vs-n.png",
            "characterize-ttfs-histogram.png", "characterize-results.nc", "characterize-pcm_lif.nc"} <= names


def test_bad_chips_and_trim_files_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["study", "characterize", "--chips", "no_such_chip"]) == 2
    assert "no_such_chip" in capsys.readouterr().err
    assert main(["study", "characterize", "--chips", "digital_lif", "--trims", "missing.nc"]) == 2
    assert main(["study", "substrates", "--trims", "missing.nc"]) == 2
    assert main(["study", "characterize", "--chips", "digital_lif", "--trim-bits", "0"]) == 2
