"""int8 pooling, concat and the float boundary: C equals NumPy bit for bit; NumPy checked
against independent computations (plain loops over windows, float averages)."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import run_s8_kernel
from cnnc.ops.requant import ROUNDING_CODES, quantize_multiplier
from cnnc.ops.s8 import (
    ConcatParams,
    GlobalAvgPoolParams,
    PoolParams,
    QuantParams,
    avgpool_s8,
    concat_part_s8,
    dequantize_s8,
    global_avgpool_s8,
    maxpool_s8,
    quantize_s8,
)

CHANNELS = [1, 3, 7, 8, 16, 17, 33]


def pool_case(rng, ch, kernel, stride, pad, zp, include_pad=0):
    h, w = 7, 9
    x = rng.integers(-128, 128, (2, h, w, ch)).astype(np.int8)
    oh, ow = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
    p = PoolParams(2, h, w, ch, oh, ow, kernel, kernel, stride, stride, pad, pad, include_pad,
                   zp, -128, 127)  # fmt: skip
    return x, p


def window_loop(x, p, reduce):
    """Plain loops over output positions: the window's valid taps and their count."""
    y = np.zeros((p.n, p.out_h, p.out_w, p.c))
    for oy in range(p.out_h):
        for ox in range(p.out_w):
            y0, x0 = oy * p.stride_h - p.pad_top, ox * p.stride_w - p.pad_left
            win = x[:, max(y0, 0) : y0 + p.kernel_h, max(x0, 0) : x0 + p.kernel_w].astype(
                np.float64
            )
            y[:, oy, ox] = reduce(win.reshape(p.n, -1, p.c))
    return y


