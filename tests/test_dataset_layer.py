"""The dataset in ordinary xarray work: round trips in every mix, derived variables, chunked lazy
reading, consistent subsets (``mixsig.select`` / ``ds.mixsig``), populations, CF attributes,
damaged files, and ``inspect`` / ``plot`` on unusual datasets.

Expected spikes come from reference loops over ``(instance, neuron, time)`` tuples, never from
the functions under test.
"""

import collections
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import mixsig
from mixsig import io
from mixsig.cli import main
from mixsig.errors import ConfigError
from mixsig.io.netcdf import SPIKE_CHUNK
from test_io import synthetic_inputs  # noqa: E402  (tests/ is on sys.path under pytest)

POPULATIONS = {"exc": [11, 3, 8], "inh pool": [4, 0], "out": [9]}  # a name with a blank: a CF flag word needs "_"


def build(**changes):
    inputs = synthetic_inputs(n_spike=600)
    inputs["provenance"]["duration"] = 0.5
    inputs.update({"populations": POPULATIONS, **changes})
    return io.build_dataset(**inputs)


@pytest.fixture
def dataset():
    return build()


@pytest.fixture
def written(tmp_path, dataset):
    path = tmp_path / "run.nc"
    io.to_netcdf(dataset, path)
    return path


def spikes(ds):
    return list(zip(ds["spike_instance"].values.tolist(), ds["spike_neuron"].values.tolist(),
                    ds["spike_time"].values.tolist()))


# -- round trips -------------------------------------------------------------------------------


def test_round_trips_in_every_mix_are_identical(tmp_path, dataset, written):
    with io.open_dataset(written) as ds:
        ds.load().to_netcdf(tmp_path / "plain.nc")  # plain xarray writes what mixsig read
    with xr.open_dataset(tmp_path / "plain.nc") as plain:
        xr.testing.assert_identical(plain.load(), dataset)
    with xr.open_dataset(written) as plain:  # plain xarray reads what mixsig wrote
        plain = plain.load()
    xr.testing.assert_identical(plain, dataset)
    io.to_netcdf(plain, tmp_path / "again.nc")
    xr.testing.assert_identical(io.load_dataset(tmp_path / "again.nc"), dataset)


def test_derived_variables_and_coordinates_are_written_and_read(tmp_path, dataset):
    derived = dataset.assign(rate=dataset.mixsig.rates()).assign_coords(
        quality=("neuron", np.linspace(0, 1, dataset.sizes["neuron"])))
    derived["note"] = xr.DataArray(np.array(["a", "bb"], dtype=object), dims="pair")
    derived.attrs["comment"] = "added by hand"
    io.check_dataset(derived)
    io.to_netcdf(derived, tmp_path / "derived.nc")
    back = io.load_dataset(tmp_path / "derived.nc")
    xr.testing.assert_identical(back, derived)
    assert back["rate"].attrs["units"] == "Hz"


def test_booleans_are_refused_not_encoded(tmp_path, dataset):
    assert not any(isinstance(v, (bool, np.bool_)) for v in dataset.attrs.values())
    assert dataset.attrs["noise"] == 1  # a bool given to build_dataset is stored as 0/1
    dataset.attrs["flag"] = True
    with pytest.raises(ConfigError, match="attrs.flag"):
        io.to_netcdf(dataset, tmp_path / "bool.nc")


def test_legacy_files_are_upgraded_on_reading(tmp_path, dataset):
    old = dataset.copy(deep=True)
    old.attrs.update(Conventions="mixsig-1", noise=np.int8(1), mixsig_bool_attributes="noise")
    del old["neuron"].attrs["cf_role"]
    del old.attrs["featureType"]
    old["spike_count"] = old["spike_count"].astype(np.int64)
    old.to_netcdf(tmp_path / "old.nc")
    back = io.load_dataset(tmp_path / "old.nc")
    xr.testing.assert_identical(back, dataset)


# -- CF --------------------------------------------------------------------------------------


def test_cf_attributes(dataset):
    assert dataset.attrs["Conventions"] == "CF-1.8 mixsig-1"
    assert dataset.attrs["featureType"] == "timeSeries" and dataset["neuron"].attrs["cf_role"] == "timeseries_id"
    assert dataset["spike_count"].dtype == np.int32 and dataset["spike_count"].attrs["sample_dimension"] == "spike"
    population = dataset["population"]
    assert population.attrs["flag_meanings"] == "exc inh_pool out"
    assert population.attrs["flag_values"].tolist() == [0, 1, 2]
    for name, variable in dataset.variables.items():
        assert variable.attrs.get("units") and variable.attrs.get("long_name"), name


