"""Experiment files: what to simulate, on which chip, with which device model, and what to record.

An experiment is a TOML file (format and annotated example: ``docs/experiments.md``) or the same
structure built in code with :class:`Experiment`. :func:`load_experiment` validates the whole file
and raises one :class:`~mixsig.errors.ConfigError` listing every problem (file, key, value,
expected); unknown keys are errors. The network tables (``populations``, ``inputs``,
``connections``) follow :meth:`mixsig.chip.Network.from_dict`, with three more input kinds:
``regular`` (``rate`` Hz, first spike at ``phase`` s), ``aedat`` (``file``: an AEDAT 2.0
recording whose addresses ``0 .. size-1`` are the channels) and ``dvs`` (an event-camera
recording, DVS128/DAVIS240 AEDAT 2.0 or tonic ``.npy``, mapped onto channels by
:mod:`mixsig.aer.dvs`), all turned into spike arrays.
"""

import dataclasses
import math
import pathlib
import tomllib
from importlib import resources

import numpy as np

from mixsig import paths
from mixsig.errors import ConfigError, Problem, is_finite, is_int, is_number, raise_if_any
from mixsig.reprs import Summary

TRACEABLE = {
    "i_mem": ("A", "membrane current"),
    "v_mem": ("V", "membrane voltage read-out (U_T/kappa) ln(I_mem/I_0)"),
    "i_ahp": ("A", "adaptation (AHP) current"),
    "i_ampa": ("A", "AMPA synaptic current"),
    "i_nmda": ("A", "NMDA synaptic current (before membrane gating)"),
    "i_gaba": ("A", "GABA (subtractive inhibition; SE1 GABA_B) synaptic current"),
    "i_shunt": ("A", "SHUNT (shunting inhibition; SE1 GABA_A) synaptic current"),
}
"""Quantities that can be recorded as traces: name -> (units, long_name)."""

MAX_MISMATCH_SCALE = 2.0
"""Largest ``mismatch_scale``: twice the calibrated spread (beyond it the lognormal tails leave the
subthreshold regime the device models describe)."""

INTEGRATORS = ("fast", "exact")
"""Values of :attr:`Experiment.integrator` (the kernels of :mod:`mixsig.engine.protocol`)."""

DELIVERIES = ("step", "exact")
"""Values of :attr:`Experiment.delivery`: the pulses of the router's deliveries start at the next
step's start, or at their arrival times inside the step (:mod:`mixsig.engine.onsets`)."""


@dataclasses.dataclass(frozen=True)
class DCStep:
    """A DC current added to ``soma.i_dc`` during ``[start, stop)``.

    Exactly one target: a ``population`` name, a ``core`` (global core index
    ``chip * n_cores + core``) or a list of global ``neurons``.
    """

    amplitude: float
    start: float = 0.0
    stop: float = math.inf
    population: str = ""
    core: int = -1
    neurons: tuple = ()


@dataclasses.dataclass(frozen=True)
class Record:
    """What to record besides spikes (which are always recorded).

    Attributes
    ----------
    traces : tuple of str
        Names among :data:`TRACEABLE`.
    neurons : tuple of int
        Global indices of the neurons whose traces are recorded.
    interval : float
        Sampling interval of the traces, s (a multiple of dt).
    router : bool
        Router statistics per instance and per link.
    parameters : bool
        The sampled (mismatched) parameters of every neuron, at the start of the run.
    """

    traces: tuple = ()
    neurons: tuple = ()
    interval: float = 1e-3
    router: bool = True
    parameters: bool = True


