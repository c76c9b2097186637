/* The register-blocked NEON int8 GEMM under cnnc_s8_dense__neon, cnnc_s8_pwconv__neon and
 * cnnc_s8_conv__neon (s8_dense_neon.c, s8_conv_neon.c): y[r][o] = requant(init[o] +
 * sum_i x[r][i] * w[i][o]) for S8G_ROWS rows of x by 8 * S8G_HALVES outputs, the
 * accumulators living in registers from the first input to the requantisation (16 int32x4
 * on aarch64: 4 rows by 16 outputs; 8 on armv7, whose NEON has 16 q registers: 4 rows by
 * 8 outputs). ARMv7 NEON intrinsics only, so one source serves both.
 *
 * Weights are read in the layout the compiler packs for __ref (w[K][ldw], K inputs by the
 * outputs, cnnc.ops.s8.pack_weights; the blob is unchanged): a block of 8 or 16 outputs is
 * widened once to int16 into a panel on the stack (s8g_panel) and reused by every row of x,
 * so the inner loop is, per input, one load of widened weights per 8 outputs and one
 * vmlal_lane_s16 per 4 outputs and row (4 MACs), plus per 8 inputs and row one load,
 * widening and zero-point subtraction of x. Where no panel fits or there is no row to
 * reuse it, the weights are widened in the loop instead.
 *
 * Exactness: |x - zp| <= 255 fits int16 and each product is at most 255 * 127 in
 * magnitude, exact in int32. Each lane holds bias[o] plus a subset of output o's terms,
 * bounded by |bias[o]| + xmax * sum |w[.][o]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.passes.quantize, check_accumulator); integer sums are order-free, so the result is
 * __ref's.
 *
 * General conv: the inputs of S8G_ROWS output pixels are gathered (s8_conv_neon.c) into
 * rows [kh][kw][cg] of a stack buffer, padding taps filled with zp, which then add
 * (zp - zp) * w = 0, as __ref skips them. The group's weights w[kh][kw][cg][og] are the
 * [K][og] matrix of that row order. */
#ifndef CNNC_S8_GEMM_NEON_H
#define CNNC_S8_GEMM_NEON_H

#include <string.h>

#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

#define S8G_ROWS 4
#if defined(__aarch64__)
#define S8G_HALVES 2 /* up to 16 outputs per block: 16 accumulators of the 32 v registers */
#else
#define S8G_HALVES 1 /* 8 outputs per block: 8 accumulators of armv7's 16 q registers */
#endif
#define S8G_COLS (8 * S8G_HALVES)
#define S8G_PANEL 16384 /* int16 weights widened on the stack (32 KiB) */

#if defined(__GNUC__)
#define S8G_ALWAYS_INLINE static __inline__ __attribute__((always_inline))
#define S8G_MAYBE_UNUSED __attribute__((unused)) /* s8_dwconv_neon.c uses the requant only */
#else
#define S8G_ALWAYS_INLINE static
#define S8G_MAYBE_UNUSED
#endif

/* Requantisation parameters of one layer and x's zero point (for s8g_tile, rounding may be
 * an S8G_ROUND_*_NEG code the block's shifts allow, s8g_rounding). */
typedef struct {
    int32_t x_zero_point, rounding, zero_point, lo, hi;
} s8g_out;

/* The s8g_out of a layer's parameters (cnnc_s8_conv_params or cnnc_s8_dense_params). */
#define S8G_OUT_OF(p) \
    ((s8g_out){(p)->x_zero_point, (p)->rounding, (p)->y_zero_point, (p)->act_min, (p)->act_max})

/* panel[i][j] = w[i * ldw + j] as int16, i < k, j < 8 * nh (the panel's row length). */
S8G_MAYBE_UNUSED static void s8g_panel(const int8_t *w, size_t ldw, int32_t k, int32_t nh,
                                       int16_t *panel) {
    int32_t i;
    for (i = 0; i < k; ++i) {
        const int8_t *wr = w + (size_t)i * ldw;
        int16_t *pr = panel + (size_t)i * 8 * nh;
        vst1q_s16(pr, vmovl_s8(vld1_s8(wr)));
        if (nh > 1) vst1q_s16(pr + 8, vmovl_s8(vld1_s8(wr + 8)));
    }
}

