/* int8 max, average and global average pooling; params in cnnc_s8.h. */
#include "cnnc_s8.h"

CNNC_INLINE int8_t cnnc_s8_clamp(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

void cnnc_s8_maxpool__ref(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y) {
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (ch = 0; ch < p->c; ++ch) {
                    int32_t best = -128; /* every window holds at least one valid tap */
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            int32_t v;
                            if (ix < 0 || ix >= p->w) continue;
                            v = x[(((size_t)b * p->h + iy) * p->w + ix) * p->c + ch];
                            best = v > best ? v : best;
                        }
                    }
                    y[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c + ch] =
                        cnnc_s8_clamp(best, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* Overflow: the sum holds at most kh*kw values of magnitude <= 255 (kh*kw <= 2^23 is
 * checked by the compiler). The division rounds to nearest, ties away from zero. */
void cnnc_s8_avgpool__ref(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y) {
    int32_t b, oy, ox, ch, ky, kx;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                for (ch = 0; ch < p->c; ++ch) {
                    int32_t sum = 0, count = 0, avg;
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            if (ix < 0 || ix >= p->w) continue;
                            sum += x[(((size_t)b * p->h + iy) * p->w + ix) * p->c + ch] -
                                   p->zero_point;
                            ++count;
                        }
                    }
                    if (p->count_include_pad) count = p->kernel_h * p->kernel_w;
                    avg = sum >= 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    y[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c + ch] =
                        cnnc_s8_clamp(avg + p->zero_point, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* Overflow: the sum holds hw values of magnitude <= 255; hw <= 2^23 is checked by the
 * compiler, so |sum| < 2^31. */
void cnnc_s8_global_avgpool__ref(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y) {
    int32_t b, i, ch;
    for (b = 0; b < p->n; ++b) {
        for (ch = 0; ch < p->c; ++ch) {
            const int8_t *xc = x + (size_t)b * p->hw * p->c + ch; /* [hw] with stride c */
            int32_t sum = 0;
            for (i = 0; i < p->hw; ++i) sum += xc[(size_t)i * p->c] - p->x_zero_point;
            y[(size_t)b * p->c + ch] = cnnc_requant_s8(sum, p->mult, p->shift, p->rounding,
                                                       p->y_zero_point, p->act_min, p->act_max);
        }
    }
}
