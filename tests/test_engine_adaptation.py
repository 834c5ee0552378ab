"""Short-term depression and homeostatic scaling on the emulated chip (engine integration).

References are independent of the engine: the Tsodyks-Markram recursion of the reference paper
(``EPSC_{n+1} = EPSC_n (1 - U) e + A U (1 - e)``), its closed-form release of simultaneous pulses,
and the homeostatic set point (``r_target``).
"""

import math

import numpy as np
import pytest

from mixsig.chip import load_chip
from mixsig.circuits.homeostasis import leak_current
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, Record
from mixsig.io import check_dataset

I_W = 100e-9
WEIGHT = ((None, "synapse.i_w_3", I_W),)


def _experiment(trains, connections, biases=(), **changes):
    """One neuron (population ``n`` on core 0), spike-array input channels, no mismatch, no noise."""
    network = {
        "populations": {"n": {"size": changes.pop("size", 1), "core": 0}},
        "inputs": {"in": {"size": len(trains), "kind": "spike_array", "spike_times": [list(t) for t in trains]}},
        "connections": connections,
    }
    settings = dict(duration=1.0, device_model="none", noise=False, biases=WEIGHT + tuple(biases), network=network,
                    record=Record(router=False, parameters=False))
    settings.update(changes)
    return Experiment(**settings)


def _pulse_currents(simulation, steps):
    """Weight currents ``(4,)`` of neuron 0 in each of ``steps`` (ascending), read from the engine (neuron-major ``i_w``)."""
    dt = simulation.experiment.dt
    out = []
    for step in steps:
        simulation.advance((step - simulation.step_index) * dt)
        simulation.advance(dt)
        out.append(simulation.i_w[0, :].copy())
    return np.array(out)


def _tm_recursion(n, interval, tau_rec, u_se, amplitude):
    """Tsodyks & Markram 1997 Eq. 2 for a regular train from rest: EPSC_1 = A U, then the recursion."""
    e = math.exp(-interval / tau_rec)
    epsc = [amplitude * u_se]
    for _ in range(n - 1):
        epsc.append(epsc[-1] * (1.0 - u_se) * e + amplitude * u_se * (1.0 - e))
    return np.array(epsc)


def _stp(tau_rec, u_se, types=("ampa",)):
    return ((None, "stp.tau_rec", tau_rec), (None, "stp.u_se", u_se)) + tuple(
        (None, f"stp.enable_{t}", 1.0) for t in types)


@pytest.mark.parametrize("tau_rec, u_se", [(0.8, 0.67), (0.45, 0.55)])
@pytest.mark.parametrize("rate", [5.0, 40.0])
def test_depressing_synapse_follows_the_tsodyks_markram_recursion(tau_rec, u_se, rate):
    experiment = _experiment([], [], ())  # for dt only
    dt = experiment.dt
    period_steps = int(round(1.0 / (rate * dt)))
    steps = 10 + period_steps * np.arange(12)
    trains = [(steps + 0.5) * dt]
    connections = [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8}]
    simulation = Simulation(_experiment(trains, connections, _stp(tau_rec, u_se)))
    got = _pulse_currents(simulation, steps)
    expected = _tm_recursion(steps.size, period_steps * dt, tau_rec, u_se, I_W)
    np.testing.assert_allclose(got[:, 0], expected, rtol=1e-12)
    assert np.all(got[:, 1:] == 0.0)
    # Closed form of the recursion: geometric approach to the stationary value of the reference,
    # EPSC_n = st + (A U - st) ((1 - U) e)^(n - 1), st = A U (1 - e) / (1 - (1 - U) e).
    e = math.exp(-period_steps * dt / tau_rec)
    stationary = I_W * u_se * (1 - e) / (1 - (1 - u_se) * e)
    n = np.arange(steps.size)
    np.testing.assert_allclose(got[:, 0], stationary + (I_W * u_se - stationary) * ((1 - u_se) * e) ** n, rtol=1e-12)


def test_simultaneous_pulses_release_in_arrival_order():
    dt = _experiment([], []).dt
    u_se = 0.4
    # Channel 0 carries two pulses in step 20 (one arrival of count 2), channel 1 one more.
    trains = [[20.5 * dt, 20.6 * dt], [20.5 * dt]]
    connections = [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8}]
    simulation = Simulation(_experiment(trains, connections, _stp(1.0, u_se)))
    got = _pulse_currents(simulation, [20])[0, 0]
    # Three pulses at one instant from rest: U + U(1-U) + U(1-U)^2 = 1 - (1-U)^3.
    assert got == pytest.approx(I_W * (1.0 - (1.0 - u_se) ** 3), rel=1e-13)


def test_depression_acts_only_on_the_switched_type():
    dt = _experiment([], []).dt
    steps = np.array([5, 105, 205])
    connections = [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8},
                   {"pre": "in", "post": "n", "syn_type": "gaba", "weight_mask": 8}]
    simulation = Simulation(_experiment([(steps + 0.5) * dt], connections, _stp(0.5, 0.3, types=("gaba",))))
    got = _pulse_currents(simulation, steps)
    np.testing.assert_array_equal(got[:, 0], I_W)
    np.testing.assert_allclose(got[:, 2], _tm_recursion(3, 100 * dt, 0.5, 0.3, I_W), rtol=1e-12)


