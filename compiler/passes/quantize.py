"""Post-training int8 quantisation of a lowered float graph (the TFLite/TFLM scheme).

``quantize(graph, calibration, method, rounding, int8_io)`` returns a new graph whose
quantisable nodes are ``s8_*`` ops (``cnnc.ops.s8``), with an ``s8_quantize`` where a
float tensor enters the int8 region and an ``s8_dequantize`` where it leaves it. For the
CNNs cnnc targets the whole network is one int8 region: no floating-point operation
runs between the input quantisation and the output dequantisation (``float_ops_inside``
checks that), and with ``int8_io`` even those two disappear: the model input is int8
(quantised with the input tensor's scale and zero point, in the ONNX layout) and the
output is the int8 tensor before the dequantisation (a trailing softmax is dropped:
the output is then the int8 logits, same top-1; metadata ``cnnc.int8_io_dropped``).

Scheme (``real = scale * (q - zero_point)``):
- activations: int8, per tensor, asymmetric; the range [lo, hi] comes from running the
  float reference over the calibration set (``collect_ranges``, method "minmax",
  "percentile" or "mse"), widened to contain 0 so that 0.0 (padding, ReLU) is exact:
  ``scale = (hi - lo) / 255``, ``zero_point = round(-128 - lo / scale)``;
- weights: int8, per output channel, symmetric in [-127, 127]: ``s_w[c] = max|w[c]|/127``;
- bias: int32 at ``s_x * s_w[c]``; accumulation in int32;
- requantisation ``M[c] = s_x * s_w[c] / s_y`` as a Q31 multiplier and shift
  (``cnnc.ops.requant``; rounding "single" or gemmlowp "double");
- fused ReLU / ReLU6 / Clip become clamp bounds in the output's int8 domain;
- max/avg pooling and reshapes keep their input's scale and zero point; global average
  pooling, residual add and concat requantise to their own calibrated output scale.

The result's metadata ``cnnc.quant_error`` holds the per-layer error table (float vs
int8 at each layer output on the first calibration samples, ``cnnc.quant_report``), so
``cnnc report`` can print it from the compiled folder alone.

Overflow proof (``check_accumulator``): the accumulator of output channel c is
``bias_q[c] + sum_k (x_k - zx) * w_q[c,k]`` with ``|x_k - zx| <= xmax = max(127 - zx,
zx + 128)``, so ``|acc| <= |bias_q[c]| + xmax * sum_k |w_q[c,k]|`` for every input.
The compiler evaluates that bound per channel and refuses the layer (CnncError naming it)
when it exceeds 2**31 - 1; the C kernels rely on it (comments at their accumulators).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .. import ir, reference
from ..backend import quant_report
from ..errors import CalibrationError, CnncError, UnsupportedError
from ..ops import f32, s8, spatial
from ..ops.requant import INT32_MAX, ROUNDING_MODES, check_multiplier
from ..ops.requant import quantize_multipliers as _multipliers
from . import bias_correction as bias_correction_mod

METHODS = ("minmax", "percentile", "mse")
PERCENTILE = 99.99  # "percentile": clip each activation to [p(0.01 %), p(99.99 %)]
SAMPLE_PER_TENSOR = 200_000  # values kept per tensor for percentile / mse
CLAMP_ACTS = ("none", "relu", "relu6", "clip")
BIAS_LIMIT = 2**24  # s_w[c] is raised so that |bias_q[c]| <= 2**24 (dead channels)
ERROR_TABLE_SAMPLES = 16  # calibration samples for the per-layer error table in metadata


@dataclass
class Range:
    lo: float
    hi: float
    sample: np.ndarray | None = None  # a random subset of the values, for percentile / mse


# ------------------------------------------------------------------ calibration


def collect_ranges(
    graph: ir.Graph, calibration: np.ndarray, method: str = "minmax", batch: int = 16,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:  # fmt: skip
    """Runs the float reference over ``calibration`` and returns each float activation's
    range [lo, hi] (always containing 0) by ``method``."""
    if method not in METHODS:
        raise CalibrationError(f"unknown calibration method {method!r}; use one of {METHODS}")
    x = _check_calibration(graph, calibration)
    rng = np.random.default_rng(seed)
    keep = method != "minmax"
    per_chunk = max(1, SAMPLE_PER_TENSOR * batch // len(x))
    ranges: dict[str, Range] = {}
    chunks = range(0, len(x), batch)
    bar = tqdm(chunks, desc=f"calibrating ({method})", unit="batch", leave=False, disable=None)
    for start in bar:  # disable=None: no bar when stderr is not a terminal
        values = reference.run(graph, {graph.inputs[0]: x[start : start + batch]}, keep_all=True)
        for name, v in values.items():
            t = graph.tensors.get(name)
            if t is None or t.is_const or v is None or v.dtype != np.float32:
                continue
            flat = v.ravel()
            r = ranges.get(name)
            lo, hi = float(flat.min()), float(flat.max())
            picked = rng.choice(flat, min(per_chunk, flat.size), replace=False) if keep else None
            if r is None:
                ranges[name] = Range(lo, hi, picked)
            else:
                r.lo, r.hi = min(r.lo, lo), max(r.hi, hi)
                if keep:
                    r.sample = np.concatenate([r.sample, picked])
    for name, r in ranges.items():
        if not (np.isfinite(r.lo) and np.isfinite(r.hi)):
            raise CalibrationError(
                f"calibration: tensor '{name}' reaches [{r.lo}, {r.hi}] in the float32 "
                "reference; weights or calibration values overflow float32, so it has no "
                "int8 range"
            )
    return {name: _pick_range(r, method) for name, r in ranges.items()}


def _check_calibration(graph: ir.Graph, calibration) -> np.ndarray:
    if calibration is None:
        raise CalibrationError("int8 quantisation needs calibration data (--calibration)")
    x = np.asarray(calibration, dtype=np.float32)
    want = tuple(graph.tensors[graph.inputs[0]].shape[1:])
    if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want or len(x) == 0:
        raise CalibrationError(
            f"calibration data has shape {list(x.shape)}; the model input "
            f"'{graph.inputs[0]}' needs [batch, {', '.join(map(str, want))}] with batch >= 1"
        )
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise CalibrationError(f"calibration data holds NaN or inf (first at index {list(bad)})")
    return x


def _pick_range(r: Range, method: str) -> tuple[float, float]:
    lo, hi = r.lo, r.hi
    if method == "percentile" and r.sample is not None and r.sample.size:
        lo = float(np.percentile(r.sample, 100.0 - PERCENTILE))
        hi = float(np.percentile(r.sample, PERCENTILE))
    elif method == "mse" and r.sample is not None and r.sample.size:
        lo, hi = _mse_range(r.sample, lo, hi)
    return min(lo, 0.0), max(hi, 0.0)


def _mse_range(sample: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """The range [a, b] (a = lo * f, b = hi * g over 64 log-spaced factors each) minimising
    the expected squared int8 error of the sample: the exact clipping error of the values
    outside plus s**2 / 12 (uniform rounding error, s = (b - a) / 255) for those inside."""
    xs = np.sort(np.asarray(sample, np.float64))
    n = len(xs)
    s1 = np.concatenate([[0.0], np.cumsum(xs)])
    s2 = np.concatenate([[0.0], np.cumsum(xs * xs)])
    factors = np.append(np.geomspace(1e-4, 1.0, 64)[:-1], 1.0)
    a = (min(lo, 0.0) * factors)[:, None]  # [64, 1]
    b = (max(hi, 0.0) * factors)[None, :]  # [1, 64]
    i = np.searchsorted(xs, a)  # values below a: xs[:i]
    j = np.searchsorted(xs, b, side="right")  # values above b: xs[j:]
    below = i * a * a - 2 * a * s1[i] + s2[i]
    above = (n - j) * b * b - 2 * b * (s1[n] - s1[j]) + (s2[n] - s2[j])
    inside = (j - i) * ((b - a) / 255.0) ** 2 / 12.0
    err = below + above + inside
    k = np.unravel_index(np.argmin(err), err.shape)
    return float(a[k[0], 0]), float(b[0, k[1]])


def choose_qparams(lo: float, hi: float) -> tuple[float, int]:
    """Per-tensor asymmetric int8 parameters for [lo, hi] (widened to contain 0)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 if hi - lo > 1e-12 else 1.0
    scale = float(np.float32(scale))  # the C boundary ops use a float32 scale
    zp = int(np.clip(np.round(-128.0 - lo / scale), -128, 127))
    return scale, zp


