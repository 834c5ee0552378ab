"""User files at the boundary: resolving names and paths, and reading them safely.

Resolution (:func:`resolve`). A chip config or device model is named either by a *shipped name*
(``"dynapse2"``, ``"generic_180nm"``: a file of the ``chip_configs`` / ``device_models``
package) or by a *path*. A bare word that is a shipped name always means the shipped file, so a
file or folder called ``dynapse2`` in the working directory cannot replace or break the shipped
chip. Any other value is a path; a relative path is taken relative to the folder of the file that
refers to it (an experiment's ``chip = "chip.toml"``, a chip's ``device_model = "cal.toml"``,
a calibration's ``tables.file``), or to the working directory when given in code or on the
command line.

Reading (:func:`read_bytes`). Only regular files are read (a device such as ``/dev/zero``, a
FIFO or a folder is refused before any byte is read, and a FIFO is opened without blocking), and
only up to a size limit per kind of file. Errors name the file and never echo its bytes.
"""

import errno
import importlib.resources
import os
import pathlib
import stat

from mixsig.errors import Problem, raise_if_any

MIB = 2**20

MAX_TOML_BYTES = 16 * MIB
"""Largest experiment, chip config or calibration TOML file read, bytes."""

MAX_TABLES_BYTES = 64 * MIB
"""Largest calibration netCDF (empirical tables) file read, bytes."""

MAX_AEDAT_BYTES = 1024 * MIB
"""Largest AEDAT 2.0 recording read, bytes (134 million 8-byte events)."""


def shipped(name, package):
    """The shipped file ``<package>/<name>.toml``, or None when ``name`` is not a shipped name.

    Parameters
    ----------
    name : str
        A bare word such as ``"dynapse2"`` (no folder separator, no ``.toml`` suffix).
    package : str
        ``"chip_configs"`` or ``"device_models"``.

    Returns
    -------
    importlib.resources.abc.Traversable or None
    """
    if not name or "/" in name or os.sep in name or name.endswith(".toml") or name in (".", ".."):
        return None
    resource = importlib.resources.files(package).joinpath(f"{name}.toml")
    return resource if resource.is_file() else None


def shipped_names(package):
    """Sorted shipped names of a package (``chip_configs`` or ``device_models``)."""
    return sorted(entry.name[:-5] for entry in importlib.resources.files(package).iterdir()
                  if entry.name.endswith(".toml"))


def resolve(name_or_path, package, relative_to=None):
    """Where a chip config or device model named ``name_or_path`` is.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A shipped name or a path.
    package : str
        ``"chip_configs"`` or ``"device_models"``.
    relative_to : str or os.PathLike, optional
        Folder of the referring file; a relative path is taken relative to it (default: the
        working directory).

    Returns
    -------
    location : importlib.resources.abc.Traversable or pathlib.Path
        The shipped file, or the path (not checked to exist: :func:`read_bytes` does).
    is_shipped : bool
        Whether ``location`` is a shipped file.
    """
    text = os.fspath(name_or_path)
    resource = shipped(text, package)
    if resource is not None:
        return resource, True
    path = pathlib.Path(text).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = pathlib.Path(relative_to) / path
    return path, False


def referring_folder(source):
    """The folder of a referring file ``source``, or None when ``source`` is no path.

    Parameters
    ----------
    source : str
        A file path, or a description such as ``"<experiment>"``.

    Returns
    -------
    pathlib.Path or None
    """
    if not source or source.startswith("<"):
        return None
    return pathlib.Path(source).parent


def read_bytes(location, what, limit, key="(file)"):
    """The bytes of a regular file of at most ``limit`` bytes.

    Parameters
    ----------
    location : pathlib.Path or importlib.resources.abc.Traversable
        A path, or a shipped resource (read as is).
    what : str
        What the file should be (``"chip config"``), for messages.
    limit : int
        Largest accepted size, bytes.
    key : str
        Key reported in a problem (the file as a whole by default).

    Returns
    -------
    bytes

    Raises
    ------
    mixsig.errors.ConfigError
        Missing or unreadable file, not a regular file (device, FIFO, socket, folder), or larger
        than ``limit``. The message names the file and never shows its content.
    """
    if not isinstance(location, pathlib.Path):  # a shipped resource inside an archive
        return location.read_bytes()
    source = str(location)
    try:
        handle = os.open(location, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        expected = f"a readable {what} file ({error.strerror})"
        if error.errno == errno.ENOENT:
            expected = f"an existing {what} file"
        raise_if_any([Problem(source, key, None, expected)], what)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise_if_any([Problem(source, key, _kind(info.st_mode),
                                  f"a regular {what} file (not a device, FIFO, socket or folder)")], what)
        if info.st_size > limit:
            raise_if_any([Problem(source, key, f"{info.st_size} bytes", f"a {what} file of at most {limit} bytes")], what)
        with os.fdopen(os.dup(handle), "rb") as stream:
            data = stream.read(limit + 1)
    finally:
        os.close(handle)
    if len(data) > limit:
        raise_if_any([Problem(source, key, f"more than {limit} bytes", f"a {what} file of at most {limit} bytes")], what)
    return data


def check_regular(path, what, key="(file)"):
    """Refuse a path that is not an existing regular file, without opening it (a FIFO would block).

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file should be (``"mixsig dataset"``), for messages.
    key : str
        Key reported in a problem.

    Raises
    ------
    mixsig.errors.ConfigError
        Missing, not accessible, or a device, FIFO, socket or folder.
    """
    source = os.fspath(path)
    try:
        mode = os.stat(source).st_mode
    except OSError as error:
        expected = f"an existing {what} file" if error.errno == errno.ENOENT else f"a readable {what} file ({error.strerror})"
        raise_if_any([Problem(source, key, None, expected)], what)
    if not stat.S_ISREG(mode):
        raise_if_any([Problem(source, key, _kind(mode), f"a regular {what} file (not a device, FIFO, socket or folder)")],
                     what)


def read_text(location, what, limit=MAX_TOML_BYTES):
    """The UTF-8 text of a regular file (see :func:`read_bytes`); invalid UTF-8 is a ConfigError.

    Returns
    -------
    str
    """
    data = read_bytes(location, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise_if_any([Problem(str(location), "(encoding)", f"byte offset {error.start}",
                              f"a UTF-8 text {what} file")], what)


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"
