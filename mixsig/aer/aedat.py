"""AEDAT 2.0 (jAER) event files, and the 32-bit address word of mixsig events.

File format (jAER "AER-DAT2.0")
-------------------------------
* An ASCII header of lines that start with ``#``, each ended by ``\\r\\n`` (``\\n`` accepted on
  read). The first line is the magic ``#!AER-DAT2.0``. mixsig writes a last header line
  ``#End Of ASCII Header``; on read the header ends after that line, or else before the first byte
  that is not ``#`` at the start of a line. (A file without the end line whose first address word
  begins with the byte ``0x23`` = ``#`` is ambiguous in AEDAT 2.0 itself; mixsig always writes
  the end line.)
* Then 8-byte records, big-endian: ``uint32`` address, ``uint32`` timestamp in microseconds.

Timestamps must be non-decreasing: a file whose timestamps go backwards (e.g. a 32-bit wrap after
71.6 minutes, or a concatenation of recordings) is rejected with the first offending record, on
read and on write, because an event stream that drives the chip must be causal.

Address word (mixsig layout)
----------------------------
``address = chip << 20 | core << 16 | neuron``: bits 0-15 the neuron within its core
(< 65536), bits 16-19 the core (< 16), bits 20-31 the chip index ``y * nx + x`` (< 4096).
"""

import os
import pathlib
import tempfile

import numpy as np

from mixsig import paths
from mixsig.errors import ConfigError, Problem

MAGIC = "#!AER-DAT2.0"
"""First header line of an AEDAT 2.0 file."""

END_OF_HEADER = "#End Of ASCII Header"
"""Last header line written by :func:`write_aedat`."""

RECORD = np.dtype([("address", ">u4"), ("timestamp", ">u4")])
"""One AEDAT 2.0 record: big-endian address and timestamp (microseconds)."""

NEURON_BITS, CORE_BITS, CHIP_BITS = 16, 4, 12
"""Widths of the fields of the 32-bit address word."""

UINT32_MAX = 2**32 - 1


def encode_address(chip, core, neuron):
    """Pack ``(chip, core, neuron)`` into 32-bit address words.

    Parameters
    ----------
    chip, core, neuron : array_like of int
        Chip index (< 4096), core on the chip (< 16), neuron within the core (< 65536).

    Returns
    -------
    ndarray of uint32
        ``chip << 20 | core << 16 | neuron``, broadcast shape of the inputs.

    Raises
    ------
    mixsig.errors.ConfigError
        If a field is negative or does not fit its bits.
    """
    fields = {"chip": (chip, CHIP_BITS), "core": (core, CORE_BITS), "neuron": (neuron, NEURON_BITS)}
    problems = []
    arrays = {}
    for name, (value, bits) in fields.items():
        array = np.asarray(value, dtype=np.int64)
        bad = (array < 0) | (array >= (1 << bits))
        if np.any(bad):
            problems.append(Problem("<address>", name, array[bad].reshape(-1)[0].item(),
                                    f"an integer in [0, {(1 << bits) - 1}]"))
        arrays[name] = array
    if problems:
        raise ConfigError(problems, "AER address")
    word = (arrays["chip"] << (CORE_BITS + NEURON_BITS)) | (arrays["core"] << NEURON_BITS) | arrays["neuron"]
    return word.astype(np.uint32)


def decode_address(address):
    """Split 32-bit address words into ``(chip, core, neuron)`` (inverse of :func:`encode_address`).

    Parameters
    ----------
    address : array_like of int
        Address words (uint32).

    Returns
    -------
    chip, core, neuron : ndarray of int64
    """
    word = np.asarray(address).astype(np.int64)
    return (word >> (CORE_BITS + NEURON_BITS), (word >> NEURON_BITS) & ((1 << CORE_BITS) - 1),
            word & ((1 << NEURON_BITS) - 1))


def seconds_to_us(time):
    """Times in s to integer microseconds (rounded to nearest), as int64.

    Parameters
    ----------
    time : array_like, any shape
        Times, s.

    Returns
    -------
    ndarray of int64, same shape
        Timestamps, us.
    """
    return np.rint(np.asarray(time, dtype=np.float64) * 1e6).astype(np.int64)


