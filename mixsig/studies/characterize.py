"""Mismatch characterisation on any chip: TTFS across a core, f-I curves, CV and ENOB versus population size.

Protocol (physics reference section 7.2, E1; Zendrikov et al. 2023)
-------------------------------------------------------------------
Every chip is driven through the input it has (:mod:`mixsig.studies.characterize_chips`): a DYNAP
chip by its per-core DC bias ``soma.i_dc`` (one bias-generator output per core, copied into every
neuron by a mismatched transistor and scaled by the core's bias-generator error), the
BrainScaleS-2-like chip by its per-core DC input ``adex.i_ext`` (uncalibrated and after per-neuron
calibration), the digital chip by its DC register ``lif.i_dc``, a crossbar chip by input trains
through its programmed conductances. Drive levels are multiples of the nominal chip's threshold
drive (its rheobase, :func:`mixsig.studies.operating_point.measure_rheobase`; on a crossbar, the
threshold input rate per channel), so the chips are compared on the same axes and the protocol
keeps its meaning when a chip's operating point changes.

For every condition of the ``chip`` axis (a DYNAP-class chip at every device model, bias mode and
temperature; any other chip with its own device model, uncalibrated and calibrated), with
``instances`` chip instances (same seed: the same mismatch draws in every condition):

* **TTFS**: core 0 holds ``neurons`` neurons driven at ``ttfs_drive`` x the threshold drive from
  ``t = 0``. Each neuron integrates from rest; its time to first spike ``TTFS_i`` is recorded.
* **f-I** (``drive = "bias"``, default): every level ``fi_drive[k]`` x the threshold drive is the DC
  bias of its own core holding ``fi_neurons`` neurons (cores 1, 2, ... of the first run, then every
  core of further runs), so the f-I spread contains the per-core bias error as on silicon, and the
  current axis is the *programmed* bias. ``drive = "exact"`` is the idealised alternative: all
  levels on core 1 (its DC bias 0) as exact external DC steps, which a DYNAP chip cannot do
  (no per-neuron current source); useful to separate the neurons' own spread from the bias path. A
  crossbar chip is always driven through its crossbar. The rate is ``1 / mean ISI`` over the run
  (0 with fewer than 2 spikes).
* **Parameters**: the sampled parameters of core 0 (``record.parameters``).

Bias modes (``bias_modes``, DYNAP-class chips): each device model is run with its calibration
file's ``temperature.bias`` replaced by each listed mode (``calibrated`` keeps the file's own,
:func:`mixsig.studies.operating_point.with_bias_mode`), so technologies are compared at the same
bias mode and the effect of the bias mode is seen within one technology. At the calibration
temperature both modes give the same currents. Chips without a bias generator are not swept over
bias modes and temperatures; the outputs say so (``not_measured``).

Analysis: CV of every parameter and of the TTFS within an instance (independent per-neuron part)
and of the instance means (shared per-core/chip part); ``CV_N`` and ENOB versus the population
size ``N`` (random groups of ``N`` neurons averaged, :func:`mixsig.analysis.stats.
cv_versus_population_size`), whose independent part follows ``CV_1 / sqrt(N)`` and whose pooled
part levels off at the shared term, ``CV_N^2 = CV_ind^2 / N + CV_shared^2``. This CV-based ENOB
is a fixed-pattern spread at one operating point, not the resolution of a signal.
"""

import dataclasses
import re
import tempfile

import numpy as np
import xarray as xr

from mixsig.analysis.stats import (
    DEFAULT_ENOB, ENOB_CONVENTIONS, bits_per_doubling, cv_versus_population_size, isi_statistics, loglog_slope,
    time_to_first_spike,
)
from mixsig.chip import load_chip
from mixsig.engine.protocol import kernel_for
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.progress import counting
from mixsig.studies import characterize_chips as chips
from mixsig.studies.operating_point import CALIBRATED
from mixsig.studies.output import (
    StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, write_outputs,
)

DRIVES = ("bias", "exact")
"""How the f-I levels reach the neurons: per-core DC biases (chip-realistic) or exact DC steps."""

