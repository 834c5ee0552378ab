"""Schema of the ``mixsig-1`` dataset: names, dtypes, units, and the check of every rule.

The rules are listed in ``docs/dataset.md``; :func:`dataset_problems` tests all of them and
returns every violation, :func:`check_dataset` raises them as one
:class:`mixsig.errors.ConfigError`. The spike ordering helpers here are shared by building,
checking and combining, so that the three agree by construction.
"""

import datetime
import re

import numpy as np

from mixsig.errors import ConfigError, Problem


CONVENTIONS = "CF-1.8 mixsig-1"
"""Value of the ``Conventions`` global attribute of every mixsig dataset."""

LEGACY_CONVENTIONS = "mixsig-1"
"""``Conventions`` of files written before CF: :func:`mixsig.io.open_dataset` upgrades them."""

FEATURE_TYPE = "timeSeries"
"""CF ``featureType``: the spikes of each (instance, neuron) are a time series of events."""

PARAMETER_SEPARATOR = "__"
"""Replaces the ``.`` of a namespaced parameter name in its netCDF variable name."""

ROUTER_PREFIX = "router" + PARAMETER_SEPARATOR
"""Prefix of the variable names of router statistics."""

SPIKE_VARIABLES = ("spike_time", "spike_neuron", "spike_instance")

# Coordinates: name -> (dims, dtype, units, long_name).
COORDINATES = {
    "instance": (("instance",), np.dtype("int64"), "1", "chip instance (one mismatch draw)"),
    "seed": (("instance",), np.dtype("uint64"), "1", "entropy of the instance's random streams"),
    "neuron": (("neuron",), np.dtype("int64"), "1", "neuron id"),
    "core": (("neuron",), np.dtype("int64"), "1", "core holding the neuron"),
    "chip": (("neuron",), np.dtype("int64"), "1", "chip holding the neuron"),
    "time": (("time",), np.dtype("float64"), "s", "time of the trace sample"),
    "neuron_rec": (("neuron_rec",), np.dtype("int64"), "1", "id of a neuron whose state is recorded"),
}

CF_ROLE = {"neuron": "timeseries_id"}
"""CF ``cf_role`` of the coordinates that identify a spike train within an instance."""

POPULATION = "population"
"""Optional coordinate ``population(neuron)``: integer codes named by CF ``flag_values`` / ``flag_meanings``."""

# Fixed data variables: name -> (dims, dtype, units, long_name).
SPIKE_ARRAYS = {
    "spike_time": (("spike",), np.dtype("float64"), "s", "spike time"),
    "spike_neuron": (("spike",), np.dtype("int64"), "1", "neuron that spiked"),
    "spike_instance": (("spike",), np.dtype("int64"), "1", "instance in which the neuron spiked"),
    "spike_count": (("instance", "neuron"), np.dtype("int32"), "1", "number of spikes"),
}

# Global attributes: name -> (check, expected). Each check returns True for a valid value.
GLOBAL_ATTRIBUTES = {
    "Conventions": (lambda v: v == CONVENTIONS, repr(CONVENTIONS)),
    "featureType": (lambda v: v == FEATURE_TYPE, repr(FEATURE_TYPE)),
    "mixsig_version": (lambda v: isinstance(v, str) and bool(v), "a non-empty version string"),
    "experiment_toml": (lambda v: isinstance(v, str), "the verbatim experiment TOML text"),
    "chip_toml": (lambda v: isinstance(v, str), "the verbatim chip TOML text"),
    "calibration_file": (lambda v: isinstance(v, str) and bool(v), "the calibration file name"),
    "calibration_sha256": (
        lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None,
        "64 lowercase hexadecimal digits (sha256 of the calibration file)",
    ),
    "seed": (
        lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and 0 <= int(v) < 2**64,
        "an integer in [0, 2**64)",
    ),
    "dt": (
        lambda v: isinstance(v, (float, np.floating)) and np.isfinite(v) and v > 0,
        "a finite float > 0 (simulation step, s)",
    ),
    "creation_time": (lambda v: _parse_utc(v) is not None, "an ISO 8601 UTC time such as '2026-01-31T12:00:00Z'"),
    "history": (lambda v: isinstance(v, str) and bool(v), "a non-empty CF history text"),
}

