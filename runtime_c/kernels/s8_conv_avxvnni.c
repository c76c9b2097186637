/* AVX-VNNI variants of the int8 general and pointwise convolutions, bit-exact to their __ref
 * kernels: the loops of s8_conv_loops.h on the vpdpbusd tile of s8_tile_avxvnni.h; the pointwise
 * conv runs as a dense layer on cnnc_s8_dense__avxvnni (s8_dense_avxvnni.c). Compiled on every
 * x86-64 build (CNNC_TARGET_AVXVNNI); run only on CPUs with AVX2, FMA and AVX-VNNI. */
#include "cnnc_s8.h"
#include "s8_tile_avxvnni.h"
/* after the tile: the loops are built on its hooks */
#include "s8_conv_loops.h"

#if defined(__x86_64__)
CNNC_TARGET_AVXVNNI void cnnc_s8_pwconv__avxvnni(const cnnc_s8_conv_params *p, const int8_t *x,
                                                 const int8_t *w, const int32_t *bias,
                                                 const int32_t *mult, const int32_t *shift,
                                                 int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__avxvnni(&dense, x, w, bias, mult, shift, y);
}

CNNC_TARGET_AVXVNNI void cnnc_s8_conv__avxvnni(const cnnc_s8_conv_params *p, const int8_t *x,
                                               const int8_t *w, const int32_t *bias,
                                               const int32_t *mult, const int32_t *shift,
                                               int8_t *y) {
    s8_conv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_conv_avxvnni_empty; /* ISO C forbids an empty translation unit */
#endif
