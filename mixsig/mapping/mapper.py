"""Compile a NIR graph onto a chip: bias currents per core, quantised weights, placement, routing.

Translation (linear regime of the current-mode circuits; docs/nir.md derives it). The membrane
current stands for the NIR potential, ``I_mem = I_u (v - v_leak)`` with the current unit
``I_u = i_spkthr / (v_threshold - v_leak)``, so that the NIR threshold is the soma's spike
threshold. Above its gain current the soma DPI obeys ``tau_mem dI_mem/dt = -I_mem + (i_gain /
i_tau) I_syn`` with ``tau_mem = c_mem U_T / (kappa i_tau)``, i.e. its input moves
``dI_mem/dt`` by ``A_mem I_syn`` with ``A_mem = kappa i_gain / (c_mem U_T)``; a DPI synapse turns a
pulse into the charge ``G_syn I_w t_pulse`` (``G_syn = i_gain / i_tau`` of the synapse, time
constant ``c_syn U_T / (kappa i_tau)``). Matching the NIR input gain ``a w_in W`` (see
:mod:`mixsig.mapping.graph`) gives, per synapse and per constant input ``b``::

    I_w = I_u a w_in |W| / (A_mem G_syn t_pulse),      I_dc = I_u a w_in b / A_mem

with the sign of ``W`` choosing the excitatory (AMPA) or subtractive inhibitory (GABA) synapse.

Per core (biases are per core): ``soma.i_tau`` from ``tau_mem``, ``ampa.i_tau`` and
``gaba.i_tau`` from ``tau_syn`` (their gains keep the chip's ratio ``G_syn``), ``soma.i_reset``
from ``v_reset``, ``soma.i_gain`` so that the largest weight of the core lands on the top of the
core's default weight ladder, then the weight currents by least squares
(:func:`mixsig.mapping.quantise.fit_ladder`); every current is rounded to the bias generator.
Neurons asking for different time constants or resets go on different cores; when there are more
parameter sets than cores, the two nearest sets (in log time constant) are merged until they fit,
and the report gives the spread.
"""

import dataclasses
import pathlib

import numpy as np

from mixsig.chip import Board, MappingError, Network, compile_network, load_chip
from mixsig.chip.config import weight_bias_names
from mixsig.chip.operating_point import core_circuits, weight_currents
from mixsig.device.biasgen import BiasGenerator
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.mapping.graph import read_graph
from mixsig.paths import check_regular
from mixsig.mapping.quantise import bias_currents, fit_ladder, nearest_masks
from mixsig.mapping.report import CoreSetting, MappingReport, relative_errors

SYNAPSE_OF_SIGN = {1: "ampa", -1: "gaba"}
"""Synapse type of a positive and of a negative NIR weight."""

REFRACTORY_STEPS = 5.0
"""Default refractory period of mapped neurons, in engine steps ``dt`` (the engine requires
``t_ref > dt`` on every mismatched neuron; 5 keeps a margin of many sigma)."""

