r"""Destination-core broadcast stage of the AER router: one serial CAM search per event and core.

Model
-----
The destination chip's router fans an event out to the cores of its core mask. Inside a core the
event's tag is broadcast to every CAM entry of the core at once (one parallel CAM search), so the
core's broadcast bus is a *serial* resource shared by every event that enters the core: when many
sources converge on one core, the events queue there. Each core has one broadcast stage, a FIFO
server like a router link (:mod:`mixsig.aer.router`), with

* a constant **service time** ``s`` (s per event: one CAM search; ``1/s`` its throughput),
* a **latency** ``L`` (s) from the end of the search to the DPI pulse onset,
* a **FIFO depth** ``K`` (copies waiting plus the one in service),
* a **policy**: ``drop`` loses a copy that finds ``K`` copies in the stage; with ``stall`` the
  copy waits at the core's input port (the chip router's output towards the core) in arrival
  order until a place frees, and is never lost.

Copy ``i`` of a core, arriving at ``a_i``, is served in arrival order:

.. math:: d_i = \max(a_i, d_{i-1}) + s, \qquad \text{delivered at } d_i + L,

its wait is ``d_i - s - a_i`` and its sojourn ``d_i + L - a_i``. It finds the stage full when the
``K``-th previous accepted copy has not finished its search by ``a_i`` (``d_{i-K} > a_i``). For
Poisson arrivals of rate ``lambda`` this is the M/D/1 queue: with load ``rho = lambda s`` the mean
wait is ``rho s / (2 (1 - rho))`` (``validation/router_broadcast_md1.py``).

Simplification: a stalled copy does not hold the chip router (the router's server serves on while
copies wait at the input port of a full core), as a mesh hop does not hold its server for a full
chip router (:mod:`mixsig.aer.router`). With ``stall`` the FIFO depth therefore changes no time;
it sets when a copy counts as *stalled*.

Energy: every copy the stage accepts is one broadcast (CAM search) in the core, and the CAM
entries of the core that match the event's tag are its synaptic events
(:meth:`mixsig.aer.router.Router.receptions`).

Bookkeeping per core, in copies: ``offered = accepted + dropped`` and ``accepted = delivered +
in_flight``, where *delivered* copies have reached the core's synapses before the horizon.
"""

import numba
import numpy as np

from mixsig.aer.events import accumulate, put_delivery, stable_argsort

ACCEPTED, DELIVERED, DROPPED, STALLED, MATCHED = range(5)
"""Columns of the per-core counters: copies accepted, delivered to the synapses, dropped, that
found the FIFO full (``stall``), and CAM matches of the accepted copies (synaptic events)."""

N_COUNTS = 5
N_STATS = 6
"""Per-core statistics: sojourn sum, sum of squares, max; wait sum, sum of squares, max."""

# pending copy columns (float: emission, delivery time, arrival at the stage, wait; int: event,
# source, tag, destination chip, destination core)
_EMIT, OUT, _ARRIVAL, _WAIT = range(4)
_P_FLOATS, _P_INTS = 4, 5


def stage_arrays(n_links, depth):
    """The state of the broadcast stages of ``n_links`` cores with FIFOs of ``depth`` copies.

    Returns
    -------
    tuple
        ``(n_pending, ring, position, busy, counts, stats, pending_f, pending_i)``: pending copies
        (shape (1,)), departures of the last ``depth`` accepted copies per core (a ring), the ring
        position and end of the last service per core, the counters and statistics, and the
        copies accepted and not yet delivered (capacity 0: grown by :func:`grow_pending`).
    """
    stats = np.zeros((n_links, N_STATS))
    stats[:, [2, 5]] = -np.inf
    return (np.zeros(1, dtype=np.int64), np.full(n_links * depth, -np.inf), np.zeros(n_links, dtype=np.int64),
            np.full(n_links, -np.inf), np.zeros((n_links, N_COUNTS), dtype=np.int64), stats,
            np.zeros((0, _P_FLOATS)), np.zeros((0, _P_INTS), dtype=np.int64))


