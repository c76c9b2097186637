"""Numerical gradient check for anything that follows the layer protocol.

The scalar checked is L = sum(forward(x) * r) with a fixed random projection r, so
backward(r) must return dL/dx and fill grads with dL/dparam. The numerical side uses
central differences in float64. Works on single layers and on containers/blocks that
expose the same `params`/`grads`/`forward`/`backward` protocol (and `children()`).
Binary networks: see `ste=True` in `gradcheck`.

Error measure: for each array, max|analytic - numeric| / max(max|analytic|, max|numeric|,
FLOOR * G), G the largest analytic gradient magnitude over all arrays of the check.
Element-wise ratios blow up where the true gradient is ~0 (dead ReLUs, pooled-away
pixels), so the error is taken relative to the array's gradient scale instead. The floor
exists because finite-difference noise is absolute (about eps * |L| / h): an array whose
whole gradient is nearly zero — e.g. the gamma of a BN whose channel reaches the next BN
through a per-channel linear path, which normalises its scale away (the expand BN of a
MobileNetV2 block) — would otherwise be judged by that noise alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import numpy as np

from .binary import BinaryConv2D, BinaryDense, Sign, sign
from .layers import conv2d_forward

FLOOR = 1e-3  # arrays are judged at least against FLOOR * the largest gradient in the check


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 0.0) -> float:
    """max|a - n| / max(max|a|, max|n|, floor); 0 when the denominator is 0."""
    scale = max(
        float(np.max(np.abs(analytic), initial=0.0)),
        float(np.max(np.abs(numeric), initial=0.0)),
        floor,
    )
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(analytic - numeric))) / scale


def numeric_grad(f: Callable[[], float], arr: np.ndarray, h: float) -> np.ndarray:
    """Central differences of the scalar f() with respect to every element of arr (in place)."""
    if not arr.flags.c_contiguous:
        raise TypeError("numeric_grad perturbs arr in place and needs a C-contiguous array")
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


def leaves(module) -> Iterator:
    """Leaf layers of a module: containers expose `children()` -> [(name, child)]."""
    children = getattr(module, "children", None)
    if callable(children):
        for _, child in children():
            yield from leaves(child)
    else:
        yield module


@contextmanager
def recording_sign_inputs(module, record: dict[int, np.ndarray]):
    """Record (a copy of) the input each Sign layer sees, keyed by id(layer)."""
    signs = [leaf for leaf in leaves(module) if isinstance(leaf, Sign)]
    try:
        for leaf in signs:

            def forward(x, train, leaf=leaf):
                record[id(leaf)] = np.array(x, copy=True)
                return type(leaf).forward(leaf, x, train)

            leaf.forward = forward
        yield
    finally:
        for leaf in signs:
            del leaf.forward


@contextmanager
def ste_linearized(module, sign_inputs: dict[int, np.ndarray], latent0: dict[int, np.ndarray]):
    """Replace Sign and binary layers by the smooth functions whose exact gradient at the
    base point is the STE gradient, with the same value there:

        Sign:    x -> sign(x0) + 1{|x0| <= 1} * (x - x0)
        binary:  w -> alpha~(w) * sign(w0) + alpha(w0) * 1{|w0| <= 1} * (w - w0),
                 alpha~(w) = mean over the channel of (|w| where |w0| <= 1 else |w0|)

    (x0, w0: the input and latent weights at the base point). Central differences of the
    network with these stand-ins check the analytic STE backward exactly.
    """
    patched = []
    try:
        for leaf in leaves(module):
            if isinstance(leaf, Sign):
                x0 = sign_inputs[id(leaf)]
                s0, m0 = sign(x0), (np.abs(x0) <= 1)

                def forward(x, train, s0=s0, m0=m0, x0=x0):
                    return s0 + m0 * (x - x0)

            elif isinstance(leaf, (BinaryConv2D, BinaryDense)):
                w0 = latent0[id(leaf)]

                def forward(x, train, leaf=leaf, w0=w0):
                    w = leaf.params["w"]
                    axes = tuple(range(w.ndim - 1))
                    m0 = np.abs(w0) <= 1
                    alpha = np.mean(np.where(m0, np.abs(w), np.abs(w0)), axis=axes)
                    alpha0 = np.mean(np.abs(w0), axis=axes)
                    weff = alpha * sign(w0) + alpha0 * m0 * (w - w0)
                    if isinstance(leaf, BinaryDense):
                        return x @ weff
                    return conv2d_forward(x, weff, leaf.stride, leaf.padding)[0]

            else:
                continue
            leaf.forward = forward
            patched.append(leaf)
        yield
    finally:
        for leaf in patched:
            del leaf.forward


def gradcheck(
    layer,
    x: np.ndarray,
    rng: np.random.Generator,
    h: float = 1e-5,
    train: bool = True,
    before_forward: Callable[[], None] | None = None,
    ste: bool = False,
) -> dict[str, float]:
    """Relative errors of the layer's backward for its input ("x") and each param.

    `layer` is a layer or a container (anything with params/grads/forward/backward) and
    must hold float64 params; `x` is converted to float64. `before_forward` runs before
    every forward (e.g. to reseed a Dropout so each pass draws the same mask).
    BatchNorm's running statistics drift during the check; that does not change the
    train-mode function being checked.

    ste=True checks networks with Sign / binary layers: the numeric side then uses the
    STE linearisations of `ste_linearized`, so the check is exact for the STE backward.
    Max-pooling right after a binary conv sees ties (its outputs are alpha * integers),
    where neither side is well defined; check such blocks without the pool.
    """
    x = np.array(x, dtype=np.float64)
    for name, p in layer.params.items():
        if p.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 params; {name} is {p.dtype}")

    def run(inp):
        if before_forward is not None:
            before_forward()
        return layer.forward(inp, train)

    sign_inputs: dict[int, np.ndarray] = {}
    latent0 = {
        id(leaf): leaf.params["w"].copy()
        for leaf in leaves(layer)
        if isinstance(leaf, (BinaryConv2D, BinaryDense))
    }
    with recording_sign_inputs(layer, sign_inputs) if ste else nullcontext():
        y = run(x)
    r = rng.standard_normal(y.shape)
    dx = layer.backward(r)
    analytic = {"x": np.array(dx, dtype=np.float64)}
    analytic.update({k: np.array(g, dtype=np.float64) for k, g in layer.grads.items()})

    def loss() -> float:
        return float(np.sum(run(x) * r))

    floor = FLOOR * max(float(np.max(np.abs(a), initial=0.0)) for a in analytic.values())
    with ste_linearized(layer, sign_inputs, latent0) if ste else nullcontext():
        errors = {"x": relative_error(analytic["x"], numeric_grad(loss, x, h), floor)}
        for name, p in layer.params.items():
            errors[name] = relative_error(analytic[name], numeric_grad(loss, p, h), floor)
    return errors


def max_error(errors: dict[str, float]) -> float:
    return max(errors.values())
