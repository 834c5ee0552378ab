"""Boards: a grid of identical chips, and the global numbering of chips, cores and neurons.

Chip ``(x, y)`` of an ``nx`` x ``ny`` board has index ``chip = y * nx + x``. Neuron ``n`` of core
``core`` on chip ``chip`` has the global index

.. math:: g = \\text{chip} \\cdot (n_\\text{cores} \\cdot n_\\text{pc}) + \\text{core} \\cdot n_\\text{pc} + n,

with ``n_pc = neurons_per_core``. An event from chip ``(x_s, y_s)`` to chip ``(x_d, y_d)``
travels ``(dx, dy) = (x_d - x_s, y_d - y_s)`` mesh hops; an SRAM destination can only encode
``|dx|, |dy| <= max_hop``.
"""

import dataclasses

import numpy as np

from mixsig.chip.config import ChipConfig


@dataclasses.dataclass(frozen=True)
class Board:
    """A grid of ``nx`` x ``ny`` identical chips.

    Parameters
    ----------
    chip : ChipConfig
    nx, ny : int
        Chips along x and y (default: the chip config's ``[board]`` shape via :meth:`from_chip`).
    """

    chip: ChipConfig
    nx: int = 1
    ny: int = 1

    def __post_init__(self):
        if not isinstance(self.chip, ChipConfig):
            raise TypeError(f"Board needs a ChipConfig, got {type(self.chip).__name__}")
        for name in ("nx", "ny"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Board {name} = {value!r}: expected an integer >= 1")

    @classmethod
    def from_chip(cls, chip):
        """The board described by the chip config's ``[board]`` section.

        Parameters
        ----------
        chip : ChipConfig

        Returns
        -------
        Board
        """
        return cls(chip, *chip.board)

    @property
    def n_chips(self):
        """Number of chips, ``nx * ny``."""
        return self.nx * self.ny

    @property
    def n_neurons(self):
        """Neurons on the board."""
        return self.n_chips * self.chip.neurons_per_chip

    def chip_index(self, x, y):
        """Index of chip ``(x, y)``: ``y * nx + x``.

        Parameters
        ----------
        x, y : int
            Grid position (raises ValueError when off the board).

        Returns
        -------
        int
        """
        if not (0 <= x < self.nx and 0 <= y < self.ny):
            raise ValueError(f"chip ({x}, {y}) is not on the {self.nx} x {self.ny} board")
        return y * self.nx + x

    def chip_xy(self, chip):
        """Grid position ``(x, y)`` of chip index(es) ``chip``.

        Parameters
        ----------
        chip : int or ndarray of int
            Chip indices, any shape.

        Returns
        -------
        x, y : ndarray of int
            Same shape as ``chip``.
        """
        return np.asarray(chip) % self.nx, np.asarray(chip) // self.nx

    def global_neuron(self, chip, core, neuron):
        """Global neuron index ``(chip * n_cores + core) * neurons_per_core + neuron``.

        Parameters
        ----------
        chip, core, neuron : int or ndarray of int
            Chip index, core in the chip, neuron in the core (broadcastable shapes).

        Returns
        -------
        ndarray of int
            Global neuron indices, the broadcast shape.
        """
        npc = self.chip.neurons_per_core
        return (np.asarray(chip) * self.chip.n_cores + np.asarray(core)) * npc + np.asarray(neuron)

    def locate(self, neuron):
        """Split global neuron index(es) into ``(chip, core, neuron-in-core)``.

        Parameters
        ----------
        neuron : int or ndarray of int
            Global neuron indices, any shape.

        Returns
        -------
        chip, core, neuron : ndarray of int
            Same shape as ``neuron``.
        """
        npc = self.chip.neurons_per_core
        neuron = np.asarray(neuron)
        return neuron // self.chip.neurons_per_chip, (neuron // npc) % self.chip.n_cores, neuron % npc

    def hops(self, src_chip, dst_chip):
        """Mesh hops ``(dx, dy)`` from chip index(es) ``src_chip`` to ``dst_chip``.

        Parameters
        ----------
        src_chip, dst_chip : int or ndarray of int
            Chip indices (broadcastable shapes).

        Returns
        -------
        dx, dy : ndarray of int
            Signed hops in x and y, the broadcast shape.
        """
        xs, ys = self.chip_xy(src_chip)
        xd, yd = self.chip_xy(dst_chip)
        return xd - xs, yd - ys
