"""Serial cost of the compiled neuron kernel per neuron-step on ref1024 states, and its two parts.

Figures (ns per neuron-step, one thread, best of ``REPEATS``):

* ``kernel.neuron_ns``  :func:`mixsig.engine.kernels.advance_neurons_serial` (four DPIs and the soma),
  from ``SNAPSHOTS`` states of a running ref1024 network, with the weight currents of their step;
* ``kernel.dpis_ns``    the four DPIs alone (:func:`mixsig.circuits.dpi.step_element`), same inputs;
* ``kernel.soma_ns``    the soma alone (:func:`mixsig.circuits.soma.soma_advance`) with the input
  current its DPIs give in the next step without new pulses;
* ``kernel.rk4_substeps_per_step``  mean number of RK4 sub-steps of the soma per step (counted in
  Python on the same states with the kernel's own functions).
"""

import time

import numba
import numpy as np

from benchmarks import _workloads as workloads
from mixsig.circuits import soma as soma_module
from mixsig.circuits.dpi import step_element
from mixsig.engine.kernels import advance_neurons_serial
from mixsig.engine.simulation import Simulation

SNAPSHOTS = 20
REPEATS = 30


@numba.njit(cache=True)
def _dpis(syn, i_w, dt, syn_par, syn_mean):
    for j in range(syn.shape[0]):
        for k in range(syn.shape[1]):
            q, d = syn_par[j, k], syn[j, k]
            if i_w[j, k] <= 0.0 and d[2] <= 0.0 and d[0] <= q[6]:
                syn_mean[j, k] = q[6]
                continue
            d[0], d[1], d[2], syn_mean[j, k] = step_element(d[0], d[1], d[2], i_w[j, k], 0.0, dt, q[0], q[1], q[2],
                                                            q[3], q[4], q[5], q[6])


@numba.njit(cache=True)
def _somas(soma, i_in, i_shunt, dt, par, count, offset):
    for j in range(soma.shape[0]):
        s, q = soma[j], par[j]
        s[0], s[1], s[2], s[3], count[j], offset[j] = soma_module.soma_advance(
            s[0], s[1], s[2], s[3], i_in[j], i_shunt[j], dt, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8],
            q[9], q[10], q[11], q[12], q[13], q[14], q[15], q[16], q[17])


def _best(function, per):
    function()
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best / per * 1e9


def _rk4_substeps(simulation, states, inputs):
    """Mean RK4 sub-steps per soma step: the kernel's functions, run in Python with a counter."""
    calls = [0]
    rk4, segment = soma_module._rk4, soma_module._integrate_segment

    def counted(*args):
        calls[0] += 1
        return rk4(*args)

    soma_module._rk4, soma_module._integrate_segment = counted, segment.py_func
    try:
        for (_, soma, _, _), (i_in, i_shunt) in zip(states, inputs):
            for j in range(soma.shape[0]):
                soma_module.soma_advance.py_func(*soma[j], i_in[j], i_shunt[j], simulation.experiment.dt,
                                                 *simulation.soma_par[j])
    finally:
        soma_module._rk4, soma_module._integrate_segment = rk4, segment
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
