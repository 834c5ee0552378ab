"""AER router throughput: events per second through a 3-level path (core, chip, mesh).

Two chips side by side (2 x 1 board, 4 cores each, placeholder default level timings). Every
event goes from a core of chip 0 through its encoder, chip 0's router, the +x mesh link and
chip 1's router, and is broadcast to all 4 cores of chip 1. Poisson traffic at half the mesh
link's capacity. Figures (same run, same events):

* ``router.events_per_s``          whole batch in one call;
* ``router.events_per_cpu_s``      the same, per second of the process's CPU time (user + system:
  page faults of the output included; less sensitive than the wall time to other processes);
* ``router.chunked_events_per_s``  the same batch fed in 1000 time chunks (engine-like use);
* ``router.unicast_events_per_s``  the same path with core mask 1 (one delivery per event);
* ``router.small_call_us``         wall time of one engine-like call: ~10 events (one per 0.8 us
  step), ``until`` = end of the step, on a router with traffic in flight;
* ``router.empty_call_us``         wall time of one call with no new events (the router drains);
* ``router.baseline_sort_events_per_s``  ``numpy.argsort`` of the event times (lower bound on
  any time-ordered processing);
* ``router.baseline_link_events_per_s``  the single-link recurrence ``d_i = max(a_i, d_{i-1}) + s``.
"""

import os
import time

import numpy as np

from mixsig.aer.events import make_batch
from mixsig.aer.router import DEFAULT_LEVELS, Router, fifo_departures

N_EVENTS = 2_000_000


def _events(n, seed=0, core_mask=15):
    rng = np.random.default_rng(seed)
    rate = 0.5 / DEFAULT_LEVELS["mesh"].service_time
    times = np.cumsum(rng.exponential(1.0 / rate, n))
    return make_batch(times, rng.integers(0, 1024, n), 0, rng.integers(0, 4, n), 1, core_mask, rng.integers(0, 2048, n))


def _best_of(function, repeat=3, cpu=False):
    """Shortest wall time of ``repeat`` calls, s (with ``cpu``: and the shortest process CPU time)."""
    best, best_cpu = np.inf, np.inf
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        best = min(best, time.perf_counter() - start)
    return (best, best_cpu) if cpu else best


def _per_call_us(batch, n_calls=2000, step=0.8e-6):
    """Mean wall time (us) of feeding one step of ~10 events, then of a call with none."""
    edges = batch.time[0] + step * np.arange(2 * n_calls + 1)
    cuts = np.searchsorted(batch.time, edges)
    pieces = [batch.take(slice(cuts[k], cuts[k + 1])) for k in range(n_calls)]
    router = Router(2, 1, 4)
    start = time.perf_counter()
    for piece, until in zip(pieces, edges[1:]):
        router.feed(piece, until=until)
    small = (time.perf_counter() - start) / n_calls * 1e6
    start = time.perf_counter()
    for until in edges[n_calls + 1:]:
        router.feed(None, until=until)
    return small, (time.perf_counter() - start) / n_calls * 1e6


def run():
    """Measure the router and baselines; return ``{figure: value}``."""
    batch = _events(N_EVENTS)
    Router(2, 1, 4).feed(_events(1000, seed=1))  # compile / load the numba cache
    whole, whole_cpu = _best_of(lambda: Router(2, 1, 4).feed(batch), cpu=True)
    edges = np.linspace(batch.time[0], batch.time[-1], 1001)[1:]
    edges[-1] = np.inf
    cuts = np.searchsorted(batch.time, edges[:-1])
    pieces = [batch.take(slice(a, b)) for a, b in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [N_EVENTS]]))]

    def chunked():
        router = Router(2, 1, 4)
        for piece, until in zip(pieces, edges):
            router.feed(piece, until=until)

    chunk = _best_of(chunked, repeat=2)
    unicast_batch = _events(N_EVENTS, core_mask=1)
    unicast = _best_of(lambda: Router(2, 1, 4).feed(unicast_batch))
    _per_call_us(batch, n_calls=50)  # compile / load the numba cache for these call shapes
    small_call, empty_call = _per_call_us(batch)
    sort = _best_of(lambda: np.argsort(batch.time, kind="stable"))
    link = _best_of(lambda: fifo_departures(batch.time, DEFAULT_LEVELS["mesh"]))
    router = Router(2, 1, 4)
    router.feed(batch)
    return {
        "router.events_per_s": N_EVENTS / whole,
        "router.events_per_cpu_s": N_EVENTS / whole_cpu,
        "router.chunked_events_per_s": N_EVENTS / chunk,
        "router.unicast_events_per_s": N_EVENTS / unicast,
        "router.small_call_us": small_call,
        "router.empty_call_us": empty_call,
        "router.baseline_sort_events_per_s": N_EVENTS / sort,
        "router.baseline_link_events_per_s": N_EVENTS / link,
        "router.services_per_event": float(router.link_stats().accepted.sum() / N_EVENTS),
        "router.deliveries_per_event": 4.0,
        "router.load_average_1min": float(os.getloadavg()[0]),
    }


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure}: {value:.4g}")
