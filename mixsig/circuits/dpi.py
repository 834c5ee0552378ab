"""Differential-pair integrator (DPI) synapse, integrated exactly in its full nonlinear form.

Model (Bartolozzi & Indiveri 2007; continuous form of the teili/d1sim update, physics reference
section 1.2)::

    tau * (1 + I_g / I) * dI/dt + I = (I_g / I_tau) * I_in - I_g,      tau = C U_T / (kappa I_tau)

with ``I`` the output (synaptic) current, clipped below at the dark current ``i_0``; ``I_in`` is
the weight current ``I_w`` while a pre-synaptic pulse of width ``t_pulse`` is on and 0 otherwise.
Write ``A = (I_g / I_tau) I_in - I_g`` (the fixed point) and ``s = t / tau``.

* ``I_in = 0`` gives ``A = -I_g`` and the equation reduces exactly to ``tau dI/dt = -I``: the decay
  is exactly exponential, ``I(t) = max(I(0) exp(-t/tau), i_0)``.
* Constant ``I_in`` (``A != I(0)``): the equation is separable, ``I`` stays on one side of ``A`` and

      t / tau = G(I) - G(I_start),   G(I) = (I_g/A) ln I - ((A + I_g)/A) ln|A - I|.

  Written with ``z = (I - I_start)/(A - I_start)`` (in [0, 1)) and ``psi(w) = ln(1 - w)/w``
  (``psi(0) = -1``) this is the cancellation-free form used here, valid for every sign of ``A``
  including ``A -> 0``::

      t / tau = T(I) = -ln(1 - z) - (I_g / I) z psi(A z / I)          (both terms >= 0)

  Rising over a short interval (``s A / (I_start + I_g) < 0.05``: a pulse of a step) the solution is
  summed instead as its Taylor series in ``s``, whose coefficients follow from the equation by a
  recursion without ``exp`` or ``log`` (:func:`_taylor_rise`), to rounding; the charge is the
  integral of the same series. Otherwise
  ``T`` is solved for ``ln(I / I_start)`` by a bracketed, monotone Newton iteration (``T`` is
  convex in ``ln I`` on either side of ``A``) to machine precision. It starts from a rigorous
  bound on the root; on the rising side of a short interval (``t/tau < 0.1``, e.g. a 10 us pulse
  on a 10 ms DPI) from the explicit midpoint estimate of ``d ln I/dt = (A - I)/(tau (I + I_g))``
  instead, within ``O((t/tau)^3)`` of the root, so that two iterations suffice.
* Charge. Integrating the equation over the interval,
  ``int I dt = A t - tau (I_end - I_start) - tau I_g ln(I_end / I_start)``; with the solution above
  this equals ``tau [z (I_start + I_g) + (A + I_g) (-ln(1 - z) - z)]``, a sum of non-negative terms
  (used for ``z <= 0.9``; the first form is used closer to saturation).
* Clip at ``i_0``: when ``A < i_0`` the current reaches the floor at ``t* = tau T(i_0)`` and stays
  there; the charge then includes ``i_0 (t - t*)``.

Consequence (validated in ``validation/dpi_pulse_charge.py``): the area above the baseline of one
pulse from ``I_start`` is ``Q = (I_g/I_tau) I_w t_p - I_g t_p - tau I_g ln(I(t_p)/I_start)``,
which tends to ``(I_g/I_tau) I_w t_p`` in the linear regime (``I >> I_g``, ``I_w >> I_tau``).

Pulses in :func:`step` (rule for overlapping pulses): a pulse starts at the beginning of the step
in which it arrives and drives the input node with its weight current for ``t_pulse``; the pulses
that start in one step add their currents (several CAM synapses share one DPI). A pulse arriving
while another is still on merges with it conserving pulse charge: the currents add and the
remaining duration becomes (remaining charge + new charge) / (summed current). Within a step the
pulse phase is advanced with :func:`dpi_advance`, then the decay phase; both are exact, so
isolated pulses aligned to step boundaries give results independent of ``dt``. A pulse remainder
shorter than ``1e-10 dt`` (rounding left by repeated subtraction of ``dt``) is dropped. Noise
(optional) is a step-averaged current low-passed by the output node:
``I += noise (1 - exp(-dt/tau))`` after the exact update, then ``I`` is clipped at ``i_0``.

Kernels: :func:`dpi_advance` (one interval, constant input) and :func:`step_element` (one step of
one DPI, pulses and noise included) are ``numba.njit`` functions of scalars for the engine's
compiled loops; :func:`step` applies :func:`step_element` over arrays of any shape.
"""

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np

