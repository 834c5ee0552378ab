"""Tests of the mixsig-1 dataset: schema, sorting, netCDF round trip, atomic writes, combine.

Everything runs on synthetic data built here; expected values come from independent reference
loops (Python ``sorted`` over tuples, ``collections.Counter``), never from mixsig.io itself.
"""

import collections
import datetime
import os

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest
import xarray as xr

from mixsig import io
from mixsig.errors import ConfigError

SHA = "0123456789abcdef" * 4
CREATED = datetime.datetime(2026, 1, 31, 12, 0, 0, tzinfo=datetime.timezone.utc)


def provenance(**changes):
    base = {
        "experiment_toml": '[experiment]\nduration = 1.0  # s\nname = "µ-test Ω"\n',
        "chip_toml": '[chip]\nname = "dynapse2"\ncores = 4\n',
        "calibration_file": "generic_180nm.toml",
        "calibration_sha256": SHA,
        "seed": 1234,
        "dt": 1e-4,
    }
    base.update(changes)
    return base


LINK_KIND = {"units": "1", "long_name": "router level", "flag_values": np.array([0, 1, 2], dtype=np.int8),
             "flag_meanings": "core chip mesh"}


def attrs(units, long_name, **more):
    return {"units": units, "long_name": long_name, **more}


def synthetic_inputs(seed=0, n_spike=400, instances=(7, 2, 5, 0, 3), neurons=(11, 3, 8, 4, 0, 9)):
    """Unordered instances, neurons and spikes, with deliberate exact ties in spike time."""
    rng = np.random.default_rng(seed)
    instances, neurons = np.array(instances), np.array(neurons)
    n_instance, n_neuron = len(instances), len(neurons)
    times = np.round(rng.uniform(0.0, 0.5, n_spike), 3)  # rounding creates equal times
    recorded = np.array([neurons[2], neurons[4], neurons[1]])  # unsorted
    return dict(
        instances=instances,
        seeds=rng.integers(0, 2**63, n_instance, dtype=np.uint64) * np.uint64(2),
        neurons=neurons,
        cores=neurons % 4,
        chips=neurons // 8,
        spike_times=times,
        spike_neurons=rng.choice(neurons, n_spike),
        spike_instances=rng.choice(instances, n_spike),
        provenance=provenance(noise=True, title="synthetic run"),
        traces={
            "i_mem": (rng.normal(1e-9, 1e-10, (n_instance, 3, 20)), attrs("A", "membrane current", clipped=False)),
            "i_ampa": (rng.normal(1e-10, 1e-11, (n_instance, 3, 20)).astype(np.float32), attrs("A", "AMPA current")),
        },
        recorded_neurons=recorded,
        trace_times=np.arange(20) * 1e-3,
        parameters={
            "soma.i_tau": (rng.lognormal(np.log(5e-12), 0.2, (n_instance, n_neuron)), attrs("A", "leak current")),
            "ampa.c_syn": (rng.lognormal(np.log(2e-12), 0.1, (n_instance, n_neuron)), attrs("F", "DPI capacitance")),
        },
        router_statistics={
            "dropped": (rng.integers(0, 9, (n_instance, 3)), ("instance", "level"), attrs("1", "dropped events")),
            "mean_latency": (rng.uniform(1e-7, 1e-6, (n_instance,)), ("instance",), attrs("s", "mean latency")),
            "link_kind": (np.array([0, 1, 2], dtype=np.int8), ("level",), LINK_KIND),  # shared by all instances
        },
        creation_time=CREATED,
    )


@pytest.fixture
def inputs():
    return synthetic_inputs()


@pytest.fixture
def dataset(inputs):
    return io.build_dataset(**inputs)


def problem_keys(error):
    return {problem.key for problem in error.value.problems}


# -- build_dataset ------------------------------------------------------------------------------


