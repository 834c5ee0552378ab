"""Spike statistics, variability across devices and effective number of bits.

Everything operates on ``mixsig-1`` datasets (docs/dataset.md) and returns xarray objects with
``units`` and ``long_name`` attributes.

Definitions
-----------
Firing rate in a window ``[t0, t1)``: ``r = n / (t1 - t0)`` [Hz], ``n`` the spikes in the window.

Inter-spike intervals of one neuron: ``ISI_k = t_{k+1} - t_k``; ``CV_ISI = std(ISI) / mean(ISI)``
(population standard deviation, ``ddof = 0``).

Time to first spike (TTFS) after an onset ``t_on``: ``t_1 - t_on`` with ``t_1`` the first spike
at or after ``t_on`` (nan when the neuron stays silent).

Coefficient of variation across devices: ``CV = s / mean`` with the unbiased sample standard
deviation ``s`` (``ddof = 1``).

Population averaging (CV versus population size ``N``): the ``P`` neurons of an instance are
split at random into ``P / N`` groups of ``N``; the group means ``m_j`` of a quantity with
independent per-neuron deviations of variance ``s^2`` then satisfy ``E[var_{ddof=1}(m_j)] =
s^2 / N`` exactly (finite-population sampling without replacement), so
``CV_N = CV_1 / sqrt(N)``: slope -1/2 in log-log, +1/2 bit of ENOB per doubling of ``N``.
A term shared by every neuron of a core (the core's bias-generator error) is a common factor
within an instance and does not average out: pooling group means over instances gives
``CV_N^2 = CV_ind^2 / N + CV_shared^2``, which levels off at ``CV_shared``.

ENOB conventions (:data:`ENOB_CONVENTIONS`; default :data:`DEFAULT_ENOB` = ``"levels"``):

* ``levels``: ``ENOB = log2(1 / CV)``, the number of bits of ``1/CV`` distinguishable levels;
* ``quantizer``: ``ENOB = log2(1 / (sqrt(12) CV))``, the ideal uniform quantizer whose rms error
  ``LSB / sqrt(12)`` equals ``CV`` times the full scale;
* ``sinad``: ``ENOB = (SINAD - 1.76 dB) / 6.02 dB`` for a full-scale *sine* and its estimate,
  ``SINAD = 10 log10(P_signal / P_error)``, ``P_signal`` the variance of the signal and
  ``P_error`` the mean squared error (IEEE 1241). The 1.76 dB is ``10 log10(3/2)``, the ratio of
  a full-scale sine's power ``range^2/8`` to that of a uniform signal ``range^2/12``: it belongs
  to sine-wave tests only;
* ``uniform``: ``ENOB = log2(range / (RMSE sqrt(12)))`` for a signal spread uniformly over
  ``range`` (a stimulus swept over its range): the ideal ``n``-bit quantizer of such a signal
  has ``RMSE = LSB / sqrt(12) = range / (2^n sqrt(12))``.

The ``levels`` and ``quantizer`` ENOBs of a CV are a *fixed-pattern spread at one operating
point* (how far apart the devices of a population sit for one input), not the resolution of a
signal: that needs a signal swept over its range and its estimate (``uniform`` or ``sinad``).
"""

import numpy as np
import xarray as xr

from mixsig.errors import ConfigError, Problem

ENOB_CONVENTIONS = ("levels", "quantizer", "sinad", "uniform")
"""Names of the ENOB conventions."""

DEFAULT_ENOB = "levels"
"""Convention used when none is given."""


def _attrs(units, long_name, **extra):
    return {"units": units, "long_name": long_name, **extra}


def _positions(ds):
    """Instance and neuron positions (not ids) of every spike."""
    inst = np.searchsorted(ds["instance"].values, ds["spike_instance"].values)
    neur = np.searchsorted(ds["neuron"].values, ds["spike_neuron"].values)
    return inst, neur


def _frame(values, ds, units, long_name, extra_dims=(), extra_coords=None):
    dims = ("instance", "neuron") + tuple(extra_dims)
    coords = {"instance": ds["instance"].values, "neuron": ds["neuron"].values, "core": ("neuron", ds["core"].values)}
    coords.update(extra_coords or {})
    return xr.DataArray(values, dims=dims, coords=coords, attrs=_attrs(units, long_name))


