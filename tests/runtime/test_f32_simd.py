"""x86-64 SIMD float32 kernels (runtime_c/kernels/f32_conv_<mode>_<isa>.c) against their __ref.

Every x86 float32 row of cnnc.ops.variants.VARIANTS (grouped by tier and float mode) runs
on the same inputs and weight layout as the __ref kernel it mirrors and is compared with it:
  * exact variants (__avx2, __avx512): bit for bit (inf and -0 included); every NaN counts
    as one value, because C leaves a NaN's sign and payload open: when both operands of an
    add are NaN, x86 returns the first source operand's, and which one that is in the
    compiled __ref (gcc, clang, -O2, -O3 -march=native differ) is the compiler's choice
    of operand order for a commutative add (ARM's default NaN differs from x86's too);
  * fast variants (_fast__avx2, _fast__avx512; FMA): within 1e-4 of the output range.
The library is the one every float32 test loads (tests/runtime/f32_kernels.py: plain -O2
-std=c99 -ffp-contract=off, no -m flags), so the target attributes are what makes the
SIMD code build. A variant whose CPU features /proc/cpuinfo lacks is skipped, naming them.

Grids hit the tile edges: channel counts 1, 3, 7, 8, 9, 15, 16, 17, 33, 64 (below, equal to,
and above the 8- and 16-lane vectors and the 2-vector strips), pixel counts below and above
the 4..12-pixel tiles (1x1 and odd spatial sizes), strides 1/2, pads 0/1/asymmetric,
dilation 1/2, kernels 1x1 to 5x5, with and without bias, each fused activation. Every
output is followed by guard floats no kernel may write. A separate test feeds NaN, inf
and -0 through the exact variants; another disassembles the exact objects (gcc and clang)
and fails on any FMA instruction.

To add a variant: write it beside the others, declare it in cnnc_f32.h, add its row to
cnnc.ops.variants.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.cbuild import C_STD_FLAGS, runtime_dir
from cnnc.host.kernels import host_runs, x86_variants
from f32_kernels import ACT_CASES, act_struct, fptr, kernels

CHANNELS = [1, 3, 7, 8, 9, 15, 16, 17, 33, 64]
# the shared activation cases, plus a clip whose bounds cross (lo > hi: __ref is ONNX's
# min(max(x, lo), hi), hi throughout except NaN, where max(lo, min(hi, x)) would give lo)
ACT_CASES = {**ACT_CASES, "clip-crossed": dict(kind="clip", lo=0.5, hi=-0.25)}
ACTS = ["none", "relu", "relu6", "clip", "clip-crossed", "leaky"]
GUARD = 19  # floats after each output that no kernel may write
SENTINEL = np.float32(-12345.5)


# (tier, fast) -> {kernel ("pwconv"): its cnnc.ops.variants row}
MODES: dict[tuple[str, bool], dict] = {}
for _row in x86_variants("f32"):
    MODES.setdefault((_row.isa, _row.fast), {})[_row.kernel[len("cnnc_f32_") : -len("__ref")]] = (
        _row
    )


def mode_id(mode) -> str:
    return f"{'fast_' if mode[1] else ''}{mode[0]}"


@pytest.fixture(scope="module", params=list(MODES), ids=mode_id)
def variant(request):
    """(rows by kernel, exact, ffi, lib) of one tier and float mode."""
    rows = MODES[request.param]
    reason = host_runs(next(iter(rows.values())))
    if reason:
        pytest.skip(reason)
    ffi, lib = kernels()
    return rows, not request.param[1], ffi, lib


def c_name(kernel: str, rows) -> str:
    """The C name of ``kernel``'s row (``cnnc_f32_pwconv_fast__avx2``), or its __ref."""
    if rows == "ref":
        return f"cnnc_f32_{kernel}__ref"
    assert kernel in rows, f"cnnc.ops.variants has no row for cnnc_f32_{kernel}__ref here"
    return rows[kernel].name


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def compare(variant, kernel, call):
    """Runs `call(fn, y)` for the __ref kernel and the variant into guarded outputs."""
    rows, exact, ffi, lib = variant
    expected = call(getattr(lib, c_name(kernel, "ref")))
    actual = call(getattr(lib, c_name(kernel, rows)))
    what = c_name(kernel, rows)
    size = expected.size - GUARD
    guard = actual[size:]
    assert (guard.view(np.uint32) == SENTINEL.view(np.uint32)).all(), (
        f"{what} wrote past its output: guard {guard}"
    )
    expected, actual = expected[:size], actual[:size]
    if exact:
        assert_bit_exact(one_nan(expected), one_nan(actual), what)
        return
    finite = np.isfinite(expected)
    assert (finite == np.isfinite(actual)).all(), f"{what}: non-finite pattern differs"
    e, a = expected[finite].astype(np.float64), actual[finite].astype(np.float64)
    if e.size == 0:
        return
    tol = 1e-4 * max(float(np.ptp(e)), float(np.abs(e).max()), 1e-30)
    err = np.abs(a - e)
    if (err > tol).any():
        i = int(np.argmax(err))
        pytest.fail(
            f"{what}: {int((err > tol).sum())} values beyond {tol:.3g}; "
            f"worst at {i}: expected {e[i]!r}, actual {a[i]!r}"
        )


