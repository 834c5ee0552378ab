"""Mathematical adaptive exponential integrate-and-fire soma (Brette & Gerstner 2005).

A second soma model beside the silicon DPI neuron, for users who think in mV and nS and for
validating the integrator. Model (R. Brette and W. Gerstner, J. Neurophysiol. 94:3637-3642,
2005), SI units throughout::

    C dV/dt   = -g_L (V - E_L) + g_L Delta_T exp((V - V_T) / Delta_T) - w + I
    tau_w dw/dt = a (V - E_L) - w

    when V reaches V_cut:  V <- V_r,  w <- w + b

with ``I = i_ext + i_in + noise`` held constant over one step (``i_in`` and the step-averaged
noise current are the step inputs, ``i_ext`` a DC parameter).

Numerical scheme
----------------
The exponential term makes ``V`` diverge in finite time once it passes ``V_T`` by a few
``Delta_T``: the time scale ``C / (g_L exp((V - V_T)/Delta_T))`` shrinks by ``e`` for every
``Delta_T`` of depolarisation (about ``3e-13 s`` at ``V_cut = 0 mV`` with the Naud et al.
parameters). A fixed-step method is either inaccurate there or needs an absurdly small step
everywhere. Each step of length ``dt`` is therefore integrated with the embedded Dormand-Prince
5(4) Runge-Kutta pair with local error control (relative tolerance :data:`RTOL`, absolute
tolerances :data:`ATOL_V` and :data:`ATOL_W`): sub-steps are long (usually one per ``dt``)
while the neuron is sub-threshold and shrink geometrically along the upstroke. When a sub-step
ends at or above ``V_cut`` its length is adjusted by Illinois (modified regula falsi)
iteration, each trial a full Runge-Kutta step from the same start, until the crossing time is
bracketed to :data:`T_CROSS_TOL`; the neuron is reset there and integration continues to the end
of the step, so several spikes per step are handled and each spike time is resolved inside the
step (``spike_offset``). Measured against ``solve_ivp`` (DOP853, rtol 1e-10 to 1e-12): spike
times agree to better than 1 ns over 0.6-1 s for every non-chaotic parameter set shipped here.

Default ``dt``: because the accuracy of the sub-step integration does not depend on ``dt``,
``dt`` only sets how often the input current may change (inputs are piecewise constant) and
the granularity at which spikes are reported to the engine; ``DEFAULT_DT = 1e-4 s`` matches the
engine default and is at least 70 times shorter than the membrane and adaptation time constants
of the parameter sets shipped here (``C / g_L >= 7.2 ms``, ``tau_w >= 30 ms``). For a constant
input the spike times are independent of ``dt`` to within the integration tolerance.

Firing-pattern parameters
-------------------------
:data:`NAUD_2008` holds the eight firing patterns of R. Naud, N. Marcille, C. Clopath and
W. Gerstner, "Firing patterns in the adaptive exponential integrate-and-fire model",
Biol. Cybern. 99:335-347 (2008), *as given in the Brian 2 example*
``examples/frompapers/Naud_et_al_2008_adex_firing_patterns.py`` (S. Schmitt, S. Billaudelle,
2022). Caveat: that example states "parameters adapted by P. Müller to match figures", so the
rows are not guaranteed to equal Table 1 of Naud et al. (which differs at least for the
transient and irregular rows). All rows use ``V_T = -50 mV``, ``Delta_T = 2 mV``, a spike cut at
``V_cut = 0 mV``, the state ``(V, w) = (E_L, 0)`` at the onset of a step current, and 600 ms of
stimulation.
"""

import dataclasses
import math
import typing

import numba
import numpy as np

from mixsig.circuits.arrays import flat
from mixsig.params import parameter, require_positive

DEFAULT_DT = 1e-4
"""Default step, s (see the module docstring)."""

RTOL = 1e-9
"""Relative local-error tolerance of the Dormand-Prince sub-steps (dimensionless)."""

ATOL_V = 1e-12
"""Absolute local-error tolerance on the membrane potential, V."""

ATOL_W = 1e-16
"""Absolute local-error tolerance on the adaptation current, A."""

T_CROSS_TOL = 1e-12
"""Width of the bracket on the threshold-crossing time, s."""

MAX_SUBSTEPS = 1_000_000
"""Sub-steps allowed in one step before the kernel gives up (guards against ``V_r >= V_cut``)."""

