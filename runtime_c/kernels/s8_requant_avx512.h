/* Sixteen requantisations at once with AVX-512 (F/BW/DQ/VL), bit-exact to cnnc_requant_s8
 * (cnnc_s8.h) for every int32 accumulator and every multiplier/shift within the header's
 * contract, in both roundings; included by the AVX-512 kernels (s8_*_avx512.c, every
 * function carrying CNNC_TARGET_AVX512). The steps are s8_requant_avx2.h's, on native
 * instructions where AVX2 needed substitutes (64-bit arithmetic shift, min/max, narrowing):
 *
 * - products x * m are int64 (vpmuldq on sign-extended x, 0 <= m <= 2^31 - 1), on two
 *   halves of eight lanes;
 * - single: sat32 then clamp to [act_min, act_max] - zp is one clamp to that range (it
 *   lies inside int32), done on the int64 value;
 * - double: h = floor((x'm + 2^30) / 2^31) equals the scalar trunc((x'm + nudge) / 2^31)
 *   for both signs of x'm, and |h| < 2^31, so narrowing keeps it;
 * - clamp(r + zp, lo, hi) = clamp(r, lo - zp, hi - zp) + zp without int32 overflow.
 * Lanes outside `live` are neither loaded nor stored. */
#ifndef CNNC_S8_REQUANT_AVX512_H
#define CNNC_S8_REQUANT_AVX512_H

#include "cnnc_s8.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* The int64 products x[j] * m[j] of the even lanes j (as int64 lanes) and of the odd
 * lanes (moved down), from sixteen int32 x and m: _mm512_mul_epi32 reads the low 32 bits
 * of each 64-bit lane as signed, so no widening shuffle is needed. */
#define S8_RQ_EVEN(x, m) _mm512_mul_epi32((x), (m))
#define S8_RQ_ODD(x, m) _mm512_mul_epi32(_mm512_srli_epi64((x), 32), _mm512_srli_epi64((m), 32))

