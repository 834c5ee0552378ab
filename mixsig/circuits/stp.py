"""Short-term depression of synaptic efficacy (Tsodyks & Markram 1997), exact between pulses.

Model (Tsodyks & Markram 1997, PNAS 94:719; physics reference section 8). Each depressing
synapse holds a fraction ``x`` in [0, 1] of recovered (available) resources. A pre-synaptic pulse
uses the fraction ``u_se`` (``U``) of what is available and the used resources recover with the
time constant ``tau_rec``::

    at a pulse:        efficacy = U x,     x <- x - U x = (1 - U) x
    between pulses:    tau_rec dx/dt = 1 - x   =>   1 - x(t) = (1 - x(t0)) exp(-(t - t0)/tau_rec)

The efficacy scales the pulse amplitude: the weight current a pulse drives into the DPI is
``U x I_w`` instead of ``I_w`` (``I_w`` plays the role of ``A_SE``, the response when all resources
are used). Resting state ``x = 1``, so the first pulse of a train has amplitude ``U I_w``. For a
train of interval ``Δ`` this gives the recursion of the reference (its Eq. 2; the fast
inactivation ``tau_inact`` is neglected, valid for ``Δ >> tau_inact``)::

    EPSC_{n+1} = EPSC_n (1 - U) exp(-Δ/tau_rec) + A U (1 - exp(-Δ/tau_rec))

whose fixed point is ``A U (1 - e)/(1 - (1 - U) e)``, ``e = exp(-Δ/tau_rec)``; above the limiting
frequency ``1/(tau_rec U)`` it falls as ``A/(f tau_rec)`` (1/f law).

Recovery is the closed form above (no Euler step). Several pulses on one resource pool within a
step are handled in arrival order: with arrival offsets the pool recovers between them, and
``n`` pulses at one instant release ``x (1 - (1 - U)^n)`` in total and leave ``x (1 - U)^n``.

Granularity: the pool ``x`` may belong to one CAM synapse (per-synapse state, shape
``(instance, synapse)``) or be shared by all synapses of one DPI type of a neuron (state shape
``(instance, neuron)`` per type), as the chip config allows; the parameters are then
broadcastable to that shape.

Kernels (``numba.njit``, scalars, for the engine's compiled loops): :func:`recover`,
:func:`release`, :func:`pulse_event` (event-driven: recover from the last update time to the
arrival time, then release) and :func:`step_element` (pulses at the start of a step of length
``dt``, then recovery to its end). :func:`step` applies :func:`step_element` over arrays.
"""

import dataclasses
import math
from typing import NamedTuple

import numba
import numpy as np

from mixsig.circuits.arrays import flat
from mixsig.params import parameter, require_positive


@dataclasses.dataclass(frozen=True)
class STPParams:
    """Parameters of Tsodyks-Markram short-term depression (chip block ``stp``).

    Every field is a float or an array broadcastable to the state shape. Defaults: Fig. 1B of
    Tsodyks & Markram 1997 (``tau_rec = 800 ms``, ``U_SE = 0.67``).
    """

    tau_rec: float = parameter(0.8, "s", "recovery time constant of synaptic resources")
    u_se: float = parameter(0.67, "1", "utilisation of synaptic efficacy (fraction of resources used per pulse)")

    def __post_init__(self):
        require_positive(self, ("tau_rec", "u_se"))
        if not np.all(np.asarray(self.u_se) <= 1.0):
            raise ValueError(f"invalid STPParams: u_se = {self.u_se!r} (expected in (0, 1] 1)")

    @property
    def limiting_frequency(self):
        """Limiting frequency ``1 / (tau_rec u_se)`` above which the stationary efficacy falls as 1/f, Hz."""
        return 1.0 / (np.asarray(self.tau_rec) * np.asarray(self.u_se))


class STPState(NamedTuple):
    """State of an array of resource pools.

    Attributes
    ----------
    x : ndarray, shape (instance, neuron) or (instance, synapse)
        Fraction of recovered resources, 1 (in [0, 1]).
    """

    x: np.ndarray


class STPOutputs(NamedTuple):
    """What one STP step emits.

    Attributes
    ----------
    efficacy : ndarray, shape of the state
        Summed efficacy ``sum U x_k`` of the pulses of the step (multiplies the weight current
        ``I_w`` of one pulse), 1; 0 without pulses.
    """

    efficacy: np.ndarray


def initial_state(params, shape):
    """Resting state: all resources recovered, ``x = 1``.

    Parameters
    ----------
    params : STPParams
    shape : tuple of int
        State shape.

    Returns
    -------
    STPState
    """
    del params
    return STPState(np.ones(shape))


@numba.njit(cache=True)
def recover(x, elapsed, tau_rec):
    """Exact recovery ``1 - x(t) = (1 - x) exp(-elapsed / tau_rec)``.

    Parameters
    ----------
    x : float
        Recovered fraction at the start, 1.
    elapsed : float
        Time since then, s (``<= 0`` leaves ``x`` unchanged).
    tau_rec : float
        Recovery time constant, s.

    Returns
    -------
    float
        Recovered fraction after ``elapsed``, 1.
    """
    if elapsed <= 0.0:
        return x
    return 1.0 + (x - 1.0) * math.exp(-elapsed / tau_rec)


