"""Mismatch characterisation: TTFS across a core, f-I curves, CV and ENOB versus population size.

Protocol (physics reference section 7.2, E1; Zendrikov et al. 2023)
-------------------------------------------------------------------
The chip is driven as a DYNAP chip can be driven, by the per-core DC bias ``soma.i_dc``: one
bias-generator output per core, copied into every neuron by a mismatched transistor (and
scaled by the core's bias-generator error). Drive levels are multiples of the chip's rheobase,
measured once on the nominal chip (:func:`mixsig.studies.operating_point.measure_rheobase`), so
the protocol keeps its meaning when the chip's operating point changes.

For every device model, bias mode and temperature, with ``instances`` chip instances (same seed:
the same mismatch draws in every condition):

* **TTFS**: core 0 holds ``neurons`` neurons with ``soma.i_dc = ttfs_drive x rheobase`` from
  ``t = 0``. Each neuron integrates from rest; its time to first spike ``TTFS_i`` is recorded.
* **f-I** (``drive = "bias"``, default): every level ``fi_drive[k] x rheobase`` is the DC bias of
  its own core holding ``fi_neurons`` neurons (cores 1, 2, ... of the first run, then every core
  of further runs), so the f-I spread contains the per-core bias error as on silicon, and the
  current axis is the *programmed* bias. ``drive = "exact"`` is the idealised alternative: all
  levels on core 1 (its ``soma.i_dc = 0``) as exact external DC steps, which the chip cannot do
  (no per-neuron current source on DYNAP); useful to separate the neurons' own spread from the
  bias path. The rate is ``1 / mean ISI`` over the run (0 with fewer than 2 spikes).
* **Parameters**: the sampled parameters of core 0 (``record.parameters``).

Bias modes (``bias_modes``): each device model is run with its calibration file's
``temperature.bias`` replaced by each listed mode (``calibrated`` keeps the file's own,
:func:`mixsig.studies.operating_point.with_bias_mode`), so technologies are compared at the same
bias mode and the effect of the bias mode is seen within one technology. At the calibration
temperature both modes give the same currents.

Analysis: CV of every parameter and of the TTFS within an instance (independent per-neuron part)
and of the instance means (shared per-core/chip part); ``CV_N`` and ENOB versus the population
size ``N`` (random groups of ``N`` neurons averaged, :func:`mixsig.analysis.stats.
cv_versus_population_size`), whose independent part follows ``CV_1 / sqrt(N)`` and whose pooled
part levels off at the shared term, ``CV_N^2 = CV_ind^2 / N + CV_shared^2``. This CV-based ENOB
is a fixed-pattern spread at one operating point, not the resolution of a signal.
"""

import dataclasses
import tempfile

import numpy as np
import xarray as xr

from mixsig.analysis.stats import (
    DEFAULT_ENOB, ENOB_CONVENTIONS, bits_per_doubling, cv_versus_population_size, isi_statistics, loglog_slope,
    time_to_first_spike,
)
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.progress import counting
from mixsig.studies.operating_point import CALIBRATED, measure_rheobase, with_bias_mode
from mixsig.studies.output import (
    StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, write_outputs,
)

DRIVES = ("bias", "exact")
"""How the f-I levels reach the neurons: per-core DC biases (chip-realistic) or exact DC steps."""

BIAS_MODES = ("fixed_current", "fixed_gate", CALIBRATED)
"""Bias modes a device model can be run at (``calibrated``: the file's own)."""


