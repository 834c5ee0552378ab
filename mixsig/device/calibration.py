"""Calibration files: loading and validating a device model (mismatch, drift, noise, bias generator).

A device model is a TOML file (parametric statistics) optionally paired with a netCDF file
(empirical tables). The format is documented in ``docs/calibration.md``. The loader validates the
whole file, collects every defect as a :class:`mixsig.errors.Problem` and raises one
:class:`mixsig.errors.ConfigError`.

Model equations (every quantity in SI units)
--------------------------------------------
Each parameter ``<block>.<field>`` is described by its *native deviation* ``x`` per device:

- ``source = "bias"`` (a subthreshold current): ``x = dVT`` (V), the gate-overdrive offset, and
  ``I = I_nom * exp(kappa * dVT / Ut(T))`` (lognormal).
- ``source = "capacitor"``: ``x = ln(C / C_nom)`` (dimensionless), so ``C = C_nom * exp(x)``.
- ``source = "threshold"`` (a voltage): ``x = dV`` (V), additive.
- ``source = "pulse"`` (a pulse-extender width ``t = V_th C / I``): ``x = ln(t / t_nom)``, the
  sum of the capacitor's ``ln C`` and minus the current's ``kappa dVT / Ut``.

Common factors (not per parameter): a per-chip master reference and per-core bias-generator
factors shared by every bias current of the chip or core (``[reference]``, CVs), an optional
linear intra-die threshold gradient (``[gradient]``), and process corners (``[corners.NAME]``:
global threshold shifts per polarity, a factor of the reference current and of the capacitors).

Device-level spread (``distribution``):

- ``"pelgrom"``: ``sigma(dVT) = A_VT / sqrt(2 W L)`` for a single device (the pair value
  ``A_VT / sqrt(W L)`` divided by ``sqrt(2)``); for capacitors ``sigma(ln C) = A_C / sqrt(W L)``;
  for a pulse width ``sigma(ln t)^2 = (kappa A_VT / (Ut sqrt(2 W L)))^2 + (A_C / sqrt(c_w c_l))^2``
  (current-source transistor ``w x l``, capacitor ``c_w x c_l``).
- ``"cv"``: a direct coefficient of variation, converted exactly for a lognormal,
  ``sigma_ln = sqrt(ln(1 + CV^2))``, then ``sigma(dVT) = sigma_ln * Ut(T_nom) / kappa``.
- ``"empirical"``: an inverse-CDF table ``(cdf, value)`` in the netCDF file, ``value`` being
  ``ln(X / X_nom)`` for biases and capacitors and volts for thresholds.

Shared levels (``[parameters.X.spread]``: ``chip``, ``core``, and ``neuron`` for synapse-level
parameters) are CVs for biases and capacitors and standard deviations in V for thresholds.
"""

import dataclasses
import hashlib
import math
import os
import pathlib
import tomllib
import types

import numpy as np

from mixsig.constants import KAPPA_N, KAPPA_P, T_NOMINAL, thermal_voltage
from mixsig import paths
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.files import atomic_write
from mixsig.reprs import Summary

PROCESS_FIELDS = frozenset({"kappa", "u_t", "i_0"})
"""Circuit fields set by the process and temperature, not sampled per device."""


def _block_fields():
    """Fields each block's params dataclass declares (process fields excluded)."""
    from mixsig.circuits.adex import AdExParams
    from mixsig.circuits.dpi import DPIParams
    from mixsig.circuits.soma import SomaParams
    from mixsig.params import names

    soma = tuple(n for n in names(SomaParams) if n not in PROCESS_FIELDS)
    dpi = tuple(n for n in names(DPIParams) if n not in PROCESS_FIELDS)
    return {
        "soma": soma,
        "adex": names(AdExParams),
        "ampa": dpi,
        "nmda": dpi + ("i_nmda_thr",),
        "gaba": dpi,
        "shunt": dpi,
        "synapse": ("i_w",),
        "homeostasis": (),
        "stp": (),
    }


BLOCK_FIELDS = _block_fields()
"""Parameter names a calibration file may cover, ``<block>.<field>``."""

LEVELS = ("chip", "core", "neuron", "synapse")
"""Hierarchy levels of mismatch, coarsest first."""

SOURCES = ("bias", "capacitor", "threshold", "pulse")
REFERENCED = ("bias", "pulse")
"""Sources that take the chip's master-reference and core bias-generator factors by default."""
CORNER_KEYS = ("dvt_n", "dvt_p", "i_ref", "c")
MONTE_CARLO_CORNER = "mc"
"""Corner name that draws each instance's global process shifts (see :class:`Corner`)."""
DISTRIBUTIONS = ("pelgrom", "cv", "empirical")
BIAS_MODES = ("fixed_current", "fixed_gate")


@dataclasses.dataclass(frozen=True)
class EmpiricalTable:
    """An empirical distribution sampled by inverse CDF.

    Attributes
    ----------
    name : str
        Table name in the netCDF file.
    cdf : ndarray, shape (n,)
        Strictly increasing cumulative probabilities from 0 to 1.
    value : ndarray, shape (n,)
        Strictly increasing quantiles: ``ln(X / X_nom)`` (biases, capacitors) or V (thresholds).
    """

    name: str
    cdf: np.ndarray
    value: np.ndarray


