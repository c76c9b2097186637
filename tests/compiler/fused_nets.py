"""Small int8 inverted-residual networks for the fused row-band schedule tests.

``tiny_ir_net`` is MobileNetV2 in miniature (a stride-2 stem, a t=1 block without an
expand, a stride-2 block, a residual block) at odd spatial sizes, exported the PyTorch
way (Conv + BatchNormalization + Clip), lowered and quantised by cnnc itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from cnnc import api, ir

sys.path.insert(0, str(Path(__file__).parents[1]))
import onnx_builders  # noqa: E402


def tiny_ir_onnx(rng: np.random.Generator, size: int = 19, stride2: bool = True):
    b = onnx_builders._Builder(rng)
    x = b.conv_bn("input", 3, 8, 3, 2 if stride2 else 1, 1, "stem", True)
    x = b.conv_bn(x, 8, 8, 3, 1, 8, "b1.dw", True)  # t=1: no expand
    x = b.conv_bn(x, 8, 6, 1, 1, 1, "b1.pw", False)
    y = b.conv_bn(x, 6, 18, 1, 1, 1, "b2.ex", True)
    y = b.conv_bn(y, 18, 18, 3, 2 if stride2 else 1, 18, "b2.dw", True)
    x = b.conv_bn(y, 18, 7, 1, 1, 1, "b2.pw", False)
    y = b.conv_bn(x, 7, 21, 1, 1, 1, "b3.ex", True)
    y = b.conv_bn(y, 21, 21, 3, 1, 21, "b3.dw", True)
    y = b.conv_bn(y, 21, 7, 1, 1, 1, "b3.pw", False)
    x = b.node("Add", [x, y])
    out = b.node("GlobalAveragePool", [x])
    return onnx_builders.make_model(b.nodes, {"input": [1, 3, size, size]}, {out: None},
                                    b.inits)  # fmt: skip


def tiny_ir_graph(rng: np.random.Generator, size: int = 19, stride2: bool = True) -> ir.Graph:
    """The lowered int8 graph (int8 input and output)."""
    model = tiny_ir_onnx(rng, size, stride2)
    calib = rng.standard_normal((8, 3, size, size)).astype(np.float32)
    return api.apply_precision(api.lowered_graph(model), "int8", calib, {"int8_io": True})


def int8_inputs(rng: np.random.Generator, graph: ir.Graph, n: int = 2) -> np.ndarray:
    shape = graph.tensors[graph.inputs[0]].shape
    return rng.integers(-128, 128, (n, *shape[1:])).astype(np.int8)
