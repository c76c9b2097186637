"""Graph passes: from the imported ONNX graph (NCHW) to the lowered float graph (NHWC).

``lower(graph)`` runs, in order:

1. ``fold_constants``   Identity/Dropout removed; every node whose inputs are
                        all constant (Constant, ConstantOfShape, the
                        Shape/Gather/Unsqueeze/Concat chains PyTorch emits in
                        front of a Reshape) is evaluated with the reference.
2. ``remove_dead_nodes``
3. ``lower_layout``     ONNX ops -> ``ir.LOWERED_OPS``; 4-D activations become
                        NHWC. The graph input keeps the ONNX layout (the C entry
                        point takes NCHW), so the first node is a ``transpose``
                        (a ``reshape`` when C == 1 or H == W == 1, where NCHW
                        and NHWC hold the same bytes); 4-D outputs get the
                        inverse at the end. BatchNormalization becomes
                        ``scale_shift``, activations become ``act`` nodes.
4. ``fold_batchnorm``   ``scale_shift`` folded into the conv2d/dense before it.
5. ``fuse_activations`` ``act`` folded into its producer's ``act`` attribute.
6. ``absorb_flatten_transpose``  a Flatten of an NHWC tensor needs the NCHW
                        element order; instead of transposing the activations
                        we permute the columns of the dense weights after it.
7. ``simplify_layout``  transpose∘transpose and reshape∘reshape merged,
                        identity transposes/reshapes removed.
8. ``simplify_channel_shuffle``  the ShuffleNet channel shuffle done in NHWC with one
                        transpose instead of three.
9. ``remove_dead_nodes``

XNOR-Net: ``Where(Less(x, 0), -1, +1)`` becomes ``sign``. A ``Mul`` is never
folded into a conv (the binary conv's ``Mul(conv, alpha)`` must stay so its
weights stay ±1), and BatchNorm after a Mul or MaxPool stays a standalone
``scale_shift``; nor is BN folded into a conv fed by ``sign`` with ±1 weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from . import ir, reference
from .errors import ShapeError, UnsupportedError
from .onnx_import import SUPPORTED_OPS

# ================================================================ small graph helpers


def _rename_uses(graph: ir.Graph, old: str, new: str) -> None:
    """Every node input and graph output reading ``old`` reads ``new`` instead."""
    for node in graph.nodes:
        node.inputs = [new if name == old else name for name in node.inputs]
    graph.outputs = [new if name == old else name for name in graph.outputs]


def _bypass(graph: ir.Graph, node: ir.Node, src: str, dst: str) -> bool:
    """Removes ``node`` that computes ``dst`` as a copy of ``src``; False if it must stay.

    When ``dst`` is a graph output, the producer of ``src`` writes ``dst``
    directly instead, unless ``src`` is a graph input, constant or output.
    """
    if dst in graph.outputs:
        producer = graph.producer(src)
        if producer is None or src in graph.outputs or len(graph.consumers(src)) > 1:
            return False
        graph.nodes.remove(node)
        producer.outputs = [dst if name == src else name for name in producer.outputs]
        graph.tensors[dst] = ir.Tensor(dst, graph.tensors[dst].shape, graph.tensors[src].dtype)
        _rename_uses(graph, src, dst)
        return True
    graph.nodes.remove(node)
    _rename_uses(graph, dst, src)
    return True


def add_const(graph: ir.Graph, name: str, data: np.ndarray) -> str:
    """Like ``ir.Graph.add_const`` but keeps a 0-d array 0-d (a scalar operand)."""
    base, k = name, 1
    while name in graph.tensors:
        name, k = f"{base}_{k}", k + 1
    data = np.array(data, order="C")
    graph.tensors[name] = ir.Tensor(name, tuple(data.shape), str(data.dtype), data)
    return name


def _single_consumer(graph: ir.Graph, tensor: str) -> ir.Node | None:
    users = graph.consumers(tensor)
    if len(users) != 1 or tensor in graph.outputs:
        return None
    return users[0]


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
            _bypass(graph, node, node.inputs[0], node.outputs[0])
            continue
        if _foldable(graph, node):
            inputs = [graph.const(name) if name else None for name in node.inputs]
            if node.op == "Shape":
                inputs = [np.empty(graph.tensors[node.inputs[0]].shape, np.float32)]
            outputs = reference.REFERENCE_OPS[node.op](node, graph, inputs)
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
    if node.op not in reference.REFERENCE_OPS:
        return False
    return all(name == "" or graph.const(name) is not None for name in node.inputs)


# ================================================================ 2. dead nodes


def remove_dead_nodes(graph: ir.Graph) -> ir.Graph:
    """Drops nodes no graph output depends on, and tensors no node uses."""
    live = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if any(name in live for name in node.outputs):
            kept.append(node)
            live.update(name for name in node.inputs if name)
    graph.nodes = kept[::-1]
    used = live | set(graph.inputs)
    for node in graph.nodes:
        used.update(node.outputs)
    graph.tensors = {name: t for name, t in graph.tensors.items() if name in used}
    return graph


# ================================================================ 3. layout lowering

NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)


class _Lowering:
    """Builds the lowered graph; tracks which lowered tensor holds each ONNX tensor.

    ``self.where[onnx_name] = (lowered_name, layout)`` with layout "nhwc"
    (a 4-D activation stored NHWC) or "onnx" (stored in ONNX order).
    Conversions between the two are made on demand and cached.
    """

    def __init__(self, src: ir.Graph):
        self.src = src
        self.out = ir.Graph({}, [], list(src.inputs), list(src.outputs), "NHWC", dict(src.metadata))
        self.where: dict[str, tuple[str, str]] = {}
        self.converted: dict[tuple[str, str], str] = {}
        for name in src.inputs:
            self.out.tensors[name] = copy.copy(src.tensors[name])
            self.where[name] = (name, "onnx")

    # -- tensors
    def shape(self, onnx_name: str) -> tuple[int, ...]:
        return self.src.tensors[onnx_name].shape

    def const(self, onnx_name: str) -> np.ndarray | None:
        return self.src.const(onnx_name)

    def unique(self, name: str) -> str:
        base, k = name, 1
        while name in self.out.tensors:
            name, k = f"{base}_{k}", k + 1
        return name

    def new_tensor(self, name: str, shape) -> str:
        name = self.unique(name)
        self.out.tensors[name] = ir.Tensor(name, tuple(int(s) for s in shape))
        return name

    def add_const(self, name: str, data: np.ndarray) -> str:
        return add_const(self.out, name, np.asarray(data, dtype=np.float32))

    def emit(self, op: str, name: str, inputs: list[str], outputs: list[str], **attrs) -> None:
        self.out.nodes.append(ir.Node(op, name, inputs, outputs, attrs))

    def define(self, onnx_name: str, layout: str) -> str:
        """Creates the lowered tensor for an ONNX tensor, named after it."""
        shape = self.shape(onnx_name)
        if layout == "nhwc":
            shape = _permute(shape, NCHW_TO_NHWC)
        name = self.new_tensor(onnx_name, shape)
        self.where[onnx_name] = (name, layout)
        return name

    # -- layouts
    def activation(self, node: ir.Node, onnx_name: str) -> tuple[str, str]:
        if onnx_name not in self.where:
            producer = self.src.producer(onnx_name)
            what = f"output of {producer.op} '{producer.name}'" if producer else "a constant"
            raise UnsupportedError(
                f"node '{node.name}' ({node.op}): input '{onnx_name}' ({what}) is not an "
                "activation cnnc can compute here; supported: "
                f"{', '.join(SUPPORTED_OPS)} (shape ops only on constants, Less only in "
                "the sign pattern Where(Less(x, 0), -1, 1))"
            )
        return self.where[onnx_name]

    def nhwc(self, node: ir.Node, onnx_name: str) -> str:
        name, layout = self.activation(node, onnx_name)
        if layout == "nhwc":
            return name
        shape = self.out.tensors[name].shape
        if len(shape) != 4:
            raise UnsupportedError(
                f"node '{node.name}' ({node.op}) needs a 4-D NCHW input; '{onnx_name}' has "
                f"shape {list(shape)}"
            )
        return self._convert(name, shape, NCHW_TO_NHWC, "nhwc")

    def onnx(self, node: ir.Node, onnx_name: str) -> str:
        name, layout = self.activation(node, onnx_name)
        if layout == "onnx":
            return name
        return self._convert(name, self.out.tensors[name].shape, NHWC_TO_NCHW, "nchw")

    def _convert(self, name: str, shape, perm, suffix: str) -> str:
        key = (name, suffix)
        if key not in self.converted:
            out_shape = _permute(shape, perm)
            new = self.new_tensor(f"{name}.{suffix}", out_shape)
            if _is_noop_transpose(shape, perm):
                self.emit("reshape", f"{new}.reshape", [name], [new])
            else:
                self.emit("transpose", f"{new}.transpose", [name], [new], perm=list(perm))
            self.converted[key] = new
        return self.converted[key]

    def natural(self, node: ir.Node, onnx_name: str) -> tuple[str, str]:
        """A 4-D activation as NHWC, any other in ONNX order: where compute ops read them.

        Converting eagerly keeps the boundary transpose first, so an op such as
        ``sign`` on the graph input directly feeds the conv after it.
        """
        name, layout = self.activation(node, onnx_name)
        if len(self.out.tensors[name].shape) == 4:
            return self.nhwc(node, onnx_name), "nhwc"
        return name, layout

    def same_layout(self, node: ir.Node, names: list[str]) -> tuple[list[str], str]:
        """Lowered names of activations in one common layout (nhwc if any is 4-D)."""
        ranks = {len(self.out.tensors[self.activation(node, n)[0]].shape) for n in names}
        if 4 in ranks:
            return [self.nhwc(node, n) for n in names], "nhwc"
        return [self.onnx(node, n) for n in names], "onnx"


def _permute(shape, perm) -> tuple[int, ...]:
    return tuple(shape[p] for p in perm)


def _is_noop_transpose(shape, perm) -> bool:
    """True when the transpose moves no bytes: the axes of size > 1 keep their order."""
    order = [p for p in perm if shape[p] != 1]
    return order == sorted(order)


Rule = Callable[[_Lowering, ir.Node], None]
LOWERING_RULES: dict[str, Rule] = {}


def _rule(*ops: str) -> Callable[[Rule], Rule]:
    def wrap(fn: Rule) -> Rule:
        for op in ops:
            LOWERING_RULES[op] = fn
        return fn

    return wrap


def lower_layout(graph: ir.Graph) -> ir.Graph:
    """ONNX ops (NCHW) -> LOWERED_OPS (NHWC), with NCHW kept at the graph boundary."""
    for name in [*graph.inputs, *graph.outputs]:
        dtype = graph.tensors[name].dtype
        if dtype != "float32":
            raise UnsupportedError(
                f"graph {'input' if name in graph.inputs else 'output'} '{name}' is {dtype}; "
                "cnnc compiles float32 models (inputs and outputs float32)"
            )
    lo = _Lowering(graph)
    for node in graph.nodes:
        rule = LOWERING_RULES.get(node.op)
        if rule is None:
            raise UnsupportedError(
                f"node '{node.name}': op {node.op} cannot be lowered here (after constant "
                f"folding); lowerable ops: {', '.join(sorted(LOWERING_RULES))}"
            )
        rule(lo, node)
    _finish_outputs(lo)
    return lo.out


def _finish_outputs(lo: _Lowering) -> None:
    """Graph outputs keep their ONNX names and layout (NCHW for 4-D)."""
    for name in lo.src.outputs:
        if name not in lo.where:
            raise UnsupportedError(
                f"graph output '{name}' is a constant or never computed; cnnc needs outputs "
                "computed from the inputs"
            )
        lowered = lo.onnx(ir.Node("output", name, [], []), name)
        if lowered != name:
            if name in lo.out.tensors:  # the NHWC tensor holds the ONNX name; move it aside
                _rename_tensor(lo.out, name, lo.unique(f"{name}.nhwc"))
            _rename_tensor(lo.out, lowered, name)
    lo.out.outputs = list(lo.src.outputs)


def _rename_tensor(graph: ir.Graph, old: str, new: str) -> None:
    t = graph.tensors.pop(old)
    graph.tensors[new] = ir.Tensor(new, t.shape, t.dtype, t.data, t.quant)
    for node in graph.nodes:
        node.inputs = [new if n == old else n for n in node.inputs]
        node.outputs = [new if n == old else n for n in node.outputs]


# ---------------------------------------------------------------- rules: conv, dense


def _require_const(lo: _Lowering, node: ir.Node, index: int, what: str) -> np.ndarray:
    data = lo.const(node.inputs[index])
    if data is None:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): {what} '{node.inputs[index]}' must be a constant "
            "(an initializer); cnnc compiles weights into the model"
        )
    return np.asarray(data, dtype=np.float32)


def _check_dilations(node: ir.Node) -> None:
    if any(d != 1 for d in node.attrs["dilations"]):
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}) has dilations={node.attrs['dilations']}; "
            "cnnc supports dilation 1 only"
        )


def _as_2d_window(lo: _Lowering, node: ir.Node) -> tuple[str, dict, bool]:
    """The NHWC input of a window op and its 2-D kernel/strides/pads; 1-D ops get H = 1."""
    shape = lo.shape(node.inputs[0])
    k, s, p = node.attrs["kernel_shape"], node.attrs["strides"], node.attrs["pads"]
    if len(shape) == 4:
        window = {"kernel": list(k), "strides": list(s), "pads": list(p)}
        return lo.nhwc(node, node.inputs[0]), window, False
    if len(shape) != 3:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): {len(shape) - 2}-D windows are not supported "
            "(cnnc compiles 1-D and 2-D)"
        )
    n, c, length = shape
    as4d = lo.new_tensor(f"{node.inputs[0]}.as4d", (n, c, 1, length))  # [N,C,L] -> [N,C,1,L]
    lo.emit("reshape", f"{as4d}.reshape", [lo.onnx(node, node.inputs[0])], [as4d])
    lo.where[as4d] = (as4d, "onnx")
    window = {"kernel": [1, k[0]], "strides": [1, s[0]], "pads": [0, p[0], 0, p[1]]}
    return lo.nhwc(node, as4d), window, True


def _define_window_output(lo: _Lowering, node: ir.Node, is_1d: bool) -> str:
    """The NHWC output of a window op ([N,1,L,C] for a 1-D op, see ``_finish_1d``)."""
    if not is_1d:
        return lo.define(node.outputs[0], "nhwc")
    n, c, length = lo.shape(node.outputs[0])
    out = lo.new_tensor(f"{node.outputs[0]}.nhwc", (n, 1, length, c))
    lo.where[f"{node.outputs[0]}.as4d"] = (out, "nhwc")
    return out


def _finish_1d(lo: _Lowering, node: ir.Node) -> None:
    """[N,1,L,C] NHWC -> [N,C,1,L] -> the ONNX output [N,C,L]."""
    nchw = lo.onnx(node, f"{node.outputs[0]}.as4d")
    final = lo.define(node.outputs[0], "onnx")
    lo.emit("reshape", f"{final}.reshape", [nchw], [final])


@_rule("Conv")
def _lower_conv(lo: _Lowering, node: ir.Node) -> None:
    _check_dilations(node)
    w = _require_const(lo, node, 1, "weight")
    x, win, is_1d = _as_2d_window(lo, node)
    if is_1d:
        w = w[:, :, None, :]
    inputs = [x, lo.add_const(f"{node.name}.w", w.transpose(0, 2, 3, 1))]  # OIHW -> OHWI
    if len(node.inputs) > 2 and node.inputs[2]:
        inputs.append(lo.add_const(f"{node.name}.b", _require_const(lo, node, 2, "bias")))
    out = _define_window_output(lo, node, is_1d)
    lo.emit(
        "conv2d",
        node.name,
        inputs,
        [out],
        strides=win["strides"],
        pads=win["pads"],
        groups=int(node.attrs["group"]),
        act="none",
    )
    if is_1d:
        _finish_1d(lo, node)


def _dense(lo: _Lowering, node: ir.Node, x: str, w: np.ndarray, b: np.ndarray | None) -> None:
    inputs = [x, lo.add_const(f"{node.name}.w", w)]
    if b is not None:
        inputs.append(lo.add_const(f"{node.name}.b", b))
    out = lo.define(node.outputs[0], "onnx")
    lo.emit("dense", node.name, inputs, [out], act="none")


def _dense_input(lo: _Lowering, node: ir.Node, transpose: bool) -> str:
    x = lo.onnx(node, node.inputs[0])
    shape = lo.out.tensors[x].shape
    if len(shape) != 2:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): input '{node.inputs[0]}' has shape {list(shape)}; "
            "cnnc supports 2-D [N, K] inputs to Gemm/MatMul"
        )
    if transpose:
        xt = lo.new_tensor(f"{x}.T", shape[::-1])
        lo.emit("transpose", f"{node.name}.transA", [x], [xt], perm=[1, 0])
        return xt
    return x


@_rule("Gemm")
def _lower_gemm(lo: _Lowering, node: ir.Node) -> None:
    a = node.attrs
    w = _require_const(lo, node, 1, "B")
    w = w if a["transB"] else w.T  # -> [M, K]
    w = w * np.float32(a["alpha"])
    b = None
    m = w.shape[0]
    if len(node.inputs) > 2 and node.inputs[2]:
        c = _require_const(lo, node, 2, "C") * np.float32(a["beta"])
        n = lo.shape(node.outputs[0])[0]
        if c.ndim == 2 and c.shape[0] != 1 and n != 1:
            raise UnsupportedError(
                f"node '{node.name}' (Gemm): C of shape {list(c.shape)} varies per row; "
                "cnnc supports a bias C broadcast over rows ([M], [1, M] or scalar)"
            )
        b = np.broadcast_to(c.reshape(-1, c.shape[-1])[0] if c.ndim == 2 else c, (m,)).copy()
    _dense(lo, node, _dense_input(lo, node, bool(a["transA"])), w, b)


@_rule("MatMul")
def _lower_matmul(lo: _Lowering, node: ir.Node) -> None:
    w = _require_const(lo, node, 1, "second operand")
    if w.ndim != 2:
        raise UnsupportedError(
            f"node '{node.name}' (MatMul): constant operand has shape {list(w.shape)}; "
            "cnnc supports a 2-D [K, M] constant"
        )
    _dense(lo, node, _dense_input(lo, node, False), w.T, None)


# ---------------------------------------------------------------- rules: per-channel, acts


@_rule("BatchNormalization")
def _lower_batchnorm(lo: _Lowering, node: ir.Node) -> None:
    scale, shift = reference.batchnorm_scale_shift(
        *(_require_const(lo, node, i, "BN parameter") for i in range(1, 5)), node.attrs["epsilon"]
    )
    rank = len(lo.shape(node.inputs[0]))
    if rank == 4:
        x, layout = lo.nhwc(node, node.inputs[0]), "nhwc"
    elif rank == 2:
        x, layout = lo.onnx(node, node.inputs[0]), "onnx"
    else:
        raise UnsupportedError(
            f"node '{node.name}' (BatchNormalization): input of rank {rank}; cnnc supports "
            "[N, C] and [N, C, H, W]"
        )
    out = lo.define(node.outputs[0], layout)
    lo.emit(
        "scale_shift",
        node.name,
        [x, lo.add_const(f"{node.name}.scale", scale), lo.add_const(f"{node.name}.shift", shift)],
        [out],
        act="none",
    )


def _act_attrs(lo: _Lowering, node: ir.Node) -> dict:
    if node.op == "Relu":
        return {"act": "relu"}
    if node.op == "Sigmoid":
        return {"act": "sigmoid"}
    if node.op == "LeakyRelu":
        return {"act": "leaky_relu", "act_alpha": float(node.attrs["alpha"])}
    if node.op == "Elu":
        return {"act": "elu", "act_alpha": float(node.attrs["alpha"])}
    bounds = []
    for index in (1, 2):  # Clip: min and max are optional constant inputs
        if len(node.inputs) > index and node.inputs[index]:
            bounds.append(float(_require_const(lo, node, index, "Clip bound").reshape(-1)[0]))
        else:
            bounds.append(None)
    lo_b, hi_b = bounds
    if lo_b == 0.0 and hi_b == 6.0:
        return {"act": "relu6", "act_min": 0.0, "act_max": 6.0}
    if lo_b == 0.0 and hi_b is None:
        return {"act": "relu"}
    big = float(np.finfo(np.float32).max)
    return {
        "act": "clip",
        "act_min": -big if lo_b is None else lo_b,
        "act_max": big if hi_b is None else hi_b,
    }


@_rule("Relu", "Clip", "LeakyRelu", "Sigmoid", "Elu")
def _lower_act(lo: _Lowering, node: ir.Node) -> None:
    x, layout = lo.natural(node, node.inputs[0])
    out = lo.define(node.outputs[0], layout)
    lo.emit("act", node.name, [x], [out], **_act_attrs(lo, node))


@_rule("Where")
def _lower_sign(lo: _Lowering, node: ir.Node) -> None:
    """XNOR-Net sign with sign(0) = +1: Where(Less(x, 0), -1, +1)."""
    less = lo.src.producer(node.inputs[0])
    pattern = (
        less is not None
        and less.op == "Less"
        and _const_all(lo, less.inputs[1], 0.0)
        and _const_all(lo, node.inputs[1], -1.0)
        and _const_all(lo, node.inputs[2], 1.0)
    )
    if not pattern:
        raise UnsupportedError(
            f"node '{node.name}' (Where): cnnc supports Where only as the XNOR sign pattern "
            "Where(Less(x, 0), -1, +1)"
        )
    x, layout = lo.natural(less, less.inputs[0])
    out = lo.define(node.outputs[0], layout)
    lo.emit("sign", node.name, [x], [out])


@_rule("Less")
def _lower_less(lo: _Lowering, node: ir.Node) -> None:
    """Less is consumed by the sign pattern (see ``_lower_sign``); nothing to emit."""


def _const_all(lo: _Lowering, name: str, value: float) -> bool:
    data = lo.const(name)
    return data is not None and data.size > 0 and bool(np.all(data == value))


# ---------------------------------------------------------------- rules: elementwise


def _const_operand(lo: _Lowering, node: ir.Node, c: np.ndarray, layout: str) -> str:
    """A constant operand in the lowered layout, as [] (scalar), [C] (per channel) or full."""
    onnx_shape = lo.shape(node.outputs[0])
    if tuple(np.broadcast_shapes(onnx_shape, c.shape)) != tuple(onnx_shape) or (
        tuple(onnx_shape) != tuple(lo.shape(_activation_inputs(lo, node)[0]))
    ):
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): constant of shape {list(c.shape)} would broadcast "
            f"the activation to {list(onnx_shape)}; cnnc supports constants that broadcast to "
            "the activation's shape"
        )
    full = c.reshape((1,) * (len(onnx_shape) - c.ndim) + c.shape)
    if layout == "nhwc":
        full = full.transpose(NCHW_TO_NHWC)
    if full.size == 1:
        return lo.add_const(f"{node.name}.k", full.reshape(()))
    if all(d == 1 for d in full.shape[:-1]):
        return lo.add_const(f"{node.name}.k", full.reshape(-1))
    return lo.add_const(f"{node.name}.k", full)


def _activation_inputs(lo: _Lowering, node: ir.Node) -> list[str]:
    return [n for n in node.inputs if lo.const(n) is None]


@_rule("Add", "Mul", "Sub", "Div", "Sum")
def _lower_elementwise(lo: _Lowering, node: ir.Node) -> None:
    op = {"Add": "add", "Sum": "add", "Sub": "add", "Mul": "mul", "Div": "mul"}[node.op]
    acts = _activation_inputs(lo, node)
    consts = [n for n in node.inputs if lo.const(n) is not None]
    if node.op in ("Sub", "Div") and (len(acts) != 1 or node.inputs[0] != acts[0]):
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): cnnc supports {node.op} of an activation by a "
            "constant (x - c, x / c)"
        )
    names, layout = lo.same_layout(node, acts)
    out_shape = lo.shape(node.outputs[0])
    for other_name in acts[1:]:
        if lo.shape(other_name) != out_shape and lo.shape(acts[0]) != out_shape:
            raise UnsupportedError(
                f"node '{node.name}' ({node.op}): neither input has the output shape "
                f"{list(out_shape)}; cnnc supports broadcasting one operand into the other"
            )
    if acts and lo.shape(acts[0]) != out_shape:  # the full-shape operand goes first
        acts, names = acts[::-1], names[::-1]
    operands = [names[0]]
    for name, other in zip(acts[1:], names[1:], strict=True):
        operands.append(_broadcast_activation(lo, node, name, other, layout))
    if consts:
        c = np.asarray(lo.const(consts[0]), dtype=np.float32)
        for extra in consts[1:]:
            c = c + lo.const(extra)
        if node.op == "Sub":
            c = -c
        elif node.op == "Div":
            c = 1 / c
        operands.append(_const_operand(lo, node, c, layout))
    if len(operands) == 1:
        raise UnsupportedError(f"node '{node.name}' ({node.op}) has a single operand")
    out = lo.define(node.outputs[0], layout)
    current = operands[0]
    for k, operand in enumerate(operands[1:]):
        last = k == len(operands) - 2
        target = (
            out
            if last
            else lo.new_tensor(f"{node.outputs[0]}.partial{k}", lo.out.tensors[out].shape)
        )
        lo.emit(
            op, node.name if last else f"{node.name}.{k}", [current, operand], [target], act="none"
        )
        current = target


def _broadcast_activation(
    lo: _Lowering, node: ir.Node, onnx_name: str, lowered: str, layout: str
) -> str:
    """The second activation operand, reshaped to the first's rank when it broadcasts."""
    shape = lo.out.tensors[lowered].shape
    out_shape = lo.shape(node.outputs[0])
    if len(shape) == len(out_shape):
        return lowered
    if layout == "nhwc":
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): '{onnx_name}' of shape {list(shape)} would "
            "broadcast into a 4-D activation; cnnc supports equal ranks there"
        )
    padded = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    if all(d == 1 for d in padded[:-1]):
        return lowered  # [C] per channel (last axis)
    new = lo.new_tensor(f"{lowered}.rank{len(padded)}", padded)
    lo.emit("reshape", f"{new}.reshape", [lowered], [new])
    return new


