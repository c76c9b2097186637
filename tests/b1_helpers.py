"""Helpers shared by the binary (b1) tests in runtime/, compiler/ and e2e/: the channel
grid, random +-1 tensors, calling a b1 kernel on NumPy arrays, and reading packed tensors
back as the +-1 values the ONNX graph has."""

from __future__ import annotations

import numpy as np
from cnnc import ir
from cnnc.ops import bitpack

# Channel counts around the 32-bit word edges: one word partly used, exactly full, one bit over.
CHANNELS = [1, 3, 31, 32, 33, 63, 64, 65, 128]


def pm1(rng: np.random.Generator, shape) -> np.ndarray:
    """Random -1/+1 values (float32), about half of each."""
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


# cffi buffer type of each NumPy dtype the b1 kernels take
C_BUFFERS = {"uint32": "uint32_t[]", "int32": "int32_t[]", "float32": "float[]", "int8": "int8_t[]"}


def call_kernel(kernels, fn: str, params, *arrays: np.ndarray) -> None:
    """lib.<fn>(params, *arrays) with each array passed as a C buffer of its own dtype; the
    kernel writes its output (the last array) in place."""
    ffi, lib = kernels
    getattr(lib, fn)(params, *(ffi.from_buffer(C_BUFFERS[a.dtype.name], a) for a in arrays))


def negated_mask(graph: ir.Graph, tensor: str) -> np.ndarray:
    """Channels a packed tensor stores negated (recorded by the b1 layer that wrote it)."""
    node = graph.producer(tensor)
    while node.op == "b1_maxpool2d":
        node = graph.producer(node.inputs[0])
    mask = np.zeros(graph.tensors[tensor].shape[-1], bool)
    mask[node.attrs.get("negated_channels", [])] = True
    return mask


def signs_nchw(graph: ir.Graph, values: dict, name: str) -> np.ndarray:
    """A packed +-1 tensor of the binarised graph as the float values the ONNX graph has."""
    c = graph.tensors[name].shape[-1]
    v = bitpack.unpack_signs(values[name], c) * np.where(negated_mask(graph, name), -1, 1)
    return v.transpose(0, 3, 1, 2)
