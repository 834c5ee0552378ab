"""The characterisation study on any chip: what each chip family is measured through, and what not.

Each chip is driven through the input it really has, chosen from its neuron kernel
(:class:`mixsig.engine.protocol.NeuronKernel`) and its synapse arrays, never through another
family's circuit:

* **DC bias path** (``drive = "bias"``): the kernel's DC input bias (``dc_bias``), one value per
  core: ``soma.i_dc`` on DYNAP chips (one bias-generator output per core, copied into every neuron
  by a mismatched transistor and scaled by the core's bias-generator error), ``adex.i_ext`` on the
  BrainScaleS-2-like chip (``hx_65nm`` draws no mismatch on it: every neuron receives the same
  current, the spread is the neurons' own parameters, trimmed or not), ``lif.i_dc`` on the digital
  chip (a register, exact). ``drive = "exact"`` replaces it by exact external DC steps on every chip.
* **Crossbar** (a chip with ``[crossbar]`` synapses, e.g. ``pcm_lif``): its DC register would
  bypass the crossbar, so each population receives ``fan_in`` regular input trains (rate = level x
  the nominal chip's threshold rate, :func:`mixsig.studies.substrates.threshold`) through synapses
  of one weight mask (:func:`mixsig.studies.substrates.weight_mask`) stored as programmed PCM pairs
  (programming noise, read noise, drift at the experiment's ``t_since_program``).

Conditions on the study's ``chip`` axis:

* a chip of silicon-soma (DYNAP-class) neurons: one condition per device model, bias mode and
  temperature (the DYNAP measurements of the bias generator);
* any other chip: one condition with the chip's own device model (``none`` when the neuron kernel is
  mismatch-free and the chip has no device model), at the experiment's default temperature, and for
  a chip with CapMem cells (``[capmem]``) also one condition per ``trim_bits`` (calibrated in the
  study by :func:`mixsig.calibrate.calibrate`, same seed and instances) and per trim file of
  ``trims`` (written by ``mixsig calibrate``). Bias modes and temperatures are not swept there;
  :func:`not_measured` states why, and the study writes it into its summary and results.
"""

import dataclasses
import os
import pathlib

from mixsig.chip import load_chip
from mixsig.engine.protocol import kernel_for
from mixsig.errors import ConfigError, Problem
from mixsig.studies.operating_point import measure_rheobase, with_bias_mode

NOT_APPLICABLE = "not applicable"
"""Bias-mode value of a condition whose chip has no bias generator."""

CROSSBAR = "crossbar"
"""Input path of a chip whose synapses are crossbar conductances (input trains through them)."""

RHEOBASE_PROBES = 32
"""Currents per rheobase probe run on a chip that is not DYNAP-class: the AdEx kernel integrates with
error control, and 256 neurons over a 1 s window per run made the BrainScaleS-2 rheobase the
study's costliest step (the bracket still closes to 0.1 %, in a run or two more)."""


@dataclasses.dataclass(frozen=True)
class Condition:
    """One entry of the study's ``chip`` axis.

    Attributes
    ----------
    label : str
        Coordinate value (chip, device model, bias mode, temperature or calibration).
    chip : str
        Chip config name or path as given.
    chip_name : str
        The chip config's ``name``.
    device_model : str
        Device model of the runs (name or path of the copy at the bias mode).
    device_label : str
        Its name for the outputs.
    bias_mode : str
        Bias mode, or :data:`NOT_APPLICABLE`.
    temperature : float
        Die temperature of the runs, K.
    path : str
        Input path: ``"bias"``, ``"exact"`` or :data:`CROSSBAR`.
    trim_bits : int
        Trim resolution (0: not calibrated).
    trims : str
        Trim file loaded by the runs (empty: none).
    """

    label: str
    chip: str
    chip_name: str
    device_model: str
    device_label: str
    bias_mode: str
    temperature: float
    path: str
    trim_bits: int = 0
    trims: str = ""


def model_label(name):
    """A device model's name for the outputs (the file stem of a path)."""
    return str(name).rsplit("/", 1)[-1].removesuffix(".toml")


def own_device_model(chip):
    """The device model a non-DYNAP chip runs with: its own, ``none`` for a mismatch-free kernel."""
    return "none" if kernel_for(chip.neuron_model, "exact").mismatch_free else chip.device_model


def device_label(chip):
    """Name of a non-DYNAP chip's device models for the outputs (the neurons', and the crossbar's if any)."""
    label = model_label(own_device_model(chip))
    return label if chip.crossbar is None else f"{label} (neurons), {chip.crossbar.model.name} (crossbar)"


def input_path(chip, drive):
    """:data:`CROSSBAR` for a chip with crossbar synapses, else the study's ``drive``."""
    return CROSSBAR if chip.crossbar is not None else drive


