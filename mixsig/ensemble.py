"""Ensembles beyond one process: shards of chip instances on process pools or dask clusters.

Chip instances are independent chips (each has its own mismatch, noise and router rows; the input
trains are shared and drawn per stimulus block from the root seed), so a run of instances
``0 .. N-1`` can be split into shards of disjoint instance sets that run anywhere:

1. :func:`shard_instances` splits the instances into contiguous, balanced shards;
2. each shard runs :func:`run_shard` in a worker: ``Simulation(experiment, instances=shard)``,
   whose ``mixsig-1`` dataset comes back to the client through the executor's future (pickled
   in memory: no file system is shared between client and workers), or, with ``shard_dir``
   (``mixsig run --shard-dir DIR``), is written there as a netCDF file (atomic) whose path comes
   back, for ensembles too large for the client's memory;
3. :func:`mixsig.io.combine` (``mixsig combine``) merges the shards into one dataset.

The combined dataset equals the one a single process running every instance produces, bit for
bit, up to the per-file attributes ``creation_time`` and ``history``
(``tests/test_ensemble.py``): every random draw is keyed by instance and purpose through
``numpy.random.SeedSequence`` (docs/developer.md), never by shard.

Executors. By default the shards run on a :class:`concurrent.futures.ProcessPoolExecutor` with
``workers`` processes (spawned, so each worker imports mixsig and loads the numba kernels from the
on-disk cache; a worker uses ``threads`` numba threads, default 1, so that ``workers`` processes
fill ``workers`` cores). Any :class:`concurrent.futures.Executor` can be passed instead. With a
``dask.distributed`` :class:`~distributed.Client` (``client=``; ``mixsig run --scheduler
ADDRESS``; ``scheduler="local"`` starts a :class:`~distributed.LocalCluster` of ``workers``
single-threaded worker processes and prints its dashboard address) each shard is one task
(``client.submit(run_shard, ...)``). One progress bar counts the finished shards.

Scaling to a cluster needs no code change: create the client from any dask deployment, e.g.
``dask_jobqueue.SLURMCluster(...)`` then ``Client(cluster)``, or
``dask_kubernetes.KubeCluster(...)``, or a running scheduler's address (``mixsig run
--scheduler tcp://host:8786``); docs/howto.md has a worked example. The workers must have
mixsig installed (same version); only a ``shard_dir`` needs a file system shared by the workers
and the client. dask is an optional dependency (``pip install "mixsig[dask]"``).
"""

import concurrent.futures
import multiprocessing
import os
import signal
import sys
import tempfile
import threading

import numpy as np

from mixsig.errors import ConfigError, Problem
from mixsig.files import remove_temporaries
from mixsig.progress import counting


SCHEDULER_TIMEOUT = "10s"
"""How long :func:`run_ensemble` waits for a dask scheduler to answer."""


def shard_instances(instances, n_shards):
    """Split instance indices into at most ``n_shards`` contiguous, non-empty shards of balanced size.

    Parameters
    ----------
    instances : int or sequence of int
        Number of instances (``range(instances)``) or the instance indices.
    n_shards : int
        Requested number of shards (>= 1).

    Returns
    -------
    list of ndarray of int64
        Shards in order; their concatenation is the instance list.
    """
    ids = np.arange(instances, dtype=np.int64) if np.isscalar(instances) else np.asarray(instances, dtype=np.int64)
    if int(n_shards) < 1:
        raise ValueError(f"n_shards = {n_shards!r}: expected >= 1")
    count = max(1, min(int(n_shards), ids.size))
    return [part for part in np.array_split(ids, count) if part.size]


def shard_path(directory, index, instances):
    """File of shard ``index`` holding ``instances`` in ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        Shard folder.
    index : int
        Shard number.
    instances : sequence of int
        Instance ids of the shard, increasing (the first and last name the file).

    Returns
    -------
    str
        ``<directory>/shard-<index>-instances-<first>-<last>.nc``.
    """
    return os.path.join(os.fspath(directory), f"shard-{index:04d}-instances-{instances[0]}-{instances[-1]}.nc")


