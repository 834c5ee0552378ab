"""Per-neuron trim files: the CapMem codes calibration chose for every neuron of every chip instance.

A trim file belongs to one chip config (its ``[capmem]`` cells, :mod:`mixsig.chip.capmem`) and
to the mismatch draws of one ``(seed, device_model, corner)``: instance ``k`` of a run is the
same physical chip as instance ``k`` of the calibration only when these agree, and a run that
loads the file (experiment key ``trims``) checks them. Two formats with the same content:

* netCDF (``.nc``): variables ``code__<block>__<field>(instance, neuron)`` (int32, the codes),
  ``measured__<block>__<field>`` (the parameter measured with those codes, SI) and coordinates
  ``instance``, ``neuron`` (every neuron of the board); global attributes ``chip``, ``bits``,
  ``seed``, ``device_model``, ``corner``, ``Conventions = "mixsig-trims-1"`` and, per parameter,
  its target in the ``measured`` variable's ``target`` attribute;
* TOML (``.toml``): the same keys at top level, tables ``[codes]``, ``[measured]``, ``[targets]``
  keyed by the quoted parameter name, rows per instance.
"""

import dataclasses
import pathlib
import tomllib
import types

import numpy as np

from mixsig import paths
from mixsig.errors import ConfigError, Problem, is_int, raise_if_any
from mixsig.files import atomic_write

CONVENTIONS = "mixsig-trims-1"
"""Format tag of a trim file."""


@dataclasses.dataclass(frozen=True)
class Trims:
    """Trim codes of every neuron of a set of chip instances.

    Attributes
    ----------
    chip, device_model, corner : str
        The chip config's name and the mismatch draw's device model and corner.
    seed : int
        The experiment seed whose mismatch draws were calibrated.
    bits : int
        CapMem resolution the codes are for.
    instances : ndarray of int64, shape (instance,)
        Instance indices, increasing.
    codes : mapping of str to ndarray of int64, shape (instance, neuron)
        Code of each trimmable parameter (``<block>.<field>``) of each board neuron.
    measured : mapping of str to ndarray, shape (instance, neuron)
        The parameter measured with those codes, SI units (NaN where not measured).
    targets : mapping of str to float
        Calibration target of each parameter, SI units.
    """

    chip: str
    device_model: str
    corner: str
    seed: int
    bits: int
    instances: np.ndarray
    codes: types.MappingProxyType
    measured: types.MappingProxyType
    targets: types.MappingProxyType

    def rows(self, instances, source="<experiment>"):
        """Row of each of ``instances`` in the file; ConfigError naming the missing ones."""
        instances = np.asarray(instances, dtype=np.int64)
        where = np.searchsorted(self.instances, instances)
        found = (where < self.instances.size) & (self.instances[np.minimum(where, self.instances.size - 1)] == instances)
        if not found.all():
            raise_if_any([Problem(source, "trims", instances[~found].tolist(),
                                  f"instances the trim file calibrated: {self.instances.tolist()}")], "trims")
        return where

    def problems(self, chip, capmem_names, seed, device_model, corner, n_neurons, source="<experiment>"):
        """What makes these trims unusable for a run (list of Problem)."""
        expected = {"chip": chip, "seed": seed, "device_model": device_model, "corner": corner}
        problems = [Problem(source, f"trims.{key}", getattr(self, key), f"{value!r} (the run's)")
                    for key, value in expected.items() if getattr(self, key) != value]
        for name in sorted(set(self.codes) - set(capmem_names)):
            problems.append(Problem(source, "trims", name, f"trimmable parameters of {chip}: {list(capmem_names)}"))
        for name, codes in self.codes.items():
            if codes.shape[1] != n_neurons:
                problems.append(Problem(source, f"trims.codes.{name}", codes.shape, f"(instance, {n_neurons}) codes"))
            elif codes.size and not (codes.min() >= 0 and codes.max() < (1 << self.bits)):
                problems.append(Problem(source, f"trims.codes.{name}", int(codes.max()), f"codes in [0, {(1 << self.bits) - 1}]"))
        return problems


def _variable(kind, name):
    return f"{kind}__{name.replace('.', '__')}"


