"""MobileNetV2 exported the PyTorch way (1000 classes, 224x224, NCHW) compiles, its C
matches onnxruntime, and its arena is at most 1.1x the lower bound."""

import sys
from pathlib import Path

import cnnc
import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent))
import onnx_builders  # noqa: E402


def test_mobilenetv2_224_matches_onnxruntime_and_fits_the_arena(rng, tmp_path):
    model = onnx_builders.mobilenetv2_pytorch_style(num_classes=1000, input_size=224)
    compiled = cnnc.compile(model, tmp_path / "mnv2")
    x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    y_c = compiled.run(x)
    y_ort = onnx_builders.run_onnxruntime(model, {"input": x})[0]
    assert y_c.shape == y_ort.shape == (1, 1000)
    span = float(y_ort.max() - y_ort.min())
    err = float(np.abs(y_c - y_ort).max())
    assert err <= 1e-4 * span, f"max |C - onnxruntime| {err:.3g}, output range {span:.3g}"
    assert y_c.argmax() == y_ort.argmax()
    totals = compiled.report["totals"]
    assert totals["arena_bytes"] <= 1.1 * totals["arena_lower_bound"], totals
    # the largest activation pair (112x112x96 expand output and its 16-channel input)
    # bounds the arena from below: any plan needs at least that much
    assert totals["arena_lower_bound"] >= (112 * 112 * 96 + 112 * 112 * 16) * 4
    assert totals["macs"] > 290_000_000  # ~300 M multiply-accumulates at 224x224
