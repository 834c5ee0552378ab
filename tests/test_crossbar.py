"""Crossbar array: Kirchhoff read, IR drop closed forms, quantisers, device model and its refusals."""

import math
import tomllib

import numpy as np
import pytest

from mixsig.circuits import crossbar
from mixsig.device import crossbar as devices
from mixsig.errors import ConfigError

PARAMS = crossbar.CrossbarParams(levels=2 ** 16, dac_bits=24, adc_bits=24)


def test_ideal_read_is_the_matrix_vector_product():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 3))
    x = rng.uniform(-1, 1, size=(5, 6))
    g_plus, g_minus, scale = crossbar.target_conductances(w, PARAMS)
    y = crossbar.read(g_plus, g_minus, x, PARAMS, crossbar.full_scale_current(g_plus, g_minus, PARAMS))
    np.testing.assert_allclose(y * scale / PARAMS.v_read, x @ w, atol=1e-4 * np.abs(w).max() * 6)


def test_single_crosspoint_with_wire_resistance():
    # driver -- r -- G -- r -- virtual ground: I = V / (2 r + 1/G)
    g, r, v = 20e-6, 500.0, 0.3
    current = crossbar.nodal_read(np.array([[g]]), np.array([[v]]), r)
    assert current[0, 0] == pytest.approx(v / (2 * r + 1 / g), rel=1e-12)


def test_two_by_one_ladder_against_hand_solved_nodes():
    # rows 0, 1 into one column: node equations solved symbolically with numpy's dense solver on
    # the circuit drawn by hand (row i: V_i -r- a_i -G_i- c_i; column: c_0 -r- c_1 -r- ground)
    g0, g1, r, v0, v1 = 10e-6, 30e-6, 1e3, 0.2, -0.1
    w = 1 / r
    # unknowns a0, a1, c0, c1
    a = np.array([[w + g0, 0, -g0, 0],
                  [0, w + g1, 0, -g1],
                  [-g0, 0, g0 + w, -w],
                  [0, -g1, -w, g1 + 2 * w]])
    nodes = np.linalg.solve(a, [v0 * w, v1 * w, 0, 0])
    current = crossbar.nodal_read(np.array([[g0], [g1]]), np.array([[v0, v1]]), r)
    assert current[0, 0] == pytest.approx(nodes[3] * w, rel=1e-10)


def test_ir_drop_vanishes_with_the_wire_resistance():
    rng = np.random.default_rng(1)
    g = rng.uniform(0, 25e-6, (8, 4))
    v = rng.uniform(-0.2, 0.2, (3, 8))
    np.testing.assert_allclose(crossbar.nodal_read(g, v, 1e-6), v @ g, rtol=1e-6)
    assert np.all(np.abs(crossbar.nodal_read(g, np.full((1, 8), 0.2), 100.0)) < np.abs(np.full((1, 8), 0.2) @ g))


def test_quantiser_levels_and_clip():
    assert crossbar.quantise(0.6, 2) == 1.0  # 2 bits: levels -1, 0, 1 (symmetric)
    np.testing.assert_allclose(crossbar.quantise([0.16, 3.0, -3.0], 3, 1.0), [0.0, 1.0, -1.0])
    assert crossbar.quantise(0.26, 3, 1.0) == pytest.approx(1 / 3)


def test_targets_use_the_levels_grid_and_one_device_per_sign():
    params = crossbar.CrossbarParams(g_min=1e-6, g_max=5e-6, levels=5)
    g_plus, g_minus, scale = crossbar.target_conductances(np.array([[1.0, -0.5, 0.1]]), params)
    np.testing.assert_allclose(g_plus, [[5e-6, 1e-6, 1e-6]])
    np.testing.assert_allclose(g_minus, [[1e-6, 3e-6, 1e-6]])
    assert scale == pytest.approx(1.0 / 4e-6)


@pytest.mark.parametrize("field, value", [("g_max", 0.0), ("levels", 1), ("g_min", -1e-6), ("r_wire", -1.0),
                                          ("adc_bits", 0), ("v_read", 0.0)])
def test_invalid_periphery_is_named(field, value):
    with pytest.raises(ValueError, match=field):
        crossbar.CrossbarParams(**{field: value})


def test_inverted_range_is_refused():
    with pytest.raises(ValueError, match="not inverted"):
        crossbar.CrossbarParams(g_min=30e-6, g_max=25e-6)


def shipped():
    import importlib.resources
    return tomllib.loads(importlib.resources.files("device_models").joinpath("pcm_ibm.toml").read_text())


def test_bad_model_lists_every_problem():
    data = shipped()
    data["conductance"].update(g_min=30e-6, levels=1)
    data["drift"]["nu_mu_min"] = -0.01
    data["faults"]["stuck_sometimes"] = 0.1
    with pytest.raises(ConfigError) as error:
        devices.parse_crossbar_model(data, "bad.toml")
    keys = {p.key for p in error.value.problems}
    assert {"conductance.g_max", "conductance.levels", "drift.nu_mu_min", "faults.stuck_sometimes"} <= keys


def test_programming_is_deterministic_and_faults_stick():
    model = devices.load_crossbar_model("pcm_ibm").replace(stuck_on=0.1, stuck_off=0.1)
    target = np.full((50, 40), 10e-6)
    a = devices.program(target, model, devices.array_generators(3, 0)[0])
    b = devices.program(target, model, devices.array_generators(3, 0)[0])
    np.testing.assert_array_equal(a.g_prog, b.g_prog)
    assert np.all(a.g_prog[a.stuck == 1] == model.g_max) and np.all(a.g_prog[a.stuck == -1] == model.g_min)
    assert abs(np.mean(a.stuck == 1) - 0.1) < 0.03
    c = devices.program(target, model, devices.array_generators(3, 1)[0])
    assert not np.array_equal(a.g_prog, c.g_prog)


def test_drift_law_per_device():
    model = devices.load_crossbar_model("pcm_ibm")
    array = devices.program(np.full(100, 10e-6), model, np.random.default_rng(0))
    t = 1e4
    np.testing.assert_allclose(devices.drifted(array, t, model),
                               array.g_prog * ((t + 20.0) / 20.0) ** -array.nu, rtol=1e-12)
    assert np.all(array.nu >= 0)
    assert devices.drift_moments(0.02 * 25e-6, model)[0] == pytest.approx(-0.0155 * math.log(0.02) + 0.0244)
