"""ref1024: one ``dynapse2`` chip, 1024 neurons, 1 s at dt = 1e-4 s, noise off and on (issue 8).

Workload: :mod:`benchmarks._workloads` (64 recurrent + 64 Poisson input synapses per neuron,
generic 180 nm calibration with mismatch and ageing drift, spikes only). Figures, with ``X`` =
``ref1024`` (noise off) and ``ref1024_noise`` (shot noise on):

* ``X.neuron_steps_per_s``          1024 neurons x 10,000 steps / wall time of ``advance(1.0)``
  (compilation excluded: the kernels are compiled, and cached on disk, by a warm-up step);
* ``X.baseline_neuron_steps_per_s`` the same simulation, same command, run the way the engine ran
  before issue 8: one Python-driven step at a time, one thread, routing in Python
  (``max_steps_per_call = 1``, ``parallel = False``, ``compiled_routing = False``), over
  ``BASELINE_DURATION``;
* ``X.speedup``                     ratio of the two;
* ``X.mean_rate_hz``                mean firing rate (the workload is tuned to 10-40 Hz);
* ``X.share_<part>``                where the time goes (cProfile over ``PROFILE_DURATION``):
  compiled step loop (``kernel``: the neuron kernel with the step's delivery and compiled routing;
  the kernel alone: ``python -m benchmarks kernel_in_run``), router, drift re-evaluation, input
  trains, noise draws, Python glue;
* ``ref1024.startup_s``             fresh process: import, configs, sampling 1 instance, kernels
  from the numba cache, one step;
* ``ref1024_fast.*`` / ``ref1024_fast_noise.*`` (issue 15): the ``fast`` integrator on the same
  workload, noise off / on, with the ``exact`` integrator measured in the same run, interleaved
  (``exact_neuron_steps_per_s``, ``speedup_vs_exact``); ``neuron_steps_per_s`` is the engine's
  default, which chooses between one thread and all by measurement (:mod:`mixsig.engine.threads`);
  the threaded kernel on all threads against one (``threaded_neuron_steps_per_s``,
  ``one_thread_neuron_steps_per_s``, ``thread_speedup``, ``numba.set_num_threads``) and the default
  over the better of the two (``automatic_over_best``; the process keeps the choice between
  simulations, so all but the first round start decided) and the same for a simulation that
  probes from the start, as the first run of a process does (``automatic_fresh_over_best``,
  :func:`mixsig.engine.threads.forget` before it), and
  ``steps_per_delivery_free_chunk`` (:func:`delivery_free_chunk`: why one parallel region per
  chunk of steps cannot replace the one per step on this recurrent network); where the
  fast run's time goes (``share_<part>``); and its agreement with exact, same seed, 1 s, noise
  off (:func:`mixsig.analysis.agreement.compare`): ``agreement_open_<figure>`` with the
  recurrent connections removed, ``agreement_closed_<figure>`` on ref1024 as is, and
  ``agreement_closed_chaos_floor``, the distance of exact at dt/2 from exact at dt (with
  ``agreement_<loop>_exact_spikes`` and ``..._fast_spikes``, the spike totals compared: the ratios
  print to 4 digits);
* ``ref1024_fast_noise.draw_ns_per_normal`` and ``draw_ns_per_neuron_step``: CPU time of the
  shot-noise draws on one thread, per standard normal and per neuron-step (five normals), as the fast
  kernel makes them inside the step (:func:`mixsig.engine.philox.block_normals`, block by block), and
  ``buffer_draw_ns_*`` as the engine pre-draws them for the exact integrator
  (:func:`mixsig.engine.philox.standard_normals` into a block of the engine's own size), least of
  ``NOISE_ROUNDS``; :func:`noise_draws`;
* ``ref1024.peak_traced_mb_<T>s``   peak Python-traced memory (numpy included) of a fresh
  simulation advanced by ``T`` s, for the two ``MEMORY_DURATIONS``, and the growth per simulated
  second beyond the spike record (``ref1024.memory_growth_beyond_spikes_mb_per_s``).

``python -m benchmarks ref1024 --quick`` prints only the ``ref1024_fast.*`` and
``ref1024_fast_noise.*`` figures (exact measured alongside, 1 vs 2 threads, agreement), medians of
three rounds over ``QUICK_DURATION`` instead of two over ``DURATION`` (``ref1024_fast.duration_s``);
its agreement figures are over that shorter run, not the issue's 1 s.
"""

