"""The ``fast`` integrator: the same full nonlinear DPI and soma equations, one fixed-step scheme.

The ``exact`` integrator (:mod:`mixsig.engine.kernels`) solves each DPI pulse to machine
precision and integrates the soma with adaptive RK4 sub-steps. This one integrates the **same
equations** (no linearisation: the DPI keeps its ``I_g`` nonlinearity, the soma its positive
feedback, the AHP, the NMDA gate, the shunt and the refractory period) with a fixed step chosen
for accuracy at ``dt = 100 us``, in structure-of-arrays kernels whose common case is a
branch-free loop over a block of neurons; rare events (pulses, AHP pulses) are handled in a
second, sparse pass. Its error against ``exact`` is a validation result
(``validation/fast_vs_exact.py``, ``docs/models.md``).

Scheme
------
Both the DPI and the soma are written in ``w = y / I_g`` with ``y = I + I_g ln I`` (the DPI's own
gain current ``I_g``; ``i_gain`` for the soma) and ``v = ln(I / I_g)``, so that ``w = e^v + v``.
In ``y`` the DPI equation ``tau (1 + I_g/I) dI/dt + I = A`` becomes linear in time,
``tau dy/dt = A - I``, and the soma equation
``(c_mem u_t / kappa) dI/dt = I (i_gain I_in / (i_gain + I) - I_leak + I_fb)`` becomes
``dw/dt = K (I_in - (e^v + 1)(I_leak - I_fb))`` with ``K = kappa/(c_mem u_t)``: smooth and not
stiff after a reset (where ``ln I`` moves fast, ``y`` does not).

1. DPI without a pulse in the step (the common case): the exact decay ``I <- max(I d, i_0)``
   with the propagator ``d = exp(-dt/tau)``, step average ``max(I tau (1 - d)/dt, i_0)`` (exact
   away from the floor; within ``i_0`` of it on the one step that reaches it).
2. DPI with a pulse on (sparse pass): one Euler step of ``tau dy/dt = A - I`` over the pulse part
   ``t_on`` of the step (``A = (I_g/I_tau) I_pulse - I_g``), inverted for ``I`` by Newton on
   ``e^v + v = w`` to machine precision, then the exact decay over ``dt - t_on``. The charge of the
   pulse part is the corrected trapezoid ``t_on (I_s + I_e)/2 - t_on^2 (I'_e - I'_s)/12`` with the
   equation's own slopes ``I' = (A - I) I / (tau (I + I_g))`` (the plain trapezoid overestimates
   the charge of a pulse that grows ``I`` exponentially by up to 0.6 %). A pulse part longer than
   :data:`MAX_EULER_PULSE` time constants falls back to the exact solver
   (:func:`mixsig.circuits.dpi.dpi_advance`). Pulses merge as in the exact integrator.
3. Soma: one Heun (RK2) step of ``dw/dt`` over the non-refractory part ``h`` of the step, with the
   DPIs' step averages and the AHP's step average held constant (the exact integrator holds the
   DPI averages constant too). Predictor and corrector are inverted for ``v`` by Newton
   (:func:`invert`) from the tangent of ``e^v + v`` at the last ``v``. The non-refractory part
   is ``h = dt - refractory_left`` (0 for a step that is refractory throughout). A step whose
   Heun end point lies above :data:`NEAR_THRESHOLD` times ``i_spkthr`` (rare: about one step per
   spike, where positive feedback makes the membrane run away) is redone from the same start and
   inputs by the exact soma kernel (:func:`mixsig.circuits.soma.soma_advance`): spike detection,
   spike times, reset, refractory period and the AHP pulse are then those of the exact integrator.
4. AHP: the exact decay as in rule 1, its step average held in the soma's leak; a spike's AHP
   pulse is applied by rule 3's exact kernel from the spike time, and a part of it left at the
   step's end is applied as in rule 2 in the next step.
5. Noise: the same step-averaged shot and flicker currents as the exact integrator, from the same
   standard normal draws, entering the same places (each DPI's output after its update, the
   soma's input).

Precision: float64 throughout (state, parameters and arithmetic). The per-step error budget of
the scheme (``O(dt^2)`` per soma step, ``O((t_pulse/tau) (I_end - I_start)/(A - I_start))`` per
pulse) is below 1e-4 relative at ``dt = 100 us`` on the reference network, which float32
(6e-8 relative rounding per operation, ~1e-5 after the 10^4 steps of a second on ``ln I``) would
eat into; float32 is therefore not used.
"""

