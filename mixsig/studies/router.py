r"""``mixsig study router``: AER router congestion versus offered load, for sizing FIFOs.

The router of a chip config's board (:class:`mixsig.aer.router.Router`, with the chip's level
timings) is driven with two traffic patterns of a real network, at offered loads from well below
to past saturation, for both back-pressure policies and several FIFO depths (every level gets
the depth and the policy under study):

* **burst** (synchronous bursts): ``burst_size`` neurons of core 0 of chip 0 fire at the same
  instant (a population spike); the bursts come as a Poisson process. Every event goes to core 1
  of chip 0 (core encoder, on-chip router, broadcast stage of the core).
* **fanin** (converging fan-in): every core of every chip of the board sends Poisson events
  (a source core and neuron drawn uniformly per event) to core 0 of chip 0: the traffic of the
  other chips crosses the mesh and converges on chip 0's router and on core 0's broadcast stage
  (its CAM search, :mod:`mixsig.aer.broadcast`).

Offered load and capacity (closed form)
---------------------------------------
A link ``l`` with service time ``s_l`` that carries the fraction ``f_l`` of the events of a
pattern is busy ``lambda f_l s_l`` of the time at a total event rate ``lambda``; no queue is
stable past ``rho_l = 1``, so the router saturates at

.. math:: \lambda_{sat} = 1 / \max_l (f_l s_l)

(the bottleneck link's capacity ``1/s_l`` scaled by its share of the traffic). The fractions
``f_l`` are counted by routing the pattern at vanishing load; the **offered load** of a run is
``rho = lambda / lambda_sat``. Below ``rho = 1`` the delivered throughput equals ``lambda`` and
the queues are stable (drops only from bursts larger than a FIFO, or from rare Poisson clumps in
shallow FIFOs); past it the throughput is capped at ``lambda_sat`` and either the excess is lost
(``drop``: drop fraction ``>= 1 - 1/rho`` for a long run) or the queue grows upstream into the
neurons (``stall``: the latency grows with the run length). The output compares the measured
throughput with ``lambda_sat``.

Randomness: per pattern, one stream ``SeedSequence(seed, spawn_key=(TRAFFIC_STREAM, pattern))``
draws the sources and the unit-rate inter-arrival gaps; every load scales the same gaps by
``1/lambda`` (common random numbers), so for a FIFO queue each event's latency cannot decrease
with the load.
"""

import dataclasses

import numpy as np
import xarray as xr

from mixsig.aer.events import EventBatch
from mixsig.aer.router import POLICIES, LinkStats, Router
from mixsig.chip.config import load_chip
from mixsig.chip.topology import Board
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.studies.output import StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, \
    write_outputs

PATTERNS = ("burst", "fanin")
"""Traffic patterns (see the module docstring)."""

TRAFFIC_STREAM = 0x52F7
"""Spawn-key element of the traffic streams (one per pattern)."""

PERCENTILES = (50.0, 90.0, 99.0)
"""Latency percentiles reported, %."""

DEFAULT_LOADS = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)
"""Default offered loads, in units of the saturation rate."""


