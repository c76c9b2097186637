"""ReduceMean / ReduceMax as torch exports them (``x.mean([2, 3])``: axes an attribute up to
opset 17, a constant input from opset 18; keepdims 0 or 1), over H, W and (ReduceMean)
over channels. The lowered reference against onnxruntime for every case (|error| <= 1e-5:
the conv before the reduction sums in another order than onnxruntime: outputs ~5 differ in
the last bits), compiled C for some: float32 within 1e-5 of
onnxruntime, int8 C == reference bit for bit with no float op left."""

import numpy as np
import pytest
from cnnc import api, passes, reference
from cnnc.errors import UnsupportedError
from cnnc.frontend import onnx_import
from onnx import helper
from onnx_builders import make_model, run_onnxruntime

CASES = {  # id: (op, axes, keepdims)
    "mean-hw": ("ReduceMean", [2, 3], 0),
    "mean-hw-neg-keep": ("ReduceMean", [-1, -2], 1),
    "max-hw": ("ReduceMax", [2, 3], 0),
    "max-hw-keep": ("ReduceMax", [3, 2], 1),
    "mean-c-keep": ("ReduceMean", [1], 1),
    "mean-c": ("ReduceMean", [1], 0),
}
COMPILED = ["mean-hw", "max-hw-keep"]  # channel mean is a 1x1 conv: covered above


def reduce_model(rng, op, axes, keepdims, opset):
    inits = {"w0": (rng.standard_normal((6, 3, 3, 3)) * 0.5).astype(np.float32)}
    attrs, inputs = {}, ["c0"]
    if opset >= 18:
        inits["axes"] = np.array(axes, np.int64)
        inputs.append("axes")
    else:
        attrs["axes"] = axes
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="c0", pads=[1, 1, 1, 1]),
        helper.make_node(op, inputs, ["y"], name="reduce", keepdims=keepdims, **attrs),
    ]
    return make_model(nodes, {"x": [1, 3, 5, 7]}, {"y": None}, inits, opset=opset)


def onnxruntime_batch(model, x):
    return np.concatenate([run_onnxruntime(model, {"x": xi[None]})[0] for xi in x])


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("case", list(CASES))
def test_lowered_reference_equals_onnxruntime(rng, case, opset):
    model = reduce_model(rng, *CASES[case], opset)
    x = rng.standard_normal((4, 3, 5, 7)).astype(np.float32)
    want = onnxruntime_batch(model, x)
    imported = onnx_import.load(model)
    lowered = passes.lower(imported)
    for stage, g in (("imported", imported), ("lowered", lowered)):
        got = reference.run(g, {"x": x})["y"]
        assert got.shape == want.shape, stage
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5, err_msg=stage)


@pytest.mark.parametrize("case", COMPILED)
def test_compiled_float32_and_int8(rng, tmp_path, case):
    model = reduce_model(rng, *CASES[case], 18 if case == "mean-hw" else 13)
    x = rng.standard_normal((12, 3, 5, 7)).astype(np.float32)
    want = onnxruntime_batch(model, x)
    f32 = api.compile(model, tmp_path / "f32")
    np.testing.assert_allclose(f32.run(x), want, rtol=0, atol=1e-5)
    q = api.compile(model, tmp_path / "int8", precision="int8", calibration=x)
    assert q.graph.metadata["cnnc.float_ops"] == ""
    y = q.run(x)
    np.testing.assert_array_equal(y, q.reference(x))
    step = max(float(t.quant.scale) for t in q.graph.tensors.values() if t.quant is not None)
    assert np.abs(y - want).max() <= 3 * step  # int8: within a few quantisation steps


def test_unsupported_axes_are_refused_by_name(rng):
    model = reduce_model(rng, "ReduceMax", [1], 1, 13)
    with pytest.raises(UnsupportedError, match=r"'reduce' \(ReduceMax\): axes \[1\]"):
        passes.lower(onnx_import.load(model))