from mixsig.circuits.arrays import flat
from mixsig.constants import I_0, KAPPA, U_T
from mixsig.params import parameter, require_positive

_SERIES_Z = 0.25
_DIRECT_CHARGE_Z = 0.9
_MAX_NEWTON = 200
_NEWTON_RTOL = 1e-10
_MIDPOINT_START_S = 0.1
_PULSE_END_RTOL = 1e-10
_TAYLOR_RATE = 0.05
_TAYLOR_TERMS = 40


@numba.njit(cache=True)
def _psi(w):
    """``ln(1 - w) / w`` for ``w < 1`` (``-1`` at ``w = 0``)."""
    if w == 0.0:
        return -1.0
    return math.log1p(-w) / w


@numba.njit(cache=True)
def _log1p_excess(z):
    """``-ln(1 - z) - z`` for ``0 <= z < 1``, accurate for small ``z``."""
    if z < _SERIES_Z:
        total = 0.0
        power = z * z
        k = 2.0
        while True:
            term = power / k
            total += term
            if term <= 1e-17 * total:
                break
            power *= z
            k += 1.0
        return total
    return -math.log1p(-z) - z


@numba.njit(cache=True)
def _elapsed(delta, i_start, a, i_gain):
    """Normalised time ``t/tau`` to go from ``i_start`` to ``i_start*exp(delta)`` at fixed point ``a``.

    Returns ``(T, dT/ddelta, z)``; ``T`` is ``inf`` at or beyond the asymptote ``I = a``.
    """
    growth = i_start * math.expm1(delta)
    i = i_start + growth
    z = growth / (a - i_start)
    if z >= 1.0 or (a - i) * (a - i_start) <= 0.0:
        return math.inf, math.inf, 1.0
    elapsed = -math.log1p(-z) - (i_gain / i) * z * _psi(a * z / i)
    slope = (i + i_gain) / (a - i)
    return elapsed, slope, z


@numba.njit(cache=True)
def _z_of(delta, i_start, a):
    """``z = (I - I_start)/(A - I_start)`` at ``I = I_start exp(delta)`` (1 at or beyond ``A``), as in :func:`_elapsed`."""
    growth = i_start * math.expm1(delta)
    z = growth / (a - i_start)
    if z >= 1.0 or (a - i_start - growth) * (a - i_start) <= 0.0:
        return 1.0
    return z


@numba.njit(cache=True)
def _midpoint_start(s, i_start, a, i_gain):
    """Explicit midpoint estimate of ``delta = ln(I(s)/I_start)`` from ``d delta/ds = (A - I)/(I + I_g)``.

    Its error is ``O(s^3)``: for the short pulses of a step (``s = t_pulse/tau ~ 1e-3``) it starts
    the Newton iteration of :func:`_solve_log_ratio` within about 1e-6 of the root.
    """
    k1 = (a - i_start) / (i_start + i_gain)
    i_mid = i_start * math.exp(0.5 * s * k1)
    return s * (a - i_mid) / (i_mid + i_gain)


@numba.njit(cache=True)
def _solve_log_ratio(s, i_start, a, i_gain, lo, hi, start, rising):
    """Root ``delta`` of ``T(delta) = s`` inside ``(lo, hi)`` by safeguarded Newton from ``start``.

    Stops when a Newton correction is below ``_NEWTON_RTOL |delta|`` and takes that last step:
    convergence is quadratic, so the error left after it is of order the square of the step,
    far below the rounding of ``delta``.
    """
    x = start
    for _ in range(_MAX_NEWTON):
        elapsed, slope, _z = _elapsed(x, i_start, a, i_gain)
        f = elapsed - s
        if f == 0.0:
            break
        if (f > 0.0) == rising:
            hi = x
        else:
            lo = x
        if math.isfinite(elapsed) and math.isfinite(slope) and slope != 0.0:
            x_new = x - f / slope
        else:
            x_new = 0.5 * (lo + hi)
        if not (lo < x_new < hi):
            x_new = 0.5 * (lo + hi)
        if abs(x_new - x) <= _NEWTON_RTOL * abs(x) or x_new == x:
            x = x_new
            break
        x = x_new
    return x


