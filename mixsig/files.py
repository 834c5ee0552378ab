"""Atomic file writing: a file is either complete at its final path or not there at all."""

import os
import tempfile


def atomic_write(path, write):
    """Write a file atomically.

    ``write(temporary_path)`` produces the content in a temporary file in the target directory,
    which is flushed to disk and then renamed over ``path`` (:func:`os.replace`). On any error
    the temporary file is removed and an existing file at ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Final path.
    write : callable
        Called with the temporary path (str); writes the whole file there.
    """
    path = os.path.abspath(os.fspath(path))
    directory, base = os.path.split(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{base}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
