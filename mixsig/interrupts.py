"""SIGINT and SIGTERM as an exception that clean-up code sees, and that cannot get lost.

The ``mixsig`` command installs :func:`handler` for both signals (:func:`handled`). It records the
signal and raises :class:`Interrupted` in the main thread, so that ``finally`` blocks and
:func:`mixsig.files.atomic_write` remove what they were writing. Python runs a signal handler
wherever the main thread happens to be, and inside the numba dispatcher (which converts the
arguments of a compiled call) the exception can be swallowed or turned into a ``SystemError``:
the record is what counts (and inside the compiler's ctypes callbacks the handler only records).
Long loops call :func:`check`, which raises the recorded signal again,
and the command's exit status is decided from :func:`received`, whatever the exception became.
"""

import contextlib
import pathlib
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that interrupt a command."""

_received = []


class Interrupted(BaseException):
    """SIGINT or SIGTERM received (``signum``)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def handler(signum, frame):
    """Signal handler: record ``signum`` and raise :class:`Interrupted`.

    Not raised when the signal lands in llvmlite's code (``frame``): there the main thread runs a
    ctypes callback of the compiler (numba saving a freshly compiled kernel to its cache), where
    an exception is printed as "Exception ignored ..." with a traceback and then dropped. The
    record stays, and the next :func:`check` raises it once the compiler hands back.
    """
    _received.append(signum)
    if frame is not None and "llvmlite" in pathlib.PurePath(frame.f_code.co_filename).parts:
        return
    raise Interrupted(signum)


def received():
    """The first interrupting signal received while :func:`handled` was active, or None."""
    return _received[0] if _received else None


def check():
    """Raise :class:`Interrupted` again if a signal was received (for loops that run compiled code)."""
    if _received:
        raise Interrupted(_received[0])


@contextlib.contextmanager
def handled(ignore=()):
    """Install :func:`handler` for :data:`SIGNALS` (and ``SIG_IGN`` for ``ignore``) in the block.

    Only in the main thread (elsewhere nothing changes). The previous handlers are restored and
    the record cleared when the block ends.
    """
    wanted = {signum: handler for signum in SIGNALS}
    wanted.update({signum: signal.SIG_IGN for signum in ignore})
    previous = {}
    try:
        for signum, new in wanted.items():
            previous[signum] = signal.signal(signum, new)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        _received.clear()
