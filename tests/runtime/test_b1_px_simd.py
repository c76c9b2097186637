"""Binary convs of <= 128 (AVX2) / 256 (AVX-512) channels on lanes over output pixels
(b1_conv_px_avx2.h, b1_conv_px_avx512.h, and b1_conv_pq_avx512.h for 3x3 kernels at 33-128
channels, whose blocks take two output rows of <= 8 pixels: the bits output of
cnnc_b1_conv_bits__avx2 / __avx512, the int8 / float outputs of cnnc_b1_conv_s8__* and
cnnc_b1_conv_f32__*) and the AVX2 sign packing are bit-exact to their __ref kernels: 1, 2, 4
and 8 words a pixel at and around word edges, output channel counts around the per-pass
blocks (8 / words on AVX2, 16 / vectors on AVX-512) and the 32-channel word, widths around
the 8- and 16-pixel blocks (the border blocks copy and mask their window; AVX-512 takes
8-pixel blocks for rows of <= 8), kernels 1/3/5 (taps in threes and left over) with and
without padding, row strides 1/2, and shapes the pixel path declines (stride_w 2, 160
channels: 5 words) through their fallbacks. A tier this CPU lacks skips, naming the missing
flags."""

import numpy as np
import pytest
from cnnc.host.kernels import host_runs, load_b1_kernels, x86_variants
from cnnc.ops import bitpack

CTYPE = {"<u4": "uint32_t", "<i4": "int32_t", "<f4": "float", "|i1": "int8_t"}


CONV_KERNELS = ("cnnc_b1_conv_bits__ref", "cnnc_b1_conv_s8__ref", "cnnc_b1_conv_f32__ref")


def row(kernel: str, isa: str = "avx2"):
    rows = [v for v in x86_variants("b1") if v.kernel == kernel and v.isa == isa]
    assert rows, f"cnnc.ops.variants has no {isa} row for {kernel}"
    return rows[0]


@pytest.fixture(scope="module", params=["avx2", "avx512"])
def lib(request):
    """(ffi, lib, isa): the pixel-lane tier under test (pack: AVX2 only)."""
    for kernel in CONV_KERNELS:
        reason = host_runs(row(kernel, request.param))
        if reason:
            pytest.skip(reason)
    return (*load_b1_kernels(), request.param)


@pytest.fixture(scope="module")
def pack_lib():
    """(ffi, lib, "avx2"): the packing has an AVX2 tier only."""
    for kernel in ("cnnc_b1_pack__ref", "cnnc_b1_pack_s8__ref"):
        reason = host_runs(row(kernel))
        if reason:
            pytest.skip(reason)
    return (*load_b1_kernels(), "avx2")


def conv_params(ffi, n, h, w, c, co, k, stride, pad, stride_w=None):
    stride_w = stride if stride_w is None else stride_w
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride_w + 1
    p = ffi.new("cnnc_b1_conv_params *", {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": k, "kernel_w": k, "stride_h": stride, "stride_w": stride_w,
        "dilation_h": 1, "dilation_w": 1, "pad_top": pad, "pad_left": pad, "groups": 1,
        "pad_one": 0, "act_min": -1.5, "act_max": 40.0, "out_scale": 0.07,
        "out_zero_point": 3})  # fmt: skip
    return p, oh, ow


def run_both(lib, kernel, p, args, out_shape, dtype):
    ffi, clib, tier = lib
    outs = {}
    for isa in ("ref", tier):
        y = np.zeros(out_shape, dtype)
        y.view(np.uint8)[...] = 0xA5 if isa == "ref" else 0x5A  # unwritten bytes show
        c_args = [ffi.from_buffer(CTYPE[a.dtype.str] + "[]", a) for a in (*args, y)]
        getattr(clib, f"{kernel}__{isa}")(p, *c_args)
        outs[isa] = y
    bad = np.argwhere(outs[tier].view(np.uint8) != outs["ref"].view(np.uint8))
    assert not bad.size, f"{kernel} {tier} != ref at byte {tuple(bad[0])} of {out_shape}"
    return outs["ref"]


