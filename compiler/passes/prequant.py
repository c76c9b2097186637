"""int8 lowering of a pre-quantised model with its own scales and zero points (no calibration).

``quantize(graph, rounding, int8_io)`` takes the lowered float graph of a QDQ/QOperator
model (``cnnc.frontend.qdq_import`` recorded the model's quantisation in the metadata) and
produces the same int8 IR the calibrating pass does (``s8_conv2d``, ``s8_dense``,
``s8_add``, pools, ``s8_global_avgpool``, ``s8_concat``): it is ``passes.quantize``'s
rewrite with two things replaced:

- every activation's (scale, zero point) is the model's (``params_of``), never a
  calibrated range; a tensor the model does not quantise where cnnc needs it in int8 is
  refused by name;
- Conv/Gemm/MatMul weights are the model's integers (recovered exactly from the
  dequantised float weights and the model's per-channel scales), the bias the model's
  int32 where it stores one at scale ``s_x * s_w[c]`` (else the float bias rounded to it).

Rounding (``--rounding``):
- ``single`` / ``double``: the real multiplier ``s_x * s_w[c] / s_y`` (float64) becomes a
  Q31 multiplier and shift. The Q31 form approximates the ratio to 2**-31 relative; the
  metadata ``cnnc.prequant_requant_error`` lists, per layer, the largest relative error of
  the multiplier and the bound it implies on the output error in LSB (``max|acc| * |dM|``
  over the accumulator bound ``check_accumulator`` proves);
- ``onnxruntime``: requantises as onnxruntime's CPU kernels (MLAS) do: the multiplier is
  the float32 ``(s_x * s_w[c]) / s_y`` computed in float32, stored bit for bit in the
  ``mult`` array (``shift`` 0), and every kernel computes ``rne(float(acc) * M)`` in
  float32, saturated (``cnnc.ops.requant.requant_onnxruntime``). ``s8_add`` computes
  ``rne(M_a * (a - za) + M_b * (b - zb))`` in float32 with ``M_a = s_a / s_y``, as
  QLinearAdd; ``s8_global_avgpool`` uses ``M = (s_x / float(hw)) / s_y`` as
  QLinearGlobalAveragePool (MLAS) does.
"""

from __future__ import annotations

import copy
import json

import numpy as np

from .. import ir
from ..errors import CnncError, UnsupportedError
from ..frontend.qdq_import import METADATA_KEY, read_record
from ..ops import s8
from ..ops.requant import INT32_MAX, check_multiplier, quantize_multipliers
from ..ops.requant import PREQUANT_ROUNDING_MODES as ROUNDING_MODES
from . import quantize as qz

ERROR_KEY = "cnnc.prequant_requant_error"
MOVE_OPS = ("reshape", "transpose")


def is_prequantised(graph: ir.Graph) -> bool:
    return METADATA_KEY in graph.metadata