def us_to_seconds(timestamp):
    """Integer microseconds to times in s (float64).

    Parameters
    ----------
    timestamp : array_like of int, any shape
        Timestamps, us.

    Returns
    -------
    ndarray of float64, same shape
        Times, s.
    """
    return np.asarray(timestamp, dtype=np.int64) * 1e-6


def _first_decrease(timestamps):
    back = np.flatnonzero(np.diff(timestamps) < 0)
    return int(back[0]) + 1 if back.size else None


def read_aedat(path):
    """Read an AEDAT 2.0 file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    addresses : ndarray of uint32, shape (n,)
    timestamps_us : ndarray of int64, shape (n,)
        Timestamps, microseconds, non-decreasing.
    header : list of str
        Header lines without line ends, the magic line first.

    Raises
    ------
    mixsig.errors.ConfigError
        Missing, non-regular or too large file (:data:`mixsig.paths.MAX_AEDAT_BYTES`), missing
        magic line, header line that is not ASCII, truncated last record, or timestamps going
        backwards. Messages never show the file's bytes.
    """
    source = os.fspath(path)
    data = paths.read_bytes(pathlib.Path(source), "AEDAT 2.0", paths.MAX_AEDAT_BYTES)
    header, position = [], 0
    while position < len(data) and data[position:position + 1] == b"#":
        end = data.find(b"\n", position)
        if end < 0:
            raise ConfigError([Problem(source, f"header line {len(header) + 1}", f"{len(data) - position} bytes",
                                       "a header line ended by a line feed")], "AEDAT 2.0 file")
        raw = data[position:end].rstrip(b"\r")
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError as error:
            raise ConfigError([Problem(source, f"header line {len(header) + 1}", f"byte {error.start} of the line",
                                       "an ASCII line")], "AEDAT 2.0 file") from None
        header.append(line)
        position = end + 1
        if line == END_OF_HEADER:
            break
    problems = []
    if not header or header[0].strip() != MAGIC:
        shown = f"another {len(header[0])}-character line" if header else f"{len(data)} bytes without a header"
        problems.append(Problem(source, "header line 1", shown, f"the magic line {MAGIC!r}"))
    body = data[position:]
    if len(body) % RECORD.itemsize:
        problems.append(Problem(source, f"record {len(body) // RECORD.itemsize}",
                                f"{len(body) % RECORD.itemsize} trailing byte(s)",
                                f"whole {RECORD.itemsize}-byte records (address, timestamp); file truncated?"))
    if problems:
        raise ConfigError(problems, "AEDAT 2.0 file")
    records = np.frombuffer(body, dtype=RECORD)
    addresses = records["address"].astype(np.uint32)
    timestamps = records["timestamp"].astype(np.int64)
    back = _first_decrease(timestamps)
    if back is not None:
        raise ConfigError([Problem(source, f"record {back}.timestamp", int(timestamps[back]),
                                   f"a timestamp >= the previous one ({int(timestamps[back - 1])} us)")],
                          "AEDAT 2.0 file")
    return addresses, timestamps, header


