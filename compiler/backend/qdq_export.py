"""Export a quantised graph as standard ONNX (QLinearConv + QDQ) so onnxruntime runs it.

``to_onnx(qgraph)`` writes the int8 model in the ONNX layout (NCHW), opset 13:

    s8_quantize / s8_dequantize   QuantizeLinear / DequantizeLinear
    s8_conv2d                     QLinearConv (per-channel int8 weights, int32 bias)
    s8_dense                      Reshape [N,K,1,1] -> QLinearConv 1x1 -> Reshape [N,M]
    s8_add, pools, global pool,   DequantizeLinear -> the float op -> QuantizeLinear
    s8_concat                     (the "QDQ" form: onnxruntime fuses or runs it in float)
    fused ReLU / ReLU6 clamps     Max / Min on the int8 tensor
    reshape, transposes           Reshape / Transpose (layout conversions vanish: the
                                  exported graph stays NCHW throughout)

The weight scale of channel c is the effective one the integer multiplier encodes,
``s_w[c] = M[c] * s_y / s_x`` with ``M[c] = mult[c] * 2**(shift[c] - 31)``, so
onnxruntime's float requantisation targets the same real multiplier; it rounds
``acc * M`` once, half to even, in float, where cnnc rounds in fixed point, so
single-layer outputs may differ by 1 LSB and no more.

``compare_with_onnxruntime(qgraph, x)`` runs both on the same inputs and reports how
often the int8 output (the tensor before the final dequantisation) differs and by how
many LSB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import ir, reference
from ..errors import UnsupportedError

OPSET = 13
REQUANT_KEY = "cnnc.qlinear_requant"  # read by cnnc.frontend.qdq_import (same literal)
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


@dataclass
class _Value:
    name: str  # the ONNX value
    nchw: bool  # True: ONNX holds the 4-D NHWC cnnc tensor as NCHW


class _Export:
    def __init__(self, graph: ir.Graph):
        self.g = graph
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.values: dict[str, _Value] = {}
        self.names: set[str] = set()
        self.requant: dict[str, dict] = {}  # QLinearConv output -> cnnc's exact mult/shift

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.names or name in self.g.tensors:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def init(self, base: str, array: np.ndarray) -> str:
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.fresh(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def qparams(self, tensor: str) -> tuple[str, str, float, int]:
        q = self.g.tensors[tensor].quant
        scale, zp = float(q.scale), int(q.zero_point)
        return (self.init(f"{tensor}.scale", np.array(scale, np.float32)),
                self.init(f"{tensor}.zp", np.array(zp, np.int8)), scale, zp)  # fmt: skip

    # layouts
    def as_nchw(self, tensor: str) -> str:
        v = self.values[tensor]
        if v.nchw or len(self.g.tensors[tensor].shape) != 4:
            return v.name
        return self.node("Transpose", [v.name], f"{tensor}.nchw", perm=NHWC_TO_NCHW)

    def as_is(self, tensor: str) -> str:
        v = self.values[tensor]
        if not v.nchw:
            return v.name
        return self.node("Transpose", [v.name], f"{tensor}.nhwc", perm=NCHW_TO_NHWC)

    def dq(self, tensor: str, nchw: bool) -> str:
        s, z, _, _ = self.qparams(tensor)
        x = self.as_nchw(tensor) if nchw else self.as_is(tensor)
        return self.node("DequantizeLinear", [x, s, z], f"{tensor}.dq")

    def q(self, x: str, tensor: str) -> str:
        s, z, _, _ = self.qparams(tensor)
        return self.node("QuantizeLinear", [x, s, z], f"{tensor}.q")

    def clamp(self, x: str, node: ir.Node) -> str:
        lo, hi = node.attrs.get("act_min", -128), node.attrs.get("act_max", 127)
        if lo > -128:
            x = self.node("Max", [x, self.init("act_min", np.array(lo, np.int8))], f"{x}.max")
        if hi < 127:
            x = self.node("Min", [x, self.init("act_max", np.array(hi, np.int8))], f"{x}.min")
        return x

    def define(self, node: ir.Node, name: str, nchw: bool) -> None:
        self.values[node.outputs[0]] = _Value(name, nchw)


def _effective_weight_scale(mult: np.ndarray, shift: np.ndarray, s_x: float, s_y: float):
    real = mult.astype(np.float64) * np.exp2(shift.astype(np.float64) - 31)
    return (real * s_y / s_x).astype(np.float32)


def _qlinear_conv(e: _Export, node: ir.Node, x: str, w: np.ndarray, **attrs) -> str:
    """QLinearConv of ONNX value x (NCHW int8) with w [Co, Ci/g, KH, KW] int8."""
    xs, xz, s_x, _ = e.qparams(node.inputs[0])
    ys, yz, s_y, _ = e.qparams(node.outputs[0])
    bias, mult, shift = (e.g.tensors[n].data for n in node.inputs[2:5])
    s_w = _effective_weight_scale(mult, shift, s_x, s_y)
    s_w = np.where(s_w > 0, s_w, np.float32(1.0))  # M = 0 channels: any scale, bias 0
    inputs = [x, xs, xz, e.init(f"{node.name}.w", w), e.init(f"{node.name}.w_scale", s_w),
              e.init(f"{node.name}.w_zp", np.zeros(len(w), np.int8)), ys, yz,
              e.init(f"{node.name}.b", bias.astype(np.int32))]  # fmt: skip
    out = e.node("QLinearConv", inputs, node.name, **attrs)
    e.requant[out] = {"mult": [int(v) for v in mult], "shift": [int(v) for v in shift],
                      "rounding": str(node.attrs.get("rounding", "single"))}  # fmt: skip
    return out


def _conv(e: _Export, node: ir.Node) -> None:
    w = e.g.tensors[node.inputs[1]].data.transpose(0, 3, 1, 2)  # OHWI -> OIHW
    sh, sw = node.attrs.get("strides", (1, 1))
    y = _qlinear_conv(e, node, e.as_nchw(node.inputs[0]), np.ascontiguousarray(w),
                      kernel_shape=list(w.shape[2:]), strides=[int(sh), int(sw)],
                      pads=[int(p) for p in node.attrs.get("pads", (0, 0, 0, 0))],
                      group=int(node.attrs.get("groups", 1)),
                      dilations=[int(d) for d in node.attrs.get("dilations", (1, 1))])  # fmt: skip
    e.define(node, e.clamp(y, node), True)


def _dense(e: _Export, node: ir.Node) -> None:
    w = e.g.tensors[node.inputs[1]].data
    m, k = w.shape
    x = e.node("Reshape", [e.as_is(node.inputs[0]), e.init("shape", np.array([-1, k, 1, 1]))],
               f"{node.name}.as_image")  # fmt: skip
    y = _qlinear_conv(e, node, x, w.reshape(m, k, 1, 1), kernel_shape=[1, 1])
    y = e.node("Reshape", [y, e.init("shape", np.array([-1, m]))], f"{node.name}.flat")
    e.define(node, e.clamp(y, node), False)


def _qdq(onnx_op: str, **fixed):
    """DequantizeLinear inputs -> onnx_op -> QuantizeLinear to the output's params."""

    def export(e: _Export, node: ir.Node) -> None:
        rank = len(e.g.tensors[node.outputs[0]].shape)
        nchw = rank == 4
        xs = [e.dq(x, nchw) for x in node.inputs]
        attrs = dict(fixed)
        if node.op in ("s8_maxpool2d", "s8_avgpool2d"):
            attrs.update(kernel_shape=[int(k) for k in node.attrs["kernel"]],
                         strides=[int(s) for s in node.attrs.get("strides", (1, 1))],
                         pads=[int(p) for p in node.attrs.get("pads", (0, 0, 0, 0))])  # fmt: skip
            if node.op == "s8_avgpool2d":
                attrs["count_include_pad"] = int(node.attrs.get("count_include_pad", 0))
        if node.op == "s8_concat":
            attrs["axis"] = 1 if nchw else rank - 1
        y = e.node(onnx_op, xs, f"{node.name}.float", **attrs)
        e.define(node, e.clamp(e.q(y, node.outputs[0]), node), nchw)

    return export


