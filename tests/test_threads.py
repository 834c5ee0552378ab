"""The engine's automatic choice between the threaded and the one-thread kernel (mixsig.engine.threads)."""

import os

import numpy as np
import pytest

from mixsig import workloads
from mixsig.engine import threads
from mixsig.engine.kernels import PARALLEL_MIN_NEURONS
from mixsig.engine.simulation import Simulation
from mixsig.engine.threads import ThreadChoice
from tests.test_fast import _experiment


@pytest.fixture(autouse=True)
def _no_kept_choice():
    threads.forget()
    yield
    threads.forget()


def _drive(choice, cost, steps, call=1000, counted=lambda n: True):
    """Run ``steps`` steps in calls of at most ``call`` steps, each costing ``cost(parallel, n)`` s per step;
    return the (parallel, steps, seconds) of every call."""
    calls, n = [], 0
    while n < steps:
        parallel, limit = choice.plan(n, min(steps, n + call))
        done = limit - n
        seconds = done * cost(parallel, n)
        choice.record(parallel, done, seconds, counted(n))
        calls.append((parallel, done, seconds))
        n += done
    return calls


def _fixed(threaded, serial):
    return lambda parallel, n: threaded if parallel else serial


def test_probe_caps_the_call_at_its_remaining_steps():
    choice = ThreadChoice()
    assert choice.plan(100, 5000) == (True, 100 + threads.PROBE_STEPS)
    choice.record(True, 20, 1e-3)
    assert choice.plan(120, 5000) == (True, 120 + threads.PROBE_STEPS - 20)
    assert choice.plan(120, 130) == (True, 130)


def test_picks_the_faster_kernel_and_probing_costs_little():
    for threaded, serial in ((2e-4, 1e-4), (0.6e-4, 1e-4)):
        choice = ThreadChoice()
        calls = _drive(choice, _fixed(threaded, serial), 200_000)
        assert choice.parallel == (threaded < serial)
        spent = sum(seconds for _, _, seconds in calls)
        best = 200_000 * min(threaded, serial)
        # one probe pair per PROBE_EVERY pair durations, plus the calls that overshoot the budget
        assert spent / best - 1 < 2 * max(threaded, serial) / min(threaded, serial) / threads.PROBE_EVERY
        assert len(choice.ratios) == threads.KEEP


def test_a_clear_loser_is_probed_for_few_steps():
    # under load the threaded step was 12x slower (active waiting, issue 15): the pair's second half
    # stops after PROBE_CHECK steps, whichever side it is; a close call runs its full PROBE_STEPS
    for threaded, serial, second_half in ((12e-4, 1e-4, threads.PROBE_CHECK), (0.8e-4, 1e-4, threads.PROBE_STEPS)):
        choice = ThreadChoice()
        calls = _drive(choice, _fixed(threaded, serial), threads.PROBE_STEPS + second_half - 1)
        assert [done for parallel, done, _ in calls if parallel] == [threads.PROBE_STEPS]  # the threaded half first
        assert not choice.ratios
        _drive(choice, _fixed(threaded, serial), 1)  # the one-thread half's last step
        assert choice.ratios[0] == pytest.approx(threaded / serial)
        assert choice.parallel == (threaded < serial)
    # while the threaded side clearly loses it is the second half of every pair: stopped early each time
    choice = ThreadChoice()
    calls = _drive(choice, _fixed(12e-4, 1e-4), 100_000)
    assert len(choice.ratios) == threads.KEEP
    later = [done for parallel, done, _ in calls if parallel][1:]
    assert later and all(done == threads.PROBE_CHECK for done in later)


def test_the_choice_is_kept_for_the_next_simulation_of_the_same_key():
    key = ("model", "fast", 1024)
    first = ThreadChoice(key)
    _drive(first, _fixed(4e-4, 1e-4), 10_000)
    assert first.parallel is False
    again = ThreadChoice(key)
    calls = _drive(again, _fixed(4e-4, 1e-4), 1000)
    assert all(not parallel for parallel, _, _ in calls)  # no probe: the kept choice, within its budget
    assert list(again.ratios) == list(first.ratios)
    compiling = ThreadChoice(key)  # a first call that compiles does not spend the kept choice's budget
    assert compiling.plan(0, 10) == (False, 10)
    compiling.record(False, 10, 1000.0, counted=False)
    assert compiling.plan(10, 1000) == (False, 1000)  # not a probe (it would end at step 10 + PROBE_STEPS)
    # it still probes once the budget is spent, and a change of load is followed
    calls = _drive(again, lambda parallel, n: 0.5e-4 if parallel else 1e-4, 200_000)
    assert again.parallel is True
    other = ThreadChoice(("model", "fast", 2048))
    assert other.plan(0, 1000) == (True, threads.PROBE_STEPS)  # another size probes from the start


