"""The exact soma's RK4 sub-steps over a block of neurons, branch-free (the exact integrator's vector passes).

:func:`mixsig.circuits.soma.soma_advance_propagated` integrates ``x = ln I_mem`` with classical RK4
sub-steps whose length the controller limits (``|dx| <= DX_MAX``, ``h |d(dx/dt)/dx| <= STIFF_MAX``),
checks whether the membrane is pinned at its floor ``ln i_0`` before each, and splits the step at
spikes, the end of the refractory period and the end of an AHP pulse. On a reference network 69 % of
the soma steps are one sub-step over the whole step and 5 % need three or more (up to 72, the upswing
before a spike) (``python -m benchmarks kernel``: ``kernel.soma_steps_with_*_substeps``); one neuron
at a time, these are chains of dependent ``exp`` and division latencies with data-dependent branches.

:func:`substeps` takes one sub-step of every running lane of a block in structure-of-arrays form, with
the scalar kernel's formulas in the scalar kernel's order of operations, every decision a select and
``exp``/``log`` from :mod:`mixsig.engine.vecmath` (within 2 ulp of libm), so LLVM vectorises the loop
(:func:`mixsig.engine.kernels.soma_first_pass`: a first pass over a block of neurons, then
:func:`mixsig.engine.kernels.soma_packed_passes`: passes over the lanes still running in every block, packed,
until none is). Only lanes whose whole step is one segment go this way:
not refractory, no AHP pulse on, the AHP propagators made for this ``dt``, no threshold crossing. Every
other lane is advanced by the scalar kernel from its start state. The vector passes' lanes therefore
differ from the scalar kernel by ``exp``/``log`` rounding only (relative 1e-15 per sub-step); a lane
whose controller test sits within that rounding of its limit may take a sub-step of another length than
the scalar kernel's, which changes the result by the scheme's own truncation error, far below the
integrator's tolerance (``validation/soma_dt_convergence.py``).

The block's table ``work`` has one row per name of :data:`ROWS` and one column per neuron.
"""

import numba

from mixsig.circuits.soma import DX_MAX, STIFF_MAX
from mixsig.engine import vecmath

BLOCK = 64
"""Neurons per block: the block's table (:data:`ROWS`, 8 bytes each) stays in the L1 cache."""

ROWS = ("i_in", "i_shunt", "i_mem", "i_ahp", "eligible", "c_mem", "i_tau", "i_gain", "i_fb_0", "kappa", "u_t", "i_0",
        "x_thr", "x_floor", "ahp_tau", "ahp_decayed", "ahp_decayed_half", "x", "elapsed", "ahp_now", "status")
"""Rows of a block's table. Inputs: the step's input current (noise included, not clipped) and shunt current
(A), the soma state at the start (A), 1.0 where the lane may take the vector path (not refractory, no AHP
pulse, AHP propagators for this ``dt``) else 0.0, then the soma parameters the sub-steps use (named as the
columns of the exact kernel's soma table, :data:`mixsig.engine.protocol.SOMA_COLUMNS`: the AHP's time
constant and its decayed fractions over ``dt`` and ``dt / 2``). Work rows: ``x = ln I_mem``, the time
integrated so far (s), the AHP current there (A) and the lane's :data:`RUNNING` / :data:`DONE` /
:data:`SCALAR` status."""

(I_IN, I_SHUNT, I_MEM, I_AHP, ELIGIBLE, C_MEM, I_TAU, I_GAIN, I_FB_0, KAPPA, U_T, I_0, X_THR, X_FLOOR, AHP_TAU,
 DECAYED, DECAYED_HALF, X, ELAPSED, AHP_NOW, STATUS) = range(len(ROWS))

N_INPUT_ROWS = X
"""Rows ``0 .. N_INPUT_ROWS - 1`` of :data:`ROWS` are filled by the caller (the rest are the passes' work)."""

RUNNING, DONE, SCALAR = 0.0, 1.0, 2.0
"""Lane status: sub-steps to go; the step is done (``x`` and row ``i_ahp`` hold its end); the scalar kernel must
advance it from its start state (a threshold crossing, a lane not eligible, or :data:`MAX_SUBSTEPS` reached)."""

MAX_SUBSTEPS = 128
"""Sub-steps a lane may take in the vector passes; one that needs more goes to the scalar kernel."""


@numba.njit(cache=True, inline="always")
def _ahp_at(t, ahp, i_0, tau, decayed, decayed_half, dt):
    """The AHP current ``t`` s into the step with no pulse (from ``ahp`` at its start, A):
    :func:`mixsig.circuits.soma._ahp_at`'s numbers (disabled at 0 stays 0, at or below the floor ``i_0`` is
    ``i_0``, else the exact decay clipped at ``i_0``, from the propagators at ``dt`` and ``dt / 2``, elsewhere
    with a vectorisable ``exp``, within 2 ulp of libm's ``expm1``-based decay)."""
    kept = 1.0 - decayed if t == dt else (1.0 - decayed_half if t == 0.5 * dt else vecmath.exp(-(t / tau)))
    left = ahp * kept
    return 0.0 if ahp == 0.0 else (i_0 if ahp <= i_0 or left <= i_0 else left)


@numba.njit(cache=True, inline="always")
def _rate(x, i_in, i_leak, scale, i_gain, i_fb_0, exponent, x_0):
    """``dx/dt`` (1/s), its stiffness bound (1/s), :func:`mixsig.circuits.soma._rate_and_stiffness` with
    vectorisable ``exp`` and the feedback's ``i_fb_0 = 0`` case as a select."""
    i_mem = vecmath.exp(x)
    i_fb = 0.0 if i_fb_0 == 0.0 else i_fb_0 * vecmath.exp(exponent * (x - x_0))
    drive = i_gain * i_in / (i_gain + i_mem)
    return scale * (drive - i_leak + i_fb), scale * (drive * i_mem / (i_gain + i_mem) + exponent * i_fb)


