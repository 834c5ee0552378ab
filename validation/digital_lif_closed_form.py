"""Digital fixed-point LIF (Loihi CUBA): bit-exact recurrence, closed-form first spike, continuous limit.

The digital reference neuron (:mod:`mixsig.circuits.digital_lif`, Davies et al. 2018 IEEE Micro
Eqs. 1-2; Lava ``PyLifModelBitAcc``) is checked three ways:

* **bit-exact recurrence**: 64 neurons with Loihi 1 widths (12-bit decays, 24-bit state) driven
  for 2000 steps by random signed inputs large enough to wrap ``u`` and saturate ``v``, against an
  independent evaluation of the same integer recurrence in Python integers written as Lava writes
  it (``sign(x) * (|x| >> 12)``, wrap of ``u`` modulo ``2^24``, clip of ``v``). Expected: 0 differing
  values of ``u``, ``v`` or spikes (exact);
* **closed form at Loihi widths**: under a constant bias the first spike step equals that of the
  real recurrence with the same (quantised) decay factor, ``min{n : b (1 - a^(n+1))/(1 - a) > V_th}``,
  within 1 step (truncation toward zero loses less than 1 LSB per step);
* **the digital chip in the engine**: one neuron of ``chip_configs/digital_lif.toml`` (12-bit
  decays, ``tau_v = 20 ms``, ``dt = 1 ms``: ``d_v = 200``) under a DC input of 1 nA
  (``b = 1000`` LSB per step) fires periodically; its first spike is at the step the closed form
  of the real recurrence gives (with the quantised decay), within 1 step, and its period is that
  step + 1 (reset to 0, same trajectory again), exactly;
* **continuous limit**: ``tau_v = 20 ms``, ``dt = tau_v/1000``, bias for ``V_inf = 1.5 V_th``; the
  first spike time ``(n* + 1) dt`` against the continuous LIF's ``tau_v ln(V_inf/(V_inf - V_th))``
  as the decay precision grows (state widened with it). At 12 bits the decay register is 4
  (``exp(-dt/tau)`` quantised to 2.4 %), so the spike time is off by about 2 % (tolerance 3 %); at
  20 and 24 bits the only error left is the step grid (1 step = 0.09 % of the spike time),
  tolerance 0.2 %.
"""

import math
import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import digital_lif
from mixsig.engine.simulation import run
from mixsig.experiment import experiment_from_dict

SOURCE_LOIHI = "Davies 2018 Eqs 1-2 / Lava BitAcc"
TAU_V = 0.02
DT = TAU_V / 1000
V_INF_OVER_TH = 1.5