/* Weight row I (8 * nh int16) into w0, w1: from the panel wp, or widened from w8. */
#define S8G_WROW(I)                                              \
    if (packed) {                                                \
        w0 = vld1q_s16(wp + (size_t)(I)*8 * nh);                 \
        if (nh > 1) w1 = vld1q_s16(wp + (size_t)(I)*8 * nh + 8); \
    } else if (nh > 1) {                                         \
        const int8x16_t wv = vld1q_s8(w8 + (size_t)(I)*ldw);     \
        w0 = vmovl_s8(vget_low_s8(wv));                          \
        w1 = vmovl_s8(vget_high_s8(wv));                         \
    } else {                                                     \
        w0 = vmovl_s8(vld1_s8(w8 + (size_t)(I)*ldw));            \
    }

/* Row R's accumulators += weight row (w0, w1) times lane L of xv[R] (L < 8; XV(v) and
 * LANE are the same lane as an int16x4 half for ARMv7). On aarch64 the high halves of the
 * weights feed SMLAL2 and the lane is read from the whole x vector, so no half is copied
 * out to a register of its own. */
#if defined(__aarch64__)
#define S8G_MAC(R, XV, LANE, L)                                             \
    if (rows > (R)) {                                                       \
        a[R][0] = vmlal_laneq_s16(a[R][0], vget_low_s16(w0), xv[R], L);     \
        a[R][1] = vmlal_high_laneq_s16(a[R][1], w0, xv[R], L);              \
        if (nh > 1) {                                                       \
            a[R][2] = vmlal_laneq_s16(a[R][2], vget_low_s16(w1), xv[R], L); \
            a[R][3] = vmlal_high_laneq_s16(a[R][3], w1, xv[R], L);          \
        }                                                                   \
    }
#else /* ARMv7: blocks of 8 outputs only (nh == 1) */
#define S8G_MAC(R, XV, LANE, L)                                                \
    if (rows > (R)) {                                                          \
        a[R][0] = vmlal_lane_s16(a[R][0], vget_low_s16(w0), XV(xv[R]), LANE);  \
        a[R][1] = vmlal_lane_s16(a[R][1], vget_high_s16(w0), XV(xv[R]), LANE); \
    }
#endif
#define S8G_MACS(XV, LANE, L) \
    S8G_MAC(0, XV, LANE, L) S8G_MAC(1, XV, LANE, L) S8G_MAC(2, XV, LANE, L) S8G_MAC(3, XV, LANE, L)
#define S8G_STEP(I, XV, LANE, L) \
    do {                         \
        S8G_WROW(I)              \
        S8G_MACS(XV, LANE, L)    \
    } while (0)

/* xv[R] = x[R][i .. i + 8) - zp in int16 (|x - zp| <= 255). */
#define S8G_XLOAD(R) \
    if (rows > (R)) xv[R] = vsubq_s16(vmovl_s8(vld1_s8(x[R] + i)), vzp);

/* The requantisation of 8 outputs with per-lane constants derived once per tile and
 * shared by its rows: s8_requant4_neon's arithmetic (s8_requant_neon.h, which states why
 * it is cnnc_requant's; the double rounding's last division as SRSHL, see s8g_rq4), then
 * clamp(r + zp, lo, hi): r saturated to int16, zp added with saturation, the sum
 * saturated to int8, then clamped: the saturations change nothing after the clamp, since
 * |zp| <= 128, -128 <= lo <= hi <= 127 and a saturated value stays outside [lo, hi] on
 * the same side.
 *
 * Two more codes than cnnc_rounding select shorter forms where every lane's shift s is
 * negative (a real multiplier below 1/2, nearly every conv; s8g_rounding picks them once
 * per block of outputs):
 * - S8G_ROUND_SINGLE_NEG: with q = SQDMULH(x, m) = floor(x*m / 2^31) (exact: it saturates
 *   only for x = m = INT32_MIN) and n = -s >= 1, x*m = q*2^31 + e with 0 <= e < 2^31, so
 *   floor((x*m + 2^(30-s)) / 2^(31-s)) = floor((q + 2^(n-1) + e/2^31) / 2^n) = floor((q +
 *   2^(n-1)) / 2^n), which is SRSHL(q, s): two instructions per 4 lanes.
 * - S8G_ROUND_DOUBLE_NEG: left = 0, right = -s > 0 in every lane, so the fixup of s8g_rq4
 *   is h >> 31 itself, added by SSRA (no saturation needed: m <= 2^31 - 1 bounds h =
 *   round(x*m / 2^31) below by -(2^31 - 1), so h - 1 does not wrap). */
