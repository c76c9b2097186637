/* ARM NEON variant of the int8 pointwise conv, bit-exact to cnnc_s8_pwconv__ref: the
 * pixels are the rows of a dense layer (w[C][Co]), run by cnnc_s8_dense__neon
 * (s8_dense_neon.c, where the tiling and the overflow bound are described). Compiled when
 * the build targets NEON; empty otherwise. */
#include "cnnc_s8.h"

#if defined(__ARM_NEON)
void cnnc_s8_pwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    cnnc_s8_dense_params dense;
    dense.n = p->n * p->h * p->w;
    dense.k = p->c;
    dense.m = p->oc;
    dense.x_zero_point = p->x_zero_point;
    dense.y_zero_point = p->y_zero_point;
    dense.act_min = p->act_min;
    dense.act_max = p->act_max;
    dense.rounding = p->rounding;
    cnnc_s8_dense__neon(&dense, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