def window_counts(ds, edges):
    """Spike counts of every (instance, neuron) in consecutive windows.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset.
    edges : array_like, shape (W + 1,)
        Increasing window edges, s. Window ``w`` is ``[edges[w], edges[w + 1])``.

    Returns
    -------
    xarray.DataArray, shape (instance, neuron, window), int64
        Counts, with coordinates ``window_start`` and ``window_stop`` [s].
    """
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ConfigError([Problem("<analysis>", "edges", edges.tolist(), "at least 2 strictly increasing times (s)")], "window edges")
    n_i, n_n, n_w = ds.sizes["instance"], ds.sizes["neuron"], edges.size - 1
    inst, neur = _positions(ds)
    window = np.searchsorted(edges, ds["spike_time"].values, side="right") - 1
    keep = (window >= 0) & (window < n_w)
    flat = (inst[keep] * n_n + neur[keep]) * n_w + window[keep]
    counts = np.bincount(flat, minlength=n_i * n_n * n_w).reshape(n_i, n_n, n_w)
    out = _frame(counts, ds, "1", "spike count in window", ("window",),
                 {"window_start": ("window", edges[:-1]), "window_stop": ("window", edges[1:])})
    out["window_start"].attrs = _attrs("s", "window start")
    out["window_stop"].attrs = _attrs("s", "window stop")
    return out


def interval_counts(ds, starts, stops):
    """Spike counts of every (instance, neuron) in non-overlapping intervals ``[starts[k], stops[k])``.

    Parameters
    ----------
    ds : xarray.Dataset
    starts, stops : array_like, shape (K,)
        Interval bounds, s, increasing and non-overlapping.

    Returns
    -------
    ndarray, shape (instance, neuron, K), int64
    """
    starts, stops = np.asarray(starts, dtype=float), np.asarray(stops, dtype=float)
    edges = np.empty(2 * starts.size)
    edges[0::2], edges[1::2] = starts, stops
    if np.any(np.diff(edges) < 0):  # e.g. a stop one rounding error after the next start
        raise ConfigError([Problem("<analysis>", "intervals", int(np.argmax(np.diff(edges) < 0)) // 2,
                                   "increasing, non-overlapping intervals (a shared edge must be the same number)")], "counting intervals")
    if edges.size > 2 and np.any(np.diff(edges) == 0):  # adjacent intervals: merge the shared edge
        edges = np.unique(edges)
        return window_counts(ds, edges).values[:, :, np.searchsorted(edges, starts)]
    return window_counts(ds, edges).values[:, :, 0::2]


def firing_rates(ds, start=0.0, stop=None):
    """Firing rate of every neuron of every instance in ``[start, stop)``.

    Parameters
    ----------
    ds : xarray.Dataset
    start, stop : float
        Window, s (``stop`` defaults to the dataset's ``duration`` attribute).

    Returns
    -------
    xarray.DataArray, shape (instance, neuron)
        Rates, Hz.
    """
    stop = float(ds.attrs["duration"]) if stop is None else float(stop)
    counts = window_counts(ds, [start, stop]).isel(window=0, drop=True)
    out = counts / (stop - start)
    out.attrs = _attrs("Hz", "firing rate", window=f"[{start:g}, {stop:g}) s")
    return out.drop_vars(["window_start", "window_stop"], errors="ignore")


def _spike_lists(ds):
    """Spike times of each (instance position, neuron position), in C order, as a list of arrays."""
    count = ds["spike_count"].values.ravel()
    offset = np.cumsum(count) - count
    times = ds["spike_time"].values
    return [times[o:o + c] for o, c in zip(offset, count)]


def time_to_first_spike(ds, onset=0.0):
    """Time from ``onset`` to the first spike at or after it, per (instance, neuron).

    Parameters
    ----------
    ds : xarray.Dataset
    onset : float
        Stimulus onset, s.

    Returns
    -------
    xarray.DataArray, shape (instance, neuron)
        TTFS, s; nan for neurons without a spike after ``onset``.
    """
    shape = (ds.sizes["instance"], ds.sizes["neuron"])
    out = np.full(shape[0] * shape[1], np.nan)
    for k, times in enumerate(_spike_lists(ds)):
        after = times[times >= onset]
        if after.size:
            out[k] = after[0] - onset
    ttfs = _frame(out.reshape(shape), ds, "s", "time to first spike")
    ttfs.attrs["onset"] = float(onset)
    return ttfs