@dataclasses.dataclass(frozen=True, repr=False)
class Experiment(Summary):
    """A complete simulation request.

    Attributes
    ----------
    duration, dt : float
        Simulated time and time step, s.
    instances : int
        Number of chip instances (independent mismatch draws) simulated together.
    seed : int
        Root seed; every random draw flows from it through ``numpy.random.SeedSequence``.
    chip : str
        Chip config name (``chip_configs/``) or path.
    board : tuple of int
        Chips in x and y.
    device_model : str
        Calibration name (``device_models/``) or path; ``"none"`` for nominal, mismatch-free and
        noise-free chips.
    noise : bool
        Temporal noise on the subthreshold currents, when the device model switches it on.
    mismatch : bool
        Device mismatch drawn from the device model (false: nominal devices; temperature
        dependence, drift and noise stay as set).
    mismatch_scale : float
        Factor (0 to 2) on every mismatch deviation of the device model, i.e. on every sigma of
        the calibration: 0 gives nominal devices, 1 the calibrated spread. The instances keep
        their draws, so a sweep of the scale shows the same devices more or less mismatched.
    drift : bool
        Ageing drift of the device thresholds from the device model (false: no ageing; an
        explicit temperature profile still applies).
    integrator : str
        ``"fast"`` (fixed-step scheme of the same equations, :mod:`mixsig.engine.fast`) or
        ``"exact"`` (the reference: closed-form DPI pulses and adaptive RK4 soma); see
        ``docs/experiments.md``, "Integrators".
    delivery : str
        ``"step"``: a pulse the router delivers during a step starts at the next step's start (up
        to ``dt`` of delay added to the router's latency); ``"exact"`` (exact integrator, chips
        whose pulses add): it starts at its arrival time inside the step (:mod:`mixsig.engine.onsets`,
        ``docs/networks.md``, "Delivery timing").
    temperature : float or tuple of (float, float)
        Die temperature, K, or a piecewise-linear profile of ``(time s, temperature K)`` points.
    corner : str
        Process corner of the device model (``"tt"``, ``"ss"``, ``"ff"``, ... as the model
        defines them) or ``"mc"`` (each instance draws its global process shifts).
    age_at_start : float or None
        Device stress age at ``t = 0``, s; ``None`` takes the device model's (an aged chip).
    trims : str
        Trim file (``mixsig calibrate``, :mod:`mixsig.trims`) whose CapMem codes the chip's
        trimmable parameters take, relative to the experiment file; empty: none (nominal cells).
    t_since_program : float
        Time from the programming of the chip's crossbar synapse arrays to ``t = 0``, s (chips
        with a ``[crossbar]`` section, ``docs/substrate_crossbar.md``; ignored by the others).
    biases : tuple of (int or None, str, float)
        Overrides of the chip's per-core biases ``(core, "<block>.<field>", value)``;
        core ``None`` sets every core.
    network : dict
        ``populations``, ``inputs`` and ``connections`` tables (see the module docstring).
    dc : tuple of DCStep
    record : Record
    mapping : dict
        Provenance of an experiment made by the NIR mapper (:func:`mixsig.mapping.map_nir`):
        ``graph`` (where the graph came from), ``report`` (the mapping report) and ``nodes``
        (NIR neuron node -> its populations, in element order); empty otherwise.
    source, text : str
        Where the experiment came from and its verbatim TOML text (provenance).
    """

    duration: float = 1.0
    dt: float = 1e-4
    instances: int = 1
    seed: int = 0
    chip: str = "dynapse2"
    board: tuple = (1, 1)
    device_model: str = "generic_180nm"
    noise: bool = True
    mismatch: bool = True
    mismatch_scale: float = 1.0
    drift: bool = True
    integrator: str = "fast"
    delivery: str = "step"
    temperature: object = 300.0
    corner: str = "tt"
    age_at_start: object = None
    trims: str = ""
    t_since_program: float = 0.0
    biases: tuple = ()
    network: dict = dataclasses.field(default_factory=dict)
    dc: tuple = ()
    record: Record = Record()
    mapping: dict = dataclasses.field(default_factory=dict)
    source: str = "<experiment>"
    text: str = ""

    def replace(self, **changes):
        """A copy with some fields changed (e.g. ``seed``, ``instances``, ``duration``).

        Parameters
        ----------
        **changes
            New values of :class:`Experiment` fields, SI units.

        Returns
        -------
        Experiment
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The experiment as the tables of an experiment file (inverse of :func:`experiment_from_dict`).

        Every setting is written, defaults included, so the tables describe the run completely:
        ``experiment_from_dict(exp.to_dict())`` simulates exactly what ``exp`` simulates. Tuples
        and numpy values become lists and Python numbers. Shipped chip and device-model names stay
        names; a ``chip`` or ``device_model`` path and the ``file`` of an ``aedat`` input become
        absolute paths (as resolved for this experiment), so the tables mean the same files
        wherever they are read.

        Returns
        -------
        dict
            Plain TOML-able values (``mixsig.tomlwrite.dumps`` writes them).
        """
        data = {
            "duration": self.duration, "dt": self.dt, "instances": self.instances, "seed": self.seed,
            "chip": self.chip, "board": self.board, "device_model": self.device_model, "noise": self.noise,
            "mismatch": self.mismatch, "mismatch_scale": self.mismatch_scale, "drift": self.drift,
            "integrator": self.integrator, "delivery": self.delivery, "temperature": self.temperature, "corner": self.corner,
            **({} if self.age_at_start is None else {"age_at_start": self.age_at_start}),
            **({"trims": self.trims} if self.trims else {}),
            **({} if self.t_since_program == 0 else {"t_since_program": self.t_since_program}),
            "biases": [{**({} if core is None else {"core": core}), name: value} for core, name, value in self.biases],
        }
        for field, package in (("chip", "chip_configs"), ("device_model", "device_models")):
            value = data[field]
            if value != "none" and paths.shipped(value, package) is None:
                data[field] = str(pathlib.Path(value).absolute())
        network = _plain(self.network)
        for table in (network.get("inputs") or {}).values():
            if isinstance(table, dict) and table.get("kind") in ("aedat", "dvs") and isinstance(table.get("file"), str):
                table["file"] = str(_aedat_path(self, table["file"]).absolute())
        data.update(network)
        defaults = DCStep(amplitude=0.0)
        data["dc"] = [{field.name: getattr(step, field.name) for field in dataclasses.fields(DCStep)
                       if field.name == "amplitude" or getattr(step, field.name) != getattr(defaults, field.name)}
                      for step in self.dc]
        data["record"] = dataclasses.asdict(self.record)
        if self.mapping:
            data["mapping"] = self.mapping
        return {key: value for key, value in _plain(data).items() if value != []}

    def to_toml(self):
        """The experiment as experiment-file text; :func:`load_experiment` reads it back.

        This is what a dataset records as ``experiment_toml``: the effective experiment, after
        any change made in code or on the command line (``--instances``, ``--seed``, ...).

        Returns
        -------
        str
        """
        from mixsig.tomlwrite import dumps

        return dumps(self.to_dict(), comment="mixsig experiment: every setting of the run (docs/experiments.md)")

    def _summary(self):
        tables = self.network
        populations = ", ".join(f"{name} ({table.get('size', '?')})" if isinstance(table, dict) else name
                                for name, table in (tables.get("populations") or {}).items())
        switches = [name for name, on in (("mismatch", self.mismatch), ("drift", self.drift), ("noise", self.noise)) if on]
        return f"mixsig Experiment {self.source}", [
            ("chip", f"{self.chip}, board {self.board[0]} x {self.board[1]}"),
            ("instances", f"{self.instances} (seed {self.seed})"),
            ("duration", f"{self.duration:g} s, dt {self.dt:g} s"),
            ("device model", f"{self.device_model}, {', '.join(switches) or 'no mismatch, drift or noise'}"
                             + (f", mismatch x {self.mismatch_scale:g}" if self.mismatch_scale != 1 else "")),
            ("temperature", f"{self.temperature:g} K" if not isinstance(self.temperature, tuple) else "profile"),
            ("populations", populations or "none"),
            ("inputs, connections", f"{len(tables.get('inputs') or {})}, {len(tables.get('connections') or [])}"),
            ("biases, dc steps", f"{len(self.biases)}, {len(self.dc)}"),
            ("traces", ", ".join(self.record.traces) or "none"),
        ]

    def check(self):
        """Raise :class:`ConfigError` listing every problem of the experiment."""
        self.build_network()

    def build_network(self):
        """The :class:`mixsig.chip.Network` of the experiment (``regular``/``aedat`` inputs as spike arrays).

        Raises
        ------
        ConfigError
            Listing every problem of the experiment, network included.
        """
        network, problems = _network(self)
        raise_if_any(problems, f"experiment {self.source}")
        return network


