/* The one transpose walk, shared by cnnc_f32_transpose__ref and cnnc_s8_transpose__ref
 * (the element type is all they differ in). Walks y in row-major order, one row (y's last
 * axis, x elements step[rank - 1] apart) at a time.
 * Ranges: 1 <= rank <= 6, perm a permutation of [0, rank). Private to the kernels. */
#ifndef CNNC_TRANSPOSE_WALK_H
#define CNNC_TRANSPOSE_WALK_H

#include <string.h>

#include "cnnc.h"

typedef struct {
    int32_t rank;
    int32_t out_shape[6]; /* y's shape: in_shape[perm[a]] */
    int32_t idx[6];       /* y's multi-index of the current element */
    size_t step[6];       /* x's element stride along y's axis a */
    size_t src;           /* x's offset of the current element */
    size_t total;         /* elements of x and y */
} cnnc_transpose_walk;

CNNC_INLINE void cnnc_transpose_walk_init(cnnc_transpose_walk *t, int32_t rank,
                                          const int32_t *in_shape, const int32_t *perm) {
    size_t in_stride[6]; /* x's element stride per x axis */
    int32_t a;
    memset(t, 0, sizeof *t);
    t->rank = rank;
    t->total = 1;
    t->src = 0;
    for (a = rank - 1; a >= 0; --a) {
        in_stride[a] = t->total;
        t->total *= (size_t)in_shape[a];
    }
    for (a = 0; a < rank; ++a) {
        t->out_shape[a] = in_shape[perm[a]];
        t->step[a] = in_stride[perm[a]];
        t->idx[a] = 0;
    }
}

/* Moves from the start of one row of y (row-major; the caller copies the row, its last
 * axis, itself) to the start of the next: an odometer over y's other axes, advancing the
 * matching x offset by x's stride along each permuted axis. */
CNNC_INLINE void cnnc_transpose_walk_next_row(cnnc_transpose_walk *t) {
    int32_t a;
    for (a = t->rank - 2; a >= 0; --a) {
        t->src += t->step[a];
        if (++t->idx[a] < t->out_shape[a]) return;
        t->src -= t->step[a] * (size_t)t->out_shape[a];
        t->idx[a] = 0;
    }
}

#endif /* CNNC_TRANSPOSE_WALK_H */
