"""Population coding of a scalar on the emulated chip: decoding error versus N, linear Fisher information.

Protocol (physics reference section 7.2, E2 and E3)
---------------------------------------------------
A scalar ``x`` in ``[-1, 1]`` is encoded as input rates: neuron ``a`` of a population on core 0
receives its own Poisson input channel (one-to-one AMPA connection with the chip's strongest
weight: every weight bit set, the chip's own weight currents; ``weight`` scales the calibrated
current of the highest bit, then the only bit set). Two encodings are offered:

* ``nef`` (default), the recipe of the Neural Engineering Framework (Eliasmith & Anderson 2003)::

      r_a(x) = rate_max g_a max(0, e_a x - b_a) / (1 - b_a)

  with encoders ``e_a = +1`` (even ``a``) and ``-1`` (odd ``a``), x-intercepts ``b_a`` uniform on
  ``intercepts`` and input gains ``g_a`` uniform on ``gains`` (the input rate at ``e_a x = 1`` is
  ``g_a rate_max``). The tuning curves then form a diverse basis whatever the silicon does, the
  static (distortion) error of a linear decoder falls as ``1/N`` and the noise error, which falls
  as ``1/sqrt(N)``, dominates at large ``N``;
* ``linear``: ``r_a(x) = rate_max (1 + e_a x) / 2``. Every heterogeneity of the tuning curves
  then comes from the mismatched silicon. A few per cent of mismatch make a basis of two nearly
  identical shapes, so the linear decoder keeps a distortion floor that does not fall with ``N``
  (about 0.07 for ``generic_180nm``): the setting that shows how much, or how little, mismatch
  alone offers as a computational basis.

Each of ``levels`` stimulus values is presented ``repeats`` times in random order, as trials of
``settle + window`` seconds, the input being on throughout; spikes are counted in the last
``window`` seconds. The uncounted ``settle`` lets the population approach its response to the
new input: the emulated neurons' rate step response rises with a 30-40 ms component, and a
shorter pause leaves a memory of the previous stimulus that is common to every neuron of an
encoder sign and so does not average out with N (measured: with 0.1 s the population residual
correlates with the previous stimulus at r = 0.16-0.42, with 0.25 s at 0.10-0.15, within the
+-0.14 standard error of 54 trials). A DC bias
``soma.i_dc = dc_drive x rheobase`` (the chip's rheobase measured on its nominal neurons,
:func:`mixsig.studies.operating_point.measure_rheobase`, so the drive keeps its meaning when the
chip's operating point changes) sets the neurons near their threshold, where the input sets
the rate (default 2 x rheobase).

After these trials, ``fisher_trials`` counting windows at each of the two stimuli
``fisher_point -+ fisher_delta/2`` measure the linear Fisher information: blocks of
``fisher_block`` consecutive windows of ``window`` seconds, each block after its own ``settle``,
alternating between the two stimuli (so a slow drift of the chip cannot masquerade as a
stimulus effect). The counts of a window are one trial. The encoding parameters and the input trains
are drawn from the stimulus seed (``SeedSequence(seed, spawn_key=(PURPOSE_STIMULUS,))``) and
shared by every instance and condition (paired comparison). Two conditions are run:
``mismatch`` (the device model) and ``nominal`` (``device_model = "none"``: identical, noise-free
neurons; the variability left is the Poisson input).

Analysis, per instance, by leave-one-repeat-out cross-validation (tuning curves from the other
repeats, :func:`mixsig.analysis.coding.tuning_curves`):

* NEF decoders for random sub-populations of ``N`` neurons, least squares regularised by the
  *measured* single-trial rate variance (across repeats of a level, averaged over levels and
  neurons). The emulated neurons fire far more regularly than Poisson (count Fano factor about
  0.1 with the DC bias on), so the Poisson variance ``f/T`` would over-regularise them tenfold.
  ``rmse``: error on the held-out single trials; ``rmse_noise``: its noise part, the spread of a
  held-out estimate about the same decoder's estimate from the training curves, scaled by
  ``(R-1)/R`` for the noise of an ``R-1``-repeat mean (expected slope -1/2 in log-log: the
  decoded noise variance ``sum_a d_a^2 sigma_a^2`` falls as ``1/N``); ``rmse_static``: in-sample
  error of decoding the mean tuning curves (distortion and regularisation bias, falling about as
  ``1/N`` for a diverse basis); ``enob``: SINAD-based ENOB of the single-trial estimates
  (convention ``uniform``: ``log2(range / (RMSE sqrt(12)))`` with ``range = 2``; the stimulus
  levels are spread evenly over the range, not a sine);
* ML decoding of the held-out counts with the measured curves (PCHIP-interpolated) under a
  Poisson likelihood (``rmse_ml``, at the interior stimulus levels);
* linear Fisher information at ``fisher_point``, bias-corrected (Kanitscheider et al. 2015,
  :func:`mixsig.analysis.coding.linear_fisher_information`) from the *measured* covariance of
  the counts, for random sub-populations of each size: ``fisher_linear`` and its
  ``linear_threshold = 1/sqrt(I)``, the discrimination threshold (d' = 1) and the RMSE of the
  best locally unbiased linear read-out of one window. It needs no Poisson assumption (the
  emulated neurons are far more regular than Poisson, so the Poisson information ``T sum
  f'^2/f`` of the tuning curves is not a bound for them);
* reliability: decoders of all neurons trained on one instance and applied to another.
"""

