/* AVX-512 VPOPCNTDQ variant of the binary conv (bits output), bit-exact to
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

/* B1_FILTERS filters against one run of x. Overflow: the uint64 lanes hold at most 32 * n,
 * which fits the int32 result as b1_conv_dot's bound does. */
CNNC_TARGET_VPOPCNT static void b1_run_popcount4_vpopcnt(const uint32_t *x, const uint32_t *w,
                                                         size_t ws, int32_t n, int32_t *acc) {
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0;
    int32_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512i xv = _mm512_loadu_si512((const void *)(x + j));
        const uint32_t *wj = w + j;
        t0 = _mm512_add_epi64(t0, B1_XOR_POPCNT(xv, _mm512_loadu_si512((const void *)wj)));
        t1 = _mm512_add_epi64(t1, B1_XOR_POPCNT(xv, _mm512_loadu_si512((const void *)(wj + ws))));
        t2 = _mm512_add_epi64(t2,
                              B1_XOR_POPCNT(xv, _mm512_loadu_si512((const void *)(wj + 2 * ws))));
        t3 = _mm512_add_epi64(t3,
                              B1_XOR_POPCNT(xv, _mm512_loadu_si512((const void *)(wj + 3 * ws))));
    }
    if (j < n) {
        const __m512i xv = b1_load_tail_vpopcnt(x + j, n - j);
        const uint32_t *wj = w + j;
        t0 = _mm512_add_epi64(t0, B1_XOR_POPCNT(xv, b1_load_tail_vpopcnt(wj, n - j)));
        t1 = _mm512_add_epi64(t1, B1_XOR_POPCNT(xv, b1_load_tail_vpopcnt(wj + ws, n - j)));
        t2 = _mm512_add_epi64(t2, B1_XOR_POPCNT(xv, b1_load_tail_vpopcnt(wj + 2 * ws, n - j)));
        t3 = _mm512_add_epi64(t3, B1_XOR_POPCNT(xv, b1_load_tail_vpopcnt(wj + 3 * ws, n - j)));
    }
    acc[0] += (int32_t)_mm512_reduce_add_epi64(t0);
    acc[1] += (int32_t)_mm512_reduce_add_epi64(t1);
    acc[2] += (int32_t)_mm512_reduce_add_epi64(t2);
    acc[3] += (int32_t)_mm512_reduce_add_epi64(t3);
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

CNNC_TARGET_VPOPCNT void cnnc_b1_conv_bits__avx512vpopcnt(
    const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
    const uint32_t *CNNC_RESTRICT w, const int32_t *CNNC_RESTRICT thresholds,
    uint32_t *CNNC_RESTRICT y) {
    b1_conv_bits_loops(p, x, w, thresholds, y, b1_run_popcount_vpopcnt, b1_run_popcount4_vpopcnt);
}
#else
typedef int cnnc_b1_conv_avx512vpopcnt_empty; /* ISO C forbids an empty translation unit */
#endif
