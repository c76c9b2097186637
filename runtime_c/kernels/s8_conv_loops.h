/* Loops shared by the int8 convolutions of every ISA. Private to the s8 kernels (not a
 * public header).
 *
 * pwconv (1x1, stride 1, no padding, groups 1, w[C][Co]): the pixels are the rows of a
 * dense layer; s8_pwconv_as_dense gives that layer to cnnc_s8_pwconv__ref (s8_conv.c) and
 * to each SIMD variant.
 *
 * conv (any groups, w[G][KH][KW][C/G][Co/G]), the body of cnnc_s8_conv__<isa>
 * (s8_conv_<isa>.c), bit-exact to cnnc_s8_conv__ref: per output row, tiles
 * of S8_TILE_ROWS neighbouring output pixels by S8_BLOCK_COLS output channels of a
 * group. For each tap (ky, kx) (input offset ky*dilation_h, kx*dilation_w), the pixels'
 * inputs sit at a constant stride
 * (stride_w * C), so the tap is one GEMM tile (the including ISA's s8_tile_any,
 * s8_tile_<isa>.h) over the group's C/G inputs, accumulating into the tile's int32 sums;
 * where the tap is padding for some of the pixels, each pixel inside the image gets a
 * one-row tile instead (padding taps are skipped, as in __ref). Output channels left over
 * after the 8-wide blocks run the reference loop. This part is compiled only where a tile
 * header defined its hooks (S8_TILE_ROWS).
 *
 * Overflow: each lane holds bias[o] plus some of output o's kh*kw*C/G terms, bounded by
 * |bias[o]| + xmax * sum |w[o]| <= 2^31 - 1 as proved by the compiler (cnnc.quantize,
 * check_accumulator); each tile's own bound per step is in its header. Integer sums are
 * order-free, so the result is the reference's. */
#ifndef CNNC_S8_CONV_LOOPS_H
#define CNNC_S8_CONV_LOOPS_H

#include "cnnc_s8.h"
#include "s8_dense_loops.h" /* s8_dense_panels, for the im2col path */

/* The dense layer x[P][C] -> y[P][Co], P = n*h*w, that a pointwise conv is, as a value of the
 * conv's params value cp (a constant where cp is, with no inlining: the DSP kernels' tests of
 * cnnc_model_calls.h). */
#define S8_PWCONV_AS_DENSE(cp)                                                                     \
    ((const cnnc_s8_dense_params){(cp).n * (cp).h * (cp).w, (cp).c, (cp).out_c, (cp).x_zero_point, \
                                  (cp).y_zero_point, (cp).act_min, (cp).act_max, (cp).rounding})
CNNC_INLINE cnnc_s8_dense_params s8_pwconv_as_dense(const cnnc_s8_conv_params *p) {
    return S8_PWCONV_AS_DENSE(*p);
}

#if defined(S8_TILE_ROWS)
/* The width of the next block of outputs with `left` (>= 8) to go: the tile's widest,
 * then 16 where the tile is wider, then 8. */
#ifndef S8_BLOCK_COLS
#define S8_BLOCK_COLS(left) ((left) >= S8_TILE_COLS ? S8_TILE_COLS : ((left) >= 16 ? 16 : 8))
#endif

/* Output pixels (b, oy, ox0 .. ox0 + rows - 1), channels o0 .. o0 + nb - 1 of group g
 * (nb = 8, 16 or S8_TILE_COLS): acc[r][j] = bias + the sum over the taps inside the image. */
