"""x86 SIMD tiers of the int8 kernels (every x86-64 row of cnnc.ops.variants.VARIANTS for
cnnc_s8_{dense,pwconv,dwconv,conv}__ref; NEON runs under qemu in
tests/arm/test_s8_simd_arm.py) are bit-exact to their __ref kernels, which test_s8_conv.py
and test_s8_dense_add.py pin to the NumPy definitions (dense_s8 / conv_s8; the extreme
operand case here checks NumPy too). Every tier is compiled into one default-flags library
(target attributes); a tier this CPU lacks skips, naming the missing CPU flags.

Grids hit the tiles' edges: output/channel counts below, equal to, divisible by and above
the 8-, 16- and 32-wide blocks; row (pixel) counts below and above the 4-row tile and, for
the dense layer, 15 rows: the panel GEMM's 12 + 4 (AVX-512) and 6 + 6 + 3 (AVX2) tiles; odd and
even K (the AVX2 tile pairs rows of K, VNNI quads); 1x1 and odd spatial sizes, strides 1/2,
padding on/off, groups 1/2 for the general conv. The requantisation cases (zero points at
both ends of the int8 range, both roundings, fused clamps, multipliers from real scales and
at the requantisation contract's corners: the variants requantise eight outputs at once)
run in a loop inside each grid point, a third of them per point, rotating with the channel
count (``rotated``): every channel count meets every case over the other axes, and the
pytest grid holds the geometry only.
Whole models under each run-time tier: tests/e2e/test_dispatch.py.

To add a variant: define it beside __ref (runtime_c/kernels/s8_<family>_<tier>.c), declare
it in cnnc_s8.h and add its row to cnnc.ops.variants (which makes these tests run it).
"""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import fill_struct, host_runs, load_s8_kernels, x86_variants
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import ConvParams, DenseParams, dense_s8, pack_weights

CHANNELS = [1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 128]
ROUNDINGS = list(ROUNDING_CODES)
# (x_zero_point, y_zero_point, clamp): the ends of the range, and a fused ReLU6 / ReLU
QUANT = {
    "zp-128:127": (-128, 127, "none"),
    "zp127:-128-relu6": (127, -128, "relu6"),
    "zp-3:10-relu": (-3, 10, "relu"),
}
MULTS = ["real", "edge"]
GUARD = 16  # int8 bytes after each output, which no kernel may write
# rounding and multipliers together, where the requantisation is the dense kernels' (tested
# over the whole grid by test_dense)
REQUANT = {"single-real": ("single", "real"), "double-edge": ("double", "edge")}


# every (rounding, quant, mults) combination, run in one loop per grid point
REQUANT_CASES = [(r, q, m) for r in ROUNDINGS for q in QUANT for m in MULTS]


def rotated(cases: list, key: int, share: int = 3) -> list:
    """Every ``share``-th of ``cases``, starting at ``key % share``: grid points with
    different keys (channel counts) together run all of them."""
    return cases[key % share :: share]


@pytest.fixture(scope="module")
def variant(request):
    """(tier, ffi, lib) for an indirect `variant` parameter holding a cnnc.ops.variants row."""
    reason = host_runs(request.param)
    if reason:
        pytest.skip(reason)
    ffi, lib = load_s8_kernels()
    return request.param.isa, ffi, lib


def rows_of(kernel: str) -> list:
    """The x86 rows of cnnc_s8_<kernel>__ref, as pytest params named by their tier."""
    rows = [v for v in x86_variants("s8") if v.kernel == f"cnnc_s8_{kernel}__ref"]
    assert rows, f"cnnc.ops.variants has no x86 row for cnnc_s8_{kernel}__ref"
    return [pytest.param(v, id=v.isa) for v in rows]


def tiers_of(kernel: str):
    return pytest.mark.parametrize("variant", rows_of(kernel), indirect=True)


def clamp_bounds(y_zp: int, clamp: str, s_y: float) -> tuple[int, int]:
    if clamp == "none":
        return -128, 127
    hi = 127 if clamp == "relu" else min(127, y_zp + round(6.0 / s_y))
    return y_zp, hi


def requant_params(rng, k: int, m: int, mults: str):
    """Per-output (multiplier, shift) and the output scale. "real": from real scales, so
    outputs span the int8 range (some clamp). "edge": the contract's corners per channel:
    M = 2^-1..2^-9 with m = 2^30 (exact ties in both roundings), any m with any shift
    -31..30 (saturation), m = 0, m = 2^31 - 1 at the extreme shifts."""
    s_x, s_w = 0.02, rng.uniform(0.001, 0.01, m)
    s_y = s_x * float(np.median(s_w)) * 255 * 127 * np.sqrt(k) / 300
    mult, shift = quantize_multipliers(s_x * s_w / s_y * rng.uniform(0.25, 4.0, m))
    if mults == "edge":
        kind = rng.integers(0, 4, m)
        mult = np.select(
            [kind == 0, kind == 1, kind == 2],
            [np.full(m, 2**30), rng.integers(2**30, 2**31, m), np.zeros(m)],
            2**31 - 1,
        )
        shift = np.select([kind == 0, kind == 1, kind == 2], [
            rng.integers(-8, 1, m), rng.integers(-31, 31, m), np.zeros(m)],
            rng.choice([-31, 30], m))  # fmt: skip
    return mult.astype(np.int32), shift.astype(np.int32), s_y


