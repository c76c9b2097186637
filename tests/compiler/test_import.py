"""ONNX import: the graph it builds, attribute defaults, auto_pad, batch, opset upgrade."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from cnnc import passes, reference
from cnnc.errors import ModelError
from cnnc.frontend import onnx_import
from onnx import TensorProto, helper, numpy_helper
from onnx_builders import make_model, mobilenetv2_pytorch_style, run_onnxruntime, single_node


def randn(rng, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def test_load_from_path_equals_load_from_proto(rng, tmp_path):
    model = single_node("Conv", [1, 3, 7, 7], {"w": randn(rng, 4, 3, 3, 3)}, pads=[1, 1, 1, 1])
    path = tmp_path / "conv.onnx"
    onnx.save(model, path)
    a, b = onnx_import.load(path), onnx_import.load(model)
    assert [(n.op, n.inputs, n.outputs, n.attrs) for n in a.nodes] == [
        (n.op, n.inputs, n.outputs, n.attrs) for n in b.nodes
    ]
    assert a.inputs == ["x"] and a.outputs == ["y"] and a.layout == "NCHW"
    np.testing.assert_array_equal(a.const("w"), numpy_helper.to_array(model.graph.initializer[0]))
    assert a.tensors["y"].shape == (1, 4, 7, 7)


def test_conv_attribute_defaults_are_filled(rng):
    graph = onnx_import.load(single_node("Conv", [1, 3, 7, 5], {"w": randn(rng, 4, 3, 3, 2)}))
    attrs = graph.nodes[0].attrs
    assert attrs == {
        "kernel_shape": [3, 2],
        "group": 1,
        "strides": [1, 1],
        "dilations": [1, 1],
        "pads": [0, 0, 0, 0],
    }


def test_gemm_and_pool_defaults(rng):
    graph = onnx_import.load(single_node("Gemm", [2, 3], {"B": randn(rng, 3, 4)}))
    assert graph.nodes[0].attrs == {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}
    graph = onnx_import.load(single_node("AveragePool", [1, 3, 7, 7], kernel_shape=[3, 3]))
    assert graph.nodes[0].attrs == {
        "kernel_shape": [3, 3],
        "ceil_mode": 0,
        "count_include_pad": 0,
        "strides": [1, 1],
        "dilations": [1, 1],
        "pads": [0, 0, 0, 0],
    }


@pytest.mark.parametrize(
    "auto_pad,size,k,s,pads",
    [
        # total padding = (ceil(size/s) - 1) * s + k - size, the extra pixel at the end (UPPER)
        ("SAME_UPPER", 7, 2, 1, [0, 0, 1, 1]),
        ("SAME_LOWER", 7, 2, 1, [1, 1, 0, 0]),
        ("SAME_UPPER", 7, 3, 2, [1, 1, 1, 1]),
        ("SAME_UPPER", 17, 4, 2, [1, 1, 2, 2]),
        ("SAME_LOWER", 17, 4, 2, [2, 2, 1, 1]),
        ("SAME_UPPER", 17, 1, 3, [0, 0, 0, 0]),
        ("VALID", 17, 5, 2, [0, 0, 0, 0]),
    ],
)
def test_auto_pad_becomes_explicit_pads(rng, auto_pad, size, k, s, pads):
    model = single_node(
        "Conv", [1, 2, size, size], {"w": randn(rng, 3, 2, k, k)}, auto_pad=auto_pad, strides=[s, s]
    )
    node = onnx_import.load(model).nodes[0]
    assert "auto_pad" not in node.attrs
    assert node.attrs["pads"] == pads


def test_symbolic_batch_is_fixed_to_one():
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        {"x": ["batch", 3, 5, 5]},
        {"y": ["batch", 3, 5, 5]},
    )
    graph = onnx_import.load(model)
    assert graph.tensors["x"].shape == (1, 3, 5, 5)
    assert graph.tensors["y"].shape == (1, 3, 5, 5)


def test_initializers_listed_as_inputs_are_constants(rng):
    """Old exporters list every initializer among the graph inputs as well."""
    w = randn(rng, 4, 3)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    g = onnx_import.load(model)
    assert g.inputs == ["x"]
    np.testing.assert_array_equal(g.const("w"), w)


def test_old_opset_is_upgraded_clip_attributes_become_relu6(rng):
    """Opset 9 Clip carries min/max as attributes; after conversion to 13 they are inputs."""
    node = helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0, name="clip")
    model = make_model([node], {"x": [2, 5]}, {"y": [2, 5]}, opset=9)
    graph = onnx_import.load(model)
    lowered = passes.lower(graph)
    assert [n.op for n in lowered.nodes] == ["act"]
    assert lowered.nodes[0].attrs["act"] == "relu6"
    x = randn(rng, 2, 5) * 5
    np.testing.assert_array_equal(reference.run(lowered, {"x": x})["y"], np.clip(x, 0, 6))


def test_newest_opset_the_installed_onnx_knows_is_accepted(rng):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])],
        {"x": [1, 3]},
        {"y": [1, 3]},
        opset=onnx_import.MAX_OPSET,
    )
    graph = onnx_import.load(model)
    assert [n.op for n in graph.nodes] == ["Relu"]


def test_metadata_is_carried():
    model = mobilenetv2_pytorch_style(num_classes=5, input_size=33, width=0.35)
    graph = onnx_import.load(model)
    assert graph.metadata["cnnc.model"] == "mobilenetv2"
    assert graph.metadata["cnnc.classes"] == "5"
    assert passes.lower(graph).metadata == graph.metadata


def test_reshape_chain_gets_static_shapes_after_folding(rng):
    model = mobilenetv2_pytorch_style(
        num_classes=7, input_size=33, width=0.35, flatten="reshape_chain", dynamic_batch=True
    )
    graph = onnx_import.load(model)
    assert graph.tensors["output"].shape == (1, 7)
    lowered = passes.lower(graph)
    x = randn(rng, 1, 3, 33, 33)
    want = run_onnxruntime(model, {"input": x})[0]
    got = reference.run(lowered, {"input": x})["output"]
    assert np.abs(got - want).max() <= 1e-5 * np.ptp(want)


def test_ceil_mode_pool_whose_last_window_starts_in_the_padding(rng):
    """ONNX drops that window; the imported shape and the reference must too."""
    model = single_node(
        "MaxPool", [1, 2, 5, 5], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1
    )
    graph = onnx_import.load(model)
    x = randn(rng, 1, 2, 5, 5)
    want = run_onnxruntime(model, {"x": x})[0]
    assert graph.tensors["y"].shape == want.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(reference.run(passes.lower(graph), {"x": x})["y"], want)


def test_weights_in_an_external_data_file(rng, tmp_path):
    w = randn(rng, 4, 3, 3, 3)
    model = single_node("Conv", [1, 3, 7, 7], {"w": w}, pads=[1, 1, 1, 1])
    onnx.save(
        model,
        tmp_path / "m.onnx",
        save_as_external_data=True,
        location="m.weights",
        size_threshold=0,
    )
    assert (tmp_path / "m.weights").stat().st_size >= w.nbytes
    np.testing.assert_array_equal(onnx_import.load(tmp_path / "m.onnx").const("w"), w)
    (tmp_path / "m.weights").unlink()
    with pytest.raises(ModelError, match=r"m\.onnx: cannot read its external weight data"):
        onnx_import.load(tmp_path / "m.onnx")


def test_two_ceil_pools_in_a_row_and_a_conv_after_them(rng):
    """Each corrected pool shape flows into the next pool and the conv after it."""
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p1"], name="pool1", **attrs),
        helper.make_node("AveragePool", ["p1"], ["p2"], name="pool2", **attrs),
        helper.make_node("Conv", ["p2", "w"], ["y"], pads=[1, 1, 1, 1], name="conv"),
    ]
    model = make_model(nodes, {"x": [1, 2, 9, 17]}, {"y": None}, {"w": randn(rng, 3, 2, 3, 3)})
    x = randn(rng, 1, 2, 9, 17)
    want = run_onnxruntime(model, {"x": x})[0]
    graph = onnx_import.load(model)
    assert graph.tensors["p1"].shape == (1, 2, 5, 9) and graph.tensors["y"].shape == want.shape
    got = reference.run(passes.lower(graph), {"x": x})["y"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.ptp(want))
