"""One-screen text summaries of ``mixsig-1`` datasets (``mixsig run`` and ``mixsig inspect``)."""

import numpy as np


def firing_rates(ds):
    """Firing rate of every neuron of every instance, Hz; shape (instance, neuron).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset (its ``duration`` attribute is the simulated time, s).
    """
    return ds["spike_count"].values / float(ds.attrs["duration"])


def rate_cv(rates):
    """Coefficient of variation (std / mean) of a set of rates; nan when the mean is 0."""
    rates = np.asarray(rates, dtype=float)
    mean = rates.mean() if rates.size else 0.0
    return float(rates.std() / mean) if mean > 0 else float("nan")


def summarize(ds, path=None):
    """Human-readable summary: run, rates per core, rate CV across neurons and instances, router.

    Parameters
    ----------
    ds : xarray.Dataset
    path : str, optional
        File the dataset was written to or read from.

    Returns
    -------
    str
    """
    rates = firing_rates(ds)
    attrs = ds.attrs
    lines = [
        f"mixsig {attrs['mixsig_version']}: {attrs.get('chip_name', '?')} board {attrs.get('board', '?')}, "
        f"{ds.sizes['instance']} instance(s) x {ds.sizes['neuron']} neurons, {attrs['duration']:g} s at "
        f"dt = {attrs['dt'] * 1e6:g} us, seed {attrs['seed']}, device model {attrs.get('device_model', '?')}, "
        f"integrator {attrs.get('integrator', 'exact')}",
        f"  spikes          {ds.sizes['spike']}",
        "  core   neurons   mean rate (Hz)   CV across neurons   CV across instances",
    ]
    cores = ds["core"].values
    for core in np.unique(cores):
        block = rates[:, cores == core]
        lines.append(
            f"  {core:>4}   {block.shape[1]:>7}   {block.mean():>14.2f}   {rate_cv(block):>17.3f}   "
            f"{rate_cv(block.mean(axis=1)):>19.3f}"
        )
    lines.append(f"  all    {rates.shape[1]:>7}   {rates.mean():>14.2f}   {rate_cv(rates):>17.3f}   "
                 f"{rate_cv(rates.mean(axis=1)):>19.3f}")
    if "router__emitted" in ds:
        emitted, delivered = int(ds["router__emitted"].sum()), int(ds["router__delivered"].sum())
        dropped, in_flight = int(ds["router__dropped"].sum()), int(ds["router__in_flight"].sum())
        state = "conserved" if emitted == delivered + dropped + in_flight else "NOT CONSERVED"
        lines.append(f"  router          {emitted} events: {delivered} delivered, {dropped} dropped, "
                     f"{in_flight} in flight ({state})")
    if path is not None:
        lines.append(f"  file            {path}")
    return "\n".join(lines)