BIAS_MODES = ("fixed_current", "fixed_gate", CALIBRATED)
"""Bias modes a device model can be run at (``calibrated``: the file's own)."""

ZERO_SPREAD = 1e-9
"""CV below which a condition has no spread (the digital chip's identical neurons: float rounding only);
its CV slope and ENOB per doubling are then undefined (nan) and the figures list it in the legend."""


@dataclasses.dataclass(frozen=True)
class CharacterizeSettings:
    """Parameters of the characterisation study (SI units; drives in multiples of the threshold drive).

    Attributes
    ----------
    chips : tuple of str
        Chip config names or paths (each at least 2 cores), side by side on the ``chip`` axis.
    device_models : tuple of str
        Calibration names or paths (``"none"`` for nominal chips) of the DYNAP-class chips; the other
        chips run with their own.
    bias_modes : tuple of str
        Bias modes each device model of a DYNAP-class chip is run at (:data:`BIAS_MODES`).
    temperatures : tuple of float
        Die temperatures of the DYNAP-class chips, K.
    trim_bits : tuple of int
        Trim resolutions at which chips with CapMem cells are also calibrated (may be empty).
    trims : tuple of str
        Trim files (``mixsig calibrate``) of chips with CapMem cells, each one more condition; the
        file must be for the study's seed, instances and the chip's device model.
    instances : int
        Chip instances per run (independent mismatch draws).
    neurons : int
        Neurons of core 0 driven at ``ttfs_drive`` (TTFS population).
    ttfs_drive : float
        Drive of the TTFS population, in multiples of the threshold drive (1).
    duration : float
        Simulated time per run, s.
    drive : str
        ``"bias"`` (the chip's per-core DC input, default) or ``"exact"`` (idealised exact DC
        steps) for the f-I levels; crossbar chips are always driven through their crossbar.
    fi_drive : tuple of float
        f-I levels, in multiples of the threshold drive (1).
    fi_neurons : int
        Neurons per f-I level.
    sizes : tuple of int
        Population sizes ``N`` of the CV/ENOB-versus-N analysis.
    dt : float
        Engine step, s.
    seed : int
        Root seed.
    noise : bool
        Temporal (shot) noise, where the device model enables it.
    trace_neurons : int
        Neurons of core 0 whose ``i_mem`` and ``v_mem`` are recorded (where the neuron model has them).
    enob_convention : str
        ENOB convention (``levels`` or ``quantizer``), recorded in the outputs.
    partitions : int
        Random partitions averaged per population size.
    rheobase_window : float
        Observation time of the threshold-drive measurement, s.
    fan_in : int
        Input channels per population on a crossbar chip.
    weight_fraction : float
        Crossbar synapse weight as a fraction of the chip's largest weight mask
        (:func:`mixsig.studies.substrates.weight_mask`).
    """

    chips: tuple = ("dynapse2", "brainscales2", "pcm_lif", "digital_lif")
    device_models: tuple = ("generic_180nm",)
    bias_modes: tuple = ("fixed_current",)
    temperatures: tuple = (300.0,)
    trim_bits: tuple = (10,)
    trims: tuple = ()
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
    noise: bool = True
    trace_neurons: int = 4
    enob_convention: str = DEFAULT_ENOB
    partitions: int = 64
    rheobase_window: float = 1.0
    fan_in: int = 32
    weight_fraction: float = 0.25

    def check(self):
        """Raise :class:`~mixsig.errors.ConfigError` listing every invalid setting."""
        rules = {
            "chips": (is_sequence_of(lambda v: isinstance(v, str) and v != ""), "a non-empty list of chip config names"),
            "device_models": (is_sequence_of(lambda v: isinstance(v, str) and v != ""), "a non-empty list of device model names"),
            "bias_modes": (is_sequence_of(lambda v: v in BIAS_MODES), f"a non-empty list of {', '.join(BIAS_MODES)}"),
            "temperatures": (is_sequence_of(is_positive), "a non-empty list of temperatures > 0 K"),
            "trim_bits": (is_sequence_of(lambda b: is_int(b, 1) and b <= 16, 0), "trim resolutions in [1, 16] bits"),
            "trims": (is_sequence_of(lambda v: isinstance(v, str) and v != "", 0), "trim file paths"),
            "instances": (lambda v: is_int(v, 1), "an integer >= 1"),
            "neurons": (lambda v: is_int(v, 4), "an integer >= 4"),
            "ttfs_drive": (is_positive, "a multiple of the threshold drive > 0"),
            "duration": (is_positive, "a time > 0 s"),
            "drive": (lambda v: v in DRIVES, f"one of {', '.join(DRIVES)}"),
            "fi_drive": (is_sequence_of(is_positive), "a non-empty list of multiples of the threshold drive > 0"),
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
            "fan_in": (lambda v: is_int(v, 1), "an integer >= 1"),
            "weight_fraction": (lambda v: is_positive(v) and v <= 1, "a fraction in (0, 1]"),
        }
        raise_if_any(settings_problems(self, rules, "<characterize>"), "characterisation settings")


