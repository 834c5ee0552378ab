"""Event cameras (DVS) as chip input: decode DVS128 / DAVIS240 AEDAT 2.0 files and tonic arrays,
and map pixels and polarities onto the channels of an input group.

Address layouts of AEDAT 2.0 files, as jAER decodes them (SensorsINI/jaer)
--------------------------------------------------------------------------
* **DVS128** (128 x 128; ``ch/unizh/ini/jaer/chip/retina/DVS128.java``, ``Extractor``): a 15-bit
  address, polarity in bit 0, x in bits 1-7 (``XMASK = 0xfe``), y in bits 8-14
  (``YMASK = 0x7f00``); jAER mirrors x (``flipx``: ``x = 127 - raw x``) and inverts the type
  (``fliptype``: raw polarity 0 is an ON event). Bit 15 (an external/synthetic event) is dropped.
* **DAVIS240** (240 x 180; ``eu/seebetter/ini/chips/DavisChip.java`` and the DAVIS event
  extractor of ``davis/DavisBaseCamera.java``): bit 31 is the address type (0: DVS, 1: APS or
  IMU sample, dropped); a DVS word with bit 10 set is an external-input event (dropped);
  polarity bit 11 (set: ON), x in bits 12-21 (``XMASK = 1023 << 12``), y in bits 22-30
  (``YMASK = 511 << 22``); jAER mirrors x (``x = sx - 1 - raw x``, ``sx = 240``), y is used as is.

(tonic's own ``read_dvs_128`` takes x from bits 8-14 and y from bits 1-7, unmirrored: the
transpose of jAER's picture. mixsig follows jAER, the recording software.)

tonic arrays (``.npy``, a structured array with fields ``t`` [us], ``x``, ``y``, ``p``; ``y``
may be absent for one-row sensors) are taken as tonic defines them, with the sensor size given.

Mapping onto input channels (:class:`DVSMapping`)
-------------------------------------------------
A region of interest ``roi = [x0, y0, width, height]`` (pixels; default the whole sensor) keeps
the events with ``x0 <= x < x0 + width`` and ``y0 <= y < y0 + height``; ``downsample = d`` pools
``d x d`` pixel blocks into one channel (``w = ceil(width / d)`` by ``h = ceil(height / d)``);
``polarity`` selects ``"both"`` (two channel planes: OFF then ON), ``"on"``, ``"off"`` or
``"merge"`` (one plane, either polarity). Channel of an event:
``c = (plane * h + (y - y0) // d) * w + (x - x0) // d``. Times are the timestamps in s, from the
first event of the file (``time_origin = "first_event"``) or as recorded (``"file"``).
"""

import dataclasses
import io
import math
import os
import pathlib

import numpy as np

from mixsig import paths
from mixsig.aer.aedat import read_aedat
from mixsig.errors import ConfigError, Problem, is_int

CAMERAS = {"dvs128": (128, 128), "davis240": (240, 180)}
"""Sensor size ``(width, height)`` of each AEDAT 2.0 camera layout."""

POLARITIES = ("both", "on", "off", "merge")
TIME_ORIGINS = ("first_event", "file")


@dataclasses.dataclass(frozen=True)
class DVSEvents:
    """Decoded camera events.

    Attributes
    ----------
    t_us : ndarray of int64 or float64, shape (n,)
        Timestamps, us, non-decreasing.
    x, y : ndarray of int64, shape (n,)
        Pixel column and row.
    on : ndarray of bool, shape (n,)
        True for ON (brightness up) events.
    width, height : int
        Sensor size, pixels.
    """

    t_us: np.ndarray
    x: np.ndarray
    y: np.ndarray
    on: np.ndarray
    width: int
    height: int


def decode_dvs128(addresses):
    """DVS128 address words to ``(x, y, on, keep)`` (jAER ``DVS128.Extractor``).

    Parameters
    ----------
    addresses : ndarray of uint32, shape (n,)

    Returns
    -------
    x, y : ndarray of int64, shape (n,)
    on : ndarray of bool, shape (n,)
    keep : ndarray of bool, shape (n,)
        False for words that are not pixel events (bits above 14 set).
    """
    word = np.asarray(addresses).astype(np.int64)
    return 127 - ((word & 0xFE) >> 1), (word & 0x7F00) >> 8, (word & 1) == 0, (word >> 15) == 0


