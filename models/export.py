"""ONNX export of a trained network, in eval mode, with standard ops (opset 13).

The exported graph takes NCHW input as ONNX users expect; the NumPy network is
NHWC, so weights are transposed on the way out:

    Conv2D           w [KH,KW,Cin,Cout] -> Conv W [Cout,Cin,KH,KW] (+ bias B)
    DepthwiseConv2D  w [KH,KW,C*M]      -> Conv W [C*M,1,KH,KW], group = C
    Dense            w [K,M]            -> Gemm(x, W [M,K], b, transB=1)
    BatchNorm        kept as BatchNormalization (the compiler folds it)
    ReLU6            Clip(x, 0, 6); ELU -> Elu; Dropout -> nothing (eval mode)
    GlobalAvgPool    GlobalAveragePool -> Flatten (the NumPy layer returns [N, C])
    Flatten          Flatten; a NumPy Flatten orders features (H, W, C) and ONNX's
                     of an NCHW tensor (C, H, W), so the rows of the Dense that
                     follows are permuted to match; if no Dense follows, a
                     Transpose to NHWC precedes the Flatten instead
    Residual         Add(shortcut(x) or x, body(x))
    Sigmoid          Sigmoid; HardSigmoid -> HardSigmoid(alpha = 1/6, beta = 0.5)
    SqueezeExcite    GlobalAveragePool (kept 4-D) -> each Dense as a 1x1 Conv W [M,K,1,1]
                     with its bias -> activations -> Mul(x, gates [N,C,1,1]), as torch
                     exports torchvision's SqueezeExcitation

XNOR-Net binarisation, the encoding fixed for the whole project (sign(0) = +1,
which ONNX Sign does not give):

    Sign             neg = Less(x, 0.0); y = Where(neg, -1.0, +1.0)   (scalar initializers)
    BinaryConv2D     Conv(y, S) with S = sign(w) in {-1,+1} [Cout,Cin,KH,KW], no bias,
                     then Mul(., alpha [1,Cout,1,1])
    BinaryDense      Gemm(y, S [M,K], transB=1), no C, then Mul(., alpha [1,M])

Preprocessing is recorded in the metadata keys ``cnnc.model``, ``cnnc.dataset``,
``cnnc.input_size``, ``cnnc.norm_mean``, ``cnnc.norm_std`` (JSON lists) and
``cnnc.classes``, which ``data.inputs_for_model`` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from cnnc.errors import UnsupportedError
from onnx import TensorProto, helper, numpy_helper

from .network import Container, Residual, Sequential, SqueezeExcite, named_layers

OPSET = 13
IR_VERSION = 8  # the IR of opset 13's release; every onnxruntime since 1.10 reads it
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


@dataclass
class Builder:
    """Collects nodes and initializers; hands out unique tensor names."""

    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    names: set = field(default_factory=set)
    leaves: list = field(default_factory=list)  # forward-order leaf layers, for look-ahead
    permute_next_dense: tuple[int, int, int] | None = None  # (H, W, C) of a pending Flatten

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def const(self, base: str, value: np.ndarray) -> str:
        name = self.unique(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.unique(f"{base}:out")
        self.nodes.append(
            helper.make_node(op, inputs, [out], name=self.unique(f"{base}:{op}"), **attrs)
        )
        return out

    def next_leaf_after(self, layer: Any) -> Any:
        """The first layer after ``layer`` in forward order that computes something in eval."""
        idx = next(i for i, leaf in enumerate(self.leaves) if leaf is layer)
        for leaf in self.leaves[idx + 1 :]:
            if type(leaf).__name__ != "Dropout":
                return leaf
        return None


# ---------------------------------------------------------------------------- per-layer rules
# fn(builder, layer, x: tensor name, in_shape: per-sample NHWC shape, name) -> output name


def conv_attrs(layer) -> dict:
    return {
        "kernel_shape": list(layer.kernel_size),
        "strides": list(layer.stride),
        "pads": list(layer.padding),  # ONNX order (top, left, bottom, right) = ours
    }


def export_conv(b: Builder, layer, x: str, shape, name: str) -> str:
    w = b.const(f"{name}.w", layer.params["w"].transpose(3, 2, 0, 1))
    inputs = [x, w] + ([b.const(f"{name}.b", layer.params["b"])] if layer.use_bias else [])
    return b.node("Conv", inputs, name, **conv_attrs(layer))


def export_depthwise(b: Builder, layer, x: str, shape, name: str) -> str:
    w = b.const(f"{name}.w", layer.params["w"].transpose(2, 0, 1)[:, None])
    inputs = [x, w] + ([b.const(f"{name}.b", layer.params["b"])] if layer.use_bias else [])
    return b.node("Conv", inputs, name, group=layer.channels, **conv_attrs(layer))


def dense_rows(b: Builder, w: np.ndarray) -> np.ndarray:
    """w [K, M] with rows reordered from NHWC to NCHW flatten order if a Flatten is pending."""
    if b.permute_next_dense is None:
        return w
    h, wd, c = b.permute_next_dense
    b.permute_next_dense = None
    perm = np.arange(h * wd * c).reshape(h, wd, c).transpose(2, 0, 1).reshape(-1)
    return w[perm]


def export_dense(b: Builder, layer, x: str, shape, name: str) -> str:
    w = b.const(f"{name}.w", dense_rows(b, layer.params["w"]).T)
    inputs = [x, w] + ([b.const(f"{name}.b", layer.params["b"])] if layer.use_bias else [])
    return b.node("Gemm", inputs, name, transB=1)


def export_batchnorm(b: Builder, layer, x: str, shape, name: str) -> str:
    inputs = [
        x,
        b.const(f"{name}.gamma", layer.params["gamma"]),
        b.const(f"{name}.beta", layer.params["beta"]),
        b.const(f"{name}.running_mean", layer.state["running_mean"]),
        b.const(f"{name}.running_var", layer.state["running_var"]),
    ]
    return b.node("BatchNormalization", inputs, name, epsilon=layer.eps)


def export_relu(b: Builder, layer, x: str, shape, name: str) -> str:
    return b.node("Relu", [x], name)


def export_relu6(b: Builder, layer, x: str, shape, name: str) -> str:
    lo, hi = b.const(f"{name}.min", np.float32(0.0)), b.const(f"{name}.max", np.float32(6.0))
    return b.node("Clip", [x, lo, hi], name)


def export_elu(b: Builder, layer, x: str, shape, name: str) -> str:
    return b.node("Elu", [x], name, alpha=layer.alpha)


def export_maxpool(b: Builder, layer, x: str, shape, name: str) -> str:
    return b.node("MaxPool", [x], name, **conv_attrs(layer))


def export_avgpool(b: Builder, layer, x: str, shape, name: str) -> str:
    return b.node(
        "AveragePool",
        [x],
        name,
        count_include_pad=int(layer.count_include_pad),
        **conv_attrs(layer),
    )


def export_global_avgpool(b: Builder, layer, x: str, shape, name: str) -> str:
    pooled = b.node("GlobalAveragePool", [x], name)
    return b.node("Flatten", [pooled], f"{name}.flatten", axis=1)


def export_flatten(b: Builder, layer, x: str, shape, name: str) -> str:
    if len(shape) != 3 or shape[0] * shape[1] == 1:
        return b.node("Flatten", [x], name, axis=1)  # (C, H, W) order = (H, W, C) order
    if type(b.next_leaf_after(layer)).__name__ in ("Dense", "BinaryDense"):
        b.permute_next_dense = tuple(shape)
        return b.node("Flatten", [x], name, axis=1)
    nhwc = b.node("Transpose", [x], f"{name}.to_nhwc", perm=[0, 2, 3, 1])
    return b.node("Flatten", [nhwc], name, axis=1)


def export_sigmoid(b: Builder, layer, x: str, shape, name: str) -> str:
    return b.node("Sigmoid", [x], name)


def export_hard_sigmoid(b: Builder, layer, x: str, shape, name: str) -> str:
    return b.node("HardSigmoid", [x], name, alpha=1.0 / 6.0, beta=0.5)


SE_GATE_LAYERS = ("ReLU", "ReLU6", "Sigmoid", "HardSigmoid")


def export_squeeze_excite(b: Builder, se: SqueezeExcite, x: str, prefix: str) -> str:
    """The gates on the 4-D pooled tensor (Dense as 1x1 Conv), then Mul(x, gates)."""
    layers = se.squeeze.layers if isinstance(se.squeeze, Sequential) else [se.squeeze]
    kinds = [type(layer).__name__ for layer in layers]
    if kinds[:1] != ["GlobalAvgPool"] or any(
        k not in ("Dense", *SE_GATE_LAYERS) for k in kinds[1:]
    ):
        raise UnsupportedError(
            f"export: squeeze-excitation {prefix.rstrip('.')} must be GlobalAvgPool followed "
            f"by Dense and {'/'.join(SE_GATE_LAYERS)} layers; got {', '.join(kinds)}"
        )
    g = b.node("GlobalAveragePool", [x], f"{prefix}squeeze.0")
    for i, (layer, kind) in enumerate(zip(layers[1:], kinds[1:], strict=True), 1):
        name = f"{prefix}squeeze.{i}"
        if kind == "Dense":
            w = b.const(f"{name}.w", layer.params["w"].T[:, :, None, None])
            bias = [b.const(f"{name}.b", layer.params["b"])] if layer.use_bias else []
            g = b.node("Conv", [g, w, *bias], name, kernel_shape=[1, 1])
        else:
            g = EXPORTERS[kind](b, layer, g, None, name)
    return b.node("Mul", [x, g], f"{prefix}excite")


def export_dropout(b: Builder, layer, x: str, shape, name: str) -> str:
    return x


def export_sign(b: Builder, layer, x: str, shape, name: str) -> str:
    zero = b.const(f"{name}.zero", np.float32(0.0))
    minus_one = b.const(f"{name}.minus_one", np.float32(-1.0))
    one = b.const(f"{name}.one", np.float32(1.0))
    neg = b.node("Less", [x, zero], f"{name}.neg")
    return b.node("Where", [neg, minus_one, one], name)


def export_binary_conv(b: Builder, layer, x: str, shape, name: str) -> str:
    s = b.const(f"{name}.w_sign", layer.binary_weight().transpose(3, 2, 0, 1))
    alpha = b.const(f"{name}.alpha", layer.alpha().reshape(1, -1, 1, 1))
    y = b.node("Conv", [x, s], name, **conv_attrs(layer))
    return b.node("Mul", [y, alpha], f"{name}.scale")


def export_binary_dense(b: Builder, layer, x: str, shape, name: str) -> str:
    s = b.const(f"{name}.w_sign", dense_rows(b, layer.binary_weight()).T)
    alpha = b.const(f"{name}.alpha", layer.alpha().reshape(1, -1))
    y = b.node("Gemm", [x, s], name, transB=1)
    return b.node("Mul", [y, alpha], f"{name}.scale")


EXPORTERS: dict[str, Callable[..., str]] = {
    "Conv2D": export_conv,
    "DepthwiseConv2D": export_depthwise,
    "Dense": export_dense,
    "BatchNorm": export_batchnorm,
    "ReLU": export_relu,
    "ReLU6": export_relu6,
    "ELU": export_elu,
    "MaxPool": export_maxpool,
    "AvgPool": export_avgpool,
    "GlobalAvgPool": export_global_avgpool,
    "Flatten": export_flatten,
    "Dropout": export_dropout,
    "Sigmoid": export_sigmoid,
    "HardSigmoid": export_hard_sigmoid,
    "Sign": export_sign,
    "BinaryConv2D": export_binary_conv,
    "BinaryDense": export_binary_dense,
}


def export_module(b: Builder, module: Any, x: str, shape: tuple, prefix: str) -> tuple[str, tuple]:
    """Emit module's nodes reading tensor x; returns (output name, per-sample NHWC shape)."""
    if isinstance(module, Sequential):
        for child_name, child in module.children():
            x, shape = export_module(b, child, x, shape, f"{prefix}{child_name}.")
        return x, shape
    if isinstance(module, Residual):
        y, out_shape = export_module(b, module.body, x, shape, f"{prefix}body.")
        if module.shortcut is not None:
            x, _ = export_module(b, module.shortcut, x, shape, f"{prefix}shortcut.")
        return b.node("Add", [x, y], f"{prefix}add"), out_shape
    if isinstance(module, SqueezeExcite):
        return export_squeeze_excite(b, module, x, prefix), tuple(module.output_shape(shape))
    if isinstance(module, Container):
        raise UnsupportedError(f"export: container {type(module).__name__} has no ONNX rule")
    kind = type(module).__name__
    if kind not in EXPORTERS:
        raise UnsupportedError(
            f"export: layer {prefix.rstrip('.')} ({kind}) has no ONNX rule; "
            f"supported: {', '.join(EXPORTERS)}"
        )
    y = EXPORTERS[kind](b, module, x, shape, prefix.rstrip("."))
    return y, tuple(module.output_shape(shape))


