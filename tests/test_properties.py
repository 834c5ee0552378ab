"""Property-based tests (hypothesis) of the loaders and the dataset schema.

* Random *valid* small experiments on the tiny chip run, and their datasets are schema-valid,
  finite where the schema says a value exists, and conserve events (emitted = delivered +
  dropped + in flight) and spikes (the ragged spike list matches ``spike_count``).
* Random *corruptions* of a valid experiment, chip config or calibration file (one key set to an
  arbitrary TOML value) either load or raise :class:`~mixsig.errors.ConfigError`; no other
  exception escapes a loader or the simulation's set-up.

Sizes are small and examples few, so the layer runs in seconds once the kernels are compiled.
"""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from malformed import BASE_EXPERIMENT, base_calibration, base_chip, mutate
from mixsig.chip.config import chip_from_dict
from mixsig.device.calibration import parse_device_model
from mixsig.engine.simulation import Simulation, run
from mixsig.errors import ConfigError
from mixsig.experiment import experiment_from_dict
from mixsig.io.schema import check_dataset

SETTINGS = settings(deadline=None, max_examples=10, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SYN_TYPES = ("ampa", "nmda", "gaba", "shunt")


@st.composite
def valid_experiments(draw):
    """Small valid experiments on the tiny chip (2 cores x 4 neurons, 3 CAM, 2 SRAM per neuron)."""
    dt = draw(st.sampled_from([5e-5, 1e-4]))
    steps = draw(st.integers(20, 200))
    size_p, size_q = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    channels = draw(st.integers(1, 3))
    connections = [{"pre": "x", "post": "p", "rule": draw(st.sampled_from(["all_to_all", "probability"])),
                    "syn_type": draw(st.sampled_from(SYN_TYPES)), "weight_mask": draw(st.integers(1, 3))}]
    if connections[0]["rule"] == "probability":
        connections[0]["p"] = draw(st.floats(0.0, 1.0))
    if draw(st.booleans()):
        connections.append({"pre": "p", "post": "q", "rule": "one_to_one" if size_p == size_q else "probability",
                            "syn_type": draw(st.sampled_from(SYN_TYPES)), "weight_mask": draw(st.integers(1, 3)),
                            **({} if size_p == size_q else {"p": 0.5})})
    stride = draw(st.integers(1, 10))
    data = {
        "duration": steps * dt, "dt": dt, "instances": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**64 - 1)), "chip": "tiny",
        "device_model": draw(st.sampled_from(["generic_180nm", "none"])),
        "noise": draw(st.booleans()),
        "temperature": draw(st.floats(250.0, 350.0)),
        "populations": {"p": {"size": size_p, "core": 0}, "q": {"size": size_q, "core": 1}},
        "inputs": {"x": {"size": channels, "kind": draw(st.sampled_from(["poisson", "regular"])),
                         "rate": draw(st.floats(1.0, 500.0))}},
        "connections": connections,
        "record": {"traces": draw(st.lists(st.sampled_from(["i_mem", "v_mem", "i_ampa", "i_gaba"]), max_size=2,
                                           unique=True)),
                   "neurons": [0], "interval": stride * dt},
    }
    if draw(st.booleans()):
        data["dc"] = [{"amplitude": draw(st.floats(0.0, 2e-10)), "population": "q",
                       "start": draw(st.floats(0.0, data["duration"] / 2))}]
    return data


@SETTINGS
@given(valid_experiments())
def test_valid_experiments_run_to_conserved_finite_schema_valid_datasets(data):
    experiment = experiment_from_dict(data, source="<hypothesis>")
    ds = run(experiment, progress=False)
    check_dataset(ds)
    assert ds.sizes["instance"] == data["instances"]
    counts = ds["spike_count"].values
    assert counts.sum() == ds.sizes["spike"]
    times = ds["spike_time"].values
    assert np.all(np.isfinite(times)) and np.all((times >= 0) & (times < experiment.duration + experiment.dt))
    for name in data["record"]["traces"]:
        assert np.all(np.isfinite(ds[name].values)), name
    emitted = ds["router__emitted"].values
    settled = ds["router__delivered"].values + ds["router__dropped"].values + ds["router__in_flight"].values
    np.testing.assert_array_equal(emitted, settled)
    for name, var in ds.data_vars.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name


TOML_VALUES = st.one_of(
    st.none(),  # None deletes the key
    st.booleans(),
    st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=6), st.integers(-3, 3), max_size=2),
)
"""Arbitrary TOML values (None: the key is removed)."""


def _paths(data, prefix=()):
    """Every key path of nested dicts and lists of dicts."""
    for key, value in data.items():
        path = prefix + (key,)
        yield path
        if isinstance(value, dict):
            yield from _paths(value, path)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _paths(item, path + (index,))


def _corrupt(data, path, value):
    from malformed import DELETE

    return mutate(data, {path: DELETE if value is None else value})


@st.composite
def corruptions(draw, base):
    paths = sorted(_paths(base), key=repr)
    return draw(st.sampled_from(paths)), draw(TOML_VALUES)


@settings(deadline=None, max_examples=60, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions(BASE_EXPERIMENT))
def test_corrupted_experiment_loads_or_raises_config_error(change):
    data = _corrupt(BASE_EXPERIMENT, *change)
    try:
        Simulation(experiment_from_dict(data, source="<hypothesis>"))
    except ConfigError as error:
        assert error.problems and len(str(error)) < 8000


_CHIP = base_chip()


@settings(deadline=None, max_examples=60, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions(_CHIP))
def test_corrupted_chip_config_loads_or_raises_config_error(change):
    try:
        chip_from_dict(_corrupt(_CHIP, *change), source="<hypothesis>")
    except ConfigError as error:
        assert error.problems


_CALIBRATION = base_calibration()


@settings(deadline=None, max_examples=60, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions(_CALIBRATION))
def test_corrupted_calibration_loads_or_raises_config_error(change):
    try:
        model = parse_device_model(_corrupt(_CALIBRATION, *change), "<hypothesis>")
    except ConfigError as error:
        assert error.problems
    else:
        for stats in model.parameters.values():
            assert all(math.isfinite(s) and s >= 0 for s in stats.sigma.values())
