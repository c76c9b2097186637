"""A tiny edge-segmentation head compiled end to end in float32 and int8:
dilated 3x3 conv -> ReLU -> dilated depthwise 3x3 -> Pad (reflect) -> ConvTranspose
(stride 2) -> bilinear Resize (x2, pytorch_half_pixel), with a symbolic batch dimension
(compiled for batch 1).

float32: the C equals onnxruntime within 1e-4 of the output range. int8: every op is
integer (no float island), the C equals the reference bit for bit on random inputs, and
the int8 output keeps cosine >= 0.98 to the float one."""

import cnnc
import numpy as np
import pytest
from cnnc.passes.quantize import float_ops_inside
from onnx import helper
from onnx_builders import make_model, run_onnxruntime

SHAPE = [1, 4, 13, 13]


def head_model(rng):
    c = 8
    inits = {
        "w1": (rng.standard_normal((c, 4, 3, 3)) * 0.3).astype(np.float32),
        "b1": (rng.standard_normal(c) * 0.1).astype(np.float32),
        "w2": (rng.standard_normal((c, 1, 3, 3)) * 0.4).astype(np.float32),
        "pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64),
        "wt": (rng.standard_normal((c, 5, 3, 3)) * 0.3).astype(np.float32),
        "bt": (rng.standard_normal(5) * 0.1).astype(np.float32),
        "scales": np.array([1, 1, 2, 2], np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="dilated", dilations=[2, 2],
                         pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="dw_dilated", dilations=[3, 3],
                         pads=[3, 3, 3, 3], group=c),
        helper.make_node("Pad", ["c2", "pads"], ["p"], name="pad", mode="reflect"),
        helper.make_node("ConvTranspose", ["p", "wt", "bt"], ["t"], name="up", strides=[2, 2],
                         pads=[1, 1, 1, 1], output_padding=[1, 1]),
        helper.make_node("Resize", ["t", "", "scales"], ["y"], name="resize", mode="linear",
                         coordinate_transformation_mode="pytorch_half_pixel"),
    ]  # fmt: skip
    model = make_model(nodes, {"x": SHAPE}, {"y": None}, inits)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    return model


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    rng = np.random.default_rng(13)
    model = head_model(rng)
    out = tmp_path_factory.mktemp("head")
    cal = rng.standard_normal((32, *SHAPE[1:])).astype(np.float32)
    f32 = cnnc.compile(model, out / "f32")
    s8 = cnnc.compile(model, out / "s8", precision="int8", calibration=cal)
    return model, f32, s8


def test_float32_head_equals_onnxruntime(compiled, rng):
    model, f32, _ = compiled
    x = rng.standard_normal((3, *SHAPE[1:])).astype(np.float32)
    want = np.concatenate([run_onnxruntime(model, {"x": x[i : i + 1]})[0] for i in range(3)])
    got = f32.run(x)
    assert got.shape == want.shape == (3, 5, 64, 64)
    err = np.abs(got - want).max()
    assert err <= 1e-4 * np.abs(want).max(), f"max |C - onnxruntime| = {err}"
    ops = [n.op for n in f32.graph.nodes]
    assert {"pad2d", "resize2d", "conv2d"} <= set(ops), ops


def test_int8_head_is_integer_and_bit_exact(compiled, rng):
    model, _, s8 = compiled
    ops = [n.op for n in s8.graph.nodes]
    assert {"s8_pad2d", "s8_resize2d", "s8_conv2d"} <= set(ops), ops
    assert not float_ops_inside(s8.graph), float_ops_inside(s8.graph)
    dilated = [n for n in s8.graph.nodes if n.attrs.get("dilations") not in (None, [1, 1])]
    assert len(dilated) == 2, [n.name for n in dilated]
    for seed in range(2):
        x = np.random.default_rng(seed).normal(0, 1.2, (10, *SHAPE[1:])).astype(np.float32)
        y_c, y_ref = s8.run(x), s8.reference(x)
        bad = np.argwhere(y_c != y_ref)
        assert not bad.size, f"seed {seed}: {len(bad)} differ, first at {tuple(bad[0])}"
    x = rng.standard_normal((4, *SHAPE[1:])).astype(np.float32)
    want = np.concatenate([run_onnxruntime(model, {"x": x[i : i + 1]})[0] for i in range(4)])
    got = s8.run(x).astype(np.float64)
    cosine = float(np.dot(got.ravel(), want.ravel()) / np.linalg.norm(got) / np.linalg.norm(want))
    assert cosine >= 0.98, cosine


def test_int8_pad_value_must_be_representable(tmp_path, rng):
    inits = {"pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
             "v": np.array(0.123456, np.float32)}  # fmt: skip
    node = helper.make_node("Pad", ["x", "pads", "v"], ["y"], name="odd_pad")
    model = make_model([node], {"x": [1, 2, 5, 5]}, {"y": None}, inits)
    cal = rng.standard_normal((8, 2, 5, 5)).astype(np.float32)
    with pytest.raises(cnnc.errors.CnncError, match="odd_pad.*not representable"):
        cnnc.compile(model, tmp_path / "o", precision="int8", calibration=cal)
