"""The router congestion study: conservation, closed-form capacity, drops and latency versus load, the command line."""

import numpy as np
import pytest

from mixsig.chip.config import load_chip
from mixsig.cli import main
from mixsig.errors import ConfigError
from mixsig.studies.router import router_study

SMALL = dict(fifo_depths=(4, 64), loads=(0.2, 0.6, 1.0, 2.0), events=2000, burst_size=8)


@pytest.fixture(scope="module")
def results():
    return router_study(**SMALL).results


def test_conservation_and_units(results):
    assert (results["in_flight"] == 0).all()
    np.testing.assert_array_equal(results["emitted"], results["delivered"] + results["dropped"])
    assert (results["dropped"].sel(policy="stall") == 0).all()
    assert all("units" in results[name].attrs and "long_name" in results[name].attrs for name in results.variables)


def test_saturation_rate_is_the_bottleneck_capacity(results):
    # burst: every event passes the source core's encoder, the chip router and core 1's broadcast
    # stage, so lambda_sat = 1/max(s_core, s_chip, s_broadcast); fan-in: chip 0's router and core 0's
    # broadcast stage carry every event, lambda_sat <= 1/max(s_chip, s_broadcast)
    router = load_chip("dynapse1").router
    rate = results["saturation_rate"]
    assert float(rate.sel(pattern="burst")) == pytest.approx(
        1 / max(router[level].service_time for level in ("core", "chip", "broadcast")), rel=1e-12)
    assert float(rate.sel(pattern="fanin")) <= 1 / max(router["chip"].service_time,
                                                       router["broadcast"].service_time) * (1 + 1e-12)
    # below saturation the router delivers what is offered; past it the throughput is capped
    # (stall, burst: the bottleneck serves every event; the first emission to the last arrival
    # includes one path latency, so the measured rate is a little below the cap)
    burst = (results["throughput"] / rate).sel(pattern="burst", policy="stall")
    assert (burst <= 1 + 1e-9).all()
    assert float(burst.sel(offered_load=2.0).min()) > 0.97
    np.testing.assert_allclose(burst.sel(offered_load=0.2), 0.2, rtol=0.1)


def test_drops_only_past_saturation_or_bursts_larger_than_the_fifo(results):
    drop = results["drop_fraction"].sel(policy="drop")
    assert float(drop.sel(fifo_depth=64, offered_load=0.2).max()) == 0.0
    # a burst of B simultaneous events into an idle FIFO of depth K < B loses B - K of them
    assert float(drop.sel(pattern="burst", fifo_depth=4).min()) >= (8 - 4) / 8
    # past saturation a finite buffer loses at least 1 - 1/rho of a long run, less the events
    # the path's FIFOs (encoder and chip router, 2 K places) absorb
    assert float(drop.sel(pattern="burst", fifo_depth=64, offered_load=2.0)) >= 1 - 1 / 2.0 - 2 * 64 / SMALL["events"]
    assert (drop.sel(offered_load=2.0) > 0).all()


def test_latency_grows_with_load(results):
    stall = results["latency_mean"].sel(policy="stall")
    assert (stall.diff("offered_load") > 0).all()
    p99 = results["latency_percentile"].sel(policy="stall", percentile=99.0)
    assert (p99.diff("offered_load") >= 0).all()


def test_command_line_writes_and_refuses(results, tmp_path, capsys):
    out = tmp_path / "router"
    assert main(["study", "router", "-o", str(out), "--patterns", "fanin", "--policies", "drop", "--fifo-depths", "8",
                 "--loads", "0.5,1.5", "--events", "500"]) == 0
    assert (out / "router-results.nc").exists() and (out / "router-fanin-drop-drop.png").exists()
    from mixsig.studies.router import _figures

    class Axes:  # records the title each figure's draw sets (one draw per pattern and figure)
        def __getattr__(self, name):
            return lambda *args, **kwargs: setattr(self, "title", args[0]) if name == "set_title" else None

    drawn = []
    for stem, draw in _figures(results):
        ax = Axes()
        draw(ax)
        drawn.append((stem.split("-")[1], ax.title.split(",")[0]))
    assert drawn and all(stem == title for stem, title in drawn)
    capsys.readouterr()
    assert main(["study", "router", "-o", str(out), "--loads", "-1", "--policies", "hold", "--events", "5"]) == 2
    message = capsys.readouterr().err
    assert "loads" in message and "policies" in message and "events" in message
    assert main(["study", "router", "-o", str(out), "--instances", "2"]) == 2
    assert main(["study", "population", "-o", str(out), "--fifo-depths", "4"]) == 2
    assert main(["study", "router", "-o", str(out), "--chips", "no_such_chip"]) == 2
    with pytest.raises(ConfigError):
        router_study(burst_size=100000)


def test_shortest_latency_is_the_idle_path(results):
    # an event that finds the router idle takes service + latency of its core encoder (with one
    # arbitration delay per level of the tree over 256 neurons: 8), of its chip's router and of the
    # destination core's broadcast stage (both patterns have such events on chip 0, at every load)
    router = load_chip("dynapse1").router
    idle = sum(router[level].service_time + router[level].latency for level in ("core", "chip", "broadcast"))
    idle += 8 * router["core"].arbitration_delay
    np.testing.assert_allclose(results["latency_min"], idle, rtol=1e-9)


def test_largest_encoder_wait(results):
    # the first burst finds the router idle and its B neurons wait at their encoder, which serves
    # them back to back (nothing downstream holds it: the chip router and the broadcast stage serve
    # as fast), so the last starts (B - 1) s_core after the emission; the wait grows past saturation
    s_core = load_chip("dynapse1").router["core"].service_time
    wait = results["encoder_wait_max"].sel(policy="stall")
    assert (wait >= results["encoder_wait_mean"].sel(policy="stall")).all()
    assert float(wait.sel(pattern="burst").min()) >= (SMALL["burst_size"] - 1) * s_core * (1 - 1e-9)
    assert (wait.sel(offered_load=2.0) > wait.sel(offered_load=0.6)).all()
