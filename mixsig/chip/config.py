"""Chip configurations: structure, weight currents, router levels and per-core default biases.

A chip config (``chip_configs/<name>.toml``, documented field by field in
``docs/chip_configs.md``) describes one chip of the DYNAP-SE family:

* structure: ``n_cores`` cores of ``neurons_per_core`` neurons; each neuron has
  ``cam_per_neuron`` CAM entries (fan-in: tag, synapse type, weight mask) and
  ``sram_per_neuron`` SRAM destinations (fan-out: destination chip as x/y hops in
  ``[-max_hop, max_hop]``, a core mask of ``n_cores`` bits, a tag); tags are ``0 .. n_tags-1``;
* weights: a CAM entry carries a ``weight_bits``-bit mask. With ``weight_scheme = "mask"``
  (DYNAP-SE2) bit ``b`` switches on the per-core current ``synapse.i_w_<b>`` and the synaptic
  weight current is the sum of the selected bit currents,

  .. math:: I_w = \\sum_b m_b \\, I_{w,b}, \\qquad m_b \\in \\{0, 1\\};

  with ``weight_scheme = "per_type"`` (DYNAP-SE1, 1-bit weights) the entry either connects or
  not, and the weight current is the per-core, per-synapse-type bias ``synapse.i_w_<type>``;
* router levels ``core``, ``chip`` and ``mesh`` (and optionally ``broadcast``, the destination
  core's CAM-search stage), each a latency (s), a service time per event (s), a FIFO depth
  (events) and a policy (``"stall"`` or ``"drop"``), mapping 1:1 onto the AER router's link
  parameters;
* per-core default biases, keyed by namespaced parameter names ``<block>.<field>`` (SI floats,
  or ``{coarse, fine, type}`` bias-generator settings when :mod:`mixsig.device.biasgen` is
  available);
* a default board shape (``[board]``: ``nx`` x ``ny`` chips).

:func:`load_chip` validates a whole file, collects every problem and raises one
:class:`mixsig.errors.ConfigError`; unknown keys are errors.
"""

import dataclasses
import math
import pathlib
import tomllib
import types

import numpy as np

from mixsig import paths
from mixsig.aer.arbiter import ARBITERS
from mixsig.chip.capmem import nominal_problems, parse_capmem
from mixsig.device.crossbar import parse_crossbar_synapses

from mixsig.circuits.adex import AdExParams
from mixsig.circuits.delay import MAX_DELAY, MAX_SIGMA, DelayParams
from mixsig.circuits.digital_lif import LIFBlockParams
from mixsig.circuits.dpi import DPIParams
from mixsig.circuits.homeostasis import HomeostasisParams
from mixsig.circuits.soma import SomaParams
from mixsig.circuits.stp import STPParams
from mixsig.circuits.synapses import SynapseParams
from mixsig.errors import Problem, raise_if_any
from mixsig.params import attributes, names
from mixsig.reprs import Summary

SYN_TYPES = ("ampa", "nmda", "gaba", "shunt")
"""Synapse (dendrite) types in CAM order: ``syn_type`` 0..3. ``gaba`` is the subtractive
inhibitory DPI, ``shunt`` the shunting one (it adds to the soma leak)."""

SYN_TYPE_ALIASES = {"fast_exc": "ampa", "slow_exc": "nmda", "fast_inh": "shunt", "slow_inh": "gaba",
                    "gaba_a": "shunt", "gaba_b": "gaba"}
"""DYNAP-SE1 names of the synapse types: FAST_EXC = AMPA, SLOW_EXC = NMDA, FAST_INH = GABA_A =
the shunting synapse, SLOW_INH = GABA_B = the subtractive one [R: rockpool Dynapse1 synapse
types; physics reference 4.1]."""

ROUTER_LEVELS = ("core", "chip", "mesh", "broadcast")
"""Router levels: per-core encoder/arbiter, on-chip router between cores, inter-chip mesh (per hop),
destination-core broadcast (CAM search). ``broadcast`` is optional (absent: it costs nothing)."""

OPTIONAL_ROUTER_LEVELS = ("broadcast",)
"""Router levels a chip config may leave out (``mixsig.aer.router.DEFAULT_LEVELS`` then applies)."""

POLICIES = ("stall", "drop")

MAX_FIFO_DEPTH = 65536
"""Largest FIFO depth the AER router accepts (``mixsig.aer.router.LinkParams``)."""
"""What a router level does with an event that finds its FIFO full."""

WEIGHT_SCHEMES = ("mask", "per_type")

TAG_SCHEMES = ("free", "source_address")
"""How CAM tags are chosen: ``"free"`` (any tag not yet used on the destination core, DYNAP-SE2)
or ``"source_address"`` (DYNAP-SE1: the tag is the source's address ``core * neurons_per_core +
neuron``, with the core replaceable by a virtual core per SRAM entry; sources with equal tags on
one core alias)."""

DEFAULT_DEVICE_MODEL = "generic_180nm"
"""Device model whose bias generator converts coarse/fine settings when a chip names none."""

PROCESS_FIELDS = frozenset({"kappa", "u_t", "i_0"})
"""Circuit parameters set by the process and temperature (device model), not by per-core biases."""


