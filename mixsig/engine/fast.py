"""The ``fast`` integrator: the same full nonlinear DPI and soma equations, one fixed-step scheme.

The ``exact`` integrator (:mod:`mixsig.engine.kernels`) solves each DPI pulse to machine
precision and integrates the soma with adaptive RK4 sub-steps. This one integrates the **same
equations** (no linearisation: the DPI keeps its ``I_g`` nonlinearity, the soma its positive
feedback, the AHP, the NMDA gate, the shunt and the refractory period) with a fixed step chosen
for accuracy at ``dt = 100 us``, in structure-of-arrays kernels built for SIMD. Its error against
``exact`` is a validation result (``validation/fast_vs_exact.py``, ``docs/models.md``).

Layout of a step (blocks of :data:`BLOCK` neurons, one thread each):

* vector passes, branch-free loops over one-dimensional rows (masked arithmetic: both branches are
  computed and selected, so LLVM vectorises them; ``kernel_fast.*_zmm_instructions`` in
  ``python -m benchmarks kernel`` counts their AVX-512 instructions): the noise inputs (with noise
  only), each DPI type's exact decay, the DPI pulse steps packed into contiguous lanes (about 0.4
  per neuron-step on ref1024: computing them in place for every DPI would cost ten times more; run
  in multiples of :data:`LANE_STEP`, at least :data:`MIN_LANES`, so that no lane falls to the loop's
  scalar code), and the soma; every row has :data:`PAD` columns more than neurons (L1 cache sets);
* sparse passes for rare events: pulse parts longer than :data:`MAX_EULER_PULSE` time constants,
  AHP pulses (after a spike), and the soma steps near threshold redone by the exact kernel.

``exp`` and ``log`` in the vector passes are the polynomial, bit-cast ones of
:mod:`mixsig.engine.vecmath` (within 2 ulp of libm's, which this numba build cannot vectorise);
the inversions of ``e^v + v = w`` take a fixed number of Halley steps from a tangent guess in the vector
loops (:func:`halley_settle32`), each lane's result accepted by the size of its last correction; a lane
not accepted is computed again (a fix-up loop, or the sparse pass): "Precision" below.

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
2. DPI with a pulse on (packed vector lanes): one Euler step of ``tau dy/dt = A - I`` over the pulse part
   ``t_on`` of the step (``A = (I_g/I_tau) I_pulse - I_g``), inverted for ``I`` on ``e^v + v = w``
   (float32, :func:`halley_settle32`; "Precision"), then the exact decay over ``dt - t_on``. The charge of the
   pulse part is the corrected trapezoid ``t_on (I_s + I_e)/2 - t_on^2 (I'_e - I'_s)/12`` with the
   equation's own slopes ``I' = (A - I) I / (tau (I + I_g))`` (the plain trapezoid overestimates
   the charge of a pulse that grows ``I`` exponentially by up to 0.6 %). A pulse part longer than
   :data:`MAX_EULER_PULSE` time constants falls back to the exact solver
   (:func:`mixsig.circuits.dpi.dpi_advance`). Pulses merge as in the exact integrator.
3. Soma: one Heun (RK2) step of ``dw/dt`` over the non-refractory part ``h`` of the step, with the
   DPIs' step averages and the AHP's step average held constant (the exact integrator holds the
   DPI averages constant too). Predictor and corrector are inverted for ``v``
   (float32, :func:`halley_settle32`) from the tangent of ``e^v + v`` at the last ``v``. The non-refractory part
   is ``h = dt - refractory_left`` (0 for a step that is refractory throughout). A step that may
   cross the threshold is redone from the same start and inputs by the exact soma kernel
   (:func:`mixsig.circuits.soma.soma_advance`): spike detection, spike times, reset, refractory
   period and the AHP pulse are then those of the exact integrator. The trigger is the step's own
   result: its Heun end point ``w_1`` plus :data:`REDO_MARGIN` times its error estimate
   ``|w_1 - w_Euler|`` (the embedded Euler step's difference, ``O(h^2)``, above Heun's own
   ``O(h^3)`` error) reaches ``w_thr``. A step not redone therefore ends below threshold by more
   than its error. On ref1024 this redoes 1.03 steps per spike (0.0016 per neuron-step); the former
   trigger, an end point above half of ``i_spkthr``, redid 16 per spike, as the membrane lingers
   for many steps between half the threshold and the threshold. Both give the same open-loop
   spike counts, and the same spike times within the integrator's error (median difference from
   ``exact`` 26 us now, 30 us before).
4. AHP: the exact decay as in rule 1, its step average held in the soma's leak; a spike's AHP
   pulse is applied by rule 3's exact kernel from the spike time, and a part of it left at the
   step's end is applied as in rule 2 in the next step.
5. Noise: the same step-averaged shot and flicker currents as the exact integrator, from the same
   standard normal draws, entering the same places (each DPI's output after its update, the
   soma's input).

Precision: state and parameter tables are float64 (one dtype for every kernel array); the DPIs'
arithmetic is float64; the soma's Heun step (rule 3) is float32 arithmetic on the step's
*increments* of ``w`` and ``v``, added to the float64 ``v``, with fused multiply-adds (:func:`_soma_vector`). Rounding then costs about 1e-7 of a
step's change of ``v`` (``tests/test_fast.py::test_invert_increment32_over_the_operating_range``:
within 1.4e-7 relative of the float64 root), not 1e-7 of ``v`` itself: no increment is lost, however
small, and there is no drift over the 10^4 steps of a second. The scheme's own error (``O(dt^2)`` per
soma step: spike times within 9-53 us of ``solve_ivp`` at ``dt = 100 us``,
``validation/soma_dt_convergence.py``) is about 1e3 times larger than the rounding's effect on a spike
time (an error ``dv`` of 1e-7 moves a spike by ``dv / (dv/dt)``, about 1 ns near threshold).
Measured against float64 arithmetic on ref1024 (same states, same seed, 1 s): the open-loop spike
counts are identical (32119), the median/p99/max spike-time difference from ``exact`` is
25.87/78.84/152.6 us against 25.88/78.85/152.6 us; the closed loop gives rate ratio 1.0003 (1.0001),
rate-CV ratio 0.9955 (0.9946) and distance 0.8196 (0.8198) against a chaos floor of 0.846. float32
cuts the cost of ``exp`` to a third (:func:`~mixsig.engine.vecmath.exp32`: 0.41 against 1.2 ns per
value), and the soma pass costs 37 against 51 ns per neuron-step (one thread, same ref1024 states,
both versions side by side in one process; ``kernel_fast.pass_soma_vector_ns`` of
``python -m benchmarks kernel``). The DPI pulse lanes (rule 2) take the same increment form: in
``e = I / I_g`` the step's change of ``ln e`` is the root ``d`` of ``e_0 (e^d - 1) + d = rise``, solved in
float32 (:func:`invert_increment32`), and the current ``I_on = I_0 + I_0 (e^d - 1)`` is added in float64,
so the rounding is about 1e-6 of the step's *change* of the current, not of the current: within 2e-6 of
it, and the step average within 1e-6, against the float64 scalar :func:`pulse_step`
(``tests/test_fast.py::test_pulse_lanes_match_the_float64_pulse_step``), where the scheme's own error
is 2e-4 (``test_dpi_pulse_step_close_to_exact``). The trapezoid's slope correction (at most 0.6 % of
the charge) is float32 too; the decays, the merge of pulses and the charge's other terms stay float64.

Adaptive step count: the float32 inversions take :data:`PREDICTOR_STEPS` (2) Halley steps for the soma's
predictor, 1 for its corrector (which starts from the tangent at the predictor's end) and
:data:`PULSE_STEPS` (2) in the pulse lanes, from the tangent guess, with no ``log`` bound; a lane's
result is accepted when the last correction ``c`` has ``|c|^3 <= SETTLE_TOL |d|`` (``SETTLE_TOL =
2^-21``). Proof: from a start ``d_0`` at most ``e_0 + dw`` (the Halley denominator stays positive), a
correction ``c`` bounds the start's error ``e`` (from above ``c >= 1 - e^{-e}``, from below ``|c| >=
2e/(2 + e)``), and for ``|e| <= 0.06`` the step's error is at most ``0.0834 |c|^3`` (scanned over the
slope ratio ``e_0 e^d`` from 1e-30 to 1e30), so an accepted root is within ``4e-8 |d|`` of the exact
one before rounding. ``tests/test_fast.py::test_halley_settle32_accepts_only_float32_roots``: on a
grid 10x finer than the one below, every accepted root, and every root of :func:`invert_increment32`,
is within the float32 rounding bound of the equation, ``2 u (|d| + (|dw| + e_0 |e^d - 1| + |d|) /
(e_0 e^d + 1))`` with ``u = 2^-24`` (the relative 4e-7 of
``test_invert_increment32_over_the_operating_range`` holds on its grid but not everywhere: where
``e_0 |e^d - 1|`` and ``dw`` nearly cancel, ``v_0`` near 5 and ``dw`` near -150, both inversions are
off by up to 1.1e-6 of ``d``, as the equation's float32 terms allow). A soma lane not accepted keeps its
start state in the vector loop and is computed again, only in a block that has any, by a scalar loop
with :func:`invert_increment32` (``test_soma_vector_fixes_up_unaccepted_lanes``); a pulse lane not
accepted goes to the sparse pass (:func:`pulse_step`, float64, same scheme). On ref1024 states 0.1 %
of the soma steps (in 24 % of the blocks) and no pulse lane are not accepted; with one step for the
predictor 6 % of the soma steps were not, with one in the pulse lanes 7.7 % of the lanes (a scalar
lane costs about 500 ns). Against three steps with the ``log`` bound every time, the soma vector pass
and the pulse lanes cost less (``benchmarks/README.md``), and ``validation/fast_vs_exact.py`` moves
only in the fourth digit (closed-loop mean rate 21.903 against 21.900 Hz, distance 0.8185 against 0.8187).

Noise off (``z`` with no rows): the noise-input pass is skipped and no vector pass reads a noise row.
"""

