"""Figures of the characterisation study: every condition of the ``chip`` axis on the same axes.

The drives are multiples of each chip's threshold drive and the TTFS is shown relative to each
condition's mean, so DYNAP, the BrainScaleS-2-like chip (before and after calibration), a crossbar
chip and the digital chip share one axis per figure. A condition without spread (the digital chip:
identical neurons) has CV 0 and an unbounded ENOB; the CV and ENOB figures list it in the legend
instead of drawing it off the logarithmic axis.
"""

import numpy as np

from mixsig.studies.characterize import ZERO_SPREAD


def _zero_spread(cv_n):
    return bool(np.all(cv_n["cv_within"].values < ZERO_SPREAD) and np.all(cv_n["cv_pooled"].values < ZERO_SPREAD))


def _versus_n(draw_sets, cv_sets):
    """``draw(ax)``: ``draw_sets`` (a :mod:`mixsig.plot` CV/ENOB function) for the conditions with a
    spread, and a legend entry for each without."""
    def draw(ax):
        spread = {label: cv_n for label, cv_n in cv_sets.items() if not _zero_spread(cv_n)}
        if spread:
            draw_sets(spread, ax)
        for label in cv_sets:
            if label not in spread:
                ax.plot([], [], "o", color="k", label=f"{label}: no spread (CV 0, ENOB unbounded)")
        ax.legend(fontsize="xx-small")
    return draw


def _finish(ax, xlabel, ylabel, title):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="xx-small")


def _ttfs(analyses, labels):
    def draw(ax):
        relative = {label: a["ttfs"].values / float(np.nanmean(a["ttfs"].values)) for label, a in zip(labels, analyses)}
        finite = np.concatenate([r[np.isfinite(r)] for r in relative.values()])
        low, high = finite.min(), finite.max()
        edges = np.linspace(low, high, 41) if high > low else np.linspace(low - 0.05, high + 0.05, 41)
        for label, r in relative.items():
            ax.hist(r[np.isfinite(r)], bins=edges, histtype="step", density=True, label=label)
        _finish(ax, "time to first spike / the condition's mean TTFS", "density (neurons of core 0, all instances)",
                "TTFS across a core, every chip")
    return draw


def _fi(results):
    def draw(ax):
        levels = results["fi_drive"].values
        for label in results["chip"].values:
            mean = results["fi_rate_mean"].sel(chip=label).values
            std = results["fi_rate_std"].sel(chip=label).values
            line, = ax.plot(levels, mean, "o-", label=f"{label} ({results['input_path'].sel(chip=label).values})")
            ax.fill_between(levels, np.maximum(mean - std, 0.0), mean + std, color=line.get_color(), alpha=0.2)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)  # DYNAP's tens of Hz beside the kHz of LIF/AdEx chips; 0 Hz drawn
        top = np.nanmax((results["fi_rate_mean"] + results["fi_rate_std"]).values)
        ax.set_ylim(0.0, 3.0 * top if np.isfinite(top) and top > 0 else 1.0)
        _finish(ax, "drive, multiples of the nominal chip's threshold drive (rheobase or threshold input rate)",
                "firing rate (Hz)", "f-I curves, mean +- 1 s.d. over neurons and instances")
    return draw


def _membrane(datasets):
    from mixsig import plot

    traced = next((ds for ds in datasets.values() if "v_mem" in ds), None)
    return None if traced is None else (lambda ax: plot.trace(traced, "v_mem", ax))


def figures(results, analyses, datasets):
    """``(file stem, draw)`` of every figure of the study (:func:`mixsig.studies.output.write_outputs`).

    Parameters
    ----------
    results : xarray.Dataset
        The study's results (dim ``chip``).
    analyses : list of dict
        :func:`mixsig.studies.characterize.analyse_run` of every condition, in the order of ``chip``.
    datasets : dict of str to xarray.Dataset
        The run datasets (the membrane figure shows the first with a ``v_mem`` trace).
    """
    from mixsig import plot

    labels = [str(label) for label in results["chip"].values]
    cv_sets = {label: a["cv_n"] for label, a in zip(labels, analyses)}
    out = [
        ("characterize-ttfs-histogram", _ttfs(analyses, labels)),
        ("characterize-fi", _fi(results)),
        ("characterize-cv-vs-n", _versus_n(plot.cv_vs_population_size, cv_sets)),
        ("characterize-enob-vs-n", _versus_n(plot.enob_vs_population_size, cv_sets)),
    ]
    membrane = _membrane(datasets)
    if membrane is not None:
        out.insert(1, ("characterize-membrane", membrane))
    return out
