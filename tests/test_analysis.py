"""Tests of mixsig.analysis against independent reference loops and closed forms."""

import numpy as np
import pytest
import xarray as xr

from mixsig import io
from mixsig.analysis import coding, stats
from mixsig.errors import ConfigError

DURATION = 1.0


def _spikes(seed=3):
    """Random spike trains of 3 instances x 5 neurons, as {(instance, neuron): sorted times}."""
    rng = np.random.default_rng(seed)
    trains = {}
    for i in (4, 1, 9):
        for n in (0, 2, 5, 7, 8):
            trains[(i, n)] = np.sort(rng.uniform(0.0, DURATION, rng.integers(0, 25)))
    return trains


def _dataset(trains):
    instances = sorted({i for i, _ in trains})
    neurons = sorted({n for _, n in trains})
    times = np.concatenate([t for t in trains.values()])
    inst = np.concatenate([np.full(t.size, i) for (i, _), t in trains.items()])
    neur = np.concatenate([np.full(t.size, n) for (_, n), t in trains.items()])
    prov = {"experiment_toml": "", "chip_toml": "", "calibration_file": "none", "calibration_sha256": "0" * 64,
            "seed": 0, "dt": 1e-4, "duration": DURATION}
    return io.build_dataset(instances=instances, seeds=[1] * len(instances), neurons=neurons, cores=[n // 5 for n in neurons],
                            chips=[0] * len(neurons), spike_times=times, spike_neurons=neur, spike_instances=inst,
                            provenance=prov)


@pytest.fixture(scope="module")
def trains():
    return _spikes()


@pytest.fixture(scope="module")
def ds(trains):
    return _dataset(trains)


def test_window_counts_and_rates_match_reference_loop(trains, ds):
    edges = np.array([0.0, 0.1, 0.35, 0.6, 1.0])
    counts = stats.window_counts(ds, edges)
    rates = stats.firing_rates(ds, 0.2, 0.7)
    for (i, n), t in trains.items():
        for w in range(4):
            expected = sum(1 for x in t if edges[w] <= x < edges[w + 1])
            assert counts.sel(instance=i, neuron=n).values[w] == expected
        assert rates.sel(instance=i, neuron=n) == pytest.approx(sum(1 for x in t if 0.2 <= x < 0.7) / 0.5)
    assert rates.attrs["units"] == "Hz" and counts.attrs["units"] == "1"


def test_ttfs_and_isi_statistics_match_reference_loop(trains, ds):
    ttfs = stats.time_to_first_spike(ds, onset=0.3)
    isi = stats.isi_statistics(ds)
    for (i, n), t in trains.items():
        after = [x for x in t if x >= 0.3]
        got = float(ttfs.sel(instance=i, neuron=n))
        if after:
            assert got == pytest.approx(after[0] - 0.3)
        else:
            assert np.isnan(got)
        intervals = [b - a for a, b in zip(t[:-1], t[1:])]
        mean = float(isi["mean_isi"].sel(instance=i, neuron=n))
        if len(intervals) >= 2:
            m = sum(intervals) / len(intervals)
            sd = (sum((x - m) ** 2 for x in intervals) / len(intervals)) ** 0.5
            assert mean == pytest.approx(m)
            assert float(isi["cv_isi"].sel(instance=i, neuron=n)) == pytest.approx(sd / m)
    assert ttfs.attrs["units"] == "s" and isi["cv_isi"].attrs["units"] == "1"


def test_fi_curve_counts_after_settling(trains, ds):
    fi = stats.fi_curve(ds, [1e-9, 2e-9], [0.0, 0.5], [0.5, 1.0], settle=0.1)
    t = trains[(1, 5)]
    assert fi.sel(instance=1, neuron=5, i_in=2e-9) == pytest.approx(sum(1 for x in t if 0.6 <= x < 1.0) / 0.4)
    assert fi["i_in"].attrs["units"] == "A"


def test_cv_uses_unbiased_std():
    values = xr.DataArray([[1.0, 2.0, 4.0]], dims=("instance", "neuron"), attrs={"units": "A", "long_name": "x"})
    assert float(stats.cv(values, "neuron")[0]) == pytest.approx(np.std([1, 2, 4], ddof=1) / (7 / 3))


def test_enob_conventions_closed_forms():
    assert stats.enob_from_cv(0.01, "levels") == pytest.approx(np.log2(100.0))
    assert stats.enob_from_cv(0.01, "quantizer") == pytest.approx(np.log2(100.0 / np.sqrt(12.0)))
    da = stats.enob_from_cv(xr.DataArray([0.5, 0.25], dims="n"), "levels")
    assert da.attrs["enob_convention"] == "levels" and da.attrs["units"] == "bit"
    np.testing.assert_allclose(da.values, [1.0, 2.0])
    with pytest.raises(ConfigError):
        stats.enob_from_cv(0.1, "bogus")
    with pytest.raises(ConfigError):
        stats.enob_from_cv(0.1, "sinad")


@pytest.mark.parametrize("bits", [6, 10])
def test_enob_sinad_of_ideal_quantizer_is_its_bit_count(bits):
    # a full-scale sine quantised with an ideal b-bit quantizer has SINAD = 6.02 b + 1.76 dB
    t = np.arange(200000)
    signal = np.sin(2 * np.pi * t * 0.0123456)
    lsb = 2.0 / 2 ** bits
    quantised = np.clip(np.floor(signal / lsb) + 0.5, -2 ** (bits - 1) + 0.5, 2 ** (bits - 1) - 0.5) * lsb
    assert stats.enob_sinad(signal, quantised) == pytest.approx(bits, abs=0.05)


@pytest.mark.parametrize("bits", [4, 8])
def test_enob_uniform_of_ideal_quantizer_is_its_bit_count(bits):
    # a signal uniform over [-1, 1] through an ideal b-bit quantizer: rms error LSB/sqrt(12), LSB = 2/2^b;
    # the sine convention would report 1.76/6.02 = 0.29 bit less for the same estimate
    signal = np.random.default_rng(bits).uniform(-1.0, 1.0, 400000)
    lsb = 2.0 / 2 ** bits
    quantised = (np.floor(signal / lsb) + 0.5) * lsb
    assert stats.enob_uniform(signal, quantised, 2.0) == pytest.approx(bits, abs=0.01)
    assert stats.enob_sinad(signal, quantised) == pytest.approx(bits - 1.76 / 6.02, abs=0.01)
    with pytest.raises(ConfigError):
        stats.enob_from_cv(0.1, "uniform")


def test_cv_versus_population_size_follows_finite_population_law():
    # averaged over partitions, var_ddof1(group means) = s^2 / N exactly for any fixed population
    rng = np.random.default_rng(0)
    values = rng.lognormal(0.0, 0.2, (3, 64))
    da = xr.DataArray(values, dims=("instance", "neuron"), attrs={"units": "s", "long_name": "t"})
    out = stats.cv_versus_population_size(da, [1, 4, 16], partitions=3000, seed=1, convention="quantizer")
    rel = values.var(axis=1, ddof=1) / values.mean(axis=1) ** 2
    for n in (1, 4, 16):
        assert float(out["cv_within"].sel(n_pop=n)) == pytest.approx(np.sqrt(rel.mean() / n), rel=0.02)
    assert out.attrs["enob_convention"] == "quantizer"
    assert float(out["enob_within"].sel(n_pop=4)) == pytest.approx(-np.log2(np.sqrt(12) * float(out["cv_within"].sel(n_pop=4))))
    means = values.mean(axis=1)
    shared = np.sqrt(max(means.var(ddof=1) / values.mean() ** 2 - rel.mean() / 64, 0.0))
    assert float(out["cv_shared"]) == pytest.approx(shared)


def test_cv_versus_population_size_drops_silent_neurons_and_checks_sizes():
    values = np.ones((2, 8)) + np.arange(8) * 0.1
    values[1, 3] = np.nan
    da = xr.DataArray(values, dims=("instance", "neuron"))
    out = stats.cv_versus_population_size(da, [1, 2], partitions=4)
    assert out.attrs["dropped_neurons"] == 1
    with pytest.raises(ConfigError):
        stats.cv_versus_population_size(da, [4], partitions=4)


def test_slopes_of_exact_power_laws():
    n = np.array([1, 2, 4, 8, 16])
    assert stats.loglog_slope(n, 0.3 * n ** -0.5) == pytest.approx(-0.5)
    assert stats.bits_per_doubling(n, 3.0 + 0.5 * np.log2(n)) == pytest.approx(0.5)


def test_nef_decoders_equal_augmented_least_squares():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 100, (30, 6))
    x = np.linspace(-1, 1, 30)
    np.testing.assert_allclose(coding.nef_decoders(a, x, 0.0), np.linalg.lstsq(a, x, rcond=None)[0], rtol=1e-8)
    sigma2 = 25.0
    augmented = np.vstack([a, np.sqrt(30 * sigma2) * np.eye(6)])
    reference = np.linalg.lstsq(augmented, np.concatenate([x, np.zeros(6)]), rcond=None)[0]
    np.testing.assert_allclose(coding.nef_decoders(a, x, sigma2), reference, rtol=1e-8)
    assert coding.poisson_noise_variance(a, 0.1) == pytest.approx(a.mean() / 0.1)
    silent = np.hstack([a, np.zeros((30, 1))])  # a silent neuron without noise: singular system, minimum-norm decoders
    np.testing.assert_allclose(coding.nef_decoders(silent, x, 0.0)[:6], coding.nef_decoders(a, x, 0.0), rtol=1e-6)


