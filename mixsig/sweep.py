"""Parameter sweeps: one experiment under several settings, one dataset with a ``condition`` dim.

``mixsig run --sweep KEY=v1,v2,...`` (repeatable: the conditions are every combination, the
first key varying slowest) or :func:`run_sweep` applies each condition's settings to the
experiment (:func:`mixsig.settings.apply_settings`, validated like the file, every condition
before anything runs), runs the conditions in this process or on the ensemble backends
(:func:`mixsig.ensemble.run_ensembles`: every shard of every condition is one task) and stacks
the datasets along ``condition`` (:func:`mixsig.io.conditions.stack_conditions`,
``docs/dataset.md``). Every condition uses the experiment's seed: instance ``i`` is the same chip
(the same mismatch draw) in every condition, so the conditions differ by the swept settings
alone.
"""

import itertools

import numpy as np

from mixsig.errors import ConfigError, Problem
from mixsig.progress import counting

TABLE_UNITS = {
    "duration": "s", "dt": "s", "temperature": "K", "interval": "s", "rate": "Hz", "phase": "s",
    "amplitude": "A", "start": "s", "stop": "s",
}
"""Units of experiment-file keys with a dimension (by their last part); the others are numbers,
switches or names (units ``"1"``)."""


def conditions(sweeps):
    """Every combination of the swept values, the first key varying slowest.

    Parameters
    ----------
    sweeps : sequence of (str, sequence)
        ``(key, values)`` pairs.

    Returns
    -------
    list of list of (str, object)
        The settings of each condition.
    """
    keys = [key for key, _ in sweeps]
    return [list(zip(keys, combination)) for combination in itertools.product(*(values for _, values in sweeps))]


def setting_attributes(key, experiment):
    """``{"units", "long_name"}`` of a swept key's coordinate.

    Parameters
    ----------
    key : str
        A setting key (:mod:`mixsig.settings`).
    experiment : mixsig.experiment.Experiment
        Its chip names the units of a bias.

    Returns
    -------
    dict
    """
    from mixsig.chip import load_chip
    from mixsig.experiment import TOP_KEYS
    from mixsig.settings import DEVICE_KEYS

    parts = key.split(".")
    if parts[0] == "device" and len(parts) == 2:
        parts = [DEVICE_KEYS.get(parts[1], parts[1])]
    if parts[0] not in TOP_KEYS and len(parts) == 2:
        attrs = load_chip(experiment.chip).bias_attributes(key)
        return {"units": attrs["units"], "long_name": f"swept setting {key}: {attrs['long_name']}"}
    return {"units": TABLE_UNITS.get(parts[-1], "1"), "long_name": f"swept setting {key}"}


def _shared_attributes(datasets):
    """Global attributes equal in every condition (those that differ, such as ``mismatch_scale``
    or the effective ``experiment_toml``, are described by the condition coordinates), plus the
    per-file ones of the first condition."""
    from mixsig.io.schema import PER_FILE_ATTRIBUTES

    first = datasets[0].attrs
    return {key: value for key, value in first.items()
            if key in PER_FILE_ATTRIBUTES
            or all(key in ds.attrs and np.array_equal(ds.attrs[key], value) for ds in datasets[1:])}


def run_sweep(experiment, sweeps, backend=None, command="mixsig.sweep", progress=None):
    """Run the conditions of a sweep and stack their datasets along ``condition``.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    sweeps : sequence of (str, sequence)
        ``(key, values)`` pairs (keys as in :mod:`mixsig.settings`); at least one value each.
    backend : dict, optional
        Keyword arguments of :func:`mixsig.ensemble.run_ensembles` (``workers``, ``scheduler``,
        ``client``, ``executor``, ``shard_dir``, ...); default: every condition in this process.
    command : str
        History text.
    progress : bool, optional
        One progress bar over the conditions (or over the shards of every condition on a
        backend); default on a terminal or in a Jupyter kernel.

    Returns
    -------
    xarray.Dataset
        ``mixsig-1`` layout with a leading ``condition`` dimension (docs/dataset.md). Global
        attributes: those equal in every condition, ``experiment_toml`` of the experiment before
        the sweep's settings and ``sweep`` (the swept keys and values).

    Raises
    ------
    mixsig.errors.ConfigError
        Every problem of every condition, before anything runs.
    """
    from mixsig.engine.simulation import run
    from mixsig.io.conditions import stack_conditions
    from mixsig.settings import apply_settings

    sweeps = [(key, list(values)) for key, values in sweeps]
    empty = [Problem("<sweep>", key, values, "at least one value") for key, values in sweeps if not values]
    if empty or not sweeps:
        raise ConfigError(empty or [Problem("<sweep>", "keys", [], "at least one swept key")], "sweep")
    settings = conditions(sweeps)
    experiments, problems = [], []
    for k, condition in enumerate(settings):
        try:
            experiments.append(apply_settings(experiment, condition, source=f"--sweep condition {k}"))
        except ConfigError as error:
            problems += error.problems
    if problems:
        raise ConfigError(problems, f"sweep of {experiment.source}")
    if backend is not None:
        from mixsig.ensemble import run_ensembles

        datasets = run_ensembles(experiments, command=command, progress=progress, **backend)
    else:
        datasets = []
        with counting(len(experiments), "condition", "mixsig sweep", progress) as done:
            for condition in experiments:
                datasets.append(run(condition, progress=False, command=command))
                done()
    attrs = _shared_attributes(datasets)
    attrs["experiment_toml"] = experiment.to_toml()  # the experiment before the sweep's settings
    attrs["sweep"] = "; ".join(f"{key} = {', '.join(map(str, values))}" for key, values in sweeps)
    return stack_conditions(datasets, {key: [dict(c)[key] for c in settings] for key, _ in sweeps},
                            {key: setting_attributes(key, experiment) for key, _ in sweeps}, attrs)