import dataclasses

import numpy as np
import xarray as xr

from mixsig.analysis.coding import (
    decode, interpolate_curves, linear_fisher_information, ml_decode, nef_decoders, trial_rates,
)
from mixsig.analysis.stats import enob_uniform, interval_counts, loglog_slope
from mixsig.errors import raise_if_any
from mixsig.progress import counting
from mixsig.studies.operating_point import measure_rheobase
from mixsig.studies.output import (
    StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, write_outputs,
)

CONDITIONS = ("mismatch", "nominal")
SUMS = ("sq", "sq_noise", "sq_static", "sq_ml", "n", "n_static", "n_ml")  # accumulated over subsets and folds
ENCODINGS = ("nef", "linear")


def _is_range(value, low, high):
    """Whether ``value`` is a pair of real numbers ``(a, b)`` with ``low <= a <= b <= high``."""
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and low <= value[0] <= value[1] <= high)


@dataclasses.dataclass(frozen=True)
class PopulationSettings:
    """Parameters of the population-coding study (SI units).

    Attributes
    ----------
    device_model : str
        Calibration of the ``mismatch`` condition.
    instances : int
        Chip instances of the ``mismatch`` condition (>= 2 for the reliability test); the
        ``nominal`` condition runs one.
    neurons : int
        Population size on core 0.
    sizes : tuple of int
        Sub-population sizes ``N`` for the decoding error.
    subsets : int
        Random sub-populations per size.
    encoding : str
        ``"nef"`` (random intercepts and gains on the input rates) or ``"linear"`` (all
        heterogeneity from the silicon); see the module docstring.
    intercepts : tuple of float
        Range ``(low, high)`` of the x-intercepts ``b_a`` of the ``nef`` encoding, within (-1, 1).
    gains : tuple of float
        Range ``(low, high)`` of the input gains ``g_a`` of the ``nef`` encoding, within (0, 1].
    levels : int
        Stimulus values, evenly spaced on [-1, 1].
    repeats : int
        Presentations of each value (>= 2: leave-one-out cross-validation).
    window : float
        Counting window of a trial, s.
    settle : float
        Time at the start of each trial whose spikes are not counted, s.
    rate_max : float
        Input rate at the preferred end of the range, Hz.
    weight : float or None
        ``None`` (default): the input connection sets every weight bit and uses the chip's own
        weight currents; otherwise a factor (> 0, dimensionless) on the chip's calibrated weight
        current of its highest weight bit (``mask`` scheme) or its AMPA weight bias
        (``per_type`` scheme), in every core, and that is the only bit set. Relative, because an
        absolute current means a different synapse on every chip: 100 nA saturates the 1.46 pF
        DPI of the calibrated chips (per-pulse log gain 19).
    dc_drive : float
        DC bias of the population (``soma.i_dc``, mismatched like the chip's) in multiples of
        the measured rheobase (1; 0 switches it off).
    rheobase_window : float
        Observation time of the rheobase measurement, s.
    dt : float
        Engine step, s.
    seed : int
        Root seed (mismatch, noise and the input trains).
    chip : str
    noise : bool
        Temporal noise of the device model.
    grid : int
        Points of the ML decoder's stimulus grid.
    fisher_point : float
        Stimulus ``x0`` at which the linear Fisher information is measured.
    fisher_delta : float
        Difference ``dx`` of the two stimuli ``x0 -+ dx/2`` (both within [-1, 1]).
    fisher_trials : int
        Counting windows per stimulus (trials of the Fisher estimate; at least
        ``(max(sizes) + 5) / 2``).
    fisher_block : int
        Consecutive windows per block (a divisor of ``fisher_trials``).
    """

    device_model: str = "generic_180nm"
    instances: int = 2
    neurons: int = 64
    sizes: tuple = (4, 8, 16, 32, 64)
    subsets: int = 16
    encoding: str = "nef"
    intercepts: tuple = (-0.95, 0.95)
    gains: tuple = (0.5, 1.0)
    levels: int = 9
    repeats: int = 4
    window: float = 0.1
    settle: float = 0.25
    rate_max: float = 300.0
    weight: float = None
    dc_drive: float = 2.0
    rheobase_window: float = 1.0
    dt: float = 2e-4
    seed: int = 0
    chip: str = "dynapse2"
    noise: bool = True
    grid: int = 801
    fisher_point: float = 0.0
    fisher_delta: float = 0.25
    fisher_trials: int = 96
    fisher_block: int = 16

    def check(self):
        """Raise :class:`~mixsig.errors.ConfigError` listing every invalid setting."""
        rules = {
            "device_model": (lambda v: isinstance(v, str) and v != "", "a device model name"),
            "instances": (lambda v: is_int(v, 1), "an integer >= 1"),
            "neurons": (lambda v: is_int(v, 2), "an integer >= 2"),
            "sizes": (is_sequence_of(lambda v: is_int(v, 1) and v <= self.neurons), f"sizes in [1, neurons = {self.neurons}]"),
            "subsets": (lambda v: is_int(v, 1), "an integer >= 1"),
            "encoding": (lambda v: v in ENCODINGS, f"one of {', '.join(ENCODINGS)}"),
            "intercepts": (lambda v: _is_range(v, -1.0, 1.0) and v[1] < 1.0 and v[0] > -1.0, "(low, high) with -1 < low <= high < 1"),
            "gains": (lambda v: _is_range(v, 0.0, 1.0) and v[0] > 0.0, "(low, high) with 0 < low <= high <= 1"),
            "levels": (lambda v: is_int(v, 3), "an integer >= 3"),
            "repeats": (lambda v: is_int(v, 3), "an integer >= 3 (leave-one-out with a measured noise variance)"),
            "window": (is_positive, "a time > 0 s"),
            "settle": (lambda v: v == 0 or is_positive(v), "a time >= 0 s"),
            "rate_max": (is_positive, "a rate > 0 Hz"),
            "weight": (lambda v: v is None or is_positive(v), "none (the chip's weights) or a factor > 0 on the calibrated weight"),
            "dc_drive": (lambda v: v == 0 or is_positive(v), "a multiple of the rheobase >= 0"),
            "rheobase_window": (lambda v: is_positive(v) and v > self.dt, "a time > dt"),
            "dt": (lambda v: is_positive(v) and v < self.window, "a step > 0 s, shorter than window"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
            "noise": (lambda v: isinstance(v, bool), "true or false"),
            "grid": (lambda v: is_int(v, 11), "an integer >= 11"),
            "fisher_point": (lambda v: isinstance(v, (int, float)) and -1.0 < v < 1.0, "a stimulus in (-1, 1)"),
            "fisher_delta": (lambda v: is_positive(v) and abs(self.fisher_point) + v / 2 <= 1.0,
                             "a difference > 0 with fisher_point -+ fisher_delta/2 within [-1, 1]"),
            "fisher_trials": (lambda v: is_int(v, 3) and 2 * v >= max(self.sizes) + 5,
                              "an integer >= (max(sizes) + 5) / 2 (bias-corrected linear Fisher information)"),
            "fisher_block": (lambda v: is_int(v, 1) and self.fisher_trials % v == 0, "an integer >= 1 dividing fisher_trials"),
        }
        raise_if_any(settings_problems(self, rules, "<population>"), "population settings")

    @property
    def stimulus_values(self):
        """The stimulus levels, evenly spaced on [-1, 1]."""
        return np.linspace(-1.0, 1.0, self.levels)


def trial_schedule(settings):
    """Random order of the trials (drawn from the stimulus stream of ``settings.seed``).

    Parameters
    ----------
    settings : PopulationSettings

    Returns
    -------
    stimulus, starts, stops : ndarray, shape (trials,)
        Stimulus value (1) and counting-window start and stop (s) of each trial.
    rng : numpy.random.Generator
        The generator, for the Poisson trains.
    """
    from mixsig.device import PURPOSE_STIMULUS

    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(PURPOSE_STIMULUS,)))
    stimulus = rng.permutation(np.repeat(settings.stimulus_values, settings.repeats))
    length = settings.settle + settings.window
    onsets = np.concatenate([[0.0], np.cumsum(np.full(stimulus.size - 1, length))])  # onset + length: the next onset, exactly
    starts = onsets + settings.settle
    return stimulus, starts, starts + settings.window, rng