@_rule("Neg")
def _lower_neg(lo: _Lowering, node: ir.Node) -> None:
    x, layout = lo.natural(node, node.inputs[0])
    out = lo.define(node.outputs[0], layout)
    lo.emit(
        "mul", node.name, [x, lo.add_const(f"{node.name}.k", np.float32(-1))], [out], act="none"
    )


@_rule("Concat")
def _lower_concat(lo: _Lowering, node: ir.Node) -> None:
    rank = len(lo.shape(node.outputs[0]))
    axis = node.attrs["axis"]
    if any(lo.const(n) is not None for n in node.inputs):
        raise UnsupportedError(f"node '{node.name}' (Concat): constant inputs are not supported")
    names, layout = lo.same_layout(node, list(node.inputs))
    if rank == 4 and axis == 1:
        names = [lo.nhwc(node, n) for n in node.inputs]
        layout = "nhwc"
    elif axis == rank - 1 and layout == "onnx":
        pass
    else:
        raise UnsupportedError(
            f"node '{node.name}' (Concat): axis={axis} on rank {rank}; cnnc concatenates "
            "along channels (axis 1 of NCHW) or the last axis"
        )
    out = lo.define(node.outputs[0], layout)
    lo.emit("concat", node.name, names, [out], axis=len(lo.out.tensors[out].shape) - 1)


