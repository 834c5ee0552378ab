"""A run's spikes as a tonic event array (the structured arrays of ``tonic`` datasets and transforms).

tonic stores events as numpy structured arrays, time in microseconds: audio-like sensors such as
the Spiking Heidelberg Digits as ``(t, x, p)`` (``x`` the channel, one polarity), cameras as
``(t, x, y, p)``. :func:`to_tonic` gives one instance's spikes in either form, sorted by time, so
``tonic.transforms.ToFrame(sensor_size=sensor_size(ds))`` and the other transforms take them as
they take a dataset sample.
"""

import numpy as np

from mixsig.errors import ConfigError, Problem, is_int
from mixsig.export.common import SOURCE, instance_ids, trains
from mixsig.files import atomic_write

US_PER_S = 1e6
"""tonic's time unit is the microsecond: ``t = spike_time * 1e6`` (float64, not rounded)."""


def _layout(ds, shape):
    """``(width, height)`` of the neuron layout, checked (None: one channel per neuron)."""
    if shape is None:
        return None
    n_neuron = ds.sizes["neuron"]
    if (len(shape) != 2 or not all(is_int(v) and v >= 1 for v in shape)) or shape[0] * shape[1] < n_neuron:
        raise ConfigError([Problem(SOURCE, "shape", tuple(shape),
                                   f"(width, height), positive integers with width * height >= {n_neuron} neurons")],
                          "tonic export")
    return int(shape[0]), int(shape[1])


def sensor_size(ds, shape=None):
    """The ``sensor_size`` tonic transforms take for :func:`to_tonic` of ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
    shape : (int, int), optional
        The layout given to :func:`to_tonic`.

    Returns
    -------
    tuple of int
        ``(n_neuron, 1, 1)``, or ``(width, height, 1)`` with a 2-D layout.
    """
    layout = _layout(ds, shape)
    return (ds.sizes["neuron"], 1, 1) if layout is None else (*layout, 1)


def to_tonic(ds, instance=None, shape=None):
    """One instance's spikes as a tonic structured event array, sorted by time.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset.
    instance : int, optional
        Instance id; may be omitted when the dataset holds one instance.
    shape : (int, int), optional
        A 2-D layout ``(width, height)`` of the neurons in ``ds.neuron`` order (row-major: the
        ``k``-th neuron at ``x = k % width``, ``y = k // width``). Default: one channel per neuron.

    Returns
    -------
    ndarray, shape (spike,)
        Fields ``t`` (float64, us: ``spike_time * 1e6``), ``x`` (int64: the neuron's position in
        ``ds.neuron``, or its column), with a layout ``y`` (int64: its row), and ``p`` (int64, 0:
        spikes have one polarity). Sorted by ``t``; equal times keep the ``ds.neuron`` order.

    Raises
    ------
    mixsig.errors.ConfigError
        Several instances and none chosen, an unknown instance, a bad ``shape``, a sweep dataset.
    """
    ids = instance_ids(ds, instance)
    if len(ids) != 1:
        raise ConfigError([Problem(SOURCE, "instance", instance,
                                   f"one instance id (the dataset holds {len(ids)})")], "tonic export")
    layout = _layout(ds, shape)
    spikes = trains(ds, ids)
    channel = np.repeat(np.arange(spikes.count.size, dtype=np.int64), spikes.count)
    order = np.argsort(spikes.time, kind="stable")
    names = ("t", "x", "p") if layout is None else ("t", "x", "y", "p")
    events = np.zeros(order.size, dtype=[(name, np.float64 if name == "t" else np.int64) for name in names])
    events["t"] = spikes.time[order] * US_PER_S
    if layout is None:
        events["x"] = channel[order]
    else:
        events["x"], events["y"] = channel[order] % layout[0], channel[order] // layout[0]
    return events


def write_tonic(events, path):
    """Write a tonic event array as a ``.npy`` file (``numpy.load`` reads it back), atomically.

    Parameters
    ----------
    events : ndarray
        A structured array of :func:`to_tonic`.
    path : str or os.PathLike
        Target file; written as named (no ``.npy`` is appended).
    """
    def write(temporary):
        with open(temporary, "wb") as stream:
            np.save(stream, events, allow_pickle=False)

    atomic_write(path, write)
