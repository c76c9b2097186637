"""int8 vs float32 C on the host: time per sample, weight blob size, for the zoo networks.

Untrained zoo networks (speed and size do not depend on the weights), compiled with
cnnc.compile at both precisions (and both int8 rounding modes) and run through the
cffi harness, 64 samples per call. Prints, per model, the median of 7 runs and its
ratio to float32 measured in the same run.

    .venv/bin/python bench/bench_int8.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cnnc
import numpy as np
from cnnc.models import data as data_mod
from cnnc.models import export, zoo

CONFIGS = {"mobilenetv2": (32, 0.5), "vgg": (16, 1.0)}
RUNS, SAMPLES = 7, 64


def median_seconds(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    print(
        f"{'model':<12} {'build':<13} {'us/sample':>10} {'vs f32':>7} {'blob B':>8} {'vs f32':>7}"
    )
    for name, (size, width) in CONFIGS.items():
        ds = data_mod.load("digits", size)
        mean, std = data_mod.channel_stats(ds.x_train)
        x = data_mod.normalize(ds.x_train, mean, std).transpose(0, 3, 1, 2)
        x = np.ascontiguousarray(x, dtype=np.float32)
        net = zoo.MODELS[name](size, ds.num_classes, width, np.random.default_rng(0))
        model = export.to_onnx(net, (size, size, 1))
        with tempfile.TemporaryDirectory() as tmp:
            builds = {
                "float32": dict(precision="float32"),
                "int8 single": dict(precision="int8", calibration=x[:64], rounding="single"),
                "int8 double": dict(precision="int8", calibration=x[:64], rounding="double"),
            }
            base_t = base_b = None
            for label, kwargs in builds.items():
                out = Path(tmp) / label.replace(" ", "_")
                cm = cnnc.compile(model, out, **kwargs)
                batch = x[:SAMPLES]
                cm.run(batch[:1])  # build and load once
                seconds = median_seconds(lambda cm=cm, batch=batch: cm.run(batch)) / SAMPLES
                blob = (out / "weights.bin").stat().st_size
                base_t, base_b = base_t or seconds, base_b or blob
                print(f"{name:<12} {label:<13} {seconds * 1e6:10.1f} {seconds / base_t:7.2f} "
                      f"{blob:8d} {blob / base_b:7.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