@dataclasses.dataclass(frozen=True)
class ParameterStatistics:
    """Mismatch statistics of one chip parameter, in its native deviation variable.

    Attributes
    ----------
    name : str
        ``<block>.<field>``.
    source : str
        ``"bias"`` (native variable dVT, V), ``"capacitor"`` (ln C/C_nom) or ``"threshold"`` (dV, V).
    level : str
        Device level: ``"synapse"`` for the ``synapse`` block, otherwise ``"neuron"``.
    distribution : str
        ``"pelgrom"``, ``"cv"`` or ``"empirical"`` (device level).
    kappa : float
        Subthreshold slope factor of the device (biases; 1.0 otherwise).
    sigma : mapping of str to float
        Standard deviation of the native variable per level (absent levels have none).
        For an empirical distribution the device level is absent and ``table`` is used.
    table : EmpiricalTable or None
        Device-level table for ``"empirical"``, values already in the native variable.
    reference : bool
        The device follows the chip's master reference and its core's bias generator (biases and
        pulse widths, unless the file says ``reference = false``).
    transistor : str or None
        ``"n"`` or ``"p"`` (biases, thresholds, pulse widths): which corner shift applies.
    area : float or None
        Gate (or plate) area ``W L`` of a Pelgrom device, m^2 (flicker area law).
    """

    name: str
    source: str
    level: str
    distribution: str
    kappa: float
    sigma: types.MappingProxyType
    table: EmpiricalTable = None
    reference: bool = False
    transistor: str = None
    area: float = None


@dataclasses.dataclass(frozen=True)
class Corner:
    """A process corner: global (die-to-die) shifts shared by every device of a chip.

    Attributes
    ----------
    dvt_n, dvt_p : float
        Threshold shift of every n- / p-channel device, V (positive: slow). It moves threshold
        (voltage) parameters always, and bias currents and pulse widths only in bias mode
        ``"fixed_gate"`` (a bias generator that copies a reference current compensates a global
        threshold shift).
    i_ref : float
        Factor of the chip's master reference current (1 at ``"tt"``): multiplies every bias
        current that follows the reference and divides those pulse widths.
    c : float
        Factor of every capacitor (and pulse width).
    """

    dvt_n: float = 0.0
    dvt_p: float = 0.0
    i_ref: float = 1.0
    c: float = 1.0


@dataclasses.dataclass(frozen=True)
class CommonFactors:
    """Factors shared by many devices: master reference, core bias generators, die gradient.

    Attributes
    ----------
    reference_chip : float
        Standard deviation of ``ln`` of the chip's master reference current (from its CV).
    reference_core : float
        Standard deviation of ``ln`` of each core's bias-generator factor (from its CV).
    gradient_vt : float
        Standard deviation of each component (x, y) of the linear intra-die threshold gradient,
        V per die width (0: no gradient).
    """

    reference_chip: float = 0.0
    reference_core: float = 0.0
    gradient_vt: float = 0.0


@dataclasses.dataclass(frozen=True)
class Temperature:
    """Temperature behaviour.

    Attributes
    ----------
    t_nominal : float
        Temperature at which the statistics and biases are specified, K.
    dvt_dt : float
        Threshold-voltage temperature coefficient, V/K (negative: VT falls as T rises).
    bias : str
        ``"fixed_current"``: the bias generator holds each current (only Ut(T) and the mismatch
        term move); ``"fixed_gate"``: it holds the gate voltage set at ``t_nominal``, so
        ``I = I_spec * exp(kappa * (Vg - VT(T)) / Ut(T))``.
    i_spec : float
        Specific current (the current at ``Vg = VT``), A; used by ``"fixed_gate"``.
    e_leak : float
        Activation energy of the junction leakage, eV: the dark current ``i_0`` and the leakage
        currents scale as ``(T/T0)^1.5 exp(-(e_leak / k) (1/T - 1/T0))`` (the intrinsic carrier
        density of a generation current for ``e_leak = E_g / 2``); 0 keeps them fixed.
    """

    t_nominal: float
    dvt_dt: float
    bias: str
    i_spec: float
    e_leak: float = 0.0


@dataclasses.dataclass(frozen=True)
class Ageing:
    """Slow per-device threshold drift ``dVT_age(t) = r * log10(1 + t / tau)``, ``r ~ N(rate, spread)``.

    Attributes
    ----------
    rate : float
        Mean threshold shift per decade of stress time, V (positive: VT rises, current falls).
    spread : float
        Device-to-device standard deviation of that rate, V.
    tau : float
        Onset time of the log-time law, s.
    age_at_start : float
        Stress time the devices have at the start of a simulation, s (default one year: a chip
        already aged, whose in-run drift is negligible unless a younger age is asked for).
    """

    rate: float
    spread: float
    tau: float
    age_at_start: float = 3.15576e7


