"""Automatic choice between a kernel's threaded and one-thread ``advance``, by measured throughput.

Whether numba's threads help a step depends on the step's size and on the machine's load, not
only on the network: at 1024 neurons (about 100 us of one core per fast step) two threads gained
1.4x on an idle 2-core machine with the engine's short spin (passive waiting: 0.69x) and lost
(0.2x of one thread; passive 0.9x) with other processes running, because the threads meet once per step and a thread that waits for a core holds the
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

Short runs pay little for probing: a probe pair's second half stops after :data:`PROBE_CHECK` steps
once it is :data:`MARGIN` times slower or faster per step than the first half (under load the
threaded side is up to 12x slower; its probe then costs a fifth; while one side loses by that
margin it is the second half of every pair, else the halves alternate), and the choice is kept in the
process per ``key`` (model, integrator, size, thread count): a later simulation of the same key
starts with the last decision and its ratios, runs it, and probes again after the same budget, so
a change of load is still followed.
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

PROBE_CHECK = 10
"""Steps per call in a pair's second half, after which it may stop early (:data:`MARGIN`)."""

MARGIN = 3.0
"""Per-step wall time ratio between the halves of a pair beyond which the second half stops early."""

_DECIDED = {}
"""``key -> (ratios, pair wall time in s)`` of the last completed probe pair of each key in this process."""


def forget():
    """Drop the choices kept in this process (the next simulation of every key probes from the start)."""
    _DECIDED.clear()


class ThreadChoice:
    """Which ``advance`` (threaded or one thread) the next compiled call runs, and for how many steps.

    Use: ``parallel, limit = choice.plan(n, limit)`` before a call from step ``n`` that may run up
    to step ``limit``; after it, ``choice.record(parallel, steps, seconds, counted)``.

    Parameters
    ----------
    key : hashable, optional
        What the step's cost depends on (model, integrator, size); with numba's thread count at
        the first :meth:`plan` it names the choice kept in the process: one made earlier with the
        same key is the starting point (no probe before its budget).

    Attributes
    ----------
    parallel : bool
        The kernel chosen by the last completed probe pair (threaded until one has completed).
    ratios : collections.deque of float
        Threaded over one-thread wall time per step, of the last :data:`KEEP` probe pairs.
    """

    def __init__(self, key=None):
        self.key = key
        self.parallel = True
        self.ratios = collections.deque(maxlen=KEEP)
        self._order = (True, False)
        self._probing = list(self._order)
        self._spent = {True: [0, 0.0], False: [0, 0.0]}
        self._budget = 0.0
        self._kept = None

    def _restore(self):
        """Start from the choice kept for this key and thread count (read when threads have started)."""
        self._kept = (self.key, numba.get_num_threads())
        if self._kept not in _DECIDED:
            return
        ratios, pair = _DECIDED[self._kept]
        self.ratios.extend(ratios)
        self.parallel = bool(np.median(self.ratios) < 1.0)
        self._probing = []
        self._budget = PROBE_EVERY * pair

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
        if self.key is not None and self._kept is None:
            self._restore()
        if not self._probing:
            return self.parallel, limit
        mode = self._probing[0]
        steps = PROBE_STEPS - self._spent[mode][0]
        if len(self._probing) == 1:  # second half: calls short enough to stop early
            steps = min(steps, PROBE_CHECK)
        return mode, min(limit, n + steps)

    def record(self, parallel, steps, seconds, counted=True):
        """Account a call of the kernel ``parallel`` that ran ``steps`` steps in ``seconds`` (wall, s).

        ``counted = False`` (the call compiled or loaded a kernel): the call does not enter a probe
        nor spend the budget of a kept choice.
        """
        if not self._probing:
            self._budget -= seconds if counted else 0.0
            if self._budget <= 0.0:
                clear = _beyond_margin(float(np.median(self.ratios)))
                # alternate (no side always first) unless one side clearly loses: it goes second, to stop early
                self._order = (self.parallel, not self.parallel) if clear else self._order[::-1]
                self._probing = list(self._order)
            return
        if not counted or parallel != self._probing[0]:
            return
        spent = self._spent[parallel]
        spent[0] += steps
        spent[1] += seconds
        if spent[0] < PROBE_STEPS and not (len(self._probing) == 1 and self._clear()):
            return
        self._probing.pop(0)
        if self._probing:
            return
        pair = self._spent[True][1] + self._spent[False][1]
        self.ratios.append(self._ratio())
        self.parallel = bool(np.median(self.ratios) < 1.0)
        self._budget = PROBE_EVERY * pair
        if self._kept is not None:
            _DECIDED[self._kept] = (tuple(self.ratios), pair)
        self._spent = {True: [0, 0.0], False: [0, 0.0]}

    def _ratio(self):
        """Threaded over one-thread wall time per step of the current pair (1 without a measured time)."""
        (threaded_steps, threaded_s), (serial_steps, serial_s) = self._spent[True], self._spent[False]
        if threaded_steps == 0 or serial_steps == 0 or serial_s <= 0.0:
            return 1.0
        return (threaded_s / threaded_steps) / (serial_s / serial_steps)

    def _clear(self):
        """Whether the pair's second half has run :data:`PROBE_CHECK` steps and differs by :data:`MARGIN` or more."""
        if self._spent[self._probing[0]][0] < PROBE_CHECK:
            return False
        return _beyond_margin(self._ratio())


def _beyond_margin(ratio):
    """Whether a threaded over one-thread time ratio says one side is :data:`MARGIN` times faster."""
    return ratio >= MARGIN or ratio <= 1.0 / MARGIN


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
