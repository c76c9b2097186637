"""Per-layer quantisation error: where does int8 depart from float?

``quant_error_table(float_graph, int8_graph, x)`` runs both graphs in the NumPy
reference on the same inputs and, for every layer output of the float graph that has
an int8 counterpart (same tensor name, or ``name.q``), dequantises the int8 values and
compares them with the float ones:

- cosine similarity  cos = <f, d> / (|f| |d|)           (1.0: same direction)
- SNR in dB          10 log10( sum f^2 / sum (f - d)^2 ) (inf: identical)

``cnnc.passes.quantize`` stores the table for the first calibration samples in the quantised
graph's metadata (``table_from_metadata``). ``format_quant_error_table(rows)`` prints
rows as a fixed-width table for ``cnnc report``; the row with the lowest SNR is marked
so a user can find the layer that breaks accuracy.
"""

from __future__ import annotations

import json

import numpy as np

from .. import ir, reference

METADATA_KEY = "cnnc.quant_error"  # quantize() stores the table here (JSON rows)


def int8_counterpart(qgraph: ir.Graph, name: str) -> ir.Tensor | None:
    for candidate in (name, f"{name}.q"):
        t = qgraph.tensors.get(candidate)
        if t is not None and t.dtype == "int8" and t.quant is not None and not t.is_const:
            return t
    return None


def quant_error_table(float_graph: ir.Graph, qgraph: ir.Graph, x: np.ndarray) -> list[dict]:
    """One row per float layer output with an int8 counterpart: layer, op, tensor,
    cosine, snr_db, scale, zero_point."""
    feeds = {float_graph.inputs[0]: np.asarray(x, np.float32)}
    fvals = reference.run(float_graph, feeds, keep_all=True)
    qin = qgraph.inputs[0]
    qt = qgraph.tensors[qin]
    if qt.dtype == "int8":  # int8-in model: quantise the input as its s8_quantize would
        scale, zp = float(qt.quant.scale), int(qt.quant.zero_point)
        q = np.clip(np.rint(feeds[float_graph.inputs[0]] / np.float32(scale)) + zp, -128, 127)
        qfeeds = {qin: q.astype(np.int8)}
    else:
        qfeeds = {qin: feeds[float_graph.inputs[0]]}
    qvals = reference.run(qgraph, qfeeds, keep_all=True)
    rows = []
    for node in float_graph.nodes:
        name = node.outputs[0]
        t = int8_counterpart(qgraph, name)
        if t is None or t.name not in qvals or name not in fvals:
            continue
        f = fvals[name].astype(np.float64).ravel()
        scale, zp = float(t.quant.scale), int(t.quant.zero_point)
        d = (qvals[t.name].astype(np.float64).ravel() - zp) * scale
        producer = qgraph.producer(t.name)
        op = node.op if producer is None or producer.op != "s8_quantize" else "s8_quantize"
        rows.append({
            "layer": node.name, "op": op, "tensor": name,
            "cosine": cosine(f, d), "snr_db": snr_db(f, d), "scale": scale, "zero_point": zp,
        })  # fmt: skip
    return rows


def cosine(f: np.ndarray, d: np.ndarray) -> float:
    nf, nd = np.linalg.norm(f), np.linalg.norm(d)
    if nf == 0 and nd == 0:
        return 1.0
    if nf == 0 or nd == 0:
        return 0.0
    return float(np.dot(f, d) / (nf * nd))


def snr_db(f: np.ndarray, d: np.ndarray) -> float:
    noise = float(np.sum((f - d) ** 2))
    signal = float(np.sum(f**2))
    if noise == 0:
        return float("inf")
    if signal == 0:
        return float("-inf")
    return 10.0 * np.log10(signal / noise)


def table_from_metadata(metadata: dict[str, str]) -> list[dict]:
    """The table ``cnnc.passes.quantize`` stored in a quantised graph's metadata ([] if none)."""
    text = metadata.get(METADATA_KEY)
    return json.loads(text) if text else []


def format_quant_error_table(rows: list[dict]) -> str:
    if not rows:
        return "no int8 layers to compare"
    worst = min(range(len(rows)), key=lambda i: rows[i]["snr_db"])
    width = max(len(r["layer"]) for r in rows)
    lines = [f"{'layer':<{width}}  {'op':<16} {'cosine':>8} {'SNR dB':>8}"]
    for i, r in enumerate(rows):
        mark = "  <- lowest SNR" if i == worst else ""
        lines.append(f"{r['layer']:<{width}}  {r['op']:<16} {r['cosine']:8.5f} "
                     f"{r['snr_db']:8.2f}{mark}")  # fmt: skip
    return "\n".join(lines)