def not_measured(chip):
    """DYNAP measurements the chip does not have, with the reason (dict; empty for a DYNAP-class chip)."""
    if chip.neuron_model == "silicon":
        return {}
    if chip.crossbar is not None:
        why = "digital neurons behind PCM crossbar synapses: no bias generator; no temperature law for the PCM statistics"
    elif kernel_for(chip.neuron_model, "exact").mismatch_free:
        why = "no analog devices (fixed-point registers)"
    else:
        why = "parameters held by per-neuron CapMem cells (trims), no coarse/fine bias generator"
    return {"bias_mode": f"{NOT_APPLICABLE}: {why}",
            "temperature": f"not swept (a DYNAP bias-generator measurement): {why}"}


def conditions(settings, folder):
    """Every condition of the study, in the order of the ``chip`` axis.

    Parameters
    ----------
    settings : mixsig.studies.characterize.CharacterizeSettings
    folder : str
        Where copies of device models at another bias mode are written.

    Returns
    -------
    list of Condition
    """
    from mixsig.experiment import Experiment
    from mixsig.trims import read_trims

    out, loaded = [], {}
    for name in settings.chips:
        chip = load_chip(name)
        loaded[chip.name] = (name, chip)
        if chip.neuron_model == "silicon":
            for model in settings.device_models:
                for mode in settings.bias_modes:
                    path = model if model == "none" else with_bias_mode(model, mode, folder)
                    out += [Condition(f"{chip.name} {model_label(model)}/{mode}@{temp:g}K", name, chip.name, path,
                                      model_label(model), mode, float(temp), settings.drive)
                            for temp in settings.temperatures]
            continue
        model = own_device_model(chip)
        base = dict(chip=name, chip_name=chip.name, device_model=model, device_label=device_label(chip),
                    bias_mode=NOT_APPLICABLE, temperature=float(Experiment.temperature),
                    path=input_path(chip, settings.drive))
        if chip.capmem is None:
            out.append(Condition(label=chip.name, **base))
            continue
        out.append(Condition(label=f"{chip.name} uncalibrated", **base))
        out += [Condition(label=f"{chip.name} calibrated {bits} bit", trim_bits=int(bits), **base)
                for bits in settings.trim_bits]
    problems = []
    for path in settings.trims:
        trims = read_trims(path)
        if trims.chip not in loaded or loaded[trims.chip][1].capmem is None:
            problems.append(Problem("<characterize>", "trims", path,
                                    f"a trim file of one of the chips studied with CapMem cells (it is for {trims.chip})"))
            continue
        name, chip = loaded[trims.chip]
        model = own_device_model(chip)
        out.append(Condition(f"{chip.name} trims {pathlib.Path(path).stem}", name, chip.name, model, device_label(chip),
                             NOT_APPLICABLE, float(Experiment.temperature), input_path(chip, settings.drive),
                             trim_bits=trims.bits, trims=os.path.abspath(path)))
    if problems:
        raise ConfigError(problems, "characterisation settings")
    return out


def threshold_drive(condition, settings):
    """The nominal chip's threshold drive the levels are multiples of.

    DC paths: the rheobase, A (:func:`mixsig.studies.operating_point.measure_rheobase`, observation
    ``rheobase_window``; a DYNAP-class chip probes a whole core per run, any other chip
    :data:`RHEOBASE_PROBES` neurons); crossbar: the input rate per channel at which a nominal neuron fires twice
    within ``rheobase_window``, Hz (:func:`mixsig.studies.substrates.threshold`).
    """
    if condition.path != CROSSBAR:
        per_run = None if condition.bias_mode != NOT_APPLICABLE else RHEOBASE_PROBES
        return measure_rheobase(condition.chip, settings.rheobase_window, settings.dt, per_run=per_run)
    from mixsig.studies.substrates import SubstratesSettings, threshold

    task = SubstratesSettings(task="synapses", window=settings.rheobase_window, settle=settings.dt,
                              fan_in=settings.fan_in, weight_fraction=settings.weight_fraction, seed=settings.seed)
    return threshold(condition.chip, task)


