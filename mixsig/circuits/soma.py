"""Silicon adaptive-exponential soma: the current-mode DPI neuron of DYNAP-SE / DYNAP-SE2.

Model
-----
The membrane is a DPI (differential-pair integrator) whose output current
``I_mem = i_0 exp(kappa V_mem / u_t)`` is read from the capacitor ``c_mem``. Kirchhoff's law at
the capacitor, with the subthreshold transistor laws (the derivation of the DPI synapse in
Bartolozzi & Indiveri 2007 / Chicca et al. 2014, applied to the neuron), gives::

    (c_mem u_t / kappa) dI_mem/dt = I_mem * ( i_gain I_in / (i_gain + I_mem) - I_leak + I_fb )

    I_leak = i_tau + I_ahp + I_shunt                 (all currents that discharge c_mem)
    I_in   = max(i_dc + i_syn + noise, 0)            (the input branch conducts one way)
    I_fb   = i_fb_0 exp((kappa^2/(kappa+1)) V_mem/u_t) = i_fb_0 (I_mem/i_0)^(kappa/(kappa+1))
    V_mem  = (u_t/kappa) ln(I_mem / i_0)

The first term is the share of ``I_in`` that the differential pair steers onto the capacitor,
``I_in i_gain/(i_gain + I_mem)``; ``I_fb`` is the positive-feedback current that charges it;
``I_leak`` discharges it. Multiplying by ``(1 + i_gain/I_mem)/i_tau`` gives the textbook form
(Chicca et al. 2014, eq. for the AdExp I&F; physics reference section 2.1) with
``tau = c_mem u_t/(kappa i_tau)``::

    tau (1 + i_gain/I_mem) dI_mem/dt = I_mem_inf + f(I_mem) - I_mem (I_leak / i_tau)
    I_mem_inf = (i_gain/i_tau) (I_in - I_leak)
    f(I_mem)  = (I_fb / i_tau) (I_mem + i_gain)

With ``I_shunt = 0`` the last term is Chicca's ``I_mem (1 + I_ahp/i_tau)``. The shunt enters
exactly like ``I_ahp`` because both are currents that drain the same node (teili adds ``Ishunt``
next to ``Iahp``).

Differences from Rockpool's ``DynapSim`` forward step (read in ``rockpool/devices/dynapse/
simulation/dynapsim.py``): Rockpool writes ``f = (I_fb/I_leak)(I_mem + i_gain)`` and uses
``tau(I_leak) = c_mem u_t/(kappa I_leak)`` as the prefactor; the two substitutions cancel for the
feedback and input terms but not for the ``I_mem (1 + I_ahp/i_tau)`` term, so Rockpool is
consistent with the circuit only when ``I_ahp = 0``. Rockpool also subtracts ``I_leak`` twice
(``Iin = isyn - Ileak + Idc`` and then ``Iin - Ileak``) and integrates with forward Euler. This
module follows the circuit equation above, which coincides with both sources when
``I_ahp = I_shunt = 0``.

Negative net input (subtractive GABA inhibition stronger than excitation): the input branch of the DPI is a single
transistor that can only source current, so ``I_in`` is clipped at 0. The membrane then relaxes
with its leak, ``dI_mem/dt = -I_mem (I_leak - I_fb) kappa/(c_mem u_t)``; extra inhibition has no
further effect (subtractive inhibition saturates; use the shunt for divisive inhibition).
``I_mem`` is bounded below by the dark current ``i_0`` (every implementation read clips there).

Spikes, refractoriness, adaptation
----------------------------------
* Spike when ``I_mem`` reaches ``i_spkthr``. The crossing time is found inside the step (root of
  the Runge-Kutta map, see below); ``I_mem`` is reset to ``i_reset`` there.
* Refractory period ``t_ref = v_ref c_ref / i_ref`` (the pulse extender discharging ``c_ref``
  with ``i_ref`` until it crosses ``v_ref``), tracked in continuous time: ``I_mem`` is held at
  ``i_reset`` and the input gated off; when the period ends inside a step the remainder of the
  step is integrated. Several spikes per step are possible when ``t_ref < dt``.
* Spike-frequency adaptation: a DPI (``c_ahp``, ``i_tau_ahp``, ``i_gain_ahp``) whose input is a
  pulse of current ``i_w_ahp`` and width ``t_pulse_ahp`` started at each output spike. Its output
  ``I_ahp`` adds to the leak. It is advanced with the exact DPI kernel
  :func:`mixsig.circuits.dpi.dpi_advance` (full nonlinear DPI, no linearisation). An AHP whose
  current is exactly 0 and receives no pulse stays at 0: ``initial_state`` starts it at 0 when
  ``i_w_ahp = 0`` (adaptation disabled, as with the chip's adaptation enable bit), and at the
  dark current ``i_0`` otherwise; an enabled AHP never decays below ``i_0`` (the DPI kernel's
  floor), so it adds at least ``i_0`` to the leak.

Numerical scheme
----------------
The membrane is integrated in ``x = ln(I_mem / 1 A)``, where the equation reads
``dx/dt = (kappa/(c_mem u_t)) (i_gain I_in/(i_gain + e^x) - I_leak(t) + I_fb(x))``, a smooth,
bounded right-hand side (``I_mem`` spans 5 decades between reset and threshold, ``x`` only 12
units). Each step is split at the events that change the right-hand side discontinuously (end of
the refractory period, end of an AHP pulse, spikes). Within a segment classical RK4 sub-steps are
taken, each limited so that ``|dx| <= DX_MAX`` and ``h |d(dx/dt)/dx| <= STIFF_MAX``; ``I_ahp(t)``
inside a sub-step is evaluated exactly with ``dpi_advance`` at the Runge-Kutta stage times.
When a sub-step ends at or above threshold, the crossing time is the root (Illinois method, to
``|dx| < 1e-12``) of the RK4 map as a function of the sub-step length. Inputs are constant over a
step, so for constant input the spike times do not depend on ``dt``; the default engine step
``DEFAULT_DT = 1e-4 s`` only sets how often inputs may change (see
``validation/soma_dt_convergence.py``).

Defaults (DYNAP-SE2 column; Rockpool ``rockpool/devices/dynapse/parameters`` default tables)
---------------------------------------------------------------------------------------------
=============== ======================= =====================================================
c_mem           3 pF                    Rockpool ``C_mem``
i_tau           5.50 pA                 from ``tau_mem = 20 ms`` (Rockpool) with mixsig U_T, KAPPA
i_gain          4 i_tau = 22.0 pA       Rockpool ``r_gain_mem = 4``
i_spkthr        100 nA                  Rockpool ``Ispkthr = 1e-7``
i_reset         i_0 = 0.5 pA            Rockpool resets to ``Io``
i_ref           1.05 nA                 ``v_ref c_ref / t_ref`` with t_ref = 1 ms (Rockpool)
c_ref           1.5 pF                  Rockpool ``C_ref``
v_ref           0.7 V                   Rockpool ``Vth``
i_dc            i_0 = 0.5 pA            Rockpool ``Idc = Io`` (below the leak: silent)
i_fb_0          i_0 = 0.5 pA            Rockpool ``Ifb = Io exp(...)``
c_ahp           40 pF                   Rockpool ``C_ahp``
i_tau_ahp       29.3 pA                 from ``tau_ahp = 50 ms`` (Rockpool)
i_gain_ahp      i_tau_ahp               Rockpool ``r_gain_ahp = 1``
i_w_ahp         0.5 pA                  Rockpool ``Iw_ahp = 5e-13`` (see the caveat below)
t_pulse_ahp     1 us                    Rockpool ``t_pulse_ahp``
kappa, u_t, i_0 constants               :mod:`mixsig.constants`
=============== ======================= =====================================================

Caveat (flagged): with the full DPI equation a pulse input below ``i_tau_ahp`` cannot charge the
AHP at all (its steady state ``(i_gain/i_tau) I_w - i_gain`` is negative), so Rockpool's default
``i_w_ahp = 0.5 pA`` gives no adaptation here; Rockpool's linearised DPI hides this. Effective
adaptation with a 1 us pulse on 40 pF needs ``i_w_ahp`` of order 0.1-1 uA (the per-pulse jump in
the linear regime is ``kappa i_gain_ahp i_w_ahp t_pulse_ahp / (c_ahp u_t)``).
"""