def run_shard(experiment, instances, path=None, command="mixsig.ensemble", threads=1):
    """Simulate one shard of instances (the worker task).

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    instances : sequence of int
        Instance indices of the shard.
    path : str, optional
        netCDF file to write (atomically). Default: return the dataset itself.
    command : str
        Recorded in the dataset's history.
    threads : int or None
        numba threads of the compiled kernel in this worker (None: leave as is).

    Returns
    -------
    xarray.Dataset or str
        The shard's dataset (in memory), or ``path`` when given.
    """
    from mixsig.engine.simulation import run
    from mixsig.io import to_netcdf

    if threads is not None:
        import numba

        from mixsig.engine.kernels import configure_threading

        configure_threading()  # before numba starts its threads
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    ds = run(experiment, instances=np.asarray(instances, dtype=np.int64), progress=False, command=command)
    if path is None:
        return ds
    to_netcdf(ds, path)
    return os.fspath(path)


def _exit_now(status):
    """Remove the files this process is writing and end it at once (no clean-up handlers)."""
    remove_temporaries()
    os._exit(status)


def exit_with_parent():
    """Worker initializer: the worker ends with the process that started it, and on SIGTERM.

    A daemon thread waits on the parent's sentinel (:func:`multiprocessing.parent_process`),
    which closes when the parent exits or is killed (even by ``SIGKILL``); the worker then
    removes the files it is writing (:func:`mixsig.files.remove_temporaries`) and exits, so that
    no orphaned worker goes on simulating. SIGTERM does the same; SIGINT is ignored (``Ctrl-C``
    reaches every process of the terminal: the parent handles it and stops the workers).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _exit_now(128 + signum))
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()
        _exit_now(1)

    threading.Thread(target=watch, name="mixsig-exit-with-parent", daemon=True).start()


def _stop_workers(executor):
    """Cancel the shards not started and terminate the worker processes of ``executor`` now."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)


def _writable_problem(directory):
    """A Problem if ``directory`` cannot be created or written (checked by writing a probe file)."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".mixsig-probe-"):
            pass
    except OSError as error:
        return Problem("<ensemble>", "shard_dir", os.fspath(directory),
                       f"a directory this process can create and write ({error.strerror}); "
                       "on a cluster, one every worker can write too")
    return None


def _check(experiment, workers, shards, scheduler, client, executor, shard_dir):
    problems = []
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 1):
        problems.append(Problem("<ensemble>", "workers", workers, "an integer >= 1"))
    if shards is not None and (not isinstance(shards, (int, np.integer)) or shards < 1):
        problems.append(Problem("<ensemble>", "shards", shards, "an integer >= 1"))
    if sum(x is not None for x in (scheduler, client, executor)) > 1:
        problems.append(Problem("<ensemble>", "scheduler/client/executor", "several", "at most one of them"))
    if experiment.instances < 1:
        problems.append(Problem(experiment.source, "instances", experiment.instances, "an integer >= 1"))
    if shard_dir is not None:
        problem = _writable_problem(shard_dir)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise ConfigError(problems, "ensemble options")


def _check_shard_memory(experiment, instances):
    """Refuse, before any shard starts, shards of ``instances`` instances that would not fit in memory."""
    from mixsig.chip import load_chip
    from mixsig.engine.budget import check_memory

    check_memory(experiment, load_chip(experiment.chip), experiment.build_network(), instances)


def _dask_client(scheduler, workers):
    """A dask.distributed client: a LocalCluster for ``"local"`` (dashboard address printed), else a
    connection to ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError([Problem("<ensemble>", "scheduler", scheduler,
                                   'dask.distributed installed (pip install "mixsig[dask]")')],
                          "ensemble options") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0")
        client = Client(cluster)
        if cluster.dashboard_link:
            print(f"dask dashboard: {cluster.dashboard_link}", file=sys.stderr)
        return client, cluster
    try:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT), None
    except (OSError, ValueError, TypeError) as error:  # unreachable (TimeoutError is an OSError) or malformed
        raise ConfigError([Problem("<command line>", "--scheduler", scheduler,
                                   f"the address of a reachable dask scheduler, tcp://host:port or 'local' "
                                   f"(no scheduler answered within {SCHEDULER_TIMEOUT}: {type(error).__name__})")],
                          "ensemble options") from None


def _gather(futures, completed, show):
    """Results of ``futures`` in submission order, with one progress bar over them."""
    order = {id(future): index for index, future in enumerate(futures)}
    results = [None] * len(futures)
    with counting(len(futures), "shard", "mixsig ensemble", show) as done:
        for future in completed(futures):
            results[order[id(future)]] = future.result()
            done()
    return results


