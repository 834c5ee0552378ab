"""Tests of the AER router against closed forms and independent event-by-event reference loops."""

import collections
import importlib.util
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixsig.aer.events import SramTable, events_from_spikes, make_batch
from mixsig.aer.router import DEFAULT_LEVELS, LinkParams, Router, fifo_departures
from mixsig.errors import ConfigError

PASS = LinkParams(latency=0.0, service_time=0.0, fifo_depth=1, policy="stall")


def single_link_router(link):
    """A 1-chip, 1-core router whose only cost is the core encoder ``link``."""
    return Router(1, 1, 1, {"core": link, "chip": PASS, "mesh": PASS}, trace=True)


def poisson_batch(rate, n, seed):
    rng = np.random.default_rng(seed)
    time = np.cumsum(rng.exponential(1.0 / rate, n))
    return make_batch(time, 0, 0, 0, 0, 1, 0)


# ---------------------------------------------------------------------------------------------
# independent references


def reference_single_link(arrival, service, depth, policy):
    """Event-by-event M/D/1/K: keep the departure times of the events in the link in a deque."""
    in_link = collections.deque()
    last = -np.inf
    departures, dropped = [], []
    for a in arrival:
        while in_link and in_link[0] <= a:
            in_link.popleft()
        if len(in_link) >= depth and policy == "drop":
            dropped.append(True)
            departures.append(np.nan)
            continue
        last = max(a, last) + service
        in_link.append(last)
        departures.append(last)
        dropped.append(False)
    return np.array(departures), np.array(dropped)


def reference_path(router, src_chip, src_core, dst_chip):
    """Links of an event: encoder, source router, x-first then y mesh hops, destination router."""
    nx = router.nx
    path = [router.link_id("core", src_chip, src_core), router.link_id("chip", src_chip)]
    x, y = src_chip % nx, src_chip // nx
    tx, ty = dst_chip % nx, dst_chip // nx
    while x != tx:
        step = 1 if tx > x else -1
        path.append(router.link_id("mesh", y * nx + x, "+x" if step > 0 else "-x"))
        x += step
    while y != ty:
        step = 1 if ty > y else -1
        path.append(router.link_id("mesh", y * nx + x, "+y" if step > 0 else "-y"))
        y += step
    if dst_chip != src_chip:
        path.append(router.link_id("chip", dst_chip))
    return path


def unblocked(levels):
    """``levels`` with every stall FIFO deep enough (65536) that no sender is ever held: the
    router is then the plain FIFO recurrence of :func:`reference_router`."""
    return {name: LinkParams(p.latency, p.service_time, 65536, p.policy) if p.policy == "stall" else p
            for name, p in levels.items()}


def reference_router(router, levels_by_link, batch):
    """Naive global-time event loop: at each step advance the event whose next arrival is
    earliest (linear scan), counting in-link events directly from their departure times.
    Stall links are unbounded here: exact when no stall FIFO fills (:func:`unblocked`)."""
    paths = [reference_path(router, int(sc), int(co), int(dc))
             for sc, co, dc in zip(batch.src_chip, batch.src_core, batch.dst_chip)]
    position = [0] * batch.size
    next_time = [float(t) for t in batch.time]
    active = set(range(batch.size))
    departures = collections.defaultdict(list)
    dropped = collections.Counter()
    deliveries = []
    while active:
        e = min(active, key=lambda k: (next_time[k], k))
        t = next_time[e]
        if position[e] == len(paths[e]):
            for core in range(router.n_cores):
                if (int(batch.core_mask[e]) >> core) & 1:
                    deliveries.append((e, int(batch.dst_chip[e]), core, t))
            active.remove(e)
            continue
        link = paths[e][position[e]]
        params = levels_by_link[link]
        held = sum(d > t for d in departures[link])
        if held >= params.fifo_depth and params.policy == "drop":
            dropped[link] += 1
            active.remove(e)
            continue
        last = departures[link][-1] if departures[link] else -np.inf
        departure = max(t, last) + params.service_time
        departures[link].append(departure)
        next_time[e] = departure + params.latency
        position[e] += 1
    return sorted(deliveries), dropped


def level_of(router, link):
    return router.levels[str(router.link_stats().kind[link])]


# ---------------------------------------------------------------------------------------------
# single link


