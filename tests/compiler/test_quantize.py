"""The int8 quantisation pass: scheme, integer-only result, overflow proof, calibration.

Graphs are small ONNX models built here (odd sizes), imported and lowered by the
real front end; expectations are derived by hand or from the float reference.
"""

import numpy as np
import pytest
from cnnc import passes, reference
from cnnc.backend import planner
from cnnc.backend.quant_report import (
    cosine,
    format_quant_error_table,
    quant_error_table,
    snr_db,
    table_from_metadata,
)
from cnnc.errors import CalibrationError, CnncError
from cnnc.frontend import onnx_import
from cnnc.ops.requant import INT32_MAX
from cnnc.passes import quantize as quantize_mod
from cnnc.passes.quantize import (
    _mse_range,
    check_accumulator,
    choose_qparams,
    collect_ranges,
    float_ops_inside,
    quantize,
    quantize_weights,
)
from onnx import helper, numpy_helper
from onnx_builders import make_model

# ------------------------------------------------------------------ model builders


def conv(name, x, cin, cout, rng, k=3, stride=1, pad=1, group=1):
    w = rng.normal(0, 0.4, (cout, cin // group, k, k)).astype(np.float32)
    b = rng.normal(0, 0.1, cout).astype(np.float32)
    node = helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [name], name=name,
                            kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4,
                            group=group)  # fmt: skip
    return [node], {f"{name}.w": w, f"{name}.b": b}


def affine_tail(x, c, rng):
    """Standalone BatchNorm -> Mul and Add by per-channel constants: x [1, c, H, W] -> "y"."""
    nodes = [
        helper.make_node("BatchNormalization", [x, "g", "b", "m", "v"], ["bn"], name="bn"),
        helper.make_node("Mul", ["bn", "k"], ["mul"], name="mul"),
        helper.make_node("Add", ["mul", "s"], ["y"], name="shift"),
    ]
    inits = {
        "g": rng.uniform(-1.5, 1.5, c),
        "b": rng.normal(0, 0.3, c),
        "m": rng.normal(0, 0.3, c),
        "v": rng.uniform(0.5, 2, c),
        "k": rng.uniform(0.5, 2, (1, c, 1, 1)),
        "s": rng.normal(0, 1, (1, c, 1, 1)),
    }
    return nodes, {k: np.asarray(v, np.float32) for k, v in inits.items()}


def vgg_like_onnx(rng, c=3, size=9, classes=7):
    """Conv-ReLU, MaxPool, Conv-ReLU6, AveragePool (pads), Flatten, Gemm."""
    n1, i1 = conv("c1", "x", c, 8, rng)
    n2, i2 = conv("c2", "p1", 8, 17, rng)
    nodes = [
        *n1,
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(
            "MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]
        ),  # fmt: skip
        *n2,
        helper.make_node("Clip", ["c2", "zero", "six"], ["r2"], name="relu6"),
        helper.make_node(
            "AveragePool", ["r2"], ["p2"], name="pool2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),  # fmt: skip
        helper.make_node("Flatten", ["p2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
    ]
    k = 17 * (size // 2) ** 2
    inits = {**i1, **i2, "zero": np.array(0, np.float32), "six": np.array(6, np.float32),
             "fc.w": rng.normal(0, 0.1, (classes, k)).astype(np.float32),
             "fc.b": rng.normal(0, 0.1, classes).astype(np.float32)}  # fmt: skip
    return make_model(nodes, {"x": [1, c, size, size]}, {"y": [1, classes]}, inits)


def branchy_onnx(rng, c=3, size=7, classes=5):
    """Residual Add with two scales, depthwise conv, Concat, GlobalAveragePool, Softmax."""
    n1, i1 = conv("stem", "x", c, 8, rng, stride=2)
    n2, i2 = conv("dw", "s", 8, 8, rng, group=8)
    n3, i3 = conv("pw", "s", 8, 8, rng, k=1, pad=0)
    n4, i4 = conv("side", "s", 8, 3, rng, k=1, pad=0)
    nodes = [
        *n1, helper.make_node("Relu", ["stem"], ["s"], name="stem_relu"),
        *n2, *n3,
        helper.make_node("Add", ["dw", "pw"], ["sum"], name="residual"),
        *n4,
        helper.make_node("Concat", ["sum", "side"], ["cat"], name="concat", axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
    ]  # fmt: skip
    inits = {**i1, **i2, **i3, **i4,
             "fc.w": rng.normal(0, 0.3, (classes, 11)).astype(np.float32),
             "fc.b": rng.normal(0, 0.1, classes).astype(np.float32)}  # fmt: skip
    return make_model(nodes, {"x": [1, c, size, size]}, {"y": [1, classes]}, inits)


BUILDERS = {"vgg-like": vgg_like_onnx, "branchy": branchy_onnx}


def lowered(model):
    return passes.lower(onnx_import.load(model))


def inputs(rng, graph, n):
    shape = graph.tensors[graph.inputs[0]].shape[1:]
    return rng.normal(0, 1, (n, *shape)).astype(np.float32)


# ------------------------------------------------------------------ scheme


@pytest.mark.parametrize(
    "lo, hi, scale, zp",
    [(0.0, 2.55, 0.01, -128), (-2.55, 0.0, 0.01, 127), (-1.0, 1.55, 0.01, -28),
     (0.5, 2.55, 0.01, -128), (0.0, 0.0, 1.0, -128)],
    ids=["relu-range", "negative", "straddling", "widened-to-0", "all-zero"],
)  # fmt: skip
def test_choose_qparams_hand_cases(lo, hi, scale, zp):
    s, z = choose_qparams(lo, hi)
    assert s == pytest.approx(scale, rel=1e-6) and z == zp


def test_weights_are_per_channel_symmetric_and_bias_at_input_times_weight_scale():
    w = np.array([[0.5, -0.25, 0.125], [-2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    b = np.array([0.1, -0.3, 0.02])
    wq, bq, s_w = quantize_weights(w, b, s_x=0.01)
    np.testing.assert_allclose(s_w[:2], [0.5 / 127, 2.0 / 127])
    np.testing.assert_array_equal(wq[0], [127, -64, 32])  # -63.5 -> -64 (half to even)
    np.testing.assert_array_equal(wq[1], [-127, 64, 0])
    np.testing.assert_array_equal(wq[2], [0, 0, 0])
    assert bq.dtype == np.int32
    np.testing.assert_array_equal(bq[:2], np.round(b[:2] / (0.01 * s_w[:2])).astype(np.int32))
    assert abs(bq[2] * 0.01 * s_w[2] - 0.02) < 1e-6  # dead channel: bias still represented


# ------------------------------------------------------------------ the rewritten graph


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("model", list(BUILDERS))
def test_quantized_graph_is_integer_only(rng, model, rounding):
    g = lowered(BUILDERS[model](rng))
    qg = quantize(g, inputs(rng, g, 40), rounding=rounding)
    ops = [n.op for n in qg.nodes]
    assert ops.count("s8_quantize") == 1 and ops.count("s8_dequantize") == 1, ops
    assert float_ops_inside(qg) == []
    assert not {"conv2d", "dense", "add", "maxpool2d", "avgpool2d", "concat"} & set(ops), ops
    for node in qg.nodes:
        if node.op in ("s8_conv2d", "s8_dense"):
            w, b, m, s = (qg.tensors[x].data for x in node.inputs[1:5])
            assert w.dtype == np.int8 and np.abs(w.astype(int)).max() == 127
            assert b.dtype == np.int32 and m.dtype == np.int32 and s.dtype == np.int32
            assert ((m == 0) | (m >= 2**30)).all() and ((s >= -31) & (s <= 30)).all()
            assert node.attrs["rounding"] == rounding
    assert qg.metadata["cnnc.precision"] == "int8"


@pytest.mark.parametrize("model", list(BUILDERS))
def test_int8_reference_tracks_float(rng, model):
    g = lowered(BUILDERS[model](rng))
    qg = quantize(g, inputs(rng, g, 64))
    x = inputs(rng, g, 50)
    yf = reference.run(g, {g.inputs[0]: x})[g.outputs[0]]
    yq = reference.run(qg, {qg.inputs[0]: x})[qg.outputs[0]]
    assert yq.dtype == np.float32 and yq.shape == yf.shape
    cos = np.sum(yf * yq) / (np.linalg.norm(yf) * np.linalg.norm(yq))
    assert cos > 0.99, cos


def test_fused_relu6_becomes_clamp_bounds(rng):
    g = lowered(vgg_like_onnx(rng))
    qg = quantize(g, inputs(rng, g, 40))
    c2 = next(n for n in qg.nodes if n.name == "c2")
    t = qg.tensors[c2.outputs[0]]
    scale, zp = float(t.quant.scale), int(t.quant.zero_point)
    assert c2.attrs["act_min"] == max(-128, zp)
    assert c2.attrs["act_max"] == min(127, zp + round(6.0 / scale))


def test_pools_and_reshapes_keep_their_input_scale(rng):
    g = lowered(vgg_like_onnx(rng))
    qg = quantize(g, inputs(rng, g, 40))
    for node in qg.nodes:
        if node.op in ("s8_maxpool2d", "s8_avgpool2d", "reshape"):
            a, b = qg.tensors[node.inputs[0]].quant, qg.tensors[node.outputs[0]].quant
            assert (float(a.scale), int(a.zero_point)) == (float(b.scale), int(b.zero_point))


def test_a_one_channel_input_is_quantised_before_its_reshape(rng, monkeypatch):
    """Lowering gives a one-channel NCHW input an NHWC reshape; quantised before it, the
    reshape aliases the int8 buffer (no float32 copy in the arena) and the reference gives
    the same bytes as the graph quantised in the import's order."""
    g = lowered(vgg_like_onnx(rng, c=1))
    assert g.nodes[0].op == "reshape" and g.nodes[0].inputs == g.inputs
    x = inputs(rng, g, 8)
    qg = quantize(g, x)
    first, second = qg.nodes[:2]
    assert (first.op, second.op) == ("s8_quantize", "reshape") and first.inputs == qg.inputs
    assert qg.tensors[first.outputs[0]].shape == g.tensors[g.inputs[0]].shape
    assert second.inputs == first.outputs and qg.tensors[second.outputs[0]].dtype == "int8"
    plan = planner.plan(qg)
    assert plan.offsets[second.inputs[0]] == plan.offsets[second.outputs[0]]
    monkeypatch.setattr(quantize_mod, "quantize_input_first", lambda graph: None)
    plain = quantize(g, x)
    assert [n.op for n in plain.nodes[:2]] == ["reshape", "s8_quantize"]
    feeds = {g.inputs[0]: inputs(rng, g, 20)}
    a, b = reference.run(qg, feeds, keep_all=True), reference.run(plain, feeds, keep_all=True)
    assert np.array_equal(a[second.outputs[0]], b[plain.nodes[1].outputs[0]])
    assert np.array_equal(a[qg.outputs[0]], b[plain.outputs[0]])


def test_sigmoid_becomes_a_table_and_a_float_only_op_is_reported(rng):
    model = vgg_like_onnx(rng)
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.op_type = "Sigmoid"  # not a clamp: unfused from c1, then an int8 lookup table
    g = lowered(model)
    assert [n.attrs.get("act") for n in g.nodes if n.name == "c1"] == ["sigmoid"]
    qg = quantize(g, inputs(rng, g, 30))
    assert [n.op for n in qg.nodes if n.name.startswith("c1")] == ["s8_conv2d", "s8_lut"]
    assert float_ops_inside(qg) == [] and qg.metadata["cnnc.float_ops"] == ""
    model2 = vgg_like_onnx(rng)
    clip = next(n for n in model2.graph.node if n.op_type == "Clip")
    at = list(model2.graph.node).index(clip)
    cols = helper.make_node("Conv", ["c2", "cols.w"], ["cols"], name="cols", kernel_shape=[4, 1])
    model2.graph.node.insert(at, cols)  # c2 [1,17,4,4] -> one value per column [1,1,1,4]
    model2.graph.node.insert(at + 1, helper.make_node("Add", ["c2", "cols"], ["sm"], name="sm"))
    model2.graph.initializer.append(
        numpy_helper.from_array(rng.normal(0, 0.3, (1, 17, 4, 1)).astype(np.float32), "cols.w")
    )
    clip.input[0] = "sm"  # x + a per-column activation: neither per channel nor per pixel
    g2 = lowered(model2)
    qg2 = quantize(g2, inputs(rng, g2, 30))
    assert float_ops_inside(qg2) == ["sm"], "a float op between int8 layers is reported"
    assert qg2.metadata["cnnc.float_ops"] == "sm"
    x = inputs(rng, g2, 5)
    assert reference.run(qg2, {"x": x})["y"].shape == (5, 7)


def test_int8_io_has_no_boundary_ops_and_matches_the_float_io_build(rng):
    g = lowered(branchy_onnx(rng))
    g_cut = lowered(branchy_onnx(np.random.default_rng(5)))
    cal = inputs(rng, g_cut, 40)
    q_float_io = quantize(g_cut, cal)
    q_int8_io = quantize(g_cut, cal, int8_io=True)
    del g
    ops = [n.op for n in q_int8_io.nodes]
    assert q_int8_io.tensors[q_int8_io.inputs[0]].dtype == "int8"
    # the softmax stays float after the dequantise in the float-io build; in the int8-io
    # build the output is the int8 logits, so nothing float remains
    assert q_int8_io.metadata["cnnc.int8_io_dropped"] == "softmax"
    assert "s8_quantize" not in ops and "s8_dequantize" not in ops and "softmax" not in ops
    assert q_int8_io.tensors[q_int8_io.outputs[0]].dtype == "int8"
    inp = q_int8_io.tensors[q_int8_io.inputs[0]].quant
    x = inputs(rng, g_cut, 9)
    xq = np.clip(np.rint(x / np.float32(inp.scale)) + int(inp.zero_point), -128, 127)
    got = reference.run(q_int8_io, {"x": xq.astype(np.int8)})[q_int8_io.outputs[0]]
    want = reference.run(q_float_io, {"x": x}, keep_all=True)["logits"]
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ overflow proof


def dense_model(rng, k):
    w = np.where(rng.random((3, k)) < 0.5, -1.0, 1.0).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w"], ["y"], name="wide_fc", transB=1)
    return make_model([node], {"x": [1, k]}, {"y": [1, 3]}, {"w": w})


@pytest.mark.parametrize(
    "k, positive_inputs, refused",
    [(70001, True, True), (65001, True, False), (70001, False, False), (135001, False, True)],
    ids=["zp-128-K70001", "zp-128-K65001", "zp0-K70001", "zp0-K135001"],
)
def test_accumulator_overflow_is_proved_or_refused(rng, k, positive_inputs, refused):
    """|x - zp| <= 255 when zp = -128 but <= 128 when zp = 0: the bound uses the zero point.
    All |w_q| = 127 and no bias, so the bound is exactly xmax * 127 * K."""
    g = lowered(dense_model(rng, k))
    cal = rng.uniform(0, 1, (4, k)) if positive_inputs else rng.uniform(-1, 1, (4, k))
    cal = cal.astype(np.float32)
    if positive_inputs:
        cal[0, 0] = 0.0
    else:
        cal[0, :2] = [-1.0, 127 / 128]  # zero point exactly 0
    xmax = 255 if positive_inputs else 128
    assert (xmax * 127 * k > INT32_MAX) == refused
    if refused:
        with pytest.raises(CnncError, match=r"layer 'wide_fc'.*overflow.*K = " + str(k)):
            quantize(g, cal)
    else:
        qg = quantize(g, cal)
        node = next(n for n in qg.nodes if n.op == "s8_dense")
        assert node.attrs["x_zero_point"] == (-128 if positive_inputs else 0)


def test_check_accumulator_bound_is_exact():
    wq = np.array([[127, -127, 5], [1, 2, 3]], np.int8)
    assert check_accumulator("l", wq, np.array([10, -40000], np.int32), 0) == 40000 + 128 * 6
    assert check_accumulator("l", wq, np.array([10, -4000], np.int32), 0) == 10 + 128 * 259
    assert check_accumulator("l", wq, np.array([10, 0], np.int32), 127) == 10 + 255 * 259
    with pytest.raises(CnncError, match="layer 'l'.*channel 1"):
        check_accumulator("l", wq, np.array([0, INT32_MAX - 255 * 6 + 1], np.int32), -128)


# ------------------------------------------------------------------ calibration


@pytest.mark.parametrize(
    "bad, message",
    [(None, "needs calibration"), (np.zeros((0, 3, 9, 9)), "batch >= 1"),
     (np.zeros((4, 3, 8, 9)), r"shape \[4, 3, 8, 9\].*'x'"),
     (np.full((2, 3, 9, 9), np.nan), "NaN")],
    ids=["missing", "empty", "wrong-shape", "nan"],
)  # fmt: skip
def test_bad_calibration_is_refused(rng, bad, message):
    g = lowered(vgg_like_onnx(rng))
    with pytest.raises(CalibrationError, match=message):
        quantize(g, bad)


def test_unknown_method_or_rounding(rng):
    g = lowered(vgg_like_onnx(rng))
    with pytest.raises(CalibrationError, match="method"):
        quantize(g, inputs(rng, g, 4), method="kl")
    with pytest.raises(CnncError, match="rounding"):
        quantize(g, inputs(rng, g, 4), rounding="stochastic")


def test_percentile_ignores_a_rare_outlier(rng):
    g = lowered(vgg_like_onnx(rng))
    cal = inputs(rng, g, 64)
    cal[3, 1, 4, 4] = 80.0  # one outlier pixel among 15552 values
    r = {m: collect_ranges(g, cal, m) for m in ("minmax", "percentile")}
    x = g.nodes[0].outputs[0]  # the input in NHWC
    assert r["minmax"][x][1] == pytest.approx(80.0)
    assert r["percentile"][x][1] < 6.0 and r["percentile"][x][0] < -2.0, r["percentile"][x]


def qerr(values, lo, hi):
    s, z = choose_qparams(lo, hi)
    return np.mean((s * (np.clip(np.round(values / s) + z, -128, 127) - z) - values) ** 2)


def test_mse_range_clips_only_when_it_pays(rng):
    """With 256 levels clipping a lone outlier pays only when the rounding error it saves
    over all values (s**2/12 each) exceeds its own squared clip error: true for one
    outlier among 2M values, false among 15k."""
    big = rng.normal(0, 1, 2_000_000)
    big[7] = 1000.0
    lo, hi = _mse_range(big, big.min(), big.max())
    # clipping to ~270 balances 730**2 for the outlier against 2M * (275/255)**2 / 12
    assert 150.0 < hi < 400.0 and qerr(big, lo, hi) < 0.5 * qerr(big, big.min(), big.max())
    small = big[:15_000]
    lo, hi = _mse_range(small, small.min(), small.max())
    assert hi > 900.0


def test_mse_calibration_never_worse_than_minmax(rng):
    g = lowered(vgg_like_onnx(rng))
    cal = rng.laplace(0, 1, (64, 3, 9, 9)).astype(np.float32)
    x = g.nodes[0].outputs[0]
    lo_mm, hi_mm = collect_ranges(g, cal, "minmax")[x]
    lo, hi = collect_ranges(g, cal, "mse")[x]
    assert lo_mm <= lo < 0 < hi <= hi_mm
    assert qerr(cal, lo, hi) <= qerr(cal, lo_mm, hi_mm)


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_every_method_gives_a_working_model(rng, method):
    g = lowered(branchy_onnx(rng))
    qg = quantize(g, inputs(rng, g, 48), method=method)
    x = inputs(rng, g, 30)
    yf = reference.run(g, {"x": x})["y"]
    yq = reference.run(qg, {"x": x})["y"]
    assert np.abs(yf - yq).max() < 0.1
    assert qg.metadata["cnnc.calibration"] == method


# ------------------------------------------------------------------ per-layer error table


def test_error_metrics_hand_cases():
    f = np.array([1.0, 0.0, -2.0])
    assert snr_db(f, f) == float("inf") and cosine(f, f) == pytest.approx(1.0)
    assert snr_db(f, f + np.array([0.1, 0.0, 0.2])) == pytest.approx(10 * np.log10(5 / 0.05))
    assert cosine(f, -f) == pytest.approx(-1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)


def test_error_table_finds_the_broken_layer(rng):
    g = lowered(branchy_onnx(rng))
    qg = quantize(g, inputs(rng, g, 48))
    x = inputs(rng, g, 20)
    rows = quant_error_table(g, qg, x)
    layers = [r["layer"] for r in rows]
    assert {"stem", "dw", "pw", "residual", "side", "concat", "gap", "fc"} <= set(layers)
    assert all(r["cosine"] > 0.99 and r["snr_db"] > 20 for r in rows), rows
    # break one layer: halve the multiplier of the depthwise conv's first channel
    dw = next(n for n in qg.nodes if n.name == "dw")
    qg.tensors[dw.inputs[3]].data[0] //= 2
    broken = quant_error_table(g, qg, x)
    worst = min(broken, key=lambda r: r["snr_db"])
    drop = {r["layer"]: r["snr_db"] for r in rows}
    first_bad = next(r for r in broken if r["snr_db"] < drop[r["layer"]] - 10)
    assert first_bad["layer"] == "dw", broken
    text = format_quant_error_table(broken)
    assert "cosine" in text and "SNR dB" in text
    assert f"{worst['layer']}" in next(line for line in text.splitlines() if "lowest SNR" in line)


def test_per_channel_affine_ops_become_depthwise_int8(rng):
    """Standalone BatchNorm (after a MaxPool it cannot fold) and Mul/Add by a per-channel
    constant run as depthwise 1x1 int8 convolutions, so the model stays integer-only."""
    n1, i1 = conv("c1", "x", 3, 7, rng)
    c = 7
    pool = helper.make_node("MaxPool", ["c1"], ["p"], name="pool", kernel_shape=[2, 2],
                            strides=[2, 2])  # fmt: skip
    n2, i2 = affine_tail("p", c, rng)
    nodes, inits = [*n1, pool, *n2], {**i1, **i2}
    g = lowered(make_model(nodes, {"x": [1, 3, 9, 9]}, {"y": [1, c, 4, 4]}, inits))
    assert {"scale_shift", "mul", "add"} & {n.op for n in g.nodes}, [n.op for n in g.nodes]
    x = inputs(rng, g, 40)
    qg = quantize(g, x)
    assert float_ops_inside(qg) == []
    depthwise = [n for n in qg.nodes if n.op == "s8_conv2d" and n.attrs["groups"] == c]
    assert len(depthwise) == sum(n.op in ("scale_shift", "mul", "add") for n in g.nodes)
    yf = reference.run(g, {"x": x})["y"]
    yq = reference.run(qg, {"x": x})["y"]
    assert np.abs(yf - yq).max() < 0.05 * np.abs(yf).max()  # inputs inside the calibration


def test_error_table_travels_in_the_metadata(rng):
    g = lowered(vgg_like_onnx(rng))
    cal = inputs(rng, g, 24)
    qg = quantize(g, cal)
    stored = table_from_metadata(qg.metadata)
    fresh = quant_error_table(g, qg, cal[:16])
    assert [r["layer"] for r in stored] == [r["layer"] for r in fresh]
    np.testing.assert_allclose([r["snr_db"] for r in stored], [r["snr_db"] for r in fresh])
    assert table_from_metadata({}) == []