def lava_style_reference(inputs, d_u, d_v, v_th, bias, decay_bits=12, state_bits=24, shift=6):
    """The Loihi recurrence in Python integers, per neuron (an independent transcription).

    Parameters
    ----------
    inputs : ndarray of int, shape (steps, neurons)
    d_u, d_v, v_th, bias : ndarray of int, shape (neurons,)

    Returns
    -------
    u, v, spikes : ndarray of int64, shape (steps, neurons)
    """
    steps, neurons = inputs.shape
    top = 2 ** (state_bits - 1)
    out = np.zeros((3, steps, neurons), dtype=np.int64)
    for j in range(neurons):
        u = v = 0
        for n in range(steps):
            x = u * (2 ** decay_bits - int(d_u[j]))
            u = (1 if x >= 0 else -1) * (abs(x) // 2 ** decay_bits) + int(inputs[n, j]) * 2 ** shift
            if u > top:
                u -= 2 * top
            if u <= -top:
                u += 2 * top
            x = v * (2 ** decay_bits - int(d_v[j]))
            v = (1 if x >= 0 else -1) * (abs(x) // 2 ** decay_bits) + u + int(bias[j])
            v = min(max(v, -top + 1), top - 1)
            fired = v > int(v_th[j]) * 2 ** shift
            if fired:
                v = 0
            out[:, n, j] = u, v, fired
    return out


def bit_exact_mismatches(steps=2000, neurons=64, seed=7):
    """Number of (step, neuron, variable) values where the kernel differs from the reference."""
    rng = np.random.default_rng(seed)
    d_u = rng.integers(0, 4097, neurons)
    d_v = rng.integers(0, 4097, neurons)
    v_th = rng.integers(1, 2 ** 17, neurons)
    bias = rng.integers(-4096, 4096, neurons) * 2 ** rng.integers(0, 8, neurons)
    inputs = rng.integers(-2 ** 15, 2 ** 15, (steps, neurons))
    inputs[rng.random((steps, neurons)) < 0.7] = 0
    params = digital_lif.DigitalLIFParams(d_u=d_u, d_v=d_v, v_th=v_th, bias=bias)
    state = digital_lif.initial_state((neurons,))
    got = np.zeros((3, steps, neurons), dtype=np.int64)
    for n in range(steps):
        state, spiked = digital_lif.step(state, inputs[n], params)
        got[:, n] = state.u, state.v, spiked
    return int(np.count_nonzero(got != lava_style_reference(inputs, d_u, d_v, v_th, bias)))


def first_spike(params, limit=10 ** 6):
    """First spike step of one neuron from rest with no synaptic input."""
    state = digital_lif.initial_state((1,))
    for n in range(limit):
        state, spiked = digital_lif.step(state, 0, params)
        if spiked[0]:
            return n
    raise RuntimeError("no spike")


def bias_driven(decay_bits):
    """(params, threshold, quantised decay factor) for the continuous-limit protocol at ``decay_bits``."""
    state_bits = decay_bits + 14
    v_th = 1 << (state_bits - 10)
    threshold = v_th << 6
    d_v = int(digital_lif.decay_register(TAU_V, DT, decay_bits))
    bias = int(round(V_INF_OVER_TH * threshold * -math.expm1(-DT / TAU_V)))
    params = digital_lif.DigitalLIFParams(d_u=0, d_v=d_v, v_th=v_th, bias=bias, decay_bits=decay_bits,
                                          state_bits=state_bits)
    return params, threshold, 1.0 - d_v / 2 ** decay_bits


def engine_spikes(i_dc=1e-9, duration=1.0, dt=1e-3):
    """Spike times (s) of one DC-driven neuron of the shipped digital chip, run by the engine."""
    exp = experiment_from_dict({"duration": duration, "dt": dt, "instances": 1, "seed": 0, "chip": "digital_lif",
                                "device_model": "none", "populations": {"one": {"size": 1, "core": 0}},
                                "dc": [{"population": "one", "amplitude": i_dc}]}, "<digital DC>")
    return run(exp, progress=False)["spike_time"].values


def main():
    checks = [Check("bit-exact u, v, spikes (64 x 2000 steps)", f"{SOURCE_LOIHI}, integer reference", 0.0,
                    float(bit_exact_mismatches()), 0.0, "1", atol=0.0)]
    params, threshold, alpha = bias_driven(12)
    closed = digital_lif.first_spike_step(params.bias, alpha, threshold)
    checks.append(Check("first spike step, 12-bit decay (closed form)", "real recurrence, quantised decay",
                        float(closed), float(first_spike(params)), 0.0, "step", atol=1.0))
    spikes = engine_spikes()
    d_v = int(digital_lif.decay_register(TAU_V, 1e-3, 12))
    closed = digital_lif.first_spike_step(1000, 1.0 - d_v / 4096, 256 * 64)
    checks.append(Check("engine: first spike step, digital chip, 1 nA DC", "real recurrence, quantised decay",
                        float(closed), float(np.rint(spikes[0] / 1e-3)), 0.0, "step", atol=1.0))
    checks.append(Check("engine: spike period, digital chip (steps)", "first spike step + 1 (reset to 0)",
                        float(np.rint(spikes[0] / 1e-3)) + 1, float(np.rint(np.median(np.diff(spikes)) / 1e-3)), 0.0,
                        "step", atol=0.0))
    t_continuous = TAU_V * math.log(V_INF_OVER_TH / (V_INF_OVER_TH - 1.0))
    for bits, rtol in ((12, 0.03), (20, 0.002), (24, 0.002)):
        params, _, _ = bias_driven(bits)
        checks.append(Check(f"first spike time, {bits}-bit decay", "continuous LIF tau ln(Vinf/(Vinf-Vth))",
                            t_continuous, (first_spike(params) + 1) * DT, rtol, "s"))
    return report("Digital fixed-point LIF against its recurrence and the continuous LIF", checks)


if __name__ == "__main__":
    sys.exit(main())
