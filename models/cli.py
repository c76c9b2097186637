"""What `cnnc train` and `cnnc eval` call: argument definitions, training, evaluation.

The main CLI (``cnnc.cli``) adds ``add_train_arguments`` to its ``train``
sub-parser and calls ``run_train(args)``; ``cnnc eval MODEL.onnx --dataset D``
calls ``evaluate_onnx``. Both raise ``CnncError`` on bad input, which the main
CLI prints as one line. ``main`` here does the same for standalone use.

The defaults per model (``DEFAULTS``) are the settings whose digits test
accuracy the project reports; change them only with new measurements.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from cnnc.errors import CnncError, ModelError, ShapeError

from . import data as data_mod
from . import export, train, zoo
from .network import param_count


@dataclass(frozen=True)
class ModelDefaults:
    input_size: int
    width: float
    epochs: int
    lr: float
    batch_size: int = 32
    optimizer: str = "adam"
    lr_schedule: str = "cosine"
    shift: int = 2


DEFAULTS: dict[str, ModelDefaults] = {
    "mobilenetv2": ModelDefaults(input_size=32, width=0.5, epochs=20, lr=3e-3),
    "se_mobilenet": ModelDefaults(input_size=32, width=0.5, epochs=8, lr=3e-3),
    "resnet": ModelDefaults(input_size=16, width=1.0, epochs=10, lr=3e-3),
    "xnornet": ModelDefaults(input_size=16, width=1.0, epochs=20, lr=3e-3, shift=1),
    "vgg": ModelDefaults(input_size=16, width=1.0, epochs=15, lr=3e-3),
}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cnnc train`; unset options take the model's DEFAULTS."""
    parser.add_argument("model", choices=sorted(zoo.MODELS), help="network to train")
    parser.add_argument(
        "--dataset", default="digits", help="'digits' (bundled) or 'mnist:DIR' (IDX files in DIR)"
    )
    parser.add_argument("--epochs", type=int, help="training epochs (default: per model)")
    parser.add_argument("--width", type=float, help="width multiplier (default: per model)")
    parser.add_argument("--input-size", type=int, help="square input side in pixels")
    parser.add_argument("-o", "--output", required=True, help="ONNX file to write")
    parser.add_argument("--metrics", help="write per-epoch metrics and test accuracy as JSON")
    parser.add_argument("--plot", help="write the training curves as a PNG (needs matplotlib)")
    parser.add_argument("--seed", type=int, default=0, help="seed for init, shuffling, shifts")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default: per model)")
    parser.add_argument("--lr", type=float, help="initial learning rate (default: per model)")
    parser.add_argument("--optimizer", help="sgd|momentum|nesterov|adagrad|rmsprop|adam|amsgrad")
    parser.add_argument("--checkpoint", help="save a resumable .npz checkpoint after each epoch")
    parser.add_argument(
        "--resume", action="store_true", help="continue from --checkpoint if it exists"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")


def pick(value, default):
    return default if value is None else value


def train_config(args: argparse.Namespace) -> tuple[train.TrainConfig, int, float]:
    """(TrainConfig, input size, width) from args and the model's defaults, validated."""
    if args.model not in zoo.MODELS:
        raise CnncError(
            f"unknown model {args.model!r}; choose from {', '.join(sorted(zoo.MODELS))}"
        )
    d = DEFAULTS[args.model]
    config = train.TrainConfig(
        epochs=pick(args.epochs, d.epochs),
        batch_size=pick(getattr(args, "batch_size", None), d.batch_size),
        optimizer=pick(getattr(args, "optimizer", None), d.optimizer),
        lr=pick(getattr(args, "lr", None), d.lr),
        lr_schedule=d.lr_schedule,
        shift=d.shift,
        seed=pick(args.seed, 0),
    )
    size, width = pick(args.input_size, d.input_size), pick(args.width, d.width)
    if config.epochs < 1:
        raise CnncError(f"--epochs must be at least 1, got {config.epochs}")
    if config.batch_size < 1:
        raise CnncError(f"--batch-size must be at least 1, got {config.batch_size}")
    if not config.lr > 0:
        raise CnncError(f"--lr must be positive, got {config.lr}")
    if not width > 0:
        raise CnncError(f"--width must be positive, got {width}")
    if size < 8:
        raise ShapeError(f"--input-size must be at least 8 pixels, got {size}")
    return config, size, width


def run_train(args: argparse.Namespace) -> int:
    """Train, report test accuracy, export ONNX (checked against onnxruntime), write metrics."""
    config, size, width = train_config(args)
    out = Path(args.output)
    if not out.parent.is_dir():
        raise CnncError(f"-o {out}: folder {out.parent} does not exist")
    if getattr(args, "resume", False) and not getattr(args, "checkpoint", None):
        raise CnncError("--resume needs --checkpoint FILE to resume from")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise CnncError("--plot needs matplotlib: pip install 'cnnc[plot]'")
    dataset = data_mod.load(args.dataset, size)
    net = zoo.MODELS[args.model](
        size, dataset.num_classes, width, np.random.default_rng(config.seed)
    )
    progress = not getattr(args, "quiet", False)
    if progress:
        print(
            f"training {args.model} (width {width}, {size}x{size}, {param_count(net)} params) on "
            f"{dataset.name}: {len(dataset.y_train)} train / {len(dataset.y_val)} val / "
            f"{len(dataset.y_test)} test images, {config.epochs} epochs"
        )
    t0 = time.perf_counter()
    history, pre = train.fit(
        net,
        dataset,
        config,
        checkpoint=getattr(args, "checkpoint", None),
        resume=getattr(args, "resume", False),
        progress=progress,
    )
    seconds = time.perf_counter() - t0
    x_test = pre(dataset.x_test)
    logits = train.predict(net, x_test)
    test_acc = float(np.mean(logits.argmax(axis=1) == dataset.y_test))

    meta = export.metadata(args.model, dataset.name, size, pre.mean, pre.std, dataset.num_classes)
    model = export.export_onnx(net, out, x_test.shape[1:], meta)
    ort_logits = export.run_onnxruntime(model, x_test.transpose(0, 3, 1, 2))
    onnx_acc = float(np.mean(ort_logits.argmax(axis=1) == dataset.y_test))
    max_diff = float(np.max(np.abs(ort_logits - logits)))
    rel_diff = max_diff / max(float(np.max(np.abs(logits))), 1e-30)

    print(f"test accuracy {test_acc:.4f} (NumPy), {onnx_acc:.4f} (onnxruntime on {out})")
    print(
        f"onnxruntime vs NumPy max |logit difference| {max_diff:.2e} "
        f"({rel_diff:.1e} of max |logit|); trained in {seconds:.1f} s"
    )
    if args.metrics:
        train.write_metrics(
            args.metrics,
            {
                "model": args.model,
                "dataset": dataset.name,
                "input_size": size,
                "width": width,
                "params": param_count(net),
                "config": asdict(config),
                "history": asdict(history),
                "test_accuracy": test_acc,
                "onnx_test_accuracy": onnx_acc,
                "onnx_max_abs_diff": max_diff,
                "onnx_max_rel_diff": rel_diff,
                "train_seconds": seconds,
                "median_epoch_seconds": float(np.median(history.epoch_seconds)),
            },
        )
    if args.plot:
        train.plot_history(history, args.plot, title=f"{args.model} on {dataset.name}")
    return 0


def load_model(path: str | Path) -> onnx.ModelProto:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such ONNX file")
    try:
        return onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and others for a corrupt file
        raise ModelError(f"{path}: not a readable ONNX model ({type(err).__name__})") from None


def evaluate_onnx(path: str | Path, dataset: str, split: str = "test") -> float:
    """Accuracy of the exported model on dataset's split, executed by onnxruntime."""
    model = load_model(path)
    meta = {p.key: p.value for p in model.metadata_props}
    x, y = data_mod.inputs_for_model(meta, dataset, split)
    declared = model.graph.input[0].type.tensor_type.shape.dim
    want = [d.dim_value if d.HasField("dim_value") else None for d in declared]
    if len(want) != 4 or any(
        w not in (None, v) for w, v in zip(want[1:], x.shape[1:], strict=True)
    ):
        raise ShapeError(
            f"{path}: input {model.graph.input[0].name} expects shape {want}, "
            f"but {dataset} preprocessed for this model gives {list(x.shape)}"
        )
    logits = np.concatenate(
        [export.run_onnxruntime(model, x[i : i + 1000]) for i in range(0, len(x), 1000)]
    )
    if logits.ndim != 2 or logits.shape[0] != len(y):
        raise ShapeError(f"{path}: output has shape {logits.shape}, expected [{len(y)}, classes]")
    return float(np.mean(logits.argmax(axis=1) == y))


def main(argv: list[str] | None = None) -> int:
    """Standalone `python -m cnnc.models.cli {train ...|eval MODEL --dataset D}`."""
    parser = argparse.ArgumentParser(prog="python -m cnnc.models.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_arguments(sub.add_parser("train", help="train a zoo model and export ONNX"))
    ev = sub.add_parser("eval", help="test accuracy of an exported model (onnxruntime)")
    ev.add_argument("model_path")
    ev.add_argument("--dataset", default="digits")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return run_train(args)
        acc = evaluate_onnx(args.model_path, args.dataset)
        print(f"test accuracy {acc:.4f}")
        return 0
    except CnncError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
