"""The exact soma's first RK4 sub-step over a block of neurons, branch-free (the exact integrator's vector pass).

:func:`mixsig.circuits.soma.soma_advance_propagated` integrates ``x = ln I_mem`` with classical RK4
sub-steps whose length the controller limits (``|dx| <= DX_MAX``, ``h |d(dx/dt)/dx| <= STIFF_MAX``).
On a reference network most soma steps are one of two simple cases (``python -m benchmarks kernel``:
``kernel.soma_steps_with_{0,1}_substeps``):

* the controller's first attempt, a single sub-step over the whole step ``h = dt``, is accepted and
  ends below threshold;
* the membrane is pinned at its floor ``ln i_0`` (drive non-positive at the start and at the end).

:func:`first_attempt` evaluates both over a block of neurons in structure-of-arrays form, with the
scalar kernel's formulas in the scalar kernel's order of operations, every decision a select and
``exp``/``log`` from :mod:`mixsig.engine.vecmath` (within 2 ulp of libm), so LLVM vectorises the loop.
A lane is *accepted* only where the scalar kernel takes exactly that path: not refractory, no AHP
pulse on, the AHP propagators made for this ``dt``, start below threshold, and either pinned or one
sub-step allowed by the controller that ends below threshold. Every other lane (a spike, several
sub-steps, refractory end, AHP pulse) is advanced by the scalar kernel from its start state
(:func:`mixsig.engine.kernels.advance_neurons`). Accepted lanes therefore differ from the scalar
kernel by ``exp``/``log`` rounding only (relative 1e-15 per step); a lane whose controller test
sits within that rounding of its limit may be accepted where the scalar kernel would split the
step, which changes the result by the scheme's own truncation error, below the integrator's
tolerance (``validation/soma_dt_convergence.py``).

The block's table ``work`` has one row per name of :data:`ROWS` and one column per neuron;
:func:`first_attempt` overwrites rows ``i_mem``, ``i_ahp`` and ``eligible`` with the step's end
state and its decision.
"""

import numba

from mixsig.circuits.soma import DX_MAX, STIFF_MAX
from mixsig.engine import vecmath

BLOCK = 64
"""Neurons per block: the block's table (:data:`ROWS`, 8 bytes each) stays in the L1 cache."""

ROWS = ("i_in", "i_shunt", "i_mem", "i_ahp", "eligible", "c_mem", "i_tau", "i_gain", "i_fb_0", "kappa", "u_t", "i_0",
        "x_thr", "x_floor", "ahp_decayed", "ahp_decayed_half")
"""Rows of a block's table: the step's input current (noise included, not clipped) and shunt current (A),
the soma state at the start (A), 1.0 where the lane may take the vector path (not refractory, no AHP
pulse, AHP propagators for this ``dt``) else 0.0, then the soma parameters the first sub-step uses
(named as the columns of the exact kernel's soma table, :data:`mixsig.engine.protocol.SOMA_COLUMNS`; the
last two are the AHP's decayed fractions over ``dt`` and ``dt / 2``)."""

(I_IN, I_SHUNT, I_MEM, I_AHP, ELIGIBLE, C_MEM, I_TAU, I_GAIN, I_FB_0, KAPPA, U_T, I_0, X_THR, X_FLOOR, DECAYED,
 DECAYED_HALF) = range(len(ROWS))


@numba.njit(cache=True, inline="always")
def _ahp_decayed(i_ahp, decayed, i_0):
    """An AHP with no pulse after the propagator's interval: :func:`mixsig.circuits.soma._ahp_at`'s numbers
    (disabled at 0 stays 0, at or below the floor ``i_0`` is ``i_0``, else the exact decay clipped at ``i_0``)."""
    left = i_ahp * (1.0 - decayed)
    return 0.0 if i_ahp == 0.0 else (i_0 if i_ahp <= i_0 or left <= i_0 else left)


