"""Serial cost of the compiled neuron kernel per neuron-step on ref1024 states, and its two parts.

Figures (ns per neuron-step, one thread, best of ``REPEATS``):

* ``kernel.neuron_ns``  :func:`mixsig.engine.kernels.advance_neurons_serial` (four DPIs and the soma),
  from ``SNAPSHOTS`` states of a running ref1024 network, with the weight currents of their step;
* ``kernel.dpis_ns``    the four DPIs alone (:func:`mixsig.engine.kernels.advance_dpis`), same inputs;
* ``kernel.soma_ns``    the soma alone (:func:`mixsig.engine.kernels.advance_soma`) with the input
  current its DPIs give in the next step without new pulses;
* ``kernel.rk4_substeps_per_step``  mean number of RK4 sub-steps of the soma per step (counted in
  Python on the same states with the kernel's own functions).
"""

import time

import numba
import numpy as np

from benchmarks import _workloads as workloads
from mixsig.circuits import soma as soma_module
from mixsig.engine.kernels import advance_dpis, advance_neurons_serial, advance_soma
from mixsig.engine.simulation import Simulation

SNAPSHOTS = 20
REPEATS = 30


@numba.njit(cache=True)
def _dpis(syn, i_w, dt, syn_par, syn_mean):
    no_noise = np.zeros((0, syn.shape[0]))
    for j in range(syn.shape[0]):
        advance_dpis(j, syn, i_w, no_noise, dt, syn_par, syn_mean)


@numba.njit(cache=True)
def _somas(soma, i_in, i_shunt, dt, par, count, offset):
    no_noise = np.zeros((0, soma.shape[0]))
    for j in range(soma.shape[0]):
        advance_soma(j, soma, i_in[j], i_shunt[j], no_noise, dt, par, count, offset)


def _best(function, per):
    function()
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best / per * 1e9


def _rk4_substeps(simulation, states, inputs):
    """Mean RK4 sub-steps per soma step: the kernel's functions, run in Python with a counter
    (the RK4 maps evaluated while locating a threshold crossing are not sub-steps)."""
    calls, counting = [0], [True]
    rk4, segment, crossing = soma_module._rk4, soma_module._integrate_segment, soma_module._crossing

    def counted(*args):
        calls[0] += counting[0]
        return rk4.py_func(*args)

    def crossing_uncounted(*args):
        counting[0] = False
        try:
            return crossing.py_func(*args)
        finally:
            counting[0] = True

    soma_module._rk4, soma_module._integrate_segment, soma_module._crossing = (
        counted, segment.py_func, crossing_uncounted)
    try:
        for (_, soma, _, _), (i_in, i_shunt) in zip(states, inputs):
            for j in range(soma.shape[0]):
                soma_module.soma_advance.py_func(*soma[j], i_in[j], i_shunt[j], simulation.experiment.dt,
                                                 *simulation.soma_par[j])
    finally:
        soma_module._rk4, soma_module._integrate_segment, soma_module._crossing = rk4, segment, crossing
    return calls[0] / (len(states) * simulation.size)


def run():
    """Measure; return ``{figure: value}``."""
    simulation = Simulation(workloads.experiment(noise=False, duration=1.0))
    simulation.advance(0.2, progress=False)
    states = []
    for _ in range(SNAPSHOTS):
        simulation.advance(0.005, progress=False)
        states.append(tuple(a.copy() for a in (simulation.syn, simulation.soma, simulation.i_w, simulation.syn_mean)))
    dt, m = simulation.experiment.dt, simulation.size
    i_dc = np.asarray(simulation._i_dc(simulation.step_index), dtype=float) * np.ones(m)
    count, offset, no_noise = np.zeros(m, dtype=np.int64), np.zeros(m), np.zeros((0, m))
    inputs = []
    for syn, soma, i_w, mean in states:
        syn, mean = syn.copy(), mean.copy()
        _dpis(syn, np.zeros_like(i_w), dt, simulation.syn_par, mean)
        i_in = i_dc + mean[:, 0] + mean[:, 1] / (1.0 + simulation.nmda_thr / soma[:, 0]) - mean[:, 2]
        inputs.append((i_in, mean[:, 3].copy()))
    per = m * len(states)

    def copies():
        return [[a.copy() for a in state] for state in states]

    def neuron():
        for syn, soma, i_w, mean in copies():
            advance_neurons_serial(syn, soma, i_w, no_noise, dt, simulation.syn_par, simulation.nmda_thr,
                                   simulation.soma_par, i_dc, mean, count, offset)

    def dpis():
        for syn, _, i_w, mean in copies():
            _dpis(syn, i_w, dt, simulation.syn_par, mean)

    def somas():
        for (_, soma, _, _), (i_in, i_shunt) in zip(copies(), inputs):
            _somas(soma, i_in, i_shunt, dt, simulation.soma_par, count, offset)

    overhead = _best(copies, per)
    return {
        "kernel.neuron_ns": _best(neuron, per) - overhead,
        "kernel.dpis_ns": _best(dpis, per) - overhead,
        "kernel.soma_ns": _best(somas, per) - overhead,
        "kernel.rk4_substeps_per_step": _rk4_substeps(simulation, states, inputs),
    }


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure}: {value:.4g}")
