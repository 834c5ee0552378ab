"""Compiled per-step kernels of the engine: one neuron (four DPIs + soma) and spike delivery.

The neuron kernel composes the circuits' scalar kernels exactly as the vectorised circuit
functions do (:func:`mixsig.circuits.synapses.step` then :func:`mixsig.circuits.soma.step`), so
the engine and the circuits share one implementation of the physics:

1. each DPI type ``k`` (AMPA, NMDA, GABA, SHUNT) is advanced by
   :func:`mixsig.circuits.dpi.step_element` with the summed weight current of the pulses that start
   in this step; its step-averaged current ``Ī_k`` feeds the soma;
2. ``I_syn = Ī_ampa + Ī_nmda / (1 + i_nmda_thr / I_mem) - Ī_gaba`` (NMDA gated by the membrane
   current at the start of the step) and ``I_shunt = Ī_shunt``;
3. the soma is advanced by :func:`mixsig.circuits.soma.soma_advance_propagated`
   (:func:`~mixsig.circuits.soma.soma_advance` with the AHP propagators of the step) with
   ``I_in = i_dc + I_syn + noise``.

Shot noise (``S_I = 2 q I``, white): the engine passes standard normal draws ``z``; the kernel
scales them to the step-averaged noise current ``sqrt(q I / dt) z`` of the current they belong to
(each DPI's output current at the start of the step; for the soma the input-branch and leak
currents ``max(I_in, 0) + i_tau``, whose shot noises add). Flicker noise (``S_I = K_f I^2 / f``,
when the device model enables it): the engine passes relative fluctuations ``r`` from
:class:`mixsig.device.FlickerNoise` and the kernel adds ``I r``. No random number is drawn here.

Overlapping pulses (chip ``weight_scheme``): on a chip whose CAM synapses add their pulses on
the DPI input (``"mask"``, DYNAP-SE2) the pulses that start in one step add their currents and a
pulse arriving while another is on merges with it conserving charge
(:func:`mixsig.circuits.dpi.step_element`). On a chip whose weight sits at the DPI input, behind
one pulse extender per neuron and synapse type (``"per_type"``, DYNAP-SE1), the CAM matches only
trigger that extender: pulses are OR-ed, not summed. Coincident pulses of a step then give one
pulse of the type's weight current (:func:`deliver` keeps the largest), and a pulse arriving while
one is on restarts it for a full ``t_pulse`` from the step's start (:func:`extend_pulses`).

Adaptation (chip blocks ``stp`` and ``homeostasis``, ``docs/adaptation.md``), both off by default,
and then not touched at all (bit-identical to a chip without them):

* short-term depression, one Tsodyks-Markram resource pool per synapse type per neuron (the pool
  is shared by every CAM synapse of that type of the neuron): in :func:`deliver`, each arrival on
  a type whose switch is on calls :func:`mixsig.circuits.stp.pulse_event` at the step's start
  ``t`` (exact recovery since the pool's last pulse, then release of ``count`` pulses) and adds
  ``efficacy * I_w`` instead of ``count * I_w``. Arrivals of one step are handled in this order:
  the input-channel arrivals of the step (sorted by CAM key), then the router deliveries of the
  previous step (in router output order), each over its CAM rows in table order;
* homeostatic synaptic scaling per neuron: after the soma, :func:`mixsig.circuits.homeostasis.step_element`
  advances the activity trace with the neuron's spikes of the step and moves the gain; the gain
  multiplies the weight current of every excitatory (AMPA, NMDA) pulse the neuron receives from
  the next step on (synaptic scaling: multiplicative, so relative weights are kept; it scales the
  pulse amplitude, which acts in every regime of the DPI, whereas scaling ``i_gain`` changes a
  pulse's effect only in the DPI's linear regime).
"""

import math
import os
import types

import numba
import numpy as np

from mixsig.aer.events import expand_spikes
from mixsig.aer.router import compiled_free_slots, compiled_in_flight, feed_compiled
from mixsig.circuits import homeostasis, stp
from mixsig.circuits.dpi import decay_step, propagator, step_element
from mixsig.circuits.soma import N_KERNEL_PARAMETERS, ahp_propagators, kernel_parameters, soma_advance_propagated
from mixsig.constants import Q_E
from mixsig.engine import precompile, soma_block
from mixsig.engine.philox import step_noise, step_noise_type

N_TYPES = 4
"""Synapse types per neuron (AMPA, NMDA, GABA, SHUNT)."""

DPI_ROWS = ("t_pulse", "i_tau", "i_gain", "c_syn", "kappa", "u_t", "i_0")
"""First columns of the DPI parameter table (:class:`mixsig.circuits.dpi.DPIParams` fields)."""

DPI_PROPAGATOR_ROWS = ("dt", "tau", "decayed")
"""Last columns of the DPI parameter table: the step ``dt`` (s) the propagators are for, and
:func:`mixsig.circuits.dpi.propagator`'s ``tau`` (s) and ``1 - exp(-dt/tau)`` (1) for it."""

_DT, _TAU, _DECAYED = (len(DPI_ROWS) + DPI_PROPAGATOR_ROWS.index(r) for r in DPI_PROPAGATOR_ROWS)

N_EXCITATORY = 2
"""Synapse types ``0 .. N_EXCITATORY - 1`` (AMPA, NMDA) are excitatory: homeostasis scales their weights."""

HOMEOSTASIS_ROWS = ("i_g0", "r_target", "tau_r", "c_h", "i_leak", "i_g_min", "i_g_max", "time_scale", "kappa", "u_t")
"""Rows of the homeostasis parameter table: the current that sets the gain clamp, then
:class:`mixsig.circuits.homeostasis.HomeostasisParams` fields in :func:`~mixsig.circuits.homeostasis.step_element` order."""


PARALLEL_MIN_NEURONS = 512
"""Smallest number of simulated neurons (all instances) for which the engine uses a kernel's threaded ``advance``."""

SPIN_COUNT = "10000"
"""``GOMP_SPINCOUNT`` the engine sets (spin iterations, about 0.1 ms, before an idle thread sleeps)."""


