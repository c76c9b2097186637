/* AVX512-VNNI variant of the int8 fully connected layer (and, through cnnc_s8_pwconv__avx512vnni,
 * the pointwise conv), bit-exact to cnnc_s8_dense__ref: the loops of s8_dense_loops.h on
 * the vpdpbusd tile of s8_tile_avx512vnni.h (its overflow proof: exact modulo 2^32, and the true
 * sum fits int32). Compiled on every x86-64 build (CNNC_TARGET_AVX512VNNI); run only on CPUs with
 * AVX-512 F/BW/DQ/VL and AVX512-VNNI. */
#include "cnnc_s8.h"
#include "s8_tile_avx512vnni.h"
/* after the tile: the loops are built on its hooks */
#include "s8_dense_loops.h"

#if defined(__x86_64__)
CNNC_TARGET_AVX512VNNI void cnnc_s8_dense__avx512vnni(const cnnc_s8_dense_params *p,
                                                      const int8_t *x, const int8_t *w,
                                                      const int32_t *bias, const int32_t *mult,
                                                      const int32_t *shift, int8_t *y) {
    s8_dense_loops(p, x, w, bias, mult, shift, y);
}

/* Outputs [c0, c1) (model_threads.c's column split): the same panels, from column c0. */
CNNC_TARGET_AVX512VNNI void cnnc_s8_dense_cols__avx512vnni(const cnnc_s8_dense_params *p,
                                                           int32_t c0, int32_t c1, const int8_t *x,
                                                           const int8_t *w, const int32_t *bias,
                                                           const int32_t *mult,
                                                           const int32_t *shift, int8_t *y) {
    s8_dense_panels_cols(p, c0, c1, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dense_avx512vnni_empty; /* ISO C forbids an empty translation unit */
#endif