@numba.njit(cache=True, error_model="numpy")
def start(n, work):
    """Start the first ``n`` lanes of the block table ``work`` (:data:`ROWS`) at the beginning of the step:
    ``x = ln max(I_mem, i_0)``, nothing integrated, :data:`RUNNING` where eligible and below threshold, else
    :data:`SCALAR`."""
    mems, i_0s, x_thrs, ahps, eligibles = work[I_MEM, :n], work[I_0, :n], work[X_THR, :n], work[I_AHP, :n], work[
        ELIGIBLE, :n]
    xs, elapseds, ahp_nows, statuses = work[X, :n], work[ELAPSED, :n], work[AHP_NOW, :n], work[STATUS, :n]
    for j in range(n):
        x = vecmath.log(max(mems[j], i_0s[j]))
        xs[j], elapseds[j], ahp_nows[j] = x, 0.0, ahps[j]
        statuses[j] = RUNNING if (eligibles[j] != 0.0) & (x < x_thrs[j]) else SCALAR


@numba.njit(cache=True, error_model="numpy")
def substeps(n, dt, work):
    """One sub-step of every running lane of the first ``n`` columns of ``work`` (:data:`ROWS`), branch-free.

    The sub-step of :func:`mixsig.circuits.soma._integrate_segment` (the controller's length
    ``h <= dt - elapsed`` with ``|dx| <= DX_MAX`` and ``h |d(dx/dt)/dx| <= STIFF_MAX``, the pinned-floor
    check, classical RK4 with the AHP at the stage times), with its formulas in its order of operations.
    The lanes start with :func:`start`. A lane that reaches the threshold becomes :data:`SCALAR`, one that reaches the
    end of the step :data:`DONE`, with ``I_mem`` in row ``i_mem`` and the AHP at the step's end in row
    ``i_ahp``. Returns the number of lanes still running.
    """
    i_ins, shunts, mems, ahps = work[I_IN, :n], work[I_SHUNT, :n], work[I_MEM, :n], work[I_AHP, :n]
    c_mems, i_taus, gains, fb_0s, kappas, u_ts = (work[C_MEM, :n], work[I_TAU, :n], work[I_GAIN, :n], work[I_FB_0, :n],
                                                  work[KAPPA, :n], work[U_T, :n])
    i_0s, x_thrs, x_floors, ahp_taus, decays, half_decays = (work[I_0, :n], work[X_THR, :n], work[X_FLOOR, :n],
                                                             work[AHP_TAU, :n], work[DECAYED, :n],
                                                             work[DECAYED_HALF, :n])
    xs, elapseds, ahp_nows, statuses = work[X, :n], work[ELAPSED, :n], work[AHP_NOW, :n], work[STATUS, :n]
    running = 0
    for j in range(n):
        kappa, i_gain, i_fb_0, i_0, x_thr, x_floor = kappas[j], gains[j], fb_0s[j], i_0s[j], x_thrs[j], x_floors[j]
        ahp_tau, decayed, decayed_half = ahp_taus[j], decays[j], half_decays[j]
        scale, exponent = kappa / (c_mems[j] * u_ts[j]), kappa / (kappa + 1.0)
        i_in = max(i_ins[j], 0.0)
        leak_fixed = i_taus[j] + shunts[j]
        ahp = ahps[j]
        x, elapsed, ahp_now, status = xs[j], elapseds[j], ahp_nows[j], statuses[j]
        ahp_end = _ahp_at(dt, ahp, i_0, ahp_tau, decayed, decayed_half, dt)
        k1, stiff = _rate(x, i_in, leak_fixed + ahp_now, scale, i_gain, i_fb_0, exponent, x_floor)
        rate_floor = _rate(x_floor, i_in, leak_fixed + ahp_end, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        pinned = (x <= x_floor) & (k1 <= 0.0) & (rate_floor <= 0.0)
        remaining = dt - elapsed
        h = remaining
        h = DX_MAX / abs(k1) if abs(k1) * h > DX_MAX else h
        h = STIFF_MAX / stiff if stiff * h > STIFF_MAX else h
        leak_mid = leak_fixed + _ahp_at(elapsed + 0.5 * h, ahp, i_0, ahp_tau, decayed, decayed_half, dt)
        ahp_step_end = _ahp_at(elapsed + h, ahp, i_0, ahp_tau, decayed, decayed_half, dt)
        k2 = _rate(x + 0.5 * h * k1, i_in, leak_mid, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        k3 = _rate(x + 0.5 * h * k2, i_in, leak_mid, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        k4 = _rate(x + h * k3, i_in, leak_fixed + ahp_step_end, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        x_end = x + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0
        crossed = (x_end >= x_thr) & (not pinned)
        x_new = x_floor if pinned else max(x_end, x_floor)
        elapsed_new = dt if pinned | (h == remaining) else elapsed + h
        live = status == RUNNING
        status_new = SCALAR if crossed else (DONE if elapsed_new >= dt else RUNNING)
        statuses[j] = status_new if live else status
        xs[j] = x_new if live else x
        elapseds[j] = elapsed_new if live else elapsed
        ahp_nows[j] = ahp_step_end if live else ahp_now
        done = live & (status_new == DONE)
        mems[j] = vecmath.exp(x_new) if done else mems[j]
        ahps[j] = ahp_end if done else ahp
        running += 1 if live & (status_new == RUNNING) else 0
    return running