@dataclasses.dataclass(frozen=True)
class NoiseSettings:
    """Temporal noise switches.

    Attributes
    ----------
    shot : bool
        White shot noise ``S_I = 2 q I`` on subthreshold currents.
    flicker : bool
        Flicker noise ``S_I = K_f I^2 / f``.
    k_f : float
        Flicker coefficient (dimensionless), the same for every device.
    f_min, f_max : float
        Band over which the flicker spectrum is synthesised, Hz.
    k_f_area : float
        Flicker coefficient of the area law ``S_I / I^2 = K_F / (C_ox W L f)``, F (0: use
        ``k_f``). ``K_F = (kappa / U_T)^2 KF`` for a gate-referred SPICE ``KF`` (V^2 F) in weak
        inversion; each current then gets ``K_F / (C_ox W L)`` with the geometry of its device.
    excess : float
        Excess-noise factor on the shot noise, ``S_I = 2 q I excess`` (1: shot noise only).
    """

    shot: bool
    flicker: bool
    k_f: float
    f_min: float
    f_max: float
    k_f_area: float = 0.0
    excess: float = 1.0


@dataclasses.dataclass(frozen=True)
class BiasTable:
    """Coarse/fine bias-generator table of one transistor polarity.

    Attributes
    ----------
    i_min, i_max : ndarray, shape (n_coarse,)
        Current at ``fine = 0`` and at ``fine = fine_max`` for each coarse value, A.
    fine_max : int
        Largest fine value (255 on DYNAP-SE2).
    """

    i_min: np.ndarray
    i_max: np.ndarray
    fine_max: int


@dataclasses.dataclass(frozen=True, repr=False)
class DeviceModel(Summary):
    """A validated, frozen calibration file.

    Attributes
    ----------
    name, description, technology : str
    source : str
        Path of the TOML file.
    text : str
        Verbatim TOML text (provenance).
    sha256 : str
        SHA-256 of the TOML bytes (and of the netCDF bytes, if any, in ``tables_sha256``).
    tables_sha256 : str or None
    a_vt : float
        Pelgrom threshold coefficient, V m.
    a_c : float
        Pelgrom capacitor coefficient, m (``sigma(dC/C) = A_C / sqrt(W L)``).
    kappa_n, kappa_p : float
    c_ox : float
        Gate-oxide capacitance per area, F/m^2 (0 when not given).
    temperature : Temperature
    ageing : Ageing
    noise : NoiseSettings
    parameters : mapping of str to ParameterStatistics
    bias_generator : mapping of str to BiasTable (keys ``"n"``, ``"p"``), possibly empty
    common : CommonFactors
    corners : mapping of str to Corner
        Always holds ``"tt"`` (all shifts zero unless the file defines it).
    """

    name: str
    description: str
    technology: str
    source: str
    text: str
    sha256: str
    tables_sha256: str
    a_vt: float
    a_c: float
    kappa_n: float
    kappa_p: float
    c_ox: float
    temperature: Temperature
    ageing: Ageing
    noise: NoiseSettings
    parameters: types.MappingProxyType
    bias_generator: types.MappingProxyType
    common: CommonFactors = CommonFactors()
    corners: types.MappingProxyType = dataclasses.field(default_factory=lambda: types.MappingProxyType({"tt": Corner()}))

    def flicker_coefficient(self, name):
        """Relative flicker coefficient of the current of parameter ``name`` (dimensionless).

        ``noise.k_f_area / (c_ox W L)`` with the Pelgrom geometry of that parameter's device when
        the file uses the area law, otherwise ``noise.k_f``.

        Parameters
        ----------
        name : str
            ``<block>.<field>`` of a bias current listed with ``distribution = "pelgrom"``.

        Returns
        -------
        float
        """
        if not self.noise.k_f_area:
            return self.noise.k_f
        stats = self.parameters.get(name)
        if stats is None or stats.area is None:
            raise KeyError(f"noise.k_f_area needs the Pelgrom geometry (w, l) of {name} in [parameters]")
        return self.noise.k_f_area / (self.c_ox * stats.area)

    def corner_names(self):
        """Names accepted by a simulation's ``corner``: the file's corners and ``"mc"`` when possible."""
        names = sorted(self.corners)
        return names + [MONTE_CARLO_CORNER] if {"ss", "ff"} <= set(self.corners) else names

    def _summary(self):
        noise = [name for name in ("shot", "flicker") if getattr(self.noise, name)]
        return f"mixsig DeviceModel {self.name}", [
            ("technology", self.technology),
            ("Pelgrom", f"A_VT {self.a_vt * 1e9:g} mV um, A_C {self.a_c * 1e8:g} % um"),
            ("kappa", f"n {self.kappa_n:g}, p {self.kappa_p:g}"),
            ("parameters", f"{len(self.parameters)} with mismatch statistics"),
            ("noise", ", ".join(noise) or "off"),
            ("ageing", f"{self.ageing.rate * 1e3:g} mV per decade"),
            ("source", f"{pathlib.Path(self.source).name} (sha256 {self.sha256[:12]})"),
        ]


