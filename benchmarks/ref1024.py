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
  compiled kernel, router, drift re-evaluation, input trains, noise draws, Python glue;
* ``ref1024.startup_s``             fresh process: import, configs, sampling 1 instance, kernels
  from the numba cache, one step;
* ``ref1024.peak_traced_mb_<T>s``   peak Python-traced memory (numpy included) of a fresh
  simulation advanced by ``T`` s, for the two ``MEMORY_DURATIONS``, and the growth per simulated
  second beyond the spike record (``ref1024.memory_growth_beyond_spikes_mb_per_s``).
"""

import numpy as np

from benchmarks import _workloads as workloads
from mixsig.engine.simulation import Simulation

DURATION = 1.0
BASELINE_DURATION = 0.2
PROFILE_DURATION = 0.2
MEMORY_DURATIONS = (0.2, 1.0)


def _throughput(simulation, duration):
    wall, _ = workloads.best_of(lambda: simulation.advance(duration, progress=False), repeat=1)
    return simulation.size * int(round(duration / simulation.experiment.dt)) / wall


def _ready(noise, duration=DURATION):
    simulation = Simulation(workloads.experiment(noise=noise, duration=duration))
    return simulation


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


def run():
    """Measure; return ``{figure: value}``."""
    figures = measure(False, "ref1024")
    figures["ref1024.startup_s"] = workloads.startup_seconds()  # after the kernels are in the disk cache
    figures.update(measure(True, "ref1024_noise"))
    figures.update(memory())
    figures["ref1024.target_neuron_steps_per_s"] = 2e8
    figures["ref1024_noise.target_neuron_steps_per_s"] = 1e8
    return figures


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure}: {value:.4g}")
