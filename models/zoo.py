"""The model zoo: MobileNetV2 (also with squeeze-excitation), a small ResNet, an XNOR-Net
style binary CNN, and the seed's VGG-like net.

Each builder returns a ``Sequential`` (NHWC in, logits out) and records how it was
built in ``net.spec`` (a JSON-able dict) so the exporter can write it to metadata.
``MODELS`` maps the CLI names to builders taking ``(input_size, num_classes, width,
rng)``; the defaults there are the digits configurations that reach the accuracy
the project promises (see ``cli.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from cnnc.errors import CnncError

from .binary import BinaryConv2D, Sign
from .layers import (
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool,
    ReLU,
    ReLU6,
    Sigmoid,
)
from .network import Residual, Sequential, SqueezeExcite

# ---------------------------------------------------------------------------- MobileNetV2


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of divisor, never dropping below 90 % of it.

    The rounding rule of the MobileNetV2 reference implementation (and TF slim).
    """
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


# (expansion t, output channels c, repeats n, first stride s), as in table 2 of the paper
IMAGENET_SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
# For 32x32 inputs: the same stages up to 96 channels with fewer repeats (32 -> 16 -> 8 -> 4 -> 2
# after the strided stem), the usual small-image adaptation.
SMALL_SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 2, 2),
    (6, 64, 2, 2),
    (6, 96, 1, 1),
]


def conv_bn(cin: int, cout: int, kernel: int, stride: int, rng, act: bool = True) -> list:
    """Conv (no bias; BN follows) -> BN [-> ReLU6]."""
    layers = [
        Conv2D(cin, cout, kernel, stride, "same", use_bias=False, rng=rng),
        BatchNorm(cout),
    ]
    return layers + [ReLU6()] if act else layers


def squeeze_excite(channels: int, rng, reduction: int = 4) -> SqueezeExcite:
    """SENet's gate: pool -> Dense(C/reduction) -> ReLU -> Dense(C) -> Sigmoid, times x."""
    squeeze = make_divisible(channels / reduction)
    return SqueezeExcite(
        Sequential(
            [
                GlobalAvgPool(),
                Dense(channels, squeeze, rng=rng),
                ReLU(),
                Dense(squeeze, channels, rng=rng),
                Sigmoid(),
            ]
        )
    )


def inverted_residual(cin: int, cout: int, stride: int, expansion: int, rng, se: bool = False):
    """Expand 1x1 -> depthwise 3x3 [-> squeeze-excitation] -> linear 1x1 projection, BN
    after every conv.

    An identity shortcut joins input and output when stride is 1 and channels match.
    """
    hidden = int(round(cin * expansion))
    layers = conv_bn(cin, hidden, 1, 1, rng) if expansion != 1 else []
    layers += [
        DepthwiseConv2D(hidden, 3, stride, "same", rng=rng),
        BatchNorm(hidden),
        ReLU6(),
    ]
    if se:
        layers.append(squeeze_excite(hidden, rng))
    layers += conv_bn(hidden, cout, 1, 1, rng, act=False)  # linear bottleneck
    body = Sequential(layers)
    return Residual(body) if stride == 1 and cin == cout else body


