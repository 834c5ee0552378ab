"""Address events: batches entering the AER router and deliveries leaving it.

An *event* is one spike of one source neuron sent to one SRAM destination. It carries its exact
emission time ``time`` (s) and the routing fields of that destination:

* ``source``   global source (neuron) id,
* ``src_chip`` chip index of the source, ``chip = y * nx + x`` on an ``nx`` x ``ny`` board,
* ``src_core`` core of the source on its chip,
* ``dst_chip`` destination chip index,
* ``core_mask`` bit ``k`` set: the event is broadcast to core ``k`` of the destination chip,
* ``tag``      the tag the destination CAMs match on.

A spike of a neuron with ``m`` SRAM destinations becomes ``m`` events (:func:`events_from_spikes`).
A *delivery* is one event arriving at one core of its destination chip; a broadcast to a mask
with ``p`` bits set gives ``p`` deliveries with the same arrival time.
"""

import typing

import numba
import numpy as np

from mixsig.errors import ConfigError, Problem

MAX_HOP = 7
"""Largest ``|dx|`` or ``|dy|`` an SRAM destination can encode (DYNAP-SE2: 4-bit signed, [-7, 7])."""


class EventBatch(typing.NamedTuple):
    """A batch of address events, one row per (spike, SRAM destination).

    All fields are 1-D arrays of the same length ``n``.

    Attributes
    ----------
    time : ndarray of float64, shape (n,)
        Emission time, s.
    source : ndarray of int64, shape (n,)
        Global source (neuron) id.
    src_chip, src_core : ndarray of int64, shape (n,)
        Chip index and core of the source.
    dst_chip : ndarray of int64, shape (n,)
        Destination chip index.
    core_mask : ndarray of int64, shape (n,)
        Destination core mask (bit ``k`` = core ``k``), at least one bit set.
    tag : ndarray of int64, shape (n,)
        Tag matched by the destination CAMs.
    """

    time: np.ndarray
    source: np.ndarray
    src_chip: np.ndarray
    src_core: np.ndarray
    dst_chip: np.ndarray
    core_mask: np.ndarray
    tag: np.ndarray

    @property
    def size(self):
        """Number of events."""
        return int(self.time.shape[0])

    def take(self, index):
        """The events selected by ``index``.

        Parameters
        ----------
        index : ndarray of int, slice or ndarray of bool
            Selection along the event axis.

        Returns
        -------
        EventBatch
        """
        return EventBatch(*(field[index] for field in self))

    @classmethod
    def concatenate(cls, batches):
        """One batch holding the events of ``batches`` in order.

        Parameters
        ----------
        batches : iterable of EventBatch

        Returns
        -------
        EventBatch
            Empty when ``batches`` is.
        """
        batches = list(batches)
        if not batches:
            return empty_batch()
        return cls(*(np.concatenate(fields) for fields in zip(*batches)))


def make_batch(time, source, src_chip, src_core, dst_chip, core_mask, tag):
    """Build an :class:`EventBatch` from array-likes (broadcast to a common 1-D shape).

    Parameters
    ----------
    time : array_like of float
        Emission times, s.
    source, src_chip, src_core, dst_chip, core_mask, tag : array_like of int
        Routing fields (see :class:`EventBatch`); scalars are broadcast.

    Returns
    -------
    EventBatch
    """
    time = np.atleast_1d(np.asarray(time, dtype=np.float64))
    ints = [np.asarray(value, dtype=np.int64) for value in (source, src_chip, src_core, dst_chip, core_mask, tag)]
    arrays = np.broadcast_arrays(time, *ints)
    return EventBatch(*(np.ascontiguousarray(array.reshape(-1)) for array in arrays))


def empty_batch():
    """An :class:`EventBatch` with no events."""
    return make_batch(np.zeros(0), 0, 0, 0, 0, 1, 0)


def validate_batch(batch, nx, ny, n_cores, max_hop=MAX_HOP, source="<events>"):
    """Check that every event of ``batch`` can be routed on an ``nx`` x ``ny`` board.

    Parameters
    ----------
    batch : EventBatch
    nx, ny : int
        Board shape in chips.
    n_cores : int
        Cores per chip.
    max_hop : int
        Largest ``|dx|``, ``|dy|`` an SRAM destination encodes.
    source : str
        Name used in error messages.

    Raises
    ------
    mixsig.errors.ConfigError
        Listing the first offending event of every kind of defect.
    """
    n_chips = nx * ny
    if _routable(batch.time, batch.src_chip, batch.src_core, batch.dst_chip, batch.core_mask, nx, n_chips, n_cores,
                 max_hop):
        return
    problems = []

    def check(bad, key, values, expected):
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            problems.append(Problem(source, f"{key}[{first}]", values[first].item(),
                                    f"{expected} ({int(np.count_nonzero(bad))} event(s) affected)"))

    check(~np.isfinite(batch.time), "time", batch.time, "a finite time in s")
    check((batch.src_chip < 0) | (batch.src_chip >= n_chips), "src_chip", batch.src_chip, f"a chip index in [0, {n_chips - 1}]")
    check((batch.dst_chip < 0) | (batch.dst_chip >= n_chips), "dst_chip", batch.dst_chip, f"a chip index in [0, {n_chips - 1}]")
    check((batch.src_core < 0) | (batch.src_core >= n_cores), "src_core", batch.src_core, f"a core in [0, {n_cores - 1}]")
    check((batch.core_mask < 1) | (batch.core_mask >= (1 << n_cores)), "core_mask", batch.core_mask,
          f"a core mask in [1, {(1 << n_cores) - 1}]")
    src = np.clip(batch.src_chip, 0, n_chips - 1)
    dst = np.clip(batch.dst_chip, 0, n_chips - 1)
    dx = dst % nx - src % nx
    dy = dst // nx - src // nx
    check(np.abs(dx) > max_hop, "dst_chip", batch.dst_chip, f"a chip at most {max_hop} hops away along x")
    check(np.abs(dy) > max_hop, "dst_chip", batch.dst_chip, f"a chip at most {max_hop} hops away along y")
    if problems:
        raise ConfigError(problems, "event batch")