# ------------------------------------------------------------------ the rewrite


def quantize(
    graph: ir.Graph,
    calibration: np.ndarray,
    method: str = "minmax",
    rounding: str = "double",
    int8_io: bool = False,
    bias_correction: str = "none",
) -> ir.Graph:
    """A copy of the lowered float ``graph`` with its quantisable nodes in int8.

    ``bias_correction`` "weights" or "empirical" corrects each conv/dense bias for the
    mean error that int8 adds to its output on the calibration data
    (``cnnc.passes.bias_correction``); "none" (default) does not."""
    if graph.layout != "NHWC":
        raise CnncError("quantize: the graph must be lowered first (cnnc.passes.lower)")
    if rounding not in ROUNDING_MODES:
        raise CnncError(f"unknown rounding mode {rounding!r}; use one of {ROUNDING_MODES}")
    if len(graph.inputs) != 1:
        raise UnsupportedError(f"quantize: one model input expected, got {graph.inputs}")
    bias_correction = bias_correction_mod.check_mode(bias_correction)
    graph = unfuse_table_acts(graph)
    ranges = narrow_to_lut_domain(graph, collect_ranges(graph, calibration, method))
    dropped = []
    if int8_io:
        graph, dropped = _drop_trailing_softmax(graph)
    q = _Rewrite(graph, ranges, rounding, int8_io)
    if bias_correction != "none":
        x = _check_calibration(graph, calibration)
        q.corrector = bias_correction_mod.BiasCorrector(graph, q.out, x, bias_correction, q.qp)
    for node in graph.nodes:
        q.node(node)
    q.finish()
    out = q.out
    quantize_input_first(out)
    out.metadata["cnnc.float_ops"] = ",".join(float_ops_inside(out))
    out.metadata.update({
        "cnnc.precision": "int8", "cnnc.rounding": rounding, "cnnc.calibration": method,
        "cnnc.int8_io": str(int(int8_io)),
    })  # fmt: skip
    if bias_correction != "none":
        out.metadata["cnnc.bias_correction"] = bias_correction
    if dropped:
        out.metadata["cnnc.int8_io_dropped"] = ",".join(dropped)
    x = _check_calibration(graph, calibration)[:ERROR_TABLE_SAMPLES]
    rows = quant_report.quant_error_table(graph, out, x)
    out.metadata[quant_report.METADATA_KEY] = json.dumps(rows)
    return out


