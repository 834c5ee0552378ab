"""Network descriptions and the connectivity compiler (populations -> CAM / SRAM / tag tables).

A :class:`Network` lists populations (placed on given cores or automatically), input channels
(Poisson or spike arrays) and connections (all-to-all, probability, explicit pairs,
one-to-one; a synapse type; a weight as a CAM bit mask or as a target current).
:func:`compile_network` maps it onto a :class:`~mixsig.chip.topology.Board` and returns the
delivery tables of a :class:`CompiledNetwork`.

Model of the hardware (DYNAP-SE family; see ``docs/networks.md``):

* a source (neuron, or input channel injected by the FPGA) owns SRAM entries
  ``(dst_chip, core_mask, tag)``; an event is sent once per entry to chip ``dst_chip`` (mesh hops
  ``(dx, dy)``, ``|dx|, |dy| <= max_hop``) and broadcast there to every core of ``core_mask``
  with the entry's tag;
* a core delivers an event with tag ``t`` to every CAM entry of its neurons that holds ``t``;
  the entry gives the synapse type and the weight mask. The nominal weight current is

  .. math:: I_w = \\sum_{b} m_b\\, I_{w,b}(\\text{core}, \\text{type}),

  where ``m_b`` are the mask bits and ``I_{w,b}`` the core's weight currents
  (:meth:`mixsig.chip.config.ChipConfig.weight_currents`);
* tags are "globally multiplexed, locally unique": within each destination core a tag
  identifies exactly one source, so different cores may reuse the same tag for different
  sources, and one SRAM entry carries the same tag to all cores of its mask. With the chip's
  ``tag_scheme = "source_address"`` (DYNAP-SE1) a neuron's tag is its own address
  ``core * neurons_per_core + n``, where the SRAM entry may replace ``core`` by a virtual core;
  the compiler tries the neuron's own core first, then the others, for a tag free on the
  destination cores. When none is free the tag is shared: the two sources *alias* on that core
  (each one's events reach the CAM entries of the other, as on the chip), counted in
  :attr:`CompiledNetwork.aliased`. Input channels (FPGA) choose any free tag.

Global indices: neuron ``g = chip * neurons_per_chip + core * neurons_per_core + n``; source
ids are neurons first (``0 .. n_neurons-1``), then input channels (``n_neurons + j``); the
synapse slot of a CAM entry is ``neuron * cam_per_neuron + slot``.
"""

import dataclasses
import json
import pathlib
import tomllib
import zlib

import numpy as np

from mixsig.chip.config import SYN_TYPE_ALIASES, SYN_TYPES, ChipConfig, chip_from_dict
from mixsig.chip.topology import Board
from mixsig.errors import Problem, raise_if_any
from mixsig.files import atomic_write
from mixsig.tomlwrite import toml_value

RULES = ("all_to_all", "one_to_one", "probability", "pairs")
"""Connection rules."""

INPUT_KINDS = ("poisson", "spike_array")
"""Input channel kinds."""

CONNECTIVITY_STREAM = zlib.crc32(b"mixsig.chip.network connectivity")
"""First ``spawn_key`` element of connectivity draws: connection ``i`` draws from
``SeedSequence(seed, spawn_key=(CONNECTIVITY_STREAM, i))``, a stream apart from the per-instance
``(instance, purpose, ...)`` streams of mismatch, noise and stimuli (the mapping is the same on
every instance)."""

FORMAT = "mixsig-mapping-1"
"""Format tag of exported compiled networks."""


# ----------------------------------------------------------------------------- description


@dataclasses.dataclass(frozen=True)
class Population:
    """A group of neurons.

    Attributes
    ----------
    name : str
    size : int
    cores : tuple of int or None
        Cores to fill in order, or None for automatic placement.
    chip : int or tuple of int or None
        Chip index, ``(x, y)`` position, or None (chip 0 when ``cores`` is given, else any).
    """

    name: str
    size: int
    cores: tuple = None
    chip: object = None


@dataclasses.dataclass(frozen=True)
class InputGroup:
    """A group of input channels (FPGA spike generators).

    Attributes
    ----------
    name : str
    size : int
    kind : {"poisson", "spike_array"}
    rate : ndarray, shape (size,)
        Poisson rate per channel, Hz (NaN for spike arrays).
    spike_times : tuple of ndarray
        Sorted spike times per channel, s (empty for Poisson channels).
    """

    name: str
    size: int
    kind: str
    rate: np.ndarray
    spike_times: tuple


@dataclasses.dataclass(frozen=True)
class Connection:
    """A projection from a population or input group onto a population.

    Attributes
    ----------
    pre, post : str
    rule : {"all_to_all", "one_to_one", "probability", "pairs"}
    p : float or None
        Connection probability (rule ``"probability"``).
    pairs : ndarray of int, shape (k, 2) or None
        Explicit ``(pre_index, post_index)`` pairs (rule ``"pairs"``).
    syn_type : int
        0..3 = AMPA, NMDA, GABA, SHUNT.
    weight_mask : int or None
        CAM weight mask.
    weight : float or None
        Target weight current, A, rounded to the nearest mask of each target core.
    delay : str
        Delay circuit of the chip the synapses select (``""``: none; :mod:`mixsig.circuits.delay`).
    """

    pre: str
    post: str
    rule: str
    p: float
    pairs: np.ndarray
    syn_type: int
    weight_mask: int
    weight: float
    delay: str = ""

    @property
    def label(self):
        """``"pre -> post (TYPE)"``."""
        return f"{self.pre} -> {self.post} ({SYN_TYPES[self.syn_type].upper()})"


def _check_name(name, taken):
    if not isinstance(name, str) or not name:
        raise ValueError(f"name {name!r}: expected a non-empty string")
    if name in taken:
        raise ValueError(f"name {name!r} is already used by a population or input")


def _check_size(size):
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size {size!r}: expected an integer >= 1")
    return int(size)


def _syn_type_index(syn_type):
    if isinstance(syn_type, str) and syn_type.lower() in SYN_TYPE_ALIASES:
        syn_type = SYN_TYPE_ALIASES[syn_type.lower()]
    if isinstance(syn_type, str) and syn_type.lower() in SYN_TYPES:
        return SYN_TYPES.index(syn_type.lower())
    if isinstance(syn_type, (int, np.integer)) and not isinstance(syn_type, bool) and 0 <= syn_type < len(SYN_TYPES):
        return int(syn_type)
    raise ValueError(f"syn_type {syn_type!r}: expected one of {list(SYN_TYPES)}, an SE1 name "
                     f"{list(SYN_TYPE_ALIASES)} or 0..{len(SYN_TYPES) - 1}")


