"""XNOR-Net layers: sign activation and binary conv/dense with real-valued latent weights.

Forward conventions (these are what the ONNX export and the compiler reproduce):
    sign(v) = +1 if v >= 0 else -1            (sign(0) = +1, unlike ONNX Sign)
    alpha[o] = mean |w[..., o]|               over KH, KW, Cin (conv) or K (dense)
    y = alpha * conv(x, sign(w))              no bias; alpha applied after the sum, as the
                                              exported Conv(x, S) -> Mul(alpha) does

Straight-through estimator (STE): sign'(v) is replaced by 1{|v| <= 1}.

Latent-weight gradient. With G = dL/dW~ the ordinary conv weight gradient for the
effective weight W~ = alpha * sign(w), and n = KH*KW*Cin (or K), the chain rule through
both factors — d alpha / d w_i = sign(w_i) / n and d sign(w_i) / d w_i ~ STE — gives

    dL/dw_i = 1{|w_i| <= 1} * ( alpha_o * G_i  +  sign(w_i) / n * sum_j G_j sign(w_j) )

with the sum over the n weights of output channel o. The whole gradient is zeroed where
|w_i| > 1 (those latent weights are saturated; `clip_latent()` after each optimiser step
keeps them in [-1, 1]). This is the exact derivative of alpha * sign(w) under the STE,
including the alpha term, rather than the paper's simplified G * (1/n + alpha * STE).
"""

from __future__ import annotations

import numpy as np
from cnnc.errors import ShapeError

from .layers import (
    _take,
    check_input,
    conv2d_dgrad,
    conv2d_forward,
    conv2d_wgrad,
    he_normal,
    set_grad,
    window_attrs,
    window_output_shape,
)


def sign(v: np.ndarray) -> np.ndarray:
    """+1 where v >= 0, -1 elsewhere, in v's dtype (sign(0) = +1)."""
    return np.where(v >= 0, 1, -1).astype(v.dtype)


def latent_grad(w: np.ndarray, g: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """dL/dw from G = dL/dW~ for W~ = alpha * sign(w); the output channel is the last axis."""
    s = sign(w)
    n = w.size // w.shape[-1]
    reduce_axes = tuple(range(w.ndim - 1))
    alpha_term = s * (np.sum(g * s, axis=reduce_axes) / n)
    return (np.abs(w) <= 1) * (alpha * g + alpha_term)


def latent_init(rng: np.random.Generator, shape, fan_in: int, dtype) -> np.ndarray:
    """Latent weights: He-normal, clipped to the [-1, 1] that `clip_latent()` keeps."""
    return np.clip(he_normal(rng, shape, fan_in, dtype), -1, 1)


class Sign:
    """Binarising activation: forward sign(x) with sign(0) = +1; backward dy * 1{|x| <= 1}.

    ONNX: Where(Less(x, 0), -1, +1)."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        self._cache = (np.abs(x) <= 1) if train else None
        return sign(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * _take(self, "Sign")

    def output_shape(self, in_shape: tuple) -> tuple:
        return tuple(in_shape)


class _BinaryBase:
    def clip_latent(self) -> None:
        """Clip the latent weights to [-1, 1] in place (call after each optimiser step)."""
        np.clip(self.params["w"], -1, 1, out=self.params["w"])

    def alpha(self) -> np.ndarray:
        """Per-output-channel scale mean|w| over all axes but the last: [Cout] / [M]."""
        w = self.params["w"]
        return np.mean(np.abs(w), axis=tuple(range(w.ndim - 1)))

    def binary_weight(self) -> np.ndarray:
        """sign(w) in {-1, +1}, the weight the exported Conv/Gemm holds."""
        return sign(self.params["w"])


class BinaryConv2D(_BinaryBase):
    """XNOR-Net conv: y = alpha * conv(x, sign(w)); zero padding; no bias.

    params: `w` [KH, KW, Cin, Cout] latent real weights (He-initialised, then clipped to
    [-1, 1]). attrs: `in_channels`, `out_channels`, `kernel_size` (KH, KW), `stride`
    (SH, SW), `padding` (top, left, bottom, right). Methods: `alpha()` [Cout],
    `binary_weight()`, `clip_latent()`. Gradient: see the module docstring.
    The input is normally already binarised by a `Sign` layer.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size=3,
        stride=1,
        padding="same",
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = window_attrs(kernel_size, stride, padding)
        kh, kw = self.kernel_size
        shape = (kh, kw, self.in_channels, self.out_channels)
        self.params = {"w": latent_init(rng, shape, kh * kw * self.in_channels, dtype)}
        self.grads = {"w": np.zeros_like(self.params["w"])}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        check_input(x, 4, self.in_channels, "BinaryConv2D")
        alpha = self.alpha()
        s = self.binary_weight()
        y, cache = conv2d_forward(x, s, self.stride, self.padding)
        self._cache = (cache, s, alpha) if train else None
        return y * alpha

    def backward(self, dy: np.ndarray) -> np.ndarray:
        cache, s, alpha = _take(self, "BinaryConv2D")
        # W~ = alpha * s: G = dL/dW~ = wgrad(x, dy), dL/dx = dgrad(dy, W~) = dgrad(dy * alpha, s)
        g = conv2d_wgrad(dy, cache)
        set_grad(self, "w", latent_grad(self.params["w"], g, alpha))
        return conv2d_dgrad(dy * alpha, cache, s, self.stride, self.padding)

    def output_shape(self, in_shape: tuple) -> tuple:
        return window_output_shape(self, in_shape, self.out_channels)


class BinaryDense(_BinaryBase):
    """XNOR-Net dense: y = alpha * (x @ sign(w)); no bias.

    params: `w` [K, M] latent real weights. attrs: `in_features`, `out_features`.
    ONNX: Gemm(x, sign(w).T, transB=1) -> Mul(alpha[1, M]).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.in_features, self.out_features = int(in_features), int(out_features)
        shape = (self.in_features, self.out_features)
        self.params = {"w": latent_init(rng, shape, self.in_features, dtype)}
        self.grads = {"w": np.zeros_like(self.params["w"])}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        check_input(x, 2, self.in_features, "BinaryDense")
        alpha = self.alpha()
        s = self.binary_weight()
        self._cache = (x, s, alpha) if train else None
        return (x @ s) * alpha

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x, s, alpha = _take(self, "BinaryDense")
        set_grad(self, "w", latent_grad(self.params["w"], x.T @ dy, alpha))
        return (dy * alpha) @ s.T

    def output_shape(self, in_shape: tuple) -> tuple:
        if in_shape[-1] != self.in_features:
            raise ShapeError(f"BinaryDense: expected {self.in_features} features, got {in_shape}")
        return (self.out_features,)
