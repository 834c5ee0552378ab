"""Substrates and calibration strategies on one task: population averaging versus per-neuron calibration.

The same task runs on every chip named (any chip config: DYNAP-class, the BrainScaleS-2-like
chip before and after per-neuron calibration, the digital fixed-point LIF, the PCM crossbar
chip): encode a scalar ``x`` in ``[0, 1]`` as the DC current of a population,
``I(x) = (l_min + x (l_max - l_min)) x I_rh``, with ``I_rh`` the chip's rheobase, and read it back
from the population's mean firing rate (task ``dc``). The DC drive bypasses the synapses, so a
crossbar chip (``pcm_lif``) decodes exactly like its digital neurons; task ``synapses`` encodes ``x``
instead as the rate of ``fan_in`` regular input trains, ``r(x) = (l_min + x (l_max - l_min)) x r_th``
with ``r_th`` the nominal chip's threshold rate, through real synapses of one weight mask
(:func:`weight_mask`), so the synapses' own imperfections show: the rounding of the weight to
the chip's weight bits (the decoder is built on the chip as designed, with the exact weight:
:func:`design_biases`): DYNAP's DPI weight mismatch, the
crossbar's programming noise, read noise and drift at each ``t_since_program`` (no drift
compensation), and none on the digital chip (its integer weights are exact).

Protocol, per condition (a chip, with its own device model: mismatch, noise; ``none`` for a chip
without analog devices; a crossbar chip also at each ``t_since_program``, task ``synapses``):

* the threshold drive of the nominal chip as designed (``device_model = "none"``, a crossbar's
  synapses at their target weights; task ``synapses``: the exact target weight, not its rounding
  to the weight bits, :func:`design_biases`): the smallest DC step ``I_rh`` (or input rate
  ``r_th``) that makes a neuron fire at least twice in :data:`THRESHOLD_WINDOW` (200 ms), found
  on a geometric and then two linear grids of :data:`GRID` single-neuron populations run
  together (relative resolution about 0.5 %);
* ``neurons`` neurons of core 0 of ``instances`` chip instances receive the levels ``levels``
  (multiples of the threshold drive) in consecutive windows of ``window`` seconds, as exact DC
  steps (the same idealised current source on every chip, so the comparison is of the neurons,
  not of the bias paths) or as input trains through the synapses; the rate of each neuron at each
  level counts the spikes after ``settle``;
* on a chip with CapMem cells (``[capmem]``), the same chips (same seed) are also run after
  :func:`mixsig.calibrate.calibrate` at every resolution of ``trim_bits``, calibrating the
  ``neurons`` first neurons of every core.

Strategies compared:

* **DYNAP-style population averaging**: uncalibrated neurons, ``N`` averaged;
* **BrainScaleS-style per-neuron calibration**: each neuron trimmed, ``N`` averaged (``N = 1`` is
  one calibrated neuron).

Analysis: the CV and ENOB of group means of the rate at the middle level versus ``N``
(:func:`mixsig.analysis.stats.cv_versus_population_size`, within an instance); the decoding
error: a group of ``N`` neurons' mean rate at each level is decoded with the *nominal* chip's
rate-versus-level curve (no per-chip knowledge: ``x_hat = interp(r, r_nom(x), x)``), rms of
``x_hat - x`` over levels, groups and instances; and, for calibrated chips, that error versus
the trim resolution.
"""

import dataclasses

import numpy as np
import xarray as xr

from mixsig.analysis.stats import cv_versus_population_size, interval_counts
from mixsig.chip import load_chip
from mixsig.engine.protocol import kernel_for
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.experiment import DCStep, Experiment
from mixsig.progress import counting
from mixsig.studies.output import (
    StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, write_outputs,
)

GRID = 16
"""Single-neuron populations per threshold search run."""

MAX_DC = 1e-4
"""Largest DC step of the rheobase search, A."""

MAX_RATE = 5000.0
"""Largest input rate per channel of the threshold-rate search, Hz."""

TASKS = ("dc", "synapses")

THRESHOLD_WINDOW = 0.2
"""Window of the threshold search, s: the threshold drive fires a nominal neuron twice within it,
whatever the task's counting window (in a 3 s window, single input spikes that each make a
digital neuron burst would count as firing, far below any sustained rate)."""