#define S8G_ROUND_SINGLE_NEG 3
#define S8G_ROUND_DOUBLE_NEG 4
/* A switch over the rounding code RND (s8g_rounding's) calling CALL(..., code) with the
 * code as a constant, so each case runs a body specialised for it. */
#define S8G_BY_ROUNDING(RND, CALL, ...)                \
    switch (RND) {                                     \
        case S8G_ROUND_DOUBLE_NEG:                     \
            CALL(__VA_ARGS__, S8G_ROUND_DOUBLE_NEG);   \
            break;                                     \
        case S8G_ROUND_SINGLE_NEG:                     \
            CALL(__VA_ARGS__, S8G_ROUND_SINGLE_NEG);   \
            break;                                     \
        case CNNC_ROUND_DOUBLE:                        \
            CALL(__VA_ARGS__, CNNC_ROUND_DOUBLE);      \
            break;                                     \
        case CNNC_ROUND_SINGLE:                        \
            CALL(__VA_ARGS__, CNNC_ROUND_SINGLE);      \
            break;                                     \
        default:                                       \
            CALL(__VA_ARGS__, CNNC_ROUND_ONNXRUNTIME); \
            break;                                     \
    }
typedef struct {
    int32x4_t m[2], left[2], nright[2]; /* nright: the shift itself for the _NEG codes */
    int64x2_t ns[4];                    /* single: -(31 - shift) per lane, widened */
    int16x8_t zp;
    int8x16_t lo, hi;
} s8g_rq;

/* The code s8g_rq_init and s8g_rq4 take for a block of n outputs' shifts in `rounding`
 * (CNNC_ROUND_SINGLE or _DOUBLE; others unchanged). */
S8G_MAYBE_UNUSED static int32_t s8g_rounding(int32_t rounding, const int32_t *shift, int32_t n) {
    int32_t j;
    if (rounding != CNNC_ROUND_SINGLE && rounding != CNNC_ROUND_DOUBLE) return rounding;
    for (j = 0; j < n; ++j)
        if (shift[j] >= 0) return rounding;
    return rounding == CNNC_ROUND_SINGLE ? S8G_ROUND_SINGLE_NEG : S8G_ROUND_DOUBLE_NEG;
}

S8G_ALWAYS_INLINE void s8g_rq_init(s8g_rq *q, const int32_t *mult, const int32_t *shift,
                                   const s8g_out *o, int32_t rounding) {
    const int32x4_t zero = vdupq_n_s32(0);
    int32_t j;
    for (j = 0; j < 2; ++j) {
        const int32x4_t s = vld1q_s32(shift + 4 * j);
        q->m[j] = vld1q_s32(mult + 4 * j);
        if (rounding == S8G_ROUND_SINGLE_NEG || rounding == S8G_ROUND_DOUBLE_NEG) {
            q->nright[j] = s;
        } else if (rounding == CNNC_ROUND_DOUBLE) {
            const int32x4_t right = vmaxq_s32(vnegq_s32(s), zero); /* 0..31 */
            q->left[j] = vmaxq_s32(s, zero);
            q->nright[j] = vnegq_s32(right);
        } else {
            const int32x4_t neg_total = vsubq_s32(s, vdupq_n_s32(31)); /* -62..-1 */
            q->ns[2 * j] = vmovl_s32(vget_low_s32(neg_total));
            q->ns[2 * j + 1] = vmovl_s32(vget_high_s32(neg_total));
        }
    }
    q->zp = vdupq_n_s16((int16_t)o->zero_point);
    q->lo = vdupq_n_s8((int8_t)o->lo);
    q->hi = vdupq_n_s8((int8_t)o->hi);
}

