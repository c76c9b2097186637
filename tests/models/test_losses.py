"""Softmax cross-entropy and L1/L2 regularisation against hand-written formulas."""

import math

import numpy as np
import pytest
from cnnc.errors import CnncError, ShapeError
from cnnc.models import losses
from cnnc.models.gradcheck import numeric_grad, relative_error

from .test_layers import assert_close


def loop_cross_entropy(logits, labels):
    total = 0.0
    for row, label in zip(logits, labels, strict=True):
        total += math.log(math.fsum(math.exp(v) for v in row)) - row[label]
    return total / len(labels)


@pytest.mark.parametrize("classes", [pytest.param(k, id=f"k{k}") for k in (2, 3, 10, 17)])
@pytest.mark.parametrize("batch", [pytest.param(n, id=f"n{n}") for n in (1, 7, 33)])
def test_cross_entropy_matches_loops_and_its_gradient(batch, classes, rng):
    logits = rng.standard_normal((batch, classes)) * 3
    labels = rng.integers(0, classes, batch)
    loss, d = losses.softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(loop_cross_entropy(logits, labels), rel=1e-12)
    numeric = numeric_grad(lambda: losses.softmax_cross_entropy(logits, labels)[0], logits, 1e-6)
    assert relative_error(d, numeric) <= 1e-6
    assert_close(d.sum(axis=1), np.zeros(batch), 0, 1e-15, "softmax minus one-hot sums to 0")


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-3e4, 3e4, 3e4 - 1]], np.float32)
    loss, d = losses.softmax_cross_entropy(logits, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    # row 0 is certain and right (loss 0); row 1 puts e/(1+e) on class 1, 1/(1+e) on class 2
    assert loss == pytest.approx(math.log(1 + math.e) / 2, rel=1e-6)
    assert d.dtype == np.float32


def test_one_hot_labels_equal_index_labels(rng):
    logits = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    a = losses.softmax_cross_entropy(logits, labels)
    b = losses.softmax_cross_entropy(logits, np.eye(4)[labels])
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    assert_close(a[1], b[1], 1e-14, 1e-16, "dlogits")


@pytest.mark.parametrize(
    "labels,match",
    [
        pytest.param(np.array([0, 4]), "labels must lie", id="too-big"),
        pytest.param(np.array([0, -1]), "labels must lie", id="negative"),
        pytest.param(np.array([0, 1, 2]), "3 labels for 2 rows", id="count"),
        pytest.param(np.zeros((2, 3)), "fit neither", id="soft-shape"),
    ],
)
def test_bad_labels_are_shape_errors(labels, match):
    with pytest.raises(ShapeError, match=match):
        losses.softmax_cross_entropy(np.zeros((2, 4)), labels)


def test_l1_l2_penalties_and_gradients():
    a = np.array([[1.0, -2.0], [0.0, 3.0]])
    b = np.array([-0.5])
    assert losses.l2_penalty([a, b], 0.1) == pytest.approx(0.05 * (1 + 4 + 0 + 9 + 0.25))
    assert losses.l1_penalty([a, b], 0.1) == pytest.approx(0.1 * (1 + 2 + 0 + 3 + 0.5))
    np.testing.assert_array_equal(losses.l2_grad(a, 0.5), [[0.5, -1.0], [0.0, 1.5]])
    np.testing.assert_array_equal(losses.l1_grad(a, 0.5), [[0.5, -0.5], [0.0, 0.5]])


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularize_adds_gradient_in_place_and_matches_numeric(kind, rng):
    w = rng.standard_normal((3, 5))
    g = np.zeros_like(w)
    penalty = losses.regularize([(w, g)], kind, 0.3)
    fn = losses.l1_penalty if kind == "l1" else losses.l2_penalty
    assert penalty == pytest.approx(fn([w], 0.3))
    assert relative_error(g, numeric_grad(lambda: fn([w], 0.3), w, 1e-6)) <= 1e-6
    with pytest.raises(CnncError, match="unknown regulariser"):
        losses.regularize([(w, g)], "l3", 0.1)
