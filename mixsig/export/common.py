"""What every exporter reads from a ``mixsig-1`` dataset: spike trains per (instance, neuron), the
run's provenance, the chip geometry, and the optional libraries of the ``[interop]`` extra.
"""

import dataclasses
import datetime
import importlib
import tomllib

import numpy as np

from mixsig.errors import ConfigError, Problem, is_int
from mixsig.io.accessor import select, time_window
from mixsig.io.schema import POPULATION, population_names

EXTRA = "interop"
"""The extra of ``setup.cfg`` that installs neo, pynwb, tonic and nir."""

SOURCE = "<dataset>"


def require(module):
    """Import an optional library of the ``[interop]`` extra, or fail naming the extra.

    Parameters
    ----------
    module : str
        Top-level module name (``"neo"``, ``"pynwb"``, ``"tonic"``).

    Returns
    -------
    module

    Raises
    ------
    mixsig.errors.ConfigError
        If the library is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ConfigError([Problem("<environment>", f"python package {module}", f"not importable ({error})",
                                   f'the [{EXTRA}] extra: pip install "mixsig[{EXTRA}]"')], "export") from None


@dataclasses.dataclass(frozen=True)
class Trains:
    """The spike trains of a dataset, one per (instance, neuron) pair in C order.

    Attributes
    ----------
    instance, neuron, core, chip : ndarray of int64, shape (pair,)
        Instance id, neuron id, core and chip of each pair.
    population : ndarray of str, shape (pair,)
        Population name of each pair's neuron ("" without a ``population`` coordinate).
    count : ndarray of int64, shape (pair,)
        Spikes of each pair.
    time : ndarray of float64, shape (spike,)
        Spike times, s, the dataset's ``spike_time`` (pair ``k``'s spikes are
        ``time[offset[k] : offset[k] + count[k]]``, increasing).
    seed : dict of int to int
        Seed of each instance id.
    start, stop : float
        Time window of the run, s.
    """

    instance: np.ndarray
    neuron: np.ndarray
    core: np.ndarray
    chip: np.ndarray
    population: np.ndarray
    count: np.ndarray
    time: np.ndarray
    seed: dict
    start: float
    stop: float

    @property
    def offset(self):
        """Index of each pair's first spike in :attr:`time`, shape (pair,)."""
        return np.cumsum(self.count) - self.count

    def of(self, pair):
        """Spike times of pair ``pair``, s."""
        first = int(self.offset[pair])
        return self.time[first:first + int(self.count[pair])]


def instance_ids(ds, instance):
    """The instance ids an exporter takes, checked.

    Parameters
    ----------
    ds : xarray.Dataset
    instance : int, sequence of int or None
        None: every instance of the dataset.

    Returns
    -------
    list of int

    Raises
    ------
    mixsig.errors.ConfigError
        For a sweep dataset (``condition`` dim) or ids the dataset does not hold.
    """
    if "condition" in ds.dims:
        raise ConfigError([Problem(SOURCE, "condition", ds.sizes["condition"],
                                   "one condition: mixsig.io.conditions.condition_dataset(ds, k) first")], "export")
    known = [int(i) for i in ds["instance"].values]
    if instance is None:
        return known
    wanted = [instance] if np.ndim(instance) == 0 else list(instance)
    problems = [Problem(SOURCE, "instance", i, f"an instance id of the dataset ({_ids(known)})")
                for i in wanted if not is_int(i) or int(i) not in known]
    if problems:
        raise ConfigError(problems, "export")
    return [int(i) for i in wanted]


def _ids(values):
    return ", ".join(map(str, values[:8])) + (", ..." if len(values) > 8 else "")


