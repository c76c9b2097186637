"""x86 SIMD tiers of the int8 kernels (cnnc_s8_<kernel>__<tier> as declared in cnnc_s8.h;
tiers and their CPU flags in tests/x86_tiers.py; NEON runs under qemu in
tests/arm/test_s8_simd_arm.py) are bit-exact to the __ref kernels, which are themselves
checked here against the NumPy definitions (dense_s8 / conv_s8). Every tier is compiled
into one default-flags library (target attributes); a tier this CPU lacks skips, naming
the missing CPU flags.

Grids hit the tiles' edges: output/channel counts below, equal to, divisible by and above
the 8-, 16- and 32-wide blocks; row (pixel) counts below and above the 4-row tile; odd and even
K (the AVX2 tile pairs rows of K); 1x1 and odd spatial sizes, strides 1/2, padding on/off,
groups 1/2 for the general conv; zero points at both ends of the int8 range; both
roundings; fused clamps; multipliers from real scales and at the requantisation
contract's corners (the variants requantise eight outputs at once). A whole int8
MobileNetV2 built with the variant's flags is compared layer by layer.

To add a variant: define it beside __ref (runtime_c/kernels/s8_<family>_<tier>.c), declare
it in cnnc_s8.h (which makes these tests run it), and select it there.
"""

import re
import subprocess

import numpy as np
import pytest
import x86_tiers
from asserts import assert_bit_exact
from cnnc.cbuild import host_cc, runtime_dir
from cnnc.int8_ops import (
    ConvParams,
    DenseParams,
    conv_s8,
    dense_s8,
    fill_struct,
    load_s8_kernels,
    pack_weights,
)
from cnnc.requant import ROUNDING_CODES, quantize_multipliers

CHANNELS = [1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 128]
# kernel -> the x86 tiers cnnc_s8.h declares for it
DECLARED = x86_tiers.declared("cnnc_s8.h", "cnnc_s8_")
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


@pytest.fixture(scope="module")
def variant(request):
    """(tier, ffi, lib) for an indirect `variant` parameter naming the tier."""
    name = request.param
    reason = x86_tiers.skip_reason(name)
    if reason:
        pytest.skip(reason)
    ffi, lib = load_s8_kernels()
    return name, ffi, lib


def tiers_of(kernel: str):
    return pytest.mark.parametrize("variant", DECLARED[kernel], indirect=True)


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


def check_variant(variant, kernel: str, params, x, w_packed, bias, mult, shift, want):
    """ref == NumPy definition, then the variant == ref over every byte (and no byte of the
    variant's output left unwritten: its buffer starts as the bitwise NOT of ref's)."""
    name, ffi, lib = variant
    size = want.size
    args = (x, w_packed, bias, mult, shift, size)
    ref = call(ffi, lib, f"{kernel}__ref", params, *args, np.full(size, 0x33, np.int8))
    assert_bit_exact(want, ref.reshape(want.shape), f"{kernel}__ref vs NumPy")
    got = call(ffi, lib, f"{kernel}__{name}", params, *args, ~ref)
    assert_bit_exact(ref.reshape(want.shape), got.reshape(want.shape), f"{kernel}__{name} vs __ref")


