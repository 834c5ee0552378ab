"""Population coding: tuning curves, NEF least-squares decoders, Fisher information, ML decoding.

Model equations
---------------
A scalar stimulus ``x`` is encoded by ``N`` neurons with tuning curves ``f_a(x)`` [Hz]; in a
window ``T`` neuron ``a`` emits ``n_a ~ Poisson(T f_a(x))`` spikes.

* Linear (NEF) decoding (Eliasmith & Anderson 2003): ``x_hat = sum_a r_a d_a`` with ``r_a = n_a /
  T``. The decoders minimise the expected squared error over ``S`` sample points ``x_s`` when
  the rates carry independent noise of variance ``sigma^2``::

      d = (A^T A + S sigma^2 I)^(-1) A^T x,      A[s, a] = f_a(x_s)

  For Poisson counts ``sigma^2 = mean_{s,a} f_a(x_s) / T`` (the variance of a rate estimate).
  The noise part of the error variance falls as ``1/N`` (RMSE slope -1/2 in log-log).
* Fisher information of independent Poisson counts (Dayan & Abbott 2001, ch. 3)::

      J(x) = T sum_a f_a'(x)^2 / f_a(x)

  and the Cramer-Rao bound on the RMSE of an unbiased estimator is ``1 / sqrt(J(x))``. It is a
  bound only for Poisson neurons: neurons more regular than Poisson carry more information.
* Linear Fisher information of measured responses (Kanitscheider, Coen-Cagli, Kohn & Pouget
  2015, PLoS Comput Biol 11:e1004218, eq. 2 and eq. 19): responses ``r`` (any units, e.g.
  counts) to two stimuli ``x0 -+ dx/2``, ``T`` independent trials each, ``N`` neurons; ``mu_+-``
  the sample means, ``S`` the average of the two sample covariances (``ddof = 1``)::

      I_naive = f'^T S^-1 f',    f' = (mu_+ - mu_-) / dx
      I_bc    = I_naive (2T - N - 3) / (2T - 2) - 2N / (T dx^2)
      var(I_bc) = 2 I_bc^2 / (2T - N - 5) [1 + 4 (2T - 3) / (T I_bc dx^2) + 4 N (2T - 3) / (T I_bc dx^2)^2]

  ``I_bc`` is unbiased for Gaussian responses (``I_naive`` overestimates: the inverse of a
  sample covariance is biased upward and the noise of the mean difference adds ``2N/(T dx^2)``).
  ``I = f'^T Sigma^-1 f'`` is the information available to the best locally unbiased *linear*
  decoder, whose variance is ``1/I``; it equals the full Fisher information for Gaussian
  responses with a stimulus-independent covariance and is a lower bound on it otherwise. It
  uses the measured covariance, so it holds for sub- or super-Poisson, correlated neurons.
  (Formulas as implemented in the MET Analysis Kit ``maklinfin.m``, which cites equations 2 and
  19 of the paper; the paper's abstract was read, its methods section was not.)
* Maximum-likelihood decoding: ``x_ML = argmax_x sum_a [n_a ln(T f_a(x)) - T f_a(x)]``,
  evaluated on a grid and refined by a parabola through the best grid point and its neighbours.

Functions take and return numpy arrays (``*_rates`` in Hz, ``T`` in s) except
:func:`tuning_curves`, which turns a ``mixsig-1`` dataset into an xarray DataArray.
"""

import numpy as np
import xarray as xr

from mixsig.analysis.stats import interval_counts
from mixsig.errors import ConfigError, Problem


def tuning_curves(ds, stimulus, starts, stops):
    """Mean firing rate of every neuron at every stimulus value, from a sequence of trials.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset.
    stimulus : array_like, shape (K,)
        Stimulus of each trial (any units; repeated values are averaged).
    starts, stops : array_like, shape (K,)
        Counting window of each trial, s.

    Returns
    -------
    xarray.DataArray, shape (instance, neuron, stimulus)
        Mean rates, Hz, over the trials of each distinct stimulus value (sorted).
    """
    rates = trial_rates(ds, stimulus, starts, stops)
    curves = rates.groupby("stimulus").mean("trial")
    curves.attrs = {"units": "Hz", "long_name": "tuning curve (mean firing rate)"}
    return curves.transpose("instance", "neuron", "stimulus")