def trains(ds, instance=None):
    """The spike trains of the chosen instances (:class:`Trains`).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset (lazily opened files read only the chosen instances' spikes).
    instance : int, sequence of int or None
        Instance ids (default: all); the trains follow the dataset's instance order.

    Returns
    -------
    Trains
    """
    ids = instance_ids(ds, instance)
    ds = select(ds, instance=ids)
    n_instance, n_neuron = ds.sizes["instance"], ds.sizes["neuron"]
    names = population_names(ds[POPULATION]) if POPULATION in ds.coords else {}
    population = (np.array([names.get(int(code), "") for code in ds[POPULATION].values], dtype=str)
                  if names else np.full(n_neuron, "", dtype=str))
    try:
        start, stop = time_window(ds)
    except ConfigError:
        start, stop = 0.0, float(ds["spike_time"].max()) if ds.sizes["spike"] else 0.0
    return Trains(
        instance=np.repeat(ds["instance"].values.astype(np.int64), n_neuron),
        neuron=np.tile(ds["neuron"].values.astype(np.int64), n_instance),
        core=np.tile(ds["core"].values.astype(np.int64), n_instance),
        chip=np.tile(ds["chip"].values.astype(np.int64), n_instance),
        population=np.tile(population, n_instance),
        count=ds["spike_count"].values.astype(np.int64).ravel(),
        time=np.asarray(ds["spike_time"].values, dtype=np.float64),
        seed={int(i): int(s) for i, s in zip(ds["instance"].values, ds["seed"].values)},
        start=start, stop=stop,
    )


@dataclasses.dataclass(frozen=True)
class ChipLayout:
    """The chip a dataset was simulated on, read from its ``chip_toml``.

    Attributes
    ----------
    name, description : str
    n_cores, neurons_per_core : int or None
        None when the recorded chip TOML does not give them.
    board : str
        ``"nx x ny"`` chips.
    """

    name: str
    description: str
    n_cores: int | None
    neurons_per_core: int | None
    board: str

    def geometry_problems(self, key="chip_toml"):
        """Problems that stop a neuron id from being split into (chip, core, neuron in core)."""
        return [Problem(SOURCE, f"{key}.chip.{field}", getattr(self, field), "a positive integer (the chip geometry)")
                for field in ("n_cores", "neurons_per_core")
                if not isinstance(getattr(self, field), int) or getattr(self, field) < 1]


def chip_layout(ds):
    """The :class:`ChipLayout` recorded in a dataset's ``chip_toml`` (and ``board`` attribute)."""
    try:
        table = tomllib.loads(str(ds.attrs.get("chip_toml", ""))).get("chip", {})
    except tomllib.TOMLDecodeError:
        table = {}
    table = table if isinstance(table, dict) else {}

    def integer(key):
        value = table.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    name = str(table.get("name", ds.attrs.get("chip_name", "chip")))
    return ChipLayout(name=name, description=str(table.get("description", f"emulated {name} chip")),
                      n_cores=integer("n_cores"), neurons_per_core=integer("neurons_per_core"),
                      board=str(ds.attrs.get("board", "1 x 1")))


def creation_time(ds):
    """The dataset's ``creation_time`` as a timezone-aware :class:`datetime.datetime` (UTC)."""
    return datetime.datetime.fromisoformat(str(ds.attrs["creation_time"])).astimezone(datetime.timezone.utc)


def provenance(ds):
    """The provenance attributes every exporter carries, as plain str/int/float values.

    Returns
    -------
    dict
        ``mixsig_version``, ``creation_time``, ``seed`` (root seed), ``dt`` (s), ``duration`` (s,
        when recorded), ``calibration_file``, ``calibration_sha256``, ``chip``, ``experiment_toml``.
    """
    keys = ("mixsig_version", "creation_time", "calibration_file", "calibration_sha256", "experiment_toml")
    out = {key: str(ds.attrs[key]) for key in keys if key in ds.attrs}
    out.update(seed=int(ds.attrs["seed"]), dt=float(ds.attrs["dt"]), chip=chip_layout(ds).name)
    if "duration" in ds.attrs:
        out["duration"] = float(ds.attrs["duration"])
    return out
