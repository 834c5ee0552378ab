"""Energy per operation: router reception counters, chip-config [energy], dataset energy_* variables."""

import tomllib

import numpy as np
import pytest

import mixsig
from mixsig.aer.energy import OPERATIONS, EnergyParams
from mixsig.aer.events import make_batch
from mixsig.aer.router import LinkParams, Router
from mixsig.chip.config import chip_from_dict
from mixsig.errors import ConfigError
from mixsig.experiment import experiment_from_dict
from tests.malformed import BASE_EXPERIMENT, REPO, base_chip

N_CORES, N_TAGS = 4, 8


def _events(n, seed):
    rng = np.random.default_rng(seed)
    time = np.sort(rng.uniform(0.0, 1e-5, n))
    return make_batch(time, np.arange(n), rng.integers(0, 2, n), rng.integers(0, N_CORES, n),
                      rng.integers(0, 2, n), rng.integers(1, 1 << N_CORES, n), rng.integers(0, N_TAGS, n))


def _expected(events, matches):
    """Broadcasts and CAM matches per (chip, core), event by event."""
    received = np.zeros((2, N_CORES), dtype=np.int64)
    matched = np.zeros((2, N_CORES), dtype=np.int64)
    for dst, mask, tag in zip(events.dst_chip, events.core_mask, events.tag):
        for core in range(N_CORES):
            if mask >> core & 1:
                received[dst, core] += 1
                matched[dst, core] += matches[dst, core, tag]
    return received, matched


@pytest.mark.parametrize("trace", [False, True], ids=["link-by-link pass", "global-time loop"])
def test_router_counts_broadcasts_and_cam_matches_per_destination_core(trace):
    matches = np.random.default_rng(1).integers(0, 5, (2, N_CORES, N_TAGS))
    events = _events(300, seed=2)  # >= LINK_PASS_MIN_EVENTS: the link pass runs unless tracing
    level = LinkParams(latency=1e-8, service_time=2e-8, fifo_depth=4, policy="stall")
    router = Router(2, 1, N_CORES, {"core": level, "chip": level, "mesh": level}, trace=trace)
    router.set_cam_matches(matches, 2)
    router.feed(events, until=5e-6)
    router.drain()
    received, matched = router.receptions()
    expected_received, expected_matched = _expected(events, matches)
    np.testing.assert_array_equal(received, expected_received)
    np.testing.assert_array_equal(matched, expected_matched)


def test_cam_table_of_one_chip_repeats_over_stacked_instances():
    matches = np.arange(N_CORES * N_TAGS).reshape(1, N_CORES, N_TAGS)
    router = Router(1, 2, N_CORES)  # two stacked one-chip instances, as the engine builds them
    router.set_cam_matches(matches, 1)
    router.feed(make_batch([0.0, 1e-6], 0, [0, 1], 0, [0, 1], 0b0100, 3))
    router.drain()
    _, matched = router.receptions()
    assert matched[0, 2] == matched[1, 2] == matches[0, 2, 3]
    with pytest.raises(ValueError, match="expected"):
        router.set_cam_matches(np.zeros((3, N_CORES, N_TAGS)), 3)


def test_energy_section_reports_every_problem():
    data = base_chip()
    data["energy"] = {**data["energy"], "spike": -1.0, "broadcast": "big", "joules": 1.0, "placeholder": 1}
    with pytest.raises(ConfigError) as info:
        chip_from_dict(data, "tiny.toml")
    keys = {problem.key for problem in info.value.problems}
    assert {"energy.spike", "energy.broadcast", "energy.joules", "energy.placeholder"} <= keys
    with pytest.raises(ConfigError):
        EnergyParams(spike=float("nan"))


def test_chip_without_energy_section_has_no_energy_variables():
    data = base_chip()
    del data["energy"]
    assert chip_from_dict(data, "tiny.toml").energy is None


def test_run_energy_is_the_sum_of_operation_counts_times_the_chip_energies():
    exp = experiment_from_dict({**BASE_EXPERIMENT, "duration": 0.1, "connections": BASE_EXPERIMENT["connections"] + [
        {"pre": "q", "post": "p", "rule": "all_to_all", "syn_type": "ampa", "weight_mask": 1}]})  # q fires (DC)
    ds = mixsig.run(exp, progress=False)
    per_op = tomllib.loads((REPO / "chip_configs" / "tiny.toml").read_text())["energy"]
    energy = np.array([per_op[name] for name in OPERATIONS])
    counts = ds["router__energy_operation_count"].values
    assert counts[:, OPERATIONS.index("spike")].sum() == ds.sizes["spike"]
    assert counts[:, OPERATIONS.index("encode")].sum() == ds["router__emitted"].sum() > 0
    np.testing.assert_allclose(ds["router__energy_total"].values, counts @ energy, rtol=1e-13)
    duration = ds.attrs["duration"]
    np.testing.assert_allclose(ds["router__power_total"].values, counts @ energy / duration, rtol=1e-13)
    core = ds["router__energy_core"]
    assert core.dims == ("instance", "board_core")
    shared = counts[:, [OPERATIONS.index("route_chip"), OPERATIONS.index("route_mesh")]] @ energy[[2, 3]]
    np.testing.assert_allclose(core.values.sum(axis=1), counts @ energy - shared, rtol=1e-13)
    for name in ("energy_total", "power_total", "energy_core", "power_core", "energy_operation",
                 "energy_per_operation", "energy_operation_count"):
        assert ds[f"router__{name}"].attrs["units"] and ds[f"router__{name}"].attrs["long_name"]
    assert ds["router__energy_per_operation"].attrs["placeholder"] == 1
