"""One-screen text summaries of ``mixsig-1`` datasets (``mixsig run`` and ``mixsig inspect``).

Any schema-valid dataset is summarised: without a ``duration`` (or ``time_window``) attribute
the table shows spike counts instead of rates, without router statistics it leaves the router
line out, and a dataset of zero instances gets its header only. A sweep (``condition`` dim) is
summarised condition by condition.
"""

import numpy as np

ROUTER_COUNTS = ("emitted", "delivered", "dropped", "in_flight")
"""Per-instance router event counts, ``router__<name>``, summed in the router line."""


def firing_rates(ds):
    """Firing rate of every neuron of every instance, Hz; shape (instance, neuron).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset with a ``duration`` attribute (simulated time, s) or the
        ``time_window`` of :func:`mixsig.io.select`.

    Raises
    ------
    mixsig.errors.ConfigError
        When the dataset has neither attribute.
    """
    from mixsig.io.accessor import time_window

    start, stop = time_window(ds)
    return ds["spike_count"].values / (stop - start)


def rate_cv(rates):
    """Coefficient of variation (std / mean) of a set of rates; nan when the mean is 0."""
    rates = np.asarray(rates, dtype=float)
    mean = rates.mean() if rates.size else 0.0
    return float(rates.std() / mean) if mean > 0 else float("nan")


def _has_window(ds):
    return "duration" in ds.attrs or "time_window" in ds.attrs


def _router_line(ds):
    names = [f"router__{name}" for name in ROUTER_COUNTS]
    if not all(name in ds for name in names):
        present = sorted(name for name in ds.data_vars if name.startswith("router__"))
        return f"  router          {len(present)} statistics (no event counts)" if present else None
    emitted, delivered, dropped, in_flight = (int(ds[name].sum()) for name in names)
    state = "conserved" if emitted == delivered + dropped + in_flight else "NOT CONSERVED"
    return (f"  router          {emitted} events: {delivered} delivered, {dropped} dropped, "
            f"{in_flight} in flight ({state})")


def summarize(ds, path=None):
    """Human-readable summary: run, rates (or counts) per core, CV across neurons and instances, router.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset, or a sweep of them (``condition`` dim, :mod:`mixsig.io.conditions`).
    path : str, optional
        File the dataset was written to or read from.

    Returns
    -------
    str
    """
    if "condition" in ds.dims:
        from mixsig.io.conditions import condition_dataset, swept_coordinates

        return "\n".join(
            f"condition {index}: " + ", ".join(f"{key} = {ds[key].values[index]}" for key in swept_coordinates(ds))
            + "\n" + summarize(condition_dataset(ds, index), path) for index in range(ds.sizes["condition"]))
    attrs = ds.attrs
    timed = _has_window(ds)
    duration = f"{attrs['duration']:g} s" if "duration" in attrs else "unknown duration"
    lines = [
        f"mixsig {attrs['mixsig_version']}: {attrs.get('chip_name', '?')} board {attrs.get('board', '?')}, "
        f"{ds.sizes['instance']} instance(s) x {ds.sizes['neuron']} neurons, {duration} at "
        f"dt = {attrs['dt'] * 1e6:g} us, seed {attrs['seed']}, device model {attrs.get('device_model', '?')}, "
        f"kernel {attrs.get('kernel', attrs.get('integrator', 'exact'))}",
        f"  spikes          {ds.sizes['spike']}",
    ]
    if ds.sizes["instance"] and ds.sizes["neuron"]:
        values = firing_rates(ds) if timed else ds["spike_count"].values.astype(float)
        what = "mean rate (Hz)" if timed else "mean spikes  "
        lines.append(f"  core   neurons   {what}   CV across neurons   CV across instances")
        cores = ds["core"].values
        blocks = [(f"{core:>4}", values[:, cores == core]) for core in np.unique(cores)] + [("all ", values)]
        lines += [f"  {label}   {block.shape[1]:>7}   {block.mean():>14.2f}   {rate_cv(block):>17.3f}   "
                  f"{rate_cv(block.mean(axis=1)):>19.3f}" for label, block in blocks]
    router = _router_line(ds)
    if router is not None:
        lines.append(router)
    if path is not None:
        lines.append(f"  file            {path}")
    return "\n".join(lines)
