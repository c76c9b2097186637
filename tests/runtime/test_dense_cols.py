"""cnnc_s8_dense_cols__<isa> and cnnc_f32_dense_cols__<isa> (the column-range twins of the
x86 dense kernels that model_threads.c splits int8 dense/pointwise and float32 dense layers
with) write exactly the outputs [c0, c1) of every row, equal to the __ref kernel's bit for
bit (float32: the exact mode), and nothing else: the ranges start on panel/vector bounds or
not, end inside one or at m, cover one partial panel, and the rows reach past one
panel-row tile. A tier this CPU lacks skips, naming the flags."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import (
    fill_struct,
    host_runs,
    load_f32_kernels,
    load_s8_kernels,
    x86_variants,
)
from cnnc.ops.requant import ROUNDING_CODES, quantize_multipliers
from cnnc.ops.s8 import DenseParams, pack_weights

TIERS = ("avx2", "avx512", "avx512vnni")  # the tiers with a panel GEMM
FILL = 0x5A  # what the output holds outside [c0, c1)


RANGES = [(0, None), (0, 32), (32, None), (16, 40), (-5, None), (40, 40)]  # None: m, -5: m - 5


def tier_rows(family: str, tiers=TIERS):
    rows = {v.isa: v for v in x86_variants(family) if v.kernel == f"cnnc_{family}_dense__ref"}
    return [pytest.param(rows[t], id=t) for t in tiers]


def ranges(m: int):
    return [(c0 % m, m if c1 is None else c1) for c0, c1 in RANGES]


@pytest.mark.parametrize("variant", tier_rows("s8"))
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
    for c0, c1 in ranges(m):
        got = np.full((n, m), FILL, np.int8)
        fn(p, c0, c1, *args, ffi.from_buffer("int8_t[]", got))
        want = np.full((n, m), FILL, np.int8)
        want[:, c0:c1] = ref[:, c0:c1]
        assert_bit_exact(want.reshape(-1), got.reshape(-1), f"{variant.isa} columns {c0}:{c1}")


@pytest.mark.parametrize("variant", tier_rows("f32", ("avx2", "avx512")))
@pytest.mark.parametrize("n, k, m", [(1, 1280, 100), (3, 21, 72)], ids=["N1", "N3"])
def test_f32_dense_cols_equal_ref(variant, rng, n, k, m):
    reason = host_runs(variant)
    if reason:
        pytest.skip(reason)
    ffi, lib = load_f32_kernels()
    x = rng.standard_normal((n, k)).astype(np.float32)
    w = rng.standard_normal((k, m)).astype(np.float32)  # the kernels' layout [K, M]
    bias = rng.standard_normal(m).astype(np.float32)
    act = {"kind": 2, "min": 0.0, "max": 6.0, "alpha": 0.0}  # CNNC_ACT_RELU6
    p = ffi.new("cnnc_f32_dense_params *", {"n": n, "k": k, "m": m, "act": act})
    args = [ffi.from_buffer("float[]", a) for a in (x, w, bias)]
    ref = np.zeros((n, m), np.float32)
    lib.cnnc_f32_dense__ref(p, *args, ffi.from_buffer("float[]", ref))
    fn = getattr(lib, f"cnnc_f32_dense_cols__{variant.isa}")
    for c0, c1 in ranges(m):
        got = np.full((n, m), 7.5, np.float32)
        fn(p, c0, c1, *args, ffi.from_buffer("float[]", got))
        want = np.full((n, m), 7.5, np.float32)
        want[:, c0:c1] = ref[:, c0:c1]
        assert_bit_exact(want.reshape(-1), got.reshape(-1), f"{variant.isa} columns {c0}:{c1}")
