/* AVX-512 (F/BW/DQ/VL, no VPOPCNTDQ) variant of the binary conv and dense (bits output), bit-exact
 * to cnnc_b1_conv_bits__ref: the loops of b1_conv_loops.h with popcounts of 512-bit XORed
 * runs by nibble table (vpshufb on zmm), for B1_FILTERS output channels against each input
 * load; tails by masked loads. Compiled on every x86-64 build (CNNC_TARGET_AVX512); run
 * only on CPUs with AVX-512 F/BW/DQ/VL. CPUs with VPOPCNTDQ run
 * b1_conv_avx512vpopcnt.c instead. The conv takes b1_conv_pq_avx512.h's word-planar lanes
 * for 3x3 kernels at 2 or 4 words a pixel, else b1_conv_px_avx512.h's lanes over output
 * pixels where they apply (<= 256 channels, stride_w 1) and otherwise b1_conv_avx2.c's
 * word loops, which measured faster than this file's (bench_binary_conv.py: 93 vs 64
 * GBOP/s at 256 channels); dense keeps this file's loops.
 *
 * Cost per 512 bits and filter: xor, shift, 2 and, 2 vpshufb, 2 byte adds = 8 zmm µops
 * (vpsadbw once per 31 steps); 512-bit µops issue on two ports, so the tier's peak is
 * 512 / (8 / 2) = 128 binary MACs per cycle. */
#include "b1_conv_loops.h"
#include "b1_conv_pq_avx512.h"
#include "b1_conv_px_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Bit counts 0..8 of each byte of v. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i b1_popcount_bytes_avx512(__m512i v) {
    const __m512i lut =
        _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_and_si512(v, nibble);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
    return _mm512_add_epi8(_mm512_shuffle_epi8(lut, lo), _mm512_shuffle_epi8(lut, hi));
}

/* Byte counts widened to eight uint64 lanes and added to total. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i b1_add_bytes_avx512(__m512i total, __m512i bytes) {
    return _mm512_add_epi64(total, _mm512_sad_epu8(bytes, _mm512_setzero_si512()));
}

/* The words j < n left over after the full 16-word steps: lanes past n are not loaded. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i b1_load_tail_avx512(const uint32_t *a, int32_t left) {
    return _mm512_maskz_loadu_epi32((__mmask16)((1u << left) - 1u), a);
}

#define B1_XOR_BYTES_AVX512(XV, WP) \
    b1_popcount_bytes_avx512(_mm512_xor_si512((XV), _mm512_loadu_si512((const void *)(WP))))

/* B1_FILTERS filters against a window's runs (b1_window_popcount4_fn). Overflow: a byte
 * lane of b0..b3 grows by at most 8 per step and is widened every 31 steps
 * (31 * 8 = 248 <= 255); the uint64 totals hold at most 32 * rows * run, which fits the
 * int32 result as b1_conv_dot's bound does. */
