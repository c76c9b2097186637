/* AVX512-VNNI variants of the int8 general and pointwise convolutions, bit-exact to their __ref
 * kernels: the loops of s8_conv_loops.h on the vpdpbusd tile of s8_tile_avx512vnni.h; the pointwise
 * conv runs as a dense layer on cnnc_s8_dense__avx512vnni (s8_dense_avx512vnni.c). Compiled on
 * every x86-64 build (CNNC_TARGET_AVX512VNNI); run only on CPUs with AVX-512 F/BW/DQ/VL and
 * AVX512-VNNI. */
#include "cnnc_s8.h"
#include "s8_tile_avx512vnni.h"
/* after the tile: the loops are built on its hooks */
#include "s8_conv_loops.h"

#if defined(__x86_64__)
CNNC_TARGET_AVX512VNNI void cnnc_s8_pwconv__avx512vnni(const cnnc_s8_conv_params *p,
                                                       const int8_t *x, const int8_t *w,
                                                       const int32_t *bias, const int32_t *mult,
                                                       const int32_t *shift, int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__avx512vnni(&dense, x, w, bias, mult, shift, y);
}

CNNC_TARGET_AVX512VNNI void cnnc_s8_conv__avx512vnni(const cnnc_s8_conv_params *p, const int8_t *x,
                                                     const int8_t *w, const int32_t *bias,
                                                     const int32_t *mult, const int32_t *shift,
                                                     int8_t *y) {
    s8_conv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_conv_avx512vnni_empty; /* ISO C forbids an empty translation unit */
#endif
