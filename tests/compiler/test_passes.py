"""Each pass alone: what it changes in the graph, and that the reference gives the same
numbers before and after it (or, for layout lowering, the same numbers as onnxruntime)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from cnnc import ir, passes, reference
from cnnc.errors import UnsupportedError
from cnnc.frontend import onnx_import
from onnx import helper
from onnx_builders import make_model, run_onnxruntime, sign_pattern

TOL = 1e-5


def randn(rng, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def bn_consts(rng, c: int, prefix: str = "bn") -> dict[str, np.ndarray]:
    return {
        f"{prefix}.g": (rng.uniform(0.5, 1.5, c) * rng.choice([-1, 1], c)).astype(np.float32),
        f"{prefix}.b": randn(rng, c),
        f"{prefix}.m": randn(rng, c),
        f"{prefix}.v": rng.uniform(0.3, 2.0, c).astype(np.float32),
    }


def bn_node(x: str, y: str, prefix: str = "bn") -> helper.NodeProto:
    names = [f"{prefix}.{k}" for k in "gbmv"]
    return helper.make_node("BatchNormalization", [x, *names], [y], name=prefix)


def lowered_only(model) -> ir.Graph:
    """Import, fold constants and lower the layout, without the later passes."""
    return passes.lower_layout(passes.fold_constants(onnx_import.load(model)))


def assert_same_outputs(before: ir.Graph, after: ir.Graph, feeds, tol=TOL) -> None:
    want = reference.run(before, feeds)
    got = reference.run(after, feeds)
    for name in before.outputs:
        span = float(np.ptp(want[name])) or 1.0
        err = np.abs(got[name] - want[name])
        worst = np.unravel_index(int(np.argmax(err)), err.shape)
        assert err[worst] <= tol * span, (
            f"'{name}' at {worst}: expected {want[name][worst]}, actual {got[name][worst]}"
        )


def ops(graph: ir.Graph) -> list[str]:
    return [n.op for n in graph.nodes]


# ---------------------------------------------------------------- constant folding


def test_fold_constants_evaluates_the_pytorch_flatten_chain(rng):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape becomes a Reshape by a constant."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], axis=0, name="gather"),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsqueeze"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0, name="concat"),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape"),
    ]
    consts = {
        "i0": np.array(0, np.int64),
        "ax0": np.array([0], np.int64),
        "minus1": np.array([-1], np.int64),
    }
    model = make_model(nodes, {"x": [1, 3, 5, 7]}, {"y": [1, 105]}, consts)
    graph = onnx_import.load(model)
    folded = passes.fold_constants(copy.deepcopy(graph))
    assert ops(folded) == ["Reshape"]
    np.testing.assert_array_equal(folded.const(folded.nodes[0].inputs[1]), [1, -1])
    assert_same_outputs(graph, folded, {"x": randn(rng, 1, 3, 5, 7)}, tol=0)


def test_fold_constants_turns_constant_nodes_into_tensors(rng):
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["k"],
            name="const",
            value=helper.make_tensor("k", 1, [3], [1.0, -2.0, 0.5]),
        ),
        helper.make_node("Mul", ["k", "k"], ["k2"], name="square"),
        helper.make_node("Add", ["x", "k2"], ["y"], name="add"),
    ]
    graph = onnx_import.load(make_model(nodes, {"x": [2, 3]}, {"y": None}))
    folded = passes.fold_constants(copy.deepcopy(graph))
    assert ops(folded) == ["Add"]
    np.testing.assert_array_equal(folded.const("k2"), [1.0, 4.0, 0.25])


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_fold_constants_removes_identity_and_dropout(rng, op):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node(op, ["r"], ["d"], name="drop"),
        helper.make_node("Sigmoid", ["d"], ["y"], name="sig"),
    ]
    graph = onnx_import.load(make_model(nodes, {"x": [2, 3]}, {"y": None}))
    folded = passes.fold_constants(copy.deepcopy(graph))
    assert ops(folded) == ["Relu", "Sigmoid"]
    assert folded.nodes[1].inputs == ["r"]


def test_identity_feeding_the_graph_output_renames_the_producer_output(rng):
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Identity", ["r"], ["y"], name="id"),
    ]
    graph = onnx_import.load(make_model(nodes, {"x": [2, 3]}, {"y": None}))
    folded = passes.fold_constants(copy.deepcopy(graph))
    assert ops(folded) == ["Relu"] and folded.nodes[0].outputs == ["y"]
    assert_same_outputs(graph, folded, {"x": randn(rng, 2, 3)}, tol=0)


# ---------------------------------------------------------------- dead nodes


def test_remove_dead_nodes_drops_unused_branches_and_constants(rng):
    nodes = [
        helper.make_node("Relu", ["x"], ["y"], name="used"),
        helper.make_node("Mul", ["x", "k"], ["dead1"], name="dead_mul"),
        helper.make_node("Sigmoid", ["dead1"], ["dead2"], name="dead_sig"),
    ]
    graph = onnx_import.load(make_model(nodes, {"x": [2, 3]}, {"y": None}, {"k": randn(rng, 3)}))
    pruned = copy.deepcopy(graph).remove_dead_nodes()
    assert ops(pruned) == ["Relu"]
    assert "k" not in pruned.tensors and "dead2" not in pruned.tensors
    assert_same_outputs(graph, pruned, {"x": randn(rng, 2, 3)}, tol=0)


# ---------------------------------------------------------------- BN folding


def conv_bn_model(rng, with_relu: bool = False):
    nodes = [
        helper.make_node("Conv", ["x", "w", "cb"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        bn_node("c", "bn_out" if with_relu else "y"),
    ]
    if with_relu:
        nodes.append(helper.make_node("Relu", ["bn_out"], ["y"], name="relu"))
    consts = {"w": randn(rng, 5, 3, 3, 3), "cb": randn(rng, 5), **bn_consts(rng, 5)}
    return make_model(nodes, {"x": [1, 3, 7, 17]}, {"y": None}, consts)


def test_fold_batchnorm_into_conv_equals_unfolded(rng):
    model = conv_bn_model(rng)
    graph = lowered_only(model)
    assert ops(graph) == ["transpose", "conv2d", "scale_shift", "transpose"]
    folded = passes.fold_batchnorm(copy.deepcopy(graph))
    assert ops(folded) == ["transpose", "conv2d", "transpose"]
    x = randn(rng, 1, 3, 7, 17)
    assert_same_outputs(graph, folded, {"x": x})
    # and both equal onnxruntime's unfolded execution
    want = run_onnxruntime(model, {"x": x})[0]
    got = reference.run(folded, {"x": x})["y"]
    assert np.abs(got - want).max() <= TOL * np.ptp(want)


def test_fold_batchnorm_into_dense(rng):
    nodes = [
        helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1, name="fc"),
        bn_node("g", "y"),
    ]
    consts = {"W": randn(rng, 7, 17), "B": randn(rng, 7), **bn_consts(rng, 7)}
    graph = lowered_only(make_model(nodes, {"x": [3, 17]}, {"y": None}, consts))
    folded = passes.fold_batchnorm(copy.deepcopy(graph))
    assert ops(folded) == ["dense"]
    assert_same_outputs(graph, folded, {"x": randn(rng, 3, 17)})


@pytest.mark.parametrize("before", ["Mul", "MaxPool", "input"])
def test_batchnorm_not_after_conv_stays_scale_shift(rng, before):
    """XNOR-Net: BN after the Mul(conv, alpha) or after a MaxPool is a standalone scale_shift."""
    nodes, consts = [], {**bn_consts(rng, 4)}
    src = "x"
    if before == "Mul":
        nodes = [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
            helper.make_node("Mul", ["c", "alpha"], ["m"], name="alpha_mul"),
        ]
        consts.update({"w": randn(rng, 4, 4, 1, 1), "alpha": randn(rng, 1, 4, 1, 1)})
        src = "m"
    elif before == "MaxPool":
        nodes = [helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[2, 2], name="pool")]
        src = "m"
    nodes.append(bn_node(src, "y"))
    graph = lowered_only(make_model(nodes, {"x": [1, 4, 6, 6]}, {"y": None}, consts))
    folded = passes.fold_batchnorm(copy.deepcopy(graph))
    assert "scale_shift" in ops(folded)
    if before == "Mul":
        w = folded.const(folded.nodes[1].inputs[1])
        np.testing.assert_array_equal(w, graph.const(graph.nodes[1].inputs[1]))


def test_batchnorm_after_binary_conv_is_not_folded(rng):
    """Folding into a conv fed by sign with ±1 weights would destroy the binary layer."""
    sign_nodes, sign_consts = sign_pattern("x", "s")
    nodes = [
        *sign_nodes,
        helper.make_node("Conv", ["s", "w"], ["c"], name="bconv"),
        bn_node("c", "y"),
    ]
    w = np.where(rng.standard_normal((4, 3, 3, 3)) < 0, -1.0, 1.0).astype(np.float32)
    consts = {"w": w, **sign_consts, **bn_consts(rng, 4)}
    graph = lowered_only(make_model(nodes, {"x": [1, 3, 7, 7]}, {"y": None}, consts))
    folded = passes.fold_batchnorm(copy.deepcopy(graph))
    assert ops(folded).count("scale_shift") == 1
    conv = next(n for n in folded.nodes if n.op == "conv2d")
    assert set(np.unique(folded.const(conv.inputs[1]))) == {-1.0, 1.0}


def test_batchnorm_not_folded_when_conv_output_has_another_reader(rng):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        bn_node("c", "b"),
        helper.make_node("Add", ["c", "b"], ["y"], name="add"),
    ]
    consts = {"w": randn(rng, 4, 4, 1, 1), **bn_consts(rng, 4)}
    graph = lowered_only(make_model(nodes, {"x": [1, 4, 5, 5]}, {"y": None}, consts))
    folded = passes.fold_batchnorm(copy.deepcopy(graph))
    assert "scale_shift" in ops(folded)
    assert_same_outputs(graph, folded, {"x": randn(rng, 1, 4, 5, 5)}, tol=0)


# ---------------------------------------------------------------- activation fusion


@pytest.mark.parametrize(
    "act_op,expect",
    [
        ("Relu", "relu"),
        ("Clip", "relu6"),
        ("LeakyRelu", "leaky_relu"),
        ("Sigmoid", "sigmoid"),
        ("Elu", "elu"),
    ],
)
def test_fuse_activation_into_conv(rng, act_op, expect):
    inputs = ["c", "lo", "hi"] if act_op == "Clip" else ["c"]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node(act_op, inputs, ["y"], name="act"),
    ]
    consts = {"w": randn(rng, 4, 3, 1, 1), "lo": np.float32(0), "hi": np.float32(6)}
    graph = lowered_only(make_model(nodes, {"x": [1, 3, 5, 5]}, {"y": None}, consts))
    fused = passes.fuse_activations(copy.deepcopy(graph))
    assert "act" not in ops(fused)
    conv = next(n for n in fused.nodes if n.op == "conv2d")
    assert conv.attrs["act"] == expect
    assert_same_outputs(graph, fused, {"x": randn(rng, 1, 3, 5, 5) * 4})


def test_activation_after_maxpool_or_shared_output_stays(rng):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu_shared"),
        helper.make_node("Add", ["c", "r"], ["a"], name="add"),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], name="pool"),
        helper.make_node("Relu", ["p"], ["y"], name="relu_after_pool"),
    ]
    consts = {"w": randn(rng, 4, 3, 1, 1)}
    graph = lowered_only(make_model(nodes, {"x": [1, 3, 5, 5]}, {"y": None}, consts))
    fused = passes.fuse_activations(copy.deepcopy(graph))
    assert ops(fused).count("act") == 2
    assert next(n for n in fused.nodes if n.op == "conv2d").attrs["act"] == "none"


# ---------------------------------------------------------------- layout lowering


def test_lower_layout_converts_at_the_boundary_and_reorders_weights(rng):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], name="conv")]
    w = randn(rng, 5, 3, 3, 3)
    graph = lowered_only(make_model(nodes, {"x": [1, 3, 7, 17]}, {"y": None}, {"w": w}))
    assert graph.layout == "NHWC"
    first, conv, last = graph.nodes
    assert (first.op, first.inputs, first.attrs["perm"]) == ("transpose", ["x"], [0, 2, 3, 1])
    assert graph.tensors["x"].shape == (1, 3, 7, 17)  # the entry point takes NCHW
    assert graph.tensors[conv.outputs[0]].shape == (1, 7, 17, 5)
    np.testing.assert_array_equal(graph.const(conv.inputs[1]), w.transpose(0, 2, 3, 1))
    assert (last.op, last.attrs["perm"], last.outputs) == ("transpose", [0, 3, 1, 2], ["y"])
    assert graph.outputs == ["y"] and graph.tensors["y"].shape == (1, 5, 7, 17)


@pytest.mark.parametrize("shape", [[1, 1, 7, 17], [1, 3, 1, 1]], ids=["C1", "HW1"])
def test_boundary_conversion_is_a_reshape_when_it_moves_no_bytes(rng, shape):
    c = shape[1]
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    model = make_model(nodes, {"x": shape}, {"y": None}, {"w": randn(rng, c, c, 1, 1)})
    graph = passes.lower(onnx_import.load(model))
    assert ops(graph) == ["reshape", "conv2d", "reshape"]
    x = randn(rng, *shape)
    want = run_onnxruntime(model, {"x": x})[0]
    np.testing.assert_allclose(reference.run(graph, {"x": x})["y"], want, rtol=1e-5, atol=1e-6)


def test_absorb_flatten_transpose_permutes_dense_weights(rng):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Flatten", ["c"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "W"], ["y"], transB=1, name="fc"),
    ]
    consts = {"w": randn(rng, 4, 3, 1, 1), "W": randn(rng, 6, 4 * 5 * 7)}
    graph = lowered_only(make_model(nodes, {"x": [1, 3, 5, 7]}, {"y": None}, consts))
    assert ops(graph) == ["transpose", "conv2d", "transpose", "reshape", "dense"]
    absorbed = passes.absorb_flatten_transpose(copy.deepcopy(graph))
    assert ops(absorbed) == ["transpose", "conv2d", "reshape", "dense"]
    assert_same_outputs(graph, absorbed, {"x": randn(rng, 1, 3, 5, 7)})


def test_simplify_layout_merges_transposes_and_reshapes(rng):
    t = {
        "x": ir.Tensor("x", (1, 3, 5, 7)),
        "a": ir.Tensor("a", (1, 5, 7, 3)),
        "b": ir.Tensor("b", (1, 3, 5, 7)),
        "c": ir.Tensor("c", (15, 7)),
        "d": ir.Tensor("d", (105,)),
        "y": ir.Tensor("y", (105,)),
    }
    nodes = [
        ir.Node("transpose", "t1", ["x"], ["a"], {"perm": [0, 2, 3, 1]}),
        ir.Node("transpose", "t2", ["a"], ["b"], {"perm": [0, 3, 1, 2]}),
        ir.Node("reshape", "r1", ["b"], ["c"]),
        ir.Node("reshape", "r2", ["c"], ["d"]),
        ir.Node("act", "relu", ["d"], ["y"], {"act": "relu"}),
    ]
    graph = ir.Graph(t, nodes, ["x"], ["y"], "NHWC")
    simple = passes.simplify_layout(copy.deepcopy(graph))
    assert ops(simple) == ["reshape", "act"]
    assert_same_outputs(graph, simple, {"x": randn(rng, 1, 3, 5, 7)}, tol=0)


def test_xnor_pattern_imports_as_sign_conv_mul(rng):
    sign_nodes, sign_consts = sign_pattern("x", "s")
    nodes = [
        *sign_nodes,
        helper.make_node("Conv", ["s", "w"], ["c"], pads=[1, 1, 1, 1], name="bconv"),
        helper.make_node("Mul", ["c", "alpha"], ["m"], name="alpha_mul"),
        bn_node("m", "y"),
    ]
    w = np.where(rng.standard_normal((8, 3, 3, 3)) < 0, -1.0, 1.0).astype(np.float32)
    alpha = rng.uniform(0.1, 1.0, (1, 8, 1, 1)).astype(np.float32)
    consts = {"w": w, "alpha": alpha, **sign_consts, **bn_consts(rng, 8)}
    model = make_model(nodes, {"x": [1, 3, 7, 7]}, {"y": None}, consts)
    graph = passes.lower(onnx_import.load(model))
    assert ops(graph) == ["transpose", "sign", "conv2d", "mul", "scale_shift", "transpose"]
    conv, mul = graph.nodes[2], graph.nodes[3]
    np.testing.assert_array_equal(graph.const(conv.inputs[1]), w.transpose(0, 2, 3, 1))
    assert len(conv.inputs) == 2, "binary conv has no bias"
    np.testing.assert_array_equal(graph.const(mul.inputs[1]), alpha.reshape(8))
    x = randn(rng, 1, 3, 7, 7)
    want = run_onnxruntime(model, {"x": x})[0]
    got = reference.run(graph, {"x": x})["y"]
    assert np.abs(got - want).max() <= TOL * np.ptp(want)


def test_lower_leaves_the_imported_graph_untouched(rng):
    graph = onnx_import.load(conv_bn_model(rng, with_relu=True))
    before = copy.deepcopy(graph)
    lowered = passes.lower(graph)
    assert ops(lowered) == ["transpose", "conv2d", "transpose"]
    assert ops(graph) == ops(before) and graph.layout == "NCHW"
    assert set(graph.tensors) == set(before.tensors)


def test_simplify_channel_shuffle_alone(rng):
    c, h, w, g = 6, 5, 7, 3
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="conv1"),
        helper.make_node("Reshape", ["a", "s5"], ["r5"], name="split"),
        helper.make_node("Transpose", ["r5"], ["t5"], perm=[0, 2, 1, 3, 4], name="shuffle"),
        helper.make_node("Reshape", ["t5", "s4"], ["r4"], name="merge"),
        helper.make_node("Conv", ["r4", "w2"], ["y"], name="conv2"),
    ]
    consts = {
        "w1": randn(rng, c, 2, 1, 1),
        "w2": randn(rng, 4, c, 1, 1),
        "s5": np.array([1, g, c // g, h, w], np.int64),
        "s4": np.array([1, c, h, w], np.int64),
    }
    graph = passes.simplify_layout(
        lowered_only(make_model(nodes, {"x": [1, 2, h, w]}, {"y": None}, consts))
    )
    assert ops(graph)[2:7] == ["transpose", "reshape", "transpose", "reshape", "transpose"]
    simple = passes.simplify_channel_shuffle(copy.deepcopy(graph))
    assert ops(simple)[2:5] == ["reshape", "transpose", "reshape"]
    shuffle = simple.nodes[3]
    assert shuffle.attrs["perm"] == [0, 1, 2, 4, 3]
    assert simple.tensors[shuffle.outputs[0]].shape == (1, h, w, c // g, g)
    assert_same_outputs(graph, simple, {"x": randn(rng, 1, 2, h, w)}, tol=0)


def test_dropout_in_training_mode_is_rejected(rng):
    node = helper.make_node("Dropout", ["x", "ratio", "train"], ["y"], name="drop")
    model = make_model(
        [node], {"x": [2, 3]}, {"y": [2, 3]}, {"ratio": np.float32(0.5), "train": np.array(True)}
    )
    with pytest.raises(UnsupportedError, match=r"node 'drop' \(Dropout\): training_mode"):
        passes.lower(onnx_import.load(model))


def test_standalone_batchnorm_equals_onnxruntime_bit_for_bit(rng):
    """So an XNOR sign after BN flips exactly where onnxruntime's does."""
    c = 33
    consts = bn_consts(rng, c)
    consts["bn.v"] = rng.uniform(0.01, 3.0, c).astype(np.float32)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[1, 1], name="pool"),
        bn_node("p", "y"),
    ]
    model = make_model(nodes, {"x": [1, c, 17, 7]}, {"y": None}, consts)
    x = randn(rng, 1, c, 17, 7) * 3
    want = run_onnxruntime(model, {"x": x})[0]
    for graph in (onnx_import.load(model), passes.lower(onnx_import.load(model))):
        np.testing.assert_array_equal(reference.run(graph, {"x": x})["y"], want)


def test_tensorflow_style_nhwc_input_needs_no_data_movement(rng):
    """Transpose(0,3,1,2) at the input cancels against the lowering's NCHW->NHWC."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2], name="to_nchw"),
        helper.make_node("Conv", ["t", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Transpose", ["c"], ["y"], perm=[0, 2, 3, 1], name="to_nhwc"),
    ]
    model = make_model(nodes, {"x": [1, 7, 17, 3]}, {"y": None}, {"w": randn(rng, 5, 3, 3, 3)})
    graph = passes.lower(onnx_import.load(model))
    assert ops(graph) == ["conv2d"]
    assert graph.nodes[0].inputs[0] == "x" and graph.nodes[0].outputs == ["y"]
    x = randn(rng, 1, 7, 17, 3)
    want = run_onnxruntime(model, {"x": x})[0]
    np.testing.assert_allclose(
        reference.run(graph, {"x": x})["y"], want, rtol=1e-5, atol=1e-5 * np.ptp(want)
    )