def configure_threading():
    """Choose numba's threading layer for the engine, once, before numba starts its threads.

    Called by the engine before its first threaded step (and by ensemble workers before they set
    their thread count), not at import: nothing changes for a process that never runs threads,
    or whose threads are already running, or whose user chose a layer (``NUMBA_THREADING_LAYER``).

    One parallel region per step (10^4 per simulated second): the OpenMP layer starts them
    cheaply, the work-queue layer does not (about 1x over one thread). Waiting: unless the user set
    ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` (GCC's libgomp, ``env.c`` ``initialize_env``, applies a
    set ``GOMP_SPINCOUNT`` whatever the policy, so either of them means the user chose), an idle pool
    thread spins :data:`SPIN_COUNT` iterations (about 0.1 ms) and then sleeps. On an idle 2-core
    machine (the lead's run, ``python -m benchmarks threads``, main 702438f) two threads over one at
    1024 / 4096 neurons gained: passive 0.69x / 1.27x, spin 1e4 then sleep 1.40x / 1.56x, spin 1e5
    1.42x / 1.54x, GNU's default (spin 3e5) 1.35x / 1.64x, active 1.46x / 1.73x. With other
    processes on the cores spinning loses (load 4-22: passive 0.92x / 1.02x, spin 1e4 0.21x / 0.50x,
    active 0.08x / 0.23x), because a spinning thread takes the core the step's other thread needs;
    that loss is what :class:`mixsig.engine.threads.ThreadChoice` avoids by measuring 2 threads
    against 1 during the run and running one thread when threads lose. The one-thread side then pays
    at most the short spin after each step (``threads.<policy>.<size>.serial_over_one``). The
    work-queue layer remains the fallback.
    """
    from numba.np.ufunc import parallel

    if "NUMBA_THREADING_LAYER" in os.environ or parallel._is_initialized:
        return
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
    numba.config.THREADING_LAYER = "default"
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]


def kernel_array(value, dtype=np.float64):
    """``value`` as the kernels take every array: C-contiguous, aligned, writable, of ``dtype``.

    numba compiles (and caches) one specialisation per argument type, and the type of an array
    includes its layout and whether it is read-only. A read-only or broadcast view (the weight
    table of a single nominal instance is one) would make a second specialisation of the kernel;
    a cached second specialisation of a function calling a ``parallel=True`` kernel crashed
    (segmentation fault) when a fresh process loaded it. Copies only what does not qualify.
    """
    return np.require(value, dtype, ("C_CONTIGUOUS", "ALIGNED", "WRITEABLE"))


def parameter_tables(dpis, soma_params, shape, dt):
    """Neuron-major parameter tables of :func:`advance_neurons`, with the DPI propagators for step ``dt``.

    Parameters
    ----------
    dpis : sequence of 4 DPIParams
        AMPA, NMDA, GABA and SHUNT parameters (floats or arrays broadcastable to ``shape``).
    soma_params : SomaParams
    shape : tuple of int
        ``(instance, neuron)``; the tables have ``m = instance * neuron`` rows.
    dt : float
        Step, s.

    Returns
    -------
    syn_par : ndarray, shape (m, 4, 10)
        Columns :data:`DPI_ROWS` then :data:`DPI_PROPAGATOR_ROWS`.
    soma_par : ndarray, shape (m, 22)
        Columns in :func:`mixsig.circuits.soma.kernel_parameters` order, then
        :func:`mixsig.circuits.soma.ahp_propagators` for step ``dt``.
    """
    soma_par = kernel_parameters(soma_params, shape).reshape(N_KERNEL_PARAMETERS, -1).T
    soma_par = kernel_array(np.concatenate([soma_par, np.zeros((soma_par.shape[0], N_AHP_PROPAGATORS))], axis=1))
    _soma_propagators(soma_par, dt)
    return dpi_table(dpis, shape, dt), soma_par


N_AHP_PROPAGATORS = 4
"""Last columns of the exact kernel's soma table: :func:`mixsig.circuits.soma.ahp_propagators` for the step."""


@numba.njit(cache=True)
def _soma_propagators(soma_par, dt):
    """Fill the last :data:`N_AHP_PROPAGATORS` columns of the soma table in place (step ``dt``)."""
    for j in range(soma_par.shape[0]):
        p = soma_par[j]
        p[N_KERNEL_PARAMETERS], p[N_KERNEL_PARAMETERS + 1], p[N_KERNEL_PARAMETERS + 2], p[N_KERNEL_PARAMETERS + 3] = (
            ahp_propagators(dt, p[8], p[7], p[12], p[13]))


def dpi_table(dpis, shape, dt):
    """Neuron-major DPI parameter table, shape (m, 4, 10): columns :data:`DPI_ROWS`, then
    :data:`DPI_PROPAGATOR_ROWS` for step ``dt`` (see :func:`parameter_tables`; shared by every
    kernel whose neurons take the four DPIs). The engine rebuilds it whenever drift moves a
    parameter, so the propagators are computed once per drift update, not once per step."""
    syn_par = np.stack([np.stack([np.broadcast_to(np.asarray(getattr(p, r), dtype=float), shape).reshape(-1)
                                  for r in DPI_ROWS], axis=-1) for p in dpis], axis=1)
    syn_par = kernel_array(np.concatenate([syn_par, np.zeros(syn_par.shape[:2] + (len(DPI_PROPAGATOR_ROWS),))], -1))
    syn_par[:, :, _DT] = dt
    _propagators(syn_par)
    return syn_par


@numba.njit(cache=True)
def _propagators(syn_par):
    """Fill the :data:`DPI_PROPAGATOR_ROWS` columns ``tau`` and ``decayed`` of a DPI table in place, with the
    circuit's own :func:`mixsig.circuits.dpi.propagator` (numpy's vectorised ``expm1`` may round otherwise)."""
    for j in range(syn_par.shape[0]):
        for k in range(syn_par.shape[1]):
            q = syn_par[j, k]
            q[_TAU], q[_DECAYED] = propagator(q[_DT], q[1], q[3], q[4], q[5])


