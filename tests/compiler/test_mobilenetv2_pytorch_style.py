"""A MobileNetV2 exported the way PyTorch exports it: the reference against onnxruntime."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from cnnc import passes, reference
from cnnc.frontend import onnx_import
from onnx_builders import mobilenetv2_pytorch_style, run_onnxruntime

TOL = 1e-5  # of the output range


def check_against_onnxruntime(model, x: np.ndarray) -> None:
    want = run_onnxruntime(model, {"input": x})[0]
    graph = passes.lower(onnx_import.load(model))
    got = reference.run(graph, {"input": x})["output"]
    assert got.shape == want.shape
    span = float(np.ptp(want))
    err = np.abs(got - want)
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    assert err[worst] <= TOL * span, (
        f"at {worst}: expected {want[worst]}, actual {got[worst]} (range {span:.3g})"
    )
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()


def test_full_size_1000_classes_224(rng):
    model = mobilenetv2_pytorch_style(num_classes=1000, input_size=224)
    check_against_onnxruntime(model, rng.standard_normal((1, 3, 224, 224), dtype=np.float32))


def test_lowered_structure_is_fused_and_nhwc():
    """BN folded into every conv, every Clip fused as relu6, one boundary transpose."""
    model = mobilenetv2_pytorch_style(num_classes=1000, input_size=224)
    graph = passes.lower(onnx_import.load(model))
    ops = Counter(n.op for n in graph.nodes)
    assert ops == {
        "conv2d": 52,
        "add": 10,
        "transpose": 1,
        "global_avgpool": 1,
        "reshape": 1,
        "dense": 1,
    }
    assert graph.nodes[0].op == "transpose" and graph.nodes[0].inputs == ["input"]
    convs = [n for n in graph.nodes if n.op == "conv2d"]
    depthwise = [n for n in convs if n.attrs["groups"] > 1]
    assert len(depthwise) == 17
    assert all(graph.const(n.inputs[1]).shape[3] == 1 for n in depthwise)
    assert sum(n.attrs["act"] == "relu6" for n in convs) == 35
    assert graph.tensors["output"].shape == (1, 1000)


@pytest.mark.parametrize("flatten", ["flatten", "reshape_chain"])
@pytest.mark.parametrize(
    "width,size,classes", [(0.35, 33, 10), (0.5, 65, 17)], ids=["w035_33px", "w05_65px"]
)
def test_small_configs(rng, width, size, classes, flatten):
    model = mobilenetv2_pytorch_style(
        num_classes=classes, input_size=size, width=width, flatten=flatten, seed=3
    )
    check_against_onnxruntime(model, rng.standard_normal((1, 3, size, size), dtype=np.float32))


def test_batch_of_three_with_a_dynamic_batch_export(rng):
    model = mobilenetv2_pytorch_style(num_classes=10, input_size=33, width=0.35, dynamic_batch=True)
    check_against_onnxruntime(model, rng.standard_normal((3, 3, 33, 33), dtype=np.float32))
