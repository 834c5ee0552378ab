"""Hierarchical mismatch sampler: determinism, seeding contract, hierarchy and lognormal statistics."""

import math
import zlib

import numpy as np
import pytest

from mixsig.constants import thermal_voltage
from mixsig.device import ChipShape, factors, instance_seed_sequence, load_device_model, sample_mismatch
from mixsig.device.calibration import parse_device_model

SHAPE = dict(n_cores=4, neurons_per_core=16, synapses_per_neuron=8)


def model_with(parameters, **extra):
    data = {
        "model": {"name": "unit"},
        "technology": {"a_vt": 5e-9, "a_c": 1e-8},
        "temperature": {"t_nominal": 300.0, "dvt_dt": -1.5e-3, "bias": "fixed_current"},
        "ageing": {"rate": 1e-3, "spread": 0.3e-3, "tau": 1.0},
        "noise": {"shot": True, "flicker": False},
        "parameters": parameters,
        **extra,
    }
    return parse_device_model(data, "<test>")


PELGROM = {"source": "bias", "distribution": "pelgrom", "transistor": "n", "kappa": 0.705, "w": 1e-6, "l": 1e-6}


def test_batches_and_order_give_identical_draws():
    model = load_device_model("generic_180nm")
    whole = sample_mismatch(model, **SHAPE, instances=8, seed=42)
    first = sample_mismatch(model, **SHAPE, instances=[0, 1, 2, 3], seed=42)
    second = sample_mismatch(model, **SHAPE, instances=[4, 5, 6, 7], seed=42)
    backwards = sample_mismatch(model, **SHAPE, instances=list(range(7, -1, -1)), seed=42)
    for name in whole.data_vars:
        np.testing.assert_array_equal(whole[name].values, np.concatenate([first[name].values, second[name].values]))
        np.testing.assert_array_equal(whole[name].values, backwards[name].values[::-1])
    other_seed = sample_mismatch(model, **SHAPE, instances=8, seed=43)
    assert not np.array_equal(whole["soma.i_tau"].values, other_seed["soma.i_tau"].values)


def test_draws_do_not_depend_on_other_parameters():
    alone = model_with({"soma.i_tau": dict(PELGROM, spread={"core": 0.05})})
    crowded = model_with({"soma.i_gain": PELGROM, "soma.i_tau": dict(PELGROM, spread={"core": 0.05}), "ampa.i_tau": PELGROM})
    a = sample_mismatch(alone, **SHAPE, instances=3, seed=5)["soma.i_tau"].values
    b = sample_mismatch(crowded, **SHAPE, instances=3, seed=5)["soma.i_tau"].values
    np.testing.assert_array_equal(a, b)


def test_reference_loop_reproduces_the_documented_seeding():
    """Independent loop over instances, chips, cores and neurons following the module docstring."""
    spread = {"chip": 0.02, "core": 0.05, "neuron": 0.03}
    model = model_with({"synapse.i_w": dict(PELGROM, spread=spread)})
    shape = dict(n_cores=2, neurons_per_core=3, synapses_per_neuron=4, n_chips=2)
    ds = sample_mismatch(model, **shape, instances=[3, 1], seed=9)
    ut = thermal_voltage(300.0)
    sig = {k: math.sqrt(math.log(1 + v * v)) * ut / 0.705 for k, v in spread.items()}
    sig["synapse"] = 5e-9 / math.sqrt(2e-12)
    key = zlib.crc32(b"synapse.i_w")
    for row, instance in enumerate([3, 1]):
        draws = {
            level: sig[level] * np.random.default_rng(np.random.SeedSequence(9, spawn_key=(instance, 0, key, number))).standard_normal(size)
            for number, (level, size) in enumerate([("chip", 2), ("core", 4), ("neuron", 12), ("synapse", 48)])
        }
        for chip in range(2):
            for core in range(2):
                for k in range(3):
                    neuron = (chip * 2 + core) * 3 + k
                    for j in range(4):
                        s = neuron * 4 + j
                        expected = draws["chip"][chip] + draws["core"][chip * 2 + core] + draws["neuron"][neuron] + draws["synapse"][s]
                        assert ds["synapse.i_w"].values[row, s] == pytest.approx(expected, rel=1e-10, abs=1e-18)
    assert ds["core"].values.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert ds["chip"].values.tolist() == [0] * 6 + [1] * 6
    assert ds["synapse_neuron"].values.tolist() == [n for n in range(12) for _ in range(4)]


def test_instance_seed_sequence_equals_spawning():
    spawned = np.random.SeedSequence(7).spawn(5)[4].spawn(3)[2]
    direct = instance_seed_sequence(7, 4, 2)
    np.testing.assert_array_equal(spawned.generate_state(4), direct.generate_state(4))


