"""Provenance of a run: what the dataset records so that the run can be understood and repeated.

:func:`run_provenance` gives the global attributes ``mixsig run`` stores: the effective
experiment (:meth:`mixsig.experiment.Experiment.to_toml`), the chip config and the calibration
file verbatim, the calibration file named by its file name (never an install path), and the
versions of the packages that shape the numbers plus the platform (:func:`software_attributes`).
:func:`experiment_from_dataset` reads the experiment back and checks that the chip config and the
calibration found today are the recorded ones, so that re-running it (``mixsig run
--from-dataset``) reproduces the dataset bit for bit.
"""

import hashlib
import os
import platform
import sys
import tomllib
from importlib import metadata

from mixsig import __version__
from mixsig.errors import ConfigError, Problem

NO_CALIBRATION_SHA256 = hashlib.sha256(b"").hexdigest()
"""``calibration_sha256`` of a run without a device model (``device_model = "none"``)."""

PACKAGES = ("numpy", "numba", "scipy", "xarray", "netCDF4")
"""Packages whose versions are recorded (besides mixsig's own ``mixsig_version``)."""


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def software_attributes():
    """Versions of the packages that compute and write the data, and the platform.

    Returns
    -------
    dict of str to str
        ``<package>_version`` for each of :data:`PACKAGES` (lowercase), ``python_version`` and
        ``platform`` (:func:`platform.platform`).
    """
    versions = {f"{package.lower()}_version": _version(package) for package in PACKAGES}
    return {**versions, "python_version": sys.version.split()[0], "platform": platform.platform()}


def run_provenance(experiment, chip, model):
    """The provenance attributes of a run.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
        The experiment as simulated (after every override).
    chip : mixsig.chip.ChipConfig
    model : mixsig.device.DeviceModel or None
        None for ``device_model = "none"``.

    Returns
    -------
    dict
        ``experiment_toml``, ``chip_toml``, ``calibration_file`` (file name, or ``"none"``),
        ``calibration_toml`` (verbatim, ``""`` without a model), ``calibration_sha256``, ``seed``,
        ``dt``, :func:`software_attributes`, and ``calibration_tables_sha256`` when the calibration
        reads empirical tables from a netCDF file (its sha256; the file itself is not embedded).
    """
    return {
        "experiment_toml": experiment.to_toml(),
        "chip_toml": chip.toml_text,
        "calibration_file": "none" if model is None else os.path.basename(model.source),
        "calibration_toml": "" if model is None else model.text,
        "calibration_sha256": NO_CALIBRATION_SHA256 if model is None else model.sha256,
        "seed": int(experiment.seed),
        "dt": float(experiment.dt),
        **software_attributes(),
        **({} if model is None or not model.tables_sha256 else {"calibration_tables_sha256": model.tables_sha256}),
    }


def experiment_from_dataset(ds, source="<dataset>"):
    """The recorded experiment of a dataset, checked to be re-runnable bit for bit.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset written by ``mixsig run`` (or :func:`mixsig.run`).
    source : str
        File name, for messages and as the experiment's source.

    Returns
    -------
    mixsig.experiment.Experiment

    Raises
    ------
    mixsig.errors.ConfigError
        If ``experiment_toml`` is not a valid experiment, or the chip config or calibration that
        its names resolve to today differ from the ones recorded in the dataset, or a noisy run's
        shot noise was drawn by another scheme (``shot_noise_generator``, unrecorded before issue 15
        changed the draws; :data:`mixsig.engine.philox.GENERATOR`): then the re-run would not
        reproduce it.
    """
    from mixsig.chip import load_chip
    from mixsig.device import load_device_model
    from mixsig.engine import philox
    from mixsig.experiment import experiment_from_dict

    if "condition" in ds.dims:
        raise ConfigError([Problem(source, "attrs.sweep", ds.attrs.get("sweep"),
                                   "a dataset of one run (re-run a sweep with mixsig run --sweep)")],
                          "recorded experiment")
    text = ds.attrs.get("experiment_toml", "")
    key = f"{source}:experiment_toml"
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, TypeError) as error:
        raise ConfigError([Problem(source, "attrs.experiment_toml", None, f"an experiment TOML text ({error})")],
                          "recorded experiment") from None
    experiment = experiment_from_dict(data, source=key, text=text)
    problems = []
    chip_text = load_chip(experiment.chip).toml_text
    if chip_text != ds.attrs.get("chip_toml"):
        problems.append(Problem(source, "attrs.chip_toml", f"chip {experiment.chip!r} changed since the run",
                                "the chip config recorded in the dataset"))
    model = None if experiment.device_model == "none" else load_device_model(experiment.device_model)
    sha256 = NO_CALIBRATION_SHA256 if model is None else model.sha256
    if sha256 != ds.attrs.get("calibration_sha256"):
        problems.append(Problem(source, "attrs.calibration_sha256", f"{experiment.device_model!r} has sha256 {sha256}",
                                "the calibration recorded in the dataset (attribute calibration_toml)"))
    tables = None if model is None else model.tables_sha256
    if tables != ds.attrs.get("calibration_tables_sha256"):
        problems.append(Problem(source, "attrs.calibration_tables_sha256", tables,
                                "the sha256 of the calibration's empirical tables recorded in the dataset"))
    generator = ds.attrs.get("shot_noise_generator", "unrecorded" if ds.attrs.get("noise") else "none")
    if generator not in ("none", philox.GENERATOR):
        problems.append(Problem(source, "attrs.shot_noise_generator", generator,
                                f"the shot-noise draws of this mixsig ({philox.GENERATOR!r}) or none"))
    if ds.attrs.get("mixsig_version") != __version__:
        problems.append(Problem(source, "attrs.mixsig_version", ds.attrs.get("mixsig_version"),
                                f"this mixsig version ({__version__})"))
    if problems:
        raise ConfigError(problems, "re-run of a recorded experiment")
    return experiment
