"""Split (ShuffleNetV2's chunk): along channels of a 4-D tensor or the last axis, equal or
given sizes; float32 C against onnxruntime, int8 C against the reference bit for bit (a
part keeps its input's scale), refusals named."""

import cnnc
import numpy as np
import pytest
from cnnc.errors import CnncError
from onnx import helper
from onnx_builders import make_model, run_onnxruntime


def split_model(rng, sizes, axis=1):
    """conv -> Split(sizes) -> a different conv per part -> Concat (so every part is used)."""
    c, nodes, inits = sum(sizes), [], {}
    inits["w0"] = rng.normal(0, 0.5, (c, 3, 3, 3)).astype(np.float32)
    nodes.append(helper.make_node("Conv", ["x", "w0"], ["t"], name="conv0", pads=[1] * 4))
    split_in = ["t"]
    if sizes != "equal":
        inits["sizes"] = np.array(sizes, np.int64)
        split_in.append("sizes")
    parts = [f"p{i}" for i in range(len(sizes))]
    nodes.append(helper.make_node("Split", split_in, parts, name="split", axis=axis))
    outs = []
    for i, (p, s) in enumerate(zip(parts, sizes, strict=True)):
        inits[f"w{i + 1}"] = rng.normal(0, 0.5, (2, s, 1, 1)).astype(np.float32)
        nodes.append(helper.make_node("Conv", [p, f"w{i + 1}"], [f"o{i}"], name=f"conv{i + 1}"))
        outs.append(f"o{i}")
    nodes.append(helper.make_node("Concat", outs, ["y"], name="cat", axis=1))
    return make_model(nodes, {"x": [1, 3, 5, 7]}, {"y": [1, 2 * len(sizes), 5, 7]}, inits)


@pytest.mark.parametrize("sizes", [[3, 5], [2, 2, 4], [1, 6]], ids=str)
def test_split_channels_float_and_int8(rng, tmp_path, sizes):
    model = split_model(rng, sizes)
    x = rng.normal(0, 1, (6, 3, 5, 7)).astype(np.float32)
    f32 = cnnc.compile(model, tmp_path / "f", precision="float32")
    assert sum(n.op == "channel_slice" for n in f32.graph.nodes) == len(sizes)
    want = np.concatenate([run_onnxruntime(model, {"x": x[i : i + 1]})[0] for i in range(6)])
    np.testing.assert_allclose(f32.run(x).reshape(want.shape), want, rtol=0,
                               atol=1e-5 * np.ptp(want))  # fmt: skip
    s8 = cnnc.compile(model, tmp_path / "q", precision="int8", calibration=x)
    assert sum(n.op == "s8_channel_slice" for n in s8.graph.nodes) == len(sizes)
    y_c, y_ref = s8.run(x), s8.reference(x)
    assert (y_c == y_ref).all(), f"{int((y_c != y_ref).sum())} int8 values differ"


def test_equal_split_without_sizes(rng):
    """No 'split' input: equal parts, as ONNX defines for the output count."""
    from cnnc import passes, reference
    from cnnc.frontend import onnx_import

    nodes = [helper.make_node("Split", ["x"], ["a", "b"], name="split", axis=1)]
    model = make_model(nodes, {"x": [1, 6, 2, 3]}, {"a": [1, 3, 2, 3], "b": [1, 3, 2, 3]})
    x = rng.normal(0, 1, (1, 6, 2, 3)).astype(np.float32)
    got = reference.run(passes.lower(onnx_import.load(model)), {"x": x})
    want = run_onnxruntime(model, {"x": x})
    np.testing.assert_array_equal(got["a"], want[0])
    np.testing.assert_array_equal(got["b"], want[1])


def test_split_along_height_is_refused_by_name(tmp_path):
    nodes = [helper.make_node("Split", ["x"], ["a", "b"], name="split", axis=2)]
    model = make_model(nodes, {"x": [1, 3, 4, 5]}, {"a": [1, 3, 2, 5], "b": [1, 3, 2, 5]})
    with pytest.raises(CnncError, match=r"node 'split' \(Split\): axis=2 on rank 4"):
        cnnc.compile(model, tmp_path / "o", precision="float32")