def mobilenetv2(
    width_mult: float = 1.0,
    input_size: int = 224,
    num_classes: int = 1000,
    settings: list[tuple[int, int, int, int]] | None = None,
    stem_stride: int = 2,
    last_channel: int = 1280,
    in_channels: int = 1,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
    se: bool = False,
) -> Sequential:
    """MobileNetV2 (Sandler et al. 2018) for NHWC inputs [N, S, S, in_channels]; with
    ``se``, every inverted residual block gates its depthwise output by
    squeeze-excitation (SENet; as MobileNetV3 does).

    Stem conv 3x3 (32 x width) -> inverted residual stages -> 1x1 conv to
    ``last_channel`` (scaled up, never down, by width_mult > 1) -> global average
    pool -> classifier. ``settings`` defaults to the ImageNet table for inputs of 96
    pixels and more, else to ``SMALL_SETTINGS``.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    if width_mult <= 0:
        raise CnncError(f"mobilenetv2: width multiplier must be positive, got {width_mult}")
    if settings is None:
        settings = IMAGENET_SETTINGS if input_size >= 96 else SMALL_SETTINGS
    cin = make_divisible(32 * width_mult)
    layers: list = conv_bn(in_channels, cin, 3, stem_stride, rng)
    for t, c, n, s in settings:
        cout = make_divisible(c * width_mult)
        for i in range(n):
            layers.append(inverted_residual(cin, cout, s if i == 0 else 1, t, rng, se=se))
            cin = cout
    last = make_divisible(last_channel * max(1.0, width_mult))
    layers += conv_bn(cin, last, 1, 1, rng)
    layers += [GlobalAvgPool()]
    if dropout:
        layers.append(Dropout(dropout, rng=np.random.default_rng(rng.integers(2**32))))
    layers.append(Dense(last, num_classes, rng=rng))
    net = Sequential(layers)
    net.spec = {
        "model": "se_mobilenet" if se else "mobilenetv2",
        "width_mult": width_mult,
        "input_size": input_size,
        "num_classes": num_classes,
        "stem_stride": stem_stride,
        "last_channel": last_channel,
    }
    _check_fits(net, input_size, in_channels)
    return net


# ---------------------------------------------------------------------------- ResNet


def basic_block(cin: int, cout: int, stride: int, rng) -> Sequential:
    """ResNet's basic block: relu(conv3x3-BN-ReLU-conv3x3-BN (x) + shortcut(x)), the
    shortcut a strided 1x1 conv + BN where the shape changes, else the identity."""
    body = Sequential(
        [*conv_bn_relu(cin, cout, 3, stride, rng), *conv_bn_relu(cout, cout, 3, 1, rng, False)]
    )
    shortcut = None
    if stride != 1 or cin != cout:
        shortcut = Sequential(conv_bn_relu(cin, cout, 1, stride, rng, act=False))
    return Sequential([Residual(body, shortcut), ReLU()])


def conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, rng, act: bool = True) -> list:
    layers = [Conv2D(cin, cout, kernel, stride, "same", use_bias=False, rng=rng), BatchNorm(cout)]
    return layers + [ReLU()] if act else layers


def resnet(
    input_size: int = 8,
    num_classes: int = 10,
    widths: tuple[int, ...] = (16, 32, 64),
    in_channels: int = 1,
    rng: np.random.Generator | None = None,
) -> Sequential:
    """A small ResNet (He et al. 2016): conv stem, one basic block per width (the first at
    stride 1, the others at stride 2), global average pool, classifier."""
    rng = rng if rng is not None else np.random.default_rng(0)
    layers: list = conv_bn_relu(in_channels, widths[0], 3, 1, rng)
    cin = widths[0]
    for i, w in enumerate(widths):
        layers.append(basic_block(cin, w, 1 if i == 0 else 2, rng))
        cin = w
    layers += [GlobalAvgPool(), Dense(cin, num_classes, rng=rng)]
    net = Sequential(layers)
    net.spec = {"model": "resnet", "widths": list(widths), "input_size": input_size,
                "num_classes": num_classes}  # fmt: skip
    _check_fits(net, input_size, in_channels)
    return net


# ---------------------------------------------------------------------------- XNOR-Net


def binary_block(cin: int, cout: int, rng, pool: bool) -> list:
    """BN -> sign -> binary 3x3 conv (-> 2x2 max-pool): the XNOR-Net block order."""
    layers = [BatchNorm(cin), Sign(), BinaryConv2D(cin, cout, 3, 1, "same", rng=rng)]
    return layers + [MaxPool(2)] if pool else layers


def xnornet(
    input_size: int = 32,
    num_classes: int = 10,
    channels: tuple[int, ...] = (64, 64, 128, 128),
    pools: tuple[bool, ...] = (True, False, True, True),
    stem_channels: int = 32,
    in_channels: int = 1,
    rng: np.random.Generator | None = None,
) -> Sequential:
    """A binary CNN in the XNOR-Net style.

    Real-valued first conv (3x3, stride 1) -> blocks BN -> sign -> BinaryConv2D
    (-> MaxPool) -> real-valued classifier BN -> ReLU -> global average pool ->
    Dense. First and last layers stay real, as in the paper.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    if len(channels) != len(pools):
        raise CnncError(f"xnornet: {len(channels)} block widths but {len(pools)} pool flags")
    layers: list = [Conv2D(in_channels, stem_channels, 3, 1, "same", use_bias=False, rng=rng)]
    cin = stem_channels
    for cout, pool in zip(channels, pools, strict=True):
        layers += binary_block(cin, cout, rng, pool)
        cin = cout
    layers += [BatchNorm(cin), ReLU(), GlobalAvgPool(), Dense(cin, num_classes, rng=rng)]
    net = Sequential(layers)
    net.spec = {
        "model": "xnornet",
        "input_size": input_size,
        "num_classes": num_classes,
        "channels": list(channels),
        "pools": list(pools),
        "stem_channels": stem_channels,
    }
    _check_fits(net, input_size, in_channels)
    return net


