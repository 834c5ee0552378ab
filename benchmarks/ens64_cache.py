"""ens64_cache: is the 64-instance study memory-bound? The ``fast`` kernel on its states, all instances
per step against cache-sized groups of instances through all the steps (issue 15).

A 64-instance ref1024 simulation (``fast``, noise off) is settled for ``SETTLE`` s, then run ``STEPS``
steps one per call, keeping each step's weight currents. The kernel (:func:`mixsig.engine.fast.advance`)
is replayed over those steps from the recorded start (the end state is checked bit for bit):

* ``ens64_cache.all_<t>t_ns``       all 64 instances per step, one step after the other (as a
  simulation of every instance runs);
* ``ens64_cache.group<g>_<t>t_ns``  groups of ``g`` instances (each with its own copy of its columns of
  every table and state), each group through all the steps before the next
  (:mod:`mixsig.engine.groups`).

CPU ns per neuron-step (of every thread of the process: spinning threads count), on ``t`` numba threads,
least of ``ROUNDS`` interleaved rounds. And the whole engine on one thread (``parallel = False``),
``RUN_DURATION`` s after ``RUN_SETTLE`` s (not timed), CPU ns per neuron-step of ``advance``:

* ``ens64_cache.run_all_1t_ns``     one simulation of all 64 instances;
* ``ens64_cache.run_groups_1t_ns``  a simulation per group of :func:`mixsig.engine.groups.instance_groups`
  (as :func:`mixsig.engine.simulation.run` makes them), one after the other.
"""

import time

import numba
import numpy as np

from benchmarks import _workloads as workloads
from benchmarks.kernel_in_run import record_steps
from mixsig.engine import fast, philox
from mixsig.engine.groups import instance_groups
from mixsig.engine.simulation import Simulation

INSTANCES = 64
SETTLE = 0.01
STEPS = 40
ROUNDS = 3
GROUPS = (1, 4, 16)
RUN_SETTLE = 0.02
RUN_DURATION = 0.05


def _recorded():
    """The settled simulation, its start state, each step's weight currents and its end state."""
    experiment = workloads.experiment(noise=False, instances=INSTANCES, duration=1.0, integrator="fast")
    simulation, start, steps, end = record_steps(Simulation(experiment), SETTLE, STEPS)
    return simulation, start, [i_w for i_w, _ in steps], end


def _columns(a, lo, hi):
    """Columns ``lo .. hi - 1`` of the neuron axis (last) of a kernel table, then :data:`fast.PAD` zeros."""
    out = np.zeros(a.shape[:-1] + (hi - lo + fast.PAD,), a.dtype)
    out[..., :hi - lo] = a[..., lo:hi]
    return out


def run():
    simulation, start, weights, end = _recorded()
    m, dt, i_dc = simulation.size, simulation.experiment.dt, simulation._i_dc(0)

    def replay(group):
        """CPU ns per neuron-step of the kernel over groups of ``group`` instances (0: all per step)."""
        n = m if group == 0 else m // INSTANCES * group
        parts = []
        for lo in range(0, m, n):
            syn, soma, work = (_columns(a, lo, lo + n) for a in start)
            parts.append((syn, soma, [np.ascontiguousarray(w[lo:lo + n]) for w in weights], philox.silent_step(n, True),
                          _columns(simulation.syn_par, lo, lo + n), np.ascontiguousarray(simulation.nmda_thr[lo:lo + n]),
                          _columns(simulation.soma_par, lo, lo + n), np.ascontiguousarray(i_dc[lo:lo + n]), work,
                          np.zeros(n, dtype=np.int64), np.zeros(n)))
        begin = time.process_time_ns()
        for syn, soma, steps, z, syn_par, nmda_thr, soma_par, dc, work, count, offset in parts:
            for i_w in steps:
                fast.advance(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, dc, work, count, offset)
        elapsed = time.process_time_ns() - begin
        for k, part in enumerate(parts):
            if not (np.array_equal(part[0][..., :n], end[0][..., k * n:(k + 1) * n])
                    and np.array_equal(part[1][..., :n], end[1][..., k * n:(k + 1) * n])):
                raise AssertionError("the replayed kernel does not reproduce the run's state")
        return elapsed / (STEPS * m)

    threads = numba.get_num_threads()
    times = {}
    try:
        for _ in range(ROUNDS):
            for t in sorted({1, threads}):
                numba.set_num_threads(t)
                for group in (0, *GROUPS):
                    name = "all" if group == 0 else f"group{group}"
                    times.setdefault(f"ens64_cache.{name}_{t}t_ns", []).append(replay(group))
    finally:
        numba.set_num_threads(threads)
    for _ in range(ROUNDS):
        for name, groups in (("all", [np.arange(INSTANCES)]), ("groups", instance_groups(np.arange(INSTANCES), 1024))):
            times.setdefault(f"ens64_cache.run_{name}_1t_ns", []).append(_advance_ns(groups))
    return {figure: float(min(values)) for figure, values in times.items()}


def _advance_ns(groups):
    """CPU ns per neuron-step of ``advance(RUN_DURATION)`` of a one-thread simulation per group of instances."""
    experiment = workloads.experiment(noise=False, instances=INSTANCES, duration=1.0, integrator="fast")
    elapsed = neurons = 0
    for group in groups:
        simulation = Simulation(experiment, group)
        simulation.parallel = False
        simulation.advance(RUN_SETTLE, progress=False)
        begin = time.process_time_ns()
        simulation.advance(RUN_DURATION, progress=False)
        elapsed += time.process_time_ns() - begin
        neurons += simulation.size
    return elapsed / (neurons * round(RUN_DURATION / experiment.dt))
