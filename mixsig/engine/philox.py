"""Counter-based standard normals for the shot noise: Philox4x32-10 and a vectorisable Box-Muller.

A counter-based generator is a keyed bijection of a counter (Salmon et al., "Parallel random
numbers: as easy as 1, 2, 3", SC 2011 [R]): the draw of neuron ``l`` of instance ``i`` at step
``n`` is a pure function of the instance's key and of ``(n, l)``. There is no generator state, so
the draws do not depend on how neurons are split over threads or blocks, how steps are split
into calls, or on how instances are batched (each instance's key comes from its own
``SeedSequence``); and a loop over neurons vectorises (integer multiplies and xors only).

* :func:`philox4x32` is Philox4x32 with 10 rounds, the Random123 reference (multipliers
  ``0xD2511F53``, ``0xCD9E8D57``, Weyl key increments ``0x9E3779B9``, ``0xBB67AE85``); it passes
  the reference's known-answer vectors (``tests/test_philox.py``). Its 32-bit words are held in
  ``uint64`` so that the products are exact.
* Counter of neuron ``l`` at step ``n``, block ``g``: ``(n mod 2^32, n div 2^32, l, g)``; key:
  two 32-bit words of ``SeedSequence(seed, spawn_key=(instance, PURPOSE_NOISE)).generate_state``
  (:func:`instance_keys`).
* Uniforms ``u = (x + 1/2) 2^-32`` in (0, 1) from each 32-bit word (never 0 or 1); normals by
  Box-Muller, ``z = sqrt(-2 ln u1) (cos 2 pi u2, sin 2 pi u2)``, with the polynomial
  :func:`mixsig.engine.vecmath.log` and the quadrant-reduced Taylor ``sin``/``cos`` of
  :func:`_sincos_turns`. The 32-bit uniforms truncate the normal's tails at
  ``sqrt(2 ln 2^33) = 6.66`` standard deviations (probability 2.7e-11 per draw).
"""

import math

import numba
import numpy as np

from mixsig.device.mismatch import PURPOSE_NOISE, instance_seed_sequence
from mixsig.engine import vecmath

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_LOW = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)

ROUNDS = 10
"""Philox rounds (the Random123 default and the one its authors recommend)."""

NORMALS_PER_BLOCK = 4
"""Standard normals from one Philox call (four 32-bit words, two Box-Muller pairs)."""


def instance_keys(seed, instances):
    """Philox keys of the shot noise of chip instances, shape (len(instances), 2), uint64 holding 32-bit words."""
    return np.array([instance_seed_sequence(seed, i, PURPOSE_NOISE).generate_state(2, np.uint32) for i in instances],
                    dtype=np.uint64).reshape(-1, 2)