import math

import numba
import numpy as np

from mixsig.circuits.dpi import dpi_advance
from mixsig.circuits.soma import soma_advance
from mixsig.constants import Q_E
from mixsig.engine import philox, vecmath

N_TYPES = 4
"""Synapse types per neuron (AMPA, NMDA, GABA, SHUNT)."""

DPI_ROWS = ("t_pulse", "i_tau", "i_gain", "c_syn", "kappa", "u_t", "i_0", "tau", "decay", "mean_factor",
            "decay_after_pulse", "gain_ratio", "inv_tau", "inv_i_gain", "inv_i_tau")
"""Rows of the DPI table (shape ``(rows, 4, m)``): the :class:`~mixsig.circuits.dpi.DPIParams` fields,
then ``tau`` (s), the propagators ``exp(-dt/tau)``, ``tau (1 - exp(-dt/tau))/dt`` and
``exp(-(dt - t_pulse)/tau)`` (1), ``i_gain / i_tau`` (1), and the reciprocals ``1/tau`` (1/s),
``1/i_gain`` and ``1/i_tau`` (1/A) of the pulse lanes."""

SOMA_ROWS = ("k_mem", "i_gain", "ln_i_gain", "i_tau", "i_fb_0", "fb_exponent", "fb_offset", "w_thr", "v_reset",
             "v_floor", "t_ref", "ahp_decay", "ahp_mean_factor", "ahp_floor", "i_tau_ahp", "i_gain_ahp", "c_ahp",
             "i_w_ahp", "t_pulse_ahp", "ahp_tau", "ahp_decay_after_pulse", "kappa", "u_t", "i_0", "c_mem", "i_spkthr", "i_reset", "x_thr",
             "x_reset", "x_floor")
"""Rows of the soma table (shape ``(rows, m)``): ``K = kappa/(c_mem u_t)`` (1/(F V)); ``i_gain``
(A) and its log; ``i_tau``, ``i_fb_0`` (A); the feedback ``I_fb = i_fb_0 exp(fb_exponent v +
fb_offset)``; ``w_thr``, ``v_reset``, ``v_floor`` (threshold, reset and floor in ``w`` / ``v``);
``t_ref`` (s); the AHP propagators and floor (``i_0``, or 0 when ``i_w_ahp = 0``), the AHP DPI
parameters, ``kappa``, ``u_t`` and ``i_0``; then the exact kernel's extra parameters (``c_mem``,
``i_spkthr``, ``i_reset`` and the logs of ``i_spkthr``, ``i_reset``, ``i_0``)."""

STATE_ROWS = ("v_mem", "i_ahp", "refractory_left", "ahp_pulse_left")
"""Rows of the soma state (shape ``(4, m)``): ``v = ln(I_mem / i_gain)`` (1), ``I_ahp`` (A), and the
refractory and AHP-pulse times left (s)."""

DPI_STATE_ROWS = ("i_syn", "pulse_current", "pulse_left")
"""Rows of the DPI state (shape ``(3, 4, m)``): output current (A), pulse current (A), pulse time left (s)."""

MAX_EULER_PULSE = 0.05
"""Longest pulse part, in DPI time constants, integrated by the Euler step of rule 2."""

HALLEY_STEPS = 3
"""Halley steps of :func:`invert_increment32`, the full inversion of the lanes :func:`halley_settle32` does not
accept (enough over the operating range; proof there)."""

REDO_MARGIN = 1.0
"""Factor on the Heun step's error estimate ``|w_1 - w_Euler|`` in the redo trigger of rule 3 (1)."""

BLOCK = 256
"""Neurons per block: the unit of work of a thread."""

