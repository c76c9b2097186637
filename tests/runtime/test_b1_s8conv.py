"""The int8 conv with sign-bit outputs (cnnc_b1_s8conv_bits, the fused first layer of a
binary network): __ref equals the NumPy definition (cnnc.ops.b1.s8conv_dot < thr) bit for
bit, and every x86 row of cnnc.ops.variants for it equals __ref, over input channels 1-4,
kernels 1/3/5/7, strides, padding, output channels around the 16-channel vectors and the
64-channel pass, extreme zero points and weights, and rows too wide for the SIMD row copy
(the variants' fallback). Thresholds sit on the dots themselves (one above, at, one below a
real dot), where an off-by-one shows. A tier this CPU lacks skips, naming the flags."""

import numpy as np
import pytest
from cnnc.host.kernels import host_runs, load_b1_kernels, x86_variants
from cnnc.ops import b1, bitpack

TIERS = ["ref"] + [v for v in x86_variants("b1") if v.kernel == "cnnc_b1_s8conv_bits__ref"]


@pytest.fixture(scope="module", params=TIERS, ids=lambda v: v if v == "ref" else v.isa)
def tier(request):
    if request.param != "ref":
        reason = host_runs(request.param)
        if reason:
            pytest.skip(reason)
    ffi, lib = load_b1_kernels()
    return ("ref" if request.param == "ref" else request.param.isa), ffi, lib


def check(tier, rng, n, h, w, c, co, k, stride, pad, zp, extreme=False):
    name, ffi, lib = tier
    x = rng.integers(-128, 128, (n, h, w, c)).astype(np.int8)
    wt = rng.integers(-127, 128, (co, k, k, c)).astype(np.int8)
    if extreme:  # inputs at -128 / 127, weights at -127 / 127
        x = np.where(x < 0, -128, 127).astype(np.int8)
        wt = np.where(wt < 0, -127, 127).astype(np.int8)
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    p = {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": k, "kernel_w": k, "stride_h": stride, "stride_w": stride,
        "dilation_h": 1, "dilation_w": 1, "pad_top": pad, "pad_left": pad, "groups": 1,
        "x_zero_point": zp,
    }  # fmt: skip
    dots = b1.s8conv_dot(x, wt, p)
    # each channel's threshold is a real dot of it, plus -1, 0 or 1
    pick = dots.reshape(-1, co)[rng.integers(0, dots.size // co, co), np.arange(co)]
    thr = (pick + rng.integers(-1, 2, co)).astype(np.int32)
    want = bitpack.pack_bits(dots < thr)
    wp, tp = b1.s8conv_packed(wt, thr)
    y = np.full((n, oh, ow, bitpack.words(co)), 0xA5A5A5A5, np.uint32)  # unwritten words show
    getattr(lib, f"cnnc_b1_s8conv_bits__{name}")(
        ffi.new("cnnc_b1_s8conv_params *", p), ffi.from_buffer("int8_t[]", x),
        ffi.from_buffer("int8_t[]", wp), ffi.from_buffer("int32_t[]", tp),
        ffi.from_buffer("uint32_t[]", y))  # fmt: skip
    bad = np.argwhere(y != want)
    assert not bad.size, (
        f"{name} at {tuple(bad[0])} (c={c} co={co} k={k} s={stride} pad={pad} zp={zp}): "
        f"expected {want[tuple(bad[0])]:#010x}, got {y[tuple(bad[0])]:#010x}"
    )
    return dots


@pytest.mark.parametrize("c", [1, 2, 3, 4])
@pytest.mark.parametrize("co", [1, 16, 17, 32, 40, 64, 65, 100], ids=lambda v: f"Co{v}")
def test_equals_definition(tier, rng, c, co):
    for k, stride, pad, zp in [(3, 1, 1, 1), (3, 2, 1, -128), (1, 1, 0, 127), (5, 2, 2, 0),
                               (7, 2, 3, -5), (3, 1, 0, 37)]:  # fmt: skip
        check(tier, rng, 2, 9, 11, c, co, k, stride, pad, zp)


@pytest.mark.parametrize("zp", [-128, 127])
def test_extreme_values(tier, rng, zp):
    """Inputs and weights at their extremes: products of 255 * 127, the largest dots."""
    dots = check(tier, rng, 1, 6, 6, 4, 32, 7, 1, 3, zp, extreme=True)
    assert np.abs(dots).max() >= 255 * 127 * 10


def test_wide_rows_take_the_fallback(tier, rng):
    """A row of 3 * 700 values is wider than the SIMD row copy (2048): same bits."""
    check(tier, rng, 1, 3, 700, 3, 20, 3, 1, 1, -1)
