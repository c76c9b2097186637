/* int8 transpose (data movement only, scale and zero point unchanged); params in cnnc_s8.h.
 * The walk is transpose_walk.h's, shared with cnnc_f32_transpose__ref. */
#include "cnnc_s8.h"
#include "transpose_walk.h"

void cnnc_s8_transpose__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int8_t *y) {
    CNNC_TRANSPOSE_COPY(int8_t, p, x, y);
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