def test_lognormal_current_statistics():
    """ln I is normal with sigma = kappa sigma_VT / Ut: CV and median in closed form."""
    model = model_with({"soma.i_tau": PELGROM})
    ds = sample_mismatch(model, n_cores=1, neurons_per_core=20000, synapses_per_neuron=0, instances=2, seed=1)
    f = factors(ds)["soma.i_tau"].values.ravel()
    sigma_ln = 0.705 * (5e-9 / math.sqrt(2e-12)) / thermal_voltage(300.0)
    n = f.size
    assert np.std(np.log(f)) == pytest.approx(sigma_ln, rel=5 * math.sqrt(0.5 / n))
    assert np.median(f) == pytest.approx(1.0, abs=5 * 1.2533 * sigma_ln / math.sqrt(n))
    cv = math.sqrt(math.exp(sigma_ln**2) - 1)
    assert np.std(f) / np.mean(f) == pytest.approx(cv, rel=0.03)
    assert np.all(f > 0)


def test_core_component_does_not_average_out():
    model = model_with({"soma.i_tau": dict(PELGROM, spread={"core": 0.05})})
    ds = sample_mismatch(model, n_cores=4, neurons_per_core=256, synapses_per_neuron=0, instances=200, seed=3)
    dvt = ds["soma.i_tau"].values.reshape(200, 4, 256)
    core_means = dvt.mean(axis=2).ravel()
    stats = model.parameters["soma.i_tau"]
    expected = stats.sigma["core"] ** 2 + stats.sigma["neuron"] ** 2 / 256
    assert np.var(core_means) == pytest.approx(expected, rel=5 * math.sqrt(2 / core_means.size))
    within = dvt - dvt.mean(axis=2, keepdims=True)
    assert np.var(within) == pytest.approx(stats.sigma["neuron"] ** 2 * 255 / 256, rel=0.01)


def test_empirical_table_inverse_cdf():
    model = load_device_model("empirical_demo")
    ds = sample_mismatch(model, n_cores=1, neurons_per_core=50000, synapses_per_neuron=0, instances=1, seed=2)
    values = ds["ampa.c_syn"].values.ravel()  # ln(C/C_nom) ~ N(0, 0.01) per the table's documented origin
    table = model.parameters["ampa.c_syn"].table
    for p in (0.1, 0.5, 0.9):
        q = np.interp(p, table.cdf, table.value)
        # quantile standard error sqrt(p(1-p)/n)/pdf
        pdf = math.exp(-0.5 * (q / 0.01) ** 2) / (0.01 * math.sqrt(2 * math.pi))
        assert np.quantile(values, p) == pytest.approx(q, abs=5 * math.sqrt(p * (1 - p) / values.size) / pdf)


def test_dataset_metadata_and_shapes():
    model = load_device_model("generic_180nm")
    ds = sample_mismatch(model, n_cores=2, neurons_per_core=4, synapses_per_neuron=3, n_chips=2, instances=2)
    assert ds["soma.i_tau"].dims == ("instance", "neuron") and ds["soma.i_tau"].shape == (2, 16)
    assert ds["synapse.i_w"].dims == ("instance", "synapse") and ds["synapse.i_w"].shape == (2, 48)
    assert ds["soma.i_tau"].attrs["units"] == "V" and ds["soma.c_mem"].attrs["units"] == "1"
    assert ds.attrs["device_model_sha256"] == model.sha256
    for var in ds.variables.values():
        assert "units" in var.attrs and "long_name" in var.attrs


@pytest.mark.parametrize("bad", [dict(n_cores=0), dict(neurons_per_core=2.5), dict(synapses_per_neuron=-1), dict(n_chips=True)])
def test_bad_chip_shape(bad):
    with pytest.raises(ValueError):
        ChipShape(**{**dict(n_cores=1, neurons_per_core=1, synapses_per_neuron=1, n_chips=1), **bad})


def test_any_partition_of_instances_gives_the_same_draws():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    model = load_device_model("fdsoi_22nm")
    shape = dict(n_cores=2, neurons_per_core=3, synapses_per_neuron=2)
    whole = sample_mismatch(model, **shape, instances=6, seed=1)

    @settings(max_examples=20, deadline=None)
    @given(st.permutations(range(6)), st.integers(1, 5))
    def check(order, cut):
        parts = [sample_mismatch(model, **shape, instances=list(order[:cut]), seed=1), sample_mismatch(model, **shape, instances=list(order[cut:]), seed=1)]
        for part in parts:
            for name in whole.data_vars:
                np.testing.assert_array_equal(part[name].values, whole[name].sel(instance=part["instance"].values).values)

    check()


@pytest.mark.parametrize("bad", [[-1], [[0, 1]], [0.5]])
def test_bad_instances(bad):
    with pytest.raises(ValueError):
        sample_mismatch(load_device_model("generic_180nm"), **SHAPE, instances=bad)
