/* ARM NEON variant of the int8 fully connected layer (and, through cnnc_s8_pwconv__neon,
 * the pointwise conv), bit-exact to cnnc_s8_dense__ref: same weights w[K][M], same int32
 * accumulators, same requantised bytes (eight at a time, s8_requant_neon.h). Compiled when
 * the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise. Only ARMv7
 * NEON intrinsics are used, so one source serves both.
 *
 * Tiles of 4 rows of x by 8 outputs, 8 accumulators of int32x4 (fits armv7's 16 q
 * registers with the x rows and one weight row): per step of 8 inputs each x row is
 * widened once to int16 (x - zp), each weight row w[i][o0..o0+8) to int16, and
 * vmlal_lane_s16 adds the int32 products w[i][o] * (x[r][i] - zp) lane by lane. Inputs
 * left after the steps of 8 use vmlal_n_s16; outputs left after the 8-wide blocks run the
 * reference loop. (ARMv8.2 sdot would need the K axis contiguous; not used here.)
 *
 * Overflow: |x - zp| <= 255 fits int16 and each product is at most 255 * 127 in
 * magnitude, exact in int32. Every int32 lane holds bias[o] plus a subset of the terms of
 * output o, bounded by |bias[o]| + xmax * sum_i |w[i][o]| <= 2^31 - 1 as proved by the
 * compiler (cnnc.quantize, check_accumulator); integer addition is associative, so the
 * different summation order gives the reference's result exactly. */
#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

#define TILE_ROWS 4

/* One input i of the tile: weight row w[i][0..8) times lane LANE of the x vectors XV. */
#define DENSE_STEP_NEON(I, XV, LANE)                                                       \
    do {                                                                                 \
        const int16x8_t wv = vmovl_s8(vld1_s8(w + (size_t)(I) * ldw));                   \
        for (r = 0; r < rows; ++r) {                                                     \
            a[r][0] = vmlal_lane_s16(a[r][0], vget_low_s16(wv), XV(xr[r]), LANE);         \
            a[r][1] = vmlal_lane_s16(a[r][1], vget_high_s16(wv), XV(xr[r]), LANE);        \
        }                                                                                \
    } while (0)

/* acc[r][j] = bias[j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < 8.
 * x: [rows][ldx] int8; w: [k][ldw] int8 from output 0 of the tile; acc: [TILE_ROWS][8].
 * Called with a constant rows so it unrolls. */
CNNC_INLINE void dense_tile_neon(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                 int32_t zp, const int8_t *w, size_t ldw, const int32_t *bias,
                                 int32_t *acc) {
    const int16x8_t vzp = vdupq_n_s16((int16_t)zp);
    int32x4_t a[TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = vld1q_s32(bias);
        a[r][1] = vld1q_s32(bias + 4);
    }
    for (i = 0; i + 8 <= k; i += 8) {
        int16x8_t xr[TILE_ROWS]; /* x[r][i..i+8) - zp */
        for (r = 0; r < rows; ++r)
            xr[r] = vsubq_s16(vmovl_s8(vld1_s8(x + (size_t)r * ldx + i)), vzp);
        DENSE_STEP_NEON(i + 0, vget_low_s16, 0);
        DENSE_STEP_NEON(i + 1, vget_low_s16, 1);
        DENSE_STEP_NEON(i + 2, vget_low_s16, 2);
        DENSE_STEP_NEON(i + 3, vget_low_s16, 3);
        DENSE_STEP_NEON(i + 4, vget_high_s16, 0);
        DENSE_STEP_NEON(i + 5, vget_high_s16, 1);
        DENSE_STEP_NEON(i + 6, vget_high_s16, 2);
        DENSE_STEP_NEON(i + 7, vget_high_s16, 3);
    }
    for (; i < k; ++i) {
        const int16x8_t wv = vmovl_s8(vld1_s8(w + (size_t)i * ldw));
        for (r = 0; r < rows; ++r) {
            const int16_t xv = (int16_t)(x[(size_t)r * ldx + i] - zp);
            a[r][0] = vmlal_n_s16(a[r][0], vget_low_s16(wv), xv);
            a[r][1] = vmlal_n_s16(a[r][1], vget_high_s16(wv), xv);
        }
    }
    for (r = 0; r < rows; ++r) {
        vst1q_s32(acc + r * 8, a[r][0]);
        vst1q_s32(acc + r * 8 + 4, a[r][1]);
    }
}

/* Rows b0 .. b0 + rows - 1 of x[n][k] -> y[n][m]. */
static void dense_rows_neon(const cnnc_s8_dense_params *p, const int8_t *x, int32_t rows,
                            const int8_t *w, const int32_t *bias, const int32_t *mult,
                            const int32_t *shift, int8_t *y) {
    int32_t acc[TILE_ROWS * 8]; /* [rows][8] */
    int32_t o0, r, i, j;
    for (o0 = 0; o0 + 8 <= p->m; o0 += 8) {
        if (rows == TILE_ROWS)
            dense_tile_neon(x, p->k, TILE_ROWS, p->k, p->x_zero_point, w + o0, p->m, bias + o0,
                            acc);
        else
            for (r = 0; r < rows; ++r)
                dense_tile_neon(x + (size_t)r * p->k, p->k, 1, p->k, p->x_zero_point, w + o0,
                                p->m, bias + o0, acc + r * 8);
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
    for (b0 = 0; b0 < p->n; b0 += TILE_ROWS) {
        const int32_t rows = p->n - b0 < TILE_ROWS ? p->n - b0 : TILE_ROWS;
        dense_rows_neon(p, x + (size_t)b0 * p->k, rows, w, bias, mult, shift,
                        y + (size_t)b0 * p->m);
    }
}
#else
typedef int cnnc_s8_dense_neon_empty; /* ISO C forbids an empty translation unit */
#endif
