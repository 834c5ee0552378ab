"""Asynchronous AER router: per-core encoders, on-chip routers and an inter-chip mesh.

Model
-----
Every *link* (one router resource) is a single FIFO server with

* a constant **service time** ``s`` (s per event; ``1/s`` is its throughput),
* a **latency** ``L`` (s): the time from the end of service to the arrival at the next stage,
* a **FIFO depth** ``K``: the number of events the link holds, *counting the events waiting
  and the one in service*,
* a **policy** for an event that finds the link full (``K`` events in it):

  - ``drop``: the event is lost and counted (``dropped``);
  - ``stall``: back-pressure. The event waits upstream (in the sender's output handshake, or at
    the neuron for the core encoder) until a slot frees, and is never lost. The upstream server
    is *not* held while it waits (sender with an output register; no head-of-line blocking).

Events are served in order of arrival (FIFO). An event arriving at time ``a_i`` starts service at
``max(a_i, d_{i-1})`` and departs at

.. math:: d_i = \\max(a_i, d_{i-1}) + s,

and reaches the next stage at ``d_i + L``. With ``drop`` it is accepted only if fewer than ``K``
accepted events are still in the link, i.e. if ``d_{j-K} <= a_i`` where ``j`` counts accepted
events (an event departing exactly at ``a_i`` has left). With ``stall`` the event enters at
``max(a_i, d_{i-K})``; since ``d_{i-K} <= d_{i-1}`` its departure is the same as with an unbounded
FIFO: back-pressure delays the hand-over, not the service. The queueing delay (wait) of an event
at a link is ``start - a_i``; its sojourn (the per-link latency statistic) is ``d_i + L - a_i``.

Path of an event from core ``c`` of chip ``S`` to chip ``D`` with core mask ``m``:

1. the source core's encoder/arbiter (level ``core``, one link per core);
2. the on-chip router of ``S`` (level ``chip``, one link per chip);
3. if ``D != S``: mesh hops with dimension-order routing (first x, then y), one link per
   (chip, direction) (level ``mesh``, the cost of one hop), then the on-chip router of ``D``
   (the same link as chip ``D``'s own outgoing traffic: one router per chip);
4. fan-out: the destination chip router serves the event **once** and broadcasts it to every core
   of the mask in parallel; each of those cores receives it at ``d + L_chip``. Fan-out costs no
   extra service per core.

Queueing is simulated exactly by a discrete-event loop in global time order (compiled with
numba): the source events (sorted by emission time) and a binary heap of events in transit are
merged, so every link sees its arrivals in non-decreasing time order even where streams from
several links meet (e.g. several mesh links feeding one chip router). Because every hand-over is
scheduled at ``d + L >= a``, processing in global time order is causal; ties are broken by the
order in which events were scheduled (events in transit before new source events), which makes
the result independent of how the input is split into calls. Level-by-level passes would not be
exact here: a chip router carries both its chip's outgoing and its incoming traffic, so the link
graph has cycles (router A -> mesh -> router B -> mesh -> router A). When the event just served
is itself the next happening, it is handed over directly without a heap round trip (same order).

Bookkeeping of ``stall``: an event waiting upstream for a full link is counted in that link's
``in_flight`` (and ``stalled``) from its arrival on, so a stall link's ``in_flight`` can exceed
``fifo_depth``; its wait includes the time spent blocked upstream.

Incremental use: :meth:`Router.feed` processes everything that happens before ``until`` and keeps
the rest (busy-until times, FIFO contents, events in transit, not yet emitted inputs) for the next
call. After every call ``emitted = delivered + dropped + in_flight`` holds exactly, both for the
whole router and per link (``accepted = delivered + in_flight`` and ``offered = accepted +
dropped``, where a link's *delivered* events have reached the next stage).
"""

import dataclasses
import typing

import numba
import numpy as np

from mixsig.aer.events import MAX_HOP, Deliveries, EventBatch, empty_batch, validate_batch
from mixsig.errors import ConfigError, Problem
from mixsig.params import parameter

POLICIES = ("stall", "drop")
"""What a link does with an event that finds its FIFO full."""

LEVELS = ("core", "chip", "mesh")
"""Router levels: per-core encoder/arbiter, on-chip router, inter-chip mesh hop."""