CNNC_TARGET_AVX512 static void b1_window_popcount4_avx512(const b1_conv_window *win,
                                                          const uint32_t *w, size_t ws,
                                                          int32_t *acc) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i t0 = zero, t1 = zero, t2 = zero, t3 = zero, b0 = zero, b1 = zero, b2 = zero;
    __m512i b3 = zero;
    const uint32_t *xr = win->x, *wr = w;
    int32_t r, j, steps = 0;
    for (r = 0; r < win->rows; ++r, xr += win->x_row, wr += win->w_row)
        for (j = 0; j < win->run; j += 16, ++steps) {
            const int32_t left = win->run - j;
            const uint32_t *wj = wr + j;
            __m512i xv, v0, v1, v2, v3;
            if (steps == 31) {
                t0 = b1_add_bytes_avx512(t0, b0);
                t1 = b1_add_bytes_avx512(t1, b1);
                t2 = b1_add_bytes_avx512(t2, b2);
                t3 = b1_add_bytes_avx512(t3, b3);
                b0 = b1 = b2 = b3 = zero;
                steps = 0;
            }
            if (left >= 16) {
                xv = _mm512_loadu_si512((const void *)(xr + j));
                v0 = _mm512_loadu_si512((const void *)wj);
                v1 = _mm512_loadu_si512((const void *)(wj + ws));
                v2 = _mm512_loadu_si512((const void *)(wj + 2 * ws));
                v3 = _mm512_loadu_si512((const void *)(wj + 3 * ws));
            } else {
                xv = b1_load_tail_avx512(xr + j, left);
                v0 = b1_load_tail_avx512(wj, left);
                v1 = b1_load_tail_avx512(wj + ws, left);
                v2 = b1_load_tail_avx512(wj + 2 * ws, left);
                v3 = b1_load_tail_avx512(wj + 3 * ws, left);
            }
            b0 = _mm512_add_epi8(b0, b1_popcount_bytes_avx512(_mm512_xor_si512(xv, v0)));
            b1 = _mm512_add_epi8(b1, b1_popcount_bytes_avx512(_mm512_xor_si512(xv, v1)));
            b2 = _mm512_add_epi8(b2, b1_popcount_bytes_avx512(_mm512_xor_si512(xv, v2)));
            b3 = _mm512_add_epi8(b3, b1_popcount_bytes_avx512(_mm512_xor_si512(xv, v3)));
        }
    acc[0] = (int32_t)_mm512_reduce_add_epi64(b1_add_bytes_avx512(t0, b0));
    acc[1] = (int32_t)_mm512_reduce_add_epi64(b1_add_bytes_avx512(t1, b1));
    acc[2] = (int32_t)_mm512_reduce_add_epi64(b1_add_bytes_avx512(t2, b2));
    acc[3] = (int32_t)_mm512_reduce_add_epi64(b1_add_bytes_avx512(t3, b3));
}

/* One filter (channels left after the blocks of B1_FILTERS, and the pad_one path). */
CNNC_TARGET_AVX512 static int32_t b1_run_popcount_avx512(const uint32_t *a, const uint32_t *b,
                                                         int32_t n) {
    __m512i total = _mm512_setzero_si512();
    int32_t j = 0;
    while (j + 16 <= n) {
        const int32_t stop = n - j >= 16 * 31 ? j + 16 * 31 : n;
        __m512i bytes = _mm512_setzero_si512();
        for (; j + 16 <= stop; j += 16)
            bytes = _mm512_add_epi8(
                bytes, B1_XOR_BYTES_AVX512(_mm512_loadu_si512((const void *)(a + j)), b + j));
        total = b1_add_bytes_avx512(total, bytes);
    }
    if (j < n)
        total = b1_add_bytes_avx512(
            total, b1_popcount_bytes_avx512(_mm512_xor_si512(b1_load_tail_avx512(a + j, n - j),
                                                             b1_load_tail_avx512(b + j, n - j))));
    return (int32_t)_mm512_reduce_add_epi64(total);
}

CNNC_TARGET_AVX512 void cnnc_b1_conv_bits__avx512(const cnnc_b1_conv_params *p,
                                                  const uint32_t *CNNC_RESTRICT x,
                                                  const uint32_t *CNNC_RESTRICT w,
                                                  const int32_t *CNNC_RESTRICT thresholds,
                                                  uint32_t *CNNC_RESTRICT y) {
    if (b1pq_applies(p)) { /* 3x3, 64 or 128 channels: planar words */
        b1pq_conv_bits(p, x, w, thresholds, y);
        return;
    }
    if (b1pz_applies(p)) { /* <= 256 channels: lanes over output pixels */
        b1pz_conv_bits(p, x, w, thresholds, y);
        return;
    }
    /* the word loops of b1_conv_avx2.c: measured faster than this file's zmm ones */
    cnnc_b1_conv_bits__avx2(p, x, w, thresholds, y);
}

CNNC_TARGET_AVX512 void cnnc_b1_dense_bits__avx512(const cnnc_b1_dense_params *p,
                                                   const uint32_t *CNNC_RESTRICT x,
                                                   const uint32_t *CNNC_RESTRICT w,
                                                   const int32_t *CNNC_RESTRICT thresholds,
                                                   uint32_t *CNNC_RESTRICT y) {
    b1_dense_bits_loops(p, x, w, thresholds, y, b1_run_popcount_avx512, b1_window_popcount4_avx512);
}
#else
typedef int cnnc_b1_conv_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