@_rule("Softmax")
def _lower_softmax(lo: _Lowering, node: ir.Node) -> None:
    rank = len(lo.shape(node.inputs[0]))
    axis = node.attrs["axis"]
    if rank == 4 and axis == 1:
        x, layout = lo.nhwc(node, node.inputs[0]), "nhwc"
    elif axis == rank - 1:
        x, layout = lo.onnx(node, node.inputs[0]), "onnx"
    else:
        raise UnsupportedError(
            f"node '{node.name}' (Softmax): axis={axis} on rank {rank}; cnnc supports the last "
            "axis or the channel axis"
        )
    out = lo.define(node.outputs[0], layout)
    lo.emit("softmax", node.name, [x], [out])


# ---------------------------------------------------------------- rules: pools


@_rule("MaxPool", "AveragePool")
def _lower_pool(lo: _Lowering, node: ir.Node) -> None:
    _check_dilations(node)
    x, win, is_1d = _as_2d_window(lo, node)
    out = _define_window_output(lo, node, is_1d)
    if node.op == "MaxPool":
        lo.emit("maxpool2d", node.name, [x], [out], **win)
    else:
        lo.emit(
            "avgpool2d",
            node.name,
            [x],
            [out],
            count_include_pad=int(node.attrs["count_include_pad"]),
            **win,
        )
    if is_1d:
        _finish_1d(lo, node)


