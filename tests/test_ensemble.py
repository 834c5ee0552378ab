"""Ensembles: sharding, process pools and dask clusters give the single-process dataset bit for bit."""

import concurrent.futures
import os
import subprocess
import sys
import time
import tempfile

import numpy as np
import pytest
import xarray as xr

from mixsig.cli import main
from mixsig.engine.groups import instance_groups
from mixsig.engine.simulation import run
from mixsig.ensemble import run_ensemble, run_shard, shard_instances
from mixsig.errors import ConfigError
from mixsig.experiment import Experiment, Record
from mixsig.io import combine, open_dataset

PER_FILE = ("creation_time", "history")

NETWORK = {
    "populations": {"a": {"size": 12, "core": 0}, "b": {"size": 6, "core": 1}},
    "inputs": {"in": {"size": 8, "kind": "poisson", "rate": 80.0}},
    "connections": [
        {"pre": "in", "post": "a", "rule": "probability", "p": 0.5, "syn_type": "ampa", "weight_mask": 8},
        {"pre": "a", "post": "b", "rule": "probability", "p": 0.4, "syn_type": "ampa", "weight_mask": 4},
        {"pre": "b", "post": "a", "rule": "probability", "p": 0.5, "syn_type": "gaba", "weight_mask": 4},
    ],
}
WEIGHTS = ((None, "synapse.i_w_2", 50e-9), (None, "synapse.i_w_3", 100e-9))
# Shot noise and drift on (generic calibration), traces and router statistics recorded.
EXPERIMENT = Experiment(
    duration=0.06, instances=5, seed=4, biases=WEIGHTS, network=NETWORK,
    record=Record(traces=("i_mem", "i_ampa"), neurons=(0, 256), interval=1e-3),
)


def _strip(ds):
    out = ds.copy()
    for key in PER_FILE:
        out.attrs.pop(key, None)
    return out


@pytest.fixture(scope="module")
def single():
    ds = run(EXPERIMENT, progress=False)
    assert ds["spike_count"].values.sum() > 50  # an active network, or the comparison means little
    return ds


