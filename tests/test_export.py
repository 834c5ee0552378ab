"""Exports to Neo, NWB, tonic and AEDAT 2.0, read back with the real libraries.

Expected spikes come from the dataset's ragged arrays, grouped by a reference loop over
``(instance, neuron, time)`` tuples, never from the exporters' own helpers.
"""

import collections
import datetime

import numpy as np
import pytest

from mixsig import export, io
from mixsig.aer.aedat import read_aedat
from mixsig.errors import ConfigError
from test_io import provenance, synthetic_inputs  # noqa: E402  (tests/ is on sys.path under pytest)

neo = pytest.importorskip("neo")
pynwb = pytest.importorskip("pynwb")
tonic = pytest.importorskip("tonic")

N_CORES, PER_CORE = 2, 2
NEURONS = (11, 3, 8, 4, 0, 9)
CHIP_TOML = f'[chip]\nname = "tiny"\nn_cores = {N_CORES}\nneurons_per_core = {PER_CORE}\n'
POPULATIONS = {"exc": [11, 3, 8], "inh pool": [4, 0], "out": [9]}


def build(chip_toml=CHIP_TOML):
    """A dataset whose neuron ids follow the chip geometry ``g = (chip * 2 + core) * 2 + local``."""
    inputs = synthetic_inputs(n_spike=500, neurons=NEURONS)
    neurons = np.array(NEURONS)
    inputs.update(cores=(neurons // PER_CORE) % N_CORES, chips=neurons // (PER_CORE * N_CORES),
                  populations=POPULATIONS,
                  provenance=provenance(chip_toml=chip_toml, duration=0.5, title="synthetic run"))
    return io.build_dataset(**inputs)


@pytest.fixture(scope="module")
def dataset():
    return build()


def reference(ds):
    """``{(instance, neuron): [times]}`` from the ragged arrays, in stored order."""
    trains = collections.defaultdict(list)
    for i, n, t in zip(ds["spike_instance"].values, ds["spike_neuron"].values, ds["spike_time"].values):
        trains[int(i), int(n)].append(t)
    return trains


def population_of(neuron):
    """The neuron's population as the dataset names it (a CF flag word: blanks become ``_``)."""
    return next(name for name, members in POPULATIONS.items() if neuron in members).replace(" ", "_")


def test_neo_block_holds_every_train_bit_for_bit_after_a_file_round_trip(tmp_path, dataset):
    expected = reference(dataset)
    block = export.to_neo(dataset)
    for suffix in (".mat", ".pkl"):
        export.write_neo(block, tmp_path / f"run{suffix}")
        reader = neo.io.NeoMatlabIO if suffix == ".mat" else neo.io.PickleIO
        back = reader(str(tmp_path / f"run{suffix}")).read_block()
        assert back.annotations["seed"] == dataset.attrs["seed"]
        assert back.annotations["experiment_toml"] == dataset.attrs["experiment_toml"]
        assert [seg.annotations["instance"] for seg in back.segments] == dataset["instance"].values.tolist()
        for segment in back.segments:
            assert segment.annotations["seed"] == int(dataset["seed"].sel(instance=segment.annotations["instance"]))
            assert len(segment.spiketrains) == len(NEURONS)
            for train in segment.spiketrains:
                key = (train.annotations["instance"], train.annotations["neuron"])
                assert train.units.dimensionality.string == "s"
                times = train.magnitude
                assert times.dtype == np.float64
                np.testing.assert_array_equal(times, np.array(expected.get(key, []), dtype=np.float64))
                assert train.annotations["population"] == population_of(key[1])
                assert train.annotations["core"] == (key[1] // PER_CORE) % N_CORES
                assert float(train.t_stop.rescale("s").magnitude) == 0.5
        groups = {group.name: group for group in back.groups}
        assert sorted(groups) == ["exc", "inh_pool", "out"]
        assert len(groups["exc"].spiketrains) == 3 * dataset.sizes["instance"]


def test_neo_one_instance_and_unknown_instances(dataset):
    block = export.to_neo(dataset, instance=5)
    assert [seg.annotations["instance"] for seg in block.segments] == [5]
    with pytest.raises(ConfigError) as error:
        export.to_neo(dataset, instance=[5, 42, True])
    assert {problem.value for problem in error.value.problems} == {42, True}


def test_nwb_units_table_round_trips_bit_for_bit_and_validates(tmp_path, dataset):
    path = tmp_path / "run.nwb"
    export.to_nwb(dataset, path, instance=[2, 7])
    assert not pynwb.validate(path=str(path))  # no schema violations
    expected = reference(dataset)
    with pynwb.NWBHDF5IO(str(path), "r") as reader:
        nwb = reader.read()
        assert nwb.session_start_time == datetime.datetime.fromisoformat(dataset.attrs["creation_time"])
        assert nwb.session_description == "synthetic run"
        assert nwb.notes == dataset.attrs["experiment_toml"]
        assert list(nwb.devices) == ["tiny"]
        assert nwb.electrodes is None
        table = nwb.units.to_dataframe()
        assert table["instance"].tolist() == [2] * len(NEURONS) + [7] * len(NEURONS)
        assert table["neuron"].tolist() == sorted(NEURONS) * 2  # the dataset's neuron order
        for row in table.itertuples():
            times = np.asarray(row.spike_times)
            assert times.dtype == np.float64
            np.testing.assert_array_equal(times, np.array(expected.get((row.instance, row.neuron), []), dtype=np.float64))
            assert row.population == population_of(row.neuron)
            np.testing.assert_array_equal(row.obs_intervals, [[0.0, 0.5]])
        identifier = nwb.identifier
    export.to_nwb(dataset, tmp_path / "again.nwb", instance=[2, 7])
    with pynwb.NWBHDF5IO(str(tmp_path / "again.nwb"), "r") as reader:
        assert reader.read().identifier == identifier  # derived from the provenance: the same export, the same id


def test_tonic_events_feed_tonic_transforms(dataset):
    events = export.to_tonic(dataset, instance=7)
    expected = sorted((t, sorted(NEURONS).index(n)) for (i, n), times in reference(dataset).items() if i == 7 for t in times)
    assert events.dtype.names == ("t", "x", "p")
    assert len(events) == int(dataset["spike_count"].sel(instance=7).sum())
    np.testing.assert_array_equal(events["t"], np.array([t for t, _ in expected]) * 1e6)  # us, not rounded
    assert sorted(zip(events["t"].tolist(), events["x"].tolist())) == [(t * 1e6, x) for t, x in expected]
    assert np.all(np.diff(events["t"]) >= 0) and not np.any(events["p"])
    frames = tonic.transforms.ToFrame(sensor_size=export.sensor_size(dataset), time_window=100_000.0,
                                       include_incomplete=True)(events.copy())
    assert frames.shape[1:] == (1, len(NEURONS))  # tonic frames without y are (T, P, W)
    counts = dataset["spike_count"].sel(instance=7).values
    np.testing.assert_array_equal(frames.sum(axis=(0, 1)), counts)
    grid = export.to_tonic(dataset, instance=7, shape=(3, 2))
    frames = tonic.transforms.ToFrame(sensor_size=export.sensor_size(dataset, (3, 2)), time_window=250_000.0,
                                      include_incomplete=True)(grid.copy())
    np.testing.assert_array_equal(frames.sum(axis=(0, 1)).ravel(), counts)  # (T, P, H, W): row-major


def test_tonic_needs_one_instance_and_a_layout_that_holds_the_neurons(dataset):
    with pytest.raises(ConfigError, match="one instance id"):
        export.to_tonic(dataset)
    with pytest.raises(ConfigError, match="width \\* height >= 6"):
        export.to_tonic(dataset, instance=7, shape=(2, 2))


def test_aedat_per_instance_time_sorted_with_a_header(tmp_path, dataset):
    path = tmp_path / "run.aedat"
    export.to_aedat(dataset, path, instance=3)
    addresses, stamps, header = read_aedat(path)
    assert np.all(np.diff(stamps) >= 0)
    chip, core, local = addresses >> 20, (addresses >> 16) & 15, addresses & 0xFFFF
    neuron = (chip * N_CORES + core) * PER_CORE + local
    expected = sorted((round(t * 1e6), n) for (i, n), times in reference(dataset).items() if i == 3 for t in times)
    assert sorted(zip(stamps.tolist(), neuron.tolist())) == expected
    text = "\n".join(header)
    for fragment in ("mixsig-version: 0.1.0", "chip: tiny, 2 cores x 2 neurons per core", "instance: 3 (seed",
                     "time-origin: start of the run"):
        assert fragment in text


def test_aedat_refuses_what_it_cannot_address(tmp_path, dataset):
    with pytest.raises(ConfigError, match="one instance id per AEDAT file"):
        export.to_aedat(dataset, tmp_path / "x.aedat")
    without = build(chip_toml='[chip]\nname = "tiny"\n')
    with pytest.raises(ConfigError) as error:
        export.to_aedat(without, tmp_path / "x.aedat", instance=3)
    assert {problem.key for problem in error.value.problems} == {"chip_toml.chip.n_cores", "chip_toml.chip.neurons_per_core"}
    assert not list(tmp_path.iterdir())


def test_a_missing_library_names_the_extra(monkeypatch, dataset):
    import builtins

    real_import = builtins.__import__

    def no_neo(name, *args, **kwargs):
        if name == "neo" or name.startswith("neo."):
            raise ImportError("No module named 'neo'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_neo)
    monkeypatch.delitem(__import__("sys").modules, "neo")
    with pytest.raises(ConfigError, match=r'pip install "mixsig\[interop\]"'):
        export.to_neo(dataset)


def test_sweep_datasets_are_refused(dataset):
    swept = dataset.expand_dims(condition=[0, 1])
    with pytest.raises(ConfigError, match="condition_dataset"):
        export.to_neo(swept)


# -- mixsig export ------------------------------------------------------------------------------


@pytest.fixture
def run_file(tmp_path, dataset):
    io.to_netcdf(dataset, tmp_path / "run.nc")
    return tmp_path / "run.nc"


def test_command_writes_every_format(run_file, capsys):
    from mixsig.cli import main

    folder = run_file.parent
    assert main(["export", str(run_file), "--to", "neo", "-o", str(folder / "run.mat"), "--instance", "2"]) == 0
    block = neo.io.NeoMatlabIO(str(folder / "run.mat")).read_block()
    assert [seg.annotations["instance"] for seg in block.segments] == [2]
    assert main(["export", str(run_file), "--to", "nwb", "-o", str(folder / "run.nwb")]) == 0
    with pynwb.NWBHDF5IO(str(folder / "run.nwb"), "r") as reader:
        assert len(reader.read().units) == 5 * len(NEURONS)
    assert main(["export", str(run_file), "--to", "tonic", "-o", str(folder / "ev.npy"), "--instance", "0",
                 "--instance", "5"]) == 0
    for instance in (0, 5):
        events = np.load(folder / f"ev.instance{instance}.npy")
        assert len(events) == int(dataset_spikes(run_file, instance))
    assert main(["export", str(run_file), "--to", "aedat", "-o", str(folder / "one.aedat"), "--instance", "3"]) == 0
    assert len(read_aedat(folder / "one.aedat")[0]) == dataset_spikes(run_file, 3)
    out = capsys.readouterr().out
    assert out.count("wrote ") == 5


def dataset_spikes(path, instance):
    return int(io.load_dataset(path)["spike_count"].sel(instance=instance).sum())


def test_command_lists_every_problem_and_writes_nothing(run_file, capsys):
    from mixsig.cli import main

    folder = run_file.parent
    (folder / "taken.instance2.aedat").write_text("keep")
    before = sorted(p.name for p in folder.iterdir())
    status = main(["export", str(run_file), "--to", "aedat", "-o", str(folder / "taken.aedat"), "--instance", "2",
                   "--instance", "4", "--instance", "41"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "41" in err and "--instance" in err  # the unknown instance
    status = main(["export", str(run_file), "--to", "aedat", "-o", str(folder / "taken.aedat"), "--instance", "2",
                   "--instance", "3"])
    err = capsys.readouterr().err
    assert status == 2 and "taken.instance2.aedat" in err and "--force" in err
    status = main(["export", str(run_file), "--to", "neo", "-o", str(folder / "run.h5")])
    assert status == 2 and ".mat or .pkl" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / "taken.instance2.aedat").read_text() == "keep"
    assert main(["export", str(run_file), "--to", "aedat", "-o", str(folder / "taken.aedat"), "--instance", "2",
                 "--instance", "3", "--force"]) == 0
    assert read_aedat(folder / "taken.instance2.aedat")[0].size == dataset_spikes(run_file, 2)


def test_an_interrupted_export_leaves_no_debris(run_file, capsys, monkeypatch):
    from mixsig.cli import main
    from mixsig.export import tonic as tonic_export

    def interrupted(stream, *args, **kwargs):
        stream.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(tonic_export.np, "save", interrupted)
    before = sorted(p.name for p in run_file.parent.iterdir())
    assert main(["export", str(run_file), "--to", "tonic", "-o", str(run_file.parent / "ev.npy"), "--instance", "2"]) == 130
    assert sorted(p.name for p in run_file.parent.iterdir()) == before


def test_a_simulated_run_round_trips_through_aedat_as_global_neuron_ids(tmp_path):
    """On a real run the neuron ids are global ids ``(chip * n_cores + core) * neurons_per_core + k``."""
    from malformed import BASE_EXPERIMENT, dumps, mutate, write
    from mixsig.aer import read_spikes
    from mixsig.chip import load_chip
    from mixsig.engine.simulation import run
    from mixsig.experiment import load_experiment

    exp = mutate(BASE_EXPERIMENT, {"duration": 0.3, "inputs.x.rate": 400.0,
                                   "connections": [{"pre": "x", "post": "p", "rule": "one_to_one", "syn_type": "ampa",
                                                    "weight_mask": 3},
                                                   {"pre": "x", "post": "q", "rule": "one_to_one", "syn_type": "ampa",
                                                    "weight_mask": 3}]})
    ds = run(load_experiment(write(tmp_path / "exp.toml", dumps(exp))), progress=False)
    chip = load_chip("tiny")
    for instance in ds["instance"].values.tolist():
        export.to_aedat(ds, tmp_path / f"i{instance}.aedat", instance=instance)
        times, neurons = read_spikes(tmp_path / f"i{instance}.aedat", chip.n_cores, chip.neurons_per_core)
        expected = sorted((round(t * 1e6) * 1e-6, n) for (i, n), train in reference(ds).items() if i == instance
                          for t in train)
        assert expected, "the run should spike"
        assert sorted(zip(times.tolist(), neurons.tolist())) == expected
