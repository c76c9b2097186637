"""The binarise pass: XNOR-Net layers of a lowered float graph become packed ``b1_*`` ops.

``binarize(graph)`` finds every binary layer — a ``conv2d`` or ``dense`` whose input is
binary-valued (the output of ``sign``, possibly through ``maxpool2d``/``reshape``) and
whose weights are all ±1, followed by ``mul`` by a constant per-channel alpha — and
rewrites it into ``b1_conv2d``/``b1_dense`` on bit-packed tensors (``bitpack.py``).
Everything else (the real-valued first conv and classifier) stays float32.

What follows a binary layer decides its output transform:

* ``mul(alpha) -> [per-channel monotone ops] -> [maxpool2d] -> [monotone ops] -> sign``
  whose sign feeds only binary layers: the layer writes packed bits directly, with one
  integer threshold per output channel (``b1_conv2d`` with ``out="b1"``), and the
  max-pool becomes ``b1_maxpool2d`` on packed bits;
* anything else: the layer writes float32 with alpha (and a directly following BN
  ``scale_shift``, and a clamp activation) folded into a per-channel multiplier and bias
  (``out="float32"``); the remaining float ops stay as they are.

Thresholds, derived
-------------------
A binary layer's output before the transform is an integer ``dot`` in [-K, K]
(K = KH*KW*Cin/groups; with zero padding only the valid taps count, so ``dot`` stays in
that range). The float graph then computes, per output channel c,

    y = sign(post(max_window(pre(dot))))      (without a pool: y = sign(pre(dot)))

with ``pre``/``post`` compositions of per-channel affine maps and activations, each of
them monotone (increasing or decreasing) in its input; float32 rounding is monotone
too, so every composition is monotone. Hence, for one channel, the set of ``dot``
values that give y = -1 is a ray {dot < T} or {dot > T}. Rather than solving
``alpha*gamma/sigma*dot + beta' < 0`` algebraically (where float32 rounding can move the
boundary by one), we evaluate the graph's own float32 reference ops on every candidate
dot in [-K, K] and read the exact integer boundary off the result, so the bits equal
the float execution for every reachable dot.

* No pool. If y is non-increasing in dot (e.g. gamma < 0), the layer's weight bits for
  that output channel are flipped: the kernel then computes dot' = -dot (XOR commutes:
  flipping every weight bit negates every product), and y is non-decreasing in dot'.
  A non-decreasing y in {-1, +1} is -1 exactly when dot' < thr, with
  thr = min{d : y(d) = +1} (K + 1 if y is -1 everywhere): one int32 per channel.
* Max-pool between. max over the window commutes with a non-decreasing map, so
  (i) if ``pre`` decreases, flip the weights as above so that max_window(pre(dot)) =
  pre'(max_window(dot')) with pre' increasing; (ii) then y = phi(max_window dot') with
  phi = sign o post o pre'. If phi is non-decreasing, y = max_window(phi(dot')): the
  layer writes phi's bits by threshold and ``b1_maxpool2d`` (an AND of bits, since
  bit 1 = -1) pools them. If phi is non-increasing (gamma < 0 after the pool), the
  layer stores the *negated* channel z = -phi(dot'), which is non-decreasing, so
  max_window(z) = -phi(max_window dot') = -y: the pooled tensor holds -y in that
  channel, and every binary consumer flips its weight bits for that input channel
  ((-a)(-w) = a w), so its dots are unchanged. Zero padding keeps this exact (padded
  taps are skipped, not read as +1).

The NumPy mirrors of the b1 ops are ``cnnc.ops.b1``; the C kernels ``runtime_c/kernels/b1_*.c``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .. import ir
from ..errors import UnsupportedError
from ..ops import s8
from ..ops.bitpack import pack_signs
from ..ops.registry import OPS

ELEMENTWISE = ("mul", "add", "scale_shift", "act")  # per-channel ops a transform may fold
CLAMP_ACTS = ("none", "relu", "relu6", "clip")  # activations the float transform clamps


@dataclass
class BinaryLayer:
    node: ir.Node  # conv2d or dense with ±1 weights
    mul: ir.Node  # the alpha Mul after it
    kind: str  # "conv" | "dense" | "dense_as_conv" (dense after a flatten of NHWC)
    x: str  # binary-valued input tensor (after skipping a flatten reshape)


@dataclass
class Rewrite:
    """Edits collected while walking the graph, applied at the end in node order."""

    replace: dict[str, list[ir.Node]] = field(default_factory=dict)  # node -> its new nodes
    after: dict[str, list[ir.Node]] = field(default_factory=dict)  # node -> nodes after it
    removed: set[str] = field(default_factory=set)
    packed: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # t -> (b1, neg)


# ================================================================ recognising binary layers


def binary_valued(graph: ir.Graph, tensor: str) -> bool:
    """True when ``tensor`` holds only ±1: a sign, or a max-pool/reshape of one."""
    p = graph.producer(tensor)
    if p is None:
        return False
    if p.op == "sign":
        return True
    if p.op in ("maxpool2d", "reshape"):
        return binary_valued(graph, p.inputs[0])
    return False


def _is_pm1(w: np.ndarray | None) -> bool:
    return w is not None and w.size > 0 and bool(np.all(np.abs(w) == 1))


def _const_operand(graph: ir.Graph, node: ir.Node, tensor: str) -> np.ndarray | None:
    """The constant other input of a two-input mul/add whose variable input is ``tensor``."""
    others = [n for n in node.inputs[:2] if n != tensor]
    return graph.const(others[0]) if len(others) == 1 else None


def find_layer(graph: ir.Graph, node: ir.Node) -> BinaryLayer | None:
    """The binary layer rooted at ``node``, None if ``node`` is not one; raises on a layer
    that looks binary (±1 weights on a binary input) but does not follow the contract."""
    if node.op not in ("conv2d", "dense") or len(node.inputs) < 2:
        return None
    if not binary_valued(graph, node.inputs[0]) or not _is_pm1(graph.const(node.inputs[1])):
        return None
    where = f"node '{node.name}' ({node.op} with ±1 weights on sign input)"
    if len(node.inputs) > 2 and node.inputs[2]:
        raise UnsupportedError(f"{where}: a binary layer has no bias; found '{node.inputs[2]}'")
    if node.attrs.get("act", "none") != "none":
        raise UnsupportedError(f"{where}: fused activation {node.attrs['act']!r} before alpha")
    if any(d != 1 for d in node.attrs.get("dilations", (1, 1))):
        raise UnsupportedError(f"{where}: dilations {node.attrs['dilations']} (only 1)")
    co = graph.tensors[node.outputs[0]].shape[-1]
    mul = graph.single_consumer(node.outputs[0])
    alpha = _const_operand(graph, mul, node.outputs[0]) if mul and mul.op == "mul" else None
    if alpha is None or alpha.size not in (1, co):
        found = "nothing" if mul is None else f"'{mul.name}' ({mul.op})"
        users = [n.name for n in graph.consumers(node.outputs[0])]
        raise UnsupportedError(
            f"{where}: expected its only consumer to be Mul by a constant per-channel alpha "
            f"of {co} values (XNOR-Net encoding; export alpha = 1 if the layer has none), "
            f"found {found} (consumers {users})"
        )
    kind, x = "conv" if node.op == "conv2d" else "dense", node.inputs[0]
    p = graph.producer(x)
    if node.op == "dense" and p.op == "reshape" and len(graph.tensors[p.inputs[0]].shape) == 4:
        kind, x = "dense_as_conv", p.inputs[0]
    return BinaryLayer(node, mul, kind, x)


def binary_consumer(graph: ir.Graph, node: ir.Node, layers: dict[str, BinaryLayer]) -> bool:
    """True when ``node`` reads its input only as ±1 data a packed tensor can feed."""
    if node.name in layers:
        return True
    if node.op in ("maxpool2d", "reshape"):
        out = node.outputs[0]
        users = graph.consumers(out)
        return (
            bool(users)
            and out not in graph.outputs
            and all(binary_consumer(graph, u, layers) for u in users)
        )
    return False


# ================================================================ chains after a layer


@dataclass
class Chain:
    pre: list[ir.Node]  # per-channel ops from the alpha mul on (mul included)
    pool: ir.Node | None  # a max-pool between them
    post: list[ir.Node]
    sign: ir.Node | None  # the sign ending the chain, when it feeds only binary layers


def _per_channel(graph: ir.Graph, node: ir.Node, tensor: str, channels: int) -> bool:
    if node.op in ("mul", "add"):
        c = _const_operand(graph, node, tensor)
        return c is not None and c.size in (1, channels)
    if node.op == "scale_shift":
        consts = [graph.const(n) for n in node.inputs[1:3]]
        return node.inputs[0] == tensor and all(c is not None for c in consts)
    return node.op == "act"


def follow_chain(graph: ir.Graph, layer: BinaryLayer, layers: dict[str, BinaryLayer]) -> Chain:
    channels = graph.tensors[layer.node.outputs[0]].shape[-1]
    pre, pool, post = [layer.mul], None, []
    t = layer.mul.outputs[0]
    while (nxt := graph.single_consumer(t)) is not None:
        if nxt.op == "sign":
            users = graph.consumers(nxt.outputs[0])
            ok = users and nxt.outputs[0] not in graph.outputs
            if ok and all(binary_consumer(graph, u, layers) for u in users):
                return Chain(pre, pool, post, nxt)
            break
        if nxt.op == "maxpool2d" and pool is None:
            pool = nxt
        elif _per_channel(graph, nxt, t, channels):
            (post if pool else pre).append(nxt)
        else:
            break
        t = nxt.outputs[0]
    return Chain(pre, pool, post, None)


GRID_ELEMENTS = 1 << 22  # dots x channels evaluated at once (bounds memory for large K)


def _evaluate(graph: ir.Graph, nodes: list[ir.Node], values: np.ndarray, cols: slice):
    """Runs per-channel float ops of the graph on ``values`` [rows, channels ``cols``] with
    the reference ops themselves, so the result is the graph's own float32 arithmetic."""

    def operand(name: str) -> np.ndarray:
        c = graph.const(name)
        return c if c.size == 1 else c.reshape(-1)[cols]

    for node in nodes:
        current = node.inputs[0] if node.op not in ("mul", "add") else None
        if current is None:  # the variable operand of a commutative op
            current = next(n for n in node.inputs[:2] if graph.const(n) is None)
        args = [values if n == current else operand(n) for n in node.inputs]
        values = OPS[node.op].reference(node, graph, args)[0]
    return values


