"""ONNX export: onnx.checker, onnxruntime against the NumPy eval forward, the fixed
XNOR-Net encoding, and the metadata the CLI reads back."""

import json

import numpy as np
import onnx
import pytest
from cnnc.errors import UnsupportedError
from cnnc.models import export, network, zoo
from cnnc.models.binary import BinaryConv2D, BinaryDense, Sign
from cnnc.models.data import inputs_for_model
from cnnc.models.layers import (
    ELU,
    AvgPool,
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
)
from cnnc.models.network import Residual, Sequential
from onnx import numpy_helper

TOL = 1e-5


def randomise_bn(net, rng):
    """BN statistics as after training (the init values would make BN an identity)."""
    for _, layer in network.named_layers(net):
        if isinstance(layer, BatchNorm):
            c = layer.channels
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, c)
            layer.params["beta"][...] = rng.normal(0, 0.3, c)
            layer.state["running_mean"][...] = rng.normal(0, 0.3, c)
            layer.state["running_var"][...] = rng.uniform(0.5, 2.0, c)
    return net


def assert_parity(net, input_shape, rng, batch=7):
    """Export, check, run onnxruntime on NCHW input; compare with the NHWC NumPy eval."""
    model = export.to_onnx(net, input_shape)
    onnx.checker.check_model(model, full_check=True)
    x = rng.standard_normal((batch, *input_shape)).astype(np.float32)
    expected = net.forward(x, False)
    actual = export.run_onnxruntime(model, x.transpose(0, 3, 1, 2))
    assert actual.shape == expected.shape
    err = np.abs(actual - expected)
    idx = np.unravel_index(err.argmax(), err.shape)
    assert err.max() <= TOL, (
        f"max |ort - numpy| {err.max():.3g} at {idx}: expected {expected[idx]}, got {actual[idx]}"
    )
    return model


ZOO = {
    "mobilenetv2": lambda rng: zoo.mobilenetv2(0.5, 32, 10, stem_stride=2, last_channel=64,
                                               rng=rng),
    "mobilenetv2-odd": lambda rng: zoo.mobilenetv2(0.35, 17, 7, stem_stride=1, last_channel=32,
                                                   rng=rng),
    "xnornet": lambda rng: zoo.xnornet(16, 10, channels=(16, 24), pools=(True, True),
                                       stem_channels=8, rng=rng),
    "vgg": lambda rng: zoo.vgg_like(["conv_8", "pool", "conv_12", "conv_12", "pool", "FC_64"],
                                    8, 10, rng=rng),
    "vgg-odd": lambda rng: zoo.vgg_like(["conv_5", "pool", "conv_7", "FC_33"], 7, 3, rng=rng),
}  # fmt: skip


@pytest.mark.parametrize("batch", [1, 7], ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_models_match_onnxruntime(rng, name, batch):
    net = randomise_bn(ZOO[name](rng), rng)
    size = net.spec["input_size"]
    assert_parity(net, (size, size, 1), rng, batch)


def test_sign_of_zero_is_plus_one_in_onnxruntime(rng):
    net = Sequential([Sign(), Flatten()])
    model = export.to_onnx(net, (2, 3, 1))
    x = np.array([0.0, -0.0, 1e-30, -1e-30, 2.5, -3.0], np.float32).reshape(1, 1, 2, 3)
    y = export.run_onnxruntime(model, x)
    np.testing.assert_array_equal(y, [[1, 1, 1, -1, 1, -1]])


def initializers(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def producer_of(model, tensor):
    return next(n for n in model.graph.node if tensor in n.output)


def consumers_of(model, tensor):
    return [n for n in model.graph.node if tensor in n.input]


def test_xnor_encoding_is_the_fixed_one(rng):
    net = randomise_bn(ZOO["xnornet"](rng), rng)
    model = export.to_onnx(net, (16, 16, 1))
    inits = initializers(model)
    binary = [layer for _, layer in network.named_layers(net) if isinstance(layer, BinaryConv2D)]
    signs = [n for n in model.graph.node if n.op_type == "Where"]
    assert len(signs) == len(binary) == 2
    for where in signs:
        less = producer_of(model, where.input[0])
        assert less.op_type == "Less"
        assert inits[less.input[1]].shape == () and inits[less.input[1]] == 0.0
        assert inits[where.input[1]].shape == () and inits[where.input[1]] == -1.0
        assert inits[where.input[2]].shape == () and inits[where.input[2]] == 1.0
        (conv,) = consumers_of(model, where.output[0])
        assert conv.op_type == "Conv" and len(conv.input) == 2  # no bias
        (mul,) = consumers_of(model, conv.output[0])
        assert mul.op_type == "Mul"
        w, alpha = inits[conv.input[1]], inits[mul.input[1]]
        layer = binary[signs.index(where)]
        latent = layer.params["w"]  # [KH, KW, Cin, Cout]
        assert set(np.unique(w)) <= {-1.0, 1.0}
        # independent: sign with sign(0) = +1, transposed HWIO -> OIHW by index
        expected = np.where(latent >= 0, 1.0, -1.0)
        for o, i, kh, kw in [(0, 0, 0, 0), (3, 5, 2, 1), (w.shape[0] - 1, w.shape[1] - 1, 1, 2)]:
            assert w[o, i, kh, kw] == expected[kh, kw, i, o]
        assert alpha.shape == (1, latent.shape[3], 1, 1)
        np.testing.assert_allclose(alpha[0, :, 0, 0], np.abs(latent).mean(axis=(0, 1, 2)),
                                   rtol=1e-6)  # fmt: skip


def test_batchnorm_relu6_residual_are_kept_as_onnx_nodes(rng):
    net = ZOO["mobilenetv2"](rng)
    model = export.to_onnx(net, (32, 32, 1))
    ops = [n.op_type for n in model.graph.node]
    layers = [layer for _, layer in network.named_layers(net)]
    assert ops.count("BatchNormalization") == sum(isinstance(la, BatchNorm) for la in layers)
    assert ops.count("Clip") == sum(isinstance(la, ReLU6) for la in layers)
    residuals = [m for m in net.layers if isinstance(m, Residual)]
    assert ops.count("Add") == len(residuals) > 0
    inits = initializers(model)
    for clip in (n for n in model.graph.node if n.op_type == "Clip"):
        assert (inits[clip.input[1]], inits[clip.input[2]]) == (0.0, 6.0)
    depthwise = [n for n in model.graph.node if any(a.name == "group" for a in n.attribute)]
    assert len(depthwise) == sum(isinstance(la, DepthwiseConv2D) for la in layers)
    assert model.opset_import[0].version >= 13
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]] == [1, 32, 32]


