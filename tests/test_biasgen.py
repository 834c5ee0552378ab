"""Coarse/fine bias generator: DYNAP-SE2 maxima, monotonicity, nearest-setting inverse."""

import numpy as np
import pytest

from mixsig.device import BiasGenerator

N_MAX = [71.8e-12, 573e-12, 4.57e-9, 36.4e-9, 290e-9, 2.28e-6]  # physics.md 4.3 (rockpool paramgen_se2)
P_MAX = [66.9e-12, 536e-12, 4.30e-9, 34.4e-9, 277e-9, 2.24e-6]


@pytest.fixture(scope="module")
def gen():
    return BiasGenerator.from_model("generic_180nm")


@pytest.mark.parametrize("polarity, maxima", [("n", N_MAX), ("p", P_MAX)])
def test_maxima(gen, polarity, maxima):
    np.testing.assert_allclose(gen.current(np.arange(6), 255, polarity), maxima, rtol=0.01)


@pytest.mark.parametrize("polarity", ["n", "p"])
def test_monotone_in_fine_and_floor(gen, polarity):
    grid = gen.current(np.arange(6)[:, None], np.arange(256)[None, :], polarity)
    assert np.all(np.diff(grid, axis=1) > 0)
    assert np.all(grid[:, 0] > 0.3e-12) and np.all(grid[:, 0] < 1.2e-12)
    ratios = grid[1:, -1] / grid[:-1, -1]
    assert np.all((ratios > 7.5) & (ratios < 8.5))


@pytest.mark.parametrize("polarity", ["n", "p"])
def test_inverse_is_nearest_setting(gen, polarity):
    requests = np.geomspace(0.6e-12, 2.2e-6, 400)
    coarse, fine = gen.coarse_fine(requests, polarity)
    got = gen.current(coarse, fine, polarity)
    grid = gen.current(np.arange(6)[:, None], np.arange(256)[None, :], polarity).ravel()
    for request, value in zip(requests, got):
        best = np.min(np.abs(grid - request))  # brute force over every setting
        assert abs(value - request) == pytest.approx(best, rel=1e-12, abs=1e-24)
        maxima = gen.current(np.arange(6), 255, polarity)
        covering = int(np.argmax(maxima >= request))  # lowest coarse whose range holds the request
        assert abs(value - request) <= 0.5 * gen.step(covering, polarity) * (1 + 1e-12)


def test_exact_settings_round_trip(gen):
    coarse, fine = np.meshgrid(np.arange(6), np.arange(256), indexing="ij")
    currents = gen.current(coarse, fine)
    c2, f2 = gen.coarse_fine(currents)
    np.testing.assert_allclose(gen.current(c2, f2), currents, rtol=1e-12)


def test_out_of_range_maps_to_ends(gen):
    c, f = gen.coarse_fine([1e-15, 1.0])
    assert (c.tolist(), f.tolist()) == ([0, 5], [0, 255])


@pytest.mark.parametrize("args", [(6, 0), (0, 256), (-1, 0), (0.5, 3)])
def test_invalid_settings(gen, args):
    with pytest.raises(ValueError):
        gen.current(*args)


def test_invalid_currents_and_polarity(gen):
    with pytest.raises(ValueError):
        gen.coarse_fine([-1e-9])
    with pytest.raises(ValueError):
        gen.current(0, 0, "x")
