"""The digital fixed-point LIF kernel behind the protocol (chip ``neuron_model = "digital_lif"``).

Neurons of a digital chip (``chip_configs/digital_lif.toml``, ``docs/substrate_digital.md``) have
no DPI synapses and no devices: each step, the weight currents of the pulses that start in it
(the engine's ``i_w``, one column per synapse type) become one signed integer input in weight
LSB, excitatory types (AMPA, NMDA) adding and inhibitory ones (GABA, SHUNT) subtracting,

    a = round((i_w,ampa + i_w,nmda - i_w,gaba - i_w,shunt) / i_lsb),

the DC input becomes the bias ``b = round(i_dc / i_lsb)`` (state LSB per step), and
:func:`mixsig.circuits.digital_lif.step_element` advances the integer registers ``u``, ``v``.
A spike of step ``n`` is stamped at the step's start (offset 0), so a target on the same chip
receives it in step ``n + 1``, Loihi's one-step synaptic delay.

Tables (protocol rule 1): no DPI table (shape ``(m, 0, 7)``, so that the engine's compiled loop
keeps its one specialisation), and the neuron table ``SOMA_ROWS`` built from
:class:`mixsig.circuits.digital_lif.LIFBlockParams` at the run's ``dt``. Registers are kept in
float64 (integers below 2^53, exact) and computed in int64.
"""

import numba
import numpy as np

from mixsig.circuits.arrays import flat
from mixsig.circuits.digital_lif import step_element

SOMA_ROWS = ("d_u", "d_v", "v_th", "i_lsb", "decay_bits", "state_bits", "activation_shift", "threshold_shift")
"""Columns of the digital neuron table."""

STATE_ROWS = ("u", "v")
"""Columns of the digital neuron state (state LSB)."""

TRACEABLE = ()
"""The registers are integers without a physical unit, so no trace is offered (spikes only)."""


def tables(dpis, params, shape, dt):
    """Protocol rule 1: an empty DPI table and the neuron table (m, 8), columns :data:`SOMA_ROWS`."""
    d_u, d_v = params.registers(dt)
    values = {"d_u": d_u, "d_v": d_v}
    columns = [flat(values[name] if name in values else getattr(params, name), shape) for name in SOMA_ROWS]
    m = int(np.prod(shape))
    return np.zeros((m, 0, 7)), np.ascontiguousarray(np.stack(columns, axis=1))


def resting_state(syn_par, soma_par):
    """Protocol rule 2: no synapse state; ``u = v = 0``."""
    m = soma_par.shape[0]
    return np.zeros((m, 0, 3)), np.zeros((m, len(STATE_ROWS)))


def observe(name, syn, soma, soma_par):
    """Protocol rule 5: nothing is traceable (:data:`TRACEABLE`)."""
    raise KeyError(name)


def work_shape(m):
    """No work array is needed."""
    return (m, 0)


@numba.njit(cache=True)
def _advance_one(j, soma, i_w, soma_par, i_dc, count, offset):
    p = soma_par[j]
    i_lsb = p[3]
    a_in = np.int64(round((i_w[j, 0] + i_w[j, 1] - i_w[j, 2] - i_w[j, 3]) / i_lsb))
    bias = np.int64(round(i_dc[j] / i_lsb))
    u, v, spiked = step_element(np.int64(soma[j, 0]), np.int64(soma[j, 1]), a_in, np.int64(p[0]), np.int64(p[1]),
                                np.int64(p[2]), bias, np.int64(p[4]), np.int64(p[5]), np.int64(p[6]), np.int64(p[7]))
    soma[j, 0] = u
    soma[j, 1] = v
    if spiked:
        count[j] = 1
        offset[j] = 0.0
    else:
        count[j] = 0
        offset[j] = np.nan


@numba.njit(cache=True, parallel=True)
def advance(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """Protocol rules 3-4 (arguments as :func:`mixsig.engine.kernels.advance_neurons`; ``syn``,
    ``z``, ``syn_par``, ``nmda_thr`` and ``work`` are not read): every neuron by one step, in place."""
    for j in numba.prange(soma.shape[0]):
        _advance_one(np.int64(j), soma, i_w, soma_par, i_dc, count, offset)


@numba.njit(cache=True)
def advance_serial(syn, soma, i_w, z, dt, syn_par, nmda_thr, soma_par, i_dc, work, count, offset):
    """:func:`advance` on one thread (same results bit for bit)."""
    for j in range(soma.shape[0]):
        _advance_one(j, soma, i_w, soma_par, i_dc, count, offset)
