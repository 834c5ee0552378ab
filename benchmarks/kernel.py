"""Serial cost of the compiled neuron kernel per neuron-step on ref1024 states, and its two parts.

Figures (CPU ns per neuron-step, one thread, best of ``REPEATS``): every time is the CPU time of the calling
thread (:func:`cpu_ns`), which runs the serial kernels, not wall time, which on a shared machine counts the
other processes' time slices too (wall was twice the CPU time at load 3 on 2 cores). The thread's rather than
the process's CPU time, so that worker threads of numba's parallel layer (the snapshots' run starts them) can
never count.

* ``kernel.neuron_ns``  :func:`mixsig.engine.kernels.advance_neurons_serial` (four DPIs and the soma),
  from ``SNAPSHOTS`` states of a running ref1024 network, with the weight currents of their step;
* ``kernel.dpis_ns``    the four DPIs alone (:func:`mixsig.engine.kernels.advance_dpis`), same inputs;
* ``kernel.soma_ns``    the somas alone as the kernel advances them (the vector passes
  :func:`mixsig.engine.kernels.soma_first_pass` over blocks of :data:`mixsig.engine.soma_block.BLOCK` and
  :func:`mixsig.engine.kernels.soma_packed_passes`, then the scalar kernel for the steps they leave), with
  the input current their DPIs give in the next step without new pulses; ``kernel.soma_scalar_ns`` the same
  somas with the scalar kernel alone (:func:`mixsig.engine.kernels.advance_soma`, the exact kernel before its
  vector passes);
* ``kernel.soma_vector_accepted``  the share of soma steps the vector passes take (the rest go to the scalar
  kernel), and ``kernel.soma_vector_zmm_instructions`` / ``..._scalar_double_instructions`` the machine code of
  their sub-step (:func:`mixsig.engine.soma_block.substeps`, :func:`vector_instructions`);
* ``kernel.rk4_substeps_per_step``  mean number of RK4 sub-steps of the soma per step (counted in
  Python on the same states with the kernel's own functions), and ``kernel.soma_steps_with_<n>_substeps``
  the share of soma steps with ``n`` = 0 (pinned at the floor or refractory), 1, 2 and ``3plus`` sub-steps;
* ``kernel.<kind>_dpis_per_neuron_step``  DPIs per neuron-step by what the kernel does with them:
  ``pulse`` (a pulse on or starting: solved by Newton), ``decaying`` (the precomputed propagator) and
  ``idle`` (at the floor, nothing to do).

The same for the ``fast`` integrator (:mod:`mixsig.engine.fast`), on the states of the same network
run with it:

* ``kernel_fast.neuron_ns``       :func:`mixsig.engine.fast.advance_serial`;
* ``kernel_fast.dpis_ns``         rules 1, 2 and 5 (noise inputs, vector decays, packed vector pulse
  lanes, sparse long pulses);
* ``kernel_fast.soma_ns``         the rest: rules 3-4 (AHP pulses, the vector Heun step, the exact
  kernel's redo near threshold);
* ``kernel_fast.pass_<name>_ns``  the passes of a step one after another, each the difference
  between running the step up to and including it and up to the one before (``noise`` inputs,
  DPI ``decays`` with the weights' copy and the packing of pulse steps, ``pulses`` with the gather and
  scatter of the lanes and the rare float64 pulse steps, ``ahp`` pulses, ``soma_vector``, ``soma_redo`` by the exact
  kernel), CPU time of steady stepping (:func:`pass_figures`);
* ``kernel_fast.pulses_per_neuron_step``, ``kernel_fast.spikes_per_neuron_step``,
  ``kernel_fast.exact_redos_per_neuron_step``: pulse lanes per neuron-step, spikes, and soma steps
  redone by the exact kernel (those that may cross the threshold);
* ``kernel_fast.<pass>_zmm_instructions``, ``..._ymm_instructions``,
  ``..._scalar_double_instructions``: instructions of the vector passes' machine code
  (``dpi_decays``, ``pulse_lanes``, ``soma_vector``) on 512-bit and 256-bit vectors and on scalar
  doubles (the proof that they vectorise);
* ``kernel_fast.table_bytes_per_neuron``: parameter and state bytes one neuron-step reads (the
  memory traffic of a neuron-step when the tables do not stay in cache).
"""

import re
import time

import numba
import numpy as np

from benchmarks import _workloads as workloads
from mixsig.circuits import soma as soma_module
from mixsig.engine import fast, soma_block
from mixsig.engine.kernels import (DPI_ROWS, advance_dpis, advance_neurons_serial, advance_soma, soma_column,
                                   soma_first_pass, soma_packed_passes, soma_scalar_rest)
