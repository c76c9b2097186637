"""Real-valued layers of the NumPy training framework (all NHWC).

Every layer follows one protocol, which the containers, optimisers, checkpoints
and the ONNX exporter rely on:

    params: dict[str, np.ndarray]   trainable arrays; optimisers update them IN PLACE
    grads:  dict[str, np.ndarray]   same keys; backward() writes into them IN PLACE
                                    (so a list of (param, grad) pairs built once stays valid)
    state:  dict[str, np.ndarray]   non-trainable arrays saved in checkpoints
    forward(x, train) -> y          caches what backward needs only when train=True
    backward(dy) -> dx              fills grads; call after forward(x, train=True)
    output_shape(in_shape) -> tuple per-sample shape: (H, W, C) or (K,)

`Add` is the one layer with two inputs: it has `forward2(a, b, train)` and
`backward2(dy) -> (da, db)` instead of forward/backward.

Attribute conventions read by the exporter: `kernel_size` = (KH, KW),
`stride` = (SH, SW), `padding` = (top, left, bottom, right) — all tuples of ints,
resolved at construction. A layer computes in the dtype of its params (float32
for training, float64 for gradient checks); inputs should have that dtype too.
"""

from __future__ import annotations

import numpy as np
from cnnc.errors import ShapeError
from numpy.lib.stride_tricks import sliding_window_view

# ---------------------------------------------------------------------------
# geometry helpers


def pair(v, name: str) -> tuple[int, int]:
    """An int or a 2-sequence of ints as a (vertical, horizontal) pair."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    t = tuple(int(u) for u in v)
    if len(t) != 2:
        raise ShapeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return t


def resolve_padding(padding, kernel_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Padding spec -> (top, left, bottom, right).

    Accepts an int (all sides), "valid" (none), "same" (so that a stride-1 output has
    the input's size: top = (KH-1)//2, bottom = KH-1-top, likewise left/right; with
    stride s the output is then ceil(H/s) for odd kernels), a pair (ph, pw), or an
    explicit 4-tuple (top, left, bottom, right).
    """
    kh, kw = kernel_size
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            top, left = (kh - 1) // 2, (kw - 1) // 2
            return top, left, kh - 1 - top, kw - 1 - left
        raise ShapeError(f"padding must be 'same', 'valid' or ints, got {padding!r}")
    if isinstance(padding, (int, np.integer)):
        p = int(padding)
        pads = (p, p, p, p)
    else:
        t = tuple(int(u) for u in padding)
        if len(t) == 2:
            pads = (t[0], t[1], t[0], t[1])
        elif len(t) == 4:
            pads = t
        else:
            raise ShapeError(f"padding must have 1, 2 or 4 ints, got {padding!r}")
    if min(pads) < 0:
        raise ShapeError(f"padding must be non-negative, got {pads}")
    return pads


def conv_output_hw(
    h: int, w: int, kernel_size, stride, padding: tuple[int, int, int, int]
) -> tuple[int, int]:
    """Spatial output size of a sliding window (floor mode, as ONNX)."""
    kh, kw = kernel_size
    sh, sw = stride
    hp, wp = h + padding[0] + padding[2], w + padding[1] + padding[3]
    if hp < kh or wp < kw:
        raise ShapeError(
            f"window {kh}x{kw} does not fit the padded input {hp}x{wp} "
            f"(input {h}x{w}, pads {padding})"
        )
    return (hp - kh) // sh + 1, (wp - kw) // sw + 1


def window_attrs(kernel_size, stride, padding) -> tuple[tuple, tuple, tuple]:
    """A sliding-window layer's (kernel_size, stride, padding) attributes from its arguments:
    (KH, KW), (SH, SW), (top, left, bottom, right)."""
    kernel_size = pair(kernel_size, "kernel_size")
    return kernel_size, pair(stride, "stride"), resolve_padding(padding, kernel_size)


def window_output_shape(layer, in_shape: tuple, channels: int) -> tuple[int, int, int]:
    """(OH, OW, channels) of a sliding-window layer (its kernel_size, stride, padding)."""
    oh, ow = conv_output_hw(
        in_shape[0], in_shape[1], layer.kernel_size, layer.stride, layer.padding
    )
    return oh, ow, channels


def pad_nhwc(x: np.ndarray, padding, value: float = 0.0) -> np.ndarray:
    top, left, bottom, right = padding
    if top == left == bottom == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def unpad_nhwc(xp: np.ndarray, padding, h: int, w: int) -> np.ndarray:
    top, left = padding[0], padding[1]
    return xp[:, top : top + h, left : left + w, :]


