"""Exact event times end to end: router deliveries start their DPI pulses inside the step.

With the experiment's ``delivery = "exact"`` (exact integrator only), a spike leaves at its exact
time (the soma's threshold crossing inside the step), the router adds its latencies and queueing,
and each delivery starts its pulses at its arrival time inside the destination step, so that
routing adds no delay of its own (``docs/networks.md``, "Delivery timing"). The default ``delivery
= "step"`` starts every pulse delivered during a step at the next step's start (0 to ``dt`` of
artificial delay; protocol rule 3 of :mod:`mixsig.engine.protocol`).

One step ``[t0, t0 + dt)`` is solved in *rounds* (:meth:`EventTimes.rounds`), a conservative
discrete-event co-simulation of the neurons and the router with lookahead ``L``, the router's
shortest path (:func:`lookahead`: nothing a spike causes can reach a synapse earlier than ``L``
after it):

1. every neuron is advanced over the whole step from its state at ``t0`` with the pulses known so
   far (input spikes at their spike times, :meth:`mixsig.engine.simulation.Simulation.input_events`;
   pulses of delay synapses revealed in earlier steps; deliveries revealed by earlier rounds at
   their onsets), which gives each neuron's tentative first spike;
2. with ``U`` the router's horizon so far, ``t_e`` the earliest tentative spike not yet routed and
   ``b`` the router's next happening (:meth:`mixsig.aer.router.Router.next_happening`, a lower bound
   of any delivery of the events it holds), the round's window ends at ``W = min(t_e + L, b + L,
   t0 + dt)``: spikes before ``W`` are final (no unknown delivery can precede them by more than
   ``L``, see below), they are recorded and fed to the router, which runs up to ``W``;
3. the deliveries of the round (arrival ``a < W``) become pulses starting at ``a + d - t0`` (``d``
   the synapse's delay, :func:`expand_deliveries`), and only their target neurons are advanced
   again from their state at ``t0`` with all their pulses (:func:`advance_with_onsets`, the step
   split at each onset); the homeostatic gain of the step's start and short-term depression are
   applied at each pulse's onset, each neuron's pools taking the step's pulses in onset order from
   their state at ``t0`` (:func:`pulse_currents`);
4. repeat until ``W = t0 + dt``. Events still in the router then arrive in a later step, where they
   start at their exact onset.

Rounds are in time order, so the router sees events in non-decreasing emission time, and a round
costs one vectorised pass (no Python per event). Exactness: a delivery revealed in a round arrives
at ``a >= b``; so the only effects not resolved in time order are those of a pulse arriving less
than ``L`` (80 ns on the shipped DYNAP chips) before a spike of its target in the same window. They are
counted: :attr:`EventTimes.late` (a pulse revealed after its target's spike of the window was
routed; the spike is kept) and :attr:`EventTimes.clamped` (a spike such a pulse caused before the
router's horizon, fed at the horizon; its recorded time is exact).
"""

import math

import numba
import numpy as np

from mixsig.circuits import stp
from mixsig.circuits.dpi import step_element
from mixsig.circuits.soma import soma_advance
from mixsig.constants import Q_E
from mixsig.engine.kernels import N_EXCITATORY, N_TYPES, scale_gains

def lookahead(levels):
    """Shortest time from a spike to a delivery: the same-chip path, core encoder, chip router and
    the destination core's broadcast stage.

    Parameters
    ----------
    levels : mapping of str to mixsig.aer.router.LinkParams
        The router's levels (``core``, ``chip``, ``mesh``, ``broadcast``).

    Returns
    -------
    float
        ``s_core + L_core + s_chip + L_chip + s_broadcast + L_broadcast``, s (a mesh path adds hops
        to it; the encoder's arbitration delay, left out, only makes the bound safer).
    """
    return float(sum(levels[name].service_time + levels[name].latency for name in ("core", "chip", "broadcast")))


