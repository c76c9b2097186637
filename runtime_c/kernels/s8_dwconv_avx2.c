/* AVX2 variant of the int8 depthwise conv, bit-exact to cnnc_s8_dwconv__ref: the loops of
 * s8_dwconv_loops.h on the hooks below. A block of 16 (8) channels lives in two (one)
 * int32x8 registers: 8 channels of x and of w are sign-extended to int32, x - zp
 * multiplied by w (_mm256_mullo_epi32, exact: |product| <= 255 * 127) and added; eight
 * requantisations at once (s8_requant_avx2.h). Compiled on every x86-64
 * build (CNNC_TARGET_AVX2); run only on CPUs with AVX2 and FMA. */
#include "cnnc_s8.h"
#include "s8_requant_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_DW_COLS 16
#define S8_TARGET CNNC_TARGET_AVX2

typedef struct {
    __m256i lo, hi; /* channels c0 .. c0+7, c0+8 .. c0+15 (hi unused when nb = 8) */
} s8_dw_acc;
typedef __m256i s8_dw_zp; /* zp in every int32 lane */

CNNC_TARGET_AVX2 CNNC_INLINE s8_dw_zp s8_dw_zero_point(int32_t zp) { return _mm256_set1_epi32(zp); }

CNNC_TARGET_AVX2 CNNC_INLINE s8_dw_acc s8_dw_init(const int32_t *bias, int32_t nb) {
    s8_dw_acc a;
    a.lo = _mm256_loadu_si256((const __m256i *)bias);
    a.hi = nb == 16 ? _mm256_loadu_si256((const __m256i *)(bias + 8)) : _mm256_setzero_si256();
    return a;
}

/* x - zp and w of 8 channels as int32 lanes, multiplied. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_dw_tap8(const int8_t *x, const int8_t *w, __m256i zp) {
    const __m256i xv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x));
    const __m256i wv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)w));
    return _mm256_mullo_epi32(_mm256_sub_epi32(xv, zp), wv);
}

CNNC_TARGET_AVX2 CNNC_INLINE void s8_dw_tap(s8_dw_acc *a, const int8_t *x, const int8_t *w,
                                            s8_dw_zp zp, int32_t nb) {
    a->lo = _mm256_add_epi32(a->lo, s8_dw_tap8(x, w, zp));
    if (nb == 16) a->hi = _mm256_add_epi32(a->hi, s8_dw_tap8(x + 8, w + 8, zp));
}

CNNC_TARGET_AVX2 CNNC_INLINE void s8_dw_requant(const s8_dw_acc *a, int32_t nb, const int32_t *mult,
                                                const int32_t *shift, const cnnc_s8_conv_params *p,
                                                int8_t *y) {
    s8_requant8_avx2(a->lo, mult, shift, p->rounding, p->y_zero_point, p->act_min, p->act_max, y);
    if (nb == 16)
        s8_requant8_avx2(a->hi, mult + 8, shift + 8, p->rounding, p->y_zero_point, p->act_min,
                         p->act_max, y + 8);
}

#include "s8_dwconv_loops.h"

CNNC_TARGET_AVX2 void cnnc_s8_dwconv__avx2(const cnnc_s8_conv_params *p, const int8_t *x,
                                           const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y) {
    s8_dwconv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dwconv_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
