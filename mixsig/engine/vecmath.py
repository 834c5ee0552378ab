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

Both are within 2 ulp of numpy's over their range (``tests/test_vecmath.py``: at most
``MAX_REL_ERROR`` relative, measured on 10^6 log-uniform arguments); the kernels' error budget
is 1e-10 relative per step, so this is far below it. No ``fastmath``: the results do not depend
on whether a lane was computed by the vector body or a scalar remainder loop.
"""

import math

import llvmlite.ir as llvm_ir
import numba
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
    """The bits of a float64 as an int64 (an LLVM bitcast: no memory traffic, vectorisable)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def from_bits(typingctx, n):
    """The float64 whose bits are the int64 ``n``."""
    if not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return types.float64(types.int64), codegen


@numba.njit(cache=True, inline="always")
def exp(x):
    """``e^x`` for a float64 ``x`` (clamped to ``[EXP_MIN, EXP_MAX]``), within 2 ulp."""
    x = min(max(x, EXP_MIN), EXP_MAX)
    shifted = x * INV_LN2 + ROUNDER
    n = shifted - ROUNDER
    r = (x - n * LN2_HI) - n * LN2_LO
    p = _EXP[-1]
    for k in range(len(_EXP) - 2, -1, -1):
        p = p * r + _EXP[k]
    p = p * r * r + r
    scale = from_bits((as_bits(shifted) - as_bits(ROUNDER) + 1023) << 52)
    return (1.0 + p) * scale


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
