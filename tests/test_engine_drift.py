"""Rate-adaptive re-evaluation of drifting parameters (mixsig.engine.simulation)."""

import numpy as np

from mixsig.engine import simulation as engine
from mixsig.experiment import Experiment, Record

NETWORK = {
    "populations": {"a": {"size": 8, "core": 0}},
    "inputs": {"drive": {"size": 4, "kind": "poisson", "rate": 100.0}},
    "connections": [{"pre": "drive", "post": "a", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 8}],
}


def _updates(experiment, duration, chunks=1):
    """Times of the parameter re-evaluations and the largest relative change of any parameter at each."""
    simulation = engine.Simulation(experiment)
    times, changes = [], []
    original = simulation._set_parameters

    def recording(t):
        before = dict(simulation.values)
        original(t)
        times.append(t)
        changes.append(max(float(np.max(np.abs(simulation.values[k] / before[k] - 1), initial=0.0))
                           for k in before if np.all(before[k] != 0)))

    simulation._set_parameters = recording
    for _ in range(chunks):
        simulation.advance(duration / chunks, progress=False)
    return np.array(times), np.array(changes), simulation


def test_temperature_ramp_keeps_changes_near_the_tolerance_and_stops_at_profile_points():
    profile = ((0.0, 300.0), (0.3, 303.0), (0.5, 303.0))
    exp = Experiment(duration=0.5, network=NETWORK, temperature=profile, noise=False,
                     record=Record(traces=(), neurons=()))
    times, changes, _ = _updates(exp, 0.5)
    ramp = times < 0.3 - 1e-9
    # After the first (fixed) interval the change per re-evaluation is held near the tolerance, or
    # the interval is the shortest allowed.
    intervals = np.diff(np.concatenate([[0.0], times]))
    within = (changes <= 2.5 * engine.DRIFT_TOLERANCE) | np.isclose(intervals, engine.DRIFT_INTERVAL_MIN)
    assert np.all(within[1:][ramp[1:]])
    assert intervals[1:][ramp[1:]].max() < engine.DRIFT_INTERVAL  # a 10 K/s ramp: shorter than the old fixed 10 ms
    assert np.any(np.isclose(times, 0.3))
    # On the flat part (only the slow ageing moves the parameters) the interval grows past the run's
    # end after one re-evaluation that still measured the ramp's rate.
    assert np.sum(times >= 0.3 - 1e-9) <= 2


def test_schedule_independent_of_chunks():
    exp = Experiment(duration=0.3, network=NETWORK, temperature=((0.0, 300.0), (0.3, 301.0)), noise=False,
                     record=Record(traces=(), neurons=()))
    one, _, a = _updates(exp, 0.3)
    three, _, b = _updates(exp, 0.3, chunks=3)
    np.testing.assert_array_equal(one, three)
    for x, y in zip(a.spikes(), b.spikes()):
        np.testing.assert_array_equal(x, y)