def run_ensemble(experiment, workers=None, shards=None, scheduler=None, client=None, executor=None,
                 shard_dir=None, command="mixsig.ensemble", threads=1, progress=None):
    """Run an experiment's instances in shards on other processes and combine the shards.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    workers : int, optional
        Worker processes of the default process pool, or of the ``"local"`` dask cluster
        (default ``os.cpu_count()``).
    shards : int, optional
        Number of shards (default: the number of workers; with a dask client, the number of
        its workers' threads). At most one shard per instance.
    scheduler : str, optional
        A dask scheduler address (``tcp://host:8786``) or ``"local"`` for a new LocalCluster.
    client : distributed.Client, optional
        A dask client to submit the shards to (not closed here).
    executor : concurrent.futures.Executor, optional
        Any executor to run :func:`run_shard` on (not shut down here).
    shard_dir : str, optional
        Write each shard's dataset to a file in this directory (kept) instead of returning it
        through the future; checked for write access first. On a cluster it must be a directory
        every worker can write and the client can read.
    command : str
        History text of the shards and the combined dataset.
    threads : int or None
        numba threads per shard task (default 1: one core per worker process).
    progress : bool, optional
        One progress bar over the shards (default: on a terminal or in a Jupyter kernel).

    Returns
    -------
    xarray.Dataset
        The combined ``mixsig-1`` dataset, equal to ``mixsig.run(experiment)``'s up to
        ``creation_time`` and ``history``.
    """
    return run_ensembles([experiment], workers, shards, scheduler, client, executor, shard_dir, command, threads,
                         progress)[0]


def run_ensembles(experiments, workers=None, shards=None, scheduler=None, client=None, executor=None,
                  shard_dir=None, command="mixsig.ensemble", threads=1, progress=None):
    """:func:`run_ensemble` of several experiments (the conditions of a sweep) as one batch of
    tasks: every shard of every experiment is submitted at once, under one progress bar.

    Parameters
    ----------
    experiments : sequence of mixsig.experiment.Experiment
        Shard files of experiment ``k`` in ``shard_dir`` are named ``condition-<k>-shard-...``
        when there are several.
    workers, shards, scheduler, client, executor, shard_dir, command, threads, progress
        As in :func:`run_ensemble`; ``shards`` is per experiment.

    Returns
    -------
    list of xarray.Dataset
        The combined dataset of each experiment, in order.
    """
    from mixsig.io import combine

    for experiment in experiments:
        _check(experiment, workers, shards, scheduler, client, executor, shard_dir)
    workers = workers or os.cpu_count() or 1
    owned_client = cluster = owned_executor = None
    try:
        if scheduler is not None:
            client, cluster = _dask_client(scheduler, workers)
            owned_client = client
        if shards is None:
            shards = sum(client.nthreads().values()) if client is not None else workers
        tasks = []  # (experiment index, experiment, instances, path)
        for k, experiment in enumerate(experiments):
            _check_shard_memory(experiment, -(-experiment.instances // shards))
            for i, part in enumerate(shard_instances(experiment.instances, shards)):
                path = None
                if shard_dir is not None:
                    path = shard_path(shard_dir, i, part)
                    if len(experiments) > 1:
                        path = os.path.join(os.path.dirname(path), f"condition-{k:04d}-{os.path.basename(path)}")
                tasks.append((k, experiment, part, path))
        if client is not None:
            from distributed import as_completed

            futures = [client.submit(run_shard, experiment, part, path, command, threads, pure=False)
                       for _, experiment, part, path in tasks]
        else:
            if executor is None:
                context = multiprocessing.get_context("spawn")
                owned_executor = executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=min(workers, len(tasks)), mp_context=context, initializer=exit_with_parent)
            futures = [executor.submit(run_shard, experiment, part, path, command, threads)
                       for _, experiment, part, path in tasks]
            as_completed = concurrent.futures.as_completed
        results = _gather(futures, as_completed, progress)
        combined = []
        for k in range(len(experiments)):
            ds = combine([result for (owner, *_), result in zip(tasks, results) if owner == k], command=command)
            combined.append(ds.load())
        return combined
    except BaseException:
        if owned_executor is not None:  # an error or an interrupt: do not wait for the other shards
            _stop_workers(owned_executor)
            owned_executor = None
        raise
    finally:
        if owned_executor is not None:
            owned_executor.shutdown()
        if owned_client is not None:
            owned_client.close()
        if cluster is not None:
            cluster.close()
