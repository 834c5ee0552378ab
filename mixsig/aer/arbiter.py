r"""The core encoder's arbiter: which waiting neuron gets the next place in the encoder's FIFO.

Neurons of a core request the shared encoder; when its FIFO is full (``stall``), the neurons'
events wait and a place that frees is granted by the arbiter, an ``L = ceil(log2(n))``-level binary
tree over the core's ``n`` neurons (neuron ``k`` is leaf ``k``; each internal node a two-input
arbiter cell). A neuron with several waiting events requests for the oldest of them.

* ``tree``: the **greedy** tree arbiter (Boahen 2000). A cell keeps the grant inside its subtree
  while any of its inputs requests, and alternates between its two inputs when both request
  (it remembers the input it granted last). The next grant therefore goes to the lowest ancestor
  of the last granted leaf whose subtree holds a request, and descends from there, each cell
  taking the input it did not grant last if both request. Known unfairness: under saturation the
  requests near the last granted leaf win; when every neuron always has an event waiting, the
  cell above the last granted leaf alternates between its two leaves for ever: two neurons share
  the whole throughput and Jain's fairness index of the per-neuron shares is ``2/n``.
* ``round_robin``: a fair arbiter: the next grant goes to the first requesting neuron after the
  last granted one, cyclically; every saturated neuron gets ``1/n`` of the throughput (Jain's
  index 1).
* ``fifo``: the oldest waiting event first (emission order; an idealised arbiter that timestamps
  requests), the router's behaviour without an arbiter model.

Arbitration latency: a request climbs the ``L`` levels of the tree and the grant comes back down;
the core level's ``arbitration_delay`` (s per level) adds ``L`` times itself to the latency of
every event at its encoder (:class:`mixsig.aer.router.LinkParams`). It delays events and does not
occupy the encoder.

State per core encoder: the waiting requests of every tree node (a count, so that a subtree with a
request is found in ``L`` steps), the input each cell granted last, and the last granted leaf.
"""

import math

import numba
import numpy as np

ARBITERS = ("fifo", "tree", "round_robin")
"""Core encoder arbiters (see the module docstring)."""

FIFO, TREE, ROUND_ROBIN = range(3)
"""Arbiter codes (index into :data:`ARBITERS`)."""


def tree_levels(neurons_per_core):
    """Levels ``L = ceil(log2(n))`` of the binary arbiter tree over ``n`` neurons (0 for one)."""
    return max(0, math.ceil(math.log2(neurons_per_core)))


def arbiter_arrays(kind, n_links, neurons_per_core):
    """The arbiter state of ``n_links`` core encoders.

    Parameters
    ----------
    kind : str
        One of :data:`ARBITERS`.
    n_links : int
        Core encoders.
    neurons_per_core : int
        Neurons of a core (the tree's leaves).

    Returns
    -------
    spec : ndarray of int64, shape (3,)
        Arbiter code, leaves of the tree (``2**L``) and neurons per core.
    counts : ndarray of int64, shape (n_links, 2 * leaves)
        Waiting requests under every node (node 1 the root, children of ``i``: ``2i``, ``2i + 1``;
        leaf ``k`` is node ``leaves + k``).
    cells : ndarray of int64, shape (n_links, leaves)
        Input (0 or 1) each internal node granted last.
    last : ndarray of int64, shape (n_links,)
        Last granted leaf (round robin starts at leaf 0, the tree at leaf 0's cell).
    """
    leaves = 1 << tree_levels(neurons_per_core)
    used = n_links if kind != "fifo" else 0
    last = np.zeros(used, dtype=np.int64) + (leaves - 1 if kind == "round_robin" else 0)
    return (np.array([ARBITERS.index(kind), leaves, neurons_per_core], dtype=np.int64),
            np.zeros((used, 2 * leaves), dtype=np.int64), np.zeros((used, leaves), dtype=np.int64), last)


@numba.njit(cache=True, inline="always")
def request(counts, link, leaf, leaves, change):
    """Add ``change`` (+1: a new waiting event, -1: granted) to the requests of ``leaf`` and its ancestors."""
    node = leaves + leaf
    while node >= 1:
        counts[link, node] += change
        node >>= 1


@numba.njit(cache=True)
def grant(kind, counts, cells, last, link, leaves):
    """The leaf the arbiter of encoder ``link`` grants next (some leaf must be requesting).

    Parameters
    ----------
    kind : int
        :data:`TREE` or :data:`ROUND_ROBIN`.
    counts, cells, last : ndarray of int64
        The state (:func:`arbiter_arrays`), updated in place.
    link : int
    leaves : int

    Returns
    -------
    int
    """
    if kind == TREE:
        node = leaves + last[link]
        while node > 1:  # up to the lowest ancestor whose subtree holds a request
            node >>= 1
            if counts[link, node] > 0:
                break
        while node < leaves:  # down: the input not granted last when both request
            left = counts[link, 2 * node] > 0
            right = counts[link, 2 * node + 1] > 0
            side = 1 - cells[link, node] if left and right else (0 if left else 1)
            cells[link, node] = side
            node = 2 * node + side
        leaf = node - leaves
    else:
        leaf = last[link]
        for _ in range(leaves):
            leaf = leaf + 1 if leaf + 1 < leaves else 0
            if counts[link, leaves + leaf] > 0:
                break
    last[link] = leaf
    return leaf