S8_TARGET static void s8_conv_tile(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *wg,
                                   int32_t b, int32_t oy, int32_t ox0, int32_t rows, int32_t g,
                                   int32_t o0, int32_t nb, const int32_t *bias, int32_t *acc) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const size_t ldx = (size_t)p->stride_w * p->c; /* between neighbouring output pixels */
    int32_t ky, kx, r, j;
    for (r = 0; r < rows; ++r)
        for (j = 0; j < nb; ++j) acc[r * S8_TILE_COLS + j] = bias[j];
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->h) continue;
        if (p->groups == 1 && p->dilation_w == 1) {
            /* every tap of the kernel row inside the image for every pixel: the row's
               kernel_w pixels of c inputs are adjacent in x and its weights
               ([kernel_w][c][out_c]) are adjacent too, so the row is one tile of
               K = kernel_w * c (the same terms, fewer and longer tiles: c = 1 or 3 stems) */
            const int32_t ix0 = ox0 * p->stride_w - p->pad_left;
            if (ix0 >= 0 && ix0 + (rows - 1) * p->stride_w + p->kernel_w - 1 < p->w) {
                s8_tile_any(x + (((size_t)b * p->h + iy) * p->w + ix0) * p->c, ldx, rows,
                            p->kernel_w * cg, p->x_zero_point,
                            wg + (size_t)ky * p->kernel_w * cg * og + o0, og, nb, acc, S8_TILE_COLS,
                            acc);
                continue;
            }
        }
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix0 =
                ox0 * p->stride_w - p->pad_left + kx * p->dilation_w; /* r: + r*sw */
            const int32_t ix_last = ix0 + (rows - 1) * p->stride_w;
            /* [cg] inputs of group g at pixel (iy, ix) */
            const int8_t *xrow = x + ((size_t)b * p->h + iy) * p->w * p->c + (size_t)g * cg;
            const int8_t *wt = wg + ((size_t)ky * p->kernel_w + kx) * cg * og + o0; /* [cg][og] */
            if (ix0 >= 0 && ix_last < p->w) {
                s8_tile_any(xrow + (size_t)ix0 * p->c, ldx, rows, cg, p->x_zero_point, wt, og, nb,
                            acc, S8_TILE_COLS, acc);
                continue;
            }
            for (r = 0; r < rows; ++r) {
                int32_t *acc_r = acc + r * S8_TILE_COLS;
                const int32_t ix = ix0 + r * p->stride_w;
                if (ix < 0 || ix >= p->w) continue;
                s8_tile_any(xrow + (size_t)ix * p->c, ldx, 1, cg, p->x_zero_point, wt, og, nb,
                            acc_r, S8_TILE_COLS, acc_r);
            }
        }
    }
}

/* Output channels o0 .. og - 1 (fewer than 8) of group g at pixel (b, oy, ox): __ref's loop. */
S8_TARGET static void s8_conv_tail_ref(const cnnc_s8_conv_params *p, const int8_t *x,
                                       const int8_t *wg, int32_t b, int32_t oy, int32_t ox,
                                       int32_t g, int32_t o0, const int32_t *bias,
                                       const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups, nb = og - o0;
    const int32_t first = g * og + o0;
    int32_t acc[8], ky, kx, i, j;
    for (j = 0; j < nb; ++j) acc[j] = bias[first + j];
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (iy < 0 || iy >= p->h) continue;
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            const int8_t *xp, *wt; /* [cg] pixel (iy, ix) of group g; [cg][og] tap */
            if (ix < 0 || ix >= p->w) continue;
            xp = x + (((size_t)b * p->h + iy) * p->w + ix) * p->c + g * cg;
            wt = wg + ((size_t)ky * p->kernel_w + kx) * cg * og + o0;
            for (i = 0; i < cg; ++i) {
                const int32_t xv = xp[i] - p->x_zero_point;
                for (j = 0; j < nb; ++j) acc[j] += xv * wt[(size_t)i * og + j];
            }
        }
    }
    for (j = 0; j < nb; ++j)
        y[first + j] = cnnc_requant_s8(acc[j], mult[first + j], shift[first + j], p->rounding,
                                       p->y_zero_point, p->act_min, p->act_max);
}

