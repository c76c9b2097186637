"""Pre-quantised ONNX import: QDQ and QOperator graphs -> a float graph plus the model's
own quantisation parameters (no calibration).

``onnx_import.load`` calls ``strip(model, where)`` when a model holds QuantizeLinear,
DequantizeLinear or QLinear* nodes. It returns the float model cnnc's ordinary import
reads (every constant DequantizeLinear evaluated, every activation Q -> DQ pair removed)
and records in the model's metadata (key ``METADATA_KEY``, JSON) what the model says:

- ``act``: float tensor name -> [scale, zero_point] of each quantised activation, the
  zero point in int8 (a uint8 tensor's zero point minus 128: ``q_u8 - zp_u8 ==
  (q_u8 - 128) - (zp_u8 - 128)``, so uint8 activations map to int8 exactly);
- ``weights``: Conv/Gemm/MatMul node name -> per-output-channel weight scales and, when
  the model stores it, the int32 bias with its scales.

``cnnc.passes.prequant`` then builds the int8 graph from that record instead of from
calibrated ranges. QOperator nodes (QLinearConv, QLinearMatMul, QGemm, QLinearAdd,
QLinearMul, QLinearGlobalAveragePool, QLinearAveragePool, QLinearConcat, QLinearSigmoid,
QLinearLeakyRelu; Split, Pad and Resize of a quantised tensor) are first
rewritten into the QDQ form they stand for (``qoperator_to_qdq``), so both formats share
one path.

Contract checks made here (each refusal names the node and the value):
- weights int8 (or uint8) with zero point 0 and values in [-127, 127]: every SIMD overflow
  proof of cnnc's int8 kernels assumes |w| <= 127 and a zero weight zero point. Neither
  can be remapped exactly in general (a -128 weight is not a multiple of anything in
  [-127, 127] at the same scale, and a weight zero point makes the accumulator depend on
  the sum of the inputs), so such weights are refused, not approximated;
- per-channel weight scales along the output-channel axis only;
- activation QuantizeLinear -> DequantizeLinear pairs with the same scale and zero point;
- no float op left between two quantised tensors (checked after the rewrite).
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import ModelError, UnsupportedError

METADATA_KEY = "cnnc.prequant"
EXPORT_REQUANT_KEY = "cnnc.qlinear_requant"  # cnnc.backend.qdq_export's exact multipliers
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
QOPERATOR_OPS = (
    "QLinearConv",
    "QLinearMatMul",
    "QGemm",
    "QLinearAdd",
    "QLinearMul",
    "QLinearGlobalAveragePool",
    "QLinearAveragePool",
    "QLinearConcat",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
)
WEIGHTED_OPS = ("Conv", "Gemm", "MatMul", "ConvTranspose")
# ops that only move or select int8 values: in QOperator graphs they read quantised tensors
MOVE_OPS = ("Flatten", "Reshape", "Transpose", "MaxPool", "Squeeze", "Unsqueeze", "Identity")
MS_DOMAIN = "com.microsoft"


def is_prequantised(model: onnx.ModelProto) -> bool:
    return any(n.op_type in QDQ_OPS + QOPERATOR_OPS for n in model.graph.node)


def _node_label(node: onnx.NodeProto) -> str:
    return f"node '{node.name or node.output[0]}' ({node.op_type})"


class _Consts:
    """The model's initializers and Constant nodes as NumPy arrays, by name."""

    def __init__(self, model: onnx.ModelProto, where: str):
        self.where = where
        self.values: dict[str, np.ndarray] = {
            t.name: numpy_helper.to_array(t) for t in model.graph.initializer
        }
        for node in model.graph.node:
            if node.op_type == "Constant" and node.output:
                for a in node.attribute:
                    if a.name == "value":
                        self.values[node.output[0]] = numpy_helper.to_array(a.t)

    def get(self, name: str, node: onnx.NodeProto, what: str) -> np.ndarray:
        if not name or name not in self.values:
            raise UnsupportedError(
                f"{self.where}: {_node_label(node)}: its {what} '{name}' is not a constant; "
                "cnnc reads pre-quantised models whose scales and zero points are constants"
            )
        return self.values[name]