@_rule("GlobalAveragePool", "GlobalMaxPool")
def _lower_global_pool(lo: _Lowering, node: ir.Node) -> None:
    shape = lo.shape(node.inputs[0])
    if len(shape) != 4:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): input rank {len(shape)}; cnnc supports NCHW"
        )
    x = lo.nhwc(node, node.inputs[0])
    out = lo.define(node.outputs[0], "nhwc")
    if node.op == "GlobalAveragePool":
        lo.emit("global_avgpool", node.name, [x], [out])
    else:
        h, w = shape[2:]
        lo.emit(
            "maxpool2d", node.name, [x], [out], kernel=[h, w], strides=[1, 1], pads=[0, 0, 0, 0]
        )


# ---------------------------------------------------------------- rules: data movement


@_rule("Flatten", "Reshape")
def _lower_reshape(lo: _Lowering, node: ir.Node) -> None:
    """Reshape keeps ONNX (row-major NCHW) element order: it reads the ONNX layout."""
    if node.op == "Reshape" and lo.const(node.inputs[1]) is None:
        raise UnsupportedError(
            f"node '{node.name}' (Reshape): target shape '{node.inputs[1]}' is not constant "
            "after folding"
        )
    x = lo.onnx(node, node.inputs[0])
    out = lo.define(node.outputs[0], "onnx")
    lo.emit("reshape", node.name, [x], [out])