import dataclasses
import time

import numba
import numpy as np

from benchmarks import _workloads as workloads
from mixsig.analysis.agreement import compare
from mixsig.engine import philox
from mixsig.engine.fast import BLOCK, N_TYPES
from mixsig.engine.simulation import Simulation
from mixsig.engine.threads import call_with_threads, forget

DURATION = 1.0
BASELINE_DURATION = 0.2
PROFILE_DURATION = 0.2
MEMORY_DURATIONS = (0.2, 1.0)
QUICK_DURATION = 0.2
NOISE_ROUNDS = 7
FAST_TARGETS = {"ref1024_fast.target_neuron_steps_per_s": 5e7, "ref1024_fast_noise.target_neuron_steps_per_s": 3e7}
"""Issue 15's targets for the fast integrator, neuron-steps/s."""


def _throughput(simulation, duration):
    wall, _ = workloads.best_of(lambda: simulation.advance(duration, progress=False), repeat=1)
    return simulation.size * int(round(duration / simulation.experiment.dt)) / wall


def _ready(noise, duration=DURATION, integrator="exact", open_loop=False, dt=1e-4):
    return Simulation(workloads.experiment(noise=noise, duration=duration, integrator=integrator, open_loop=open_loop,
                                           dt=dt))


def measure_delivery(rounds=2, duration=DURATION):
    """The exact integrator with ``delivery = "exact"`` (pulses at their arrival times, routed in
    rounds: :mod:`mixsig.engine.onsets`) against the default step-start delivery, noise off,
    interleaved in the same run: neuron-steps/s of each, their ratio, and rounds per step."""
    rates = {"step": [], "exact": []}
    rounds_per_step = 0.0
    for _ in range(rounds):
        for delivery in rates:
            simulation = Simulation(dataclasses.replace(workloads.experiment(duration=duration), delivery=delivery))
            simulation.advance(1e-4, progress=False)  # compiled and warm before timing
            rates[delivery].append(_throughput(simulation, duration))
            if simulation.event_times is not None:
                rounds_per_step = simulation.event_times.rounds_run / simulation.step_index
    step, exact = (float(np.median(rates[k])) for k in ("step", "exact"))
    return {"ref1024_exact_delivery.neuron_steps_per_s": exact, "ref1024_exact_delivery.step_delivery_neuron_steps_per_s": step,
            "ref1024_exact_delivery.cost_vs_step_delivery": step / exact,
            "ref1024_exact_delivery.rounds_per_step": rounds_per_step}


def _spikes(integrator, open_loop=False, dt=1e-4, duration=DURATION):
    simulation = _ready(False, duration, integrator=integrator, open_loop=open_loop, dt=dt)
    simulation.advance(duration, progress=False)
    instance, neuron, time = simulation.spikes()
    return (instance * simulation.n + neuron, time), simulation.size


def measure_fast(noise, name, rounds=2, duration=DURATION):
    """Figures of the fast integrator for one noise setting, exact measured in the same run (interleaved),
    over ``duration`` s, medians of ``rounds``."""
    for integrator in ("exact", "fast"):
        _ready(noise, integrator=integrator).advance(10e-4, progress=False)  # compile or load the kernels
    rates = {"fast": [], "exact": [], "one_thread": [], "threaded": [], "fresh": []}
    threads = numba.get_num_threads()
    for _ in range(rounds):
        rates["exact"].append(_throughput(_ready(noise, duration), duration))
        fast_run = _ready(noise, duration, integrator="fast")
        rates["fast"].append(_throughput(fast_run, duration))
        forget()
        rates["fresh"].append(_throughput(_ready(noise, duration, integrator="fast"), duration))
        for kind in ("threaded", "one_thread"):
            simulation = _ready(noise, duration, integrator="fast")
            simulation.parallel = True
            rates[kind].append(_throughput(simulation, duration) if kind == "threaded" else
                               call_with_threads(False, _throughput, simulation, duration))
    fast, exact, one, threaded = (float(np.median(rates[k])) for k in ("fast", "exact", "one_thread", "threaded"))
    figures = {
        f"{name}.neuron_steps_per_s": fast,
        f"{name}.exact_neuron_steps_per_s": exact,
        f"{name}.speedup_vs_exact": fast / exact,
        f"{name}.one_thread_neuron_steps_per_s": one,
        f"{name}.threaded_neuron_steps_per_s": threaded,
        f"{name}.thread_speedup": threaded / one,
        f"{name}.automatic_over_best": fast / max(one, threaded),
        f"{name}.automatic_fresh_over_best": float(np.median(rates["fresh"])) / max(one, threaded),
        f"{name}.threads": threads,
        f"{name}.steps_per_delivery_free_chunk": delivery_free_chunk(fast_run),
    }
    for part, share in workloads.profile_split(_ready(noise, integrator="fast"), PROFILE_DURATION).items():
        figures[f"{name}.share_{part}"] = share
    return figures


