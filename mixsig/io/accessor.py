"""Consistent subsets and spike views of ``mixsig-1`` datasets: :func:`select` and ``ds.mixsig``.

``ds.sel(instance=...)`` alone leaves the ragged spike arrays untouched (spikes of other
instances stay, ``spike_count`` no longer adds up). :func:`select` subsets instances, neurons and
a time window together and keeps the dataset valid. It finds the spikes of the chosen
(instance, neuron) pairs from ``spike_count`` alone (spikes are sorted by instance, neuron,
time), so on a lazily opened file (``mixsig.open_dataset(path, chunks={"instance": 1})``) only
those spikes are read.

Importing :mod:`mixsig.io` registers the accessor ``ds.mixsig`` (:class:`MixsigAccessor`) with
``select``, ``spike_trains``, ``raster``, ``rates`` and ``population``.
"""

import numpy as np
import xarray as xr

from mixsig.errors import ConfigError, Problem
from mixsig.io.schema import POPULATION, flag_word, population_names, spike_counts

WINDOW = "time_window"
"""Global attribute ``[start, stop]`` (s) that :func:`select` sets when it cuts a time window."""


def _labels(values):
    """A selection that keeps its dim: scalars become one-element lists."""
    return [values] if np.ndim(values) == 0 and not isinstance(values, slice) else values


def _positions(ds, dim, labels):
    """Increasing positions along ``dim`` of the labels selected by ``labels`` (None: all)."""
    if labels is None:
        return np.arange(ds.sizes[dim])
    chosen = ds[dim].sel({dim: _labels(labels)}).values
    return np.unique(ds.indexes[dim].get_indexer(chosen))


def _spike_positions(offset, count):
    """Positions in the ragged arrays of the spikes of pairs starting at ``offset`` with ``count`` spikes.

    Parameters
    ----------
    offset, count : ndarray of int64, shape (pair,)

    Returns
    -------
    ndarray of int64, shape (sum(count),)
        Increasing when the pairs are in C order.
    """
    first = np.cumsum(count) - count
    return np.repeat(offset - first, count) + np.arange(int(count.sum()))


def time_window(ds):
    """``(start, stop)`` of the time a dataset covers, s: its ``time_window``, else ``(0, duration)``.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    tuple of float

    Raises
    ------
    mixsig.errors.ConfigError
        When the dataset has neither attribute.
    """
    if WINDOW in ds.attrs:
        start, stop = np.asarray(ds.attrs[WINDOW], dtype=float)
        return float(start), float(stop)
    if "duration" not in ds.attrs:
        raise ConfigError([Problem("<dataset>", "attrs.duration", None,
                                   "the simulated time, s (or pass duration=)")], "mixsig dataset")
    return 0.0, float(ds.attrs["duration"])


def select(ds, instance=None, neuron=None, time=None):
    """A consistent subset of a ``mixsig-1`` dataset.

    Parameters
    ----------
    ds : xarray.Dataset
    instance, neuron : label, list of labels or slice, optional
        Instance and neuron ids, as ``ds.sel`` takes them (a single id keeps its dim).
        Default: all.
    time : slice, optional
        ``slice(start, stop)`` in s (either may be None), inclusive like ``ds.sel``: traces keep
        the samples in the window, spikes the ones with ``start <= spike_time <= stop``.

    Returns
    -------
    xarray.Dataset
        A valid ``mixsig-1`` dataset: only the chosen instances and neurons (recorded neurons
        among them), their spikes, ``spike_count`` recounted; with ``time``, the global attribute
        ``time_window = [start, stop]`` (s; what :meth:`MixsigAccessor.rates` divides by).
        Derived variables along these dims are subset too.
    """
    if "condition" in ds.dims:
        raise ConfigError([Problem("<select>", "condition", ds.sizes["condition"],
                                   "one condition: mixsig.io.conditions.condition_dataset(ds, k) first")], "selection")
    instances, neurons = _positions(ds, "instance", instance), _positions(ds, "neuron", neuron)
    counts = ds["spike_count"].values.astype(np.int64)
    offsets = (np.cumsum(counts) - counts.ravel()).reshape(counts.shape)
    block = np.ix_(instances, neurons)
    spikes = _spike_positions(offsets[block].ravel(), counts[block].ravel())
    recorded = np.flatnonzero(np.isin(ds["neuron_rec"].values, ds["neuron"].values[neurons]))
    out = ds.isel(instance=instances, neuron=neurons, neuron_rec=recorded)
    if time is None:
        out = out.isel(spike=spikes)
        out["spike_count"] = out["spike_count"].copy(data=counts[block].astype(np.int32))
        return out
    if not isinstance(time, slice) or time.step is not None:
        raise ConfigError([Problem("<select>", "time", time, "slice(start, stop) in s")], "selection")
    window = time_window(ds) if (WINDOW in ds.attrs or "duration" in ds.attrs) else (0.0, np.inf)
    start = window[0] if time.start is None else max(float(time.start), window[0])
    stop = window[1] if time.stop is None else min(float(time.stop), window[1])
    times = ds["spike_time"].values[spikes] if spikes.size else np.zeros(0)
    spikes = spikes[(times >= start) & (times <= stop)]
    out = out.isel(spike=spikes).sel(time=slice(start, stop))
    recount = spike_counts(out["spike_neuron"].values, out["spike_instance"].values, out["neuron"].values,
                           out["instance"].values)
    out["spike_count"] = out["spike_count"].copy(data=recount)
    out.attrs[WINDOW] = np.array([start, stop])
    return out


