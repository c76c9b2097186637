"""The NumPy reference executor: the executable definition of every op the C must match.

``REFERENCE_OPS`` maps an op name to ``fn(node, graph, inputs) -> outputs``.
It holds the lowered float ops of ``ir.LOWERED_OPS`` (snake_case, NHWC) and,
for imported graphs and constant folding, the ONNX ops cnnc imports
(CamelCase, NCHW, ONNX semantics). int8 (``s8_*``) and binary (``b1_*``) ops
register themselves from ``int8_ops.py`` and ``binary_ops.py``.

Adding an op touches three places: a lowering rule (``passes.py``), a
reference function here, and a C emitter plus kernel (``codegen.py``,
``runtime_c/``) with its test.

Every function works on a batch (leading axis N of any size): the C runs one
sample per call, the reference may run many at once. Shapes that an op cannot
see in its inputs (a pool's output size, a reshape's target) come from the
graph's tensors, with the batch axis taken from the input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import ir
from .errors import CnncError, ShapeError, UnsupportedError

RefFn = Callable[[ir.Node, ir.Graph, list[np.ndarray]], list[np.ndarray]]
REFERENCE_OPS: dict[str, RefFn] = {}


def register(*names: str) -> Callable[[RefFn], RefFn]:
    def wrap(fn: RefFn) -> RefFn:
        for name in names:
            REFERENCE_OPS[name] = fn
        return fn

    return wrap


def run(
    graph: ir.Graph, feeds: dict[str, np.ndarray], keep_all: bool = False
) -> dict[str, np.ndarray]:
    """Executes ``graph`` on ``feeds`` (graph input name -> array, ONNX layout).

    Returns the graph outputs, or with ``keep_all`` every tensor computed
    (inputs and node outputs), for per-layer verification.
    """
    values: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        if name not in feeds:
            raise CnncError(f"reference.run: no value fed for graph input '{name}'")
        values[name] = _check_feed(graph.tensors[name], np.asarray(feeds[name]))
    for node in graph.nodes:
        fn = REFERENCE_OPS.get(node.op)
        if fn is None:
            raise UnsupportedError(
                f"reference: no reference for op {node.op} (node '{node.name}'); "
                f"known: {', '.join(sorted(REFERENCE_OPS))}"
            )
        args = [_value(graph, values, name) for name in node.inputs]
        try:
            results = fn(node, graph, args)
        except CnncError:
            raise
        except (ValueError, IndexError, TypeError) as err:  # a graph the op cannot run
            shapes = [None if a is None else list(np.shape(a)) for a in args]
            raise ShapeError(
                f"reference: node '{node.name}' ({node.op}) failed on inputs "
                f"{node.inputs} of shapes {shapes}: {err}"
            ) from None
        for name, result in zip(node.outputs, results, strict=False):
            if name:
                values[name] = result
    if keep_all:
        return values
    return {name: _value(graph, values, name) for name in graph.outputs}


def _check_feed(tensor: ir.Tensor, x: np.ndarray) -> np.ndarray:
    if x.ndim != len(tensor.shape) or tuple(x.shape[1:]) != tuple(tensor.shape[1:]):
        raise ShapeError(
            f"reference.run: input '{tensor.name}' has shape {list(x.shape)}, the graph "
            f"expects {list(tensor.shape)} (any batch size)"
        )
    return x.astype(tensor.dtype if tensor.dtype != "b1" else np.float32, copy=False)


def _value(graph: ir.Graph, values: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    if name == "":
        return None
    if name in values:
        return values[name]
    data = graph.const(name)
    if data is None:
        raise CnncError(f"reference.run: tensor '{name}' is used before it is computed")
    return data


def _batched(graph: ir.Graph, name: str, batch: int) -> tuple[int, ...]:
    shape = graph.tensors[name].shape
    return (batch, *shape[1:])


# ---------------------------------------------------------------- activations


def apply_act(y: np.ndarray, attrs: dict) -> np.ndarray:
    """The fused activation named by ``attrs['act']`` (see ``ir.LOWERED_OPS``)."""
    act = attrs.get("act", "none")
    if act == "none":
        return y
    if act == "relu":
        return np.maximum(y, np.float32(0))
    if act in ("relu6", "clip"):
        lo = attrs.get("act_min", 0.0)
        hi = attrs.get("act_max", 6.0)
        # min(max(y, lo), hi) as ONNX Clip: lo > hi gives hi; NaN propagates
        return np.minimum(np.maximum(y, np.float32(lo)), np.float32(hi)).astype(y.dtype, copy=False)
    if act == "leaky_relu":
        alpha = np.float32(attrs.get("act_alpha", 0.01))
        return np.where(y >= 0, y, y * alpha)
    if act == "sigmoid":
        return _sigmoid(y)
    if act == "elu":
        alpha = np.float32(attrs.get("act_alpha", 1.0))
        return np.where(y > 0, y, alpha * np.expm1(np.minimum(y, 0))).astype(y.dtype)
    raise UnsupportedError(f"reference: unknown activation act={act!r}")


def _sigmoid(y: np.ndarray) -> np.ndarray:
    # Split by sign so exp never overflows; float32 in, float32 out.
    e = np.exp(-np.abs(y))
    return np.where(y >= 0, 1 / (1 + e), e / (1 + e)).astype(y.dtype)


# ---------------------------------------------------------------- lowered ops (NHWC)


def conv2d_nhwc(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    strides,
    pads,
    groups: int,
    out_hw: tuple[int, int] | None = None,
) -> np.ndarray:
    """x[N,H,W,C] * w[Co,KH,KW,C/g] (+ b[Co]) -> [N,OH,OW,Co], zero padding, cross-correlation."""
    n, h, wd, c = x.shape
    co, kh, kw, cg = w.shape
    sh, sw = strides
    top, left, bottom, right = pads
    if cg * groups != c or co % groups:
        raise ShapeError(
            f"conv2d: input channels {c}, weight {list(w.shape)} and groups={groups} disagree"
        )
    oh = (h + top + bottom - kh) // sh + 1
    ow = (wd + left + right - kw) // sw + 1
    if out_hw is not None:
        oh, ow = out_hw
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    xg = xp.reshape(n, xp.shape[1], xp.shape[2], groups, cg)  # [N,Hp,Wp,g,C/g]
    wg = w.reshape(groups, co // groups, kh, kw, cg)  # [g,Co/g,KH,KW,C/g]
    acc = np.zeros((n, oh, ow, groups, co // groups), dtype=np.float32)
    for i in range(kh):  # a loop over the kernel taps only; each step is one batched product
        for j in range(kw):
            xs = xg[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
            wt = wg[:, :, i, j, :]  # [g,Co/g,C/g]
            if groups == 1:
                acc[..., 0, :] += np.tensordot(xs[..., 0, :], wt[0].T, axes=1)
            elif cg == 1 and co == groups:
                acc[..., 0] += xs[..., 0] * wt[:, 0, 0]
            else:
                acc += np.einsum("nhwgc,goc->nhwgo", xs, wt)
    y = acc.reshape(n, oh, ow, co)
    if b is not None:
        y += b.astype(np.float32)
    return y


@register("conv2d")
def ref_conv2d(node, graph, inputs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    y = conv2d_nhwc(x, w, b, a["strides"], a["pads"], a.get("groups", 1), out_hw)
    return [apply_act(y, a)]


@register("dense")
def ref_dense(node, graph, inputs):
    x, w = inputs[0], inputs[1]
    y = np.matmul(x, w.T).astype(np.float32)
    if len(inputs) > 2 and inputs[2] is not None:
        y += inputs[2]
    return [apply_act(y, node.attrs)]


def pool2d_nhwc(x, kernel, strides, pads, out_hw, kind: str, count_include_pad=False):
    """Max or average pooling over x[N,H,W,C] -> [N,OH,OW,C].

    Window (oh, ow) covers rows oh*sh - top + [0, KH) and columns likewise.
    The output size comes from the graph (ONNX ceil_mode may add a last
    window that runs past the bottom/right padding); taps outside the input
    are ignored by max. The average divides by the taps inside the input
    (count_include_pad=0) or inside the input plus its explicit pads
    (count_include_pad=1) — never by the taps past the explicit pads.
    """
    n, h, w, c = x.shape
    kh, kw = kernel
    sh, sw = strides
    top, left, bottom, right = pads
    oh, ow = out_hw
    extra_h = max((oh - 1) * sh + kh - (h + top + bottom), 0)
    extra_w = max((ow - 1) * sw + kw - (w + left + right), 0)
    pad_spec = ((0, 0), (top, bottom + extra_h), (left, right + extra_w), (0, 0))
    if kind == "max":
        xp = np.pad(x, pad_spec, constant_values=-np.inf)
        win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, : (oh - 1) * sh + 1 : sh]
        return win[:, :, : (ow - 1) * sw + 1 : sw].max(axis=(-2, -1)).astype(x.dtype)
    xp = np.pad(x, pad_spec)
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, : (oh - 1) * sh + 1 : sh]
    total = win[:, :, : (ow - 1) * sw + 1 : sw].sum(axis=(-2, -1), dtype=np.float32)
    mask = np.zeros((1, h + top + bottom + extra_h, w + left + right + extra_w, 1), np.float32)
    if count_include_pad:
        mask[:, : h + top + bottom, : w + left + right] = 1
    else:
        mask[:, top : top + h, left : left + w] = 1
    mwin = sliding_window_view(mask, (kh, kw), axis=(1, 2))[:, : (oh - 1) * sh + 1 : sh]
    count = mwin[:, :, : (ow - 1) * sw + 1 : sw].sum(axis=(-2, -1))
    return (total / np.maximum(count, 1)).astype(np.float32)


@register("maxpool2d")
def ref_maxpool2d(node, graph, inputs):
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    return [pool2d_nhwc(inputs[0], a["kernel"], a["strides"], a["pads"], out_hw, "max")]


@register("avgpool2d")
def ref_avgpool2d(node, graph, inputs):
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    y = pool2d_nhwc(
        inputs[0], a["kernel"], a["strides"], a["pads"], out_hw, "avg", a["count_include_pad"]
    )
    return [y]


@register("global_avgpool")
def ref_global_avgpool(node, graph, inputs):
    return [inputs[0].mean(axis=(1, 2), keepdims=True, dtype=np.float32)]


@register("add")
def ref_add(node, graph, inputs):
    return [apply_act((inputs[0] + inputs[1]).astype(np.float32), node.attrs)]


@register("mul")
def ref_mul(node, graph, inputs):
    return [apply_act((inputs[0] * inputs[1]).astype(np.float32), node.attrs)]


@register("scale_shift")
def ref_scale_shift(node, graph, inputs):
    x, scale, shift = inputs
    return [apply_act((x * scale + shift).astype(np.float32), node.attrs)]


@register("act")
def ref_act(node, graph, inputs):
    return [apply_act(inputs[0], node.attrs)]


@register("concat")
def ref_concat(node, graph, inputs):
    return [np.concatenate(inputs, axis=node.attrs.get("axis", -1))]


def softmax_last(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(x.dtype)


@register("softmax")
def ref_softmax(node, graph, inputs):
    return [softmax_last(inputs[0])]


@register("reshape")
def ref_reshape(node, graph, inputs):
    x = inputs[0]
    shape = graph.tensors[node.outputs[0]].shape
    in_batch = graph.tensors[node.inputs[0]].shape[:1]
    if shape[:1] == in_batch and len(shape) > 0:
        shape = _batched(graph, node.outputs[0], x.shape[0])
    return [x.reshape(shape)]


@register("transpose")
def ref_transpose(node, graph, inputs):
    return [np.ascontiguousarray(inputs[0].transpose(node.attrs["perm"]))]


@register("sign")
def ref_sign(node, graph, inputs):
    x = inputs[0]
    return [np.where(x >= 0, np.float32(1), np.float32(-1)).astype(np.float32)]


# ---------------------------------------------------------------- ONNX ops (NCHW)


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


def _check_dilations(node: ir.Node) -> None:
    if any(d != 1 for d in node.attrs.get("dilations", [1])):
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}) has dilations={node.attrs['dilations']}; "
            "cnnc supports dilation 1 only"
        )


def _onnx_out_hw(graph, node, rank):
    shape = graph.tensors[node.outputs[0]].shape
    return (1, shape[2]) if rank == 3 else tuple(shape[2:4])


@register("Conv")
def ref_onnx_conv(node, graph, inputs):
    _check_dilations(node)
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    xt, _, strides, pads = _onnx_window_2d(x, node.attrs)
    wt = w[:, :, None, :] if w.ndim == 3 else w
    wt = wt.transpose(0, 2, 3, 1)
    hw = _onnx_out_hw(graph, node, x.ndim)
    y = conv2d_nhwc(xt, wt, b, strides, pads, node.attrs["group"], hw)
    return [_to_onnx_layout(y, x.ndim)]


@register("MaxPool", "AveragePool")
def ref_onnx_pool(node, graph, inputs):
    _check_dilations(node)
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


def batchnorm_scale_shift(gamma, beta, mean, var, epsilon) -> tuple[np.ndarray, np.ndarray]:
    """BN as y = x*scale + shift, in float32 exactly as onnxruntime's CPU kernel computes it.

    scale = gamma * (1 / sqrt(var + eps)), shift = beta - mean*scale, each step rounded to
    float32. With this order the reference's scale_shift equals onnxruntime's
    BatchNormalization bit for bit, so an XNOR ``sign`` after a BN flips exactly where
    onnxruntime's does (computing scale in float64 differs in ~30% of outputs by an ulp).
    """
    f32 = np.float32
    inv_std = (f32(1) / np.sqrt(var.astype(f32) + f32(epsilon))).astype(f32)
    scale = (gamma.astype(f32) * inv_std).astype(f32)
    shift = (beta.astype(f32) - mean.astype(f32) * scale).astype(f32)
    return scale, shift


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


@register("Sigmoid")
def ref_onnx_sigmoid(node, graph, inputs):
    return [_sigmoid(inputs[0])]


def _binary(fn):
    def ref(node, graph, inputs):
        return [np.asarray(fn(inputs[0], inputs[1]))]

    return ref


REFERENCE_OPS["Add"] = _binary(np.add)
REFERENCE_OPS["Sub"] = _binary(np.subtract)
REFERENCE_OPS["Mul"] = _binary(np.multiply)
REFERENCE_OPS["Less"] = _binary(np.less)


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


# Plugin registrations: each precision module adds its ops to REFERENCE_OPS on import.
from . import binary_ops, int8_ops  # noqa: E402,F401  (register s8_* / b1_* ops)
