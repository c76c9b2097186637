/* The AVX-512BW hooks of s8_dense_loops.h's one-row GEMV (s8_gemv), shared by the AVX-512
 * and AVX-512 VNNI tiles (s8_tile_avx512.h, s8_tile_avx512vnni.h; plain vpmaddwd in both: a
 * VNNI target runs AVX-512BW code). Private to the s8 kernels. */
#ifndef CNNC_S8_GEMV_AVX512_H
#define CNNC_S8_GEMV_AVX512_H

#include "cnnc_s8.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* The one-row GEMV of s8_dense_loops.h (s8_gemv): acc (S8_GEMV_COLS int32, 64-byte
 * aligned, in the step's order) += the int16 pairs (w0[j], w1[j]) of 32 outputs times the
 * broadcast pair (a, b): rows sign-extended whole (vpmovsxbw) and interleaved by vpunpck*wd,
 * so lane 4L + t of the first vector holds output 8L + t and of the second 8L + 4 + t;
 * s8_gemv_order puts them back. Overflow: |a|, |b| <= 255 (x - zp) fit int16, one madd
 * lane is at most 2 * 255 * 128 in magnitude; the int32 sums are bounded as the tiles'
 * (cnnc.quantize, check_accumulator), in any order. */
#define S8_GEMV_COLS 32
CNNC_TARGET_AVX512 CNNC_INLINE void s8_gemv_step(int32_t *acc, const int8_t *w0, const int8_t *w1,
                                                 int32_t a, int32_t b) {
    const __m512i xp = /* (a, b) as one int32 lane, a in the low half (madd's order) */
        _mm512_set1_epi32(
            (int32_t)((uint32_t)(uint16_t)(int16_t)a | ((uint32_t)(uint16_t)(int16_t)b << 16)));
    const __m512i r0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)w0));
    const __m512i r1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)w1));
    _mm512_store_si512((void *)acc,
                       _mm512_add_epi32(_mm512_load_si512((const void *)acc),
                                        _mm512_madd_epi16(_mm512_unpacklo_epi16(r0, r1), xp)));
    _mm512_store_si512((void *)(acc + 16),
                       _mm512_add_epi32(_mm512_load_si512((const void *)(acc + 16)),
                                        _mm512_madd_epi16(_mm512_unpackhi_epi16(r0, r1), xp)));
}

/* acc's 32 sums from s8_gemv_step's order to the outputs' (in place). */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_gemv_order(int32_t *acc) {
    const __m512i lo = _mm512_load_si512((const void *)acc);
    const __m512i hi = _mm512_load_si512((const void *)(acc + 16));
    const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i second =
        _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    _mm512_store_si512((void *)acc, _mm512_permutex2var_epi32(lo, first, hi));
    _mm512_store_si512((void *)(acc + 16), _mm512_permutex2var_epi32(lo, second, hi));
}
#endif

#endif /* CNNC_S8_GEMV_AVX512_H */