def _circuit_fields(params_type):
    """Bias fields of a circuit params dataclass: name -> (units, long_name), process fields excluded."""
    return {name: tuple(attributes(params_type, name).values())
            for name in names(params_type) if name not in PROCESS_FIELDS}


def neuron_fields(params_type):
    """Bias fields of a neuron model's params dataclass (:data:`NEURON_MODELS`): name -> (units, long_name)."""
    return _circuit_fields(params_type)


SOMA_FIELDS = _circuit_fields(SomaParams)
"""Soma bias fields (from :class:`mixsig.circuits.soma.SomaParams`): name -> (units, long_name)."""

ADEX_FIELDS = _circuit_fields(AdExParams)
"""AdEx neuron bias fields (block ``adex``, :class:`mixsig.circuits.adex.AdExParams`): name -> (units, long_name)."""

NEURON_MODELS = {"silicon": ("soma", SomaParams), "adex": ("adex", AdExParams), "digital_lif": ("lif", LIFBlockParams)}
"""Neuron models a chip config may name (``chip.neuron_model``): name -> (bias block, params dataclass).
``"silicon"`` is the DYNAP current-mode soma, ``"adex"`` the mathematical AdEx of the
BrainScaleS-2 family, ``"digital_lif"`` the fixed-point LIF of the digital reference chip; the engine
picks the model's kernel (:func:`mixsig.engine.protocol.kernel_for`)."""

MODELS_WITHOUT_DPIS = frozenset({"digital_lif"})
"""Neuron models without DPI synapses: their chip configs have no ``ampa``, ``nmda``, ``gaba`` or
``shunt`` biases (the synapse types remain as signs of the weights: AMPA, NMDA excite, GABA, SHUNT inhibit)."""

DPI_FIELDS = _circuit_fields(DPIParams)
"""DPI bias fields (from :class:`mixsig.circuits.dpi.DPIParams`; blocks ``ampa``, ``nmda``,
``gaba``, ``shunt``): name -> (units, long_name)."""

STP_FIELDS = _circuit_fields(STPParams)
"""Short-term depression bias fields (block ``stp``, :class:`mixsig.circuits.stp.STPParams`), shared
by the synapse types on which it is switched on: name -> (units, long_name)."""

HOMEOSTASIS_FIELDS = _circuit_fields(HomeostasisParams)
"""Homeostatic scaling bias fields (block ``homeostasis``,
:class:`mixsig.circuits.homeostasis.HomeostasisParams`): name -> (units, long_name)."""

SWITCHES = {
    **{f"stp.enable_{syn}": ("1", f"short-term depression on the {syn.upper()} synapses (1 on, 0 off)")
       for syn in SYN_TYPES},
    "homeostasis.enable": ("1", "homeostatic scaling of the excitatory (AMPA, NMDA) weights (1 on, 0 off)"),
}
"""On/off biases of the adaptation blocks (value 0 or 1): name -> (units, long_name)."""

ADAPTATION_DEFAULTS = {
    **{name: 0.0 for name in SWITCHES},
    **{f"stp.{name}": float(field.default) for name, field in STPParams.__dataclass_fields__.items()
       if name in STP_FIELDS},
    **{f"homeostasis.{name}": float(field.default)
       for name, field in HomeostasisParams.__dataclass_fields__.items() if name in HOMEOSTASIS_FIELDS},
}
"""Values of the ``stp`` and ``homeostasis`` biases a chip config may omit: both blocks off, and the
circuits' default parameters, so that a config written before these blocks existed loads unchanged."""

ZERO_ALLOWED = frozenset({"soma.i_dc", "soma.i_fb_0", "soma.i_w_ahp", "soma.t_pulse_ahp", "adex.i_ext", "lif.i_dc",
                          "lif.activation_shift", "lif.threshold_shift", *SWITCHES})
"""Biases that may be zero (switched off), as in ``SomaParams``, and the adaptation switches; every
other bias must be > 0."""

SIGNED = frozenset({"adex.a", "adex.b"})
"""Biases of either sign: the AdEx adaptation conductance and increment (Naud et al. 2008 use
``a < 0``; BrainScaleS-2's adaptation circuit has a sign switch for both)."""


BIAS_MAXIMA = {"A": 1e-3, "F": 1e-9, "V": 5.0, "s": 1e6, "Hz": 1e6, "1": 1e6}
"""Largest accepted bias per unit (SI) [asm: about 10x above anything a mixed-signal chip of the
DYNAP-SE family sets: bias currents up to ~100 uA, on-chip capacitors up to ~100 pF, supplies up
to 1.8-3.3 V, time constants up to 1e5 s of homeostasis]. A larger value is a unit mistake (nA
written as A, pF as F) and is refused instead of simulated."""


