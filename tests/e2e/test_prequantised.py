"""Pre-quantised ONNX models (onnxruntime's quantize_static, QDQ and QOperator; cnnc's own
QDQ export) compile without calibration into the same int8 IR the calibrating pass
produces, with the model's own scales and zero points.

- C == NumPy reference bit for bit, for every rounding mode;
- ``--rounding onnxruntime`` reproduces onnxruntime's execution of the same model: 100 %
  identical outputs where onnxruntime's own kernels are exact (weights quantised with
  ``reduce_range``, or the QDQ graph run unfused). The residue on full-range weights is
  onnxruntime's, measured and explained in ``test_full_range_residue_is_onnxruntimes``;
- cnnc's QDQ export compiles back to the same integers (round trip);
- weights outside cnnc's contract and unsupported patterns are refused by name.

quantize_static is slow, so each quantised model is made once per module (fixtures).
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from cnnc import api
from cnnc.backend.qdq_export import to_onnx
from cnnc.errors import ModelError, UnsupportedError
from cnnc.host import harness
from cnnc.host.kernels import cpu_flags
from cnnc.ops import variants
from cnnc.ops.requant import requant_onnxruntime
from cnnc.passes import prequant
from cnnc.passes.quantize import quantize
from onnx import helper, numpy_helper
from qdq_models import fold_batchnorm, mini_mobilenetv2, quantize_static, tiny_pool_concat_matmul

SAMPLES = 16


def inputs(shape, seed, n=SAMPLES):
    return np.random.default_rng(seed).standard_normal((n, *shape[1:])).astype(np.float32)


@pytest.fixture(scope="module")
def float_model():
    return fold_batchnorm(mini_mobilenetv2())


@pytest.fixture(scope="module")
def calibration():
    return inputs((1, 3, 16, 16), 0, 4)


@pytest.fixture(scope="module")
def quantised(float_model, calibration):
    """(format, activation type, reduce_range) -> the quantize_static model."""
    cache = {}

    def get(fmt, act, reduce_range):
        key = (fmt, act, reduce_range)
        if key not in cache:
            cache[key] = quantize_static(float_model, calibration, fmt, act,
                                         reduce_range=reduce_range)  # fmt: skip
        return cache[key]

    return get


def ort_run(model: onnx.ModelProto, x: np.ndarray, fused: bool = True) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    if not fused:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])


def output_scale(cm) -> float:
    deq = next(n for n in cm.graph.nodes if n.op == "s8_dequantize")
    return float(deq.attrs["scale"])


def lsb_diff(cm, a, b) -> np.ndarray:
    return np.abs(np.rint((a.astype(np.float64) - b) / output_scale(cm))).astype(int)


# the C is built for the two usual combinations; the others are checked on the reference
CASES = [("QDQ", "QInt8", True), ("QOperator", "QUInt8", True), ("QDQ", "QUInt8", False),
         ("QOperator", "QInt8", False)]  # fmt: skip


@pytest.mark.parametrize("fmt,act,build", CASES)
def test_onnxruntime_rounding_is_identical_to_onnxruntime(
    quantised, tmp_path, monkeypatch, fmt, act, build
):
    """With 7-bit weights (reduce_range) onnxruntime's u8s8 kernels cannot saturate, so
    its CPU execution is exact integer arithmetic plus MLAS's float32 requantisation,
    which --rounding onnxruntime reproduces: every output identical (measured 100 %)."""
    model = quantised(fmt, act, True)
    x = inputs((1, 3, 16, 16), 1)
    if build:
        cm = api.compile(model, tmp_path / "out", precision="int8", rounding="onnxruntime")
        ref = cm.reference(x)
        np.testing.assert_array_equal(cm.run(x), ref)  # C == reference, bit for bit
        # the scalar and AVX2 tiers too (run() took the CPU's best, AVX-512 here): the
        # SIMD requantisation helpers compute this mode per lane with the scalar formula
        for tier, flags in (("ref", ()), ("avx2", variants.FLAGS_AVX2)):
            lacking = [f for f in flags if f not in cpu_flags()]
            if lacking:
                continue  # that tier cannot run here; the others still count
            monkeypatch.setenv("CNNC_ISA", tier)
            host = harness.open_model(cm.out_dir)
            ys = harness.run(host, api.pack_inputs(cm.graph, x)).reshape(ref.shape)
            np.testing.assert_array_equal(ys, ref, err_msg=f"CNNC_ISA={tier}")
        monkeypatch.delenv("CNNC_ISA")
    else:
        options = {"rounding": "onnxruntime"}
        graph = api.apply_precision(api.lowered_graph(model), "int8", None, options)
        cm = api.CompiledModel(tmp_path, graph, {}, {})
        ref = cm.reference(x)
    assert not [n for n in cm.graph.nodes if n.op in ("conv2d", "dense", "add")]
    theirs = ort_run(model, x)
    identical = float(np.mean(ref == theirs))
    print(f"{fmt}/{act} reduce_range, --rounding onnxruntime: {identical:.2%} identical")
    assert identical == 1.0, lsb_diff(cm, ref, theirs).max()


def test_fixed_point_rounding_is_within_lsb_of_onnxruntime(quantised, tmp_path):
    """The default (double) rounding requantises in Q31 fixed point: outputs differ from
    onnxruntime's by a few LSB at most (measured: max 2, ~60 % identical)."""
    model = quantised("QDQ", "QInt8", True)
    cm = api.compile(model, tmp_path / "out", precision="int8")
    assert cm.graph.metadata["cnnc.rounding"] == "double"
    x = inputs((1, 3, 16, 16), 2)
    ref = cm.reference(x)
    np.testing.assert_array_equal(cm.run(x), ref)
    lsb = lsb_diff(cm, ref, ort_run(model, x))
    print(f"double rounding vs onnxruntime: max {lsb.max()} LSB, {np.mean(lsb == 0):.2%} same")
    assert lsb.max() <= 3
    table = json.loads(cm.graph.metadata[prequant.ERROR_KEY])
    assert table and all(r["q31_rel_error"] < 2**-30 for r in table), table
    # the Q31 form moves an output by far less than one LSB: it can only flip a rounding
    # whose exact value lies within that distance of the rounding boundary
    assert all(r["max_lsb_error"] < 1e-3 for r in table), table