def fisher_schedule(settings, start):
    """Blocks and counting windows of the linear-Fisher-information part of the protocol.

    Parameters
    ----------
    settings : PopulationSettings
    start : float
        Time at which the first block starts (the end of the tuning trials), s.

    Returns
    -------
    blocks : tuple of ndarray, shape (blocks,)
        ``(onset, length, stimulus)`` of every block: s, s, 1.
    windows : tuple of ndarray, shape (2 * fisher_trials,)
        ``(stimulus, starts, stops)`` of every counting window.
    """
    n_blocks = 2 * settings.fisher_trials // settings.fisher_block
    stimulus = settings.fisher_point + np.where(np.arange(n_blocks) % 2 == 0, -0.5, 0.5) * settings.fisher_delta
    edges = np.empty((n_blocks, settings.fisher_block + 1))
    onset = np.empty(n_blocks)
    for b in range(n_blocks):  # each block starts at the previous one's last edge: shared edges are the same number
        onset[b] = start if b == 0 else edges[b - 1, -1]
        edges[b] = onset[b] + settings.settle + np.arange(settings.fisher_block + 1) * settings.window
    windows = (np.repeat(stimulus, settings.fisher_block), edges[:, :-1].ravel(), edges[:, 1:].ravel())
    return (onset, edges[:, -1] - onset, stimulus), windows


