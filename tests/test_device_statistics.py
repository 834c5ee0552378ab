"""Complete, correlated device statistics: common reference factors, pulse widths, die gradient,
process corners, the aged chip at the start of a run, and the errors of bad calibration values."""

import math

import numpy as np
import pytest

from mixsig.cli import main
from mixsig.constants import thermal_voltage
from mixsig.device import ChipShape, factors, load_device_model, sample_mismatch
from mixsig.device.calibration import BLOCK_FIELDS, parse_device_model
from mixsig.device.drift import factor_arrays
from mixsig.device.mismatch import die_positions, instance_corner
from mixsig.errors import ConfigError

UT = thermal_voltage(300.0)
SHAPE = dict(n_cores=4, neurons_per_core=64, synapses_per_neuron=4)
BIAS = {"source": "bias", "distribution": "pelgrom", "transistor": "n", "kappa": 0.7, "w": 1e-6, "l": 1e-6}
PULSE = {"source": "pulse", "distribution": "pelgrom", "transistor": "n", "kappa": 0.7, "w": 1e-6, "l": 1e-6,
         "c_w": 4e-6, "c_l": 4e-6}
CORNERS = {"ss": {"dvt_n": 0.04, "dvt_p": 0.03, "i_ref": 0.9, "c": 1.05},
           "ff": {"dvt_n": -0.04, "dvt_p": -0.03, "i_ref": 1.1, "c": 0.95}}


def model_with(parameters, bias="fixed_current", **extra):
    data = {
        "model": {"name": "unit"},
        "technology": {"a_vt": 5e-9, "a_c": 1e-8},
        "temperature": {"t_nominal": 300.0, "dvt_dt": -1.5e-3, "bias": bias},
        "ageing": {"rate": 1e-3, "spread": 0.0, "tau": 1.0},
        "noise": {"shot": True, "flicker": False},
        "parameters": parameters,
        **extra,
    }
    return parse_device_model(data, "<test>")


def ln_factors(model, instances=4, seed=3, corner="tt", shape=SHAPE):
    mm = sample_mismatch(model, **shape, instances=instances, seed=seed, corner=corner)
    nominal = {name: 1e-9 for name in mm.data_vars if mm[name].attrs.get("source") == "bias"}
    f = factors(mm, age=0.0, nominal=nominal)
    return {name: np.log(f[name].values) for name in f.data_vars if f[name].attrs["units"] == "1"}, f


PARAMETERS = {"soma.i_tau": BIAS, "soma.i_gain": dict(BIAS, transistor="p", kappa=0.65),
              "ampa.t_pulse": PULSE, "synapse.i_w": BIAS, "soma.i_fb_0": dict(BIAS, reference=False)}


def test_master_reference_is_common_to_every_bias_and_cancels_in_ratios():
    plain = ln_factors(model_with(PARAMETERS))[0]
    referenced = ln_factors(model_with(PARAMETERS, reference={"chip": 0.2, "core": 0.1}))[0]
    shift = referenced["soma.i_tau"] - plain["soma.i_tau"]
    core = np.arange(shift.shape[1]) // SHAPE["neurons_per_core"]
    # one factor per (instance, core), the same for every bias current of the core ...
    for c in range(SHAPE["n_cores"]):
        assert np.ptp(shift[:, core == c], axis=1) == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(referenced["soma.i_gain"] - plain["soma.i_gain"], shift, atol=1e-12)
    neuron_of_synapse = np.repeat(np.arange(core.size), SHAPE["synapses_per_neuron"])
    np.testing.assert_allclose(referenced["synapse.i_w"] - plain["synapse.i_w"], shift[:, neuron_of_synapse], atol=1e-12)
    # ... dividing the pulse width (t = V C / I): the charge i_w t_pulse of a pulse does not see it
    np.testing.assert_allclose(referenced["ampa.t_pulse"] - plain["ampa.t_pulse"], -shift, atol=1e-12)
    # a device that is not biased by the DAC (reference = false) does not follow it
    np.testing.assert_allclose(referenced["soma.i_fb_0"], plain["soma.i_fb_0"], atol=1e-12)
    # and the common factor differs between cores and chips
    assert np.std(shift) > 0.05


def test_reference_spread_matches_its_cv():
    model = model_with({"soma.i_tau": dict(BIAS, w=1e3, l=1e3)}, reference={"chip": 0.2, "core": 0.1})
    shape = dict(n_cores=2, neurons_per_core=1, synapses_per_neuron=0)
    ln_f = ln_factors(model, instances=4000, shape=shape)[0]["soma.i_tau"]
    chip_sigma, core_sigma = math.sqrt(math.log(1.04)), math.sqrt(math.log(1.01))
    expected = math.sqrt(chip_sigma**2 + core_sigma**2)
    assert np.std(ln_f) == pytest.approx(expected, rel=4 / math.sqrt(2 * ln_f.size))
    between = ln_f[:, 0] - ln_f[:, 1]
    assert np.std(between) == pytest.approx(math.sqrt(2) * core_sigma, rel=4 / math.sqrt(2 * 4000))