def _direction(values: np.ndarray, where: str, first_channel: int) -> np.ndarray:
    """+1 where a column is non-decreasing, -1 where strictly non-increasing; raises if neither."""
    d = np.diff(values, axis=0)
    up, down = np.all(d >= 0, axis=0), np.all(d <= 0, axis=0)
    if not np.all(up | down):
        bad = first_channel + int(np.flatnonzero(~(up | down))[0])
        raise UnsupportedError(
            f"{where}: the ops after the binary layer are not monotone in channel {bad}; "
            "they cannot fold into a threshold"
        )
    return np.where(up, 1, -1).astype(np.int32)


def thresholds(graph: ir.Graph, chain: Chain, k: int, where: str):
    """Per output channel: (flip_out, negate, threshold), exact w.r.t. the float32 graph."""
    channels = graph.tensors[chain.pre[0].outputs[0]].shape[-1]
    step = max(1, GRID_ELEMENTS // (2 * k + 1))
    parts = [_thresholds(graph, chain, k, where, slice(c, min(c + step, channels)))
             for c in range(0, channels, step)]  # fmt: skip
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def _thresholds(graph: ir.Graph, chain: Chain, k: int, where: str, cols: slice):
    dots = np.arange(-k, k + 1, dtype=np.float32)[:, None]  # every reachable dot, [2K+1, 1]
    grid = np.repeat(dots, cols.stop - cols.start, axis=1)  # [2K+1, channels in cols]
    pre = _evaluate(graph, chain.pre, grid, cols)
    post = _evaluate(graph, chain.post, pre, cols)
    y = OPS["sign"].reference(chain.sign, graph, [post])[0]
    flip = _direction(pre if chain.pool else y, where, cols.start)  # pre (or y) non-decreasing
    y = np.where(flip > 0, y, y[::-1])  # y as a function of dot' = flip * dot
    negate = _direction(y, where, cols.start) < 0  # only possible with a pool: store -y
    y = np.where(negate, -y, y)
    plus = y > 0  # non-decreasing: False... then True
    first = np.where(plus.any(axis=0), plus.argmax(axis=0), 2 * k + 1)
    return flip < 0, negate, (first - k).astype(np.int32)


# ================================================================ the pass


def binarize(graph: ir.Graph) -> ir.Graph:
    """Rewrites every binary layer of a lowered graph into b1_* ops (see module doc)."""
    g = copy.deepcopy(graph)
    layers = {}
    for node in g.nodes:
        layer = find_layer(g, node)
        if layer is not None:
            layers[node.name] = layer
    if not layers:
        return g
    rw = Rewrite()
    for node in list(g.nodes):
        if node.name in layers:
            _rewrite_layer(g, layers[node.name], layers, rw)
    return _apply(g, rw)


def _packed(g: ir.Graph, tensor: str, layers, rw: Rewrite) -> tuple[str, np.ndarray]:
    """The packed form of binary-valued ``tensor`` and its negated-channel mask."""
    if tensor in rw.packed:
        return rw.packed[tensor]
    p = g.producer(tensor)
    t = g.tensors[tensor]
    sole = all(binary_consumer(g, u, layers) for u in g.consumers(tensor))
    sole = sole and tensor not in g.outputs
    name = tensor if sole else g.fresh_name(f"{tensor}.b1")
    g.tensors[name] = ir.Tensor(name, t.shape, "b1")
    if p.op == "sign":
        neg = np.zeros(t.shape[-1], bool)
        new = ir.Node("b1_pack", f"{p.name}.b1", [p.inputs[0]], [name])
    elif p.op == "maxpool2d":
        src, neg = _packed(g, p.inputs[0], layers, rw)
        new = ir.Node("b1_maxpool2d", f"{p.name}.b1", [src], [name], _pool_attrs(p))
    else:  # a reshape: only flattens feeding a binary dense reach here, handled there
        raise UnsupportedError(f"node '{p.name}' ({p.op}): cannot pack its ±1 output")
    if sole:
        rw.replace[p.name] = [new]
    else:
        rw.after.setdefault(p.name, []).append(new)
    rw.packed[tensor] = (name, neg)
    return name, neg


def _pool_attrs(node: ir.Node) -> dict:
    return {k: node.attrs[k] for k in ("kernel", "strides", "pads")}


def _weights(g: ir.Graph, layer: BinaryLayer) -> np.ndarray:
    """±1 weights as [Co, KH, KW, Cin/g] (a dense after a flatten: [M, H, W, C])."""
    w = g.const(layer.node.inputs[1]).astype(np.float32)
    if layer.kind == "dense_as_conv":
        return w.reshape(w.shape[0], *g.tensors[layer.x].shape[1:])
    return w


def _flip_inputs(w: np.ndarray, neg_in: np.ndarray, groups: int) -> np.ndarray:
    """Negates the weights reading negated input channels ((-a)(-w) = a w)."""
    if not neg_in.any():
        return w
    co, cg = w.shape[0], w.shape[-1]
    mask = neg_in.reshape(groups, 1, cg).repeat(co // groups, axis=1).reshape(co, cg)
    return np.where(mask.reshape(co, *([1] * (w.ndim - 2)), cg), -w, w)


def _rewrite_layer(g: ir.Graph, layer: BinaryLayer, layers, rw: Rewrite) -> None:
    node = layer.node
    where = f"node '{node.name}' (binary {node.op})"
    x, neg_in = _packed(g, layer.x, layers, rw)
    groups = node.attrs.get("groups", 1)
    w = _flip_inputs(_weights(g, layer), neg_in, groups)
    k = int(np.prod(w.shape[1:]))  # taps x channels per group: |dot| <= k
    chain = follow_chain(g, layer, layers)
    attrs = {"out": "b1" if chain.sign else "float32"}
    if layer.kind == "conv":
        attrs.update({a: node.attrs[a] for a in ("strides", "pads")}, groups=groups, pad_one=0)
    elif layer.kind == "dense_as_conv":
        attrs.update(strides=[1, 1], pads=[0, 0, 0, 0], groups=1, pad_one=0)
    op = "b1_dense" if layer.kind == "dense" else "b1_conv2d"
    new: list[ir.Node] = []
    if chain.sign:
        flip, negate, thr = thresholds(g, chain, k, where)
        w = np.where(flip.reshape(-1, *([1] * (w.ndim - 1))), -w, w)
        out = chain.sign.outputs[0]
        if chain.pool:
            out_shape = g.tensors[chain.pool.inputs[0]].shape
            pre_pool = g.fresh_name(f"{out}.prepool")
            g.tensors[pre_pool] = ir.Tensor(pre_pool, out_shape, "b1")
            pool = ir.Node(
                "b1_maxpool2d", f"{chain.pool.name}.b1", [pre_pool], [out], _pool_attrs(chain.pool)
            )
            new.append(pool)
            layer_out = pre_pool
        else:
            layer_out = out
        g.tensors[out] = ir.Tensor(out, g.tensors[out].shape, "b1")
        params = [g.add_const(f"{node.name}.thr", thr)]
        rw.packed[out] = (out, negate)
        if negate.any():
            attrs["negated_channels"] = [int(c) for c in np.flatnonzero(negate)]
        rw.removed.add(chain.sign.name)
    else:
        layer_out, params, clamp, folded = _float_transform(g, layer, chain, where)
        attrs.update(clamp)
        rw.removed.update(n.name for n in folded)
    wp = g.add_const(f"{node.name}.w_b1", pack_signs(w))
    rw.replace[node.name] = [ir.Node(op, node.name, [x, wp, *params], [layer_out], attrs), *new]


def _float_transform(g: ir.Graph, layer: BinaryLayer, chain: Chain, where: str):
    """alpha, a BN scale_shift right after it and a clamp fold into multiplier and bias."""
    co = g.tensors[layer.node.outputs[0]].shape[-1]
    mul = layer.mul
    alpha = np.broadcast_to(_const_operand(g, mul, layer.node.outputs[0]), (co,))
    multiplier, bias, last = alpha.astype(np.float64), np.zeros(co), mul
    nxt = chain.pre[1] if len(chain.pre) > 1 else None
    if mul.attrs.get("act", "none") == "none" and nxt is not None and nxt.op == "scale_shift":
        scale, shift = (g.const(n).astype(np.float64) for n in nxt.inputs[1:3])
        multiplier, bias, last = multiplier * scale, shift + 0 * scale, nxt
    act = last.attrs.get("act", "none")
    if act not in CLAMP_ACTS:
        raise UnsupportedError(f"{where}: activation {act!r} after alpha cannot be folded")
    lo, hi = ir.act_bounds(last.attrs)
    params = [
        g.add_const(f"{layer.node.name}.mul", multiplier.astype(np.float32)),
        g.add_const(f"{layer.node.name}.bias", np.broadcast_to(bias, (co,)).astype(np.float32)),
    ]
    folded = [mul] if last is mul else [mul, last]
    return last.outputs[0], params, {"act_min": float(lo), "act_max": float(hi)}, folded


# ================================================================ after quantisation


def fuse_int8(graph: ir.Graph) -> ir.Graph:
    """Runs after ``quantize`` on a binarised graph; two exact fusions at the int8 boundary:

    * ``s8_dequantize -> b1_pack``: the packer reads the int8 tensor, bit = q < zero_point
      (the sign of (q - zp) * scale for scale > 0), with no float tensor in between;
    * ``b1_conv2d(out=float32) -> s8_quantize``: the layer writes int8 itself, quantising
      its float value with the same rounding (``out="int8"``), one pass and no float buffer;
    * ``s8_conv2d -> b1_pack`` (the int8 first layer feeding the first binary one): one
      ``b1_s8conv2d`` whose bit is ``dot < thr`` (``sign_thresholds``), so the conv's
      requantisation, its int8 tensor and the packing pass disappear.

    All leave every value as it was; the reference of the fused graph equals the unfused.
    """
    g = copy.deepcopy(graph)
    for node in list(g.nodes):
        p = g.producer(node.inputs[0]) if node.inputs else None
        if node.op == "b1_pack" and p is not None and p.op == "s8_dequantize":
            if float(p.attrs["scale"]) > 0:
                node.inputs[0] = p.inputs[0]
                node.attrs["zero_point"] = int(p.attrs["zero_point"])
        users = g.consumers(node.outputs[0])
        if node.op == "b1_conv2d" and node.attrs.get("out") == "float32" and len(users) == 1:
            q = users[0]
            if q.op == "s8_quantize" and node.outputs[0] not in g.outputs:
                node.attrs.update(out="int8", out_scale=float(q.attrs["scale"]),
                                  out_zero_point=int(q.attrs["zero_point"]))  # fmt: skip
                node.outputs = list(q.outputs)
                g.nodes.remove(q)
    g.remove_dead_nodes()  # the dequantize nodes bypassed above
    for node in list(g.nodes):
        p = g.producer(node.inputs[0]) if node.op == "b1_pack" else None
        if p is not None and p.op == "s8_conv2d" and _sign_fusable(g, p, node):
            x, w, bias, mult, shift = p.inputs
            cp = s8.conv_params(p, g)
            zp = int(node.attrs["zero_point"])
            consts = [g.const(name) for name in (bias, mult, shift)]
            thr = sign_thresholds(*consts, cp, zp, _dot_bound(g.const(w)))
            attrs = {
                "strides": list(p.attrs.get("strides", (1, 1))),
                "pads": list(p.attrs.get("pads", (0, 0, 0, 0))),
                "x_zero_point": int(cp.x_zero_point),
            }
            thr_name = g.add_const(f"{p.name}.thr", thr)
            fused = ir.Node("b1_s8conv2d", p.name, [x, w, thr_name], list(node.outputs), attrs)
            g.nodes[g.nodes.index(p)] = fused
            g.nodes.remove(node)
    g.remove_dead_nodes()
    return g


def _dot_bound(w: np.ndarray) -> int:
    """max |sum over a filter's taps of (x - x_zero_point) * w| over int8 x and zero points."""
    return int(np.abs(w.astype(np.int64)).reshape(w.shape[0], -1).sum(-1).max(initial=0)) * 255


def _sign_fusable(g: ir.Graph, conv: ir.Node, pack: ir.Node) -> bool:
    """The conv's int8 output is read by this pack only; its weights, bias and
    requantisation are constants, mult >= 0 (requantisation non-decreasing), groups and
    dilation 1, and every dot and dot + bias fits int32 (cnnc_b1_s8conv_bits' conditions)."""
    if pack.inputs[0] in g.outputs or len(g.consumers(pack.inputs[0])) != 1:
        return False
    if g.tensors[pack.inputs[0]].dtype != "int8" or len(conv.inputs) != 5:
        return False
    consts = [g.const(name) for name in conv.inputs[1:]]
    if any(c is None for c in consts) or consts[0].ndim != 4 or consts[0].dtype != np.int8:
        return False
    a = conv.attrs
    if a.get("groups", 1) != 1 or tuple(a.get("dilations", (1, 1))) != (1, 1):
        return False
    taps = int(np.prod(consts[0].shape[1:]))
    bias_max = int(np.abs(consts[1].astype(np.int64)).max(initial=0))
    return (
        bool(np.all(consts[2] >= 0))
        and 255 * 128 * taps < 2**31  # the C kernel's dot (cnnc_b1.h)
        and bias_max + _dot_bound(consts[0]) < 2**31  # every d + bias is an int32 accumulator
    )


def sign_thresholds(bias, mult, shift, p: s8.ConvParams, zero_point: int, bound: int):
    """int32 [Co]: thr[c] = min{d : y_c(d) >= zero_point} over dots d in [-bound, bound]
    (bound + 1 if there is none), y_c(d) the conv's int8 output for accumulator d + bias[c].
    y_c is non-decreasing in d (every rounding mode of ``requantize`` is, for m >= 0, and
    so is the clamp), so "y_c(d) < zero_point", the packed sign, is exactly "d < thr[c]".
    A binary search per channel, on the int8 path's own requantisation."""
    bias = np.asarray(bias, np.int64)
    lo = np.full(bias.shape, -bound, np.int64)
    hi = np.full(bias.shape, bound + 1, np.int64)  # hi = bound + 1 stands for "none"

    def at_least_zp(d):
        y = s8._out_s8(d + bias, mult, shift, p.rounding, p.y_zero_point, p.act_min, p.act_max)
        return y.astype(np.int64) >= zero_point

    while np.any(lo < hi):
        mid = (lo + hi) // 2  # < hi <= bound + 1 where lo < hi: a reachable dot
        ok, open_ = at_least_zp(mid), lo < hi
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid + 1, lo)
    return lo.astype(np.int32)


def _apply(g: ir.Graph, rw: Rewrite) -> ir.Graph:
    nodes = []
    for node in g.nodes:
        if node.name in rw.replace:
            nodes += rw.replace[node.name]
        elif node.name not in rw.removed:
            nodes.append(node)
        nodes += rw.after.get(node.name, [])
    g.nodes = nodes
    g.remove_dead_nodes()
    return g
