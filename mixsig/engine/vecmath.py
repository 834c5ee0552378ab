"""Vectorisable ``exp`` and ``log`` for the compiled kernels (float64, no libm call).

This numba build has no vector maths library: ``math.exp`` and ``math.log`` in a loop are scalar
libm calls, which keep the loop from vectorising. These two functions are straight-line
arithmetic (multiply, add, divide, compare-and-select, and integer operations on the bits of a
float), so LLVM turns a loop calling them into AVX-512/AVX2 code.

* :func:`exp`: Cody-Waite range reduction ``x = n ln2 + r``, ``|r| <= ln2/2``, with ``ln2`` split
  in a high part exact in 32 bits and a low part (so ``n ln2_hi`` is exact for ``|n| <= 1100``);
  ``n = round(x / ln2)`` by adding and subtracting ``1.5 * 2^52`` (round to nearest, whose low bits
  hold ``n``); ``exp(r)`` by its Taylor polynomial of degree 13 (remainder
  ``(ln2/2)^14 / 14! < 4e-18`` relative), in Horner form; ``2^n`` built from its bits,
  ``(n + 1023) << 52``. The argument is clamped to ``[-708, 709]`` (the normal float64 range:
  ``exp(-708) = 3.3e-308``).
* :func:`log`: the bits of ``x`` give ``x = 2^e m`` with ``m`` in ``[sqrt(2)/2, sqrt(2))``; then
  ``ln m = 2 atanh(s)``, ``s = (m - 1)/(m + 1)``, ``|s| <= 0.1716``, by its odd series up to
  ``s^23`` (remainder ``2 s^25/25 < 6e-21``, relative to ``2 s`` below ``5e-20``), and
  ``ln x = e ln2 + ln m`` with the split ``ln2``. For positive normal ``x`` only (the kernels take
  logs of currents above a floor ``i_0 > 0``).

Float32 versions for the kernels' float32 arithmetic (16 lanes per AVX-512 vector instead of 8, and
shorter polynomials: about 3x cheaper per value), same methods with float32 constants and int32 bits:

* :func:`exp32` and :func:`expm1_32`: ``r`` as above with ``ln2`` split in a high part of 9
  significant bits; ``e^r - 1`` by its Taylor polynomial of degree 7 (remainder
  ``(ln2/2)^8 / 8! < 5e-9``), ``2^n`` from its bits ``(n + 127) << 23``; argument clamped to
  ``[EXP32_MIN, EXP32_MAX]``. ``expm1_32`` returns ``p 2^n + (2^n - 1)``: for ``|x| <= ln2/2`` the
  polynomial itself, with its full relative precision near 0.
* :func:`log32`: as :func:`log`, series up to ``s^9`` (remainder below 3e-9 relative).

They are within :data:`MAX_REL_ERROR_32` (3 float32 ulp) of numpy's float64 values
(``tests/test_vecmath.py``).

The float64 functions are within 2 ulp of numpy's over their range (``tests/test_vecmath.py``: at most
``MAX_REL_ERROR`` relative, measured on 10^6 log-uniform arguments); the kernels' error budget
is 1e-10 relative per step, so this is far below it. No ``fastmath``: the results do not depend
on whether a lane was computed by the vector body or a scalar remainder loop.
"""

import math

import llvmlite.ir as llvm_ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

LN2_HI = 0.693147180369123816490
"""High part of ln 2 (its first 32 significant bits; ``n * LN2_HI`` is exact for ``|n| < 2^20``)."""

LN2_LO = 1.90821492927058770002e-10
"""``ln 2 - LN2_HI``."""

INV_LN2 = 1.4426950408889634074
"""1 / ln 2."""

ROUNDER = 6755399441055744.0
"""1.5 * 2^52: ``(x + ROUNDER) - ROUNDER`` rounds ``x`` to the nearest integer (``|x| < 2^51``)."""

EXP_MIN, EXP_MAX = -708.0, 709.0
"""Clamp of :func:`exp`'s argument (the normal float64 range)."""

MAX_REL_ERROR = 4.5e-16
"""Largest relative difference from numpy accepted by the tests (2 ulp)."""

_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
"""Bits of sqrt(2)/2: :func:`log` splits ``x`` so that the mantissa lies in [sqrt(2)/2, sqrt(2))."""

_MANTISSA = (1 << 52) - 1

_EXP = tuple(1.0 / math.factorial(k) for k in range(2, 14))
"""Taylor coefficients ``1/2!, ..., 1/13!`` of ``(e^r - 1 - r) / r^2``."""

_ATANH = tuple(2.0 / (2 * k + 1) for k in range(1, 12))
"""Coefficients ``2/3, 2/5, ..., 2/23`` of ``(2 atanh(s) - 2 s) / s^3`` in powers of ``s^2``."""


@intrinsic
def as_bits(typingctx, x):
    """The bits of a float64 (float32) as an int64 (int32): an LLVM bitcast, no memory traffic, vectorisable."""
    if not isinstance(x, types.Float):
        return None
    width = x.bitwidth

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.IntType(width))

    return types.Integer.from_bitwidth(width)(x), codegen


@intrinsic
def from_bits(typingctx, n):
    """The float64 (float32) whose bits are the int64 (int32) ``n``."""
    if not isinstance(n, types.Integer) or n.bitwidth not in (32, 64):
        return None
    target = types.float64 if n.bitwidth == 64 else types.float32

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType() if target == types.float64 else llvm_ir.FloatType())

    return target(n), codegen


