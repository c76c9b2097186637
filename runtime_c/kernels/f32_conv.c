/* float32 convolutions, NHWC: general (any groups), depthwise, 3x3 depthwise, pointwise.
 * See cnnc_f32_conv_params in cnnc_f32.h for layouts and ranges. */
#include "cnnc_f32.h"

/* General grouped convolution: the specification the other conv kernels must match. */
void cnnc_f32_conv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                        const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                        float *CNNC_RESTRICT y) {
    const int cg = p->c / p->groups;   /* input channels per group */
    const int cog = p->co / p->groups; /* output channels per group */
    int n, oy, ox, co, ky, kx, ci;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            for (ox = 0; ox < p->ow; ++ox) {
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * p->co; /* [Co] */
                for (co = 0; co < p->co; ++co) {
                    const int g = co / cog;
                    float acc = bias ? bias[co] : 0.0f;
                    for (ky = 0; ky < p->kh; ++ky) {
                        const int iy = oy * p->sh - p->pad_top + ky * p->dh;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kw; ++kx) {
                            const int ix = ox * p->sw - p->pad_left + kx * p->dw;
                            if (ix < 0 || ix >= p->w) continue;
                            /* xp[cg]: this group's channels of input pixel (iy, ix) */
                            const float *xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c + (size_t)g * cg;
                            /* wp[cg]: tap (ky, kx) of filter co */
                            const float *wp = w + (((size_t)co * p->kh + ky) * p->kw + kx) * cg;
                            for (ci = 0; ci < cg; ++ci) acc += xp[ci] * wp[ci];
                        }
                    }
                    out[co] = cnnc_f32_apply_act(&p->act, acc);
                }
            }
        }
    }
}

#define OC_TILE 8 /* output channels accumulated together by cnnc_f32_conv_oc8__ref */

/* One output pixel's channels [co0, co0 + tile) of a groups-1 conv with w[KH,KW,C,Co]:
 * the tile's accumulators stay live over all taps (independent add chains), and each
 * output sums bias, then (ky, kx, c) in order, as cnnc_f32_conv__ref does. */
static void conv_oc_tile(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                         const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                         float *CNNC_RESTRICT out, int n, int oy, int ox, int co0, int tile) {
    float acc[OC_TILE]; /* outputs co0 .. co0+tile-1 */
    int j, ky, kx, ci;
    for (j = 0; j < tile; ++j) acc[j] = bias ? bias[co0 + j] : 0.0f;
    for (ky = 0; ky < p->kh; ++ky) {
        const int iy = oy * p->sh - p->pad_top + ky * p->dh;
        if (iy < 0 || iy >= p->h) continue;
        for (kx = 0; kx < p->kw; ++kx) {
            const int ix = ox * p->sw - p->pad_left + kx * p->dw;
            const float *xp; /* [C] input pixel (iy, ix) */
            const float *wt; /* [C,Co] tap (ky, kx) */
            if (ix < 0 || ix >= p->w) continue;
            xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
            wt = w + ((size_t)ky * p->kw + kx) * p->c * p->co + co0;
            for (ci = 0; ci < p->c; ++ci) {
                const float xv = xp[ci];
                const float *wr = wt + (size_t)ci * p->co; /* [tile] */
                if (tile == OC_TILE) {
                    for (j = 0; j < OC_TILE; ++j) acc[j] += xv * wr[j];
                } else {
                    for (j = 0; j < tile; ++j) acc[j] += xv * wr[j];
                }
            }
        }
    }
    for (j = 0; j < tile; ++j) out[co0 + j] = cnnc_f32_apply_act(&p->act, acc[j]);
}

/* groups == 1, any kernel, stride, padding and dilation, w[KH,KW,C,Co]: the general
 * conv with its weights repacked so a tile of 8 output channels reads contiguous
 * weights; bit-identical to cnnc_f32_conv__ref (same summation order per output). */
void cnnc_f32_conv_oc8__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                            const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                            float *CNNC_RESTRICT y) {
    int n, oy, ox, co0;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            for (ox = 0; ox < p->ow; ++ox) {
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * p->co; /* [Co] */
                for (co0 = 0; co0 < p->co; co0 += OC_TILE) {
                    const int tile = p->co - co0 < OC_TILE ? p->co - co0 : OC_TILE;
                    conv_oc_tile(p, x, w, bias, out, n, oy, ox, co0, tile);
                }
            }
        }
    }
}

/* Depthwise (groups == C == Co), any kernel size: w[KH,KW,C]. Each output sums bias,
 * then taps in (ky, kx) order, as cnnc_f32_conv__ref does with cg = 1. */
