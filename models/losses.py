"""Softmax cross-entropy and L1/L2 regularisation."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from cnnc.errors import CnncError, ShapeError


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log softmax of [N, K], shifted by the row max so exp never overflows."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(logits))


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against the labels, and dloss/dlogits.

    logits [N, K]; labels either int class indices [N] or target distributions [N, K]
    (one-hot or soft). Returns (loss, dlogits [N, K] in the logits' dtype) with
    dlogits = (softmax(logits) - target) / N.
    """
    if logits.ndim != 2:
        raise ShapeError(f"softmax_cross_entropy: logits must be [N, K], got {logits.shape}")
    n, k = logits.shape
    labels = np.asarray(labels)
    logp = log_softmax(logits)
    if labels.ndim == 1:
        if labels.shape[0] != n:
            raise ShapeError(f"softmax_cross_entropy: {labels.shape[0]} labels for {n} rows")
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ShapeError(
                f"softmax_cross_entropy: labels must lie in [0, {k}), got "
                f"[{labels.min()}, {labels.max()}]"
            )
        target = np.zeros_like(logp)
        target[np.arange(n), labels] = 1
    elif labels.shape == logits.shape:
        target = labels.astype(logp.dtype)
    else:
        raise ShapeError(
            f"softmax_cross_entropy: labels {labels.shape} fit neither [N] nor {logits.shape}"
        )
    loss = -float(np.sum(target * logp)) / n
    dlogits = (np.exp(logp) - target) / n
    return loss, dlogits.astype(logits.dtype, copy=False)


def l2_penalty(arrays: Iterable[np.ndarray], lam: float) -> float:
    """lam / 2 * sum of squares (its gradient is lam * w)."""
    return 0.5 * lam * sum(float(np.sum(np.square(w, dtype=np.float64))) for w in arrays)


def l2_grad(w: np.ndarray, lam: float) -> np.ndarray:
    return lam * w


def l1_penalty(arrays: Iterable[np.ndarray], lam: float) -> float:
    """lam * sum of absolute values (its subgradient is lam * sign(w), 0 at 0)."""
    return lam * sum(float(np.sum(np.abs(w), dtype=np.float64)) for w in arrays)


def l1_grad(w: np.ndarray, lam: float) -> np.ndarray:
    return lam * np.sign(w)


REGULARIZERS = {"l1": (l1_penalty, l1_grad), "l2": (l2_penalty, l2_grad)}


def regularize(pairs: Iterable[tuple[np.ndarray, np.ndarray]], kind: str, lam: float) -> float:
    """Add the penalty's gradient to each grad in place; return the penalty.

    pairs: (param, grad) for the arrays to regularise (typically conv/dense weights).
    """
    if kind not in REGULARIZERS:
        raise CnncError(f"unknown regulariser {kind!r}; choose from {sorted(REGULARIZERS)}")
    penalty_fn, grad_fn = REGULARIZERS[kind]
    pairs = list(pairs)
    for w, g in pairs:
        g += grad_fn(w, lam).astype(g.dtype, copy=False)
    return penalty_fn((w for w, _ in pairs), lam)
