"""Atomic, compressed, checksummed netCDF4 writing and schema-checked reading of ``mixsig-1`` datasets.

Only this module decides the on-disk encoding (docs/dataset.md, "netCDF files"):

* every numeric variable is zlib-compressed (shuffle) and carries an HDF5 ``fletcher32``
  checksum per chunk, so a corrupted chunk fails to read instead of giving other numbers;
* chunks follow the ``instance`` dim (one instance per chunk) and hold at most
  :data:`CHUNK_ELEMENTS` values (:data:`SPIKE_CHUNK` spikes on the ragged ``spike`` dim), so
  ``xarray.open_dataset(path, chunks={"instance": 1})`` reads one instance without
  decompressing the others;
* attributes are stored as they are: the dataset holds no booleans (they are 0/1 integers), so
  ``mixsig.open_dataset``, ``xarray.open_dataset`` and ``Dataset.to_netcdf`` round-trip it in
  any mix;
* the sha256 of the file's bytes is appended after the HDF5 data (a 48-byte trailer that
  HDF5, netCDF and xarray ignore). :func:`open_dataset` (without ``chunks``) and
  :func:`load_dataset` check it before the HDF5 library reads anything: this catches what chunk
  checksums cannot (damaged attributes or metadata, a damaged chunk index that makes a chunk read
  as fill values) and damage that would crash the HDF5 library. Files rewritten by other tools
  have no trailer and are read unchecked.

Errors of the netCDF/HDF5 libraries while opening or reading (truncated or damaged files,
checksum failures) become :class:`mixsig.errors.ConfigError` naming the file.
"""

import contextlib
import errno
import hashlib
import os

import numpy as np
import xarray as xr
from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK

from mixsig.errors import ConfigError, Problem
from mixsig.files import atomic_write
from mixsig.io import lazy_dask
from mixsig.io.schema import CF_ROLE, CONVENTIONS, LEGACY_CONVENTIONS, SPIKE_ARRAYS, check_dataset, dataset_problems, shorten
from mixsig.paths import check_regular

CHUNK_ELEMENTS = 2**18
"""Most values in one on-disk chunk (2 MiB of float64)."""

SPIKE_CHUNK = 2**16
"""Spikes per on-disk chunk of the ragged spike arrays."""

READ_ERRORS = (OSError, RuntimeError, ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeDecodeError)
"""What the netCDF4 / HDF5 / xarray stack raises on a file it cannot read."""


def _attribute_problems(attrs, source, key):
    """Attributes netCDF cannot store faithfully, as problems."""
    problems = []
    for name, value in attrs.items():
        if isinstance(value, (bool, np.bool_)):
            problems.append(Problem(source, f"{key}attrs.{name}", value, "0 or 1 (netCDF has no boolean), or a string"))
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            problems.append(Problem(source, f"{key}attrs.{name}", value, "an integer that fits in 64 bits (int64)"))
        elif not (isinstance(value, (str, int, float, np.integer, np.floating)) or (
            isinstance(value, np.ndarray) and value.ndim == 1 and value.size > 1 and value.dtype.kind in "iuf"
        )):
            expected = "a str, int, float or 1-D numeric array of length > 1"
            problems.append(Problem(source, f"{key}attrs.{name}", shorten(value), expected))
    return problems


