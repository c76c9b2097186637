"""float32 conv kernels (general, depthwise, depthwise 3x3, pointwise) against NumPy.

The expectation is an independent NumPy conv (zero padding, taps summed by
einsum over groups, float64). Each specialised kernel runs only on the shapes its
preconditions allow; all must agree with NumPy within float32 rounding.
"""

import numpy as np
import pytest
from f32_kernels import ACT_CASES, act_struct, apply_act, assert_close, fptr, kernels


def numpy_conv(x, w, b, strides, pads, dil, groups):
    """x[N,H,W,C], w[Co,KH,KW,C/g] -> [N,OH,OW,Co] in float64."""
    n, h, wd, c = x.shape
    co, kh, kw, cg = w.shape
    (sh, sw), (top, left, bottom, right), (dh, dw) = strides, pads, dil
    xp = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + left + right - dw * (kw - 1) - 1) // sw + 1
    xg = xp.reshape(n, xp.shape[1], xp.shape[2], groups, cg)
    wg = w.astype(np.float64).reshape(groups, co // groups, kh, kw, cg)
    y = np.zeros((n, oh, ow, groups, co // groups))
    for ky in range(kh):
        for kx in range(kw):
            rows = xg[:, ky * dh : ky * dh + sh * (oh - 1) + 1 : sh]
            taps = rows[:, :, kx * dw : kx * dw + sw * (ow - 1) + 1 : sw]
            y += np.einsum("nhwgc,goc->nhwgo", taps, wg[:, :, ky, kx])
    y = y.reshape(n, oh, ow, co)
    return y if b is None else y + b


def kernel_layout(kernel, w):
    """w[Co,KH,KW,C/g] in the layout each kernel reads (cnnc_f32.h)."""
    if kernel.startswith("dwconv"):
        return w[..., 0].transpose(1, 2, 0)  # [KH,KW,C]
    if kernel == "pwconv":
        return w[:, 0, 0, :].T  # [C,Co]
    if kernel == "conv_oc8":
        return w.transpose(1, 2, 3, 0)  # [KH,KW,C,Co]
    return w


def run_conv(kernel, x, w, b, strides, pads, dil, groups, act):
    ffi, lib = kernels()
    n, h, wd, c = x.shape
    co, kh, kw, _ = w.shape
    expected = numpy_conv(x, w, b, strides, pads, dil, groups)
    y = np.full(expected.shape, np.nan, dtype=np.float32)
    params = ffi.new("cnnc_f32_conv_params *", {
        "n": n, "h": h, "w": wd, "c": c, "out_h": y.shape[1], "out_w": y.shape[2], "out_c": co,
        "kernel_h": kh, "kernel_w": kw, "stride_h": strides[0], "stride_w": strides[1],
        "dilation_h": dil[0], "dilation_w": dil[1],
        "pad_top": pads[0], "pad_left": pads[1], "groups": groups, "act": act_struct(**act),
    })  # fmt: skip
    bias = fptr(ffi, b) if b is not None else ffi.NULL
    wk = np.ascontiguousarray(kernel_layout(kernel, w))
    getattr(lib, f"cnnc_f32_{kernel}__ref")(params, fptr(ffi, x), fptr(ffi, wk), bias, fptr(ffi, y))
    return y, apply_act(expected, **act)


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


SPATIAL = {"1x1": (1, 1), "5x5": (5, 5), "7x5": (7, 5), "17x17": (17, 17)}
PADS = {"pad0": (0, 0, 0, 0), "pad1": (1, 1, 1, 1), "pad-asym": (0, 2, 1, 0)}
STRIDES = {"s1": (1, 1), "s2": (2, 2), "s21": (2, 1)}


@pytest.mark.parametrize("act", ["none", "relu6", "leaky"])
@pytest.mark.parametrize("stride", list(STRIDES), ids=list(STRIDES))
@pytest.mark.parametrize("pads", list(PADS), ids=list(PADS))
@pytest.mark.parametrize("spatial", ["5x5", "7x5", "17x17"])
@pytest.mark.parametrize(
    "c,co,groups,k", [(3, 5, 1, 3), (6, 9, 3, 3), (17, 4, 1, 1), (4, 8, 2, 5), (1, 3, 1, 2)],
    ids=["c3-co5", "grouped3", "c17-1x1", "grouped2-5x5", "c1-2x2"],
)  # fmt: skip
def test_general_conv(rng, c, co, groups, k, spatial, pads, stride, act):
    h, w = SPATIAL[spatial]
    pads = PADS[pads]
    x, wt, b = rand(rng, 2, h, w, c), rand(rng, co, k, k, c // groups), rand(rng, co)
    y, expected = run_conv("conv", x, wt, b, STRIDES[stride], pads, (1, 1), groups, ACT_CASES[act])
    assert_close(y, expected)


@pytest.mark.parametrize("dil", [(2, 2), (1, 3)], ids=["d2", "d13"])
def test_general_conv_dilation(rng, dil):
    x, wt = rand(rng, 1, 17, 13, 3), rand(rng, 4, 3, 3, 3)
    y, expected = run_conv("conv", x, wt, None, (1, 2), (2, 1, 0, 3), dil, 1, ACT_CASES["none"])
    assert_close(y, expected)


@pytest.mark.parametrize("kernel", ["dwconv", "dwconv3x3"])
@pytest.mark.parametrize("act", ["none", "relu", "relu6"])
@pytest.mark.parametrize("stride", list(STRIDES), ids=list(STRIDES))
@pytest.mark.parametrize("pads", ["pad0", "pad1", "pad-asym"])
@pytest.mark.parametrize("spatial", ["7x5", "17x17"])
@pytest.mark.parametrize("c", [1, 3, 33])
def test_depthwise_3x3(rng, kernel, c, spatial, pads, stride, act):
    h, w = SPATIAL[spatial]
    x, wt, b = rand(rng, 1, h, w, c), rand(rng, c, 3, 3, 1), rand(rng, c)
    y, expected = run_conv(kernel, x, wt, b, STRIDES[stride], PADS[pads], (1, 1), c, ACT_CASES[act])
    assert_close(y, expected)


@pytest.mark.parametrize(
    "k,dil", [(5, (1, 1)), (1, (1, 1)), (3, (2, 2))], ids=["5x5", "1x1", "3x3-d2"]
)
@pytest.mark.parametrize("c", [1, 17])
def test_depthwise_general(rng, c, k, dil):
    x, wt = rand(rng, 2, 17, 7, c), rand(rng, c, k, k, 1)
    y, expected = run_conv("dwconv", x, wt, None, (2, 1), (2, 2, 2, 1), dil, c, ACT_CASES["elu"])
    assert_close(y, expected)


def test_depthwise_kernels_identical(rng):
    """The 3x3 fast path sums taps in the general kernel's order: bit-identical results."""
    x, wt, b = rand(rng, 1, 33, 17, 65), rand(rng, 65, 3, 3, 1), rand(rng, 65)
    general, _ = run_conv("dwconv", x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 65, ACT_CASES["none"])
    fast, _ = run_conv("dwconv3x3", x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), 65, ACT_CASES["none"])
    np.testing.assert_array_equal(fast, general)


@pytest.mark.parametrize("act", list(ACT_CASES))
@pytest.mark.parametrize("c,co", [(1, 1), (3, 17), (33, 65)])
@pytest.mark.parametrize("spatial", ["1x1", "7x5"])
def test_pointwise(rng, c, co, spatial, act):
    h, w = SPATIAL[spatial]
    x, wt, b = rand(rng, 3, h, w, c), rand(rng, co, 1, 1, c), rand(rng, co)
    y, expected = run_conv("pwconv", x, wt, b, (1, 1), (0, 0, 0, 0), (1, 1), 1, ACT_CASES[act])
    assert_close(y, expected)


@pytest.mark.parametrize("c,co", [(1, 1), (17, 7), (33, 65)])
def test_pointwise_identical_to_general_conv(rng, c, co):
    """Same summation order (bias, then channels in order) as the general kernel: bit-exact,
    across the 8-output blocks and the tail."""
    x, wt, b = rand(rng, 1, 7, 5, c), rand(rng, co, 1, 1, c), rand(rng, co)
    args = (x, wt, b, (1, 1), (0, 0, 0, 0), (1, 1), 1, ACT_CASES["relu6"])
    np.testing.assert_array_equal(run_conv("pwconv", *args)[0], run_conv("conv", *args)[0])


@pytest.mark.parametrize("kernel", ["dwconv", "dwconv3x3"])
def test_depthwise_identical_to_general_conv(rng, kernel):
    x, wt, b = rand(rng, 1, 17, 9, 33), rand(rng, 33, 3, 3, 1), rand(rng, 33)
    args = (x, wt, b, (2, 1), (1, 0, 1, 2), (1, 1), 33, ACT_CASES["none"])
    np.testing.assert_array_equal(run_conv(kernel, *args)[0], run_conv("conv", *args)[0])


@pytest.mark.parametrize("co", [1, 7, 8, 17])
@pytest.mark.parametrize("k,stride,pads,dil", [
    (3, (1, 1), (1, 1, 1, 1), (1, 1)),
    (5, (2, 1), (2, 0, 1, 2), (1, 1)),
    (3, (1, 2), (0, 2, 2, 0), (2, 1)),
    (2, (2, 2), (0, 0, 1, 1), (1, 1)),
], ids=["3x3-s1-p1", "5x5-s21-asym", "3x3-d21", "2x2-s2"])  # fmt: skip
@pytest.mark.parametrize("c", [1, 3, 17])
def test_conv_oc8(rng, c, co, k, stride, pads, dil):
    """The output-channel-tiled groups-1 conv: against NumPy, and bit-identical to the
    general kernel (same summation order), over full tiles and tails."""
    x, wt, b = rand(rng, 2, 13, 11, c), rand(rng, co, k, k, c), rand(rng, co)
    args = (x, wt, b, stride, pads, dil, 1, ACT_CASES["leaky"])
    y, expected = run_conv("conv_oc8", *args)
    assert_close(y, expected, atol=1e-4)  # up to 425 float32 terms of size ~1 per output
    np.testing.assert_array_equal(y, run_conv("conv", *args)[0])
