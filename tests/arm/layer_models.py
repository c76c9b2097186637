"""Single-layer ONNX models for replaying the int8/binary kernel grids on ARM.

Each case is one op (or one binary block) between the model input and output, built
with onnx.helper, so the whole pipeline (import, lower, quantise/binarise, codegen,
the runtime kernel) runs for exactly that kernel configuration under qemu. The
binary encoding is the team's: sign = Where(Less(x, 0), -1, +1); a binary conv is
Conv with +-1 weights and no bias followed by Mul(alpha[1, Co, 1, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


@dataclass
class Case:
    """A model under construction: nodes and initializers; ``x`` is the current tensor."""

    rng: np.random.Generator
    shape: tuple[int, int, int]  # C, H, W of the current tensor
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    x: str = "input"

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{len(self.nodes)}",
                                           **attrs))  # fmt: skip
        self.x = out
        return out


def out_hw(h: int, k: int, stride: int, pad: int) -> int:
    return (h + 2 * pad - k) // stride + 1


def conv(case: Case, co: int, k: int, stride: int, pad: int, groups: int = 1, act: str = ""):
    c, h, w = case.shape
    wt = case.rng.standard_normal((co, c // groups, k, k)) / np.sqrt(k * k * c / groups)
    b = case.rng.standard_normal(co) * 0.1
    name = f"w{len(case.inits)}"
    attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [pad] * 4}
    case.node("Conv", [case.x, case.const(name, wt), case.const(name + "b", b)], group=groups,
              **attrs)  # fmt: skip
    case.shape = (co, out_hw(h, k, stride, pad), out_hw(w, k, stride, pad))
    activation(case, act)


def activation(case: Case, act: str):
    if act == "relu":
        case.node("Relu", [case.x])
    elif act == "relu6":
        lo, hi = case.const(f"lo{len(case.inits)}", 0.0), case.const(f"hi{len(case.inits)}", 6.0)
        case.node("Clip", [case.x, lo, hi])


def pool(case: Case, kind: str, k: int, stride: int, pad: int):
    c, h, w = case.shape
    attrs = {"kernel_shape": [k, k], "strides": [stride, stride], "pads": [pad] * 4}
    case.node("MaxPool" if kind == "max" else "AveragePool", [case.x], **attrs)
    case.shape = (c, out_hw(h, k, stride, pad), out_hw(w, k, stride, pad))


def global_avgpool(case: Case):
    case.node("GlobalAveragePool", [case.x])
    case.shape = (case.shape[0], 1, 1)


def dense(case: Case, m: int, act: str = ""):
    k = int(np.prod(case.shape))
    case.node("Flatten", [case.x], axis=1)
    wt = case.rng.standard_normal((m, k)) / np.sqrt(k)
    name = f"d{len(case.inits)}"
    b = case.rng.standard_normal(m) * 0.1
    case.node("Gemm", [case.x, case.const(name, wt), case.const(name + "b", b)], transB=1)
    case.shape = (m,)
    activation(case, act)


def residual_add(case: Case, act: str = ""):
    """x + conv3x3(x) with the same channel count (MobileNetV2's skip connection)."""
    skip = case.x
    conv(case, case.shape[0], 3, 1, 1)
    case.node("Add", [skip, case.x])
    activation(case, act)


def sign(case: Case):
    k = len(case.inits)
    neg = case.node("Less", [case.x, case.const(f"zero{k}", 0.0)])
    case.node("Where", [neg, case.const(f"m1_{k}", -1.0), case.const(f"p1_{k}", 1.0)])


def batchnorm(case: Case):
    c = case.shape[0]
    # gamma < 0 on about a fifth of the channels: the threshold's sign flip
    gamma = case.rng.uniform(0.5, 1.5, c) * np.where(case.rng.random(c) < 0.2, -1, 1)
    beta, mean = case.rng.standard_normal(c) * 0.3, case.rng.standard_normal(c) * 0.3
    params = [gamma, beta, mean, case.rng.uniform(0.5, 2.0, c)]
    k = len(case.inits)
    names = [case.const(f"bn{k}_{i}", p) for i, p in enumerate(params)]
    case.node("BatchNormalization", [case.x, *names], epsilon=1e-5)


def binary_conv(case: Case, co: int, k: int, stride: int, pad: int):
    """sign -> Conv(+-1 weights, no bias) -> Mul(alpha): one XNOR-Net binary conv."""
    c, h, w = case.shape
    sign(case)
    latent = case.rng.standard_normal((co, c, k, k))
    n = len(case.inits)
    case.node("Conv", [case.x, case.const(f"bw{n}", np.where(latent < 0, -1.0, 1.0))],
              kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)  # fmt: skip
    alpha = np.abs(latent).mean(axis=(1, 2, 3)).reshape(1, co, 1, 1)
    case.node("Mul", [case.x, case.const(f"alpha{n}", alpha)])
    case.shape = (co, out_hw(h, k, stride, pad), out_hw(w, k, stride, pad))


def binary_dense(case: Case, m: int):
    k = int(np.prod(case.shape))
    case.node("Flatten", [case.x], axis=1)
    sign(case)
    latent = case.rng.standard_normal((m, k))
    n = len(case.inits)
    case.node("Gemm", [case.x, case.const(f"bd{n}", np.where(latent < 0, -1.0, 1.0))], transB=1)
    case.node("Mul", [case.x, case.const(f"alpha{n}", np.abs(latent).mean(axis=1)[None])])
    case.shape = (m,)


def to_model(case: Case, input_shape: tuple[int, int, int]) -> onnx.ModelProto:
    out_shape = [1, *case.shape]
    graph = helper.make_graph(
        case.nodes,
        "case",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, *input_shape])],
        [helper.make_tensor_value_info(case.x, TensorProto.FLOAT, out_shape)],
        initializer=case.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def build(rng: np.random.Generator, input_shape: tuple[int, int, int], steps) -> onnx.ModelProto:
    """A model from the input shape and a list of (builder function, kwargs)."""
    case = Case(rng, tuple(input_shape))
    for fn, kwargs in steps:
        fn(case, **kwargs)
    return to_model(case, input_shape)
