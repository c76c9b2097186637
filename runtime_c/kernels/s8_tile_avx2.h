/* The AVX2 int8 GEMM tile under the dense/pointwise and general conv loops
 * (s8_dense_loops.h, s8_conv_loops.h; run by s8_dense_avx2.c and s8_conv_avx2.c): up to 4
 * rows of x by 16 (or 8) outputs of w[K][ldw]. Every function carries CNNC_TARGET_AVX2 (and
 * S8_TARGET makes the loops carry it), so the tier compiles under the default flags.
 *
 * Two weight rows i, i+1 are interleaved byte-wise and sign-extended to int16 pairs
 * (w[i][o], w[i+1][o]); each x row contributes the broadcast pair (x[i] - zp, x[i+1] - zp),
 * and _mm256_madd_epi16 adds both products into one int32 lane per output.
 *
 * Overflow, and why the tile multiplies in int16 pairs (vpmaddwd) and not int8 pairs
 * (vpmaddubsw): |x - zp| <= 255 fits int16, and one vpmaddwd lane is
 * (x[i]-zp)*w[i][o] + (x[i+1]-zp)*w[i+1][o], at most 2 * 255 * 127 = 64770 in magnitude,
 * computed exactly in int32 (vpmaddwd's one overflow case, -32768 * -32768 twice, needs
 * operands outside these ranges). vpmaddubsw instead adds two u8 * s8 products into a
 * SATURATING int16: with u8 = x + 128 (0..255) and s8 = w, the pair can reach
 * 2 * 255 * 127 = 64770 > 32767 and would saturate (e.g. x = 127, 127 and w = 127, 127),
 * so that path is not exact for |w| <= 127 and every int8 activation. Its exact form,
 * vpmaddubsw(|x|, sign(w, x)) (|x| <= 128 as u8, |sign(w, x)| <= 127, pair <= 2 * 128 * 127 =
 * 32512 <= 32767), needs a vpmaddwd by ones and a zero-point correction afterwards: as many
 * µops per MAC as this tile, so it is not used; VNNI (s8_tile_vnni.h) fuses the three. Callers keep
 * each int32 lane at bias[o] plus a subset of output o's terms, bounded by
 * |bias[o]| + xmax * sum |w[.][o]| <= 2^31 - 1 as proved by the compiler (cnnc.quantize,
 * check_accumulator); integer addition is associative, so any summation order gives the
 * reference kernel's sum exactly. */
#ifndef CNNC_S8_TILE_AVX2_H
#define CNNC_S8_TILE_AVX2_H

#include "cnnc_s8.h"
#include "s8_requant_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TILE_ROWS 4
#define S8_TARGET CNNC_TARGET_AVX2