def one_nan(a: np.ndarray) -> np.ndarray:
    """a with every NaN (any sign and payload) replaced by the one quiet NaN."""
    return np.where(np.isnan(a), np.float32(np.nan), a)


def guarded(size):
    return np.full(size + GUARD, SENTINEL, np.float32)


def conv_call(ffi, x, w, bias, geom, act):
    """A call(fn) for compare(): the conv kernel over x[N,H,W,C] with params `geom`."""

    def call(fn):
        y = guarded(geom["n"] * geom["out_h"] * geom["out_w"] * geom["out_c"])
        params = ffi.new("cnnc_f32_conv_params *", {**geom, "act": act_struct(**ACT_CASES[act])})
        b = fptr(ffi, bias) if bias is not None else ffi.NULL
        fn(params, fptr(ffi, x), fptr(ffi, w), b, fptr(ffi, y))
        return y

    return call


def conv_geom(n, h, w, c, co, k, stride, pad, dil=(1, 1), pads_br=None):
    """params dict; `pad` is (top, left), bottom/right as given or equal to top/left."""
    kh, kw = k
    bottom, right = pads_br if pads_br is not None else pad
    oh = (h + pad[0] + bottom - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + pad[1] + right - dil[1] * (kw - 1) - 1) // stride[1] + 1
    return {
        "n": n, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
        "kernel_h": kh, "kernel_w": kw, "stride_h": stride[0], "stride_w": stride[1],
        "dilation_h": dil[0], "dilation_w": dil[1],
        "pad_top": pad[0], "pad_left": pad[1], "groups": 1,
    }  # fmt: skip


# (n, h, w) pixel grids: one pixel, fewer than a tile, and counts whose remainder after the
# 6-, 8- and 12-pixel tiles takes the 4-pixel tile and single pixels (11, 13, 17, 45)
PIXELS = {
    "1x1x1": (1, 1, 1),
    "1x1x11": (1, 1, 11),
    "1x1x13": (1, 1, 13),
    "1x1x17": (1, 1, 17),
    "2x7x3": (2, 7, 3),
    "1x5x9": (1, 5, 9),
}


def rotated(acts: list, key: int, count: int) -> list:
    """``count`` activations from ``acts``, starting at ``key``: grid points with different
    keys (channel counts) together run every activation on every pixel grid."""
    return [acts[(key + i) % len(acts)] for i in range(count)]


@pytest.mark.parametrize("c", [1, 7, 16, 33])
@pytest.mark.parametrize("co", CHANNELS)
def test_pwconv(variant, rng, co, c):
    """Every pixel grid, each with one activation rotating with the channel counts."""
    ffi = variant[2]
    for pix, act in zip(PIXELS.values(), rotated(ACTS, co + c, len(PIXELS)), strict=True):
        n, h, w = pix
        x, wt = rand(rng, n, h, w, c), rand(rng, c, co)
        bias = rand(rng, co) if (co + c) % 2 else None
        geom = conv_geom(n, h, w, c, co, (1, 1), (1, 1), (0, 0))
        compare(variant, "pwconv", conv_call(ffi, x, wt, bias, geom, act))


