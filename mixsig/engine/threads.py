"""Automatic choice between a kernel's threaded and one-thread ``advance``, by measured throughput.

Whether numba's threads help a step depends on the step's size and on the machine's load, not
only on the network: at 1024 neurons (about 100 us of one core per fast step) two threads gained
1.1-1.6x on an idle 2-core machine and lost (0.5-0.84x of one thread) with other processes
running, because the threads meet once per step and a thread that waits for a core holds the
step up (issue 15, ``python -m benchmarks threads``). No fixed neuron count separates the two, so
the engine measures: :class:`ThreadChoice` times pairs of short probes, ``PROBE_STEPS`` steps on
one thread then as many on the threads (or the reverse, alternately), picks the faster by the
median ratio of the last ``KEEP`` pairs, and probes again after running the chosen one for
``PROBE_EVERY`` times the wall time of the last probe pair, so that probing costs at most about
``1 / PROBE_EVERY`` of the run however slow the losing side is, and a change of load is followed
within a few probe intervals.

Both sides run the kernel's threaded ``advance`` (one thread: :func:`call_with_threads`, numba's
thread count set to 1 around the call), so a run compiles one step loop, not two; its results are
the same bit for bit on any number of threads (:mod:`mixsig.engine.protocol` rule 3), so the choice
changes only the wall time. A probe spans as many compiled calls as needed (a call ends at
stimulus blocks, drift updates, trace samples, or after every step with exact delivery); a call
that compiled or loaded a kernel is not counted.
"""

import collections

import numba
import numpy as np

PROBE_STEPS = 50
"""Steps of each half of a probe pair."""

PROBE_EVERY = 20.0
"""Wall time of the chosen kernel between probe pairs, in units of the last pair's wall time."""

KEEP = 3
"""Probe pairs whose median ratio decides."""


class ThreadChoice:
    """Which ``advance`` (threaded or one thread) the next compiled call runs, and for how many steps.

    Use: ``parallel, limit = choice.plan(n, limit)`` before a call from step ``n`` that may run up
    to step ``limit``; after it, ``choice.record(parallel, steps, seconds, counted)``.

    Attributes
    ----------
    parallel : bool
        The kernel chosen by the last completed probe pair (threaded until one has completed).
    ratios : collections.deque of float
        Threaded over one-thread wall time per step, of the last :data:`KEEP` probe pairs.
    """

    def __init__(self):
        self.parallel = True
        self.ratios = collections.deque(maxlen=KEEP)
        self._order = (True, False)
        self._probing = list(self._order)
        self._spent = {True: [0, 0.0], False: [0, 0.0]}
        self._budget = 0.0

    def plan(self, n, limit):
        """The kernel of the call from step ``n`` and its last step bound (``limit`` or less: a probe's end).

        Parameters
        ----------
        n : int
            First step of the call.
        limit : int
            Step at which the call must stop at the latest.

        Returns
        -------
        parallel : bool
        limit : int
        """
        if not self._probing:
            return self.parallel, limit
        mode = self._probing[0]
        return mode, min(limit, n + PROBE_STEPS - self._spent[mode][0])

    def record(self, parallel, steps, seconds, counted=True):
        """Account a call of the kernel ``parallel`` that ran ``steps`` steps in ``seconds`` (wall, s).

        ``counted = False`` (the call compiled or loaded a kernel): the call does not enter a probe.
        """
        if not self._probing:
            self._budget -= seconds
            if self._budget <= 0.0:
                self._order = self._order[::-1]
                self._probing = list(self._order)
            return
        if not counted or parallel != self._probing[0]:
            return
        spent = self._spent[parallel]
        spent[0] += steps
        spent[1] += seconds
        if spent[0] < PROBE_STEPS:
            return
        self._probing.pop(0)
        if self._probing:
            return
        (threaded_steps, threaded_s), (serial_steps, serial_s) = self._spent[True], self._spent[False]
        self.ratios.append((threaded_s / threaded_steps) / (serial_s / serial_steps) if serial_s > 0.0 else 1.0)
        self.parallel = bool(np.median(self.ratios) < 1.0)
        self._budget = PROBE_EVERY * (threaded_s + serial_s)
        self._spent = {True: [0, 0.0], False: [0, 0.0]}


def call_with_threads(threaded, function, *args):
    """``function(*args)``, with numba's thread count set to 1 around the call unless ``threaded``."""
    if threaded:
        return function(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return function(*args)
    finally:
        numba.set_num_threads(threads)
