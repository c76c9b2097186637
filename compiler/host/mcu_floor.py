"""The arithmetic floor of an int8 layer on a Cortex-M core with the DSP extension.

A lower bound on the instructions any kernel of ARMv7E-M (or ARMv8-M with DSP) executes
for the arithmetic the int8 contract asks of a convolution or dense layer, which
bench/bench_mcu.py sets beside the counted instructions:
- products: no instruction multiplies more than two pairs of 16-bit lanes (SMLAD, SMLADX,
  SMLALD, SMUAD: 2 MACs), so an output of T products needs ceil(T / 2) of them; taps on
  the padding need none (a kernel that widens x - zp gets 0 from them), so T counts the
  taps inside the image only;
- widening: the multipliers read 16-bit lanes and the activations are int8, so every input
  element is sign-extended once (SXTB16, SXTAB16: two per instruction);
- requantisation and store, per output: SMMLA (single rounding) or SMMLAR (double, the
  output zero point and the rounding term folded into its accumulate operand), ASR by the
  channel's shift, SSAT (the full int8 clamp; a narrower one costs more, which the floor
  leaves out), STRB: 4 instructions; the double rounding's ties away from zero add one
  (the sign's correction of the accumulate operand) unless the clamp absorbs it: with
  act_min >= the output zero point every negative pre-clamp value clamps to act_min either
  way (cnnc's DSP_RQ_* forms, s8_dsp.h).
It leaves out everything a real kernel adds: loads of weights and activations, loop and
call overhead, setup per call. The sequences of the requantisation are the shortest known
to this project, not proved minimal; the other two terms are bounds of the instruction set.
Layers without a floor here (binary convolutions, pools, adds, casts) count 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, Node


@dataclass
class LayerFloor:
    products: int  # SMLAD-class instructions
    widening: int  # SXTB16-class instructions
    requant: int  # requantisation and store instructions

    @property
    def total(self) -> int:
        return self.products + self.widening + self.requant


def requant_per_output(node: Node) -> int:
    """4, or 5 for a double rounding whose clamp does not absorb the sign correction."""
    a = node.attrs
    absorbed = a.get("act_min", -128) >= a.get("y_zero_point", 0)
    return 5 if a.get("rounding") == "double" and not absorbed else 4


def taps_inside(size: int, out: int, kernel: int, stride: int, dilation: int,
                pad: int) -> list[int]:  # fmt: skip
    """Per output position along one axis, how many of its kernel taps fall in the image."""
    return [sum(0 <= o * stride - pad + k * dilation < size for k in range(kernel))
            for o in range(out)]  # fmt: skip


def conv_products(x_shape, w_shape, y_shape, attrs) -> int:
    """Sum over outputs of ceil(taps inside the image * input channels per group / 2)."""
    n, h, w, _ = x_shape
    out_c, kh, kw, cpg = w_shape
    _, oh, ow, _ = y_shape
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    top, left = attrs.get("pads", [0, 0, 0, 0])[:2]
    rows = taps_inside(h, oh, kh, sh, dh, top)
    cols = taps_inside(w, ow, kw, sw, dw, left)
    per_image = sum((r * c * cpg + 1) // 2 for r in rows for c in cols)
    return n * out_c * per_image


def layer_floor(node: Node, graph: Graph) -> LayerFloor | None:
    """The floor of an int8 conv or dense node, None for every other op."""
    if node.op not in ("s8_conv2d", "s8_dense"):
        return None
    t = graph.tensors
    x, wt, y = t[node.inputs[0]].shape, t[node.inputs[1]].shape, t[node.outputs[0]].shape
    outputs = 1
    for d in y:
        outputs *= d
    inputs = 1
    for d in x:
        inputs *= d
    if node.op == "s8_dense":
        k = inputs // x[0]
        products = outputs * ((k + 1) // 2)
    else:
        products = conv_products(x, wt, y, node.attrs)
    return LayerFloor(products, (inputs + 1) // 2, requant_per_output(node) * outputs)


def is_pointwise(node: Node, graph: Graph) -> bool:
    """A dense layer, or a conv of 1x1 kernels over all input channels."""
    if node.op == "s8_dense":
        return True
    if node.op != "s8_conv2d":
        return False
    _, kh, kw, _ = graph.tensors[node.inputs[1]].shape
    return kh == kw == 1 and node.attrs.get("groups", 1) == 1


def register_loads(node: Node, graph: Graph) -> int:
    """A lower bound on the load instructions of a pointwise layer of K <= 16 inputs: one per
    output (each pixel's each output channel); 0 for every other layer (whose bound is left
    to the floor). A kernel that fed two of a pixel's outputs from one load of its inputs
    would hold, at once, both outputs' weight words (K / 2 each), multipliers and rounding
    terms (SMMLAR takes both from registers), the pixel's input words (K / 2) and a sum:
    at K = 8 17 words (8 + 4 + 4 + 1); one that fed two pixels from one load of an output's
    weights 15 (4 + 2 + 8 + 1): more than the 14 general registers of ARMv7-M beside sp
    (r0-r12, lr), and at K = 16 one output and one pixel alone take 19 (8 + 2 + 8 + 1). An
    LDM counts one however many words it loads, so the bound is one load per output, not per
    word. A model, not a proof: it leaves out kernels that write sums over spent input
    registers and stream their loads through sp."""
    if not is_pointwise(node, graph):
        return 0
    x, y = graph.tensors[node.inputs[0]].shape, graph.tensors[node.outputs[0]].shape
    inputs = outputs = 1
    for d in x:
        inputs *= d
    for d in y:
        outputs *= d
    k = inputs // x[0] if node.op == "s8_dense" else x[-1]
    return outputs if k <= 16 else 0


def model_floor(graph: Graph) -> dict[int, LayerFloor]:
    """Floor per layer index (the position in graph.nodes, as report.json numbers them)."""
    floors = {}
    for i, node in enumerate(graph.nodes):
        f = layer_floor(node, graph)
        if f is not None:
            floors[i] = f
    return floors