def test_poisson_fisher_information_closed_form():
    # f(x) = r exp(x): f'^2 / f = r exp(x), so J = T N r exp(x)
    x = np.array([0.0, 0.5])
    f = 10 * np.exp(x)[:, None] * np.ones((1, 4))
    np.testing.assert_allclose(coding.poisson_fisher_information(f, f, 0.2), 0.2 * 4 * 10 * np.exp(x))
    with pytest.raises(ConfigError):
        coding.poisson_fisher_information(np.zeros((1, 2)), np.ones((1, 2)), 0.1)


def _gaussian_population(rng, n):
    """A correlated Gaussian population: tuning slope f' and covariance Sigma with known f'^T Sigma^-1 f'."""
    a = rng.standard_normal((n, n))
    std = rng.uniform(1.0, 3.0, n)
    corr = 0.3 * np.ones((n, n)) + 0.7 * np.eye(n) + 0.05 * (a @ a.T) / n  # positive definite, correlated
    sigma = corr * np.outer(std, std)
    slope = rng.uniform(-4.0, 4.0, n)
    return slope, sigma, float(slope @ np.linalg.solve(sigma, slope))


def test_linear_fisher_information_bias_correction_on_gaussian_data():
    # Gaussian responses with known I = f'^T Sigma^-1 f': over M independent experiments of T trials
    # per stimulus, the mean of I_bc must match I within its standard error, the naive estimate
    # must be biased upward by many standard errors, and eq. 19 must predict the spread of I_bc
    rng = np.random.default_rng(20)
    n, trials, delta, experiments = 20, 40, 0.5, 400
    slope, sigma, truth = _gaussian_population(rng, n)
    chol = np.linalg.cholesky(sigma)
    mean = rng.uniform(5.0, 20.0, n)
    bc, naive, predicted = [], [], []
    for _ in range(experiments):
        minus = mean - slope * delta / 2 + rng.standard_normal((trials, n)) @ chol.T
        plus = mean + slope * delta / 2 + rng.standard_normal((trials, n)) @ chol.T
        out = coding.linear_fisher_information(minus, plus, delta)
        bc.append(out["bias_corrected"])
        naive.append(out["naive"])
        predicted.append(out["variance"])
    bc, naive = np.array(bc), np.array(naive)
    se = bc.std(ddof=1) / np.sqrt(experiments)
    assert abs(bc.mean() - truth) < 3.5 * se
    assert naive.mean() - truth > 10 * se
    # eq. 19 approximates the spread (measured 105 vs 125 predicted here); a variance of 400 samples is +-7 % (1 sigma)
    assert np.mean(predicted) == pytest.approx(bc.var(ddof=1), rel=0.3)


