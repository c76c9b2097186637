"""Containers that chain layers into a network, and checkpoints of a network's arrays.

A layer (see ``layers.py``) holds ``params``, ``grads`` and ``state`` dicts of
arrays and has ``forward(x, train)``, ``backward(dy)`` and
``output_shape(in_shape)``. The two containers below obey the same protocol, so
they nest: a MobileNetV2 is a ``Sequential`` whose inverted residual blocks are
``Residual(Sequential(...))`` when their input and output shapes match.

Every array in a network has a path name, e.g. ``"3.body.1.w"``: the child index
in a Sequential, ``body`` in a Residual, then the dict key. Checkpoints,
optimisers and the ONNX exporter all use these names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from cnnc.errors import CnncError


class Container:
    """What Sequential and Residual share: the leaves' arrays under their path names.

    ``params``, ``grads`` and ``state`` are built on access from the leaf layers and
    hold the leaves' own arrays (no copies), so code written for one layer — the
    gradient checker, an optimiser — also works on a whole block or network. Read
    ``grads`` after ``backward``: a layer may replace a grad array when its dtype changes.
    """

    def children(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {
            path + key: layer.params[key]
            for path, layer in named_layers(self)
            for key in layer.params
        }

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {
            path + key: layer.grads[key]
            for path, layer in named_layers(self)
            for key in layer.grads
        }

    @property
    def state(self) -> dict[str, np.ndarray]:
        return {
            path + key: layer.state[key]
            for path, layer in named_layers(self)
            for key in layer.state
        }


class Sequential(Container):
    """Layers applied one after the other."""

    def __init__(self, layers: list[Any]):
        self.layers = list(layers)

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        for layer in self.layers:
            in_shape = tuple(layer.output_shape(in_shape))
        return in_shape

    def children(self) -> list[tuple[str, Any]]:
        return [(str(i), layer) for i, layer in enumerate(self.layers)]


class Residual(Container):
    """y = shortcut(x) + body(x): an identity shortcut by default (MobileNetV2), or a
    projection such as ResNet's strided 1x1 conv + BN when the body changes the shape."""

    def __init__(self, body: Any, shortcut: Any = None):
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        skip = x if self.shortcut is None else self.shortcut.forward(x, train)
        return skip + self.body.forward(x, train)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        skip = dy if self.shortcut is None else self.shortcut.backward(dy)
        return skip + self.body.backward(dy)

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        out = tuple(self.body.output_shape(in_shape))
        skip = tuple(in_shape) if self.shortcut is None else self.shortcut.output_shape(in_shape)
        if out != tuple(skip):
            what = "input" if self.shortcut is None else "shortcut"
            raise CnncError(
                f"residual body maps {tuple(in_shape)} to {out}, the {what} to {tuple(skip)}; "
                "shapes must match"
            )
        return out

    def children(self) -> list[tuple[str, Any]]:
        kids = [("body", self.body)]
        return kids if self.shortcut is None else [*kids, ("shortcut", self.shortcut)]


class SqueezeExcite(Container):
    """Squeeze-and-excitation (Hu et al., SENet): y = x * s, s = squeeze(x) per channel.

    ``squeeze`` maps [N, H, W, C] to gates [N, C] in (0, 1): global average pool, a
    bottleneck Dense + ReLU, a Dense back to C channels and a Sigmoid (or HardSigmoid).
    Backward: dx = dy * s + squeeze.backward(sum over H, W of dy * x).
    """

    def __init__(self, squeeze: Any):
        self.squeeze = squeeze
        self._cache = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        s = self.squeeze.forward(x, train)[:, None, None, :]
        self._cache = (x, s) if train else None
        return x * s

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("SqueezeExcite.backward called without forward(x, train=True)")
        x, s = self._cache
        return dy * s + self.squeeze.backward((dy * x).sum(axis=(1, 2)))

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        gates = tuple(self.squeeze.output_shape(in_shape))
        if gates != (in_shape[-1],):
            raise CnncError(
                f"squeeze-excitation maps {tuple(in_shape)} to gates {gates}; it must give "
                f"one gate per channel, ({in_shape[-1]},)"
            )
        return tuple(in_shape)

    def children(self) -> list[tuple[str, Any]]:
        return [("squeeze", self.squeeze)]


def named_layers(module: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, layer) for every leaf layer, in forward order; paths end with '.'."""
    if isinstance(module, Container):
        for name, child in module.children():
            yield from named_layers(child, f"{prefix}{name}.")
    else:
        yield prefix, module


def named_params(module: Any) -> Iterator[tuple[str, Any, str]]:
    """(full name, layer, key) for every trainable array: ``layer.params[key]``."""
    for path, layer in named_layers(module):
        for key in layer.params:
            yield path + key, layer, key


def param_count(module: Any) -> int:
    return sum(int(layer.params[key].size) for _, layer, key in named_params(module))


def set_dtype(module: Any, dtype: type) -> None:
    """Cast every parameter and state array (float64 for gradient checks)."""
    for _, layer in named_layers(module):
        for arrays in (layer.params, layer.state):
            for key, value in arrays.items():
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    arrays[key] = value.astype(dtype)


# ---------------------------------------------------------------------------- checkpoints


def network_arrays(module: Any) -> dict[str, np.ndarray]:
    """Every parameter and state array under 'param/<name>' and 'state/<name>'."""
    out = {}
    for path, layer in named_layers(module):
        for key, value in layer.params.items():
            out[f"param/{path}{key}"] = value
        for key, value in layer.state.items():
            if isinstance(value, np.ndarray):
                out[f"state/{path}{key}"] = value
    return out


def load_network_arrays(module: Any, arrays: dict[str, np.ndarray], where: str) -> None:
    """Copy arrays saved by ``network_arrays`` back into the layers, checking names and shapes."""
    expected = network_arrays(module)
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise CnncError(
            f"{where}: checkpoint does not fit the network (missing {missing[:3]}, "
            f"unexpected {extra[:3]})"
        )
    for path, layer in named_layers(module):
        for kind, dct in (("param", layer.params), ("state", layer.state)):
            for key, value in list(dct.items()):
                if not isinstance(value, np.ndarray):
                    continue
                saved = arrays[f"{kind}/{path}{key}"]
                if saved.shape != value.shape:
                    raise CnncError(
                        f"{where}: {kind} {path}{key} has shape {saved.shape}, "
                        f"the network expects {value.shape}"
                    )
                # copy in place so optimisers holding references keep seeing the same arrays
                value[...] = saved


def save_checkpoint(
    path: str | Path,
    module: Any,
    extra: dict[str, np.ndarray] | None = None,
    info: dict | None = None,
) -> None:
    """Write the network's arrays, optional extra arrays (optimiser state) and JSON info."""
    arrays = {**network_arrays(module)}
    for key, value in (extra or {}).items():
        arrays[f"extra/{key}"] = np.asarray(value)
    arrays["info"] = np.frombuffer(json.dumps(info or {}).encode(), dtype=np.uint8)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)  # a crash mid-write never leaves a half checkpoint


def load_checkpoint(path: str | Path, module: Any) -> tuple[dict[str, np.ndarray], dict]:
    """Load arrays into module; returns (extra arrays, info)."""
    path = Path(path)
    try:
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as err:
        raise CnncError(f"{path}: cannot read checkpoint ({err})") from None
    info = json.loads(arrays.pop("info").tobytes().decode()) if "info" in arrays else {}
    extra = {k[len("extra/") :]: v for k, v in arrays.items() if k.startswith("extra/")}
    load_network_arrays(
        module, {k: v for k, v in arrays.items() if not k.startswith("extra/")}, str(path)
    )
    return extra, info
