"""Address-event representation: event batches, the asynchronous AER router, AEDAT 2.0 files.

* :mod:`mixsig.aer.events`  event batches, SRAM fan-out expansion, deliveries;
* :mod:`mixsig.aer.router`  per-core encoder, on-chip router and inter-chip mesh with FIFOs;
* :mod:`mixsig.aer.energy`  dynamic energy per event-driven operation (spike, encode, route, broadcast, synaptic event);
* :mod:`mixsig.aer.aedat`   AEDAT 2.0 (jAER) read/write and 32-bit address words;
* :mod:`mixsig.aer.dvs`     event cameras (DVS128, DAVIS240, tonic arrays) mapped onto input channels.
"""

import mixsig.kernel_cache  # noqa: F401  (numba cache keyed on the package's sources; before any kernel)
from mixsig.aer.aedat import decode_address, encode_address, read_aedat, read_spikes, write_aedat, write_spikes
from mixsig.aer.events import Deliveries, EventBatch, SramTable, events_from_spikes, make_batch
from mixsig.aer.router import DEFAULT_LEVELS, LinkParams, LinkStats, Router, fifo_departures

__all__ = [
    "DEFAULT_LEVELS",
    "Deliveries",
    "EventBatch",
    "LinkParams",
    "LinkStats",
    "Router",
    "SramTable",
    "decode_address",
    "encode_address",
    "events_from_spikes",
    "fifo_departures",
    "make_batch",
    "read_aedat",
    "read_spikes",
    "write_aedat",
    "write_spikes",
]
