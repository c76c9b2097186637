"""Static arena planner: one byte offset per activation tensor, from lifetimes.

The schedule is ``graph.nodes`` in order; step i runs node i. A tensor lives from
the step that writes it to the last step that reads it (graph outputs to the end).
Tensors are grouped into buffers:

- alias ops (``reshape``) give their output the input's buffer: same bytes;
- in-place ops (``INPLACE_OPS``: elementwise kernels that allow out == in) write
  into an input buffer whose last reader is that very step and whose size matches.

Buffers are then placed greedily by size, largest first (TFLite's "greedy by
size"): each takes the lowest 64-byte-aligned offset that does not overlap, in
space, a placed buffer whose lifetime overlaps its own. The lower bound reported
beside the arena size is the largest, over steps, sum of the bytes of buffers
live at that step (a step's inputs and outputs are both live) — no placement of
these buffers can use less.

A ``fused_bands`` node (cnnc.ops.fused: a chain run over row bands) takes one sub-step
per body node, so the timeline counts sub-steps: its outer tensors live over all of them,
each internal tensor gets a buffer of its largest band, alive from the body node that
writes it to the last that reads it (every band rewrites it: nothing carries over).

Graph inputs are not in the arena (the caller's input pointer); constants are in
the weight blob. A precision that adds ops registers them here: in-place input
indices in ``INPLACE_OPS``, byte sizes of a new dtype in ``tensor_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import ir
from ..ops import fused

ALIGN = 64

# op -> indices of inputs whose buffer the output may take (kernel allows out == in)
INPLACE_OPS: dict[str, tuple[int, ...]] = {
    "act": (0,),
    "add": (0, 1),
    "mul": (0, 1),
    "scale_shift": (0,),
    "sign": (0,),
    "softmax": (0,),
}
ALIAS_OPS = {"reshape"}

ELEMENT_BYTES = {"float32": 4, "int8": 1, "uint8": 1, "int32": 4, "uint32": 4}


def tensor_bytes(t: ir.Tensor) -> int:
    """Bytes of a tensor in C: b1 packs the last axis (channels) in 32-bit words."""
    if t.dtype == "b1":
        *outer, c = t.shape
        words = (c + 31) // 32
        count = 1
        for d in outer:
            count *= d
        return count * words * 4
    if t.dtype not in ELEMENT_BYTES:
        raise ValueError(f"tensor {t.name}: no byte size for dtype {t.dtype}")
    return t.size * ELEMENT_BYTES[t.dtype]


@dataclass
class Buffer:
    tensors: list[str]
    nbytes: int
    start: int  # first step that writes it
    end: int  # last step that reads it (inclusive)
    offset: int = -1


@dataclass
class Plan:
    offsets: dict[str, int]  # activation tensor -> arena byte offset
    arena_bytes: int
    lower_bound: int
    buffers: list[Buffer] = field(default_factory=list)


def align_up(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def spans(graph: ir.Graph) -> list[tuple[int, int]]:
    """Each node's first and last sub-step on the timeline (a group: one per body node)."""
    out, at = [], 0
    for node in graph.nodes:
        k = len(node.attrs["body"]) if node.op == fused.OP else 1
        out.append((at, at + k - 1))
        at += k
    return out


def last_uses(graph: ir.Graph) -> dict[str, int]:
    last, span = {}, spans(graph)
    for step, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name:
                last[name] = span[step][1]
    for name in graph.outputs:
        last[name] = span[-1][1] + 1 if span else 0
    return last


def in_arena(graph: ir.Graph, name: str) -> bool:
    t = graph.tensors[name]
    return not t.is_const and name not in graph.inputs


def build_buffers(graph: ir.Graph) -> dict[str, Buffer]:
    """Assigns every arena tensor to a buffer (shared by aliases and in-place ops)."""
    last = last_uses(graph)
    owner: dict[str, Buffer] = {}
    for (step, _), node in zip(spans(graph), graph.nodes, strict=True):
        for out in node.outputs:
            t = graph.tensors[out]
            nbytes = tensor_bytes(t)
            shared = pick_shared_buffer(graph, node, step, nbytes, owner, last)
            if shared is None:
                shared = Buffer([], nbytes, step, step)
            shared.tensors.append(out)
            shared.end = max(shared.end, last.get(out, step))
            owner[out] = shared
        if node.op == fused.OP:
            owner.update(band_buffers(graph, node, step))
    return owner


def band_buffers(graph: ir.Graph, node: ir.Node, first: int) -> dict[str, Buffer]:
    """A group's internal tensors: one buffer each, of its largest band, alive from the body
    node that writes it to the last body node that reads it."""
    sizes = fused.band_buffer_bytes(node, graph)
    bufs: dict[str, Buffer] = {}
    for j, bn in enumerate(fused.body_nodes(node)):
        for name in bn.inputs:
            if name in bufs:
                bufs[name].end = first + j
        name = bn.outputs[0]
        if name in sizes:
            bufs[name] = Buffer([name], sizes[name], first + j, first + j)
    return bufs


def pick_shared_buffer(graph, node, step, nbytes, owner, last) -> Buffer | None:
    if node.op == fused.OP:
        return None
    if node.op in ALIAS_OPS and node.inputs[0] in owner:
        return owner[node.inputs[0]]
    for index in INPLACE_OPS.get(node.op, ()):
        if index >= len(node.inputs) or node.inputs[index] not in owner:
            continue
        buf = owner[node.inputs[index]]
        if buf.end == step and buf.nbytes == nbytes and node.inputs.count(node.inputs[index]) == 1:
            return buf
    return None


def lower_bound(buffers: list[Buffer], steps: int) -> int:
    live = [0] * (steps + 1)
    for b in buffers:
        for s in range(b.start, b.end + 1):
            live[s] += b.nbytes
    return max(live, default=0)


def place(buffers: list[Buffer]) -> int:
    """Greedy by size; returns the arena size. Sets ``Buffer.offset``."""
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.nbytes, b.start)):
        busy = sorted(
            (p.offset, p.offset + align_up(p.nbytes))
            for p in placed
            if p.start <= buf.end and buf.start <= p.end
        )
        buf.offset = best_gap(busy, align_up(buf.nbytes))
        placed.append(buf)
    return max((b.offset + align_up(b.nbytes) for b in buffers), default=0)


def best_gap(busy: list[tuple[int, int]], size: int) -> int:
    """The smallest free gap between busy intervals that fits ``size``; else the top."""
    best, best_len, cursor = None, None, 0
    for lo, hi in busy:
        gap = lo - cursor
        if gap >= size and (best_len is None or gap < best_len):
            best, best_len = cursor, gap
        cursor = max(cursor, hi)
    return cursor if best is None else best


def plan(graph: ir.Graph) -> Plan:
    owner = build_buffers(graph)
    buffers = list({id(b): b for b in owner.values()}.values())
    arena = place(buffers)
    offsets = {name: buf.offset for name, buf in owner.items()}
    steps = spans(graph)[-1][1] + 1 if graph.nodes else 0
    return Plan(offsets, arena, lower_bound(buffers, steps), buffers)
