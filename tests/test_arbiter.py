"""The core encoder's arbiter: grant order against references written from the definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixsig.aer.arbiter import ROUND_ROBIN, TREE, arbiter_arrays, grant, request, tree_levels
from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router, feed_compiled
from mixsig.errors import ConfigError

FREE = LinkParams(latency=0.0, service_time=0.0, fifo_depth=16, policy="stall")


class GreedyTree:
    """A greedy tree arbiter as cells: each cell keeps the grant in its subtree while any input
    requests, and takes the input it did not grant last when both request."""

    def __init__(self, levels):
        self.levels = levels
        self.last_input = {}  # (height, index) -> input granted last
        self.last_leaf = 0

    def grant(self, waiting):
        def requests(height, index):
            return any(leaf >> height == index for leaf in waiting)

        height = 1
        while not requests(height, self.last_leaf >> height):  # the lowest ancestor with a request
            height += 1
        index = self.last_leaf >> height
        while height > 0:
            left, right = requests(height - 1, 2 * index), requests(height - 1, 2 * index + 1)
            side = 1 - self.last_input.get((height, index), 0) if left and right else (0 if left else 1)
            self.last_input[(height, index)] = side
            height, index = height - 1, 2 * index + side
        self.last_leaf = index
        return index


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.data())
def test_tree_and_round_robin_grants_match_their_definitions(levels, data):
    n = 1 << levels
    waiting = {leaf: 0 for leaf in range(n)}
    state = {kind: arbiter_arrays(name, 1, n) for kind, name in ((TREE, "tree"), (ROUND_ROBIN, "round_robin"))}
    tree, last_rr = GreedyTree(levels), n - 1
    pending = {TREE: dict(waiting), ROUND_ROBIN: dict(waiting)}
    for _ in range(40):
        for leaf in data.draw(st.lists(st.integers(0, n - 1), max_size=6)):  # new requests
            for kind in state:
                pending[kind][leaf] += 1
                request(state[kind][1], 0, leaf, n, 1)
        if not any(pending[TREE].values()):
            continue
        for kind in state:
            spec, counts, cells, last = state[kind]
            leaf = grant(kind, counts, cells, last, 0, spec[1])
            request(counts, 0, leaf, n, -1)
            if kind == TREE:
                assert leaf == tree.grant({k for k, c in pending[kind].items() if c})
            else:
                waiting_after = [(last_rr + k) % n for k in range(1, n + 1)]
                assert leaf == next(k for k in waiting_after if pending[kind][k])
                last_rr = leaf
            pending[kind][leaf] -= 1


def shares(arbiter, n_neurons=8, per_neuron=40):
    """Grants per neuron among the first 4 n_neurons once every neuron has events waiting."""
    encoder = LinkParams(latency=0.0, service_time=10e-9, fifo_depth=2, policy="stall", arbiter=arbiter)
    router = Router(1, 1, 2, {"core": encoder, "chip": FREE, "mesh": FREE, "broadcast": FREE},
                    neurons_per_core=n_neurons)
    neuron = np.tile(np.arange(n_neurons), per_neuron)
    out = router.feed(make_batch(np.zeros(neuron.size), neuron, 0, 0, 0, 2, 0))
    assert out.size == neuron.size and router.delivered == neuron.size
    return np.bincount(out.source[2:2 + 4 * n_neurons], minlength=n_neurons)


def test_saturated_shares():
    # fifo: emission order, every neuron in turn; round robin: in turn; greedy tree: the pair
    # above leaf 0 (where it starts) takes everything
    np.testing.assert_array_equal(shares("fifo"), 4)
    np.testing.assert_array_equal(shares("round_robin"), 4)
    np.testing.assert_array_equal(shares("tree"), [16, 16, 0, 0, 0, 0, 0, 0])


def test_arbitration_delay_adds_one_delay_per_level():
    assert [tree_levels(n) for n in (1, 2, 3, 256, 257)] == [0, 1, 2, 8, 9]
    encoder = LinkParams(latency=5e-9, service_time=10e-9, fifo_depth=4, policy="stall", arbiter="tree",
                         arbitration_delay=2e-9)
    router = Router(1, 1, 2, {"core": encoder, "chip": FREE, "mesh": FREE, "broadcast": FREE}, neurons_per_core=100)
    out = router.feed(make_batch([1e-6], [3], 0, 0, 0, 2, 0))
    assert out.arrival_time[0] == pytest.approx(1e-6 + 10e-9 + 5e-9 + 7 * 2e-9, rel=1e-12)


def test_only_the_core_level_arbitrates():
    with pytest.raises(ConfigError, match="levels.chip.arbiter"):
        Router(1, 1, 2, {"chip": LinkParams(arbiter="tree")})
    with pytest.raises(ConfigError, match="arbiter"):
        LinkParams(arbiter="lottery")


def test_compiled_feed_equals_feed_with_an_arbiter():
    encoder = LinkParams(latency=5e-9, service_time=30e-9, fifo_depth=2, policy="stall", arbiter="tree",
                         arbitration_delay=1e-9)
    levels = {"core": encoder, "chip": FREE, "mesh": FREE}
    rng = np.random.default_rng(4)
    time = np.sort(rng.uniform(0, 20e-6, 1500))
    batch = make_batch(time, rng.integers(0, 64, time.size), 0, rng.integers(0, 2, time.size), 0, 3,
                       rng.integers(0, 8, time.size))
    plain, compiled = Router(1, 1, 2, levels, neurons_per_core=64), Router(1, 1, 2, levels, neurons_per_core=64)
    edges = np.arange(1, 60) * 1e-6
    cuts = np.searchsorted(time, edges)
    for begin, end, until in zip([0, *cuts[:-1]], cuts, edges):
        piece = batch.take(slice(begin, end))
        expected = plain.feed(piece, until=until)
        usable, state = compiled.compiled_state(256)
        ints = np.stack([piece.source, piece.src_chip, piece.src_core, piece.dst_chip, piece.core_mask, piece.tag])
        event, tag, chip, core = feed_compiled(state, float(until), piece.time.copy(), compiled.emitted,
                                               ints.astype(np.int64))
        compiled.account_compiled(piece.size, until)
        np.testing.assert_array_equal(event, expected.event)
        np.testing.assert_array_equal(core, expected.dst_core)
    assert plain.link_stats().stalled.sum() > 0  # the arbiter had requests to choose from
    for got, want in zip(compiled.link_stats(), plain.link_stats()):
        np.testing.assert_array_equal(got, want)