/* Lanes j of requant(x) for the constants' lanes j of half J. */
S8G_ALWAYS_INLINE int32x4_t s8g_rq4(const s8g_rq *q, int32x4_t x, int32_t j, int32_t rounding) {
    if (rounding == S8G_ROUND_SINGLE_NEG) {
        return vrshlq_s32(vqdmulhq_s32(x, q->m[j]), q->nright[j]);
    } else if (rounding == S8G_ROUND_DOUBLE_NEG) {
        const int32x4_t h = vqrdmulhq_s32(x, q->m[j]);
        return vrshlq_s32(vsraq_n_s32(h, h, 31), q->nright[j]);
    } else if (rounding == CNNC_ROUND_DOUBLE) {
        /* RoundingDivideByPOT(h, right), ties away from zero, as SRSHL (ties up) of h - 1
         * for h < 0 and right > 0: with d = 2^right, ceil((h - d/2) / d) = floor((h - 1 +
         * d/2) / d). The sign bit of h & -right says h < 0 and right > 0; the saturating
         * add only changes h = INT32_MIN, a multiple of d, which SRSHL divides exactly. */
        const int32x4_t h = vqrdmulhq_s32(vqshlq_s32(x, q->left[j]), q->m[j]);
        const int32x4_t fixup = vshrq_n_s32(vandq_s32(h, q->nright[j]), 31);
        return vrshlq_s32(vqaddq_s32(h, fixup), q->nright[j]);
    } else {
        const int64x2_t lo =
            vrshlq_s64(vmull_s32(vget_low_s32(x), vget_low_s32(q->m[j])), q->ns[2 * j]);
#if defined(__aarch64__) /* SMULL2 reads the high halves in place */
        const int64x2_t hi = vrshlq_s64(vmull_high_s32(x, q->m[j]), q->ns[2 * j + 1]);
#else
        const int64x2_t hi =
            vrshlq_s64(vmull_s32(vget_high_s32(x), vget_high_s32(q->m[j])), q->ns[2 * j + 1]);
#endif
        return vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi));
    }
}

/* requant(a0, a1) + zp, saturated to int16 (8 lanes). */
S8G_ALWAYS_INLINE int16x8_t s8g_rq8z(const s8g_rq *q, int32x4_t a0, int32x4_t a1,
                                     int32_t rounding) {
    return vqaddq_s16(vcombine_s16(vqmovn_s32(s8g_rq4(q, a0, 0, rounding)),
                                   vqmovn_s32(s8g_rq4(q, a1, 1, rounding))),
                      q->zp);
}

/* y[0..8) = clamp(requant(a0, a1) + zp, lo, hi). */
S8G_ALWAYS_INLINE void s8g_rq8(const s8g_rq *q, int32x4_t a0, int32x4_t a1, int32_t rounding,
                               int8_t *y) {
    const int8x8_t r = vqmovn_s16(s8g_rq8z(q, a0, a1, rounding));
    vst1_s8(y, vmin_s8(vmax_s8(r, vget_low_s8(q->lo)), vget_low_s8(q->hi)));
}

/* y[0..16) = clamp(requant + zp, lo, hi) of a0..a3, lanes 0..7 with q0's constants and
 * 8..15 with q1's (same zero point and clamp): one narrowing, clamp and store for 16. */
S8G_ALWAYS_INLINE void s8g_rq16(const s8g_rq *q0, const s8g_rq *q1, int32x4_t a0, int32x4_t a1,
                                int32x4_t a2, int32x4_t a3, int32_t rounding, int8_t *y) {
    const int8x16_t r = vcombine_s8(vqmovn_s16(s8g_rq8z(q0, a0, a1, rounding)),
                                    vqmovn_s16(s8g_rq8z(q1, a2, a3, rounding)));
    vst1q_s8(y, vminq_s8(vmaxq_s8(r, q0->lo), q0->hi));
}

/* s8g_rq16 without the clamp, for layers whose clamp is the int8 range (lo = -128, hi =
 * 127), which the saturating narrowing to int8 already applies; q0's zero point for both
 * halves (the same value: one register). */
