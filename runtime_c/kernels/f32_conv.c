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

/* Depthwise (groups == C == Co), any kernel size: w[C,KH,KW,1]. Same tap order as
 * cnnc_f32_conv__ref, so results are identical to it. */
void cnnc_f32_dwconv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y) {
    const int taps = p->kh * p->kw;
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
                        const float *wp; /* w[c, ky, kx] is wp[c * taps] */
                        if (ix < 0 || ix >= p->w) continue;
                        xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                        wp = w + ky * p->kw + kx;
                        for (c = 0; c < p->c; ++c) out[c] += xp[c] * wp[(size_t)c * taps];
                    }
                }
                for (c = 0; c < p->c; ++c) out[c] = cnnc_f32_apply_act(&p->act, out[c]);
            }
        }
    }
}

/* Depthwise 3x3, dilation 1: weights repacked on the stack per channel block is not
 * worth it at this size; the gain is the unrolled, branch-free interior. Tap order
 * (ky, kx) matches cnnc_f32_dwconv__ref, so results are identical to it. */
void cnnc_f32_dwconv3x3__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y) {
    int n, oy, ox, c, ky, kx;
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->oh; ++oy) {
            const int iy0 = oy * p->sh - p->pad_top;
            for (ox = 0; ox < p->ow; ++ox) {
                const int ix0 = ox * p->sw - p->pad_left;
                float *out = y + (((size_t)n * p->oh + oy) * p->ow + ox) * p->c; /* [C] */
                const int interior = iy0 >= 0 && iy0 + 2 < p->h && ix0 >= 0 && ix0 + 2 < p->w;
                if (interior) {
                    const size_t row = (size_t)p->w * p->c; /* floats per input row */
                    const float *x0 = x + (((size_t)n * p->h + iy0) * p->w + ix0) * p->c;
                    for (c = 0; c < p->c; ++c) {
                        const float *wc = w + (size_t)c * 9; /* [3,3] */
                        const float *xc = x0 + c;
                        float acc = bias ? bias[c] : 0.0f;
                        acc += xc[0] * wc[0];
                        acc += xc[p->c] * wc[1];
                        acc += xc[2 * p->c] * wc[2];
                        acc += xc[row] * wc[3];
                        acc += xc[row + p->c] * wc[4];
                        acc += xc[row + 2 * p->c] * wc[5];
                        acc += xc[2 * row] * wc[6];
                        acc += xc[2 * row + p->c] * wc[7];
                        acc += xc[2 * row + 2 * p->c] * wc[8];
                        out[c] = cnnc_f32_apply_act(&p->act, acc);
                    }
                    continue;
                }
                for (c = 0; c < p->c; ++c) out[c] = bias ? bias[c] : 0.0f;
                for (ky = 0; ky < 3; ++ky) {
                    const int iy = iy0 + ky;
                    if (iy < 0 || iy >= p->h) continue;
                    for (kx = 0; kx < 3; ++kx) {
                        const int ix = ix0 + kx;
                        const float *xp; /* [C] */
                        if (ix < 0 || ix >= p->w) continue;
                        xp = x + (((size_t)n * p->h + iy) * p->w + ix) * p->c;
                        for (c = 0; c < p->c; ++c) out[c] += xp[c] * w[(size_t)c * 9 + ky * 3 + kx];
                    }
                }
                for (c = 0; c < p->c; ++c) out[c] = cnnc_f32_apply_act(&p->act, out[c]);
            }
        }
    }
}

/* Pointwise 1x1, stride 1, no padding, groups 1: every pixel is a dense layer
 * x[P,C] * w[Co,C]^T with P = N*H*W. */
void cnnc_f32_pwconv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y) {
    const size_t pixels = (size_t)p->n * p->h * p->w;
    size_t px;
    int co, ci;
    for (px = 0; px < pixels; ++px) {
        const float *xp = x + px * p->c; /* [C] */
        float *out = y + px * p->co;     /* [Co] */
        for (co = 0; co < p->co; ++co) {
            const float *wp = w + (size_t)co * p->c; /* [C] */
            float acc = bias ? bias[co] : 0.0f;
            for (ci = 0; ci < p->c; ++ci) acc += xp[ci] * wp[ci];
            out[co] = cnnc_f32_apply_act(&p->act, acc);
        }
    }
}