def test_shards_partition_the_instances_in_order():
    parts = shard_instances(10, 3)
    assert [p.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [p.tolist() for p in shard_instances([7, 3], 5)] == [[7], [3]]
    assert sum(p.size for p in shard_instances(64, 7)) == 64
    with pytest.raises(ValueError):
        shard_instances(4, 0)


def test_process_pool_ensemble_equals_the_single_process_run(single, tmp_path):
    combined = run_ensemble(EXPERIMENT, workers=2, shards=3, shard_dir=tmp_path)
    xr.testing.assert_identical(_strip(combined), _strip(single))
    files = sorted(tmp_path.glob("shard-*.nc"))
    assert len(files) == 3  # each shard wrote its own file, kept in the given directory
    with open_dataset(files[1]) as shard:
        assert shard["instance"].values.tolist() == [2, 3]
    # The kept shard files combine (mixsig combine) into the same dataset again.
    xr.testing.assert_identical(_strip(combine(files)), _strip(single))


def test_any_executor_can_run_the_shards_and_they_come_back_in_memory(single, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # nothing may be written anywhere by default
    tempfile.tempdir = None
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
            combined = run_ensemble(EXPERIMENT, shards=2, executor=executor, threads=None, progress=True)
    finally:
        tempfile.tempdir = None
    xr.testing.assert_identical(_strip(combined), _strip(single))
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_shard_dir_is_reported_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as error:
        run_ensemble(EXPERIMENT, executor=object(), shard_dir=blocker / "shards")
    assert "shard_dir" in str(error.value) and "writ" in str(error.value)
    assert main(["run", "--instances", "2", "--duration", "0.01", "--shard-dir", str(blocker / "x"),
                 "-o", str(tmp_path / "o.nc")]) == 2
    assert not (tmp_path / "o.nc").exists()


def test_instances_run_in_groups_give_the_single_simulation_dataset(single):
    # 18 neurons per instance, groups of at most 36: instances [0, 1], [2, 3], [4], each simulated alone.
    assert [g.tolist() for g in instance_groups(np.arange(5), 18, 36)] == [[0, 1], [2, 3], [4]]
    grouped = run(EXPERIMENT, progress=False, group_neurons=36)
    xr.testing.assert_identical(_strip(grouped), _strip(single))
    assert grouped.attrs["history"].count("\n") == single.attrs["history"].count("\n")  # one run, not a combination


def test_a_shard_file_is_the_subset_run(single, tmp_path):
    path = run_shard(EXPERIMENT, [1, 4], str(tmp_path / "s.nc"), threads=None)
    with open_dataset(path) as shard:
        expected = single.isel(instance=[1, 4])
        np.testing.assert_array_equal(shard["spike_count"].values, expected["spike_count"].values)
        np.testing.assert_array_equal(shard["i_mem"].values, expected["i_mem"].values)


def test_bad_options_are_reported_together():
    with pytest.raises(ConfigError) as error:
        run_ensemble(EXPERIMENT, workers=0, shards=-1, scheduler="local", executor=object())
    message = str(error.value)
    for fragment in ("workers", "shards", "at most one"):
        assert fragment in message


def test_cli_workers_option_writes_the_combined_dataset(tmp_path, capsys):
    experiment = tmp_path / "exp.toml"
    experiment.write_text(
        'duration = 0.04\ninstances = 3\nseed = 2\n[populations.p]\nsize = 3\ncore = 0\n'
        '[[dc]]\npopulation = "p"\namplitude = 2e-9\n'
    )
    one, many = tmp_path / "one.nc", tmp_path / "many.nc"
    assert main(["run", str(experiment), "-o", str(one)]) == 0
    assert main(["run", str(experiment), "-o", str(many), "--workers", "2"]) == 0
    assert str(many) in capsys.readouterr().out
    with open_dataset(one) as a, open_dataset(many) as b:
        assert b.sizes["instance"] == 3 and b.sizes["spike"] > 0
        for name in ("spike_time", "spike_neuron", "spike_instance", "spike_count", "soma__i_tau"):
            np.testing.assert_array_equal(a[name].values, b[name].values)
    assert main(["run", str(experiment), "-o", str(tmp_path / "none.nc"), "--workers", "0"]) == 2
    assert "workers" in capsys.readouterr().err


def test_dask_local_cluster_end_to_end(single, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        combined = run_ensemble(EXPERIMENT, client=client, shard_dir=tmp_path)
        assert len(list(tmp_path.glob("shard-*.nc"))) == 2  # one shard per worker thread
    xr.testing.assert_identical(_strip(combined), _strip(single))


def test_cli_scheduler_local_starts_a_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    experiment = tmp_path / "exp.toml"
    experiment.write_text(
        'duration = 0.02\ninstances = 2\ndevice_model = "none"\n[populations.p]\nsize = 2\ncore = 0\n'
        '[[dc]]\npopulation = "p"\namplitude = 2e-9\n'
    )
    one, many = tmp_path / "one.nc", tmp_path / "many.nc"
    assert main(["run", str(experiment), "-o", str(one)]) == 0
    assert main(["run", str(experiment), "-o", str(many), "--scheduler", "local", "--workers", "2"]) == 0
    assert "dask dashboard: http://127.0.0.1:" in capsys.readouterr().err
    with open_dataset(one) as a, open_dataset(many) as b:
        assert a["spike_time"].size > 0
        np.testing.assert_array_equal(a["spike_time"].values, b["spike_time"].values)
        np.testing.assert_array_equal(a["spike_instance"].values, b["spike_instance"].values)


def _start(command, env, log):
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_real_scheduler_and_two_worker_processes_without_a_shared_tmp(single, tmp_path):
    """A ``dask scheduler`` and two ``dask worker`` processes on loopback, each with its own TMPDIR:
    the shards come back through dask, the combined dataset equals the one-process run."""
    distributed = pytest.importorskip("distributed")
    scheduler_file = tmp_path / "scheduler.json"
    processes, logs = [], []
    try:
        log = open(tmp_path / "scheduler.log", "w")
        logs.append(log)
        processes.append(_start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                 "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                os.environ.copy(), log))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            assert processes[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.2)
        for index in range(2):
            folder = tmp_path / f"worker{index}"
            folder.mkdir()
            env = dict(os.environ, TMPDIR=str(folder))  # not the client's temporary directory
            log = open(tmp_path / f"worker{index}.log", "w")
            logs.append(log)
            processes.append(_start([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                     str(scheduler_file), "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                     "--local-directory", str(folder), "--host", "127.0.0.1"], env, log))
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            assert len({info["local_directory"] for info in client.scheduler_info()["workers"].values()}) == 2
            combined = run_ensemble(EXPERIMENT, client=client, shards=3)
    finally:
        for process in processes[::-1]:
            process.terminate()
        for process in processes[::-1]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
    xr.testing.assert_identical(_strip(combined), _strip(single))
