"""Today's edge CNN families, quantised by onnxruntime's ``quantize_static``, compiled by
cnnc without calibration, against onnxruntime's CPU execution of the same model.

Models: tests/model_families.py (the torch.onnx-style graphs of MobileNetV3-Small/Large,
EfficientNet-B0, ShuffleNetV2, MnasNet, ResNet-18, RegNetX and the segmentation head, at
the sizes tests/e2e/test_model_families.py uses), BatchNormalization folded, then
``quantize_static`` per channel on CALIB random-normal samples in QDQ (int8 activations)
and QOperator (uint8 activations) format, full-range int8 weights by default
(``--reduce-range``: 7-bit weights).

Per model and format the table prints:
- compiles: cnnc accepts it without calibration (else the error);
- C==ref: the compiled C equals cnnc's NumPy reference bit for bit on the inputs;
- double max LSB / same: the default Q31 (double) rounding against onnxruntime (fused
  graph, its default), largest difference in output LSB and the identical fraction;
- ort identical: ``--rounding onnxruntime`` against onnxruntime fused (the CPU's int8
  kernels) and unfused (ORT_DISABLE_ALL: DequantizeLinear -> float op ->
  QuantizeLinear, no int8 kernels), identical fraction and max LSB.

On an x86 CPU without VNNI onnxruntime's fused int8 conv runs u8s8 ``vpmaddubsw``, which
saturates a pair of u8*s8 products at int16: with full-range weights its results are not
the exact integer convolution; with ``--reduce-range`` no pair can saturate.

Below a QDQ row whose ``--rounding onnxruntime`` build is not 100 % identical, ``trace:``
names the first node whose int8 output differs from onnxruntime's (its QuantizeLinear
outputs exposed, run unfused), how onnxruntime's optimised graph runs that node, and, for
a conv or dense layer, the exact value of the first differing output. Measured with
onnxruntime 1.32 on this x86 machine, 7-bit weights: EfficientNet-B0 QDQ differs at one
input of 8, first at ``/Conv_122`` (1x1 conv, 1 of 3072 outputs, by 1): onnxruntime keeps
that conv as DequantizeLinear -> float Conv -> QuantizeLinear (its optimised graph has 19
QLinearConv and 42 float Conv), and the output's exact value ``s_x s_w acc / s_y`` is
24.49999935, 6.5e-7 below a rounding boundary. cnnc's integer accumulator is exact and
``rne(float(acc) * M)`` gives 24.499998 -> 24; onnxruntime's float32 convolution (MLAS
summation order and FMA, rounding error ~1e-6 of the value) lands above 24.5 -> 25. No
integer kernel can reproduce that: it is float rounding in onnxruntime, and cnnc's value is
the correctly rounded one. The one differing value then moves a few logits (max 4 LSB).

    .venv/bin/python bench/bench_prequantised.py [--reduce-range] [--no-c] [--models a,b]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

CALIB = 8
SAMPLES = 8
FORMATS = (("QDQ", "QInt8"), ("QOperator", "QUInt8"))


def ort_run(model, x, fused=True):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    if not fused:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])


def output_scale(graph) -> float:
    deq = [n for n in graph.nodes if n.op == "s8_dequantize"]
    return float(deq[-1].attrs["scale"])


def compare(graph, ours, theirs) -> tuple[float, int]:
    ours = ours.reshape(theirs.shape)
    lsb = np.abs(np.rint((ours.astype(np.float64) - theirs) / output_scale(graph)))
    return float(np.mean(ours == theirs)), int(lsb.max())


def build(model, out: Path | None, rounding: str):
    from cnnc import api

    if out is None:  # the reference only
        graph = api.apply_precision(api.lowered_graph(model), "int8", None, {"rounding": rounding})
        return api.CompiledModel(Path("."), graph, {}, {}), False
    return api.compile(model, out, precision="int8", rounding=rounding), True


def short(err: Exception) -> str:
    text = f"{type(err).__name__}: {err}"
    return text if len(text) < 160 else text[:157] + "..."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reduce-range", action="store_true", help="7-bit weights")
    ap.add_argument("--no-c", action="store_true", help="reference only (no gcc)")
    ap.add_argument("--models", default="", help="comma-separated family names")
    args = ap.parse_args()
    logging.getLogger().setLevel(logging.ERROR)
    from model_families import FAMILIES
    from qdq_models import fold_batchnorm, quantize_static
    from test_model_families import CASES

    names = [n for n in args.models.split(",") if n] or list(CASES)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="cnnc-bench-prequant-"))
    for name in names:
        kwargs, size = CASES[name]
        model = fold_batchnorm(FAMILIES[name](size=size, seed=7, **kwargs))
        rng = np.random.default_rng(0)
        calib = rng.normal(0, 1, (CALIB, 3, size, size)).astype(np.float32)
        x = rng.normal(0, 1, (SAMPLES, 3, size, size)).astype(np.float32)
        for fmt, act in FORMATS:
            t0 = time.time()
            qm = quantize_static(model, calib, fmt, act, reduce_range=args.reduce_range)
            row = {"model": name, "format": f"{fmt}/{act[1:].lower()}"}
            fused, unfused = ort_run(qm, x), ort_run(qm, x, fused=False)
            out = None if args.no_c else tmp / f"{name}_{fmt}"
            row["c"], row["compiles"] = "yes", "yes"
            for mode, key in (("double", "double"), ("onnxruntime", "ort")):
                try:
                    cm, has_c = build(qm, out and out / key, mode)
                except Exception as err:  # noqa: BLE001 - the table reports any refusal
                    row[key + "_error"] = short(err)
                    continue
                ref = cm.reference(x)
                if has_c and not (cm.run(x) == ref).all():
                    row["c"] = "NO"
                row[key] = compare(cm.graph, ref, fused)
                if key == "ort":
                    row["ort_unfused"] = compare(cm.graph, ref, unfused)
            if "double" not in row and "ort" not in row:
                row["compiles"] = row["double_error"]
            row["seconds"] = time.time() - t0
            rows.append(row)
            print_row(row, flush=True)
            if fmt == "QDQ" and "ort" in row and row["ort"][0] < 1.0:
                print(f"    trace: {trace_difference(qm, build(qm, None, 'onnxruntime')[0], x)}")
    print()
    print(f"{len(rows)} builds, {SAMPLES} inputs each; weights "
          f"{'7-bit (reduce_range)' if args.reduce_range else 'full-range int8'}")  # fmt: skip


def trace_difference(qm, cm, x) -> str:
    """The first node of ``cm`` (onnxruntime rounding) whose int8 output differs from
    onnxruntime's on the first input where the model outputs differ (QDQ models: the
    QuantizeLinear outputs are exposed as graph outputs and run unfused, which equals the
    fused run where the final outputs agree)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    ref, theirs = cm.reference(x), ort_run(qm, x)
    bad = [i for i in range(len(x)) if not (ref[i].ravel() == theirs[i].ravel()).all()]
    if not bad:
        return "no input differs"
    i = bad[0]
    exposed = onnx.ModelProto()
    exposed.CopyFrom(qm)
    q_of = {}
    for n in exposed.graph.node:
        if n.op_type == "QuantizeLinear":
            q_of[n.input[0]] = n.output[0]
            exposed.graph.output.append(helper.make_tensor_value_info(n.output[0],
                                        TensorProto.INT8, None))  # fmt: skip
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.log_severity_level = 1, 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(exposed.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: x[i : i + 1]}), strict=True))
    ours = cm.reference_all(x[i : i + 1])
    for node in cm.graph.nodes:
        y = node.outputs[0]
        base = y[:-2] if y.endswith(".q") else y
        if base not in q_of or y not in ours:
            continue
        t = got[q_of[base]]
        t = t.transpose(0, 2, 3, 1) if t.ndim == 4 else t
        o = np.asarray(ours[y]).reshape(t.shape)
        if (o == t).all():
            continue
        pos = tuple(int(v) for v in np.argwhere(o != t)[0])
        text = (f"input {i}: first at node '{node.name}' ({node.op}), {int((o != t).sum())} of "
                f"{o.size} outputs differ (max {int(np.abs(o.astype(int) - t).max())}); at "
                f"{list(pos)} cnnc {o[pos]}, onnxruntime {t[pos]}; onnxruntime runs it as "
                f"{ort_kind(qm, node.name)}")  # fmt: skip
        if node.op == "s8_conv2d":
            text += f"; exact s_x*s_w*acc/s_y = {exact_conv_value(qm, cm, node, ours, pos):.8f}"
        return text
    return f"input {i}: no exposed int8 tensor differs (the difference is after the last one)"