def quantize_input_first(graph: ir.Graph) -> None:
    """``reshape(input) -> s8_quantize`` becomes ``s8_quantize(input) -> reshape``, in place.

    Quantisation is elementwise and a reshape keeps row-major order, so both orders give
    the same bytes. Quantised first, the quantiser reads the caller's input where it is
    and the reshape aliases its int8 buffer (cnnc.backend.planner), where the other order
    copied the whole float32 input into the arena. Lowering gives every one-channel NCHW
    input such a reshape: on a 32x32 image, 4 KB and ~2,200 Cortex-M4 instructions."""
    for reshape in list(graph.nodes):
        x = reshape.inputs[0] if reshape.op == "reshape" else None
        if x not in graph.inputs or graph.tensors[x].dtype != "float32":
            continue
        quant = graph.single_consumer(reshape.outputs[0])
        if quant is None or quant.op != "s8_quantize" or quant.outputs[0] in graph.outputs:
            continue
        q = graph.tensors[quant.outputs[0]]
        first = graph.fresh_name(f"{x}.q")
        graph.tensors[first] = ir.Tensor(first, tuple(graph.tensors[x].shape), q.dtype,
                                         quant=copy.deepcopy(q.quant))  # fmt: skip
        del graph.tensors[reshape.outputs[0]]
        quant.inputs, quant.outputs = [x], [first]
        reshape.inputs = [first]
        reshape.outputs = [q.name]
        at = graph.nodes.index(reshape)
        graph.nodes.remove(quant)
        graph.nodes.insert(at, quant)


def _drop_trailing_softmax(graph: ir.Graph) -> tuple[ir.Graph, list[str]]:
    """int8-out models end at the int8 logits: a final softmax (monotonic, same top-1)
    would be the only floating point left, so it is dropped and named in the metadata."""
    nodes, outputs, dropped = list(graph.nodes), list(graph.outputs), []
    for i, y in enumerate(outputs):
        node = graph.producer(y)
        if node is not None and node.op == "softmax" and len(graph.consumers(y)) == 0:
            nodes.remove(node)
            outputs[i] = node.inputs[0]
            dropped.append(node.name)
    g = ir.Graph(graph.tensors, nodes, list(graph.inputs), outputs, graph.layout,
                 dict(graph.metadata))  # fmt: skip
    return g, dropped


