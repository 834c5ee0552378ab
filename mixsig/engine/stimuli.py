"""Input spike trains and their binning onto the simulation grid.

Spike times are drawn in continuous time and only then assigned to steps, so the same seed gives
the same train at every ``dt``. With the experiment's ``delivery = "step"`` a pulse starts at the
beginning of the step in which it arrives (see :mod:`mixsig.circuits.dpi`); with ``"exact"`` at its
spike time (:mod:`mixsig.engine.onsets`).
"""

import numpy as np


def poisson_times(rate, duration, rng):
    """Homogeneous Poisson spike times.

    Parameters
    ----------
    rate : float
        Mean rate, Hz (>= 0).
    duration : float
        Length of the train, s.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller through ``SeedSequence``).

    Returns
    -------
    ndarray, shape (n_spikes,)
        Sorted spike times in ``[0, duration)``, s.
    """
    if rate < 0 or duration < 0:
        raise ValueError(f"rate and duration must be >= 0 (got rate={rate!r} Hz, duration={duration!r} s)")
    count = rng.poisson(rate * duration)
    return np.sort(rng.uniform(0.0, duration, size=count))


def regular_times(rate, duration, phase=0.0):
    """Regular spike train ``phase, phase + 1/rate, ...`` below ``duration``.

    Parameters
    ----------
    rate : float
        Rate, Hz (> 0).
    duration : float
        Length of the train, s.
    phase : float
        Time of the first spike, s.

    Returns
    -------
    ndarray, shape (n_spikes,)
        Spike times, s.
    """
    if rate <= 0:
        raise ValueError(f"rate must be > 0 Hz (got {rate!r})")
    return np.arange(phase, duration, 1.0 / rate)


def bin_times(times, dt, n_steps):
    """Number of spikes that arrive in each step.

    Parameters
    ----------
    times : ndarray, shape (n_spikes,)
        Spike times, s.
    dt : float
        Step, s.
    n_steps : int
        Number of steps; spikes at or after ``n_steps * dt`` are dropped.

    Notes
    -----
    Step ``n`` covers ``[n*dt, (n+1)*dt)``. A spike time that is a multiple of ``dt`` up to
    floating-point rounding (``0.3 / 0.1 = 2.9999999999999996``) is counted in the step it starts:
    the boundary is shifted by ``1e-9`` of a step.

    Returns
    -------
    ndarray of int64, shape (n_steps,)
    """
    steps = np.floor(np.asarray(times) / dt + 1e-9).astype(np.int64)
    steps = steps[(steps >= 0) & (steps < n_steps)]
    return np.bincount(steps, minlength=n_steps)
