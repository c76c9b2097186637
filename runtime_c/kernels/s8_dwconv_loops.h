/* The loops of the int8 depthwise conv shared by its SIMD variants (s8_dwconv_<isa>.c:
 * __avx2, __avx512, __neon), bit-exact to cnnc_s8_dwconv__ref: same weights
 * w[KH][KW][C], same taps skipped at the borders, same int32 accumulators, and
 * cnnc_requant_s8's results. Private to the s8 kernels (not a public header).
 *
 * Per output pixel, channel blocks of S8_DW_COLS (then 16, then 8) stay in the ISA's
 * registers over all taps; channels left over after the 8-wide blocks run the reference
 * loop. The including file defines, before including this header, its hooks for one block
 * of nb (8, 16 or S8_DW_COLS) channels:
 *   S8_DW_COLS  the widest block (16 or 32);
 *   S8_TARGET   the target attribute of its functions (empty where the build has the ISA);
 *   s8_dw_acc   int32 accumulators of S8_DW_COLS channels;
 *   s8_dw_zp    the input zero point as its tap operand, from s8_dw_zero_point(zp);
 *   s8_dw_init(bias, nb) -> s8_dw_acc, the block's bias;
 *   s8_dw_tap(&acc, x, w, zp, nb): acc[j] += (x[j] - zp) * w[j], j < nb;
 *   s8_dw_requant(&acc, nb, mult, shift, p, y): y[j] = cnnc_requant_s8(acc[j], ...).
 *
 * Overflow: each lane holds bias[c] plus some of the kh*kw terms of channel c, bounded by
 * |bias[c]| + xmax * sum |w[.][.][c]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); integer sums are order-free, so the result is the
 * reference's exactly. */
#ifndef CNNC_S8_DWCONV_LOOPS_H
#define CNNC_S8_DWCONV_LOOPS_H

#include "cnnc_s8.h"

/* A 1x1 depthwise conv at stride 1 without padding (a BatchNorm after pooling: one scale
 * per channel): every pixel in turn, no window to clip (the general loops' per-pixel
 * window arithmetic cost more than the multiply). */
S8_TARGET static void s8_dw_scale(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                  int8_t *y) {
    const s8_dw_zp zp = s8_dw_zero_point(p->x_zero_point);
    const size_t pixels = (size_t)p->n * p->h * p->w;
    size_t i;
    int32_t c0, j;
    for (i = 0; i < pixels; ++i) {
        const int8_t *xp = x + i * p->c; /* [c] */
        int8_t *yp = y + i * p->c;
        for (c0 = 0; c0 + 8 <= p->c;) {
            const int32_t nb = p->c - c0 >= S8_DW_COLS ? S8_DW_COLS : (p->c - c0 >= 16 ? 16 : 8);
            s8_dw_acc a = s8_dw_init(bias + c0, nb);
            s8_dw_tap(&a, xp + c0, w + c0, zp, nb);
            s8_dw_requant(&a, nb, mult + c0, shift + c0, p, yp + c0);
            c0 += nb;
        }
        for (j = c0; j < p->c; ++j) /* fewer than 8 channels left: reference loop */
            yp[j] = cnnc_requant_s8(bias[j] + (xp[j] - p->x_zero_point) * w[j], mult[j], shift[j],
                                    p->rounding, p->y_zero_point, p->act_min, p->act_max);
    }
}

/* The body of cnnc_s8_dwconv__<isa>. */
S8_TARGET CNNC_INLINE void s8_dwconv_loops(const cnnc_s8_conv_params *p, const int8_t *x,
                                           const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y) {
    const s8_dw_zp zp = s8_dw_zero_point(p->x_zero_point);
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    int32_t b, oy, ox, c0, ky, kx, j;
    if (p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
        p->pad_top == 0 && p->pad_left == 0 && p->out_h == p->h && p->out_w == p->w) {
        s8_dw_scale(p, x, w, bias, mult, shift, y);
        return;
    }
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            /* rows [ky0, ky1) of the kernel fall inside the image: 0 <= iy0 + ky*dh < h */
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? (-iy0 + dh - 1) / dh : 0;
            const int32_t ky_end = (p->h - iy0 + dh - 1) / dh; /* <= 0 when iy0 >= h */
            const int32_t ky1 = ky_end < p->kernel_h ? ky_end : p->kernel_h;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx0 = ix0 < 0 ? (-ix0 + dw - 1) / dw : 0;
                const int32_t kx_end = (p->w - ix0 + dw - 1) / dw;
                const int32_t kx1 = kx_end < p->kernel_w ? kx_end : p->kernel_w;
                int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c; /* [c] */
                int32_t acc[16];
                for (c0 = 0; c0 + 8 <= p->c;) {
                    const int32_t nb =
                        p->c - c0 >= S8_DW_COLS ? S8_DW_COLS : (p->c - c0 >= 16 ? 16 : 8);
                    s8_dw_acc a = s8_dw_init(bias + c0, nb);
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            /* [nb] channels c0.. of pixel (iy0 + ky, ix0 + kx) and of tap */
                            const int8_t *xp =
                                x +
                                (((size_t)b * p->h + (iy0 + ky * dh)) * p->w + (ix0 + kx * dw)) *
                                    p->c +
                                c0;
                            const int8_t *wt = w + ((size_t)ky * p->kernel_w + kx) * p->c + c0;
                            s8_dw_tap(&a, xp, wt, zp, nb);
                        }
                    s8_dw_requant(&a, nb, mult + c0, shift + c0, p, yp + c0);
                    c0 += nb;
                }
                if (c0 < p->c) { /* fewer than 8 channels left: reference loop */
                    const int32_t nb = p->c - c0;
                    for (j = 0; j < nb; ++j) acc[j] = bias[c0 + j];
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            const int8_t *xp =
                                x +
                                (((size_t)b * p->h + (iy0 + ky * dh)) * p->w + (ix0 + kx * dw)) *
                                    p->c +
                                c0;
                            const int8_t *wt = w + ((size_t)ky * p->kernel_w + kx) * p->c + c0;
                            for (j = 0; j < nb; ++j) acc[j] += (xp[j] - p->x_zero_point) * wt[j];
                        }
                    for (j = 0; j < nb; ++j)
                        yp[c0 + j] =
                            cnnc_requant_s8(acc[j], mult[c0 + j], shift[c0 + j], p->rounding,
                                            p->y_zero_point, p->act_min, p->act_max);
                }
            }
        }
    }
}

#endif /* CNNC_S8_DWCONV_LOOPS_H */
