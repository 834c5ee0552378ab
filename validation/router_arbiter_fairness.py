"""Core encoder arbitration: per-neuron throughput shares (Jain's fairness index), tree vs round robin.

One core of ``N = 16`` neurons (a 4-level arbiter tree) sends to another core of the same chip.
Only the encoder costs time (``s = 10 ns`` per event, FIFO of 4 events, ``stall``): when its FIFO
is full the neurons' events wait and the arbiter (:mod:`mixsig.aer.arbiter`) grants each freed
place. Fairness of the per-neuron delivered counts ``x_k`` is Jain's index
``J = (sum x)^2 / (N sum x^2)`` (1: equal shares; ``m/N``: ``m`` neurons share equally, the rest
starve).

Closed forms checked:

1. **Every neuron saturated** (each has 100 events waiting from t = 0), shares over the first
   ``12 N`` grants: round robin grants the neurons in turn, ``J = 1``; the greedy tree keeps the
   grant under the cell above the last granted leaf, which alternates between its two leaves, so
   two neurons share everything: ``J = 2/N = 0.125`` exactly.
2. **Poisson traffic** at offered load ``rho = N r s`` (``r`` per neuron), 20,000 events, shares of
   the events delivered by the end of emission: below saturation (``rho <= 0.8``) the queue is
   stable and every event is served, so both arbiters give the Poisson-count index
   ``J = m/(m + 1)`` (``m`` mean count per neuron; tolerance 5 standard deviations of J, from
   the delta method ``sd(J) ~ sqrt(2/N) / m``). Past saturation round robin serves every
   (backlogged) neuron in turn: ``J ~ 1`` (tolerance 0.01). The greedy tree serves a subtree
   around the last granted leaf: at ``rho = 3`` a pair or a quarter of the tree (4 neurons,
   ``0.75`` of capacity) empties and hands the grant to its sibling, but the half (8 neurons,
   ``1.5`` of capacity) never empties, so the half that holds leaf 0 (where the arbiter starts)
   takes the whole throughput, shared about equally (exhaustive service of its two saturated
   quarters): ``J = 1/2`` (tolerance 0.1, for the unequal shares inside the half), and the other
   half gets nothing (tolerance 1 % of the events).

``python validation/router_arbiter_fairness.py --figure fairness.png`` also draws J against the
load for both arbiters and the per-neuron shares at ``rho = 3``.
"""

import sys

import numpy as np

from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router
from mixsig.checks import Check, report

N = 16
"""Neurons per core (leaves of the arbiter tree)."""

SERVICE = 10e-9
"""Encoder service time, s."""

FREE = LinkParams(latency=0.0, service_time=0.0, fifo_depth=16, policy="stall")
LOADS = (0.25, 0.5, 0.8, 1.25, 1.5, 2.0, 3.0, 4.0)
N_EVENTS = 20_000


def encoder(arbiter):
    return LinkParams(latency=0.0, service_time=SERVICE, fifo_depth=4, policy="stall", arbiter=arbiter)


def jain(x):
    """Jain's fairness index of the shares ``x``."""
    x = np.asarray(x, dtype=float)
    return float(x.sum() ** 2 / (x.size * (x**2).sum()))


def route(arbiter, times, neuron, until=np.inf):
    """Deliveries of events from neurons ``neuron`` of core 0 to core 1, fed at once up to ``until``."""
    router = Router(1, 1, 2, {"core": encoder(arbiter), "chip": FREE, "mesh": FREE, "broadcast": FREE},
                    neurons_per_core=N)
    return router.feed(make_batch(times, neuron, 0, 0, 0, 2, 0), until=until)


def saturated_shares(arbiter):
    """Per-neuron grants among the first 12 N once every neuron has events waiting."""
    neuron = np.tile(np.arange(N), 100)
    out = route(arbiter, np.zeros(neuron.size), neuron)
    granted = out.source[4:4 + 12 * N]  # after the 4 events that found the FIFO empty (emission order)
    return np.bincount(granted, minlength=N)


def poisson_shares(arbiter, rho, seed):
    """Per-neuron deliveries of Poisson traffic at load ``rho``, counted up to the last emission."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.exponential(SERVICE / rho, N_EVENTS))
    neuron = rng.integers(0, N, N_EVENTS)
    out = route(arbiter, times, neuron, until=times[-1])
    return np.bincount(out.source, minlength=N)


def figure(indices, shares, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_j, ax_s) = plt.subplots(1, 2, figsize=(10, 4))
    for arbiter, marker in (("tree", "o"), ("round_robin", "s")):
        ax_j.plot(LOADS, indices[arbiter], marker=marker, label=arbiter)
        ax_s.bar(np.arange(N) + (0.2 if arbiter == "tree" else -0.2), shares[arbiter] / shares[arbiter].sum(),
                 width=0.4, label=arbiter)
    ax_j.axhline(2 / N, color="grey", ls=":", label="2/N (tree, all saturated)")
    ax_j.set(xlabel="offered load at the encoder", ylabel="Jain's fairness index", ylim=(0, 1.05),
             title=f"Encoder arbitration, N = {N} neurons")
    ax_s.set(xlabel="neuron (leaf of the arbiter tree)", ylabel="share of the throughput", title="shares at load 3")
    ax_j.legend()
    ax_s.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(figure_path=None):
    checks = []
    for arbiter, expected in (("round_robin", 1.0), ("tree", 2.0 / N)):
        shares = saturated_shares(arbiter)
        checks.append(Check(f"{arbiter}: J, every neuron saturated", "round robin 1; greedy tree 2/N",
                            expected, jain(shares), 0.0, "1", atol=1e-12))
    indices = {"tree": [], "round_robin": []}
    at_three = {}
    for k, rho in enumerate(LOADS):
        for arbiter in indices:
            shares = poisson_shares(arbiter, rho, seed=60 + k)
            j = jain(shares)
            indices[arbiter].append(j)
            if rho <= 0.8:
                m = shares.sum() / N
                checks.append(Check(f"{arbiter}: J at load {rho}", "Poisson counts m/(m+1), 5 sd",
                                    m / (m + 1), j, 0.0, "1", atol=5 * np.sqrt(2 / N) / m))
            elif arbiter == "round_robin":
                checks.append(Check(f"round_robin: J at load {rho}", "every backlogged neuron in turn", 1.0, j, 0.01))
            if rho == 3.0:
                at_three[arbiter] = shares
    tree = at_three["tree"]
    checks.append(Check("tree: J at load 3", "the half holding leaf 0 takes everything, shared equally",
                        0.5, indices["tree"][LOADS.index(3.0)], 0.0, "1", atol=0.1))
    checks.append(Check("tree: share of the far half (neurons 8-15) at load 3", "starved", 0.0,
                        tree[N // 2:].sum() / tree.sum(), 0.0, "1", atol=0.01))
    if figure_path is not None:
        figure(indices, at_three, figure_path)
    return report("AER encoder arbitration fairness (tree vs round robin)", checks)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(main(arguments[arguments.index("--figure") + 1] if "--figure" in arguments[:-1] else None))