#if defined(S8_PANEL_COLS)
#define S8_IM2COL_PIXELS 64  /* output pixels per patch block */
#define S8_IM2COL_KMAX 256   /* kernel_h * kernel_w * c up to this: patches */
#define S8_IM2COL_ROWS 16384 /* bytes of the zero-point padded input rows of one output row */
#define S8_IM2COL_COPY 16    /* a kernel row of up to this many bytes: one fixed-size copy */

/* Whether s8_conv_im2col runs p: few input channels (the stem: c = 1 or 3), and the
 * padded input rows of an output row fit S8_IM2COL_ROWS. */
CNNC_INLINE int s8_conv_im2col_applies(const cnnc_s8_conv_params *p) {
    const int64_t span =
        (int64_t)(p->out_w - 1) * p->stride_w + (int64_t)(p->kernel_w - 1) * p->dilation_w + 1;
    return p->groups == 1 && p->c <= 4 && p->kernel_h * p->kernel_w * p->c <= S8_IM2COL_KMAX &&
           (int64_t)p->kernel_h * span * p->c + S8_IM2COL_COPY <= S8_IM2COL_ROWS;
}

/* A conv with few input channels as a dense layer on the panel GEMM (s8_dense_panels,
 * s8_dense_loops.h): for a block of output pixels, the patches x[iy][ix][ci] over
 * (ky, kx, ci) are copied into rows of K = kernel_h * kernel_w * c, and w[KH][KW][C][Co] is
 * already the dense layer's w[K][Co]. The patches come from a copy of the kernel_h input
 * rows an output row reads, padded with x_zero_point where a tap is outside the image
 * (x - zp = 0 adds nothing, as __ref skips the tap), so every window is inside the copy:
 * with dilation_w 1 a kernel row is kernel_w * c adjacent bytes, one fixed-size copy. Same
 * terms, same int32 sums. */
S8_TARGET static void s8_conv_im2col(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                     int8_t *y) {
    /* slack: a row's fixed-size copy may run past the patch and past the padded rows */
    int8_t patch[S8_IM2COL_PIXELS * S8_IM2COL_KMAX + S8_IM2COL_COPY];
    int8_t rows[S8_IM2COL_ROWS];
    const int32_t kk = p->kernel_h * p->kernel_w * p->c, pixels = p->out_h * p->out_w;
    const int32_t run = p->kernel_w * p->c; /* bytes of a kernel row (dilation_w 1) */
    const int32_t span = (p->out_w - 1) * p->stride_w + (p->kernel_w - 1) * p->dilation_w + 1;
    const size_t row_bytes = (size_t)span * p->c, step = (size_t)p->stride_w * p->c;
    ptrdiff_t off[S8_IM2COL_KMAX]; /* tap t's offset in the padded rows */
    cnnc_s8_dense_params d;
    int32_t b, q0, q, oy, ox, ky, kx, ci, t;
    for (ky = 0; ky < p->kernel_h; ++ky)
        for (kx = 0; kx < p->kernel_w; ++kx)
            for (ci = 0; ci < p->c; ++ci)
                off[(ky * p->kernel_w + kx) * p->c + ci] = (ptrdiff_t)ky * (ptrdiff_t)row_bytes +
                                                           (ptrdiff_t)kx * p->dilation_w * p->c +
                                                           ci;
    memset(rows + (size_t)p->kernel_h * row_bytes, 0, S8_IM2COL_COPY);
    d.k = kk;
    d.m = p->out_c;
    d.x_zero_point = p->x_zero_point;
    d.y_zero_point = p->y_zero_point;
    d.act_min = p->act_min;
    d.act_max = p->act_max;
    d.rounding = p->rounding;
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * p->h * p->w * p->c;
        oy = ox = 0; /* of pixel q0 + q */
        for (q0 = 0; q0 < pixels; q0 += S8_IM2COL_PIXELS) {
            d.n = pixels - q0 < S8_IM2COL_PIXELS ? pixels - q0 : S8_IM2COL_PIXELS;
            for (q = 0; q < d.n; ++q) {
                const int8_t *win = rows + (size_t)ox * step; /* the window's corner */
                int8_t *row = patch + (size_t)q * kk;         /* [kh][kw][c] */
                if (ox == 0) { /* a new output row: its padded input rows */
                    const int32_t ix0 = -p->pad_left;
                    const int32_t lo = ix0 < 0 ? -ix0 : 0; /* columns lo .. hi - 1 inside */
                    const int32_t hi = p->w - ix0 < span ? p->w - ix0 : span;
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                        int8_t *dst = rows + (size_t)ky * row_bytes;
                        memset(dst, p->x_zero_point, row_bytes);
                        if (iy >= 0 && iy < p->h && hi > lo)
                            memcpy(dst + (size_t)lo * p->c,
                                   xb + ((size_t)iy * p->w + ix0 + lo) * p->c,
                                   (size_t)(hi - lo) * p->c);
                    }
                }
                if (p->dilation_w == 1 && run <= S8_IM2COL_COPY) {
                    /* the bytes past run are overwritten by the next copy or are slack */
                    for (ky = 0; ky < p->kernel_h; ++ky)
                        memcpy(row + ky * run, win + (size_t)ky * row_bytes, S8_IM2COL_COPY);
                } else {
                    for (t = 0; t < kk; ++t) row[t] = win[off[t]];
                }
                if (++ox == p->out_w) ox = 0, ++oy;
            }
            s8_dense_panels(&d, patch, w, bias, mult, shift,
                            y + ((size_t)b * pixels + q0) * p->out_c);
        }
    }
}
#endif

