"""Compiled kernels: one specialisation each, no crash from the on-disk cache, no stale code.

Each scenario runs in fresh Python processes (``tests/kernel_probe.py``) with its own numba cache
directory, because what failed was a fresh process loading what an earlier one had cached
(issue 16): a single nominal instance (``device_model = "none"``, ``instances = 1``) made a second,
read-only specialisation of the step loop that segfaulted when a later process loaded it, and an
edit of a callee (``circuits/dpi.py``) left the caller's cached machine code running the old
physics.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import mixsig
from mixsig.engine.kernels import kernel_array

PROBE = pathlib.Path(__file__).with_name("kernel_probe.py")
PACKAGE = pathlib.Path(mixsig.__file__).resolve().parent

GENERIC = {"mixsig.aer.events.unsorted": 2, "mixsig.engine.kernels.extend_pulses": 2}
"""Dispatchers generic by design, with their number of specialisations: the sortedness check
serves event times (float64) and SRAM source ids (int64); the pulse extension takes its DPI
state layout as a compile-time constant of each kernel's step loop (one per layout)."""


def _probe(args, cache_dir, pythonpath=None):
    """Run ``kernel_probe.py args`` in a fresh process with numba cache ``cache_dir``; its JSON output."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, str(PROBE), *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"kernel_probe {args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_kernel_array_copies_read_only_and_broadcast_views_only():
    weights = np.arange(6.0)
    view = np.broadcast_to(weights, (1, 6))  # a single instance's weight table: read-only, C-contiguous
    out = kernel_array(view)
    assert out.flags.writeable and out.flags.c_contiguous and out.dtype == np.float64
    assert not np.shares_memory(out, weights)
    ready = np.zeros((3, 4))
    assert kernel_array(ready) is ready
    assert kernel_array(np.arange(3), np.int64).dtype == np.int64
    assert kernel_array(np.zeros((4, 3)).T).flags.c_contiguous


def test_one_specialisation_per_kernel_and_the_crash_sequence(tmp_path):
    """Every representative run compiles each kernel once; fresh nominal single-instance runs
    then load the populated cache and finish (they segfaulted, issue 16)."""
    from kernel_probe import RUNS

    cache = tmp_path / "numba-cache"
    first = _probe(sorted(RUNS), cache)
    many = {name: count for name, count in first["signatures"].items() if count > GENERIC.get(name, 1)}
    assert not many, f"kernels compiled more than once: {many}"
    # one step loop per kernel function used (the runs use every one but the exact serial kernel),
    # and a kernel no run used is not compiled
    loops = {name for name in first["signatures"] if name.startswith("mixsig.engine.kernels.run_steps_")}
    assert loops == {"mixsig.engine.kernels.run_steps_fast_advance", "mixsig.engine.kernels.run_steps_fast_advance_serial",
                     "mixsig.engine.kernels.run_steps_kernels_advance_neurons"}, loops
    assert first["signatures"]["mixsig.engine.kernels.advance_neurons_serial"] == 0
    assert set(first["locators"].values()) == {"PackageSourceLocator"}, first["locators"]
    assert first["spikes"]["nominal"] > 0 and first["spikes"]["mismatch"] > 0
    for runs in (["nominal_parallel"], ["nominal"], ["nominal", "mismatch"]):
        later = _probe(runs, cache)
        assert later["spikes"] == {name: first["spikes"][name] for name in runs}


def test_editing_a_callee_invalidates_the_cached_caller(tmp_path):
    """Edit ``circuits/dpi.py`` (called by ``engine/kernels.py``) in a copy of the package: the
    cached kernels must give the edited physics, as a fresh cache does."""
    root = tmp_path / "copy"
    shutil.copytree(PACKAGE, root / "mixsig", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "numba-cache"
    before = _probe(["dpi"], cache, pythonpath=root)["i_syn"]
    dpi = root / "mixsig" / "circuits" / "dpi.py"
    line = "    tau = c * u_t / (kappa * i_tau)\n"
    source = dpi.read_text()
    assert line in source
    dpi.write_text(source.replace(line, "    tau = 2.0 * c * u_t / (kappa * i_tau)\n", 1))
    after = _probe(["dpi"], cache, pythonpath=root)["i_syn"]
    fresh = _probe(["dpi"], tmp_path / "fresh-cache", pythonpath=root)["i_syn"]
    assert after == fresh
    assert after != pytest.approx(before, rel=1e-3, abs=0.0)


_SAVER = """
import sys, time
from numba.core import caching
import mixsig.kernel_cache as kc
folder, start, worker, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cache_file = kc._numba_class("IndexDataCacheFile")(folder, "kernel", kc.source_hash())
while time.time() < start:
    pass
for i in range(count):
    cache_file.save((worker, i), f"code of {worker}/{i}")