def test_spikes_sorted_stably_by_instance_neuron_time(inputs, dataset):
    times, neurons, instances = (inputs[key] for key in ("spike_times", "spike_neurons", "spike_instances"))
    tagged = sorted(zip(instances, neurons, times, range(len(times))))  # the input index breaks ties: a stable sort
    np.testing.assert_array_equal(dataset["spike_instance"].values, [t[0] for t in tagged])
    np.testing.assert_array_equal(dataset["spike_neuron"].values, [t[1] for t in tagged])
    np.testing.assert_array_equal(dataset["spike_time"].values, [t[2] for t in tagged])
    assert io.spike_order(times, neurons, instances).tolist() == [t[3] for t in tagged]


def test_spike_count_and_ragged_offsets_match_reference(inputs, dataset):
    reference = collections.defaultdict(list)
    for instance, neuron, time in zip(inputs["spike_instances"], inputs["spike_neurons"], inputs["spike_times"]):
        reference[instance, neuron].append(time)
    counts = dataset["spike_count"].values
    offsets = np.cumsum(counts.ravel()) - counts.ravel()
    assert dataset.sizes["spike"] == len(inputs["spike_times"]) == counts.sum()
    pairs = [(i, n) for i in dataset["instance"].values for n in dataset["neuron"].values]  # C order
    for k, (instance, neuron) in enumerate(pairs):
        expected = sorted(reference[instance, neuron])
        assert counts.ravel()[k] == len(expected)
        np.testing.assert_array_equal(dataset["spike_time"].values[offsets[k] : offsets[k] + len(expected)], expected)


def test_instances_and_neurons_sorted_with_their_arrays(inputs, dataset):
    assert dataset["instance"].values.tolist() == sorted(inputs["instances"].tolist())
    assert dataset["neuron"].values.tolist() == sorted(inputs["neurons"].tolist())
    assert dataset["neuron_rec"].values.tolist() == sorted(inputs["recorded_neurons"].tolist())
    for i, instance in enumerate(inputs["instances"]):
        assert dataset["seed"].sel(instance=instance).item() == inputs["seeds"][i]
        latency = inputs["router_statistics"]["mean_latency"][0][i]
        assert dataset["router__mean_latency"].sel(instance=instance).item() == latency
        np.testing.assert_array_equal(
            dataset["router__dropped"].sel(instance=instance).values, inputs["router_statistics"]["dropped"][0][i]
        )
        for j, neuron in enumerate(inputs["neurons"]):
            value = inputs["parameters"]["soma.i_tau"][0][i, j]
            assert dataset["soma__i_tau"].sel(instance=instance, neuron=neuron).item() == value
        for j, neuron in enumerate(inputs["recorded_neurons"]):
            np.testing.assert_array_equal(
                dataset["i_mem"].sel(instance=instance, neuron_rec=neuron).values, inputs["traces"]["i_mem"][0][i, j]
            )
    for j, neuron in enumerate(inputs["neurons"]):
        assert dataset["core"].sel(neuron=neuron).item() == inputs["cores"][j]
        assert dataset["chip"].sel(neuron=neuron).item() == inputs["chips"][j]


def test_schema_names_dtypes_units_and_attributes(dataset):
    assert set(dataset.dims) == {"instance", "neuron", "time", "spike", "neuron_rec", "level"}
    assert set(dataset.coords) == {"instance", "seed", "neuron", "core", "chip", "time", "neuron_rec"}
    for name, variable in dataset.variables.items():
        assert isinstance(variable.attrs.get("units"), str) and variable.attrs["units"], name
        assert isinstance(variable.attrs.get("long_name"), str) and variable.attrs["long_name"], name
    assert dataset["spike_time"].attrs["units"] == dataset["time"].attrs["units"] == "s"
    assert dataset["seed"].dtype == np.uint64 and dataset["spike_count"].dtype == np.int32  # CF: an int count
    assert dataset["i_ampa"].dtype == np.float32 and dataset["router__dropped"].dtype == np.int64
    assert dataset["soma__i_tau"].attrs["parameter_name"] == "soma.i_tau"
    assert dataset["ampa__c_syn"].attrs["units"] == "F"
    assert io.parameter_variable("homeostasis.i_tau_slow") == "homeostasis__i_tau_slow"
    assert dataset["router__dropped"].attrs["router_statistic"] == "dropped"
    assert dataset["spike_count"].attrs["sample_dimension"] == "spike"
    attrs = dataset.attrs
    assert attrs["Conventions"] == "CF-1.8 mixsig-1" and attrs["featureType"] == "timeSeries"
    assert attrs["experiment_toml"] == provenance()["experiment_toml"]  # verbatim, non-ASCII kept
    assert attrs["calibration_sha256"] == SHA and attrs["seed"] == 1234 and attrs["dt"] == 1e-4
    assert attrs["creation_time"] == "2026-01-31T12:00:00Z"
    assert attrs["history"].startswith("2026-01-31T12:00:00Z mixsig ")
    assert attrs["noise"] == 1 and attrs["noise"].dtype == np.int8 and attrs["title"] == "synthetic run"  # no bools