def call(ffi, lib, fn: str, params, x, w, bias, mult, shift, y_len: int, fill) -> np.ndarray:
    """Runs kernel ``fn``; returns its output and checks the guard bytes after it."""
    y = np.concatenate([np.asarray(fill, np.int8).ravel(), np.full(GUARD, 0x5A, np.int8)])
    assert y.size == y_len + GUARD
    bufs = [ffi.from_buffer(t, a) for t, a in
            [("int8_t[]", x), ("int8_t[]", w), ("int32_t[]", bias), ("int32_t[]", mult),
             ("int32_t[]", shift), ("int8_t[]", y)]]  # fmt: skip
    getattr(lib, fn)(fill_struct(ffi, params), *bufs)
    assert (y[y_len:] == 0x5A).all(), f"{fn} wrote past its output"
    return y[:y_len]


def out_size(p) -> int:
    if isinstance(p, DenseParams):
        return p.n * p.m
    return p.n * p.out_h * p.out_w * p.out_c


def check_variant(variant, kernel: str, params, x, w_packed, bias, mult, shift, want=None):
    """The variant == ref over every byte (and no byte of the variant's output left
    unwritten: its buffer starts as the bitwise NOT of ref's); ref == ``want`` (the NumPy
    definition) when given."""
    name, ffi, lib = variant
    size = out_size(params)
    args = (x, w_packed, bias, mult, shift, size)
    ref = call(ffi, lib, f"{kernel}__ref", params, *args, np.full(size, 0x33, np.int8))
    if want is not None:
        assert_bit_exact(want.reshape(-1), ref, f"{kernel}__ref vs NumPy")
    got = call(ffi, lib, f"{kernel}__{name}", params, *args, ~ref)
    what = f"{kernel}__{name} vs __ref ({params})"
    assert_bit_exact(ref, got, what)


@tiers_of("dense")
@pytest.mark.parametrize("m", CHANNELS, ids=[f"M{m}" for m in CHANNELS])
@pytest.mark.parametrize("k", [1, 2, 3, 16, 17, 65], ids=lambda k: f"K{k}")
@pytest.mark.parametrize("n", [1, 5, 15], ids=lambda n: f"N{n}")
def test_dense(variant, rng, m, k, n):
    x = rng.integers(-128, 128, (n, k)).astype(np.int8)
    w = rng.integers(-127, 128, (m, k)).astype(np.int8)  # IR layout [M, K]
    bias = rng.integers(-5000, 5000, m).astype(np.int32)
    packed = pack_weights("cnnc_s8_dense__ref", w)
    for rounding, quant, mults in rotated(REQUANT_CASES, m + k):
        x_zp, y_zp, clamp = QUANT[quant]
        mult, shift, s_y = requant_params(rng, k, m, mults)
        lo, hi = clamp_bounds(y_zp, clamp, s_y)
        p = DenseParams(n, k, m, x_zp, y_zp, lo, hi, ROUNDING_CODES[rounding])
        check_variant(variant, "cnnc_s8_dense", p, x, packed, bias, mult, shift)


