"""Back-pressure: a tandem of finite-buffer queues with blocking, against an event-by-event reference.

One core of a DYNAP-like chip sends every event to the other chip of a 2 x 1 board: core
encoder (FIFO ``K1``) -> chip router 0 (``K2``) -> +x mesh hop (``K3``) -> chip router 1 (``K4``)
-> broadcast. Every level is ``stall``. With the chip routers slower than the encoder and Poisson
traffic above the routers' capacity, FIFOs fill: a server that has served an event holds it (and
cannot serve the next one) until the next FIFO has a free place, so blocking propagates back to
the encoder and the neurons' events wait at the source (blocking after service, credit taken when
the event is handed over). A mesh hop never holds its server (it waits at the destination router's
input port), which keeps the chip router, shared by both directions, free of deadlock.

Reference: the departure recursion of a tandem line with blocking after service, event by event
in plain Python (for event ``i`` and stations ``j`` in path order; ``R_j(i)`` = time station ``j``
hands event ``i`` over):

    enter_1(i) = max(a_i, R_1(i - K_1))                      the neuron waits for a place
    start_j(i) = max(enter_j(i), R_j(i - 1)),  done_j(i) = start_j(i) + s_j
    R_j(i)     = max(done_j(i), R_{j+1}(i - K_{j+1}))        held until a place is free
    enter_{j+1}(i) = R_j(i) + L_j                             (mesh hop: R = done, and
                                                               enter = max(R + L, R_next(i - K)))

Checks: every delivery time (max abs error), mean neuron-side delay, the conservation
``emitted = delivered + dropped + in flight`` after each of 20 time chunks with full FIFOs, and
that blocking happened (events held, stalled).
"""

import sys

import numpy as np

from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router
from mixsig.checks import Check, report

N_EVENTS = 20_000
LEVELS = {
    "core": LinkParams(latency=10e-9, service_time=20e-9, fifo_depth=4, policy="stall"),
    "chip": LinkParams(latency=20e-9, service_time=50e-9, fifo_depth=2, policy="stall"),
    "mesh": LinkParams(latency=100e-9, service_time=40e-9, fifo_depth=3, policy="stall"),
}
RATE = 2.4e7
"""Offered events/s: 1.2 x the chip router's capacity (the encoder's is 5e7)."""


def tandem_reference(arrival, stations):
    """Hand-over times of a tandem line with blocking after service.

    Parameters
    ----------
    arrival : sequence of float
        Emission times, s, non-decreasing.
    stations : list of (service_time, latency, depth, holds)
        In path order; ``holds``: the station's server waits for a place at the next station
        (False: it hands over at once and the event waits at the next station's input).

    Returns
    -------
    enter, release : ndarray, shape (n, n_stations)
        Time each event takes a place at / is handed over by each station, s.
    """
    n, m = len(arrival), len(stations)
    enter = np.zeros((n, m))
    release = np.zeros((n, m))
    for i in range(n):
        ready = arrival[i]
        for j, (service, latency, depth, holds) in enumerate(stations):
            enter[i, j] = max(ready, release[i - depth, j]) if i >= depth else ready
            start = max(enter[i, j], release[i - 1, j]) if i >= 1 else enter[i, j]
            done = start + service
            release[i, j] = done
            if holds and j + 1 < m:
                depth_next = stations[j + 1][2]
                if i >= depth_next:
                    release[i, j] = max(done, release[i - depth_next, j + 1])
            ready = release[i, j] + latency
    return enter, release


def main():
    rng = np.random.default_rng(19)
    times = np.cumsum(rng.exponential(1.0 / RATE, N_EVENTS))
    batch = make_batch(times, 0, 0, 0, 1, 0b11, 0)
    router = Router(2, 1, 2, LEVELS)
    cuts = np.linspace(times[0], times[-1], 21)[1:-1].tolist() + [np.inf]
    parts, start, conserved, in_flight = [], -np.inf, True, []
    for cut in cuts:
        selected = (times >= start) & (times < cut)
        parts.append(router.feed(batch.take(selected), until=cut))
        conserved &= router.emitted == router.delivered + router.dropped + router.in_flight
        in_flight.append(router.in_flight)
        start = cut
    arrival = np.concatenate([part.arrival_time for part in parts])
    event = np.concatenate([part.event for part in parts])
    measured = np.empty(N_EVENTS)
    measured[event] = arrival  # both cores receive each event at the same time
    stations = [(p.service_time, p.latency, p.fifo_depth, name != "mesh")
                for name, p in (("core", LEVELS["core"]), ("chip", LEVELS["chip"]), ("mesh", LEVELS["mesh"]),
                                ("chip", LEVELS["chip"]))]
    enter, release = tandem_reference(times, stations)
    expected = release[:, -1] + LEVELS["chip"].latency
    stats = router.link_stats()
    encoder = router.link_id("core", 0, 0)
    checks = [
        Check("delivery times, max |error|", "tandem recursion with blocking", 0.0,
              float(np.max(np.abs(measured - expected))) * 1e9, 0.0, "ns", atol=1e-6),
        Check("mean delivery latency", "tandem recursion with blocking", float(np.mean(expected - times)) * 1e9,
              float(np.mean(measured - times)) * 1e9, 1e-9, "ns"),
        Check("mean wait at the encoder (incl. at the neuron)", "tandem recursion: start_1 - a",
              float(np.mean(np.maximum(enter[:, 0], np.concatenate([[-np.inf], release[:-1, 0]])) - times)) * 1e9,
              float(stats.wait_mean[encoder]) * 1e9, 1e-9, "ns"),
        Check("events held or stalled", "FIFOs fill above capacity", 1.0,
              float(stats.stalled.sum() > 0 and stats.hold_max.max() > 0), 0.0, "1", atol=0.0),
        Check("largest in flight at a chunk end", "blocking keeps events inside", 1.0,
              float(max(in_flight) > 10), 0.0, "1", atol=0.0),
        Check("emitted = delivered + dropped + in flight", "after each of 20 chunks", 1.0, float(conserved),
              0.0, "1", atol=0.0),
        Check("events lost", "stall loses nothing", 0.0, float(router.dropped), 0.0, "1", atol=0.0),
    ]
    return report("Back-pressure: tandem of finite-buffer queues with blocking", checks)


if __name__ == "__main__":
    sys.exit(main())