def test_default_creation_time_is_now_in_utc(inputs):
    inputs.pop("creation_time")
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    created = datetime.datetime.fromisoformat(io.build_dataset(**inputs).attrs["creation_time"])
    assert created.utcoffset() == datetime.timedelta(0)
    assert before <= created <= datetime.datetime.now(datetime.timezone.utc)


def test_history_keeps_earlier_lines(inputs):
    inputs["provenance"].update(history="2025-12-01T00:00:00Z earlier step", command="mixsig run exp.toml")
    lines = io.build_dataset(**inputs).attrs["history"].split("\n")
    assert lines[0].endswith(": mixsig run exp.toml") and lines[1] == "2025-12-01T00:00:00Z earlier step"


def test_build_reports_every_input_problem_at_once(inputs):
    inputs["spike_neurons"] = inputs["spike_neurons"].copy()
    inputs["spike_neurons"][0] = 99  # not a neuron
    inputs["cores"] = inputs["cores"][:-1]  # wrong length
    inputs["provenance"].pop("dt")
    inputs["parameters"]["soma_i_tau"] = inputs["parameters"].pop("soma.i_tau")  # not dotted
    inputs["traces"]["i_mem"] = (inputs["traces"]["i_mem"][0][:, :2], inputs["traces"]["i_mem"][1])  # wrong shape
    inputs["traces"]["spike_count"] = inputs["traces"]["i_ampa"]  # a schema name
    dropped, dims, dropped_attrs = inputs["router_statistics"]["dropped"]
    inputs["router_statistics"]["queued"] = (dropped[:, :2], dims, dropped_attrs)  # 'level' already has 3 entries
    inputs["router_statistics"]["held"] = (dropped, ("level", "instance"), dropped_attrs)  # instance not first
    with pytest.raises(ConfigError) as error:
        io.build_dataset(**inputs)
    assert problem_keys(error) == {
        "spike_neurons", "cores.shape", "provenance.dt", "parameters.soma_i_tau", "traces.i_mem.shape",
        "traces.spike_count", "router_statistics.queued.shape", "router_statistics.held.dims",
    }


def test_build_rejects_duplicate_ids_and_missing_units(inputs):
    inputs["instances"] = np.array([7, 2, 5, 2, 3])
    with pytest.raises(ConfigError) as error:
        io.build_dataset(**inputs)
    assert "instances" in problem_keys(error)
    inputs = synthetic_inputs()
    inputs["parameters"]["soma.i_tau"] = (inputs["parameters"]["soma.i_tau"][0], {"long_name": "leak"})
    with pytest.raises(ConfigError) as error:
        io.build_dataset(**inputs)
    assert problem_keys(error) == {"soma__i_tau.attrs.units"}


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.floats(0, 1, allow_nan=False)), max_size=60)
)
def test_any_spike_order_gives_valid_counts(spikes):
    instances, neurons = (np.array([s[k] for s in spikes], dtype=np.int64) for k in range(2))
    times = np.array([s[2] for s in spikes], dtype=float)
    ds = io.build_dataset(
        instances=[3, 1, 0, 2], seeds=[0, 1, 2, 3], neurons=[4, 0, 1, 2, 3], cores=[0] * 5, chips=[0] * 5,
        spike_times=times, spike_neurons=neurons, spike_instances=instances, provenance=provenance(),
    )
    counter = collections.Counter(zip(instances.tolist(), neurons.tolist()))
    expected = [[counter[i, n] for n in range(5)] for i in range(4)]
    np.testing.assert_array_equal(ds["spike_count"].values, expected)
    stored = zip(ds["spike_instance"].values, ds["spike_neuron"].values, ds["spike_time"].values)
    assert list(stored) == sorted(zip(instances.tolist(), neurons.tolist(), times.tolist()))