class _Reader:
    """Typed access to a TOML table that records problems and unknown keys."""

    def __init__(self, source, problems):
        self.source = source
        self.problems = problems

    def problem(self, key, value, expected):
        self.problems.append(Problem(self.source, key, value, expected))

    def table(self, data, key, required=True):
        if key not in data:
            if required:
                self.problem(key, None, "a table")
            return None
        if not isinstance(data[key], dict):
            self.problem(key, data[key], "a table")
            return None
        return data[key]

    def unknown(self, data, prefix, allowed):
        for key in data:
            if key not in allowed:
                self.problem(f"{prefix}{key}", data[key], f"one of the keys {', '.join(sorted(allowed))}")

    def number(self, data, prefix, key, expected="a number", check=None, default=None):
        full = f"{prefix}{key}"
        if key not in data:
            if default is None:
                self.problem(full, None, expected)
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.problem(full, value, expected)
            return default
        if check is not None and not check(value):
            self.problem(full, value, expected)
            return default
        return float(value)

    def choice(self, data, prefix, key, choices, default=None):
        full = f"{prefix}{key}"
        expected = "one of " + ", ".join(repr(c) for c in choices)
        if key not in data:
            if default is None:
                self.problem(full, None, expected)
            return default
        if data[key] not in choices:
            self.problem(full, data[key], expected)
            return default
        return data[key]

    def string(self, data, prefix, key, default=None):
        full = f"{prefix}{key}"
        if key not in data:
            if default is None:
                self.problem(full, None, "a string")
            return default
        if not isinstance(data[key], str):
            self.problem(full, data[key], "a string")
            return default
        return data[key]

    def boolean(self, data, prefix, key):
        full = f"{prefix}{key}"
        if not isinstance(data.get(key), bool):
            self.problem(full, data.get(key), "true or false")
            return False
        return data[key]


def _positive(value):
    return value > 0


POSITIVE = "a number > 0"

MAX_CV = 10.0
"""Largest coefficient of variation of a mismatched quantity [asm: measured subthreshold CVs are
below 1 (e.g. 0.1-0.5 for DYNAP bias currents); 10 leaves room for deliberate stress tests while
keeping exp() of a few sigma finite]."""

MAX_THRESHOLD_SIGMA = 1.0
"""Largest standard deviation of a threshold voltage, V [asm: above any supply voltage]."""


def load_device_model(name_or_path, relative_to=None):
    """Load and validate a calibration file.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A shipped model name (resolved in the ``device_models`` package; a shipped name always
        means the shipped file) or a path to a TOML file.
    relative_to : str or os.PathLike, optional
        Folder a relative path is taken from (the referring file's; default the working directory).

    Returns
    -------
    DeviceModel

    Raises
    ------
    mixsig.errors.ConfigError
        Listing every defect (file, key, value, expectation); a missing file, one that is not a
        regular file or one larger than :data:`mixsig.paths.MAX_TOML_BYTES`.
    """
    resource = resolve(name_or_path, relative_to)
    data, raw = _read_with_bases(resource, ())
    return parse_device_model(data, str(resource), raw, resource)


def resolve(name_or_path, relative_to=None):
    """The shipped file or the path of a device model (see :func:`mixsig.paths.resolve`).

    Parameters
    ----------
    name_or_path : str or os.PathLike
    relative_to : str or os.PathLike, optional
        Folder a relative path is taken from.

    Returns
    -------
    pathlib.Path or importlib.resources.abc.Traversable

    Raises
    ------
    mixsig.errors.ConfigError
        ``name_or_path`` is a bare name that is neither shipped nor an existing file.
    """
    resource, is_shipped = paths.resolve(name_or_path, "device_models", relative_to)
    if not is_shipped and not resource.exists() and resource.suffix != ".toml" \
            and len(pathlib.Path(os.fspath(name_or_path)).parts) == 1:
        raise_if_any([Problem(str(resource), "(name)", os.fspath(name_or_path), "a file path or a shipped device model: "
                              + ", ".join(paths.shipped_names("device_models")))], "device model")
    return resource


MAX_EXTENDS = 4
"""Longest chain of ``model.extends`` a device model may use."""


def _read_with_bases(resource, chain):
    """Parsed TOML of a device model merged over the model it ``extends`` (recursively), and its bytes.

    A file with ``[model] extends = "NAME or path"`` takes every table of that base model and
    replaces, table by table, the keys it sets itself (``parameters`` entries are replaced whole,
    by name; a shipped name means the shipped model, a relative path is resolved next to the
    file). The returned bytes are the file's followed by its bases' (provenance: ``model.text``
    and ``model.sha256`` cover them all).
    """
    source = str(resource)
    raw = paths.read_bytes(resource, "device model", paths.MAX_TOML_BYTES)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise_if_any([Problem(source, "(encoding)", f"byte offset {error.start}", "a UTF-8 text file")], "device model")
    except tomllib.TOMLDecodeError as error:
        raise_if_any([Problem(source, "(syntax)", None, f"valid TOML ({error})")], "device model")
    model = data.get("model")
    base_name = model.pop("extends", None) if isinstance(model, dict) else None
    if base_name is None:
        return data, raw
    if not isinstance(base_name, str) or len(chain) >= MAX_EXTENDS or source in chain:
        raise_if_any([Problem(source, "model.extends", base_name,
                              f"the name or path of another device model (at most {MAX_EXTENDS} levels, no cycle)")],
                     "device model")
    base, base_raw = _read_with_bases(resolve(base_name, getattr(resource, "parent", None)), chain + (source,))
    for key, table in data.items():
        if isinstance(table, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **table}
        else:
            base[key] = table
    return base, raw + b"\n# ---- extends " + base_name.encode("utf-8") + b" ----\n" + base_raw


