"""Resistive crossbar synapse array: differential conductance pairs read by Ohm's and Kirchhoff's laws.

A weight matrix ``W`` (rows = inputs, columns = outputs) is stored as two conductance arrays
``G+`` and ``G-`` (one differential pair per weight, as in Joshi et al. 2020 Nat. Commun. 11:2473,
"each synaptic weight is programmed on two PCM devices organized in a differential
configuration" [R]). Mapping: a positive weight is written on ``G+`` and a negative one on
``G-``, the other device of the pair stays at ``g_min``::

    G_T = g_min + |w| / w_max (g_max - g_min),  quantised to ``levels`` equally spaced values

Read (one matrix-vector product): the DAC turns each input ``x_i`` in [-1, 1] into a row voltage
``V_i = v_read q_dac(x_i)`` (``dac_bits`` signed levels, DAC = digital-to-analog converter); each
column sums its devices' currents (Kirchhoff) at a virtual ground and the pair's difference is
the output current::

    I_j = sum_i V_i (G+_ij - G-_ij)                      (ideal wires)

With a wire resistance ``r_wire`` per segment (``> 0``), the row and column lines are resistor
ladders (rows driven at column 0, columns sensed at the last row), and the node voltages solve the
linear nodal equations of the whole array (:func:`nodal_read`; IR drop). The ADC
(analog-to-digital converter) quantises ``I_j`` to ``adc_bits`` signed levels over ``±i_fs``
(clipping beyond), the full scale the periphery was set to when the array was programmed.

The array's conductances come from :mod:`mixsig.device.crossbar` (programming with variability
and noise, drift, read noise, faults): this module is pure and draws no random numbers.
"""

import dataclasses

import numpy as np

from mixsig.errors import is_finite, is_int
from mixsig.params import parameter

SOLVE_BLOCK = 4
"""Right-hand sides per SuperLU solve in :func:`nodal_read` (64 x 512 array: 1.2 s for 64 inputs in
blocks of 4, 7.7 s in one block)."""


@dataclasses.dataclass(frozen=True)
class CrossbarParams:
    """Periphery and geometry of a crossbar array.

    Defaults: ``g_max = 25 uS`` (Joshi et al. 2020, the PCM conductance range mapped to the largest
    weight; aihwkit ``PCMLikeNoiseModel``) [R]; ``v_read = 0.2 V`` [asm: PCM is read well below its
    ~1 V threshold switching]; 8-bit ADC and DAC [asm: the 8-bit ADC / 6-8 bit DAC of the IBM
    inference tiles' configuration examples].
    """

    g_min: float = parameter(0.0, "S", "lowest programmable conductance (the off device of a pair)")
    g_max: float = parameter(25e-6, "S", "highest programmable conductance")
    levels: int = parameter(256, "1", "number of programmable conductance levels between g_min and g_max")
    v_read: float = parameter(0.2, "V", "read voltage of a full-scale input")
    r_wire: float = parameter(0.0, "ohm", "wire resistance per crosspoint segment of rows and columns (0: ideal)")
    dac_bits: int = parameter(8, "bit", "input DAC resolution (signed)")
    adc_bits: int = parameter(8, "bit", "output ADC resolution (signed)")

    def problems(self):
        """Field problems as ``(field, value, expected)`` tuples (empty when valid).

        Returns
        -------
        list of tuple
        """
        found = []
        if not is_finite(self.g_min) or self.g_min < 0:
            found.append(("g_min", self.g_min, "a conductance >= 0 S"))
        if not is_finite(self.g_max) or self.g_max <= 0:
            found.append(("g_max", self.g_max, "a conductance > 0 S"))
        elif is_finite(self.g_min) and self.g_min >= self.g_max:
            found.append(("g_max", self.g_max, f"above g_min = {self.g_min!r} S (range not inverted)"))
        if not is_int(self.levels) or self.levels < 2:
            found.append(("levels", self.levels, "an integer >= 2"))
        if not is_finite(self.v_read) or self.v_read <= 0:
            found.append(("v_read", self.v_read, "a voltage > 0 V"))
        if not is_finite(self.r_wire) or self.r_wire < 0:
            found.append(("r_wire", self.r_wire, "a resistance >= 0 ohm"))
        for name in ("dac_bits", "adc_bits"):
            value = getattr(self, name)
            if not is_int(value) or not 1 <= value <= 32:
                found.append((name, value, "an integer in 1..32"))
        return found

    def __post_init__(self):
        found = self.problems()
        if found:
            raise ValueError("invalid CrossbarParams: " + "; ".join(f"{n} = {v!r} (expected {e})" for n, v, e in found))


