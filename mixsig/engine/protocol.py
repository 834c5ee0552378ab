"""The neuron-kernel protocol: what a neuron model hands the engine (STYLE.md pattern 2).

The engine (:class:`mixsig.engine.simulation.Simulation`, :func:`mixsig.engine.kernels.step_loop`)
never reads a model's columns or rows by number: it asks the model's :class:`NeuronKernel`. An
implementation follows these rules.

1. **Parameter tables.** ``tables(dpis, soma, shape, dt) -> (syn_par, soma_par)`` builds float64,
   C-contiguous tables for ``m = instance * neuron`` neurons from the circuits' params dataclasses
   (:class:`~mixsig.circuits.dpi.DPIParams` x 4, :class:`~mixsig.circuits.soma.SomaParams`); their
   rows or columns are named by ``parameter_rows``. The engine rebuilds them whenever drift moves a
   parameter, so anything derived from parameters and ``dt`` (propagators such as
   ``exp(-dt/tau)``) belongs here, not in the step.
2. **Resting state.** ``resting_state(syn_par, soma_par) -> (syn, soma)``: the state of a neuron at
   rest, float64 arrays the kernel owns the layout of (named by ``state_rows``).
3. **Advance.** ``advance(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
   offset)`` advances every neuron by one step in place; ``advance_serial`` the same on one
   thread. Inputs: ``i_w`` (m, 4) summed weight currents of the pulses starting in the step (A),
   ``z`` (rows, m) standard normal draws (or relative flicker fluctuations) in the rows
   documented by :func:`mixsig.engine.kernels.advance_neurons` (an empty first axis: no noise),
   ``nmda_thr`` and ``i_dc`` (m,) currents (A). ``work`` has ``work_shape(m)`` and is scratch.
   Neurons are independent within a step: results must not depend on the number of threads.
   No random draws, no I/O, with one exception: a kernel with ``counter_noise`` receives instead of
   ``z`` a step of :func:`mixsig.engine.philox.counter_noise`, ``(rows, keys, step, n_neurons, scale)``
   (``rows`` the flicker rows, rows 0-4, or none), and draws the step's shot-noise normals itself with
   :func:`mixsig.engine.philox.block_normals`, the same values the engine would have pre-drawn (a pure
   function of key, step, neuron and row: no state, no dependence on threads or blocks); it must still
   accept pre-drawn rows (:func:`mixsig.engine.philox.by_noise_type` chooses by type). **Pulses inside the step** (optional, ``advance_onsets``, used with
   the experiment's ``delivery = "exact"``): ``advance_onsets(targets, ptr, kind, onset, current,
   syn, soma, syn0, soma0, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset)``
   advances neurons ``targets`` from their step-start state ``syn0, soma0`` with, besides ``i_w``,
   a time-sorted list of pulses per target (CSR ``ptr``: synapse type, onset from the step's
   start in s, weight current in A), each starting at its onset
   (:func:`mixsig.engine.onsets.advance_with_onsets`). A kernel without it (``None``) starts every
   pulse of a step at the step's start and refuses ``delivery = "exact"``.
4. **Spike outputs.** ``count`` (m,) int64: spikes in the step; ``offset`` (m,): time of the first
   spike from the step's start (s, NaN if none).
5. **Observation.** ``observe(name, syn, soma, soma_par) -> (m,)`` returns a traceable quantity
   (:data:`mixsig.experiment.TRACEABLE`: ``i_mem``, ``v_mem``, ``i_ahp``, ``i_ampa``, ...).
6. **Dispatch.** ``advance`` and ``advance_serial`` are the ``numba.njit`` functions of rule 3;
   ``state_major`` says whether the DPI state is state-row-major, shape (3, 4, m), rather than
   neuron-major (m, 4, 3). The engine runs a kernel through its own compiled step loop
   (:func:`mixsig.engine.kernels.step_loop`), made and compiled only when a run uses it, so a
   run never compiles another kernel: adding a kernel is one entry in :data:`KERNELS`.

A kernel of another neuron model (a chip config's ``neuron_model``, :data:`mixsig.chip.config.NEURON_MODELS`)
names its bias ``block`` and ``params_type`` (rule 1 then receives that dataclass instead of
:class:`~mixsig.circuits.soma.SomaParams`), its DC-input bias ``dc_bias`` and the traces it can
``observe`` (``traceable``); :func:`kernel_for` picks it, so the engine holds no model branch.
A model without DPI synapses (``takes_dpis = False``: the chip config then has no DPI blocks)
receives ``None`` for ``dpis`` in rule 1; a model without analog devices (``mismatch_free``)
refuses an experiment that names a device model.
"""