def resting_synapses(syn_par):
    """Every DPI of the table of :func:`dpi_table` at its dark current ``i_0``, no pulse on: shape (m, 4, 3)."""
    syn = np.zeros((syn_par.shape[0], N_TYPES, 3))
    syn[:, :, 0] = syn_par[:, :, DPI_ROWS.index("i_0")]
    return syn


def resting_state(syn_par, soma_par):
    """Resting state for the tables of :func:`parameter_tables`.

    Every DPI at its dark current ``i_0`` with no pulse on; every soma at ``i_reset``, not
    refractory, its AHP at ``i_0`` (at 0 when ``i_w_ahp = 0``: adaptation off), as
    :func:`mixsig.circuits.soma.initial_state`.

    Returns
    -------
    syn : ndarray, shape (m, 4, 3)
    soma : ndarray, shape (m, 4)
    """
    m = syn_par.shape[0]
    syn = resting_synapses(syn_par)
    soma = np.zeros((m, 4))
    soma[:, 0] = soma_par[:, 4]
    soma[:, 1] = np.where(soma_par[:, 10] > 0, soma_par[:, 14], 0.0)
    return syn, soma


@numba.njit(cache=True)
def _idle_mean(i_0, dt):
    """Step average of a DPI resting at its floor, computed as :func:`step_element` does (bit-exact)."""
    return i_0 * dt / dt


@numba.njit(cache=True)
def advance_dpis(j, syn, i_w, z, dt, syn_par, syn_mean):
    """Advance the four DPIs of neuron ``j`` by one step (arguments as :func:`advance_neurons`).

    Exact fast paths, same numbers as :func:`step_element` bit for bit: a DPI at its floor
    (``I <= i_0``) with no pulse on, none starting and no noise stays at ``i_0`` with step average
    ``i_0`` (:func:`mixsig.circuits.dpi.dpi_advance`'s first branch); any other DPI with no pulse on
    and none starting decays with the table's propagators (:func:`mixsig.circuits.dpi.decay_step`,
    no ``exp``). Only the DPIs with a pulse on are solved by :func:`step_element`.
    """
    noisy = z.shape[0] > 0
    flicker = z.shape[0] > N_TYPES + 1
    state, weight, mean = syn[j], i_w[j], syn_mean[j]
    for k in range(N_TYPES):
        q, d = syn_par[j, k], state[k]
        i_0 = q[6]
        pulse = weight[k] > 0.0 or d[2] > 0.0
        if not noisy and not pulse and d[0] <= i_0:
            d[0] = i_0
            mean[k] = _idle_mean(i_0, dt)
            continue
        noise = 0.0
        if noisy:
            noise = math.sqrt(Q_E * d[0] / dt) * z[k, j]
            if flicker:
                noise += d[0] * z[N_TYPES + 1 + k, j]
        if not pulse and q[_DT] == dt:
            d[0], mean[k] = decay_step(d[0], noise, dt, q[_TAU], q[_DECAYED], i_0)
            continue
        d[0], d[1], d[2], mean[k] = step_element(
            d[0], d[1], d[2], weight[k], noise, dt, q[0], q[1], q[2], q[3], q[4], q[5], i_0)


@numba.njit(cache=True)
def _soma_input(j, i_in, z, dt, soma_par):
    """Input current of the soma of neuron ``j`` (A): its noise-free input ``i_in`` (A) plus its input noise
    (arguments as :func:`advance_neurons`)."""
    if z.shape[0] > 0:
        i_noisy = max(i_in, 0.0) + soma_par[j, 1]
        i_in += math.sqrt(Q_E * i_noisy / dt) * z[N_TYPES, j]
        if z.shape[0] > N_TYPES + 1:
            i_in += i_noisy * z[2 * N_TYPES + 1, j]
    return i_in


@numba.njit(cache=True)
def _soma_scalar(j, soma, i_in, i_shunt, dt, soma_par, count, offset):
    """Advance the soma of neuron ``j`` by one step with the scalar kernel
    :func:`mixsig.circuits.soma.soma_advance_propagated` from its input current ``i_in`` (noise included, A)."""
    p, m = soma_par[j], soma[j]
    m[0], m[1], m[2], m[3], count[j], offset[j] = soma_advance_propagated(
        m[0], m[1], m[2], m[3], i_in, i_shunt, dt,
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15],
        p[16], p[17], p[18], p[19], p[20], p[21],
    )


@numba.njit(cache=True)
def advance_soma(j, soma, i_in, i_shunt, z, dt, soma_par, count, offset):
    """Advance the soma of neuron ``j`` by one step from its noise-free input current ``i_in`` (A)
    and shunt current ``i_shunt`` (A), adding its input noise, with the scalar kernel (other arguments as
    :func:`advance_neurons`; the reference of :func:`advance_neurons`' vector pass)."""
    _soma_scalar(j, soma, _soma_input(j, i_in, z, dt, soma_par), i_shunt, dt, soma_par, count, offset)


_SOMA_TABLE_COLUMNS = (0, 1, 2, 6, 12, 13, 14, 15, 17, 19, 20, 21)
"""Columns of the soma table copied to rows ``c_mem .. ahp_decayed_half`` of :data:`mixsig.engine.soma_block.ROWS`."""


@numba.njit(cache=True)
def soma_column(j, b, soma, i_in, i_shunt, dt, soma_par, work):
    """Column ``b`` of a block table of :func:`mixsig.engine.soma_block.substeps` (``work``, input rows of
    :data:`mixsig.engine.soma_block.ROWS`) from the state and parameters of neuron ``j``, its input current
    ``i_in`` (noise included, A) and shunt current ``i_shunt`` (A), for a step of ``dt`` s."""
    state, p = soma[j], soma_par[j]
    work[soma_block.I_IN, b] = i_in
    work[soma_block.I_SHUNT, b] = i_shunt
    work[soma_block.I_MEM, b] = state[0]
    work[soma_block.I_AHP, b] = state[1]
    work[soma_block.ELIGIBLE, b] = 1.0 if state[2] <= 0.0 and state[3] <= 0.0 and p[18] == dt else 0.0
    for r in range(len(_SOMA_TABLE_COLUMNS)):
        work[soma_block.C_MEM + r, b] = p[_SOMA_TABLE_COLUMNS[r]]


