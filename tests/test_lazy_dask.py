"""Datasets of numpy arrays are built, written and read without importing dask; dask arrays
are still recognised once it is imported (``mixsig.io.lazy_dask``)."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("dask.array")

PROBE = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from test_io import synthetic_inputs
    import mixsig.io as mio
    ds = mio.build_dataset(**synthetic_inputs())
    mio.to_netcdf(ds, "run.nc")
    back = mio.load_dataset("run.nc")
    print("dask.array" in sys.modules, "dask" in sys.modules)
    import dask.array as da
    import xarray as xr
    lazy = xr.Dataset({{"b": ("x", da.zeros(4, chunks=2))}})
    print(dict(lazy.chunks), type(lazy.b.data).__module__)
    print(dict(mio.open_dataset("run.nc", chunks={{"instance": 1}}).chunks)["instance"])
""")


def test_numpy_datasets_leave_dask_array_unimported_and_dask_arrays_still_work(tmp_path):
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, "-c", PROBE.format(tests=tests)], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    imported, chunks, instance_chunks = proc.stdout.strip().splitlines()
    assert imported == "False False"  # neither dask.array nor dask.base (xarray's collection test)
    assert chunks == "{'x': (2, 2)} dask.array.core"
    assert set(eval(instance_chunks)) == {1}


def test_dask_collection_check_answers_as_dask_does():
    import dask.array as da
    import xarray as xr
    from dask.base import is_dask_collection

    from mixsig.io.lazy_dask import deferred_collection_check

    check = deferred_collection_check(is_dask_collection)
    lazy = xr.Dataset({"b": ("x", da.zeros(4, chunks=2))})
    for obj in (da.zeros(3), lazy, lazy.b, xr.Dataset({"a": ("x", [1.0])}), [1, 2], type(lazy), None):
        assert check(obj) == is_dask_collection(obj)
    assert check(lazy) and not check(xr.Dataset({"a": ("x", [1.0])}))
