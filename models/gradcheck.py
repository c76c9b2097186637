"""Numerical gradient check for anything that follows the layer protocol.

The scalar checked is L = sum(forward(x) * r) with a fixed random projection r, so
backward(r) must return dL/dx and fill grads with dL/dparam. The numerical side uses
central differences in float64. Works on single layers and on containers/blocks that
expose the same `params`/`grads`/`forward`/`backward` protocol.

Error measure: for each array, max|analytic - numeric| / max(max|analytic|, max|numeric|).
Element-wise ratios blow up where the true gradient is ~0 (dead ReLUs, pooled-away
pixels), so the error is taken relative to the array's gradient scale instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max|a - n| / max(max|a|, max|n|); 0 when both are all zero."""
    scale = max(
        float(np.max(np.abs(analytic), initial=0.0)), float(np.max(np.abs(numeric), initial=0.0))
    )
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric))) / scale


def numeric_grad(f: Callable[[], float], arr: np.ndarray, h: float) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of arr (in place)."""
    g = np.zeros_like(arr, dtype=np.float64)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        fp = f()
        flat[k] = old - h
        fm = f()
        flat[k] = old
        gflat[k] = (fp - fm) / (2 * h)
    return g


def gradcheck(
    layer,
    x: np.ndarray,
    rng: np.random.Generator,
    h: float = 1e-5,
    train: bool = True,
    before_forward: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Relative errors of the layer's backward for its input ("x") and each param.

    `layer` must hold float64 params; `x` is converted to float64. `before_forward`
    runs before every forward (e.g. to reseed a Dropout so each pass draws the same
    mask). BatchNorm's running statistics drift during the check; that does not
    change the train-mode function being checked.
    """
    x = np.array(x, dtype=np.float64)
    for name, p in layer.params.items():
        if p.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 params; {name} is {p.dtype}")

    def run(inp):
        if before_forward is not None:
            before_forward()
        return layer.forward(inp, train)

    y = run(x)
    r = rng.standard_normal(y.shape)
    dx = layer.backward(r)
    analytic = {"x": np.array(dx, dtype=np.float64)}
    analytic.update({k: np.array(g, dtype=np.float64) for k, g in layer.grads.items()})

    def loss() -> float:
        return float(np.sum(run(x) * r))

    errors = {"x": relative_error(analytic["x"], numeric_grad(loss, x, h))}
    for name, p in layer.params.items():
        errors[name] = relative_error(analytic[name], numeric_grad(loss, p, h))
    return errors


def max_error(errors: dict[str, float]) -> float:
    return max(errors.values())
