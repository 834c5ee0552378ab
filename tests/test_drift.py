"""Temperature profiles, temperature and ageing factors against independent closed forms."""

import math

import numpy as np
import pytest
from scipy import optimize

from mixsig.constants import K_B, Q_E
from mixsig.device import TemperatureProfile, factors, factors_at, sample_mismatch
from mixsig.device.calibration import parse_device_model

PELGROM = {"source": "bias", "distribution": "pelgrom", "transistor": "n", "kappa": 0.7, "w": 1e-6, "l": 1e-6}


def model(bias="fixed_current", **params):
    data = {
        "model": {"name": "unit"},
        "technology": {"a_vt": 5e-9, "a_c": 1e-8},
        "temperature": {"t_nominal": 300.0, "dvt_dt": -1.5e-3, "bias": bias, "i_spec": 1e-7},
        "ageing": {"rate": 2e-3, "spread": 0.5e-3, "tau": 10.0},
        "noise": {"shot": True, "flicker": False},
        "parameters": params or {"soma.i_tau": PELGROM},
    }
    return parse_device_model(data, "<test>")


def draw(m, n=64):
    return sample_mismatch(m, n_cores=2, neurons_per_core=n // 2, synapses_per_neuron=0, instances=2, seed=11)


def test_profile_piecewise_linear_and_constant():
    profile = TemperatureProfile([0.0, 10.0, 20.0], [300.0, 310.0, 290.0])
    assert profile(-1.0) == 300.0 and profile(5.0) == pytest.approx(305.0) and profile(15.0) == pytest.approx(300.0)
    assert profile(25.0) == 290.0
    np.testing.assert_allclose(profile(np.array([2.5, 12.5])), [302.5, 305.0])
    assert TemperatureProfile.constant(320.0)(1e6) == 320.0


@pytest.mark.parametrize("times, temps", [([0, 0], [300, 300]), ([0, 1], [300, -1]), ([0, 1], [300]), ([], [])])
def test_profile_rejects_bad_tables(times, temps):
    with pytest.raises(ValueError):
        TemperatureProfile(times, temps)


def test_fixed_current_factor_follows_boltzmann():
    m = model()
    ds = draw(m)
    dvt = ds["soma.i_tau"].values
    for temperature in (280.0, 300.0, 330.0):
        ut = K_B * temperature / Q_E
        np.testing.assert_allclose(factors(ds, temperature)["soma.i_tau"].values, np.exp(0.7 * dvt / ut), rtol=1e-12)


def test_fixed_gate_against_solved_gate_voltage():
    """Solve Vg from I_nom at T0 independently, then evaluate the transistor law at T."""
    m = model("fixed_gate")
    ds = draw(m, 8)
    dvt = ds["soma.i_tau"].values
    i_nom, i_spec, kappa, vt0 = 20e-12, 1e-7, 0.7, 0.45

    def current(vg, temperature, offset):
        ut = K_B * temperature / Q_E
        vt = vt0 - 1.5e-3 * (temperature - 300.0)
        return i_spec * np.exp(kappa * (vg - vt + offset) / ut)

    vg = optimize.brentq(lambda v: math.log(current(v, 300.0, 0.0) / i_nom), -1.0, 1.0, xtol=1e-15)
    for temperature in (290.0, 310.0):
        got = factors(ds, temperature, nominal={"soma.i_tau": i_nom})["soma.i_tau"].values * i_nom
        np.testing.assert_allclose(got, current(vg, temperature, dvt), rtol=1e-9)
    with pytest.raises(KeyError):
        factors(ds, 310.0)


def test_ageing_log_time_law():
    m = model()
    ds = draw(m)
    rate = ds["soma.i_tau.ageing_rate"].values
    assert np.mean(rate) == pytest.approx(2e-3, abs=5 * 0.5e-3 / 8)
    fresh = factors(ds, 300.0, 0.0)["soma.i_tau"].values
    for decades in (1, 3):
        age = 10.0 * (10.0**decades - 1.0)
        aged = factors(ds, 300.0, age)["soma.i_tau"].values
        np.testing.assert_allclose(aged / fresh, np.exp(-0.7 * rate * decades / (K_B * 300.0 / Q_E)), rtol=1e-10)
    with pytest.raises(ValueError):
        factors(ds, 300.0, -1.0)


def test_capacitor_and_threshold_drift():
    m = model(
        **{
            "soma.c_mem": {"source": "capacitor", "distribution": "pelgrom", "w": 1e-5, "l": 1e-5},
            "soma.v_ref": {"source": "threshold", "distribution": "pelgrom", "transistor": "n", "w": 1e-6, "l": 1e-6},
        }
    )
    ds = draw(m)
    out = factors(ds, 320.0, 90.0)
    np.testing.assert_allclose(out["soma.c_mem"].values, np.exp(ds["soma.c_mem"].values), rtol=1e-14)
    expected = ds["soma.v_ref"].values - 1.5e-3 * 20.0 + ds["soma.v_ref.ageing_rate"].values * 1.0
    np.testing.assert_allclose(out["soma.v_ref"].values, expected, rtol=1e-12)
    assert out["soma.v_ref"].attrs["units"] == "V" and out["soma.c_mem"].attrs["units"] == "1"


def test_factors_at_uses_profile_and_age():
    m = model()
    ds = draw(m)
    profile = TemperatureProfile([0.0, 100.0], [300.0, 310.0])
    at = factors_at(ds, profile, 50.0, age_at_start=1000.0)
    direct = factors(ds, 305.0, 1050.0)
    np.testing.assert_array_equal(at["soma.i_tau"].values, direct["soma.i_tau"].values)
    assert at.attrs["temperature"] == 305.0
