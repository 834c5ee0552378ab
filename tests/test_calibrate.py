"""Per-neuron calibration of the BrainScaleS-2-like chip: residual vs trim resolution, trim files, refusals.

The calibration runs on a 2 x 16-neuron copy of ``brainscales2`` (same cells, device model and
protocols) so that it takes seconds. The emulator knows each neuron's actual parameters
(``CalibrationResult.true_after``), so the residual is checked against the truth, not against
the calibration's own measurement.
"""

import pathlib

import numpy as np
import pytest

import mixsig
from mixsig import paths
from mixsig.calibrate import calibrate
from mixsig.cli import main
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, Record
from mixsig.trims import read_trims, write_trims

SHIPPED = paths.shipped("brainscales2", "chip_configs")


@pytest.fixture(scope="module")
def small_chip(tmp_path_factory):
    text = SHIPPED.read_text().replace("neurons_per_core = 256", "neurons_per_core = 16")
    path = tmp_path_factory.mktemp("chip") / "bss2_small.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def result(small_chip):
    return calibrate(small_chip, instances=2, bits=6)


def test_residual_is_set_by_the_trim_step(result):
    """At 6 bits the calibrated parameters scatter around their targets as a uniform quantiser of one
    code step does (rms ``step / sqrt(12)``), plus the measurement's own error (measured minus
    actual, rms ``sigma``): rms within ``[0.5, 1.5] x sqrt(step^2/12 + sigma^2)`` (32 neurons: the rms
    estimate's relative spread is about 13 %; multiplicative mismatch widens a neuron's step by its
    factor, CV 20-30 %). Before calibration the spread is the device model's (20 mV, CV 20-30 %)."""
    for name, target in result.targets.items():
        error = result.true_after[name] - target
        sigma = np.sqrt(np.mean((result.residual(name) + result.targets[name] - result.true_after[name]) ** 2))
        limit = np.sqrt(result.lsb[name] ** 2 / 12 + sigma ** 2)
        rms = np.sqrt(np.mean(error ** 2))
        assert 0.5 * limit <= rms <= 1.5 * limit, name
        before = np.sqrt(np.mean((result.true_before[name] - target) ** 2))
        assert rms < 0.3 * before, name


def test_part_of_a_chip_keeps_the_others_nominal(small_chip):
    part = calibrate(small_chip, instances=1, bits=4, per_core=3)
    np.testing.assert_array_equal(part.neurons, [0, 1, 2, 16, 17, 18])
    measured = part.trims.measured["adex.e_l"]
    assert np.isfinite(measured[:, part.neurons]).all() and np.isnan(np.delete(measured, part.neurons, axis=1)).all()
    ideal = part.trims.codes["adex.e_l"][0, 5]
    assert np.all(np.delete(part.trims.codes["adex.e_l"], part.neurons, axis=1) == ideal)


@pytest.mark.parametrize("suffix", [".nc", ".toml"])
def test_trim_file_round_trip_and_run(result, small_chip, tmp_path, suffix):
    """A run loading the trim file has exactly the calibrated parameters."""
    path = tmp_path / f"trims{suffix}"
    write_trims(result.trims, path)
    back = read_trims(path)
    for name, codes in result.trims.codes.items():
        np.testing.assert_array_equal(back.codes[name], codes)
    exp = Experiment(chip=small_chip, device_model="hx_65nm", instances=2, noise=False, duration=1e-3,
                     trims=str(path), network={"populations": {"p": {"size": 16, "core": 0}}},
                     record=Record(parameters=True))
    ds = mixsig.run(exp, progress=False)
    np.testing.assert_array_equal(ds["adex__e_l"].values, result.true_after["adex.e_l"][:, :16])
    np.testing.assert_array_equal(ds["adex__v_cut"].values, result.true_after["adex.v_cut"][:, :16])
    assert ds.attrs["trims"] == path.name


@pytest.mark.parametrize("name", ["missing.nc", "missing.toml"])
def test_missing_trim_file_is_named_once(tmp_path, name):
    """A missing trim file is refused as 'an existing trim file' (the noun once, not 'file file')."""
    with pytest.raises(ConfigError) as caught:
        read_trims(tmp_path / name)
    assert caught.value.problems[0].expected == "an existing trim file"


def test_trims_of_other_chips_are_refused(result, small_chip, tmp_path):
    path = tmp_path / "trims.nc"
    write_trims(result.trims, path)
    exp = Experiment(chip=small_chip, device_model="hx_65nm", seed=5, instances=3, trims=str(path), duration=1e-3,
                     network={"populations": {"p": {"size": 4, "core": 0}}})
    with pytest.raises(ConfigError, match="trims.seed"):
        mixsig.run(exp, progress=False)
    with pytest.raises(ConfigError, match="capmem"):
        mixsig.run(exp.replace(chip="tiny", device_model="none", seed=0), progress=False)


@pytest.mark.parametrize("argv, key", [
    (["calibrate", "brainscales2", "--bits", "0", "-o", "t.nc"], "bits"),
    (["calibrate", "brainscales2", "-o", "t.csv"], "--output"),
    (["calibrate", "tiny", "-o", "t.nc"], "capmem"),
])
def test_cli_refusals_exit_2(argv, key, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert key in capsys.readouterr().err
