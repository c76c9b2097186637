/* int8 transpose (data movement only, scale and zero point unchanged); params in cnnc_s8.h.
 * The walk is transpose_walk.h's, shared with cnnc_f32_transpose__ref. */
#include "cnnc_s8.h"
#include "transpose_walk.h"

/* NCHW -> NHWC of n images of c planes of hw pixels: a pixel's c channels in one turn,
 * three plane pointers for an RGB image (the walk's generic loop costs ~7 instructions a
 * byte there on a Cortex-M4, this one 3: the int8-io input transpose before the stem). */
static void s8_planes_to_pixels(const int8_t *x, int32_t n, int32_t c, size_t hw, int8_t *y) {
    size_t i;
    int32_t b, k;
    for (b = 0; b < n; ++b, x += (size_t)c * hw) {
#if !defined(__OPTIMIZE_SIZE__)
        if (c == 3) {
            const int8_t *x0 = x, *x1 = x + hw, *x2 = x + 2 * hw;
            for (i = 0; i < hw; ++i, y += 3) y[0] = x0[i], y[1] = x1[i], y[2] = x2[i];
            continue;
        }
#endif
        for (i = 0; i < hw; ++i)
            for (k = 0; k < c; ++k) *y++ = x[(size_t)k * hw + i];
    }
}

void cnnc_s8_transpose__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int8_t *y) {
    const int32_t *s = p->in_shape, *q = p->perm;
    if (p->rank == 4 && q[0] == 0 && q[1] == 2 && q[2] == 3 && q[3] == 1 && s[1] <= 4) {
        s8_planes_to_pixels(x, s[0], s[1], (size_t)s[2] * (size_t)s[3], y);
        return;
    }
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