PAD = 56
"""Columns after the ``m`` neurons' in every table, state and work row (never read by the kernel).

Without them a row of 1024 neurons is 8 KiB long, so the rows a pass reads together (about 20 in
the soma pass, 12 per pulse lane) start at the same offset modulo 4 KiB and fall into the same set
of the 8-way L1 data cache, evicting one another: the gather of a pulse lane cost 34-39 ns instead
of 5 ns, and a whole step 91 against 72 ns on ref1024 states (one thread, same process). 56
columns (7 cache lines, an odd number) put the rows of a table of any multiple of 64 neurons in
distinct sets."""

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
    syn_par : ndarray, shape (len(DPI_ROWS), 4, m + PAD)
    soma_par : ndarray, shape (len(SOMA_ROWS), m + PAD)
        The :data:`PAD` columns after the ``m`` neurons' repeat the last neuron's parameters.
    """
    def flat(value):
        values = np.broadcast_to(np.asarray(value, dtype=float), shape).reshape(-1)
        return np.concatenate([values, np.repeat(values[-1:], PAD)])

    per_type = []
    for p in dpis:
        raw = {r: flat(getattr(p, r)) for r in DPI_ROWS[:7]}
        tau = raw["c_syn"] * raw["u_t"] / (raw["kappa"] * raw["i_tau"])
        decay = np.exp(-dt / tau)
        derived = {
            "tau": tau, "decay": decay, "mean_factor": -np.expm1(-dt / tau) * tau / dt,
            "decay_after_pulse": np.exp(-np.maximum(dt - raw["t_pulse"], 0.0) / tau),
            "gain_ratio": raw["i_gain"] / raw["i_tau"], "inv_tau": 1.0 / tau, "inv_i_gain": 1.0 / raw["i_gain"],
            "inv_i_tau": 1.0 / raw["i_tau"],
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
        "x_floor": np.log(s["i_0"]),
    }
    soma_par = np.stack([rows[r] for r in SOMA_ROWS])
    return np.ascontiguousarray(syn_par), np.ascontiguousarray(soma_par)


def resting_state(syn_par, soma_par):
    """Resting state: every DPI at ``i_0``, no pulse; ``I_mem = i_reset``; AHP at its floor; not refractory.

    Returns
    -------
    syn : ndarray, shape (3, 4, m + PAD)
    soma : ndarray, shape (4, m + PAD)
    """
    columns = soma_par.shape[1]
    syn = np.zeros((len(DPI_STATE_ROWS), N_TYPES, columns))
    syn[0] = _row(syn_par, DPI_ROWS, "i_0")
    soma = np.zeros((len(STATE_ROWS), columns))
    soma[0] = _row(soma_par, SOMA_ROWS, "v_reset")
    soma[1] = _row(soma_par, SOMA_ROWS, "ahp_floor")
    return syn, soma


def observe(name, syn, soma, soma_par):
    """A traceable quantity of every neuron, shape (m,): ``i_mem``, ``v_mem``, ``i_ahp``, or ``i_<type>``."""
    m = soma.shape[1] - PAD
    if name in ("i_mem", "v_mem"):
        i_mem = _row(soma_par, SOMA_ROWS, "i_gain")[:m] * np.exp(soma[0, :m])
        if name == "i_mem":
            return i_mem
        return (_row(soma_par, SOMA_ROWS, "u_t")[:m] / _row(soma_par, SOMA_ROWS, "kappa")[:m]) * np.log(
            i_mem / _row(soma_par, SOMA_ROWS, "i_0")[:m])
    if name == "i_ahp":
        return soma[1, :m].copy()
    return syn[0, ("i_ampa", "i_nmda", "i_gaba", "i_shunt").index(name), :m].copy()


ROW_I_IN = N_TYPES + 1
"""Row of the work array holding each soma's input current of the step (A), for the sparse redo."""

ROW_REDO = N_TYPES + 2
"""Row of the work array flagging (1.0) a soma step left to the sparse pass (the exact kernel)."""

ROW_WEIGHT = N_TYPES + 3
"""First of 4 rows of the work array holding each DPI type's weight current starting in the step (A), copied
from ``i_w`` (contiguous per type for the vector passes)."""

ROW_DPI_NOISE = 2 * N_TYPES + 3
"""First of 4 rows of the work array holding each DPI's noise current of the step (A; rule 5)."""

ROW_SOMA_Z = 3 * N_TYPES + 3
"""Rows ``ROW_SOMA_Z`` and ``ROW_SOMA_Z + 1`` of the work array: the soma's standard normal shot-noise
draw and relative flicker fluctuation of the step (0 without noise)."""

ROW_PACK = 3 * N_TYPES + 5
"""Row of the work array holding the packed pulse steps of one DPI type of a block (in the block's own
columns), each as its offset from the block's first neuron."""

PULSE_LANE_ROWS = ("i_syn", "pulse_current", "pulse_left", "weight", "t_pulse", "tau", "inv_tau", "inv_i_gain",
                   "inv_i_tau", "i_0", "decay_after_pulse", "noise_part")
"""Rows of the packed pulse lanes (:func:`_pulse_lanes`), from :data:`ROW_LANES` of the work array."""

ROW_LANES = 3 * N_TYPES + 6
"""First row of the packed pulse lanes in the work array."""


def work_shape(m):
    """Shape of the work array :func:`advance` takes as ``work``.

    Rows: the step averages of the four DPIs and of the AHP (A), then :data:`ROW_I_IN`,
    :data:`ROW_REDO`, the four rows from :data:`ROW_WEIGHT`, the four from :data:`ROW_DPI_NOISE`, the
    two from :data:`ROW_SOMA_Z`, :data:`ROW_PACK` and the :data:`PULSE_LANE_ROWS` from
    :data:`ROW_LANES`; ``m + PAD`` columns (:data:`PAD`).
    """
    return (ROW_LANES + len(PULSE_LANE_ROWS), m + PAD)


