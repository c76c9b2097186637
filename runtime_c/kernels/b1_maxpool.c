/* Binary max pooling on packed bits: the max of +-1 values is -1 only when all are -1,
 * i.e. (bit 1 = -1) the AND of the bits over the window's valid taps. Tail bits stay 0
 * because they are 0 in every input word. */
#include <string.h>

#include "cnnc_b1.h"

/* One output row of the 2x2 / 2 pool on pixels of nq 64-bit words (input rows a, b). */
CNNC_NOINLINE static void b1_maxpool_row64(const uint32_t *a, const uint32_t *b, uint32_t *out,
                                           int32_t out_w, int32_t nq) {
    int32_t o, q;
    for (o = 0; o < out_w; ++o, a += 4 * nq, b += 4 * nq, out += 2 * nq)
        for (q = 0; q < nq; ++q) {
            uint64_t v0, v1, v2, v3; /* scalars, not an array: kept in registers */
            CNNC_COPY(&v0, a + 2 * q, 8);
            CNNC_COPY(&v1, a + 2 * (nq + q), 8);
            CNNC_COPY(&v2, b + 2 * q, 8);
            CNNC_COPY(&v3, b + 2 * (nq + q), 8);
            v0 &= v1 & v2 & v3;
            CNNC_COPY(out + 2 * q, &v0, 8);
        }
}

void cnnc_b1_maxpool__ref(const cnnc_b1_maxpool_params *p, const uint32_t *CNNC_RESTRICT x,
                          uint32_t *CNNC_RESTRICT y) {
    const int32_t nw = CNNC_B1_WORDS(p->c);
    const int32_t tail = p->c - (nw - 1) * CNNC_B1_BITS;
    const uint32_t tail_mask = tail == CNNC_B1_BITS ? 0xFFFFFFFFu : (1u << tail) - 1u;
    int32_t n, oy, ox, ky, kx, j;
    if (p->kernel_h == 2 && p->kernel_w == 2 && p->stride_h == 2 && p->stride_w == 2 &&
        p->pad_top == 0 && p->pad_left == 0 && 2 * p->out_h <= p->h && 2 * p->out_w <= p->w) {
        /* the usual 2x2 / 2 pool without padding: every window inside, rows of words (64
           bits at a time where a pixel holds an even number of words) */
        const size_t row = (size_t)p->w * nw, px = (size_t)p->out_w * nw;
        for (n = 0; n < p->n; ++n)
            for (oy = 0; oy < p->out_h; ++oy) {
                const uint32_t *a = x + (size_t)(n * p->h + 2 * oy) * row;
                const uint32_t *b = a + row;
                uint32_t *out = y + (size_t)(n * p->out_h + oy) * px;
                if (nw % 2 == 0)
                    b1_maxpool_row64(a, b, out, p->out_w, nw / 2);
                else
                    for (ox = 0; ox < p->out_w; ++ox, a += 2 * nw, b += 2 * nw, out += nw)
                        for (j = 0; j < nw; ++j) out[j] = a[j] & a[nw + j] & b[j] & b[nw + j];
            }
        return;
    }
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * nw;
                const int32_t iy0 = oy * p->stride_h - p->pad_top;
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                if (p->kernel_h == 2 && p->kernel_w == 2 && iy0 >= 0 && iy0 + 1 < p->h &&
                    ix0 >= 0 && ix0 + 1 < p->w) {
                    /* the usual 2x2 window, inside: no per-tap checks (tails are 0 in x) */
                    const uint32_t *a = x + ((size_t)(n * p->h + iy0) * p->w + ix0) * nw;
                    const uint32_t *b = a + (size_t)p->w * nw;
                    for (j = 0; j < nw; ++j) out[j] = a[j] & a[nw + j] & b[j] & b[nw + j];
                    continue;
                }
                for (j = 0; j < nw; ++j) out[j] = 0xFFFFFFFFu;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                    if (iy < 0 || iy >= p->h) continue; /* -inf padding never wins */
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                        const uint32_t *pix;
                        if (ix < 0 || ix >= p->w) continue;
                        pix = x + ((size_t)(n * p->h + iy) * p->w + ix) * nw;
                        for (j = 0; j < nw; ++j) out[j] &= pix[j];
                    }
                }
                out[nw - 1] &= tail_mask; /* a window of padding only must not set tails */
            }
}
