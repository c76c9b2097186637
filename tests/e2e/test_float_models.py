"""The three zoo networks, briefly trained on digits, compile to float32 C that agrees
with the NumPy reference and with onnxruntime on the whole digits test split: outputs
within 1e-4 of the output range, and the same predicted class for every image."""

import cnnc
import numpy as np
import pytest
from cnnc import cli
from cnnc.models import data as data_mod
from cnnc.models import export, train, zoo
from cnnc.models.cli import DEFAULTS

TRAIN_STEPS = 20  # enough to leave chance level; the tests compare, they do not rank


@pytest.fixture(scope="module", params=["mobilenetv2", "xnornet", "vgg"])
def trained(request, tmp_path_factory):
    """(name, onnx model, x_test NCHW, y_test, NumPy-framework logits) of a trained net."""
    name = request.param
    d = DEFAULTS[name]
    dataset = data_mod.load("digits", d.input_size)
    net = zoo.MODELS[name](d.input_size, dataset.num_classes, d.width, np.random.default_rng(0))
    config = train.TrainConfig(epochs=1, lr=d.lr, shift=0, batch_size=32)
    _, pre = train.fit(net, dataset, config, progress=False, max_steps=TRAIN_STEPS)
    x_nhwc = pre(dataset.x_test)
    meta = export.metadata(name, "digits", d.input_size, pre.mean, pre.std, dataset.num_classes)
    model = export.to_onnx(net, x_nhwc.shape[1:], meta)
    x = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    return name, model, x, dataset.y_test, train.predict(net, x_nhwc)


def within_range_tolerance(actual, expected, what):
    span = float(expected.max() - expected.min())
    diff = np.abs(actual.astype(np.float64) - expected)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    assert diff[worst] <= 1e-4 * span, (
        f"{what}: max |diff| {diff[worst]:.3g} > 1e-4 x range {span:.3g} at {worst}: "
        f"expected {expected[worst]!r}, actual {actual[worst]!r}"
    )


@pytest.mark.slow
def test_c_agrees_with_reference_and_onnxruntime(trained, tmp_path):
    name, model, x, y, _ = trained
    compiled = cnnc.compile(model, tmp_path / name)
    y_c = compiled.run(x)
    y_ref = compiled.reference(x)
    y_ort = export.run_onnxruntime(model, x)
    assert y_c.shape == y_ort.shape == (len(y), 10)
    within_range_tolerance(y_c, y_ref, f"{name}: C vs reference")
    within_range_tolerance(y_c, y_ort, f"{name}: C vs onnxruntime")
    disagree = np.flatnonzero(y_c.argmax(axis=1) != y_ort.argmax(axis=1))
    assert disagree.size == 0, f"{name}: images {disagree[:10]} get another class in C"
    np.testing.assert_array_equal(y_c.argmax(axis=1), y_ref.argmax(axis=1))
    accuracy = float(np.mean(y_c.argmax(axis=1) == y))
    assert accuracy > 0.3, f"{name}: accuracy {accuracy:.3f}: training left chance level?"


@pytest.mark.slow
def test_cli_eval_reports_the_c_accuracy(trained, tmp_path, capsys):
    name, model, x, y, framework_logits = trained
    compiled = cnnc.compile(model, tmp_path / name)
    assert cli.main(["eval", str(tmp_path / name), "--dataset", "digits"]) == 0
    printed = capsys.readouterr().out
    expected = float(np.mean(compiled.run(x).argmax(axis=1) == y))
    assert f"test accuracy {expected:.4f}" in printed
    # and the C's predictions are the training framework's own predictions
    framework = float(np.mean(framework_logits.argmax(axis=1) == y))
    assert abs(expected - framework) <= 1 / len(y)