def bias_problem(name, value, units):
    """What a bias value is expected to be, if ``value`` is not a valid ``name`` bias.

    Parameters
    ----------
    name : str
        Namespaced bias name, e.g. ``"soma.i_tau"``.
    value : object
        The value (SI units).
    units : str
        Its units (a key of :data:`BIAS_MAXIMA`).

    Returns
    -------
    str or None
        The expectation for a problem report (with units and range), or None when valid.
    """
    if not _is_number(value):
        return f"a finite number in SI units ({units})"
    if switch_problem(name, value):
        return switch_problem(name, value)
    maximum = BIAS_MAXIMA.get(units, math.inf)
    if name in SIGNED:
        return None if abs(value) <= maximum else f"a value of magnitude <= {maximum:g} {units} (SI units)"
    low = ">= 0" if name in ZERO_ALLOWED else "> 0"
    if not (value >= 0 if name in ZERO_ALLOWED else value > 0) or value > maximum:
        return f"a value {low} and <= {maximum:g} {units} (SI units)"
    return None


def switch_problem(name, value):
    """What an adaptation switch expects, if its value is not 0 or 1.

    Parameters
    ----------
    name : str
        Namespaced bias name, e.g. ``"stp.enable_ampa"``.
    value : float
        Its value (1: switched on, 0: off).

    Returns
    -------
    str or None
        The expectation for a problem report, or None when ``name`` is no switch or ``value`` is valid.
    """
    if name in SWITCHES and value not in (0.0, 1.0):
        return "0 (off) or 1 (on)"
    return None


def weight_bias_names(weight_scheme, weight_bits):
    """Names of the per-core weight-current biases of a weight scheme.

    Parameters
    ----------
    weight_scheme : {"mask", "per_type"}
    weight_bits : int

    Returns
    -------
    tuple of str
        ``synapse.i_w_0 .. synapse.i_w_<bits-1>`` (``"mask"``) or ``synapse.i_w_<type>`` for
        every synapse type (``"per_type"``).
    """
    if weight_scheme == "per_type":
        return tuple(f"synapse.i_w_{syn}" for syn in SYN_TYPES)
    return tuple(f"synapse.i_w_{bit}" for bit in range(weight_bits))


def bias_fields(weight_scheme="mask", weight_bits=4, neuron_model="silicon"):
    """Every per-core bias of a chip: namespaced name -> (units, long_name).

    Parameters
    ----------
    weight_scheme : {"mask", "per_type"}
    weight_bits : int
    neuron_model : str
        A key of :data:`NEURON_MODELS`: its block's fields replace the silicon soma's.

    Returns
    -------
    dict
    """
    block, params_type = NEURON_MODELS[neuron_model]
    fields = {f"{block}.{name}": meta for name, meta in _circuit_fields(params_type).items()}
    for block in () if neuron_model in MODELS_WITHOUT_DPIS else SYN_TYPES:
        fields.update({f"{block}.{name}": (units, f"{long} ({block.upper()})") for name, (units, long) in DPI_FIELDS.items()})
    if neuron_model not in MODELS_WITHOUT_DPIS:
        fields["nmda.i_nmda_thr"] = tuple(attributes(SynapseParams, "i_nmda_thr").values())
    for name in weight_bias_names(weight_scheme, weight_bits):
        suffix = name.rsplit("_", 1)[1]
        what = f"mask bit {suffix}" if weight_scheme == "mask" else f"{suffix.upper()} synapses"
        fields[name] = ("A", f"synaptic weight current of {what}")
    fields.update({f"stp.{name}": meta for name, meta in STP_FIELDS.items()})
    fields.update({f"homeostasis.{name}": meta for name, meta in HOMEOSTASIS_FIELDS.items()})
    fields.update(SWITCHES)
    return fields


