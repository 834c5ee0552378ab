"""The polynomial exp and log of the vector kernels (mixsig.engine.vecmath) against numpy."""

import platform

import numba
import numpy as np
import pytest

from mixsig.engine import vecmath


@numba.njit(error_model="numpy")
def _apply_exp(x, out):
    for j in range(x.size):
        out[j] = vecmath.exp(x[j])


@numba.njit(error_model="numpy")
def _apply_log(x, out):
    for j in range(x.size):
        out[j] = vecmath.log(x[j])


def _relative_error(values, reference):
    return np.max(np.abs(values - reference) / np.abs(reference))


def test_exp_within_two_ulp_over_its_range():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(vecmath.EXP_MIN, vecmath.EXP_MAX, 10**6), rng.uniform(-50.0, 20.0, 10**6),
                        [vecmath.EXP_MIN, vecmath.EXP_MAX, 0.0, -0.0, 1e-300, np.log(2.0) / 2]])
    out = np.empty_like(x)
    _apply_exp(x, out)
    assert _relative_error(out, np.exp(x)) <= vecmath.MAX_REL_ERROR


def test_exp_clamps_its_argument():
    out = np.empty(2)
    _apply_exp(np.array([-1e4, 1e4]), out)
    np.testing.assert_allclose(out, np.exp([vecmath.EXP_MIN, vecmath.EXP_MAX]), rtol=vecmath.MAX_REL_ERROR)


def test_log_within_two_ulp_of_positive_normals():
    rng = np.random.default_rng(2)
    x = np.concatenate([np.exp(rng.uniform(np.log(2.3e-308), np.log(1.7e308), 10**6)), rng.uniform(0.5, 2.0, 10**6),
                        [np.sqrt(0.5), np.sqrt(2.0), 2.0, 0.5, 1e-300]])
    out = np.empty_like(x)
    _apply_log(x, out)
    reference = np.log(x)
    assert _relative_error(out, reference) <= vecmath.MAX_REL_ERROR
    one = np.empty(1)
    _apply_log(np.ones(1), one)
    assert one[0] == 0.0


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="counts x86 vector registers")
@pytest.mark.parametrize("function", [_apply_exp, _apply_log])
def test_loops_over_them_vectorise(function):
    """The reason these exist: a loop calling them compiles to vector instructions."""
    x, out = np.ones(64), np.empty(64)
    function(x, out)
    asm = function.inspect_asm(function.signatures[0])
    assert sum("zmm" in line or "ymm" in line for line in asm.splitlines()) > 20


@numba.njit(error_model="numpy")
def _apply32(function, x, out):
    for j in range(x.size):
        out[j] = function(x[j])


@pytest.mark.parametrize("function, reference", [(vecmath.exp32, np.exp), (vecmath.expm1_32, np.expm1)])
def test_float32_exp_and_expm1_within_three_ulp(function, reference):
    """Against numpy in float64 on the float32 arguments, over the clamp range and near 0 (where
    ``expm1_32`` keeps its relative precision)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(vecmath.EXP32_MIN, vecmath.EXP32_MAX, 10**6), rng.uniform(-1e-3, 1e-3, 10**5),
                        [vecmath.EXP32_MIN, vecmath.EXP32_MAX, 1e-30, -1e-30, 0.3465, -0.3465]]).astype(np.float32)
    out = np.empty_like(x)
    _apply32(function, x, out)
    assert out.dtype == np.float32
    assert _relative_error(out.astype(float), reference(x.astype(float))) <= vecmath.MAX_REL_ERROR_32


def test_float32_log_within_three_ulp_of_positive_normals():
    rng = np.random.default_rng(4)
    x = np.concatenate([np.exp(rng.uniform(np.log(1.2e-38), np.log(3.4e38), 10**6)), rng.uniform(0.5, 2.0, 10**6)])
    x = x.astype(np.float32)
    x = x[(x >= np.finfo(np.float32).tiny) & np.isfinite(x) & (x != 1.0)]
    out = np.empty_like(x)
    _apply32(vecmath.log32, x, out)
    assert _relative_error(out.astype(float), np.log(x.astype(float))) <= vecmath.MAX_REL_ERROR_32


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="counts x86 vector registers")
@pytest.mark.parametrize("function", [vecmath.exp32, vecmath.log32])
def test_float32_loops_vectorise(function):
    x, out = np.ones(64, dtype=np.float32), np.empty(64, dtype=np.float32)
    _apply32(function, x, out)
    asm = _apply32.inspect_asm(_apply32.signatures[-1])
    assert sum("zmm" in line or "ymm" in line for line in asm.splitlines()) > 20
