/* int8 transpose (data movement only, scale and zero point unchanged); params in cnnc_s8.h.
 * The walk is transpose_walk.h's, shared with cnnc_f32_transpose__ref. */
#include "cnnc_s8.h"
#include "transpose_walk.h"

void cnnc_s8_transpose__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int8_t *y) {
    cnnc_transpose_walk t;
    size_t k;
    cnnc_transpose_walk_init(&t, p->rank, p->in_shape, p->perm);
    for (k = 0; k < t.total; ++k) {
        y[k] = x[t.src];
        cnnc_transpose_walk_next(&t);
    }
}
