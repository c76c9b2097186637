"""The requantisation pair (cnnc_s8.h <-> cnnc.ops.requant), tested before any kernel uses it.

Three sources must agree exactly: the C inline functions (through a tiny shim built
with cbuild), the vectorised NumPy functions, and an independent definition in
Python big integers written from the rounding rule's text (Fraction arithmetic,
no shifts or masks), plus hand-computed ties.
"""

from fractions import Fraction
from math import floor

import numpy as np
import pytest
from cnnc.errors import CnncError
from cnnc.host import cbuild
from cnnc.ops.requant import (
    INT32_MAX,
    INT32_MIN,
    ROUNDING_CODES,
    check_multiplier,
    quantize_multiplier,
    requantize,
)
from hypothesis import given, settings
from hypothesis import strategies as st

SHIM = r"""
#include "cnnc_s8.h"
void requant_array(const int32_t *x, const int32_t *m, const int32_t *s, int32_t *y,
                   int32_t n, int32_t rounding) {
    int32_t i;
    for (i = 0; i < n; ++i) y[i] = cnnc_requant(x[i], m[i], s[i], rounding);
}
"""
CDEF = (
    "void requant_array(const int32_t *, const int32_t *, const int32_t *, int32_t *, "
    "int32_t, int32_t);"
)


@pytest.fixture(scope="module")
def c_requant(tmp_path_factory):
    src = tmp_path_factory.mktemp("requant") / "requant_shim.c"
    src.write_text(SHIM)
    ffi, lib = cbuild.load_shared(cbuild.build_shared([src]), CDEF)

    def run(x, m, s, rounding):
        x, m, s = (
            np.ascontiguousarray(np.broadcast_to(v, np.broadcast(x, m, s).shape), np.int32).ravel()
            for v in (x, m, s)
        )
        y = np.empty_like(x)
        ptr = lambda a: ffi.cast("int32_t *", ffi.from_buffer(a))  # noqa: E731
        lib.requant_array(ptr(x), ptr(m), ptr(s), ptr(y), x.size, ROUNDING_CODES[rounding])
        return y

    return run


def round_half_up(q: Fraction) -> int:
    return floor(q + Fraction(1, 2))


def round_half_away(q: Fraction) -> int:
    return round_half_up(q) if q >= 0 else -round_half_up(-q)


def sat(v: int) -> int:
    return max(INT32_MIN, min(INT32_MAX, v))


def oracle(x: int, m: int, s: int, rounding: str) -> int:
    """The rounding rule as written in requant.py's docstring, in exact rationals."""
    if rounding == "single":
        return sat(round_half_up(Fraction(x * m) * Fraction(2) ** (s - 31)))
    xs = sat(x * 2 ** max(s, 0))
    h = round_half_up(Fraction(xs * m, 2**31))
    return round_half_away(Fraction(h, 2 ** max(-s, 0)))


def assert_all_equal(x, m, s, expected, actual, what):
    bad = np.flatnonzero(np.asarray(expected) != np.asarray(actual))
    if bad.size:
        i = bad[0]
        pytest.fail(
            f"{what}: {bad.size} mismatches; first at x={x[i]} m={m[i]} s={s[i]}: "
            f"expected {expected[i]}, actual {actual[i]}"
        )


EDGE_X = [
    INT32_MIN,
    INT32_MIN + 1,
    -(2**30),
    -65536,
    -255,
    -128,
    -3,
    -2,
    -1,
    0,
    1,
    2,
    3,
    127,
    255,
    65535,
    2**30,
    INT32_MAX - 1,
    INT32_MAX,
]
EDGE_M = [0, 1, 2**30, 2**30 + 1, 1518500250, 2**31 - 2, INT32_MAX]


@pytest.mark.parametrize("rounding", ["single", "double"])
def test_edge_grid_matches_oracle_in_c_and_numpy(c_requant, rounding):
    grid = np.array(np.meshgrid(EDGE_X, EDGE_M, np.arange(-31, 31), indexing="ij"))
    x, m, s = (g.ravel() for g in grid)
    triples = zip(x.tolist(), m.tolist(), s.tolist(), strict=True)
    want = np.array([oracle(a, b, c, rounding) for a, b, c in triples])
    assert_all_equal(x, m, s, want, requantize(x, m, s, rounding), "numpy vs oracle")
    assert_all_equal(x, m, s, want, c_requant(x, m, s, rounding), "C vs oracle")


