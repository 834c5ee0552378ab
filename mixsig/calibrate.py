"""Per-neuron calibration: measure every emulated neuron and search its CapMem trim codes.

As BrainScaleS-2's calibration (``calix``) does on the chip, each trimmable parameter of every
neuron of every instance is brought to a target by a successive-approximation (binary) search over
its CapMem code (:mod:`mixsig.chip.capmem`), measuring the neuron after each trial with an emulated
experiment: the search decides one code bit per iteration, most significant first, keeping the bit
when the measurement stays on the target's side of it; a last pair of measurements picks the
nearer of the two codes that bracket the target. Every neuron and instance is searched at once
(one simulation per protocol and iteration, no Python per neuron).

Measurement protocols (all in model time; ``a = 0`` so the adaptation current is only the
spike-triggered one):

* **passive** (spikes off: ``V_T`` and ``V_cut`` out of range; no input for ``t_on``, then a DC
  step ``g_L,nom x DEFLECTION``): the *leak potential* is the mean membrane potential over
  ``[t_on / 5, t_on)``; the *membrane time constant* from the means ``m_0, m_1, m_2`` of the
  potential over three windows of length ``h = tau_target`` after the step: for
  ``V = V_inf - D exp(-t/tau)`` the window means differ by ``(m_2 - m_1)/(m_1 - m_0) = exp(-h/tau)``,
  so ``tau = -h / ln((m_2 - m_1)/(m_1 - m_0))``, whatever ``V_inf`` and ``D`` are;
* **drive** (leak potential and conductance at their nominal cells; the exponential term moved
  out of range, ``V_T = V_T_OFF``; a DC current ``g_L,nom x DRIVE`` above threshold, sampled every
  :data:`DRIVE_DT`): the *spike threshold* is the membrane potential at the spike times (the
  comparator's events carry exact times): a straight line fitted to the :data:`FIT_SAMPLES`
  samples before each spike, evaluated at the spike, averaged over the neuron's spikes (the
  rise's curvature over those 0.2 ms moves it by under 0.1 mV); the *adaptation increment* from
  the adaptation current ``w`` after the first spike ``t_1``: the mean of
  ``w(t_s) exp((t_s - t_1)/tau_w)`` over the :data:`W_SAMPLES` samples after it (``a = 0``, so
  ``w = 0`` before it and decays with ``tau_w`` after).

Readout noise: every sample of the membrane potential gets :data:`READOUT_SIGMA_V` and every
sample of ``w`` a relative :data:`READOUT_SIGMA_W` of the target, drawn per instance from
``SeedSequence(seed, spawn_key=(instance, PURPOSE_READOUT, iteration, protocol))``. The residual
after calibration is then set by the DAC step (half a code) and by this noise.
"""

import dataclasses
import types

import numpy as np

from mixsig.chip import load_chip
from mixsig.chip.capmem import MAX_BITS, lsb
from mixsig.device.mismatch import PURPOSE_READOUT, instance_seed_sequence
from mixsig.engine.simulation import Simulation
from mixsig.errors import ConfigError, Problem, is_int
from mixsig.experiment import DCStep, Experiment, Record
from mixsig.trims import Trims

QUANTITIES = {
    "adex.e_l": ("leak potential", "V", +1),
    "adex.g_l": ("membrane time constant", "s", -1),
    "adex.v_cut": ("spike threshold", "V", +1),
    "adex.b": ("adaptation increment", "A", +1),
}
"""Measured quantity of each trimmable parameter: (name, units, sign of d quantity / d code)."""

DEFLECTION = 0.2
"""Passive protocol: DC step as a voltage over the nominal leak conductance, V."""

DRIVE = 1.2
"""Drive protocol: DC current as a voltage over the nominal leak conductance, V: the membrane
heads for ``e_l + DRIVE g_L,nom / g_L``, above every threshold trial of the search for any leak
conductance within 4 sigma of its spread (a neuron that cannot fire leaves its increment unmeasured)."""

V_T_OFF = 2.0
"""Drive protocol: ``V_T`` far above every threshold (the exponential term off), V."""

DRIVE_DT = 1e-5
"""Sample interval (and step) of the drive protocol, s of model time."""

