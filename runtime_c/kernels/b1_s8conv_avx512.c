/* AVX-512BW variant of cnnc_b1_s8conv_bits, bit-exact to __ref (integer sums in any order):
 * lanes over 16 output channels, one vpmaddwd per pair of a window's int16 input values
 * (broadcast) and 16 channels' weight pairs, a pass of up to four such vectors (64
 * channels) per pixel, then vpcmpd against the thresholds gives the pixel's bits directly.
 * Per pixel and 16 channels: kernel_h * pairs multiply-adds and adds (a 3x3 conv of one
 * input channel: 6 + 6 µops for 144 MACs). Overflow: each vpmaddwd lane sums two products
 * |v * w| <= 255 * 128, the accumulators stay within cnnc_b1.h's bound. Compiled on every
 * x86-64 build (CNNC_TARGET_AVX512); run only on CPUs with AVX-512 F/BW/DQ/VL. */
#include "cnnc.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* dst[t] = src[t] - zp as int16 for t < len: 32 values a step, the rest by masked load
 * and store (b1s_rows' row copies). */
CNNC_TARGET_AVX512 static inline void b1s_widen_avx512(int16_t *dst, const int8_t *src, int32_t len,
                                                       int16_t zp) {
    const __m512i z = _mm512_set1_epi16(zp);
    int32_t t;
    for (t = 0; t + 32 <= len; t += 32)
        _mm512_storeu_si512(
            (void *)(dst + t),
            _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(src + t))),
                             z));
    if (t < len) {
        const __mmask32 m = (__mmask32)((1ull << (len - t)) - 1);
        _mm512_mask_storeu_epi16(
            dst + t, m,
            _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, src + t)), z));
    }
}
#define B1S_TARGET CNNC_TARGET_AVX512
#define B1S_WIDEN b1s_widen_avx512
#endif

#include "b1_s8conv.h"

#if defined(__x86_64__)

/* The bits of 16 * NB channels from their accumulators, as words (two vectors a word). */
#define B1S_STORE_AVX512(out, acc, t, nb)                                                  \
    do {                                                                                   \
        int32_t b_;                                                                        \
        B1S_UNROLL                                                                         \
        for (b_ = 0; b_ < (nb); b_ += 2)                                                   \
            (out)[b_ / 2] =                                                                \
                (uint32_t)_mm512_cmplt_epi32_mask((acc)[b_], (t)[b_]) |                    \
                (b_ + 1 < (nb)                                                             \
                     ? (uint32_t)_mm512_cmplt_epi32_mask((acc)[b_ + 1], (t)[b_ + 1]) << 16 \
                     : 0u);                                                                \
    } while (0)

/* One pass: channels c0 .. c0 + 16 * NB - 1 of every pixel (NB vectors, a constant). */
CNNC_TARGET_AVX512 static inline __attribute__((always_inline)) void b1s_pass_avx512(
    const cnnc_b1_s8conv_params *p, const int8_t *x, const int16_t *wv, const int32_t *thr,
    uint32_t *y, int32_t c0, int16_t *rows, const int nb) {
    const int32_t pairs = CNNC_B1_S8CONV_PAIRS(p), yw = CNNC_B1_WORDS(p->out_c);
    const size_t step = (size_t)p->stride_w * p->c;
    __m512i t[4];
    int32_t n, oy, ox, k, b;
    B1S_UNROLL
    for (b = 0; b < nb; ++b) t[b] = _mm512_loadu_si512((const void *)(thr + c0 + 16 * b));
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy) {
            uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w) * yw + c0 / 32;
            b1s_rows(p, x, n, oy, rows);
            for (ox = 0; ox < p->out_w; ++ox, out += yw) {
                __m512i acc[4];
                int32_t ky;
                B1S_UNROLL
                for (b = 0; b < nb; ++b) acc[b] = _mm512_setzero_si512();
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int16_t *r = rows + (size_t)ky * B1S_ROW + (size_t)ox * step;
                    const int16_t *wr = wv + (size_t)ky * pairs * 2 * B1S_GROUP;
                    for (k = 0; k < pairs; ++k) {
                        int32_t pair;
                        __m512i v;
                        memcpy(&pair, r + 2 * k, sizeof pair);
                        v = _mm512_set1_epi32(pair);
                        B1S_UNROLL
                        for (b = 0; b < nb; ++b)
                            acc[b] = _mm512_add_epi32(
                                acc[b], _mm512_madd_epi16(
                                            v, _mm512_loadu_si512(
                                                   (const void *)(wr + (size_t)k * 2 * B1S_GROUP +
                                                                  32 * b))));
                    }
                }
                B1S_STORE_AVX512(out, acc, t, nb);
            }
        }
}