@dataclasses.dataclass(frozen=True)
class CharacterizeSettings:
    """Parameters of the characterisation study (SI units; drives in multiples of the rheobase).

    Attributes
    ----------
    device_models : tuple of str
        Calibration names or paths (``"none"`` for nominal chips).
    bias_modes : tuple of str
        Bias modes each device model is run at (:data:`BIAS_MODES`).
    temperatures : tuple of float
        Die temperatures, K.
    instances : int
        Chip instances per run (independent mismatch draws).
    neurons : int
        Neurons of core 0 driven by the DC bias (TTFS population).
    ttfs_drive : float
        DC bias of the TTFS population, in multiples of the measured rheobase (1).
    duration : float
        Simulated time per run, s.
    drive : str
        ``"bias"`` (per-core DC biases, default) or ``"exact"`` (idealised exact DC steps) for
        the f-I levels.
    fi_drive : tuple of float
        f-I levels, in multiples of the measured rheobase (1).
    fi_neurons : int
        Neurons per f-I level.
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
    rheobase_window : float
        Observation time of the rheobase measurement, s.
    """

    device_models: tuple = ("generic_180nm", "fdsoi_22nm")
    bias_modes: tuple = ("fixed_current", "fixed_gate")
    temperatures: tuple = (300.0, 310.0)
    instances: int = 4
    neurons: int = 256
    ttfs_drive: float = 40.0
    duration: float = 0.1
    drive: str = "bias"
    fi_drive: tuple = (40.0, 100.0, 200.0, 400.0, 1000.0, 2000.0, 4000.0)
    fi_neurons: int = 16
    sizes: tuple = (1, 2, 4, 8, 16, 32, 64)
    dt: float = 1e-4
    seed: int = 0
    chip: str = "dynapse2"
    noise: bool = True
    trace_neurons: int = 4
    enob_convention: str = DEFAULT_ENOB
    partitions: int = 64
    rheobase_window: float = 1.0

    def check(self):
        """Raise :class:`~mixsig.errors.ConfigError` listing every invalid setting."""
        rules = {
            "device_models": (is_sequence_of(lambda v: isinstance(v, str) and v != ""), "a non-empty list of device model names"),
            "bias_modes": (is_sequence_of(lambda v: v in BIAS_MODES), f"a non-empty list of {', '.join(BIAS_MODES)}"),
            "temperatures": (is_sequence_of(is_positive), "a non-empty list of temperatures > 0 K"),
            "instances": (lambda v: is_int(v, 1), "an integer >= 1"),
            "neurons": (lambda v: is_int(v, 4), "an integer >= 4"),
            "ttfs_drive": (is_positive, "a multiple of the rheobase > 0"),
            "duration": (is_positive, "a time > 0 s"),
            "drive": (lambda v: v in DRIVES, f"one of {', '.join(DRIVES)}"),
            "fi_drive": (is_sequence_of(is_positive), "a non-empty list of multiples of the rheobase > 0"),
            "fi_neurons": (lambda v: is_int(v, 1), "an integer >= 1"),
            "sizes": (is_sequence_of(lambda v: is_int(v, 1) and 2 * v <= self.neurons),
                      f"population sizes in [1, neurons/2 = {self.neurons // 2}]"),
            "dt": (lambda v: is_positive(v) and v < self.duration, "a step > 0 s, shorter than duration"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
            "noise": (lambda v: isinstance(v, bool), "true or false"),
            "trace_neurons": (lambda v: is_int(v, 0) and v <= self.neurons, "an integer in [0, neurons]"),
            "enob_convention": (lambda v: v in ENOB_CONVENTIONS[:2], "'levels' or 'quantizer'"),
            "partitions": (lambda v: is_int(v, 1), "an integer >= 1"),
            "rheobase_window": (lambda v: is_positive(v) and v > self.dt, "a time > dt"),
        }
        raise_if_any(settings_problems(self, rules, "<characterize>"), "characterisation settings")


def fi_plan(settings, rheobase, n_cores):
    """Where each f-I level goes: runs, cores, biases and DC steps.

    Parameters
    ----------
    settings : CharacterizeSettings
    rheobase : float
        Measured rheobase, A.
    n_cores : int
        Cores per chip.

    Returns
    -------
    list of dict
        One per run: ``populations`` (name -> ``{"size", "core"}``), ``biases`` (tuple of
        ``(core, "soma.i_dc", A)``), ``dc`` (tuple of :class:`~mixsig.experiment.DCStep`) and
        ``levels`` (tuple of ``(level index, population name)``). The first run also holds the
        TTFS population ``ttfs`` on core 0.
    """
    from mixsig.experiment import DCStep

    currents = [float(d * rheobase) for d in settings.fi_drive]
    first = {"populations": {"ttfs": {"size": settings.neurons, "core": 0}},
             "biases": ((0, "soma.i_dc", float(settings.ttfs_drive * rheobase)),), "dc": (), "levels": ()}
    names = [f"fi{k}" for k in range(len(currents))]
    if settings.drive == "exact":
        first["populations"].update({name: {"size": settings.fi_neurons, "core": 1} for name in names})
        first["biases"] += ((1, "soma.i_dc", 0.0),)
        first["dc"] = tuple(DCStep(amplitude=c, population=name) for c, name in zip(currents, names))
        first["levels"] = tuple(enumerate(names))
        return [first]
    runs = [first]
    free = list(range(1, n_cores))
    for k, (current, name) in enumerate(zip(currents, names)):
        if not free:
            runs.append({"populations": {}, "biases": (), "dc": (), "levels": ()})
            free = list(range(n_cores))
        core = free.pop(0)
        run = runs[-1]
        run["populations"][name] = {"size": settings.fi_neurons, "core": core}
        run["biases"] += ((core, "soma.i_dc", current),)
        run["levels"] += ((k, name),)
    return runs


def experiment(settings, device_model, temperature, run):
    """The :class:`mixsig.Experiment` of one run of the study.

    Parameters
    ----------
    settings : CharacterizeSettings
    device_model : str
        Calibration name or path (at the run's bias mode).
    temperature : float
        K.
    run : dict
        One entry of :func:`fi_plan`.
    """
    from mixsig.experiment import Experiment, Record

    traced = tuple(range(settings.trace_neurons)) if "ttfs" in run["populations"] else ()
    return Experiment(
        duration=settings.duration, dt=settings.dt, instances=settings.instances, seed=settings.seed,
        chip=settings.chip, device_model=device_model, noise=settings.noise, temperature=float(temperature),
        biases=run["biases"], network={"populations": run["populations"]}, dc=run["dc"],
        record=Record(traces=("i_mem", "v_mem") if traced else (), neurons=traced, interval=settings.dt, router=False,
                      parameters=True),
    )


def simulate(exp, command):
    """Run an experiment (no bar of its own: the study shows one); return its dataset and the
    global neuron ids of each population."""
    from mixsig.engine.simulation import Simulation

    simulation = Simulation(exp)
    simulation.advance(exp.duration, progress=False)
    members = {name: simulation.compiled.population(name) for name in exp.network["populations"]}
    return simulation.dataset(command=command), members


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


def fi_rates(runs, settings):
    """f-I rates ``1 / mean ISI`` of the neurons of every level (0 when silent).

    Parameters
    ----------
    runs : list of (xarray.Dataset, dict, dict)
        Dataset, population members (:func:`simulate`) and plan entry (:func:`fi_plan`) of every run.
    settings : CharacterizeSettings

    Returns
    -------
    ndarray, shape (instance, level, member)
        Rates, Hz.
    """
    out = np.zeros((settings.instances, len(settings.fi_drive), settings.fi_neurons))
    for ds, members, plan in runs:
        mean_isi = isi_statistics(ds)["mean_isi"]
        for k, name in plan["levels"]:
            isi = mean_isi.sel(neuron=members[name]).values
            out[:, k] = np.where(np.isfinite(isi), 1.0 / np.where(np.isfinite(isi), isi, 1.0), 0.0)
    return out


def analyse_run(runs, settings):
    """TTFS, CV/ENOB versus N, parameter CVs and f-I statistics of one condition.

    Parameters
    ----------
    runs : list of (xarray.Dataset, dict, dict)
        The runs of one (device model, bias mode, temperature); the first holds the TTFS population.
    settings : CharacterizeSettings

    Returns
    -------
    dict
        ``ttfs`` (DataArray, instance x neuron, s), ``cv_n`` (Dataset of
        :func:`~mixsig.analysis.stats.cv_versus_population_size`), ``parameters_within`` and
        ``parameters_across`` (dicts name -> CV), ``fi`` (ndarray, instance x level x member, Hz).
    """
    ds, members, _ = runs[0]
    ttfs_neurons = np.isin(ds["neuron"].values, members["ttfs"])
    ttfs = time_to_first_spike(ds).isel(neuron=np.flatnonzero(ttfs_neurons))
    usable = int(np.all(np.isfinite(ttfs.values), axis=0).sum())
    sizes = [n for n in settings.sizes if 2 * n <= usable]
    if not sizes:
        raise ConfigError([Problem("<characterize>", "duration", settings.duration,
                                   f"long enough for neurons to spike ({usable} of {ttfs.sizes['neuron']} spiked in every instance)")],
                          "characterisation settings")
    cv_n = cv_versus_population_size(ttfs, sizes, settings.partitions, settings.seed, settings.enob_convention)
    within, across = _parameter_variability(ds, ttfs_neurons)
    return {"ttfs": ttfs, "cv_n": cv_n, "parameters_within": within, "parameters_across": across,
            "fi": fi_rates(runs, settings)}


def _model_label(name):
    return str(name).rsplit("/", 1)[-1].removesuffix(".toml")


def _results(settings, analyses, rheobase):
    """Assemble the results Dataset from the analyses of every (device model, bias mode, temperature)."""
    models = [_model_label(m) for m in settings.device_models]
    temps = np.asarray(settings.temperatures, dtype=float)
    sizes = np.asarray(settings.sizes)
    params = sorted({p for a in analyses.values() for p in a["parameters_within"]})
    shape = (len(models), len(settings.bias_modes), temps.size)

    def grid(extra=()):
        return np.full(shape + tuple(extra), np.nan)

    v = {k: grid((sizes.size,)) for k in ("cv_within", "cv_pooled", "enob_within", "enob_pooled")}
    s = {k: grid() for k in ("ttfs_mean", "ttfs_silent", "cv_independent", "cv_shared", "slope", "bits")}
    p_within, p_across = grid((len(params),)), grid((len(params),))
    fi_mean, fi_std = grid((len(settings.fi_drive),)), grid((len(settings.fi_drive),))
    for at, a in analyses.items():
        cv_n = a["cv_n"]
        have = np.isin(sizes, cv_n["n_pop"].values)
        for key in v:
            v[key][at + (have,)] = cv_n[key].values
        s["ttfs_mean"][at] = float(a["ttfs"].mean(skipna=True))
        s["ttfs_silent"][at] = int(np.isnan(a["ttfs"].values).sum())
        s["cv_independent"][at] = float(cv_n["cv_independent"])
        s["cv_shared"][at] = float(cv_n["cv_shared"])
        if have.sum() >= 2:
            s["slope"][at] = loglog_slope(sizes[have], cv_n["cv_within"].values)
            s["bits"][at] = bits_per_doubling(sizes[have], cv_n["enob_within"].values)
        for k, name in enumerate(params):
            p_within[at + (k,)] = a["parameters_within"].get(name, np.nan)
            p_across[at + (k,)] = a["parameters_across"].get(name, np.nan)
        fi = a["fi"]
        fi_mean[at] = fi.mean(axis=(0, 2))
        fi_std[at] = fi.std(axis=(0, 2), ddof=1) if fi[:, 0].size > 1 else 0.0
    base = ("device_model", "bias_mode", "temperature")
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
        "fi_rate_mean": var(("fi_drive",), fi_mean, "Hz", "firing rate (1 / mean ISI), mean over neurons and instances"),
        "fi_rate_std": var(("fi_drive",), fi_std, "Hz", "firing rate standard deviation over neurons and instances"),
    }
    i_in = "nominal per-core DC bias soma.i_dc" if settings.drive == "bias" else "exact external DC step"
    coords = {
        "device_model": ("device_model", models, {"units": "1", "long_name": "device model (calibration file)"}),
        "bias_mode": ("bias_mode", list(settings.bias_modes), {"units": "1", "long_name": "bias mode the device model is run at"}),
        "temperature": ("temperature", temps, {"units": "K", "long_name": "die temperature"}),
        "n_pop": ("n_pop", sizes, {"units": "1", "long_name": "neurons averaged per group"}),
        "parameter": ("parameter", params, {"units": "1", "long_name": "circuit parameter <block>.<field>"}),
        "fi_drive": ("fi_drive", np.asarray(settings.fi_drive, dtype=float), {"units": "1", "long_name": "f-I level in multiples of the rheobase"}),
        "i_in": ("fi_drive", rheobase * np.asarray(settings.fi_drive, dtype=float), {"units": "A", "long_name": i_in}),
    }
    return xr.Dataset(data, coords=coords, attrs={
        "title": "mixsig characterisation study", "enob_convention": conv, "drive": settings.drive,
        "rheobase": rheobase, "rheobase_window": float(settings.rheobase_window), "i_dc": float(settings.ttfs_drive * rheobase),
        "instances": int(settings.instances), "neurons": int(settings.neurons), "seed": int(settings.seed),
    })