def test_linear_fisher_information_equals_poisson_information_for_independent_poisson_counts():
    # independent Poisson counts: Sigma = diag(T f), f'_count = T f', so I_linear = T sum f'^2 / f
    rng = np.random.default_rng(3)
    rates = np.array([20.0, 40.0, 60.0])
    slopes = np.array([10.0, -20.0, 30.0])
    window, delta, trials = 0.5, 0.2, 20000
    minus = rng.poisson((rates - slopes * delta / 2) * window, (trials, 3))
    plus = rng.poisson((rates + slopes * delta / 2) * window, (trials, 3))
    out = coding.linear_fisher_information(minus, plus, delta)
    expected = float(coding.poisson_fisher_information(rates, slopes, window))
    assert out["bias_corrected"] == pytest.approx(expected, abs=4 * np.sqrt(out["variance"]))


def test_linear_fisher_information_rejects_too_few_trials():
    with pytest.raises(ConfigError) as error:
        coding.linear_fisher_information(np.zeros((5, 8)), np.zeros((5, 8)), 0.0)
    assert {p.key for p in error.value.problems} == {"responses", "delta"}


def test_ml_decoder_recovers_stimulus_from_expected_counts():
    # the Poisson log-likelihood with counts = T f(s0) is maximal at s0 (Gibbs' inequality)
    centres = np.linspace(-1, 1, 9)
    grid = np.linspace(-1.5, 1.5, 301)

    def f(s):
        return 1.0 + 40 * np.exp(-(np.asarray(s)[:, None] - centres) ** 2 / (2 * 0.3 ** 2))

    s0 = np.array([-0.4321, 0.1234, 0.777])
    estimate = coding.ml_decode(0.5 * f(s0), grid, f(grid), 0.5)
    np.testing.assert_allclose(estimate, s0, atol=(grid[1] - grid[0]) / 20)


