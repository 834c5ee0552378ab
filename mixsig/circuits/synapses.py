"""The four DPI synapses of a neuron: AMPA, NMDA, GABA (subtractive) and SHUNT (shunting).

Names on the chips: DYNAP-SE2 calls them AMPA, NMDA, GABA, SHUNT; DYNAP-SE1 calls the shunting
one GABA_A (FAST_INH) and the subtractive one GABA_B (SLOW_INH).

As on DYNAP-SE/SE2, each neuron has one DPI per synapse type, shared by all of its CAM
synapses of that type: every pulse addressed to the neuron with type ``k`` adds its weight
current to the input node of DPI ``k`` (see :mod:`mixsig.circuits.dpi` for the DPI equation,
its exact integration and the pulse-merging rule). The types feed the soma as follows
(physics reference sections 1 and 2.1; NMDA gating as in the INI DYNAP-SE1 Brian2 simulator)::

    I_nmda_eff = I_nmda / (1 + i_nmda_thr / I_mem)         (membrane-gated NMDA)
    I_exc      = I_ampa + I_nmda_eff                       (excitatory, into the membrane node)
    I_inh      = I_gaba                                    (subtractive inhibition)
    I_syn_net  = I_exc - I_inh                             (net synaptic input current)
    I_shunt    = I_shunt_dpi                               (adds to the soma leak)

``i_nmda_thr = I_0 exp(kappa V_nmda / U_T)`` is the membrane current at which the NMDA gate is
half open. Its default, 10 pA (``V_nmda`` about 0.11 V above the dark-current gate voltage),
keeps NMDA about 95 % blocked at a resting membrane current of ``I_0 = 0.5 pA`` and about 90 %
open at 100 pA, well below the spike threshold of the DYNAP-SE2 soma: NMDA then acts only on a
depolarised neuron, as intended by the circuit. It is a per-core bias; override it per chip.

The types are indexed ``AMPA, NMDA, GABA, SHUNT = 0, 1, 2, 3`` (:class:`SynapseType`), the
order of the leading axis of every per-type array here and of the chip's CAM tables. The soma
currents are step averages (exact charge / dt) because the soma holds its input constant over
a step; the NMDA gate uses the membrane current ``I_mem`` given at the start of the step.
"""

import dataclasses
import enum
from typing import NamedTuple

import numpy as np

from mixsig.circuits import dpi
from mixsig.constants import I_0
from mixsig.params import parameter, require_positive


class SynapseType(enum.IntEnum):
    """Synapse types of a neuron, in the order of the leading axis of per-type arrays."""

    AMPA = 0
    NMDA = 1
    GABA = 2
    SHUNT = 3


N_TYPES = len(SynapseType)
"""Number of synapse types (4)."""

_DPI_FIELDS = ("ampa", "nmda", "gaba", "shunt")


@dataclasses.dataclass(frozen=True)
class SynapseParams:
    """Parameters of the four DPIs of a neuron plus the NMDA gate.

    The DPI defaults are Rockpool's DYNAP-SE2 values (all four time constants 10 ms).
    """

    ampa: dpi.DPIParams = dataclasses.field(
        default_factory=dpi.DPIParams, metadata={"units": "", "long_name": "AMPA DPI parameters"}
    )
    nmda: dpi.DPIParams = dataclasses.field(
        default_factory=dpi.DPIParams, metadata={"units": "", "long_name": "NMDA DPI parameters"}
    )
    gaba: dpi.DPIParams = dataclasses.field(
        default_factory=dpi.DPIParams, metadata={"units": "", "long_name": "GABA (subtractive inhibition; SE1 GABA_B) DPI parameters"}
    )
    shunt: dpi.DPIParams = dataclasses.field(
        default_factory=dpi.DPIParams, metadata={"units": "", "long_name": "SHUNT (shunting inhibition; SE1 GABA_A) DPI parameters"}
    )
    i_nmda_thr: float = parameter(20.0 * I_0, "A", "membrane current at which the NMDA gate is half open")

    def __post_init__(self):
        require_positive(self, ("i_nmda_thr",))

    def by_type(self):
        """The four :class:`~mixsig.circuits.dpi.DPIParams`, in :class:`SynapseType` order."""
        return tuple(getattr(self, name) for name in _DPI_FIELDS)

    def stacked(self, shape):
        """One :class:`~mixsig.circuits.dpi.DPIParams` whose fields have shape ``(4, *shape)``.

        Parameters
        ----------
        shape : tuple of int
            State shape of one type, usually ``(instance, neuron)``.
        """
        per_type = self.by_type()
        fields = {
            name: np.stack([np.broadcast_to(np.asarray(getattr(p, name), dtype=np.float64), shape) for p in per_type])
            for name in (f.name for f in dataclasses.fields(dpi.DPIParams))
        }
        return dpi.DPIParams(**fields)


