r"""Asynchronous AER router: per-core encoders, on-chip routers and an inter-chip mesh.

Model
-----
Every *link* (one router resource) is a single FIFO server with

* a constant **service time** ``s`` (s per event; ``1/s`` is its throughput),
* a **latency** ``L`` (s): the time from the end of service to the arrival at the next stage,
* a **FIFO depth** ``K``: the number of events the link holds, *counting the events waiting
  and the one in service*,
* a **policy** for an event that finds the link full (``K`` events hold a place in it):

  - ``drop``: the event is lost and counted (``dropped``) when it arrives at a full link;
  - ``stall``: back-pressure, blocking after service (a 4-phase handshake chain). A place is
    taken when the sender hands the event over (it then travels the sender's wire, latency
    ``L``, and waits for the server); when the link is full, the sender's server *holds* the
    event it has served and serves nothing else until a place frees, so blocking propagates
    back stage by stage to the core encoder, where the neuron's event waits (its wait at the
    encoder includes this delay). Nothing is lost. Two senders do not hold: the neuron (it waits
    at its encoder's input, in emission order) and a mesh hop, whose event waits at the
    destination chip router's input port without holding the hop: the chip router carries both
    its chip's outgoing and incoming traffic, and a mesh hop held by a full router would close a
    cycle of holds (router A -> mesh -> router B -> mesh -> router A) and deadlock; a physical
    router has separate input ports.

Each link serves its events in the order they took their places (FIFO): service starts at
``max(entry, previous hand-over)`` and ends ``s`` later; the event is handed over at the end of
service, or later if the next link is full (the *hold* time), and reaches the next stage ``L``
after the hand-over. Without holds this is the recurrence

.. math:: d_i = \max(a_i, d_{i-1}) + s

and with ``drop`` an event is accepted only if fewer than ``K`` accepted events are still in the
link (an event departing exactly at ``a_i`` has left). A waiting place is released in the order
the senders started waiting (fair, first come first served). The queueing delay (wait) of an
event at a link is ``start - a_i`` (``a_i``: its arrival at the link, or its emission for an
encoder); its sojourn (the per-link latency statistic) is ``hand-over + L - a_i``; its hold is
``hand-over - end of service``.

Path of an event from core ``c`` of chip ``S`` to chip ``D`` with core mask ``m``:

1. the source core's encoder/arbiter (level ``core``, one link per core);
2. the on-chip router of ``S`` (level ``chip``, one link per chip);
3. if ``D != S``: mesh hops with dimension-order routing (first x, then y), one link per
   (chip, direction) (level ``mesh``, the cost of one hop), then the on-chip router of ``D``
   (the same link as chip ``D``'s own outgoing traffic: one router per chip);
4. fan-out: the destination chip router serves the event **once** and sends it to every core of
   the mask in parallel; a copy reaches each of those cores at ``d + L_chip``, where it enters the
   core's **broadcast stage** (:mod:`mixsig.aer.broadcast`, level ``broadcast``): a serial CAM
   search per event with its own service time, latency and FIFO, which delivers the copy to the
   core's synapses. The deliveries of :meth:`Router.feed` are these copies.

Queueing is simulated exactly in global time order. Happenings (an emission, the end of a
service, an arrival at the next stage) are ordered by time; at equal times every end of service
comes before every arrival (an emission is an arrival at the encoder), and **ties by event number**
(the order in which events were fed): the result is independent of how the input is split into
calls. So, at one instant ``t``:

* an event leaving a link at ``t`` has left for an event arriving at ``t`` (as in the recurrence);
* a sender waiting for a place that frees at ``t``, having started to wait at ``t`` itself, did not
  stall: it is neither counted in ``stalled`` nor held (only the order in which the instant's
  happenings are processed made it wait, e.g. behind an event crossing a link in no time);
* a sender handing its event over at ``t`` takes its place before an event that arrives at ``t``
  from the mesh at the destination chip router, which waits if that was the last place.

Two compiled implementations give identical results (bit for bit):

* a **discrete-event loop** merging the source events (sorted by emission time) with a binary
  heap of happenings keyed by (time, event), with per-link FIFO queues and lists of waiting
  senders. It handles any traffic and every hold.
* a **link-by-link pass**, used for calls with many events (:data:`LINK_PASS_MIN_EVENTS`) when the
  links the call uses form an acyclic graph (e.g. feed-forward traffic between chips) and no
  hold can happen. Links are run to completion in topological order; a link's arrivals are the
  (time, event) merge of the output runs of its upstream links, each already in that order, and
  the link is the plain recurrence above. The pass declines (and leaves no trace) when the graph
  has a cycle; when a link's hand-overs are not in (time, event) order (equal times with a
  later-served smaller event number, possible only with zero or negligible service times); when
  a stall link might have been full when a sender handed over (conservatively: the ``K``-th most
  recent event still in it when the sender took its place, or leaving it at that instant after no
  service); or when the call starts with events queued, in service or held. The event loop then
  runs instead. An event handed over before the horizon holds its place at the next link even while
  it is still on the wire at the horizon, and that link counts it.

A call mixes them (the common chunked case, where traffic is still in service at every horizon):
the event loop runs until the first instant at which every event inside the router is on a wire;
the link pass takes over from there up to the horizon or, if an event would still be in service at
the horizon, up to a *cut*: the latest time before the horizon inside no link's service interval
(the services from the cut on are undone and nothing else is recorded for them); the event loop
finishes the call from the cut. Each piece starts from a state that a call ending at its start
would leave, so the results are those of the event loop alone, bit for bit. A call with an
infinite horizon (a drain) has no cut: the pass counts each hand-over as it happens instead of
recording it for the cut (a link's statistics add up in its service order either way).

Bookkeeping of ``stall``: an event waiting at the neuron or at a router's input port is counted
in that link's ``in_flight`` (and ``stalled``) from its arrival on; a held event stays in its
link's ``in_flight`` (the full link counts it as ``stalled``).

Energy bookkeeping: the broadcast stage counts every copy it accepts on its core (and, with
:meth:`Router.set_cam_matches`, the CAM matches it makes there: the synaptic events), for
:mod:`mixsig.aer.energy` (:meth:`Router.receptions`).

Incremental use: :meth:`Router.feed` processes everything that happens before ``until`` and keeps
the rest (busy-until times, FIFO contents, events in transit, not yet emitted inputs) for the next
call. After every call ``emitted = delivered + dropped + in_flight`` holds exactly, both for the
whole router (in events; *delivered*: fanned out to the destination cores' broadcast stages) and
per link (``accepted = delivered + in_flight`` and ``offered = accepted + dropped``, where a link's
*delivered* events have reached the next stage); per broadcast stage the same holds in copies
(:meth:`Router.broadcast_stats`).
"""

import dataclasses
import typing

import numba
import numpy as np

from mixsig.aer import arbiter as _arbiter
from mixsig.aer import broadcast as _broadcast
from mixsig.aer.events import (MAX_HOP, Deliveries, EventBatch, accumulate, empty_batch, put_delivery, unsorted,
                               validate_batch)
from mixsig.errors import ConfigError, Problem
from mixsig.params import parameter

POLICIES = ("stall", "drop")
"""What a link does with an event that finds its FIFO full."""

LEVELS = ("core", "chip", "mesh")
"""Router levels with links: per-core encoder/arbiter, on-chip router, inter-chip mesh hop."""

