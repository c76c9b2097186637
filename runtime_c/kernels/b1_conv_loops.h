/* Loops shared by the binary conv kernels of every ISA (b1_conv.c: __ref, b1_conv_<isa>.c:
 * __avx2, __avx512, __avx512vpopcnt, __neon). Each variant differs only in the functions
 * that popcount runs of XORed words (one filter, or a window's runs for B1_FILTERS
 * filters against the same input words), passed as constants and inlined by the compiler, so every
 * variant visits taps in the same order and computes identical dots (integer sums of popcounts,
 * exact in any order). Private to the b1 kernels (not a public header). */
#ifndef CNNC_B1_CONV_LOOPS_H
#define CNNC_B1_CONV_LOOPS_H

#include "cnnc_b1.h"

/* sum over j < n of popcount(a[j] XOR b[j]) */
typedef int32_t (*b1_run_popcount_fn)(const uint32_t *a, const uint32_t *b, int32_t n);

/* Output channels whose popcounts one pass computes against the same input run. */
#define B1_FILTERS 4

/* nbits (1..32) bits of a packed row starting at bit `bit`, higher bits cleared. Reads the
 * next word only when the window crosses into it, so it never reads past the row. */
CNNC_INLINE uint32_t b1_window(const uint32_t *row, int32_t bit, int32_t nbits) {
    const int32_t word = bit / CNNC_B1_BITS;
    const int32_t shift = bit % CNNC_B1_BITS;
    uint32_t v = row[word] >> shift;
    if (shift != 0 && shift + nbits > CNNC_B1_BITS) v |= row[word + 1] << (CNNC_B1_BITS - shift);
    return nbits == CNNC_B1_BITS ? v : v & ((1u << nbits) - 1u);
}

/* popcount(a XOR w) over one tap: `cg` channels of the input pixel starting at channel c0
 * against the tap's packed weights (bit 0 aligned). Bounded by cg. */
CNNC_INLINE int32_t b1_tap_xor_popcount(const uint32_t *xpix, int32_t c0, int32_t cg,
                                        const uint32_t *wtap) {
    const int32_t nw = CNNC_B1_WORDS(cg);
    int32_t j, acc = 0;
    if (c0 == 0) {
        /* groups == 1 (or the first group): words aligned; bits past cg are 0 in the
         * weights but may belong to the next group in the input, so mask the last word */
        for (j = 0; j + 1 < nw; ++j) acc += CNNC_B1_POPCOUNT32(xpix[j] ^ wtap[j]);
        {
            const int32_t tail = cg - (nw - 1) * CNNC_B1_BITS;
            const uint32_t mask = tail == CNNC_B1_BITS ? 0xFFFFFFFFu : (1u << tail) - 1u;
            acc += CNNC_B1_POPCOUNT32((xpix[nw - 1] ^ wtap[nw - 1]) & mask);
        }
        return acc;
    }
    for (j = 0; j < nw; ++j) {
        const int32_t left = cg - j * CNNC_B1_BITS;
        const int32_t nbits = left > CNNC_B1_BITS ? CNNC_B1_BITS : left;
        acc += CNNC_B1_POPCOUNT32(b1_window(xpix, c0 + j * CNNC_B1_BITS, nbits) ^ wtap[j]);
    }
    return acc;
}

/* Popcount of one tap's weights alone: the XOR with a +1 (all-zero) padded input. */
CNNC_INLINE int32_t b1_tap_popcount(const uint32_t *wtap, int32_t cg) {
    int32_t j, acc = 0;
    for (j = 0; j < CNNC_B1_WORDS(cg); ++j) acc += CNNC_B1_POPCOUNT32(wtap[j]);
    return acc;
}

/* groups == 1, zero padding: the valid taps of one kernel row are adjacent pixels, and
 * a pixel's packed words sit right after the previous pixel's in both the input and the
 * weights, so each kernel row is one run of (valid taps) * WORDS(in_c) words. XOR of the
 * zero tail bits is 0, so whole words are compared. The window depends on the output
 * pixel only, so the loops compute it once for all output channels. */
typedef struct {
    const uint32_t *x; /* input words of the window's first valid tap */
    size_t x_row;      /* words from one input row to the next */
    int32_t w_off;     /* words from a filter's start to its first valid tap */
    int32_t w_row;     /* words from one kernel row to the next */
    int32_t rows, run; /* valid kernel rows; words per row run */
    int32_t k;         /* valid taps * in_c: the dot's K */
} b1_conv_window;