def parse_device_model(data, source, raw=b"", resource=None):
    """Validate a parsed calibration mapping (see :func:`load_device_model`).

    Parameters
    ----------
    data : dict
        Parsed TOML.
    source : str
        File name used in error messages.
    raw : bytes
        File bytes (for provenance).
    resource : pathlib.Path or Traversable, optional
        Location of the TOML file, to resolve a relative ``tables.file``.

    Returns
    -------
    DeviceModel
    """
    problems = []
    r = _Reader(source, problems)
    r.unknown(data, "", {"model", "technology", "temperature", "ageing", "noise", "bias_generator", "tables", "parameters",
                         "reference", "gradient", "corners"})

    model = r.table(data, "model") or {}
    r.unknown(model, "model.", {"name", "description", "technology"})
    name = r.string(model, "model.", "name")
    description = r.string(model, "model.", "description", default="")
    technology = r.string(model, "model.", "technology", default="")

    tech = r.table(data, "technology") or {}
    r.unknown(tech, "technology.", {"a_vt", "a_c", "kappa_n", "kappa_p", "c_ox"})
    a_vt = r.number(tech, "technology.", "a_vt", POSITIVE + " (V m)", _positive)
    a_c = r.number(tech, "technology.", "a_c", POSITIVE + " (m)", _positive, default=0.0)
    kappa_n = r.number(tech, "technology.", "kappa_n", "a number in (0, 1]", lambda v: 0 < v <= 1, default=KAPPA_N)
    kappa_p = r.number(tech, "technology.", "kappa_p", "a number in (0, 1]", lambda v: 0 < v <= 1, default=KAPPA_P)
    c_ox = r.number(tech, "technology.", "c_ox", POSITIVE + " (F/m^2)", _positive, default=0.0)

    temp = r.table(data, "temperature") or {}
    r.unknown(temp, "temperature.", {"t_nominal", "dvt_dt", "bias", "i_spec", "e_leak"})
    temperature = Temperature(
        t_nominal=r.number(temp, "temperature.", "t_nominal", POSITIVE + " (K)", _positive, default=T_NOMINAL),
        dvt_dt=r.number(temp, "temperature.", "dvt_dt", "a number (V/K)"),
        bias=r.choice(temp, "temperature.", "bias", BIAS_MODES),
        i_spec=r.number(temp, "temperature.", "i_spec", POSITIVE + " (A)", _positive, default=1e-7),
        e_leak=r.number(temp, "temperature.", "e_leak", "a number >= 0 (eV)", lambda v: v >= 0, default=0.0),
    )

    age = r.table(data, "ageing") or {}
    r.unknown(age, "ageing.", {"rate", "spread", "tau", "age_at_start"})
    ageing = Ageing(
        rate=r.number(age, "ageing.", "rate", "a number (V per decade)"),
        spread=r.number(age, "ageing.", "spread", "a number >= 0 (V per decade)", lambda v: v >= 0),
        tau=r.number(age, "ageing.", "tau", POSITIVE + " (s)", _positive),
        age_at_start=r.number(age, "ageing.", "age_at_start", "a number >= 0 (s)", lambda v: v >= 0,
                              default=Ageing.age_at_start),
    )

    noise_table = r.table(data, "noise") or {}
    r.unknown(noise_table, "noise.", {"shot", "flicker", "k_f", "f_min", "f_max", "k_f_area", "excess"})
    noise = NoiseSettings(
        shot=r.boolean(noise_table, "noise.", "shot"),
        flicker=r.boolean(noise_table, "noise.", "flicker"),
        k_f=r.number(noise_table, "noise.", "k_f", "a number >= 0", lambda v: v >= 0, default=0.0),
        f_min=r.number(noise_table, "noise.", "f_min", POSITIVE + " (Hz)", _positive, default=0.1),
        f_max=r.number(noise_table, "noise.", "f_max", POSITIVE + " (Hz)", _positive, default=1e4),
        k_f_area=r.number(noise_table, "noise.", "k_f_area", "a number >= 0 (F)", lambda v: v >= 0, default=0.0),
        excess=r.number(noise_table, "noise.", "excess", "a number >= 1 (factor on the shot-noise PSD)",
                        lambda v: v >= 1, default=1.0),
    )
    if noise.k_f_area and "k_f" in noise_table:
        r.problem("noise.k_f", noise_table["k_f"], "no k_f beside k_f_area (one flicker law)")
    if noise.k_f_area and not c_ox:
        r.problem("technology.c_ox", None, "a number > 0 (F/m^2), needed by noise.k_f_area")
    if noise.f_min >= noise.f_max:
        r.problem("noise.f_max", noise.f_max, f"a number > noise.f_min = {noise.f_min}")

    bias_generator = _parse_bias_generator(r, data)
    tables, tables_sha256 = _parse_tables(r, data, resource)
    common = _parse_common(r, data)
    corners = _parse_corners(r, data)

    parameters = {}
    params_table = r.table(data, "parameters") or {}
    for pname, entry in params_table.items():
        stats = _parse_parameter(
            r, pname, entry, dict(a_vt=a_vt, a_c=a_c, kappa_n=kappa_n, kappa_p=kappa_p, t_nominal=temperature.t_nominal), tables
        )
        if stats is not None:
            parameters[pname] = stats

    raise_if_any(problems, f"device model {source}")
    return DeviceModel(
        name=name,
        description=description,
        technology=technology,
        source=source,
        text=raw.decode("utf-8"),
        sha256=hashlib.sha256(raw).hexdigest(),
        tables_sha256=tables_sha256,
        a_vt=a_vt,
        a_c=a_c,
        kappa_n=kappa_n,
        kappa_p=kappa_p,
        c_ox=c_ox,
        temperature=temperature,
        ageing=ageing,
        noise=noise,
        parameters=types.MappingProxyType(parameters),
        bias_generator=types.MappingProxyType(bias_generator),
        common=common,
        corners=types.MappingProxyType(corners),
    )


