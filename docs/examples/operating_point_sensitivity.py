"""Sensitivity of the shipped operating points to their unsourced ([M], [asm]) values.

For each shipped chip (core 0, nominal devices) this prints and writes
``d ln output / d ln parameter`` (central difference, +-5 % in the parameter) for:

* ``ttfs``: time to first spike of the soma under a DC step from rest (dynapse1 50 pA,
  dynapse2 200 pA, about 10x the rheobase with positive feedback);
* ``rate``: its firing rate over the following second (adaptation on);
* ``i_syn``: mean AMPA current under a regular train at twice the rate threshold of the middle
  weight (last half of 0.5 s);
* ``ttfs_nmda_<rate>``: time to first spike from rest under a regular train of the middle weight on
  the NMDA synapse alone, at 300 Hz and 3 kHz (for ``nmda.i_nmda_thr``, the membrane current of the
  half-open NMDA gate: the gate matters most while the membrane is near rest).

Run: ``python docs/examples/operating_point_sensitivity.py [-o OUT]`` (writes
``OUT/operating-point-sensitivity.json``; ``--quick`` shortens the simulations).
"""

import argparse
import json
import pathlib

import numpy as np

from mixsig.chip import load_chip
from mixsig.chip.operating_point import core_circuits, log_sensitivity, rate_threshold, weight_currents
from mixsig.circuits import dpi, soma, synapses

DC = {"dynapse1": 50e-12, "dynapse2": 200e-12}
"""DC step of the soma measurements, A."""

SOMA_FIELDS = {
    "dynapse1": ("i_fb_0", "i_gain", "i_gain_ahp", "t_pulse_ahp", "c_ref", "v_ref"),
    "dynapse2": ("i_fb_0", "i_gain", "i_gain_ahp", "c_mem"),
}
"""Unsourced or simulator-sourced soma values per chip (docs/calibration.md)."""

SYNAPSE_FIELDS = {"dynapse1": ("t_pulse",), "dynapse2": ("c_syn",)}

DT = 5e-5
"""Step of the synapse measurement, s."""

NMDA_RATES = (300.0, 3000.0)
"""Rates of the NMDA-train measurement, Hz."""

DT_NMDA = 2e-5
"""Step of the NMDA-train measurement, s."""


def ttfs_and_rate(params, i_dc, duration):
    """Time to first spike (s) and the rate after it (Hz) under a DC step from rest."""
    times = soma.constant_input_spike_times(params, duration, i_syn=i_dc)[0]
    return np.array([times[0], (times.size - 1) / (times[-1] - times[0])])


def mean_current(params, i_w, period_steps, duration, dt=DT):
    """Mean synaptic current (A) over the second half of a regular train, one pulse every ``period_steps``."""
    state = dpi.initial_state(params, (1, 1))
    n = int(round(duration / dt))
    total = 0.0
    for k in range(n):
        state, out = dpi.step(state, i_w if k % period_steps == 0 else 0.0, params, dt)
        if k >= n // 2:
            total += out.i_syn_mean[0, 0]
    return total / (n - n // 2)


def nmda_ttfs(neuron, synapse, i_w, rate, duration, dt=DT_NMDA):
    """Time to first spike (s) from rest under a regular train (first pulse at 0) on the NMDA DPI alone."""
    period = int(round(1.0 / (rate * dt)))
    syn_state, soma_state = synapses.initial_state(synapse, (1, 1)), soma.initial_state(neuron, (1, 1))
    i_w_by_type = np.zeros((synapses.N_TYPES, 1, 1))
    for k in range(int(round(duration / dt))):
        i_w_by_type[synapses.SynapseType.NMDA] = i_w if k % period == 0 else 0.0
        syn_state, syn_out = synapses.step(syn_state, i_w_by_type, soma_state.i_mem, synapse, dt)
        soma_state, out = soma.step(soma_state, syn_out.i_syn_net, syn_out.i_shunt, neuron, dt)
        if out.spiked[0, 0]:
            return k * dt + out.spike_offset[0, 0]
    return np.inf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=".", help="output folder")
    parser.add_argument("--quick", action="store_true", help="shorter simulations")
    args = parser.parse_args()
    duration = 0.3 if args.quick else 1.0
    table = {}
    for name in ("dynapse1", "dynapse2"):
        chip = load_chip(name)
        neuron, synapse = core_circuits(chip)
        weights = sorted(weight_currents(chip).values())
        i_w = weights[len(weights) // 2]
        period = int(round(1.0 / (2.0 * rate_threshold(i_w, synapse.ampa.t_pulse, synapse.ampa.i_tau) * DT)))
        rows = {}
        for field in SOMA_FIELDS[name]:
            ttfs, rate = log_sensitivity(lambda p: ttfs_and_rate(p, DC[name], duration), neuron, field)
            rows[f"soma.{field}"] = {"ttfs": float(ttfs), "rate": float(rate)}
        for field in SYNAPSE_FIELDS[name]:
            rows[f"ampa.{field}"] = {"i_syn": float(log_sensitivity(
                lambda p: mean_current(p, i_w, period, 0.5 * duration), synapse.ampa, field))}
        rows["nmda.i_nmda_thr"] = {f"ttfs_nmda_{rate:g}": float(log_sensitivity(
            lambda p: nmda_ttfs(neuron, p, i_w, rate, duration), synapse, "i_nmda_thr")) for rate in NMDA_RATES}
        table[name] = rows
        for key, values in rows.items():
            print(name, key, ", ".join(f"d ln {k} = {v:+.3f}" for k, v in values.items()))
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "operating-point-sensitivity.json").write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
