"""Assemble a ``mixsig-1`` dataset from plain numpy arrays (:func:`build_dataset`)."""

import operator
import re

import numpy as np
import xarray as xr

from mixsig import __version__
from mixsig.errors import ConfigError, Problem
from mixsig.io import lazy_dask
from mixsig.io.schema import (
    CF_ROLE,
    CONVENTIONS,
    COORDINATES,
    FEATURE_TYPE,
    GLOBAL_ATTRIBUTES,
    POPULATION,
    PROVENANCE_KEYS,
    ROUTER_DIMS,
    ROUTER_PREFIX,
    SPIKE_ARRAYS,
    check_dataset,
    flag_word,
    is_parameter_name,
    is_variable_name,
    parameter_variable,
    router_dims_ok,
    shorten,
    spike_counts,
    spike_order,
    utc_text,
)


def _integer_array(problems, source, key, values):
    array = np.asarray(values)
    if array.ndim == 1 and array.dtype.kind in "fO" and not isinstance(values, np.ndarray):
        # A list of Python ints that numpy could not fit in one integer type (seeds >= 2**63).
        try:
            array = np.array([operator.index(value) for value in values], dtype=np.uint64)
        except (TypeError, OverflowError):
            pass
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        problems.append(Problem(source, key, shorten(array), "a 1-D integer array"))
        return None
    return array


def _unique(problems, source, key, array):
    if array is not None and np.unique(array).size != array.size:
        problems.append(Problem(source, key, shorten(array), "unique ids"))
        return None
    return array


def _subset(problems, source, key, values, ids, what):
    if values is not None and ids is not None:
        missing = np.setdiff1d(values, ids)
        if missing.size:
            problems.append(Problem(source, key, shorten(missing), f"ids listed in {what}"))


def _ids(problems, source, **arrays):
    """Validated 1-D integer id arrays (None where invalid); ``*_ids`` keys must be unique."""
    checked = {key: _integer_array(problems, source, key, values) for key, values in arrays.items()}
    for key in ("instances", "neurons", "recorded_neurons"):
        checked[key] = _unique(problems, source, key, checked[key])
    seeds = checked["seeds"]
    if seeds is not None and seeds.size and seeds.min() < 0:
        problems.append(Problem(source, "seeds", shorten(seeds), "integers in [0, 2**64)"))
    _subset(problems, source, "spike_neurons", checked["spike_neurons"], checked["neurons"], "neurons")
    _subset(problems, source, "spike_instances", checked["spike_instances"], checked["instances"], "instances")
    _subset(problems, source, "recorded_neurons", checked["recorded_neurons"], checked["neurons"], "neurons")
    return checked


def _add_variable(problems, source, key, name, entry, dims, sizes, orders, data_vars):
    """Check one (array, attrs) entry against ``sizes``; store it reordered as ``orders`` says.

    Dims not yet in ``sizes`` (e.g. a router level) take their size from the first array.
    """
    array, attrs = np.asarray(entry[0]), storable(entry[1])
    if array.ndim != len(dims) or any(sizes.setdefault(dim, n) != n for dim, n in zip(dims, array.shape)):
        expected = tuple(sizes.get(dim, "any") for dim in dims)
        problems.append(Problem(source, f"{key}.shape", array.shape, f"{expected} for dims {dims}"))
        return
    for axis, dim in enumerate(dims):
        if dim in orders:
            array = np.take(array, orders[dim], axis=axis)
    data_vars[name] = (dims, array, attrs)


def storable(attrs):
    """Attributes with booleans as int8 0/1 (netCDF has no boolean type; 0/1 reads back unchanged)."""
    return {key: np.int8(value) if isinstance(value, (bool, np.bool_)) else value for key, value in dict(attrs).items()}


def _unpack(problems, source, key, entry, size):
    """Split a mapping entry ``(array, ...)`` of ``size`` items, or record a problem."""
    if not (isinstance(entry, tuple) and len(entry) == size):
        problems.append(Problem(source, key, type(entry).__name__, f"a tuple of {size} items"))
        return None
    return entry


