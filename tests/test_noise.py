"""Shot and flicker noise: variances and spectra against closed forms."""

import math

import numpy as np
import pytest
from scipy import signal

from mixsig.constants import Q_E
from mixsig.device import FlickerNoise, filtered_shot_noise_variance, shot_noise, shot_noise_sigma


def test_shot_noise_step_variance():
    rng = np.random.default_rng(1)
    i = np.array([1e-12, 1e-10, 1e-8])
    dt = 1e-5
    samples = np.stack([shot_noise(i, dt, rng) for _ in range(20000)])
    n = samples.shape[0]
    np.testing.assert_allclose(samples.var(axis=0), Q_E * i / dt, rtol=5 * math.sqrt(2 / n))
    assert np.all(np.abs(samples.mean(axis=0)) < 5 * np.sqrt(Q_E * i / dt / n))


def test_shot_noise_equals_poisson_electron_count():
    """Mean current over dt from Poisson electrons (mean I dt / q): variance q I / dt."""
    i, dt = 2e-12, 1e-3
    electrons = np.random.default_rng(3).poisson(i * dt / Q_E, size=200000)
    poisson_var = np.var(electrons * Q_E / dt)
    assert shot_noise_sigma(i, dt) ** 2 == pytest.approx(poisson_var, rel=5 * math.sqrt(2 / 200000))


def test_first_order_filtered_variance():
    """AR(1) of the output node, I += n (1 - exp(-dt/tau)): variance -> q I / (2 tau)."""
    rng = np.random.default_rng(4)
    i, tau, dt = 1e-11, 1e-2, 1e-5
    a = math.exp(-dt / tau)
    y = np.zeros(2000)
    acc = []
    for k in range(12000):
        y = a * y + (1 - a) * shot_noise(np.full(2000, i), dt, rng)
        if k >= 6000 and k % 500 == 0:
            acc.append(y.copy())
    var = np.var(np.concatenate(acc))
    exact_discrete = (1 - a) / (1 + a) * Q_E * i / dt
    assert exact_discrete == pytest.approx(filtered_shot_noise_variance(i, tau), rel=1e-6)
    assert var == pytest.approx(filtered_shot_noise_variance(i, tau), rel=0.05)


def test_flicker_variance_and_one_over_f_spectrum():
    rng = np.random.default_rng(5)
    k_f, dt, channels = 1e-3, 1e-3, 32
    noise = FlickerNoise(k_f, 0.1, 100.0, (channels,), rng, poles_per_decade=3)
    i = np.full(channels, 1e-9)
    series = np.stack([noise.step(i, dt, rng) for _ in range(2**14)])
    rel = series / 1e-9
    assert noise.variance == pytest.approx(k_f * math.log(10 ** (1 / 3)) * len(noise.frequencies))
    freqs, psd = signal.welch(rel, fs=1 / dt, nperseg=2**12, axis=0)
    psd = psd.mean(axis=1)
    band = (freqs >= 1.0) & (freqs <= 30.0)
    slope, intercept = np.polyfit(np.log(freqs[band]), np.log(psd[band]), 1)
    assert slope == pytest.approx(-1.0, abs=0.1)
    # S(f) = K_f / f (one-sided, relative)
    assert np.exp(intercept) == pytest.approx(k_f, rel=0.2)


def test_flicker_rejects_bad_band():
    with pytest.raises(ValueError):
        FlickerNoise(1e-3, 10.0, 1.0, (1,), np.random.default_rng(0))


def test_device_noise_follows_model_switches():
    from mixsig.device import DeviceNoise, load_device_model
    from mixsig.device.calibration import NoiseSettings

    i, dt = np.full(50000, 1e-10), 1e-4
    off = DeviceNoise(NoiseSettings(False, False, 0.0, 0.1, 1e4), i.shape, np.random.default_rng(0))
    assert off.step(i, dt, np.random.default_rng(1)) is None
    shot_only = DeviceNoise(load_device_model("generic_180nm").noise, i.shape, np.random.default_rng(0))
    assert shot_only.flicker is None
    assert np.var(shot_only.step(i, dt, np.random.default_rng(2))) == pytest.approx(Q_E * 1e-10 / dt, rel=5 * math.sqrt(2 / i.size))
    model = load_device_model("fdsoi_22nm")
    both = DeviceNoise(model.noise, i.shape, np.random.default_rng(0))
    expected = Q_E * 1e-10 / dt + both.flicker.variance * 1e-20
    assert np.var(both.step(i, dt, np.random.default_rng(3))) == pytest.approx(expected, rel=5 * math.sqrt(2 / i.size))


