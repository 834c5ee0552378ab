"""Read a NIR graph into layers of neurons and weighted projections between them.

A NIR graph (the Neuromorphic Intermediate Representation, package ``nir``) is a set of named
nodes joined by identity edges. The mapper accepts the nodes that a chip of the DYNAP-SE family
can hold:

* ``Input`` (a group of input channels) and ``Output`` (marks the neurons it reads);
* ``Affine`` (``y = W x + b``) and ``Linear`` (``y = W x``): the weights ``W`` of shape
  ``(n_post, n_pre)``; the bias ``b`` is a constant input current of the post-synaptic neurons;
* ``LIF``, ``CubaLIF`` and ``IF`` neurons (parameters per neuron, any shape, flattened in C order).

A weight node takes exactly one ``Input`` or neuron node as its source and feeds neuron nodes (or
an ``Output``); an edge straight from an ``Input`` or neuron node to a neuron node is an identity
projection (weight 1 per element). Recurrent edges are allowed (a neuron node may reach itself).

NIR neuron equations (``nir.ir.neuron``; tau in s, the rest dimensionless)::

    CubaLIF   tau_syn dI/dt = -I + w_in (W S + b),     tau_mem dv/dt = (v_leak - v) + r I
    LIF       tau_mem dv/dt = (v_leak - v) + r (W S + b)
    IF        dv/dt = r (W S + b)
    spike when v > v_threshold, then v = v_reset

with ``S`` the presynaptic spike trains (sums of Dirac pulses). In every case a spike changes
``dv/dt`` by ``a w_in W`` times a unit-area kernel, with the *input gain* ``a = r / tau_mem``
(``r`` for ``IF``; ``w_in = 1`` for ``LIF`` and ``IF``).
"""

import dataclasses

import numpy as np

from mixsig.errors import Problem, raise_if_any

NEURON_KINDS = ("LIF", "CubaLIF", "IF")
"""NIR neuron node types the mapper places on the chip."""

WEIGHT_KINDS = ("Affine", "Linear")
"""NIR weight node types."""

NODE_KINDS = ("Input", "Output", *WEIGHT_KINDS, *NEURON_KINDS)
"""Every NIR node type the mapper accepts."""


@dataclasses.dataclass(frozen=True)
class Layer:
    """The neurons of one NIR neuron node, one value per neuron (arrays of shape ``(n,)``).

    Attributes
    ----------
    name, kind : str
        Node name and NIR type (``"LIF"``, ``"CubaLIF"``, ``"IF"``).
    tau_mem : ndarray
        Membrane time constant, s (``inf`` for ``IF``).
    tau_syn : ndarray
        Synaptic time constant, s (NaN for ``LIF`` and ``IF``: instantaneous input).
    gain : ndarray
        Input gain ``a w_in``: change of ``dv/dt`` per unit input, 1/s (``LIF``, ``CubaLIF``) or
        1 (``IF``, whose time is in s as well).
    v_leak, v_threshold, v_reset : ndarray
        Rest, threshold and reset potentials (dimensionless).
    """

    name: str
    kind: str
    tau_mem: np.ndarray
    tau_syn: np.ndarray
    gain: np.ndarray
    v_leak: np.ndarray
    v_threshold: np.ndarray
    v_reset: np.ndarray

    @property
    def size(self):
        """Number of neurons."""
        return self.tau_mem.size


@dataclasses.dataclass(frozen=True)
class Projection:
    """Weights from an input group or layer onto a layer.

    Attributes
    ----------
    pre, post : str
        Source node (``Input`` or neuron node) and target neuron node.
    weight : ndarray, shape (n_post, n_pre)
        NIR weights ``W`` (dimensionless).
    bias : ndarray, shape (n_post,)
        Constant input ``b`` (zeros for ``Linear`` and identity edges).
    via : str
        The weight node (or ``""`` for an identity edge).
    """

    pre: str
    post: str
    weight: np.ndarray
    bias: np.ndarray
    via: str


@dataclasses.dataclass(frozen=True)
class Graph:
    """A NIR graph as the mapper sees it.

    Attributes
    ----------
    inputs : dict of str to int
        Input node name -> number of channels.
    layers : dict of str to Layer
    projections : list of Projection
    outputs : dict of str to str
        Output node name -> the neuron node it reads.
    source : str
        Where the graph came from (file name or ``"<nir graph>"``), for problems.
    """

    inputs: dict
    layers: dict
    projections: list
    outputs: dict
    source: str


def _flat(value, size=None):
    array = np.asarray(value, dtype=float).ravel()
    return np.broadcast_to(array, (size,)).copy() if size is not None and array.size == 1 else array