@pytest.mark.parametrize("pad", [0, 1], ids=["valid", "pad1"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("kernel", [2, 3], ids=["k2", "k3"])
@pytest.mark.parametrize("ch", CHANNELS, ids=[f"c{c}" for c in CHANNELS])
def test_maxpool(rng, ch, kernel, stride, pad):
    x, p = pool_case(rng, ch, kernel, stride, pad, zp=0)
    want = maxpool_s8(x, p)
    got = np.zeros_like(want)
    run_s8_kernel("cnnc_s8_maxpool__ref", p, x, got)
    assert_bit_exact(want, got, "C vs NumPy")
    assert_bit_exact(window_loop(x, p, lambda v: v.max(axis=1)).astype(np.int8), want, "loops")


@pytest.mark.parametrize("include_pad", [0, 1], ids=["exclude-pad", "include-pad"])
@pytest.mark.parametrize("zp", [-128, 127, 4], ids=["zp-low", "zp-high", "zp-mid"])
@pytest.mark.parametrize("pad", [0, 1], ids=["valid", "pad1"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("ch", CHANNELS, ids=[f"c{c}" for c in CHANNELS])
def test_avgpool(rng, ch, stride, pad, zp, include_pad):
    x, p = pool_case(rng, ch, 3, stride, pad, zp, include_pad)
    want = avgpool_s8(x, p)
    got = np.zeros_like(want)
    run_s8_kernel("cnnc_s8_avgpool__ref", p, x, got)
    assert_bit_exact(want, got, "C vs NumPy")

    def mean(v):
        count = 9 if include_pad else v.shape[1]
        return (v - zp).sum(axis=1) / count

    real = window_loop(x, p, mean)
    # ties away from zero, written independently of the kernel's integer formula
    ref = np.clip(np.sign(real) * np.floor(np.abs(real) + 0.5) + zp, -128, 127)
    assert_bit_exact(ref.astype(np.int8), want, "NumPy vs float average")


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("zps", [(-128, 127), (127, -128), (5, -3)], ids=["ends", "flip", "mid"])
@pytest.mark.parametrize("hw", [(1, 1), (4, 4), (7, 5)], ids=["1x1", "4x4", "7x5"])
@pytest.mark.parametrize("ch", CHANNELS, ids=[f"c{c}" for c in CHANNELS])
def test_global_avgpool(rng, ch, hw, zps, rounding):
    h, w = hw
    x = rng.integers(-128, 128, (2, h * w, ch)).astype(np.int8)
    s_x, s_y = 0.03, 0.011
    m, s = quantize_multiplier(s_x / (s_y * h * w))
    p = GlobalAvgPoolParams(2, h * w, ch, zps[0], zps[1], m, s, -128, 127,
                            ROUNDING_CODES[rounding])  # fmt: skip
    want = global_avgpool_s8(x, p)
    got = np.zeros((2, ch), np.int8)
    run_s8_kernel("cnnc_s8_global_avgpool__ref", p, x, got)
    assert_bit_exact(want, got, "C vs NumPy")
    real = (x - np.float64(zps[0])).mean(axis=1) * s_x
    ref = np.clip(np.round(real / s_y) + zps[1], -128, 127)
    assert np.abs(want - ref).max() <= 1


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("ratio", [1.0, 0.37, 2.5], ids=["same-scale", "shrink", "grow"])
@pytest.mark.parametrize("ch", CHANNELS, ids=[f"c{c}" for c in CHANNELS])
def test_concat_requantises_each_input(rng, ch, ratio, rounding):
    outer, other = 10, 5
    x = rng.integers(-128, 128, (outer, ch)).astype(np.int8)
    s_x, zx, zy = 0.02, -128 if ch % 2 else 127, 3
    m, s = quantize_multiplier(ratio)
    p = ConcatParams(outer, ch, ch + other, other, zx, zy, m, s, ROUNDING_CODES[rounding])
    got = np.full((outer, ch + other), 77, np.int8)
    run_s8_kernel("cnnc_s8_concat__ref", p, x, got)
    want = concat_part_s8(x, p)
    assert_bit_exact(want, got[:, other:], "C vs NumPy")
    assert (got[:, :other] == 77).all(), "wrote outside its channel slice"
    ref = np.clip(np.round((x - np.float64(zx)) * s_x / (s_x / ratio)) + zy, -128, 127)
    assert np.abs(want - ref).max() <= 1
    if ratio == 1.0:
        assert_bit_exact(np.clip(x.astype(np.int64) - zx + zy, -128, 127).astype(np.int8), want,
                     "identity requantisation")  # fmt: skip


@pytest.mark.parametrize("zp", [-128, 127, 0], ids=["zp-low", "zp-high", "zp0"])
@pytest.mark.parametrize("scale", [0.5, 0.0173, 3.0])
def test_quantize_dequantize_boundary(rng, scale, zp):
    n = 4001
    x = (rng.standard_normal(n) * 80 * scale).astype(np.float32)
    x[:6] = [np.nan, np.inf, -np.inf, 0.5 * scale, 1.5 * scale, -2.5 * scale]  # ties to even
    p = QuantParams(n, scale, zp)
    q = np.zeros(n, np.int8)
    run_s8_kernel("cnnc_s8_quantize__ref", p, x, q)
    assert_bit_exact(quantize_s8(x, p), q, "quantize C vs NumPy")
    assert q[0] == zp and q[1] == 127 and q[2] == -128
    want = np.clip(np.array([0, 2, -2]) + zp, -128, 127)
    assert_bit_exact(want.astype(np.int8), q[3:6], "ties to even")
    y = np.zeros(n, np.float32)
    run_s8_kernel("cnnc_s8_dequantize__ref", p, q, y)
    assert_bit_exact(dequantize_s8(q, p), y, "dequantize C vs NumPy")
    inside = (q > -128) & (q < 127) & np.isfinite(x)
    assert np.abs(y[inside] - x[inside]).max() <= scale / 2 * (1 + 1e-6)


@pytest.mark.parametrize(
    "shape, perm",
    [((1, 3, 7, 5), (0, 2, 3, 1)), ((2, 3, 4, 9), (0, 2, 3, 1)), ((2, 4, 3, 5), (0, 2, 3, 1)),
     ((1, 2, 1, 7), (0, 2, 3, 1)), ((1, 5, 7, 3), (0, 2, 3, 1)), ((1, 5, 7, 3), (0, 3, 1, 2)),
     ((17, 33), (1, 0)), ((2, 3, 1, 4, 5, 2), (5, 3, 1, 0, 4, 2))],
    ids=["nchw-to-nhwc", "rgb-batch2", "c4-batch2", "c2", "c5-walk", "nhwc-to-nchw", "2d",
         "rank6"],
)  # fmt: skip
def test_transpose(rng, shape, perm):
    from cnnc.ops.s8 import TransposeParams

    x = rng.integers(-128, 128, shape).astype(np.int8)
    pad = 6 - len(shape)
    p = TransposeParams(len(shape), list(shape) + [1] * pad, list(perm) + list(range(len(perm), 6)))
    got = np.zeros(x.size, np.int8)
    run_s8_kernel("cnnc_s8_transpose__ref", p, x, got)
    assert_bit_exact(x.transpose(perm).ravel(), got, "C vs numpy.transpose")
