"""Fusion and clean-up passes on the lowered (NHWC) graph: activations into their
producer, a Flatten's transpose into the dense weights after it, transpose/reshape
chains merged, the ShuffleNet channel shuffle done with one transpose."""

from __future__ import annotations

from .. import ir
from .layout import NCHW_TO_NHWC, NHWC_TO_NCHW, _is_noop_transpose

# ================================================================ 5. activation fusion

FUSABLE_PRODUCERS = ("conv2d", "dense", "add", "mul", "scale_shift")
PREQUANT_KEY = "cnnc.prequant"  # cnnc.frontend.qdq_import.METADATA_KEY
CLAMPS = ("none", "relu", "relu6", "clip")  # activations int8 applies as clamp bounds


def _keeps_quantised_input(graph: ir.Graph, node: ir.Node) -> bool:
    """In a pre-quantised model a non-clamp activation (sigmoid, hard_swish, ...) reads a
    tensor the model quantises (its producer's int8 output, the table's input): it stays
    a node of its own, so int8 computes it as a table between the model's parameters."""
    return PREQUANT_KEY in graph.metadata and node.attrs.get("act", "none") not in CLAMPS


def fuse_activations(graph: ir.Graph) -> ir.Graph:
    """An ``act`` node goes into its producer's ``act`` attribute when nothing else reads
    the producer's output."""
    for node in list(graph.nodes):
        if node.op != "act":
            continue
        producer = graph.producer(node.inputs[0])
        if producer is None or producer.op not in FUSABLE_PRODUCERS:
            continue
        if _keeps_quantised_input(graph, node):
            continue
        if producer.attrs.get("act", "none") != "none":
            continue
        if graph.single_consumer(node.inputs[0]) is not node:
            continue
        producer.attrs.update({k: v for k, v in node.attrs.items() if k.startswith("act")})
        graph.splice_out(node)
    return graph


def fuse_silu(graph: ir.Graph) -> ir.Graph:
    """``mul(x, act_sigmoid(x))`` (SiLU / swish, as torch exports it) becomes one
    ``act`` node with act="silu" when the sigmoid's only reader is that mul: one op, and
    in int8 one lookup table instead of a sigmoid table and an int8 multiply."""
    if PREQUANT_KEY in graph.metadata:  # the model quantises the sigmoid's output
        return graph
    for node in list(graph.nodes):
        if node.op != "mul" or (node.attrs.get("act", "none") or "none") != "none":
            continue
        if len(node.inputs) != 2:
            continue
        for x, s in (node.inputs, node.inputs[::-1]):
            sig = graph.producer(s)
            if sig is None or sig.op != "act" or sig.attrs.get("act") != "sigmoid":
                continue
            if sig.inputs[0] != x or graph.single_consumer(s) is not node:
                continue
            if graph.tensors[x].shape != graph.tensors[node.outputs[0]].shape:
                continue
            node.op, node.inputs, node.attrs = "act", [x], {"act": "silu"}
            graph.nodes.remove(sig)
            graph.tensors.pop(s, None)
            break
    return graph


# ================================================================ 6. flatten into dense


def absorb_flatten_transpose(graph: ir.Graph) -> ir.Graph:
    """transpose(NHWC->NCHW) -> reshape [N, C*H*W] -> dense: permute the dense weights.

    Row k of the flattened NCHW vector is (c, h, w) with k = c*H*W + h*W + w;
    the NHWC tensor flattens to k' = h*W*C + w*C + c. So
    w_nhwc[m, :] = w[m, :].reshape(C, H, W).transpose(1, 2, 0).ravel().
    """
    for node in list(graph.nodes):
        if node.op != "transpose" or tuple(node.attrs["perm"]) != NHWC_TO_NCHW:
            continue
        reshape = graph.single_consumer(node.outputs[0])
        if reshape is None or reshape.op != "reshape":
            continue
        flat_shape = graph.tensors[reshape.outputs[0]].shape
        n, c, h, w = graph.tensors[node.outputs[0]].shape
        if len(flat_shape) != 2 or flat_shape != (n, c * h * w):
            continue
        denses = graph.consumers(reshape.outputs[0])
        if reshape.outputs[0] in graph.outputs or not denses:
            continue
        if any(d.op != "dense" or d.inputs[0] != reshape.outputs[0] for d in denses):
            continue
        if any(graph.const(d.inputs[1]) is None for d in denses):
            continue
        for d in denses:
            wt = graph.const(d.inputs[1])
            wt = wt.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(wt.shape[0], -1)
            d.inputs[1] = graph.add_const(f"{d.name}.w_nhwc", wt)
        reshape.inputs[0] = node.inputs[0]
        graph.nodes.remove(node)
    return graph