@dataclasses.dataclass(frozen=True)
class RouterStudySettings:
    """Settings of the router congestion study (see the module docstring).

    Attributes
    ----------
    chip : str
        Chip config (shipped name or TOML path); its board and router level timings are used.
    patterns : tuple of str
        Traffic patterns, from :data:`PATTERNS`.
    policies : tuple of str
        Back-pressure policies, from :data:`mixsig.aer.router.POLICIES`.
    fifo_depths : tuple of int
        FIFO depths, events (every level gets the same depth).
    loads : tuple of float
        Offered loads ``rho = lambda / lambda_sat``.
    events : int
        Events per run.
    burst_size : int
        Neurons firing together in a burst (at most the chip's neurons per core).
    seed : int
        Root seed of the traffic.
    """

    chip: str = "dynapse1"
    patterns: tuple = PATTERNS
    policies: tuple = POLICIES
    fifo_depths: tuple = (4, 16, 64)
    loads: tuple = DEFAULT_LOADS
    events: int = 20000
    burst_size: int = 32
    seed: int = 1

    def problems(self, source="<router study>"):
        rules = {
            "chip": (lambda v: isinstance(v, str) and v != "", "a chip config name or path"),
            "patterns": (is_sequence_of(lambda p: p in PATTERNS), f"patterns from {list(PATTERNS)}"),
            "policies": (is_sequence_of(lambda p: p in POLICIES), f"policies from {list(POLICIES)}"),
            "fifo_depths": (is_sequence_of(lambda k: is_int(k, 1) and k <= 65536), "FIFO depths in 1..65536 events"),
            "loads": (is_sequence_of(lambda r: is_positive(r) and r <= 100), "offered loads in (0, 100]"),
            "events": (lambda v: is_int(v, 10) and v <= 10_000_000, "an integer in 10..10000000"),
            "burst_size": (lambda v: is_int(v, 1), "an integer >= 1"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
        }
        problems = settings_problems(self, rules, source)
        for name in ("patterns", "policies", "fifo_depths", "loads"):
            values = getattr(self, name)
            if isinstance(values, (tuple, list)) and len(set(values)) != len(values):
                problems.append(Problem(source, name, values, "distinct values"))
        return problems


class _Traffic:
    """One pattern's events at unit rate: sources, destinations and the unit-rate emission times.

    Parameters
    ----------
    pattern : str
    board : mixsig.chip.topology.Board
    events : int
    burst_size : int
    rng : numpy.random.Generator
    """

    def __init__(self, pattern, board, events, burst_size, rng):
        chip = board.chip
        n = events
        if pattern == "burst":
            n_bursts = -(-events // burst_size)
            gaps = rng.exponential(1.0, n_bursts)
            self.unit_time = np.repeat(np.cumsum(gaps) - gaps[0], burst_size)[:n] * burst_size  # events at unit rate
            src_chip, src_core = np.zeros(n, np.int64), np.zeros(n, np.int64)
            neuron = np.tile(np.arange(burst_size), n_bursts)[:n]
            dst_core = min(1, chip.n_cores - 1)
        else:
            gaps = rng.exponential(1.0, n)
            self.unit_time = np.cumsum(gaps) - gaps[0]
            src = rng.integers(0, board.n_chips * chip.n_cores, n)
            src_chip, src_core = src // chip.n_cores, src % chip.n_cores
            neuron = rng.integers(0, chip.neurons_per_core, n)
            dst_core = 0
        source = (src_chip * chip.n_cores + src_core) * chip.neurons_per_core + neuron
        self.fields = dict(source=source, src_chip=src_chip, src_core=src_core, dst_chip=np.zeros(n, np.int64),
                           core_mask=np.full(n, 1 << dst_core, np.int64), tag=source % chip.n_tags)

    def batch(self, rate):
        """The events at total rate ``rate`` (events/s).

        Parameters
        ----------
        rate : float
            Events/s.

        Returns
        -------
        EventBatch
        """
        return EventBatch(time=self.unit_time / rate, **self.fields)


def _levels(board, depth, policy):
    """The chip's router levels with one FIFO depth and policy."""
    return {name: dataclasses.replace(level.link_params(), fifo_depth=depth, policy=policy)
            for name, level in board.chip.router.items()}


def _stages(router):
    """Statistics of every link and broadcast stage of ``router`` (one :class:`LinkStats`)."""
    return LinkStats(*(np.concatenate(pair) for pair in zip(router.link_stats(), router.broadcast_stats())))


def _capacity(traffic, board):
    """Saturation rate ``1/max_l(f_l s_l)`` (events/s) and the bottleneck level, with ``f_l``
    counted by routing the pattern at vanishing load (one event per second); the broadcast stages
    count as links."""
    router = Router.from_board(board)
    router.feed(traffic.batch(1.0), np.inf)
    stats = _stages(router)
    service = np.array([router.levels[kind].service_time for kind in stats.kind])
    busy = stats.offered / traffic.unit_time.size * service
    worst = int(np.argmax(busy))
    if busy[worst] <= 0:
        raise ConfigError([Problem(board.chip.name, "router.*.service_time", 0.0,
                                   "a service time > 0 on the links the traffic uses (else the capacity is infinite)")],
                          "router study")
    return 1.0 / busy[worst], str(stats.kind[worst])


def _measure(router, deliveries, emitted, first):
    """Per-run numbers: counts, latency percentiles, holds, encoder waits and throughput (every
    event has one destination core: copies are events)."""
    latency = deliveries.arrival_time - deliveries.emit_time
    stats = _stages(router)
    stages = router.broadcast_stats()
    core = stats.kind == "core"
    percentiles = np.percentile(latency, PERCENTILES) if latency.size else np.full(len(PERCENTILES), np.nan)
    span = (deliveries.arrival_time.max() - first) if latency.size else np.nan
    return {
        "emitted": emitted, "delivered": int(stages.delivered.sum()), "dropped": router.dropped + int(stages.dropped.sum()),
        "in_flight": router.in_flight + router.broadcast_in_flight,
        "latency_percentile": percentiles, "latency_mean": latency.mean() if latency.size else np.nan,
        "latency_min": latency.min() if latency.size else np.nan,
        "latency_max": latency.max() if latency.size else np.nan,
        "hold_mean": stats.hold_sum.sum() / emitted, "hold_max": max(float(stats.hold_max.max()), 0.0),
        "stalled": int(stats.stalled.sum()),
        "encoder_wait_mean": stats.wait_sum[core].sum() / max(int(stats.wait_count[core].sum()), 1),
        "encoder_wait_max": max(float(stats.wait_max[core].max()), 0.0),
        "throughput": latency.size / span if latency.size else 0.0,
    }


_VARIABLES = {
    "emitted": ("1", "events emitted by the neurons"),
    "delivered": ("1", "events delivered to the destination core's synapses"),
    "dropped": ("1", "events lost at a full FIFO (drop policy), broadcast stage included"),
    "in_flight": ("1", "events still in the router after draining (0 by conservation)"),
    "drop_fraction": ("1", "fraction of the emitted events lost"),
    "latency_percentile": ("s", "percentile of the emission-to-arrival latency of the delivered events"),
    "latency_mean": ("s", "mean emission-to-arrival latency of the delivered events"),
    "latency_min": ("s", "smallest emission-to-arrival latency"),
    "latency_max": ("s", "largest emission-to-arrival latency"),
    "hold_mean": ("s", "time servers held a served event for a place in a full next FIFO, per emitted event (stall)"),
    "hold_max": ("s", "largest time a server held a served event (stall)"),
    "stalled": ("1", "events that found a stall FIFO full and waited upstream"),
    "encoder_wait_mean": ("s", "mean wait of an event at its core encoder, from emission (the neuron's delay under stall)"),
    "encoder_wait_max": ("s", "largest wait of an event at its core encoder, from emission (the neuron's delay under stall)"),
    "throughput": ("s-1", "delivered events over the time from the first emission to the last arrival"),
}


def router_study(output=None, **settings):
    """Run the router congestion study.

    Parameters
    ----------
    output : str, optional
        Folder for ``router-results.nc``, ``router-summary.json`` and the figures (nothing is
        written when None).
    **settings
        Fields of :class:`RouterStudySettings`.

    Returns
    -------
    StudyResult
        ``results`` has the variables of the runs with dims ``(pattern, policy, fifo_depth,
        offered_load)`` (``latency_percentile`` also ``percentile``) and, per pattern, the
        closed-form ``saturation_rate`` and the ``bottleneck_level``.

    Raises
    ------
    mixsig.errors.ConfigError
        Invalid settings or chip config.
    """
    s = RouterStudySettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
    raise_if_any(s.problems(), "router study settings")
    chip = load_chip(s.chip)
    if s.burst_size > chip.neurons_per_core:
        raise ConfigError([Problem("<router study>", "burst_size", s.burst_size,
                                   f"at most the chip's {chip.neurons_per_core} neurons per core")], "router study settings")
    board = Board.from_chip(chip)
    shape = (len(s.patterns), len(s.policies), len(s.fifo_depths), len(s.loads))
    values = {name: np.zeros(shape + ((len(PERCENTILES),) if name == "latency_percentile" else ()))
              for name in _VARIABLES if name != "drop_fraction"}
    capacity, bottleneck = np.zeros(len(s.patterns)), []
    for p, pattern in enumerate(s.patterns):
        rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(TRAFFIC_STREAM, PATTERNS.index(pattern))))
        traffic = _Traffic(pattern, board, s.events, s.burst_size, rng)
        capacity[p], level = _capacity(traffic, board)
        bottleneck.append(level)
        for (q, policy), (k, depth), (r, load) in _grid(s):
            router = Router.from_board(board, _levels(board, depth, policy))
            batch = traffic.batch(load * capacity[p])
            run = _measure(router, router.feed(batch, np.inf), batch.size, batch.time[0])
            for name, value in run.items():
                values[name][p, q, k, r] = value
    return _result(s, chip, values, capacity, bottleneck, output)


