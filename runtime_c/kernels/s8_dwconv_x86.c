/* AVX2 variant of the int8 depthwise conv, bit-exact to cnnc_s8_dwconv__ref: same weights
 * w[KH][KW][C], same taps skipped at the borders, same int32 accumulators, and
 * cnnc_requant_s8's results, eight at a time (s8_requant_x86.h). Compiled when the build
 * targets AVX2; empty otherwise.
 *
 * Per output pixel, channel blocks of 16 (then 8) live in two (one) int32x8 registers over
 * all taps: 8 channels of x and of w are sign-extended to int32, x - zp multiplied by w
 * (_mm256_mullo_epi32, exact: |product| <= 255 * 127) and added. Channels left over after
 * the 8-wide blocks run the reference loop.
 *
 * Overflow: each lane holds bias[c] plus some of the kh*kw terms of channel c, bounded by
 * |bias[c]| + xmax * sum |w[.][.][c]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); integer sums are order-free, so the result is the
 * reference's exactly. */
#include "cnnc_s8.h"
#include "s8_requant_x86.h"

#if defined(__AVX2__)
#include <immintrin.h>

/* x - zp and w of 8 channels as int32 lanes, multiplied. */
static __m256i tap8_avx2(const int8_t *x, const int8_t *w, __m256i zp) {
    const __m256i xv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x));
    const __m256i wv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)w));
    return _mm256_mullo_epi32(_mm256_sub_epi32(xv, zp), wv);
}

void cnnc_s8_dwconv__avx2(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    const __m256i zp = _mm256_set1_epi32(p->x_zero_point);
    int32_t b, oy, ox, c0, ky, kx, j;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->oh; ++oy) {
            /* rows [ky0, ky1) of the kernel fall inside the image */
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
            const int32_t ky1 = p->h - iy0 < p->kh ? p->h - iy0 : p->kh;
            for (ox = 0; ox < p->ow; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t kx1 = p->w - ix0 < p->kw ? p->w - ix0 : p->kw;
                int8_t *yp = y + (((size_t)b * p->oh + oy) * p->ow + ox) * p->c; /* [c] */
                int32_t acc[16];
                for (c0 = 0; c0 + 8 <= p->c;) {
                    const int32_t nb = p->c - c0 >= 16 ? 16 : 8;
                    __m256i a0 = _mm256_loadu_si256((const __m256i *)(bias + c0));
                    __m256i a1 = nb == 16 ? _mm256_loadu_si256((const __m256i *)(bias + c0 + 8))
                                          : _mm256_setzero_si256();
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            /* [nb] channels c0.. of pixel (iy0 + ky, ix0 + kx) and of tap */
                            const int8_t *xp = x + (((size_t)b * p->h + (iy0 + ky)) * p->w +
                                                    (ix0 + kx)) * p->c + c0;
                            const int8_t *wt = w + ((size_t)ky * p->kw + kx) * p->c + c0;
                            a0 = _mm256_add_epi32(a0, tap8_avx2(xp, wt, zp));
                            if (nb == 16) a1 = _mm256_add_epi32(a1, tap8_avx2(xp + 8, wt + 8, zp));
                        }
                    s8_requant8_avx2(a0, mult + c0, shift + c0, p->rounding, p->y_zero_point,
                                     p->act_min, p->act_max, yp + c0);
                    if (nb == 16)
                        s8_requant8_avx2(a1, mult + c0 + 8, shift + c0 + 8, p->rounding,
                                         p->y_zero_point, p->act_min, p->act_max, yp + c0 + 8);
                    c0 += nb;
                }
                if (c0 < p->c) { /* fewer than 8 channels left: reference loop */
                    const int32_t nb = p->c - c0;
                    for (j = 0; j < nb; ++j) acc[j] = bias[c0 + j];
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            const int8_t *xp = x + (((size_t)b * p->h + (iy0 + ky)) * p->w +
                                                    (ix0 + kx)) * p->c + c0;
                            const int8_t *wt = w + ((size_t)ky * p->kw + kx) * p->c + c0;
                            for (j = 0; j < nb; ++j) acc[j] += (xp[j] - p->x_zero_point) * wt[j];
                        }
                    for (j = 0; j < nb; ++j)
                        yp[c0 + j] = cnnc_requant_s8(acc[j], mult[c0 + j], shift[c0 + j],
                                                     p->rounding, p->y_zero_point, p->act_min,
                                                     p->act_max);
                }
            }
        }
    }
}
#else
typedef int cnnc_s8_dwconv_x86_empty; /* ISO C forbids an empty translation unit */
#endif