@numba.njit(cache=True)
def invert(w, v):
    """Root of ``e^v + v = w`` by Newton from ``v``, to about 1e-16 relative (any start; sparse passes).

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
    """One step of a DPI whose pulse is on for ``t_on`` of it (rule 2, scalar): ``(I_end, charge)`` in (A, A s)."""
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
        charge = _pulse_charge(t_on, tau, a, i_gain, i_start, i_on)
    i_end = max(i_on * decay_rest, i_0)
    return i_end, charge + tau * i_on * (1.0 - decay_rest)


@numba.njit(cache=True, inline="always")
def _pulse_charge(t_on, tau, a, i_gain, i_start, i_on):
    """Charge of the pulse part: corrected trapezoid (Euler-Maclaurin) with ``dI/dt = (A - I) I / (tau (I + I_g))``."""
    slope_start = (a - i_start) * i_start / (tau * (i_start + i_gain))
    slope_end = (a - i_on) * i_on / (tau * (i_on + i_gain))
    return 0.5 * t_on * (i_start + i_on) - t_on * t_on * (slope_end - slope_start) / 12.0


@numba.njit(cache=True)
def _rows_noisy(z):
    """Whether pre-drawn rows ``z`` (rows, m) switch noise on (any row)."""
    return z.shape[0] > 0


@numba.njit(cache=True)
def _counter_noisy(z):
    """Whether a step of :func:`mixsig.engine.philox.counter_noise` has noise: shot keys or flicker rows."""
    return z[1].shape[0] > 0 or z[0].shape[0] > 0


_noisy = philox.by_noise_type(_rows_noisy, _counter_noisy)


@numba.njit(cache=True)
def _copy_shot(z, lo, hi, work):
    """The pre-drawn shot normals (rows 0-4 of ``z``) of neurons ``lo .. hi - 1`` into the DPIs' noise rows and
    the soma's row of ``work``."""
    for row in range(N_TYPES + 1):
        out, shot = work[ROW_DPI_NOISE + row if row < N_TYPES else ROW_SOMA_Z, lo:hi], z[row, lo:hi]
        for j in range(hi - lo):
            out[j] = shot[j]


@numba.njit(cache=True)
def _draw_shot(z, lo, hi, work):
    """:func:`_copy_shot` for a step of :func:`mixsig.engine.philox.counter_noise`: the normals drawn here, for
    this block only, in cache (:func:`mixsig.engine.philox.block_normals`; zeros without keys)."""
    keys, step, n_neurons, scale = z[1], z[2], z[3], z[4]
    words, normals = philox.scratch()
    for row in range(N_TYPES + 1):
        out = work[ROW_DPI_NOISE + row if row < N_TYPES else ROW_SOMA_Z, lo:hi]
        if keys.shape[0] > 0:
            philox.block_normals(out, lo, hi, step, row, keys, n_neurons, scale, words, normals)
        else:
            out[:] = 0.0


_shot_draws = philox.by_noise_type(_copy_shot, _draw_shot)


@numba.njit(cache=True)
def _rows_flicker(z):
    """Pre-drawn rows ``z`` and the row of the first DPI's relative flicker fluctuation (flicker is on when
    ``z`` has more rows)."""
    return z, N_TYPES + 1


@numba.njit(cache=True)
def _counter_flicker(z):
    """:func:`_rows_flicker` for a step of :func:`mixsig.engine.philox.counter_noise`: its buffer row, from 0."""
    return z[0], 0


_flicker_rows = philox.by_noise_type(_rows_flicker, _counter_flicker)


@numba.njit(cache=True, error_model="numpy")
def _noise_inputs(lo, hi, syn, z, dt, work):
    """Rule 5's inputs for neurons ``lo .. hi - 1`` (with noise only: without, :func:`_dpis` skips this pass
    and the vector passes read no noise row): each DPI's step-averaged shot (and flicker) noise current
    at its output current at the step's start (A), and the soma's draws, into ``work``, so that the
    vector passes read them as plain rows. ``z`` is the step's pre-drawn rows or a step of
    :func:`mixsig.engine.philox.counter_noise`, whose shot normals are drawn here, for this block only, in
    cache (:func:`_shot_draws`). One loop per row, with and without flicker apart (a loop choosing per
    element ran 3x slower), and ``q/dt`` taken once (no division per element)."""
    _shot_draws(z, lo, hi, work)
    rows, first = _flicker_rows(z)
    flicker = rows.shape[0] > first
    q_per_dt = Q_E / dt
    for k in range(N_TYPES):
        i_syn, noise = syn[0, k, lo:hi], work[ROW_DPI_NOISE + k, lo:hi]
        if flicker:
            relative = rows[first + k, lo:hi]
            for j in range(hi - lo):
                noise[j] = math.sqrt(q_per_dt * i_syn[j]) * noise[j] + i_syn[j] * relative[j]
        else:
            for j in range(hi - lo):
                noise[j] = math.sqrt(q_per_dt * i_syn[j]) * noise[j]
    soma_flicker = work[ROW_SOMA_Z + 1, lo:hi]
    if flicker:
        relative = rows[first + N_TYPES, lo:hi]
        for j in range(hi - lo):
            soma_flicker[j] = relative[j]
    else:
        for j in range(hi - lo):
            soma_flicker[j] = 0.0


@numba.njit(cache=True, error_model="numpy")
def _dpi_decays(lo, hi, k, syn, dt, syn_par, noisy, work):
    """Rule 1 for DPI type ``k`` of neurons ``lo .. hi - 1`` (branch-free): the exact decay where no pulse
    is on or starting. The pulse steps (left untouched) are counted and, when there are any, packed for
    :func:`_dpi_pulses`: their offsets from ``lo`` go to ``work[ROW_PACK, lo:lo + n]`` (branch-free
    compaction, a scalar loop: every offset is written, the count moves on for a pulse only); returns
    their count ``n``."""
    i_syn, remaining = syn[0, k, lo:hi], syn[2, k, lo:hi]
    floors, decays, means = syn_par[6, k, lo:hi], syn_par[8, k, lo:hi], syn_par[9, k, lo:hi]
    weights, noises, mean_out = work[ROW_WEIGHT + k, lo:hi], work[ROW_DPI_NOISE + k, lo:hi], work[k, lo:hi]
    n = 0
    for j in range(hi - lo):
        i_start, i_0, decay = i_syn[j], floors[j], decays[j]
        idle = weights[j] <= 0.0 and remaining[j] <= 0.0
        noise = noises[j] if noisy else 0.0
        i_end = max(max(i_start * decay, i_0) + noise * (1.0 - decay), i_0)
        i_syn[j] = i_end if idle else i_start
        mean_out[j] = max(i_start * means[j], i_0)
        n += 0 if idle else 1
    if n == 0:
        return 0
    pack = work[ROW_PACK, lo:hi]
    n = 0
    for j in range(hi - lo):
        pack[n] = j
        # | not "or": "or" compiles to two data-dependent jumps, mispredicted on about 40 % of AMPA's DPIs
        n += np.int64((weights[j] > 0.0) | (remaining[j] > 0.0))
    return n


LANE_STEP = 8
"""The lanes of :func:`_pulse_lanes` are run in multiples of this count (at most ``LANE_STEP - 1`` lanes more
than there are pulse steps, on stale data, results unused), the loop's vector width, so that they all run in
its vector body: one scalar remainder lane costs 120-160 ns, a vector of 8 lanes 125-220 ns (one thread,
under load)."""

MIN_LANES = 16
"""The least number of lanes :func:`_pulse_lanes` is run with (when there is any pulse step): its machine code
enters the vector loop only for 16 lanes or more (``cmpq $16``, after the runtime checks that its 13 rows do
not overlap), so 8 lanes ran as 8 scalar ones, 630 ns a call against 310 ns for 16 lanes (one thread, idle;
``benchmarks/README.md``, "DPI passes, fifth round")."""