def test_md1_mean_wait_matches_closed_form():
    mu, rho = 1e7, 0.5
    router = single_link_router(LinkParams(latency=0.0, service_time=1.0 / mu, fifo_depth=65536, policy="stall"))
    router.feed(poisson_batch(rho * mu, 200_000, seed=1))
    stats = router.link_stats()
    expected = rho / (2 * mu * (1 - rho))
    assert stats.wait_mean[0] == pytest.approx(expected, rel=0.05)
    assert stats.latency_mean[0] == pytest.approx(expected + 1.0 / mu, rel=0.05)


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_drop_matches_reference_loop(depth):
    link = LinkParams(latency=3e-8, service_time=1e-7, fifo_depth=depth, policy="drop")
    batch = poisson_batch(0.9e7, 20_000, seed=depth)
    router = single_link_router(link)
    out = router.feed(batch)
    departure, dropped = reference_single_link(batch.time, link.service_time, depth, "drop")
    assert router.dropped == int(dropped.sum()) > 0
    np.testing.assert_array_equal(out.event, np.flatnonzero(~dropped))
    np.testing.assert_allclose(out.arrival_time, departure[~dropped] + link.latency, rtol=1e-14)
    assert router.dropped / router.emitted == pytest.approx(dropped.mean(), abs=0)


def test_stall_loses_nothing_and_equals_unbounded_fifo():
    link = LinkParams(latency=1e-8, service_time=1e-7, fifo_depth=2, policy="stall")
    batch = poisson_batch(0.95e7, 20_000, seed=3)
    router = single_link_router(link)
    out = router.feed(batch)
    departure, _ = reference_single_link(batch.time, link.service_time, np.inf, "stall")
    assert router.dropped == 0 and router.delivered == router.emitted == batch.size
    np.testing.assert_allclose(out.arrival_time, departure + link.latency, rtol=1e-14)
    stats = router.link_stats()
    held_full = [sum(d > a for d in departure[max(0, k - 2):k]) >= 2 for k, a in enumerate(batch.time)]
    assert stats.stalled[0] == sum(held_full) > 0


def test_fifo_departures_matches_reference_loop():
    batch = poisson_batch(1.0, 5000, seed=4)
    for policy in ("stall", "drop"):
        link = LinkParams(latency=0.0, service_time=0.8, fifo_depth=3, policy=policy)
        _, departure, dropped = fifo_departures(batch.time, link)
        expected, expected_dropped = reference_single_link(batch.time, 0.8, 3, policy)
        np.testing.assert_array_equal(dropped, expected_dropped)
        np.testing.assert_allclose(departure[~dropped], expected[~dropped], rtol=1e-14)


def test_link_params_validation():
    with pytest.raises(ConfigError) as info:
        LinkParams(latency=-1.0, service_time=float("nan"), fifo_depth=0, policy="queue")
    assert len(info.value.problems) == 4


# ---------------------------------------------------------------------------------------------
# paths and fan-out


