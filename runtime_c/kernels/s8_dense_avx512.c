/* AVX-512 (F/BW/DQ/VL) variant of the int8 fully connected layer (and, through
 * cnnc_s8_pwconv__avx512, the pointwise conv), bit-exact to cnnc_s8_dense__ref: the loops
 * of s8_dense_loops.h on the AVX-512 tile (s8_tile_avx512.h: int16 pairs of weights times
 * pairs of x - zp, _mm512_madd_epi16 into int32 lanes; 32, 16 or 8 outputs per tile) and
 * sixteen requantisations at once (s8_requant_avx512.h). Compiled on every x86-64 build
 * (CNNC_TARGET_AVX512); run only on CPUs with AVX-512 F/BW/DQ/VL. */
#include "cnnc_s8.h"
#include "s8_tile_avx512.h"
/* after the tile: the loops are built on its hooks */
#include "s8_dense_loops.h"

#if defined(__x86_64__)
CNNC_TARGET_AVX512 void cnnc_s8_dense__avx512(const cnnc_s8_dense_params *p, const int8_t *x,
                                              const int8_t *w, const int32_t *bias,
                                              const int32_t *mult, const int32_t *shift,
                                              int8_t *y) {
    s8_dense_loops(p, x, w, bias, mult, shift, y);
}

/* Outputs [c0, c1) (model_threads.c's column split): the same panels, from column c0. */
CNNC_TARGET_AVX512 void cnnc_s8_dense_cols__avx512(const cnnc_s8_dense_params *p, int32_t c0,
                                                   int32_t c1, const int8_t *x, const int8_t *w,
                                                   const int32_t *bias, const int32_t *mult,
                                                   const int32_t *shift, int8_t *y) {
    s8_dense_panels_cols(p, c0, c1, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dense_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