# -- check_dataset ------------------------------------------------------------------------------


def test_valid_dataset_passes(dataset):
    io.check_dataset(dataset)
    assert io.dataset_problems(dataset) == []


def test_check_reports_every_problem_at_once(dataset):
    broken = dataset.copy(deep=True)
    broken.attrs["calibration_sha256"] = "not-a-digest"
    broken.attrs["creation_time"] = "31/01/2026"
    del broken.attrs["dt"]
    del broken["i_mem"].attrs["units"]
    broken["stray__x"] = ("instance", np.zeros(broken.sizes["instance"]))  # derived: allowed, not checked
    broken["soma__i_tau"].attrs["parameter_name"] = "soma.i_leak"
    broken["i_ampa"] = broken["i_ampa"].astype(np.int32)
    with pytest.raises(ConfigError) as error:
        io.check_dataset(broken, "run.nc")
    assert problem_keys(error) == {
        "attrs.calibration_sha256", "attrs.creation_time", "attrs.dt", "i_mem.attrs.units", "i_ampa.dtype",
        "soma__i_tau.attrs.parameter_name",
    }
    assert all(problem.source == "run.nc" for problem in error.value.problems)


def test_check_detects_missing_coordinates_variables_and_foreign_conventions(dataset):
    broken = dataset.drop_vars(["chip", "spike_count"])
    broken.attrs["Conventions"] = "CF-1.8"
    with pytest.raises(ConfigError) as error:
        io.check_dataset(broken)
    assert problem_keys(error) == {"chip", "spike_count", "attrs.Conventions"}


def test_check_detects_unsorted_spikes_and_wrong_counts(dataset):
    unsorted = dataset.isel(spike=np.arange(dataset.sizes["spike"])[::-1])
    with pytest.raises(ConfigError) as error:
        io.check_dataset(unsorted)
    assert problem_keys(error) == {"spike"}
    miscounted = dataset.copy(deep=True)
    miscounted["spike_count"][0, 0] += 1
    with pytest.raises(ConfigError) as error:
        io.check_dataset(miscounted)
    assert problem_keys(error) == {"spike_count"}


def test_check_detects_coordinate_and_dtype_problems(dataset):
    broken = dataset.assign_coords(neuron_rec=dataset["neuron_rec"].values + 1000, core=dataset["core"] - 5)
    broken["spike_time"] = broken["spike_time"].astype(np.float32)
    broken["neuron_rec"].attrs.update(units="1", long_name="x")
    broken["core"].attrs.update(units="1", long_name="x")
    with pytest.raises(ConfigError) as error:
        io.check_dataset(broken)
    assert problem_keys(error) == {"neuron_rec", "core", "spike_time.dtype"}


# -- netCDF round trip and foreign files ---------------------------------------------------------


def assert_same(a, b):
    xr.testing.assert_identical(a, b)
    for name in a.variables:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].attrs.keys() == b[name].attrs.keys(), name
        for key, value in a[name].attrs.items():  # same kind: str stays str, int stays int, ...
            assert np.asarray(value).dtype.kind == np.asarray(b[name].attrs[key]).dtype.kind, (name, key)
    for key, value in a.attrs.items():
        assert np.asarray(value).dtype.kind == np.asarray(b.attrs[key]).dtype.kind, key