@pytest.mark.parametrize("nx, ny", [(2, 2), (4, 4)])
def test_mesh_paths_are_dimension_ordered(nx, ny):
    router = Router(nx, ny, 4, trace=True)
    pairs = [(s, d) for s in range(nx * ny) for d in range(nx * ny)]
    src = np.array([p[0] for p in pairs])
    dst = np.array([p[1] for p in pairs])
    batch = make_batch(np.arange(len(pairs)) * 1e-3, src, src, src % 4, dst, 1, 0)
    router.feed(batch)
    hops = router.hops()
    for event, (s, d) in enumerate(pairs):
        links = hops.link[hops.event == event].tolist()
        assert links == reference_path(router, s, s % 4, d)
        x_hops, y_hops = abs(d % nx - s % nx), abs(d // nx - s // nx)
        assert len(links) == 2 + x_hops + y_hops + (d != s)


def test_broadcast_fans_out_to_every_core_of_the_mask():
    router = Router(2, 1, 4)
    masks = np.arange(1, 16)
    batch = make_batch(np.arange(15) * 1e-3, 0, 0, 0, 1, masks, 0)
    out = router.feed(batch)
    assert out.size == sum(bin(m).count("1") for m in masks)
    for event, mask in enumerate(masks):
        cores = out.dst_core[out.event == event]
        assert sorted(cores.tolist()) == [k for k in range(4) if mask >> k & 1]
        assert np.all(out.arrival_time[out.event == event] == out.arrival_time[out.event == event][0])
    # one service per event at the destination router, whatever the mask
    stats = router.link_stats()
    assert stats.accepted[router.link_id("chip", 1)] == 15


def test_events_from_spikes_expands_sram_entries():
    sram = SramTable(src=np.array([5, 1, 5]), dst_chip=np.array([1, 0, 2]), core_mask=np.array([1, 2, 4]),
                     tag=np.array([10, 11, 12]))
    batch = events_from_spikes([0.2, 0.1, 0.3], [5, 1, 7], sram, n_cores=4, neurons_per_core=2)
    assert batch.time.tolist() == [0.1, 0.2, 0.2]
    assert batch.source.tolist() == [1, 5, 5]
    assert batch.dst_chip.tolist() == [0, 1, 2]
    assert batch.tag.tolist() == [11, 10, 12]
    assert batch.src_chip.tolist() == [0, 0, 0] and batch.src_core.tolist() == [0, 2, 2]


def test_invalid_events_are_rejected():
    router = Router(2, 2, 4, max_hop=1)
    with pytest.raises(ConfigError) as info:
        router.feed(make_batch([0.0, np.nan], 0, [0, 9], [0, 4], [0, 0], [0, 16], 0))
    keys = {p.key.split("[")[0] for p in info.value.problems}
    assert keys == {"time", "src_chip", "src_core", "core_mask"}
    router.feed(None, until=1.0)
    with pytest.raises(ConfigError):
        router.feed(make_batch([0.5], 0, 0, 0, 0, 1, 0))


# ---------------------------------------------------------------------------------------------
# random traffic: reference, conservation, ordering, chunking

link_params = st.builds(
    LinkParams,
    latency=st.floats(1e-3, 0.3),
    service_time=st.floats(1e-3, 0.5),
    fifo_depth=st.integers(1, 4),
    policy=st.sampled_from(["stall", "drop"]),
)


@st.composite
def traffic(draw):
    nx, ny, n_cores = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    n = draw(st.integers(0, 60))
    n_chips = nx * ny
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch = make_batch(np.sort(rng.uniform(0, 5, n)), rng.integers(0, 100, n), rng.integers(0, n_chips, n),
                       rng.integers(0, n_cores, n), rng.integers(0, n_chips, n),
                       rng.integers(1, 2**n_cores, n), rng.integers(0, 8, n))
    levels = {"core": draw(link_params), "chip": draw(link_params), "mesh": draw(link_params)}
    cuts = sorted(draw(st.lists(st.floats(0, 8), max_size=4)))
    return nx, ny, n_cores, batch, levels, cuts


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(traffic())
def test_router_matches_naive_reference(case):
    nx, ny, n_cores, batch, levels, _ = case
    router = Router(nx, ny, n_cores, unblocked(levels))
    out = router.feed(batch)
    per_link = [level_of(router, k) for k in range(router.n_links)]
    expected, dropped = reference_router(router, per_link, batch)
    got = sorted(zip(out.event.tolist(), out.dst_chip.tolist(), out.dst_core.tolist(), out.arrival_time.tolist()))
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    np.testing.assert_allclose([g[3] for g in got], [e[3] for e in expected], rtol=1e-12)
    stats = router.link_stats()
    assert {k: v for k, v in enumerate(stats.dropped) if v} == dict(dropped)


def assert_conserved(router):
    assert router.emitted == router.delivered + router.dropped + router.in_flight
    s = router.link_stats()
    assert np.all(s.offered == s.accepted + s.dropped)
    assert np.all(s.accepted == s.delivered + s.in_flight)
    assert np.all(s.in_flight >= 0)


@SETTINGS
@given(traffic())
def test_conservation_ordering_and_chunking(case):
    nx, ny, n_cores, batch, levels, cuts = case
    whole = Router(nx, ny, n_cores, levels, trace=True)
    whole_out = whole.feed(batch)
    assert_conserved(whole)
    assert whole.in_flight == 0

    chunked = Router(nx, ny, n_cores, levels, trace=True)
    parts, start = [], -np.inf
    for cut in cuts + [np.inf]:
        selected = (batch.time >= start) & (batch.time < cut)
        parts.append(chunked.feed(batch.take(selected), until=cut))
        assert_conserved(chunked)
        gone = np.concatenate([part.event for part in parts])
        assert not set(chunked.in_flight_events().tolist()) & set(gone.tolist())
        assert chunked.in_flight_events().size == chunked.in_flight
        assert np.all(parts[-1].arrival_time < cut)
        start = cut
    for got, expected in zip(chunked.link_stats(), whole.link_stats()):
        np.testing.assert_array_equal(got, expected)
    joined = type(whole_out).concatenate(parts)
    for got, expected in zip(joined, whole_out):
        np.testing.assert_array_equal(got, expected)

    hops = whole.hops()
    for link in np.unique(hops.link):
        on_link = hops.link == link
        assert np.all(np.diff(hops.start[on_link]) >= 0)  # FIFO: served in the order places were taken
        assert np.all(np.diff(hops.departure[on_link]) >= 0)
        assert np.all(hops.start[on_link] >= hops.arrival[on_link])
    # an event's successive services are causal
    for event in np.unique(hops.event):
        mine = hops.event == event
        assert np.all(hops.arrival[mine][1:] >= hops.departure[mine][:-1])


def test_event_leaving_at_an_arrival_frees_its_slot():
    # arrivals exactly one service time apart: each finds the previous one just departed
    link = LinkParams(latency=0.0, service_time=0.25, fifo_depth=1, policy="drop")
    router = single_link_router(link)
    out = router.feed(make_batch(np.arange(8) * 0.25, 0, 0, 0, 0, 1, 0))
    assert router.dropped == 0
    np.testing.assert_array_equal(out.arrival_time, (np.arange(8) + 1) * 0.25)
    # half a service time apart: every second event finds the link busy
    router = single_link_router(link)
    router.feed(make_batch(np.arange(8) * 0.125, 0, 0, 0, 0, 1, 0))
    assert router.dropped == 4


def test_router_from_board_uses_the_chip_config_levels():
    from types import SimpleNamespace

    slow_mesh = LinkParams(latency=1e-6, service_time=5e-7, fifo_depth=3, policy="drop")
    level = SimpleNamespace(link_params=lambda: slow_mesh)
    board = SimpleNamespace(nx=3, ny=2, chip=SimpleNamespace(n_cores=2, neurons_per_core=4, max_hop=1,
                                                            router={"mesh": level}))
    router = Router.from_board(board)
    assert (router.nx, router.ny, router.n_cores, router.max_hop, router.neurons_per_core) == (3, 2, 2, 1, 4)
    assert router.levels["mesh"] == slow_mesh and router.levels["core"] == DEFAULT_LEVELS["core"]
    with pytest.raises(ConfigError):  # two hops along x exceed max_hop = 1
        router.feed(make_batch([0.0], 0, 0, 0, 2, 1, 0))


def test_link_stat_attributes_cover_every_numeric_field():
    from mixsig.aer.router import LINK_STAT_ATTRIBUTES, LinkStats

    assert set(LINK_STAT_ATTRIBUTES) == set(LinkStats._fields) - {"kind", "chip", "index"}


def test_overload_grows_internal_storage_without_changing_results():
    # arrivals twice as fast as service: ~half of 150000 events are inside the link at once,
    # more than the initial slot capacity, so the router must grow and resume mid-call
    link = LinkParams(latency=0.0, service_time=2.0, fifo_depth=8, policy="stall")
    batch = poisson_batch(1.0, 150_000, seed=9)
    router = single_link_router(link)
    out = router.feed(batch)
    departure, _ = reference_single_link(batch.time, link.service_time, np.inf, "stall")
    assert router._capacity > 65536 + 1
    np.testing.assert_allclose(out.arrival_time, departure, rtol=1e-14)
    assert router.delivered == router.emitted == 150_000


# ---------------------------------------------------------------------------------------------
# the link-by-link pass (large calls) against the global-time loop and the naive reference

import unittest.mock  # noqa: E402

import mixsig.aer.router as router_module  # noqa: E402


def link_pass(enabled):
    """Force (``True``) or forbid (``False``) the link-by-link pass for every call."""
    return unittest.mock.patch.object(router_module, "LINK_PASS_MIN_EVENTS", 0 if enabled else 2**62)


class PassSpy:
    """Counts the calls that the link-by-link pass completed."""

    def __init__(self):
        self.completed = 0
        self.original = router_module.Router._feed_by_link

    def __enter__(self):
        spy = self

        def feed_by_link(router, *args):
            result = spy.original(router, *args)
            spy.completed += result is not None
            return result

        self.patch = unittest.mock.patch.object(router_module.Router, "_feed_by_link", feed_by_link)
        self.patch.__enter__()
        return self

    def __exit__(self, *exc):
        return self.patch.__exit__(*exc)


@st.composite
def tied_traffic(draw):
    """Traffic on dyadic times and timings, so that equal times (ties) are frequent."""
    nx, ny, n_cores, batch, levels, cuts = draw(traffic())
    levels = {name: LinkParams(latency=round(p.latency * 8) / 8, service_time=round(p.service_time * 8) / 8,
                               fifo_depth=p.fifo_depth, policy=p.policy) for name, p in levels.items()}
    batch = batch._replace(time=np.round(batch.time * 4) / 4)
    return nx, ny, n_cores, batch, levels, [round(c * 4) / 4 for c in cuts]


@SETTINGS
@given(st.one_of(traffic(), tied_traffic()))
def test_link_pass_matches_naive_reference(case):
    nx, ny, n_cores, batch, levels, _ = case
    with link_pass(True):
        router = Router(nx, ny, n_cores, unblocked(levels))
        out = router.feed(batch)
    per_link = [level_of(router, k) for k in range(router.n_links)]
    expected, dropped = reference_router(router, per_link, batch)
    got = sorted(zip(out.event.tolist(), out.dst_chip.tolist(), out.dst_core.tolist(), out.arrival_time.tolist()))
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    np.testing.assert_allclose([g[3] for g in got], [e[3] for e in expected], rtol=1e-12)
    assert {k: v for k, v in enumerate(router.link_stats().dropped) if v} == dict(dropped)


def run_in_chunks(nx, ny, n_cores, batch, levels, cuts):
    router = Router(nx, ny, n_cores, levels)
    parts, start = [], -np.inf
    for cut in cuts + [np.inf]:
        selected = (batch.time >= start) & (batch.time < cut)
        parts.append(router.feed(batch.take(selected), until=cut))
        assert_conserved(router)
        start = cut
    return router, type(parts[0]).concatenate(parts)


def both_ways(nx, ny, n_cores, batch, levels, cuts):
    """Deliveries and link statistics with the global-time loop only and with the link pass allowed."""
    results = []
    for enabled in (False, True):
        with link_pass(enabled):
            results.append(run_in_chunks(nx, ny, n_cores, batch, levels, cuts))
    return results


@st.composite
def grid_traffic(draw):
    """Times, latencies and service times on a coarse grid with many zeros: ties at every link."""
    nx, ny, n_cores, batch, _, _ = draw(traffic())
    batch = batch._replace(time=np.floor(batch.time * 12 / 5) / 4)  # 0, 0.25, ..., 2.75
    grid = st.sampled_from([0.0, 0.0, 0.25, 0.5])
    params = st.builds(LinkParams, latency=grid, service_time=grid, fifo_depth=st.integers(1, 2),
                       policy=st.sampled_from(["stall", "stall", "drop"]))
    levels = {"core": draw(params), "chip": draw(params), "mesh": draw(params)}
    cuts = sorted(draw(st.lists(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0]), max_size=3, unique=True)))
    return nx, ny, n_cores, batch, levels, cuts