/* b1s_pass_avx512 for a 3-row kernel of PAIRS pairs (constants) on NB vectors, with the
 * 3 * PAIRS * NB weight vectors held in registers over the whole pass (NB * PAIRS <= 10). */
CNNC_TARGET_AVX512 static inline __attribute__((always_inline)) void b1s_pass3_avx512(
    const cnnc_b1_s8conv_params *p, const int8_t *x, const int16_t *wv, const int32_t *thr,
    uint32_t *y, int32_t c0, int16_t *rows, const int nb, const int pairs) {
    const int32_t yw = CNNC_B1_WORDS(p->out_c);
    const size_t step = (size_t)p->stride_w * p->c;
    __m512i t[4], wr[3 * 10];
    int32_t n, oy, ox, k, b, ky;
    B1S_UNROLL
    for (b = 0; b < nb; ++b) t[b] = _mm512_loadu_si512((const void *)(thr + c0 + 16 * b));
    B1S_UNROLL
    for (k = 0; k < 3 * pairs; ++k) {
        B1S_UNROLL
        for (b = 0; b < nb; ++b)
            wr[k * nb + b] =
                _mm512_loadu_si512((const void *)(wv + (size_t)k * 2 * B1S_GROUP + 32 * b));
    }
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy) {
            uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w) * yw + c0 / 32;
            const int16_t *r = rows;
            b1s_rows(p, x, n, oy, rows);
            for (ox = 0; ox < p->out_w; ++ox, out += yw, r += step) {
                __m512i acc[4];
                B1S_UNROLL
                for (b = 0; b < nb; ++b) acc[b] = _mm512_setzero_si512();
                B1S_UNROLL
                for (ky = 0; ky < 3; ++ky) {
                    B1S_UNROLL
                    for (k = 0; k < pairs; ++k) {
                        int32_t pair;
                        __m512i v;
                        memcpy(&pair, r + (size_t)ky * B1S_ROW + 2 * k, sizeof pair);
                        v = _mm512_set1_epi32(pair);
                        B1S_UNROLL
                        for (b = 0; b < nb; ++b)
                            acc[b] = _mm512_add_epi32(
                                acc[b], _mm512_madd_epi16(v, wr[(ky * pairs + k) * nb + b]));
                    }
                }
                B1S_STORE_AVX512(out, acc, t, nb);
            }
        }
}

CNNC_TARGET_AVX512 void cnnc_b1_s8conv_bits__avx512(const cnnc_b1_s8conv_params *p,
                                                    const int8_t *CNNC_RESTRICT x,
                                                    const int8_t *CNNC_RESTRICT w,
                                                    const int32_t *CNNC_RESTRICT thresholds,
                                                    uint32_t *CNNC_RESTRICT y) {
    const int32_t oc16 = CNNC_B1_S8CONV_OC16(p->out_c), pairs = CNNC_B1_S8CONV_PAIRS(p);
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
        if (p->kernel_h == 3 && pairs == 2 && nc == 32) /* 3x3 on one input channel */
            b1s_pass3_avx512(p, x, wv, thresholds, y, c0, rows, 2, 2);
        else if (p->kernel_h == 3 && pairs == 2 && nc == 64)
            b1s_pass3_avx512(p, x, wv, thresholds, y, c0, rows, 4, 2);
        else if (p->kernel_h == 3 && pairs == 5) { /* 3x3 on three: two vectors at a time */
            int32_t c1;
            for (c1 = 0; c1 < nc; c1 += 32)
                if (nc - c1 >= 32)
                    b1s_pass3_avx512(p, x, wv + 2 * c1, thresholds, y, c0 + c1, rows, 2, 5);
                else
                    b1s_pass3_avx512(p, x, wv + 2 * c1, thresholds, y, c0 + c1, rows, 1, 5);
        } else
            switch (nc / 16) {
                case 1:
                    b1s_pass_avx512(p, x, wv, thresholds, y, c0, rows, 1);
                    break;
                case 2:
                    b1s_pass_avx512(p, x, wv, thresholds, y, c0, rows, 2);
                    break;
                case 3:
                    b1s_pass_avx512(p, x, wv, thresholds, y, c0, rows, 3);
                    break;
                default:
                    b1s_pass_avx512(p, x, wv, thresholds, y, c0, rows, 4);
                    break;
            }
    }
}
#else
typedef int cnnc_b1_s8conv_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
