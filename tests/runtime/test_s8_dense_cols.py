"""cnnc_s8_dense_cols__<isa> (the column-range twins of the x86 panel GEMMs that
model_threads.c splits int8 dense and pointwise layers with) write exactly the outputs
[c0, c1) of every row, equal to cnnc_s8_dense__ref's bit for bit, and nothing else: the
ranges start on panel bounds or not, end inside a panel or at m, cover one partial panel,
and the rows reach past one panel-row tile. A tier this CPU lacks skips, naming the flags."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import fill_struct, host_runs, load_s8_kernels, x86_variants
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import DenseParams, pack_weights

TIERS = ("avx2", "avx512", "avx512vnni")  # the tiers with a panel GEMM
FILL = 0x5A  # what the output holds outside [c0, c1)


def tier_rows():
    rows = {v.isa: v for v in x86_variants("s8") if v.kernel == "cnnc_s8_dense__ref"}
    return [pytest.param(rows[t], id=t) for t in TIERS]


@pytest.mark.parametrize("variant", tier_rows())
@pytest.mark.parametrize("n, k, m", [(1, 1280, 100), (13, 33, 72)], ids=["N1", "N13"])
def test_dense_cols_equal_ref(variant, rng, n, k, m):
    reason = host_runs(variant)
    if reason:
        pytest.skip(reason)
    ffi, lib = load_s8_kernels()
    x = rng.integers(-128, 128, (n, k)).astype(np.int8)
    w = rng.integers(-127, 128, (m, k)).astype(np.int8)  # IR layout [M, K]
    bias = rng.integers(-5000, 5000, m).astype(np.int32)
    mult, shift = quantize_multipliers(rng.uniform(0.5, 2.0, m) * 50.0 / (255 * 127 * k))
    mult, shift = mult.astype(np.int32), shift.astype(np.int32)
    p = fill_struct(ffi, DenseParams(n, k, m, -3, 5, -128, 127, ROUNDING_CODES["double"]))
    packed = pack_weights("cnnc_s8_dense__ref", w)
    args = [ffi.from_buffer(t, a) for t, a in
            [("int8_t[]", x), ("int8_t[]", packed), ("int32_t[]", bias),
             ("int32_t[]", mult), ("int32_t[]", shift)]]  # fmt: skip
    ref = np.zeros((n, m), np.int8)
    lib.cnnc_s8_dense__ref(p, *args, ffi.from_buffer("int8_t[]", ref))
    fn = getattr(lib, f"cnnc_s8_dense_cols__{variant.isa}")
    for c0, c1 in [(0, m), (0, 32), (32, m), (16, 40), (m - 5, m), (40, 40)]:
        got = np.full((n, m), FILL, np.int8)
        fn(p, c0, c1, *args, ffi.from_buffer("int8_t[]", got))
        want = np.full((n, m), FILL, np.int8)
        want[:, c0:c1] = ref[:, c0:c1]
        assert_bit_exact(want.reshape(-1), got.reshape(-1), f"{variant.isa} columns {c0}:{c1}")
