"""Graph passes: from the imported ONNX graph (NCHW) to the lowered float graph (NHWC).

``lower(graph)`` runs, in order:

1. ``fold_constants``   Identity/Dropout removed; every node whose inputs are
                        all constant (Constant, ConstantOfShape, the
                        Shape/Gather/Unsqueeze/Concat chains PyTorch emits in
                        front of a Reshape) is evaluated with the reference.
2. ``remove_dead_nodes``
3. ``lower_layout``     ONNX ops -> ``ir.LOWERED_OPS``; 4-D activations become
                        NHWC. The graph input keeps the ONNX layout (the C entry
                        point takes NCHW), so the first node is a ``transpose``
                        (a ``reshape`` when C == 1 or H == W == 1, where NCHW
                        and NHWC hold the same bytes); 4-D outputs get the
                        inverse at the end. BatchNormalization becomes
                        ``scale_shift``, activations become ``act`` nodes.
4. ``fold_batchnorm``   ``scale_shift`` folded into the conv2d/dense before it.
5. ``fuse_silu``        ``mul(x, sigmoid(x))`` becomes one ``act`` (silu) node;
   ``fuse_activations`` ``act`` folded into its producer's ``act`` attribute.
6. ``absorb_flatten_transpose``  a Flatten of an NHWC tensor needs the NCHW
                        element order; instead of transposing the activations
                        we permute the columns of the dense weights after it.
7. ``simplify_layout``  transpose∘transpose and reshape∘reshape merged,
                        identity transposes/reshapes removed.
8. ``simplify_channel_shuffle``  the ShuffleNet channel shuffle done in NHWC with one
                        transpose instead of three.
9. ``remove_dead_nodes``

XNOR-Net: ``Where(Less(x, 0), -1, +1)`` becomes ``sign``. A ``Mul`` is never
folded into a conv (the binary conv's ``Mul(conv, alpha)`` must stay so its
weights stay ±1), and BatchNorm after a Mul or MaxPool stays a standalone
``scale_shift``; nor is BN folded into a conv fed by ``sign`` with ±1 weights.
"""

from __future__ import annotations

import copy

from .. import ir
from ..errors import ShapeError
from .fold import fold_batchnorm, fold_constants
from .fuse import (
    absorb_flatten_transpose,
    fuse_activations,
    fuse_silu,
    simplify_channel_shuffle,
    simplify_layout,
)
from .layout import lower_layout

__all__ = [
    "absorb_flatten_transpose",
    "fold_batchnorm",
    "fold_constants",
    "fuse_activations",
    "fuse_silu",
    "lower",
    "lower_layout",
    "simplify_channel_shuffle",
    "simplify_layout",
]


def lower(graph: ir.Graph) -> ir.Graph:
    """Imported graph (NCHW, ONNX ops) -> lowered float graph (NHWC, LOWERED_OPS)."""
    if graph.layout != "NCHW":
        raise ShapeError(f"passes.lower: expects an imported (NCHW) graph, got {graph.layout}")
    graph = copy.deepcopy(graph)
    graph = fold_constants(graph)
    graph = graph.remove_dead_nodes()
    graph = lower_layout(graph)
    graph = fold_batchnorm(graph)
    graph = fuse_silu(graph)
    graph = fuse_activations(graph)
    graph = absorb_flatten_transpose(graph)
    graph = simplify_layout(graph)
    graph = simplify_channel_shuffle(graph)
    return graph.remove_dead_nodes()
