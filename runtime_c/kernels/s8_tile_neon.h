/* The NEON int8 GEMM tile under the dense/pointwise and general conv loops
 * (s8_dense_loops.h, s8_conv_loops.h; run by s8_dense_neon.c and s8_conv_neon.c): up to 4
 * rows of x by 8 outputs of w[K][ldw], eight int32x4 accumulators (fits armv7's 16 q
 * registers with the x rows and one weight row). ARMv7 NEON intrinsics only, so one source
 * serves aarch64 too.
 *
 * Per step of 8 inputs each x row is widened once to int16 (x - zp), each weight row
 * w[i][o0..o0+8) to int16, and vmlal_lane_s16 adds the int32 products w[i][o] * (x[r][i] -
 * zp) lane by lane; inputs left after the steps of 8 use vmlal_n_s16. (ARMv8.2 sdot would
 * need the K axis contiguous in the weights; not used.)
 *
 * Overflow: |x - zp| <= 255 fits int16 and each product is at most 255 * 127 in
 * magnitude, exact in int32. Callers keep each int32 lane at bias[o] plus a subset of
 * output o's terms, bounded by |bias[o]| + xmax * sum |w[.][o]| <= 2^31 - 1 as proved by
 * the compiler (cnnc.passes.quantize, check_accumulator); integer addition is associative, so
 * any summation order gives the reference kernel's sum exactly. */
#ifndef CNNC_S8_TILE_NEON_H
#define CNNC_S8_TILE_NEON_H

#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

#define S8_TILE_ROWS 4

/* One input I of the tile: weight row w[I][0..8) times lane LANE of the x vectors XV. */
#define S8_TILE_STEP_NEON(I, XV, LANE)                                             \
    do {                                                                           \
        const int16x8_t wv = vmovl_s8(vld1_s8(w + (size_t)(I)*ldw));               \
        for (r = 0; r < rows; ++r) {                                               \
            a[r][0] = vmlal_lane_s16(a[r][0], vget_low_s16(wv), XV(xr[r]), LANE);  \
            a[r][1] = vmlal_lane_s16(a[r][1], vget_high_s16(wv), XV(xr[r]), LANE); \
        }                                                                          \
    } while (0)

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < 8.
 * x: row r at x + r * ldx, k int8 each; w: [k][ldw] int8 from the tile's first output;
 * init: row r at init + r * ld_init (0: one bias row for all rows; init may be acc);
 * acc: [S8_TILE_ROWS][8] int32. Inlined with a constant rows (s8_tile_any). */
CNNC_INLINE void s8_tile_neon(const int8_t *x, size_t ldx, int32_t rows, int32_t k, int32_t zp,
                              const int8_t *w, size_t ldw, const int32_t *init, size_t ld_init,
                              int32_t *acc) {
    const int16x8_t vzp = vdupq_n_s16((int16_t)zp);
    int32x4_t a[S8_TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = vld1q_s32(init + r * ld_init);
        a[r][1] = vld1q_s32(init + r * ld_init + 4);
    }
    for (i = 0; i + 8 <= k; i += 8) {
        int16x8_t xr[S8_TILE_ROWS]; /* x[r][i..i+8) - zp */
        for (r = 0; r < rows; ++r)
            xr[r] = vsubq_s16(vmovl_s8(vld1_s8(x + (size_t)r * ldx + i)), vzp);
        S8_TILE_STEP_NEON(i + 0, vget_low_s16, 0);
        S8_TILE_STEP_NEON(i + 1, vget_low_s16, 1);
        S8_TILE_STEP_NEON(i + 2, vget_low_s16, 2);
        S8_TILE_STEP_NEON(i + 3, vget_low_s16, 3);
        S8_TILE_STEP_NEON(i + 4, vget_high_s16, 0);
        S8_TILE_STEP_NEON(i + 5, vget_high_s16, 1);
        S8_TILE_STEP_NEON(i + 6, vget_high_s16, 2);
        S8_TILE_STEP_NEON(i + 7, vget_high_s16, 3);
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

/* The tile hooks s8_dense_loops.h and s8_conv_loops.h drive (s8_tile_avx2.h and
 * s8_tile_avx512.h define the same names): blocks of S8_TILE_COLS outputs; acc rows S8_TILE_COLS
 * apart. */
#define S8_TILE_COLS 8
#define S8_TARGET /* the build targets NEON: no attribute needed */

/* s8_tile_neon for rows 4 (all at once) or fewer (one row at a time); cols is always 8. */
static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k, int32_t zp,
                        const int8_t *w, size_t ldw, int32_t cols, const int32_t *init,
                        size_t ld_init, int32_t *acc) {
    int32_t r;
    (void)cols;
    if (rows == S8_TILE_ROWS)
        s8_tile_neon(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r)
            s8_tile_neon(x + (size_t)r * ldx, ldx, 1, k, zp, w, ldw, init + r * ld_init, 0,
                         acc + r * 8);
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < 8
 * (cols), at once (s8_requant_neon.h). */
CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols, const int32_t *mult,
                                 const int32_t *shift, int32_t rounding, int32_t zero_point,
                                 int32_t lo, int32_t hi, int8_t *y) {
    (void)cols;
    s8_requant8_neon(vld1q_s32(acc), vld1q_s32(acc + 4), mult, shift, rounding, zero_point, lo, hi,
                     y);
}
#endif

#endif /* CNNC_S8_TILE_NEON_H */
