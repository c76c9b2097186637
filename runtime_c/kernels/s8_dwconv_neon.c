/* ARM NEON variant of the int8 depthwise conv, bit-exact to cnnc_s8_dwconv__ref: same
 * weights w[KH][KW][C], same taps skipped at the borders, same int32 accumulators, and
 * cnnc_requant_s8's results, eight at a time (s8_requant_neon.h). Compiled when the build
 * targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise; ARMv7 NEON intrinsics
 * only.
 *
 * Per output pixel, channel blocks of 16 (then 8) live in four (two) int32x4 registers
 * over all taps: 8 channels of x are widened to int16 minus zp, 8 of w to int16, and
 * vmlal_s16 adds their int32 products (exact: |product| <= 255 * 127). Channels left over
 * after the 8-wide blocks run the reference loop.
 *
 * Overflow: each lane holds bias[c] plus some of the kh*kw terms of channel c, bounded by
 * |bias[c]| + xmax * sum |w[.][.][c]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); integer sums are order-free, so the result is the
 * reference's exactly. */
#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

void cnnc_s8_dwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    const int16x8_t vzp = vdupq_n_s16((int16_t)p->x_zero_point);
    int32_t b, oy, ox, c0, ky, kx, j;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->oh; ++oy) {
            /* rows [ky0, ky1) of the kernel fall inside the image */
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
            const int32_t ky1 = p->h - iy0 < p->kh ? p->h - iy0 : p->kh;
            for (ox = 0; ox < p->ow; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t kx1 = p->w - ix0 < p->kw ? p->w - ix0 : p->kw;
                int8_t *yp = y + (((size_t)b * p->oh + oy) * p->ow + ox) * p->c; /* [c] */
                int32_t acc[16];
                for (c0 = 0; c0 + 8 <= p->c;) {
                    const int32_t nb = p->c - c0 >= 16 ? 16 : 8;
                    int32x4_t a0 = vld1q_s32(bias + c0), a1 = vld1q_s32(bias + c0 + 4);
                    int32x4_t a2 = vdupq_n_s32(0), a3 = vdupq_n_s32(0);
                    if (nb == 16) {
                        a2 = vld1q_s32(bias + c0 + 8);
                        a3 = vld1q_s32(bias + c0 + 12);
                    }
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            /* [nb] channels c0.. of pixel (iy0 + ky, ix0 + kx) and of tap */
                            const int8_t *xp = x + (((size_t)b * p->h + (iy0 + ky)) * p->w +
                                                    (ix0 + kx)) * p->c + c0;
                            const int8_t *wt = w + ((size_t)ky * p->kw + kx) * p->c + c0;
                            int16x8_t xv = vsubq_s16(vmovl_s8(vld1_s8(xp)), vzp);
                            int16x8_t wv = vmovl_s8(vld1_s8(wt));
                            a0 = vmlal_s16(a0, vget_low_s16(xv), vget_low_s16(wv));
                            a1 = vmlal_s16(a1, vget_high_s16(xv), vget_high_s16(wv));
                            if (nb == 16) {
                                xv = vsubq_s16(vmovl_s8(vld1_s8(xp + 8)), vzp);
                                wv = vmovl_s8(vld1_s8(wt + 8));
                                a2 = vmlal_s16(a2, vget_low_s16(xv), vget_low_s16(wv));
                                a3 = vmlal_s16(a3, vget_high_s16(xv), vget_high_s16(wv));
                            }
                        }
                    s8_requant8_neon(a0, a1, mult + c0, shift + c0, p->rounding,
                                     p->y_zero_point, p->act_min, p->act_max, yp + c0);
                    if (nb == 16)
                        s8_requant8_neon(a2, a3, mult + c0 + 8, shift + c0 + 8, p->rounding,
                                         p->y_zero_point, p->act_min, p->act_max, yp + c0 + 8);
                    c0 += nb;
                }
                if (c0 < p->c) { /* fewer than 8 channels left: reference loop */
                    const int32_t nb = p->c - c0;
                    for (j = 0; j < nb; ++j) acc[j] = bias[c0 + j];
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            const int8_t *xp = x + (((size_t)b * p->h + (iy0 + ky)) * p->w +
                                                    (ix0 + kx)) * p->c + c0;
                            const int8_t *wt = w + ((size_t)ky * p->kw + kx) * p->c + c0;
                            for (j = 0; j < nb; ++j) acc[j] += (xp[j] - p->x_zero_point) * wt[j];
                        }
                    for (j = 0; j < nb; ++j)
                        yp[c0 + j] = cnnc_requant_s8(acc[j], mult[c0 + j], shift[c0 + j],
                                                     p->rounding, p->y_zero_point, p->act_min,
                                                     p->act_max);
                }
            }
        }
    }
}
#else
typedef int cnnc_s8_dwconv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
