"""int8 dense and residual add: C equals NumPy bit for bit; NumPy within 1 LSB of an
independent float computation (dequantise, compute in float64, quantise)."""

import numpy as np
import pytest
from cnnc.host.kernels import run_s8_kernel
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import AddParams, DenseParams, add_multipliers, add_s8, dense_s8

SIZES = [1, 3, 7, 8, 16, 17, 33, 65]
ZPS = {"zp-low": -128, "zp-high": 127, "zp-mid": 9}


def first_mismatch(expected, actual):
    bad = np.argwhere(expected != actual)
    if bad.size:
        i = tuple(bad[0])
        return f"{len(bad)} mismatches, first at {i}: expected {expected[i]}, actual {actual[i]}"
    return None


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("zp", list(ZPS.values()), ids=list(ZPS))
@pytest.mark.parametrize("m", [1, 10, 17], ids=lambda m: f"m{m}")
@pytest.mark.parametrize("k", SIZES, ids=lambda k: f"k{k}")
def test_dense(rng, k, m, zp, rounding):
    x = rng.integers(-128, 128, (3, k)).astype(np.int8)
    w = rng.integers(-127, 128, (m, k)).astype(np.int8)
    bias = rng.integers(-3000, 3000, m).astype(np.int32)
    s_x, s_w = 0.05, rng.uniform(0.001, 0.01, m)
    s_y = s_x * float(s_w.mean()) * 255 * 127 * np.sqrt(k) / 250
    mult, shift = quantize_multipliers(s_x * s_w / s_y)
    p = DenseParams(3, k, m, zp, -zp // 2, -100, 120, ROUNDING_CODES[rounding])
    want = dense_s8(x, w, bias, mult, shift, p)
    got = np.zeros((3, m), np.int8)
    run_s8_kernel("cnnc_s8_dense__ref", p, x, w.T.copy(), bias, mult, shift, got)  # w[K,M]
    assert first_mismatch(want, got) is None, first_mismatch(want, got)
    real = ((x - np.float64(zp)) * s_x) @ (w * s_w[:, None]).T + bias * s_x * s_w
    ref = np.clip(np.round(real / s_y) + p.y_zero_point, -100, 120)
    assert np.abs(want - ref).max() <= 1


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize(
    "scales", [(0.02, 0.02, 0.04), (0.1, 0.013, 0.09), (0.004, 0.05, 0.03)],
    ids=["equal", "a-larger", "b-larger"],
)  # fmt: skip
@pytest.mark.parametrize("zps", [(-128, 127, -128), (127, -128, 127), (3, -7, 0)],
                         ids=["zp-ends", "zp-ends-flipped", "zp-mid"])  # fmt: skip
@pytest.mark.parametrize("size", SIZES, ids=lambda n: f"n{n}")
def test_add_with_two_scales(rng, size, zps, scales, rounding):
    a = rng.integers(-128, 128, size).astype(np.int8)
    b = rng.integers(-128, 128, size).astype(np.int8)
    (za, zb, zy), (sa, sb, sy) = zps, scales
    p = AddParams(size, za, zb, zy, **add_multipliers(sa, sb, sy), act_min=-128, act_max=127,
                  rounding=ROUNDING_CODES[rounding])  # fmt: skip
    want = add_s8(a, b, p)
    got = np.zeros(size, np.int8)
    run_s8_kernel("cnnc_s8_add__ref", p, a, b, got)
    assert first_mismatch(want, got) is None, first_mismatch(want, got)
    real = (a - np.float64(za)) * sa + (b - np.float64(zb)) * sb
    ref = np.clip(np.round(real / sy) + zy, -128, 127)
    err = np.abs(want - ref)
    assert err.max() <= 1, f"{err.max()} LSB at {err.argmax()}"


def test_add_relu_clamp(rng):
    a = rng.integers(-128, 128, 257).astype(np.int8)
    b = rng.integers(-128, 128, 257).astype(np.int8)
    p = AddParams(257, 0, 0, -30, **add_multipliers(0.02, 0.03, 0.05), act_min=-30, act_max=127)
    got = np.zeros(257, np.int8)
    run_s8_kernel("cnnc_s8_add__ref", p, a, b, got)
    assert got.min() == -30 and (got == -30).sum() > 10
    np.testing.assert_array_equal(got, add_s8(a, b, p))