def isi_statistics(ds, start=0.0, stop=None):
    """Mean inter-spike interval and its coefficient of variation, per (instance, neuron).

    Parameters
    ----------
    ds : xarray.Dataset
    start, stop : float
        Only spikes in ``[start, stop)`` are used, s.

    Returns
    -------
    xarray.Dataset
        ``mean_isi`` [s] and ``cv_isi`` [1], shape (instance, neuron); nan with fewer than 2
        (mean) or 3 (CV) spikes.
    """
    stop = float(ds.attrs["duration"]) if stop is None else float(stop)
    shape = (ds.sizes["instance"], ds.sizes["neuron"])
    mean = np.full(shape[0] * shape[1], np.nan)
    cv = np.full_like(mean, np.nan)
    for k, times in enumerate(_spike_lists(ds)):
        isi = np.diff(times[(times >= start) & (times < stop)])
        if isi.size >= 1:
            mean[k] = isi.mean()
        if isi.size >= 2:
            cv[k] = isi.std() / isi.mean()
    return xr.Dataset({
        "mean_isi": _frame(mean.reshape(shape), ds, "s", "mean inter-spike interval"),
        "cv_isi": _frame(cv.reshape(shape), ds, "1", "coefficient of variation of the inter-spike intervals"),
    })


def fi_curve(ds, amplitudes, starts, stops, settle=0.0):
    """Firing rate versus injected DC current from a staircase of DC steps.

    Parameters
    ----------
    ds : xarray.Dataset
    amplitudes : array_like, shape (K,)
        Injected current of each step, A.
    starts, stops : array_like, shape (K,)
        Step windows, s (non-overlapping, increasing).
    settle : float
        Time discarded after each step onset before counting (transient), s.

    Returns
    -------
    xarray.DataArray, shape (instance, neuron, i_in)
        Rates, Hz, with coordinate ``i_in`` [A].
    """
    amplitudes = np.asarray(amplitudes, dtype=float)
    starts = np.asarray(starts, dtype=float) + settle
    stops = np.asarray(stops, dtype=float)
    rates = interval_counts(ds, starts, stops) / (stops - starts)
    out = _frame(rates, ds, "Hz", "firing rate", ("i_in",), {"i_in": ("i_in", amplitudes)})
    out["i_in"].attrs = _attrs("A", "injected DC current")
    return out


def cv(values, dim):
    """Coefficient of variation ``std(ddof=1) / mean`` along ``dim``.

    Parameters
    ----------
    values : xarray.DataArray
    dim : str or sequence of str
        Dimension(s) across which the spread is taken (e.g. ``"neuron"`` or
        ``("instance", "neuron")``).

    Returns
    -------
    xarray.DataArray
        CV [1], nan-aware (non-finite values are skipped).
    """
    out = values.std(dim=dim, ddof=1, skipna=True) / values.mean(dim=dim, skipna=True)
    out.attrs = _attrs("1", f"coefficient of variation across {dim} of {values.attrs.get('long_name', values.name)}")
    return out


def check_convention(convention):
    """Raise :class:`~mixsig.errors.ConfigError` unless ``convention`` is one of ``ENOB_CONVENTIONS``.

    Parameters
    ----------
    convention : str
        ENOB convention name (``"levels"``, ``"quantizer"``).
    """
    if convention not in ENOB_CONVENTIONS:
        raise ConfigError([Problem("<analysis>", "enob_convention", convention, f"one of {ENOB_CONVENTIONS}")], "ENOB convention")


def enob_from_cv(cv_values, convention=DEFAULT_ENOB):
    """Effective number of bits of a relative spread ``CV``.

    Parameters
    ----------
    cv_values : float, ndarray or xarray.DataArray
        Coefficients of variation [1].
    convention : {"levels", "quantizer"}
        ``levels``: ``log2(1/CV)``; ``quantizer``: ``log2(1/(sqrt(12) CV))``. ``"sinad"`` needs
        a signal: use :func:`enob_sinad`.

    Returns
    -------
    same type as ``cv_values``
        ENOB, bit (an xarray result carries the attribute ``enob_convention``).
    """
    check_convention(convention)
    if convention not in ("levels", "quantizer"):
        raise ConfigError([Problem("<analysis>", "enob_convention", convention,
                                   f"'levels' or 'quantizer' ({convention} needs a signal: enob_{convention})")], "ENOB convention")
    scale = 1.0 if convention == "levels" else np.sqrt(12.0)
    with np.errstate(divide="ignore"):
        out = -np.log2(scale * cv_values)  # CV = 0 (nominal chips): infinitely many bits
    if isinstance(out, xr.DataArray):
        out.attrs = _attrs("bit", f"effective number of bits ({convention})", enob_convention=convention)
    return out