/* Sixteen int32 lanes from the low halves of the int64 lanes of even (lanes 0, 2, ..) and
 * odd (lanes 1, 3, ..). */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_rq_join_avx512(__m512i even, __m512i odd) {
    return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

/* sat32(x * 2^left) per lane, left in 0..31 (cnnc_requant_double's first step): the
 * shifted value where shifting back gives x, otherwise INT32_MIN or INT32_MAX by sign. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_sat_shl_avx512(__m512i x, __m512i left) {
    const __m512i shifted = _mm512_sllv_epi32(x, left);
    const __mmask16 over = _mm512_cmpneq_epi32_mask(_mm512_srav_epi32(shifted, left), x);
    const __m512i limit =
        _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(x, _mm512_setzero_si512()),
                                _mm512_set1_epi32(INT32_MAX), _mm512_set1_epi32(INT32_MIN));
    return _mm512_mask_blend_epi32(over, shifted, limit);
}

/* r[j] = clamp(cnnc_requant(acc[j], m[j], s[j], rounding), lo, hi), j < 16, for any
 * INT32_MIN <= lo <= hi <= INT32_MAX (lo = INT32_MIN, hi = INT32_MAX: plain requant).
 * The products are formed as int64 in even and odd halves (S8_RQ_EVEN/ODD), exactly as the
 * scalar code's int64 arithmetic; the left shift runs only when some lane has one. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_requant16_i32_avx512(__m512i acc, __m512i m, __m512i s,
                                                               int32_t rounding, int32_t lo,
                                                               int32_t hi) {
    const __m512i zero = _mm512_setzero_si512();
    if (rounding == CNNC_ROUND_ONNXRUNTIME) { /* float32 requantisation: scalar, as __ref */
        int32_t a[16], mm[16], j;
        _mm512_storeu_si512((void *)a, acc);
        _mm512_storeu_si512((void *)mm, m);
        for (j = 0; j < 16; ++j) {
            const int32_t v = cnnc_requant_onnxruntime(a[j], mm[j]);
            a[j] = v < lo ? lo : (v > hi ? hi : v);
        }
        return _mm512_loadu_si512((const void *)a);
    }
    if (rounding == CNNC_ROUND_DOUBLE) {
        const __m512i one = _mm512_set1_epi32(1);
        const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero); /* 0..31 */
        const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
        /* x' = sat32(x * 2^left); m >= 0 and |x' m| <= 2^62, so (x' m + 2^30) >> 31 is
           cnnc_requant_double's h (its truncating division of ab + nudge equals this floor
           for both signs of ab), within int32 */
        const __m512i xs = _mm512_cmpgt_epi32_mask(s, zero)
                               ? s8_sat_shl_avx512(acc, _mm512_max_epi32(s, zero))
                               : acc;
        const __m512i h =
            s8_rq_join_avx512(_mm512_srai_epi64(_mm512_add_epi64(S8_RQ_EVEN(xs, m), nudge), 31),
                              _mm512_srai_epi64(_mm512_add_epi64(S8_RQ_ODD(xs, m), nudge), 31));
        /* RoundingDivideByPOT(h, right), as in cnnc_requant_double */
        const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
        const __m512i remainder = _mm512_and_si512(h, mask);
        const __m512i threshold =
            _mm512_add_epi32(_mm512_srli_epi32(mask, 1), _mm512_srli_epi32(h, 31));
        __m512i r = _mm512_srav_epi32(h, right);
        r = _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(remainder, threshold), r, one);
        return _mm512_min_epi32(_mm512_max_epi32(r, _mm512_set1_epi32(lo)), _mm512_set1_epi32(hi));
    } else {
        const __m512i total = _mm512_sub_epi32(_mm512_set1_epi32(31), s); /* 1..62 */
        const __m512i t_even = _mm512_and_si512(total, _mm512_set1_epi64(0xFFFFFFFF));
        const __m512i t_odd = _mm512_srli_epi64(total, 32);
        const __m512i one = _mm512_set1_epi64(1);
        const __m512i lo64 = _mm512_set1_epi64(lo), hi64 = _mm512_set1_epi64(hi);
        /* |x m| < 2^62, plus the rounding term <= 2^61: exact in int64; the clamp to
           [lo, hi] (within int32) before taking the low halves */
        const __m512i v0 = _mm512_add_epi64(S8_RQ_EVEN(acc, m),
                                            _mm512_sllv_epi64(one, _mm512_sub_epi64(t_even, one)));
        const __m512i v1 = _mm512_add_epi64(S8_RQ_ODD(acc, m),
                                            _mm512_sllv_epi64(one, _mm512_sub_epi64(t_odd, one)));
        return s8_rq_join_avx512(
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(v0, t_even), lo64), hi64),
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(v1, t_odd), lo64), hi64));
    }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi) for the
 * lanes j < 16 set in live; other lanes of mult, shift and y are not touched. */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_requant16_avx512(__m512i acc, const int32_t *mult,
                                                        const int32_t *shift, int32_t rounding,
                                                        int32_t zero_point, int32_t lo, int32_t hi,
                                                        int8_t *y, __mmask16 live) {
    const __m512i m = _mm512_maskz_loadu_epi32(live, mult);
    const __m512i s = _mm512_maskz_loadu_epi32(live, shift);
    const __m512i r =
        s8_requant16_i32_avx512(acc, m, s, rounding, lo - zero_point, hi - zero_point);
    /* in [lo, hi] after adding zp, so the saturating narrowing is exact */
    _mm_mask_storeu_epi8(y, live,
                         _mm512_cvtsepi32_epi8(_mm512_add_epi32(r, _mm512_set1_epi32(zero_point))));
}

/* Sixteen outputs' requantisation with everything that depends only on the channel
 * (multiplier halves, shifts, masks, rounding terms, clamp bounds) computed once by
 * s8_rq16_prepare, for kernels that requantise many pixels of the same channels;
 * s8_rq16_store then gives s8_requant16_avx512's results.
 *   double rounding: a = right shift, b = its mask, c = left shift (left: some lane > 0);
 *   single rounding: a, b = the total shift of the even and odd lanes (as int64 lanes),
 *                    c, d = their rounding terms 2^(total - 1);
 *   onnxruntime: s8_requant16_avx512 on mult, shift. */
typedef struct {
    __m512i m, m_odd, a, b, c, d, lo, hi, zp;
    int32_t rounding, left;
    const int32_t *mult, *shift;
    int32_t zero_point, act_min, act_max;
} s8_rq16_avx512;

