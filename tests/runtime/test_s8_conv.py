"""int8 convolutions: C kernels (general, grouped, depthwise, pointwise) equal the NumPy
definition (cnnc.ops.s8.conv_s8) bit for bit, and the NumPy definition is within 1 LSB
of an independent float computation (real-valued conv by shifted slices, then round)."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import run_s8_kernel
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import ConvParams, conv_s8, pack_weights

CHANNELS = [1, 3, 7, 8, 16, 17, 33]
ZERO_POINTS = {"zp-low": (-128, -128), "zp-high": (127, 127), "zp-mid": (-3, 10)}


def make_case(rng, kind, ch, stride, pad, spatial, zp, rounding, act=(-128, 127)):
    """A random conv with real scales; returns (tensors, params, scales)."""
    h, w = spatial
    k = 1 if kind == "pw" else 3
    c, oc, groups = {
        "conv": (ch, 5, 1),
        "group": (2 * ch, 6, 2),
        "dw": (ch, ch, ch),
        "pw": (ch, ch + 2, 1),
    }[kind]
    p_ = (1 if pad else 0) if k == 3 else 0
    oh, ow = (h + 2 * p_ - k) // stride + 1, (w + 2 * p_ - k) // stride + 1
    x = rng.integers(-128, 128, (2, h, w, c)).astype(np.int8)
    wq = rng.integers(-127, 128, (oc, k, k, c // groups)).astype(np.int8)
    bias = rng.integers(-5000, 5000, oc).astype(np.int32)
    s_x, s_w = 0.02, rng.uniform(0.001, 0.01, oc)
    # output scale so that the outputs span roughly the int8 range (some clamp)
    s_y = s_x * float(np.median(s_w)) * 255 * 127 * np.sqrt(k * k * c / groups) / 300
    mult, shift = quantize_multipliers(s_x * s_w / s_y)
    p = ConvParams(2, h, w, c, oh, ow, oc, k, k, stride, stride, 1, 1, p_, p_, groups, zp[0],
                   zp[1], act[0], act[1], ROUNDING_CODES[rounding])  # fmt: skip
    return (x, wq, bias, mult, shift), p, (s_x, s_w, s_y)


def float_conv_then_round(x, wq, bias, p, scales):
    """Independent definition: dequantise, convolve in float64 tap by tap, quantise."""
    s_x, s_w, s_y = scales
    xr = (x.astype(np.float64) - p.x_zero_point) * s_x
    pb = max(0, (p.out_h - 1) * p.stride_h + p.kernel_h - p.h - p.pad_top)
    pr = max(0, (p.out_w - 1) * p.stride_w + p.kernel_w - p.w - p.pad_left)
    xr = np.pad(xr, ((0, 0), (p.pad_top, pb), (p.pad_left, pr), (0, 0)))
    wr = wq.astype(np.float64) * s_w[:, None, None, None]
    cg, og = p.c // p.groups, p.out_c // p.groups
    y = np.zeros((p.n, p.out_h, p.out_w, p.out_c)) + bias * s_x * s_w
    for ky in range(p.kernel_h):
        for kx in range(p.kernel_w):
            tap = xr[:, ky : ky + p.stride_h * p.out_h : p.stride_h,
                     kx : kx + p.stride_w * p.out_w : p.stride_w]  # fmt: skip
            for o in range(p.out_c):
                g = o // og
                y[..., o] += tap[..., g * cg : (g + 1) * cg] @ wr[o, ky, kx]
    q = np.round(y / s_y) + p.y_zero_point
    return np.clip(q, p.act_min, p.act_max)


def run_c(kernel, tensors, p):
    x, w, *rest = tensors
    y = np.zeros((p.n, p.out_h, p.out_w, p.out_c), np.int8)
    run_s8_kernel(kernel, p, x, pack_weights(kernel, w, p.groups), *rest, y)
    return y


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("zp", list(ZERO_POINTS.values()), ids=list(ZERO_POINTS))
@pytest.mark.parametrize(
    "spatial, pad",
    [((1, 1), True), ((7, 6), False), ((7, 6), True)],
    ids=["1x1-pad1", "7x6-valid", "7x6-pad1"],
)
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("ch", CHANNELS, ids=[f"c{c}" for c in CHANNELS])
@pytest.mark.parametrize("kind", ["conv", "group", "dw"])
def test_conv3x3_c_equals_numpy_and_numpy_near_float(rng, kind, ch, stride, pad, spatial, zp,
                                                      rounding):  # fmt: skip
    tensors, p, scales = make_case(rng, kind, ch, stride, pad, spatial, zp, rounding)
    want = conv_s8(*tensors, p)
    assert_bit_exact(want, run_c("cnnc_s8_conv__ref", tensors, p), "C general vs NumPy")
    if kind == "dw":
        assert_bit_exact(want, run_c("cnnc_s8_dwconv__ref", tensors, p), "C dw vs NumPy")
    ref = float_conv_then_round(tensors[0], tensors[1], tensors[2], p, scales)
    err = np.abs(want.astype(np.float64) - ref)
    assert err.max() <= 1, (
        f"NumPy vs float: {err.max()} LSB at {np.unravel_index(err.argmax(), err.shape)}"
    )


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("zp", list(ZERO_POINTS.values()), ids=list(ZERO_POINTS))
@pytest.mark.parametrize("spatial", [(1, 1), (5, 3)], ids=["1x1", "5x3"])
@pytest.mark.parametrize("ch", CHANNELS, ids=[f"c{c}" for c in CHANNELS])
def test_pointwise_c_equals_numpy_and_numpy_near_float(rng, ch, spatial, zp, rounding):
    tensors, p, scales = make_case(rng, "pw", ch, 1, False, spatial, zp, rounding)
    want = conv_s8(*tensors, p)
    assert_bit_exact(want, run_c("cnnc_s8_pwconv__ref", tensors, p), "C pw vs NumPy")
    assert_bit_exact(want, run_c("cnnc_s8_conv__ref", tensors, p), "C general vs NumPy")
    ref = float_conv_then_round(tensors[0], tensors[1], tensors[2], p, scales)
    assert np.abs(want - ref).max() <= 1


@pytest.mark.parametrize("act", [(-128, 127), (-20, 127), (-20, 60)], ids=["none", "relu", "relu6"])
def test_clamp_bounds_apply(rng, act):
    tensors, p, _ = make_case(rng, "conv", 7, 1, True, (7, 6), (0, -20), "double", act)
    y = run_c("cnnc_s8_conv__ref", tensors, p)
    assert_bit_exact(conv_s8(*tensors, p), y, "C vs NumPy")
    assert y.min() == act[0] and y.max() == act[1], (y.min(), y.max())
