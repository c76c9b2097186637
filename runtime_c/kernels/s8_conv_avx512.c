/* AVX-512 (F/BW/DQ/VL) variants of the int8 convolutions, bit-exact to their __ref kernels
 * (same packed weights, same int32 sums, cnnc_requant_s8's results): the loops of
 * s8_conv_loops.h on the AVX-512 tile (s8_tile_avx512.h; tiles of 4 output pixels by 32,
 * 16 or 8 channels). The pointwise conv runs as a dense layer on cnnc_s8_dense__avx512
 * (s8_dense_avx512.c). Compiled on every x86-64 build (CNNC_TARGET_AVX512); run only on
 * CPUs with AVX-512 F/BW/DQ/VL. */
#include "cnnc_s8.h"
#include "s8_tile_avx512.h"
/* after the tile: the loops are built on its hooks */
#include "s8_conv_loops.h"

#if defined(__x86_64__)
CNNC_TARGET_AVX512 void cnnc_s8_pwconv__avx512(const cnnc_s8_conv_params *p, const int8_t *x,
                                               const int8_t *w, const int32_t *bias,
                                               const int32_t *mult, const int32_t *shift,
                                               int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__avx512(&dense, x, w, bias, mult, shift, y);
}

CNNC_TARGET_AVX512 void cnnc_s8_conv__avx512(const cnnc_s8_conv_params *p, const int8_t *x,
                                             const int8_t *w, const int32_t *bias,
                                             const int32_t *mult, const int32_t *shift, int8_t *y) {
    s8_conv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_conv_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
