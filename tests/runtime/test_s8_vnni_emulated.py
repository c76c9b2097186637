"""The VNNI tiles' arithmetic (s8_tile_avx512vnni.h, s8_tile_avxvnni.h: x + 128 times quads
of interleaved weight rows, the weight sums, the (zp + 128) correction, K tails) is
bit-exact to __ref on a CPU without VNNI: built with CNNC_S8_EMULATE_VNNI, the one
vpdpbusd of each tile is computed with AVX2 / AVX-512BW instructions (exact: even and odd
bytes widened to int16, vpmaddwd), and everything else is the tier's code. The real
instruction is tested by test_s8_simd.py on CPUs that have it (elsewhere it skips naming
avx512_vnni / avx_vnni); qemu-x86_64 7.2 cannot run either (SIGILL), so this is the
evidence a machine like this one can give. The emulated build must contain no vpdpbusd
and the default one must (so only that instruction differs)."""

import subprocess

import numpy as np
import pytest
import test_s8_simd
from cnnc.host import cbuild
from cnnc.host.kernels import host_runs, load_s8_kernels, s8_kernel_sources, x86_variants
from cnnc.ops.requant import ROUNDING_CODES
from cnnc.ops.s8 import DenseParams, conv_s8, pack_weights
from test_s8_simd import (
    CONV_GEOMETRY,
    QUANT,
    ROUNDINGS,
    check_variant,
    clamp_bounds,
    conv_case,
    requant_params,
)

EMULATE = ("-DCNNC_S8_EMULATE_VNNI",)
# tier -> the tier whose instructions its emulation uses (the host must have those)
EMULATED_ON = {"avx512vnni": "avx512", "avxvnni": "avx2"}


def row(kernel: str, isa: str):
    return next(v for v in x86_variants("s8") if v.kernel == kernel and v.isa == isa)


@pytest.fixture(scope="module", params=list(EMULATED_ON))
def variant(request):
    name = request.param
    reason = host_runs(row("cnnc_s8_dense__ref", EMULATED_ON[name]))
    if reason:
        pytest.skip(reason)
    ffi, lib = load_s8_kernels(EMULATE)
    return name, ffi, lib


def vpdpbusd_count(cflags) -> int:
    path = cbuild.build_shared(s8_kernel_sources(), cflags=list(cflags))
    dump = subprocess.run(["objdump", "-d", str(path)], capture_output=True, text=True)
    assert dump.returncode == 0, dump.stderr
    return dump.stdout.count("vpdpbusd")


def test_emulation_replaces_only_vpdpbusd():
    assert vpdpbusd_count(()) > 0, "the default build has no vpdpbusd: VNNI tiles missing"
    assert vpdpbusd_count(EMULATE) == 0, "the emulated build still executes vpdpbusd"


CHANNELS = [1, 3, 8, 17, 31, 32, 33, 65]


@pytest.mark.parametrize("m", CHANNELS, ids=[f"M{m}" for m in CHANNELS])
@pytest.mark.parametrize("k", [1, 3, 4, 5, 17, 65], ids=lambda k: f"K{k}")
@pytest.mark.parametrize("n", [1, 5], ids=lambda n: f"N{n}")
def test_dense(variant, rng, m, k, n):
    x = rng.integers(-128, 128, (n, k)).astype(np.int8)
    w = rng.integers(-127, 128, (m, k)).astype(np.int8)
    bias = rng.integers(-5000, 5000, m).astype(np.int32)
    packed = pack_weights("cnnc_s8_dense__ref", w)
    for rounding in ROUNDINGS:
        for x_zp, y_zp, clamp in QUANT.values():
            mult, shift, s_y = requant_params(rng, k, m, "real")
            lo, hi = clamp_bounds(y_zp, clamp, s_y)
            p = DenseParams(n, k, m, x_zp, y_zp, lo, hi, ROUNDING_CODES[rounding])
            check_variant(variant, "cnnc_s8_dense", p, x, packed, bias, mult, shift)


@pytest.mark.parametrize("og", [1, 8, 17, 33], ids=lambda c: f"Co{c}")
@pytest.mark.parametrize("cg", [3, 17], ids=lambda c: f"C{c}")
@pytest.mark.parametrize("groups", [1, 2], ids=lambda g: f"g{g}")
@pytest.mark.parametrize("geometry", list(CONV_GEOMETRY))
def test_conv(variant, rng, og, cg, groups, geometry):
    spatial, k, pad, stride = CONV_GEOMETRY[geometry]
    for quant in QUANT:
        p, x, w, bias, mult, shift = conv_case(
            rng, cg * groups, og * groups, k, groups, spatial, stride, pad, quant, "double", "edge"
        )
        packed = pack_weights("cnnc_s8_conv__ref", w, groups)
        check_variant(variant, "cnnc_s8_conv", p, x, packed, bias, mult, shift)


@pytest.mark.parametrize("oc", [3, 16, 33], ids=lambda c: f"Co{c}")
@pytest.mark.parametrize("c", [5, 32], ids=lambda c: f"C{c}")
def test_pwconv(variant, rng, oc, c):
    p, x, w, bias, mult, shift = conv_case(
        rng, c, oc, 1, 1, (7, 5), 1, 0, "zp-3:10-relu", "single", "real"
    )
    want = conv_s8(x, w, bias, mult, shift, p)
    packed = pack_weights("cnnc_s8_pwconv__ref", w)
    check_variant(variant, "cnnc_s8_pwconv", p, x, packed, bias, mult, shift, want)


@pytest.mark.parametrize("sign", ["pos", "neg", "mixed"])
@pytest.mark.parametrize("zp", [-128, 127], ids=lambda z: f"zp{z}")
def test_dense_extreme_operands(variant, sign, zp):
    """test_s8_simd's largest-product case on the emulated tiles: with x + 128 = 255 or 0
    and w = +-127, the biased sums leave int32 only modulo 2^32 when K is large; here
    K = 1001 exercises the quad tail and the (zp + 128) correction at both zero points."""
    test_s8_simd.test_dense_extreme_operands(variant, sign, zp)