@pytest.mark.parametrize("flicker", [False, True])
def test_fast_kernel_noise_inputs_are_the_step_averaged_noise_currents(flicker):
    """The fast integrator's noise rows (rule 5): each DPI's sqrt(q I / dt) z (+ I z_flicker), I its output
    current at the step's start, and the soma's draws copied, in the block's columns only."""
    from mixsig.engine import fast

    m, dt, lo, hi = 300, 1e-4, 40, 296
    rng = np.random.default_rng(5)
    syn = np.zeros((3, fast.N_TYPES, m + fast.PAD))
    syn[0] = 10.0 ** rng.uniform(-14, -8, syn[0].shape)
    rows = 2 * (fast.N_TYPES + 1) if flicker else fast.N_TYPES + 1
    z = rng.standard_normal((rows, m + fast.PAD))
    work = np.full(fast.work_shape(m), 7.0)
    fast._noise_inputs(lo, hi, syn, z, dt, work)
    current = syn[0, :, lo:hi]
    expected = np.sqrt(Q_E * current / dt) * z[:fast.N_TYPES, lo:hi]
    if flicker:
        expected += current * z[fast.N_TYPES + 1:2 * fast.N_TYPES + 1, lo:hi]
    noise_rows = slice(fast.ROW_DPI_NOISE, fast.ROW_DPI_NOISE + fast.N_TYPES)
    np.testing.assert_allclose(work[noise_rows, lo:hi], expected, rtol=1e-14)
    np.testing.assert_array_equal(work[fast.ROW_SOMA_Z, lo:hi], z[fast.N_TYPES, lo:hi])
    np.testing.assert_array_equal(work[fast.ROW_SOMA_Z + 1, lo:hi], z[2 * fast.N_TYPES + 1, lo:hi] if flicker else 0.0)
    outside = np.ones(work.shape[1], dtype=bool)
    outside[lo:hi] = False
    assert np.all(work[:, outside] == 7.0)


@pytest.mark.parametrize("flicker", [False, True])
def test_fast_kernel_noise_inputs_drawn_in_the_step_equal_the_pre_drawn_ones(flicker):
    """With a step of philox.counter_noise the block draws its own shot normals: the noise rows equal those
    from the same normals pre-drawn by standard_normals, bit for bit (flicker rows from the buffer's row 0)."""
    from mixsig.engine import fast, philox

    n, instances, dt, lo, hi, step, scale = 150, 2, 1e-4, 40, 296, 12, 1.3
    m = n * instances
    rng = np.random.default_rng(6)
    syn = np.zeros((3, fast.N_TYPES, m + fast.PAD))
    syn[0] = 10.0 ** rng.uniform(-14, -8, syn[0].shape)
    keys = philox.instance_keys(9, range(instances))
    drawn = np.empty((1, fast.N_TYPES + 1, m))
    philox.standard_normals(drawn, fast.N_TYPES + 1, step, keys, n, scale)
    relative = rng.standard_normal((1, fast.N_TYPES + 1 if flicker else 0, m))
    pre_drawn, work = np.concatenate([drawn, relative], axis=1)[0], np.full(fast.work_shape(m), 7.0)
    fast._noise_inputs(lo, hi, syn, pre_drawn, dt, work)
    counter = philox.step_noise(philox.counter_noise(relative, keys, n, scale), 0, step)
    own = np.full(fast.work_shape(m), 7.0)
    fast._noise_inputs(lo, hi, syn, counter, dt, own)
    np.testing.assert_array_equal(own, work)
