"""Containers and every model block: gradient checks (float64 central differences),
parameter naming, checkpoints.

The XNOR block is not differentiable at the sign; its straight-through estimator
(STE) is checked against a surrogate that IS differentiable and has the STE as its
true derivative: hardtanh(x) = clip(x, -1, 1), whose derivative is 1{|x| < 1}.
Because the binary conv is linear in its input, the gradient that reaches the sign
is the same for both, so the block's input and BN gradients must be equal.
"""

import numpy as np
import pytest
from cnnc.errors import CnncError
from cnnc.models import network, zoo
from cnnc.models.binary import BinaryConv2D, Sign
from cnnc.models.gradcheck import gradcheck
from cnnc.models.layers import (
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool,
    ReLU,
)
from cnnc.models.network import Residual, Sequential

TOL = 1e-6


def as_float64(module):
    network.set_dtype(module, np.float64)
    return module


def assert_gradcheck(module, x, rng, keys=None):
    errors = gradcheck(module, x, rng)
    keys = errors.keys() if keys is None else keys
    bad = {k: errors[k] for k in keys if errors[k] > TOL}
    assert not bad, f"relative gradient errors above {TOL}: {bad}"
    return errors


def randomise_bn(module, rng):
    """Non-trivial gamma/beta so BN gradients are not at their initial symmetric point."""
    for _, layer in network.named_layers(module):
        if isinstance(layer, BatchNorm):
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.channels)
            layer.params["beta"][...] = rng.normal(0, 0.3, layer.channels)


BLOCKS = {
    # (cin, cout, stride, expansion): residual only when stride 1 and cin == cout
    "ir-t6-residual": (8, 8, 1, 6),
    "ir-t6-stride2": (8, 16, 2, 6),
    "ir-t6-widen": (3, 5, 1, 6),
    "ir-t1-residual": (4, 4, 1, 1),
    "ir-t1-stride2": (4, 8, 2, 1),
}


@pytest.mark.parametrize("hw", [5, 7], ids=lambda s: f"{s}x{s}")
@pytest.mark.parametrize("name", list(BLOCKS))
def test_inverted_residual_gradcheck(rng, name, hw):
    cin, cout, stride, t = BLOCKS[name]
    block = as_float64(zoo.inverted_residual(cin, cout, stride, t, rng))
    assert isinstance(block, Residual) == (stride == 1 and cin == cout)
    randomise_bn(block, rng)
    x = rng.standard_normal((2, hw, hw, cin))
    errors = assert_gradcheck(block, x, rng)
    assert len(errors) == 1 + len(block.params)  # x and every leaf param were checked


def test_mobilenetv2_stem_and_head_gradcheck(rng):
    stem = as_float64(Sequential(zoo.conv_bn(1, 8, 3, 2, rng)))
    randomise_bn(stem, rng)
    assert_gradcheck(stem, rng.standard_normal((3, 7, 7, 1)), rng)
    head = as_float64(
        Sequential(zoo.conv_bn(8, 16, 1, 1, rng) + [GlobalAvgPool(), Dense(16, 10, rng=rng)])
    )
    randomise_bn(head, rng)
    assert_gradcheck(head, rng.standard_normal((3, 3, 3, 8)), rng)


def test_whole_small_mobilenetv2_gradcheck(rng):
    net = zoo.mobilenetv2(
        0.25, 8, 3, settings=[(1, 8, 1, 1), (6, 8, 2, 2)], stem_stride=1, last_channel=16, rng=rng
    )
    as_float64(net)
    randomise_bn(net, rng)
    assert any(isinstance(layer, Residual) for layer in net.layers)
    # A linear bottleneck's BN feeds (through the residual Add and a 1x1 conv, both linear)
    # the next train-mode BN, which subtracts the batch mean: its beta cannot change the
    # loss, so the true gradient is 0 and the relative error is meaningless there.
    leaves = list(network.named_layers(net))
    cancelled = {
        path + "beta"
        for (path, layer), (_, nxt) in zip(leaves, leaves[1:], strict=False)
        if isinstance(layer, BatchNorm) and isinstance(nxt, Conv2D)
    }
    blocks = [layer for layer in net.layers if isinstance(layer, (Residual, Sequential))]
    assert len(cancelled) == len(blocks) == 3  # one per inverted residual block
    errors = gradcheck(net, rng.standard_normal((2, 8, 8, 1)), rng)
    bad = {k: v for k, v in errors.items() if v > TOL and k not in cancelled}
    assert not bad, f"relative gradient errors above {TOL}: {bad}"
    scale = max(float(np.abs(g).max()) for g in net.grads.values())
    for key in cancelled:
        assert np.abs(net.grads[key]).max() < 1e-12 * scale, key


def test_vgg_blocks_gradcheck(rng):
    net = as_float64(zoo.vgg_like(["conv_3", "pool", "conv_5", "FC_7"], 6, 4, rng=rng))
    randomise_bn(net, rng)
    assert_gradcheck(net, rng.standard_normal((3, 6, 6, 1)), rng)


class HardTanh:
    """clip(x, -1, 1): the differentiable surrogate whose derivative is the sign's STE."""

    def __init__(self):
        self.params, self.grads, self.state = {}, {}, {}

    def forward(self, x, train):
        self.mask = np.abs(x) < 1
        return np.clip(x, -1, 1)

    def backward(self, dy):
        return dy * self.mask

    def output_shape(self, in_shape):
        return in_shape


