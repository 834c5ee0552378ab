"""The substrates study: the same task on several chips, per-neuron calibration against averaging."""

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
    assert float(cv.sel(condition="digital_lif")) == 0.0  # no device mismatch: identical neurons
    assert float(result.results["decoding_rmse"].sel(condition="digital_lif", n_pop=1)) < 1e-12  # interpolation rounding
    names = {p.name for p in tmp_path.iterdir()}
    assert {"substrates-enob.png", "substrates-decoding.png", "substrates-trim-bits.png",
            "substrates-results.nc"} <= names


def test_cli_refuses_options_of_other_studies(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["study", "substrates", "--temperatures", "300"]) == 2
    assert main(["study", "characterize", "--trim-bits", "4"]) == 2
    assert "substrates" in capsys.readouterr().err


def test_characterize_points_other_chips_to_this_study():
    from mixsig.errors import ConfigError
    from mixsig.studies.characterize import characterize

    with pytest.raises(ConfigError, match="study substrates"):
        characterize(chip="brainscales2")