def ort_multiplier(real32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 multipliers -> (their bits as int32, zero shifts): the onnxruntime mode."""
    real32 = np.asarray(real32, np.float32)
    if not np.all(np.isfinite(real32)) or np.any(real32 < 0):
        raise UnsupportedError(f"requantisation multiplier {real32.min()} is not finite/positive")
    return real32.view(np.int32).copy(), np.zeros(real32.shape, np.int32)


def q31_error(real: np.ndarray, mult: np.ndarray, shift: np.ndarray) -> float:
    """Largest relative error of the Q31 (mult, shift) against the real multipliers."""
    real = np.asarray(real, np.float64)
    approx = mult.astype(np.float64) * np.exp2(shift.astype(np.float64) - 31)
    rel = np.abs(approx - real) / np.where(real > 0, real, 1.0)
    return float(rel.max()) if rel.size else 0.0


class _PreRewrite(qz._Rewrite):
    def __init__(self, graph: ir.Graph, record: dict, rounding: str, int8_io: bool):
        self.record = record
        self.model_qp = _lowered_qparams(graph, record)
        self.errors: list[dict] = []
        super().__init__(graph, {}, rounding, int8_io)

    @property
    def ort(self) -> bool:
        return self.rounding == "onnxruntime"

    def params_of(self, name: str) -> tuple[float, int]:
        if name not in self.qp:
            if name not in self.model_qp:
                producer = self.src.producer(name)
                what = f"output of node '{producer.name}' ({producer.op})" if producer else "input"
                raise UnsupportedError(
                    f"pre-quantised model: tensor '{name}' ({what}) has no quantisation "
                    "parameters in the model (no QuantizeLinear -> DequantizeLinear on it), "
                    "but cnnc needs it in int8; quantise it in the model"
                )
            self.qp[name] = self.model_qp[name]
        return self.qp[name]

    def node(self, node: ir.Node) -> None:
        rule = RULES.get(node.op)
        if rule is not None and rule(self, node, check_only=True):
            rule(self, node, check_only=False)
            return
        first = len(self.out.nodes)
        super().node(node)  # passes.quantize's rules: Q31 multipliers
        if self.ort:
            for emitted in self.out.nodes[first:]:
                self.q31_to_float32(emitted)

    def q31_to_float32(self, node: ir.Node) -> None:
        """A node passes.quantize emitted with Q31 (mult, shift), requantising in the
        onnxruntime mode: its multipliers become the float32 images of the same reals."""
        if node.attrs.get("rounding") != "onnxruntime":
            return
        if node.op in ("s8_conv2d", "s8_dense"):
            m, s = (self.out.tensors[n].data for n in node.inputs[3:5])
            real = m.astype(np.float64) * np.exp2(s.astype(np.float64) - 31)
            bits, zero = ort_multiplier(real.astype(np.float32))
            self.out.tensors[node.inputs[3]].data = bits
            self.out.tensors[node.inputs[4]].data = zero
        elif node.op == "s8_mul":  # QLinearMul's float32 (s_a * s_b) / s_y
            s_a, s_b, s_y = (float(self.out.tensors[t].quant.scale)
                             for t in (*node.inputs[:2], node.outputs[0]))  # fmt: skip
            bits, zero = ort_multiplier(np.float32(s_a) * np.float32(s_b) / np.float32(s_y))
            node.attrs["mult"], node.attrs["shift"] = int(bits), int(zero)
        elif node.op.startswith("s8_") and any(k in node.attrs for k in ("mult", "mults")):
            raise CnncError(f"node '{node.name}' ({node.op}): no onnxruntime multipliers")

    def multipliers(self, layer: str, real64, real32, acc_bound: int = 255, once=False):
        """(mult, shift) per the rounding mode; records, for single/double, the Q31 form's
        largest relative error and the output error it can cause: |acc| * |M - M_q31| LSB
        at most, over the accumulator bound ``acc_bound`` (before rounding adds its own).
        ``once``: the form that rounds once in "double" mode, as passes.quantize gives
        global average pooling (``once_rounded_multiplier``), so that cnnc's own QDQ
        export compiles back to the same integers."""
        if self.ort:
            return ort_multiplier(real32)
        real64 = np.asarray(real64, np.float64)
        m, s = quantize_multipliers(real64)
        if once:
            pairs = [qz.once_rounded_multiplier(float(r), acc_bound, self.rounding)
                     for r in real64.ravel()]  # fmt: skip
            m = np.array([p[0] for p in pairs], np.int32).reshape(real64.shape)
            s = np.array([p[1] for p in pairs], np.int32).reshape(real64.shape)
        check_multiplier(m, s)
        approx = m.astype(np.float64) * np.exp2(s.astype(np.float64) - 31)
        lsb = float(np.max(np.abs(approx - real64))) * acc_bound if real64.size else 0.0
        self.errors.append({"layer": layer, "q31_rel_error": q31_error(real64, m, s),
                            "max_lsb_error": lsb})  # fmt: skip
        return m, s

    def requant_to(self, src: str, qp_src, y: str) -> None:
        """An int8 tensor at qp_src requantised to y's model parameters (s8_concat of one
        input is exactly that: y = zy + requant(x - zx, s_x / s_y))."""
        s_y, zy = self.params_of(y)
        out = self.add_int8(y, f"{y}.q" if y in self.src.outputs else y, self.src.tensors[y].shape)
        m, s = self.multipliers(
            y, np.array([qp_src[0] / s_y]), np.array([np.float32(qp_src[0]) / np.float32(s_y)])
        )
        self.emit(
            "s8_concat",
            f"{y}.requant",
            [src],
            [out],
            x_zero_points=[qp_src[1]],
            y_zero_point=zy,
            mults=m.tolist(),
            shifts=s.tolist(),
            rounding=self.rounding,
            axis=-1,
        )


def _lowered_qparams(graph: ir.Graph, record: dict) -> dict[str, tuple[float, int]]:
    """The model's activation parameters by lowered tensor name: the ONNX names, carried
    through the layout moves (transpose/reshape) the lowering inserted."""
    qp = {name: (float(s), int(z)) for name, (s, z) in record["act"].items()}
    for node in graph.nodes:
        if node.op in MOVE_OPS and node.inputs[0] in qp and node.outputs[0] not in qp:
            qp[node.outputs[0]] = qp[node.inputs[0]]
    # and backwards: a move the lowering appended to a quantised op (ReduceMean's
    # keepdims=0 reshape, a layout transpose) holds the same values as its input, so the
    # op's own output has the model's parameters of the moved tensor
    for node in reversed(graph.nodes):
        x = node.inputs[0] if node.inputs else None
        if node.op in MOVE_OPS and node.outputs[0] in qp and x not in qp:
            t = graph.tensors.get(x)
            if t is not None and not t.is_const and len(graph.consumers(x)) == 1:
                qp[x] = qp[node.outputs[0]]
    return qp


# ------------------------------------------------------------------ rules


def _weighted(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    rec = q.record["weights"].get(node.name)
    if check_only:
        ok = rec is not None and qz._act_ok(node)
        return ok and q.src.tensors[node.inputs[1]].is_const
    w = np.asarray(q.src.tensors[node.inputs[1]].data, np.float32)
    s_w = np.asarray(rec["scale"], np.float32)
    if len(s_w) != w.shape[0]:
        raise CnncError(f"node '{node.name}': {len(s_w)} weight scales for {w.shape[0]} channels")
    shape = (-1,) + (1,) * (w.ndim - 1)
    wq = np.rint(w.astype(np.float64) / s_w.reshape(shape).astype(np.float64))
    if not np.array_equal((wq.astype(np.float32) * s_w.reshape(shape)), w):
        raise CnncError(
            f"node '{node.name}': weights are not the model's integers times its "
            "scales after lowering"
        )
    wq = wq.astype(np.int8)
    x = node.inputs[0]
    xq = q.need_int8(x)
    s_x, zx = q.qp[x]
    s_y, zy = q.params_of(node.outputs[0])
    s_b32 = np.float32(s_x) * s_w  # onnxruntime's bias scale, float32
    b_name = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    if "bias_q" in rec:
        bq = np.asarray(rec["bias_q"], np.int64)
        bs = np.asarray(rec["bias_scale"], np.float32)
        if not np.array_equal(bs, s_b32):  # another bias scale: re-expressed at s_x * s_w
            bq = np.rint(bq * bs.astype(np.float64) / s_b32.astype(np.float64)).astype(np.int64)
    elif b_name:
        bias = np.asarray(q.src.tensors[b_name].data, np.float64)
        bq = np.rint(bias / s_b32.astype(np.float64)).astype(np.int64)
    else:
        bq = np.zeros(len(s_w), np.int64)
    if np.any(np.abs(bq) > INT32_MAX):
        raise UnsupportedError(f"node '{node.name}': int32 bias overflows at scale s_x*s_w")
    bq = bq.astype(np.int32)
    bound = qz.check_accumulator(node.name, wq.reshape(len(wq), -1), bq, zx)
    real64 = s_x * s_w.astype(np.float64) / s_y
    mult, shift = _exported_multipliers(q, rec, s_x, s_y, s_w)
    if mult is None:
        mult, shift = q.multipliers(node.name, real64, s_b32 / np.float32(s_y), bound)
    y = q.int8_output(node)
    consts = [
        q.const(f"{node.name}.wq", wq),
        q.const(f"{node.name}.bias_q", bq),
        q.const(f"{node.name}.mult", mult),
        q.const(f"{node.name}.shift", shift),
    ]
    conv = {}
    if node.op == "conv2d":
        conv = dict(
            strides=list(node.attrs.get("strides", (1, 1))),
            pads=list(node.attrs.get("pads", (0, 0, 0, 0))),
            groups=int(node.attrs.get("groups", 1)),
        )
        if "dilations" in node.attrs:  # a dilated conv keeps the model's weights too
            conv["dilations"] = [int(d) for d in node.attrs["dilations"]]
    attrs = dict(x_zero_point=zx, y_zero_point=zy, rounding=q.rounding, **q.clamp(node, s_y, zy))
    q.emit(f"s8_{node.op}", node.name, [xq, *consts], [y], **attrs, **conv)
    return True


def _exported_multipliers(q: _PreRewrite, rec: dict, s_x: float, s_y: float, s_w: np.ndarray):
    """cnnc's own QDQ export stores each layer's exact Q31 multipliers (its weight scales
    are their float32 images, which lose bits): used when the rounding matches and they
    reproduce the model's weight scales exactly, else (None, None)."""
    ex = rec.get("exact")
    if not isinstance(ex, dict) or ex.get("rounding") != q.rounding or q.ort:
        return None, None
    try:
        m = np.asarray(ex["mult"], np.int64)
        s = np.asarray(ex["shift"], np.int64)
    except (KeyError, TypeError, ValueError):
        return None, None
    if m.shape != s_w.shape or s.shape != s_w.shape:
        return None, None
    try:
        check_multiplier(m, s)
    except CnncError:
        return None, None
    real = m.astype(np.float64) * np.exp2(s.astype(np.float64) - 31)
    eff = (real * s_y / s_x).astype(np.float32)
    eff = np.where(eff > 0, eff, np.float32(1.0))
    if not np.array_equal(eff, s_w):
        return None, None
    return m.astype(np.int32), s.astype(np.int32)


