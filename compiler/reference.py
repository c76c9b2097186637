"""The NumPy reference executor: runs a graph with the executable definition of its ops.

``REFERENCE_OPS`` maps an op name to ``fn(node, graph, inputs) -> outputs``: the lowered
ops of every precision from ``cnnc.ops.registry.OPS`` (snake_case, NHWC) and, for imported
graphs and constant folding, the ONNX ops of ``cnnc.frontend.onnx_reference``
(CamelCase, NCHW, ONNX semantics).

Every op works on a batch (leading axis N of any size): the C runs one sample per call,
the reference may run many at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import ir
from .errors import CnncError, ShapeError, UnsupportedError
from .frontend.onnx_reference import ONNX_OPS
from .ops.registry import OPS

RefFn = Callable[[ir.Node, ir.Graph, list[np.ndarray]], list[np.ndarray]]
# Imported ONNX ops (CamelCase) and lowered ops (snake_case) never share a name.
REFERENCE_OPS: dict[str, RefFn] = {
    **ONNX_OPS,
    **{name: opdef.reference for name, opdef in OPS.items()},
}


def run(
    graph: ir.Graph, feeds: dict[str, np.ndarray], keep_all: bool = False
) -> dict[str, np.ndarray]:
    """Executes ``graph`` on ``feeds`` (graph input name -> array, ONNX layout).

    Returns the graph outputs, or with ``keep_all`` every tensor computed
    (inputs and node outputs), for per-layer verification.
    """
    values: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        if name not in feeds:
            raise CnncError(f"reference.run: no value fed for graph input '{name}'")
        values[name] = _check_feed(graph.tensors[name], np.asarray(feeds[name]))
    for node in graph.nodes:
        fn = REFERENCE_OPS.get(node.op)
        if fn is None:
            raise UnsupportedError(
                f"reference: node '{node.name}' ({node.op}): no reference for this op; "
                f"known: {', '.join(sorted(REFERENCE_OPS))}"
            )
        args = [_value(graph, values, name) for name in node.inputs]
        try:
            results = fn(node, graph, args)
        except CnncError:
            raise
        except (ValueError, IndexError, TypeError) as err:  # a graph the op cannot run
            shapes = [None if a is None else list(np.shape(a)) for a in args]
            raise ShapeError(
                f"reference: node '{node.name}' ({node.op}) failed on inputs "
                f"{node.inputs} of shapes {shapes}: {err}"
            ) from None
        for name, result in zip(node.outputs, results, strict=False):
            if name:
                values[name] = result
    if keep_all:
        return values
    return {name: _value(graph, values, name) for name in graph.outputs}


def _check_feed(tensor: ir.Tensor, x: np.ndarray) -> np.ndarray:
    if x.ndim != len(tensor.shape) or tuple(x.shape[1:]) != tuple(tensor.shape[1:]):
        raise ShapeError(
            f"reference.run: input '{tensor.name}' has shape {list(x.shape)}, the graph "
            f"expects {list(tensor.shape)} (any batch size)"
        )
    return x.astype(tensor.dtype if tensor.dtype != "b1" else np.float32, copy=False)


def _value(graph: ir.Graph, values: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    if name == "":
        return None
    if name in values:
        return values[name]
    data = graph.const(name)
    if data is None:
        raise CnncError(f"reference.run: tensor '{name}' is used before it is computed")
    return data
