/* AVX2 variant of the int8 fully connected layer (and, through cnnc_s8_pwconv__avx2, the
 * pointwise conv), bit-exact to cnnc_s8_dense__ref: same weights w[K][M], same int32
 * accumulators, same requantisation (cnnc_requant_s8's results). Compiled when
 * the build targets AVX2 (-mavx2, or -march=native on such a CPU); empty otherwise.
 *
 * Tiles of 4 rows of x by 16 (or 8) outputs: two weight rows i, i+1 are interleaved
 * byte-wise and sign-extended to int16 pairs (w[i][o], w[i+1][o]); each x row contributes
 * the broadcast pair (x[i] - zp, x[i+1] - zp), and _mm256_madd_epi16 adds both products
 * into one int32 lane per output. Eight outputs are requantised at once (s8_requant_x86.h,
 * bit-exact to cnnc_requant_s8). Outputs left over after the 8-wide blocks run the
 * reference loop.
 *
 * Overflow: |x - zp| <= 255 fits int16; one madd lane is at most 2 * 255 * 127 = 64770 in
 * magnitude (far from madd's single overflow case, -32768 * -32768 twice). Every int32
 * lane holds bias[o] plus a subset of the terms of output o, bounded by
 * |bias[o]| + xmax * sum_i |w[i][o]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); integer addition is associative, so the different
 * summation order gives the reference's result exactly. */
#include "cnnc_s8.h"
#include "s8_requant_x86.h"

#if defined(__AVX2__)
#include <immintrin.h>

#define TILE_ROWS 4

/* The two int16 values (a, b) as one int32 lane, a in the low half (madd's pair order). */
static __m256i pair16(int32_t a, int32_t b) {
    const uint32_t lo = (uint16_t)(int16_t)a, hi = (uint16_t)(int16_t)b;
    return _mm256_set1_epi32((int32_t)(lo | (hi << 16)));
}

/* acc[r][j] = bias[j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < 8 * halves.
 * x: [rows][ldx] int8 (row r starts at x + r * ldx); w: [k][ldw] int8 from output 0 of the
 * tile; acc: [TILE_ROWS][16] int32. Called with constant rows/halves so it unrolls. */
CNNC_INLINE void dense_tile_avx2(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                 int32_t zp, const int8_t *w, size_t ldw, int32_t halves,
                                 const int32_t *bias, int32_t *acc) {
    __m256i a[TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm256_loadu_si256((const __m256i *)bias);
        a[r][1] = halves == 2 ? _mm256_loadu_si256((const __m256i *)(bias + 8))
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
            const __m256i xp = pair16(xr[i] - zp, xr[i + 1] - zp);
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
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)w0),
                                                        zero));
        }
        for (r = 0; r < rows; ++r) {
            const __m256i xp = pair16(x[(size_t)r * ldx + i] - zp, 0);
            a[r][0] = _mm256_add_epi32(a[r][0], _mm256_madd_epi16(lo, xp));
            if (halves == 2) a[r][1] = _mm256_add_epi32(a[r][1], _mm256_madd_epi16(hi, xp));
        }
    }
    for (r = 0; r < rows; ++r) {
        _mm256_storeu_si256((__m256i *)(acc + r * 16), a[r][0]);
        _mm256_storeu_si256((__m256i *)(acc + r * 16 + 8), a[r][1]);
    }
}

/* Rows b0 .. b0 + rows - 1 of x[n][k] -> y[n][m]. */
static void dense_rows_avx2(const cnnc_s8_dense_params *p, const int8_t *x, int32_t rows,
                            const int8_t *w, const int32_t *bias, const int32_t *mult,
                            const int32_t *shift, int8_t *y) {
    int32_t acc[TILE_ROWS * 16]; /* [rows][16] */
    int32_t o0 = 0, r, i, j;
    while (o0 + 8 <= p->m) {
        const int32_t nb = p->m - o0 >= 16 ? 16 : 8;
        const int8_t *wb = w + o0; /* [k][m] from output o0 */
        if (rows == TILE_ROWS && nb == 16)
            dense_tile_avx2(x, p->k, TILE_ROWS, p->k, p->x_zero_point, wb, p->m, 2, bias + o0,
                            acc);
        else if (rows == TILE_ROWS)
            dense_tile_avx2(x, p->k, TILE_ROWS, p->k, p->x_zero_point, wb, p->m, 1, bias + o0,
                            acc);
        else
            for (r = 0; r < rows; ++r) {
                if (nb == 16)
                    dense_tile_avx2(x + (size_t)r * p->k, p->k, 1, p->k, p->x_zero_point, wb,
                                    p->m, 2, bias + o0, acc + r * 16);
                else
                    dense_tile_avx2(x + (size_t)r * p->k, p->k, 1, p->k, p->x_zero_point, wb,
                                    p->m, 1, bias + o0, acc + r * 16);
            }
        for (r = 0; r < rows; ++r)
            for (j = 0; j < nb; j += 8)
                s8_requant8_avx2(_mm256_loadu_si256((const __m256i *)(acc + r * 16 + j)),
                                 mult + o0 + j, shift + o0 + j, p->rounding, p->y_zero_point,
                                 p->act_min, p->act_max, y + (size_t)r * p->m + o0 + j);
        o0 += nb;
    }
    for (r = 0; r < rows && o0 < p->m; ++r) { /* fewer than 8 outputs left: reference loop */
        const int8_t *xr = x + (size_t)r * p->k; /* [k] */
        const int32_t nb = p->m - o0;
        for (j = 0; j < nb; ++j) acc[j] = bias[o0 + j];
        for (i = 0; i < p->k; ++i) {
            const int32_t xv = xr[i] - p->x_zero_point;
            const int8_t *wr = w + (size_t)i * p->m + o0; /* [nb] */
            for (j = 0; j < nb; ++j) acc[j] += xv * wr[j];
        }
        for (j = 0; j < nb; ++j)
            y[(size_t)r * p->m + o0 + j] =
                cnnc_requant_s8(acc[j], mult[o0 + j], shift[o0 + j], p->rounding,
                                p->y_zero_point, p->act_min, p->act_max);
    }
}

void cnnc_s8_dense__avx2(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    int32_t b0;
    for (b0 = 0; b0 < p->n; b0 += TILE_ROWS) {
        const int32_t rows = p->n - b0 < TILE_ROWS ? p->n - b0 : TILE_ROWS;
        dense_rows_avx2(p, x + (size_t)b0 * p->k, rows, w, bias, mult, shift,
                        y + (size_t)b0 * p->m);
    }
}
#else
typedef int cnnc_s8_dense_x86_empty; /* ISO C forbids an empty translation unit */
#endif
