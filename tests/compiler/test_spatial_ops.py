"""The spatial ops of segmentation heads: dilated Conv, Pad, Resize and ConvTranspose.

* float32: the imported and lowered graphs' references equal onnxruntime within 1e-5 of
  the output range (tolerance stated per assertion) over grids of each op's attributes;
* the C kernels (f32 and int8 pad/resize, via cffi) equal the NumPy definitions bit for
  bit (cnnc.ops.spatial), the int8 bilinear also within one LSB of float interpolation;
* int8: the quantised lowered graph of each op equals its C bit for bit through the
  compiled head (tests/e2e/test_segmentation_head.py).
"""

import functools

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc import passes, reference
from cnnc.errors import CnncError
from cnnc.frontend import onnx_import
from cnnc.host.kernels import load_f32_kernels, load_s8_kernels
from cnnc.ops import spatial
from onnx import helper
from onnx_builders import make_model, run_onnxruntime

TOL = 1e-5  # float32 vs onnxruntime, relative to the output range


def assert_close(want, got, what, tol=TOL):
    err = np.abs(got.astype(np.float64) - want)
    limit = tol * max(1.0, float(np.abs(want).max()))
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= limit, (
        f"{what}: |error| {err[worst]:.3g} > {limit:.3g} at {worst}: "
        f"expected {want[worst]!r}, actual {got[worst]!r}"
    )


def check_against_onnxruntime(model, x, ops_expected=()):
    """Imported and lowered references equal onnxruntime; returns the lowered graph."""
    (want,) = run_onnxruntime(model, {"x": x})
    imported = onnx_import.load(model)
    lowered = passes.lower(imported)
    for op in ops_expected:
        assert op in [n.op for n in lowered.nodes], [n.op for n in lowered.nodes]
    for stage, graph in (("imported", imported), ("lowered", lowered)):
        got = reference.run(graph, {"x": x})[graph.outputs[0]]
        assert got.shape == want.shape, f"{stage}: {got.shape} != {want.shape}"
        assert_close(want, got, f"{stage} reference")
    return lowered


# ---------------------------------------------------------------- dilated conv


# (h, w, kernel, stride, pads, dilations, groups): odd sizes, dilations 1..3, asymmetric
# pads, strides 1/2, grouped and depthwise
CONV = {
    "d2-p2": (9, 11, 3, 1, [2, 2, 2, 2], [2, 2], 1),
    "d3-p3-dw": (13, 9, 3, 1, [3, 3, 3, 3], [3, 3], 6),
    "d2-s2-asym": (11, 10, 3, 2, [1, 2, 3, 0], [2, 2], 1),
    "d1x3-g2": (9, 13, 3, 1, [1, 3, 1, 3], [1, 3], 2),
    "k5-d2-p0": (13, 13, 5, 1, [0, 0, 0, 0], [2, 2], 1),
}


