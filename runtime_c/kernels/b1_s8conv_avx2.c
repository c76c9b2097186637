/* AVX2 variant of cnnc_b1_s8conv_bits, bit-exact to __ref: b1_s8conv_avx512.c's loops on
 * 8-channel vectors (vpmaddwd on ymm, up to eight vectors a pass), the bits of a vector
 * from vpcmpgtd + vmovmskps. Compiled on every x86-64 build (CNNC_TARGET_AVX2); run only on
 * CPUs with AVX2. */
#include "cnnc.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* dst[t] = src[t] - zp as int16 for t < len: 16 values a step, then one at a time
 * (b1s_rows' row copies). */
CNNC_TARGET_AVX2 static inline void b1s_widen_avx2(int16_t *dst, const int8_t *src, int32_t len,
                                                   int16_t zp) {
    const __m256i z = _mm256_set1_epi16(zp);
    int32_t t;
    for (t = 0; t + 16 <= len; t += 16)
        _mm256_storeu_si256(
            (__m256i *)(dst + t),
            _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src + t))), z));
    for (; t < len; ++t) dst[t] = (int16_t)(src[t] - zp);
}
#define B1S_TARGET CNNC_TARGET_AVX2
#define B1S_WIDEN b1s_widen_avx2
#endif

#include "b1_s8conv.h"

#if defined(__x86_64__)

CNNC_TARGET_AVX2 static inline __attribute__((always_inline)) void b1s_pass_avx2(
    const cnnc_b1_s8conv_params *p, const int8_t *x, const int16_t *wv, const int32_t *thr,
    uint32_t *y, int32_t c0, int16_t *rows, const int nb) {
    const int32_t pairs = CNNC_B1_S8CONV_PAIRS(p), yw = CNNC_B1_WORDS(p->out_c);
    const size_t step = (size_t)p->stride_w * p->c;
    int32_t n, oy, ox, k, b;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy) {
            uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w) * yw + c0 / 32;
            b1s_rows(p, x, n, oy, rows);
            for (ox = 0; ox < p->out_w; ++ox, out += yw) {
                __m256i acc[8];
                int32_t ky;
                B1S_UNROLL
                for (b = 0; b < nb; ++b) acc[b] = _mm256_setzero_si256();
                B1S_UNROLL
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int16_t *r = rows + (size_t)ky * B1S_ROW + (size_t)ox * step;
                    const int16_t *wr = wv + (size_t)ky * pairs * 2 * B1S_GROUP;
                    B1S_UNROLL
                    for (k = 0; k < pairs; ++k) {
                        int32_t pair;
                        __m256i v;
                        memcpy(&pair, r + 2 * k, sizeof pair);
                        v = _mm256_set1_epi32(pair);
                        B1S_UNROLL
                        for (b = 0; b < nb; ++b)
                            acc[b] = _mm256_add_epi32(
                                acc[b], _mm256_madd_epi16(
                                            v, _mm256_loadu_si256((
                                                   const __m256i *)(wr + (size_t)k * 2 * B1S_GROUP +
                                                                    16 * b))));
                    }
                }
                for (b = 0; b < nb; b += 4) {
                    uint32_t word = 0u;
                    int32_t i;
                    for (i = 0; i < 4 && b + i < nb; ++i) {
                        const __m256i t =
                            _mm256_loadu_si256((const __m256i *)(thr + c0 + 8 * (b + i)));
                        const __m256i lt = _mm256_cmpgt_epi32(t, acc[b + i]);
                        word |= (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(lt)) << (8 * i);
                    }
                    out[b / 4] = word;
                }
            }
        }
}

CNNC_TARGET_AVX2 void cnnc_b1_s8conv_bits__avx2(const cnnc_b1_s8conv_params *p,
                                                const int8_t *CNNC_RESTRICT x,
                                                const int8_t *CNNC_RESTRICT w,
                                                const int32_t *CNNC_RESTRICT thresholds,
                                                uint32_t *CNNC_RESTRICT y) {
    const int32_t oc16 = CNNC_B1_S8CONV_OC16(p->out_c);
    int16_t rows[B1S_KH * B1S_ROW];
    int16_t wv[B1S_TAPS * 2 * B1S_GROUP];
    int32_t c0;
    if (!b1s_applies(p)) {
        cnnc_b1_s8conv_bits__ref(p, x, w, thresholds, y);
        return;
    }
    for (c0 = 0; c0 < oc16; c0 += B1S_GROUP) {
        const int32_t nc = oc16 - c0 < B1S_GROUP ? oc16 - c0 : B1S_GROUP;
        b1s_widen(p, w, c0, nc, wv);
        switch (nc / 16) { /* vectors of 8 channels: 2, 4, 6 or 8 */
            case 1:
                b1s_pass_avx2(p, x, wv, thresholds, y, c0, rows, 2);
                break;
            case 2:
                b1s_pass_avx2(p, x, wv, thresholds, y, c0, rows, 4);
                break;
            case 3:
                b1s_pass_avx2(p, x, wv, thresholds, y, c0, rows, 6);
                break;
            default:
                b1s_pass_avx2(p, x, wv, thresholds, y, c0, rows, 8);
                break;
        }
    }
}
#else
typedef int cnnc_b1_s8conv_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
