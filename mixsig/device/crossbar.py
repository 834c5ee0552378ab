"""Crossbar device models: programming, drift, read noise and faults of resistive memory devices.

A crossbar device model is a TOML file of the same family as the CMOS calibration files
(``device_models/``, ``[model]`` header, SI values with source tags, every problem reported at
once, unknown keys refused) whose ``[model] kind = "crossbar"``; its sections are documented in
``docs/substrate_crossbar.md``. The statistics (shipped: ``pcm_ibm``, Joshi et al. 2020 Nat.
Commun. 11:2473 / Nandakumar et al. 2019 ICECS) act in this order for one array:

1. **faults**: each device is stuck at ``g_max`` (probability ``stuck_on``) or ``g_min``
   (``stuck_off``), whatever is programmed;
2. **program-and-verify**: from ``g_min``, each pulse moves a device by a fraction ``eta`` of its
   error plus write noise, ``G <- G + eta (G_T - G) + sigma_prog(G_T) z`` (the pulse acts with
   probability ``p_switch``), and the loop stops for a device once its verify read is within
   ``tolerance_sigma sigma_prog(G_T)`` of the target or after ``max_iterations`` pulses; ``eta`` is per device, lognormal around ``pulse_gain`` with CV
   ``d2d_cv`` (device-to-device variability); ``G`` stays in ``[0, g_max]``;
3. **drift**: ``G(t) = G_prog ((t + t0)/t0)^-nu`` with ``nu ~ |N(mu_nu(g_T), sigma_nu(g_T))|`` per
   device, ``t`` the time since programming (experiment input ``t_since_program``);
4. **read noise** (1/f): ``G_read = G(t) (1 + Q_s(g_T) sqrt(ln((t + t0 + t_read)/(2 t_read))) z)``,
   one draw per device and read time (aihwkit's convention: the accumulated 1/f fluctuation).

Every draw takes a ``numpy.random.Generator`` the caller derives from the run's seed through
``numpy.random.SeedSequence`` (:func:`array_generators`).
"""

import dataclasses
import math
import tomllib
import types

import numpy as np

from mixsig import paths
from mixsig.circuits.crossbar import CrossbarParams, read
from mixsig.device.mismatch import PURPOSE_MISMATCH, PURPOSE_NOISE, instance_seed_sequence
from mixsig.errors import ConfigError, Problem, raise_if_any

SECTIONS = {
    "model": ("name", "kind", "description", "technology"),
    "conductance": ("g_min", "g_max", "levels"),
    "variability": ("pulse_gain", "d2d_cv"),
    "programming": ("noise_c0", "noise_c1", "noise_c2", "tolerance_sigma", "max_iterations", "p_switch"),
    "drift": ("t0", "nu_m0", "nu_m1", "nu_mu_min", "nu_mu_max", "nu_s0", "nu_s1", "nu_s_min", "nu_s_max"),
    "read_noise": ("t_read", "q0", "q_exp", "q_max"),
    "faults": ("stuck_on", "stuck_off"),
}
"""Sections of a crossbar device model and their keys (all required)."""

CROSSBAR_STREAM = 0xC0B
"""Spawn-key element (after instance and purpose) of the crossbar draws."""

G_FLOOR = 1e-7
"""Smallest relative target conductance used in the ``ln g_T`` and ``g_T^-q`` laws (aihwkit's clip)."""


@dataclasses.dataclass(frozen=True)
class CrossbarModel:
    """A validated crossbar device model (fields as the file's keys, SI units).

    Attributes
    ----------
    name, description, technology, source : str
    sections : dict of str to dict of str to float
        Numeric values by section and key.
    """

    name: str
    description: str
    technology: str
    source: str
    sections: dict

    def __getattr__(self, key):
        for values in self.__dict__.get("sections", {}).values():
            if key in values:
                return values[key]
        raise AttributeError(key)

    def replace(self, **values):
        """A copy with some numeric values replaced (keys as in the file; validated again).

        Raises
        ------
        mixsig.errors.ConfigError
        """
        data = {section: dict(keys) for section, keys in self.sections.items()}
        for key, value in values.items():
            section = next((s for s, keys in SECTIONS.items() if key in keys and s != "model"), None)
            if section is None:
                raise_if_any([Problem(self.source, key, value, "a numeric key of a crossbar device model")],
                             f"crossbar device model {self.name}")
            data[section][key] = value
        data["model"] = {"name": self.name, "kind": "crossbar", "description": self.description,
                         "technology": self.technology}
        return parse_crossbar_model(data, self.source)