@dataclasses.dataclass(frozen=True)
class RouterLevel:
    """Timing of one AER router level; fields map 1:1 onto the router's ``LinkParams``.

    Attributes
    ----------
    latency : float
        Time from accepting an event to delivering it to the next level, s.
    service_time : float
        Time the level is busy per event (inverse throughput), s.
    fifo_depth : int
        Events the level's FIFO holds while it is busy.
    policy : {"stall", "drop"}
        What happens to an event that finds the FIFO full.
    placeholder : bool
        True when no published figure was available and the value is a placeholder default.
    arbiter : {"fifo", "tree", "round_robin"}
        Core level only: the encoder's arbiter (``mixsig.aer.arbiter``; default ``fifo``, oldest
        event first).
    arbitration_delay : float
        Core level only: delay per level of the arbiter tree, s (default 0).
    """

    latency: float
    service_time: float
    fifo_depth: int
    policy: str
    placeholder: bool = False
    arbiter: str = "fifo"
    arbitration_delay: float = 0.0

    def link_params(self):
        """The router's ``LinkParams`` for this level (``mixsig.aer.router``), or a dict.

        Returns
        -------
        mixsig.aer.router.LinkParams or dict
            A plain dict with the four fields when the router module is not available.
        """
        values = {"latency": self.latency, "service_time": self.service_time,
                  "fifo_depth": self.fifo_depth, "policy": self.policy, "arbiter": self.arbiter,
                  "arbitration_delay": self.arbitration_delay}
        try:
            from mixsig.aer.router import LinkParams
        except ImportError:
            return values
        return LinkParams(**values)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ChipConfig(Summary):
    """A validated, immutable chip configuration (see ``docs/chip_configs.md``).

    Attributes
    ----------
    name, description : str
    n_cores, neurons_per_core, cam_per_neuron, sram_per_neuron, n_tags, max_hop, weight_bits : int
    weight_scheme : {"mask", "per_type"}
    tag_scheme : {"free", "source_address"}
        How tags are allocated (:data:`TAG_SCHEMES`).
    device_model : str
        Device model (calibration file) whose bias generator converts coarse/fine settings.
    board : tuple of int
        Default board shape ``(nx, ny)``.
    router : mapping of str to RouterLevel
        Levels ``core``, ``chip``, ``mesh``.
    biases : mapping of str to ndarray, shape (n_cores,)
        Per-core bias values in SI units, keyed ``<block>.<field>`` (read-only arrays).
    bias_settings : mapping of str to tuple
        Per-core verbatim settings (floats or ``{coarse, fine, type}`` dicts) for provenance.
    source : str
        File the config was read from.
    toml_text : str
        Verbatim TOML text of the config.
    neuron_model : str
        Neuron model (:data:`NEURON_MODELS`), ``"silicon"`` unless the config names another.
    acceleration : float
        Hardware speed-up over model time: hardware time = model time / acceleration (1 for the
        DYNAP family, which runs in real time). Every time in configs, experiments and datasets is
        model time; datasets add the hardware times when this is not 1.
    capmem : CapMem or None
        Per-neuron parameter storage whose codes calibration trims (``[capmem]``), or None.
    crossbar : mixsig.device.crossbar.CrossbarSynapses or None
        Synapses stored as differential conductance pairs of a crossbar (``[crossbar]``), or None.
    energy : mixsig.aer.energy.EnergyParams or None
        Energy per operation (``[energy]``); None when the config has no ``[energy]`` section.
    delays : mapping of str to mixsig.circuits.delay.DelayParams
        Delay circuits a CAM synapse can select (``[delays.<name>]``); empty when the chip has none.
    """

    name: str
    description: str
    n_cores: int
    neurons_per_core: int
    cam_per_neuron: int
    sram_per_neuron: int
    n_tags: int
    max_hop: int
    weight_bits: int
    weight_scheme: str
    tag_scheme: str
    device_model: str
    board: tuple
    router: types.MappingProxyType
    biases: types.MappingProxyType
    bias_settings: types.MappingProxyType
    source: str
    toml_text: str
    neuron_model: str = "silicon"
    acceleration: float = 1.0
    capmem: object = None
    crossbar: object = None
    energy: object = None
    delays: object = dataclasses.field(default_factory=lambda: types.MappingProxyType({}))

    def _summary(self):
        return f"mixsig ChipConfig {self.name}", [
            ("cores", f"{self.n_cores} x {self.neurons_per_core} neurons"),
            ("per neuron", f"{self.cam_per_neuron} CAM, {self.sram_per_neuron} SRAM entries, {self.n_tags} tags"),
            ("weights", f"{self.weight_bits} bits ({self.weight_scheme})"),
            ("router levels", ", ".join(self.router)),
            ("device model", self.device_model),
            ("neuron model", f"{self.neuron_model}, acceleration {self.acceleration:g}"),
            ("source", pathlib.Path(self.source).name),
        ]

    def __eq__(self, other):
        if not isinstance(other, ChipConfig):
            return NotImplemented
        for field in dataclasses.fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if field.name == "biases":
                if set(mine) != set(theirs) or not all(np.array_equal(mine[k], theirs[k]) for k in mine):
                    return False
            elif (dict(mine) if isinstance(mine, types.MappingProxyType) else mine) != (
                    dict(theirs) if isinstance(theirs, types.MappingProxyType) else theirs):
                return False
        return True

    __hash__ = None

    @property
    def neurons_per_chip(self):
        """Neurons on one chip, ``n_cores * neurons_per_core``."""
        return self.n_cores * self.neurons_per_core

    @property
    def synapses_per_chip(self):
        """CAM synapse slots on one chip, ``neurons_per_chip * cam_per_neuron``."""
        return self.neurons_per_chip * self.cam_per_neuron

    def bias_attributes(self, name):
        """Dataset attributes of a bias.

        Parameters
        ----------
        name : str
            Namespaced bias name, e.g. ``"soma.i_tau"``.

        Returns
        -------
        dict
            ``{"units": ..., "long_name": ...}``.
        """
        units, long_name = bias_fields(self.weight_scheme, self.weight_bits, self.neuron_model)[name]
        return {"units": units, "long_name": long_name}

    def weight_currents(self):
        """Per-core weight current of every mask bit for every synapse type.

        Returns
        -------
        ndarray, shape (n_cores, 4, weight_bits)
            Entry ``[core, syn_type, bit]`` is the current (A) that bit ``bit`` of a CAM weight
            mask adds on a ``syn_type`` synapse of ``core``.
        """
        names = weight_bias_names(self.weight_scheme, self.weight_bits)
        table = np.stack([self.biases[name] for name in names], axis=-1)  # (n_cores, k)
        if self.weight_scheme == "per_type":
            return table[:, :, None].copy()
        return np.repeat(table[:, None, :], len(SYN_TYPES), axis=1)


