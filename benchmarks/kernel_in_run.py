"""The ``fast`` kernel inside a ref1024 run against the same kernel replayed alone (issue 15).

A ref1024 simulation (:func:`benchmarks.ref1024._ready`) is settled for ``SETTLE`` s, then
run ``STEPS`` steps one per call, keeping each step's weight currents ``i_w`` (the step loop
leaves them in place after the kernel) and noise draws. Figures, ``kernel_in_run.*`` noise off and
``kernel_in_run_noise.*`` shot noise on (CPU ns per neuron-step, one thread, least of
``ROUNDS``, the four measured interleaved in each round; the fast kernel draws its shot noise inside the
step, so with noise the replayed kernel includes the draws):

* ``kernel_in_run.replay_serial_ns``  :func:`mixsig.engine.fast.advance_serial` alone over those steps
  from the recorded start, with the recorded ``i_w``: the kernel's cost on the run's own states and
  inputs (the end state is checked bit for bit against the run's, else the benchmark fails);
* ``kernel_in_run.replay_threaded_ns``  the same with :func:`mixsig.engine.fast.advance` (``prange``)
  on one numba thread, as ``ref1024_fast.one_thread_neuron_steps_per_s`` runs it;
* ``kernel_in_run.run_serial_ns`` / ``run_threaded_ns``  the whole ``Simulation.advance`` over
  ``STEPS`` steps with ``parallel = False`` / ``True`` (one thread): the kernel plus the step loop's
  delivery, extension of pulses and routing, and the engine's Python glue;
* ``kernel_in_run.outside_kernel_ns``  ``run_serial_ns - replay_serial_ns``.
"""

import time

import numba
import numpy as np

from benchmarks.ref1024 import _ready
from mixsig.engine import fast, philox

SETTLE = 0.01
STEPS = 200
ROUNDS = 4


def _recorded(noise):
    """The settled simulation's start state, the run's ``i_w`` and noise draws per step and its end state."""
    return record_steps(_ready(noise, SETTLE + STEPS * 1e-4, integrator="fast"), SETTLE, STEPS)


def record_steps(simulation, settle, steps):
    """Settle ``simulation`` on one thread for ``settle`` s, then run ``steps`` steps one per call.

    Returns the simulation, its start state ``[syn, soma, syn_mean]`` (copies), each step's
    ``(i_w, the kernel's noise argument)`` and the end state ``(syn, soma)``.
    """
    simulation.parallel = False
    simulation.advance(settle, progress=False)
    simulation.max_steps_per_call = 1
    assert simulation.counter_noise and not simulation.buffered
    start = [a.copy() for a in (simulation.syn, simulation.soma, simulation.syn_mean)]
    recorded = []
    for _ in range(steps):
        simulation.advance(simulation.experiment.dt, progress=False)
        # the kernel's noise argument of that step: the Philox keys and the step (the fast kernel draws its
        # own shot noise; the workload has no flicker, so no rows are pre-drawn)
        z = philox.step_noise(simulation._noise_argument(), 0, simulation.step_index - 1)
        recorded.append((simulation.i_w.copy(), z))
    return simulation, start, recorded, (simulation.syn.copy(), simulation.soma.copy())


def run():
    figures = {}
    for noise, name in ((False, "kernel_in_run"), (True, "kernel_in_run_noise")):
        figures.update(_figures(noise, name))
    return figures


def _figures(noise, name):
    simulation, start, steps, end = _recorded(noise)
    m, dt = simulation.size, simulation.experiment.dt
    i_dc = simulation._i_dc(0)

    def replay(kernel):
        syn, soma, work = (a.copy() for a in start)
        begin = time.process_time_ns()
        for i_w, z in steps:
            kernel(syn, soma, i_w, z, dt, simulation.syn_par, simulation.nmda_thr, simulation.soma_par, i_dc, work,
                   simulation.count, simulation.offset)
        elapsed = time.process_time_ns() - begin
        if not (np.array_equal(syn, end[0]) and np.array_equal(soma, end[1])):
            raise AssertionError("the replayed kernel does not reproduce the run's state")
        return elapsed / (STEPS * m)

    runs = {}
    for parallel in (False, True):
        runs[parallel] = _ready(noise, 1.0, integrator="fast")
        runs[parallel].parallel = parallel
        runs[parallel].advance(SETTLE, progress=False)

    def whole(parallel):
        begin = time.process_time_ns()
        runs[parallel].advance(STEPS * dt, progress=False)
        return (time.process_time_ns() - begin) / (STEPS * m)

    times = {"replay_serial": [], "replay_threaded": [], "run_serial": [], "run_threaded": []}
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        for _ in range(ROUNDS):
            times["replay_serial"].append(replay(fast.advance_serial))
            times["replay_threaded"].append(replay(fast.advance))
            times["run_serial"].append(whole(False))
            times["run_threaded"].append(whole(True))
    finally:
        numba.set_num_threads(threads)
    figures = {f"{name}.{part}_ns": float(min(values)) for part, values in times.items()}
    figures[f"{name}.outside_kernel_ns"] = figures[f"{name}.run_serial_ns"] - figures[f"{name}.replay_serial_ns"]
    return figures
