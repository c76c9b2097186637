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
#include "s8_gemm_neon.h"

/* 3x3 depthwise, output row (b, oy) whose three input rows are inside the image, output
 * pixels ox0 .. ox1 - 1 whose three input columns are too, channels c0 .. c0 + 7: the nine
 * widened weight vectors and the requantisation constants stay in registers across the
 * row. The zero point is folded into the start value, init = bias - zp * sum_taps w
 * (modulo 2^32, as NEON adds wrap), so each tap is one load and widening of x and two
 * vmlal_s16: the sum equals __ref's modulo 2^32 and __ref's is an int32 within the
 * compiler's proven bound, so the two are equal. GCC's pre-RA scheduling is off as for
 * s8g_tile (it spills the weights otherwise). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
static void
s8_dw3x3_row(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w, const int32_t *bias,
             const int32_t *mult, const int32_t *shift, int8_t *y, int32_t b, int32_t oy,
             int32_t ox0, int32_t ox1, int32_t c0) {
    const size_t c = (size_t)p->c, row = (size_t)p->w * c, step = (size_t)p->stride_w * c;
    const int8_t *x0 = x + ((size_t)b * p->h + (oy * p->stride_h - p->pad_top)) * row + c0 +
                       (size_t)(ox0 * p->stride_w - p->pad_left) * c; /* tap (0, 0) of ox0 */
    int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox0) * c + c0;
    int16x8_t wv[9];
    int32x4_t init0, init1;
    s8g_out o;
    s8g_rq q;
    int32_t t, ox;
    int32x4_t sum0 = vdupq_n_s32(0), sum1 = vdupq_n_s32(0);
    for (t = 0; t < 9; ++t) {
        wv[t] = vmovl_s8(vld1_s8(w + (size_t)t * c + c0));
        sum0 = vaddw_s16(sum0, vget_low_s16(wv[t]));
        sum1 = vaddw_s16(sum1, vget_high_s16(wv[t]));
    }
    init0 = vmlsq_s32(vld1q_s32(bias + c0), sum0, vdupq_n_s32(p->x_zero_point));
    init1 = vmlsq_s32(vld1q_s32(bias + c0 + 4), sum1, vdupq_n_s32(p->x_zero_point));
    o.x_zero_point = p->x_zero_point;
    o.rounding = p->rounding;
    o.zero_point = p->y_zero_point;
    o.lo = p->act_min;
    o.hi = p->act_max;
    s8g_rq_init(&q, mult + c0, shift + c0, &o, p->rounding);
#if defined(__aarch64__) /* SMLAL2 reads the high halves in place */
#define S8_DW3_TAP(T, OFF)                                         \
    do {                                                           \
        const int16x8_t xv = vmovl_s8(vld1_s8(xp + (OFF)));        \
        a0 = vmlal_s16(a0, vget_low_s16(xv), vget_low_s16(wv[T])); \
        a1 = vmlal_high_s16(a1, xv, wv[T]);                        \
    } while (0)
#else
#define S8_DW3_TAP(T, OFF)                                           \
    do {                                                             \
        const int16x8_t xv = vmovl_s8(vld1_s8(xp + (OFF)));          \
        a0 = vmlal_s16(a0, vget_low_s16(xv), vget_low_s16(wv[T]));   \
        a1 = vmlal_s16(a1, vget_high_s16(xv), vget_high_s16(wv[T])); \
    } while (0)
#endif
#define S8_DW3_ROW(RND)                                   \
    for (ox = ox0; ox < ox1; ++ox, x0 += step, yp += c) { \
        const int8_t *xp = x0;                            \
        int32x4_t a0 = init0, a1 = init1;                 \
        S8_DW3_TAP(0, 0);                                 \
        S8_DW3_TAP(1, c);                                 \
        S8_DW3_TAP(2, 2 * c);                             \
        xp += row;                                        \
        S8_DW3_TAP(3, 0);                                 \
        S8_DW3_TAP(4, c);                                 \
        S8_DW3_TAP(5, 2 * c);                             \
        xp += row;                                        \
        S8_DW3_TAP(6, 0);                                 \
        S8_DW3_TAP(7, c);                                 \
        S8_DW3_TAP(8, 2 * c);                             \
        s8g_rq8(&q, a0, a1, RND, yp);                     \
    }
    if (p->rounding == CNNC_ROUND_DOUBLE) {
        S8_DW3_ROW(CNNC_ROUND_DOUBLE)
    } else {
        S8_DW3_ROW(CNNC_ROUND_SINGLE)
    }
#undef S8_DW3_ROW
#undef S8_DW3_TAP
}

/* Output pixels (b, oy, ox0 .. ox1 - 1), all channels: the loops of s8_dwconv_loops.h
 * (taps inside the image, reference loop for fewer than 8 channels left). */
static void s8_dw_pixels(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y,
                         int32_t b, int32_t oy, int32_t ox0, int32_t ox1) {
    cnnc_s8_conv_params q = *p;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    /* one output row and column range as a conv of its own: input rows cut to the
     * kernel's window keep the kernel's offsets through pad_top */
    q.n = 1;
    q.out_h = 1;
    q.out_w = ox1 - ox0;
    q.pad_top = p->pad_top - oy * p->stride_h;
    q.pad_left = p->pad_left - ox0 * p->stride_w;
    (void)iy0;
    s8_dwconv_loops(&q, x + (size_t)b * p->h * p->w * p->c, w, bias, mult, shift,
                    y + (((size_t)b * p->out_h + oy) * p->out_w + ox0) * p->c);
}

void cnnc_s8_dwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    int32_t b, oy, c0;
    if (p->kernel_h != 3 || p->kernel_w != 3 || p->c < 8 || p->dilation_h != 1 ||
        p->dilation_w != 1) { /* the 3x3 rows read adjacent taps; the loops honour dilation */
        s8_dwconv_loops(p, x, w, bias, mult, shift, y);
        return;
    }
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            /* interior columns: ix0 = ox * stride_w - pad_left >= 0 and ix0 + 2 < w */
            int32_t ox0 = (p->pad_left + p->stride_w - 1) / p->stride_w;
            int32_t ox1 =
                p->w - 3 + p->pad_left < 0 ? 0 : (p->w - 3 + p->pad_left) / p->stride_w + 1;
            if (ox1 > p->out_w) ox1 = p->out_w;
            if (iy0 < 0 || iy0 + 3 > p->h || ox0 >= ox1) {
                s8_dw_pixels(p, x, w, bias, mult, shift, y, b, oy, 0, p->out_w);
                continue;
            }
            if (ox0 > 0) s8_dw_pixels(p, x, w, bias, mult, shift, y, b, oy, 0, ox0);
            for (c0 = 0; c0 + 8 <= p->c; c0 += 8)
                s8_dw3x3_row(p, x, w, bias, mult, shift, y, b, oy, ox0, ox1, c0);
            if (c0 < p->c) { /* the last channels: an 8-wide block ending at c (c >= 8) */
                c0 = p->c - 8;
                s8_dw3x3_row(p, x, w, bias, mult, shift, y, b, oy, ox0, ox1, c0);
            }
            if (ox1 < p->out_w) s8_dw_pixels(p, x, w, bias, mult, shift, y, b, oy, ox1, p->out_w);
        }
}
#else
typedef int cnnc_s8_dwconv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