def test_pulse_width_spread_is_current_and_capacitor_pelgrom():
    model = model_with({"ampa.t_pulse": PULSE})
    ln_t = ln_factors(model, instances=20)[0]["ampa.t_pulse"]
    current = 0.7 * 5e-9 / (UT * math.sqrt(2 * 1e-6 * 1e-6))
    capacitor = 1e-8 / math.sqrt(4e-6 * 4e-6)
    assert np.std(ln_t) == pytest.approx(math.hypot(current, capacitor), rel=4 / math.sqrt(2 * ln_t.size))


def test_ageing_lengthens_a_pulse_as_it_weakens_its_current():
    model = model_with({"ampa.t_pulse": PULSE, "soma.i_tau": BIAS})
    mm = sample_mismatch(model, **SHAPE, instances=1, seed=1)
    young, old = factors(mm, age=0.0), factors(mm, age=1e4)
    shift = 1e-3 * math.log10(1 + 1e4)
    np.testing.assert_allclose(old["ampa.t_pulse"] / young["ampa.t_pulse"], math.exp(0.7 * shift / UT), rtol=1e-12)
    np.testing.assert_allclose(old["soma.i_tau"] / young["soma.i_tau"], math.exp(-0.7 * shift / UT), rtol=1e-12)


def test_die_gradient_is_one_plane_per_chip():
    model = model_with({"soma.v_ref": {"source": "threshold", "distribution": "pelgrom", "transistor": "n",
                                       "w": 1e6, "l": 1e6}}, gradient={"vt": 2e-3})
    shape = ChipShape(4, 16, 0, n_chips=2)
    mm = sample_mismatch(model, 4, 16, 0, n_chips=2, instances=600, seed=2)
    dv = mm["soma.v_ref"].values  # device term ~ 3.5 nV: the gradient alone
    x, y = die_positions(shape)
    assert x.min() > -0.5 and x.max() < 0.5 and y.min() > -0.5 and y.max() < 0.5
    design = np.column_stack([x[:64], y[:64]])
    slopes = []
    for chip in range(2):
        values = dv[:, chip * 64:(chip + 1) * 64].T
        fit, residual, *_ = np.linalg.lstsq(design, values, rcond=None)
        assert np.max(np.abs(design @ fit - values)) < 1e-7
        slopes.append(fit)
    slopes = np.concatenate(slopes, axis=1)
    assert np.std(slopes) == pytest.approx(2e-3, rel=4 / math.sqrt(2 * slopes.size))
    assert abs(np.corrcoef(slopes[0], slopes[1])[0, 1]) < 4 / math.sqrt(slopes.shape[1])


@pytest.mark.parametrize("bias", ["fixed_current", "fixed_gate"])
def test_corners_shift_every_device_as_the_physics_says(bias):
    parameters = {"soma.i_tau": BIAS, "soma.c_mem": {"source": "capacitor", "distribution": "pelgrom", "w": 1e-5, "l": 1e-5},
                  "soma.v_ref": {"source": "threshold", "distribution": "pelgrom", "transistor": "p", "w": 1e-6, "l": 1e-6},
                  "ampa.t_pulse": PULSE}
    model = model_with(parameters, bias=bias, corners=CORNERS)
    assert model.corner_names() == ["ff", "ss", "tt", "mc"]
    mm = {c: sample_mismatch(model, **SHAPE, instances=2, seed=4, corner=c) for c in ("tt", "ss")}
    delta = {n: mm["ss"][n].values - mm["tt"][n].values for n in parameters}
    gate = bias == "fixed_gate"
    np.testing.assert_allclose(delta["soma.v_ref"], 0.03, rtol=1e-9)
    np.testing.assert_allclose(delta["soma.c_mem"], math.log(1.05), rtol=1e-9)
    # a bias current: the reference factor, plus the threshold shift when gate voltages are held
    ln_current = math.log(0.9) - gate * 0.7 * 0.04 / UT
    np.testing.assert_allclose(delta["soma.i_tau"] * 0.7 / UT, ln_current, rtol=1e-9)
    np.testing.assert_allclose(delta["ampa.t_pulse"], math.log(1.05) - ln_current, rtol=1e-9)