import math

import numba
import numpy as np

from mixsig.circuits.dpi import dpi_advance
from mixsig.circuits.soma import soma_advance
from mixsig.constants import Q_E

N_TYPES = 4
"""Synapse types per neuron (AMPA, NMDA, GABA, SHUNT)."""

DPI_ROWS = ("t_pulse", "i_tau", "i_gain", "c_syn", "kappa", "u_t", "i_0", "tau", "decay", "mean_factor",
            "decay_after_pulse", "gain_ratio")
"""Rows of the DPI table (shape ``(rows, 4, m)``): the :class:`~mixsig.circuits.dpi.DPIParams` fields,
then ``tau`` (s), the propagators ``exp(-dt/tau)``, ``tau (1 - exp(-dt/tau))/dt`` and
``exp(-(dt - t_pulse)/tau)`` (1), and ``i_gain / i_tau`` (1)."""

SOMA_ROWS = ("k_mem", "i_gain", "ln_i_gain", "i_tau", "i_fb_0", "fb_exponent", "fb_offset", "w_thr", "v_reset",
             "v_floor", "t_ref", "ahp_decay", "ahp_mean_factor", "ahp_floor", "i_tau_ahp", "i_gain_ahp", "c_ahp",
             "i_w_ahp", "t_pulse_ahp", "ahp_tau", "ahp_decay_after_pulse", "kappa", "u_t", "i_0", "c_mem", "i_spkthr", "i_reset", "x_thr",
             "x_reset", "x_floor", "w_near")
"""Rows of the soma table (shape ``(rows, m)``): ``K = kappa/(c_mem u_t)`` (1/(F V)); ``i_gain``
(A) and its log; ``i_tau``, ``i_fb_0`` (A); the feedback ``I_fb = i_fb_0 exp(fb_exponent v +
fb_offset)``; ``w_thr``, ``v_reset``, ``v_floor`` (threshold, reset and floor in ``w`` / ``v``);
``t_ref`` (s); the AHP propagators and floor (``i_0``, or 0 when ``i_w_ahp = 0``), the AHP DPI
parameters, ``kappa``, ``u_t`` and ``i_0``; then the exact kernel's extra parameters (``c_mem``,
``i_spkthr``, ``i_reset`` and the logs of ``i_spkthr``, ``i_reset``, ``i_0``) and ``w_near``, the
``w`` of :data:`NEAR_THRESHOLD` times ``i_spkthr``."""

STATE_ROWS = ("v_mem", "i_ahp", "refractory_left", "ahp_pulse_left")
"""Rows of the soma state (shape ``(4, m)``): ``v = ln(I_mem / i_gain)`` (1), ``I_ahp`` (A), and the
refractory and AHP-pulse times left (s)."""

DPI_STATE_ROWS = ("i_syn", "pulse_current", "pulse_left")
"""Rows of the DPI state (shape ``(3, 4, m)``): output current (A), pulse current (A), pulse time left (s)."""

MAX_EULER_PULSE = 0.05
"""Longest pulse part, in DPI time constants, integrated by the Euler step of rule 2."""

NEAR_THRESHOLD = 0.5
"""Fraction of ``i_spkthr`` above which a step is redone by the exact soma kernel (rule 3)."""

BLOCK = 256
"""Neurons per block: the unit of work of a thread."""

_PULSE_END_RTOL = 1e-10


def _row(table, rows, name):
    return table[rows.index(name)]


