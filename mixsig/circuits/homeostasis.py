"""Homeostatic synaptic scaling: a slow log-domain control of a neuron's synaptic gain.

Model (behavioural model of the ultra-low-leakage scaling circuit of Qiao, Bartolozzi & Indiveri,
IEEE TBioCAS, arXiv 1709.05633, and Bartolozzi & Indiveri 2009; physics reference section 3.2).

1. Activity trace: a DPI low-pass of the neuron's own spikes (linear regime), in Hz::

       tau_r d r_hat/dt = -r_hat + sum_k delta(t - t_k)

   Each spike adds ``1/tau_r``; between spikes ``r_hat`` decays exactly. Its time average equals
   the firing rate.
2. Gain: the controlled gain current is log-domain in the voltage ``v_g`` of a capacitor ``c_h``,
   ``I_g = I_g0 exp(kappa v_g / u_t)`` (``I_g0`` the neuron's nominal, mismatched gain bias), and
   ``v_g`` is moved by a leakage current ``i_leak`` steered by the rate error::

       c_h dv_g/dt = i_leak s(e),      e = (r_target - r_hat) / r_target
       =>  d ln I_g / dt = (kappa i_leak / (u_t c_h)) s(e) = s(e) / tau_h,
       tau_h = c_h u_t / (kappa i_leak)

   ``tau_h`` is the time of one e-fold change of the gain at full error. The control law is the
   saturating linear one ``s(e) = min(max(e, -1), 1)`` (a current-limited transconductance:
   proportional near the set point, at most ``±i_leak``); ``e <= 1`` always since ``r_hat >= 0``,
   so only strong over-activity (``r_hat > 2 r_target``) saturates.
3. Clamp: ``I_g`` stays in the bias generator's range ``[i_g_min, i_g_max]`` (DYNAP-SE2: 0.5 pA to
   2.28 uA, physics reference section 4.3), i.e. ``v_g`` is clamped to
   ``(u_t/kappa) ln(i_g_min/I_g0) .. (u_t/kappa) ln(i_g_max/I_g0)``.

Because ``I_g`` multiplies every afferent weight of the neuron alike (DPI response proportional
to ``I_g`` in its linear regime, physics reference 3.2), the neuron's relative weights are kept.
Linearised around the set point, with a rate ``r ~ I_g^beta`` (``beta = d ln r / d ln I_g``) and
``tau_r << tau_h / beta``, the error decays as ``exp(-beta t / tau_h)``: convergence time is
proportional to ``tau_h``.

Exact update per step (length ``dt``; spikes of the step at ``offset`` from its start): the trace
is advanced in closed form and its exact step average ``r_mean`` is used, so that, while ``s`` is
in its linear range, ``v_g`` receives the exact integral ``(i_leak/c_h) ∫ s dt`` over the step.

Time scaling (fast-forward): ``time_scale >= 1`` multiplies the gain's rate of change, so one
simulated second stands for ``time_scale`` seconds of homeostatic time (the effective time
constant is ``tau_h / time_scale``). The trace and the neuron run at real speed. This is valid
while ``tau_h / time_scale`` stays well above ``tau_r`` and the inter-spike interval (separation
of time scales; the loop's own dynamics are then those of ``tau_h`` rescaled); durations of the
homeostatic transient in real time are simulated durations times ``time_scale``.

Kernels (``numba.njit``, scalars): :func:`trace_advance`, :func:`gain_advance` and
:func:`step_element` (both, in that order); :func:`step` applies :func:`step_element` over arrays.
"""

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np

from mixsig.circuits.arrays import flat
from mixsig.constants import KAPPA, U_T
from mixsig.params import parameter, require_positive

I_G_MIN = 0.5e-12
"""Lowest bias-generator current (DYNAP-SE2, coarse 0 fine 0, N-type; physics reference 4.3), A."""

I_G_MAX = 2.28e-6
"""Highest bias-generator current (DYNAP-SE2, coarse 5 fine 255, N-type; physics reference 4.3), A."""

_C_H = 1e-12
_TAU_H = 1000.0


def leak_current(tau_h, c_h=_C_H, u_t=U_T, kappa=KAPPA):
    """Leakage current ``i_leak = c_h u_t / (kappa tau_h)`` that sets a homeostatic time constant.

    Parameters
    ----------
    tau_h : float or ndarray
        Homeostatic time constant, s (seconds to about 1e5 s).
    c_h : float or ndarray
        Gain capacitor, F.
    u_t : float or ndarray
        Thermal voltage, V.
    kappa : float or ndarray
        Subthreshold slope factor, 1.

    Returns
    -------
    float or ndarray
        Leakage current, A (36.7 aA for 1000 s on 1 pF).
    """
    return c_h * u_t / (kappa * tau_h)