def test_round_trip_is_exact(tmp_path, dataset):
    path = tmp_path / "run.nc"
    io.to_netcdf(dataset, path)
    with io.open_dataset(path) as reopened:
        assert_same(dataset, reopened)
        assert reopened.attrs["noise"] == 1 and reopened["i_mem"].attrs["clipped"] == 0
        assert reopened["seed"].values.tolist() == dataset["seed"].values.tolist()  # uint64 beyond 2**63
        assert reopened["spike_time"].encoding["zlib"] is True
        assert all(reopened[name].encoding["fletcher32"] for name in reopened.variables)
    assert sorted(os.listdir(tmp_path)) == ["run.nc"]


def test_round_trip_of_an_empty_run(tmp_path):
    empty = io.build_dataset(
        instances=[0], seeds=[2**64 - 1], neurons=[0, 1], cores=[0, 0], chips=[0, 0], spike_times=[], spike_neurons=[],
        spike_instances=[], provenance=provenance(chip_toml=""), creation_time=CREATED,
    )
    io.to_netcdf(empty, tmp_path / "empty.nc")
    with io.open_dataset(tmp_path / "empty.nc") as reopened:
        assert_same(empty, reopened)
        assert reopened.sizes["spike"] == 0 and reopened["seed"].item() == 2**64 - 1


def test_overwrite_replaces_the_file(tmp_path, inputs, dataset):
    path = tmp_path / "run.nc"
    io.to_netcdf(dataset, path)
    inputs["provenance"]["title"] = "second"
    io.to_netcdf(io.build_dataset(**inputs), path)
    with io.open_dataset(path) as reopened:
        assert reopened.attrs["title"] == "second"


def test_foreign_and_broken_files(tmp_path, dataset):
    text = tmp_path / "notes.nc"
    text.write_text("not a netCDF file\n")
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}, attrs={"Conventions": "CF-1.8"}).to_netcdf(foreign, engine="netcdf4")
    broken = tmp_path / "broken.nc"
    bad = dataset.copy(deep=True)
    bad["spike_count"][1, 1] += 2
    bad.to_netcdf(broken, engine="netcdf4")
    cases = {
        tmp_path / "missing.nc": ("<file>", None),
        text: ("<file>", None),
        foreign: ("attrs.Conventions", "CF-1.8"),
        broken: ("spike_count", None),
    }
    for path, (key, value) in cases.items():
        with pytest.raises(ConfigError) as error:
            io.open_dataset(path)
        (problem,) = error.value.problems
        assert problem.source == str(path) and problem.key == key
        if value is not None:
            assert problem.value == value and "mixsig-1" in problem.expected
        assert str(path) in str(error.value)