def _network(exp):
    """The experiment's network (None if it cannot be built) and every problem of the experiment."""
    from mixsig.chip import Network

    problems = _problems(exp)
    # Only the input tables are rewritten (``_spike_array``); copying them, not the whole network
    # (whose pair lists can hold 1e5 entries), keeps the experiment's tables untouched.
    tables = dict(exp.network)
    inputs = tables.get("inputs") if isinstance(tables.get("inputs"), dict) else {}
    oversized = [Problem(exp.source, f"inputs.{name}.size", table["size"], f"at most {MAX_INPUT_CHANNELS} channels")
                 for name, table in inputs.items()
                 if isinstance(table, dict) and is_int(table.get("size")) and table["size"] > MAX_INPUT_CHANNELS]
    if oversized:  # refused before the network allocates its channels
        return None, problems + oversized
    if isinstance(tables.get("inputs"), dict):
        tables["inputs"] = {name: dict(table) if isinstance(table, dict) else table
                            for name, table in tables["inputs"].items()}
    for name, table in (tables.get("inputs") or {}).items():
        if isinstance(table, dict):
            _spike_array(exp, name, table, problems)
    network = None
    try:
        network = Network.from_dict(tables, source=exp.source)
    except ConfigError as error:
        problems += error.problems
    if network is not None:
        for i, step in enumerate(exp.dc):
            if step.population and step.population not in network.populations:
                problems.append(Problem(exp.source, f"dc[{i}].population", step.population,
                                        f"a population name ({sorted(network.populations)})"))
    return network, problems