@pytest.mark.parametrize("case", list(CONV))
def test_dilated_conv_equals_onnxruntime(rng, case):
    h, w, k, s, pads, dil, groups = CONV[case]
    c, oc = 6, 6 if groups == 6 else 4
    inits = {
        "w": rng.standard_normal((oc, c // groups, k, k)).astype(np.float32),
        "b": rng.standard_normal(oc).astype(np.float32),
    }
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", strides=[s, s],
                            pads=pads, dilations=dil, group=groups)  # fmt: skip
    model = make_model([node], {"x": [1, c, h, w]}, {"y": None}, inits)
    x = rng.standard_normal((2, c, h, w)).astype(np.float32)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"  # symbolic N
    lowered = check_against_onnxruntime(model, x, ["conv2d"])
    conv = next(n for n in lowered.nodes if n.op == "conv2d")
    assert conv.attrs.get("dilations", [1, 1]) == dil


def test_dilated_1d_conv_equals_onnxruntime(rng):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d", dilations=[3], pads=[3, 3])
    w = rng.standard_normal((5, 4, 3)).astype(np.float32)
    model = make_model([node], {"x": [1, 4, 17]}, {"y": None}, {"w": w})
    check_against_onnxruntime(model, rng.standard_normal((1, 4, 17)).astype(np.float32))


# ---------------------------------------------------------------- Pad


PADS = {
    "constant-0": ("constant", [0, 0, 1, 2, 0, 0, 3, 0], 0.0),
    "constant-1.5": ("constant", [0, 0, 2, 0, 0, 0, 1, 2], 1.5),
    "reflect": ("reflect", [0, 0, 2, 1, 0, 0, 1, 3], None),
    "edge": ("edge", [0, 0, 3, 0, 0, 0, 0, 2], None),
}


@pytest.mark.parametrize("case", list(PADS))
def test_pad_equals_onnxruntime(rng, case):
    mode, pads, value = PADS[case]
    inits = {"pads": np.array(pads, np.int64)}
    inputs = ["x", "pads"]
    if value is not None:
        inits["value"] = np.array(value, np.float32)
        inputs.append("value")
    node = helper.make_node("Pad", inputs, ["y"], name="pad", mode=mode)
    model = make_model([node], {"x": [1, 3, 5, 7]}, {"y": None}, inits)
    check_against_onnxruntime(model, rng.standard_normal((1, 3, 5, 7)).astype(np.float32),
                              ["pad2d"])  # fmt: skip


def test_zero_pad_folds_into_the_following_conv(rng):
    inits = {
        "pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64),
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        helper.make_node("Conv", ["p", "w"], ["y"], name="conv", pads=[1, 0, 0, 1]),
    ]
    model = make_model(nodes, {"x": [1, 3, 7, 6]}, {"y": None}, inits)
    lowered = check_against_onnxruntime(model, rng.standard_normal((1, 3, 7, 6)).astype(np.float32))
    ops = [n.op for n in lowered.nodes]
    assert "pad2d" not in ops, ops
    conv = next(n for n in lowered.nodes if n.op == "conv2d")
    assert conv.attrs["pads"] == [2, 2, 2, 2]


@pytest.mark.parametrize(
    "pads, mode, message",
    [
        ([0, 1, 0, 0, 0, 0, 0, 0], "constant", "spatial padding only"),
        ([0, 0, 5, 0, 0, 0, 0, 0], "reflect", "must be smaller"),
        ([0, 0, -1, 0, 0, 0, 0, 0], "constant", "negative pads"),
    ],
    ids=["channel-pad", "reflect-too-wide", "negative"],
)
def test_pad_refuses_what_it_cannot_do(pads, mode, message):
    node = helper.make_node("Pad", ["x", "pads"], ["y"], name="badpad", mode=mode)
    model = make_model([node], {"x": [1, 3, 5, 7]}, {"y": None},
                       {"pads": np.array(pads, np.int64)})  # fmt: skip
    with pytest.raises(CnncError, match=message) as err:
        passes.lower(onnx_import.load(model))
    assert "badpad" in str(err.value)


# ---------------------------------------------------------------- Resize


# (mode, coordinate mode, nearest mode, in (h, w), scales or sizes): torch's exports
# (nearest asymmetric/floor, bilinear pytorch_half_pixel, align_corners), TF's
# (half_pixel / asymmetric, round_prefer_ceil), non-integer scales, downsampling, sizes
RESIZE = {
    "nearest-torch": ("nearest", "asymmetric", "floor", (5, 7), [1, 1, 2, 2]),
    "nearest-half-pixel": ("nearest", "half_pixel", "round_prefer_floor", (5, 7), [1, 1, 1.5, 2.5]),
    "nearest-tf-ceil": ("nearest", "asymmetric", "round_prefer_ceil", (6, 5), [1, 1, 3, 2]),
    "nearest-ceil-down": ("nearest", "align_corners", "ceil", (9, 8), [1, 1, 0.5, 0.75]),
    "linear-pytorch": ("linear", "pytorch_half_pixel", None, (5, 7), [1, 1, 2, 2]),
    "linear-half-pixel": ("linear", "half_pixel", None, (5, 7), [1, 1, 1.7, 2.5]),
    "linear-align": ("linear", "align_corners", None, (5, 6), "sizes:11,9"),
    "linear-asym-down": ("linear", "asymmetric", None, (9, 8), [1, 1, 0.6, 0.5]),
    "linear-pytorch-to-1": ("linear", "pytorch_half_pixel", None, (5, 7), "sizes:1,4"),
}


def resize_model(mode, coord, nearest, hw, scales, c=3):
    attrs = {"mode": mode, "coordinate_transformation_mode": coord}
    if nearest:
        attrs["nearest_mode"] = nearest
    if isinstance(scales, str):
        sizes = [1, c, *(int(s) for s in scales.split(":")[1].split(","))]
        inits, inputs = {"sizes": np.array(sizes, np.int64)}, ["x", "", "", "sizes"]
    else:
        inits, inputs = {"scales": np.array(scales, np.float32)}, ["x", "", "scales"]
    node = helper.make_node("Resize", inputs, ["y"], name="resize", **attrs)
    return make_model([node], {"x": [1, c, *hw]}, {"y": None}, inits)


@pytest.mark.parametrize("case", list(RESIZE))
def test_resize_equals_onnxruntime(rng, case):
    mode, coord, nearest, hw, scales = RESIZE[case]
    model = resize_model(mode, coord, nearest, hw, scales)
    x = rng.standard_normal((1, 3, *hw)).astype(np.float32)
    check_against_onnxruntime(model, x, ["resize2d"])


def test_resize_refuses_cubic():
    model = resize_model("cubic", "half_pixel", None, (5, 5), [1, 1, 2, 2])
    with pytest.raises(CnncError, match="mode 'cubic'"):
        passes.lower(onnx_import.load(model))


# ---------------------------------------------------------------- ConvTranspose


# (h, w, kernel, strides, pads, output_padding, groups, dilations)
CONV_T = {
    "s2-k3-p1-op1": (5, 7, 3, [2, 2], [1, 1, 1, 1], [1, 1], 1, [1, 1]),
    "s2-k4-p1": (4, 5, 4, [2, 2], [1, 1, 1, 1], [0, 0], 1, [1, 1]),
    "s3x2-k3-asym-g2": (5, 4, 3, [3, 2], [0, 1, 2, 0], [1, 0], 2, [1, 1]),
    "s1-k3-d2": (6, 5, 3, [1, 1], [1, 1, 1, 1], [0, 0], 1, [2, 2]),
    "s2-dw": (5, 5, 3, [2, 2], [1, 1, 1, 1], [1, 1], 4, [1, 1]),
}


@pytest.mark.parametrize("case", list(CONV_T))
def test_conv_transpose_equals_onnxruntime(rng, case):
    h, w, k, strides, pads, out_pad, groups, dil = CONV_T[case]
    c, oc = 4, 4 if groups == 4 else 6
    inits = {"w": rng.standard_normal((c, oc // groups, k, k)).astype(np.float32),
             "b": rng.standard_normal(oc).astype(np.float32)}  # fmt: skip
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="convT",
                            strides=strides, pads=pads, output_padding=out_pad, group=groups,
                            dilations=dil)  # fmt: skip
    model = make_model([node], {"x": [1, c, h, w]}, {"y": None}, inits)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    check_against_onnxruntime(model, x, ["conv2d"])


# ---------------------------------------------------------------- C kernels


@functools.cache
def f32_lib():
    return load_f32_kernels()


@functools.cache
def s8_lib():
    return load_s8_kernels()


def call(lib_pair, fn, struct, params, arrays, out):
    ffi, lib = lib_pair
    p = ffi.new(f"{struct} *", params)
    types = {np.dtype(np.float32): "float[]", np.dtype(np.int8): "int8_t[]",
             np.dtype(np.int32): "int32_t[]"}  # fmt: skip
    bufs = [ffi.from_buffer(types[a.dtype], a) for a in [*arrays, out]]
    getattr(lib, fn)(p, *bufs)
    return out


PAD_KERNEL = {
    "reflect": ("reflect", (2, 1, 1, 3), (1, 1)),
    "edge": ("edge", (3, 0, 0, 2), (1, 1)),
    "constant": ("constant", (1, 2, 2, 0), (1, 1)),
    "zero-insert-s2": ("constant", (0, 0, 0, 0), (2, 2)),
    "zero-insert-s3x2-pad": ("constant", (2, 1, 1, 2), (3, 2)),
}


@pytest.mark.parametrize("case", list(PAD_KERNEL))
@pytest.mark.parametrize("precision", ["f32", "s8"])
def test_pad_kernel_equals_numpy(rng, case, precision):
    mode, (t, left, b, r), (sh, sw) = PAD_KERNEL[case]
    n, h, w, c = 2, 5, 7, 3
    oh, ow = t + (h - 1) * sh + 1 + b, left + (w - 1) * sw + 1 + r
    if precision == "f32":
        x, value, lib = rng.standard_normal((n, h, w, c)).astype(np.float32), -0.75, f32_lib()
    else:
        x, value, lib = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8), -9, s8_lib()
    want = spatial.pad_nhwc(x, (t, left, b, r), mode, value, (sh, sw))
    params = dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, pad_top=t, pad_left=left,
                  stride_h=sh, stride_w=sw, mode=spatial.PAD_MODES[mode], value=value)  # fmt: skip
    got = call(lib, f"cnnc_{precision}_pad__ref", f"cnnc_{precision}_pad_params", params, [x],
               np.zeros(want.shape, want.dtype))  # fmt: skip
    assert_bit_exact(want, got, f"{precision} pad {case}")
    if mode == "reflect":  # the definition against NumPy's own padding
        np.testing.assert_array_equal(
            want, np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), "reflect")
        )