@numba.njit(cache=True)
def expand_deliveries(keys, arrival, owner, cam_ptr, cam_neuron, cam_type, weight, delay, n_neurons):
    """The pulses of router deliveries or input arrivals: one per (arrival, CAM row of a simulated neuron).

    Parameters
    ----------
    keys, owner : ndarray of int64, shape (p,)
        CAM key and instance of each arrival (:func:`mixsig.engine.kernels.delivery_keys`).
    arrival : ndarray, shape (p,)
        Arrival time of each delivery, s.
    cam_ptr, cam_neuron, cam_type, weight, n_neurons :
        As :func:`mixsig.engine.kernels.deliver`.
    delay : ndarray, shape (instance, rows) or (0, 0)
        Delay of each synapse, s (:mod:`mixsig.circuits.delay`); empty: no delay synapses.

    Returns
    -------
    neuron, kind : ndarray of int64, shape (q,)
        Target neuron (``instance * n_neurons + neuron``) and synapse type of each pulse.
    time : ndarray, shape (q,)
        Onset, s (the arrival time plus the synapse's delay).
    current : ndarray, shape (q,)
        Weight current of the synapse, A, before the homeostatic gain and short-term depression
        (:func:`pulse_currents` applies them at the onset).
    """
    q = 0
    for e in range(keys.shape[0]):
        for row in range(cam_ptr[keys[e]], cam_ptr[keys[e] + 1]):
            if cam_neuron[row] >= 0:
                q += 1
    neuron = np.empty(q, dtype=np.int64)
    kind = np.empty(q, dtype=np.int64)
    time = np.empty(q)
    current = np.empty(q)
    q = 0
    for e in range(keys.shape[0]):
        i, t = owner[e], arrival[e]
        for row in range(cam_ptr[keys[e]], cam_ptr[keys[e] + 1]):
            if cam_neuron[row] < 0:
                continue
            neuron[q], kind[q], current[q] = i * n_neurons + cam_neuron[row], cam_type[row], weight[i, row]
            time[q] = t + delay[i, row] if delay.shape[0] > 0 else t
            q += 1
    return neuron, kind, time, current


@numba.njit(cache=True)
def pulse_currents(neuron, kind, time, raw, gain, scaled, stp_on, stp_par, stp_start, stp_state):
    """Weight currents of one step's pulses, short-term depression applied at each pulse's onset.

    Each neuron's four resource pools restart from their state at the step's start and take the
    neuron's pulses in onset order (:func:`mixsig.circuits.stp.pulse_event`), so a pulse delayed by
    its synapse is depressed by the pulses that started before it, whatever their arrival order.

    Parameters
    ----------
    neuron, kind : ndarray of int64, shape (q,)
        Target neuron and synapse type of each pulse, sorted by neuron and then onset.
    time : ndarray, shape (q,)
        Onset of each pulse, s (absolute).
    raw : ndarray, shape (q,)
        Weight current of each pulse's synapse, A.
    gain, scaled, stp_on, stp_par :
        As :func:`mixsig.engine.kernels.deliver` (the gain of the step's start).
    stp_start : ndarray, shape (2, 4, m)
        Pools at the step's start.
    stp_state : ndarray, shape (2, 4, m)
        Pools, updated in place for the neurons of ``neuron``: after all their pulses of the step.

    Returns
    -------
    ndarray, shape (q,)
        Weight current of each pulse, A (times the gain on excitatory types when ``scaled``, times
        the pulse's efficacy on a depressing pool).
    """
    current = np.empty(raw.shape[0])
    for r in range(raw.shape[0]):
        j, k = neuron[r], kind[r]
        if r == 0 or j != neuron[r - 1]:
            for b in range(N_TYPES):
                stp_state[0, b, j], stp_state[1, b, j] = stp_start[0, b, j], stp_start[1, b, j]
        w = raw[r]
        if scaled and k < N_EXCITATORY:
            w = w * gain[j]
        if stp_on[k, j]:
            stp_state[0, k, j], stp_state[1, k, j], efficacy = stp.pulse_event(
                stp_state[0, k, j], stp_state[1, k, j], time[r], 1.0, stp_par[0, k, j], stp_par[1, k, j])
            w = efficacy * w
        current[r] = w
    return current