import dataclasses
import math
import typing

import numba
import numpy as np

from mixsig.circuits.arrays import flat
from mixsig.circuits.dpi import decay, dpi_advance, propagator
from mixsig.constants import I_0, KAPPA, U_T
from mixsig.params import parameter, require_positive

DEFAULT_DT = 1e-4
"""Default engine step, s: inputs are piecewise constant on this grid (module docstring)."""

DX_MAX = 0.05
"""Largest change of ``ln I_mem`` in one Runge-Kutta sub-step."""

STIFF_MAX = 0.1
"""Largest ``h |d(dx/dt)/dx|`` in one Runge-Kutta sub-step."""

CROSS_TOL = 1e-12
"""Tolerance on ``ln I_mem`` when locating the threshold crossing."""

N_KERNEL_PARAMETERS = 18
"""Rows of :func:`kernel_parameters` (the parameters of :func:`soma_advance`)."""

_TAU_MEM = 20e-3
_TAU_AHP = 50e-3
_T_REF = 1e-3
_C_MEM = 3e-12
_C_REF = 1.5e-12
_V_REF = 0.7
_C_AHP = 40e-12
_I_TAU = _C_MEM * U_T / (KAPPA * _TAU_MEM)
_I_TAU_AHP = _C_AHP * U_T / (KAPPA * _TAU_AHP)


