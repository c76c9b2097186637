/* AVX2 variants of the binary conv with float or int8 outputs (the last binary layer of a
 * network writing its int8 or float successor's input) and of the sign packing, bit-exact
 * to their __ref kernels: the conv through b1_conv_px_avx2.h's lanes over output pixels
 * where it applies (groups 1, zero padding, stride_w 1, <= 128 channels), else __ref; the
 * packing compares 32 channels per step and keeps their sign bits with vmovmskps/vpmovmskb.
 * Compiled on every x86-64 build (CNNC_TARGET_AVX2); run only on CPUs with AVX2. */
#include "b1_conv_px_avx2.h"
#include "cnnc_s8.h"

#if defined(__x86_64__)

CNNC_TARGET_AVX2 void cnnc_b1_conv_f32__avx2(const cnnc_b1_conv_params *p,
                                             const uint32_t *CNNC_RESTRICT x,
                                             const uint32_t *CNNC_RESTRICT w,
                                             const float *CNNC_RESTRICT multiplier,
                                             const float *CNNC_RESTRICT bias,
                                             float *CNNC_RESTRICT y) {
    if (b1px_applies(p))
        b1px_conv_values(p, x, w, multiplier, bias, y, 0);
    else
        cnnc_b1_conv_f32__ref(p, x, w, multiplier, bias, y);
}

CNNC_TARGET_AVX2 void cnnc_b1_conv_s8__avx2(const cnnc_b1_conv_params *p,
                                            const uint32_t *CNNC_RESTRICT x,
                                            const uint32_t *CNNC_RESTRICT w,
                                            const float *CNNC_RESTRICT multiplier,
                                            const float *CNNC_RESTRICT bias,
                                            int8_t *CNNC_RESTRICT y) {
    if (b1px_applies(p))
        b1px_conv_values(p, x, w, multiplier, bias, y, 1);
    else
        cnnc_b1_conv_s8__ref(p, x, w, multiplier, bias, y);
}

/* As __ref: bit ch of a row is x[ch] < 0 (NaN and -0 compare false: +1). Whole words by
 * vector compares, the row's last partial word as __ref. */
CNNC_TARGET_AVX2 void cnnc_b1_pack__avx2(const cnnc_b1_pack_params *p, const float *CNNC_RESTRICT x,
                                         uint32_t *CNNC_RESTRICT y) {
    const int32_t c = p->c, nw = CNNC_B1_WORDS(c);
    const __m256 zero = _mm256_setzero_ps();
    int32_t r, word, ch;
    for (r = 0; r < p->rows; ++r) {
        const float *row = x + (size_t)r * (size_t)c;
        uint32_t *out = y + (size_t)r * (size_t)nw;
        for (word = 0; (word + 1) * CNNC_B1_BITS <= c; ++word) {
            const float *v = row + word * CNNC_B1_BITS;
            uint32_t bits = 0u;
            int32_t q;
            for (q = 0; q < 4; ++q)
                bits |= (uint32_t)_mm256_movemask_ps(
                            _mm256_cmp_ps(_mm256_loadu_ps(v + 8 * q), zero, _CMP_LT_OQ))
                        << (8 * q);
            out[word] = bits;
        }
        if (word < nw) {
            uint32_t bits = 0u;
            for (ch = word * CNNC_B1_BITS; ch < c; ++ch)
                if (row[ch] < 0.0f) bits |= 1u << (ch % CNNC_B1_BITS);
            out[word] = bits;
        }
    }
}

/* As __ref: bit ch of a row is x[ch] < zero_point. */
CNNC_TARGET_AVX2 void cnnc_b1_pack_s8__avx2(const cnnc_b1_pack_params *p,
                                            const int8_t *CNNC_RESTRICT x,
                                            uint32_t *CNNC_RESTRICT y) {
    const int32_t c = p->c, nw = CNNC_B1_WORDS(c);
    const __m256i zp = _mm256_set1_epi8((char)p->zero_point);
    int32_t r, word, ch;
    if (p->zero_point < -128 || p->zero_point > 127) { /* all bits alike: as __ref */
        cnnc_b1_pack_s8__ref(p, x, y);
        return;
    }
    for (r = 0; r < p->rows; ++r) {
        const int8_t *row = x + (size_t)r * (size_t)c;
        uint32_t *out = y + (size_t)r * (size_t)nw;
        for (word = 0; (word + 1) * CNNC_B1_BITS <= c; ++word)
            out[word] = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(
                zp, _mm256_loadu_si256((const __m256i *)(row + word * CNNC_B1_BITS))));
        if (word < nw) {
            uint32_t bits = 0u;
            for (ch = word * CNNC_B1_BITS; ch < c; ++ch)
                if (row[ch] < p->zero_point) bits |= 1u << (ch % CNNC_B1_BITS);
            out[word] = bits;
        }
    }
}
#else
typedef int cnnc_b1_out_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