_EXP_ARG_MAX = 200.0
# Cap on (V - V_T)/Delta_T inside the exponential: trial steps that overshoot V_cut must not
# overflow to inf/nan before they are rejected. The cap is inactive below V_T + 200 Delta_T, far
# above any V_cut in use.


@dataclasses.dataclass(frozen=True)
class AdExParams:
    """Parameters of the AdEx soma; defaults are the regular-spiking cell of Brette & Gerstner (2005).

    Every field is a float or an array broadcastable to the ``(instance, neuron)`` state shape.
    """

    c_m: float = parameter(281e-12, "F", "membrane capacitance")
    g_l: float = parameter(30e-9, "S", "leak conductance")
    e_l: float = parameter(-70.6e-3, "V", "leak reversal potential")
    v_t: float = parameter(-50.4e-3, "V", "threshold potential of the exponential term (rheobase threshold for a = 0)")
    delta_t: float = parameter(2e-3, "V", "slope factor of the exponential spike initiation")
    tau_w: float = parameter(144e-3, "s", "adaptation time constant")
    a: float = parameter(4e-9, "S", "subthreshold adaptation conductance")
    b: float = parameter(0.0805e-9, "A", "spike-triggered adaptation increment")
    v_r: float = parameter(-70.6e-3, "V", "reset potential")
    v_cut: float = parameter(-50.4e-3 + 5 * 2e-3, "V", "spike cut (detection) potential")
    i_ext: float = parameter(0.0, "A", "constant external input current")

    def __post_init__(self):
        require_positive(self, ("c_m", "g_l", "delta_t", "tau_w"))
        if not np.all(np.asarray(self.v_r) < np.asarray(self.v_cut)):
            raise ValueError(
                f"invalid AdExParams: v_r = {self.v_r!r} V must be below v_cut = {self.v_cut!r} V "
                "(otherwise the neuron would fire forever within one step)"
            )


class AdExState(typing.NamedTuple):
    """State of an array of AdEx neurons.

    Attributes
    ----------
    v : ndarray, shape (instance, neuron)
        Membrane potential, V.
    w : ndarray, shape (instance, neuron)
        Adaptation current, A.
    """

    v: np.ndarray
    w: np.ndarray


class AdExOutputs(typing.NamedTuple):
    """What one step of the AdEx soma emits.

    Attributes
    ----------
    spiked : ndarray of bool, shape (instance, neuron)
        Whether ``V`` reached ``v_cut`` during the step.
    spike_offset : ndarray, shape (instance, neuron)
        Time of the first spike after the start of the step, s, in ``(0, dt]``; NaN without a
        spike.
    spike_count : ndarray of int, shape (instance, neuron)
        Number of spikes in the step (more than one only for inputs strong enough to fire
        faster than ``1/dt``).
    """

    spiked: np.ndarray
    spike_offset: np.ndarray
    spike_count: np.ndarray


class NaudPattern(typing.NamedTuple):
    """One row of the Naud et al. (2008) firing-pattern table (SI units)."""

    c_m: float
    g_l: float
    e_l: float
    a: float
    tau_w: float
    b: float
    v_r: float
    i_step: float


def _row(c_pf, g_ns, e_mv, a_ns, tau_ms, b_pa, vr_mv, i_pa):
    return NaudPattern(
        c_pf * 1e-12, g_ns * 1e-9, e_mv * 1e-3, a_ns * 1e-9, tau_ms * 1e-3, b_pa * 1e-12, vr_mv * 1e-3, i_pa * 1e-12
    )


NAUD_2008 = {
    "tonic spiking": _row(200, 10, -70, 2, 30, 0, -58, 500),
    "adaptation": _row(200, 12, -70, 2, 300, 60, -58, 500),
    "initial burst": _row(130, 18, -58, 4, 150, 120, -50, 400),
    "regular bursting": _row(200, 10, -58, 2, 120, 100, -46, 210),
    "delayed accelerating": _row(200, 12, -70, -10, 300, 0, -58, 300),
    "delayed regular bursting": _row(100, 10, -65, -10, 90, 30, -47, 110),
    "transient spiking": _row(100, 10, -65, 10, 90, 100, -47, 180),
    "irregular spiking": _row(100, 12, -60, -11, 130, 30, -48, 160),
}
"""Naud et al. (2008) firing patterns as in the Brian 2 example (see the module caveat).

Columns: ``c_m`` (F), ``g_l`` (S), ``e_l`` (V), ``a`` (S), ``tau_w`` (s), ``b`` (A), ``v_r`` (V),
``i_step`` (A, the step current that shows the pattern)."""