def ort_kind(qm, node_name: str) -> str:
    """How onnxruntime's optimised graph runs the ONNX node ``node_name``."""
    import onnx
    import onnxruntime as ort

    path = Path(tempfile.mkdtemp(prefix="cnnc-ort-opt-")) / "optimised.onnx"
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.optimized_model_filepath = str(path)
    ort.InferenceSession(qm.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    om = onnx.load(str(path))
    kinds = sorted({n.op_type for n in om.graph.node if n.name == node_name})
    counts = {k: sum(n.op_type == k for n in om.graph.node) for k in ("QLinearConv", "Conv")}
    where = ", ".join(kinds) if kinds else "a fused node"
    return (
        f"{where} (its optimised graph: {counts['QLinearConv']} QLinearConv, "
        f"{counts['Conv']} float Conv)"
    )


def exact_conv_value(qm, cm, node, values, pos) -> float:
    """s_x * s_w[c] * acc / s_y in float64 at output ``pos`` [n, y, x, c] of an s8_conv2d."""
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in qm.graph.initializer}
    made = {o: n for n in qm.graph.node for o in n.output}
    conv = next(n for n in qm.graph.node if n.name == node.name)
    s_x, s_w = (inits[made[name].input[1]].ravel() for name in conv.input[:2])
    y_q = next(n for n in qm.graph.node if n.op_type == "QuantizeLinear"
               and n.input[0] == conv.output[0])  # fmt: skip
    s_y = float(inits[y_q.input[1]])
    x = values[node.inputs[0]][0].astype(np.int64) - node.attrs["x_zero_point"]
    w, bias = (cm.graph.const(name) for name in node.inputs[1:3])
    _, oy, ox, co = pos
    groups = node.attrs.get("groups", 1)
    (sh, sw), (top, left) = node.attrs["strides"], node.attrs["pads"][:2]
    dh, dw = node.attrs.get("dilations", (1, 1))
    cg = w.shape[3]
    c0 = co // (w.shape[0] // groups) * cg
    acc = int(bias[co])
    for ky in range(w.shape[1]):
        for kx in range(w.shape[2]):
            iy, ix = oy * sh - top + ky * dh, ox * sw - left + kx * dw
            if 0 <= iy < x.shape[0] and 0 <= ix < x.shape[1]:
                acc += int(x[iy, ix, c0 : c0 + cg] @ w[co, ky, kx].astype(np.int64))
    return float(s_x[0]) * float(s_w[co if s_w.size > 1 else 0]) * acc / s_y


HEADER = False


def print_row(row, flush=False) -> None:
    global HEADER
    if not HEADER:
        print(f"{'model':18s} {'format':15s} {'C==ref':6s} {'double: same':>12s} {'max LSB':>7s} "
              f"{'ort mode vs fused: same':>23s} {'max LSB':>7s} {'vs unfused: same':>16s} "
              f"{'max LSB':>7s}")  # fmt: skip
        HEADER = True
    if row["compiles"] != "yes":
        print(f"{row['model']:18s} {row['format']:15s} refused: {row['compiles']}", flush=flush)
        return
    d = row.get("double")
    text = f"{row['model']:18s} {row['format']:15s} {row['c']:6s} "
    text += f"{d[0]:12.2%} {d[1]:7d} " if d else f"{'refused':>12s} {'':7s} "
    if "ort" in row:
        f, u = row["ort"], row["ort_unfused"]
        text += f"{f[0]:23.2%} {f[1]:7d} {u[0]:16.2%} {u[1]:7d}"
    else:
        text += f"  --rounding onnxruntime refused: {row['ort_error']}"
    if d is None:
        text += f"  (double refused: {row['double_error']})"
    print(text, flush=flush)


if __name__ == "__main__":
    main()