class Network:
    """A description of populations, input channels and connections, independent of the chip.

    Examples
    --------
    >>> net = Network()
    >>> net.population("exc", 80, core=0)
    >>> net.input("stim", 10, rate=20.0)
    >>> net.connect("stim", "exc", rule="probability", p=0.2, syn_type="ampa", weight=3e-9)
    """

    def __init__(self):
        self.populations = {}
        self.inputs = {}
        self.connections = []

    def population(self, name, size, core=None, chip=None):
        """Add a population.

        Parameters
        ----------
        name : str
        size : int
        core : int or sequence of int, optional
            Core(s) to place the population on, filled in order; None places it automatically
            (first free neurons, core by core, chip by chip).
        chip : int or (int, int), optional
            Chip index or ``(x, y)`` position on the board. With ``core`` given, defaults to
            chip 0; without, restricts automatic placement to that chip.
        """
        _check_name(name, {**self.populations, **self.inputs})
        size = _check_size(size)
        cores = None
        if core is not None:
            cores = (core,) if isinstance(core, (int, np.integer)) else tuple(core)
            if not cores or any(not isinstance(c, (int, np.integer)) or isinstance(c, bool) or c < 0 for c in cores):
                raise ValueError(f"core {core!r}: expected a core index >= 0 or a list of them")
            cores = tuple(int(c) for c in cores)
        if chip is not None:
            valid = (isinstance(chip, (int, np.integer)) and not isinstance(chip, bool) and chip >= 0) or (
                isinstance(chip, (tuple, list)) and len(chip) == 2
                and all(isinstance(v, (int, np.integer)) and v >= 0 for v in chip))
            if not valid:
                raise ValueError(f"chip {chip!r}: expected a chip index >= 0 or an (x, y) position")
            chip = tuple(int(v) for v in chip) if isinstance(chip, (tuple, list)) else int(chip)
        self.populations[name] = Population(name, size, cores, chip)

    def input(self, name, size, kind="poisson", rate=None, spike_times=None):
        """Add a group of input channels.

        Parameters
        ----------
        name : str
        size : int
        kind : {"poisson", "spike_array"}
        rate : float or array_like, shape (size,)
            Poisson rate(s), Hz (kind ``"poisson"``).
        spike_times : sequence of array_like, length size
            Spike times of each channel, s (kind ``"spike_array"``).
        """
        _check_name(name, {**self.populations, **self.inputs})
        size = _check_size(size)
        if kind == "poisson":
            if rate is None or spike_times is not None:
                raise ValueError("a poisson input needs rate= (Hz) and no spike_times")
            rates = np.broadcast_to(np.asarray(rate, dtype=float), (size,)).copy() \
                if np.ndim(rate) == 0 or np.shape(rate) == (size,) else None
            if rates is None or not np.all(np.isfinite(rates) & (rates >= 0)):
                raise ValueError(f"rate {rate!r}: expected finite rate(s) >= 0 Hz, a scalar or {size} values")
            self.inputs[name] = InputGroup(name, size, kind, rates, tuple(np.zeros(0) for _ in range(size)))
        elif kind == "spike_array":
            if spike_times is None or rate is not None:
                raise ValueError("a spike_array input needs spike_times= (s) and no rate")
            if len(spike_times) != size:
                raise ValueError(f"spike_times has {len(spike_times)} channels: expected {size}")
            times = []
            for channel, values in enumerate(spike_times):
                array = np.sort(np.asarray(values, dtype=float).ravel())
                if not np.all(np.isfinite(array) & (array >= 0)):
                    raise ValueError(f"spike_times[{channel}]: expected finite times >= 0 s")
                times.append(array)
            self.inputs[name] = InputGroup(name, size, kind, np.full(size, np.nan), tuple(times))
        else:
            raise ValueError(f"kind {kind!r}: expected one of {list(INPUT_KINDS)}")

    def connect(self, pre, post, rule="all_to_all", p=None, pairs=None, syn_type="ampa", weight_mask=None,
                weight=None, delay=""):
        """Add a connection.

        Parameters
        ----------
        pre : str
            Population or input group.
        post : str
            Population.
        rule : {"all_to_all", "one_to_one", "probability", "pairs"}
        p : float
            Connection probability in [0, 1] (rule ``"probability"``); drawn at compile time
            from the compile seed.
        pairs : array_like of int, shape (k, 2)
            ``(pre_index, post_index)`` pairs (rule ``"pairs"``).
        syn_type : {"ampa", "nmda", "gaba", "shunt"} or int
        weight_mask : int
            CAM weight mask (``1 .. 2**weight_bits - 1``).
        weight : float
            Target weight current, A; rounded to the nearest mask of each target core.
            Give exactly one of ``weight_mask`` and ``weight``.
        """
        sizes = {**{k: v.size for k, v in self.populations.items()}, **{k: v.size for k, v in self.inputs.items()}}
        if pre not in sizes:
            raise ValueError(f"pre {pre!r}: expected a population or input, one of {sorted(sizes)}")
        if post not in self.populations:
            raise ValueError(f"post {post!r}: expected a population, one of {sorted(self.populations)}")
        if rule not in RULES:
            raise ValueError(f"rule {rule!r}: expected one of {list(RULES)}")
        if (p is not None) != (rule == "probability"):
            raise ValueError("p= is required by, and only allowed with, rule 'probability'")
        if (pairs is not None) != (rule == "pairs"):
            raise ValueError("pairs= is required by, and only allowed with, rule 'pairs'")
        if p is not None and not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
            raise ValueError(f"p {p!r}: expected a probability in [0, 1]")
        if rule == "one_to_one" and sizes[pre] != sizes[post]:
            raise ValueError(f"one_to_one needs equal sizes: {pre!r} has {sizes[pre]}, {post!r} has {sizes[post]}")
        if pairs is not None:
            pairs = np.asarray(pairs)
            if pairs.size == 0:
                pairs = np.zeros((0, 2), dtype=np.int64)
            if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer):
                raise ValueError("pairs: expected integer (pre_index, post_index) pairs, shape (k, 2)")
            bad = (pairs[:, 0] < 0) | (pairs[:, 0] >= sizes[pre]) | (pairs[:, 1] < 0) | (pairs[:, 1] >= sizes[post])
            if np.any(bad):
                raise ValueError(f"pairs: {tuple(pairs[np.argmax(bad)])} out of range for sizes "
                                 f"({sizes[pre]}, {sizes[post]})")
            pairs = pairs.astype(np.int64)
        syn = _syn_type_index(syn_type)
        if (weight_mask is None) == (weight is None):
            raise ValueError("give exactly one of weight_mask= (CAM bit mask) and weight= (current, A)")
        if weight_mask is not None and (not isinstance(weight_mask, (int, np.integer)) or isinstance(weight_mask, bool)
                                        or weight_mask < 1):
            raise ValueError(f"weight_mask {weight_mask!r}: expected an integer >= 1")
        if weight is not None and (not isinstance(weight, (int, float)) or not np.isfinite(weight) or weight <= 0):
            raise ValueError(f"weight {weight!r}: expected a current > 0 A")
        if not isinstance(delay, str):
            raise ValueError(f"delay {delay!r}: expected the name of a delay circuit of the chip")
        self.connections.append(Connection(pre, post, rule, None if p is None else float(p), pairs, syn,
                                           None if weight_mask is None else int(weight_mask),
                                           None if weight is None else float(weight), delay))

    @classmethod
    def from_dict(cls, data, source="<network>"):
        """Build a network from parsed TOML tables, collecting every problem.

        Parameters
        ----------
        data : dict
            ``{"populations": {name: {size, core?, chip?}}, "inputs": {name: {size, kind?,
            rate? | spike_times?}}, "connections": [{pre, post, rule?, p?, pairs?, syn_type?,
            weight_mask? | weight?}, ...]}``.
        source : str
            Name used in problem reports.

        Returns
        -------
        Network

        Raises
        ------
        mixsig.errors.ConfigError
        """
        net, problems = cls(), []
        sections = {"populations": dict, "inputs": dict, "connections": list}
        for key in sorted(set(data) - set(sections)):
            problems.append(Problem(source, key, data[key], f"one of {sorted(sections)}"))
        for key, kind in sections.items():
            if not isinstance(data.get(key, kind()), kind):
                problems.append(Problem(source, key, data[key], f"a {'table' if kind is dict else 'list of tables'}"))
        items = [("populations", name, table, net.population, {"size", "core", "chip"})
                 for name, table in (data.get("populations") or {}).items()]
        items += [("inputs", name, table, net.input, {"size", "kind", "rate", "spike_times"})
                  for name, table in (data.get("inputs") or {}).items()]
        allowed = {"pre", "post", "rule", "p", "pairs", "syn_type", "weight_mask", "weight", "delay"}
        items += [("connections", index, table, net.connect, allowed)
                  for index, table in enumerate(data.get("connections") or [])]
        for section, name, table, method, allowed in items:
            key = f"{section}.{name}" if section != "connections" else f"connections[{name}]"
            if not isinstance(table, dict):
                problems.append(Problem(source, key, table, "a table"))
                continue
            unknown = sorted(set(table) - allowed)
            for field in unknown:
                problems.append(Problem(source, f"{key}.{field}", table[field], f"one of {sorted(allowed)}"))
            if unknown:
                continue
            try:
                method(*(() if section == "connections" else (name,)), **table)
            except (ValueError, TypeError) as error:
                problems.append(Problem(source, key, table, str(error)))
        raise_if_any(problems, "network")
        return net

    def to_dict(self):
        """The network as plain tables (inverse of :meth:`from_dict`)."""
        populations = {}
        for pop in self.populations.values():
            table = {"size": pop.size}
            if pop.cores is not None:
                table["core"] = list(pop.cores)
            if pop.chip is not None:
                table["chip"] = list(pop.chip) if isinstance(pop.chip, tuple) else pop.chip
            populations[pop.name] = table
        inputs = {}
        for group in self.inputs.values():
            table = {"size": group.size, "kind": group.kind}
            if group.kind == "poisson":
                table["rate"] = group.rate.tolist()
            else:
                table["spike_times"] = [times.tolist() for times in group.spike_times]
            inputs[group.name] = table
        connections = []
        for conn in self.connections:
            table = {"pre": conn.pre, "post": conn.post, "rule": conn.rule, "syn_type": SYN_TYPES[conn.syn_type]}
            if conn.p is not None:
                table["p"] = conn.p
            if conn.pairs is not None:
                table["pairs"] = conn.pairs.tolist()
            table["weight_mask" if conn.weight_mask is not None else "weight"] = (
                conn.weight_mask if conn.weight_mask is not None else conn.weight)
            if conn.delay:
                table["delay"] = conn.delay
            connections.append(table)
        return {"populations": populations, "inputs": inputs, "connections": connections}


