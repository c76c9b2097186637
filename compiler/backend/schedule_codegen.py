"""C for a ``fused_bands`` node (cnnc.ops.fused): a loop over row bands calling the kernels.

Each body node is emitted by its own op's emitter (same kernel choice, same packed
weights, same params struct), with internal tensors pointing at their band buffers (the
planner's offsets). The band loop then calls each kernel on a row window: for every band
a const table row gives, per body node, ``{x_row, h, pad_top, y_row, out_h}`` (a window
op: input rows from ``x_row`` of its buffer, ``h`` of them, ``pad_top`` rows of top
padding, output rows written from ``y_row``) or ``{a_row, b_row, 0, y_row, rows}`` (the
residual add); the NCHW -> NHWC input transpose reads its rows with
``cnnc_s8_transpose_rows__ref``. NHWC makes a row window a pointer offset of ``row*w*c``
bytes; the kernel sees a params copy with ``h``, ``out_h`` and ``pad_top`` (``size``
for the add) replaced, exactly as ``cnnc.ops.fused.band_conv`` does in the reference. So
every ISA variant of a kernel serves the banded schedule unchanged.

Rows in the table are relative to the buffer a tensor lives in: the band's first held
row for an internal tensor, row 0 for the group's outer tensors (full tensors).

The code generator calls ``emit_group`` from ``emit_layers`` and ``render_group`` from
``render_layer``; its rendering helpers are passed in so that this module does not import
``codegen`` back.
"""

from __future__ import annotations

import re

from .. import ir
from ..ops import fused
from ..ops.registry import OPS, KernelCall

ROW_FIELDS = 5  # per body node and band: x_row, h, pad_top, y_row, out_h


def emit_group(node: ir.Node, em) -> list[KernelCall]:
    """One KernelCall per body node, for the whole tensors (the loop narrows them)."""
    calls = []
    for bn in fused.body_nodes(node):
        emitted = OPS[bn.op].emit(bn, em)
        if len(emitted) != 1:
            raise ValueError(f"node '{bn.name}' ({bn.op}) in a fused group emits {len(emitted)}")
        calls += emitted
    return calls


def band_rows(node: ir.Node, graph: ir.Graph) -> list[list[int]]:
    """The band table: per band, ROW_FIELDS ints per body node (see the module docstring)."""
    body = fused.body_nodes(node)
    inner = set(fused.internal_tensors(node))
    table = []
    for band in fused.band_geometry(node, graph):

        def base(name: str, band=band) -> int:
            return band.rows[name][0] if name in inner else 0

        row = []
        for bn, step in zip(body, band.steps, strict=True):
            y_row = step.out_lo - base(bn.outputs[0])
            if fused.BAND_KINDS[bn.op] in ("window", "nchw_rows"):
                x = bn.inputs[0]
                row += [step.in_lo - base(x), step.in_hi - step.in_lo, step.pad_top]
            else:
                a, b = bn.inputs[:2]
                row += [step.in_lo - base(a), step.in_lo - base(b), 0]
            row += [y_row, step.out_hi - step.out_lo]
        table.append(row)
    return table


def row_elems(graph: ir.Graph, name: str) -> int:
    _, _, w, c = graph.tensors[name].shape
    return w * c


def offset(arg: str, field: int, elems: int) -> str:
    """A kernel argument moved down ``r[field]`` rows of ``elems`` int8 each."""
    return f"({arg}) + (size_t)r[{field}] * {elems}"