@pytest.mark.parametrize("pool", [False, True], ids=["no-pool", "pool"])
def test_xnor_block_ste_equals_hardtanh_surrogate_gradient(rng, pool):
    cin, cout = 5, 7
    ste = as_float64(Sequential(zoo.binary_block(cin, cout, rng, pool=False)))
    surrogate = as_float64(Sequential([BatchNorm(cin), HardTanh(), BinaryConv2D(cin, cout, 3)]))
    randomise_bn(ste, rng)
    for key, value in ste.params.items():
        surrogate.params[key][...] = value
    assert isinstance(ste.layers[1], Sign)
    x = rng.standard_normal((3, 5, 5, cin))
    # the surrogate's analytic gradient is its true derivative (w excluded: the latent
    # weight gradient is an STE through sign(w) by design)
    errors = assert_gradcheck(surrogate, x, rng, keys=["x", "0.gamma", "0.beta"])
    assert set(errors) == {"x", "0.gamma", "0.beta", "2.w"}
    dy = rng.standard_normal(ste.forward(x, True).shape)
    dx_ste = ste.backward(dy)
    surrogate.forward(x, True)
    dx_sur = surrogate.backward(dy)
    np.testing.assert_allclose(dx_ste, dx_sur, rtol=1e-12, atol=1e-12)
    for key in ("0.gamma", "0.beta"):
        np.testing.assert_allclose(ste.grads[key], surrogate.grads[key], rtol=1e-12, atol=1e-12)
    if pool:
        # binary conv -> max-pool -> the next block's BN: smooth in the conv input
        tail = as_float64(Sequential([BinaryConv2D(cin, cout, 3), MaxPool(2), BatchNorm(cout)]))
        randomise_bn(tail, rng)
        assert_gradcheck(tail, rng.standard_normal((3, 6, 6, cin)), rng, keys=["x"])


def test_xnornet_classifier_head_gradcheck(rng):
    head = as_float64(Sequential([BatchNorm(6), ReLU(), GlobalAvgPool(), Dense(6, 4, rng=rng)]))
    randomise_bn(head, rng)
    assert_gradcheck(head, rng.standard_normal((3, 3, 3, 6)), rng)


def test_xnornet_stem_gradcheck(rng):
    net = as_float64(zoo.xnornet(8, 3, channels=(4,), pools=(True,), stem_channels=3, rng=rng))
    assert isinstance(net.layers[0], Conv2D) and isinstance(net.layers[-1], Dense)
    stem = Sequential(net.layers[:1])
    assert_gradcheck(stem, rng.standard_normal((2, 8, 8, 1)), rng)


# ---------------------------------------------------------------------------- containers


def test_residual_adds_identity(rng):
    body = Sequential([Conv2D(3, 3, 3, rng=rng), ReLU()])
    res = Residual(body)
    x = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(res.forward(x, False), x + body.forward(x, False))
    assert res.output_shape((5, 5, 3)) == (5, 5, 3)


def test_residual_shape_mismatch_raises():
    res = Residual(Sequential([Conv2D(3, 4, 3)]))
    with pytest.raises(CnncError, match=r"residual body maps \(5, 5, 3\) to \(5, 5, 4\)"):
        res.output_shape((5, 5, 3))


def test_param_names_follow_paths(rng):
    net = Sequential(
        [Conv2D(1, 2, 3, rng=rng), Residual(Sequential([BatchNorm(2), ReLU()])), Flatten()]
    )
    names = [name for name, _, _ in network.named_params(net)]
    assert names == ["0.w", "0.b", "1.body.0.gamma", "1.body.0.beta"]
    assert list(net.state) == ["1.body.0.running_mean", "1.body.0.running_var"]
    assert network.param_count(net) == 3 * 3 * 1 * 2 + 2 + 2 + 2


def small_net(seed):
    rng = np.random.default_rng(seed)
    return zoo.xnornet(8, 3, channels=(4, 5), pools=(True, False), stem_channels=3, rng=rng)


def test_checkpoint_round_trip(tmp_path, rng):
    net = small_net(1)
    x = rng.standard_normal((4, 8, 8, 1)).astype(np.float32)
    net.forward(x, True)  # moves the BN running statistics away from their init
    path = tmp_path / "ckpt.npz"
    network.save_checkpoint(path, net, extra={"opt/a": np.arange(3)}, info={"epoch": 4})
    other = small_net(2)
    held = other.params["0.w"]  # a reference an optimiser might hold
    assert not np.array_equal(other.forward(x, False), net.forward(x, False))
    extra, info = network.load_checkpoint(path, other)
    np.testing.assert_array_equal(other.forward(x, False), net.forward(x, False))
    assert held is other.params["0.w"], "loading must copy in place"
    np.testing.assert_array_equal(extra["opt/a"], np.arange(3))
    assert info == {"epoch": 4}


def test_checkpoint_of_another_network_is_rejected(tmp_path):
    path = tmp_path / "ckpt.npz"
    network.save_checkpoint(path, small_net(1))
    wider = zoo.xnornet(8, 3, channels=(4, 6), pools=(True, False), stem_channels=3)
    with pytest.raises(CnncError, match=r"param 7\.w has shape .* expects"):
        network.load_checkpoint(path, wider)
    deeper = zoo.xnornet(8, 3, channels=(4, 5, 5), pools=(True, False, False), stem_channels=3)
    with pytest.raises(CnncError, match="does not fit the network"):
        network.load_checkpoint(path, deeper)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(CnncError, match="cannot read checkpoint"):
        network.load_checkpoint(tmp_path / "junk.npz", small_net(1))
