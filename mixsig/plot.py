"""Matplotlib figures of ``mixsig-1`` datasets and study results.

Every function draws on the Axes it is given (``ax``) or, with ``ax=None``, on a new figure made
by pyplot's current backend (inline in a notebook), and returns the Axes. Nothing here changes
matplotlib's global state: :func:`write_png` builds a :class:`matplotlib.figure.Figure` directly.
Titles name the instances shown; currents are drawn on log axes; reference lines (ideal slopes)
never widen the axes set by the data.
"""

import numpy as np

from mixsig.files import atomic_write
from mixsig.io.schema import is_trace, population_names
from mixsig.summary import firing_rates


def _axes(ax):
    """``ax``, or the Axes of a new pyplot figure (current backend; no global setting changed)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.figure().add_subplot()


def _keep_limits(ax, draw):
    """Call ``draw()`` (reference lines) without widening the axes limits the data set."""
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    draw()
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)


def instances_text(ids):
    """``"instance 3"``, ``"instances 0-3"`` or ``"instances 0, 2, 5"`` for titles."""
    ids = [int(i) for i in np.atleast_1d(ids)]
    if len(ids) == 1:
        return f"instance {ids[0]}"
    if ids == list(range(ids[0], ids[0] + len(ids))):
        return f"instances {ids[0]}-{ids[-1]}"
    return "instances " + ", ".join(str(i) for i in ids)


def _neuron_groups(ds):
    """(label, neuron ids) of each population (``population(neuron)`` coordinate) or else core."""
    if "population" in ds.coords and ds["population"].dims == ("neuron",):
        names = population_names(ds["population"])
        labels, kind = np.array([names.get(code, code) for code in ds["population"].values.tolist()]), "population"
    else:
        labels, kind = ds["core"].values, "core"
    neurons = ds["neuron"].values
    return [(f"{kind} {label}", neurons[labels == label]) for label in dict.fromkeys(labels.tolist())]


def raster(ds, ax=None, instance=None):
    """Spike raster of one instance (default: the first), coloured and labelled by population
    (``population(neuron)`` coordinate) or else by core.

    Parameters
    ----------
    ds : xarray.Dataset
    ax : matplotlib.axes.Axes, optional
    instance : int, optional
        Instance id.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    instance = int(ds["instance"].values[0]) if instance is None else instance
    mine = ds["spike_instance"].values == instance
    times, neurons = ds["spike_time"].values[mine], ds["spike_neuron"].values[mine]
    for label, members in _neuron_groups(ds):
        chosen = np.isin(neurons, members)
        ax.plot(times[chosen], neurons[chosen], "|", markersize=2, label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron id (1)")
    ax.set_title(f"spike raster, {instances_text(instance)}")
    ax.legend(fontsize="small", markerscale=4, loc="upper right")
    return ax


def rate_histograms(ds, ax=None):
    """Histogram of firing rates (all instances) per core.

    Parameters
    ----------
    ds : xarray.Dataset
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    rates = firing_rates(ds)
    cores = ds["core"].values
    top = max(float(rates.max()), 1.0)
    bins = np.linspace(0.0, top, 31)
    for core in np.unique(cores):
        ax.hist(rates[:, cores == core].ravel(), bins=bins, histtype="step", label=f"core {core}")
    ax.set_xlabel("firing rate (Hz)")
    ax.set_ylabel("neurons x instances (count)")
    ax.set_title(f"rates per core, {instances_text(ds['instance'].values)}")
    ax.legend()
    return ax


def trace(ds, name, ax=None, instance=None):
    """Recorded trace ``name`` of every recorded neuron of one instance; currents (units A) on a
    log axis.

    Parameters
    ----------
    ds : xarray.Dataset
    name : str
        Trace variable, e.g. ``"v_mem"``.
    ax : matplotlib.axes.Axes, optional
    instance : int, optional
        Instance id (default: the first).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    instance = int(ds["instance"].values[0]) if instance is None else instance
    data = ds[name].sel(instance=instance)
    for neuron in data["neuron_rec"].values:
        ax.plot(ds["time"].values, data.sel(neuron_rec=neuron).values, label=f"neuron {neuron}")
    if ds[name].attrs["units"] == "A" and np.any(data.values > 0):
        ax.set_yscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{name} ({ds[name].attrs['units']})")
    ax.set_title(f"{ds[name].attrs['long_name']}, {instances_text(instance)}")
    ax.legend()
    return ax


def write_png(draw, path, figsize=(8, 4.5)):
    """Draw one figure with ``draw(ax)`` and write it (atomically) as a PNG file.

    Parameters
    ----------
    draw : callable
        Called with the Axes of a new :class:`matplotlib.figure.Figure`.
    path : str
        PNG file.
    figsize : tuple of float
        Figure size, inches.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)  # not registered with pyplot: no backend, nothing to close
    draw(fig.add_subplot())
    fig.tight_layout()
    atomic_write(path, lambda temporary: fig.savefig(temporary, dpi=100, format="png"))
    return path


def save_figures(ds, stem):
    """Write (atomically) the raster, rate histograms and (if recorded) traces as PNG files.

    Parameters
    ----------
    ds : xarray.Dataset
    stem : str
        Path prefix; files are ``<stem>-raster.png``, ``<stem>-rates.png``, ``<stem>-<trace>.png``.

    Returns
    -------
    list of str
        Files written: none for a dataset of zero instances, no rate histograms without a
        ``duration`` attribute, no trace figures without trace samples; for a sweep, the
        figures of each condition as ``<stem>-condition<k>-...``.
    """
    return [write_png(draw, f"{prefix}-{suffix}.png") for part, prefix in _conditions(ds, stem)
            for suffix, draw in _figures(part)]


def _conditions(ds, stem):
    """``(dataset, stem)`` of each condition of a sweep (``<stem>-condition<k>``), else ``[(ds, stem)]``."""
    if "condition" not in ds.dims:
        return [(ds, stem)]
    from mixsig.io.conditions import condition_dataset

    return [(condition_dataset(ds, index), f"{stem}-condition{index}") for index in range(ds.sizes["condition"])]


def _figures(ds):
    """``(suffix, draw)`` of each figure :func:`save_figures` makes of ``ds`` (one condition)."""
    if not (ds.sizes["instance"] and ds.sizes["neuron"]):
        return []
    traces = [name for name, var in ds.data_vars.items() if is_trace(name, var) and var.size]
    figures = [("raster", lambda ax: raster(ds, ax))]
    if "duration" in ds.attrs or "time_window" in ds.attrs:
        figures.append(("rates", lambda ax: rate_histograms(ds, ax)))
    return figures + [(name, lambda ax, name=name: trace(ds, name, ax)) for name in traces]


def figure_files(ds, stem):
    """Files :func:`save_figures` writes for ``ds``, in its order."""
    return [f"{prefix}-{suffix}.png" for part, prefix in _conditions(ds, stem) for suffix, _ in _figures(part)]


def ttfs_histogram(ttfs, ax=None, bins=30):
    """Histogram of the time to first spike of every neuron, one outline per instance.

    Parameters
    ----------
    ttfs : xarray.DataArray, shape (instance, neuron)
        TTFS, s (:func:`mixsig.analysis.stats.time_to_first_spike`); nan values are skipped.
    ax : matplotlib.axes.Axes, optional
    bins : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    values = ttfs.values * 1e3
    finite = values[np.isfinite(values)]
    edges = np.linspace(finite.min(), finite.max(), bins + 1) if finite.size else bins
    for k, instance in enumerate(ttfs["instance"].values):
        row = values[k][np.isfinite(values[k])]
        ax.hist(row, bins=edges, histtype="step", label=f"instance {instance}")
    ax.set_xlabel("time to first spike (ms)")
    ax.set_ylabel("neurons (count)")
    ax.set_title(f"TTFS across the neurons of a core, {instances_text(ttfs['instance'].values)}")
    ax.legend(fontsize="small")
    return ax


def fi_curves(results, ax=None):
    """f-I curves (mean and +-1 standard deviation over neurons and instances, the band clipped at
    0 Hz) of a characterisation study.

    Parameters
    ----------
    results : xarray.Dataset
        With ``fi_rate_mean`` and ``fi_rate_std`` [Hz] over the dimension of the coordinate
        ``i_in`` [A] (``fi_drive`` in the characterisation study) and any condition dims (device
        model, bias mode, temperature), one curve per condition.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    current = results["i_in"].values * 1e9
    mean = results["fi_rate_mean"]
    dims = [d for d in mean.dims if d not in results["i_in"].dims]
    for index in np.ndindex(*(mean.sizes[d] for d in dims)):
        r = results[["fi_rate_mean", "fi_rate_std"]].isel(dict(zip(dims, index)))
        label = ", ".join(f"{r[d].values:g} K" if d == "temperature" else str(r[d].values) for d in dims)
        mean_k, std_k = r["fi_rate_mean"].values, r["fi_rate_std"].values
        line, = ax.plot(current, mean_k, "o-", label=label)
        ax.fill_between(current, np.maximum(mean_k - std_k, 0.0), mean_k + std_k, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel(f"{results['i_in'].attrs.get('long_name', 'injected current')} (nA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title("f-I curves, mean +- 1 s.d. over neurons and instances")
    ax.legend(fontsize="x-small")
    return ax


def _as_mapping(data):
    return data if isinstance(data, dict) else {"": data}


def cv_vs_population_size(cv_sets, ax=None):
    """CV of N-neuron averages versus N on log axes, with the ideal 1/sqrt(N) slope and the shared level.

    Parameters
    ----------
    cv_sets : xarray.Dataset or dict of str to xarray.Dataset
        Results of :func:`mixsig.analysis.stats.cv_versus_population_size`, by label.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    references = []
    for label, cv_n in _as_mapping(cv_sets).items():
        n = cv_n["n_pop"].values
        line, = ax.plot(n, cv_n["cv_within"].values, "o-", label=f"{label} within instance".strip())
        color = line.get_color()
        ax.plot(n, cv_n["cv_pooled"].values, "s--", color=color, label=f"{label} pooled over instances".strip())
        references.append((n, float(cv_n["cv_within"].values[0]) * np.sqrt(n[0] / n), float(cv_n["cv_shared"]), color))

    def draw():
        for n, ideal, shared, color in references:
            ax.plot(n, ideal, ":", color="0.4")
            if np.isfinite(shared) and shared > 0:
                ax.axhline(shared, color=color, lw=0.8, alpha=0.6)

    _keep_limits(ax, draw)
    ax.plot([], [], ":", color="0.4", label="ideal slope -1/2")
    ax.set_xlabel("population size N (neurons)")
    ax.set_ylabel("CV of the N-neuron average (1)")
    ax.set_title("CV versus population size (horizontal lines: shared per-core term)")
    ax.legend(fontsize="x-small")
    return ax


def enob_vs_population_size(cv_sets, ax=None):
    """ENOB of N-neuron averages versus N (log2 axis), with the ideal +1/2 bit per doubling.

    Parameters
    ----------
    cv_sets : xarray.Dataset or dict of str to xarray.Dataset
        Results of :func:`mixsig.analysis.stats.cv_versus_population_size` (``enob_within``,
        ``enob_pooled``, attribute ``enob_convention``), by label.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    ax.set_xscale("log", base=2)
    convention, references = "", []
    for label, cv_n in _as_mapping(cv_sets).items():
        n = cv_n["n_pop"].values
        convention = cv_n.attrs.get("enob_convention", "")
        line, = ax.plot(n, cv_n["enob_within"].values, "o-", label=f"{label} within instance".strip())
        ax.plot(n, cv_n["enob_pooled"].values, "s--", color=line.get_color(), label=f"{label} pooled".strip())
        references.append((n, float(cv_n["enob_within"].values[0]) + 0.5 * np.log2(n / n[0])))
    _keep_limits(ax, lambda: [ax.plot(n, ideal, ":", color="0.4") for n, ideal in references])
    ax.plot([], [], ":", color="0.4", label="ideal +1/2 bit per doubling")
    ax.set_xlabel("population size N (neurons)")
    ax.set_ylabel(f"ENOB (bit, {convention} convention)")
    ax.set_title("effective number of bits versus population size")
    ax.legend(fontsize="x-small")
    return ax


def tuning_curves(curves, ax=None, instance=None, max_neurons=32):
    """Tuning curves (rate versus stimulus) of some neurons of one instance.

    Parameters
    ----------
    curves : xarray.DataArray, shape (instance, neuron, stimulus)
        Rates, Hz (:func:`mixsig.analysis.coding.tuning_curves`).
    ax : matplotlib.axes.Axes, optional
    instance : int, optional
        Instance id (default: the first).
    max_neurons : int
        At most this many neurons are drawn.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    instance = int(curves["instance"].values[0]) if instance is None else instance
    one = curves.sel(instance=instance)
    x = one["stimulus"].values
    for k in range(min(max_neurons, one.sizes["neuron"])):
        ax.plot(x, one.isel(neuron=k).values, "-", lw=0.8)
    units = one["stimulus"].attrs.get("units", "1")
    ax.set_xlabel(f"stimulus x ({units})")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(f"tuning curves measured on the emulated population, {instances_text(instance)}")
    return ax


def decoding_error(results, ax=None):
    """Decoding RMSE versus population size on log axes, with the ideal 1/sqrt(N) slope.

    Parameters
    ----------
    results : xarray.Dataset
        Population study results: ``rmse`` (condition, n_pop) and ``rmse_static`` (condition,
        n_pop) in stimulus units, and optionally ``rmse_noise`` and ``linear_threshold``
        (condition, n_pop) and ``rmse_ml`` (n_pop). The ideal slope is drawn through the largest
        population, where the noise term dominates.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    n = results["n_pop"].values
    for condition in results["condition"].values:
        r = results.sel(condition=condition)
        line, = ax.plot(n, r["rmse"].values, "o-", label=f"{condition}: linear decoder, single trials")
        ax.plot(n, r["rmse_static"].values, "s--", color=line.get_color(), label=f"{condition}: static (noise-free) error")
        if "rmse_noise" in r:
            ax.plot(n, r["rmse_noise"].values, "x:", color=line.get_color(), label=f"{condition}: noise part")
        if "linear_threshold" in r:
            ax.plot(n, r["linear_threshold"].values, "d-.", color=line.get_color(), lw=0.8,
                    label=f"{condition}: 1/sqrt(linear Fisher information) at one x")
    if "rmse_ml" in results:
        ax.plot(n, results["rmse_ml"].values, "^-", color="k", label="ML decoder (mismatched)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    last = results["rmse"].values[0, -1]
    _keep_limits(ax, lambda: ax.plot(n, last * np.sqrt(n[-1] / n), color="0.5", lw=0.8, label="ideal slope -1/2"))
    # the axis follows the decoders' errors; a threshold far above them (a small sub-population
    # with almost no information at that x) runs off the top
    shown = np.concatenate([results[k].values.ravel() for k in ("rmse", "rmse_static", "rmse_noise") if k in results])
    shown = shown[np.isfinite(shown) & (shown > 0)]
    if shown.size:
        ax.set_ylim(shown.min() / 2, shown.max() * 2)
    units = results["rmse"].attrs.get("units", "1")
    ax.set_xlabel("population size N (neurons)")
    ax.set_ylabel(f"decoding RMSE ({units} of stimulus)")
    ax.set_title("decoding error versus population size")
    ax.legend(fontsize="x-small")
    return ax