def test_tuning_curves_average_trials_of_equal_stimulus(trains, ds):
    stimulus = [0.5, -0.5, 0.5, -0.5]
    starts, stops = [0.0, 0.25, 0.5, 0.75], [0.2, 0.45, 0.7, 0.95]
    curves = coding.tuning_curves(ds, stimulus, starts, stops)
    t = trains[(9, 7)]
    count = sum(1 for x in t if 0.0 <= x < 0.2) + sum(1 for x in t if 0.5 <= x < 0.7)
    assert float(curves.sel(instance=9, neuron=7, stimulus=0.5)) == pytest.approx(count / 0.2 / 2)
    assert curves.dims == ("instance", "neuron", "stimulus") and curves.attrs["units"] == "Hz"


def test_interpolated_curves_reproduce_a_cubic():
    x = np.linspace(-1, 1, 21)
    curves = np.stack([x ** 2 + 2, 3 * x + 5], axis=1)
    rates, slopes = coding.interpolate_curves(x, curves, np.array([0.05, 0.5]))
    np.testing.assert_allclose(rates[:, 1], [5.15, 6.5], rtol=1e-10)
    np.testing.assert_allclose(slopes[:, 1], [3.0, 3.0], rtol=1e-10)
    np.testing.assert_allclose(rates[:, 0], [2.0025, 2.25], rtol=2e-3)


def test_interval_counts_with_adjacent_and_separate_intervals(trains, ds):
    for starts, stops in (([0.0, 0.3, 0.6], [0.3, 0.6, 1.0]), ([0.05, 0.5], [0.2, 0.9])):
        counts = stats.interval_counts(ds, starts, stops)
        for (i, n), t in trains.items():
            ii = list(ds["instance"].values).index(i)
            nn = list(ds["neuron"].values).index(n)
            expected = [sum(1 for x in t if a <= x < b) for a, b in zip(starts, stops)]
            assert counts[ii, nn].tolist() == expected
