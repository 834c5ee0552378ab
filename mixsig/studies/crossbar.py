"""``mixsig study crossbar``: in-memory computing accuracy versus time since programming.

For each chip instance (an independently programmed pair of arrays), each write-noise scale
(device variability: a factor on the published programming noise, as aihwkit's
``prog_noise_scale``), each ADC resolution and each time since programming ``t``:

* **matrix-vector product**: a Gaussian weight matrix (``rows x columns``) is programmed on
  differential PCM pairs (:mod:`mixsig.device.crossbar`) and read with ``samples`` random inputs
  in [-1, 1] (:func:`mixsig.circuits.crossbar.read`); the error is the relative RMS error
  ``||y_hat - W x|| / ||W x||`` over all outputs, ``y_hat`` the digitised currents converted back
  to weight units with the scale set at programming;
* **classifier**: a linear classifier (ridge regression on one-hot targets, trained in floating
  point) of a synthetic task (``classes`` Gaussian clusters in ``rows`` dimensions, the same
  task for every instance); its weights are on the crossbar and its intercepts in the digital
  periphery (so a global conductance drift changes the decisions); accuracy of the crossbar's
  argmax against the floating-point one;
* with and without **global drift compensation** (Joshi et al. 2020; Le Gallo et al. 2018): the
  periphery reads the array's summed absolute output for an all-ones input at programming
  (``t = 0``) and at ``t``, and multiplies the digitised outputs by their ratio. The ADC full
  scale stays where programming set it, so compensation cannot restore the resolution drift took
  away.

Randomness: per instance, the programming of each array and the read noise of each read time
come from ``SeedSequence(seed, spawn_key=(instance, purpose, ...))`` (:func:`array_generators`);
the task (weights, inputs, clusters) from the seed's own stream. A write-noise scale reuses the
instance's programming draws (common random numbers).
"""

import dataclasses
import math

import numpy as np
import xarray as xr

from mixsig.circuits import crossbar
from mixsig.device.crossbar import array_generators, load_crossbar_model, program, read_conductances
from mixsig.errors import raise_if_any
from mixsig.studies.output import StudyResult, is_int, is_positive, is_sequence_of, settings_dict, settings_problems, \
    write_outputs

DAY = 86400.0
DEFAULT_TIMES = (0.0, 3600.0, DAY, 30 * DAY, 365.25 * DAY)
"""Default times since programming: right after programming (the first read, ``t0`` later), 1 hour,
1 day, 1 month, 1 year (s)."""

CLUSTER_SPREAD = 0.5
"""Standard deviation of the classifier task's clusters around their centres (uniform in [0, 1]; inputs clipped to [0, 1], as rates or pixels)."""

TASK_STREAM = 0x7A5C
"""Spawn-key element of the task's stream (weights, inputs, clusters: shared by every instance)."""


@dataclasses.dataclass(frozen=True)
class CrossbarStudySettings:
    """Settings of the crossbar study (see the module docstring)."""

    device_model: str = "pcm_ibm"
    times: tuple = DEFAULT_TIMES
    variability: tuple = (0.5, 1.0, 2.0)
    adc_bits: tuple = (4, 6, 8)
    instances: int = 4
    seed: int = 1
    rows: int = 64
    columns: int = 32
    classes: int = 10
    samples: int = 256
    levels: int = 256
    dac_bits: int = 8
    r_wire: float = 0.0
    read_noise: bool = True

    def problems(self, source="<crossbar study>"):
        rules = {
            "times": (is_sequence_of(lambda t: isinstance(t, (int, float)) and not isinstance(t, bool)
                                     and math.isfinite(t) and t >= 0), "times since programming >= 0 s"),
            "variability": (is_sequence_of(lambda v: is_positive(v) or v == 0), "write-noise scales >= 0"),
            "adc_bits": (is_sequence_of(lambda b: is_int(b, 1) and b <= 32), "ADC resolutions in 1..32 bits"),
            "instances": (lambda v: is_int(v, 1) and v <= 1000, "an integer in 1..1000"),
            "seed": (lambda v: is_int(v, 0), "an integer >= 0"),
            "rows": (lambda v: is_int(v, 2) and v <= 4096, "an integer in 2..4096"),
            "columns": (lambda v: is_int(v, 1) and v <= 4096, "an integer in 1..4096"),
            "classes": (lambda v: is_int(v, 2) and v <= self.rows, "an integer in 2..rows"),
            "samples": (lambda v: is_int(v, 1) and v <= 100000, "an integer in 1..100000"),
            "levels": (lambda v: is_int(v, 2), "an integer >= 2"),
            "dac_bits": (lambda v: is_int(v, 1) and v <= 32, "an integer in 1..32"),
            "r_wire": (lambda v: is_positive(v) or v == 0, "a resistance >= 0 ohm"),
        }
        return settings_problems(self, rules, source)


