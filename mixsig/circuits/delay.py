"""Delay synapses: a CAM synapse's pulse starts a programmable time after its event arrives.

DYNAP-SE2 gives each CAM synapse the choice of a delay circuit in front of its DPI: per core, a
*precise* delay and a *mismatched* one (biases ``SYPD_DLY1`` and ``SYPD_DLY2`` of the chip's
parameter set, beside the base delay ``SYPD_DLY0``; the names are those of the chip's control
software), so that a network can use delays that are the same for every synapse or spread by
device mismatch. A chip config declares its circuits (``[delays.<name>]``, :class:`DelayParams`)
and a connection selects one (``delay = "<name>"``).

Model: the delay of synapse ``s`` of instance ``i`` is lognormal around the circuit's nominal
``delay`` (its median), ``d = delay * exp(mismatch_scale * sigma * z)``, ``z`` a standard normal
drawn from the instance's ``SeedSequence`` (purpose :data:`mixsig.device.mismatch.PURPOSE_DELAY`):
a current-starved delay is ``C V / I`` with a subthreshold current ``I``, whose mismatch is
lognormal. The pulse of a delivery arriving at ``a`` starts at ``a + d`` (exact event times,
:mod:`mixsig.engine.onsets`).
"""

import dataclasses

import numpy as np

from mixsig.params import parameter

MAX_DELAY = 1.0
"""Longest delay a chip config may declare, s (a bound on what a delay circuit can hold)."""

MAX_SIGMA = 2.0
"""Largest log spread of a delay circuit (a factor e^2 = 7.4 at one sigma)."""


@dataclasses.dataclass(frozen=True)
class DelayParams:
    """One delay circuit of a chip (``[delays.<name>]``).

    Parameters
    ----------
    delay : float
        Nominal (median) delay, s, ``0 < delay <= MAX_DELAY``.
    sigma : float
        Standard deviation of the log of the delay across synapses (mismatch), 1, ``>= 0``.
    placeholder : bool
        The values are not from a measurement of the chip.
    """

    delay: float = parameter(1e-3, "s", "nominal delay of the delay circuit")
    sigma: float = parameter(0.0, "1", "standard deviation of the log delay across synapses")
    placeholder: bool = True


def synapse_delays(nominal, sigma, z):
    """Per-synapse delays from their circuits' parameters and standard normal draws.

    Parameters
    ----------
    nominal, sigma : ndarray, shape (rows,)
        Nominal delay (s, 0 for a synapse without delay) and log spread (1) of each synapse's circuit.
    z : ndarray, shape (instance, rows)
        Standard normal draws (times the experiment's ``mismatch_scale``).

    Returns
    -------
    ndarray, shape (instance, rows)
        Delay of each synapse, s.
    """
    return nominal * np.exp(sigma * z)
