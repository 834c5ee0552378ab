"""The substrates study: the same task on several chips, per-neuron calibration against averaging."""

import dataclasses

import numpy as np
import pytest

from mixsig.cli import main
from mixsig.studies.substrates import decoding_error, substrates


def test_decoding_error_of_the_nominal_population_is_zero_and_of_an_offset_is_known():
    levels = np.array([1.0, 2.0, 3.0])
    nominal = np.array([10.0, 20.0, 30.0])
    exact = np.broadcast_to(nominal, (2, 8, 3)).copy()
    np.testing.assert_array_equal(decoding_error(exact, nominal, levels, [1, 2, 4]), 0.0)
    # every rate 5 Hz high: x_hat - x = 5 / 20 = 0.25 at the two lower levels, clipped to 0 at the top
    shifted = exact + 5.0
    np.testing.assert_allclose(decoding_error(shifted, nominal, levels, [1]), [np.sqrt(2 * 0.25 ** 2 / 3)])


@pytest.mark.slow
def test_calibration_beats_the_uncalibrated_chip_and_digital_is_exact(tmp_path):
    """Tiny settings (16 neurons, 8-bit trims, 3 levels in 80 ms windows): about 40 s with warm kernels."""
    result = substrates(chips=("brainscales2", "digital_lif"), trim_bits=(8,), instances=2, neurons=16,
                        sizes=(1, 4), levels=(1.5, 2.0, 3.0), window=0.08, settle=0.02, output=str(tmp_path),
                        progress=False)
    cv = result.results["cv_within"].sel(n_pop=1)
    assert float(cv.sel(condition="brainscales2 calibrated 8 bit")) < 0.5 * float(cv.sel(condition="brainscales2 uncalibrated"))
    assert float(cv.sel(condition="digital_lif")) < 1e-12  # no device mismatch: identical neurons (rounding of the means)
    assert float(result.results["decoding_rmse"].sel(condition="digital_lif", n_pop=1)) < 1e-12  # interpolation rounding
    names = {p.name for p in tmp_path.iterdir()}
    assert {"substrates-enob.png", "substrates-decoding.png", "substrates-trim-bits.png",
            "substrates-results.nc"} <= names


def test_cli_refuses_options_of_other_studies(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["study", "substrates", "--temperatures", "300"]) == 2
    assert main(["study", "characterize", "--task", "synapses"]) == 2
    assert main(["study", "substrates", "--times", "1,100"]) == 2  # the DC task never reads the crossbar
    assert "substrates" in capsys.readouterr().err


@pytest.mark.slow
def test_synapse_task_shows_crossbar_variability_and_drift_and_digital_has_no_spread(tmp_path):
    """Task ``synapses`` on pcm_lif (1 s and 1 year after programming) and digital_lif, tiny settings."""
    result = substrates(chips=("pcm_lif", "digital_lif"), task="synapses", instances=2, neurons=16, sizes=(1, 4),
                        levels=(1.5, 2.0, 3.0), window=0.3, settle=0.05, t_since_program=(1.0, 3.15e7),
                        output=str(tmp_path), progress=False)
    r = result.results
    fresh, aged = "pcm_lif 1 s after programming", "pcm_lif 3.15e+07 s after programming"
    # digital: no devices: every neuron identical (the decoder, the chip as designed, differs by the 0.4 % weight rounding)
    assert float(r["cv_within"].sel(condition="digital_lif", n_pop=1)) < 1e-12
    assert float(r["decoding_rmse"].sel(condition="digital_lif", n_pop=1)) < 0.02  # the rounding's (0.0028 at 2.5 s)
    # the crossbar's programming and read noise make neurons differ (the DC task cannot show it) ...
    assert float(r["cv_within"].sel(condition=fresh, n_pop=1)) > 0.005
    # ... and averaging N = 4 independent columns shrinks the spread
    assert float(r["cv_within"].sel(condition=fresh, n_pop=4)) < float(r["cv_within"].sel(condition=fresh, n_pop=1))
    # drift G(t) = G0 (t / t0)^-nu lowers every column current: lower rates at every level, and without
    # compensation the nominal decoder reads x too low, a larger error after a year than after 1 s
    assert np.all(r["rate_mean"].sel(condition=aged).values < r["rate_mean"].sel(condition=fresh).values)
    assert float(r["decoding_rmse"].sel(condition=aged, n_pop=4)) > 3 * float(r["decoding_rmse"].sel(condition=fresh, n_pop=4))
    assert r["threshold"].attrs["units"] == "Hz"
    assert bool(r["decoder_invertible"].all())  # both nominal curves increase with the input rate
    assert {"substrates-drift.png", "substrates-decoding.png"} <= {p.name for p in tmp_path.iterdir()}