CORE, CHIP, MESH = 0, 1, 2
"""Link kinds (index into :data:`LEVELS`)."""

DIRECTIONS = ("+x", "-x", "+y", "-y")
"""Mesh link directions, in link order."""


@dataclasses.dataclass(frozen=True)
class LinkParams:
    """Timing and buffering of one router level (every link of the level shares them).

    Parameters
    ----------
    latency : float
        Time from the end of service to the arrival at the next stage, s (>= 0).
    service_time : float
        Time the link is busy per event, s (>= 0); the throughput is ``1/service_time``.
    fifo_depth : int
        Events the link holds, waiting plus in service (1 <= fifo_depth <= 65536).
    policy : {"stall", "drop"}
        ``stall``: an event finding the FIFO full waits upstream (never lost); ``drop``: it is
        lost and counted.
    """

    latency: float = parameter(0.0, "s", "link latency after service")
    service_time: float = parameter(0.0, "s", "service time per event (inverse throughput)")
    fifo_depth: int = parameter(16, "1", "FIFO depth, events waiting plus in service")
    policy: str = parameter("stall", "1", "policy for an event finding the FIFO full (stall or drop)")

    def __post_init__(self):
        problems = []
        for name in ("latency", "service_time"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value) or value < 0:
                problems.append(Problem("<LinkParams>", name, value, "a finite time >= 0 s"))
        depth = self.fifo_depth
        if not isinstance(depth, (int, np.integer)) or isinstance(depth, bool) or not 1 <= depth <= 65536:
            problems.append(Problem("<LinkParams>", "fifo_depth", depth, "an integer in [1, 65536]"))
        if self.policy not in POLICIES:
            problems.append(Problem("<LinkParams>", "policy", self.policy, f"one of {list(POLICIES)}"))
        if problems:
            raise ConfigError(problems, "router link parameters")


DEFAULT_LEVELS = {
    "core": LinkParams(latency=10e-9, service_time=20e-9, fifo_depth=16, policy="stall"),
    "chip": LinkParams(latency=20e-9, service_time=20e-9, fifo_depth=16, policy="stall"),
    "mesh": LinkParams(latency=100e-9, service_time=40e-9, fifo_depth=16, policy="stall"),
}
"""PLACEHOLDER router timings: the DYNAP-SE/SE2 per-level figures were not available
(physics reference, section 4). Chip configs should provide measured values."""


class LinkStats(typing.NamedTuple):
    """Cumulative per-link counters and statistics, one entry per link.

    Attributes
    ----------
    kind : ndarray of str, shape (n_links,)
        Level of the link (``core``, ``chip`` or ``mesh``).
    chip : ndarray of int64
        Chip the link belongs to (for mesh links: the chip it leaves).
    index : ndarray of int64
        Core (``core`` links), 0 (``chip``) or direction index into :data:`DIRECTIONS` (``mesh``).
    offered, accepted, delivered, dropped, in_flight, stalled : ndarray of int64
        Events that reached the link; that it accepted; that it handed to the next stage; that
        it lost (``drop``); that it holds or has in its wire; that found it full (``stall``).
    latency_count, latency_sum, latency_sumsq, latency_max : ndarray
        Sojourn ``d + L - a`` of the delivered events: count, sum (s), sum of squares (s^2),
        max (s; -inf when none). Sums combine across calls and routers by addition.
    wait_count, wait_sum, wait_sumsq, wait_max : ndarray
        Queueing delay ``start - a`` of the delivered events, same layout.
    """

    kind: np.ndarray
    chip: np.ndarray
    index: np.ndarray
    offered: np.ndarray
    accepted: np.ndarray
    delivered: np.ndarray
    dropped: np.ndarray
    in_flight: np.ndarray
    stalled: np.ndarray
    latency_count: np.ndarray
    latency_sum: np.ndarray
    latency_sumsq: np.ndarray
    latency_max: np.ndarray
    wait_count: np.ndarray
    wait_sum: np.ndarray
    wait_sumsq: np.ndarray
    wait_max: np.ndarray

    @property
    def latency_mean(self):
        """Mean sojourn per link, s (nan where nothing was delivered)."""
        return _mean(self.latency_sum, self.latency_count)

    @property
    def wait_mean(self):
        """Mean queueing delay per link, s (nan where nothing was delivered)."""
        return _mean(self.wait_sum, self.wait_count)

    @property
    def latency_std(self):
        """Standard deviation of the sojourn per link, s."""
        mean = self.latency_mean
        return np.sqrt(np.maximum(_mean(self.latency_sumsq, self.latency_count) - mean**2, 0.0))


