"""Weight and bias quantisation: target currents onto a core's mask ladder and the bias generator.

Weights. A CAM entry of a DYNAP-SE2 core (scheme ``"mask"``) selects with its ``bits``-bit mask
``m`` a sum of the core's weight currents, ``I_w = sum_b m_b c_b``; on DYNAP-SE1 (``"per_type"``,
1 bit) an entry connects with its type's current or not at all. :func:`fit_ladder` chooses the
currents ``c`` of one core and the mask of every synapse to minimise the squared current error

.. math:: E(c, m) = \\sum_k (t_k - B(m_k)\\, c)^2,

``B(m)`` the bit vector of mask ``m``, mask 0 meaning "no synapse". The exact minimum is a mixed
integer problem; it is approached by alternating its two exact sub-problems (Lloyd's algorithm):
for fixed ``c`` each synapse takes its nearest level (optimal), for fixed masks ``c`` is the
non-negative least-squares solution (``scipy.optimize.nnls``, optimal). Each pass lowers ``E``, so
the iteration stops at a fixed point; it starts from the binary ladder ``c_b = 2^b t_max /
(2^bits - 1)``, which already places the largest target on the top level.

Biases. Every current is finally set by the coarse/fine bias generator of the chip's device model
(:class:`mixsig.device.biasgen.BiasGenerator`): :func:`bias_currents` returns the nearest
representable currents.
"""

import numpy as np
from scipy.optimize import nnls

MAX_PASSES = 50
"""Most alternating passes of :func:`fit_ladder` (it usually stops after a few)."""


def mask_bits(bits):
    """Bit vectors of every mask: shape ``(2**bits, bits)`` of 0/1 floats, row ``m`` = bits of ``m``."""
    masks = np.arange(2 ** bits)
    return ((masks[:, None] >> np.arange(bits)) & 1).astype(float)


def nearest_masks(targets, currents):
    """Mask (0 .. 2**bits - 1) whose summed current is nearest to each target.

    Parameters
    ----------
    targets : ndarray, shape (n,)
        Target currents, A (>= 0).
    currents : ndarray, shape (bits,)
        Current of each mask bit, A.

    Returns
    -------
    ndarray of int, shape (n,)
        Ties go to the smaller mask index.
    """
    levels = mask_bits(len(currents)) @ np.asarray(currents, dtype=float)
    return np.argmin(np.abs(np.asarray(targets, dtype=float)[:, None] - levels[None, :]), axis=1)


def fit_ladder(targets, bits, snap=None):
    """Least-squares weight currents of one core and the mask of every synapse.

    Parameters
    ----------
    targets : ndarray, shape (n,)
        Target weight currents, A (> 0).
    bits : int
        Bits of a mask.
    snap : callable, optional
        ``snap(currents) -> currents``: the currents the hardware can realise (the bias
        generator); applied to the fitted currents, after which the masks are chosen again.

    Returns
    -------
    currents : ndarray, shape (bits,)
        Current of each bit, A (a bit no synapse uses keeps its binary-ladder value).
    masks : ndarray of int, shape (n,)
        0 (synapse dropped: nearer to 0 than to any level) .. ``2**bits - 1``.
    """
    targets = np.asarray(targets, dtype=float)
    currents = 2.0 ** np.arange(bits) * targets.max() / (2 ** bits - 1)
    table = mask_bits(bits)
    masks = nearest_masks(targets, currents)
    for _ in range(MAX_PASSES):
        used = masks > 0
        fitted, _ = nnls(table[masks[used]], targets[used])
        unused = table[masks[used]].sum(axis=0) == 0
        fitted[unused] = currents[unused]
        refit = nearest_masks(targets, fitted)
        if np.array_equal(refit, masks) and np.allclose(fitted, currents, rtol=1e-12, atol=0):
            currents = fitted
            break
        currents, masks = fitted, refit
    if snap is not None:
        currents = snap(currents)
        masks = nearest_masks(targets, currents)
    return currents, masks


def bias_currents(generator, currents):
    """Nearest currents the bias generator can produce (N-type table).

    Parameters
    ----------
    generator : mixsig.device.biasgen.BiasGenerator
    currents : float or ndarray
        Requested currents, A (> 0).

    Returns
    -------
    ndarray
        Realised currents, A, the shape of ``currents``.
    """
    coarse, fine = generator.coarse_fine(currents, "n")
    return generator.current(coarse, fine, "n")
