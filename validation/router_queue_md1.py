"""AER link queueing: M/D/1 mean wait, finite-FIFO loss and stall conservation.

A single router link (core encoder; the other levels cost nothing) with constant service time
``1/mu`` is driven by Poisson events at load ``rho = lambda/mu``. Queueing theory (Pollaczek-
Khinchine for deterministic service, M/D/1) gives the mean queueing delay

    W = rho / (2 mu (1 - rho)).

Measured over 1e6 events per load, fed to the router in 10 time chunks. The FIFO holds only 8
events with the ``stall`` policy, so back-pressure occurs often at rho = 0.9 and nothing may be
lost. With the ``drop`` policy and a FIFO of 2 events, the loss fraction must equal that of an
independent event-by-event M/D/1/K loop (deque of departure times).
"""

import collections
import sys

import numpy as np

from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router
from mixsig.checks import Check, report

MU = 1.0e7
"""Service rate of the link, events/s (service time 100 ns)."""

N_EVENTS = 1_000_000
PASS = LinkParams(latency=0.0, service_time=0.0, fifo_depth=1, policy="stall")


def poisson_times(rate, n, seed):
    """Sorted Poisson event times, s."""
    return np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, n))


def run_link(link, times, chunks=10):
    """Feed ``times`` through a one-link router in ``chunks`` pieces; return the router."""
    router = Router(1, 1, 1, {"core": link, "chip": PASS, "mesh": PASS})
    edges = np.linspace(times[0], times[-1], chunks + 1)[1:-1].tolist() + [np.inf]
    start = -np.inf
    for until in edges:
        selected = (times >= start) & (times < until)
        router.feed(make_batch(times[selected], 0, 0, 0, 0, 1, 0), until=until)
        start = until
    return router


def reference_loss(times, service, depth):
    """Fraction of events an M/D/1/K queue (K = depth, waiting + in service) loses."""
    in_link, last, lost = collections.deque(), -np.inf, 0
    for a in times:
        while in_link and in_link[0] <= a:
            in_link.popleft()
        if len(in_link) >= depth:
            lost += 1
            continue
        last = max(a, last) + service
        in_link.append(last)
    return lost / len(times)


def main():
    checks = []
    stall = LinkParams(latency=50e-9, service_time=1.0 / MU, fifo_depth=8, policy="stall")
    for k, rho in enumerate((0.5, 0.9)):
        router = run_link(stall, poisson_times(rho * MU, N_EVENTS, seed=20 + k))
        stats = router.link_stats()
        checks.append(Check(f"M/D/1 mean wait, rho = {rho}", "rho/(2 mu (1-rho))",
                            rho / (2 * MU * (1 - rho)) * 1e9, stats.wait_mean[0] * 1e9, 0.05, "ns"))
        checks.append(Check(f"stall: events lost, rho = {rho}", "back-pressure loses nothing",
                            0.0, float(router.dropped), 0.0, "1", atol=0.0))
        checks.append(Check(f"stall: delivered / emitted, rho = {rho}", "conservation, drained",
                            1.0, router.delivered / router.emitted, 0.0, "1", atol=0.0))
    drop = LinkParams(latency=50e-9, service_time=1.0 / MU, fifo_depth=2, policy="drop")
    times = poisson_times(0.9 * MU, 200_000, seed=30)
    router = run_link(drop, times)
    checks.append(Check("drop: loss fraction, rho = 0.9, K = 2", "event-by-event M/D/1/K loop",
                        reference_loss(times, 1.0 / MU, 2), router.dropped / router.emitted, 1e-12, "1"))
    checks.append(Check("drop: emitted - delivered - dropped", "conservation, drained",
                        0.0, float(router.emitted - router.delivered - router.dropped), 0.0, "1", atol=0.0))
    return report("AER router queueing (M/D/1, M/D/1/K)", checks)


if __name__ == "__main__":
    sys.exit(main())