# ---------------------------------------------------------------------------- the model


def rename_output(b: Builder, old: str, new: str) -> None:
    """Make the node producing ``old`` write ``new`` (the graph output) instead."""
    producer = next((n for n in b.nodes if old in n.output), None)
    if producer is None:
        raise UnsupportedError("export: the network computes nothing (its output is its input)")
    producer.output[list(producer.output).index(old)] = new
    for node in b.nodes:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new


def metadata(model: str, dataset: str, input_size: int, mean, std, classes: int) -> dict:
    """The metadata keys every cnnc-exported model carries (values are strings)."""
    return {
        "cnnc.model": model,
        "cnnc.dataset": dataset,
        "cnnc.input_size": str(int(input_size)),
        "cnnc.norm_mean": json.dumps([float(v) for v in np.ravel(mean)]),
        "cnnc.norm_std": json.dumps([float(v) for v in np.ravel(std)]),
        "cnnc.classes": str(int(classes)),
    }


def to_onnx(
    net: Any,
    input_shape: tuple[int, int, int],
    meta: dict[str, str] | None = None,
    graph_name: str = "cnnc_model",
) -> onnx.ModelProto:
    """The eval-mode ONNX model of net for per-sample NHWC input_shape (H, W, C).

    The ONNX input is ``input`` [N, C, H, W] (batch dimension symbolic), the output
    ``logits`` [N, classes]. Runs ``onnx.checker`` before returning.
    """
    h, w, c = input_shape
    b = Builder(leaves=[leaf for _, leaf in named_layers(net)])
    b.names.add(INPUT_NAME)
    y, out_shape = export_module(b, net, INPUT_NAME, tuple(input_shape), "")
    if len(out_shape) != 1:
        raise UnsupportedError(f"export: the network's output {out_shape} is not [N, classes]")
    rename_output(b, y, OUTPUT_NAME)
    graph = helper.make_graph(
        b.nodes,
        graph_name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", c, h, w])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", out_shape[0]])],
        initializer=b.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="cnnc",
        ir_version=IR_VERSION,
    )
    helper.set_model_props(model, dict(meta or {}))
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(net: Any, path: str | Path, input_shape, meta: dict[str, str]) -> onnx.ModelProto:
    """to_onnx and save to path."""
    model = to_onnx(net, input_shape, meta)
    onnx.save(model, str(path))
    return model


def run_onnxruntime(model: onnx.ModelProto | str | Path, x_nchw: np.ndarray) -> np.ndarray:
    """Logits of the exported model on NCHW float32 input, by onnxruntime (CPU)."""
    import onnxruntime as ort

    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # onnxruntime's graph fusions (BN into Conv, ...) round differently and can move a
    # pre-sign value across zero, flipping an XNOR activation; run the graph as written.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: np.ascontiguousarray(x_nchw, dtype=np.float32)})[0]
