"""The IR: a graph of nodes over named tensors, from ONNX import to code generation.

One Graph type serves every stage; what changes between stages is which ops
appear and which layout the activations have.

Stage 1, imported (``graph.layout == "NCHW"``): nodes carry ONNX op names
(``Conv``, ``BatchNormalization``, ``Gemm``, ...) and ONNX attributes with
defaults filled in. Constants (initializers, folded Constant nodes) are
tensors whose ``data`` is set.

Stage 2, lowered (``graph.layout == "NHWC"``): nodes carry the lowered ops
defined in ``cnnc.ops`` (one ``OpDef`` each: contract, NumPy reference, C emitter),
activations are NHWC, conv weights are ``[Cout, KH, KW, Cin/groups]``, dense weights
``[M, K]``.

Stage 3, typed: the quantise pass sets ``Tensor.dtype``/``Tensor.quant`` and
rewrites ops to their int8 forms (``s8_*``), the binarise pass to their
binary forms (``b1_*``), defined in ``cnnc.ops.s8`` and ``cnnc.ops.b1``. Every
lowered op of every precision is in ``cnnc.ops.registry.OPS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import UnsupportedError


@dataclass
class QuantParams:
    """Affine quantisation real = scale * (q - zero_point).

    Per-tensor: ``scale`` and ``zero_point`` have shape ``()``.
    Per-channel (weights): shape ``[C]`` along ``axis``.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None = None


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"  # "float32" | "int8" | "int32" | "b1" (bits packed along C)
    data: np.ndarray | None = None  # set for constants
    quant: QuantParams | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class Node:
    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """Nodes in a valid execution order (topologically sorted)."""

    tensors: dict[str, Tensor]
    nodes: list[Node]
    inputs: list[str]
    outputs: list[str]
    layout: str = "NCHW"  # "NCHW" after import, "NHWC" after lowering
    metadata: dict[str, str] = field(default_factory=dict)

    def producer(self, tensor: str) -> Node | None:
        for node in self.nodes:
            if tensor in node.outputs:
                return node
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def const(self, tensor: str) -> np.ndarray | None:
        t = self.tensors.get(tensor)
        return None if t is None else t.data

    # ------------------------------------------------------------ rewriting helpers
    # (the one copy every pass uses: name uniquing, single consumer, bypass, dead nodes)

    def fresh_name(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``, ... : the first name no tensor uses yet."""
        name, k = base, 1
        while name in self.tensors:
            name, k = f"{base}_{k}", k + 1
        return name

    def add_const(self, name: str, data: np.ndarray) -> str:
        """Adds a constant tensor under a name not used yet; returns that name."""
        name = self.fresh_name(name)
        data = np.array(data, order="C")  # keeps 0-d arrays 0-d, unlike ascontiguousarray
        self.tensors[name] = Tensor(name, tuple(data.shape), str(data.dtype), data)
        return name

    def single_consumer(self, tensor: str) -> Node | None:
        """The only node reading ``tensor``; None if several do or it is a graph output."""
        users = self.consumers(tensor)
        return users[0] if len(users) == 1 and tensor not in self.outputs else None

    def rename_uses(self, old: str, new: str) -> None:
        """Every node input and graph output reading ``old`` reads ``new`` instead."""
        for node in self.nodes:
            node.inputs = [new if name == old else name for name in node.inputs]
        self.outputs = [new if name == old else name for name in self.outputs]

    def bypass(self, node: Node, src: str, dst: str) -> bool:
        """Removes ``node`` that computes ``dst`` as a copy of ``src``; False if it must stay.

        When ``dst`` is a graph output, the producer of ``src`` writes ``dst``
        directly instead, unless ``src`` is a graph input, constant or output.
        """
        if dst in self.outputs:
            producer = self.producer(src)
            if producer is None or src in self.outputs or len(self.consumers(src)) > 1:
                return False
            self.nodes.remove(node)
            producer.outputs = [dst if name == src else name for name in producer.outputs]
            self.tensors[dst] = Tensor(dst, self.tensors[dst].shape, self.tensors[src].dtype)
            self.rename_uses(src, dst)
            return True
        self.nodes.remove(node)
        self.rename_uses(dst, src)
        return True

    def splice_out(self, node: Node) -> None:
        """Removes a node whose producer now computes its output: the producer writes it."""
        src, dst = node.inputs[0], node.outputs[0]
        producer = self.producer(src)
        self.nodes.remove(node)
        producer.outputs = [dst if n == src else n for n in producer.outputs]
        self.tensors.pop(src, None)

    def remove_dead_nodes(self) -> Graph:
        """Drops nodes no graph output depends on, and tensors no node uses; returns self."""
        live = set(self.outputs)
        kept = []
        for node in reversed(self.nodes):
            if any(name in live for name in node.outputs):
                kept.append(node)
                live.update(name for name in node.inputs if name)
        self.nodes = kept[::-1]
        used = live | set(self.inputs)
        for node in self.nodes:
            used.update(node.outputs)
        self.tensors = {name: t for name, t in self.tensors.items() if name in used}
        return self


# ---------------------------------------------------------------- attribute helpers


def act_bounds(attrs: dict[str, Any]) -> tuple[float, float]:
    """The real interval a fused clamp activation keeps: relu [0, inf), relu6 [0, 6],
    clip and the others (-inf, inf); explicit act_min/act_max of relu, relu6 and clip
    override. (Non-clamp activations such as sigmoid are not intervals: (-inf, inf).)"""
    act = attrs.get("act", "none") or "none"
    lo, hi = {"relu": (0.0, np.inf), "relu6": (0.0, 6.0)}.get(act, (-np.inf, np.inf))
    if act in ("relu", "relu6", "clip"):
        if attrs.get("act_min") is not None:
            lo = float(attrs["act_min"])
        if attrs.get("act_max") is not None:
            hi = float(attrs["act_max"])
    return lo, hi


def require_unit_dilations(node: Node) -> None:
    """Refuses a conv or pool with dilation other than 1 (not implemented yet)."""
    dilations = node.attrs.get("dilations", [1])
    if any(d != 1 for d in dilations):
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}) has dilations={list(dilations)}; "
            "cnnc supports dilation 1 only"
        )