@dataclasses.dataclass(frozen=True)
class SomaParams:
    """Parameters of the silicon AdExp (DPI) soma; floats or arrays broadcastable to (instance, neuron)."""

    c_mem: float = parameter(_C_MEM, "F", "membrane capacitance")
    i_tau: float = parameter(_I_TAU, "A", "membrane leak (time-constant) bias current")
    i_gain: float = parameter(4.0 * _I_TAU, "A", "membrane DPI gain (threshold) bias current")
    i_spkthr: float = parameter(100e-9, "A", "spike threshold membrane current")
    i_reset: float = parameter(I_0, "A", "membrane current after a spike")
    i_ref: float = parameter(_V_REF * _C_REF / _T_REF, "A", "refractory pulse-extender bias current")
    c_ref: float = parameter(_C_REF, "F", "refractory pulse-extender capacitance")
    v_ref: float = parameter(_V_REF, "V", "refractory pulse-extender switching voltage")
    i_dc: float = parameter(I_0, "A", "constant (DC) input current")
    i_fb_0: float = parameter(I_0, "A", "positive-feedback current scale (0 switches feedback off)")
    c_ahp: float = parameter(_C_AHP, "F", "adaptation (AHP) DPI capacitance")
    i_tau_ahp: float = parameter(_I_TAU_AHP, "A", "adaptation DPI leak bias current")
    i_gain_ahp: float = parameter(_I_TAU_AHP, "A", "adaptation DPI gain bias current")
    i_w_ahp: float = parameter(0.5e-12, "A", "adaptation pulse (weight) current per output spike")
    t_pulse_ahp: float = parameter(1e-6, "s", "adaptation pulse width per output spike")
    kappa: float = parameter(KAPPA, "1", "subthreshold slope factor")
    u_t: float = parameter(U_T, "V", "thermal voltage")
    i_0: float = parameter(I_0, "A", "dark current (floor of every subthreshold current)")

    def __post_init__(self):
        require_positive(
            self,
            ("c_mem", "i_tau", "i_gain", "i_spkthr", "i_reset", "i_ref", "c_ref", "v_ref", "c_ahp",
             "i_tau_ahp", "i_gain_ahp", "kappa", "u_t", "i_0"),
        )
        bad = [name for name in ("i_dc", "i_fb_0", "i_w_ahp", "t_pulse_ahp") if not np.all(np.asarray(getattr(self, name)) >= 0)]
        if bad:
            raise ValueError(f"invalid SomaParams: {', '.join(bad)} must be >= 0")
        if not np.all(np.asarray(self.i_reset) < np.asarray(self.i_spkthr)):
            raise ValueError("invalid SomaParams: i_reset must be below i_spkthr")

    @property
    def tau(self):
        """Membrane time constant ``c_mem u_t / (kappa i_tau)``, s."""
        return self.c_mem * self.u_t / (self.kappa * self.i_tau)

    @property
    def tau_ahp(self):
        """Adaptation time constant ``c_ahp u_t / (kappa i_tau_ahp)``, s."""
        return self.c_ahp * self.u_t / (self.kappa * self.i_tau_ahp)

    @property
    def t_ref(self):
        """Refractory period ``v_ref c_ref / i_ref``, s."""
        return self.v_ref * self.c_ref / self.i_ref


class SomaState(typing.NamedTuple):
    """State of the soma; float64 arrays of shape (instance, neuron).

    Attributes
    ----------
    i_mem : ndarray
        Membrane current, A.
    i_ahp : ndarray
        Adaptation (AHP) DPI output current, A.
    refractory_left : ndarray
        Remaining refractory time, s (0 when not refractory).
    ahp_pulse_left : ndarray
        Remaining time of the current AHP input pulse, s (0 when none).
    """

    i_mem: np.ndarray
    i_ahp: np.ndarray
    refractory_left: np.ndarray
    ahp_pulse_left: np.ndarray


class SomaOutputs(typing.NamedTuple):
    """Outputs of one step; arrays of shape (instance, neuron).

    Attributes
    ----------
    spiked : ndarray of bool
        Whether the neuron spiked during the step.
    spike_offset : ndarray of float
        Time of the first spike in the step, measured from the start of the step, s (NaN if none).
    v_mem : ndarray of float
        Membrane voltage ``(u_t/kappa) ln(I_mem/i_0)`` at the end of the step, V.
    spike_count : ndarray of int
        Number of spikes in the step (more than 1 only when ``t_ref < dt``).
    """

    spiked: np.ndarray
    spike_offset: np.ndarray
    v_mem: np.ndarray
    spike_count: np.ndarray


def initial_state(params, shape):
    """Resting state: ``I_mem = i_reset``, AHP at ``i_0`` (0 if ``i_w_ahp = 0``), not refractory.

    Parameters
    ----------
    params : SomaParams
    shape : tuple of int
        State shape (instance, neuron).

    Returns
    -------
    SomaState
    """
    i_mem = np.broadcast_to(np.asarray(params.i_reset, dtype=float), shape).copy()
    i_ahp = np.broadcast_to(np.where(np.asarray(params.i_w_ahp) > 0, params.i_0, 0.0).astype(float), shape).copy()
    return SomaState(i_mem, i_ahp, np.zeros(shape), np.zeros(shape))


@numba.njit(cache=True)
def _membrane_constants(c_mem, i_gain, i_fb_0, kappa, u_t, x_floor):
    """``mem`` tuple of :func:`_rate`: ``(kappa/(c_mem u_t), i_gain, i_fb_0, kappa/(kappa+1), ln i_0)``."""
    return kappa / (c_mem * u_t), i_gain, i_fb_0, kappa / (kappa + 1.0), x_floor


