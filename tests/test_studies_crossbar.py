"""The crossbar study: shapes, determinism, drift behaviour and the command line."""

import numpy as np
import pytest

from mixsig.cli import main
from mixsig.errors import ConfigError
from mixsig.studies.crossbar import DAY, crossbar_study

SMALL = dict(times=(0.0, 365.25 * DAY), variability=(1.0,), adc_bits=(12,), instances=2, rows=16, columns=4,
             classes=4, samples=64)


def test_results_shape_units_and_determinism():
    a = crossbar_study(**SMALL).results
    b = crossbar_study(**SMALL).results
    assert a["mvm_error"].dims == ("instance", "variability", "adc_bits", "compensation", "time")
    assert all("units" in a[name].attrs and "long_name" in a[name].attrs for name in a.variables)
    np.testing.assert_array_equal(a["mvm_error"].values, b["mvm_error"].values)


def test_drift_shrinks_outputs_and_compensation_restores_them():
    # without read noise and with write noise off, the only error after a year is the drift's
    # global shrink (G ~ 0.5 G_prog) plus its device-to-device spread; compensation removes the
    # global part.
    r = crossbar_study(**{**SMALL, "variability": (0.0,), "read_noise": False}).results
    err = r["mvm_error"].mean("instance").sel(variability=0.0, adc_bits=12)
    assert float(err.sel(compensation=0).isel(time=1)) > 0.3
    assert float(err.sel(compensation=1).isel(time=1)) < 0.15
    assert float(err.sel(compensation=0).isel(time=0)) < 0.02


def test_bad_settings_are_listed():
    with pytest.raises(ConfigError) as error:
        crossbar_study(times=(-1.0,), adc_bits=(0,), instances=0)
    assert {p.key for p in error.value.problems} == {"times", "adc_bits", "instances"}


def test_command_line_writes_and_refuses(tmp_path, capsys):
    out = tmp_path / "cb"
    assert main(["study", "crossbar", "-o", str(out), "--instances", "1", "--times", "0,3600",
                 "--adc-bits", "6", "--variability", "1"]) == 0
    assert (out / "crossbar-results.nc").is_file() and (out / "crossbar-accuracy-vs-time.png").is_file()
    assert main(["study", "crossbar", "-o", str(out), "--sizes", "4"]) == 2
    assert main(["study", "population", "-o", str(out), "--adc-bits", "4"]) == 2
    bad = tmp_path / "bad.toml"
    text = (__import__("importlib").resources.files("device_models") / "pcm_ibm.toml").read_text()
    bad.write_text(text.replace("g_min = 0.0 ", "g_min = 30.0e-6 ").replace("nu_mu_min = 0.049", "nu_mu_min = -0.01"))
    assert main(["study", "crossbar", "-o", str(out), "--device-model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "conductance.g_max" in err and "drift.nu_mu_min" in err
