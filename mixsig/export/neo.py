"""A run as a :class:`neo.Block` (Neo, the data model of Elephant and the NeuralEnsemble tools).

Layout: one :class:`neo.Segment` per instance (annotated ``instance`` and ``seed``) holding one
:class:`neo.SpikeTrain` per neuron (times in ``quantities`` seconds, float64, the dataset's
``spike_time`` values unchanged; ``t_start``/``t_stop`` the run's time window; annotated
``instance``, ``neuron``, ``core``, ``chip`` and ``population``); one :class:`neo.Group` per
population gathering its trains across instances; the run's provenance in the Block's
annotations (:func:`mixsig.export.common.provenance`).
"""

import os

from mixsig.errors import ConfigError, Problem
from mixsig.export.common import provenance, require, trains
from mixsig.files import atomic_write

NEO_FORMATS = {".mat": ("NeoMatlabIO", {"appendmat": False}), ".pkl": ("PickleIO", {})}
"""File suffixes :func:`write_neo` writes: the ``neo.io`` class and its ``write_block`` options
(``scipy.io.savemat`` would append ``.mat`` to the temporary file's name)."""


def to_neo(ds, instance=None):
    """The spikes of a run as a :class:`neo.Block`.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset.
    instance : int, sequence of int or None
        Instance ids (default: all); one Segment each, in the dataset's instance order.

    Returns
    -------
    neo.Block
        ``block.segments[k].spiketrains[j]``: instance ``k``, ``j``-th neuron of ``ds.neuron``.

    Raises
    ------
    mixsig.errors.ConfigError
        If neo is not installed, or for unknown instances or a sweep dataset.
    """
    neo = require("neo")
    spikes = trains(ds, instance)
    meta = provenance(ds)
    block = neo.Block(name=f"mixsig run on {meta['chip']}", description="spikes of an emulated chip (mixsig)", **meta)
    segments, groups = {}, {}
    for pair in range(spikes.count.size):
        instance_id = int(spikes.instance[pair])
        if instance_id not in segments:
            segments[instance_id] = neo.Segment(name=f"instance {instance_id}", instance=instance_id,
                                                seed=spikes.seed[instance_id])
            block.segments.append(segments[instance_id])
        population = str(spikes.population[pair])
        train = neo.SpikeTrain(
            spikes.of(pair), units="s", t_start=spikes.start, t_stop=spikes.stop,
            name=f"instance {instance_id} neuron {spikes.neuron[pair]}", instance=instance_id,
            neuron=int(spikes.neuron[pair]), core=int(spikes.core[pair]), chip=int(spikes.chip[pair]),
            population=population,
        )
        segments[instance_id].spiketrains.append(train)
        if population:
            groups.setdefault(population, []).append(train)
    for name, members in groups.items():
        block.groups.append(neo.Group(members, name=name, allowed_types=[neo.SpikeTrain]))
    block.check_relationships()
    return block


def write_neo(block, path):
    """Write a :class:`neo.Block` atomically, in the format its suffix names (:data:`NEO_FORMATS`).

    Parameters
    ----------
    block : neo.Block
    path : str or os.PathLike
        ``*.mat`` (``neo.io.NeoMatlabIO``, readable by MATLAB and scipy) or ``*.pkl``
        (``neo.io.PickleIO``).

    Raises
    ------
    mixsig.errors.ConfigError
        For another suffix, or if neo is not installed.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in NEO_FORMATS:
        raise ConfigError([Problem("<output>", "path", path, f"a file name ending in {' or '.join(NEO_FORMATS)}")],
                          "neo export")
    name, options = NEO_FORMATS[suffix]
    io_class = getattr(require("neo").io, name)
    atomic_write(path, lambda temporary: io_class(temporary).write_block(block, **options))