def grow_pending(pending_f, pending_i, n_pending, needed):
    """Pending arrays with room for at least ``needed`` copies (the same arrays if they have it)."""
    if pending_f.shape[0] >= needed:
        return pending_f, pending_i
    capacity = max(needed, 2 * pending_f.shape[0], 64)
    grown_f = np.zeros((capacity, _P_FLOATS))
    grown_i = np.zeros((capacity, _P_INTS), dtype=np.int64)
    grown_f[:n_pending] = pending_f[:n_pending]
    grown_i[:n_pending] = pending_i[:n_pending]
    return grown_f, grown_i


@numba.njit(cache=True)
def broadcast(until, begin, n_rows, event, source, tag, chip, core, emit, arrival, n_cores, par, spec, n_pending, ring,
              position, busy, counts, stats, pending_f, pending_i, matches, match_meta,
              out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, made):
    """Pass router deliveries ``begin:n_rows`` through the broadcast stages of their cores.

    Copies that reach the synapses before ``until`` are written to the ``out_*`` arrays, the others
    are kept (pending) for a later call. When the pending arrays are full the call stops at the row
    that does not fit and returns its index: grow them (:func:`grow_pending`) and call again from
    there with the same ``out_*`` arrays and ``made``.

    Parameters
    ----------
    until : float
        Horizon, s: copies whose search ends and whose latency has passed before it are delivered.
    begin, n_rows : int
        Rows of the input arrays to take (router deliveries, in arrival order); with ``begin == 0``
        the pending copies due before ``until`` are delivered first.
    event, source, tag, chip, core : ndarray of int64, shape (>= n_rows,)
    emit, arrival : ndarray of float64, shape (>= n_rows,)
        The router's deliveries (:class:`mixsig.aer.events.Deliveries` fields): ``arrival`` is the
        arrival at the destination core's broadcast stage, s.
    n_cores : int
        Cores per chip (stage of core ``c`` of chip ``x``: ``x * n_cores + c``).
    par : ndarray of float64, shape (2,)
        Service time and latency, s.
    spec : ndarray of int64, shape (2,)
        FIFO depth and 1 for ``drop`` (0 for ``stall``).
    n_pending, ring, position, busy, counts, stats, pending_f, pending_i
        The state (:func:`stage_arrays`), updated in place.
    matches, match_meta : ndarray of int64
        CAM matches per (destination core, tag) (see ``mixsig.aer.router.Router.set_cam_matches``).
    out_event, out_source, out_tag, out_chip, out_core : ndarray of int64, shape (>= n_pending + n_rows,)
    out_emit, out_arrival : ndarray of float64
        The delivered copies; ``out_arrival`` is the delivery time at the core's synapses, s. Once
        every row is taken, the ``made[0]`` rows written are in (delivery time, arrival) order.
        Without pending copies they may be the input arrays (row ``k`` is read before any row
        ``<= k`` is written).
    made : ndarray of int64, shape (1,)
        Rows written to ``out_*`` (updated).

    Returns
    -------
    int
        The first row not taken (``n_rows`` when every row was).
    """
    service, latency = par[0], par[1]
    depth, drop = spec[0], spec[1]
    period, n_tags = match_meta[0], match_meta[1]
    n = made[0]
    m = n_pending[0]
    if begin == 0:  # the pending copies due before the horizon, in arrival order; keep the rest
        kept = 0
        for p in range(m):
            if pending_f[p, OUT] < until:
                _deliver(pending_i[p, 0], pending_i[p, 1], pending_i[p, 2], pending_i[p, 3], pending_i[p, 4],
                         pending_f[p, _EMIT], pending_f[p, _ARRIVAL], pending_f[p, _WAIT], pending_f[p, OUT],
                         n_cores, counts, stats, out_event, out_source, out_tag, out_chip, out_core, out_emit,
                         out_arrival, n)
                n += 1
            else:
                if kept != p:  # element loops: a row assignment compiles numba's slicing code
                    for c in range(_P_FLOATS):
                        pending_f[kept, c] = pending_f[p, c]
                    for c in range(_P_INTS):
                        pending_i[kept, c] = pending_i[p, c]
                kept += 1
        m = kept
    for k in range(begin, n_rows):
        link = chip[k] * n_cores + core[k]
        a = arrival[k]
        slot = link * depth + position[link]
        full = ring[slot] > a  # the K-th previous copy is still in the stage
        if full and drop == 1:
            counts[link, DROPPED] += 1
            continue
        start = max(a, busy[link])
        done = start + service
        if done + latency >= until and m == pending_f.shape[0]:  # no room to keep it: the caller grows
            n_pending[0] = m
            made[0] = n
            return k
        if full:
            counts[link, STALLED] += 1
        busy[link] = done
        ring[slot] = done
        position[link] = 0 if position[link] + 1 == depth else position[link] + 1
        counts[link, ACCEPTED] += 1
        if period > 0:
            counts[link, MATCHED] += matches[(((chip[k] % period) * n_cores) + core[k]) * n_tags + tag[k]]
        if done + latency < until:
            _deliver(event[k], source[k], tag[k], chip[k], core[k], emit[k], a, start - a, done + latency, n_cores,
                     counts, stats, out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, n)
            n += 1
            continue
        pending_f[m, _EMIT] = emit[k]
        pending_f[m, OUT] = done + latency
        pending_f[m, _ARRIVAL] = a
        pending_f[m, _WAIT] = start - a
        pending_i[m, 0] = event[k]
        pending_i[m, 1] = source[k]
        pending_i[m, 2] = tag[k]
        pending_i[m, 3] = chip[k]
        pending_i[m, 4] = core[k]
        m += 1
    n_pending[0] = m
    made[0] = n
    for q in range(1, n):
        if out_arrival[q] < out_arrival[q - 1]:  # not in delivery order: sort (stable: ties keep arrival order)
            order = stable_argsort(out_arrival[:n])
            ints = np.empty(n, dtype=np.int64)
            for column in (out_event, out_source, out_tag, out_chip, out_core):
                _permute(column, order, ints)
            floats = np.empty(n)
            for column in (out_emit, out_arrival):
                _permute(column, order, floats)
            break
    return n_rows