@numba.njit(cache=True)
def soma_first_pass(lo, hi, soma, dt, work, pending, status, count, offset):
    """The somas of neurons ``lo .. hi - 1`` from their block table ``work`` (columns ``0 .. hi - lo - 1``
    filled by :func:`soma_column`): :func:`mixsig.engine.soma_block.start` and one
    :func:`mixsig.engine.soma_block.substeps` pass over the block. A neuron done in it gets its end state
    (no spike); each other one gets its status in ``status`` (shape (m,)) and its column in row ``j`` of
    ``pending`` (shape (m, len(ROWS))) for :func:`soma_packed_passes` and :func:`soma_scalar_rest`."""
    n = hi - lo
    soma_block.start(n, work)
    soma_block.substeps(n, dt, work)
    for j in range(lo, hi):
        b = j - lo
        state = work[soma_block.STATUS, b]
        status[j], count[j], offset[j] = state, 0, np.nan
        if state == soma_block.DONE:
            soma[j, 0], soma[j, 1] = work[soma_block.I_MEM, b], work[soma_block.I_AHP, b]
        else:
            for r in range(len(soma_block.ROWS)):
                pending[j, r] = work[r, b]


LANE_GROUP = 16
"""Lanes of the packed passes are processed in multiples of this (the vector loop's width times its interleave:
fewer lanes would run its scalar remainder, which evaluates both sides of every select)."""