class _Rewrite:
    """State of one quantisation rewrite: which float tensors exist in int8 and float."""

    def __init__(self, graph: ir.Graph, ranges, rounding: str, int8_io: bool):
        self.src, self.ranges, self.rounding, self.int8_io = graph, ranges, rounding, int8_io
        consts = {k: copy.deepcopy(t) for k, t in graph.tensors.items() if t.is_const}
        self.out = ir.Graph(consts, [], list(graph.inputs), list(graph.outputs), "NHWC",
                            dict(graph.metadata))  # fmt: skip
        self.qp: dict[str, tuple[float, int]] = {}  # float tensor -> (scale, zero point)
        self.int8_of: dict[str, str] = {}  # float tensor -> its int8 tensor in out
        self.float_of: dict[str, str] = {}  # float tensor -> its float tensor in out
        self.corrector = None  # a bias_correction.BiasCorrector, when asked for
        inp = graph.inputs[0]
        t = graph.tensors[inp]
        if int8_io:
            self.qp[inp] = self.params_of(inp)
            self.add_int8(inp, inp, t.shape)
        else:
            self.out.tensors[inp] = copy.deepcopy(t)
            self.float_of[inp] = inp

    # -- tensors
    def params_of(self, name: str) -> tuple[float, int]:
        if name not in self.qp:
            if name not in self.ranges:
                raise CalibrationError(f"no calibration range for tensor '{name}'")
            self.qp[name] = choose_qparams(*self.ranges[name])
        return self.qp[name]

    def add_int8(self, float_name: str, name: str, shape) -> str:
        scale, zp = self.params_of(float_name)
        quant = ir.QuantParams(np.array(scale, np.float32), np.array(zp, np.int32))
        self.out.tensors[name] = ir.Tensor(name, tuple(shape), "int8", None, quant)
        self.int8_of[float_name] = name
        return name

    def add_float(self, float_name: str, name: str) -> str:
        self.out.tensors[name] = ir.Tensor(name, tuple(self.src.tensors[float_name].shape))
        self.float_of[float_name] = name
        return name

    def keep(self, y: str) -> str:
        """A node left as it is: its output keeps its dtype (float32, or b1 bits)."""
        self.out.tensors[y] = copy.deepcopy(self.src.tensors[y])
        self.float_of[y] = y
        return y

    def need_int8(self, x: str) -> str:
        if x not in self.int8_of:
            scale, zp = self.params_of(x)
            name = self.add_int8(x, f"{x}.q", self.src.tensors[x].shape)
            self.emit("s8_quantize", f"{x}.quantize", [self.need_float(x)], [name],
                      scale=scale, zero_point=zp)  # fmt: skip
        return self.int8_of[x]

    def need_float(self, x: str) -> str:
        if x not in self.float_of:
            scale, zp = self.qp[x]
            name = self.add_float(x, x if x in self.src.outputs else f"{x}.dq")
            self.emit("s8_dequantize", f"{x}.dequantize", [self.int8_of[x]], [name],
                      scale=scale, zero_point=zp)  # fmt: skip
        return self.float_of[x]

    def int8_output(self, node: ir.Node, qp: tuple[float, int] | None = None) -> str:
        y = node.outputs[0]
        if qp is not None:
            self.qp[y] = qp
        name = f"{y}.q" if y in self.src.outputs else y
        return self.add_int8(y, name, self.src.tensors[y].shape)

    def emit(self, op: str, name: str, inputs: list[str], outputs: list[str], **attrs) -> None:
        self.out.nodes.append(ir.Node(op, name, inputs, outputs, attrs))

    def const(self, name: str, data: np.ndarray) -> str:
        return self.out.add_const(name, data)

    # -- nodes
    def node(self, node: ir.Node) -> None:
        rule = RULES.get(node.op)
        if rule is not None and rule(self, node, check_only=True):
            rule(self, node, check_only=False)
            return
        ins = [self.need_float(x) if x and not self.src.tensors[x].is_const else x
               for x in node.inputs]  # fmt: skip
        outs = [self.keep(y) for y in node.outputs]
        self.out.nodes.append(ir.Node(node.op, node.name, ins, outs, dict(node.attrs)))

    def finish(self) -> None:
        for i, y in enumerate(self.src.outputs):
            if self.int8_io:
                self.out.outputs[i] = self.need_int8(y)
            else:
                self.need_float(y)

    def clamp(self, node: ir.Node, scale: float, zp: int) -> dict[str, int]:
        """The fused activation as int8 clamp bounds in the output domain."""
        lo_real, hi_real = ir.act_bounds(node.attrs)
        lo, hi = -128, 127
        if np.isfinite(lo_real):
            lo = int(np.clip(np.round(lo_real / scale) + zp, -128, 127))
        if np.isfinite(hi_real):
            hi = int(np.clip(np.round(hi_real / scale) + zp, -128, 127))
        return {"act_min": lo, "act_max": max(lo, hi)}


# ------------------------------------------------------------------ per-op rules
# A rule returns whether the node can be quantised (check_only=True), else rewrites it.


def _act_ok(node: ir.Node) -> bool:
    return (node.attrs.get("act", "none") or "none") in CLAMP_ACTS


