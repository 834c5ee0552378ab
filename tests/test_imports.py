"""What a ``mixsig run`` imports: the modules of a run, and not the libraries only other commands
use (each costs every run its import time; ``benchmarks/cold_start.py``)."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import sys
    import mixsig.cli, mixsig.engine.simulation, mixsig.experiment, mixsig.io, mixsig.summary
    print(" ".join(sorted(name for name in ("scipy.sparse", "scipy.integrate", "scipy.optimize", "matplotlib",
                                            "dask", "tqdm") if name in sys.modules)))
""")


def test_a_run_imports_no_plotting_sparse_solver_or_dask():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
