/* Eight requantisations at once with AVX2, bit-exact to cnnc_requant_s8 (cnnc_s8.h) for
 * every int32 accumulator and every multiplier/shift within the header's contract, in both
 * roundings; included by the AVX2 kernels (s8_*_avx2.c; every function carries
 * CNNC_TARGET_AVX2, so they compile under the default flags). Each step mirrors the scalar
 * definition; where AVX2 lacks an instruction the substitute is exact:
 *
 * - products x * m are int64 (_mm256_mul_epi32 on sign-extended x, m >= 0), on two
 *   halves of four lanes each;
 * - arithmetic right shift of int64 by n in 0..63 (AVX2 has only the logical one): with
 *   b = 2^63, floor(v / 2^n) = ((v + b) >>> n) - (b >>> n), and v + b is v ^ b;
 * - single: sat32 then clamp to [act_min, act_max] - zp equals one clamp to that range
 *   (it lies inside int32), done on the int64 value;
 * - double: h = trunc((x'm + nudge) / 2^31) is floor((x'm + 2^30) / 2^31) for both signs of
 *   x'm (nudge = 1 - 2^30 and truncation toward zero add up to the same), and |h| < 2^31,
 *   so its low 32 bits come out of a logical shift unchanged;
 * - clamp(r + zp, lo, hi) = clamp(r, lo - zp, hi - zp) + zp, with no int32 overflow where r
 *   is saturated (the scalar code adds in int64). */
#ifndef CNNC_S8_REQUANT_AVX2_H
#define CNNC_S8_REQUANT_AVX2_H

#include "cnnc_s8.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Arithmetic shift right of int64 lanes by per-lane counts 0..63. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_srav_epi64(__m256i v, __m256i n) {
    const __m256i b = _mm256_set1_epi64x(INT64_MIN);
    return _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_xor_si256(v, b), n), _mm256_srlv_epi64(b, n));
}

/* int64 lanes clamped to [lo, hi]. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_clamp_epi64(__m256i v, __m256i lo, __m256i hi) {
    v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
    return _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
}

/* The low 32 bits of int64 lanes a (elements 0..3) and b (4..7) as eight int32 lanes. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_narrow_epi64(__m256i a, __m256i b) {
    const __m256i low = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    return _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(a, low),
                                     _mm256_permutevar8x32_epi32(b, low), 0x20);
}

/* Four lanes (int32 in 64-bit lanes: x sign-, m and counts zero-extended) of
 * single rounding: clamp(floor((x*m + 2^(30-s)) / 2^(31-s)), lo, hi) with total = 31 - s. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_single_half(__m256i x, __m256i m, __m256i total, __m256i lo,
                                                    __m256i hi) {
    const __m256i round =
        _mm256_sllv_epi64(_mm256_set1_epi64x(1), _mm256_sub_epi64(total, _mm256_set1_epi64x(1)));
    const __m256i v = _mm256_add_epi64(_mm256_mul_epi32(x, m), round); /* |v| < 2^62 + 2^61 */
    return s8_clamp_epi64(s8_srav_epi64(v, total), lo, hi);
}

/* Four lanes of the double rounding's high multiply: h = floor((sat32(x*2^left)*m + 2^30)
 * / 2^31) in the low 32 bits of each 64-bit lane. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_double_high_half(__m256i x, __m256i m, __m256i left) {
    const __m256i xs = s8_clamp_epi64(_mm256_sllv_epi64(x, left), /* |x|*2^30 < 2^62 */
                                      _mm256_set1_epi64x(INT32_MIN), _mm256_set1_epi64x(INT32_MAX));
    const __m256i ab = _mm256_mul_epi32(xs, m); /* |ab| <= 2^62 */
    return _mm256_srli_epi64(_mm256_add_epi64(ab, _mm256_set1_epi64x((int64_t)1 << 30)), 31);
}

/* r[j] = clamp(cnnc_requant(acc[j], mult[j], shift[j], rounding), lo, hi), j < 8, for any
 * INT32_MIN <= lo <= hi <= INT32_MAX: with lo = INT32_MIN, hi = INT32_MAX the plain
 * requantisation (the single rounding's sat32 is that clamp). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_requant8_i32_avx2(__m256i acc, __m256i m, __m256i s,
                                                          int32_t rounding, int32_t lo,
                                                          int32_t hi) {
    const __m128i acc_lo = _mm256_castsi256_si128(acc), acc_hi = _mm256_extracti128_si256(acc, 1);
    const __m256i x0 = _mm256_cvtepi32_epi64(acc_lo), x1 = _mm256_cvtepi32_epi64(acc_hi);
    const __m256i m0 = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(m));
    const __m256i m1 = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(m, 1));
    __m256i r;
    if (rounding == CNNC_ROUND_ONNXRUNTIME) { /* float32 requantisation: scalar, as __ref */
        int32_t a[8], mm[8], j;
        _mm256_storeu_si256((__m256i *)a, acc);
        _mm256_storeu_si256((__m256i *)mm, m);
        for (j = 0; j < 8; ++j) {
            const int32_t v = cnnc_requant_onnxruntime(a[j], mm[j]);
            a[j] = v < lo ? lo : (v > hi ? hi : v);
        }
        return _mm256_loadu_si256((const __m256i *)a);
    }
    if (rounding == CNNC_ROUND_DOUBLE) {
        const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
        const __m256i left = _mm256_max_epi32(s, zero);
        const __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero); /* 0..31 */
        const __m256i h = s8_narrow_epi64(
            s8_double_high_half(x0, m0, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(left))),
            s8_double_high_half(x1, m1, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(left, 1))));
        /* RoundingDivideByPOT(h, right), as in cnnc_requant_double */
        const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
        const __m256i remainder = _mm256_and_si256(h, mask);
        const __m256i threshold =
            _mm256_add_epi32(_mm256_srli_epi32(mask, 1), _mm256_srli_epi32(h, 31));
        r = _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(remainder, threshold));
        r = _mm256_min_epi32(_mm256_max_epi32(r, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
    } else {
        const __m256i total = _mm256_sub_epi32(_mm256_set1_epi32(31), s); /* 1..62 */
        const __m256i lo64 = _mm256_set1_epi64x(lo), hi64 = _mm256_set1_epi64x(hi);
        r = s8_narrow_epi64(
            s8_single_half(x0, m0, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(total)), lo64,
                           hi64),
            s8_single_half(x1, m1, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(total, 1)), lo64,
                           hi64));
    }
    return r;
}