# ----------------------------------------------------------------------------- errors


@dataclasses.dataclass(frozen=True)
class LimitViolation:
    """One thing the chip cannot hold.

    Attributes
    ----------
    what : str
        Who asked: ``"neuron 17 ('exc'[17], chip 0 core 0)"``, an input channel, a population or a
        connection.
    limit : str
        The chip-config field that limits it (``cam_per_neuron``, ``n_tags``, ...).
    requested : object
        What was asked for.
    available : object
        What the chip offers.
    message : str
        Full sentence.
    """

    what: str
    limit: str
    requested: object
    available: object
    message: str

    def __str__(self):
        return self.message


class MappingError(ValueError):
    """The network does not fit the chip or board; ``violations`` lists every problem found."""

    def __init__(self, violations, chip_name):
        self.violations = list(violations)
        lines = [f"network does not fit {chip_name}: {len(self.violations)} problem(s)"]
        lines += [f"  - {violation}" for violation in self.violations]
        super().__init__("\n".join(lines))


# ----------------------------------------------------------------------------- compiled tables


_SRAM_FIELDS = ("src", "dst_chip", "core_mask", "tag", "dx", "dy")
_CAM_FIELDS = ("chip", "core", "tag", "neuron", "syn_type", "weight_mask", "weight", "synapse", "source",
               "connection")