@numba.njit(cache=True)
def _feedback(x, mem):
    """Positive-feedback current ``i_fb_0 (I_mem/i_0)^(kappa/(kappa+1))`` at ``x = ln I_mem``, A."""
    _, _, i_fb_0, exponent, x_0 = mem
    if i_fb_0 == 0.0:
        return 0.0
    return i_fb_0 * math.exp(exponent * (x - x_0))


@numba.njit(cache=True)
def _rate(x, i_in, i_leak, mem):
    """``dx/dt`` of ``x = ln I_mem``, 1/s; ``mem`` from :func:`_membrane_constants`."""
    scale, i_gain = mem[0], mem[1]
    return scale * (i_gain * i_in / (i_gain + math.exp(x)) - i_leak + _feedback(x, mem))


@numba.njit(cache=True)
def _rate_and_stiffness(x, i_in, i_leak, mem):
    """``dx/dt`` (:func:`_rate`) and the bound ``|d(dx/dt)/dx|`` at ``x``, both 1/s."""
    scale, i_gain, exponent = mem[0], mem[1], mem[3]
    i_mem = math.exp(x)
    i_fb = _feedback(x, mem)
    drive = i_gain * i_in / (i_gain + i_mem)
    return scale * (drive - i_leak + i_fb), scale * (drive * i_mem / (i_gain + i_mem) + exponent * i_fb)


@numba.njit(cache=True)
def _ahp_at(ahp_start, ahp_in, elapsed, ahp):
    """AHP current after ``elapsed`` s of constant input ``ahp_in`` from ``ahp_start``, A.

    ``ahp = (i_tau_ahp, i_gain_ahp, c_ahp, kappa, u_t, i_0, step, tau, decayed, decayed_half)``: the
    AHP DPI's parameters, then :func:`mixsig.circuits.dpi.propagator`'s values for ``step`` and
    ``step / 2`` (``step = 0``: none). A disabled AHP (current 0, no input) stays at 0, one at its
    floor ``i_0`` with no input at ``i_0``. A decay over ``step`` or ``step / 2`` (a whole step, or the
    midpoint of a step's single RK4 sub-step) uses the propagators. Both are
    :func:`mixsig.circuits.dpi.dpi_advance`'s numbers, bit for bit, without its ``exp``.
    """
    if elapsed <= 0.0 or (ahp_start == 0.0 and ahp_in == 0.0):
        return ahp_start
    if ahp_in == 0.0:
        if ahp_start <= ahp[5]:  # at the floor: dpi_advance's first branch
            return ahp[5]
        if elapsed == ahp[6]:
            return decay(ahp_start, elapsed, ahp[7], ahp[8], ahp[5])[0]
        if elapsed == 0.5 * ahp[6]:
            return decay(ahp_start, elapsed, ahp[7], ahp[9], ahp[5])[0]
    return dpi_advance(ahp_start, ahp_in, elapsed, ahp[0], ahp[1], ahp[2], ahp[3], ahp[4], ahp[5])[0]


@numba.njit(cache=True)
def ahp_propagators(dt, i_tau_ahp, c_ahp, kappa, u_t):
    """The last arguments of :func:`soma_advance_propagated` for steps of ``dt`` s: ``dt``, the AHP's time
    constant (s) and its decayed fractions over ``dt`` and ``dt / 2`` (1)."""
    tau, decayed = propagator(dt, i_tau_ahp, c_ahp, kappa, u_t)
    return dt, tau, decayed, propagator(0.5 * dt, i_tau_ahp, c_ahp, kappa, u_t)[1]


@numba.njit(cache=True)
def _rk4(x, k1, elapsed, h, i_in, leak_fixed, ahp_start, ahp_in, mem, ahp):
    """One classical RK4 step of length ``h`` from ``x`` at ``elapsed`` s into the segment.

    Returns the new ``x`` and the AHP current at the end of the step, A.
    """
    leak_mid = leak_fixed + _ahp_at(ahp_start, ahp_in, elapsed + 0.5 * h, ahp)
    ahp_end = _ahp_at(ahp_start, ahp_in, elapsed + h, ahp)
    k2 = _rate(x + 0.5 * h * k1, i_in, leak_mid, mem)
    k3 = _rate(x + 0.5 * h * k2, i_in, leak_mid, mem)
    k4 = _rate(x + h * k3, i_in, leak_fixed + ahp_end, mem)
    return x + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0, ahp_end


@numba.njit(cache=True)
def _crossing(x, k1, elapsed, h, x_end, x_thr, i_in, leak_fixed, ahp_start, ahp_in, mem, ahp):
    """Length ``eta`` in ``(0, h]`` of the RK4 sub-step that ends exactly on ``x_thr`` (Illinois)."""
    a, fa = 0.0, x - x_thr
    b, fb = h, x_end - x_thr
    side = 0
    eta = b
    for _ in range(100):
        if fb - fa <= 0.0:
            break
        eta = b - fb * (b - a) / (fb - fa)
        fe = _rk4(x, k1, elapsed, eta, i_in, leak_fixed, ahp_start, ahp_in, mem, ahp)[0] - x_thr
        if abs(fe) < CROSS_TOL:
            break
        if fe > 0.0:
            b, fb = eta, fe
            if side == 1:
                fa *= 0.5
            side = 1
        else:
            a, fa = eta, fe
            if side == -1:
                fb *= 0.5
            side = -1
    return eta