def quantise(value, bits, full_scale=1.0):
    """Signed uniform quantiser: ``2^(bits-1) - 1`` levels each side of 0, clipping at ``±full_scale``.

    Parameters
    ----------
    value : array_like
    bits : int
    full_scale : float or array_like

    Returns
    -------
    ndarray
    """
    steps = 2 ** (bits - 1) - 1 if bits > 1 else 1
    scale = np.asarray(full_scale, dtype=float)
    return np.clip(np.rint(np.asarray(value, dtype=float) / scale * steps), -steps, steps) * scale / steps


def target_conductances(weights, params, w_max=None):
    """Target conductances of the differential pairs storing ``weights``.

    Parameters
    ----------
    weights : ndarray, shape (rows, columns)
    params : CrossbarParams
    w_max : float, optional
        Weight mapped to ``g_max`` (default the largest ``|w|``; a zero matrix maps to ``g_min``).

    Returns
    -------
    g_plus, g_minus : ndarray, shape (rows, columns)
        S, on the ``levels`` grid.
    scale : float
        Weight per siemens, ``w_max / (g_max - g_min)``: ``W = scale (G+ - G-)``.
    """
    weights = np.asarray(weights, dtype=float)
    w_max = float(np.max(np.abs(weights), initial=0.0)) if w_max is None else float(w_max)
    span = params.g_max - params.g_min
    if w_max <= 0:
        zero = np.full(weights.shape, params.g_min)
        return zero, zero.copy(), 1.0 / span
    level = np.rint(np.clip(np.abs(weights) / w_max, 0.0, 1.0) * (params.levels - 1))
    g = params.g_min + level / (params.levels - 1) * span
    g_plus = np.where(weights > 0, g, params.g_min)
    g_minus = np.where(weights < 0, g, params.g_min)
    return g_plus, g_minus, w_max / span


def full_scale_current(g_plus, g_minus, params):
    """ADC full scale set at programming: the largest column current a full-scale input can give, A.

    ``v_read max_j sum_i |G+_ij - G-_ij|`` of the target conductances (every input at ±1 with the
    sign of its weight), at least one ``g_max`` device.
    """
    worst = np.max(np.sum(np.abs(np.asarray(g_plus) - np.asarray(g_minus)), axis=-2), axis=-1, initial=0.0)
    return params.v_read * np.maximum(worst, params.g_max)


def row_voltages(x, params):
    """DAC: inputs in [-1, 1] to row voltages, V (same shape as ``x``)."""
    return params.v_read * quantise(x, params.dac_bits)


def ideal_read(g_plus, g_minus, voltages):
    """Column currents with ideal wires, ``I = V (G+ - G-)``.

    Parameters
    ----------
    g_plus, g_minus : ndarray, shape (..., rows, columns)
        S.
    voltages : ndarray, shape (..., samples, rows)
        V.

    Returns
    -------
    ndarray, shape (..., samples, columns)
        A.
    """
    return voltages @ (g_plus - g_minus)


