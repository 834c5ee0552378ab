"""Tests of AEDAT 2.0 read/write and of the 32-bit address word."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixsig.aer.aedat import (MAGIC, decode_address, encode_address, read_aedat, seconds_to_us, us_to_seconds,
                              write_aedat)
from mixsig.errors import ConfigError


def handmade_file(path, header_lines, records, tail=b""):
    """Write an AEDAT 2.0 file with struct, independently of write_aedat."""
    with open(path, "wb") as stream:
        for line in header_lines:
            stream.write(line.encode("ascii") + b"\r\n")
        for address, timestamp in records:
            stream.write(struct.pack(">II", address, timestamp))
        stream.write(tail)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**20)), max_size=50),
       st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20), max_size=3))
def test_round_trip_is_exact(tmp_path_factory, pairs, comments):
    path = tmp_path_factory.mktemp("aedat") / "events.aedat"
    addresses = np.array([p[0] for p in pairs], dtype=np.uint32)
    timestamps = np.cumsum([p[1] for p in pairs]).astype(np.int64)
    header = ["#" + c for c in comments]
    write_aedat(path, addresses, timestamps, header=header)
    got_addresses, got_timestamps, got_header = read_aedat(path)
    np.testing.assert_array_equal(got_addresses, addresses)
    np.testing.assert_array_equal(got_timestamps, timestamps)
    assert got_header[0] == MAGIC and got_header[1:-1] == header
    # the byte layout is the big-endian (address, timestamp) pairs after the header
    data = path.read_bytes()
    body = data[len(data) - 8 * len(pairs):]
    assert body == b"".join(struct.pack(">II", a, t) for a, t in zip(addresses.tolist(), timestamps.tolist()))


def test_reads_a_file_written_independently(tmp_path):
    path = tmp_path / "jaer.aedat"
    handmade_file(path, ["#!AER-DAT2.0", "# This is a raw AE data file", "# Timestamps tick is 1 us"],
                  [(0x00010002, 5), (0xFFFFFFFF, 5), (3, 2**32 - 1)])
    addresses, timestamps, header = read_aedat(path)
    assert addresses.tolist() == [0x00010002, 0xFFFFFFFF, 3]
    assert timestamps.tolist() == [5, 5, 2**32 - 1]
    assert header == ["#!AER-DAT2.0", "# This is a raw AE data file", "# Timestamps tick is 1 us"]


def test_missing_magic_is_an_error(tmp_path):
    path = tmp_path / "bad.aedat"
    handmade_file(path, ["#!AER-DAT3.1"], [(1, 2)])
    with pytest.raises(ConfigError, match="AER-DAT2.0") as info:
        read_aedat(path)
    assert info.value.problems[0].key == "header line 1"
    handmade_file(path, [], [(1, 2)])
    with pytest.raises(ConfigError, match="magic"):
        read_aedat(path)


def test_truncated_record_is_an_error(tmp_path):
    path = tmp_path / "short.aedat"
    handmade_file(path, ["#!AER-DAT2.0", "#End Of ASCII Header"], [(1, 2), (3, 4)], tail=b"\x00\x00\x00")
    with pytest.raises(ConfigError, match="3 trailing byte") as info:
        read_aedat(path)
    assert info.value.problems[0].key == "record 2"
    assert str(path) in str(info.value)


def test_timestamps_going_backwards_are_an_error(tmp_path):
    path = tmp_path / "back.aedat"
    handmade_file(path, ["#!AER-DAT2.0"], [(1, 10), (2, 20), (3, 19)])
    with pytest.raises(ConfigError) as info:
        read_aedat(path)
    assert info.value.problems[0].key == "record 2.timestamp"
    with pytest.raises(ConfigError):
        write_aedat(tmp_path / "out.aedat", [1, 2], [5, 4])
    assert not (tmp_path / "out.aedat").exists()


def test_overflow_on_write_is_an_error(tmp_path):
    path = tmp_path / "out.aedat"
    with pytest.raises(ConfigError) as info:
        write_aedat(path, [2**32, 0], [0, 2**32])
    assert {p.key for p in info.value.problems} == {"addresses[0]", "timestamps[1]"}
    with pytest.raises(ConfigError):
        write_aedat(path, [1], [-1])
    with pytest.raises(ConfigError):
        write_aedat(path, [1], [1], header=["no hash"])
    assert not path.exists()
    assert not list(tmp_path.iterdir())  # no temporary file left behind


def test_address_word_layout():
    word = encode_address(3, 2, 257)
    assert int(word) == (3 << 20) + (2 << 16) + 257
    chip, core, neuron = decode_address(encode_address([0, 4095], [15, 0], [65535, 0]))
    assert chip.tolist() == [0, 4095] and core.tolist() == [15, 0] and neuron.tolist() == [65535, 0]
    with pytest.raises(ConfigError):
        encode_address(4096, 0, 0)
    with pytest.raises(ConfigError):
        encode_address(0, 16, 0)


def test_seconds_microseconds():
    assert seconds_to_us([0.0, 1.5e-6, 2.0]).tolist() == [0, 2, 2_000_000]
    assert us_to_seconds([3]).tolist() == [3e-6]


def test_spikes_round_trip_through_global_ids(tmp_path):
    from mixsig.aer.aedat import read_spikes, write_spikes

    path = tmp_path / "spikes.aedat"
    source = np.array([0, 5, 1023, 4096 + 300, 7 * 1024 + 1])
    time = np.array([0.0, 1e-6, 2.5e-3, 2.5e-3, 1.0])
    write_spikes(path, time, source, n_cores=4, neurons_per_core=256)
    got_time, got_source = read_spikes(path, n_cores=4, neurons_per_core=256)
    np.testing.assert_array_equal(got_source, source)
    np.testing.assert_allclose(got_time, time, atol=1e-12)
    addresses, _, _ = read_aedat(path)
    assert int(addresses[3]) == (4 << 20) | (1 << 16) | 44  # global 4396 = chip 4, core 1, neuron 44
    with pytest.raises(ConfigError, match="core"):
        read_spikes(path, n_cores=2, neurons_per_core=256)