def tables(dpis, soma, shape, dt):
    """Parameter tables of :func:`advance`, with the propagators for step ``dt``.

    Parameters
    ----------
    dpis : sequence of 4 DPIParams
    soma : SomaParams
    shape : tuple of int
        ``(instance, neuron)``; ``m = instance * neuron``.
    dt : float
        Step, s.

    Returns
    -------
    syn_par : ndarray, shape (len(DPI_ROWS), 4, m)
    soma_par : ndarray, shape (len(SOMA_ROWS), m)
    """
    def flat(value):
        return np.broadcast_to(np.asarray(value, dtype=float), shape).reshape(-1)

    per_type = []
    for p in dpis:
        raw = {r: flat(getattr(p, r)) for r in DPI_ROWS[:7]}
        tau = raw["c_syn"] * raw["u_t"] / (raw["kappa"] * raw["i_tau"])
        decay = np.exp(-dt / tau)
        derived = {
            "tau": tau, "decay": decay, "mean_factor": -np.expm1(-dt / tau) * tau / dt,
            "decay_after_pulse": np.exp(-np.maximum(dt - raw["t_pulse"], 0.0) / tau),
            "gain_ratio": raw["i_gain"] / raw["i_tau"],
        }
        per_type.append(np.stack([{**raw, **derived}[r] for r in DPI_ROWS]))
    syn_par = np.stack(per_type, axis=1)
    s = {f: flat(getattr(soma, f)) for f in ("c_mem", "i_tau", "i_gain", "i_spkthr", "i_reset", "i_fb_0", "c_ahp",
                                             "i_tau_ahp", "i_gain_ahp", "i_w_ahp", "t_pulse_ahp", "kappa", "u_t",
                                             "i_0")}
    s["t_ref"] = flat(soma.t_ref)
    exponent = s["kappa"] / (s["kappa"] + 1.0)
    ln_gain = np.log(s["i_gain"])
    ahp_tau = s["c_ahp"] * s["u_t"] / (s["kappa"] * s["i_tau_ahp"])
    thr = s["i_spkthr"] / s["i_gain"]
    rows = {
        "k_mem": s["kappa"] / (s["c_mem"] * s["u_t"]), "i_gain": s["i_gain"], "ln_i_gain": ln_gain,
        "i_tau": s["i_tau"], "i_fb_0": s["i_fb_0"], "fb_exponent": exponent,
        "fb_offset": exponent * (ln_gain - np.log(s["i_0"])), "w_thr": thr + np.log(thr),
        "v_reset": np.log(s["i_reset"]) - ln_gain, "v_floor": np.log(s["i_0"]) - ln_gain, "t_ref": s["t_ref"],
        "ahp_decay": np.exp(-dt / ahp_tau), "ahp_mean_factor": -np.expm1(-dt / ahp_tau) * ahp_tau / dt,
        "ahp_floor": np.where(s["i_w_ahp"] > 0, s["i_0"], 0.0), "i_tau_ahp": s["i_tau_ahp"],
        "i_gain_ahp": s["i_gain_ahp"], "c_ahp": s["c_ahp"], "i_w_ahp": s["i_w_ahp"],
        "t_pulse_ahp": s["t_pulse_ahp"], "ahp_tau": ahp_tau,
        "ahp_decay_after_pulse": np.exp(-np.maximum(dt - s["t_pulse_ahp"], 0.0) / ahp_tau),
        "kappa": s["kappa"], "u_t": s["u_t"], "i_0": s["i_0"], "c_mem": s["c_mem"], "i_spkthr": s["i_spkthr"],
        "i_reset": s["i_reset"], "x_thr": np.log(s["i_spkthr"]), "x_reset": np.log(s["i_reset"]),
        "x_floor": np.log(s["i_0"]), "w_near": NEAR_THRESHOLD * thr + np.log(NEAR_THRESHOLD * thr),
    }
    soma_par = np.stack([rows[r] for r in SOMA_ROWS])
    return np.ascontiguousarray(syn_par), np.ascontiguousarray(soma_par)


def resting_state(syn_par, soma_par):
    """Resting state: every DPI at ``i_0``, no pulse; ``I_mem = i_reset``; AHP at its floor; not refractory.

    Returns
    -------
    syn : ndarray, shape (3, 4, m)
    soma : ndarray, shape (4, m)
    """
    m = soma_par.shape[1]
    syn = np.zeros((len(DPI_STATE_ROWS), N_TYPES, m))
    syn[0] = _row(syn_par, DPI_ROWS, "i_0")
    soma = np.zeros((len(STATE_ROWS), m))
    soma[0] = _row(soma_par, SOMA_ROWS, "v_reset")
    soma[1] = _row(soma_par, SOMA_ROWS, "ahp_floor")
    return syn, soma