LINK_STAT_ATTRIBUTES = {
    "offered": ("1", "events that reached the link"),
    "accepted": ("1", "events the link accepted"),
    "delivered": ("1", "events the link handed to the next stage"),
    "dropped": ("1", "events lost at the full FIFO of a drop link"),
    "in_flight": ("1", "events accepted by the link and not yet handed over"),
    "stalled": ("1", "events that found the FIFO of a stall link full and waited upstream"),
    "latency_count": ("1", "number of link sojourns in the latency statistics"),
    "latency_sum": ("s", "sum of link sojourns (arrival to next-stage arrival)"),
    "latency_sumsq": ("s2", "sum of squared link sojourns"),
    "latency_max": ("s", "largest link sojourn"),
    "wait_count": ("1", "number of queueing delays in the wait statistics"),
    "wait_sum": ("s", "sum of queueing delays (arrival to start of service)"),
    "wait_sumsq": ("s2", "sum of squared queueing delays"),
    "wait_max": ("s", "largest queueing delay"),
}
"""``(units, long_name)`` of the numeric :class:`LinkStats` fields, for dataset attributes."""


def _mean(total, count):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class HopTrace(typing.NamedTuple):
    """One row per (event, link) service, in processing order (``Router(trace=True)``).

    Attributes
    ----------
    event, link : ndarray of int64
    arrival, start, departure : ndarray of float64
        Arrival at the link, start of service, end of service, s.
    """

    event: np.ndarray
    link: np.ndarray
    arrival: np.ndarray
    start: np.ndarray
    departure: np.ndarray


# ---------------------------------------------------------------------------------------------
# compiled kernels

# link_f columns
_SERVICE, _LATENCY = 0, 1
# link_i columns
_KIND, _CHIP, _INDEX, _DEPTH, _DROP, _RING_OFFSET, _RING_POS = range(7)
# counts columns
# (offered = accepted + dropped, in_flight = accepted - delivered, statistic counts = delivered)
_ACCEPTED, _DELIVERED, _DROPPED, _STALLED = range(4)
# slot_f / slot_i columns
_EMIT, _ARRIVAL, _WAIT = 0, 1, 2
_EVENT, _SOURCE, _TAG, _DST, _MASK, _LINK = range(6)
# scal entries
_HEAP_SIZE, _SEQ, _FREE_TOP, _N_OUT, _N_TRACE, _TRACE_ON, _N_DELIVERED, _N_DROPPED = range(8)


@numba.njit(cache=True, inline="always")
def _serve(link, t, link_f, link_i, ring, busy):
    """Offer one event arriving at time ``t`` to ``link``.

    Returns ``(start, departure, status)`` with status 0 accepted, 1 accepted after waiting for a
    slot (``stall``), 2 dropped (``drop``; start and departure are then meaningless).
    """
    depth = link_i[link, _DEPTH]
    slot = link_i[link, _RING_OFFSET] + link_i[link, _RING_POS]
    status = 0
    if ring[slot] > t:  # the K-th most recent accepted event has not left yet: FIFO full
        if link_i[link, _DROP] == 1:
            return t, t, 2
        status = 1
    start = max(t, busy[link])
    departure = start + link_f[link, _SERVICE]
    busy[link] = departure
    ring[slot] = departure
    position = link_i[link, _RING_POS] + 1
    link_i[link, _RING_POS] = 0 if position == depth else position
    return start, departure, status


@numba.njit(cache=True, inline="always")
def _accumulate(stats, link, column, value):
    """Add ``value`` to the (sum, sum of squares, max) block starting at ``column``."""
    stats[link, column] += value
    stats[link, column + 1] += value * value
    if value > stats[link, column + 2]:
        stats[link, column + 2] = value


@numba.njit(cache=True, inline="always")
def _before(t1, s1, t2, s2):
    return t1 < t2 or (t1 == t2 and s1 < s2)