def sinad_db(signal, estimate, axis=None):
    """Signal-to-noise-and-distortion ratio ``10 log10(var(signal) / mean((estimate - signal)^2))``, dB.

    Parameters
    ----------
    signal, estimate : array_like
        True signal and its estimate, same shape and units.
    axis : int, optional
        Axis over which powers are taken (default: all).
    """
    signal = np.asarray(signal, dtype=float)
    estimate = np.asarray(estimate, dtype=float)
    p_signal = np.var(signal, axis=axis)
    p_error = np.mean((estimate - signal) ** 2, axis=axis)
    return 10.0 * np.log10(p_signal / p_error)


def enob_sinad(signal, estimate, axis=None):
    """ENOB ``(SINAD - 1.76 dB) / 6.02 dB`` of an estimate of a time-varying signal (IEEE 1241).

    Parameters
    ----------
    signal, estimate : array_like, same shape
        True signal and its estimate, same units.
    axis : int, optional
        Axis of the samples (default: all); see :func:`sinad_db`.

    Returns
    -------
    float or ndarray
        ENOB, bit; the input shape without ``axis``.
    """
    return (sinad_db(signal, estimate, axis) - 1.76) / 6.02


def enob_uniform(signal, estimate, full_range, axis=None):
    """ENOB ``log2(range / (RMSE sqrt(12)))`` of an estimate of a signal spread uniformly over ``range``.

    The ideal ``n``-bit quantizer of a uniformly distributed signal has an rms error
    ``LSB / sqrt(12)`` with ``LSB = range / 2^n``; inverting gives this ENOB. Equivalent to
    ``SINAD / 6.02 dB`` for a uniform signal (no 1.76 dB sine term).

    Parameters
    ----------
    signal, estimate : array_like, same shape
        True signal and its estimate, same units.
    full_range : float
        Span of the signal (e.g. 2 for a stimulus on [-1, 1]), units of ``signal``.
    axis : int, optional
        Axis of the samples (default: all).

    Returns
    -------
    float or ndarray
        ENOB, bit; the input shape without ``axis``.
    """
    error = np.asarray(estimate, dtype=float) - np.asarray(signal, dtype=float)
    return np.log2(float(full_range) / (np.sqrt(12.0 * np.mean(error ** 2, axis=axis))))


def _finite_neurons(values):
    """Drop neurons whose value is non-finite in any instance."""
    keep = np.all(np.isfinite(values), axis=0)
    return values[:, keep], int((~keep).sum())