@numba.njit(cache=True, inline="always")
def lane_count(n):
    """Lanes :func:`_pulse_lanes` runs for ``n`` pulse steps: ``n`` rounded up to :data:`LANE_STEP`, at least
    :data:`MIN_LANES` (0 for none)."""
    return 0 if n == 0 else max((n + LANE_STEP - 1) // LANE_STEP * LANE_STEP, MIN_LANES)


@numba.njit(cache=True, error_model="numpy")
def _pulse_lanes(lo, n, dt, work):
    """Rule 2 on ``n`` packed DPI pulse steps, branch-free (masked arithmetic), in place.

    The lanes are columns ``lo .. lo + n - 1`` of the work array's rows from :data:`ROW_LANES`; on
    entry (:data:`PULSE_LANE_ROWS`): start current, pulse current, pulse time left, weight current
    starting (A, A, s, A), ``t_pulse`` (s), ``tau`` (s), ``1/tau`` (1/s), ``1/i_gain``, ``1/i_tau``
    (1/A), ``i_0`` (A), ``exp(-(dt - t_pulse)/tau)`` and the noise current times ``1 - exp(-dt/tau)`` (A); on
    exit rows 0-3 hold the end current, pulse current, pulse time left and the step average (A, A, s,
    A), and row 4 flags (1.0) a lane left to :func:`_pulse_sparse` (its rows 0-3 are then meaningless):
    a pulse part longer than :data:`MAX_EULER_PULSE` time constants, or an inversion
    :func:`halley_settle32` did not accept (none on ref1024; the sparse pass's float64
    :func:`pulse_step` is the same scheme).

    In ``e = I / i_gain``, the Euler step of ``w = e + ln e`` over the pulse part is the increment
    ``rise = (t_on / tau) (A / i_gain - e_0)``, and the step's change of ``ln e``, the root ``d`` of
    ``e_0 (e^d - 1) + d = rise``, is solved in float32 (:data:`PULSE_STEPS` Halley steps, :func:`halley_settle32`), as is the
    trapezoid's slope correction (a term of at most 0.6 % of the charge); the current itself,
    ``I_on = I_0 + I_0 (e^d - 1)``, the decay and the charge are float64 (module docstring,
    "Precision").
    """
    f32 = vecmath.F32
    hi, r = lo + n, ROW_LANES
    i_syn, pulse, remaining, weights = work[r, lo:hi], work[r + 1, lo:hi], work[r + 2, lo:hi], work[r + 3, lo:hi]
    t_pulses, taus, inv_taus = work[r + 4, lo:hi], work[r + 5, lo:hi], work[r + 6, lo:hi]
    inv_gains, inv_i_taus, floors = work[r + 7, lo:hi], work[r + 8, lo:hi], work[r + 9, lo:hi]
    after, noises = work[r + 10, lo:hi], work[r + 11, lo:hi]
    for j in range(n):
        t_pulse, tau, inv_tau, i_0 = t_pulses[j], taus[j], inv_taus[j], floors[j]
        i_start, current, left, weight = i_syn[j], pulse[j], remaining[j], weights[j]
        starts = weight > 0.0
        merged = current + weight
        left = (current * left + weight * t_pulse) / merged if starts else left
        current = merged if starts else current
        t_on = min(left, dt)
        s = t_on * inv_tau
        e0 = i_start * inv_gains[j]
        target = current * inv_i_taus[j] - 1.0  # A / i_gain
        e0_32, target_32, rise = f32(e0), f32(target), f32(s * (target - e0))
        one_e0 = e0_32 + _ONE_32
        d, settled = halley_settle32(e0_32, rise, rise / one_e0, PULSE_STEPS)
        grow = vecmath.expm1_32(d)  # e^d - 1
        i_on = max(i_start + i_start * np.float64(grow), i_0)
        e1 = e0_32 + e0_32 * grow
        # t_on^2 (I'_end - I'_start) / 12 with I' = (A - I) I / (tau (I + i_gain)), over t_on s / 12 I_start.
        slopes = (grow + _ONE_32) * (target_32 - e1) / (e1 + _ONE_32) - (target_32 - e0_32) / one_e0
        rest = after[j] if t_on == t_pulse else vecmath.exp((t_on - dt) * inv_tau)
        charge = (0.5 * t_on * (i_start + i_on) - t_on * s * i_start * np.float64(slopes) / 12.0
                  + tau * i_on * (1.0 - rest))
        left -= t_on
        ended = left <= _PULSE_END_RTOL * dt
        i_syn[j] = max(max(i_on * rest, i_0) + noises[j], i_0)
        pulse[j] = 0.0 if ended else current
        remaining[j] = 0.0 if ended else left
        weights[j] = charge / dt
        t_pulses[j] = 1.0 if (s > MAX_EULER_PULSE) | ~settled else 0.0


@numba.njit(cache=True)
def _dpi_pulses(lo, n, k, syn, dt, syn_par, noisy, work):
    """Rule 2 for the ``n`` pulse steps of DPI type ``k`` that :func:`_dpi_decays` packed for the block
    starting at neuron ``lo``: gather their rows into the lanes, :func:`_pulse_lanes`, scatter back; a lane
    it flags (a long pulse part, an unaccepted inversion: rare) is done by :func:`_pulse_sparse` instead."""
    i_syn, pulse, remaining = syn[0, k], syn[1, k], syn[2, k]
    t_pulses, taus, inv_taus, floors = syn_par[0, k], syn_par[7, k], syn_par[12, k], syn_par[6, k]
    inv_gains, inv_i_taus, decays, after = syn_par[13, k], syn_par[14, k], syn_par[8, k], syn_par[10, k]
    weights, noises, means = work[ROW_WEIGHT + k], work[ROW_DPI_NOISE + k], work[k]
    pack, r, hi = work[ROW_PACK, lo:lo + n], ROW_LANES, lo + n
    l_syn, l_pulse, l_left, l_weight = work[r, lo:hi], work[r + 1, lo:hi], work[r + 2, lo:hi], work[r + 3, lo:hi]
    l_t_pulse, l_tau, l_inv_tau, l_inv_gain = work[r + 4, lo:hi], work[r + 5, lo:hi], work[r + 6, lo:hi], work[
        r + 7, lo:hi]
    l_inv_i_tau, l_floor, l_after, l_noise = work[r + 8, lo:hi], work[r + 9, lo:hi], work[r + 10, lo:hi], work[
        r + 11, lo:hi]
    for p in range(n):
        j = lo + np.int64(pack[p])
        l_syn[p], l_pulse[p], l_left[p], l_weight[p] = i_syn[j], pulse[j], remaining[j], weights[j]
        l_t_pulse[p], l_tau[p], l_inv_tau[p], l_inv_gain[p] = t_pulses[j], taus[j], inv_taus[j], inv_gains[j]
        l_inv_i_tau[p], l_floor[p], l_after[p] = inv_i_taus[j], floors[j], after[j]
        # the noise's part in the end current, as rule 1 adds it (one row gathered, not two)
        l_noise[p] = noises[j] * (1.0 - decays[j]) if noisy else 0.0
    _pulse_lanes(lo, min(lane_count(n), work.shape[1] - lo), dt, work)
    for p in range(n):
        j = lo + np.int64(pack[p])
        if l_t_pulse[p] == 0.0:
            i_syn[j], pulse[j], remaining[j], means[j] = l_syn[p], l_pulse[p], l_left[p], l_weight[p]
        else:
            _pulse_sparse(j, k, syn, dt, syn_par, noisy, work)


@numba.njit(cache=True)
def _pulse_sparse(j, k, syn, dt, syn_par, noisy, work):
    """Rule 2 by the float64 :func:`pulse_step` for DPI type ``k`` of neuron ``j``, a pulse step
    :func:`_pulse_lanes` flagged (rare)."""
    t_pulse, i_tau, i_gain, c, kappa, u_t, i_0, tau = (syn_par[0, k, j], syn_par[1, k, j], syn_par[2, k, j],
                                                       syn_par[3, k, j], syn_par[4, k, j], syn_par[5, k, j],
                                                       syn_par[6, k, j], syn_par[7, k, j])
    current, left, weight = syn[1, k, j], syn[2, k, j], work[ROW_WEIGHT + k, j]
    if weight > 0.0:
        charge_in = current * left + weight * t_pulse
        current += weight
        left = charge_in / current
    t_on = min(left, dt)
    decay_rest = syn_par[10, k, j] if t_on == t_pulse else math.exp(-(dt - t_on) / tau)
    i_start = syn[0, k, j]
    i_end, charge = pulse_step(i_start, current, t_on, dt, decay_rest, tau, syn_par[11, k, j], i_gain, i_tau,
                               c, kappa, u_t, i_0)
    left -= t_on
    if left <= _PULSE_END_RTOL * dt:
        left = 0.0
        current = 0.0
    noise = work[ROW_DPI_NOISE + k, j] if noisy else 0.0
    i_end = max(i_end + noise * (1.0 - syn_par[8, k, j]), i_0)
    syn[0, k, j], syn[1, k, j], syn[2, k, j] = i_end, current, left
    work[k, j] = charge / dt


@numba.njit(cache=True)
def _ahp_pulses(lo, hi, soma, soma_par, dt, work):
    """Rule 4's pulses: AHPs of neurons ``lo .. hi - 1`` with a pulse on (sparse pass, after spikes only)."""
    for j in range(lo, hi):
        work[N_TYPES, j] = -1.0
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


_ZERO_32, _HALF_32, _ONE_32, _TWO_32 = vecmath.F32(0.0), vecmath.F32(0.5), vecmath.F32(1.0), vecmath.F32(2.0)
_BIG_32 = vecmath.F32(1e30)


@numba.njit(cache=True, inline="always")
def _halley_correction32(e0, dw, d):
    """Halley's correction ``2 f f' / (2 f'^2 - f f'')`` of ``d`` for the root of ``f = e0 (e^d - 1) + d - dw``
    (float32): the new iterate is ``d`` minus it."""
    m1 = vecmath.expm1_32(d)
    f = e0 * m1 + d - dw
    curvature = e0 * m1 + e0
    slope = curvature + _ONE_32
    return _TWO_32 * f * slope / (_TWO_32 * slope * slope - f * curvature)


@numba.njit(cache=True, inline="always")
def invert_increment32(e0, dw, d):
    """Root ``d`` of ``e0 (e^d - 1) + d = dw`` in float32: the increment of ``v`` from ``v_0`` (``e0 = e^{v_0}``)
    that moves ``w = e^v + v`` by ``dw``; from the tangent guess ``d`` by :data:`HALLEY_STEPS` Halley steps.

    Written for increments so that a step's change of ``v`` keeps float32's relative precision (``v``
    itself stays float64): ``e^d - 1`` is :func:`~mixsig.engine.vecmath.expm1_32`, exact in relative
    terms near 0. The start is the least of the upper bounds ``d`` (tangent guess of the concave
    inverse), ``e0 + dw`` (``v <= w``, as ``e^v > 0``) and ``ln(1 + dw/e0)`` (for ``dw > 0``, from
    ``e0 (e^d - 1) <= dw``; 0 otherwise, where the root is negative); its error is below 1. Halley's
    iteration ``d <- d - 2 f f' / (2 f'^2 - f f'')`` on the convex ``f = e0 (e^d - 1) + d - dw``
    converges cubically from there. Over ``v_0`` in [-60, 15] and ``|dw| <= 200`` the result
    is within the float32 rounding bound of the equation of the float64 root (module docstring,
    "Precision"; ``tests/test_fast.py::test_halley_settle32_accepts_only_float32_roots``). The vector
    loops use :func:`halley_settle32`, and this for the lanes it does not accept.
    """
    d = min(min(d, e0 + dw), vecmath.log32(_ONE_32 + min(max(dw, _ZERO_32) / e0, _BIG_32)))
    for _ in range(HALLEY_STEPS):
        d -= _halley_correction32(e0, dw, d)
    return d


PULSE_STEPS = 2
"""Halley steps of :func:`halley_settle32` in the DPI pulse lanes' vector loop."""

PREDICTOR_STEPS = 2
"""Halley steps of :func:`halley_settle32` for the soma's predictor in the vector loop (its step is the
whole step's change of ``v`` from a tangent at the start; the corrector's starts at the predictor's end)."""

SETTLE_TOL = vecmath.F32(2.0 ** -21)
"""Acceptance of :func:`halley_settle32`: the last Halley correction ``c`` satisfies ``|c|^3 <= SETTLE_TOL |d|``."""


@numba.njit(cache=True, inline="always")
def halley_settle32(e0, dw, d, steps):
    """``steps`` Halley steps for the root of ``e0 (e^d - 1) + d = dw`` (float32) from ``min(d, e0 + dw)``,
    ``d`` a tangent guess; returns the new ``d`` and whether it is accepted (the last correction small
    enough, :data:`SETTLE_TOL`; else the caller uses :func:`invert_increment32`). Proof and test: module
    docstring, "Precision". No ``log``: a start far above the root (a large ``dw`` at a small ``e0``)
    converges by about 2 per step and is not accepted."""
    d = min(d, e0 + dw)
    c = _ZERO_32
    for _ in range(steps):
        c = _halley_correction32(e0, dw, d)
        d -= c
    return d, abs(c * c * c) <= SETTLE_TOL * abs(d)


SOMA_F32_ROWS = ("e0", "a", "b", "c", "fb_arg", "fb_exp", "d1", "dw", "error", "accepted")
"""Rows of :func:`_soma_vector`'s float32 scratch (one column per neuron of the block): the Heun step's inputs
``e^{v_0}``, ``a``, ``b``, ``c``, the feedback's exponent at ``v_0`` and its slope ``fb_exponent``, then its
results: the increment of ``v``, the corrector's increment of ``w``, its difference from the predictor's (the
error estimate) and 1 where both inversions were accepted (else 0)."""


@numba.njit(cache=True, error_model="numpy")
def _soma_vector(lo, hi, soma, dt, nmda_thr, soma_par, i_dc, noisy, work):
    """Rules 3 and 4 (AHP decay) over neurons ``lo .. hi - 1``: one Heun step each, branch-free.

    The input and leak currents are float64; the Heun step (``exp``, the feedback current and the
    inversions) is float32 arithmetic on the increments of ``w`` and ``v``, scaled to dimensionless
    form (``h K I``); ``v`` stays float64, so a step's change keeps float32's relative precision
    (module docstring, "Precision"). A step whose end point plus :data:`REDO_MARGIN` times its error
    estimate reaches ``w_thr`` (rule 3) keeps its start state and is flagged in ``work[ROW_REDO]``
    for :func:`_soma_sparse`; its input current goes to ``work[ROW_I_IN]``.

    Three vector loops per :data:`BLOCK` neurons (:func:`_soma_heun`): the float64 inputs of the Heun step,
    the float32 step itself (reading and writing only the float32 scratch of :data:`SOMA_F32_ROWS`), the
    float64 end state. LLVM sizes a loop's vectors by the widest type it loads or stores: in one loop with the
    float64 state the float32 arithmetic ran 8 lanes to a 256-bit register; alone, 16 to a 512-bit one (8 to a
    256-bit one without AVX-512): 19.4 -> 11.5 ns per neuron-step, results bit for bit the same. Then
    ``fastmath={"contract"}`` (and nothing else of fastmath): a multiply followed by an add is one fused
    multiply-add (FMA) where the CPU has it, one rounding instead of two: 11.5 -> 9.2 ns. The results move by
    float32 rounding (up to 4.8e-7 in ``v`` after one step on ref1024 states, inside the bounds of
    "Precision"; ``validation/fast_vs_exact.py``: ``benchmarks/README.md``, "Soma vector pass, fifth
    round"), and a lane's result still does not depend on its place in the loop
    (``tests/test_fast.py::test_soma_vector_lane_independent_of_its_place_in_the_block``).

    The step loop inverts predictor and corrector by :data:`PREDICTOR_STEPS` and one Halley steps
    (:func:`halley_settle32`); a lane where either is not accepted keeps its start state, is flagged (2.0 in
    ``work[ROW_REDO]``) and is computed again, only when the block has any, in a scalar fix-up loop with
    :func:`invert_increment32` (module docstring, "Precision").
    """
    for start in range(lo, hi, BLOCK):
        _soma_heun(start, min(hi, start + BLOCK), soma, dt, nmda_thr, soma_par, i_dc, noisy, work)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _soma_heun(lo, hi, soma, dt, nmda_thr, soma_par, i_dc, noisy, work):
    """:func:`_soma_vector` for at most :data:`BLOCK` neurons. Its scratch has :data:`BLOCK` columns, a row
    stride known when compiling, so that LLVM sees its rows apart and vectorises the first loop without
    runtime checks of overlap; the input current goes to a float64 scratch row, and to ``work[ROW_I_IN]`` in
    the last loop (stored there beside the seven ``work`` rows the first loop reads, it took too many checks
    to vectorise: 29 ns per neuron-step, and so did a scratch of ``hi - lo`` columns)."""
    f32 = vecmath.F32
    n = hi - lo
    v_mem, i_ahps, refractory = soma[0, lo:hi], soma[1, lo:hi], soma[2, lo:hi]
    k_mems, gains, taus, fb_0s = soma_par[0, lo:hi], soma_par[1, lo:hi], soma_par[3, lo:hi], soma_par[4, lo:hi]
    fb_exps, fb_offs, floors = soma_par[5, lo:hi], soma_par[6, lo:hi], soma_par[9, lo:hi]
    ahp_decays, ahp_means, ahp_floors, w_thrs = (soma_par[11, lo:hi], soma_par[12, lo:hi], soma_par[13, lo:hi],
                                                 soma_par[7, lo:hi])
    ampa, nmda, gaba, shunt, ahp_pulse = work[0, lo:hi], work[1, lo:hi], work[2, lo:hi], work[3, lo:hi], work[4, lo:hi]
    shot, flicker, inputs, redos = work[ROW_SOMA_Z, lo:hi], work[ROW_SOMA_Z + 1, lo:hi], work[ROW_I_IN, lo:hi], work[
        ROW_REDO, lo:hi]
    thresholds, dc = nmda_thr[lo:hi], i_dc[lo:hi]
    scratch = np.empty((len(SOMA_F32_ROWS), BLOCK), dtype=np.float32)
    e0s, a_s, b_s, c_s, fb_args, fb_slopes = scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5]
    d1s, dws, errors, accepted = scratch[6], scratch[7], scratch[8], scratch[9]
    i_ins = np.empty(BLOCK)

    for j in range(n):
        # AHP: its step average (the exact decay's, unless _ahp_pulses advanced it this step: then work holds it).
        i_ahp = i_ahps[j]
        ahp_mean = ahp_pulse[j] if ahp_pulse[j] >= 0.0 else max(i_ahp * ahp_means[j], ahp_floors[j])
        v0_32 = f32(v_mem[j])
        e0 = vecmath.exp32(v0_32)
        i_mem = gains[j] * np.float64(e0)
        i_in = dc[j] + ampa[j] + nmda[j] * i_mem / (i_mem + thresholds[j]) - gaba[j]
        i_noisy = max(i_in, 0.0) + taus[j]
        noise = math.sqrt(Q_E * i_noisy / dt) * shot[j] + i_noisy * flicker[j] if noisy else 0.0
        i_in = max(i_in + noise, 0.0)
        scale = max(dt - refractory[j], 0.0) * k_mems[j]
        # dw/dt = K (I_in - (e^v + 1)(I_leak - I_fb)), times the non-refractory part h of the step: rise = a - (e + 1)(b - c I_fb / i_fb_0)
        e0s[j], a_s[j], b_s[j], c_s[j] = e0, f32(scale * i_in), f32(scale * (taus[j] + shunt[j] + ahp_mean)), f32(
            scale * fb_0s[j])
        fb_slopes[j] = f32(fb_exps[j])
        fb_args[j] = fb_slopes[j] * v0_32 + f32(fb_offs[j])
        i_ins[j] = i_in

    def heun(j, full):
        """Lane ``j``'s Heun step in float32; ``full``: inversions by :func:`invert_increment32`, else by
        :func:`halley_settle32`."""
        e0, a, b, c, fb_exp = e0s[j], a_s[j], b_s[j], c_s[j], fb_slopes[j]
        fb0 = vecmath.exp32(fb_args[j])
        rise = a - (e0 + _ONE_32) * (b - c * fb0)
        guess = rise / (e0 + _ONE_32)
        if full:
            dp, settled = invert_increment32(e0, rise, guess), True
        else:
            dp, settled = halley_settle32(e0, rise, guess, PREDICTOR_STEPS)
        ep = e0 * vecmath.exp32(dp)
        dw = _HALF_32 * (rise + a - (ep + _ONE_32) * (b - c * fb0 * vecmath.exp32(fb_exp * dp)))
        guess = dp + (dw - rise) / (ep + _ONE_32)
        if full:
            d1, both = invert_increment32(e0, dw, guess), True
        else:
            d1, settled_1 = halley_settle32(e0, dw, guess, 1)
            both = settled & settled_1
        d1s[j], dws[j], errors[j], accepted[j] = d1, dw, dw - rise, _ONE_32 if both else _ZERO_32

    def end(j):
        """Lane ``j``'s end state from its Heun step if accepted and not to be redone (else its start state);
        returns 1 if not accepted."""
        both = accepted[j] != _ZERO_32
        v0, ref, i_ahp = v_mem[j], refractory[j], i_ahps[j]
        redo = v0 + np.float64(e0s[j]) + np.float64(dws[j]) + REDO_MARGIN * abs(np.float64(errors[j])) >= w_thrs[j]
        keep = redo | ~both
        v_mem[j] = v0 if keep else max(v0 + np.float64(d1s[j]), floors[j])
        i_ahps[j] = i_ahp if ((ahp_pulse[j] >= 0.0) | keep) else max(i_ahp * ahp_decays[j], ahp_floors[j])
        refractory[j] = ref if keep else max(ref - dt, 0.0)
        redos[j] = (1.0 if redo else 0.0) if both else 2.0
        inputs[j] = i_ins[j]
        return 0 if both else 1

    for j in range(n):
        heun(j, False)
    unsettled = 0
    for j in range(n):
        unsettled += end(j)
    # The fix-up, one flagged lane after another: a loop over all lanes with a condition would be vectorised
    # with masked stores, computing every lane's full step.
    j = 0
    while unsettled:
        while redos[j] != 2.0:
            j += 1
        heun(j, True)
        end(j)
        unsettled -= 1


