"""Device switches of an experiment: ``mismatch_scale``, ``mismatch``, ``drift`` (and ``noise``)."""

import numpy as np
import pytest

from mixsig.engine.simulation import Simulation, run
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, experiment_from_dict

NETWORK = {"populations": {"p": {"size": 16, "core": 0}, "q": {"size": 8, "core": 1}}}
BASE = Experiment(duration=0.02, instances=3, seed=5, network=NETWORK,
                  biases=((None, "soma.i_dc", 2e-9),))
# Per-neuron currents and capacitances of the soma and a DPI: ln(x / x_nominal) is the deviation.
NAMES = ("soma__i_tau", "soma__i_gain", "soma__c_mem", "ampa__i_tau", "ampa__c_syn")


def _log_deviation(ds, name):
    nominal = run(BASE.replace(mismatch=False), progress=False)[name].values
    return np.log(ds[name].values / nominal)


@pytest.fixture(scope="module")
def calibrated():
    return run(BASE, progress=False)


def test_zero_scale_gives_nominal_devices_with_noise_still_on(calibrated):
    ds = run(BASE.replace(mismatch_scale=0.0), progress=False)
    for name in NAMES:
        values = ds[name].values
        assert np.ptp(values[:, :16]) == 0.0 and np.ptp(values[:, 16:]) == 0.0, name  # one value per core
        assert np.ptp(calibrated[name].values[:, :16]) > 0, name  # while the calibration spreads them
    assert bool(ds.attrs["noise"]) and ds.attrs["mismatch_scale"] == 0.0
    times = ds["spike_time"].values
    first, second = (times[ds["spike_instance"].values == i] for i in (0, 1))
    assert first.size > 0 and first.size == second.size
    assert not np.array_equal(first, second)  # identical devices: the instances differ by their noise alone


def test_the_scale_multiplies_every_log_deviation(calibrated):
    """Lognormal currents and capacitances: ``ln(x/x_nom)`` of the same draw scales linearly."""
    half = run(BASE.replace(mismatch_scale=0.5), progress=False)
    double = run(BASE.replace(mismatch_scale=2.0), progress=False)
    for name in NAMES:
        one = _log_deviation(calibrated, name)
        assert np.std(one) > 1e-5, name
        np.testing.assert_allclose(_log_deviation(half, name), 0.5 * one, rtol=1e-9, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(_log_deviation(double, name), 2.0 * one, rtol=1e-9, atol=1e-12, err_msg=name)


def test_mismatch_switch_off_equals_scale_zero():
    off = run(BASE.replace(mismatch=False), progress=False)
    zero = run(BASE.replace(mismatch_scale=0.0), progress=False)
    for name in (*NAMES, "spike_time", "spike_count"):
        np.testing.assert_array_equal(off[name].values, zero[name].values)


def test_drift_switch_removes_ageing():
    aged = BASE.replace(device_model="generic_180nm", duration=0.01)
    simulation = Simulation(aged.replace(drift=False))
    assert not simulation.drifting  # constant temperature and no ageing: nothing to re-evaluate
    rates = [values for values, attrs in simulation.mismatch[0].values() if "source" not in attrs]
    assert rates and all(not np.any(r) for r in rates)
    assert run(aged.replace(drift=False), progress=False).attrs["drift"] in (False, 0)


def test_switches_load_from_a_file_and_are_validated():
    data = {"duration": 0.01, "populations": {"p": {"size": 2, "core": 0}},
            "mismatch": False, "mismatch_scale": 0.25, "drift": False}
    exp = experiment_from_dict(data)
    assert (exp.mismatch, exp.mismatch_scale, exp.drift) == (False, 0.25, False)
    with pytest.raises(ConfigError) as error:
        experiment_from_dict({**data, "mismatch_scale": 2.5, "drift": "no"})
    message = str(error.value)
    assert "mismatch_scale" in message and "drift" in message
    with pytest.raises(ConfigError):
        BASE.replace(mismatch_scale=-0.1).check()
