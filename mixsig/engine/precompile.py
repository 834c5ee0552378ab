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
from numba.core import caching, compiler, compiler_machinery, typed_passes

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


def start(dispatcher, sig, callees=False, also=()):
    """Start a helper process compiling ``dispatcher`` for ``sig`` into numba's cache.

    Parameters
    ----------
    dispatcher : numba dispatcher
    sig : tuple of numba types
    callees : bool
        Compile only the kernels ``dispatcher`` calls (with the argument types its body gives
        them; :func:`compile_callees`), not ``dispatcher`` itself: for a function inlined into its
        callers (``inline="always"``), which has no compiled code of its own, or a typing
        stand-in of a caller that this process compiles itself.
    also : sequence of (numba dispatcher, tuple of numba types)
        Kernels the helper compiles afterwards, each for its signature, unless cached already.

    Returns
    -------
    subprocess.Popen or None
        The helper (pass it to :func:`finish`), or None when nothing is left to compile (``sig``
        cached already, not checked with ``callees``: the caller checks its own caller) or the
        helper could not start.
    """
    jobs = [] if not callees and cached(dispatcher, sig) else [(dispatcher, tuple(sig), callees)]
    jobs += [(kernel, tuple(types), False) for kernel, types in also if not cached(kernel, types)]
    if not jobs:
        return None
    request = pickle.dumps((source_hash(), [(kernel.py_func.__module__, kernel.__name__, types, only_callees)
                                            for kernel, types, only_callees in jobs]))
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


class _TypeOnly(compiler.CompilerBase):
    """numba's pipeline up to type inference: the untyped passes (including the inlining of
    ``inline="always"`` callees) and typing, which compiles (or loads) every callee; no lowering."""

    def define_pipelines(self):
        pm = compiler.DefaultPassBuilder.define_untyped_pipeline(self.state)
        pm.add_pass(typed_passes.NopythonTypeInference, "nopython frontend")
        pm.add_pass(_Stop, "stop after typing")
        pm.finalize()
        return [pm]


@compiler_machinery.register_pass(mutates_CFG=False, analysis_only=True)
class _Stop(compiler_machinery.FunctionPass):
    _name = "mixsig_stop_after_typing"

    def __init__(self):
        compiler_machinery.FunctionPass.__init__(self)

    def run_pass(self, state):
        raise compiler._EarlyPipelineCompletion(True)


def compile_callees(dispatcher, sig):
    """Compile every kernel that ``dispatcher``'s body calls, for the argument types it passes them
    when called with ``sig``, without compiling ``dispatcher``: numba's type inference of a call
    compiles (or loads) the callee for the call's argument types, so typing the body is enough.
    The body is typed as numba's compiler types it, after inlining its ``inline="always"`` callees
    (whose own callees are compiled, not they)."""
    flags = compiler.Flags()
    dispatcher.targetdescr.options.parse_as_flags(flags, dispatcher.targetoptions)
    compiler.compile_extra(dispatcher.typingctx, dispatcher.targetctx, dispatcher.py_func, args=tuple(sig),
                           return_type=None, flags=flags, locals=dispatcher.locals, pipeline_class=_TypeOnly)


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
    """Helper process: compile the kernels named on stdin (source hash, then module, function,
    signature and whether only its callees, per kernel) if this process runs the same package
    sources; exit 0 on success."""
    import importlib

    expected, jobs = pickle.loads(sys.stdin.buffer.read())
    if source_hash() != expected:
        return 1
    for module, name, sig, callees in jobs:
        dispatcher = getattr(importlib.import_module(module), name)
        if callees:
            compile_callees(dispatcher, sig)
        else:
            dispatcher.compile(sig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