NAUD_V_T = -50e-3
"""``V_T`` of every Naud et al. (2008) row, V."""

NAUD_DELTA_T = 2e-3
"""``Delta_T`` of every Naud et al. (2008) row, V."""

NAUD_V_CUT = 0.0
"""Spike cut of the Naud et al. (2008) rows, V."""

NAUD_DURATION = 0.6
"""Stimulation length used for the Naud et al. (2008) patterns, s."""


def naud_params(pattern, i_ext=None):
    """Parameters of one Naud et al. (2008) firing pattern.

    Parameters
    ----------
    pattern : str
        A key of :data:`NAUD_2008`, e.g. ``"regular bursting"``.
    i_ext : float or ndarray, optional
        Constant input current, A. Default: the pattern's step current ``i_step``.

    Returns
    -------
    AdExParams
    """
    try:
        row = NAUD_2008[pattern]
    except KeyError:
        raise KeyError(f"unknown Naud et al. 2008 pattern {pattern!r}; expected one of {sorted(NAUD_2008)}") from None
    return AdExParams(
        c_m=row.c_m,
        g_l=row.g_l,
        e_l=row.e_l,
        v_t=NAUD_V_T,
        delta_t=NAUD_DELTA_T,
        tau_w=row.tau_w,
        a=row.a,
        b=row.b,
        v_r=row.v_r,
        v_cut=NAUD_V_CUT,
        i_ext=row.i_step if i_ext is None else i_ext,
    )


def initial_state(params, shape):
    """Resting state ``V = E_L``, ``w = 0``.

    Parameters
    ----------
    params : AdExParams
    shape : tuple of int
        State shape, normally ``(instance, neuron)``.

    Returns
    -------
    AdExState
    """
    v = np.array(np.broadcast_to(np.asarray(params.e_l, dtype=np.float64), shape))
    return AdExState(v=v, w=np.zeros(shape))


@numba.njit(cache=True)
def derivatives(v, w, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a):
    """Right-hand side ``(dV/dt, dw/dt)`` of the AdEx equations (scalars).

    Parameters
    ----------
    v : float
        Membrane potential, V.
    w : float
        Adaptation current, A.
    i : float
        Input current, A.
    c_m, g_l, e_l, v_t, delta_t, tau_w, a : float
        Capacitance (F), leak conductance (S), leak reversal (V), threshold (V), slope factor
        (V), adaptation time constant (s) and subthreshold adaptation conductance (S), as in
        :class:`AdExParams`.

    Returns
    -------
    dv, dw : float
        ``dV/dt`` in V/s and ``dw/dt`` in A/s.
    """
    x = (v - v_t) / delta_t
    if x > _EXP_ARG_MAX:
        x = _EXP_ARG_MAX
    dv = (-g_l * (v - e_l) + g_l * delta_t * math.exp(x) - w + i) / c_m
    dw = (a * (v - e_l) - w) / tau_w
    return dv, dw


