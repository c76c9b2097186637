"""Global average pooling and the squeeze-excitation product round once in "double" mode
(``cnnc.passes.quantize.once_rounded_multiplier``): their (m, s) has s = 0, so gemmlowp's
second rounding (a right shift by -s) is by 0. The pooled mean then equals the real mean
requantised to nearest, where the normalised multiplier (s = -3 for a typical pool) rounds
up every value within 1/16 below a half: a bias, measured here, that MobileNetV3-Large's
squeeze-excitation gates and classifier added up. C equals NumPy bit for bit for both
forms, in the scalar kernel and the host's SIMD variant of the pool."""

import numpy as np
import pytest
from asserts import assert_bit_exact
from cnnc.host.kernels import host_runs, run_s8_kernel, x86_variants
from cnnc.ops.requant import ROUNDING_CODES, quantize_multiplier
from cnnc.ops.s8 import GlobalAvgPoolParams, MulParams, global_avgpool_s8, mul_s8
from cnnc.passes.quantize import ONCE_ROUNDED_MAX_INPUT, once_rounded_multiplier

DOUBLE = ROUNDING_CODES["double"]


def nearest(real: np.ndarray) -> np.ndarray:
    return np.floor(real + 0.5)  # ties toward +inf, as the high multiply rounds


@pytest.mark.parametrize("hw", [9, 49, 64, 100])
def test_global_avgpool_rounds_once(rng, hw):
    c, zx, zy, s_x, s_y = 33, -7, -128, 0.0371, 0.0113
    x = rng.integers(-128, 128, (64, hw, c)).astype(np.int8)
    real = s_x / (s_y * hw)
    m, s = once_rounded_multiplier(real, hw * 255, "double")
    assert s == 0 and 0 < m < 2**31
    p = GlobalAvgPoolParams(64, hw, c, zx, zy, m, s, -128, 127, DOUBLE)
    want = global_avgpool_s8(x, p).astype(np.int64)
    exact = (x.astype(np.int64) - zx).sum(axis=1) * real
    frac = exact - np.floor(exact)
    clear = np.abs(frac - 0.5) > 1e-6  # not within float64 noise of a tie
    ref = np.clip(nearest(exact) + zy, -128, 127)
    bad = np.argwhere(clear & (want != ref))
    assert not bad.size, f"at {bad[0]}: exact {exact[tuple(bad[0])]}, got {want[tuple(bad[0])]}"
    # the normalised form's double rounding: off by one (upward) on a fraction of outputs
    m2, s2 = quantize_multiplier(real)
    twice = global_avgpool_s8(x, GlobalAvgPoolParams(64, hw, c, zx, zy, m2, s2, -128, 127,
                                                     DOUBLE)).astype(np.int64)  # fmt: skip
    assert s2 < 0 and (twice - ref).min() >= 0 and (twice != ref).any()
    tiers = [v.name for v in x86_variants("s8")
             if v.kernel == "cnnc_s8_global_avgpool__ref" and host_runs(v) is None]  # fmt: skip
    for kernel in ("cnnc_s8_global_avgpool__ref", *tiers):
        got = np.zeros((64, c), np.int8)
        run_s8_kernel(kernel, p, x, got)
        assert_bit_exact(want.astype(np.int8), got, f"{kernel} vs NumPy")


def test_mul_rounds_once_and_c_agrees(rng):
    rows, cols = 40, 17
    a = rng.integers(-128, 128, (rows, cols), dtype=np.int8)
    b = rng.integers(-128, 128, (cols,), dtype=np.int8)
    real = 0.21 * (1 / 255) / 0.173
    m, s = once_rounded_multiplier(real, 255 * 255, "double")
    assert s == 0
    p = MulParams(rows, cols, 0, 1, a_zero_point=3, b_zero_point=-128, y_zero_point=-5,
                  mult=m, shift=s, rounding=DOUBLE)  # fmt: skip
    want = mul_s8(a, b, p).astype(np.int64)
    exact = (a.astype(np.int64) - 3) * (b.astype(np.int64) + 128) * real
    clear = np.abs(exact - np.floor(exact) - 0.5) > 1e-6
    ref = np.clip(nearest(exact) - 5, -128, 127)
    assert not np.argwhere(clear & (want != ref)).size
    got = np.empty_like(a)
    run_s8_kernel("cnnc_s8_mul__ref", p, a, b, got)
    assert_bit_exact(want.astype(np.int8), got, "C vs NumPy")


def test_large_inputs_single_rounding_and_big_multipliers_keep_the_normalised_form():
    assert once_rounded_multiplier(0.01, ONCE_ROUNDED_MAX_INPUT + 1, "double")[1] < 0
    assert once_rounded_multiplier(0.01, 1000, "single") == tuple(quantize_multiplier(0.01))
    assert once_rounded_multiplier(1.5, 1000, "double") == tuple(quantize_multiplier(1.5))
