"""Operating point of a chip core: its nominal circuit parameters and the figures that say whether
its synapses and its adaptation can act at all.

A DPI (synapse or AHP) driven by pulses of current ``i_w`` and width ``t_pulse`` at a summed rate
``r`` leaves its dark-current floor only when the mean input charge rate beats its leak
(physics reference, "Operating-point pitfalls")::

    rate threshold            r* = i_tau / (i_w t_pulse)
    per-pulse log gain        g  = kappa i_w t_pulse / (c u_t)       (from rest, I << i_gain)
    time constant             tau = c u_t / (kappa i_tau)            so that  r* = 1 / (g tau)

A pulse multiplies a small output current by ``exp(g)``; a functional middle weight has ``g`` of
order 1. The adaptation (AHP) DPI follows the same rule with the neuron's output rate: it acts
only above ``f* = i_tau_ahp / (i_w_ahp t_pulse_ahp)``.

These are the nominal values of one core (no mismatch, drift or noise): what the chip config's
``[biases]`` (and ``[core_biases.<core>]``) say, read by the same field names as the engine.
"""

import dataclasses

import numpy as np

from mixsig.chip.config import DPI_FIELDS, SOMA_FIELDS, SYN_TYPES, weight_bias_names
from mixsig.circuits.dpi import DPIParams
from mixsig.circuits.soma import SomaParams
from mixsig.circuits.synapses import SynapseParams


def core_circuits(chip, core=0):
    """Nominal soma and synapse parameters of one core of a chip.

    Parameters
    ----------
    chip : mixsig.chip.config.ChipConfig
    core : int
        Core index, ``0 <= core < chip.n_cores``.

    Returns
    -------
    (SomaParams, SynapseParams)
        Scalar (float) parameters in SI units.
    """
    value = {name: float(array[core]) for name, array in chip.biases.items()}
    soma = SomaParams(**{f: value[f"soma.{f}"] for f in SOMA_FIELDS})
    dpis = {block: DPIParams(**{f: value[f"{block}.{f}"] for f in DPI_FIELDS}) for block in SYN_TYPES}
    return soma, SynapseParams(**dpis, i_nmda_thr=value["nmda.i_nmda_thr"])


def weight_currents(chip, core=0):
    """Weight currents of one core, by bias name (``synapse.i_w_0`` ... or ``synapse.i_w_ampa`` ...), A."""
    return {name: float(chip.biases[name][core]) for name in weight_bias_names(chip.weight_scheme, chip.weight_bits)}


def pulse_log_gain(i_w, t_pulse, c, kappa, u_t):
    """Per-pulse log gain ``kappa i_w t_pulse / (c u_t)`` of a DPI from rest (dimensionless)."""
    return kappa * np.asarray(i_w, dtype=float) * t_pulse / (c * u_t)


def rate_threshold(i_w, t_pulse, i_tau):
    """Summed input rate ``i_tau / (i_w t_pulse)`` above which a DPI leaves its floor, Hz."""
    return i_tau / (np.asarray(i_w, dtype=float) * t_pulse)


@dataclasses.dataclass(frozen=True)
class DPIPoint:
    """Operating-point figures of one DPI driven by one weight current.

    Attributes
    ----------
    tau : float
        Time constant, s.
    gain : float
        Per-pulse log gain from rest, 1.
    rate_threshold : float
        Summed input rate below which the DPI stays at its floor, Hz.
    """

    tau: float
    gain: float
    rate_threshold: float


def dpi_point(params, i_w):
    """:class:`DPIPoint` of a DPI (:class:`~mixsig.circuits.dpi.DPIParams`) for weight current ``i_w`` (A)."""
    return DPIPoint(float(params.tau), float(pulse_log_gain(i_w, params.t_pulse, params.c_syn, params.kappa, params.u_t)),
                    float(rate_threshold(i_w, params.t_pulse, params.i_tau)))


def ahp_point(soma):
    """:class:`DPIPoint` of the adaptation DPI of a soma (its rate threshold is an output rate)."""
    return DPIPoint(float(soma.tau_ahp),
                    float(pulse_log_gain(soma.i_w_ahp, soma.t_pulse_ahp, soma.c_ahp, soma.kappa, soma.u_t)),
                    float(rate_threshold(soma.i_w_ahp, soma.t_pulse_ahp, soma.i_tau_ahp)) if soma.i_w_ahp > 0 else np.inf)


def decay_time_constant(times, current, floor):
    """Time constant of an exponential decay, from a least-squares line through ``ln(current)``.

    Parameters
    ----------
    times : ndarray, shape (n,)
        Sample times, s.
    current : ndarray, shape (n,)
        Decaying current, A.
    floor : float
        Samples at or below this current are left out (the dark-current floor bends the decay).

    Returns
    -------
    float
        ``-1 / slope`` of ``ln(current)`` against ``times``, s.
    """
    keep = np.asarray(current) > floor
    slope = np.polyfit(np.asarray(times)[keep], np.log(np.asarray(current)[keep]), 1)[0]
    return float(-1.0 / slope)


def log_sensitivity(measure, params, field, step=0.05):
    """``d ln measure / d ln field`` by a central difference in ``ln field``.

    Parameters
    ----------
    measure : callable
        ``measure(params) -> float or ndarray`` (positive outputs, e.g. a time to first spike).
    params : dataclass instance
        Parameters to perturb (e.g. :class:`~mixsig.circuits.soma.SomaParams`).
    field : str
        Name of the perturbed field.
    step : float
        Relative step: the field is multiplied by ``exp(+-step)``.

    Returns
    -------
    float or ndarray
        One sensitivity per output of ``measure``.
    """
    value = getattr(params, field)
    up = measure(dataclasses.replace(params, **{field: value * np.exp(step)}))
    down = measure(dataclasses.replace(params, **{field: value * np.exp(-step)}))
    return (np.log(up) - np.log(down)) / (2.0 * step)