def load_chip(name_or_path, relative_to=None):
    """Load and validate a chip config.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A chip name shipped in the ``chip_configs`` package (``"dynapse2"``, ``"dynapse1"``,
        ``"tiny"``; a shipped name always means the shipped file) or the path of a TOML file.
    relative_to : str or os.PathLike, optional
        Folder a relative path is taken from (the referring file's; default the working directory).

    Returns
    -------
    ChipConfig

    Raises
    ------
    mixsig.errors.ConfigError
        Listing every problem of the file (unknown keys included); a missing file, one that is
        not a regular file or one larger than :data:`mixsig.paths.MAX_TOML_BYTES`.
    """
    location, is_shipped = paths.resolve(name_or_path, "chip_configs", relative_to)
    if is_shipped:
        source = f"chip_configs/{location.name}"
    else:
        source = str(location)
        if not location.exists() and len(pathlib.Path(str(name_or_path)).parts) == 1 and location.suffix != ".toml":
            raise_if_any([Problem(source, "(name)", str(name_or_path),
                                  f"a chip config file or one of {paths.shipped_names('chip_configs')}")], "chip config")
    text = paths.read_text(location, "chip config")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise_if_any([Problem(source, "(syntax)", None, f"valid TOML ({error})")], "chip config")
    return chip_from_dict(data, source=source, toml_text=text)