@_rule("Identity", "Dropout")
def _lower_copy(lo: _Lowering, node: ir.Node) -> None:
    """Only left by constant folding between a graph input and a graph output."""
    x, layout = lo.activation(node, node.inputs[0])
    out = lo.define(node.outputs[0], layout)
    lo.emit("reshape", node.name, [x], [out])


@_rule("Transpose")
def _lower_transpose(lo: _Lowering, node: ir.Node) -> None:
    x = lo.onnx(node, node.inputs[0])
    out = lo.define(node.outputs[0], "onnx")
    lo.emit("transpose", node.name, [x], [out], perm=[int(p) for p in node.attrs["perm"]])


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
        if _single_consumer(graph, node.inputs[0]) is not node:
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
        producer.inputs[1] = add_const(graph, f"{producer.name}.w_bn", new_w)
        b_name = add_const(graph, f"{producer.name}.b_bn", new_b)
        producer.inputs[2:] = [b_name]
        _splice_out(graph, node)
    return graph


def _splice_out(graph: ir.Graph, node: ir.Node) -> None:
    """Removes a node whose producer now computes its output: the producer writes it."""
    src, dst = node.inputs[0], node.outputs[0]
    producer = graph.producer(src)
    graph.nodes.remove(node)
    producer.outputs = [dst if n == src else n for n in producer.outputs]
    graph.tensors.pop(src, None)