def _quantize(e: _Export, node: ir.Node) -> None:
    v = e.values[node.inputs[0]]
    e.define(node, e.q(v.name, node.outputs[0]), v.nchw)


def _dequantize(e: _Export, node: ir.Node) -> None:
    v = e.values[node.inputs[0]]
    s, z, _, _ = e.qparams(node.inputs[0])
    e.define(node, e.node("DequantizeLinear", [v.name, s, z], node.outputs[0]), v.nchw)


def _transpose(e: _Export, node: ir.Node) -> None:
    perm = [int(p) for p in node.attrs["perm"]]
    v = e.values[node.inputs[0]]
    if perm == NCHW_TO_NHWC and not v.nchw:  # the NCHW -> NHWC boundary: nothing to do
        e.define(node, v.name, True)
    elif perm == NHWC_TO_NCHW and v.nchw:  # and back
        e.define(node, v.name, False)
    else:
        e.define(node, e.node("Transpose", [e.as_is(node.inputs[0])], node.name, perm=perm),
                 False)  # fmt: skip


def _reshape(e: _Export, node: ir.Node) -> None:
    shape = [-1, *e.g.tensors[node.outputs[0]].shape[1:]]
    y = e.node("Reshape", [e.as_is(node.inputs[0]), e.init("shape", np.array(shape))],
               node.name)  # fmt: skip
    e.define(node, y, False)


