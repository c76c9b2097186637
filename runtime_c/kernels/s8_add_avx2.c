/* AVX2 variants of the int8 elementwise layers, bit-exact to their __ref kernels: the
 * residual add (s8_add.c), the channel concat's requantisation (s8_concat.c) and the model
 * boundary's quantise / dequantise (s8_quant.c); eight elements per step, the last
 * (size % 8) by __ref itself on the remainder. Compiled on every x86-64 build
 * (CNNC_TARGET_AVX2); run only on CPUs with AVX2 and FMA. */
#include "cnnc_s8.h"
#include "s8_requant_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Eight int8 at x minus zp as int32 lanes. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_load8_minus(const int8_t *x, __m256i zp) {
    return _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x)), zp);
}

/* Overflow (as __ref): |a - a_zp| <= 255, so (a - a_zp) << left_shift (<= 20) < 2^28; the
 * input multipliers are <= 1/2, so |a'| + |b'| < 2^28 and the int32 lane sum is exact. */
CNNC_TARGET_AVX2 void cnnc_s8_add__avx2(const cnnc_s8_add_params *p, const int8_t *a,
                                        const int8_t *b, int8_t *y) {
    const __m256i azp = _mm256_set1_epi32(p->a_zero_point),
                  bzp = _mm256_set1_epi32(p->b_zero_point);
    const __m128i ls = _mm_cvtsi32_si128(p->left_shift);
    int32_t mv[3][8], sv[3][8], i, j;
    s8_rq8_avx2 qa, qb, qy;
    if (p->rounding == CNNC_ROUND_ONNXRUNTIME) { /* float32 QLinearAdd: __ref's loop */
        cnnc_s8_add__ref(p, a, b, y);
        return;
    }
    /* the three requantisations prepared once (s8_rq8_prepare: one multiplier each) */
    for (j = 0; j < 8; ++j) {
        mv[0][j] = p->a_mult, sv[0][j] = p->a_shift;
        mv[1][j] = p->b_mult, sv[1][j] = p->b_shift;
        mv[2][j] = p->y_mult, sv[2][j] = p->y_shift;
    }
    s8_rq8_prepare(&qa, mv[0], sv[0], p->rounding, 0, INT32_MIN, INT32_MAX);
    s8_rq8_prepare(&qb, mv[1], sv[1], p->rounding, 0, INT32_MIN, INT32_MAX);
    s8_rq8_prepare(&qy, mv[2], sv[2], p->rounding, p->y_zero_point, p->act_min, p->act_max);
    for (i = 0; i + 8 <= p->size; i += 8) {
        const __m256i av = _mm256_sll_epi32(s8_load8_minus(a + i, azp), ls);
        const __m256i bv = _mm256_sll_epi32(s8_load8_minus(b + i, bzp), ls);
        const __m256i r =
            s8_rq8_run(&qy, _mm256_add_epi32(s8_rq8_run(&qa, av), s8_rq8_run(&qb, bv)));
        s8_store8_avx2(_mm256_add_epi32(r, qy.zp), y + i);
    }
    if (i < p->size) {
        cnnc_s8_add_params rest = *p;
        rest.size = p->size - i;
        cnnc_s8_add__ref(&rest, a + i, b + i, y + i);
    }
}

/* Overflow: |x - x_zero_point| <= 255; the requantisation saturates, the clamp keeps int8. */
CNNC_TARGET_AVX2 void cnnc_s8_concat__avx2(const cnnc_s8_concat_params *p, const int8_t *x,
                                           int8_t *y) {
    const __m256i zp = _mm256_set1_epi32(p->x_zero_point);
    const __m256i m = _mm256_set1_epi32(p->mult), s = _mm256_set1_epi32(p->shift);
    const int32_t lo = -128 - p->y_zero_point, hi = 127 - p->y_zero_point;
    int32_t i, ch;
    for (i = 0; i < p->outer; ++i) {
        const int8_t *xp = x + (size_t)i * p->c_in;          /* [c_in] */
        int8_t *yp = y + (size_t)i * p->c_out + p->c_offset; /* [c_in] of [c_out] */
        for (ch = 0; ch + 8 <= p->c_in; ch += 8) {
            const __m256i r =
                s8_requant8_i32_avx2(s8_load8_minus(xp + ch, zp), m, s, p->rounding, lo, hi);
            s8_store8_avx2(_mm256_add_epi32(r, _mm256_set1_epi32(p->y_zero_point)), yp + ch);
        }
        for (; ch < p->c_in; ++ch)
            yp[ch] = cnnc_requant_s8(xp[ch] - p->x_zero_point, p->mult, p->shift, p->rounding,
                                     p->y_zero_point, -128, 127);
    }
}

/* As __ref: v = x / scale (one IEEE float32 division, as divss), NaN -> 0, clamped to
 * [-512, 512], rounded half to even (vroundps nearest = numpy.rint = __ref's rounding on
 * that range), + zero_point, clamped to int8. */
CNNC_TARGET_AVX2 void cnnc_s8_quantize__avx2(const cnnc_s8_quant_params *p, const float *x,
                                             int8_t *y) {
    const __m256 scale = _mm256_set1_ps(p->scale);
    const __m256 lo = _mm256_set1_ps(-512.0f), hi = _mm256_set1_ps(512.0f);
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    int32_t i;
    for (i = 0; i + 8 <= p->size; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), scale);
        __m256i q;
        v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q)); /* NaN -> +0 */
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        q = _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        q = _mm256_add_epi32(q, zp);
        q = _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(-128)), _mm256_set1_epi32(127));
        s8_store8_avx2(q, y + i);
    }
    if (i < p->size) {
        cnnc_s8_quant_params rest = *p;
        rest.size = p->size - i;
        cnnc_s8_quantize__ref(&rest, x + i, y + i);
    }
}

/* As __ref: (float)(q - zero_point), exact, times scale (one float32 rounding, as mulss). */
CNNC_TARGET_AVX2 void cnnc_s8_dequantize__avx2(const cnnc_s8_quant_params *p, const int8_t *x,
                                               float *y) {
    const __m256 scale = _mm256_set1_ps(p->scale);
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    int32_t i;
    for (i = 0; i + 8 <= p->size; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_mul_ps(_mm256_cvtepi32_ps(s8_load8_minus(x + i, zp)), scale));
    if (i < p->size) {
        cnnc_s8_quant_params rest = *p;
        rest.size = p->size - i;
        cnnc_s8_dequantize__ref(&rest, x + i, y + i);
    }
}
#else
typedef int cnnc_s8_add_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
