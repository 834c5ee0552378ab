"""Event-camera input: DVS128 / DAVIS240 AEDAT 2.0 decoding (jAER layouts), tonic arrays, and the
mapping of pixels and polarities onto chip input channels.

Expected addresses are packed here from jAER's extractor constants (SensorsINI/jaer: DVS128.java
``XMASK = 0xfe``, ``YMASK = 0x7f00``, flipx, fliptype; DavisChip.java ``XSHIFT = 12``,
``YSHIFT = 22``, ``POLSHIFT = 11``, x mirrored by the DAVIS extractor), and expected channels come
from a reference loop over the events, or from tonic's own transforms.
"""

import numpy as np
import pytest

from malformed import BASE_EXPERIMENT, dumps, mutate, write
from mixsig.aer import dvs
from mixsig.aer.aedat import write_aedat
from mixsig.errors import ConfigError
from mixsig.experiment import load_experiment

tonic = pytest.importorskip("tonic")


def dvs128_word(x, y, on):
    """jAER DVS128: x mirrored into bits 1-7, y in bits 8-14, raw polarity 0 = ON."""
    return (y << 8) | ((127 - x) << 1) | (0 if on else 1)


def davis240_word(x, y, on):
    """jAER DAVIS240: y in bits 22-30, mirrored x in bits 12-21, ON = bit 11."""
    return (y << 22) | ((239 - x) << 12) | ((1 if on else 0) << 11)


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(4)
    n = 400
    return {"x": rng.integers(0, 128, n), "y": rng.integers(0, 128, n), "on": rng.random(n) < 0.5,
            "t": np.sort(rng.integers(5_000, 60_000, n))}


def test_dvs128_and_davis240_words_decode_as_jaer_does():
    words = np.array([dvs128_word(5, 100, True), dvs128_word(127, 0, False), 1 << 15], dtype=np.uint32)
    x, y, on, keep = dvs.decode_dvs128(words)
    assert (x[:2].tolist(), y[:2].tolist(), on[:2].tolist(), keep.tolist()) == ([5, 127], [100, 0], [True, False],
                                                                                 [True, True, False])
    words = np.array([davis240_word(3, 179, True), davis240_word(239, 7, False), 1 << 31 | 5,
                      davis240_word(1, 1, True) | 1 << 10], dtype=np.uint32)
    x, y, on, keep = dvs.decode_davis240(words)
    assert (x[:2].tolist(), y[:2].tolist(), on[:2].tolist(), keep.tolist()) == ([3, 239], [179, 7], [True, False],
                                                                                 [True, True, False, False])