import dataclasses
import typing

import numpy as np

from mixsig.circuits.adex import AdExParams
from mixsig.circuits.soma import SomaParams
from mixsig.circuits.digital_lif import LIFBlockParams
from mixsig.engine import adex_kernel, digital_kernel, fast, kernels, onsets
from mixsig.experiment import TRACEABLE

TRACE_TYPES = ("i_ampa", "i_nmda", "i_gaba", "i_shunt")
"""Traceable DPI output currents, in synapse-type order."""


@dataclasses.dataclass(frozen=True)
class NeuronKernel:
    """One neuron model's kernel (rules in the module docstring).

    Attributes
    ----------
    name : str
        Value of the experiment's ``integrator`` that selects it.
    advance, advance_serial : numba dispatcher
        Rule 3, threaded and on one thread.
    state_major : bool
        Rule 6: the DPI state's layout.
    tables, resting_state, observe, work_shape : callable
        Rules 1, 2, 5 and 3.
    advance_onsets : numba dispatcher or None
        Rule 3, pulses starting inside the step (None: not supported).
    parameter_rows, state_rows : tuple of str
        Names of the soma table's and soma state's rows (or columns).
    block : str
        Chip bias block of the neuron parameters (``soma``, ``adex``).
    params_type : type
        Params dataclass of that block, built from the biases and handed to ``tables``.
    dc_bias : str
        Bias holding the neuron's DC input current (A), passed to ``advance`` as ``i_dc``.
    traceable : tuple of str
        Names ``observe`` accepts.
    takes_dpis : bool
        Whether the neurons have the four DPI synapses (rule 1 then receives their params).
    mismatch_free : bool
        Whether the model has no analog devices (the experiment's ``device_model`` must be ``"none"``).
    counter_noise : bool
        Whether ``advance`` draws its own shot noise from a step of
        :func:`mixsig.engine.philox.counter_noise` (rule 3); the engine then passes that in every run,
        noise on or off (one argument type, one compilation).
    """

    name: str
    advance: typing.Callable
    advance_serial: typing.Callable
    state_major: bool
    tables: typing.Callable
    resting_state: typing.Callable
    observe: typing.Callable
    work_shape: typing.Callable
    parameter_rows: tuple
    state_rows: tuple
    block: str = "soma"
    params_type: type = SomaParams
    dc_bias: str = "soma.i_dc"
    traceable: tuple = tuple(TRACEABLE)
    takes_dpis: bool = True
    mismatch_free: bool = False
    advance_onsets: typing.Callable = None
    counter_noise: bool = False


SOMA_COLUMNS = ("c_mem", "i_tau", "i_gain", "i_spkthr", "i_reset", "t_ref", "i_fb_0", "c_ahp", "i_tau_ahp",
                "i_gain_ahp", "i_w_ahp", "t_pulse_ahp", "kappa", "u_t", "i_0", "x_thr", "x_reset", "x_floor",
                "ahp_step", "ahp_tau", "ahp_decayed", "ahp_decayed_half")
"""Columns of the exact kernel's soma table (:func:`mixsig.circuits.soma.kernel_parameters` order, then
:func:`mixsig.circuits.soma.ahp_propagators` for the step)."""


