"""Where a cold start's CPU time goes: numba's compilation of each kernel of ``mixsig run``.

One ``mixsig run`` of the default experiment in a fresh process with an empty numba cache and the
two-process compile helper off (:mod:`mixsig.engine.precompile`), so that every kernel the run uses
is compiled in that process. numba announces each compilation as a ``numba:compile`` event
(:mod:`numba.core.event`); a caller's event encloses those of the callees it compiles first while
typing its body, so each kernel's *own* CPU time is its event's span minus its callees' spans: its
typing, lowering and LLVM optimisation, including the re-optimisation of every callee's code
linked into it (numba optimises a caller's module with its callees' code in it).

Figures: ``compile_profile.total_cpu_s`` (the process), ``compile_profile.compile_cpu_s`` (all
compilation), ``compile_profile.kernels`` (compiled dispatcher-signature pairs) and, for each kernel
costing at least 0.1 CPU-s, ``compile_profile.<module>.<function>_cpu_s`` (own time, summed over
its signatures), largest first.
"""

import json
import os
import subprocess
import sys
import tempfile

from benchmarks.cold_start import ROOT

_CHILD = r"""
import json, sys, time
from numba.core import event
import mixsig.engine.precompile as precompile

precompile.start = lambda dispatcher, sig, **options: None  # every kernel compiled in this process
stack, own = [], {}

class Profile(event.Listener):
    def on_start(self, ev):
        stack.append([time.process_time(), 0.0])

    def on_end(self, ev):
        start, inner = stack.pop()
        span = time.process_time() - start
        if stack:
            stack[-1][1] += span
        function = ev.data["dispatcher"].py_func
        name = f"{function.__module__}.{function.__name__}"
        own[name] = own.get(name, 0.0) + span - inner
        own.setdefault("#", 0)
        own["#"] += 1

event.register("numba:compile", Profile())
from mixsig.cli import main
code = main(["run", "-o", "run.nc", "--force"])
print(json.dumps({"own": own, "total": time.process_time()}))
sys.exit(code)
"""


def profile():
    """Own compile CPU time of each kernel, s (``{"module.function": s}``), its count and the process's CPU time."""
    with tempfile.TemporaryDirectory(prefix="mixsig-compile-") as scratch:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(scratch, "numba"),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, cwd=scratch, check=True,
                             capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    own = result["own"]
    count = own.pop("#", 0)
    return own, count, result["total"]


def run():
    own, count, total = profile()
    figures = {"compile_profile.total_cpu_s": total, "compile_profile.compile_cpu_s": sum(own.values()),
               "compile_profile.kernels": count}
    for name, seconds in sorted(own.items(), key=lambda item: -item[1]):
        if seconds >= 0.1:
            figures[f"compile_profile.{name.removeprefix('mixsig.')}_cpu_s"] = seconds
    return figures
