"""HardSigmoid in float32, the worked example of docs/adding_an_op.md: the imported graph,
the lowered graph and the generated C all equal onnxruntime, and the C equals the
reference bit for bit (exact float mode: same two roundings, no FMA)."""

import cnnc
import numpy as np
import pytest
from cnnc import passes, reference
from cnnc.frontend import onnx_import
from onnx_builders import run_onnxruntime, single_node

# (alpha, beta): ONNX's defaults, a steep one that saturates most inputs, a negative slope
PARAMS = {"default": {}, "steep": {"alpha": 1.7, "beta": 0.25}, "negative": {"alpha": -0.3}}
SHAPES = {"4d": [1, 5, 7, 3], "2d": [1, 33]}


def assert_within(expected, actual, what, tol=1e-6):
    err = np.abs(actual.astype(np.float64) - expected)
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= tol, (
        f"{what}: |error| {err[worst]:.3g} at index {worst}: "
        f"expected {expected[worst]!r}, actual {actual[worst]!r}"
    )


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
@pytest.mark.parametrize("attrs", list(PARAMS.values()), ids=list(PARAMS))
def test_hard_sigmoid_equals_onnxruntime(rng, tmp_path, attrs, shape):
    model = single_node("HardSigmoid", shape, **attrs)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    (want,) = run_onnxruntime(model, {"x": x})
    imported = onnx_import.load(model)
    lowered = passes.lower(imported)
    assert "hard_sigmoid" in [n.op for n in lowered.nodes]
    for stage, graph in (("imported", imported), ("lowered", lowered)):
        got = reference.run(graph, {"x": x})[graph.outputs[0]]
        assert_within(want, got, f"{stage} reference")
    m = cnnc.compile(model, tmp_path / "out")
    y_c = m.run(x)
    assert_within(want, y_c, "C")
    np.testing.assert_array_equal(y_c, m.reference(x))
    assert 0.0 <= y_c.min() and y_c.max() <= 1.0
