"""The packing convention, pinned: channel c -> word c // 32, bit c % 32, bit 1 = -1,
tail bits 0; NumPy (cnnc.ops.bitpack) and C (runtime_c/kernels/b1_pack.c) agree bit for bit."""

import numpy as np
import pytest
from b1_helpers import CHANNELS
from cnnc.host.kernels import load_b1_kernels
from cnnc.ops import bitpack


@pytest.fixture(scope="module")
def kernels():
    return load_b1_kernels()


def signs(rng, shape):
    """Values in {-1, 0, +1} and small reals, never all one sign."""
    x = rng.standard_normal(shape).astype(np.float32)
    x[rng.random(shape) < 0.1] = 0.0  # sign(0) = +1 must pack to 0
    return x


def expected_words(x: np.ndarray) -> np.ndarray:
    """The convention written out with Python ints, independent of the packer."""
    c = x.shape[-1]
    rows = x.reshape(-1, c)
    out = np.zeros((rows.shape[0], (c + 31) // 32), dtype=np.uint32)
    for r, row in enumerate(rows):
        for ch in range(c):
            if row[ch] < 0:
                out[r, ch // 32] = int(out[r, ch // 32]) | (1 << (ch % 32))
    return out.reshape(*x.shape[:-1], -1)


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
def test_numpy_pack_matches_the_convention(rng, c):
    x = signs(rng, (3, 5, c))
    got = bitpack.pack_signs(x)
    np.testing.assert_array_equal(got, expected_words(x))
    assert got.shape == (3, 5, bitpack.words(c))


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
def test_unpack_inverts_pack_and_tail_bits_are_zero(rng, c):
    x = signs(rng, (7, c))
    packed = bitpack.pack_signs(x)
    np.testing.assert_array_equal(bitpack.unpack_signs(packed, c), np.where(x < 0, -1, 1))
    tail = c % 32
    if tail:
        assert not np.any(packed[..., -1] >> np.uint32(tail)), "tail bits must stay 0"


def test_hand_computed_words():
    x = np.ones(33, np.float32)
    x[[0, 5, 31, 32]] = -1.0
    np.testing.assert_array_equal(
        bitpack.pack_signs(x), np.array([(1 << 0) | (1 << 5) | (1 << 31), 1], np.uint32)
    )
    assert bitpack.pack_signs(np.float32([0.0, -0.0, 1.0]))[0] == 0  # sign(0) = sign(-0) = +1


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("rows", [1, 17], ids=["rows1", "rows17"])
def test_c_pack_equals_numpy(kernels, rng, c, rows):
    ffi, lib = kernels
    x = signs(rng, (rows, c))
    want = expected_words(x)
    got = np.full((rows, bitpack.words(c)), 0xDEADBEEF, np.uint32)  # pack must clear tails
    p = ffi.new("cnnc_b1_pack_params *", {"rows": rows, "c": c})
    lib.cnnc_b1_pack__ref(p, ffi.from_buffer("float[]", x), ffi.from_buffer("uint32_t[]", got))
    np.testing.assert_array_equal(got, want)
    back = np.zeros((rows, c), np.float32)
    lib.cnnc_b1_unpack__ref(p, ffi.from_buffer("uint32_t[]", got), ffi.from_buffer("float[]", back))
    np.testing.assert_array_equal(back, np.where(x < 0, -1, 1).astype(np.float32))


def test_portable_popcount_equals_numpy(kernels, rng):
    _, lib = kernels
    edges = [0, 1, 0x80000000, 0xFFFFFFFF, 0x55555555, 0xAAAAAAAA, 0x7FFFFFFF, 0x0F0F0F0F]
    values = np.concatenate([np.uint32(edges), rng.integers(0, 2**32, 2000, dtype=np.uint32)])
    got = np.array([lib.cnnc_b1_popcount32__portable(int(v)) for v in values])
    want = np.array([bin(int(v)).count("1") for v in values])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(bitpack.popcount(values), want)


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("zero_point", [-128, -3, 0, 127], ids=["zp-128", "zp-3", "zp0", "zp127"])
def test_c_pack_of_int8_is_the_sign_of_the_real_value(kernels, rng, c, zero_point):
    ffi, lib = kernels
    q = rng.integers(-128, 128, (5, c)).astype(np.int8)
    q[0, : min(c, 4)] = zero_point  # real value 0 -> +1
    real = (q.astype(np.float32) - zero_point) * np.float32(0.037)
    want = expected_words(real)
    got = np.full(want.shape, 0xFFFFFFFF, np.uint32)
    p = ffi.new("cnnc_b1_pack_params *", {"rows": 5, "c": c, "zero_point": zero_point})
    lib.cnnc_b1_pack_s8__ref(p, ffi.from_buffer("int8_t[]", q), ffi.from_buffer("uint32_t[]", got))
    np.testing.assert_array_equal(got, want)
