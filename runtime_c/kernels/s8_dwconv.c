/* int8 depthwise convolution (groups == c == oc); params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* w[KH][KW][C] (repacked by cnnc.ops.s8.pack_weights): each tap reads CNNC_S8_BLOCK
 * contiguous channels of x and w into independent accumulators. Overflow: at most kh*kw
 * taps of |x'| <= 255 times |w| <= 127 plus the bias, proved to fit int32 per channel by
 * the compiler (cnnc.passes.quantize, check_accumulator); partial sums obey the same bound. */
void cnnc_s8_dwconv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    int32_t b, oy, ox, c0, ky, kx, j;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c; /* [c] */
                for (c0 = 0; c0 < p->c; c0 += CNNC_S8_BLOCK) {
                    const int32_t nb = p->c - c0 < CNNC_S8_BLOCK ? p->c - c0 : CNNC_S8_BLOCK;
                    int32_t acc[CNNC_S8_BLOCK];
                    for (j = 0; j < nb; ++j) acc[j] = bias[c0 + j];
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                            const int8_t *xp; /* [nb] channels c0.. of pixel (iy, ix) */
                            const int8_t *wt; /* [nb] tap (ky, kx) of channels c0.. */
                            if (ix < 0 || ix >= p->w) continue;
                            xp = x + (((size_t)b * p->h + iy) * p->w + ix) * p->c + c0;
                            wt = w + ((size_t)ky * p->kernel_w + kx) * p->c + c0;
                            for (j = 0; j < nb; ++j) acc[j] += (xp[j] - p->x_zero_point) * wt[j];
                        }
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
