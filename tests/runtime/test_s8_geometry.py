"""int8 conv and pooling over random geometry (hypothesis): non-square kernels up to 5x5,
strides up to 3, independent asymmetric padding (SAME_UPPER/LOWER style), groups and
depth multipliers. The C kernels equal the NumPy definitions bit for bit; the conv is also
within 1 LSB of a float computation."""

import numpy as np
from cnnc.host.kernels import run_s8_kernel
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import (
    ConvParams,
    PoolParams,
    avgpool_s8,
    conv_s8,
    maxpool_s8,
    pack_weights,
    s8_conv_kernel,
)
from hypothesis import given, settings
from hypothesis import strategies as st


@st.composite
def geometries(draw):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pads = [draw(st.integers(0, k - 1)) for k in (kh, kw, kh, kw)]  # top, left, bottom, right
    h = draw(st.integers(max(1, kh - pads[0] - pads[2]), 9))
    w = draw(st.integers(max(1, kw - pads[1] - pads[3]), 9))
    oh = (h + pads[0] + pads[2] - kh) // sh + 1
    ow = (w + pads[1] + pads[3] - kw) // sw + 1
    return h, w, kh, kw, sh, sw, pads, oh, ow


@settings(max_examples=150, deadline=None)
@given(
    geo=geometries(),
    groups=st.sampled_from([1, 2, 3]),
    per_group=st.integers(1, 4),
    multiplier=st.integers(1, 3),
    zps=st.tuples(st.integers(-128, 127), st.integers(-128, 127)),
    rounding=st.sampled_from(["single", "double"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_conv_random_geometry(geo, groups, per_group, multiplier, zps, rounding, seed):
    rng = np.random.default_rng(seed)
    h, w, kh, kw, sh, sw, pads, oh, ow = geo
    c, oc = groups * per_group, groups * multiplier
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    wq = rng.integers(-127, 128, (oc, kh, kw, per_group)).astype(np.int8)
    bias = rng.integers(-2000, 2000, oc).astype(np.int32)
    s_x, s_w = 0.03, rng.uniform(0.002, 0.01, oc)
    s_y = s_x * float(s_w.mean()) * 128 * 60 * np.sqrt(kh * kw * per_group) / 100
    mult, shift = quantize_multipliers(s_x * s_w / s_y)
    p = ConvParams(1, h, w, c, oh, ow, oc, kh, kw, sh, sw, 1, 1, pads[0], pads[1], groups, zps[0],
                   zps[1], -128, 127, ROUNDING_CODES[rounding])  # fmt: skip
    want = conv_s8(x, wq, bias, mult, shift, p)
    for kernel in {"cnnc_s8_conv__ref", s8_conv_kernel(p)}:
        got = np.zeros(want.shape, np.int8)
        run_s8_kernel(kernel, p, x, pack_weights(kernel, wq, groups), bias, mult, shift, got)
        np.testing.assert_array_equal(got, want, err_msg=f"{kernel} {p}")
    # float: pad with real zeros, correlate tap by tap, quantise
    xr = np.pad((x.astype(np.float64) - zps[0]) * s_x,
                ((0, 0), (pads[0], pads[2] + sh), (pads[1], pads[3] + sw), (0, 0)))  # fmt: skip
    y = np.zeros((1, oh, ow, oc)) + bias * s_x * s_w
    for ky in range(kh):
        for kx in range(kw):
            tap = xr[:, ky : ky + sh * oh : sh, kx : kx + sw * ow : sw]
            for o in range(oc):
                g = o // multiplier
                y[..., o] += tap[..., g * per_group : (g + 1) * per_group] @ (
                    wq[o, ky, kx].astype(np.float64) * s_w[o])  # fmt: skip
    ref = np.clip(np.round(y / s_y) + zps[1], -128, 127)
    assert np.abs(want - ref).max() <= 1


@settings(max_examples=100, deadline=None)
@given(geo=geometries(), c=st.integers(1, 9), zp=st.integers(-128, 127),
       include_pad=st.booleans(), seed=st.integers(0, 2**32 - 1))  # fmt: skip
def test_pools_random_geometry(geo, c, zp, include_pad, seed):
    rng = np.random.default_rng(seed)
    h, w, kh, kw, sh, sw, pads, oh, ow = geo
    x = rng.integers(-128, 128, (2, h, w, c)).astype(np.int8)
    p = PoolParams(2, h, w, c, oh, ow, kh, kw, sh, sw, pads[0], pads[1], int(include_pad), zp,
                   -128, 127)  # fmt: skip
    for kernel, fn in (("cnnc_s8_maxpool__ref", maxpool_s8), ("cnnc_s8_avgpool__ref", avgpool_s8)):
        want = fn(x, p)
        got = np.zeros(want.shape, np.int8)
        run_s8_kernel(kernel, p, x, got)
        np.testing.assert_array_equal(got, want, err_msg=f"{kernel} {p}")
    # max pooling ignores padding: compare with a loop over windows
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * sh - pads[0], ox * sw - pads[1]
            win = x[:, max(y0, 0) : y0 + kh, max(x0, 0) : x0 + kw]
            np.testing.assert_array_equal(maxpool_s8(x, p)[:, oy, ox], win.max(axis=(1, 2)))