def observe(name, syn, soma, soma_par):
    """A traceable quantity of every neuron, shape (m,): ``i_mem``, ``v_mem``, ``i_ahp``, or ``i_<type>``."""
    if name in ("i_mem", "v_mem"):
        i_mem = _row(soma_par, SOMA_ROWS, "i_gain") * np.exp(soma[0])
        if name == "i_mem":
            return i_mem
        return (_row(soma_par, SOMA_ROWS, "u_t") / _row(soma_par, SOMA_ROWS, "kappa")) * np.log(
            i_mem / _row(soma_par, SOMA_ROWS, "i_0"))
    if name == "i_ahp":
        return soma[1].copy()
    return syn[0, ("i_ampa", "i_nmda", "i_gaba", "i_shunt").index(name)].copy()


def work_shape(m):
    """Shape of the work array :func:`advance` takes as ``work``: the step averages of the four DPIs and the AHP."""
    return (N_TYPES + 1, m)


@numba.njit(cache=True)
def invert(w, v):
    """Root of ``e^v + v = w`` by Newton from ``v``, to about 1e-16 relative.

    The root lies below ``w`` and, for ``w > 1``, below ``ln w``; a start above that bound is
    moved to it, and from there (or from a tangent guess, always at or above the root) Newton on
    the convex ``e^v + v`` decreases monotonically and quadratically to the root: the iteration
    stops after a step below 1e-9, which leaves an error of order 1e-18.
    """
    v = min(v, w)
    for _ in range(60):
        e = math.exp(v)
        if e > w and w > 1.0:
            v = math.log(w)
            e = w
        step = (e + v - w) / (e + 1.0)
        v -= step
        if abs(step) <= 1e-9 * (1.0 + abs(v)):
            break
    return v


@numba.njit(cache=True)
def pulse_step(i_start, pulse_current, t_on, dt, decay_rest, tau, gain_ratio, i_gain, i_tau, c, kappa, u_t, i_0):
    """One step of a DPI whose pulse is on for ``t_on`` of it (rule 2): ``(I_end, charge)`` in (A, A s)."""
    s = t_on / tau
    if s > MAX_EULER_PULSE:
        i_on, charge = dpi_advance(i_start, pulse_current, t_on, i_tau, i_gain, c, kappa, u_t, i_0)
    else:
        a = gain_ratio * pulse_current - i_gain
        e0 = i_start / i_gain
        v0 = math.log(e0)
        rise = s * (a - i_start) / i_gain
        v1 = invert(e0 + v0 + rise, v0 + rise / (e0 + 1.0))
        i_on = max(i_gain * math.exp(v1), i_0)
        # Corrected trapezoid (Euler-Maclaurin) with dI/dt = (A - I) I / (tau (I + I_g)) at both ends.
        slope_start = (a - i_start) * i_start / (tau * (i_start + i_gain))
        slope_end = (a - i_on) * i_on / (tau * (i_on + i_gain))
        charge = 0.5 * t_on * (i_start + i_on) - t_on * t_on * (slope_end - slope_start) / 12.0
    i_end = max(i_on * decay_rest, i_0)
    return i_end, charge + tau * i_on * (1.0 - decay_rest)


@numba.njit(cache=True)
def _noise(i, z, k, j, dt):
    """Rule 5: step-averaged shot (and flicker) noise current of row ``k`` of neuron ``j`` at current ``i``, A."""
    if z.shape[0] == 0:
        return 0.0
    noise = math.sqrt(Q_E * i / dt) * z[k, j]
    if z.shape[0] > N_TYPES + 1:
        noise += i * z[N_TYPES + 1 + k, j]
    return noise