@numba.njit(cache=True)
def _dopri_step(v, w, h, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a):
    """One Dormand-Prince 5(4) step of length ``h``; returns ``(v, w, scaled error norm)``."""
    k1v, k1w = derivatives(v, w, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a)
    k2v, k2w = derivatives(v + h * (k1v / 5), w + h * (k1w / 5), i, c_m, g_l, e_l, v_t, delta_t, tau_w, a)
    k3v, k3w = derivatives(
        v + h * (3 / 40 * k1v + 9 / 40 * k2v), w + h * (3 / 40 * k1w + 9 / 40 * k2w),
        i, c_m, g_l, e_l, v_t, delta_t, tau_w, a,
    )
    k4v, k4w = derivatives(
        v + h * (44 / 45 * k1v - 56 / 15 * k2v + 32 / 9 * k3v),
        w + h * (44 / 45 * k1w - 56 / 15 * k2w + 32 / 9 * k3w),
        i, c_m, g_l, e_l, v_t, delta_t, tau_w, a,
    )
    k5v, k5w = derivatives(
        v + h * (19372 / 6561 * k1v - 25360 / 2187 * k2v + 64448 / 6561 * k3v - 212 / 729 * k4v),
        w + h * (19372 / 6561 * k1w - 25360 / 2187 * k2w + 64448 / 6561 * k3w - 212 / 729 * k4w),
        i, c_m, g_l, e_l, v_t, delta_t, tau_w, a,
    )
    k6v, k6w = derivatives(
        v + h * (9017 / 3168 * k1v - 355 / 33 * k2v + 46732 / 5247 * k3v + 49 / 176 * k4v - 5103 / 18656 * k5v),
        w + h * (9017 / 3168 * k1w - 355 / 33 * k2w + 46732 / 5247 * k3w + 49 / 176 * k4w - 5103 / 18656 * k5w),
        i, c_m, g_l, e_l, v_t, delta_t, tau_w, a,
    )
    v5 = v + h * (35 / 384 * k1v + 500 / 1113 * k3v + 125 / 192 * k4v - 2187 / 6784 * k5v + 11 / 84 * k6v)
    w5 = w + h * (35 / 384 * k1w + 500 / 1113 * k3w + 125 / 192 * k4w - 2187 / 6784 * k5w + 11 / 84 * k6w)
    k7v, k7w = derivatives(v5, w5, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a)
    # difference between the 5th- and the embedded 4th-order solutions
    e1, e3, e4, e5, e6, e7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40
    ev = h * (e1 * k1v + e3 * k3v + e4 * k4v + e5 * k5v + e6 * k6v + e7 * k7v)
    ew = h * (e1 * k1w + e3 * k3w + e4 * k4w + e5 * k5w + e6 * k6w + e7 * k7w)
    sv = ATOL_V + RTOL * max(abs(v), abs(v5))
    sw = ATOL_W + RTOL * max(abs(w), abs(w5))
    err = max(abs(ev) / sv, abs(ew) / sw)
    if not (math.isfinite(v5) and math.isfinite(w5) and math.isfinite(err)):
        err = math.inf
    return v5, w5, err


@numba.njit(cache=True)
def _locate_crossing(v, w, h, v1, w1, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a, v_cut):
    """Time ``s`` in ``(0, h]`` after which a Runge-Kutta step from ``(v, w)`` first reaches ``v_cut``.

    Illinois (modified regula falsi) iteration on ``f(s) = V(s) - v_cut`` over the bracket
    ``[0, h]`` (``f(0) < 0 <= f(h)``), every trial a full Dormand-Prince step of length ``s``
    from the same start, until the bracket is narrower than :data:`T_CROSS_TOL`. Returns the
    upper end of the bracket and ``w`` there.
    """
    lo = 0.0
    hi = h
    f_lo = v - v_cut
    f_hi = v1 - v_cut
    w_hi = w1
    side = 0
    for _ in range(200):
        if hi - lo <= T_CROSS_TOL or f_hi == 0.0:
            break
        s = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        if not (lo < s < hi):
            s = 0.5 * (lo + hi)
        vm, wm, _ = _dopri_step(v, w, s, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a)
        if math.isfinite(vm) and vm < v_cut:
            lo = s
            f_lo = vm - v_cut
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi = s
            f_hi = vm - v_cut if math.isfinite(vm) else f_hi
            if math.isfinite(wm):
                w_hi = wm
            if side == 1:
                f_lo *= 0.5
            side = 1
    return hi, w_hi


