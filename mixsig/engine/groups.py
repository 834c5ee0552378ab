"""Instance groups: many chip instances run as groups that stay in cache (issue 15).

A simulation advances all its instances together, step by step: at 64 instances of 1024 neurons a
step touches about 77 MB of tables and states, which stream from memory every step, where one
1024-neuron instance (about 1.2 MB) nearly stays in the 1 MB L2 of a core. Instances are
independent chips (own mismatch, noise streams and router rows; every random draw keyed by
instance, never by batch), so :func:`mixsig.engine.simulation.run` may instead run them in groups
of at most :data:`GROUP_NEURONS` simulated neurons, one group after the other through the whole
duration (temporal blocking over independent instances), and merge the groups' datasets with
:func:`mixsig.io.combine`: the dataset is the one a single simulation of every instance gives, bit
for bit (up to the per-file ``creation_time``; ``tests/test_ensemble.py``).

The fast kernel on states of the 64-instance ref1024 study, one thread, CPU ns per neuron-step
(``benchmarks/README.md``, "The 64-instance study, fifth round"): all 64 instances per step 79,
groups of 1 or 4 instances through all the steps 60, groups of 16 instances 71. A group pays its
own set-up (network mapping, mismatch draw, the first stimulus block), so groups are as large as
the cache allows: 4096 neurons.
"""

import numpy as np

GROUP_NEURONS = 4096
"""Most simulated neurons in one group of :func:`instance_groups` (four 1024-neuron instances)."""


def instance_groups(instances, neurons, group_neurons=GROUP_NEURONS):
    """Split instances into contiguous groups of at most ``group_neurons`` simulated neurons.

    Parameters
    ----------
    instances : ndarray of int64, shape (n,)
        Instance indices, in the order they are to run.
    neurons : int
        Simulated neurons per instance.
    group_neurons : int
        Most simulated neurons per group (at least one instance per group).

    Returns
    -------
    list of ndarray of int64
        The groups, in order; one group holding every instance when they fit together.
    """
    per_group = max(1, group_neurons // max(1, neurons))
    return [instances[k:k + per_group] for k in range(0, instances.size, per_group)]