@numba.njit(cache=True, inline="always")
def accumulate(stats, row, column, value):
    """Add ``value`` to the (sum, sum of squares, max) block starting at ``column`` of ``stats[row]``."""
    stats[row, column] += value
    stats[row, column + 1] += value * value
    if value > stats[row, column + 2]:
        stats[row, column + 2] = value


@numba.njit(cache=True, inline="always")
def put_delivery(out_event, out_source, out_tag, out_chip, out_core, out_emit, out_arrival, n, event, source, tag,
                 chip, core, emit, arrival):
    """Write one delivered copy (an event reaching the synapses of ``core`` of ``chip`` at ``arrival``) to row ``n``."""
    out_event[n] = event
    out_source[n] = source
    out_tag[n] = tag
    out_chip[n] = chip
    out_core[n] = core
    out_emit[n] = emit
    out_arrival[n] = arrival


@numba.njit(cache=True)
def _routable(time, src_chip, src_core, dst_chip, core_mask, nx, n_chips, n_cores, max_hop):
    """Whether every event passes the checks of :func:`validate_batch` (one compiled pass; the
    checks are then repeated with numpy only to describe a defect)."""
    for k in range(time.shape[0]):
        if not np.isfinite(time[k]):
            return False
        src, dst = src_chip[k], dst_chip[k]
        if src < 0 or src >= n_chips or dst < 0 or dst >= n_chips:
            return False
        if src_core[k] < 0 or src_core[k] >= n_cores or core_mask[k] < 1 or core_mask[k] >= (1 << n_cores):
            return False
        if abs(dst % nx - src % nx) > max_hop or abs(dst // nx - src // nx) > max_hop:
            return False
    return True


class SramTable(typing.NamedTuple):
    """SRAM destinations (fan-out) of source neurons, one row per (source, destination).

    Attributes
    ----------
    src : ndarray of int64, shape (m,)
        Global source id owning the entry.
    dst_chip, core_mask, tag : ndarray of int64, shape (m,)
        Destination chip, core mask and tag of the entry.
    """

    src: np.ndarray
    dst_chip: np.ndarray
    core_mask: np.ndarray
    tag: np.ndarray


@numba.njit(cache=True)
def unsorted(values):
    """Whether a 1-D array is not in ascending order (a linear pass)."""
    for k in range(1, values.shape[0]):
        if values[k] < values[k - 1]:
            return True
    return False


SORT_RUN = 16
"""Length of the runs :func:`stable_argsort` sorts by insertion before merging them."""


@numba.njit(cache=True)
def stable_argsort(values):
    """Indices that sort a 1-D float64 array in ascending order, ties in index order.

    What ``np.argsort(values, kind="stable")`` returns for values without NaN: insertion sort of
    runs of :data:`SORT_RUN`, then bottom-up merges. Written out because numba's own stable sort
    (its mergesort and the string handling of ``kind``) cost about 2 CPU-s to compile on every
    cold start.

    Parameters
    ----------
    values : ndarray of float64, shape (n,)

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    n = values.shape[0]
    order = np.arange(n)
    for low in range(0, n, SORT_RUN):
        for i in range(low + 1, min(low + SORT_RUN, n)):
            index = order[i]
            j = i
            while j > low and values[order[j - 1]] > values[index]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = index
    work = np.empty(n, dtype=np.int64)
    width = SORT_RUN
    while width < n:
        for low in range(0, n, 2 * width):
            middle, high = min(low + width, n), min(low + 2 * width, n)
            i, j = low, middle
            for k in range(low, high):
                if j == high or (i < middle and values[order[i]] <= values[order[j]]):
                    work[k] = order[i]
                    i += 1
                else:
                    work[k] = order[j]
                    j += 1
        order, work = work, order
        width *= 2
    return order


@numba.njit(cache=True, inline="always")
def _bisect(ascending, value, right):
    """First index ``i`` of ``ascending`` with ``ascending[i] >= value`` (``> value`` when ``right``);
    ``np.searchsorted(ascending, value, side="right" if right else "left")``."""
    low, high = 0, ascending.shape[0]
    while low < high:
        middle = (low + high) // 2
        if ascending[middle] < value or (right and ascending[middle] == value):
            low = middle + 1
        else:
            high = middle
    return low


@numba.njit(cache=True)
def expand_spikes(spike_time, spike_source, src, order, dst_chip, core_mask, tag, n_cores, neurons_per_core):
    """:func:`events_from_spikes` on arrays, compiled.

    ``src`` is the SRAM table's source column in ascending order and ``order[k]`` the table entry
    at sorted position ``k`` (an empty ``order``: the table is stored sorted). Returns the events'
    times (ascending, stable) and their ``(6, n)`` integer fields ``source, src_chip, src_core,
    dst_chip, core_mask, tag``.
    """
    k_spikes = spike_source.shape[0]
    first = np.empty(k_spikes, dtype=np.int64)
    last = np.empty(k_spikes, dtype=np.int64)
    n = 0
    for k in range(k_spikes):
        first[k] = _bisect(src, spike_source[k], False)
        last[k] = _bisect(src, spike_source[k], True)
        n += last[k] - first[k]
    time = np.empty(n)
    ints = np.empty((6, n), dtype=np.int64)
    per_chip = n_cores * neurons_per_core
    e = 0
    for k in range(k_spikes):
        source = spike_source[k]
        for position in range(first[k], last[k]):
            entry = order[position] if order.shape[0] else position
            time[e] = spike_time[k]
            ints[0, e] = source
            ints[1, e] = source // per_chip
            ints[2, e] = (source // neurons_per_core) % n_cores
            ints[3, e] = dst_chip[entry]
            ints[4, e] = core_mask[entry]
            ints[5, e] = tag[entry]
            e += 1
    if unsorted(time):
        by_time = stable_argsort(time)
        sorted_time = np.empty(n)
        sorted_ints = np.empty((6, n), dtype=np.int64)
        for e in range(n):
            sorted_time[e] = time[by_time[e]]
            for row in range(6):
                sorted_ints[row, e] = ints[row, by_time[e]]
        time, ints = sorted_time, sorted_ints
    return time, ints


def events_from_spikes(spike_time, spike_source, sram, n_cores, neurons_per_core):
    """Expand spikes into address events, one per SRAM destination of the spiking source.

    Global source ids follow ``g = (chip * n_cores + core) * neurons_per_core + neuron``.

    Parameters
    ----------
    spike_time : array_like of float, shape (k,)
        Spike times, s.
    spike_source : array_like of int, shape (k,)
        Global id of the spiking neuron.
    sram : SramTable
        SRAM entries (several entries per source are its several destinations). A table stored
        sorted by source (as the engine keeps it) is expanded without sorting it.
    n_cores, neurons_per_core : int
        Chip geometry used to split global ids into (chip, core).

    Returns
    -------
    EventBatch
        Events sorted by time (stable: ties keep spike order, then SRAM entry order).
    """
    spike_time = np.ascontiguousarray(spike_time, dtype=np.float64).reshape(-1)
    spike_source = np.ascontiguousarray(spike_source, dtype=np.int64).reshape(-1)
    src = np.ascontiguousarray(sram.src, dtype=np.int64)
    order = np.zeros(0, dtype=np.int64)
    if unsorted(src):
        order = np.argsort(src, kind="stable")
        src = src[order]
    fields = (np.ascontiguousarray(field, dtype=np.int64) for field in (sram.dst_chip, sram.core_mask, sram.tag))
    time, ints = expand_spikes(spike_time, spike_source, src, order, *fields, int(n_cores), int(neurons_per_core))
    return EventBatch(time, *ints)


class Deliveries(typing.NamedTuple):
    """Events delivered to destination cores, one row per (event, destination core).

    Attributes
    ----------
    event : ndarray of int64, shape (p,)
        Router-wide event number (order in which events were fed, from 0).
    source, tag : ndarray of int64, shape (p,)
        Source id and tag of the event.
    dst_chip, dst_core : ndarray of int64, shape (p,)
        Core that received the event.
    emit_time : ndarray of float64, shape (p,)
        Emission time, s.
    arrival_time : ndarray of float64, shape (p,)
        Arrival time at the destination core, s.
    """

    event: np.ndarray
    source: np.ndarray
    tag: np.ndarray
    dst_chip: np.ndarray
    dst_core: np.ndarray
    emit_time: np.ndarray
    arrival_time: np.ndarray

    @property
    def size(self):
        """Number of deliveries."""
        return int(self.event.shape[0])

    @classmethod
    def concatenate(cls, parts):
        """One record holding the deliveries of ``parts`` in order.

        Parameters
        ----------
        parts : iterable of Deliveries

        Returns
        -------
        Deliveries
        """
        return cls(*(np.concatenate(fields) for fields in zip(*parts)))