@numba.njit(cache=True, inline="always")
def _reduce(x, inv_ln2, rounder, ln2_hi, ln2_lo, coefficients):
    """``(p, n)`` with ``e^x = (1 + p) 2^n`` (Cody-Waite reduction, Horner polynomial) in the precision of
    the constants: the integer ``n`` comes in the low bits of ``x / ln2 + rounder``."""
    shifted = x * inv_ln2 + rounder
    n = shifted - rounder
    r = (x - n * ln2_hi) - n * ln2_lo
    p = coefficients[-1]
    for k in range(len(coefficients) - 2, -1, -1):
        p = p * r + coefficients[k]
    return p * r * r + r, as_bits(shifted) - as_bits(rounder)


@numba.njit(cache=True, inline="always")
def exp(x):
    """``e^x`` for a float64 ``x`` (clamped to ``[EXP_MIN, EXP_MAX]``), within 2 ulp."""
    p, n = _reduce(min(max(x, EXP_MIN), EXP_MAX), INV_LN2, ROUNDER, LN2_HI, LN2_LO, _EXP)
    return (1.0 + p) * from_bits((n + 1023) << 52)


@numba.njit(cache=True, inline="always")
def log(x):
    """``ln x`` for a positive normal float64 ``x``, within 2 ulp."""
    bits = as_bits(x)
    offset = bits - _SQRT_HALF_BITS
    e = offset >> 52
    m = from_bits((offset & _MANTISSA) + _SQRT_HALF_BITS)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = _ATANH[-1]
    for k in range(len(_ATANH) - 2, -1, -1):
        p = p * s2 + _ATANH[k]
    n = float(e)
    return n * LN2_HI + (2.0 * s + s * s2 * p + n * LN2_LO)


F32 = np.float32
"""The float32 type, for typed constants: a float64 literal would promote float32 arithmetic."""

EXP32_MIN, EXP32_MAX = F32(-87.0), F32(88.0)
"""Clamp of :func:`exp32`'s argument (``2^n`` stays a normal float32)."""

MAX_REL_ERROR_32 = 3.6e-7
"""Largest relative difference from numpy (float64) accepted by the tests for the float32 functions (3 ulp)."""

_LN2_HI_32, _LN2_LO_32 = F32(0.693359375), F32(-2.12194440e-4)
"""ln 2 split for float32: ``_LN2_HI_32`` has 9 significant bits (``n * _LN2_HI_32`` exact for ``|n| < 2^15``)."""

_INV_LN2_32 = F32(1.4426950408889634)
"""1 / ln 2 (float32)."""

ROUNDER_32 = F32(12582912.0)
"""1.5 * 2^23: ``(x + ROUNDER_32) - ROUNDER_32`` rounds a float32 ``x`` to the nearest integer, held in the
low bits of ``x + ROUNDER_32`` (``|x| < 2^22``)."""

_EXP_32 = tuple(F32(1.0 / math.factorial(k)) for k in range(2, 8))
"""Taylor coefficients ``1/2!, ..., 1/7!`` of ``(e^r - 1 - r) / r^2`` (float32)."""

_ATANH_32 = tuple(F32(2.0 / (2 * k + 1)) for k in range(1, 5))
"""Coefficients ``2/3, ..., 2/9`` of ``(2 atanh(s) - 2 s) / s^3`` in powers of ``s^2`` (float32)."""

_SQRT_HALF_BITS_32 = np.int32(0x3F3504F3)
_MANTISSA_32 = np.int32((1 << 23) - 1)
_ONE_32, _TWO_32 = F32(1.0), F32(2.0)


@numba.njit(cache=True, inline="always")
def _reduce32(x):
    """``(p, 2^n)`` with ``e^x = (1 + p) 2^n`` for ``x`` rounded to float32 (clamped)."""
    p, n = _reduce(min(max(F32(x), EXP32_MIN), EXP32_MAX), _INV_LN2_32, ROUNDER_32, _LN2_HI_32, _LN2_LO_32, _EXP_32)
    return p, from_bits(np.int32((n + np.int32(127)) << np.int32(23)))


@numba.njit(cache=True, inline="always")
def exp32(x):
    """``e^x`` for a float32 ``x`` (clamped to ``[EXP32_MIN, EXP32_MAX]``), float32."""
    p, scale = _reduce32(x)
    return (_ONE_32 + p) * scale


@numba.njit(cache=True, inline="always")
def expm1_32(x):
    """``e^x - 1`` for a float32 ``x`` (clamped), float32, to full relative precision near 0."""
    p, scale = _reduce32(x)
    return p * scale + (scale - _ONE_32)


@numba.njit(cache=True, inline="always")
def log32(x):
    """``ln x`` for ``x`` rounded to float32 (positive normal), float32."""
    offset = np.int32(as_bits(F32(x)) - _SQRT_HALF_BITS_32)
    e = offset >> np.int32(23)
    m = from_bits(np.int32((offset & _MANTISSA_32) + _SQRT_HALF_BITS_32))
    s = (m - _ONE_32) / (m + _ONE_32)
    s2 = s * s
    p = _ATANH_32[-1]
    for k in range(len(_ATANH_32) - 2, -1, -1):
        p = p * s2 + _ATANH_32[k]
    n = F32(e)
    return n * _LN2_HI_32 + (_TWO_32 * s + s * s2 * p + n * _LN2_LO_32)
