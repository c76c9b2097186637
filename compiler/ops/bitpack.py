"""Bit packing of binary ({-1, +1}) tensors along channels, mirrored by runtime_c/kernels/b1_pack.c.

The packing convention (DESIGN.md, same as Larq Compute Engine's canonical order):

  * the last axis (channels, NHWC) is packed into 32-bit words; every other axis is kept;
  * channel c lives in word c // 32, bit c % 32 (bit 0 is the least significant bit);
  * bit 1 means -1 and bit 0 means +1, so an all-zero word is +1 everywhere and
    sign(0) = +1 packs to 0 — the same as XNOR-Net's binarisation (x < 0 -> -1);
  * when C is not a multiple of 32, the tail bits of the last word are 0 and no
    kernel ever counts them (XOR of two zero tails is zero; kernels that read a
    window not aligned to a word mask it).

A packed tensor of logical shape [..., C] is a uint32 array [..., words(C)].
With bit 1 = -1, the product of two binary values is a XNOR and the dot product of
two K-long vectors is ``K - 2 * popcount(a XOR w)``.
"""

from __future__ import annotations

import numpy as np

BITS = 32


def words(channels: int) -> int:
    """Number of 32-bit words holding ``channels`` packed bits."""
    return (int(channels) + BITS - 1) // BITS


def packed_nbytes(shape: tuple[int, ...]) -> int:
    """Bytes of a packed (dtype "b1") tensor of logical shape ``shape`` (channels last)."""
    outer = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    return outer * words(shape[-1]) * 4


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Packs a boolean array (True = -1) along its last axis into uint32 words."""
    bits = np.asarray(bits, dtype=bool)
    c = bits.shape[-1]
    padded = np.zeros((*bits.shape[:-1], words(c) * BITS), dtype=np.uint8)
    padded[..., :c] = bits
    # little bit order: channel 8*k + j -> bit j of byte k; 4 little-endian bytes -> one word
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u4").astype(np.uint32)


def unpack_bits(packed: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of ``pack_bits``: uint32 [..., words(C)] -> bool [..., C] (True = -1)."""
    packed = np.ascontiguousarray(np.asarray(packed, dtype="<u4"))
    as_bytes = packed.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :channels].astype(bool)


def pack_signs(x: np.ndarray) -> np.ndarray:
    """Packs real values by their XNOR-Net sign (x < 0 -> -1 -> bit 1; x >= 0 -> bit 0)."""
    return pack_bits(np.asarray(x) < 0)


def unpack_signs(packed: np.ndarray, channels: int, dtype=np.float32) -> np.ndarray:
    """Packed words -> values in {-1, +1} of shape [..., channels]."""
    return np.where(unpack_bits(packed, channels), -1, 1).astype(dtype)


def popcount(words_: np.ndarray) -> np.ndarray:
    """Set bits per uint32 element (NumPy >= 2 has a native bit count)."""
    return np.bitwise_count(np.asarray(words_, dtype=np.uint32)).astype(np.int32)
