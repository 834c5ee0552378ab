"""Memory budget of a simulation, estimated before anything large is allocated.

A run whose tables would not fit is refused with a :class:`~mixsig.errors.ConfigError` naming
the estimate, its largest terms and the limit, instead of ending in a ``MemoryError`` traceback
(or the kernel's OOM killer) part-way through. The estimate is a sum of terms, each the count of
an allocated item times its bytes:

=====================  =====================================================================
term                   count x bytes
=====================  =====================================================================
neuron state           instances x simulated neurons x :data:`BYTES_PER_INSTANCE_NEURON`
board tables           board neurons x :data:`BYTES_PER_BOARD_NEURON`
mismatch draw          instances x board neurons x :data:`BYTES_PER_DRAWN_NEURON` (device model)
router                 instances x chips x cores x :data:`BYTES_PER_ROUTER_CORE`
candidate synapses     connection pairs before mapping x :data:`BYTES_PER_PAIR`
synapse weights        instances x connection pairs x 8 (one float64 weight per instance)
input channels         input channels x :data:`BYTES_PER_CHANNEL`
Poisson arrivals       expected input spikes per stimulus block x :data:`BYTES_PER_ARRIVAL`
traces                 traces x recorded neurons x instances x samples x 8
=====================  =====================================================================

The limit is ``MIXSIG_MEMORY_LIMIT`` (bytes, or with a ``K``/``M``/``G``/``T`` suffix) when set,
else :data:`MEMORY_FRACTION` of the machine's physical memory (and at most half of an address-space
limit, ``ulimit -v``).
"""

import math
import os

try:
    import resource
except ImportError:  # not on Windows
    resource = None

import numpy as np

from mixsig.errors import Problem, raise_if_any

BYTES_PER_INSTANCE_NEURON = 16 * 1024
"""Bytes per simulated neuron and instance [D: tracemalloc peak of the default experiment
(256 neurons, CAM fan-in ~25) run for 50 ms: 29.4 MiB at 1 instance, 70.8 MiB at 16, i.e.
10.8 KiB per instance-neuron; rounded up for denser fan-in]."""

BYTES_PER_BOARD_NEURON = 4096
"""Bytes per neuron of the board, simulated or not (index tables, the CAM/SRAM tables of the
mapper, the deviations drawn for every device of a chip) [D: tracemalloc peak of the default
experiment at one instance on 4x4, 8x8 and 16x16 boards: 3.99, 3.90, 3.87 KiB per board neuron]."""

BYTES_PER_DRAWN_NEURON = 1024
"""Bytes per board neuron and further instance of the mismatch draw [D: the same run at 4
instances on a 4x4 board: +48 MiB over 3 instances x 16384 board neurons]."""

BYTES_PER_ROUTER_CORE = 512
"""Bytes per core of every chip instance in the AER router (link state of three levels) [asm]."""

BYTES_PER_PAIR = 64
"""Bytes per candidate synapse while compiling connections: (pre, post, type, connection) int64
rows plus the meshgrid and ordering temporaries [D: ``chip.network._candidate_pairs``]."""

BYTES_PER_CHANNEL = 64
"""Bytes per input channel (ids, rates, CSR pointers) [D]."""

BYTES_PER_ARRIVAL = 96
"""Bytes per Poisson input spike of a stimulus block, expanded to CAM keys (steps, channels,
keys, counts, sort temporaries) [D: ``Simulation._block_inputs``]."""

MEMORY_FRACTION = 0.8
"""Share of physical memory a run may use by default."""


