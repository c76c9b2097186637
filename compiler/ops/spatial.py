"""The spatial ops of segmentation heads (lowered, NHWC), float32 and int8: padding (Pad,
and the zero insertion of ConvTranspose) and resizing (Resize: nearest and bilinear).

Both precisions share the geometry, computed once at compile time in Python:
  * pad: which input row/column each output row/column reads (``source_index``), from the
    pads, the mode (constant, edge, reflect) and a stride (input pixels land every
    stride-th output pixel: the zero insertion that turns a ConvTranspose into a conv);
  * resize: per output row and column the two source indices and the interpolation
    weights (``resize_axis``), in float32 as onnxruntime computes them. The tables are
    constants of the graph (blob sections); the C kernels clamp every index they read, so
    a tampered blob cannot make them read outside the input.

int8 keeps the input's scale and zero point (nothing is requantised): a constant pad value
must be exactly representable (else an error), and bilinear interpolation runs on u = q + 128
in [0, 255] with Q11 weights w1q = rint(w1 * 2048), w0q = 2048 - w1q per axis:
    top = u00*wx0 + u01*wx1,  bot = u10*wx0 + u11*wx1    (<= 255 * 2048)
    acc = top*wy0 + bot*wy1                               (<= 255 * 2^22 < 2^31)
    q   = ((acc + 2^21) >> 22) - 128                      (round half up; acc >= 0)
Weights summing to 2^22 make q an affine interpolation at the input's own scale. The
C kernels (runtime_c/kernels/f32_spatial.c, s8_spatial.c) compute the same numbers.
Adding an op: ``docs/adding_an_op.md``.
"""

from __future__ import annotations

import numpy as np

from .. import ir
from ..errors import UnsupportedError
from .opdef import KernelCall, OpDef, table

PAD_MODES = {"constant": 0, "edge": 1, "reflect": 2}
RESIZE_MODES = {"nearest": 0, "linear": 1}
COORD_MODES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
Q11 = 2048  # int8 bilinear weights: fixed point with 11 fraction bits

DOCS = {
    "pad2d": "x[N,H,W,C] -> [N,OH,OW,C]; attrs pads=(top,left,bottom,right) >= 0, mode "
    "constant|edge|reflect, value (constant), strides=(sh,sw) (input pixel (iy, ix) lands at "
    "output (top + iy*sh, left + ix*sw), the rest is value: constant mode only); "
    "OH = top + (H-1)*sh + 1 + bottom",
    "resize2d": "x[N,H,W,C], ytab[OH,2] int32, xtab[OW,2] int32, wy[OH,2], wx[OW,2] -> "
    "[N,OH,OW,C]; attrs mode nearest|linear; nearest: y = x[ytab[oy,0], xtab[ox,0]]; linear: "
    "y = (x00*wx0 + x01*wx1)*wy0 + (x10*wx0 + x11*wx1)*wy1 in float32, each op rounded",
    "s8_pad2d": "x int8 -> int8 as pad2d, same scale and zero point; attrs as pad2d with the "
    "value as an int8 (exact)",
    "s8_resize2d": "x int8, ytab[OH,3], xtab[OW,3] int32 (index 0, index 1, Q11 weight of "
    "index 1) -> int8, same scale and zero point; attrs mode; linear as this module's "
    "docstring",
}


# ---------------------------------------------------------------- geometry (shared)


