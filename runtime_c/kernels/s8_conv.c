/* int8 convolution, general (any groups) and pointwise; params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* Overflow: |x - x_zero_point| <= 255 and |w| <= 127, so one tap adds at most 32385 in
 * magnitude. The compiler (cnnc.quantize, check_accumulator) proves
 * |bias[o]| + 255 * sum_k |w[o][k]| <= 2^31 - 1 for every output channel o before it
 * emits a call, so `acc` stays inside int32 for any input. */
void cnnc_s8_conv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups;  /* input channels per group */
    const int32_t og = p->oc / p->groups; /* output channels per group */
    int32_t b, oy, ox, o, ky, kx, i;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->oh; ++oy) {
            for (ox = 0; ox < p->ow; ++ox) {
                int8_t *yp = y + (((size_t)b * p->oh + oy) * p->ow + ox) * p->oc; /* [oc] */
                for (o = 0; o < p->oc; ++o) {
                    const int8_t *wo = w + (size_t)o * p->kh * p->kw * cg; /* [kh][kw][cg] */
                    int32_t acc = bias[o];
                    for (ky = 0; ky < p->kh; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kw; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            const int8_t *xp; /* [cg] */
                            const int8_t *wp; /* [cg] */
                            if (ix < 0 || ix >= p->w) continue;
                            xp = x + (((size_t)b * p->h + iy) * p->w + ix) * p->c + (o / og) * cg;
                            wp = wo + ((size_t)ky * p->kw + kx) * cg;
                            for (i = 0; i < cg; ++i) acc += (xp[i] - p->x_zero_point) * wp[i];
                        }
                    }
                    yp[o] = cnnc_requant_s8(acc, mult[o], shift[o], p->rounding, p->y_zero_point,
                                            p->act_min, p->act_max);
                }
            }
        }
    }
}

/* 1x1, stride 1, no padding, groups 1: y[pixel][o] = requant(bias[o] + sum_i x'[pixel][i]
 * * w[o][i]). Overflow: as for cnnc_s8_conv__ref with K = c. */
void cnnc_s8_pwconv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    const size_t pixels = (size_t)p->n * p->h * p->w;
    size_t px;
    int32_t o, i;
    for (px = 0; px < pixels; ++px) {
        const int8_t *xp = x + px * p->c; /* [c] */
        int8_t *yp = y + px * p->oc;      /* [oc] */
        for (o = 0; o < p->oc; ++o) {
            const int8_t *wp = w + (size_t)o * p->c; /* [c] */
            int32_t acc = bias[o];
            for (i = 0; i < p->c; ++i) acc += (xp[i] - p->x_zero_point) * wp[i];
            yp[o] = cnnc_requant_s8(acc, mult[o], shift[o], p->rounding, p->y_zero_point,
                                    p->act_min, p->act_max);
        }
    }
}