_ARRAYS = {
    # name: (dimension, units, long_name)
    "sram_src": ("sram", "1", "global source id of the SRAM entry (neurons, then input channels)"),
    "sram_dst_chip": ("sram", "1", "destination chip index (y * nx + x)"),
    "sram_core_mask": ("sram", "1", "bit mask of destination cores"),
    "sram_tag": ("sram", "1", "tag broadcast to the destination cores"),
    "sram_dx": ("sram", "1", "mesh hops along x to the destination chip"),
    "sram_dy": ("sram", "1", "mesh hops along y to the destination chip"),
    "sram_ptr": ("source_ptr", "1", "CSR index: SRAM rows of source s are sram_ptr[s]:sram_ptr[s+1]"),
    "cam_chip": ("cam", "1", "chip of the CAM entry"),
    "cam_core": ("cam", "1", "core of the CAM entry"),
    "cam_tag": ("cam", "1", "tag the CAM entry listens to"),
    "cam_neuron": ("cam", "1", "global index of the target neuron"),
    "cam_syn_type": ("cam", "1", "synapse type (0 AMPA, 1 NMDA, 2 GABA, 3 SHUNT)"),
    "cam_weight_mask": ("cam", "1", "weight bit mask"),
    "cam_weight": ("cam", "A", "nominal synaptic weight current"),
    "cam_synapse": ("cam", "1", "global synapse slot (neuron * cam_per_neuron + slot)"),
    "cam_source": ("cam", "1", "global source id the entry's tag stands for"),
    "cam_connection": ("cam", "1", "index of the connection that made the entry"),
    "cam_ptr": ("cam_key_ptr", "1",
                "CSR index: CAM rows of (chip, core, tag) are cam_ptr[k]:cam_ptr[k+1], k = (chip*n_cores+core)*n_tags+tag"),
    "population_ptr": ("population_ptr_dim", "1", "neurons of population i are population_neuron[ptr[i]:ptr[i+1]]"),
    "population_neuron": ("population_member", "1", "global neuron indices of the populations"),
    "input_ptr": ("input_ptr_dim", "1", "channels of input group i are ptr[i]:ptr[i+1]"),
    "input_rate": ("input_channel", "Hz", "Poisson rate of the input channel (NaN for spike arrays)"),
    "input_spike_time": ("input_spike", "s", "spike time of a spike-array input"),
    "input_spike_channel": ("input_spike", "1", "input channel (0-based, source id minus n_neurons) of the spike"),
}
_STRINGS = {
    "population_name": ("population", "population name"),
    "input_name": ("input_group", "input group name"),
    "input_kind": ("input_group", "input kind (poisson or spike_array)"),
    "connection_label": ("connection", "connection description (pre -> post (TYPE))"),
}


@dataclasses.dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """CAM / SRAM / tag tables of a network mapped onto a board, as flat numpy arrays.

    SRAM entries (rows sorted by source, then destination chip), CSR ``sram_ptr`` over source ids
    (shape ``(n_sources + 1,)``): ``sram_src``, ``sram_dst_chip``, ``sram_core_mask``,
    ``sram_tag``, ``sram_dx``, ``sram_dy``.

    CAM entries (rows sorted by chip, core, tag, neuron, slot), CSR ``cam_ptr`` over the key
    ``(chip * n_cores + core) * n_tags + tag`` (shape ``(n_chips * n_cores * n_tags + 1,)``):
    ``cam_chip``, ``cam_core``, ``cam_tag``, ``cam_neuron``, ``cam_syn_type``,
    ``cam_weight_mask``, ``cam_weight`` (A), ``cam_synapse``, plus ``cam_source`` and
    ``cam_connection`` for inspection.

    Populations: ``population_name``, ``population_ptr``, ``population_neuron``. Inputs:
    ``input_name``, ``input_kind``, ``input_ptr`` (channel ranges), ``input_rate`` (Hz, per
    channel), ``input_spike_time`` (s) and ``input_spike_channel``, sorted by channel and time.
    """

    chip: ChipConfig
    board_shape: tuple
    seed: object
    n_neurons: int
    n_inputs: int
    connection_label: tuple
    population_name: tuple
    input_name: tuple
    input_kind: tuple
    sram_src: np.ndarray
    sram_dst_chip: np.ndarray
    sram_core_mask: np.ndarray
    sram_tag: np.ndarray
    sram_dx: np.ndarray
    sram_dy: np.ndarray
    sram_ptr: np.ndarray
    cam_chip: np.ndarray
    cam_core: np.ndarray
    cam_tag: np.ndarray
    cam_neuron: np.ndarray
    cam_syn_type: np.ndarray
    cam_weight_mask: np.ndarray
    cam_weight: np.ndarray
    cam_synapse: np.ndarray
    cam_source: np.ndarray
    cam_connection: np.ndarray
    cam_ptr: np.ndarray
    population_ptr: np.ndarray
    population_neuron: np.ndarray
    input_ptr: np.ndarray
    input_rate: np.ndarray
    input_spike_time: np.ndarray
    input_spike_channel: np.ndarray

    @property
    def board(self):
        """The :class:`Board` the network is mapped on."""
        return Board(self.chip, *self.board_shape)

    @property
    def aliased(self):
        """Number of (chip, core, tag) keys that more than one source sends events to.

        Non-zero only on a ``tag_scheme = "source_address"`` chip whose sources could not all get
        distinct (virtual) addresses: the sources of such a key alias, each one's events reaching
        the CAM entries meant for the others.
        """
        n_cores, n_tags = self.chip.n_cores, self.chip.n_tags
        entry, core = np.nonzero((self.sram_core_mask[:, None] >> np.arange(n_cores)) & 1)
        key = (self.sram_dst_chip[entry] * n_cores + core) * n_tags + self.sram_tag[entry]
        pairs = np.unique(np.stack([key, self.sram_src[entry]]), axis=1)
        _, senders = np.unique(pairs[0], return_counts=True)
        return int(np.sum(senders > 1))

    @property
    def n_sources(self):
        """Neurons plus input channels."""
        return self.n_neurons + self.n_inputs

    def population(self, name):
        """Global neuron indices of a population.

        Parameters
        ----------
        name : str
            Population name.

        Returns
        -------
        ndarray of int, shape (size,)
        """
        i = self.population_name.index(name)
        return self.population_neuron[self.population_ptr[i]:self.population_ptr[i + 1]]

    def input_channels(self, name):
        """Global source ids of an input group's channels (``n_neurons + channel``).

        Parameters
        ----------
        name : str
            Input group name.

        Returns
        -------
        ndarray of int, shape (size,)
        """
        i = self.input_name.index(name)
        return self.n_neurons + np.arange(self.input_ptr[i], self.input_ptr[i + 1])

    def cam_rows(self, chip, core, tag):
        """CAM rows listening to ``tag`` on ``(chip, core)``.

        Parameters
        ----------
        chip, core, tag : int
            Chip index, core in the chip, tag.

        Returns
        -------
        slice
            Rows of the CAM arrays.
        """
        key = (chip * self.chip.n_cores + core) * self.chip.n_tags + tag
        return slice(int(self.cam_ptr[key]), int(self.cam_ptr[key + 1]))

    def deliveries(self, src):
        """CAM rows an event of source ``src`` reaches, following its SRAM entries.

        Parameters
        ----------
        src : int
            Global source id.

        Returns
        -------
        ndarray of int
            CAM row indices, in SRAM-entry then core order.
        """
        rows = []
        for entry in range(self.sram_ptr[src], self.sram_ptr[src + 1]):
            for core in range(self.chip.n_cores):
                if self.sram_core_mask[entry] >> core & 1:
                    where = self.cam_rows(int(self.sram_dst_chip[entry]), core, int(self.sram_tag[entry]))
                    rows.append(np.arange(where.start, where.stop))
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)

    # -- export ----------------------------------------------------------------------------

    def _header(self):
        return {
            "format": FORMAT, "chip_source": self.chip.source, "chip_toml": self.chip.toml_text,
            "board_nx": self.board_shape[0], "board_ny": self.board_shape[1],
            "seed": "" if self.seed is None else json.dumps(self.seed),
            "n_neurons": self.n_neurons, "n_inputs": self.n_inputs,
        }

    def save(self, path):
        """Write the mapping to ``path`` (``.toml`` or ``.nc``), atomically.

        Parameters
        ----------
        path : str or os.PathLike
            Target file; the suffix selects the format.
        """
        path = pathlib.Path(path)
        if path.suffix == ".toml":
            text = _to_toml(self)
            atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))
        elif path.suffix == ".nc":
            dataset = self.to_dataset()
            atomic_write(path, lambda tmp: dataset.to_netcdf(tmp))
        else:
            raise ValueError(f"{path}: expected a .toml or .nc file name")

    def to_dataset(self):
        """The mapping as an :class:`xarray.Dataset` (every variable has units and long_name)."""
        import xarray as xr

        variables = {}
        for name, (dim, units, long_name) in _ARRAYS.items():
            variables[name] = xr.Variable(dim, getattr(self, name), {"units": units, "long_name": long_name})
        for name, (dim, long_name) in _STRINGS.items():
            variables[name] = xr.Variable(dim, np.array(getattr(self, name), dtype=object), {"long_name": long_name})
        return xr.Dataset(variables, attrs=self._header())