@dataclasses.dataclass(frozen=True)
class HomeostasisParams:
    """Parameters of homeostatic synaptic scaling (chip block ``homeostasis``).

    Every field is a float or an array broadcastable to the ``(instance, neuron)`` state shape.
    The default ``i_leak`` gives ``tau_h = 1000 s`` on ``c_h = 1 pF``; use :func:`leak_current` to
    set it from a time constant (1.2 aA gives 29.6 ks, the order of the circuit's 25-100 ks).
    """

    r_target: float = parameter(20.0, "Hz", "target firing rate of the neuron")
    tau_r: float = parameter(0.5, "s", "time constant of the activity trace (low-pass of own spikes)")
    c_h: float = parameter(_C_H, "F", "capacitance holding the gain-control voltage")
    i_leak: float = parameter(leak_current(_TAU_H), "A", "leakage current moving the gain-control voltage")
    i_g_min: float = parameter(I_G_MIN, "A", "lower clamp of the controlled gain current")
    i_g_max: float = parameter(I_G_MAX, "A", "upper clamp of the controlled gain current")
    time_scale: float = parameter(1.0, "1", "fast-forward factor of the gain control (homeostatic s per simulated s)")
    kappa: float = parameter(KAPPA, "1", "subthreshold slope factor")
    u_t: float = parameter(U_T, "V", "thermal voltage")

    def __post_init__(self):
        require_positive(self, ("r_target", "tau_r", "c_h", "i_leak", "i_g_min", "i_g_max", "time_scale", "kappa", "u_t"))
        if not np.all(np.asarray(self.i_g_min) < np.asarray(self.i_g_max)):
            raise ValueError("invalid HomeostasisParams: i_g_min must be below i_g_max")

    @property
    def tau_h(self):
        """Homeostatic time constant ``c_h u_t / (kappa i_leak)`` (one e-fold of gain), s."""
        return self.c_h * self.u_t / (self.kappa * self.i_leak)


class HomeostasisState(NamedTuple):
    """State of the scaling loops of an array of neurons.

    Attributes
    ----------
    r_hat : ndarray, shape (instance, neuron)
        Activity trace, Hz.
    v_g : ndarray, shape (instance, neuron)
        Gain-control voltage, V; the gain factor is ``exp(kappa v_g / u_t)``.
    """

    r_hat: np.ndarray
    v_g: np.ndarray


class HomeostasisOutputs(NamedTuple):
    """What one homeostasis step emits.

    Attributes
    ----------
    gain : ndarray, shape (instance, neuron)
        Gain factor ``I_g / I_g0 = exp(kappa v_g / u_t)`` at the end of the step, 1.
    r_mean : ndarray, shape (instance, neuron)
        Exact average of the activity trace over the step, Hz.
    """

    gain: np.ndarray
    r_mean: np.ndarray


def initial_state(params, shape, r_hat=None):
    """Nominal gain (``v_g = 0``) and an activity trace at ``r_hat`` (default ``r_target``).

    Starting the trace at the target means the loop does not act before the neuron has shown
    its rate over ``tau_r``; pass ``r_hat=0`` for a trace that starts empty.

    Parameters
    ----------
    params : HomeostasisParams
    shape : tuple of int
        State shape (instance, neuron).
    r_hat : float or ndarray, optional
        Initial trace, Hz.

    Returns
    -------
    HomeostasisState
    """
    start = params.r_target if r_hat is None else r_hat
    return HomeostasisState(np.array(np.broadcast_to(np.asarray(start, dtype=np.float64), shape)), np.zeros(shape))


@numba.njit(cache=True)
def trace_advance(r_hat, n_spikes, offset, dt, tau_r):
    """Advance the activity trace exactly over one step.

    Parameters
    ----------
    r_hat : float
        Trace at the start of the step, Hz.
    n_spikes : float
        Spikes of the neuron in the step, all placed at ``offset`` (exact for one spike).
    offset : float
        Time of the (first) spike from the start of the step, s (ignored without spikes; NaN
        counts as 0).
    dt : float
        Step, s.
    tau_r : float
        Trace time constant, s.

    Returns
    -------
    r_hat : float
        Trace at the end of the step, Hz.
    r_mean : float
        Exact average of the trace over the step, Hz.
    """
    decay = -math.expm1(-dt / tau_r)
    r_end = r_hat * (1.0 - decay)
    r_mean = r_hat * decay * tau_r / dt
    if n_spikes > 0.0:
        if not offset >= 0.0:
            offset = 0.0
        rest = max(dt - offset, 0.0)
        r_end += (n_spikes / tau_r) * math.exp(-rest / tau_r)
        r_mean += (n_spikes / dt) * -math.expm1(-rest / tau_r)
    return r_end, r_mean


