"""Digital fixed-point CUBA LIF neuron in the style of Intel's Loihi: the zero-mismatch reference.

Model (Davies et al. 2018, "Loihi: a neuromorphic manycore processor with on-chip learning",
IEEE Micro 38(1):82, Eqs. 1-2; bit-level behaviour as in Lava's ``PyLifModelBitAcc``,
``lava/proc/lif/models.py`` [R]). Every quantity is an integer register; one time step is one
algorithmic step of the chip (``dt`` seconds of model time)::

    u[t] = trunc(u[t-1] (2^B - d_u) / 2^B) + 2^s_a  sum_i w_i s_i[t]        (synaptic current)
    v[t] = trunc(v[t-1] (2^B - d_v) / 2^B) + u[t] + b                         (membrane voltage)
    spike if v[t] > 2^s_th v_th;   then v[t] = 0

``trunc`` rounds toward zero (``sign(x) (|x| >> B)``), ``B`` is ``decay_bits`` (12 on Loihi),
``s_a`` the activation shift (6) and ``s_th`` the threshold shift (6). ``u`` wraps around at
``±2^(state_bits-1)`` (two's complement, as the hardware's 24-bit register); ``v`` saturates at
``±(2^(state_bits-1) - 1)``. No refractory period (Lava's bit-accurate model has none), no mismatch,
no noise: the model is deterministic and its only error is quantisation.

The decay registers follow from time constants as ``d = round(2^B (1 - exp(-dt/tau)))``
(:func:`decay_register`), so ``(2^B - d)/2^B -> exp(-dt/tau)`` as ``B`` grows; with ``u`` fed by
weights and ``v`` by a constant bias, the recurrence then tends to the exact-decay real recurrence
(:func:`real_recurrence`), whose first spike under a bias ``b`` is at step
``n* = min{n : b (1 - a_v^n)/(1 - a_v) > V_th}``, ``a_v = exp(-dt/tau_v)``; as ``dt -> 0`` (with
``b = V_inf (1 - a_v)``) ``n* dt`` tends to the continuous LIF's ``tau_v ln(V_inf/(V_inf - V_th))``.

Kernels (``numba.njit``, integers, for compiled loops): :func:`decay` and :func:`step_element`;
:func:`step` applies :func:`step_element` over arrays.
"""

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np

from mixsig.errors import is_int
from mixsig.params import parameter

MAX_TOTAL_BITS = 63
"""``state_bits + decay_bits`` must not exceed this: the decay product must fit in int64."""


@dataclasses.dataclass(frozen=True)
class DigitalLIFParams:
    """Registers of a digital CUBA LIF neuron (Loihi-style, integer units).

    Defaults: Loihi 1 widths (Davies et al. 2018; Lava ``PyLifModelBitAcc``: 12-bit ``du``/``dv``,
    24-bit ``u``/``v``, 6-bit MSB alignment of threshold and activation) [R]; ``d_u``, ``d_v``,
    ``v_th`` and ``bias`` are example values [asm].
    """

    d_u: int = parameter(1024, "1", "current decay register (decay per step d_u / 2^decay_bits)")
    d_v: int = parameter(256, "1", "voltage decay register (decay per step d_v / 2^decay_bits)")
    v_th: int = parameter(256, "1", "threshold mantissa (compared with v after a left shift of threshold_shift)")
    bias: int = parameter(0, "1", "constant input added to v every step (state LSB)")
    decay_bits: int = parameter(12, "1", "precision of the decay multiplier, bits")
    state_bits: int = parameter(24, "1", "width of the u and v registers, bits (two's complement)")
    activation_shift: int = parameter(6, "1", "left shift of the summed synaptic input, bits")
    threshold_shift: int = parameter(6, "1", "left shift of the threshold mantissa, bits")

    def problems(self):
        """Field problems as ``(field, value, expected)`` tuples (empty when valid).

        Returns
        -------
        list of tuple
        """
        found = []
        for name in ("decay_bits", "state_bits"):
            value = getattr(self, name)
            if not is_int(value) or value < 2:
                found.append((name, value, "an integer >= 2"))
        for name in ("activation_shift", "threshold_shift"):
            value = getattr(self, name)
            if not is_int(value) or value < 0:
                found.append((name, value, "an integer >= 0"))
        if not found and self.decay_bits + self.state_bits > MAX_TOTAL_BITS:
            found.append(("state_bits", self.state_bits, f"state_bits + decay_bits <= {MAX_TOTAL_BITS}"))
        if found:
            return found
        unity = 1 << self.decay_bits
        for name in ("d_u", "d_v"):
            value = np.asarray(getattr(self, name))
            if value.dtype.kind not in "iu" or np.any(value < 0) or np.any(value > unity):
                found.append((name, getattr(self, name), f"integers in [0, 2^decay_bits = {unity}]"))
        top = 1 << (self.state_bits - 1)
        v_th = np.asarray(self.v_th)
        if v_th.dtype.kind not in "iu" or np.any(v_th <= 0) or np.any((v_th << self.threshold_shift) >= top):
            found.append(("v_th", self.v_th, f"integers > 0 with v_th * 2^threshold_shift < 2^(state_bits-1) = {top}"))
        bias = np.asarray(self.bias)
        if bias.dtype.kind not in "iu" or np.any(np.abs(bias) >= top):
            found.append(("bias", self.bias, f"integers of magnitude below 2^(state_bits-1) = {top}"))
        return found

    def __post_init__(self):
        found = self.problems()
        if found:
            raise ValueError("invalid DigitalLIFParams: " + "; ".join(f"{n} = {v!r} (expected {e})" for n, v, e in found))


