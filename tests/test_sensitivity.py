"""Device-model sensitivity table (mixsig.chip.sensitivity) against closed forms.

The membrane time constant is ``c_mem u_t / (kappa i_tau)``: across the neurons of a core its log
has the variance ``sigma_I^2 + sigma_C^2`` of the neuron-level terms only (core- and chip-level
factors are shared by the whole core), with ``sigma_I = kappa A_VT / (u_t sqrt(2 W L))`` (Pelgrom,
single device) and ``sigma_C = A_C / sqrt(W_c L_c)``. So ``d ln CV / d ln A_VT`` is
``sigma_I^2 / (sigma_I^2 + sigma_C^2)`` (times ``1 + sigma^2/2`` for a lognormal CV), half of that
with the sign reversed for the bias devices' area, and 0 for every shared factor.
"""

import tomllib

import numpy as np
import pytest

from mixsig.chip.sensitivity import FIXED_GATE_ROWS, ROWS, Row, model_rows, scaled, sensitivities
from mixsig.constants import thermal_voltage
from mixsig.device.calibration import load_device_model
from mixsig.errors import ConfigError

CHECKED = ("technology.a_vt", "bias device area w l (every bias)", "spread.core (every bias)", "reference.chip")


@pytest.fixture(scope="module")
def table():
    rows = tuple(row for row in ROWS if row.label in CHECKED)
    return sensitivities("generic_180nm", "dynapse1", rows, instances=2, seed=3)[1]


def test_tau_spread_follows_the_pelgrom_closed_form(table):
    model = load_device_model("generic_180nm")
    data = tomllib.loads(model.text)
    i_tau, c_mem = data["parameters"]["soma.i_tau"], data["parameters"]["soma.c_mem"]
    u_t = thermal_voltage(model.temperature.t_nominal)
    sigma_i = model.kappa_n * data["technology"]["a_vt"] / (u_t * np.sqrt(2.0 * i_tau["w"] * i_tau["l"]))
    sigma_c = data["technology"]["a_c"] / np.sqrt(c_mem["w"] * c_mem["l"])
    share = sigma_i**2 / (sigma_i**2 + sigma_c**2)
    lognormal = 1.0 + 0.5 * (sigma_i**2 + sigma_c**2)
    assert table["technology.a_vt"]["tau_cv_core"] == pytest.approx(share * lognormal, abs=0.02)
    area = table["bias device area w l (every bias)"]["tau_cv_core"]
    assert area == pytest.approx(-0.5 * share * lognormal, abs=0.02)
    for shared in ("spread.core (every bias)", "reference.chip"):
        assert table[shared]["tau_cv_core"] == pytest.approx(0.0, abs=1e-9)


def test_shared_factors_move_the_chip_to_chip_spread_not_the_core_spread(table):
    # the reference multiplies every referenced bias of a chip: it moves the core-mean TTFS of
    # each chip (ttfs_cv_chip) and leaves the within-core ratios, hence ttfs_cv_core, unchanged
    assert table["reference.chip"]["ttfs_cv_chip"] > 0.1
    assert abs(table["reference.chip"]["ttfs_cv_core"]) < 0.05


def test_scaled_touches_only_the_named_values():
    data = {"technology": {"a_vt": 5e-9, "a_c": 1e-8},
            "parameters": {"soma.i_tau": {"source": "bias", "distribution": "pelgrom", "w": 1e-6, "l": 1e-6,
                                          "spread": {"core": 0.05}},
                           "soma.c_mem": {"source": "capacitor", "distribution": "pelgrom", "w": 3e-5, "l": 3e-5}}}
    out = scaled(data, ("parameters", "*", "area"), 4.0)
    assert out["parameters"]["soma.i_tau"]["w"] * out["parameters"]["soma.i_tau"]["l"] == pytest.approx(4e-12)
    assert out["parameters"]["soma.c_mem"]["w"] == 3e-5 and data["parameters"]["soma.i_tau"]["w"] == 1e-6
    assert scaled(data, ("parameters", "*", "spread", "core"), 2.0)["parameters"]["soma.i_tau"]["spread"]["core"] == 0.1
    assert scaled(data, Row("a", ("technology", "a_vt")).keys, 2.0)["technology"] == {"a_vt": 1e-8, "a_c": 1e-8}


def test_a_model_that_extends_another_is_refused():
    with pytest.raises(ConfigError, match="model.extends"):
        sensitivities("dynapse1_180nm", "dynapse1", ROWS[:1], instances=1)


def test_fixed_gate_rows_only_for_a_fixed_gate_model():
    generic = tomllib.loads(load_device_model("generic_180nm").text)
    fdsoi = tomllib.loads(load_device_model("fdsoi_22nm").text)
    assert model_rows(generic) == ROWS
    assert model_rows(fdsoi) == ROWS + FIXED_GATE_ROWS
    without_corners = {key: value for key, value in fdsoi.items() if key != "corners"}
    assert all(row.keys[0] != "corners" for row in model_rows(without_corners))


def test_fixed_gate_specific_current_cancels_at_the_nominal_temperature():
    # fixed_gate: I = i_spec exp(kappa (Vg - VT + dVT)/Ut) with Vg - VT0 = (Ut/kappa) ln(I_nom/i_spec), so at
    # t_nominal I = I_nom exp(kappa dVT/Ut) whatever i_spec; a global threshold shift (corner dvt_n) moves
    # every n-type current of a chip by one factor and leaves the within-core tau spread alone
    rows = tuple(row for row in FIXED_GATE_ROWS if row.label in ("temperature.i_spec", "corners.ss.dvt_n (at ss)"))
    table = sensitivities("fdsoi_22nm", "dynapse1", rows, instances=2, seed=3)[1]
    assert all(abs(value) < 1e-9 for value in table["temperature.i_spec"].values())
    shifted = table["corners.ss.dvt_n (at ss)"]
    assert shifted["tau_cv_core"] == pytest.approx(0.0, abs=1e-9)
    assert abs(shifted["ttfs"]) > 0.05