def band_call(bn: ir.Node, call: KernelCall, k: int, graph: ir.Graph) -> tuple[list, KernelCall]:
    """(lines setting the params copy ``p``, the call narrowed to the band) for body node k."""
    base, args = k * ROW_FIELDS, list(call.args)
    y_elems = row_elems(graph, bn.outputs[0])
    y = offset(args[-1], base + 3, y_elems)
    kind = fused.BAND_KINDS[bn.op]
    if kind == "nchw_rows":  # the input transpose: its own band kernel takes the rows
        args = [args[0], f"r[{base}]", f"r[{base + 4}]", y]
        return [], KernelCall("cnnc_s8_transpose_rows__ref", args, call.params_type, call.params)
    if kind == "window":
        sets = [f"p.h = r[{base + 1}];", f"p.pad_top = r[{base + 2}];",
                f"p.out_h = r[{base + 4}];"]  # fmt: skip
        args[0] = offset(args[0], base, row_elems(graph, bn.inputs[0]))
    else:
        sets = [f"p.size = r[{base + 4}] * {y_elems};"]
        args[0] = offset(args[0], base, row_elems(graph, bn.inputs[0]))
        args[1] = offset(args[1], base + 1, row_elems(graph, bn.inputs[1]))
    args[-1] = y
    return sets, KernelCall(call.fn, args, call.params_type, call.params)


def band_params(node: ir.Node, graph: ir.Graph, calls: list[KernelCall]) -> list[tuple]:
    """(kernel, params type, params) of every call the band loop makes: each body node's
    params with the fields its band's table row replaces (``band_call``'s ``sets``)."""
    body = fused.body_nodes(node)
    found = []
    for row in band_rows(node, graph):
        for k, (bn, call) in enumerate(zip(body, calls, strict=True)):
            kind, base = fused.BAND_KINDS[bn.op], k * ROW_FIELDS
            if kind == "nchw_rows" or not call.params_type:
                continue  # the transpose's band kernel takes rows, not a params struct
            params = dict(call.params)
            if kind == "window":
                params.update(h=row[base + 1], pad_top=row[base + 2], out_h=row[base + 4])
            else:
                params["size"] = row[base + 4] * row_elems(graph, bn.outputs[0])
            found.append((call.fn, call.params_type, params))
    return found


def render_group(layer, graph: ir.Graph, slots: dict, render_call, render_params, c_comment):
    """The layer function of a group: params structs, the band table and the band loop."""
    node, index = layer.node, layer.index
    body = fused.body_nodes(node)
    table = band_rows(node, graph)
    out = graph.tensors[node.outputs[0]]
    lines = [
        f'/* layer {index}: {fused.OP} "{c_comment(node.name)}"',
        f" *   {c_comment(node.outputs[0])}{list(out.shape)} in {len(table)} bands of "
        f"{node.attrs['band_h']} rows; halo rows recomputed; body:",
    ]
    for bn in body:
        shape = list(graph.tensors[bn.outputs[0]].shape)
        lines.append(f' *     {bn.op} "{c_comment(bn.name)}" -> {shape}')
    lines.append(" *   table row per band: per body node {x_row, h, pad_top, y_row, out_h} */")
    for k, call in enumerate(layer.calls):
        decl = f"static const {call.params_type} layer{index}_p{k}"
        lines.append(render_params(decl, call.params))
    width = len(body) * ROW_FIELDS
    lines.append(f"static const int32_t layer{index}_rows[{len(table)}][{width}] = {{")
    lines += ["    {" + ", ".join(str(v) for v in row) + "}," for row in table]
    lines.append("};")
    loop = []
    for k, (bn, call) in enumerate(zip(body, layer.calls, strict=True)):
        sets, narrowed = band_call(bn, call, k, graph)
        text = render_call(narrowed, "p", slots)
        loop += ["        {", f"            {call.params_type} p = layer{index}_p{k};"]
        loop += [f"            {s}" for s in sets]
        loop += ["        " + line for line in text.splitlines()] + ["        }"]
    code = re.sub(r"/\*.*?\*/", "", "\n".join(loop), flags=re.S)
    unused = [f"    (void){a};" for a in ("ctx", "input") if not re.search(rf"\b{a}\b", code)]
    lines.append(
        f"static void layer{index}(const cnnc_model_ctx *ctx, const void *input, uint8_t *arena) {{"
    )
    lines += unused + ["    int32_t band;", f"    for (band = 0; band < {len(table)}; ++band) {{",
                       f"        const int32_t *r = layer{index}_rows[band];"]  # fmt: skip
    lines += loop + ["    }", "}"]
    return "\n".join(lines)