@SETTINGS
@given(st.one_of(traffic(), tied_traffic(), grid_traffic()))
def test_link_pass_equals_global_loop_bit_for_bit(case):
    (loop, loop_out), (by_link, by_link_out) = both_ways(*case)
    for got, expected in zip(by_link_out, loop_out):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(by_link.link_stats(), loop.link_stats()):
        np.testing.assert_array_equal(got, expected)
    assert (by_link.delivered, by_link.dropped, by_link.in_flight) == (loop.delivered, loop.dropped, loop.in_flight)


def test_zero_service_tie_counts_the_same_stalls():
    # one core; event 1 ends its encoder service at t = 0.5 exactly when event 0 (zero service time
    # at the chip router, FIFO depth 1) leaves the chip router; found by hypothesis. Event 0 has
    # left when event 1 is handed over (the tie rule): no stall, no hold, in both implementations
    batch = make_batch(np.array([0.0, 0.25, 1.25, 3.25]), np.array([17, 81, 64, 91]), 0, 0, 0, 1, np.array([4, 4, 7, 5]))
    link = lambda s: LinkParams(latency=0.25, service_time=s, fifo_depth=1, policy="stall")
    levels = {"core": link(0.25), "chip": link(0.0), "mesh": link(0.5)}
    (loop, loop_out), (by_link, by_link_out) = both_ways(1, 1, 1, batch, levels, [])
    assert loop_out.arrival_time.tolist() == [0.75, 1.0, 2.0, 4.0]  # d + L_core + L_chip; event 1 at 0.5 + 0.5
    for got, expected in zip(by_link_out, loop_out):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(by_link.link_stats(), loop.link_stats()):
        np.testing.assert_array_equal(got, expected)
    assert not loop.link_stats().stalled.any()


