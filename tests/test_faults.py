"""Faults (issue 16): existing outputs, signals, a full disk, killed parents, determinism.

Signals, file-size limits and killed parents are exercised on ``python -m mixsig.cli`` in fresh
processes. Every case checks what a user would: the exit status, one line on stderr and no
traceback, no temporary file left, and the previous output byte for byte.
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mixsig
from mixsig import interrupts
from mixsig.cli import main
from mixsig.experiment import default_experiment
from mixsig.files import atomic_write, remove_stale_temporaries
from mixsig.io import open_dataset, to_netcdf

PREVIOUS = b"previous output\n"
QUICK = ["--duration", "0.02", "--instances", "1"]
SETTLE = 180.0
"""Seconds a process gets to finish after a signal (a loaded 2-core machine)."""


def _cli(*args, cwd, preexec=None):
    return subprocess.Popen([sys.executable, "-m", "mixsig.cli", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=preexec)


def _temporaries(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def _cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(condition, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.002)
    pytest.fail(f"timed out waiting for {what}")


def _finish(proc, timeout=SETTLE):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the process hung after the signal")
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    """A small dataset file (one instance, 20 ms)."""
    path = tmp_path_factory.mktemp("shard") / "shard.nc"
    to_netcdf(mixsig.run(default_experiment().replace(duration=0.02, instances=1)), path)
    return path


# -- existing outputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["run", "combine", "plot", "validate"])
def test_existing_output_is_refused_without_force(verb, tmp_path, shard, capsys):
    target = tmp_path / ("out.png" if verb == "plot" else "out.nc")
    args = {
        "run": ["run", *QUICK, "-o", target],
        "combine": ["combine", shard, "-o", target],
        "plot": ["plot", shard, "--prefix", tmp_path / "out"],
        "validate": ["validate", "--report", target, "--dir", tmp_path / "no-scripts"],
    }[verb]
    if verb == "plot":
        target = tmp_path / "out-raster.png"
    target.write_bytes(PREVIOUS)
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and str(target) in err and "Traceback" not in err
    assert target.read_bytes() == PREVIOUS
    assert _temporaries(tmp_path) == []


def test_force_replaces_and_combine_in_place(tmp_path, shard):
    target = tmp_path / "out.nc"
    target.write_bytes(PREVIOUS)
    assert main(["run", *QUICK, "-o", str(target), "--force"]) == 0
    with open_dataset(target) as ds:
        assert ds.sizes["instance"] == 1
    assert main(["combine", str(target), "-o", str(target)]) == 2
    assert main(["combine", str(target), "-o", str(target), "--force"]) == 0
    assert main(["plot", str(target), "--force"]) == 0
    assert main(["plot", str(target)]) == 2  # the PNGs exist now
    assert _temporaries(tmp_path) == []


def test_output_folder_checked_before_simulating(tmp_path, capsys):
    # A 10^4 s run would not finish within the test: refusing it means no simulation was started.
    assert main(["run", "--duration", "1e4", "-o", str(tmp_path / "missing" / "out.nc")]) == 2
    err = capsys.readouterr().err
    assert "writable folder" in err and "missing" in err


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.nc.{dead.pid}.abc123.tmp"
    alive = tmp_path / f".out.nc.{os.getppid()}.def456.tmp"  # a running writer's file stays
    other = tmp_path / f".other.nc.{dead.pid}.abc123.tmp"  # another target's: not ours to judge here
    for path in (stale, alive, other):
        path.write_bytes(b"partial")
    atomic_write(tmp_path / "out.nc", lambda temporary: pathlib.Path(temporary).write_bytes(b"new"))
    assert (tmp_path / "out.nc").read_bytes() == b"new"
    assert not stale.exists() and alive.exists() and other.exists()
    assert remove_stale_temporaries(tmp_path / "other.nc") == [str(other)]


# -- signals ------------------------------------------------------------------------------------


def _check_interrupted(proc, signum, folder, previous):
    status, _, err = _finish(proc)
    assert status == 128 + signum, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [f"mixsig run: interrupted by {signal.Signals(signum).name}"], err
    assert previous.read_bytes() == PREVIOUS
    assert _temporaries(folder) == []


SLOW = pytest.mark.slow


@pytest.mark.parametrize(("signum", "cpu"), [(signal.SIGINT, 4.0), (signal.SIGTERM, 1.0),
                                             pytest.param(signal.SIGINT, 1.0, marks=SLOW),
                                             pytest.param(signal.SIGTERM, 4.0, marks=SLOW)])
def test_signal_during_the_run(signum, cpu, tmp_path):
    """At 1 s of CPU the command is importing the engine; at 4 s it is simulating."""
    previous = tmp_path / "out.nc"
    previous.write_bytes(PREVIOUS)
    proc = _cli("run", "--duration", "1000", "-o", previous, "--force", cwd=tmp_path)
    _wait(lambda: _cpu_seconds(proc.pid) >= cpu or proc.poll() is not None, SETTLE, f"{cpu} s of CPU")
    proc.send_signal(signum)
    _check_interrupted(proc, signum, tmp_path, previous)


def test_signal_inside_the_compiler_is_recorded_and_raised_at_the_next_check(tmp_path):
    """A signal landing in llvmlite's code (numba's cache callbacks, where an exception is printed
    as 'Exception ignored' and dropped) is only recorded: the next check raises it, and a write
    after it leaves the previous file intact."""
    previous = tmp_path / "out.nc"
    previous.write_bytes(PREVIOUS)
    in_llvmlite = compile("handler(signal.SIGINT, sys._getframe())", "/site-packages/llvmlite/binding/executionengine.py",
                          "exec")
    with interrupts.handled():
        exec(in_llvmlite, {"handler": interrupts.handler, "signal": signal, "sys": sys})  # no exception here
        assert interrupts.received() == signal.SIGINT
        with pytest.raises(interrupts.Interrupted):
            atomic_write(previous, lambda temporary: pathlib.Path(temporary).write_bytes(b"new"))
        with pytest.raises(interrupts.Interrupted):
            interrupts.check()
    assert previous.read_bytes() == PREVIOUS and _temporaries(tmp_path) == []
    with interrupts.handled(), pytest.raises(interrupts.Interrupted):  # anywhere else it raises at once
        interrupts.handler(signal.SIGINT, sys._getframe())
    assert interrupts.received() is None


def _big_write_experiment(folder):
    """The shipped default experiment, 0.4 s, recording two traces of all its 256 neurons at every
    step (a ~65 MB dataset, whose write takes seconds)."""
    text = (pathlib.Path(mixsig.__file__).parent / "default_experiment.toml").read_text()
    neurons = ", ".join(str(n) for n in [*range(192), *range(256, 320)])  # populations exc and inh
    for line, new in (("duration = 1.0", "duration = 0.4"), ('traces = ["i_mem", "v_mem", "i_ampa"]', 'traces = ["i_mem", "v_mem"]'),
                      ("neurons = [0, 1, 256]", f"neurons = [{neurons}]"), ("interval = 1.0e-3", "interval = 1.0e-4")):
        assert text.count(line) == 1, line
        text = text.replace(line, new)
    path = folder / "traces.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=SLOW),
                                    pytest.param(signal.SIGKILL, marks=SLOW)])
def test_signal_during_the_write(signum, tmp_path):
    """Held back until the file is written, then: exit 130/143, temporary removed, previous output
    intact. SIGKILL cannot be handled: its temporary is removed by the next write."""
    experiment = _big_write_experiment(tmp_path)
    previous = tmp_path / "out.nc"
    previous.write_bytes(PREVIOUS)
    proc = _cli("run", experiment, "-o", previous, "--force", cwd=tmp_path)
    _wait(lambda: _temporaries(tmp_path) or proc.poll() is not None, 600, "the temporary file")
    assert proc.poll() is None, "the run ended before its write could be interrupted"
    proc.send_signal(signum)
    if signum != signal.SIGKILL:
        _check_interrupted(proc, signum, tmp_path, previous)
        return
    _finish(proc)
    assert previous.read_bytes() == PREVIOUS and len(_temporaries(tmp_path)) == 1
    assert main(["run", *QUICK, "-o", str(previous), "--force"]) == 0
    assert _temporaries(tmp_path) == []


# -- disk full ----------------------------------------------------------------------------------


def _file_size_limit(limit):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize(("verb", "limit"), [("run", 100_000), ("combine", 4096),
                                             pytest.param("run", 4096, marks=SLOW),
                                             pytest.param("combine", 100_000, marks=SLOW)])
def test_full_disk_is_a_clear_error_with_nothing_written(verb, limit, tmp_path, shard):
    previous = tmp_path / "out.nc"
    previous.write_bytes(PREVIOUS)
    args = ["run", *QUICK, "-o", previous, "--force"] if verb == "run" else ["combine", shard, "-o", previous, "--force"]
    status, _, err = _finish(_cli(*args, cwd=tmp_path, preexec=_file_size_limit(limit)))
    assert status == 2, err
    assert "room to write the file" in err and "out.nc" in err and "Traceback" not in err
    assert previous.read_bytes() == PREVIOUS
    assert _temporaries(tmp_path) == []


# -- workers ------------------------------------------------------------------------------------


def _children(pid):
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _gone(pids):
    return all(not pathlib.Path(f"/proc/{pid}").exists() or
               pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" for pid in pids)


def test_workers_die_with_a_killed_parent(tmp_path):
    shards = tmp_path / "shards"
    proc = _cli("run", "--workers", "2", "--duration", "1000", "--shard-dir", shards, "-o", tmp_path / "out.nc",
                cwd=tmp_path)
    workers = []

    def started():
        workers[:] = [pid for pid in _children(proc.pid)
                      if b"spawn_main" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()]
        return len(workers) == 2 and all(_cpu_seconds(pid) > 3.0 for pid in workers)

    _wait(started, SETTLE, "two simulating workers")
    proc.kill()
    proc.wait()
    _wait(lambda: _gone(workers), 60, "the workers to exit")
    assert not (tmp_path / "out.nc").exists()
    assert _temporaries(shards) == [] and list(shards.iterdir()) == []


# -- determinism --------------------------------------------------------------------------------


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return type(a) is type(b) and a == b


def test_identical_runs_give_identical_datasets(tmp_path):
    """Two runs of one experiment file, from two folders in fresh processes: every variable and
    attribute equal (NaN where a link had no traffic, in both), except creation time and command."""
    paths = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "exp.toml").write_text(default_experiment().replace(duration=0.2, instances=2).to_toml())
        status, _, err = _finish(_cli("run", "exp.toml", "-o", "out.nc", cwd=folder))
        assert status == 0, err
        paths.append(folder / "out.nc")
    with open_dataset(paths[0]) as first, open_dataset(paths[1]) as second:
        assert sorted(first.variables) == sorted(second.variables)
        for name in first.variables:
            assert _equal(first[name].values, second[name].values), name
            assert first[name].dims == second[name].dims, name
            assert sorted(first[name].attrs) == sorted(second[name].attrs), name
            for key in first[name].attrs:
                assert _equal(first[name].attrs[key], second[name].attrs[key]), (name, key)
        skipped = {"creation_time", "history", "command"}
        assert sorted(first.attrs) == sorted(second.attrs)
        for key in set(first.attrs) - skipped:
            assert _equal(first.attrs[key], second.attrs[key]), key
        assert str(tmp_path) not in first.attrs["title"]
        assert np.isnan(first["router__link_latency_mean"].values).any()  # links without traffic
    # Shards of one run made from copies of the experiment in two folders combine.
    from mixsig.experiment import load_experiment

    shards = [mixsig.run(load_experiment(tmp_path / name / "exp.toml").replace(duration=0.01), instances=[k])
              for k, name in enumerate("ab")]
    assert mixsig.combine(shards).sizes["instance"] == 2
