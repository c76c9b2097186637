"""Binary max pool on packed bits: C == NumPy mirror bit for bit, and both == a float
max pool (ONNX semantics: -inf padding) of the +-1 values."""

import numpy as np
import pytest
from b1_helpers import CHANNELS
from cnnc.host.kernels import load_b1_kernels
from cnnc.ops import b1, bitpack
from numpy.lib.stride_tricks import sliding_window_view


@pytest.fixture(scope="module")
def kernels():
    return load_b1_kernels()


def float_maxpool(x, k, s, pads):
    top, left, bottom, right = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    win = sliding_window_view(xp, (k, k), axis=(1, 2))[:, ::s, ::s]
    return win.max(axis=(-2, -1))


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1)], ids=["k2s2", "k3s2", "k3s1"])
@pytest.mark.parametrize("padded", [False, True], ids=["valid", "pad"])
def test_maxpool(kernels, rng, c, k, s, padded):
    ffi, lib = kernels
    n, h, w = 2, 7, 9
    x = np.where(rng.random((n, h, w, c)) < 0.7, -1.0, 1.0).astype(np.float32)
    pads = (1, 1, 1, 1) if padded else (0, 0, 0, 0)
    want_f = float_maxpool(x, k, s, pads)
    oh, ow = want_f.shape[1:3]
    want = bitpack.pack_signs(want_f)
    xp = bitpack.pack_signs(x)
    ref = b1.maxpool_bits(xp, c, (k, k), (s, s), pads)
    np.testing.assert_array_equal(ref, want)
    p = ffi.new(
        "cnnc_b1_maxpool_params *",
        {
            "n": n,
            "h": h,
            "w": w,
            "c": c,
            "out_h": oh,
            "out_w": ow,
            "kernel_h": k,
            "kernel_w": k,
            "stride_h": s,
            "stride_w": s,
            "pad_top": pads[0],
            "pad_left": pads[1],
        },
    )
    got = np.zeros(want.shape, np.uint32)
    lib.cnnc_b1_maxpool__ref(
        p, ffi.from_buffer("uint32_t[]", xp), ffi.from_buffer("uint32_t[]", got)
    )
    np.testing.assert_array_equal(got, want)