CNNC_TARGET_AVX512 CNNC_INLINE void s8_rq16_prepare(s8_rq16_avx512 *q, const int32_t *mult,
                                                    const int32_t *shift, __mmask16 live,
                                                    int32_t rounding, int32_t zero_point,
                                                    int32_t lo, int32_t hi) {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i one64 = _mm512_set1_epi64(1);
    const __m512i s = _mm512_maskz_loadu_epi32(live, shift);
    q->m = _mm512_maskz_loadu_epi32(live, mult);
    q->m_odd = _mm512_srli_epi64(q->m, 32);
    q->rounding = rounding;
    q->left = 0;
    q->mult = mult;
    q->shift = shift;
    q->zero_point = zero_point;
    q->act_min = lo;
    q->act_max = hi;
    q->zp = _mm512_set1_epi32(zero_point);
    if (rounding == CNNC_ROUND_DOUBLE) {
        q->a = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);   /* right, 0..31 */
        q->b = _mm512_sub_epi32(_mm512_sllv_epi32(one, q->a), one); /* its mask */
        q->c = _mm512_max_epi32(s, zero);                           /* left */
        q->d = zero;
        q->left = _mm512_cmpgt_epi32_mask(s, zero) != 0;
        q->lo = _mm512_set1_epi32(lo - zero_point);
        q->hi = _mm512_set1_epi32(hi - zero_point);
    } else {
        const __m512i total = _mm512_sub_epi32(_mm512_set1_epi32(31), s); /* 1..62 */
        q->a = _mm512_and_si512(total, _mm512_set1_epi64(0xFFFFFFFF));
        q->b = _mm512_srli_epi64(total, 32);
        q->c = _mm512_sllv_epi64(one64, _mm512_sub_epi64(q->a, one64));
        q->d = _mm512_sllv_epi64(one64, _mm512_sub_epi64(q->b, one64));
        q->lo = _mm512_set1_epi64(lo - zero_point);
        q->hi = _mm512_set1_epi64(hi - zero_point);
    }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], ...) for the lanes j set in live. */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_rq16_store(const s8_rq16_avx512 *q, __m512i acc, int8_t *y,
                                                  __mmask16 live) {
    __m512i r;
    if (q->rounding == CNNC_ROUND_DOUBLE) {
        /* as s8_requant16_i32_avx512 */
        const __m512i one = _mm512_set1_epi32(1);
        const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
        const __m512i xs = q->left ? s8_sat_shl_avx512(acc, q->c) : acc;
        const __m512i h = s8_rq_join_avx512(
            _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(xs, q->m), nudge), 31),
            _mm512_srai_epi64(
                _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(xs, 32), q->m_odd), nudge),
                31));
        const __m512i threshold =
            _mm512_add_epi32(_mm512_srli_epi32(q->b, 1), _mm512_srli_epi32(h, 31));
        r = _mm512_srav_epi32(h, q->a);
        r = _mm512_mask_add_epi32(r, _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, q->b), threshold),
                                  r, one);
        r = _mm512_min_epi32(_mm512_max_epi32(r, q->lo), q->hi);
    } else if (q->rounding != CNNC_ROUND_ONNXRUNTIME) {
        const __m512i v0 = _mm512_add_epi64(_mm512_mul_epi32(acc, q->m), q->c);
        const __m512i v1 =
            _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), q->m_odd), q->d);
        r = s8_rq_join_avx512(
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(v0, q->a), q->lo), q->hi),
            _mm512_min_epi64(_mm512_max_epi64(_mm512_srav_epi64(v1, q->b), q->lo), q->hi));
    } else {
        s8_requant16_avx512(acc, q->mult, q->shift, q->rounding, q->zero_point, q->act_min,
                            q->act_max, y, live);
        return;
    }
    /* in [lo, hi] after adding zp, so the saturating narrowing is exact */
    _mm_mask_storeu_epi8(y, live, _mm512_cvtsepi32_epi8(_mm512_add_epi32(r, q->zp)));
}

/* The requantisation of cols (1 .. 32) outputs of the same channels for many pixels (the
 * panel GEMMs of s8_tile_avx512.h and s8_tile_avx512vnni.h), prepared once. */
typedef struct {
    s8_rq16_avx512 q[2];
    __mmask16 live[2];
} s8_rq32_avx512;

CNNC_TARGET_AVX512 CNNC_INLINE void s8_rq32_prepare(s8_rq32_avx512 *q, int32_t cols,
                                                    const int32_t *mult, const int32_t *shift,
                                                    int32_t rounding, int32_t zero_point,
                                                    int32_t lo, int32_t hi) {
    int32_t h;
    for (h = 0; h < 2; ++h) {
        const int32_t left = cols - 16 * h;
        q->live[h] = left >= 16 ? 0xFFFF : (left > 0 ? (__mmask16)((1u << left) - 1) : 0);
        s8_rq16_prepare(&q->q[h], mult + 16 * h, shift + 16 * h, q->live[h], rounding, zero_point,
                        lo, hi);
    }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], ...) for the panel's outputs j. */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_rq32_store(const s8_rq32_avx512 *q, const int32_t *acc,
                                                  int8_t *y) {
    s8_rq16_store(&q->q[0], _mm512_loadu_si512((const void *)acc), y, q->live[0]);
    if (q->live[1])
        s8_rq16_store(&q->q[1], _mm512_loadu_si512((const void *)(acc + 16)), y + 16, q->live[1]);
}
#endif

#endif /* CNNC_S8_REQUANT_AVX512_H */