def test_link_pass_counts_the_places_of_events_on_a_wire_at_the_horizon():
    # one core, chip router FIFO depth 1: event 0 takes the router's place at 0.0625 and leaves it at
    # 0.8125; event 1, served by its encoder at 0.1875 and on no wire before the horizon 0.25, is held
    # until then: handed over at 0.8125, delivered at 0.8125 + 0.25 + 0.5 + 0.25 (the link pass of
    # the first call once missed the hold and delivered it at 1.5625)
    link = lambda s: LinkParams(latency=0.25, service_time=s, fifo_depth=1, policy="stall")
    levels = {"core": link(0.0625), "chip": link(0.5), "mesh": link(0.5)}
    batch = make_batch(np.array([0.0, 0.125]), np.array([3, 4]), 0, 0, 0, 1, 0)
    (loop, loop_out), (by_link, by_link_out) = both_ways(1, 1, 1, batch, levels, [0.25])
    for out, router in ((loop_out, loop), (by_link_out, by_link)):
        assert out.arrival_time.tolist() == [1.0625, 1.8125]
        assert router.link_stats().stalled[router.link_id("chip", 0)] == 1


def test_a_mesh_arrival_at_a_hand_over_waits_behind_it():
    # chip router 1 (FIFO depth 1, no service time): event 2 of its own core ends its encoder service
    # at t = 4 when event 1 arrives from the mesh; the hand-over comes first (ends of service before
    # arrivals), so event 1 waits at the input port until event 2 has passed the router at 4.25
    link = lambda latency, s: LinkParams(latency=latency, service_time=s, fifo_depth=1, policy="stall")
    levels = {"core": link(0.25, 0.5), "chip": link(0.125, 0.0), "mesh": link(0.125, 0.0)}
    batch = make_batch(np.array([2.0, 3.0, 3.5, 3.5]), np.array([1, 1, 24, 56]), np.array([0, 0, 1, 0]), 0, 1, 1, 0)
    (loop, loop_out), (by_link, by_link_out) = both_ways(1, 2, 1, batch, levels, [])
    for out in (loop_out, by_link_out):
        assert out.event.tolist() == [0, 1, 2, 3]
        assert out.arrival_time.tolist() == [3.125, 4.375, 4.375, 4.625]
    for got, expected in zip(by_link.link_stats(), loop.link_stats()):
        np.testing.assert_array_equal(got, expected)


