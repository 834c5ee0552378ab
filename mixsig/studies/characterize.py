"""Mismatch characterisation: TTFS across a core, f-I curves, CV and ENOB versus population size.

Protocol (physics reference section 7.2, E1; Zendrikov et al. 2023)
-------------------------------------------------------------------
For every device model and temperature, one run of ``instances`` chip instances (same seed, so
the same mismatch draws across temperatures):

* **TTFS**: core 0 holds ``neurons`` neurons whose DC bias ``soma.i_dc = i_dc`` is on from
  ``t = 0`` (the on-chip DC bias, copied by a mismatched transistor in every neuron). Each
  neuron integrates from rest; the time to first spike ``TTFS_i`` is recorded.
* **f-I**: core 1 holds ``len(fi_currents) * fi_neurons`` neurons; group ``k`` receives an exact
  external DC step ``fi_currents[k]`` from ``t = 0`` (the engine's DC steps are not mismatched,
  so the current axis is exact). The rate is ``1 / mean ISI`` over the run (0 with fewer than 2
  spikes), which is resolution-free at low rates.
* **Parameters**: the sampled soma parameters of core 0 (``record.parameters``).

Analysis: CV of every parameter and of the TTFS within an instance (independent per-neuron part)
and of the instance means (shared per-core/chip part); ``CV_N`` and ENOB versus the population
size ``N`` (random groups of ``N`` neurons averaged, :func:`mixsig.analysis.stats.
cv_versus_population_size`), whose independent part follows ``CV_1 / sqrt(N)`` and whose pooled
part levels off at the shared term, ``CV_N^2 = CV_ind^2 / N + CV_shared^2``.
"""

import dataclasses

import numpy as np
import xarray as xr

from mixsig.analysis.stats import (
    DEFAULT_ENOB, ENOB_CONVENTIONS, bits_per_doubling, cv_versus_population_size, isi_statistics, loglog_slope,
    time_to_first_spike,
)
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.studies.output import (
    StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, write_outputs,
)


