"""What every study shares: settings validation, the result record and the output folder.

A study writes into one folder:

* each simulated run as a ``mixsig-1`` netCDF dataset (:func:`mixsig.io.to_netcdf`);
* its results (CV/ENOB tables, decoding errors...) as ``<study>-results.nc``, a plain netCDF
  file written atomically: the ``mixsig-1`` schema is closed (docs/dataset.md: "No other data
  variable is allowed"), so study variables cannot live in the run datasets;
* the same numbers and the settings as ``<study>-summary.json``;
* its figures as PNG files.
"""

import dataclasses
import json
import math
import os

import numpy as np

from mixsig.errors import ConfigError, Problem
from mixsig.files import atomic_write


@dataclasses.dataclass
class StudyResult:
    """What a study returns.

    Attributes
    ----------
    results : xarray.Dataset
        Study variables with ``units`` and ``long_name`` (and ``enob_convention`` where it
        applies).
    datasets : dict of str to xarray.Dataset
        The ``mixsig-1`` dataset of every run, by file stem.
    summary : dict
        JSON-ready key numbers and the settings.
    files : list of str
        Files written (empty when no output folder was given).
    """

    results: object
    datasets: dict
    summary: dict
    files: list = dataclasses.field(default_factory=list)


def settings_problems(settings, rules, source):
    """Check settings fields against rules.

    Parameters
    ----------
    settings : dataclass instance
    rules : dict
        Field name -> ``(predicate on the value, expectation text)``.
    source : str
        Where the settings come from, for the messages.

    Returns
    -------
    list of mixsig.errors.Problem
        One per failing field.
    """
    problems = []
    for field, (ok, expected) in rules.items():
        value = getattr(settings, field)
        try:
            good = bool(ok(value))
        except (TypeError, ValueError):
            good = False
        if not good:
            problems.append(Problem(source, field, value, expected))
    return problems


def is_int(value, low=None):
    """Whether ``value`` is an int (not a bool) and at least ``low``.

    Parameters
    ----------
    value : object
    low : int, optional
        Lower bound.

    Returns
    -------
    bool
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and (low is None or value >= low)


def is_positive(value):
    """Whether ``value`` is a finite real number > 0.

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    return isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def is_sequence_of(check, min_length=1):
    """Predicate: a tuple or list of at least ``min_length`` items that all pass ``check``.

    Parameters
    ----------
    check : callable
        Predicate on one item.
    min_length : int

    Returns
    -------
    callable
        Predicate on a value.
    """
    return lambda values: isinstance(values, (tuple, list)) and len(values) >= min_length and all(check(v) for v in values)


def prepare_folder(folder):
    """Create the output folder if needed; raise :class:`~mixsig.errors.ConfigError` if it cannot be used.

    Parameters
    ----------
    folder : str or os.PathLike
    """
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise ConfigError([Problem(str(folder), "(output folder)", None, f"a writable folder ({error.strerror})")], "output folder")
    if not os.access(folder, os.W_OK):
        raise ConfigError([Problem(str(folder), "(output folder)", None, "a writable folder")], "output folder")


def write_outputs(folder, study, result, figures):
    """Write the run datasets, the results netCDF, the JSON summary and the figures of a study.

    Parameters
    ----------
    folder : str
        Output folder (created if needed).
    study : str
        Study name, the prefix of the results and summary files.
    result : StudyResult
        Its ``files`` list is extended with every file written.
    figures : list of (str, callable)
        ``(file stem, draw)`` with ``draw(ax)`` drawing one figure; written as ``<stem>.png``.
    """
    from mixsig.io import to_netcdf
    from mixsig.plot import write_png

    prepare_folder(folder)
    for stem, ds in result.datasets.items():
        path = os.path.join(folder, f"{stem}.nc")
        to_netcdf(ds, path)
        result.files.append(path)
    path = os.path.join(folder, f"{study}-results.nc")
    atomic_write(path, lambda temporary: result.results.to_netcdf(temporary, engine="netcdf4"))
    result.files.append(path)
    path = os.path.join(folder, f"{study}-summary.json")

    def dump(temporary):
        with open(temporary, "w") as stream:
            json.dump(_finite(result.summary), stream, indent=2, default=_json_default)
            stream.write("\n")

    atomic_write(path, dump)
    result.files.append(path)
    for stem, draw in figures:
        path = os.path.join(folder, f"{stem}.png")
        write_png(draw, path)
        result.files.append(path)
    return result


def _finite(value):
    """The summary with non-finite floats as None (JSON has no inf or nan)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def settings_dict(settings):
    """The settings dataclass as JSON-ready plain data.

    Parameters
    ----------
    settings : dataclass instance

    Returns
    -------
    dict
    """
    return json.loads(json.dumps(dataclasses.asdict(settings), default=_json_default))
