"""Hierarchical device-mismatch sampler.

For a chip of ``n_chips x n_cores x neurons_per_core`` neurons with ``synapses_per_neuron``
synapses each, and any set of instance indices, every parameter covered by a calibration file is
drawn as a *native deviation* (see :mod:`mixsig.device.calibration`):

    x[i, n] = x_chip[i, chip(n)] + x_core[i, core(n)] + x_neuron[i, n]                 (neuron level)
    x[i, s] = x_chip[i, chip(s)] + x_core[i, core(s)] + x_neuron[i, neuron(s)] + x_syn[i, s]

with independent zero-mean normal components of the standard deviation the file gives for each
level (the device level may instead come from an empirical table by inverse CDF). The core
component is one draw per core, shared by every device of it: it models that core's
bias-generator error and does not average out over a population; the device components do.
For a bias current ``x`` is a threshold offset ``dVT`` (V) and the current is
``I = I_nom exp(kappa dVT / Ut(T))`` (lognormal: ``ln I`` is sampled, never ``I``), see
:func:`mixsig.device.drift.factors`.

On top of these per-parameter terms come factors shared by *every* device of a kind
(:func:`common_deviations`): the chip's master reference current, which feeds every bias DAC of
the chip, and each core's bias generator (one ``ln`` factor each, common to every bias current
and dividing every pulse width of the chip or core, so it cancels in ratios such as
``I_gain / I_tau`` or in the charge ``I_w t_pulse`` of a pulse, and not in ``tau = C Ut / (kappa
I_tau)``); an optional linear intra-die threshold gradient (neurons placed on the die, cores on
a near-square grid and neurons on a near-square grid inside each core); and the process corner
(``"tt"``, ``"ss"``, ``"ff"``... from the file, or ``"mc"``: each instance draws its global shifts
from normals whose mean and 3-sigma half-width are the mid-point and half-difference of the
``"ss"`` and ``"ff"`` corners). A common ``ln`` factor ``r`` enters a bias current's native
deviation as ``r Ut(T_nom) / kappa``.

Indices: neuron ``n = (chip * n_cores + core) * neurons_per_core + k``; synapse
``s = n * synapses_per_neuron + j``; global core index ``chip * n_cores + core``.

Determinism: instance ``i`` draws parameter ``p`` at level ``l`` from
``SeedSequence(seed, spawn_key=(i, PURPOSE_MISMATCH, crc32(p), l))``, so draws do not depend on how
many instances are drawn at once, in which order, or which other parameters the file lists.
"""

import dataclasses
import math
import zlib

import numpy as np

from mixsig.constants import thermal_voltage
from mixsig.device.calibration import CORNER_KEYS, LEVELS, MONTE_CARLO_CORNER, Corner

PURPOSE_MISMATCH = 0
"""``spawn_key`` purpose index of mismatch draws (``SeedSequence(seed).spawn(n)[i].spawn(k)[purpose]``)."""
PURPOSE_NOISE = 1
"""``spawn_key`` purpose index of temporal-noise generators."""
PURPOSE_STIMULUS = 2
"""``spawn_key`` purpose index of stimulus generators."""
PURPOSE_READOUT = 3
"""``spawn_key`` purpose index of the readout noise of emulated measurements (:mod:`mixsig.calibrate`)."""
PURPOSE_DELAY = 4
"""``spawn_key`` purpose index of the per-synapse delay mismatch (:mod:`mixsig.circuits.delay`)."""
_AGEING_STREAM = len(LEVELS)


def instance_seed_sequence(seed, instance, purpose, *key):
    """The seed sequence of one instance and purpose (and optional sub-keys).

    Equal to ``SeedSequence(seed).spawn(instance + 1)[instance].spawn(purpose + 1)[purpose]`` (then
    further spawns for ``key``), but computed directly, without spawning the earlier children.

    Parameters
    ----------
    seed : int
        User seed (non-negative).
    instance : int
        Instance (chip) index.
    purpose : int
        One of ``PURPOSE_MISMATCH``, ``PURPOSE_NOISE``, ``PURPOSE_STIMULUS``.
    *key : int
        Further spawn-key elements.

    Returns
    -------
    numpy.random.SeedSequence
    """
    return np.random.SeedSequence(seed, spawn_key=(int(instance), int(purpose), *map(int, key)))