def chunk_sizes(dims, shape):
    """On-disk chunk shape of a variable: one instance per chunk, bounded size.

    Parameters
    ----------
    dims : tuple of str
    shape : tuple of int

    Returns
    -------
    tuple of int or None
        None when a dim is empty (the library chooses).
    """
    if 0 in shape:
        return None
    chunks = [1 if dim == "instance" else min(size, SPIKE_CHUNK) if dim == "spike" else size
              for dim, size in zip(dims, shape)]
    for axis in reversed(range(len(chunks))):  # shrink the fastest-varying dims first
        others = int(np.prod(chunks)) // chunks[axis]
        chunks[axis] = max(1, min(chunks[axis], CHUNK_ELEMENTS // others))
    return tuple(chunks)


def _encoding(variable, complevel):
    """Compression, checksum and chunks of one variable (numeric, at least 1-D) or none."""
    if variable.ndim == 0 or variable.dtype.kind not in "iuf":
        return {}
    encoding = {"zlib": True, "complevel": complevel, "shuffle": True, "fletcher32": True, "_FillValue": None}
    chunks = chunk_sizes(variable.dims, variable.shape)
    return {**encoding, "chunksizes": chunks} if chunks else encoding


def to_netcdf(ds, path, complevel=4):
    """Write ``ds`` to ``path`` atomically, netCDF4 format, compressed and checksummed.

    The data are written to a temporary file in the target directory which then replaces
    ``path`` (:func:`os.replace`); on any error the temporary file is removed and an existing
    file at ``path`` is left untouched. Variables and coordinates beyond the schema (derived
    quantities) are written too.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset obeying the ``mixsig-1`` schema (checked before writing; lazily loaded
        datasets are checked without reading every spike).
    path : str or os.PathLike
        Target file.
    complevel : int
        zlib compression level, 1 to 9.

    Raises
    ------
    mixsig.errors.ConfigError
        If ``ds`` violates the schema or holds attributes netCDF cannot store (booleans among
        them: store 0/1 or a string).
    OSError
        If the file cannot be written (a full disk, a file-size limit); nothing is left behind.
    """
    path = os.fspath(path)
    problems = dataset_problems(ds, path, spikes=not _is_lazy(ds))
    problems += _attribute_problems(ds.attrs, path, "")
    for name, variable in ds.variables.items():
        problems += _attribute_problems(variable.attrs, path, f"{name}.")
    if problems:
        raise ConfigError(problems, "mixsig dataset")
    out = ds.copy(deep=False)
    for variable in out.variables.values():
        variable.encoding = {}  # chunks and filters are decided here, not inherited from a source file
    # No _FillValue: the schema has no missing values, and NaN stays NaN without masking.
    encoding = {name: _encoding(variable, complevel) for name, variable in out.variables.items()}
    atomic_write(path, lambda temporary: _write(out, temporary, encoding))


TRAILER_MAGIC = b"mixsig-sha256-v1"
"""Marks the trailer :func:`to_netcdf` appends: this magic, then the 32-byte sha256 of every byte before it."""

_TRAILER = len(TRAILER_MAGIC) + 32


def _write(out, temporary, encoding):
    """Write ``out`` to ``temporary`` and append the sha256 trailer of the bytes written."""
    try:
        if any(variable.chunks is not None for variable in out.variables.values()):
            out.to_netcdf(temporary, mode="w", format="NETCDF4", engine="netcdf4", encoding=encoding, unlimited_dims=())
        else:
            _store(out, temporary, encoding)
    except RuntimeError as error:  # how the netCDF library reports a failed write (a full disk, ...)
        raise OSError(errno.EIO, f"{error} (disk full, file-size limit or I/O error)", temporary) from error
    with open(temporary, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").digest()
    with open(temporary, "ab") as stream:  # HDF5 ignores bytes past its end-of-file address
        stream.write(TRAILER_MAGIC + digest)


def _store(out, temporary, encoding):
    """Write ``out``, held in memory, through xarray's netCDF4 store as ``to_netcdf`` does.

    ``Dataset.to_netcdf`` first asks dask which scheduler would write chunked arrays (to choose
    its file lock), and that question imports ``dask.distributed`` whenever dask is installed:
    0.25 s of CPU, about 6 % of a warm ``mixsig run``, for a dataset with no dask array in it.
    The store here takes the lock ``to_netcdf`` takes for the netCDF4 library itself.
    """
    store = xr.backends.NetCDF4DataStore.open(temporary, mode="w", format="NETCDF4", lock=NETCDF4_PYTHON_LOCK)
    try:
        out.dump_to_store(store, encoding=encoding, unlimited_dims=())
    finally:
        store.close()


def verify_file(path):
    """Check a file against the sha256 trailer :func:`to_netcdf` appended, before HDF5 reads it.

    A damaged HDF5 file can crash the HDF5 library itself (not only raise errors), so the
    bytes are checked first. Files without the trailer (written by other tools, or cut short)
    are left to the library's own checks.

    Parameters
    ----------
    path : str

    Returns
    -------
    bool
        True if the file has a trailer and matches it, False if it has none.

    Raises
    ------
    mixsig.errors.ConfigError
        If the file does not match its trailer, or cannot be read.
    """
    try:
        with open(path, "rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            if size < _TRAILER:
                return False
            stream.seek(size - _TRAILER)
            trailer = stream.read(_TRAILER)
            if not trailer.startswith(TRAILER_MAGIC):
                return False
            stream.seek(0)
            digest, remaining = hashlib.sha256(), size - _TRAILER
            while remaining:
                block = stream.read(min(remaining, 2**22))
                digest.update(block)
                remaining -= len(block)
    except OSError as error:
        raise ConfigError([_read_problem(path, error)], "mixsig dataset") from error
    if digest.digest() != trailer[len(TRAILER_MAGIC):]:
        problem = Problem(path, "<file>", "bytes differ from the sha256 stored when it was written",
                          "the file mixsig.io.to_netcdf wrote (this one is damaged)")
        raise ConfigError([problem], "mixsig dataset")
    return True


def _is_lazy(ds):
    """Whether the spike arrays are dask arrays (not yet read)."""
    return any(getattr(ds[name].variable, "chunks", None) is not None for name in SPIKE_ARRAYS if name in ds)


def _read_problem(path, error):
    return Problem(path, "<file>", f"{type(error).__name__}: {error}", "a readable, undamaged netCDF4 file")


def _upgrade(ds):
    """A dataset of a file written before CF (``Conventions = "mixsig-1"``) in today's form."""
    flags = ds.attrs.pop("mixsig_bool_attributes", "")
    for name in str(flags).split():
        ds.attrs[name] = np.int8(ds.attrs[name])
    for variable in ds.variables.values():
        for name in str(variable.attrs.pop("mixsig_bool_attributes", "")).split():
            variable.attrs[name] = np.int8(variable.attrs[name])
    ds["spike_count"] = ds["spike_count"].astype(np.int32)
    for name, role in CF_ROLE.items():
        ds[name].attrs["cf_role"] = role
    ds.attrs.update(Conventions=CONVENTIONS, featureType="timeSeries")
    return ds


def open_dataset(path, chunks=None):
    """Open a ``mixsig-1`` netCDF file and check it against the schema.

    Parameters
    ----------
    path : str or os.PathLike
    chunks : dict or "auto", optional
        dask chunks, as :func:`xarray.open_dataset` takes them (e.g. ``{"instance": 1}``). Then
        nothing but the coordinates and ``spike_count`` is read here: the schema check verifies
        that the counts add up and leaves the spikes on disk (their chunks are checksummed by
        HDF5, the file's sha256 trailer is not checked). Without chunks the file is first
        checked against its sha256 trailer (:func:`verify_file`) and the schema check reads
        every spike; the variables stay on disk until used.

    Returns
    -------
    xarray.Dataset
        Equal (values, dtypes and attributes) to the dataset that was written. The file stays
        open until the dataset is closed (use it as a context manager).

    Raises
    ------
    mixsig.errors.ConfigError
        If the file is missing, is not netCDF, is damaged, is not a ``mixsig-1`` dataset, or
        breaks the schema; the error names the file, the key, the value and what was expected.
    """
    path = os.fspath(path)
    check_regular(path, "mixsig dataset", key="<file>")  # before any open: a FIFO would block
    if chunks is None:
        verify_file(path)
        lazy_dask.defer()  # numpy arrays: xarray need not import dask.array to see that
    try:
        ds = xr.open_dataset(path, engine="netcdf4", chunks=chunks, decode_times=False, decode_timedelta=False)
    except READ_ERRORS as error:
        raise ConfigError([_read_problem(path, error)], "mixsig dataset") from error
    try:
        conventions = ds.attrs.get("Conventions")
        if conventions == LEGACY_CONVENTIONS and "spike_count" in ds:
            ds = _upgrade(ds)
        elif conventions != CONVENTIONS:
            raise ConfigError([Problem(path, "attrs.Conventions", conventions, repr(CONVENTIONS))], "mixsig dataset")
        check_dataset(ds, path, spikes=chunks is None)
    except READ_ERRORS + (ConfigError,) as error:
        ds.close()
        if isinstance(error, ConfigError):
            raise
        raise ConfigError([_read_problem(path, error)], "mixsig dataset") from error
    return ds


def load_dataset(path):
    """Read a whole ``mixsig-1`` file into memory, checked, and close it.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    mixsig.errors.ConfigError
        As :func:`open_dataset`; also when a chunk fails its checksum while being read, or the
        file differs from the sha256 :func:`to_netcdf` appended (a damaged file).
    """
    path = os.fspath(path)
    with contextlib.closing(open_dataset(path)) as ds:
        try:
            return ds.load()
        except READ_ERRORS as error:
            raise ConfigError([_read_problem(path, error)], "mixsig dataset") from error