CNNC_INLINE b1_conv_window b1_window_at(const cnnc_b1_conv_params *p, const uint32_t *x, int32_t n,
                                        int32_t oy, int32_t ox) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    const int32_t ky0 = y0 < 0 ? -y0 : 0, kx0 = x0 < 0 ? -x0 : 0;
    const int32_t ky1 = p->h - y0 < p->kernel_h ? p->h - y0 : p->kernel_h;
    const int32_t kx1 = p->w - x0 < p->kernel_w ? p->w - x0 : p->kernel_w;
    b1_conv_window win;
    win.x = x + ((size_t)(n * p->h + y0 + ky0) * p->w + x0 + kx0) * xw;
    win.x_row = (size_t)p->w * xw;
    win.w_off = (ky0 * p->kernel_w + kx0) * xw;
    win.w_row = p->kernel_w * xw;
    win.rows = ky1 - ky0;
    win.run = (kx1 - kx0) * xw;
    win.k = win.rows * (kx1 - kx0) * p->c;
    return win;
}

/* The dot of one filter (wf: [kernel_h, kernel_w, WORDS(in_c)]) over a window. */
CNNC_INLINE int32_t b1_window_dot(const b1_conv_window *win, const uint32_t *wf,
                                  b1_run_popcount_fn run_popcount) {
    const uint32_t *xr = win->x, *wr = wf + win->w_off;
    int32_t r, acc = 0;
    for (r = 0; r < win->rows; ++r, xr += win->x_row, wr += win->w_row)
        acc += run_popcount(xr, wr, win->run);
    return win->k - 2 * acc;
}

/* The dot of output (n, oy, ox, co). Overflow: |dot| <= kernel_h*kernel_w*in_c/groups,
 * far below 2^31 for any layer that fits in memory; acc and k are bounded the same way. */
CNNC_INLINE int32_t b1_conv_dot(const cnnc_b1_conv_params *p, const uint32_t *x, const uint32_t *w,
                                int32_t n, int32_t oy, int32_t ox, int32_t co,
                                b1_run_popcount_fn run_popcount) {
    const int32_t cg = p->c / p->groups;
    const int32_t c0 = (co / (p->out_c / p->groups)) * cg; /* first input channel of group */
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const int32_t ww = CNNC_B1_WORDS(cg);
    int32_t ky, kx, acc = 0, k = 0;
    if (p->groups == 1 && !p->pad_one) {
        const b1_conv_window win = b1_window_at(p, x, n, oy, ox);
        return b1_window_dot(&win, w + (size_t)co * p->kernel_h * p->kernel_w * xw, run_popcount);
    }
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
            const uint32_t *wtap = w + ((size_t)(co * p->kernel_h + ky) * p->kernel_w + kx) * ww;
            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
                if (p->pad_one) {
                    acc += b1_tap_popcount(wtap, cg);
                    k += cg;
                }
                continue; /* zero padding: the tap contributes 0 and is not counted in K */
            }
            {
                const uint32_t *xpix = x + ((size_t)(n * p->h + iy) * p->w + ix) * xw;
                acc += b1_tap_xor_popcount(xpix, c0, cg, wtap);
                k += cg;
            }
        }
    }
    return k - 2 * acc;
}

/* acc[f] = popcount of the window's runs XOR filter f's, f < B1_FILTERS: over rows r <
 * win->rows, words j < win->run of win->x + r * win->x_row against
 * w + f * w_stride + r * win->w_row (w: the first filter's first valid tap). The input
 * words are loaded once for all filters. */
typedef void (*b1_window_popcount4_fn)(const b1_conv_window *win, const uint32_t *w,
                                       size_t w_stride, int32_t *acc);

/* The dots of filters co .. co + B1_FILTERS - 1 (wf: filter co) over a window.
 * Overflow: as b1_conv_dot. */
CNNC_INLINE void b1_window_dot4(const b1_conv_window *win, const uint32_t *wf, size_t filter,
                                b1_window_popcount4_fn window_popcount4, int32_t *dot) {
    int32_t f, acc[B1_FILTERS];
    window_popcount4(win, wf + win->w_off, filter, acc);
    for (f = 0; f < B1_FILTERS; ++f) dot[f] = win->k - 2 * acc[f];
}

