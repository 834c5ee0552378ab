"""DYNAP-SE2-style coarse/fine bias generator: (coarse, fine) to current, and back.

Model
-----
For polarity ``p`` (``"n"`` or ``"p"``) and coarse value ``c``, the generator is a current-mode
DAC: the current rises linearly with ``fine`` from the ``fine = 0`` floor to the full-scale value,

    I(c, f) = i_min[c] + (i_max[c] - i_min[c]) * f / fine_max,     f = 0 .. fine_max,

which is strictly monotone in ``fine``. Each coarse step scales the full-scale current by about
8. The table (``i_min``, ``i_max`` per coarse and polarity) lives in the calibration file; the
shipped values are those of Rockpool's measured DYNAP-SE2 table
(``rockpool/devices/dynapse/lookup/paramgen.py``, ``paramgen_se2``) at ``fine = 0`` and 255.
The inverse returns the representable current nearest to a requested one (smallest absolute
error over every coarse/fine pair; ties go to the lower coarse value, which has the finer step).
"""

import numpy as np

from mixsig.errors import Problem, raise_if_any

POLARITIES = ("n", "p")


class BiasGenerator:
    """Coarse/fine bias generator of one chip.

    Parameters
    ----------
    tables : mapping of str to mixsig.device.calibration.BiasTable
        One table per polarity (``"n"``, ``"p"``).
    """

    def __init__(self, tables):
        if not tables:
            raise ValueError("a bias generator needs at least one polarity table")
        self.tables = dict(tables)

    @classmethod
    def from_model(cls, model):
        """The bias generator of a device model.

        Parameters
        ----------
        model : DeviceModel or str
            A loaded model, a shipped model name or a path to a calibration file.

        Returns
        -------
        BiasGenerator
        """
        from mixsig.device.calibration import DeviceModel, load_device_model

        if not isinstance(model, DeviceModel):
            model = load_device_model(model)
        if not model.bias_generator:
            raise_if_any([Problem(model.source, "bias_generator", None, "a [bias_generator] table")], "device model")
        return cls(model.bias_generator)

    def _table(self, polarity):
        if polarity not in self.tables:
            raise ValueError(f"polarity {polarity!r}: expected one of {sorted(self.tables)}")
        return self.tables[polarity]

    def n_coarse(self, polarity="n"):
        """Number of coarse values.

        Parameters
        ----------
        polarity : {"n", "p"}
            Transistor type of the table.

        Returns
        -------
        int
        """
        return self._table(polarity).i_max.size

    def fine_max(self, polarity="n"):
        """Largest fine value.

        Parameters
        ----------
        polarity : {"n", "p"}
            Transistor type of the table.

        Returns
        -------
        int
        """
        return self._table(polarity).fine_max

    def step(self, coarse, polarity="n"):
        """Current increment of one fine step at a coarse value.

        Parameters
        ----------
        coarse : int or ndarray of int
            Coarse value(s), any shape.
        polarity : {"n", "p"}
            Transistor type of the table.

        Returns
        -------
        float or ndarray
            ``(i_max - i_min) / fine_max``, A; the shape of ``coarse``.
        """
        table = self._table(polarity)
        coarse = np.asarray(coarse)
        return (table.i_max[coarse] - table.i_min[coarse]) / table.fine_max

    def current(self, coarse, fine, polarity="n"):
        """Bias current of coarse/fine settings (vectorised).

        Parameters
        ----------
        coarse : int or ndarray of int
            0 .. n_coarse - 1.
        fine : int or ndarray of int
            0 .. fine_max.
        polarity : {"n", "p"}

        Returns
        -------
        ndarray
            Current, A, of the broadcast shape of ``coarse`` and ``fine``.
        """
        table = self._table(polarity)
        coarse, fine = np.broadcast_arrays(np.asarray(coarse), np.asarray(fine))
        for name, values, high in (("coarse", coarse, table.i_max.size - 1), ("fine", fine, table.fine_max)):
            if not np.issubdtype(values.dtype, np.integer) or np.any(values < 0) or np.any(values > high):
                raise ValueError(f"{name} must be integers in 0..{high}, got {values.tolist()}")
        return table.i_min[coarse] + (table.i_max[coarse] - table.i_min[coarse]) * fine / table.fine_max

    def coarse_fine(self, current, polarity="n"):
        """Nearest representable coarse/fine setting of a current (vectorised).

        Parameters
        ----------
        current : float or ndarray
            Requested current, A (> 0). Currents outside the generator's range map to its ends.
        polarity : {"n", "p"}

        Returns
        -------
        coarse, fine : ndarray of int
            Of the shape of ``current``.
        """
        table = self._table(polarity)
        current = np.asarray(current, dtype=float)
        if not np.all(np.isfinite(current)) or np.any(current <= 0):
            raise ValueError(f"current must be finite and > 0 A, got {current.tolist()}")
        step = (table.i_max - table.i_min) / table.fine_max
        request = current[..., None]
        fine = np.clip(np.rint((request - table.i_min) / step), 0, table.fine_max)
        error = np.abs(table.i_min + step * fine - request)
        coarse = np.argmin(error, axis=-1)
        fine = np.take_along_axis(fine, coarse[..., None], axis=-1)[..., 0]
        return coarse.astype(np.int64), fine.astype(np.int64)