@dataclasses.dataclass(frozen=True)
class ChipShape:
    """Sizes of a chip (or a board of identical chips).

    Attributes
    ----------
    n_cores : int
        Cores per chip.
    neurons_per_core : int
    synapses_per_neuron : int
    n_chips : int
        Chips on the board (1 for a single chip).
    """

    n_cores: int
    neurons_per_core: int
    synapses_per_neuron: int
    n_chips: int = 1

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            minimum = 0 if field.name == "synapses_per_neuron" else 1
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"ChipShape.{field.name} = {value!r}: expected an integer >= {minimum}")

    @property
    def n_neurons(self):
        """Neurons on the whole board."""
        return self.n_chips * self.n_cores * self.neurons_per_core

    @property
    def n_synapses(self):
        """Synapses on the whole board."""
        return self.n_neurons * self.synapses_per_neuron

    def core_of_neuron(self):
        """Global core index of each neuron, shape (neuron,)."""
        return np.arange(self.n_neurons) // self.neurons_per_core

    def chip_of_neuron(self):
        """Chip index of each neuron, shape (neuron,)."""
        return np.arange(self.n_neurons) // (self.neurons_per_core * self.n_cores)

    def neuron_of_synapse(self):
        """Neuron index of each synapse, shape (synapse,)."""
        return np.arange(self.n_synapses) // max(self.synapses_per_neuron, 1)

    def level_sizes(self):
        """Number of independent draws per level, ``{"chip": ..., "core": ..., ...}``."""
        return {
            "chip": self.n_chips,
            "core": self.n_chips * self.n_cores,
            "neuron": self.n_neurons,
            "synapse": self.n_synapses,
        }


