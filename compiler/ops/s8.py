"""The int8 ops (``s8_*``): NumPy definitions mirroring runtime_c/kernels/s8_*.c bit for bit.

Each op has, here:
  1. a params dataclass whose fields are exactly the C params struct in ``cnnc_s8.h``
     (so tests and emitters fill the struct field by field, by name);
  2. a NumPy function ``<op>_s8(tensors..., p)`` computing the same integers as the C
     ``__ref`` kernel (accumulators are exact: integer products summed in float64 stay
     below 2**53, then checked against the int32 range the C uses);
  3. a reference wrapper that reads the node's attributes into the params
     (``params_for(node, graph)``), its C emitter (kernel choice and weight repacking),
     and its ``OpDef`` row in ``OPS`` at the end. Adding an op: ``docs/adding_an_op.md``.

Quantisation: real = scale * (q - zero_point); weights symmetric per output channel;
requantisation by ``cnnc.ops.requant.requantize`` (the one rounding rule). The lowered ops
added here (documented in ``S8_OPS``) are produced by ``cnnc.passes.quantize``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import ir
from ..errors import CnncError, UnsupportedError
from .opdef import KernelCall, OpDef, table
from .requant import INT32_MAX, INT32_MIN, ROUNDING_CODES, quantize_multiplier, requantize

ADD_LEFT_SHIFT = 20

S8_OPS = {
    "s8_quantize": "x float32 -> q int8 = clamp(rint(x / scale) + zero_point); attrs scale, "
    "zero_point (the model input boundary)",
    "s8_dequantize": "q int8 -> float32 (q - zero_point) * scale; attrs scale, zero_point",
    "s8_conv2d": "x[N,H,W,C] int8, w[Co,KH,KW,C/g] int8, bias[Co] int32, mult[Co] int32, "
    "shift[Co] int32 -> [N,OH,OW,Co] int8; attrs strides, pads, groups, dilations (default "
    "1), x_zero_point, y_zero_point, act_min, act_max, rounding",
    "s8_dense": "x[N,K] int8, w[M,K] int8, bias[M], mult[M], shift[M] int32 -> [N,M] int8; "
    "attrs x_zero_point, y_zero_point, act_min, act_max, rounding",
    "s8_add": "a, b int8 (same shape, own scales) -> int8; attrs a/b/y_zero_point, "
    "left_shift, a_mult, a_shift, b_mult, b_shift, y_mult, y_shift, act_min, act_max, rounding",
    "s8_add_broadcast": "a int8, b int8 broadcast against a (per channel [..,1,1,C], per "
    "pixel [..,1] or scalar; own scales) -> int8 of a's shape, s8_add's arithmetic; attrs "
    "as s8_add",
    "s8_maxpool2d": "x[N,H,W,C] int8 -> [N,OH,OW,C] int8 (same scale); attrs kernel, strides, "
    "pads, zero_point, act_min, act_max",
    "s8_avgpool2d": "x[N,H,W,C] int8 -> [N,OH,OW,C] int8 (same scale); attrs kernel, strides, "
    "pads, count_include_pad, zero_point, act_min, act_max",
    "s8_global_avgpool": "x[N,H,W,C] int8 -> [N,1,1,C] int8; attrs x_zero_point, "
    "y_zero_point, mult, shift, act_min, act_max, rounding",
    "s8_concat": "xs[N,H,W,Ci] int8... -> [N,H,W,sum Ci] int8 at one scale; attrs "
    "x_zero_points, mults, shifts (per input), y_zero_point, rounding",
    "s8_transpose": "x int8 -> x.transpose(perm), same scale; attrs perm",
    "s8_channel_slice": "x[...,C] int8 -> x[..., c_offset:c_offset+C_out], same scale (one "
    "output of a Split along channels); attrs c_offset",
    "s8_mul": "a int8, b int8 (same shape, or broadcast per channel [..,1,1,C], per pixel or "
    "scalar) -> int8 requant((a - a_zp)(b - b_zp), s_a s_b / s_y); attrs a/b/y_zero_point, "
    "mult, shift, act_min, act_max, rounding",
    "s8_softmax": "x[outer, C] int8, exp_table[256] int32 -> softmax over the last axis, "
    "int8 at scale 1/256, zero point -128 (integer only: exp by table, see cnnc_s8.h)",
    "s8_lut": "x int8, table[256] int8 -> y[i] = table[x[i] + 128] (any elementwise "
    "non-linearity: sigmoid, tanh, silu, hard_swish, hard_sigmoid, ...); attrs fn (what the "
    "table computes, for the report)",
}


# --- params (field names and order == the C structs in cnnc_s8.h) -------------------------


@dataclass
class ConvParams:
    n: int
    h: int
    w: int
    c: int
    out_h: int
    out_w: int
    out_c: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    pad_top: int = 0
    pad_left: int = 0
    groups: int = 1
    x_zero_point: int = 0
    y_zero_point: int = 0
    act_min: int = -128
    act_max: int = 127
    rounding: int = 0


@dataclass
class DenseParams:
    n: int
    k: int
    m: int
    x_zero_point: int = 0
    y_zero_point: int = 0
    act_min: int = -128
    act_max: int = 127
    rounding: int = 0


@dataclass
class AddParams:
    size: int
    a_zero_point: int
    b_zero_point: int
    y_zero_point: int
    left_shift: int
    a_mult: int
    a_shift: int
    b_mult: int
    b_shift: int
    y_mult: int
    y_shift: int
    act_min: int = -128
    act_max: int = 127
    rounding: int = 0


@dataclass
class AddBroadcastParams:
    rows: int
    cols: int
    b_row_stride: int
    b_col_stride: int
    a_zero_point: int
    b_zero_point: int
    y_zero_point: int
    left_shift: int
    a_mult: int
    a_shift: int
    b_mult: int
    b_shift: int
    y_mult: int
    y_shift: int
    act_min: int = -128
    act_max: int = 127
    rounding: int = 0


@dataclass
class PoolParams:
    n: int
    h: int
    w: int
    c: int
    out_h: int
    out_w: int
    kernel_h: int
    kernel_w: int
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_left: int = 0
    count_include_pad: int = 0
    zero_point: int = 0
    act_min: int = -128
    act_max: int = 127


@dataclass
class GlobalAvgPoolParams:
    n: int
    hw: int
    c: int
    x_zero_point: int
    y_zero_point: int
    mult: int
    shift: int
    act_min: int = -128
    act_max: int = 127
    rounding: int = 0


@dataclass
class ConcatParams:
    outer: int
    c_in: int
    c_out: int
    c_offset: int
    x_zero_point: int
    y_zero_point: int
    mult: int
    shift: int
    rounding: int = 0


@dataclass
class TransposeParams:
    rank: int
    in_shape: list
    perm: list


@dataclass
class QuantParams:
    size: int
    scale: float
    zero_point: int


@dataclass
class LutParams:
    size: int


@dataclass
class SoftmaxParams:
    outer: int
    c: int


SOFTMAX_SCALE, SOFTMAX_ZERO_POINT = 1.0 / 256, -128
SOFTMAX_MAX_C = 32767  # keeps the row's sum of exp-table entries (each <= 2**16) in int32


@dataclass
class MulParams:
    rows: int
    cols: int
    b_row_stride: int
    b_col_stride: int
    a_zero_point: int
    b_zero_point: int
    y_zero_point: int
    mult: int
    shift: int
    act_min: int = -128
    act_max: int = 127
    rounding: int = 0


C_STRUCTS = {
    LutParams: "cnnc_s8_lut_params",
    MulParams: "cnnc_s8_mul_params",
    SoftmaxParams: "cnnc_s8_softmax_params",
    ConvParams: "cnnc_s8_conv_params",
    DenseParams: "cnnc_s8_dense_params",
    AddParams: "cnnc_s8_add_params",
    AddBroadcastParams: "cnnc_s8_add_broadcast_params",
    PoolParams: "cnnc_s8_pool_params",
    GlobalAvgPoolParams: "cnnc_s8_global_avgpool_params",
    ConcatParams: "cnnc_s8_concat_params",
    TransposeParams: "cnnc_s8_transpose_params",
    QuantParams: "cnnc_s8_quant_params",
}


# --- arithmetic shared by the ops ---------------------------------------------------------


def _exact_int(acc: np.ndarray, where: str) -> np.ndarray:
    """float64 sums of integer products -> int64, checked against C's int32 accumulator."""
    acc = np.rint(acc).astype(np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise CnncError(f"{where}: int32 accumulator overflow ({acc.min()}..{acc.max()})")
    return acc


def _out_s8(acc, mult, shift, rounding: int, zero_point: int, lo: int, hi: int) -> np.ndarray:
    mode = {code: name for name, code in ROUNDING_CODES.items()}.get(rounding, "single")
    y = requantize(acc, mult, shift, mode).astype(np.int64) + zero_point
    return np.ascontiguousarray(np.clip(y, lo, hi), dtype=np.int8)


def _windows(x: np.ndarray, p, fill) -> np.ndarray:
    """[N,H,W,C] -> [N,OH,OW,C,KH,KW] windows of x padded with ``fill`` (shape from p); tap
    (i, j) is input row oy*sh - top + i*dh (dilation 1 where p has no dilation fields)."""
    dh, dw = getattr(p, "dilation_h", 1), getattr(p, "dilation_w", 1)
    span_h, span_w = (p.kernel_h - 1) * dh + 1, (p.kernel_w - 1) * dw + 1
    bottom = max(0, (p.out_h - 1) * p.stride_h + span_h - p.h - p.pad_top)
    right = max(0, (p.out_w - 1) * p.stride_w + span_w - p.w - p.pad_left)
    xp = np.pad(x, ((0, 0), (p.pad_top, bottom), (p.pad_left, right), (0, 0)), constant_values=fill)
    win = sliding_window_view(xp, (span_h, span_w), axis=(1, 2))[..., ::dh, ::dw]
    return win[:, :: p.stride_h, :: p.stride_w][:, : p.out_h, : p.out_w]


def add_multipliers(s_a: float, s_b: float, s_y: float) -> dict[str, int]:
    """The TFLite add scheme's three (multiplier, shift) pairs for AddParams."""
    twice_max = 2.0 * max(s_a, s_b)
    a_mult, a_shift = quantize_multiplier(s_a / twice_max)
    b_mult, b_shift = quantize_multiplier(s_b / twice_max)
    y_mult, y_shift = quantize_multiplier(twice_max / (2**ADD_LEFT_SHIFT * s_y))
    return dict(
        left_shift=ADD_LEFT_SHIFT, a_mult=a_mult, a_shift=a_shift, b_mult=b_mult,
        b_shift=b_shift, y_mult=y_mult, y_shift=y_shift,
    )  # fmt: skip


# --- the ops ------------------------------------------------------------------------------


def conv_s8(x, w, bias, mult, shift, p: ConvParams, where="s8_conv2d") -> np.ndarray:
    """cnnc_s8_conv__ref / _dwconv / _pwconv: x[N,H,W,C], w[Co,KH,KW,C/g] -> [N,OH,OW,Co]."""
    g, cg, og = p.groups, p.c // p.groups, p.out_c // p.groups
    xf = x.astype(np.float64) - p.x_zero_point  # padding taps are x_zero_point: 0 here
    win = _windows(xf, p, 0.0).reshape(p.n, p.out_h, p.out_w, g, cg, p.kernel_h, p.kernel_w)
    wg = w.astype(np.float64).reshape(g, og, p.kernel_h, p.kernel_w, cg)
    acc = np.einsum("nyxgcij,goijc->nyxgo", win, wg, optimize=True)
    acc = _exact_int(acc.reshape(p.n, p.out_h, p.out_w, p.out_c) + bias, where)
    return _out_s8(acc, mult, shift, p.rounding, p.y_zero_point, p.act_min, p.act_max)


def dense_s8(x, w, bias, mult, shift, p: DenseParams, where="s8_dense") -> np.ndarray:
    """cnnc_s8_dense__ref: x[N,K], w[M,K] -> [N,M]."""
    acc = (x.astype(np.float64) - p.x_zero_point) @ w.astype(np.float64).T
    acc = _exact_int(acc + bias, where)
    return _out_s8(acc, mult, shift, p.rounding, p.y_zero_point, p.act_min, p.act_max)


def add_s8(a, b, p: AddParams) -> np.ndarray:
    """cnnc_s8_add__ref: two int8 tensors with their own scales -> int8."""
    if p.rounding == ROUNDING_CODES["onnxruntime"]:
        return add_s8_onnxruntime(a, b, p)
    mode = "double" if p.rounding == ROUNDING_CODES["double"] else "single"
    a_s = requantize((a.astype(np.int64) - p.a_zero_point) << p.left_shift, p.a_mult, p.a_shift,
                     mode)  # fmt: skip
    b_s = requantize((b.astype(np.int64) - p.b_zero_point) << p.left_shift, p.b_mult, p.b_shift,
                     mode)  # fmt: skip
    total = a_s.astype(np.int64) + b_s
    return _out_s8(total, p.y_mult, p.y_shift, p.rounding, p.y_zero_point, p.act_min, p.act_max)


def add_s8_onnxruntime(a, b, p: AddParams) -> np.ndarray:
    """QLinearAdd as onnxruntime computes it: a_mult/b_mult hold the float32 bits of
    M_a = s_a / s_y and M_b = s_b / s_y; y = rne(M_a * (a - za) + M_b * (b - zb)) + zy,
    every operation in float32 (no fused multiply-add), then clamped."""
    ma = np.array(p.a_mult, np.int32).view(np.float32)
    mb = np.array(p.b_mult, np.int32).view(np.float32)
    va = (a.astype(np.int32) - p.a_zero_point).astype(np.float32) * ma
    vb = (b.astype(np.int32) - p.b_zero_point).astype(np.float32) * mb
    v = va + vb
    v = np.where(v > np.float32(-32768), v, np.float32(-32768))  # as cnnc_rne_f32 (NaN too)
    v = np.where(v < np.float32(32767), v, np.float32(32767))
    y = np.rint(v).astype(np.int64) + p.y_zero_point
    return np.clip(y, p.act_min, p.act_max).astype(np.int8)


def maxpool_s8(x, p: PoolParams) -> np.ndarray:
    """cnnc_s8_maxpool__ref: padding never wins (pads are -128, every window has a tap)."""
    y = _windows(x, p, -128).max(axis=(4, 5)).astype(np.int64)
    return np.clip(y, p.act_min, p.act_max).astype(np.int8)


def avgpool_s8(x, p: PoolParams) -> np.ndarray:
    """cnnc_s8_avgpool__ref: sum of (x - zp) / count, ties away from zero, + zp."""
    total = _windows(x.astype(np.int64) - p.zero_point, p, 0).sum(axis=(4, 5))
    if p.count_include_pad:
        count = np.int64(p.kernel_h * p.kernel_w)
    else:
        ones = np.ones((1, p.h, p.w, 1), np.int64)
        count = _windows(ones, p, 0).sum(axis=(4, 5))
    half = count // 2
    avg = np.where(total >= 0, (total + half) // count, -((-total + half) // count))
    return np.clip(avg + p.zero_point, p.act_min, p.act_max).astype(np.int8)


def global_avgpool_s8(x, p: GlobalAvgPoolParams) -> np.ndarray:
    """cnnc_s8_global_avgpool__ref: x[N,HW,C] -> [N,C], requantised by M = s_x/(s_y*HW)."""
    total = (x.reshape(p.n, p.hw, p.c).astype(np.int64) - p.x_zero_point).sum(axis=1)
    return _out_s8(total, p.mult, p.shift, p.rounding, p.y_zero_point, p.act_min, p.act_max)


def concat_part_s8(x, p: ConcatParams) -> np.ndarray:
    """cnnc_s8_concat__ref for one input: x[outer, c_in] requantised to the output scale."""
    return _out_s8(x.astype(np.int64) - p.x_zero_point, p.mult, p.shift, p.rounding,
                   p.y_zero_point, -128, 127)  # fmt: skip


def quantize_s8(x, p: QuantParams) -> np.ndarray:
    """cnnc_s8_quantize__ref: float32 division, NaN -> 0, round half to even."""
    v = np.asarray(x, np.float32) / np.float32(p.scale)
    v = np.clip(np.nan_to_num(v, nan=0.0, posinf=512.0, neginf=-512.0), -512.0, 512.0)
    q = np.rint(v).astype(np.int64) + p.zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize_s8(q, p: QuantParams) -> np.ndarray:
    """cnnc_s8_dequantize__ref: (float)(q - zero_point) * scale in float32."""
    return (q.astype(np.int32) - p.zero_point).astype(np.float32) * np.float32(p.scale)


def lut_s8(x, table) -> np.ndarray:
    """cnnc_s8_lut__ref: y = table[x + 128]."""
    return np.ascontiguousarray(np.asarray(table, np.int8)[x.astype(np.int64) + 128])


def mul_s8(a, b, p: MulParams) -> np.ndarray:
    """cnnc_s8_mul__ref, with b broadcast against a by NumPy's rules (the strides in p
    are the C's view of the same broadcast)."""
    prod = (a.astype(np.int64) - p.a_zero_point) * (b.astype(np.int64) - p.b_zero_point)
    return _out_s8(prod, p.mult, p.shift, p.rounding, p.y_zero_point, p.act_min, p.act_max)


def mul_params(node: ir.Node, graph: ir.Graph) -> MulParams:
    from .f32 import broadcast_strides

    a, b = (graph.tensors[n] for n in node.inputs[:2])
    cols, row_stride, col_stride = broadcast_strides(node, a, b)
    at = node.attrs
    return MulParams(a.size // cols, cols, row_stride, col_stride, at["a_zero_point"],
                     at["b_zero_point"], at["y_zero_point"], at["mult"], at["shift"],
                     **_act_range(node), rounding=_rounding(node))  # fmt: skip


def softmax_exp_table(x_scale: float) -> np.ndarray:
    """exp_table[i] = round(65536 * exp(s_x * (i - 255))), int32 [256] (cnnc_s8.h)."""
    d = np.arange(-255, 1, dtype=np.float64)
    return np.rint(65536.0 * np.exp(x_scale * d)).astype(np.int32)


def softmax_s8(x, table, p: SoftmaxParams) -> np.ndarray:
    """cnnc_s8_softmax__ref over x[outer, c]: the same integers (C's / truncates toward
    zero; every operand here is >= 0, so it is floor division)."""
    x = x.reshape(p.outer, p.c).astype(np.int64)
    e = np.asarray(table, np.int64)[255 + x - x.max(axis=1, keepdims=True)]
    total = e.sum(axis=1, keepdims=True)
    q = (e * 256 + total // 2) // total
    return (np.minimum(q, 255) - 128).astype(np.int8)


def lut_table(fn, x_scale: float, x_zero_point: int, y_scale: float, y_zero_point: int):
    """The 256-entry table of ``fn`` (float32 in, float32 out: the float reference of the
    op) between two int8 domains: table[q + 128] = clamp(rint(fn(s_x (q - z_x)) / s_y) + z_y).
    Built once at compile time; the C and the reference both only read it."""
    q = np.arange(-128, 128, dtype=np.int64)
    x = ((q - x_zero_point).astype(np.float32) * np.float32(x_scale)).astype(np.float32)
    y = np.asarray(fn(x), np.float64)
    v = np.rint(np.nan_to_num(y / y_scale, nan=0.0, posinf=512.0, neginf=-512.0))
    return np.clip(np.clip(v, -512, 512).astype(np.int64) + y_zero_point, -128, 127).astype(np.int8)


# --- graph nodes -> params ----------------------------------------------------------------


def _rounding(node: ir.Node) -> int:
    return ROUNDING_CODES[node.attrs.get("rounding", "single")]


def _act_range(node: ir.Node) -> dict[str, int]:
    return {"act_min": node.attrs.get("act_min", -128), "act_max": node.attrs.get("act_max", 127)}


def _window_geometry(node: ir.Node, graph: ir.Graph) -> dict[str, int]:
    """The fields ConvParams and PoolParams share: NHWC in/out sizes, strides, top/left pads."""
    n, h, w, c = graph.tensors[node.inputs[0]].shape
    _, oh, ow, _ = graph.tensors[node.outputs[0]].shape
    sh, sw = node.attrs.get("strides", (1, 1))
    top, left = node.attrs.get("pads", (0, 0, 0, 0))[:2]
    return dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, stride_h=sh, stride_w=sw, pad_top=top,
                pad_left=left)  # fmt: skip


def conv_params(node: ir.Node, graph: ir.Graph) -> ConvParams:
    oc, kh, kw, _ = graph.tensors[node.inputs[1]].shape
    a = node.attrs
    dh, dw = a.get("dilations", (1, 1))
    return ConvParams(**_window_geometry(node, graph), out_c=oc, kernel_h=kh, kernel_w=kw,
                      dilation_h=int(dh), dilation_w=int(dw),
                      groups=a.get("groups", 1), x_zero_point=a["x_zero_point"],
                      y_zero_point=a["y_zero_point"], **_act_range(node),
                      rounding=_rounding(node))  # fmt: skip


def dense_params(node: ir.Node, graph: ir.Graph) -> DenseParams:
    m, k = graph.tensors[node.inputs[1]].shape
    n = graph.tensors[node.inputs[0]].size // k
    a = node.attrs
    return DenseParams(n, k, m, a["x_zero_point"], a["y_zero_point"], **_act_range(node),
                       rounding=_rounding(node))  # fmt: skip


def add_params(node: ir.Node, graph: ir.Graph) -> AddParams:
    a = dict(node.attrs)
    names = [f.name for f in fields(AddParams)]
    a["size"] = graph.tensors[node.outputs[0]].size
    a["rounding"] = _rounding(node)
    a.setdefault("act_min", -128)
    a.setdefault("act_max", 127)
    return AddParams(**{k: a[k] for k in names})


def add_broadcast_params(node: ir.Node, graph: ir.Graph) -> AddBroadcastParams:
    """s8_add_broadcast: a is the larger input, b is read with the strides of s8_mul."""
    from .f32 import broadcast_strides

    a, b = (graph.tensors[n] for n in node.inputs[:2])
    cols, row_stride, col_stride = broadcast_strides(node, a, b)
    p = add_params(node, graph)
    values = {f.name: getattr(p, f.name) for f in fields(AddParams) if f.name != "size"}
    return AddBroadcastParams(a.size // cols, cols, row_stride, col_stride, **values)


def pool_params(node: ir.Node, graph: ir.Graph) -> PoolParams:
    kh, kw = node.attrs["kernel"]
    a = node.attrs
    return PoolParams(**_window_geometry(node, graph), kernel_h=kh, kernel_w=kw,
                      count_include_pad=int(a.get("count_include_pad", 0)),
                      zero_point=a["zero_point"], **_act_range(node))  # fmt: skip


def global_avgpool_params(node: ir.Node, graph: ir.Graph) -> GlobalAvgPoolParams:
    n, h, w, c = graph.tensors[node.inputs[0]].shape
    a = node.attrs
    return GlobalAvgPoolParams(n, h * w, c, a["x_zero_point"], a["y_zero_point"], a["mult"],
                               a["shift"], **_act_range(node),
                               rounding=_rounding(node))  # fmt: skip


def concat_params(node: ir.Node, graph: ir.Graph) -> list[ConcatParams]:
    y_shape = graph.tensors[node.outputs[0]].shape
    outer, c_out = int(np.prod(y_shape[:-1])), y_shape[-1]
    a, offset, parts = node.attrs, 0, []
    for i, name in enumerate(node.inputs):
        c_in = graph.tensors[name].shape[-1]
        parts.append(ConcatParams(outer, c_in, c_out, offset, a["x_zero_points"][i],
                                  a["y_zero_point"], a["mults"][i], a["shifts"][i],
                                  _rounding(node)))  # fmt: skip
        offset += c_in
    return parts


def transpose_params(node: ir.Node, graph: ir.Graph) -> TransposeParams:
    shape = list(graph.tensors[node.inputs[0]].shape)
    perm = [int(a) for a in node.attrs["perm"]]
    if not 1 <= len(shape) <= 6:
        raise UnsupportedError(f"node '{node.name}' (s8_transpose): rank {len(shape)} outside 1..6")
    pad = 6 - len(shape)
    return TransposeParams(len(shape), shape + [1] * pad, perm + list(range(len(perm), 6)))


def quant_params(node: ir.Node, graph: ir.Graph) -> QuantParams:
    return QuantParams(graph.tensors[node.inputs[0]].size, float(node.attrs["scale"]),
                       int(node.attrs["zero_point"]))  # fmt: skip


# --- reference ops -----------------------------------------------------------------------
# The reference runs a batch (any leading N, as cnnc.reference does); the graph's tensors
# hold one sample, so each wrapper takes N from its input.


def _ref_conv(node, graph, inputs):
    x, w, bias, mult, shift = inputs
    p = conv_params(node, graph)
    p.n = x.shape[0]
    return [conv_s8(x, w, bias, mult, shift, p, f"node '{node.name}'")]


def _ref_dense(node, graph, inputs):
    x, w, bias, mult, shift = inputs
    p = dense_params(node, graph)
    p.n = x.shape[0]
    return [dense_s8(x.reshape(p.n, p.k), w, bias, mult, shift, p, f"node '{node.name}'")]


def _ref_add(node, graph, inputs):
    p = add_params(node, graph)
    p.size = inputs[0].size
    return [add_s8(inputs[0], inputs[1], p)]


def _ref_add_broadcast(node, graph, inputs):
    a, b = inputs
    if b.ndim == a.ndim - 1 or b.ndim <= 1:  # [C] or scalar: broadcast over the batch too
        b = b.reshape((1,) * (a.ndim - b.ndim) + b.shape)
    p = add_params(node, graph)
    p.size = a.size
    return [np.ascontiguousarray(np.broadcast_to(add_s8(a, b, p), a.shape))]


def _ref_pool(pool_s8):
    def ref(node, graph, inputs):
        p = pool_params(node, graph)
        p.n = inputs[0].shape[0]
        return [pool_s8(inputs[0], p)]

    return ref


def _ref_global_avgpool(node, graph, inputs):
    p = global_avgpool_params(node, graph)
    p.n = inputs[0].shape[0]
    return [global_avgpool_s8(inputs[0], p).reshape(p.n, 1, 1, p.c)]


def _ref_concat(node, graph, inputs):
    batch = inputs[0].shape[0]
    outs = []
    for x, p in zip(inputs, concat_params(node, graph), strict=True):
        p.outer = x.size // p.c_in
        outs.append(concat_part_s8(x.reshape(p.outer, p.c_in), p))
    shape = (batch, *graph.tensors[node.outputs[0]].shape[1:])
    return [np.concatenate(outs, axis=1).reshape(shape)]


def _ref_quantize(node, graph, inputs):
    return [quantize_s8(inputs[0], quant_params(node, graph))]


def _ref_dequantize(node, graph, inputs):
    return [dequantize_s8(inputs[0], quant_params(node, graph))]


def _ref_transpose(node, graph, inputs):
    return [np.ascontiguousarray(inputs[0].transpose(node.attrs["perm"]))]


def _ref_lut(node, graph, inputs):
    return [lut_s8(inputs[0], inputs[1])]


def _ref_softmax(node, graph, inputs):
    x, table = inputs
    c = x.shape[-1]
    return [softmax_s8(x, table, SoftmaxParams(x.size // c, c)).reshape(x.shape)]


def _ref_mul(node, graph, inputs):
    a, b = inputs
    if b.ndim == a.ndim - 1 or b.ndim <= 1:  # [C] or scalar: broadcast over the batch too
        b = b.reshape((1,) * (a.ndim - b.ndim) + b.shape)
    return [mul_s8(a, b, mul_params(node, graph))]


def _ref_channel_slice(node, graph, inputs):
    c0, c = node.attrs["c_offset"], graph.tensors[node.outputs[0]].shape[-1]
    return [np.ascontiguousarray(inputs[0][..., c0 : c0 + c])]


def _emit_channel_slice(node, em):
    from .f32 import slice_params  # the same copy of bytes, one byte per value

    args = [em.ptr(node.inputs[0]), em.out(node)]
    params = slice_params(node, em)
    return [KernelCall("cnnc_s8_slice__ref", args, "cnnc_s8_slice_params", params)]


S8_REFERENCE_OPS = {
    "s8_channel_slice": _ref_channel_slice,
    "s8_softmax": _ref_softmax,
    "s8_mul": _ref_mul,
    "s8_lut": _ref_lut,
    "s8_transpose": _ref_transpose,
    "s8_conv2d": _ref_conv,
    "s8_dense": _ref_dense,
    "s8_add": _ref_add,
    "s8_add_broadcast": _ref_add_broadcast,
    "s8_maxpool2d": _ref_pool(maxpool_s8),
    "s8_avgpool2d": _ref_pool(avgpool_s8),
    "s8_global_avgpool": _ref_global_avgpool,
    "s8_concat": _ref_concat,
    "s8_quantize": _ref_quantize,
    "s8_dequantize": _ref_dequantize,
}


# --- C emitters ---------------------------------------------------------------------------

ROUNDING_ENUM = {0: "CNNC_ROUND_SINGLE", 1: "CNNC_ROUND_DOUBLE", 2: "CNNC_ROUND_ONNXRUNTIME"}


def _c_params(params) -> dict:
    values = {f.name: getattr(params, f.name) for f in fields(params)}
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
    if "rounding" in values:
        values["rounding"] = ROUNDING_ENUM[values["rounding"]]
    return values


# Weight layouts the C kernels read (the IR holds conv [Co,KH,KW,C/g], dense [M,K]); the
# emitters store these repacked copies in the blob, the NumPy definitions use the IR's.
PACKED_LAYOUTS = {
    "cnnc_s8_conv__ref": "[G,KH,KW,C/G,Co/G]",
    "cnnc_s8_dwconv__ref": "[KH,KW,C]",
    "cnnc_s8_pwconv__ref": "[C,Co]",
    "cnnc_s8_dense__ref": "[K,M]",
}


def pack_weights(kernel: str, w: np.ndarray, groups: int = 1) -> np.ndarray:
    """IR-layout int8 weights -> the layout ``kernel`` reads (PACKED_LAYOUTS)."""
    if kernel == "cnnc_s8_conv__ref":
        co, kh, kw, cg = w.shape
        packed = w.reshape(groups, co // groups, kh, kw, cg).transpose(0, 2, 3, 4, 1)
    elif kernel == "cnnc_s8_dwconv__ref":
        packed = w[..., 0].transpose(1, 2, 0)
    elif kernel == "cnnc_s8_pwconv__ref":
        packed = w[:, 0, 0, :].T
    elif kernel == "cnnc_s8_dense__ref":
        packed = w.T
    else:
        raise CnncError(f"pack_weights: no packed layout for kernel {kernel}")
    return np.ascontiguousarray(packed)


def s8_conv_kernel(p: ConvParams) -> str:
    """The specialised int8 conv kernel whose preconditions hold, else the general one."""
    one = p.kernel_h == p.kernel_w == p.stride_h == p.stride_w == 1
    if p.groups == 1 and one and p.pad_top == p.pad_left == 0 and p.dilation_h == p.dilation_w == 1:
        return "cnnc_s8_pwconv__ref"
    if p.groups == p.c == p.out_c:
        return "cnnc_s8_dwconv__ref"
    return "cnnc_s8_conv__ref"


def _call(fn, args, params):
    return KernelCall(fn, args, C_STRUCTS[type(params)], _c_params(params))


def _emit_weighted(params_for, kernel_for):
    def emit(node, em):
        p = params_for(node, em.graph)
        kernel = kernel_for(p)
        w_name = node.inputs[1]
        w = pack_weights(kernel, em.tensor(w_name).data, getattr(p, "groups", 1))
        args = [em.ptr(node.inputs[0]), em.packed(w_name, PACKED_LAYOUTS[kernel], w)]
        args += [em.ptr(name) for name in node.inputs[2:5]] + [em.out(node)]
        return [_call(kernel, args, p)]

    return emit


def _emit_simple(kernel, params_for):
    def emit(node, em):
        p = params_for(node, em.graph)
        args = [em.ptr(name) for name in node.inputs] + [em.out(node)]
        return [_call(kernel, args, p)]

    return emit


def _emit_concat(node, em):
    return [
        _call("cnnc_s8_concat__ref", [em.ptr(name), em.out(node)], p)
        for name, p in zip(node.inputs, concat_params(node, em.graph), strict=True)
    ]


S8_EMITTERS = {
    "s8_channel_slice": _emit_channel_slice,
    "s8_softmax": _emit_simple(
        "cnnc_s8_softmax__ref",
        lambda node, g: SoftmaxParams(
            g.tensors[node.inputs[0]].size // g.tensors[node.inputs[0]].shape[-1],
            g.tensors[node.inputs[0]].shape[-1],
        ),
    ),
    "s8_mul": _emit_simple("cnnc_s8_mul__ref", mul_params),
    "s8_lut": _emit_simple(
        "cnnc_s8_lut__ref", lambda node, g: LutParams(g.tensors[node.inputs[0]].size)
    ),
    "s8_conv2d": _emit_weighted(conv_params, s8_conv_kernel),
    "s8_dense": _emit_weighted(dense_params, lambda p: "cnnc_s8_dense__ref"),
    "s8_add": _emit_simple("cnnc_s8_add__ref", add_params),
    "s8_add_broadcast": _emit_simple("cnnc_s8_add_broadcast__ref", add_broadcast_params),
    "s8_maxpool2d": _emit_simple("cnnc_s8_maxpool__ref", pool_params),
    "s8_avgpool2d": _emit_simple("cnnc_s8_avgpool__ref", pool_params),
    "s8_global_avgpool": _emit_simple("cnnc_s8_global_avgpool__ref", global_avgpool_params),
    "s8_concat": _emit_concat,
    "s8_transpose": _emit_simple("cnnc_s8_transpose__ref", transpose_params),
    "s8_quantize": _emit_simple("cnnc_s8_quantize__ref", quant_params),
    "s8_dequantize": _emit_simple("cnnc_s8_dequantize__ref", quant_params),
}


# ---------------------------------------------------------------- the table


def _macs_like(op: str):
    """An int8 op does the multiply-accumulates of its float32 op."""
    from .f32 import conv2d_macs, dense_macs

    return {"conv2d": conv2d_macs, "dense": dense_macs}[op]


OPS = table(
    *(
        OpDef(
            name,
            doc,
            S8_REFERENCE_OPS[name],
            S8_EMITTERS[name],
            macs={"s8_conv2d": _macs_like("conv2d"), "s8_dense": _macs_like("dense")}.get(name),
        )
        for name, doc in S8_OPS.items()
    )
)
