"""threads: OpenMP wait policies, 1 vs 2 threads on ref1024 with the fast integrator (issue 15).

OpenMP reads its wait policy once, when numba starts its threads, so each policy runs in its own
process (:data:`POLICIES`: the environment it is started with). In each process one simulation of
``INSTANCES`` chips is advanced past its onset transient (``SETTLE`` s) and then by ``ROUNDS_PER_PROCESS``
rounds of three consecutive windows of ``WINDOW / INSTANCES`` s (simulated), in rotating order:

* ``two``: the threaded kernel on two threads (``Simulation.parallel = True``);
* ``one``: the threaded kernel with numba's thread count set to 1 (what the engine's automatic
  choice runs when one thread is faster, :mod:`mixsig.engine.threads`);
* ``serial``: the one-thread kernel (``parallel = False``, the default below
  :data:`~mixsig.engine.kernels.PARALLEL_MIN_NEURONS` neurons);

so that all three see the same load and activity. A process reports, per window round, ``two``
over ``one`` and ``serial`` over ``one`` throughput, and their medians; the benchmark runs ``ROUNDS``
processes of every policy, interleaved, and prints per policy and size (``<size>``: neurons):

* ``threads.<policy>.<size>.speedup``       median over processes of the median ``two / one``
  (> 1: the second thread helps);
* ``threads.<policy>.<size>.speedup_min``   the smallest process median (the worst process);
* ``threads.<policy>.<size>.serial_over_one`` median ``serial / one``: the cost of running the
  threaded kernel on one thread instead of the one-thread kernel (1: none);
* ``threads.<policy>.<size>.one_thread_neuron_steps_per_s`` median ``one`` throughput;
* ``threads.load_average``                  the 1-minute load average at the start and
  ``threads.load_average_end`` at the end (2 cores: above 2, other processes compete for the cores).

``--quick``: only ``INSTANCES[0]`` (1024 neurons), ``passive`` and ``spin1e4``, two rounds.
"""

import os
import subprocess
import sys

import numpy as np

POLICIES = {
    "passive": {"OMP_WAIT_POLICY": "passive"},
    "spin1e4": {"GOMP_SPINCOUNT": "10000"},
    "spin1e5": {"GOMP_SPINCOUNT": "100000"},
    "default": {},
    "active": {"OMP_WAIT_POLICY": "active"},
}
"""Environment of each policy's process. ``default``: GNU OpenMP's own (spin 3e5 iterations, about
3 ms, then sleep); ``spinN``: spin ``N`` iterations (about N/1e5 ms) then sleep (``spin1e4`` is the
engine's default, :data:`mixsig.engine.kernels.SPIN_COUNT`); ``passive``: sleep at once; ``active``:
spin (libgomp: 3e10 iterations, minutes)."""

WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_THREADING_LAYER")
INSTANCES = (1, 4)
ROUNDS = 3
ROUNDS_PER_PROCESS = 6
WINDOW = 0.04
SETTLE = 0.06
MODES = ("two", "one", "serial")

CHILD = """
import sys
from benchmarks.threads import child
child(int(sys.argv[1]), int(sys.argv[2]))
"""


def _window(simulation, mode, duration):
    """Neuron-steps/s of ``simulation.advance(duration)`` in ``mode`` (:data:`MODES`)."""
    import time

    from mixsig.engine.threads import call_with_threads

    simulation.parallel = mode != "serial"
    start = time.perf_counter()
    call_with_threads(mode != "one", simulation.advance, duration, False)
    wall = time.perf_counter() - start
    return simulation.size * round(duration / simulation.experiment.dt) / wall


def child(instances, rounds):
    """One policy's process: print the medians of ``two / one``, ``serial / one`` and ``one`` over ``rounds``."""
    import numba

    from benchmarks import _workloads as workloads
    from mixsig.engine.simulation import Simulation

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    simulation = Simulation(workloads.experiment(instances=instances, integrator="fast", duration=10.0))
    window = WINDOW / instances
    for mode in MODES:  # kernels compiled or loaded, then the onset transient
        _window(simulation, mode, SETTLE / len(MODES))
    two, serial, one = [], [], []
    for r in range(rounds):
        rates = {mode: _window(simulation, mode, window) for mode in MODES[r % 3:] + MODES[:r % 3]}
        two.append(rates["two"] / rates["one"])
        serial.append(rates["serial"] / rates["one"])
        one.append(rates["one"])
    print(float(np.median(two)), float(np.median(serial)), float(np.median(one)))


def _measure(policy, instances, rounds):
    env = {k: v for k, v in os.environ.items() if k not in WAIT_VARIABLES}
    env.update(POLICIES[policy], NUMBA_THREADING_LAYER="omp")  # the engine then leaves the environment alone
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", CHILD, str(instances), str(rounds)], env=env, check=True,
                         capture_output=True, text=True)
    return [float(value) for value in out.stdout.split()]


def run(quick=False):
    """Measure; return ``{figure: value}``."""
    sizes, rounds, policies = (INSTANCES[:1], 2, ["passive", "spin1e4"]) if quick else (INSTANCES, ROUNDS, list(POLICIES))
    figures = {"threads.load_average": os.getloadavg()[0]}
    results = {(p, i): [] for p in policies for i in sizes}
    for r in range(rounds):
        for instances in sizes:
            for policy in policies[r % len(policies):] + policies[:r % len(policies)]:  # no policy always first
                results[policy, instances].append(_measure(policy, instances, ROUNDS_PER_PROCESS))
    for (policy, instances), values in results.items():
        two, serial, one = np.array(values).T
        name = f"threads.{policy}.{instances * 1024}"
        figures[f"{name}.speedup"] = float(np.median(two))
        figures[f"{name}.speedup_min"] = float(two.min())
        figures[f"{name}.serial_over_one"] = float(np.median(serial))
        figures[f"{name}.one_thread_neuron_steps_per_s"] = float(np.median(one))
    figures["threads.load_average_end"] = os.getloadavg()[0]
    return figures


if __name__ == "__main__":
    for figure, value in run(quick="--quick" in sys.argv).items():
        print(f"{figure}: {value:.4g}")