def _parse_common(r, data):
    """``[reference]`` (CVs of the chip and core common factors) and ``[gradient]`` (V per die width)."""
    reference = r.table(data, "reference", required=False) or {}
    r.unknown(reference, "reference.", {"chip", "core"})
    gradient = r.table(data, "gradient", required=False) or {}
    r.unknown(gradient, "gradient.", {"vt"})
    cv = {level: r.number(reference, "reference.", level, "a number >= 0 (CV)", lambda v: v >= 0, default=0.0)
          for level in ("chip", "core")}
    return CommonFactors(
        reference_chip=_lognormal_sigma(cv["chip"]),
        reference_core=_lognormal_sigma(cv["core"]),
        gradient_vt=r.number(gradient, "gradient.", "vt", "a number >= 0 (V per die width)", lambda v: v >= 0, default=0.0),
    )


def _parse_corners(r, data):
    """``[corners.NAME]`` tables; ``"tt"`` is implicit (no shift) unless defined."""
    corners = {"tt": Corner()}
    table = r.table(data, "corners", required=False) or {}
    for name, entry in table.items():
        prefix = f"corners.{name}."
        if name == MONTE_CARLO_CORNER or not isinstance(entry, dict):
            expected = f"a table of {', '.join(CORNER_KEYS)} (the name {MONTE_CARLO_CORNER!r} is reserved)"
            r.problem(f"corners.{name}", entry, expected)
            continue
        r.unknown(entry, prefix, set(CORNER_KEYS))
        corners[name] = Corner(
            dvt_n=r.number(entry, prefix, "dvt_n", "a number (V)", default=0.0),
            dvt_p=r.number(entry, prefix, "dvt_p", "a number (V)", default=0.0),
            i_ref=r.number(entry, prefix, "i_ref", POSITIVE + " (factor of the reference current)", _positive, default=1.0),
            c=r.number(entry, prefix, "c", POSITIVE + " (factor of the capacitors)", _positive, default=1.0),
        )
    return corners


def _parse_bias_generator(r, data):
    result = {}
    table = r.table(data, "bias_generator", required=False)
    if table is None:
        return result
    r.unknown(table, "bias_generator.", {"fine_max", "n", "p"})
    fine_max = table.get("fine_max")
    if isinstance(fine_max, bool) or not isinstance(fine_max, int) or fine_max < 1:
        r.problem("bias_generator.fine_max", fine_max, "an integer >= 1")
        fine_max = None
    for polarity in ("n", "p"):
        prefix = f"bias_generator.{polarity}."
        entry = table.get(polarity)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            r.problem(f"bias_generator.{polarity}", entry, "a table with i_min and i_max")
            continue
        r.unknown(entry, prefix, {"i_min", "i_max"})
        arrays = {}
        for key, low in (("i_min", 0.0), ("i_max", 1e-300)):
            value = entry.get(key)
            ok = (
                isinstance(value, list)
                and len(value) >= 1
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= low for v in value)
            )
            if not ok:
                relation = ">= 0" if key == "i_min" else "> 0"
                r.problem(prefix + key, value, f"a non-empty array of numbers {relation} (A), one per coarse value")
            else:
                arrays[key] = np.asarray(value, dtype=float)
        if len(arrays) == 2:
            i_min, i_max = arrays["i_min"], arrays["i_max"]
            if i_min.shape != i_max.shape:
                r.problem(prefix + "i_max", entry["i_max"], f"{i_min.size} values, as many as i_min")
            elif not np.all(i_max > i_min):
                r.problem(prefix + "i_max", entry["i_max"], "each value > the i_min of the same coarse value")
            elif not np.all(np.diff(i_max) > 0):
                r.problem(prefix + "i_max", entry["i_max"], "values increasing with coarse")
            elif fine_max is not None:
                i_min.flags.writeable = False
                i_max.flags.writeable = False
                result[polarity] = BiasTable(i_min=i_min, i_max=i_max, fine_max=fine_max)
    if "n" not in table and "p" not in table:
        r.problem("bias_generator.n", None, "a table with i_min and i_max (at least one of n, p)")
    return result