@numba.njit(cache=True, inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of the counter ``(c0, c1, c2, c3)`` under the key ``(k0, k1)`` (32-bit words in uint64)."""
    for _ in range(ROUNDS):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _SHIFT) ^ c1 ^ k0, p1 & _LOW, (p0 >> _SHIFT) ^ c3 ^ k1, p0 & _LOW
        k0 = (k0 + _W0) & _LOW
        k1 = (k1 + _W1) & _LOW
    return c0, c1, c2, c3


@numba.njit(cache=True, inline="always")
def _uniform(word):
    """``(word + 1/2) 2^-32``: a uniform in (0, 1) from a 32-bit word."""
    return (np.float64(np.int64(word)) + 0.5) * 2.3283064365386963e-10


_SIN = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(1, 8))
"""Taylor coefficients of ``sin x / x - 1`` in powers of ``x^2``: ``-1/3!, 1/5!, ..., -1/15!``."""

_COS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(1, 9))
"""Taylor coefficients of ``cos x - 1`` in powers of ``x^2``: ``-1/2!, 1/4!, ..., 1/16!``."""


@numba.njit(cache=True, inline="always")
def _sincos_turns(u):
    """``(cos 2 pi u, sin 2 pi u)`` for ``u`` in [0, 1], branch-free: quadrant ``q = round(4 u)``,
    ``x = 2 pi (u - q/4)`` in [-pi/4, pi/4] (``u - q/4`` exact), Taylor series to ``x^15`` and
    ``x^16`` (remainders below 5e-17), and the quadrant's swap and signs (``cos(x + q pi/2)``:
    ``c, -s, -c, s``; ``sin``: ``s, c, -s, -c``)."""
    shifted = 4.0 * u + vecmath.ROUNDER
    q = shifted - vecmath.ROUNDER
    x = 2.0 * math.pi * (u - 0.25 * q)
    x2 = x * x
    s = _SIN[6]
    for k in range(5, -1, -1):
        s = s * x2 + _SIN[k]
    s = x + x * x2 * s
    c = _COS[7]
    for k in range(6, -1, -1):
        c = c * x2 + _COS[k]
    c = 1.0 + x2 * c
    quadrant = vecmath.as_bits(shifted) - vecmath.as_bits(vecmath.ROUNDER)
    odd = (quadrant & 1) == 1
    cos_sign = 1.0 - 2.0 * np.float64(((quadrant + 1) >> 1) & 1)
    sin_sign = 1.0 - 2.0 * np.float64((quadrant >> 1) & 1)
    return cos_sign * (s if odd else c), sin_sign * (c if odd else s)


@numba.njit(cache=True, inline="always")
def box_muller(word0, word1):
    """Two independent standard normals from two 32-bit words."""
    r = math.sqrt(-2.0 * vecmath.log(_uniform(word0)))
    cos, sin = _sincos_turns(_uniform(word1))
    return r * cos, r * sin


@numba.njit(cache=True, error_model="numpy")
def _block_normals(normals, n, step, block, k0, k1, first_local):
    """The 4 normals of Philox block ``block`` at ``step`` of ``n`` neurons of one instance (key
    ``(k0, k1)``, local indices ``first_local ..``), into ``normals`` (4, >= n); branch-free."""
    c0, c1, c3 = np.uint64(step) & _LOW, np.uint64(step) >> _SHIFT, np.uint64(block)
    z0, z1, z2, z3 = normals[0], normals[1], normals[2], normals[3]
    for j in range(n):
        w0, w1, w2, w3 = philox4x32(c0, c1, np.uint64(first_local + j), c3, k0, k1)
        z0[j], z1[j] = box_muller(w0, w1)
        z2[j], z3[j] = box_muller(w2, w3)


@numba.njit(cache=True, parallel=True)
def standard_normals(out, rows, first_step, keys, n_neurons, scale):
    """Fill rows ``0 .. rows - 1`` of ``out`` (steps, rows or more, m) with the standard normals of steps
    ``first_step, first_step + 1, ...`` times ``scale``.

    Neuron ``j`` is neuron ``j % n_neurons`` of instance ``j // n_neurons`` (key ``keys[j // n_neurons]``);
    rows ``4 g .. 4 g + 3`` come from Philox block ``g``. Spread over numba's threads by step and
    block of up to 256 neurons of one instance; every value is a function of (key, step, neuron,
    row) alone.
    """
    steps, m = out.shape[0], out.shape[2]
    chunks = (n_neurons + 255) // 256
    instances = m // n_neurons
    for task in numba.prange(steps * instances * chunks):
        step, rest = divmod(np.int64(task), instances * chunks)
        instance, chunk = divmod(rest, chunks)
        first_local = chunk * 256
        n = min(n_neurons - first_local, 256)
        lo = instance * n_neurons + first_local
        normals = np.empty((NORMALS_PER_BLOCK, n))
        for block in range((rows + NORMALS_PER_BLOCK - 1) // NORMALS_PER_BLOCK):
            _block_normals(normals, n, first_step + step, block, keys[instance, 0], keys[instance, 1], first_local)
            first = block * NORMALS_PER_BLOCK
            for r in range(min(NORMALS_PER_BLOCK, rows - first)):
                out[step, first + r, lo:lo + n] = scale * normals[r]
