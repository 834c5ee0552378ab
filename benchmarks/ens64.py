"""ens64: the ref1024 workload for 64 chip instances at once (issue 8).

Each instance is an independent mismatch draw of the chip (own noise streams and router rows),
all sharing the input trains. Shot noise off, spikes only. Figures (``ENS_DURATION`` simulated,
the same for every variant, so that each sees the same activity transient):

* ``ens64.neuron_steps_per_s``               64 x 1024 neurons in one process, kernel threaded over
  both cores;
* ``ens64.baseline_loop_neuron_steps_per_s`` a loop over ``LOOP_INSTANCES`` single-instance runs
  (the alternative to batching), single-threaded as a single instance would run;
* ``ens64.ratio_to_loop``                    batching over the loop (the issue asks >= 1);
* ``ens64.processes2_neuron_steps_per_s``    :func:`mixsig.ensemble.run_ensemble` with 2 worker
  processes (32 instances each, one thread each), process start-up, shard files and combining
  included;
* ``ens64_fast.*`` (issue 15): the one-process figures with the ``fast`` integrator (the others use
  ``exact``); for both, ``ratio_per_instance_to_ref1024``, the per-instance throughput of the
  64-instance run over that of one ref1024 instance run in the same mode (the issue asks
  >= 1), and ``study_64x1s_estimate_s``, the wall time of a 64-instance x 1 s study at that
  throughput (an extrapolation from the first ``ENS_DURATION`` s, which hold the onset burst and a
  drift update: it overstates the cost); ``ens64_fast.thread_ratio``, the threaded kernel's wall
  time per step over the one-thread kernel's, from the engine's own probes
  (:mod:`mixsig.engine.threads`, median of its last probe pairs; < 1: both cores help);
* ``ens64.peak_traced_mb_<T>s``, ``ens64.rss_mb`` and ``ens64.memory_growth_beyond_spikes_mb_per_s``
  peak traced memory (tracemalloc, numpy arrays included) of fresh simulations advanced by the two
  ``MEMORY_DURATIONS``, and its growth per simulated second beyond the spike record. The timed
  run is the longer of the two (tracing costs little: the time is spent in compiled code).

``--long`` adds the study itself, measured, not extrapolated (several minutes on a shared machine):

* ``ens64.study_64x1s_wall_s``        wall time of a 64-instance x 1 s study of ref1024 with the
  ``fast`` integrator in one process (the issue asks < 60 s): building the simulation, ``advance(1.0)``
  and the dataset; kernels compiled beforehand;
* ``ens64.study_64x1s_advance_s``     the ``advance(1.0)`` part alone, and ``study_64x1s_cpu_s`` its
  CPU time (every thread of the process: on a shared machine, divided by the cores, the wall time the
  study would take alone);
* ``ens64.study_neuron_steps_per_s``  64 x 1024 x 10,000 / the advance time;
* ``ens64.study_ratio_per_instance_to_ref1024`` per-instance throughput of the study over that of
  ref1024 (one instance, fast, 1 s) measured just before and just after it (the mean of the two),
  same process, same default thread choice (the issue asks >= 1); ``study_cpu_ratio_...`` the same
  per CPU second (less sensitive to a load that changes during the study);
* ``ens64.study_thread_ratio``        the engine's threaded over one-thread time per step in the study;
* ``ens64.study_mean_rate_hz``;
* ``ens64.study_64x1s_total_cpu_s``   CPU time of the whole one-simulation study (building, advancing, dataset);
* ``ens64.study_grouped_*``           the same study through :func:`mixsig.engine.simulation.run`, which runs
  the instances in cache-sized groups (:mod:`mixsig.engine.groups`): wall and CPU seconds of the
  whole run, dataset included, and the per-instance ratios to ref1024 over them;
* ``ens64.study_workers2_*``          the same through :func:`mixsig.ensemble.run_ensemble` on two worker
  processes (one thread each, each running its 32 instances in groups; CPU of the workers included).
"""

import os
import time

import numpy as np

from benchmarks import _workloads as workloads
from mixsig.engine.simulation import Simulation, run as run_experiment
from mixsig.ensemble import run_ensemble

