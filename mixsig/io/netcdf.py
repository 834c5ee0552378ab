"""Atomic, compressed netCDF4 writing and schema-checked reading of ``mixsig-1`` datasets.

netCDF cannot store boolean attributes: :func:`to_netcdf` writes them as int8 and lists their
names in the attribute ``mixsig_bool_attributes`` of the same variable (or of the file), which
:func:`open_dataset` reads back and removes, so that the round trip is exact.
"""

import os

import numpy as np
import xarray as xr

from mixsig.errors import ConfigError, Problem
from mixsig.files import atomic_write
from mixsig.io.schema import BOOL_ATTRIBUTES, CONVENTIONS, check_dataset, dataset_problems, shorten


def _encode_attrs(attrs, source, key, problems):
    """Attributes netCDF can store: bools become int8 and are listed in BOOL_ATTRIBUTES."""
    encoded, booleans = {}, []
    for name, value in attrs.items():
        if isinstance(value, (bool, np.bool_)):
            encoded[name] = np.int8(value)
            booleans.append(name)
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            problems.append(Problem(source, f"{key}attrs.{name}", value, "an integer that fits in 64 bits (int64)"))
        elif isinstance(value, (str, int, float, np.integer, np.floating)) or (
            isinstance(value, np.ndarray) and value.ndim == 1 and value.size > 1 and value.dtype.kind in "iuf"
        ):
            encoded[name] = value
        else:
            expected = "a str, bool, int, float or 1-D numeric array of length > 1"
            problems.append(Problem(source, f"{key}attrs.{name}", shorten(value), expected))
    if BOOL_ATTRIBUTES in attrs:
        reserved = attrs[BOOL_ATTRIBUTES]
        problems.append(Problem(source, f"{key}attrs.{BOOL_ATTRIBUTES}", reserved, "no such (reserved) name"))
    if booleans:
        encoded[BOOL_ATTRIBUTES] = " ".join(booleans)
    return encoded


def _decode_attrs(attrs):
    """Inverse of :func:`_encode_attrs`."""
    for name in str(attrs.pop(BOOL_ATTRIBUTES, "")).split():
        if name in attrs:
            attrs[name] = bool(attrs[name])
    return attrs


def to_netcdf(ds, path, complevel=4):
    """Write ``ds`` to ``path`` atomically, netCDF4 format, zlib-compressed.

    The data are written to a temporary file in the target directory which then replaces
    ``path`` (:func:`os.replace`); on any error the temporary file is removed and an existing
    file at ``path`` is left untouched. Boolean attributes, which netCDF cannot store, are
    written as int8 and restored by :func:`open_dataset`.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset obeying the ``mixsig-1`` schema (checked before writing).
    path : str or os.PathLike
        Target file.
    complevel : int
        zlib compression level, 1 to 9.

    Raises
    ------
    mixsig.errors.ConfigError
        If ``ds`` violates the schema or holds attributes netCDF cannot store.
    """
    path = os.fspath(path)
    problems = dataset_problems(ds, path)
    out = ds.copy(deep=False)
    out.attrs = _encode_attrs(ds.attrs, path, "", problems)
    for name, variable in out.variables.items():
        variable.attrs = _encode_attrs(ds.variables[name].attrs, path, f"{name}.", problems)
    if problems:
        raise ConfigError(problems, "mixsig dataset")
    # No _FillValue: the schema has no missing values, and NaN stays NaN without masking.
    compressed = {"zlib": True, "complevel": complevel, "shuffle": True, "_FillValue": None}
    encoding = {name: dict(compressed) for name in out.variables}
    atomic_write(path, lambda temporary: out.to_netcdf(
        temporary, mode="w", format="NETCDF4", engine="netcdf4", encoding=encoding, unlimited_dims=()))


def open_dataset(path):
    """Open a ``mixsig-1`` netCDF file and check it against the schema.

    Variables are read lazily; the file stays open until the dataset is closed.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    xarray.Dataset
        Equal (values, dtypes and attributes) to the dataset that was written.

    Raises
    ------
    mixsig.errors.ConfigError
        If the file is missing, is not netCDF, is not a ``mixsig-1`` dataset, or breaks the
        schema; the error names the file, the key, the value and what was expected.
    """
    path = os.fspath(path)
    try:
        ds = xr.open_dataset(path, engine="netcdf4", decode_times=False, decode_timedelta=False, mask_and_scale=False)
    except (OSError, ValueError) as error:
        problem = Problem(path, "<file>", f"{type(error).__name__}: {error}", "a readable netCDF4 file")
        raise ConfigError([problem], "mixsig dataset") from error
    conventions = ds.attrs.get("Conventions")
    if conventions != CONVENTIONS:
        ds.close()
        raise ConfigError([Problem(path, "attrs.Conventions", conventions, repr(CONVENTIONS))], "mixsig dataset")
    ds.attrs = _decode_attrs(dict(ds.attrs))
    for variable in ds.variables.values():
        variable.attrs = _decode_attrs(dict(variable.attrs))
    try:
        check_dataset(ds, path)
    except ConfigError:
        ds.close()
        raise
    return ds
