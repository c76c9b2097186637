/* AVX-512 (F/BW/DQ/VL) variant of the int8 depthwise conv, bit-exact to
 * cnnc_s8_dwconv__ref: the loops of s8_dwconv_loops.h on the hooks below. A block of 32
 * (16, 8) channels lives in two (one, half of one) int32x16 registers: 16 channels of x
 * and of w are sign-extended to int32, x - zp multiplied by w (_mm512_mullo_epi32, exact:
 * |product| <= 255 * 127) and added; sixteen requantisations at once
 * (s8_requant_avx512.h); 8-channel blocks load and store only their lanes. Compiled on
 * every x86-64 build (CNNC_TARGET_AVX512); run only on CPUs with AVX-512 F/BW/DQ/VL. */
#include "cnnc_s8.h"
#include "s8_requant_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_DW_COLS 32
#define S8_TARGET CNNC_TARGET_AVX512

typedef struct {
    __m512i lo, hi; /* channels c0 .. c0+15, c0+16 .. c0+31 (hi unused when nb <= 16) */
} s8_dw_acc;
typedef __m512i s8_dw_zp; /* zp in every int32 lane */

CNNC_TARGET_AVX512 CNNC_INLINE __mmask16 s8_dw_live(int32_t nb) {
    return nb == 8 ? 0x00FF : 0xFFFF;
}

CNNC_TARGET_AVX512 CNNC_INLINE s8_dw_zp s8_dw_zero_point(int32_t zp) {
    return _mm512_set1_epi32(zp);
}

CNNC_TARGET_AVX512 CNNC_INLINE s8_dw_acc s8_dw_init(const int32_t *bias, int32_t nb) {
    s8_dw_acc a;
    a.lo = _mm512_maskz_loadu_epi32(s8_dw_live(nb), bias);
    a.hi = nb == 32 ? _mm512_loadu_si512((const void *)(bias + 16)) : _mm512_setzero_si512();
    return a;
}

/* x - zp and w of 16 channels (8: the low lanes, the rest 0) as int32 lanes, multiplied. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_dw_tap16(const int8_t *x, const int8_t *w, __m512i zp,
                                                   int32_t nb) {
    const __m128i xb =
        nb == 8 ? _mm_loadl_epi64((const __m128i *)x) : _mm_loadu_si128((const __m128i *)x);
    const __m128i wb =
        nb == 8 ? _mm_loadl_epi64((const __m128i *)w) : _mm_loadu_si128((const __m128i *)w);
    return _mm512_mullo_epi32(_mm512_sub_epi32(_mm512_cvtepi8_epi32(xb), zp),
                              _mm512_cvtepi8_epi32(wb));
}

CNNC_TARGET_AVX512 CNNC_INLINE void s8_dw_tap(s8_dw_acc *a, const int8_t *x, const int8_t *w,
                                              s8_dw_zp zp, int32_t nb) {
    a->lo = _mm512_add_epi32(a->lo, s8_dw_tap16(x, w, zp, nb));
    if (nb == 32) a->hi = _mm512_add_epi32(a->hi, s8_dw_tap16(x + 16, w + 16, zp, 16));
}

CNNC_TARGET_AVX512 CNNC_INLINE void s8_dw_requant(const s8_dw_acc *a, int32_t nb,
                                                  const int32_t *mult, const int32_t *shift,
                                                  const cnnc_s8_conv_params *p, int8_t *y) {
    s8_requant16_avx512(a->lo, mult, shift, p->rounding, p->y_zero_point, p->act_min, p->act_max, y,
                        s8_dw_live(nb));
    if (nb == 32)
        s8_requant16_avx512(a->hi, mult + 16, shift + 16, p->rounding, p->y_zero_point, p->act_min,
                            p->act_max, y + 16, 0xFFFF);
}

#include "s8_dwconv_loops.h"

CNNC_TARGET_AVX512 void cnnc_s8_dwconv__avx512(const cnnc_s8_conv_params *p, const int8_t *x,
                                               const int8_t *w, const int32_t *bias,
                                               const int32_t *mult, const int32_t *shift,
                                               int8_t *y) {
    s8_dwconv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dwconv_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