def conv_case(rng, c, oc, k, groups, spatial, stride, pad, quant, rounding, mults):
    """A random conv (n = 2) with real scales: (params, x, w in IR layout, bias, mult, shift)."""
    x_zp, y_zp, clamp = QUANT[quant]
    h, w_ = spatial
    oh, ow = (h + 2 * pad - k) // stride + 1, (w_ + 2 * pad - k) // stride + 1
    x = rng.integers(-128, 128, (2, h, w_, c)).astype(np.int8)
    w = rng.integers(-127, 128, (oc, k, k, c // groups)).astype(np.int8)
    bias = rng.integers(-5000, 5000, oc).astype(np.int32)
    mult, shift, s_y = requant_params(rng, k * k * c // groups, oc, mults)
    lo, hi = clamp_bounds(y_zp, clamp, s_y)
    p = ConvParams(2, h, w_, c, oh, ow, oc, k, k, stride, stride, 1, 1, pad, pad, groups, x_zp,
                   y_zp, lo, hi, ROUNDING_CODES[rounding])  # fmt: skip
    return p, x, w, bias, mult, shift


@tiers_of("pwconv")
@pytest.mark.parametrize("oc", CHANNELS, ids=[f"Co{c}" for c in CHANNELS])
@pytest.mark.parametrize("c", [1, 3, 8, 17, 33], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("spatial", [(1, 1), (7, 5)], ids=["1x1", "7x5"])
def test_pwconv(variant, rng, oc, c, spatial):
    """The pointwise conv is the dense kernel on n*h*w rows, whose requantisation grid is
    test_dense's; here the pairs of REQUANT."""
    for rounding, mults in REQUANT.values():
        for quant in rotated(list(QUANT), oc + c):
            p, x, w, bias, mult, shift = conv_case(
                rng, c, oc, 1, 1, spatial, 1, 0, quant, rounding, mults
            )
            packed = pack_weights("cnnc_s8_pwconv__ref", w)
            check_variant(variant, "cnnc_s8_pwconv", p, x, packed, bias, mult, shift)


# (spatial, kernel, padding): 1x1 inputs (every tap but the centre is padding), odd and
# even sizes, padding on and off, a 5x5 kernel
DW_GEOMETRY = {
    "1x1-k3-pad1": ((1, 1), 3, 1),
    "7x5-k3-pad1": ((7, 5), 3, 1),
    "7x5-k3-pad0": ((7, 5), 3, 0),
    "8x6-k3-pad1": ((8, 6), 3, 1),
    "9x7-k5-pad2": ((9, 7), 5, 2),
    "7x5-k1-pad0": ((7, 5), 1, 0),  # at stride 1, the per-channel scale loop (s8_dw_scale)
}


@tiers_of("dwconv")
@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("geometry", list(DW_GEOMETRY))
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
def test_dwconv(variant, rng, c, geometry, stride):
    spatial, k, pad = DW_GEOMETRY[geometry]
    for rounding, quant, mults in rotated(REQUANT_CASES, c + list(DW_GEOMETRY).index(geometry)):
        p, x, w, bias, mult, shift = conv_case(
            rng, c, c, k, c, spatial, stride, pad, quant, rounding, mults
        )
        packed = pack_weights("cnnc_s8_dwconv__ref", w)
        check_variant(variant, "cnnc_s8_dwconv", p, x, packed, bias, mult, shift)


# (spatial, kernel, padding, stride): 1x1 inputs, odd and even sizes, padding on and off,
# strides 1/2 (output rows of 1..5 pixels: the 4-pixel tile's edges), a 5x5 kernel and a
# strided 1x1 (which the pointwise kernel does not take)
CONV_GEOMETRY = {
    "1x1-k3-pad1-s1": ((1, 1), 3, 1, 1),
    "7x5-k3-pad1-s1": ((7, 5), 3, 1, 1),
    "7x5-k3-pad1-s2": ((7, 5), 3, 1, 2),
    "8x9-k3-pad0-s2": ((8, 9), 3, 0, 2),
    "9x7-k5-pad2-s1": ((9, 7), 5, 2, 1),
    "6x5-k1-pad0-s2": ((6, 5), 1, 0, 2),
}


@tiers_of("conv")
@pytest.mark.parametrize("og", CHANNELS, ids=[f"Co{c}" for c in CHANNELS])
@pytest.mark.parametrize("cg", [1, 3, 17], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("groups", [1, 2], ids=lambda g: f"g{g}")
@pytest.mark.parametrize("geometry", list(CONV_GEOMETRY))
def test_conv(variant, rng, og, cg, groups, geometry):
    """The general conv (og/cg: output/input channels per group), the pairs of REQUANT."""
    spatial, k, pad, stride = CONV_GEOMETRY[geometry]
    for rounding, mults in REQUANT.values():
        for quant in rotated(list(QUANT), og + cg + groups):
            p, x, w, bias, mult, shift = conv_case(
                rng, cg * groups, og * groups, k, groups, spatial, stride, pad, quant, rounding,
                mults,
            )  # fmt: skip
            packed = pack_weights("cnnc_s8_conv__ref", w, groups)
            check_variant(variant, "cnnc_s8_conv", p, x, packed, bias, mult, shift)


@tiers_of("dense")
@pytest.mark.parametrize("sign", ["pos", "neg", "mixed"])
@pytest.mark.parametrize("zp", [-128, 127], ids=lambda z: f"zp{z}")
def test_dense_extreme_operands(variant, sign, zp):
    """Every product at its largest magnitude, 255 * 127: x - zp = +-255 (x = 127 with
    zp = -128, x = -128 with zp = 127) times w = +-127, over K = 1001 (odd: the pair/quad
    tails too). A madd pair then reaches 2 * 255 * 127 = 64770, past int16 (where a
    vpmaddubsw path would saturate); the sums stay within int32."""
    k, m, n = 1001, 40, 5
    x = np.full((n, k), 127 if zp == -128 else -128, np.int8)
    w = np.full((m, k), 127, np.int8)
    if sign == "neg":
        w = -w
    elif sign == "mixed":
        w[:, ::3] = -127
        x[1::2] = ~x[1::2]  # some rows at x - zp = 0 .. the other end
    bias = np.zeros(m, np.int32)
    mult, shift = quantize_multipliers(np.full(m, 100.0 / (255 * 127 * k)))
    p = DenseParams(n, k, m, zp, 0, -128, 127, ROUNDING_CODES["single"])
    want = dense_s8(x, w, bias, mult, shift, p)
    assert np.abs(want).max() > 20, "the case should not round to ~0"
    packed = pack_weights("cnnc_s8_dense__ref", w)
    check_variant(variant, "cnnc_s8_dense", p, x, packed, bias, mult, shift, want)