def delivery_free_chunk(simulation):
    """Mean number of consecutive steps with no router delivery inside, of a run so far.

    A step with a spike ends such a chunk (its events arrive in the next step), so this is the
    steps run over the steps with a spike (plus one): the most steps one parallel region could
    cover if the threads ran a chunk of steps each on their own neurons and routing happened
    between chunks.
    """
    steps = np.unique(np.floor(simulation.spikes()[2] / simulation.experiment.dt).astype(np.int64))
    return simulation.step_index / (steps.size + 1)


def agreement(duration=DURATION):
    """Fast against exact, same seed, noise off, over ``duration`` s: open loop, closed loop, and the
    closed loop's chaos floor."""
    figures = {}
    for loop, open_loop in (("open", True), ("closed", False)):
        exact, m = _spikes("exact", open_loop, duration=duration)
        fast, _ = _spikes("fast", open_loop, duration=duration)
        for figure, value in compare(exact, fast, m).items():
            figures[f"ref1024_fast.agreement_{loop}_{figure}"] = value
        figures[f"ref1024_fast.agreement_{loop}_exact_spikes"] = exact[1].size
        figures[f"ref1024_fast.agreement_{loop}_fast_spikes"] = fast[1].size
        if not open_loop:
            half, _ = _spikes("exact", open_loop, dt=0.5e-4, duration=duration)
            figures["ref1024_fast.agreement_closed_chaos_floor"] = compare(exact, half, m)["distance"]
    return figures


def measure(noise, name):
    """Figures of one noise setting."""
    figures = {}
    simulation = _ready(noise)
    warm = _ready(noise)
    warm.advance(10 * warm.experiment.dt, progress=False)  # compile or load the kernels
    figures[f"{name}.neuron_steps_per_s"] = _throughput(simulation, DURATION)
    figures[f"{name}.mean_rate_hz"] = workloads.mean_rate(simulation)
    baseline = _ready(noise)
    baseline.parallel, baseline.max_steps_per_call, baseline.compiled_routing = False, 1, False
    figures[f"{name}.baseline_neuron_steps_per_s"] = _throughput(baseline, BASELINE_DURATION)
    fast = _ready(noise)
    figures[f"{name}.same_duration_neuron_steps_per_s"] = _throughput(fast, BASELINE_DURATION)
    figures[f"{name}.speedup"] = figures[f"{name}.same_duration_neuron_steps_per_s"] / figures[f"{name}.baseline_neuron_steps_per_s"]
    np.testing.assert_array_equal(baseline.spikes()[2], fast.spikes()[2])  # same physics, bit for bit
    profiled = _ready(noise)
    for part, share in workloads.profile_split(profiled, PROFILE_DURATION).items():
        figures[f"{name}.share_{part}"] = share
    return figures


def memory():
    """Peak traced memory for two durations and the growth beyond the spike record."""
    figures, peaks, spikes = {}, [], []
    for duration in MEMORY_DURATIONS:
        simulation = _ready(False, duration)
        peaks.append(workloads.traced_peak(lambda: simulation.advance(duration, progress=False)))
        spikes.append(simulation.spike_record_nbytes)
        figures[f"ref1024.peak_traced_mb_{duration:g}s"] = peaks[-1] / 2**20
    growth = ((peaks[1] - spikes[1]) - (peaks[0] - spikes[0])) / (MEMORY_DURATIONS[1] - MEMORY_DURATIONS[0])
    figures["ref1024.spike_record_mb_per_s"] = (spikes[1] - spikes[0]) / (MEMORY_DURATIONS[1] - MEMORY_DURATIONS[0]) / 2**20
    figures["ref1024.memory_growth_beyond_spikes_mb_per_s"] = growth / 2**20
    figures["ref1024.rss_mb"] = workloads.rss_bytes() / 2**20
    return figures