def _attribute_array(values):
    """A 1-D attribute as netCDF gives it back: arrays of one value become that value."""
    return values[0] if values.size == 1 else values


def _population_codes(problems, source, populations, neurons):
    """Code (position in ``populations``) of each neuron, or None without populations."""
    if populations is None or neurons is None:
        return None
    codes = np.full(len(neurons), -1, dtype=np.int64)
    position = {int(n): k for k, n in enumerate(neurons)}
    for code, (name, members) in enumerate(dict(populations).items()):
        members = np.atleast_1d(np.asarray(members))
        unknown = [m for m in members.tolist() if m not in position]
        if members.dtype.kind not in "iu" or members.ndim != 1 or unknown:
            problems.append(Problem(source, f"populations.{name}", shorten(members), "ids listed in neurons"))
            continue
        rows = [position[m] for m in members.tolist()]
        if np.any(codes[rows] >= 0):
            problems.append(Problem(source, f"populations.{name}", shorten(members), "neurons of no other population"))
        codes[rows] = code
    if np.any(codes < 0):
        problems.append(Problem(source, "populations", shorten(neurons[codes < 0]), "every neuron in a population"))
    return codes


def _data_variables(problems, source, traces, parameters, router_statistics, sizes, orders):
    """Traces, sampled parameters and router statistics as ``{name: (dims, array, attrs)}``."""
    data_vars = {}
    for name, entry in (traces or {}).items():
        key = f"traces.{name}"
        if not (isinstance(name, str) and is_variable_name(name)):
            problems.append(Problem(source, key, name, "a lowercase identifier without '__', not a schema name"))
        elif _unpack(problems, source, key, entry, 2):
            dims = ("instance", "neuron_rec", "time")
            _add_variable(problems, source, key, name, entry, dims, sizes, orders, data_vars)
    for name, entry in (parameters or {}).items():
        key = f"parameters.{name}"
        if not (isinstance(name, str) and is_parameter_name(name)):
            problems.append(Problem(source, key, name, "a dotted name '<block>.<field>'"))
        elif _unpack(problems, source, key, entry, 2):
            entry = (np.asarray(entry[0], dtype=np.float64), {**dict(entry[1]), "parameter_name": name})
            variable = parameter_variable(name)
            _add_variable(problems, source, key, variable, entry, ("instance", "neuron"), sizes, orders, data_vars)
    for name, entry in (router_statistics or {}).items():
        key = f"router_statistics.{name}"
        if not (isinstance(name, str) and is_variable_name(name)):
            problems.append(Problem(source, key, name, "a lowercase identifier without '__', not a schema name"))
        elif _unpack(problems, source, key, entry, 3):
            dims = tuple(entry[1])
            if not router_dims_ok(dims):
                problems.append(Problem(source, f"{key}.dims", dims, ROUTER_DIMS))
                continue
            entry = (entry[0], {**dict(entry[2]), "router_statistic": name})
            _add_variable(problems, source, key, ROUTER_PREFIX + name, entry, dims, sizes, orders, data_vars)
    return data_vars


def _global_attributes(problems, source, provenance, creation_time):
    """The global attributes of a new dataset (values are checked later by check_dataset)."""
    missing = [key for key in PROVENANCE_KEYS if key not in provenance]
    problems += [Problem(source, f"provenance.{key}", None, "a value") for key in missing]
    extra = {key: value for key, value in provenance.items() if key not in PROVENANCE_KEYS + ("history", "command")}
    for key, value in extra.items():
        if key in GLOBAL_ATTRIBUTES or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
            problems.append(
                Problem(source, f"provenance.{key}", shorten(value), "an identifier that mixsig does not set itself")
            )
        elif not isinstance(value, (str, bool, int, float, np.integer, np.floating, np.bool_)):
            problems.append(Problem(source, f"provenance.{key}", shorten(value), "a str, bool, int or float"))
    if problems:
        return {}
    seed, dt = provenance["seed"], provenance["dt"]
    created = utc_text(creation_time)
    line = f"{created} mixsig {__version__}: {provenance.get('command', 'build_dataset')}"
    return {
        "Conventions": CONVENTIONS,
        "featureType": FEATURE_TYPE,
        "mixsig_version": __version__,
        **{key: provenance[key] for key in PROVENANCE_KEYS},
        "seed": np.uint64(seed) if GLOBAL_ATTRIBUTES["seed"][0](seed) else seed,
        "dt": float(dt) if isinstance(dt, (int, float, np.integer, np.floating)) and not isinstance(dt, bool) else dt,
        "creation_time": created,
        "history": line + ("\n" + provenance["history"] if provenance.get("history") else ""),
        **storable(extra),
    }


