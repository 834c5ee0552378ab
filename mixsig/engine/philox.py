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
* Counter of row ``r`` of neuron ``l`` at step ``n``: the neurons come in chunks of :data:`CHUNK` (256);
  Philox block ``q`` of a chunk's row gives its neurons ``q``, ``q + 64``, ``q + 128`` and ``q + 192``
  (its four words, in that order), so the counter is ``(n mod 2^32, n div 2^32, (l div 256) 64 +
  l mod 64, r)`` and neuron ``l`` takes word ``(l mod 256) div 64``. One Philox call gives four
  neurons' draws of one row: the engine's five rows (four DPIs and the soma) cost 1.25 calls per
  neuron-step, not two (the former counter ``(n, l, block)`` gave four rows of one neuron and left three
  of the second block's four words unused). Key: two 32-bit words of
  ``SeedSequence(seed, spawn_key=(instance, PURPOSE_NOISE)).generate_state`` (:func:`instance_keys`).
* Uniforms ``u = (x + 1/2) 2^-32`` from each 32-bit word ``x`` in float32 (``x`` rounded to 24
  significant bits: ``u`` in ``[2^-33, 1]``); normals by Box-Muller, ``z = sqrt(-2 ln u1) (cos 2 pi u2,
  sin 2 pi u2)``, in float32 (16 lanes per AVX-512 vector) with :func:`mixsig.engine.vecmath.log32` and
  the quadrant-reduced Taylor ``sin``/``cos`` of :func:`sincos_turns32`. Error budget
  (``tests/test_philox.py::test_normals_follow_the_documented_counter_rule``, against float64 numpy
  Box-Muller of the same words): within 1e-6 absolute (median 8e-8 relative), except where ``u1``
  rounds to within a float32 ulp of 1 (probability 2^-24), where the small radius moves by at most
  ``sqrt(2^-23) = 3.5e-4``. The draws scale a shot-noise current whose magnitude is uncertain at the
  percent level (the excess-noise factor of the calibration [asm]), four orders of magnitude above
  this rounding. The smallest ``u1`` truncates the normal's tails at ``sqrt(2 ln 2^33) = 6.76`` standard
  deviations (probability 1.3e-11 per draw).

Change note (issue 15): the counter layout and the float32 Box-Muller changed every noisy result once
(same statistics, other draws); 2.6x cheaper per neuron-step than the former layout with float64
Box-Muller (``benchmarks/README.md``).
"""

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from mixsig.device.mismatch import PURPOSE_NOISE, instance_seed_sequence
from mixsig.engine import vecmath

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_LOW = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)

GENERATOR = "philox4x32-10 rows-by-256 box-muller-float32"
"""Name of the draw scheme (counter layout, rounds, Box-Muller precision), the ``shot_noise_generator``
attribute of a noisy run's dataset: runs with the same name and seed draw the same normals."""

ROUNDS = 10
"""Philox rounds (the Random123 default and the one its authors recommend)."""

NORMALS_PER_BLOCK = 4
"""Standard normals from one Philox call (four 32-bit words, two Box-Muller pairs)."""

GROUP = 64
"""Philox blocks of one row per chunk: block ``q`` of a chunk gives neurons ``q``, ``q + GROUP``,
``q + 2 GROUP`` and ``q + 3 GROUP`` of the chunk (its four words)."""

CHUNK = NORMALS_PER_BLOCK * GROUP
"""Neurons sharing one row's :data:`GROUP` Philox blocks (256)."""

F32 = vecmath.F32


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


_U32 = F32(2.0**-32)
_HALF32 = F32(0.5)
_TWO_PI_32 = F32(2.0 * math.pi)

_SIN = tuple(F32((-1.0) ** k / math.factorial(2 * k + 1)) for k in range(1, 5))
"""Taylor coefficients of ``sin x / x - 1`` in powers of ``x^2``: ``-1/3!, 1/5!, -1/7!, 1/9!`` (float32)."""

_COS = tuple(F32((-1.0) ** k / math.factorial(2 * k)) for k in range(1, 6))
"""Taylor coefficients of ``cos x - 1`` in powers of ``x^2``: ``-1/2!, 1/4!, ..., -1/10!`` (float32)."""


@numba.njit(cache=True, inline="always")
def uniform32(word):
    """``(word + 1/2) 2^-32`` in float32: a uniform in (0, 1] from a 32-bit word (``word`` rounded to
    24 significant bits first, so the smallest value is ``2^-33``; 1 for the top 2^7 words)."""
    return (F32(word) + _HALF32) * _U32


@numba.njit(cache=True, inline="always")
def sincos_turns32(u):
    """``(cos 2 pi u, sin 2 pi u)`` in float32 for ``u`` in [0, 1], branch-free: quadrant ``q = round(4 u)``,
    ``x = 2 pi (u - q/4)`` in [-pi/4, pi/4] (``u - q/4`` exact), Taylor series to ``x^9`` and ``x^10``
    (remainders below 2e-9), and the quadrant's swap and signs (``cos(x + q pi/2)``: ``c, -s, -c, s``;
    ``sin``: ``s, c, -s, -c``)."""
    shifted = F32(4.0) * u + vecmath.ROUNDER_32
    q = shifted - vecmath.ROUNDER_32
    x = _TWO_PI_32 * (u - F32(0.25) * q)
    x2 = x * x
    s = _SIN[3]
    for k in range(2, -1, -1):
        s = s * x2 + _SIN[k]
    s = x + x * x2 * s
    c = _COS[4]
    for k in range(3, -1, -1):
        c = c * x2 + _COS[k]
    c = F32(1.0) + x2 * c
    quadrant = vecmath.as_bits(shifted) - vecmath.as_bits(vecmath.ROUNDER_32)
    odd = (quadrant & 1) == 1
    cos_sign = F32(1.0) - F32(2.0) * F32(((quadrant + 1) >> 1) & 1)
    sin_sign = F32(1.0) - F32(2.0) * F32((quadrant >> 1) & 1)
    return cos_sign * (s if odd else c), sin_sign * (c if odd else s)


@numba.njit(cache=True, inline="always")
def box_muller32(word0, word1):
    """Two independent standard normals (float32) from two 32-bit words."""
    r = np.sqrt(F32(-2.0) * vecmath.log32(uniform32(word0)))
    cos, sin = sincos_turns32(uniform32(word1))
    return r * cos, r * sin


@numba.njit(cache=True, error_model="numpy")
def _row_normals(out, n, step, row, k0, k1, first_group, scale, words, z):
    """Row ``row`` at ``step`` of ``n`` (<= :data:`CHUNK`) neurons of one instance from group
    ``first_group`` on (key ``(k0, k1)``), times ``scale``, into ``out`` (n,); ``words`` (uint32) and ``z``
    (float32), both (4, :data:`GROUP`), are scratch. Three branch-free loops: Philox (8 uint64 lanes per
    AVX-512 vector, its 32 x 32-bit products), Box-Muller (16 float32 lanes), the four contiguous copies."""
    c0, c1, c3 = np.uint64(step) & _LOW, np.uint64(step) >> _SHIFT, np.uint64(row)
    groups = min(GROUP, n)
    w0, w1, w2, w3 = words[0], words[1], words[2], words[3]
    for q in range(groups):
        x0, x1, x2, x3 = philox4x32(c0, c1, np.uint64(first_group + q), c3, k0, k1)
        w0[q], w1[q], w2[q], w3[q] = np.uint32(x0), np.uint32(x1), np.uint32(x2), np.uint32(x3)
    z0, z1, z2, z3 = z[0], z[1], z[2], z[3]
    for q in range(groups):
        z0[q], z1[q] = box_muller32(w0[q], w1[q])
        z2[q], z3[q] = box_muller32(w2[q], w3[q])
    for word in range(NORMALS_PER_BLOCK):
        first = word * GROUP
        for q in range(min(GROUP, n - first)):
            out[first + q] = scale * np.float64(z[word, q])


@numba.njit(cache=True)
def scratch():
    """Scratch of :func:`_row_normals` and :func:`block_normals`: Philox words (uint32) and float32 normals,
    each (4, :data:`GROUP`)."""
    return (np.empty((NORMALS_PER_BLOCK, GROUP), dtype=np.uint32),
            np.empty((NORMALS_PER_BLOCK, GROUP), dtype=np.float32))


@numba.njit(cache=True, parallel=True)
def standard_normals(out, rows, first_step, keys, n_neurons, scale):
    """Fill rows ``0 .. rows - 1`` of ``out`` (steps, rows or more, m) with the standard normals of steps
    ``first_step, first_step + 1, ...`` times ``scale``.

    Neuron ``j`` is neuron ``j % n_neurons`` of instance ``j // n_neurons`` (key ``keys[j // n_neurons]``);
    its normal of row ``r`` is word ``(l mod CHUNK) div GROUP`` of the Philox block of counter
    ``(step mod 2^32, step div 2^32, (l div CHUNK) GROUP + l mod GROUP, r)`` (module docstring).
    Spread over numba's threads by step and chunk of :data:`CHUNK` neurons of one instance; every
    value is a function of (key, step, neuron, row) alone.
    """
    steps, m = out.shape[0], out.shape[2]
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    instances = m // n_neurons
    for task in numba.prange(steps * instances * chunks):
        step, rest = divmod(np.int64(task), instances * chunks)
        instance, chunk = divmod(rest, chunks)
        first_local = chunk * CHUNK
        n = min(n_neurons - first_local, CHUNK)
        lo = instance * n_neurons + first_local
        words, z = scratch()
        for row in range(rows):
            _row_normals(out[step, row, lo:lo + n], n, first_step + step, row, keys[instance, 0], keys[instance, 1],
                         chunk * GROUP, scale, words, z)


@numba.njit(cache=True, error_model="numpy")
def block_normals(out, lo, hi, step, row, keys, n_neurons, scale, words, z):
    """Row ``row`` at ``step`` of neurons ``lo .. hi - 1`` times ``scale`` into ``out`` (hi - lo,): the values of
    :func:`standard_normals` (neuron ``j`` is neuron ``j % n_neurons`` of instance ``j // n_neurons``), bit for
    bit, for any range; ``words`` and ``z`` are :func:`_row_normals`' scratch (:func:`scratch`). A chunk of
    :data:`CHUNK` neurons lying whole in the range is drawn straight into ``out``; a chunk cut by the range's
    ends is drawn whole into a scratch row and its part copied (the engine's blocks of 256 neurons are whole
    chunks when the neurons per instance are a multiple of 256)."""
    j = lo
    while j < hi:
        instance, local = divmod(j, n_neurons)
        chunk = local // CHUNK
        n = min(n_neurons - chunk * CHUNK, CHUNK)
        begin = local - chunk * CHUNK
        end = min(n, begin + hi - j)
        k0, k1 = keys[instance, 0], keys[instance, 1]
        if begin == 0 and end == n:
            _row_normals(out[j - lo:j - lo + n], n, step, row, k0, k1, chunk * GROUP, scale, words, z)
        else:
            whole = np.empty(n)
            _row_normals(whole, n, step, row, k0, k1, chunk * GROUP, scale, words, z)
            out[j - lo:j - lo + end - begin] = whole[begin:end]
        j += end - begin


def counter_noise(buffer, keys, n_neurons, scale):
    """The noise argument of a step loop whose kernel draws its own shot noise (``counter_noise`` of
    :class:`mixsig.engine.protocol.NeuronKernel`): ``buffer`` (steps, rows, m) holds the other noise rows
    (the relative flicker fluctuations, rows 0-4, or none), ``keys`` (instances, 2) the shot noise's Philox
    keys (:func:`instance_keys`; no rows: shot noise off), ``n_neurons`` the neurons per instance and
    ``scale`` the factor of every normal. :func:`step_noise` gives each step's kernel argument."""
    return buffer, keys, np.int64(n_neurons), float(scale)


def by_noise_type(rows_case, counter_case):
    """A function of a noise argument (first argument) and more that calls ``rows_case`` for pre-drawn
    rows (an array) and ``counter_case`` for :func:`counter_noise` or one of its steps (a tuple), with the
    same arguments; in compiled code the choice is made by type, when the caller is compiled (an overload)."""
    def choose(noise, *args):
        case = counter_case if isinstance(noise, tuple) else rows_case
        return getattr(case, "py_func", case)(noise, *args)

    @overload(choose)
    def _choose(noise, *args):
        case = counter_case if isinstance(noise, types.BaseTuple) else rows_case
        return lambda noise, *args: case(noise, *args)

    choose.__doc__ = f"``{rows_case.__name__}`` for pre-drawn rows, ``{counter_case.__name__}`` for counter-based draws."
    return choose


@numba.njit(cache=True)
def _rows_of_step(noise, k, n):
    """Step ``k`` of a call's pre-drawn rows (steps, rows, m)."""
    return noise[k]


@numba.njit(cache=True)
def _counter_of_step(noise, k, n):
    """Step ``k`` (step ``n`` of the run) of :func:`counter_noise`: ``(buffer[k], keys, n, n_neurons, scale)``."""
    return noise[0][k], noise[1], np.int64(n), noise[2], noise[3]


step_noise = by_noise_type(_rows_of_step, _counter_of_step)
"""``step_noise(noise, k, n)``: the kernel's noise argument ``z`` for step ``n``, the ``k``-th of a step loop's
call (:func:`mixsig.engine.kernels.step_loop`): the pre-drawn rows ``noise[k]``, or for :func:`counter_noise`
the tuple ``(buffer[k], keys, n, n_neurons, scale)`` from which the kernel draws step ``n``'s normals itself."""


def silent_step(m, counter):
    """The kernel's noise argument ``z`` for a step without noise of ``m`` neurons: no rows (m,), or for a kernel
    with ``counter_noise`` a step of :func:`counter_noise` with no rows and no keys (the type the engine passes
    it, so the kernel is compiled once)."""
    rows = np.zeros((1, 0, m))
    if not counter:
        return rows[0]
    return step_noise(counter_noise(rows, np.zeros((0, 2), dtype=np.uint64), m, 1.0), 0, 0)


def step_noise_type(noise):
    """numba's type of :func:`step_noise` ``(noise, k, n)``, from the type of ``noise`` alone (its buffer may
    hold no step yet: the first draw comes after the compilation)."""
    whole = numba.typeof(noise)
    if isinstance(whole, types.BaseTuple):
        rows, keys, n_neurons, scale = whole
        return types.Tuple((rows.copy(ndim=rows.ndim - 1), keys, types.int64, n_neurons, scale))
    return whole.copy(ndim=whole.ndim - 1)