def _task(settings):
    """Weights, MVM inputs and the classifier task (weights, test inputs, labels), from the seed."""
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(TASK_STREAM,)))
    weights = rng.standard_normal((settings.rows, settings.columns))
    x = rng.uniform(-1.0, 1.0, (settings.samples, settings.rows))
    centres = rng.uniform(0.0, 1.0, (settings.classes, settings.rows))
    labels = np.arange(4 * settings.samples) % settings.classes
    inputs = np.clip(centres[labels] + CLUSTER_SPREAD * rng.standard_normal((labels.size, settings.rows)), 0.0, 1.0)
    train, test = slice(0, 2 * settings.samples), slice(2 * settings.samples, None)
    onehot = np.eye(settings.classes)[labels[train]]
    a = np.hstack([inputs[train], np.ones((2 * settings.samples, 1))])
    solution = np.linalg.solve(a.T @ a + np.eye(settings.rows + 1), a.T @ (2 * onehot - 1))
    return weights, x, (solution[:-1], solution[-1]), inputs[test], labels[test]


class _Array:
    """One programmed array with its periphery: reads at a time since programming."""

    def __init__(self, weights, params, model, rng, noise_scale):
        self.g_plus_t, self.g_minus_t, self.scale = crossbar.target_conductances(weights, params)
        scaled = model.replace(noise_c0=model.noise_c0 * noise_scale, noise_c1=model.noise_c1 * noise_scale,
                               noise_c2=model.noise_c2 * noise_scale)
        both = program(np.stack([self.g_plus_t, self.g_minus_t]), scaled, rng)
        self.devices, self.model, self.params = both, model, params
        self.i_fs = float(crossbar.full_scale_current(self.g_plus_t, self.g_minus_t, params))

    def conductances(self, t, rng, read_noise):
        g = read_conductances(self.devices, t, self.model, rng, read_noise)
        return g[0], g[1]

    def outputs(self, g, x, adc_bits):
        """Digitised outputs in weight units for inputs ``x`` (samples, rows)."""
        params = dataclasses.replace(self.params, adc_bits=adc_bits)
        return crossbar.read(g[0], g[1], x, params, self.i_fs) * self.scale / params.v_read

    def drift_factor(self, g0, g, adc_bits):
        """Global drift compensation: summed |output| for an all-ones input at t = 0 over that at t."""
        ones = np.ones((1, self.g_plus_t.shape[0]))
        now = np.sum(np.abs(self.outputs(g, ones, adc_bits)))
        return float(np.sum(np.abs(self.outputs(g0, ones, adc_bits))) / now) if now > 0 else 1.0