def _to_toml(compiled):
    lines = ["# Compiled mixsig network (CAM / SRAM / tag tables); reload with mixsig.chip.load_compiled.",
             "[mapping]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in compiled._header().items()]
    lines.append("[arrays]")
    lines += [f"{name} = {toml_value(getattr(compiled, name).tolist())}" for name in _ARRAYS]
    lines.append("[strings]")
    lines += [f"{name} = {toml_value(list(getattr(compiled, name)))}" for name in _STRINGS]
    return "\n".join(lines) + "\n"


_DTYPES = {"cam_weight": float, "input_rate": float, "input_spike_time": float}


def load_compiled(path):
    """Reload a mapping written by :meth:`CompiledNetwork.save` (``.toml`` or ``.nc``).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    CompiledNetwork
        Equal, array by array, to the one saved.
    """
    path = pathlib.Path(path)
    if path.suffix == ".toml":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        header, arrays, strings = data["mapping"], data["arrays"], data["strings"]
    elif path.suffix == ".nc":
        import xarray as xr

        with xr.open_dataset(path) as dataset:
            dataset.load()
            header = dict(dataset.attrs)
            arrays = {name: dataset[name].values for name in _ARRAYS}
            strings = {name: [str(v) for v in dataset[name].values] for name in _STRINGS}
    else:
        raise ValueError(f"{path}: expected a .toml or .nc file name")
    if header.get("format") != FORMAT:
        raise_if_any([Problem(str(path), "format", header.get("format"), repr(FORMAT))], "compiled network")
    text = str(header["chip_toml"])
    chip = chip_from_dict(tomllib.loads(text), source=str(header["chip_source"]), toml_text=text)
    return CompiledNetwork(
        chip=chip, board_shape=(int(header["board_nx"]), int(header["board_ny"])),
        seed=None if header["seed"] == "" else json.loads(header["seed"]),
        n_neurons=int(header["n_neurons"]), n_inputs=int(header["n_inputs"]),
        **{name: tuple(strings[name]) for name in _STRINGS},
        **{name: np.asarray(arrays[name], dtype=_DTYPES.get(name, np.int64)) for name in _ARRAYS},
    )


# ----------------------------------------------------------------------------- compiler


class _Sources:
    """Describes global sources (neurons and input channels) for messages."""

    def __init__(self, board, placement, network):
        self.board = board
        self.owner = {}
        for name, neurons in placement.items():
            for index, neuron in enumerate(neurons):
                self.owner[int(neuron)] = (name, index)
        self.n_neurons = board.n_neurons
        self.channels = []
        for group in network.inputs.values():
            self.channels += [(group.name, index) for index in range(group.size)]

    def __call__(self, src):
        src = int(src)
        if src >= self.n_neurons:
            name, index = self.channels[src - self.n_neurons]
            return f"input channel {src - self.n_neurons} ('{name}'[{index}])"
        chip, core, _ = self.board.locate(src)
        name, index = self.owner[src]
        return f"neuron {src} ('{name}'[{index}], chip {chip} core {core})"


def _violation(violations, what, limit, requested, available, message):
    violations.append(LimitViolation(what, limit, requested, available, message))


def _place(board, network, violations):
    """Assign global neuron indices to populations: explicit cores first, then automatic."""
    chip_cfg = board.chip
    npc = chip_cfg.neurons_per_core
    used = np.zeros((board.n_chips, chip_cfg.n_cores), dtype=np.int64)
    placement = {}

    def chip_index(pop):
        if pop.chip is None:
            return None
        x, y = pop.chip if isinstance(pop.chip, tuple) else board.chip_xy(pop.chip)
        if isinstance(pop.chip, int) and pop.chip >= board.n_chips or not (x < board.nx and y < board.ny):
            _violation(violations, f"population '{pop.name}'", "board", pop.chip, (board.nx, board.ny),
                       f"population '{pop.name}' is placed on chip {pop.chip!r}, which is not on the "
                       f"{board.nx} x {board.ny} board")
            return -1
        return int(y * board.nx + x)

    explicit = [pop for pop in network.populations.values() if pop.cores is not None]
    automatic = [pop for pop in network.populations.values() if pop.cores is None]
    for pop in explicit:
        chip = chip_index(pop)
        chip = 0 if chip is None else chip
        bad = [core for core in pop.cores if core >= chip_cfg.n_cores]
        if chip < 0 or bad:
            if bad:
                _violation(violations, f"population '{pop.name}'", "n_cores", bad[0], chip_cfg.n_cores,
                           f"population '{pop.name}' is placed on core {bad[0]}: the chip has "
                           f"{chip_cfg.n_cores} cores (n_cores)")
            continue
        neurons, left = [], pop.size
        for core in pop.cores:
            take = min(left, npc - used[chip, core])
            neurons.append(board.global_neuron(chip, core, used[chip, core] + np.arange(take)))
            used[chip, core] += take
            left -= take
        if left:
            free = sum(npc - used[chip, core] for core in pop.cores) + pop.size - left
            _violation(violations, f"population '{pop.name}'", "neurons_per_core", pop.size, int(free),
                       f"population '{pop.name}' needs {pop.size} neurons on chip {chip} core(s) "
                       f"{list(pop.cores)}: {free} are free there ({npc} per core, neurons_per_core)")
            continue
        placement[pop.name] = np.concatenate(neurons)
    for pop in automatic:
        chip = chip_index(pop)
        if chip is not None and chip < 0:
            continue
        chips = range(board.n_chips) if chip is None else [chip]
        neurons, left = [], pop.size
        for c in chips:
            for core in range(chip_cfg.n_cores):
                take = min(left, npc - used[c, core])
                if take:
                    neurons.append(board.global_neuron(c, core, used[c, core] + np.arange(take)))
                    used[c, core] += take
                    left -= take
        if left:
            where = "the board" if chip is None else f"chip {chip}"
            _violation(violations, f"population '{pop.name}'", "neurons_per_core", pop.size, pop.size - left,
                       f"population '{pop.name}' needs {pop.size} neurons: {pop.size - left} are free on {where}")
            continue
        placement[pop.name] = np.concatenate(neurons)
    return placement


def _expand(network, placement, input_base, seed):
    """Synapse list ``(src, tgt, syn_type, connection)`` of every connection, as int arrays."""
    rngs = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CONNECTIVITY_STREAM, index)))
            for index in range(len(network.connections))]
    parts = []
    for index, (conn, rng) in enumerate(zip(network.connections, rngs)):
        pre_ids = placement[conn.pre] if conn.pre in placement else input_base[conn.pre]
        post_ids = placement[conn.post]
        if conn.rule == "all_to_all":
            i, j = np.meshgrid(np.arange(len(pre_ids)), np.arange(len(post_ids)), indexing="ij")
            i, j = i.ravel(), j.ravel()
        elif conn.rule == "one_to_one":
            i = j = np.arange(len(pre_ids))
        elif conn.rule == "probability":
            i, j = np.nonzero(rng.random((len(pre_ids), len(post_ids))) < conn.p)
        else:
            i, j = conn.pairs[:, 0], conn.pairs[:, 1]
        parts.append(np.stack([pre_ids[i], post_ids[j], np.full(len(i), conn.syn_type),
                               np.full(len(i), index)], axis=1).astype(np.int64))
    return np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)


