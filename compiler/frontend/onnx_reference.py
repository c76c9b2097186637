"""The ONNX ops cnnc imports, executable (NCHW, ONNX semantics): what an imported graph
means before lowering. Constant folding (``cnnc.passes.fold``) evaluates nodes with these,
the importer checks constant subgraphs with them, and ``cnnc.reference.run`` runs an
imported graph with them. The numerics they share with the lowered float32 ops (conv,
pool, activations, softmax) are ``cnnc.ops.f32``'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import ir
from ..errors import UnsupportedError
from ..ops.f32 import (
    _sigmoid,
    apply_act,
    batchnorm_scale_shift,
    conv2d_nhwc,
    hard_sigmoid,
    pool2d_nhwc,
    softmax_last,
)
from ..ops.spatial import float_weights, resize_axis, resize_nhwc

RefFn = Callable[[ir.Node, ir.Graph, list[np.ndarray]], list[np.ndarray]]
ONNX_OPS: dict[str, RefFn] = {}


def register(*names: str) -> Callable[[RefFn], RefFn]:
    """Adds an ONNX op's reference to ``ONNX_OPS`` (this module's own table)."""

    def wrap(fn: RefFn) -> RefFn:
        for name in names:
            ONNX_OPS[name] = fn
        return fn

    return wrap


def _onnx_window_2d(x: np.ndarray, a: dict):
    """An ONNX window op's [N,C,H,W] (or 1-D [N,C,L], as H = 1) input as NHWC, with its
    kernel, strides and (top, left, bottom, right) pads."""
    if x.ndim == 3:
        x4 = x[:, :, None, :].transpose(0, 2, 3, 1)
        kernel, strides = [1, *a["kernel_shape"]], [1, *a["strides"]]
        return x4, kernel, strides, [0, a["pads"][0], 0, a["pads"][1]]
    if x.ndim != 4:
        raise UnsupportedError(f"reference: {x.ndim - 2}-D window ops are not supported")
    return x.transpose(0, 2, 3, 1), a["kernel_shape"], a["strides"], a["pads"]


def _to_onnx_layout(y: np.ndarray, rank: int) -> np.ndarray:
    y = np.ascontiguousarray(y.transpose(0, 3, 1, 2))
    return y[:, :, 0, :] if rank == 3 else y


def _onnx_out_hw(graph, node, rank):
    shape = graph.tensors[node.outputs[0]].shape
    return (1, shape[2]) if rank == 3 else tuple(shape[2:4])


@register("Conv")
def ref_onnx_conv(node, graph, inputs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    xt, _, strides, pads = _onnx_window_2d(x, node.attrs)
    wt = w[:, :, None, :] if w.ndim == 3 else w
    wt = wt.transpose(0, 2, 3, 1)
    hw = _onnx_out_hw(graph, node, x.ndim)
    dilations = node.attrs.get("dilations", [1] * (x.ndim - 2))
    dilations = [1, *dilations] if x.ndim == 3 else dilations
    y = conv2d_nhwc(xt, wt, b, strides, pads, node.attrs["group"], hw, dilations)
    return [_to_onnx_layout(y, x.ndim)]


@register("MaxPool", "AveragePool")
def ref_onnx_pool(node, graph, inputs):
    ir.require_unit_dilations(node)
    x = inputs[0]
    xt, kernel, strides, pads = _onnx_window_2d(x, node.attrs)
    hw = _onnx_out_hw(graph, node, x.ndim)
    kind = "max" if node.op == "MaxPool" else "avg"
    y = pool2d_nhwc(xt, kernel, strides, pads, hw, kind, node.attrs.get("count_include_pad", 0))
    return [_to_onnx_layout(y, x.ndim)]


@register("GlobalAveragePool")
def ref_onnx_gap(node, graph, inputs):
    x = inputs[0]
    return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float32)]


@register("GlobalMaxPool")
def ref_onnx_gmp(node, graph, inputs):
    x = inputs[0]
    return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]


def reduce_axes(node, graph, rank: int) -> tuple[int, ...]:
    """A ReduceMean/ReduceMax node's axes, normalised: the ``axes`` attribute (opset < 18)
    or the constant second input (opset 18); none given reduces every axis (unless
    noop_with_empty_axes)."""
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        data = graph.const(node.inputs[1])
        if data is None:
            raise UnsupportedError(
                f"node '{node.name}' ({node.op}): axes '{node.inputs[1]}' must be a constant"
            )
        axes = [int(a) for a in np.asarray(data).reshape(-1)]
    if not axes:
        return () if node.attrs.get("noop_with_empty_axes") else tuple(range(rank))
    if any(not -rank <= int(a) < rank for a in axes):
        raise UnsupportedError(f"node '{node.name}' ({node.op}): axes {list(axes)} for rank {rank}")
    return tuple(sorted({int(a) % rank for a in axes}))


@register("ReduceMean", "ReduceMax")
def ref_onnx_reduce(node, graph, inputs):
    x = inputs[0]
    axes = reduce_axes(node, graph, x.ndim)
    keep = bool(node.attrs.get("keepdims", 1))
    if node.op == "ReduceMean":
        return [np.asarray(x.mean(axis=axes, keepdims=keep, dtype=np.float32), np.float32)]
    return [np.asarray(x.max(axis=axes, keepdims=keep))]


@register("Gemm")
def ref_onnx_gemm(node, graph, inputs):
    a_, b_ = inputs[0], inputs[1]
    at = node.attrs
    a_ = a_.T if at["transA"] else a_
    b_ = b_.T if at["transB"] else b_
    y = np.float32(at["alpha"]) * np.matmul(a_, b_)
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + np.float32(at["beta"]) * inputs[2]
    return [y.astype(np.float32)]


@register("MatMul")
def ref_onnx_matmul(node, graph, inputs):
    return [np.matmul(inputs[0], inputs[1])]


@register("BatchNormalization")
def ref_onnx_bn(node, graph, inputs):
    x = inputs[0]
    scale, shift = batchnorm_scale_shift(*inputs[1:5], node.attrs["epsilon"])
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return [(x * scale.reshape(shape) + shift.reshape(shape)).astype(np.float32)]


@register("Relu")
def ref_onnx_relu(node, graph, inputs):
    return [np.maximum(inputs[0], 0).astype(inputs[0].dtype)]


@register("Clip")
def ref_onnx_clip(node, graph, inputs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
    hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    y = x
    if lo is not None:
        y = np.maximum(y, lo)
    if hi is not None:
        y = np.minimum(y, hi)
    return [y.astype(x.dtype)]


@register("LeakyRelu")
def ref_onnx_leaky(node, graph, inputs):
    return [apply_act(inputs[0], {"act": "leaky_relu", "act_alpha": node.attrs["alpha"]})]


@register("Elu")
def ref_onnx_elu(node, graph, inputs):
    return [apply_act(inputs[0], {"act": "elu", "act_alpha": node.attrs["alpha"]})]


@register("HardSigmoid")
def ref_onnx_hard_sigmoid(node, graph, inputs):
    return [hard_sigmoid(inputs[0], node.attrs["alpha"], node.attrs["beta"])]


@register("Sigmoid")
def ref_onnx_sigmoid(node, graph, inputs):
    return [_sigmoid(inputs[0])]


@register("Tanh")
def ref_onnx_tanh(node, graph, inputs):
    return [apply_act(inputs[0], {"act": "tanh"})]


@register("HardSwish")
def ref_onnx_hard_swish(node, graph, inputs):
    return [apply_act(inputs[0], {"act": "hard_swish"})]


def _binary(fn):
    def ref(node, graph, inputs):
        return [np.asarray(fn(inputs[0], inputs[1]))]

    return ref


ONNX_OPS["Add"] = _binary(np.add)
ONNX_OPS["Sub"] = _binary(np.subtract)
ONNX_OPS["Mul"] = _binary(np.multiply)
ONNX_OPS["Less"] = _binary(np.less)


@register("Div")
def ref_onnx_div(node, graph, inputs):
    a, b = inputs
    if np.issubdtype(a.dtype, np.integer):
        return [np.asarray(np.trunc(a / b).astype(a.dtype))]
    return [np.asarray(a / b)]


@register("Sum")
def ref_onnx_sum(node, graph, inputs):
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return [total]


@register("Neg")
def ref_onnx_neg(node, graph, inputs):
    return [-inputs[0]]


@register("Where")
def ref_onnx_where(node, graph, inputs):
    return [np.where(inputs[0], inputs[1], inputs[2])]


@register("Flatten")
def ref_onnx_flatten(node, graph, inputs):
    x = inputs[0]
    axis = node.attrs["axis"]
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return [x.reshape(lead, -1)]


@register("Reshape")
def ref_onnx_reshape(node, graph, inputs):
    x, shape = inputs[0], [int(s) for s in inputs[1]]
    if not node.attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


def split_sizes(node, graph, inputs) -> list[int]:
    """Split's part sizes: the 'split' input (opset 13+), else equal parts (num_outputs in
    opset 18, the output count before), the last one smaller when the axis does not divide."""
    x = inputs[0]
    axis = int(node.attrs.get("axis", 0)) % x.ndim
    if len(inputs) > 1 and inputs[1] is not None and np.size(inputs[1]):
        return [int(s) for s in np.ravel(inputs[1])]
    n = len(node.outputs)
    part = -(-x.shape[axis] // n)
    return [min(part, x.shape[axis] - i * part) for i in range(n)]


@register("Split")
def ref_onnx_split(node, graph, inputs):
    axis = int(node.attrs.get("axis", 0)) % inputs[0].ndim
    cuts = np.cumsum(split_sizes(node, graph, inputs))[:-1]
    return [np.ascontiguousarray(p) for p in np.split(inputs[0], cuts, axis=axis)]


@register("Transpose")
def ref_onnx_transpose(node, graph, inputs):
    return [np.ascontiguousarray(inputs[0].transpose(node.attrs["perm"]))]


@register("Concat")
def ref_onnx_concat(node, graph, inputs):
    return [np.concatenate(inputs, axis=node.attrs["axis"])]


@register("Softmax")
def ref_onnx_softmax(node, graph, inputs):
    x = np.moveaxis(inputs[0], node.attrs["axis"], -1)
    return [np.ascontiguousarray(np.moveaxis(softmax_last(x), -1, node.attrs["axis"]))]


@register("Dropout", "Identity")
def ref_onnx_identity(node, graph, inputs):
    x = inputs[0]
    outs = [x]
    if len(node.outputs) > 1:
        outs.append(np.ones(x.shape, dtype=bool))
    return outs


@register("Constant")
def ref_onnx_constant(node, graph, inputs):
    """The tensor a Constant node holds (any of its value* attributes)."""
    a = node.attrs
    if "value" in a:
        return [np.asarray(a["value"])]
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in a:
            return [np.asarray(a[key], dtype=dtype)]
    raise UnsupportedError(
        f"node '{node.name}' (Constant) uses {sorted(a)}; cnnc supports value, value_float(s), "
        "value_int(s)"
    )


@register("ConstantOfShape")
def ref_onnx_constant_of_shape(node, graph, inputs):
    value = node.attrs.get("value", np.zeros(1, np.float32))
    value = np.asarray(value).reshape(-1)
    return [np.full([int(s) for s in inputs[0]], value[0], dtype=value.dtype)]


@register("Shape")
def ref_onnx_shape(node, graph, inputs):
    shape = np.asarray(inputs[0].shape, dtype=np.int64)
    start = node.attrs.get("start", 0)
    end = node.attrs.get("end", len(shape))
    return [shape[start:end]]


@register("Gather")
def ref_onnx_gather(node, graph, inputs):
    data, idx = inputs
    return [np.take(data, idx.astype(np.int64), axis=node.attrs["axis"])]


@register("Unsqueeze")
def ref_onnx_unsqueeze(node, graph, inputs):
    x, axes = inputs[0], [int(a) for a in inputs[1]]
    rank = x.ndim + len(axes)
    return [np.expand_dims(x, tuple(sorted(a % rank for a in axes)))]


@register("Squeeze")
def ref_onnx_squeeze(node, graph, inputs):
    x = inputs[0]
    if len(inputs) < 2 or inputs[1] is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(int(a) % x.ndim for a in inputs[1]))]


@register("Cast")
def ref_onnx_cast(node, graph, inputs):
    from onnx import helper

    return [inputs[0].astype(helper.tensor_dtype_to_np_dtype(node.attrs["to"]))]


@register("Slice")
def ref_onnx_slice(node, graph, inputs):
    x, starts, ends = inputs[0], inputs[1], inputs[2]
    axes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
    steps = inputs[4] if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps, strict=False):
        index[int(a)] = slice(int(s), int(e), int(st))
    return [x[tuple(index)]]


# ---------------------------------------------------------------- spatial ops (heads)


@register("Pad")
def ref_onnx_pad(node, graph, inputs):
    """ONNX Pad with NumPy's own np.pad (independent of the lowered pad2d)."""
    x, pads = inputs[0], [int(p) for p in inputs[1]]
    axes = list(range(x.ndim))
    if len(inputs) > 3 and inputs[3] is not None:
        axes = [int(a) % x.ndim for a in inputs[3]]
    width = [(0, 0)] * x.ndim
    for k, axis in enumerate(axes):
        width[axis] = (pads[k], pads[k + len(axes)])
    if min(min(w) for w in width) < 0:
        raise UnsupportedError(f"node '{node.name}' (Pad): negative pads {pads}")
    mode = node.attrs.get("mode", "constant")
    if mode == "constant":
        value = inputs[2].reshape(-1)[0] if len(inputs) > 2 and inputs[2] is not None else 0
        return [np.pad(x, width, mode="constant", constant_values=value)]
    if mode not in ("edge", "reflect"):
        raise UnsupportedError(f"node '{node.name}' (Pad): mode '{mode}'")
    return [np.pad(x, width, mode=mode)]


