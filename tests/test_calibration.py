"""Calibration-file loading: shipped models, closed-form spreads, and every kind of defect."""

import hashlib
import importlib.resources
import math

import numpy as np
import pytest

from mixsig.constants import thermal_voltage
from mixsig.device.calibration import load_device_model, write_empirical_tables
from mixsig.errors import ConfigError

BASE = """
[model]
name = "test"

[technology]
a_vt = 5.0e-9
a_c = 1.0e-8
kappa_n = 0.75
kappa_p = 0.66

[temperature]
t_nominal = 300.0
dvt_dt = -1.5e-3
bias = "fixed_current"

[ageing]
rate = 1.0e-3
spread = 0.3e-3
tau = 1.0

[noise]
shot = true
flicker = false

[bias_generator]
fine_max = 255
[bias_generator.n]
i_min = [0.5e-12, 1.0e-12]
i_max = [70.0e-12, 560.0e-12]

[parameters."soma.i_tau"]
source = "bias"
distribution = "pelgrom"
transistor = "n"
w = 1.0e-6
l = 1.0e-6
spread = { core = 0.05 }
"""


def write(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path):
    with pytest.raises(ConfigError) as info:
        load_device_model(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", ["generic_180nm", "fdsoi_22nm", "empirical_demo"])
def test_shipped_models_load_with_provenance(name):
    raw = importlib.resources.files("device_models").joinpath(f"{name}.toml").read_bytes()
    model = load_device_model(name)
    assert model.name == name
    assert model.text == raw.decode()
    assert model.sha256 == hashlib.sha256(raw).hexdigest()


def test_pelgrom_single_device_sigma():
    model = load_device_model("generic_180nm")
    stats = model.parameters["soma.i_tau"]
    assert stats.sigma["neuron"] == pytest.approx(5e-9 / math.sqrt(2 * 1e-6 * 1e-6), rel=1e-12)
    # core-level CV 5 % converted exactly for a lognormal, in V at kappa_n
    assert stats.sigma["core"] == pytest.approx(math.sqrt(math.log(1 + 0.05**2)) * thermal_voltage(300.0) / 0.75, rel=1e-12)
    cap = model.parameters["soma.c_mem"]
    assert cap.sigma["neuron"] == pytest.approx(1e-8 / 30e-6, rel=1e-12)


def test_cv_and_empirical_conversion():
    model = load_device_model("empirical_demo")
    w = model.parameters["synapse.i_w"]
    assert w.level == "synapse"
    assert w.sigma["synapse"] == pytest.approx(math.sqrt(math.log(1 + 0.15**2)) * thermal_voltage(300.0) / 0.66, rel=1e-12)
    leak = model.parameters["soma.i_tau"]
    assert leak.table.cdf[0] == 0.0 and leak.table.cdf[-1] == 1.0
    # values in V = ln-ratio * Ut / kappa; the table's median is that of 0.9 N(0, .1) + 0.1 N(.25, .2) (> 0)
    median = np.interp(0.5, leak.table.cdf, leak.table.value) * 0.75 / thermal_voltage(300.0)
    assert 0.0 < median < 0.05


def test_model_is_frozen(tmp_path):
    model = load_device_model(write(tmp_path, BASE))
    with pytest.raises(Exception):
        model.name = "other"
    with pytest.raises(TypeError):
        model.parameters["x"] = None


def test_unknown_name():
    with pytest.raises(ConfigError, match="expected a file path or a shipped device model: dynapse1_180nm, empirical_demo, fdsoi_22nm, generic_180nm"):
        load_device_model("no_such_model")


DEFECTS = [
    ("unknown top-level key", ("[model]", 'extra = 1\n[model]'),
     "extra = 1: expected one of the keys ageing, bias_generator, corners, gradient, model, noise, parameters, reference, tables, technology, temperature"),
    ("missing key", ("a_vt = 5.0e-9\n", ""), "technology.a_vt = None: expected a number > 0 (V m)"),
    ("wrong type", ("a_vt = 5.0e-9", 'a_vt = "5 mV um"'), "technology.a_vt = '5 mV um': expected a number > 0 (V m)"),
    ("non-positive spread", ("core = 0.05", "core = -0.05"), "parameters.soma.i_tau.spread.core = -0.05: expected a number > 0 (CV)"),
    ("zero Pelgrom geometry", ("w = 1.0e-6", "w = 0.0"), "parameters.soma.i_tau.w = 0.0: expected a number > 0 (gate width, m)"),
    ("unknown parameter", ('"soma.i_tau"', '"soma.i_foo"'),
     "parameters.soma.i_foo = {'source': 'bias', 'distribution': 'pelgrom', 'transistor': 'n', 'w': 1e-06, 'l': 1e-06, "
     "'spread': {'core': 0.05}}: expected a parameter <block>.<field> of soma, adex, ampa, nmda, gaba, shunt, synapse, homeostasis, stp"),
    ("bad choice", ('source = "bias"', 'source = "resistor"'), "parameters.soma.i_tau.source = 'resistor': expected one of 'bias', 'capacitor', 'threshold', 'pulse'"),
    ("level not shared", ("core = 0.05", "synapse = 0.05"), "parameters.soma.i_tau.spread.synapse = 0.05: expected one of the shared levels chip, core"),
    ("unknown parameter key", ("w = 1.0e-6", "w = 1.0e-6\nwidth = 2"),
     "parameters.soma.i_tau.width = 2: expected one of the keys c_l, c_w, cv, distribution, kappa, l, reference, source, spread, table, transistor, w"),
    ("non-boolean switch", ("shot = true", "shot = 1"), "noise.shot = 1: expected true or false"),
    ("negative ageing spread", ("spread = 0.3e-3", "spread = -0.3e-3"), "ageing.spread = -0.0003: expected a number >= 0 (V per decade)"),
    ("bias table not increasing", ("560.0e-12]", "60.0e-12]"), "bias_generator.n.i_max = [7e-11, 6e-11]: expected values increasing with coarse"),
    ("bias table length", ("i_max = [70.0e-12, 560.0e-12]", "i_max = [70.0e-12]"), "bias_generator.n.i_max = [7e-11]: expected 2 values, as many as i_min"),
    ("fine step below floor", ("i_max = [70.0e-12, 560.0e-12]", "i_max = [0.4e-12, 560.0e-12]"),
     "bias_generator.n.i_max = [4e-13, 5.6e-10]: expected each value > the i_min of the same coarse value"),
    ("capacitor with transistor", ('source = "bias"', 'source = "capacitor"'),
     "parameters.soma.i_tau.transistor = 'n': expected no such key for a capacitor"),
    ("kappa out of range", ("kappa_n = 0.75", "kappa_n = 1.5"), "technology.kappa_n = 1.5: expected a number in (0, 1]"),
    ("cv for a threshold", ('source = "bias"\ndistribution = "pelgrom"', 'source = "threshold"\ndistribution = "cv"\ncv = 0.1'),
     "parameters.soma.i_tau.distribution = 'cv': expected 'pelgrom' or 'empirical' for a threshold (a voltage has no CV)"),
]


@pytest.mark.parametrize("old_new, message", [pytest.param(d[1], d[2], id=d[0]) for d in DEFECTS])
def test_each_defect_has_an_exact_message(tmp_path, old_new, message):
    old, new = old_new
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    assert problems_of(path) == [f"{path}: {message}"]


def test_all_defects_reported_at_once(tmp_path):
    text = BASE.replace("a_vt = 5.0e-9", 'a_vt = "x"').replace("shot = true", "shot = 1").replace("core = 0.05", "core = 0")
    path = write(tmp_path, text)
    found = problems_of(path)
    assert len(found) == 3
    with pytest.raises(ConfigError) as info:
        load_device_model(path)
    assert str(info.value).startswith(f"invalid device model {path}: 3 problem(s)")


def test_bad_toml_syntax(tmp_path):
    path = write(tmp_path, BASE + "\n[model\n")
    (message,) = problems_of(path)
    assert message.startswith(f"{path}: (syntax) = None: expected valid TOML (")


EMPIRICAL = BASE.replace('distribution = "pelgrom"', 'distribution = "empirical"\ntable = "t"').replace(
    "w = 1.0e-6\nl = 1.0e-6\n", ""
) + '\n[tables]\nfile = "tables.nc"\n'


@pytest.mark.parametrize(
    "cdf, value, message",
    [
        ([0.0, 0.7, 0.5, 1.0], [-1.0, 0.0, 0.5, 1.0], "t_cdf = [0.0, 0.7, 0.5, 1.0]: expected finite values strictly increasing from 0 to 1"),
        ([0.1, 0.5, 1.0], [-1.0, 0.0, 1.0], "t_cdf = [0.1, 0.5, 1.0]: expected finite values strictly increasing from 0 to 1"),
        ([0.0, 0.5, 1.0], [-1.0, float("nan"), 1.0], "t_value = [-1.0, nan, 1.0]: expected finite values strictly increasing"),
    ],
)
def test_malformed_empirical_tables(tmp_path, cdf, value, message):
    write_empirical_tables(tmp_path / "tables.nc", {"t": (np.array(cdf), np.array(value))})
    path = write(tmp_path, EMPIRICAL)
    found = problems_of(path)
    assert found[0] == f"{path} -> tables.nc: {message}"
    assert found[1] == f"{path}: parameters.soma.i_tau.table = 't': expected the name of a table in the file given by tables.file: "


def test_missing_table_file_and_name(tmp_path):
    path = write(tmp_path, EMPIRICAL)
    assert problems_of(path) == [
        f"{path}: tables.file = 'tables.nc': expected an existing netCDF file next to the TOML file",
        f"{path}: parameters.soma.i_tau.table = 't': expected the name of a table in the file given by tables.file: ",
    ]


def test_valid_empirical_table_roundtrip(tmp_path):
    cdf, value = np.linspace(0, 1, 5), np.array([-0.2, -0.1, 0.0, 0.1, 0.3])
    write_empirical_tables(tmp_path / "tables.nc", {"t": (cdf, value)})
    model = load_device_model(write(tmp_path, EMPIRICAL))
    table = model.parameters["soma.i_tau"].table
    np.testing.assert_array_equal(table.cdf, cdf)
    np.testing.assert_allclose(table.value, value * thermal_voltage(300.0) / 0.75, rtol=1e-14)
    assert model.tables_sha256 == hashlib.sha256((tmp_path / "tables.nc").read_bytes()).hexdigest()


def test_documented_example_is_valid(tmp_path):
    """The complete annotated example of docs/calibration.md loads."""
    import pathlib
    import re

    doc = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "calibration.md").read_text()
    section = doc.split("### Complete annotated example", 1)[1]
    text = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    write_empirical_tables(tmp_path / "my_chip.nc", {"leak_current": (np.linspace(0, 1, 3), np.array([-0.1, 0.0, 0.1]))})
    model = load_device_model(write(tmp_path, text, "my_chip.toml"))
    assert set(model.parameters) == {"ampa.i_tau", "ampa.c_syn", "ampa.t_pulse", "soma.i_fb_0", "synapse.i_w", "soma.i_tau"}
    assert not model.parameters["soma.i_fb_0"].reference and model.parameters["ampa.t_pulse"].reference
    assert model.corner_names() == ["ff", "ss", "tt", "mc"] and model.common.gradient_vt == 2e-3
    assert set(model.parameters["synapse.i_w"].sigma) == {"core", "neuron", "synapse"}
