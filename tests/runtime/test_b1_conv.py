"""Binary conv kernels: C (runtime_c/kernels/b1_conv.c) == NumPy mirror (cnnc.ops.b1)
bit for bit, and the NumPy mirror == a plain float +-1 convolution exactly."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from b1_helpers import CHANNELS, call_kernel, pm1
from cnnc.host.kernels import load_b1_kernels
from cnnc.ops import b1, bitpack
from numpy.lib.stride_tricks import sliding_window_view


@pytest.fixture(scope="module")
def kernels():
    return load_b1_kernels()


def float_conv(x, w, strides, pads, groups, pad_value=0.0):
    """Plain float64 conv over +-1 values (NHWC, weights [Co,KH,KW,C/g]): the oracle."""
    n, h, wd, c = x.shape
    co, kh, kw, cg = w.shape
    top, left, bottom, right = pads
    xp = np.pad(
        x.astype(np.float64),
        ((0, 0), (top, bottom), (left, right), (0, 0)),
        constant_values=pad_value,
    )
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, :: strides[0], :: strides[1]]
    oh = (h + top + bottom - kh) // strides[0] + 1
    ow = (wd + left + right - kw) // strides[1] + 1
    win = win[:, :oh, :ow].reshape(n, oh, ow, groups, cg, kh, kw)
    wg = w.astype(np.float64).reshape(groups, co // groups, kh, kw, cg)
    return np.einsum("nhwgcij,goijc->nhwgo", win, wg).reshape(n, oh, ow, co)


def conv_params(ffi, x_shape, co, k, stride, pads, groups, pad_one, out_hw, lo=-np.inf, hi=np.inf):
    n, h, w, c = x_shape
    return ffi.new(
        "cnnc_b1_conv_params *",
        {
            "n": n,
            "h": h,
            "w": w,
            "c": c,
            "out_h": out_hw[0],
            "out_w": out_hw[1],
            "out_c": co,
            "kernel_h": k,
            "kernel_w": k,
            "stride_h": stride,
            "stride_w": stride,
            "pad_top": pads[0],
            "pad_left": pads[1],
            "groups": groups,
            "pad_one": int(pad_one),
            "act_min": lo,
            "act_max": hi,
        },
    )


def c_conv_dot(kernels, xp, x_shape, wp, co, k, stride, pads, groups, pad_one, out_hw):
    p = conv_params(kernels[0], x_shape, co, k, stride, pads, groups, pad_one, out_hw)
    y = np.zeros((x_shape[0], *out_hw, co), np.int32)
    call_kernel(kernels, "cnnc_b1_conv_dot__ref", p, xp, wp, y)
    return y


def make_case(rng, c, co, k, stride, padded, groups, h=7, w=5):
    x = pm1(rng, (2, h, w, c))
    wt = pm1(rng, (co, k, k, c // groups))
    pads = (k // 2,) * 4 if padded else (0, 0, 0, 0)
    oh = (h + 2 * pads[0] - k) // stride + 1
    ow = (w + 2 * pads[1] - k) // stride + 1
    return x, wt, pads, (oh, ow)


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("k", [1, 3], ids=["k1", "k3"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("padded", [False, True], ids=["valid", "pad"])
def test_conv_dot(kernels, rng, c, k, stride, padded):
    co = 33 if c != 33 else 17
    x, wt, pads, out_hw = make_case(rng, c, co, k, stride, padded, 1)
    want = float_conv(x, wt, (stride, stride), pads, 1)
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(wt)
    ref = b1.conv_dot(xp, c, wp, (stride, stride), pads, 1)
    assert_bit_exact(want.astype(np.int32), ref, "numpy dot vs float conv")
    got = c_conv_dot(kernels, xp, x.shape, wp, co, k, stride, pads, 1, False, out_hw)
    assert_bit_exact(ref, got, "C dot vs numpy dot")


GROUPED = [(3, 3), (32, 32), (33, 33), (64, 64), (65, 65), (64, 2), (66, 3), (128, 4)]


@pytest.mark.parametrize("c,groups", GROUPED, ids=[f"C{c}g{g}" for c, g in GROUPED])
@pytest.mark.parametrize("k", [1, 3], ids=["k1", "k3"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
def test_grouped_and_depthwise_conv_dot(kernels, rng, c, groups, k, stride):
    co = 2 * c if groups == c else c  # depthwise with multiplier 2, or grouped
    x, wt, pads, out_hw = make_case(rng, c, co, k, stride, True, groups, h=9, w=7)
    want = float_conv(x, wt, (stride, stride), pads, groups)
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(wt)
    ref = b1.conv_dot(xp, c, wp, (stride, stride), pads, groups)
    assert_bit_exact(want.astype(np.int32), ref, "numpy dot vs float conv")
    got = c_conv_dot(kernels, xp, x.shape, wp, co, k, stride, pads, groups, False, out_hw)
    assert_bit_exact(ref, got, "C dot vs numpy dot")


@pytest.mark.parametrize("c", [3, 33, 64], ids=["C3", "C33", "C64"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
def test_one_padding(kernels, rng, c, stride):
    x, wt, pads, out_hw = make_case(rng, c, 17, 3, stride, True, 1)
    want = float_conv(x, wt, (stride, stride), pads, 1, pad_value=1.0)
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(wt)
    ref = b1.conv_dot(xp, c, wp, (stride, stride), pads, 1, pad_one=True)
    assert_bit_exact(want.astype(np.int32), ref, "numpy dot vs float conv, one padding")
    got = c_conv_dot(kernels, xp, x.shape, wp, 17, 3, stride, pads, 1, True, out_hw)
    assert_bit_exact(ref, got, "C dot vs numpy dot, one padding")


@pytest.mark.parametrize("c", [1, 31, 65], ids=["C1", "C31", "C65"])
@pytest.mark.parametrize("co", [1, 33, 64], ids=["Co1", "Co33", "Co64"])
def test_bits_transform(kernels, rng, c, co):
    ffi, _ = kernels
    x, wt, pads, out_hw = make_case(rng, c, co, 3, 1, True, 1)
    dot = float_conv(x, wt, (1, 1), pads, 1)
    k = 9 * c
    thr = rng.integers(-k, k + 2, co).astype(np.int32)
    want = bitpack.pack_bits(dot < thr)  # bit 1 (-1) where dot < threshold
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(wt)
    node_out = b1.bits_transform(b1.conv_dot(xp, c, wp, (1, 1), pads), thr)
    np.testing.assert_array_equal(node_out, want)
    p = conv_params(ffi, x.shape, co, 3, 1, pads, 1, False, out_hw)
    got = np.full(want.shape, 0xFFFFFFFF, np.uint32)  # the kernel must clear tail bits
    call_kernel(kernels, "cnnc_b1_conv_bits__ref", p, xp, wp, thr, got)
    assert_bit_exact(want, got, "C packed output")


@pytest.mark.parametrize("c", [3, 32, 65], ids=["C3", "C32", "C65"])
@pytest.mark.parametrize("clamp", [False, True], ids=["noact", "relu6"])
def test_f32_transform(kernels, rng, c, clamp):
    ffi, _ = kernels
    co = 17
    x, wt, pads, out_hw = make_case(rng, c, co, 3, 2, True, 1)
    dot = float_conv(x, wt, (2, 2), pads, 1)
    mul = rng.uniform(0.01, 0.5, co).astype(np.float32)
    bias = rng.standard_normal(co).astype(np.float32)
    lo, hi = (0.0, 6.0) if clamp else (-np.inf, np.inf)
    want = np.clip(dot.astype(np.float32) * mul + bias, lo, hi).astype(np.float32)
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(wt)
    ref = b1.f32_transform(b1.conv_dot(xp, c, wp, (2, 2), pads), mul, bias, lo, hi)
    assert_bit_exact(want, ref, "numpy float output")
    p = conv_params(ffi, x.shape, co, 3, 2, pads, 1, False, out_hw, lo, hi)
    got = np.zeros(want.shape, np.float32)
    call_kernel(kernels, "cnnc_b1_conv_f32__ref", p, xp, wp, mul, bias, got)
    assert_bit_exact(ref, got, "C float output")


@pytest.mark.parametrize("c", [3, 32, 65], ids=["C3", "C32", "C65"])
@pytest.mark.parametrize("zero_point", [-128, -5, 17], ids=["zp-128", "zp-5", "zp17"])
def test_s8_transform(kernels, rng, c, zero_point):
    """int8 output: the float output quantised as the int8 boundary does (round half to
    even of v / scale, plus zero point, saturated)."""
    ffi, _ = kernels
    co = 17
    x, wt, pads, out_hw = make_case(rng, c, co, 3, 1, True, 1)
    dot = float_conv(x, wt, (1, 1), pads, 1)
    mul = rng.uniform(0.01, 0.5, co).astype(np.float32)
    bias = rng.standard_normal(co).astype(np.float32)
    scale = np.float32(0.05)
    v = (dot.astype(np.float32) * mul + bias).astype(np.float32)
    want = np.clip(np.rint(v / scale) + zero_point, -128, 127).astype(np.int8)
    p = conv_params(ffi, x.shape, co, 3, 1, pads, 1, False, out_hw)
    p.out_scale, p.out_zero_point = scale, zero_point
    got = np.zeros(want.shape, np.int8)
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(wt)
    call_kernel(kernels, "cnnc_b1_conv_s8__ref", p, xp, wp, mul, bias, got)
    assert_bit_exact(want, got, "C int8 output")
    assert np.unique(got).size > 5, "the case should span many int8 values"
