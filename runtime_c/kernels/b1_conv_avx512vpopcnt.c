/* AVX-512 VPOPCNTDQ variant of the binary conv and dense (bits output), bit-exact to
 * cnnc_b1_conv_bits__ref: the loops of b1_conv_loops.h with 512-bit XOR and a per-lane
 * popcount (vpopcntq), for B1_FILTERS output channels against each input load; tails by
 * masked loads. Compiled on every x86-64 build (CNNC_TARGET_VPOPCNT); run only on CPUs
 * with AVX-512 F/BW/DQ/VL and VPOPCNTDQ.
 *
 * Cost per 512 bits and filter: xor, vpopcntq, add = 3 zmm µops on two ports, so the
 * tier's peak is 512 / (3 / 2) = 341 binary MACs per cycle. */
#include "b1_conv_loops.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* popcount of each uint64 lane of x XOR the 16 words at w */
#define B1_XOR_POPCNT(XV, WV) _mm512_popcnt_epi64(_mm512_xor_si512((XV), (WV)))

CNNC_TARGET_VPOPCNT CNNC_INLINE __m512i b1_load_tail_vpopcnt(const uint32_t *a, int32_t left) {
    return _mm512_maskz_loadu_epi32((__mmask16)((1u << left) - 1u), a);
}

/* B1_FILTERS filters against a window's runs (b1_window_popcount4_fn). Overflow: the
 * uint64 lanes hold at most 32 * rows * run, which fits the int32 result as b1_conv_dot's
 * bound does. */
CNNC_TARGET_VPOPCNT static void b1_window_popcount4_vpopcnt(const b1_conv_window *win,
                                                            const uint32_t *w, size_t ws,
                                                            int32_t *acc) {
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0;
    const uint32_t *xr = win->x, *wr = w;
    int32_t r, j;
    for (r = 0; r < win->rows; ++r, xr += win->x_row, wr += win->w_row)
        for (j = 0; j < win->run; j += 16) {
            const int32_t left = win->run - j;
            const uint32_t *wj = wr + j;
            __m512i xv, v0, v1, v2, v3;
            if (left >= 16) {
                xv = _mm512_loadu_si512((const void *)(xr + j));
                v0 = _mm512_loadu_si512((const void *)wj);
                v1 = _mm512_loadu_si512((const void *)(wj + ws));
                v2 = _mm512_loadu_si512((const void *)(wj + 2 * ws));
                v3 = _mm512_loadu_si512((const void *)(wj + 3 * ws));
            } else {
                xv = b1_load_tail_vpopcnt(xr + j, left);
                v0 = b1_load_tail_vpopcnt(wj, left);
                v1 = b1_load_tail_vpopcnt(wj + ws, left);
                v2 = b1_load_tail_vpopcnt(wj + 2 * ws, left);
                v3 = b1_load_tail_vpopcnt(wj + 3 * ws, left);
            }
            t0 = _mm512_add_epi64(t0, B1_XOR_POPCNT(xv, v0));
            t1 = _mm512_add_epi64(t1, B1_XOR_POPCNT(xv, v1));
            t2 = _mm512_add_epi64(t2, B1_XOR_POPCNT(xv, v2));
            t3 = _mm512_add_epi64(t3, B1_XOR_POPCNT(xv, v3));
        }
    acc[0] = (int32_t)_mm512_reduce_add_epi64(t0);
    acc[1] = (int32_t)_mm512_reduce_add_epi64(t1);
    acc[2] = (int32_t)_mm512_reduce_add_epi64(t2);
    acc[3] = (int32_t)_mm512_reduce_add_epi64(t3);
}

/* One filter (channels left after the blocks of B1_FILTERS, and the pad_one path). */
CNNC_TARGET_VPOPCNT static int32_t b1_run_popcount_vpopcnt(const uint32_t *a, const uint32_t *b,
                                                           int32_t n) {
    __m512i total = _mm512_setzero_si512();
    int32_t j = 0;
    for (; j + 16 <= n; j += 16)
        total = _mm512_add_epi64(total, B1_XOR_POPCNT(_mm512_loadu_si512((const void *)(a + j)),
                                                      _mm512_loadu_si512((const void *)(b + j))));
    if (j < n)
        total = _mm512_add_epi64(total, B1_XOR_POPCNT(b1_load_tail_vpopcnt(a + j, n - j),
                                                      b1_load_tail_vpopcnt(b + j, n - j)));
    return (int32_t)_mm512_reduce_add_epi64(total);
}

CNNC_TARGET_VPOPCNT void cnnc_b1_conv_bits__avx512vpopcnt(const cnnc_b1_conv_params *p,
                                                          const uint32_t *CNNC_RESTRICT x,
                                                          const uint32_t *CNNC_RESTRICT w,
                                                          const int32_t *CNNC_RESTRICT thresholds,
                                                          uint32_t *CNNC_RESTRICT y) {
    b1_conv_bits_loops(p, x, w, thresholds, y, b1_run_popcount_vpopcnt,
                       b1_window_popcount4_vpopcnt);
}

CNNC_TARGET_VPOPCNT void cnnc_b1_dense_bits__avx512vpopcnt(const cnnc_b1_dense_params *p,
                                                           const uint32_t *CNNC_RESTRICT x,
                                                           const uint32_t *CNNC_RESTRICT w,
                                                           const int32_t *CNNC_RESTRICT thresholds,
                                                           uint32_t *CNNC_RESTRICT y) {
    b1_dense_bits_loops(p, x, w, thresholds, y, b1_run_popcount_vpopcnt,
                        b1_window_popcount4_vpopcnt);
}
#else
typedef int cnnc_b1_conv_avx512vpopcnt_empty; /* ISO C forbids an empty translation unit */
#endif