def test_flatten_before_non_dense_uses_a_transpose(rng):
    net = randomise_bn(
        Sequential([Conv2D(2, 3, 3, rng=rng), Flatten(), BatchNorm(5 * 3 * 3), Dense(45, 4)]), rng
    )
    model = assert_parity(net, (5, 3, 2), rng)
    assert "Transpose" in [n.op_type for n in model.graph.node]


def test_flatten_before_binary_dense_permutes_its_rows(rng):
    net = randomise_bn(
        Sequential(
            [Conv2D(1, 4, 3, rng=rng), BatchNorm(4), Sign(), Flatten(), Dropout(0.3),
             BinaryDense(3 * 5 * 4, 6, rng=rng)]
        ),
        rng,
    )  # fmt: skip
    model = assert_parity(net, (3, 5, 1), rng)
    ops = [n.op_type for n in model.graph.node]
    assert "Transpose" not in ops and ops[-2:] == ["Gemm", "Mul"]


def test_every_layer_kind_matches_onnxruntime(rng):
    net = randomise_bn(
        Sequential(
            [
                Conv2D(3, 6, (3, 1), stride=(2, 1), padding=(1, 0, 0, 0), rng=rng),
                BatchNorm(6), ELU(0.7),
                DepthwiseConv2D(6, 3, 1, "same", multiplier=2, use_bias=True, rng=rng),
                ReLU6(),
                AvgPool(3, 2, padding=1),
                MaxPool(3, 1, padding=1),
                Residual(Sequential([Conv2D(12, 12, 1, rng=rng), ReLU()])),
                Dropout(0.5),
                GlobalAvgPool(),
                Dense(12, 5, rng=rng),
            ]
        ),
        rng,
    )  # fmt: skip
    for _, layer in network.named_layers(net):
        if "b" in layer.params:
            layer.params["b"][...] = rng.normal(0, 0.5, layer.params["b"].shape)
    assert_parity(net, (9, 7, 3), rng)


def test_metadata_round_trips_through_inputs_for_model(tmp_path, rng):
    net = ZOO["vgg"](rng)
    meta = export.metadata("vgg", "digits", 8, np.float32([0.3]), np.float32([0.4]), 10)
    export.export_onnx(net, tmp_path / "m.onnx", (8, 8, 1), meta)
    model = onnx.load(str(tmp_path / "m.onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    assert props == {
        "cnnc.model": "vgg",
        "cnnc.dataset": "digits",
        "cnnc.input_size": "8",
        "cnnc.norm_mean": json.dumps([float(np.float32(0.3))]),
        "cnnc.norm_std": json.dumps([float(np.float32(0.4))]),
        "cnnc.classes": "10",
    }
    x, y = inputs_for_model(props, "digits", "test")
    assert x.shape == (360, 1, 8, 8) and y.shape == (360,)


def test_unsupported_layer_is_named(rng):
    class Swish:
        params, grads, state = {}, {}, {}

        def output_shape(self, s):
            return s

    net = Sequential([Conv2D(1, 2, 3, rng=rng), Residual(Sequential([Swish()])), Flatten()])
    with pytest.raises(UnsupportedError, match=r"layer 1\.body\.0 \(Swish\) has no ONNX rule"):
        export.to_onnx(net, (3, 3, 1))


@pytest.mark.parametrize("name", sorted(zoo.MODELS))
def test_briefly_trained_default_models_match_onnxruntime_on_digits(name):
    """Trained weights and BN statistics (not just random ones), real preprocessed digits."""
    from cnnc.models import cli, data, train

    d = cli.DEFAULTS[name]
    dataset = data.load("digits", d.input_size)
    net = zoo.MODELS[name](d.input_size, 10, d.width, np.random.default_rng(0))
    _, pre = train.fit(net, dataset, train.TrainConfig(epochs=1), progress=False, max_steps=8)
    x = pre(dataset.x_test[:65])
    model = export.to_onnx(net, x.shape[1:])
    expected = net.forward(x, False)
    actual = export.run_onnxruntime(model, x.transpose(0, 3, 1, 2))
    err = np.abs(actual - expected)
    idx = np.unravel_index(err.argmax(), err.shape)
    assert err.max() <= TOL, f"at {idx}: expected {expected[idx]}, got {actual[idx]}"