@tiers_of("dense")
@pytest.mark.parametrize("m", CHANNELS, ids=[f"M{m}" for m in CHANNELS])
@pytest.mark.parametrize("k", [1, 2, 3, 16, 17, 65], ids=lambda k: f"K{k}")
@pytest.mark.parametrize("n", [1, 5, 8], ids=lambda n: f"N{n}")
@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("quant", list(QUANT))
@pytest.mark.parametrize("mults", MULTS, ids=lambda v: f"{v}-M")
def test_dense(variant, rng, m, k, n, rounding, quant, mults):
    x_zp, y_zp, clamp = QUANT[quant]
    x = rng.integers(-128, 128, (n, k)).astype(np.int8)
    w = rng.integers(-127, 128, (m, k)).astype(np.int8)  # IR layout [M, K]
    bias = rng.integers(-5000, 5000, m).astype(np.int32)
    mult, shift, s_y = requant_params(rng, k, m, mults)
    lo, hi = clamp_bounds(y_zp, clamp, s_y)
    p = DenseParams(n, k, m, x_zp, y_zp, lo, hi, ROUNDING_CODES[rounding])
    want = dense_s8(x, w, bias, mult, shift, p)
    packed = pack_weights("cnnc_s8_dense__ref", w)
    check_variant(variant, "cnnc_s8_dense", p, x, packed, bias, mult, shift, want)


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
    p = ConvParams(2, h, w_, c, oh, ow, oc, k, k, stride, stride, pad, pad, groups, x_zp, y_zp,
                   lo, hi, ROUNDING_CODES[rounding])  # fmt: skip
    return p, x, w, bias, mult, shift


