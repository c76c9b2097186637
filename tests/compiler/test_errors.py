"""Bad models end in one CnncError whose one-line message names the problem and where."""

from __future__ import annotations

import numpy as np
import pytest
from cnnc import ir, passes, reference
from cnnc.errors import CnncError, ModelError, ShapeError, UnsupportedError
from cnnc.frontend import onnx_import
from onnx import helper
from onnx_builders import make_model, sign_pattern, single_node


def randn(rng, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def raises_one_line(exc_type, pattern, fn):
    with pytest.raises(exc_type, match=pattern) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message, f"message spans lines: {message!r}"
    return message


def conv_model(rng, **attrs):
    return single_node("Conv", [1, 3, 7, 7], {"w": randn(rng, 4, 3, 3, 3)}, **attrs)


# ---------------------------------------------------------------- unreadable files


def test_truncated_file(rng, tmp_path):
    data = conv_model(rng).SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    message = raises_one_line(ModelError, r"truncated or corrupt", lambda: onnx_import.load(path))
    assert str(path) in message and f"{len(data) // 2} bytes" in message


def test_malformed_file(rng, tmp_path):
    path = tmp_path / "noise.onnx"
    path.write_bytes(rng.integers(0, 256, 333, dtype=np.uint8).tobytes())
    raises_one_line(
        ModelError, r"noise\.onnx: not a readable ONNX model", lambda: onnx_import.load(path)
    )


@pytest.mark.parametrize("content", [b"", b"hello, not a model\n"], ids=["empty", "text"])
def test_empty_or_text_file(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    raises_one_line(
        ModelError, r"bad\.onnx: .*(empty|not a readable)", lambda: onnx_import.load(path)
    )


def test_missing_file(tmp_path):
    raises_one_line(
        ModelError, r"nope\.onnx: no such file", lambda: onnx_import.load(tmp_path / "nope.onnx")
    )


def test_checker_failure_names_the_node(rng):
    model = make_model(
        [helper.make_node("Add", ["x", "undefined"], ["y"], name="add7")],
        {"x": [1, 3]},
        {"y": [1, 3]},
    )
    raises_one_line(ModelError, r"checker failed.*undefined.*add7", lambda: onnx_import.load(model))


# ---------------------------------------------------------------- unsupported


def test_unsupported_op_names_op_node_and_supported_list():
    model = single_node("Sin", [1, 3])
    message = raises_one_line(
        UnsupportedError, r"unsupported op Sin \(node 'sin0'\)", lambda: onnx_import.load(model)
    )
    for op in ("Conv", "Gemm", "BatchNormalization", "MaxPool", "Softmax"):
        assert op in message


@pytest.mark.parametrize(
    "case,pattern",
    [
        ("c_minus_x", r"node 'sub0' \(Sub\).*x - c"),
        ("where_not_sign", r"node 'where0' \(Where\).*sign pattern"),
        ("weights_not_constant", r"node 'conv0' \(Conv\): weight 'w' must be a constant"),
        ("concat_axis_2", r"node 'concat0' \(Concat\): axis=2"),
        ("pool_dilation", r"node 'maxpool0' \(MaxPool\) has dilations=\[2, 2\]"),
        ("softmax_axis_2", r"node 'softmax0' \(Softmax\): axis=2"),
    ],
)
def test_unsupported_patterns_name_the_node(rng, case, pattern):
    if case == "c_minus_x":
        node = helper.make_node("Sub", ["c", "x"], ["y"], name="sub0")
        model = make_model([node], {"x": [1, 3]}, {"y": [1, 3]}, {"c": randn(rng, 3)})
    elif case == "where_not_sign":
        nodes, consts = sign_pattern("x", "unused")
        nodes = [
            nodes[0],
            helper.make_node("Where", ["sign.neg", "x", "sign.one"], ["y"], name="where0"),
        ]
        model = make_model(nodes, {"x": [1, 3]}, {"y": [1, 3]}, consts)
    elif case == "weights_not_constant":
        model = single_node("Conv", [1, 3, 7, 7], extra_inputs={"w": [4, 3, 3, 3]})
    elif case == "concat_axis_2":
        model = single_node("Concat", [1, 3, 4, 4], extra_inputs={"b": [1, 3, 4, 4]}, axis=2)
    elif case == "pool_dilation":  # dilated convs compile (tests/compiler/test_spatial_ops.py)
        model = single_node("MaxPool", [1, 3, 7, 7], kernel_shape=[3, 3], dilations=[2, 2])
    else:
        model = single_node("Softmax", [1, 3, 4, 5], axis=2)
    raises_one_line(UnsupportedError, pattern, lambda: passes.lower(onnx_import.load(model)))


# ---------------------------------------------------------------- bad attributes


@pytest.mark.parametrize(
    "attrs,pattern",
    [
        ({"auto_pad": "MIDDLE"}, r"node 'conv0' \(Conv\) has auto_pad='MIDDLE'"),
        (
            {"kernel_shape": [5, 5]},
            r"node 'conv0' \(Conv\) has kernel_shape=\[5, 5\] but its "
            r"weight 'w' has shape \[4, 3, 3, 3\]",
        ),
        ({"pads": [1, 1, -1, 1]}, r"node 'conv0' \(Conv\) has pads=\[1, 1, -1, 1\]"),
    ],
    ids=["auto_pad", "kernel_shape", "negative_pads"],
)
def test_bad_conv_attribute(rng, attrs, pattern):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv0", **attrs)
    model = make_model(
        [node], {"x": [1, 3, 7, 7]}, {"y": [1, 4, 7, 7]}, {"w": randn(rng, 4, 3, 3, 3)}
    )
    raises_one_line(ModelError, pattern, lambda: onnx_import.load(model))


def test_zero_stride(rng):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv0", strides=[0, 1])
    model = make_model(
        [node], {"x": [1, 3, 7, 7]}, {"y": [1, 4, 5, 5]}, {"w": randn(rng, 4, 3, 3, 3)}
    )
    raises_one_line(CnncError, r"conv0", lambda: onnx_import.load(model))


def test_symbolic_spatial_dimension():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 3, "H", 5]}, {"y": [1, 3, "H", 5]}
    )
    raises_one_line(
        ModelError,
        r"input 'x' has symbolic dimension 'H' at axis 2",
        lambda: onnx_import.load(model),
    )


