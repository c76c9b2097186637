/* int8 depthwise convolution (groups == c == oc); params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* w[c][kh][kw]. Overflow: at most kh*kw taps of |x'| <= 255 times |w| <= 127 plus the bias;
 * proved to fit int32 per channel by the compiler (cnnc.quantize, check_accumulator). */
void cnnc_s8_dwconv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->oh; ++oy) {
            for (ox = 0; ox < p->ow; ++ox) {
                int8_t *yp = y + (((size_t)b * p->oh + oy) * p->ow + ox) * p->c; /* [c] */
                for (ch = 0; ch < p->c; ++ch) {
                    const int8_t *wc = w + (size_t)ch * p->kh * p->kw; /* [kh][kw] */
                    int32_t acc = bias[ch];
                    for (ky = 0; ky < p->kh; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kw; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            if (ix < 0 || ix >= p->w) continue;
                            acc += (x[(((size_t)b * p->h + iy) * p->w + ix) * p->c + ch] -
                                    p->x_zero_point) *
                                   wc[ky * p->kw + kx];
                        }
                    }
                    yp[ch] = cnnc_requant_s8(acc, mult[ch], shift[ch], p->rounding,
                                             p->y_zero_point, p->act_min, p->act_max);
                }
            }
        }
    }
}
