/* float32 spatial ops of segmentation heads, NHWC: padding (constant, edge, reflect, and
 * the zero insertion of a transposed conv) and resizing (nearest, bilinear); params in
 * cnnc_f32.h. The geometry is the compiler's (cnnc.ops.spatial); a resize reads its
 * per-row and per-column tables from the blob and clamps every index it reads. */
#include "cnnc_f32.h"

/* The input index output position o reads along one axis, or -1 for the constant value
 * (cnnc.ops.spatial.source_index). */
static int32_t pad_source(int32_t o, int32_t size, int32_t pad, int32_t stride, int32_t mode) {
    int32_t t = o - pad;
    if (mode == CNNC_PAD_EDGE) return t < 0 ? 0 : (t >= size ? size - 1 : t);
    if (mode == CNNC_PAD_REFLECT) {
        if (t < 0) t = -t;
        if (t >= size) t = 2 * (size - 1) - t;
        return t < 0 ? 0 : (t >= size ? size - 1 : t); /* pads < size: already inside */
    }
    if (t < 0 || t % stride != 0 || t / stride >= size) return -1;
    return t / stride;
}

void cnnc_f32_pad__ref(const cnnc_f32_pad_params *p, const float *CNNC_RESTRICT x,
                       float *CNNC_RESTRICT y) {
    int32_t n, oy, ox, c;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy = pad_source(oy, p->h, p->pad_top, p->stride_h, p->mode);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix = pad_source(ox, p->w, p->pad_left, p->stride_w, p->mode);
                float *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                if (iy < 0 || ix < 0) {
                    for (c = 0; c < p->c; ++c) out[c] = p->value;
                } else {
                    const float *in = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c; /* [C] */
                    for (c = 0; c < p->c; ++c) out[c] = in[c];
                }
            }
        }
    }
}

static int32_t clamp_index(int32_t i, int32_t size) {
    return i < 0 ? 0 : (i >= size ? size - 1 : i);
}

/* ytab[OH][2], xtab[OW][2]: the two source rows/columns; wy[OH][2], wx[OW][2]: their
 * weights. Nearest reads index 0 only. Linear: (x00*wx0 + x01*wx1)*wy0 + (x10*wx0 +
 * x11*wx1)*wy1, each product and sum rounded to float (no FMA), as the NumPy definition. */
void cnnc_f32_resize__ref(const cnnc_f32_resize_params *p, const float *CNNC_RESTRICT x,
                          const int32_t *ytab, const int32_t *xtab, const float *wy,
                          const float *wx, float *CNNC_RESTRICT y) {
    int32_t n, oy, ox, c;
    for (n = 0; n < p->n; ++n) {
        const float *xn = x + (size_t)n * p->h * p->w * p->c; /* [H][W][C] */
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = clamp_index(ytab[2 * oy], p->h);
            const int32_t y1 = clamp_index(ytab[2 * oy + 1], p->h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = clamp_index(xtab[2 * ox], p->w);
                const int32_t x1 = clamp_index(xtab[2 * ox + 1], p->w);
                float *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                const float *a = xn + ((size_t)y0 * p->w + x0) * p->c; /* [C] (y0, x0) */
                if (p->mode == CNNC_RESIZE_NEAREST) {
                    for (c = 0; c < p->c; ++c) out[c] = a[c];
                } else {
                    const float *b = xn + ((size_t)y0 * p->w + x1) * p->c; /* (y0, x1) */
                    const float *d = xn + ((size_t)y1 * p->w + x0) * p->c; /* (y1, x0) */
                    const float *e = xn + ((size_t)y1 * p->w + x1) * p->c; /* (y1, x1) */
                    const float wx0 = wx[2 * ox], wx1 = wx[2 * ox + 1];
                    const float wy0 = wy[2 * oy], wy1 = wy[2 * oy + 1];
                    for (c = 0; c < p->c; ++c) {
                        const float top = a[c] * wx0 + b[c] * wx1;
                        const float bot = d[c] * wx0 + e[c] * wx1;
                        out[c] = top * wy0 + bot * wy1;
                    }
                }
            }
        }
    }
}