def mask_currents(chip):
    """Nominal current of every weight mask on every core and synapse type.

    Parameters
    ----------
    chip : ChipConfig

    Returns
    -------
    ndarray, shape (n_cores, 4, 2**weight_bits)
        Entry ``[core, syn_type, mask]`` is ``sum_b bit_b(mask) * I_w,b`` (A); mask 0 gives 0.
    """
    masks = np.arange(2 ** chip.weight_bits)
    bits = (masks[:, None] >> np.arange(chip.weight_bits)) & 1  # (n_masks, bits)
    return chip.weight_currents() @ bits.T.astype(float)


def _weights(board, network, syn, violations, describe):
    """Weight mask and nominal current of every synapse; weights given as currents are rounded."""
    chip = board.chip
    currents = mask_currents(chip)
    _, core, _ = board.locate(syn[:, 1])
    masks = np.zeros(len(syn), dtype=np.int64)
    n_masks = 2 ** chip.weight_bits
    for index, conn in enumerate(network.connections):
        rows = np.nonzero(syn[:, 3] == index)[0]
        if conn.weight_mask is not None:
            if conn.weight_mask >= n_masks:
                _violation(violations, f"connection {index} ({conn.label})", "weight_bits", conn.weight_mask,
                           n_masks - 1, f"connection {index} ({conn.label}): weight_mask {conn.weight_mask} "
                           f"needs more than {chip.weight_bits} bit(s): masks are 1..{n_masks - 1} (weight_bits)")
            masks[rows] = conn.weight_mask
            continue
        for c in np.unique(core[rows]):
            values = currents[c, conn.syn_type, 1:]
            order = np.argsort(values, kind="stable")
            ladder = values[order]
            low = ladder[0] / 2
            high = ladder[-1] + ((ladder[-1] - ladder[-2]) if len(ladder) > 1 else ladder[-1]) / 2
            here = rows[core[rows] == c]
            if not low <= conn.weight <= high:
                _violation(violations, f"connection {index} ({conn.label})", "weight currents", conn.weight,
                           (low, high),
                           f"connection {index} ({conn.label}): weight {conn.weight:.6g} A for "
                           f"{describe(syn[here[0], 1])} is not representable: the "
                           f"{chip.weight_bits}-bit masks of core {c} give {ladder[0]:.6g} .. {ladder[-1]:.6g} A "
                           f"(accepted {low:.6g} .. {high:.6g} A)")
                continue
            masks[here] = 1 + order[np.argmin(np.abs(ladder - conn.weight))]
    valid = masks < n_masks
    weights = np.zeros(len(syn))
    weights[valid] = currents[core[valid], syn[valid, 2], masks[valid]]
    return masks, weights