def test_adaptation_defaults_are_off_and_switches_are_validated():
    chip = load_chip("tiny")
    for name in ("stp.enable_ampa", "stp.enable_nmda", "stp.enable_gaba", "stp.enable_shunt", "homeostasis.enable"):
        np.testing.assert_array_equal(chip.biases[name], 0.0)
    experiment = _experiment([[0.01]], [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8}],
                             ((None, "stp.enable_ampa", 0.5), (None, "homeostasis.enable", 2.0)))
    with pytest.raises(ConfigError) as error:
        Simulation(experiment)
    message = str(error.value)
    assert "stp.enable_ampa" in message and "homeostasis.enable" in message


def _scaling(tau_h, time_scale, r_target=20.0, tau_r=0.1):
    return ((None, "homeostasis.enable", 1.0), (None, "homeostasis.r_target", r_target),
            (None, "homeostasis.tau_r", tau_r), (None, "homeostasis.i_leak", leak_current(tau_h)),
            (None, "homeostasis.time_scale", time_scale))


def test_gain_scales_excitatory_pulses_only_and_keeps_relative_weights():
    dt = _experiment([], []).dt
    steps = np.array([2000, 4000, 6000])
    connections = [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8},
                   {"pre": "in", "post": "n", "syn_type": "nmda", "weight_mask": 4},
                   {"pre": "in", "post": "n", "syn_type": "gaba", "weight_mask": 8}]
    biases = _scaling(100.0, 100.0) + ((None, "synapse.i_w_2", 30e-9),)
    simulation = Simulation(_experiment([(steps + 0.5) * dt], connections, biases))
    for step in steps:
        simulation.advance((step - simulation.step_index) * dt)
        gain = simulation.homeostatic_gain[0, 0]  # gain in force for the next step's pulses
        simulation.advance(dt)
        i_w = simulation.i_w[0, :]
        # A silent neuron: its trace decays below the target, so the gain has grown.
        assert gain > 1.0
        assert i_w[0] == I_W * gain and i_w[1] == 30e-9 * gain and i_w[2] == I_W
        assert i_w[1] / i_w[0] == pytest.approx(0.3, rel=1e-15)


def _rates(simulation, start, stop):
    """Rates (Hz) of every (instance, neuron) from the spikes in ``[start, stop)``."""
    instance, neuron, times = simulation.spikes()
    keep = (times >= start) & (times < stop)
    counts = np.zeros((simulation.n_instances, simulation.n))
    np.add.at(counts, (instance[keep], simulation.local[neuron[keep]]), 1.0)
    return counts / (stop - start)


def test_homeostasis_equalises_a_mismatched_population_at_the_target():
    # 16 mismatched neurons x 2 instances, one identical 2 kHz regular input (a quasi-DC drive
    # through the AMPA DPI). tau_h = 100 s fast-forwarded 50x: effective 2 s.
    period = 5e-4
    trains = [np.arange(0.0, 10.0, period) + period / 2]
    connections = [{"pre": "in", "post": "n", "syn_type": "ampa", "weight_mask": 8}]
    common = dict(size=16, instances=2, seed=3, device_model="generic_180nm", duration=10.0)
    # 2 kHz x 0.5 nA x 10 us = 1.9 i_tau: above the DPI's rate threshold; AHP off (this
    # tests the homeostatic loop alone)
    weight = ((None, "synapse.i_w_3", 0.5e-9), (None, "soma.i_w_ahp", 0.0))
    fixed = Simulation(_experiment(trains, connections, weight, **common))
    fixed.advance(3.0)
    before = _rates(fixed, 1.0, 3.0)
    adapted = Simulation(_experiment(trains, connections, weight + _scaling(100.0, 50.0), **common))
    adapted.advance(10.0)
    after = _rates(adapted, 7.0, 10.0)
    cv_before, cv_after = before.std() / before.mean(), after.std() / after.mean()
    assert cv_before > 0.2  # the mismatch spread the rates
    assert cv_before / cv_after >= 5.0
    assert abs(after.mean() / 20.0 - 1.0) < 0.05
    # Final gains recorded in the dataset, which obeys the schema.
    ds = adapted.dataset()
    check_dataset(ds)
    np.testing.assert_array_equal(ds["homeostasis__gain"].values, adapted.homeostatic_gain)
    assert ds["homeostasis__gain"].attrs["units"] == "1"


def test_adaptive_run_in_chunks_equals_one_run():
    rng = np.random.default_rng(5)
    trains = [np.sort(rng.uniform(0.0, 0.4, 150)) for _ in range(3)]
    connections = [{"pre": "in", "post": "n", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 8},
                   {"pre": "n", "post": "n", "rule": "all_to_all", "syn_type": "nmda", "weight_mask": 8}]
    biases = _stp(0.3, 0.2, types=("ampa", "nmda")) + _scaling(10.0, 10.0) + ((None, "soma.i_dc", 3e-11),)
    experiment = _experiment(trains, connections, biases, size=4,
                             device_model="generic_180nm", instances=2, duration=0.4)
    whole = Simulation(experiment)
    whole.advance(0.4)
    pieces = Simulation(experiment)
    for piece in (0.1234, 0.0766, 0.2):
        pieces.advance(piece)
    assert whole.n_spikes > 10
    for a, b in zip(whole.spikes(), pieces.spikes()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.homeostatic_gain, pieces.homeostatic_gain)
    np.testing.assert_array_equal(whole.stp_resources, pieces.stp_resources)
    assert whole.router.delivered > 10
