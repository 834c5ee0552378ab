"""Counter-based shot-noise normals (mixsig.engine.philox): reference vectors, statistics, independence of threads."""

import numba
import numpy as np
import pytest
from scipy import stats

from mixsig.engine import philox

# Random123 known-answer vectors for philox4x32_10 (kat_vectors: counter, key, output).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@numba.njit
def _philox(counter, key):
    return philox.philox4x32(counter[0], counter[1], counter[2], counter[3], key[0], key[1])


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_philox_matches_the_reference_vectors(counter, key, expected):
    words = _philox(np.array(counter, dtype=np.uint64), np.array(key, dtype=np.uint64))
    assert tuple(int(w) for w in words) == expected


def _normals(steps=200, rows=5, n=512, instances=2, first_step=0, seed=7, scale=1.0):
    out = np.empty((steps, rows, n * instances))
    philox.standard_normals(out, rows, first_step, philox.instance_keys(seed, range(instances)), n, scale)
    return out


def test_normals_are_standard_normal():
    z = _normals().ravel()
    n = z.size
    # mean and variance within 5 standard errors; the distribution by Kolmogorov-Smirnov at 1e-3
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2.0 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24.0 / n)


def test_rows_neurons_and_steps_are_uncorrelated():
    z = _normals(steps=400)
    bound = 5 / np.sqrt(z.shape[0] * z.shape[2])
    for a, b in ((0, 1), (1, 2), (3, 4), (0, 4)):
        assert abs(np.mean(z[:, a] * z[:, b])) < bound
    assert abs(np.mean(z[1:] * z[:-1])) < 5 / np.sqrt(z[1:].size)
    assert abs(np.mean(z[:, :, 1:] * z[:, :, :-1])) < 5 / np.sqrt(z[:, :, 1:].size)


def test_independent_of_threads_chunks_and_instance_batching():
    threads = numba.get_num_threads()
    whole = _normals(steps=30)
    try:
        numba.set_num_threads(1)
        one = _normals(steps=30)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(whole, one)
    later = _normals(steps=10, first_step=20)
    np.testing.assert_array_equal(whole[20:], later)
    second = np.empty((30, 5, 512))
    philox.standard_normals(second, 5, 0, philox.instance_keys(7, [1]), 512, 1.0)
    np.testing.assert_array_equal(whole[:, :, 512:], second)


def test_scale_seed_and_rows_left_alone():
    np.testing.assert_array_equal(_normals(steps=3, scale=2.0), 2.0 * _normals(steps=3))
    assert not np.array_equal(_normals(steps=3), _normals(steps=3, seed=8))
    out = np.full((3, 10, 1024), 7.0)
    philox.standard_normals(out, 5, 0, philox.instance_keys(7, range(2)), 512, 1.0)
    np.testing.assert_array_equal(out[:, :5], _normals(steps=3))
    assert np.all(out[:, 5:] == 7.0)


def test_engine_draws_its_shot_noise_from_the_instance_streams():
    """The engine's pre-drawn shot-noise rows (the exact integrator's) are these normals (times sqrt(excess)),
    keyed by global instance."""
    from mixsig.engine.simulation import Simulation
    from mixsig.experiment import default_experiment

    simulation = Simulation(default_experiment().replace(duration=0.01, instances=2, noise=True, integrator="exact"))
    assert simulation.shot and not simulation.counter_noise
    simulation._draw_noise(40)
    rows = simulation.noise[:, :5]
    z = rows.ravel() / simulation.shot_scale
    assert abs(z.mean()) < 5 / np.sqrt(z.size) and abs(z.var() - 1.0) < 5 * np.sqrt(2.0 / z.size)
    expected = np.empty_like(simulation.noise)
    philox.standard_normals(expected, 5, 40, philox.instance_keys(simulation.experiment.seed, [0, 1]), simulation.n,
                            simulation.shot_scale)
    np.testing.assert_array_equal(rows, expected[:, :5])


