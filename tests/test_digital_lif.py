"""Digital fixed-point LIF: integer closed forms and parameter checks."""

import math

import numpy as np
import pytest

from mixsig.circuits import digital_lif


def run(params, inputs, shape=(1,)):
    state = digital_lif.initial_state(shape)
    trace = []
    for a in inputs:
        state, spiked = digital_lif.step(state, a, params)
        trace.append((state.u.copy(), state.v.copy(), spiked.copy()))
    return trace


def test_no_voltage_decay_integrates_current_exactly():
    # d_v = 0: v accumulates u; d_u = 2^B: u is the input of the step only.
    params = digital_lif.DigitalLIFParams(d_u=4096, d_v=0, v_th=10 ** 5, bias=3)
    trace = run(params, [5, 0, -2, 0])
    assert [int(t[1][0]) for t in trace] == [5 * 64 + 3, 5 * 64 + 6, 5 * 64 + 9 - 128, 5 * 64 + 12 - 128]


def test_current_decay_truncates_toward_zero():
    # u' = trunc(u (4096 - 2048) / 4096) = trunc(u / 2), for both signs
    params = digital_lif.DigitalLIFParams(d_u=2048, d_v=4096, v_th=10 ** 5)
    trace = run(params, [[3, -3], [0, 0], [0, 0]], shape=(2,))
    assert trace[1][0].tolist() == [96, -96] and trace[2][0].tolist() == [48, -48]
    assert int(digital_lif.decay(np.int64(-5), 2048, 12)) == -2


def test_spike_resets_and_threshold_is_strict():
    params = digital_lif.DigitalLIFParams(d_u=4096, d_v=4096, v_th=1, bias=64)
    assert not run(params, [0])[0][2][0]  # v = 64 = threshold: no spike (v > v_th 2^6)
    params = digital_lif.DigitalLIFParams(d_u=4096, d_v=4096, v_th=1, bias=65)
    u, v, spiked = run(params, [0])[0]
    assert spiked[0] and v[0] == 0


def test_current_wraps_and_voltage_saturates():
    params = digital_lif.DigitalLIFParams(d_u=0, d_v=0, v_th=2 ** 17 - 1, bias=0, state_bits=24)
    top = 2 ** 23
    trace = run(params, [2 ** 16, 2 ** 16, 1])  # u: 2^22, 2^23 (not above 2^23: kept), then wraps
    assert int(trace[1][0][0]) == top
    assert int(trace[2][0][0]) == top + 64 - 2 * top
    params = digital_lif.DigitalLIFParams(d_u=0, d_v=0, bias=-(top - 1))
    assert [int(t[1][0]) for t in run(params, [0, 0])] == [-(top - 1)] * 2  # v saturates


def test_decay_register_matches_time_constant():
    d = digital_lif.decay_register(0.02, 1e-3, 12)
    assert d == round(4096 * (1 - math.exp(-0.05)))
    assert digital_lif.decay_register(np.inf, 1e-3, 12) == 0


@pytest.mark.parametrize("field, value", [("decay_bits", 1), ("state_bits", 0), ("d_u", 5000), ("d_v", -1),
                                          ("v_th", 0), ("v_th", 2 ** 18), ("bias", 2 ** 23), ("d_u", 1.5),
                                          ("activation_shift", -1), ("state_bits", 60)])
def test_invalid_registers_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        digital_lif.DigitalLIFParams(**{field: value})


def test_first_spike_step_closed_form_matches_real_recurrence():
    alpha, bias, threshold = 0.99, 2.0, 120.0
    _, spikes = digital_lif.real_recurrence(np.zeros(500), 0.5, alpha, bias, threshold)
    assert spikes[0] == digital_lif.first_spike_step(bias, alpha, threshold)
