"""Energy of a known event count: the run's energy equals the per-operation sum.

A recurrent excitatory/inhibitory network on one DYNAP-SE2 chip (two cores, Poisson input;
network of ``docs/networks.md``), two chip instances, 0.3 s. The emulator's ``energy_*``
statistics come from the router's own counters. The expected values are recounted here from the
spike record and the compiled network alone, spike by spike: every spike of neuron ``s`` costs
one spike generation; each of its SRAM destinations one encode and one on-chip route (one chip:
no mesh hop), one broadcast per core of the destination's core mask, and one synaptic event per
CAM entry of that core matching the tag. This holds when every event was delivered (no drop, none
in flight at the end), which the script checks first; the expected energy is then
``sum_k N_k e_k`` with the chip config's energies ``e_k``.
"""

import sys

import numpy as np

from mixsig.aer.energy import OPERATIONS
from mixsig.checks import Check, report
from mixsig.engine.simulation import Simulation
from mixsig.experiment import experiment_from_dict


def experiment():
    """The test network (a recurrent E/I network with converging fan-in)."""
    return experiment_from_dict({
        "duration": 0.3, "dt": 1e-4, "instances": 2, "seed": 7, "chip": "dynapse2",
        "device_model": "generic_180nm", "noise": False,
        "populations": {"exc": {"size": 96, "core": 0}, "inh": {"size": 32, "core": 1}},
        "inputs": {"drive": {"size": 32, "kind": "poisson", "rate": 30.0}},
        "connections": [
            {"pre": "drive", "post": "exc", "rule": "probability", "p": 0.3, "syn_type": "ampa", "weight_mask": 8},
            {"pre": "exc", "post": "exc", "rule": "probability", "p": 0.05, "syn_type": "ampa", "weight_mask": 2},
            {"pre": "exc", "post": "inh", "rule": "probability", "p": 0.1, "syn_type": "ampa", "weight_mask": 4},
            {"pre": "inh", "post": "exc", "rule": "probability", "p": 0.2, "syn_type": "gaba", "weight_mask": 4},
        ],
    })


def recount(simulation):
    """Operation counts per instance, in OPERATIONS order, from the spike record and the tables."""
    compiled, chip = simulation.compiled, simulation.chip
    n_keys = simulation.board.n_chips * chip.n_cores * chip.n_tags
    matches = np.zeros(n_keys, dtype=np.int64)
    for key in range(n_keys):  # CAM entries of simulated neurons per (chip, core, tag)
        rows = simulation.cam_local[compiled.cam_ptr[key]:compiled.cam_ptr[key + 1]]
        matches[key] = np.count_nonzero(rows >= 0)
    instances, neurons, _ = simulation.spikes()
    counts = np.zeros((simulation.n_instances, len(OPERATIONS)), dtype=np.int64)
    for instance, neuron in zip(instances, neurons):
        row = list(simulation.instances).index(instance)
        counts[row, 0] += 1
        for entry in np.flatnonzero(compiled.sram_src == neuron):
            dst, mask, tag = compiled.sram_dst_chip[entry], compiled.sram_core_mask[entry], compiled.sram_tag[entry]
            counts[row, 1] += 1
            counts[row, 2] += 1
            for core in range(chip.n_cores):
                if mask >> core & 1:
                    counts[row, 4] += 1
                    counts[row, 5] += matches[(dst * chip.n_cores + core) * chip.n_tags + tag]
    return counts


def main():
    exp = experiment()
    simulation = Simulation(exp)
    simulation.advance(exp.duration, progress=False)
    ds = simulation.dataset()
    energy = simulation.chip.energy.per_operation
    expected = recount(simulation)
    checks = [
        Check("events dropped or in flight", "precondition: all delivered", 0.0,
              float(ds["router__dropped"].sum() + ds["router__in_flight"].sum()), 0.0, "1", atol=0.0)]
    measured = ds["router__energy_operation_count"].values
    for k, name in enumerate(OPERATIONS):
        checks.append(Check(f"{name} operations", "recounted from spikes and SRAM/CAM tables",
                            float(expected[:, k].sum()), float(measured[:, k].sum()), 0.0, "1", atol=0.0))
    for i in range(simulation.n_instances):
        checks.append(Check(f"total energy, instance {i}", "sum_k N_k e_k (recount)", float(expected[i] @ energy) * 1e6,
                            float(ds["router__energy_total"].values[i]) * 1e6, 1e-12, "uJ"))
        checks.append(Check(f"per-core energies sum, instance {i}", "total minus chip-router and mesh energy",
                            float(expected[i, [0, 1, 4, 5]] @ energy[[0, 1, 4, 5]]) * 1e6,
                            float(ds["router__energy_core"].values[i].sum()) * 1e6, 1e-12, "uJ"))
    duration = simulation.step_index * exp.dt
    checks.append(Check("mean power, instance 0", "E / T", float(ds["router__energy_total"].values[0]) / duration * 1e6,
                        float(ds["router__power_total"].values[0]) * 1e6, 1e-12, "uW"))
    return report("Energy of a known event count (per-operation sum)", checks)


if __name__ == "__main__":
    sys.exit(main())
