"""Output files: atomic writes, output checks before work starts, interruption and stale temporaries.

A file is either complete at its final path or not there at all:

* :func:`atomic_write` writes into a temporary file beside the target, named
  ``.<name>.<pid>.<random>.tmp``, then renames it over the target. An error, ``Ctrl-C`` or
  ``SIGTERM`` removes the temporary file and leaves a previous file untouched. While the writer
  runs, SIGINT and SIGTERM are held back (:func:`signals_held`) and delivered once it returns:
  an interrupt inside the netCDF library would leave xarray's file lock held, and the clean-up
  would then wait for that lock forever.
* Temporaries of processes that no longer exist (killed with ``SIGKILL``, or by a power cut) are
  removed by the next write to the same target (:func:`remove_stale_temporaries`); the process
  id in the name tells them from those of a writer still running.
* :func:`output_problems` checks, before any work, that a target does not exist yet (unless it
  may be replaced) and that its folder is writable.
"""

import contextlib
import os
import re
import signal
import tempfile
import threading

from mixsig import interrupts
from mixsig.errors import Problem

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals held back during a write (:func:`signals_held`)."""

_in_progress = set()
"""Temporary files being written by this process (removed by :func:`remove_temporaries`)."""


def _temporary_pattern(base):
    return re.compile(rf"\.{re.escape(base)}\.(\d+)\.[^.]+\.tmp")


def _alive(pid):
    """Whether a process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temporaries(path):
    """Remove the temporaries of :func:`atomic_write` for ``path`` left by processes that are gone.

    Parameters
    ----------
    path : str or os.PathLike
        Final path of the file.

    Returns
    -------
    list of str
        Files removed.
    """
    directory, base = os.path.split(os.path.abspath(os.fspath(path)))
    pattern, removed = _temporary_pattern(base), []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            try:
                os.remove(os.path.join(directory, name))
                removed.append(os.path.join(directory, name))
            except OSError:
                pass
    return removed


def remove_temporaries():
    """Remove every temporary file this process is writing (for a worker that must exit at once)."""
    for temporary in list(_in_progress):
        with contextlib.suppress(OSError):
            os.remove(temporary)
        _in_progress.discard(temporary)


@contextlib.contextmanager
def signals_held(signals=HELD_SIGNALS):
    """Hold SIGINT and SIGTERM back inside the block; deliver the first one received when it ends.

    Only in the main thread (elsewhere, and for a signal whose handler is ``SIG_IGN``, this does
    nothing). The handlers in place before are restored, then the held signal is raised again
    (:func:`signal.raise_signal`), so it takes its usual effect: ``KeyboardInterrupt``, the CLI's
    exit, or the default action.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {}
    for signum in signals:
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN and handler is not None:
            previous[signum] = signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


def atomic_write(path, write):
    """Write a file atomically.

    ``write(temporary_path)`` produces the content in a temporary file in the target directory,
    which is flushed to disk and then renamed over ``path`` (:func:`os.replace`). On any error
    or interruption the temporary file is removed and an existing file at ``path`` is left
    untouched. SIGINT and SIGTERM received during ``write`` take effect when it returns
    (:func:`signals_held`); stale temporaries of ``path`` from dead processes are removed first.
    An :class:`OSError` of the writer (a full disk: ``ENOSPC``; a file-size limit: ``EFBIG``) is
    raised again with ``path`` as its file name.

    Parameters
    ----------
    path : str or os.PathLike
        Final path.
    write : callable
        Called with the temporary path (str); writes the whole file there.
    """
    path = os.path.abspath(os.fspath(path))
    directory, base = os.path.split(path)
    remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{base}.{os.getpid()}.", suffix=".tmp")
    os.close(handle)
    _in_progress.add(temporary)
    try:
        with signals_held():
            write(temporary)
            with open(temporary, "rb") as stream:
                os.fsync(stream.fileno())
        interrupts.check()  # a signal recorded before the write and not raised: the previous file stays
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        if isinstance(error, OSError) and error.errno is not None and error.filename in (None, temporary):
            raise OSError(error.errno, error.strerror, path) from error  # name the file the user asked for
        raise
    finally:
        _in_progress.discard(temporary)


def output_problems(path, force=False, source="<command line>", key="--output"):
    """Problems that would stop writing ``path``, found before any work is done.

    Parameters
    ----------
    path : str or os.PathLike
        File to be written.
    force : bool
        Whether an existing file may be replaced.
    source, key : str
        Where the path came from, for the :class:`~mixsig.errors.Problem`.

    Returns
    -------
    list of Problem
        Empty when ``path`` can be written: its folder exists and is writable (checked by
        creating and removing a file there), and no file is there yet unless ``force``.
    """
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        return [Problem(source, key, path, "a file name, not a folder")]
    if os.path.lexists(path) and not force:
        return [Problem(source, key, path, "a file that does not exist yet (--force replaces it)")]
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                                         suffix=".tmp"):
            pass
    except OSError as error:
        return [Problem(source, key, path, f"a file in a writable folder ({error.strerror}: {directory})")]
    return []
