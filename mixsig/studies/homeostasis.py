"""Homeostatic synaptic scaling on the emulated chip: a mismatched population pulled to one rate.

Protocol
--------
A population of ``neurons`` neurons on core 0 of every chip instance (device mismatch from
``device_model``, no temporal noise) receives one identical input: a regular pulse train of period
``input_period`` through one AMPA synapse per neuron (weight ``weight``). The train is much faster
than the AMPA DPI's time constant, so the drive is quasi-DC and every rate difference comes from
the silicon's mismatch (chip block ``homeostasis``, ``docs/adaptation.md``).

1. ``before``: homeostasis off (gain 1); rates counted over ``[settle, settle + window)``.
2. One run per configured homeostatic time constant ``tau_h`` (``i_leak = c_h U_T/(kappa tau_h)``)
   with homeostasis on, all with the same fast-forward factor ``time_scale``: the gain moves at
   the effective time constant ``tau_h / time_scale`` while the neurons run at real speed, so a
   homeostatic time ``t_h`` is simulated in ``t_h / time_scale`` seconds (valid while
   ``tau_h / time_scale >> tau_r, 1/r_target``). Each run lasts ``duration_factor * tau_h /
   time_scale`` simulated seconds; the gains are sampled every ``sample`` s and the rates counted
   in consecutive windows of ``window`` s.

Analysis
--------
* across-neuron-and-instance CV of the rates per window (the ``before`` value, then over time);
  ``cv_after`` and ``mean_after`` in the last window; expected: ``cv_before / cv_after >= 5`` and
  ``mean_after`` within 5 % of ``r_target`` (the linear control law holds the mean trace, i.e. the
  mean rate, at the target);
* convergence time ``t_c``: the homeostatic time (simulated time times ``time_scale``) at which
  the mean over neurons of ``|ln g(t) - ln g(end)|`` first falls below ``exp(-2)`` of its initial
  value. Linearised (``r ~ g^beta``), ``ln g`` relaxes as ``exp(-beta t / tau_h)``, so
  ``t_c = 2 tau_h / beta``: ``t_c / tau_h`` is the same for every ``tau_h`` and the log-log slope
  of ``t_c`` against ``tau_h`` is 1.
"""

import dataclasses

import numpy as np
import xarray as xr

from mixsig.analysis.stats import loglog_slope
from mixsig.errors import raise_if_any
from mixsig.progress import counting
from mixsig.studies.output import (
    StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, write_outputs,
)

CONVERGENCE_LEVEL = np.exp(-2.0)
"""Fraction of the initial mean ``|ln g - ln g_end|`` that defines the convergence time."""