@dataclasses.dataclass(frozen=True)
class Encoding:
    """How the stimulus maps to each neuron's input rate.

    Attributes
    ----------
    kind : str
        ``"nef"`` or ``"linear"``.
    encoder : ndarray, shape (neurons,)
        Preferred direction ``e_a``: +1 for even, -1 for odd indices (1).
    intercept : ndarray, shape (neurons,)
        x-intercept ``b_a`` of the rectified ``nef`` encoding; ``nan`` for ``linear`` (1).
    gain : ndarray, shape (neurons,)
        Input rate at ``e_a x = 1`` as a fraction of ``rate_max`` (1).
    rate_max : float
        Hz.
    """

    kind: str
    encoder: np.ndarray
    intercept: np.ndarray
    gain: np.ndarray
    rate_max: float

    def rates(self, x):
        """Input rate of every neuron at stimulus values ``x``.

        Parameters
        ----------
        x : array_like, shape (K,)
            Stimulus values (1).

        Returns
        -------
        ndarray, shape (neurons, K)
            Poisson rates, Hz.
        """
        ex = self.encoder[:, None] * np.asarray(x, dtype=float)[None, :]
        if self.kind == "linear":
            return self.rate_max * self.gain[:, None] * (1.0 + ex) / 2.0
        b = self.intercept[:, None]
        return self.rate_max * self.gain[:, None] * np.maximum(0.0, ex - b) / (1.0 - b)


def draw_encoding(settings, rng):
    """Encoders, and for the ``nef`` encoding the intercepts and gains, of every neuron.

    Parameters
    ----------
    settings : PopulationSettings
    rng : numpy.random.Generator
        The stimulus stream (:func:`trial_schedule`).

    Returns
    -------
    Encoding
    """
    n = settings.neurons
    encoder = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    if settings.encoding == "linear":
        return Encoding("linear", encoder, np.full(n, np.nan), np.ones(n), float(settings.rate_max))
    intercept = rng.uniform(*settings.intercepts, size=n)
    gain = rng.uniform(*settings.gains, size=n)
    return Encoding("nef", encoder, intercept, gain, float(settings.rate_max))


