"""AEDAT 2.0 round trip of routed chip output: addresses and timestamps come back exactly.

Poisson spikes of 64 neurons on a 2 x 2 board of 4-core chips are routed, the deliveries are
written as an AEDAT 2.0 file (address word ``chip << 20 | core << 16 | neuron``, timestamps in
microseconds) and read back. Expected: the same number of records, zero differences in address
words and timestamps, the decoded (chip, core) equal to the delivery destinations, and the
rounding of arrival times to whole microseconds within half a microsecond.
"""

import pathlib
import sys
import tempfile

import numpy as np

from mixsig.aer.aedat import decode_address, encode_address, read_aedat, seconds_to_us, write_aedat
from mixsig.aer.events import SramTable, events_from_spikes
from mixsig.aer.router import Router
from mixsig.checks import Check, report

N_CORES, NEURONS_PER_CORE = 4, 256


def routed_deliveries(seed=7):
    """Deliveries of 1 s of 20 Hz Poisson spikes from 64 neurons, 2 SRAM destinations each."""
    rng = np.random.default_rng(seed)
    sources = rng.choice(4 * N_CORES * NEURONS_PER_CORE, 64, replace=False)
    counts = rng.poisson(20.0, sources.size)
    spike_source = np.repeat(sources, counts)
    spike_time = rng.uniform(0.0, 1.0, spike_source.size)
    sram = SramTable(np.repeat(sources, 2), rng.integers(0, 4, 2 * sources.size),
                     rng.integers(1, 16, 2 * sources.size), rng.integers(0, 2048, 2 * sources.size))
    events = events_from_spikes(spike_time, spike_source, sram, N_CORES, NEURONS_PER_CORE)
    return Router(2, 2, N_CORES).feed(events)


def main():
    deliveries = routed_deliveries()
    neuron = deliveries.source % NEURONS_PER_CORE
    addresses = encode_address(deliveries.dst_chip, deliveries.dst_core, neuron)
    order = np.argsort(deliveries.arrival_time, kind="stable")
    timestamps = seconds_to_us(deliveries.arrival_time[order])
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "chip_output.aedat"
        write_aedat(path, addresses[order], timestamps, header=["# mixsig AER router output"])
        read_addresses, read_timestamps, header = read_aedat(path)
    chip, core, _ = decode_address(read_addresses)
    checks = [
        Check("records read back", "records written", float(len(addresses)), float(len(read_addresses)), 0.0, atol=0.0),
        Check("max |address difference|", "exact round trip", 0.0,
              float(np.max(np.abs(read_addresses.astype(np.int64) - addresses[order].astype(np.int64)), initial=0)),
              0.0, atol=0.0),
        Check("max |timestamp difference|", "exact round trip", 0.0,
              float(np.max(np.abs(read_timestamps - timestamps), initial=0)), 0.0, "us", atol=0.0),
        Check("decoded (chip, core) mismatches", "address word layout", 0.0,
              float(np.count_nonzero((chip != deliveries.dst_chip[order]) | (core != deliveries.dst_core[order]))),
              0.0, atol=0.0),
        Check("max |arrival - timestamp|", "rounding to 1 us", 0.0,
              float(np.max(np.abs(deliveries.arrival_time[order] * 1e6 - read_timestamps))), 0.0, "us", atol=0.5),
        Check("header magic line", "#!AER-DAT2.0", 1.0, float(header[0] == "#!AER-DAT2.0"), 0.0, atol=0.0),
    ]
    return report("AEDAT 2.0 round trip of routed events", checks)


if __name__ == "__main__":
    sys.exit(main())