# Provenance keys that build_dataset requires; the other global attributes it sets itself.
PROVENANCE_KEYS = ("experiment_toml", "chip_toml", "calibration_file", "calibration_sha256", "seed", "dt")
SET_BY_BUILD = ("Conventions", "featureType", "mixsig_version", "creation_time")
# Attributes that legitimately differ between shards of one run (workers may run on other machines).
PER_FILE_ATTRIBUTES = ("creation_time", "history", "platform")

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_RESERVED = set(COORDINATES) | set(SPIKE_ARRAYS) | {"spike", POPULATION}
_FLAG_WORD = re.compile(r"[A-Za-z0-9_.+@-]+")


def _parse_utc(value):
    """The :class:`datetime.datetime` of an ISO 8601 UTC string, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() == datetime.timedelta(0) else None


def utc_text(moment):
    """``moment`` as ISO 8601 UTC text ``YYYY-MM-DDThh:mm:ssZ``.

    Parameters
    ----------
    moment : datetime.datetime or None
        Timezone-aware time (ValueError if naive); None for now.

    Returns
    -------
    str
    """
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is None:
        raise ValueError("creation_time must be timezone-aware (UTC)")
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_variable_name(name):
    """Whether ``name`` may name a trace, a router statistic or one half of a parameter name.

    Lowercase identifier (``[a-z][a-z0-9_]*``), without ``__``, not a reserved schema name.

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    return _IDENTIFIER.fullmatch(name) is not None and PARAMETER_SEPARATOR not in name and name not in _RESERVED


TRACE_DIMS = ("instance", "neuron_rec", "time")
"""Dims of a trace variable."""

ROUTER_DIMS = "('instance', ...) for a statistic, or no 'instance' for a descriptor; never 'spike'"
"""What :func:`router_dims_ok` expects, for error messages."""


def router_dims_ok(dims):
    """Whether ``dims`` suit a router statistic.

    Per-instance statistics (counts, latencies) have ``instance`` first; descriptors shared by
    every instance (e.g. the level of each link, coded with CF ``flag_values``) have no
    ``instance`` dim. Neither uses ``spike``.

    Parameters
    ----------
    dims : tuple of str
        Dimension names of the variable.

    Returns
    -------
    bool
    """
    dims = tuple(dims)
    return "spike" not in dims and (dims[:1] == ("instance",) or "instance" not in dims)


def parameter_variable(name):
    """netCDF variable name of a namespaced parameter: ``"soma.i_tau"`` -> ``"soma__i_tau"``.

    Parameters
    ----------
    name : str
        Dotted parameter name ``<block>.<field>``.

    Returns
    -------
    str
    """
    return name.replace(".", PARAMETER_SEPARATOR)