def input_trains(settings):
    """Poisson input spike times of every channel, the trial schedule and the encoding.

    The trains cover the tuning trials and then the blocks of :func:`fisher_schedule`.

    Parameters
    ----------
    settings : PopulationSettings

    Returns
    -------
    trains : list of list of float
        Spike times of each of the ``neurons`` channels, s.
    schedule : tuple
        ``(stimulus, starts, stops)`` of :func:`trial_schedule`.
    encoding : Encoding
    """
    stimulus, starts, stops, rng = trial_schedule(settings)
    encoding = draw_encoding(settings, rng)
    blocks, _ = fisher_schedule(settings, stops[-1])
    onsets = np.concatenate([starts - settings.settle, blocks[0]])
    lengths = np.concatenate([np.full(stimulus.size, settings.settle + settings.window), blocks[1]])
    trains = []
    for rates in encoding.rates(np.concatenate([stimulus, blocks[2]])):
        counts = rng.poisson(rates * lengths)
        times = np.concatenate([t0 + np.sort(rng.uniform(0.0, length, n)) for t0, length, n in zip(onsets, lengths, counts)])
        trains.append(times.tolist())
    return trains, (stimulus, starts, stops), encoding


def experiment(settings, device_model, instances, trains, duration, i_dc):
    """The :class:`~mixsig.experiment.Experiment` of one condition.

    Parameters
    ----------
    settings : PopulationSettings
    device_model : str
        Device model name, or ``"none"`` for nominal chips.
    instances : int
        Chip instances.
    trains : list of list of float
        Input spike times per channel, s (:func:`input_trains`).
    duration : float
        Simulated time, s.
    i_dc : float
        DC bias of core 0, A.

    Returns
    -------
    Experiment
    """
    from mixsig.chip import load_chip
    from mixsig.experiment import Experiment, Record

    chip = load_chip(settings.chip)
    biases = ((0, "soma.i_dc", float(i_dc)),)
    mask = (1 << chip.weight_bits) - 1  # every bit: the chip's strongest weight
    if settings.weight is not None:
        bit = chip.weight_bits - 1
        name = "synapse.i_w_ampa" if chip.weight_scheme == "per_type" else f"synapse.i_w_{bit}"
        biases += tuple((core, name, float(settings.weight) * float(chip.biases[name][core]))
                        for core in range(chip.n_cores))
        mask = 1 << bit
    return Experiment(
        duration=duration, dt=settings.dt, instances=instances, seed=settings.seed, chip=settings.chip,
        device_model=device_model, noise=settings.noise, biases=biases,
        network={
            "populations": {"pop": {"size": settings.neurons, "core": 0}},
            "inputs": {"stim": {"size": settings.neurons, "kind": "spike_array", "spike_times": trains}},
            "connections": [{"pre": "stim", "post": "pop", "rule": "one_to_one", "syn_type": "ampa", "weight_mask": mask}],
        },
        record=Record(router=False, parameters=True),
    )


def _curves(rates, stimulus, values, trials):
    """Mean (Hz) and single-trial variance across repeats (Hz^2), each (levels, neurons), over the given trials."""
    groups = [rates[:, trials[stimulus[trials] == v]] for v in values]
    return np.stack([g.mean(axis=1) for g in groups]), np.stack([g.var(axis=1, ddof=1) for g in groups])


