"""Folding passes: constants (with the reference, before lowering) and BatchNorm into the
conv2d/dense before it (after lowering).

A ``Mul`` is never folded into a conv (the binary conv's ``Mul(conv, alpha)`` must stay
so its weights stay ±1), and BatchNorm after a Mul or MaxPool stays a standalone
``scale_shift``; nor is BN folded into a conv fed by ``sign`` with ±1 weights.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..errors import UnsupportedError
from ..frontend.onnx_reference import ONNX_OPS

# ================================================================ 1. constant folding

_REMOVED_OPS = ("Identity", "Dropout")


def fold_constants(graph: ir.Graph) -> ir.Graph:
    """Removes Identity/Dropout and evaluates every node whose inputs are constant."""
    for node in list(graph.nodes):
        if node.op in _REMOVED_OPS:
            training = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
            if training and not _is_const_false(graph, training):
                raise UnsupportedError(
                    f"node '{node.name}' (Dropout): training_mode '{training}' is not a constant "
                    "false; cnnc compiles inference graphs"
                )
            if node.op == "Dropout" and len(node.outputs) > 1 and node.outputs[1]:
                if graph.consumers(node.outputs[1]) or node.outputs[1] in graph.outputs:
                    raise UnsupportedError(
                        f"node '{node.name}' (Dropout): its mask output is used; "
                        "cnnc removes Dropout and supports only its first output"
                    )
            graph.bypass(node, node.inputs[0], node.outputs[0])
            continue
        if _foldable(graph, node):
            inputs = [graph.const(name) if name else None for name in node.inputs]
            if node.op == "Shape":
                inputs = [np.empty(graph.tensors[node.inputs[0]].shape, np.float32)]
            outputs = ONNX_OPS[node.op](node, graph, inputs)
            for name, value in zip(node.outputs, outputs, strict=False):
                if name:
                    value = np.array(value)  # a copy; keeps 0-d arrays 0-d
                    graph.tensors[name] = ir.Tensor(name, value.shape, str(value.dtype), value)
            graph.nodes.remove(node)
    return graph


def _is_const_false(graph: ir.Graph, name: str) -> bool:
    data = graph.const(name)
    return data is not None and not bool(np.asarray(data).reshape(-1)[0])


def _foldable(graph: ir.Graph, node: ir.Node) -> bool:
    if node.op == "Shape":
        return True  # needs the input's static shape only
    if node.op not in ONNX_OPS:
        return False
    return all(name == "" or graph.const(name) is not None for name in node.inputs)


# ================================================================ 4. BN folding


def _is_binary_conv(graph: ir.Graph, node: ir.Node) -> bool:
    """A conv2d/dense fed by ``sign`` with ±1 weights: XNOR's binary layer, left intact."""
    producer = graph.producer(node.inputs[0])
    w = graph.const(node.inputs[1])
    return (
        producer is not None
        and producer.op == "sign"
        and w is not None
        and bool(np.all(np.abs(w) == 1))
    )


def fold_batchnorm(graph: ir.Graph) -> ir.Graph:
    """scale_shift after a conv2d/dense (sole consumer, no act) goes into its weights.

    y = (x*w + b) * s + t  =  x*(w*s) + (b*s + t), with s, t per output
    channel = axis 0 of w ([Co,KH,KW,Ci] or [M,K]).
    """
    for node in list(graph.nodes):
        if node.op != "scale_shift" or node.attrs.get("act", "none") != "none":
            continue
        producer = graph.producer(node.inputs[0])
        if producer is None or producer.op not in ("conv2d", "dense"):
            continue
        if producer.attrs.get("act", "none") != "none" or _is_binary_conv(graph, producer):
            continue
        if graph.single_consumer(node.inputs[0]) is not node:
            continue
        scale, shift = graph.const(node.inputs[1]), graph.const(node.inputs[2])
        if scale is None or shift is None or scale.ndim != 1:
            continue
        w = graph.const(producer.inputs[1])
        if w is None or w.shape[0] != scale.shape[0]:
            continue
        new_w = (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
        bias = graph.const(producer.inputs[2]) if len(producer.inputs) > 2 else None
        bias = np.zeros(w.shape[0], np.float32) if bias is None else bias
        new_b = (bias * scale + shift).astype(np.float32)
        producer.inputs[1] = graph.add_const(f"{producer.name}.w_bn", new_w)
        b_name = graph.add_const(f"{producer.name}.b_bn", new_b)
        producer.inputs[2:] = [b_name]
        graph.splice_out(node)
    return graph