def cv_versus_population_size(values, sizes=None, partitions=64, seed=0, convention=DEFAULT_ENOB):
    """CV and ENOB of population averages as a function of the population size ``N``.

    Parameters
    ----------
    values : xarray.DataArray, shape (instance, neuron)
        Per-device quantity (a circuit parameter, a TTFS, a rate), all neurons of one core (or
        of any set sharing the same per-core term). Neurons with a non-finite value in any
        instance are dropped (their number is in the attribute ``dropped_neurons``).
    sizes : sequence of int, optional
        Population sizes ``N`` (default powers of 2 up to a quarter of the neurons).
    partitions : int
        Random partitions of the neurons into groups of ``N`` over which variances are averaged.
    seed : int
        Seed of the partitions.
    convention : {"levels", "quantizer"}
        ENOB convention (recorded in the output attribute ``enob_convention``).

    Returns
    -------
    xarray.Dataset
        Over dim ``n_pop`` (coordinate, neurons per group):

        * ``cv_within``: CV of group means within an instance, relative to that instance's mean
          (root of the instance-averaged relative variance): the independent per-neuron part,
          expected ``CV_1 / sqrt(N)``;
        * ``cv_pooled``: CV of the group means of all instances around the grand mean: includes
          the shared per-core (and per-chip) term, expected ``sqrt(CV_ind^2 / N + CV_shared^2)``;
        * ``enob_within``, ``enob_pooled``: their ENOB, bit;
        * scalars ``cv_independent`` (``cv_within`` at N = 1) and ``cv_shared`` (CV of the instance
          means, corrected for their within-instance sampling variance; nan with one instance).
    """
    check_convention(convention)
    data, dropped = _finite_neurons(np.asarray(values.values, dtype=float))
    n_inst, n_neur = data.shape
    if n_neur < 2:
        raise ConfigError([Problem("<analysis>", "values", values.shape, "at least 2 neurons with finite values")], "CV study")
    sizes = np.asarray(sizes if sizes is not None else 2 ** np.arange(int(np.log2(max(n_neur // 4, 1))) + 1), dtype=int)
    bad = sizes[(sizes < 1) | (2 * sizes > n_neur)]
    if bad.size:
        raise ConfigError([Problem("<analysis>", "sizes", bad.tolist(), f"sizes in [1, {n_neur // 2}] (at least 2 groups)")], "CV study")
    rng = np.random.default_rng(seed)
    means = data.mean(axis=1)
    grand = data.mean()
    within = np.empty(sizes.size)
    pooled = np.empty(sizes.size)
    for k, n in enumerate(sizes):
        groups = n_neur // n
        var_within = 0.0
        var_pooled = 0.0
        for _ in range(partitions):
            order = rng.permutation(n_neur)[:groups * n]
            group_means = data[:, order].reshape(n_inst, groups, n).mean(axis=2)
            var_within += np.mean(group_means.var(axis=1, ddof=1) / means ** 2)
            var_pooled += group_means.var(ddof=1)
        within[k] = np.sqrt(var_within / partitions)
        pooled[k] = np.sqrt(var_pooled / partitions) / grand
    cv_ind = float(np.sqrt(np.mean(data.var(axis=1, ddof=1) / means ** 2)))
    if n_inst > 1:
        shared_var = means.var(ddof=1) / grand ** 2 - cv_ind ** 2 / n_neur
        cv_shared = float(np.sqrt(max(shared_var, 0.0)))
    else:
        cv_shared = float("nan")
    name = values.attrs.get("long_name", values.name or "value")
    coords = {"n_pop": ("n_pop", sizes, _attrs("1", "neurons averaged per group"))}
    out = xr.Dataset(
        {
            "cv_within": ("n_pop", within, _attrs("1", f"CV of group means of {name} within an instance (independent part)")),
            "cv_pooled": ("n_pop", pooled, _attrs("1", f"CV of group means of {name} pooled over instances (with shared part)")),
            "cv_independent": ((), cv_ind, _attrs("1", "per-neuron (independent) CV")),
            "cv_shared": ((), cv_shared, _attrs("1", "shared (per-core/chip) CV across instances")),
        },
        coords=coords,
        attrs={"enob_convention": convention, "dropped_neurons": dropped, "partitions": int(partitions),
               "quantity": str(name), "quantity_units": str(values.attrs.get("units", "1"))},
    )
    out["enob_within"] = enob_from_cv(out["cv_within"], convention)
    out["enob_pooled"] = enob_from_cv(out["cv_pooled"], convention)
    return out


def _fit_slope(x, y):
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else float("nan")


def loglog_slope(x, y):
    """Least-squares slope of ``log y`` against ``log x`` (e.g. -1/2 for ``CV_N`` vs ``N``).

    Points with a non-positive ``x`` or ``y`` are skipped; nan with fewer than 2 points left.

    Parameters
    ----------
    x, y : array_like, shape (K,)
        Positive abscissae and ordinates (any units; the slope is dimensionless).

    Returns
    -------
    float
        ``d log y / d log x``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _fit_slope(np.log(x), np.log(y))


def bits_per_doubling(n, enob):
    """Least-squares slope of ENOB against ``log2 N``, bit per doubling (non-finite points skipped).

    Parameters
    ----------
    n : array_like, shape (K,)
        Population sizes ``N`` (neurons).
    enob : array_like, shape (K,)
        ENOB at each size, bit.

    Returns
    -------
    float
        Bit per doubling of ``N`` (+1/2 for independent errors).
    """
    return _fit_slope(np.log2(np.asarray(n, dtype=float)), np.asarray(enob, dtype=float))