def _summary(settings, results):
    out = {"study": "characterize", "settings": settings_dict(settings), "enob_convention": settings.enob_convention,
           "rheobase_a": results.attrs["rheobase"], "n_pop": results["n_pop"].values.tolist(), "models": {}}
    for model, mode, temp in _conditions(results):
        r = results.sel(device_model=model, bias_mode=mode, temperature=temp)
        out["models"][f"{model}/{mode}@{temp:g}K"] = {
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
            "fi_rate_mean_hz": r["fi_rate_mean"].values.tolist(),
        }
    return out


def _figures(settings, results, analyses, datasets):
    from mixsig import plot

    first = next(iter(datasets))
    a0 = analyses[(0, 0, 0)]
    cv_sets = {f"{m}, {b}, {t:g} K": analyses[key]["cv_n"] for key, (m, b, t) in zip(analyses, _conditions(results))}
    return [
        ("characterize-ttfs-histogram", lambda ax: plot.ttfs_histogram(a0["ttfs"], ax)),
        ("characterize-membrane", lambda ax: plot.trace(datasets[first], "v_mem", ax)),
        ("characterize-fi", lambda ax: plot.fi_curves(results, ax)),
        ("characterize-cv-vs-n", lambda ax: plot.cv_vs_population_size(cv_sets, ax)),
        ("characterize-enob-vs-n", lambda ax: plot.enob_vs_population_size(cv_sets, ax)),
    ]


