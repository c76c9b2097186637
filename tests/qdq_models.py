"""Pre-quantised test models: a small MobileNetV2-like network quantised by onnxruntime's
``quantize_static`` (QDQ and QOperator), and hand-built QDQ graphs (onnx.helper).

``quantize_static`` is slow (seconds per call, growing with the node count), so the
network is a MobileNetV2 cut to four inverted-residual blocks at 16 px, and callers
cache the results in module-scoped fixtures."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import helper
from onnx_builders import _Builder, make_divisible, make_model


def mini_mobilenetv2(seed: int = 0, size: int = 16, classes: int = 10) -> onnx.ModelProto:
    """Stem conv, four inverted-residual blocks (one residual Add), 1x1 head conv,
    GlobalAveragePool, Flatten, Gemm: the MobileNetV2 builder's layers at width 0.25."""
    b = _Builder(np.random.default_rng(seed))
    x = b.conv_bn("input", 3, 8, 3, 2, 1, "features.0", True)
    cin = 8
    for i, (t, cout, stride) in enumerate([(1, 8, 1), (6, 8, 1), (6, 16, 2), (6, 16, 1)]):
        tag, hidden, y = f"features.{i + 1}.conv", cin * t, x
        if t != 1:
            y = b.conv_bn(y, cin, hidden, 1, 1, 1, f"{tag}.0", True)
        y = b.conv_bn(y, hidden, hidden, 3, stride, hidden, f"{tag}.1", True)
        y = b.conv_bn(y, hidden, cout, 1, 1, 1, f"{tag}.2", False)
        x = b.node("Add", [x, y]) if stride == 1 and cin == cout else y
        cin = cout
    last = make_divisible(32)
    x = b.conv_bn(x, cin, last, 1, 1, 1, "features.5", True)
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    w = b.init("classifier.weight", b.rng.normal(0, 0.1, (classes, last)))
    bias = b.init("classifier.bias", b.rng.normal(0, 0.01, classes))
    b.nodes.append(helper.make_node("Gemm", [x, w, bias], ["output"], name="Gemm_fc", transB=1))
    return make_model(b.nodes, {"input": [1, 3, size, size]}, {"output": [1, classes]}, b.inits)


def fold_batchnorm(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxruntime's basic graph optimisation (Conv+BatchNormalization folding), what
    ``quant_pre_process`` does before quantisation."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "folded.onnx")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = path
        ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return onnx.load(path)


def quantize_static(
    model: onnx.ModelProto, calibration: np.ndarray, fmt: str = "QDQ", activation: str = "QInt8",
    per_channel: bool = True, **extra,
) -> onnx.ModelProto:  # fmt: skip
    """onnxruntime.quantization.quantize_static on ``model`` with int8 weights."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    name = model.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter([{name: calibration[i : i + 1]} for i in range(len(calibration))])

        def get_next(self):
            return next(self.samples, None)

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "float.onnx"), os.path.join(tmp, "quant.onnx")
        onnx.save(model, src)
        ort_quantize_static(
            src, dst, Reader(), quant_format=getattr(QuantFormat, fmt),
            activation_type=getattr(QuantType, activation), weight_type=QuantType.QInt8,
            per_channel=per_channel, **extra,
        )  # fmt: skip
        return onnx.load(dst)


def tiny_pool_concat_matmul(seed: int = 0) -> onnx.ModelProto:
    """Conv+Relu, MaxPool, a 1x1 Conv branch, Concat, AveragePool, GlobalAveragePool,
    Flatten and MatMul + Add: the QDQ ops the MobileNetV2-like model lacks."""
    rng = np.random.default_rng(seed)
    inits = {
        "w1": rng.normal(0, 0.3, (8, 4, 3, 3)),
        "b1": rng.normal(0, 0.1, 8),
        "w2": rng.normal(0, 0.3, (8, 8, 1, 1)),
        "w3": rng.normal(0, 0.3, (16, 10)),
        "b3": rng.normal(0, 0.1, 10),
    }
    inits = {k: np.asarray(v, np.float32) for k, v in inits.items()}
    n = helper.make_node
    nodes = [
        n("Conv", ["input", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        n("Relu", ["c1"], ["r1"], name="relu1"),
        n("MaxPool", ["r1"], ["p1"], name="maxpool", kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2"], ["c2"], name="conv2"),
        n("Relu", ["c2"], ["r2"], name="relu2"),
        n("Concat", ["p1", "r2"], ["cat"], name="concat", axis=1),
        n("AveragePool", ["cat"], ["ap"], name="avgpool", kernel_shape=[2, 2], strides=[2, 2]),
        n("GlobalAveragePool", ["ap"], ["gap"], name="gap"),
        n("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        n("MatMul", ["flat", "w3"], ["mm"], name="matmul"),
        n("Add", ["mm", "b3"], ["output"], name="bias_add"),
    ]
    return make_model(nodes, {"input": [1, 4, 8, 8]}, {"output": [1, 10]}, inits)