# ================================================================ 5. activation fusion

FUSABLE_PRODUCERS = ("conv2d", "dense", "add", "mul", "scale_shift")


def fuse_activations(graph: ir.Graph) -> ir.Graph:
    """An ``act`` node goes into its producer's ``act`` attribute when nothing else reads
    the producer's output."""
    for node in list(graph.nodes):
        if node.op != "act":
            continue
        producer = graph.producer(node.inputs[0])
        if producer is None or producer.op not in FUSABLE_PRODUCERS:
            continue
        if producer.attrs.get("act", "none") != "none":
            continue
        if _single_consumer(graph, node.inputs[0]) is not node:
            continue
        producer.attrs.update({k: v for k, v in node.attrs.items() if k.startswith("act")})
        _splice_out(graph, node)
    return graph


# ================================================================ 6. flatten into dense


def absorb_flatten_transpose(graph: ir.Graph) -> ir.Graph:
    """transpose(NHWC->NCHW) -> reshape [N, C*H*W] -> dense: permute the dense weights.

    Row k of the flattened NCHW vector is (c, h, w) with k = c*H*W + h*W + w;
    the NHWC tensor flattens to k' = h*W*C + w*C + c. So
    w_nhwc[m, :] = w[m, :].reshape(C, H, W).transpose(1, 2, 0).ravel().
    """
    for node in list(graph.nodes):
        if node.op != "transpose" or tuple(node.attrs["perm"]) != NHWC_TO_NCHW:
            continue
        reshape = _single_consumer(graph, node.outputs[0])
        if reshape is None or reshape.op != "reshape":
            continue
        flat_shape = graph.tensors[reshape.outputs[0]].shape
        n, c, h, w = graph.tensors[node.outputs[0]].shape
        if len(flat_shape) != 2 or flat_shape != (n, c * h * w):
            continue
        denses = graph.consumers(reshape.outputs[0])
        if reshape.outputs[0] in graph.outputs or not denses:
            continue
        if any(d.op != "dense" or d.inputs[0] != reshape.outputs[0] for d in denses):
            continue
        if any(graph.const(d.inputs[1]) is None for d in denses):
            continue
        for d in denses:
            wt = graph.const(d.inputs[1])
            wt = wt.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(wt.shape[0], -1)
            d.inputs[1] = add_const(graph, f"{d.name}.w_nhwc", wt)
        reshape.inputs[0] = node.inputs[0]
        graph.nodes.remove(node)
    return graph


