"""What shot noise costs a settled ref1024 ``fast`` run, one thread, CPU time (issue 15).

A ref1024 simulation (:func:`benchmarks.ref1024._ready`, ``fast``) runs ``SETTLE`` s, then ``DURATION`` s
with ``numba.set_num_threads(1)`` (the threaded kernel on one thread, as
``ref1024_fast.one_thread_neuron_steps_per_s`` runs it), noise off then shot noise on. Figures, CPU ns per
neuron-step:

* ``noise_cost.off_ns`` / ``noise_cost.on_ns``  the whole ``Simulation.advance``;
* ``noise_cost.noise_ns``                       their difference;
* ``noise_cost.predraw_ns``                     the part of ``on_ns`` in ``Simulation._draw_noise`` (the
  pre-drawn noise: 0 now that the fast kernel draws its shot noise inside the step).

Compare versions in alternating processes (``benchmarks/README.md``, "Shot noise, fifth round").
"""

import time

import numba

from benchmarks.ref1024 import _ready

SETTLE = 0.01
DURATION = 1.0


def _cost(noise):
    simulation = _ready(noise, SETTLE + DURATION, integrator="fast")
    simulation.parallel = True
    simulation.advance(SETTLE, progress=False)  # compiled, settled
    predraw = [0]
    draw = simulation._draw_noise

    def timed(n):
        start = time.process_time_ns()
        draw(n)
        predraw[0] += time.process_time_ns() - start

    simulation._draw_noise = timed
    start = time.process_time_ns()
    simulation.advance(DURATION, progress=False)
    steps = simulation.size * int(round(DURATION / simulation.experiment.dt))
    return (time.process_time_ns() - start) / steps, predraw[0] / steps


def run():
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        off, _ = _cost(False)
        on, predraw = _cost(True)
    finally:
        numba.set_num_threads(threads)
    return {"noise_cost.off_ns": off, "noise_cost.on_ns": on, "noise_cost.noise_ns": on - off,
            "noise_cost.predraw_ns": predraw}