@pytest.mark.parametrize("act", ["none", "clip"])
@pytest.mark.parametrize("k", [1, 9, 33, 64])
@pytest.mark.parametrize("m", CHANNELS)
def test_dense(variant, rng, m, k, act):
    ffi = variant[2]
    rows = 1 if (m + k) % 2 else 13  # one row and a 13-row batch, alternating with M and K
    x, w, bias = rand(rng, rows, k), rand(rng, k, m), rand(rng, m)

    def call(fn):
        y = guarded(rows * m)
        params = ffi.new(
            "cnnc_f32_dense_params *",
            {"n": rows, "k": k, "m": m, "act": act_struct(**ACT_CASES[act])},
        )
        fn(params, fptr(ffi, x), fptr(ffi, w), fptr(ffi, bias), fptr(ffi, y))
        return y

    compare(variant, "dense", call)


# (h, w): one pixel, narrower than a 4-pixel tile, odd sizes with interior runs
DW_SPATIAL = {"1x1": (1, 1), "3x2": (3, 2), "7x9": (7, 9), "12x11": (12, 11)}
DW_PADS = {"pad0": ((0, 0), (0, 0)), "pad1": ((1, 1), (1, 1)), "pad-asym": ((0, 2), (1, 0))}


@pytest.mark.parametrize("pads", list(DW_PADS))
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("c", CHANNELS)
def test_dwconv3x3(variant, rng, c, stride, pads):
    """Every spatial size, each with one activation rotating with c and the stride."""
    ffi = variant[2]
    (top, left), (bottom, right) = DW_PADS[pads]
    acts = rotated(["none", "relu6", "clip", "leaky"], c + stride, len(DW_SPATIAL))
    for (h, w), act in zip(DW_SPATIAL.values(), acts, strict=True):
        if h + top + bottom < 3 or w + left + right < 3:
            continue
        geom = conv_geom(
            1, h, w, c, c, (3, 3), (stride, stride), (top, left), pads_br=(bottom, right)
        )
        x, wt = rand(rng, 1, h, w, c), rand(rng, 3, 3, c)
        bias = rand(rng, c) if c % 2 else None
        for kernel in ("dwconv3x3", "dwconv"):
            compare(variant, kernel, conv_call(ffi, x, wt, bias, geom, act))


# (kh, kw, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, pad_bottom, pad_right)
DW_GEOMS = {
    "1x1": (1, 1, 1, 1, 1, 1, 0, 0, 0, 0),
    "5x5-s2-p2": (5, 5, 2, 2, 1, 1, 2, 2, 2, 2),
    "3x5-s21-p12": (3, 5, 2, 1, 1, 1, 1, 2, 1, 2),
    "3x3-d2-p2": (3, 3, 1, 1, 2, 2, 2, 2, 2, 2),
    "2x3-d21-asym": (2, 3, 1, 2, 2, 1, 0, 1, 1, 0),
}


@pytest.mark.parametrize("geom_id", list(DW_GEOMS))
@pytest.mark.parametrize("c", CHANNELS)
def test_dwconv(variant, rng, c, geom_id):
    ffi = variant[2]
    kh, kw, sh, sw, dh, dw, top, left, bottom, right = DW_GEOMS[geom_id]
    sizes = [(1, 1, 1), (2, 6, 5), (1, 11, 13)]
    for (n, h, w), act in zip(sizes, rotated(["none", "relu"], c, 3), strict=True):
        if h + top + bottom < dh * (kh - 1) + 1 or w + left + right < dw * (kw - 1) + 1:
            continue
        geom = conv_geom(n, h, w, c, c, (kh, kw), (sh, sw), (top, left), (dh, dw), (bottom, right))
        x, wt, bias = rand(rng, n, h, w, c), rand(rng, kh, kw, c), rand(rng, c)
        compare(variant, "dwconv", conv_call(ffi, x, wt, bias, geom, act))