def _grid(s):
    """(policy, fifo depth, load) index-value triples of the runs of one pattern."""
    return [((q, policy), (k, depth), (r, load)) for q, policy in enumerate(s.policies)
            for k, depth in enumerate(s.fifo_depths) for r, load in enumerate(s.loads)]


def _result(s, chip, values, capacity, bottleneck, output):
    """The study's dataset, summary and files."""
    coords = {"pattern": list(s.patterns), "policy": list(s.policies),
              "fifo_depth": np.asarray(s.fifo_depths, dtype=np.int64), "offered_load": np.asarray(s.loads, dtype=float),
              "percentile": np.asarray(PERCENTILES)}
    dims = ("pattern", "policy", "fifo_depth", "offered_load")
    values["drop_fraction"] = values["dropped"] / values["emitted"]
    data = {name: (dims + (("percentile",) if name == "latency_percentile" else ()), values[name],
                   {"units": units, "long_name": long_name}) for name, (units, long_name) in _VARIABLES.items()}
    data["saturation_rate"] = (("pattern",), capacity, {
        "units": "s-1", "long_name": "closed-form saturation rate 1/max_l(f_l s_l) of the router for the pattern"})
    data["bottleneck_level"] = (("pattern",), np.array(bottleneck), {
        "units": "1", "long_name": "router level of the bottleneck link"})
    results = xr.Dataset(data, coords=coords)
    for name, units, long_name in (("pattern", "1", "traffic pattern"), ("policy", "1", "back-pressure policy"),
                                   ("fifo_depth", "1", "FIFO depth of every router level, events"),
                                   ("offered_load", "1", "offered load, event rate over the saturation rate"),
                                   ("percentile", "%", "latency percentile")):
        results[name].attrs = {"units": units, "long_name": long_name}
    placeholder = any(level.placeholder for level in chip.router.values())
    results.attrs.update(study="router", chip=chip.name, seed=s.seed, burst_size=s.burst_size,
                         placeholder_timings=int(placeholder))
    top = results.sel(offered_load=results["offered_load"].max())
    summary = {"settings": settings_dict(s), "placeholder_timings": placeholder, "patterns": {
        pattern: {"saturation_rate": float(capacity[p]), "bottleneck_level": bottleneck[p],
                  "throughput_at_highest_load_over_saturation_rate":
                      (top["throughput"].sel(pattern=pattern) / capacity[p]).values.tolist()}
        for p, pattern in enumerate(s.patterns)}}
    result = StudyResult(results, {}, summary)
    if output is not None:
        write_outputs(output, "router", result, _figures(results))
    return result