def nodal_matrix(g, r_wire):
    """Sparse nodal conductance matrix of one array with wire resistance (see :func:`nodal_read`).

    Parameters
    ----------
    g : ndarray, shape (rows, columns)
        Device conductances, S.
    r_wire : float
        Wire resistance per segment, ohm (> 0).

    Returns
    -------
    scipy.sparse.csc_matrix, shape (2 rows columns, 2 rows columns)
        Unknowns: row-line node voltages (row-major), then column-line node voltages.
    """
    import scipy.sparse  # here, not at import: 0.15 CPU-s of every run that builds no crossbar

    rows, cols = g.shape
    n = rows * cols
    gw = 1.0 / r_wire
    index = np.arange(n).reshape(rows, cols)
    r_idx, c_idx = index, index + n
    diag = np.zeros(2 * n)
    i_list, j_list, v_list = [], [], []

    def couple(a, b, value):
        i_list.extend([a, b])
        j_list.extend([b, a])
        v_list.extend([-value, -value])

    g_flat = g.reshape(-1)
    diag[:n] += g_flat
    diag[n:] += g_flat
    couple(r_idx.reshape(-1), c_idx.reshape(-1), g_flat)
    # row lines: driver -- (r) -- node (i, 0) -- (r) -- node (i, 1) ...
    diag[r_idx[:, 0]] += gw
    left, right = r_idx[:, :-1].reshape(-1), r_idx[:, 1:].reshape(-1)
    diag[left] += gw
    diag[right] += gw
    couple(left, right, np.full(left.size, gw))
    # column lines: node (0, j) ... node (rows-1, j) -- (r) -- virtual ground
    diag[c_idx[-1, :]] += gw
    up, down = c_idx[:-1, :].reshape(-1), c_idx[1:, :].reshape(-1)
    diag[up] += gw
    diag[down] += gw
    couple(up, down, np.full(up.size, gw))
    i_all = np.concatenate([np.arange(2 * n)] + [np.asarray(a, dtype=np.int64).reshape(-1) for a in i_list])
    j_all = np.concatenate([np.arange(2 * n)] + [np.asarray(a, dtype=np.int64).reshape(-1) for a in j_list])
    v_all = np.concatenate([diag] + [np.asarray(a, dtype=float).reshape(-1) for a in v_list])
    return scipy.sparse.csc_matrix((v_all, (i_all, j_all)), shape=(2 * n, 2 * n))


def nodal_read(g, voltages, r_wire):
    """Column currents of one array with wire resistance, from its nodal equations (IR drop).

    Row ``i`` is driven at ``voltages[i]`` through one wire segment before its first crosspoint;
    column ``j`` is held at 0 V (the sense amplifier's virtual ground) one segment after its last
    crosspoint. Kirchhoff's current law at every row and column node gives a sparse linear system,
    factorised once and solved for every input vector.

    Parameters
    ----------
    g : ndarray, shape (rows, columns)
        Device conductances, S.
    voltages : ndarray, shape (samples, rows)
        V.
    r_wire : float
        Ohm, > 0.

    Returns
    -------
    ndarray, shape (samples, columns)
        Current into each column's virtual ground, A.
    """
    import scipy.sparse.linalg

    rows, cols = g.shape
    n = rows * cols
    # the matrix is symmetric: minimum degree on A^T + A fills in about half of COLAMD's factor
    solve = scipy.sparse.linalg.splu(nodal_matrix(g, r_wire), permc_spec="MMD_AT_PLUS_A").solve
    rhs = np.zeros((2 * n, voltages.shape[0]), order="F")
    rhs[np.arange(rows) * cols, :] = np.asarray(voltages, dtype=float).T / r_wire
    sense = n + (rows - 1) * cols + np.arange(cols)
    # SuperLU solves a few right-hand sides at a time much faster than many (64 at once: 6x slower)
    nodes = np.concatenate([solve(rhs[:, k:k + SOLVE_BLOCK])[sense] for k in range(0, rhs.shape[1], SOLVE_BLOCK)]
                           or [np.zeros((cols, 0))], axis=1)
    return (nodes / r_wire).T


def read(g_plus, g_minus, x, params, i_fs):
    """One crossbar read: DAC, Kirchhoff summation (with IR drop if ``r_wire > 0``), ADC.

    Parameters
    ----------
    g_plus, g_minus : ndarray, shape (rows, columns)
        Device conductances at the time of the read, S.
    x : ndarray, shape (samples, rows)
        Inputs in [-1, 1].
    params : CrossbarParams
    i_fs : float
        ADC full scale, A (:func:`full_scale_current`).

    Returns
    -------
    ndarray, shape (samples, columns)
        Digitised output currents, A.
    """
    voltages = row_voltages(np.atleast_2d(x), params)
    if params.r_wire > 0:
        both = np.stack([g_plus, g_minus], axis=-1).reshape(g_plus.shape[0], -1)  # columns j+, j- interleaved
        current = nodal_read(both, voltages, params.r_wire)
        current = current[:, 0::2] - current[:, 1::2]
    else:
        current = ideal_read(g_plus, g_minus, voltages)
    return quantise(current, params.adc_bits, i_fs)
