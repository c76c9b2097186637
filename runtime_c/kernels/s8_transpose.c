/* int8 transpose (data movement only, scale and zero point unchanged); params in cnnc_s8.h. */
#include "cnnc_s8.h"

void cnnc_s8_transpose__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int8_t *y) {
    int32_t in_stride[6], out_shape[6], idx[6] = {0, 0, 0, 0, 0, 0};
    int32_t i, d;
    size_t total = 1, k;
    in_stride[p->rank - 1] = 1;
    for (d = p->rank - 2; d >= 0; --d) in_stride[d] = in_stride[d + 1] * p->in_shape[d + 1];
    for (d = 0; d < p->rank; ++d) {
        out_shape[d] = p->in_shape[p->perm[d]];
        total *= (size_t)out_shape[d];
    }
    /* walk y in row-major order; idx is y's multi-index, odometer style */
    for (k = 0; k < total; ++k) {
        size_t src = 0;
        for (d = 0; d < p->rank; ++d) src += (size_t)idx[d] * in_stride[p->perm[d]];
        y[k] = x[src];
        for (i = p->rank - 1; i >= 0; --i) {
            if (++idx[i] < out_shape[i]) break;
            idx[i] = 0;
        }
    }
}