def test_full_range_residue_is_onnxruntimes(quantised, tmp_path):
    """Full-range int8 weights: onnxruntime's fused QLinearConv on an AVX2/AVX-512 CPU
    without VNNI runs u8s8 vpmaddubsw, which saturates a pair of u8*s8 products at int16
    (255 * 127 * 2 > 32767), so its own results are not the exact integer convolution; with
    VNNI (vpdpbusd sums into int32, no int16 step) they are, and equal cnnc's. The same QDQ
    model run unfused (DequantizeLinear -> float32 Conv -> QuantizeLinear, no int8 kernels)
    agrees but for float32 accumulation-order ties (measured 98.1 %; fused: 73 % without
    VNNI, 100 % with it); with 7-bit weights (the test above) agreement is 100 %."""
    model = quantised("QDQ", "QInt8", False)
    cm = api.compile(model, tmp_path / "out", precision="int8", rounding="onnxruntime")
    x = inputs((1, 3, 16, 16), 3)
    ref = cm.reference(x)
    np.testing.assert_array_equal(cm.run(x), ref)
    unfused = float(np.mean(ref == ort_run(model, x, fused=False)))
    fused = float(np.mean(ref == ort_run(model, x)))
    print(f"full-range QDQ: {unfused:.2%} identical to unfused ORT, {fused:.2%} to fused ORT")
    assert unfused >= 0.95
    if cpu_flags() & {"avx512_vnni", "avx_vnni"}:
        assert fused == 1.0  # exact int32 sums: onnxruntime's integers are cnnc's
    else:
        assert fused < unfused  # the saturation shows: if it stops, this test should tighten


def test_same_int8_ir_as_the_calibrating_pass(quantised, float_model, calibration):
    """A pre-quantised model lowers to the ops cnnc's own quantisation produces for the
    float model, and no float op is left inside."""
    pre = api.apply_precision(api.lowered_graph(quantised("QDQ", "QInt8", True)), "int8",
                              None, {})  # fmt: skip
    own = quantize(api.lowered_graph(float_model), calibration)
    assert [n.op for n in pre.nodes] == [n.op for n in own.nodes]
    assert pre.metadata["cnnc.calibration"] == "model"


