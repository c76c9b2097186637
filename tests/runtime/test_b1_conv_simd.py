"""x86 ISA tiers of the binary conv and dense (the x86 rows of cnnc.ops.variants.VARIANTS for
cnnc_b1_conv_bits__ref / cnnc_b1_dense_bits__ref, with their CPU flags) are bit-exact to
the __ref kernel over one grid: channel counts around the word edges, output channel counts
around the 4-filter block (1, 3, 4, 5, 65), kernel sizes, strides, padding, runs longer than the
byte-counter flush (AVX2: 248 words, AVX-512: 496), and the per-channel paths (groups 2,
one padding). All tiers are compiled into one default-flags library; a tier this CPU
lacks skips, naming the missing flags. NEON: tests/arm/test_b1_conv_neon.py."""

import numpy as np
import pytest
from b1_helpers import CHANNELS
from cnnc.host.kernels import host_runs, load_b1_kernels, x86_variants
from cnnc.ops import b1, bitpack


def rows_of(kernel: str) -> list:
    rows = [v for v in x86_variants("b1") if v.kernel == kernel]
    assert rows, f"cnnc.ops.variants has no x86 row for {kernel}"
    return [pytest.param(v, id=v.isa) for v in rows]


@pytest.fixture(scope="module", params=rows_of("cnnc_b1_conv_bits__ref"))
def tier(request):
    """(tier, ffi, lib) of a cnnc.ops.variants row; the conv rows, or indirectly a test's."""
    reason = host_runs(request.param)
    if reason:
        pytest.skip(reason)
    ffi, lib = load_b1_kernels()
    return request.param.isa, ffi, lib


def check_tier(tier, rng, n, h, w, c, co, k, stride, pad, groups=1, pad_one=0):
    name, ffi, lib = tier
    x = bitpack.pack_signs(rng.standard_normal((n, h, w, c)))
    wt = bitpack.pack_signs(rng.standard_normal((co, k, k, c // groups)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    thr = rng.integers(-3, 4, co).astype(np.int32)  # near 0, where dots are densest
    p = ffi.new("cnnc_b1_conv_params *", {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": k, "kernel_w": k, "stride_h": stride, "stride_w": stride,
        "dilation_h": 1, "dilation_w": 1,
        "pad_top": pad, "pad_left": pad, "groups": groups, "pad_one": pad_one,
        "act_min": -np.inf, "act_max": np.inf})  # fmt: skip
    outs = {}
    for kernel in ("ref", name):
        # each output starts as the other's complement, so an unwritten word shows
        fill = 0xA5A5A5A5 if kernel == "ref" else ~outs["ref"]
        y = np.empty((n, oh, ow, bitpack.words(co)), np.uint32)
        y[...] = fill
        getattr(lib, f"cnnc_b1_conv_bits__{kernel}")(
            p, ffi.from_buffer("uint32_t[]", x), ffi.from_buffer("uint32_t[]", wt),
            ffi.from_buffer("int32_t[]", thr), ffi.from_buffer("uint32_t[]", y))  # fmt: skip
        outs[kernel] = y
    if groups == 1 and not pad_one:
        dots = b1.conv_dot(x, c, wt, (stride, stride), (pad,) * 4)
        np.testing.assert_array_equal(outs["ref"], b1.bits_transform(dots, thr))
    bad = np.argwhere(outs[name] != outs["ref"])
    assert not bad.size, (
        f"{name} != ref at {tuple(bad[0])}: expected {outs['ref'][tuple(bad[0])]:#010x}, "
        f"got {outs[name][tuple(bad[0])]:#010x}"
    )


@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("co", [1, 3, 4, 5, 65], ids=lambda c: f"Co{c}")
@pytest.mark.parametrize("k", [1, 3], ids=["k1", "k3"])
def test_tier_equals_ref(tier, rng, c, co, k):
    """Strides 1/2 and padding off/on, in one loop per grid point."""
    for stride in (1, 2):
        for pad in sorted({0, k // 2}):
            check_tier(tier, rng, 2, 7, 9, c, co, k, stride, pad)


# runs of kernel_w * WORDS(c) words past the AVX2 (248) and AVX-512 (496) byte-counter
# flush, one word over and one word short of a whole vector
@pytest.mark.parametrize("c", [2656, 5408, 5400], ids=lambda c: f"C{c}")
def test_tier_long_runs(tier, rng, c):
    check_tier(tier, rng, 1, 4, 3, c, 6, 3, 1, 1)


@pytest.mark.parametrize("c", [2, 66, 130], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("path", ["groups2", "pad_one"])
def test_tier_per_channel_paths(tier, rng, c, path):
    """The paths that popcount one channel at a time (grouped conv, one padding)."""
    groups, pad_one = (2, 0) if path == "groups2" else (1, 1)
    check_tier(tier, rng, 1, 5, 6, c, 6, 3, 1, 1, groups, pad_one)


@pytest.mark.parametrize("tier", rows_of("cnnc_b1_dense_bits__ref"), indirect=True)
@pytest.mark.parametrize("k", [*CHANNELS, 1000, 8000], ids=lambda k: f"K{k}")
@pytest.mark.parametrize("m", [1, 3, 4, 5, 33, 65], ids=lambda m: f"M{m}")
def test_dense_tier_equals_ref(tier, rng, k, m):
    """The dense bits kernel: output counts around the 4-filter block, K around word edges
    and past the byte-counter flush (8000 bits = 250 words)."""
    name, ffi, lib = tier
    n = 3
    x = bitpack.pack_signs(rng.standard_normal((n, k)))
    wt = bitpack.pack_signs(rng.standard_normal((m, k)))
    thr = rng.integers(-3, 4, m).astype(np.int32)
    p = ffi.new("cnnc_b1_dense_params *", {"n": n, "k": k, "m": m,
                                           "act_min": -np.inf, "act_max": np.inf})  # fmt: skip
    outs = {}
    for kernel in ("ref", name):
        y = np.empty((n, bitpack.words(m)), np.uint32)
        y[...] = 0xA5A5A5A5 if kernel == "ref" else ~outs["ref"]
        getattr(lib, f"cnnc_b1_dense_bits__{kernel}")(
            p, ffi.from_buffer("uint32_t[]", x), ffi.from_buffer("uint32_t[]", wt),
            ffi.from_buffer("int32_t[]", thr), ffi.from_buffer("uint32_t[]", y))  # fmt: skip
        outs[kernel] = y
    bad = np.argwhere(outs[name] != outs["ref"])
    assert not bad.size, (
        f"dense {name} != ref at {tuple(bad[0])}: expected {outs['ref'][tuple(bad[0])]:#010x}, "
        f"got {outs[name][tuple(bad[0])]:#010x}"
    )