/* The body of cnnc_s8_conv__<isa>. */
S8_TARGET CNNC_INLINE void s8_conv_loops(const cnnc_s8_conv_params *p, const int8_t *x,
                                         const int8_t *w, const int32_t *bias, const int32_t *mult,
                                         const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const size_t group_size = (size_t)p->kernel_h * p->kernel_w * cg * og;
    int32_t acc[S8_TILE_ROWS * S8_TILE_COLS]; /* [rows][S8_TILE_COLS] */
    int32_t b, oy, ox0, g, o0, r;
#if defined(S8_PANEL_COLS)
    if (s8_conv_im2col_applies(p)) {
        s8_conv_im2col(p, x, w, bias, mult, shift, y);
        return;
    }
#endif
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox0 = 0; ox0 < p->out_w; ox0 += S8_TILE_ROWS) {
                const int32_t rows = p->out_w - ox0 < S8_TILE_ROWS ? p->out_w - ox0 : S8_TILE_ROWS;
                /* [ow][oc] output row */
                int8_t *yrow = y + ((size_t)b * p->out_h + oy) * p->out_w * p->out_c;
                for (g = 0; g < p->groups; ++g) {
                    const int8_t *wg = w + (size_t)g * group_size; /* [kh][kw][cg][og] */
                    for (o0 = 0; o0 + 8 <= og;) {
                        const int32_t nb = S8_BLOCK_COLS(og - o0);
                        const int32_t first = g * og + o0;
                        s8_conv_tile(p, x, wg, b, oy, ox0, rows, g, o0, nb, bias + first, acc);
                        for (r = 0; r < rows; ++r)
                            s8_tile_requant(acc + r * S8_TILE_COLS, nb, mult + first, shift + first,
                                            p->rounding, p->y_zero_point, p->act_min, p->act_max,
                                            yrow + (size_t)(ox0 + r) * p->out_c + first);
                        o0 += nb;
                    }
                    if (o0 < og)
                        for (r = 0; r < rows; ++r)
                            s8_conv_tail_ref(p, x, wg, b, oy, ox0 + r, g, o0, bias, mult, shift,
                                             yrow + (size_t)(ox0 + r) * p->out_c);
                }
            }
}
#endif

#endif /* CNNC_S8_CONV_LOOPS_H */
