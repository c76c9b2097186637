/* int8 transpose (data movement only, scale and zero point unchanged); params in cnnc_s8.h.
 * The walk is transpose_walk.h's, shared with cnnc_f32_transpose__ref. */
#include "cnnc_s8.h"
#include "transpose_walk.h"

void cnnc_s8_transpose__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int8_t *y) {
    cnnc_transpose_walk t;
    size_t k, j, run, step;
    cnnc_transpose_walk_init(&t, p->rank, p->in_shape, p->perm);
    run = (size_t)t.out_shape[t.rank - 1]; /* y's rows: x elements `step` apart */
    step = t.step[t.rank - 1];
    for (k = 0; k < t.total; k += run) {
        const int8_t *xr = x + t.src;
        for (j = 0; j < run; ++j) y[k + j] = xr[j * step];
        cnnc_transpose_walk_next_row(&t);
    }
}

void cnnc_s8_transpose_rows__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int32_t row0,
                                 int32_t rows, int8_t *y) {
    const int32_t c = p->in_shape[1], h = p->in_shape[2], w = p->in_shape[3];
    int32_t r, i, k;
    for (r = row0; r < row0 + rows; ++r) {
        for (i = 0; i < w; ++i) {
            for (k = 0; k < c; ++k) *y++ = x[((size_t)k * h + r) * w + i];
        }
    }
}
