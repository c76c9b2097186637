"""How close a family model's int8 build comes to float, per quantiser option, and what
precision its activations would need for the issue's per-input cosine >= 0.98.

    python bench/bench_int8_precision.py [--family mobilenetv3_large] [--inputs 200]
                                         [--no-simulate] [--no-options] [--onnxruntime]
                                         [--widths 0.5,0.75,1.0]

Model, size and calibration as tests/e2e/test_model_families.py (calibration: 32 normal
samples, rng 123; the test's inputs: 20 per seed 0, 1, 2). The cosine is between the
float reference's output and the dequantised int8 output, per input. Prints:

1. cnnc's int8 NumPy reference (the int8 C equals it bit for bit) for each calibration
   method x rounding mode: the test's criterion (worst cosine per seed) and, on
   ``--inputs`` fresh inputs (rng 4242), the distribution of 1 - cosine and the share of
   inputs below 0.98. The worst of 60 inputs is a noisy statistic (one input can move it
   by 0.02 between options of equal mean error): judge an option by the fresh columns.
   The "CLE" row equalises the residual stream's channels first (``equalize_stream``);
   the "BC" rows correct the conv/dense biases for int8's mean output error on the
   calibration data (``bias_correction`` "weights" or "empirical",
   ``cnnc.passes.bias_correction``).
2. a float simulation with the quantiser's scales: every weight rounded to int8 per
   output channel, every activation rounded to int8 per tensor (the input too), exact
   arithmetic in between; then per channel (each channel's step scaled by its share of
   the tensor's calibrated |max|, at least 1/2: what cross-layer equalisation could reach
   at best, the zero point the tensor's); then with groups of activations rounded to
   int16 instead (the residual stream: project-conv outputs and residual sums; the
   pre-activations of the HardSwish tables; every activation but the ReLU and HardSwish
   outputs; all of them, which is TFLite's 16x8 scheme) or to 10 bits, to show which
   precision the goal needs.
   The whole run takes ~7 minutes on this machine.
3. with --widths, cnnc's default int8 (minmax, double rounding) of the same family at
   other widths (other random weights: the spread between draws);
4. with --onnxruntime, onnxruntime's own int8 of the model (quantize_static, QDQ, MinMax
   calibration on the same data, int8 and uint8 activations) against its float run.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

GOAL = 0.98
OPTIONS = [("minmax", "double"), ("minmax", "single"), ("percentile", "double"),
           ("mse", "double"), ("mse", "single")]  # fmt: skip


def cosines(want: np.ndarray, got: np.ndarray) -> np.ndarray:
    want = want.reshape(len(want), -1).astype(np.float64)
    got = got.reshape(len(got), -1).astype(np.float64)
    return (want * got).sum(1) / (np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1))


def header() -> str:
    return (f"{'':<28} {'test worst per seed':<22} | {'mean':>8} {'p95':>7} {'max':>7} "
            f"{'<0.98 %':>7}  (1 - cos, fresh)")  # fmt: skip


def row(label: str, test: np.ndarray, fresh: np.ndarray) -> str:
    worst = " / ".join(f"{test[i : i + 20].min():.4f}" for i in range(0, len(test), 20))
    r = 1 - fresh
    return (f"{label:<28} {worst:<22} | {r.mean():8.5f} {np.percentile(r, 95):7.4f} "
            f"{r.max():7.4f} {100 * np.mean(fresh < GOAL):7.2f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", default="mobilenetv3_large")
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("--no-simulate", action="store_true")
    ap.add_argument("--no-options", action="store_true", help="skip the per-option rows")
    ap.add_argument("--onnxruntime", action="store_true",
                    help="also onnxruntime's int8 (quantize_static, QDQ)")  # fmt: skip
    ap.add_argument("--widths", default="",
                    help="comma-separated other widths: cnnc's default int8 at each")  # fmt: skip
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from cnnc import api
    from cnnc.passes import quantize
    from model_families import FAMILIES
    from test_model_families import CASES, SEEDS, calibration, inputs

    kwargs, size = CASES[args.family]
    graph = api.lowered_graph(FAMILIES[args.family](size=size, seed=7, **kwargs))
    cal = calibration(size)
    test = np.concatenate([inputs(seed + 10, size) for seed in SEEDS])
    fresh = np.random.default_rng(4242).normal(0, 1, (args.inputs, 3, size, size))
    fresh = fresh.astype(np.float32)

    def run(g, x):
        return api.run_reference(g, api.feeds_of(g, x))

    want_test, want_fresh = run(graph, test), run(graph, fresh)
    print(f"{args.family} at {size} px, {len(test)} test inputs, {args.inputs} fresh inputs")
    print("\ncnnc int8 (NumPy reference = C), per calibration method and rounding:")
    print(header())
    builds = [(f"{m} {r}", graph, m, r, "none") for m, r in OPTIONS]
    builds.append(("minmax double, CLE", equalize_stream(graph, cal), "minmax", "double", "none"))
    for bc in ("weights", "empirical"):  # --bias-correction
        builds.append((f"minmax double, BC {bc}", graph, "minmax", "double", bc))
    builds.append(("mse double, BC empirical", graph, "mse", "double", "empirical"))
    for label, source, method, rounding, bc in [] if args.no_options else builds:
        g = quantize.quantize(source, cal, method=method, rounding=rounding, bias_correction=bc)
        print(row(label, cosines(want_test, run(g, test)), cosines(want_fresh, run(g, fresh))),
              flush=True)  # fmt: skip
    for width in [float(w) for w in args.widths.split(",") if w]:
        other = api.lowered_graph(
            FAMILIES[args.family](size=size, seed=7, **{**kwargs, "width": width})
        )
        g = quantize.quantize(other, cal)
        print(row(f"minmax double, width {width}", cosines(run(other, test), run(g, test)),
                  cosines(run(other, fresh), run(g, fresh))), flush=True)  # fmt: skip
    if args.onnxruntime:
        onnxruntime_rows(FAMILIES[args.family](size=size, seed=7, **kwargs), cal, test, fresh)
    if not args.no_simulate:
        simulate(graph, cal, (test, want_test), (fresh, want_fresh))


def onnxruntime_rows(model, cal: np.ndarray, test: np.ndarray, fresh: np.ndarray) -> None:
    """onnxruntime's own int8: quantize_static (QDQ, per-channel int8 weights, MinMax
    calibration on the same data) run by onnxruntime, against onnxruntime's float run of
    the same (BatchNorm-folded) model."""
    import onnxruntime as ort
    from qdq_models import fold_batchnorm, quantize_static

    def run(m, x):
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sess = ort.InferenceSession(m.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])  # fmt: skip
        name = sess.get_inputs()[0].name
        return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])

    model = fold_batchnorm(model)
    want_test, want_fresh = run(model, test), run(model, fresh)
    print("\nonnxruntime quantize_static (QDQ, per-channel weights) run by onnxruntime:")
    print(header())
    for act in ("QInt8", "QUInt8"):
        qm = quantize_static(model, cal, "QDQ", act)
        print(row(f"onnxruntime {act}", cosines(want_test, run(qm, test)),
                  cosines(want_fresh, run(qm, fresh))), flush=True)  # fmt: skip


def equalize_stream(graph, cal: np.ndarray, floor: float = 0.5):
    """Cross-layer equalisation of the residual stream, in float (the output is unchanged
    up to float rounding): the tensors joined by residual adds whose producers are all
    convs without activation (or the adds) and whose other readers are all dense-group
    convs are divided per channel c by f[c] = the channel's share of the group's
    calibrated |max| (at least ``floor``): the producers' weights and biases of output
    channel c by f[c], the readers' weights of input channel c times f[c]. Small channels
    then use more of the per-tensor int8 range."""
    from cnnc import reference

    g = copy.deepcopy(graph)
    root: dict[str, str] = {}

    def find(a: str) -> str:
        while root.setdefault(a, a) != a:
            a = root[a]
        return a

    for n in g.nodes:
        if n.op == "add" and not any(g.tensors[x].is_const for x in n.inputs):
            root[find(n.inputs[0])] = find(n.outputs[0])
            root[find(n.inputs[1])] = find(n.outputs[0])
    groups: dict[str, set[str]] = {}
    for t in list(root):
        groups.setdefault(find(t), set()).add(t)
    vals = reference.run(g, {g.inputs[0]: cal}, keep_all=True)
    for tensors in groups.values():
        writers, readers, ok = [], [], True
        for t in tensors:
            p = g.producer(t)
            ok = ok and p is not None and t not in g.outputs
            ok = ok and p.op in ("add", "conv2d") and p.attrs.get("act", "none") == "none"
            if ok and p.op == "conv2d":
                writers.append(p)
            for u in g.consumers(t):
                if u.op == "add" and u.outputs[0] in tensors:
                    continue
                ok = ok and u.op == "conv2d" and u.attrs.get("groups", 1) == 1
                readers.append(u)
        if not ok:
            continue
        a = np.max([np.abs(vals[t]).reshape(-1, vals[t].shape[-1]).max(0) for t in tensors], 0)
        f = np.maximum(a / max(float(a.max()), 1e-30), floor)
        for p in writers:  # OHWI weights, bias per output channel
            w = g.tensors[p.inputs[1]]
            w.data = (w.data / f.reshape(-1, 1, 1, 1)).astype(np.float32)
            if len(p.inputs) > 2 and p.inputs[2]:
                b = g.tensors[p.inputs[2]]
                b.data = (b.data / f).astype(np.float32)
        for u in readers:
            w = g.tensors[u.inputs[1]]
            w.data = (w.data * f.reshape(1, 1, 1, -1)).astype(np.float32)
    return g


def simulate(graph, cal: np.ndarray, test, fresh) -> None:
    """Ideal rounding in float at the quantiser's per-tensor scales, groups at int16."""
    from cnnc import reference
    from cnnc.passes import quantize

    g = quantize.unfuse_table_acts(graph)
    ranges = quantize.narrow_to_lut_domain(g, quantize.collect_ranges(g, cal))
    gq = copy.deepcopy(g)
    for n in gq.nodes:  # weights: int8 per output channel, symmetric (quantize_weights)
        if n.op in ("conv2d", "dense"):
            t = gq.tensors[n.inputs[1]]
            w = t.data.astype(np.float64)
            s = np.abs(w.reshape(len(w), -1)).max(1) / 127
            s = np.where(s > 0, s, 1).reshape((-1,) + (1,) * (w.ndim - 1))
            t.data = (np.clip(np.round(w / s), -127, 127) * s).astype(np.float32)
    first = g.consumers(g.inputs[0])[0].outputs[0]  # the NHWC input: quantised too

    def pre_act(y):
        users = g.consumers(y)
        weighted = g.producer(y).op in ("conv2d", "dense")
        return weighted and users and all(u.op == "act" for u in users)

    def stream(y):
        p = g.producer(y)
        if p.op == "add":
            return True
        plain = p.op == "conv2d" and p.attrs.get("act", "none") == "none"
        return plain and g.tensors[y].shape[1] > 1 and not pre_act(y)

    def table_or_relu(y):  # the int8 inputs of depthwise and project convs
        return g.producer(y).attrs.get("act") in ("relu", "hard_swish")

    # per-channel scales (what cross-layer equalisation could give at best): channel c is
    # quantised at the tensor's step times f[c] = its calibrated |max| share, at least 1/2
    cal_vals = reference.run(g, {g.inputs[0]: cal}, keep_all=True)
    lows, highs, share = {}, {}, {}
    for y, v in cal_vals.items():
        if y in ranges and v is not None and v.dtype == np.float32 and v.ndim > 1:
            lo, hi = v.reshape(-1, v.shape[-1]).min(0), v.reshape(-1, v.shape[-1]).max(0)
            a = np.maximum(np.abs(lo), np.abs(hi))
            share[y] = np.maximum(a / max(float(a.max()), 1e-30), 0.5)
            lows[y], highs[y] = float((lo / share[y]).min()), float((hi / share[y]).max())

    def run(x, bits) -> np.ndarray:
        vals = {g.inputs[0]: x}
        for n in gq.nodes:
            ins = [reference._value(gq, vals, a) for a in n.inputs]
            outs = reference.REFERENCE_OPS[n.op](n, gq, ins)
            for y, v in zip(n.outputs, outs, strict=True):
                moved = n.op in ("reshape", "transpose") and y != first
                b = bits(y)
                if v is not None and v.dtype == np.float32 and y in ranges and not moved and b:
                    lo, hi = ranges[y]
                    f = 1.0
                    if b == "channel":
                        b, f, lo, hi = 8, share.get(y, 1.0), lows.get(y, lo), highs.get(y, hi)
                    lo, hi = min(lo, 0.0), max(hi, 0.0)
                    levels = 2**b - 1
                    s = ((hi - lo) / levels if hi > lo else 1.0) * f
                    z = np.round(-lo * f / s)
                    v = ((np.clip(np.round(v / s) + z, 0, levels) - z) * s).astype(np.float32)
                vals[y] = v
        return vals[gq.outputs[0]]

    cases = {
        "weights only": lambda y: 0,
        "all int8": lambda y: 8,
        "all int8 per channel": lambda y: "channel",
        "stream int16": lambda y: 16 if stream(y) else 8,
        "pre-act int16": lambda y: 16 if pre_act(y) else 8,
        "stream+pre-act int16": lambda y: 16 if stream(y) or pre_act(y) else 8,
        "int16 but ReLU/HSwish out": lambda y: 8 if table_or_relu(y) else 16,
        "all int10": lambda y: 10,
        "all int16 (16x8)": lambda y: 16,
    }
    print("\nfloat simulation of ideal rounding (weights int8 per channel):")
    print(header())
    for label, bits in cases.items():
        print(row(label, cosines(test[1], run(test[0], bits)),
                  cosines(fresh[1], run(fresh[0], bits))), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