def decoding_errors(rates, stimulus, settings, rng):
    """Cross-validated linear and ML decoding errors of one instance.

    Parameters
    ----------
    rates : ndarray, shape (neurons, trials)
        Single-trial rates, Hz.
    stimulus : ndarray, shape (trials,)
    settings : PopulationSettings
    rng : numpy.random.Generator
        Draws the sub-populations.

    Returns
    -------
    dict of ndarray, shape (sizes,)
        Sums of squared errors and counts: ``sq``, ``sq_noise``, ``sq_static``, ``sq_ml``, ``n``,
        ``n_ml``, ``n_static``, plus the stacked single-trial ``x`` and ``x_hat`` per size.
    """
    values = settings.stimulus_values
    n_trials = stimulus.size
    repeat = np.zeros(n_trials, dtype=int)
    for v in values:
        repeat[stimulus == v] = np.arange(np.sum(stimulus == v))
    interior = (stimulus > values[0]) & (stimulus < values[-1])
    grid = np.linspace(-1.0, 1.0, settings.grid)
    floor = 0.5 / (settings.window * (settings.repeats - 1))
    out = {k: np.zeros(len(settings.sizes)) for k in SUMS}
    out["x"] = [[] for _ in settings.sizes]
    out["x_hat"] = [[] for _ in settings.sizes]
    level = np.searchsorted(values, stimulus)
    all_trials = np.arange(n_trials)
    all_curves, all_variance = _curves(rates, stimulus, values, all_trials)
    held_out = (settings.repeats - 1) / settings.repeats  # var(test - mean of R-1 training trials) = R/(R-1) var(trial)
    for k, size in enumerate(settings.sizes):
        for _ in range(settings.subsets):
            idx = rng.choice(rates.shape[0], size, replace=False)
            mean_curves = all_curves[:, idx]
            d_static = nef_decoders(mean_curves, values, all_variance[:, idx].mean())
            out["sq_static"][k] += np.sum((decode(mean_curves, d_static) - values) ** 2)
            out["n_static"][k] += values.size
            for r in range(settings.repeats):
                test = repeat == r
                train = np.flatnonzero(~test)
                curves, variance = _curves(rates[idx], stimulus, values, train)
                d = nef_decoders(curves, values, variance.mean())
                x_hat = decode(rates[idx][:, test].T, d)
                out["sq"][k] += np.sum((x_hat - stimulus[test]) ** 2)
                out["sq_noise"][k] += held_out * np.sum((x_hat - decode(curves, d)[level[test]]) ** 2)
                out["n"][k] += test.sum()
                out["x"][k].append(stimulus[test])
                out["x_hat"][k].append(x_hat)
                grid_rates, _ = interpolate_curves(values, np.maximum(curves, floor), grid)
                grid_rates = np.maximum(grid_rates, floor)
                counts = np.rint(rates[idx][:, test & interior].T * settings.window)
                x_ml = ml_decode(counts, grid, grid_rates, settings.window)
                out["sq_ml"][k] += np.sum((x_ml - stimulus[test & interior]) ** 2)
                out["n_ml"][k] += counts.shape[0]
    return out


def _transfer(rates, stimulus, settings):
    """RMSE of decoders of all neurons trained on instance i (all trials) and applied to instance j."""
    values = settings.stimulus_values
    n_inst = rates.shape[0]
    out = np.empty((n_inst, n_inst))
    trials = np.arange(stimulus.size)
    for i in range(n_inst):
        curves, variance = _curves(rates[i], stimulus, values, trials)
        d = nef_decoders(curves, values, variance.mean())
        for j in range(n_inst):
            out[i, j] = np.sqrt(np.mean((decode(rates[j].T, d) - stimulus) ** 2))
    return out


def fisher_versus_size(counts, stimulus, settings, rng):
    """Bias-corrected and naive linear Fisher information of random sub-populations of each size.

    Parameters
    ----------
    counts : ndarray, shape (instance, neuron, window)
        Spike counts of the Fisher windows.
    stimulus : ndarray, shape (window,)
        Stimulus of each window (the two values of :func:`fisher_schedule`).
    settings : PopulationSettings
    rng : numpy.random.Generator
        Draws the sub-populations.

    Returns
    -------
    bias_corrected, naive : ndarray, shape (sizes,)
        Means over ``subsets`` sub-populations and the instances, per squared stimulus unit.
    """
    low = stimulus < settings.fisher_point
    out = np.zeros((2, len(settings.sizes)))
    for k, size in enumerate(settings.sizes):
        for instance in counts:
            for _ in range(settings.subsets):
                idx = rng.choice(instance.shape[0], size, replace=False)
                fi = linear_fisher_information(instance[idx][:, low].T, instance[idx][:, ~low].T, settings.fisher_delta)
                out[:, k] += fi["bias_corrected"], fi["naive"]
    return out / (counts.shape[0] * settings.subsets)