def test_monte_carlo_corner_spans_ss_to_ff_at_three_sigma():
    model = model_with({"soma.i_tau": BIAS}, corners=CORNERS)
    drawn = [instance_corner(model, "mc", 5, i) for i in range(4000)]
    ln_ref = np.log([c.i_ref for c in drawn])
    dvt_n = np.array([c.dvt_n for c in drawn])
    tol = 4 / math.sqrt(4000)
    assert np.mean(ln_ref) == pytest.approx((math.log(0.9) + math.log(1.1)) / 2, abs=tol * 0.04)
    assert np.std(ln_ref) == pytest.approx((math.log(1.1) - math.log(0.9)) / 6, rel=tol * 0.71)
    assert np.std(dvt_n) == pytest.approx(0.08 / 6, rel=tol * 0.71)
    assert abs(np.corrcoef(dvt_n, ln_ref)[0, 1]) < tol


def test_an_aged_chip_does_not_drift_within_a_run():
    model = load_device_model("generic_180nm")
    assert model.ageing.age_at_start == pytest.approx(3.15576e7)
    mm = sample_mismatch(model, **SHAPE, instances=1, seed=0)
    deviations = {name: (var.values, var.attrs) for name, var in mm.data_vars.items()}
    nominal = {name: 1e-9 for name in deviations if deviations[name][1].get("source") == "bias"}
    start = model.ageing.age_at_start
    early, late = (factor_arrays(deviations, mm.attrs, 300.0, start + t, nominal, age_origin=start)["soma.i_tau"][0]
                   for t in (0.0, 1.0))
    np.testing.assert_array_equal(early, factors(mm, age=0.0)["soma.i_tau"].values)  # the statistics describe the chip at its start
    rate = mm["soma.i_tau.ageing_rate"].values
    kappa = mm["soma.i_tau"].attrs["kappa"]
    expected = np.exp(-kappa * rate * (math.log10(1 + (start + 1) / 1.0) - math.log10(1 + start / 1.0)) / UT)
    np.testing.assert_allclose(late / early, expected, rtol=1e-12)
    assert np.max(np.abs(late / early - 1)) < 1e-9
    fresh = factor_arrays(deviations, mm.attrs, 300.0, 1.0, nominal)["soma.i_tau"][0] / \
        factor_arrays(deviations, mm.attrs, 300.0, 0.0, nominal)["soma.i_tau"][0]
    assert np.mean(fresh) < 0.995  # the young chip of a zero start age loses ~0.8 % in its first second


def test_shipped_models_cover_every_mismatched_parameter():
    # the DPI-chip models cover every block of a DPI chip; the AdEx block belongs to the
    # BrainScaleS-2-like substrate and its own model (hx_65nm)
    needed = {f"{block}.{field}" for block, fields in BLOCK_FIELDS.items() if block != "adex" for field in fields}
    for name in ("generic_180nm", "fdsoi_22nm"):
        model = load_device_model(name)
        assert needed <= set(model.parameters), sorted(needed - set(model.parameters))
        assert model.common.reference_chip > 0 and model.common.reference_core > 0
        assert {"tt", "ss", "ff", "mc"} <= set(model.corner_names())


@pytest.mark.parametrize("section, value, key", [
    ("reference", {"chip": -0.1}, "reference.chip"),
    ("gradient", {"vt": -1e-3}, "gradient.vt"),
    ("corners", {"ss": {"c": 0.0}}, "corners.ss.c"),
    ("corners", {"ss": {"i_ref": -1.0}}, "corners.ss.i_ref"),
    ("corners", {"mc": {"c": 1.0}}, "corners.mc"),
    ("corners", {"ss": {"dvt": 0.01}}, "corners.ss.dvt"),
    ("parameters", {"ampa.t_pulse": dict(PULSE, c_w=-1e-6)}, "parameters.ampa.t_pulse.c_w"),
    ("parameters", {"soma.c_mem": {"source": "capacitor", "distribution": "cv", "cv": -0.1}}, "parameters.soma.c_mem.cv"),
    ("parameters", {"soma.c_mem": {"source": "capacitor", "distribution": "cv", "cv": 0.1, "reference": True}},
     "parameters.soma.c_mem.reference"),
    ("parameters", {"soma.i_tau": dict(BIAS, reference="yes")}, "parameters.soma.i_tau.reference"),
])
def test_bad_calibration_values_are_named(section, value, key):
    extra = {section: value} if section != "parameters" else {}
    parameters = value if section == "parameters" else {"soma.i_tau": BIAS}
    with pytest.raises(ConfigError) as error:
        model_with(parameters, **extra)
    assert f"<test>: {key} = " in str(error.value)