void cnnc_f32_dwconv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y) {
    int n, oy, ox, c, ky, kx;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            for (ox = 0; ox < p->ow; ++ox) {
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * p->c; /* [C] */
                for (c = 0; c < p->c; ++c) out[c] = bias ? bias[c] : 0.0f;
                for (ky = 0; ky < p->kh; ++ky) {
                    const int iy = oy * p->sh - p->pad_top + ky * p->dh;
                    if (iy < 0 || iy >= p->h) continue;
                    for (kx = 0; kx < p->kw; ++kx) {
                        const int ix = ox * p->sw - p->pad_left + kx * p->dw;
                        const float *xp; /* [C] input pixel (iy, ix) */
                        const float *wp; /* [C] tap (ky, kx) of every channel */
                        if (ix < 0 || ix >= p->w) continue;
                        xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                        wp = w + ((size_t)ky * p->kw + kx) * p->c;
                        for (c = 0; c < p->c; ++c) out[c] += xp[c] * wp[c];
                    }
                }
                for (c = 0; c < p->c; ++c) out[c] = cnnc_f32_apply_act(&p->act, out[c]);
            }
        }
    }
}

#define DW_TILE 8 /* channels accumulated together in registers */

/* One interior output pixel of the 3x3 depthwise conv: x0 points at the window's
 * top-left input pixel. Channels go in tiles of 8 whose accumulators stay in registers
 * over the nine taps; each output sums bias, then taps 0..8 in order. */
static void dw3x3_interior(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x0,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT out) {
    const size_t cs = (size_t)p->c, row = (size_t)p->w * cs; /* floats per pixel, per row */
    size_t tap[9]; /* input offset of tap t = (ky, kx) from x0 */
    int c0, c, j, t;
    for (t = 0; t < 9; ++t) tap[t] = (size_t)(t / 3) * row + (size_t)(t % 3) * cs;
    for (c0 = 0; c0 + DW_TILE <= p->c; c0 += DW_TILE) {
        float acc[DW_TILE]; /* channels c0 .. c0+7 */
        for (j = 0; j < DW_TILE; ++j) acc[j] = bias ? bias[c0 + j] : 0.0f;
        for (t = 0; t < 9; ++t) {
            const float *xt = x0 + tap[t] + c0;
            const float *wt = w + (size_t)t * cs + c0; /* [8] of tap t */
            for (j = 0; j < DW_TILE; ++j) acc[j] += xt[j] * wt[j];
        }
        for (j = 0; j < DW_TILE; ++j) out[c0 + j] = cnnc_f32_apply_act(&p->act, acc[j]);
    }
    for (c = c0; c < p->c; ++c) {
        float acc = bias ? bias[c] : 0.0f;
        for (t = 0; t < 9; ++t) acc += x0[tap[t] + c] * w[(size_t)t * cs + c];
        out[c] = cnnc_f32_apply_act(&p->act, acc);
    }
}

/* Depthwise 3x3, dilation 1, w[3,3,C]: interior pixels (the window inside the input)
 * skip the bounds checks (dw3x3_interior); border pixels take the general path. Tap
 * order (ky, kx) matches cnnc_f32_dwconv__ref: identical results. */
void cnnc_f32_dwconv3x3__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y) {
    const size_t cs = (size_t)p->c; /* floats per pixel and per tap row of w */
    int n, oy, ox, c, ky, kx;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            const int iy0 = oy * p->sh - p->pad_top;
            for (ox = 0; ox < p->ow; ++ox) {
                const int ix0 = ox * p->sw - p->pad_left;
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * cs; /* [C] */
                const int interior = iy0 >= 0 && iy0 + 2 < p->h && ix0 >= 0 && ix0 + 2 < p->w;
                if (interior) {
                    const float *x0 = x + (((size_t)n * p->h + iy0) * p->w + ix0) * cs;
                    dw3x3_interior(p, x0, w, bias, out);
                    continue;
                }
                for (c = 0; c < p->c; ++c) out[c] = bias ? bias[c] : 0.0f;
                for (ky = 0; ky < 3; ++ky) {
                    const int iy = iy0 + ky;
                    if (iy < 0 || iy >= p->h) continue;
                    for (kx = 0; kx < 3; ++kx) {
                        const int ix = ix0 + kx;
                        const float *xp; /* [C] */
                        const float *wt = w + (size_t)(ky * 3 + kx) * cs;
                        if (ix < 0 || ix >= p->w) continue;
                        xp = x + (((size_t)n * p->h + iy) * p->w + ix) * cs;
                        for (c = 0; c < p->c; ++c) out[c] += xp[c] * wt[c];
                    }
                }
                for (c = 0; c < p->c; ++c) out[c] = cnnc_f32_apply_act(&p->act, out[c]);
            }
        }
    }
}

/* Pointwise 1x1, stride 1, no padding, groups 1, w[C,Co]: the pixels are the rows of
 * a dense layer x[P,C] -> [P,Co] with P = N*H*W, and the dense kernel's w[K,M] layout
 * is exactly w[C,Co]. */
void cnnc_f32_pwconv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y) {
    cnnc_f32_dense_params dense;
    dense.n = p->n * p->h * p->w;
    dense.k = p->c;
    dense.m = p->co;
    dense.act = p->act;
    cnnc_f32_dense__ref(&dense, x, w, bias, y);
}
