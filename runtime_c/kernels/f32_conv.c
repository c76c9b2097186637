/* float32 convolutions, NHWC: general (any groups), depthwise, 3x3 depthwise, pointwise.
 * See cnnc_f32_conv_params in cnnc_f32.h for layouts and ranges. */
#include "cnnc_f32.h"

/* General grouped convolution: the specification the other conv kernels must match. */
void cnnc_f32_conv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                        const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                        float *CNNC_RESTRICT y) {
    const int32_t cg = p->c / p->groups;      /* input channels per group */
    const int32_t cog = p->out_c / p->groups; /* output channels per group */
    int32_t n, oy, ox, co, ky, kx, ci;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                float *out =
                    y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->out_c; /* [Co] */
                for (co = 0; co < p->out_c; ++co) {
                    const int32_t g = co / cog;
                    float acc = bias ? bias[co] : 0.0f;
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                            if (ix < 0 || ix >= p->w) continue;
                            /* xp[cg]: this group's channels of input pixel (iy, ix) */
                            const float *xp =
                                x + (((size_t)n * p->h + iy) * p->w + ix) * p->c + (size_t)g * cg;
                            /* wp[cg]: tap (ky, kx) of filter co */
                            const float *wp =
                                w + (((size_t)co * p->kernel_h + ky) * p->kernel_w + kx) * cg;
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
                         float *CNNC_RESTRICT out, int32_t n, int32_t oy, int32_t ox, int32_t co0,
                         int32_t tile) {
    float acc[OC_TILE]; /* outputs co0 .. co0+tile-1 */
    int32_t j, ky, kx, ci;
    for (j = 0; j < tile; ++j) acc[j] = bias ? bias[co0 + j] : 0.0f;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->h) continue;
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            const float *xp; /* [C] input pixel (iy, ix) */
            const float *wt; /* [C,Co] tap (ky, kx) */
            if (ix < 0 || ix >= p->w) continue;
            xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
            wt = w + ((size_t)ky * p->kernel_w + kx) * p->c * p->out_c + co0;
            for (ci = 0; ci < p->c; ++ci) {
                const float xv = xp[ci];
                const float *wr = wt + (size_t)ci * p->out_c; /* [tile] */
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
    int32_t n, oy, ox, co0;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                float *out =
                    y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->out_c; /* [Co] */
                for (co0 = 0; co0 < p->out_c; co0 += OC_TILE) {
                    const int32_t tile = p->out_c - co0 < OC_TILE ? p->out_c - co0 : OC_TILE;
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
    int32_t n, oy, ox, c, ky, kx;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                float *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * p->c; /* [C] */
                for (c = 0; c < p->c; ++c) out[c] = bias ? bias[c] : 0.0f;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    if (iy < 0 || iy >= p->h) continue;
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        const float *xp; /* [C] input pixel (iy, ix) */
                        const float *wp; /* [C] tap (ky, kx) of every channel */
                        if (ix < 0 || ix >= p->w) continue;
                        xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                        wp = w + ((size_t)ky * p->kernel_w + kx) * p->c;
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
    int32_t c0, c, j, t;
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
    int32_t n, oy, ox, c, ky, kx;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                float *out = y + (((size_t)n * p->out_h + oy) * p->out_w + ox) * cs; /* [C] */
                const int32_t interior = iy0 >= 0 && iy0 + 2 < p->h && ix0 >= 0 && ix0 + 2 < p->w;
                if (interior) {
                    const float *x0 = x + (((size_t)n * p->h + iy0) * p->w + ix0) * cs;
                    dw3x3_interior(p, x0, w, bias, out);
                    continue;
                }
                for (c = 0; c < p->c; ++c) out[c] = bias ? bias[c] : 0.0f;
                for (ky = 0; ky < 3; ++ky) {
                    const int32_t iy = iy0 + ky;
                    if (iy < 0 || iy >= p->h) continue;
                    for (kx = 0; kx < 3; ++kx) {
                        const int32_t ix = ix0 + kx;
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
    dense.m = p->out_c;
    dense.act = p->act;
    cnnc_f32_dense__ref(&dense, x, w, bias, y);
}
