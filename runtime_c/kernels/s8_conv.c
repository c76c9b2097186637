/* int8 convolution, general (any groups) and pointwise; params in cnnc_s8.h.
 *
 * Weights are repacked by the compiler (cnnc.ops.s8.pack_weights) so that the inner
 * loop runs over CNNC_S8_BLOCK contiguous output channels with independent int32
 * accumulators: general conv w[G][KH][KW][C/G][Co/G], pointwise w[C][Co] (the dense
 * layout). Integer sums do not depend on their order, so results equal the NumPy
 * definition bit for bit.
 *
 * Overflow: |x - x_zero_point| <= 255 and |w| <= 127, so one tap adds at most 32385 in
 * magnitude. The compiler (cnnc.passes.quantize, check_accumulator) proves
 * |bias[o]| + xmax * sum_k |w[o][k]| <= 2^31 - 1 for every output channel o, with
 * xmax = max(127 - x_zero_point, x_zero_point + 128), before it emits a call; every
 * partial sum below is bounded by the same expression, so no accumulator overflows. */
#include "cnnc_s8.h"
#include "s8_conv_loops.h"

void cnnc_s8_conv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups;     /* input channels per group */
    const int32_t og = p->out_c / p->groups; /* output channels per group */
    const size_t group_size = (size_t)p->kernel_h * p->kernel_w * cg * og;
    int32_t b, oy, ox, g, o0, ky, kx, i, j;
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yp =
                    y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c; /* [oc] */
                for (g = 0; g < p->groups; ++g) {
                    const int8_t *wg = w + (size_t)g * group_size; /* [kh][kw][cg][og] */
                    for (o0 = 0; o0 < og; o0 += CNNC_S8_BLOCK) {
                        const int32_t nb = og - o0 < CNNC_S8_BLOCK ? og - o0 : CNNC_S8_BLOCK;
                        const int32_t first = g * og + o0; /* first output channel */
                        int32_t acc[CNNC_S8_BLOCK];
                        for (j = 0; j < nb; ++j) acc[j] = bias[first + j];
                        for (ky = 0; ky < p->kernel_h; ++ky) {
                            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                            if (iy < 0 || iy >= p->h) continue;
                            for (kx = 0; kx < p->kernel_w; ++kx) {
                                const int32_t ix =
                                    ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                                const int8_t *xp; /* [cg] input pixel (iy, ix) of group g */
                                const int8_t *wt; /* [cg][og] tap (ky, kx) */
                                if (ix < 0 || ix >= p->w) continue;
                                xp = x + (((size_t)b * p->h + iy) * p->w + ix) * p->c + g * cg;
                                wt = wg + ((size_t)ky * p->kernel_w + kx) * cg * og + o0;
                                for (i = 0; i < cg; ++i) {
                                    const int32_t xv = xp[i] - p->x_zero_point;
                                    const int8_t *wr = wt + (size_t)i * og; /* [nb] */
                                    for (j = 0; j < nb; ++j) acc[j] += xv * wr[j];
                                }
                            }
                        }
                        for (j = 0; j < nb; ++j)
                            yp[first + j] = cnnc_requant_s8(
                                acc[j], mult[first + j], shift[first + j], p->rounding,
                                p->y_zero_point, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

/* 1x1, stride 1, no padding, groups 1, w[C][Co]: the pixels are the rows of a dense layer
 * x[P][C] -> y[P][Co] with P = n*h*w (s8_pwconv_as_dense). Overflow: as for
 * cnnc_s8_conv__ref with K = c. */
void cnnc_s8_pwconv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__ref(&dense, x, w, bias, mult, shift, y);
}
