/* Binary conv2d and dense: dot = K_valid - 2 * popcount(a XOR w), then an output transform.
 * The compiler (cnnc/binarize.py) folds alpha, BN and sign into the transform parameters;
 * the NumPy mirror is cnnc/binary_ops.py. */
#include "b1_conv_loops.h"
#include "cnnc_s8.h"

void cnnc_b1_conv_dot__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, int32_t *CNNC_RESTRICT y) {
    int32_t n, oy, ox, co;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                int32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (co = 0; co < p->out_c; ++co)
                    out[co] = b1_conv_dot(p, x, w, n, oy, ox, co, cnnc_b1_xor_popcount);
            }
}

void cnnc_b1_conv_bits__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w,
                            const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    b1_conv_bits_loops(p, x, w, thresholds, y, cnnc_b1_xor_popcount, NULL);
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
                           const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    int32_t n, oy, ox, co;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                float *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (co = 0; co < p->out_c; ++co) {
                    const int32_t dot = b1_conv_dot(p, x, w, n, oy, ox, co, cnnc_b1_xor_popcount);
                    out[co] = b1_f32_out(dot, multiplier[co], bias[co], p->act_min, p->act_max);
                }
            }
}

void cnnc_b1_conv_s8__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                          const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                          const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y) {
    cnnc_s8_quant_params q;
    int32_t n, oy, ox, co;
    q.size = 1;
    q.scale = p->out_scale;
    q.zero_point = p->out_zero_point;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (co = 0; co < p->out_c; ++co) {
                    const int32_t dot = b1_conv_dot(p, x, w, n, oy, ox, co, cnnc_b1_xor_popcount);
                    const float v =
                        b1_f32_out(dot, multiplier[co], bias[co], p->act_min, p->act_max);
                    /* the int8 model boundary's own rounding, so fusing changes no bit */
                    cnnc_s8_quantize__ref(&q, &v, out + co);
                }
            }
}

/* Dense: K inputs, all valid. |dot| <= K. */
CNNC_INLINE int32_t b1_dense_dot(const cnnc_b1_dense_params *p, const uint32_t *x,
                                 const uint32_t *w, int32_t n, int32_t m) {
    const int32_t kw = CNNC_B1_WORDS(p->k);
    return p->k - 2 * b1_tap_xor_popcount(x + (size_t)n * kw, 0, p->k, w + (size_t)m * kw);
}

void cnnc_b1_dense_bits__ref(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                             const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    const int32_t yw = CNNC_B1_WORDS(p->m);
    int32_t n, m, j;
    for (n = 0; n < p->n; ++n) {
        uint32_t *out = y + (size_t)n * yw; /* [WORDS(M)] */
        for (j = 0; j < yw; ++j) out[j] = 0u;
        for (m = 0; m < p->m; ++m)
            if (b1_dense_dot(p, x, w, n, m) < thresholds[m])
                out[m / CNNC_B1_BITS] |= 1u << (m % CNNC_B1_BITS);
    }
}

void cnnc_b1_dense_f32__ref(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                            const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    int32_t n, m;
    for (n = 0; n < p->n; ++n)
        for (m = 0; m < p->m; ++m)
            y[(size_t)n * p->m + m] = b1_f32_out(b1_dense_dot(p, x, w, n, m), multiplier[m],
                                                 bias[m], p->act_min, p->act_max);
}