@pytest.mark.parametrize("case", [k for k in RESIZE if not isinstance(RESIZE[k][4], str)])
def test_resize_kernels_equal_numpy(rng, case):
    mode, coord, nearest, (h, w), scales = RESIZE[case]
    oh, ow = int(np.floor(h * scales[2])), int(np.floor(w * scales[3]))
    (y0, y1, wy), (x0, x1, wx) = (
        spatial.resize_axis(oh, h, scales[2], mode, coord, nearest),
        spatial.resize_axis(ow, w, scales[3], mode, coord, nearest),
    )
    n, c = 2, 5
    ytab, xtab = np.stack([y0, y1], 1), np.stack([x0, x1], 1)
    params = dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, mode=spatial.RESIZE_MODES[mode])
    # float32
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    wy2, wx2 = spatial.float_weights(wy), spatial.float_weights(wx)
    want = spatial.resize_nhwc(x, ytab, xtab, wy2, wx2, mode)
    got = call(f32_lib(), "cnnc_f32_resize__ref", "cnnc_f32_resize_params", params,
               [x, ytab, xtab, wy2, wx2], np.zeros(want.shape, want.dtype))  # fmt: skip
    assert_bit_exact(want, got, f"f32 resize {case}")
    # int8: C == NumPy bit for bit, and within one LSB of float interpolation
    xq = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
    xq.reshape(-1)[:4] = [-128, 127, -128, 127]
    yt, xt = spatial.q11_table(y0, y1, wy), spatial.q11_table(x0, x1, wx)
    want_q = spatial.resize_s8(xq, yt, xt, mode)
    got_q = call(s8_lib(), "cnnc_s8_resize__ref", "cnnc_s8_resize_params", params,
                 [xq, yt, xt], np.zeros(want_q.shape, want_q.dtype))  # fmt: skip
    assert_bit_exact(want_q, got_q, f"s8 resize {case}")
    real = spatial.resize_nhwc(xq.astype(np.float32), ytab, xtab, wy2, wx2, mode)
    assert np.abs(real - want_q).max() <= 0.5 + 255 * 2.0 / spatial.Q11, case


