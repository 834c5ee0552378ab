"""Export a chip network as a NIR graph: connectivity and nominal parameters (:func:`to_nir`).

The chip's dynamics have no exact NIR counterpart; each population becomes the nearest NIR
primitive, a ``CubaLIF`` whose parameters are the nominal (mismatch-free) values of its cores,
read through the inverse of the mapper's translation (:mod:`mixsig.mapping.mapper`):

* ``tau_mem = c_mem U_T / (kappa i_tau)`` and ``tau_syn`` the AMPA DPI's time constant (the NIR
  node has one synaptic time constant; GABA, NMDA and SHUNT synapses are read as if they had it);
* ``v = I_mem / i_spkthr``: ``v_threshold = 1``, ``v_leak = 0``, ``v_reset = i_reset / i_spkthr``,
  ``r = 1``;
* a CAM entry of weight current ``I_w`` gives ``W = ± tau_mem A_mem G_syn I_w t_pulse / i_spkthr``
  (``A_mem = kappa i_gain / (c_mem U_T)``, ``G_syn = i_gain / i_tau`` of its DPI), positive for
  AMPA and NMDA, negative for GABA and SHUNT; entries between the same two groups add up.

What is lost: the DPI's and the soma's nonlinearity below their gain currents (rate thresholds),
the NMDA voltage gate, the divisive action of the shunt, the exponential feedback, the
refractory period, adaptation, short-term depression and homeostasis, the router's delays, and
every device's mismatch, drift and noise.
"""

import numpy as np

from mixsig.chip import Board, compile_network, load_chip
from mixsig.chip.config import SYN_TYPES
from mixsig.chip.operating_point import core_circuits

SIGN_OF_TYPE = {"ampa": 1.0, "nmda": 1.0, "gaba": -1.0, "shunt": -1.0}
"""NIR weight sign of each synapse type."""


def _group_of_source(compiled):
    """Name of the population or input group of every source id, and the index within it."""
    names = np.full(compiled.n_neurons + compiled.n_inputs, "", dtype=object)
    index = np.zeros(compiled.n_neurons + compiled.n_inputs, dtype=np.int64)
    for p, name in enumerate(compiled.population_name):
        members = compiled.population_neuron[compiled.population_ptr[p]:compiled.population_ptr[p + 1]]
        names[members], index[members] = name, np.arange(len(members))
    for g, name in enumerate(compiled.input_name):
        channels = compiled.n_neurons + np.arange(compiled.input_ptr[g], compiled.input_ptr[g + 1])
        names[channels], index[channels] = name, np.arange(len(channels))
    return names, index


def to_nir(experiment):
    """The experiment's network as a NIR graph (nominal parameters; see the module docstring).

    Parameters
    ----------
    experiment : mixsig.Experiment

    Returns
    -------
    nir.NIRGraph
        An ``Input`` per input group, a ``CubaLIF`` and an ``Output`` (``<population>.output``)
        per population, and a ``Linear`` node ``<pre>-><post>`` per connected pair of groups.
    """
    from mixsig.engine.simulation import _with_biases
    from mixsig.mapping.mapper import check_silicon, import_nir

    nir = import_nir()

    chip = _with_biases(load_chip(experiment.chip), experiment.biases, experiment.source)
    check_silicon(chip, experiment.source)
    board = Board(chip, *experiment.board)
    compiled = compile_network(board, experiment.build_network(), seed=experiment.seed)
    names, index = _group_of_source(compiled)
    circuits = [core_circuits(chip, core) for core in range(chip.n_cores)]
    nodes, edges = {}, []
    scale = np.zeros(compiled.n_neurons)  # tau_mem A_mem / i_spkthr of each neuron, 1/A
    for g, name in enumerate(compiled.input_name):
        nodes[name] = nir.Input(input_type=np.array([compiled.input_ptr[g + 1] - compiled.input_ptr[g]]))
    for p, name in enumerate(compiled.population_name):
        members = compiled.population_neuron[compiled.population_ptr[p]:compiled.population_ptr[p + 1]]
        somas = [circuits[core][0] for core in board.locate(members)[1]]
        synapses = [circuits[core][1] for core in board.locate(members)[1]]
        tau_mem = np.array([s.tau for s in somas])
        spkthr = np.array([s.i_spkthr for s in somas])
        nodes[name] = nir.CubaLIF(tau_syn=np.array([s.ampa.tau for s in synapses]), tau_mem=tau_mem,
                                  r=np.ones(len(members)), v_leak=np.zeros(len(members)),
                                  v_threshold=np.ones(len(members)), v_reset=np.array([s.i_reset for s in somas]) / spkthr)
        scale[members] = tau_mem * np.array([s.kappa * s.i_gain / (s.c_mem * s.u_t) for s in somas]) / spkthr
        nodes[f"{name}.output"] = nir.Output(output_type=np.array([len(members)]))
        edges.append((name, f"{name}.output"))
    # Signed charge per ampere of weight current, G_syn t_pulse, per (core, synapse type).
    charge = np.array([[SIGN_OF_TYPE[syn] * getattr(c[1], syn).i_gain / getattr(c[1], syn).i_tau * getattr(c[1], syn).t_pulse
                        for syn in SYN_TYPES] for c in circuits])
    weight = scale[compiled.cam_neuron] * charge[compiled.cam_core, compiled.cam_syn_type] * compiled.cam_weight
    pre, post = names[compiled.cam_source], names[compiled.cam_neuron]
    for pair in dict.fromkeys(zip(pre.tolist(), post.tolist())):
        rows = (pre == pair[0]) & (post == pair[1])
        matrix = np.zeros((len(nodes[pair[1]].tau_mem), int(nodes[pair[0]].output_type["output"][0])))
        np.add.at(matrix, (index[compiled.cam_neuron[rows]], index[compiled.cam_source[rows]]), weight[rows])
        label = f"{pair[0]}->{pair[1]}"
        nodes[label] = nir.Linear(weight=matrix)
        edges += [(pair[0], label), (label, pair[1])]
    return nir.NIRGraph(nodes=nodes, edges=edges)
