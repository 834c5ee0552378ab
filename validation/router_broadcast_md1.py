"""Destination-core broadcast stage: M/D/1 mean wait and waiting-time distribution.

Poisson events from the 4 cores of one chip converge on core 0 (every event's core mask is core 0).
The encoders and the chip router cost nothing (service and latency 0), so the copies arrive at
core 0's broadcast stage as one Poisson stream of rate ``lambda``; the stage searches its CAM for
``s = 100 ns`` per event (FIFO of 8 copies, ``stall``: the FIFO is often full at rho = 0.9 and
nothing may be lost). With load ``rho = lambda s``, the M/D/1 queue (Pollaczek-Khinchine for a
deterministic service) gives the mean wait

    W = rho s / (2 (1 - rho)),

and the waiting-time distribution (Erlang 1909; Crommelin 1932)

    P(W <= t) = (1 - rho) sum_{k=0}^{floor(t/s)} [lambda (k s - t)]^k / k! exp(-lambda (k s - t)),

which is ``1 - rho`` at ``t = 0`` (the fraction of arrivals that find the stage idle).

Each load routes 400,000 events in 10 chunks (the stage carries its queue across calls). The waits
are measured per copy from the deliveries (delivery time - latency - s - emission time) and, for
the mean, also from the stage's own statistics. Tolerances: 4 standard errors of the batch-means
estimator (20 consecutive batches, which absorbs the waits' correlation), for the mean and for the
CDF at t = 0, s/2, s, 2s and 4s.
"""

import math
import sys

import numpy as np

from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router
from mixsig.checks import Check, report

SERVICE = 100e-9
"""CAM search time of the broadcast stage, s."""

LATENCY = 50e-9
"""Latency from the end of the search to the synapses, s."""

N_EVENTS = 400_000
BATCHES = 20
PASS = LinkParams(latency=0.0, service_time=0.0, fifo_depth=1, policy="stall")
STAGE = LinkParams(latency=LATENCY, service_time=SERVICE, fifo_depth=8, policy="stall")
ROUNDING = 1e-9
"""Waits are differences of times up to 0.1 s: a copy that found the stage idle waits 0 up to
about 1e-17 s; waits within ``ROUNDING * s`` (1e-16 s) of a grid point count as on it."""
GRID = (0.0, 0.5, 1.0, 2.0, 4.0)
"""Waiting times at which the distribution is compared, in units of ``s``."""


def md1_wait_cdf(t, rho, service):
    """M/D/1 waiting-time distribution ``P(W <= t)`` (Erlang's series, exact for ``t >= 0``)."""
    lam = rho / service
    total = 0.0
    for k in range(int(math.floor(t / service + 1e-12)) + 1):
        x = lam * (k * service - t)
        total += x**k / math.factorial(k) * math.exp(-x)
    return (1.0 - rho) * total


def run_stage(rho, seed, chunks=10):
    """Route Poisson events at load ``rho`` into core 0; return the router and the per-copy waits."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(SERVICE / rho, N_EVENTS))
    batch = make_batch(times, rng.integers(0, 1024, N_EVENTS), 0, rng.integers(0, 4, N_EVENTS), 0, 1, 0)
    router = Router(1, 1, 4, {"core": PASS, "chip": PASS, "mesh": PASS, "broadcast": STAGE})
    edges = np.linspace(times[0], times[-1], chunks + 1)[1:-1].tolist() + [np.inf]
    cuts = np.searchsorted(times, edges[:-1])
    parts = []
    for begin, end, until in zip([0, *cuts], [*cuts, N_EVENTS], edges):
        parts.append(router.feed(batch.take(slice(begin, end)), until=until))
    event = np.concatenate([p.event for p in parts])
    wait = np.concatenate([p.arrival_time - p.emit_time for p in parts]) - (LATENCY + SERVICE)
    return router, wait[np.argsort(event)]


def batch_mean(values):
    """Mean of ``values`` and its batch-means standard error."""
    means = np.array([part.mean() for part in np.array_split(values, BATCHES)])
    return values.mean(), means.std(ddof=1) / np.sqrt(BATCHES)


def main():
    checks = []
    for k, rho in enumerate((0.3, 0.6, 0.9)):
        router, wait = run_stage(rho, seed=40 + k)
        stats = router.broadcast_stats()
        expected = rho * SERVICE / (2 * (1 - rho))
        mean, error = batch_mean(wait)
        checks.append(Check(f"broadcast M/D/1 mean wait, rho = {rho}", "rho s/(2(1-rho)), 4 batch-means SE",
                            expected * 1e9, mean * 1e9, 4 * error / expected, "ns"))
        checks.append(Check(f"broadcast stage statistics = per-copy waits, rho = {rho}", "same copies",
                            mean * 1e9, stats.wait_mean[0] * 1e9, 1e-9, "ns"))
        for t in GRID:
            cdf, error = batch_mean((wait <= (t + ROUNDING) * SERVICE).astype(float))
            checks.append(Check(f"broadcast P(W <= {t:g} s), rho = {rho}", "Erlang M/D/1 series, 4 batch-means SE",
                                md1_wait_cdf(t * SERVICE, rho, SERVICE), cdf, 0.0, "1", atol=4 * error))
        checks.append(Check(f"broadcast stall: conservation, rho = {rho}",
                            "offered = delivered (drained), nothing dropped",
                            float(N_EVENTS), float(stats.delivered[0]), 0.0, "1", atol=0.0))
        if rho == 0.9:
            checks.append(Check("broadcast stall: copies that found the FIFO (K = 8) full, rho = 0.9",
                                "> 0 (back-pressure exercised)", 1.0, float(stats.stalled[0] > 0), 0.0, "1",
                                atol=0.0))
    return report("AER destination-core broadcast stage (M/D/1)", checks)


if __name__ == "__main__":
    sys.exit(main())