@register("Resize")
def ref_onnx_resize(node, graph, inputs):
    a = node.attrs
    x = inputs[0]
    out_shape = graph.tensors[node.outputs[0]].shape
    (oh, ow), (h, w) = out_shape[2:], x.shape[2:]
    scales = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
    if scales is not None and scales.size:
        sh, sw = float(scales[2]), float(scales[3])
    else:
        sh, sw = np.float32(oh) / np.float32(h), np.float32(ow) / np.float32(w)
    args = (a.get("mode", "nearest"), a.get("coordinate_transformation_mode", "half_pixel"),
            a.get("nearest_mode", "round_prefer_floor"))  # fmt: skip
    y0, y1, wy = resize_axis(oh, h, sh, *args)
    x0, x1, wx = resize_axis(ow, w, sw, *args)
    y = resize_nhwc(
        x.transpose(0, 2, 3, 1).astype(np.float32),
        np.stack([y0, y1], 1),
        np.stack([x0, x1], 1),
        float_weights(wy),
        float_weights(wx),
        args[0],
    )
    return [np.ascontiguousarray(y.transpose(0, 3, 1, 2))]  # fmt: skip


@register("ConvTranspose")
def ref_onnx_conv_transpose(node, graph, inputs):
    """Scatter form: input pixel i adds x[i] * w[k] to output i*s - pad + k*d (float64)."""
    a = node.attrs
    x, w = inputs[0].astype(np.float64), inputs[1].astype(np.float64)
    n, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    g = int(a.get("group", 1))
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl = a.get("pads", [0, 0, 0, 0])[:2]
    oh, ow = graph.tensors[node.outputs[0]].shape[2:]
    size_h, size_w = pt + oh + (h - 1) * sh + dh * kh, pl + ow + (wd - 1) * sw + dw * kw
    full = np.zeros((n, g * cout_g, size_h, size_w))
    cg = cin // g
    for ky in range(kh):
        for kx in range(kw):
            for gi in range(g):
                xs = x[:, gi * cg : (gi + 1) * cg]
                contrib = np.einsum("nchw,co->nohw", xs, w[gi * cg : (gi + 1) * cg, :, ky, kx])
                full[:, gi * cout_g : (gi + 1) * cout_g,
                     ky * dh : ky * dh + (h - 1) * sh + 1 : sh,
                     kx * dw : kx * dw + (wd - 1) * sw + 1 : sw] += contrib  # fmt: skip
    y = full[:, :, pt : pt + oh, pl : pl + ow]
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + inputs[2].reshape(1, -1, 1, 1)
    return [y.astype(np.float32)]