def decode_davis240(addresses):
    """DAVIS240 address words to ``(x, y, on, keep)`` (jAER ``DavisChip`` constants).

    Parameters
    ----------
    addresses : ndarray of uint32, shape (n,)

    Returns
    -------
    x, y : ndarray of int64, shape (n,)
    on : ndarray of bool, shape (n,)
    keep : ndarray of bool, shape (n,)
        False for APS and IMU samples (bit 31) and external-input events (bit 10).
    """
    word = np.asarray(addresses).astype(np.int64)
    keep = ((word >> 31) & 1 == 0) & ((word >> 10) & 1 == 0)
    return CAMERAS["davis240"][0] - 1 - ((word >> 12) & 1023), (word >> 22) & 511, ((word >> 11) & 1) == 1, keep


DECODERS = {"dvs128": decode_dvs128, "davis240": decode_davis240}


def read_camera_aedat(path, camera):
    """Read the pixel events of a DVS128 or DAVIS240 AEDAT 2.0 recording.

    Parameters
    ----------
    path : str or os.PathLike
    camera : {"dvs128", "davis240"}

    Returns
    -------
    DVSEvents
        Pixel events only (other words dropped), timestamps in us as recorded.

    Raises
    ------
    mixsig.errors.ConfigError
        File errors (:func:`mixsig.aer.aedat.read_aedat`), or a pixel outside the sensor.
    """
    addresses, stamps, _ = read_aedat(path)
    x, y, on, keep = DECODERS[camera](addresses)
    width, height = CAMERAS[camera]
    events = DVSEvents(stamps[keep], x[keep], y[keep], on[keep], width, height)
    _check_pixels(events, os.fspath(path), camera)
    return events


def _check_pixels(events, source, what):
    for name, values, limit in (("x", events.x, events.width), ("y", events.y, events.height)):
        bad = (values < 0) | (values >= limit)
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            raise ConfigError([Problem(source, f"event {first}.{name}", int(values[first]),
                                       f"a pixel {name} in [0, {limit - 1}] ({what})")], "DVS events")


def from_tonic(events, sensor_size, source="<tonic events>"):
    """tonic structured events as :class:`DVSEvents`.

    Parameters
    ----------
    events : ndarray
        Structured array with fields ``t`` (us), ``x``, ``p`` and optionally ``y`` (tonic's
        ``events_struct`` or a dataset's dtype); ``p`` > 0 is ON.
    sensor_size : (int, int)
        ``(width, height)`` of the sensor, pixels.
    source : str
        Where the events came from, for messages.

    Returns
    -------
    DVSEvents
        Sorted by time (stable).

    Raises
    ------
    mixsig.errors.ConfigError
        Missing fields, non-finite or negative times, or pixels outside the sensor.
    """
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    missing = [name for name in ("t", "x", "p") if name not in names]
    if missing or np.ndim(events) != 1:
        raise ConfigError([Problem(source, "fields", list(names),
                                   "a 1-D structured array with fields t (us), x, p and optionally y (tonic)")],
                          "tonic events")
    t = np.asarray(events["t"])
    if t.size and not (np.all(np.isfinite(t)) and t.min() >= 0):
        raise ConfigError([Problem(source, "t", "negative or non-finite", "finite times >= 0 us")], "tonic events")
    order = np.argsort(t, kind="stable")
    y = np.asarray(events["y"], dtype=np.int64)[order] if "y" in names else np.zeros(t.size, dtype=np.int64)
    width, height = sensor_size
    decoded = DVSEvents(t[order], np.asarray(events["x"], dtype=np.int64)[order], y,
                        np.asarray(events["p"])[order].astype(np.int64) > 0, int(width), int(height))
    _check_pixels(decoded, source, f"sensor {width} x {height}")
    return decoded


def read_tonic_npy(path, sensor_size):
    """Read a tonic event array saved with :func:`numpy.save` (no pickles).

    Parameters
    ----------
    path : str or os.PathLike
    sensor_size : (int, int)
        ``(width, height)``, pixels.

    Returns
    -------
    DVSEvents
    """
    source = os.fspath(path)
    data = paths.read_bytes(pathlib.Path(source), "tonic .npy", paths.MAX_AEDAT_BYTES)
    try:
        events = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ConfigError([Problem(source, "(file)", type(error).__name__,
                                   "a .npy file of a tonic structured event array")], "tonic events") from None
    return from_tonic(events, sensor_size, source)