def test_failed_write_leaves_no_file(tmp_path, dataset, monkeypatch):
    def fail_midway(self, target, **kwargs):
        if not hasattr(target, "close"):  # to_netcdf(path): the file is ours to start
            with open(target, "wb") as handle:
                handle.write(b"\x89HDF\r\n\x1a\n partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail_midway)  # datasets with dask arrays
    monkeypatch.setattr(xr.Dataset, "dump_to_store", fail_midway)  # datasets in memory: the store made the file
    with pytest.raises(OSError, match="disk full"):
        io.to_netcdf(dataset, tmp_path / "run.nc")
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_previous_file(tmp_path, dataset, monkeypatch):
    path = tmp_path / "run.nc"
    io.to_netcdf(dataset, path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(OSError("interrupted")))
    with pytest.raises(OSError, match="interrupted"):
        io.to_netcdf(cut(dataset, [0]), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["run.nc"]


def test_unstorable_attributes_are_refused_before_writing(tmp_path, dataset):
    bad = dataset.copy()
    bad.attrs["operator"] = None
    bad.attrs["flag"] = True  # netCDF has no booleans: 0/1 or a string, not a private encoding
    bad["i_mem"].attrs["tags"] = {"a": 1}
    with pytest.raises(ConfigError) as error:
        io.to_netcdf(bad, tmp_path / "run.nc")
    assert problem_keys(error) == {"attrs.operator", "attrs.flag", "i_mem.attrs.tags"}
    assert os.listdir(tmp_path) == []


# -- combine -----------------------------------------------------------------------------------


def cut(ds, instances):
    """A shard holding some instances of ``ds``, as a run of only those instances would write."""
    keep = np.isin(ds["spike_instance"].values, instances)
    shard = ds.sel(instance=instances).isel(spike=np.flatnonzero(keep))
    shard.attrs = {**ds.attrs, "creation_time": "2026-02-01T00:00:00Z", "history": "2026-02-01T00:00:00Z mixsig: shard"}
    return shard


def without_file_times(ds):
    out = ds.copy()
    out.attrs = {key: value for key, value in ds.attrs.items() if key not in ("creation_time", "history")}
    return out


def assert_equal_but_provenance_time(combined, whole):
    assert_same(without_file_times(combined), without_file_times(whole))


def test_combine_equals_the_whole_run(dataset):
    shards = [cut(dataset, [3, 7]), cut(dataset, [0]), cut(dataset, [2, 5])]  # interleaved instance sets
    for shard in shards:
        io.check_dataset(shard)
    combined = io.combine(shards[::-1])
    assert_equal_but_provenance_time(combined, dataset)
    assert combined.attrs["history"].split("\n")[1:] == ["2026-02-01T00:00:00Z mixsig: shard"]
    assert "combine of 3 shards" in combined.attrs["history"].split("\n")[0]


def test_combine_files_equals_the_whole_run(tmp_path, dataset):
    paths = []
    for k, instances in enumerate(([0, 2], [3], [5, 7])):
        paths.append(tmp_path / f"shard{k}.nc")
        io.to_netcdf(cut(dataset, instances), paths[-1])
    combined = io.combine(paths)
    assert_equal_but_provenance_time(combined, dataset)
    io.to_netcdf(combined, tmp_path / "all.nc")
    with io.open_dataset(tmp_path / "all.nc") as reopened:
        assert_same(combined, reopened)


def test_combine_of_one_shard_is_that_shard(dataset):
    assert_equal_but_provenance_time(io.combine([dataset]), dataset)


def test_combine_refuses_incompatible_shards_listing_every_problem(dataset):
    a, b, c = cut(dataset, [0, 2]), cut(dataset, [2, 3]), cut(dataset, [5, 7])
    c["router__link_kind"] = c["router__link_kind"].copy(data=[0, 2, 1])
    b.attrs["chip_toml"] = "[chip]\nname = 'other'\n"
    b.attrs["dt"] = 5e-5
    c = c.assign_coords(core=("neuron", c["core"].values + 1, dataset["core"].attrs))
    with pytest.raises(ConfigError) as error:
        io.combine([a, b, c])
    found = {(problem.source, problem.key) for problem in error.value.problems}
    assert {
        ("<shard 1>", "attrs.chip_toml"), ("<shard 1>", "attrs.dt"), ("<shard 1>", "instance"), ("<shard 2>", "core"),
        ("<shard 2>", "router__link_kind"),
    } == found
    overlap = next(p for p in error.value.problems if p.key == "instance")
    assert overlap.value == [2]


def test_combine_refuses_different_variables_and_invalid_shards(tmp_path, dataset):
    a, b = cut(dataset, [0]), cut(dataset, [2]).drop_vars("i_ampa")
    with pytest.raises(ConfigError) as error:
        io.combine([a, b])
    assert problem_keys(error) == {"i_ampa"}
    (tmp_path / "junk.nc").write_text("junk")
    broken = cut(dataset, [3])
    broken.attrs["Conventions"] = "mixsig-0"
    with pytest.raises(ConfigError) as error:
        io.combine([a, tmp_path / "junk.nc", broken])
    assert problem_keys(error) == {"<file>", "attrs.Conventions"}
    with pytest.raises(ConfigError):
        io.combine([])