def test_unknown_corner_is_a_config_error_and_exit_2(tmp_path, capsys):
    experiment = tmp_path / "exp.toml"
    experiment.write_text('duration = 0.01\ncorner = "xx"\n[populations.p]\nsize = 2\ncore = 0\n')
    assert main(["run", str(experiment), "-o", str(tmp_path / "out.nc")]) == 2
    err = capsys.readouterr().err
    assert "corner = 'xx'" in err and "ff, ss, tt, mc" in err
    experiment.write_text('duration = 0.01\nage_at_start = -1.0\n[populations.p]\nsize = 2\ncore = 0\n')
    assert main(["run", str(experiment), "-o", str(tmp_path / "out.nc")]) == 2
    assert "age_at_start" in capsys.readouterr().err


def test_mismatch_scale_leaves_the_corner_shift():
    from mixsig.device.mismatch import draw_deviations

    model = model_with({"soma.v_ref": {"source": "threshold", "distribution": "pelgrom", "transistor": "n",
                                       "w": 1e-6, "l": 1e-6}}, corners=CORNERS, reference={"chip": 0.1}, gradient={"vt": 1e-3})
    shape = ChipShape(**SHAPE)
    nominal = draw_deviations(model, shape, 2, 1, "ss", scale=0.0)[1]["soma.v_ref"][1]
    np.testing.assert_array_equal(nominal, 0.04)
    half = draw_deviations(model, shape, 2, 1, "ss", scale=0.5)[1]["soma.v_ref"][1]
    full = draw_deviations(model, shape, 2, 1, "ss", scale=1.0)[1]["soma.v_ref"][1]
    np.testing.assert_allclose(half - 0.04, 0.5 * (full - 0.04), rtol=1e-12, atol=1e-18)


def test_dark_current_doubles_every_nine_kelvin():
    from mixsig.device.drift import leakage_factor

    for t in (280.0, 309.0, 340.0):
        n_i = (t / 300.0) ** 1.5 * math.exp(-1.12 / (2 * 8.617333262e-5) * (1 / t - 1 / 300.0))
        assert leakage_factor(t, 300.0, 0.56) == pytest.approx(n_i, rel=1e-6)
    assert leakage_factor(309.0, 300.0, 0.56) == pytest.approx(2.0, rel=0.02)
    assert leakage_factor(330.0, 300.0, 0.0) == 1.0


def test_engine_scales_leakage_flicker_and_excess_noise(tmp_path):
    from mixsig.constants import I_0
    from mixsig.engine.simulation import Simulation
    from mixsig.experiment import Experiment

    model = tmp_path / "noisy.toml"
    model.write_text('[model]\nname = "noisy"\nextends = "fdsoi_22nm"\n[noise]\nshot = true\nflicker = true\nexcess = 4.0\n')
    network = {"populations": {"p": {"size": 8, "core": 0}}}
    hot = Simulation(Experiment(duration=0.01, device_model=str(model), temperature=309.0, network=network, instances=2,
                                integrator="exact"))  # the exact kernel's parameter layout (neuron, type, DPI_ROWS)
    from mixsig.engine.kernels import DPI_ROWS

    np.testing.assert_allclose(hot.syn_par[..., DPI_ROWS.index("i_0")], I_0 * 1.9646, rtol=1e-4)
    assert np.all(hot.soma_params.i_0 == I_0)  # the soma's reference current is held
    cold = Simulation(Experiment(duration=0.01, device_model=str(model), temperature=300.0, network=network, instances=2))
    np.testing.assert_allclose(hot.values["homeostasis.i_leak"] / cold.values["homeostasis.i_leak"], 1.9646, rtol=1e-4)
    loaded = load_device_model(model)
    expected = [math.sqrt(9.6e-22 / (2.66e-2 * loaded.parameters[f"{b}.i_tau"].area))
                for b in ("ampa", "nmda", "gaba", "shunt", "soma")]
    np.testing.assert_allclose(hot.flicker_scale[:, 0], expected, rtol=1e-12)
    hot._draw_noise(0)
    shot = hot.noise[:, :5]
    assert np.std(shot) == pytest.approx(2.0, rel=4 / math.sqrt(2 * shot.size))


@pytest.mark.parametrize("noise, message", [
    ({"shot": True, "flicker": True, "excess": 0.5}, "noise.excess = 0.5"),
    ({"shot": True, "flicker": True, "k_f": 1e-3, "k_f_area": 1e-22}, "noise.k_f = 0.001"),
    ({"shot": True, "flicker": True, "k_f_area": 1e-22}, "technology.c_ox = None"),
])
def test_bad_noise_settings_are_named(noise, message):
    data = {"model": {"name": "unit"}, "technology": {"a_vt": 5e-9}, "ageing": {"rate": 0.0, "spread": 0.0, "tau": 1.0},
            "temperature": {"dvt_dt": -1e-3, "bias": "fixed_current"}, "noise": noise}
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_device_model(data, "<test>")
