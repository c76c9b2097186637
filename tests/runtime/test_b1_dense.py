"""Binary dense: C == NumPy mirror bit for bit, NumPy == float +-1 matmul exactly."""

import numpy as np
import pytest
from b1_helpers import CHANNELS, call_kernel, pm1
from cnnc.host.kernels import load_b1_kernels
from cnnc.ops import b1, bitpack


@pytest.fixture(scope="module")
def kernels():
    return load_b1_kernels()


@pytest.mark.parametrize("k", CHANNELS, ids=[f"K{k}" for k in CHANNELS])
@pytest.mark.parametrize("m", [1, 17, 33], ids=["M1", "M17", "M33"])
@pytest.mark.parametrize("out", ["b1", "float32"])
def test_dense(kernels, rng, k, m, out):
    ffi, _ = kernels
    n = 5
    x, w = pm1(rng, (n, k)), pm1(rng, (m, k))
    dot = (x.astype(np.float64) @ w.astype(np.float64).T).astype(np.int32)  # the oracle
    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(w)
    np.testing.assert_array_equal(b1.dense_dot(xp, k, wp), dot)
    p = ffi.new(
        "cnnc_b1_dense_params *",
        {"n": n, "k": k, "m": m, "act_min": -np.inf, "act_max": np.inf},
    )
    if out == "b1":
        thr = rng.integers(-k, k + 2, m).astype(np.int32)
        want = bitpack.pack_bits(dot < thr)
        np.testing.assert_array_equal(b1.bits_transform(dot, thr), want)
        got = np.full(want.shape, 0xFFFFFFFF, np.uint32)
        call_kernel(kernels, "cnnc_b1_dense_bits__ref", p, xp, wp, thr, got)
    else:
        mul = rng.uniform(0.01, 1.0, m).astype(np.float32)
        bias = rng.standard_normal(m).astype(np.float32)
        want = (dot.astype(np.float32) * mul + bias).astype(np.float32)
        np.testing.assert_array_equal(b1.f32_transform(dot, mul, bias), want)
        got = np.zeros(want.shape, np.float32)
        call_kernel(kernels, "cnnc_b1_dense_f32__ref", p, xp, wp, mul, bias, got)
    np.testing.assert_array_equal(got, want)


def test_dense_ignores_stray_tail_bits_in_the_input(kernels, rng):
    """Bits past K in the last input word are not data: neither side may count them."""
    ffi, lib = kernels
    k, m = 33, 3
    x, w = pm1(rng, (1, k)), pm1(rng, (m, k))
    xp = bitpack.pack_signs(x)
    xp[:, -1] |= np.uint32(0xFFFFFFFE)  # garbage above bit 0 of word 1
    wp = bitpack.pack_signs(w)
    want = (x @ w.T).astype(np.int32)
    np.testing.assert_array_equal(b1.dense_dot(xp, k, wp), want)
    # the C kernel: with a float epilogue of 1*dot + 0 its output is the dot itself
    p = ffi.new(
        "cnnc_b1_dense_params *",
        {"n": 1, "k": k, "m": m, "act_min": -np.inf, "act_max": np.inf},
    )
    got = np.zeros((1, m), np.float32)
    ones, zeros = np.ones(m, np.float32), np.zeros(m, np.float32)
    call_kernel(kernels, "cnnc_b1_dense_f32__ref", p, xp, wp, ones, zeros, got)
    np.testing.assert_array_equal(got, want.astype(np.float32))