@tiers_of("pwconv")
@pytest.mark.parametrize("oc", CHANNELS, ids=[f"Co{c}" for c in CHANNELS])
@pytest.mark.parametrize("c", [1, 3, 8, 17, 33], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("spatial", [(1, 1), (7, 5)], ids=["1x1", "7x5"])
@pytest.mark.parametrize("requant", list(REQUANT))
@pytest.mark.parametrize("quant", list(QUANT))
def test_pwconv(variant, rng, oc, c, spatial, requant, quant):
    """The pointwise conv is the dense kernel on n*h*w rows, whose requantisation grid is
    test_dense's; here the pairs of REQUANT."""
    rounding, mults = REQUANT[requant]
    p, x, w, bias, mult, shift = conv_case(rng, c, oc, 1, 1, spatial, 1, 0, quant, rounding, mults)
    want = conv_s8(x, w, bias, mult, shift, p)
    packed = pack_weights("cnnc_s8_pwconv__ref", w)
    check_variant(variant, "cnnc_s8_pwconv", p, x, packed, bias, mult, shift, want)


# (spatial, kernel, padding): 1x1 inputs (every tap but the centre is padding), odd and
# even sizes, padding on and off, a 5x5 kernel
DW_GEOMETRY = {
    "1x1-k3-pad1": ((1, 1), 3, 1),
    "7x5-k3-pad1": ((7, 5), 3, 1),
    "7x5-k3-pad0": ((7, 5), 3, 0),
    "8x6-k3-pad1": ((8, 6), 3, 1),
    "9x7-k5-pad2": ((9, 7), 5, 2),
}


@tiers_of("dwconv")
@pytest.mark.parametrize("c", CHANNELS, ids=[f"C{c}" for c in CHANNELS])
@pytest.mark.parametrize("geometry", list(DW_GEOMETRY))
@pytest.mark.parametrize("stride", [1, 2], ids=["s1", "s2"])
@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("quant", list(QUANT))
@pytest.mark.parametrize("mults", MULTS, ids=lambda v: f"{v}-M")
def test_dwconv(variant, rng, c, geometry, stride, rounding, quant, mults):
    spatial, k, pad = DW_GEOMETRY[geometry]
    p, x, w, bias, mult, shift = conv_case(
        rng, c, c, k, c, spatial, stride, pad, quant, rounding, mults
    )
    want = conv_s8(x, w, bias, mult, shift, p)
    packed = pack_weights("cnnc_s8_dwconv__ref", w)
    check_variant(variant, "cnnc_s8_dwconv", p, x, packed, bias, mult, shift, want)


def test_selection_by_build_flags():
    """cnnc_s8.h's selection block maps the names generated code calls to the tier the build
    flags target (and to __ref in the default build: tests/arm pins every target)."""
    src = '#include "cnnc_s8.h"\nCALLS cnnc_s8_conv cnnc_s8_dense cnnc_s8_pwconv cnnc_s8_dwconv\n'
    kernels = ("conv", "dense", "pwconv", "dwconv")
    cases = [(x86_tiers.TIER_CFLAGS["avx2"], "avx2"), ([], "ref")]
    cases.append((x86_tiers.TIER_CFLAGS["avx512"], "avx512"))
    for flags, isa in cases:
        cmd = [host_cc(), *flags, f"-I{runtime_dir() / 'include'}", "-E", "-P", "-"]
        proc = subprocess.run(cmd, input=src, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        line = next(s for s in proc.stdout.splitlines() if s.startswith("CALLS"))
        assert line.split()[1:] == [f"cnnc_s8_{k}__{isa}" for k in kernels]


@pytest.mark.parametrize("variant", ["avx2", "avx512"], indirect=True)
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_int8_model_with_simd_kernels(variant, tmp_path, monkeypatch, rounding):
    """A whole int8 MobileNetV2 (stem conv, pointwise, depthwise, dense layers), built with the
    variant's flags so generated code calls it, equals the NumPy reference bit for bit, at
    the output and at every layer."""
    import cnnc
    from cnnc import harness
    from cnnc.models import export, zoo

    name, _, _ = variant
    net = zoo.MODELS["mobilenetv2"](16, 10, 0.35, np.random.default_rng(0))
    model = export.to_onnx(net, (16, 16, 1))
    x = np.random.default_rng(1).standard_normal((24, 1, 16, 16)).astype(np.float32)
    cm = cnnc.compile(model, tmp_path / "m", precision="int8", calibration=x[:16],
                      rounding=rounding)  # fmt: skip
    model_c = (tmp_path / "m" / "model.c").read_text()
    calls = set(re.findall(r"cnnc_s8_\w+\(", model_c))
    assert {"cnnc_s8_conv(", "cnnc_s8_pwconv(", "cnnc_s8_dwconv(", "cnnc_s8_dense("} <= calls, calls
    flags = x86_tiers.TIER_CFLAGS[name]
    monkeypatch.setattr(harness, "HOST_CFLAGS", [*harness.HOST_CFLAGS, *flags])
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(harness.build(tmp_path / "m"))],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    for kernel in ("conv", "dense", "pwconv", "dwconv"):
        assert f"cnnc_s8_{kernel}__{name}" in symbols, f"{kernel}__{name} not in the model"
    want, got = cm.reference(x), cm.run(x)
    assert len(np.unique(want.argmax(axis=1))) > 1, "degenerate model: one class everywhere"
    assert_bit_exact(want, got, f"int8 MobileNetV2 with {name} vs NumPy")
    # every layer's raw output bytes, so no difference can hide behind a later clamp
    values = cm.reference_all(x[:2])
    for n, node in enumerate(cm.graph.nodes, start=1):
        ref_bytes = [np.ascontiguousarray(values[node.outputs[0]][s]).tobytes() for s in (0, 1)]
        assert cm.run_layers(x[:2], n) == ref_bytes, f"layer {n} ({node.name}, {node.op})"


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
@pytest.mark.parametrize("requant", list(REQUANT))
@pytest.mark.parametrize("quant", list(QUANT))
def test_conv(variant, rng, og, cg, groups, geometry, requant, quant):
    """The general conv (og/cg: output/input channels per group)."""
    spatial, k, pad, stride = CONV_GEOMETRY[geometry]
    rounding, mults = REQUANT[requant]
    p, x, w, bias, mult, shift = conv_case(
        rng, cg * groups, og * groups, k, groups, spatial, stride, pad, quant, rounding, mults
    )
    want = conv_s8(x, w, bias, mult, shift, p)
    packed = pack_weights("cnnc_s8_conv__ref", w, groups)
    check_variant(variant, "cnnc_s8_conv", p, x, packed, bias, mult, shift, want)


@pytest.mark.parametrize("variant", sorted(set(DECLARED["dense"])), indirect=True)
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