@numba.njit(cache=True)
def _kernel_draws(out, first, steps, rows, keys, n_neurons):
    """The shot-noise draws of ``steps`` steps from ``first`` as the fast kernel makes them: block by block of
    :data:`mixsig.engine.fast.BLOCK` neurons, each row into the block's own part of ``out`` (rows, m)."""
    m = out.shape[1]
    for step in range(first, first + steps):
        for lo in range(0, m, BLOCK):
            hi = min(m, lo + BLOCK)
            words, z = philox.scratch()
            for row in range(rows):
                philox.block_normals(out[row, lo:hi], lo, hi, step, row, keys, n_neurons, 1.0, words, z)


def noise_draws(rounds=NOISE_ROUNDS):
    """CPU ns of the shot-noise draws on one thread per standard normal and per neuron-step (five normals):
    as the fast kernel draws them inside the step (``draw_ns_*``: :func:`mixsig.engine.philox.block_normals`
    per block and row into a work row, in cache) and as the exact integrator's engine pre-draws them
    (``buffer_draw_ns_*``: :func:`mixsig.engine.philox.standard_normals` filling blocks the size the engine
    draws for ref1024 with noise, steps of all rows, in turn)."""
    simulation = _ready(True, integrator="exact")
    block, rows = simulation.noise, N_TYPES + 1  # the four DPIs' and the soma's shot noise
    steps, m = block.shape[0], simulation.size
    row_block = np.empty((rows, m))

    def draw():
        for first in range(0, 4 * steps, steps):
            philox.standard_normals(block, rows, first, simulation.noise_keys, simulation.n, 1.0)

    def draw_in_kernel():
        _kernel_draws(row_block, 0, 4 * steps, rows, simulation.noise_keys, simulation.n)

    figures = {}
    for name, function in (("draw", draw_in_kernel), ("buffer_draw", draw)):
        call_with_threads(False, function)
        best = np.inf
        for _ in range(rounds):
            start = time.process_time_ns()
            call_with_threads(False, function)
            best = min(best, (time.process_time_ns() - start) / (4 * steps * m))
        figures[f"ref1024_fast_noise.{name}_ns_per_neuron_step"] = best
        figures[f"ref1024_fast_noise.{name}_ns_per_normal"] = best / rows
    return figures


def run(quick=False):
    """Measure; return ``{figure: value}``. ``quick``: only the issue-15 figures (fast and exact, noise
    off and on, 1 vs 2 threads, agreement), three rounds over ``QUICK_DURATION``."""
    if quick:
        figures = measure_fast(False, "ref1024_fast", rounds=3, duration=QUICK_DURATION)
        figures.update(measure_fast(True, "ref1024_fast_noise", rounds=3, duration=QUICK_DURATION))
        figures.update(noise_draws())
        figures.update(agreement(QUICK_DURATION))
        figures.update(measure_delivery(rounds=3, duration=QUICK_DURATION))
        return {**figures, "ref1024_fast.duration_s": QUICK_DURATION, **FAST_TARGETS}
    figures = measure(False, "ref1024")
    figures["ref1024.startup_s"] = workloads.startup_seconds()  # after the kernels are in the disk cache
    figures.update(measure(True, "ref1024_noise"))
    figures.update(measure_fast(False, "ref1024_fast"))
    figures.update(measure_fast(True, "ref1024_fast_noise"))
    figures.update(noise_draws())
    figures.update(agreement())
    figures.update(measure_delivery())
    figures.update(memory())
    figures["ref1024.target_neuron_steps_per_s"] = 2e8
    figures["ref1024_noise.target_neuron_steps_per_s"] = 1e8
    return {**figures, "ref1024_fast.duration_s": DURATION, **FAST_TARGETS}


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure}: {value:.4g}")
