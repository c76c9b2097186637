/* cnnc's own float32 transcendental functions: exp, sigmoid, tanh.
 *
 * Why not libm: glibc, newlib and musl round expf differently in the last bit, and the
 * float32 contract (DESIGN.md, "No float islands in int8") says the C computes the same
 * bits on every target and equal to its NumPy twin (cnnc.ops.fmath). These use only
 * float32 +, -, *, / (each rounded once, IEEE round-to-nearest-even), integer bit
 * manipulation and comparisons, in the fixed order written here, one operation per
 * statement so no compiler may fuse a multiply and an add (builds use -ffp-contract=off
 * as well). cnnc.ops.fmath performs the same operations in the same order on float32
 * arrays; tests/runtime/test_f32_math.py checks the two bit for bit.
 *
 * exp(x): x = n*ln2 + r with n = round(x*log2(e)) (the 1.5*2^23 trick rounds half to even
 * without libm), r computed Cody-Waite style in two steps (LN2_HI has 9 significant bits,
 * so n*LN2_HI is exact for |n| <= 150), |r| <= 0.347; exp(r) by its Taylor polynomial of
 * degree 7 in Horner form (truncation 0.347^8/8! < 6e-9 relative), then scaled by
 * 2^n1 * 2^n2 (n = n1 + n2, two exact power-of-two factors, so the only rounding of the
 * scaling is the last product, also when the result is subnormal). Inputs are clamped to
 * [-104, 89] (exp overflows float32 above 88.73 and is below half the smallest subnormal
 * under -103.98), NaN returns NaN. Error: a few ulp (< 1e-6 relative) over the normal range.
 */
#ifndef CNNC_MATH_H
#define CNNC_MATH_H

#include <string.h>

#include "cnnc.h"

#define CNNC_EXP_LO (-104.0f)
#define CNNC_EXP_HI 89.0f
#define CNNC_LOG2E 0x1.715476p+0f
#define CNNC_ROUND_MAGIC 12582912.0f /* 1.5 * 2^23 */
#define CNNC_LN2_HI 0.693359375f
#define CNNC_LN2_LO (-0x1.bd0106p-13f)

CNNC_INLINE float cnnc_pow2i(int32_t n) { /* 2^n for -126 <= n <= 127 */
    const uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    CNNC_COPY(&f, &bits, sizeof f);
    return f;
}

CNNC_INLINE float cnnc_expf(float x) {
    float z, t, nf, r, p, y;
    int32_t n, n1;
    if (x != x) return x;
    x = x < CNNC_EXP_LO ? CNNC_EXP_LO : (x > CNNC_EXP_HI ? CNNC_EXP_HI : x);
    z = x * CNNC_LOG2E;
    t = z + CNNC_ROUND_MAGIC;
    nf = t - CNNC_ROUND_MAGIC; /* an integer in [-150, 128] */
    n = (int32_t)nf;
    t = nf * CNNC_LN2_HI;
    r = x - t;
    t = nf * CNNC_LN2_LO;
    r = r - t;
    p = 0x1.a01a02p-13f; /* float32(1/k!), k = 7 ... 0; hex: exact */
    p = p * r;
    p = p + 0x1.6c16c2p-10f;
    p = p * r;
    p = p + 0x1.111112p-7f;
    p = p * r;
    p = p + 0x1.555556p-5f;
    p = p * r;
    p = p + 0x1.555556p-3f;
    p = p * r;
    p = p + 0.5f;
    p = p * r;
    p = p + 1.0f;
    p = p * r;
    p = p + 1.0f;
    n1 = n / 2; /* truncates toward zero: n1 and n - n1 both in [-75, 64] */
    y = p * cnnc_pow2i(n1);
    y = y * cnnc_pow2i(n - n1);
    return y;
}

/* 1 / (1 + exp(-x)): exp(-x) = inf gives 0, NaN stays NaN. */
CNNC_INLINE float cnnc_sigmoidf(float x) {
    const float e = cnnc_expf(-x);
    const float d = 1.0f + e;
    return 1.0f / d;
}

/* sign(x) * (1 - e) / (1 + e) with e = exp(-2|x|); |x| < 2^-12 returns x (tanh x = x to
 * within x^3/3, below half an ulp of x there). Absolute error <= ~2 ulp of 1. */
CNNC_INLINE float cnnc_tanhf(float x) {
    float a, e, num, den, y;
    if (x != x) return x;
    a = x < 0.0f ? -x : x;
    if (a < 2.44140625e-4f) return x;
    e = a * -2.0f;
    e = cnnc_expf(e);
    num = 1.0f - e;
    den = 1.0f + e;
    y = num / den;
    return x < 0.0f ? -y : y;
}

#endif /* CNNC_MATH_H */