def write_trims(trims, path):
    """Write ``trims`` atomically as netCDF (``.nc``) or TOML (``.toml``), by the suffix of ``path``."""
    path = pathlib.Path(path)
    if path.suffix == ".toml":
        from mixsig.tomlwrite import dumps

        data = {"chip": trims.chip, "device_model": trims.device_model, "corner": trims.corner, "seed": trims.seed,
                "bits": trims.bits, "instances": trims.instances.tolist(),
                "codes": {k: v.tolist() for k, v in trims.codes.items()},
                "measured": {k: v.tolist() for k, v in trims.measured.items()},
                "targets": dict(trims.targets)}
        text = dumps(data, comment="mixsig trim file (docs/substrate_brainscales2.md)")
        atomic_write(path, lambda temporary: pathlib.Path(temporary).write_text(text))
        return
    import xarray as xr

    neuron = np.arange(next(iter(trims.codes.values())).shape[1])
    variables = {}
    for name, codes in trims.codes.items():
        variables[_variable("code", name)] = (("instance", "neuron"), codes.astype(np.int32), {
            "units": "1", "long_name": f"CapMem code of {name}", "parameter_name": name})
        variables[_variable("measured", name)] = (("instance", "neuron"), trims.measured[name], {
            "units": "SI", "long_name": f"{name} measured with the code", "parameter_name": name,
            "target": trims.targets[name]})
    ds = xr.Dataset(variables, coords={"instance": trims.instances, "neuron": neuron}, attrs={
        "Conventions": CONVENTIONS, "chip": trims.chip, "device_model": trims.device_model, "corner": trims.corner,
        "seed": str(trims.seed), "bits": trims.bits})
    atomic_write(path, lambda temporary: ds.to_netcdf(temporary))


def read_trims(path, relative_to=None):
    """Read a trim file written by :func:`write_trims` (ConfigError on anything else)."""
    location = pathlib.Path(path).expanduser()
    if not location.is_absolute() and relative_to is not None:
        location = pathlib.Path(relative_to) / location
    source = str(location)
    if location.suffix == ".toml":
        try:
            data = tomllib.loads(paths.read_text(location, "trim"))
        except tomllib.TOMLDecodeError as error:
            raise_if_any([Problem(source, "(syntax)", None, f"valid TOML ({error})")], "trim file")
        return _from_tables(data, source)
    import xarray as xr

    paths.check_regular(location, "trim")
    try:
        with xr.open_dataset(location) as ds:
            ds.load()
    except (OSError, ValueError) as error:
        raise ConfigError([Problem(source, "(file)", None, f"a netCDF trim file ({error})")], "trim file") from None
    if ds.attrs.get("Conventions") != CONVENTIONS:
        raise_if_any([Problem(source, "attrs.Conventions", ds.attrs.get("Conventions"), repr(CONVENTIONS))], "trim file")
    names = [ds[v].attrs["parameter_name"] for v in ds.data_vars if v.startswith("code__")]
    data = {key: ds.attrs.get(key) for key in ("chip", "device_model", "corner", "bits")}
    data["seed"] = int(ds.attrs.get("seed", -1))
    data["bits"] = int(data["bits"]) if data["bits"] is not None else None
    data["instances"] = ds["instance"].values.tolist()
    data["codes"] = {n: ds[_variable("code", n)].values for n in names}
    data["measured"] = {n: ds[_variable("measured", n)].values for n in names}
    data["targets"] = {n: float(ds[_variable("measured", n)].attrs["target"]) for n in names}
    return _from_tables(data, source)


def _from_tables(data, source):
    problems = []
    for key in ("chip", "device_model", "corner"):
        if not isinstance(data.get(key), str):
            problems.append(Problem(source, key, data.get(key), "a string"))
    for key in ("seed", "bits"):
        if not is_int(data.get(key)) or data.get(key) < 0:
            problems.append(Problem(source, key, data.get(key), "an integer >= 0"))
    tables = {}
    for key in ("codes", "measured", "targets"):
        if not isinstance(data.get(key), dict):
            problems.append(Problem(source, key, None, "a table keyed by parameter name"))
            tables[key] = {}
        else:
            tables[key] = data[key]
    raise_if_any(problems, "trim file")
    instances = np.asarray(data.get("instances", []), dtype=np.int64)
    codes = {k: np.asarray(v, dtype=np.int64).reshape(instances.size, -1) for k, v in tables["codes"].items()}
    measured = {k: np.asarray(tables["measured"].get(k, np.full(codes[k].shape, np.nan)), dtype=float).reshape(codes[k].shape)
                for k in codes}
    return Trims(chip=data["chip"], device_model=data["device_model"], corner=data["corner"], seed=int(data["seed"]),
                 bits=int(data["bits"]), instances=instances, codes=types.MappingProxyType(codes),
                 measured=types.MappingProxyType(measured),
                 targets=types.MappingProxyType({k: float(tables["targets"].get(k, np.nan)) for k in codes}))
