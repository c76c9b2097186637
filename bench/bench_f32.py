"""float32 C on the host against onnxruntime and the NumPy reference, and the arena.

MobileNetV2 exported the PyTorch way (tests/onnx_builders.py) at three sizes, compiled
with cnnc.compile and run one sample per call through the cffi harness. Prints the
median of 5 runs per executor and the ratio to onnxruntime (single thread, graph
optimisations off, as the tests run it) measured in the same run, plus the planned
arena against its lower bound.

    .venv/bin/python bench/bench_f32.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import cnnc
import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import onnx_builders  # noqa: E402

CONFIGS = {"mnv2-32-w0.5": (32, 0.5, 10), "mnv2-96-w1.0": (96, 1.0, 1000),
           "mnv2-224-w1.0": (224, 1.0, 1000)}  # fmt: skip
RUNS = 5


def median_ms(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def ort_session(model):
    """onnxruntime as the tests run it (one thread, no graph optimisation), created once."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])  # fmt: skip


def main() -> None:
    print(f"{'model':<14} {'MMACs':>7} {'ORT ms':>8} {'C ms':>8} {'C/ORT':>6} {'ref ms':>8} "
          f"{'ref/ORT':>7} {'arena KiB':>10} {'bound KiB':>10} {'ratio':>6}")  # fmt: skip
    rng = np.random.default_rng(0)
    for label, (size, width, classes) in CONFIGS.items():
        model = onnx_builders.mobilenetv2_pytorch_style(classes, size, width)
        x = rng.standard_normal((1, 3, size, size)).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            cm = cnnc.compile(model, Path(tmp) / "out")
            cm.run(x)  # build and load once
            session = ort_session(model)
            ort = median_ms(lambda s=session, x=x: s.run(None, {"input": x}))
            c = median_ms(lambda cm=cm, x=x: cm.run(x))
            ref = median_ms(lambda cm=cm, x=x: cm.reference(x))
            t = cm.report["totals"]
        print(f"{label:<14} {t['macs'] / 1e6:>7.1f} {ort:>8.2f} {c:>8.2f} {c / ort:>6.2f} "
              f"{ref:>8.2f} {ref / ort:>7.2f} {t['arena_bytes'] / 1024:>10.1f} "
              f"{t['arena_lower_bound'] / 1024:>10.1f} {t['arena_ratio']:>6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