def test_follows_a_change_of_load():
    choice = ThreadChoice()
    # threads twice as fast, then (another process takes a core) three times slower
    calls = _drive(choice, lambda parallel, n: (0.5e-4 if n < 100_000 else 3e-4) if parallel else 1e-4, 300_000)
    assert choice.parallel is False
    tail = [c for c in calls[len(calls) // 2:] if c[0]]
    assert sum(done for _, done, _ in tail) < 0.05 * 150_000


def test_calls_that_compile_do_not_enter_a_probe():
    choice = ThreadChoice()
    # calls of 10 steps; the first call of each kernel (steps 0 and 60: threaded then one-thread
    # probe) compiles: 1000 s per step, which would decide the choice if it were counted
    slow = (0, threads.PROBE_STEPS + 10)
    _drive(choice, lambda parallel, n: 1000.0 if n in slow else (0.5e-4 if parallel else 1e-4), 1000, call=10,
           counted=lambda n: n not in slow)
    assert choice.ratios[0] == pytest.approx(0.5)
    assert choice.parallel is True


def test_automatic_choice_changes_no_result():
    experiment = workloads.experiment(instances=1, duration=0.03, integrator="fast")
    reference = Simulation(experiment)
    reference.parallel = False
    reference.advance(0.03, progress=False)
    automatic = Simulation(experiment)
    assert automatic.parallel is None  # 1024 neurons: chosen by measurement
    automatic.advance(0.03, progress=False)
    assert automatic.thread_choice.ratios  # at least one probe pair ran both kernels
    assert reference.spikes()[2].size > 0
    for a, b in zip(reference.spikes(), automatic.spikes()):
        np.testing.assert_array_equal(a, b)


def test_small_runs_stay_on_one_thread():
    small = Simulation(_experiment("fast"))  # 2 instances x 64 neurons
    assert small.size < PARALLEL_MIN_NEURONS
    assert small.parallel is False


def test_the_noise_kernel_runs_on_the_threads_the_step_runs_on(monkeypatch):
    from mixsig.engine import simulation as engine
    from mixsig.experiment import default_experiment

    calls = []

    def recording(threaded, function, *args):
        calls.append((threaded, function))
        return threads.call_with_threads(threaded, function, *args)

    monkeypatch.setattr(engine, "call_with_threads", recording)
    noisy = Simulation(default_experiment().replace(duration=0.01, instances=2, noise=True, integrator="exact"))
    assert noisy.shot and not noisy.counter_noise  # the fast kernel draws its own, inside the step
    for parallel, choice, expected in ((False, True, False), (True, False, True), (None, False, False),
                                       (None, True, True)):
        noisy.parallel, noisy.thread_choice.parallel = parallel, choice
        calls.clear()
        noisy._draw_noise(0)
        assert calls == [(expected, engine.philox.standard_normals)]


@pytest.mark.parametrize("user, expected", [({}, {"GOMP_SPINCOUNT": "10000"}),
                                            ({"OMP_WAIT_POLICY": "passive"}, {"OMP_WAIT_POLICY": "passive"}),
                                            ({"GOMP_SPINCOUNT": "300000"}, {"GOMP_SPINCOUNT": "300000"})])
def test_the_engine_waits_a_short_spin_unless_the_user_chose(monkeypatch, user, expected):
    import numba
    from numba.np.ufunc import parallel

    from mixsig.engine.kernels import configure_threading

    monkeypatch.setattr(parallel, "_is_initialized", False)  # as before numba starts its threads
    monkeypatch.setattr(numba.config, "THREADING_LAYER", numba.config.THREADING_LAYER)
    monkeypatch.setattr(numba.config, "THREADING_LAYER_PRIORITY", numba.config.THREADING_LAYER_PRIORITY)
    for name in ("NUMBA_THREADING_LAYER", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in user.items():
        monkeypatch.setenv(name, value)
    configure_threading()
    assert {name: os.environ[name] for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if name in os.environ} == expected
    assert numba.config.THREADING_LAYER_PRIORITY[0] == "omp"