INSTANCES = 64
ENS_DURATION = 0.1
LOOP_INSTANCES = 4
MEMORY_DURATIONS = (0.06, ENS_DURATION)
STUDY_DURATION = 1.0


def _steps(duration):
    return int(round(duration / 1e-4))


def _per_instance(figures, prefix, experiment):
    """Add ``ratio_per_instance_to_ref1024`` and ``study_64x1s_wall_s`` for ``prefix`` (its
    ``neuron_steps_per_s`` measured): one instance of ``experiment``, the engine's default thread choice,
    timed alike."""
    single = Simulation(experiment, instances=[0])
    start = time.perf_counter()
    single.advance(ENS_DURATION, progress=False)
    ref_rate = single.size * _steps(ENS_DURATION) / (time.perf_counter() - start)
    rate = figures[f"{prefix}.neuron_steps_per_s"]
    figures[f"{prefix}.ratio_per_instance_to_ref1024"] = rate / ref_rate
    figures[f"{prefix}.study_64x1s_estimate_s"] = INSTANCES * 1024 * _steps(1.0) / rate


def _thread_ratio(simulation):
    """The engine's threaded over one-thread time per step (median of its last probe pairs; NaN if none)."""
    ratios = simulation.thread_choice.ratios
    return float(np.median(ratios)) if ratios else float("nan")


def _timed_advance(simulation, duration):
    """Wall and CPU (all threads of this process) seconds of ``simulation.advance(duration)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    simulation.advance(duration, progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu


def _ref1024_rates(experiment):
    """Neuron-steps per wall second and per CPU second of one ref1024 instance of ``experiment``."""
    single = Simulation(experiment.replace(instances=1))
    wall, cpu = _timed_advance(single, experiment.duration)
    return single.size * _steps(experiment.duration) / np.array([wall, cpu])


def _timed_run(experiment, workers=None):
    """Wall and CPU seconds (this process and its children) of the experiment's dataset: :func:`mixsig.engine.simulation.run`
    (instances in cache-sized groups), or :func:`mixsig.ensemble.run_ensemble` on ``workers`` processes."""
    wall, cpu = time.perf_counter(), _cpu_with_children()
    ds = run_experiment(experiment, progress=False) if workers is None else run_ensemble(experiment, workers=workers)
    return ds, time.perf_counter() - wall, _cpu_with_children() - cpu


def _cpu_with_children():
    """CPU seconds of this process and of its finished child processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def study(duration=STUDY_DURATION):
    """The measured 64-instance fast study (``duration`` s) and ref1024 around it (``--long``): one
    simulation of every instance (``study_*``), the default ``run`` (``study_grouped_*``) and two
    worker processes (``study_workers2_*``)."""
    experiment = workloads.experiment(noise=False, instances=INSTANCES, duration=duration, integrator="fast")
    Simulation(experiment.replace(instances=2)).advance(1e-3, progress=False)  # compile or load the fast kernels
    before = _ref1024_rates(experiment)
    start, start_cpu = time.perf_counter(), _cpu_with_children()
    simulation = Simulation(experiment)
    advance_wall, advance_cpu = _timed_advance(simulation, duration)
    simulation.dataset()
    wall, cpu = time.perf_counter() - start, _cpu_with_children() - start_cpu
    _, grouped_wall, grouped_cpu = _timed_run(experiment)
    _, workers_wall, workers_cpu = _timed_run(experiment, workers=2)
    ref_wall, ref_cpu = (before + _ref1024_rates(experiment)) / 2
    total = simulation.size * _steps(duration)
    return {"ens64.study_64x1s_wall_s": wall, "ens64.study_64x1s_advance_s": advance_wall,
            "ens64.study_64x1s_cpu_s": advance_cpu, "ens64.study_64x1s_total_cpu_s": cpu,
            "ens64.study_neuron_steps_per_s": total / advance_wall,
            "ens64.study_ratio_per_instance_to_ref1024": total / advance_wall / ref_wall,
            "ens64.study_cpu_ratio_per_instance_to_ref1024": total / advance_cpu / ref_cpu,
            "ens64.study_ref1024_neuron_steps_per_s": ref_wall,
            "ens64.study_thread_ratio": _thread_ratio(simulation),
            "ens64.study_mean_rate_hz": workloads.mean_rate(simulation),
            "ens64.study_grouped_wall_s": grouped_wall, "ens64.study_grouped_cpu_s": grouped_cpu,
            "ens64.study_grouped_ratio_per_instance_to_ref1024": total / grouped_wall / ref_wall,
            "ens64.study_grouped_cpu_ratio_per_instance_to_ref1024": total / grouped_cpu / ref_cpu,
            "ens64.study_workers2_wall_s": workers_wall, "ens64.study_workers2_cpu_s": workers_cpu,
            "ens64.study_workers2_ratio_per_instance_to_ref1024": total / workers_wall / ref_wall,
            "ens64.study_workers2_cpu_ratio_per_instance_to_ref1024": total / workers_cpu / ref_cpu}