def _number_problem(section, key, value):
    """What ``value`` should be, or None when it is valid."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "a finite number"
    rules = {
        ("conductance", "g_min"): (value >= 0, "a conductance >= 0 S"),
        ("conductance", "g_max"): (value > 0, "a conductance > 0 S"),
        ("conductance", "levels"): (isinstance(value, int) and value >= 2, "an integer >= 2"),
        ("variability", "pulse_gain"): (0 < value <= 2, "a number in (0, 2] (fraction of the error a pulse removes)"),
        ("variability", "d2d_cv"): (0 <= value <= 10, "a coefficient of variation in [0, 10]"),
        ("programming", "tolerance_sigma"): (value > 0, "a number > 0 (verify window in units of the write noise)"),
        ("programming", "max_iterations"): (isinstance(value, int) and 1 <= value <= 10000, "an integer in 1..10000"),
        ("programming", "p_switch"): (0 < value <= 1, "a probability in (0, 1]"),
        ("drift", "t0"): (value > 0, "a time > 0 s"),
        ("read_noise", "t_read"): (value > 0, "a time > 0 s"),
        ("read_noise", "q_max"): (value >= 0, "a number >= 0"),
        ("faults", "stuck_on"): (0 <= value <= 1, "a probability in [0, 1]"),
        ("faults", "stuck_off"): (0 <= value <= 1, "a probability in [0, 1]"),
    }
    for key_min in ("nu_mu_min", "nu_s_min"):
        rules[("drift", key_min)] = (value >= 0, "a drift exponent >= 0 (nu < 0 would make G grow)")
    ok, expected = rules.get((section, key), (True, ""))
    return None if ok else expected


def parse_crossbar_model(data, source="<crossbar model>"):
    """Validate a parsed crossbar device model.

    Parameters
    ----------
    data : dict
        The TOML document.
    source : str
        File name for the messages.

    Returns
    -------
    CrossbarModel

    Raises
    ------
    mixsig.errors.ConfigError
        Listing every problem (missing, unknown or invalid keys; inverted ranges).
    """
    problems = []
    for key in data:
        if key not in SECTIONS:
            problems.append(Problem(source, key, data[key], f"one of the sections {', '.join(SECTIONS)}"))
    sections = {}
    for section, keys in SECTIONS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            problems.append(Problem(source, section, table, "a table"))
            continue
        for key in table:
            if key not in keys:
                problems.append(Problem(source, f"{section}.{key}", table[key], f"one of the keys {', '.join(keys)}"))
        values = {}
        for key in keys:
            if key not in table:
                problems.append(Problem(source, f"{section}.{key}", None, "a value"))
                continue
            value = table[key]
            if section == "model":
                if not isinstance(value, str) or (key == "kind" and value != "crossbar"):
                    problems.append(Problem(source, f"model.{key}", value, '"crossbar"' if key == "kind" else "a string"))
                continue
            expected = _number_problem(section, key, value)
            if expected:
                problems.append(Problem(source, f"{section}.{key}", value, expected))
            else:
                values[key] = value
        if section != "model":
            sections[section] = values
    g = sections.get("conductance", {})
    if "g_min" in g and "g_max" in g and g["g_min"] >= g["g_max"]:
        problems.append(Problem(source, "conductance.g_max", g["g_max"], f"above g_min = {g['g_min']!r} S (range not inverted)"))
    drift = sections.get("drift", {})
    for low, high in (("nu_mu_min", "nu_mu_max"), ("nu_s_min", "nu_s_max")):
        if low in drift and high in drift and drift[low] > drift[high]:
            problems.append(Problem(source, f"drift.{high}", drift[high], f">= drift.{low} = {drift[low]!r}"))
    faults = sections.get("faults", {})
    if faults.get("stuck_on", 0) + faults.get("stuck_off", 0) > 1:
        problems.append(Problem(source, "faults", faults, "stuck_on + stuck_off <= 1"))
    raise_if_any(problems, f"crossbar device model {source}")
    model = data["model"]
    return CrossbarModel(model["name"], model["description"], model["technology"], source, sections)


def load_crossbar_model(name_or_path, relative_to=None):
    """Load and validate a crossbar device model (a shipped name such as ``"pcm_ibm"`` or a path).

    Returns
    -------
    CrossbarModel

    Raises
    ------
    mixsig.errors.ConfigError
    """
    resource, _ = paths.resolve(name_or_path, "device_models", relative_to)
    text = paths.read_text(resource, "crossbar device model")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise_if_any([Problem(str(resource), "<file>", None, f"valid TOML ({error})")], "crossbar device model")
    return parse_crossbar_model(data, str(resource))


def array_generators(seed, instance, *key):
    """Generators of one chip instance's crossbar draws: ``(programming, read)``.

    Programming (faults, device response, write noise, drift exponents) is a property of the
    programmed chip (purpose mismatch); read noise is per read (purpose noise). ``key`` (ints)
    tells apart the arrays of an instance and its read times.
    """
    return (np.random.default_rng(instance_seed_sequence(seed, instance, PURPOSE_MISMATCH, CROSSBAR_STREAM, *key)),
            np.random.default_rng(instance_seed_sequence(seed, instance, PURPOSE_NOISE, CROSSBAR_STREAM, *key)))


def _relative(g_target, model):
    return np.maximum(np.asarray(g_target, dtype=float) / model.g_max, G_FLOOR)


def programming_sigma(g_target, model):
    """Write-noise standard deviation of one pulse at target ``g_target`` (S), ``>= 0``."""
    x = np.asarray(g_target, dtype=float) / model.g_max
    sigma = model.noise_c0 + model.noise_c1 * x + model.noise_c2 * x * x
    return np.maximum(sigma, 0.0) * (model.g_max / 25e-6)


def drift_moments(g_target, model):
    """Mean and standard deviation of the drift exponent at target ``g_target`` (before ``|.|``)."""
    log_g = np.log(_relative(g_target, model))
    mu = np.clip(model.nu_m0 + model.nu_m1 * log_g, model.nu_mu_min, model.nu_mu_max)
    sigma = np.clip(model.nu_s0 + model.nu_s1 * log_g, model.nu_s_min, model.nu_s_max)
    return mu, sigma


def read_noise_q(g_target, model):
    """1/f read-noise coefficient ``Q_s`` at target ``g_target``."""
    return np.minimum(model.q0 / _relative(g_target, model) ** model.q_exp, model.q_max)


@dataclasses.dataclass(frozen=True)
class ProgrammedArray:
    """Devices of one array after programming (all arrays of the array's shape).

    Attributes
    ----------
    g_target : ndarray
        Target conductances, S.
    g_prog : ndarray
        Conductances reached at the end of programming, S.
    nu : ndarray
        Drift exponent per device.
    iterations : ndarray of int
        Pulses each device took.
    stuck : ndarray of int8
        0 healthy, 1 stuck at ``g_max``, -1 stuck at ``g_min``.
    """

    g_target: np.ndarray
    g_prog: np.ndarray
    nu: np.ndarray
    iterations: np.ndarray
    stuck: np.ndarray


def program(g_target, model, rng, drift_scale=1.0):
    """Program an array by iterative program-and-verify (module steps 1-3 draws).

    Parameters
    ----------
    g_target : ndarray
        Target conductances, S (any shape).
    model : CrossbarModel
    rng : numpy.random.Generator
        Programming generator (:func:`array_generators`).
    drift_scale : float
        Factor on every drift exponent (0 switches drift off).

    Returns
    -------
    ProgrammedArray
    """
    g_target = np.asarray(g_target, dtype=float)
    shape = g_target.shape
    u = rng.random(shape)
    stuck = np.where(u < model.stuck_on, 1, np.where(u < model.stuck_on + model.stuck_off, -1, 0)).astype(np.int8)
    sigma_ln = math.sqrt(math.log1p(model.d2d_cv ** 2))
    eta = model.pulse_gain * np.exp(sigma_ln * rng.standard_normal(shape) - 0.5 * sigma_ln ** 2)
    sigma_w = programming_sigma(g_target, model)
    window = model.tolerance_sigma * sigma_w
    g = np.full(shape, model.g_min)
    iterations = np.zeros(shape, dtype=np.int64)
    active = np.abs(g - g_target) > window
    for _ in range(model.max_iterations):
        z = rng.standard_normal(shape)
        acts = rng.random(shape) < model.p_switch
        if not active.any():
            continue  # keep the stream's consumption independent of convergence
        moved = np.clip(g + eta * (g_target - g) + sigma_w * z, 0.0, model.g_max)
        g = np.where(active & acts, moved, g)
        iterations += active
        active &= np.abs(g - g_target) > window
    g = np.where(stuck == 1, model.g_max, np.where(stuck == -1, model.g_min, g))
    mu, sigma = drift_moments(g_target, model)
    nu = np.abs(mu + sigma * rng.standard_normal(shape)) * drift_scale
    return ProgrammedArray(g_target, g, nu, iterations, stuck)


def drifted(array, t, model):
    """Conductances ``t`` seconds after programming (drift only), S."""
    factor = ((t + model.t0) / model.t0) ** (-array.nu)
    return np.where(array.stuck != 0, array.g_prog, array.g_prog * factor)


def read_conductances(array, t, model, rng, read_noise=True):
    """Conductances a read sees ``t`` seconds after programming: drift and 1/f read noise, S.

    Parameters
    ----------
    array : ProgrammedArray
    t : float
        Time since programming, s (>= 0).
    model : CrossbarModel
    rng : numpy.random.Generator
        Read generator (:func:`array_generators`); one draw per device.
    read_noise : bool

    Returns
    -------
    ndarray
    """
    g = drifted(array, t, model)
    z = rng.standard_normal(g.shape)
    if not read_noise:
        return g
    elapsed = t + model.t0
    sigma = read_noise_q(array.g_target, model) * math.sqrt(math.log((elapsed + model.t_read) / (2 * model.t_read)))
    return np.clip(g * (1.0 + sigma * z), 0.0, None)


PERIPHERY_KEYS = ("r_wire", "dac_bits", "adc_bits")
"""Optional ``[crossbar]`` keys of a chip config: the array periphery (:class:`mixsig.circuits.crossbar.CrossbarParams`)."""


@dataclasses.dataclass(frozen=True)
class CrossbarSynapses:
    """A chip's synapses stored on crossbar arrays (chip config section ``[crossbar]``).

    Each synapse (CAM entry) is one differential pair: its nominal weight current ``I_w`` (the
    chip's weight bits) is the target ``I_w = v_read (G+ - G-)``, with ``G+`` programmed to
    ``I_w / v_read`` on the model's ``levels`` grid and ``G-`` left at ``g_min``; the synapse type
    keeps the sign (AMPA and NMDA excite, GABA and SHUNT inhibit). Each core is one array whose
    rows are the CAM slots and whose columns are the core's neurons (``G+`` and ``G-`` columns
    interleaved); a spike arriving at a synapse drives its row at ``v_read`` through the DAC
    (the other rows at 0 V), and the ADC digitises the column currents, with IR drop along the
    lines when ``periphery.r_wire > 0`` (:func:`mixsig.circuits.crossbar.read`).

    Attributes
    ----------
    model : CrossbarModel
    v_read : float
        Read voltage of a synapse's row during a pulse, V.
    periphery : CrossbarParams
        Conductance range and levels of ``model``, ``v_read``, wire resistance, DAC and ADC bits.
    i_fs : float
        ADC full scale, A: the chip's largest weight current (the largest current one read of a
        programmed pair is meant to give).
    """

    model: CrossbarModel
    v_read: float
    periphery: object
    i_fs: float

    def targets(self, nominal):
        """Target conductances of the ``G+`` devices storing weight currents ``nominal`` (A), S."""
        model = self.model
        span = model.g_max - model.g_min
        return model.g_min + np.rint(np.clip(nominal / self.v_read - model.g_min, 0.0, span) / span
                                     * (model.levels - 1)) / (model.levels - 1) * span

    def arrays(self, nominal, synapse, shape, t_since_program, seed, instance):
        """Read conductances of every array of one chip instance that holds a synapse.

        Array ``a`` (global core index) is programmed from the instance's crossbar streams
        (:func:`array_generators` with key ``(0, a)``) and read ``t_since_program`` s after
        programming (drift, one 1/f read-noise draw per device).

        Parameters
        ----------
        nominal : ndarray, shape (synapses,)
            Nominal weight currents, A (>= 0).
        synapse : ndarray of int, shape (synapses,)
            Global synapse slot, ``neuron * rows + slot``.
        shape : tuple of int
            ``(rows, columns)`` of an array: CAM slots per neuron, neurons per core.
        t_since_program : float
            s.
        seed, instance : int

        Returns
        -------
        dict of int to (ndarray, ndarray)
            ``G+`` and ``G-`` read conductances, each shape ``(rows, columns)``, S, by array.
        """
        rows, columns = shape
        array, within = np.divmod(np.asarray(synapse, dtype=np.int64), rows * columns)
        column, row = np.divmod(within, rows)
        out = {}
        for a in np.unique(array):
            chosen = array == a
            target = np.full((2, rows, columns), self.model.g_min)
            target[0, row[chosen], column[chosen]] = self.targets(np.asarray(nominal, dtype=float)[chosen])
            programming, reading = array_generators(seed, instance, 0, int(a))
            g = read_conductances(program(target, self.model, programming), t_since_program, self.model, reading)
            out[int(a)] = (g[0], g[1])
        return out

    def currents(self, nominal, synapse, shape, t_since_program, seed, instance):
        """Weight currents the pairs of one chip instance deliver ``t_since_program`` s after programming.

        Each synapse's current is the ADC output of its column when its row alone is driven at
        full scale (:meth:`arrays`, then :func:`mixsig.circuits.crossbar.read` of the unit inputs),
        floored at 0 A.

        Parameters
        ----------
        nominal, synapse, shape, t_since_program, seed, instance
            As :meth:`arrays`.

        Returns
        -------
        ndarray, shape (synapses,)
            A.
        """
        rows, columns = shape
        array, within = np.divmod(np.asarray(synapse, dtype=np.int64), rows * columns)
        column, row = np.divmod(within, rows)
        out = np.zeros(np.shape(synapse))
        for a, (g_plus, g_minus) in self.arrays(nominal, synapse, shape, t_since_program, seed, instance).items():
            chosen = array == a
            read_out = read(g_plus, g_minus, np.eye(rows), self.periphery, self.i_fs)
            out[chosen] = read_out[row[chosen], column[chosen]]
        return np.maximum(out, 0.0)


def parse_crossbar_synapses(source, table, folder, max_weight, problems):
    """Validate a chip config's ``[crossbar]`` table; return :class:`CrossbarSynapses` or None.

    Parameters
    ----------
    source : str
        Chip config file, for the messages.
    table : dict
        ``device_model`` (crossbar device model name or path, relative to ``folder``),
        ``v_read`` (V > 0) and optionally the periphery :data:`PERIPHERY_KEYS` (defaults of
        :class:`mixsig.circuits.crossbar.CrossbarParams`).
    folder : path or None
        Folder of the chip config.
    max_weight : float or None
        Largest weight current of the chip, A: it must fit in ``v_read (g_max - g_min)``; it is
        the ADC's full scale.
    problems : list
        Extended with every problem found.
    """
    allowed = ("device_model", "v_read") + PERIPHERY_KEYS
    for key in sorted(set(table) - set(allowed)):
        problems.append(Problem(source, f"crossbar.{key}", table[key], f"one of the keys {', '.join(allowed)}"))
    v_read = table.get("v_read")
    if isinstance(v_read, bool) or not isinstance(v_read, (int, float)) or not math.isfinite(v_read) \
            or not 0 < v_read <= 5.0:
        problems.append(Problem(source, "crossbar.v_read", v_read, "a read voltage in (0, 5] V"))
        v_read = None
    name = table.get("device_model")
    if not isinstance(name, str):
        problems.append(Problem(source, "crossbar.device_model", name, "a crossbar device model name or path"))
        return None
    try:
        model = load_crossbar_model(name, folder)
    except ConfigError as error:
        problems.append(Problem(source, "crossbar.device_model", name, "a valid crossbar device model (problems below)"))
        problems.extend(error.problems)
        return None
    if v_read is None:
        return None
    periphery = {key: table[key] for key in PERIPHERY_KEYS if key in table}
    fields = dict(g_min=model.g_min, g_max=model.g_max, levels=model.levels, v_read=float(v_read))
    defaults = {field.name: field.default for field in dataclasses.fields(CrossbarParams)}
    found = CrossbarParams.problems(types.SimpleNamespace(**{**defaults, **fields, **periphery}))
    problems.extend(Problem(source, f"crossbar.{key}", value, expected) for key, value, expected in found)
    if found:
        return None
    if max_weight is not None and max_weight > v_read * (model.g_max - model.g_min) * (1 + 1e-12):
        problems.append(Problem(source, "crossbar.v_read", v_read,
                                f"a read voltage at which the largest weight current ({max_weight:.3g} A) fits in "
                                f"v_read (g_max - g_min) of {model.name}"))
    i_fs = max_weight if max_weight else float(v_read) * (model.g_max - model.g_min)
    return CrossbarSynapses(model, float(v_read), CrossbarParams(**fields, **periphery), float(i_fs))