def _softmax(e: _Export, node: ir.Node) -> None:
    rank = len(e.g.tensors[node.inputs[0]].shape)
    e.define(node, e.node("Softmax", [e.as_is(node.inputs[0])], node.name, axis=rank - 1), False)


EXPORTERS = {
    "s8_quantize": _quantize,
    "s8_dequantize": _dequantize,
    "s8_conv2d": _conv,
    "s8_dense": _dense,
    "s8_add": _qdq("Add"),
    "s8_maxpool2d": _qdq("MaxPool"),
    "s8_avgpool2d": _qdq("AveragePool"),
    "s8_global_avgpool": _qdq("GlobalAveragePool"),
    "s8_concat": _qdq("Concat"),
    "s8_transpose": _transpose,
    "transpose": _transpose,
    "reshape": _reshape,
    "softmax": _softmax,
}

ONNX_TYPES = {"float32": TensorProto.FLOAT, "int8": TensorProto.INT8}


def to_onnx(qgraph: ir.Graph, extra_outputs: list[str] = ()) -> onnx.ModelProto:
    """The quantised graph as an ONNX model (NCHW, opset 13); ``extra_outputs`` adds
    graph outputs for cnnc tensors (e.g. int8 ones, in cnnc's layout)."""
    e = _Export(qgraph)
    for inp in qgraph.inputs:
        e.values[inp] = _Value(inp, False)
        e.names.add(inp)
    for node in qgraph.nodes:
        fn = EXPORTERS.get(node.op)
        if fn is None:
            raise UnsupportedError(
                f"qdq export: node '{node.name}' ({node.op}) has no ONNX form; supported: "
                f"{', '.join(sorted(EXPORTERS))}"
            )
        fn(e, node)
    outputs = []
    for name in [*qgraph.outputs, *extra_outputs]:
        t = qgraph.tensors[name]
        value = e.as_is(name)
        if value != name:
            e.nodes.append(helper.make_node("Identity", [value], [name], name=f"{name}.out"))
        outputs.append(helper.make_tensor_value_info(name, ONNX_TYPES[t.dtype], list(t.shape)))
    inputs = [
        helper.make_tensor_value_info(name, ONNX_TYPES[t.dtype], ["N", *t.shape[1:]])
        for name, t in ((n, qgraph.tensors[n]) for n in qgraph.inputs)
    ]
    graph = helper.make_graph(e.nodes, "cnnc_int8", inputs, outputs, e.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    helper.set_model_props(model, {k: str(v) for k, v in qgraph.metadata.items()})
    if e.requant:  # lets cnnc's pre-quantised import rebuild the same integers (round trip)
        entry = model.metadata_props.add()
        entry.key, entry.value = REQUANT_KEY, json.dumps(e.requant)
    onnx.checker.check_model(model)
    return model


def int8_result(qgraph: ir.Graph) -> str:
    """The int8 tensor the model's output is dequantised from (or the int8 output)."""
    out = qgraph.outputs[0]
    if qgraph.tensors[out].dtype == "int8":
        return out
    for node in qgraph.nodes:
        if node.op == "s8_dequantize":
            last = node.inputs[0]
    return last


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip
    names = [o.name for o in sess.get_outputs()]
    outs = []
    for i in range(len(next(iter(feeds.values())))):  # the graph has batch-1 output shapes
        outs.append(sess.run(names, {k: v[i : i + 1] for k, v in feeds.items()}))
    return {n: np.concatenate([o[k] for o in outs]) for k, n in enumerate(names)}


def compare_with_onnxruntime(qgraph: ir.Graph, x: np.ndarray) -> dict:
    """Runs cnnc's reference and onnxruntime on the exported model; compares the int8
    result tensor. Returns: elements, differing (fraction), max_lsb, histogram
    {|diff| in LSB: count}, top1_agreement (argmax over the last axis)."""
    target = int8_result(qgraph)
    model = to_onnx(qgraph, extra_outputs=[target] if target not in qgraph.outputs else [])
    feeds = {qgraph.inputs[0]: np.ascontiguousarray(x)}
    ours = reference.run(qgraph, feeds, keep_all=True)[target].astype(np.int32)
    theirs = run_onnxruntime(model, feeds)[target].astype(np.int32).reshape(ours.shape)
    diff = np.abs(ours - theirs)
    values, counts = np.unique(diff, return_counts=True)
    flat = ours.reshape(len(ours), -1)
    return {
        "elements": int(diff.size),
        "differing": float(np.mean(diff > 0)),
        "max_lsb": int(diff.max()),
        "histogram": {int(v): int(c) for v, c in zip(values, counts, strict=True)},
        "top1_agreement": float(np.mean(flat.argmax(1) == theirs.reshape(len(ours), -1).argmax(1))),
    }


def compare_layers_with_onnxruntime(qgraph: ir.Graph, x: np.ndarray) -> list[dict]:
    """Each int8 layer alone: onnxruntime runs the layer's ONNX form on the int8 inputs
    cnnc's reference computed, and its output is compared with cnnc's. Differences do not
    accumulate here, so more than 1 LSB in any row is a bug. Rows: layer, op, differing
    (fraction), max_lsb."""
    values = reference.run(qgraph, {qgraph.inputs[0]: np.ascontiguousarray(x)}, keep_all=True)
    rows = []
    for node in qgraph.nodes:
        if not node.op.startswith("s8_") or node.op in ("s8_quantize", "s8_dequantize"):
            continue
        acts = [n for n in dict.fromkeys(node.inputs) if not qgraph.tensors[n].is_const]
        tensors = {n: qgraph.tensors[n] for n in [*node.inputs, *node.outputs]}
        one = ir.Graph(tensors, [node], acts, list(node.outputs), "NHWC")
        got = run_onnxruntime(to_onnx(one), {n: values[n] for n in acts})[node.outputs[0]]
        want = values[node.outputs[0]]
        diff = np.abs(want.astype(np.int32) - got.reshape(want.shape).astype(np.int32))
        rows.append({"layer": node.name, "op": node.op, "differing": float(np.mean(diff > 0)),
                     "max_lsb": int(diff.max())})  # fmt: skip
    return rows


def format_comparison(report: dict) -> str:
    hist = ", ".join(f"{k} LSB: {v}" for k, v in sorted(report["histogram"].items()))
    return (f"onnxruntime vs cnnc int8 output: {report['differing'] * 100:.2f} % of "
            f"{report['elements']} values differ, max {report['max_lsb']} LSB ({hist}); "
            f"top-1 agreement {report['top1_agreement'] * 100:.2f} %")  # fmt: skip
