"""The zoo's architectures against published facts and hand-written layer lists."""

import numpy as np
import pytest
from cnnc.errors import CnncError
from cnnc.models import network, zoo
from cnnc.models.binary import BinaryConv2D, Sign
from cnnc.models.layers import (
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    GlobalAvgPool,
    MaxPool,
    ReLU,
    ReLU6,
)
from cnnc.models.network import Residual, Sequential


@pytest.mark.parametrize(
    "value, expected",
    [(32 * 0.35, 16), (16 * 0.5, 8), (24 * 0.5, 16), (96 * 0.75, 72), (1280, 1280),
     (32 * 1.4, 48), (3, 8), (20, 24), (36, 40), (44, 48)],
    ids=lambda v: str(v),
)  # fmt: skip
def test_make_divisible_matches_the_reference_rule(value, expected):
    # hand-computed from the rule: nearest multiple of 8, at least 8, never below 90 %
    assert zoo.make_divisible(value) == expected


def test_imagenet_mobilenetv2_has_the_published_parameter_count():
    # torchvision's mobilenet_v2() (weights + BN gamma/beta + classifier bias): 3,504,872
    net = zoo.mobilenetv2(1.0, 224, 1000, in_channels=3)
    assert network.param_count(net) == 3_504_872
    blocks = [layer for layer in net.layers if isinstance(layer, (Residual, Sequential))]
    assert len(blocks) == 17  # 1 + 2 + 3 + 4 + 3 + 3 + 1 inverted residual blocks
    assert sum(isinstance(b, Residual) for b in blocks) == 10
    assert net.output_shape((224, 224, 3)) == (1000,)


def leaf_types(module):
    return [type(layer) for _, layer in network.named_layers(module)]


def test_inverted_residual_layer_order():
    block = zoo.inverted_residual(16, 16, 1, 6, np.random.default_rng(0))
    assert isinstance(block, Residual)
    assert leaf_types(block) == [Conv2D, BatchNorm, ReLU6, DepthwiseConv2D, BatchNorm, ReLU6,
                                 Conv2D, BatchNorm]  # fmt: skip
    expand, dw, project = block.body.layers[0], block.body.layers[3], block.body.layers[6]
    assert expand.params["w"].shape == (1, 1, 16, 96) and not expand.use_bias
    assert dw.params["w"].shape == (3, 3, 96) and dw.stride == (1, 1)
    assert project.params["w"].shape == (1, 1, 96, 16)  # linear: no ReLU6 after its BN
    strided = zoo.inverted_residual(16, 16, 2, 6, np.random.default_rng(0))
    assert isinstance(strided, Sequential) and strided.layers[3].stride == (2, 2)
    t1 = zoo.inverted_residual(16, 8, 1, 1, np.random.default_rng(0))
    assert leaf_types(t1) == [DepthwiseConv2D, BatchNorm, ReLU6, Conv2D, BatchNorm]


@pytest.mark.parametrize("size", [32, 17], ids=lambda s: f"in{s}")
@pytest.mark.parametrize("width", [0.35, 0.5, 1.0], ids=lambda w: f"w{w}")
def test_small_mobilenetv2_shapes(rng, width, size):
    net = zoo.mobilenetv2(width, size, 10, stem_stride=2, last_channel=256, rng=rng)
    x = rng.standard_normal((3, size, size, 1)).astype(np.float32)
    y = net.forward(x, False)
    assert y.shape == (3, 10) and y.dtype == np.float32
    assert net.output_shape((size, size, 1)) == (10,)
    assert isinstance(net.layers[-1], Dense) and isinstance(net.layers[-2], GlobalAvgPool)
    convs = [layer for _, layer in network.named_layers(net) if isinstance(layer, Conv2D)]
    assert all(c.out_channels % 8 == 0 for c in convs), "widths must be multiples of 8"


def test_xnornet_structure(rng):
    net = zoo.xnornet(16, 10, channels=(8, 16), pools=(True, False), stem_channels=4, rng=rng)
    assert leaf_types(net) == [
        Conv2D,                                      # real first layer
        BatchNorm, Sign, BinaryConv2D, MaxPool,      # block 1
        BatchNorm, Sign, BinaryConv2D,               # block 2
        BatchNorm, ReLU, GlobalAvgPool, Dense,       # real classifier
    ]  # fmt: skip
    assert net.forward(rng.standard_normal((2, 16, 16, 1)).astype(np.float32), False).shape == (
        2,
        10,
    )


def test_vgg_like_parses_the_seed_structure(rng):
    net = zoo.vgg_like(["conv_8", "pool", "conv_12", "conv_12", "pool", "FC_64"], 8, 10, rng=rng)
    assert leaf_types(net) == [
        Conv2D, BatchNorm, ReLU, MaxPool,
        Conv2D, BatchNorm, ReLU, Conv2D, BatchNorm, ReLU, MaxPool,
        Flatten, Dense, ReLU, Dense,
    ]  # fmt: skip
    convs = [layer for layer in net.layers if isinstance(layer, Conv2D)]
    assert [c.out_channels for c in convs] == [8, 12, 12]
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    assert [d.params["w"].shape for d in dense] == [(2 * 2 * 12, 64), (64, 10)]
    y = net.forward(rng.standard_normal((5, 8, 8, 1)).astype(np.float32), False)
    assert y.shape == (5, 10)


@pytest.mark.parametrize("item", ["conv", "conv_x", "FC_0", "dense_4", "pool_"], ids=repr)
def test_vgg_like_rejects_bad_items(item):
    with pytest.raises(CnncError, match="cannot parse structure item"):
        zoo.vgg_like(["conv_4", item], 8, 10)


def test_vgg_like_conv_after_fc_and_too_small_input():
    with pytest.raises(CnncError, match="after a fully connected"):
        zoo.vgg_like(["FC_4", "conv_4"], 8, 10)
    with pytest.raises(CnncError, match="does not fit"):
        zoo.vgg_like(["pool", "pool", "pool", "pool"], 8, 10)


@pytest.mark.parametrize("name", sorted(zoo.MODELS))
def test_cli_builders_are_seeded(name):
    a = zoo.MODELS[name](16, 10, 0.5, np.random.default_rng(3))
    b = zoo.MODELS[name](16, 10, 0.5, np.random.default_rng(3))
    c = zoo.MODELS[name](16, 10, 0.5, np.random.default_rng(4))
    for key, value in a.params.items():
        np.testing.assert_array_equal(value, b.params[key])
    assert any(not np.array_equal(v, c.params[k]) for k, v in a.params.items())
    assert a.spec["model"] == name
