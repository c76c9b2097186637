/* int8 elementwise add with two input scales (residual connections); params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* Overflow: |a - a_zp| <= 255, so (a - a_zp) << 20 < 2^28; the input multipliers are
 * <= 1/2, so |a'| + |b'| < 2^28 and the sum fits int32 with room to spare. */
void cnnc_s8_add__ref(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y) {
    const int32_t scale = (int32_t)1 << p->left_shift;
    int32_t i;
    if (p->rounding == CNNC_ROUND_ONNXRUNTIME) { /* QLinearAdd: float32, no FMA */
        const float ma = cnnc_f32_from_bits(p->a_mult), mb = cnnc_f32_from_bits(p->b_mult);
        for (i = 0; i < p->size; ++i) {
            const float va = (float)(a[i] - p->a_zero_point) * ma;
            const float vb = (float)(b[i] - p->b_zero_point) * mb;
            int32_t v = cnnc_rne_f32(va + vb) + p->y_zero_point;
            v = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
            y[i] = (int8_t)v;
        }
        return;
    }
    for (i = 0; i < p->size; ++i) {
        const int32_t as =
            cnnc_requant((a[i] - p->a_zero_point) * scale, p->a_mult, p->a_shift, p->rounding);
        const int32_t bs =
            cnnc_requant((b[i] - p->b_zero_point) * scale, p->b_mult, p->b_shift, p->rounding);
        y[i] = cnnc_requant_s8(as + bs, p->y_mult, p->y_shift, p->rounding, p->y_zero_point,
                               p->act_min, p->act_max);
    }
}
