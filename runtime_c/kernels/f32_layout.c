/* float32 data movement and normalisation: concat, softmax, transpose. */
#include "cnnc_f32.h"

void cnnc_f32_concat__ref(const cnnc_f32_concat_params *p, const float *CNNC_RESTRICT x,
                          float *CNNC_RESTRICT y) {
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const float *xo = x + (size_t)o * p->c_in;             /* [ci] */
        float *yo = y + (size_t)o * p->c_out + p->c_offset;       /* [ci] slice of [co] */
        for (i = 0; i < p->c_in; ++i) yo[i] = xo[i];
    }
}

/* Subtracting the row maximum keeps expf's argument <= 0, so no overflow; the sum
 * is >= 1 (the maximum's term), so the division is safe. */
void cnnc_f32_softmax__ref(const cnnc_f32_softmax_params *p, const float *x, float *y) {
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const float *xo = x + (size_t)o * p->c; /* [C] */
        float *yo = y + (size_t)o * p->c;       /* [C] */
        float max = xo[0], sum = 0.0f;
        for (i = 1; i < p->c; ++i) max = xo[i] > max ? xo[i] : max;
        for (i = 0; i < p->c; ++i) {
            yo[i] = expf(xo[i] - max);
            sum += yo[i];
        }
        for (i = 0; i < p->c; ++i) yo[i] /= sum;
    }
}

/* Walks y in row-major order with an odometer over its index, advancing the
 * matching x offset by x's stride along the permuted axis. */
void cnnc_f32_transpose__ref(const cnnc_f32_transpose_params *p, const float *CNNC_RESTRICT x,
                             float *CNNC_RESTRICT y) {
    size_t in_stride[CNNC_MAX_RANK]; /* x's element stride per x axis */
    size_t step[CNNC_MAX_RANK];      /* x stride along y's axis i */
    int32_t out_shape[CNNC_MAX_RANK];
    int32_t idx[CNNC_MAX_RANK] = {0};
    size_t total = 1, i, src = 0;
    int32_t a;
    for (a = p->rank - 1; a >= 0; --a) {
        in_stride[a] = total;
        total *= (size_t)p->in_shape[a];
    }
    for (a = 0; a < p->rank; ++a) {
        out_shape[a] = p->in_shape[p->perm[a]];
        step[a] = in_stride[p->perm[a]];
    }
    for (i = 0; i < total; ++i) {
        y[i] = x[src];
        for (a = p->rank - 1; a >= 0; --a) {
            src += step[a];
            if (++idx[a] < out_shape[a]) break;
            src -= step[a] * (size_t)out_shape[a];
            idx[a] = 0;
        }
    }
}