@numba.njit(cache=True)
def adex_kernel(v, w, i, dt, c_m, g_l, e_l, v_t, delta_t, tau_w, a, b, v_r, v_cut):
    """Advance one AdEx neuron by ``dt`` under a constant current (scalar kernel).

    Parameters
    ----------
    v, w : float
        Membrane potential (V) and adaptation current (A) at the start of the step.
    i : float
        Total input current during the step, A.
    dt : float
        Step, s.
    c_m, g_l, e_l, v_t, delta_t, tau_w, a, b, v_r, v_cut : float
        Parameters, SI units (see :class:`AdExParams`).

    Returns
    -------
    v, w : float
        State at the end of the step.
    n_spikes : int
        Number of threshold crossings in the step.
    first_offset : float
        Time of the first crossing after the start of the step, s (NaN without a spike).
    """
    t = 0.0
    h = dt
    n_spikes = 0
    first_offset = math.nan
    substeps = 0
    while t < dt:
        substeps += 1
        if substeps > MAX_SUBSTEPS:
            raise RuntimeError("adex_kernel: too many sub-steps in one step (check v_r < v_cut and the input)")
        if v >= v_cut:  # a state handed in at or above the cut fires at once
            if n_spikes == 0:
                first_offset = t
            n_spikes += 1
            v = v_r
            w += b
        remaining = dt - t
        last = h >= remaining
        if last:
            h = remaining
        v1, w1, err = _dopri_step(v, w, h, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a)
        if err > 1.0:
            if math.isfinite(err):
                h *= max(0.1, 0.9 * err ** -0.2)
            else:
                h *= 0.1
            continue
        if v1 >= v_cut:
            hi, w_hi = _locate_crossing(v, w, h, v1, w1, i, c_m, g_l, e_l, v_t, delta_t, tau_w, a, v_cut)
            t += hi
            if n_spikes == 0:
                first_offset = t
            n_spikes += 1
            v = v_r
            w = w_hi + b
            h = dt
            continue
        v = v1
        w = w1
        t = dt if last else t + h
        if err > 0.0:
            h *= min(5.0, 0.9 * err ** -0.2)
        else:
            h *= 5.0
    return v, w, n_spikes, first_offset


@numba.njit(cache=True)
def _step_arrays(v, w, i, dt, c_m, g_l, e_l, v_t, delta_t, tau_w, a, b, v_r, v_cut, v_out, w_out, count, offset):
    for k in range(v.size):
        v_out[k], w_out[k], n, offset[k] = adex_kernel(
            v[k], w[k], i[k], dt, c_m[k], g_l[k], e_l[k], v_t[k], delta_t[k], tau_w[k], a[k], b[k], v_r[k], v_cut[k]
        )
        count[k] = n


def step(state, i_in, params, dt=DEFAULT_DT, noise=None):
    """Advance an array of AdEx neurons by one step.

    Parameters
    ----------
    state : AdExState
        Arrays of shape ``(instance, neuron)`` (any shape works).
    i_in : float or ndarray, broadcastable to the state shape
        Input current during the step, A (held constant over the step).
    params : AdExParams
        Scalars or arrays broadcastable to the state shape (per-instance or per-neuron values).
    dt : float
        Step, s (default :data:`DEFAULT_DT`).
    noise : ndarray, optional
        Step-averaged noise current, A, broadcastable to the state shape.

    Returns
    -------
    state : AdExState
        State at the end of the step.
    outputs : AdExOutputs
        Spike flags, the offset of the first spike within the step (s) and spike counts.
    """
    if not dt > 0:
        raise ValueError(f"dt must be > 0 s (got {dt!r})")
    shape = np.shape(state.v)
    current = np.asarray(i_in, dtype=np.float64) + np.asarray(params.i_ext, dtype=np.float64)
    if noise is not None:
        current = current + np.asarray(noise, dtype=np.float64)
    pars = [
        flat(getattr(params, name), shape)
        for name in ("c_m", "g_l", "e_l", "v_t", "delta_t", "tau_w", "a", "b", "v_r", "v_cut")
    ]
    size = int(np.prod(shape))
    v_out, w_out, offset = (np.empty(size) for _ in range(3))
    count = np.empty(size, dtype=np.int64)
    _step_arrays(flat(state.v, shape), flat(state.w, shape), flat(current, shape), float(dt), *pars,
                 v_out, w_out, count, offset)
    new_state = AdExState(v=v_out.reshape(shape), w=w_out.reshape(shape))
    count = count.reshape(shape)
    return new_state, AdExOutputs(spiked=count > 0, spike_offset=offset.reshape(shape), spike_count=count)


