"""Temporal noise of subthreshold currents: white shot noise and optional flicker (1/f) noise.

Model equations (SI units)
--------------------------
Shot noise: one-sided current PSD ``S_I(f) = 2 q I``. The mean of such a white current over a
step ``dt`` has variance ``S_I / (2 dt) = q I / dt`` (``I dt / q`` Poisson electrons), so each step
adds ``n = sqrt(q |I| / dt) * N(0, 1)``, a step-averaged noise current in A.

Filtered by a first-order stage of time constant ``tau`` (noise bandwidth ``1 / (4 tau)``), the
output variance is ``2 q I / (4 tau) = q I / (2 tau)`` (:func:`filtered_shot_noise_variance`).

Flicker noise: ``S_I(f) = K_f I^2 / f`` between ``f_min`` and ``f_max``, synthesised as a sum of
Ornstein-Uhlenbeck processes ``x_k`` (relative fluctuations) with corner rates
``lambda_k = 2 pi f_k``, ``f_k`` log-spaced by a ratio ``r``: a density of ``1 / ln r`` poles per
unit ``ln f``, each of variance ``K_f ln r``, gives ``S(f) = K_f / f`` inside the band. Each pole
is advanced exactly, ``x_k <- a_k x_k + sqrt(K_f ln r (1 - a_k^2)) N(0, 1)``, ``a_k = exp(-lambda_k dt)``,
and the noise current is ``I * sum_k x_k``.

Every draw comes from a ``numpy.random.Generator`` the caller passes in.
"""

import numpy as np

from mixsig.constants import Q_E


def shot_noise_sigma(i, dt):
    """Standard deviation of the step-averaged shot-noise current, ``sqrt(q |I| / dt)``, A.

    Parameters
    ----------
    i : float or ndarray
        Mean current, A.
    dt : float
        Step, s.
    """
    return np.sqrt(Q_E * np.abs(i) / dt)


def shot_noise(i, dt, rng):
    """Step-averaged shot-noise current for one step.

    Parameters
    ----------
    i : float or ndarray, shape S
        Mean current through each device, A.
    dt : float
        Step, s.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape S
        Noise current (zero mean, ``sigma = sqrt(q |I| / dt)``), A.
    """
    return shot_noise_sigma(i, dt) * rng.standard_normal(np.shape(i))


def filtered_shot_noise_variance(i, tau):
    """Variance of white ``2 q I`` noise after a first-order low-pass of time constant ``tau``.

    Parameters
    ----------
    i : float or ndarray
        Mean current, A.
    tau : float or ndarray
        Time constant, s.

    Returns
    -------
    float or ndarray
        ``q I / (2 tau)``, A^2.
    """
    return Q_E * np.abs(i) / (2.0 * tau)


class FlickerNoise:
    """Stateful generator of flicker noise ``S_I = K_f I^2 / f`` on an array of currents.

    Parameters
    ----------
    k_f : float
        Flicker coefficient (dimensionless, >= 0).
    f_min, f_max : float
        Band of the 1/f spectrum, Hz (``0 < f_min < f_max``). Keep ``f_max`` well below ``1 / dt``.
    shape : tuple of int
        Shape of the current array, e.g. ``(instance, neuron)``.
    rng : numpy.random.Generator
        Draws the initial (stationary) state.
    poles_per_decade : int
        Density of Lorentzian poles.

    Attributes
    ----------
    frequencies : ndarray, shape (n_poles,)
        Corner frequencies ``f_k``, Hz.
    pole_variance : float
        Variance of each relative pole process, ``K_f ln r``.
    state : ndarray, shape ``(n_poles,) + shape``
        Relative fluctuation of each pole.
    """

    def __init__(self, k_f, f_min, f_max, shape, rng, poles_per_decade=2):
        if not (k_f >= 0 and 0 < f_min < f_max and poles_per_decade >= 1):
            raise ValueError(f"need k_f >= 0, 0 < f_min < f_max, poles_per_decade >= 1; got {k_f}, {f_min}, {f_max}, {poles_per_decade}")
        decades = np.log10(f_max / f_min)
        n_poles = max(int(np.ceil(decades * poles_per_decade)), 1) + 1
        self.frequencies = np.geomspace(f_min, f_max, n_poles)
        ratio = 10.0 ** (1.0 / poles_per_decade)
        self.k_f = float(k_f)
        self.pole_variance = k_f * np.log(ratio)
        self.state = np.sqrt(self.pole_variance) * rng.standard_normal((n_poles, *shape))

    @property
    def variance(self):
        """Stationary variance of the relative fluctuation ``sum_k x_k`` (dimensionless)."""
        return self.pole_variance * len(self.frequencies)

    def step(self, i, dt, rng):
        """Advance by ``dt`` and return the flicker noise current.

        Parameters
        ----------
        i : ndarray, shape ``shape``
            Mean current, A.
        dt : float
            Step, s.
        rng : numpy.random.Generator

        Returns
        -------
        ndarray, shape ``shape``
            Noise current, A.
        """
        decay = np.exp(-2.0 * np.pi * self.frequencies * dt).reshape((-1,) + (1,) * (self.state.ndim - 1))
        kick = np.sqrt(self.pole_variance * (1.0 - decay**2))
        self.state = decay * self.state + kick * rng.standard_normal(self.state.shape)
        return np.asarray(i) * self.state.sum(axis=0)


class DeviceNoise:
    """The temporal noise a device model switches on (shot and/or flicker), for one current array.

    Parameters
    ----------
    settings : mixsig.device.calibration.NoiseSettings
        ``model.noise`` of a device model.
    shape : tuple of int
        Shape of the current array, e.g. ``(instance, neuron)``.
    rng : numpy.random.Generator
        Draws the initial flicker state (when flicker is on).

    Notes
    -----
    With both switches off, :meth:`step` returns ``None`` (the circuits' "no noise" input).
    """

    def __init__(self, settings, shape, rng):
        self.settings = settings
        self.flicker = FlickerNoise(settings.k_f, settings.f_min, settings.f_max, shape, rng) if settings.flicker else None

    def step(self, i, dt, rng):
        """Noise current for one step (shot + flicker as switched on), A, or ``None``.

        Parameters
        ----------
        i : ndarray
            Mean current, A.
        dt : float
            Step, s.
        rng : numpy.random.Generator
        """
        total = None
        if self.settings.shot:
            total = shot_noise(i, dt, rng)
        if self.flicker is not None:
            flicker = self.flicker.step(i, dt, rng)
            total = flicker if total is None else total + flicker
        return total
