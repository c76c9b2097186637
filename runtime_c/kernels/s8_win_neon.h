/* The padded input window of the NEON general convs (cnnc_s8_conv__neon on aarch64,
 * s8_conv_neon.c; cnnc_s8_conv__neondot, s8_dot_neon.c): the output pixels are taken band
 * by band, a band being whole output rows (or, where one row's input does not fit, part of
 * one row), and the input rows and columns a band reads are copied once into a stack
 * window with the padding materialised as x's zero point. Gathering a pixel's inputs
 * (im2col: [kh][kw][cg], the row order of the group's weights w[kh][kw][cg][og]) then
 * needs no bounds test: with one group and no column dilation a kernel row is one
 * contiguous run of kernel_w * c bytes of the window, so a 3x3 conv's pixel is three
 * block copies. The pixels of a band are consecutive in y (whole rows, or one part row).
 *
 * Padding taps read x's zero point, which adds (zp - zp) * w = 0 to __ref's sum (or, in the
 * zero-point-folded kernels, zp * w here and - zp * w through their start values): __ref
 * skips them, so the sums are its own. ARMv7 NEON intrinsics only. */
#ifndef CNNC_S8_WIN_NEON_H
#define CNNC_S8_WIN_NEON_H

#include <string.h>

#include "cnnc_s8.h"
#include "s8_gemm_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

/* Band geometry: oh output rows of ow pixels each (ow == out_w, or oh == 1 and ow <
 * out_w), the window sized for them. */
typedef struct {
    int32_t oh, ow;
} s8w_plan;

/* One band of a plan: image b, output rows [oy0, oy0 + oh), columns [ox0, ox0 + ow). */
typedef struct {
    int32_t b, oy0, ox0, oh, ow;
} s8w_band;

/* Input rows (columns) spanned by n output rows (columns) of stride s, kernel extent
 * kn, dilation d. */
#define S8W_SPAN(n, s, kn, d) (((int64_t)(n)-1) * (s) + ((int64_t)(kn)-1) * (d) + 1)

/* The largest bands whose window fits `bytes`; 0 when not even one pixel's does. */
S8G_MAYBE_UNUSED static int s8w_plan_for(const cnnc_s8_conv_params *p, size_t bytes, s8w_plan *pl) {
    const int64_t kh = S8W_SPAN(1, 1, p->kernel_h, p->dilation_h);
    const int64_t kw = S8W_SPAN(1, 1, p->kernel_w, p->dilation_w);
    const int64_t row = S8W_SPAN(p->out_w, p->stride_w, p->kernel_w, p->dilation_w) * p->c;
    int64_t n;
    if (kh * row <= (int64_t)bytes) { /* whole output rows */
        n = 1 + ((int64_t)bytes / row - kh) / p->stride_h;
        pl->ow = p->out_w;
        pl->oh = n < p->out_h ? (int32_t)n : p->out_h;
        return 1;
    }
    if (kh * kw * p->c > (int64_t)bytes) return 0;
    n = 1 + ((int64_t)bytes / (kh * p->c) - kw) / p->stride_w; /* < out_w */
    pl->oh = 1;
    pl->ow = (int32_t)n;
    return 1;
}

/* Before the first band (ox0 = -1). */
#define S8W_FIRST ((s8w_band){0, 0, -1, 0, 0})

/* The bands of plan pl in order, from S8W_FIRST: moves bd to the next one and returns 1,
 * or returns 0 after the last. */
S8G_MAYBE_UNUSED static int s8w_next(const cnnc_s8_conv_params *p, const s8w_plan *pl,
                                     s8w_band *bd) {
    if (bd->ox0 < 0) {
        if (p->n <= 0 || p->out_h <= 0 || p->out_w <= 0) return 0;
        bd->ox0 = 0;
    } else if ((bd->ox0 += pl->ow) >= p->out_w) {
        bd->ox0 = 0;
        if ((bd->oy0 += pl->oh) >= p->out_h) {
            bd->oy0 = 0;
            if (++bd->b >= p->n) return 0;
        }
    }
    bd->oh = p->out_h - bd->oy0 < pl->oh ? p->out_h - bd->oy0 : pl->oh;
    bd->ow = p->out_w - bd->ox0 < pl->ow ? p->out_w - bd->ox0 : pl->ow;
    return 1;
}

/* The offset in y of band bd's first output pixel (its pixels are consecutive in y:
 * ow == out_w, or oh == 1). */
S8G_MAYBE_UNUSED static size_t s8w_out(const cnnc_s8_conv_params *p, const s8w_band *bd) {
    return (((size_t)bd->b * p->out_h + bd->oy0) * p->out_w + bd->ox0) * p->out_c;
}

/* The window of the band of oh x ow output pixels from (oy0, ox0) of image b: rows
 * S8W_SPAN(oh, ...) of pitch S8W_SPAN(ow, ...) * c bytes, zp outside x. Returns the pitch. */