def build_dataset(
    *,
    instances,
    seeds,
    neurons,
    cores,
    chips,
    spike_times,
    spike_neurons,
    spike_instances,
    provenance,
    traces=None,
    recorded_neurons=(),
    trace_times=(),
    parameters=None,
    router_statistics=None,
    populations=None,
    creation_time=None,
):
    """Assemble a ``mixsig-1`` dataset from plain arrays.

    Instances and neurons may be given in any order (they are sorted, and every array along
    those axes is permuted with them); spikes may come in any order (they are sorted stably by
    (instance, neuron, time)).

    Parameters
    ----------
    instances : array of int, shape (instance,)
        Unique instance ids.
    seeds : array of int, shape (instance,)
        Entropy of each instance's random streams, in [0, 2**64).
    neurons : array of int, shape (neuron,)
        Unique neuron ids.
    cores, chips : array of int, shape (neuron,)
        Core and chip of each neuron.
    spike_times : array of float, shape (spike,)
        Spike times, s.
    spike_neurons, spike_instances : array of int, shape (spike,)
        Neuron id and instance id of each spike.
    provenance : mapping
        Global attributes. Required: ``experiment_toml`` and ``chip_toml`` (verbatim TOML
        text), ``calibration_file`` (file name), ``calibration_sha256`` (hex digest), ``seed``
        (user seed, int >= 0), ``dt`` (step, s). Optional: ``history`` (earlier history text,
        kept below the new line), ``command`` (what produced the data, for the history line;
        default ``"build_dataset"``), and any further attributes whose names are identifiers
        and whose values are str, bool, int or float (CF ``title``, ``comment``, ...).
    traces : mapping str -> (ndarray, dict), optional
        Recorded state: name -> (float array of shape (instance, neuron_rec, time), attrs with
        ``units`` and ``long_name``). Names are lowercase identifiers such as ``i_mem``.
    recorded_neurons : array of int, shape (neuron_rec,)
        Ids of the recorded neurons (axis 1 of the traces), unique, among ``neurons``.
    trace_times : array of float, shape (time,)
        Sample times of the traces, s, strictly increasing.
    parameters : mapping str -> (ndarray, dict), optional
        Sampled parameters: dotted name (``"soma.i_tau"``) -> (array of shape
        (instance, neuron), SI units; attrs with ``units`` and ``long_name``, e.g. from
        :func:`mixsig.params.attributes`). Stored as ``soma__i_tau`` with ``parameter_name``.
    router_statistics : mapping str -> (ndarray, tuple of str, dict), optional
        name -> (integer or float array, dims, attrs with ``units`` and ``long_name``).
        Per-instance statistics have ``"instance"`` as first dim; descriptors shared by all
        instances (e.g. each link's level, as CF ``flag_values``) have no ``instance`` dim.
        Stored as ``router__<name>`` with ``router_statistic``.
    populations : mapping str -> array of int, optional
        Population name -> its neuron ids; every neuron in exactly one population. Stored as the
        coordinate ``population(neuron)``: code ``k`` for the k-th population, named by the CF
        attributes ``flag_values`` and ``flag_meanings`` (names with characters outside
        ``[A-Za-z0-9_.+@-]`` have them replaced by ``_``).
    creation_time : datetime.datetime, optional
        Timezone-aware creation time (default: now).

    Returns
    -------
    xarray.Dataset
        A dataset that passes :func:`check_dataset`.

    Raises
    ------
    mixsig.errors.ConfigError
        Listing every inconsistency of the inputs.
    """
    lazy_dask.defer()  # numpy arrays only: xarray need not import dask.array to see that
    source = "<build_dataset>"
    problems = []
    ids = _ids(
        problems, source, instances=instances, seeds=seeds, neurons=neurons, cores=cores, chips=chips,
        recorded_neurons=recorded_neurons, spike_neurons=spike_neurons, spike_instances=spike_instances,
    )
    spike_times, trace_times = np.asarray(spike_times, dtype=np.float64), np.asarray(trace_times, dtype=np.float64)
    for key, array in (("spike_times", spike_times), ("trace_times", trace_times)):
        if array.ndim != 1:
            problems.append(Problem(source, f"{key}.shape", array.shape, "a 1-D array"))
    if any(array is None for array in ids.values()) or spike_times.ndim != 1 or trace_times.ndim != 1:
        raise ConfigError(problems, "dataset inputs")  # nothing more can be checked

    sizes = {"instance": len(ids["instances"]), "neuron": len(ids["neurons"]), "spike": len(spike_times)}
    sizes.update(neuron_rec=len(ids["recorded_neurons"]), time=len(trace_times))
    for key, dim in (("seeds", "instance"), ("cores", "neuron"), ("chips", "neuron")):
        if ids[key].shape != (sizes[dim],):
            problems.append(Problem(source, f"{key}.shape", ids[key].shape, f"({sizes[dim]},), one per {dim}"))
    for key in ("spike_neurons", "spike_instances"):
        if ids[key].shape != spike_times.shape:
            problems.append(Problem(source, f"{key}.shape", ids[key].shape, f"{spike_times.shape} as spike_times"))
    id_keys = {"instance": "instances", "neuron": "neurons", "neuron_rec": "recorded_neurons"}
    orders = {dim: np.argsort(ids[key]) for dim, key in id_keys.items()}
    data_vars = _data_variables(problems, source, traces, parameters, router_statistics, sizes, orders)
    attrs = _global_attributes(problems, source, provenance, creation_time)
    codes = _population_codes(problems, source, populations, ids["neurons"])
    if problems:
        raise ConfigError(problems, "dataset inputs")

    order = spike_order(spike_times, ids["spike_neurons"], ids["spike_instances"])
    spike_neurons, spike_instances = (ids[key][order].astype(np.int64) for key in ("spike_neurons", "spike_instances"))
    instance_ids, neuron_ids = (ids[id_keys[dim]][orders[dim]].astype(np.int64) for dim in ("instance", "neuron"))
    coords = {
        "instance": instance_ids,
        "seed": ("instance", ids["seeds"][orders["instance"]].astype(np.uint64)),
        "neuron": neuron_ids,
        "core": ("neuron", ids["cores"][orders["neuron"]].astype(np.int64)),
        "chip": ("neuron", ids["chips"][orders["neuron"]].astype(np.int64)),
        "time": trace_times,
        "neuron_rec": ids["recorded_neurons"][orders["neuron_rec"]].astype(np.int64),
    }
    if codes is not None:
        words = [flag_word(str(name)) for name in populations]
        words = [word if words.count(word) == 1 else f"{word}_{k}" for k, word in enumerate(words)]
        coords[POPULATION] = ("neuron", codes[orders["neuron"]], {
            "units": "1", "long_name": "population of the neuron",
            "flag_values": _attribute_array(np.arange(len(words), dtype=np.int64)), "flag_meanings": " ".join(words)})
    counts = spike_counts(spike_neurons, spike_instances, neuron_ids, instance_ids)
    ds = xr.Dataset(
        {
            "spike_time": ("spike", spike_times[order]),
            "spike_neuron": ("spike", spike_neurons),
            "spike_instance": ("spike", spike_instances),
            "spike_count": (("instance", "neuron"), counts, {"sample_dimension": "spike"}),
            **data_vars,
        },
        coords=coords,
        attrs=attrs,
    )
    for name, (_, _, units, long_name) in {**COORDINATES, **SPIKE_ARRAYS}.items():
        ds[name].attrs.update(units=units, long_name=long_name)
    for name, role in CF_ROLE.items():
        ds[name].attrs["cf_role"] = role
    check_dataset(ds, source)
    return ds
