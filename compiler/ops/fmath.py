"""cnnc's own float32 exp / sigmoid / tanh: the NumPy twins of runtime_c/include/cnnc_math.h.

Same operations, same order, each rounded to float32 (see the header's comment for the
algorithm and its error). Every function takes and returns float32 arrays and never calls
NumPy's exp: the C and the reference then compute identical bits on every target, which
libm's expf does not promise (glibc and newlib differ in the last bit).
"""

from __future__ import annotations

import numpy as np

F = np.float32
EXP_LO, EXP_HI = F(-104.0), F(89.0)
LOG2E = F(float.fromhex("0x1.715476p+0"))
ROUND_MAGIC = F(12582912.0)  # 1.5 * 2**23
LN2_HI = F(0.693359375)
LN2_LO = F(float.fromhex("-0x1.bd0106p-13"))
TAYLOR = [F(float.fromhex(h)) for h in ("0x1.a01a02p-13", "0x1.6c16c2p-10", "0x1.111112p-7",
                                        "0x1.555556p-5", "0x1.555556p-3")]  # fmt: skip
TANH_TINY = F(2.44140625e-4)  # 2**-12


def _pow2i(n: np.ndarray) -> np.ndarray:
    """2**n as float32 for -126 <= n <= 127 (built from the exponent bits, as the C)."""
    return ((n.astype(np.int32) + 127) << 23).astype(np.uint32).view(np.float32)


def expf(x) -> np.ndarray:
    """cnnc_expf, elementwise."""
    x = np.asarray(x, dtype=F)
    nan = np.isnan(x)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        x = np.where(x < EXP_LO, EXP_LO, np.where(x > EXP_HI, EXP_HI, x)).astype(F)
        x = np.where(nan, F(0), x).astype(F)
        z = x * LOG2E
        nf = (z + ROUND_MAGIC) - ROUND_MAGIC
        n = nf.astype(np.int32)
        r = x - nf * LN2_HI
        r = r - nf * LN2_LO
        p = np.full_like(r, TAYLOR[0])
        for c in TAYLOR[1:]:
            p = p * r + c
        for c in (F(0.5), F(1.0), F(1.0)):
            p = p * r + c
        n1 = np.trunc(n / 2).astype(np.int32)  # C's n / 2 truncates toward zero
        y = (p * _pow2i(n1)) * _pow2i(n - n1)
    return np.where(nan, np.float32(np.nan), y).astype(F)


def sigmoidf(x) -> np.ndarray:
    """cnnc_sigmoidf: 1 / (1 + exp(-x))."""
    x = np.asarray(x, dtype=F)
    with np.errstate(over="ignore", divide="ignore"):
        return (F(1.0) / (F(1.0) + expf(-x))).astype(F)


def tanhf(x) -> np.ndarray:
    """cnnc_tanhf: sign(x) * (1 - e) / (1 + e), e = exp(-2|x|); x itself when |x| < 2**-12."""
    x = np.asarray(x, dtype=F)
    a = np.abs(x)
    with np.errstate(over="ignore", invalid="ignore"):
        e = expf(a * F(-2.0))
        y = ((F(1.0) - e) / (F(1.0) + e)).astype(F)
    y = np.where(x < 0, -y, y)
    return np.where((a < TANH_TINY) | np.isnan(x), x, y).astype(F)
