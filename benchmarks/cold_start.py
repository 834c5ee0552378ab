"""Cold and warm start of ``mixsig run`` (the default experiment), each in a fresh process.

Figures: ``cold_start.wall_s`` and ``cold_start.cpu_s``, the first run with an empty numba cache
(``NUMBA_CACHE_DIR`` a new folder: every kernel the run uses is compiled, as on a fresh install);
``warm_start.wall_s`` and ``warm_start.cpu_s``, the same command again (kernels loaded from that
cache); ``cold_start.compile_s``, their difference in CPU time (what compiling costs); and the
baseline measured in the same run, ``import_s``, the wall time of a process that only imports
``mixsig.cli`` (the interpreter and library start every run pays).

As after ``pip install`` (which compiles every module's bytecode), the package's bytecode is
compiled first (``compileall``) and the runs may write bytecode (``PYTHONDONTWRITEBYTECODE``
unset): without ``.pyc`` files a run compiles its 67 modules' sources again, 0.3 CPU-s.
"""

import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _timed(args, env, cwd):
    """Run ``args``; its (wall, CPU) time in s (CPU: user + system of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run():
    with tempfile.TemporaryDirectory(prefix="mixsig-cold-") as scratch:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(scratch, "numba"),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mixsig")], env=env, check=True,
                       capture_output=True)
        command = [sys.executable, "-m", "mixsig.cli", "run", "-o", "run.nc", "--force"]
        import_wall, _ = _timed([sys.executable, "-c", "import mixsig.cli"], env, scratch)
        cold_wall, cold_cpu = _timed(command, env, scratch)
        warm_wall, warm_cpu = _timed(command, env, scratch)
    return {
        "cold_start.wall_s": cold_wall, "cold_start.cpu_s": cold_cpu, "cold_start.compile_s": cold_cpu - warm_cpu,
        "warm_start.wall_s": warm_wall, "warm_start.cpu_s": warm_cpu, "import_s": import_wall,
    }
