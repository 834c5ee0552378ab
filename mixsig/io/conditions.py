"""Datasets of a parameter sweep: mixsig-1 datasets stacked along a leading ``condition`` dimension.

A sweep (``mixsig run --sweep KEY=v1,v2,...``) runs the same experiment under several conditions,
each one setting of one or more keys (:mod:`mixsig.settings`). :func:`stack_conditions` turns the
condition datasets into one dataset with the layout of ``docs/dataset.md`` plus:

* a coordinate ``condition(condition)`` (``0 .. C-1``) and one coordinate per swept key, named by the
  key (``soma.i_tau(condition)``), with ``units`` and ``long_name``;
* every per-instance variable (``spike_count``, sampled parameters, traces, router statistics)
  with a leading ``condition`` dimension: ``(condition, instance, ...)``;
* the ragged spikes of every condition one after the other, with ``spike_condition(spike)``:
  sorted by (condition, instance, neuron, time).

:func:`condition_dataset` gives back one condition's plain ``mixsig-1`` dataset, and the schema
check of a sweep dataset (:func:`condition_problems`) is the check of each of those plus the
rules above.
"""

import numpy as np
import xarray as xr

from mixsig.errors import ConfigError, Problem

SPIKE_CONDITION = "spike_condition"


def swept_coordinates(ds):
    """Names of the swept-key coordinates of a sweep dataset (every ``(condition,)`` coordinate but ``condition``)."""
    return [name for name, coord in ds.coords.items() if coord.dims == ("condition",) and name != "condition"]


def condition_dataset(ds, index):
    """The ``mixsig-1`` dataset of one condition of a sweep dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        With a ``condition`` dimension (:func:`stack_conditions`).
    index : int
        Position along ``condition``.

    Returns
    -------
    xarray.Dataset
    """
    mine = np.flatnonzero(ds[SPIKE_CONDITION].values == ds["condition"].values[index])
    return ds.isel(condition=index, spike=mine).drop_vars(["condition", SPIKE_CONDITION, *swept_coordinates(ds)])


def stack_conditions(datasets, settings, attributes, attrs=None):
    """One sweep dataset from the datasets of its conditions.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        ``mixsig-1`` datasets of the conditions, with equal coordinates (instances, seeds,
        neurons, trace times).
    settings : dict of str to sequence
        Swept key -> its value in each condition.
    attributes : dict of str to dict
        Swept key -> ``{"units": ..., "long_name": ...}`` of its coordinate.
    attrs : dict, optional
        Global attributes (default: those of the first condition).

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    mixsig.errors.ConfigError
        If the conditions do not share a layout (a swept key changed the instances, neurons,
        recorded times or variables) or a swept value is not a scalar.
    """
    first = datasets[0]
    problems = []
    for key, values in settings.items():
        if any(isinstance(value, (list, dict)) for value in values):
            problems.append(Problem("<sweep>", key, values, "scalar values (a number, true/false or a string)"))
    for k, ds in enumerate(datasets[1:], start=1):
        for name in first.coords:
            if name not in ds.coords or not np.array_equal(ds[name].values, first[name].values):
                problems.append(Problem("<sweep>", f"condition {k}", name,
                                        f"the {name} coordinate of condition 0 (a sweep may not change it)"))
        if set(ds.data_vars) != set(first.data_vars):
            problems.append(Problem("<sweep>", f"condition {k}", sorted(set(ds.data_vars) ^ set(first.data_vars)),
                                    "the variables of condition 0"))
    if problems:
        raise ConfigError(problems, "sweep")
    variables = {}
    for name, variable in first.data_vars.items():
        parts = [ds[name].variable for ds in datasets]
        if "spike" in variable.dims:
            variables[name] = xr.Variable(variable.dims, np.concatenate([p.values for p in parts]), variable.attrs)
        elif "instance" in variable.dims:
            variables[name] = xr.Variable(("condition", *variable.dims), np.stack([p.values for p in parts]),
                                          variable.attrs)
        else:
            variables[name] = variable  # shared descriptors (e.g. the router level of each link)
    counts = [ds.sizes["spike"] for ds in datasets]
    variables[SPIKE_CONDITION] = xr.Variable(
        ("spike",), np.repeat(np.arange(len(datasets), dtype=np.int64), counts),
        {"units": "1", "long_name": "condition of the sweep in which the neuron spiked"})
    coords = {name: coord.variable for name, coord in first.coords.items()}
    coords["condition"] = xr.Variable(("condition",), np.arange(len(datasets), dtype=np.int64),
                                      {"units": "1", "long_name": "condition of the sweep"})
    for key, values in settings.items():
        coords[key] = xr.Variable(("condition",), np.asarray(values), dict(attributes[key]))
    return xr.Dataset(variables, coords=coords, attrs=dict(first.attrs if attrs is None else attrs))


def condition_problems(ds, source, dataset_problems):
    """Every schema violation of a sweep dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        With a ``condition`` dimension.
    source : str
    dataset_problems : callable
        The ``mixsig-1`` check of one condition's dataset.

    Returns
    -------
    list of mixsig.errors.Problem
    """
    problems = []
    n = ds.sizes["condition"]
    if "condition" not in ds.coords or not np.array_equal(ds["condition"].values, np.arange(n)):
        return [Problem(source, "condition", None, f"coordinate condition = 0 .. {n - 1} (int64)")]
    if SPIKE_CONDITION not in ds.data_vars or ds[SPIKE_CONDITION].dims != ("spike",):
        return [Problem(source, SPIKE_CONDITION, None, "variable spike_condition(spike), int64")]
    conditions = ds[SPIKE_CONDITION].values
    if conditions.dtype != np.int64 or np.any(np.diff(conditions) < 0) or np.any((conditions < 0) | (conditions >= n)):
        problems.append(Problem(source, SPIKE_CONDITION, str(conditions.dtype),
                                f"int64 values in 0 .. {n - 1}, non-decreasing (spikes sorted by condition first)"))
    for name, variable in ds.variables.items():
        if "condition" in variable.dims and variable.dims[0] != "condition":
            problems.append(Problem(source, f"{name}.dims", variable.dims, "condition as the first dimension"))
    for name in swept_coordinates(ds):
        for key in ("units", "long_name"):
            if not isinstance(ds[name].attrs.get(key), str):
                problems.append(Problem(source, f"{name}.attrs.{key}", ds[name].attrs.get(key), "a non-empty string"))
    if problems:
        return problems
    seen = set()
    for index in range(n):
        for problem in dataset_problems(condition_dataset(ds, index), f"{source} condition {index}"):
            if (problem.key, str(problem.value), problem.expected) not in seen:
                seen.add((problem.key, str(problem.value), problem.expected))
                problems.append(problem)
    return problems
