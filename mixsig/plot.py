"""Matplotlib figures of ``mixsig-1`` datasets; every function draws on given Axes and returns them."""

import numpy as np

from mixsig.files import atomic_write
from mixsig.summary import firing_rates


def raster(ds, ax, instance=None):
    """Spike raster of one instance (default: the first).

    Parameters
    ----------
    ds : xarray.Dataset
    ax : matplotlib.axes.Axes
    instance : int, optional
        Instance id.
    """
    instance = int(ds["instance"].values[0]) if instance is None else instance
    mine = ds["spike_instance"].values == instance
    ax.plot(ds["spike_time"].values[mine], ds["spike_neuron"].values[mine], "|", markersize=2, color="k")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron")
    ax.set_title(f"spike raster, instance {instance}")
    return ax


def rate_histograms(ds, ax):
    """Histogram of firing rates (all instances) per core.

    Parameters
    ----------
    ds : xarray.Dataset
    ax : matplotlib.axes.Axes
    """
    rates = firing_rates(ds)
    cores = ds["core"].values
    top = max(float(rates.max()), 1.0)
    bins = np.linspace(0.0, top, 31)
    for core in np.unique(cores):
        ax.hist(rates[:, cores == core].ravel(), bins=bins, histtype="step", label=f"core {core}")
    ax.set_xlabel("firing rate (Hz)")
    ax.set_ylabel("neurons x instances")
    ax.set_title("rates per core")
    ax.legend()
    return ax


def trace(ds, name, ax, instance=None):
    """Recorded trace ``name`` of every recorded neuron of one instance.

    Parameters
    ----------
    ds : xarray.Dataset
    name : str
        Trace variable, e.g. ``"v_mem"``.
    ax : matplotlib.axes.Axes
    instance : int, optional
        Instance id (default: the first).
    """
    data = ds[name].sel(instance=int(ds["instance"].values[0]) if instance is None else instance)
    for neuron in data["neuron_rec"].values:
        ax.plot(ds["time"].values, data.sel(neuron_rec=neuron).values, label=f"neuron {neuron}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{ds[name].attrs['long_name']} ({ds[name].attrs['units']})")
    ax.legend()
    return ax


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
        Files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    traces = [name for name, var in ds.data_vars.items() if var.dims == ("instance", "neuron_rec", "time")]
    for suffix, draw in [("raster", lambda ax: raster(ds, ax)), ("rates", lambda ax: rate_histograms(ds, ax))] + [
        (name, lambda ax, name=name: trace(ds, name, ax)) for name in traces
    ]:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        draw(ax)
        fig.tight_layout()
        path = f"{stem}-{suffix}.png"
        atomic_write(path, lambda temporary: fig.savefig(temporary, dpi=100, format="png"))
        plt.close(fig)
        written.append(path)
    return written
