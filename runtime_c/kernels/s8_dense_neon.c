/* ARM NEON variant of the int8 fully connected layer (and, through cnnc_s8_pwconv__neon,
 * the pointwise conv), bit-exact to cnnc_s8_dense__ref: same weights w[K][M], same int32
 * accumulators, same requantised bytes (eight at a time, s8_requant_neon.h). Compiled when
 * the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise. Only ARMv7
 * NEON intrinsics are used, so one source serves both.
 *
 * Tiles of 4 rows of x by 8 outputs (s8_tile_neon.h: x - zp and w widened to int16,
 * vmlal_lane_s16 into int32 lanes); eight outputs are requantised at once
 * (s8_requant_neon.h). Outputs left over after the 8-wide blocks run the reference loop.
 *
 * Overflow: every int32 lane holds bias[o] plus a subset of the terms of output o,
 * bounded by |bias[o]| + xmax * sum_i |w[i][o]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); each product is at most 255 * 127. Integer addition
 * is associative, so the different summation order gives the reference's result exactly. */
#include "cnnc_s8.h"
#include "s8_requant_neon.h"
#include "s8_tile_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

/* Rows b0 .. b0 + rows - 1 of x[n][k] -> y[n][m]. */
static void dense_rows_neon(const cnnc_s8_dense_params *p, const int8_t *x, int32_t rows,
                            const int8_t *w, const int32_t *bias, const int32_t *mult,
                            const int32_t *shift, int8_t *y) {
    int32_t acc[S8_TILE_ROWS * 8]; /* [rows][8] */
    int32_t o0, r, i, j;
    for (o0 = 0; o0 + 8 <= p->m; o0 += 8) {
        s8_tile_neon_any(x, p->k, rows, p->k, p->x_zero_point, w + o0, p->m, bias + o0, 0, acc);
        for (r = 0; r < rows; ++r)
            s8_requant8_neon(vld1q_s32(acc + r * 8), vld1q_s32(acc + r * 8 + 4), mult + o0,
                             shift + o0, p->rounding, p->y_zero_point, p->act_min, p->act_max,
                             y + (size_t)r * p->m + o0);
    }
    for (r = 0; r < rows && o0 < p->m; ++r) { /* fewer than 8 outputs left: reference loop */
        const int8_t *xr = x + (size_t)r * p->k; /* [k] */
        const int32_t nb = p->m - o0;
        for (j = 0; j < nb; ++j) acc[j] = bias[o0 + j];
        for (i = 0; i < p->k; ++i) {
            const int32_t xv = xr[i] - p->x_zero_point;
            const int8_t *wr = w + (size_t)i * p->m + o0; /* [nb] */
            for (j = 0; j < nb; ++j) acc[j] += xv * wr[j];
        }
        for (j = 0; j < nb; ++j)
            y[(size_t)r * p->m + o0 + j] =
                cnnc_requant_s8(acc[j], mult[o0 + j], shift[o0 + j], p->rounding,
                                p->y_zero_point, p->act_min, p->act_max);
    }
}

void cnnc_s8_dense__neon(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    int32_t b0;
    for (b0 = 0; b0 < p->n; b0 += S8_TILE_ROWS) {
        const int32_t rows = p->n - b0 < S8_TILE_ROWS ? p->n - b0 : S8_TILE_ROWS;
        dense_rows_neon(p, x + (size_t)b0 * p->k, rows, w, bias, mult, shift,
                        y + (size_t)b0 * p->m);
    }
}
#else
typedef int cnnc_s8_dense_neon_empty; /* ISO C forbids an empty translation unit */
#endif