@numba.njit(cache=True, inline="always")
def _heap_push(heap_t, heap_seq, heap_slot, size, t, seq, slot):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if _before(t, seq, heap_t[parent], heap_seq[parent]):
            heap_t[i] = heap_t[parent]
            heap_seq[i] = heap_seq[parent]
            heap_slot[i] = heap_slot[parent]
            i = parent
        else:
            break
    heap_t[i] = t
    heap_seq[i] = seq
    heap_slot[i] = slot


@numba.njit(cache=True, inline="always")
def _heap_pop(heap_t, heap_seq, heap_slot, size):
    """Remove the root of a heap of ``size`` items (the caller reads it first)."""
    size -= 1
    t = heap_t[size]
    seq = heap_seq[size]
    slot = heap_slot[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(heap_t[child + 1], heap_seq[child + 1], heap_t[child], heap_seq[child]):
            child += 1
        if _before(heap_t[child], heap_seq[child], t, seq):
            heap_t[i] = heap_t[child]
            heap_seq[i] = heap_seq[child]
            heap_slot[i] = heap_slot[child]
            i = child
        else:
            break
    if size > 0:
        heap_t[i] = t
        heap_seq[i] = seq
        heap_slot[i] = slot


@numba.njit(cache=True)
def _route(until, in_time, in_event, in_source, in_src_chip, in_src_core, in_dst, in_mask, in_tag,
           nx, n_cores, link_f, link_i, ring, busy, counts, stats,
           slot_f, slot_i, free, heap_t, heap_seq, heap_slot, scal,
           out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, trace_i, trace_f):
    """Run the discrete-event loop over every happening before ``until``; return inputs consumed."""
    n_in = in_time.shape[0]
    n_chips = link_i.shape[0] // (n_cores + 5)
    chip_base = n_chips * n_cores
    mesh_base = chip_base + n_chips
    trace_on = scal[_TRACE_ON] == 1
    size = scal[_HEAP_SIZE]
    seq = scal[_SEQ]
    free_top = scal[_FREE_TOP]
    n_out = scal[_N_OUT]
    n_trace = scal[_N_TRACE]
    n_delivered = scal[_N_DELIVERED]
    n_dropped = scal[_N_DROPPED]
    i = 0
    carry = False  # the event just served is the next happening: hand it over without the heap
    t = 0.0
    slot = 0
    while True:
        from_heap = carry or (size > 0 and (i >= n_in or heap_t[0] <= in_time[i]))
        if from_heap:
            if not carry:
                t = heap_t[0]
                if t >= until:
                    break
                slot = heap_slot[0]
                _heap_pop(heap_t, heap_seq, heap_slot, size)
                size -= 1
            carry = False
            previous = slot_i[slot, _LINK]
            counts[previous, _DELIVERED] += 1
            _accumulate(stats, previous, 0, t - slot_f[slot, _ARRIVAL])
            _accumulate(stats, previous, 3, slot_f[slot, _WAIT])
            kind = link_i[previous, _KIND]
            chip = link_i[previous, _CHIP]
            dst = slot_i[slot, _DST]
            if kind == CHIP and chip == dst:  # fan-out to the cores of the mask
                mask = slot_i[slot, _MASK]
                for core in range(n_cores):
                    if (mask >> core) & 1:
                        out_event[n_out] = slot_i[slot, _EVENT]
                        out_source[n_out] = slot_i[slot, _SOURCE]
                        out_tag[n_out] = slot_i[slot, _TAG]
                        out_chip[n_out] = dst
                        out_core[n_out] = core
                        out_emit[n_out] = slot_f[slot, _EMIT]
                        out_arrival[n_out] = t
                        n_out += 1
                n_delivered += 1
                free[free_top] = slot
                free_top += 1
                continue
            if kind == MESH:
                direction = link_i[previous, _INDEX]
                if direction == 0:
                    chip += 1
                elif direction == 1:
                    chip -= 1
                elif direction == 2:
                    chip += nx
                else:
                    chip -= nx
            if kind == CORE or chip == dst:
                link = chip_base + chip
            else:  # dimension-order routing: x first, then y
                x, y = chip % nx, chip // nx
                tx, ty = dst % nx, dst // nx
                if x < tx:
                    direction = 0
                elif x > tx:
                    direction = 1
                elif y < ty:
                    direction = 2
                else:
                    direction = 3
                link = mesh_base + 4 * chip + direction
        else:
            if i >= n_in:
                break
            t = in_time[i]
            if t >= until or free_top == 0:  # horizon reached, or no free slot: caller grows
                break
            free_top -= 1
            slot = free[free_top]
            slot_f[slot, _EMIT] = t
            slot_i[slot, _EVENT] = in_event[i]
            slot_i[slot, _SOURCE] = in_source[i]
            slot_i[slot, _TAG] = in_tag[i]
            slot_i[slot, _DST] = in_dst[i]
            slot_i[slot, _MASK] = in_mask[i]
            link = in_src_chip[i] * n_cores + in_src_core[i]
            i += 1
        start, departure, status = _serve(link, t, link_f, link_i, ring, busy)
        if status == 2:
            counts[link, _DROPPED] += 1
            n_dropped += 1
            free[free_top] = slot
            free_top += 1
            continue
        if status == 1:
            counts[link, _STALLED] += 1
        counts[link, _ACCEPTED] += 1
        slot_f[slot, _ARRIVAL] = t
        slot_f[slot, _WAIT] = start - t
        slot_i[slot, _LINK] = link
        if trace_on:
            trace_i[n_trace, 0] = slot_i[slot, _EVENT]
            trace_i[n_trace, 1] = link
            trace_f[n_trace, 0] = t
            trace_f[n_trace, 1] = start
            trace_f[n_trace, 2] = departure
            n_trace += 1
        t_next = departure + link_f[link, _LATENCY]
        seq += 1
        if (t_next < until and (size == 0 or t_next < heap_t[0])
                and (i >= n_in or t_next <= in_time[i])):
            t = t_next  # it would be popped next anyway (heap items first on equal times)
            carry = True
        else:
            _heap_push(heap_t, heap_seq, heap_slot, size, t_next, seq - 1, slot)
            size += 1
    scal[_HEAP_SIZE] = size
    scal[_SEQ] = seq
    scal[_FREE_TOP] = free_top
    scal[_N_OUT] = n_out
    scal[_N_TRACE] = n_trace
    scal[_N_DELIVERED] = n_delivered
    scal[_N_DROPPED] = n_dropped
    return i


@numba.njit(cache=True)
def _single_link(arrival, link_f, link_i, ring, busy, start, departure, status):
    for k in range(arrival.shape[0]):
        start[k], departure[k], status[k] = _serve(0, arrival[k], link_f, link_i, ring, busy)


# ---------------------------------------------------------------------------------------------
# Python interface


def _link_tables(levels_by_link, kinds, chips, indices):
    """Per-link parameter arrays and an empty FIFO ring for links with the given levels."""
    n = len(levels_by_link)
    link_f = np.array([[p.service_time, p.latency] for p in levels_by_link], dtype=np.float64).reshape(n, 2)
    depth = np.array([p.fifo_depth for p in levels_by_link], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(depth)[:-1]]).astype(np.int64)
    link_i = np.zeros((n, 7), dtype=np.int64)
    link_i[:, _KIND] = kinds
    link_i[:, _CHIP] = chips
    link_i[:, _INDEX] = indices
    link_i[:, _DEPTH] = depth
    link_i[:, _DROP] = [p.policy == "drop" for p in levels_by_link]
    link_i[:, _RING_OFFSET] = offsets
    ring = np.full(int(depth.sum()), -np.inf)
    busy = np.full(n, -np.inf)
    return link_f, link_i, ring, busy