@numba.njit(cache=True)
def _integrate_segment(x, length, i_in, leak_fixed, ahp_start, ahp_in, x_thr, x_floor, mem, ahp):
    """Integrate ``x = ln I_mem`` over one segment with constant inputs.

    Returns ``(x, elapsed, crossed)``: the state at ``elapsed`` s into the segment, which is the
    segment length unless the threshold was crossed (then ``x = x_thr``).
    """
    if x >= x_thr:
        return x_thr, 0.0, True
    elapsed = 0.0
    ahp_now = ahp_start
    while elapsed < length:
        k1, stiff = _rate_and_stiffness(x, i_in, leak_fixed + ahp_now, mem)
        if x <= x_floor and k1 <= 0.0:
            # Pinned at the dark-current floor. The AHP is monotonic under constant input, so if
            # the drive is still non-positive at the end of the segment it stays pinned.
            leak_end = leak_fixed + _ahp_at(ahp_start, ahp_in, length, ahp)
            if _rate(x_floor, i_in, leak_end, mem) <= 0.0:
                return x_floor, length, False
        remaining = length - elapsed
        h = remaining
        if abs(k1) * h > DX_MAX:
            h = DX_MAX / abs(k1)
        if stiff * h > STIFF_MAX:
            h = STIFF_MAX / stiff
        x_end, ahp_now = _rk4(x, k1, elapsed, h, i_in, leak_fixed, ahp_start, ahp_in, mem, ahp)
        if x_end >= x_thr:
            eta = _crossing(x, k1, elapsed, h, x_end, x_thr, i_in, leak_fixed, ahp_start, ahp_in, mem, ahp)
            return x_thr, elapsed + eta, True
        x = max(x_end, x_floor)
        elapsed = length if h == remaining else elapsed + h
    return x, length, False


@numba.njit(cache=True)
def _time_left(left, elapsed, ended):
    """Remaining time of a timer after ``elapsed`` s; 0 when the segment ended on it."""
    if ended or left <= elapsed:
        return 0.0
    return left - elapsed


@numba.njit(cache=True)
def soma_advance(
    i_mem, i_ahp, refractory_left, ahp_pulse_left, i_in, i_shunt, dt,
    c_mem, i_tau, i_gain, i_spkthr, i_reset, t_ref, i_fb_0,
    c_ahp, i_tau_ahp, i_gain_ahp, i_w_ahp, t_pulse_ahp, kappa, u_t, i_0, x_thr, x_reset, x_floor,
):
    """Advance one soma by ``dt`` under constant inputs (scalar kernel, compiled).

    Parameters
    ----------
    i_mem, i_ahp : float
        Membrane and adaptation currents at the start of the step, A.
    refractory_left, ahp_pulse_left : float
        Remaining refractory time and AHP pulse time, s.
    i_in : float
        Total input current ``i_dc + i_syn + noise``, A (clipped at 0 inside).
    i_shunt : float
        Shunting current added to the leak, A.
    dt : float
        Step, s.
    c_mem, i_tau, i_gain, i_spkthr, i_reset, i_fb_0, c_ahp, i_tau_ahp, i_gain_ahp, i_w_ahp,
    t_pulse_ahp, kappa, u_t, i_0 : float
        :class:`SomaParams` fields (SI units).
    t_ref : float
        Refractory period ``SomaParams.t_ref``, s.
    x_thr, x_reset, x_floor : float
        ``ln i_spkthr``, ``ln i_reset`` and ``ln i_0`` (currents in A), precomputed with the
        parameters (:func:`kernel_parameters`) rather than at every step.

    Returns
    -------
    i_mem, i_ahp, refractory_left, ahp_pulse_left : float
        State at the end of the step.
    n_spikes : int
        Spikes emitted during the step.
    first_offset : float
        Time of the first spike from the start of the step, s (NaN if none).
    """
    return soma_advance_propagated(
        i_mem, i_ahp, refractory_left, ahp_pulse_left, i_in, i_shunt, dt, c_mem, i_tau, i_gain, i_spkthr, i_reset,
        t_ref, i_fb_0, c_ahp, i_tau_ahp, i_gain_ahp, i_w_ahp, t_pulse_ahp, kappa, u_t, i_0, x_thr, x_reset, x_floor,
        0.0, 0.0, 0.0, 0.0)