ENGINE_STATE_BITS = 53
"""Widest ``state_bits`` a chip may use: the engine keeps registers in float64, exact up to 2^53."""


@dataclasses.dataclass(frozen=True)
class LIFBlockParams:
    """Chip-level description of digital LIF neurons (chip bias block ``lif``), in SI units.

    The engine turns it into registers at its step ``dt`` (:meth:`registers`): ``d = round(2^B
    (1 - exp(-dt/tau)))``. Weights and the DC input are currents on the chip config's common
    scale: one weight LSB (and one LSB of bias per step) is ``i_lsb`` amperes, so the chip's
    ``synapse.i_w_<b>`` bit currents are weights in units of ``i_lsb``. Every field is a float or an
    array broadcastable to ``(instance, neuron)``; bits, shifts and ``v_th`` hold integer values.
    Defaults [asm]: Loihi 1 widths (12-bit decays, 24-bit state, 6-bit alignment shifts, Davies et
    al. 2018 / Lava) with example time constants.
    """

    tau_u: float = parameter(5e-3, "s", "synaptic current decay time constant")
    tau_v: float = parameter(20e-3, "s", "membrane voltage decay time constant")
    v_th: float = parameter(256.0, "1", "threshold mantissa (state LSB before the threshold shift)")
    i_lsb: float = parameter(1e-12, "A", "current of one weight LSB (and of one bias LSB per step)")
    i_dc: float = parameter(0.0, "A", "DC input, added to v every step as round(i_dc / i_lsb) state LSB")
    decay_bits: float = parameter(12.0, "1", "precision of the decay multipliers, bits")
    state_bits: float = parameter(24.0, "1", "width of the u and v registers, bits")
    activation_shift: float = parameter(6.0, "1", "left shift of the summed synaptic input, bits")
    threshold_shift: float = parameter(6.0, "1", "left shift of the threshold mantissa, bits")

    def __post_init__(self):
        bad = []
        for name in ("tau_u", "tau_v", "i_lsb", "v_th"):
            value = np.asarray(getattr(self, name), dtype=float)
            if not np.all(np.isfinite(value) & (value > 0)):
                bad.append(f"{name} (expected > 0)")
        for name, low, high in (("decay_bits", 2, 30), ("state_bits", 2, ENGINE_STATE_BITS),
                                ("activation_shift", 0, 30), ("threshold_shift", 0, 30), ("v_th", 1, 2 ** 52)):
            value = np.asarray(getattr(self, name), dtype=float)
            if not np.all((value == np.rint(value)) & (value >= low) & (value <= high)):
                bad.append(f"{name} (expected integers in {low}..{high})")
        if not bad:
            threshold = np.asarray(self.v_th) * 2.0 ** np.asarray(self.threshold_shift)
            if np.any(threshold >= 2.0 ** (np.asarray(self.state_bits) - 1)):
                bad.append("v_th (expected v_th * 2^threshold_shift < 2^(state_bits - 1))")
        if bad:
            raise ValueError("invalid LIFBlockParams: " + "; ".join(bad))

    def registers(self, dt):
        """Decay registers at the step ``dt`` (s): ``(d_u, d_v)``, float arrays of integer values."""
        return (decay_register(self.tau_u, dt, np.asarray(self.decay_bits, dtype=np.int64)).astype(float),
                decay_register(self.tau_v, dt, np.asarray(self.decay_bits, dtype=np.int64)).astype(float))


class DigitalLIFState(NamedTuple):
    """State of digital LIF neurons: int64 arrays of the state shape (state LSB)."""

    u: np.ndarray
    v: np.ndarray


def initial_state(shape):
    """Resting state: ``u = v = 0``.

    Parameters
    ----------
    shape : tuple of int

    Returns
    -------
    DigitalLIFState
    """
    return DigitalLIFState(np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64))


def decay_register(tau, dt, decay_bits):
    """Decay register ``d = round(2^B (1 - exp(-dt/tau)))`` for a time constant.

    Parameters
    ----------
    tau, dt : float or ndarray
        Time constant and step, s (``tau > 0``; ``tau = inf`` gives 0: no decay).
    decay_bits : int

    Returns
    -------
    int64 or ndarray of int64
    """
    return np.rint(np.ldexp(-np.expm1(-np.asarray(dt, dtype=float) / np.asarray(tau, dtype=float)),
                            decay_bits)).astype(np.int64)