def _address_tags(board, groups):
    """SRAM entries of the neuron sources of a ``"source_address"`` chip.

    Each group takes the tag ``vcore * neurons_per_core + n`` of the source's address ``n`` with
    the first virtual core ``vcore`` (own core first) free on every core of its mask, else on as
    many of them as possible; cores left without a free one share the own-core tag (aliasing).

    Returns
    -------
    entries : list of (src, dst_chip, core_mask, tag)
    free : ndarray of bool, shape (n_chips, n_cores, n_tags)
        Tags still free (for the input channels).
    """
    chip = board.chip
    per_core = chip.neurons_per_core
    free = np.ones((board.n_chips, chip.n_cores, chip.n_tags), dtype=bool)
    entries = []
    for src, dst, mask in sorted(g for g in groups if g[0] < board.n_neurons):
        address, own = src % per_core, src // per_core % chip.n_cores
        candidates = [(own + v) % chip.n_cores * per_core + address for v in range(chip.n_cores)]
        remaining = [core for core in range(chip.n_cores) if mask >> core & 1]
        while remaining:
            best = max(candidates, key=lambda tag: sum(free[dst, core, tag] for core in remaining))
            cores = [core for core in remaining if free[dst, core, best]]
            if not cores:  # no free virtual address: the own address, shared (aliasing)
                best, cores = candidates[0], remaining
            free[dst, cores, best] = False
            entries.append((src, dst, sum(1 << core for core in cores), best))
            remaining = [core for core in remaining if core not in cores]
    return entries, free


def _allocate_tags(board, groups, violations, describe):
    """Give every (source, destination chip, core mask) group SRAM entries and tags.

    Parameters
    ----------
    groups : list of (src, dst_chip, core_mask)

    Returns
    -------
    list of (src, dst_chip, core_mask, tag)
        SRAM entries; a group whose cores have no common free tag is split over several entries.
    """
    chip = board.chip
    entries = []
    free = np.ones((board.n_chips, chip.n_cores, chip.n_tags), dtype=bool)
    if chip.tag_scheme == "source_address":
        entries, free = _address_tags(board, groups)
        groups = [g for g in groups if g[0] >= board.n_neurons]
    load = np.zeros((board.n_chips, chip.n_cores), dtype=np.int64)
    for _, dst, mask in groups:
        for core in range(chip.n_cores):
            load[dst, core] += mask >> core & 1
    order = sorted(groups, key=lambda g: (-bin(g[2]).count("1"), g[1], g[0]))
    reported = set()
    for src, dst, mask in order:
        remaining = [core for core in range(chip.n_cores) if mask >> core & 1]
        while remaining:
            counts = free[dst, remaining].sum(axis=0)
            tag = int(np.argmax(counts))
            if counts[tag] == 0:
                core = remaining[0]
                if (dst, core) not in reported:
                    reported.add((dst, core))
                    _violation(violations, describe(src), "n_tags", int(load[dst, core]), chip.n_tags,
                               f"{describe(src)} gets no tag on chip {dst} core {core}: {load[dst, core]} sources "
                               f"send to that core, the chip has {chip.n_tags} tags (n_tags)")
                remaining = remaining[1:]
                continue
            cores = [core for core in remaining if free[dst, core, tag]]
            free[dst, cores, tag] = False
            entries.append((src, dst, sum(1 << core for core in cores), tag))
            remaining = [core for core in remaining if core not in cores]
    return entries


def _check_fan_in(board, syn, violations, describe):
    """Record every neuron with more incoming synapses than CAM entries."""
    chip = board.chip
    fan_in = np.bincount(syn[:, 1], minlength=board.n_neurons)
    for neuron in np.nonzero(fan_in > chip.cam_per_neuron)[0]:
        _violation(violations, describe(neuron), "cam_per_neuron", int(fan_in[neuron]), chip.cam_per_neuron,
                   f"{describe(neuron)} needs {fan_in[neuron]} CAM entries: the chip has {chip.cam_per_neuron} "
                   f"per neuron (cam_per_neuron)")


def _destination_groups(board, src, tgt_chip, tgt_core, violations, describe):
    """One ``(source, destination chip, core mask)`` group per source and chip it reaches.

    Records neurons whose groups exceed ``sram_per_neuron`` or reach beyond ``max_hop``.
    """
    chip = board.chip
    # Unique (source, chip, core) triples in lexicographic order, through one integer key.
    key = np.unique((np.asarray(src, dtype=np.int64) * board.n_chips + tgt_chip) * chip.n_cores + tgt_core)
    keys = np.stack([key // (board.n_chips * chip.n_cores), key // chip.n_cores % board.n_chips, key % chip.n_cores], axis=1)
    group_mask = {}
    for source, dst, core in keys.tolist():
        group_mask[(source, dst)] = group_mask.get((source, dst), 0) | (1 << core)
    groups = [(source, dst, mask) for (source, dst), mask in group_mask.items()]
    src_chips = {}
    for source, dst, _ in groups:
        if source < board.n_neurons:  # input channels enter each chip from the FPGA
            src_chips.setdefault(source, []).append(dst)
    for source in sorted(src_chips):
        dsts = sorted(src_chips[source])
        home = int(board.locate(source)[0])
        for dst in dsts:
            dx, dy = (int(v) for v in board.hops(home, dst))
            if max(abs(dx), abs(dy)) > chip.max_hop:
                _violation(violations, describe(source), "max_hop", (dx, dy), chip.max_hop,
                           f"{describe(source)} targets chip {dst} at {tuple(int(v) for v in board.chip_xy(dst))}: "
                           f"hop ({dx}, {dy}) is outside [-{chip.max_hop}, {chip.max_hop}] (max_hop)")
        if len(dsts) > chip.sram_per_neuron:
            _violation(violations, describe(source), "sram_per_neuron", len(dsts), chip.sram_per_neuron,
                       f"{describe(source)} needs {len(dsts)} SRAM destinations (chips {dsts}): the chip has "
                       f"{chip.sram_per_neuron} per neuron (sram_per_neuron)")
    return groups


def _cam_layout(board, syn, tgt_chip, tgt_core, entries):
    """Tag, synapse slot and CAM order of every synapse, and the CSR index over (chip, core, tag).

    Returns
    -------
    tags, synapse : ndarray of int, shape (n_syn,)
    order : ndarray of int, shape (n_syn,)
        Permutation sorting the synapses by (chip, core, tag, neuron, slot).
    cam_ptr : ndarray of int, shape (n_chips * n_cores * n_tags + 1,)
    """
    chip = board.chip
    tag_of = {}
    for src, dst, mask, tag in entries.tolist():
        for core in range(chip.n_cores):
            if mask >> core & 1:
                tag_of[(src, dst, core)] = tag
    tags = np.array([tag_of[key] for key in zip(syn[:, 0].tolist(), tgt_chip.tolist(), tgt_core.tolist())],
                    dtype=np.int64)
    by_neuron = np.lexsort((syn[:, 0], syn[:, 3], syn[:, 1]))  # neuron, then connection, then source
    slot = np.empty(len(syn), dtype=np.int64)
    starts = np.searchsorted(syn[by_neuron, 1], syn[by_neuron, 1], side="left")
    slot[by_neuron] = np.arange(len(syn)) - starts
    synapse = syn[:, 1] * chip.cam_per_neuron + slot
    order = np.lexsort((slot, syn[:, 1], tags, tgt_core, tgt_chip))
    key = (tgt_chip * chip.n_cores + tgt_core) * chip.n_tags + tags
    n_keys = board.n_chips * chip.n_cores * chip.n_tags
    cam_ptr = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=n_keys))]).astype(np.int64)
    return tags, synapse, order, cam_ptr