@numba.njit(cache=True)
def soma_advance_propagated(
    i_mem, i_ahp, refractory_left, ahp_pulse_left, i_in, i_shunt, dt,
    c_mem, i_tau, i_gain, i_spkthr, i_reset, t_ref, i_fb_0,
    c_ahp, i_tau_ahp, i_gain_ahp, i_w_ahp, t_pulse_ahp, kappa, u_t, i_0, x_thr, x_reset, x_floor,
    ahp_step, ahp_tau, ahp_decayed, ahp_decayed_half,
):
    """:func:`soma_advance` with the AHP's :func:`ahp_propagators` for steps of ``ahp_step`` s
    (``ahp_step = 0``: none), precomputed with the parameters: they save the AHP's ``exp``
    evaluations in steps of that length and change no result. Arguments and results otherwise as
    :func:`soma_advance`."""
    mem = _membrane_constants(c_mem, i_gain, i_fb_0, kappa, u_t, x_floor)
    ahp = (i_tau_ahp, i_gain_ahp, c_ahp, kappa, u_t, i_0, ahp_step, ahp_tau, ahp_decayed, ahp_decayed_half)
    i_in = max(i_in, 0.0)
    leak_fixed = i_tau + i_shunt
    x = math.log(max(i_mem, i_0))
    n_spikes = 0
    first_offset = np.nan
    t = 0.0
    while t < dt:
        # The segment ends at the step end, the AHP pulse end or the refractory end.
        end = dt
        ahp_in = 0.0
        if ahp_pulse_left > 0.0:
            ahp_in = i_w_ahp
            end = min(end, t + ahp_pulse_left)
        refractory = refractory_left > 0.0
        if refractory:
            end = min(end, t + refractory_left)
        length = end - t
        if refractory:
            x = x_reset
            elapsed, crossed = length, False
        else:
            x, elapsed, crossed = _integrate_segment(x, length, i_in, leak_fixed, i_ahp, ahp_in, x_thr, x_floor, mem, ahp)
        i_ahp = _ahp_at(i_ahp, ahp_in, elapsed, ahp)
        whole = elapsed == length
        if ahp_pulse_left > 0.0:
            ahp_pulse_left = _time_left(ahp_pulse_left, elapsed, whole and t + ahp_pulse_left <= end)
        if refractory:
            refractory_left = _time_left(refractory_left, elapsed, whole and t + refractory_left <= end)
        t = end if whole else t + elapsed
        if crossed:
            if n_spikes == 0:
                first_offset = t
            n_spikes += 1
            x = x_reset
            refractory_left = t_ref
            ahp_pulse_left = max(ahp_pulse_left, t_pulse_ahp)
    i_mem = i_reset if refractory_left > 0.0 else math.exp(x)
    return i_mem, i_ahp, refractory_left, ahp_pulse_left, n_spikes, first_offset


@numba.njit(cache=True)
def _advance_all(i_mem, i_ahp, refractory_left, ahp_pulse_left, i_in, i_shunt, dt, p):
    """Apply :func:`soma_advance` to flattened arrays; ``p`` is (n_params, n) in kernel order."""
    n = i_mem.size
    out_mem = np.empty(n)
    out_ahp = np.empty(n)
    out_ref = np.empty(n)
    out_pulse = np.empty(n)
    count = np.empty(n, dtype=np.int64)
    offset = np.empty(n)
    for k in range(n):
        out_mem[k], out_ahp[k], out_ref[k], out_pulse[k], count[k], offset[k] = soma_advance(
            i_mem[k], i_ahp[k], refractory_left[k], ahp_pulse_left[k], i_in[k], i_shunt[k], dt,
            p[0, k], p[1, k], p[2, k], p[3, k], p[4, k], p[5, k], p[6, k],
            p[7, k], p[8, k], p[9, k], p[10, k], p[11, k], p[12, k], p[13, k], p[14, k], p[15, k], p[16, k],
            p[17, k],
        )
    return out_mem, out_ahp, out_ref, out_pulse, count, offset


def kernel_parameters(params, shape):
    """Parameters in :func:`soma_advance` order, broadcast to ``shape``.

    Parameters
    ----------
    params : SomaParams
    shape : tuple of int

    Returns
    -------
    ndarray, shape (N_KERNEL_PARAMETERS,) + shape
        Rows ``c_mem, i_tau, i_gain, i_spkthr, i_reset, t_ref, i_fb_0, c_ahp, i_tau_ahp,
        i_gain_ahp, i_w_ahp, t_pulse_ahp, kappa, u_t, i_0``, then ``ln i_spkthr, ln i_reset,
        ln i_0`` (the threshold, reset and floor of ``x = ln I_mem``).
    """
    values = (
        params.c_mem, params.i_tau, params.i_gain, params.i_spkthr, params.i_reset, params.t_ref,
        params.i_fb_0, params.c_ahp, params.i_tau_ahp, params.i_gain_ahp, params.i_w_ahp,
        params.t_pulse_ahp, params.kappa, params.u_t, params.i_0,
    )
    rows = [np.broadcast_to(np.asarray(v, dtype=float), shape) for v in values]
    rows += [np.log(rows[3]), np.log(rows[4]), np.log(rows[14])]
    return np.stack(rows)


