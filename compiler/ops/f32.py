"""The float32 ops (lowered, NHWC): NumPy reference, C emitter and report counters.

Each op is one ``OpDef`` in ``OPS`` at the end; its C kernel is
``runtime_c/kernels/f32_*.c`` (declared in ``cnnc_f32.h``). Every reference function works
on a batch (leading axis N of any size): the C runs one sample per call, the reference may
run many at once. Shapes an op cannot see in its inputs (a pool's output size, a
reshape's target) come from the graph's tensors, with the batch axis taken from the input.
Adding an op: ``docs/adding_an_op.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import ir
from ..errors import ShapeError, UnsupportedError
from . import fmath
from .opdef import Emitter, KernelCall, OpDef, table

# Lowered float32 ops (NHWC). Attributes every op may carry:
#   act: "none" | "relu" | "relu6" | "clip" | "leaky_relu" | "sigmoid" | "elu" | "tanh"
#        | "silu" | "hard_swish" (sigmoid, tanh and silu with cnnc.ops.fmath's exp, not libm's)
#   act_min, act_max (floats, for "clip"/"relu6"; relu6 has 0 and 6), act_alpha (leaky_relu,
#   default 0.01; elu, default 1.0). The lowering fuses act only into conv2d, dense, add, mul
#   and scale_shift; a standalone activation is the op "act".
# cnnc.reference is the executable definition of each op (shapes, padding, rounding).
# Shapes a kernel cannot see in its inputs (a pool's OH/OW, a reshape's target) are the
# output tensor's shape; the C runs batch N = 1, the reference any N.
DOCS: dict[str, str] = {
    "conv2d": "x[N,H,W,C], w[Co,KH,KW,C/g], b[Co]? -> [N,OH,OW,Co]; "
    "attrs strides=(sh,sw), pads=(top,left,bottom,right) zero padding, groups (1, C for "
    "depthwise, or any divisor), dilations=(dh,dw) (default 1), act; "
    "OH = (H+top+bottom-(KH-1)*dh-1)//sh + 1",
    "dense": "x[N,K], w[M,K], b[M]? -> [N,M]; attrs act",
    "maxpool2d": "x[N,H,W,C] -> [N,OH,OW,C]; attrs kernel=(kh,kw), strides, pads; window "
    "(oh,ow) covers rows oh*sh-top+[0,kh); OH/OW from the output tensor (ONNX ceil_mode may "
    "add a last window past the bottom/right pad); taps outside the input are ignored",
    "avgpool2d": "x[N,H,W,C] -> [N,OH,OW,C]; attrs kernel, strides, pads, count_include_pad; "
    "windows as maxpool2d; divisor = taps inside the input (count_include_pad=0) or inside "
    "input+explicit pads (1), never counting taps past the explicit pads",
    "global_avgpool": "x[N,H,W,C] -> [N,1,1,C]",
    "add": "a, b -> a+b, shape of a; b is one of: same shape as a; [C] = a.shape[-1] (per "
    "channel, last axis); [] (scalar); same rank as a with each dim equal or 1 (NumPy "
    "broadcast, rare: only from ONNX broadcasting of two activations); attrs act",
    "mul": "a, b -> a*b; b as for add; attrs act",
    "scale_shift": "x[...,C], scale[C], shift[C] -> x*scale+shift (standalone BN); attrs act; "
    "two float32 roundings, no FMA: then it equals onnxruntime's BatchNormalization bit for bit",
    "act": "x -> act(x); attrs act (the activation alone)",
    "concat": "xs[...,Ci]... -> [...,sum Ci]; attrs axis (always the last axis, = rank-1)",
    "channel_slice": "x[...,C] -> x[..., c_offset:c_offset+C_out] (one output of a Split "
    "along channels); attrs c_offset",
    "softmax": "x[..., C] -> softmax over the last axis",
    "reshape": "x -> same data, new shape (row-major order is unchanged; a copy or an alias); "
    "also the NCHW<->NHWC conversion when C == 1 or H == W == 1",
    "transpose": "x -> x.transpose(perm); attrs perm (any rank; NCHW->NHWC at the input is "
    "perm (0,2,3,1), NHWC->NCHW at 4-D outputs (0,3,1,2))",
    "hard_sigmoid": "x -> max(0, min(1, alpha * x + beta)) elementwise (ONNX HardSigmoid); "
    "attrs alpha, beta; two float32 roundings (product, then sum), no FMA",
    "sign": "x -> +1 where x >= 0 else -1 (XNOR-Net binarisation, sign(0) = +1)",
}

ACT_KINDS = {
    "none": "CNNC_ACT_NONE",
    "relu": "CNNC_ACT_RELU",
    "relu6": "CNNC_ACT_RELU6",
    "clip": "CNNC_ACT_CLIP",
    "leaky_relu": "CNNC_ACT_LEAKY_RELU",
    "sigmoid": "CNNC_ACT_SIGMOID",
    "elu": "CNNC_ACT_ELU",
    "tanh": "CNNC_ACT_TANH",
    "silu": "CNNC_ACT_SILU",
    "hard_swish": "CNNC_ACT_HARD_SWISH",
}


# ---------------------------------------------------------------- activations


def apply_act(y: np.ndarray, attrs: dict) -> np.ndarray:
    """The fused activation named by ``attrs['act']`` (see ``DOCS``)."""
    act = attrs.get("act", "none")
    if act == "none":
        return y
    if act == "relu":
        return np.maximum(y, np.float32(0))
    if act in ("relu6", "clip"):
        lo, hi = ir.act_bounds(attrs)
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
    if act == "tanh":
        return fmath.tanhf(y)
    if act == "silu":
        with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as in the C
            return (y.astype(np.float32) * fmath.sigmoidf(y)).astype(np.float32)
    if act == "hard_swish":
        return hard_swish(y)
    raise UnsupportedError(f"reference: unknown activation act={act!r}")


def _sigmoid(y: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-y)) with cnnc's own exp (cnnc.ops.fmath == cnnc_math.h bit for bit)."""
    return fmath.sigmoidf(y)