def is_parameter_name(name):
    """Whether ``name`` is a namespaced parameter name ``<block>.<field>`` (block not ``router``).

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    parts = name.split(".")
    return len(parts) == 2 and all(is_variable_name(part) for part in parts) and parts[0] != "router"


def shorten(value, limit=60):
    """A value shortened for an error message (TOML texts can be long).

    Parameters
    ----------
    value : object
        A string, or any object (its repr is used).
    limit : int
        Characters kept.

    Returns
    -------
    str
    """
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


# ----------------------------------------------------------------------------------------------
# Spike ordering (shared by build_dataset, check_dataset and combine)


def spike_order(times, neurons, instances):
    """Stable permutation that sorts spikes by (instance, neuron, time).

    Parameters
    ----------
    times : ndarray, shape (spike,)
        Spike times, s.
    neurons, instances : ndarray of int, shape (spike,)
        Neuron and instance ids of the spikes.

    Returns
    -------
    ndarray of intp, shape (spike,)
        Spikes with equal keys keep their input order.
    """
    return np.lexsort((times, neurons, instances))


def _first_unsorted(times, neurons, instances):
    """Position k of the first spike that (instance, neuron, time) order puts after spike k + 1."""
    d_instance, d_neuron, d_time = np.diff(instances), np.diff(neurons), np.diff(times)
    ok = (d_instance > 0) | ((d_instance == 0) & ((d_neuron > 0) | ((d_neuron == 0) & (d_time >= 0))))
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else None


def spike_counts(neurons, instances, neuron_ids, instance_ids):
    """Number of spikes of each (instance, neuron) pair.

    Parameters
    ----------
    neurons, instances : ndarray of int, shape (spike,)
        Neuron and instance ids of the spikes; every id must occur in the id arrays.
    neuron_ids : ndarray of int, shape (neuron,)
        Sorted neuron ids.
    instance_ids : ndarray of int, shape (instance,)
        Sorted instance ids.

    Returns
    -------
    ndarray of int32, shape (instance, neuron)
    """
    flat = np.searchsorted(instance_ids, instances) * len(neuron_ids) + np.searchsorted(neuron_ids, neurons)
    return np.bincount(flat, minlength=len(instance_ids) * len(neuron_ids)).astype(np.int32).reshape(
        len(instance_ids), len(neuron_ids)
    )


# ----------------------------------------------------------------------------------------------
# Schema check


def _attribute_problems(source, name, attrs):
    return [
        Problem(source, f"{name}.attrs.{key}", attrs.get(key), "a non-empty string")
        for key in ("units", "long_name")
        if not (isinstance(attrs.get(key), str) and attrs.get(key))
    ]


def _spec_problems(source, name, variable, dims, dtype):
    problems = []
    if variable.dims != dims:
        problems.append(Problem(source, f"{name}.dims", variable.dims, f"dims {dims}"))
    if variable.dtype != dtype:
        problems.append(Problem(source, f"{name}.dtype", str(variable.dtype), str(dtype)))
    return problems


def _strictly_increasing(values):
    return bool(np.all(np.diff(values) > 0))


def _coordinate_problems(ds, source):
    problems = []
    for name, (dims, dtype, _, _) in COORDINATES.items():
        if name not in ds.coords:
            problems.append(Problem(source, name, None, f"coordinate {name}{dims}"))
            continue
        problems += _spec_problems(source, name, ds[name].variable, dims, dtype)
        problems += _attribute_problems(source, name, ds[name].attrs)
        if name in CF_ROLE and ds[name].attrs.get("cf_role") != CF_ROLE[name]:
            problems.append(Problem(source, f"{name}.attrs.cf_role", ds[name].attrs.get("cf_role"), repr(CF_ROLE[name])))
    if POPULATION in ds.coords:
        problems += _population_problems(ds, source)
    if problems:
        return problems
    for name in ("instance", "neuron", "time", "neuron_rec"):
        if not _strictly_increasing(ds[name].values):
            problems.append(Problem(source, name, shorten(ds[name].values), "strictly increasing values"))
    for name in ("core", "chip"):
        if np.any(ds[name].values < 0):
            problems.append(Problem(source, name, shorten(ds[name].values), "non-negative indices"))
    if not np.all(np.isfinite(ds["time"].values)):
        problems.append(Problem(source, "time", shorten(ds["time"].values), "finite sample times, s"))
    missing = np.setdiff1d(ds["neuron_rec"].values, ds["neuron"].values)
    if missing.size:
        problems.append(Problem(source, "neuron_rec", shorten(missing), "ids that appear in the neuron coordinate"))
    return problems


def population_names(variable):
    """Population name of each code of a ``population`` coordinate (from its CF flags).

    Parameters
    ----------
    variable : xarray.DataArray
        The ``population(neuron)`` coordinate.

    Returns
    -------
    dict of int to str
    """
    values = np.atleast_1d(variable.attrs.get("flag_values", []))
    meanings = str(variable.attrs.get("flag_meanings", "")).split()
    return {int(value): name for value, name in zip(values, meanings)}


def flag_word(name):
    """``name`` as a CF ``flag_meanings`` word: characters outside ``[A-Za-z0-9_.+@-]`` become ``_``."""
    return "".join(c if _FLAG_WORD.fullmatch(c) else "_" for c in name) or "_"


def _population_problems(ds, source):
    variable = ds[POPULATION]
    problems = _spec_problems(source, POPULATION, variable.variable, ("neuron",), np.dtype("int64"))
    problems += _attribute_problems(source, POPULATION, variable.attrs)
    values = np.atleast_1d(variable.attrs.get("flag_values", []))
    meanings = str(variable.attrs.get("flag_meanings", "")).split()
    if values.dtype.kind not in "iu" or len(values) != len(meanings) or len(set(meanings)) != len(meanings):
        expected = "integer flag_values and as many distinct flag_meanings words (population names)"
        problems.append(Problem(source, f"{POPULATION}.attrs.flag_meanings", shorten(" ".join(meanings)), expected))
    elif not problems and not np.isin(variable.values, values).all():
        problems.append(Problem(source, POPULATION, shorten(variable.values), "codes listed in flag_values"))
    return problems


def _spike_variable_problems(ds, source):
    problems = []
    for name, (dims, dtype, _, _) in SPIKE_ARRAYS.items():
        if name not in ds.data_vars:
            problems.append(Problem(source, name, None, f"variable {name}{dims}"))
            continue
        problems += _spec_problems(source, name, ds[name].variable, dims, dtype)
        problems += _attribute_problems(source, name, ds[name].attrs)
    sample_dimension = ds["spike_count"].attrs.get("sample_dimension") if "spike_count" in ds.data_vars else "spike"
    if sample_dimension != "spike":
        problems.append(Problem(source, "spike_count.attrs.sample_dimension", sample_dimension, "spike"))
    return problems


def _spike_content_problems(ds, source):
    """Spike values against the coordinates (which must be sound)."""
    problems = []
    times, neurons, instances = (ds[name].values for name in SPIKE_VARIABLES)
    if not np.all(np.isfinite(times) & (times >= 0)):
        bad = times[~(np.isfinite(times) & (times >= 0))]
        problems.append(Problem(source, "spike_time", shorten(bad), "finite times >= 0 s"))
    unknown = {
        "spike_neuron": np.setdiff1d(neurons, ds["neuron"].values),
        "spike_instance": np.setdiff1d(instances, ds["instance"].values),
    }
    for name, ids in unknown.items():
        if ids.size:
            problems.append(Problem(source, name, shorten(ids), f"ids that appear in the {name[6:]} coordinate"))
    if problems:
        return problems
    first = _first_unsorted(times, neurons, instances)
    if first is not None:
        value = f"spike {first + 1} belongs before spike {first}"
        problems.append(Problem(source, "spike", value, "spikes sorted by (instance, neuron, time)"))
    counts = spike_counts(neurons, instances, ds["neuron"].values, ds["instance"].values)
    if not np.array_equal(counts, ds["spike_count"].values):
        bad = int(np.count_nonzero(counts != ds["spike_count"].values))
        expected = "the number of ragged spikes of each (instance, neuron)"
        problems.append(Problem(source, "spike_count", f"{bad} entries differ", expected))
    return problems


def _spike_total_problems(ds, source):
    """The counts against the length of the ragged array (reads only ``spike_count``)."""
    total = int(ds["spike_count"].sum())
    if total != ds.sizes["spike"]:
        return [Problem(source, "spike_count", f"{total} spikes counted", f"{ds.sizes['spike']}, the spike dimension")]
    return []


def _data_variable_problems(ds, source):
    problems = []
    for name, variable in ds.data_vars.items():
        if name in SPIKE_ARRAYS:
            continue
        attrs = variable.attrs
        if "parameter_name" in attrs:
            dotted = attrs["parameter_name"]
            if not (isinstance(dotted, str) and is_parameter_name(dotted) and parameter_variable(dotted) == name):
                expected = f"'<block>.<field>' named {name!r} in netCDF"
                problems.append(Problem(source, f"{name}.attrs.parameter_name", dotted, expected))
            problems += _spec_problems(source, name, variable.variable, ("instance", "neuron"), np.dtype("float64"))
        elif "router_statistic" in attrs:
            statistic = attrs["router_statistic"]
            if not (isinstance(statistic, str) and is_variable_name(statistic) and name == ROUTER_PREFIX + statistic):
                problems.append(
                    Problem(source, f"{name}.attrs.router_statistic", statistic, "the name after 'router__'")
                )
            if not router_dims_ok(variable.dims):
                problems.append(Problem(source, f"{name}.dims", variable.dims, ROUTER_DIMS))
            if variable.dtype.kind not in "iuf":
                problems.append(Problem(source, f"{name}.dtype", str(variable.dtype), "an integer or float dtype"))
        elif is_trace(name, variable):
            if variable.dtype not in (np.dtype("float32"), np.dtype("float64")):
                problems.append(Problem(source, f"{name}.dtype", str(variable.dtype), "float32 or float64"))
        else:
            continue  # a variable derived or added by the user: not part of the schema
        problems += _attribute_problems(source, name, attrs)
    return problems


def is_trace(name, variable):
    """Whether a data variable is a trace: a lowercase name, dims ``(instance, neuron_rec, time)``.

    Parameters
    ----------
    name : str
    variable : xarray.DataArray or xarray.Variable

    Returns
    -------
    bool
    """
    return (isinstance(name, str) and is_variable_name(name) and variable.dims == TRACE_DIMS
            and "parameter_name" not in variable.attrs and "router_statistic" not in variable.attrs)


def _global_problems(ds, source):
    return [
        Problem(source, f"attrs.{name}", shorten(ds.attrs.get(name)), expected)
        for name, (valid, expected) in GLOBAL_ATTRIBUTES.items()
        if not valid(ds.attrs.get(name))
    ]


def dataset_problems(ds, source="<dataset>", spikes=True):
    """Every violation of the ``mixsig-1`` schema in ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
    source : str
        Name used in the problems (file path or description).
    spikes : bool
        Check every spike (values, order, counts; reads the whole ragged array). False checks
        only that the counts add up to the number of spikes, for lazily opened files (their
        content is protected by checksums).

    Returns
    -------
    list of mixsig.errors.Problem
        Empty when ``ds`` obeys the schema.
    """
    if "condition" in ds.dims:  # a sweep: each condition a mixsig-1 dataset (mixsig.io.conditions)
        from mixsig.io.conditions import condition_problems

        return condition_problems(ds, source, dataset_problems)
    coordinate_problems = _coordinate_problems(ds, source)
    spike_problems = _spike_variable_problems(ds, source)
    problems = _global_problems(ds, source) + coordinate_problems + spike_problems + _data_variable_problems(ds, source)
    # Spike values are checked against the coordinates only when both are sound.
    if not coordinate_problems and not spike_problems:
        problems += _spike_content_problems(ds, source) if spikes else _spike_total_problems(ds, source)
    return problems


def check_dataset(ds, source="<dataset>", spikes=True):
    """Check ``ds`` against the ``mixsig-1`` schema; raise one error listing every problem.

    Parameters
    ----------
    ds : xarray.Dataset
    source : str
        Name used in the error (file path or description).
    spikes : bool
        Check every spike (see :func:`dataset_problems`).

    Raises
    ------
    mixsig.errors.ConfigError
        If any schema rule is violated (see ``docs/dataset.md``).
    """
    problems = dataset_problems(ds, source, spikes)
    if problems:
        raise ConfigError(problems, "mixsig dataset")
