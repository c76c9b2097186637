/* int8 add of two activations where b broadcasts against a (x + per-channel or per-pixel
 * activation); params in cnnc_s8.h. Per element the arithmetic of cnnc_s8_add__ref. */
#include "cnnc_s8.h"

/* Overflow: as cnnc_s8_add__ref, (a - a_zp) << 20 < 2^28 and the input multipliers are
 * <= 1/2, so a' + b' fits int32. */
static int8_t add_one(const cnnc_s8_add_broadcast_params *p, int32_t a, int32_t b) {
    int32_t v;
    if (p->rounding == CNNC_ROUND_ONNXRUNTIME) { /* QLinearAdd: float32, no FMA */
        const float va = (float)(a - p->a_zero_point) * cnnc_f32_from_bits(p->a_mult);
        const float vb = (float)(b - p->b_zero_point) * cnnc_f32_from_bits(p->b_mult);
        v = cnnc_rne_f32(va + vb) + p->y_zero_point;
        v = v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
        return (int8_t)v;
    }
    {
        const int32_t scale = (int32_t)1 << p->left_shift;
        const int32_t as =
            cnnc_requant((a - p->a_zero_point) * scale, p->a_mult, p->a_shift, p->rounding);
        const int32_t bs =
            cnnc_requant((b - p->b_zero_point) * scale, p->b_mult, p->b_shift, p->rounding);
        return cnnc_requant_s8(as + bs, p->y_mult, p->y_shift, p->rounding, p->y_zero_point,
                               p->act_min, p->act_max);
    }
}

void cnnc_s8_add_broadcast__ref(const cnnc_s8_add_broadcast_params *p, const int8_t *a,
                                const int8_t *b, int8_t *y) {
    int32_t r, i;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *ar = a + (size_t)r * p->cols;         /* [cols] */
        const int8_t *br = b + (size_t)r * p->b_row_stride; /* [cols] with col stride */
        int8_t *yr = y + (size_t)r * p->cols;               /* [cols] */
        for (i = 0; i < p->cols; ++i) {
            yr[i] = add_one(p, ar[i], br[(size_t)i * p->b_col_stride]);
        }
    }
}