def fi_plan(settings, drive, n_cores, path, dc_bias):
    """Where each f-I level goes: runs, cores and drives.

    Parameters
    ----------
    settings : CharacterizeSettings
    drive : float
        Threshold drive (:func:`threshold_drive`): A, or Hz per channel on the crossbar path.
    n_cores : int
        Cores per chip.
    path : str
        Input path of the condition (``"bias"``, ``"exact"``, :data:`CROSSBAR`).
    dc_bias : str
        The chip's DC input bias (``soma.i_dc``, ``adex.i_ext``, ``lif.i_dc``).

    Returns
    -------
    list of dict
        One per run: ``populations`` (name -> ``{"size", "core"}``), ``biases`` (tuple of
        ``(core, dc_bias, A)``), ``dc`` (tuple of :class:`~mixsig.experiment.DCStep`), ``rates``
        (tuple of ``(population name, Hz per input channel)``, crossbar path) and ``levels`` (tuple
        of ``(level index, population name)``). The first run also holds the TTFS population
        ``ttfs`` on core 0.
    """
    from mixsig.experiment import DCStep

    values = [float(d * drive) for d in settings.fi_drive]
    ttfs = float(settings.ttfs_drive * drive)
    first = {"populations": {"ttfs": {"size": settings.neurons, "core": 0}}, "biases": (), "dc": (), "rates": (),
             "levels": ()}
    if path == CROSSBAR:
        first["rates"] = (("ttfs", ttfs),)
    else:
        first["biases"] = ((0, dc_bias, ttfs),)
    names = [f"fi{k}" for k in range(len(values))]
    if path == "exact":
        first["populations"].update({name: {"size": settings.fi_neurons, "core": 1} for name in names})
        first["biases"] += ((1, dc_bias, 0.0),)
        first["dc"] = tuple(DCStep(amplitude=c, population=name) for c, name in zip(values, names))
        first["levels"] = tuple(enumerate(names))
        return [first]
    runs = [first]
    free = list(range(1, n_cores))
    for k, (value, name) in enumerate(zip(values, names)):
        if not free:
            runs.append({"populations": {}, "biases": (), "dc": (), "rates": (), "levels": ()})
            free = list(range(n_cores))
        core = free.pop(0)
        run = runs[-1]
        run["populations"][name] = {"size": settings.fi_neurons, "core": core}
        if path == CROSSBAR:
            run["rates"] += ((name, value),)
        else:
            run["biases"] += ((core, dc_bias, value),)
        run["levels"] += ((k, name),)
    return runs


def experiment(settings, condition, run):
    """The :class:`mixsig.Experiment` of one run of one condition.

    Parameters
    ----------
    settings : CharacterizeSettings
    condition : Condition
    run : dict
        One entry of :func:`fi_plan`.
    """
    from mixsig.experiment import Experiment, Record
    from mixsig.studies.substrates import regular_trains, weight_mask

    traced = tuple(range(settings.trace_neurons)) if "ttfs" in run["populations"] else ()
    inputs, connections = {}, []
    for name, rate in run["rates"]:
        trains = regular_trains([rate], [0.0], settings.duration, settings.fan_in, settings.seed)
        inputs[f"in_{name}"] = {"size": settings.fan_in, "kind": "spike_array", "spike_times": trains}
        connections.append({"pre": f"in_{name}", "post": name, "rule": "all_to_all", "syn_type": "ampa",
                            "weight_mask": weight_mask(load_chip(condition.chip), settings.weight_fraction)})
    network = {"populations": run["populations"], "inputs": inputs, "connections": connections}
    kernel = kernel_for(load_chip(condition.chip).neuron_model, "exact")
    traces = tuple(t for t in ("i_mem", "v_mem") if t in kernel.traceable) if traced else ()
    return Experiment(
        duration=settings.duration, dt=settings.dt, instances=settings.instances, seed=settings.seed,
        chip=condition.chip, device_model=condition.device_model, noise=settings.noise and condition.device_model != "none",
        temperature=condition.temperature, biases=run["biases"], dc=run["dc"], trims=condition.trims,
        network={k: v for k, v in network.items() if v},
        record=Record(traces=traces, neurons=traced if traces else (), interval=settings.dt, router=False,
                      parameters=True),
    )


def calibration(settings, condition):
    """The trims of a condition calibrated in the study (:func:`mixsig.calibrate.calibrate`), or None
    (not calibrated, or its runs load a trim file).

    Every neuron a population of the study can occupy is calibrated: the first
    ``max(neurons, fi_neurons)`` of every core.
    """
    if not condition.trim_bits or condition.trims:
        return None
    from mixsig.calibrate import calibrate
    from mixsig.experiment import Experiment

    base = Experiment(chip=condition.chip, device_model=condition.device_model, seed=settings.seed,
                      instances=settings.instances, temperature=condition.temperature)
    per_core = min(max(settings.neurons, settings.fi_neurons), load_chip(condition.chip).neurons_per_core)
    return calibrate(condition.chip, experiment=base, bits=condition.trim_bits, per_core=per_core).trims


def drive_units(path):
    """Units of a threshold drive on an input path: A (DC), Hz (crossbar input rate per channel)."""
    return "Hz" if path == CROSSBAR else "A"


def drive_description(condition, dc_bias):
    """What the levels of a condition are, for the outputs."""
    if condition.path == CROSSBAR:
        return "regular input trains through the crossbar's programmed PCM conductances"
    if condition.path == "exact":
        return "exact external DC steps"
    return f"per-core DC bias {dc_bias}"

