"""Agreement between two runs of one network: spike counts, rates and spike-train distance.

Used to state the ``fast`` integrator's error against ``exact`` (``validation/fast_vs_exact.py``,
``benchmarks/ref1024.py``) and the exact integrator's own change from ``dt`` to ``dt/2``.
A spike train is given as ``(unit, time)`` arrays, ``unit`` an integer per neuron (and instance).
"""

import numpy as np


def counts(units, n_units):
    """Spikes per unit, shape (n_units,)."""
    return np.bincount(np.asarray(units, dtype=np.int64), minlength=n_units)


def matched_fraction(units_a, times_a, units_b, times_b, window):
    """Fraction of the spikes of ``a`` that lie within ``window`` s of a spike of ``b`` of the same unit.

    Parameters
    ----------
    units_a, times_a, units_b, times_b : ndarray, shape (n_a,), (n_b,)
        Unit index and time (s) of each spike.
    window : float
        Coincidence window, s.

    Returns
    -------
    float
        1 when ``a`` has no spike.
    """
    if len(times_a) == 0:
        return 1.0
    scale = 2.0 * (max(np.max(times_a, initial=0.0), np.max(times_b, initial=0.0)) + 2.0 * window + 1.0)
    key_a = np.asarray(units_a) * scale + np.asarray(times_a)
    key_b = np.sort(np.asarray(units_b) * scale + np.asarray(times_b))
    if key_b.size == 0:
        return 0.0
    right = np.searchsorted(key_b, key_a)
    nearest = np.full(key_a.size, np.inf)
    inside = right < key_b.size
    nearest[inside] = key_b[right[inside]] - key_a[inside]
    left = right > 0
    nearest[left] = np.minimum(nearest[left], key_a[left] - key_b[right[left] - 1])
    return float(np.mean(nearest <= window))


def train_distance(units_a, times_a, units_b, times_b, window):
    """Coincidence distance ``1 - (matched_a + matched_b) / (n_a + n_b)`` (0: every spike has a partner within ``window``)."""
    n_a, n_b = len(times_a), len(times_b)
    if n_a + n_b == 0:
        return 0.0
    matched = (matched_fraction(units_a, times_a, units_b, times_b, window) * n_a
               + matched_fraction(units_b, times_b, units_a, times_a, window) * n_b)
    return 1.0 - matched / (n_a + n_b)



def compare(reference, other, n_units, window=1e-3):
    """Agreement figures of run ``other`` against run ``reference`` (the issue-15 quantities).

    Parameters
    ----------
    reference, other : tuple of ndarray
        ``(unit, time)`` of every spike of each run.
    n_units : int
        Units (neurons x instances) of both runs.
    window : float
        Coincidence window, s.

    Returns
    -------
    dict
        ``count_ratio`` (total spikes, other / reference), ``neurons_within_one`` (fraction of
        units whose counts differ by at most 1), ``spikes_within_window`` (fraction of ``other``'s
        spikes within ``window`` of a ``reference`` spike of the same unit), ``rate_cv_ratio``
        (across-unit CV of the spike counts, other / reference) and ``distance``
        (:func:`train_distance`).
    """
    ref_counts, other_counts = counts(reference[0], n_units), counts(other[0], n_units)
    cv = [np.std(c) / np.mean(c) for c in (ref_counts, other_counts)]
    return {
        "count_ratio": other_counts.sum() / ref_counts.sum(),
        "neurons_within_one": float(np.mean(np.abs(other_counts - ref_counts) <= 1)),
        "spikes_within_window": matched_fraction(*other, *reference, window),
        "rate_cv_ratio": cv[1] / cv[0],
        "distance": train_distance(*other, *reference, window),
    }