def compile_network(chip_or_board, network, seed=None):
    """Map a network onto a chip or board: place, draw, round weights, allocate tags, CAM and SRAM.

    Parameters
    ----------
    chip_or_board : ChipConfig or Board
        A chip config means the board of its ``[board]`` section.
    network : Network
    seed : int, optional
        Seed of the connectivity draws (rule ``"probability"``); connection ``i`` draws from
        ``SeedSequence(seed, spawn_key=(CONNECTIVITY_STREAM, i))``. None draws fresh entropy,
        which is recorded as the compiled network's ``seed``.

    Returns
    -------
    CompiledNetwork

    Raises
    ------
    MappingError
        Listing everything the chip cannot hold, each naming the neuron (or population or
        connection), the limit and the number asked for.
    """
    board = Board.from_chip(chip_or_board) if isinstance(chip_or_board, ChipConfig) else chip_or_board
    if seed is None:
        seed = np.random.SeedSequence().entropy
    chip = board.chip
    violations = []
    placement = _place(board, network, violations)
    if violations:
        raise MappingError(violations, chip.name)
    input_base, offset = {}, board.n_neurons
    for group in network.inputs.values():
        input_base[group.name] = offset + np.arange(group.size)
        offset += group.size
    n_inputs = offset - board.n_neurons
    describe = _Sources(board, placement, network)

    syn = _expand(network, placement, input_base, seed)
    masks, weights = _weights(board, network, syn, violations, describe)

    _check_fan_in(board, syn, violations, describe)
    tgt_chip, tgt_core, _ = board.locate(syn[:, 1])
    groups = _destination_groups(board, syn[:, 0], tgt_chip, tgt_core, violations, describe)
    if violations:
        raise MappingError(violations, chip.name)
    entries = _allocate_tags(board, groups, violations, describe)
    entries = np.array(sorted(entries), dtype=np.int64).reshape(-1, 4)
    per_source = np.bincount(entries[:, 0], minlength=board.n_neurons + n_inputs)
    for src in np.nonzero(per_source[:board.n_neurons] > chip.sram_per_neuron)[0]:
        _violation(violations, describe(src), "sram_per_neuron", int(per_source[src]), chip.sram_per_neuron,
                   f"{describe(src)} needs {per_source[src]} SRAM destinations (its target cores share no free "
                   f"tag): the chip has {chip.sram_per_neuron} per neuron (sram_per_neuron)")
    if violations:
        raise MappingError(violations, chip.name)
    tags, synapse, order, cam_ptr = _cam_layout(board, syn, tgt_chip, tgt_core, entries)

    n_sources = board.n_neurons + n_inputs
    sram_ptr = np.concatenate([[0], np.cumsum(per_source)]).astype(np.int64)
    home = board.locate(np.minimum(entries[:, 0], board.n_neurons - 1))[0]
    home = np.where(entries[:, 0] < board.n_neurons, home, entries[:, 1])
    dx, dy = board.hops(home, entries[:, 1])

    spikes = [(group.spike_times[k], input_base[group.name][k] - board.n_neurons)
              for group in network.inputs.values() for k in range(group.size)]
    spike_time = np.concatenate([times for times, _ in spikes]) if spikes else np.zeros(0)
    spike_channel = np.concatenate([np.full(len(times), ch) for times, ch in spikes]) if spikes else np.zeros(0)
    sizes = [len(placement[name]) for name in network.populations]
    return CompiledNetwork(
        chip=chip, board_shape=(board.nx, board.ny), seed=seed, n_neurons=board.n_neurons, n_inputs=n_inputs,
        connection_label=tuple(conn.label for conn in network.connections),
        population_name=tuple(network.populations), input_name=tuple(network.inputs),
        input_kind=tuple(group.kind for group in network.inputs.values()),
        sram_src=entries[:, 0].copy(), sram_dst_chip=entries[:, 1].copy(), sram_core_mask=entries[:, 2].copy(),
        sram_tag=entries[:, 3].copy(), sram_dx=np.asarray(dx, dtype=np.int64), sram_dy=np.asarray(dy, dtype=np.int64),
        sram_ptr=sram_ptr[:n_sources + 1],
        cam_chip=tgt_chip[order].astype(np.int64), cam_core=tgt_core[order].astype(np.int64), cam_tag=tags[order],
        cam_neuron=syn[order, 1].copy(), cam_syn_type=syn[order, 2].copy(), cam_weight_mask=masks[order],
        cam_weight=weights[order], cam_synapse=synapse[order], cam_source=syn[order, 0].copy(),
        cam_connection=syn[order, 3].copy(), cam_ptr=cam_ptr,
        population_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        population_neuron=(np.concatenate([placement[name] for name in network.populations]).astype(np.int64)
                           if sizes else np.zeros(0, dtype=np.int64)),
        input_ptr=np.concatenate([[0], np.cumsum([g.size for g in network.inputs.values()])]).astype(np.int64),
        input_rate=(np.concatenate([g.rate for g in network.inputs.values()]) if network.inputs else np.zeros(0)),
        input_spike_time=spike_time.astype(float), input_spike_channel=spike_channel.astype(np.int64),
    )
