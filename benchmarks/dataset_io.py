"""Reading a large ``mixsig-1`` file: whole, and one instance lazily (issue 17).

A synthetic dataset of 32 instances x 1024 neurons, 2**21 spikes and a float64 trace of 16
neurons x 10 000 samples per instance (about 60 MB on disk) is written with
:func:`mixsig.io.to_netcdf`. Timed in the same run: :func:`mixsig.io.load_dataset` of the whole
file (sha256 trailer check, schema check, every value read), the trailer check alone, and one
instance read lazily (``open_dataset(path, chunks={"instance": 1})`` then
:func:`mixsig.select` and ``load``), whose ratio to the whole read shows that the other instances'
chunks are not decompressed. ``python -m benchmarks dataset_io`` (about a minute).
"""

import os
import tempfile
import time

import numpy as np

import mixsig
from mixsig import io
from mixsig.io.netcdf import verify_file

INSTANCES, NEURONS, SPIKES, RECORDED, SAMPLES = 32, 1024, 2**21, 16, 10_000


def _dataset():
    rng = np.random.default_rng(0)
    provenance = {"experiment_toml": "", "chip_toml": "", "calibration_file": "none",
                  "calibration_sha256": "0" * 64, "seed": 0, "dt": 1e-4, "duration": 1.0}
    trace = rng.normal(1e-9, 1e-10, (INSTANCES, RECORDED, SAMPLES))
    return io.build_dataset(
        instances=np.arange(INSTANCES), seeds=np.arange(INSTANCES), neurons=np.arange(NEURONS),
        cores=np.arange(NEURONS) // 256, chips=np.zeros(NEURONS, dtype=int),
        spike_times=rng.uniform(0, 1, SPIKES), spike_neurons=rng.integers(0, NEURONS, SPIKES),
        spike_instances=rng.integers(0, INSTANCES, SPIKES), provenance=provenance,
        traces={"i_mem": (trace, {"units": "A", "long_name": "membrane current"})},
        recorded_neurons=np.arange(RECORDED), trace_times=np.arange(SAMPLES) * 1e-4)


def _best(call, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def run():
    """Figures: file size, whole-file read, trailer check, one lazy instance, and their ratio."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.nc")
        start = time.perf_counter()
        io.to_netcdf(_dataset(), path)
        write = time.perf_counter() - start

        def one_instance():
            with io.open_dataset(path, chunks={"instance": 1}) as ds:
                return mixsig.select(ds, instance=7).load()

        whole = _best(lambda: io.load_dataset(path))
        trailer = _best(lambda: verify_file(path))
        lazy = _best(one_instance)
        return {
            "dataset_io.file_mb": os.path.getsize(path) / 1e6,
            "dataset_io.write_s": write,
            "dataset_io.load_whole_s": whole,
            "dataset_io.sha256_trailer_check_s": trailer,
            "dataset_io.lazy_one_instance_s": lazy,
            "dataset_io.whole_over_one_instance": whole / lazy,
        }
