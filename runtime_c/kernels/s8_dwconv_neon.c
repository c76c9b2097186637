/* ARM NEON variant of the int8 depthwise conv, bit-exact to cnnc_s8_dwconv__ref: the
 * loops of s8_dwconv_loops.h on the hooks below. A block of 16 (8) channels lives in four
 * (two) int32x4 registers: 8 channels of x are widened to int16 minus zp, 8 of w to int16,
 * and vmlal_s16 adds their int32 products (exact: |product| <= 255 * 127); eight
 * requantisations at once (s8_requant_neon.h). Compiled when the build targets NEON
 * (aarch64; armv7 with -mfpu=neon*); empty otherwise; ARMv7 NEON intrinsics only. */
#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

#define S8_DW_COLS 16
#define S8_TARGET /* the build targets NEON: no attribute needed */

typedef struct {
    int32x4_t v[4]; /* channels c0 + 4i .. c0 + 4i + 3 (v[2], v[3] unused when nb = 8) */
} s8_dw_acc;
typedef int16x8_t s8_dw_zp; /* zp in every int16 lane */

CNNC_INLINE s8_dw_zp s8_dw_zero_point(int32_t zp) { return vdupq_n_s16((int16_t)zp); }

CNNC_INLINE s8_dw_acc s8_dw_init(const int32_t *bias, int32_t nb) {
    s8_dw_acc a;
    a.v[0] = vld1q_s32(bias);
    a.v[1] = vld1q_s32(bias + 4);
    a.v[2] = vdupq_n_s32(0);
    a.v[3] = vdupq_n_s32(0);
    if (nb == 16) {
        a.v[2] = vld1q_s32(bias + 8);
        a.v[3] = vld1q_s32(bias + 12);
    }
    return a;
}

/* acc[0..8) += (x[0..8) - zp) * w[0..8) in a[0], a[1]. */
CNNC_INLINE void s8_dw_tap8(int32x4_t *a, const int8_t *x, const int8_t *w, s8_dw_zp zp) {
    const int16x8_t xv = vsubq_s16(vmovl_s8(vld1_s8(x)), zp);
    const int16x8_t wv = vmovl_s8(vld1_s8(w));
    a[0] = vmlal_s16(a[0], vget_low_s16(xv), vget_low_s16(wv));
    a[1] = vmlal_s16(a[1], vget_high_s16(xv), vget_high_s16(wv));
}

CNNC_INLINE void s8_dw_tap(s8_dw_acc *a, const int8_t *x, const int8_t *w, s8_dw_zp zp,
                           int32_t nb) {
    s8_dw_tap8(a->v, x, w, zp);
    if (nb == 16) s8_dw_tap8(a->v + 2, x + 8, w + 8, zp);
}

CNNC_INLINE void s8_dw_requant(const s8_dw_acc *a, int32_t nb, const int32_t *mult,
                               const int32_t *shift, const cnnc_s8_conv_params *p, int8_t *y) {
    s8_requant8_neon(a->v[0], a->v[1], mult, shift, p->rounding, p->y_zero_point, p->act_min,
                     p->act_max, y);
    if (nb == 16)
        s8_requant8_neon(a->v[2], a->v[3], mult + 8, shift + 8, p->rounding, p->y_zero_point,
                         p->act_min, p->act_max, y + 8);
}

#include "s8_dwconv_loops.h"

void cnnc_s8_dwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    s8_dwconv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dwconv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
