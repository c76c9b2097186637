/* float32 pooling, NHWC: max, average (pads, count_include_pad), global average.
 * See cnnc_f32_pool_params in cnnc_f32.h for the window and divisor rules. */
#include "cnnc_f32.h"

static int32_t min_int(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t max_int(int32_t a, int32_t b) { return a > b ? a : b; }

void cnnc_f32_maxpool__ref(const cnnc_f32_pool_params *p, const float *CNNC_RESTRICT x,
                           float *CNNC_RESTRICT y) {
    int32_t n, oy, ox, iy, ix, c;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = max_int(oy * p->stride_h - p->pad_top, 0);
            const int32_t y1 = min_int(oy * p->stride_h - p->pad_top + p->kernel_h, p->h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = max_int(ox * p->stride_w - p->pad_left, 0);
                const int32_t x1 = min_int(ox * p->stride_w - p->pad_left + p->kernel_w, p->w);
                float *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                for (c = 0; c < p->c; ++c) out[c] = -INFINITY;
                for (iy = y0; iy < y1; ++iy) {
                    for (ix = x0; ix < x1; ++ix) {
                        const float *xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                        /* a NaN input wins and then stays, as NumPy's max propagates it */
                        for (c = 0; c < p->c; ++c) {
                            if (xp[c] > out[c] || xp[c] != xp[c]) out[c] = xp[c];
                        }
                    }
                }
            }
        }
    }
}

void cnnc_f32_avgpool__ref(const cnnc_f32_pool_params *p, const float *CNNC_RESTRICT x,
                           float *CNNC_RESTRICT y) {
    int32_t n, oy, ox, iy, ix, c;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t ys = oy * p->stride_h - p->pad_top;
            const int32_t ye = min_int(ys + p->kernel_h, p->h + p->pad_bottom); /* padded extent */
            const int32_t y0 = max_int(ys, 0), y1 = min_int(ye, p->h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t xs = ox * p->stride_w - p->pad_left;
                const int32_t xe = min_int(xs + p->kernel_w, p->w + p->pad_right);
                const int32_t x0 = max_int(xs, 0), x1 = min_int(xe, p->w);
                const int32_t count =
                    p->count_include_pad ? (ye - ys) * (xe - xs) : (y1 - y0) * (x1 - x0);
                float *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                for (c = 0; c < p->c; ++c) out[c] = 0.0f;
                for (iy = y0; iy < y1; ++iy) {
                    for (ix = x0; ix < x1; ++ix) {
                        const float *xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                        for (c = 0; c < p->c; ++c) out[c] += xp[c];
                    }
                }
                if (count > 0) {
                    for (c = 0; c < p->c; ++c) out[c] /= (float)count;
                }
            }
        }
    }
}

void cnnc_f32_global_avgpool__ref(const cnnc_f32_global_avgpool_params *p,
                                  const float *CNNC_RESTRICT x, float *CNNC_RESTRICT y) {
    int32_t n, i, c;
    for (n = 0; n < p->n; ++n) {
        const float *xn = x + (size_t)n * p->hw * p->c; /* [HW,C] */
        float *out = y + (size_t)n * p->c;              /* [C] */
        for (c = 0; c < p->c; ++c) out[c] = 0.0f;
        for (i = 0; i < p->hw; ++i) {
            for (c = 0; c < p->c; ++c) out[c] += xn[(size_t)i * p->c + c];
        }
        for (c = 0; c < p->c; ++c) out[c] /= (float)p->hw;
    }
}
