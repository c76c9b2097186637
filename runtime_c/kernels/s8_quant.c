/* The int8 model boundary: float32 -> int8 and back; params in cnnc_s8.h. The only
 * floating-point code of an int8 model (absent with the int8-in/int8-out entry point). */
#include "cnnc_s8.h"

/* Round half to even without libm: after the clamp |v| <= 512, so the truncation and
 * v - t are exact in float32. Matches numpy.rint. */
CNNC_INLINE int32_t cnnc_round_half_even(float v) {
    const int32_t t = (int32_t)v; /* toward zero */
    const float frac = v - (float)t;
    if (frac > 0.5f || (frac == 0.5f && (t & 1))) return t + 1;
    if (frac < -0.5f || (frac == -0.5f && (t & 1))) return t - 1;
    return t;
}

void cnnc_s8_quantize__ref(const cnnc_s8_quant_params *p, const float *x, int8_t *y) {
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        float v = x[i] / p->scale;
        int32_t q;
        if (v != v) v = 0.0f; /* NaN */
        v = v < -512.0f ? -512.0f : (v > 512.0f ? 512.0f : v);
        q = cnnc_round_half_even(v) + p->zero_point;
        y[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
    }
}

void cnnc_s8_dequantize__ref(const cnnc_s8_quant_params *p, const int8_t *x, float *y) {
    int32_t i;
    for (i = 0; i < p->size; ++i) y[i] = (float)(x[i] - p->zero_point) * p->scale;
}
