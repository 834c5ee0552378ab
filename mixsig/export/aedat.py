"""A run's spikes as AEDAT 2.0 files, one per instance, in the mixsig address layout.

Each file holds one instance's spikes sorted by time (timestamps in microseconds from the start
of the run, the spike times rounded to the nearest microsecond, as AEDAT 2.0 stores them), with
``address = chip << 20 | core << 16 | neuron in core`` (:mod:`mixsig.aer.aedat`) and header lines
naming the chip layout, the instance and its seed, the time origin and the mixsig version.
``mixsig.aer.read_spikes(path, n_cores, neurons_per_core)`` reads such a file back as global
neuron ids, so an exported run can drive another chip (an ``aedat`` input).
"""

import os

import numpy as np

from mixsig.aer.aedat import encode_address, seconds_to_us, write_aedat
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.export.common import SOURCE, chip_layout, instance_ids, provenance, trains


def aedat_header(ds, instance):
    """The header lines :func:`to_aedat` writes for one instance (without the magic and end lines)."""
    chip, meta = chip_layout(ds), provenance(ds)
    seed = int(ds["seed"].sel(instance=instance))
    return [
        f"# mixsig-version: {meta.get('mixsig_version', '?')}",
        f"# chip: {chip.name}, {chip.n_cores} cores x {chip.neurons_per_core} neurons per core, board {chip.board}",
        "# address: chip << 20 | core << 16 | neuron in core (chip = y * nx + x on the board)",
        f"# instance: {instance} (seed {seed}; root seed {meta['seed']})",
        "# time-origin: start of the run (t = 0 s); timestamps in us, spike times rounded to 1 us",
        f"# created: {meta.get('creation_time', '?')}; calibration {meta.get('calibration_file', '?')}",
    ]


def to_aedat(ds, path, instance=None):
    """Write one instance's spikes as an AEDAT 2.0 file, time-sorted, atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset whose ``chip_toml`` gives ``n_cores`` and ``neurons_per_core``.
    path : str or os.PathLike
    instance : int, optional
        Instance id; may be omitted when the dataset holds one instance.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    mixsig.errors.ConfigError
        Several instances and none chosen, an unknown instance, a chip TOML without the geometry,
        a neuron id that does not fit its core, or a spike after 4294.967295 s (32-bit us).
    """
    ids = instance_ids(ds, instance)
    if len(ids) != 1:
        raise ConfigError([Problem(SOURCE, "instance", instance,
                                   f"one instance id per AEDAT file (the dataset holds {len(ids)})")], "AEDAT export")
    chip = chip_layout(ds)
    raise_if_any(chip.geometry_problems(), "AEDAT export")
    spikes = trains(ds, ids)
    local = spikes.neuron - (spikes.chip * chip.n_cores + spikes.core) * chip.neurons_per_core
    outside = (local < 0) | (local >= chip.neurons_per_core)
    if np.any(outside):
        k = int(np.flatnonzero(outside)[0])
        raise ConfigError([Problem(SOURCE, "neuron", int(spikes.neuron[k]),
                                   f"a neuron of core {spikes.core[k]} on chip {spikes.chip[k]} "
                                   f"({chip.neurons_per_core} neurons per core, {chip.n_cores} cores)")], "AEDAT export")
    order = np.argsort(spikes.time, kind="stable")
    pair = np.repeat(np.arange(spikes.count.size), spikes.count)[order]
    addresses = encode_address(spikes.chip[pair], spikes.core[pair], local[pair])
    write_aedat(path, addresses, seconds_to_us(spikes.time[order]), header=aedat_header(ds, ids[0]))
    return os.fspath(path)