@numba.njit(cache=True)
def _soma_sparse(lo, hi, soma, dt, soma_par, work, count, offset):
    """Rule 3's redo: the exact soma kernel for the steps :func:`_soma_vector` flagged (spike time, reset, AHP
    pulse); the spike outputs of every neuron ``lo .. hi - 1`` (none where not flagged)."""
    for j in range(lo, hi):
        count[j] = 0
        offset[j] = np.nan
        if work[ROW_REDO, j] == 0.0:
            continue
        i_gain = soma_par[1, j]
        i_mem, soma[1, j], soma[2, j], soma[3, j], count[j], offset[j] = soma_advance(
            i_gain * math.exp(soma[0, j]), soma[1, j], soma[2, j], soma[3, j], work[ROW_I_IN, j], work[3, j], dt,
            soma_par[24, j], soma_par[3, j], i_gain, soma_par[25, j], soma_par[26, j], soma_par[10, j],
            soma_par[4, j], soma_par[16, j], soma_par[14, j], soma_par[15, j], soma_par[17, j], soma_par[18, j],
            soma_par[21, j], soma_par[22, j], soma_par[23, j], soma_par[27, j], soma_par[28, j], soma_par[29, j])
        soma[0, j] = math.log(i_mem / i_gain)


@numba.njit(cache=True)
def _dpi_weights(lo, hi, i_w, work):
    """The weight currents of neurons ``lo .. hi - 1`` starting in the step, ``i_w`` (m, 4), into the four rows
    from :data:`ROW_WEIGHT` (one row per type, contiguous for the vector passes)."""
    for j in range(lo, hi):
        for k in range(N_TYPES):
            work[ROW_WEIGHT + k, j] = i_w[j, k]


