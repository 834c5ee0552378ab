"""The destination-core broadcast stage against an event-by-event M/D/1/K reference per core."""

import collections

import numpy as np
import pytest

from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router, feed_compiled

UPSTREAM = {"core": LinkParams(latency=15e-9, service_time=20e-9, fifo_depth=4, policy="stall"),
            "chip": LinkParams(latency=10e-9, service_time=5e-9, fifo_depth=4, policy="stall"),
            "mesh": LinkParams(latency=100e-9, service_time=30e-9, fifo_depth=4, policy="stall")}
FREE = LinkParams(latency=0.0, service_time=0.0, fifo_depth=16, policy="stall")


def traffic(n, seed):
    """Random events between the 4 cores of a 2 x 1 board, random core masks (fan-out), rate
    high enough that the broadcast stages of 100 ns per copy queue."""
    rng = np.random.default_rng(seed)
    time = np.cumsum(rng.exponential(40e-9, n))
    return make_batch(time, rng.integers(0, 256, n), rng.integers(0, 2, n), rng.integers(0, 4, n),
                      rng.integers(0, 2, n), rng.integers(1, 16, n), rng.integers(0, 64, n))


def reference_stage(copies, service, latency, depth, policy):
    """Per core, in arrival order: a deque of the search ends of the copies in the stage.

    ``copies`` are ``(arrival, event, chip, core)`` rows in the order they reach the stages;
    returns ``{(event, chip, core): delivery time}`` and the dropped ``(event, chip, core)``.
    """
    in_stage = collections.defaultdict(collections.deque)
    last = collections.defaultdict(lambda: -np.inf)
    delivered, dropped = {}, set()
    for arrival, event, chip, core in copies:
        key = (chip, core)
        queue = in_stage[key]
        while queue and queue[0] <= arrival:
            queue.popleft()
        if len(queue) >= depth and policy == "drop":
            dropped.add((event, chip, core))
            continue
        if len(queue) >= depth:  # stall: wait at the input port until the oldest copy leaves
            queue.popleft()
        last[key] = max(arrival, last[key]) + service
        queue.append(last[key])
        delivered[(event, chip, core)] = last[key] + latency
    return delivered, dropped


def by_copy(deliveries):
    return {(int(e), int(c), int(k)): float(t) for e, c, k, t in
            zip(deliveries.event, deliveries.dst_chip, deliveries.dst_core, deliveries.arrival_time)}


@pytest.mark.parametrize("policy", ["drop", "stall"])
def test_stage_matches_the_reference_and_conserves_copies(policy):
    batch = traffic(3000, seed=1)
    fanned = Router(2, 1, 4, {**UPSTREAM, "broadcast": FREE}).feed(batch)  # arrivals at the cores
    stage = LinkParams(latency=30e-9, service_time=100e-9, fifo_depth=2, policy=policy)
    expected, lost = reference_stage(zip(fanned.arrival_time, fanned.event, fanned.dst_chip, fanned.dst_core),
                                     stage.service_time, stage.latency, stage.fifo_depth, policy)
    router = Router(2, 1, 4, {**UPSTREAM, "broadcast": stage})
    edges = np.append(np.linspace(batch.time[0], batch.time[-1], 7)[1:-1], np.inf)
    cuts = np.searchsorted(batch.time, edges[:-1])
    parts = []
    for begin, end, until in zip([0, *cuts], [*cuts, batch.size], edges):
        parts.append(router.feed(batch.take(slice(begin, end)), until=until))
        assert all(p.arrival_time.max(initial=-np.inf) < until for p in parts[-1:])
        stats = router.broadcast_stats()
        np.testing.assert_array_equal(stats.offered, stats.delivered + stats.dropped + stats.in_flight)
        assert stats.in_flight.sum() == router.broadcast_in_flight
        assert router.emitted == router.delivered + router.dropped + router.in_flight
    got = {}
    for part in parts:
        assert np.all(np.diff(part.arrival_time) >= 0)
        got.update(by_copy(part))
    assert got.keys() == expected.keys()
    np.testing.assert_array_equal([got[k] for k in expected], list(expected.values()))
    stats = router.broadcast_stats()
    assert stats.dropped.sum() == len(lost) and (len(lost) > 0) == (policy == "drop")
    assert (stats.stalled.sum() > 0) == (policy == "stall")
    received, _ = router.receptions()
    np.testing.assert_array_equal(received.ravel(), stats.accepted)
    assert stats.offered.sum() == fanned.size


def test_mean_wait_and_sojourn_statistics():
    stage = LinkParams(latency=30e-9, service_time=100e-9, fifo_depth=64, policy="stall")
    router = Router(2, 1, 4, {**UPSTREAM, "broadcast": stage})
    out = router.feed(traffic(2000, seed=2))
    stats = router.broadcast_stats()
    link = out.dst_chip * 4 + out.dst_core
    fanned = Router(2, 1, 4, {**UPSTREAM, "broadcast": FREE}).feed(traffic(2000, seed=2))
    arrival = by_copy(fanned)
    sojourn = out.arrival_time - np.array([arrival[k] for k in by_copy(out)])
    for core in range(8):
        mine = sojourn[link == core]
        assert stats.latency_mean[core] == pytest.approx(mine.mean(), rel=1e-9)
        assert stats.wait_mean[core] == pytest.approx(mine.mean() - 130e-9, rel=1e-9, abs=1e-18)
        assert stats.latency_max[core] == pytest.approx(mine.max(), rel=1e-12)


@pytest.mark.parametrize("stage", [LinkParams(latency=30e-9, service_time=100e-9, fifo_depth=2, policy="drop"), FREE],
                         ids=["queueing", "free"])
def test_compiled_feed_equals_feed(stage):
    """The compiled path always runs the stage's event loop; ``feed`` only counts copies through a
    cost-free stage (``count_free``): both give the same copies and statistics."""
    batch = traffic(800, seed=3)
    step = 1e-6
    edges = np.arange(batch.time[0] + step, batch.time[-1] + 40 * step, step)
    cuts = np.searchsorted(batch.time, edges)
    plain = Router(2, 1, 4, {**UPSTREAM, "broadcast": stage})
    compiled = Router(2, 1, 4, {**UPSTREAM, "broadcast": stage})
    fed = 0
    for begin, end, until in zip([0, *cuts[:-1]], cuts, edges):
        piece = batch.take(slice(begin, end))
        expected = plain.feed(piece, until=until)
        usable, state = compiled.compiled_state(64)
        assert usable
        ints = np.stack([piece.source, piece.src_chip, piece.src_core, piece.dst_chip, piece.core_mask, piece.tag])
        event, tag, chip, core = feed_compiled(state, float(until), piece.time.copy(), fed, ints.astype(np.int64))
        compiled.account_compiled(piece.size, until)
        fed += piece.size
        for got, want in zip((event, tag, chip, core), (expected.event, expected.tag, expected.dst_chip,
                                                         expected.dst_core)):
            np.testing.assert_array_equal(got, want)
    for got, want in zip(compiled.broadcast_stats(), plain.broadcast_stats()):
        np.testing.assert_array_equal(got, want)
    assert plain.broadcast_stats().delivered.sum() > 0
    assert compiled.broadcast_in_flight == plain.broadcast_in_flight == 0
