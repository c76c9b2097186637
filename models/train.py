"""The training loop: shuffled mini-batches, per-epoch accuracy, checkpoints, curves.

Preprocessing order, shared with ``data.inputs_for_model`` and the exported
metadata: images in [0, 1] -> (training only) random shift with zero fill ->
per-channel normalisation with the training split's mean and std.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import data as data_mod
from . import losses, optim
from .layers import Dropout
from .network import load_checkpoint, named_layers, named_params, save_checkpoint


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "adam"  # a name in optim's registry
    lr: float = 3e-3
    lr_schedule: str = "cosine"  # "constant" | "cosine" | "exponential" | "step"
    weight_decay: float = 0.0  # L2 on conv/dense weights
    shift: int = 2  # random-shift augmentation, pixels at the input size
    seed: int = 0
    eval_batch: int = 256
    # BLAS threads during training. The matrices here are small, so one thread loses
    # little on an idle machine, and on a shared one it avoids OpenBLAS threads
    # spin-waiting for each other (measured 10x slower epochs at load 13 on 2 cores).
    blas_threads: int | None = 1


@dataclass
class History:
    """One entry per epoch. Training loss and accuracy are running means over the epoch's
    (augmented, train-mode) batches; validation accuracy is an eval-mode pass at its end."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # wall clock, incl. validation


@dataclass
class Preprocess:
    """Per-channel normalisation fixed by the training split."""

    mean: np.ndarray  # [C]
    std: np.ndarray  # [C]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return data_mod.normalize(x, self.mean, self.std)


def predict(net: Any, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """Eval-mode logits for already preprocessed NHWC inputs."""
    outs = [net.forward(x[i : i + batch], False) for i in range(0, len(x), batch)]
    return np.concatenate(outs, axis=0)


def accuracy(net: Any, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    return float(np.mean(predict(net, x, batch).argmax(axis=1) == y))


def dropout_layers(net: Any) -> list[Any]:
    """Layers drawing random masks; their generators are checkpointed for an exact resume."""
    return [layer for _, layer in named_layers(net) if isinstance(layer, Dropout)]


def lr_at(config: TrainConfig, epoch: int) -> float:
    """Learning rate for a 0-based epoch."""
    return optim.schedule_lr(config.lr_schedule, config.lr, epoch, config.epochs)


def train_step(net: Any, opt: Any, x: np.ndarray, y: np.ndarray, config: TrainConfig):
    """One mini-batch: forward, loss, backward, update. Returns (loss, correct count)."""
    logits = net.forward(x, True)
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    net.backward(dlogits)
    params = list(named_params(net))
    if config.weight_decay:
        loss += optim.add_weight_decay(params, config.weight_decay)
    opt.step(params)
    return float(loss), int(np.sum(logits.argmax(axis=1) == y))


def fit(
    net: Any,
    dataset: data_mod.Dataset,
    config: TrainConfig,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    max_steps: int | None = None,
) -> tuple[History, Preprocess]:
    """Train net on dataset's train split; validate each epoch; checkpoint after each epoch.

    With ``resume`` and an existing checkpoint, training continues after the
    last completed epoch with the optimiser state and shuffling RNG restored,
    so the next step is the one an uninterrupted run would have taken.
    ``max_steps`` stops early (tests).
    """
    with blas_thread_limit(config.blas_threads):
        return fit_epochs(net, dataset, config, checkpoint, resume, progress, max_steps)


def blas_thread_limit(threads: int | None):
    """Context limiting BLAS threads (threadpoolctl, shipped with scikit-learn); no-op without."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def fit_epochs(
    net: Any,
    dataset: data_mod.Dataset,
    config: TrainConfig,
    checkpoint: str | Path | None,
    resume: bool,
    progress: bool,
    max_steps: int | None,
) -> tuple[History, Preprocess]:
    """The body of ``fit`` (which only adds the BLAS thread limit around it)."""
    pre = Preprocess(*data_mod.channel_stats(dataset.x_train))
    x_val = pre(dataset.x_val)
    opt = optim.make(config.optimizer, lr=config.lr)
    rng = np.random.default_rng(config.seed)
    history = History()
    start = 0
    if resume and checkpoint and Path(checkpoint).exists():
        extra, info = load_checkpoint(checkpoint, net)
        opt.load_state(extra)
        rng.bit_generator.state = info["rng"]
        for layer, state in zip(dropout_layers(net), info["dropout_rng"], strict=True):
            layer.rng.bit_generator.state = state
        history = History(**info["history"])
        start = info["epoch"] + 1
    n = len(dataset.y_train)
    steps = 0
    for epoch in range(start, config.epochs):
        t0 = time.perf_counter()
        opt.lr = lr_at(config, epoch)
        order = rng.permutation(n)
        total_loss = correct = 0.0
        seen = 0
        batches = range(0, n, config.batch_size)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            disable=not progress,
            leave=False,
            unit="batch",
        )
        for i in bar:
            idx = order[i : i + config.batch_size]
            xb = data_mod.random_shift(dataset.x_train[idx], config.shift, rng)
            loss, ok = train_step(net, opt, pre(xb), dataset.y_train[idx], config)
            total_loss += loss * len(idx)
            correct += ok
            seen += len(idx)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
            steps += 1
            if max_steps is not None and steps >= max_steps:
                break
        val = accuracy(net, x_val, dataset.y_val, config.eval_batch)
        history.train_loss.append(total_loss / seen)
        history.train_acc.append(correct / seen)
        history.val_acc.append(val)
        history.lr.append(opt.lr)
        history.epoch_seconds.append(time.perf_counter() - t0)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{config.epochs}: loss {total_loss / seen:.4f} "
                f"train acc {correct / seen:.4f} val acc {val:.4f} "
                f"({history.epoch_seconds[-1]:.1f} s)"
            )
        if checkpoint:
            info = {
                "epoch": epoch,
                "rng": rng.bit_generator.state,
                "dropout_rng": [layer.rng.bit_generator.state for layer in dropout_layers(net)],
                "history": asdict(history),
                "config": asdict(config),
            }
            save_checkpoint(checkpoint, net, extra=opt.state_arrays(), info=info)
        if max_steps is not None and steps >= max_steps:
            break
    return history, pre


def write_metrics(path: str | Path, metrics: dict) -> None:
    Path(path).write_text(json.dumps(metrics, indent=2) + "\n")


def plot_history(history: History, path: str | Path, title: str = "") -> None:
    """Training curves (loss; train and validation accuracy) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history.train_loss) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, history.train_loss, marker="o")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_acc.plot(epochs, history.train_acc, marker="o", label="train")
    ax_acc.plot(epochs, history.val_acc, marker="s", label="validation")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
