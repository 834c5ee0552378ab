"""Ensembles beyond one process: shards of chip instances on process pools or dask clusters.

Chip instances are independent chips (each has its own mismatch, noise and router rows; the input
trains are shared and drawn per stimulus block from the root seed), so a run of instances
``0 .. N-1`` can be split into shards of disjoint instance sets that run anywhere:

1. :func:`shard_instances` splits the instances into contiguous, balanced shards;
2. each shard runs :func:`run_shard` in a worker: ``Simulation(experiment, instances=shard)``,
   then writes its own ``mixsig-1`` netCDF file (:func:`mixsig.io.to_netcdf`, atomic);
3. :func:`mixsig.io.combine` (``mixsig combine``) merges the shard files into one dataset.

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
single-threaded worker processes) each shard is one task (``client.submit(run_shard, ...)``).

Scaling to a cluster needs no code change: create the client from any dask deployment, e.g.
``dask_jobqueue.SLURMCluster(...)`` then ``Client(cluster)``, or
``dask_kubernetes.KubeCluster(...)``, or a running scheduler's address (``mixsig run
--scheduler tcp://host:8786``). The workers must have mixsig installed (same version) and the
shard directory must be a path every worker can write and the client can read (a shared file
system); dask is an optional dependency (``pip install "dask[distributed]"``).
"""

import concurrent.futures
import multiprocessing
import os
import shutil
import tempfile

import numpy as np

from mixsig.errors import ConfigError, Problem


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


def run_shard(experiment, instances, path, command="mixsig.ensemble", threads=1):
    """Simulate one shard of instances and write its dataset to ``path`` (the worker task).

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    instances : sequence of int
        Instance indices of the shard.
    path : str
        netCDF file to write (atomically).
    command : str
        Recorded in the dataset's history.
    threads : int or None
        numba threads of the compiled kernel in this worker (None: leave as is).

    Returns
    -------
    str
        ``path``.
    """
    from mixsig.engine.simulation import run
    from mixsig.io import to_netcdf

    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    ds = run(experiment, instances=np.asarray(instances, dtype=np.int64), progress=False, command=command)
    to_netcdf(ds, path)
    return os.fspath(path)


def _check(experiment, workers, shards, scheduler, client, executor):
    problems = []
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 1):
        problems.append(Problem("<ensemble>", "workers", workers, "an integer >= 1"))
    if shards is not None and (not isinstance(shards, (int, np.integer)) or shards < 1):
        problems.append(Problem("<ensemble>", "shards", shards, "an integer >= 1"))
    if sum(x is not None for x in (scheduler, client, executor)) > 1:
        problems.append(Problem("<ensemble>", "scheduler/client/executor", "several", "at most one of them"))
    if experiment.instances < 1:
        problems.append(Problem(experiment.source, "instances", experiment.instances, "an integer >= 1"))
    if problems:
        raise ConfigError(problems, "ensemble options")


def _dask_client(scheduler, workers):
    """A dask.distributed client: a LocalCluster for ``"local"``, else a connection to ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError([Problem("<ensemble>", "scheduler", scheduler,
                                   'dask.distributed installed (pip install "dask[distributed]")')],
                          "ensemble options") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    return Client(scheduler), None


def run_ensemble(experiment, workers=None, shards=None, scheduler=None, client=None, executor=None,
                 directory=None, command="mixsig.ensemble", threads=1):
    """Run an experiment's instances in shards on other processes and combine the shard files.

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
    directory : str, optional
        Where the shard files are written and kept (a shared file system for a cluster).
        Default: a temporary directory, removed after combining.
    command : str
        History text of the shards and the combined dataset.
    threads : int or None
        numba threads per shard task (default 1: one core per worker process).

    Returns
    -------
    xarray.Dataset
        The combined ``mixsig-1`` dataset, equal to ``mixsig.run(experiment)``'s up to
        ``creation_time`` and ``history``.
    """
    from mixsig.io import combine

    _check(experiment, workers, shards, scheduler, client, executor)
    workers = workers or os.cpu_count() or 1
    owned_client = cluster = None
    if scheduler is not None:
        client, cluster = _dask_client(scheduler, workers)
        owned_client = client
    if shards is None:
        shards = sum(client.nthreads().values()) if client is not None else workers
    parts = shard_instances(experiment.instances, shards)
    folder = tempfile.mkdtemp(prefix="mixsig-shards-") if directory is None else os.fspath(directory)
    os.makedirs(folder, exist_ok=True)
    paths = [shard_path(folder, i, part) for i, part in enumerate(parts)]
    owned_executor = None
    try:
        if client is not None:
            futures = [client.submit(run_shard, experiment, part, path, command, threads, pure=False)
                       for part, path in zip(parts, paths)]
            done = client.gather(futures)
        else:
            if executor is None:
                context = multiprocessing.get_context("spawn")
                owned_executor = executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=min(workers, len(parts)), mp_context=context)
            futures = [executor.submit(run_shard, experiment, part, path, command, threads)
                       for part, path in zip(parts, paths)]
            done = [future.result() for future in futures]
        combined = combine(done, command=command)
        combined.load()
        return combined
    finally:
        if owned_executor is not None:
            owned_executor.shutdown()
        if owned_client is not None:
            owned_client.close()
        if cluster is not None:
            cluster.close()
        if directory is None:
            shutil.rmtree(folder, ignore_errors=True)