def step(state, i_syn, i_shunt, params, dt, noise=None):
    """Advance every soma by one step of length ``dt``.

    Parameters
    ----------
    state : SomaState
        Arrays of shape (instance, neuron).
    i_syn : array_like
        Net synaptic input current (excitatory minus subtractive inhibitory), A; added to
        ``i_dc``; broadcastable to the state shape; held constant over the step.
    i_shunt : array_like
        Shunting current added to the leak, A; broadcastable to the state shape.
    params : SomaParams
        Scalars or arrays broadcastable to the state shape (e.g. per-instance mismatch).
    dt : float
        Step, s.
    noise : array_like, optional
        Step-averaged noise current added to the input, A.

    Returns
    -------
    state : SomaState
    outputs : SomaOutputs
    """
    shape = state.i_mem.shape
    i_in = np.asarray(params.i_dc, dtype=float) + np.asarray(i_syn, dtype=float)
    if noise is not None:
        i_in = i_in + np.asarray(noise, dtype=float)
    arrays = [flat(a, shape) for a in (state.i_mem, state.i_ahp, state.refractory_left, state.ahp_pulse_left, i_in, i_shunt)]
    p = np.ascontiguousarray(kernel_parameters(params, shape).reshape(N_KERNEL_PARAMETERS, -1))
    i_mem, i_ahp, ref, pulse, count, offset = _advance_all(*arrays, float(dt), p)
    new = SomaState(i_mem.reshape(shape), i_ahp.reshape(shape), ref.reshape(shape), pulse.reshape(shape))
    u_t = np.broadcast_to(np.asarray(params.u_t, dtype=float), shape)
    kappa = np.broadcast_to(np.asarray(params.kappa, dtype=float), shape)
    v_mem = (u_t / kappa) * np.log(new.i_mem / np.asarray(params.i_0, dtype=float))
    count = count.reshape(shape)
    return new, SomaOutputs(count > 0, offset.reshape(shape), v_mem, count)


def interspike_interval(params, i_in, i_shunt=0.0):
    """Exact integration time from ``i_reset`` to ``i_spkthr`` without feedback and adaptation.

    With ``i_fb_0 = 0`` and ``I_ahp = 0`` the membrane equation is
    ``tau_L (1 + i_gain/I) dI/dt = I_inf - I`` with ``I_leak = i_tau + i_shunt``,
    ``tau_L = c_mem u_t/(kappa I_leak)`` and ``I_inf = (i_gain/I_leak)(I_in - I_leak)``; separating
    variables and using ``1/(I (I_inf - I)) = (1/I + 1/(I_inf - I))/I_inf``::

        T = tau_L [ (1 + i_gain/I_inf) ln((I_inf - i_reset)/(I_inf - i_spkthr))
                    + (i_gain/I_inf) ln(i_spkthr/i_reset) ]

    The first term alone with the factor 1 is the linear-regime result of the physics reference
    (section 2.3), valid when ``I_inf >> i_gain``. The feedback and AHP fields of ``params`` are
    ignored.

    Parameters
    ----------
    params : SomaParams
    i_in : float or ndarray
        Total input current, A.
    i_shunt : float or ndarray
        Shunting current, A.

    Returns
    -------
    float or ndarray
        Integration time, s (``inf`` at or below rheobase); the firing period is ``t_ref + T``.
    """
    i_leak = params.i_tau + np.asarray(i_shunt, dtype=float)
    tau_leak = params.c_mem * params.u_t / (params.kappa * i_leak)
    i_inf = (params.i_gain / i_leak) * (np.asarray(i_in, dtype=float) - i_leak)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = params.i_gain / i_inf
        period = tau_leak * (
            (1.0 + ratio) * np.log((i_inf - params.i_reset) / (i_inf - params.i_spkthr))
            + ratio * np.log(params.i_spkthr / params.i_reset)
        )
    return np.where(i_inf > params.i_spkthr, period, np.inf)


def rheobase(params, i_shunt=0.0):
    """Smallest input that fires without feedback and adaptation, A.

    ``I_inf > i_spkthr``  <=>  ``I_in > I_leak (1 + i_spkthr/i_gain)``, ``I_leak = i_tau + i_shunt``.

    Parameters
    ----------
    params : SomaParams
        Soma parameters (floats or arrays of the state shape ``(instance, neuron)``).
    i_shunt : float or ndarray
        Shunting current added to the leak, A.

    Returns
    -------
    float or ndarray
        Rheobase current, A; the broadcast shape of the parameters.
    """
    return (params.i_tau + i_shunt) * (1.0 + params.i_spkthr / params.i_gain)


