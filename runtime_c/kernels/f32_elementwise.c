/* float32 elementwise kernels: add, mul, scale_shift, standalone activation, sign, hard_sigmoid.
 * All allow the output to alias an input (in-place planning relies on it), so no
 * pointer here is restrict. */
#include "cnnc_f32.h"

void cnnc_f32_add__ref(const cnnc_f32_binary_params *p, const float *a, const float *b, float *y) {
    int32_t r, i;
    if (p->b_col_stride == 1 && p->act.kind == CNNC_ACT_NONE) {
        /* the residual add: one rounding per element whatever the loop shape, so the loop
         * the compiler vectorises gives the same floats */
        for (r = 0; r < p->rows; ++r) {
            const float *ar = a + (size_t)r * p->cols;
            const float *br = b + (size_t)r * p->b_row_stride;
            float *yr = y + (size_t)r * p->cols;
            for (i = 0; i < p->cols; ++i) yr[i] = ar[i] + br[i];
        }
        return;
    }
    for (r = 0; r < p->rows; ++r) {
        const float *ar = a + (size_t)r * p->cols;         /* [cols] */
        const float *br = b + (size_t)r * p->b_row_stride; /* [cols] with col stride */
        float *yr = y + (size_t)r * p->cols;               /* [cols] */
        for (i = 0; i < p->cols; ++i) {
            yr[i] = cnnc_f32_apply_act(&p->act, ar[i] + br[(size_t)i * p->b_col_stride]);
        }
    }
}

void cnnc_f32_mul__ref(const cnnc_f32_binary_params *p, const float *a, const float *b, float *y) {
    int32_t r, i;
    for (r = 0; r < p->rows; ++r) {
        const float *ar = a + (size_t)r * p->cols;
        const float *br = b + (size_t)r * p->b_row_stride;
        float *yr = y + (size_t)r * p->cols;
        for (i = 0; i < p->cols; ++i) {
            yr[i] = cnnc_f32_apply_act(&p->act, ar[i] * br[(size_t)i * p->b_col_stride]);
        }
    }
}

void cnnc_f32_scale_shift__ref(const cnnc_f32_scale_shift_params *p, const float *x,
                               const float *scale, const float *shift, float *y) {
    int32_t r, c;
    for (r = 0; r < p->rows; ++r) {
        const float *xr = x + (size_t)r * p->c; /* [C] */
        float *yr = y + (size_t)r * p->c;       /* [C] */
        for (c = 0; c < p->c; ++c) yr[c] = cnnc_f32_apply_act(&p->act, xr[c] * scale[c] + shift[c]);
    }
}

void cnnc_f32_act__ref(const cnnc_f32_act_params *p, const float *x, float *y) {
    int32_t i;
    for (i = 0; i < p->size; ++i) y[i] = cnnc_f32_apply_act(&p->act, x[i]);
}

void cnnc_f32_sign__ref(const cnnc_f32_sign_params *p, const float *x, float *y) {
    int32_t i;
    for (i = 0; i < p->size; ++i) y[i] = x[i] >= 0.0f ? 1.0f : -1.0f;
}

void cnnc_f32_hard_sigmoid__ref(const cnnc_f32_hard_sigmoid_params *p, const float *x, float *y) {
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const float v = p->alpha * x[i] + p->beta; /* two roundings: built without FMA */
        y[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
}
