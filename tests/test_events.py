"""Compiled event kernels of ``mixsig.aer.events`` against numpy's own sort and search."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mixsig.aer.events import SORT_RUN, SramTable, events_from_spikes, stable_argsort

# few distinct values, so that ties are common; lengths across several merge widths
values = st.lists(st.sampled_from([0.0, 1e-4, 2.5e-4, 2.5e-4 + 1e-12, 0.1, -3.0, 7.0]), max_size=6 * SORT_RUN + 3)


@settings(max_examples=200, deadline=None)
@given(values)
def test_stable_argsort_is_numpys_stable_argsort(items):
    array = np.array(items, dtype=np.float64)
    assert stable_argsort(array).tolist() == np.argsort(array, kind="stable").tolist()


def test_stable_argsort_of_a_long_random_array():
    array = np.random.default_rng(3).integers(0, 50, 10_000).astype(np.float64) * 1e-4
    assert np.array_equal(stable_argsort(array), np.argsort(array, kind="stable"))


def reference_events(spike_time, spike_source, sram):
    """Each spike expanded over its SRAM entries in table order, then a stable sort by time."""
    rows = [(t, s, int(e)) for t, s in zip(spike_time, spike_source) for e in np.flatnonzero(sram.src == s)]
    order = np.argsort(np.array([r[0] for r in rows], dtype=np.float64), kind="stable")
    rows = [rows[k] for k in order]
    return ([r[0] for r in rows], [r[1] for r in rows], [int(sram.tag[r[2]]) for r in rows],
            [int(sram.dst_chip[r[2]]) for r in rows])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=30), st.lists(st.tuples(st.integers(0, 9), st.sampled_from(
    [0.0, 1e-4, 3e-4, 0.2])), max_size=40))
def test_events_from_spikes_is_the_sorted_expansion(sources, spikes):
    n = len(sources)
    sram = SramTable(src=np.array(sources), dst_chip=np.arange(n) % 3, core_mask=np.ones(n, dtype=np.int64),
                     tag=np.arange(n) + 100)
    spike_source = [s for s, _ in spikes]
    spike_time = [t for _, t in spikes]
    batch = events_from_spikes(spike_time, spike_source, sram, n_cores=4, neurons_per_core=2)
    time, source, tag, dst_chip = reference_events(spike_time, spike_source, sram)
    assert batch.time.tolist() == time
    assert batch.source.tolist() == source
    assert batch.tag.tolist() == tag
    assert batch.dst_chip.tolist() == dst_chip
