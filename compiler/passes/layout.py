"""Layout lowering: ONNX ops (NCHW) -> ``ir.LOWERED_OPS`` with NHWC activations.

The graph input keeps the ONNX layout (the C entry point takes NCHW), so the first
node is a ``transpose`` (a ``reshape`` when C == 1 or H == W == 1, where NCHW and NHWC
hold the same bytes); 4-D outputs get the inverse at the end. BatchNormalization
becomes ``scale_shift``, activations become ``act`` nodes. XNOR-Net's
``Where(Less(x, 0), -1, +1)`` becomes ``sign``. One rule per ONNX op (``_rule``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from .. import ir
from ..errors import ShapeError, UnsupportedError
from ..frontend.onnx_import import SUPPORTED_OPS
from ..frontend.onnx_reference import split_sizes
from ..ops.f32 import batchnorm_scale_shift
from ..ops.spatial import (
    COORD_MODES,
    NEAREST_MODES,
    PAD_MODES,
    RESIZE_MODES,
    float_weights,
    resize_axis,
)

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

    def new_tensor(self, name: str, shape) -> str:
        name = self.out.fresh_name(name)
        self.out.tensors[name] = ir.Tensor(name, tuple(int(s) for s in shape))
        return name

    def add_const(self, name: str, data: np.ndarray) -> str:
        return self.out.add_const(name, np.asarray(data, dtype=np.float32))

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
                _rename_tensor(lo.out, name, lo.out.fresh_name(f"{name}.nhwc"))
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
    w = _require_const(lo, node, 1, "weight")
    x, win, is_1d = _as_2d_window(lo, node)
    if not is_1d:
        x = fold_pad_into_conv(lo, node, x, win)
    dilations = [int(d) for d in node.attrs.get("dilations", [1] * (len(w.shape) - 2))]
    if is_1d:
        w = w[:, :, None, :]
        dilations = [1, *dilations]
    # a dilation along an axis of kernel size 1 moves no tap: 1 keeps the 1x1 fast path
    dilations = [d if k > 1 else 1 for d, k in zip(dilations, w.shape[2:], strict=True)]
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
        **({"dilations": dilations} if dilations != [1, 1] else {}),
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
    scale, shift = batchnorm_scale_shift(
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


@_rule("Tanh", "HardSwish")
def _lower_smooth_act(lo: _Lowering, node: ir.Node) -> None:
    """Tanh and HardSwish become ``act`` nodes (fusable, and LUTs in int8)."""
    x, layout = lo.natural(node, node.inputs[0])
    out = lo.define(node.outputs[0], layout)
    lo.emit("act", node.name, [x], [out], act={"Tanh": "tanh", "HardSwish": "hard_swish"}[node.op])


@_rule("HardSigmoid")
def _lower_hard_sigmoid(lo: _Lowering, node: ir.Node) -> None:
    x, layout = lo.natural(node, node.inputs[0])
    out = lo.define(node.outputs[0], layout)
    alpha, beta = float(node.attrs["alpha"]), float(node.attrs["beta"])
    lo.emit("hard_sigmoid", node.name, [x], [out], alpha=alpha, beta=beta)


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
    ir.require_unit_dilations(node)
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


@_rule("ReduceMean", "ReduceMax")
def _lower_reduce(lo: _Lowering, node: ir.Node) -> None:
    """ReduceMean/ReduceMax of a 4-D NCHW activation over H, W (torch's ``x.mean([2, 3])``):
    global average pooling / a full-window max pool, then a reshape when keepdims=0 (NHWC
    [N,1,1,C] and [N,C] hold the same bytes). ReduceMean over channels: a 1x1 conv whose
    weights are all 1/C (in int8 all equal, so the mean stays exact up to requantisation)."""
    from ..frontend.onnx_reference import reduce_axes

    shape = lo.shape(node.inputs[0])
    axes = reduce_axes(node, lo.src, len(shape))
    keep = bool(node.attrs.get("keepdims", 1))
    if len(shape) != 4 or axes not in ((2, 3), (1,)) or (axes == (1,) and node.op != "ReduceMean"):
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): axes {list(axes)} of a rank-{len(shape)} input; "
            "cnnc supports ReduceMean/ReduceMax over H, W (axes [2, 3]) of NCHW and "
            "ReduceMean over channels (axes [1])"
        )
    x = lo.nhwc(node, node.inputs[0])
    n, c, h, w = shape
    pooled_shape = (n, 1, 1, c) if axes == (2, 3) else (n, h, w, 1)
    if keep:
        out = lo.define(node.outputs[0], "nhwc")
    else:
        out = lo.new_tensor(f"{node.outputs[0]}.nhwc", pooled_shape)
    if axes == (1,):
        weight = np.full((1, 1, 1, c), 1.0 / c, np.float32)
        lo.emit("conv2d", node.name, [x, lo.add_const(f"{node.name}.w", weight)], [out],
                strides=[1, 1], pads=[0, 0, 0, 0], groups=1, act="none")  # fmt: skip
    elif node.op == "ReduceMean":
        lo.emit("global_avgpool", node.name, [x], [out])
    else:
        lo.emit("maxpool2d", node.name, [x], [out], kernel=[h, w], strides=[1, 1],
                pads=[0, 0, 0, 0])  # fmt: skip
    if not keep:  # NHWC [N,1,1,C] holds [N,C]'s bytes, NHWC [N,H,W,1] [N,H,W]'s
        final = lo.define(node.outputs[0], "onnx")
        lo.emit("reshape", f"{final}.reshape", [out], [final])


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


@_rule("Split")
def _lower_split(lo: _Lowering, node: ir.Node) -> None:
    """Split along channels (axis 1 of a 4-D NCHW tensor, sliced in NHWC) or the last axis:
    one channel_slice per output."""
    shape = lo.shape(node.inputs[0])
    axis = int(node.attrs.get("axis", 0)) % len(shape)
    split = lo.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
    if len(node.inputs) > 1 and node.inputs[1] and split is None:
        raise UnsupportedError(
            f"node '{node.name}' (Split): split sizes '{node.inputs[1]}' are not constant"
        )
    x_info = [np.zeros(shape, np.float32), split]
    sizes = split_sizes(node, lo.src, x_info)
    if len(sizes) != len(node.outputs) or sum(sizes) != shape[axis] or min(sizes) < 1:
        raise ShapeError(
            f"node '{node.name}' (Split): sizes {sizes} do not split axis {axis} of "
            f"{list(shape)} into {len(node.outputs)} non-empty parts"
        )
    if len(shape) == 4 and axis == 1:
        x, layout = lo.nhwc(node, node.inputs[0]), "nhwc"
    elif axis == len(shape) - 1:
        x, layout = lo.onnx(node, node.inputs[0]), "onnx"
    else:
        raise UnsupportedError(
            f"node '{node.name}' (Split): axis={axis} on rank {len(shape)}; cnnc splits along "
            "channels (axis 1 of NCHW) or the last axis"
        )
    offset = 0
    for name, size in zip(node.outputs, sizes, strict=True):
        out = lo.define(name, layout)
        lo.emit("channel_slice", f"{node.name}.{offset}", [x], [out], c_offset=offset)
        offset += size


@_rule("Transpose")
def _lower_transpose(lo: _Lowering, node: ir.Node) -> None:
    x = lo.onnx(node, node.inputs[0])
    out = lo.define(node.outputs[0], "onnx")
    lo.emit("transpose", node.name, [x], [out], perm=[int(p) for p in node.attrs["perm"]])


# ---------------------------------------------------------------- rules: spatial (heads)
# Pad, Resize and ConvTranspose lower onto pad2d / resize2d (cnnc.ops.spatial) and conv2d.


def _spatial_input(lo: _Lowering, node: ir.Node) -> str:
    shape = lo.shape(node.inputs[0])
    if len(shape) != 4:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): input '{node.inputs[0]}' has shape "
            f"{list(shape)}; cnnc supports {node.op} on 4-D NCHW activations"
        )
    return lo.nhwc(node, node.inputs[0])


def _int_const(lo: _Lowering, node: ir.Node, index: int, what: str) -> list[int]:
    data = lo.const(node.inputs[index])
    if data is None:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): {what} '{node.inputs[index]}' must be a constant"
        )
    return [int(v) for v in np.asarray(data).reshape(-1)]


def onnx_pads(lo: _Lowering, node: ir.Node) -> list[int]:
    """A Pad node's pads as [begin..., end...] over all 4 axes (opset 13 input, 18 axes)."""
    pads = _int_const(lo, node, 1, "pads")
    has_axes = len(node.inputs) > 3 and node.inputs[3]
    axes = _int_const(lo, node, 3, "axes") if has_axes else list(range(4))
    if len(pads) != 2 * len(axes):
        raise UnsupportedError(f"node '{node.name}' (Pad): {len(pads)} pads for {len(axes)} axes")
    full = [0] * 8
    for k, axis in enumerate(axes):
        full[axis % 4], full[axis % 4 + 4] = pads[k], pads[k + len(axes)]
    return full


@_rule("Pad")
def _lower_pad(lo: _Lowering, node: ir.Node) -> None:
    x = _spatial_input(lo, node)
    mode = node.attrs.get("mode", "constant")
    if mode not in PAD_MODES:
        raise UnsupportedError(
            f"node '{node.name}' (Pad): mode '{mode}'; cnnc supports {', '.join(PAD_MODES)}"
        )
    pads = onnx_pads(lo, node)
    if any(pads[i] for i in (0, 1, 4, 5)):
        raise UnsupportedError(
            f"node '{node.name}' (Pad): pads {pads} pad the batch or channel axis; cnnc "
            "supports spatial padding only (H and W)"
        )
    if min(pads) < 0:
        raise UnsupportedError(
            f"node '{node.name}' (Pad): negative pads {pads} (cropping) are not supported"
        )
    _, _, h, w = lo.shape(node.inputs[0])
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise UnsupportedError(
            f"node '{node.name}' (Pad): reflect pads {[top, left, bottom, right]} must be "
            f"smaller than the input's H={h} and W={w}"
        )
    value = 0.0
    if mode == "constant" and len(node.inputs) > 2 and node.inputs[2]:
        value = float(_require_const(lo, node, 2, "constant_value").reshape(-1)[0])
    out = lo.define(node.outputs[0], "nhwc")
    lo.emit("pad2d", node.name, [x], [out], pads=[top, left, bottom, right], mode=mode,
            value=value, strides=[1, 1])  # fmt: skip


def fold_pad_into_conv(lo: _Lowering, node: ir.Node, x: str, win: dict) -> str:
    """A Conv reading a zero constant Pad (its only reader) pads by itself: the pad2d node
    goes and its pads add to the conv's. Returns the conv's input."""
    producer = lo.out.producer(x)
    src_pad = lo.src.producer(node.inputs[0])
    foldable = (
        producer is not None
        and producer.op == "pad2d"
        and src_pad is not None
        and lo.src.single_consumer(node.inputs[0]) is node
        and producer.attrs["mode"] == "constant"
        and producer.attrs["value"] == 0.0
        and list(producer.attrs["strides"]) == [1, 1]
        and len(lo.out.consumers(x)) == 0
    )
    if not foldable:
        return x
    lo.out.nodes.remove(producer)
    win["pads"] = [a + b for a, b in zip(win["pads"], producer.attrs["pads"], strict=True)]
    return producer.inputs[0]


@_rule("Resize")
def _lower_resize(lo: _Lowering, node: ir.Node) -> None:
    a = node.attrs
    mode = a.get("mode", "nearest")
    coord = a.get("coordinate_transformation_mode", "half_pixel")
    nearest = a.get("nearest_mode", "round_prefer_floor")
    problems = [
        (mode not in RESIZE_MODES, f"mode '{mode}' (supported: {', '.join(RESIZE_MODES)})"),
        (coord not in COORD_MODES,
         f"coordinate_transformation_mode '{coord}' (supported: {', '.join(COORD_MODES)})"),
        (nearest not in NEAREST_MODES,
         f"nearest_mode '{nearest}' (supported: {', '.join(NEAREST_MODES)})"),
        (bool(a.get("antialias", 0)), "antialias=1"),
        (a.get("axes") is not None, "the axes attribute"),
        (a.get("keep_aspect_ratio_policy", "stretch") != "stretch",
         f"keep_aspect_ratio_policy '{a.get('keep_aspect_ratio_policy')}'"),
    ]  # fmt: skip
    for bad, what in problems:
        if bad:
            raise UnsupportedError(f"node '{node.name}' (Resize): {what} is not supported")
    x = _spatial_input(lo, node)
    n, c, h, w = lo.shape(node.inputs[0])
    _, _, oh, ow = lo.shape(node.outputs[0])
    scales = lo.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if scales is not None and np.asarray(scales).size:
        scales = [float(s) for s in np.asarray(scales).reshape(-1)]
        if len(scales) != 4 or scales[0] != 1 or scales[1] != 1:
            raise UnsupportedError(
                f"node '{node.name}' (Resize): scales {scales}; cnnc resizes H and W only "
                "(scales [1, 1, sh, sw])"
            )
        scale_h, scale_w = scales[2], scales[3]
    elif len(node.inputs) > 3 and node.inputs[3] and lo.const(node.inputs[3]) is not None:
        sizes = _int_const(lo, node, 3, "sizes")
        if len(sizes) != 4 or sizes[:2] != [n, c]:
            raise UnsupportedError(
                f"node '{node.name}' (Resize): sizes {sizes}; cnnc resizes H and W only"
            )
        scale_h, scale_w = np.float32(oh) / np.float32(h), np.float32(ow) / np.float32(w)
    else:
        raise UnsupportedError(f"node '{node.name}' (Resize): needs constant scales or sizes")
    if min(oh, ow) < 1 or not (scale_h > 0 and scale_w > 0):
        raise UnsupportedError(
            f"node '{node.name}' (Resize): scales ({scale_h}, {scale_w}) give an output of "
            f"{oh}x{ow}; scales must be positive and the output non-empty"
        )
    (y0, y1, wy), (x0, x1, wx) = (
        resize_axis(oh, h, scale_h, mode, coord, nearest),
        resize_axis(ow, w, scale_w, mode, coord, nearest),
    )
    tables = [
        lo.out.add_const(f"{node.name}.ytab", np.stack([y0, y1], axis=1).astype(np.int32)),
        lo.out.add_const(f"{node.name}.xtab", np.stack([x0, x1], axis=1).astype(np.int32)),
        lo.out.add_const(f"{node.name}.wy", float_weights(wy)),
        lo.out.add_const(f"{node.name}.wx", float_weights(wx)),
    ]
    out = lo.define(node.outputs[0], "nhwc")
    lo.emit("resize2d", node.name, [x, *tables], [out], mode=mode, coord=coord,
            nearest=nearest)  # fmt: skip


@_rule("ConvTranspose")
def _lower_conv_transpose(lo: _Lowering, node: ir.Node) -> None:
    """ConvTranspose = zero insertion (pad2d with strides, value 0) + a stride-1 conv2d with
    the spatially flipped, transposed weights and pads d*(k-1) - pad (+ output_padding at
    the end): y[o] = sum over taps of x[i] w[k] where o = i*s - pad + k*d."""
    a = node.attrs
    w = _require_const(lo, node, 1, "weight")
    if w.ndim != 4:
        raise UnsupportedError(f"node '{node.name}' (ConvTranspose): only 2-D (4-D weights)")
    if a.get("auto_pad", "NOTSET") != "NOTSET" or a.get("output_shape") is not None:
        raise UnsupportedError(
            f"node '{node.name}' (ConvTranspose): auto_pad/output_shape are not supported; "
            "give explicit pads and output_padding"
        )
    x = _spatial_input(lo, node)
    cin, cout_g, kh, kw = w.shape
    g = int(a.get("group", 1))
    channels = lo.shape(node.inputs[0])[1]
    bias = lo.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if g < 1 or cin != channels or cin % g or (bias is not None and bias.size != g * cout_g):
        raise UnsupportedError(
            f"node '{node.name}' (ConvTranspose): weight {list(w.shape)}, group={g} and "
            f"bias {None if bias is None else list(bias.shape)} do not fit the input's "
            f"{channels} channels (weight [C, Cout/group, KH, KW], bias [Cout])"
        )
    sh, sw = (int(v) for v in a.get("strides", [1, 1]))
    dh, dw = (int(v) for v in a.get("dilations", [1, 1]))
    pt, pl, pb, pr = (int(v) for v in a.get("pads", [0, 0, 0, 0]))
    oph, opw = (int(v) for v in a.get("output_padding", [0, 0]))
    pads = [dh * (kh - 1) - pt, dw * (kw - 1) - pl, dh * (kh - 1) - pb + oph,
            dw * (kw - 1) - pr + opw]  # fmt: skip
    if min(pads) < 0 or min(sh, sw, dh, dw) < 1 or min(oph, opw) < 0:
        raise UnsupportedError(
            f"node '{node.name}' (ConvTranspose): pads {[pt, pl, pb, pr]} larger than "
            f"dilation*(kernel-1) = {[dh * (kh - 1), dw * (kw - 1)]}, or strides/dilations/"
            "output_padding out of range; not supported"
        )
    n, c, h, wd = lo.shape(node.inputs[0])
    if sh > 1 or sw > 1:
        zeros = lo.new_tensor(
            f"{node.name}.zero_inserted", (n, (h - 1) * sh + 1, (wd - 1) * sw + 1, c)
        )
        lo.emit("pad2d", f"{node.name}.zero_insert", [x], [zeros], pads=[0, 0, 0, 0],
                mode="constant", value=0.0, strides=[sh, sw])  # fmt: skip
        x = zeros
    wg = w.reshape(g, cin // g, cout_g, kh, kw).transpose(0, 2, 3, 4, 1)  # [g,Co/g,KH,KW,C/g]
    wc = np.ascontiguousarray(wg[:, :, ::-1, ::-1, :]).reshape(g * cout_g, kh, kw, cin // g)
    inputs = [x, lo.add_const(f"{node.name}.w", wc)]
    if len(node.inputs) > 2 and node.inputs[2]:
        inputs.append(lo.add_const(f"{node.name}.b", _require_const(lo, node, 2, "bias")))
    out = lo.define(node.outputs[0], "nhwc")
    dil = {"dilations": [dh if kh > 1 else 1, dw if kw > 1 else 1]}
    lo.emit("conv2d", node.name, inputs, [out], strides=[1, 1], pads=pads, groups=g, act="none",
            **(dil if dil["dilations"] != [1, 1] else {}))  # fmt: skip