def _exact_observe(name, syn, soma, soma_par):
    if name == "i_mem":
        return soma[:, 0].copy()
    if name == "i_ahp":
        return soma[:, 1].copy()
    if name == "v_mem":
        col = SOMA_COLUMNS.index
        return (soma_par[:, col("u_t")] / soma_par[:, col("kappa")]) * np.log(soma[:, 0] / soma_par[:, col("i_0")])
    return syn[:, TRACE_TYPES.index(name), 0].copy()


EXACT = NeuronKernel(
    name="exact", advance=kernels.advance_neurons, advance_serial=kernels.advance_neurons_serial, state_major=False,
    tables=kernels.parameter_tables,
    resting_state=kernels.resting_state, observe=_exact_observe,
    work_shape=lambda m: (m, kernels.N_TYPES), parameter_rows=SOMA_COLUMNS,
    state_rows=("i_mem", "i_ahp", "refractory_left", "ahp_pulse_left"), advance_onsets=onsets.advance_with_onsets,
)
"""The exact integrator (:mod:`mixsig.engine.kernels`): neuron-major tables and state."""

FAST = NeuronKernel(
    name="fast", advance=fast.advance, advance_serial=fast.advance_serial, state_major=True, tables=fast.tables, resting_state=fast.resting_state,
    observe=fast.observe, work_shape=fast.work_shape, parameter_rows=fast.SOMA_ROWS, state_rows=fast.STATE_ROWS,
    counter_noise=True,
)
"""The fast integrator (:mod:`mixsig.engine.fast`): structure-of-arrays tables and state."""

ADEX = NeuronKernel(
    name="adex", advance=adex_kernel.advance, advance_serial=adex_kernel.advance_serial, state_major=False,
    tables=adex_kernel.tables, resting_state=adex_kernel.resting_state,
    observe=adex_kernel.observe, work_shape=adex_kernel.work_shape, parameter_rows=adex_kernel.SOMA_ROWS,
    state_rows=adex_kernel.STATE_ROWS, block="adex", params_type=AdExParams, dc_bias="adex.i_ext",
    traceable=adex_kernel.TRACEABLE,
)
"""The AdEx neuron (:mod:`mixsig.engine.adex_kernel`) of ``neuron_model = "adex"`` chips. Its soma is
integrated with error control whatever the experiment's ``integrator`` (both names select it)."""

KERNELS = {kernel.name: kernel for kernel in (EXACT, FAST)}
"""Kernels of the silicon soma by the experiment's ``integrator`` name."""

DIGITAL_LIF = NeuronKernel(
    name="digital_lif", advance=digital_kernel.advance, advance_serial=digital_kernel.advance_serial,
    state_major=False, tables=digital_kernel.tables,
    resting_state=digital_kernel.resting_state, observe=digital_kernel.observe, work_shape=digital_kernel.work_shape,
    parameter_rows=digital_kernel.SOMA_ROWS, state_rows=digital_kernel.STATE_ROWS, block="lif",
    params_type=LIFBlockParams, dc_bias="lif.i_dc", traceable=digital_kernel.TRACEABLE, takes_dpis=False,
    mismatch_free=True,
)
"""The digital fixed-point LIF (:mod:`mixsig.engine.digital_kernel`) of ``neuron_model = "digital_lif"`` chips:
integer registers, deterministic, whatever the ``integrator``."""

MODEL_KERNELS = {"adex": ADEX, "digital_lif": DIGITAL_LIF}
"""Kernels of the other neuron models (``chip.neuron_model``), whatever the ``integrator``."""


def kernel_for(neuron_model, integrator):
    """The kernel advancing a chip's neurons.

    Parameters
    ----------
    neuron_model : str
        The chip config's ``neuron_model`` (``"silicon"``, ``"adex"``, ...).
    integrator : str
        The experiment's ``integrator`` (selects among the silicon soma's kernels).

    Returns
    -------
    NeuronKernel
    """
    return MODEL_KERNELS.get(neuron_model) or KERNELS[integrator]