@numba.njit(cache=True)
def _taylor_rise(i_start, a, i_gain, s, duration):
    """The rising solution over a short interval as its Taylor series in ``s = t/tau``, summed to rounding.

    ``(I + I_g) dI/ds = I (A - I)`` gives, for ``I = I_start sum_n v_n`` with ``v_n = c_n s^n / I_start``
    (``v_0 = 1``, ``alpha = A/I_start``, ``gamma = I_g/I_start``) and the inner convolutions
    ``Q_m = sum_{k=1..m-1} v_k v_{m-k}``, the recursion
    ``(n+1)(1 + gamma) v_{n+1} = s ((alpha - 2) v_n - Q_n) - (n+1) Q_{n+1} / 2`` for ``n >= 1``
    (``v_1 = s (alpha - 1) / (1 + gamma)``): one new convolution per term, summed over half its
    products by symmetry. The charge is ``int I dt = I_start t sum_n v_n / (n+1)``. Used while
    ``s A / (I_start + I_g)`` (the relaxation rate times ``s``) is below ``_TAYLOR_RATE``: the terms
    then shrink by about that factor each, and the sum stops after two consecutive terms below
    ``1e-17`` of it (the result agrees with the Newton root of the implicit solution to a few ulp;
    no ``exp`` or ``log``).

    Returns ``(converged, I_end, charge)``; not converged within ``_TAYLOR_TERMS`` terms: ``False``.
    """
    v = np.empty(_TAYLOR_TERMS)
    alpha, gamma = a / i_start, i_gain / i_start
    v[0] = 1.0
    v[1] = s * (alpha - 1.0) / (1.0 + gamma)
    total, area = 1.0 + v[1], 1.0 + 0.5 * v[1]
    q_n = 0.0
    small = 0
    for n in range(1, _TAYLOR_TERMS - 1):
        q_next = 0.0  # Q_{n+1}
        for k in range(1, (n + 2) // 2):
            q_next += v[k] * v[n + 1 - k]
        q_next *= 2.0
        if n % 2 == 1:
            q_next += v[(n + 1) // 2] * v[(n + 1) // 2]
        term = (s * ((alpha - 2.0) * v[n] - q_n) - 0.5 * (n + 1) * q_next) / ((n + 1) * (1.0 + gamma))
        v[n + 1] = term
        q_n = q_next
        total += term
        area += term / (n + 2)
        small = small + 1 if abs(term) <= 1e-17 * total else 0
        if small == 2:
            return True, i_start * total, i_start * duration * area
    return False, 0.0, 0.0


@numba.njit(cache=True)
def _ode_charge(i_start, delta, z, a, i_gain, tau, t):
    """Exact ``int I dt`` over an interval of length ``t`` with no floor contact."""
    if z <= _DIRECT_CHARGE_Z:
        return tau * (z * (i_start + i_gain) + (a + i_gain) * _log1p_excess(z))
    return a * t - tau * (i_start * math.expm1(delta) + i_gain * delta)


@numba.njit(cache=True)
def propagator(duration, i_tau, c, kappa, u_t):
    """Time constant ``tau`` (s) and decayed fraction ``1 - exp(-duration/tau)`` (1) of a DPI without input.

    The one place both are computed: the engine precomputes them for its step
    (:func:`mixsig.engine.kernels.dpi_table`) and gets, from :func:`decay_step`, the numbers
    :func:`step_element` computes, bit for bit.
    """
    tau = c * u_t / (kappa * i_tau)
    return tau, -math.expm1(-(duration / tau))


@numba.njit(cache=True)
def decay(i, duration, tau, decayed, i_0):
    """Exact decay without input (``tau dI/dt = -I``, clipped at ``i_0``) over ``duration`` s from ``i > i_0``.

    ``tau`` and ``decayed`` are :func:`propagator`'s for ``duration``. Returns the current at the
    end (A) and the integral of the current over the interval (A*s).
    """
    if i * (1.0 - decayed) > i_0:
        return i * (1.0 - decayed), tau * i * decayed
    s_floor = math.log(i / i_0)
    return i_0, tau * (i - i_0) + i_0 * (duration - tau * s_floor)


@numba.njit(cache=True)
def dpi_advance(i, i_in, duration, i_tau, i_gain, c, kappa, u_t, i_0):
    """Advance one DPI exactly by ``duration`` under a constant input current.

    Parameters
    ----------
    i : float
        Output current at the start, A (values below ``i_0`` are raised to ``i_0``).
    i_in : float
        Constant input (pulse) current, A; 0 for pure decay (negative values count as 0).
    duration : float
        Interval length, s (``<= 0`` returns ``(max(i, i_0), 0)``).
    i_tau, i_gain : float
        Leak and gain currents ``I_tau``, ``I_g``, A.
    c : float
        Synaptic capacitance, F.
    kappa : float
        Subthreshold slope factor, 1.
    u_t : float
        Thermal voltage, V.
    i_0 : float
        Dark current (floor of ``I``), A.

    Returns
    -------
    i_end : float
        Output current at the end of the interval, A.
    charge : float
        Integral of the output current over the interval, A*s.
    """
    if i < i_0:
        i = i_0
    if duration <= 0.0:
        return i, 0.0
    if i_in < 0.0:
        i_in = 0.0
    if i_in == 0.0 and i <= i_0:
        return i_0, i_0 * duration  # at the floor with no input: stays there
    if i_in == 0.0:
        tau, decayed = propagator(duration, i_tau, c, kappa, u_t)
        return decay(i, duration, tau, decayed, i_0)
    tau = c * u_t / (kappa * i_tau)
    s = duration / tau
    a = (i_gain / i_tau) * i_in - i_gain
    if a == i:
        return i, i * duration
    if a > i and s * a < _TAYLOR_RATE * (i + i_gain):
        converged, i_end, charge = _taylor_rise(i, a, i_gain, s, duration)
        if converged:
            return i_end, charge
    if a > i:
        hi = math.log(a / i)
        lo = 0.0
        # Short intervals (pulses within a step): the midpoint estimate is within O(s^3) of the root.
        start = _midpoint_start(s, i, a, i_gain) if s < _MIDPOINT_START_S else 0.0
        if not 0.0 < start < hi:
            bound = math.log1p((a - i) * -math.expm1(-s) / i)
            q = s * (a - i) / i_gain
            if q < 1.0:
                bound = min(bound, -math.log1p(-q))
            start = min(bound, hi)
            # Lower bound from the saturation form T = -(1 + I_g/A) ln(1 - z) - (I_g/A) ln(I_start/I),
            # using I <= A in the last term.
            u = -(s + (i_gain / a) * math.log(i / a)) / (1.0 + i_gain / a)
            if u < 0.0:
                lo = max(0.0, math.log1p(-math.expm1(u) * (a - i) / i))
            if not math.isfinite(_elapsed(start, i, a, i_gain)[0]):
                start = lo if lo > 0.0 else 0.5 * hi
            if not start > 0.0:
                start = 0.5 * hi
        delta = _solve_log_ratio(s, i, a, i_gain, lo, hi, start, a > i)  # a > i here: a bool, not a literal
        z = _z_of(delta, i, a)
        if z >= 1.0:
            delta = hi
        return i * math.exp(delta), _ode_charge(i, delta, z, a, i_gain, tau, duration)
    # Falling side: a < i.
    if i <= i_0:
        return i_0, i_0 * duration
    lo = math.log(i_0 / i)
    if a < i_0:
        s_floor, _slope, z_floor = _elapsed(lo, i, a, i_gain)
        if s >= s_floor:
            t_star = tau * s_floor
            charge = _ode_charge(i, lo, z_floor, a, i_gain, tau, t_star)
            return i_0, charge + i_0 * (duration - t_star)
    else:
        lo = math.log(a / i)
    ratio = (a - i) * -math.expm1(-s) / i
    start = math.log1p(ratio) if ratio > -1.0 else lo
    if start < lo:
        start = lo
    delta = _solve_log_ratio(s, i, a, i_gain, lo, 0.0, start, a > i)
    z = _z_of(delta, i, a)
    if z >= 1.0:
        delta = lo
    return i * math.exp(delta), _ode_charge(i, delta, z, a, i_gain, tau, duration)


def time_constant(c, u_t, kappa, i_tau):
    """DPI time constant ``tau = C U_T / (kappa I_tau)``.

    Parameters
    ----------
    c : float or ndarray
        Capacitance, F.
    u_t : float or ndarray
        Thermal voltage, V.
    kappa : float or ndarray
        Subthreshold slope factor, 1.
    i_tau : float or ndarray
        Leak current, A.

    Returns
    -------
    float or ndarray
        Time constant, s.
    """
    return c * u_t / (kappa * i_tau)


def leak_current(tau, c=25e-12, u_t=U_T, kappa=KAPPA):
    """Leak current ``I_tau = C U_T / (kappa tau)`` that sets a DPI time constant ``tau``.

    Parameters
    ----------
    tau : float or ndarray
        Time constant, s.
    c : float or ndarray
        DPI capacitance, F.
    u_t : float
        Thermal voltage, V.
    kappa : float
        Subthreshold slope factor (1).

    Returns
    -------
    float or ndarray
        ``I_tau``, A; the broadcast shape of the inputs.
    """
    return c * u_t / (kappa * tau)


_DEFAULT_C = 25e-12
_DEFAULT_I_TAU = leak_current(10e-3, _DEFAULT_C)


@dataclasses.dataclass(frozen=True)
class DPIParams:
    """Parameters of a DPI synapse (defaults: Rockpool's DYNAP-SE2 synapse, tau = 10 ms).

    Every field is a float or an array broadcastable to the ``(instance, neuron)`` state shape.
    The default ``i_tau = C U_T / (kappa * 10 ms)`` with ``C = 25 pF`` and the defaults of
    :mod:`mixsig.constants` (91.7 pA); the default ``i_gain`` is ``100`` times that default
    (Rockpool's ``r_gain_syn``) and does not follow a user-given ``i_tau``. Use
    :func:`leak_current` to set ``i_tau`` from a time constant.
    """

    c_syn: float = parameter(_DEFAULT_C, "F", "DPI synapse capacitance")
    i_tau: float = parameter(_DEFAULT_I_TAU, "A", "DPI leak current setting the time constant")
    i_gain: float = parameter(100.0 * _DEFAULT_I_TAU, "A", "DPI gain (threshold) current")
    t_pulse: float = parameter(10e-6, "s", "width of the pre-synaptic input pulse")
    kappa: float = parameter(KAPPA, "1", "subthreshold slope factor")
    u_t: float = parameter(U_T, "V", "thermal voltage")
    i_0: float = parameter(I_0, "A", "dark current (lower bound of the synaptic current)")

    def __post_init__(self):
        require_positive(self, ("c_syn", "i_tau", "i_gain", "t_pulse", "kappa", "u_t", "i_0"))

    @property
    def tau(self):
        """Time constant ``c_syn u_t / (kappa i_tau)``, s."""
        return time_constant(self.c_syn, self.u_t, self.kappa, self.i_tau)


class DPIState(NamedTuple):
    """State of an array of DPI synapses.

    Attributes
    ----------
    i_syn : ndarray, shape (instance, neuron)
        Output (synaptic) current, A.
    pulse_current : ndarray, shape (instance, neuron)
        Current driving the input node while a pulse is on, A (0 when off).
    pulse_left : ndarray, shape (instance, neuron)
        Time left in the current pulse, s (0 when off).
    """

    i_syn: np.ndarray
    pulse_current: np.ndarray
    pulse_left: np.ndarray


class DPIOutputs(NamedTuple):
    """What one DPI step emits.

    Attributes
    ----------
    i_syn : ndarray, shape (instance, neuron)
        Output current at the end of the step, A.
    i_syn_mean : ndarray, shape (instance, neuron)
        Exact average of the output current over the step (charge / dt), A.
    """

    i_syn: np.ndarray
    i_syn_mean: np.ndarray


def initial_state(params, shape):
    """Resting state: ``i_syn = i_0``, no pulse on.

    Parameters
    ----------
    params : DPIParams
    shape : tuple of int
        State shape, usually ``(instance, neuron)``.

    Returns
    -------
    DPIState
    """
    i_syn = np.array(np.broadcast_to(np.asarray(params.i_0, dtype=np.float64), shape))
    return DPIState(i_syn, np.zeros(shape), np.zeros(shape))


@numba.njit(cache=True)
def step_element(i_syn, pulse_current, pulse_left, i_w, noise, dt, t_pulse, i_tau, i_gain, c, kappa, u_t, i_0):
    """Advance one DPI by one step of length ``dt`` (scalar kernel of :func:`step`).

    Parameters
    ----------
    i_syn, pulse_current, pulse_left : float
        State at the start of the step (A, A, s).
    i_w : float
        Summed weight current of the pulses that start in this step, A (``<= 0``: no pulse).
    noise : float
        Step-averaged noise current, A, low-passed by the output node.
    dt : float
        Step, s.
    t_pulse, i_tau, i_gain, c, kappa, u_t, i_0 : float
        Parameters (see :class:`DPIParams`).

    Returns
    -------
    i_syn, pulse_current, pulse_left : float
        State at the end of the step.
    i_mean : float
        Exact average output current over the step (without noise), A.
    """
    if i_w > 0.0:
        charge_in = pulse_current * pulse_left + i_w * t_pulse
        pulse_current = pulse_current + i_w
        pulse_left = charge_in / pulse_current
    charge = 0.0
    t_on = 0.0
    if pulse_left > 0.0:
        t_on = min(pulse_left, dt)
        i_syn, charge = dpi_advance(i_syn, pulse_current, t_on, i_tau, i_gain, c, kappa, u_t, i_0)
        pulse_left -= t_on
        if pulse_left <= _PULSE_END_RTOL * dt:
            pulse_left = 0.0
            pulse_current = 0.0
    if t_on < dt:
        i_syn, charge_off = dpi_advance(i_syn, 0.0, dt - t_on, i_tau, i_gain, c, kappa, u_t, i_0)
        charge += charge_off
    if noise != 0.0:
        i_syn = _add_noise(i_syn, noise, propagator(dt, i_tau, c, kappa, u_t)[1], i_0)
    return i_syn, pulse_current, pulse_left, charge / dt


@numba.njit(cache=True)
def _add_noise(i_syn, noise, decayed, i_0):
    """Step-averaged noise current low-passed by the output node over a step whose decayed fraction is ``decayed``."""
    return max(i_syn + noise * decayed, i_0)


@numba.njit(cache=True)
def decay_step(i_syn, noise, dt, tau, decayed, i_0):
    """:func:`step_element` of a DPI with no pulse on and none starting, from its :func:`propagator` for ``dt``.

    Returns the output current at the end of the step and its step average (A), bit for bit
    those of :func:`step_element` (no ``exp`` evaluated: the engine's decay of every DPI not in a
    pulse).
    """
    i_syn = max(i_syn, i_0)
    if i_syn <= i_0:
        charge = i_0 * dt
    else:
        i_syn, charge = decay(i_syn, dt, tau, decayed, i_0)
    if noise != 0.0:
        i_syn = _add_noise(i_syn, noise, decayed, i_0)
    return i_syn, charge / dt


@numba.njit(cache=True)
def step_element_at(i_syn, pulse_current, pulse_left, i_w, onset, noise, dt, t_pulse, i_tau, i_gain, c, kappa, u_t,
                    i_0):
    """:func:`step_element` with the pulse starting ``onset`` seconds into the step (exact event times).

    The step is advanced exactly in two pieces: ``[0, onset)`` without a new pulse (a pulse already
    on continues), then ``[onset, dt)`` with the pulse of ``i_w`` starting at its beginning (merging
    with a pulse still on, conserving charge, as :func:`step_element` does). Several arrivals at
    different times of one step are handled by splitting the step at each of them the same way.
    The noise current is added once, over the whole step.

    Parameters
    ----------
    onset : float
        Start of the pulse from the start of the step, s (``0 <= onset < dt``; 0 is
        :func:`step_element`).
    i_syn, pulse_current, pulse_left, i_w, noise, dt, t_pulse, i_tau, i_gain, c, kappa, u_t, i_0 : float
        As :func:`step_element`.

    Returns
    -------
    i_syn, pulse_current, pulse_left, i_mean : float
        As :func:`step_element`.
    """
    if not (i_w > 0.0 and onset > 0.0):
        return step_element(i_syn, pulse_current, pulse_left, i_w, noise, dt, t_pulse, i_tau, i_gain, c, kappa, u_t,
                            i_0)
    i_syn, pulse_current, pulse_left, before = step_element(i_syn, pulse_current, pulse_left, 0.0, 0.0, onset,
                                                            t_pulse, i_tau, i_gain, c, kappa, u_t, i_0)
    i_syn, pulse_current, pulse_left, after = step_element(i_syn, pulse_current, pulse_left, i_w, 0.0, dt - onset,
                                                           t_pulse, i_tau, i_gain, c, kappa, u_t, i_0)
    if noise != 0.0:  # low-passed over the whole step, as step_element does
        i_syn = _add_noise(i_syn, noise, propagator(dt, i_tau, c, kappa, u_t)[1], i_0)
    return i_syn, pulse_current, pulse_left, (before * onset + after * (dt - onset)) / dt


@numba.njit(cache=True)
def _step_arrays(i_syn, pulse_current, pulse_left, i_w, noise, dt, t_pulse, i_tau, i_gain, c, kappa, u_t, i_0):
    n = i_syn.size
    out_i = np.empty(n)
    out_current = np.empty(n)
    out_left = np.empty(n)
    out_mean = np.empty(n)
    for k in range(n):
        out_i[k], out_current[k], out_left[k], out_mean[k] = step_element(
            i_syn[k], pulse_current[k], pulse_left[k], i_w[k], noise[k], dt,
            t_pulse[k], i_tau[k], i_gain[k], c[k], kappa[k], u_t[k], i_0[k],
        )
    return out_i, out_current, out_left, out_mean


def step(state, i_w, params, dt, noise=None):
    """Advance an array of DPI synapses by one step.

    Parameters
    ----------
    state : DPIState
        Arrays of the state shape (usually ``(instance, neuron)``).
    i_w : float or ndarray, broadcastable to the state shape
        Summed weight current of the pulses that start in this step, A (0 for no pulse).
    params : DPIParams
        Fields are floats or arrays broadcastable to the state shape.
    dt : float
        Step, s.
    noise : ndarray, optional
        Step-averaged noise current, A, broadcastable to the state shape: after the exact
        update ``I += noise (1 - exp(-dt/tau))``, then ``I`` is clipped at ``i_0``.

    Returns
    -------
    state : DPIState
    outputs : DPIOutputs
    """
    if not dt > 0.0:
        raise ValueError(f"dt = {dt!r} s: expected > 0 s")
    shape = np.shape(state.i_syn)
    noise = 0.0 if noise is None else noise
    arrays = [flat(v, shape) for v in (state.i_syn, state.pulse_current, state.pulse_left, i_w, noise)]
    pars = [
        flat(getattr(params, name), shape)
        for name in ("t_pulse", "i_tau", "i_gain", "c_syn", "kappa", "u_t", "i_0")
    ]
    out_i, out_current, out_left, out_mean = _step_arrays(*arrays, float(dt), *pars)
    new_state = DPIState(out_i.reshape(shape), out_current.reshape(shape), out_left.reshape(shape))
    return new_state, DPIOutputs(new_state.i_syn, out_mean.reshape(shape))