def test_link_pass_runs_the_benchmark_path_exactly():
    # the benchmark's path (encoders -> chip 0 -> +x mesh -> chip 1, broadcast), fed whole and in
    # chunks: the link pass runs in every chunk (up to a cut before the horizon when an event is in
    # service there; the event loop does the rest) and agrees with the global-time loop bit for bit
    rng = np.random.default_rng(11)
    n = 20_000
    times = np.cumsum(rng.exponential(80e-9, n))
    batch = make_batch(times, rng.integers(0, 1024, n), 0, rng.integers(0, 4, n), 1, 15, rng.integers(0, 2048, n))
    cuts = list(np.linspace(times[0], times[-1], 21)[1:-1])
    with link_pass(False):
        loop, loop_out = run_in_chunks(2, 1, 4, batch, {}, cuts)
    with PassSpy() as spy:
        by_link, by_link_out = run_in_chunks(2, 1, 4, batch, {}, cuts)
    assert spy.completed >= len(cuts)
    assert by_link_out.size == 4 * n
    with PassSpy() as spy:  # whole: an infinite horizon, each hand-over counted at once (no records)
        whole = Router(2, 1, 4)
        whole_out = whole.feed(batch)
    assert spy.completed == 1
    with link_pass(False):
        whole_loop = Router(2, 1, 4)
        whole_loop_out = whole_loop.feed(batch)
    for (got, expected), (got_whole, expected_whole) in zip(zip(by_link_out, loop_out), zip(whole_out, whole_loop_out)):
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got_whole, expected_whole)
    for got, expected in zip(by_link.link_stats() + whole.link_stats(), loop.link_stats() + whole_loop.link_stats()):
        np.testing.assert_array_equal(got, expected)