CONV_GEOMS = {
    "1x1": DW_GEOMS["1x1"],
    "3x3-s1-p1": (3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
    "3x3-s2-p1": (3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
    "3x5-s21-p12": DW_GEOMS["3x5-s21-p12"],
    "3x3-d2-p2": DW_GEOMS["3x3-d2-p2"],
    "2x3-d21-asym": DW_GEOMS["2x3-d21-asym"],
}


@pytest.mark.parametrize("geom_id", list(CONV_GEOMS))
@pytest.mark.parametrize("c", [1, 3, 17])
@pytest.mark.parametrize("co", CHANNELS)
def test_conv_oc8(variant, rng, co, c, geom_id):
    ffi = variant[2]
    kh, kw, sh, sw, dh, dw, top, left, bottom, right = CONV_GEOMS[geom_id]
    sizes = [(1, 1, 1), (1, 5, 7), (2, 9, 16)]
    for (n, h, w), act in zip(sizes, rotated(["none", "relu6"], co + c, 3), strict=True):
        if h + top + bottom < dh * (kh - 1) + 1 or w + left + right < dw * (kw - 1) + 1:
            continue
        geom = conv_geom(n, h, w, c, co, (kh, kw), (sh, sw), (top, left), (dh, dw), (bottom, right))
        x, wt = rand(rng, n, h, w, c), rand(rng, kh, kw, c, co)
        bias = rand(rng, co) if co % 2 else None
        compare(variant, "conv_oc8", conv_call(ffi, x, wt, bias, geom, act))


SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 6.0, -6.0, 1e38, -1e-45], np.float32)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("kernel", ["pwconv", "dwconv3x3", "conv_oc8"])
def test_special_values(variant, rng, kernel, act):
    """NaN, inf, -0, huge and denormal values in x, w and bias: the exact variants keep
    __ref's bits (every activation passes NaN through); fast ones keep its NaN/inf
    pattern (without the huge value: an FMA does not overflow where mul then add does)."""
    ffi, exact = variant[2], variant[1]
    specials = SPECIALS if exact else SPECIALS[np.abs(SPECIALS) != np.float32(1e38)]
    c, co, h, w = 17, 17, 6, 7

    def sprinkle(a):
        flat = a.reshape(-1)
        idx = rng.choice(flat.size, size=max(1, flat.size // 9), replace=False)
        flat[idx] = rng.choice(specials, size=idx.size)
        return a

    x = sprinkle(rand(rng, 1, h, w, c))
    bias = sprinkle(rand(rng, co))
    if kernel == "pwconv":
        geom, wt = conv_geom(1, h, w, c, co, (1, 1), (1, 1), (0, 0)), rand(rng, c, co)
    elif kernel == "dwconv3x3":
        geom, wt = conv_geom(1, h, w, c, c, (3, 3), (1, 1), (1, 1)), rand(rng, 3, 3, c)
    else:
        geom, wt = conv_geom(1, h, w, c, co, (3, 3), (2, 2), (1, 1)), rand(rng, 3, 3, c, co)
    wt = sprinkle(wt)
    compare(variant, kernel, conv_call(ffi, x, wt, bias, geom, act))


EXACT_FILES = ["f32_conv_avx2.c", "f32_conv_avx512.c"]
FMA = re.compile(r"\bvf(n?)m(add|sub)\w*")


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_exact_objects_hold_no_fma(tmp_path, cc):
    """The exact kernels compile with the plain flags (no -m) and contain no FMA; the fast
    object, built the same way, does (so the check can see one)."""
    if shutil.which(cc) is None or shutil.which("objdump") is None:
        pytest.fail(f"{cc} and objdump are part of the toolchain this project requires")
    kernels_dir = runtime_dir() / "kernels"
    for name in [*EXACT_FILES, "f32_conv_fast_avx2.c"]:
        obj = tmp_path / f"{name}.{cc}.o"
        cmd = [cc, *C_STD_FLAGS, "-O2", "-ffp-contract=off", f"-I{runtime_dir() / 'include'}"]
        subprocess.run([*cmd, "-c", str(kernels_dir / name), "-o", str(obj)], check=True)
        asm = subprocess.run(["objdump", "-d", str(obj)], capture_output=True, text=True).stdout
        fmas = FMA.findall(asm)
        if name in EXACT_FILES:
            assert not fmas, f"{name} ({cc}) holds {len(fmas)} FMA instructions"
        else:
            assert fmas, f"{name} ({cc}): no FMA found, so the check above proves nothing"