@numba.njit(cache=True)
def _dpi_pulses(lo, hi, syn, i_w, z, dt, syn_par, work):
    """Rule 2 over the DPIs of neurons ``lo .. hi - 1`` with a pulse on or starting (sparse pass)."""
    for k in range(N_TYPES):
        for j in range(lo, hi):
            weight = i_w[j, k]
            if not (weight > 0.0 or syn[2, k, j] > 0.0):
                continue
            t_pulse, i_tau, i_gain, c, kappa, u_t, i_0, tau = (syn_par[0, k, j], syn_par[1, k, j], syn_par[2, k, j],
                                                               syn_par[3, k, j], syn_par[4, k, j], syn_par[5, k, j],
                                                               syn_par[6, k, j], syn_par[7, k, j])
            current, left = syn[1, k, j], syn[2, k, j]
            if weight > 0.0:
                charge_in = current * left + weight * t_pulse
                current += weight
                left = charge_in / current
            t_on = min(left, dt)
            if t_on == t_pulse:
                decay_rest = syn_par[10, k, j]
            else:
                decay_rest = math.exp(-(dt - t_on) / tau)
            i_start = syn[0, k, j]
            i_end, charge = pulse_step(i_start, current, t_on, dt, decay_rest, tau, syn_par[11, k, j], i_gain, i_tau,
                                       c, kappa, u_t, i_0)
            left -= t_on
            if left <= _PULSE_END_RTOL * dt:
                left = 0.0
                current = 0.0
            i_end = max(i_end + _noise(i_start, z, k, j, dt) * (1.0 - syn_par[8, k, j]), i_0)
            syn[0, k, j], syn[1, k, j], syn[2, k, j] = i_end, current, left
            work[k, j] = charge / dt


@numba.njit(cache=True)
def _dpi_decays(lo, hi, syn, i_w, z, dt, syn_par, work):
    """Rule 1 over neurons ``lo .. hi - 1`` (branch-free; DPIs with a pulse are left to :func:`_dpi_pulses`)."""
    for k in range(N_TYPES):
        for j in range(lo, hi):
            i_start, i_0 = syn[0, k, j], syn_par[6, k, j]
            i_end = max(max(i_start * syn_par[8, k, j], i_0) + _noise(i_start, z, k, j, dt) * (1.0 - syn_par[8, k, j]),
                        i_0)
            idle = i_w[j, k] <= 0.0 and syn[2, k, j] <= 0.0
            syn[0, k, j] = i_end if idle else i_start
            work[k, j] = max(i_start * syn_par[9, k, j], i_0)


@numba.njit(cache=True)
def _ahp_pulses(lo, hi, soma, soma_par, dt, work):
    """Rule 4's pulses: AHPs of neurons ``lo .. hi - 1`` with a pulse on (sparse pass)."""
    for j in range(lo, hi):
        left = soma[3, j]
        if not left > 0.0:
            continue
        t_on = min(left, dt)
        decay_rest = soma_par[20, j] if t_on == soma_par[18, j] else math.exp(-(dt - t_on) / soma_par[19, j])
        i_gain, i_tau = soma_par[15, j], soma_par[14, j]
        i_end, charge = pulse_step(max(soma[1, j], soma_par[23, j]), soma_par[17, j], t_on, dt, decay_rest,
                                   soma_par[19, j], i_gain / i_tau, i_gain, i_tau, soma_par[16, j], soma_par[21, j],
                                   soma_par[22, j], soma_par[23, j])
        left -= t_on
        soma[1, j] = i_end
        soma[3, j] = left if left > _PULSE_END_RTOL * dt else 0.0
        work[N_TYPES, j] = charge / dt