def hard_swish(y: np.ndarray) -> np.ndarray:
    """ONNX HardSwish y * max(0, min(1, y/6 + 1/2)) as the C computes it: float32(1/6) * y,
    + 0.5, clamp, * y (three roundings, no FMA)."""
    y = np.asarray(y, np.float32)
    v = y * np.float32(1 / 6) + np.float32(0.5)
    g = np.where(v < 0, np.float32(0), np.where(v > 1, np.float32(1), v))
    with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as in the C
        return (y * g).astype(np.float32)


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


# ---------------------------------------------------------------- reference


def hard_sigmoid(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """max(0, min(1, alpha*x + beta)) in float32: the product and the sum each rounded, as the
    C kernel computes it with -ffp-contract=off."""
    y = x.astype(np.float32) * np.float32(alpha) + np.float32(beta)
    return np.clip(y, np.float32(0), np.float32(1)).astype(np.float32)


def ref_hard_sigmoid(node, graph, inputs):
    return [hard_sigmoid(inputs[0], node.attrs["alpha"], node.attrs["beta"])]


def conv2d_nhwc(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    strides,
    pads,
    groups: int,
    out_hw: tuple[int, int] | None = None,
    dilations=(1, 1),
) -> np.ndarray:
    """x[N,H,W,C] * w[Co,KH,KW,C/g] (+ b[Co]) -> [N,OH,OW,Co], zero padding, cross-correlation;
    tap (i, j) of output (oy, ox) reads input (oy*sh - top + i*dh, ox*sw - left + j*dw)."""
    n, h, wd, c = x.shape
    co, kh, kw, cg = w.shape
    sh, sw = strides
    dh, dw = dilations
    top, left, bottom, right = pads
    if cg * groups != c or co % groups:
        raise ShapeError(
            f"conv2d: input channels {c}, weight {list(w.shape)} and groups={groups} disagree"
        )
    oh = (h + top + bottom - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + left + right - (kw - 1) * dw - 1) // sw + 1
    if out_hw is not None:
        oh, ow = out_hw
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    xg = xp.reshape(n, xp.shape[1], xp.shape[2], groups, cg)  # [N,Hp,Wp,g,C/g]
    wg = w.reshape(groups, co // groups, kh, kw, cg)  # [g,Co/g,KH,KW,C/g]
    acc = np.zeros((n, oh, ow, groups, co // groups), dtype=np.float32)
    for i in range(kh):  # a loop over the kernel taps only; each step is one batched product
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            xs = xg[:, y0 : y0 + sh * (oh - 1) + 1 : sh, x0 : x0 + sw * (ow - 1) + 1 : sw]
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


def ref_conv2d(node, graph, inputs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    dilations = a.get("dilations", (1, 1))
    y = conv2d_nhwc(x, w, b, a["strides"], a["pads"], a.get("groups", 1), out_hw, dilations)
    return [apply_act(y, a)]


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


def ref_maxpool2d(node, graph, inputs):
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    return [pool2d_nhwc(inputs[0], a["kernel"], a["strides"], a["pads"], out_hw, "max")]


def ref_avgpool2d(node, graph, inputs):
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    y = pool2d_nhwc(
        inputs[0], a["kernel"], a["strides"], a["pads"], out_hw, "avg", a["count_include_pad"]
    )
    return [y]


def ref_global_avgpool(node, graph, inputs):
    return [inputs[0].mean(axis=(1, 2), keepdims=True, dtype=np.float32)]


def ref_add(node, graph, inputs):
    return [apply_act((inputs[0] + inputs[1]).astype(np.float32), node.attrs)]


def ref_mul(node, graph, inputs):
    return [apply_act((inputs[0] * inputs[1]).astype(np.float32), node.attrs)]


def ref_scale_shift(node, graph, inputs):
    x, scale, shift = inputs
    return [apply_act((x * scale + shift).astype(np.float32), node.attrs)]


def ref_act(node, graph, inputs):
    return [apply_act(inputs[0], node.attrs)]


def ref_concat(node, graph, inputs):
    return [np.concatenate(inputs, axis=node.attrs.get("axis", -1))]


def ref_channel_slice(node, graph, inputs):
    c0, c = node.attrs["c_offset"], graph.tensors[node.outputs[0]].shape[-1]
    return [np.ascontiguousarray(inputs[0][..., c0 : c0 + c])]


def slice_params(node: ir.Node, em) -> dict:
    x, y = em.tensor(node.inputs[0]), em.tensor(node.outputs[0])
    c_off, c_out = int(node.attrs["c_offset"]), y.shape[-1]
    if not 0 <= c_off <= x.shape[-1] - c_out:
        raise UnsupportedError(
            f"node '{node.name}' (channel_slice): channels [{c_off}, {c_off + c_out}) of "
            f"{list(x.shape)}"
        )
    return {"outer": y.size // c_out, "c_in": x.shape[-1], "c_out": c_out, "c_offset": c_off}


def emit_channel_slice(node: ir.Node, em) -> list[KernelCall]:
    args = [em.ptr(node.inputs[0]), em.out(node)]
    params = slice_params(node, em)
    return [KernelCall("cnnc_f32_slice__ref", args, "cnnc_f32_slice_params", params)]


def softmax_last(x: np.ndarray) -> np.ndarray:
    """As cnnc_f32_softmax__ref: cnnc's exp of x - max, summed left to right in float32."""
    x = np.asarray(x, np.float32)
    e = fmath.expf(x - x.max(axis=-1, keepdims=True))
    total = np.cumsum(e, axis=-1, dtype=np.float32)[..., -1:]  # sequential, as the C loop
    return (e / total).astype(np.float32)


def ref_softmax(node, graph, inputs):
    return [softmax_last(inputs[0])]


def ref_reshape(node, graph, inputs):
    x = inputs[0]
    shape = graph.tensors[node.outputs[0]].shape
    in_batch = graph.tensors[node.inputs[0]].shape[:1]
    if shape[:1] == in_batch and len(shape) > 0:
        shape = (x.shape[0], *graph.tensors[node.outputs[0]].shape[1:])
    return [x.reshape(shape)]


def ref_transpose(node, graph, inputs):
    return [np.ascontiguousarray(inputs[0].transpose(node.attrs["perm"]))]


def ref_sign(node, graph, inputs):
    x = inputs[0]
    return [np.where(x >= 0, np.float32(1), np.float32(-1)).astype(np.float32)]


# ---------------------------------------------------------------- C emitters


def act_params(node: ir.Node) -> dict[str, Any]:
    """cnnc_f32_act from the node's fused activation attributes."""
    kind = node.attrs.get("act", "none") or "none"
    if kind not in ACT_KINDS:
        raise UnsupportedError(
            f"node '{node.name}' ({node.op}): activation {kind!r} is not supported; "
            f"supported: {', '.join(ACT_KINDS)}"
        )
    default_alpha = {"leaky_relu": 0.01, "elu": 1.0}.get(kind, 0.0)
    # relu needs no bounds in C (the kind says it); relu6 and clip carry theirs
    lo, hi = ir.act_bounds(node.attrs) if kind in ("relu6", "clip") else (-np.inf, np.inf)
    attr = lambda key, default: default if node.attrs.get(key) is None else node.attrs[key]  # noqa: E731
    return {
        "kind": ACT_KINDS[kind],
        "min": float(lo),
        "max": float(hi),
        "alpha": float(attr("act_alpha", default_alpha)),
    }


def conv_kernel(params: dict[str, int]) -> str:
    """The specialised conv kernel whose preconditions hold, else the general one."""
    p = params
    one = p["kernel_h"] == p["kernel_w"] == p["stride_h"] == p["stride_w"] == 1
    one = one and p["dilation_h"] == p["dilation_w"] == 1
    if p["groups"] == 1 and one and p["pad_top"] == p["pad_left"] == 0:
        return "cnnc_f32_pwconv__ref"
    if p["groups"] == p["c"] == p["out_c"]:
        if p["kernel_h"] == p["kernel_w"] == 3 and p["dilation_h"] == p["dilation_w"] == 1:
            return "cnnc_f32_dwconv3x3__ref"
        return "cnnc_f32_dwconv__ref"
    if p["groups"] == 1:
        return "cnnc_f32_conv_oc8__ref"
    return "cnnc_f32_conv__ref"


def emit_conv2d(node: ir.Node, em) -> list[KernelCall]:
    n, h, w, c = em.shape(node.inputs[0])
    _, oh, ow, co = em.shape(node.outputs[0])
    _, kh, kw, _ = em.shape(node.inputs[1])
    sh, sw = node.attrs.get("strides", (1, 1))
    dh, dw = node.attrs.get("dilations", (1, 1))
    top, left = tuple(node.attrs.get("pads", (0, 0, 0, 0)))[:2]
    params = dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, out_c=co, kernel_h=kh, kernel_w=kw)
    params.update(stride_h=sh, stride_w=sw, dilation_h=dh, dilation_w=dw)
    params.update(pad_top=top, pad_left=left, groups=node.attrs.get("groups", 1))
    params["act"] = act_params(node)
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    kernel = conv_kernel(params)
    args = [em.ptr(node.inputs[0]), conv_weights(em, node.inputs[1], kernel), em.ptr(bias)]
    return [KernelCall(kernel, [*args, em.out(node)], "cnnc_f32_conv_params", params)]


def conv_weights(em, name: str, kernel: str) -> str:
    """The weights in the layout the chosen kernel reads (cnnc_f32.h): the IR's
    [Co,KH,KW,C/g] for the grouped conv, [KH,KW,C,Co] for groups 1, [KH,KW,C] for
    depthwise, [C,Co] for pointwise."""
    w = em.tensor(name).data
    if kernel == "cnnc_f32_conv_oc8__ref":
        return em.packed(name, "[KH,KW,C,Co]", w.transpose(1, 2, 3, 0))
    if kernel.startswith("cnnc_f32_dwconv"):
        return em.packed(name, "[KH,KW,C]", w[..., 0].transpose(1, 2, 0))
    if kernel == "cnnc_f32_pwconv__ref":
        return em.packed(name, "[C,Co]", w[:, 0, 0, :].T)
    return em.ptr(name)


def emit_dense(node: ir.Node, em) -> list[KernelCall]:
    m, k = em.shape(node.inputs[1])
    n = em.tensor(node.inputs[0]).size // k
    params = {"n": n, "k": k, "m": m, "act": act_params(node)}
    bias = node.inputs[2] if len(node.inputs) > 2 else None
    w = em.packed(node.inputs[1], "[K,M]", em.tensor(node.inputs[1]).data.T)
    args = [em.ptr(node.inputs[0]), w, em.ptr(bias), em.out(node)]
    return [KernelCall("cnnc_f32_dense__ref", args, "cnnc_f32_dense_params", params)]


def pool_params(node: ir.Node, em) -> dict[str, int]:
    n, h, w, c = em.shape(node.inputs[0])
    _, oh, ow, _ = em.shape(node.outputs[0])
    kh, kw = node.attrs["kernel"]
    sh, sw = node.attrs.get("strides", (1, 1))
    top, left, bottom, right = node.attrs.get("pads", (0, 0, 0, 0))
    params = dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, kernel_h=kh, kernel_w=kw)
    params.update(stride_h=sh, stride_w=sw)
    params.update(pad_top=top, pad_left=left, pad_bottom=bottom, pad_right=right)
    params["count_include_pad"] = int(bool(node.attrs.get("count_include_pad", 0)))
    return params


def emit_pool(kernel: str) -> Emitter:
    def emit(node: ir.Node, em) -> list[KernelCall]:
        args = [em.ptr(node.inputs[0]), em.out(node)]
        return [KernelCall(kernel, args, "cnnc_f32_pool_params", pool_params(node, em))]

    return emit


def emit_global_avgpool(node: ir.Node, em) -> list[KernelCall]:
    n, h, w, c = em.shape(node.inputs[0])
    params = {"n": n, "hw": h * w, "c": c}
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [
        KernelCall("cnnc_f32_global_avgpool__ref", args, "cnnc_f32_global_avgpool_params", params)
    ]


def broadcast_strides(node: ir.Node, a: ir.Tensor, b: ir.Tensor) -> tuple[int, int, int]:
    """(cols, b_row_stride, b_col_stride) for b read against a[rows, cols]."""
    cols = a.shape[-1] if a.shape else 1
    if b.size == a.size and tuple(b.shape) == tuple(a.shape):
        return cols, cols, 1
    if (
        b.size == cols
        and all(d == 1 for d in b.shape[:-1])
        and (not b.shape or b.shape[-1] == cols)
    ):
        return cols, 0, 1
    if b.size == 1:
        return cols, 0, 0
    if tuple(b.shape) == tuple(a.shape[:-1]) + (1,):
        return cols, 1, 0  # one value per pixel, shared by its channels
    raise UnsupportedError(
        f"node '{node.name}' ({node.op}): cannot broadcast {b.name}{list(b.shape)} against "
        f"{a.name}{list(a.shape)}; supported: same shape, per channel [C], per pixel "
        "[..., 1], or a scalar"
    )


def emit_binary(kernel: str) -> Emitter:
    def emit(node: ir.Node, em) -> list[KernelCall]:
        a, b = (em.tensor(name) for name in node.inputs[:2])
        if (a.is_const and not b.is_const) or a.size < b.size:
            a, b = b, a  # add and mul commute; the kernel broadcasts b only
        cols, row_stride, col_stride = broadcast_strides(node, a, b)
        params = {"rows": a.size // cols, "cols": cols, "b_row_stride": row_stride}
        params.update(b_col_stride=col_stride, act=act_params(node))
        args = [em.ptr(a.name), em.ptr(b.name), em.out(node)]
        return [KernelCall(kernel, args, "cnnc_f32_binary_params", params)]

    return emit


def emit_scale_shift(node: ir.Node, em) -> list[KernelCall]:
    x = em.tensor(node.inputs[0])
    c = x.shape[-1]
    params = {"rows": x.size // c, "c": c, "act": act_params(node)}
    args = [em.ptr(name) for name in node.inputs[:3]] + [em.out(node)]
    return [KernelCall("cnnc_f32_scale_shift__ref", args, "cnnc_f32_scale_shift_params", params)]


def emit_act(node: ir.Node, em) -> list[KernelCall]:
    params = {"size": em.tensor(node.inputs[0]).size, "act": act_params(node)}
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_f32_act__ref", args, "cnnc_f32_act_params", params)]


def emit_sign(node: ir.Node, em) -> list[KernelCall]:
    params = {"size": em.tensor(node.inputs[0]).size}
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_f32_sign__ref", args, "cnnc_f32_sign_params", params)]


def emit_hard_sigmoid(node: ir.Node, em) -> list[KernelCall]:
    params = {"size": em.tensor(node.inputs[0]).size}
    params.update(alpha=node.attrs["alpha"], beta=node.attrs["beta"])
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_f32_hard_sigmoid__ref", args, "cnnc_f32_hard_sigmoid_params", params)]


def emit_concat(node: ir.Node, em) -> list[KernelCall]:
    y = em.tensor(node.outputs[0])
    axis = node.attrs.get("axis", -1)
    if axis not in (-1, len(y.shape) - 1):
        raise UnsupportedError(
            f"node '{node.name}' (concat): axis {axis} of {list(y.shape)}; only the last "
            "(channel) axis is supported after lowering"
        )
    co, outer, offset, calls = y.shape[-1], y.size // y.shape[-1], 0, []
    for name in node.inputs:
        ci = em.shape(name)[-1]
        params = {"outer": outer, "c_in": ci, "c_out": co, "c_offset": offset}
        args = [em.ptr(name), em.out(node)]
        calls.append(KernelCall("cnnc_f32_concat__ref", args, "cnnc_f32_concat_params", params))
        offset += ci
    return calls


def emit_softmax(node: ir.Node, em) -> list[KernelCall]:
    x = em.tensor(node.inputs[0])
    axis = node.attrs.get("axis", -1)
    if axis not in (-1, len(x.shape) - 1):
        raise UnsupportedError(
            f"node '{node.name}' (softmax): axis {axis} of {list(x.shape)}; only the last axis"
        )
    params = {"outer": x.size // x.shape[-1], "c": x.shape[-1]}
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_f32_softmax__ref", args, "cnnc_f32_softmax_params", params)]


def emit_transpose(node: ir.Node, em) -> list[KernelCall]:
    shape = list(em.shape(node.inputs[0]))
    perm = [int(p) for p in node.attrs["perm"]]
    if len(shape) > 6:
        raise UnsupportedError(f"node '{node.name}' (transpose): rank {len(shape)} > 6")
    pad = 6 - len(shape)
    params = {"rank": len(shape), "in_shape": shape + [1] * pad, "perm": perm + [0] * pad}
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_f32_transpose__ref", args, "cnnc_f32_transpose_params", params)]


def emit_reshape(node: ir.Node, em) -> list[KernelCall]:
    """No code when the planner gave the output the input's buffer; else a copy."""
    src, dst = node.inputs[0], node.outputs[0]
    if em.same_buffer(src, dst):
        return []
    nbytes = em.nbytes(src)
    return [KernelCall("memcpy", [em.out(node), em.ptr(src), str(nbytes)])]


# ---------------------------------------------------------------- report counters


def conv2d_macs(node: ir.Node, graph: ir.Graph) -> int:
    out = graph.tensors[node.outputs[0]]
    _, kh, kw, cg = graph.tensors[node.inputs[1]].shape
    return out.size * kh * kw * cg


def dense_macs(node: ir.Node, graph: ir.Graph) -> int:
    return graph.tensors[node.outputs[0]].size * graph.tensors[node.inputs[1]].shape[1]


# ---------------------------------------------------------------- the table

OPS = table(
    OpDef("conv2d", DOCS["conv2d"], ref_conv2d, emit_conv2d, macs=conv2d_macs),
    OpDef("dense", DOCS["dense"], ref_dense, emit_dense, macs=dense_macs),
    OpDef("maxpool2d", DOCS["maxpool2d"], ref_maxpool2d, emit_pool("cnnc_f32_maxpool__ref")),
    OpDef("avgpool2d", DOCS["avgpool2d"], ref_avgpool2d, emit_pool("cnnc_f32_avgpool__ref")),
    OpDef("global_avgpool", DOCS["global_avgpool"], ref_global_avgpool, emit_global_avgpool),
    OpDef("add", DOCS["add"], ref_add, emit_binary("cnnc_f32_add__ref")),
    OpDef("mul", DOCS["mul"], ref_mul, emit_binary("cnnc_f32_mul__ref")),
    OpDef("scale_shift", DOCS["scale_shift"], ref_scale_shift, emit_scale_shift),
    OpDef("act", DOCS["act"], ref_act, emit_act),
    OpDef("concat", DOCS["concat"], ref_concat, emit_concat),
    OpDef("channel_slice", DOCS["channel_slice"], ref_channel_slice, emit_channel_slice),
    OpDef("softmax", DOCS["softmax"], ref_softmax, emit_softmax),
    OpDef("reshape", DOCS["reshape"], ref_reshape, emit_reshape),
    OpDef("transpose", DOCS["transpose"], ref_transpose, emit_transpose),
    OpDef("hard_sigmoid", DOCS["hard_sigmoid"], ref_hard_sigmoid, emit_hard_sigmoid),
    OpDef("sign", DOCS["sign"], ref_sign, emit_sign),
)