def _layer(name, node, kind):
    """The :class:`Layer` of a NIR neuron node and the problems of its parameters."""
    size = _flat(node.v_threshold).size
    v_leak = np.zeros(size) if kind == "IF" else _flat(node.v_leak, size)
    r = _flat(node.r, size)
    if kind == "CubaLIF":
        tau_mem, tau_syn = _flat(node.tau_mem, size), _flat(node.tau_syn, size)
        gain = r * _flat(node.w_in, size) / tau_mem
    elif kind == "LIF":
        tau_mem, tau_syn = _flat(node.tau, size), np.full(size, np.nan)
        gain = r / tau_mem
    else:
        tau_mem, tau_syn, gain = np.full(size, np.inf), np.full(size, np.nan), r
    layer = Layer(name, kind, tau_mem, tau_syn, gain, v_leak, _flat(node.v_threshold, size),
                  _flat(node.v_reset, size))
    problems = []
    checks = [("tau_mem" if kind == "CubaLIF" else "tau", tau_mem, kind == "IF" or np.all(np.isfinite(tau_mem) & (tau_mem > 0)),
               "finite time constants > 0 s"),
              ("tau_syn", tau_syn, kind != "CubaLIF" or np.all(np.isfinite(tau_syn) & (tau_syn > 0)),
               "finite time constants > 0 s"),
              ("r", r, np.all(np.isfinite(gain) & (gain > 0)), "finite resistances (and w_in) > 0"),
              ("v_threshold", layer.v_threshold, np.all(np.isfinite(layer.v_threshold) & (layer.v_threshold > v_leak))
               and np.all(np.isfinite(v_leak)), "finite thresholds above v_leak"),
              ("v_reset", layer.v_reset, np.all(np.isfinite(layer.v_reset) & (layer.v_reset < layer.v_threshold)),
               "finite reset potentials below v_threshold")]
    for field, value, ok, expected in checks:
        if not ok:
            problems.append((f"nodes.{name}.{field}", value, expected))
    return layer, problems


def read_graph(graph, source="<nir graph>"):
    """Check a NIR graph and split it into input groups, layers and projections.

    Parameters
    ----------
    graph : nir.NIRGraph
    source : str
        Name used in problem reports.

    Returns
    -------
    Graph

    Raises
    ------
    mixsig.errors.ConfigError
        Listing every unsupported node, dangling or ambiguous edge and invalid parameter.
    """
    problems = []

    def problem(key, value, expected):
        problems.append(Problem(source, key, value, expected))

    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    for name, kind in kinds.items():
        if kind not in NODE_KINDS:
            problem(f"nodes.{name}", kind, f"a node of type {', '.join(NODE_KINDS)} (the mapper's NIR subset)")
    inputs = {name: int(np.prod(graph.nodes[name].output_type["output"])) for name, kind in kinds.items()
              if kind == "Input"}
    layers = {}
    for name, kind in kinds.items():
        if kind in NEURON_KINDS:
            layer, found = _layer(name, graph.nodes[name], kind)
            layers[name] = layer
            for args in found:
                problem(*args)
    preds = {name: [a for a, b in graph.edges if b == name] for name in kinds}
    succs = {name: [b for a, b in graph.edges if a == name] for name in kinds}
    for a, b in graph.edges:
        for end in (a, b):
            if end not in kinds:
                problem(f"edges.({a}, {b})", end, f"a node name ({sorted(kinds)})")
    if problems:
        raise_if_any(problems, "NIR graph")
    sources = set(inputs) | set(layers)
    projections, outputs = [], {}

    def size(name):
        return inputs[name] if name in inputs else layers[name].size

    for name, kind in kinds.items():
        if kind in WEIGHT_KINDS:
            node = graph.nodes[name]
            weight = np.asarray(node.weight, dtype=float)
            if weight.ndim != 2 or not np.all(np.isfinite(weight)):
                problem(f"nodes.{name}.weight", weight.shape, "a finite 2-D weight matrix (n_post, n_pre)")
                continue
            bias = _flat(node.bias, weight.shape[0]) if kind == "Affine" else np.zeros(weight.shape[0])
            if bias.shape != (weight.shape[0],) or not np.all(np.isfinite(bias)):
                problem(f"nodes.{name}.bias", bias.shape, f"{weight.shape[0]} finite values")
                continue
            if len(preds[name]) != 1 or preds[name][0] not in sources:
                problem(f"nodes.{name}", preds[name], "exactly one incoming edge, from an Input or neuron node")
                continue
            pre = preds[name][0]
            if size(pre) != weight.shape[1]:
                problem(f"nodes.{name}.weight", weight.shape, f"{weight.shape[1]} columns = the size of {pre!r}"
                        f" ({size(pre)})")
                continue
            for post in succs[name]:
                if post not in layers:
                    problem(f"edges.({name}, {post})", kinds[post], "a neuron node after a weight node (LIF, CubaLIF, IF)")
                elif layers[post].size != weight.shape[0]:
                    problem(f"nodes.{name}.weight", weight.shape, f"{weight.shape[0]} rows = the size of {post!r} "
                            f"({layers[post].size})")
                else:
                    projections.append(Projection(pre, post, weight, bias, name))
        elif kind in NEURON_KINDS or kind == "Input":
            for post in succs[name]:
                if post in layers:
                    if size(name) != layers[post].size:
                        problem(f"edges.({name}, {post})", (size(name), layers[post].size),
                                "equal sizes for an identity edge")
                    else:
                        projections.append(Projection(name, post, np.eye(size(name)), np.zeros(size(name)), ""))
                elif kinds[post] == "Output" and kind in NEURON_KINDS:
                    outputs[post] = name
                elif kinds[post] not in WEIGHT_KINDS:
                    problem(f"edges.({name}, {post})", kinds[post],
                            "a weight or neuron node after an Input; an Output only after a neuron node")
        elif kind == "Output" and not preds[name]:
            problem(f"nodes.{name}", "Output", "an incoming edge from a neuron node")
    if not layers:
        problem("nodes", sorted(kinds), "at least one neuron node (LIF, CubaLIF, IF)")
    raise_if_any(problems, "NIR graph")
    return Graph(inputs, layers, projections, outputs, source)