def _analyse(ds, schedule, settings):
    stimulus, starts, stops = schedule
    rates = trial_rates(ds, stimulus, starts, stops).values  # (instance, neuron, trial)
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(7,)))
    parts = [decoding_errors(rates[i], stimulus, settings, rng) for i in range(rates.shape[0])]
    total = {k: sum(p[k] for p in parts) for k in SUMS}
    enob = np.array([
        enob_uniform(np.concatenate([x for p in parts for x in p["x"][k]]), np.concatenate([x for p in parts for x in p["x_hat"][k]]), 2.0)
        for k in range(len(settings.sizes))
    ])
    _, (fisher_stimulus, fisher_starts, fisher_stops) = fisher_schedule(settings, stops[-1])
    fisher = fisher_versus_size(interval_counts(ds, fisher_starts, fisher_stops), fisher_stimulus, settings, rng)
    return {
        "rmse": np.sqrt(total["sq"] / total["n"]),
        "rmse_noise": np.sqrt(total["sq_noise"] / total["n"]),
        "rmse_static": np.sqrt(total["sq_static"] / total["n_static"]),
        "rmse_ml": np.sqrt(total["sq_ml"] / total["n_ml"]),
        "fisher_linear": fisher[0],
        "fisher_linear_naive": fisher[1],
        "enob": enob,
        "transfer": _transfer(rates, stimulus, settings),
        "curves": np.stack([_curves(rates[i], stimulus, settings.stimulus_values, np.arange(stimulus.size))[0].T
                            for i in range(rates.shape[0])]),
    }


def _results(settings, analyses, ds_mismatch, encoding):
    sizes = np.asarray(settings.sizes)
    a = analyses["mismatch"]

    def stack(key):
        return np.stack([analyses[c][key] for c in CONDITIONS])

    def attrs(units, long_name, **extra):
        return {"units": units, "long_name": long_name, **extra}

    slopes = np.array([loglog_slope(sizes, analyses[c]["rmse"]) for c in CONDITIONS])
    noise_slopes = np.array([loglog_slope(sizes, analyses[c]["rmse_noise"]) for c in CONDITIONS])
    return xr.Dataset(
        {
            "rmse": (("condition", "n_pop"), stack("rmse"), attrs("1", "cross-validated single-trial RMSE of the linear (NEF) decoder")),
            "rmse_noise": (("condition", "n_pop"), stack("rmse_noise"),
                           attrs("1", "noise part of the single-trial RMSE: spread of the estimates about the decoded mean curves")),
            "rmse_static": (("condition", "n_pop"), stack("rmse_static"), attrs("1", "RMSE of decoding the mean tuning curves (static distortion)")),
            "enob": (("condition", "n_pop"), stack("enob"),
                     attrs("bit", "ENOB log2(range/(RMSE sqrt(12))) of the single-trial linear estimates", enob_convention="uniform")),
            "fisher_linear": (("condition", "n_pop"), stack("fisher_linear"),
                              attrs("1", f"bias-corrected linear Fisher information of one {settings.window:g} s window at x = {settings.fisher_point:g}",
                                    method="Kanitscheider et al. 2015 PLoS Comput Biol 11:e1004218, eq. 2")),
            "fisher_linear_naive": (("condition", "n_pop"), stack("fisher_linear_naive"),
                                    attrs("1", "linear Fisher information f'^T S^-1 f' without bias correction")),
            "linear_threshold": (("condition", "n_pop"), 1.0 / np.sqrt(np.where(stack("fisher_linear") > 0, stack("fisher_linear"), np.nan)),
                                 attrs("1", "1/sqrt(linear Fisher information): RMSE of the best locally unbiased linear read-out of one window")),
            "rmse_slope": (("condition",), slopes, attrs("1", "log-log slope of the RMSE versus N (-0.5 once noise dominates)")),
            "rmse_noise_slope": (("condition",), noise_slopes, attrs("1", "log-log slope of the noise part of the RMSE versus N (ideal -0.5)")),
            "rmse_ml": (("n_pop",), a["rmse_ml"], attrs("1", "RMSE of the ML decoder at the interior stimulus levels (mismatch)")),
            "transfer_rmse": (("train_instance", "test_instance"), a["transfer"],
                              attrs("1", "RMSE of all-neuron decoders trained on one instance, applied to another")),
            "tuning_curve": (("instance", "neuron", "stimulus"), a["curves"], attrs("Hz", "tuning curve (mean rate), mismatch condition")),
            "encoder": (("neuron",), encoding.encoder, attrs("1", "preferred direction e_a of the input encoding")),
            "intercept": (("neuron",), encoding.intercept, attrs("1", "x-intercept b_a of the nef input encoding (nan: linear)")),
            "input_gain": (("neuron",), encoding.gain, attrs("1", "input rate at e_a x = 1 as a fraction of rate_max")),
            "input_rate": (("neuron", "stimulus"), encoding.rates(settings.stimulus_values), attrs("Hz", "Poisson input rate of each neuron")),
        },
        coords={
            "condition": ("condition", list(CONDITIONS), attrs("1", "mismatch: device model; nominal: device_model none")),
            "n_pop": ("n_pop", sizes, attrs("1", "neurons in the decoded sub-population")),
            "train_instance": ("train_instance", ds_mismatch["instance"].values, attrs("1", "instance the decoders were fit on")),
            "test_instance": ("test_instance", ds_mismatch["instance"].values, attrs("1", "instance decoded")),
            "instance": ("instance", ds_mismatch["instance"].values, attrs("1", "instance id")),
            "neuron": ("neuron", ds_mismatch["neuron"].values, attrs("1", "neuron id")),
            "stimulus": ("stimulus", settings.stimulus_values, attrs("1", "normalised stimulus x")),
        },
        attrs={"title": "mixsig population-coding study", "enob_convention": "uniform", "fisher_point": float(settings.fisher_point), "device_model": settings.device_model,
               "window": float(settings.window), "seed": int(settings.seed), "encoding": settings.encoding},
    )