@numba.njit(cache=True)
def soma_packed_passes(dt, soma, pending, status):
    """The somas still running after :func:`soma_first_pass` (all blocks), packed together in multiples of
    :data:`LANE_GROUP` lanes and re-packed as they finish: :func:`mixsig.engine.soma_block.substeps` passes until
    none runs (at most :data:`mixsig.engine.soma_block.MAX_SUBSTEPS` sub-steps in all). A neuron done gets its end
    state; a threshold crossing (or a lane still running) gets the status ``SCALAR``."""
    m = status.shape[0]
    n = 0
    for j in range(m):
        n += status[j] == soma_block.RUNNING
    if n == 0:
        return
    lanes = np.empty(n, dtype=np.int64)
    a = 0
    for j in range(m):
        if status[j] == soma_block.RUNNING:
            lanes[a] = j
            a += 1
    width = LANE_GROUP * ((n + LANE_GROUP - 1) // LANE_GROUP)
    packed = np.empty((len(soma_block.ROWS), width))
    for a in range(width):
        for r in range(len(soma_block.ROWS)):
            packed[r, a] = pending[lanes[min(a, n - 1)], r]
        if a >= n:
            packed[soma_block.STATUS, a] = soma_block.SCALAR  # padding: a valid lane's numbers, not running
    live = n
    for _ in range(soma_block.MAX_SUBSTEPS - 1):
        soma_block.substeps(width, dt, packed)
        k = 0
        for a in range(live):
            state = packed[soma_block.STATUS, a]
            if state == soma_block.RUNNING:
                if k != a:
                    for r in range(len(soma_block.ROWS)):
                        packed[r, k] = packed[r, a]
                    lanes[k] = lanes[a]
                k += 1
            else:
                j = lanes[a]
                status[j] = state
                if state == soma_block.DONE:
                    soma[j, 0], soma[j, 1] = packed[soma_block.I_MEM, a], packed[soma_block.I_AHP, a]
        for a in range(k, live):
            packed[soma_block.STATUS, a] = soma_block.SCALAR
        live = k
        if live == 0:
            return
        width = min(width, LANE_GROUP * ((live + LANE_GROUP - 1) // LANE_GROUP))
    for a in range(live):
        status[lanes[a]] = soma_block.SCALAR


@numba.njit(cache=True)
def soma_scalar_rest(lo, hi, soma, dt, soma_par, pending, status, count, offset):
    """The scalar soma kernel for the neurons ``lo .. hi - 1`` the vector passes left (status ``SCALAR``), from
    their start state and the input and shunt currents saved in ``pending``."""
    for j in range(lo, hi):
        if status[j] == soma_block.SCALAR:
            _soma_scalar(j, soma, pending[j, soma_block.I_IN], pending[j, soma_block.I_SHUNT], dt, soma_par, count,
                         offset)


@numba.njit(cache=True)
def _advance_block(lo, hi, syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, pending, status, count,
                   offset):
    """Advance the DPIs of neurons ``lo .. hi - 1`` (at most :data:`mixsig.engine.soma_block.BLOCK`) by one step
    and take their somas' first vector pass (:func:`soma_first_pass`); see :func:`advance_neurons`."""
    work = np.empty((len(soma_block.ROWS), hi - lo))
    for j in range(lo, hi):
        advance_dpis(j, syn, i_w, z, dt, syn_par, syn_mean)
        mean = syn_mean[j]
        i_syn = mean[0] + mean[1] / (1.0 + nmda_thr[j] / soma[j, 0]) - mean[2]
        soma_column(j, j - lo, soma, _soma_input(j, i_dc[j] + i_syn, z, dt, soma_par), mean[3], dt, soma_par, work)
    soma_first_pass(lo, hi, soma, dt, work, pending, status, count, offset)


@numba.njit(cache=True, parallel=True)
def advance_neurons(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset):
    """Advance every neuron (its four DPIs and its soma) by one step, in place.

    Neurons are independent within a step, so blocks of :data:`mixsig.engine.soma_block.BLOCK` neurons are
    spread over numba's threads (``numba.set_num_threads``): their DPIs and the somas' first vector pass
    (:func:`_advance_block`), then, on one thread, the somas still running packed together
    (:func:`soma_packed_passes`), then the scalar soma kernel for the rest (:func:`soma_scalar_rest`). Each
    neuron's arithmetic is the same whatever its block or thread, so the result is bit-identical for any number
    of threads. The state and parameter tables are neuron-major (first axis ``m``).

    Parameters
    ----------
    syn : ndarray, shape (m, 4, 3)
        State of each DPI type: output current (A), pulse current (A), pulse time left (s);
        updated in place.
    soma : ndarray, shape (m, 4)
        Soma state: ``i_mem`` (A), ``i_ahp`` (A), refractory time left (s), AHP pulse time left
        (s); updated in place.
    i_w : ndarray, shape (m, 4)
        Summed weight current of the pulses of each type that start in this step, A.
    z : ndarray, shape (10, m), (5, m) or (0, m)
        Rows 0-4: standard normal draws for the shot noise of the four DPIs and the soma (zeros
        when shot noise is off); rows 5-9, when present: relative flicker fluctuations of the same
        currents (the noise current is ``I`` times them). An empty first axis switches noise off.
    dt : float
        Step, s.
    syn_par : ndarray, shape (m, 4, 10)
        DPI parameters per type (``t_pulse, i_tau, i_gain, c_syn, kappa, u_t, i_0``), then the
        propagators for step ``dt`` (:func:`dpi_table`).
    nmda_thr : ndarray, shape (m,)
        NMDA gate threshold current, A.
    soma_par : ndarray, shape (m, 22)
        Soma parameters in :func:`mixsig.circuits.soma.kernel_parameters` order, then the AHP's
        propagators for step ``dt`` (:func:`parameter_tables`).
    i_dc : ndarray, shape (m,)
        DC input current, A.
    syn_mean : ndarray, shape (m, 4)
        Output: step-averaged current of each DPI, A.
    count : ndarray of int64, shape (m,)
        Output: spikes emitted in the step.
    offset : ndarray, shape (m,)
        Output: time of the first spike from the start of the step, s (NaN if none).
    """
    m = syn.shape[0]
    pending, status = np.empty((m, len(soma_block.ROWS))), np.empty(m)
    for b in numba.prange((m + soma_block.BLOCK - 1) // soma_block.BLOCK):
        # prange counts in uint64; int64 bounds keep one specialisation of _advance_block (as the serial loop).
        lo = np.int64(b) * soma_block.BLOCK
        _advance_block(lo, min(m, lo + soma_block.BLOCK), syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc,
                       syn_mean, pending, status, count, offset)
    soma_packed_passes(dt, soma, pending, status)
    for b in numba.prange((m + soma_block.BLOCK - 1) // soma_block.BLOCK):
        lo = np.int64(b) * soma_block.BLOCK
        soma_scalar_rest(lo, min(m, lo + soma_block.BLOCK), soma, dt, soma_par, pending, status, count, offset)


@numba.njit(cache=True)
def advance_neurons_serial(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset):
    """:func:`advance_neurons` on one thread (same arguments, same results bit for bit)."""
    m = syn.shape[0]
    pending, status = np.empty((m, len(soma_block.ROWS))), np.empty(m)
    for b in range((m + soma_block.BLOCK - 1) // soma_block.BLOCK):
        lo = np.int64(b) * soma_block.BLOCK
        _advance_block(lo, min(m, lo + soma_block.BLOCK), syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc,
                       syn_mean, pending, status, count, offset)
    soma_packed_passes(dt, soma, pending, status)
    for b in range((m + soma_block.BLOCK - 1) // soma_block.BLOCK):
        lo = np.int64(b) * soma_block.BLOCK
        soma_scalar_rest(lo, min(m, lo + soma_block.BLOCK), soma, dt, soma_par, pending, status, count, offset)


@numba.njit(cache=True)
def deliver(keys, counts, instance, cam_ptr, cam_neuron, cam_type, weight, n_neurons, i_w, t, stp_on, stp_par,
            stp_state, gain, scaled, or_pulses=False):
    """Add the weight currents of arriving events to their target synapses, in place.

    Parameters
    ----------
    keys : ndarray of int64, shape (e,)
        CAM key ``(chip * n_cores + core) * n_tags + tag`` of each arrival.
    counts : ndarray of float64, shape (e,)
        Number of events behind each arrival (pulses of one step add their currents).
    instance : ndarray of int64, shape (e,)
        Chip instance receiving the event, or -1 for an event received by every instance.
    cam_ptr : ndarray of int64
        CSR index of the CAM rows of each key.
    cam_neuron : ndarray of int64
        Local (simulated) index of each CAM row's target neuron, -1 if not simulated.
    cam_type : ndarray of int64
        Synapse type of each CAM row.
    weight : ndarray, shape (instances, n_cam)
        Weight current of each CAM row on each instance, A.
    n_neurons : int
        Simulated neurons per instance.
    i_w : ndarray, shape (instances * n_neurons, 4)
        Weight currents of the step, A; updated in place.
    t : float
        Arrival time (start of the step), s.
    stp_on : ndarray of bool, shape (4, m)
        Short-term depression switched on for this type of this neuron.
    stp_par : ndarray, shape (2, 4, m)
        ``tau_rec`` (s) and ``u_se`` (1) of each pool.
    stp_state : ndarray, shape (2, 4, m)
        Recovered fraction ``x`` (1) and time of its last update (s) of each pool; updated in place.
    gain : ndarray, shape (m,)
        Homeostatic gain of each neuron, 1 (1 where homeostasis is off).
    scaled : bool
        Whether any neuron has homeostasis on (else ``gain`` is not read).
    or_pulses : bool
        Pulses OR-ed at the DPI input (DYNAP-SE1): keep the largest weight current of the step
        instead of the sum.

    Notes
    -----
    The weight current added per CAM row is ``count * I_w``, with ``I_w`` times the neuron's gain
    on excitatory types when ``scaled``, and ``efficacy * I_w`` instead of ``count * I_w`` on a
    depressing pool (:func:`mixsig.circuits.stp.pulse_event`, called in arrival order).
    """
    n_instances = weight.shape[0]
    for e in range(keys.shape[0]):
        first = instance[e] if instance[e] >= 0 else 0
        last = instance[e] + 1 if instance[e] >= 0 else n_instances
        for row in range(cam_ptr[keys[e]], cam_ptr[keys[e] + 1]):
            neuron = cam_neuron[row]
            if neuron < 0:
                continue
            kind = cam_type[row]
            for i in range(first, last):
                j = i * n_neurons + neuron
                w = weight[i, row]
                if scaled and kind < N_EXCITATORY:
                    w = w * gain[j]
                if stp_on[kind, j]:
                    stp_state[0, kind, j], stp_state[1, kind, j], efficacy = stp.pulse_event(
                        stp_state[0, kind, j], stp_state[1, kind, j], t, counts[e], stp_par[0, kind, j],
                        stp_par[1, kind, j])
                    w, repeat = efficacy * w, 1.0
                else:
                    repeat = counts[e]
                if or_pulses:
                    i_w[j, kind] = max(i_w[j, kind], w)
                else:
                    i_w[j, kind] += repeat * w


@numba.njit(cache=True)
def extend_pulses(i_w, syn, fast_layout):
    """OR-ed pulses: a pulse starting on a DPI whose pulse is still on restarts it, in place.

    For every neuron ``j`` and type ``k`` with a pulse starting in the step (``i_w[j, k] > 0``)
    while the previous one is on, the previous pulse is cut and the new one (of the larger of the
    two currents) lasts a full ``t_pulse`` from the step's start: the pulse is extended, not
    summed.

    Parameters
    ----------
    i_w : ndarray, shape (m, 4)
        Weight currents of the pulses starting in the step, A; updated in place.
    syn : ndarray, shape (m, 4, 3), or (3, 4, m) with ``fast_layout``
        DPI states (output current, pulse current, pulse time left); the pulses are cut in place.
    fast_layout : bool
        ``syn`` in the state-row-major layout of :mod:`mixsig.engine.fast`.
    """
    for j in range(i_w.shape[0]):
        for k in range(i_w.shape[1]):
            if fast_layout:
                if i_w[j, k] > 0.0 and syn[2, k, j] > 0.0:
                    i_w[j, k] = max(i_w[j, k], syn[1, k, j])
                    syn[1, k, j] = 0.0
                    syn[2, k, j] = 0.0
            elif i_w[j, k] > 0.0 and syn[j, k, 2] > 0.0:
                i_w[j, k] = max(i_w[j, k], syn[j, k, 1])
                syn[j, k, 1] = 0.0
                syn[j, k, 2] = 0.0


@numba.njit(cache=True)
def scale_gains(count, offset, dt, homeo_on, homeo_par, homeo_state, gain):
    """Advance the homeostatic loop of every neuron with it on by one step, in place.

    Parameters
    ----------
    count : ndarray of int64, shape (m,)
        Spikes of each neuron in the step.
    offset : ndarray, shape (m,)
        Time of the first spike from the start of the step, s (NaN if none).
    dt : float
        Step, s.
    homeo_on : ndarray of bool, shape (m,)
        Homeostasis switched on.
    homeo_par : ndarray, shape (10, m)
        Rows :data:`HOMEOSTASIS_ROWS`.
    homeo_state : ndarray, shape (2, m)
        Activity trace ``r_hat`` (Hz) and gain-control voltage ``v_g`` (V); updated in place.
    gain : ndarray, shape (m,)
        Output: gain factor for the next step, 1.
    """
    for j in range(count.shape[0]):
        if not homeo_on[j]:
            continue
        p = homeo_par[:, j]
        homeo_state[0, j], homeo_state[1, j], gain[j], _ = homeostasis.step_element(
            homeo_state[0, j], homeo_state[1, j], float(count[j]), offset[j], dt, p[0], p[1], p[2], p[3], p[4],
            p[5], p[6], p[7], p[8], p[9])


@numba.njit(cache=True, inline="always")
def _record_and_route(n, dt, count, offset, n_neurons, routing):
    """Record the spikes of step ``n`` and route them (and the events in flight) in compiled code.

    Inlined into the step loop (numba IR), so that the routing kernels it calls are linked and
    optimised once more in the loop only, not also in a function of their own (3 CPU-s of a cold
    start); the compile helper compiles those kernels (:func:`compile_step_loop`).

    ``routing`` is :func:`_run_steps`'s tuple. Returns ``(done, keys, counts, owner)``: the
    deliveries of the step for the next one (see :func:`deliver`); ``done`` is False, with
    nothing changed, when the spike record or the router's free slots are too small (the caller
    then records and routes in Python).
    """
    (_, state, sram_src, sram_dst, sram_mask, sram_tag, neurons, n_board, n_chips, n_cores, neurons_per_core, n_tags,
     emitted, spike_index, spike_time, totals, horizon) = routing
    m = count.shape[0]
    n_fired = 0
    for j in range(m):
        if count[j] > 0:
            n_fired += 1
    empty = np.zeros(0, dtype=np.int64)
    if n_fired == 0 and compiled_in_flight(state) == 0:
        return True, empty, np.zeros(0), empty
    if totals[0] + n_fired > spike_index.shape[0]:
        return False, empty, np.zeros(0), empty
    fired = np.empty(n_fired, dtype=np.int64)
    times = np.empty(n_fired)
    sources = np.empty(n_fired, dtype=np.int64)
    k = 0
    for j in range(m):
        if count[j] > 0:
            fired[k] = j
            times[k] = n * dt + offset[j]
            sources[k] = (j // n_neurons) * n_board + neurons[j % n_neurons]
            k += 1
    time, ints = expand_spikes(times, sources, sram_src, empty, sram_dst, sram_mask, sram_tag, n_cores,
                               neurons_per_core)
    if compiled_free_slots(state) < time.shape[0] + 1:
        return False, empty, np.zeros(0), empty
    spike_index[totals[0]:totals[0] + n_fired] = fired
    spike_time[totals[0]:totals[0] + n_fired] = times
    totals[0] += n_fired
    for e in range(time.shape[0]):
        emitted[ints[1, e] // n_chips] += 1
    until = (n + 1) * dt
    _, tag, dst_chip, dst_core = feed_compiled(state, until, time, totals[1], ints)
    totals[1] += time.shape[0]
    horizon[0] = until
    keys, owner = delivery_keys(dst_chip, dst_core, tag, n_chips, n_cores, n_tags)
    return True, keys, np.ones(keys.shape[0]), owner


def _run_steps(n0, n1, block_start, input_ptr, input_keys, input_counts, input_instance, pending_keys, pending_counts,
               pending_instance, cam_ptr, cam_neuron, cam_type, weight, n_neurons, i_w, noise, syn, soma, dt,
               syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset, adapt, routing):
    """Run steps ``n0, n0 + 1, ...`` up to ``n1`` (excluded).

    The template of :func:`step_loop`'s compiled loops: ``ADVANCE`` (the neuron kernel) and
    ``STATE_MAJOR`` (its DPI state layout) are the globals each loop binds.

    Each step does what :class:`mixsig.engine.simulation.Simulation` documents: it clears
    ``i_w``, adds the weight currents of the input arrivals of the step (:func:`deliver`, every
    instance) and of the router deliveries of the previous step; then advances every neuron
    (``ADVANCE``) and, when homeostasis is on, the gains (:func:`scale_gains`). With compiled routing on (``routing[0]``) the spikes of a step are
    then recorded and routed here (:func:`_record_and_route`) and the loop goes on; otherwise,
    or when that cannot be done, the loop stops after the first step with a spike and the caller
    records and routes it. The caller must stop ``n1`` at every step whose parameters, DC input,
    stimulus block, noise or trace sampling it has to handle itself.

    Parameters
    ----------
    n0, n1 : int
        First step and bound (``n1 > n0``).
    block_start : int
        First step of the stimulus block ``input_ptr`` indexes (every step run lies in it).
    input_ptr, input_keys, input_counts, input_instance : ndarray
        CSR over the block's steps of the input arrivals: CAM key, number of spikes and -1
        (received by every instance).
    pending_keys, pending_counts, pending_instance : ndarray
        Router deliveries of the previous step (see :func:`deliver`).
    cam_ptr, cam_neuron, cam_type, weight, n_neurons :
        CAM tables, as :func:`deliver` takes them.
    i_w : ndarray, shape (m, 4)
        Work array of the weight currents, A.
    noise : ndarray, shape (n1 - n0, 5, m) or (n1 - n0, 0, m), or tuple
        Standard normal draws of each step (see :func:`advance_neurons`), or for a kernel that draws its
        own shot noise :func:`mixsig.engine.philox.counter_noise`; the kernel receives
        :func:`mixsig.engine.philox.step_noise` of it.
    syn, soma, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset :
        As :func:`advance_neurons`, in the layout of the loop's kernel (:mod:`mixsig.engine.protocol`;
        ``syn_mean`` is its work array); the state is updated in place and ``count``, ``offset``
        hold the last step's spikes.
    adapt : tuple
        ``(stp_on, stp_par, stp_state, gain, homeo_on, homeo_par, homeo_state, scaled, or_pulses)``:
        the arrays of :func:`deliver` and :func:`scale_gains` (state updated in place), whether
        any neuron has homeostasis on, and whether pulses are OR-ed (:func:`extend_pulses`).
    routing : tuple
        ``(on, router_state, sram_src, sram_dst_chip, sram_core_mask, sram_tag, neurons, n_board,
        n_chips, n_cores, neurons_per_core, n_tags, emitted, spike_index, spike_time,
        totals, horizon)``: whether to route here; the router's arrays
        (:meth:`mixsig.aer.router.Router.compiled_state`); the SRAM table sorted by source; the
        board index of each simulated neuron; the geometry; the per-instance event counters; the
        spike record buffers; ``totals = [spikes recorded, events fed to the router]`` and
        ``horizon = [last routing horizon, s]``, updated in place.

    Returns
    -------
    steps : int
        Steps run.
    routed : bool
        Whether the spikes of the last step were recorded and routed here.
    pending_keys, pending_counts, pending_instance : ndarray
        The router deliveries for the next step (when ``routed``).
    """
    m = i_w.shape[0]
    stp_on, stp_par, stp_state, gain, homeo_on, homeo_par, homeo_state, scaled, or_pulses = adapt
    compiled_routing = routing[0]
    for n in range(n0, n1):
        i_w[:, :] = 0.0
        k = n - block_start
        a, b = input_ptr[k], input_ptr[k + 1]
        t = n * dt
        if b > a:
            deliver(input_keys[a:b], input_counts[a:b], input_instance[a:b], cam_ptr, cam_neuron, cam_type, weight,
                    n_neurons, i_w, t, stp_on, stp_par, stp_state, gain, scaled, or_pulses)
        if pending_keys.shape[0] > 0:
            deliver(pending_keys, pending_counts, pending_instance, cam_ptr, cam_neuron, cam_type, weight,
                    n_neurons, i_w, t, stp_on, stp_par, stp_state, gain, scaled, or_pulses)
        if or_pulses:
            extend_pulses(i_w, syn, STATE_MAJOR)
        ADVANCE(syn, soma, i_w, step_noise(noise, n - n0, n), dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count,
                offset)
        if scaled:
            scale_gains(count, offset, dt, homeo_on, homeo_par, homeo_state, gain)
        if compiled_routing:
            done, pending_keys, pending_counts, pending_instance = _record_and_route(n, dt, count, offset, n_neurons,
                                                                                     routing)
            if not done:
                return n - n0 + 1, False, pending_keys, pending_counts, pending_instance
            continue
        for j in range(m):
            if count[j] > 0:
                return n - n0 + 1, False, pending_keys, pending_counts, pending_instance
        pending_keys = pending_keys[:0]
        pending_counts = pending_counts[:0]
        pending_instance = pending_instance[:0]
    return n1 - n0, compiled_routing, pending_keys, pending_counts, pending_instance


STEP_LOOPS = {}
"""Compiled step loops made so far, by neuron-kernel function (:func:`step_loop`)."""


def _bind(advance, state_major, name):
    """:func:`_run_steps` with ``advance`` and ``state_major`` bound as compile-time constants, as a
    Python function named ``name``."""
    code = _run_steps.__code__.replace(co_name=name, co_qualname=name)
    loop = types.FunctionType(code, dict(_run_steps.__globals__, ADVANCE=advance, STATE_MAJOR=state_major), name)
    loop.__qualname__, loop.__doc__ = name, _run_steps.__doc__
    return loop


def step_loop(advance, state_major):
    """The compiled step loop (:func:`_run_steps`) of one neuron-kernel function, made on first use.

    Each loop binds its kernel as a compile-time constant, so numba compiles (or loads from its
    cache) only the kernel a run uses: one step loop dispatching between kernels on a runtime
    argument made every run compile all of them (exact, fast, AdEx and digital LIF, threaded and
    serial; the exact ones were 10 % of the CPU time of a cold ``mixsig run``). A loop is an
    ``njit(cache=True)`` function of its own name, ``run_steps_<module>_<kernel>``, so each has its
    own cache entry.

    Parameters
    ----------
    advance : numba dispatcher
        A kernel's ``advance`` or ``advance_serial`` (:mod:`mixsig.engine.protocol` rule 3).
    state_major : bool
        Whether the kernel's DPI state is state-row-major, shape (3, 4, m) (:func:`extend_pulses`).

    Returns
    -------
    numba dispatcher
        ``loop(*args)`` with :func:`_run_steps`'s arguments and results.
    """
    if advance not in STEP_LOOPS:
        STEP_LOOPS[advance] = numba.njit(cache=True)(_bind(advance, state_major, step_loop_name(advance)))
    return STEP_LOOPS[advance]


@numba.njit
def _no_advance(syn, soma, i_w, noise, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset):
    """Typing stand-in of a neuron kernel in :data:`LOOP_STAND_INS` (the loop does not use its result)."""


stand_in_loop_neuron_major = numba.njit(_bind(_no_advance, False, "stand_in_loop_neuron_major"))
stand_in_loop_state_major = numba.njit(_bind(_no_advance, True, "stand_in_loop_state_major"))
LOOP_STAND_INS = {False: stand_in_loop_neuron_major, True: stand_in_loop_state_major}
"""Step loops without a neuron kernel, by ``state_major`` (never compiled, only typed: the compile
helper types one to compile every kernel a step loop calls except the neuron kernel)."""


def compile_step_loop(loop, advance, args, state_major, meanwhile=None, beside=()):
    """Make sure ``loop`` (:func:`step_loop` of ``advance``) is compiled for ``args``, on two cores
    when cold.

    When neither this process nor numba's cache has the loop for these argument types, a helper
    process (:mod:`mixsig.engine.precompile`) compiles every kernel the loop calls except
    ``advance`` (the routing, the delivery and gain kernels: it types the loop's stand-in of
    :data:`LOOP_STAND_INS`) and then the kernels of ``beside``, while this process compiles the
    neuron kernel ``advance``; then ``meanwhile`` runs and the loop is compiled, loading the rest
    from the cache. Otherwise (a warm start) only ``meanwhile`` is called. The split is this way
    round because a cached ``parallel=True`` kernel linked into a newly compiled caller made a
    cached loop that crashed (segmentation fault) the next process that loaded it; what the helper
    compiles is serial code, or (``beside``) called from Python only.

    Parameters
    ----------
    loop : numba dispatcher
        ``step_loop(advance, ...)``.
    advance : numba dispatcher
        The kernel function the loop binds.
    args : tuple
        The loop's arguments (:func:`_run_steps`), or arguments of the same types.
    state_major : bool
        As :func:`step_loop`.
    meanwhile : callable, optional
        Work due before the loop runs (the first noise draw).
    beside : sequence of (numba dispatcher, tuple), optional
        Kernels that ``meanwhile`` or the run calls from Python, each with arguments of the types
        it will be called with (:func:`mixsig.engine.philox.standard_normals`, 2.7 CPU-s cold).
    """
    sig = precompile.signature(args)
    helper = None
    if not precompile.cached(loop, sig):
        helper = precompile.start(LOOP_STAND_INS[state_major], sig, callees=True,
                                  also=[(kernel, precompile.signature(values)) for kernel, values in beside])
    try:
        if helper is not None:
            i_w, noise, syn, soma = args[15:19]
            z = step_noise_type(noise)  # what the loop passes the kernel
            advance.compile(precompile.signature((syn, soma, i_w)) + (z,) + precompile.signature(args[19:27]))
            precompile.finish(helper)
        if meanwhile is not None:
            meanwhile()
    except BaseException:  # an interrupt (or a failure) does not wait for the helper
        precompile.stop(helper)
        raise


def step_loop_name(advance):
    """Name of :func:`step_loop`'s loop of kernel function ``advance``: ``run_steps_<module>_<function>``."""
    return f"run_steps_{advance.py_func.__module__.rsplit('.', 1)[-1]}_{advance.__name__}"


@numba.njit(cache=True)
def delivery_keys(dst_chip, dst_core, tag, n_chips, n_cores, n_tags):
    """CAM keys and owning instances of the router's deliveries.

    The engine's router sees instance ``i`` of chip ``c`` as board chip ``i * n_chips + c``.

    Parameters
    ----------
    dst_chip, dst_core, tag : ndarray of int64, shape (p,)
        :class:`mixsig.aer.events.Deliveries` fields.
    n_chips, n_cores, n_tags : int
        Chips per instance, cores per chip, tags per core.

    Returns
    -------
    keys : ndarray of int64, shape (p,)
        CAM key ``(chip * n_cores + core) * n_tags + tag`` of each delivery.
    owner : ndarray of int64, shape (p,)
        Instance receiving each delivery.
    """
    p = dst_chip.shape[0]
    keys = np.empty(p, dtype=np.int64)
    owner = np.empty(p, dtype=np.int64)
    for d in range(p):
        owner[d] = dst_chip[d] // n_chips
        keys[d] = ((dst_chip[d] % n_chips) * n_cores + dst_core[d]) * n_tags + tag[d]
    return keys, owner