def tap(xp: np.ndarray, i: int, j: int, oh: int, ow: int, stride) -> np.ndarray:
    """View of the padded input seen by kernel tap (i, j) at every output pixel: [N, OH, OW, C]."""
    sh, sw = stride
    return xp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]


def windows(xp: np.ndarray, kernel_size, stride, oh: int, ow: int) -> np.ndarray:
    """Strided view of all windows: [N, OH, OW, C, KH, KW] (no copy)."""
    kh, kw = kernel_size
    sh, sw = stride
    v = sliding_window_view(xp, (kh, kw), axis=(1, 2))
    return v[:, : sh * (oh - 1) + 1 : sh, : sw * (ow - 1) + 1 : sw]


def check_input(x: np.ndarray, ndim: int, channels: int | None, layer: str) -> None:
    if x.ndim != ndim:
        raise ShapeError(f"{layer}: expected a {ndim}-D input, got shape {x.shape}")
    if channels is not None and x.shape[-1] != channels:
        raise ShapeError(f"{layer}: expected {channels} input channels, got shape {x.shape}")


def he_normal(rng: np.random.Generator, shape, fan_in: int, dtype) -> np.ndarray:
    """He (Kaiming) normal initialisation: N(0, 2 / fan_in)."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


# ---------------------------------------------------------------------------
# convolution kernels shared by Conv2D and the binary conv (models/binary.py)


def conv2d_forward(x, w, stride, padding):
    """y[n,oh,ow,o] = sum_{i,j,c} xpad[n, oh*sh+i, ow*sw+j, c] * w[i,j,c,o].

    x [N,H,W,Cin], w [KH,KW,Cin,Cout] -> (y [N,OH,OW,Cout], cache for conv2d_wgrad/dgrad).
    im2col through a strided view, one BLAS matmul. 1x1 unpadded convs skip im2col.
    """
    kh, kw, cin, cout = w.shape
    n, h, wd, _ = x.shape
    oh, ow = conv_output_hw(h, wd, (kh, kw), stride, padding)
    if kh == kw == 1 and not any(padding):
        cols = x[:, :: stride[0], :: stride[1], :].reshape(-1, cin)  # [N*OH*OW, Cin]
    else:
        xp = pad_nhwc(x, padding)
        win = windows(xp, (kh, kw), stride, oh, ow)  # [N,OH,OW,Cin,KH,KW] view
        # copy into [N*OH*OW, KH*KW*Cin], tap-major so it matches w.reshape(-1, Cout)
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * cin)
    y = (cols @ w.reshape(-1, cout)).reshape(n, oh, ow, cout)
    return y, (cols, x.shape, w.shape)


def conv2d_wgrad(dy, cache) -> np.ndarray:
    """dL/dw of conv2d_forward: [KH,KW,Cin,Cout] = cols^T @ dy."""
    cols, _, w_shape = cache
    return (cols.T @ dy.reshape(-1, w_shape[3])).reshape(w_shape)


def conv2d_dgrad(dy, cache, w, stride, padding) -> np.ndarray:
    """dL/dx of conv2d_forward: [N,H,W,Cin] (col2im of dy @ w^T)."""
    _, x_shape, _ = cache
    kh, kw, cin, cout = w.shape
    n, h, wd, _ = x_shape
    _, oh, ow, _ = dy.shape
    dcols = dy.reshape(-1, cout) @ w.reshape(-1, cout).T  # [N*OH*OW, KH*KW*Cin]
    if kh == kw == 1 and not any(padding):
        if stride == (1, 1):
            return dcols.reshape(x_shape)
        dx = np.zeros(x_shape, dtype=dcols.dtype)
        dx[:, :: stride[0], :: stride[1], :] = dcols.reshape(n, oh, ow, cin)
        return dx
    # col2im: scatter-add each kernel tap back onto the padded input (KH*KW iterations)
    dcols = dcols.reshape(n, oh, ow, kh, kw, cin)
    hp, wp = h + padding[0] + padding[2], wd + padding[1] + padding[3]
    dxp = np.zeros((n, hp, wp, cin), dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            tap(dxp, i, j, oh, ow, stride)[...] += dcols[:, :, :, i, j, :]
    return unpad_nhwc(dxp, padding, h, wd)


# ---------------------------------------------------------------------------
# layers with parameters


class Conv2D:
    """2-D convolution, NHWC, cross-correlation as in ONNX Conv.

    params: `w` [KH, KW, Cin, Cout] (HWIO), `b` [Cout] when `use_bias`.
    attrs: `in_channels`, `out_channels`, `kernel_size` (KH, KW), `stride` (SH, SW),
    `padding` (top, left, bottom, right), `use_bias`.
    A 1x1 kernel without padding is the pointwise conv (plain matmul, no im2col).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size=3,
        stride=1,
        padding="same",
        use_bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = window_attrs(kernel_size, stride, padding)
        self.use_bias = use_bias
        kh, kw = self.kernel_size
        shape = (kh, kw, self.in_channels, self.out_channels)
        self.params = {"w": he_normal(rng, shape, kh * kw * self.in_channels, dtype)}
        if use_bias:
            self.params["b"] = np.zeros(self.out_channels, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        check_input(x, 4, self.in_channels, "Conv2D")
        y, cache = conv2d_forward(x, self.params["w"], self.stride, self.padding)
        if self.use_bias:
            y += self.params["b"]
        self._cache = cache if train else None
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        cache = _take(self, "Conv2D")
        set_grad(self, "w", conv2d_wgrad(dy, cache))
        dx = conv2d_dgrad(dy, cache, self.params["w"], self.stride, self.padding)
        if self.use_bias:
            set_grad(self, "b", dy.sum(axis=(0, 1, 2)))
        return dx

    def output_shape(self, in_shape: tuple) -> tuple:
        return window_output_shape(self, in_shape, self.out_channels)


class DepthwiseConv2D:
    """Depthwise 2-D convolution (ONNX Conv with group = C), NHWC.

    params: `w` [KH, KW, C*M] and `b` [C*M] when `use_bias`, where M = `multiplier`;
    output channel o reads input channel o // M (the ONNX grouped-conv order), so for
    M = 1 the weight is [KH, KW, C]. ONNX weight: w.transpose(2, 0, 1)[:, None] -> [C*M,1,KH,KW].
    attrs: `channels` (C), `multiplier`, `kernel_size`, `stride`, `padding`, `use_bias`.
    Computed as a multiply-accumulate over the KH*KW kernel taps.
    """

    def __init__(
        self,
        channels: int,
        kernel_size=3,
        stride=1,
        padding="same",
        multiplier: int = 1,
        use_bias: bool = False,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.channels, self.multiplier = int(channels), int(multiplier)
        self.kernel_size, self.stride, self.padding = window_attrs(kernel_size, stride, padding)
        self.use_bias = use_bias
        kh, kw = self.kernel_size
        cout = self.channels * self.multiplier
        self.params = {"w": he_normal(rng, (kh, kw, cout), kh * kw, dtype)}
        if use_bias:
            self.params["b"] = np.zeros(cout, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        check_input(x, 4, self.channels, "DepthwiseConv2D")
        w = self.params["w"]
        n, h, wd, _ = x.shape
        oh, ow = conv_output_hw(h, wd, self.kernel_size, self.stride, self.padding)
        xp = pad_nhwc(x, self.padding)
        if self.multiplier > 1:
            xp = np.repeat(xp, self.multiplier, axis=3)
        kh, kw = self.kernel_size
        y = np.zeros((n, oh, ow, w.shape[2]), dtype=np.result_type(x, w))
        for i in range(kh):
            for j in range(kw):
                y += tap(xp, i, j, oh, ow, self.stride) * w[i, j]
        if self.use_bias:
            y += self.params["b"]
        self._cache = (xp, x.shape) if train else None
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        xp, x_shape = _take(self, "DepthwiseConv2D")
        w = self.params["w"]
        n, h, wd, c = x_shape
        _, oh, ow, _ = dy.shape
        kh, kw = self.kernel_size
        dxp = np.zeros(xp.shape, dtype=dy.dtype)
        dw = np.empty(w.shape, dtype=np.result_type(xp, dy))
        for i in range(kh):
            for j in range(kw):
                t = tap(xp, i, j, oh, ow, self.stride)
                dw[i, j] = np.einsum("nhwc,nhwc->c", t, dy, optimize=False)
                tap(dxp, i, j, oh, ow, self.stride)[...] += dy * w[i, j]
        set_grad(self, "w", dw)
        if self.use_bias:
            set_grad(self, "b", dy.sum(axis=(0, 1, 2)))
        if self.multiplier > 1:
            dxp = dxp.reshape(*dxp.shape[:3], c, self.multiplier).sum(axis=4)
        return unpad_nhwc(dxp, self.padding, h, wd)

    def output_shape(self, in_shape: tuple) -> tuple:
        return window_output_shape(self, in_shape, self.channels * self.multiplier)


class Dense:
    """Fully connected layer: y = x @ w + b.

    params: `w` [K, M], `b` [M] when `use_bias`. attrs: `in_features` K, `out_features` M.
    ONNX: Gemm(x, w, b) (or Gemm with transB=1 and w.T).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        use_bias: bool = True,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.use_bias = use_bias
        shape = (self.in_features, self.out_features)
        self.params = {"w": he_normal(rng, shape, self.in_features, dtype)}
        if use_bias:
            self.params["b"] = np.zeros(self.out_features, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        check_input(x, 2, self.in_features, "Dense")
        y = x @ self.params["w"]
        if self.use_bias:
            y += self.params["b"]
        self._cache = x if train else None
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = _take(self, "Dense")
        set_grad(self, "w", x.T @ dy)
        if self.use_bias:
            set_grad(self, "b", dy.sum(axis=0))
        return dy @ self.params["w"].T

    def output_shape(self, in_shape: tuple) -> tuple:
        return (self.out_features,)


class BatchNorm:
    """Batch normalisation over the last (channel) axis of [N,H,W,C] or [N,C] inputs.

    y = gamma * (x - mean) / sqrt(var + eps) + beta
    train: mean/var are the batch statistics over all axes but the last (var is the
    biased batch variance), and running = momentum * running + (1 - momentum) * batch.
    eval: mean/var are `running_mean`/`running_var` (ONNX BatchNormalization semantics).
    params: `gamma`, `beta` [C]; state: `running_mean`, `running_var` [C];
    attrs: `channels`, `eps` (1e-5), `momentum` (0.9).
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.9, dtype=np.float32):
        self.channels, self.eps, self.momentum = int(channels), float(eps), float(momentum)
        self.params = {"gamma": np.ones(channels, dtype), "beta": np.zeros(channels, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state = {
            "running_mean": np.zeros(channels, dtype),
            "running_var": np.ones(channels, dtype),
        }
        self._cache = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:
        if x.ndim not in (2, 4) or x.shape[-1] != self.channels:
            raise ShapeError(
                f"BatchNorm: expected [N,{self.channels}] or [N,H,W,{self.channels}], got {x.shape}"
            )
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not train:
            inv_std = 1.0 / np.sqrt(self.state["running_var"] + self.eps)
            scale = gamma * inv_std
            return x * scale + (beta - self.state["running_mean"] * scale)
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes)
        xc = x - mean
        var = np.mean(xc * xc, axis=axes)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * inv_std
        m = self.momentum
        self.state["running_mean"][...] = m * self.state["running_mean"] + (1 - m) * mean
        self.state["running_var"][...] = m * self.state["running_var"] + (1 - m) * var
        self._cache = (xhat, inv_std)
        return xhat * gamma + beta

    def backward(self, dy: np.ndarray) -> np.ndarray:
        xhat, inv_std = _take(self, "BatchNorm")
        axes = tuple(range(dy.ndim - 1))
        count = dy.size // dy.shape[-1]
        dbeta = dy.sum(axis=axes)
        dgamma = np.sum(dy * xhat, axis=axes)
        set_grad(self, "gamma", dgamma)
        set_grad(self, "beta", dbeta)
        # d/dx of gamma*xhat with batch mean and variance depending on x:
        # dx = gamma*inv_std/count * (count*dy - sum(dy) - xhat*sum(dy*xhat))
        k = self.params["gamma"] * inv_std / count
        return k * (count * dy - dbeta - xhat * dgamma)

    def output_shape(self, in_shape: tuple) -> tuple:
        return tuple(in_shape)


# ---------------------------------------------------------------------------
# activations


class _Stateless:
    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self._cache = None

    def output_shape(self, in_shape: tuple) -> tuple:
        return tuple(in_shape)


class ReLU(_Stateless):
    """max(x, 0); gradient 1 where x > 0."""

    def forward(self, x, train):
        self._cache = x > 0 if train else None
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * _take(self, "ReLU")


class ReLU6(_Stateless):
    """min(max(x, 0), 6); gradient 1 where 0 < x < 6 (ONNX: Clip(x, 0, 6))."""

    def forward(self, x, train):
        self._cache = ((x > 0) & (x < 6)) if train else None
        return np.clip(x, 0, 6)

    def backward(self, dy):
        return dy * _take(self, "ReLU6")


class Sigmoid(_Stateless):
    """1 / (1 + exp(-x)); gradient y (1 - y) (ONNX: Sigmoid)."""

    def forward(self, x, train):
        # exp of a non-positive argument only: no overflow warning for large |x|
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        self._cache = y if train else None
        return y

    def backward(self, dy):
        y = _take(self, "Sigmoid")
        return dy * y * (1 - y)


class HardSigmoid(_Stateless):
    """relu6(x + 3) / 6, as torch's hardsigmoid; gradient 1/6 where -3 < x < 3
    (ONNX: HardSigmoid with alpha = 1/6, beta = 0.5)."""

    def forward(self, x, train):
        self._cache = ((x > -3) & (x < 3)) if train else None
        return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)

    def backward(self, dy):
        return dy * _take(self, "HardSigmoid") / 6


class ELU(_Stateless):
    """x if x > 0 else alpha * (exp(x) - 1); attr `alpha` (1.0)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x, train):
        neg = self.alpha * np.expm1(np.minimum(x, 0))
        y = np.where(x > 0, x, neg)
        self._cache = (x > 0, neg) if train else None
        return y

    def backward(self, dy):
        pos, neg = _take(self, "ELU")
        return dy * np.where(pos, 1, neg + self.alpha)


# ---------------------------------------------------------------------------
# pooling and shape layers


class MaxPool(_Stateless):
    """Max pooling; padded positions never win (ONNX MaxPool semantics).

    attrs: `kernel_size` (KH, KW), `stride` (SH, SW; default = kernel), `padding`
    (top, left, bottom, right). The gradient goes to the first maximum of each window.
    """

    def __init__(self, kernel_size=2, stride=None, padding=0):
        super().__init__()
        stride = stride if stride is not None else kernel_size
        self.kernel_size, self.stride, self.padding = window_attrs(kernel_size, stride, padding)

    def forward(self, x, train):
        check_input(x, 4, None, "MaxPool")
        n, h, w, c = x.shape
        kh, kw = self.kernel_size
        oh, ow = conv_output_hw(h, w, self.kernel_size, self.stride, self.padding)
        xp = pad_nhwc(x, self.padding, value=-np.inf)
        if self.kernel_size == self.stride and not any(self.padding):
            # non-overlapping windows: a reshape, no copy
            win = xp[:, : oh * kh, : ow * kw, :].reshape(n, oh, kh, ow, kw, c)
            win = win.transpose(0, 1, 3, 5, 2, 4).reshape(n, oh, ow, c, kh * kw)
        else:
            win = windows(xp, self.kernel_size, self.stride, oh, ow).reshape(n, oh, ow, c, kh * kw)
        arg = win.argmax(axis=-1)  # [N,OH,OW,C], tap index i*KW + j
        y = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        self._cache = (arg, x.shape, xp.shape) if train else None
        return y

    def backward(self, dy):
        arg, x_shape, xp_shape = _take(self, "MaxPool")
        _, oh, ow, _ = dy.shape
        kh, kw = self.kernel_size
        dxp = np.zeros(xp_shape, dtype=dy.dtype)
        for i in range(kh):
            for j in range(kw):
                tap(dxp, i, j, oh, ow, self.stride)[...] += np.where(arg == i * kw + j, dy, 0)
        return unpad_nhwc(dxp, self.padding, x_shape[1], x_shape[2])

    def output_shape(self, in_shape):
        return window_output_shape(self, in_shape, in_shape[2])


class AvgPool(_Stateless):
    """Average pooling. attrs: `kernel_size`, `stride` (default = kernel), `padding`,
    `count_include_pad` (False, the ONNX AveragePool default: divide by the number of
    real, non-padding pixels in each window)."""

    def __init__(self, kernel_size=2, stride=None, padding=0, count_include_pad: bool = False):
        super().__init__()
        stride = stride if stride is not None else kernel_size
        self.kernel_size, self.stride, self.padding = window_attrs(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def _counts(self, h, w, oh, ow, dtype):
        """Divisor per output pixel: [OH, OW, 1]."""
        if self.count_include_pad or not any(self.padding):
            return np.full((oh, ow, 1), self.kernel_size[0] * self.kernel_size[1], dtype)
        ones = pad_nhwc(np.ones((1, h, w, 1), dtype), self.padding)
        return windows(ones, self.kernel_size, self.stride, oh, ow).sum(axis=(3, 4, 5))[0][
            ..., None
        ]

    def forward(self, x, train):
        check_input(x, 4, None, "AvgPool")
        n, h, w, c = x.shape
        oh, ow = conv_output_hw(h, w, self.kernel_size, self.stride, self.padding)
        xp = pad_nhwc(x, self.padding)
        y = np.zeros((n, oh, ow, c), dtype=x.dtype)
        for i in range(self.kernel_size[0]):
            for j in range(self.kernel_size[1]):
                y += tap(xp, i, j, oh, ow, self.stride)
        counts = self._counts(h, w, oh, ow, x.dtype)
        self._cache = (x.shape, xp.shape, counts) if train else None
        return y / counts

    def backward(self, dy):
        x_shape, xp_shape, counts = _take(self, "AvgPool")
        _, oh, ow, _ = dy.shape
        g = dy / counts
        dxp = np.zeros(xp_shape, dtype=dy.dtype)
        for i in range(self.kernel_size[0]):
            for j in range(self.kernel_size[1]):
                tap(dxp, i, j, oh, ow, self.stride)[...] += g
        return unpad_nhwc(dxp, self.padding, x_shape[1], x_shape[2])

    def output_shape(self, in_shape):
        return window_output_shape(self, in_shape, in_shape[2])


class GlobalAvgPool(_Stateless):
    """Mean over H and W: [N,H,W,C] -> [N,C] (ONNX: GlobalAveragePool then Flatten)."""

    def forward(self, x, train):
        check_input(x, 4, None, "GlobalAvgPool")
        self._cache = x.shape if train else None
        return x.mean(axis=(1, 2))

    def backward(self, dy):
        n, h, w, c = _take(self, "GlobalAvgPool")
        return np.broadcast_to((dy / (h * w))[:, None, None, :], (n, h, w, c)).copy()

    def output_shape(self, in_shape):
        return (in_shape[-1],)


class Flatten(_Stateless):
    """[N, H, W, C] -> [N, H*W*C] in NHWC (row-major) order.

    Note for export: ONNX Flatten of the NCHW tensor orders features (C, H, W), so the
    exporter must transpose to NHWC before flattening or permute the next Dense's rows.
    """

    def forward(self, x, train):
        self._cache = x.shape if train else None
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(_take(self, "Flatten"))

    def output_shape(self, in_shape):
        return (int(np.prod(in_shape)),)


class Add(_Stateless):
    """Residual addition of two equally shaped tensors.

    Two-input protocol: `forward2(a, b, train) -> a + b` and `backward2(dy) -> (da, db)`
    (both are dy). `output_shape(in_shape)` is the shape of either input.
    """

    def forward2(self, a, b, train):
        if a.shape != b.shape:
            raise ShapeError(f"Add: input shapes differ: {a.shape} vs {b.shape}")
        return a + b

    def backward2(self, dy):
        return dy, dy


class Dropout(_Stateless):
    """Inverted dropout: in training zero each element with probability `rate` and scale
    the survivors by 1 / (1 - rate); identity in eval. attrs: `rate`, `rng` (the
    Generator that draws the masks, seeded at construction)."""

    def __init__(self, rate: float = 0.5, rng: np.random.Generator | None = None):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ShapeError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def forward(self, x, train):
        if not train or self.rate == 0.0:
            self._cache = np.ones((), x.dtype) if train else None
            return x
        keep = self.rng.random(x.shape) >= self.rate
        mask = keep.astype(x.dtype) / np.asarray(1.0 - self.rate, x.dtype)
        self._cache = mask
        return x * mask

    def backward(self, dy):
        return dy * _take(self, "Dropout")


def set_grad(layer, key: str, value: np.ndarray) -> None:
    """Write a gradient into layer.grads[key] in place, so references held by an optimiser
    stay valid; reallocate only when the params changed dtype or shape (e.g. cast to float64)."""
    g = layer.grads.get(key)
    p = layer.params[key]
    if g is None or g.shape != p.shape or g.dtype != p.dtype:
        layer.grads[key] = np.array(value, dtype=p.dtype).reshape(p.shape)
    else:
        g[...] = value


def _take(layer, name: str):
    """The forward cache, which exists only after forward(x, train=True)."""
    if layer._cache is None:
        raise RuntimeError(f"{name}.backward called without a preceding forward(x, train=True)")
    return layer._cache
