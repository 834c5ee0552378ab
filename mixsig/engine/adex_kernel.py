"""The AdEx neuron kernel: four DPI synaptic inputs and the mathematical AdEx soma, behind the protocol.

Neurons of a chip whose config names ``neuron_model = "adex"`` (the BrainScaleS-2 family,
``docs/substrate_brainscales2.md``) are advanced here (:data:`mixsig.engine.protocol.ADEX`):

1. the four DPI synaptic inputs exactly as in the exact integrator
   (:func:`mixsig.engine.kernels.advance_dpis`, shot noise included when the device model asks for
   it), giving their step averages ``Ī_k``;
2. the AdEx soma (:func:`mixsig.circuits.adex.adex_kernel`, Dormand-Prince sub-steps with error
   control and located threshold crossings) under the current, held over the step,

   .. math:: I = i_{dc} + Ī_{ampa} + Ī_{nmda} - Ī_{gaba} - Ī_{shunt}.

BrainScaleS-2 neurons have current-based excitatory and inhibitory synaptic inputs with an
exponential kernel; a DPI in its linear regime is exactly such a filter (``docs/models.md``). The
chip's excitatory synapses are ``ampa`` and its inhibitory ones ``gaba``; ``nmda`` and ``shunt``
act as a second excitatory and inhibitory current input (no membrane gate, no conductance: this
neuron has no ``i_mem`` to gate with). The soma takes no noise of its own (row 4 of ``z`` is not
read): the AdEx equations are a mathematical model, its inputs carry the DPIs' shot noise.

State (``STATE_ROWS``): ``soma[:, 0]`` membrane potential ``v`` (V), ``soma[:, 1]`` adaptation
current ``w`` (A); parameters (``SOMA_ROWS``) in :class:`mixsig.circuits.adex.AdExParams` units.
``adex.i_ext`` is the neuron's DC input: the engine passes it as ``i_dc`` (with the experiment's
DC steps), so the table leaves it out.
"""

import numba
import numpy as np

from mixsig.circuits.adex import adex_kernel
from mixsig.circuits.arrays import flat
from mixsig.engine import kernels

SOMA_ROWS = ("c_m", "g_l", "e_l", "v_t", "delta_t", "tau_w", "a", "b", "v_r", "v_cut")
"""Columns of the AdEx soma table (:func:`mixsig.circuits.adex.adex_kernel` argument order)."""

STATE_ROWS = ("v_mem", "w")
"""Columns of the AdEx soma state."""

TRACEABLE = ("v_mem", "i_ahp", "i_ampa", "i_nmda", "i_gaba", "i_shunt")
"""Traces this kernel records: ``i_ahp`` is the adaptation current ``w``."""


def tables(dpis, soma, shape, dt):
    """Protocol rule 1: DPI table (m, 4, 10) (:func:`mixsig.engine.kernels.dpi_table`) and AdEx table (m, 10), columns :data:`SOMA_ROWS`."""
    soma_par = np.stack([flat(getattr(soma, name), shape) for name in SOMA_ROWS], axis=1)
    return kernels.dpi_table(dpis, shape, dt), kernels.kernel_array(soma_par)


def resting_state(syn_par, soma_par):
    """Protocol rule 2: DPIs at ``i_0``; ``v = e_l``, ``w = 0`` (as :func:`mixsig.circuits.adex.initial_state`)."""
    soma = np.zeros((soma_par.shape[0], len(STATE_ROWS)))
    soma[:, 0] = soma_par[:, SOMA_ROWS.index("e_l")]
    return kernels.resting_synapses(syn_par), soma


def observe(name, syn, soma, soma_par):
    """Protocol rule 5: ``v_mem`` (V), ``i_ahp`` (``w``, A) or a DPI current (A), shape (m,)."""
    if name == "v_mem":
        return soma[:, 0].copy()
    if name == "i_ahp":
        return soma[:, 1].copy()
    return syn[:, ("i_ampa", "i_nmda", "i_gaba", "i_shunt").index(name), 0].copy()


def work_shape(m):
    """Shape of the work array: the step averages of the four DPIs."""
    return (m, kernels.N_TYPES)


@numba.njit(cache=True)
def _advance_one(j, syn, soma, i_w, z, dt, syn_par, soma_par, i_dc, syn_mean, count, offset):
    kernels.advance_dpis(j, syn, i_w, z, dt, syn_par, syn_mean)
    mean = syn_mean[j]
    p = soma_par[j]
    current = i_dc[j] + mean[0] + mean[1] - mean[2] - mean[3]
    soma[j, 0], soma[j, 1], count[j], offset[j] = adex_kernel(
        soma[j, 0], soma[j, 1], current, dt, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9])


@numba.njit(cache=True, parallel=True)
def advance(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset):
    """Protocol rules 3-4 (arguments as :func:`mixsig.engine.kernels.advance_neurons`; ``nmda_thr``
    is not read): every neuron by one step, in place, over numba's threads."""
    for j in numba.prange(syn.shape[0]):
        _advance_one(np.int64(j), syn, soma, i_w, z, dt, syn_par, soma_par, i_dc, syn_mean, count, offset)


@numba.njit(cache=True)
def advance_serial(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset):
    """:func:`advance` on one thread (same results bit for bit)."""
    for j in range(syn.shape[0]):
        _advance_one(j, syn, soma, i_w, z, dt, syn_par, soma_par, i_dc, syn_mean, count, offset)