SPREAD_ROUNDING = 1e-9
"""Relative spreads below this are rounding of the log-space means, reported as 0 (not merged)."""


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A NIR graph compiled onto a chip.

    Attributes
    ----------
    experiment : mixsig.Experiment
        The runnable experiment (its ``mapping`` table carries the report and the placement).
    report : MappingReport
    neurons : dict of str to ndarray of int
        NIR neuron node -> global neuron index of each of its elements (C order), shape ``(n,)``.
    """

    experiment: object
    report: MappingReport
    neurons: dict


@dataclasses.dataclass
class _Group:
    """Neurons sharing one parameter set: log time constants, relative reset, count, members."""

    log_tau_mem: float
    log_tau_syn: float
    reset: float
    count: int
    members: list

    def distance(self, other):
        return max(abs(self.log_tau_mem - other.log_tau_mem), abs(self.log_tau_syn - other.log_tau_syn),
                   abs(self.reset - other.reset))

    def absorb(self, other):
        total = self.count + other.count
        for field in ("log_tau_mem", "log_tau_syn", "reset"):
            setattr(self, field, (getattr(self, field) * self.count + getattr(other, field) * other.count) / total)
        self.count = total
        self.members += other.members


@dataclasses.dataclass(frozen=True)
class _CoresOf:
    """Cores (per core index, over the board) that ``n`` neurons need: ``ceil(n / capacity)``."""

    capacity: int

    def __call__(self, n):
        return -(-n // self.capacity)


def _groups(graph, tau_limits, lif_tau_syn, cores_of, n_cores, merge, source):
    """Parameter sets (groups of (layer, element) members), merged until they fit ``n_cores`` cores."""
    low, high = tau_limits
    keys = {}
    for name, layer in graph.layers.items():
        tau_syn = np.where(np.isnan(layer.tau_syn), lif_tau_syn, layer.tau_syn)
        reset = np.clip((layer.v_reset - layer.v_leak) / (layer.v_threshold - layer.v_leak), 0.0, None)
        tau_mem = np.clip(layer.tau_mem, low, high)
        for index, key in enumerate(zip(np.log(tau_mem).tolist(), np.log(np.clip(tau_syn, low, high)).tolist(),
                                        reset.tolist())):
            keys.setdefault((name, *key), []).append((name, index))
    # One group per layer and parameter set: layers differ in weight scale, and each core's soma
    # gain and weight ladder fit its own weights. Equal sets of different layers merge first
    # (distance 0) when cores run short.
    groups = [_Group(*key[1:], len(members), members) for key, members in keys.items()]
    while sum(cores_of(g.count) for g in groups) > n_cores and len(groups) > 1:
        pairs = [(a.distance(b), i, j) for i, a in enumerate(groups) for j, b in enumerate(groups) if i < j]
        distance, i, j = min(pairs)
        if distance > 0 and not merge:
            requested = sum(cores_of(g.count) for g in groups)
            raise_if_any([Problem(source, "neuron parameters", f"{requested} cores",
                                  f"at most {n_cores} cores (n_cores): {len(groups)} distinct parameter sets need "
                                  f"{requested} cores, {requested - n_cores} more than the chip has; merge=True "
                                  "shares cores and reports the spread")], "NIR mapping")
        groups[i].absorb(groups.pop(j))
    needed = sum(cores_of(g.count) for g in groups)
    if needed > n_cores:
        total = sum(g.count for g in groups)
        raise_if_any([Problem(source, "neurons_per_core", total,
                              f"at most {n_cores * cores_of.capacity} neurons ({n_cores} cores of {cores_of.capacity} "
                              f"neurons over the board): {total} need {needed} cores, exceeded by "
                              f"{total - n_cores * cores_of.capacity} neurons")], "NIR mapping")
    return groups


def _violations(error, source):
    """The :class:`MappingError` of the connectivity compiler as problems, with the excess."""
    problems = []
    for v in error.violations:
        excess = ""
        if isinstance(v.requested, (int, np.integer)) and isinstance(v.available, (int, np.integer)):
            excess = f", exceeded by {v.requested - v.available}"
        problems.append(Problem(source, v.limit, v.requested, f"at most {v.available} ({v.message}{excess})"))
    return problems


def import_nir():
    """The ``nir`` package, or a :class:`ConfigError` saying how to install it."""
    try:
        import nir
    except ImportError:
        raise ConfigError([Problem("<environment>", "nir", None,
                                   "the nir package: pip install 'mixsig[interop]'")], "NIR bridge") from None
    return nir


def check_silicon(chip, source):
    """Refuse a chip whose neurons are not the DYNAP current-mode soma with DPI synapses."""
    if chip.neuron_model != "silicon":
        raise_if_any([Problem(source, "chip", chip.name, "a DYNAP-family chip (neuron_model \"silicon\": DPI synapses "
                              f"and the current-mode soma); {chip.name} has neuron_model {chip.neuron_model!r}")],
                     "NIR mapping")


def _read(graph):
    """A NIR graph object and its name for problem reports (reads a ``.nir`` file when given a path)."""
    if isinstance(graph, (str, pathlib.Path)):
        nir = import_nir()
        path = pathlib.Path(graph)
        check_regular(path, "NIR (HDF5, nir.write)")
        try:
            return nir.read(str(path)), str(path)
        except Exception as error:  # nir/h5py raise many types for a foreign or damaged file
            raise ConfigError([Problem(str(path), "(file)", None, f"a NIR file readable by nir.read ({type(error).__name__})")],
                              "NIR graph") from None
    return graph, "<nir graph>"


def map_nir(graph, chip="dynapse2", board=None, device_model="generic_180nm", inputs=None, input_rate=50.0,
            lif_tau_syn=1e-3, feedback=False, merge=True, weight_ladder="fit", refractory_steps=REFRACTORY_STEPS,
            **experiment):
    """Compile a NIR graph onto a chip and build the experiment that runs it.

    Parameters
    ----------
    graph : nir.NIRGraph or str or os.PathLike
        The graph, or a ``.nir`` file (``nir.write``).
    chip : str
        Chip config name or path (``dynapse2``, ``dynapse1``, ...).
    board : (int, int), optional
        Chips in x and y (default: the chip config's board).
    device_model : str
        Device model of the experiment (``"none"``: nominal chips).
    inputs : dict of str to dict, optional
        Per NIR ``Input`` node, an input table of the experiment without ``size``
        (``{"kind": "spike_array", "spike_times": [...]}``, ``{"kind": "poisson", "rate": 80.0}``).
        Nodes not given get Poisson channels at ``input_rate``.
    input_rate : float
        Default Poisson rate of the input channels, Hz.
    lif_tau_syn : float
        Synaptic time constant given to ``LIF`` and ``IF`` neurons, whose NIR input is
        instantaneous, s (short against ``tau_mem``).
    feedback : bool
        Keep the soma's exponential positive feedback (default False: off, as NIR's LIF has none).
    merge : bool
        Share cores between different parameter sets when there are not enough (reported);
        False raises instead.
    weight_ladder : {"fit", "chip"}
        ``"fit"``: choose each core's weight currents by least squares (rounded to the bias
        generator); ``"chip"``: keep the chip config's weight currents and only choose the masks.
    refractory_steps : float
        Refractory period in engine steps (NIR neurons have none; the engine needs one longer
        than ``dt``, with a margin for mismatch).
    **experiment
        Further :class:`mixsig.Experiment` fields (``duration``, ``dt``, ``instances``, ``seed``,
        ``mismatch_scale``, ``record``, ...).

    Returns
    -------
    Mapping

    Raises
    ------
    mixsig.errors.ConfigError
        Unsupported nodes or parameters, or a network the chip cannot hold (each limit named,
        with the number asked for and by how much it is exceeded).
    """
    from mixsig.experiment import Experiment

    graph, source = _read(graph)
    g = read_graph(graph, source)
    chip_config = load_chip(chip)
    check_silicon(chip_config, source)
    board = Board(chip_config, *(board or chip_config.board))
    generator = BiasGenerator.from_model(chip_config.device_model)
    # Smallest non-zero and largest current of the generator (an SE1 generator's floor is 0 A).
    i_lo = float(generator.current(0, 0, "n")) or float(generator.current(0, 1, "n"))
    i_hi = float(generator.current(generator.n_coarse() - 1, generator.fine_max()))
    snap = lambda currents: bias_currents(generator, np.maximum(currents, i_lo))  # noqa: E731
    soma0, _ = core_circuits(chip_config, 0)
    factor = soma0.u_t / soma0.kappa  # tau = c factor / i_tau
    tau_limits = (chip_config.biases["soma.c_mem"].min() * factor / i_hi, chip_config.biases["soma.c_mem"].max() * factor / i_lo)
    capacity = board.n_chips * chip_config.neurons_per_core
    t_ref = refractory_steps * experiment.get("dt", Experiment.dt)
    problems = [Problem(source, "weight_ladder", weight_ladder, '"fit" or "chip"')] if weight_ladder not in ("fit", "chip") else []
    problems += [Problem(source, f"inputs.{name}", table, "an input table without size (kind, rate | spike_times)")
                for name, table in (inputs or {}).items() if name not in g.inputs or not isinstance(table, dict) or "size" in table]
    raise_if_any(problems, "NIR mapping")
    groups = _groups(g, tau_limits, lif_tau_syn, _CoresOf(capacity), chip_config.n_cores, merge, source)

    # Cores of each group, placement of each layer's members (populations of one core and chip).
    where = {}  # (layer, element) -> (core, group index)
    core_groups, next_core = [], 0
    for index, group in enumerate(groups):
        cores = list(range(next_core, next_core + -(-group.count // capacity)))
        next_core += len(cores)
        core_groups += [index] * len(cores)
        for position, member in enumerate(group.members):
            where[member] = (cores[position // capacity], index)
    free = {}
    populations, pop_of = {}, {}  # pop_of[(layer, element)] = (population, index in it)
    for name, layer in g.layers.items():
        chunks = {}
        for element in range(layer.size):
            core = where[(name, element)][0]
            chip_index = next(c for c in range(board.n_chips) if free.get((c, core), 0) < chip_config.neurons_per_core)
            free[(chip_index, core)] = free.get((chip_index, core), 0) + 1
            chunks.setdefault((chip_index, core), []).append(element)
        for number, ((chip_index, core), elements) in enumerate(chunks.items()):
            pop = name if len(chunks) == 1 else f"{name}#{number}"
            populations[pop] = {"size": len(elements), "core": core, "chip": chip_index}
            for position, element in enumerate(elements):
                pop_of[(name, element)] = (pop, position)

    # Biases of each used core.
    biases, core_values, realised_tau = [], {}, {}
    for core, index in enumerate(core_groups):
        group = groups[index]
        soma, syn = core_circuits(chip_config, core)
        tau_mem, tau_syn = float(np.exp(group.log_tau_mem)), float(np.exp(group.log_tau_syn))
        i_tau_mem = float(snap(soma.c_mem * factor / tau_mem))
        values = {"soma.i_tau": i_tau_mem,
                  "soma.i_reset": float(snap(max(group.reset * soma.i_spkthr, soma.i_reset))),
                  "soma.i_ref": float(snap(soma.v_ref * soma.c_ref / t_ref)), "soma.i_w_ahp": 0.0}
        if not feedback:
            values["soma.i_fb_0"] = 0.0
        for block in ("ampa", "gaba"):
            dpi = getattr(syn, block)
            i_tau = float(snap(dpi.c_syn * factor / tau_syn))
            values[f"{block}.i_tau"] = i_tau
            values[f"{block}.i_gain"] = float(snap(i_tau * dpi.i_gain / dpi.i_tau))
        core_values[core] = (soma, syn, values)
        realised_tau[core] = (soma.c_mem * factor / i_tau_mem, syn.ampa.c_syn * factor / values["ampa.i_tau"])

    # Synapses: targets I_u a |W| (A/s) per core, then the soma gain and the weight ladder.
    synapses = []  # (post layer, post element, pre node, pre element, NIR weight, core)
    dc = {}
    for proj in g.projections:
        post, pre = np.nonzero(proj.weight)
        for i, j in zip(post.tolist(), pre.tolist()):
            synapses.append((proj.post, i, proj.pre, j, proj.weight[i, j], where[(proj.post, i)][0]))
        for i in np.nonzero(proj.bias)[0].tolist():
            dc[(proj.post, i)] = dc.get((proj.post, i), 0.0) + proj.bias[i]

    def unit_rate(layer_name, i, core):  # I_u a of a neuron, A/s
        layer = g.layers[layer_name]
        return core_values[core][0].i_spkthr / (layer.v_threshold[i] - layer.v_leak[i]) * layer.gain[i]
    target = np.array([unit_rate(s[0], s[1], s[5]) * abs(s[4]) for s in synapses])
    syn_core = np.array([s[5] for s in synapses], dtype=np.int64)
    syn_type = np.array([SYNAPSE_OF_SIGN[int(np.sign(s[4]))] for s in synapses])
    masks = np.zeros(len(synapses), dtype=np.int64)
    realised, wanted_all = np.zeros(len(synapses)), np.zeros(len(synapses))
    bias_names = weight_bias_names(chip_config.weight_scheme, chip_config.weight_bits)
    a_mem = {}
    for core, (soma, syn, values) in core_values.items():
        here = np.nonzero(syn_core == core)[0]
        ladder = weight_currents(chip_config, core)
        top = sum(ladder.values()) if chip_config.weight_scheme == "mask" else max(ladder.values())
        charge = {block: values[f"{block}.i_gain"] / values[f"{block}.i_tau"] * getattr(syn, block).t_pulse
                  for block in ("ampa", "gaba")}
        peak = max((target[k] / charge[syn_type[k]] for k in here), default=0.0)
        i_gain = float(snap(peak / top * soma.c_mem * factor)) if peak > 0 else soma.i_gain
        values["soma.i_gain"] = i_gain
        a_mem[core] = i_gain / (soma.c_mem * factor)
        wanted = np.array([target[k] / (a_mem[core] * charge[syn_type[k]]) for k in here])
        wanted_all[here] = wanted
        sets = [(bias_names, np.ones(len(here), dtype=bool))] if chip_config.weight_scheme == "mask" else \
            [((f"synapse.i_w_{block}",), syn_type[here] == block) for block in ("ampa", "gaba")]
        for names, chosen in sets:
            if not chosen.any():
                continue
            if weight_ladder == "fit":
                currents, found = fit_ladder(wanted[chosen], len(names), snap)
            else:
                currents = np.array([ladder[name] for name in names])
                found = nearest_masks(wanted[chosen], currents)
            values.update(zip(names, currents.tolist()))
            masks[here[chosen]] = found
            realised[here[chosen]] = (found[:, None] >> np.arange(len(names)) & 1) @ currents
        biases += [(core, name, value) for name, value in values.items()]
    kept = masks > 0
    errors = relative_errors(realised[kept], wanted_all[kept])

    # Network tables: one "pairs" connection per (pre population, post population, type, mask).
    tables = {}
    for k in np.nonzero(kept)[0]:
        post_layer, i, pre, j, _, _ = synapses[k]
        post_pop, post_index = pop_of[(post_layer, i)]
        pre_pop, pre_index = pop_of[(pre, j)] if pre in g.layers else (pre, j)
        tables.setdefault((pre_pop, post_pop, str(syn_type[k]), int(masks[k])), []).append([pre_index, post_index])
    connections = [{"pre": pre, "post": post, "rule": "pairs", "pairs": pairs, "syn_type": kind, "weight_mask": mask}
                   for (pre, post, kind, mask), pairs in tables.items()]
    input_tables = {name: {"size": size, **(inputs or {}).get(name, {"kind": "poisson", "rate": float(input_rate)})}
                    for name, size in g.inputs.items()}
    network_tables = {"populations": populations, "inputs": input_tables, "connections": connections}
    try:
        compiled = compile_network(board, Network.from_dict(network_tables, source=source), seed=0)
    except MappingError as error:
        raise ConfigError(_violations(error, source), "NIR mapping") from None
    placed = {name: compiled.population_neuron[compiled.population_ptr[p]:compiled.population_ptr[p + 1]]
              for p, name in enumerate(compiled.population_name)}
    neurons = {name: np.array([placed[pop_of[(name, e)][0]][pop_of[(name, e)][1]] for e in range(layer.size)],
                              dtype=np.int64) for name, layer in g.layers.items()}

    # Constant inputs (Affine biases) as per-neuron DC steps, I_dc = I_u a b / A_mem.
    steps = {}
    for (name, i), b in dc.items():
        core = where[(name, i)][0]
        amplitude = float(unit_rate(name, i, core) * b / a_mem[core])
        steps.setdefault(amplitude, []).append(int(neurons[name][i]))
    from mixsig.experiment import DCStep

    dc_steps = tuple(DCStep(amplitude=amplitude, neurons=tuple(sorted(members))) for amplitude, members in steps.items())

    report = _report(g, chip_config, board, groups, core_groups, realised_tau, where, lif_tau_syn, tau_limits,
                     len(synapses), int((~kept).sum()), errors, compiled, feedback, bool(dc), t_ref)
    exp = Experiment(chip=chip, board=(board.nx, board.ny), device_model=device_model, biases=tuple(biases),
                     network=network_tables, dc=dc_steps, source=source,
                     mapping={"graph": source, "report": str(report),
                              "nodes": {name: sorted({pop_of[(name, e)][0] for e in range(layer.size)},
                                                     key=list(populations).index)
                                        for name, layer in g.layers.items()}},
                     **experiment)
    exp.check()
    return Mapping(exp, report, neurons)


def _report(g, chip, board, groups, core_groups, realised_tau, where, lif_tau_syn, tau_limits, n_synapses, dropped,
            errors, compiled, feedback, has_dc, t_ref):
    """The :class:`MappingReport` of a mapping (see :func:`map_nir` for the arguments' meaning)."""
    cores, worst = [], 0.0
    for core, index in enumerate(core_groups):
        members = [m for m, (c, _) in where.items() if c == core]
        tau_mem, tau_syn = realised_tau[core]
        spread = 0.0
        for name, element in members:
            layer = g.layers[name]
            req_syn = lif_tau_syn if np.isnan(layer.tau_syn[element]) else layer.tau_syn[element]
            merged = np.exp([groups[index].log_tau_mem, groups[index].log_tau_syn])
            asked = np.clip([layer.tau_mem[element], req_syn], *tau_limits)
            spread = max(spread, float(relative_errors(merged, asked).max()))
            if layer.kind != "IF":
                worst = max(worst, float(relative_errors([tau_mem, tau_syn], [layer.tau_mem[element], req_syn]).max()))
        cores.append(CoreSetting(core, tuple(dict.fromkeys(name for name, _ in members)), len(members), tau_mem, tau_syn,
                                 spread if spread > SPREAD_ROUNDING else 0.0))
    per_core_tags = np.diff(compiled.cam_ptr).reshape(board.n_chips, chip.n_cores, chip.n_tags) > 0
    resources = {
        "neurons": (sum(layer.size for layer in g.layers.values()), board.n_neurons),
        "cores": (len(core_groups), chip.n_cores),
        "cam_per_neuron": (int(np.bincount(compiled.cam_neuron).max(initial=0)), chip.cam_per_neuron),
        "sram_per_neuron": (int(np.diff(compiled.sram_ptr)[:compiled.n_neurons].max(initial=0)), chip.sram_per_neuron),
        "n_tags": (int(per_core_tags.sum(axis=2).max(initial=0)), chip.n_tags),
    }
    notes = []
    if any(layer.kind in ("LIF", "IF") for layer in g.layers.values()):
        notes.append(f"LIF/IF input is instantaneous in NIR; their DPI synapses have tau_syn = {lif_tau_syn:g} s")
    if any(layer.kind == "IF" for layer in g.layers.values()):
        notes.append(f"IF neurons have no leak in NIR; the chip's weakest leak gives tau_mem = {tau_limits[1]:.3g} s")
    if not feedback:
        notes.append("exponential positive feedback of the soma switched off (soma.i_fb_0 = 0): NIR neurons have none")
    notes.append(f"NIR neurons have no refractory period; the chip's is {t_ref:.3g} s (refractory_steps x dt)")
    notes.append("DPI synapses and soma follow the NIR dynamics only in their linear regime: a synapse stays at its "
                 "floor below the input rate i_tau / (i_w t_pulse) (docs/nir.md)")
    if has_dc:
        notes.append("Affine biases are per-neuron DC currents (soma input, clipped at 0 with the synaptic input)")
    return MappingReport(chip.name, (board.nx, board.ny), tuple(cores), worst, n_synapses, dropped,
                         float(np.sqrt(np.mean(errors ** 2))) if errors.size else 0.0,
                         float(errors.max(initial=0.0)), resources, int(compiled.aliased), tuple(notes))


def from_nir(graph, chip="dynapse2", **options):
    """The :class:`mixsig.Experiment` of a NIR graph mapped onto a chip (see :func:`map_nir`)."""
    return map_nir(graph, chip=chip, **options).experiment