def trial_rates(ds, stimulus, starts, stops):
    """Firing rate of every (instance, neuron) in every trial window.

    Parameters
    ----------
    ds : xarray.Dataset
    stimulus, starts, stops : array_like, shape (K,)
        Stimulus value and window [s] of each trial (windows increasing, non-overlapping).

    Returns
    -------
    xarray.DataArray, shape (instance, neuron, trial)
        Rates, Hz, with coordinate ``stimulus(trial)``.
    """
    stimulus = np.asarray(stimulus, dtype=float)
    starts = np.asarray(starts, dtype=float)
    stops = np.asarray(stops, dtype=float)
    counts = interval_counts(ds, starts, stops)
    rates = xr.DataArray(
        counts / (stops - starts), dims=("instance", "neuron", "trial"),
        coords={"instance": ds["instance"].values, "neuron": ds["neuron"].values,
                "stimulus": ("trial", stimulus), "window": ("trial", stops - starts)},
        attrs={"units": "Hz", "long_name": "firing rate in trial window"},
    )
    rates["window"].attrs = {"units": "s", "long_name": "trial counting window"}
    return rates


def poisson_noise_variance(rates, window):
    """Variance of a rate estimate ``n / T`` for Poisson counts, averaged over samples and neurons, Hz^2.

    Parameters
    ----------
    rates : ndarray, shape (S, N)
        Tuning curves at the sample points, Hz.
    window : float
        Counting window ``T``, s.
    """
    return float(np.mean(rates) / window)


def nef_decoders(rates, x, noise_variance):
    """Least-squares linear decoders regularised by the rate-noise variance.

    Parameters
    ----------
    rates : ndarray, shape (S, N)
        Tuning curves ``A[s, a] = f_a(x_s)`` at ``S`` sample points, Hz.
    x : ndarray, shape (S,) or (S, D)
        Target values at the sample points.
    noise_variance : float
        Variance ``sigma^2`` of the rate noise, Hz^2 (0: plain least squares).

    Returns
    -------
    ndarray, shape (N,) or (N, D)
        Decoders, units of ``x`` per Hz.
    """
    rates = np.asarray(rates, dtype=float)
    gram = rates.T @ rates + rates.shape[0] * float(noise_variance) * np.eye(rates.shape[1])
    # least squares, not solve: silent neurons with no noise make the system singular (minimum-norm decoders)
    return np.linalg.lstsq(gram, rates.T @ np.asarray(x, dtype=float), rcond=None)[0]


def decode(rates, decoders):
    """Linear estimate ``x_hat = rates @ decoders``.

    Parameters
    ----------
    rates : ndarray, shape (..., N)
        Rates, Hz.
    decoders : ndarray, shape (N,) or (N, D)
    """
    return np.asarray(rates, dtype=float) @ decoders


def rmse(estimate, target, axis=None):
    """Root-mean-square error ``sqrt(mean((estimate - target)^2))``.

    Parameters
    ----------
    estimate, target : array_like, broadcastable shapes
        Estimates and true values, same units.
    axis : int or tuple of int, optional
        Axes to average over (default: all).

    Returns
    -------
    float or ndarray
        RMSE, units of ``target``; shape of the broadcast inputs without ``axis``.
    """
    return np.sqrt(np.mean((np.asarray(estimate, dtype=float) - np.asarray(target, dtype=float)) ** 2, axis=axis))


def poisson_fisher_information(rates, slopes, window):
    """Fisher information of independent Poisson counts, ``J = T sum_a f_a'^2 / f_a``.

    Parameters
    ----------
    rates : ndarray, shape (..., N)
        Tuning curves ``f_a(x)``, Hz (> 0).
    slopes : ndarray, shape (..., N)
        Their derivatives ``f_a'(x)``, Hz per stimulus unit.
    window : float
        Counting window ``T``, s.

    Returns
    -------
    ndarray, shape (...)
        ``J``, per squared stimulus unit; ``1/sqrt(J)`` is the Cramer-Rao bound on the RMSE of
        Poisson neurons with these tuning curves (not of more regular neurons).
    """
    rates = np.asarray(rates, dtype=float)
    if np.any(rates <= 0):
        raise ConfigError([Problem("<analysis>", "rates", float(rates.min()), "rates > 0 Hz (Poisson Fisher information)")], "Fisher information")
    return window * np.sum(np.asarray(slopes, dtype=float) ** 2 / rates, axis=-1)