def check_conv(lib, rng, n, h, w, c, co, k, stride, pad, stride_w=None):
    ffi = lib[0]
    p, oh, ow = conv_params(ffi, n, h, w, c, co, k, stride, pad, stride_w)
    x = bitpack.pack_signs(rng.standard_normal((n, h, w, c)))
    wt = bitpack.pack_signs(rng.standard_normal((co, k, k, c)))
    thr = rng.integers(-3, 4, co).astype(np.int32)  # near 0, where dots are densest
    mul = rng.uniform(0.05, 0.5, co).astype(np.float32)
    bias = rng.uniform(-2, 2, co).astype(np.float32)
    bits = run_both(lib, "cnnc_b1_conv_bits", p, (x, wt, thr), (n, oh, ow, bitpack.words(co)),
                    np.uint32)  # fmt: skip
    run_both(lib, "cnnc_b1_conv_f32", p, (x, wt, mul, bias), (n, oh, ow, co), np.float32)
    q = run_both(lib, "cnnc_b1_conv_s8", p, (x, wt, mul, bias), (n, oh, ow, co), np.int8)
    assert len(np.unique(q)) > 1  # values differ: not all one clamp
    return bits


@pytest.mark.parametrize("c", [1, 31, 32, 33, 64, 65, 100, 128, 225, 256], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("co", [1, 7, 8, 13, 32, 40], ids=lambda c: f"Co{c}")
def test_px_conv_equals_ref(lib, rng, c, co):
    """Widths 5 (one partial block), 8 and 10 (AVX-512's 8-pixel rows, border and
    interior), 9, 17 and 33 (blocks, an interior block and a one-pixel tail), kernels 1, 3
    (AVX-512: the nine-tap tree where all rows are inside) and 5 with and without padding,
    row strides 1 and 2."""
    ones = zeros = False
    for w, k, stride, pad in ((9, 3, 1, 1), (17, 3, 1, 0), (5, 5, 2, 2), (9, 1, 1, 0),
                              (17, 5, 1, 2), (9, 3, 2, 1), (8, 3, 1, 1), (10, 3, 1, 0),
                              (33, 3, 1, 1)):  # fmt: skip
        bits = check_conv(lib, rng, 2, 6, w, c, co, k, stride, pad)
        ones, zeros = ones or bool(bits.any()), zeros or bool((~bits).any())
    assert ones and zeros  # both bit values occur: the compare is exercised


@pytest.mark.parametrize("c, stride_w", [(160, 1), (32, 2)], ids=["C160", "stride_w2"])
def test_px_fallbacks_equal_ref(lib, rng, c, stride_w):
    """Shapes outside the pixel path (5 words a pixel; stride_w 2) take the other loops."""
    check_conv(lib, rng, 1, 5, 9, c, 9, 3, 1, 1, stride_w)


@pytest.mark.parametrize("c", [1, 31, 32, 33, 64, 100], ids=lambda c: f"C{c}")
def test_pack_equals_ref(pack_lib, rng, c):
    """Sign packing of floats (with -0, NaN, +-inf) and of int8 around the zero point
    (and zero points outside int8, where every bit is alike)."""
    lib = pack_lib
    ffi = lib[0]
    rows = 7
    xf = rng.standard_normal((rows, c)).astype(np.float32)
    xf.flat[::5] = -0.0
    xf.flat[1::7] = np.nan
    xf.flat[2::11] = -np.inf
    p = ffi.new("cnnc_b1_pack_params *", {"rows": rows, "c": c, "zero_point": 0})
    run_both(lib, "cnnc_b1_pack", p, (xf,), (rows, bitpack.words(c)), np.uint32)
    xq = rng.integers(-128, 128, (rows, c)).astype(np.int8)
    for zp in (-128, -3, 0, 5, 127, 300):
        p.zero_point = zp
        got = run_both(lib, "cnnc_b1_pack_s8", p, (xq,), (rows, bitpack.words(c)), np.uint32)
        np.testing.assert_array_equal(got, bitpack.pack_signs(xq.astype(np.int32) - zp))
