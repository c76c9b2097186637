"""A trained XNOR-Net, compiled with --precision binary: the C gives the NumPy model's
predictions on the whole digits test split, the binary layers equal onnxruntime's float
execution exactly, and the packed weights are >= 25x smaller than float32."""

import cnnc
import numpy as np
import onnx
import pytest
from b1_helpers import signs_nchw
from cnnc.backend import report
from cnnc.models import data, export, train, zoo
from onnx import helper

pytestmark = pytest.mark.slow  # trains a small XNOR-Net (~20 s on one core)


@pytest.fixture(scope="module")
def trained():
    ds = data.load_digits(8)
    net = zoo.xnornet(
        input_size=8, num_classes=10, channels=(32, 64), pools=(True, True), stem_channels=32,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    _, pre = train.fit(net, ds, train.TrainConfig(epochs=4, seed=0), progress=False)
    x_test = pre(ds.x_test)  # NHWC, preprocessed as in training
    meta = export.metadata("xnornet", "digits", 8, pre.mean, pre.std, 10)
    model = export.to_onnx(net, x_test.shape[1:], meta)
    return model, x_test.transpose(0, 3, 1, 2).copy(), ds.y_test, train.predict(net, x_test)


@pytest.fixture(scope="module")
def compiled(trained, tmp_path_factory):
    return cnnc.compile(trained[0], tmp_path_factory.mktemp("xnor") / "out", precision="binary")


def sign_outputs(model: onnx.ModelProto) -> list[str]:
    return [n.output[0] for n in model.graph.node if n.op_type == "Where"]


def test_compiled_predictions_equal_the_numpy_model(trained, compiled):
    _, x, y, logits = trained
    c_logits = compiled.run(x).reshape(len(x), -1)
    # the float tail (classifier) agrees within float tolerance; binary layers: bit tests below
    ref = compiled.reference(x).reshape(len(x), -1)
    np.testing.assert_allclose(c_logits, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
    mismatch = np.flatnonzero(c_logits.argmax(1) != logits.argmax(1))
    assert not mismatch.size, (
        f"{len(mismatch)} of {len(x)} predictions differ, first sample {mismatch[0]}: "
        f"NumPy {logits[mismatch[0]]}, C {c_logits[mismatch[0]]}"
    )
    np.testing.assert_allclose(c_logits, logits, rtol=0, atol=1e-4 * np.abs(logits).max())
    assert np.mean(c_logits.argmax(1) == y) > 0.6, "the trained XNOR-Net should beat chance"


def test_binary_layers_equal_onnxruntime_exactly(trained, compiled):
    model, x, _, _ = trained
    names = sign_outputs(model)
    g = compiled.graph
    packed = [n for n in names if n in g.tensors and g.tensors[n].dtype == "b1"]
    assert len(packed) == 2, f"both block inputs should be packed: {names}"
    # the last binary layer writes alpha * dot as float: the ONNX Mul's own tensor
    floats = [n.outputs[0] for n in g.nodes if n.op == "b1_conv2d" and n.attrs["out"] != "b1"]
    assert len(floats) == 1
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in packed + floats)
    import onnxruntime as ort

    # the graph as exported, op by op: ORT's default optimisations fold Mul(alpha) into the
    # Conv weights, which rounds alpha * w products differently from Conv then Mul
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    want = sess.run(packed + floats, {m.graph.input[0].name: x})
    values = compiled.reference_all(x)
    for name, w in zip(packed, want, strict=False):
        bad = np.argwhere(signs_nchw(g, values, name) != w)
        assert not bad.size, f"{name}: {len(bad)} of {w.size} signs differ, first {bad[0]}"
    got = values[floats[0]].transpose(0, 3, 1, 2)
    bad = np.argwhere(got != want[-1])
    if bad.size:
        i = tuple(bad[0])
        raise AssertionError(f"{floats[0]}: {len(bad)} differ, first {i}: {got[i]}, {want[-1][i]}")


def test_binary_layers_c_bytes_equal_reference(trained, compiled):
    x = trained[1][:5]
    values = compiled.reference_all(x)
    for n, node in enumerate(compiled.graph.nodes, start=1):
        if not node.op.startswith("b1_"):
            continue
        want = np.asarray(values[node.outputs[0]])
        for s, raw in enumerate(compiled.run_layers(x, n)):
            got = np.frombuffer(raw, dtype=want.dtype)
            bad = np.flatnonzero(got != want[s].ravel())
            assert not bad.size, f"layer {n} ({node.op}) sample {s}: first diff at {bad[0]}"


def test_report_counts_bops_and_packed_weights_25x_smaller(compiled):
    layers = [r for r in compiled.report["layers"] if r["op"] == "b1_conv2d"]
    assert len(layers) == 2
    g = compiled.graph
    for r in layers:
        node = g.nodes[r["index"]]
        co, kh, kw, _ = g.tensors[node.inputs[1]].shape
        cin = g.tensors[node.inputs[0]].shape[-1]
        float_bytes = co * kh * kw * cin * 4  # the ±1 weights as float32
        _, oh, ow, _ = g.tensors[node.outputs[0]].shape
        assert r["macs"] == 0 and r["bops"] == oh * ow * co * kh * kw * cin
        assert float_bytes / g.const(node.inputs[1]).nbytes >= 25
        assert float_bytes / r["weight_bytes"] >= 25, f"{r['name']}: incl. thresholds"
        assert r["float32_weight_bytes"] == float_bytes
    totals = compiled.report["totals"]
    assert totals["binary_weight_bytes"] == sum(r["weight_bytes"] for r in layers)
    ratio = totals["binary_float32_weight_bytes"] / totals["binary_weight_bytes"]
    assert ratio >= 25
    assert f"{ratio:.1f}x smaller" in report.format_table(compiled.report)


def test_binary_with_int8_calibration_is_bit_exact(trained, tmp_path):
    """--precision binary with --calibration: the real-valued first and last layers become
    int8 (cnnc.passes.quantize) around the binary ones, and the whole C is bit-exact."""
    model, x, y, logits = trained
    cm = cnnc.compile(model, tmp_path / "out", precision="binary", calibration=x[:64])
    ops = [n.op for n in cm.graph.nodes]
    assert ops.count("b1_conv2d") == 2 and any(op.startswith("s8_") for op in ops)
    c_out = cm.run(x).reshape(len(x), -1)
    np.testing.assert_array_equal(c_out, cm.reference(x).reshape(len(x), -1))
    # int8 rounding in the stem flips some signs downstream, so predictions move; the
    # accuracy must not (measured: 82.5% vs 80.8% float, 91% of predictions unchanged)
    acc, acc_float = np.mean(c_out.argmax(1) == y), np.mean(logits.argmax(1) == y)
    assert acc >= acc_float - 0.05, f"binary+int8 accuracy {acc:.3f} vs float {acc_float:.3f}"