/* The two int16 values (a, b) as one int32 lane, a in the low half (madd's pair order). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_pair16(int32_t a, int32_t b) {
    const uint32_t lo = (uint16_t)(int16_t)a, hi = (uint16_t)(int16_t)b;
    return _mm256_set1_epi32((int32_t)(lo | (hi << 16)));
}

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < 8 * halves.
 * x: row r at x + r * ldx, k int8 each; w: [k][ldw] int8 from the tile's first output;
 * init: row r at init + r * ld_init (0: one bias row for all rows; init may be acc);
 * acc: [S8_TILE_ROWS][16] int32. Inlined with constant rows/halves (s8_tile_any). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_tile_avx2(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                               int32_t zp, const int8_t *w, size_t ldw,
                                               int32_t halves, const int32_t *init, size_t ld_init,
                                               int32_t *acc) {
    __m256i a[S8_TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm256_loadu_si256((const __m256i *)(init + r * ld_init));
        a[r][1] = halves == 2 ? _mm256_loadu_si256((const __m256i *)(init + r * ld_init + 8))
                              : _mm256_setzero_si256();
    }
    for (i = 0; i + 1 < k; i += 2) {
        const int8_t *w0 = w + (size_t)i * ldw, *w1 = w0 + ldw; /* [8 * halves] each */
        __m256i lo, hi = _mm256_setzero_si256();
        if (halves == 2) {
            const __m128i r0 = _mm_loadu_si128((const __m128i *)w0);
            const __m128i r1 = _mm_loadu_si128((const __m128i *)w1);
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));
            hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1));
        } else {
            const __m128i r0 = _mm_loadl_epi64((const __m128i *)w0);
            const __m128i r1 = _mm_loadl_epi64((const __m128i *)w1);
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));
        }
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            const __m256i xp = s8_pair16(xr[i] - zp, xr[i + 1] - zp);
            /* exact: each madd lane <= 64770 in magnitude (header); the int32 sum stays
             * within the compiler's per-output bound */
            a[r][0] = _mm256_add_epi32(a[r][0], _mm256_madd_epi16(lo, xp));
            if (halves == 2) a[r][1] = _mm256_add_epi32(a[r][1], _mm256_madd_epi16(hi, xp));
        }
    }
    if (i < k) { /* odd k: the last row paired with zeros */
        const int8_t *w0 = w + (size_t)i * ldw;
        const __m128i zero = _mm_setzero_si128();
        __m256i lo, hi = _mm256_setzero_si256();
        if (halves == 2) {
            const __m128i r0 = _mm_loadu_si128((const __m128i *)w0);
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, zero));
            hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, zero));
        } else {
            lo =
                _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)w0), zero));
        }
        for (r = 0; r < rows; ++r) {
            const __m256i xp = s8_pair16(x[(size_t)r * ldx + i] - zp, 0);
            a[r][0] = _mm256_add_epi32(a[r][0], _mm256_madd_epi16(lo, xp));
            if (halves == 2) a[r][1] = _mm256_add_epi32(a[r][1], _mm256_madd_epi16(hi, xp));
        }
    }
    for (r = 0; r < rows; ++r) {
        _mm256_storeu_si256((__m256i *)(acc + r * 16), a[r][0]);
        _mm256_storeu_si256((__m256i *)(acc + r * 16 + 8), a[r][1]);
    }
}

/* The tile hooks s8_dense_loops.h and s8_conv_loops.h drive (s8_tile_neon.h and
 * s8_tile_avx512.h define the same names): blocks of S8_TILE_COLS (then 8) outputs; acc rows
 * S8_TILE_COLS apart. */
#define S8_TILE_COLS 16

/* s8_tile_avx2 over cols = 8 or 16 outputs, for rows 4 (all of them at once) or fewer (one
 * row at a time), with the constant rows/halves it unrolls for; otherwise same arguments. */
CNNC_TARGET_AVX2 static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                         int32_t zp, const int8_t *w, size_t ldw, int32_t cols,
                                         const int32_t *init, size_t ld_init, int32_t *acc) {
    const int32_t halves = cols / 8;
    int32_t r;
    if (rows == S8_TILE_ROWS && halves == 2)
        s8_tile_avx2(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 2, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS)
        s8_tile_avx2(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 1, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            if (halves == 2)
                s8_tile_avx2(xr, ldx, 1, k, zp, w, ldw, 2, init + r * ld_init, 0, acc + r * 16);
            else
                s8_tile_avx2(xr, ldx, 1, k, zp, w, ldw, 1, init + r * ld_init, 0, acc + r * 16);
        }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < cols
 * (8 or 16), eight at a time (s8_requant_avx2.h). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols,
                                                  const int32_t *mult, const int32_t *shift,
                                                  int32_t rounding, int32_t zero_point, int32_t lo,
                                                  int32_t hi, int8_t *y) {
    int32_t j;
    for (j = 0; j < cols; j += 8)
        s8_requant8_avx2(_mm256_loadu_si256((const __m256i *)(acc + j)), mult + j, shift + j,
                         rounding, zero_point, lo, hi, y + j);
}
#endif

#endif /* CNNC_S8_TILE_AVX2_H */
