"""The compile report: per layer op, shapes, precision, MACs/BOPs, weight bytes, arena offset.

Work counts come from each op's ``OpDef`` (``cnnc.ops.registry.OPS``): ``macs``
(multiply-accumulates of float/int8 ops), ``bops`` (binary operations of ``b1_*`` ops)
and ``float32_weight_bytes`` (what a binary layer's weights would take as float32, so
the report can show what packing saved), each ``fn(node, graph) -> int``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import ir
from ..ops import fused
from ..ops.registry import OPS
from . import planner
from .planner import Plan, tensor_bytes


def precision_of(node: ir.Node) -> str:
    if node.op.startswith("s8_"):
        return "int8"
    if node.op.startswith("b1_"):
        return "binary"
    return "float32"


def _counter(op: str, which: str):
    opdef = OPS.get(op)
    return None if opdef is None else getattr(opdef, which)


def count(which: str, node: ir.Node, graph: ir.Graph) -> int:
    """The node's ``which`` counter of its OpDef ("macs", "bops", "float32_weight_bytes")."""
    fn = _counter(node.op, which)
    return int(fn(node, graph)) if fn else 0


def const_bytes(graph: ir.Graph, name: str) -> int:
    return int(np.asarray(graph.tensors[name].data).nbytes)


def build_report(graph: ir.Graph, plan: Plan, blob_bytes: int, precision: str) -> dict:
    layers, seen = [], set()
    for i, node in enumerate(graph.nodes):
        consts = [n for n in node.inputs if n and graph.tensors[n].is_const and n not in seen]
        seen.update(consts)
        out = graph.tensors[node.outputs[0]]
        layers.append({
            "index": i,
            "name": node.name,
            "op": node.op,
            "precision": precision_of(node),
            "inputs": [list(graph.tensors[n].shape) for n in node.inputs
                       if n and not graph.tensors[n].is_const],
            "output": list(out.shape),
            "output_dtype": out.dtype,
            "macs": count("macs", node, graph),
            "bops": count("bops", node, graph),
            "weight_bytes": sum(const_bytes(graph, n) for n in consts),
            "float32_weight_bytes": count("float32_weight_bytes", node, graph),
            "arena_offset": plan.offsets[node.outputs[0]],
            "output_bytes": tensor_bytes(out),
        })  # fmt: skip
    totals = {
        "layers": len(layers),
        "macs": sum(r["macs"] for r in layers),
        "bops": sum(r["bops"] for r in layers),
        "weight_bytes": sum(r["weight_bytes"] for r in layers),
        "flash_weights_bytes": blob_bytes,
        "binary_weight_bytes": sum(
            r["weight_bytes"] for r in layers if _counter(r["op"], "float32_weight_bytes")
        ),
        "binary_float32_weight_bytes": sum(r["float32_weight_bytes"] for r in layers),
        "arena_bytes": plan.arena_bytes,
        "arena_lower_bound": plan.lower_bound,
        "arena_ratio": round(plan.arena_bytes / max(plan.lower_bound, 1), 4),
    }
    rep = {"precision": precision, "layers": layers, "totals": totals}
    rep["schedule"] = schedule_report(graph, plan)
    return rep


def schedule_report(graph: ir.Graph, plan: Plan) -> dict:
    """The memory schedule: the layer-by-layer bound (the planner's lower bound of the
    graph without fused groups), the arena achieved, the MACs recomputed for band halos,
    and per fused group its band height (cnnc.ops.fused, cnnc.passes.schedule)."""
    flat = fused.unfused_graph(graph)
    macs = sum(count("macs", n, flat) for n in flat.nodes)
    groups = []
    for node in graph.nodes:
        if node.op != fused.OP:
            continue
        bands = fused.band_geometry(node, graph)
        extra = fused.executed_macs(node, graph, bands) - fused.unfused_macs(node, graph)
        groups.append({
            "name": node.name,
            "ops": len(node.attrs["body"]),
            "output": list(graph.tensors[node.outputs[0]].shape),
            "band_h": int(node.attrs["band_h"]),
            "bands": len(bands),
            "band_buffer_bytes": sum(fused.band_buffer_bytes(node, graph, bands).values()),
            "recompute_macs": extra,
        })  # fmt: skip
    extra = sum(g["recompute_macs"] for g in groups)
    meta = graph.metadata.get("cnnc.schedule")
    memory = json.loads(meta).get("memory", "fast") if meta else "fast"
    return {
        "memory": memory,
        "layer_by_layer_bound": planner.plan(flat).lower_bound if groups else plan.lower_bound,
        "arena_bytes": plan.arena_bytes,
        "macs_unfused": macs,
        "recompute_macs": extra,
        "recompute_ratio": round(extra / max(macs, 1), 4),
        "groups": groups,
    }


def format_schedule(s: dict) -> list[str]:
    bound = s["layer_by_layer_bound"]
    lines = [
        f"memory {s['memory']}: arena {s['arena_bytes']:,} bytes vs layer-by-layer bound "
        f"{bound:,} ({s['arena_bytes'] / max(bound, 1):.3f}x); recompute "
        f"{s['recompute_macs']:,} MACs ({100 * s['recompute_ratio']:.1f} % of "
        f"{s['macs_unfused']:,})"
    ]
    for g in s["groups"]:
        lines.append(
            f"  fused {g['ops']:>2} ops -> {str(g['output']):<16} band_h {g['band_h']:>3} "
            f"({g['bands']:>3} bands), band buffers {g['band_buffer_bytes']:>8,} B, "
            f"recompute {g['recompute_macs']:>10,} MACs  {g['name']}"
        )
    return lines


def format_table(report: dict) -> str:
    head = f"{'#':>3} {'op':<16} {'prec':<7} {'output':<18} {'MACs':>12} {'BOPs':>12} "
    head += f"{'weights B':>10} {'arena off':>10}  name"
    lines = [head, "-" * len(head)]
    for r in report["layers"]:
        lines.append(
            f"{r['index']:>3} {r['op']:<16} {r['precision']:<7} {str(r['output']):<18} "
            f"{r['macs']:>12,} {r['bops']:>12,} {r['weight_bytes']:>10,} "
            f"{r['arena_offset']:>10,}  {r['name']}"
        )
    t = report["totals"]
    lines += [
        "-" * len(head),
        f"total: {t['layers']} layers, {t['macs']:,} MACs, {t['bops']:,} BOPs",
        f"flash: weights.bin {t['flash_weights_bytes']:,} bytes "
        f"({t['weight_bytes']:,} bytes of constants)",
        f"RAM:   arena {t['arena_bytes']:,} bytes, lower bound {t['arena_lower_bound']:,} "
        f"(ratio {t['arena_ratio']:.3f})",
    ]
    if report.get("schedule") and (report["schedule"]["groups"] or
                                   report["schedule"]["memory"] != "fast"):  # fmt: skip
        lines += format_schedule(report["schedule"])
    if t.get("binary_weight_bytes"):
        packed, as_float = t["binary_weight_bytes"], t["binary_float32_weight_bytes"]
        lines.append(
            f"binary layers: {packed:,} bytes packed (with thresholds/scales) vs "
            f"{as_float:,} bytes as float32 weights: {as_float / packed:.1f}x smaller"
        )
    return "\n".join(lines)


def save(report: dict, out_dir: str | Path) -> Path:
    path = Path(out_dir) / "report.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    return path