def die_positions(shape):
    """Position of each neuron on its die, in die widths from the die centre.

    Cores sit on a near-square grid (``ceil(sqrt(n_cores))`` columns), neurons on a near-square
    grid inside their core, each at the centre of its cell.

    Parameters
    ----------
    shape : ChipShape

    Returns
    -------
    x, y : ndarray, shape (neuron,)
        Coordinates in ``[-0.5, 0.5]``.
    """
    core_cols = math.ceil(math.sqrt(shape.n_cores))
    core_rows = math.ceil(shape.n_cores / core_cols)
    cols = math.ceil(math.sqrt(shape.neurons_per_core))
    rows = math.ceil(shape.neurons_per_core / cols)
    index = np.arange(shape.n_neurons)
    k, core = index % shape.neurons_per_core, (index // shape.neurons_per_core) % shape.n_cores
    x = (core % core_cols + (k % cols + 0.5) / cols) / core_cols - 0.5
    y = (core // core_cols + (k // cols + 0.5) / rows) / core_rows - 0.5
    return x, y


def instance_corner(model, corner, seed, instance):
    """The process corner of one instance.

    Parameters
    ----------
    model : mixsig.device.calibration.DeviceModel
    corner : str
        A corner of the model, or ``"mc"`` (a draw per instance, see the module docstring).
    seed, instance : int

    Returns
    -------
    mixsig.device.calibration.Corner
    """
    if corner != MONTE_CARLO_CORNER:
        return model.corners[corner]
    slow, fast = model.corners["ss"], model.corners["ff"]
    z = np.random.default_rng(instance_seed_sequence(seed, instance, PURPOSE_MISMATCH, _name_key("corner"))).standard_normal(4)
    values = {}
    for key, zk in zip(CORNER_KEYS, z):
        a, b = getattr(slow, key), getattr(fast, key)
        if key in ("i_ref", "c"):
            values[key] = math.exp((math.log(a) + math.log(b)) / 2 + (math.log(a) - math.log(b)) / 6 * zk)
        else:
            values[key] = (a + b) / 2 + (a - b) / 6 * zk
    return Corner(**values)


def common_deviations(model, shape, seed, instance):
    """Deviations shared by many devices of one instance.

    Parameters
    ----------
    model : mixsig.device.calibration.DeviceModel
    shape : ChipShape
    seed, instance : int

    Returns
    -------
    reference : ndarray, shape (neuron,)
        ``ln`` of the factor of every referenced bias current of each neuron (chip master
        reference plus core bias generator).
    gradient : ndarray, shape (neuron,)
        Threshold shift of the neuron's devices from the die gradient, V.
    """
    common, key = model.common, _name_key("reference")
    reference = np.zeros(shape.n_neurons)
    for number, (level, sigma, index) in enumerate((("chip", common.reference_chip, shape.chip_of_neuron()),
                                                    ("core", common.reference_core, shape.core_of_neuron()))):
        if sigma > 0:
            rng = np.random.default_rng(instance_seed_sequence(seed, instance, PURPOSE_MISMATCH, key, number))
            reference += sigma * rng.standard_normal(shape.level_sizes()[level])[index]
    gradient = np.zeros(shape.n_neurons)
    if common.gradient_vt > 0:
        rng = np.random.default_rng(instance_seed_sequence(seed, instance, PURPOSE_MISMATCH, _name_key("gradient")))
        slope = common.gradient_vt * rng.standard_normal((shape.n_chips, 2))[shape.chip_of_neuron()]
        x, y = die_positions(shape)
        gradient = slope[:, 0] * x + slope[:, 1] * y
    return reference, gradient


def _shared_shift(stats, model, corner, reference, gradient):
    """Native deviation that the common factors and the corner add to one parameter's devices."""
    ut0 = thermal_voltage(model.temperature.t_nominal)
    if stats.source == "capacitor":
        return np.full_like(reference, math.log(corner.c))
    dvt = gradient + (corner.dvt_p if stats.transistor == "p" else corner.dvt_n)
    if stats.source == "threshold":
        return dvt
    fixed_gate = model.temperature.bias == "fixed_gate"
    ln_current = (reference + math.log(corner.i_ref)) * stats.reference
    ln_current = ln_current - stats.kappa * (gradient + (dvt - gradient) * fixed_gate) / ut0
    if stats.source == "bias":
        return ln_current * ut0 / stats.kappa
    return math.log(corner.c) - ln_current


def _name_key(name):
    return zlib.crc32(name.encode("utf-8"))


def _level_draw(stats, level, size, seed_sequence):
    """Draws of one level of one parameter for one instance, native units, shape (size,)."""
    rng = np.random.default_rng(seed_sequence)
    if level == stats.level and stats.table is not None:
        return np.interp(rng.random(size), stats.table.cdf, stats.table.value)
    return stats.sigma[level] * rng.standard_normal(size)


def _device_deviation(stats, shape, seed, instance):
    """Total native deviation of one parameter for one instance, shape (device,)."""
    sizes = shape.level_sizes()
    device_level = stats.level
    if device_level == "neuron":
        index = {"chip": shape.chip_of_neuron(), "core": shape.core_of_neuron(), "neuron": np.arange(shape.n_neurons)}
    else:
        neuron = shape.neuron_of_synapse()
        index = {
            "chip": shape.chip_of_neuron()[neuron],
            "core": shape.core_of_neuron()[neuron],
            "neuron": neuron,
            "synapse": np.arange(shape.n_synapses),
        }
    total = np.zeros(sizes[device_level])
    key = _name_key(stats.name)
    for number, level in enumerate(LEVELS[: LEVELS.index(device_level) + 1]):
        if level in stats.sigma or (level == device_level and stats.table is not None):
            ss = instance_seed_sequence(seed, instance, PURPOSE_MISMATCH, key, number)
            total += _level_draw(stats, level, sizes[level], ss)[index[level]]
    return total


def _ageing_rate(model, stats, shape, seed, instance):
    """Per-device ageing rate (V per decade), shape (device,)."""
    size = shape.level_sizes()[stats.level]
    ss = instance_seed_sequence(seed, instance, PURPOSE_MISMATCH, _name_key(stats.name), _AGEING_STREAM)
    return model.ageing.rate + model.ageing.spread * np.random.default_rng(ss).standard_normal(size)


_NATIVE = {
    "pulse": ("1", "log relative deviation ln(t/t_nom) of"),
    "bias": ("V", "threshold-voltage offset (gate-overdrive deviation) of"),
    "capacitor": ("1", "log relative deviation ln(C/C_nom) of"),
    "threshold": ("V", "voltage offset of"),
}


def sample_mismatch(model, n_cores, neurons_per_core, synapses_per_neuron, n_chips=1, instances=1, seed=0, corner="tt"):
    """Draw every parameter of a device model for a set of chip instances.

    Parameters
    ----------
    model : mixsig.device.calibration.DeviceModel
    n_cores, neurons_per_core, synapses_per_neuron, n_chips : int
        Chip shape (see :class:`ChipShape`).
    instances : int or sequence of int
        Number of instances (indices ``0 .. n-1``) or explicit instance indices.
    seed : int
        User seed.
    corner : str
        Process corner: a name of ``model.corners`` or ``"mc"`` (see ``model.corner_names()``).

    Returns
    -------
    xarray.Dataset
        One variable per parameter ``<block>.<field>`` holding its native deviation, shaped
        ``(instance, neuron)`` or ``(instance, synapse)``: ``dVT`` in V for biases, ``ln(C/C_nom)``
        for capacitors, ``dV`` in V for thresholds; and ``<block>.<field>.ageing_rate`` (V per
        decade) for biases and thresholds. Coordinates ``instance``, ``neuron``, ``core(neuron)``,
        ``chip(neuron)``, ``synapse``, ``synapse_neuron(synapse)``. Attributes carry what
        :func:`mixsig.device.drift.factors` needs (kappa, source, temperature and ageing laws)
        and the model's provenance (name, sha256).
    """
    import xarray as xr

    shape = ChipShape(n_cores, neurons_per_core, synapses_per_neuron, n_chips)
    instance_ids, variables, attrs = draw_deviations(model, shape, instances, seed, corner)
    dims = {"neuron": ("instance", "neuron"), "synapse": ("instance", "synapse")}
    variables = {name: xr.Variable(dims[level], values, var_attrs) for name, (level, values, var_attrs) in variables.items()}
    coords = {
        "instance": ("instance", instance_ids, {"long_name": "chip instance index", "units": "1"}),
        "neuron": ("neuron", np.arange(shape.n_neurons), {"long_name": "neuron index", "units": "1"}),
        "core": ("neuron", shape.core_of_neuron(), {"long_name": "global core index of the neuron", "units": "1"}),
        "chip": ("neuron", shape.chip_of_neuron(), {"long_name": "chip index of the neuron", "units": "1"}),
        "synapse": ("synapse", np.arange(shape.n_synapses), {"long_name": "synapse index", "units": "1"}),
        "synapse_neuron": ("synapse", shape.neuron_of_synapse(), {"long_name": "neuron of the synapse", "units": "1"}),
    }
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def draw_deviations(model, shape, instances, seed, corner="tt", scale=1.0):
    """The draws of :func:`sample_mismatch` as plain arrays (no xarray objects).

    Parameters
    ----------
    model : mixsig.device.calibration.DeviceModel
    shape : ChipShape
    instances : int or sequence of int
        Number of instances (indices ``0 .. n-1``) or explicit instance indices.
    seed : int
        User seed.
    corner : str
        Process corner (see :func:`sample_mismatch`).
    scale : float
        Factor on every mismatch deviation (device levels, shared levels, common reference and
        gradient); the corner's global shift is not mismatch and is not scaled.

    Returns
    -------
    instance_ids : ndarray of int64, shape (instance,)
    variables : dict of str to (str, ndarray, dict)
        ``name -> (level, values, attrs)``: ``level`` is ``"neuron"`` or ``"synapse"``, ``values``
        is shaped ``(instance, n_neurons)`` or ``(instance, n_synapses)``; names and attributes are
        those of the :func:`sample_mismatch` variables.
    attrs : dict
        The :func:`sample_mismatch` dataset attributes.
    """
    instance_ids = np.arange(instances) if np.ndim(instances) == 0 else np.asarray(instances)
    if instance_ids.ndim != 1 or (instance_ids.size and (not np.issubdtype(instance_ids.dtype, np.integer) or instance_ids.min() < 0)):
        raise ValueError(f"instances must be a count or a 1-D sequence of integers >= 0, got {instances!r}")
    instance_ids = instance_ids.astype(np.int64)
    if corner not in model.corner_names():
        raise ValueError(f"corner {corner!r}: expected one of {', '.join(model.corner_names())}")
    corners = [instance_corner(model, corner, seed, i) for i in instance_ids]
    common = [common_deviations(model, shape, seed, i) for i in instance_ids]
    synapse_neuron = shape.neuron_of_synapse()
    variables = {}
    for name, stats in model.parameters.items():
        if stats.level == "synapse" and shape.synapses_per_neuron == 0:
            continue
        units, what = _NATIVE[stats.source]
        values = np.zeros((len(instance_ids), shape.level_sizes()[stats.level]))
        for row, i in enumerate(instance_ids):
            shared = _shared_shift(stats, model, Corner(), *common[row])
            global_shift = _shared_shift(stats, model, corners[row], np.zeros(1), np.zeros(1))
            shared = shared[synapse_neuron] if stats.level == "synapse" else shared
            values[row] = scale * (_device_deviation(stats, shape, seed, i) + shared) + global_shift
        attrs = {
            "units": units,
            "long_name": f"{what} {name}",
            "source": stats.source,
            "kappa": stats.kappa,
            "level": stats.level,
            "distribution": stats.distribution,
        }
        variables[name] = (stats.level, values, attrs)
        if stats.source != "capacitor":
            rates = np.stack([_ageing_rate(model, stats, shape, seed, i) for i in instance_ids]) if len(instance_ids) else values.copy()
            variables[f"{name}.ageing_rate"] = (
                stats.level, rates, {"units": "V", "long_name": f"threshold shift per decade of stress time of {name}"})
    temperature = model.temperature
    attrs = {
        "device_model": model.name,
        "device_model_sha256": model.sha256,
        "seed": int(seed),
        "n_chips": shape.n_chips,
        "n_cores": shape.n_cores,
        "neurons_per_core": shape.neurons_per_core,
        "synapses_per_neuron": shape.synapses_per_neuron,
        "t_nominal": temperature.t_nominal,
        "dvt_dt": temperature.dvt_dt,
        "bias_mode": temperature.bias,
        "i_spec": temperature.i_spec,
        "ageing_tau": model.ageing.tau,
        "age_at_start": model.ageing.age_at_start,
        "corner": corner,
    }
    return instance_ids, variables, attrs
