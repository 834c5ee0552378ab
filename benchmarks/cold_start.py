"""Cold and warm start of ``mixsig run`` (the default experiment), each in a fresh process.

Figures: ``cold_start.wall_s`` and ``cold_start.cpu_s``, the first run with an empty numba cache
(``NUMBA_CACHE_DIR`` a new folder: every kernel the run uses is compiled, as on a fresh install);
``warm_start.wall_s`` and ``warm_start.cpu_s``, the same command again (kernels loaded from that
cache); ``cold_start.compile_s``, their difference in CPU time (what compiling costs); and the
baseline measured in the same run, ``import_s``, the wall time of a process that only imports
``mixsig.cli`` (the interpreter and library start every run pays).

Where a cold start's time goes (the run's own process timing itself; the compile helper of
:mod:`mixsig.engine.precompile` is its only child): ``cold_start.helper_cpu_s``, the helper's CPU
time; ``cold_start.engine_cpu_s``, the run's own process (the critical path: the helper compiles
beside it); of that, ``cold_start.engine_kernel_cpu_s`` (the neuron kernel, compiled while the
helper runs), ``cold_start.engine_loop_cpu_s`` (the step loop, after the helper) and
``cold_start.engine_other_compile_cpu_s`` (every other compilation in that process), each the CPU
time of numba's outermost ``numba:compile`` events; ``cold_start.engine_wait_s``, the wall time it
waited for the helper. ``warm_start.imports_cpu_s``: the warm run's CPU time until ``mixsig.cli``
and the modules a run imports are imported.

As after ``pip install`` (which compiles every module's bytecode), the package's bytecode is
compiled first (``compileall``) and the runs may write bytecode (``PYTHONDONTWRITEBYTECODE``
unset): without ``.pyc`` files a run compiles its 67 modules' sources again, 0.3 CPU-s.
"""

import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, resource, sys, time
import mixsig.cli, mixsig.engine.simulation, mixsig.io, mixsig.summary
imports = time.process_time()
from numba.core import event
from mixsig.engine import precompile
from mixsig.engine.kernels import STEP_LOOPS
from mixsig.engine.protocol import KERNELS, MODEL_KERNELS

neuron_kernels = {f for k in (*KERNELS.values(), *MODEL_KERNELS.values()) for f in (k.advance, k.advance_serial)}
compiles, open_events, waited = {}, [], [0.0]

class Outermost(event.Listener):
    def on_start(self, ev):
        open_events.append(time.process_time())

    def on_end(self, ev):
        start = open_events.pop()
        if not open_events:
            dispatcher = ev.data["dispatcher"]
            kind = ("kernel" if dispatcher in neuron_kernels else "loop" if dispatcher in STEP_LOOPS.values()
                    else "other")
            compiles[kind] = compiles.get(kind, 0.0) + time.process_time() - start

finish = precompile.finish
def timed_finish(helper):
    start = time.perf_counter()
    try:
        finish(helper)
    finally:
        waited[0] += time.perf_counter() - start
precompile.finish = timed_finish
event.register("numba:compile", Outermost())
code = mixsig.cli.main(["run", "-o", "run.nc", "--force"])
own = resource.getrusage(resource.RUSAGE_SELF)
helper = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"imports": imports, "engine": own.ru_utime + own.ru_stime, "helper": helper.ru_utime + helper.ru_stime,
                  "compiles": compiles, "waited": waited[0]}))
sys.exit(code)
"""


def _timed(args, env, cwd):
    """Run ``args``; its (wall, CPU, stdout) (CPU: user + system of the child and its children, s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def run():
    with tempfile.TemporaryDirectory(prefix="mixsig-cold-") as scratch:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(scratch, "numba"),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mixsig")], env=env, check=True,
                       capture_output=True)
        command = [sys.executable, "-c", _CHILD]
        import_wall, _, _ = _timed([sys.executable, "-c", "import mixsig.cli"], env, scratch)
        cold_wall, cold_cpu, cold_out = _timed(command, env, scratch)
        warm_wall, warm_cpu, warm_out = _timed(command, env, scratch)
    cold, warm = (json.loads(out.strip().splitlines()[-1]) for out in (cold_out, warm_out))
    return {
        "cold_start.wall_s": cold_wall, "cold_start.cpu_s": cold_cpu, "cold_start.compile_s": cold_cpu - warm_cpu,
        "cold_start.engine_cpu_s": cold["engine"], "cold_start.helper_cpu_s": cold["helper"],
        "cold_start.engine_kernel_cpu_s": cold["compiles"].get("kernel", 0.0),
        "cold_start.engine_loop_cpu_s": cold["compiles"].get("loop", 0.0),
        "cold_start.engine_other_compile_cpu_s": cold["compiles"].get("other", 0.0),
        "cold_start.engine_wait_s": cold["waited"],
        "warm_start.wall_s": warm_wall, "warm_start.cpu_s": warm_cpu, "warm_start.imports_cpu_s": warm["imports"],
        "import_s": import_wall,
    }