from mixsig.engine.simulation import Simulation

SNAPSHOTS = 20
REPEATS = 30


@numba.njit(cache=True)
def _dpis(syn, i_w, dt, syn_par, syn_mean):
    no_noise = np.zeros((0, syn.shape[0]))
    for j in range(syn.shape[0]):
        advance_dpis(j, syn, i_w, no_noise, dt, syn_par, syn_mean)


@numba.njit(cache=True)
def _somas_scalar(soma, i_in, i_shunt, dt, par, count, offset):
    no_noise = np.zeros((0, soma.shape[0]))
    for j in range(soma.shape[0]):
        advance_soma(j, soma, i_in[j], i_shunt[j], no_noise, dt, par, count, offset)


@numba.njit(cache=True)
def _somas(soma, i_in, i_shunt, dt, par, count, offset):
    """The somas as :func:`mixsig.engine.kernels.advance_neurons` advances them; returns the steps the vector
    passes took."""
    m = soma.shape[0]
    pending, status = np.empty((m, len(soma_block.ROWS))), np.empty(m)
    work = np.empty((len(soma_block.ROWS), soma_block.BLOCK))
    for lo in range(0, m, soma_block.BLOCK):
        hi = min(m, lo + soma_block.BLOCK)
        for j in range(lo, hi):
            soma_column(j, j - lo, soma, i_in[j], i_shunt[j], dt, par, work)
        soma_first_pass(lo, hi, soma, dt, work, pending, status, count, offset)
    soma_packed_passes(dt, soma, pending, status)
    for lo in range(0, m, soma_block.BLOCK):
        soma_scalar_rest(lo, min(m, lo + soma_block.BLOCK), soma, dt, par, pending, status, count, offset)
    return int(np.sum(status == soma_block.DONE))


cpu_ns = time.thread_time_ns
"""The clock of every figure: CPU time of the calling thread, ns (module docstring)."""


def _best(function, per):
    """Least CPU time of ``function()`` over ``REPEATS`` calls (after one not timed), ns per ``per``."""
    function()
    best = np.inf
    for _ in range(REPEATS):
        start = cpu_ns()
        function()
        best = min(best, cpu_ns() - start)
    return best / per


def _rk4_substeps(simulation, states, inputs):
    """RK4 sub-steps per soma step, mean and shares (module docstring): the kernel's functions, run in
    Python with a counter (the RK4 maps evaluated while locating a threshold crossing are not sub-steps)."""
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
    per_step = []
    try:
        for (_, soma, _, _), (i_in, i_shunt) in zip(states, inputs):
            for j in range(soma.shape[0]):
                soma_module.soma_advance_propagated.py_func(*soma[j], i_in[j], i_shunt[j], simulation.experiment.dt,
                                                            *simulation.soma_par[j])
                per_step.append(calls[0])
    finally:
        soma_module._rk4, soma_module._integrate_segment, soma_module._crossing = rk4, segment, crossing
    per_step = np.diff(per_step, prepend=0)
    shares = np.bincount(np.minimum(per_step, 3), minlength=4) / per_step.size
    return {"kernel.rk4_substeps_per_step": per_step.mean(),
            **{f"kernel.soma_steps_with_{n}_substeps": shares[i] for i, n in enumerate(("0", "1", "2", "3plus"))}}


def dpi_kinds(syn_par, states):
    """``kernel.<kind>_dpis_per_neuron_step`` (module docstring) on the states of :func:`_snapshots`."""
    kinds = np.zeros(3)
    for syn, _, i_w, _ in states:
        pulse = (i_w > 0) | (syn[:, :, 2] > 0)
        idle = ~pulse & (syn[:, :, 0] <= syn_par[:, :, DPI_ROWS.index("i_0")])
        kinds += pulse.sum(), (~pulse & ~idle).sum(), idle.sum()
    kinds /= syn_par.shape[0] * len(states)
    return {f"kernel.{kind}_dpis_per_neuron_step": kinds[i] for i, kind in enumerate(("pulse", "decaying", "idle"))}


def _snapshots(integrator):
    """A ref1024 simulation after 0.2 s, ``SNAPSHOTS`` copies of its state 5 ms apart, and the step's inputs."""
    simulation = Simulation(workloads.experiment(noise=False, duration=1.0, integrator=integrator))
    simulation.advance(0.2, progress=False)
    states = []
    for _ in range(SNAPSHOTS):
        simulation.advance(0.005, progress=False)
        states.append(tuple(a.copy() for a in (simulation.syn, simulation.soma, simulation.i_w, simulation.syn_mean)))
    m = simulation.size
    i_dc = np.asarray(simulation._i_dc(simulation.step_index), dtype=float) * np.ones(m)
    return simulation, states, i_dc, np.zeros(m, dtype=np.int64), np.zeros(m), np.zeros((0, m))


