"""The fused row-band op (``fused_bands``): a chain of lowered ops run over output row bands.

``cnnc.passes.schedule`` replaces a chain of int8 ops (an inverted-residual block:
pointwise expand -> depthwise -> pointwise project (+ residual add), several such blocks,
or a banded stem conv in front) by one ``fused_bands`` node. Its attributes are the
schedule, plain data that graph.json stores like any other attribute:

    body     the chain's nodes, in order, each ``{"op", "name", "inputs", "outputs",
             "attrs"}`` exactly as they were in the graph;
    band_h   output rows of the chain's last tensor per band (the last band may be short).

The node's inputs are every tensor the body reads from outside (activations and
constants), its one output is the body's last output. Tensors computed inside the body
("internal") keep their ``graph.tensors`` entry (full shape), but only a band of their
rows ever exists: ``band_geometry`` gives, for each band, the rows of every tensor the
band needs, walking the chain backwards from the band's output rows (a window op needs
rows ``[lo*s - pad_top, (hi-1)*s - pad_top + kernel_h)`` of its input, an elementwise op
the same rows). Halo rows shared by neighbouring bands are recomputed, never kept.

One band of a window op is the same kernel on a row window of its input, with the
params ``h`` (window rows), ``out_h`` (band rows) and ``pad_top`` (the top padding only
the first band keeps) changed; rows past the window's end are bottom padding only when
the window ends at the input's last row, otherwise the band never reads them. The NumPy
reference here and the C loop (``cnnc.backend.schedule_codegen``) apply exactly this, so
integers come out bit for bit as in the unfused graph, and a schedule bug shows on the
host. The planner (``cnnc.backend.planner``) gives each internal tensor a buffer of its
largest band (``band_buffer_bytes``), alive only between its producer and last reader
inside one band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ir
from ..errors import CnncError
from . import s8
from .opdef import OpDef, table

OP = "fused_bands"

# body ops a band can run: "window" ops map output rows to input rows through kernel,
# stride and pad; "rows" ops are elementwise (output row r reads input row r).
BAND_KINDS = {"s8_conv2d": "window", "s8_add": "rows"}


@dataclass
class Step:
    """One body node's work in one band: output rows [out_lo, out_hi); for a window op,
    input rows [in_lo, in_hi) with ``pad_top`` rows of padding above ``in_lo``."""

    out_lo: int
    out_hi: int
    in_lo: int
    in_hi: int
    pad_top: int


@dataclass
class Band:
    rows: dict[str, tuple[int, int]]  # tensor -> rows [lo, hi) held for this band
    steps: list[Step]  # per body node


def body_nodes(node: ir.Node) -> list[ir.Node]:
    return [
        ir.Node(b["op"], b["name"], list(b["inputs"]), list(b["outputs"]), dict(b["attrs"]))
        for b in node.attrs["body"]
    ]


def flat_nodes(nodes: list[ir.Node]) -> list[ir.Node]:
    """The nodes with every group replaced by its body (what the kernels actually run)."""
    out = []
    for node in nodes:
        out += body_nodes(node) if node.op == OP else [node]
    return out


def unfused_graph(graph: ir.Graph) -> ir.Graph:
    """The layer-by-layer graph of a scheduled one (its groups' bodies put back)."""
    return ir.Graph(dict(graph.tensors), flat_nodes(graph.nodes), list(graph.inputs),
                    list(graph.outputs), graph.layout, dict(graph.metadata))  # fmt: skip


def node_record(node: ir.Node) -> dict:
    """A node as a body entry (plain data graph.json can store)."""
    return {"op": node.op, "name": node.name, "inputs": list(node.inputs),
            "outputs": list(node.outputs), "attrs": dict(node.attrs)}  # fmt: skip


def internal_tensors(node: ir.Node) -> list[str]:
    """The tensors the body computes and keeps inside (every body output but the last)."""
    return [n.outputs[0] for n in body_nodes(node)[:-1]]


def activation_inputs(bn: ir.Node, graph: ir.Graph) -> list[str]:
    """The activation (non-constant) inputs a body node reads: a window op its first."""
    if BAND_KINDS[bn.op] == "window":
        return [bn.inputs[0]]
    return [n for n in bn.inputs if n and not graph.tensors[n].is_const]


def window(bn: ir.Node, graph: ir.Graph) -> tuple[int, int, int, int]:
    """(kernel_h, stride_h, pad_top, input height) of a window op."""
    kh = graph.tensors[bn.inputs[1]].shape[1]
    sh = bn.attrs.get("strides", (1, 1))[0]
    top = bn.attrs.get("pads", (0, 0, 0, 0))[0]
    return kh, sh, top, graph.tensors[bn.inputs[0]].shape[1]


def out_height(node: ir.Node, graph: ir.Graph) -> int:
    return graph.tensors[node.outputs[0]].shape[1]


def band_geometry(node: ir.Node, graph: ir.Graph, band_h: int | None = None) -> list[Band]:
    """Every band's rows of every tensor and every body node's step, top band first."""
    body = body_nodes(node)
    band_h = int(band_h or node.attrs["band_h"])
    height = out_height(node, graph)
    if band_h < 1:
        raise CnncError(f"node '{node.name}' ({OP}): band_h {band_h} < 1")
    bands = []
    for lo in range(0, height, band_h):
        rows = {node.outputs[0]: (lo, min(height, lo + band_h))}
        steps: list[Step | None] = [None] * len(body)
        for j in range(len(body) - 1, -1, -1):
            bn = body[j]
            a, b = rows[bn.outputs[0]]
            if BAND_KINDS[bn.op] == "window":
                kh, sh, top, h = window(bn, graph)
                first = a * sh - top
                in_lo, in_hi = max(0, first), min(h, (b - 1) * sh - top + kh)
                steps[j] = Step(a, b, in_lo, in_hi, max(0, -first))
            else:
                in_lo, in_hi = a, b
                steps[j] = Step(a, b, a, b, 0)
            for name in activation_inputs(bn, graph):
                old = rows.get(name)
                rows[name] = (in_lo, in_hi) if old is None else (min(old[0], in_lo),
                                                                 max(old[1], in_hi))  # fmt: skip
        bands.append(Band(rows, steps))
    return bands


def band_buffer_bytes(node: ir.Node, graph: ir.Graph, bands: list[Band] | None = None) -> dict:
    """internal tensor -> bytes of its largest band (rows x row bytes, int8)."""
    bands = bands if bands is not None else band_geometry(node, graph)
    out = {}
    for name in internal_tensors(node):
        _, _, w, c = graph.tensors[name].shape
        rows = max(b.rows[name][1] - b.rows[name][0] for b in bands)
        out[name] = rows * w * c
    return out


def body_macs(bn: ir.Node, graph: ir.Graph) -> tuple[int, int]:
    """(MACs of the whole node, its output height): MACs per output row = a / b."""
    if bn.op != "s8_conv2d":
        return 0, 1
    _, kh, kw, cg = graph.tensors[bn.inputs[1]].shape
    out = graph.tensors[bn.outputs[0]]
    return out.size * kh * kw * cg, out.shape[1]


def executed_macs(node: ir.Node, graph: ir.Graph, bands: list[Band] | None = None) -> int:
    """The MACs the banded schedule runs, halo recomputation included."""
    bands = bands if bands is not None else band_geometry(node, graph)
    body, total = body_nodes(node), 0
    for j, bn in enumerate(body):
        macs, height = body_macs(bn, graph)
        rows = sum(b.steps[j].out_hi - b.steps[j].out_lo for b in bands)
        total += macs // height * rows
    return total


def unfused_macs(node: ir.Node, graph: ir.Graph) -> int:
    return sum(body_macs(bn, graph)[0] for bn in body_nodes(node))


# ---------------------------------------------------------------- the reference


def band_conv(bn: ir.Node, graph: ir.Graph, x: np.ndarray, consts, step: Step) -> np.ndarray:
    """One band of an s8_conv2d: its kernel on input rows [in_lo, in_hi) (x holds them)."""
    p = s8.conv_params(bn, graph)
    p.n, p.h = x.shape[0], step.in_hi - step.in_lo
    p.out_h, p.pad_top = step.out_hi - step.out_lo, step.pad_top
    return s8.conv_s8(x, *consts, p, f"node '{bn.name}' (band rows {step.out_lo}..)")


def band_add(bn: ir.Node, graph: ir.Graph, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = s8.add_params(bn, graph)
    p.size = a.size
    return s8.add_s8(a, b, p)


def run_fused(node: ir.Node, graph: ir.Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The schedule itself, band by band: each band computes its rows of every internal
    tensor from the rows the previous ops left for this band, then its output rows."""
    values = dict(zip(node.inputs, inputs, strict=True))
    body = body_nodes(node)
    batch = next(v.shape[0] for n, v in values.items() if not graph.tensors[n].is_const)
    y = graph.tensors[node.outputs[0]]
    out = np.empty((batch, *y.shape[1:]), np.int8)
    for band in band_geometry(node, graph):
        held: dict[str, tuple[int, np.ndarray]] = {}  # tensor -> (first row, rows held)

        def rows(name: str, lo: int, hi: int, held=held) -> np.ndarray:
            first, data = held.get(name, (0, values.get(name)))
            return data[:, lo - first : hi - first]

        for bn, step in zip(body, band.steps, strict=True):
            if BAND_KINDS[bn.op] == "window":
                x = rows(bn.inputs[0], step.in_lo, step.in_hi)
                consts = [values.get(n, graph.const(n)) for n in bn.inputs[1:5]]
                result = band_conv(bn, graph, x, consts, step)
            else:
                a, b = (rows(n, step.in_lo, step.in_hi) for n in bn.inputs)
                result = band_add(bn, graph, a, b)
            held[bn.outputs[0]] = (step.out_lo, result)
        lo, hi = band.rows[node.outputs[0]]
        out[:, lo:hi] = held[node.outputs[0]][1]
    return [out]


def fused_macs(node: ir.Node, graph: ir.Graph) -> int:
    return executed_macs(node, graph)


def _no_emitter(node, em):
    raise CnncError(
        f"node '{node.name}' ({OP}): rendered by cnnc.backend.schedule_codegen, not by an emitter"
    )


DOC = (
    "xs (the body's external inputs) -> y: attrs body (a chain of s8_conv2d / s8_add nodes), "
    "band_h (output rows per band); runs the chain over row bands, halos recomputed"
)

OPS = table(OpDef(OP, DOC, run_fused, _no_emitter, macs=fused_macs))
