"""Memory of the default experiment over a long run with only spikes recorded (issue 5).

The embedded default experiment (``mixsig run``) with 8 instances runs for 10 s; after each
simulated second the process RSS, the Python-traced memory and the size of the spike record are
read. Memory beyond the spike record must stay flat: the state, router and input trains do not
grow with duration. Slow (minutes): ``python -m benchmarks default_memory``.
"""

import time
import tracemalloc

from mixsig.engine.simulation import Simulation
from mixsig.experiment import Record, default_experiment

INSTANCES = 8
SECONDS = 10


def _rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run():
    """Figures: RSS and traced memory beyond the spike record at 1 s and at the end, and the spike rate."""
    experiment = default_experiment().replace(instances=INSTANCES, duration=float(SECONDS),
                                              record=Record(router=True, parameters=False))
    simulation = Simulation(experiment)
    tracemalloc.start()
    start = time.perf_counter()
    rows = []
    for second in range(SECONDS):
        simulation.advance(1.0)
        traced = tracemalloc.get_traced_memory()[0] / 1e6
        rows.append((_rss_mb(), traced - simulation.spike_record_nbytes / 1e6, simulation.spike_record_nbytes / 1e6))
        print(f"t = {second + 1:2d} s: RSS {rows[-1][0]:.1f} MB, traced beyond spikes {rows[-1][1]:.2f} MB, "
              f"spike record {rows[-1][2]:.2f} MB", flush=True)
    wall = time.perf_counter() - start
    return {
        "default_memory.rss_mb_1s": rows[0][0],
        "default_memory.rss_mb_end": rows[-1][0],
        "default_memory.traced_beyond_spikes_mb_1s": rows[0][1],
        "default_memory.traced_beyond_spikes_mb_end": rows[-1][1],
        "default_memory.spike_record_mb_end": rows[-1][2],
        "default_memory.spikes": simulation.n_spikes,
        "default_memory.wall_s_per_simulated_s": wall / SECONDS,
    }


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value}")