@dataclasses.dataclass(frozen=True)
class DVSMapping:
    """How camera pixels and polarities become input channels (module docstring).

    Attributes
    ----------
    polarity : {"both", "on", "off", "merge"}
    downsample : int
        Pixel block side pooled into one channel, >= 1.
    roi : tuple of int or None
        ``(x0, y0, width, height)`` in pixels; None: the whole sensor.
    time_origin : {"first_event", "file"}
    """

    polarity: str = "both"
    downsample: int = 1
    roi: tuple | None = None
    time_origin: str = "first_event"

    def problems(self, source, key, sensor=None):
        """Every problem of the mapping (for a sensor of ``sensor = (width, height)`` when given)."""
        problems = []
        if self.polarity not in POLARITIES:
            problems.append(Problem(source, f"{key}.polarity", self.polarity, f"one of {list(POLARITIES)}"))
        if not is_int(self.downsample) or self.downsample < 1:
            problems.append(Problem(source, f"{key}.downsample", self.downsample, "an integer >= 1 (pixels per block side)"))
        if self.time_origin not in TIME_ORIGINS:
            problems.append(Problem(source, f"{key}.time_origin", self.time_origin, f"one of {list(TIME_ORIGINS)}"))
        if self.roi is not None:
            roi = self.roi
            ok = isinstance(roi, (list, tuple)) and len(roi) == 4 and all(is_int(v) for v in roi) \
                and roi[0] >= 0 and roi[1] >= 0 and roi[2] >= 1 and roi[3] >= 1
            if ok and sensor is not None:
                ok = roi[0] + roi[2] <= sensor[0] and roi[1] + roi[3] <= sensor[1]
            if not ok:
                inside = f" inside the {sensor[0]} x {sensor[1]} sensor" if sensor is not None else ""
                problems.append(Problem(source, f"{key}.roi", roi, f"[x0, y0, width, height], integers, x0, y0 >= 0, "
                                                                   f"width, height >= 1{inside}"))
        return problems

    def _window(self, width, height):
        return tuple(self.roi) if self.roi is not None else (0, 0, width, height)

    def grid(self, width, height):
        """``(planes, rows, columns)`` of channels for a ``width x height`` sensor."""
        _, _, w, h = self._window(width, height)
        return (2 if self.polarity == "both" else 1), math.ceil(h / self.downsample), math.ceil(w / self.downsample)

    def channels(self, width, height):
        """Number of input channels the mapping gives for a ``width x height`` sensor."""
        return math.prod(self.grid(width, height))

    def apply(self, events):
        """The spikes the events drive: times (s) and channels.

        Parameters
        ----------
        events : DVSEvents

        Returns
        -------
        time : ndarray of float64, shape (m,)
            s, from the first event of the recording or as recorded (:attr:`time_origin`).
        channel : ndarray of int64, shape (m,)
            In ``[0, channels(width, height))``.
        """
        x0, y0, w, h = self._window(events.width, events.height)
        _, rows, columns = self.grid(events.width, events.height)
        keep = (events.x >= x0) & (events.x < x0 + w) & (events.y >= y0) & (events.y < y0 + h)
        if self.polarity in ("on", "off"):
            keep &= events.on == (self.polarity == "on")
        plane = events.on.astype(np.int64) if self.polarity == "both" else 0
        channel = (plane * rows + (events.y - y0) // self.downsample) * columns + (events.x - x0) // self.downsample
        origin = events.t_us[0] if (self.time_origin == "first_event" and events.t_us.size) else 0
        return np.asarray(events.t_us[keep] - origin, dtype=np.float64) * 1e-6, channel[keep]


CAMERA_KINDS = (*CAMERAS, "tonic")
"""Values of ``camera`` in a ``dvs`` input table."""

TABLE_KEYS = ("file", "camera", "sensor", "polarity", "downsample", "roi", "time_origin")
"""Keys of a ``dvs`` input table besides ``kind`` and ``size``."""


def _sensor(table, camera, source, key, problems):
    """``(width, height)`` of the table's camera, or None after a problem."""
    sensor = table.get("sensor")
    if camera in CAMERAS:
        if sensor is not None and list(sensor) != list(CAMERAS[camera]):
            problems.append(Problem(source, f"{key}.sensor", sensor, f"{list(CAMERAS[camera])} for {camera}, or no sensor"))
        return CAMERAS[camera]
    if not (isinstance(sensor, list) and len(sensor) == 2 and all(is_int(v) and v >= 1 for v in sensor)):
        problems.append(Problem(source, f"{key}.sensor", sensor, "[width, height] in pixels (required with camera = "
                                                                 "\"tonic\")"))
        return None
    return tuple(sensor)


def input_spike_times(table, path, source, key, duration, max_spikes):
    """The spike times of a ``dvs`` input table of an experiment, channel by channel.

    Parameters
    ----------
    table : dict
        The input table: ``kind = "dvs"``, ``file``, ``camera`` (one of :data:`CAMERA_KINDS`),
        ``sensor`` (``[width, height]``, for ``"tonic"``), ``polarity``, ``downsample``, ``roi``,
        ``time_origin`` (:class:`DVSMapping`) and optionally ``size`` (the channel count, checked).
        The keys of :data:`TABLE_KEYS` are removed from it.
    path : pathlib.Path or None
        The recording (``file`` resolved against the experiment file); None if ``file`` is not a
        string.
    source, key : str
        Experiment file and table key, for problems.
    duration : float
        Run duration, s: later events are dropped.
    max_spikes : int
        Most spikes accepted (within the duration).

    Returns
    -------
    size : int or None
        The channel count (None after a problem).
    times : list of list of float
        Spike times of each channel, s, increasing (empty after a problem).
    problems : list of Problem
    """
    settings = {name: table.pop(name) for name in TABLE_KEYS if name in table}
    problems = []
    camera = settings.get("camera")
    if camera not in CAMERA_KINDS:
        problems.append(Problem(source, f"{key}.camera", camera, f"one of {list(CAMERA_KINDS)}"))
    if path is None:
        problems.append(Problem(source, f"{key}.file", settings.get("file"), "the path of a DVS recording "
                                                                             "(AEDAT 2.0, or .npy of tonic events)"))
    sensor = _sensor(settings, camera, source, key, problems) if camera in CAMERA_KINDS else None
    mapping = DVSMapping(**{name: (tuple(settings[name]) if name == "roi" and isinstance(settings[name], list)
                                   else settings[name])
                            for name in ("polarity", "downsample", "roi", "time_origin") if name in settings})
    problems += mapping.problems(source, key, sensor)
    size = mapping.channels(*sensor) if sensor is not None and not problems else None
    given = table.get("size")
    if size is not None and given is not None and given != size:
        problems.append(Problem(source, f"{key}.size", given, f"{size} channels ({' x '.join(map(str, mapping.grid(*sensor)))}"
                                                              " polarity planes x rows x columns), or no size"))
    if problems:
        return None, [], problems
    try:
        events = read_tonic_npy(path, sensor) if camera == "tonic" else read_camera_aedat(path, camera)
    except ConfigError as error:
        return size, [[] for _ in range(size)], error.problems
    time, channel = mapping.apply(events)
    inside = time <= duration
    time, channel = time[inside], channel[inside]
    if time.size > max_spikes:
        return size, [[] for _ in range(size)], [Problem(os.fspath(path), "(events)", int(time.size),
                                                         f"at most {max_spikes:.0e} events within the run's duration")]
    return size, channel_spike_times(time, channel, size), []


def channel_spike_times(time, channel, size):
    """Spikes ``(time, channel)`` as one list of times per channel (``Network.input(kind="spike_array")``).

    Parameters
    ----------
    time : ndarray of float64, shape (m,)
        Spike times, s, non-decreasing (as :meth:`DVSMapping.apply` returns them).
    channel : ndarray of int64, shape (m,)
        Channels in ``[0, size)``.
    size : int
        Number of channels.

    Returns
    -------
    list of list of float
        ``size`` lists, each increasing.
    """
    order = np.argsort(channel, kind="stable")  # times are sorted: each channel stays sorted
    counts = np.bincount(channel, minlength=size)
    return [part.tolist() for part in np.split(time[order], np.cumsum(counts)[:-1])]