def _scale_zp(consts: _Consts, node: onnx.NodeProto, s_in: int, z_in: int):
    """(scale float32 array, zero point int64 array, dtype of the quantised values)."""
    if len(node.input) <= s_in:
        raise ModelError(f"{consts.where}: {_node_label(node)}: has no scale input")
    scale = np.asarray(consts.get(node.input[s_in], node, "scale"))
    if scale.dtype != np.float32:
        raise UnsupportedError(
            f"{consts.where}: {_node_label(node)}: scale of dtype {scale.dtype}; cnnc reads "
            "float32 scales"
        )
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        bad = scale[~(np.isfinite(scale) & (scale > 0))].ravel()[0]
        raise ModelError(
            f"{consts.where}: {_node_label(node)}: scale {bad} is not positive and finite"
        )
    if len(node.input) > z_in and node.input[z_in]:
        zp = np.asarray(consts.get(node.input[z_in], node, "zero point"))
    else:
        zp = np.zeros((), np.uint8)  # ONNX default: uint8, zero point 0
    return scale, zp.astype(np.int64), zp.dtype


def _act_qparams(consts, node, s_in, z_in) -> tuple[float, int]:
    """A per-tensor activation's (scale, int8 zero point); uint8 maps to int8 (zp - 128)."""
    scale, zp, dtype = _scale_zp(consts, node, s_in, z_in)
    if scale.size != 1 or zp.size != 1:
        raise UnsupportedError(
            f"{consts.where}: {_node_label(node)}: per-channel activation quantisation "
            f"(scale of shape {list(scale.shape)}); cnnc quantises activations per tensor"
        )
    if dtype not in (np.int8, np.uint8):
        raise UnsupportedError(
            f"{consts.where}: {_node_label(node)}: activations quantised to {dtype}; cnnc "
            "reads int8 and uint8 activations"
        )
    z = int(zp.ravel()[0]) - (128 if dtype == np.uint8 else 0)
    return float(scale.ravel()[0]), z


# ------------------------------------------------------------------ QOperator -> QDQ


class _QDQWriter:
    """Builds the QDQ equivalent of a QOperator graph, node by node."""

    def __init__(self, model: onnx.ModelProto, consts: _Consts):
        self.consts = consts
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.used = {n for node in model.graph.node for n in list(node.input) + list(node.output)}
        self.used |= {t.name for t in model.graph.initializer}
        self.qparams: dict[str, tuple[str, str]] = {}  # quantised tensor -> (scale, zp) names

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def add(self, op: str, inputs: list[str], base: str, outputs=None, **attrs) -> str:
        out = outputs or [self.fresh(base)]
        self.nodes.append(
            helper.make_node(op, inputs, out, name=self.fresh(f"{base}.node"), **attrs)
        )
        return out[0]

    def dq(self, q: str, scale: str, zp: str, **attrs) -> str:
        return self.add("DequantizeLinear", [q, scale, zp], f"{q}.dq", **attrs)

    def q(self, x: str, scale: str, zp: str, out: str) -> str:
        self.qparams[out] = (scale, zp)
        return self.add("QuantizeLinear", [x, scale, zp], f"{out}.q", outputs=[out])


