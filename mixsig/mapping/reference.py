"""The ideal network of a NIR graph: its own equations simulated on a time grid (:func:`simulate_nir`).

This is the network the mapper aims at, before any chip: NIR's ``LIF``, ``CubaLIF`` and ``IF``
equations (:mod:`mixsig.mapping.graph`) advanced exactly over each step ``dt`` for inputs that
arrive at the start of the step. Per step, for every neuron:

* the step's presynaptic spike counts ``s`` add ``w_in W s / tau_syn`` to ``I`` (``CubaLIF``),
  ``r W s / tau_mem`` to ``v`` (``LIF``) or ``r W s`` to ``v`` (``IF``);
* the linear dynamics with the constant input ``b`` then run in closed form, for ``CubaLIF``
  ``u(t) = u0 e^{-t/tau_m} + r D tau_s/(tau_s - tau_m) (e^{-t/tau_s} - e^{-t/tau_m})`` with
  ``u = v - v_leak - r w_in b`` and ``D = I0 - w_in b`` (``r D (t/tau_m) e^{-t/tau_m}`` when the
  two time constants are equal);
* a neuron above ``v_threshold`` at the end of the step spikes once and is set to ``v_reset``.

Spikes of a layer reach their targets at the start of the next step (one step of delay per
projection, as on the chip, whose events arrive after the step in which they were emitted). The
result is exact on the grid; its only error is the time resolution ``dt`` of spikes.
"""

import numpy as np

from mixsig.mapping.graph import read_graph


def _propagate(layer, v, current, drive, bias, dt):
    """Advance ``v`` (and ``I`` of a CubaLIF) over one step; ``drive`` is ``W s`` summed over projections."""
    if layer.kind == "IF":
        return v + layer.gain * (drive + bias * dt), current
    if layer.kind == "LIF":
        u_inf = layer.gain * layer.tau_mem * bias
        v = v + layer.gain * drive
        return layer.v_leak + u_inf + (v - layer.v_leak - u_inf) * np.exp(-dt / layer.tau_mem), current
    tau_m, tau_s = layer.tau_mem, layer.tau_syn
    r = layer.gain * tau_m  # r w_in
    current = current + drive / tau_s  # I / w_in: w_in is part of the gain r w_in
    delta = current - bias
    u0 = v - layer.v_leak - r * bias
    em, es = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    same = np.isclose(tau_s, tau_m, rtol=1e-9)
    kernel = np.where(same, dt / tau_m * em, tau_s / np.where(same, 1.0, tau_s - tau_m) * (es - em))
    return layer.v_leak + r * bias + u0 * em + r * delta * kernel, bias + delta * es


def simulate_nir(graph, inputs, dt):
    """Spike counts of the ideal NIR network for given input spike counts.

    Parameters
    ----------
    graph : nir.NIRGraph
    inputs : dict of str to ndarray, shape (n_steps, n_channels)
        Spike counts per step of each ``Input`` node.
    dt : float
        Step, s.

    Returns
    -------
    dict of str to ndarray of int, shape (n_steps, n)
        Spike counts per step of every neuron node (0 or 1).
    """
    g = read_graph(graph)
    n_steps = len(next(iter(inputs.values())))
    state = {name: (layer.v_leak.copy(), np.zeros(layer.size)) for name, layer in g.layers.items()}
    bias = {name: np.zeros(layer.size) for name, layer in g.layers.items()}
    for proj in g.projections:
        bias[proj.post] += proj.bias
    out = {name: np.zeros((n_steps, layer.size), dtype=np.int64) for name, layer in g.layers.items()}
    for step in range(n_steps):
        spikes = {name: np.asarray(counts[step], dtype=float) for name, counts in inputs.items()}
        spikes.update({name: out[name][step - 1].astype(float) if step else np.zeros(layer.size)
                       for name, layer in g.layers.items()})
        for name, layer in g.layers.items():
            drive = sum((proj.weight @ spikes[proj.pre] for proj in g.projections if proj.post == name),
                        np.zeros(layer.size))
            v, current = _propagate(layer, *state[name], drive, bias[name], dt)
            fired = v > layer.v_threshold
            out[name][step] = fired
            state[name] = (np.where(fired, layer.v_reset, v), current)
    return out
