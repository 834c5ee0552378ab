"""Split a cold start's compilation over two processes.

On a fresh install (or after any edit of the package, :mod:`mixsig.kernel_cache`) the first run
compiles every kernel it uses, one after the other, in one process: about 45 CPU-seconds for the
default experiment, while the machine's other core waits. A step loop
(:func:`mixsig.engine.kernels.step_loop`) calls two large, independent trees of kernels: the
neuron kernel (``advance``) and the compiled routing (router event loop, spike expansion,
delivery keys). :func:`mixsig.engine.kernels.compile_step_loop` has a helper process compile the
routing (it goes into numba's on-disk cache) while this process compiles the neuron kernel; the
step loop then loads the routing from the cache instead of compiling it.

Nothing changes when the loop does not route in compiled code, when it is already compiled or
cached (a warm start does not start a helper), when numba cannot cache, or when the helper fails:
this process then compiles what is missing itself. The helper compiles exactly the signature the step loop will ask for, so no
kernel gets a second specialisation (``tests/test_kernel_cache.py``).
"""

import os
import pickle
import subprocess
import sys

import numba
from numba.core import caching

from mixsig.kernel_cache import PACKAGE_DIR, source_hash


def signature(values):
    """numba's argument types of ``values`` (as a call with them would be typed)."""
    return tuple(numba.typeof(value) for value in values)


def cached(dispatcher, sig):
    """Whether ``dispatcher`` has ``sig`` compiled in this process or stored in numba's cache.

    A dispatcher that cannot cache (no writable cache directory) counts as cached: a helper's
    compilation could not reach this process.
    """
    if tuple(sig) in dispatcher.overloads:
        return True
    cache = dispatcher._cache
    if not isinstance(cache, caching.Cache):
        return True
    key = cache._index_key(tuple(sig), dispatcher.targetctx.codegen())
    return key in cache._cache_file._load_index()


def start(dispatcher, sig, callees=False):
    """Start a helper process compiling ``dispatcher`` for ``sig`` into numba's cache.

    Parameters
    ----------
    dispatcher : numba dispatcher
    sig : tuple of numba types
    callees : bool
        Compile only the kernels ``dispatcher`` calls (with the argument types its body gives
        them; :func:`compile_callees`), not ``dispatcher`` itself: for a function inlined into its
        callers (``inline="always"``), which has no compiled code of its own.

    Returns
    -------
    subprocess.Popen or None
        The helper (pass it to :func:`finish`), or None when ``sig`` is cached already (not
        checked with ``callees``: the caller checks its own caller) or the helper could not start.
    """
    if not callees and cached(dispatcher, sig):
        return None
    function = dispatcher.py_func
    request = pickle.dumps((source_hash(), function.__module__, function.__name__, tuple(sig), callees))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(PACKAGE_DIR.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    try:
        helper = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        helper.stdin.write(request)
        helper.stdin.close()
    except OSError:
        return None
    return helper


def compile_callees(dispatcher, sig):
    """Compile every kernel that ``dispatcher``'s body calls, for the argument types it passes them
    when called with ``sig``, without compiling ``dispatcher``: numba's type inference of a call
    compiles (or loads) the callee for the call's argument types, so inferring the body's types
    is enough."""
    from numba.core import compiler, typed_passes

    dispatcher.typingctx.refresh()  # as numba's compiler does before typing (registers the builtins)
    dispatcher.targetctx.refresh()
    interp = compiler.run_frontend(dispatcher.py_func)
    typed_passes.type_inference_stage(dispatcher.typingctx, dispatcher.targetctx, interp, tuple(sig), None)


def finish(helper):
    """Wait for a helper of :func:`start` (None: nothing to wait for); stop it if interrupted."""
    if helper is None:
        return
    try:
        helper.wait()
    except BaseException:
        stop(helper)
        raise


def stop(helper):
    """Stop a helper of :func:`start` without waiting for its work (None: nothing to stop).

    numba replaces cache files atomically, so a helper stopped while saving leaves no partial file.
    """
    if helper is not None:
        helper.kill()
        helper.wait()


def main():
    """Helper process: compile the dispatcher named on stdin (source hash, module, function,
    signature, whether only its callees) if this process runs the same package sources; exit 0 on
    success."""
    import importlib

    expected, module, name, sig, callees = pickle.loads(sys.stdin.buffer.read())
    if source_hash() != expected:
        return 1
    dispatcher = getattr(importlib.import_module(module), name)
    if callees:
        compile_callees(dispatcher, sig)
    else:
        dispatcher.compile(sig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
