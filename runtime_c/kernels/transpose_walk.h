/* The one transpose walk, shared by cnnc_f32_transpose__ref and cnnc_s8_transpose__ref
 * (the element type is all they differ in). Walks y in row-major order, a plane of its last
 * two axes at a time (CNNC_TRANSPOSE_COPY).
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

/* Moves from the start of one block of y (row-major; the caller copies y's axes past
 * `last` itself) to the start of the next: an odometer over y's axes last, last - 1, ...,
 * 0, advancing the matching x offset by x's stride along each permuted axis. */
CNNC_INLINE void cnnc_transpose_walk_next(cnnc_transpose_walk *t, int32_t last) {
    int32_t a;
    for (a = last; a >= 0; --a) {
        t->src += t->step[a];
        if (++t->idx[a] < t->out_shape[a]) return;
        t->src -= t->step[a] * (size_t)t->out_shape[a];
        t->idx[a] = 0;
    }
}

/* The body of cnnc_<f32|s8>_transpose__ref for elements of type T: y in row-major order,
 * a plane of y's last two axes at a time (the odometer steps once a plane), the inner
 * loop along the longer of the two, so that a channels-last copy of a 3-channel image
 * reads runs of a whole image row of x, not 3 elements an odometer step. */
#define CNNC_TRANSPOSE_COPY(T, p, x, y)                                                   \
    do {                                                                                  \
        cnnc_transpose_walk t_;                                                           \
        size_t i_, r_, j_, run_, rows_, s_col_, s_row_;                                   \
        cnnc_transpose_walk_init(&t_, (p)->rank, (p)->in_shape, (p)->perm);               \
        run_ = (size_t)t_.out_shape[t_.rank - 1]; /* y's rows: x elements s_col_ apart */ \
        s_col_ = t_.step[t_.rank - 1];                                                    \
        rows_ = t_.rank >= 2 ? (size_t)t_.out_shape[t_.rank - 2] : 1; /* s_row_ apart */  \
        s_row_ = t_.rank >= 2 ? t_.step[t_.rank - 2] : 0;                                 \
        for (i_ = 0; i_ < t_.total; i_ += rows_ * run_) {                                 \
            const T *xp_ = (x) + t_.src;                                                  \
            T *yp_ = (y) + i_;                                                            \
            if (run_ >= rows_)                                                            \
                for (r_ = 0; r_ < rows_; ++r_)                                            \
                    for (j_ = 0; j_ < run_; ++j_)                                         \
                        yp_[r_ * run_ + j_] = xp_[r_ * s_row_ + j_ * s_col_];             \
            else                                                                          \
                for (j_ = 0; j_ < run_; ++j_)                                             \
                    for (r_ = 0; r_ < rows_; ++r_)                                        \
                        yp_[r_ * run_ + j_] = xp_[r_ * s_row_ + j_ * s_col_];             \
            cnnc_transpose_walk_next(&t_, t_.rank - 3);                                   \
        }                                                                                 \
    } while (0)

#endif /* CNNC_TRANSPOSE_WALK_H */