def _cf_tables():
    """The CF standard-name table: $CF_STANDARD_NAME_TABLE, or the copy compliance-checker ships."""
    path = os.environ.get("CF_STANDARD_NAME_TABLE")
    if not path:
        try:
            import compliance_checker
        except ImportError:
            return None
        path = os.path.join(os.path.dirname(compliance_checker.__file__), "data", "cf-standard-name-table.xml")
    return path if os.path.isfile(path) else None


def test_cfchecks_finds_no_errors(tmp_path, written):
    try:
        import cfchecker.cfchecks  # noqa: F401  (imports cfunits, which loads the udunits2 C library)
    except Exception as error:  # ImportError, or OSError without libudunits2
        pytest.skip(f"CF checker unavailable ({error}): pip install '.[cf]' and libudunits2")
    table = _cf_tables()
    if table is None:
        pytest.skip("no CF standard-name table offline (set CF_STANDARD_NAME_TABLE)")
    # The area-type and region tables only validate attributes mixsig never writes: empty lists.
    (tmp_path / "area.xml").write_text("<area_type_table><version_number>0</version_number><date>-</date></area_type_table>")
    (tmp_path / "region.xml").write_text("<standardized_region_list><version_number>0</version_number><date>-</date>"
                                         "</standardized_region_list>")
    result = subprocess.run([shutil.which("cfchecks") or "cfchecks", "-s", table, "-a", str(tmp_path / "area.xml"), "-r",
                             str(tmp_path / "region.xml"), str(written)], capture_output=True, text=True, timeout=300)
    assert "ERRORS detected: 0" in result.stdout and "WARNINGS given: 0" in result.stdout, result.stdout[-3000:]


# -- chunks and lazy reading -----------------------------------------------------------------------


def test_chunks_follow_instances_and_bound_the_spike_chunks(written, dataset):
    with xr.open_dataset(written) as raw:
        for name, variable in raw.variables.items():
            assert variable.encoding["fletcher32"], name
            chunks = variable.encoding["chunksizes"]
            if "instance" in variable.dims:
                assert chunks[variable.dims.index("instance")] == 1, name
            if "spike" in variable.dims:
                assert chunks[0] == min(SPIKE_CHUNK, dataset.sizes["spike"])
    with xr.open_dataset(written, chunks={"instance": 1}) as lazy:
        assert lazy["spike_count"].chunks[0] == (1,) * dataset.sizes["instance"]
        assert lazy["i_mem"].chunks[0] == (1,) * dataset.sizes["instance"]


def test_lazy_open_and_select_read_only_what_they_need(written, dataset):
    with io.open_dataset(written, chunks={"instance": 1}) as lazy:
        assert lazy["spike_time"].chunks is not None  # nothing read yet
        one = mixsig.select(lazy, instance=3).load()
    xr.testing.assert_identical(one, mixsig.select(dataset, instance=3))


def test_lazy_schema_check_still_catches_wrong_counts(tmp_path, dataset):
    bad = dataset.copy(deep=True)
    bad["spike_count"][0, 0] += 1
    bad.to_netcdf(tmp_path / "bad.nc")
    with pytest.raises(ConfigError, match="spike_count"):
        io.open_dataset(tmp_path / "bad.nc", chunks={"instance": 1})


# -- select and the accessor ---------------------------------------------------------------------


@pytest.mark.parametrize("instance, neuron, window", [
    ([0, 5], None, None), (2, [3, 9, 11], None), (slice(2, 5), 8, (0.1, 0.3)), (None, None, (None, 0.2)),
    ([7], [4], (0.25, None)),
])
def test_select_matches_a_reference_filter(dataset, instance, neuron, window):
    chosen = mixsig.select(dataset, instance=instance, neuron=neuron,
                           time=None if window is None else slice(*window))
    io.check_dataset(chosen)
    keep_i = set(np.atleast_1d(dataset["instance"].sel(instance=instance).values).tolist()) if instance is not None \
        else set(dataset["instance"].values.tolist())
    keep_n = set(np.atleast_1d(dataset["neuron"].sel(neuron=neuron).values).tolist()) if neuron is not None \
        else set(dataset["neuron"].values.tolist())
    start, stop = (None, None) if window is None else window
    expected = [(i, n, t) for i, n, t in spikes(dataset) if i in keep_i and n in keep_n
                and (start is None or t >= start) and (stop is None or t <= stop)]
    assert spikes(chosen) == expected
    counted = collections.Counter((i, n) for i, n, _ in expected)
    for i in chosen["instance"].values:
        for n in chosen["neuron"].values:
            assert chosen["spike_count"].sel(instance=i, neuron=n).item() == counted[(i, n)]
    assert set(chosen["neuron_rec"].values.tolist()) == set(dataset["neuron_rec"].values.tolist()) & keep_n
    if window is not None:
        lo, hi = chosen.attrs["time_window"]
        assert lo == (0.0 if start is None else start) and hi == (0.5 if stop is None else stop)
        assert np.all((chosen["time"].values >= lo) & (chosen["time"].values <= hi))