def fifo_departures(arrival, link):
    """Serve a sorted arrival sequence by one link (the single-link recurrence of the router).

    Parameters
    ----------
    arrival : array_like of float, shape (n,)
        Arrival times, s, non-decreasing.
    link : LinkParams

    Returns
    -------
    start, departure : ndarray of float64, shape (n,)
        Start and end of service, s (meaningless where ``dropped``).
    dropped : ndarray of bool, shape (n,)
        Events lost because the FIFO was full (``drop`` policy only).
    """
    arrival = np.ascontiguousarray(arrival, dtype=np.float64)
    if arrival.size > 1 and np.any(np.diff(arrival) < 0):
        raise ValueError("fifo_departures needs non-decreasing arrival times")
    link_f, link_i, ring, busy = _link_tables([link], [CORE], [0], [0])
    start = np.empty_like(arrival)
    departure = np.empty_like(arrival)
    status = np.empty(arrival.shape, dtype=np.int64)
    _single_link(arrival, link_f, link_i, ring, busy, start, departure, status)
    return start, departure, status == 2


class Router:
    """The AER router of an ``nx`` x ``ny`` board of chips with ``n_cores`` cores each.

    Links are numbered: core encoders ``chip * n_cores + core``; chip routers
    ``n_chips * n_cores + chip``; mesh links ``n_chips * (n_cores + 1) + 4 * chip + d`` with
    ``d`` indexing :data:`DIRECTIONS` (mesh links leaving the board exist but carry nothing).

    Parameters
    ----------
    nx, ny : int
        Board shape in chips (chip index ``y * nx + x``).
    n_cores : int
        Cores per chip.
    levels : mapping of str to LinkParams, optional
        Parameters of the levels ``core``, ``chip`` and ``mesh`` (missing levels take
        :data:`DEFAULT_LEVELS`, which are placeholders).
    max_hop : int
        Largest ``|dx|``, ``|dy|`` of a destination (7 on DYNAP-SE2).
    trace : bool
        Record every (event, link) service in :meth:`hops` (for tests and debugging).
    """

    def __init__(self, nx, ny, n_cores, levels=None, max_hop=MAX_HOP, trace=False):
        levels = dict(levels or {})
        unknown = sorted(set(levels) - set(LEVELS))
        if unknown:
            raise ConfigError([Problem("<router>", f"levels.{name}", levels[name], f"one of {list(LEVELS)}")
                               for name in unknown], "router levels")
        self.levels = {name: levels.get(name, DEFAULT_LEVELS[name]) for name in LEVELS}
        for name, value in self.levels.items():
            if not isinstance(value, LinkParams):
                raise TypeError(f"router level {name!r} must be a LinkParams, got {type(value).__name__}")
        self.nx, self.ny, self.n_cores, self.max_hop = int(nx), int(ny), int(n_cores), int(max_hop)
        if min(self.nx, self.ny, self.n_cores) < 1 or self.n_cores > 62:
            raise ValueError(f"invalid router geometry nx={nx}, ny={ny}, n_cores={n_cores}")
        n_chips = self.nx * self.ny
        self.n_chips = n_chips
        chips = np.arange(n_chips)
        kinds = np.concatenate([np.full(n_chips * self.n_cores, CORE), np.full(n_chips, CHIP), np.full(4 * n_chips, MESH)])
        link_chip = np.concatenate([np.repeat(chips, self.n_cores), chips, np.repeat(chips, 4)])
        index = np.concatenate([np.tile(np.arange(self.n_cores), n_chips), np.zeros(n_chips, int), np.tile(np.arange(4), n_chips)])
        per_link = [self.levels[LEVELS[k]] for k in kinds]
        self._link_f, self._link_i, self._ring, self._busy = _link_tables(per_link, kinds, link_chip, index)
        n_links = kinds.size
        self._counts = np.zeros((n_links, 4), dtype=np.int64)
        self._stats = np.zeros((n_links, 6))
        self._stats[:, 2] = -np.inf
        self._stats[:, 5] = -np.inf
        self._scal = np.zeros(8, dtype=np.int64)
        self._scal[_TRACE_ON] = int(bool(trace))
        self._capacity = 0
        self._slot_f = np.zeros((0, 3))
        self._slot_i = np.zeros((0, 6), dtype=np.int64)
        self._free = np.zeros(0, dtype=np.int64)
        self._heap_t = np.zeros(0)
        self._heap_seq = np.zeros(0, dtype=np.int64)
        self._heap_slot = np.zeros(0, dtype=np.int64)
        self._pending = empty_batch()
        self._pending_event = np.zeros(0, dtype=np.int64)
        self._emitted = 0
        self._until = -np.inf
        self._hops = []

    @classmethod
    def from_board(cls, board, levels=None, trace=False):
        """A router for a board object with ``nx``, ``ny`` and ``chip`` (``n_cores``, ``max_hop``,
        ``router`` levels with ``link_params()``), as built by ``mixsig.chip``.

        Parameters
        ----------
        board : mixsig.chip.topology.Board
        levels : mapping of str to LinkParams, optional
            Overrides the chip config's router levels.
        trace : bool
        """
        chip = board.chip
        chosen = {name: level.link_params() for name, level in getattr(chip, "router", {}).items()}
        chosen.update(levels or {})
        return cls(board.nx, board.ny, chip.n_cores, chosen, max_hop=chip.max_hop, trace=trace)

    # -- geometry ------------------------------------------------------------------------------

    @property
    def n_links(self):
        """Number of links."""
        return self._link_i.shape[0]

    def link_id(self, level, chip, index=0):
        """Link number of core ``index`` (``core``), of the router (``chip``) or of direction
        ``index`` (``mesh``, an index or one of :data:`DIRECTIONS`) of chip ``chip``."""
        if level == "core":
            return chip * self.n_cores + index
        if level == "chip":
            return self.n_chips * self.n_cores + chip
        if level == "mesh":
            direction = DIRECTIONS.index(index) if isinstance(index, str) else index
            return self.n_chips * (self.n_cores + 1) + 4 * chip + direction
        raise ValueError(f"level {level!r}: expected one of {list(LEVELS)}")

    # -- counters ------------------------------------------------------------------------------

    @property
    def emitted(self):
        """Events fed so far."""
        return self._emitted

    @property
    def delivered(self):
        """Events that reached their destination chip's cores (each counted once, not per core)."""
        return int(self._scal[_N_DELIVERED])

    @property
    def dropped(self):
        """Events lost at a full ``drop`` link."""
        return int(self._scal[_N_DROPPED])

    @property
    def in_flight(self):
        """Events fed but neither delivered nor dropped: not yet emitted (time >= the last
        ``until``) or inside the router."""
        return int(self._scal[_HEAP_SIZE]) + self._pending.size

    def in_flight_events(self):
        """Event numbers of the events in flight (inside the router, then not yet emitted).

        Returns
        -------
        ndarray of int64, shape (in_flight,)
        """
        inside = self._slot_i[self._heap_slot[:int(self._scal[_HEAP_SIZE])], _EVENT]
        return np.concatenate([np.sort(inside), self._pending_event])

    def link_stats(self):
        """Cumulative per-link counters and latency statistics.

        Returns
        -------
        LinkStats
        """
        accepted, delivered, dropped, stalled = (self._counts[:, k].copy() for k in range(4))
        s = self._stats
        return LinkStats(np.array(LEVELS)[self._link_i[:, _KIND]], self._link_i[:, _CHIP].copy(),
                         self._link_i[:, _INDEX].copy(), accepted + dropped, accepted, delivered, dropped,
                         accepted - delivered, stalled, delivered.copy(), s[:, 0].copy(), s[:, 1].copy(),
                         s[:, 2].copy(), delivered.copy(), s[:, 3].copy(), s[:, 4].copy(), s[:, 5].copy())

    def hops(self):
        """Every (event, link) service so far, in processing order (needs ``trace=True``).

        Returns
        -------
        HopTrace
        """
        if not self._scal[_TRACE_ON]:
            raise RuntimeError("Router was created with trace=False")
        parts = self._hops or [(np.zeros((0, 2), np.int64), np.zeros((0, 3)))]
        ti = np.concatenate([p[0] for p in parts])
        tf = np.concatenate([p[1] for p in parts])
        return HopTrace(ti[:, 0], ti[:, 1], tf[:, 0], tf[:, 1], tf[:, 2])

    # -- routing -------------------------------------------------------------------------------

    def _ensure_capacity(self, needed):
        if needed <= self._capacity:
            return
        old, new = self._capacity, max(needed, 2 * self._capacity, 64)
        slot_f = np.zeros((new, 3))
        slot_f[:old] = self._slot_f
        slot_i = np.zeros((new, 6), dtype=np.int64)
        slot_i[:old] = self._slot_i
        top = int(self._scal[_FREE_TOP])
        free = np.zeros(new, dtype=np.int64)
        free[:top] = self._free[:top]
        free[top:top + new - old] = np.arange(old, new)
        self._scal[_FREE_TOP] = top + new - old
        heap = [np.zeros(new), np.zeros(new, np.int64), np.zeros(new, np.int64)]
        for target, source in zip(heap, (self._heap_t, self._heap_seq, self._heap_slot)):
            target[:old] = source
        self._heap_t, self._heap_seq, self._heap_slot = heap
        self._slot_f, self._slot_i, self._free, self._capacity = slot_f, slot_i, free, new

    def feed(self, events=None, until=np.inf):
        """Route ``events`` and everything still pending, up to (excluding) time ``until``.

        Parameters
        ----------
        events : EventBatch, optional
            New events (any order; sorted stably by time here). Their times must be
            ``>=`` the ``until`` of the previous call.
        until : float
            Horizon, s: every emission, hand-over and arrival at a time ``< until`` is
            processed; later ones stay in flight for the next call. ``inf`` drains the router.

        Returns
        -------
        Deliveries
            Deliveries with ``arrival_time < until`` made during this call, in arrival order.
        """
        events = empty_batch() if events is None else events
        if not isinstance(events, EventBatch):
            raise TypeError(f"events must be an EventBatch, got {type(events).__name__}")
        validate_batch(events, self.nx, self.ny, self.n_cores, self.max_hop)
        if events.size and events.time.min() < self._until:
            raise ConfigError([Problem("<events>", "time", float(events.time.min()),
                                       f"times >= {self._until!r} s (the previous call's until)")], "event batch")
        if np.isnan(until):
            raise ValueError("until must be a time in s or inf, got nan")
        if until < self._until:
            raise ValueError(f"until = {until!r} s is before the previous call's until = {self._until!r} s")
        event_ids = self._emitted + np.arange(events.size, dtype=np.int64)
        self._emitted += events.size
        if self._pending.size:
            merged = EventBatch.concatenate([self._pending, events])
            merged_ids = np.concatenate([self._pending_event, event_ids])
        else:
            merged, merged_ids = events, event_ids
        if merged.size > 1 and np.any(merged.time[1:] < merged.time[:-1]):
            order = np.argsort(merged.time, kind="stable")
            merged, merged_ids = merged.take(order), merged_ids[order]

        in_transit = int(self._scal[_HEAP_SIZE])
        self._ensure_capacity(in_transit + min(merged.size, 65536) + 1)
        n_out = int(np.bitwise_count(merged.core_mask.astype(np.uint64)).sum()) + self.n_cores * in_transit
        out = [np.empty(n_out, dtype=np.int64) for _ in range(5)] + [np.empty(n_out) for _ in range(2)]
        trace_on = bool(self._scal[_TRACE_ON])
        max_services = 3 + (self.nx - 1) + (self.ny - 1)
        n_trace = max_services * (in_transit + merged.size) if trace_on else 0
        trace_i = np.zeros((n_trace, 2), dtype=np.int64)
        trace_f = np.zeros((n_trace, 3))
        self._scal[_N_OUT] = 0
        self._scal[_N_TRACE] = 0
        consumed = 0
        while True:
            rest = slice(consumed, None)
            consumed += _route(float(until), merged.time[rest], merged_ids[rest], merged.source[rest],
                               merged.src_chip[rest], merged.src_core[rest], merged.dst_chip[rest],
                               merged.core_mask[rest], merged.tag[rest], self.nx, self.n_cores,
                               self._link_f, self._link_i, self._ring, self._busy, self._counts, self._stats,
                               self._slot_f, self._slot_i, self._free, self._heap_t, self._heap_seq,
                               self._heap_slot, self._scal, *out, trace_i, trace_f)
            if consumed == merged.size or merged.time[consumed] >= until or self._scal[_FREE_TOP] > 0:
                break
            self._ensure_capacity(2 * self._capacity)  # every slot in use: grow and resume
        self._pending = EventBatch(*(field[consumed:].copy() for field in merged))
        self._pending_event = merged_ids[consumed:].copy()
        self._until = max(self._until, until)
        if trace_on:
            n_trace = int(self._scal[_N_TRACE])
            self._hops.append((trace_i[:n_trace].copy(), trace_f[:n_trace].copy()))
        made = int(self._scal[_N_OUT])
        return Deliveries(*(array if made == n_out else array[:made].copy() for array in out))

    def drain(self):
        """Route every pending event to completion (``feed(None, until=inf)``); afterwards the
        router accepts no further events."""
        return self.feed(None, np.inf)
