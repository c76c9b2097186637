/* Cortex-M DSP variants of the int8 convolutions, bit-exact to their __ref kernels (same
 * packed weights, same int32 sums modulo 2^32, the same requantised bytes). The pointwise
 * conv runs as a dense layer on cnnc_s8_dense__dsp. The general conv is, per group, a GEMM
 * over im2col rows of K = kh*kw*C/G inputs (padding taps hold x_zero_point, which the
 * corrected bias cancels: s8_dsp.h) against w[KH][KW][C/G][Co/G], the layout dense reads
 * as w[K][Co/G]. K above DSP_MAX_K runs the reference loop. Compiled when the build
 * targets the DSP extension (__ARM_FEATURE_DSP); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_conv_loops.h"
#include "s8_dsp.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
void cnnc_s8_pwconv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__dsp(&dense, x, w, bias, mult, shift, y);
}

/* n <= 4 bytes from src to dst without a call (the stem's 1 or 3 channels per tap). */
CNNC_INLINE void dsp_copy_small(int8_t *dst, const int8_t *src, int32_t n) {
    dst[0] = src[0];
    if (n > 1) dst[1] = src[1];
    if (n > 2) dst[2] = src[2];
    if (n > 3) dst[3] = src[3];
}

/* n bytes from src to dst: whole words (unaligned LDR/STR), then the last n mod 4 bytes. */
CNNC_INLINE void dsp_copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = dsp_load4(src + i);
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < n; ++i) dst[i] = src[i];
}

/* col[K]: the inputs of output pixel (b, oy, ox) in group g, in the weights' tap order. A
 * window inside the image with one group copies each kernel row's kw * C contiguous
 * bytes at once. */
static void dsp_im2col(const cnnc_s8_conv_params *p, const int8_t *x, int32_t b, int32_t oy,
                       int32_t ox, int32_t g, int8_t *col) {
    const int32_t cg = p->c / p->groups;
    const int8_t zp[4] = {(int8_t)p->x_zero_point, (int8_t)p->x_zero_point, (int8_t)p->x_zero_point,
                          (int8_t)p->x_zero_point};
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t ky, kx;
    if (p->groups == 1 && iy0 >= 0 && iy0 + p->kernel_h <= p->h && ix0 >= 0 &&
        ix0 + p->kernel_w <= p->w) {
        const int32_t row = p->kernel_w * p->c;
        const int8_t *src = x + (((size_t)b * p->h + iy0) * p->w + ix0) * p->c;
        for (ky = 0; ky < p->kernel_h; ++ky, col += row, src += (size_t)p->w * p->c)
            dsp_copy_bytes(col, src, row);
        return;
    }
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = iy0 + ky, row_in = iy >= 0 && iy < p->h;
        const int8_t *const xrow =
            row_in ? x + ((size_t)b * p->h + iy) * p->w * p->c + (size_t)g * cg : zp;
        for (kx = 0; kx < p->kernel_w; ++kx, col += cg) {
            const int32_t ix = ix0 + kx;
            const int inside = row_in && ix >= 0 && ix < p->w;
            const int8_t *src = inside ? xrow + (size_t)ix * p->c : zp;
            if (cg == 1)
                col[0] = src[0];
            else if (cg <= 4)
                dsp_copy_small(col, src, cg);
            else if (inside)
                memcpy(col, src, (size_t)cg);
            else
                memset(col, p->x_zero_point, (size_t)cg);
        }
    }
}

/* nw (1, 2 or 3, known where inlined) unaligned words from src to dst. */
DSP_ALWAYS_INLINE void dsp_copy_words(int8_t *dst, const int8_t *src, int32_t nw) {
    uint32_t v = dsp_load4(src);
    memcpy(dst, &v, sizeof v);
    if (nw > 1) v = dsp_load4(src + 4), memcpy(dst + 4, &v, sizeof v);
    if (nw > 2) v = dsp_load4(src + 8), memcpy(dst + 8, &v, sizeof v);
}

/* The im2col rows col[rows][K] of output pixels (b, oy, ox .. ox+rows-1), one group,
 * kernel rows of kw * C <= 4 nw bytes (nw = 1, 2 or 3, known where inlined: the stems' 3x3
 * of 1 or 3 channels): a window inside the image whose last word lies in x takes nw
 * unaligned words per kernel row, whose extra bytes the next kernel row or pixel
 * overwrites (col has DSP_COL_SPARE bytes past the last row for the last one's); the
 * other windows dsp_im2col. */