def _summary(settings, results):
    out = {"study": "population", "settings": settings_dict(settings), "enob_convention": "uniform",
           "n_pop": results["n_pop"].values.tolist()}
    for c in CONDITIONS:
        r = results.sel(condition=c)
        out[c] = {"rmse": r["rmse"].values.tolist(), "rmse_noise": r["rmse_noise"].values.tolist(),
                  "rmse_static": r["rmse_static"].values.tolist(), "enob_bit": r["enob"].values.tolist(),
                  "rmse_slope": float(r["rmse_slope"]), "rmse_noise_slope": float(r["rmse_noise_slope"]),
                  "fisher_linear": r["fisher_linear"].values.tolist(), "fisher_linear_naive": r["fisher_linear_naive"].values.tolist(),
                  "linear_threshold": r["linear_threshold"].values.tolist()}
    out["mismatch"].update(rmse_ml=results["rmse_ml"].values.tolist(),
                           transfer_rmse=results["transfer_rmse"].values.tolist())
    return out


def population(settings=None, output=None, **changes):
    """Run the population-coding study.

    Parameters
    ----------
    settings : PopulationSettings, optional
    output : str, optional
        Folder for datasets, results, summary and figures (nothing is written without it).
    **changes
        Fields of the settings to change.

    Returns
    -------
    StudyResult
        ``results`` has dims ``condition``, ``n_pop``, ``train_instance``, ``test_instance`` and
        the tuning curves (``instance``, ``neuron``, ``stimulus``).

    Raises
    ------
    ConfigError
        Invalid settings (every problem listed), device model or chip.
    """
    from mixsig.engine.simulation import run

    settings = dataclasses.replace(settings or PopulationSettings(), **changes)
    settings.check()
    rheobase = measure_rheobase(settings.chip, settings.rheobase_window, settings.dt)
    trains, schedule, encoding = input_trains(settings)
    duration = float(fisher_schedule(settings, schedule[2][-1])[1][2][-1])
    datasets, analyses = {}, {}
    with counting(2, "run", "mixsig population") as done:
        for condition, model, instances in (("mismatch", settings.device_model, settings.instances), ("nominal", "none", 1)):
            ds = run(experiment(settings, model, instances, trains, duration, settings.dc_drive * rheobase),
                     progress=False, command=f"mixsig study population ({condition})")
            datasets[f"population-{condition}"] = ds
            analyses[condition] = _analyse(ds, schedule, settings)
            done()
    results = _results(settings, analyses, datasets["population-mismatch"], encoding)
    results.attrs.update(rheobase=rheobase, i_dc=float(settings.dc_drive * rheobase))
    result = StudyResult(results=results, datasets=datasets, summary=_summary(settings, results))
    if output is not None:
        from mixsig import plot

        figures = [("population-tuning", lambda ax: plot.tuning_curves(results["tuning_curve"], ax)),
                   ("population-decoding", lambda ax: plot.decoding_error(results, ax))]
        write_outputs(output, "population", result, figures)
    return result
