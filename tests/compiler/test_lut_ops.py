"""The element-wise non-linearities of today's edge CNNs (HardSwish, HardSigmoid, Sigmoid,
Tanh, SiLU = x * Sigmoid(x)) and squeeze-excitation's x * gate, in float32 and int8.

float32: compiled C against onnxruntime, |error| <= 2e-5 (cnnc's own exp is within a few
ulp; four convs in the chain add their rounding). int8: no float op left in the graph
(one s8_lut per non-linearity, s8_mul for x * gate), C == reference bit for bit on
random inputs, and each lookup table driven with all 256 int8 inputs (every rounding
boundary of its input domain) gives C == reference == an independent float64 evaluation
of the op re-quantised (off by at most one step where float32 and float64 round apart).
"""

import numpy as np
import pytest
from cnnc import api, cli, passes
from cnnc.backend import report
from cnnc.errors import UnsupportedError
from cnnc.frontend import onnx_import
from cnnc.host.kernels import run_s8_kernel
from cnnc.ops import s8
from cnnc.ops.registry import OPS
from cnnc.passes.quantize import float_ops_inside
from onnx import helper
from onnx_builders import make_model, run_onnxruntime

OPSET = 17  # HardSwish needs opset >= 14
F32_ATOL = 2e-5
C = 6
# the float64 definitions the int8 tables are checked against (independent of cnnc)
EXACT = {
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "tanh": np.tanh,
    "silu": lambda x: x / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


def conv_w(rng, co, ci, k):
    return (rng.standard_normal((co, ci, k, k)) * 0.5).astype(np.float32)


def chain_model(rng):
    """conv -> HardSwish -> conv -> Tanh -> conv -> SiLU (Sigmoid, Mul) -> conv ->
    HardSigmoid -> conv -> Sigmoid: every non-linearity once, with conv scales between."""
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], name="c0", pads=[1, 1, 1, 1]),
        helper.make_node("HardSwish", ["c0"], ["a0"], name="hard_swish"),
        helper.make_node("Conv", ["a0", "w1"], ["c1"], name="c1"),
        helper.make_node("Tanh", ["c1"], ["a1"], name="tanh"),
        helper.make_node("Conv", ["a1", "w2"], ["c2"], name="c2"),
        helper.make_node("Sigmoid", ["c2"], ["s2"], name="silu_sigmoid"),
        helper.make_node("Mul", ["c2", "s2"], ["a2"], name="silu"),
        helper.make_node("Conv", ["a2", "w3"], ["c3"], name="c3"),
        helper.make_node("HardSigmoid", ["c3"], ["a3"], name="hard_sigmoid"),
        helper.make_node("Conv", ["a3", "w4"], ["c4"], name="c4"),
        helper.make_node("Sigmoid", ["c4"], ["y"], name="sigmoid"),
    ]
    inits = {"w0": conv_w(rng, C, 3, 3) * 2, "b0": rng.standard_normal(C).astype(np.float32)}
    inits.update({f"w{i}": conv_w(rng, C, C, 1) * 2 for i in range(1, 5)})
    return make_model(nodes, {"x": [1, 3, 7, 9]}, {"y": None}, inits, opset=OPSET)


def se_model(rng):
    """EfficientNet's block tail: conv -> SiLU -> squeeze-excitation (GAP, 1x1 reduce,
    ReLU, 1x1 expand, Sigmoid, x * gate broadcast over H, W) -> 1x1 conv."""
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], name="c0", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c0"], ["s0"], name="s0"),
        helper.make_node("Mul", ["c0", "s0"], ["a0"], name="silu"),
        helper.make_node("GlobalAveragePool", ["a0"], ["g"], name="squeeze"),
        helper.make_node("Conv", ["g", "wr", "br"], ["r"], name="reduce"),
        helper.make_node("Relu", ["r"], ["rr"], name="relu"),
        helper.make_node("Conv", ["rr", "we", "be"], ["e"], name="expand"),
        helper.make_node("Sigmoid", ["e"], ["gate"], name="gate"),
        helper.make_node("Mul", ["a0", "gate"], ["se"], name="excite"),
        helper.make_node("Conv", ["se", "w1"], ["y"], name="project"),
    ]
    inits = {"w0": conv_w(rng, C, 3, 3), "b0": rng.standard_normal(C).astype(np.float32),
             "wr": conv_w(rng, 2, C, 1), "br": np.zeros(2, np.float32),
             "we": conv_w(rng, C, 2, 1), "be": rng.standard_normal(C).astype(np.float32),
             "w1": conv_w(rng, 5, C, 1)}  # fmt: skip
    return make_model(nodes, {"x": [1, 3, 9, 7]}, {"y": None}, inits, opset=OPSET)