/* Eight int32 lanes, each in [-128, 127], stored as int8. */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_store8_avx2(__m256i r, int8_t *y) {
    const __m128i r16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storel_epi64((__m128i *)y, _mm_packs_epi16(r16, r16));
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < 8. */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_requant8_avx2(__m256i acc, const int32_t *mult,
                                                   const int32_t *shift, int32_t rounding,
                                                   int32_t zero_point, int32_t lo, int32_t hi,
                                                   int8_t *y) {
    const __m256i m = _mm256_loadu_si256((const __m256i *)mult);
    const __m256i s = _mm256_loadu_si256((const __m256i *)shift);
    const __m256i r = s8_requant8_i32_avx2(acc, m, s, rounding, lo - zero_point, hi - zero_point);
    s8_store8_avx2(_mm256_add_epi32(r, _mm256_set1_epi32(zero_point)), y); /* in [lo, hi] */
}

/* Eight outputs' requantisation with what depends only on the channel computed once by
 * s8_rq8_prepare, for kernels that requantise many pixels of the same channels. The
 * double rounding without left shifts (the usual case: every multiplier below 1) takes the
 * short form below: the int64 products of the even lanes and of the odd lanes (moved down)
 * come from _mm256_mul_epi32 directly, with no widening or narrowing shuffles; h's low 32
 * bits out of a logical shift as in s8_double_high_half. Other cases call
 * s8_requant8_i32_avx2 with the channel's mult and shift. */
typedef struct {
    __m256i m, m_odd, right, mask, lo, hi, zp;
    int32_t fast; /* double rounding, every shift <= 0 */
    int32_t rounding, act_lo, act_hi;
    const int32_t *mult, *shift;
} s8_rq8_avx2;

/* mult, shift: 8 readable int32 each (the caller pads partial blocks). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_rq8_prepare(s8_rq8_avx2 *q, const int32_t *mult,
                                                 const int32_t *shift, int32_t rounding,
                                                 int32_t zero_point, int32_t lo, int32_t hi) {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    const __m256i s = _mm256_loadu_si256((const __m256i *)shift);
    q->m = _mm256_loadu_si256((const __m256i *)mult);
    q->m_odd = _mm256_srli_epi64(q->m, 32);
    q->right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero); /* 0..31 */
    q->mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, q->right), one);
    q->lo = _mm256_set1_epi32(lo - zero_point);
    q->hi = _mm256_set1_epi32(hi - zero_point);
    q->zp = _mm256_set1_epi32(zero_point);
    q->fast =
        rounding == CNNC_ROUND_DOUBLE && _mm256_movemask_epi8(_mm256_cmpgt_epi32(s, zero)) == 0;
    q->rounding = rounding;
    q->act_lo = lo - zero_point;
    q->act_hi = hi - zero_point;
    q->mult = mult;
    q->shift = shift;
}

/* r[j] = clamp(cnnc_requant(acc[j], mult[j], shift[j], rounding), lo - zp, hi - zp), so
 * that r[j] + zp is cnnc_requant_s8's y[j] (as s8_requant8_i32_avx2 with those bounds). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_rq8_run(const s8_rq8_avx2 *q, __m256i acc) {
    if (q->fast) {
        const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
        const __m256i even =
            _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(acc, q->m), nudge), 31);
        const __m256i odd = _mm256_srli_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(acc, 32), q->m_odd), nudge), 31);
        const __m256i h = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
        const __m256i threshold =
            _mm256_add_epi32(_mm256_srli_epi32(q->mask, 1), _mm256_srli_epi32(h, 31));
        const __m256i r =
            _mm256_sub_epi32(_mm256_srav_epi32(h, q->right),
                             _mm256_cmpgt_epi32(_mm256_and_si256(h, q->mask), threshold));
        return _mm256_min_epi32(_mm256_max_epi32(r, q->lo), q->hi);
    }
    return s8_requant8_i32_avx2(acc, _mm256_loadu_si256((const __m256i *)q->mult),
                                _mm256_loadu_si256((const __m256i *)q->shift), q->rounding,
                                q->act_lo, q->act_hi);
}
#endif

#endif /* CNNC_S8_REQUANT_AVX2_H */