def source_index(out_len: int, size: int, pad: int, stride: int, mode: str) -> np.ndarray:
    """For each output position along one axis, the input index it copies, or -1 (the
    constant value). constant: (o - pad)/stride where that is an exact index inside the
    input; edge: clamp(o - pad, 0, size-1); reflect: -t for t < 0, 2(size-1) - t past the
    end (pads < size)."""
    t = np.arange(out_len, dtype=np.int64) - pad
    if mode == "constant":
        ok = (t >= 0) & (t % stride == 0) & (t // stride < size)
        return np.where(ok, t // stride, -1)
    if mode == "edge":
        return np.clip(t, 0, size - 1)
    t = np.abs(t)
    return np.where(t >= size, 2 * (size - 1) - t, t)


def pad_nhwc(x: np.ndarray, pads, mode: str, value, strides=(1, 1), out_hw=None) -> np.ndarray:
    """pad2d on x[N,H,W,C] (either dtype): gather rows and columns by ``source_index``."""
    n, h, w, c = x.shape
    top, left, bottom, right = pads
    sh, sw = strides
    oh, ow = out_hw or (top + (h - 1) * sh + 1 + bottom, left + (w - 1) * sw + 1 + right)
    iy = source_index(oh, h, top, sh, mode)
    ix = source_index(ow, w, left, sw, mode)
    y = x[:, np.maximum(iy, 0)][:, :, np.maximum(ix, 0)]
    hole = (iy[:, None] < 0) | (ix[None, :] < 0)  # [OH,OW]
    filled = np.where(hole[None, :, :, None], np.asarray(value, x.dtype), y)
    return np.ascontiguousarray(filled, dtype=x.dtype)


def resize_axis(out_len: int, in_len: int, scale: float, mode: str, coord: str,
                nearest: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(i0[out], i1[out] int32, w1[out] float32) along one axis, as onnxruntime computes
    them in float32: the source coordinate by ``coord`` from the output index and ``scale``
    (the Resize scale, or out/in when sizes were given); nearest rounds it by ``nearest``,
    linear reads i0 = floor and i1 = i0 + 1 with weight w1 = x - i0, both clamped into the
    input (w0 = 1 - w1)."""
    f32 = np.float32
    o = np.arange(out_len, dtype=f32)
    s = f32(scale)
    if coord == "half_pixel" or (coord == "pytorch_half_pixel" and out_len > 1):
        x = (o + f32(0.5)) / s - f32(0.5)
    elif coord == "pytorch_half_pixel":
        x = np.zeros(out_len, f32)
    elif coord == "align_corners":
        x = o * f32(in_len - 1) / f32(out_len - 1) if out_len > 1 else np.zeros(out_len, f32)
    elif coord == "asymmetric":
        x = o / s
    else:
        raise UnsupportedError(f"Resize coordinate_transformation_mode {coord!r}")
    x = x.astype(f32)
    if mode == "nearest":
        frac = x - np.floor(x)
        if nearest == "floor":
            r = np.floor(x)
        elif nearest == "ceil":
            r = np.ceil(x)
        elif nearest == "round_prefer_ceil":
            r = np.where(frac == f32(0.5), np.ceil(x), np.floor(x + f32(0.5)))
        else:  # round_prefer_floor
            r = np.where(frac == f32(0.5), np.floor(x), np.floor(x + f32(0.5)))
        i0 = np.clip(r, 0, in_len - 1).astype(np.int32)
        return i0, i0.copy(), np.zeros(out_len, f32)
    x = np.clip(x, f32(0), f32(in_len - 1)).astype(f32)
    i0 = np.floor(x).astype(np.int32)
    i1 = np.minimum(i0 + 1, in_len - 1).astype(np.int32)
    return i0, i1, (x - i0.astype(f32)).astype(f32)


def resize_tables(node_attrs: dict, in_hw, out_hw):
    """Per axis (i0, i1, w1) for a resize2d node's attributes (scales, mode, coord, nearest)."""
    a = node_attrs
    return [
        resize_axis(out_hw[k], in_hw[k], a["scales"][k], a["mode"], a["coord"], a["nearest"])
        for k in (0, 1)
    ]


def float_weights(w1: np.ndarray) -> np.ndarray:
    """[len, 2] float32 (w0 = 1 - w1, w1)."""
    return np.stack([np.float32(1) - w1, w1], axis=1).astype(np.float32)


def q11_table(i0: np.ndarray, i1: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """[len, 3] int32 (i0, i1, rint(w1 * 2048)): the int8 kernel's table for one axis."""
    wq = np.rint(w1.astype(np.float64) * Q11).astype(np.int64)
    return np.stack([i0, i1, wq], axis=1).astype(np.int32)


def resize_nhwc(x, ytab, xtab, wy, wx, mode: str) -> np.ndarray:
    """resize2d in float32: the C kernel's operations in its order (no FMA)."""
    if mode == "nearest":
        return np.ascontiguousarray(x[:, ytab[:, 0]][:, :, xtab[:, 0]])
    r0, r1 = x[:, ytab[:, 0]], x[:, ytab[:, 1]]  # [N,OH,W,C]
    wx0, wx1 = wx[None, None, :, 0, None], wx[None, None, :, 1, None]
    top = r0[:, :, xtab[:, 0]] * wx0 + r0[:, :, xtab[:, 1]] * wx1
    bot = r1[:, :, xtab[:, 0]] * wx0 + r1[:, :, xtab[:, 1]] * wx1
    return (top * wy[None, :, 0, None, None] + bot * wy[None, :, 1, None, None]).astype(np.float32)


def resize_s8(x, ytab, xtab, mode: str) -> np.ndarray:
    """s8_resize2d: nearest copies; linear as the module docstring (int64 here, exact)."""
    if mode == "nearest":
        return np.ascontiguousarray(x[:, ytab[:, 0]][:, :, xtab[:, 0]])
    u = x.astype(np.int64) + 128
    r0, r1 = u[:, ytab[:, 0]], u[:, ytab[:, 1]]
    wx1 = xtab[None, None, :, 2, None].astype(np.int64)
    wy1 = ytab[None, :, 2, None, None].astype(np.int64)
    top = r0[:, :, xtab[:, 0]] * (Q11 - wx1) + r0[:, :, xtab[:, 1]] * wx1
    bot = r1[:, :, xtab[:, 0]] * (Q11 - wx1) + r1[:, :, xtab[:, 1]] * wx1
    acc = top * (Q11 - wy1) + bot * wy1
    return (((acc + (1 << 21)) >> 22) - 128).astype(np.int8)


# ---------------------------------------------------------------- reference wrappers


def _out_hw(node, graph):
    return tuple(graph.tensors[node.outputs[0]].shape[1:3])


def ref_pad2d(node, graph, inputs):
    a = node.attrs
    return [pad_nhwc(inputs[0], a["pads"], a["mode"], np.float32(a.get("value", 0.0)),
                     a.get("strides", (1, 1)), _out_hw(node, graph))]  # fmt: skip


def ref_s8_pad2d(node, graph, inputs):
    a = node.attrs
    return [pad_nhwc(inputs[0], a["pads"], a["mode"], np.int8(a["value"]),
                     a.get("strides", (1, 1)), _out_hw(node, graph))]  # fmt: skip


def ref_resize2d(node, graph, inputs):
    return [resize_nhwc(*inputs, node.attrs["mode"])]


def ref_s8_resize2d(node, graph, inputs):
    return [resize_s8(*inputs, node.attrs["mode"])]


# ---------------------------------------------------------------- C emitters


def pad_params(node: ir.Node, em, value) -> dict:
    n, h, w, c = em.shape(node.inputs[0])
    _, oh, ow, _ = em.shape(node.outputs[0])
    top, left = node.attrs["pads"][:2]
    sh, sw = node.attrs.get("strides", (1, 1))
    params = dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, pad_top=top, pad_left=left)
    params.update(stride_h=sh, stride_w=sw, mode=PAD_MODES[node.attrs["mode"]], value=value)
    return params


def emit_pad2d(node: ir.Node, em) -> list[KernelCall]:
    params = pad_params(node, em, float(node.attrs.get("value", 0.0)))
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_f32_pad__ref", args, "cnnc_f32_pad_params", params)]


def emit_s8_pad2d(node: ir.Node, em) -> list[KernelCall]:
    params = pad_params(node, em, int(node.attrs["value"]))
    args = [em.ptr(node.inputs[0]), em.out(node)]
    return [KernelCall("cnnc_s8_pad__ref", args, "cnnc_s8_pad_params", params)]


def resize_params(node: ir.Node, em) -> dict:
    n, h, w, c = em.shape(node.inputs[0])
    _, oh, ow, _ = em.shape(node.outputs[0])
    return dict(n=n, h=h, w=w, c=c, out_h=oh, out_w=ow, mode=RESIZE_MODES[node.attrs["mode"]])


def emit_resize2d(node: ir.Node, em) -> list[KernelCall]:
    args = [em.ptr(name) for name in node.inputs] + [em.out(node)]
    return [KernelCall("cnnc_f32_resize__ref", args, "cnnc_f32_resize_params",
                       resize_params(node, em))]  # fmt: skip


def emit_s8_resize2d(node: ir.Node, em) -> list[KernelCall]:
    args = [em.ptr(name) for name in node.inputs] + [em.out(node)]
    return [KernelCall("cnnc_s8_resize__ref", args, "cnnc_s8_resize_params",
                       resize_params(node, em))]  # fmt: skip


OPS = table(
    OpDef("pad2d", DOCS["pad2d"], ref_pad2d, emit_pad2d),
    OpDef("resize2d", DOCS["resize2d"], ref_resize2d, emit_resize2d),
    OpDef("s8_pad2d", DOCS["s8_pad2d"], ref_s8_pad2d, emit_s8_pad2d),
    OpDef("s8_resize2d", DOCS["s8_resize2d"], ref_s8_resize2d, emit_s8_resize2d),
)
