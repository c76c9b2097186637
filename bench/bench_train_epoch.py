"""Seconds per training epoch of the default digits MobileNetV2 (`cnnc train mobilenetv2`).

Prints one table: the median (and min/max) wall-clock seconds of several epochs
(each epoch includes its validation pass), for
  - the default MobileNetV2 as `cnnc train` runs it (one BLAS thread),
  - the same with OpenBLAS's default thread count (why training pins one thread),
  - the baseline measured in the same run: the default VGG-like net (the seed's
    network), so the ratio column is comparable across machines and loads.
The budget is 30 s per MobileNetV2 epoch on a 2-core machine.

    .venv/bin/python bench/bench_train_epoch.py [--epochs 3]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from cnnc.models import cli, data, train, zoo

BUDGET_SECONDS = 30.0


def epoch_seconds(model: str, epochs: int, blas_threads: int | None) -> list[float]:
    parser = argparse.ArgumentParser()
    cli.add_train_arguments(parser)
    args = parser.parse_args([model, "-o", "unused.onnx", "--epochs", str(epochs)])
    config, size, width = cli.train_config(args)
    config.blas_threads = blas_threads
    dataset = data.load(args.dataset, size)
    net = zoo.MODELS[model](size, dataset.num_classes, width, np.random.default_rng(config.seed))
    history, _ = train.fit(net, dataset, config, progress=False)
    return history.epoch_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per row")
    args = parser.parse_args()
    rows = [
        ("vgg (baseline)", "vgg", 1),
        ("mobilenetv2 (cnnc train default)", "mobilenetv2", 1),
        ("mobilenetv2, BLAS default threads", "mobilenetv2", None),
    ]
    load = os.getloadavg()[0]
    print(f"digits, {args.epochs} epochs per row, {os.cpu_count()} CPUs, load average {load:.1f}")
    header = f"{'configuration':36} {'median s':>9} {'min s':>7} {'max s':>7} {'x baseline':>10}"
    print(header)
    print("-" * len(header))
    baseline = None
    for label, model, threads in rows:
        secs = epoch_seconds(model, args.epochs, threads)
        med = float(np.median(secs))
        baseline = baseline or med
        print(f"{label:36} {med:9.2f} {min(secs):7.2f} {max(secs):7.2f} {med / baseline:10.2f}")
    print(f"budget: {BUDGET_SECONDS:.0f} s per MobileNetV2 epoch")


if __name__ == "__main__":
    main()