def _plain(value):
    """``value`` with tuples and arrays as lists and numpy scalars as Python numbers (copied)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    return value.item() if isinstance(value, np.generic) else value


def _aedat_path(exp, file):
    """Path of an ``aedat`` input file: relative paths are relative to the experiment file."""
    path = pathlib.Path(file)
    folder = paths.referring_folder(exp.source)
    if not path.is_absolute() and folder is not None:
        path = folder / path
    return path


def _spike_array(exp, name, table, problems):
    """Turn a ``regular`` or ``aedat`` input table into a ``spike_array`` one, in place."""
    kind = table.get("kind")
    key = f"inputs.{name}"
    size = table.get("size")
    if kind == "dvs":
        from mixsig.aer.dvs import input_spike_times

        file = table.get("file")
        path = _aedat_path(exp, file) if isinstance(file, str) else None
        size, times, found = input_spike_times(table, path, exp.source, key, exp.duration, MAX_INPUT_SPIKES)
        problems += found
        table.update(kind="spike_array", size=size or 1, spike_times=times or [[]])  # reported above if None
        return
    if kind not in ("regular", "aedat"):
        return
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return  # reported by the network loader
    if kind == "regular":
        rate, phase = table.pop("rate", None), table.pop("phase", 0.0)
        if not is_finite(rate) or rate <= 0:
            problems.append(Problem(exp.source, f"{key}.rate", rate, "a finite rate > 0 Hz"))
            rate = None
        if not is_finite(phase) or phase < 0:
            problems.append(Problem(exp.source, f"{key}.phase", phase, "a finite first-spike time >= 0 s"))
            phase = None
        spikes = 0 if rate is None or phase is None or not is_finite(exp.duration) else \
            size * max(0.0, (exp.duration - phase) * rate)
        if spikes > MAX_INPUT_SPIKES:
            problems.append(Problem(exp.source, f"{key}.rate", rate,
                                    f"at most {MAX_INPUT_SPIKES:.0e} input spikes in all (size x duration x rate "
                                    f"= {spikes:.3g})"))
        if spikes == 0 or spikes > MAX_INPUT_SPIKES:
            table.update(kind="spike_array", spike_times=[[] for _ in range(size)])
            return
        train = np.arange(float(phase), exp.duration, 1.0 / rate).tolist()
        table.update(kind="spike_array", spike_times=[train] * size)
        return
    from mixsig.aer.aedat import read_aedat, us_to_seconds

    file = table.pop("file", None)
    times = [[] for _ in range(size)]
    table.update(kind="spike_array", spike_times=times)
    if not isinstance(file, str):
        problems.append(Problem(exp.source, f"{key}.file", file, "the path of an AEDAT 2.0 file"))
        return
    path = _aedat_path(exp, file)
    try:
        addresses, stamps, _ = read_aedat(path)
    except ConfigError as error:
        problems += error.problems
        return
    if addresses.size and int(addresses.max()) >= size:
        problems.append(Problem(str(path), "address", int(addresses.max()), f"channel addresses below {size} (inputs.{name}.size)"))
        return
    seconds = us_to_seconds(stamps)
    for channel in range(size):
        times[channel] = seconds[addresses == channel].tolist()


# ---------------------------------------------------------------------------------------------
# TOML loading

_TOP_KEYS = {
    "duration": float, "dt": float, "instances": int, "seed": int, "chip": str, "board": list,
    "device_model": str, "noise": bool, "mismatch": bool, "mismatch_scale": float, "drift": bool, "integrator": str,
    "delivery": str, "temperature": (float, list), "biases": list, "corner": str, "age_at_start": float, "trims": str,
    "t_since_program": float,
    "populations": dict, "inputs": dict, "connections": list, "dc": list, "record": dict, "mapping": dict,
}
TOP_KEYS = frozenset(_TOP_KEYS)
"""Top-level keys of an experiment file."""
_DC_KEYS = {"amplitude": float, "start": float, "stop": float, "population": str, "core": int, "neurons": list}
_RECORD_KEYS = {"traces": list, "neurons": list, "interval": float, "router": bool, "parameters": bool}
_MAPPING_KEYS = {"graph": str, "report": str, "nodes": dict}


def _type_ok(value, expected):
    expected = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return bool in expected
    if isinstance(value, int) and float in expected:
        return True
    return isinstance(value, expected)


def _type_name(expected):
    expected = expected if isinstance(expected, tuple) else (expected,)
    words = {float: "a number", int: "an integer", str: "a string", bool: "true or false",
             list: "an array", dict: "a table"}
    return " or ".join(words[t] for t in expected)


def _fields(table, spec, source, prefix, problems, required=()):
    """Type-check a table against ``{key: type}``; return the accepted items."""
    accepted = {}
    for key in required:
        if key not in table:
            problems.append(Problem(source, f"{prefix}{key}", None, f"{_type_name(spec[key])} (required)"))
    for key, value in table.items():
        if key not in spec:
            problems.append(Problem(source, f"{prefix}{key}", value, f"one of the keys {sorted(spec)}"))
        elif not _type_ok(value, spec[key]):
            problems.append(Problem(source, f"{prefix}{key}", value, _type_name(spec[key])))
        else:
            accepted[key] = float(value) if spec[key] is float else value
    return accepted


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _bias_entries(entries, source, problems):
    biases = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(Problem(source, f"biases[{i}]", entry, "a table of bias values"))
            continue
        core = entry.get("core")
        if core is not None and (isinstance(core, bool) or not isinstance(core, int) or core < 0):
            problems.append(Problem(source, f"biases[{i}].core", core, "a core index >= 0"))
        for name, value in entry.items():
            if name == "core":
                continue
            if isinstance(value, dict) and "." not in name:
                problems.append(Problem(source, f"biases[{i}].{name}", value,
                                        'a quoted namespaced key such as "soma.i_dc" (a bare soma.i_dc is a TOML table)'))
            elif "." not in name:
                problems.append(Problem(source, f"biases[{i}].{name}", value, 'a namespaced name such as "soma.i_dc"'))
            elif not is_finite(value):
                problems.append(Problem(source, f"biases[{i}].{name}", value, "a finite number in SI units"))
            else:
                biases.append((core, name, float(value)))
    return tuple(biases)


def experiment_from_dict(data, source="<experiment>", text=""):
    """Build and validate an :class:`Experiment` from parsed TOML tables.

    Parameters
    ----------
    data : dict
        The parsed file (see ``docs/experiments.md``).
    source : str
        File name for error messages and provenance.
    text : str
        Verbatim file text (provenance).

    Returns
    -------
    Experiment

    Raises
    ------
    ConfigError
        Listing every problem found.
    """
    problems = []
    top = _fields(data, _TOP_KEYS, source, "", problems)
    kwargs = {k: v for k, v in top.items() if k in ("duration", "dt", "instances", "seed", "chip", "device_model", "noise",
                                                    "mismatch", "mismatch_scale", "drift", "corner", "age_at_start", "integrator",
                                                    "delivery", "trims", "t_since_program")}
    if "board" in top:
        kwargs["board"] = tuple(top["board"])
    if "temperature" in top:
        kwargs["temperature"] = _tuples(top["temperature"])
    kwargs["biases"] = _bias_entries(top.get("biases", []), source, problems)
    kwargs["network"] = {key: top[key] for key in ("populations", "inputs", "connections") if key in top}
    steps = []
    for i, table in enumerate(top.get("dc", [])):
        if not isinstance(table, dict):
            problems.append(Problem(source, f"dc[{i}]", table, "a table"))
            continue
        fields = _fields(table, _DC_KEYS, source, f"dc[{i}].", problems, ("amplitude",))
        if "amplitude" in fields:
            steps.append(DCStep(**{k: _tuples(v) for k, v in fields.items()}))
    kwargs["dc"] = tuple(steps)
    if "mapping" in top:
        kwargs["mapping"] = _fields(top["mapping"], _MAPPING_KEYS, source, "mapping.", problems)
        for node, pops in kwargs["mapping"].get("nodes", {}).items():
            if not isinstance(pops, list) or not all(isinstance(p, str) for p in pops):
                problems.append(Problem(source, f"mapping.nodes.{node}", pops, "a list of population names"))
    if "record" in top:
        fields = _fields(top["record"], _RECORD_KEYS, source, "record.", problems)
        kwargs["record"] = Record(**{k: _tuples(v) for k, v in fields.items()})
    experiment = Experiment(source=source, text=text, **kwargs)
    raise_if_any(problems + _network(experiment)[1], f"experiment {source}")
    return experiment


def load_experiment(path):
    """Load and validate an experiment file.

    Parameters
    ----------
    path : str or os.PathLike
        A TOML experiment file.

    Returns
    -------
    Experiment
    """
    path = pathlib.Path(path)
    text = paths.read_text(path, "experiment")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([Problem(str(path), "(syntax)", None, f"valid TOML ({error})")], "experiment")
    experiment = experiment_from_dict(data, source=str(path), text=text)
    # ``chip`` and ``device_model`` paths are relative to the experiment file (shipped names win).
    changes = {}
    for field, package in (("chip", "chip_configs"), ("device_model", "device_models")):
        value = getattr(experiment, field)
        if field in data and value != "none":
            location, is_shipped = paths.resolve(value, package, path.parent)
            bare = len(pathlib.Path(value).parts) == 1 and not value.endswith(".toml")
            if not is_shipped and (location.exists() or not bare):  # else: an unknown name, reported as such
                changes[field] = str(location)
    return experiment.replace(**changes) if changes else experiment


def default_experiment():
    """The embedded default experiment that ``mixsig run`` runs without arguments."""
    text = resources.files("mixsig").joinpath("default_experiment.toml").read_text(encoding="utf-8")
    return experiment_from_dict(tomllib.loads(text), source="<default experiment>", text=text)


# ---------------------------------------------------------------------------------------------
# Consistency checks across fields

TEMPERATURE_RANGE = (200.0, 450.0)
"""Die temperatures accepted, K [asm: the subthreshold law with ``U_T = kT/q`` and a linear
``VT(T)`` is the model of mixsig; below ~150 K bulk CMOS leaves it (the subthreshold swing
saturates: Beckers et al., IEEE J. Electron Devices Soc. 6, 2018), and 450 K is beyond every
commercial and automotive range (398 K)]."""

MAX_DC_AMPLITUDE = 1e-3
"""Largest DC step accepted, A (as :data:`mixsig.chip.config.BIAS_MAXIMA`: a larger current is a
unit mistake)."""

MAX_INPUT_CHANNELS = 2**20
"""Most channels of one input group [asm: a 640 x 480 event camera with two polarities has
614400; a channel costs ~100 bytes before any spike]."""

MAX_INPUT_SPIKES = 10**8
"""Most spikes a ``regular`` input may expand to (0.8 GB as float64 times)."""

MAX_SEED = 2**64
"""Seeds are unsigned 64-bit integers (stored as such in the dataset)."""



def _problems(exp):
    src = exp.source
    problems = []

    def need(ok, key, value, expected):
        if not ok:
            problems.append(Problem(src, key, value, expected))

    need(is_finite(exp.duration) and exp.duration > 0, "duration", exp.duration, "a finite duration > 0 s")
    need(is_finite(exp.dt) and 0 < exp.dt <= (exp.duration if is_finite(exp.duration) else math.inf), "dt", exp.dt,
         "a finite step with 0 < dt <= duration (s)")
    need(exp.integrator in INTEGRATORS, "integrator", exp.integrator, f"one of {', '.join(map(repr, INTEGRATORS))}")
    need(exp.delivery in DELIVERIES, "delivery", exp.delivery, f"one of {', '.join(map(repr, DELIVERIES))}")
    need(exp.delivery != "exact" or exp.integrator == "exact", "delivery", exp.delivery,
         '"step" with integrator "fast" (pulse onsets inside a step need the exact integrator)')
    need(is_int(exp.instances) and exp.instances >= 1, "instances", exp.instances, "an integer >= 1")
    need(is_int(exp.seed) and 0 <= exp.seed < MAX_SEED, "seed", exp.seed, "an integer in [0, 2**64)")
    board = exp.board if isinstance(exp.board, tuple) else ()
    need(len(board) == 2 and all(is_int(n) and n >= 1 for n in board),
         "board", exp.board, "[nx, ny] with integers >= 1")
    need(is_finite(exp.mismatch_scale) and 0 <= exp.mismatch_scale <= MAX_MISMATCH_SCALE, "mismatch_scale",
         exp.mismatch_scale, f"a factor from 0 (nominal devices) to {MAX_MISMATCH_SCALE:g} on every mismatch sigma")
    low, high = TEMPERATURE_RANGE
    if isinstance(exp.temperature, tuple):
        points = exp.temperature
        pairs = len(points) >= 1 and all(
            isinstance(p, tuple) and len(p) == 2 and all(is_finite(v) for v in p) for p in points)
        need(pairs, "temperature", points, "a number (K) or an array of finite [time s, temperature K] pairs")
        if pairs:
            times = [p[0] for p in points]
            need(times[0] >= 0 and all(b > a for a, b in zip(times, times[1:])), "temperature", points,
                 "times >= 0 s, strictly increasing")
            need(all(low <= p[1] <= high for p in points), "temperature", points,
                 f"temperatures in [{low:g}, {high:g}] K (the subthreshold model's range)")
    else:
        need(is_finite(exp.temperature) and low <= exp.temperature <= high, "temperature", exp.temperature,
             f"a temperature in [{low:g}, {high:g}] K (the subthreshold model's range)")
    need(is_finite(exp.t_since_program) and exp.t_since_program >= 0, "t_since_program", exp.t_since_program,
         "a finite time since programming >= 0 s")
    need(exp.age_at_start is None or (is_finite(exp.age_at_start) and exp.age_at_start >= 0), "age_at_start",
         exp.age_at_start, "a finite stress age >= 0 s")
    for i, step in enumerate(exp.dc):
        targets = bool(step.population) + (step.core >= 0) + bool(step.neurons)
        need(targets == 1, f"dc[{i}]", dataclasses.asdict(step), "exactly one of population, core or neurons")
        need(is_finite(step.amplitude) and abs(step.amplitude) <= MAX_DC_AMPLITUDE, f"dc[{i}].amplitude", step.amplitude,
             f"a finite current with |amplitude| <= {MAX_DC_AMPLITUDE:g} A (SI units)")
        need(is_finite(step.start) and step.start >= 0, f"dc[{i}].start", step.start, "a finite time >= 0 s")
        need(is_number(step.stop) and not math.isnan(step.stop) and (not is_finite(step.start) or step.stop > step.start),
             f"dc[{i}].stop", step.stop, "a time > start (s), or inf")
        need(all(isinstance(n, int) and n >= 0 for n in step.neurons), f"dc[{i}].neurons", list(step.neurons),
             "global neuron indices >= 0")
    unknown = sorted(set(exp.record.traces) - set(TRACEABLE))
    need(not unknown, "record.traces", list(exp.record.traces), f"names among {sorted(TRACEABLE)}")
    if is_finite(exp.record.interval) and exp.record.interval > 0 and is_finite(exp.dt) and exp.dt > 0:
        stride = exp.record.interval / exp.dt
        need(stride >= 1 - 1e-9 and abs(stride - round(stride)) < 1e-6, "record.interval", exp.record.interval,
             f"a multiple of dt ({exp.dt} s)")
    else:
        need(False, "record.interval", exp.record.interval, "a finite interval > 0 s, a multiple of dt")
    need(not exp.record.traces or exp.record.neurons, "record.neurons", list(exp.record.neurons),
         "the global indices of the neurons whose traces are recorded")
    return problems
