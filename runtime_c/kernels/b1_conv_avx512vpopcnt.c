/* x86 variants of the binary conv (bits output), bit-exact to cnnc_b1_conv_bits__ref: the
 * same loops (b1_conv_loops.h) with a wider popcount of the XORed runs. Each variant is
 * compiled only when the build targets its ISA (e.g. -mavx512f -mavx512vpopcntdq); a
 * plain x86-64 (SSE2) or ARM build gets only the __ref kernels. */
#include "b1_conv_loops.h"

#if defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__)
#include <immintrin.h>

/* 16 words per step: XOR, per-lane popcount, add; masked loads read only j < n. Lane sums
 * stay <= 32 * n / 16, far from overflow. */
static int32_t b1_run_popcount_avx512(const uint32_t *a, const uint32_t *b, int32_t n) {
    __m512i acc = _mm512_setzero_si512();
    int32_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512i va = _mm512_loadu_si512((const void *)(a + j));
        const __m512i vb = _mm512_loadu_si512((const void *)(b + j));
        acc = _mm512_add_epi32(acc, _mm512_popcnt_epi32(_mm512_xor_si512(va, vb)));
    }
    if (j < n) {
        const __mmask16 live = (__mmask16)((1u << (n - j)) - 1u);
        const __m512i va = _mm512_maskz_loadu_epi32(live, a + j);
        const __m512i vb = _mm512_maskz_loadu_epi32(live, b + j);
        acc = _mm512_add_epi32(acc, _mm512_popcnt_epi32(_mm512_xor_si512(va, vb)));
    }
    return _mm512_reduce_add_epi32(acc);
}

void cnnc_b1_conv_bits__avx512(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                               const uint32_t *CNNC_RESTRICT w,
                               const int32_t *CNNC_RESTRICT thresholds,
                               uint32_t *CNNC_RESTRICT y) {
    b1_conv_bits_loops(p, x, w, thresholds, y, b1_run_popcount_avx512);
}
#else
typedef int cnnc_b1_conv_x86_empty; /* ISO C forbids an empty translation unit */
#endif