@numba.njit(cache=True)
def advance_with_onsets(targets, ptr, kind, onset, current, syn, soma, syn0, soma0, i_w, z, dt, syn_par, nmda_thr,
                        soma_par, i_dc, syn_mean, count, offset):
    """Advance neurons ``targets`` over one step from their saved start state, pulses starting inside it.

    The step of neuron ``targets[t]`` is split at the onsets of its pulses ``ptr[t]:ptr[t + 1]``
    (sorted by onset): each piece advances the four DPIs exactly (:func:`mixsig.circuits.dpi.step_element`,
    the pulses starting at the piece's start) and then the soma (:func:`mixsig.circuits.soma.soma_advance`)
    under the piece's mean synaptic currents, NMDA gated by the membrane current at the piece's
    start (:func:`mixsig.engine.kernels.advance_neurons` is the one-piece case). The shot and
    flicker noise currents of the step (rows of ``z`` as ``advance_neurons``) are held over its pieces.

    Parameters
    ----------
    targets : ndarray of int64, shape (r,)
        Neurons to advance.
    ptr : ndarray of int64, shape (r + 1,)
        Their pulses in ``kind``, ``onset``, ``current``.
    kind : ndarray of int64, shape (q,)
        Synapse type of each pulse.
    onset : ndarray, shape (q,)
        Onset from the step's start, s (``0 <= onset < dt``).
    current : ndarray, shape (q,)
        Weight current, A.
    syn, soma : ndarray
        States (layout of :func:`mixsig.engine.kernels.advance_neurons`), rows ``targets`` overwritten.
    syn0, soma0 : ndarray
        The states at the step's start.
    i_w : ndarray, shape (m, 4)
        Weight currents of the pulses starting at the step's start (input spikes), A.
    z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset :
        As :func:`mixsig.engine.kernels.advance_neurons` (outputs for rows ``targets``).
    """
    noisy = z.shape[0] > 0
    flicker = z.shape[0] > N_TYPES + 1
    weights = np.zeros(N_TYPES)
    noise = np.zeros(N_TYPES)
    total = np.zeros(N_TYPES)
    mean = np.zeros(N_TYPES)
    for t in range(targets.shape[0]):
        j = targets[t]
        syn[j, :, :] = syn0[j, :, :]
        soma[j, :] = soma0[j, :]
        for k in range(N_TYPES):
            weights[k] = i_w[j, k]
            total[k] = 0.0
            noise[k] = 0.0
            if noisy:
                noise[k] = math.sqrt(Q_E * syn0[j, k, 0] / dt) * z[k, j]
                if flicker:
                    noise[k] += syn0[j, k, 0] * z[N_TYPES + 1 + k, j]
        p, m, q = soma_par[j], soma[j], syn_par[j]
        spikes, first = 0, np.nan
        start, r = 0.0, ptr[t]
        while start < dt:
            while r < ptr[t + 1] and onset[r] <= start:
                weights[kind[r]] += current[r]
                r += 1
            end = min(onset[r], dt) if r < ptr[t + 1] else dt
            h = end - start
            for k in range(N_TYPES):
                d = syn[j, k]
                d[0], d[1], d[2], mean[k] = step_element(d[0], d[1], d[2], weights[k], noise[k], h, q[k, 0], q[k, 1],
                                                         q[k, 2], q[k, 3], q[k, 4], q[k, 5], q[k, 6])
                total[k] += mean[k] * h
                weights[k] = 0.0
            i_in = i_dc[j] + mean[0] + mean[1] / (1.0 + nmda_thr[j] / m[0]) - mean[2]
            if noisy:
                i_noisy = max(i_in, 0.0) + p[1]
                i_in += math.sqrt(Q_E * i_noisy / dt) * z[N_TYPES, j]
                if flicker:
                    i_in += i_noisy * z[2 * N_TYPES + 1, j]
            m[0], m[1], m[2], m[3], n_piece, at = soma_advance(
                m[0], m[1], m[2], m[3], i_in, mean[3], h,
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15],
                p[16], p[17],
            )
            if n_piece > 0 and spikes == 0:
                first = start + at
            spikes += n_piece
            start = end
        for k in range(N_TYPES):
            syn_mean[j, k] = total[k] / dt
        count[j] = spikes
        offset[j] = first


