/* The int8 conv with sign-bit outputs (cnnc_b1.h): the portable kernel every variant must
 * equal bit for bit. */
#include "cnnc_b1.h"

#define B1S_CHUNK 64 /* output channels accumulated at once */

void cnnc_b1_s8conv_bits__ref(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                              const int8_t *CNNC_RESTRICT w,
                              const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    const int32_t pairs = CNNC_B1_S8CONV_PAIRS(p), oc16 = CNNC_B1_S8CONV_OC16(p->out_c);
    const int32_t run = p->kernel_w * p->c; /* values one kernel row reads */
    const int32_t yw = CNNC_B1_WORDS(p->out_c);
    int32_t n, oy, ox;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * yw;
                int32_t c0, j;
                for (j = 0; j < yw; ++j) out[j] = 0u; /* tail bits stay 0 */
                for (c0 = 0; c0 < p->out_c; c0 += B1S_CHUNK) {
                    const int32_t nc = p->out_c - c0 < B1S_CHUNK ? p->out_c - c0 : B1S_CHUNK;
                    int32_t acc[B1S_CHUNK], ky, q, o;
                    for (o = 0; o < nc; ++o) acc[o] = 0;
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        const int32_t ix0 = ox * p->stride_w - p->pad_left;
                        if (iy < 0 || iy >= p->h) continue; /* padded taps contribute 0 */
                        for (q = 0; q < run; ++q) {
                            const int32_t ix = ix0 + q / p->c;
                            const int8_t *wq =
                                w + (((size_t)ky * pairs + q / 2) * oc16 + c0) * 2 + q % 2;
                            int32_t v;
                            if (ix < 0 || ix >= p->w) continue;
                            v = x[((size_t)(n * p->h + iy) * p->w + ix) * p->c + q % p->c] -
                                p->x_zero_point;
                            /* |v| <= 255, |w| <= 128: the sum is bounded as cnnc_b1.h says */
                            for (o = 0; o < nc; ++o) acc[o] += v * wq[2 * o];
                        }
                    }
                    for (o = 0; o < nc; ++o)
                        if (acc[o] < thresholds[c0 + o])
                            out[(c0 + o) / CNNC_B1_BITS] |= 1u << ((c0 + o) % CNNC_B1_BITS);
                }
            }
}