STAGES = LEVELS + ("broadcast",)
"""Every router level with parameters: the link levels and the destination-core broadcast stage."""

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
    arbiter : {"fifo", "tree", "round_robin"}
        Core level only: which waiting neuron a freed encoder FIFO place goes to
        (:mod:`mixsig.aer.arbiter`).
    arbitration_delay : float
        Core level only: delay per arbitration level, s (>= 0); every event's latency at its
        encoder grows by ``ceil(log2(neurons_per_core))`` times it.
    """

    latency: float = parameter(0.0, "s", "link latency after service")
    service_time: float = parameter(0.0, "s", "service time per event (inverse throughput)")
    fifo_depth: int = parameter(16, "1", "FIFO depth, events waiting plus in service")
    policy: str = parameter("stall", "1", "policy for an event finding the FIFO full (stall or drop)")
    arbiter: str = parameter("fifo", "1", "core encoder arbiter (fifo, tree or round_robin)")
    arbitration_delay: float = parameter(0.0, "s", "arbitration delay per level of the encoder's arbiter tree")

    def __post_init__(self):
        problems = []
        if self.arbiter not in _arbiter.ARBITERS:
            problems.append(Problem("<LinkParams>", "arbiter", self.arbiter, f"one of {list(_arbiter.ARBITERS)}"))
        delay = self.arbitration_delay
        if not isinstance(delay, (int, float, np.integer, np.floating)) or not np.isfinite(delay) or delay < 0:
            problems.append(Problem("<LinkParams>", "arbitration_delay", delay, "a finite time >= 0 s"))
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
    "broadcast": LinkParams(latency=0.0, service_time=0.0, fifo_depth=16, policy="stall"),
}
"""PLACEHOLDER router timings: the DYNAP-SE/SE2 per-level figures were not available
(physics reference, section 4). Chip configs should provide measured values. The default
broadcast stage costs nothing (every copy reaches its core's synapses when it reaches the core)."""


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
    hold_sum, hold_max : ndarray
        Time the link's server held an event after serving it because the next stage's FIFO was
        full (back-pressure), summed over the events it released (s) and largest (s; -inf when none).
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
    hold_sum: np.ndarray
    hold_max: np.ndarray

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
    "hold_sum": ("s", "sum of the times the server held a served event for a place in the full next FIFO"),
    "hold_max": ("s", "largest time the server held a served event for a place in the full next FIFO"),
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
# (_LAND: the chip an event is at after the link: the link's chip, or the neighbour for mesh links)
# (_OCC: events holding a FIFO place: accepted, or for stall links already handed over to it, and
# not yet handed on; _QHEAD/_QTAIL: events waiting for the server; _BHEAD/_BTAIL: senders waiting
# for a FIFO place of a full stall link; _SERVING: the event in service or held, -1 when idle)
_KIND, _CHIP, _INDEX, _DEPTH, _DROP, _RING_OFFSET, _RING_POS, _LAND = range(8)
_OCC, _QHEAD, _QTAIL, _BHEAD, _BTAIL, _SERVING = range(8, 14)
_LINK_INTS = 14
# counts columns
# (offered = accepted + dropped, in_flight = accepted - delivered, statistic counts = delivered;
# _FANNED is kept on the chip links: events the router fanned out to its own chip's cores)
_ACCEPTED, _DELIVERED, _DROPPED, _STALLED, _FANNED = range(5)
# slot_f / slot_i columns
# (_DONE: end of service at the current link; _NEXT: the next slot in a link's list; _PHASE: where
# the event is, one of the _P_* below)
_EMIT, _ARRIVAL, _WAIT, _DONE = 0, 1, 2, 3
_EVENT, _SOURCE, _TAG, _DST, _MASK, _LINK, _NEXT, _PHASE = range(8)
_SLOT_FLOATS, _SLOT_INTS = 4, 8
_P_WIRE, _P_SERVICE, _P_QUEUED, _P_HELD, _P_SOURCE = range(5)
_ARRIVING = 1 << 62
"""Added to the event number of an arrival (at the next stage, or a neuron's at its encoder) in the
heap key: at equal times every end of service comes first, so that an event leaving at an arrival
has left (as in the recurrence)."""
"""Phases: on the wire to the next stage (heap: the hand-over), in service (heap: its end), queued
for the server, held by the server after service (next stage full), waiting at the neuron for a
place in the core encoder's FIFO."""
# scal entries (_BUSY: links whose server is serving or holding an event)
_HEAP_SIZE, _BUSY, _FREE_TOP, _N_OUT, _N_TRACE, _TRACE_ON, _N_DELIVERED, _N_DROPPED = range(8)


_TO_CHIP = 4
"""Successor option: the chip router (after a core or mesh link) or the cores (after a chip router);
options 0-3 are the mesh directions of :data:`DIRECTIONS`."""


@numba.njit(cache=True, inline="always")
def _next_option(link, dst, nx, link_i):
    """Where an event for chip ``dst`` goes after ``link``: a mesh direction (0-3) or :data:`_TO_CHIP`."""
    kind = link_i[link, _KIND]
    if kind == CORE:
        return _TO_CHIP
    chip = link_i[link, _LAND]
    if chip == dst:
        return _TO_CHIP
    x, y = chip % nx, chip // nx  # dimension-order routing: x first, then y
    tx, ty = dst % nx, dst // nx
    if x < tx:
        return 0
    if x > tx:
        return 1
    if y < ty:
        return 2
    return 3


@numba.njit(cache=True, inline="always")
def _option_link(link, option, chip_base, mesh_base, link_i):
    """The link reached from ``link`` through successor ``option`` (-1: fan-out to the cores)."""
    if option == _TO_CHIP:
        if link_i[link, _KIND] == CHIP:
            return -1
        return chip_base + link_i[link, _LAND]
    return mesh_base + 4 * link_i[link, _LAND] + option


@numba.njit(cache=True, inline="always")
def _next_link(link, dst, nx, chip_base, mesh_base, link_i):
    """The link an event for chip ``dst`` enters after ``link`` (-1: fan-out to the cores)."""
    return _option_link(link, _next_option(link, dst, nx, link_i), chip_base, mesh_base, link_i)


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
def _before(t1, s1, t2, s2):
    return t1 < t2 or (t1 == t2 and s1 < s2)


@numba.njit(cache=True, inline="always")
def _heap_push(heap_t, heap_event, heap_slot, size, t, event, slot):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if _before(t, event, heap_t[parent], heap_event[parent]):
            heap_t[i] = heap_t[parent]
            heap_event[i] = heap_event[parent]
            heap_slot[i] = heap_slot[parent]
            i = parent
        else:
            break
    heap_t[i] = t
    heap_event[i] = event
    heap_slot[i] = slot


@numba.njit(cache=True, inline="always")
def _heap_pop(heap_t, heap_event, heap_slot, size):
    """Remove the root of a heap of ``size`` items (the caller reads it first)."""
    size -= 1
    t = heap_t[size]
    event = heap_event[size]
    slot = heap_slot[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(heap_t[child + 1], heap_event[child + 1], heap_t[child], heap_event[child]):
            child += 1
        if _before(heap_t[child], heap_event[child], t, event):
            heap_t[i] = heap_t[child]
            heap_event[i] = heap_event[child]
            heap_slot[i] = heap_slot[child]
            i = child
        else:
            break
    if size > 0:
        heap_t[i] = t
        heap_event[i] = event
        heap_slot[i] = slot


@numba.njit(cache=True, inline="always")
def _schedule(t, slot, slot_i, heap_t, heap_event, heap_slot, scal):
    """Put the next happening of ``slot`` (its phase says which) on the heap at time ``t``."""
    size = scal[_HEAP_SIZE]
    key = slot_i[slot, _EVENT] + (_ARRIVING if slot_i[slot, _PHASE] == _P_WIRE else 0)
    _heap_push(heap_t, heap_event, heap_slot, size, t, key, slot)
    scal[_HEAP_SIZE] = size + 1


@numba.njit(cache=True, inline="always")
def _append(link, slot, head, tail, link_i, slot_i):
    """Append ``slot`` to the list of ``link`` whose head and tail are columns ``head``, ``tail``."""
    slot_i[slot, _NEXT] = -1
    if link_i[link, head] < 0:
        link_i[link, head] = slot
    else:
        slot_i[link_i[link, tail], _NEXT] = slot
    link_i[link, tail] = slot


@numba.njit(cache=True, inline="always")
def _take(link, head, link_i, slot_i):
    """Remove and return the first slot of a list of ``link`` (-1: empty)."""
    slot = link_i[link, head]
    if slot >= 0:
        link_i[link, head] = slot_i[slot, _NEXT]
    return slot


@numba.njit(cache=True)
def _take_granted(link, link_i, slot_i, arbiter):
    """Remove and return the oldest waiting event of the neuron the arbiter of core encoder ``link``
    grants (-1: nobody waits)."""
    slot = link_i[link, _BHEAD]
    if slot < 0:
        return -1
    spec, counts, cells, last = arbiter
    leaf = _arbiter.grant(spec[0], counts, cells, last, link, spec[1])
    previous = -1
    while slot_i[slot, _SOURCE] % spec[2] != leaf:
        previous = slot
        slot = slot_i[slot, _NEXT]
    following = slot_i[slot, _NEXT]
    if previous < 0:
        link_i[link, _BHEAD] = following
    else:
        slot_i[previous, _NEXT] = following
    if following < 0:
        link_i[link, _BTAIL] = previous
    _arbiter.request(counts, link, leaf, spec[1], -1)
    return slot


@numba.njit(cache=True, inline="always")
def _start(link, slot, t, link_f, link_i, slot_f, slot_i, heap_t, heap_event, heap_slot, scal, trace_i, trace_f):
    """The server of ``link`` starts serving ``slot`` at ``t``; its service ends at ``t + s``."""
    link_i[link, _SERVING] = slot
    scal[_BUSY] += 1
    done = t + link_f[link, _SERVICE]
    slot_f[slot, _WAIT] = t - slot_f[slot, _ARRIVAL]
    slot_f[slot, _DONE] = done
    slot_i[slot, _PHASE] = _P_SERVICE
    if scal[_TRACE_ON] == 1:
        n = scal[_N_TRACE]
        trace_i[n, 0] = slot_i[slot, _EVENT]
        trace_i[n, 1] = link
        trace_f[n, 0] = slot_f[slot, _ARRIVAL]
        trace_f[n, 1] = t
        trace_f[n, 2] = done
        scal[_N_TRACE] = n + 1
    _schedule(done, slot, slot_i, heap_t, heap_event, heap_slot, scal)


@numba.njit(cache=True, inline="always")
def _enter(link, slot, t, link_f, link_i, slot_f, slot_i, heap_t, heap_event, heap_slot, scal, trace_i, trace_f):
    """``slot`` (arrival time already set) enters ``link`` at ``t``: served at once if the server
    is idle, else queued."""
    slot_i[slot, _LINK] = link
    if link_i[link, _SERVING] < 0:
        _start(link, slot, t, link_f, link_i, slot_f, slot_i, heap_t, heap_event, heap_slot, scal, trace_i, trace_f)
    else:
        slot_i[slot, _PHASE] = _P_QUEUED
        _append(link, slot, _QHEAD, _QTAIL, link_i, slot_i)


@numba.njit(cache=True, inline="always")
def _release(link, t, link_f, link_i, ring, busy, counts, stats, slot_f, slot_i, heap_t, heap_event, heap_slot,
             scal, arbiter, trace_i, trace_f):
    """The server of ``link`` hands its event over at ``t`` (the caller scheduled the hand-over).

    The freed server starts its next queued event; the freed FIFO slot goes to the first sender
    waiting for it (a neuron's event at a core encoder, chosen by the encoder's arbiter, or an
    upstream server holding its event), whose own server is then released in turn: blocking
    unwinds upstream in one instant. A sender that started waiting at ``t`` itself did not stall:
    the event leaving at ``t`` had left (the tie rule of the recurrence), only the order in which
    one instant's happenings are processed made it wait, so its stall is not counted.
    """
    while True:
        slot = link_i[link, _SERVING]
        accumulate(stats, link, 6, t - slot_f[slot, _DONE])  # time held by a full next stage
        link_i[link, _OCC] -= 1
        busy[link] = t
        position = link_i[link, _RING_POS]
        ring[link_i[link, _RING_OFFSET] + position] = t
        link_i[link, _RING_POS] = 0 if position + 1 == link_i[link, _DEPTH] else position + 1
        link_i[link, _SERVING] = -1
        scal[_BUSY] -= 1
        queued = _take(link, _QHEAD, link_i, slot_i)
        if queued >= 0:
            _start(link, queued, t, link_f, link_i, slot_f, slot_i, heap_t, heap_event, heap_slot, scal, trace_i,
                   trace_f)
        if arbiter[0][0] != _arbiter.FIFO and link_i[link, _KIND] == CORE:
            waiting = _take_granted(link, link_i, slot_i, arbiter)
        else:
            waiting = _take(link, _BHEAD, link_i, slot_i)
        if waiting < 0:
            return
        link_i[link, _OCC] += 1
        source = slot_i[waiting, _PHASE] == _P_SOURCE
        if slot_f[waiting, _ARRIVAL if source else _DONE] == t:  # waited for no time: no stall
            counts[link, _STALLED] -= 1
        if source:  # a neuron's event (or a mesh hop's) enters the link
            _enter(link, waiting, t, link_f, link_i, slot_f, slot_i, heap_t, heap_event, heap_slot, scal, trace_i,
                   trace_f)
            return
        upstream = slot_i[waiting, _LINK]  # an upstream server hands its held event over
        slot_i[waiting, _PHASE] = _P_WIRE
        _schedule(t + link_f[upstream, _LATENCY], waiting, slot_i, heap_t, heap_event, heap_slot, scal)
        link = upstream


@numba.njit(cache=True)
def _route(until, quiet, in_time, in_event, in_source, in_src_chip, in_src_core, in_dst, in_mask, in_tag,
           nx, n_cores, link_f, link_i, ring, busy, counts, stats,
           slot_f, slot_i, free, heap_t, heap_event, heap_slot, scal, arbiter,
           out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, trace_i, trace_f):
    """Run the discrete-event simulation over every happening before ``until``; return inputs consumed.

    Happenings, in (time, event) order: a neuron's event reaches its core encoder (input); an
    event ends its service at a link (phase ``_P_SERVICE``); an event reaches the next stage or
    the destination cores (phase ``_P_WIRE``). With ``quiet`` true the loop also stops, after at
    least one happening, before the first later instant at which every event inside the router is
    on a wire (no server busy, nobody waiting): the state is then that of a call ending at that
    instant, from which the link-by-link pass can take over.
    """
    n_in = in_time.shape[0]
    n_chips = link_i.shape[0] // (n_cores + 5)
    chip_base = n_chips * n_cores
    mesh_base = chip_base + n_chips
    n_out = scal[_N_OUT]
    i = 0
    last = np.inf  # time of the last happening processed (none yet)
    while True:
        size = scal[_HEAP_SIZE]
        if quiet and scal[_BUSY] == 0 and size == free.shape[0] - scal[_FREE_TOP]:
            upcoming = heap_t[0] if size > 0 else np.inf
            if i < n_in and in_time[i] < upcoming:
                upcoming = in_time[i]
            if last < upcoming < until:
                break
        if size > 0 and (i >= n_in or _before(heap_t[0], heap_event[0], in_time[i], in_event[i] + _ARRIVING)):
            t = heap_t[0]
            if t >= until:
                break
            last = t
            slot = heap_slot[0]
            _heap_pop(heap_t, heap_event, heap_slot, size)
            scal[_HEAP_SIZE] = size - 1
            link = slot_i[slot, _LINK]
            dst = slot_i[slot, _DST]
            following = _next_link(link, dst, nx, chip_base, mesh_base, link_i)
            if slot_i[slot, _PHASE] == _P_SERVICE:  # end of service at link
                if following >= 0 and link_i[following, _DROP] == 0 and link_i[link, _KIND] != MESH:
                    if link_i[following, _OCC] >= link_i[following, _DEPTH]:  # next FIFO full: hold
                        counts[following, _STALLED] += 1
                        slot_i[slot, _PHASE] = _P_HELD
                        _append(following, slot, _BHEAD, _BTAIL, link_i, slot_i)
                        continue
                    link_i[following, _OCC] += 1  # the slot is taken by the hand-over
                slot_i[slot, _PHASE] = _P_WIRE
                _schedule(t + link_f[link, _LATENCY], slot, slot_i, heap_t, heap_event, heap_slot, scal)
                _release(link, t, link_f, link_i, ring, busy, counts, stats, slot_f, slot_i, heap_t, heap_event,
                         heap_slot, scal, arbiter, trace_i, trace_f)
                continue
            counts[link, _DELIVERED] += 1  # hand-over: the event reaches the next stage
            accumulate(stats, link, 0, t - slot_f[slot, _ARRIVAL])
            accumulate(stats, link, 3, slot_f[slot, _WAIT])
            if following < 0:  # fan-out to the cores of the mask
                mask = slot_i[slot, _MASK]
                counts[link, _FANNED] += 1
                for core in range(n_cores):
                    if (mask >> core) & 1:
                        put_delivery(out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, n_out,
                                     slot_i[slot, _EVENT], slot_i[slot, _SOURCE], slot_i[slot, _TAG], dst, core,
                                     slot_f[slot, _EMIT], t)
                        n_out += 1
                scal[_N_DELIVERED] += 1
                top = scal[_FREE_TOP]
                free[top] = slot
                scal[_FREE_TOP] = top + 1
                continue
            outside = link_i[link, _KIND] == MESH  # from the mesh: waits at the router's input port
            link = following
        else:
            if i >= n_in:
                break
            t = in_time[i]
            if t >= until or scal[_FREE_TOP] == 0:  # horizon reached, or no free slot: caller grows
                break
            last = t
            top = scal[_FREE_TOP] - 1
            scal[_FREE_TOP] = top
            slot = free[top]
            slot_f[slot, _EMIT] = t
            slot_i[slot, _EVENT] = in_event[i]
            slot_i[slot, _SOURCE] = in_source[i]
            slot_i[slot, _TAG] = in_tag[i]
            slot_i[slot, _DST] = in_dst[i]
            slot_i[slot, _MASK] = in_mask[i]
            link = in_src_chip[i] * n_cores + in_src_core[i]
            i += 1
            outside = True  # the neuron waits for a place in its core encoder's FIFO
        # arrival at a link: a drop link takes the event if it holds fewer than fifo_depth events;
        # a stall link's place was taken when the sender handed the event over, except for an event
        # from the neuron or the mesh, which waits outside (holding no server) until a place frees
        if link_i[link, _DROP] == 1:
            if link_i[link, _OCC] >= link_i[link, _DEPTH]:
                counts[link, _DROPPED] += 1
                scal[_N_DROPPED] += 1
                top = scal[_FREE_TOP]
                free[top] = slot
                scal[_FREE_TOP] = top + 1
                continue
            link_i[link, _OCC] += 1
        elif outside:
            if link_i[link, _OCC] >= link_i[link, _DEPTH]:
                counts[link, _ACCEPTED] += 1
                counts[link, _STALLED] += 1
                slot_f[slot, _ARRIVAL] = t
                slot_i[slot, _LINK] = link
                slot_i[slot, _PHASE] = _P_SOURCE
                _append(link, slot, _BHEAD, _BTAIL, link_i, slot_i)
                if arbiter[0][0] != _arbiter.FIFO and link_i[link, _KIND] == CORE:  # the neuron requests
                    spec = arbiter[0]
                    _arbiter.request(arbiter[1], link, slot_i[slot, _SOURCE] % spec[2], spec[1], 1)
                continue
            link_i[link, _OCC] += 1
        counts[link, _ACCEPTED] += 1
        slot_f[slot, _ARRIVAL] = t
        _enter(link, slot, t, link_f, link_i, slot_f, slot_i, heap_t, heap_event, heap_slot, scal, trace_i, trace_f)
    scal[_N_OUT] = n_out
    return i


# -- link-by-link pass ---------------------------------------------------------------------------
#
# When the links a call uses form an acyclic graph, every link can be run to completion in
# topological order: a link's arrivals are then the merge of the (already time-ordered) output runs
# of its upstream links, and each link is the plain recurrence d_i = max(a_i, d_{i-1}) + s. This
# gives the global-time loop's results exactly as long as the global order is fixed by the times
# alone, i.e. no two events from *different* runs coincide where their order matters (at a merge,
# among the deliveries or among the events left in transit). Within one run the order is the
# upstream link's service order, which is also the global loop's tie-break. The pass checks those
# conditions and, if one fails (or the graph has a cycle), restores the links it touched and
# reports failure, so that the caller falls back to the global-time loop. Large scratch arrays are
# allocated by numpy in Python (which asks for huge pages: with 4 KiB pages the page faults of
# freshly allocated scratch cost more than the routing itself).


@numba.njit(cache=True)
def _plan_by_link(n_new, in_src_chip, in_src_core, in_dst, nx, n_cores, link_i, slot_i, heap_t, heap_event,
                  heap_slot, scal):
    """Paths, arrivals per link and a topological order of the links a call uses.

    Returns ``(acyclic, topo, n_arrivals, n_carried, carried_slot, carried_time)``: the links in
    topological order, per link the arrivals along the paths (an upper bound: drops and the horizon
    cut it) and the events in transit it holds, and the in-transit slots and hand-over times in
    global (time, event) order.
    """
    n_links = link_i.shape[0]
    n_chips = n_links // (n_cores + 5)
    chip_base = n_chips * n_cores
    mesh_base = chip_base + n_chips
    n_c = scal[_HEAP_SIZE]
    order = np.argsort(heap_event[:n_c])
    order = order[np.argsort(heap_t[:n_c][order], kind="mergesort")]
    carried_slot = heap_slot[:n_c][order]
    carried_time = heap_t[:n_c][order]
    n_arrivals = np.zeros(n_links, dtype=np.int64)
    n_carried = np.zeros(n_links, dtype=np.int64)
    options = np.zeros(n_links, dtype=np.int64)  # bit o: some event leaves through option o
    for j in range(n_c + n_new):
        if j < n_c:
            link = slot_i[carried_slot[j], _LINK]
            dst = slot_i[carried_slot[j], _DST]
            n_carried[link] += 1
        else:
            link = in_src_chip[j - n_c] * n_cores + in_src_core[j - n_c]
            dst = in_dst[j - n_c]
            n_arrivals[link] += 1
        while True:
            option = _next_option(link, dst, nx, link_i)
            options[link] |= 1 << option
            link = _option_link(link, option, chip_base, mesh_base, link_i)
            if link < 0:
                break
            n_arrivals[link] += 1
    touched = np.flatnonzero(options)
    indegree = np.zeros(n_links, dtype=np.int64)
    for u in touched:
        for option in range(5):
            if (options[u] >> option) & 1:
                v = _option_link(u, option, chip_base, mesh_base, link_i)
                if v >= 0:
                    indegree[v] += 1
    topo = np.empty(touched.shape[0], dtype=np.int64)
    head, tail = 0, 0
    for u in touched:
        if indegree[u] == 0:
            topo[tail] = u
            tail += 1
    while head < tail:  # Kahn
        u = topo[head]
        head += 1
        for option in range(5):
            if (options[u] >> option) & 1:
                v = _option_link(u, option, chip_base, mesh_base, link_i)
                if v >= 0:
                    indegree[v] -= 1
                    if indegree[v] == 0:
                        topo[tail] = v
                        tail += 1
    return tail == touched.shape[0], topo, n_arrivals, n_carried, carried_slot, carried_time


@numba.njit(cache=True)
def _add_run(link, begin, last_run, run_begin, run_prev, n_runs):
    """Record that ``link``'s arrivals from ``begin`` to its fill position form one time-ordered
    run (one upstream link's output); runs of a link are kept as a backward linked list."""
    run_begin[n_runs] = begin
    run_prev[n_runs] = last_run[link]
    last_run[link] = n_runs
    return n_runs + 1


@numba.njit(cache=True, inline="always")
def _precedes(t1, e1, t2, e2):
    """Whether happening ``(t1, e1)`` comes before ``(t2, e2)`` (time, then event number)."""
    return t1 < t2 or (t1 == t2 and e1 < e2)


@numba.njit(cache=True)
def _in_order(time, event):
    """Whether the rows are already in (time, event) order."""
    for k in range(1, time.shape[0]):
        if _precedes(time[k], event[k], time[k - 1], event[k - 1]):
            return False
    return True


@numba.njit(cache=True)
def _order(time, event):
    """Permutation that sorts the rows by (time, event)."""
    order = np.argsort(event)
    return order[np.argsort(time[order], kind="mergesort")]


@numba.njit(cache=True)
def _run_by_link(until, lead, in_time, in_event, in_dst, in_mask, in_src_chip, in_src_core, nx, n_cores, link_f, link_i, ring,
                 busy, counts, stats, slot_f, slot_i, scal, topo, n_arrivals, n_carried, carried_slot,
                 carried_time, rt, rj, merged_t, merged_j, d_time, d_j, d_event, t_time, t_j, t_event, t_link,
                 t_arrival, t_wait, r_arrival, r_wait, r_t, r_ring, r_busy, r_dep, r_j, r_u, r_kind):
    """Serve every link in ``topo`` order (see above); new events are ``j >= n_c``.

    ``lead[kind]``: the latency of the senders that take a place in a link of that kind when they
    hand over (none for an encoder, the encoders for a chip router, the chip routers for a mesh
    hop); an event arriving at ``a`` found its place taken at ``a - lead`` at the earliest, and
    every event holding a place then has arrived by ``a``: if the ``K``-th most recent arrival is
    still in the link at ``a - lead``, or leaves it then after no service (it may have arrived from
    the mesh at that instant, after the hand-over), a hold may have happened and the pass declines.

    An event still in service at the horizon (its release depends on what comes next) moves the
    horizon back to a *cut*: the latest time ``T <= until`` in no service interval ``(arrival,
    departure]``. Services that start before ``T`` do not depend on anything after it, so the pass
    keeps those (the others are undone) and stops at ``T``; the caller routes from ``T`` on (only
    the events emitted before ``T`` are consumed). Counters, statistics, deliveries and events in
    transit are written after the cut is known, from one record per hand-over. With an infinite
    horizon there is no cut: each hand-over is counted at once and no records are kept (``r_*``
    and ``t_*`` may then be empty).

    Returns ``(ok, n_d, n_out, n_t, cut)``: the deliveries and the events left in transit are in the
    scratch arrays ``d_*`` and ``t_*`` (in service order, link after link); ``cut`` is the horizon
    reached (``until`` unless an event was in service there).
    ``rt``, ``rj`` hold the arrivals of every link (``n_arrivals.sum()`` rows), ``merged_*`` those
    of one link (``n_arrivals.max()`` rows), ``r_*`` the hand-over records (``n_arrivals.sum()``
    plus the events in transit rows). With ``ok`` false nothing changed.
    """
    n_links = link_i.shape[0]
    n_chips = n_links // (n_cores + 5)
    chip_base = n_chips * n_cores
    mesh_base = chip_base + n_chips
    n_c = carried_slot.shape[0]
    n_new = in_time.shape[0]
    n_touched = topo.shape[0]
    total = 0
    fill = np.zeros(n_links, dtype=np.int64)
    for u in topo:
        fill[u] = total
        total += n_arrivals[u]
    start_of = fill.copy()
    # back up the state of the touched links (restored if a tie makes the pass ambiguous)
    ring_size = 0
    for u in topo:
        ring_size += link_i[u, _DEPTH]
    saved_ring = np.empty(ring_size)
    saved_busy = np.empty(n_touched)
    saved_pos = np.empty(n_touched, dtype=np.int64)
    saved_counts = np.empty((n_touched, counts.shape[1]), dtype=np.int64)
    saved_stats = np.empty((n_touched, stats.shape[1]))
    k = 0
    for m in range(n_touched):
        u = topo[m]
        offset = link_i[u, _RING_OFFSET]
        for r in range(link_i[u, _DEPTH]):
            saved_ring[k] = ring[offset + r]
            k += 1
        saved_busy[m] = busy[u]
        saved_pos[m] = link_i[u, _RING_POS]
        saved_counts[m] = counts[u]
        saved_stats[m] = stats[u]
    # arrival regions, filled run by run; the new events first
    last_run = np.full(n_links, -1, dtype=np.int64)
    max_runs = 6 * n_touched + 1
    run_begin = np.empty(max_runs, dtype=np.int64)
    run_prev = np.empty(max_runs, dtype=np.int64)
    n_runs = 0
    for i in range(n_new):
        link = in_src_chip[i] * n_cores + in_src_core[i]
        position = fill[link]
        rt[position] = in_time[i]
        rj[position] = n_c + i
        fill[link] = position + 1
    for u in topo:
        if fill[u] > start_of[u]:
            n_runs = _add_run(u, start_of[u], last_run, run_begin, run_prev, n_runs)
    successor_fill = np.empty(5, dtype=np.int64)
    # carried events grouped by the link they leave (stable: keeps the global order)
    c_first = np.zeros(n_links + 1, dtype=np.int64)
    for u in range(n_links):
        c_first[u + 1] = c_first[u] + n_carried[u]
    c_fill = c_first[:-1].copy()
    c_by_link = np.empty(n_c, dtype=np.int64)
    for j in range(n_c):
        u = slot_i[carried_slot[j], _LINK]
        c_by_link[c_fill[u]] = j
        c_fill[u] += 1
    heads = np.empty(n_cores + 6, dtype=np.int64)
    ends = np.empty(n_cores + 6, dtype=np.int64)
    ok = True
    n_rec = 0  # hand-over records (kind 0: in transit at the start, 1: served, 2: dropped)
    direct = until == np.inf  # no cut possible: count each hand-over at once, without records
    n_d, n_out, n_t, n_dropped = 0, 0, 0, 0
    in_service_at_horizon = False
    for u in topo:
        latency = link_f[u, _LATENCY]
        # direct counting: this link's tallies and statistics, written back after its last hand-over
        # (the same additions in the same order as the records' commit below: bit for bit)
        n_accepted, n_delivered, n_lost = 0, 0, 0
        sojourn_sum, sojourn_sq, sojourn_max = stats[u, 0], stats[u, 1], stats[u, 2]
        wait_sum, wait_sq, wait_max = stats[u, 3], stats[u, 4], stats[u, 5]
        k = 0  # this link's runs (the linked list runs backwards)
        r = last_run[u]
        end = fill[u]
        while r >= 0:
            heads[k] = run_begin[r]
            ends[k] = end
            end = run_begin[r]
            k += 1
            r = run_prev[r]
        if k > 1:  # merge the runs in (time, event) order
            size = fill[u] - start_of[u]
            for q in range(size):
                best = -1
                for p in range(k):
                    if heads[p] < ends[p]:
                        if best < 0 or rt[heads[p]] < rt[heads[best]]:
                            best = p
                        elif rt[heads[p]] == rt[heads[best]]:
                            if (_event_of(rj[heads[p]], n_c, carried_slot, slot_i, in_event)
                                    < _event_of(rj[heads[best]], n_c, carried_slot, slot_i, in_event)):
                                best = p
                merged_t[q] = rt[heads[best]]
                merged_j[q] = rj[heads[best]]
                heads[best] += 1
            src_t, src_j, first, last = merged_t, merged_j, 0, size
        else:
            src_t, src_j, first, last = rt, rj, start_of[u], fill[u]
        for option in range(5):  # (every option names an existing link or -1 for the links in use)
            v = _option_link(u, option, chip_base, mesh_base, link_i)
            successor_fill[option] = fill[v] if v >= 0 else 0
        # hand-overs in service order: first the events in transit at the start, then the new ones
        n_u = c_first[u + 1] - c_first[u]
        previous_t, previous_j = -np.inf, -1
        for q in range(n_u + last - first):
            if q < n_u:
                j = c_by_link[c_first[u] + q]
                slot = carried_slot[j]
                t_next = carried_time[j]
                arrival = slot_f[slot, _ARRIVAL]
                wait = slot_f[slot, _WAIT]
                kind = 0
            else:
                arrival = src_t[first + q - n_u]
                j = src_j[first + q - n_u]
                if link_i[u, _DROP] == 0:
                    taken = ring[link_i[u, _RING_OFFSET] + link_i[u, _RING_POS]]
                    handed = arrival - lead[link_i[u, _KIND]]
                    # the stall FIFO may have been full when the sender handed over: a hold; or it left
                    # at that instant after no service, perhaps having arrived then, after the hand-over
                    if taken > handed or (taken == handed and link_f[u, _SERVICE] == 0.0):
                        ok = False
                        break
                if not direct:
                    r_ring[n_rec] = ring[link_i[u, _RING_OFFSET] + link_i[u, _RING_POS]]
                    r_busy[n_rec] = busy[u]
                start, departure, status = _serve(u, arrival, link_f, link_i, ring, busy)
                if status == 2:
                    if direct:
                        n_lost += 1
                    else:
                        r_u[n_rec], r_arrival[n_rec], r_kind[n_rec] = u, arrival, 2
                        n_rec += 1
                    continue
                kind = 1
                if not direct:
                    r_dep[n_rec] = departure
                if departure >= until:  # in service at the horizon: its release depends on what comes next
                    in_service_at_horizon = True
                wait = start - arrival
                t_next = departure + latency
            # the global loop hands over in (time, event) order: it must be the service order
            if t_next == previous_t and (_event_of(j, n_c, carried_slot, slot_i, in_event)
                                         < _event_of(previous_j, n_c, carried_slot, slot_i, in_event)):
                ok = False
                break
            previous_t, previous_j = t_next, j
            if direct:
                n_accepted += kind
                n_delivered += 1
                sojourn = t_next - arrival
                sojourn_sum += sojourn
                sojourn_sq += sojourn * sojourn
                if sojourn > sojourn_max:
                    sojourn_max = sojourn
                wait_sum += wait
                wait_sq += wait * wait
                if wait > wait_max:
                    wait_max = wait
            else:
                r_u[n_rec], r_j[n_rec], r_kind[n_rec] = u, j, kind
                r_arrival[n_rec], r_wait[n_rec], r_t[n_rec] = arrival, wait, t_next
                n_rec += 1
                if kind == 1 and departure >= until:  # handed over at or after the horizon
                    continue
                # (an event handed over before the horizon holds its place at the next link even if it
                # is still on the wire at the horizon: that link counts it, and its service there, from
                # the horizon on, is undone)
            dst = slot_i[carried_slot[j], _DST] if j < n_c else in_dst[j - n_c]
            v = _next_link(u, dst, nx, chip_base, mesh_base, link_i)
            if v >= 0:
                position = fill[v]
                rt[position] = t_next
                rj[position] = j
                fill[v] = position + 1
            elif direct:
                d_time[n_d] = t_next
                d_j[n_d] = j
                d_event[n_d] = _event_of(j, n_c, carried_slot, slot_i, in_event)
                n_d += 1
                n_out += _popcount(slot_i[carried_slot[j], _MASK] if j < n_c else in_mask[j - n_c])
        if not ok:
            break
        if direct:
            counts[u, _ACCEPTED] += n_accepted  # (never stalled: a full stall FIFO made the pass decline)
            counts[u, _DELIVERED] += n_delivered
            counts[u, _DROPPED] += n_lost
            n_dropped += n_lost
            stats[u, 0], stats[u, 1], stats[u, 2] = sojourn_sum, sojourn_sq, sojourn_max
            stats[u, 3], stats[u, 4], stats[u, 5] = wait_sum, wait_sq, wait_max
            if n_accepted and stats[u, 8] < 0.0:  # released at the end of service: held for no time
                stats[u, 8] = 0.0
        for option in range(5):  # what this link handed to each successor is one run there
            v = _option_link(u, option, chip_base, mesh_base, link_i)
            if v >= 0 and fill[v] > successor_fill[option]:
                n_runs = _add_run(v, successor_fill[option], last_run, run_begin, run_prev, n_runs)
    cut = until
    if in_service_at_horizon and ok:
        # the latest time in no (arrival, departure]: move back to the start of a service that
        # covers it until none does (every time skipped is covered; the records of one link are in
        # arrival order, so one backward sweep crosses a whole busy period of a link)
        moved = True
        while moved:
            moved = False
            for r in range(n_rec - 1, -1, -1):
                if r_kind[r] == 1 and r_arrival[r] < cut <= r_dep[r]:
                    cut = r_arrival[r]
                    moved = True
        for r in range(n_rec - 1, -1, -1):  # undo the services from the cut on (each link: last first)
            if r_kind[r] == 1 and r_arrival[r] >= cut:
                u = r_u[r]
                position = link_i[u, _RING_POS] - 1 if link_i[u, _RING_POS] > 0 else link_i[u, _DEPTH] - 1
                ring[link_i[u, _RING_OFFSET] + position] = r_ring[r]
                busy[u] = r_busy[r]
                link_i[u, _RING_POS] = position
    if not ok:
        k = 0
        for m in range(n_touched):
            u = topo[m]
            offset = link_i[u, _RING_OFFSET]
            for r in range(link_i[u, _DEPTH]):
                ring[offset + r] = saved_ring[k]
                k += 1
            busy[u] = saved_busy[m]
            link_i[u, _RING_POS] = saved_pos[m]
            counts[u] = saved_counts[m]
            stats[u] = saved_stats[m]
        return False, 0, 0, 0, -np.inf
    for r in range(n_rec):  # what happened before the cut, in service order link after link
        u = r_u[r]
        if r_kind[r] != 0 and r_arrival[r] >= cut:
            continue
        if r_kind[r] == 2:
            counts[u, _DROPPED] += 1
            n_dropped += 1
            continue
        if r_kind[r] == 1:
            counts[u, _ACCEPTED] += 1  # (never stalled: a full stall FIFO made the pass decline above)
            accumulate(stats, u, 6, 0.0)  # released at the end of service: held for no time
        j, t_next, arrival, wait = r_j[r], r_t[r], r_arrival[r], r_wait[r]
        if t_next >= cut:  # still in the link's wire at the horizon
            t_time[n_t] = t_next
            t_j[n_t] = j
            t_event[n_t] = _event_of(j, n_c, carried_slot, slot_i, in_event)
            t_link[n_t] = u
            t_arrival[n_t] = arrival
            t_wait[n_t] = wait
            n_t += 1
            continue
        counts[u, _DELIVERED] += 1
        accumulate(stats, u, 0, t_next - arrival)
        accumulate(stats, u, 3, wait)
        dst = slot_i[carried_slot[j], _DST] if j < n_c else in_dst[j - n_c]
        if _next_link(u, dst, nx, chip_base, mesh_base, link_i) < 0:
            mask = slot_i[carried_slot[j], _MASK] if j < n_c else in_mask[j - n_c]
            d_time[n_d] = t_next
            d_j[n_d] = j
            d_event[n_d] = _event_of(j, n_c, carried_slot, slot_i, in_event)
            n_d += 1
            n_out += _popcount(mask)
    scal[_N_DELIVERED] += n_d
    scal[_N_DROPPED] += n_dropped
    return True, n_d, n_out, n_t, cut


@numba.njit(cache=True, inline="always")
def _event_of(j, n_c, carried_slot, slot_i, in_event):
    """Event number of local event ``j`` (``j < n_c``: in transit at the start; else new)."""
    return slot_i[carried_slot[j], _EVENT] if j < n_c else in_event[j - n_c]


@numba.njit(cache=True, inline="always")
def _popcount(mask):
    n = 0
    while mask:
        mask &= mask - 1
        n += 1
    return n


@numba.njit(cache=True)
def _collect_by_link(n_d, n_t, in_time, in_event, in_source, in_tag, in_dst, in_mask,
                     n_cores, counts, slot_f, slot_i, carried_slot, d_time, d_j, d_event, t_time, t_j, t_event, t_link,
                     t_arrival, t_wait,
                     out_event, out_source, out_tag,
                     out_chip, out_core, out_emit, out_arrival, transit_t, transit_f, transit_i):
    """Write the deliveries of :func:`_run_by_link` (arrival order, one row per core) and the
    events it left in transit (time order, as slot rows)."""
    n_c = carried_slot.shape[0]
    chip_base = (counts.shape[0] // (n_cores + 5)) * n_cores
    d_ordered = _in_order(d_time[:n_d], d_event[:n_d])  # several chips deliver: sort
    t_ordered = _in_order(t_time[:n_t], t_event[:n_t])
    d_order = np.arange(0) if d_ordered else _order(d_time[:n_d], d_event[:n_d])
    t_order = np.arange(0) if t_ordered else _order(t_time[:n_t], t_event[:n_t])
    n = 0
    for q in range(n_d):
        a = q if d_ordered else d_order[q]
        j = d_j[a]
        if j < n_c:
            slot = carried_slot[j]
            event, source, tag = slot_i[slot, _EVENT], slot_i[slot, _SOURCE], slot_i[slot, _TAG]
            dst, mask, emit = slot_i[slot, _DST], slot_i[slot, _MASK], slot_f[slot, _EMIT]
        else:
            i = j - n_c
            event, source, tag = in_event[i], in_source[i], in_tag[i]
            dst, mask, emit = in_dst[i], in_mask[i], in_time[i]
        arrival = d_time[a]
        counts[chip_base + dst, _FANNED] += 1
        for core in range(n_cores):
            if (mask >> core) & 1:
                put_delivery(out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, n, event, source, tag,
                             dst, core, emit, arrival)
                n += 1
    for q in range(n_t):
        a = q if t_ordered else t_order[q]
        j = t_j[a]
        transit_t[q] = t_time[a]
        transit_f[q, _ARRIVAL] = t_arrival[a]
        transit_f[q, _WAIT] = t_wait[a]
        transit_i[q, _LINK] = t_link[a]
        if j < n_c:
            slot = carried_slot[j]
            transit_f[q, _EMIT] = slot_f[slot, _EMIT]
            for column in (_EVENT, _SOURCE, _TAG, _DST, _MASK):
                transit_i[q, column] = slot_i[slot, column]
        else:
            i = j - n_c
            transit_f[q, _EMIT] = in_time[i]
            transit_i[q, _EVENT] = in_event[i]
            transit_i[q, _SOURCE] = in_source[i]
            transit_i[q, _TAG] = in_tag[i]
            transit_i[q, _DST] = in_dst[i]
            transit_i[q, _MASK] = in_mask[i]


@numba.njit(cache=True)
def _reserve_wires(m, link_i, slot_i, nx, n_cores):
    """FIFO places after the link-by-link pass (every accepted event has left its link): each event
    on a wire holds a place of the stall link it goes to."""
    n_chips = link_i.shape[0] // (n_cores + 5)
    chip_base = n_chips * n_cores
    link_i[:, _OCC] = 0
    for slot in range(m):
        following = _next_link(slot_i[slot, _LINK], slot_i[slot, _DST], nx, chip_base, chip_base + n_chips, link_i)
        if following >= 0 and link_i[following, _DROP] == 0 and link_i[slot_i[slot, _LINK], _KIND] != MESH:
            link_i[following, _OCC] += 1


@numba.njit(cache=True)
def _single_link(arrival, link_f, link_i, ring, busy, start, departure, status):
    for k in range(arrival.shape[0]):
        start[k], departure[k], status[k] = _serve(0, arrival[k], link_f, link_i, ring, busy)


# ---------------------------------------------------------------------------------------------
# Python interface

@numba.njit(cache=True)
def feed_compiled(state, until, time, first_event, ints):
    """:meth:`Router.feed` of one time-sorted batch in compiled code (the engine's per-step call).

    Applies when no fed event waits for emission, tracing is off and the router has at least
    ``len(time) + 1`` free slots (:func:`compiled_free_slots`; :meth:`Router.compiled_state` says
    whether it applies, and :meth:`Router.account_compiled` must be told what was fed). The
    routing is the exact event loop :meth:`Router.feed` runs, followed by the broadcast stages, so
    the results are the same bit for bit.

    Parameters
    ----------
    state : tuple
        From :meth:`Router.compiled_state`.
    until : float
        Horizon, s (not before the previous one).
    time : ndarray of float64, shape (n,)
        Emission times of the new events, ascending, ``>=`` the previous horizon.
    first_event : int
        Router-wide number of the first new event (the events fed so far).
    ints : ndarray of int64, shape (6, n)
        ``source, src_chip, src_core, dst_chip, core_mask, tag`` of the new events.

    Returns
    -------
    event, tag, dst_chip, dst_core : ndarray of int64, shape (p,)
        The copies delivered to the cores' synapses before ``until`` (see
        :class:`mixsig.aer.events.Deliveries`).
    """
    (link_f, link_i, ring, busy, counts, stats, slot_f, slot_i, free, heap_t, heap_event, heap_slot, scal, nx, n_cores,
     matches, match_meta, stage_par, stage_spec, stage, arbiter) = state
    n_new = time.shape[0]
    n_out = n_cores * (free.shape[0] - scal[_FREE_TOP])
    for e in range(n_new):
        mask = ints[4, e]
        while mask:
            n_out += mask & 1
            mask >>= 1
    out_i = np.empty((5, n_out), dtype=np.int64)
    out_f = np.empty((2, n_out))
    scal[_N_OUT] = 0
    scal[_N_TRACE] = 0
    events = np.arange(first_event, first_event + n_new)
    quiet = np.bool_(False)  # a bool, not the literal False: one specialisation of _route
    _route(until, quiet, time, events, ints[0], ints[1], ints[2], ints[3], ints[4], ints[5], nx, n_cores, link_f, link_i,
           ring, busy, counts, stats, slot_f, slot_i, free, heap_t, heap_event, heap_slot, scal, arbiter,
           out_i[0], out_i[1],
           out_i[2], out_i[3], out_i[4], out_f[0], out_f[1], np.zeros((0, 2), dtype=np.int64), np.zeros((0, 3)))
    fanned = scal[_N_OUT]
    if stage[0][0] == 0:  # nothing pending: the copies overwrite the fan-out rows in place
        copy_i, copy_f = out_i, out_f
    else:
        copy_i = np.empty((5, fanned + stage[0][0]), dtype=np.int64)
        copy_f = np.empty((2, fanned + stage[0][0]))
    made = np.zeros(1, dtype=np.int64)  # (the pending arrays have room: compiled_free_slots)
    _broadcast.broadcast(until, np.int64(0), fanned, out_i[0], out_i[1], out_i[2], out_i[3], out_i[4], out_f[0],
                         out_f[1], n_cores, stage_par, stage_spec, *stage, matches, match_meta, copy_i[0], copy_i[1],
                         copy_i[2], copy_i[3], copy_i[4], copy_f[0], copy_f[1], made)
    n = made[0]
    return copy_i[0, :n], copy_i[2, :n], copy_i[3, :n], copy_i[4, :n]


@numba.njit(cache=True)
def compiled_in_flight(state):
    """Events inside the router plus copies in its broadcast stages, from its
    :meth:`Router.compiled_state` arrays."""
    return state[8].shape[0] - state[12][_FREE_TOP] + state[19][0][0]


@numba.njit(cache=True)
def compiled_free_slots(state):
    """New events :func:`feed_compiled` can take, plus one, from the :meth:`Router.compiled_state`
    arrays: free event slots, and room in the broadcast stages for every copy the events inside
    and the new ones could make."""
    n_cores, stage = state[14], state[19]
    inside = state[8].shape[0] - state[12][_FREE_TOP]
    room = (stage[6].shape[0] - stage[0][0]) // n_cores - inside
    return min(state[12][_FREE_TOP], room)


LINK_PASS_MIN_EVENTS = 64
"""Calls with at least this many events to move (new before the horizon plus in transit) try the
link-by-link pass first; smaller ones, and every call of a ``trace=True`` router (whose trace is in
global processing order), use the global-time loop. Both are exact and agree bit for bit."""

SCRATCH_KEPT = 1 << 20
"""Scratch arrays of up to this many elements are kept by a router between calls."""

_EMPTY = empty_batch()
_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_DELIVERIES = Deliveries(*([np.zeros(0, dtype=np.int64)] * 5 + [np.zeros(0)] * 2))


def _split(array, sizes):
    """Consecutive views of ``array`` with the given ``sizes``."""
    ends = np.cumsum(sizes)
    return [array[end - size:end] for size, end in zip(sizes, ends)]



def _link_tables(levels_by_link, kinds, chips, indices):
    """Per-link parameter arrays and an empty FIFO ring for links with the given levels."""
    n = len(levels_by_link)
    link_f = np.array([[p.service_time, p.latency] for p in levels_by_link], dtype=np.float64).reshape(n, 2)
    depth = np.array([p.fifo_depth for p in levels_by_link], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(depth)[:-1]]).astype(np.int64)
    link_i = np.zeros((n, _LINK_INTS), dtype=np.int64)
    link_i[:, _QHEAD:_SERVING + 1] = -1
    link_i[:, _KIND] = kinds
    link_i[:, _CHIP] = chips
    link_i[:, _INDEX] = indices
    link_i[:, _DEPTH] = depth
    link_i[:, _DROP] = [p.policy == "drop" for p in levels_by_link]
    link_i[:, _RING_OFFSET] = offsets
    link_i[:, _LAND] = chips
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
        Parameters of the levels ``core``, ``chip``, ``mesh`` and ``broadcast`` (:data:`STAGES`;
        missing levels take :data:`DEFAULT_LEVELS`, which are placeholders).
    max_hop : int
        Largest ``|dx|``, ``|dy|`` of a destination (7 on DYNAP-SE2).
    trace : bool
        Record every (event, link) service in :meth:`hops` (for tests and debugging).
    neurons_per_core : int
        Neurons of a core: the leaves of the encoder's arbiter tree (a source's neuron is
        ``source % neurons_per_core``).
    """

    def __init__(self, nx, ny, n_cores, levels=None, max_hop=MAX_HOP, trace=False, neurons_per_core=256):
        levels = dict(levels or {})
        unknown = sorted(set(levels) - set(STAGES))
        if unknown:
            raise ConfigError([Problem("<router>", f"levels.{name}", levels[name], f"one of {list(STAGES)}")
                               for name in unknown], "router levels")
        self.levels = {name: levels.get(name, DEFAULT_LEVELS[name]) for name in STAGES}
        for name, value in self.levels.items():
            if not isinstance(value, LinkParams):
                raise TypeError(f"router level {name!r} must be a LinkParams, got {type(value).__name__}")
        core_only = [Problem("<router>", f"levels.{name}.{field}", getattr(value, field), "the core level's only")
                     for name, value in self.levels.items() if name != "core"
                     for field in ("arbiter", "arbitration_delay")
                     if getattr(value, field) != getattr(DEFAULT_LEVELS["core"], field)]
        if core_only:
            raise ConfigError(core_only, "router levels")
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
        core = self.levels["core"]
        self.neurons_per_core = int(neurons_per_core)
        self._core_latency = core.latency + _arbiter.tree_levels(self.neurons_per_core) * core.arbitration_delay
        self._link_f[kinds == CORE, _LATENCY] = self._core_latency
        self._arbiter = _arbiter.arbiter_arrays(core.arbiter, n_chips * self.n_cores, self.neurons_per_core)
        step = np.array([1, -1, self.nx, -self.nx])
        is_mesh = kinds == MESH
        self._link_i[is_mesh, _LAND] = link_chip[is_mesh] + step[index[is_mesh]]
        n_links = kinds.size
        self._counts = np.zeros((n_links, 5), dtype=np.int64)
        stage = self.levels["broadcast"]
        self._stage_par = np.array([stage.service_time, stage.latency])
        self._stage_spec = np.array([stage.fifo_depth, int(stage.policy == "drop")], dtype=np.int64)
        self._stage_free = stage.service_time == 0 and stage.latency == 0  # copies pass unchanged: only counted
        self._stage = _broadcast.stage_arrays(n_chips * self.n_cores, stage.fifo_depth)
        self._matches = np.zeros(1, dtype=np.int64)
        self._match_meta = np.zeros(2, dtype=np.int64)
        self._stats = np.zeros((n_links, 9))
        self._stats[:, [2, 5, 8]] = -np.inf
        self._scal = np.zeros(8, dtype=np.int64)
        self._scal[_TRACE_ON] = int(bool(trace))
        self._capacity = 0
        self._slot_f = np.zeros((0, _SLOT_FLOATS))
        self._slot_i = np.zeros((0, _SLOT_INTS), dtype=np.int64)
        self._free = np.zeros(0, dtype=np.int64)
        self._heap_t = np.zeros(0)
        self._heap_event = np.zeros(0, dtype=np.int64)
        self._heap_slot = np.zeros(0, dtype=np.int64)
        self._pending = _EMPTY
        self._pending_event = _NO_IDS
        self._emitted = 0
        self._until = -np.inf
        self._hops = []
        self._scratch_arrays = {}

    @classmethod
    def from_board(cls, board, levels=None, trace=False):
        """A router for a board object with ``nx``, ``ny`` and ``chip`` (``n_cores``,
        ``neurons_per_core``, ``max_hop``, ``router`` levels with ``link_params()``), as built by
        ``mixsig.chip``.

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
        return cls(board.nx, board.ny, chip.n_cores, chosen, max_hop=chip.max_hop, trace=trace,
                   neurons_per_core=chip.neurons_per_core)

    # -- geometry ------------------------------------------------------------------------------

    @property
    def n_links(self):
        """Number of links."""
        return self._link_i.shape[0]

    def link_id(self, level, chip, index=0):
        """Link number of core ``index`` (``core``), of the router (``chip``) or of a mesh direction of chip ``chip``.

        Parameters
        ----------
        level : {"core", "chip", "mesh"}
            Router level.
        chip : int
            Chip index on the board.
        index : int or str
            Core in the chip (``core``), ignored (``chip``), or direction index or name from ``DIRECTIONS`` (``mesh``).

        Returns
        -------
        int
            Link number (the ``link`` dim of the router statistics).
        """
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
        """Events fanned out to their destination cores' broadcast stages (each counted once, not
        per core)."""
        return int(self._scal[_N_DELIVERED])

    def delivered_per_chip(self):
        """Events fanned out to the cores of each destination chip (:attr:`delivered` by chip).

        Returns
        -------
        ndarray of int64, shape (n_chips,)
        """
        first = self.n_chips * self.n_cores
        return self._counts[first:first + self.n_chips, _FANNED].copy()

    @property
    def broadcast_in_flight(self):
        """Copies accepted by the broadcast stages and not yet delivered to the synapses."""
        return int(self._stage[0][0])

    @property
    def dropped(self):
        """Events lost at a full ``drop`` link."""
        return int(self._scal[_N_DROPPED])

    @property
    def in_flight(self):
        """Events fed but neither delivered nor dropped: not yet emitted (time >= the last
        ``until``) or inside the router."""
        return self._inside() + self._pending.size

    def _inside(self):
        """Events inside the router (every slot in use)."""
        return self._capacity - int(self._scal[_FREE_TOP])

    def next_happening(self):
        """Earliest time at which anything the router holds can happen next, s (``inf`` if empty).

        The top of the happening heap (an end of service or an arrival at the next stage), the
        first event not yet emitted or the first delivery of a copy in a broadcast stage: no
        delivery of the events fed so far comes earlier (the lookahead of
        :class:`mixsig.engine.onsets.EventTimes`).
        """
        t = self._heap_t[0] if self._scal[_HEAP_SIZE] > 0 else np.inf
        if self._pending.size:
            t = min(t, self._pending.time.min())
        if self.broadcast_in_flight:
            t = min(t, self._stage[6][:self.broadcast_in_flight, _broadcast.OUT].min())
        return float(t)

    def in_flight_events(self):
        """Event numbers of the events in flight (inside the router, then not yet emitted).

        Returns
        -------
        ndarray of int64, shape (in_flight,)
        """
        free = self._free[:int(self._scal[_FREE_TOP])]
        inside = self._slot_i[np.setdiff1d(np.arange(self._capacity), free), _EVENT]
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
                         s[:, 2].copy(), delivered.copy(), s[:, 3].copy(), s[:, 4].copy(), s[:, 5].copy(),
                         s[:, 6].copy(), s[:, 8].copy())

    def broadcast_stats(self):
        """Cumulative counters and statistics of the broadcast stages, in copies.

        Returns
        -------
        LinkStats
            One entry per destination core (``chip * n_cores + core``), kind ``broadcast``, index
            the core; ``offered = accepted + dropped`` and ``accepted = delivered + in_flight``;
            the sojourn runs from the arrival at the core to the delivery to its synapses; no hold.
        """
        counts, s = self._stage[4], self._stage[5]
        accepted, delivered, dropped = (counts[:, k].copy() for k in (_broadcast.ACCEPTED, _broadcast.DELIVERED,
                                                                        _broadcast.DROPPED))
        n = accepted.shape[0]
        return LinkStats(np.full(n, "broadcast"), np.arange(n) // self.n_cores, np.arange(n) % self.n_cores,
                         accepted + dropped, accepted, delivered, dropped, accepted - delivered,
                         counts[:, _broadcast.STALLED].copy(), delivered.copy(), s[:, 0].copy(), s[:, 1].copy(),
                         s[:, 2].copy(), delivered.copy(), s[:, 3].copy(), s[:, 4].copy(), s[:, 5].copy(),
                         np.zeros(n), np.full(n, -np.inf))

    def set_cam_matches(self, matches, chips_per_row):
        """Give the router the CAM match counts of every (destination core, tag), so that it counts
        the synaptic events each broadcast causes (:meth:`receptions`).

        Parameters
        ----------
        matches : array_like of int, shape (chips_per_row, n_cores, n_tags)
            Number of CAM entries (synapses) of each core that match each tag; chip ``c`` of the
            board uses row ``c % chips_per_row`` (the engine stacks identical chip instances).
        chips_per_row : int
            Period of the table in board chips.
        """
        matches = np.ascontiguousarray(matches, dtype=np.int64)
        if matches.ndim != 3 or matches.shape[:2] != (chips_per_row, self.n_cores) or self.n_chips % chips_per_row:
            raise ValueError(f"matches of shape {matches.shape}: expected ({chips_per_row}, {self.n_cores}, n_tags) "
                             f"with {chips_per_row} dividing the board's {self.n_chips} chips")
        self._matches = matches.ravel()
        self._match_meta[:] = chips_per_row, matches.shape[2]

    def receptions(self):
        """Events broadcast into each core (copies its broadcast stage accepted) and the synaptic
        events (CAM matches) they caused.

        Returns
        -------
        received, matched : ndarray of int64, shape (n_chips, n_cores)
            ``matched`` is zero without :meth:`set_cam_matches`.
        """
        counts = self._stage[4]
        return tuple(counts[:, k].reshape(self.n_chips, self.n_cores).copy()
                     for k in (_broadcast.ACCEPTED, _broadcast.MATCHED))

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
        slot_f = np.zeros((new, _SLOT_FLOATS))
        slot_f[:old] = self._slot_f
        slot_i = np.zeros((new, _SLOT_INTS), dtype=np.int64)
        slot_i[:old] = self._slot_i
        top = int(self._scal[_FREE_TOP])
        free = np.zeros(new, dtype=np.int64)
        free[:top] = self._free[:top]
        free[top:top + new - old] = np.arange(old, new)
        self._scal[_FREE_TOP] = top + new - old
        heap = [np.zeros(new), np.zeros(new, np.int64), np.zeros(new, np.int64)]
        for target, source in zip(heap, (self._heap_t, self._heap_event, self._heap_slot)):
            target[:old] = source
        self._heap_t, self._heap_event, self._heap_slot = heap
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
        events = _EMPTY if events is None else events
        if not isinstance(events, EventBatch):
            raise TypeError(f"events must be an EventBatch, got {type(events).__name__}")
        n_new = events.size
        if n_new:
            validate_batch(events, self.nx, self.ny, self.n_cores, self.max_hop)
            if events.time.min() < self._until:
                raise ConfigError([Problem("<events>", "time", float(events.time.min()),
                                           f"times >= {self._until!r} s (the previous call's until)")], "event batch")
        if until != until:
            raise ValueError("until must be a time in s or inf, got nan")
        if until < self._until:
            raise ValueError(f"until = {until!r} s is before the previous call's until = {self._until!r} s")
        until = float(until)
        event_ids = np.arange(self._emitted, self._emitted + n_new, dtype=np.int64)
        self._emitted += n_new
        if self._pending.size and n_new:
            merged = EventBatch.concatenate([self._pending, events])
            merged_ids = np.concatenate([self._pending_event, event_ids])
        elif self._pending.size:
            merged, merged_ids = self._pending, self._pending_event
        else:
            merged, merged_ids = events, event_ids
        if merged.size > 1 and unsorted(merged.time):
            order = np.argsort(merged.time, kind="stable")
            merged, merged_ids = merged.take(order), merged_ids[order]
        self._until = max(self._until, until)
        n_now = int(np.searchsorted(merged.time, until, side="left"))  # emitted before the horizon
        in_transit = self._inside()
        if n_now == 0 and in_transit == 0:
            self._keep_pending(merged, merged_ids, 0)
            return self._through_stages(_NO_DELIVERIES, until) if self.broadcast_in_flight else _NO_DELIVERIES
        parts, consumed, done = [], 0, False
        if not self._scal[_TRACE_ON] and n_now + in_transit >= LINK_PASS_MIN_EVENTS:
            if not self._quiet():  # the event loop until only events on wires are left
                consumed, deliveries = self._feed_by_event(merged, merged_ids, 0, n_now, until, quiet=True)
                parts.append(deliveries)
            if self._quiet() and n_now - consumed + self._inside() >= LINK_PASS_MIN_EVENTS:
                result = self._feed_by_link(merged, merged_ids, consumed, n_now, until)
                if result is not None:
                    deliveries, consumed, done = result
                    parts.append(deliveries)
        if not done:
            consumed, deliveries = self._feed_by_event(merged, merged_ids, consumed, n_now, until, quiet=False)
            parts.append(deliveries)
        self._keep_pending(merged, merged_ids, consumed)
        return self._through_stages(parts[0] if len(parts) == 1 else Deliveries.concatenate(parts), until)

    def _through_stages(self, fanned, until):
        """Pass the router's fan-out copies through the broadcast stages (:mod:`mixsig.aer.broadcast`);
        return the copies delivered to the cores' synapses before ``until``."""
        n = self.broadcast_in_flight + fanned.size
        if self._stage_free and not self.broadcast_in_flight and (n == 0 or fanned.arrival_time.max() < until):
            _broadcast.count_free(n, fanned.tag, fanned.dst_chip, fanned.dst_core, self.n_cores, self._stage[4],
                                  self._stage[5], self._matches, self._match_meta)
            return fanned
        if self.broadcast_in_flight:
            out = [np.empty(n, dtype=np.int64) for _ in range(5)] + [np.empty(n) for _ in range(2)]
        else:  # nothing pending: the copies overwrite the fan-out rows (the router's own arrays) in place
            out = list(fanned)
        made, taken = np.zeros(1, dtype=np.int64), 0
        while True:
            taken = _broadcast.broadcast(until, taken, fanned.size, *fanned, self.n_cores, self._stage_par,
                                         self._stage_spec, *self._stage, self._matches, self._match_meta, *out, made)
            if taken == fanned.size:
                break
            stage = list(self._stage)  # copies still in the stages at the horizon: more room
            stage[6], stage[7] = _broadcast.grow_pending(stage[6], stage[7], self.broadcast_in_flight,
                                                         stage[6].shape[0] + 1)
            self._stage = tuple(stage)
        made = int(made[0])
        return Deliveries(*(array if made == n else array[:made].copy() for array in out))

    def _quiet(self):
        """Whether every event inside the router is on a wire (no server busy, nobody waiting)."""
        return self._scal[_BUSY] == 0 and self._inside() == self._scal[_HEAP_SIZE]

    def _feed_by_event(self, merged, merged_ids, begin, end, until, quiet):
        """Route events ``begin:end`` of ``merged`` and those in transit with the event loop, up to
        ``until`` (with ``quiet``: up to the first instant with only events on wires, see
        :func:`_route`); return the index of the first event not emitted and the deliveries."""
        in_transit = self._inside()
        n_now = end - begin
        self._ensure_capacity(in_transit + min(n_now, 65536) + 1)
        n_out = int(np.bitwise_count(merged.core_mask[begin:end].astype(np.uint64)).sum()) + self.n_cores * in_transit
        out = [np.empty(n_out, dtype=np.int64) for _ in range(5)] + [np.empty(n_out) for _ in range(2)]
        trace_on = bool(self._scal[_TRACE_ON])
        max_services = 3 + (self.nx - 1) + (self.ny - 1)
        n_trace = max_services * (in_transit + n_now) if trace_on else 0
        trace_i = np.zeros((n_trace, 2), dtype=np.int64)
        trace_f = np.zeros((n_trace, 3))
        self._scal[_N_OUT] = 0
        self._scal[_N_TRACE] = 0
        consumed = begin
        while True:
            rest = slice(consumed, end)
            consumed += _route(until, quiet, merged.time[rest], merged_ids[rest], merged.source[rest],
                               merged.src_chip[rest], merged.src_core[rest], merged.dst_chip[rest],
                               merged.core_mask[rest], merged.tag[rest], self.nx, self.n_cores,
                               self._link_f, self._link_i, self._ring, self._busy, self._counts, self._stats,
                               self._slot_f, self._slot_i, self._free, self._heap_t, self._heap_event,
                               self._heap_slot, self._scal, self._arbiter, *out, trace_i, trace_f)
            if consumed == end or self._scal[_FREE_TOP] > 0:
                break
            self._ensure_capacity(2 * self._capacity)  # every slot in use: grow and resume
        if trace_on:
            n_trace = int(self._scal[_N_TRACE])
            self._hops.append((trace_i[:n_trace].copy(), trace_f[:n_trace].copy()))
        made = int(self._scal[_N_OUT])
        return consumed, Deliveries(*(array if made == n_out else array[:made].copy() for array in out))

    def _feed_by_link(self, merged, merged_ids, begin, n_now, until):
        """Route events ``begin:n_now`` of ``merged`` and those in transit with the link-by-link
        pass, up to ``until`` or, when an event would be in service there, up to the pass's cut.

        Returns
        -------
        None, or (deliveries, consumed, done)
            ``None`` (and nothing changed) if the pass does not apply; else the deliveries, the
            index of the first event not emitted and whether the call reached ``until``.
        """
        heap = int(self._scal[_HEAP_SIZE])
        if self._inside() != heap or np.any(self._slot_i[self._heap_slot[:heap], _PHASE] != _P_WIRE):
            return None  # events queued, in service or held: only the event loop knows their future
        ok, cut, result = self._link_pass(merged, merged_ids, begin, n_now, until)
        if not ok:
            return None
        if cut == until:
            return result, n_now, True
        return result, begin + int(np.searchsorted(merged.time[begin:n_now], cut, side="left")), False

    def _link_pass(self, merged, merged_ids, begin, end, until):
        """One run of :func:`_run_by_link` over events ``begin:end``; ``(ok, cut, deliveries)``."""
        now = EventBatch(*(field[begin:end] for field in merged))
        ids = merged_ids[begin:end]
        n_now = end - begin
        acyclic, topo, n_arrivals, n_carried, carried_slot, carried_time = _plan_by_link(
            n_now, now.src_chip, now.src_core, now.dst_chip, self.nx, self.n_cores, self._link_i, self._slot_i,
            self._heap_t, self._heap_event, self._heap_slot, self._scal)
        if not acyclic:
            return False, -np.inf, None
        total, longest, n_all = int(n_arrivals.sum()), int(n_arrivals.max()), n_now + carried_slot.shape[0]
        finite = until < np.inf  # an infinite horizon needs no records and leaves nothing in transit
        n_rec = total + carried_slot.shape[0] if finite else 0
        n_t = n_all if finite else 0
        floats = _split(self._scratch(np.float64, total + longest + n_all + 3 * n_t + 6 * n_rec),
                        (total, longest, n_all) + (n_t,) * 3 + (n_rec,) * 6)
        ints = _split(self._scratch(np.int64, total + longest + 2 * n_all + 3 * n_t + 3 * n_rec),
                      (total, longest, n_all, n_all) + (n_t,) * 3 + (n_rec,) * 3)
        rt, merged_t, d_time, t_time, t_arrival, t_wait = floats[:6]
        rj, merged_j, d_j, d_event, t_j, t_event, t_link = ints[:7]
        ok, n_d, n_out, n_t, cut = _run_by_link(
            until, np.array([0.0, self._core_latency, self.levels["chip"].latency]), now.time, ids,
            now.dst_chip, now.core_mask, now.src_chip, now.src_core, self.nx, self.n_cores,
            self._link_f, self._link_i, self._ring, self._busy, self._counts, self._stats, self._slot_f,
            self._slot_i, self._scal, topo, n_arrivals, n_carried, carried_slot, carried_time, rt, rj, merged_t,
            merged_j, d_time, d_j, d_event, t_time, t_j, t_event, t_link, t_arrival, t_wait, *floats[6:], *ints[7:])
        if not ok:
            return False, cut, None
        out = [np.empty(n_out, dtype=np.int64) for _ in range(5)] + [np.empty(n_out) for _ in range(2)]
        transit = np.empty(n_t), np.zeros((n_t, _SLOT_FLOATS)), np.zeros((n_t, _SLOT_INTS), dtype=np.int64)
        _collect_by_link(n_d, n_t, now.time, ids, now.source, now.tag,
                         now.dst_chip, now.core_mask, self.n_cores, self._counts, self._slot_f, self._slot_i, carried_slot,
                         d_time, d_j, d_event, t_time, t_j, t_event, t_link, t_arrival, t_wait, *out, *transit)
        self._store_transit(*transit)
        _reserve_wires(n_t, self._link_i, self._slot_i, self.nx, self.n_cores)
        return True, cut, Deliveries(*out)

    def _scratch(self, dtype, size):
        """A scratch array of at least ``size`` elements (kept between calls unless large)."""
        kept = self._scratch_arrays.get(dtype)
        if kept is not None and kept.shape[0] >= size:
            return kept
        array = np.empty(max(size, 1024), dtype=dtype)
        if size <= SCRATCH_KEPT:
            self._scratch_arrays[dtype] = array
        return array

    def compiled_state(self, free_slots):
        """Whether :func:`feed_compiled` can take over, and the arrays it works on.

        Parameters
        ----------
        free_slots : int
            Free event slots to make sure of first (the largest batch the caller will feed
            between two calls of this method, plus one).

        Returns
        -------
        usable : bool
            False while events wait for emission or tracing is on (then use :meth:`feed`).
        state : tuple
            The arrays, for :func:`feed_compiled`.
        """
        usable = not (self._pending.size or self._scal[_TRACE_ON])
        if usable:
            inside = self._inside() + int(free_slots)
            self._ensure_capacity(inside)
            stage, n_pending = list(self._stage), self.broadcast_in_flight
            stage[6], stage[7] = _broadcast.grow_pending(stage[6], stage[7], n_pending,
                                                         n_pending + self.n_cores * inside)
            self._stage = tuple(stage)
        return usable, (self._link_f, self._link_i, self._ring, self._busy, self._counts, self._stats, self._slot_f,
                self._slot_i, self._free, self._heap_t, self._heap_event, self._heap_slot, self._scal, self.nx,
                self.n_cores, self._matches, self._match_meta, self._stage_par, self._stage_spec, self._stage,
                self._arbiter)

    def account_compiled(self, n_events, until):
        """Record what the :func:`feed_compiled` calls since :meth:`compiled_state` did.

        Parameters
        ----------
        n_events : int
            Events they fed.
        until : float
            Their last horizon, s.
        """
        self._emitted += int(n_events)
        self._until = max(self._until, float(until))

    def _keep_pending(self, merged, merged_ids, consumed):
        """Keep the events from ``consumed`` on (not yet emitted) for the next call."""
        if consumed == merged.size:
            self._pending, self._pending_event = _EMPTY, _NO_IDS
        elif consumed or merged is not self._pending:  # own a copy: the caller may reuse its arrays
            self._pending = EventBatch(*(field[consumed:].copy() for field in merged))
            self._pending_event = merged_ids[consumed:].copy()

    def _store_transit(self, transit_t, transit_f, transit_i):
        """Make the events left in transit by the link-by-link pass the heap (sorted = a heap)."""
        m = transit_t.shape[0]
        self._ensure_capacity(m + 1)
        capacity = self._capacity
        self._slot_f[:m] = transit_f
        self._slot_i[:m] = transit_i
        self._heap_t[:m] = transit_t
        self._heap_event[:m] = transit_i[:, _EVENT] + _ARRIVING
        self._heap_slot[:m] = np.arange(m)
        self._free[:capacity - m] = np.arange(m, capacity)
        self._scal[_FREE_TOP] = capacity - m
        self._scal[_HEAP_SIZE] = m

    def drain(self):
        """Route every pending event to completion (``feed(None, until=inf)``); afterwards the
        router accepts no further events."""
        return self.feed(None, np.inf)
