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
    print()
    print(f"{len(rows)} builds, {SAMPLES} inputs each; weights "
          f"{'7-bit (reduce_range)' if args.reduce_range else 'full-range int8'}")  # fmt: skip


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
