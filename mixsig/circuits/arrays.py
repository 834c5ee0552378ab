"""Array helpers shared by the circuits' vectorised ``step`` wrappers."""

import numpy as np


def flat(value, shape):
    """``value`` broadcast to ``shape`` as a contiguous flat float64 array.

    Parameters
    ----------
    value : float or array_like
        Broadcastable to ``shape`` (e.g. a scalar parameter or a per-instance column).
    shape : tuple of int
        Target shape, usually ``(instance, neuron)``.

    Returns
    -------
    ndarray, shape (prod(shape),)
    """
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), shape)).reshape(-1)