def onnxruntime_batch(model, x):
    return np.concatenate([run_onnxruntime(model, {"x": xi[None]})[0] for xi in x])


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    rng = np.random.default_rng(13)
    model = chain_model(rng)
    x = (rng.standard_normal((24, 3, 7, 9)) * 2).astype(np.float32)
    out = tmp_path_factory.mktemp("lut")
    f32 = api.compile(model, out / "f32")
    q = api.compile(model, out / "int8", precision="int8", calibration=x[:16])
    return model, x, f32, q


def test_float32_chain_equals_onnxruntime(chain):
    model, x, f32, _ = chain
    lowered_acts = [n.attrs.get("act") for n in f32.graph.nodes if n.op == "conv2d"]
    assert lowered_acts == ["hard_swish", "tanh", "silu", "none", "sigmoid"]  # fused
    want = onnxruntime_batch(model, x)
    got = f32.run(x)
    err = np.abs(got.astype(np.float64) - want)
    i = np.unravel_index(int(err.argmax()), err.shape)
    assert err[i] <= F32_ATOL, f"at {i}: onnxruntime {want[i]!r}, C {got[i]!r}"


def test_int8_chain_has_no_float_op_and_c_equals_reference(chain):
    model, x, _, q = chain
    luts = {n.attrs["fn"] for n in q.graph.nodes if n.op == "s8_lut"}
    assert luts == set(EXACT)
    assert q.graph.metadata["cnnc.float_ops"] == "" and q.report["float_ops"] == []
    assert float_ops_inside(q.graph) == []
    assert not {"act", "hard_sigmoid", "mul", "conv2d"} & {n.op for n in q.graph.nodes}
    assert "integer-only" in report.format_table(q.report)
    np.testing.assert_array_equal(q.run(x), q.reference(x))
    want = onnxruntime_batch(model, x)
    cos = np.sum(want * q.run(x)) / np.linalg.norm(want) / np.linalg.norm(q.run(x))
    assert cos > 0.98, f"int8 cosine to onnxruntime {cos:.4f}"


def test_every_table_at_all_256_inputs(chain):
    """Each LUT node driven with every int8 input (each the centre of one input rounding
    interval, so every output rounding boundary the op crosses is crossed here): the C
    kernel equals the reference, and both are the float64 op quantised to within a step."""
    _, _, _, q = chain
    g = q.graph
    xs = np.arange(-128, 128, dtype=np.int8)
    for node in (n for n in g.nodes if n.op == "s8_lut"):
        table = g.tensors[node.inputs[1]].data
        y_c = np.empty_like(xs)
        run_s8_kernel("cnnc_s8_lut__ref", s8.LutParams(256), xs, table, y_c)
        (y_ref,) = OPS["s8_lut"].reference(node, g, [xs, table])
        np.testing.assert_array_equal(y_c, y_ref, err_msg=node.name)
        xq, yq = g.tensors[node.inputs[0]].quant, g.tensors[node.outputs[0]].quant
        real = (xs.astype(np.float64) - int(xq.zero_point)) * float(xq.scale)
        exact = EXACT[node.attrs["fn"]](real) / float(yq.scale) + int(yq.zero_point)
        want = np.clip(np.rint(exact), -128, 127)
        worst = int(np.abs(y_c - want).max())
        assert worst <= 1, f"{node.name}: table off by {worst} steps from float64"
        assert np.mean(y_c == want) > 0.95, f"{node.name}: too many entries off by one"


@pytest.fixture(scope="module")
def se(tmp_path_factory):
    rng = np.random.default_rng(17)
    model = se_model(rng)
    x = rng.standard_normal((24, 3, 9, 7)).astype(np.float32)
    q = api.compile(model, tmp_path_factory.mktemp("se") / "int8", precision="int8",
                    calibration=x[:16])  # fmt: skip
    return model, x, q


def test_squeeze_excitation_int8_is_integer_and_bit_exact(se):
    model, x, q = se
    ops = [n.op for n in q.graph.nodes]
    assert "s8_mul" in ops and ops.count("s8_lut") == 2  # silu and the gate
    assert q.graph.metadata["cnnc.float_ops"] == ""
    y = q.run(x)
    np.testing.assert_array_equal(y, q.reference(x))
    want = onnxruntime_batch(model, x)
    cos = np.sum(want * y) / np.linalg.norm(want) / np.linalg.norm(y)
    assert cos > 0.98, f"int8 cosine to onnxruntime {cos:.4f}"


MUL_CASES = {"same": (7, 5), "per-channel": (5,), "per-pixel": (7, 1), "scalar": ()}


