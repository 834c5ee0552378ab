"""Compiled per-step kernels of the engine: one neuron (four DPIs + soma) and spike delivery.

The neuron kernel composes the circuits' scalar kernels exactly as the vectorised circuit
functions do (:func:`mixsig.circuits.synapses.step` then :func:`mixsig.circuits.soma.step`), so
the engine and the circuits share one implementation of the physics:

1. each DPI type ``k`` (AMPA, NMDA, GABA, SHUNT) is advanced by
   :func:`mixsig.circuits.dpi.step_element` with the summed weight current of the pulses that start
   in this step; its step-averaged current ``Ī_k`` feeds the soma;
2. ``I_syn = Ī_ampa + Ī_nmda / (1 + i_nmda_thr / I_mem) - Ī_gaba`` (NMDA gated by the membrane
   current at the start of the step) and ``I_shunt = Ī_shunt``;
3. the soma is advanced by :func:`mixsig.circuits.soma.soma_advance` with
   ``I_in = i_dc + I_syn + noise``.

Shot noise (``S_I = 2 q I``, white): the engine passes standard normal draws ``z``; the kernel
scales them to the step-averaged noise current ``sqrt(q I / dt) z`` of the current they belong to
(each DPI's output current at the start of the step; for the soma the input-branch and leak
currents ``max(I_in, 0) + i_tau``, whose shot noises add). No random number is drawn here.
"""

import math

import numba

from mixsig.circuits.dpi import step_element
from mixsig.circuits.soma import soma_advance
from mixsig.constants import Q_E

N_TYPES = 4
"""Synapse types per neuron (AMPA, NMDA, GABA, SHUNT)."""

N_DPI_PARAMS = 7
"""Rows of the DPI parameter table: t_pulse, i_tau, i_gain, c_syn, kappa, u_t, i_0."""

N_SOMA_PARAMS = 15
"""Rows of :func:`mixsig.circuits.soma.kernel_parameters`."""


@numba.njit(cache=True)
def advance_neurons(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, syn_mean, count, offset):
    """Advance every neuron (its four DPIs and its soma) by one step, in place.

    Parameters
    ----------
    syn : ndarray, shape (3, 4, m)
        DPI state: output current (A), pulse current (A), pulse time left (s); updated in place.
    soma : ndarray, shape (4, m)
        Soma state: ``i_mem`` (A), ``i_ahp`` (A), refractory time left (s), AHP pulse time left
        (s); updated in place.
    i_w : ndarray, shape (4, m)
        Summed weight current of the pulses of each type that start in this step, A.
    z : ndarray, shape (5, m) or (0, m)
        Standard normal draws for the shot noise of the four DPIs and the soma; an empty first
        axis switches noise off.
    dt : float
        Step, s.
    syn_par : ndarray, shape (4, 7, m)
        DPI parameters per type (rows ``t_pulse, i_tau, i_gain, c_syn, kappa, u_t, i_0``).
    nmda_thr : ndarray, shape (m,)
        NMDA gate threshold current, A.
    soma_par : ndarray, shape (15, m)
        Soma parameters in :func:`mixsig.circuits.soma.kernel_parameters` order.
    i_dc : ndarray, shape (m,)
        DC input current, A.
    syn_mean : ndarray, shape (4, m)
        Output: step-averaged current of each DPI, A.
    count : ndarray of int64, shape (m,)
        Output: spikes emitted in the step.
    offset : ndarray, shape (m,)
        Output: time of the first spike from the start of the step, s (NaN if none).
    """
    noisy = z.shape[0] > 0
    for j in range(syn.shape[2]):
        i_mem = soma[0, j]
        for k in range(N_TYPES):
            noise = 0.0
            if noisy:
                noise = math.sqrt(Q_E * syn[0, k, j] / dt) * z[k, j]
            syn[0, k, j], syn[1, k, j], syn[2, k, j], syn_mean[k, j] = step_element(
                syn[0, k, j], syn[1, k, j], syn[2, k, j], i_w[k, j], noise, dt,
                syn_par[k, 0, j], syn_par[k, 1, j], syn_par[k, 2, j], syn_par[k, 3, j],
                syn_par[k, 4, j], syn_par[k, 5, j], syn_par[k, 6, j],
            )
        i_syn = syn_mean[0, j] + syn_mean[1, j] / (1.0 + nmda_thr[j] / i_mem) - syn_mean[2, j]
        i_in = i_dc[j] + i_syn
        if noisy:
            i_in += math.sqrt(Q_E * (max(i_in, 0.0) + soma_par[1, j]) / dt) * z[4, j]
        p = soma_par[:, j]
        soma[0, j], soma[1, j], soma[2, j], soma[3, j], count[j], offset[j] = soma_advance(
            i_mem, soma[1, j], soma[2, j], soma[3, j], i_in, syn_mean[3, j], dt,
            p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14],
        )


@numba.njit(cache=True)
def deliver(keys, counts, instance, cam_ptr, cam_neuron, cam_type, weight, n_neurons, i_w):
    """Add the weight currents of arriving events to their target synapses, in place.

    Parameters
    ----------
    keys : ndarray of int64, shape (e,)
        CAM key ``(chip * n_cores + core) * n_tags + tag`` of each arrival.
    counts : ndarray of float64, shape (e,)
        Number of events behind each arrival (pulses of one step add their currents).
    instance : ndarray of int64, shape (e,)
        Chip instance receiving the event, or -1 for an event received by every instance.
    cam_ptr : ndarray of int64
        CSR index of the CAM rows of each key.
    cam_neuron : ndarray of int64
        Local (simulated) index of each CAM row's target neuron, -1 if not simulated.
    cam_type : ndarray of int64
        Synapse type of each CAM row.
    weight : ndarray, shape (instances, n_cam)
        Weight current of each CAM row on each instance, A.
    n_neurons : int
        Simulated neurons per instance.
    i_w : ndarray, shape (4, instances * n_neurons)
        Weight currents of the step, A; updated in place.
    """
    n_instances = weight.shape[0]
    for e in range(keys.shape[0]):
        first = instance[e] if instance[e] >= 0 else 0
        last = instance[e] + 1 if instance[e] >= 0 else n_instances
        for row in range(cam_ptr[keys[e]], cam_ptr[keys[e] + 1]):
            neuron = cam_neuron[row]
            if neuron < 0:
                continue
            for i in range(first, last):
                i_w[cam_type[row], i * n_neurons + neuron] += counts[e] * weight[i, row]
