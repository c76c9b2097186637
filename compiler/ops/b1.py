"""Binary (XNOR-Net) ops: NumPy mirrors of runtime_c/kernels/b1_*.c, their C emitters and
report counters, one ``OpDef`` each in ``OPS`` at the end. The rewrite that produces them
is ``cnnc.passes.binarize``; adding an op: ``docs/adding_an_op.md``.

Packed tensors (``Tensor.dtype == "b1"``) keep their logical NHWC shape in the IR; their
values in the reference are uint32 arrays ``[..., words(C)]`` (see ``bitpack.py``).

The ops (inputs in order; ``thr`` int32 [Co]; ``mul``/``bias`` float32 [Co]):
  b1_pack      x[..., C] float32                        -> packed [..., C]   (x < 0 -> -1)
               or int8 (attr zero_point, scale > 0): q < zero_point -> -1
  b1_conv2d    x packed [N,H,W,Ci], w packed [Co,KH,KW,words(Ci/g)], thr | mul, bias
               -> packed [N,OH,OW,Co] (attrs out="b1"), float32 (out="float32") or int8
               (out="int8": the float32 value quantised with out_scale, out_zero_point)
               attrs strides, pads (top, left, bottom, right), groups, pad_one,
               act_min, act_max (float output clamp)
  b1_dense     x packed [N,K], w packed [M, words(K)], thr | mul, bias -> like b1_conv2d
  b1_maxpool2d x packed [N,H,W,C] -> packed [N,OH,OW,C]; attrs kernel, strides, pads
  b1_s8conv2d  x int8 [N,H,W,C], w int8 [Co,KH,KW,C], thr int32 [Co] -> packed [N,OH,OW,Co]:
               bit 1 where sum (x - x_zero_point) * w < thr (an int8 conv and the sign of
               its output in one, ``binarize.fuse_int8``); attrs strides, pads, x_zero_point
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import ir
from ..errors import ShapeError
from .bitpack import pack_bits, popcount, unpack_bits, words
from .opdef import KernelCall, OpDef, table

B1_OPS: dict[str, str] = {
    "b1_pack": "x[...,C] float32 -> packed bits (x < 0 -> bit 1 = -1)",
    "b1_conv2d": "x b1[N,H,W,Ci], w packed[Co,KH,KW,words(Ci/g)], thr[Co] | mul[Co], bias[Co] "
    "-> b1 or float32 [N,OH,OW,Co]; attrs strides, pads, groups, pad_one, out, act_min/max",
    "b1_dense": "x b1[N,K], w packed[M,words(K)], thr[M] | mul[M], bias[M] -> b1 or float32",
    "b1_maxpool2d": "x b1[N,H,W,C] -> b1[N,OH,OW,C] (AND of bits over valid taps)",
    "b1_s8conv2d": "x int8[N,H,W,C], w int8[Co,KH,KW,C], thr[Co] -> b1[N,OH,OW,Co]: bit 1 "
    "where sum (x - x_zero_point) * w < thr; attrs strides, pads, x_zero_point",
}

BATCH_CHUNK = 64  # samples per step of the NumPy conv, bounds the XOR temporaries' memory


# ---------------------------------------------------------------- kernels (NumPy mirrors)


def _tail_mask(channels: int) -> np.ndarray:
    """uint32 [words(C)]: all ones, except the unused tail bits of the last word."""
    mask = np.full(words(channels), 0xFFFFFFFF, dtype=np.uint32)
    tail = channels - 32 * (words(channels) - 1)
    if tail < 32:
        mask[-1] = np.uint32((1 << tail) - 1)
    return mask


def regroup(xp: np.ndarray, channels: int, groups: int) -> np.ndarray:
    """Packed [..., words(C)] -> [..., groups, words(C/groups)], each group from bit 0.

    The C kernel reads the same bits in place through a shifted window; here we repack.
    """
    if groups == 1:
        return (xp & _tail_mask(channels))[..., None, :]
    bits = unpack_bits(xp, channels)
    return pack_bits(bits.reshape(*bits.shape[:-1], groups, channels // groups))


def conv_dot(
    xp: np.ndarray,
    channels: int,
    wp: np.ndarray,
    strides,
    pads,
    groups: int = 1,
    pad_one: bool = False,
    out_hw: tuple[int, int] | None = None,
) -> np.ndarray:
    """Binary conv dots: packed x[N,H,W,words(C)], packed w[Co,KH,KW,words(C/g)] -> int32.

    dot = K - 2 * popcount(a XOR w) over the taps that are not padding (zero padding: K
    counts only valid taps), or over every tap with padded taps +1 (``pad_one``).
    """
    n, h, wd, _ = xp.shape
    co, kh, kw, wg = wp.shape
    sh, sw = strides
    top, left, bottom, right = pads
    cg = channels // groups
    if cg * groups != channels or co % groups or wg != words(cg):
        raise ShapeError(
            f"b1 conv: {channels} input channels, packed weight {list(wp.shape)} and "
            f"groups={groups} disagree"
        )
    oh = (h + top + bottom - kh) // sh + 1 if out_hw is None else out_hw[0]
    ow = (wd + left + right - kw) // sw + 1 if out_hw is None else out_hw[1]
    extra_h = max((oh - 1) * sh + kh - (h + top + bottom), 0)
    extra_w = max((ow - 1) * sw + kw - (wd + left + right), 0)
    pad_hw = ((top, bottom + extra_h), (left, right + extra_w))
    valid = np.pad(np.ones((h, wd), np.int32), pad_hw)  # 1 on input pixels, 0 on padding
    w_g = wp.reshape(groups, co // groups, kh, kw, wg)
    out = np.empty((n, oh, ow, co), np.int32)
    for start in range(0, n, BATCH_CHUNK):
        xg = regroup(xp[start : start + BATCH_CHUNK], channels, groups)  # [b,H,W,g,wg]
        xg = np.pad(xg, ((0, 0), *pad_hw, (0, 0), (0, 0)))  # padded words are 0 (= +1)
        acc = np.zeros((xg.shape[0], oh, ow, groups, co // groups), np.int32)
        k = np.zeros((oh, ow), np.int32)
        for i in range(kh):  # a loop over kernel taps only; each step is one batched XOR
            for j in range(kw):
                rows = slice(i, i + sh * (oh - 1) + 1, sh)
                cols = slice(j, j + sw * (ow - 1) + 1, sw)
                xs = xg[:, rows, cols]  # [b,OH,OW,g,wg]
                tap = popcount(xs[:, :, :, :, None, :] ^ w_g[:, :, i, j, :]).sum(-1)
                v = np.ones((oh, ow), np.int32) if pad_one else valid[rows, cols]
                acc += tap * v[None, :, :, None, None]
                k += v * cg
        dot = k[None, :, :, None, None] - 2 * acc
        out[start : start + BATCH_CHUNK] = dot.reshape(-1, oh, ow, co)
    return out


def dense_dot(xp: np.ndarray, in_k: int, wp: np.ndarray) -> np.ndarray:
    """Binary dense dots: packed x[N,words(K)], packed w[M,words(K)] -> int32 [N,M]."""
    if xp.shape[-1] != words(in_k) or wp.shape[-1] != words(in_k):
        raise ShapeError(
            f"b1 dense: K={in_k} needs {words(in_k)} words, got x {list(xp.shape)} and "
            f"w {list(wp.shape)}"
        )
    xm = xp & _tail_mask(in_k)
    return (in_k - 2 * popcount(xm[:, None, :] ^ wp[None, :, :]).sum(-1)).astype(np.int32)


def bits_transform(dot: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """dot[..., C] -> packed bits: bit 1 (-1) where dot < thresholds[c]."""
    return pack_bits(dot < thresholds.astype(np.int32))


def f32_transform(dot, multiplier, bias, act_min=-np.inf, act_max=np.inf) -> np.ndarray:
    """dot[..., C] -> float32 clamp(dot * multiplier[c] + bias[c]), rounding as the C does."""
    y = dot.astype(np.float32) * multiplier.astype(np.float32)  # one float32 rounding
    y = y + bias.astype(np.float32)  # and one more: the C never fuses them
    return np.clip(y, np.float32(act_min), np.float32(act_max)).astype(np.float32)


def maxpool_bits(xp: np.ndarray, channels: int, kernel, strides, pads, out_hw=None):
    """Binary max pool on packed x[N,H,W,words(C)]: AND of bits over the valid taps."""
    n, h, wd, nw = xp.shape
    kh, kw = kernel
    sh, sw = strides
    top, left, bottom, right = pads
    oh = (h + top + bottom - kh) // sh + 1 if out_hw is None else out_hw[0]
    ow = (wd + left + right - kw) // sw + 1 if out_hw is None else out_hw[1]
    extra_h = max((oh - 1) * sh + kh - (h + top + bottom), 0)
    extra_w = max((ow - 1) * sw + kw - (wd + left + right), 0)
    pad = ((0, 0), (top, bottom + extra_h), (left, right + extra_w), (0, 0))
    xpad = np.pad(xp, pad, constant_values=np.uint32(0xFFFFFFFF))  # AND identity = ignored
    out = np.full((n, oh, ow, nw), 0xFFFFFFFF, np.uint32)
    for i in range(kh):
        for j in range(kw):
            out &= xpad[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]
    return out & _tail_mask(channels)


# ---------------------------------------------------------------- reference ops


def _channels(graph: ir.Graph, name: str) -> int:
    return int(graph.tensors[name].shape[-1])


def _transform(node: ir.Node, dot: np.ndarray, params: list[np.ndarray]) -> np.ndarray:
    a = node.attrs
    if a.get("out", "b1") == "b1":
        return bits_transform(dot, params[0])
    lo, hi = a.get("act_min", -np.inf), a.get("act_max", np.inf)
    y = f32_transform(dot, params[0], params[1], lo, hi)
    if a["out"] == "int8":  # the int8 boundary's own rounding (cnnc_s8_quantize__ref)
        from .s8 import QuantParams, quantize_s8

        return quantize_s8(y, QuantParams(y.size, a["out_scale"], a["out_zero_point"]))
    return y


def ref_b1_pack(node, graph, inputs):
    x = np.asarray(inputs[0])
    if graph.tensors[node.inputs[0]].dtype == "int8":
        return [pack_bits(x.astype(np.int32) < node.attrs["zero_point"])]
    return [pack_bits(x < 0)]


def ref_b1_conv2d(node, graph, inputs):
    """A 2-D output [N, M] is a dense over a flattened NHWC input: one window covering it."""
    a = node.attrs
    out_shape = graph.tensors[node.outputs[0]].shape
    out_hw = out_shape[1:3] if len(out_shape) == 4 else (1, 1)
    dot = conv_dot(
        inputs[0],
        _channels(graph, node.inputs[0]),
        inputs[1],
        a["strides"],
        a["pads"],
        a.get("groups", 1),
        bool(a.get("pad_one", 0)),
        out_hw,
    )
    if len(out_shape) != 4:
        dot = dot.reshape(dot.shape[0], out_shape[-1])
    return [_transform(node, dot, inputs[2:])]


def ref_b1_dense(node, graph, inputs):
    dot = dense_dot(inputs[0], _channels(graph, node.inputs[0]), inputs[1])
    return [_transform(node, dot, inputs[2:])]


def ref_b1_maxpool2d(node, graph, inputs):
    a = node.attrs
    out_hw = graph.tensors[node.outputs[0]].shape[1:3]
    c = _channels(graph, node.inputs[0])
    return [maxpool_bits(inputs[0], c, a["kernel"], a["strides"], a["pads"], out_hw)]


def s8conv_params(node: ir.Node, graph: ir.Graph) -> dict:
    """The fields of cnnc_b1_s8conv_params (groups and dilation 1: fuse_int8's condition)."""
    n, h, w, c = graph.tensors[node.inputs[0]].shape
    co, kh, kw, _ = graph.tensors[node.inputs[1]].shape
    _, oh, ow, _ = graph.tensors[node.outputs[0]].shape
    a = node.attrs
    return {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": kh, "kernel_w": kw, "stride_h": a["strides"][0], "stride_w": a["strides"][1],
        "dilation_h": 1, "dilation_w": 1, "pad_top": a["pads"][0], "pad_left": a["pads"][1],
        "groups": 1, "x_zero_point": int(a["x_zero_point"]),
    }  # fmt: skip


def s8conv_dot(x: np.ndarray, w: np.ndarray, p: dict) -> np.ndarray:
    """int32 [N,OH,OW,Co]: sum over taps of (x - x_zero_point) * w, padded taps 0 (exact:
    integer products summed in float64 stay far below 2**53)."""
    from .s8 import ConvParams, _windows

    cp = ConvParams(**p)  # the geometry fields and x_zero_point are ConvParams fields too
    cp.n = x.shape[0]
    win = _windows(x.astype(np.float64) - cp.x_zero_point, cp, 0.0)  # [N,OH,OW,C,KH,KW]
    acc = np.einsum("nyxcij,oijc->nyxo", win, w.astype(np.float64), optimize=True)
    return np.rint(acc).astype(np.int64)


def ref_b1_s8conv2d(node, graph, inputs):
    x, w, thr = inputs
    dot = s8conv_dot(np.asarray(x), w, s8conv_params(node, graph))
    return [pack_bits(dot < thr.astype(np.int64))]


B1_REFERENCE: dict[str, Callable] = {
    "b1_pack": ref_b1_pack,
    "b1_conv2d": ref_b1_conv2d,
    "b1_dense": ref_b1_dense,
    "b1_maxpool2d": ref_b1_maxpool2d,
    "b1_s8conv2d": ref_b1_s8conv2d,
}


# ---------------------------------------------------------------- cost (for the report)


def _const_bytes(graph: ir.Graph, names: list[str]) -> int:
    return sum(graph.tensors[n].data.nbytes for n in names if graph.const(n) is not None)


def op_cost(node: ir.Node, graph: ir.Graph) -> tuple[int, int, int]:
    """(macs, bops, weight_bytes) of a b1_* node, for C's report.

    A binary conv's BOPs are out_elements * KH*KW*Ci/g (one XNOR+popcount lane each),
    counted apart from MACs; weight bytes are the packed words plus thresholds or
    multiplier/bias.
    """
    wbytes = _const_bytes(graph, node.inputs[1:])
    if node.op in ("b1_conv2d", "b1_dense"):
        out = graph.tensors[node.outputs[0]]
        w = graph.tensors[node.inputs[1]]
        cin = _channels(graph, node.inputs[0])
        groups = node.attrs.get("groups", 1)
        taps = int(np.prod(w.shape[1:-1], dtype=np.int64)) if node.op == "b1_conv2d" else 1
        per_out = taps * (cin // groups)
        return 0, int(out.size) * per_out, wbytes
    return 0, 0, wbytes


# ---------------------------------------------------------------- C emitters


def _out_hw(shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[1], shape[2]) if len(shape) == 4 else (1, 1)


def emit_b1_pack(node: ir.Node, em) -> list:
    x = em.tensor(node.inputs[0])
    params = {"rows": x.size // x.shape[-1], "c": x.shape[-1]}
    fn = "cnnc_b1_pack__ref"
    if x.dtype == "int8":
        fn, params["zero_point"] = "cnnc_b1_pack_s8__ref", node.attrs["zero_point"]
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall(fn, args, "cnnc_b1_pack_params", params)]


def _transform_args(node: ir.Node, em) -> tuple[str, list[str], dict]:
    """Kernel suffix, pointer args and clamp fields of the node's output transform."""
    a = node.attrs
    if a.get("out", "b1") == "b1":
        return "bits", [em.ptr(node.inputs[2])], {}
    clamp = {"act_min": a.get("act_min", -np.inf), "act_max": a.get("act_max", np.inf)}
    if a["out"] == "int8":
        clamp.update(out_scale=a["out_scale"], out_zero_point=a["out_zero_point"])
    suffix = "s8" if a["out"] == "int8" else "f32"
    return suffix, [em.ptr(node.inputs[2]), em.ptr(node.inputs[3])], clamp


def emit_b1_conv2d(node: ir.Node, em) -> list:
    n, h, w, c = em.shape(node.inputs[0])
    out = em.shape(node.outputs[0])
    co, kh, kw, _ = em.shape(node.inputs[1])
    oh, ow = _out_hw(out)
    a = node.attrs
    params = {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": kh, "kernel_w": kw, "stride_h": a["strides"][0], "stride_w": a["strides"][1],
        "dilation_h": 1, "dilation_w": 1,
        "pad_top": a["pads"][0], "pad_left": a["pads"][1], "groups": a.get("groups", 1),
        "pad_one": int(a.get("pad_one", 0)),
    }  # fmt: skip
    suffix, targs, clamp = _transform_args(node, em)
    params.update(clamp or {"act_min": -np.inf, "act_max": np.inf})
    args = [em.ptr(node.inputs[0]), em.ptr(node.inputs[1]), *targs, em.out(node)]
    # the bits kernel is the hot one: its ISA variant is picked at compile time (cnnc_b1.h)
    fn = f"cnnc_b1_conv_{suffix}__ref"
    return [KernelCall(fn, args, "cnnc_b1_conv_params", params)]


def emit_b1_dense(node: ir.Node, em) -> list:
    k = em.shape(node.inputs[0])[-1]
    m = em.shape(node.inputs[1])[0]
    params = {"n": em.tensor(node.inputs[0]).size // k, "k": k, "m": m}
    suffix, targs, clamp = _transform_args(node, em)
    params.update(clamp or {"act_min": -np.inf, "act_max": np.inf})
    args = [em.ptr(node.inputs[0]), em.ptr(node.inputs[1]), *targs, em.out(node)]
    return [KernelCall(f"cnnc_b1_dense_{suffix}__ref", args, "cnnc_b1_dense_params", params)]


def emit_b1_maxpool2d(node: ir.Node, em) -> list:
    n, h, w, c = em.shape(node.inputs[0])
    _, oh, ow, _ = em.shape(node.outputs[0])
    a = node.attrs
    params = {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow,
        "kernel_h": a["kernel"][0], "kernel_w": a["kernel"][1],
        "stride_h": a["strides"][0], "stride_w": a["strides"][1],
        "pad_top": a["pads"][0], "pad_left": a["pads"][1],
    }  # fmt: skip
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_b1_maxpool__ref", args, "cnnc_b1_maxpool_params", params)]


def s8conv_packed(w: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IR weights [Co,KH,KW,C] and thresholds [Co] -> the layouts cnnc_b1_s8conv_bits reads:
    [KH, PAIRS, OC16, 2] int8 (each kernel row's KW*C values in pairs, zero-padded) and
    [OC16] int32 (INT32_MIN past Co: those bits stay 0)."""
    co, kh, kw, c = w.shape
    oc16, pairs = -(-co // 16) * 16, (kw * c + 1) // 2
    rows = np.zeros((oc16, kh, 2 * pairs), np.int8)
    rows[:co, :, : kw * c] = w.reshape(co, kh, kw * c)
    packed = rows.reshape(oc16, kh, pairs, 2).transpose(1, 2, 0, 3)
    t = np.full(oc16, np.iinfo(np.int32).min, np.int32)
    t[:co] = thr
    return np.ascontiguousarray(packed), t


def emit_b1_s8conv2d(node: ir.Node, em) -> list:
    params = s8conv_params(node, em.graph)
    w, thr = s8conv_packed(em.tensor(node.inputs[1]).data, em.tensor(node.inputs[2]).data)
    args = [
        em.ptr(node.inputs[0]),
        em.packed(node.inputs[1], "[KH,PAIRS,OC16,2]", w),
        em.packed(node.inputs[2], "[OC16]", thr),
        em.out(node),
    ]
    return [KernelCall("cnnc_b1_s8conv_bits__ref", args, "cnnc_b1_s8conv_params", params)]


def s8conv_macs(node: ir.Node, graph: ir.Graph) -> int:
    _, kh, kw, c = graph.tensors[node.inputs[1]].shape
    return graph.tensors[node.outputs[0]].size * kh * kw * c


B1_EMITTERS: dict[str, Callable] = {
    "b1_pack": emit_b1_pack,
    "b1_conv2d": emit_b1_conv2d,
    "b1_dense": emit_b1_dense,
    "b1_maxpool2d": emit_b1_maxpool2d,
    "b1_s8conv2d": emit_b1_s8conv2d,
}


def float32_weight_bytes(node: ir.Node, graph: ir.Graph) -> int:
    """Bytes the layer's +-1 weights take as float32 (Co * KH*KW*Ci/g * 4), for the report."""
    if node.op not in ("b1_conv2d", "b1_dense"):
        return 0
    out = graph.tensors[node.outputs[0]]
    return 4 * out.shape[-1] * (op_cost(node, graph)[1] // out.size)


def bops(node: ir.Node, graph: ir.Graph) -> int:
    """Binary operations of a b1 node (the report's BOP counter): see ``op_cost``."""
    return op_cost(node, graph)[1]


OPS = table(
    OpDef("b1_pack", B1_OPS["b1_pack"], ref_b1_pack, emit_b1_pack),
    OpDef("b1_conv2d", B1_OPS["b1_conv2d"], ref_b1_conv2d, emit_b1_conv2d, bops=bops,
          float32_weight_bytes=float32_weight_bytes),
    OpDef("b1_dense", B1_OPS["b1_dense"], ref_b1_dense, emit_b1_dense, bops=bops,
          float32_weight_bytes=float32_weight_bytes),
    OpDef("b1_maxpool2d", B1_OPS["b1_maxpool2d"], ref_b1_maxpool2d, emit_b1_maxpool2d),
    OpDef("b1_s8conv2d", B1_OPS["b1_s8conv2d"], ref_b1_s8conv2d, emit_b1_s8conv2d,
          macs=s8conv_macs),
)  # fmt: skip