"""


def test_concurrent_saves_into_one_cache_folder_keep_every_signature_with_its_own_code(tmp_path):
    # numba's save reads the index, takes the first free code-file number and writes both back;
    # unlocked, processes saving different signatures at once lose index entries or leave one
    # signature's index entry naming another's code (a segfault when loaded). Six processes start
    # saving 40 signatures each at the same instant into one package cache folder.
    from mixsig.kernel_cache import _numba_class, source_hash

    folder = tmp_path / "numba-concurrent"
    folder.mkdir()
    workers, count = 6, 40
    start = __import__("time").time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", _SAVER, str(folder), str(start), str(w), str(count)])
             for w in range(workers)]
    assert [proc.wait(timeout=120) for proc in procs] == [0] * workers
    cache_file = _numba_class("IndexDataCacheFile")(str(folder), "kernel", source_hash())
    loaded = {(w, i): cache_file.load((w, i)) for w in range(workers) for i in range(count)}
    assert loaded == {(w, i): f"code of {w}/{i}" for w in range(workers) for i in range(count)}


LOAD_PROBE = """
import json, sys
import numpy as np
from mixsig.engine.kernels import delivery_keys
ints = np.array([0, 3, 5, 6], dtype=np.int64)
keys, owner = delivery_keys(ints, ints % 4, ints % 3, 2, 4, 16)
print(json.dumps([keys.tolist(), owner.tolist(), sum(delivery_keys.stats.cache_hits.values()),
                  "numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules]))
"""


def test_loading_a_cached_kernel_skips_the_compiler_registries(tmp_path):
    # kernel_cache._light_load: a process that only loads cached package kernels does not import
    # numba's compiler implementations (numba.np.arraymath imports scipy.linalg: 0.4-0.6 CPU-s of
    # every warm start); the loaded code runs as compiled.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))

    def probe():
        proc = subprocess.run([sys.executable, "-c", LOAD_PROBE], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    dst = [0, 3, 5, 6]  # chips of 2 per instance, 4 cores, 16 tags
    expected = [[((d % 2) * 4 + d % 4) * 16 + d % 3 for d in dst], [d // 2 for d in dst]]
    assert probe() == expected + [0, True, True]  # compiled: numba refreshes its context first
    assert probe() == expected + [1, False, False]  # loaded from the cache


HELPER_PROBE = """
import numba, numpy as np
from mixsig.aer.events import unsorted
from mixsig.engine import precompile
sig = (numba.typeof(np.zeros(3, dtype=np.int32)),)
before = precompile.cached(unsorted, sig)
helper = precompile.start(unsorted, sig)
precompile.finish(helper)
print(before, helper.returncode, precompile.cached(unsorted, sig), precompile.start(unsorted, sig) is None,
      sig in [tuple(s) for s in unsorted.signatures])
"""


def test_cold_start_helper_compiles_into_the_cache_this_process_reads(tmp_path):
    """A helper process (mixsig.engine.precompile) compiles a signature into numba's cache; this
    process then finds it cached (and starts no second helper) without having compiled it."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    proc = subprocess.run([sys.executable, "-c", HELPER_PROBE], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "0", "True", "True", "False"]


CALLEES_PROBE = """
import numba, numpy as np
from mixsig.aer.events import expand_spikes, stable_argsort, unsorted
from mixsig.engine import precompile
i, f = np.zeros(3, dtype=np.int64), np.zeros(3)
sig = precompile.signature((f, i, i, i, i, i, i, 4, 256))
before = precompile.cached(stable_argsort, precompile.signature((f,)))
helper = precompile.start(expand_spikes, sig, callees=True)
precompile.finish(helper)
print(before, helper.returncode, precompile.cached(stable_argsort, precompile.signature((f,))),
      precompile.cached(unsorted, precompile.signature((f,))), precompile.cached(expand_spikes, sig),
      stable_argsort.signatures == [])
"""


def test_cold_start_helper_compiles_the_callees_of_an_inlined_function(tmp_path):
    """With ``callees=True`` the helper compiles (into the cache) the kernels a function calls, with
    the types its body gives them, and not the function itself (the step loop inlines
    ``_record_and_route``)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    proc = subprocess.run([sys.executable, "-c", CALLEES_PROBE], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "0", "True", "True", "False", "True"]


STAND_IN_KERNELS = """
import numba

@numba.njit(cache=True)
def leaf(x):
    return x + 1

@numba.njit(cache=True, inline="always")
def middle(x):
    return leaf(x) * 2

@numba.njit
def stand_in(x):
    return middle(x) + 1

@numba.njit(cache=True)
def other(x):
    return x - 1
"""

STAND_IN_PROBE = """
import numba
from mixsig.engine import precompile
import stand_in_kernels as k
sig = (numba.int64,)
helper = precompile.start(k.stand_in, sig, callees=True, also=[(k.other, sig)])
precompile.finish(helper)
print(helper.returncode, precompile.cached(k.leaf, sig), precompile.cached(k.middle, sig),
      precompile.cached(k.other, sig), k.leaf.signatures == k.other.signatures == k.stand_in.signatures == [])
"""


def test_cold_start_helper_types_a_stand_in_as_numba_compiles_it_and_compiles_further_kernels(tmp_path):
    """``callees=True`` types the body after numba's inlining of ``inline="always"`` callees (the
    step loop's stand-in inlines ``_record_and_route``): their callees are compiled, not they;
    ``also`` adds kernels compiled afterwards (the noise kernel). Nothing is compiled here."""
    (tmp_path / "stand_in_kernels.py").write_text(STAND_IN_KERNELS)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
               PYTHONPATH=os.pathsep.join([str(tmp_path)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run([sys.executable, "-c", STAND_IN_PROBE], env=env, cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "True", "False", "True", "True"]