@numba.njit(cache=True)
def _soma(lo, hi, syn, soma, z, dt, nmda_thr, soma_par, i_dc, work, count, offset):
    """Rules 3 and 4 (AHP decay) over neurons ``lo .. hi - 1``: one Heun step each, the exact kernel near threshold."""
    noisy = z.shape[0] > 0
    flicker = z.shape[0] > N_TYPES + 1
    for j in range(lo, hi):
        k_mem, i_gain, i_tau, i_fb_0 = soma_par[0, j], soma_par[1, j], soma_par[3, j], soma_par[4, j]
        fb_exp, fb_off = soma_par[5, j], soma_par[6, j]
        # AHP: the exact decay, unless _ahp_pulses advanced it this step (then work holds its mean).
        i_ahp, pulsed = soma[1, j], work[N_TYPES, j] >= 0.0
        ahp_mean = work[N_TYPES, j] if pulsed else max(i_ahp * soma_par[12, j], soma_par[13, j])
        soma[1, j] = i_ahp if pulsed else max(i_ahp * soma_par[11, j], soma_par[13, j])
        v0 = soma[0, j]
        e0 = math.exp(v0)
        i_mem = i_gain * e0
        i_in = i_dc[j] + work[0, j] + work[1, j] * i_mem / (i_mem + nmda_thr[j]) - work[2, j]
        if noisy:
            i_noisy = max(i_in, 0.0) + i_tau
            i_in += math.sqrt(Q_E * i_noisy / dt) * z[N_TYPES, j]
            if flicker:
                i_in += i_noisy * z[2 * N_TYPES + 1, j]
        i_in = max(i_in, 0.0)
        leak = i_tau + work[3, j] + ahp_mean
        ref = soma[2, j]
        h = max(dt - ref, 0.0)
        f0 = k_mem * (i_in - (e0 + 1.0) * (leak - i_fb_0 * math.exp(fb_exp * v0 + fb_off)))
        w0 = e0 + v0
        vp = invert(w0 + h * f0, v0 + h * f0 / (e0 + 1.0))
        ep = math.exp(vp)
        f1 = k_mem * (i_in - (ep + 1.0) * (leak - i_fb_0 * math.exp(fb_exp * vp + fb_off)))
        w1 = w0 + 0.5 * h * (f0 + f1)
        v1 = invert(w1, vp + (w1 - ep - vp) / (ep + 1.0))
        soma[0, j] = max(v1, soma_par[9, j])
        soma[2, j] = max(ref - dt, 0.0)
        count[j] = 0
        offset[j] = np.nan
        if w1 >= soma_par[30, j]:
            # Near or past threshold: the exact kernel redoes the step (spike time, reset, AHP pulse).
            i_mem, soma[1, j], soma[2, j], soma[3, j], count[j], offset[j] = soma_advance(
                i_mem, i_ahp, ref, soma[3, j], i_in, work[3, j], dt, soma_par[24, j], i_tau, i_gain, soma_par[25, j],
                soma_par[26, j], soma_par[10, j], i_fb_0, soma_par[16, j], soma_par[14, j], soma_par[15, j],
                soma_par[17, j], soma_par[18, j], soma_par[21, j], soma_par[22, j], soma_par[23, j], soma_par[27, j],
                soma_par[28, j], soma_par[29, j])
            soma[0, j] = math.log(i_mem / i_gain)


@numba.njit(cache=True)
def _advance_block(lo, hi, syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """Advance neurons ``lo .. hi - 1`` by one step (rules 1-5), in place."""
    _dpi_decays(lo, hi, syn, i_w, z, dt, syn_par, work)
    _dpi_pulses(lo, hi, syn, i_w, z, dt, syn_par, work)
    for j in range(lo, hi):
        work[N_TYPES, j] = -1.0
    _ahp_pulses(lo, hi, soma, soma_par, dt, work)
    _soma(lo, hi, syn, soma, z, dt, nmda_thr, soma_par, i_dc, work, count, offset)


@numba.njit(cache=True, parallel=True)
def advance(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """Advance every neuron by one step, in place, blocks of :data:`BLOCK` neurons spread over threads.

    Arguments as :func:`mixsig.engine.kernels.advance_neurons` (same meaning, same noise draws
    ``z``), with this module's layouts: ``syn`` (3, 4, m) (:data:`DPI_STATE_ROWS`), ``soma``
    (4, m) (:data:`STATE_ROWS`), ``syn_par`` and ``soma_par`` from :func:`tables`, ``work`` of
    :func:`work_shape`. Each neuron's arithmetic does not depend on its block or thread: results
    are bit-identical for any number of threads.
    """
    m = soma.shape[1]
    for b in numba.prange((m + BLOCK - 1) // BLOCK):
        # prange counts in uint64; int64 bounds keep one specialisation of _advance_block (as the serial loop).
        lo = np.int64(b) * BLOCK
        _advance_block(lo, min(m, lo + BLOCK), syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
                       offset)


@numba.njit(cache=True)
def advance_serial(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """:func:`advance` on one thread (same arguments, same results bit for bit)."""
    m = soma.shape[1]
    for b in range((m + BLOCK - 1) // BLOCK):
        lo = np.int64(b) * BLOCK
        _advance_block(lo, min(m, lo + BLOCK), syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
                       offset)
