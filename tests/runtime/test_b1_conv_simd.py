"""ISA variants of the binary conv (kernels.B1_VARIANTS) are bit-exact to the __ref
kernel over the same grid of channel counts, kernel sizes, strides and padding."""

import numpy as np
import pytest
from b1_helpers import CHANNELS
from cnnc.host import kernels
from cnnc.ops import b1, bitpack

VARIANTS = list(kernels.B1_VARIANTS)


@pytest.fixture(scope="module", params=VARIANTS)
def variant(request):
    name = request.param
    if not kernels.host_supports("b1", name):
        pytest.skip(f"this CPU cannot run the {name} variant")
    ffi, lib = kernels.load_b1_kernels(kernels.B1_VARIANTS[name][0])
    return name, ffi, lib


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("k", [1, 3], ids=["k1", "k3"])
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("padded", [False, True], ids=["valid", "pad"])
def test_variant_equals_ref(variant, rng, c, k, stride, padded):
    name, ffi, lib = variant
    n, h, w, co = 2, 7, 9, 65
    x = bitpack.pack_signs(rng.standard_normal((n, h, w, c)))
    wt = bitpack.pack_signs(rng.standard_normal((co, k, k, c)))
    pad = k // 2 if padded else 0
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    thr = rng.integers(-3, 4, co).astype(np.int32)  # near 0, where dots are densest
    p = ffi.new("cnnc_b1_conv_params *", {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": k, "kernel_w": k, "stride_h": stride, "stride_w": stride,
        "pad_top": pad, "pad_left": pad, "groups": 1, "pad_one": 0,
        "act_min": -np.inf, "act_max": np.inf})  # fmt: skip
    outs = {}
    for kernel in ("ref", name):
        y = np.full((n, oh, ow, bitpack.words(co)), 0xA5A5A5A5, np.uint32)
        getattr(lib, f"cnnc_b1_conv_bits__{kernel}")(
            p, ffi.from_buffer("uint32_t[]", x), ffi.from_buffer("uint32_t[]", wt),
            ffi.from_buffer("int32_t[]", thr), ffi.from_buffer("uint32_t[]", y))  # fmt: skip
        outs[kernel] = y
    dots = b1.conv_dot(x, c, wt, (stride, stride), (pad,) * 4)
    np.testing.assert_array_equal(outs["ref"], b1.bits_transform(dots, thr))
    bad = np.argwhere(outs[name] != outs["ref"])
    assert not bad.size, f"{name} != ref at {bad[0]}: {outs[name][tuple(bad[0])]:#x}"
