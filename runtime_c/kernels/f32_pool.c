/* float32 pooling, NHWC: max, average (pads, count_include_pad), global average.
 * See cnnc_f32_pool_params in cnnc_f32.h for the window and divisor rules. */
#include "cnnc_f32.h"

static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }

void cnnc_f32_maxpool__ref(const cnnc_f32_pool_params *p, const float *CNNC_RESTRICT x,
                           float *CNNC_RESTRICT y) {
    int n, oy, ox, iy, ix, c;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            const int y0 = max_int(oy * p->sh - p->pad_top, 0);
            const int y1 = min_int(oy * p->sh - p->pad_top + p->kh, p->h);
            for (ox = 0; ox < p->ow; ++ox) {
                const int x0 = max_int(ox * p->sw - p->pad_left, 0);
                const int x1 = min_int(ox * p->sw - p->pad_left + p->kw, p->w);
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * p->c; /* [C] */
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
    int n, oy, ox, iy, ix, c;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            const int ys = oy * p->sh - p->pad_top;
            const int ye = min_int(ys + p->kh, p->h + p->pad_bottom); /* padded extent */
            const int y0 = max_int(ys, 0), y1 = min_int(ye, p->h);
            for (ox = 0; ox < p->ow; ++ox) {
                const int xs = ox * p->sw - p->pad_left;
                const int xe = min_int(xs + p->kw, p->w + p->pad_right);
                const int x0 = max_int(xs, 0), x1 = min_int(xe, p->w);
                const int count = p->count_include_pad ? (ye - ys) * (xe - xs)
                                                       : (y1 - y0) * (x1 - x0);
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * p->c; /* [C] */
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
    int n, i, c;
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