def test_pools_concat_matmul_uint8_per_tensor(tmp_path):
    """QDQ uint8 activations with per-tensor weights around MaxPool, Concat, AveragePool,
    GlobalAveragePool, Flatten, MatMul and a bias Add compile to int8 with C == reference.
    Against onnxruntime (measured 84 % identical with --rounding onnxruntime, 62 % with
    double): its QLinearAveragePool averages dequantised float32 values (summation order
    and float division), which cnnc's integer windows (a depthwise conv with unit weights,
    requantised by s_x / (s_y * k * k)) do not replicate, and its QLinearAdd adds the bias
    constant at the constant's own scale where cnnc folds it into a depthwise 1x1 conv."""
    model = quantize_static(tiny_pool_concat_matmul(), inputs((1, 4, 8, 8), 0, 4), "QDQ",
                            "QUInt8", per_channel=False, reduce_range=True)  # fmt: skip
    cm = api.compile(model, tmp_path / "out", precision="int8", rounding="onnxruntime")
    ops = {n.op for n in cm.graph.nodes}
    assert {"s8_maxpool2d", "s8_concat", "s8_global_avgpool", "s8_dense"} <= ops, ops
    x = inputs((1, 4, 8, 8), 1, 32)
    ref = cm.reference(x)
    np.testing.assert_array_equal(cm.run(x), ref)
    identical = float(np.mean(ref == ort_run(model, x)))
    print(f"pools/concat/matmul, --rounding onnxruntime: {identical:.2%} identical")
    assert identical >= 0.75
    assert lsb_diff(cm, ref, ort_run(model, x)).max() <= 2


def test_round_trip_of_cnncs_own_export(float_model, calibration, tmp_path):
    """cnnc's QDQ export (QLinearConv + QDQ) compiles back to the same integers: the same
    weights, biases, multipliers and shifts, hence bit-identical outputs."""
    a = api.compile(float_model, tmp_path / "a", precision="int8", calibration=calibration)
    b = api.compile(to_onnx(a.graph), tmp_path / "b", precision="int8")
    weighted = [
        [n for n in g.nodes if n.op in ("s8_conv2d", "s8_dense")] for g in (a.graph, b.graph)
    ]
    assert len(weighted[0]) == len(weighted[1]) > 10
    for na, nb in zip(*weighted, strict=True):  # dense comes back as a 1x1 QLinearConv
        for ia, ib in zip(na.inputs[2:5], nb.inputs[2:5], strict=True):
            np.testing.assert_array_equal(a.graph.tensors[ia].data, b.graph.tensors[ib].data)
        wa, wb = a.graph.tensors[na.inputs[1]].data, b.graph.tensors[nb.inputs[1]].data
        np.testing.assert_array_equal(wa.reshape(len(wa), -1), wb.reshape(len(wb), -1))
    x = inputs((1, 3, 16, 16), 4)
    ref = a.reference(x)
    np.testing.assert_array_equal(b.reference(x), ref)
    np.testing.assert_array_equal(b.run(x), ref)


# ------------------------------------------------------------------ refusals


def with_initializer(model, name, change):
    out = onnx.ModelProto()
    out.CopyFrom(model)
    t = next(t for t in out.graph.initializer if t.name == name)
    t.CopyFrom(numpy_helper.from_array(change(numpy_helper.to_array(t).copy()), name))
    return out