def _conditions(results):
    """(device model, bias mode, temperature) of every condition, in the order of the analyses."""
    return [(m, b, t) for m in results["device_model"].values for b in results["bias_mode"].values
            for t in results["temperature"].values]


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
        ``results`` has dims ``device_model``, ``bias_mode``, ``temperature``, ``n_pop``,
        ``parameter``, ``fi_drive`` (with coordinate ``i_in``, A) and the attribute ``rheobase`` (A).

    Raises
    ------
    ConfigError
        Invalid settings (every problem listed), or an invalid device model or chip.
    """
    from mixsig.chip import load_chip

    settings = dataclasses.replace(settings or CharacterizeSettings(), **changes)
    settings.check()
    chip = load_chip(settings.chip)
    if chip.neuron_model != "silicon":  # the protocol drives and measures through the silicon soma's soma.i_dc
        raise ConfigError([Problem("<characterize>", "chip", settings.chip,
                                   "a chip of silicon-soma neurons (the protocol drives the per-core soma.i_dc bias); "
                                   "for any chip: mixsig study substrates")], "characterisation settings")
    rheobase = measure_rheobase(settings.chip, settings.rheobase_window, settings.dt)
    plan = fi_plan(settings, rheobase, load_chip(settings.chip).n_cores)
    datasets, analyses = {}, {}
    total = len(settings.device_models) * len(settings.bias_modes) * len(settings.temperatures) * len(plan)
    with tempfile.TemporaryDirectory() as scratch, counting(total, "run", "mixsig characterize") as done:
        for i, model in enumerate(settings.device_models):
            for m, mode in enumerate(settings.bias_modes):
                path = model if model == "none" else with_bias_mode(model, mode, output or scratch)
                for j, temp in enumerate(settings.temperatures):
                    label = f"characterize-{_model_label(model)}-{mode}-{temp:g}K"
                    runs = []
                    for r, entry in enumerate(plan):
                        ds, members = simulate(experiment(settings, path, temp, entry),
                                               f"mixsig study characterize ({_model_label(model)}, {mode}, {temp:g} K, run {r})")
                        datasets[label if r == 0 else f"{label}-fi{r}"] = ds
                        runs.append((ds, members, entry))
                        done()
                    analyses[(i, m, j)] = analyse_run(runs, settings)
    results = _results(settings, analyses, rheobase)
    result = StudyResult(results=results, datasets=datasets, summary=_summary(settings, results))
    if output is not None:
        write_outputs(output, "characterize", result, _figures(settings, results, analyses, datasets))
    return result