@dataclasses.dataclass(frozen=True)
class CharacterizeSettings:
    """Parameters of the characterisation study (SI units).

    Attributes
    ----------
    device_models : tuple of str
        Calibration names or paths (``"none"`` for nominal chips).
    temperatures : tuple of float
        Die temperatures, K.
    instances : int
        Chip instances per run (independent mismatch draws).
    neurons : int
        Neurons of core 0 driven by the DC bias (TTFS population).
    i_dc : float
        DC bias current of the TTFS population, A.
    duration : float
        Simulated time per run, s.
    fi_currents : tuple of float
        Injected currents of the f-I curve, A.
    fi_neurons : int
        Neurons (on core 1) per f-I current.
    sizes : tuple of int
        Population sizes ``N`` of the CV/ENOB-versus-N analysis.
    dt : float
        Engine step, s.
    seed : int
        Root seed.
    chip : str
        Chip config (needs at least 2 cores).
    noise : bool
        Temporal (shot) noise, where the device model enables it.
    trace_neurons : int
        Neurons of core 0 whose ``i_mem`` and ``v_mem`` are recorded.
    enob_convention : str
        ENOB convention (``levels`` or ``quantizer``), recorded in the outputs.
    partitions : int
        Random partitions averaged per population size.
    """

    device_models: tuple = ("generic_180nm", "fdsoi_22nm")
    temperatures: tuple = (300.0, 310.0)
    instances: int = 4
    neurons: int = 256
    i_dc: float = 5e-10
    duration: float = 0.1
    fi_currents: tuple = (0.1e-9, 0.2e-9, 0.5e-9, 1e-9, 2e-9, 5e-9, 1e-8, 2e-8)
    fi_neurons: int = 16
    sizes: tuple = (1, 2, 4, 8, 16, 32, 64)
    dt: float = 1e-4
    seed: int = 0
    chip: str = "dynapse2"
    noise: bool = True
    trace_neurons: int = 4
    enob_convention: str = DEFAULT_ENOB
    partitions: int = 64

    def check(self):
        """Raise :class:`~mixsig.errors.ConfigError` listing every invalid setting."""
        rules = {
            "device_models": (is_sequence_of(lambda v: isinstance(v, str) and v != ""), "a non-empty list of device model names"),
            "temperatures": (is_sequence_of(is_positive), "a non-empty list of temperatures > 0 K"),
            "instances": (lambda v: is_int(v, 1), "an integer >= 1"),
            "neurons": (lambda v: is_int(v, 4), "an integer >= 4"),
            "i_dc": (is_positive, "a current > 0 A"),
            "duration": (is_positive, "a time > 0 s"),
            "fi_currents": (is_sequence_of(is_positive), "a non-empty list of currents > 0 A"),
            "fi_neurons": (lambda v: is_int(v, 1), "an integer >= 1"),
            "sizes": (is_sequence_of(lambda v: is_int(v, 1) and 2 * v <= self.neurons),
                      f"population sizes in [1, neurons/2 = {self.neurons // 2}]"),
            "dt": (lambda v: is_positive(v) and v < self.duration, "a step > 0 s, shorter than duration"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
            "noise": (lambda v: isinstance(v, bool), "true or false"),
            "trace_neurons": (lambda v: is_int(v, 0) and v <= self.neurons, "an integer in [0, neurons]"),
            "enob_convention": (lambda v: v in ENOB_CONVENTIONS[:2], "'levels' or 'quantizer'"),
            "partitions": (lambda v: is_int(v, 1), "an integer >= 1"),
        }
        raise_if_any(settings_problems(self, rules, "<characterize>"), "characterisation settings")


def experiment(settings, device_model, temperature):
    """The :class:`mixsig.Experiment` of one run of the study.

    Parameters
    ----------
    settings : CharacterizeSettings
    device_model : str
    temperature : float
        K.
    """
    from mixsig.chip import load_chip
    from mixsig.experiment import DCStep, Experiment, Record

    npc = load_chip(settings.chip).neurons_per_core
    n_fi = len(settings.fi_currents) * settings.fi_neurons
    dc = tuple(
        DCStep(amplitude=float(current), neurons=tuple(range(npc + k * settings.fi_neurons, npc + (k + 1) * settings.fi_neurons)))
        for k, current in enumerate(settings.fi_currents)
    )
    return Experiment(
        duration=settings.duration, dt=settings.dt, instances=settings.instances, seed=settings.seed,
        chip=settings.chip, device_model=device_model, noise=settings.noise, temperature=float(temperature),
        biases=((0, "soma.i_dc", float(settings.i_dc)),),
        network={"populations": {"ttfs": {"size": settings.neurons, "core": 0}, "fi": {"size": n_fi, "core": 1}}},
        dc=dc,
        record=Record(traces=("i_mem", "v_mem"), neurons=tuple(range(settings.trace_neurons)),
                      interval=settings.dt, router=False, parameters=True),
    )


def _parameter_variability(ds, core0):
    """Within-instance and across-instance CV of every sampled parameter of the TTFS population."""
    within, across = {}, {}
    for name, var in ds.data_vars.items():
        if "parameter_name" not in var.attrs or var.dims != ("instance", "neuron"):
            continue
        values = var.values[:, core0]
        means = values.mean(axis=1)
        if np.any(means <= 0):
            continue
        label = var.attrs["parameter_name"]
        within[label] = float(np.mean(values.std(axis=1, ddof=1) / means))
        across[label] = float(means.std(ddof=1) / means.mean()) if values.shape[0] > 1 else float("nan")
    return within, across


def fi_rates(ds, settings):
    """f-I rates ``1 / mean ISI`` of the core-1 neurons of a run of the study (0 when silent).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset of the characterisation study.
    settings : CharacterizeSettings
        Settings of the run (``fi_currents``, ``fi_neurons``).

    Returns
    -------
    ndarray, shape (instance, current, member)
        Rates, Hz.
    """
    stats = isi_statistics(ds)
    core1 = ds["core"].values == 1
    mean_isi = stats["mean_isi"].values[:, core1]
    rates = np.where(np.isfinite(mean_isi), 1.0 / np.where(np.isfinite(mean_isi), mean_isi, 1.0), 0.0)
    return rates.reshape(ds.sizes["instance"], len(settings.fi_currents), settings.fi_neurons)


def analyse_run(ds, settings):
    """TTFS, CV/ENOB versus N, parameter CVs and f-I statistics of one run.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``mixsig-1`` dataset of the characterisation study.
    settings : CharacterizeSettings

    Returns
    -------
    dict
        ``ttfs`` (DataArray, instance x neuron, s), ``cv_n`` (Dataset of
        :func:`~mixsig.analysis.stats.cv_versus_population_size`), ``parameters_within`` and
        ``parameters_across`` (dicts name -> CV), ``fi`` (ndarray, instance x current x member, Hz).
    """
    core0 = ds["core"].values == 0
    ttfs = time_to_first_spike(ds).isel(neuron=np.flatnonzero(core0))
    usable = int(np.all(np.isfinite(ttfs.values), axis=0).sum())
    sizes = [n for n in settings.sizes if 2 * n <= usable]
    if not sizes:
        raise ConfigError([Problem("<characterize>", "duration", settings.duration,
                                   f"long enough for neurons to spike ({usable} of {ttfs.sizes['neuron']} spiked in every instance)")],
                          "characterisation settings")
    cv_n = cv_versus_population_size(ttfs, sizes, settings.partitions, settings.seed, settings.enob_convention)
    within, across = _parameter_variability(ds, core0)
    return {"ttfs": ttfs, "cv_n": cv_n, "parameters_within": within, "parameters_across": across,
            "fi": fi_rates(ds, settings)}


def _model_label(name):
    return str(name).rsplit("/", 1)[-1].removesuffix(".toml")


def _results(settings, analyses):
    """Assemble the results Dataset from the analyses of every (device model, temperature)."""
    models = [_model_label(m) for m in settings.device_models]
    temps = np.asarray(settings.temperatures, dtype=float)
    sizes = np.asarray(settings.sizes)
    params = sorted({p for a in analyses.values() for p in a["parameters_within"]})
    shape = (len(models), temps.size)

    def grid(extra=()):
        return np.full(shape + tuple(extra), np.nan)

    v = {k: grid((sizes.size,)) for k in ("cv_within", "cv_pooled", "enob_within", "enob_pooled")}
    s = {k: grid() for k in ("ttfs_mean", "ttfs_silent", "cv_independent", "cv_shared", "slope", "bits")}
    p_within, p_across = grid((len(params),)), grid((len(params),))
    fi_mean, fi_std = grid((len(settings.fi_currents),)), grid((len(settings.fi_currents),))
    for (i, j), a in analyses.items():
        cv_n = a["cv_n"]
        have = np.isin(sizes, cv_n["n_pop"].values)
        for key in v:
            v[key][i, j, have] = cv_n[key].values
        s["ttfs_mean"][i, j] = float(a["ttfs"].mean(skipna=True))
        s["ttfs_silent"][i, j] = int(np.isnan(a["ttfs"].values).sum())
        s["cv_independent"][i, j] = float(cv_n["cv_independent"])
        s["cv_shared"][i, j] = float(cv_n["cv_shared"])
        if have.sum() >= 2:
            s["slope"][i, j] = loglog_slope(sizes[have], cv_n["cv_within"].values)
            s["bits"][i, j] = bits_per_doubling(sizes[have], cv_n["enob_within"].values)
        for k, name in enumerate(params):
            p_within[i, j, k] = a["parameters_within"].get(name, np.nan)
            p_across[i, j, k] = a["parameters_across"].get(name, np.nan)
        fi = a["fi"]
        fi_mean[i, j] = fi.mean(axis=(0, 2))
        fi_std[i, j] = fi.std(axis=(0, 2), ddof=1) if fi[:, 0].size > 1 else 0.0
    base = ("device_model", "temperature")
    conv = settings.enob_convention

    def var(dims, data, units, long_name, **extra):
        return (base + dims, data, {"units": units, "long_name": long_name, **extra})

    data = {
        "ttfs_cv_within": var(("n_pop",), v["cv_within"], "1", "CV of N-neuron TTFS averages within an instance (independent part)"),
        "ttfs_cv_pooled": var(("n_pop",), v["cv_pooled"], "1", "CV of N-neuron TTFS averages pooled over instances (with shared part)"),
        "ttfs_enob_within": var(("n_pop",), v["enob_within"], "bit", "ENOB of N-neuron TTFS averages, independent part", enob_convention=conv),
        "ttfs_enob_pooled": var(("n_pop",), v["enob_pooled"], "bit", "ENOB of N-neuron TTFS averages, pooled over instances", enob_convention=conv),
        "ttfs_mean": var((), s["ttfs_mean"], "s", "mean time to first spike"),
        "ttfs_silent": var((), s["ttfs_silent"], "1", "neuron-instances without a spike in the run (their neurons are excluded)"),
        "ttfs_cv_independent": var((), s["cv_independent"], "1", "per-neuron CV of the TTFS within an instance"),
        "ttfs_cv_shared": var((), s["cv_shared"], "1", "CV of the instance-mean TTFS (shared per-core/chip part)"),
        "ttfs_cv_slope": var((), s["slope"], "1", "log-log slope of the within-instance CV_N versus N (ideal -0.5)"),
        "ttfs_enob_per_doubling": var((), s["bits"], "bit", "ENOB gained per doubling of N (ideal 0.5)", enob_convention=conv),
        "parameter_cv_within": var(("parameter",), p_within, "1", "CV of the sampled parameter across the neurons of a core"),
        "parameter_cv_across": var(("parameter",), p_across, "1", "CV of the core-mean parameter across instances"),
        "fi_rate_mean": var(("i_in",), fi_mean, "Hz", "firing rate (1 / mean ISI), mean over neurons and instances"),
        "fi_rate_std": var(("i_in",), fi_std, "Hz", "firing rate standard deviation over neurons and instances"),
    }
    coords = {
        "device_model": ("device_model", models, {"units": "1", "long_name": "device model (calibration file)"}),
        "temperature": ("temperature", temps, {"units": "K", "long_name": "die temperature"}),
        "n_pop": ("n_pop", sizes, {"units": "1", "long_name": "neurons averaged per group"}),
        "parameter": ("parameter", params, {"units": "1", "long_name": "circuit parameter <block>.<field>"}),
        "i_in": ("i_in", np.asarray(settings.fi_currents, dtype=float), {"units": "A", "long_name": "injected DC current"}),
    }
    return xr.Dataset(data, coords=coords, attrs={
        "title": "mixsig characterisation study", "enob_convention": conv, "i_dc": float(settings.i_dc),
        "instances": int(settings.instances), "neurons": int(settings.neurons), "seed": int(settings.seed),
    })


def _summary(settings, results):
    out = {"study": "characterize", "settings": settings_dict(settings), "enob_convention": settings.enob_convention,
           "n_pop": results["n_pop"].values.tolist(), "models": {}}
    for model in results["device_model"].values:
        for temp in results["temperature"].values:
            r = results.sel(device_model=model, temperature=temp)
            out["models"][f"{model}@{temp:g}K"] = {
                "ttfs_mean_s": float(r["ttfs_mean"]),
                "ttfs_cv_independent": float(r["ttfs_cv_independent"]),
                "ttfs_cv_shared": float(r["ttfs_cv_shared"]),
                "cv_within": r["ttfs_cv_within"].values.tolist(),
                "cv_pooled": r["ttfs_cv_pooled"].values.tolist(),
                "enob_within_bit": r["ttfs_enob_within"].values.tolist(),
                "enob_pooled_bit": r["ttfs_enob_pooled"].values.tolist(),
                "cv_slope": float(r["ttfs_cv_slope"]),
                "enob_bits_per_doubling": float(r["ttfs_enob_per_doubling"]),
                "parameter_cv_within": {str(p): float(x) for p, x in zip(r["parameter"].values, r["parameter_cv_within"].values) if np.isfinite(x)},
            }
    return out


def _figures(settings, results, analyses, datasets):
    from mixsig import plot

    first = next(iter(datasets))
    a0 = analyses[(0, 0)]
    models = results["device_model"].values
    temps = results["temperature"].values
    cv_sets = {f"{m} {t:g} K": analyses[(i, j)]["cv_n"] for i, m in enumerate(models) for j, t in enumerate(temps)}
    return [
        ("characterize-ttfs-histogram", lambda ax: plot.ttfs_histogram(a0["ttfs"], ax)),
        ("characterize-membrane", lambda ax: plot.trace(datasets[first], "v_mem", ax)),
        ("characterize-fi", lambda ax: plot.fi_curves(results, ax)),
        ("characterize-cv-vs-n", lambda ax: plot.cv_vs_population_size(cv_sets, ax)),
        ("characterize-enob-vs-n", lambda ax: plot.enob_vs_population_size(cv_sets, ax)),
    ]


def characterize(settings=None, output=None, **changes):
    """Run the characterisation study.

    Parameters
    ----------
    settings : CharacterizeSettings, optional
        Defaults: :class:`CharacterizeSettings()`.
    output : str, optional
        Folder for datasets, results, summary and figures (nothing is written without it).
    **changes
        Fields of the settings to change, e.g. ``instances=8``.

    Returns
    -------
    StudyResult
        ``results`` has dims ``device_model``, ``temperature``, ``n_pop``, ``parameter``, ``i_in``.

    Raises
    ------
    ConfigError
        Invalid settings (every problem listed), or an invalid device model or chip.
    """
    from mixsig.engine.simulation import run

    settings = dataclasses.replace(settings or CharacterizeSettings(), **changes)
    settings.check()
    datasets, analyses = {}, {}
    for i, model in enumerate(settings.device_models):
        for j, temp in enumerate(settings.temperatures):
            ds = run(experiment(settings, model, temp), command=f"mixsig study characterize ({_model_label(model)}, {temp:g} K)")
            datasets[f"characterize-{_model_label(model)}-{temp:g}K"] = ds
            analyses[(i, j)] = analyse_run(ds, settings)
    results = _results(settings, analyses)
    result = StudyResult(results=results, datasets=datasets, summary=_summary(settings, results))
    if output is not None:
        write_outputs(output, "characterize", result, _figures(settings, results, analyses, datasets))
    return result
