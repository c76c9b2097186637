"""Every imported op, through import -> lower -> reference, against onnxruntime.

Each case is a small ONNX model with random inputs and weights. The reference
runs both the imported graph (ONNX ops, NCHW) and the lowered one (NHWC,
LOWERED_OPS); both must match onnxruntime within 1e-5 of the output range.
Variants marked "after_conv" put a 1x1 conv in front so the op under test sees
an NHWC activation inside the lowered graph rather than the NCHW graph input.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cnnc import ir, passes, reference
from cnnc.errors import UnsupportedError
from cnnc.frontend import onnx_import
from cnnc.ops import f32
from cnnc.ops.registry import OPS
from onnx import helper
from onnx_builders import make_model, run_onnxruntime, sign_pattern, single_node

TOL = 1e-5


def assert_close_range(expected: np.ndarray, actual: np.ndarray, tol: float, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    span = float(np.ptp(expected)) or 1.0
    err = np.abs(actual.astype(np.float64) - expected)
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= tol * span, (
        f"{what}: |error| {err[worst]:.3g} > {tol} * range {span:.3g} at index {worst}: "
        f"expected {expected[worst]!r}, actual {actual[worst]!r}"
    )


def check(model, feeds: dict[str, np.ndarray], expect_ops: set[str] | None = None) -> ir.Graph:
    """Reference on imported and lowered graphs == onnxruntime; returns the lowered graph."""
    expected = run_onnxruntime(model, feeds)
    graph = onnx_import.load(model)
    lowered = passes.lower(graph)
    assert lowered.layout == "NHWC"
    unknown = {n.op for n in lowered.nodes} - set(OPS)
    assert not unknown, f"lowered graph holds non-lowered ops {unknown}"
    if expect_ops is not None:
        assert expect_ops <= {n.op for n in lowered.nodes}, [n.op for n in lowered.nodes]
    for stage, g in (("imported", graph), ("lowered", lowered)):
        got = reference.run(g, feeds, keep_all=True)
        for name, exp in zip(g.outputs, expected, strict=True):
            assert_close_range(exp, got[name], TOL, f"{stage} '{name}'")
        if all(feeds[n].shape == g.tensors[n].shape for n in g.inputs):
            for name, value in got.items():  # the C sizes its buffers from these shapes
                want = g.tensors[name].shape
                assert value.shape == want, f"{stage} tensor '{name}': {value.shape} != {want}"
    return lowered


def randn(rng, *shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def conv_front(rng, c_in: int, c_out: int) -> tuple[list, dict]:
    """A 1x1 conv x -> 'x1' so the next op reads an NHWC activation after lowering."""
    node = helper.make_node("Conv", ["x", "front.w"], ["x1"], name="front")
    return [node], {"front.w": randn(rng, c_out, c_in, 1, 1)}


def optional_front(rng, after_conv: bool, c_in: int, c_out: int) -> tuple[list, dict, str]:
    """(nodes, consts, the op's input): conv_front and 'x1' for the after_conv variants,
    else nothing in front of the graph input 'x'."""
    if not after_conv:
        return [], {}, "x"
    return (*conv_front(rng, c_in, c_out), "x1")


# ---------------------------------------------------------------- Conv


PAD_MODES = {
    "pads0": {"pads": [0, 0, 0, 0]},
    "pads_sym": "sym",
    "pads_asym": "asym",
    "SAME_UPPER": {"auto_pad": "SAME_UPPER"},
    "SAME_LOWER": {"auto_pad": "SAME_LOWER"},
    "VALID": {"auto_pad": "VALID"},
}
GROUPS = {"g1": (6, 9, 1), "depthwise": (6, 6, 6), "dw_mult2": (3, 6, 3), "g3": (6, 9, 3)}


def conv_pads(pad_mode: str, k: int) -> dict:
    attrs = PAD_MODES[pad_mode]
    if attrs == "sym":
        return {"pads": [k // 2] * 4}
    if attrs == "asym":
        return {"pads": [k // 2, 0, 0, k - 1]}
    return attrs


def conv_cases():
    """k x stride x padding x groups x size, less the combinations ONNX has no output for
    (a kernel larger than the padded input)."""
    grid = itertools.product([1, 3, 5], [1, 2], PAD_MODES, GROUPS, [(7, 7), (17, 7), (1, 3)])
    for k, stride, pad_mode, groups, (h, w) in grid:
        pads = conv_pads(pad_mode, k).get("pads")
        if pads is not None and h + pads[0] + pads[2] < k:
            continue
        if pad_mode == "VALID" and (h < k or w < k):
            continue
        case_id = f"k{k}-s{stride}-{pad_mode}-{groups}-{h}x{w}"
        yield pytest.param(k, stride, pad_mode, groups, (h, w), id=case_id)


@pytest.mark.parametrize("k,stride,pad_mode,groups,size", list(conv_cases()))
def test_conv(rng, k, stride, pad_mode, groups, size):
    c_in, c_out, g = GROUPS[groups]
    h, w = size
    consts = {"w": randn(rng, c_out, c_in // g, k, k), "b": randn(rng, c_out)}
    attrs = conv_pads(pad_mode, k)
    model = single_node("Conv", [1, c_in, h, w], consts, group=g, strides=[stride, stride], **attrs)
    lowered = check(model, {"x": randn(rng, 1, c_in, h, w)}, {"conv2d"})
    conv = next(n for n in lowered.nodes if n.op == "conv2d")
    assert conv.attrs["groups"] == g


def test_conv_without_bias_and_rectangular_kernel(rng):
    model = single_node(
        "Conv", [2, 4, 7, 17], {"w": randn(rng, 5, 4, 3, 1)}, strides=[2, 1], pads=[1, 0, 1, 0]
    )
    check(model, {"x": randn(rng, 2, 4, 7, 17)})


def test_conv1d_runs_as_conv2d_with_height_one(rng):
    model = single_node(
        "Conv", [1, 3, 17], {"w": randn(rng, 4, 3, 3), "b": randn(rng, 4)}, pads=[1, 1], strides=[2]
    )
    check(model, {"x": randn(rng, 1, 3, 17)}, {"conv2d"})


def test_pool_dilation_is_rejected_naming_the_node(rng):
    """Dilated convs compile (tests/compiler/test_spatial_ops.py); dilated pools do not."""
    model = single_node("MaxPool", [1, 3, 7, 7], kernel_shape=[3, 3], dilations=[2, 2])
    with pytest.raises(UnsupportedError, match=r"maxpool0.*dilations=\[2, 2\].*dilation 1 only"):
        passes.lower(onnx_import.load(model))


# ---------------------------------------------------------------- Gemm / MatMul


@pytest.mark.parametrize("bias", ["none", "M", "1xM", "scalar"])
@pytest.mark.parametrize("trans_b", [0, 1], ids=lambda t: f"transB{t}")
@pytest.mark.parametrize("trans_a", [0, 1], ids=lambda t: f"transA{t}")
@pytest.mark.parametrize("alpha_beta", [(1.0, 1.0), (0.5, -2.0)], ids=lambda ab: f"ab{ab}")
def test_gemm(rng, alpha_beta, trans_a, trans_b, bias):
    n, k, m = 3, 17, 7
    consts = {"B": randn(rng, m, k) if trans_b else randn(rng, k, m)}
    if bias != "none":
        consts["C"] = {"M": randn(rng, m), "1xM": randn(rng, 1, m), "scalar": randn(rng, 1)}[bias]
    a_shape = [k, n] if trans_a else [n, k]
    alpha, beta = alpha_beta
    model = single_node(
        "Gemm", a_shape, consts, alpha=alpha, beta=beta, transA=trans_a, transB=trans_b
    )
    check(model, {"x": randn(rng, *a_shape)}, {"dense"})


@pytest.mark.parametrize("k,m", [(1, 3), (17, 33), (65, 7)], ids=lambda v: str(v))
def test_matmul_with_constant(rng, k, m):
    model = single_node("MatMul", [3, k], {"w": randn(rng, k, m)})
    check(model, {"x": randn(rng, 3, k)}, {"dense"})


# ---------------------------------------------------------------- per-channel and activations


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("shape", [[2, 5, 7, 3], [3, 5]], ids=["4d", "2d"])
def test_batchnorm(rng, shape, after_conv):
    c = shape[1]
    consts = {
        "g": randn(rng, c),
        "b": randn(rng, c),
        "m": randn(rng, c),
        "v": rng.uniform(0.3, 2.0, c).astype(np.float32),
    }
    nodes, front, src = optional_front(rng, after_conv and len(shape) == 4, c, c)
    consts.update(front)
    nodes.append(
        helper.make_node(
            "BatchNormalization", [src, "g", "b", "m", "v"], ["y"], epsilon=1e-3, name="bn"
        )
    )
    model = make_model(nodes, {"x": shape}, {"y": None}, consts)
    lowered = check(model, {"x": randn(rng, *shape)})
    ops = [n.op for n in lowered.nodes]
    if after_conv and len(shape) == 4:
        assert "scale_shift" not in ops, "BN after a conv must be folded into it"
    else:
        assert "scale_shift" in ops


ACTS = {
    "Relu": ({}, {}, "relu"),
    "Clip_relu6": ({"lo": np.float32(0), "hi": np.float32(6)}, {}, "relu6"),
    "Clip_sym": ({"lo": np.float32(-0.5), "hi": np.float32(0.5)}, {}, "clip"),
    "Clip_min_only": ({"lo": np.float32(0)}, {}, "relu"),
    "LeakyRelu": ({}, {"alpha": 0.1}, "leaky_relu"),
    "LeakyRelu_default": ({}, {}, "leaky_relu"),
    "Sigmoid": ({}, {}, "sigmoid"),
    "Elu": ({}, {"alpha": 0.7}, "elu"),
}


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("name", list(ACTS))
def test_activation(rng, name, after_conv):
    consts, attrs, act = ACTS[name]
    op = name.split("_")[0]
    shape = [1, 3, 7, 17]
    nodes, front, src = optional_front(rng, after_conv, 3, 5)
    all_consts = {**consts, **front}
    inputs = [src, *consts]
    nodes.append(helper.make_node(op, inputs, ["y"], name="act0", **attrs))
    model = make_model(nodes, {"x": shape}, {"y": None}, all_consts)
    x = randn(rng, *shape) * 4
    lowered = check(model, {"x": x})
    acts = [n.attrs.get("act") for n in lowered.nodes if n.op in ("act", "conv2d")]
    assert act in acts
    if after_conv:
        assert [n.op for n in lowered.nodes].count("act") == 0, "activation not fused"


def test_clip_of_a_graph_input_stays_a_standalone_act(rng):
    model = single_node("Clip", [3, 5], {"lo": np.float32(-1), "hi": np.float32(2)})
    lowered = check(model, {"x": randn(rng, 3, 5) * 3}, {"act"})
    node = next(n for n in lowered.nodes if n.op == "act")
    assert (node.attrs["act_min"], node.attrs["act_max"]) == (-1.0, 2.0)


# ---------------------------------------------------------------- elementwise


CONST_SHAPES = {
    "per_channel_C11": [5, 1, 1],
    "per_channel_1C11": [1, 5, 1, 1],
    "scalar": [],
    "row_W": [17],
    "plane_HW": [7, 17],
    "full": [1, 5, 7, 17],
}


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
@pytest.mark.parametrize("cshape", list(CONST_SHAPES))
@pytest.mark.parametrize(  # c - x and c / x are rejected (test_errors)
    "op,const_first",
    [("Add", False), ("Add", True), ("Mul", False), ("Mul", True), ("Sub", False), ("Div", False)],
    ids=["x+c", "c+x", "x*c", "c*x", "x-c", "x/c"],
)
def test_elementwise_with_constant(rng, op, const_first, cshape, after_conv):
    shape = [1, 5, 7, 17]
    c = randn(rng, *CONST_SHAPES[cshape])
    if op == "Div":
        c = np.sign(c) * (np.abs(c) + 0.5)
    nodes, front, src = optional_front(rng, after_conv, 5, 5)
    consts = {"c": c, **front}
    inputs = ["c", src] if const_first else [src, "c"]
    nodes.append(helper.make_node(op, inputs, ["y"], name="ew0"))
    model = make_model(nodes, {"x": shape}, {"y": None}, consts)
    lowered = check(model, {"x": randn(rng, *shape)})
    ew = next(n for n in lowered.nodes if n.op in ("add", "mul"))
    k = lowered.tensors[ew.inputs[1]]
    if cshape.startswith("per_channel") and after_conv:
        assert k.shape == (5,), "per-channel constant must lower to [C]"
    if cshape == "scalar":
        assert k.shape == ()


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
def test_add_of_two_activations_residual(rng, after_conv):
    shape = [1, 5, 7, 7]
    nodes, consts, src = optional_front(rng, after_conv, 5, 5)
    nodes.append(helper.make_node("Add", [src, "x"], ["y"], name="residual"))
    model = make_model(nodes, {"x": shape}, {"y": None}, consts)
    check(model, {"x": randn(rng, *shape)}, {"add"})


@pytest.mark.parametrize(
    "b_shape", [[3], [1, 3], [2, 1], [2, 3]], ids=lambda s: "x".join(map(str, s))
)
@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_broadcast_of_two_activations(rng, op, b_shape):
    model = single_node(op, [2, 3], extra_inputs={"b": b_shape})
    check(model, {"x": randn(rng, 2, 3), "b": randn(rng, *b_shape)})


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
def test_neg(rng, after_conv):
    nodes, consts, src = optional_front(rng, after_conv, 3, 5)
    nodes.append(helper.make_node("Neg", [src], ["y"], name="neg0"))
    model = make_model(nodes, {"x": [1, 3, 7, 5]}, {"y": None}, consts)
    check(model, {"x": randn(rng, 1, 3, 7, 5)}, {"mul"})


def test_sum_of_three(rng):
    shape = [1, 3, 7, 7]
    node = helper.make_node("Sum", ["x", "a", "c"], ["y"], name="sum0")
    model = make_model([node], {"x": shape, "a": shape}, {"y": None}, {"c": randn(rng, 3, 1, 1)})
    check(model, {"x": randn(rng, *shape), "a": randn(rng, *shape)}, {"add"})


# ---------------------------------------------------------------- pools


@pytest.mark.parametrize("ceil_mode", [0, 1], ids=lambda v: f"ceil{v}")
@pytest.mark.parametrize("pad", [0, 1], ids=lambda v: f"pad{v}")
@pytest.mark.parametrize("stride", [1, 2, 3], ids=lambda v: f"s{v}")
@pytest.mark.parametrize("k", [2, 3], ids=lambda v: f"k{v}")
@pytest.mark.parametrize(
    "op,count_include_pad",
    [("MaxPool", 0), ("AveragePool", 0), ("AveragePool", 1)],
    ids=["max", "avg", "avg_cip"],
)
def test_pool(rng, op, count_include_pad, k, stride, pad, ceil_mode):
    attrs = {
        "kernel_shape": [k, k],
        "strides": [stride, stride],
        "pads": [pad, pad, 0, pad],
        "ceil_mode": ceil_mode,
    }
    if op == "AveragePool":
        attrs["count_include_pad"] = count_include_pad
    model = single_node(op, [1, 3, 7, 17], **attrs)
    check(model, {"x": randn(rng, 1, 3, 7, 17)}, {"maxpool2d" if op == "MaxPool" else "avgpool2d"})


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool_auto_pad(rng, op, auto_pad):
    model = single_node(op, [1, 3, 7, 17], kernel_shape=[3, 3], strides=[2, 2], auto_pad=auto_pad)
    check(model, {"x": randn(rng, 1, 3, 7, 17)})


def test_maxpool1d(rng):
    model = single_node("MaxPool", [2, 5, 17], kernel_shape=[3], strides=[2])
    check(model, {"x": randn(rng, 2, 5, 17)}, {"maxpool2d"})


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("hw", [(1, 1), (7, 17)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_global_pool(rng, op, hw):
    model = single_node(op, [2, 5, *hw])
    check(model, {"x": randn(rng, 2, 5, *hw)})


# ---------------------------------------------------------------- data movement


@pytest.mark.parametrize("axis", [1, 2])
def test_flatten(rng, axis):
    model = single_node("Flatten", [1, 3, 7, 5], axis=axis)
    check(model, {"x": randn(rng, 1, 3, 7, 5)})


@pytest.mark.parametrize(
    "chw", [(3, 7, 5), (1, 7, 5), (6, 1, 1)], ids=lambda s: "x".join(map(str, s))
)
def test_flatten_then_gemm_after_conv_keeps_onnx_order(rng, chw):
    """The dense weights are permuted to NHWC order instead of transposing activations."""
    c, h, w = chw
    nodes, consts = conv_front(rng, 2, c)
    nodes += [
        helper.make_node("Flatten", ["x1"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "W", "B"], ["y"], transB=1, name="fc"),
    ]
    consts.update({"W": randn(rng, 4, c * h * w), "B": randn(rng, 4)})
    model = make_model(nodes, {"x": [1, 2, h, w]}, {"y": None}, consts)
    lowered = check(model, {"x": randn(rng, 1, 2, h, w)}, {"dense"})
    between = [n.op for n in lowered.nodes[1:]]
    assert "transpose" not in between, f"activation transpose left in front of dense: {between}"


def test_reshape_after_conv(rng):
    nodes, consts = conv_front(rng, 3, 4)
    nodes.append(helper.make_node("Reshape", ["x1", "shape"], ["y"], name="reshape0"))
    consts["shape"] = np.array([1, 2, -1, 5], np.int64)
    model = make_model(nodes, {"x": [1, 3, 7, 5]}, {"y": None}, consts)
    check(model, {"x": randn(rng, 1, 3, 7, 5)})


@pytest.mark.parametrize("groups", [2, 3])
def test_channel_shuffle(rng, groups):
    """Reshape -> Transpose -> Reshape as ShuffleNet exports it, between two convs."""
    c, h, w = 6, 7, 5
    nodes, consts = conv_front(rng, 3, c)
    nodes += [
        helper.make_node("Reshape", ["x1", "s5"], ["r5"], name="split_groups"),
        helper.make_node("Transpose", ["r5"], ["t5"], perm=[0, 2, 1, 3, 4], name="shuffle"),
        helper.make_node("Reshape", ["t5", "s4"], ["r4"], name="merge_groups"),
        helper.make_node("Conv", ["r4", "w2"], ["y"], name="back"),
    ]
    consts.update(
        {
            "s5": np.array([1, groups, c // groups, h, w], np.int64),
            "s4": np.array([1, c, h, w], np.int64),
            "w2": randn(rng, 4, c, 1, 1),
        }
    )
    model = make_model(nodes, {"x": [1, 3, h, w]}, {"y": None}, consts)
    lowered = check(model, {"x": randn(rng, 1, 3, h, w)}, {"transpose"})
    between = [n.op for n in lowered.nodes if n.op != "conv2d"][1:-1]  # inside the boundary
    assert between == ["reshape", "transpose", "reshape"], between


@pytest.mark.parametrize("perm", [[0, 2, 3, 1], [0, 1, 3, 2], [3, 2, 1, 0]], ids=str)
def test_transpose(rng, perm):
    model = single_node("Transpose", [1, 3, 7, 5], perm=perm)
    check(model, {"x": randn(rng, 1, 3, 7, 5)})


def test_concat_channels_of_two_convs(rng):
    nodes, consts = conv_front(rng, 3, 4)
    nodes += [
        helper.make_node("Conv", ["x", "w2"], ["x2"], pads=[1, 1, 1, 1], name="c2"),
        helper.make_node("Concat", ["x1", "x2", "x"], ["y"], axis=1, name="cat"),
    ]
    consts["w2"] = randn(rng, 5, 3, 3, 3)
    model = make_model(nodes, {"x": [1, 3, 7, 17]}, {"y": None}, consts)
    lowered = check(model, {"x": randn(rng, 1, 3, 7, 17)}, {"concat"})
    cat = next(n for n in lowered.nodes if n.op == "concat")
    assert cat.attrs["axis"] == 3


def test_concat_2d_last_axis(rng):
    model = single_node("Concat", [2, 3], extra_inputs={"b": [2, 5]}, axis=-1)
    check(model, {"x": randn(rng, 2, 3), "b": randn(rng, 2, 5)}, {"concat"})


@pytest.mark.parametrize("case", ["2d_last", "4d_channels", "4d_last"])
def test_softmax(rng, case):
    shape, axis = {
        "2d_last": ([3, 17], -1),
        "4d_channels": ([1, 5, 3, 7], 1),
        "4d_last": ([1, 5, 3, 7], 3),
    }[case]
    model = single_node("Softmax", shape, axis=axis)
    check(model, {"x": randn(rng, *shape) * 3}, {"softmax"})


# ---------------------------------------------------------------- removed and folded


@pytest.mark.parametrize("op", ["Dropout", "Identity"])
def test_removed_ops(rng, op):
    nodes, consts = conv_front(rng, 3, 4)
    nodes += [
        helper.make_node(op, ["x1"], ["d"], name="rm"),
        helper.make_node("Relu", ["d"], ["y"], name="relu"),
    ]
    model = make_model(nodes, {"x": [1, 3, 7, 5]}, {"y": None}, consts)
    lowered = check(model, {"x": randn(rng, 1, 3, 7, 5)})
    assert [n.op for n in lowered.nodes] == ["transpose", "conv2d", "transpose"]


def test_constant_and_constant_of_shape_fold_into_operands(rng):
    nodes = [
        helper.make_node(
            "Constant",
            [],
            ["k"],
            value=helper.make_tensor("k", 1, [1, 3, 1, 1], [0.5, -1.0, 2.0]),
            name="const",
        ),
        helper.make_node(
            "ConstantOfShape",
            ["shape"],
            ["ones"],
            value=helper.make_tensor("v", 1, [1], [1.5]),
            name="cos",
        ),
        helper.make_node("Mul", ["x", "k"], ["m"], name="mul"),
        helper.make_node("Add", ["m", "ones"], ["y"], name="add"),
    ]
    model = make_model(
        nodes, {"x": [1, 3, 7, 5]}, {"y": None}, {"shape": np.array([1, 3, 7, 5], np.int64)}
    )
    lowered = check(model, {"x": randn(rng, 1, 3, 7, 5)})
    assert [n.op for n in lowered.nodes] == ["transpose", "mul", "add", "transpose"]
    mul = lowered.nodes[1]
    np.testing.assert_array_equal(lowered.const(mul.inputs[1]), [0.5, -1.0, 2.0])


@pytest.mark.parametrize("after_conv", [False, True], ids=["input", "after_conv"])
def test_sign_pattern_lowers_to_sign(rng, after_conv):
    nodes, consts, src = optional_front(rng, after_conv, 3, 5)
    sign_nodes, sign_consts = sign_pattern(src, "y")
    model = make_model(
        nodes + sign_nodes, {"x": [1, 3, 7, 5]}, {"y": None}, {**consts, **sign_consts}
    )
    x = randn(rng, 1, 3, 7, 5)
    x[0, 0, 0, :3] = 0.0  # sign(0) must be +1, as in onnxruntime's Where(Less(x, 0), -1, 1)
    lowered = check(model, {"x": x}, {"sign"})
    assert "sign" in [n.op for n in lowered.nodes]


def test_batch_of_three_runs_through_a_dynamic_batch_model(rng):
    nodes, consts = conv_front(rng, 3, 4)
    nodes += [
        helper.make_node("Flatten", ["x1"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "W"], ["y"], transB=1, name="fc"),
    ]
    consts["W"] = randn(rng, 6, 4 * 7 * 5)
    model = make_model(nodes, {"x": ["N", 3, 7, 5]}, {"y": ["N", 6]}, consts)
    check(model, {"x": randn(rng, 3, 3, 7, 5)})


# ---------------------------------------------------------------- lowered ops vs plain loops
# The NHWC definitions the C kernels follow, checked directly against the loop a C
# reader would write (one output element at a time), including the ceil_mode windows.


def conv2d_loops(x, w, b, strides, pads, groups):
    n, h, wd, c = x.shape
    co, kh, kw, cg = w.shape
    top, left, bottom, right = pads
    oh = (h + top + bottom - kh) // strides[0] + 1
    ow = (wd + left + right - kw) // strides[1] + 1
    y = np.zeros((n, oh, ow, co), np.float64)
    per_group = co // groups
    for b_, i, j, o in np.ndindex(n, oh, ow, co):
        g = o // per_group
        acc = 0.0 if b is None else float(b[o])
        for di, dj, ci in np.ndindex(kh, kw, cg):
            r, s = i * strides[0] - top + di, j * strides[1] - left + dj
            if 0 <= r < h and 0 <= s < wd:
                acc += float(x[b_, r, s, g * cg + ci]) * float(w[o, di, dj, ci])
        y[b_, i, j, o] = acc
    return y


def pool2d_loops(x, kernel, strides, pads, out_hw, kind, count_include_pad=False):
    n, h, w, c = x.shape
    top, left, bottom, right = pads
    y = np.zeros((n, *out_hw, c), np.float64)
    for b_, i, j, ch in np.ndindex(n, *out_hw, c):
        taps, count = [], 0
        for di, dj in np.ndindex(*kernel):
            r, s = i * strides[0] - top + di, j * strides[1] - left + dj
            if 0 <= r < h and 0 <= s < w:
                taps.append(float(x[b_, r, s, ch]))
            if -top <= r < h + bottom and -left <= s < w + right:
                count += 1
        if kind == "max":
            y[b_, i, j, ch] = max(taps)
        else:
            y[b_, i, j, ch] = sum(taps) / (count if count_include_pad else len(taps))
    return y


@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (1, 2, 0, 1)], ids=["nopad", "asym"])
@pytest.mark.parametrize("strides", [(1, 1), (2, 3)], ids=lambda s: f"s{s[0]}{s[1]}")
@pytest.mark.parametrize("groups,c,co", [(1, 3, 5), (3, 3, 6), (2, 4, 6)], ids=str)
def test_conv2d_definition_against_loops(rng, groups, c, co, strides, pads):
    x = randn(rng, 2, 7, 5, c)
    w = randn(rng, co, 3, 2, c // groups)
    b = randn(rng, co)
    got = f32.conv2d_nhwc(x, w, b, strides, pads, groups)
    want = conv2d_loops(x, w, b, strides, pads, groups)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("count_include_pad", [0, 1], ids=lambda v: f"cip{v}")
@pytest.mark.parametrize("extra", [0, 1], ids=["floor", "ceil_window"])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_definition_against_loops(rng, kind, extra, count_include_pad):
    x = randn(rng, 1, 7, 17, 3)
    kernel, strides, pads = (3, 4), (2, 3), (1, 0, 0, 1)
    # ceil_mode adds a last window starting inside the input and running past the pads
    out_hw = ((7 + 1 - 3) // 2 + 1 + extra, (17 + 1 - 4) // 3 + 1 + extra)
    got = f32.pool2d_nhwc(x, kernel, strides, pads, out_hw, kind, count_include_pad)
    want = pool2d_loops(x, kernel, strides, pads, out_hw, kind, count_include_pad)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