# ================================================================ 7. layout clean-up


def _chain(graph: ir.Graph, first: ir.Node, ops: list[str]) -> list[ir.Node] | None:
    """``first`` and the nodes after it, each the single consumer of the one before,
    if their ops are ``ops``; else None."""
    nodes = [first]
    for op in ops[1:]:
        nxt = graph.single_consumer(nodes[-1].outputs[0])
        if nxt is None or nxt.op != op:
            return None
        nodes.append(nxt)
    return nodes if first.op == ops[0] else None


def simplify_channel_shuffle(graph: ir.Graph) -> ir.Graph:
    """The channel shuffle between NHWC tensors, done in NHWC with one transpose.

    ONNX's Reshape [N,g,C/g,H,W] -> Transpose(0,2,1,3,4) -> Reshape [N,C,H,W]
    lowers to five data moves (NHWC->NCHW, reshape, transpose, reshape,
    NCHW->NHWC). Channel c = i*(C/g) + j goes to j*g + i in both layouts, so in
    NHWC it is Reshape [N,H,W,g,C/g] -> Transpose(0,1,2,4,3) -> Reshape [N,H,W,C].
    """
    pattern = ["transpose", "reshape", "transpose", "reshape", "transpose"]
    for node in list(graph.nodes):
        nodes = _chain(graph, node, pattern)
        if nodes is None:
            continue
        t1, r1, t2, r2, t3 = nodes
        n, c, h, w = graph.tensors[t1.outputs[0]].shape
        split = graph.tensors[r1.outputs[0]].shape
        if (
            tuple(t1.attrs["perm"]) != NHWC_TO_NCHW
            or tuple(t3.attrs["perm"]) != NCHW_TO_NHWC
            or tuple(t2.attrs["perm"]) != (0, 2, 1, 3, 4)
            or len(split) != 5
            or (split[0], split[1] * split[2], split[3], split[4]) != (n, c, h, w)
            or graph.tensors[r2.outputs[0]].shape != (n, c, h, w)
        ):
            continue
        g, cg = split[1], split[2]
        graph.tensors[r1.outputs[0]] = ir.Tensor(r1.outputs[0], (n, h, w, g, cg))
        graph.tensors[t2.outputs[0]] = ir.Tensor(t2.outputs[0], (n, h, w, cg, g))
        r1.inputs[0] = t1.inputs[0]
        t2.attrs["perm"] = [0, 1, 2, 4, 3]
        r2.outputs[0] = t3.outputs[0]
        for dead in (t1, t3):
            graph.nodes.remove(dead)
    return graph.remove_dead_nodes()


def simplify_layout(graph: ir.Graph) -> ir.Graph:
    """Merges transpose->transpose and reshape->reshape; drops identity ones."""
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes):
            if node.op not in ("transpose", "reshape"):
                continue
            nxt = graph.single_consumer(node.outputs[0])
            if nxt is not None and nxt.op == node.op:
                if node.op == "transpose":
                    nxt.attrs["perm"] = [node.attrs["perm"][p] for p in nxt.attrs["perm"]]
                nxt.inputs[0] = node.inputs[0]
                graph.nodes.remove(node)
                changed = True
                continue
            if node.op == "transpose" and _is_noop_transpose(
                graph.tensors[node.inputs[0]].shape, node.attrs["perm"]
            ):
                node.op, node.attrs = "reshape", {}
                changed = True
                continue
            same = graph.tensors[node.inputs[0]].shape == graph.tensors[node.outputs[0]].shape
            identity = node.op == "reshape" or list(node.attrs["perm"]) == sorted(
                node.attrs["perm"]
            )
            if same and identity and graph.bypass(node, node.inputs[0], node.outputs[0]):
                changed = True
    return graph.remove_dead_nodes()