DRIVE_DURATION = 0.02
"""Drive protocol length, s of model time (about three inter-spike intervals at nominal values)."""

FIT_SAMPLES = 20
"""Drive protocol: samples before each spike fitted by a line, extrapolated to the spike time."""

W_SAMPLES = 10
"""Drive protocol: samples of ``w`` after the first spike averaged (each corrected for its decay)."""

READOUT_SIGMA_V = 2e-3
"""Readout noise per membrane-potential sample, V [asm: an 8-bit column ADC over ~1.2 V (4.7 mV LSB,
1.4 mV rms quantisation) plus amplifier noise]."""

READOUT_SIGMA_W = 0.02
"""Readout noise per adaptation-current sample, relative to the target [asm]."""


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` returns.

    Attributes
    ----------
    trims : mixsig.trims.Trims
        The codes found and the quantities measured with them (every board neuron; NaN measured
        where not calibrated).
    neurons : ndarray of int64
        Board indices of the calibrated neurons: the columns of the arrays below.
    before : mapping of str to ndarray, shape (instance, calibrated neuron)
        Each quantity measured with every cell at its nominal value (uncalibrated), SI units.
    true_before, true_after : mapping of str to ndarray, shape (instance, neuron)
        The quantities as they are in the emulated neurons, before and after calibration (what
        the measurement estimates; its errors are the difference).
    targets : mapping of str to float
        Target of each quantity, SI units.
    lsb : mapping of str to float
        Step of the quantity per code near the target (nominal device), SI units.
    """

    trims: Trims
    neurons: np.ndarray
    before: types.MappingProxyType
    true_before: types.MappingProxyType
    true_after: types.MappingProxyType
    targets: types.MappingProxyType
    lsb: types.MappingProxyType

    def residual(self, name):
        """Measured minus target after calibration, shape (instance, calibrated neuron), SI units."""
        return self.trims.measured[name][:, self.neurons] - self.targets[name]

    def summary(self):
        """One line per parameter: spread before and residual after calibration."""
        lines = []
        for name, (quantity, units, _) in QUANTITIES.items():
            if name not in self.targets:
                continue
            before = self.true_before[name] - self.targets[name]
            after = self.true_after[name] - self.targets[name]
            lines.append(f"  {quantity:<24} target {self.targets[name]:.4g} {units}: rms error "
                         f"{_rms(before):.3g} before, {_rms(after):.3g} after (measured {_rms(self.residual(name)):.3g}; "
                         f"max |error| {np.nanmax(np.abs(after)):.3g}; one code = {self.lsb[name]:.3g} {units})")
        return "\n".join(lines)


def _rms(error):
    return float(np.sqrt(np.nanmean(error ** 2)))


def _nominal(chip, name):
    return float(chip.biases[name][0])


def targets_of(chip):
    """Default targets: the chip's nominal values (``tau = c_m / g_l`` for ``adex.g_l``), SI units."""
    targets = {}
    for name in chip.capmem.names:
        if name not in QUANTITIES:
            continue
        targets[name] = _nominal(chip, "adex.c_m") / _nominal(chip, name) if name == "adex.g_l" else _nominal(chip, name)
    return targets


def _base(chip, experiment, instances):
    exp = experiment if experiment is not None else Experiment(chip=chip.source if not chip.source.startswith(
        "chip_configs/") else chip.name, device_model=chip.device_model)
    if load_chip(exp.chip).name != chip.name:
        raise ConfigError([Problem(exp.source, "chip", exp.chip, f"the chip being calibrated ({chip.name})")], "calibration")
    return exp.replace(instances=instances or exp.instances, noise=False, biases=(), dc=(), trims="")


def _network(chip, per_core):
    return {"populations": {f"core{c}": {"size": per_core, "core": c} for c in range(chip.n_cores)}}


def calibrated_neurons(chip, per_core=None):
    """Board indices of the neurons calibration measures: the first ``per_core`` of every core (default all)."""
    per_core = chip.neurons_per_core if per_core is None else per_core
    return (np.arange(chip.n_cores)[:, None] * chip.neurons_per_core + np.arange(per_core)[None, :]).ravel()


def _protocols(chip, base, targets, per_core):
    """The passive and drive experiments (every neuron of one chip recorded)."""
    g_l, tau_w = _nominal(chip, "adex.g_l"), _nominal(chip, "adex.tau_w")
    h = targets.get("adex.g_l", _nominal(chip, "adex.c_m") / g_l)
    t_on = 2 * h
    neurons = tuple(int(n) for n in calibrated_neurons(chip, per_core))
    network = _network(chip, per_core)
    dc = tuple(DCStep(amplitude=g_l * DEFLECTION, population=p, start=t_on) for p in network["populations"])
    off = ((None, "adex.a", 0.0),)
    high = chip.capmem.ranges["adex.v_cut"][1] + DRIVE if "adex.v_cut" in chip.capmem.ranges else V_T_OFF
    silent = ((None, "adex.v_t", V_T_OFF), (None, "adex.v_cut", high))  # no spike, whatever e_l's trial code
    passive = base.replace(network=network, biases=off + silent, dc=dc, duration=t_on + 3 * h,
                           record=Record(traces=("v_mem",), neurons=neurons, interval=base.dt))
    drive_dc = tuple(DCStep(amplitude=g_l * DRIVE, population=p) for p in network["populations"])
    drive = base.replace(network=network, biases=off + ((None, "adex.v_t", V_T_OFF),), dc=drive_dc,
                         dt=DRIVE_DT, duration=DRIVE_DURATION,
                         record=Record(traces=("v_mem", "i_ahp"), neurons=neurons, interval=DRIVE_DT))
    return passive, drive, h, t_on, tau_w


PASSIVE = ("adex.e_l", "adex.g_l")
"""Parameters the passive protocol measures (its runs take only their codes)."""


def _subset(trims, names):
    """``trims`` with the codes of ``names`` only (the others at the chip's nominal values)."""
    keep = {n: trims.codes[n] for n in trims.codes if n in names}
    return dataclasses.replace(trims, codes=types.MappingProxyType(keep),
                               measured=types.MappingProxyType({n: trims.measured[n] for n in keep}))


def _noise(seed, instances, iteration, protocol, shape):
    """Standard normals of shape ``(instance, *shape)``, one stream per instance."""
    return np.stack([np.random.default_rng(instance_seed_sequence(seed, int(i), PURPOSE_READOUT, iteration, protocol))
                     .standard_normal(shape) for i in instances])


def _trace(simulation, name):
    """Recorded trace ``(instance, neuron, time)`` of a finished simulation, with its sample times."""
    samples = np.stack(simulation.trace_samples[name], axis=-1)
    return samples.reshape(simulation.n_instances, -1, samples.shape[-1]), np.asarray(simulation.trace_times)


def measure(chip, base, trims, targets, iteration=0, per_core=None):
    """Measure every neuron with the given codes.

    Parameters
    ----------
    chip : ChipConfig
    base : Experiment
        Seed, device model, corner, instances and temperature of the chips.
    trims : Trims
        Codes of the trimmable parameters.
    targets : mapping of str to float
        Targets (set the passive protocol's window, ``tau`` target).
    iteration : int
        Index of the measurement (selects the readout-noise streams).
    per_core : int, optional
        Measure the first ``per_core`` neurons of every core (:func:`calibrated_neurons`; default all).

    Returns
    -------
    measured, true : dict of str to ndarray, shape (instance, calibrated neuron)
        The quantity of each trimmable parameter (:data:`QUANTITIES`, SI units) as measured
        (readout noise and the protocols' own errors included) and as it is in the emulated neuron.
    """
    per_core = chip.neurons_per_core if per_core is None else per_core
    passive, drive, h, t_on, tau_w = _protocols(chip, base, targets, per_core)
    columns = calibrated_neurons(chip, per_core)
    seed, instances = base.seed, trims.instances
    out = {}
    sim = Simulation(passive, instances=instances, trims=_subset(trims, PASSIVE))
    sim.advance(passive.duration, progress=False)
    v, times = _trace(sim, "v_mem")
    v = v + READOUT_SIGMA_V * _noise(seed, instances, iteration, 0, v.shape[1:])
    rest = (times >= t_on / 5) & (times < t_on)
    true = _true(sim)
    out["adex.e_l"] = v[..., rest].mean(axis=-1)
    means = [v[..., (times > t_on + k * h) & (times <= t_on + (k + 1) * h)].mean(axis=-1) for k in range(3)]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["adex.g_l"] = -h / np.log((means[2] - means[1]) / (means[1] - means[0]))
    sim = Simulation(drive, instances=instances, trims=_subset(trims, set(trims.codes) - set(PASSIVE)))
    sim.advance(drive.duration, progress=False)
    v, times = _trace(sim, "v_mem")
    w, _ = _trace(sim, "i_ahp")
    v = v + READOUT_SIGMA_V * _noise(seed, instances, iteration, 1, v.shape[1:])
    b_target = targets.get("adex.b", _nominal(chip, "adex.b"))
    w = w + READOUT_SIGMA_W * abs(b_target) * _noise(seed, instances, iteration, 2, w.shape[1:])
    spike_i, spike_n, spike_t = sim.spikes()
    row, spike_n = np.searchsorted(instances, spike_i), np.searchsorted(columns, spike_n)
    out["adex.v_cut"] = _threshold(v, times, row, spike_n, spike_t)
    out["adex.b"] = _increment(w, times, row, spike_n, spike_t, tau_w)
    true.update({n: v for n, v in _true(sim).items() if n not in PASSIVE})
    return {n: out[n] for n in trims.codes}, {n: true[n] for n in trims.codes}


def _true(sim):
    """The actual parameters of a simulation's neurons as the quantities of :data:`QUANTITIES`, (instance, neuron)."""
    values = sim.values
    true = {name: values[name] for name in QUANTITIES if name in values}
    true["adex.g_l"] = values["adex.c_m"] / values["adex.g_l"]
    return true


def _threshold(v, times, row, neuron, spike_t):
    """Membrane potential at the spikes (a line through the samples before each), mean per neuron; NaN without spikes."""
    dt = times[1] - times[0]
    last = np.searchsorted(times, spike_t, side="right") - 1  # last sample at or before the spike
    ok = last >= FIT_SAMPLES - 1
    last, row, neuron, spike_t = last[ok], row[ok], neuron[ok], spike_t[ok]
    index = last[:, None] - np.arange(FIT_SAMPLES)[::-1][None, :]
    x = (times[index] - spike_t[:, None]) / dt
    y = v[row[:, None], neuron[:, None], index]
    xm, ym = x.mean(axis=1), y.mean(axis=1)
    slope = ((x - xm[:, None]) * (y - ym[:, None])).sum(axis=1) / ((x - xm[:, None]) ** 2).sum(axis=1)
    return _per_neuron(v.shape[:2], row, neuron, ym - slope * xm)


def _per_neuron(shape, row, neuron, values):
    """Mean of ``values`` per ``(row, neuron)``, NaN where there is none."""
    flat = row * shape[1] + neuron
    total = np.bincount(flat, weights=values, minlength=shape[0] * shape[1])
    count = np.bincount(flat, minlength=shape[0] * shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).reshape(shape)


def _increment(w, times, row, neuron, spike_t, tau_w):
    """Adaptation increment from ``w`` after each neuron's first spike (module docstring); NaN without one."""
    order = np.lexsort((spike_t, neuron, row))
    row, neuron, spike_t = row[order], neuron[order], spike_t[order]
    first = np.ones(row.size, dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (neuron[1:] != neuron[:-1])
    row, neuron, spike_t = row[first], neuron[first], spike_t[first]
    after = np.searchsorted(times, spike_t, side="right")
    ok = after + W_SAMPLES <= times.size
    row, neuron, spike_t, after = row[ok], neuron[ok], spike_t[ok], after[ok]
    index = after[:, None] + np.arange(W_SAMPLES)[None, :]
    corrected = w[row[:, None], neuron[:, None], index] * np.exp((times[index] - spike_t[:, None]) / tau_w)
    return _per_neuron(w.shape[:2], row, neuron, corrected.mean(axis=1))


def calibrate(chip_name, experiment=None, instances=None, targets=None, bits=None, per_core=None):
    """Find every neuron's CapMem codes (successive approximation) and measure the result.

    Parameters
    ----------
    chip_name : str
        A chip config with ``[capmem]`` cells (e.g. ``"brainscales2"``).
    experiment : Experiment, optional
        Supplies the seed, device model, corner, mismatch scale, temperature and instances of the
        chips to calibrate (default: the chip's device model, seed 0, one instance).
    instances : int, optional
        Number of instances (overrides the experiment's).
    targets : mapping of str to float, optional
        Targets of the quantities (:data:`QUANTITIES`; default :func:`targets_of`).
    bits : int, optional
        Trim resolution (default the chip's ``capmem.bits``), for resolution studies.
    per_core : int, optional
        Calibrate only the first ``per_core`` neurons of every core (the others keep their nominal
        cells' codes and NaN measurements; default all), for studies of part of a chip.

    Returns
    -------
    CalibrationResult
    """
    chip = load_chip(chip_name)
    if chip.capmem is None:
        raise ConfigError([Problem(chip.source, "capmem", None, "a chip with trimmable parameters ([capmem])")],
                          "calibration")
    if bits is not None and not (is_int(bits) and 1 <= bits <= MAX_BITS):
        raise ConfigError([Problem("<calibration>", "bits", bits, f"an integer in [1, {MAX_BITS}] (trim bits)")],
                          "calibration")
    base = _base(chip, experiment, instances)
    cells = chip.capmem if bits is None else chip.capmem.with_bits(bits)
    goal = {**targets_of(chip), **(targets or {})}
    names = tuple(n for n in cells.names if n in QUANTITIES)
    ids = np.arange(base.instances, dtype=np.int64)
    shape = (ids.size, chip.neurons_per_chip)

    def trims_with(codes, measured=None):
        return Trims(chip=chip.name, device_model=base.device_model, corner=base.corner, seed=base.seed,
                     bits=cells.bits, instances=ids, codes=types.MappingProxyType(codes),
                     measured=types.MappingProxyType(measured or {n: np.full(shape, np.nan) for n in codes}),
                     targets=types.MappingProxyType({n: goal[n] for n in codes}))

    ideal = {n: np.broadcast_to(cells.ideal_code(n, _nominal(chip, n)), shape).copy() for n in names}
    columns = calibrated_neurons(chip, per_core)

    def run(codes, iteration):
        full = {n: ideal[n].copy() for n in names}
        for n in names:
            full[n][:, columns] = codes[n]
        return measure(chip, base, trims_with(full), goal, iteration=iteration, per_core=per_core)

    before, true_before = run({n: ideal[n][:, columns] for n in names}, 0)
    codes = {n: np.zeros((ids.size, columns.size), dtype=np.int64) for n in names}
    for k, bit in enumerate(reversed(range(cells.bits))):
        trial = {n: codes[n] | (1 << bit) for n in names}
        got, _ = run(trial, k + 1)
        for n in names:
            sign = QUANTITIES[n][2]
            keep = sign * (got[n] - goal[n]) <= 0  # still on the low side of the target (NaN: not kept)
            codes[n] = np.where(keep, trial[n], codes[n])
    low, true_low = run(codes, cells.bits + 1)
    high_codes = {n: np.minimum(codes[n] + 1, cells.max_code) for n in names}
    high, true_high = run(high_codes, cells.bits + 2)
    final, measured, true = {}, {}, {}
    for n in names:
        pick_high = np.abs(high[n] - goal[n]) < np.abs(low[n] - goal[n])
        final[n] = ideal[n].copy()
        final[n][:, columns] = np.where(pick_high, high_codes[n], codes[n])
        measured[n] = np.full(shape, np.nan)
        measured[n][:, columns] = np.where(pick_high, high[n], low[n])
        true[n] = np.where(pick_high, true_high[n], true_low[n])
    steps = {n: _quantity_step(chip, cells, n, goal[n]) for n in names}
    return CalibrationResult(trims=trims_with(final, measured), neurons=columns, before=types.MappingProxyType(before),
                             true_before=types.MappingProxyType(true_before), true_after=types.MappingProxyType(true),
                             targets=types.MappingProxyType({n: goal[n] for n in names}),
                             lsb=types.MappingProxyType(steps))


def _quantity_step(chip, cells, name, target):
    """Change of the measured quantity per code at the target (nominal device), SI units."""
    step = lsb(cells, name)
    if name == "adex.g_l":  # tau = c_m / g_l: d tau = tau^2 / c_m d g_l
        return target ** 2 / _nominal(chip, "adex.c_m") * step
    return step
