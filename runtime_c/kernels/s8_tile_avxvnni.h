/* The AVX-VNNI (VEX-encoded vpdpbusd, AVX2 CPUs such as Alder Lake) int8 GEMM tile under
 * the dense/pointwise and general conv loops (run by s8_dense_avxvnni.c and
 * s8_conv_avxvnni.c): up to 4 rows of x by 16 or 8 outputs of w[K][ldw], two or one ymm
 * accumulators of 8 int32 per row; requantisation by s8_requant_avx2.h. Every function
 * carries CNNC_TARGET_AVXVNNI.
 *
 * The arithmetic and its overflow proof are the AVX512-VNNI tile's (s8_tile_avx512vnni.h):
 * x + 128 (unsigned) times quads of weight rows (signed) by vpdpbusd, the weights summed
 * by a vpdpbusd with ones, (zp + 128) * sum w subtracted at the end; every step exact
 * modulo 2^32 and the true sum within int32 (cnnc.quantize, check_accumulator), so each
 * lane is exact. */
#ifndef CNNC_S8_TILE_AVXVNNI_H
#define CNNC_S8_TILE_AVXVNNI_H

#include <string.h>

#include "cnnc_s8.h"
#include "s8_requant_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TILE_ROWS 4
#define S8_TILE_COLS 16
#define S8_TARGET CNNC_TARGET_AVXVNNI

/* acc + vpdpbusd(a, b): per int32 lane, the four products of unsigned bytes of a and signed
 * bytes of b, added modulo 2^32. CNNC_S8_EMULATE_VNNI (tests only: a CPU or qemu without
 * AVX-VNNI checks the tile's arithmetic, tests/runtime/test_s8_vnni_emulated.py) computes
 * the same with AVX2: even and odd bytes widened to int16 (0..255 times -128..127), pairs
 * summed by vpmaddwd, exact. */
CNNC_TARGET_AVXVNNI CNNC_INLINE __m256i s8_dpbusd_avxvnni(__m256i acc, __m256i a, __m256i b) {
#if defined(CNNC_S8_EMULATE_VNNI)
    const __m256i a0 = _mm256_and_si256(a, _mm256_set1_epi16(0x00FF));
    const __m256i a1 = _mm256_srli_epi16(a, 8);
    const __m256i b0 = _mm256_srai_epi16(_mm256_slli_epi16(b, 8), 8);
    const __m256i b1 = _mm256_srai_epi16(b, 8);
    return _mm256_add_epi32(acc,
                            _mm256_add_epi32(_mm256_madd_epi16(a0, b0), _mm256_madd_epi16(a1, b1)));
#else
    return _mm256_dpbusd_avx_epi32(acc, a, b);
#endif
}

/* Weights w[i..i+3][o0 .. o0+15] (8 outputs when eight) as two ymm of 8 int32 lanes of 4
 * bytes (w[i][o], .., w[i+3][o]): q[0] outputs 0..7, q[1] 8..15 (0 when eight). */
CNNC_TARGET_AVXVNNI CNNC_INLINE void s8_wquad16_avxvnni(const int8_t *const *rows, int32_t eight,
                                                        __m256i *q) {
    __m128i r[4];
    int32_t i;
    for (i = 0; i < 4; ++i)
        r[i] = eight ? _mm_loadl_epi64((const __m128i *)rows[i])
                     : _mm_loadu_si128((const __m128i *)rows[i]);
    {
        const __m128i a = _mm_unpacklo_epi8(r[0], r[1]), b = _mm_unpacklo_epi8(r[2], r[3]);
        const __m128i c = _mm_unpackhi_epi8(r[0], r[1]), d = _mm_unpackhi_epi8(r[2], r[3]);
        q[0] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(a, b)),
                                       _mm_unpackhi_epi16(a, b), 1);
        q[1] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(c, d)),
                                       _mm_unpackhi_epi16(c, d), 1);
    }
}

/* (x[0] + 128, .., x[n-1] + 128) as the bytes of one uint32, bytes past n 0 (n <= 4); x + 128
 * of an int8 is its bits XOR 0x80. Reads only x[0 .. n-1]. */
CNNC_INLINE uint32_t s8_xquad_u32(const int8_t *x, int32_t n) {
    uint8_t b[4] = {0, 0, 0, 0};
    uint32_t v;
    int32_t j;
    if (n == 4) {
        memcpy(&v, x, 4);
        return v ^ 0x80808080u;
    }
    for (j = 0; j < n; ++j) b[j] = (uint8_t)(x[j] + 128);
    memcpy(&v, b, 4);
    return v;
}

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < 8 * halves;
 * arguments as s8_tile_avx2 (s8_tile_avx2.h); acc: [S8_TILE_ROWS][16] int32. */