def reference_spike_times(params, i_in, duration, i_shunt=0.0, state=None, t_eval=None, rtol=1e-10):
    """Spike times from ``scipy.integrate.solve_ivp`` on the model equations (slow reference).

    An independent formulation for tests and validation: ``I_mem`` and ``I_ahp`` are integrated
    as currents (not ``ln I``) with the DOP853 method, the AHP by its own DPI differential
    equation ``(c_ahp u_t/kappa) dI_ahp/dt = I_ahp (I_w i_gain_ahp/(i_gain_ahp + I_ahp) - i_tau_ahp)``
    (not :func:`mixsig.circuits.dpi.dpi_advance`), threshold crossings by event detection, and the
    refractory period and AHP pulses as exact interval boundaries. An enabled AHP is held at the
    dark current ``i_0`` from below, as in the DPI kernel; no floor is applied to ``I_mem``, so use
    it where ``I_mem`` stays above ``i_0``.

    Parameters
    ----------
    params : SomaParams
        Scalar parameters.
    i_in : float
        Total constant input current ``i_dc + i_syn``, A.
    duration : float
        Simulated time, s.
    i_shunt : float
        Constant shunting current, A.
    state : SomaState, optional
        Initial state (scalars or size-1 arrays); default :func:`initial_state`.
    t_eval : ndarray, optional
        Times at which to sample ``(I_mem, I_ahp)``, s.
    rtol : float
        Relative tolerance of the integrator.

    Returns
    -------
    spike_times : ndarray
        s.
    samples : ndarray, shape (len(t_eval), 2)
        ``(I_mem, I_ahp)`` at ``t_eval`` (empty when ``t_eval`` is None), A.
    """
    from scipy.integrate import solve_ivp

    p = params
    if state is None:
        state = initial_state(p, (1, 1))
    i_mem, i_ahp, refractory_left, pulse_left = (float(np.asarray(v).ravel()[0]) for v in state)
    k_mem = p.kappa / (p.c_mem * p.u_t)
    k_ahp = p.kappa / (p.c_ahp * p.u_t)
    drive = max(i_in, 0.0)
    t_eval = np.empty(0) if t_eval is None else np.asarray(t_eval, dtype=float)
    samples = np.full((t_eval.size, 2), np.nan)

    def rhs(_, y, frozen, pulse_on):
        i, a = y
        w = p.i_w_ahp if pulse_on else 0.0
        da = k_ahp * a * (w * p.i_gain_ahp / (p.i_gain_ahp + a) - p.i_tau_ahp)
        if a > 0 and a <= p.i_0 and da < 0:
            da = 0.0  # an enabled AHP DPI does not decay below the dark current
        if frozen:
            return [0.0, da]
        i_fb = p.i_fb_0 * (i / p.i_0) ** (p.kappa / (p.kappa + 1.0))
        di = k_mem * i * (p.i_gain * drive / (p.i_gain + i) - (p.i_tau + i_shunt + a) + i_fb)
        return [di, da]

    def threshold(_, y, *args):
        return y[0] - p.i_spkthr

    threshold.terminal = True
    threshold.direction = 1
    spikes = []
    t = 0.0
    while t < duration:
        end = duration
        if pulse_left > 0:
            end = min(end, t + pulse_left)
        frozen = refractory_left > 0
        if frozen:
            end = min(end, t + refractory_left)
            i_mem = p.i_reset
        sol = solve_ivp(
            rhs, (t, end), [i_mem, i_ahp], method="DOP853", rtol=rtol, atol=1e-9 * p.i_0,
            args=(frozen, pulse_left > 0), events=None if frozen else threshold, dense_output=True,
        )
        t_stop = sol.t[-1]
        inside = (t_eval >= t) & (t_eval <= t_stop)
        if inside.any():
            samples[inside] = sol.sol(t_eval[inside]).T
        i_mem, i_ahp = sol.y[:, -1]
        elapsed = t_stop - t
        pulse_left = 0.0 if (t_stop >= end and pulse_left > 0 and t + pulse_left <= end) else max(pulse_left - elapsed, 0.0)
        if frozen:
            refractory_left = 0.0 if t + refractory_left <= end else refractory_left - elapsed
        t = t_stop
        if not frozen and sol.status == 1:
            spikes.append(t)
            i_mem = p.i_reset
            refractory_left = p.t_ref
            pulse_left = max(pulse_left, p.t_pulse_ahp)
    return np.array(spikes), samples


def constant_input_spike_times(params, duration, dt=DEFAULT_DT, i_syn=0.0, i_shunt=0.0):
    """Spike times of somata under constant inputs, from :func:`step` (for f-I curves).

    Parameters
    ----------
    params : SomaParams
        Scalars or arrays; their broadcast shape (with ``i_syn`` and ``i_shunt``, promoted to 2-D)
        is the (instance, neuron) shape simulated.
    duration : float
        Simulated time, s.
    dt : float
        Step, s.
    i_syn, i_shunt : float or ndarray
        Constant synaptic and shunting currents, A.

    Returns
    -------
    list of ndarray
        Spike times (s) of each element, in C order of the simulated shape. Only the first spike
        of a step is timed (``SomaOutputs.spike_offset``), so keep ``t_ref >= dt``.
    """
    shapes = [np.shape(getattr(params, f.name)) for f in dataclasses.fields(params)]
    shape = np.broadcast_shapes((1, 1), np.shape(i_syn), np.shape(i_shunt), *shapes)
    state = initial_state(params, shape)
    steps, elements, offsets = [], [], []
    for n in range(int(round(duration / dt))):
        state, out = step(state, i_syn, i_shunt, params, dt)
        fired = np.flatnonzero(out.spiked)
        if fired.size:
            steps.append(np.full(fired.size, n))
            elements.append(fired)
            offsets.append(out.spike_offset.ravel()[fired])
    if not steps:
        return [np.empty(0) for _ in range(int(np.prod(shape)))]
    times = np.concatenate(steps) * dt + np.concatenate(offsets)
    elements = np.concatenate(elements)
    return [np.sort(times[elements == k]) for k in range(int(np.prod(shape)))]
