/* AVX2 variant of the binary conv and dense (bits output), bit-exact to cnnc_b1_conv_bits__ref: the
 * loops of b1_conv_loops.h with popcounts of 256-bit XORed runs by nibble table (vpshufb
 * looks up the bit count of each 4-bit half of every byte), for B1_FILTERS output
 * channels against each input load. Compiled on every x86-64 build (CNNC_TARGET_AVX2);
 * run only on CPUs with AVX2.
 *
 * Cost per 256 bits and filter: xor, shift, 2 and, 2 vpshufb, 2 byte adds = 8 vector µops
 * (the vpsadbw that widens the byte counts runs once per 31 steps), so on three vector
 * ports the tier's peak is 256 / (8 / 3) = 96 binary MACs per cycle. Convs of 1, 2 or 4
 * words a pixel with stride 1 take b1_conv_px_avx2.h's lanes over output pixels instead. */
#include "b1_conv_loops.h"
#include "b1_conv_px_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Bit counts 0..8 of each byte of v. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i b1_popcount_bytes_avx2(__m256i v) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i lo = _mm256_and_si256(v, nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* Byte counts widened to four uint64 lanes and added to total. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i b1_add_bytes_avx2(__m256i total, __m256i bytes) {
    return _mm256_add_epi64(total, _mm256_sad_epu8(bytes, _mm256_setzero_si256()));
}

CNNC_TARGET_AVX2 CNNC_INLINE int32_t b1_sum_epi64_avx2(__m256i v) {
    const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return (int32_t)(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
}

/* The words j < n left over after the full 8-word steps: lanes past n are not loaded. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i b1_load_tail_avx2(const uint32_t *a, int32_t left) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
    return _mm256_maskload_epi32((const int *)a, live);
}

/* B1_FILTERS filters against a window's runs (b1_window_popcount4_fn). Overflow: a byte
 * lane of b0..b3 grows by at most 8 per step and is widened every 31 steps
 * (31 * 8 = 248 <= 255); the uint64 totals hold at most 32 * rows * run, which fits the
 * int32 result as b1_conv_dot's bound does. */
CNNC_TARGET_AVX2 static void b1_window_popcount4_avx2(const b1_conv_window *win, const uint32_t *w,
                                                      size_t ws, int32_t *acc) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i t0 = zero, t1 = zero, t2 = zero, t3 = zero, b0 = zero, b1 = zero, b2 = zero;
    __m256i b3 = zero;
    const uint32_t *xr = win->x, *wr = w;
    int32_t r, j, steps = 0;
    for (r = 0; r < win->rows; ++r, xr += win->x_row, wr += win->w_row)
        for (j = 0; j < win->run; j += 8, ++steps) {
            const int32_t left = win->run - j;
            const uint32_t *wj = wr + j;
            __m256i xv, v0, v1, v2, v3;
            if (steps == 31) {
                t0 = b1_add_bytes_avx2(t0, b0);
                t1 = b1_add_bytes_avx2(t1, b1);
                t2 = b1_add_bytes_avx2(t2, b2);
                t3 = b1_add_bytes_avx2(t3, b3);
                b0 = b1 = b2 = b3 = zero;
                steps = 0;
            }
            if (left >= 8) {
                xv = _mm256_loadu_si256((const __m256i *)(xr + j));
                v0 = _mm256_loadu_si256((const __m256i *)wj);
                v1 = _mm256_loadu_si256((const __m256i *)(wj + ws));
                v2 = _mm256_loadu_si256((const __m256i *)(wj + 2 * ws));
                v3 = _mm256_loadu_si256((const __m256i *)(wj + 3 * ws));
            } else {
                xv = b1_load_tail_avx2(xr + j, left);
                v0 = b1_load_tail_avx2(wj, left);
                v1 = b1_load_tail_avx2(wj + ws, left);
                v2 = b1_load_tail_avx2(wj + 2 * ws, left);
                v3 = b1_load_tail_avx2(wj + 3 * ws, left);
            }
            b0 = _mm256_add_epi8(b0, b1_popcount_bytes_avx2(_mm256_xor_si256(xv, v0)));
            b1 = _mm256_add_epi8(b1, b1_popcount_bytes_avx2(_mm256_xor_si256(xv, v1)));
            b2 = _mm256_add_epi8(b2, b1_popcount_bytes_avx2(_mm256_xor_si256(xv, v2)));
            b3 = _mm256_add_epi8(b3, b1_popcount_bytes_avx2(_mm256_xor_si256(xv, v3)));
        }
    acc[0] = b1_sum_epi64_avx2(b1_add_bytes_avx2(t0, b0));
    acc[1] = b1_sum_epi64_avx2(b1_add_bytes_avx2(t1, b1));
    acc[2] = b1_sum_epi64_avx2(b1_add_bytes_avx2(t2, b2));
    acc[3] = b1_sum_epi64_avx2(b1_add_bytes_avx2(t3, b3));
}

/* One filter (channels left after the blocks of B1_FILTERS, and the pad_one path). */
CNNC_TARGET_AVX2 static int32_t b1_run_popcount_avx2(const uint32_t *a, const uint32_t *b,
                                                     int32_t n) {
    __m256i total = _mm256_setzero_si256();
    int32_t j = 0;
    while (j + 8 <= n) {
        const int32_t stop = n - j >= 8 * 31 ? j + 8 * 31 : n;
        __m256i bytes = _mm256_setzero_si256();
        for (; j + 8 <= stop; j += 8)
            bytes = _mm256_add_epi8(bytes, b1_popcount_bytes_avx2(_mm256_xor_si256(
                                               _mm256_loadu_si256((const __m256i *)(a + j)),
                                               _mm256_loadu_si256((const __m256i *)(b + j)))));
        total = b1_add_bytes_avx2(total, bytes);
    }
    if (j < n)
        total = b1_add_bytes_avx2(
            total, b1_popcount_bytes_avx2(_mm256_xor_si256(b1_load_tail_avx2(a + j, n - j),
                                                           b1_load_tail_avx2(b + j, n - j))));
    return b1_sum_epi64_avx2(total);
}

CNNC_TARGET_AVX2 void cnnc_b1_conv_bits__avx2(const cnnc_b1_conv_params *p,
                                              const uint32_t *CNNC_RESTRICT x,
                                              const uint32_t *CNNC_RESTRICT w,
                                              const int32_t *CNNC_RESTRICT thresholds,
                                              uint32_t *CNNC_RESTRICT y) {
    if (b1px_applies(p)) { /* <= 128 channels: lanes over output pixels */
        b1px_conv_bits(p, x, w, thresholds, y);
        return;
    }
    b1_conv_bits_loops(p, x, w, thresholds, y, b1_run_popcount_avx2, b1_window_popcount4_avx2);
}

CNNC_TARGET_AVX2 void cnnc_b1_dense_bits__avx2(const cnnc_b1_dense_params *p,
                                               const uint32_t *CNNC_RESTRICT x,
                                               const uint32_t *CNNC_RESTRICT w,
                                               const int32_t *CNNC_RESTRICT thresholds,
                                               uint32_t *CNNC_RESTRICT y) {
    b1_dense_bits_loops(p, x, w, thresholds, y, b1_run_popcount_avx2, b1_window_popcount4_avx2);
}
#else
typedef int cnnc_b1_conv_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