def test_accessor_spike_trains_rates_raster_and_population(dataset):
    trains = dataset.mixsig.spike_trains()
    reference = collections.defaultdict(list)
    for i, n, t in spikes(dataset):
        reference[(i, n)].append(t)
    assert len(trains) == dataset.sizes["instance"] * dataset.sizes["neuron"]
    for key, times in trains.items():
        assert times.tolist() == reference.get(key, [])
    rates = dataset.mixsig.rates()
    np.testing.assert_array_equal(rates.values, dataset["spike_count"].values / 0.5)
    raster = dataset.mixsig.raster(bin_width=0.1)
    assert raster.sizes["time_bin"] == 5
    expected = np.zeros(raster.shape, dtype=int)
    for i, n, t in spikes(dataset):
        expected[list(dataset["instance"].values).index(i), list(dataset["neuron"].values).index(n),
                 min(int(t // 0.1), 4)] += 1
    np.testing.assert_array_equal(raster.values, expected)
    inhibitory = dataset.mixsig.population("inh pool")
    assert inhibitory["neuron"].values.tolist() == [0, 4]
    window = dataset.mixsig.select(time=slice(0.1, 0.35))
    np.testing.assert_allclose(window.mixsig.rates().values, window["spike_count"].values / 0.25)
    with pytest.raises(ConfigError, match="exc"):
        dataset.mixsig.population("nobody")


def test_populations_must_cover_every_neuron_once():
    with pytest.raises(ConfigError) as error:
        build(populations={"a": [11, 3, 8, 4], "b": [4, 0]})
    assert {p.key for p in error.value.problems} == {"populations.b", "populations"}


# -- damaged files, inspect and plot -------------------------------------------------------------------


def test_byte_flips_are_detected_or_harmless(tmp_path, written):
    reference = io.load_dataset(written)
    raw = written.read_bytes()
    rng = np.random.default_rng(17)
    outcomes = collections.Counter()
    damaged = tmp_path / "damaged.nc"
    for _ in range(300):
        flipped = bytearray(raw)
        flipped[int(rng.integers(len(raw)))] ^= int(rng.integers(1, 256))
        damaged.write_bytes(flipped)
        try:
            back = io.load_dataset(damaged)
        except ConfigError as error:
            assert str(damaged) in str(error)
            outcomes["detected"] += 1
            continue
        xr.testing.assert_identical(back, reference)
        outcomes["harmless"] += 1
    assert sum(outcomes.values()) == 300 and outcomes["detected"] > 0
    assert main(["inspect", str(damaged)]) in (0, 2)


def test_truncated_files_fail_cleanly(tmp_path, written, capsys):
    raw = written.read_bytes()
    for keep in (0, 100, len(raw) // 2, len(raw) - 49):
        cut = tmp_path / f"cut{keep}.nc"
        cut.write_bytes(raw[:keep])
        assert main(["inspect", str(cut)]) == 2
        assert main(["plot", str(cut)]) == 2
        assert str(cut) in capsys.readouterr().err


@pytest.mark.parametrize("change", ["no duration", "no router", "zero instances"])
def test_inspect_and_plot_unusual_datasets(tmp_path, capsys, change):
    inputs = synthetic_inputs()
    if change == "zero instances":
        inputs.update(instances=[], seeds=[], spike_times=[], spike_neurons=[], spike_instances=[],
                      traces=None, recorded_neurons=[], trace_times=[], parameters=None, router_statistics=None)
    elif change == "no router":
        inputs["router_statistics"] = None
        inputs["provenance"]["duration"] = 0.5
    ds = io.build_dataset(**inputs)
    path = tmp_path / "unusual.nc"
    io.to_netcdf(ds, path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "unknown duration" in out if "duration" not in ds.attrs else "mean rate (Hz)" in out
    assert main(["plot", str(path), "--prefix", str(tmp_path / "fig")]) == 0
    written_files = sorted(os.listdir(tmp_path))
    if change == "zero instances":
        assert written_files == ["unusual.nc"]
    else:
        assert "fig-raster.png" in written_files and ("fig-rates.png" in written_files) == ("duration" in ds.attrs)


def test_plain_python_import_registers_the_accessor():
    code = "import mixsig.io, xarray as xr; print(hasattr(xr.Dataset(), 'mixsig'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True"