# ================================================================ 7. layout clean-up


def _chain(graph: ir.Graph, first: ir.Node, ops: list[str]) -> list[ir.Node] | None:
    """``first`` and the nodes after it, each the single consumer of the one before,
    if their ops are ``ops``; else None."""
    nodes = [first]
    for op in ops[1:]:
        nxt = _single_consumer(graph, nodes[-1].outputs[0])
        if nxt is None or nxt.op != op:
            return None
        nodes.append(nxt)
    return nodes if first.op == ops[0] else None


def simplify_channel_shuffle(graph: ir.Graph) -> ir.Graph:
    """The channel shuffle between NHWC tensors, done in NHWC with one transpose.

    ONNX's Reshape [N,g,C/g,H,W] -> Transpose(0,2,1,3,4) -> Reshape [N,C,H,W]
    lowers to five data moves (NHWC->NCHW, reshape, transpose, reshape,
    NCHW->NHWC). Channel c = i*(C/g) + j goes to j*g + i in both layouts, so in
    NHWC it is Reshape [N,H,W,g,C/g] -> Transpose(0,1,2,4,3) -> Reshape [N,H,W,C].
    """
    pattern = ["transpose", "reshape", "transpose", "reshape", "transpose"]
    for node in list(graph.nodes):
        nodes = _chain(graph, node, pattern)
        if nodes is None:
            continue
        t1, r1, t2, r2, t3 = nodes
        n, c, h, w = graph.tensors[t1.outputs[0]].shape
        split = graph.tensors[r1.outputs[0]].shape
        if (
            tuple(t1.attrs["perm"]) != NHWC_TO_NCHW
            or tuple(t3.attrs["perm"]) != NCHW_TO_NHWC
            or tuple(t2.attrs["perm"]) != (0, 2, 1, 3, 4)
            or len(split) != 5
            or (split[0], split[1] * split[2], split[3], split[4]) != (n, c, h, w)
            or graph.tensors[r2.outputs[0]].shape != (n, c, h, w)
        ):
            continue
        g, cg = split[1], split[2]
        graph.tensors[r1.outputs[0]] = ir.Tensor(r1.outputs[0], (n, h, w, g, cg))
        graph.tensors[t2.outputs[0]] = ir.Tensor(t2.outputs[0], (n, h, w, cg, g))
        r1.inputs[0] = t1.inputs[0]
        t2.attrs["perm"] = [0, 1, 2, 4, 3]
        r2.outputs[0] = t3.outputs[0]
        for dead in (t1, t3):
            graph.nodes.remove(dead)
    return remove_dead_nodes(graph)


