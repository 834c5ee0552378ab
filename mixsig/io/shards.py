"""Combine per-shard datasets of one ensemble run into one dataset (:func:`combine`).

``xarray.open_mfdataset`` cannot do this: the ragged ``spike`` dimension of each shard has its
own length and the spikes must be re-sorted by (instance, neuron, time) across shards.
"""

import os

import numpy as np
import xarray as xr

from mixsig.errors import ConfigError, Problem
from mixsig.io.build import build_dataset
from mixsig.io.netcdf import load_dataset
from mixsig.io.schema import (
    PER_FILE_ATTRIBUTES,
    POPULATION,
    SET_BY_BUILD,
    SPIKE_ARRAYS,
    dataset_problems,
    is_trace,
    population_names,
    shorten,
)


def _attr_equal(a, b):
    """Whether two attribute values are equal (numbers compare by value, whatever their type)."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _attrs_equal(a, b):
    return set(a) == set(b) and all(_attr_equal(a[key], b[key]) for key in a)


def _fixed_sizes(ds, variable):
    """Sizes of the dims of ``variable`` that must agree between shards (all but instance, spike)."""
    return {dim: ds.sizes[dim] for dim in variable.dims if dim not in ("instance", "spike")}


def _describe(ds):
    """What must agree between shards of one run, per variable: (dims, dtype, sizes of other dims)."""
    return {
        name: (variable.dims, str(variable.dtype), _fixed_sizes(ds, variable))
        for name, variable in ds.variables.items()
        if name not in ("instance", "seed")  # these differ by design (values; dims checked by the schema)
    }


def _compatibility_problems(shards, sources):
    first, reference = shards[0], _describe(shards[0])
    problems = []
    for ds, source in zip(shards[1:], sources[1:]):
        for key in sorted(set(first.attrs) | set(ds.attrs)):
            if key not in PER_FILE_ATTRIBUTES and not _attr_equal(first.attrs.get(key), ds.attrs.get(key)):
                expected = f"{shorten(first.attrs.get(key))} as in {sources[0]}"
                problems.append(Problem(source, f"attrs.{key}", shorten(ds.attrs.get(key)), expected))
        described = _describe(ds)
        for name in sorted(set(reference) | set(described)):
            if name not in described or name not in reference:
                present = "present" if name in described else "missing"
                problems.append(Problem(source, name, present, f"the variables of {sources[0]}"))
            elif described[name] != reference[name] or not _attrs_equal(ds[name].attrs, first[name].attrs):
                expected = f"{shorten(reference[name])} and the attributes of {sources[0]}"
                problems.append(Problem(source, name, shorten(described[name]), expected))
        for name in sorted(set(described) & set(reference)):
            if not _per_instance(ds[name]) and not np.array_equal(ds[name].values, first[name].values):
                problems.append(Problem(source, name, shorten(ds[name].values), f"the values of {sources[0]}"))
    for i, ds in enumerate(shards):
        for j in range(i):
            overlap = np.intersect1d(ds["instance"].values, shards[j]["instance"].values)
            if overlap.size:
                expected = f"instances disjoint from {sources[j]}"
                problems.append(Problem(sources[i], "instance", overlap.tolist(), expected))
    return problems


def _per_instance(variable):
    """Whether a variable differs between shards by design (it is concatenated, not shared)."""
    return "instance" in variable.dims or "spike" in variable.dims


def _concatenate(shards, name):
    return np.concatenate([ds[name].values for ds in shards])


def combine(datasets_or_paths, command="combine"):
    """Merge shards of one run that hold disjoint sets of instances.

    The shards must share neuron coordinates, trace times and recorded neurons, data
    variables (dims, dtypes, attributes) and global attributes except ``creation_time`` and
    ``history``. The result is sorted by instance with the spikes re-sorted, and equals the
    dataset a single run of all instances would have produced (up to ``creation_time`` and
    ``history``, which records the combination below the first shard's history).

    Parameters
    ----------
    datasets_or_paths : sequence of xarray.Dataset or path
        Shards, in any order; paths are read with :func:`load_dataset`, datasets are checked
        with :func:`check_dataset`.
    command : str
        Text of the new history line.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    mixsig.errors.ConfigError
        One error listing every problem of every shard and every incompatibility.
    """
    items = list(datasets_or_paths)
    if not items:
        raise ConfigError([Problem("<combine>", "shards", [], "at least one dataset")], "shards")
    shards, sources, problems = [], [], []
    for index, item in enumerate(items):
        if isinstance(item, xr.Dataset):
            shards.append(item)
            sources.append(f"<shard {index}>")
            problems += dataset_problems(item, sources[-1])
            continue
        try:
            shards.append(load_dataset(item))
        except ConfigError as error:
            problems += error.problems
            continue
        sources.append(os.fspath(item))
    if problems:
        raise ConfigError(problems, "shards")
    problems = _compatibility_problems(shards, sources)
    if problems:
        raise ConfigError(problems, "shards")
    return _merge(shards, command)


def _populations(ds):
    """The ``populations`` argument of :func:`build_dataset` that gives ``ds`` its population coordinate."""
    if POPULATION not in ds.coords:
        return None
    codes, neurons = ds[POPULATION].values, ds["neuron"].values
    return {name: neurons[codes == code] for code, name in population_names(ds[POPULATION]).items()}


def _merge(shards, command):
    """One dataset from compatible shards: concatenate along instance and spike, then rebuild."""
    first = shards[0]
    parameters, router, traces = {}, {}, {}
    for name, variable in first.data_vars.items():
        if name in SPIKE_ARRAYS:
            continue
        attrs = dict(variable.attrs)
        values = _concatenate(shards, name) if _per_instance(variable) else variable.values
        if "parameter_name" in attrs:
            parameters[attrs.pop("parameter_name")] = (values, attrs)
        elif "router_statistic" in attrs:
            router[attrs.pop("router_statistic")] = (values, variable.dims, attrs)
        elif is_trace(name, variable):
            traces[name] = (values, attrs)
        else:
            raise ConfigError([Problem("<combine>", name, variable.dims, "only schema variables in shards (no derived ones)")],
                              "shards")
    provenance = {key: value for key, value in first.attrs.items() if key not in SET_BY_BUILD}
    provenance["command"] = f"{command} of {len(shards)} shards"
    combined = build_dataset(
        instances=_concatenate(shards, "instance"),
        seeds=_concatenate(shards, "seed"),
        neurons=first["neuron"].values,
        cores=first["core"].values,
        chips=first["chip"].values,
        spike_times=_concatenate(shards, "spike_time"),
        spike_neurons=_concatenate(shards, "spike_neuron"),
        spike_instances=_concatenate(shards, "spike_instance"),
        provenance=provenance,
        traces=traces,
        recorded_neurons=first["neuron_rec"].values,
        trace_times=first["time"].values,
        parameters=parameters,
        router_statistics=router,
        populations=_populations(first),
    )
    combined.attrs["mixsig_version"] = first.attrs["mixsig_version"]  # the version that simulated
    return combined