def memory_limit():
    """The memory a run may use, bytes (``MIXSIG_MEMORY_LIMIT``, else a share of physical memory).

    Returns
    -------
    int

    Raises
    ------
    mixsig.errors.ConfigError
        ``MIXSIG_MEMORY_LIMIT`` is set but is not a positive size.
    """
    text = os.environ.get("MIXSIG_MEMORY_LIMIT", "").strip()
    if text:
        scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1].upper(), 1)
        try:
            value = float(text[:-1] if scale > 1 else text) * scale
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise_if_any([Problem("<environment>", "MIXSIG_MEMORY_LIMIT", text,
                                  "a size > 0 in bytes, optionally with a K, M, G or T suffix")], "memory limit")
        return int(value)
    try:
        limit = MEMORY_FRACTION * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        limit = 8 * 2**30
    address_space = resource.getrlimit(resource.RLIMIT_AS)[0] if resource is not None else -1
    if address_space > 0:  # ``ulimit -v``: half of it, the rest is the interpreter's and numba's mappings
        limit = min(limit, address_space / 2)
    return int(limit)


def _pairs(network, sizes):
    """Candidate synapse pairs of the network's connections before mapping."""
    total = 0.0
    for conn in network.connections:
        pre, post = sizes.get(conn.pre, 0), sizes.get(conn.post, 0)
        if conn.rule == "all_to_all":
            total += pre * post
        elif conn.rule == "one_to_one":
            total += pre
        elif conn.rule == "probability":
            total += pre * post  # drawn over the full pre x post matrix, then thinned
        else:
            total += len(conn.pairs)
    return total


def estimate(experiment, chip, network, instances):
    """Estimated peak memory of a simulation, by term.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    chip : mixsig.chip.ChipConfig
    network : mixsig.chip.Network
    instances : int
        Instances simulated by this process.

    Returns
    -------
    dict of str to float
        Term name -> bytes (see the module docstring).
    """
    nx, ny = experiment.board
    n_chips = nx * ny
    populations = {name: group.size for name, group in network.populations.items()}
    inputs = {name: group.size for name, group in network.inputs.items()}
    neurons = min(sum(populations.values()), n_chips * chip.neurons_per_chip)
    pairs = _pairs(network, {**populations, **inputs})
    block = min(1.0, experiment.duration)
    arrivals = sum(float(np.nansum(group.rate)) for group in network.inputs.values()) * block
    record = experiment.record
    samples = experiment.duration / record.interval + 1
    return {
        "neuron state": instances * neurons * BYTES_PER_INSTANCE_NEURON,
        "board tables": n_chips * chip.neurons_per_chip * BYTES_PER_BOARD_NEURON,
        "mismatch draw": (instances * n_chips * chip.neurons_per_chip * BYTES_PER_DRAWN_NEURON
                          if experiment.device_model != "none" else 0.0),
        "router": instances * n_chips * chip.n_cores * BYTES_PER_ROUTER_CORE,
        "candidate synapses": pairs * BYTES_PER_PAIR,
        "synapse weights": instances * min(pairs, n_chips * chip.synapses_per_chip) * 8,
        "input channels": sum(inputs.values()) * BYTES_PER_CHANNEL,
        "Poisson arrivals": arrivals * BYTES_PER_ARRIVAL,
        "traces": len(record.traces) * len(record.neurons) * instances * samples * 8,
    }


def check_memory(experiment, chip, network, instances):
    """Refuse a simulation whose estimated memory exceeds :func:`memory_limit`.

    The parameters are those of :func:`estimate`.

    Raises
    ------
    mixsig.errors.ConfigError
        With the estimate, its three largest terms and the limit.
    """
    terms = estimate(experiment, chip, network, instances)
    total, limit = sum(terms.values()), memory_limit()
    if total > limit:
        largest = sorted(terms.items(), key=lambda item: -item[1])[:3]
        detail = ", ".join(f"{name} {_size(value)}" for name, value in largest)
        raise_if_any([Problem(experiment.source, "(memory)", f"{_size(total)} estimated ({detail})",
                              f"at most {_size(limit)} (MIXSIG_MEMORY_LIMIT or {MEMORY_FRACTION:.0%} of physical "
                              "memory): fewer instances, a smaller board, fewer connections or lower input rates")],
                     f"experiment {experiment.source}")


def _size(value):
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} B"
