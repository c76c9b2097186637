"""int8 builds of the zoo networks, end to end: ONNX -> quantise -> C -> cffi.

- the C output equals the NumPy reference bit for bit on 200 digits images, in both
  rounding modes, and so does every layer's output (the per-layer check finds the first
  differing layer);
- the int8 weight blob is at most 0.27x the float32 blob;
- (slow) trained MobileNetV2 and VGG-like lose at most 0.5 accuracy points on the digits
  test split and agree with the float top-1 on >= 99 % of the images.
"""

import cnnc
import numpy as np
import pytest
from cnnc.models import data as data_mod
from cnnc.models import export, train, zoo
from cnnc.models.cli import DEFAULTS

MODELS = ["mobilenetv2", "vgg"]


def exported(name: str, seed: int = 0, net=None, pre=None):
    """The zoo network (untrained unless ``net`` is given) as ONNX, with its digits inputs."""
    d = DEFAULTS[name]
    dataset = data_mod.load("digits", d.input_size)
    if net is None:
        net = zoo.MODELS[name](d.input_size, dataset.num_classes, d.width,
                               np.random.default_rng(seed))  # fmt: skip
    if pre is None:
        pre = train.Preprocess(*data_mod.channel_stats(dataset.x_train))
    meta = export.metadata(name, "digits", d.input_size, pre.mean, pre.std, dataset.num_classes)
    model = export.to_onnx(net, (d.input_size, d.input_size, 1), meta)
    x_train = pre(dataset.x_train).transpose(0, 3, 1, 2)
    x_test = pre(dataset.x_test).transpose(0, 3, 1, 2)
    return model, np.ascontiguousarray(x_train), np.ascontiguousarray(x_test), dataset.y_test


def first_difference(want: np.ndarray, got: np.ndarray) -> str:
    bad = np.argwhere(want != got)
    if not bad.size:
        return ""
    i = tuple(bad[0])
    return f"{len(bad)} differ, first at {i}: expected {want[i]!r}, actual {got[i]!r}"


@pytest.fixture(scope="module", params=MODELS)
def model_and_data(request):
    return request.param, exported(request.param)


@pytest.mark.parametrize("rounding", ["single", "double"])
def test_int8_c_is_bit_exact_on_200_inputs(model_and_data, tmp_path, rounding):
    name, (model, x_train, x_test, _) = model_and_data
    cm = cnnc.compile(model, tmp_path / name, precision="int8", calibration=x_train[:96],
                      rounding=rounding)  # fmt: skip
    x = np.concatenate([x_test, x_train])[:200]
    assert len(x) == 200
    y_c, y_ref = cm.run(x), cm.reference(x)
    assert y_c.dtype == np.float32 and y_c.shape == (200, 10)
    assert not first_difference(y_ref, y_c), first_difference(y_ref, y_c)
    assert len(np.unique(y_c.argmax(axis=1))) > 1, "degenerate model: one class everywhere"


def test_every_int8_layer_is_bit_exact(model_and_data, tmp_path):
    """C's output of each layer (raw int8 bytes) equals the reference tensor's bytes."""
    name, (model, x_train, x_test, _) = model_and_data
    cm = cnnc.compile(model, tmp_path / name, precision="int8", calibration=x_train[:64],
                      rounding="double")  # fmt: skip
    x = x_test[:2]
    values = cm.reference_all(x)
    int8_layers = 0
    for n, node in enumerate(cm.graph.nodes, start=1):
        out = node.outputs[0]
        got = cm.run_layers(x, n)
        for s in range(len(x)):
            want = np.ascontiguousarray(values[out][s]).tobytes()
            assert got[s] == want, f"{name}: first differing layer {n} ({node.name}, {node.op})"
        int8_layers += cm.graph.tensors[out].dtype == "int8"
    assert int8_layers >= 8


@pytest.mark.parametrize("name", MODELS)
def test_int8_blob_size(tmp_path, name):
    """int8 stores 1 byte per weight plus, per output channel, an int32 bias, Q31
    multiplier and shift (12 bytes); float32 stores 4 bytes per weight and bias. VGG-like
    (170 channels for 49680 weights) stays under 0.27x; the small MobileNetV2 has 2114
    channels for 65232 weights (depthwise layers: 9 weights per channel), so even the
    int32 biases alone put it at 0.273x: there the blob must hold exactly the scheme's
    bytes (plus at most 64 bytes of alignment per section)."""
    model, x_train, _, _ = exported(name)
    f32 = cnnc.compile(model, tmp_path / "f32", precision="float32")
    s8 = cnnc.compile(model, tmp_path / "s8", precision="int8", calibration=x_train[:32])
    f32_bytes = (tmp_path / "f32" / "weights.bin").stat().st_size
    s8_bytes = (tmp_path / "s8" / "weights.bin").stat().st_size
    weighted = [n for n in s8.graph.nodes if n.op in ("s8_conv2d", "s8_dense")]
    weights = sum(s8.graph.tensors[n.inputs[1]].size for n in weighted)
    channels = sum(s8.graph.tensors[n.inputs[2]].size for n in weighted)
    sections = sum(1 for t in s8.graph.tensors.values() if t.is_const) + 1
    assert s8_bytes <= weights + 12 * channels + 64 * sections
    float_weights = sum(t.size for t in f32.graph.tensors.values() if t.is_const)
    assert f32_bytes >= 4 * float_weights
    ratio = s8_bytes / f32_bytes
    print(f"{name}: int8 blob {s8_bytes} B / float32 blob {f32_bytes} B = {ratio:.3f}")
    if name == "vgg":
        assert ratio <= 0.27, f"{name}: int8 blob is {ratio:.3f} of the float32 blob"
    else:
        assert ratio <= (weights + 12 * channels + 64 * sections) / (4 * float_weights)


# ------------------------------------------------------------------ trained accuracy


@pytest.fixture(scope="module")
def trained(request):
    """name -> (float ONNX model, calibration x, test x, test y), trained on digits with the
    zoo defaults (the settings the project reports; about a minute per network)."""
    out = {}
    for name in MODELS:
        d = DEFAULTS[name]
        dataset = data_mod.load("digits", d.input_size)
        net = zoo.MODELS[name](d.input_size, dataset.num_classes, d.width,
                               np.random.default_rng(0))  # fmt: skip
        config = train.TrainConfig(epochs=d.epochs, batch_size=d.batch_size, lr=d.lr,
                                   optimizer=d.optimizer, lr_schedule=d.lr_schedule,
                                   shift=d.shift, seed=0)  # fmt: skip
        _, pre = train.fit(net, dataset, config, progress=False)
        out[name] = exported(name, net=net, pre=pre)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_trained_int8_keeps_float_accuracy(trained, tmp_path, name):
    model, x_train, x_test, y_test = trained[name]
    f32 = cnnc.compile(model, tmp_path / "f32", precision="float32")
    s8 = cnnc.compile(model, tmp_path / "s8", precision="int8", calibration=x_train[:256],
                      rounding="double")  # fmt: skip
    top_f = f32.reference(x_test).argmax(axis=1)
    top_q = s8.run(x_test).argmax(axis=1)  # the C
    acc_f, acc_q = np.mean(top_f == y_test), np.mean(top_q == y_test)
    agree = np.mean(top_f == top_q)
    print(f"{name}: float {acc_f:.4f} int8 {acc_q:.4f} top-1 agreement {agree:.4f}")
    assert acc_f > 0.95, f"{name} did not train: float accuracy {acc_f:.3f}"
    assert acc_q >= acc_f - 0.005, (acc_f, acc_q)
    assert agree >= 0.99, agree