CNNC_TARGET_AVXVNNI CNNC_INLINE void s8_tile_avxvnni(const int8_t *x, size_t ldx, int32_t rows,
                                                     int32_t k, int32_t zp, const int8_t *w,
                                                     size_t ldw, int32_t halves,
                                                     const int32_t *init, size_t ld_init,
                                                     int32_t *acc) {
    static const int8_t zeros[16] = {0};
    const __m256i ones = _mm256_set1_epi8(1);
    __m256i a[S8_TILE_ROWS][2], wsum0 = _mm256_setzero_si256(), wsum1 = wsum0;
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm256_loadu_si256((const __m256i *)(init + r * ld_init));
        a[r][1] = halves == 2 ? _mm256_loadu_si256((const __m256i *)(init + r * ld_init + 8))
                              : _mm256_setzero_si256();
    }
    for (i = 0; i < k; i += 4) {
        const int32_t n = k - i < 4 ? k - i : 4;
        const int8_t *w_rows[4];
        __m256i q[2];
        int32_t j;
        for (j = 0; j < 4; ++j) w_rows[j] = j < n ? w + (size_t)(i + j) * ldw : zeros;
        s8_wquad16_avxvnni(w_rows, halves == 1, q);
        wsum0 = s8_dpbusd_avxvnni(wsum0, ones, q[0]);
        if (halves == 2) wsum1 = s8_dpbusd_avxvnni(wsum1, ones, q[1]);
        for (r = 0; r < rows; ++r) {
            const __m256i xq = _mm256_set1_epi32((int32_t)s8_xquad_u32(x + (size_t)r * ldx + i, n));
            /* exact modulo 2^32 (s8_tile_avx512vnni.h) */
            a[r][0] = s8_dpbusd_avxvnni(a[r][0], xq, q[0]);
            if (halves == 2) a[r][1] = s8_dpbusd_avxvnni(a[r][1], xq, q[1]);
        }
    }
    {
        const __m256i bias128 = _mm256_set1_epi32(zp + 128); /* 0..255 */
        const __m256i c0 = _mm256_mullo_epi32(wsum0, bias128);
        const __m256i c1 = _mm256_mullo_epi32(wsum1, bias128);
        for (r = 0; r < rows; ++r) {
            _mm256_storeu_si256((__m256i *)(acc + r * 16), _mm256_sub_epi32(a[r][0], c0));
            _mm256_storeu_si256((__m256i *)(acc + r * 16 + 8), _mm256_sub_epi32(a[r][1], c1));
        }
    }
}

/* The tile hooks the loops drive (as s8_tile_avx2.h): s8_tile_avxvnni with constant rows
 * (4 at once, or one at a time) and halves. */
CNNC_TARGET_AVXVNNI static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                            int32_t zp, const int8_t *w, size_t ldw, int32_t cols,
                                            const int32_t *init, size_t ld_init, int32_t *acc) {
    const int32_t halves = cols / 8;
    int32_t r;
    if (rows == S8_TILE_ROWS && halves == 2)
        s8_tile_avxvnni(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 2, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS)
        s8_tile_avxvnni(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 1, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            if (halves == 2)
                s8_tile_avxvnni(xr, ldx, 1, k, zp, w, ldw, 2, init + r * ld_init, 0, acc + r * 16);
            else
                s8_tile_avxvnni(xr, ldx, 1, k, zp, w, ldw, 1, init + r * ld_init, 0, acc + r * 16);
        }
}

/* y[j] = cnnc_requant_s8(acc[j], ...), j < cols (8 or 16), eight at a time. */
CNNC_TARGET_AVXVNNI CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols,
                                                     const int32_t *mult, const int32_t *shift,
                                                     int32_t rounding, int32_t zero_point,
                                                     int32_t lo, int32_t hi, int8_t *y) {
    int32_t j;
    for (j = 0; j < cols; j += 8)
        s8_requant8_avx2(_mm256_loadu_si256((const __m256i *)(acc + j)), mult + j, shift + j,
                         rounding, zero_point, lo, hi, y + j);
}
#endif

#endif /* CNNC_S8_TILE_AVXVNNI_H */
