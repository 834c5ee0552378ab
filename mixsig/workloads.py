"""Reference workloads (issue 8): the ``ref1024`` network on a ``dynapse2`` chip, and its board tiling.

``ref1024`` (one ``dynapse2`` chip, 4 cores x 256 neurons):

* every neuron receives 64 recurrent CAM synapses from random neurons of the chip (pairs drawn
  without replacement and without self-connections; 51 AMPA = 80 %, 13 GABA_A = 20 %);
* 64 Poisson input channels at 50 Hz reach every neuron (AMPA);
* default calibration (``generic_180nm``: mismatch on, shot noise when ``noise=True``);
* ``dt = 1e-4 s``, 1 s simulated, spikes only (no traces, no router statistics, no parameters).

Fan-in: 64 + 64 = 128 CAM entries per neuron, twice the 64 of the DYNAP-SE2 silicon. The issue
asks for both (64 recurrent synapses and inputs reaching every neuron), so the workload runs on a
``dynapse2`` variant whose only change is ``cam_per_neuron = 128`` (written to a temporary chip
file); every bias, router timing and tag/SRAM limit is the silicon's. Weights are set through the
per-bit weight currents so that the mean rate lies in 10-40 Hz (``RATE_RANGE``).

``board``: the same per-chip network tiled on an ``nx x ny`` board of such chips, with the
recurrent sources of each neuron drawn from its own chip (3/4) and from the next chip to the east
(1/4, drawn from the first core of that chip so that a core needs at most 1024 + 256 + 64 tags;
inter-chip traffic through the mesh).

``open_loop=True`` removes the recurrent connections (each neuron then sees only its Poisson
inputs): the open-loop comparison of ``validation/fast_vs_exact.py``.
"""

import functools
import pathlib
import tempfile

import numpy as np

from mixsig.chip import load_chip
from mixsig.experiment import Experiment, Record

N_RECURRENT = 64
N_GABA = 13
N_INPUTS = 64
INPUT_RATE = 50.0
RATE_RANGE = (10.0, 40.0)
REMOTE_SOURCES = 256  # remote sources come from the first core of the next chip (tag budget: 2048 per core)
WEIGHTS = (
    (None, "synapse.i_w_0", 5e-9),
    (None, "synapse.i_w_1", 4e-9),
    (None, "synapse.i_w_2", 50e-9),
    (None, "synapse.i_w_3", 100e-9),
)
INPUT_MASK = 1       # 5 nA per input pulse
AMPA_MASK = 2        # 4 nA recurrent excitation
GABA_MASK = 8        # 100 nA recurrent inhibition


@functools.lru_cache(maxsize=1)
def chip_file():
    """Path of the ``dynapse2`` variant with 128 CAM entries per neuron (a temporary file)."""
    text = load_chip("dynapse2").toml_text
    if "cam_per_neuron = 64" not in text:
        raise RuntimeError("dynapse2.toml no longer declares cam_per_neuron = 64")
    text = text.replace("cam_per_neuron = 64", "cam_per_neuron = 128", 1)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="mixsig-bench-"))
    path = folder / "dynapse2_cam128.toml"
    path.write_text(text)
    return str(path)


def _recurrent_pairs(n_chips_x, n_chips_y, neurons_per_chip, seed, remote_fraction):
    """``(pre, post)`` pairs of the ``ampa`` and ``gaba`` recurrent connections (population indices)."""
    rng = np.random.default_rng(seed)
    n_chips = n_chips_x * n_chips_y
    n = n_chips * neurons_per_chip
    ampa, gaba = [], []
    n_remote = int(round(remote_fraction * N_RECURRENT)) if n_chips > 1 else 0
    for post in range(n):
        chip = post // neurons_per_chip
        x, y = chip % n_chips_x, chip // n_chips_x
        east = ((x + 1) % n_chips_x) + y * n_chips_x
        local = rng.choice(neurons_per_chip - 1, N_RECURRENT - n_remote, replace=False)
        local = chip * neurons_per_chip + local + (local >= post - chip * neurons_per_chip)
        pre = local
        if n_remote:
            remote = east * neurons_per_chip + rng.choice(REMOTE_SOURCES, n_remote, replace=False)
            pre = np.concatenate([local, remote])
        pre = rng.permutation(pre)
        gaba += [(int(p), post) for p in pre[:N_GABA]]
        ampa += [(int(p), post) for p in pre[N_GABA:]]
    return ampa, gaba


def network(nx=1, ny=1, seed=0, remote_fraction=0.25, open_loop=False):
    """Network tables of the workload on an ``nx x ny`` board (without recurrent connections if ``open_loop``)."""
    n_chips = nx * ny
    per_chip = 1024
    ampa, gaba = _recurrent_pairs(nx, ny, per_chip, seed, remote_fraction)
    populations = {}
    for chip in range(n_chips):
        populations[f"chip{chip}"] = {"size": per_chip, "core": [0, 1, 2, 3], "chip": [chip % nx, chip // nx]}
    inputs = {"drive": {"size": N_INPUTS, "kind": "poisson", "rate": INPUT_RATE}}
    if n_chips == 1:
        connections = [
            {"pre": "drive", "post": "chip0", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": INPUT_MASK},
        ]
        if open_loop:
            return {"populations": populations, "inputs": inputs, "connections": connections}
        connections += [
            {"pre": "chip0", "post": "chip0", "rule": "pairs", "pairs": ampa, "syn_type": "ampa", "weight_mask": AMPA_MASK},
            {"pre": "chip0", "post": "chip0", "rule": "pairs", "pairs": gaba, "syn_type": "gaba", "weight_mask": GABA_MASK},
        ]
        return {"populations": populations, "inputs": inputs, "connections": connections}
    connections = []
    for chip in range(n_chips):
        connections.append({"pre": "drive", "post": f"chip{chip}", "rule": "all_to_all", "syn_type": "ampa",
                            "weight_mask": INPUT_MASK})
    for kind, pairs, mask in (("ampa", ampa, AMPA_MASK), ("gaba", gaba, GABA_MASK)):
        pairs = np.asarray(pairs)
        for pre_chip in range(n_chips):
            for post_chip in range(n_chips):
                pick = (pairs[:, 0] // per_chip == pre_chip) & (pairs[:, 1] // per_chip == post_chip)
                if pick.any():
                    connections.append({
                        "pre": f"chip{pre_chip}", "post": f"chip{post_chip}", "rule": "pairs",
                        "pairs": (pairs[pick] % per_chip).tolist(), "syn_type": kind, "weight_mask": mask,
                    })
    return {"populations": populations, "inputs": inputs, "connections": connections}


def experiment(noise=False, instances=1, duration=1.0, nx=1, ny=1, seed=0, integrator="exact", open_loop=False, dt=1e-4):
    """The reference workload as an :class:`~mixsig.experiment.Experiment` (spikes only)."""
    return Experiment(integrator=integrator,
        duration=duration, dt=dt, instances=instances, seed=seed, chip=chip_file(), board=(nx, ny),
        device_model="generic_180nm", noise=noise, biases=WEIGHTS, network=network(nx, ny, seed, open_loop=open_loop),
        record=Record(traces=(), neurons=(), router=False, parameters=False), source=f"benchmark ref1024 {nx}x{ny}",
    )