def simplify_layout(graph: ir.Graph) -> ir.Graph:
    """Merges transpose->transpose and reshape->reshape; drops identity ones."""
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes):
            if node.op not in ("transpose", "reshape"):
                continue
            nxt = _single_consumer(graph, node.outputs[0])
            if nxt is not None and nxt.op == node.op:
                if node.op == "transpose":
                    nxt.attrs["perm"] = [node.attrs["perm"][p] for p in nxt.attrs["perm"]]
                nxt.inputs[0] = node.inputs[0]
                graph.nodes.remove(node)
                changed = True
                continue
            if node.op == "transpose" and _is_noop_transpose(
                graph.tensors[node.inputs[0]].shape, node.attrs["perm"]
            ):
                node.op, node.attrs = "reshape", {}
                changed = True
                continue
            same = graph.tensors[node.inputs[0]].shape == graph.tensors[node.outputs[0]].shape
            identity = node.op == "reshape" or list(node.attrs["perm"]) == sorted(
                node.attrs["perm"]
            )
            if same and identity and _bypass(graph, node, node.inputs[0], node.outputs[0]):
                changed = True
    return remove_dead_nodes(graph)


# ================================================================ all of it


def lower(graph: ir.Graph) -> ir.Graph:
    """Imported graph (NCHW, ONNX ops) -> lowered float graph (NHWC, LOWERED_OPS)."""
    if graph.layout != "NCHW":
        raise ShapeError(f"passes.lower: expects an imported (NCHW) graph, got {graph.layout}")
    graph = copy.deepcopy(graph)
    graph = fold_constants(graph)
    graph = remove_dead_nodes(graph)
    graph = lower_layout(graph)
    graph = fold_batchnorm(graph)
    graph = fuse_activations(graph)
    graph = absorb_flatten_transpose(graph)
    graph = simplify_layout(graph)
    graph = simplify_channel_shuffle(graph)
    return remove_dead_nodes(graph)