@numba.njit(cache=True)
def release(x, n_pulses, u_se):
    """Release resources for ``n_pulses`` simultaneous pulses, handled in arrival order.

    Parameters
    ----------
    x : float
        Recovered fraction before the pulses, 1.
    n_pulses : float
        Number of pulses (``<= 0``: none). Each uses ``u_se`` of what the previous left.
    u_se : float
        Utilisation, 1.

    Returns
    -------
    x : float
        Recovered fraction after the pulses, ``x (1 - u_se)^n``.
    efficacy : float
        Summed efficacy ``sum_k u_se x (1 - u_se)^k = x (1 - (1 - u_se)^n)``, 1.
    """
    if n_pulses <= 0.0:
        return x, 0.0
    if n_pulses == 1.0:
        used = u_se * x
        return x - used, used
    left = x * (1.0 - u_se) ** n_pulses
    return left, x - left


@numba.njit(cache=True)
def pulse_event(x, t_last, t, n_pulses, tau_rec, u_se):
    """Event-driven update of one pool at a pulse arriving at time ``t`` (engine kernel).

    Parameters
    ----------
    x : float
        Recovered fraction at ``t_last``, 1.
    t_last : float
        Time of the last update of this pool, s.
    t : float
        Arrival time of the pulse(s), s (``>= t_last``).
    n_pulses : float
        Pulses arriving together at ``t``.
    tau_rec, u_se : float
        Parameters (see :class:`STPParams`).

    Returns
    -------
    x : float
        Recovered fraction just after the pulse(s), 1.
    t_last : float
        New time of the last update (``t``), s.
    efficacy : float
        Summed efficacy of the pulse(s), 1.
    """
    x = recover(x, t - t_last, tau_rec)
    x, efficacy = release(x, n_pulses, u_se)
    return x, t, efficacy


@numba.njit(cache=True)
def step_element(x, n_pulses, dt, tau_rec, u_se):
    """Advance one pool by one step: pulses at the start of the step, then exact recovery.

    Parameters
    ----------
    x : float
        Recovered fraction at the start of the step, 1.
    n_pulses : float
        Pulses that start in this step (the DPI starts them at the beginning of the step).
    dt : float
        Step, s.
    tau_rec, u_se : float
        Parameters (see :class:`STPParams`).

    Returns
    -------
    x : float
        Recovered fraction at the end of the step, 1.
    efficacy : float
        Summed efficacy of the step's pulses, 1.
    """
    x, efficacy = release(x, n_pulses, u_se)
    return recover(x, dt, tau_rec), efficacy


@numba.njit(cache=True)
def _step_arrays(x, n_pulses, dt, tau_rec, u_se):
    n = x.size
    out_x = np.empty(n)
    out_eff = np.empty(n)
    for k in range(n):
        out_x[k], out_eff[k] = step_element(x[k], n_pulses[k], dt, tau_rec[k], u_se[k])
    return out_x, out_eff


def step(state, n_pulses, params, dt):
    """Advance an array of resource pools by one step.

    Parameters
    ----------
    state : STPState
        Arrays of the state shape.
    n_pulses : float or ndarray, broadcastable to the state shape
        Number of pulses arriving on each pool in this step (they start at the beginning of
        the step, in arrival order).
    params : STPParams
        Fields broadcastable to the state shape.
    dt : float
        Step, s.

    Returns
    -------
    state : STPState
        State at the end of the step.
    outputs : STPOutputs
        Summed efficacy of the step's pulses; the weight current to pass to
        :func:`mixsig.circuits.dpi.step` is ``efficacy * I_w`` (``I_w`` of one pulse).
    """
    if not dt > 0.0:
        raise ValueError(f"dt = {dt!r} s: expected > 0 s")
    shape = np.shape(state.x)
    out_x, out_eff = _step_arrays(
        flat(state.x, shape), flat(n_pulses, shape), float(dt),
        flat(params.tau_rec, shape), flat(params.u_se, shape),
    )
    return STPState(out_x.reshape(shape)), STPOutputs(out_eff.reshape(shape))


def train_efficacies(params, times):
    """Efficacy of every pulse of a spike train on one pool starting at rest (event-driven).

    Parameters
    ----------
    params : STPParams
        Scalar fields.
    times : array_like, shape (n,)
        Pulse times, s, non-decreasing (equal times are pulses in arrival order).

    Returns
    -------
    ndarray, shape (n,)
        Efficacy ``U x`` of each pulse, 1 (multiply by ``I_w`` for the pulse amplitude).
    """
    times = np.asarray(times, dtype=np.float64)
    if np.any(np.diff(times) < 0):
        raise ValueError("pulse times must be non-decreasing")
    return _train(times, float(params.tau_rec), float(params.u_se))


@numba.njit(cache=True)
def _train(times, tau_rec, u_se):
    out = np.empty(times.size)
    x = 1.0
    t_last = times[0] if times.size else 0.0
    for k in range(times.size):
        x, t_last, out[k] = pulse_event(x, t_last, times[k], 1.0, tau_rec, u_se)
    return out