def _affine_2d(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    """Add/Mul of a per-channel constant on a 2-D [N, C] tensor (MatMul + Add, torch's
    Linear): reshaped to [N, 1, 1, C] int8 for the channel-affine rule (a depthwise 1x1
    s8_conv2d, its weight scale chosen by cnnc), and back."""
    x, c = node.inputs[:2]
    tx, tc = q.src.tensors[x], q.src.tensors[c]
    if check_only:
        per_channel = tc.is_const and tc.size in (1, tx.shape[1]) if len(tx.shape) == 2 else False
        return per_channel and not tx.is_const and x in q.int8_of and qz._act_ok(node)
    y = node.outputs[0]
    n_, ch = tx.shape
    x4, y4 = q.src.fresh_name(f"{x}.nhwc1x1"), q.src.fresh_name(f"{y}.nhwc1x1")
    for name in (x4, y4):
        q.src.tensors[name] = ir.Tensor(name, (n_, 1, 1, ch))
    q.qp[x4] = q.qp[x]
    q.add_int8(x4, x4, (n_, 1, 1, ch))
    q.emit("reshape", f"{x4}.reshape", [q.int8_of[x]], [x4])
    q.model_qp[y4] = q.params_of(y)
    first = len(q.out.nodes)
    qz._channel_affine(q, ir.Node(node.op, node.name, [x4, c], [y4], dict(node.attrs)), False)
    if q.ort:
        for emitted in q.out.nodes[first:]:
            q.q31_to_float32(emitted)
    out = q.int8_output(node, q.qp[y4])
    q.emit("reshape", f"{y}.reshape", [q.int8_of[y4]], [out])
    return True


def _add_quantised_const(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    """Add of a constant the model quantised itself (per tensor): an s8_add whose second
    operand is that int8 constant, broadcast to the activation's shape, exactly as
    onnxruntime's QLinearAdd adds it."""
    qp_c = q.record.get("const_qp", {}).get(node.name)
    a, c = node.inputs[:2]
    ta, tc = q.src.tensors[a], q.src.tensors[c]
    if check_only:
        if qp_c is None or node.op != "add" or ta.is_const or not tc.is_const:
            return False
        fits = np.broadcast_shapes(tc.shape, ta.shape) == tuple(ta.shape)
        return fits and qz._act_ok(node) and ta.size <= 2**24
    s_c, z_c = float(qp_c[0]), int(qp_c[1])
    data = np.asarray(tc.data, np.float64)
    cq = np.rint(data / np.float64(np.float32(s_c))) + z_c
    if np.any(cq < -128) or np.any(cq > 127):
        raise CnncError(f"node '{node.name}': constant outside int8 at its own scale")
    cq = np.ascontiguousarray(np.broadcast_to(cq.astype(np.int8), ta.shape))
    aq = q.need_int8(a)
    s_a, za = q.qp[a]
    s_y, zy = q.params_of(node.outputs[0])
    if q.ort:
        (ma, mb), _ = ort_multiplier(
            np.array([np.float32(s_a) / np.float32(s_y), np.float32(s_c) / np.float32(s_y)])
        )
        mults = dict(left_shift=0, a_mult=int(ma), a_shift=0, b_mult=int(mb), b_shift=0,
                     y_mult=0, y_shift=0)  # fmt: skip
    else:
        mults = s8.add_multipliers(s_a, np.float32(s_c), s_y)
    y = q.int8_output(node)
    const = q.const(f"{node.name}.const_q", cq)
    q.emit("s8_add", node.name, [aq, const], [y], a_zero_point=za, b_zero_point=z_c,
           y_zero_point=zy, rounding=q.rounding, **mults, **q.clamp(node, s_y, zy))  # fmt: skip
    return True


def _add(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    if _add_quantised_const(q, node, True):
        return _add_quantised_const(q, node, check_only)
    if _affine_2d(q, node, True):
        return _affine_2d(q, node, check_only)
    if not q.ort:
        return qz._add(q, node, check_only)
    operands = qz.add_operands(q, node)  # s8_add, or s8_add_broadcast for x + gate
    if check_only:
        return operands is not None and qz._act_ok(node)
    op, a, b = operands
    aq, bq = q.need_int8(a), q.need_int8(b)
    (s_a, za), (s_b, zb) = q.qp[a], q.qp[b]
    s_y, zy = q.params_of(node.outputs[0])
    (ma, mb), _ = ort_multiplier(
        np.array([np.float32(s_a) / np.float32(s_y), np.float32(s_b) / np.float32(s_y)])
    )
    y = q.int8_output(node)
    q.emit(
        op,
        node.name,
        [aq, bq],
        [y],
        a_zero_point=za,
        b_zero_point=zb,
        y_zero_point=zy,
        rounding=q.rounding,
        left_shift=0,
        a_mult=int(ma),
        a_shift=0,
        b_mult=int(mb),
        b_shift=0,
        y_mult=0,
        y_shift=0,
        **q.clamp(node, s_y, zy),
    )
    return True


def _global_avgpool(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    x = node.inputs[0]
    _, h, w, _ = q.src.tensors[x].shape
    if check_only:
        return qz._act_ok(node) and h * w <= 2**23
    xq = q.need_int8(x)
    s_x, zx = q.qp[x]
    s_y, zy = q.params_of(node.outputs[0])
    real32 = np.float32(s_x) / np.float32(h * w) / np.float32(s_y)  # MLAS's order
    m, s = q.multipliers(node.name, np.array(s_x / (s_y * h * w)), np.array(real32), 255 * h * w,
                         once=True)  # fmt: skip
    y = q.int8_output(node)
    q.emit(
        "s8_global_avgpool",
        node.name,
        [xq],
        [y],
        x_zero_point=zx,
        y_zero_point=zy,
        mult=int(m),
        shift=int(s),
        rounding=q.rounding,
        **q.clamp(node, s_y, zy),
    )
    return True


def _avgpool(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    """onnxruntime rounding: average pooling whose windows all hold kh*kw taps (no padding,
    or count_include_pad) is a depthwise conv with unit weights requantised by
    M = s_x / (s_y * kh * kw), rounding half to even in float32 as onnxruntime does (the
    integer s8_avgpool rounds ties away from zero); otherwise the integer pool."""
    x = node.inputs[0]
    kh, kw = node.attrs["kernel"]
    pads = tuple(node.attrs.get("pads", (0, 0, 0, 0)))
    whole = not any(pads) or bool(node.attrs.get("count_include_pad"))
    if not (q.ort and whole):
        return _same_scale(qz._pool)(q, node, check_only)
    if check_only:
        return qz._act_ok(node)
    c = q.src.tensors[x].shape[-1]
    xq = q.need_int8(x)
    s_x, zx = q.qp[x]
    s_y, zy = q.params_of(node.outputs[0])
    real32 = np.float32(s_x) / (np.float32(s_y) * np.float32(kh * kw))
    m, s = q.multipliers(node.name, np.full(c, s_x / (s_y * kh * kw)), np.full(c, real32))
    y = q.int8_output(node)
    consts = [
        q.const(f"{node.name}.wq", np.ones((c, kh, kw, 1), np.int8)),
        q.const(f"{node.name}.bias_q", np.zeros(c, np.int32)),
        q.const(f"{node.name}.mult", m),
        q.const(f"{node.name}.shift", s),
    ]
    q.emit("s8_conv2d", node.name, [xq, *consts], [y], x_zero_point=zx, y_zero_point=zy,
           rounding=q.rounding, strides=list(node.attrs.get("strides", (1, 1))),
           pads=list(pads), groups=c, **q.clamp(node, s_y, zy))  # fmt: skip
    return True


def _concat(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
    if check_only:
        return qz._concat(q, node, True)
    xs = [q.need_int8(x) for x in node.inputs]
    s_y, zy = q.params_of(node.outputs[0])
    real64 = np.array([q.qp[x][0] / s_y for x in node.inputs])
    real32 = np.array([np.float32(q.qp[x][0]) / np.float32(s_y) for x in node.inputs])
    m, s = q.multipliers(node.name, real64, real32)
    y = q.int8_output(node)
    q.emit(
        "s8_concat",
        node.name,
        xs,
        [y],
        x_zero_points=[q.qp[x][1] for x in node.inputs],
        y_zero_point=zy,
        mults=m.tolist(),
        shifts=s.tolist(),
        rounding=q.rounding,
        axis=-1,
    )
    return True


def _same_scale(rule):
    """Pools and moves keep their input's parameters; where the model gives the output
    other ones, the result is requantised to them."""

    def apply(q: _PreRewrite, node: ir.Node, check_only: bool) -> bool:
        if check_only:
            return rule(q, node, True)
        y = node.outputs[0]
        want = q.model_qp.get(y)
        have = q.qp.get(node.inputs[0]) or q.params_of(node.inputs[0])
        if want is None or want == have:
            return rule(q, node, False)
        tmp = q.src.fresh_name(f"{y}.same_scale")
        q.src.tensors[tmp] = ir.Tensor(tmp, q.src.tensors[y].shape)
        inner = ir.Node(node.op, node.name, list(node.inputs), [tmp], dict(node.attrs))
        rule(q, inner, False)
        q.requant_to(q.int8_of[tmp], q.qp[tmp], y)
        return True

    return apply


RULES = {
    "conv2d": _weighted,
    "dense": _weighted,
    "add": _add,
    "mul": lambda q, node, check_only: (
        _affine_2d(q, node, check_only) if _affine_2d(q, node, True) else False
    ),
    "global_avgpool": _global_avgpool,
    "concat": _concat,
    "maxpool2d": _same_scale(qz._pool),
    "avgpool2d": _avgpool,
    "reshape": _same_scale(qz._move),
    "transpose": _same_scale(qz._move),
}


def quantize(graph: ir.Graph, rounding: str = "double", int8_io: bool = False) -> ir.Graph:
    """The int8 graph of a lowered pre-quantised model, with the model's parameters."""
    if graph.layout != "NHWC":
        raise CnncError("prequant.quantize: the graph must be lowered first")
    if rounding not in ROUNDING_MODES:
        raise CnncError(f"unknown rounding mode {rounding!r}; use one of {ROUNDING_MODES}")
    record = read_record(graph.metadata)
    if record is None:
        raise CnncError("prequant.quantize: the graph is not from a pre-quantised model")
    if len(graph.inputs) != 1:
        raise UnsupportedError(f"pre-quantised model: one input expected, got {graph.inputs}")
    graph = copy.deepcopy(graph)
    graph.metadata.pop(METADATA_KEY)
    q = _PreRewrite(graph, record, rounding, int8_io)
    for node in graph.nodes:
        q.node(node)
    q.finish()
    out = q.out
    for node in out.nodes:
        if node.op.startswith("s8_") or node.op in MOVE_OPS:
            continue
        quantised = [y for y in node.outputs if y in q.model_qp]
        if quantised:
            raise UnsupportedError(
                f"pre-quantised model: node '{node.name}' ({node.op}) has no int8 form in "
                f"cnnc here, but the model quantises its output '{quantised[0]}'; computing "
                "it in float would ignore the model's quantisation"
            )
    floats = qz.float_ops_inside(out)
    if floats:
        node = next(n for n in out.nodes if n.name == floats[0])
        raise UnsupportedError(
            f"pre-quantised model: node '{node.name}' ({node.op}) would compute in float "
            f"between int8 tensors ({len(floats)} such node(s)); cnnc compiles it only where "
            "the model quantises its inputs and output and cnnc has an int8 kernel for it"
        )
    out.metadata.update(
        {
            "cnnc.precision": "int8",
            "cnnc.rounding": rounding,
            "cnnc.calibration": "model",
            "cnnc.int8_io": str(int(int8_io)),
            ERROR_KEY: json.dumps(q.errors),
        }
    )
    return out


def format_requant_error_table(metadata: dict) -> str | None:
    """The Q31 requantisation error table of a pre-quantised build (None if there is
    none): per layer, the multiplier's largest relative error and the output error in LSB
    it can add at most (the onnxruntime mode has none: it keeps the float32 multipliers)."""
    try:
        rows = json.loads(metadata.get(ERROR_KEY, "[]"))
    except ValueError:
        return None
    rows = [r for r in rows if isinstance(r, dict) and "layer" in r]
    if not rows:
        return None
    width = max(len(str(r["layer"])) for r in rows)
    lines = [f"{'layer':<{width}}  rel. error of Q31 multiplier  max output error (LSB)"]
    for r in rows:
        lines.append(f"{str(r['layer']):<{width}}  {float(r.get('q31_rel_error', 0)):28.3g}"
                     f"  {float(r.get('max_lsb_error', 0)):23.3g}")  # fmt: skip
    return "\n".join(lines)


__all__ = ["is_prequantised", "quantize", "s8"]
