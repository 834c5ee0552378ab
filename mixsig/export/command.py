"""``mixsig export``: a dataset file to Neo, NWB, tonic or AEDAT files, checked before any work.

Neo and NWB files hold every chosen instance; tonic and AEDAT files hold one instance each, so
exporting several instances writes one file per instance, ``<stem>.instance<I><suffix>``.
"""

import pathlib

from mixsig.errors import ConfigError, Problem
from mixsig.export.common import instance_ids

FORMATS = {"neo": (".mat", ".pkl"), "nwb": (".nwb",), "tonic": (".npy",), "aedat": (".aedat", ".dat")}
"""File suffixes accepted for each export format."""

PER_INSTANCE = ("tonic", "aedat")
"""Formats whose files hold one instance."""


def output_paths(path, to, instances):
    """The files an export writes, by instance (None: one file for all).

    Parameters
    ----------
    path : str
        The ``-o`` path.
    to : str
        A key of :data:`FORMATS`.
    instances : list of int

    Returns
    -------
    dict of (int or None) to str
    """
    if to not in PER_INSTANCE:
        return {None: path}
    if len(instances) == 1:
        return {instances[0]: path}
    target = pathlib.Path(path)
    return {i: str(target.with_name(f"{target.stem}.instance{i}{target.suffix}")) for i in instances}


def option_problems(ds, path, to, instance):
    """Problems of the export options (suffix, instances), all at once.

    Returns
    -------
    problems : list of Problem
    instances : list of int
        The chosen instances (all of the dataset's when none was given); empty on a problem.
    """
    problems = []
    if pathlib.Path(path).suffix.lower() not in FORMATS[to]:
        problems.append(Problem("<command line>", "--output", path, f"a file name ending in {' or '.join(FORMATS[to])} "
                                                                      f"for --to {to}"))
    try:
        instances = instance_ids(ds, instance)
    except ConfigError as error:
        problems += [Problem("<command line>", "--instance" if problem.key == "instance" else problem.key,
                             problem.value, problem.expected) for problem in error.problems]
        instances = []
    return problems, instances


def write(ds, to, paths, instances):
    """Write the files of :func:`output_paths`.

    Parameters
    ----------
    ds : xarray.Dataset
    to : str
    paths : dict of (int or None) to str
    instances : list of int
        The instances Neo and NWB files hold.

    Returns
    -------
    list of str
        The files written.
    """
    from mixsig import export

    if to == "neo":
        path = paths[None]
        export.write_neo(export.to_neo(ds, instance=instances), path)
        return [path]
    if to == "nwb":
        return [export.to_nwb(ds, paths[None], instance=instances)]
    written = []
    for instance, path in paths.items():
        if to == "tonic":
            export.write_tonic(export.to_tonic(ds, instance=instance), path)
        else:
            export.to_aedat(ds, path, instance=instance)
        written.append(path)
    return written