S8G_MAYBE_UNUSED static size_t s8w_fill(const cnnc_s8_conv_params *p, const int8_t *x, int32_t b,
                                        int32_t oy0, int32_t ox0, int32_t oh, int32_t ow,
                                        int8_t *win) {
    const int32_t rows = (int32_t)S8W_SPAN(oh, p->stride_h, p->kernel_h, p->dilation_h);
    const int32_t cols = (int32_t)S8W_SPAN(ow, p->stride_w, p->kernel_w, p->dilation_w);
    const int32_t iy0 = oy0 * p->stride_h - p->pad_top, ix0 = ox0 * p->stride_w - p->pad_left;
    /* the window's columns [qa, qb) lie inside the image */
    const int32_t qa = ix0 < 0 ? (-ix0 < cols ? -ix0 : cols) : 0;
    const int32_t qb = p->w - ix0 < cols ? (p->w - ix0 > qa ? p->w - ix0 : qa) : cols;
    const size_t pitch = (size_t)cols * p->c;
    int32_t j;
    for (j = 0; j < rows; ++j) {
        const int32_t iy = iy0 + j;
        int8_t *dst = win + (size_t)j * pitch;
        if (iy < 0 || iy >= p->h || qa == qb) {
            memset(dst, p->x_zero_point, pitch);
            continue;
        }
        memset(dst, p->x_zero_point, (size_t)qa * p->c);
        memcpy(dst + (size_t)qa * p->c, x + (((size_t)b * p->h + iy) * p->w + ix0 + qa) * p->c,
               (size_t)(qb - qa) * p->c);
        memset(dst + (size_t)qb * p->c, p->x_zero_point, (size_t)(cols - qb) * p->c);
    }
    return pitch;
}

/* dst[0..n) = src[0..n) for n >= 16: blocks of 16, the last one overlapping. */
S8G_ALWAYS_INLINE void s8w_copy16(int8_t *dst, const int8_t *src, size_t n) {
    size_t i;
    for (i = 0; i + 16 <= n; i += 16) vst1q_s8(dst + i, vld1q_s8(src + i));
    if (i < n) vst1q_s8(dst + n - 16, vld1q_s8(src + n - 16));
}

/* dst[0..n) = src[0..n) for n >= 64: blocks of 64 bytes (aarch64: one LD1 and one ST1 of
 * four registers each), the last one overlapping the one before where n is no multiple of
 * 64 (its bytes written twice, with the same values); s8w_copy16 on ARMv7. */
S8G_ALWAYS_INLINE void s8w_copy64(int8_t *dst, const int8_t *src, size_t n) {
#if defined(__aarch64__)
    const int8_t *const last = src + n - 64;
    for (; src < last; src += 64, dst += 64) vst1q_s8_x4(dst, vld1q_s8_x4(src));
    vst1q_s8_x4(dst + (last - src), vld1q_s8_x4(last));
#else
    s8w_copy16(dst, src, n);
#endif
}

/* The gather's loop over n pixels with the run copy COPY (the length's case chosen once per
 * call, outside the loop): each pixel's taps runs of `span` bytes, kernel rows ky_step
 * apart in the window, taps (taps per row) kx_step apart. */
#define S8W_GATHER_LOOP(COPY)                                                          \
    for (r = 0; r < n; ++r) {                                                          \
        const int8_t *sr = s + (size_t)oxl * x_step;                                   \
        int8_t *d = dst + (size_t)r * ldx;                                             \
        for (ky = 0; ky < kh; ++ky, sr += ky_step)                                     \
            for (kx = 0; kx < taps; ++kx, d += span) COPY(d, sr + kx * kx_step, span); \
        if (++oxl == ow) {                                                             \
            oxl = 0;                                                                   \
            s += y_step;                                                               \
        }                                                                              \
    }

/* S8W_GATHER_LOOP for one tap per kernel row (taps == 1). */
#define S8W_GATHER_ROWS(COPY)                                                    \
    for (r = 0; r < n; ++r) {                                                    \
        const int8_t *sr = s + (size_t)oxl * x_step;                             \
        int8_t *d = dst + (size_t)r * ldx;                                       \
        for (ky = 0; ky < kh; ++ky, sr += ky_step, d += span) COPY(d, sr, span); \
        if (++oxl == ow) {                                                       \
            oxl = 0;                                                             \
            s += y_step;                                                         \
        }                                                                        \
    }

/* Rows dst[r * ldx + 0..k) of pixels first .. first + n - 1 of a band ow pixels wide
 * (window win of the given pitch), group g: K = kernel_h * kernel_w * cg inputs each. The
 * parameters are read into locals first: the int8 stores may alias *p. */
S8G_MAYBE_UNUSED static void s8w_gather(const cnnc_s8_conv_params *p, const int8_t *win,
                                        size_t pitch, int32_t ow, int32_t first, int32_t n,
                                        int32_t g, int8_t *dst, size_t ldx) {
    const int32_t cg = p->c / p->groups, kh = p->kernel_h, kw = p->kernel_w;
    const size_t ky_step = (size_t)p->dilation_h * pitch, kx_step = (size_t)p->dilation_w * p->c;
    const size_t x_step = (size_t)p->stride_w * p->c, y_step = (size_t)p->stride_h * pitch;
    const int merged = p->groups == 1 && p->dilation_w == 1; /* a kernel row is contiguous */
    const size_t span = merged ? (size_t)kw * cg : (size_t)cg;
    const int32_t taps = merged ? 1 : kw;
    int32_t oyl = first / ow, oxl = first % ow, r, ky, kx;
    const int8_t *s = win + (size_t)oyl * y_step + (size_t)g * cg;
    if (span >= 64 && taps == 1) { /* whole kernel rows: no loop over taps */
        S8W_GATHER_ROWS(s8w_copy64)
    } else if (span >= 64) {
        S8W_GATHER_LOOP(s8w_copy64)
    } else if (span >= 16) {
        S8W_GATHER_LOOP(s8w_copy16)
    } else {
        S8W_GATHER_LOOP(s8g_copy)
    }
}
#endif

#endif /* CNNC_S8_WIN_NEON_H */