def reference_channels(events, polarity, downsample, roi):
    """Channel of every kept event, by the documented formula, one event at a time."""
    x0, y0, width, height = roi
    rows, columns = -(-height // downsample), -(-width // downsample)
    out = []
    for t, x, y, on in zip(events["t"], events["x"], events["y"], events["on"]):
        if not (x0 <= x < x0 + width and y0 <= y < y0 + height):
            continue
        if (polarity == "on" and not on) or (polarity == "off" and on):
            continue
        plane = int(on) if polarity == "both" else 0
        out.append(((t - events["t"][0]) * 1e-6, (plane * rows + (y - y0) // downsample) * columns + (x - x0) // downsample))
    return out


@pytest.mark.parametrize("polarity, downsample, roi", [("both", 1, (0, 0, 128, 128)), ("on", 4, (16, 8, 70, 90)),
                                                       ("merge", 16, (0, 0, 128, 128)), ("off", 3, (100, 100, 28, 28))])
def test_dvs128_recording_drives_the_mapped_channels(tmp_path, events, polarity, downsample, roi):
    words = [dvs128_word(x, y, on) for x, y, on in zip(events["x"], events["y"], events["on"])]
    write_aedat(tmp_path / "rec.aedat", np.array(words, dtype=np.uint32), events["t"])
    table = {"kind": "dvs", "file": "rec.aedat", "camera": "dvs128", "polarity": polarity, "downsample": downsample,
             "roi": list(roi)}
    exp = mutate(BASE_EXPERIMENT, {"duration": 1.0, "inputs.x": table,
                                   "connections": [{"pre": "x", "post": "p", "rule": "all_to_all", "syn_type": "ampa",
                                                    "weight_mask": 1}]})
    network = load_experiment(write(tmp_path / "exp.toml", dumps(exp))).build_network()
    group = network.inputs["x"]
    planes = 2 if polarity == "both" else 1
    assert group.size == planes * -(-roi[3] // downsample) * -(-roi[2] // downsample)
    got = sorted((t, c) for c, times in enumerate(group.spike_times) for t in times)
    assert got == sorted(reference_channels(events, polarity, downsample, roi))


def test_davis240_recording_drops_aps_imu_and_external_words(tmp_path):
    words = [davis240_word(239, 179, True), 1 << 31 | 77, davis240_word(0, 0, False) | 1 << 10, davis240_word(0, 0, False)]
    write_aedat(tmp_path / "davis.aedat", np.array(words, dtype=np.uint32), np.array([10, 20, 30, 40]))
    decoded = dvs.read_camera_aedat(tmp_path / "davis.aedat", "davis240")
    assert (decoded.x.tolist(), decoded.y.tolist(), decoded.on.tolist(), decoded.t_us.tolist()) == \
        ([239, 0], [179, 0], [True, False], [10, 40])
    time, channel = dvs.DVSMapping(polarity="both", downsample=10).apply(decoded)
    np.testing.assert_array_equal(time, [0.0, 30 * 1e-6])  # us * 1e-6, as mixsig.aer.aedat.us_to_seconds
    assert channel.tolist() == [(1 * 18 + 17) * 24 + 23, 0]


def test_tonic_arrays_map_like_tonic_downsample_and_to_frame(tmp_path, events):
    array = tonic.io.make_structured_array(events["x"], events["y"], events["t"], events["on"],
                                           dtype=tonic.io.events_struct)  # tonic's own (x, y, t, p) dtype
    np.save(tmp_path / "ev.npy", array)
    decoded = dvs.read_tonic_npy(tmp_path / "ev.npy", (128, 128))
    time, channel = dvs.DVSMapping(polarity="both", downsample=4, time_origin="file").apply(decoded)
    np.testing.assert_array_equal(time, events["t"] * 1e-6)
    small = tonic.transforms.Downsample(spatial_factor=0.25)(array.copy())
    frames = tonic.transforms.ToFrame(sensor_size=(32, 32, 2), time_window=1e9, include_incomplete=True)(small)
    np.testing.assert_array_equal(np.bincount(channel, minlength=2 * 32 * 32), frames.sum(axis=0).ravel())


BAD_TABLES = [
    ({"camera": "atis"}, "inputs.x.camera"),
    ({"polarity": "up"}, "inputs.x.polarity"),
    ({"downsample": 0}, "inputs.x.downsample"),
    ({"downsample": 1.5}, "inputs.x.downsample"),
    ({"roi": [100, 0, 40, 10]}, "inputs.x.roi"),
    ({"roi": [0, 0, 10]}, "inputs.x.roi"),
    ({"time_origin": "midnight"}, "inputs.x.time_origin"),
    ({"size": 3}, "inputs.x.size"),
    ({"camera": "tonic"}, "inputs.x.sensor"),
    ({"sensor": [64, 64]}, "inputs.x.sensor"),
    ({"file": 3}, "inputs.x.file"),
]


@pytest.mark.parametrize("change, key", BAD_TABLES, ids=[key + "=" + str(list(c.values())[0]) for c, key in BAD_TABLES])
def test_bad_dvs_tables_are_refused_at_the_boundary(tmp_path, change, key):
    write_aedat(tmp_path / "rec.aedat", np.array([dvs128_word(1, 1, True)], dtype=np.uint32), np.array([0]))
    table = {"kind": "dvs", "file": "rec.aedat", "camera": "dvs128", **change}
    exp = mutate(BASE_EXPERIMENT, {"inputs.x": table})
    with pytest.raises(ConfigError) as error:
        load_experiment(write(tmp_path / "exp.toml", dumps(exp))).build_network()
    assert key in {problem.key for problem in error.value.problems}


def test_all_problems_of_a_table_come_together(tmp_path):
    table = {"kind": "dvs", "file": "missing.aedat", "camera": "dvs128", "polarity": "up", "downsample": 0,
             "roi": [0, 0, 500, 1]}
    exp = mutate(BASE_EXPERIMENT, {"inputs.x": table})
    with pytest.raises(ConfigError) as error:
        load_experiment(write(tmp_path / "exp.toml", dumps(exp))).build_network()
    keys = {problem.key for problem in error.value.problems}
    assert {"inputs.x.polarity", "inputs.x.downsample", "inputs.x.roi"} <= keys


def test_a_dvs128_file_as_plain_aedat_is_still_refused_but_drives_a_dvs_input(tmp_path):
    write_aedat(tmp_path / "rec.aedat", np.array([dvs128_word(9, 9, True)], dtype=np.uint32), np.array([0]))
    plain = mutate(BASE_EXPERIMENT, {"inputs.x": {"kind": "aedat", "file": "rec.aedat", "size": 2}})
    with pytest.raises(ConfigError, match="channel addresses below 2"):
        load_experiment(write(tmp_path / "a.toml", dumps(plain))).build_network()
    camera = mutate(BASE_EXPERIMENT, {"inputs.x": {"kind": "dvs", "file": "rec.aedat", "camera": "dvs128",
                                                   "downsample": 64, "polarity": "merge", "roi": [0, 0, 128, 64]}})
    group = load_experiment(write(tmp_path / "b.toml", dumps(camera))).build_network().inputs["x"]
    assert group.size == 2 and [len(times) for times in group.spike_times] == [1, 0]  # pixel (9, 9): the left block