@xr.register_dataset_accessor("mixsig")
class MixsigAccessor:
    """``ds.mixsig``: spike views and consistent subsets of a ``mixsig-1`` dataset.

    Parameters
    ----------
    ds : xarray.Dataset
    """

    def __init__(self, ds):
        self._ds = ds

    def select(self, instance=None, neuron=None, time=None):
        """:func:`select` of this dataset."""
        return select(self._ds, instance=instance, neuron=neuron, time=time)

    def population(self, name):
        """The neurons of population ``name`` (``population(neuron)`` coordinate), via :func:`select`.

        Parameters
        ----------
        name : str
            The population's name in the experiment (or its CF flag word, blanks as ``_``).

        Returns
        -------
        xarray.Dataset
        """
        ds = self._ds
        names = population_names(ds[POPULATION]) if POPULATION in ds.coords else {}
        codes = [code for code, label in names.items() if label == flag_word(name)]
        if not codes:
            raise ConfigError([Problem("<dataset>", POPULATION, name, f"one of {sorted(names.values())}")],
                              "population selection")
        return self.select(neuron=ds["neuron"].values[ds[POPULATION].values == codes[0]])

    def spike_trains(self):
        """Spike times of every (instance, neuron) pair, s.

        Returns
        -------
        dict of (int, int) to ndarray of float64
            ``(instance id, neuron id) -> spike times``, increasing; empty arrays for silent
            neurons. Keys in (instance, neuron) order.
        """
        ds = self._ds
        counts = ds["spike_count"].values.astype(np.int64).ravel()
        trains = np.split(ds["spike_time"].values, np.cumsum(counts)[:-1]) if counts.size else []
        pairs = [(int(i), int(n)) for i in ds["instance"].values for n in ds["neuron"].values]
        return dict(zip(pairs, trains))

    def rates(self, duration=None):
        """Firing rate of every (instance, neuron), Hz.

        Parameters
        ----------
        duration : float, optional
            Counting window, s (default: the ``time_window`` of a :func:`select`, else the
            ``duration`` attribute).

        Returns
        -------
        xarray.DataArray, shape (instance, neuron)
            ``spike_count / duration`` with ``units = "Hz"``.
        """
        if duration is None:
            start, stop = time_window(self._ds)
            duration = stop - start
        rates = self._ds["spike_count"] / float(duration)
        return rates.rename("rate").assign_attrs(units="Hz", long_name="firing rate")

    def raster(self, bin_width=1e-3):
        """Spike counts in time bins, ``(instance, neuron, time_bin)``.

        Parameters
        ----------
        bin_width : float
            Bin width, s. Bins start at the window start (0 s, or the ``time_window`` start);
            the last bin may reach past the window's end.

        Returns
        -------
        xarray.DataArray of int32, shape (instance, neuron, time_bin)
            Coordinate ``time_bin``: start of each bin, s.
        """
        ds = self._ds
        try:
            start, stop = time_window(ds)
        except ConfigError:
            start, stop = 0.0, float(ds["spike_time"].max()) if ds.sizes["spike"] else 0.0
        n_bins = max(1, int(np.ceil((stop - start) / bin_width)))
        n_neuron = ds.sizes["neuron"]
        rows = (ds.indexes["instance"].get_indexer(ds["spike_instance"].values) * n_neuron
                + ds.indexes["neuron"].get_indexer(ds["spike_neuron"].values))
        bins = np.clip(((ds["spike_time"].values - start) // bin_width).astype(np.int64), 0, n_bins - 1)
        flat = np.bincount(rows * n_bins + bins, minlength=ds.sizes["instance"] * n_neuron * n_bins)
        counts = flat.astype(np.int32).reshape(ds.sizes["instance"], n_neuron, n_bins)
        edges = start + bin_width * np.arange(n_bins)
        return xr.DataArray(
            counts, dims=("instance", "neuron", "time_bin"), name="raster",
            coords={"instance": ds["instance"], "neuron": ds["neuron"],
                    "time_bin": ("time_bin", edges, {"units": "s", "long_name": "start of the time bin"})},
            attrs={"units": "1", "long_name": f"spikes per {bin_width:g} s bin"},
        )
