"""int8 C for the ops the zoo networks do not use: concat with requantisation, average
pooling with padding, residual add of two scales, depthwise, standalone BatchNorm and
per-channel Mul/Add, a float softmax after the dequantisation, int8 transposes. The
graphs are the ones tests/compiler/test_quantize.py builds; here they are compiled and
the C must equal the reference bit for bit, in both rounding modes."""

import importlib.util
from pathlib import Path

import cnnc
import numpy as np
import pytest
from onnx import helper

_spec = importlib.util.spec_from_file_location(
    "quantize_builders", Path(__file__).parents[1] / "compiler" / "test_quantize.py"
)
builders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builders)


def affine_onnx(rng):
    """conv -> maxpool -> standalone BatchNorm -> Mul and Add by per-channel constants."""
    nodes, inits = builders.conv("c1", "x", 3, 7, rng)
    nodes = [
        *nodes,
        helper.make_node(
            "MaxPool",
            ["c1"],
            ["p"],
            name="pool",
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
        ),  # fmt: skip
    ]
    c = 7
    tail, tail_inits = builders.affine_tail("p", c, rng)
    nodes, inits = [*nodes, *tail], {**inits, **tail_inits}
    return builders.make_model(nodes, {"x": [1, 3, 9, 9]}, {"y": [1, c, 5, 5]}, inits)


GRAPHS = {
    "vgg-like": builders.vgg_like_onnx,
    "branchy": builders.branchy_onnx,
    "affine": affine_onnx,
}


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_int8_graph_c_is_bit_exact(tmp_path, rng, graph, rounding):
    model = GRAPHS[graph](rng)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    cal = rng.normal(0, 1, (48, *shape[1:])).astype(np.float32)
    cm = cnnc.compile(model, tmp_path / graph, precision="int8", calibration=cal,
                      rounding=rounding)  # fmt: skip
    ops = {n.op for n in cm.graph.nodes}
    assert ops & {"s8_concat", "s8_avgpool2d", "s8_add"} or graph == "affine", ops
    x = np.concatenate([cal[:20], rng.normal(0, 1.5, (20, *shape[1:])).astype(np.float32)])
    y_c, y_ref = cm.run(x), cm.reference(x)
    if cm.graph.producer(cm.graph.outputs[0]).op == "softmax":  # float after the dequantise
        np.testing.assert_allclose(y_c, y_ref, rtol=0, atol=1e-6)
    else:
        bad = np.argwhere(y_c != y_ref)
        assert not bad.size, f"{len(bad)} differ, first at {tuple(bad[0])}"
    values = cm.reference_all(x[:3])
    for n, node in enumerate(cm.graph.nodes, start=1):  # every integer layer, bit for bit
        if node.op == "softmax":
            continue
        got = cm.run_layers(x[:3], n)
        for s in range(3):
            want = np.ascontiguousarray(values[node.outputs[0]][s]).tobytes()
            assert got[s] == want, f"sample {s}: first differing layer {n} {node.name} {node.op}"