@numba.njit(cache=True)
def decay(x, d, decay_bits):
    """``trunc(x (2^B - d) / 2^B)``: decay toward zero, rounding toward zero (integers)."""
    product = x * ((1 << decay_bits) - d)
    if product >= 0:
        return product >> decay_bits
    return -((-product) >> decay_bits)


@numba.njit(cache=True)
def step_element(u, v, a_in, d_u, d_v, v_th, bias, decay_bits, state_bits, activation_shift, threshold_shift):
    """Advance one neuron by one step (module equations).

    Parameters
    ----------
    u, v : int
        State (state LSB).
    a_in : int
        Summed synaptic input of the step, ``sum_i w_i s_i`` (weight LSB).
    d_u, d_v, v_th, bias, decay_bits, state_bits, activation_shift, threshold_shift : int
        :class:`DigitalLIFParams` fields.

    Returns
    -------
    u, v : int
        New state.
    spiked : bool
    """
    top = 1 << (state_bits - 1)
    u = decay(u, d_u, decay_bits) + (a_in << activation_shift)
    if u > top:
        u -= 2 * top
    elif u <= -top:
        u += 2 * top
    v = decay(v, d_v, decay_bits) + u + bias
    v = min(max(v, -top + 1), top - 1)
    if v > (v_th << threshold_shift):
        return u, 0, True
    return u, v, False


@numba.njit(cache=True)
def _step_arrays(u, v, a_in, d_u, d_v, v_th, bias, decay_bits, state_bits, activation_shift, threshold_shift, spiked):
    for j in range(u.shape[0]):
        u[j], v[j], spiked[j] = step_element(u[j], v[j], a_in[j], d_u[j], d_v[j], v_th[j], bias[j], decay_bits,
                                             state_bits, activation_shift, threshold_shift)


def _flat_int(value, shape):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.int64), shape)).reshape(-1)


def step(state, a_in, params):
    """Advance digital LIF neurons by one step.

    Parameters
    ----------
    state : DigitalLIFState
        int64 arrays of shape ``(instance, neuron)`` (any shape).
    a_in : array_like of int
        Summed synaptic input of the step (weight LSB), broadcastable to the state shape.
    params : DigitalLIFParams

    Returns
    -------
    state : DigitalLIFState
    spiked : ndarray of bool
        Which neurons spiked in the step (state shape).
    """
    shape = state.u.shape
    u, v = state.u.astype(np.int64).reshape(-1), state.v.astype(np.int64).reshape(-1)
    spiked = np.zeros(u.size, dtype=np.bool_)
    _step_arrays(u, v, _flat_int(a_in, shape), _flat_int(params.d_u, shape), _flat_int(params.d_v, shape),
                 _flat_int(params.v_th, shape), _flat_int(params.bias, shape), int(params.decay_bits),
                 int(params.state_bits), int(params.activation_shift), int(params.threshold_shift), spiked)
    return DigitalLIFState(u.reshape(shape), v.reshape(shape)), spiked.reshape(shape)


def real_recurrence(a_in, alpha_u, alpha_v, bias, threshold):
    """The same recurrence in real numbers (no rounding, no register limits), for reference.

    ``u[t] = alpha_u u[t-1] + a[t]``, ``v[t] = alpha_v v[t-1] + u[t] + bias``, spike and reset to 0
    when ``v > threshold``.

    Parameters
    ----------
    a_in : ndarray, shape (steps,)
        Input of each step (state units, i.e. already shifted).
    alpha_u, alpha_v, bias, threshold : float

    Returns
    -------
    v : ndarray, shape (steps,)
        Voltage after each step (after reset).
    spikes : ndarray of int64
        Steps with a spike.
    """
    u = v = 0.0
    out, spikes = np.empty(len(a_in)), []
    for n, a in enumerate(a_in):
        u = alpha_u * u + a
        v = alpha_v * v + u + bias
        if v > threshold:
            spikes.append(n)
            v = 0.0
        out[n] = v
    return out, np.array(spikes, dtype=np.int64)


def first_spike_step(bias, alpha_v, threshold):
    """Closed-form first spike step of the real recurrence under a constant bias (no input).

    ``v[n] = b (1 - alpha_v^(n+1)) / (1 - alpha_v)`` after step ``n`` (0-based); the first ``n``
    with ``v[n] > threshold``.

    Parameters
    ----------
    bias, alpha_v, threshold : float
        ``bias > threshold (1 - alpha_v)`` (the neuron fires), ``0 < alpha_v < 1``.

    Returns
    -------
    int
    """
    n = math.log(1.0 - threshold * (1.0 - alpha_v) / bias) / math.log(alpha_v) - 1.0
    step_index = max(0, math.ceil(n))
    while bias * (1.0 - alpha_v ** (step_index + 1)) / (1.0 - alpha_v) <= threshold:
        step_index += 1
    while step_index > 0 and bias * (1.0 - alpha_v ** step_index) / (1.0 - alpha_v) > threshold:
        step_index -= 1
    return step_index