def qoperator_to_qdq(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """The QDQ form of a QOperator model: QLinearX(q inputs) -> DQ -> X -> Q."""
    if not any(n.op_type in QOPERATOR_OPS for n in model.graph.node):
        return model
    consts = _Consts(model, where)
    w = _QDQWriter(model, consts)
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for i in node.input:
            users.setdefault(i, []).append(node)
    merged: set[str] = set()  # outputs of Min nodes already written as part of a Clip
    for node in model.graph.node:
        if node.output and node.output[0] in merged:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        ins = list(node.input) + [""] * 12
        op, out = node.op_type, node.output[0]
        if op == "QuantizeLinear":
            w.qparams[out] = (ins[1], ins[2])
            w.nodes.append(node)
        elif op in ("QLinearConv", "QLinearMatMul", "QGemm"):
            x = w.dq(ins[0], ins[1], ins[2])
            wq = w.dq(ins[3], ins[4], ins[5], **_weight_axis(consts, node, ins[3], ins[4]))
            if op == "QLinearConv":
                b = [_bias_dq(w, ins[8], ins[1], ins[4], node)] if ins[8] else []
                y = w.add("Conv", [x, wq, *b], node.name or out, **attrs)
                w.q(y, ins[6], ins[7], out)
            elif op == "QLinearMatMul":
                y = w.add("MatMul", [x, wq], node.name or out)
                w.q(y, ins[6], ins[7], out)
            else:  # QGemm: A, a_s, a_zp, B, b_s, b_zp, C, y_s, y_zp; C is int32 at a_s * b_s
                if not ins[7]:
                    raise UnsupportedError(
                        f"{where}: {_node_label(node)}: QGemm with a float "
                        "output; cnnc reads QGemm with y_scale"
                    )
                b = [_bias_dq(w, ins[6], ins[1], ins[4], node)] if ins[6] else []
                keep = {k: v for k, v in attrs.items() if k in ("transA", "transB", "alpha")}
                y = w.add("Gemm", [x, wq, *b], node.name or out, **keep)
                w.q(y, ins[7], ins[8], out)
        elif op in ("QLinearAdd", "QLinearMul"):
            a, b = w.dq(ins[0], ins[1], ins[2]), w.dq(ins[3], ins[4], ins[5])
            y = w.add(op[len("QLinear") :], [a, b], node.name or out)
            w.q(y, ins[6], ins[7], out)
        elif op in ("QLinearGlobalAveragePool", "QLinearAveragePool"):
            if attrs.pop("channels_last", 0):
                raise UnsupportedError(
                    f"{where}: {_node_label(node)}: channels_last=1; cnnc reads NCHW pooling"
                )
            x = w.dq(ins[0], ins[1], ins[2])
            y = w.add(op[len("QLinear") :], [x], node.name or out, **attrs)
            w.q(y, ins[3], ins[4], out)
        elif op == "QLinearConcat":  # Y_scale, Y_zp, then (X, X_scale, X_zp) per input
            xs = [w.dq(ins[i], ins[i + 1], ins[i + 2]) for i in range(2, len(node.input), 3)]
            y = w.add("Concat", xs, node.name or out, **attrs)
            w.q(y, ins[0], ins[1], out)
        elif op in ("Max", "Min") and node.input[0] in w.qparams and len(node.input) == 2:
            # a clamp on a quantised tensor (cnnc's own export writes fused ReLU so): one
            # Clip, also for Max followed by Min (ReLU6)
            s, z = w.qparams[node.input[0]]
            x = w.dq(node.input[0], s, z)
            args = [x, "", ""]
            args[1 if op == "Max" else 2] = w.dq(node.input[1], s, z)
            nxt = users.get(out, [])
            if op == "Max" and len(nxt) == 1 and nxt[0].op_type == "Min" and len(nxt[0].input) == 2:
                args[2] = w.dq(nxt[0].input[1], s, z)
                merged.add(nxt[0].output[0])
                out = nxt[0].output[0]
            y = w.add("Clip", args, node.name or out)
            w.q(y, s, z, out)
        elif op in ("QLinearSigmoid", "QLinearLeakyRelu"):  # X, X_s, X_zp, Y_s, Y_zp
            x = w.dq(ins[0], ins[1], ins[2])
            y = w.add(op[len("QLinear") :], [x], node.name or out, **attrs)
            w.q(y, ins[3], ins[4], out)
        elif op == "Split" and node.input[0] in w.qparams:  # every part keeps the parameters
            s, z = w.qparams[node.input[0]]
            x = w.dq(node.input[0], s, z)
            parts = [w.fresh(f"{o}.f") for o in node.output]
            w.add(op, [x, *node.input[1:]], node.name or out, outputs=parts, **attrs)
            for part, o in zip(parts, node.output, strict=True):
                w.q(part, s, z, o)
        elif op == "Pad" and node.input[0] in w.qparams:  # its constant value is quantised too
            s, z = w.qparams[node.input[0]]
            x = w.dq(node.input[0], s, z)
            value = [w.dq(ins[2], s, z)] if ins[2] else []
            axes = [ins[3]] if ins[3] else []
            y = w.add(op, [x, ins[1], *(value or ([""] if axes else [])), *axes],
                      node.name or out, **attrs)  # fmt: skip
            w.q(y, s, z, out)
        elif (op in MOVE_OPS or op == "Resize") and node.input and node.input[0] in w.qparams:
            # Resize reads uint8 in a QOperator graph and keeps its input's parameters
            s, z = w.qparams[node.input[0]]
            x = w.dq(node.input[0], s, z)
            y = w.add(op, [x, *node.input[1:]], node.name or out, **attrs)
            w.q(y, s, z, out)
        elif op in QOPERATOR_OPS or node.domain not in ("", "ai.onnx"):
            raise UnsupportedError(
                f"{where}: {_node_label(node)}: unsupported QOperator op "
                f"{node.domain or 'ai.onnx'}.{op}"
            )
        else:
            w.nodes.append(node)
    graph = helper.make_graph(
        w.nodes,
        model.graph.name,
        list(model.graph.input),
        list(model.graph.output),
        list(model.graph.initializer) + w.inits,
    )
    out = helper.make_model(
        graph, opset_imports=[o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    )
    out.ir_version = model.ir_version
    out.metadata_props.extend(model.metadata_props)
    return out


def _weight_axis(consts: _Consts, node, q_name: str, s_name: str) -> dict:
    scale = np.asarray(consts.get(s_name, node, "weight scale"))
    if scale.size <= 1:
        return {}
    if node.op_type == "QLinearConv":
        return {"axis": 0}
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "QGemm" and attrs.get("transB", 0):
        return {"axis": 0}
    return {"axis": 1}  # MatMul / Gemm without transB: weights [K, N], channels along N


def _bias_dq(w: _QDQWriter, bias: str, x_scale: str, w_scale: str, node) -> str:
    """DQ of an int32 bias at x_scale * w_scale[c] (computed in float32, as onnxruntime)."""
    xs = np.asarray(w.consts.get(x_scale, node, "input scale"), np.float32)
    ws = np.asarray(w.consts.get(w_scale, node, "weight scale"), np.float32).ravel()
    scale = (xs.reshape(()) * ws).astype(np.float32)
    s = w.fresh(f"{bias}.scale")
    w.inits.append(
        numpy_helper.from_array(scale.reshape(-1) if scale.size > 1 else scale.reshape(()), s)
    )
    z = w.fresh(f"{bias}.zp")
    w.inits.append(
        numpy_helper.from_array(np.zeros(scale.shape if scale.size > 1 else (), np.int32), z)
    )
    return w.dq(bias, s, z, **({"axis": 0} if scale.size > 1 else {}))


# ------------------------------------------------------------------ QDQ -> float


def strip(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """The float model of a pre-quantised one, its quantisation recorded in metadata."""
    model = qoperator_to_qdq(model, where)
    consts = _Consts(model, where)
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    for n in g.node:
        if n.op_type == "BatchNormalization" and (
            any(
                producers.get(i) is not None and producers[i].op_type == "DequantizeLinear"
                for i in n.input
            )
        ):
            raise UnsupportedError(
                f"{where}: {_node_label(n)}: a BatchNormalization between quantised tensors; "
                "fold it into its Conv before quantising (onnxruntime.quantization."
                "quant_pre_process does), cnnc cannot fold it into pre-quantised weights"
            )
    act: dict[str, list] = {}
    weights: dict[str, dict] = {}
    const_qp: dict[str, list] = {}  # Add/Mul node -> its constant operand's (scale, zp)
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        exact = json.loads(meta.get(EXPORT_REQUANT_KEY, "{}"))
    except ValueError:
        exact = {}
    exact = exact if isinstance(exact, dict) else {}
    rename: dict[str, str] = {}  # DQ output -> the float tensor it stands for
    new_inits: list[onnx.TensorProto] = []
    drop: set[int] = set()
    dq_consts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, object, int]] = {}
    for idx, n in enumerate(g.node):
        if n.op_type == "DequantizeLinear" and n.input[0] in consts.values:
            q = np.asarray(consts.values[n.input[0]])
            scale, zp, _ = _scale_zp(consts, n, 1, 2)
            axis = next((helper.get_attribute_value(a) for a in n.attribute if a.name == "axis"), 1)
            axis = axis + q.ndim if axis < 0 else axis
            per_axis = scale.size > 1 or zp.size > 1  # the axis only matters then
            if q.dtype not in (np.int8, np.uint8, np.int32) or (
                per_axis and not 0 <= axis < q.ndim
            ):
                raise UnsupportedError(
                    f"{where}: {_node_label(n)}: dequantises {q.dtype} values of shape "
                    f"{list(q.shape)} along axis {axis}; cnnc reads int8/uint8 weights and "
                    "int32 biases, per tensor or along an existing axis"
                )
            for what, v in (("scale", scale), ("zero point", zp)):
                if v.size != 1 and (q.ndim == 0 or v.size != q.shape[axis]):
                    raise ModelError(
                        f"{where}: {_node_label(n)}: {what} has {v.size} values for axis "
                        f"{axis} of '{n.input[0]}' {list(q.shape)}"
                    )
            shape = [1] * q.ndim
            if scale.size > 1:
                shape[axis] = scale.size
            real = (q.astype(np.int64) - zp.reshape(shape if zp.size > 1 else ())).astype(
                np.float32
            ) * scale.reshape(shape if scale.size > 1 else ())
            dq_consts[n.output[0]] = (q, scale, zp, q.dtype, axis)
            new_inits.append(numpy_helper.from_array(real.astype(np.float32), n.output[0]))
            drop.add(idx)
        elif n.op_type == "QuantizeLinear":
            users = consumers.get(n.output[0], [])
            if n.output[0] in [o.name for o in g.output]:
                raise UnsupportedError(
                    f"{where}: {_node_label(n)}: a quantised graph output; "
                    "cnnc reads models whose outputs are float "
                    "(DequantizeLinear last)"
                )
            if not users or any(u.op_type != "DequantizeLinear" for u in users):
                other = next((u for u in users if u.op_type != "DequantizeLinear"), None)
                what = f"feeds {_node_label(other)}" if other else "has no consumer"
                raise UnsupportedError(
                    f"{where}: {_node_label(n)}: its output {what}; cnnc "
                    "reads QuantizeLinear -> DequantizeLinear pairs"
                )
            s, z = _act_qparams(consts, n, 1, 2)
            x = n.input[0]
            if x in act and act[x] != [s, z]:
                raise UnsupportedError(
                    f"{where}: {_node_label(n)}: tensor '{x}' is quantised "
                    f"twice, with {act[x]} and {[s, z]}"
                )
            act[x] = [s, z]
            for u in users:
                if _act_qparams(consts, u, 1, 2) != (s, z):
                    raise UnsupportedError(
                        f"{where}: {_node_label(u)}: dequantises with "
                        f"{list(_act_qparams(consts, u, 1, 2))} what {_node_label(n)} quantised "
                        f"with {[s, z]}; cnnc reads pairs with equal parameters"
                    )
                rename[u.output[0]] = x
                drop.add(list(g.node).index(u))
            drop.add(idx)
    graph_inputs = {i.name for i in g.input}
    for idx, n in enumerate(g.node):
        if idx not in drop and n.op_type in QDQ_OPS:
            what = "a graph input" if n.input[0] in graph_inputs else "not a quantised activation"
            raise UnsupportedError(
                f"{where}: {_node_label(n)}: unsupported QDQ pattern ({n.op_type} of "
                f"'{n.input[0]}', which is {what}); cnnc reads constant weights under "
                "DequantizeLinear and activations in QuantizeLinear -> DequantizeLinear pairs"
            )
    nodes = []
    for idx, n in enumerate(g.node):
        if idx in drop:
            continue
        m = onnx.NodeProto()
        m.CopyFrom(n)
        for i, name in enumerate(m.input):
            if name in rename:
                m.input[i] = rename[name]
        nodes.append(m)
        if n.op_type in ("Add", "Mul"):  # a constant operand with its own quantisation
            for i in n.input:
                if (
                    i in dq_consts
                    and dq_consts[i][1].size == 1
                    and dq_consts[i][3] in (np.int8, np.uint8)
                ):
                    q, scale, zp, dtype, _ = dq_consts[i]
                    z = int(zp.ravel()[0]) - (128 if dtype == np.uint8 else 0)
                    const_qp[n.name] = [float(scale.ravel()[0]), z]
        if n.op_type in WEIGHTED_OPS:
            info = _weight_record(n, dq_consts, act, rename, where)
            if info is not None:
                q_out = [u.output[0] for u in consumers.get(n.output[0], [])
                         if u.op_type == "QuantizeLinear"]  # fmt: skip
                if q_out and q_out[0] in exact and isinstance(exact[q_out[0]], dict):
                    info["exact"] = exact[q_out[0]]  # checked against the scales later
                weights[n.name] = info
    outputs = []
    for o in g.output:
        if o.name in rename:  # the last DQ is the output: keep its name via an Identity
            act[o.name] = act[rename[o.name]]
            nodes.append(
                helper.make_node("Identity", [rename[o.name]], [o.name], name=f"{o.name}.identity")
            )
        outputs.append(o)
    inits = [t for t in g.initializer if not _only_for_qdq(t.name, drop, g)] + new_inits
    graph = helper.make_graph(nodes, g.name, list(g.input), outputs, inits)
    out = helper.make_model(graph, opset_imports=list(model.opset_import))
    out.ir_version = model.ir_version
    drop_keys = (METADATA_KEY, EXPORT_REQUANT_KEY)
    out.metadata_props.extend(p for p in model.metadata_props if p.key not in drop_keys)
    entry = out.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps({"act": act, "weights": weights, "const_qp": const_qp})
    return out


def _only_for_qdq(name: str, drop: set[int], g) -> bool:
    users = [i for i, n in enumerate(g.node) if name in n.input]
    return bool(users) and all(i in drop for i in users)


def _weight_record(n, dq_consts, act, rename, where) -> dict | None:
    """Per-output-channel weight scales (and int32 bias) of a Conv/Gemm/MatMul/ConvTranspose
    whose weights are DequantizeLinear'd constants; None if the weights are float."""
    if len(n.input) < 2 or n.input[1] not in dq_consts:
        return None
    q, scale, zp, dtype, axis = dq_consts[n.input[1]]
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    label = _node_label(n)
    if dtype not in (np.int8, np.uint8):
        raise UnsupportedError(
            f"{where}: {label}: weights quantised to {dtype}; cnnc reads int8 weights"
        )
    if np.any(zp != 0):
        bad = int(zp.ravel()[np.flatnonzero(zp.ravel())[0]])
        raise UnsupportedError(
            f"{where}: {label}: weight zero point {bad} (dtype {dtype}); cnnc's int8 kernels "
            "need symmetric weights (zero point 0): re-quantise with symmetric weights "
            "(onnxruntime: weight_type=QInt8, the default)"
        )
    if dtype == np.int8 and q.size and int(q.min()) < -127:
        c = int(np.unravel_index(int(np.argmin(q)), q.shape)[axis if scale.size > 1 else 0])
        raise UnsupportedError(
            f"{where}: {label}: weight value -128 (output channel {c}); cnnc's int8 kernels "
            "and their SIMD overflow proofs need |w| <= 127, and -128 has no exact "
            "equivalent in [-127, 127] at the same scale; re-quantise with a symmetric "
            "range (onnxruntime: extra_options={'WeightSymmetric': True}, the default)"
        )
    if dtype == np.uint8 and q.size and int(q.max()) > 127:
        raise UnsupportedError(
            f"{where}: {label}: uint8 weight value {int(q.max())} > 127 "
            "with zero point 0; cnnc needs |w| <= 127"
        )
    out_axis = 0
    if n.op_type == "MatMul" or (n.op_type == "Gemm" and not attrs.get("transB", 0)):
        out_axis = 1
    if n.op_type == "Gemm" and (attrs.get("alpha", 1.0) != 1.0 or attrs.get("transA", 0)):
        raise UnsupportedError(
            f"{where}: {label}: pre-quantised Gemm with alpha != 1 or "
            "transA; cnnc reads alpha = 1, transA = 0"
        )
    channels = q.shape[out_axis]
    if n.op_type == "ConvTranspose":  # weights [C_in, C_out / group, kh, kw]
        out_axis, group = 1, int(attrs.get("group", 1))
        channels = q.shape[1] * group
        if group != 1 and scale.size > 1:
            raise UnsupportedError(
                f"{where}: {label}: a grouped ConvTranspose with per-channel weight scales; "
                "cnnc reads those per tensor"
            )
    if scale.size > 1 and axis != out_axis:
        raise UnsupportedError(
            f"{where}: {label}: weight scales per axis {axis}; cnnc reads per-tensor or "
            f"per-output-channel (axis {out_axis}) weight scales"
        )
    record = {"scale": np.broadcast_to(scale.ravel(), (channels,)).astype(float).tolist()}
    if len(n.input) > 2 and n.input[2] in dq_consts:
        bq, bs, bz, bdtype, _ = dq_consts[n.input[2]]
        if bdtype != np.int32 or np.any(bz != 0):
            raise UnsupportedError(
                f"{where}: {label}: bias quantised to {bdtype} with zero "
                "point; cnnc reads int32 biases with zero point 0"
            )
        record["bias_q"] = np.broadcast_to(bq.ravel(), (channels,)).astype(int).tolist()
        record["bias_scale"] = np.broadcast_to(bs.ravel(), (channels,)).astype(float).tolist()
    return record


def read_record(metadata: dict) -> dict | None:
    """The recorded quantisation of a pre-quantised model (None for a float model)."""
    text = metadata.get(METADATA_KEY)
    if text is None:
        return None
    try:
        record = json.loads(text)
        assert isinstance(record.get("act"), dict) and isinstance(record.get("weights"), dict)
    except (ValueError, AssertionError, AttributeError):
        raise ModelError(f"metadata {METADATA_KEY} is not valid; import the model again") from None
    return record