@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 1.5, 3]], ids=["x2", "x1.5-x3"])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample_opset9_keeps_its_asymmetric_coordinates(rng, mode, scales):
    """onnx's version converter turns Upsample into a half_pixel Resize; the importer
    restores Upsample's asymmetric/floor semantics (onnxruntime runs the opset-9 op)."""
    node = helper.make_node("Upsample", ["x", "s"], ["y"], name="up", mode=mode)
    out = [1, 2, int(5 * scales[2]), int(6 * scales[3])]
    model = make_model([node], {"x": [1, 2, 5, 6]}, {"y": out},
                       {"s": np.array(scales, np.float32)}, opset=9)  # fmt: skip
    check_against_onnxruntime(model, rng.standard_normal((1, 2, 5, 6)).astype(np.float32),
                              ["resize2d"])  # fmt: skip


def test_hostile_spatial_attributes_are_refused_naming_the_node():
    resize0 = helper.make_node("Resize", ["x", "", "s"], ["y"], name="zero_resize")
    model = make_model([resize0], {"x": [1, 3, 5, 5]}, {"y": None},
                       {"s": np.array([1, 1, 0, 0], np.float32)})  # fmt: skip
    with pytest.raises(CnncError, match="zero_resize.*must be positive"):
        passes.lower(onnx_import.load(model))
    convt = helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="bad_convT")
    model = make_model([convt], {"x": [1, 3, 5, 5]}, {"y": None},
                       {"w": np.ones((4, 2, 3, 3), np.float32)})  # fmt: skip
    with pytest.raises(CnncError, match="bad_convT.*do not fit the input's 3 channels"):
        passes.lower(onnx_import.load(model))
