"""The ``mixsig-1`` output dataset: schema, checks, atomic netCDF I/O, subsets and combining shards.

A run is exported as one :class:`xarray.Dataset` (``Conventions = "CF-1.8 mixsig-1"``,
``featureType = "timeSeries"``); the full reference is ``docs/dataset.md``. In short:

* dims ``instance`` (one chip, i.e. one mismatch draw), ``neuron``, ``time`` (trace samples),
  ``neuron_rec`` (recorded neurons) and ``spike`` (all spikes of all instances, ragged);
* coords ``instance(instance)``, ``seed(instance)``, ``neuron(neuron)``, ``core(neuron)``,
  ``chip(neuron)``, ``time(time)`` [s], ``neuron_rec(neuron_rec)``, and optionally
  ``population(neuron)`` (codes named by CF ``flag_values`` / ``flag_meanings``);
* spikes as a contiguous ragged array: ``spike_time(spike)`` [s], ``spike_neuron(spike)``,
  ``spike_instance(spike)`` sorted by (instance, neuron, time), and the int32
  ``spike_count(instance, neuron)``, so that the spikes of the k-th (instance, neuron) pair in
  C order are ``spike[offset[k] : offset[k] + count[k]]`` with ``offset = cumsum(count) - count``;
* traces ``<name>(instance, neuron_rec, time)``, e.g. ``i_mem`` [A];
* sampled parameters ``<block>__<field>(instance, neuron)`` [SI] with the dotted circuit name
  (``soma.i_tau``) in the attribute ``parameter_name``;
* router statistics ``router__<name>(instance, ...)`` with ``router_statistic = "<name>"``;
* any further (derived) variables and coordinates, which the schema leaves alone.

Every schema variable carries ``units`` and ``long_name``. The global attributes hold the
provenance (:mod:`~mixsig.io.provenance`): ``mixsig_version``, the effective ``experiment_toml``,
the verbatim ``chip_toml``, ``calibration_file`` and ``calibration_sha256``, ``seed``, ``dt`` [s],
``creation_time`` (ISO 8601, UTC) and the CF ``history``.

Files are written with the netCDF4 engine, compressed, checksummed (HDF5 ``fletcher32`` per
chunk and a sha256 trailer over the file), chunked one instance at a time, atomically (temporary
file in the target directory, then :func:`os.replace`). Shards of one run holding disjoint
instance sets are merged by :func:`combine`, which re-sorts the ragged spikes
(``xarray.open_mfdataset`` cannot align them). :func:`select` (``ds.mixsig.select``) takes
consistent subsets.

Modules: :mod:`~mixsig.io.schema` (names, dtypes, the rules and :func:`check_dataset`),
:mod:`~mixsig.io.build` (:func:`build_dataset`), :mod:`~mixsig.io.netcdf` (:func:`to_netcdf`,
:func:`open_dataset`, :func:`load_dataset`), :mod:`~mixsig.io.shards` (:func:`combine`),
:mod:`~mixsig.io.accessor` (:func:`select`, ``ds.mixsig``), :mod:`~mixsig.io.provenance` and
:mod:`~mixsig.io.lazy_dask` (numpy datasets without importing ``dask.array``).
"""

from mixsig.io.accessor import MixsigAccessor, select
from mixsig.io.build import build_dataset
from mixsig.io.netcdf import load_dataset, open_dataset, to_netcdf
from mixsig.io.schema import (
    CONVENTIONS,
    PARAMETER_SEPARATOR,
    PROVENANCE_KEYS,
    ROUTER_PREFIX,
    check_dataset,
    dataset_problems,
    parameter_variable,
    spike_order,
)
from mixsig.io.shards import combine

__all__ = [
    "CONVENTIONS",
    "MixsigAccessor",
    "PARAMETER_SEPARATOR",
    "PROVENANCE_KEYS",
    "ROUTER_PREFIX",
    "build_dataset",
    "check_dataset",
    "combine",
    "dataset_problems",
    "load_dataset",
    "open_dataset",
    "parameter_variable",
    "select",
    "spike_order",
    "to_netcdf",
]
