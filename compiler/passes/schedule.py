"""The schedule pass: fuses inverted-residual chains of the int8 graph into row bands.

``schedule(graph, memory, max_recompute, nbytes)`` returns the graph to generate code
for. ``memory="fast"`` (the default) keeps the layer-by-layer schedule: on the x86 host
the banded schedule was measured slower (bench/bench_vs_onnxruntime.py, fused rows), the
tensors of these models already fit the caches. ``memory="min"`` picks the fused groups
and band heights that minimise the peak arena under a recompute budget.

Units. ``find_units`` reads the lowered graph as a sequence of units: an inverted-residual
block (``s8_conv2d`` 1x1 expand, if any -> depthwise ``s8_conv2d`` (stride 1 or 2) ->
1x1 project, if any -> ``s8_add`` residual, if any), or any other single ``s8_conv2d``
(the stem, the last 1x1). A group is a run of consecutive units whose inner tensors
nobody outside reads; it becomes one ``fused_bands`` node (``cnnc.ops.fused``), run over
bands of its output rows with halo rows recomputed.

Choice (``memory="min"``). Each step's footprint is what must be alive while it runs:
every arena tensor made before it and read at or after it, plus its outputs; for a
group, its outer tensors plus the largest set of band buffers alive at one body node.
The peak of the footprints is the arena's lower bound. For a target peak T a dynamic
programme over the node sequence finds the grouping (each node alone, or in one group
with one band height) of least recomputed MACs whose every footprint is <= T; a bisection
over the candidate footprints finds the least T whose recompute fits the budget
(``max_recompute`` x the model's MACs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from .. import ir
from ..errors import UnsupportedError
from ..ops import fused

MEMORY_MODES = ("fast", "min")
MAX_UNITS = 6  # units per group: longer groups recompute too much to ever be chosen
BAND_HEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 48, 64)


@dataclass
class Option:
    """Nodes [start, end) as one group with ``band_h`` output rows per band."""

    start: int
    end: int
    band_h: int
    footprint: int  # peak bytes alive while the group runs
    recompute: int  # MACs beyond the unfused ones


def is_conv(node: ir.Node) -> bool:
    return node.op == "s8_conv2d"


def is_depthwise(node: ir.Node, graph: ir.Graph) -> bool:
    c = graph.tensors[node.inputs[0]].shape[-1]
    return is_conv(node) and node.attrs.get("groups", 1) == c and kernel_h(node, graph) > 1


def is_pointwise(node: ir.Node, graph: ir.Graph) -> bool:
    return is_conv(node) and node.attrs.get("groups", 1) == 1 and kernel_h(node, graph) == 1


def kernel_h(node: ir.Node, graph: ir.Graph) -> int:
    return graph.tensors[node.inputs[1]].shape[1]


def find_units(graph: ir.Graph) -> list[tuple[int, int]]:
    """[start, end) node ranges of the blocks and single convs, in graph order."""
    nodes, units, i = graph.nodes, [], 0

    def feeds_only(a: int, b: int) -> bool:  # node a's output read by node b alone
        return graph.single_consumer(nodes[a].outputs[0]) is nodes[b]

    while i < len(nodes):
        if not is_conv(nodes[i]):
            i += 1
            continue
        start, dw = i, i
        expand = is_pointwise(nodes[i], graph) and i + 1 < len(nodes)
        if expand and is_depthwise(nodes[i + 1], graph) and feeds_only(i, i + 1):
            dw = i + 1
        end = dw + 1
        if is_depthwise(nodes[dw], graph):
            if end < len(nodes) and is_pointwise(nodes[end], graph) and feeds_only(dw, end):
                end += 1
                nxt = nodes[end] if end < len(nodes) else None
                if nxt is not None and nxt.op == "s8_add" and feeds_only(end - 1, end):
                    end += 1
        units.append((start, end))
        i = end
    return units


def lifetimes(graph: ir.Graph) -> tuple[dict[str, int], dict[str, int]]:
    """(producer step, last reader step) of every arena tensor (graph outputs: the end)."""
    made, last = {}, {}
    for step, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name in made:
                last[name] = step
        for name in node.outputs:
            made[name] = step
            last.setdefault(name, step)
    for name in graph.outputs:
        last[name] = len(graph.nodes)
    return made, last


def group_is_valid(graph: ir.Graph, start: int, end: int, made, last) -> bool:
    """Every node a band op, one sample, and every inner tensor read inside only."""
    for step in range(start, end):
        node = graph.nodes[step]
        if node.op not in fused.BAND_KINDS or len(node.outputs) != 1:
            return False
        if graph.tensors[node.outputs[0]].shape[0] != 1:
            return False
        if step < end - 1 and (last[node.outputs[0]] >= end or node.outputs[0] in graph.outputs):
            return False
    return True


def make_group(graph: ir.Graph, start: int, end: int, band_h: int) -> ir.Node:
    body = graph.nodes[start:end]
    inner = {n.outputs[0] for n in body}
    inputs: list[str] = []
    for n in body:
        inputs += [x for x in n.inputs if x and x not in inner and x not in inputs]
    name = f"bands({body[0].name} .. {body[-1].name})"
    attrs = {"body": [fused.node_record(n) for n in body], "band_h": int(band_h)}
    return ir.Node(fused.OP, name, inputs, [body[-1].outputs[0]], attrs)


def apply(graph: ir.Graph, groups: list[tuple[int, int, int]]) -> ir.Graph:
    """A copy of ``graph`` with each (start, end, band_h) range replaced by its group."""
    nodes, at = [], 0
    for start, end, band_h in sorted(groups):
        nodes += graph.nodes[at:start] + [make_group(graph, start, end, band_h)]
        at = end
    nodes += graph.nodes[at:]
    return ir.Graph(dict(graph.tensors), nodes, list(graph.inputs), list(graph.outputs),
                    graph.layout, dict(graph.metadata))  # fmt: skip


# ---------------------------------------------------------------- footprints


def in_arena(graph: ir.Graph, name: str) -> bool:
    return bool(name) and not graph.tensors[name].is_const and name not in graph.inputs


def outer_bytes(graph, start, end, made, last, nbytes) -> int:
    """Bytes of the arena tensors alive across steps [start, end): made before ``end``
    and read at or after ``start``, but not made and last read inside."""
    total = 0
    for name, step in made.items():
        inside = start <= step < end and last[name] < end
        if in_arena(graph, name) and step < end and last[name] >= start and not inside:
            total += nbytes(graph.tensors[name])
    return total


def band_peak(group: ir.Node, graph: ir.Graph, buffers: dict[str, int]) -> int:
    """The most band-buffer bytes alive at one body node (producer .. last reader)."""
    body = fused.body_nodes(group)
    span = {}
    for j, bn in enumerate(body):
        for name in bn.inputs:
            if name in buffers:
                span[name] = (span[name][0], j)
        if bn.outputs[0] in buffers:
            span[bn.outputs[0]] = (j, j)
    return max(
        (sum(buffers[t] for t, (a, b) in span.items() if a <= j <= b) for j in range(len(body))),
        default=0,
    )


def options(graph: ir.Graph, made, last, nbytes) -> list[Option]:
    units, found = find_units(graph), []
    for k, (start, _) in enumerate(units):
        end_unit = k
        while end_unit < len(units) and end_unit - k < MAX_UNITS:
            if end_unit > k and units[end_unit][0] != units[end_unit - 1][1]:
                break
            end = units[end_unit][1]
            end_unit += 1
            if end - start < 2 or not group_is_valid(graph, start, end, made, last):
                continue
            outer = outer_bytes(graph, start, end, made, last, nbytes)
            height = graph.tensors[graph.nodes[end - 1].outputs[0]].shape[1]
            for band_h in (h for h in BAND_HEIGHTS if h < height):
                group = make_group(graph, start, end, band_h)
                bands = fused.band_geometry(group, graph)
                peak = band_peak(group, graph, fused.band_buffer_bytes(group, graph, bands))
                extra = fused.executed_macs(group, graph, bands) - fused.unfused_macs(group, graph)
                found.append(Option(start, end, band_h, outer + peak, extra))
    return found


def step_footprints(graph: ir.Graph, made, last, nbytes) -> list[int]:
    return [outer_bytes(graph, i, i + 1, made, last, nbytes) for i in range(len(graph.nodes))]


def best_under(n: int, steps: list[int], by_end: dict, limit: int):
    """Least-recompute grouping whose every footprint is <= limit: (recompute, groups)."""
    inf = float("inf")
    cost, choice = [0] + [inf] * n, [None] * (n + 1)
    for i in range(1, n + 1):
        if steps[i - 1] <= limit and cost[i - 1] < cost[i]:
            cost[i], choice[i] = cost[i - 1], None
        for opt in by_end.get(i, ()):
            if opt.footprint <= limit and cost[opt.start] + opt.recompute < cost[i]:
                cost[i], choice[i] = cost[opt.start] + opt.recompute, opt
    groups, i = [], n
    while i > 0:
        opt = choice[i]
        if opt is None:
            i -= 1
        else:
            groups.append(opt)
            i = opt.start
    return cost[n], groups[::-1]


def model_macs(graph: ir.Graph) -> int:
    from ..ops.registry import OPS

    return sum(int(OPS[n.op].macs(n, graph)) for n in graph.nodes
               if n.op in OPS and OPS[n.op].macs)  # fmt: skip


def choose_min(graph: ir.Graph, max_recompute: float, nbytes: Callable) -> list[Option]:
    made, last = lifetimes(graph)
    steps = step_footprints(graph, made, last, nbytes)
    opts = options(graph, made, last, nbytes)
    by_end: dict[int, list[Option]] = {}
    for opt in opts:
        by_end.setdefault(opt.end, []).append(opt)
    budget = max_recompute * model_macs(graph)
    limits = sorted({*steps, *(o.footprint for o in opts)})
    limits = [t for t in limits if t >= max(steps_that_stay(graph, steps, opts))]
    lo, hi = 0, len(limits) - 1  # the largest limit is always met with no group
    while lo < hi:
        mid = (lo + hi) // 2
        if best_under(len(graph.nodes), steps, by_end, limits[mid])[0] <= budget:
            hi = mid
        else:
            lo = mid + 1
    return best_under(len(graph.nodes), steps, by_end, limits[lo])[1]


def steps_that_stay(graph: ir.Graph, steps: list[int], opts: list[Option]) -> list[int]:
    """Footprints of the steps no group can cover (a lower limit for the search)."""
    covered = set()
    for o in opts:
        covered.update(range(o.start, o.end))
    return [0] + [f for i, f in enumerate(steps) if i not in covered]


def schedule(
    graph: ir.Graph, memory: str = "fast", max_recompute: float = 0.15, nbytes: Callable = None
) -> ir.Graph:
    """The graph to generate code for under ``memory`` (see the module docstring)."""
    if memory not in MEMORY_MODES:
        raise UnsupportedError(f"memory mode {memory!r}; choose one of {', '.join(MEMORY_MODES)}")
    if not (0.0 <= float(max_recompute) <= 10.0):
        raise UnsupportedError(f"max recompute {max_recompute}: choose a fraction in [0, 10]")
    if memory == "fast":
        return graph
    groups = choose_min(graph, float(max_recompute), nbytes)
    out = apply(graph, [(g.start, g.end, g.band_h) for g in groups])
    out.metadata["cnnc.schedule"] = json.dumps(
        {"memory": memory, "max_recompute": float(max_recompute)}
    )
    return out
