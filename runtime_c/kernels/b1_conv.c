/* Binary conv2d and dense: dot = K_valid - 2 * popcount(a XOR w), then an output transform.
 * The compiler (cnnc/binarize.py) folds alpha, BN and sign into the transform parameters;
 * the NumPy mirror is cnnc/binary_ops.py. */
#include "cnnc_b1.h"

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

/* The dot of output (n, oy, ox, co). Overflow: |dot| <= kernel_h*kernel_w*in_c/groups,
 * far below 2^31 for any layer that fits in memory; acc and k are bounded the same way. */
CNNC_INLINE int32_t b1_conv_dot(const cnnc_b1_conv_params *p, const uint32_t *x,
                                const uint32_t *w, int32_t n, int32_t oy, int32_t ox,
                                int32_t co) {
    const int32_t cg = p->in_c / p->groups;
    const int32_t c0 = (co / (p->out_c / p->groups)) * cg; /* first input channel of group */
    const int32_t xw = CNNC_B1_WORDS(p->in_c);
    const int32_t ww = CNNC_B1_WORDS(cg);
    int32_t ky, kx, acc = 0, k = 0;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
            const uint32_t *wtap = w + ((size_t)(co * p->kernel_h + ky) * p->kernel_w + kx) * ww;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                if (p->pad_one) {
                    acc += b1_tap_popcount(wtap, cg);
                    k += cg;
                }
                continue; /* zero padding: the tap contributes 0 and is not counted in K */
            }
            {
                const uint32_t *xpix = x + ((size_t)(n * p->in_h + iy) * p->in_w + ix) * xw;
                acc += b1_tap_xor_popcount(xpix, c0, cg, wtap);
                k += cg;
            }
        }
    }
    return k - 2 * acc;
}

void cnnc_b1_conv_dot__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, int32_t *CNNC_RESTRICT y) {
    int32_t n, oy, ox, co;
    for (n = 0; n < p->batch; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                int32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (co = 0; co < p->out_c; ++co) out[co] = b1_conv_dot(p, x, w, n, oy, ox, co);
            }
}

void cnnc_b1_conv_bits__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w,
                            const int32_t *CNNC_RESTRICT thresholds,
                            uint32_t *CNNC_RESTRICT y) {
    const int32_t yw = CNNC_B1_WORDS(p->out_c);
    int32_t n, oy, ox, co;
    for (n = 0; n < p->batch; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * yw;
                int32_t j;
                for (j = 0; j < yw; ++j) out[j] = 0u; /* tail bits stay 0 */
                for (co = 0; co < p->out_c; ++co) {
                    const int32_t dot = b1_conv_dot(p, x, w, n, oy, ox, co);
                    if (dot < thresholds[co]) out[co / CNNC_B1_BITS] |= 1u << (co % CNNC_B1_BITS);
                }
            }
}

/* The float transform: one rounding for the product and one for the sum, the same two
 * float32 operations the NumPy mirror does (C99 without FP_CONTRACT does not fuse them). */
CNNC_INLINE float b1_f32_out(int32_t dot, float multiplier, float bias, float lo, float hi) {
    float v = (float)dot * multiplier;
    v = v + bias;
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return v;
}

void cnnc_b1_conv_f32__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                           const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y) {
    int32_t n, oy, ox, co;
    for (n = 0; n < p->batch; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                float *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (co = 0; co < p->out_c; ++co)
                    out[co] = b1_f32_out(b1_conv_dot(p, x, w, n, oy, ox, co), multiplier[co],
                                         bias[co], p->act_min, p->act_max);
            }
}

/* Dense: K inputs, all valid. |dot| <= K. */
CNNC_INLINE int32_t b1_dense_dot(const cnnc_b1_dense_params *p, const uint32_t *x,
                                 const uint32_t *w, int32_t n, int32_t m) {
    const int32_t kw = CNNC_B1_WORDS(p->in_k);
    return p->in_k - 2 * b1_tap_xor_popcount(x + (size_t)n * kw, 0, p->in_k, w + (size_t)m * kw);
}

void cnnc_b1_dense_bits__ref(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                            const int32_t *CNNC_RESTRICT thresholds,
                             uint32_t *CNNC_RESTRICT y) {
    const int32_t yw = CNNC_B1_WORDS(p->out_m);
    int32_t n, m, j;
    for (n = 0; n < p->batch; ++n) {
        uint32_t *out = y + (size_t)n * yw; /* [WORDS(M)] */
        for (j = 0; j < yw; ++j) out[j] = 0u;
        for (m = 0; m < p->out_m; ++m)
            if (b1_dense_dot(p, x, w, n, m) < thresholds[m])
                out[m / CNNC_B1_BITS] |= 1u << (m % CNNC_B1_BITS);
    }
}

void cnnc_b1_dense_f32__ref(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                           const float *CNNC_RESTRICT bias,
                            float *CNNC_RESTRICT y) {
    int32_t n, m;
    for (n = 0; n < p->batch; ++n)
        for (m = 0; m < p->out_m; ++m)
            y[(size_t)n * p->out_m + m] = b1_f32_out(b1_dense_dot(p, x, w, n, m), multiplier[m],
                                                      bias[m], p->act_min, p->act_max);
}
