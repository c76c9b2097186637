"""The seed book's chapter-10 blocks: ResNet's residual block with a projection shortcut
and SENet's squeeze-excitation, as layers with backward passes: float64 gradient checks,
and ONNX export against onnxruntime (the shapes torch exports for torchvision's blocks)."""

import numpy as np
import pytest
from cnnc.errors import CnncError, UnsupportedError
from cnnc.models import export, network, zoo
from cnnc.models.gradcheck import gradcheck
from cnnc.models.layers import Conv2D, Dense, GlobalAvgPool, HardSigmoid, ReLU, Sigmoid
from cnnc.models.network import Residual, Sequential, SqueezeExcite

TOL = 1e-6


def as_float64(module):
    network.set_dtype(module, np.float64)
    return module


def assert_gradcheck(module, x, rng):
    errors = gradcheck(module, x, rng)
    bad = {k: v for k, v in errors.items() if v > TOL}
    assert not bad, f"relative gradient errors above {TOL}: {bad}"
    return errors


def randomise(net, rng):
    for _, layer in network.named_layers(net):
        if "gamma" in layer.params:
            c = layer.channels
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, c)
            layer.params["beta"][...] = rng.normal(0, 0.3, c)
            layer.state["running_mean"][...] = rng.normal(0, 0.3, c)
            layer.state["running_var"][...] = rng.uniform(0.5, 2.0, c)
        if "b" in layer.params:
            layer.params["b"][...] = rng.normal(0, 0.5, layer.params["b"].shape)
    return net


@pytest.mark.parametrize("gate", [Sigmoid, HardSigmoid])
def test_gates_gradcheck_and_values(rng, gate):
    x = rng.normal(0, 3, (4, 3, 3, 5))
    x[0, 0, 0, :] = [-1e4, -3.5, 0.0, 2.9, 1e4]  # saturation and the far tails, no overflow
    layer = gate()
    y = layer.forward(x, False)
    if gate is Sigmoid:
        want = 1 / (1 + np.exp(-np.clip(x, -500, 500)))
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(y, np.clip(x + 3, 0, 6) / 6, rtol=1e-12)
    x[0, 0, 0, :] = [-1.0, -2.5, 0.5, 2.0, 1.0]  # keep the finite differences off the kinks
    assert_gradcheck(layer, x, rng)


@pytest.mark.parametrize("gate", [Sigmoid, HardSigmoid])
def test_squeeze_excite_gradcheck(rng, gate):
    se = as_float64(
        SqueezeExcite(
            Sequential(
                [GlobalAvgPool(), Dense(6, 3, rng=rng), ReLU(), Dense(3, 6, rng=rng), gate()]
            )  # fmt: skip
        )
    )
    randomise(se, rng)
    errors = assert_gradcheck(se, rng.normal(0, 1, (3, 4, 5, 6)), rng)
    assert {"x", "squeeze.1.w", "squeeze.1.b", "squeeze.3.w", "squeeze.3.b"} <= set(errors)


def test_squeeze_excite_scales_each_channel_by_its_gate(rng):
    se = zoo.squeeze_excite(8, rng)
    x = rng.normal(0, 1, (2, 3, 3, 8)).astype(np.float32)
    pooled = x.mean(axis=(1, 2))
    dense1, dense2 = se.squeeze.layers[1], se.squeeze.layers[3]
    hidden = np.maximum(pooled @ dense1.params["w"] + dense1.params["b"], 0)
    gates = 1 / (1 + np.exp(-(hidden @ dense2.params["w"] + dense2.params["b"])))
    np.testing.assert_allclose(se.forward(x), x * gates[:, None, None, :], rtol=1e-5)


def test_residual_block_with_projection_gradcheck(rng):
    block = as_float64(zoo.basic_block(3, 4, 2, rng))
    randomise(block, rng)
    errors = assert_gradcheck(block, rng.normal(0, 1, (2, 3, 3, 3)), rng)
    assert any(k.startswith("0.shortcut.") for k in errors)  # the projection is trained


def test_residual_block_identity_gradcheck(rng):
    block = as_float64(zoo.basic_block(3, 3, 1, rng))
    randomise(block, rng)
    assert block.layers[0].shortcut is None
    assert_gradcheck(block, rng.normal(0, 1, (2, 3, 3, 3)), rng)


def test_shortcut_shape_mismatch_is_named(rng):
    block = Residual(Sequential([Conv2D(2, 3, 3, 2, "same", rng=rng)]),
                     Sequential([Conv2D(2, 3, 1, 1, rng=rng)]))  # fmt: skip
    with pytest.raises(CnncError, match=r"the shortcut to \(5, 5, 3\)"):
        block.output_shape((5, 5, 2))


def test_se_must_give_one_gate_per_channel(rng):
    se = SqueezeExcite(Sequential([GlobalAvgPool(), Dense(4, 3, rng=rng)]))
    with pytest.raises(CnncError, match=r"one gate per channel, \(4,\)"):
        se.output_shape((3, 3, 4))


@pytest.mark.parametrize(
    "name,build",
    [
        ("se_mobilenet", lambda rng: zoo.mobilenetv2(0.5, 16, 10, settings=zoo.SMALL_SETTINGS[:3],
                                                     last_channel=32, rng=rng, se=True)),
        ("resnet", lambda rng: zoo.resnet(9, 10, (4, 6, 8), rng=rng)),
    ],
)  # fmt: skip
def test_models_export_to_onnxruntime(rng, name, build):
    net = randomise(build(rng), rng)
    size = net.spec["input_size"]
    model = export.to_onnx(net, (size, size, 1))
    ops = {n.op_type for n in model.graph.node}
    if name == "se_mobilenet":  # torchvision's SqueezeExcitation, node for node
        assert {"GlobalAveragePool", "Sigmoid", "Mul", "Conv"} <= ops and "Gemm" in ops
    x = rng.standard_normal((5, size, size, 1)).astype(np.float32)
    expected = net.forward(x, False)
    actual = export.run_onnxruntime(model, x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(actual, expected, atol=1e-5 * np.ptp(expected))


def test_se_with_an_unexportable_squeeze_is_named(rng):
    squeeze = [GlobalAvgPool(), Dense(4, 4, rng=rng), Conv2D(4, 4, 1, rng=rng)]
    net = Sequential([Conv2D(1, 4, 3, rng=rng), SqueezeExcite(Sequential(squeeze))])
    with pytest.raises(UnsupportedError, match=r"squeeze-excitation 1 must be GlobalAvgPool"):
        export.to_onnx(net, (5, 5, 1))
