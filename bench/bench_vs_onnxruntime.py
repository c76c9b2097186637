"""cnnc's output folder, built by its own default `make`, against onnxruntime (1 thread).

Models: MobileNetV2 as torch.onnx exports torchvision's graph (the project's own builder,
tests/onnx_builders.py: random Kaiming weights, BN statistics perturbed around identity),
at 1.0@224 and 0.35@96, 1000 classes. Precisions:

- float32: cnnc `--float-mode exact` (the default, identical on every target) and, where
  the compiler offers it, `--float-mode fast`; onnxruntime runs the float model.
- int8: cnnc calibrated on CALIB random-normal samples; onnxruntime runs
  `quantize_static` QDQ, per-channel, of the same float model on the same samples.

Each row times both sides in ROUNDS interleaved rounds (onnxruntime, then cnnc, then
onnxruntime, ...). A cnnc round runs the folder's own `build/host/demo -n RUNS` on one
input and reads its printed minimum; an onnxruntime round takes the minimum of RUNS calls.
The table shows the minimum over rounds and the ratio cnnc / onnxruntime (below 1.0:
cnnc is faster), plus the kernel tier the demo reports it selected.

Fused rows: int8 is also compiled with `--memory min` (inverted-residual blocks run over
row bands, cnnc.passes.schedule), timed in the same interleaved rounds; a last row per
model gives fused / unfused (below 1.0: the fused schedule is faster), the measurement
that decides whether `--memory fast` should fuse. All builds of a precision are timed
in the same rounds (onnxruntime, then each cnnc build, round after round).

    .venv/bin/python bench/bench_vs_onnxruntime.py [--quick]

On a shared machine the minimum still moves with the neighbours' load (memory bandwidth
as much as CPU). Running the whole script on one core at real-time priority, which both
sides inherit (onnxruntime runs in this process, cnnc's demo is its child), removes most
of it without favouring either:

    chrt -f 50 taskset -c 1 .venv/bin/python bench/bench_vs_onnxruntime.py
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cnnc
import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import onnx_builders  # noqa: E402

CALIB = 16
CONFIGS = {"mnv2 1.0@224": (224, 1.0), "mnv2 0.35@96": (96, 0.35)}


def ort_session(model_bytes: bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def ort_qdq(model: onnx.ModelProto, calib: np.ndarray, tmp: Path) -> bytes:
    """onnxruntime's own static QDQ quantisation, per channel, of the float model."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter([{"input": s[None]} for s in calib])

        def get_next(self):
            return next(self.samples, None)

    src, dst = tmp / "float.onnx", tmp / "qdq.onnx"
    onnx.save(model, src)
    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)  # fmt: skip
    return dst.read_bytes()


def time_ort(session, x: np.ndarray, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, {"input": x})
        best = min(best, time.perf_counter() - t0)
    return 1000 * best


def build_folder(out: Path) -> Path:
    subprocess.run(["make", "-s", "-C", str(out)], check=True, capture_output=True)
    return out / "build" / "host" / "demo"


def time_demo(demo: Path, x_path: Path, runs: int) -> tuple[float, str]:
    res = subprocess.run([str(demo), "-n", str(runs), str(x_path)], cwd=demo.parent.parent.parent,
                         check=True, capture_output=True, text=True)  # fmt: skip
    best = float(re.search(r"min ([0-9.]+) ms", res.stdout).group(1))
    tier = re.search(r"kernels: (\S+)", res.stdout)
    return best, tier.group(1) if tier else "n/a"


def compile_variants(model, precision: str, calib: np.ndarray, tmp: Path) -> dict[str, Path]:
    """The cnnc builds of one row: {label: output folder}."""
    outs = {}
    if precision == "int8":
        out = tmp / "int8"
        cnnc.compile(model, out, precision="int8", calibration=calib)
        outs["int8"] = out
        fused = tmp / "int8-fused"
        cnnc.compile(model, fused, precision="int8", calibration=calib, memory="min")
        outs["int8 fused"] = fused
        return outs
    for mode in getattr(cnnc, "FLOAT_MODES", ("exact",)):
        out = tmp / f"f32-{mode}"
        cnnc.compile(model, out, float_mode=mode)
        outs[f"float32 {mode}"] = out
    return outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.35@96 only, fewer rounds")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's per-weight chatter
    configs = {k: v for k, v in CONFIGS.items() if not args.quick or "0.35" in k}
    rounds = 3 if args.quick else args.rounds

    print(f"{'model':<14} {'precision':<15} {'tier':<10} {'ORT ms':>8} {'cnnc ms':>8} "
          f"{'cnnc/ORT':>9}")  # fmt: skip
    rng = np.random.default_rng(0)
    for label, (size, width) in configs.items():
        model = onnx_builders.mobilenetv2_pytorch_style(1000, size, width)
        calib = rng.standard_normal((CALIB, 3, size, size)).astype(np.float32)
        x = calib[:1].copy()
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            x_path = tmp / "x.f32"
            x.tofile(x_path)
            sessions = {
                "float32": ort_session(model.SerializeToString()),
                "int8": ort_session(ort_qdq(model, calib, tmp)),
            }
            for precision, session in sessions.items():
                outs = compile_variants(model, precision, calib, tmp)
                demos = {name: build_folder(out) for name, out in outs.items()}
                ort_ms, best = float("inf"), {name: (float("inf"), "n/a") for name in demos}
                for _ in range(rounds):  # onnxruntime, then every cnnc build, interleaved
                    ort_ms = min(ort_ms, time_ort(session, x, args.runs))
                    for name, demo in demos.items():
                        ms, tier = time_demo(demo, x_path, args.runs)
                        best[name] = (min(best[name][0], ms), tier)
                for name, (c_ms, tier) in best.items():
                    print(f"{label:<14} {name:<15} {tier:<10} {ort_ms:>8.2f} {c_ms:>8.2f} "
                          f"{c_ms / ort_ms:>9.2f}", flush=True)  # fmt: skip
                if "int8 fused" in best:
                    ratio = best["int8 fused"][0] / best["int8"][0]
                    print(f"{label:<14} {'fused/unfused':<15} {'':<10} {'':>8} {'':>8} "
                          f"{ratio:>9.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