def _parse_tables(r, data, resource):
    table = r.table(data, "tables", required=False)
    if table is None:
        return {}, None
    r.unknown(table, "tables.", {"file"})
    file_name = r.string(table, "tables.", "file")
    if file_name is None:
        return {}, None
    if resource is None:
        r.problem("tables.file", file_name, "a path relative to a calibration file on disk")
        return {}, None
    location = resource.parent.joinpath(file_name) if hasattr(resource, "parent") else None
    if location is None or not location.is_file():
        r.problem("tables.file", file_name, "an existing netCDF file next to the TOML file")
        return {}, None
    try:
        raw = paths.read_bytes(location, "calibration tables (netCDF)", paths.MAX_TABLES_BYTES, key="tables.file")
    except ConfigError as error:
        r.problems.extend(error.problems)
        return {}, None
    return read_empirical_tables(raw, f"{r.source} -> {file_name}", r.problems), hashlib.sha256(raw).hexdigest()


def read_empirical_tables(raw, source, problems):
    """Read and validate empirical inverse-CDF tables from netCDF bytes.

    Each table ``NAME`` is a pair of 1-D variables ``NAME_cdf`` and ``NAME_value`` on one
    dimension; both must be finite and strictly increasing, ``cdf`` from exactly 0 to exactly 1.

    Parameters
    ----------
    raw : bytes
        Contents of the netCDF file.
    source : str
        Name used in error messages.
    problems : list of Problem
        Appended to.

    Returns
    -------
    dict of str to EmpiricalTable
    """
    import netCDF4

    try:
        dataset = netCDF4.Dataset("in-memory.nc", mode="r", memory=raw)
    except OSError as error:
        problems.append(Problem(source, "(file)", None, f"a netCDF file ({error})"))
        return {}
    tables = {}
    with dataset:
        names = {}
        for var in dataset.variables:
            base, _, suffix = var.rpartition("_")
            if suffix not in ("cdf", "value") or not base:
                problems.append(Problem(source, var, None, "variables named <table>_cdf and <table>_value"))
                continue
            names.setdefault(base, {})[suffix] = np.asarray(dataset.variables[var][:], dtype=float).ravel()
        for name, pair in names.items():
            if set(pair) != {"cdf", "value"}:
                missing = ({"cdf", "value"} - set(pair)).pop()
                problems.append(Problem(source, f"{name}_{missing}", None, f"a variable {name}_{missing}"))
                continue
            cdf, value = pair["cdf"], pair["value"]
            start = len(problems)
            if cdf.shape != value.shape or cdf.size < 2:
                problems.append(Problem(source, f"{name}_value", value.size, f"as many points as {name}_cdf ({cdf.size}), at least 2"))
                continue
            if not (np.all(np.isfinite(cdf)) and cdf[0] == 0.0 and cdf[-1] == 1.0 and np.all(np.diff(cdf) > 0)):
                problems.append(Problem(source, f"{name}_cdf", cdf.tolist(), "finite values strictly increasing from 0 to 1"))
            if not (np.all(np.isfinite(value)) and np.all(np.diff(value) > 0)):
                problems.append(Problem(source, f"{name}_value", value.tolist(), "finite values strictly increasing"))
            if len(problems) == start:
                tables[name] = EmpiricalTable(name, cdf, value)
    return tables


def write_empirical_tables(path, tables, attrs=None):
    """Write empirical inverse-CDF tables to a netCDF file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
    tables : mapping of str to (cdf, value)
        ``cdf`` and ``value`` are 1-D arrays of equal length (see :func:`read_empirical_tables`).
    attrs : mapping, optional
        Global attributes (e.g. provenance).
    """
    import netCDF4


    def write(temporary):
        with netCDF4.Dataset(temporary, "w") as dataset:
            for key, value in (attrs or {}).items():
                dataset.setncattr(key, value)
            for name, (cdf, value) in tables.items():
                dataset.createDimension(f"{name}_point", len(cdf))
                for suffix, array, long_name in (("cdf", cdf, "cumulative probability"), ("value", value, "quantile")):
                    var = dataset.createVariable(f"{name}_{suffix}", "f8", (f"{name}_point",))
                    var[:] = np.asarray(array, dtype=float)
                    var.long_name = f"{long_name} of {name}"

    atomic_write(path, write)


def _lognormal_sigma(cv):
    """Standard deviation of ln X for a lognormal X of coefficient of variation ``cv``."""
    return math.sqrt(math.log1p(cv * cv))


