/* The AVX-512 (F/BW/DQ/VL) int8 GEMM tile under the dense/pointwise and general conv loops
 * (s8_dense_loops.h, s8_conv_loops.h; run by s8_dense_avx512.c and s8_conv_avx512.c): up to
 * 4 rows of x by 32, 16 or 8 outputs of w[K][ldw], in one or two zmm accumulators of 16
 * int32 per row; 8-output blocks use the low half of one zmm, with masked loads and
 * stores of init/acc. Every function carries CNNC_TARGET_AVX512.
 *
 * As the AVX2 tile (s8_tile_avx2.h, where the choice of vpmaddwd over vpmaddubsw is
 * argued): weight rows i, i+1 interleaved byte-wise and sign-extended to int16 pairs, x as
 * the broadcast pair (x[i] - zp, x[i+1] - zp), _mm512_madd_epi16 into int32 lanes.
 *
 * Overflow: |x - zp| <= 255 fits int16; one madd lane is at most 2 * 255 * 127 = 64770 in
 * magnitude, exact. Callers keep each int32 lane at bias[o] plus a subset of output o's
 * terms, bounded by |bias[o]| + xmax * sum |w[.][o]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); integer addition is associative, so any summation
 * order gives the reference kernel's sum exactly. */
#ifndef CNNC_S8_TILE_AVX512_H
#define CNNC_S8_TILE_AVX512_H

#include "cnnc_s8.h"
#include "s8_requant_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TILE_ROWS 4
#define S8_TILE_COLS 32
#define S8_TARGET CNNC_TARGET_AVX512

/* Outputs o0 .. o0 + 15 (or + 7 when eight) of rows i, i+1 as 16 int16 pairs
 * (w[i][o], w[i+1][o]); lanes past eight outputs are 0. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_wpair16_avx512(const int8_t *w0, const int8_t *w1,
                                                         int32_t eight) {
    const __m128i r0 =
        eight ? _mm_loadl_epi64((const __m128i *)w0) : _mm_loadu_si128((const __m128i *)w0);
    const __m128i r1 =
        eight ? _mm_loadl_epi64((const __m128i *)w1) : _mm_loadu_si128((const __m128i *)w1);
    const __m256i pairs = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(r0, r1)),
                                                  _mm_unpackhi_epi8(r0, r1), 1);
    return _mm512_cvtepi8_epi16(pairs);
}

/* The two int16 values (a, b) as one int32 lane, a in the low half (madd's pair order). */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_pair16_avx512(int32_t a, int32_t b) {
    const uint32_t lo = (uint16_t)(int16_t)a, hi = (uint16_t)(int16_t)b;
    return _mm512_set1_epi32((int32_t)(lo | (hi << 16)));
}

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < cols (8, 16 or
 * 32). x: row r at x + r * ldx, k int8 each; w: [k][ldw] int8 from the tile's first output;
 * init: row r at init + r * ld_init (0: one bias row for all rows; init may be acc);
 * acc: [S8_TILE_ROWS][32] int32. Inlined with constant rows/cols (s8_tile_any). */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_tile_avx512(const int8_t *x, size_t ldx, int32_t rows,
                                                   int32_t k, int32_t zp, const int8_t *w,
                                                   size_t ldw, int32_t cols, const int32_t *init,
                                                   size_t ld_init, int32_t *acc) {
    const __mmask16 live = cols == 8 ? 0x00FF : 0xFFFF; /* lanes of the first zmm */
    const int32_t eight = cols == 8, two = cols == 32;
    __m512i a[S8_TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm512_maskz_loadu_epi32(live, init + r * ld_init);
        a[r][1] = two ? _mm512_loadu_si512((const void *)(init + r * ld_init + 16))
                      : _mm512_setzero_si512();
    }
    for (i = 0; i + 1 < k; i += 2) {
        const int8_t *w0 = w + (size_t)i * ldw, *w1 = w0 + ldw; /* [cols] each */
        const __m512i lo = s8_wpair16_avx512(w0, w1, eight);
        const __m512i hi = two ? s8_wpair16_avx512(w0 + 16, w1 + 16, 0) : _mm512_setzero_si512();
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            const __m512i xp = s8_pair16_avx512(xr[i] - zp, xr[i + 1] - zp);
            /* exact: each madd lane <= 64770 in magnitude (header) */
            a[r][0] = _mm512_add_epi32(a[r][0], _mm512_madd_epi16(lo, xp));
            if (two) a[r][1] = _mm512_add_epi32(a[r][1], _mm512_madd_epi16(hi, xp));
        }
    }
    if (i < k) { /* odd k: the last row paired with zeros */
        static const int8_t zeros[16] = {0};
        const int8_t *w0 = w + (size_t)i * ldw;
        const __m512i lo = s8_wpair16_avx512(w0, zeros, eight);
        const __m512i hi = two ? s8_wpair16_avx512(w0 + 16, zeros, 0) : _mm512_setzero_si512();
        for (r = 0; r < rows; ++r) {
            const __m512i xp = s8_pair16_avx512(x[(size_t)r * ldx + i] - zp, 0);
            a[r][0] = _mm512_add_epi32(a[r][0], _mm512_madd_epi16(lo, xp));
            if (two) a[r][1] = _mm512_add_epi32(a[r][1], _mm512_madd_epi16(hi, xp));
        }
    }
    for (r = 0; r < rows; ++r) {
        _mm512_mask_storeu_epi32(acc + r * 32, live, a[r][0]);
        if (two) _mm512_storeu_si512((void *)(acc + r * 32 + 16), a[r][1]);
    }
}

/* The tile hooks s8_dense_loops.h and s8_conv_loops.h drive (s8_tile_avx2.h and
 * s8_tile_neon.h define the same names): blocks of 32, 16 or 8 outputs; acc rows
 * S8_TILE_COLS apart. s8_tile_avx512 with constant rows (4 at once, or one at a time) and
 * cols, otherwise the same arguments. */
CNNC_TARGET_AVX512 static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                           int32_t zp, const int8_t *w, size_t ldw, int32_t cols,
                                           const int32_t *init, size_t ld_init, int32_t *acc) {
    int32_t r;
    if (rows == S8_TILE_ROWS && cols == 32)
        s8_tile_avx512(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 32, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS && cols == 16)
        s8_tile_avx512(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 16, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS)
        s8_tile_avx512(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 8, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            if (cols == 32)
                s8_tile_avx512(xr, ldx, 1, k, zp, w, ldw, 32, init + r * ld_init, 0, acc + r * 32);
            else if (cols == 16)
                s8_tile_avx512(xr, ldx, 1, k, zp, w, ldw, 16, init + r * ld_init, 0, acc + r * 32);
            else
                s8_tile_avx512(xr, ldx, 1, k, zp, w, ldw, 8, init + r * ld_init, 0, acc + r * 32);
        }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < cols
 * (8, 16 or 32), sixteen at a time (s8_requant_avx512.h). */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols,
                                                    const int32_t *mult, const int32_t *shift,
                                                    int32_t rounding, int32_t zero_point,
                                                    int32_t lo, int32_t hi, int8_t *y) {
    int32_t j;
    for (j = 0; j < cols; j += 16) {
        const __mmask16 live = cols - j >= 16 ? 0xFFFF : 0x00FF;
        s8_requant16_avx512(_mm512_maskz_loadu_epi32(live, acc + j), mult + j, shift + j, rounding,
                            zero_point, lo, hi, y + j, live);
    }
}
#endif

#endif /* CNNC_S8_TILE_AVX512_H */