def _figures(results):
    """(stem, draw) per pattern: latency percentiles, drop fraction and hold time versus load."""
    figures = []
    for pattern in results["pattern"].values:
        r = results.sel(pattern=pattern)

        def lines(ax, name, policy, ylabel, logy, r=r, pattern=pattern):
            for n, depth in enumerate(r["fifo_depth"].values):
                one = r.sel(policy=policy, fifo_depth=depth)
                if name == "latency_percentile":
                    for pct, style in zip(r["percentile"].values, ("-", "--", ":")):
                        ax.plot(r["offered_load"], one[name].sel(percentile=pct) * 1e6, style, color=f"C{n}", marker="o",
                                ms=3, label=f"K = {depth}, p{pct:g}")
                else:
                    scale = 1e6 if r[name].attrs["units"] == "s" else 1.0
                    ax.plot(r["offered_load"], one[name] * scale, color=f"C{n}", marker="o", ms=3, label=f"K = {depth}")
            ax.axvline(1.0, color="k", lw=0.8)
            if logy:
                ax.set_yscale("log")
            ax.set_xlabel("offered load (rate / closed-form saturation rate)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{pattern}, {policy}")
            ax.legend(fontsize=7)

        for name, policy, ylabel, logy in (("latency_percentile", "stall", "latency (us)", True),
                                           ("latency_percentile", "drop", "latency (us)", True),
                                           ("drop_fraction", "drop", "drop fraction", False),
                                           ("hold_mean", "stall", "hold time per event (us)", False)):
            if policy in r["policy"].values:
                stem = f"router-{pattern}-{name.split('_')[0]}-{policy}"
                figures.append((stem, lambda ax, a=(name, policy, ylabel, logy), draw=lines: draw(ax, *a)))
    return figures