def _parse_parameter(r, pname, entry, tech, tables):
    prefix = f"parameters.{pname}."
    block, _, field = pname.partition(".")
    if field not in BLOCK_FIELDS.get(block, ()):
        r.problem(f"parameters.{pname}", entry, "a parameter <block>.<field> of " + ", ".join(BLOCK_FIELDS))
        return None
    if not isinstance(entry, dict):
        r.problem(f"parameters.{pname}", entry, "a table")
        return None
    r.unknown(entry, prefix, {"source", "distribution", "transistor", "kappa", "w", "l", "c_w", "c_l", "cv", "table", "spread",
                              "reference"})
    start = len(r.problems)
    level = "synapse" if block == "synapse" else "neuron"
    source = r.choice(entry, prefix, "source", SOURCES)
    distribution = r.choice(entry, prefix, "distribution", DISTRIBUTIONS)
    kappa = 1.0
    transistor = None
    if source in ("bias", "threshold", "pulse"):
        transistor = r.choice(entry, prefix, "transistor", ("n", "p"))
        default_kappa = tech["kappa_p"] if transistor == "p" else tech["kappa_n"]
        kappa = r.number(entry, prefix, "kappa", "a number in (0, 1]", lambda v: 0 < v <= 1, default=default_kappa)
    for key in ("transistor", "kappa") if source == "capacitor" else ():
        if key in entry:
            r.problem(prefix + key, entry[key], "no such key for a capacitor")
    if "reference" in entry and source not in REFERENCED:
        r.problem(prefix + "reference", entry["reference"], "no such key for a capacitor or a threshold")
    for key in ("c_w", "c_l") if source != "pulse" or distribution != "pelgrom" else ():
        if key in entry:
            r.problem(prefix + key, entry[key], "no such key (capacitor geometry is for a 'pulse' with 'pelgrom')")
    reference = source in REFERENCED
    if "reference" in entry and source in REFERENCED:
        if not isinstance(entry["reference"], bool):
            r.problem(prefix + "reference", entry["reference"], "true or false (the current follows the chip's bias reference)")
        else:
            reference = entry["reference"]
    # scale from ln(X/X_nom) to the native variable
    ut = thermal_voltage(tech["t_nominal"] or T_NOMINAL)
    to_native = {"bias": ut / kappa}.get(source, 1.0)

    sigma = {}
    table = None
    area = None
    if distribution == "pelgrom":
        w = r.number(entry, prefix, "w", POSITIVE + " (gate width, m)", _positive)
        length = r.number(entry, prefix, "l", POSITIVE + " (gate length, m)", _positive)
        area = w * length if w and length else None
        if w and length and source:
            if source == "capacitor":
                if not tech["a_c"]:
                    r.problem("technology.a_c", None, f"a number > 0 (m), needed by {prefix}distribution = 'pelgrom'")
                sigma[level] = tech["a_c"] / math.sqrt(w * length)
            elif source == "pulse":
                current = kappa * (tech["a_vt"] or 0.0) / (ut * math.sqrt(2.0 * w * length))
                sigma[level] = math.hypot(current, _capacitor_sigma(r, entry, prefix, tech))
            else:
                sigma[level] = (tech["a_vt"] or 0.0) / math.sqrt(2.0 * w * length)
    elif distribution == "cv":
        if source == "threshold":
            r.problem(prefix + "distribution", "cv", "'pelgrom' or 'empirical' for a threshold (a voltage has no CV)")
        cv = r.number(entry, prefix, "cv", POSITIVE, _positive)
        if cv:
            sigma[level] = _lognormal_sigma(cv) * to_native
    elif distribution == "empirical":
        table_name = r.string(entry, prefix, "table")
        if table_name is not None:
            if table_name not in tables:
                r.problem(prefix + "table", table_name, "the name of a table in the file given by tables.file: " + ", ".join(sorted(tables)))
            else:
                raw_table = tables[table_name]
                table = EmpiricalTable(table_name, raw_table.cdf, raw_table.value * (1.0 if source == "threshold" else to_native))

    spread = entry.get("spread", {})
    if not isinstance(spread, dict):
        r.problem(prefix + "spread", spread, "a table of shared-level spreads")
        spread = {}
    shared_levels = LEVELS[: LEVELS.index(level)]
    for key, value in spread.items():
        if key not in shared_levels:
            r.problem(f"{prefix}spread.{key}", value, "one of the shared levels " + ", ".join(shared_levels))
            continue
        units = "V" if source == "threshold" else "CV"
        number = r.number(spread, f"{prefix}spread.", key, f"a number > 0 ({units})", _positive)
        if number:
            sigma[key] = number if source == "threshold" else _lognormal_sigma(number) * to_native

    for key, value in sigma.items():  # e.g. a CV of 1e154, or a 1e-30 m^2 gate
        if source == "threshold":
            if not (math.isfinite(value) and value <= MAX_THRESHOLD_SIGMA):
                r.problem(f"{prefix}spread.{key}" if key != level else prefix + distribution, value,
                          f"a threshold spread (V) of at most {MAX_THRESHOLD_SIGMA:g} V")
        elif not (math.isfinite(value) and value / to_native <= _lognormal_sigma(MAX_CV)):
            r.problem(f"{prefix}spread.{key}" if key != level else prefix + distribution, value / to_native,
                      f"a spread of at most CV = {MAX_CV:g} (sigma of ln X <= {_lognormal_sigma(MAX_CV):.3g})")
    if len(r.problems) > start:
        return None
    return ParameterStatistics(
        name=pname,
        source=source,
        level=level,
        distribution=distribution,
        kappa=kappa,
        sigma=types.MappingProxyType(sigma),
        table=table,
        reference=reference,
        transistor=transistor,
        area=area,
    )


def _capacitor_sigma(r, entry, prefix, tech):
    """``sigma(ln C)`` of a pulse extender's capacitor ``c_w x c_l`` (0 when not given)."""
    if "c_w" not in entry and "c_l" not in entry:
        return 0.0
    c_w = r.number(entry, prefix, "c_w", POSITIVE + " (capacitor width, m)", _positive)
    c_l = r.number(entry, prefix, "c_l", POSITIVE + " (capacitor length, m)", _positive)
    if not tech["a_c"]:
        r.problem("technology.a_c", None, f"a number > 0 (m), needed by {prefix}c_w")
    return (tech["a_c"] or 0.0) / math.sqrt(c_w * c_l) if c_w and c_l else 0.0