def run(long=False):
    """Measure; return ``{figure: value}`` (``long``: with :func:`study`)."""
    figures = study() if long else {}
    experiment = workloads.experiment(noise=False, instances=INSTANCES, duration=ENS_DURATION)
    warm = Simulation(experiment.replace(instances=2))
    warm.advance(1e-3, progress=False)
    peaks, spikes = [], []
    for duration in MEMORY_DURATIONS:
        simulation = Simulation(experiment.replace(duration=duration))
        start = time.perf_counter()
        peaks.append(workloads.traced_peak(lambda: simulation.advance(duration, progress=False)))
        wall = time.perf_counter() - start
        spikes.append(simulation.spike_record_nbytes)
        figures[f"ens64.peak_traced_mb_{duration:g}s"] = peaks[-1] / 2**20
    span = MEMORY_DURATIONS[1] - MEMORY_DURATIONS[0]
    figures["ens64.spike_record_mb_per_s"] = (spikes[1] - spikes[0]) / span / 2**20
    figures["ens64.memory_growth_beyond_spikes_mb_per_s"] = ((peaks[1] - spikes[1]) - (peaks[0] - spikes[0])) / span / 2**20
    total = simulation.size * _steps(ENS_DURATION)
    figures["ens64.neuron_steps_per_s"] = total / wall
    figures["ens64.wall_s"] = wall
    figures["ens64.mean_rate_hz"] = workloads.mean_rate(simulation)
    _per_instance(figures, "ens64", experiment)
    fast = experiment.replace(integrator="fast")
    Simulation(fast.replace(instances=2)).advance(1e-3, progress=False)  # compile or load the fast kernels
    simulation = Simulation(fast)
    start = time.perf_counter()
    simulation.advance(ENS_DURATION, progress=False)
    wall = time.perf_counter() - start
    figures["ens64_fast.neuron_steps_per_s"] = total / wall
    figures["ens64_fast.wall_s"] = wall
    figures["ens64_fast.mean_rate_hz"] = workloads.mean_rate(simulation)
    figures["ens64_fast.thread_ratio"] = _thread_ratio(simulation)
    _per_instance(figures, "ens64_fast", fast)

    def loop():
        for instance in range(LOOP_INSTANCES):
            single = Simulation(experiment, instances=[instance])
            single.parallel = False
            single.advance(ENS_DURATION, progress=False)

    start = time.perf_counter()
    loop()
    loop_wall = time.perf_counter() - start
    figures["ens64.baseline_loop_neuron_steps_per_s"] = LOOP_INSTANCES * 1024 * _steps(ENS_DURATION) / loop_wall
    figures["ens64.ratio_to_loop"] = figures["ens64.neuron_steps_per_s"] / figures["ens64.baseline_loop_neuron_steps_per_s"]

    start = time.perf_counter()
    run_ensemble(experiment, workers=2)
    figures["ens64.processes2_neuron_steps_per_s"] = total / (time.perf_counter() - start)
    figures["ens64.rss_mb"] = workloads.rss_bytes() / 2**20
    return figures


if __name__ == "__main__":
    import sys

    for figure, value in run(long="--long" in sys.argv).items():
        print(f"{figure}: {value:.4g}")