def weight_names(model, node_op="Conv"):
    """(quantised weight, its zero point) of the first Conv's DequantizeLinear."""
    inits = {t.name for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits and "weight" in n.input[0]:
            return n.input[0], n.input[2]
    raise AssertionError("no weight DequantizeLinear")


def lower(model):
    return api.apply_precision(api.lowered_graph(model), "int8", None, {})


def test_refuses_weight_minus_128(quantised):
    model = quantised("QDQ", "QInt8", True)
    w, _ = weight_names(model)

    def put(a):
        a.flat[5] = -128
        return a

    with pytest.raises(UnsupportedError, match=r"weight value -128 .*\|w\| <= 127"):
        lower(with_initializer(model, w, put))


def test_refuses_weight_zero_point(quantised):
    model = quantised("QDQ", "QInt8", True)
    _, zp = weight_names(model)

    def put(a):
        a.flat[0] = 3
        return a

    with pytest.raises(UnsupportedError, match=r"weight zero point 3 .*symmetric"):
        lower(with_initializer(model, zp, put))


def test_refuses_unpaired_quantize_and_takes_a_mul_of_activations(quantised):
    model = quantised("QDQ", "QInt8", True)
    # a QuantizeLinear whose int8 output feeds a non-DequantizeLinear op
    bad = onnx.ModelProto()
    bad.CopyFrom(model)
    q = next(n for n in bad.graph.node if n.op_type == "QuantizeLinear")
    dq = next(n for n in bad.graph.node if n.op_type == "DequantizeLinear"
              and n.input[0] == q.output[0])  # fmt: skip
    bad.graph.node.append(helper.make_node("Identity", [q.output[0]], ["stray"], name="stray"))
    bad.graph.output.append(helper.make_tensor_value_info("stray", onnx.TensorProto.INT8, None))
    with pytest.raises(UnsupportedError, match=r"QuantizeLinear.*feeds node 'stray'"):
        lower(bad)
    del dq
    # the model quantises a Mul of two activations: an s8_mul at the model's own scales
    sq = onnx.ModelProto()
    sq.CopyFrom(model)
    last = next(n for n in sq.graph.node if n.op_type == "GlobalAveragePool")
    y = last.output[0]
    last.output[0] = "gap_pre"
    q_gap = next(n for n in sq.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == y)
    scale_zp = list(q_gap.input[1:])
    square = [
        helper.make_node("QuantizeLinear", ["gap_pre", *scale_zp], ["gap_q"], name="q"),
        helper.make_node("DequantizeLinear", ["gap_q", *scale_zp], ["gap_dq"], name="dq"),
        helper.make_node("Mul", ["gap_dq", "gap_dq"], [y], name="square"),
    ]
    at = list(sq.graph.node).index(last) + 1
    for k, node in enumerate(square):
        sq.graph.node.insert(at + k, node)
    graph = lower(sq)
    square = next(n for n in graph.nodes if n.name == "square")
    assert square.op == "s8_mul" and not any(n.op == "mul" for n in graph.nodes)


def test_refuses_unfolded_batchnorm_and_forged_metadata(float_model, calibration):
    raw = mini_mobilenetv2()  # BatchNormalization not folded: quantize_static keeps it
    bn = quantize_static(raw, calibration[:1], "QDQ", "QInt8")
    with pytest.raises(UnsupportedError, match=r"BatchNormalization between quantised"):
        api.lowered_graph(bn)
    forged = onnx.ModelProto()
    forged.CopyFrom(float_model)
    entry = forged.metadata_props.add()
    entry.key, entry.value = "cnnc.prequant", '{"act": {}, "weights": {}}'
    with pytest.raises(ModelError, match=r"cnnc.prequant is reserved"):
        api.lowered_graph(forged)
    with pytest.raises(UnsupportedError, match=r"onnxruntime applies to pre-quantised"):
        api.apply_precision(api.lowered_graph(float_model), "int8", calibration,
                            {"rounding": "onnxruntime"})  # fmt: skip


def test_requant_onnxruntime_rounds_half_to_even_in_float32():
    """The NumPy side of CNNC_ROUND_ONNXRUNTIME on ties and clamps (the C side is checked
    through every compiled model above, C == reference)."""
    m = np.float32(0.5).view(np.int32)
    x = np.array([1, 3, 5, -1, -3, 2**30, -(2**30), 0])
    np.testing.assert_array_equal(requant_onnxruntime(x, m), [0, 2, 2, 0, -2, 32767, -32768, 0])
    # float32 product, not float64: 16777217 * 1.0 rounds to 16777216 in float32
    one = np.float32(1.0).view(np.int32)
    np.testing.assert_array_equal(requant_onnxruntime(np.array([16777217]), one), [32767])
    third = np.float32(1 / 3).view(np.int32)
    x = np.arange(-3000, 3000)
    want = np.rint(x.astype(np.float32) * np.float32(1 / 3)).astype(np.int32)
    np.testing.assert_array_equal(requant_onnxruntime(x, third), want)


def _axis_out_of_range(model):
    n = next(n for n in model.graph.node if n.op_type == "DequantizeLinear"
             and "weight" in n.input[0])  # fmt: skip
    n.attribute.append(helper.make_attribute("axis", 5))
    del n.attribute[0]


def _no_scale(model):
    del next(n for n in model.graph.node if n.op_type == "QuantizeLinear").input[1:]


def _negative_scale(model):
    t = next(t for t in model.graph.initializer if t.name.endswith("_scale"))
    t.CopyFrom(numpy_helper.from_array(-np.abs(numpy_helper.to_array(t)), t.name))


def _float_weights_under_dq(model):
    t = next(t for t in model.graph.initializer if t.name.endswith("weight_quantized"))
    t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))


@pytest.mark.parametrize(
    "mutate,message",
    [
        (_axis_out_of_range, r"DequantizeLinear\): dequantises int8 .* axis 5"),
        (_no_scale, r"QuantizeLinear\): has no scale input"),
        (_negative_scale, r"scale -[0-9.e-]+ is not positive"),
        (_float_weights_under_dq, r"dequantises float32 values"),
    ],
)
def test_hostile_quantisation_parameters_are_named_errors(quantised, mutate, message):
    model = onnx.ModelProto()
    model.CopyFrom(quantised("QDQ", "QInt8", True))
    mutate(model)
    with pytest.raises((ModelError, UnsupportedError), match=message):
        lower(model)