_INT_KEYS = {
    "n_cores": (1, 16), "neurons_per_core": (1, 65536), "cam_per_neuron": (1, 4096), "sram_per_neuron": (1, 256),
    "n_tags": (1, 2**20), "max_hop": (0, 62), "weight_bits": (1, 16),
}
"""Accepted range of each structure field. ``n_cores`` and ``neurons_per_core`` are bounded by the
AER address (4 core bits and 16 neuron bits, :mod:`mixsig.aer.aedat`), ``max_hop`` by the
router (62 hops); the others are [asm] bounds 16-500x above the DYNAP-SE family
(64 CAM, 4 SRAM, 2048 tags, 4 weight bits) that keep the per-chip tables small (a ``weight_bits``
mask table has ``2**weight_bits`` rows)."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _flatten(table, prefix=""):
    """Flatten nested tables into dotted names (``{"soma": {"c_mem": x}}`` -> ``soma.c_mem``)."""
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not {"coarse", "fine", "type"} & set(value):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _has_coarse_fine(data):
    """Whether any bias of a parsed chip config is a coarse/fine setting."""
    per_core = data.get("core_biases")
    tables = [data.get("biases", {})] + (list(per_core.values()) if isinstance(per_core, dict) else [])
    return any(isinstance(value, dict) for table in tables if isinstance(table, dict)
               for value in _flatten(table).values())


def _bias_value(source, key, setting, problems, biasgen):
    """Convert one bias setting to SI; append problems; return float or None."""
    if isinstance(setting, dict):
        extra = set(setting) - {"coarse", "fine", "type"}
        if extra or not {"coarse", "fine", "type"} <= set(setting):
            problems.append(Problem(source, key, setting, "a table with exactly coarse, fine and type"))
            return None
        if biasgen is None:
            problems.append(Problem(source, key, setting, "an SI float (no bias generator available)"))
            return None
        if setting["type"] not in ("N", "P"):
            problems.append(Problem(source, f"{key}.type", setting["type"], '"N" or "P"'))
            return None
        try:
            return float(biasgen(setting["coarse"], setting["fine"], setting["type"]))
        except (ValueError, TypeError) as error:
            problems.append(Problem(source, key, setting, f"a valid bias-generator setting ({error})"))
            return None
    if not _is_number(setting):
        problems.append(Problem(source, key, setting, "a finite number in SI units"))
        return None
    return float(setting)


def _device_biasgen(model):
    """``current(coarse, fine, "N"|"P")`` of the bias generator of device model ``model``.

    Returns None when :mod:`mixsig.device.biasgen` is not available; raises ConfigError when the
    device model cannot be loaded.
    """
    try:
        from mixsig.device.biasgen import BiasGenerator
    except ImportError:
        return None
    generator = BiasGenerator.from_model(model)
    return lambda coarse, fine, polarity: generator.current(coarse, fine, polarity.lower())


def chip_from_dict(data, source="<chip>", toml_text="", biasgen=None):
    """Validate a parsed chip config and build a :class:`ChipConfig`.

    Parameters
    ----------
    data : dict
        Parsed TOML tables.
    source : str
        Name used in problem reports.
    toml_text : str
        Verbatim text kept for provenance.
    biasgen : callable, optional
        ``current(coarse, fine, "N"|"P") -> A`` used for coarse/fine settings; by default the
        bias generator of the chip's ``device_model``.

    Returns
    -------
    ChipConfig

    Raises
    ------
    mixsig.errors.ConfigError
    """
    problems = []
    top_keys = {"chip", "board", "router", "energy", "delays", "biases", "core_biases", "capmem", "crossbar"}
    for key in sorted(set(data) - top_keys):
        problems.append(Problem(source, key, data[key], f"one of the sections {sorted(top_keys)}"))
    structure = _parse_chip_section(source, _table(source, data, "chip", problems), problems)
    if isinstance(structure["device_model"], str):  # a relative path is relative to the chip file
        location, is_shipped = paths.resolve(structure["device_model"], "device_models", paths.referring_folder(source))
        if not is_shipped:
            structure["device_model"] = str(location)
    if biasgen is None and isinstance(structure["device_model"], str) and _has_coarse_fine(data):
        try:
            biasgen = _device_biasgen(structure["device_model"])
        except ValueError as error:  # ConfigError of the device model
            problems.append(Problem(source, "chip.device_model", structure["device_model"],
                                    f"a loadable device model with a bias generator ({error})"))
    board = _parse_board(source, _table(source, data, "board", problems), problems)
    router = _parse_router(source, _table(source, data, "router", problems), problems)
    energy = _parse_energy(source, data.get("energy"), problems)
    delays = _parse_delays(source, data.get("delays"), problems)
    biases, settings = _parse_biases(source, data, structure, biasgen, problems)
    capmem = None
    if "capmem" in data:
        fields = bias_fields(structure["weight_scheme"] or "mask", structure["weight_bits"] or 1,
                             structure["neuron_model"] or "silicon")
        capmem = parse_capmem(source, _table(source, data, "capmem", problems), fields, problems)
        if capmem is not None:
            problems.extend(nominal_problems(source, capmem, biases))
    crossbar = None
    if "crossbar" in data:
        weights = [values for name, values in biases.items() if name.startswith("synapse.i_w")]
        largest = float(np.max(np.sum(weights, axis=0))) if weights and structure["weight_scheme"] == "mask" else \
            float(np.max(weights)) if weights else None
        crossbar = parse_crossbar_synapses(source, _table(source, data, "crossbar", problems),
                                           paths.referring_folder(source), largest, problems)
    raise_if_any(problems, "chip config")
    return ChipConfig(
        **structure, capmem=capmem, crossbar=crossbar, board=board, router=types.MappingProxyType(router), biases=types.MappingProxyType(biases),
        bias_settings=types.MappingProxyType(settings), source=source, toml_text=toml_text, energy=energy,
        delays=delays,
    )


def _table(source, data, key, problems):
    """``data[key]`` if it is a table (missing: empty), else record a problem and return {}."""
    table = data.get(key, {})
    if not isinstance(table, dict):
        problems.append(Problem(source, key, table, "a table"))
        return {}
    return table


def _parse_chip_section(source, chip, problems):
    """Validate ``[chip]``; return the ChipConfig structure fields (None where invalid)."""
    chip_keys = set(_INT_KEYS) | {"name", "description", "weight_scheme", "device_model", "tag_scheme",
                                  "neuron_model", "acceleration"}
    for key in sorted(set(chip) - chip_keys):
        problems.append(Problem(source, f"chip.{key}", chip[key], f"one of {sorted(chip_keys)}"))
    fields = {}
    for key in ("name", "description"):
        fields[key] = chip.get(key)
        if not isinstance(fields[key], str):
            problems.append(Problem(source, f"chip.{key}", chip.get(key), "a string"))
    for key, (minimum, maximum) in _INT_KEYS.items():
        value = chip.get(key)
        fields[key] = value if _is_int(value) and minimum <= value <= maximum else None
        if fields[key] is None:
            problems.append(Problem(source, f"chip.{key}", value, f"an integer in [{minimum}, {maximum}]"))
    fields["neuron_model"] = chip.get("neuron_model", "silicon")
    if fields["neuron_model"] not in NEURON_MODELS:
        problems.append(Problem(source, "chip.neuron_model", fields["neuron_model"], f"one of {list(NEURON_MODELS)}"))
        fields["neuron_model"] = None
    fields["acceleration"] = chip.get("acceleration", 1.0)
    if not (_is_number(fields["acceleration"]) and fields["acceleration"] > 0):
        problems.append(Problem(source, "chip.acceleration", fields["acceleration"],
                                "a number > 0 (hardware speed-up: hardware time = model time / acceleration)"))
    else:
        fields["acceleration"] = float(fields["acceleration"])
    fields["device_model"] = chip.get("device_model", DEFAULT_DEVICE_MODEL)
    if not isinstance(fields["device_model"], str):
        problems.append(Problem(source, "chip.device_model", fields["device_model"], "a device model name or path"))
    fields["weight_scheme"] = chip.get("weight_scheme")
    if fields["weight_scheme"] not in WEIGHT_SCHEMES:
        problems.append(Problem(source, "chip.weight_scheme", fields["weight_scheme"],
                                f"one of {list(WEIGHT_SCHEMES)}"))
        fields["weight_scheme"] = None
    fields["tag_scheme"] = chip.get("tag_scheme", "free")
    if fields["tag_scheme"] not in TAG_SCHEMES:
        problems.append(Problem(source, "chip.tag_scheme", fields["tag_scheme"], f"one of {list(TAG_SCHEMES)}"))
        fields["tag_scheme"] = None
    elif (fields["tag_scheme"] == "source_address" and None not in (fields["n_tags"], fields["n_cores"], fields["neurons_per_core"])
          and fields["n_tags"] < fields["n_cores"] * fields["neurons_per_core"]):
        problems.append(Problem(source, "chip.n_tags", fields["n_tags"],
                                'at least n_cores * neurons_per_core (tag_scheme = "source_address")'))
    if fields["weight_scheme"] == "per_type" and fields["weight_bits"] not in (None, 1):
        problems.append(Problem(source, "chip.weight_bits", fields["weight_bits"],
                                '1 (weight_scheme = "per_type" has 1-bit weights)'))
    return fields


def _parse_board(source, board, problems):
    """Validate ``[board]``; return ``(nx, ny)`` (1 x 1 when absent)."""
    shape = [1, 1]
    for key in sorted(set(board) - {"nx", "ny"}):
        problems.append(Problem(source, f"board.{key}", board[key], "one of ['nx', 'ny']"))
    for axis, key in enumerate(("nx", "ny")):
        value = board.get(key, 1)
        if not _is_int(value) or value < 1:
            problems.append(Problem(source, f"board.{key}", value, "an integer >= 1"))
        else:
            shape[axis] = value
    return tuple(shape)


def _parse_router(source, router_table, problems):
    """Validate ``[router.<level>]`` for every level; return ``{level: RouterLevel}``."""
    for key in sorted(set(router_table) - set(ROUTER_LEVELS)):
        problems.append(Problem(source, f"router.{key}", router_table[key], f"one of {list(ROUTER_LEVELS)}"))
    router = {}
    for level in ROUTER_LEVELS:
        if level in OPTIONAL_ROUTER_LEVELS and level not in router_table:
            continue
        router_level = _router_level(source, level, router_table.get(level), problems)
        if router_level is not None:
            router[level] = router_level
    return router


def _parse_energy(source, table, problems):
    """Validate ``[energy]`` (optional); return an EnergyParams or None."""
    from mixsig.aer.energy import OPERATIONS, EnergyParams

    if table is None:
        return None
    if not isinstance(table, dict):
        problems.append(Problem(source, "energy", table, "a table of energies per operation, J"))
        return None
    allowed = set(OPERATIONS) | {"placeholder"}
    count = len(problems)
    for name in sorted(set(table) - allowed):
        problems.append(Problem(source, f"energy.{name}", table[name], f"one of {sorted(allowed)}"))
    for name in OPERATIONS:
        value = table.get(name)
        if not _is_number(value) or value < 0:
            problems.append(Problem(source, f"energy.{name}", value, "an energy >= 0 J"))
    if not isinstance(table.get("placeholder", False), bool):
        problems.append(Problem(source, "energy.placeholder", table.get("placeholder"), "true or false"))
    if len(problems) > count:
        return None
    return EnergyParams(**{name: float(table[name]) for name in OPERATIONS}, placeholder=table.get("placeholder", False))


def _parse_delays(source, table, problems):
    """Validate ``[delays]`` (optional): named delay circuits; return ``{name: DelayParams}``."""
    circuits = {}
    if table is not None and not isinstance(table, dict):
        problems.append(Problem(source, "delays", table, "tables of delay circuits [delays.<name>]"))
        table = None
    allowed = {"delay", "sigma", "placeholder"}
    for name, entry in (table or {}).items():
        key = f"delays.{name}"
        if not isinstance(entry, dict):
            problems.append(Problem(source, key, entry, "a table with delay (s), sigma (1) and placeholder"))
            continue
        count = len(problems)
        for field in sorted(set(entry) - allowed):
            problems.append(Problem(source, f"{key}.{field}", entry[field], f"one of {sorted(allowed)}"))
        delay, sigma, placeholder = entry.get("delay"), entry.get("sigma", 0.0), entry.get("placeholder", False)
        if not _is_number(delay) or not 0 < delay <= MAX_DELAY:
            problems.append(Problem(source, f"{key}.delay", delay, f"a delay in (0, {MAX_DELAY:g}] s"))
        if not _is_number(sigma) or not 0 <= sigma <= MAX_SIGMA:
            problems.append(Problem(source, f"{key}.sigma", sigma, f"a log-delay spread in [0, {MAX_SIGMA:g}]"))
        if not isinstance(placeholder, bool):
            problems.append(Problem(source, f"{key}.placeholder", placeholder, "true or false"))
        if len(problems) == count:
            circuits[name] = DelayParams(float(delay), float(sigma), placeholder)
    return types.MappingProxyType(circuits)


def _parse_biases(source, data, structure, biasgen, problems):
    """Validate ``[biases]`` and ``[core_biases.<core>]``; return per-core SI arrays and settings."""
    n_cores = structure["n_cores"]
    fields = bias_fields(structure["weight_scheme"] or "mask", structure["weight_bits"] or 1,
                         structure["neuron_model"] or "silicon")
    defaults = _flatten(_table(source, data, "biases", problems))
    per_core = {}
    for core_key, table in _table(source, data, "core_biases", problems).items():
        if not (core_key.isdigit() and (n_cores is None or int(core_key) < n_cores)):
            problems.append(Problem(source, f"core_biases.{core_key}", table,
                                    f"a core index 0..{(n_cores or 1) - 1} as key"))
        elif not isinstance(table, dict):
            problems.append(Problem(source, f"core_biases.{core_key}", table, "a table"))
        else:
            per_core[int(core_key)] = _flatten(table)
    for prefix, table in [("biases", defaults)] + [(f"core_biases.{k}", t) for k, t in per_core.items()]:
        for name in sorted(set(table) - set(fields)):
            problems.append(Problem(source, f"{prefix}.{name}", table[name], "a known bias <block>.<field>"))
    biases, settings = {}, {}
    for name, (units, _) in fields.items():
        values, raw, missing = [], [], []
        for core in range(n_cores or 1):
            key, setting = (f"core_biases.{core}.{name}", per_core[core][name]) if name in per_core.get(core, {}) \
                else (f"biases.{name}", defaults.get(name))
            if setting is None and name in ADAPTATION_DEFAULTS:
                setting = ADAPTATION_DEFAULTS[name]
            if setting is None:
                missing.append(core)
                values.append(None)
                continue
            value = _bias_value(source, key, setting, problems, biasgen)
            if value is not None and bias_problem(name, value, units):
                problems.append(Problem(source, key, setting, bias_problem(name, value, units)))
            values.append(value)
            raw.append(setting)
        if missing:
            problems.append(Problem(source, f"biases.{name}", None, f"a value in {units} (missing for cores {missing})"))
        if None not in values:
            array = np.asarray(values, dtype=float)
            array.setflags(write=False)
            biases[name] = array
            settings[name] = tuple(raw)
    return biases, settings


def _router_level(source, level, table, problems):
    """Validate one ``[router.<level>]`` table; return a RouterLevel or None."""
    key = f"router.{level}"
    if not isinstance(table, dict):
        problems.append(Problem(source, key, table,
                                "a table with latency, service_time, fifo_depth, policy, placeholder"))
        return None
    count = len(problems)
    allowed = {"latency", "service_time", "fifo_depth", "policy", "placeholder"}
    if level == "core":
        allowed |= {"arbiter", "arbitration_delay"}
        if table.get("arbiter", "fifo") not in ARBITERS:
            problems.append(Problem(source, f"{key}.arbiter", table.get("arbiter"), f"one of {list(ARBITERS)}"))
        if not _is_number(table.get("arbitration_delay", 0.0)) or table.get("arbitration_delay", 0.0) < 0:
            problems.append(Problem(source, f"{key}.arbitration_delay", table.get("arbitration_delay"),
                                    "a time >= 0 s per arbitration level"))
    for name in sorted(set(table) - allowed):
        problems.append(Problem(source, f"{key}.{name}", table[name], f"one of {sorted(allowed)}"))
    for name in ("latency", "service_time"):
        value = table.get(name)
        if not _is_number(value) or value < 0:
            problems.append(Problem(source, f"{key}.{name}", value, "a time >= 0 s"))
    if not _is_int(table.get("fifo_depth")) or not 1 <= table.get("fifo_depth") <= MAX_FIFO_DEPTH:
        problems.append(Problem(source, f"{key}.fifo_depth", table.get("fifo_depth"),
                                f"an integer in [1, {MAX_FIFO_DEPTH}] (events)"))
    if table.get("policy") not in POLICIES:
        problems.append(Problem(source, f"{key}.policy", table.get("policy"), f"one of {list(POLICIES)}"))
    if not isinstance(table.get("placeholder", False), bool):
        problems.append(Problem(source, f"{key}.placeholder", table.get("placeholder"), "true or false"))
    if len(problems) > count:
        return None
    return RouterLevel(latency=float(table["latency"]), service_time=float(table["service_time"]),
                       fifo_depth=table["fifo_depth"], policy=table["policy"],
                       placeholder=table.get("placeholder", False), arbiter=table.get("arbiter", "fifo"),
                       arbitration_delay=float(table.get("arbitration_delay", 0.0)))


def with_router(chip, **levels):
    """Return a copy of ``chip`` with some router levels overridden.

    Parameters
    ----------
    chip : ChipConfig
    **levels : RouterLevel or dict
        ``core=``, ``chip=``, ``mesh=``, ``broadcast=``: a full RouterLevel, or a dict of the fields
        to change (of the chip's level; a ``broadcast`` level the chip does not declare starts from
        a stage that costs nothing).

    Returns
    -------
    ChipConfig
    """
    router = dict(chip.router)
    for level, value in levels.items():
        if level not in ROUTER_LEVELS:
            raise ValueError(f"unknown router level {level!r}: expected one of {list(ROUTER_LEVELS)}")
        if isinstance(value, dict):
            base = router.get(level, RouterLevel(latency=0.0, service_time=0.0, fifo_depth=16, policy="stall"))
            kept = {name: field for name, field in dataclasses.asdict(base).items()
                    if level == "core" or name not in ("arbiter", "arbitration_delay")}  # (the core's only)
            fields = {**kept, "placeholder": False, **value}
            problems = []
            value = _router_level("<override>", level, fields, problems)
            raise_if_any(problems, "router override")
        router[level] = value
    return dataclasses.replace(chip, router=types.MappingProxyType(router))