def write_aedat(path, addresses, timestamps, header=()):
    """Write an AEDAT 2.0 file atomically (temporary file in the same directory, then rename).

    Parameters
    ----------
    path : str or os.PathLike
    addresses : array_like of int, shape (n,)
        Address words, each in [0, 2**32 - 1].
    timestamps : array_like of int, shape (n,)
        Timestamps in microseconds, non-decreasing, each in [0, 2**32 - 1]
        (convert from seconds with :func:`seconds_to_us`).
    header : sequence of str
        Extra header lines, each starting with ``#`` and without line breaks; the magic line
        and the end-of-header line are added.

    Raises
    ------
    mixsig.errors.ConfigError
        Shapes differ, a value does not fit 32 bits, timestamps go backwards, or a header line
        is invalid. Nothing is written then.
    """
    source = os.fspath(path)
    addresses = np.asarray(addresses)
    timestamps = np.asarray(timestamps)
    problems = []
    for name, values in (("addresses", addresses), ("timestamps", timestamps)):
        if values.ndim != 1 or not (np.issubdtype(values.dtype, np.integer) or values.size == 0):
            problems.append(Problem(source, name, f"{values.dtype} array of shape {values.shape}",
                                    "a 1-D integer array"))
            continue
        wide = values.astype(np.int64) if values.dtype != np.uint64 else values
        bad = (wide < 0) | (wide > UINT32_MAX) if values.dtype != np.uint64 else wide > UINT32_MAX
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            problems.append(Problem(source, f"{name}[{first}]", values[first].item(), f"an integer in [0, {UINT32_MAX}]"))
    if addresses.shape != timestamps.shape:
        problems.append(Problem(source, "timestamps", f"shape {timestamps.shape}", f"the shape of addresses {addresses.shape}"))
    for k, line in enumerate(header):
        if not isinstance(line, str) or not line.startswith("#") or "\n" in line or "\r" in line or not line.isascii():
            problems.append(Problem(source, f"header[{k}]", line, "one ASCII line starting with '#'"))
    if not problems and timestamps.size:
        back = _first_decrease(timestamps.astype(np.int64))
        if back is not None:
            problems.append(Problem(source, f"timestamps[{back}]", timestamps[back].item(),
                                    f"a timestamp >= the previous one ({timestamps[back - 1].item()} us)"))
    if problems:
        raise ConfigError(problems, "AEDAT 2.0 events")
    records = np.empty(addresses.size, dtype=RECORD)
    records["address"] = addresses
    records["timestamp"] = timestamps
    lines = [MAGIC, *[line for line in header if line not in (MAGIC, END_OF_HEADER)], END_OF_HEADER]
    directory = os.path.dirname(os.path.abspath(source))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".aedat-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write("".join(line + "\r\n" for line in lines).encode("ascii"))
            stream.write(records.tobytes())
        os.replace(temporary, source)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_spikes(path, n_cores, neurons_per_core):
    """Read an AEDAT 2.0 file as spikes of global source ids, to drive the chip.

    Parameters
    ----------
    path : str or os.PathLike
    n_cores, neurons_per_core : int
        Geometry for the global id ``g = (chip * n_cores + core) * neurons_per_core + neuron``.

    Returns
    -------
    time : ndarray of float64, shape (n,)
        Spike times, s.
    source : ndarray of int64, shape (n,)
        Global source ids.

    Raises
    ------
    mixsig.errors.ConfigError
        File errors (see :func:`read_aedat`) or an address whose core or neuron does not exist.
    """
    addresses, timestamps, _ = read_aedat(path)
    chip, core, neuron = decode_address(addresses)
    problems = []
    for name, values, limit in (("core", core, n_cores), ("neuron", neuron, neurons_per_core)):
        bad = values >= limit
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            problems.append(Problem(os.fspath(path), f"record {first}.address.{name}", int(values[first]),
                                    f"an integer in [0, {limit - 1}]"))
    if problems:
        raise ConfigError(problems, "AEDAT 2.0 file")
    return us_to_seconds(timestamps), (chip * n_cores + core) * neurons_per_core + neuron


def write_spikes(path, time, source, n_cores, neurons_per_core, header=()):
    """Write spikes of global source ids as an AEDAT 2.0 file (times rounded to 1 us).

    Parameters
    ----------
    path : str or os.PathLike
    time : array_like of float, shape (n,)
        Spike times, s, non-decreasing, in [0, 4294.967295] s.
    source : array_like of int, shape (n,)
        Global source ids, ``(chip * n_cores + core) * neurons_per_core + neuron``.
    n_cores, neurons_per_core : int
    header : sequence of str
        Extra header lines (see :func:`write_aedat`).
    """
    source = np.asarray(source, dtype=np.int64)
    neuron = source % neurons_per_core
    core = (source // neurons_per_core) % n_cores
    chip = source // (neurons_per_core * n_cores)
    write_aedat(path, encode_address(chip, core, neuron), seconds_to_us(time), header=header)