def _reference_normals(steps, rows, n_neurons, keys):
    """The documented rule, in float64 numpy: neuron l's row r at step n is word (l mod 256) div 64 of the
    Philox block of counter (n mod 2^32, n div 2^32, (l div 256) 64 + l mod 64, r), Box-Muller pairs
    (words 0, 1) and (words 2, 3), u = (word + 1/2) 2^-32."""
    out = np.empty((len(steps), rows, n_neurons * len(keys)))
    for s, step in enumerate(steps):
        for i, (k0, k1) in enumerate(keys):
            for r in range(rows):
                for local in range(n_neurons):
                    group = (local // philox.CHUNK) * philox.GROUP + local % philox.GROUP
                    counter = np.array([step % 2**32, step // 2**32, group, r], dtype=np.uint64)
                    words = [int(w) for w in _philox(counter, np.array([k0, k1], dtype=np.uint64))]
                    word = (local % philox.CHUNK) // philox.GROUP
                    u1, u2 = ((words[2 * (word // 2) + t] + 0.5) * 2.0**-32 for t in (0, 1))
                    angle = 2.0 * np.pi * u2
                    radius = np.sqrt(-2.0 * np.log(u1))
                    out[s, r, i * n_neurons + local] = radius * (np.cos(angle) if word % 2 == 0 else np.sin(angle))
    return out


def test_normals_follow_the_documented_counter_rule():
    """Each value against a float64 Box-Muller of its own Philox words (a partial chunk of 300 neurons, two
    instances, steps across 2^32). The float32 Box-Muller is within 2e-6 relative; near u1 = 1 the float32
    rounding of u1 (half an ulp, 2^-25) moves the small radius sqrt(-2 ln u1) by at most sqrt(2^-23) absolute."""
    keys = philox.instance_keys(3, range(2))
    first = 2**32 - 2
    out = np.empty((4, 5, 600))
    philox.standard_normals(out, 5, first, keys, 300, 1.0)
    expected = _reference_normals(range(first, first + 4), 5, 300, keys)
    np.testing.assert_allclose(out, expected, rtol=2e-6, atol=2.0**-11.5)


@pytest.mark.parametrize("n_neurons, lo, hi", [(512, 0, 256), (512, 256, 768), (300, 0, 256), (300, 256, 512),
                                               (300, 40, 590), (700, 500, 1400), (100, 17, 18)])
def test_block_normals_are_the_standard_normals_of_any_range(n_neurons, lo, hi):
    """A kernel's block of neurons draws, row by row, the values standard_normals gives those neurons, bit for
    bit: whole chunks, chunks cut by the range's ends, ranges across instances and partial chunks."""
    instances, steps, scale = 3, (0, 5, 2**32 + 1), 1.7
    keys = philox.instance_keys(11, range(instances))
    for step in steps:
        whole = np.empty((1, 5, n_neurons * instances))
        philox.standard_normals(whole, 5, step, keys, n_neurons, scale)
        for row in range(5):
            out = np.full(hi - lo + 2, 9.0)
            philox.block_normals(out[1:-1], lo, hi, step, row, keys, n_neurons, scale, *philox.scratch())
            np.testing.assert_array_equal(out[1:-1], whole[0, row, lo:hi])
            assert out[0] == out[-1] == 9.0


def _fast_run(monkeypatch, counter, parallel, **changes):
    """The state after a short noisy fast run, the kernel drawing its own shot noise (``counter``) or fed
    the engine's pre-drawn rows."""
    import dataclasses

    from mixsig.engine import protocol, simulation as engine
    from mixsig.experiment import default_experiment

    kernel = dataclasses.replace(protocol.FAST, counter_noise=counter)
    monkeypatch.setattr(engine, "kernel_for", lambda model, integrator: kernel)
    simulation = engine.Simulation(default_experiment().replace(duration=0.05, instances=2, noise=True, seed=5,
                                                                **changes))
    simulation.parallel = parallel
    assert simulation.counter_noise == counter and simulation.buffered == (not counter or simulation.flicker)
    simulation.advance(0.05, progress=False)
    return simulation.syn.copy(), simulation.soma.copy(), simulation.n_spikes


@pytest.mark.parametrize("changes", [{}, {"device_model": "fdsoi_22nm"}])
def test_fast_kernel_draws_in_the_step_what_the_engine_would_pre_draw(monkeypatch, changes):
    """The fast kernel's own shot-noise draws (counter_noise) give the run the pre-drawn rows give, bit for
    bit, on one thread and on all (with flicker, fdsoi_22nm: its rows stay pre-drawn)."""
    drawn = _fast_run(monkeypatch, True, True, **changes)
    assert drawn[2] > 0
    for counter, parallel in ((False, True), (True, False), (False, False)):
        other = _fast_run(monkeypatch, counter, parallel, **changes)
        np.testing.assert_array_equal(other[0], drawn[0])
        np.testing.assert_array_equal(other[1], drawn[1])
        assert other[2] == drawn[2]