DSP_ALWAYS_INLINE void dsp_im2col_nw(const cnnc_s8_conv_params *p, const int8_t *x, int32_t b,
                                     int32_t oy, int32_t ox, int32_t rows, int32_t k, int8_t *col,
                                     int32_t nw, int32_t kh) {
    /* the fields in locals: the stores to col may alias *p, which gcc reloads otherwise */
    const int32_t row = p->kernel_w * p->c, sw = p->stride_w, step = sw * p->c;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, last = p->w - p->kernel_w;
    const ptrdiff_t pitch = (ptrdiff_t)p->w * p->c;
    /* the last window offset in x whose last word lies in x */
    const ptrdiff_t lim = (ptrdiff_t)p->n * p->h * pitch - (kh - 1) * pitch - 4 * nw;
    const int inside = iy0 >= 0 && iy0 + kh <= p->h;
    int32_t i = 0, ix0 = ox * sw - p->pad_left;
    ptrdiff_t at = ((ptrdiff_t)b * p->h + iy0) * pitch + (ptrdiff_t)ix0 * p->c;
    while (i < rows) {
        int32_t run = 0; /* windows from i on that take the words (increasing ix0 and at) */
        if (inside && ix0 >= 0 && ix0 <= last && at <= lim) {
            const int32_t by_w = (last - ix0) / sw + 1, by_end = (int32_t)((lim - at) / step) + 1;
            run = rows - i < by_w ? rows - i : by_w;
            run = run < by_end ? run : by_end;
        }
        if (run) {
            const int8_t *sp = x + at;
            int8_t *const end = col + (size_t)run * k;
            for (; col < end; col += k, sp += step) {
                if (kh == 3) { /* written out (gcc keeps a counted loop) */
                    dsp_copy_words(col, sp, nw);
                    dsp_copy_words(col + row, sp + pitch, nw);
                    dsp_copy_words(col + 2 * row, sp + 2 * pitch, nw);
                } else {
                    const int8_t *r = sp;
                    int8_t *cp = col;
                    int32_t ky;
                    for (ky = 0; ky < kh; ++ky, cp += row, r += pitch) dsp_copy_words(cp, r, nw);
                }
            }
        } else {
            dsp_im2col(p, x, b, oy, ox + i, 0, col);
            col += k, run = 1;
        }
        i += run, ix0 += run * sw, at += (ptrdiff_t)run * step;
    }
}

/* dsp_im2col_nw for kernel rows of at most 12 bytes. */
static __attribute__((noinline)) void dsp_im2col_words(const cnnc_s8_conv_params *p,
                                                       const int8_t *x, int32_t b, int32_t oy,
                                                       int32_t ox, int32_t rows, int32_t k,
                                                       int8_t *col) {
    const int32_t row = p->kernel_w * p->c, kh = p->kernel_h;
    if (row <= 4)
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 1, kh);
    else if (row <= 8)
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 2, kh);
    else if (kh == 3) /* the 3x3 stem of 3 channels: the kernel rows written out */
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 3, 3);
    else
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 3, kh);
}

#if defined(__OPTIMIZE_SIZE__)
#define DSP_SIZE 1 /* -Os: the pixel by pixel im2col alone (dsp_im2col_words is not kept) */
#else
#define DSP_SIZE 0
#endif
#define DSP_COL_BYTES 2048 /* im2col rows of a batch of output pixels */
#define DSP_COL_SPARE 4    /* past them: the last word copy's extra bytes (dsp_im2col) */

void cnnc_s8_conv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    dsp_block blk;                                  /* 5 KB of stack */
    int8_t col[DSP_COL_BYTES + DSP_COL_SPARE];      /* [batch][K]: im2col rows */
    if (p->dilation_h != 1 || p->dilation_w != 1) { /* the im2col reads adjacent taps */
        cnnc_s8_conv__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    int32_t g, o0, b, oy, ox, per, batch, i;
    if (k > DSP_MAX_K) {
        cnnc_s8_conv__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    per = dsp_block_outputs(k);
    batch = DSP_COL_BYTES / k < p->out_w ? DSP_COL_BYTES / k : p->out_w; /* >= 4 */
    for (g = 0; g < p->groups; ++g) {
        const int8_t *wg = w + (size_t)g * k * og; /* [K][og] */
        for (o0 = 0; o0 < og; o0 += per) {
            const int32_t count = og - o0 < per ? og - o0 : per;
            dsp_repack(&blk, wg, k, og, o0, count, bias + g * og, mult + g * og, shift + g * og,
                       &out, p->x_zero_point);
            blk.spare = 1; /* each im2col row is followed by another or DSP_COL_SPARE bytes */
            for (b = 0; b < p->n; ++b) {
                for (oy = 0; oy < p->out_h; ++oy) {
                    for (ox = 0; ox < p->out_w; ox += batch) {
                        const int32_t rows = p->out_w - ox < batch ? p->out_w - ox : batch;
                        int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c +
                                     (size_t)g * og; /* [rows][out_c] */
                        if (!DSP_SIZE && p->groups == 1 && p->kernel_w * p->c <= 12)
                            dsp_im2col_words(p, x, b, oy, ox, rows, k, col);
                        else
                            for (i = 0; i < rows; ++i)
                                dsp_im2col(p, x, b, oy, ox + i, g, col + (size_t)i * k);
                        cnnc_s8_dsp_block_rows(&blk, col, (size_t)k, rows, o0, &out, yp,
                                               (size_t)p->out_c);
                    }
                }
            }
        }
    }
}
#else
typedef int cnnc_s8_conv_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
