"""Operating points of the shipped chips: synapses and adaptation act, figures match closed forms."""

import dataclasses

import numpy as np
import pytest

from mixsig.chip import load_chip
from mixsig.chip.operating_point import (ahp_point, core_circuits, decay_time_constant, dpi_point,
                                         pulse_log_gain, rate_threshold, weight_currents)
from mixsig.circuits import dpi, soma
from mixsig.experiment import default_experiment
from mixsig.engine.simulation import run


@pytest.mark.parametrize("name", ["dynapse1", "dynapse2"])
def test_every_weight_has_a_pulse_gain_of_order_one(name):
    chip = load_chip(name)
    _, synapses = core_circuits(chip)
    for i_w in weight_currents(chip).values():
        gain = dpi_point(synapses.ampa, i_w).gain
        # not inert (g << 1: r* of kHz), not a switch (g >> 1); dynapse1's pulse width is fitted
        # to a measured count (PMC8149394 Table 4), which puts 1-2 nA at g = 1.5-3.1
        assert 0.1 < gain < 4.0, (name, i_w, gain)


def test_one_pulse_from_rest_multiplies_the_current_by_exp_gain():
    # From I << i_gain the DPI equation is d ln I/dt = (I_in - i_tau)/(tau i_tau) during the pulse
    # (physics reference section 1.4): a pulse multiplies I by exp(g - t_pulse/tau).
    _, synapses = core_circuits(load_chip("dynapse2"))
    params = dataclasses.replace(synapses.ampa, i_gain=1e-6)
    i_w = 8e-9
    state = dpi.initial_state(params, (1, 1))
    state, _ = dpi.step(state, i_w, params, params.t_pulse)  # one step = exactly the pulse
    expected = np.exp(pulse_log_gain(i_w, params.t_pulse, params.c_syn, params.kappa, params.u_t)
                      - params.t_pulse / params.tau)
    assert state.i_syn[0, 0] / params.i_0 == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("factor, grows", [(0.7, False), (1.5, True)])
def test_a_regular_train_lifts_the_dpi_only_above_its_rate_threshold(factor, grows):
    _, synapses = core_circuits(load_chip("dynapse2"))
    params, i_w = synapses.ampa, 4e-9
    rate = factor * rate_threshold(i_w, params.t_pulse, params.i_tau)
    dt = 1e-5
    period = int(round(1.0 / (rate * dt)))
    state = dpi.initial_state(params, (1, 1))
    for k in range(int(0.5 / dt)):
        state, _ = dpi.step(state, i_w if k % period == 0 else 0.0, params, dt)
    # above r* the DPI climbs to ~ i_gain (r I_w t_pulse / i_tau - 1); below it stays near i_0
    assert (state.i_syn[0, 0] > 0.1 * params.i_gain) == grows


@pytest.mark.parametrize("name", ["dynapse1", "dynapse2"])
def test_the_shipped_neurons_adapt(name):
    params, _ = core_circuits(load_chip(name))
    assert ahp_point(params).gain == pytest.approx(1.0, rel=1e-3)
    i_in = 300e-12 if name == "dynapse1" else 3e-9  # output above f* (28 Hz, 20 Hz)
    adapting = np.diff(soma.constant_input_spike_times(params, 0.5, i_syn=i_in)[0])
    fixed = np.diff(soma.constant_input_spike_times(dataclasses.replace(params, i_w_ahp=0.0), 0.5, i_syn=i_in)[0])
    assert adapting[-1] / adapting[0] > 1.1
    assert fixed[-1] / fixed[0] == pytest.approx(1.0, abs=1e-6)


def test_decay_time_constant_of_an_exponential():
    times = np.linspace(0.0, 0.1, 101)
    assert decay_time_constant(times, 3e-12 * np.exp(-times / 0.02) + 0.0, 1e-13) == pytest.approx(0.02, rel=1e-12)


def test_the_default_experiment_is_active_without_weight_overrides():
    exp = default_experiment()
    assert exp.biases == ()  # the chip's own weights
    ds = run(exp.replace(duration=0.3, instances=1))
    counts = ds["spike_count"].values[0]
    exc, inh = counts[:192].mean() / 0.3, counts[192:256].mean() / 0.3
    assert 5.0 < exc < 50.0 and 5.0 < inh < 50.0, (exc, inh)
