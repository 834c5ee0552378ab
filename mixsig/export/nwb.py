"""A run as an NWB 2 file (Neurodata Without Borders, ``pynwb``): a ``Units`` table of spike times.

Layout of the file :func:`to_nwb` writes:

* ``units``: one row per (instance, neuron) pair in C order; ``spike_times`` the ragged column
  (float64 seconds, the dataset's ``spike_time`` values unchanged, with ``spike_times_index`` the
  cumulative ``spike_count``); columns ``instance``, ``seed``, ``neuron``, ``core``, ``chip``,
  ``population`` and ``obs_intervals`` (the run's time window). No electrodes: an emulated chip
  has none.
* ``session_start_time``: the dataset's ``creation_time``; ``identifier``: a UUID derived from the
  run's provenance and the exported instances (the same export gives the same identifier);
  ``session_description``, ``experiment_description`` (chip, calibration, seed, dt),
  ``notes`` (the verbatim experiment TOML), ``was_generated_by`` (mixsig and its version),
  ``keywords``; one ``Device`` named after the chip.
"""

import hashlib
import os
import uuid
import warnings

import numpy as np

from mixsig.export.common import chip_layout, creation_time, provenance, require, trains
from mixsig.files import atomic_write


def _identifier(meta, instances):
    text = "\n".join([meta.get("creation_time", ""), str(meta["seed"]), meta.get("experiment_toml", ""),
                      " ".join(map(str, instances))])
    return str(uuid.UUID(bytes=hashlib.sha256(text.encode()).digest()[:16], version=4))


def nwb_file(ds, instance=None, session_description=None):
    """The spikes of a run as an in-memory :class:`pynwb.NWBFile`.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset.
    instance : int, sequence of int or None
        Instance ids (default: all).
    session_description : str, optional
        Default: the dataset's ``title``, else ``"mixsig run on <chip>"``.

    Returns
    -------
    pynwb.NWBFile
    """
    pynwb = require("pynwb")
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex

    spikes = trains(ds, instance)
    meta, chip = provenance(ds), chip_layout(ds)
    instances = list(dict.fromkeys(spikes.instance.tolist()))
    nwb = pynwb.NWBFile(
        session_description=session_description or str(ds.attrs.get("title", f"mixsig run on {chip.name}")),
        identifier=_identifier(meta, instances),
        session_start_time=creation_time(ds),
        experiment_description=(f"emulated {chip.name} chip ({chip.board} board), calibration "
                                f"{meta.get('calibration_file', '?')} (sha256 {meta.get('calibration_sha256', '?')}), "
                                f"root seed {meta['seed']}, dt {meta['dt']:g} s, instances {instances}"),
        notes=meta.get("experiment_toml", ""),
        was_generated_by=[["mixsig", meta.get("mixsig_version", "?")]],
        keywords=["neuromorphic", "mixed-signal", "emulation", chip.name],
    )
    nwb.create_device(name=chip.name, description=f"{chip.description} (emulated by mixsig)")
    n_pair = spikes.count.size
    spike_times = VectorData(name="spike_times", data=spikes.time, description="spike times, s")
    windows = VectorData(name="obs_intervals", data=np.tile([spikes.start, spikes.stop], (n_pair, 1)),
                         description="time window of the run, s")
    columns = [
        spike_times, VectorIndex(name="spike_times_index", data=np.cumsum(spikes.count), target=spike_times),
        windows, VectorIndex(name="obs_intervals_index", data=np.arange(1, n_pair + 1), target=windows),
        VectorData(name="instance", data=spikes.instance, description="chip instance (one mismatch draw)"),
        VectorData(name="seed", data=np.array([spikes.seed[i] for i in spikes.instance.tolist()], dtype=np.uint64),
                   description="entropy of the instance's random streams"),
        VectorData(name="neuron", data=spikes.neuron, description="neuron id"),
        VectorData(name="core", data=spikes.core, description="core holding the neuron"),
        VectorData(name="chip", data=spikes.chip, description="chip holding the neuron"),
        VectorData(name="population", data=spikes.population.tolist(), description="population of the neuron"),
    ]
    nwb.units = pynwb.misc.Units(name="units", description="spikes of the emulated neurons, one unit per "
                                 "(instance, neuron)", id=ElementIdentifiers(name="id", data=np.arange(n_pair)),
                                 columns=columns)
    return nwb


def to_nwb(ds, path, instance=None, session_description=None):
    """Write the spikes of a run as an NWB file, atomically.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset.
    path : str or os.PathLike
        Target file (``*.nwb``); an existing file is replaced.
    instance : int, sequence of int or None
        Instance ids (default: all).
    session_description : str, optional
        See :func:`nwb_file`.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    mixsig.errors.ConfigError
        If pynwb is not installed, or for unknown instances or a sweep dataset.
    """
    pynwb = require("pynwb")
    nwb = nwb_file(ds, instance=instance, session_description=session_description)
    path = os.fspath(path)

    def write(temporary):
        with warnings.catch_warnings():  # the temporary file's name ends in .tmp, the target's in .nwb
            warnings.filterwarnings("ignore", message="The file path provided: .* does not end in '.nwb'")
            with pynwb.NWBHDF5IO(temporary, "w") as io:
                io.write(nwb)

    atomic_write(path, write)
    return path