@numba.njit(cache=True, inline="always")
def _permute(column, order, work):
    """Reorder ``column[:n]`` in place to ``column[order]`` (``n = order.size``) through ``work``.

    Element loops: a fancy-index copy (``column[:n] = column[:n][order]``) compiles numba's array
    indexing code, about 2 CPU-s on a cold start.
    """
    n = order.shape[0]
    for q in range(n):
        work[q] = column[order[q]]
    for q in range(n):
        column[q] = work[q]


@numba.njit(cache=True)
def count_free(n_rows, tag, chip, core, n_cores, counts, stats, matches, match_meta):
    """Count router deliveries ``0:n_rows`` through cost-free broadcast stages.

    With a zero service time and latency, nothing pending and every copy before the horizon,
    :func:`broadcast` delivers each copy at its arrival, in the same order, without wait: the copies
    are its input rows unchanged, and only the counters and statistics move (sojourn and wait 0).

    Parameters
    ----------
    n_rows : int
        Copies (router deliveries) to count.
    tag, chip, core : ndarray of int64, shape (>= n_rows,)
        Their tags and destination chips and cores.
    n_cores : int
        Cores per chip.
    counts, stats : ndarray
        The stages' counters and statistics (:func:`stage_arrays`), updated in place.
    matches, match_meta : ndarray of int64
        CAM matches per (destination core, tag), as in :func:`broadcast`.
    """
    period, n_tags = match_meta[0], match_meta[1]
    for k in range(n_rows):
        link = chip[k] * n_cores + core[k]
        counts[link, ACCEPTED] += 1
        counts[link, DELIVERED] += 1
        if period > 0:
            counts[link, MATCHED] += matches[(((chip[k] % period) * n_cores) + core[k]) * n_tags + tag[k]]
        for column in (2, 5):  # maxima of the sojourn and the wait, both 0
            if stats[link, column] < 0.0:
                stats[link, column] = 0.0


@numba.njit(cache=True, inline="always")
def _deliver(event, source, tag, chip, core, emit, arrival, wait, time, n_cores, counts, stats, out_event, out_source,
             out_tag, out_chip, out_core, out_emit, out_arrival, n):
    """Write one copy delivered to its core's synapses at ``time`` to row ``n`` and count it."""
    link = chip * n_cores + core
    counts[link, DELIVERED] += 1
    accumulate(stats, link, 0, time - arrival)
    accumulate(stats, link, 3, wait)
    put_delivery(out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, n, event, source, tag, chip,
                 core, emit, time)
