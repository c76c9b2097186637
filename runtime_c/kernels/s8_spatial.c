/* int8 spatial ops of segmentation heads, NHWC, at the input's own scale and zero point:
 * padding (constant, edge, reflect, zero insertion) and resizing (nearest, bilinear in
 * integers); params in cnnc_s8.h, definitions in cnnc.ops.spatial. */
#include "cnnc_s8.h"

/* As pad_source in f32_spatial.c (cnnc.ops.spatial.source_index). */
static int32_t s8_pad_source(int32_t o, int32_t size, int32_t pad, int32_t stride, int32_t mode) {
    int32_t t = o - pad;
    if (mode == CNNC_PAD_EDGE) return t < 0 ? 0 : (t >= size ? size - 1 : t);
    if (mode == CNNC_PAD_REFLECT) {
        if (t < 0) t = -t;
        if (t >= size) t = 2 * (size - 1) - t;
        return t < 0 ? 0 : (t >= size ? size - 1 : t);
    }
    if (t < 0 || t % stride != 0 || t / stride >= size) return -1;
    return t / stride;
}

void cnnc_s8_pad__ref(const cnnc_s8_pad_params *p, const int8_t *x, int8_t *y) {
    int32_t n, oy, ox, c;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy = s8_pad_source(oy, p->h, p->pad_top, p->stride_h, p->mode);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix = s8_pad_source(ox, p->w, p->pad_left, p->stride_w, p->mode);
                int8_t *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                if (iy < 0 || ix < 0) {
                    for (c = 0; c < p->c; ++c) out[c] = (int8_t)p->value;
                } else {
                    const int8_t *in = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                    for (c = 0; c < p->c; ++c) out[c] = in[c];
                }
            }
        }
    }
}

static int32_t s8_clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* ytab[OH][3], xtab[OW][3]: source index 0, index 1, Q11 weight of index 1 (0..2048).
 * Linear, on u = q + 128 in [0, 255]: top/bot = u0*(2048 - wx1) + u1*wx1 <= 255*2^11,
 * acc = top*(2048 - wy1) + bot*wy1 <= 255*2^22 < 2^31 (weights are clamped to 0..2048, so
 * no blob can overflow it); q = ((acc + 2^21) >> 22) - 128 with acc >= 0. */
void cnnc_s8_resize__ref(const cnnc_s8_resize_params *p, const int8_t *x, const int32_t *ytab,
                         const int32_t *xtab, int8_t *y) {
    int32_t n, oy, ox, c;
    for (n = 0; n < p->n; ++n) {
        const int8_t *xn = x + (size_t)n * p->h * p->w * p->c; /* [H][W][C] */
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = s8_clamp(ytab[3 * oy], 0, p->h - 1);
            const int32_t y1 = s8_clamp(ytab[3 * oy + 1], 0, p->h - 1);
            const int32_t wy1 = s8_clamp(ytab[3 * oy + 2], 0, 2048), wy0 = 2048 - wy1;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = s8_clamp(xtab[3 * ox], 0, p->w - 1);
                const int32_t x1 = s8_clamp(xtab[3 * ox + 1], 0, p->w - 1);
                const int32_t wx1 = s8_clamp(xtab[3 * ox + 2], 0, 2048), wx0 = 2048 - wx1;
                int8_t *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                const int8_t *a = xn + ((size_t)y0 * p->w + x0) * p->c; /* [C] (y0, x0) */
                if (p->mode == CNNC_RESIZE_NEAREST) {
                    for (c = 0; c < p->c; ++c) out[c] = a[c];
                } else {
                    const int8_t *b = xn + ((size_t)y0 * p->w + x1) * p->c; /* (y0, x1) */
                    const int8_t *d = xn + ((size_t)y1 * p->w + x0) * p->c; /* (y1, x0) */
                    const int8_t *e = xn + ((size_t)y1 * p->w + x1) * p->c; /* (y1, x1) */
                    for (c = 0; c < p->c; ++c) {
                        const int32_t top = (a[c] + 128) * wx0 + (b[c] + 128) * wx1;
                        const int32_t bot = (d[c] + 128) * wx0 + (e[c] + 128) * wx1;
                        const int32_t acc = top * wy0 + bot * wy1;
                        out[c] = (int8_t)(((acc + (1 << 21)) >> 22) - 128);
                    }
                }
            }
        }
    }
}