@pytest.mark.parametrize("rounding", ["single", "double"])
@pytest.mark.parametrize("shift", [-31, -20, -9, -1, 0, 1, 7, 30], ids=lambda s: f"s{s}")
def test_random_sweep_c_equals_numpy_equals_oracle(c_requant, rng, rounding, shift):
    n = 4000
    x = np.concatenate(
        [
            rng.integers(INT32_MIN, INT32_MAX, n // 2, endpoint=True),
            rng.integers(-(2**20), 2**20, n // 2),
        ]
    )
    m = rng.integers(2**30, 2**31, n)
    s = np.full(n, shift)
    want = np.array([oracle(int(a), int(b), shift, rounding) for a, b in zip(x, m, strict=True)])
    assert_all_equal(x, m, s, want, requantize(x, m, s, rounding), "numpy vs oracle")
    assert_all_equal(x, m, s, want, c_requant(x, m, s, rounding), "C vs oracle")


# Hand-computed ties: m = 2**30 is the real multiplier 0.5 * 2**s.
@pytest.mark.parametrize(
    "x, s, single, double",
    [
        (5, 0, 3, 3),  # 2.5: both tie upward
        (-5, 0, -2, -2),  # -2.5: the high multiply ties toward +inf (VQRDMULH)
        (-1, 0, 0, 0),  # -0.5
        (1, 0, 1, 1),  # 0.5
        (-2, -1, 0, -1),  # -0.5 reached by the right shift: ties away in double mode
        (-4, -2, 0, -1),  # -0.5 again, through a 2-bit shift
        (-3, -1, -1, -1),  # -0.75
        (-6, -2, -1, -1),  # -0.75
        (3, 2, 6, 6),  # exact
        (2**30, 2, INT32_MAX, 2**30),  # 2**31: single saturates the result, double the input
        (-(2**30), 2, INT32_MIN, -(2**30)),
        (INT32_MIN, 30, INT32_MIN, -(2**30)),
    ],
)
def test_hand_computed_ties_and_saturation(c_requant, x, s, single, double):
    assert requantize(x, 2**30, s, "single") == single
    assert requantize(x, 2**30, s, "double") == double
    assert c_requant(x, 2**30, s, "single")[0] == single
    assert c_requant(x, 2**30, s, "double")[0] == double


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.5, (2**30, 0)),
        (1.0, (2**30, 1)),
        (0.75, (3 * 2**29, 0)),
        (2.0**-31, (2**30, -30)),
        (2.0**-32, (2**30, -31)),  # the smallest shift
        (2.0**-33, (0, 0)),  # shift -32 < -31: flushed to zero
        (1.0 - 2.0**-40, (2**30, 1)),  # rounds up to 2**31 -> renormalised
        (2.0**40, (INT32_MAX, 30)),
        (0.0, (0, 0)),
    ],
    ids=["half", "one", "3/4", "2^-31", "2^-32", "2^-33", "just-below-one", "huge", "zero"],
)
def test_quantize_multiplier_cases(real, expected):
    assert quantize_multiplier(real) == expected


def test_quantize_multiplier_is_accurate(rng):
    for real in 10.0 ** rng.uniform(-9, 4, 500):
        m, s = quantize_multiplier(real)
        assert 2**30 <= m <= INT32_MAX and -31 <= s <= 30
        assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0**-31


def test_contract_violations_are_refused():
    with pytest.raises(CnncError, match="shift"):
        check_multiplier(np.array([2**30]), np.array([31]))
    with pytest.raises(CnncError, match="multiplier"):
        check_multiplier(np.array([-1]), np.array([0]))
    with pytest.raises(CnncError, match="negative"):
        quantize_multiplier(-0.5)
    with pytest.raises(CnncError, match="rounding"):
        requantize(1, 2**30, 0, "banker")


@settings(max_examples=400, deadline=None)
@given(
    x=st.integers(INT32_MIN, INT32_MAX),
    m=st.one_of(st.integers(0, INT32_MAX), st.integers(2**30, INT32_MAX)),
    s=st.integers(-31, 30),
    rounding=st.sampled_from(["single", "double"]),
)
def test_property_c_equals_numpy_equals_oracle(c_requant, x, m, s, rounding):
    want = oracle(x, m, s, rounding)
    assert int(requantize(x, m, s, rounding)) == want
    assert int(c_requant(x, m, s, rounding)[0]) == want


def test_onnxruntime_mode_c_equals_numpy_on_ties_edges_and_any_bits(c_requant, rng):
    """CNNC_ROUND_ONNXRUNTIME (pre-quantised models): m holds float32 bits, y = rne(float(x)
    * M) in float32, clamped to [-32768, 32767]; C and NumPy agree on exact ties (M = 2^-k),
    the float32 rounding of x (|x| > 2^24), and on every bit pattern, NaN and inf included."""
    ties = np.arange(-4096, 4097, dtype=np.int64)
    for k in range(1, 6):
        m = np.float32(2.0**-k).view(np.int32)
        want = np.rint(ties.astype(np.float64) / 2**k).astype(np.int32)  # half to even
        np.testing.assert_array_equal(requantize(ties, m, 0, "onnxruntime"), want)
        np.testing.assert_array_equal(c_requant(ties, m, 0, "onnxruntime"), want)
    x = np.concatenate([rng.integers(INT32_MIN, INT32_MAX, 4000, endpoint=True),
                        [INT32_MIN, INT32_MAX, 0, 2**24 + 1, -(2**24) - 1]])  # fmt: skip
    bits = rng.integers(INT32_MIN, INT32_MAX, x.size, endpoint=True)
    bits[:8] = [0x7F800000, 0x7FC00000, 0x3F800000, 0x00000001, 0x33800000, 0x3EAAAAAB, 0, 1]
    s = np.zeros_like(x)
    np.testing.assert_array_equal(c_requant(x, bits, s, "onnxruntime"),
                                  requantize(x, bits, s, "onnxruntime"))  # fmt: skip
    small = np.float32(1e-3).view(np.int32)
    np.testing.assert_array_equal(c_requant(x, small, 0, "onnxruntime"),
                                  requantize(x, small, 0, "onnxruntime"))  # fmt: skip