def crossbar_study(output=None, **settings):
    """Run the crossbar study.

    Parameters
    ----------
    output : str, optional
        Folder for ``crossbar-results.nc``, ``crossbar-summary.json`` and the figures (nothing is
        written when None).
    **settings
        Fields of :class:`CrossbarStudySettings`.

    Returns
    -------
    StudyResult
        ``results`` has ``mvm_error`` and ``accuracy`` with dims ``(instance, variability,
        adc_bits, compensation, time)`` and the floating-point ``reference_accuracy``.

    Raises
    ------
    mixsig.errors.ConfigError
        Invalid settings or device model.
    """
    s = CrossbarStudySettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
    raise_if_any(s.problems(), "crossbar study settings")
    model = load_crossbar_model(s.device_model)
    params = crossbar.CrossbarParams(g_min=model.g_min, g_max=model.g_max, levels=s.levels, dac_bits=s.dac_bits,
                                     r_wire=float(s.r_wire))
    weights, x, (classifier, bias), test_x, test_labels = _task(s)
    exact = x @ weights
    reference = float(np.mean(np.argmax(test_x @ classifier + bias, axis=1) == test_labels))
    shape = (s.instances, len(s.variability), len(s.adc_bits), 2, len(s.times))
    error, accuracy = np.zeros(shape), np.zeros(shape)
    for i in range(s.instances):
        for v, scale in enumerate(s.variability):
            arrays = [_Array(w, params, model, array_generators(s.seed, i, k)[0], scale)
                      for k, w in enumerate((weights, classifier))]
            for k, t in enumerate(s.times):
                reads = [a.conductances(t, array_generators(s.seed, i, n, k)[1], s.read_noise)
                         for n, a in enumerate(arrays)]
                starts = [a.conductances(0.0, array_generators(s.seed, i, n, k)[1], False) for n, a in enumerate(arrays)]
                for b, bits in enumerate(s.adc_bits):
                    mvm = arrays[0].outputs(reads[0], x, bits)
                    scores = arrays[1].outputs(reads[1], test_x, bits)
                    for c in range(2):
                        fm = arrays[0].drift_factor(starts[0], reads[0], bits) if c else 1.0
                        fc = arrays[1].drift_factor(starts[1], reads[1], bits) if c else 1.0
                        error[i, v, b, c, k] = np.linalg.norm(fm * mvm - exact) / np.linalg.norm(exact)
                        accuracy[i, v, b, c, k] = np.mean(np.argmax(fc * scores + bias, axis=1) == test_labels)
    coords = {"instance": np.arange(s.instances), "variability": np.asarray(s.variability, dtype=float),
              "adc_bits": np.asarray(s.adc_bits, dtype=np.int64), "compensation": [0, 1],
              "time": np.asarray(s.times, dtype=float)}
    dims = tuple(coords)
    results = xr.Dataset(
        {"mvm_error": (dims, error, {"units": "1", "long_name": "relative RMS error of the crossbar matrix-vector product"}),
         "accuracy": (dims, accuracy, {"units": "1", "long_name": "test accuracy of the crossbar linear classifier"}),
         "reference_accuracy": ((), reference, {"units": "1", "long_name": "test accuracy of the floating-point classifier"})},
        coords=coords)
    results["variability"].attrs = {"units": "1", "long_name": "factor on the published programming noise"}
    results["adc_bits"].attrs = {"units": "bit", "long_name": "ADC resolution"}
    results["compensation"].attrs = {"units": "1", "long_name": "global drift compensation (1 on, 0 off)"}
    results["time"].attrs = {"units": "s", "long_name": "time since programming"}
    results["instance"].attrs = {"units": "1", "long_name": "chip instance (independently programmed arrays)"}
    results.attrs.update(study="crossbar", device_model=model.name, seed=s.seed)
    mean = results.mean("instance")
    summary = {"settings": settings_dict(s), "reference_accuracy": reference,
               "mvm_error": mean["mvm_error"].values.tolist(), "accuracy": mean["accuracy"].values.tolist()}
    result = StudyResult(results, {}, summary)
    if output is not None:
        write_outputs(output, "crossbar", result, _figures(results))
    return result


def _figures(results):
    """(stem, draw) of the study's figures: error and accuracy versus time, error versus ADC bits."""
    mean = results.mean("instance")
    days = np.maximum(results["time"].values, 1.0) / DAY
    bits = int(results["adc_bits"].values.max())

    def versus_time(name, label):
        def draw(ax):
            for n, v in enumerate(results["variability"].values):
                for c, style in ((0, "--"), (1, "-")):
                    ax.semilogx(days, mean[name].sel(variability=v, adc_bits=bits, compensation=c), style,
                                color=f"C{n}", marker="o", label=f"noise x{v:g}, {'GDC' if c else 'no GDC'}")
            if name == "accuracy":
                ax.axhline(float(results["reference_accuracy"]), color="k", lw=0.8, label="floating point")
            ax.set_xlabel("time since programming (days; 1 s at the first point)")
            ax.set_ylabel(label)
            ax.set_title(f"{bits}-bit ADC")
            ax.legend(fontsize=7)
        return draw

    def versus_bits(ax):
        t = results["time"].values[np.argmin(np.abs(results["time"].values - DAY))]
        for c, style in ((0, "--"), (1, "-")):
            for n, v in enumerate(results["variability"].values):
                ax.semilogy(results["adc_bits"], mean["mvm_error"].sel(variability=v, compensation=c, time=t), style,
                            color=f"C{n}", marker="o", label=f"noise x{v:g}, {'GDC' if c else 'no GDC'}")
        ax.set_xlabel("ADC resolution (bit)")
        ax.set_ylabel("relative RMS error of W x")
        ax.set_title(f"t = {t / DAY:g} days after programming")
        ax.legend(fontsize=7)

    return [("crossbar-mvm-error-vs-time", versus_time("mvm_error", "relative RMS error of W x")),
            ("crossbar-accuracy-vs-time", versus_time("accuracy", "test accuracy")),
            ("crossbar-mvm-error-vs-adc-bits", versus_bits)]
