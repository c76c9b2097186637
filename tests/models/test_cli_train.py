"""`cnnc train` / `cnnc eval` functions: a short real run end to end, and bad input
ending in one clear error line."""

import argparse
import gzip
import json
import re

import numpy as np
import onnx
import pytest
from cnnc.errors import CnncError, DataError, ModelError, ShapeError
from cnnc.models import cli, export, train, zoo
from cnnc.models.data import load, load_digits


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch of the default VGG on digits through the CLI entry point."""
    out = tmp_path_factory.mktemp("train")
    argv = ["train", "vgg", "--epochs", "1", "--seed", "3", "-o", str(out / "vgg.onnx"),
            "--metrics", str(out / "m.json"), "--plot", str(out / "c.png"), "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    return out


def test_train_writes_model_metrics_and_plot(trained):
    metrics = json.loads((trained / "m.json").read_text())
    assert metrics["model"] == "vgg" and metrics["dataset"] == "digits"
    assert metrics["input_size"] == cli.DEFAULTS["vgg"].input_size
    assert len(metrics["history"]["val_acc"]) == 1
    assert metrics["test_accuracy"] > 0.5  # 10 classes; one epoch is far above chance
    assert metrics["onnx_max_abs_diff"] <= 1e-5
    assert (trained / "c.png").read_bytes()[:4] == b"\x89PNG"
    model = onnx.load(str(trained / "vgg.onnx"))
    onnx.checker.check_model(model)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["cnnc.model"] == "vgg" and props["cnnc.classes"] == "10"


def test_eval_matches_an_independent_evaluation(trained):
    acc = cli.evaluate_onnx(trained / "vgg.onnx", "digits")
    # independent path: preprocess the test split by hand from the metadata, run onnxruntime
    model = onnx.load(str(trained / "vgg.onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    size = int(props["cnnc.input_size"])
    d = load_digits(size)
    mean, std = json.loads(props["cnnc.norm_mean"])[0], json.loads(props["cnnc.norm_std"])[0]
    x = ((d.x_test - mean) / std).astype(np.float32).transpose(0, 3, 1, 2)
    logits = export.run_onnxruntime(model, x)
    assert acc == pytest.approx(float(np.mean(logits.argmax(1) == d.y_test)), abs=1e-12)
    assert acc == pytest.approx(json.loads((trained / "m.json").read_text())["onnx_test_accuracy"])


def run_main(argv, capsys):
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


def corrupt_mnist(folder):
    folder.mkdir()
    header = bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (folder / (stem + ".gz")).write_bytes(gzip.compress(header + bytes(100)))  # truncated
    for stem in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / (stem + ".gz")).write_bytes(
            gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 5]) + bytes(5))
        )


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dataset", "mnist:{tmp}/missing"], "MNIST folder .*missing does not exist"),
        (["--dataset", "mnist:{tmp}/corrupt"], "train-images-idx3-ubyte.gz: IDX header"),
        (["--dataset", "imagenet"], "unknown data set 'imagenet'"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--width", "-1"], "--width must be positive"),
        (["--input-size", "4"], "--input-size must be at least 8"),
        (["--optimizer", "lbfgs"], "unknown optimiser 'lbfgs'"),
        (["--resume"], "--resume needs --checkpoint"),
    ],
    ids=[
        "missing-mnist",
        "corrupt-idx",
        "bad-dataset",
        "epochs",
        "width",
        "size",
        "optimizer",
        "resume",
    ],  # fmt: skip
)
def test_train_bad_input_is_one_error_line(tmp_path, capsys, extra, message):
    corrupt_mnist(tmp_path / "corrupt")
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    argv = ["train", "vgg", "--epochs", "1", "-o", str(tmp_path / "m.onnx"), "--quiet", *extra]
    code, err = run_main(argv, capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "m.onnx").exists()


def test_train_output_folder_must_exist(tmp_path, capsys):
    code, err = run_main(["train", "vgg", "-o", str(tmp_path / "no" / "m.onnx")], capsys)
    assert code == 1 and "does not exist" in err


def test_run_train_rejects_unknown_model_name():
    args = argparse.Namespace(model="resnet50", epochs=None, width=None, input_size=None,
                              seed=0, output="x.onnx")  # fmt: skip
    with pytest.raises(CnncError, match="unknown model 'resnet50'; choose from mobilenetv2"):
        cli.run_train(args)


def test_eval_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelError, match="no such ONNX file"):
        cli.evaluate_onnx(tmp_path / "none.onnx", "digits")
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage" * 5)
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        cli.evaluate_onnx(tmp_path / "junk.onnx", "digits")


def test_eval_model_without_cnnc_metadata(tmp_path):
    net = zoo.vgg_like(["conv_4", "FC_8"], 8, 10)
    export.export_onnx(net, tmp_path / "plain.onnx", (8, 8, 1), meta={})
    with pytest.raises(DataError, match="lacks 'cnnc.input_size'"):
        cli.evaluate_onnx(tmp_path / "plain.onnx", "digits")


def test_eval_metadata_that_does_not_fit_the_graph(tmp_path):
    net = zoo.vgg_like(["conv_4", "FC_8"], 8, 10)
    meta = export.metadata("vgg", "digits", 16, [0.3], [0.3], 10)  # says 16, graph takes 8
    export.export_onnx(net, tmp_path / "m.onnx", (8, 8, 1), meta)
    with pytest.raises(ShapeError, match=r"expects shape \[None, 1, 8, 8\].*\[360, 1, 16, 16\]"):
        cli.evaluate_onnx(tmp_path / "m.onnx", "digits")


def test_main_eval_prints_accuracy(trained, capsys):
    assert cli.main(["eval", str(trained / "vgg.onnx"), "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("test accuracy 0.") or out.startswith("test accuracy 1.")


def test_resume_from_checkpoint_through_the_cli(tmp_path):
    base = ["train", "vgg", "--input-size", "8", "--width", "0.25", "--quiet", "--seed", "1",
            "--epochs", "2"]  # fmt: skip
    straight = [*base, "-o", str(tmp_path / "a.onnx"), "--metrics", str(tmp_path / "a.json")]
    assert cli.main(straight) == 0
    # interrupt the same run after its first epoch (what a killed process leaves behind) ...
    ckpt = tmp_path / "ck.npz"
    parser = argparse.ArgumentParser()
    cli.add_train_arguments(parser)
    args = parser.parse_args([*base[1:], "-o", "unused.onnx"])
    config, size, width = cli.train_config(args)
    data = load(args.dataset, size)
    net = zoo.MODELS["vgg"](size, 10, width, np.random.default_rng(config.seed))
    steps = -(-len(data.y_train) // config.batch_size)
    train.fit(net, data, config, checkpoint=ckpt, progress=False, max_steps=steps)
    assert json.loads(bytes(np.load(ckpt)["info"]))["epoch"] == 0
    # ... and resume it through the CLI: the exported model must be the same bytes
    resumed = [*base, "--checkpoint", str(ckpt), "--resume", "-o", str(tmp_path / "b.onnx"),
               "--metrics", str(tmp_path / "b.json")]  # fmt: skip
    assert cli.main(resumed) == 0
    a = {t.name: t.raw_data for t in onnx.load(str(tmp_path / "a.onnx")).graph.initializer}
    b = {t.name: t.raw_data for t in onnx.load(str(tmp_path / "b.onnx")).graph.initializer}
    assert a.keys() == b.keys() and a == b
    ha = json.loads((tmp_path / "a.json").read_text())["history"]
    hb = json.loads((tmp_path / "b.json").read_text())["history"]
    assert ha["train_loss"] == hb["train_loss"] and ha["val_acc"] == hb["val_acc"]


def test_train_on_an_mnist_folder(tmp_path, rng):
    """The mnist:DIR path end to end on a tiny IDX folder (random pixels, so no accuracy)."""
    folder = tmp_path / "mnist"
    folder.mkdir()

    def idx(arr):
        dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
        return bytes([0, 0, 8, arr.ndim]) + dims + arr.astype(np.uint8).tobytes()

    for part, n in (("train", 50), ("t10k", 17)):
        images = rng.integers(0, 256, (n, 28, 28))
        labels = rng.integers(0, 10, n)
        (folder / f"{part}-images-idx3-ubyte").write_bytes(idx(images))
        (folder / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(labels)))
    out = tmp_path / "m.onnx"
    argv = ["train", "vgg", "--dataset", f"mnist:{folder}", "--epochs", "1", "--width", "0.25",
            "-o", str(out), "--metrics", str(tmp_path / "m.json"), "--quiet"]  # fmt: skip
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["dataset"] == "mnist" and metrics["onnx_max_abs_diff"] <= 1e-5
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["cnnc.dataset"] == "mnist" and props["cnnc.input_size"] == "16"
    acc = cli.evaluate_onnx(out, f"mnist:{folder}")
    assert acc == pytest.approx(metrics["onnx_test_accuracy"])