/* The bits kernel's loops; each ISA variant passes its own run popcount, and optionally
 * (non-NULL) a window popcount for B1_FILTERS filters at once, used where groups == 1 with zero
 * padding for every full block of B1_FILTERS output channels. */
CNNC_INLINE void b1_conv_bits_loops(const cnnc_b1_conv_params *p, const uint32_t *x,
                                    const uint32_t *w, const int32_t *thresholds, uint32_t *y,
                                    b1_run_popcount_fn run_popcount,
                                    b1_window_popcount4_fn window_popcount4) {
    const int32_t yw = CNNC_B1_WORDS(p->out_c);
    const size_t filter = (size_t)p->kernel_h * p->kernel_w * CNNC_B1_WORDS(p->c);
    int32_t n, oy, ox, co;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * yw;
                int32_t j;
                for (j = 0; j < yw; ++j) out[j] = 0u; /* tail bits stay 0 */
                if (p->groups == 1 && !p->pad_one) {
                    const b1_conv_window win = b1_window_at(p, x, n, oy, ox);
                    co = 0;
                    if (window_popcount4 != NULL)
                        for (; co + B1_FILTERS <= p->out_c; co += B1_FILTERS) {
                            int32_t dot[B1_FILTERS], f;
                            b1_window_dot4(&win, w + co * filter, filter, window_popcount4, dot);
                            for (f = 0; f < B1_FILTERS; ++f)
                                if (dot[f] < thresholds[co + f])
                                    out[(co + f) / CNNC_B1_BITS] |= 1u << ((co + f) % 32);
                        }
                    for (; co < p->out_c; ++co) {
                        const int32_t dot = b1_window_dot(&win, w + co * filter, run_popcount);
                        if (dot < thresholds[co]) out[co / CNNC_B1_BITS] |= 1u << (co % 32);
                    }
                    continue;
                }
                for (co = 0; co < p->out_c; ++co) {
                    const int32_t dot = b1_conv_dot(p, x, w, n, oy, ox, co, run_popcount);
                    if (dot < thresholds[co]) out[co / CNNC_B1_BITS] |= 1u << (co % 32);
                }
            }
}

/* The binary dense layer's bits output on an ISA's popcounts, bit-exact to
 * cnnc_b1_dense_bits__ref: a dense layer is one window of one run (the sample's WORDS(K)
 * words, compared whole: the zero tail bits of x and w XOR to 0), so blocks of
 * B1_FILTERS outputs go through window_popcount4 and the rest through run_popcount.
 * Overflow: |dot| <= K. */
CNNC_INLINE void b1_dense_bits_loops(const cnnc_b1_dense_params *p, const uint32_t *x,
                                     const uint32_t *w, const int32_t *thresholds, uint32_t *y,
                                     b1_run_popcount_fn run_popcount,
                                     b1_window_popcount4_fn window_popcount4) {
    const int32_t kw = CNNC_B1_WORDS(p->k), yw = CNNC_B1_WORDS(p->m);
    int32_t n, m, j, f;
    for (n = 0; n < p->n; ++n) {
        uint32_t *out = y + (size_t)n * yw; /* [WORDS(M)] */
        b1_conv_window win;
        win.x = x + (size_t)n * kw;
        win.x_row = 0;
        win.w_off = 0;
        win.w_row = 0;
        win.rows = 1;
        win.run = kw;
        win.k = p->k;
        for (j = 0; j < yw; ++j) out[j] = 0u; /* tail bits stay 0 */
        for (m = 0; m + B1_FILTERS <= p->m; m += B1_FILTERS) {
            int32_t dot[B1_FILTERS];
            b1_window_dot4(&win, w + (size_t)m * kw, (size_t)kw, window_popcount4, dot);
            for (f = 0; f < B1_FILTERS; ++f)
                if (dot[f] < thresholds[m + f]) out[(m + f) / CNNC_B1_BITS] |= 1u << ((m + f) % 32);
        }
        for (; m < p->m; ++m)
            if (p->k - 2 * run_popcount(win.x, w + (size_t)m * kw, kw) < thresholds[m])
                out[m / CNNC_B1_BITS] |= 1u << (m % CNNC_B1_BITS);
    }
}

#endif /* CNNC_B1_CONV_LOOPS_H */