@numba.njit(cache=True, inline="always")
def _rate(x, i_in, i_leak, scale, i_gain, i_fb_0, exponent, x_0):
    """``dx/dt`` (1/s), its stiffness bound (1/s), :func:`mixsig.circuits.soma._rate_and_stiffness` with
    vectorisable ``exp`` and the feedback's ``i_fb_0 = 0`` case as a select."""
    i_mem = vecmath.exp(x)
    i_fb = 0.0 if i_fb_0 == 0.0 else i_fb_0 * vecmath.exp(exponent * (x - x_0))
    drive = i_gain * i_in / (i_gain + i_mem)
    return scale * (drive - i_leak + i_fb), scale * (drive * i_mem / (i_gain + i_mem) + exponent * i_fb)


@numba.njit(cache=True, error_model="numpy")
def first_attempt(n, dt, work):
    """Try the first sub-step of the soma of the block's ``n`` neurons over the step ``dt`` (s), branch-free.

    Parameters
    ----------
    n : int
        Neurons in the block (columns of ``work`` used).
    dt : float
        Step, s.
    work : ndarray, shape (len(ROWS), >= n)
        The block's table (:data:`ROWS`); rows ``i_mem`` and ``i_ahp`` become the state at the end of
        the step (A) and row ``eligible`` 1.0 where the lane was accepted, 0.0 where the scalar kernel
        must advance it (those lanes' other outputs are meaningless).
    """
    i_ins, shunts, mems, ahps, accepted = work[I_IN, :n], work[I_SHUNT, :n], work[I_MEM, :n], work[I_AHP, :n], work[
        ELIGIBLE, :n]
    c_mems, i_taus, gains, fb_0s, kappas, u_ts = (work[C_MEM, :n], work[I_TAU, :n], work[I_GAIN, :n], work[I_FB_0, :n],
                                                  work[KAPPA, :n], work[U_T, :n])
    i_0s, x_thrs, x_floors, decays, half_decays = (work[I_0, :n], work[X_THR, :n], work[X_FLOOR, :n], work[DECAYED, :n],
                                                   work[DECAYED_HALF, :n])
    h = dt
    for j in range(n):
        kappa, i_gain, i_fb_0, i_0, x_thr, x_floor = kappas[j], gains[j], fb_0s[j], i_0s[j], x_thrs[j], x_floors[j]
        scale, exponent = kappa / (c_mems[j] * u_ts[j]), kappa / (kappa + 1.0)
        i_in = max(i_ins[j], 0.0)
        leak_fixed = i_taus[j] + shunts[j]
        x = vecmath.log(max(mems[j], i_0))
        ahp = ahps[j]
        leak_mid = leak_fixed + _ahp_decayed(ahp, half_decays[j], i_0)
        ahp_end = _ahp_decayed(ahp, decays[j], i_0)
        k1, stiff = _rate(x, i_in, leak_fixed + ahp, scale, i_gain, i_fb_0, exponent, x_floor)
        rate_floor = _rate(x_floor, i_in, leak_fixed + ahp_end, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        pinned = (x <= x_floor) & (k1 <= 0.0) & (rate_floor <= 0.0)
        single = (abs(k1) * h <= DX_MAX) & (stiff * h <= STIFF_MAX)
        k2 = _rate(x + 0.5 * h * k1, i_in, leak_mid, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        k3 = _rate(x + 0.5 * h * k2, i_in, leak_mid, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        k4 = _rate(x + h * k3, i_in, leak_fixed + ahp_end, scale, i_gain, i_fb_0, exponent, x_floor)[0]
        x_end = x + h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0
        ok = (accepted[j] != 0.0) & (x < x_thr) & (pinned | (single & (x_end < x_thr)))
        mems[j] = vecmath.exp(x_floor if pinned else max(x_end, x_floor))
        ahps[j] = ahp_end
        accepted[j] = 1.0 if ok else 0.0