@dataclasses.dataclass(frozen=True)
class HomeostasisSettings:
    """Parameters of the homeostasis study (SI units).

    Attributes
    ----------
    device_model : str
        Calibration whose mismatch spreads the rates.
    instances : int
        Chip instances.
    neurons : int
        Population size on core 0.
    tau_h : tuple of float
        Configured homeostatic time constants, one run each, s.
    time_scale : float
        Fast-forward factor of the gain control (homeostatic s per simulated s), 1.
    r_target : float
        Target rate, Hz.
    tau_r : float
        Activity-trace time constant, s.
    duration_factor : float
        Length of each adaptation run in effective time constants ``tau_h / time_scale``.
    settle : float
        Time before the ``before`` rates are counted, s.
    window : float
        Rate-counting window, s.
    sample : float
        Gain sampling interval, s (simulated).
    input_period : float
        Period of the identical regular input train, s.
    weight : float
        AMPA weight current of the input (the chip's highest weight bit), A; the default puts the
        2 kHz train at 1.5 times the DPI's rate threshold i_tau / (i_w t_pulse) on dynapse2.
    dt : float
        Engine step, s.
    seed : int
        Root seed (mismatch).
    chip : str
    """

    device_model: str = "generic_180nm"
    instances: int = 2
    neurons: int = 8
    tau_h: tuple = (2e4, 4e4)
    time_scale: float = 2500.0
    r_target: float = 20.0
    tau_r: float = 0.1
    duration_factor: float = 2.5
    settle: float = 1.0
    window: float = 1.0
    sample: float = 0.1
    input_period: float = 5e-4
    weight: float = 0.4e-9
    dt: float = 1e-4
    seed: int = 3
    chip: str = "dynapse2"

    def check(self):
        """Raise :class:`~mixsig.errors.ConfigError` listing every invalid setting."""
        rules = {
            "device_model": (lambda v: isinstance(v, str) and v != "", "a device model name"),
            "instances": (lambda v: is_int(v, 1), "an integer >= 1"),
            "neurons": (lambda v: is_int(v, 2), "an integer >= 2"),
            "tau_h": (is_sequence_of(is_positive), "time constants > 0 s"),
            "time_scale": (lambda v: is_positive(v) and v >= 1, "a factor >= 1"),
            "r_target": (is_positive, "a rate > 0 Hz"),
            "tau_r": (is_positive, "a time > 0 s"),
            "duration_factor": (is_positive, "a factor > 0"),
            "settle": (lambda v: v == 0 or is_positive(v), "a time >= 0 s"),
            "window": (lambda v: is_positive(v) and v >= self.dt, "a time > 0 s, at least dt"),
            "sample": (lambda v: is_positive(v) and v >= self.dt, "a time > 0 s, at least dt"),
            "input_period": (lambda v: is_positive(v) and v >= self.dt, "a period > 0 s, at least dt"),
            "weight": (is_positive, "a current > 0 A"),
            "dt": (is_positive, "a step > 0 s"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
            "chip": (lambda v: isinstance(v, str) and v != "", "a chip config name"),
        }
        raise_if_any(settings_problems(self, rules, "<homeostasis>"), "homeostasis settings")

    def duration(self, tau_h):
        """Simulated length of the adaptation run of one homeostatic time constant.

        Parameters
        ----------
        tau_h : float
            Homeostatic time constant, s (before fast-forwarding).

        Returns
        -------
        float
            ``duration_factor * tau_h / time_scale`` rounded up to whole windows, s.
        """
        windows = max(1, int(np.ceil(self.duration_factor * tau_h / self.time_scale / self.window)))
        return windows * self.window


def experiment(settings, tau_h=None):
    """The experiment of one run of the study.

    Parameters
    ----------
    settings : HomeostasisSettings
    tau_h : float, optional
        Homeostatic time constant, s; None runs the population without homeostasis.

    Returns
    -------
    mixsig.experiment.Experiment
    """
    from mixsig.chip import load_chip
    from mixsig.circuits.homeostasis import leak_current
    from mixsig.experiment import Experiment, Record

    duration = settings.settle + settings.window if tau_h is None else settings.duration(tau_h)
    bit = load_chip(settings.chip).weight_bits - 1
    biases = [(None, f"synapse.i_w_{bit}", float(settings.weight))]
    if tau_h is not None:
        biases += [(0, "homeostasis.enable", 1.0), (0, "homeostasis.r_target", float(settings.r_target)),
                   (0, "homeostasis.tau_r", float(settings.tau_r)), (0, "homeostasis.i_leak", float(leak_current(tau_h))),
                   (0, "homeostasis.time_scale", float(settings.time_scale))]
    times = np.arange(settings.input_period / 2, duration, settings.input_period)
    return Experiment(
        duration=duration, dt=settings.dt, instances=settings.instances, seed=settings.seed, chip=settings.chip,
        device_model=settings.device_model, noise=False, biases=tuple(biases),
        network={
            "populations": {"pop": {"size": settings.neurons, "core": 0}},
            "inputs": {"drive": {"size": 1, "kind": "spike_array", "spike_times": [times.tolist()]}},
            "connections": [{"pre": "drive", "post": "pop", "rule": "all_to_all", "syn_type": "ampa",
                             "weight_mask": 1 << bit}],
        },
        record=Record(router=False, parameters=True),
    )


def window_rates(simulation, edges):
    """Rates of every (instance, neuron) in the windows ``[edges[k], edges[k+1])``.

    The rate of a window with ``n >= 2`` spikes is ``(n - 1)/(t_last - t_first)`` (exact for
    regular firing, free of the ``1/window`` quantisation of a count), else ``n / window``.

    Returns
    -------
    ndarray, shape (windows, instance, neuron)
        Hz.
    """
    instance, neuron, times = simulation.spikes()
    edges = np.asarray(edges, dtype=float)
    rates = np.zeros((edges.size - 1, simulation.n_instances, simulation.n))
    rows, columns = np.searchsorted(simulation.instances, instance), simulation.local[neuron]
    for i in range(simulation.n_instances):
        for j in range(simulation.n):
            mine = times[(rows == i) & (columns == j)]
            for k in range(edges.size - 1):
                inside = mine[(mine >= edges[k]) & (mine < edges[k + 1])]
                if inside.size >= 2:
                    rates[k, i, j] = (inside.size - 1) / (inside[-1] - inside[0])
                else:
                    rates[k, i, j] = inside.size / (edges[k + 1] - edges[k])
    return rates


def cv(rates):
    """Coefficient of variation of rates across neurons and instances.

    Parameters
    ----------
    rates : array_like, shape (..., instance, neuron)
        Firing rates, Hz.

    Returns
    -------
    ndarray, shape (...)
        Standard deviation over mean of the last two axes (1).
    """
    rates = np.asarray(rates)
    flat = rates.reshape(rates.shape[:-2] + (-1,))
    return flat.std(axis=-1) / flat.mean(axis=-1)


def convergence_time(times, gains, level=CONVERGENCE_LEVEL):
    """First time at which the mean ``|ln g(t) - ln g(end)|`` falls below ``level`` of its start.

    Parameters
    ----------
    times : ndarray, shape (samples,)
        Sample times (any unit; the result has the same), the first at the start (``g = 1``).
    gains : ndarray, shape (samples, ...)
        Gains at the samples.
    level : float
        Fraction of the initial distance.

    Returns
    -------
    float
        Linearly interpolated crossing time; NaN if never below ``level``.
    """
    log_gain = np.log(np.asarray(gains).reshape(len(times), -1))
    distance = np.abs(log_gain - log_gain[-1]).mean(axis=1)
    threshold = level * distance[0]
    below = np.flatnonzero(distance <= threshold)
    if below.size == 0 or below[0] == 0:
        return np.nan
    k = below[0]
    fraction = (distance[k - 1] - threshold) / (distance[k - 1] - distance[k])
    return float(times[k - 1] + fraction * (times[k] - times[k - 1]))


def _adapt(settings, tau_h):
    """One adaptation run: gain samples, window rates and the run's dataset."""
    from mixsig.engine.simulation import Simulation

    simulation = Simulation(experiment(settings, tau_h))
    duration = settings.duration(tau_h)
    n_samples = int(round(duration / settings.sample))
    gains = [simulation.homeostatic_gain]
    for _ in range(n_samples):
        simulation.advance(settings.sample, progress=False)
        gains.append(simulation.homeostatic_gain)
    edges = np.arange(0.0, duration + settings.window / 2, settings.window)
    times = np.arange(n_samples + 1) * settings.sample
    ds = simulation.dataset(command=f"mixsig study homeostasis (tau_h = {tau_h:g} s)")
    return np.stack(gains), times, window_rates(simulation, edges), ds


def homeostasis(settings=None, output=None, **changes):
    """Run the homeostasis study.

    Parameters
    ----------
    settings : HomeostasisSettings, optional
    output : str, optional
        Folder for datasets, results, summary and figures (nothing is written without it).
    **changes
        Fields of the settings to change.

    Returns
    -------
    StudyResult
        ``results`` holds, per configured ``tau_h``: ``rate_after`` (instance, neuron), ``rate_cv``
        over ``window_time``, ``gain`` over ``sample_time``, ``convergence_time``; and
        ``rate_before`` (instance, neuron).

    Raises
    ------
    ConfigError
        Invalid settings (every problem listed), device model or chip.
    """
    from mixsig.engine.simulation import Simulation

    settings = dataclasses.replace(settings or HomeostasisSettings(), **changes)
    settings.check()
    before_run = Simulation(experiment(settings))
    before_run.advance(settings.settle + settings.window, progress=False)
    before = window_rates(before_run, [settings.settle, settings.settle + settings.window])[0]
    datasets = {"homeostasis-before": before_run.dataset(command="mixsig study homeostasis (before)")}
    runs = []
    with counting(len(settings.tau_h), "run", "mixsig homeostasis") as done:
        for tau_h in settings.tau_h:
            gains, times, rates, ds = _adapt(settings, tau_h)
            datasets[f"homeostasis-tau_h-{tau_h:g}"] = ds
            runs.append((gains, times, rates))
            done()
    results = _results(settings, before, runs, datasets["homeostasis-before"])
    result = StudyResult(results=results, datasets=datasets, summary=_summary(settings, results))
    if output is not None:
        figures = [("homeostasis-rates", lambda ax: _draw_rates(results, ax)),
                   ("homeostasis-cv", lambda ax: _draw_cv(results, ax)),
                   ("homeostasis-convergence", lambda ax: _draw_gains(results, ax))]
        write_outputs(output, "homeostasis", result, figures)
    return result


def _pad(arrays, axis_length):
    """Stack arrays of different first-axis lengths, NaN-padded to ``axis_length``."""
    out = np.full((len(arrays), axis_length) + arrays[0].shape[1:], np.nan)
    for k, a in enumerate(arrays):
        out[k, :a.shape[0]] = a
    return out


def _results(settings, before, runs, ds_before):
    tau_h = np.asarray(settings.tau_h, dtype=float)
    n_windows = max(r[2].shape[0] for r in runs)
    n_samples = max(r[1].size for r in runs)
    rate_cv = _pad([cv(r[2]) for r in runs], n_windows)
    after = np.stack([r[2][-1] for r in runs])
    gains = _pad([r[0] for r in runs], n_samples)
    t_c = np.array([convergence_time(r[1] * settings.time_scale, r[0]) for r in runs])
    slope = loglog_slope(tau_h, t_c) if tau_h.size > 1 and np.all(np.isfinite(t_c)) else np.nan

    def attrs(units, long_name):
        return {"units": units, "long_name": long_name}

    return xr.Dataset(
        {
            "rate_before": (("instance", "neuron"), before, attrs("Hz", "rate with homeostasis off (gain 1)")),
            "rate_after": (("tau_h", "instance", "neuron"), after, attrs("Hz", "rate in the last window of the adaptation run")),
            "rate_cv": (("tau_h", "window_time"), rate_cv, attrs("1", "CV of the rates across neurons and instances in each window")),
            "cv_before": ((), float(cv(before)), attrs("1", "CV of the rates with homeostasis off")),
            "cv_after": (("tau_h",), cv(after), attrs("1", "CV of the rates in the last window")),
            "mean_after": (("tau_h",), after.reshape(tau_h.size, -1).mean(axis=1), attrs("Hz", "mean rate in the last window")),
            "gain": (("tau_h", "sample_time", "instance", "neuron"), gains, attrs("1", "homeostatic gain of the excitatory weights")),
            "convergence_time": (("tau_h",), t_c, attrs("s", "homeostatic time to reach exp(-2) of the initial mean |ln g - ln g_end|")),
            "convergence_ratio": (("tau_h",), t_c / tau_h, attrs("1", "convergence time over tau_h (2/beta in linear theory)")),
            "convergence_slope": ((), float(slope), attrs("1", "log-log slope of convergence time against tau_h (expected 1)")),
        },
        coords={
            "tau_h": ("tau_h", tau_h, attrs("s", "configured homeostatic time constant")),
            "window_time": ("window_time", (np.arange(n_windows) + 0.5) * settings.window,
                            attrs("s", "centre of the rate window (simulated time)")),
            "sample_time": ("sample_time", np.arange(n_samples) * settings.sample, attrs("s", "gain sample time (simulated)")),
            "instance": ("instance", ds_before["instance"].values, attrs("1", "instance id")),
            "neuron": ("neuron", ds_before["neuron"].values, attrs("1", "neuron id")),
        },
        attrs={"title": "mixsig homeostasis study", "device_model": settings.device_model,
               "time_scale": float(settings.time_scale), "r_target": float(settings.r_target), "seed": int(settings.seed)},
    )


def _summary(settings, results):
    cv_before = float(results["cv_before"])
    return {
        "study": "homeostasis", "settings": settings_dict(settings),
        "tau_h_s": results["tau_h"].values.tolist(),
        "cv_before": cv_before,
        "cv_after": results["cv_after"].values.tolist(),
        "cv_reduction": (cv_before / results["cv_after"].values).tolist(),
        "mean_rate_before_hz": float(results["rate_before"].mean()),
        "mean_rate_after_hz": results["mean_after"].values.tolist(),
        "mean_over_target": (results["mean_after"].values / settings.r_target).tolist(),
        "convergence_time_s": results["convergence_time"].values.tolist(),
        "convergence_over_tau_h": results["convergence_ratio"].values.tolist(),
        "convergence_slope": float(results["convergence_slope"]),
        "simulated_seconds_per_run": [settings.duration(t) for t in settings.tau_h],
    }


def _draw_rates(results, ax):
    before = np.sort(results["rate_before"].values.ravel())
    ax.plot(before, "o-", label="before (gain 1)")
    for tau_h in results["tau_h"].values:
        ax.plot(np.sort(results["rate_after"].sel(tau_h=tau_h).values.ravel()), "s-", label=f"after, tau_h = {tau_h:g} s")
    ax.axhline(results.attrs["r_target"], color="k", linestyle=":", label="target")
    ax.set_xlabel("neuron (all instances, sorted by rate)")
    ax.set_ylabel("rate (Hz)")
    ax.legend()


def _draw_cv(results, ax):
    scale = results.attrs["time_scale"]
    for tau_h in results["tau_h"].values:
        ax.plot(results["window_time"].values * scale / tau_h, results["rate_cv"].sel(tau_h=tau_h).values, "o-",
                label=f"tau_h = {tau_h:g} s")
    ax.axhline(float(results["cv_before"]), color="k", linestyle=":", label="before")
    ax.set_yscale("log")
    ax.set_xlabel("homeostatic time / tau_h")
    ax.set_ylabel("CV of rates across neurons")
    ax.legend()


def _draw_gains(results, ax):
    scale = results.attrs["time_scale"]
    for tau_h in results["tau_h"].values:
        g = results["gain"].sel(tau_h=tau_h).dropna("sample_time", how="all").values
        log_gain = np.log(g.reshape(g.shape[0], -1))
        distance = np.abs(log_gain - log_gain[-1]).mean(axis=1)
        t = results["sample_time"].values[:g.shape[0]] * scale / tau_h
        ax.semilogy(t, distance / distance[0], label=f"tau_h = {tau_h:g} s")
    ax.axhline(CONVERGENCE_LEVEL, color="k", linestyle=":", label="exp(-2)")
    ax.set_xlabel("homeostatic time / tau_h")
    ax.set_ylabel("mean |ln g - ln g_end| (normalised)")
    ax.legend()
