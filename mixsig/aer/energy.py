"""Energy of the event-driven operations of a DYNAP-class chip.

The dynamic energy of a run is the sum, over the operations a spike sets off, of the number of
operations times the energy of one:

.. math:: E = \\sum_k N_k e_k, \\qquad P = E / T,

with the operations ``k`` of :data:`OPERATIONS`:

* ``spike``: a neuron generates a spike (soma reset, handshake with its core's encoder); counted per
  spike of the spike record, in the neuron's core;
* ``encode``: the core encoder/arbiter accepts one address event (one per SRAM destination of the
  spike; SRAM read included), in the source core;
* ``route_chip``: an on-chip router serves one event, in its chip;
* ``route_mesh``: one inter-chip mesh hop, in the chip the hop leaves;
* ``broadcast``: one event is broadcast into a destination core (the search of the core's CAM),
  in that core;
* ``synaptic_event``: one CAM match, i.e. one DPI pulse, in the destination core.

Counts come from the router's counters (:meth:`mixsig.aer.router.Router.link_stats` and
:meth:`~mixsig.aer.router.Router.receptions`), so dropped events cost up to where they were lost
and events still in flight at the end cost the stages they passed. Static (bias and leakage)
power is not modelled: the energies here are dynamic, per event.

The per-operation energies are chip-config values (``[energy]``, :class:`EnergyParams`); the
shipped DYNAP values are flagged placeholders until the published per-operation figures
(Moradi et al. 2018, IEEE TBioCAS 12(1):106-122; Richter et al. 2024 for DYNAP-SE2) are entered
(``docs/networks.md``, section Energy).
"""

import dataclasses

import numpy as np

from mixsig.errors import ConfigError, Problem
from mixsig.params import parameter

OPERATIONS = ("spike", "encode", "route_chip", "route_mesh", "broadcast", "synaptic_event")
"""Event-driven operations with an energy each (order of the ``operation`` dim of datasets)."""

CORE_OPERATIONS = ("spike", "encode", "broadcast", "synaptic_event")
"""Operations that happen in one core (the rest, chip router and mesh hops, are shared by a chip)."""


@dataclasses.dataclass(frozen=True)
class EnergyParams:
    """Energy of one operation of each kind (chip config ``[energy]``).

    Parameters
    ----------
    spike, encode, route_chip, route_mesh, broadcast, synaptic_event : float
        J per operation (finite, >= 0); see the module docstring for what each counts.
    placeholder : bool
        True while the values are not published measurements.
    """

    spike: float = parameter(0.0, "J", "energy per spike generated")
    encode: float = parameter(0.0, "J", "energy per address event accepted by a core encoder")
    route_chip: float = parameter(0.0, "J", "energy per event served by an on-chip router")
    route_mesh: float = parameter(0.0, "J", "energy per event per inter-chip mesh hop")
    broadcast: float = parameter(0.0, "J", "energy per event broadcast into a destination core (CAM search)")
    synaptic_event: float = parameter(0.0, "J", "energy per synaptic event (CAM match and DPI pulse)")
    placeholder: bool = False

    def __post_init__(self):
        problems = [Problem("<EnergyParams>", name, getattr(self, name), "a finite energy >= 0 J")
                    for name in OPERATIONS if not _energy_ok(getattr(self, name))]
        if not isinstance(self.placeholder, bool):
            problems.append(Problem("<EnergyParams>", "placeholder", self.placeholder, "true or false"))
        if problems:
            raise ConfigError(problems, "energy parameters")

    @property
    def per_operation(self):
        """Energies in :data:`OPERATIONS` order, J, shape (6,)."""
        return np.array([getattr(self, name) for name in OPERATIONS], dtype=np.float64)


def _energy_ok(value):
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and bool(np.isfinite(value)) and value >= 0)


def energies(counts, params):
    """Energy per operation from operation counts.

    Parameters
    ----------
    counts : array_like of int, shape (..., 6)
        Operations in :data:`OPERATIONS` order.
    params : EnergyParams

    Returns
    -------
    ndarray of float64, shape (..., 6)
        J.
    """
    return np.asarray(counts, dtype=np.float64) * params.per_operation