S8G_ALWAYS_INLINE void s8g_rq16n(const s8g_rq *q0, const s8g_rq *q1, int32x4_t a0, int32x4_t a1,
                                 int32x4_t a2, int32x4_t a3, int32_t rounding, int8_t *y) {
    const int16x8_t lo = vcombine_s16(vqmovn_s32(s8g_rq4(q0, a0, 0, rounding)),
                                      vqmovn_s32(s8g_rq4(q0, a1, 1, rounding)));
    const int16x8_t hi = vcombine_s16(vqmovn_s32(s8g_rq4(q1, a2, 0, rounding)),
                                      vqmovn_s32(s8g_rq4(q1, a3, 1, rounding)));
    vst1q_s8(y,
             vcombine_s8(vqmovn_s16(vqaddq_s16(lo, q0->zp)), vqmovn_s16(vqaddq_s16(hi, q0->zp))));
}

/* Row R's outputs: 8, or 16 in one narrowing and store (q2: the second 8's constants). */
#if S8G_HALVES == 2
#define S8G_STORE(R, RND)                                                     \
    if (rows > (R)) {                                                         \
        if (nh > 1)                                                           \
            s8g_rq16(&q, &q2, a[R][0], a[R][1], a[R][2], a[R][3], RND, y##R); \
        else                                                                  \
            s8g_rq8(&q, a[R][0], a[R][1], RND, y##R);                         \
    }
#define S8G_INIT_HI(RND) \
    if (nh > 1) s8g_rq_init(&q2, mult + 8, shift + 8, o, RND);
#else
#define S8G_STORE(R, RND) \
    if (rows > (R)) s8g_rq8(&q, a[R][0], a[R][1], RND, y##R);
#define S8G_INIT_HI(RND)
#endif
/* All rows' outputs with rounding RND (a constant): the code is straight-line, the output
 * pointers read before the first int8 store (which may alias anything). */
#define S8G_STORES(RND)                                                         \
    do {                                                                        \
        s8g_rq_init(&q, mult, shift, o, RND);                                   \
        S8G_INIT_HI(RND)                                                        \
        S8G_STORE(0, RND) S8G_STORE(1, RND) S8G_STORE(2, RND) S8G_STORE(3, RND) \
    } while (0)

/* One tile of rows (1..S8G_ROWS) rows x[r][0..k) by 8 * nh (nh <= S8G_HALVES) outputs,
 * weights from the panel wp ([k][8 * nh] int16) when packed, else w8[i * ldw + j]:
 * y[r][j] = requant(bias[j] + sum_i (x[r][i] - zp) * w[i][j]). rows, nh and packed are
 * constants once inlined (s8g_tile), so the accumulators are registers. */
S8G_ALWAYS_INLINE void s8g_kernel(const int8_t *const *x, int32_t rows, int32_t nh, int packed,
                                  int32_t k, const int16_t *wp, const int8_t *w8, size_t ldw,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                  const s8g_out *o, int8_t *const *y) {
    const int16x8_t vzp = vdupq_n_s16((int16_t)o->x_zero_point);
    int32x4_t a[S8G_ROWS][2 * S8G_HALVES];
    int16x8_t xv[S8G_ROWS], w0, w1;
    int8_t *const y0 = y[0], *const y1 = y[1], *const y2 = y[2], *const y3 = y[3];
    s8g_rq q, q2;
    int32_t r, h, i, t;
    (void)q2; /* only the aarch64 blocks of 16 use it */
    w1 = vdupq_n_s16(0);
    (void)w1; /* only the aarch64 blocks of 16 read it */
    for (r = 0; r < rows; ++r)
        for (h = 0; h < 2 * nh; ++h) a[r][h] = vld1q_s32(bias + 4 * h);
    for (i = 0; i + 8 <= k; i += 8) {
        S8G_XLOAD(0) S8G_XLOAD(1) S8G_XLOAD(2) S8G_XLOAD(3) S8G_STEP(i + 0, vget_low_s16, 0, 0);
        S8G_STEP(i + 1, vget_low_s16, 1, 1);
        S8G_STEP(i + 2, vget_low_s16, 2, 2);
        S8G_STEP(i + 3, vget_low_s16, 3, 3);
        S8G_STEP(i + 4, vget_high_s16, 0, 4);
        S8G_STEP(i + 5, vget_high_s16, 1, 5);
        S8G_STEP(i + 6, vget_high_s16, 2, 6);
        S8G_STEP(i + 7, vget_high_s16, 3, 7);
    }
    if (i < k) { /* 1..7 inputs left: x padded to 8 lanes, the first k - i steps */
        for (r = 0; r < rows; ++r) {
            int8_t tail[8];
            memset(tail, o->x_zero_point, sizeof tail);
            for (t = 0; t < k - i; ++t) tail[t] = x[r][i + t];
            xv[r] = vsubq_s16(vmovl_s8(vld1_s8(tail)), vzp);
        }
        for (t = 0; t < k - i; ++t) {
            S8G_WROW(i + t)
            switch (t) {
                case 0:
                    S8G_MACS(vget_low_s16, 0, 0) break;
                case 1:
                    S8G_MACS(vget_low_s16, 1, 1) break;
                case 2:
                    S8G_MACS(vget_low_s16, 2, 2) break;
                case 3:
                    S8G_MACS(vget_low_s16, 3, 3) break;
                case 4:
                    S8G_MACS(vget_high_s16, 0, 4) break;
                case 5:
                    S8G_MACS(vget_high_s16, 1, 5) break;
                default:
                    S8G_MACS(vget_high_s16, 2, 6) break;
            }
        }
    }
    if (o->rounding == CNNC_ROUND_DOUBLE) {
        S8G_STORES(CNNC_ROUND_DOUBLE);
    } else if (o->rounding == CNNC_ROUND_SINGLE) {
        S8G_STORES(CNNC_ROUND_SINGLE);
    } else if (o->rounding == S8G_ROUND_DOUBLE_NEG) {
        S8G_STORES(S8G_ROUND_DOUBLE_NEG);
    } else if (o->rounding == S8G_ROUND_SINGLE_NEG) {
        S8G_STORES(S8G_ROUND_SINGLE_NEG);
    } else { /* the onnxruntime rounding (float32): cnnc_requant_s8 lane by lane, as __ref */
        int8_t *const yr[S8G_ROWS] = {y0, y1, y2, y3};
        int32_t acc[4 * 2 * S8G_HALVES];
        for (r = 0; r < rows; ++r) {
            for (h = 0; h < 2 * nh; ++h) vst1q_s32(acc + 4 * h, a[r][h]);
            for (t = 0; t < 8 * nh; ++t)
                yr[r][t] = cnnc_requant_s8(acc[t], mult[t], shift[t], o->rounding, o->zero_point,
                                           o->lo, o->hi);
        }
    }
}

#define S8G_CASES(NH, PACKED)                                                      \
    switch (rows) {                                                                \
        case 4:                                                                    \
            s8g_kernel(x, 4, NH, PACKED, k, wp, w8, ldw, bias, mult, shift, o, y); \
            break;                                                                 \
        case 3:                                                                    \
            s8g_kernel(x, 3, NH, PACKED, k, wp, w8, ldw, bias, mult, shift, o, y); \
            break;                                                                 \
        case 2:                                                                    \
            s8g_kernel(x, 2, NH, PACKED, k, wp, w8, ldw, bias, mult, shift, o, y); \
            break;                                                                 \
        default:                                                                   \
            s8g_kernel(x, 1, NH, PACKED, k, wp, w8, ldw, bias, mult, shift, o, y); \
            break;                                                                 \
    }

/* s8g_kernel specialised per row count, block width and weight source. GCC's scheduling
 * before register allocation hoists the weight loads of later steps and spills
 * accumulators to make room (4 rows by 16 outputs on aarch64), so it is off here. */
/* One copy for the whole runtime (its 16 specialisations are most of the NEON build
 * time): defined where S8G_TILE_DEFINITION is set (s8_dense_neon.c), called by the conv. */
void cnnc_s8g_tile_neon(const int8_t *const *x, int32_t rows, int32_t nh, int32_t k,
                        const int16_t *wp, const int8_t *w8, size_t ldw, const int32_t *bias,
                        const int32_t *mult, const int32_t *shift, const s8g_out *o,
                        int8_t *const *y);
#define s8g_tile cnnc_s8g_tile_neon
#if defined(S8G_TILE_DEFINITION)
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
void cnnc_s8g_tile_neon(const int8_t *const *x, int32_t rows, int32_t nh, int32_t k,
                        const int16_t *wp, const int8_t *w8, size_t ldw, const int32_t *bias,
                        const int32_t *mult, const int32_t *shift, const s8g_out *o,
                        int8_t *const *y) {
#if S8G_HALVES == 2
    if (nh == 2) {
        if (wp) {
            S8G_CASES(2, 1)
        } else {
            S8G_CASES(2, 0)
        }
        return;
    }
#else
    (void)nh;
#endif
    if (wp) {
        S8G_CASES(1, 1)
    } else {
        S8G_CASES(1, 0)
    }
}
#endif

/* Outputs 0 .. nb-1 (fewer than 8) of one row: __ref's loop. */
S8G_MAYBE_UNUSED static void s8g_tail(const int8_t *x, int32_t k, const int8_t *w, size_t ldw,
                                      int32_t nb, const int32_t *bias, const int32_t *mult,
                                      const int32_t *shift, const s8g_out *o, int8_t *y) {
    int32_t i, j;
    for (j = 0; j < nb; ++j) {
        int32_t acc = bias[j];
        for (i = 0; i < k; ++i) acc += (x[i] - o->x_zero_point) * w[(size_t)i * ldw + j];
        y[j] = cnnc_requant_s8(acc, mult[j], shift[j], o->rounding, o->zero_point, o->lo, o->hi);
    }
}

/* dst[0..n) = src[0..n) with fixed-size (inlined) copies: two overlapping ones for
 * n <= 16 (no call to memcpy for the few bytes of a small conv's kernel row), blocks of 16
 * and an overlapping last block above; nothing outside [0, n) is read or written. */
S8G_ALWAYS_INLINE void s8g_copy(int8_t *dst, const int8_t *src, size_t n) {
    size_t i;
    if (n >= 16) {
        for (i = 0; i + 16 <= n; i += 16) vst1q_s8(dst + i, vld1q_s8(src + i));
        if (i < n) vst1q_s8(dst + n - 16, vld1q_s8(src + n - 16));
    } else if (n >= 8) {
        vst1_s8(dst, vld1_s8(src));
        vst1_s8(dst + n - 8, vld1_s8(src + n - 8));
    } else if (n >= 4) {
        int32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else {
        for (i = 0; i < n; ++i) dst[i] = src[i];
    }
}

/* row[(ky * kernel_w + kx) * cg + i] = input i of group g at tap (ky, kx) of output pixel
 * pix (b, oy, ox flattened), x's zero point where the tap is padding (dilation 1; the
 * general conv variants s8_conv_neon.c, s8_dot_neon.c). */
S8G_MAYBE_UNUSED static void s8g_gather(const cnnc_s8_conv_params *p, const int8_t *x, int32_t pix,
                                        int32_t g, int8_t *row) {
    const int32_t cg = p->c / p->groups, span = p->kernel_w * cg;
    const int32_t ox = pix % p->out_w, oy = pix / p->out_w % p->out_h;
    const int32_t b = pix / p->out_w / p->out_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    int32_t ky, kx;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
        int8_t *dst = row + (size_t)ky * span;
        const int8_t *xrow; /* [w][c] from group g's first input */
        if (iy < 0 || iy >= p->h) {
            memset(dst, p->x_zero_point, (size_t)span);
            continue;
        }
        xrow = x + ((size_t)b * p->h + iy) * p->w * p->c + (size_t)g * cg;
        if (p->groups == 1 && ix0 >= 0 && ix0 + p->kernel_w <= p->w) {
            s8g_copy(dst, xrow + (size_t)ix0 * p->c, (size_t)span); /* the taps are adjacent */
            continue;
        }
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix = ix0 + kx;
            if (ix < 0 || ix >= p->w)
                memset(dst + kx * cg, p->x_zero_point, (size_t)cg);
            else
                s8g_copy(dst + kx * cg, xrow + (size_t)ix * p->c, (size_t)cg);
        }
    }
}

/* The width in halves (8 outputs) of the next block with left >= 8 outputs to go. */
#define S8G_NH(left) ((left) >= S8G_COLS ? S8G_HALVES : 1)
#endif

#endif /* CNNC_S8_GEMM_NEON_H */