def ml_decode(counts, grid, grid_rates, window):
    """Maximum-likelihood stimulus estimate from Poisson counts.

    Parameters
    ----------
    counts : ndarray, shape (K, N)
        Spike counts of ``K`` trials.
    grid : ndarray, shape (G,)
        Increasing, evenly spaced candidate stimuli.
    grid_rates : ndarray, shape (G, N)
        Tuning curves on the grid, Hz (> 0).
    window : float
        Counting window ``T``, s.

    Returns
    -------
    ndarray, shape (K,)
        ``x_ML``: the grid maximum of the log-likelihood, refined by a parabola through it and
        its two neighbours (clipped to the grid).
    """
    grid = np.asarray(grid, dtype=float)
    expected = window * np.asarray(grid_rates, dtype=float)
    if np.any(expected <= 0):
        raise ConfigError([Problem("<analysis>", "grid_rates", float(expected.min()), "rates > 0 Hz")], "ML decoder")
    loglik = np.asarray(counts, dtype=float) @ np.log(expected).T - expected.sum(axis=1)
    best = np.argmax(loglik, axis=1)
    inner = np.clip(best, 1, grid.size - 2)
    rows = np.arange(loglik.shape[0])
    left, mid, right = loglik[rows, inner - 1], loglik[rows, inner], loglik[rows, inner + 1]
    curvature = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
    shift = np.where(best == inner, np.clip(shift, -1.0, 1.0), 0.0)
    step = grid[1] - grid[0]
    return np.clip(grid[best] + shift * step, grid[0], grid[-1])


def interpolate_curves(x, curves, grid):
    """Tuning curves resampled on ``grid`` (piecewise-cubic Hermite, monotone-preserving) and their slopes.

    Parameters
    ----------
    x : ndarray, shape (K,)
        Increasing stimulus values where the curves were measured.
    curves : ndarray, shape (K, N)
        Rates, Hz.
    grid : ndarray, shape (G,)

    Returns
    -------
    rates, slopes : ndarray, shape (G, N)
        Hz and Hz per stimulus unit.
    """
    from scipy.interpolate import PchipInterpolator

    spline = PchipInterpolator(np.asarray(x, dtype=float), np.asarray(curves, dtype=float), axis=0)
    return spline(grid), spline.derivative()(grid)


def linear_fisher_information(responses_minus, responses_plus, delta):
    """Bias-corrected linear Fisher information from trials at two nearby stimuli (Kanitscheider et al. 2015).

    Parameters
    ----------
    responses_minus, responses_plus : ndarray, shape (T, N)
        Responses (e.g. spike counts) of ``N`` neurons in ``T`` independent trials at the stimuli
        ``x0 - delta/2`` and ``x0 + delta/2``; ``T >= (N + 5) / 2``.
    delta : float
        Stimulus difference ``dx`` (> 0), stimulus units.

    Returns
    -------
    dict of float
        ``bias_corrected`` (``I_bc``), ``naive`` (``I_naive``) and ``variance`` (the sampling
        variance of ``I_bc``, eq. 19), per squared stimulus unit; see the module docstring.
        ``1/sqrt(I)`` is the discrimination threshold (d' = 1) of the optimal linear decoder.
    """
    minus = np.asarray(responses_minus, dtype=float)
    plus = np.asarray(responses_plus, dtype=float)
    problems = []
    if minus.ndim != 2 or minus.shape != plus.shape:
        problems.append(Problem("<analysis>", "responses", (minus.shape, plus.shape), "two (trials, neurons) arrays of one shape"))
    elif 2 * minus.shape[0] < minus.shape[1] + 5:
        problems.append(Problem("<analysis>", "responses", minus.shape, "at least (N + 5) / 2 trials per stimulus for N neurons"))
    if not (np.isfinite(delta) and delta > 0):
        problems.append(Problem("<analysis>", "delta", delta, "a stimulus difference > 0"))
    if problems:
        raise ConfigError(problems, "linear Fisher information")
    trials, n = minus.shape
    slope = (plus.mean(axis=0) - minus.mean(axis=0)) / delta
    covariance = 0.5 * (np.atleast_2d(np.cov(minus, rowvar=False)) + np.atleast_2d(np.cov(plus, rowvar=False)))
    naive = float(slope @ np.linalg.pinv(covariance, hermitian=True) @ slope)
    corrected = np.float64(naive * (2 * trials - n - 3) / (2 * trials - 2) - 2 * n / (trials * delta ** 2))
    scale = trials * corrected * delta ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = 2 * corrected ** 2 / (2 * trials - n - 5) * (1 + 4 * (2 * trials - 3) / scale + 4 * n * (2 * trials - 3) / scale ** 2)
    return {"bias_corrected": float(corrected), "naive": naive, "variance": float(variance)}
