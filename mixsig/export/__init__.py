"""Runs out to the analysis tools: Neo, NWB, tonic and AEDAT 2.0 (``docs/interop.md``).

* :func:`to_neo` -> :class:`neo.Block` (one Segment per instance, annotated SpikeTrains, one
  Group per population), :func:`write_neo` -> ``*.mat`` / ``*.pkl``;
* :func:`to_nwb` -> an NWB 2 file with a ``Units`` table (ragged spike times), electrodes-free;
* :func:`to_tonic` -> a tonic structured event array ``(t, x, p)`` or ``(t, x, y, p)``,
  :func:`sensor_size` for tonic's transforms;
* :func:`to_aedat` -> one AEDAT 2.0 file per instance, time-sorted, with a descriptive header.

Spike times are the dataset's own float64 seconds in Neo and NWB (bit for bit), ``t * 1e6`` us in
tonic, and rounded microseconds in AEDAT. neo and pynwb come with the ``[interop]`` extra and are
imported only when used; without them the exporters raise a :class:`mixsig.errors.ConfigError`
naming the extra. Modules: :mod:`~mixsig.export.common` (what every exporter reads),
:mod:`~mixsig.export.neo`, :mod:`~mixsig.export.nwb`, :mod:`~mixsig.export.tonic`,
:mod:`~mixsig.export.aedat`, :mod:`~mixsig.export.command` (``mixsig export``).
"""

from mixsig.export.aedat import to_aedat
from mixsig.export.neo import to_neo, write_neo
from mixsig.export.nwb import nwb_file, to_nwb
from mixsig.export.tonic import sensor_size, to_tonic, write_tonic

__all__ = ["nwb_file", "sensor_size", "to_aedat", "to_neo", "to_nwb", "to_tonic", "write_neo", "write_tonic"]
