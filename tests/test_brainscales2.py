"""The BrainScaleS-2-like chip: AdEx kernel behind the protocol, time base, config refusals.

The engine's AdEx neurons are checked against ``scipy.integrate.solve_ivp`` of the AdEx equations
(:func:`mixsig.circuits.adex.reference_run`, written independently of the compiled kernel).
"""

import numpy as np
import pytest

import mixsig
from mixsig.chip import load_chip
from mixsig.circuits.adex import AdExParams, reference_run
from mixsig.engine.protocol import ADEX, kernel_for
from mixsig.errors import ConfigError
from mixsig.experiment import DCStep, Experiment, Record

CHIP = load_chip("brainscales2")


def _nominal(name):
    return float(CHIP.biases[name][0])


def _experiment(**changes):
    network = {"populations": {"p": {"size": 4, "core": 0}}}
    base = dict(chip="brainscales2", device_model="none", noise=False, duration=0.3, instances=1,
                network=network, dc=(DCStep(amplitude=6e-11, population="p"),))
    return Experiment(**{**base, **changes})


def test_adex_chip_picks_the_adex_kernel():
    assert kernel_for("adex", "fast") is ADEX and kernel_for("adex", "exact") is ADEX
    assert kernel_for("silicon", "exact").name == "exact"


def test_engine_spike_times_match_solve_ivp():
    """Nominal neurons under a DC step fire at the times of the AdEx equations' reference solution.

    Tolerance 1 us: the kernel's crossings are located to 1e-12 s and its sub-steps hold a local
    error of 1e-9 (relative), which accumulate to well below 1 us over a few spikes (the circuit's
    own validation measures < 1 ns); the engine adds the DPIs' dark currents, which cancel
    (ampa + nmda - gaba - shunt at the same floor).
    """
    exp = _experiment()
    ds = mixsig.run(exp, progress=False)
    names = ("c_m", "g_l", "e_l", "v_t", "delta_t", "tau_w", "a", "b", "v_r", "v_cut")
    params = AdExParams(**{n: _nominal(f"adex.{n}") for n in names}, i_ext=6e-11)
    expected = reference_run(params, 0.0, exp.duration).spike_times
    assert expected.size >= 3
    neuron = int(ds.neuron[0])
    got = np.sort(ds.spike_time.values[ds.spike_neuron.values == neuron])
    assert got.size == expected.size
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_dataset_reports_model_and_hardware_time():
    exp = _experiment(duration=0.01, record=Record(traces=("v_mem", "i_ahp"), neurons=(0,), interval=1e-3))
    ds = mixsig.run(exp, progress=False)
    assert ds.attrs["acceleration"] == 1000.0 and ds.attrs["neuron_model"] == "adex"
    np.testing.assert_array_equal(ds["time_hardware"].values, ds["time"].values / 1000.0)
    assert ds["time_hardware"].attrs["units"] == "s"
    v = ds["v_mem"].values
    assert np.all((v > 0.5) & (v < 0.9))  # between reset/leak and the spike cut of the config, V


def test_adex_chip_refuses_a_silicon_trace():
    exp = _experiment(record=Record(traces=("i_mem",), neurons=(0,), interval=1e-3))
    with pytest.raises(ConfigError, match="record.traces"):
        mixsig.run(exp, progress=False)


def test_mismatch_spreads_the_leak_potential():
    """hx_65nm draws e_l per neuron with sigma = a_vt / sqrt(2 w l) = 20 mV (its file)."""
    exp = _experiment(device_model="hx_65nm", instances=4, duration=0.001, dc=(),
                      network={"populations": {"p": {"size": 256, "core": 0}}},
                      record=Record(parameters=True))
    ds = mixsig.run(exp, progress=False)
    e_l = ds["adex__e_l"].values
    sigma = 3.5e-9 / np.sqrt(2 * 0.124e-6 * 0.124e-6)
    n = e_l.size
    # sample standard deviation within 5 standard errors (sigma / sqrt(2 (n - 1)))
    assert abs(e_l.std(ddof=1) - sigma) < 5 * sigma / np.sqrt(2 * (n - 1))
    assert abs(e_l.mean() - _nominal("adex.e_l")) < 5 * sigma / np.sqrt(n)
