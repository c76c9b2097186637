"""Today's edge CNN families as torch.onnx.export writes torchvision's models (eval mode,
opset 17), built with onnx.helper so the tests need no torch.

Each builder mirrors the node sequence torch emits for the torchvision module: Conv (no
bias) + BatchNormalization + activation, HardSwish / HardSigmoid(alpha=1/6) for
MobileNetV3, SiLU as Sigmoid·Mul for EfficientNet, squeeze-excitation as
GlobalAveragePool → Conv → act → Conv → gate → Mul, ``x.mean([2, 3])`` as ReduceMean,
ShuffleNetV2's ``chunk`` as Split and its channel shuffle as Reshape → Transpose →
Reshape, and a small segmentation head with a dilated conv, a reflect Pad, a
ConvTranspose and a bilinear Resize. ``width`` scales every channel count (the
torchvision width multiplier) and ``depth`` caps the blocks per stage, so tests can run
the same graph shapes at a fraction of the cost; weights are random with Kaiming scale and
BN of unit mean-square gain (``Net.bn``), so activations keep their scale through depth.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from cnnc.models.zoo import make_divisible
from onnx import helper
from onnx_builders import make_model

OPSET = 17


class Net:
    """Appends torch-style nodes; names follow torch.onnx ('/features/0/Conv', ...)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        self.count = 0

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> str | list[str]:
        name = f"/{op}_{self.count}"
        self.count += 1
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, tag: str, value, dtype=np.float32) -> str:
        name = f"{tag}.{len(self.inits)}"
        self.inits[name] = np.asarray(value, dtype=dtype)
        return name

    # ------------------------------------------------------------------ layers

    def conv(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        groups: int = 1,
        dilation: int = 1,
        bias: bool = False,
        pad: int | None = None,
    ) -> str:
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        inputs = [x, self.const("weight", w)]
        if bias:
            inputs.append(self.const("bias", self.rng.normal(0, 0.1, cout)))
        p = dilation * (k - 1) // 2 if pad is None else pad
        return self.node(
            "Conv",
            inputs,
            group=groups,
            kernel_shape=[k, k],
            pads=[p] * 4,
            strides=[stride, stride],
            dilations=[dilation, dilation],
        )

    def bn(self, x: str, c: int) -> str:
        """BN whose per-channel gain gamma / sqrt(var) has mean square 1, as a trained BN
        keeps activations at a constant scale through depth. (Drawing gamma and var each from
        U(0.5, 1.5) gives a mean square gain of 13/12 * ln 3 = 1.19 per layer: MobileNetV3-
        Large's activations then grew 80-fold over its 45 BNs, its SE gates saturated and
        the float net turned chaotic: input noise at 40 dB SNR moved its logits to cosine
        0.97.)"""
        var = self.rng.uniform(0.5, 1.5, c)
        gain = self.rng.uniform(0.5, 1.5, c) / np.sqrt(13 / 12)  # E[gain**2] = 1
        params = [
            self.const("bn.weight", gain * np.sqrt(var + 1e-5)),
            self.const("bn.bias", self.rng.normal(0, 0.1, c)),
            self.const("bn.running_mean", self.rng.normal(0, 0.1, c)),
            self.const("bn.running_var", var),
        ]
        return self.node("BatchNormalization", [x, *params], epsilon=1e-5, momentum=0.9)

    def act(self, x: str, kind: str | None) -> str:
        if kind is None:
            return x
        if kind == "relu":
            return self.node("Relu", [x])
        if kind == "relu6":
            return self.node("Clip", [x, self.const("min", 0.0), self.const("max", 6.0)])
        if kind == "hardswish":
            return self.node("HardSwish", [x])
        if kind == "hardsigmoid":  # torch's hardsigmoid: relu6(x + 3) / 6
            return self.node("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
        if kind == "sigmoid":
            return self.node("Sigmoid", [x])
        if kind == "silu":  # torch exports SiLU as x * sigmoid(x) at opset 17
            return self.node("Mul", [x, self.node("Sigmoid", [x])])
        raise ValueError(kind)

    def cba(self, x: str, cin: int, cout: int, k: int, stride=1, groups=1, act=None, dil=1):
        """Conv2dNormActivation: conv (no bias) + BN + activation."""
        return self.act(self.bn(self.conv(x, cin, cout, k, stride, groups, dil), cout), act)

    def se(self, x: str, c: int, squeeze: int, act: str, gate: str) -> str:
        """torchvision SqueezeExcitation: x * gate(fc2(act(fc1(avgpool(x)))))."""
        s = self.node("GlobalAveragePool", [x])
        s = self.act(self.conv(s, c, squeeze, 1, bias=True), act)
        s = self.act(self.conv(s, squeeze, c, 1, bias=True), gate)
        return self.node("Mul", [s, x])  # torch writes scale * input

    def mean_hw(self, x: str) -> str:
        """``x.mean([2, 3])`` (opset 17: axes is an attribute)."""
        return self.node("ReduceMean", [x], axes=[2, 3], keepdims=0)

    def gap_flatten(self, x: str) -> str:
        return self.node("Flatten", [self.node("GlobalAveragePool", [x])], axis=1)

    def linear(self, x: str, cin: int, cout: int, out: str | None = None) -> str:
        w = self.const("fc.weight", self.rng.normal(0, np.sqrt(1.0 / cin), (cout, cin)))
        b = self.const("fc.bias", self.rng.normal(0, 0.1, cout))
        name = f"/Gemm_{self.count}"
        self.count += 1
        y = out or f"{name}_output_0"
        self.nodes.append(
            helper.make_node("Gemm", [x, w, b], [y], name=name, alpha=1.0, beta=1.0, transB=1)
        )
        return y

    def model(
        self, size: int, out_shape: list, family: str, dynamic_batch: bool = False
    ) -> onnx.ModelProto:
        # The graph output is the last node's output, renamed "output".
        self.nodes[-1].output[0] = "output"
        batch = "batch_size" if dynamic_batch else 1
        return make_model(
            self.nodes,
            {"input": [batch, 3, size, size]},
            {"output": [batch, *out_shape[1:]]},
            self.inits,
            opset=OPSET,
            metadata={"cnnc.model": family, "cnnc.input_size": str(size)},
        )


def _ch(c: float, width: float) -> int:
    return make_divisible(c * width, 8)


# ---------------------------------------------------------------- MobileNetV3

# (kernel, expanded, out, use_se, activation, stride) after the stem, as torchvision.
_MNV3_SMALL = [
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hardswish", 2),
    (5, 240, 40, True, "hardswish", 1),
    (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1),
    (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", 2),
    (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
]
_MNV3_LARGE = [
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hardswish", 2),
    (3, 200, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 480, 112, True, "hardswish", 1),
    (3, 672, 112, True, "hardswish", 1),
    (5, 672, 160, True, "hardswish", 2),
    (5, 960, 160, True, "hardswish", 1),
    (5, 960, 160, True, "hardswish", 1),
]


def _mobilenetv3(config, last_hidden, size, classes, width, seed, family) -> onnx.ModelProto:
    net = Net(seed)
    cin = _ch(16, width)
    x = net.cba("input", 3, cin, 3, 2, act="hardswish")
    for k, exp, out, use_se, act, stride in config:
        exp, out = _ch(exp, width), _ch(out, width)
        y = x
        if exp != cin:
            y = net.cba(y, cin, exp, 1, act=act)
        y = net.cba(y, exp, exp, k, stride, groups=exp, act=act)
        if use_se:
            y = net.se(y, exp, _ch(exp // 4, 1.0), "relu", "hardsigmoid")
        y = net.cba(y, exp, out, 1)
        if stride == 1 and cin == out:
            y = net.node("Add", [y, x])
        x, cin = y, out
    last = 6 * cin
    x = net.gap_flatten(net.cba(x, cin, last, 1, act="hardswish"))
    x = net.act(net.linear(x, last, last_hidden), "hardswish")
    net.linear(x, last_hidden, classes)
    return net.model(size, [1, classes], family)


def mobilenetv3_small(size=96, classes=10, width=1.0, seed=0) -> onnx.ModelProto:
    return _mobilenetv3(_MNV3_SMALL, 1024, size, classes, width, seed, "mobilenetv3_small")


def mobilenetv3_large(size=96, classes=10, width=1.0, seed=0) -> onnx.ModelProto:
    return _mobilenetv3(_MNV3_LARGE, 1280, size, classes, width, seed, "mobilenetv3_large")


# ---------------------------------------------------------------- EfficientNet-B0

# (expand_ratio, kernel, stride, out, layers) per stage, as torchvision's B0.
_EFFNET_B0 = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
]


def efficientnet_b0(size=96, classes=10, width=1.0, depth=None, seed=0) -> onnx.ModelProto:
    """MBConv blocks: expand (SiLU), depthwise (SiLU), SE (SiLU, Sigmoid), project, add."""
    net = Net(seed)
    cin = _ch(32, width)
    x = net.cba("input", 3, cin, 3, 2, act="silu")
    for ratio, k, stride, out, layers in _EFFNET_B0:
        out = _ch(out, width)
        for i in range(layers if depth is None else min(layers, depth)):
            s = stride if i == 0 else 1
            exp = _ch(cin * ratio, 1.0)
            y = x
            if exp != cin:
                y = net.cba(y, cin, exp, 1, act="silu")
            y = net.cba(y, exp, exp, k, s, groups=exp, act="silu")
            y = net.se(y, exp, max(1, cin // 4), "silu", "sigmoid")
            y = net.cba(y, exp, out, 1)
            if s == 1 and cin == out:
                y = net.node("Add", [y, x])
            x, cin = y, out
    last = _ch(1280, max(1.0, width))
    x = net.gap_flatten(net.cba(x, cin, last, 1, act="silu"))
    net.linear(x, last, classes)
    return net.model(size, [1, classes], "efficientnet_b0")


# ---------------------------------------------------------------- ShuffleNetV2

_SHUFFLE_CHANNELS = {0.5: [24, 48, 96, 192, 1024], 1.0: [24, 116, 232, 464, 1024]}


def _channel_shuffle(net: Net, x: str, c: int, hw: int) -> str:
    """``x.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)``."""
    y = net.node("Reshape", [x, net.const("shape", [1, 2, c // 2, hw, hw], np.int64)])
    y = net.node("Transpose", [y], perm=[0, 2, 1, 3, 4])
    return net.node("Reshape", [y, net.const("shape", [1, -1, hw, hw], np.int64)])


def shufflenetv2(size=96, classes=10, width=0.5, depth=None, seed=0) -> onnx.ModelProto:
    """ShuffleNetV2 (x0.5 or x1.0): chunk → branch → concat → channel shuffle; mean([2, 3])."""
    net = Net(seed)
    chans = _SHUFFLE_CHANNELS[width]
    x = net.cba("input", 3, chans[0], 3, 2, act="relu")
    x = net.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    hw = (size + 1) // 2
    hw = (hw + 1) // 2
    cin = chans[0]
    for repeats, out in zip([4, 8, 4], chans[1:4], strict=True):
        half = out // 2
        for i in range(repeats if depth is None else min(repeats, depth)):
            if i == 0:  # stride 2: both branches see x
                b1 = net.cba(x, cin, cin, 3, 2, groups=cin)
                b1 = net.cba(b1, cin, half, 1, act="relu")
                b2 = net.cba(x, cin, half, 1, act="relu")
                hw = (hw + 1) // 2
            else:
                b1, b2 = net.node(
                    "Split", [x, net.const("split", [half, half], np.int64)], n_out=2, axis=1
                )
                b2 = net.cba(b2, half, half, 1, act="relu")
            b2 = net.cba(b2, half, half, 3, 2 if i == 0 else 1, groups=half)
            b2 = net.cba(b2, half, half, 1, act="relu")
            x = _channel_shuffle(net, net.node("Concat", [b1, b2], axis=1), out, hw)
            cin = out
    x = net.mean_hw(net.cba(x, cin, chans[4], 1, act="relu"))
    net.linear(x, chans[4], classes)
    return net.model(size, [1, classes], "shufflenetv2")


# ---------------------------------------------------------------- MnasNet

# (expansion, kernel, stride, out, repeats) per stack, as torchvision's mnasnet.
_MNAS = [(3, 3, 2, 24, 3), (3, 5, 2, 40, 3), (6, 5, 2, 80, 3), (6, 3, 1, 96, 2),
         (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # fmt: skip


def mnasnet(size=96, classes=10, width=0.5, depth=None, seed=0) -> onnx.ModelProto:
    """MnasNet (alpha = width): ReLU inverted residuals, classifier on mean([2, 3])."""
    net = Net(seed)

    def ch(c):  # torchvision's _round_to_multiple_of(c * alpha, 8) with bias 0.9
        return make_divisible(c * width, 8)

    c32, c16 = ch(32), ch(16)
    x = net.cba("input", 3, c32, 3, 2, act="relu")
    x = net.cba(x, c32, c32, 3, 1, groups=c32, act="relu")
    x = net.cba(x, c32, c16, 1)
    cin = c16
    for exp, k, stride, out, repeats in _MNAS:
        out = ch(out)
        for i in range(repeats if depth is None else min(repeats, depth)):
            s = stride if i == 0 else 1
            hidden = cin * exp
            y = net.cba(x, cin, hidden, 1, act="relu")
            y = net.cba(y, hidden, hidden, k, s, groups=hidden, act="relu")
            y = net.cba(y, hidden, out, 1)
            if s == 1 and cin == out:
                y = net.node("Add", [y, x])
            x, cin = y, out
    x = net.mean_hw(net.cba(x, cin, 1280, 1, act="relu"))
    net.linear(x, 1280, classes)
    return net.model(size, [1, classes], "mnasnet")


# ---------------------------------------------------------------- ResNet-18, RegNetX


def resnet18(size=96, classes=10, width=1.0, depth=None, seed=0) -> onnx.ModelProto:
    """BasicBlock ×2 per stage, 1×1 stride-2 downsample; MaxPool stem; GAP; Gemm."""
    net = Net(seed)
    c = [_ch(v, width) for v in (64, 128, 256, 512)]
    x = net.cba("input", 3, c[0], 7, 2, act="relu")
    x = net.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = c[0]
    for stage, out in enumerate(c):
        for i in range(2 if depth is None else min(2, depth)):
            s = 2 if i == 0 and stage > 0 else 1
            y = net.cba(x, cin, out, 3, s, act="relu")
            y = net.cba(y, out, out, 3)
            short = net.cba(x, cin, out, 1, s) if (s != 1 or cin != out) else x
            x, cin = net.node("Relu", [net.node("Add", [y, short])]), out
    net.linear(net.gap_flatten(x), cin, classes)
    return net.model(size, [1, classes], "resnet18")


def regnet_x(size=96, classes=10, seed=0, depth=None) -> onnx.ModelProto:
    """RegNetX-200MF: widths 24/56/152/368, depths 1/1/4/7, group width 8, ratio 1."""
    net = Net(seed)
    x = net.cba("input", 3, 32, 3, 2, act="relu")
    cin = 32
    for out, blocks in zip([24, 56, 152, 368], [1, 1, 4, 7], strict=True):
        for i in range(blocks if depth is None else min(blocks, depth)):
            s = 2 if i == 0 else 1
            y = net.cba(x, cin, out, 1, act="relu")
            y = net.cba(y, out, out, 3, s, groups=out // 8, act="relu")
            y = net.cba(y, out, out, 1)
            short = net.cba(x, cin, out, 1, s) if (s != 1 or cin != out) else x
            x, cin = net.node("Relu", [net.node("Add", [short, y])]), out
    net.linear(net.gap_flatten(x), cin, classes)
    return net.model(size, [1, classes], "regnet_x_200mf")


# ---------------------------------------------------------------- segmentation head


def seg_head(size=64, classes=5, seed=0) -> onnx.ModelProto:
    """A small edge-segmentation net: stride-4 encoder, a dilated 3×3 context conv, a
    reflect Pad before an unpadded conv, a stride-2 ConvTranspose and a bilinear Resize
    (half_pixel, as torch's ``F.interpolate(..., align_corners=False)``) back to the input."""
    net = Net(seed)
    x = net.cba("input", 3, 16, 3, 2, act="relu")
    x = net.cba(x, 16, 32, 3, 2, act="relu")
    x = net.cba(x, 32, 32, 3, 1, act="relu", dil=2)
    x = net.node(
        "Pad",
        [x, net.const("pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64)],
        mode="reflect",
    )
    x = net.act(net.bn(net.conv(x, 32, 32, 3, pad=0), 32), "relu")
    w = net.rng.normal(0, np.sqrt(2.0 / (32 * 9)), (32, 16, 3, 3))  # [cin, cout, kh, kw]
    x = net.node(
        "ConvTranspose",
        [x, net.const("deconv.weight", w), net.const("deconv.bias", net.rng.normal(0, 0.1, 16))],
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        output_padding=[1, 1],
    )
    x = net.node("Relu", [x])
    x = net.conv(x, 16, classes, 1, bias=True)
    net.node(
        "Resize",
        [x, "", net.const("scales", [1.0, 1.0, 2.0, 2.0])],
        mode="linear",
        coordinate_transformation_mode="half_pixel",
    )
    return net.model(size, [1, classes, size, size], "seg_head")


FAMILIES: dict[str, Callable[..., onnx.ModelProto]] = {
    "mobilenetv3_small": mobilenetv3_small,
    "mobilenetv3_large": mobilenetv3_large,
    "efficientnet_b0": efficientnet_b0,
    "shufflenetv2": shufflenetv2,
    "mnasnet": mnasnet,
    "resnet18": resnet18,
    "regnet_x": regnet_x,
    "seg_head": seg_head,
}