def test_link_pass_declines_cyclic_traffic():
    # chips 0 and 1 send to each other: router 0 -> mesh -> router 1 -> mesh -> router 0 is a cycle
    n = 200
    times = np.arange(n) * 1e-7
    src = np.arange(n) % 2
    batch = make_batch(times, 0, src, 0, 1 - src, 1, 0)
    with PassSpy() as spy, link_pass(True):
        out = Router(2, 1, 1).feed(batch)
    assert spy.completed == 0 and out.size == n


# ---------------------------------------------------------------------------------------------
# back-pressure

_TANDEM_PATH = pathlib.Path(__file__).resolve().parents[1] / "validation" / "router_blocking_tandem.py"
_TANDEM_SPEC = importlib.util.spec_from_file_location("validation_router_blocking_tandem", _TANDEM_PATH)
tandem = importlib.util.module_from_spec(_TANDEM_SPEC)
_TANDEM_SPEC.loader.exec_module(tandem)

stall_params = st.builds(
    LinkParams,
    latency=st.sampled_from([0.0, 0.25, 1.0]),
    service_time=st.sampled_from([0.25, 0.5, 1.0, 2.0]),
    fifo_depth=st.integers(1, 4),
    policy=st.just("stall"),
)


@SETTINGS
@given(levels=st.fixed_dictionaries({"core": stall_params, "chip": stall_params, "mesh": stall_params}),
       n=st.integers(1, 80), seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.floats(0, 60), max_size=4))
def test_blocking_tandem_matches_the_recursion_in_chunks(levels, n, seed, cuts):
    # one core of chip 0 sends everything to chip 1 (encoder -> router 0 -> mesh -> router 1)
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, 40, n))
    batch = make_batch(times, 0, 0, 0, 1, 1, 0)
    router = Router(2, 1, 1, levels, trace=bool(seed % 2))  # trace: the event loop on every call
    parts, start = [], -np.inf
    for cut in sorted(cuts) + [np.inf]:
        selected = (times >= start) & (times < cut)
        parts.append(router.feed(batch.take(selected), until=cut))
        assert_conserved(router)
        start = cut
    stations = [(levels[k].service_time, levels[k].latency, levels[k].fifo_depth, k != "mesh")
                for k in ("core", "chip", "mesh", "chip")]
    _, release = tandem.tandem_reference(times, stations)
    out = type(parts[0]).concatenate(parts)
    assert router.in_flight == 0 and out.size == n
    order = np.argsort(out.event)
    np.testing.assert_allclose(out.arrival_time[order], release[:, -1] + levels["chip"].latency, rtol=1e-12, atol=1e-12)


def test_full_fifos_hold_the_sender_and_conserve_events():
    # two cores flood one router (FIFO 1, slow): the encoders hold their served events, the neurons
    # wait, nothing is lost, and the held time is recorded
    slow = LinkParams(latency=0.0, service_time=1.0, fifo_depth=1, policy="stall")
    fast = LinkParams(latency=0.0, service_time=0.1, fifo_depth=1, policy="stall")
    router = Router(1, 1, 2, {"core": fast, "chip": slow, "mesh": slow})
    batch = make_batch(np.repeat(np.arange(10) * 0.01, 2), 0, 0, np.tile([0, 1], 10), 0, 1, 0)
    router.feed(batch, until=5.0)
    assert_conserved(router)
    assert router.in_flight > 0
    stats = router.link_stats()
    encoders = [router.link_id("core", 0, c) for c in (0, 1)]
    assert stats.hold_max[encoders].max() > 0.5  # held while the router served others
    assert stats.stalled.sum() > 0
    out = router.drain()
    assert_conserved(router)
    assert router.delivered == 20 and router.dropped == 0
    # the router serves one event per second from 0.1 s on: the last leaves at 20.1 s
    assert router.link_stats().latency_max.max() > 0 and max(out.arrival_time) == pytest.approx(20.1)
