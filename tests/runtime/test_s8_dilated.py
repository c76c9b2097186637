"""Dilated int8 convolutions: every conv kernel (__ref and each x86 variant this CPU runs:
general, grouped, depthwise) honours dilation_h/dilation_w, bit for bit against the NumPy
definition (cnnc.ops.s8.conv_s8), which is checked against an independent float64
convolution (taps read at oy*sh - top + ky*dh) within one LSB."""

import functools

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import fill_struct, host_runs, load_s8_kernels, x86_variants
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import ConvParams, conv_s8, pack_weights

# (h, w, kernel, stride, pad, dilation_h, dilation_w): odd sizes, dilations 1..3, pads from
# none to the dilated half-span, strides 1/2, a 1-pixel-wide output, unequal dilations
GEOMETRY = {
    "9x7-k3-s1-p2-d2": (9, 7, 3, 1, 2, 2, 2),
    "11x9-k3-s1-p3-d3": (11, 9, 3, 1, 3, 3, 3),
    "9x8-k3-s2-p1-d2": (9, 8, 3, 2, 1, 2, 2),
    "7x7-k3-s1-p0-d3": (7, 7, 3, 1, 0, 3, 3),
    "10x9-k3-s2-p2-d1x3": (10, 9, 3, 2, 2, 1, 3),
    "5x13-k5-s1-p4-d2": (5, 13, 5, 1, 4, 2, 2),
}
KINDS = {"conv": (5, 10, 1), "group": (6, 4, 2), "dw": (19, 19, 19), "dw8": (8, 8, 8)}


def dilated_case(rng, kind, geometry):
    h, w, k, s, pad, dh, dw = GEOMETRY[geometry]
    c, oc, groups = KINDS[kind]
    oh = (h + 2 * pad - (k - 1) * dh - 1) // s + 1
    ow = (w + 2 * pad - (k - 1) * dw - 1) // s + 1
    x = rng.integers(-128, 128, (2, h, w, c)).astype(np.int8)
    wq = rng.integers(-127, 128, (oc, k, k, c // groups)).astype(np.int8)
    bias = rng.integers(-4000, 4000, oc).astype(np.int32)
    s_x, s_w = 0.02, rng.uniform(0.001, 0.01, oc)
    s_y = s_x * float(np.median(s_w)) * 255 * 127 * np.sqrt(k * k * c / groups) / 300
    mult, shift = quantize_multipliers(s_x * s_w / s_y)
    p = ConvParams(2, h, w, c, oh, ow, oc, k, k, s, s, dh, dw, pad, pad, groups, -7, 3, -128, 127,
                   ROUNDING_CODES["single"])  # fmt: skip
    return p, (x, wq, bias, mult.astype(np.int32), shift.astype(np.int32)), (s_x, s_w, s_y)


def float_dilated_conv(x, wq, bias, p, scales):
    """Independent definition: dequantise, convolve tap by tap in float64, quantise."""
    s_x, s_w, s_y = scales
    xr = (x.astype(np.float64) - p.x_zero_point) * s_x
    y = np.zeros((p.n, p.out_h, p.out_w, p.out_c)) + bias * s_x * s_w
    cg, og = p.c // p.groups, p.out_c // p.groups
    wr = wq.astype(np.float64) * s_w[:, None, None, None]
    span_h, span_w = (p.kernel_h - 1) * p.dilation_h, (p.kernel_w - 1) * p.dilation_w
    big = max(span_h, span_w) + p.stride_h * p.out_h + p.stride_w * p.out_w  # zero margin
    xp = np.pad(xr, ((0, 0), (p.pad_top, big), (p.pad_left, big), (0, 0)))
    for ky in range(p.kernel_h):
        for kx in range(p.kernel_w):
            y0, x0 = ky * p.dilation_h, kx * p.dilation_w  # input (oy*sh - top + ky*dh)
            tap = xp[:, y0 : y0 + p.stride_h * p.out_h : p.stride_h,
                     x0 : x0 + p.stride_w * p.out_w : p.stride_w]  # fmt: skip
            for g in range(p.groups):
                o = slice(g * og, (g + 1) * og)
                y[..., o] += tap[..., g * cg : (g + 1) * cg] @ wr[o, ky, kx].T
    return np.clip(np.round(y / s_y) + p.y_zero_point, -128, 127)


def kernel_of(kind: str) -> str:
    return "cnnc_s8_dwconv" if kind.startswith("dw") else "cnnc_s8_conv"


def isas(kind: str) -> list:
    rows = [v for v in x86_variants("s8") if v.kernel == f"{kernel_of(kind)}__ref"]
    return ["ref", *(pytest.param(v, id=v.isa) for v in rows)]


@functools.cache
def kernels():
    return load_s8_kernels()


def run_kernel(fn, p, x, w_packed, bias, mult, shift):
    ffi, lib = kernels()
    y = np.full(p.n * p.out_h * p.out_w * p.out_c, 0x5A, np.int8)
    bufs = [ffi.from_buffer(t, a) for t, a in
            [("int8_t[]", x), ("int8_t[]", w_packed), ("int32_t[]", bias),
             ("int32_t[]", mult), ("int32_t[]", shift), ("int8_t[]", y)]]  # fmt: skip
    getattr(lib, fn)(fill_struct(ffi, p), *bufs)
    return y.reshape(p.n, p.out_h, p.out_w, p.out_c)


@pytest.mark.parametrize("geometry", list(GEOMETRY))
@pytest.mark.parametrize("kind", list(KINDS))
def test_numpy_definition_near_float(rng, kind, geometry):
    p, (x, wq, bias, mult, shift), scales = dilated_case(rng, kind, geometry)
    want = float_dilated_conv(x, wq, bias, p, scales)
    got = conv_s8(x, wq, bias, mult, shift, p)
    assert np.abs(got.astype(np.int64) - want).max() <= 1, f"{kind} {geometry}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_variant_equals_numpy(rng, kind):
    for isa in isas(kind):
        row = getattr(isa, "values", [None])[0]
        if row is not None and host_runs(row):
            continue  # a tier this CPU lacks: the others still run (the skip is per tier below)
        fn = f"{kernel_of(kind)}__{'ref' if row is None else row.isa}"
        for geometry in GEOMETRY:
            p, (x, wq, bias, mult, shift), _ = dilated_case(rng, kind, geometry)
            want = conv_s8(x, wq, bias, mult, shift, p)
            packed = pack_weights(f"{kernel_of(kind)}__ref", wq, p.groups)
            got = run_kernel(fn, p, x, packed, bias, mult, shift)
            assert_bit_exact(want, got, f"{fn} {geometry}")


def test_this_cpu_runs_a_simd_tier():
    """The loop above silently passes tiers this CPU lacks; say which ran."""
    rows = [v for v in x86_variants("s8") if v.kernel == "cnnc_s8_dwconv__ref"]
    runnable = [v.isa for v in rows if not host_runs(v)]
    if not runnable:
        pytest.skip("this CPU lacks avx2 and avx512f (no x86 s8 dwconv tier runs here)")
    assert "avx2" in runnable