class SynapsesState(NamedTuple):
    """State of the four DPIs of an array of neurons.

    Attributes
    ----------
    dpi : DPIState
        DPI state arrays of shape ``(4, instance, neuron)``, types in :class:`SynapseType` order.
    """

    dpi: dpi.DPIState


class SynapseOutputs(NamedTuple):
    """What one step of a neuron's synapses delivers to the soma (step-averaged currents, A).

    Attributes
    ----------
    i_exc : ndarray, shape (instance, neuron)
        ``I_ampa + I_nmda_eff``.
    i_inh : ndarray, shape (instance, neuron)
        ``I_gaba`` (subtractive).
    i_shunt : ndarray, shape (instance, neuron)
        SHUNT DPI current, added to the soma leak.
    i_syn_net : ndarray, shape (instance, neuron)
        ``i_exc - i_inh``, the net synaptic input current.
    i_nmda_eff : ndarray, shape (instance, neuron)
        Gated NMDA current.
    i_syn : ndarray, shape (4, instance, neuron)
        End-of-step output current of each DPI (ungated), for recording.
    i_syn_mean : ndarray, shape (4, instance, neuron)
        Step-averaged output current of each DPI (ungated).
    """

    i_exc: np.ndarray
    i_inh: np.ndarray
    i_shunt: np.ndarray
    i_syn_net: np.ndarray
    i_nmda_eff: np.ndarray
    i_syn: np.ndarray
    i_syn_mean: np.ndarray


def nmda_gate(i_nmda, i_mem, i_nmda_thr):
    """Membrane-gated NMDA current ``I_nmda / (1 + i_nmda_thr / I_mem)``.

    Parameters
    ----------
    i_nmda : float or ndarray
        NMDA DPI output current, A.
    i_mem : float or ndarray
        Membrane current of the soma, A (> 0).
    i_nmda_thr : float or ndarray
        Gate threshold current, A.

    Returns
    -------
    float or ndarray
        Effective NMDA current, A.
    """
    return i_nmda / (1.0 + i_nmda_thr / i_mem)


def initial_state(params, shape):
    """Resting state of the four DPIs (each at its dark current, no pulse on).

    Parameters
    ----------
    params : SynapseParams
    shape : tuple of int
        Per-type state shape, usually ``(instance, neuron)``.

    Returns
    -------
    SynapsesState
    """
    return SynapsesState(dpi.initial_state(params.stacked(shape), (N_TYPES, *shape)))


def step(state, i_w_by_type, i_mem, params, dt, noise=None):
    """Advance the four DPIs of every neuron by one step.

    Parameters
    ----------
    state : SynapsesState
    i_w_by_type : ndarray, shape (4, instance, neuron)
        Summed weight current of the pulses of each type that start in this step, A.
    i_mem : ndarray, shape (instance, neuron)
        Membrane current of the soma at the start of the step, A (gates NMDA).
    params : SynapseParams
    dt : float
        Step, s.
    noise : ndarray, shape (4, instance, neuron), optional
        Step-averaged noise current of each DPI, A (see :func:`mixsig.circuits.dpi.step`).

    Returns
    -------
    state : SynapsesState
    outputs : SynapseOutputs
    """
    shape = np.shape(state.dpi.i_syn)[1:]
    for name, value in (("i_w_by_type", i_w_by_type), ("noise", noise)):
        if value is not None and np.shape(value)[:1] != (N_TYPES,):
            raise ValueError(f"{name} has shape {np.shape(value)}: expected (4, *{shape}), types first")
    new_dpi, out = dpi.step(state.dpi, i_w_by_type, params.stacked(shape), dt, noise)
    mean = out.i_syn_mean
    i_nmda_eff = nmda_gate(mean[SynapseType.NMDA], np.asarray(i_mem, dtype=np.float64), params.i_nmda_thr)
    i_exc = mean[SynapseType.AMPA] + i_nmda_eff
    i_inh = mean[SynapseType.GABA]
    outputs = SynapseOutputs(
        i_exc=i_exc,
        i_inh=i_inh,
        i_shunt=mean[SynapseType.SHUNT],
        i_syn_net=i_exc - i_inh,
        i_nmda_eff=i_nmda_eff,
        i_syn=out.i_syn,
        i_syn_mean=mean,
    )
    return SynapsesState(new_dpi), outputs