def test_synapse_task_weight_mask_is_the_nearest_fraction_of_full_scale():
    from types import SimpleNamespace

    from mixsig.studies.substrates import quantisation_error, weight_mask

    assert weight_mask(SimpleNamespace(weight_bits=4), 0.25) == 4  # round(3.75)
    assert weight_mask(SimpleNamespace(weight_bits=6), 0.25) == 16  # round(15.75)
    assert weight_mask(SimpleNamespace(weight_bits=1), 0.25) == 1  # at least one bit
    assert quantisation_error(SimpleNamespace(weight_bits=4), 0.25) == pytest.approx(4 / 3.75 - 1)
    assert quantisation_error(SimpleNamespace(weight_bits=8), 0.25) == pytest.approx(64 / 63.75 - 1)


def test_design_biases_give_the_exact_target_weight():
    from mixsig.chip import load_chip
    from mixsig.engine.simulation import Simulation
    from mixsig.studies.substrates import SubstratesSettings, _experiment, design_biases

    settings = SubstratesSettings(task="synapses", window=0.1, settle=0.05, fan_in=4)
    for name, bits in (("digital_lif", 8), ("dynapse2", 4)):
        chip = load_chip(name)
        exp = _experiment(name, chip, settings, "none", [[10.0]], 0.1, biases=design_biases(chip, settings))
        full = sum(chip.biases[f"synapse.i_w_{b}"][0] for b in range(bits))
        np.testing.assert_allclose(Simulation(exp).compiled.cam_weight, 0.25 * full, rtol=1e-12)
    assert design_biases(load_chip("digital_lif"), SubstratesSettings()) == ()  # task dc: no weights


def test_digital_weight_quantisation_shows_in_the_synapse_task():
    """The decoder is the chip as designed (exact weight 63.75 LSB, input read 64 x more finely);
    the 8-bit chip rounds the weight to 64 LSB (+0.4 %): a small, common error, still no spread."""
    result = substrates(chips=("digital_lif",), task="synapses", instances=1, neurons=4, sizes=(1, 2),
                        levels=(1.5, 2.0, 3.0), window=1.05, settle=0.05, progress=False).results.sel(condition="digital_lif")
    assert float(result["weight_quantisation_error"]) == pytest.approx(64 / 63.75 - 1)
    assert float(result["cv_within"].sel(n_pop=1)) < 1e-12  # deterministic: identical neurons
    error = result["decoding_rmse"].values
    assert np.all(error > 1e-4) and error[0] == pytest.approx(error[1])  # common: averaging does not remove it


@pytest.mark.slow
def test_dynapse2_synapse_task_is_decodable_once_adaptation_has_settled():
    """DYNAP-SE2's spike-frequency adaptation (about 50 ms) made 50 ms of settling count its onset and
    the previous level's leftover: the nominal rate curve did not increase. The task's timing
    (0.5 s settling, rates from interspike intervals) gives an increasing curve."""
    common = dict(chips=("dynapse2",), task="synapses", instances=1, neurons=4, sizes=(1, 2), progress=False)
    assert bool(substrates(**common).results["decoder_invertible"].all())
    onset = substrates(**common, window=0.2, settle=0.05).results  # the old timing: the curve falls
    assert not bool(onset["decoder_invertible"].all())
