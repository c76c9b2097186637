"""Small ONNX models built with onnx.helper for tests, and a PyTorch-style MobileNetV2.

Everything here builds models in memory; tests save them under ``tmp_path``
when a file is needed. ``run_onnxruntime`` is the independent executor the
reference is compared with.
"""

from __future__ import annotations

import numpy as np
import onnx
from cnnc.models.zoo import IMAGENET_SETTINGS, make_divisible
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def make_model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, list],
    outputs: dict[str, list | None],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = OPSET,
    metadata: dict[str, str] | None = None,
) -> onnx.ModelProto:
    """A model from nodes; inputs/outputs map names to shapes (None: left to inference)."""
    graph = helper.make_graph(
        nodes,
        "cnnc_test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in (initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if any(s is None for s in outputs.values()):  # the checker wants output shapes: infer them
        inferred = onnx.shape_inference.infer_shapes(model)
        known = {v.name: v for v in inferred.graph.value_info}
        known.update({v.name: v for v in inferred.graph.output})
        for out in model.graph.output:
            if not out.type.tensor_type.HasField("shape") and out.name in known:
                out.CopyFrom(known[out.name])
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def single_node(
    op: str,
    x_shape: list[int],
    consts: dict[str, np.ndarray] | None = None,
    extra_inputs: dict[str, list[int]] | None = None,
    **attrs,
) -> onnx.ModelProto:
    """One node reading activation 'x' (plus more activations and constants) writing 'y'."""
    consts = consts or {}
    extra_inputs = extra_inputs or {}
    inputs = {"x": x_shape, **extra_inputs}
    node = helper.make_node(op, [*inputs, *consts], ["y"], name=f"{op.lower()}0", **attrs)
    return make_model([node], inputs, {"y": None}, consts)


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def sign_pattern(x: str, y: str, prefix: str = "sign") -> tuple[list, dict]:
    """The XNOR-Net sign encoding (sign(0) = +1): Where(Less(x, 0), -1, +1)."""
    nodes = [
        helper.make_node("Less", [x, f"{prefix}.zero"], [f"{prefix}.neg"], name=f"{prefix}.less"),
        helper.make_node(
            "Where",
            [f"{prefix}.neg", f"{prefix}.minus_one", f"{prefix}.one"],
            [y],
            name=f"{prefix}.where",
        ),
    ]
    consts = {
        f"{prefix}.zero": np.float32(0.0),
        f"{prefix}.minus_one": np.float32(-1.0),
        f"{prefix}.one": np.float32(1.0),
    }
    return nodes, consts


# ---------------------------------------------------------------- MobileNetV2, PyTorch style


class _Builder:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        self.count = 0

    def _name(self, op: str) -> str:
        name = f"{op}_{self.count}"
        self.count += 1
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        name = self._name(op)
        out = f"onnx::{name}_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def init(self, name: str, value: np.ndarray) -> str:
        self.inits[name] = np.asarray(value, dtype=np.float32)
        return name

    def conv_bn(
        self, x: str, cin: int, cout: int, k: int, stride: int, groups: int, tag: str, relu6: bool
    ) -> str:
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        y = self.node(
            "Conv",
            [x, self.init(f"{tag}.0.weight", w)],
            group=groups,
            kernel_shape=[k, k],
            pads=[k // 2] * 4,
            strides=[stride, stride],
            dilations=[1, 1],
        )
        bn = [
            self.init(f"{tag}.1.weight", self.rng.uniform(0.5, 1.5, cout)),
            self.init(f"{tag}.1.bias", self.rng.normal(0, 0.1, cout)),
            self.init(f"{tag}.1.running_mean", self.rng.normal(0, 0.1, cout)),
            self.init(f"{tag}.1.running_var", self.rng.uniform(0.5, 1.5, cout)),
        ]
        y = self.node("BatchNormalization", [y, *bn], epsilon=1e-5, momentum=0.9)
        if relu6:
            y = self.node("Clip", [y, self.init("clip.min", 0.0), self.init("clip.max", 6.0)])
        return y


def mobilenetv2_pytorch_style(
    num_classes: int = 1000,
    input_size: int = 224,
    width: float = 1.0,
    seed: int = 0,
    flatten: str = "flatten",
    dynamic_batch: bool = False,
) -> onnx.ModelProto:
    """MobileNetV2 as torch.onnx.export writes torchvision's model in eval mode.

    Conv (no bias) + BatchNormalization + Clip(0, 6), inverted residual blocks
    with Add, GlobalAveragePool, Flatten (or, with ``flatten="reshape_chain"``,
    the Shape/Gather/Unsqueeze/Concat/Reshape chain older exporters emit), Gemm.
    NCHW input 'input' [1, 3, S, S]; weights are random with Kaiming scale and
    BN statistics near identity, so activations stay in a sane range.
    """
    b = _Builder(np.random.default_rng(seed))
    cin = make_divisible(32 * width)
    last = make_divisible(1280 * max(1.0, width))
    x = b.conv_bn("input", 3, cin, 3, 2, 1, "features.0", True)
    index = 1
    for t, c, n, s in IMAGENET_SETTINGS:  # (t, c, n, s) of the paper, as torchvision
        cout = make_divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            tag = f"features.{index}.conv"
            hidden = cin * t
            y = x
            if t != 1:
                y = b.conv_bn(y, cin, hidden, 1, 1, 1, f"{tag}.0", True)
            y = b.conv_bn(y, hidden, hidden, 3, stride, hidden, f"{tag}.1", True)
            y = b.conv_bn(y, hidden, cout, 1, 1, 1, f"{tag}.2", False)
            if stride == 1 and cin == cout:
                y = b.node("Add", [x, y])
            x, cin = y, cout
            index += 1
    x = b.conv_bn(x, cin, last, 1, 1, 1, f"features.{index}", True)
    x = b.node("GlobalAveragePool", [x])
    if flatten == "flatten":
        x = b.node("Flatten", [x], axis=1)
    else:
        shape = b.node("Shape", [x])
        b.inits["gather.idx"] = np.array(0, np.int64)
        dim0 = b.node("Gather", [shape, "gather.idx"], axis=0)
        unsq = b.node("Unsqueeze", [dim0, "unsq.axes"])
        b.inits["unsq.axes"] = np.array([0], np.int64)
        b.inits["minus_one"] = np.array([-1], np.int64)
        target = b.node("Concat", [unsq, "minus_one"], axis=0)
        x = b.node("Reshape", [x, target])
    w = b.rng.normal(0, np.sqrt(1.0 / last), (num_classes, last))
    fc = [
        b.init("classifier.1.weight", w),
        b.init("classifier.1.bias", b.rng.normal(0, 0.1, num_classes)),
    ]
    b.nodes.append(
        helper.make_node(
            "Gemm", [x, *fc], ["output"], name=b._name("Gemm"), alpha=1.0, beta=1.0, transB=1
        )
    )
    batch = "batch_size" if dynamic_batch else 1
    return make_model(
        b.nodes,
        {"input": [batch, 3, input_size, input_size]},
        {"output": [batch, num_classes]},
        {k: v for k, v in b.inits.items()},
        metadata={
            "cnnc.model": "mobilenetv2",
            "cnnc.input_size": str(input_size),
            "cnnc.classes": str(num_classes),
        },
    )