# ---------------------------------------------------------------------------- VGG-like


def parse_struct_item(item: str) -> tuple[str, int]:
    """'conv_8' -> ('conv', 8), 'FC_64' -> ('fc', 64), 'pool' -> ('pool', 2)."""
    kind, _, arg = item.partition("_")
    kind = kind.lower()
    if item.lower() == "pool":
        return "pool", 2
    if kind in ("conv", "fc", "pool") and arg.isdigit() and int(arg) > 0:
        return kind, int(arg)
    raise CnncError(
        f"vgg_like: cannot parse structure item {item!r}; expected 'conv_N', 'pool' or 'FC_N'"
    )


def vgg_like(
    struct: list[str],
    input_size: int = 16,
    num_classes: int = 10,
    in_channels: int = 1,
    batch_norm: bool = True,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Sequential:
    """The seed's VGG-like baseline from a structure list.

    'conv_N': 3x3 'same' conv with N filters (-> BN) -> ReLU; 'pool': 2x2 max-pool
    (or 'pool_K' for K x K); 'FC_N': dense with N units -> ReLU (the first FC
    flattens). A final dense layer to num_classes gives the logits.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    layers: list = []
    shape: tuple[int, ...] = (input_size, input_size, in_channels)
    for item in struct:
        kind, n = parse_struct_item(item)
        if kind == "conv":
            if len(shape) != 3:
                raise CnncError(f"vgg_like: {item!r} after a fully connected layer")
            layers.append(Conv2D(shape[2], n, 3, 1, "same", use_bias=not batch_norm, rng=rng))
            layers += [BatchNorm(n), ReLU()] if batch_norm else [ReLU()]
        elif kind == "pool":
            if len(shape) != 3:
                raise CnncError(f"vgg_like: {item!r} after a fully connected layer")
            layers.append(MaxPool(n))
        else:
            if len(shape) == 3:
                layers.append(Flatten())
                shape = layers[-1].output_shape(shape)
            layers += [Dense(shape[0], n, rng=rng), ReLU()]
            if dropout:
                layers.append(Dropout(dropout, rng=np.random.default_rng(rng.integers(2**32))))
        shape = Sequential(layers).output_shape((input_size, input_size, in_channels))
    if len(shape) == 3:
        layers.append(Flatten())
        shape = layers[-1].output_shape(shape)
    layers.append(Dense(shape[0], num_classes, rng=rng))
    net = Sequential(layers)
    net.spec = {
        "model": "vgg",
        "struct": list(struct),
        "input_size": input_size,
        "num_classes": num_classes,
    }
    return net


def _check_fits(net: Sequential, input_size: int, in_channels: int) -> None:
    try:
        net.output_shape((input_size, input_size, in_channels))
    except CnncError as err:
        raise CnncError(f"input size {input_size} is too small for this network: {err}") from None


# ---------------------------------------------------------------------------- CLI registry

DIGITS_VGG_STRUCT = ["conv_16", "conv_16", "pool", "conv_32", "conv_32", "pool", "FC_64"]


def build_mobilenetv2(input_size: int, num_classes: int, width: float, rng) -> Sequential:
    return mobilenetv2(width, input_size, num_classes, stem_stride=2, last_channel=256, rng=rng)


def build_se_mobilenet(input_size: int, num_classes: int, width: float, rng) -> Sequential:
    return mobilenetv2(
        width, input_size, num_classes, stem_stride=2, last_channel=256, rng=rng, se=True
    )


def build_resnet(input_size: int, num_classes: int, width: float, rng) -> Sequential:
    widths = tuple(make_divisible(c * width) for c in (16, 32, 64))
    return resnet(input_size, num_classes, widths, rng=rng)


def build_xnornet(input_size: int, num_classes: int, width: float, rng) -> Sequential:
    channels = tuple(make_divisible(c * width) for c in (64, 64, 128, 128))
    return xnornet(input_size, num_classes, channels=channels, rng=rng)


def build_vgg(input_size: int, num_classes: int, width: float, rng) -> Sequential:
    struct = [
        f"{kind}_{make_divisible(n * width, 4)}" if kind != "pool" else "pool"
        for kind, n in map(parse_struct_item, DIGITS_VGG_STRUCT)
    ]
    return vgg_like(struct, input_size, num_classes, rng=rng)


MODELS: dict[str, Callable[..., Sequential]] = {
    "mobilenetv2": build_mobilenetv2,
    "se_mobilenet": build_se_mobilenet,
    "resnet": build_resnet,
    "xnornet": build_xnornet,
    "vgg": build_vgg,
}
