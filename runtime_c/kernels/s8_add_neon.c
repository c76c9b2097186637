/* ARM NEON variant of the int8 elementwise add, bit-exact to cnnc_s8_add__ref: eight
 * elements at once through the same three requantisations (s8_requant_neon.h, which
 * states why each lane is cnnc_requant's): a' = requant((a - a_zp) << left_shift), b'
 * likewise, y = clamp(requant(a' + b') + y_zp). (a - a_zp) << left_shift is __ref's
 * (a - a_zp) * 2^left_shift, and a' + b' its int32 sum, so every lane follows __ref's
 * arithmetic step by step. The onnxruntime rounding (float32) and the last size % 8
 * elements run __ref. Compiled when the build targets NEON (aarch64; armv7 with
 * -mfpu=neon*); empty otherwise; ARMv7 NEON intrinsics only. */
#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

/* requant((v[0..8) - zp) << left) as two int32x4 halves (lo, hi). */
#define S8_ADD_SCALE(V, ZP, LEFT, M, S, RND, LO, HI)                                    \
    do {                                                                                \
        const int16x8_t d = vsubq_s16(vmovl_s8(V), ZP);                                 \
        LO = s8_requant4_neon(vshlq_s32(vmovl_s16(vget_low_s16(d)), LEFT), M, S, RND);  \
        HI = s8_requant4_neon(vshlq_s32(vmovl_s16(vget_high_s16(d)), LEFT), M, S, RND); \
    } while (0)

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static __inline void
s8_add_neon_loop(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y,
                 int32_t n, int32_t rounding) {
    const int16x8_t azp = vdupq_n_s16((int16_t)p->a_zero_point);
    const int16x8_t bzp = vdupq_n_s16((int16_t)p->b_zero_point);
    const int32x4_t left = vdupq_n_s32(p->left_shift);
    const int32x4_t am = vdupq_n_s32(p->a_mult), as = vdupq_n_s32(p->a_shift);
    const int32x4_t bm = vdupq_n_s32(p->b_mult), bs = vdupq_n_s32(p->b_shift);
    const int32x4_t ym = vdupq_n_s32(p->y_mult), ys = vdupq_n_s32(p->y_shift);
    const int32x4_t rlo = vdupq_n_s32(p->act_min - p->y_zero_point);
    const int32x4_t rhi = vdupq_n_s32(p->act_max - p->y_zero_point);
    const int32x4_t yzp = vdupq_n_s32(p->y_zero_point);
    int32_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        int32x4_t a0, a1, b0, b1, r0, r1;
        S8_ADD_SCALE(vld1_s8(a + i), azp, left, am, as, rounding, a0, a1);
        S8_ADD_SCALE(vld1_s8(b + i), bzp, left, bm, bs, rounding, b0, b1);
        r0 = s8_requant4_neon(vaddq_s32(a0, b0), ym, ys, rounding);
        r1 = s8_requant4_neon(vaddq_s32(a1, b1), ym, ys, rounding);
        /* clamp(r + zp, lo, hi) = clamp(r, lo - zp, hi - zp) + zp (s8_requant_neon.h) */
        r0 = vaddq_s32(vminq_s32(vmaxq_s32(r0, rlo), rhi), yzp);
        r1 = vaddq_s32(vminq_s32(vmaxq_s32(r1, rlo), rhi), yzp);
        vst1_s8(y + i, vmovn_s16(vcombine_s16(vmovn_s32(r0), vmovn_s32(r1))));
    }
}

void cnnc_s8_add__neon(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y) {
    const int32_t n = p->size & ~7;
    cnnc_s8_add_params rest = *p;
    if (p->rounding == CNNC_ROUND_DOUBLE)
        s8_add_neon_loop(p, a, b, y, n, CNNC_ROUND_DOUBLE);
    else if (p->rounding == CNNC_ROUND_SINGLE)
        s8_add_neon_loop(p, a, b, y, n, CNNC_ROUND_SINGLE);
    else { /* the onnxruntime rounding: float32, __ref's loop */
        cnnc_s8_add__ref(p, a, b, y);
        return;
    }
    rest.size = p->size - n;
    if (rest.size > 0) cnnc_s8_add__ref(&rest, a + n, b + n, y + n);
}
#else
typedef int cnnc_s8_add_neon_empty; /* ISO C forbids an empty translation unit */
#endif