def _weighted(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    if check_only:
        return _act_ok(node) and q.src.tensors[node.inputs[1]].is_const
    w = q.src.tensors[node.inputs[1]].data.astype(np.float64)
    b_name = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    bias = q.src.tensors[b_name].data.astype(np.float64) if b_name else np.zeros(w.shape[0])
    conv = {}
    if node.op == "conv2d":
        conv = dict(strides=list(node.attrs.get("strides", (1, 1))),
                    pads=list(node.attrs.get("pads", (0, 0, 0, 0))),
                    groups=int(node.attrs.get("groups", 1)))  # fmt: skip
        if "dilations" in node.attrs:
            conv["dilations"] = [int(d) for d in node.attrs["dilations"]]
    _emit_weighted(q, node, f"s8_{node.op}", w, bias, conv)
    return True


def _emit_weighted(q: _Rewrite, node: ir.Node, op: str, w, bias, conv_attrs: dict) -> None:
    x = node.inputs[0]
    xq = q.need_int8(x)
    s_x, zx = q.qp[x]
    s_y, zy = q.params_of(node.outputs[0])
    wq, bq, s_w = quantize_weights(w, bias, s_x)
    if q.corrector is not None:
        bq = q.corrector.correct(node, xq, w, bias, conv_attrs, wq, bq, s_w, s_x, zx)
    check_accumulator(node.name, wq.reshape(len(wq), -1), bq, zx)
    mult, shift = _multipliers(s_x * s_w / s_y)
    check_multiplier(mult, shift)
    y = q.int8_output(node)
    consts = [
        q.const(f"{node.name}.wq", wq),
        q.const(f"{node.name}.bias_q", bq),
        q.const(f"{node.name}.mult", mult),
        q.const(f"{node.name}.shift", shift),
    ]
    attrs = dict(x_zero_point=zx, y_zero_point=zy, rounding=q.rounding, **q.clamp(node, s_y, zy))
    q.emit(op, node.name, [xq, *consts], [y], **attrs, **conv_attrs)


def _channel_affine(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    """x * scale[C] + shift[C] on an NHWC activation (standalone BatchNorm, or mul/add by a
    per-channel constant) is a depthwise 1x1 convolution: int8 weights scale, int32 bias."""
    x, *rest = node.inputs
    t = q.src.tensors[x]
    c = t.shape[-1] if t.shape else 0
    consts = [q.src.tensors[n].data for n in rest if n]
    if check_only:
        if node.op in ("mul", "add") and q.src.tensors[x].is_const:
            return False  # the constant comes first: leave it in float
        ok = len(t.shape) == 4 and _act_ok(node) and all(v is not None for v in consts)
        return ok and all(v.size in (1, c) for v in consts) and not t.is_const
    full = [np.broadcast_to(np.asarray(v, np.float64).reshape(-1), (c,)) for v in consts]
    if node.op == "scale_shift":
        scale, shift = full
    elif node.op == "mul":
        scale, shift = full[0], np.zeros(c)
    else:
        scale, shift = np.ones(c), full[0]
    w = scale.reshape(c, 1, 1, 1)
    _emit_weighted(q, node, "s8_conv2d", w, shift, dict(strides=[1, 1], pads=[0, 0, 0, 0],
                                                         groups=c))  # fmt: skip
    return True


def quantize_weights(w: np.ndarray, bias: np.ndarray, s_x: float):
    """Per-output-channel symmetric int8 weights, int32 bias at s_x * s_w[c]."""
    flat = np.abs(w.reshape(len(w), -1))
    s_w = flat.max(axis=1) / 127.0
    s_w = np.maximum(s_w, np.abs(bias) / (s_x * BIAS_LIMIT))  # keeps |bias_q| <= 2**24
    s_w = np.where(s_w > 0, s_w, 1.0)
    shape = (-1,) + (1,) * (w.ndim - 1)
    wq = np.clip(np.round(w / s_w.reshape(shape)), -127, 127).astype(np.int8)
    bq = np.round(bias / (s_x * s_w)).astype(np.int64)
    return wq, bq.astype(np.int32), s_w


def check_accumulator(layer: str, wq: np.ndarray, bias_q: np.ndarray, x_zero_point: int):
    """Proves |bias_q[c] + sum_k (x_k - zx) * wq[c,k]| <= 2**31 - 1 for every int8 input,
    or raises CnncError naming the layer, the channel and K."""
    xmax = max(127 - x_zero_point, x_zero_point + 128)
    bound = np.abs(bias_q.astype(np.int64)) + xmax * np.abs(wq.astype(np.int64)).sum(axis=1)
    c = int(bound.argmax())
    if bound[c] > INT32_MAX:
        raise CnncError(
            f"layer '{layer}': its int32 accumulator can overflow: output channel {c} has "
            f"|bias| + {xmax} * sum|w| = {int(bound[c])} > 2**31-1 over K = {wq.shape[1]} "
            "inputs; split the layer or keep it in float"
        )
    return int(bound.max())


def _add(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    a, b = node.inputs[:2]
    ta, tb = q.src.tensors[a], q.src.tensors[b]
    if tb.is_const:
        return _channel_affine(q, node, check_only)
    operands = add_operands(q, node)
    if check_only:
        return operands is not None and _act_ok(node) and not ta.is_const
    op, a, b = operands
    aq, bq = q.need_int8(a), q.need_int8(b)
    (s_a, za), (s_b, zb) = q.qp[a], q.qp[b]
    s_y, zy = q.params_of(node.outputs[0])
    mults = s8.add_multipliers(s_a, s_b, s_y)
    y = q.int8_output(node)
    q.emit(op, node.name, [aq, bq], [y], a_zero_point=za, b_zero_point=zb,
           y_zero_point=zy, rounding=q.rounding, **mults, **q.clamp(node, s_y, zy))  # fmt: skip
    return True


def add_operands(q: _Rewrite, node: ir.Node) -> tuple[str, str, str] | None:
    """(op, a, b) of an add of two activations: ``s8_add`` for equal shapes; for different
    shapes (x + a per-channel or per-pixel activation) ``s8_add_broadcast`` with a the larger
    input and b read with s8_mul's strides; None when b cannot be read that way."""
    a, b = node.inputs[:2]
    ta, tb = q.src.tensors[a], q.src.tensors[b]
    if ta.is_const or tb.is_const:
        return None
    if tuple(ta.shape) == tuple(tb.shape):
        return "s8_add", a, b
    if ta.size < tb.size:
        a, b, ta, tb = b, a, tb, ta
    try:
        f32.broadcast_strides(node, ta, tb)
    except UnsupportedError:
        return None
    if tuple(q.src.tensors[node.outputs[0]].shape) != tuple(ta.shape):
        return None
    return "s8_add_broadcast", a, b


def _pool(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    x = node.inputs[0]
    if check_only:
        if not _act_ok(node):
            return False
        kh, kw = node.attrs["kernel"]
        if kh * kw > 2**23:
            return False
        if node.op == "avgpool2d" and node.attrs.get("count_include_pad"):
            n, h, w, _ = q.src.tensors[x].shape
            _, oh, ow, _ = q.src.tensors[node.outputs[0]].shape
            sh, sw = node.attrs["strides"]
            t, l_, b, r = node.attrs["pads"]
            # the int8 kernel divides by kh*kw: windows must stay inside the explicit pads
            return (oh - 1) * sh + kh <= h + t + b and (ow - 1) * sw + kw <= w + l_ + r
        return True
    xq = q.need_int8(x)
    scale, zp = q.qp[x]
    y = q.int8_output(node, (scale, zp))
    attrs = {k: node.attrs[k] for k in ("kernel", "strides", "pads") if k in node.attrs}
    attrs["count_include_pad"] = int(bool(node.attrs.get("count_include_pad", 0)))
    q.emit(f"s8_{node.op}", node.name, [xq], [y], zero_point=zp, **attrs,
           **q.clamp(node, scale, zp))  # fmt: skip
    return True


def _global_avgpool(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    x = node.inputs[0]
    _, h, w, _ = q.src.tensors[x].shape
    if check_only:
        return _act_ok(node) and h * w <= 2**23
    xq = q.need_int8(x)
    s_x, zx = q.qp[x]
    s_y, zy = q.params_of(node.outputs[0])
    m, s = once_rounded_multiplier(s_x / (s_y * h * w), h * w * 255, q.rounding)
    y = q.int8_output(node)
    q.emit("s8_global_avgpool", node.name, [xq], [y], x_zero_point=zx, y_zero_point=zy,
           mult=int(m), shift=int(s), rounding=q.rounding, **q.clamp(node, s_y, zy))  # fmt: skip
    return True


ONCE_ROUNDED_MAX_INPUT = 2**24  # |x| / 2**32 <= 2**-8 of an output step (see below)


def once_rounded_multiplier(real: float, max_input: int, rounding: str) -> tuple[int, int]:
    """The (m, s) of a real multiplier 0 < M < 1 for an op whose int32 input is small
    (|x| <= max_input): in "double" rounding, M = m * 2**-31 with s = 0 instead of the
    normalised m in [2**30, 2**31) and s < 0, so the kernel rounds once.

    Why: gemmlowp's double rounding first rounds x * m / 2**31 to an integer h, then
    h / 2**-s. When -s is small the first rounding is coarse: global average pooling's
    M = s_x / (s_y * H * W) is ~0.1 (s = -3), h carries 3 bits below the output step,
    and every x * M within 1/16 below a half rounds up. MobileNetV3-Large's pools came out
    one step high on 4 to 40 % of their outputs (never low), a bias the squeeze-excitation
    gates and the classifier then add up. With s = 0 the right shift is by 0 and h is
    the result: x * m / 2**31 rounded once (ties toward +inf, as "single"). m = round(M *
    2**31) is exact to 2**-32 of M, so the result is off x * M by at most |x| / 2**32
    before rounding: below 2**-8 of a step for |x| <= 2**24 (the contract of
    cnnc_s8.h allows any m in [0, 2**31 - 1]). Larger inputs, M >= 1, and "single"
    rounding keep the normalised form."""
    m, s = _multipliers(np.array(real))
    m, s = int(m), int(s)
    if rounding != "double" or s >= 0 or max_input > ONCE_ROUNDED_MAX_INPUT:
        return m, s
    m0 = int(np.round(real * 2.0**31))
    return (m0, 0) if 0 < m0 <= INT32_MAX else (m, s)


def _concat(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    rank = len(q.src.tensors[node.outputs[0]].shape)
    if check_only:
        consts = any(q.src.tensors[x].is_const for x in node.inputs)
        plain = (node.attrs.get("act", "none") or "none") == "none"  # the kernel has no clamp
        return node.attrs.get("axis", -1) in (-1, rank - 1) and not consts and plain
    xs = [q.need_int8(x) for x in node.inputs]
    s_y, zy = q.params_of(node.outputs[0])
    m, s = _multipliers(np.array([q.qp[x][0] / s_y for x in node.inputs]))
    y = q.int8_output(node)
    q.emit("s8_concat", node.name, xs, [y], x_zero_points=[q.qp[x][1] for x in node.inputs],
           y_zero_point=zy, mults=m.tolist(), shifts=s.tolist(), rounding=q.rounding,
           axis=-1)  # fmt: skip
    return True


def _move(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    """A reshape or transpose of an int8 tensor moves no numbers: it stays int8 with the
    same scale and zero point (a float tensor is moved in float, before quantising)."""
    x = node.inputs[0]
    if check_only:
        return x in q.int8_of and x not in q.float_of
    y = q.int8_output(node, q.qp[x])
    op = "reshape" if node.op == "reshape" else "s8_transpose"
    q.emit(op, node.name, [q.int8_of[x]], [y], **dict(node.attrs))
    return True


def unfuse_table_acts(graph: ir.Graph) -> ir.Graph:
    """A copy of ``graph`` in which every fused activation that is not a clamp (sigmoid,
    tanh, silu, hard_swish, leaky_relu, elu) is a standalone ``act`` node again, so that
    calibration sees the tensor before it and int8 computes it with a lookup table."""
    if all(_act_ok(n) for n in graph.nodes):
        return graph
    g = copy.deepcopy(graph)
    nodes = []
    for node in g.nodes:
        nodes.append(node)
        if node.op == "act" or _act_ok(node):
            continue
        y = node.outputs[0]
        pre = g.fresh_name(f"{y}.pre_act")
        g.tensors[pre] = ir.Tensor(pre, g.tensors[y].shape)
        act = {k: v for k, v in node.attrs.items() if k.startswith("act")}
        for k in act:
            node.attrs.pop(k)
        node.attrs["act"] = "none"
        node.outputs[0] = pre
        nodes.append(ir.Node("act", f"{node.name}.act", [pre], [y], act))
    g.nodes = nodes
    return g


def _table_fn(node: ir.Node):
    """The float32 reference of an elementwise op (what its int8 lookup table tabulates)."""
    if node.op == "hard_sigmoid":
        return lambda v: f32.hard_sigmoid(v, node.attrs["alpha"], node.attrs["beta"])
    return lambda v: f32.apply_act(v, node.attrs)


# Table functions that are exactly constant beyond some input (and monotone up to it):
# hard_sigmoid below -beta/alpha and above (1-beta)/alpha, hard_swish below -3, tanh and
# sigmoid where float32 saturates, elu where expm1 reaches -1.
FLAT_TAIL_FUNCTIONS = ("hard_sigmoid", "hard_swish", "tanh", "sigmoid", "elu")
FLAT_TAIL_GRID = 8193  # float32 points over [lo, hi] on which a tail is found flat


def _table_name(node: ir.Node) -> str:
    return node.attrs.get("act", "none") if node.op == "act" else node.op


def flat_domain(node: ir.Node, lo: float, hi: float) -> tuple[float, float]:
    """The part [a, b] of [lo, hi] outside which the table function of ``node`` is constant:
    the grid points below a (above b) all give exactly f(lo) (f(hi)) in float32."""
    xs = np.linspace(lo, hi, FLAT_TAIL_GRID).astype(np.float32)
    with np.errstate(all="ignore"):
        ys = _table_fn(node)(xs)
    left = np.flatnonzero(ys != ys[0])  # first grid point that leaves f(lo)
    right = np.flatnonzero(ys != ys[-1])  # last grid point before f(hi)
    if not left.size:  # constant over the whole range: keep it (0 stays inside anyway)
        return lo, hi
    return float(xs[left[0] - 1]), float(xs[right[-1] + 1])


def narrow_to_lut_domain(graph: ir.Graph, ranges: dict) -> dict:
    """An activation read only by lookup tables whose function is flat in a tail needs no
    int8 levels there: every input beyond the tail's start gives the same output, so the
    range stops where the function does (the int8 input saturates at that start, and the
    table maps it to the flat value). HardSwish ignores everything below -3 and HardSigmoid
    everything outside [-3, 3]: a pre-activation calibrated at [-40, 90] quantises with a
    third finer steps, a squeeze-excitation gate input at [-140, 130] with 45 times finer
    ones."""
    out = dict(ranges)
    for name, (lo, hi) in ranges.items():
        users = graph.consumers(name)
        if not users or name in graph.outputs:
            continue
        luts = all(
            n.op in RULES and RULES[n.op] is _lut and _table_name(n) in FLAT_TAIL_FUNCTIONS
            and n.inputs[0] == name for n in users
        )  # fmt: skip
        if not luts:
            continue
        doms = [flat_domain(n, lo, hi) for n in users]
        out[name] = (max(lo, min(a for a, _ in doms)), min(hi, max(b for _, b in doms)))
    return out


def _lut(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    """An elementwise function of one int8 tensor is a 256-entry int8 table built here from
    the input's and the output's (calibrated) scales: no float at run time."""
    x = node.inputs[0]
    if check_only:
        return not q.src.tensors[x].is_const and q.src.tensors[x].dtype == "float32"
    xq = q.need_int8(x)
    s_x, zx = q.qp[x]
    s_y, zy = q.params_of(node.outputs[0])
    table = s8.lut_table(_table_fn(node), s_x, zx, s_y, zy)
    y = q.int8_output(node)
    fn = _table_name(node)
    q.emit("s8_lut", node.name, [xq, q.const(f"{node.name}.table", table)], [y], fn=fn)
    return True


def _mul(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    """mul by a constant: a depthwise 1x1 conv (``_channel_affine``); mul of two
    activations (squeeze-excitation x * gate, broadcast per channel): ``s8_mul``."""
    a, b = node.inputs[:2]
    ta, tb = q.src.tensors[a], q.src.tensors[b]
    if ta.is_const or tb.is_const:
        return _channel_affine(q, node, check_only)
    if ta.size < tb.size:
        a, b, ta, tb = b, a, tb, ta
    if check_only:
        if not _act_ok(node) or ta.dtype != "float32" or tb.dtype != "float32":
            return False
        try:
            f32.broadcast_strides(node, ta, tb)
        except UnsupportedError:
            return False
        return True
    aq, bq = q.need_int8(a), q.need_int8(b)
    (s_a, za), (s_b, zb) = q.qp[a], q.qp[b]
    s_y, zy = q.params_of(node.outputs[0])
    m, s = once_rounded_multiplier(s_a * s_b / s_y, 255 * 255, q.rounding)
    check_multiplier(m, s)
    y = q.int8_output(node)
    q.emit("s8_mul", node.name, [aq, bq], [y], a_zero_point=za, b_zero_point=zb,
           y_zero_point=zy, mult=int(m), shift=int(s), rounding=q.rounding,
           **q.clamp(node, s_y, zy))  # fmt: skip
    return True


def _softmax(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    """A softmax between int8 layers: ``s8_softmax`` (exp by an int32 table built here from
    the input scale, output at scale 1/256, zero point -128 as TFLite). A softmax whose
    output is a model output stays float after the dequantise, as before: it is no island,
    and keeps the probabilities' float resolution."""
    x, y = node.inputs[0], node.outputs[0]
    if check_only:
        t = q.src.tensors[x]
        rank = len(t.shape)
        last = node.attrs.get("axis", -1) in (-1, rank - 1)
        inside = y not in q.src.outputs and x in q.int8_of
        return last and inside and 0 < t.shape[-1] <= s8.SOFTMAX_MAX_C
    xq = q.need_int8(x)
    table = s8.softmax_exp_table(q.qp[x][0])
    out = q.int8_output(node, (s8.SOFTMAX_SCALE, s8.SOFTMAX_ZERO_POINT))
    q.emit("s8_softmax", node.name, [xq, q.const(f"{node.name}.exp_table", table)], [out])
    return True


def _channel_slice(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    """A Split part of an int8 tensor keeps its scale and zero point: a copy of bytes."""
    x = node.inputs[0]
    if check_only:
        return x in q.int8_of and x not in q.float_of
    y = q.int8_output(node, q.qp[x])
    q.emit("s8_channel_slice", node.name, [q.int8_of[x]], [y], **dict(node.attrs))
    return True


RULES = {
    "channel_slice": _channel_slice,
    "softmax": _softmax,
    "act": _lut,
    "hard_sigmoid": _lut,
    "conv2d": _weighted,
    "dense": _weighted,
    "add": _add,
    "mul": _mul,
    "scale_shift": _channel_affine,
    "maxpool2d": _pool,
    "avgpool2d": _pool,
    "global_avgpool": _global_avgpool,
    "concat": _concat,
    "reshape": _move,
    "transpose": _move,
}


# ------------------------------------------------------------------ checks on the result


def float_ops_inside(graph: ir.Graph) -> list[str]:
    """Nodes that compute in floating point between an s8_quantize and an s8_dequantize
    (empty for an integer-only model)."""
    downstream: set[str] = set()  # tensors reachable from a quantize
    for node in graph.nodes:
        if node.op == "s8_quantize" or any(x in downstream for x in node.inputs):
            downstream.update(node.outputs)
    upstream: set[str] = set()  # tensors that reach a dequantize
    for node in reversed(graph.nodes):
        if node.op == "s8_dequantize" or any(y in upstream for y in node.outputs):
            upstream.update(x for x in node.inputs if x)
    inside = []
    for node in graph.nodes:
        if node.op in ("s8_quantize", "s8_dequantize"):
            continue
        between = any(x in downstream for x in node.inputs) and any(
            y in upstream for y in node.outputs)  # fmt: skip
        float_out = any(graph.tensors[y].dtype == "float32" for y in node.outputs)
        if between and float_out:
            inside.append(node.name)
    return inside


# ------------------------------------------------------------------ spatial ops (heads)
# pad2d and resize2d stay at their input's scale and zero point (cnnc.ops.spatial).


def _pad(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    x = node.inputs[0]
    if check_only:
        return not q.src.tensors[x].is_const
    xq = q.need_int8(x)
    scale, zp = q.qp[x]
    value = zp
    if node.attrs["mode"] == "constant":
        real = float(node.attrs.get("value", 0.0))
        value = int(np.clip(np.round(real / scale) + zp, -128, 127))
        if not np.isclose(scale * (value - zp), real, rtol=1e-6, atol=0.0):
            raise UnsupportedError(
                f"node '{node.name}' (Pad): constant value {real!r} is not representable in "
                f"int8 at the input's scale {scale:.6g} and zero point {zp} (nearest "
                f"{scale * (value - zp):.6g}); pad with 0 or compile this model in float32"
            )
    y = q.int8_output(node, (scale, zp))
    attrs = {k: node.attrs[k] for k in ("pads", "mode", "strides")}
    q.emit("s8_pad2d", node.name, [xq], [y], value=value, **attrs)
    return True


def _resize(q: _Rewrite, node: ir.Node, check_only: bool) -> bool:
    x, ytab, xtab, wy, wx = node.inputs
    if check_only:
        return not q.src.tensors[x].is_const
    xq = q.need_int8(x)
    y = q.int8_output(node, q.qp[x])
    tables = []
    for name, idx, weights in (
        (f"{node.name}.ytab_q11", ytab, wy),
        (f"{node.name}.xtab_q11", xtab, wx),
    ):
        i = q.src.tensors[idx].data
        w1 = q.src.tensors[weights].data[:, 1]
        tables.append(q.const(name, spatial.q11_table(i[:, 0], i[:, 1], w1)))
    q.emit("s8_resize2d", node.name, [xq, *tables], [y], mode=node.attrs["mode"])
    return True


RULES.update(pad2d=_pad, resize2d=_resize)
