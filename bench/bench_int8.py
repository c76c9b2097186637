"""int8 vs float32 C on the host: time per sample, weight blob size, for the zoo networks.

Untrained zoo networks (speed and size do not depend on the weights), compiled with
cnnc.compile at both precisions (and both int8 rounding modes) and run through the
cffi harness, 64 samples per call. Each build is timed twice: with the host build's
flags (plain -O2, x86-64 SSE2: the int8 __ref kernels) and with -mavx2 added (the int8
AVX2 kernels that cnnc_s8.h selects; float32 C gets the same flag for a fair
comparison). Prints, per model, the median of 7 runs and its ratio to float32 built with
the same flags, measured in the same run.

    .venv/bin/python bench/bench_int8.py
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import cnnc
import numpy as np
from cnnc.host import harness
from cnnc.models import data as data_mod
from cnnc.models import export, zoo

CONFIGS = {"mobilenetv2": (32, 0.5), "vgg": (16, 1.0)}
RUNS, SAMPLES = 7, 64
# label -> extra host cflags; "-O2" is the default host build (harness.HOST_CFLAGS)
FLAGS = {"-O2": [], "-O2 -mavx2": ["-mavx2"]}


@contextlib.contextmanager
def host_flags(extra: list[str]):
    """Builds made by the cffi harness inside the block get ``extra`` cflags."""
    saved = harness.HOST_CFLAGS
    harness.HOST_CFLAGS = [*saved, *extra]
    try:
        yield
    finally:
        harness.HOST_CFLAGS = saved


def median_seconds(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    print(f"{'model':<12} {'build':<13} {'cflags':<11} {'us/sample':>10} {'vs f32':>7} "
          f"{'blob B':>8} {'vs f32':>7}")  # fmt: skip
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
            for flags, extra in FLAGS.items():
                base_t = base_b = None
                for label, kwargs in builds.items():
                    out = Path(tmp) / f"{label}{flags}".replace(" ", "_")
                    cm = cnnc.compile(model, out, **kwargs)
                    batch = x[:SAMPLES]
                    with host_flags(extra):
                        cm.run(batch[:1])  # build and load once
                    seconds = median_seconds(lambda cm=cm, b=batch: cm.run(b)) / SAMPLES
                    blob = (out / "weights.bin").stat().st_size
                    base_t, base_b = base_t or seconds, base_b or blob
                    print(f"{name:<12} {label:<13} {flags:<11} {seconds * 1e6:10.1f} "
                          f"{seconds / base_t:7.2f} {blob:8d} {blob / base_b:7.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
