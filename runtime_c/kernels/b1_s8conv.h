/* Shared by the SIMD variants of cnnc_b1_s8conv_bits (b1_s8conv_avx2.c, _avx512.c, _neon.c):
 * one output row's input rows as int16 (x - x_zero_point), so each kernel row of a window
 * is one run of adjacent values (read two at a time by vpmaddwd). Private to those files. */
#ifndef CNNC_B1_S8CONV_H
#define CNNC_B1_S8CONV_H

#include <string.h>

#include "cnnc_b1.h"

#define B1S_ROW 2048 /* int16 values one row copy holds */
#define B1S_KH 7     /* kernel rows at most */
#define B1S_TAPS 64  /* kernel_h * pairs at most (weight vectors per channel block) */
#define B1S_GROUP 64 /* output channels per pass (weights widened once per pass) */
/* loops over a pass's vectors and (where constant) taps fully unrolled: the accumulators
   and weights stay in registers */
#define B1S_UNROLL _Pragma("GCC unroll 16")

/* Columns one output row's windows span: (out_w - 1) * stride_w + kernel_w. */
CNNC_INLINE int32_t b1s_cols(const cnnc_b1_s8conv_params *p) {
    return (p->out_w - 1) * p->stride_w + p->kernel_w;
}

/* The row copies fit (and two values past the last column, for the last pair). */
CNNC_INLINE int b1s_applies(const cnnc_b1_s8conv_params *p) {
    return p->groups == 1 && p->dilation_h == 1 && p->dilation_w == 1 && p->kernel_h <= B1S_KH &&
           p->kernel_h * CNNC_B1_S8CONV_PAIRS(p) <= B1S_TAPS &&
           (size_t)b1s_cols(p) * (size_t)p->c + 2 <= B1S_ROW;
}

/* The including file's target attribute (its B1S_WIDEN inlines into b1s_rows) and its
 * widening of len int8 values minus zp to int16; the portable loop by default. */
#ifndef B1S_TARGET
#define B1S_TARGET
#endif
#ifndef B1S_WIDEN
#define B1S_WIDEN(dst, src, len, zp) b1s_widen_values(dst, src, len, zp)
CNNC_INLINE void b1s_widen_values(int16_t *dst, const int8_t *src, int32_t len, int16_t zp) {
    int32_t t;
    for (t = 0; t < len; ++t) dst[t] = (int16_t)(src[t] - zp);
}
#endif

/* rows[ky * B1S_ROW + col * c + ch] = x(n, iy, col - pad_left, ch) - x_zero_point with iy =
 * oy * stride_h - pad_top + ky, 0 where (iy, col - pad_left) is outside the input: the
 * padding value x_zero_point, minus itself. A pass calls it for its output rows in order
 * from oy = 0, which zeroes the copies whole; later rows convert the columns inside the
 * input only, as their padding columns (and the two values past the last column) are
 * still 0. Zeroing every copy for every output row cost as much as the conversion. */
B1S_TARGET CNNC_INLINE void b1s_rows(const cnnc_b1_s8conv_params *p, const int8_t *x, int32_t n,
                                     int32_t oy, int16_t *rows) {
    const int32_t cols = b1s_cols(p);
    const int32_t lo = p->pad_left < cols ? p->pad_left : cols; /* first column inside */
    const int32_t hi = p->w + p->pad_left < cols ? p->w + p->pad_left : cols;
    const size_t end = (size_t)cols * p->c + 2; /* values a row copy holds */
    int32_t ky;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
        int16_t *r = rows + (size_t)ky * B1S_ROW;
        if (oy == 0 || iy < 0 || iy >= p->h || hi <= lo) memset(r, 0, end * sizeof(int16_t));
        if (iy >= 0 && iy < p->h && lo < hi)
            B1S_WIDEN(r + (size_t)lo * p->c,
                      x + ((size_t)(n * p->h + iy) * p->w + (lo - p->pad_left)) * p->c,
                      (hi - lo) * p->c, (int16_t)p->x_zero_point);
    }
}

/* The int16 weight pair of tap t (ky * pairs + pair), channel o of a pass, from w. */
CNNC_INLINE void b1s_widen(const cnnc_b1_s8conv_params *p, const int8_t *w, int32_t c0, int32_t nc,
                           int16_t *wv) {
    const int32_t taps = p->kernel_h * CNNC_B1_S8CONV_PAIRS(p);
    const int32_t oc16 = CNNC_B1_S8CONV_OC16(p->out_c);
    int32_t t, i;
    for (t = 0; t < taps; ++t)
        for (i = 0; i < 2 * nc; ++i)
            wv[(size_t)t * 2 * B1S_GROUP + i] = w[((size_t)t * oc16 + c0) * 2 + i];
}

#endif /* CNNC_B1_S8CONV_H */