TIMING = {"dc": (0.2, 0.05), "synapses": (3.0, 0.5)}
"""Default ``(window, settle)`` of each task, s. Task ``synapses`` settles for 0.5 s, ten times the
adaptation time constant of DYNAP-SE2's neurons (``C_ahp U_T / (kappa I_tau,ahp)``, about 50 ms).
With 0.05 s the counts held the adaptation's onset and what the previous level left: the nominal
curve fell as the input rose (27, 33, 27, 27 Hz at 1.5-3x the threshold rate; 20, 27, 27, 40 Hz
with the levels in reverse order; 40, 48, 56, 62 Hz in 1 s windows with the adaptation switched
off). Adapted, the curve rises only from 22.4 to 24.2 Hz over 1.5-3x (single levels, 2.5 s
counted), so 2.5 s are counted: one spike is 0.4 Hz."""


@dataclasses.dataclass(frozen=True)
class SubstratesSettings:
    """Settings of the substrates study (SI units; drive levels in multiples of the rheobase).

    Attributes
    ----------
    chips : tuple of str
        Chip config names or paths.
    trim_bits : tuple of int
        Trim resolutions at which chips with CapMem cells are calibrated.
    instances : int
        Chip instances per condition.
    neurons : int
        Neurons of core 0 in the task (and calibrated per core).
    levels : tuple of float
        Drive levels, multiples of the rheobase, increasing.
    window, settle : float or None
        Length of each level's window and the part of it not counted, s (None: the task's
        :data:`TIMING`).
    sizes : tuple of int
        Population sizes ``N`` (at most ``neurons / 2``).
    seed : int
    task : {"dc", "synapses"}
        ``dc``: the levels are DC steps, multiples of the rheobase; ``synapses``: the levels are input
        rates, multiples of the threshold rate, through ``fan_in`` synapses per neuron.
    fan_in : int
        Input channels, each connected to every task neuron (task ``synapses``).
    weight_fraction : float
        Target weight of every input synapse as a fraction of the chip's largest weight mask,
        rounded to a mask (at least 1): 0.25 is 4 of 15 on a 4-bit DYNAP-SE2 mask (+6.7 %),
        16 of 63 LSB on a 6-bit crossbar (+1.6 %), 64 of 255 on the 8-bit digital chip (+0.4 %).
    t_since_program : tuple of float
        Times since programming at which a crossbar chip runs, s (task ``synapses``; one condition each).
    """

    chips: tuple = ("dynapse2", "brainscales2", "digital_lif")
    trim_bits: tuple = (4, 6, 8, 10)
    instances: int = 2
    neurons: int = 64
    levels: tuple = (1.5, 2.0, 2.5, 3.0)
    window: float = None
    settle: float = None
    sizes: tuple = (1, 2, 4, 8, 16, 32)
    seed: int = 0
    task: str = "dc"
    fan_in: int = 32
    weight_fraction: float = 0.25
    t_since_program: tuple = (1.0, 86400.0, 3.15e7)

    def resolved(self):
        """These settings with ``window`` and ``settle`` left at None set to the task's :data:`TIMING`."""
        window, settle = TIMING.get(self.task, (None, None))
        return dataclasses.replace(self, window=window if self.window is None else self.window,
                                   settle=settle if self.settle is None else self.settle)

    def problems(self, source="<substrates settings>"):
        """Every invalid setting (list of Problem), ``window`` and ``settle`` as :meth:`resolved`."""
        self = self.resolved()
        problems = settings_problems(self, {
            "chips": (is_sequence_of(lambda c: isinstance(c, str)), "chip config names or paths"),
            "trim_bits": (is_sequence_of(lambda b: is_int(b, 1) and b <= 16, 0), "trim resolutions in [1, 16] bits"),
            "instances": (lambda v: is_int(v, 1), "an integer >= 1"),
            "neurons": (lambda v: is_int(v, 2), "an integer >= 2"),
            "levels": (lambda v: is_sequence_of(is_positive, 2)(v) and all(np.diff(v) > 0), "increasing levels > 0, at least 2"),
            "window": (is_positive, "a window > 0 s"),
            "settle": (lambda v: is_positive(v) and v < self.window, "a time > 0 s shorter than the window"),
            "sizes": (lambda v: is_sequence_of(lambda n: is_int(n, 1) and 2 * n <= self.neurons)(v),
                      "population sizes in [1, neurons / 2]"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
            "task": (lambda v: v in TASKS, f"one of {list(TASKS)}"),
            "fan_in": (lambda v: is_int(v, 1), "an integer >= 1"),
            "weight_fraction": (lambda v: is_positive(v) and v <= 1, "a fraction in (0, 1]"),
            "t_since_program": (lambda v: is_sequence_of(lambda t: is_positive(t) or t == 0)(v)
                                and (self.task == "synapses" or tuple(v) == type(self).t_since_program),
                                "times since programming >= 0 s, with task 'synapses' (the DC task never reads synapses)"),
        }, source)
        return problems


def _device_model(chip):
    return "none" if kernel_for(chip.neuron_model, "fast").mismatch_free else chip.device_model


def _experiment(chip_name, chip, settings, device_model, drives, duration, per_population=1, instances=1,
                t_since_program=0.0, biases=()):
    """One population per row of ``drives`` on core 0, driven window by window at the row's levels.

    Task ``dc``: exact DC steps of the row's amplitudes (A). Task ``synapses``: an input group of
    ``settings.fan_in`` channels per population, all-to-all (``ampa``, :func:`weight_mask`), each
    channel a regular train at the row's rate (Hz) in each window, with a phase drawn per channel
    from ``SeedSequence(seed)`` (regular trains: the input itself has no rate noise).
    """
    populations, steps, inputs, connections = {}, [], {}, []
    for k, row in enumerate(np.atleast_2d(drives)):
        populations[f"p{k}"] = {"size": per_population, "core": 0}
        starts = settings.window * np.arange(row.size)
        if settings.task == "dc":
            steps += [DCStep(amplitude=float(a), population=f"p{k}", start=start, stop=start + settings.window)
                      for a, start in zip(row, starts)]
            continue
        trains = regular_trains(row, starts, settings.window, settings.fan_in, settings.seed)
        inputs[f"i{k}"] = {"size": settings.fan_in, "kind": "spike_array", "spike_times": trains}
        connections.append({"pre": f"i{k}", "post": f"p{k}", "rule": "all_to_all", "syn_type": "ampa",
                            "weight_mask": weight_mask(chip, settings.weight_fraction)})
    network = {"populations": populations, "inputs": inputs, "connections": connections}
    return Experiment(chip=chip_name, device_model=device_model, noise=device_model != "none", seed=settings.seed,
                      instances=instances, duration=duration, network={k: v for k, v in network.items() if v},
                      dc=tuple(steps), t_since_program=t_since_program, biases=tuple(biases))


def regular_trains(rates, starts, window, channels, seed):
    """Regular spike trains of ``channels`` channels, window by window at the given rates.

    Parameters
    ----------
    rates, starts : sequence of float
        Rate of every window, Hz (0: silent), and its start, s.
    window : float
        Length of every window, s.
    channels, seed : int
        Each channel has its own phase in [0, 1) of the period, drawn from ``SeedSequence(seed)``
        (the same phases in every window and every call with that seed).

    Returns
    -------
    list of ndarray
        Spike times of each channel, s, increasing.
    """
    phases = np.random.default_rng(np.random.SeedSequence(seed)).random(channels)
    return [np.concatenate([start + (phase + np.arange(int(np.floor(rate * window - phase)))) / rate
                            for rate, start in zip(rates, starts) if rate > 0] or [np.zeros(0)])
            for phase in phases]


def weight_mask(chip, fraction):
    """The weight mask nearest ``fraction`` of the chip's largest one (at least 1; a 1-bit chip: 1)."""
    return max(1, int(np.rint(fraction * ((1 << chip.weight_bits) - 1))))


def quantisation_error(chip, fraction):
    """Relative error of the realised weight: ``weight_mask / (fraction (2^bits - 1)) - 1``."""
    return weight_mask(chip, fraction) / (fraction * ((1 << chip.weight_bits) - 1)) - 1


DESIGN_RESOLUTION = 64
"""Factor by which the designed (ideal) digital neuron reads its input more finely than the chip
(``lif.i_lsb / 64``, ``lif.v_th x 64``: the same dynamics on a 64 x finer integer grid)."""


def design_biases(chip, settings):
    """Bias overrides of core 0 that give ``chip`` the task's exact target weight (task ``synapses``).

    The weight currents ``synapse.i_w_*`` are scaled by ``fraction (2^bits - 1) / weight_mask``, so
    the mask delivers the continuous target ``fraction`` of full scale; a digital neuron
    (``lif`` block), whose input is an integer number of ``lif.i_lsb``, also reads it
    :data:`DESIGN_RESOLUTION` times more finely. This is the chip as designed, before its weight
    bits round the weight: the nominal decoder is built on it, so the rounding shows.

    Returns
    -------
    tuple of (int, str, float)
    """
    if settings.task != "synapses":
        return ()
    scale = 1 + quantisation_error(chip, settings.weight_fraction)
    out = [(0, name, float(values[0]) / scale) for name, values in chip.biases.items() if name.startswith("synapse.i_w")]
    if "lif.i_lsb" in chip.biases:
        out += [(0, "lif.i_lsb", float(chip.biases["lif.i_lsb"][0]) / DESIGN_RESOLUTION),
                (0, "lif.v_th", float(chip.biases["lif.v_th"][0]) * DESIGN_RESOLUTION)]
    return tuple(out)


def _fires(chip_name, chip, settings, amplitudes, design):
    exp = _experiment(chip_name, chip, settings, "none", amplitudes[:, None], settings.window,
                      biases=design_biases(chip, settings) if design else ())
    sim = Simulation(exp, ideal_crossbar=True)
    sim.advance(exp.duration, progress=False)
    _, neurons, _ = sim.spikes()
    counts = np.bincount(neurons, minlength=chip.neurons_per_core)[:amplitudes.size]
    return counts >= 2


def threshold(chip_name, settings, design=False):
    """Smallest drive that makes a nominal neuron of the chip fire twice within one window.

    Task ``dc``: the rheobase, A; task ``synapses``: the input rate per channel, Hz. ``design``:
    on the chip as designed (:func:`design_biases`).
    """
    settings = settings.resolved()
    chip = load_chip(chip_name)
    size = min(GRID, chip.neurons_per_core)
    grid = np.geomspace(1e-15, MAX_DC, size) if settings.task == "dc" else np.geomspace(1.0, MAX_RATE, size)
    fires = _fires(chip_name, chip, settings, grid, design)
    if not fires.any():
        expected = ("a neuron that fires under a DC step below 100 uA" if settings.task == "dc" else
                    f"a neuron that fires with {settings.fan_in} inputs at {MAX_RATE:g} Hz (raise fan_in or weight_fraction)")
        raise ConfigError([Problem(chip_name, "threshold", None, expected)], "substrates study")
    high = int(np.argmax(fires))
    low, high = (grid[high - 1] if high else 0.0), grid[high]
    for _ in range(2):
        grid = np.linspace(low, high, size)
        fires = _fires(chip_name, chip, settings, grid, design)
        first = int(np.argmax(fires))
        low, high = grid[max(first - 1, 0)], grid[first]
    return float(high)


def _run(chip_name, chip, settings, device_model, drives, trims=None, t_since_program=0.0, nominal=False):
    """Rates (instance, neuron, level), Hz, of ``settings.neurons`` neurons under the drive levels.

    ``nominal``: the chip as designed (:func:`design_biases`, a crossbar at its target weights).
    """
    exp = _experiment(chip_name, chip, settings, device_model, [drives], settings.window * len(drives),
                      per_population=settings.neurons, instances=settings.instances, t_since_program=t_since_program,
                      biases=design_biases(chip, settings) if nominal else ())
    sim = Simulation(exp, trims=trims, ideal_crossbar=nominal)
    sim.advance(exp.duration, progress=False)
    ds = sim.dataset(command="mixsig.study substrates")
    starts = settings.window * np.arange(len(drives))
    counts = interval_counts(ds, starts + settings.settle, starts + settings.window)
    return counts / (settings.window - settings.settle), ds


def decoding_error(rates, nominal, levels, sizes, seed=0, partitions=16):
    """Rms decoding error of ``x`` versus the group size, with the nominal rate curve as decoder.

    Parameters
    ----------
    rates : ndarray, shape (instance, neuron, level)
    nominal : ndarray, shape (level,)
        Rate of the nominal chip at each level (increasing), Hz.
    levels : ndarray, shape (level,)
    sizes : sequence of int
    seed, partitions : int
        Random partitions of the neurons into groups.

    Returns
    -------
    ndarray, shape (size,)
        Rms of ``x_hat - x`` (``x`` the level scaled to [0, 1]).
    """
    x = (levels - levels[0]) / (levels[-1] - levels[0])
    order = np.argsort(nominal, kind="stable")
    rng = np.random.default_rng(seed)
    n_inst, n_neur, _ = rates.shape
    out = []
    for n in sizes:
        groups = n_neur // n
        total = 0.0
        for _ in range(partitions):
            pick = rng.permutation(n_neur)[:groups * n]
            means = rates[:, pick, :].reshape(n_inst, groups, n, -1).mean(axis=2)
            estimate = np.interp(means, nominal[order], x[order])
            total += np.mean((estimate - x) ** 2)
        out.append(np.sqrt(total / partitions))
    return np.array(out)


def _conditions(settings):
    """``(label, chip name, trim bits or None, time since programming in s)`` of every condition."""
    out = []
    for name in settings.chips:
        chip = load_chip(name)
        label = chip.name
        if chip.capmem is not None:
            out.append((f"{label} uncalibrated", name, None, 0.0))
            out += [(f"{label} calibrated {bits} bit", name, bits, 0.0) for bits in settings.trim_bits]
        elif chip.crossbar is not None and settings.task == "synapses":
            out += [(f"{label} {t:g} s after programming", name, None, float(t)) for t in settings.t_since_program]
        else:
            out.append((label, name, None, 0.0))
    return out


def substrates(settings=None, output=None, progress=None, **changes):
    """Run the substrates study (module docstring).

    Parameters
    ----------
    settings : SubstratesSettings, optional
    output : str, optional
        Folder for datasets, results, summary and figures (nothing written when None).
    progress : bool, optional
        Progress bar over the conditions.
    **changes
        Fields of :class:`SubstratesSettings` to change.

    Returns
    -------
    StudyResult
    """
    from mixsig.calibrate import calibrate

    settings = dataclasses.replace(settings or SubstratesSettings(), **changes)
    raise_if_any(settings.problems(), "substrates study")
    settings = settings.resolved()
    levels = np.asarray(settings.levels, dtype=float)
    conditions = _conditions(settings)
    rates, datasets, decoders, drives = {}, {}, {}, {}
    with counting(len(conditions), "condition", show=progress) as done:
        for label, name, bits, t_since_program in conditions:
            chip = load_chip(name)
            if name not in drives:
                drives[name] = threshold(name, dataclasses.replace(settings, window=THRESHOLD_WINDOW), design=True) * levels
                decoders[name] = _run(name, chip, settings, "none", drives[name], nominal=True)[0].mean(axis=(0, 1))
            trims = None
            if bits is not None:
                base = Experiment(chip=name, device_model=_device_model(chip), seed=settings.seed,
                                  instances=settings.instances)
                trims = calibrate(name, experiment=base, bits=bits, per_core=settings.neurons).trims
            rates[label], ds = _run(name, chip, settings, _device_model(chip), drives[name], trims, t_since_program)
            datasets[f"substrates-{label.replace(' ', '-')}"] = ds
            done()
    return _result(settings, conditions, rates, decoders, drives, datasets, output)


def _result(settings, conditions, rates, decoders, drives, datasets, output):
    labels = [c[0] for c in conditions]
    quantisation = {c[1]: quantisation_error(load_chip(c[1]), settings.weight_fraction) if settings.task == "synapses"
                    else np.nan for c in conditions}
    levels = np.asarray(settings.levels, dtype=float)
    middle = len(levels) // 2
    cv, enob, error = [], [], []
    for label, name, *_ in conditions:
        values = xr.DataArray(rates[label][:, :, middle], dims=("instance", "neuron"),
                              attrs={"units": "Hz", "long_name": "rate at the middle level"})
        try:
            table = cv_versus_population_size(values, sizes=settings.sizes, seed=settings.seed)
            cv.append(table["cv_within"].values)
            enob.append(table["enob_within"].values)
        except ConfigError:  # fewer than two firing neurons
            cv.append(np.full(len(settings.sizes), np.nan))
            enob.append(np.full(len(settings.sizes), np.nan))
        error.append(decoding_error(rates[label], decoders[name], levels, settings.sizes, seed=settings.seed))
    coords = {"condition": ("condition", labels, {"units": "1", "long_name": "chip and calibration"}),
              "n_pop": ("n_pop", np.asarray(settings.sizes), {"units": "1", "long_name": "neurons averaged per group"}),
              "level": ("level", levels, {"units": "1", "long_name": "drive, multiples of the nominal threshold drive"}),
              "trim_bits": ("condition", [c[2] if c[2] is not None else 0 for c in conditions],
                            {"units": "bit", "long_name": "trim resolution (0: not calibrated)"}),
              "t_since_program": ("condition", [c[3] for c in conditions],
                                  {"units": "s", "long_name": "time since the crossbar was programmed (0: no crossbar)"})}
    results = xr.Dataset({
        "cv_within": (("condition", "n_pop"), np.array(cv), {"units": "1", "long_name": "CV of group-mean rates within an instance"}),
        "enob_within": (("condition", "n_pop"), np.array(enob), {"units": "bit", "long_name": "ENOB of group-mean rates"}),
        "decoding_rmse": (("condition", "n_pop"), np.array(error), {"units": "1", "long_name": "rms decoding error of x in [0, 1]"}),
        "decoder_invertible": (("condition",), np.array([bool(np.all(np.diff(decoders[c[1]]) > 0)) for c in conditions]),
                               {"units": "1", "long_name": "nominal rate strictly increasing with the level "
                                                           "(else the decoding error is not meaningful)"}),
        "weight_quantisation_error": (("condition",), np.array([quantisation[c[1]] for c in conditions]), {
            "units": "1", "long_name": "relative error of the synaptic weight rounded to the chip's weight bits "
                                       "(NaN: task dc)"}),
        "rate_mean": (("condition", "level"), np.array([rates[label].mean(axis=(0, 1)) for label in labels]),
                      {"units": "Hz", "long_name": "mean rate"}),
        "threshold": (("condition",), np.array([drives[c[1]][0] / levels[0] for c in conditions]),
                      {"units": "A" if settings.task == "dc" else "Hz",
                       "long_name": "rheobase of the nominal chip" if settings.task == "dc" else
                       "input rate per channel at which the nominal chip's neuron fires"}),
    }, coords=coords, attrs={"study": "substrates", "task": settings.task, "enob_convention": "levels"})
    summary = {"settings": settings_dict(settings),
               "decoder_not_invertible": [label for label, ok in zip(labels, results["decoder_invertible"].values) if not ok],
               "decoding_rmse": {label: dict(zip(map(int, settings.sizes), map(float, row)))
                                 for label, row in zip(labels, error)},
               "cv_within_n1": {label: float(row[0]) for label, row in zip(labels, cv)},
               "weight_quantisation_error": {c[1]: float(quantisation[c[1]]) for c in conditions}}
    result = StudyResult(results=results, datasets=datasets, summary=summary)
    if output is not None:
        write_outputs(output, "substrates", result, _figures(results))
    return result


def _figures(results):
    labels = list(results["condition"].values)
    n = results["n_pop"].values

    def versus_n(variable, ylabel, log):
        def draw(ax):
            for label in labels:
                values = results[variable].sel(condition=label).values
                if variable == "decoding_rmse" and not results["decoder_invertible"].sel(condition=label):
                    label = f"{label} (nominal curve not increasing)"
                exact = np.all(values < 1e-9) if log else np.all(np.isinf(values))
                if exact:  # a chip without mismatch (digital): error 0 (rounding), ENOB infinite
                    ax.plot([], [], marker="o", label=f"{label}: {'0' if log else 'unbounded'} (no mismatch)")
                else:
                    ax.plot(n, values, marker="o", label=label)
            ax.set_xscale("log", base=2)
            if log:
                ax.set_yscale("log")
            ax.set_xlabel("neurons averaged N")
            ax.set_ylabel(ylabel)
            ax.legend(fontsize="small")
        return draw

    def versus_bits(ax):
        bits = results["trim_bits"].values
        calibrated = bits > 0
        for size in (n[0], n[-1]):
            line, = ax.plot(bits[calibrated], results["decoding_rmse"].sel(n_pop=size).values[calibrated], marker="o",
                            label=f"calibrated, N = {size}")
            for label in [l for l, b in zip(labels, bits) if b == 0 and "uncalibrated" in l]:
                ax.axhline(float(results["decoding_rmse"].sel(condition=label, n_pop=size)), linestyle="--",
                           color=line.get_color(), label=f"{label}, N = {size}")
        ax.set_yscale("log")
        ax.set_xlabel("trim resolution, bits")
        ax.set_ylabel("rms decoding error of x")
        ax.legend(fontsize="small")

    def versus_time(ax):
        times = results["t_since_program"].values
        for size in (n[0], n[-1]):
            ax.plot(times[times > 0], results["decoding_rmse"].sel(n_pop=size).values[times > 0], marker="o",
                    label=f"crossbar, N = {size} (no drift compensation)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("time since programming, s")
        ax.set_ylabel("rms decoding error of x")
        ax.legend(fontsize="small")

    figures = [("substrates-enob", versus_n("enob_within", "ENOB of the mean rate, bit", False)),
               ("substrates-decoding", versus_n("decoding_rmse", "rms decoding error of x", True))]
    if np.any(results["trim_bits"].values > 0):
        figures.append(("substrates-trim-bits", versus_bits))
    if np.count_nonzero(results["t_since_program"].values > 0) > 1:
        figures.append(("substrates-drift", versus_time))
    return figures
