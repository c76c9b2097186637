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

/* The 3x3 depthwise conv (dilation 1, channels a multiple of 8), one output row at a
 * time, as the AVX-512 one (s8_dwconv_avx512.c, where the arithmetic is argued): per block
 * of 16 (8) channels the nine taps' weights are int32 lanes with a zero high int16 in a
 * stack buffer that vpmaddwd reads, interior pixels start from bias - zp * sum(w) and add
 * x * w, border pixels add (x - zp) * w over their inside taps; the requantisation is
 * prepared once per block (s8_rq8_prepare). */
CNNC_TARGET_AVX2 static void s8_dw3x3_avx2(const cnnc_s8_conv_params *p, const int8_t *x,
                                           const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y) {
    const __m256i zp = _mm256_set1_epi32(p->x_zero_point), low16 = _mm256_set1_epi32(0xFFFF);
    const size_t rowb = (size_t)p->w * p->c; /* bytes between input rows */
    __m256i wt[9][2];
    int32_t b, oy, ox, c0, t, h, ky, kx;
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0, ky1 = p->h - iy0 < 3 ? p->h - iy0 : 3;
            const int8_t *xrow = x + (size_t)b * p->h * rowb; /* image b */
            int8_t *yrow = y + ((size_t)b * p->out_h + oy) * p->out_w * p->c;
            for (c0 = 0; c0 < p->c; c0 += 16) {
                const int32_t halves = p->c - c0 >= 16 ? 2 : 1;
                __m256i bv[2], iv[2];
                s8_rq8_avx2 q[2];
                for (h = 0; h < halves; ++h) {
                    __m256i sum = _mm256_setzero_si256();
                    for (t = 0; t < 9; ++t) {
                        const __m256i wv = _mm256_cvtepi8_epi32(
                            _mm_loadl_epi64((const __m128i *)(w + (size_t)t * p->c + c0 + 8 * h)));
                        wt[t][h] = _mm256_and_si256(wv, low16);
                        sum = _mm256_add_epi32(sum, wv);
                    }
                    bv[h] = _mm256_loadu_si256((const __m256i *)(bias + c0 + 8 * h));
                    iv[h] = _mm256_sub_epi32(bv[h], _mm256_mullo_epi32(zp, sum));
                    s8_rq8_prepare(&q[h], mult + c0 + 8 * h, shift + c0 + 8 * h, p->rounding,
                                   p->y_zero_point, p->act_min, p->act_max);
                }
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int32_t ix0 = ox * p->stride_w - p->pad_left;
                    int8_t *yp = yrow + (size_t)ox * p->c + c0;
                    const int interior = ky0 == 0 && ky1 == 3 && ix0 >= 0 && ix0 + 3 <= p->w;
                    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                    const int32_t kx1 = p->w - ix0 < 3 ? p->w - ix0 : 3;
                    for (h = 0; h < halves; ++h) {
                        __m256i a;
                        if (interior) {
                            const int8_t *xp =
                                xrow + (size_t)iy0 * rowb + (size_t)ix0 * p->c + c0 + 8 * h;
                            a = iv[h];
                            for (t = 0; t < 9; ++t) {
                                const __m256i xv = _mm256_cvtepi8_epi32(
                                    _mm_loadl_epi64((const __m128i *)(xp + (t / 3) * rowb +
                                                                      (t % 3) * (size_t)p->c)));
                                a = _mm256_add_epi32(a, _mm256_madd_epi16(xv, wt[t][h]));
                            }
                        } else { /* a border pixel: the taps inside, x - zp */
                            a = bv[h];
                            for (ky = ky0; ky < ky1; ++ky)
                                for (kx = kx0; kx < kx1; ++kx) {
                                    const int8_t *xt = xrow + (size_t)(iy0 + ky) * rowb +
                                                       (size_t)(ix0 + kx) * p->c + c0 + 8 * h;
                                    const __m256i xv = _mm256_sub_epi32(
                                        _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)xt)),
                                        zp);
                                    a = _mm256_add_epi32(a,
                                                         _mm256_madd_epi16(xv, wt[ky * 3 + kx][h]));
                                }
                        }
                        s8_store8_avx2(_mm256_add_epi32(s8_rq8_run(&q[h], a), q[h].zp), yp + 8 * h);
                    }
                }
            }
        }
}

CNNC_TARGET_AVX2 void cnnc_s8_dwconv__avx2(const cnnc_s8_conv_params *p, const int8_t *x,
                                           const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y) {
    if (p->kernel_h == 3 && p->kernel_w == 3 && p->dilation_h == 1 && p->dilation_w == 1 &&
        p->c % 8 == 0)
        s8_dw3x3_avx2(p, x, w, bias, mult, shift, y);
    else
        s8_dwconv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dwconv_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