@numba.njit(cache=True)
def _fast_dpis(syn, i_w, z, dt, syn_par, work):
    m = syn.shape[2] - fast.PAD
    for lo in range(0, m, fast.BLOCK):
        fast._dpis(lo, min(m, lo + fast.BLOCK), syn, i_w, z, dt, syn_par, work)


@numba.njit(cache=True)
def _fast_passes(last, steps, syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """``steps`` steps of the passes of :func:`mixsig.engine.fast.advance_serial` up to pass ``last`` (1-6:
    noise inputs, decays, pulses, AHP pulses, soma vector pass, soma redo), block by block."""
    m = soma.shape[1] - fast.PAD
    for step in range(steps * ((m + fast.BLOCK - 1) // fast.BLOCK)):
        lo = step % ((m + fast.BLOCK - 1) // fast.BLOCK) * fast.BLOCK
        hi = min(m, lo + fast.BLOCK)
        noisy = z.shape[0] > 0
        if noisy:
            fast._noise_inputs(lo, hi, syn, z, dt, work)
        if last >= 2:
            fast._dpi_weights(lo, hi, i_w, work)
        for k in range(fast.N_TYPES if last >= 2 else 0):
            n = fast._dpi_decays(lo, hi, k, syn, dt, syn_par, noisy, work)
            if last >= 3:
                fast._dpi_pulses(lo, n, k, syn, dt, syn_par, noisy, work)
        if last >= 4:
            fast._ahp_pulses(lo, hi, soma, soma_par, dt, work)
        if last >= 5:
            fast._soma_vector(lo, hi, soma, dt, nmda_thr, soma_par, i_dc, noisy, work)
        if last >= 6:
            fast._soma_sparse(lo, hi, soma, dt, soma_par, work, count, offset)


PASSES = ("noise", "decays", "pulses", "ahp", "soma_vector", "soma_redo")


SETTLE_STEPS = 3
"""Whole steps run on each state before its passes are timed (not timed)."""

STEADY_STEPS = 10
"""Steps of the passes timed on each state, one after another on the same arrays (which stay in cache, as in
a run)."""


def pass_figures(states, dt, syn_par, nmda_thr, soma_par, i_dc, count, offset, no_noise):
    """``kernel_fast.pass_<name>_ns`` (see the module docstring): each state settled by :data:`SETTLE_STEPS`
    whole steps, then :data:`STEADY_STEPS` steps up to each pass timed (:func:`cpu_ns`); least over ``REPEATS``
    rounds, the passes interleaved within a round."""
    m = count.shape[0]
    upto = np.full(len(PASSES), np.inf)
    for _ in range(REPEATS):
        for last in range(1, len(PASSES) + 1):
            elapsed = 0
            for state in states:
                syn, soma, i_w, work = (a.copy() for a in state)
                for _ in range(SETTLE_STEPS):
                    fast.advance_serial(syn, soma, i_w, no_noise, dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
                                        offset)
                start = cpu_ns()
                _fast_passes(last, STEADY_STEPS, syn, soma, i_w, no_noise, dt, syn_par, nmda_thr, soma_par, i_dc,
                             work, count, offset)
                elapsed += cpu_ns() - start
            upto[last - 1] = min(upto[last - 1], elapsed / (m * len(states) * STEADY_STEPS))
    return {f"kernel_fast.pass_{name}_ns": upto[i] - (upto[i - 1] if i else 0.0) for i, name in enumerate(PASSES)}


def vector_instructions(function, args):
    """``(zmm, ymm, scalar)``: instructions of ``function``'s machine code on 512-bit and 256-bit vectors,
    and scalar double-precision arithmetic ones, compiled afresh (a kernel loaded from numba's cache
    has no assembly to inspect) with the kernel's own options."""
    fresh = numba.njit(**{k: v for k, v in function.targetoptions.items() if k not in ("cache", "nopython")})(
        function.py_func)
    fresh(*args)
    lines = [line for line in fresh.inspect_asm(fresh.signatures[0]).splitlines() if line.startswith("\t")]
    scalar = re.compile(r"v?(add|sub|mul|div|sqrt|max|min|f?n?m(add|sub)\d*)sd")
    return (sum("zmm" in line for line in lines), sum("ymm" in line for line in lines),
            sum(scalar.fullmatch(line.split()[0]) is not None for line in lines))


def fast_figures():
    """The ``kernel_fast.*`` figures."""
    simulation, states, i_dc, count, offset, no_noise = _snapshots("fast")
    dt, m = simulation.experiment.dt, simulation.size
    syn_par, soma_par, nmda_thr = simulation.syn_par, simulation.soma_par, simulation.nmda_thr
    per = m * len(states)

    def copies():
        return [[a.copy() for a in state] for state in states]

    def neuron():
        for syn, soma, i_w, work in copies():
            fast.advance_serial(syn, soma, i_w, no_noise, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset)

    def dpis():
        for syn, _, i_w, work in copies():
            _fast_dpis(syn, i_w, no_noise, dt, syn_par, work)

    spikes = redos = 0
    for syn, soma, i_w, work in copies():
        fast.advance_serial(syn, soma, i_w, no_noise, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset)
        spikes += int(np.sum(count))
        redos += int(np.sum(work[fast.ROW_REDO]))
    n_pulses = sum(int(np.sum((i_w > 0) | (syn[2, :, :m].T > 0))) for syn, _, i_w, _ in states)
    overhead = _best(copies, per)
    neuron_ns, dpis_ns = _best(neuron, per) - overhead, _best(dpis, per) - overhead
    row_bytes = (syn_par.shape[0] * fast.N_TYPES + soma_par.shape[0] + states[0][0].shape[0] * fast.N_TYPES
                 + states[0][1].shape[0] + fast.N_TYPES + 2) * 8
    syn, soma, i_w, work = copies()[0]
    figures = {
        "kernel_fast.neuron_ns": neuron_ns,
        "kernel_fast.dpis_ns": dpis_ns,
        "kernel_fast.soma_ns": neuron_ns - dpis_ns,
        "kernel_fast.pulses_per_neuron_step": n_pulses / per,
        "kernel_fast.spikes_per_neuron_step": spikes / per,
        "kernel_fast.exact_redos_per_neuron_step": redos / per,
        "kernel_fast.table_bytes_per_neuron": float(row_bytes),
        **pass_figures(states, dt, syn_par, nmda_thr, soma_par, i_dc, count, offset, no_noise),
    }
    for name, function, args in (
            ("dpi_decays", fast._dpi_decays, (0, fast.BLOCK, 0, syn, dt, syn_par, False, work)),
            ("pulse_lanes", fast._pulse_lanes, (0, fast.BLOCK, dt, work)),
            ("soma_vector", fast._soma_heun, (0, fast.BLOCK, soma, dt, nmda_thr, soma_par, i_dc, False, work))):
        zmm, ymm, scalar = vector_instructions(function, args)
        figures[f"kernel_fast.{name}_zmm_instructions"] = zmm
        figures[f"kernel_fast.{name}_ymm_instructions"] = ymm
        figures[f"kernel_fast.{name}_scalar_double_instructions"] = scalar
    return figures


def run():
    """Measure; return ``{figure: value}``."""
    simulation, states, i_dc, count, offset, no_noise = _snapshots("exact")
    dt, m = simulation.experiment.dt, simulation.size
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
        return sum(_somas(soma, i_in, i_shunt, dt, simulation.soma_par, count, offset)
                   for (_, soma, _, _), (i_in, i_shunt) in zip(copies(), inputs))

    def somas_scalar():
        for (_, soma, _, _), (i_in, i_shunt) in zip(copies(), inputs):
            _somas_scalar(soma, i_in, i_shunt, dt, simulation.soma_par, count, offset)

    overhead = _best(copies, per)
    zmm, _, scalar = vector_instructions(soma_block.substeps,
                                         (soma_block.BLOCK, dt, np.ones((len(soma_block.ROWS), soma_block.BLOCK))))
    return {
        "kernel.neuron_ns": _best(neuron, per) - overhead,
        "kernel.dpis_ns": _best(dpis, per) - overhead,
        "kernel.soma_ns": _best(somas, per) - overhead,
        "kernel.soma_scalar_ns": _best(somas_scalar, per) - overhead,
        "kernel.soma_vector_accepted": somas() / per,
        "kernel.soma_vector_zmm_instructions": zmm,
        "kernel.soma_vector_scalar_double_instructions": scalar,
        **_rk4_substeps(simulation, states, inputs),
        **dpi_kinds(simulation.syn_par, states),
        **fast_figures(),
    }


if __name__ == "__main__":
    for figure, value in run().items():
        print(f"{figure}: {value:.4g}")