@numba.njit(cache=True)
def _dpis(lo, hi, syn, i_w, z, dt, syn_par, work):
    """Rules 1, 2 and 5 for the DPIs of neurons ``lo .. hi - 1``: noise inputs (with noise only), weights,
    decays, packed pulses (and the rare pulse steps the lanes leave to the float64 scalar pass)."""
    noisy = _noisy(z)
    if noisy:
        _noise_inputs(lo, hi, syn, z, dt, work)
    _dpi_weights(lo, hi, i_w, work)
    for k in range(N_TYPES):
        _dpi_pulses(lo, _dpi_decays(lo, hi, k, syn, dt, syn_par, noisy, work), k, syn, dt, syn_par, noisy, work)


@numba.njit(cache=True)
def _advance_block(lo, hi, syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """Advance neurons ``lo .. hi - 1`` by one step (rules 1-5), in place: vector passes, then sparse ones."""
    _dpis(lo, hi, syn, i_w, z, dt, syn_par, work)
    _ahp_pulses(lo, hi, soma, soma_par, dt, work)
    _soma_vector(lo, hi, soma, dt, nmda_thr, soma_par, i_dc, _noisy(z), work)
    _soma_sparse(lo, hi, soma, dt, soma_par, work, count, offset)


@numba.njit(cache=True, parallel=True)
def advance(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """Advance every neuron by one step, in place, blocks of :data:`BLOCK` neurons spread over threads.

    Arguments as :func:`mixsig.engine.kernels.advance_neurons` (same meaning, same noise draws
    ``z``), with this module's layouts: ``syn`` (3, 4, m) (:data:`DPI_STATE_ROWS`), ``soma``
    (4, m) (:data:`STATE_ROWS`), ``syn_par`` and ``soma_par`` from :func:`tables`, ``work`` of
    :func:`work_shape`. Each neuron's arithmetic does not depend on its block or thread: results
    are bit-identical for any number of threads.
    """
    m = soma.shape[1] - PAD
    for b in numba.prange((m + BLOCK - 1) // BLOCK):
        # prange counts in uint64; int64 bounds keep one specialisation of _advance_block (as the serial loop).
        lo = np.int64(b) * BLOCK
        _advance_block(lo, min(m, lo + BLOCK), syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
                       offset)


@numba.njit(cache=True)
def advance_serial(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """:func:`advance` on one thread (same arguments, same results bit for bit)."""
    m = soma.shape[1] - PAD
    for b in range((m + BLOCK - 1) // BLOCK):
        lo = np.int64(b) * BLOCK
        _advance_block(lo, min(m, lo + BLOCK), syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
                       offset)