def simulate(params, current, dt=DEFAULT_DT, shape=(1, 1), state=None):
    """Run :func:`step` over a current trace and collect the spike times.

    Parameters
    ----------
    params : AdExParams
    current : ndarray, shape ``(n_steps,)`` or ``(n_steps,) + shape``
        Input current of each step, A.
    dt : float
        Step, s.
    shape : tuple of int
        State shape (ignored when ``state`` is given).
    state : AdExState, optional
        Initial state (default :func:`initial_state`).

    Returns
    -------
    state : AdExState
        Final state.
    spike_times : list of ndarray
        For each element of the flattened state, its spike times in s from the start.
        Spikes after the first one of a step are not timed individually and are omitted.
    """
    state = initial_state(params, shape) if state is None else state
    shape = np.shape(state.v)
    times = [[] for _ in range(int(np.prod(shape)))]
    for n in range(len(current)):
        state, out = step(state, current[n], params, dt)
        for k in np.flatnonzero(out.spiked.ravel()):
            times[k].append(n * dt + out.spike_offset.ravel()[k])
    return state, [np.array(t) for t in times]



class ReferenceRun(typing.NamedTuple):
    """Result of :func:`reference_run` (SI units).

    Attributes
    ----------
    spike_times : ndarray, shape (n_spikes,)
        Spike times, s.
    v_end, w_end : float
        State at ``t_end`` (V, A).
    t : ndarray, shape (n_samples,)
        Sample times actually returned (those of ``t_eval``), s.
    v, w : ndarray, shape (n_samples,)
        Membrane potential (V) and adaptation current (A) at ``t``.
    """

    spike_times: np.ndarray
    v_end: float
    w_end: float
    t: np.ndarray
    v: np.ndarray
    w: np.ndarray


def reference_run(params, i_in, t_end, state=None, rtol=1e-10, t_eval=()):
    """High-accuracy reference: ``scipy.integrate.solve_ivp`` with event detection.

    Integrates the model equations (written here again with numpy, independently of the
    compiled kernel) with the 8th-order Dormand-Prince method (``DOP853``) from one spike to the
    next, locating each crossing of ``v_cut`` by the solver's event root finding and applying
    the reset there. Used to validate :func:`step`; far too slow for simulation.

    Parameters
    ----------
    params : AdExParams
        Scalar parameters.
    i_in : float or callable
        Input current, A, constant or a function ``i_in(t)`` of time (s); ``params.i_ext`` is
        added.
    t_end : float
        Length of the run, s.
    state : tuple of float, optional
        Initial ``(V, w)`` in V and A (default ``(E_L, 0)``).
    rtol : float
        Relative tolerance of ``solve_ivp`` (absolute tolerances 1e-12 V and 1e-18 A).
    t_eval : sequence of float, optional
        Increasing times in ``(0, t_end]`` (s) at which to sample ``(V, w)``.

    Returns
    -------
    ReferenceRun
    """
    from scipy.integrate import solve_ivp

    p = {name: float(getattr(params, name)) for name in (
        "c_m", "g_l", "e_l", "v_t", "delta_t", "tau_w", "a", "b", "v_r", "v_cut", "i_ext")}
    current = i_in if callable(i_in) else (lambda t, value=float(i_in): value)

    def rhs(t, y):
        v, w = y
        x = min((v - p["v_t"]) / p["delta_t"], _EXP_ARG_MAX)
        dv = (-p["g_l"] * (v - p["e_l"]) + p["g_l"] * p["delta_t"] * np.exp(x) - w
              + current(t) + p["i_ext"]) / p["c_m"]
        return [dv, (p["a"] * (v - p["e_l"]) - w) / p["tau_w"]]

    def cut(t, y):
        return y[0] - p["v_cut"]

    cut.terminal = True
    cut.direction = 1
    t_eval = np.asarray(t_eval, dtype=np.float64)
    t = 0.0
    y = [p["e_l"], 0.0] if state is None else [float(state[0]), float(state[1])]
    spikes, samples = [], []
    while True:
        sol = solve_ivp(rhs, (t, t_end), y, method="DOP853", rtol=rtol, atol=[1e-12, 1e-18], events=cut,
                        dense_output=True)
        stop = sol.t_events[0][0] if sol.status == 1 else t_end
        inside = t_eval[(t_eval > t) & (t_eval <= stop)] if sol.status == 1 else t_eval[t_eval > t]
        if inside.size:
            samples.append(np.vstack([inside, sol.sol(inside)]))
        if sol.status != 1:
            break
        t = stop
        spikes.append(t)
        y = [p["v_r"], sol.y_events[0][0][1] + p["b"]]
    sampled = np.hstack(samples) if samples else np.empty((3, 0))
    return ReferenceRun(np.array(spikes), float(sol.y[0, -1]), float(sol.y[1, -1]), *sampled)
