"""board: the ref1024 network tiled on boards of 1 to 16 ``dynapse2`` chips, with inter-chip traffic.

Each chip holds 1024 neurons; a quarter of every neuron's 64 recurrent synapses come from the next
chip to the east (wrapping around), so every spike of a first-core neuron also crosses the mesh.
One instance, noise off, spikes only; per size, ``WARMUP`` s are simulated untimed (the network
needs ~50 ms to leave its resting state) and then ``BOARD_DURATION`` s are timed in ``WINDOWS``
consecutive windows, of which the fastest counts (the machine is shared). Figures:

* ``board.<nx>x<ny>.neuron_steps_per_s`` and ``board.<nx>x<ny>.wall_s`` for each size;
* ``board.<nx>x<ny>.mesh_events_per_s`` events that left their chip, per simulated second;
* ``board.scaling_exponent``  least-squares slope of log(wall time) against log(neuron count)
  (the issue asks <= 1: no worse than linear);
* ``board.setup_s_4x4``       building the 16-chip simulation (network compilation included).

These use the ``exact`` integrator; ``board_fast.*`` are the same figures with ``fast``
(issue 15), measured in the same run.
"""

import time

import numpy as np

from benchmarks import _workloads as workloads
from mixsig.engine.simulation import Simulation

SIZES = ((1, 1), (2, 1), (2, 2), (4, 4))
BOARD_DURATION = 0.1
WARMUP = 0.08
WINDOWS = 5


def _mesh_offered(simulation):
    """Events offered to mesh links so far."""
    stats = simulation.router.link_stats()
    return float(stats.offered[np.asarray([kind == "mesh" for kind in stats.kind])].sum())


def run():
    """Measure; return ``{figure: value}``."""
    return {**_measure("board", "exact"), **_measure("board_fast", "fast")}


def _measure(prefix, integrator):
    """The figures of one integrator, named ``<prefix>.*``."""
    figures, neurons, walls = {}, [], []
    warm = Simulation(workloads.experiment(duration=1e-3, integrator=integrator))
    warm.advance(1e-3, progress=False)
    for nx, ny in SIZES:
        start = time.perf_counter()
        simulation = Simulation(workloads.experiment(nx=nx, ny=ny, duration=WARMUP + BOARD_DURATION,
                                                     integrator=integrator))
        setup = time.perf_counter() - start
        simulation.advance(WARMUP, progress=False)
        spikes_before = simulation.spikes()[2].size
        mesh_before = _mesh_offered(simulation)
        wall = np.inf
        for _ in range(WINDOWS):  # the fastest of consecutive windows: the machine is shared
            start = time.perf_counter()
            simulation.advance(BOARD_DURATION / WINDOWS, progress=False)
            wall = min(wall, (time.perf_counter() - start) * WINDOWS)
        name = f"{prefix}.{nx}x{ny}"
        steps = int(round(BOARD_DURATION / simulation.experiment.dt))
        figures[f"{name}.neuron_steps_per_s"] = simulation.size * steps / wall
        figures[f"{name}.wall_s"] = wall
        figures[f"{name}.mean_rate_hz"] = (simulation.spikes()[2].size - spikes_before) / (simulation.size * BOARD_DURATION)
        figures[f"{name}.mesh_events_per_s"] = (_mesh_offered(simulation) - mesh_before) / BOARD_DURATION
        neurons.append(simulation.size)
        walls.append(wall)
        if (nx, ny) == SIZES[-1]:
            figures[f"{prefix}.setup_s_4x4"] = setup
    figures[f"{prefix}.scaling_exponent"] = float(np.polyfit(np.log(neurons), np.log(walls), 1)[0])
    return figures


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure}: {value:.4g}")