# ---------------------------------------------------------------- shape mismatch


def test_shape_mismatch_between_activations():
    node = helper.make_node("Add", ["x", "b"], ["y"], name="add0")
    model = make_model([node], {"x": [1, 3, 4, 4], "b": [1, 5, 4, 4]}, {"y": [1, 3, 4, 4]})
    raises_one_line(ShapeError, r"shape inference failed.*add0", lambda: onnx_import.load(model))


def test_conv_weight_channels_disagree_with_input(rng):
    model = make_model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv0")],
        {"x": [1, 3, 7, 7]},
        {"y": [1, 4, 5, 5]},
        {"w": randn(rng, 4, 2, 3, 3)},
    )
    raises_one_line(
        ShapeError,
        r"node 'conv0' \(Conv\): input 'x' has 3 channels but weight "
        r"'w' \[4, 2, 3, 3\] with group=1 expects 2",
        lambda: onnx_import.load(model),
    )


def test_reference_feed_with_wrong_shape(rng):
    graph = passes.lower(onnx_import.load(conv_model(rng, pads=[1, 1, 1, 1])))
    raises_one_line(
        ShapeError,
        r"input 'x' has shape \[1, 3, 7, 5\], the graph expects "
        r"\[1, 3, 7, 7\]",
        lambda: reference.run(graph, {"x": randn(rng, 1, 3, 7, 5)}),
    )


def test_reference_names_the_node_an_inconsistent_graph_fails_in(rng):
    t = {
        "x": ir.Tensor("x", (1, 3)),
        "k": ir.Tensor("k", (4,), data=randn(rng, 4)),
        "y": ir.Tensor("y", (1, 3)),
    }
    graph = ir.Graph(t, [ir.Node("add", "bad_add", ["x", "k"], ["y"])], ["x"], ["y"], "NHWC")
    raises_one_line(
        ShapeError,
        r"node 'bad_add' \(add\) failed on inputs \['x', 'k'\] of "
        r"shapes \[\[1, 3\], \[4\]\]",
        lambda: reference.run(graph, {"x": randn(rng, 1, 3)}),
    )
