"""Hand-built lowered graphs (NHWC, LOWERED_OPS) for the codegen, planner and blob tests.

They do not go through ONNX import, so the back end is tested on its own. Weights
come from the caller's seeded RNG; no tensor is constant-valued.
"""

from __future__ import annotations

import numpy as np
from cnnc import ir


class Builder:
    """Appends lowered nodes and tracks tensor shapes; ``graph()`` returns the result."""

    def __init__(self, rng: np.random.Generator, input_shape=(1, 3, 9, 7)):
        self.rng = rng
        self.tensors: dict[str, ir.Tensor] = {}
        self.nodes: list[ir.Node] = []
        self.tensor("x", input_shape)

    def tensor(self, name, shape, data=None):
        if data is not None:
            data = np.ascontiguousarray(data, dtype=np.float32)
        self.tensors[name] = ir.Tensor(name, tuple(shape), "float32", data)
        return name

    def const(self, name, *shape, scale=0.5):
        return self.tensor(name, shape, self.rng.standard_normal(shape) * scale)

    def node(self, op, inputs, out_shape, **attrs):
        name = f"{op}_{len(self.nodes)}"
        out = self.tensor(f"t{len(self.nodes)}", out_shape)
        self.nodes.append(ir.Node(op, name, list(inputs), [out], attrs))
        return out

    def shape(self, name):
        return self.tensors[name].shape

    def conv(self, x, co, k, stride=1, pad=0, groups=1, act="none", bias=True, **extra):
        n, h, w, c = self.shape(x)
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        i = len(self.nodes)
        ins = [x, self.const(f"w{i}", co, k, k, c // groups)]
        if bias:
            ins.append(self.const(f"b{i}", co))
        attrs = dict(strides=(stride, stride), pads=(pad,) * 4, groups=groups, act=act, **extra)
        return self.node("conv2d", ins, (n, oh, ow, co), **attrs)

    def graph(self, output: str) -> ir.Graph:
        return ir.Graph(self.tensors, self.nodes, ["x"], [output], "NHWC")


def small_net(rng) -> ir.Graph:
    """transpose, conv+relu6, depthwise, residual add, global pool, reshape, dense."""
    b = Builder(rng)
    x = b.node("transpose", ["x"], (1, 9, 7, 3), perm=(0, 2, 3, 1))
    c1 = b.conv(x, 8, 3, stride=2, pad=1, act="relu6", act_min=0.0, act_max=6.0)
    c2 = b.conv(c1, 8, 3, pad=1, groups=8, bias=False)
    s = b.node("add", [c2, c1], b.shape(c1), act="relu")
    p = b.node("global_avgpool", [s], (1, 1, 1, 8))
    f = b.node("reshape", [p], (1, 8))
    y = b.node("dense", [f, b.const("wd", 5, 8), b.const("bd", 5)], (1, 5))
    return b.graph(y)


def every_op_net(rng) -> ir.Graph:
    """One node of every float32 lowered op and conv kernel variant, with each activation."""
    b = Builder(rng, (1, 3, 11, 9))
    x = b.node("transpose", ["x"], (1, 11, 9, 3), perm=(0, 2, 3, 1))
    c1 = b.conv(x, 8, 3, stride=2, pad=1, act="relu6", act_min=0.0, act_max=6.0)  # 6x5
    dw = b.conv(c1, 8, 3, pad=1, groups=8, act="relu")  # depthwise 3x3
    dw5 = b.conv(dw, 8, 5, pad=2, groups=8, act="leaky_relu", act_alpha=0.1)  # depthwise 5x5
    s = b.node("add", [dw5, c1], b.shape(c1), act="clip", act_min=-1.0, act_max=2.0)
    m = b.node("mul", [s, b.const("m", 8)], b.shape(s))
    m2 = b.node("mul", [m, b.const("k", 1)], b.shape(s), act="elu", act_alpha=0.5)
    ss = b.node("scale_shift", [m2, b.const("sc", 8), b.const("sh", 8)], b.shape(s))
    a = b.node("act", [ss], b.shape(s), act="sigmoid")
    pw = b.conv(a, 6, 1)  # pointwise
    g = b.conv(pw, 4, 3, pad=1, groups=2)  # grouped
    mp = b.node("maxpool2d", [g], (1, 3, 3, 4), kernel=(2, 2), strides=(2, 2), pads=(0, 0, 1, 1))
    ap = b.node("avgpool2d", [pw], (1, 3, 3, 6), kernel=(3, 3), strides=(2, 2),
                pads=(1, 1, 1, 1), count_include_pad=1)  # fmt: skip
    cat = b.node("concat", [mp, ap], (1, 3, 3, 10), axis=3)
    sg = b.node("sign", [cat], b.shape(cat))
    mix = b.node("add", [sg, cat], b.shape(cat))
    gp = b.node("global_avgpool", [mix], (1, 1, 1, 10))
    f = b.node("reshape", [gp], (1, 10))
    d = b.node("dense", [f, b.const("wd", 7, 10), b.const("bd", 7)], (1, 7), act="none")
    y = b.node("softmax", [d], (1, 7), axis=-1)
    return b.graph(y)


def binary_net(rng) -> ir.Graph:
    """Float first conv, then two XNOR-Net blocks (sign -> ±1 conv -> alpha mul), a full
    and a depthwise one, the second behind a per-channel scale_shift (a folded BN with
    negative gammas), and a float dense head. ``binarize.binarize`` turns it into b1 ops."""
    b = Builder(rng, (1, 3, 9, 7))
    x = b.node("transpose", ["x"], (1, 9, 7, 3), perm=(0, 2, 3, 1))
    c1 = b.conv(x, 8, 3, pad=1)
    s1 = b.node("sign", [c1], b.shape(c1))
    w2 = b.tensor("wb2", (16, 3, 3, 8), rng.choice([-1.0, 1.0], (16, 3, 3, 8)))
    c2 = b.node("conv2d", [s1, w2], (1, 9, 7, 16), strides=(1, 1), pads=(1, 1, 1, 1),
                groups=1, act="none")  # fmt: skip
    a2 = b.node("mul", [c2, b.tensor("alpha2", (16,), rng.uniform(0.1, 1.0, 16))], b.shape(c2))
    gamma = rng.uniform(0.5, 2.0, 16) * rng.choice([-1.0, 1.0], 16)
    bn = b.node("scale_shift", [a2, b.tensor("g", (16,), gamma), b.const("beta", 16)], b.shape(a2))
    s2 = b.node("sign", [bn], b.shape(bn))
    w3 = b.tensor("wb3", (16, 3, 3, 1), rng.choice([-1.0, 1.0], (16, 3, 3, 1)))
    c3 = b.node("conv2d", [s2, w3], (1, 5, 4, 16), strides=(2, 2), pads=(1, 1, 1, 1),
                groups=16, act="none")  # fmt: skip
    a3 = b.node("mul", [c3, b.tensor("alpha3", (16,), rng.uniform(0.1, 1.0, 16))], b.shape(c3))
    p = b.node("global_avgpool", [a3], (1, 1, 1, 16))
    f = b.node("reshape", [p], (1, 16))
    y = b.node("dense", [f, b.const("wd", 5, 16), b.const("bd", 5)], (1, 5))
    return b.graph(y)