@numba.njit(cache=True)
def gain_advance(v_g, r_mean, dt, r_target, c_h, i_leak, i_g0, i_g_min, i_g_max, time_scale, kappa, u_t):
    """Move the gain-control voltage by one step of the control law, clamped to the bias range.

    Parameters
    ----------
    v_g : float
        Gain-control voltage at the start of the step, V.
    r_mean : float
        Activity trace averaged over the step, Hz.
    dt : float
        Step (simulated time), s.
    r_target, c_h, i_leak, i_g_min, i_g_max, time_scale, kappa, u_t : float
        Parameters (see :class:`HomeostasisParams`).
    i_g0 : float
        Nominal gain current that the factor multiplies, A (sets the clamp of ``v_g``).

    Returns
    -------
    float
        Gain-control voltage at the end of the step, V.
    """
    error = (r_target - r_mean) / r_target
    if error > 1.0:
        error = 1.0
    elif error < -1.0:
        error = -1.0
    v_g += (i_leak / c_h) * error * dt * time_scale
    v_min = (u_t / kappa) * math.log(i_g_min / i_g0)
    v_max = (u_t / kappa) * math.log(i_g_max / i_g0)
    if v_g < v_min:
        v_g = v_min
    elif v_g > v_max:
        v_g = v_max
    return v_g


@numba.njit(cache=True)
def step_element(r_hat, v_g, n_spikes, offset, dt, i_g0, r_target, tau_r, c_h, i_leak, i_g_min, i_g_max,
                 time_scale, kappa, u_t):
    """Advance one neuron's scaling loop by one step (scalar kernel of :func:`step`).

    Parameters
    ----------
    r_hat, v_g : float
        State at the start of the step (Hz, V).
    n_spikes, offset : float
        The neuron's spikes in the step and the offset of the first, s (see
        :func:`trace_advance`).
    dt : float
        Step, s.
    i_g0 : float
        Nominal gain current, A.
    r_target, tau_r, c_h, i_leak, i_g_min, i_g_max, time_scale, kappa, u_t : float
        Parameters (see :class:`HomeostasisParams`).

    Returns
    -------
    r_hat, v_g : float
        State at the end of the step.
    gain : float
        Gain factor ``exp(kappa v_g / u_t)`` to apply from the next step, 1.
    r_mean : float
        Trace averaged over the step, Hz.
    """
    r_hat, r_mean = trace_advance(r_hat, n_spikes, offset, dt, tau_r)
    v_g = gain_advance(v_g, r_mean, dt, r_target, c_h, i_leak, i_g0, i_g_min, i_g_max, time_scale, kappa, u_t)
    return r_hat, v_g, math.exp(kappa * v_g / u_t), r_mean


_PARAM_ORDER = ("r_target", "tau_r", "c_h", "i_leak", "i_g_min", "i_g_max", "time_scale", "kappa", "u_t")


@numba.njit(cache=True)
def _step_arrays(r_hat, v_g, n_spikes, offset, dt, i_g0, r_target, tau_r, c_h, i_leak, i_g_min, i_g_max,
                 time_scale, kappa, u_t):
    n = r_hat.size
    out_r = np.empty(n)
    out_v = np.empty(n)
    out_gain = np.empty(n)
    out_mean = np.empty(n)
    for k in range(n):
        out_r[k], out_v[k], out_gain[k], out_mean[k] = step_element(
            r_hat[k], v_g[k], n_spikes[k], offset[k], dt, i_g0[k], r_target[k], tau_r[k], c_h[k],
            i_leak[k], i_g_min[k], i_g_max[k], time_scale[k], kappa[k], u_t[k],
        )
    return out_r, out_v, out_gain, out_mean


def step(state, n_spikes, offset, i_g0, params, dt):
    """Advance the scaling loops of an array of neurons by one step.

    Parameters
    ----------
    state : HomeostasisState
        Arrays of shape (instance, neuron).
    n_spikes : ndarray, broadcastable to the state shape
        Spikes emitted by each neuron in the step (e.g. ``SomaOutputs.spike_count``).
    offset : ndarray, broadcastable to the state shape
        Time of the first spike from the start of the step, s (``SomaOutputs.spike_offset``;
        NaN where no spike).
    i_g0 : float or ndarray, broadcastable to the state shape
        Nominal gain current that the factor multiplies, A (sets the clamp).
    params : HomeostasisParams
    dt : float
        Step, s.

    Returns
    -------
    state : HomeostasisState
    outputs : HomeostasisOutputs
        ``gain`` multiplies ``i_g0`` from the next step on.
    """
    if not dt > 0.0:
        raise ValueError(f"dt = {dt!r} s: expected > 0 s")
    shape = np.shape(state.r_hat)
    pars = [flat(getattr(params, name), shape) for name in _PARAM_ORDER]
    out_r, out_v, out_gain, out_mean = _step_arrays(
        flat(state.r_hat, shape), flat(state.v_g, shape), flat(n_spikes, shape), flat(offset, shape),
        float(dt), flat(i_g0, shape), *pars,
    )
    return (HomeostasisState(out_r.reshape(shape), out_v.reshape(shape)),
            HomeostasisOutputs(out_gain.reshape(shape), out_mean.reshape(shape)))