class EventTimes:
    """Rounds of one step with exact delivery times (module docstring), for a :class:`Simulation`.

    Parameters
    ----------
    simulation : mixsig.engine.simulation.Simulation
        A simulation whose kernel has ``advance_onsets`` (:mod:`mixsig.engine.protocol` rule 3) on a
        chip whose pulses add (``weight_scheme = "mask"``).

    Attributes
    ----------
    lookahead : float
        Shortest spike-to-delivery time, s (:func:`lookahead`).
    rounds_run : int
        Rounds run so far.
    late : ndarray of int64, shape (instance,)
        Pulses revealed after a spike of their target in the same window had been routed, per
        simulated instance (dataset variable ``router__exact_late``).
    clamped : ndarray of int64, shape (instance,)
        Spikes fed to the router at its horizon, after their exact time (recorded exactly), per
        simulated instance (``router__exact_clamped``).
    carried : list of ndarray
        Pulses of delay synapses starting in a later step: target neuron, synapse type, onset (s,
        absolute), synapse weight current (A; gain and depression are applied at the onset).
    """

    def __init__(self, simulation):
        self.simulation = simulation
        self.lookahead = lookahead(simulation.router.levels)
        self.rounds_run = 0
        self.late = np.zeros(simulation.n_instances, dtype=np.int64)
        self.clamped = np.zeros(simulation.n_instances, dtype=np.int64)
        self.carried = [np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)]

    def save(self):
        """Copies of the state a step starts from (DPIs, somas, homeostatic state and gain, resource pools)."""
        sim = self.simulation
        return sim.syn.copy(), sim.soma.copy(), sim.homeo_state.copy(), sim.gain.copy(), sim.stp_state.copy()

    def rounds(self, n, saved, z):
        """Finish step ``n``, already advanced once from ``saved`` without pulses: start the step's
        input spikes at their times, route its spikes in rounds, starting each delivered pulse at
        its arrival (plus its synapse's delay).

        Parameters
        ----------
        n : int
            Step index.
        saved : tuple
            :meth:`save` at the step's start.
        z : ndarray, shape (rows, m)
            The step's noise draws (as :func:`mixsig.engine.kernels.advance_neurons`).
        """
        sim = self.simulation
        dt = sim.experiment.dt
        t0, t1 = n * dt, (n + 1) * dt
        homeo0, gain0 = saved[2:4]
        if sim.scaled:  # the step's pulses take the gain of the step's start; the loop is advanced last
            sim.homeo_state[:], sim.gain[:] = homeo0, gain0
        self._step = (n, t0, t1, saved, z, sim.i_w.copy())
        self._pulses = [np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)]
        routed = np.zeros(sim.size, dtype=bool)
        self._spike_at = np.full(sim.size, -np.inf)  # time of each routed spike of the step
        now = self.carried[2] < t1  # delayed pulses of earlier steps starting in this one
        carried = [field[now] for field in self.carried]
        self.carried = [field[~now] for field in self.carried]
        delay = sim.delays if sim.delays is not None else np.zeros((0, 0))
        keys, times = sim.input_events(n)
        if keys.size:  # every instance receives the input spikes
            owner = np.repeat(np.arange(sim.n_instances, dtype=np.int64), keys.size)
            inputs = expand_deliveries(np.tile(keys, sim.n_instances), np.tile(times, sim.n_instances), owner,
                                       sim.compiled.cam_ptr, sim.cam_local, sim.compiled.cam_syn_type, sim.weight, delay, sim.n)
            carried = [np.concatenate(pair) for pair in zip(carried, inputs)]
        self._add(*carried)
        until = t0
        while True:
            self.rounds_run += 1
            times = t0 + sim.offset
            waiting = (sim.count > 0) & ~routed
            t_e = times[waiting].min() if waiting.any() else math.inf
            window = min(min(t_e, sim.router.next_happening()) + self.lookahead, t1)
            window = max(window, np.nextafter(until, math.inf))
            final = np.flatnonzero(waiting & (times < window))
            fed = np.maximum(times[final], until)
            self.clamped += np.bincount(final[times[final] < until] // sim.n, minlength=sim.n_instances)
            routed[final] = True
            self._spike_at[final] = times[final]
            if final.size:
                sim._record(final, times[final])
            keys, owner, arrival = sim._feed(final, fed, window)
            until = window
            if keys.size:
                self._add(*expand_deliveries(keys, arrival, owner, sim.compiled.cam_ptr, sim.cam_local,
                                             sim.compiled.cam_syn_type, sim.weight, delay, sim.n))
            if window >= t1:
                break
        if sim.scaled:
            scale_gains(sim.count, sim.offset, dt, sim.homeo_on, sim.homeo_par, sim.homeo_state, sim.gain)

    def _add(self, neuron, kind, time, current):
        """Take new pulses (absolute onsets, s; synapse weight currents, A): those of later steps
        wait in :attr:`carried`, the targets of the others are advanced again over the step with all
        their pulses, depressed in onset order (:func:`pulse_currents`)."""
        sim = self.simulation
        n, t0, t1, saved, z, i_w = self._step
        later = time >= t1
        if later.any():
            self.carried = [np.concatenate([old, new[later]]) for old, new in zip(self.carried, (neuron, kind, time, current))]
            neuron, kind, time, current = (field[~later] for field in (neuron, kind, time, current))
        if neuron.size == 0:
            return
        self.late += np.bincount(neuron[time < self._spike_at[neuron]] // sim.n, minlength=sim.n_instances)
        pulses = self._pulses = [np.concatenate([old, new]) for old, new in zip(self._pulses, (neuron, kind, time, current))]
        targets = np.unique(neuron)
        chosen = np.zeros(sim.size, dtype=bool)
        chosen[targets] = True
        chosen = chosen[pulses[0]]
        order = np.lexsort((pulses[2][chosen], pulses[0][chosen]))
        neuron, kind, time, current = (p[chosen][order] for p in pulses)
        current = pulse_currents(neuron, kind, time, current, sim.gain, bool(sim.scaled), sim.stp_on, sim.stp_par,
                                 saved[4], sim.stp_state)
        onset = np.clip(time - t0, 0.0, np.nextafter(sim.experiment.dt, 0.0))  # t0 <= time < t1; rounding may not say so
        ptr = np.searchsorted(neuron, np.append(targets, sim.size)).astype(np.int64)
        sim.kernel.advance_onsets(targets, ptr, kind, onset, current, sim.syn, sim.soma, saved[0], saved[1], i_w, z,
                                  sim.experiment.dt, sim.syn_par, sim.nmda_thr, sim.soma_par, sim._i_dc(n), sim.syn_mean,
                                  sim.count, sim.offset)