def simulate(exp, command, trims=None):
    """Run an experiment (no bar of its own: the study shows one); return its dataset and the
    global neuron ids of each population."""
    from mixsig.engine.simulation import Simulation

    simulation = Simulation(exp, trims=trims)
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
        Dataset, population members (:func:`simulate`) and plan entry
        (:func:`mixsig.studies.characterize_chips.fi_plan`) of every run.
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


def analyse_run(runs, settings, source="<characterize>"):
    """TTFS, CV/ENOB versus N, parameter CVs and f-I statistics of one condition.

    Parameters
    ----------
    runs : list of (xarray.Dataset, dict, dict)
        The runs of one condition; the first holds the TTFS population.
    settings : CharacterizeSettings
    source : str
        The condition, named in an error.

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
        raise ConfigError([Problem(source, "duration", settings.duration,
                                   f"long enough for neurons to spike ({usable} of {ttfs.sizes['neuron']} spiked in every instance)")],
                          "characterisation settings")
    cv_n = cv_versus_population_size(ttfs, sizes, settings.partitions, settings.seed, settings.enob_convention)
    within, across = _parameter_variability(ds, ttfs_neurons)
    return {"ttfs": ttfs, "cv_n": cv_n, "parameters_within": within, "parameters_across": across,
            "fi": fi_rates(runs, settings)}


def _results(settings, conditions, analyses, thresholds):
    """Assemble the results Dataset over the ``chip`` axis from the analyses of every condition."""
    sizes = np.asarray(settings.sizes)
    levels = np.asarray(settings.fi_drive, dtype=float)
    params = sorted({p for a in analyses for p in a["parameters_within"]})
    shape = (len(conditions),)

    def grid(extra=()):
        return np.full(shape + tuple(extra), np.nan)

    v = {k: grid((sizes.size,)) for k in ("cv_within", "cv_pooled", "enob_within", "enob_pooled")}
    s = {k: grid() for k in ("ttfs_mean", "ttfs_silent", "cv_independent", "cv_shared", "slope", "bits")}
    p_within, p_across = grid((len(params),)), grid((len(params),))
    fi_mean, fi_std = grid((levels.size,)), grid((levels.size,))
    threshold_current, threshold_rate = grid(), grid()
    for at, (condition, a) in enumerate(zip(conditions, analyses)):
        cv_n = a["cv_n"]
        have = np.isin(sizes, cv_n["n_pop"].values)
        for key in v:
            v[key][at, have] = cv_n[key].values
        s["ttfs_mean"][at] = float(a["ttfs"].mean(skipna=True))
        s["ttfs_silent"][at] = int(np.isnan(a["ttfs"].values).sum())
        s["cv_independent"][at] = float(cv_n["cv_independent"])
        s["cv_shared"][at] = float(cv_n["cv_shared"])
        if have.sum() >= 2 and np.all(cv_n["cv_within"].values > ZERO_SPREAD):
            s["slope"][at] = loglog_slope(sizes[have], cv_n["cv_within"].values)
            s["bits"][at] = bits_per_doubling(sizes[have], cv_n["enob_within"].values)
        for k, name in enumerate(params):
            p_within[at, k] = a["parameters_within"].get(name, np.nan)
            p_across[at, k] = a["parameters_across"].get(name, np.nan)
        fi = a["fi"]
        fi_mean[at] = fi.mean(axis=(0, 2))
        fi_std[at] = fi.std(axis=(0, 2), ddof=1) if fi[:, 0].size > 1 else 0.0
        drive = thresholds[(condition.chip, condition.path)]
        (threshold_rate if condition.path == chips.CROSSBAR else threshold_current)[at] = drive
    conv = settings.enob_convention

    def var(dims, data, units, long_name, **extra):
        return (("chip",) + dims, data, {"units": units, "long_name": long_name, **extra})

    data = {
        "ttfs_cv_within": var(("n_pop",), v["cv_within"], "1", "CV of N-neuron TTFS averages within an instance (independent part)"),
        "ttfs_cv_pooled": var(("n_pop",), v["cv_pooled"], "1", "CV of N-neuron TTFS averages pooled over instances (with shared part)"),
        "ttfs_enob_within": var(("n_pop",), v["enob_within"], "bit", "ENOB of N-neuron TTFS averages, independent part", enob_convention=conv),
        "ttfs_enob_pooled": var(("n_pop",), v["enob_pooled"], "bit", "ENOB of N-neuron TTFS averages, pooled over instances", enob_convention=conv),
        "ttfs_mean": var((), s["ttfs_mean"], "s", "mean time to first spike"),
        "ttfs_silent": var((), s["ttfs_silent"], "1", "neuron-instances without a spike in the run (their neurons are excluded)"),
        "ttfs_cv_independent": var((), s["cv_independent"], "1", "per-neuron CV of the TTFS within an instance"),
        "ttfs_cv_shared": var((), s["cv_shared"], "1", "CV of the instance-mean TTFS (shared per-core/chip part)"),
        "ttfs_cv_slope": var((), s["slope"], "1", "log-log slope of the within-instance CV_N versus N (ideal -0.5; nan without spread)"),
        "ttfs_enob_per_doubling": var((), s["bits"], "bit", "ENOB gained per doubling of N (ideal 0.5; nan without spread)", enob_convention=conv),
        "parameter_cv_within": var(("parameter",), p_within, "1", "CV of the sampled parameter across the neurons of a core"),
        "parameter_cv_across": var(("parameter",), p_across, "1", "CV of the core-mean parameter across instances"),
        "fi_rate_mean": var(("fi_drive",), fi_mean, "Hz", "firing rate (1 / mean ISI), mean over neurons and instances"),
        "fi_rate_std": var(("fi_drive",), fi_std, "Hz", "firing rate standard deviation over neurons and instances"),
        "threshold_current": var((), threshold_current, "A", "rheobase of the nominal chip (nan: driven through a crossbar)"),
        "threshold_rate": var((), threshold_rate, "Hz",
                              "input rate per channel at which a nominal neuron fires (nan: driven by a DC input)"),
        "i_in": var(("fi_drive",), threshold_current[:, None] * levels, "A", "nominal DC input of the f-I level (nan: crossbar)"),
        "input_rate": var(("fi_drive",), threshold_rate[:, None] * levels, "Hz",
                          "input rate per channel of the f-I level (nan: DC input)"),
    }
    along = {"units": "1"}
    coords = {
        "chip": ("chip", [c.label for c in conditions], {"units": "1", "long_name": "chip and condition (device model, bias mode, temperature or calibration)"}),
        "chip_config": ("chip", [c.chip_name for c in conditions], {**along, "long_name": "chip config"}),
        "device_model": ("chip", [c.device_label for c in conditions], {**along, "long_name": "device model (calibration file)"}),
        "bias_mode": ("chip", [c.bias_mode for c in conditions], {**along, "long_name": "bias mode the device model is run at"}),
        "temperature": ("chip", [c.temperature for c in conditions], {"units": "K", "long_name": "die temperature"}),
        "trim_bits": ("chip", [c.trim_bits for c in conditions],
                      {"units": "bit", "long_name": "trim resolution of the per-neuron calibration (0: not calibrated)"}),
        "input_path": ("chip", [chips.drive_description(c, kernel_for(load_chip(c.chip).neuron_model, "exact").dc_bias)
                                for c in conditions], {**along, "long_name": "how the drive reaches the neurons"}),
        "n_pop": ("n_pop", sizes, {"units": "1", "long_name": "neurons averaged per group"}),
        "parameter": ("parameter", np.asarray(params, dtype=str), {"units": "1", "long_name": "circuit parameter <block>.<field>"}),
        "fi_drive": ("fi_drive", levels, {"units": "1", "long_name": "f-I level in multiples of the nominal chip's threshold drive"}),
    }
    return xr.Dataset(data, coords=coords, attrs={
        "title": "mixsig characterisation study", "enob_convention": conv, "drive": settings.drive,
        "rheobase_window": float(settings.rheobase_window), "ttfs_drive": float(settings.ttfs_drive),
        "instances": int(settings.instances), "neurons": int(settings.neurons), "seed": int(settings.seed),
        "not_measured": "; ".join(f"{c.label}: {k} {why}" for c in conditions
                                  for k, why in chips.not_measured(load_chip(c.chip)).items()) or "none",
    })


def _summary(settings, results):
    out = {"study": "characterize", "settings": settings_dict(settings), "enob_convention": settings.enob_convention,
           "n_pop": results["n_pop"].values.tolist(), "chips": {}}
    for label in results["chip"].values:
        r = results.sel(chip=label)
        entry = {
            "chip": str(r["chip_config"].values), "device_model": str(r["device_model"].values),
            "bias_mode": str(r["bias_mode"].values), "temperature_k": float(r["temperature"]),
            "trim_bits": int(r["trim_bits"]), "input": str(r["input_path"].values),
            "threshold_current_a": float(r["threshold_current"]), "threshold_rate_hz": float(r["threshold_rate"]),
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
            "not_measured": chips.not_measured(load_chip(str(r["chip_config"].values))),
        }
        out["chips"][str(label)] = entry
    return out


def file_stem(label):
    """Dataset file stem of a condition: ``characterize-<label>`` with spaces, ``/`` and ``@`` as ``-``."""
    return "characterize-" + re.sub(r"[ /@]+", "-", label)


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
        ``results`` has dims ``chip`` (one entry per condition, with coordinates ``chip_config``,
        ``device_model``, ``bias_mode``, ``temperature``, ``trim_bits``, ``input_path``), ``n_pop``,
        ``parameter`` and ``fi_drive``.

    Raises
    ------
    ConfigError
        Invalid settings (every problem listed), or an invalid chip, device model or trim file.
    """
    from mixsig.studies.characterize_figures import figures

    settings = dataclasses.replace(settings or CharacterizeSettings(), **changes)
    settings.check()
    datasets, analyses, thresholds = {}, [], {}
    with tempfile.TemporaryDirectory() as scratch:
        conditions = chips.conditions(settings, output or scratch)
        plans = []
        for condition in conditions:
            key = (condition.chip, condition.path)
            if key not in thresholds:
                thresholds[key] = chips.threshold_drive(condition, settings)
            chip = load_chip(condition.chip)
            plans.append(chips.fi_plan(settings, thresholds[key], chip.n_cores, condition.path,
                                       kernel_for(chip.neuron_model, "exact").dc_bias))
        with counting(sum(map(len, plans)), "run", "mixsig characterize") as done:
            for condition, plan in zip(conditions, plans):
                trims = chips.calibration(settings, condition)
                runs = []
                for r, entry in enumerate(plan):
                    ds, members = simulate(chips.experiment(settings, condition, entry),
                                           f"mixsig study characterize ({condition.label}, run {r})", trims)
                    datasets[file_stem(condition.label) + ("" if r == 0 else f"-fi{r}")] = ds
                    runs.append((ds, members, entry))
                    done()
                analyses.append(analyse_run(runs, settings, condition.label))
    results = _results(settings, conditions, analyses, thresholds)
    result = StudyResult(results=results, datasets=datasets, summary=_summary(settings, results))
    if output is not None:
        write_outputs(output, "characterize", result, figures(results, analyses, datasets))
    return result
