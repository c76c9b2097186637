"""Weight blob bytes per precision, and how close int8 can get to a quarter of float32.

Sizes depend on the architecture, not on the weights, so untrained networks serve:
the digits zoo defaults and an ImageNet-size MobileNetV2 exported the PyTorch way.
For each, the float32 blob is the baseline (same run). The int8 blob holds int8
weights plus, per output channel, the int32 bias (DESIGN.md's scheme) and the
requantisation multiplier and shift; the "int32-bias floor" column is the ratio the
weights and biases alone would give, (W + 4C) / (4W + 4C) for W weights and C output
channels, which no int8 layout with int32 biases can beat.

    .venv/bin/python bench/bench_blob_sizes.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cnnc
import numpy as np
from cnnc.models import export, zoo
from cnnc.models.cli import DEFAULTS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import onnx_builders  # noqa: E402


def models():
    """(label, ONNX model, input shape NCHW, precisions to build besides float32)."""
    for name, d in DEFAULTS.items():  # the `cnnc train` defaults for digits
        size, width = d.input_size, d.width
        net = zoo.MODELS[name](size, 10, width, np.random.default_rng(0))
        extra = ["binary"] if name == "xnornet" else ["int8"]
        model = export.to_onnx(net, (size, size, 1))
        yield f"{name} digits w{width} {size}px", model, (1, 1, size, size), extra
    model = onnx_builders.mobilenetv2_pytorch_style(num_classes=1000, input_size=224, seed=0)
    yield "mobilenetv2 imagenet w1.0 224px", model, (1, 3, 224, 224), ["int8"]


def weight_counts(graph) -> tuple[int, int]:
    """(weights, output channels) of the float graph's conv and dense layers."""
    weights = channels = 0
    for node in graph.nodes:
        if node.op in ("conv2d", "dense"):
            w = graph.tensors[node.inputs[1]]
            weights += w.size
            channels += w.shape[0]
    return weights, channels


def main() -> None:
    head = (
        f"{'model':<32} {'precision':<9} {'blob B':>12} {'vs float32':>10} {'int32-bias floor':>17}"
    )
    print(head)
    print("-" * len(head))
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for label, model, shape, precisions in models():
            base = cnnc.compile(model, Path(tmp) / "f32", precision="float32")
            float_bytes = base.report["totals"]["flash_weights_bytes"]
            w, c = weight_counts(base.graph)
            print(f"{label:<32} {'float32':<9} {float_bytes:>12,} {1:>10.3f}")
            for p in precisions:
                calib = rng.standard_normal((2, *shape[1:])).astype(np.float32)
                cm = cnnc.compile(model, Path(tmp) / p, precision=p,
                                  calibration=calib if p == "int8" else None)  # fmt: skip
                b = cm.report["totals"]["flash_weights_bytes"]
                floor = f"{(w + 4 * c) / (4 * w + 4 * c):17.4f}" if p == "int8" else ""
                print(f"{label:<32} {p:<9} {b:>12,} {b / float_bytes:>10.3f} {floor}")


if __name__ == "__main__":
    main()