@pytest.mark.parametrize("rounding", [0, 1], ids=["single", "double"])
@pytest.mark.parametrize("case", list(MUL_CASES))
def test_s8_mul_kernel_equals_reference(rng, case, rounding):
    rows, cols = 7, 5
    a = rng.integers(-128, 128, (rows, cols), dtype=np.int8)
    b = rng.integers(-128, 128, MUL_CASES[case], dtype=np.int8)
    strides = {"same": (5, 1), "per-channel": (0, 1), "per-pixel": (1, 0), "scalar": (0, 0)}
    p = s8.MulParams(rows, cols, *strides[case], a_zero_point=-3, b_zero_point=-128,
                     y_zero_point=9, mult=1518500250, shift=-7, act_min=-100, act_max=120,
                     rounding=rounding)  # fmt: skip
    y = np.empty_like(a)
    run_s8_kernel("cnnc_s8_mul__ref", p, a, np.ascontiguousarray(b.reshape(-1)), y)
    np.testing.assert_array_equal(y, s8.mul_s8(a, b, p))
    real = (a.astype(np.float64) + 3) * (b.astype(np.float64) + 128) * 1518500250 * 2.0**-38
    assert np.abs(np.clip(np.rint(real) + 9, -100, 120) - y).max() <= 1


def test_silu_pattern_fuses_into_one_op(rng):
    g = passes.lower(onnx_import.load(se_model(rng)))
    assert [n.attrs.get("act") for n in g.nodes if n.name == "c0"] == ["silu"]
    assert not any(n.attrs.get("act") == "sigmoid" and n.op == "act" for n in g.nodes)


def between_convs_model(rng, *middle, extra=None):
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="c0", pads=[1, 1, 1, 1]),
        *middle,
        helper.make_node("Conv", ["m", "w1"], ["y"], name="c1"),
    ]
    inits = {"w0": conv_w(rng, C, 3, 3) * 2, "w1": conv_w(rng, 4, C, 1), **(extra or {})}
    return make_model(nodes, {"x": [1, 3, 5, 5]}, {"y": None}, inits, opset=OPSET)


def test_float_op_in_int8_needs_allow_float_ops(rng, tmp_path, capsys):
    model = between_convs_model(  # the last window of a ceil-mode pool with count_include_pad
        rng,  # reaches past the explicit pads: the int8 pool (divides by kh*kw) cannot run it
        helper.make_node(
            "AveragePool",
            ["c0"],
            ["m"],
            name="ceil_pool",
            kernel_shape=[2, 2],
            strides=[2, 2],
            ceil_mode=1,
            count_include_pad=1,
        ),  # fmt: skip
    )
    x = rng.standard_normal((16, 3, 5, 5)).astype(np.float32)
    with pytest.raises(UnsupportedError, match=r"'ceil_pool' \(avgpool2d\).*--allow-float"):
        api.compile(model, tmp_path / "refused", precision="int8", calibration=x)
    q = api.compile(model, tmp_path / "q", precision="int8", calibration=x,
                    allow_float_ops=True)  # fmt: skip
    assert q.report["float_ops"] == ["ceil_pool"]
    assert "ceil_pool" in report.format_table(q.report)
    np.savez(tmp_path / "x.npz", x=x)
    assert cli.main(["verify", str(tmp_path / "q"), "--inputs", str(tmp_path / "x.npz")]) == 0
    said = capsys.readouterr().out
    assert "bit-exact" not in said and "int8 steps" in said, said


def test_channel_softmax_int8_is_integer_and_bit_exact(rng, tmp_path):
    model = between_convs_model(
        rng, helper.make_node("Softmax", ["c0"], ["m"], name="channel_softmax", axis=1)
    )
    x = rng.standard_normal((16, 3, 5, 5)).astype(np.float32)
    q = api.compile(model, tmp_path / "q", precision="int8", calibration=x)
    assert "s8_softmax" in [n.op for n in q.graph.nodes]
    assert q.graph.metadata["cnnc.float_ops"] == ""
    y = q.run(x)
    np.testing.assert_array_equal(y, q.reference(x))
    want = onnxruntime_batch(model, x)
    cos = np.sum(want * y) / np.linalg.norm(want) / np.linalg.norm(y)
    assert cos > 0.98, f"int8 cosine to onnxruntime {cos:.4f}"


@pytest.mark.parametrize("c", [1, 3, 17, 300])
def test_s8_softmax_kernel_equals_reference_and_float(rng, c):
    outer, scale = 9, 0.07
    x = rng.integers(-128, 128, (outer, c), dtype=np.int8)
    x[0] = -128
    x[1, 0] = 127  # one dominant entry: probability 1 saturates at 255 - 128
    table = s8.softmax_exp_table(scale)
    p = s8.SoftmaxParams(outer, c)
    y = np.empty_like(x)
    run_s8_kernel("cnnc_s8_softmax__ref", p, x, table, y)
    np.testing.assert_array_equal(y, s8.softmax_s8(x, table, p))
    xi = x.astype(np.int64)
    real = np.exp(scale * (xi - xi.max(axis=1, keepdims=True)))
    want = np.clip(np.rint(256 * real / real.sum(axis=1, keepdims=True)), 0, 255) - 128
    assert np.abs(y.astype(np.int64) - want).max() <= 1
