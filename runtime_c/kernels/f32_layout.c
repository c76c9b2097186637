/* float32 data movement and normalisation: concat, softmax, transpose. */
#include "cnnc_f32.h"
#include "transpose_walk.h"

void cnnc_f32_concat__ref(const cnnc_f32_concat_params *p, const float *CNNC_RESTRICT x,
                          float *CNNC_RESTRICT y) {
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const float *xo = x + (size_t)o * p->c_in;          /* [ci] */
        float *yo = y + (size_t)o * p->c_out + p->c_offset; /* [ci] slice of [co] */
        for (i = 0; i < p->c_in; ++i) yo[i] = xo[i];
    }
}

void cnnc_f32_slice__ref(const cnnc_f32_slice_params *p, const float *CNNC_RESTRICT x,
                         float *CNNC_RESTRICT y) {
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const float *xo = x + (size_t)o * p->c_in + p->c_offset; /* [c_out] slice of [c_in] */
        float *yo = y + (size_t)o * p->c_out;
        for (i = 0; i < p->c_out; ++i) yo[i] = xo[i];
    }
}

/* Subtracting the row maximum keeps exp's argument <= 0, so no overflow; the sum
 * is >= 1 (the maximum's term), so the division is safe. exp is cnnc_expf (cnnc_math.h),
 * mirrored bit for bit by cnnc.ops.fmath.expf. */
void cnnc_f32_softmax__ref(const cnnc_f32_softmax_params *p, const float *x, float *y) {
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const float *xo = x + (size_t)o * p->c; /* [C] */
        float *yo = y + (size_t)o * p->c;       /* [C] */
        float max = xo[0], sum = 0.0f;
        for (i = 1; i < p->c; ++i) max = xo[i] > max ? xo[i] : max;
        for (i = 0; i < p->c; ++i) {
            yo[i] = cnnc_expf(xo[i] - max);
            sum += yo[i];
        }
        for (i = 0; i < p->c; ++i) yo[i] /= sum;
    }
}

/* The walk is transpose_walk.h's, shared with cnnc_s8_transpose__ref. */
void cnnc_f32_transpose__ref(const cnnc_f32_transpose_params *p, const float *CNNC_RESTRICT x,
                             float *CNNC_RESTRICT y) {
    CNNC_TRANSPOSE_COPY(float, p, x, y);
}
