"""Timing helpers of the benchmarks; the reference workloads of issue 8 (``ref1024``, ``board``) are
defined in :mod:`mixsig.workloads` and re-exported here.
"""

import os
import pathlib
import time
import tracemalloc

import numpy as np

from mixsig.engine.kernels import step_loop_name
from mixsig.engine.protocol import KERNELS
from mixsig.workloads import chip_file, experiment, network  # noqa: F401 (the workloads, re-exported)


def best_of(function, repeat=2):
    """Smallest wall time of ``repeat`` calls, s, and the last call's result."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def rss_bytes():
    """Resident set size of this process now, bytes (Linux ``/proc``)."""
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def traced_peak(function):
    """Peak Python-allocated memory (tracemalloc, numpy arrays included) during ``function()``, bytes."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def mean_rate(simulation):
    """Mean firing rate of a simulation so far, Hz."""
    duration = simulation.step_index * simulation.experiment.dt
    return simulation.spikes()[2].size / (simulation.size * duration)


STARTUP_SCRIPT = """
import time
start = time.perf_counter()
import numpy as np
from mixsig.engine.simulation import Simulation
from benchmarks._workloads import experiment
exp = experiment(noise={noise}, instances=1, duration=1e-4)
sim = Simulation(exp)
sim.advance(exp.dt)
print(time.perf_counter() - start)
"""


def startup_seconds(noise=False):
    """Wall time of a fresh process to import mixsig, load the configs, sample 1 instance and run one
    step (numba kernels loaded from the on-disk cache), s; the interpreter's own start excluded."""
    import subprocess
    import sys

    root = str(pathlib.Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT.format(noise=noise)], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


PROFILE_PARTS = {
    "kernel": tuple(step_loop_name(f) for k in KERNELS.values() for f in (k.advance, k.advance_serial)),
    "router": ("feed", "events_from_spikes"),
    "drift": ("_set_parameters",),
    "inputs": ("_block_inputs",),
    "noise": ("_draw_noise",),
}
"""Profile buckets: cumulative time of these functions (engine-side names)."""


def profile_split(simulation, duration):
    """Fractions of the wall time of ``simulation.advance(duration)`` spent in each :data:`PROFILE_PARTS`
    bucket (the rest is the engine's Python glue), from cProfile."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    simulation.advance(duration, progress=False)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())  # tottime over every function = wall time profiled
    parts = {}
    for part, names in PROFILE_PARTS.items():
        parts[part] = sum(entry[3] for (_, _, name), entry in stats.items() if name in names) / total
    parts["python_glue"] = max(0.0, 1.0 - sum(parts.values()))
    return parts
