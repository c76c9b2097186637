/* The 16-bit partial sums of the aarch64 int8 GEMM (s8h_*): under cnnc_s8_dense__neon and
 * cnnc_s8_pwconv__neon (s8_dense_neon.c) and the general conv cnnc_s8_conv__neon
 * (s8_conv_neon.c, on rows of x gathered from its padded input window, s8_win_neon.h).
 * s8h_tile is defined once, where S8H_TILE_DEFINITION is set (s8_dense_neon.c). */
#ifndef CNNC_S8_H16_NEON_H
#define CNNC_S8_H16_NEON_H

#include "s8_gemm_neon.h"

#if defined(__ARM_NEON)
#if defined(__aarch64__)
/* 16-bit partial sums (aarch64). x enters raw, as int8: SMULL multiplies 8 weights by 8
 * bytes of x into 8 int16 lanes, SMLAL adds 8 more products to the same lanes, and SADALP
 * adds adjacent int16 lanes pairwise into int32 accumulators. A block's weights are
 * interleaved by pairs of inputs into a stack panel, per 4 inputs i..i+3 64 bytes:
 * pairs (w[i][o], w[i+1][o]) of outputs 0..7, then (w[i+2][o], w[i+3][o]) of 0..7, then the
 * same for outputs 8..15 (zero past K and past the block's nb outputs); a row's x pairs
 * (x[i], x[i+1]) are broadcast to every int16 lane (DUP), so int16 lane 2j of the
 * products holds output j's input i (or i + 2) and lane 2j + 1 its input i + 1 (i + 3),
 * and SADALP adds the four into int32 lane j: per 4 inputs, 16 outputs and row, 4 SMULL,
 * 4 SMLAL, 4 SADALP and 2 DUP for 64 MACs.
 *
 * Overflow: x is any int8 (-128..127) and the weights are within [-127, 127] (the weight
 * contract: cnnc.frontend.qdq_import rejects -128, the blob's section range keeps it out
 * at init; s8h_pack checks the block anyway and leaves a block holding -128 to s8g_dense),
 * so a product is at most 128 * 127 = 16256 in magnitude and an int16 lane, which holds
 * exactly two products before SADALP, at most 32512 <= 32767: exact. The int32
 * accumulators start from init[o] = bias[o] - zp * sum_i w[i][o] and add sum_i x[i] *
 * w[i][o], every addition modulo 2^32 (NEON integer adds wrap): modulo 2^32 that is bias[o]
 * + sum_i (x[i] - zp) * w[i][o], __ref's sum, which the compiler proved to lie in int32
 * (cnnc.passes.quantize, check_accumulator); two int32 values congruent modulo 2^32 are
 * equal. Zero weights past K or past nb add nothing (x is padded with zeros there). */
#define S8H_ROWS 4
#define S8H_COLS 16
#define S8H_PANEL 16384 /* bytes: K up to 1024 per block of 16 outputs */

/* One block of up to 16 outputs: zero-point-folded start values and requantisation
 * constants (s8g_rq_init, derived once per block), padded to 16 lanes. */
typedef struct {
    int32_t init[S8H_COLS], mult[S8H_COLS], shift[S8H_COLS];
    s8g_rq q[2]; /* lanes 0..7 and 8..15, for rnd */
    int32_t rnd; /* the rounding, or the shorter form its shifts allow (s8g_rounding) */
    int clamp;   /* 0: the clamp is the int8 range, which the narrowing to int8 applies */
} s8h_block;

/* Row i of a short block (nb < 16 outputs) or past k: zeros where there is no weight. */
S8G_MAYBE_UNUSED static int8x16_t s8h_row(const int8_t *w, size_t ldw, int32_t i, int32_t k,
                                          int32_t nb) {
    int8_t t[S8H_COLS];
    memset(t, 0, sizeof t);
    if (i < k) memcpy(t, w + (size_t)i * ldw, (size_t)nb);
    return vld1q_s8(t);
}

/* The block's panel (layout above) and constants; 0 (nothing usable) if a weight is -128. */
S8G_MAYBE_UNUSED static int s8h_pack(const int8_t *w, size_t ldw, int32_t k, int32_t nb,
                                     const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                     const s8g_out *o, int8_t *panel, s8h_block *b) {
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0; /* sum_i w[i][o] */
    int8x16_t least = vdupq_n_s8(0);
    int8_t *pp = panel;
    int32_t i, j;
    for (i = 0; i < k; i += 4, pp += 64) {
        int8x16_t r0, r1, r2, r3;
        int8x16x4_t v;
        int16x8_t lo, hi;
        if (nb == S8H_COLS && i + 4 <= k) {
            const int8_t *wr = w + (size_t)i * ldw;
            r0 = vld1q_s8(wr);
            r1 = vld1q_s8(wr + ldw);
            r2 = vld1q_s8(wr + 2 * ldw);
            r3 = vld1q_s8(wr + 3 * ldw);
        } else {
            r0 = s8h_row(w, ldw, i, k, nb);
            r1 = s8h_row(w, ldw, i + 1, k, nb);
            r2 = s8h_row(w, ldw, i + 2, k, nb);
            r3 = s8h_row(w, ldw, i + 3, k, nb);
        }
        v.val[0] = vzip1q_s8(r0, r1);
        v.val[1] = vzip1q_s8(r2, r3);
        v.val[2] = vzip2q_s8(r0, r1);
        v.val[3] = vzip2q_s8(r2, r3);
        vst1q_s8_x4(pp, v);
        least = vminq_s8(least, vminq_s8(vminq_s8(r0, r1), vminq_s8(r2, r3)));
        lo = vaddq_s16(vpaddlq_s8(v.val[0]), vpaddlq_s8(v.val[1])); /* |.| <= 4 * 127 */
        hi = vaddq_s16(vpaddlq_s8(v.val[2]), vpaddlq_s8(v.val[3]));
        s0 = vaddw_s16(s0, vget_low_s16(lo)); /* |sum| <= 1024 * 127 */
        s1 = vaddw_high_s16(s1, lo);
        s2 = vaddw_s16(s2, vget_low_s16(hi));
        s3 = vaddw_high_s16(s3, hi);
    }
    if (vminvq_s8(least) == -128) return 0;
    b->clamp = o->lo != -128 || o->hi != 127;
    for (j = 0; j < S8H_COLS; ++j) {
        b->init[j] = j < nb ? bias[j] : 0;
        b->mult[j] = j < nb ? mult[j] : 0;
        b->shift[j] = j < nb ? shift[j] : 0;
    }
    {
        const int32x4_t zp = vdupq_n_s32(o->x_zero_point); /* products wrap: see above */
        vst1q_s32(b->init, vmlsq_s32(vld1q_s32(b->init), s0, zp));
        vst1q_s32(b->init + 4, vmlsq_s32(vld1q_s32(b->init + 4), s1, zp));
        vst1q_s32(b->init + 8, vmlsq_s32(vld1q_s32(b->init + 8), s2, zp));
        vst1q_s32(b->init + 12, vmlsq_s32(vld1q_s32(b->init + 12), s3, zp));
    }
    b->rnd = s8g_rounding(o->rounding, b->shift, nb);
    if (b->rnd == S8G_ROUND_DOUBLE_NEG) { /* the constants of lanes past nb: any shift < 0 */
        s8g_rq_init(&b->q[0], b->mult, b->shift, o, S8G_ROUND_DOUBLE_NEG);
        s8g_rq_init(&b->q[1], b->mult + 8, b->shift + 8, o, S8G_ROUND_DOUBLE_NEG);
    } else if (b->rnd == S8G_ROUND_SINGLE_NEG) {
        s8g_rq_init(&b->q[0], b->mult, b->shift, o, S8G_ROUND_SINGLE_NEG);
        s8g_rq_init(&b->q[1], b->mult + 8, b->shift + 8, o, S8G_ROUND_SINGLE_NEG);
    } else if (b->rnd == CNNC_ROUND_DOUBLE || b->rnd == CNNC_ROUND_SINGLE) {
        s8g_rq_init(&b->q[0], b->mult, b->shift, o, b->rnd);
        s8g_rq_init(&b->q[1], b->mult + 8, b->shift + 8, o, b->rnd);
    }
    return 1;
}

/* Inputs 4J .. 4J + 3 of the 16 in xv[R] against the panel's group w: the pairs (4J,
 * 4J + 1) and (4J + 2, 4J + 3) broadcast, two products per int16 lane, SADALP. */
#define S8H_HALF(A, WA, WB, HIGH)                                                   \
    A = vpadalq_s16(A, HIGH ? vmlal_high_s8(vmull_high_s8(WA, x01), WB, x23)        \
                            : vmlal_s8(vmull_s8(vget_low_s8(WA), vget_low_s8(x01)), \
                                       vget_low_s8(WB), vget_low_s8(x23)))
#define S8H_ROW(R, J)                                                                 \
    if (rows > (R)) {                                                                 \
        const int16x8_t xw = vreinterpretq_s16_s8(xv[R]);                             \
        const int8x16_t x01 = vreinterpretq_s8_s16(vdupq_laneq_s16(xw, 2 * (J)));     \
        const int8x16_t x23 = vreinterpretq_s8_s16(vdupq_laneq_s16(xw, 2 * (J) + 1)); \
        S8H_HALF(a[R][0], w.val[0], w.val[1], 0);                                     \
        S8H_HALF(a[R][1], w.val[0], w.val[1], 1);                                     \
        if (nh > 1) {                                                                 \
            S8H_HALF(a[R][2], w.val[2], w.val[3], 0);                                 \
            S8H_HALF(a[R][3], w.val[2], w.val[3], 1);                                 \
        }                                                                             \
    }
/* The group's weights: outputs 0..7's two vectors, 8..15's only in blocks of 16 (nh 2). */
#define S8H_WLOAD(WP)                            \
    if (nh > 1) {                                \
        w = vld1q_s8_x4(WP);                     \
    } else {                                     \
        const int8x16x2_t w01 = vld1q_s8_x2(WP); \
        w.val[0] = w01.val[0];                   \
        w.val[1] = w01.val[1];                   \
    }
#define S8H_STEP(WP, J)                           \
    do {                                          \
        S8H_WLOAD(WP);                            \
        S8H_ROW(0, J)                             \
        S8H_ROW(1, J) S8H_ROW(2, J) S8H_ROW(3, J) \
    } while (0)

/* Row R's 16 (nb) outputs from its accumulators. */
#define S8H_STORE(R, RND)                                                   \
    if (rows > (R)) {                                                       \
        int8_t *const yo = y + (R)*ldy;                                     \
        if (nb == S8H_COLS && !clamp) {                                     \
            s8g_rq16n(q0, q1, a[R][0], a[R][1], a[R][2], a[R][3], RND, yo); \
        } else if (nb == S8H_COLS) {                                        \
            s8g_rq16(q0, q1, a[R][0], a[R][1], a[R][2], a[R][3], RND, yo);  \
        } else if (nb == 8) {                                               \
            s8g_rq8(q0, a[R][0], a[R][1], RND, yo);                         \
        } else if (nh == 1) {                                               \
            int8_t t[8];                                                    \
            s8g_rq8(q0, a[R][0], a[R][1], RND, t);                          \
            memcpy(yo, t, (size_t)nb);                                      \
        } else {                                                            \
            int8_t t[S8H_COLS];                                             \
            s8g_rq16(q0, q1, a[R][0], a[R][1], a[R][2], a[R][3], RND, t);   \
            memcpy(yo, t, (size_t)nb);                                      \
        }                                                                   \
    }
#define S8H_INIT(R)                                  \
    if (rows > (R)) {                                \
        const int32x4x4_t v = vld1q_s32_x4(b->init); \
        a[R][0] = v.val[0];                          \
        a[R][1] = v.val[1];                          \
        a[R][2] = v.val[2];                          \
        a[R][3] = v.val[3];                          \
    }
/* The empty asm hides where xv[R] came from, so GCC broadcasts its lanes by DUP (element)
 * instead of reloading each pair from memory into a general register first. */
#define S8H_XLOAD(R)                       \
    if (rows > (R)) {                      \
        xv[R] = vld1q_s8(x + (R)*ldx + i); \
        __asm__("" : "+w"(xv[R]));         \
    }
#define S8H_XTAIL(R)                               \
    if (rows > (R)) {                              \
        xv[R] = s8h_xtail(x + (R)*ldx + i, k - i); \
        __asm__("" : "+w"(xv[R]));                 \
    }

/* x[0..n) (1 <= n <= 15) and zeros. */
S8G_ALWAYS_INLINE int8x16_t s8h_xtail(const int8_t *x, int32_t n) {
    int8_t t[16];
    memset(t, 0, sizeof t);
    memcpy(t, x, (size_t)n);
    return vld1q_s8(t);
}

/* y[r * ldy + 0..nb) = requant(init + sum_i x[r * ldx + i] * w[i][.]), r < rows (a
 * constant once inlined, so the accumulators are registers), rounding RND (a constant). */
S8G_ALWAYS_INLINE void s8h_kernel(const int8_t *x, size_t ldx, int32_t rows, int32_t nh, int32_t k,
                                  const int8_t *panel, const s8h_block *b, int32_t nb,
                                  const s8g_out *o, int8_t *y, size_t ldy, int32_t rnd, int clamp) {
    int32x4_t a[S8H_ROWS][4];
    int8x16_t xv[S8H_ROWS];
    int8x16x4_t w;
    const int8_t *wp = panel;
    int32_t r, j, i = 0;
    w.val[2] = w.val[3] = vdupq_n_s8(0); /* read only in blocks of 16 (nh 2) */
    S8H_INIT(0) S8H_INIT(1) S8H_INIT(2) S8H_INIT(3);
    for (; i + 16 <= k; i += 16, wp += 4 * 64) {
        S8H_XLOAD(0) S8H_XLOAD(1) S8H_XLOAD(2) S8H_XLOAD(3);
        S8H_STEP(wp, 0);
        S8H_STEP(wp + 64, 1);
        S8H_STEP(wp + 128, 2);
        S8H_STEP(wp + 192, 3);
    }
    if (i < k) { /* 1..15 inputs left: x padded with zeros (the panel's weights are 0) */
        S8H_XTAIL(0) S8H_XTAIL(1) S8H_XTAIL(2) S8H_XTAIL(3);
        S8H_STEP(wp, 0);
        if (k - i > 4) S8H_STEP(wp + 64, 1);
        if (k - i > 8) S8H_STEP(wp + 128, 2);
        if (k - i > 12) S8H_STEP(wp + 192, 3);
    }
    if (rnd != CNNC_ROUND_ONNXRUNTIME) {
        /* s8h_pack's constants as locals: the int8 stores may alias *b */
        const s8g_rq q0v = b->q[0], q1v = b->q[1];
        const s8g_rq *const q0 = &q0v, *const q1 = &q1v;
        S8H_STORE(0, rnd) S8H_STORE(1, rnd) S8H_STORE(2, rnd) S8H_STORE(3, rnd)
    } else { /* the onnxruntime rounding: scalar, as __ref */
        int32_t acc[S8H_COLS];
        for (r = 0; r < rows; ++r) {
            for (j = 0; j < 4; ++j) vst1q_s32(acc + 4 * j, a[r][j]);
            for (j = 0; j < nb; ++j)
                y[r * ldy + j] = cnnc_requant_s8(acc[j], b->mult[j], b->shift[j], o->rounding,
                                                 o->zero_point, o->lo, o->hi);
        }
    }
}

/* n rows of x (ldx apart) into n rows of y (ldy apart): tiles of 4 rows, then the rest. */
S8G_ALWAYS_INLINE void s8h_rows(const int8_t *x, size_t ldx, int32_t n, int32_t nh, int32_t k,
                                const int8_t *panel, const s8h_block *b, int32_t nb,
                                const s8g_out *o, int8_t *y, size_t ldy, int32_t rnd, int clamp) {
    for (; n >= S8H_ROWS; n -= S8H_ROWS, x += S8H_ROWS * ldx, y += S8H_ROWS * ldy)
        s8h_kernel(x, ldx, S8H_ROWS, nh, k, panel, b, nb, o, y, ldy, rnd, clamp);
    if (n == 3)
        s8h_kernel(x, ldx, 3, nh, k, panel, b, nb, o, y, ldy, rnd, clamp);
    else if (n == 2)
        s8h_kernel(x, ldx, 2, nh, k, panel, b, nb, o, y, ldy, rnd, clamp);
    else if (n == 1)
        s8h_kernel(x, ldx, 1, nh, k, panel, b, nb, o, y, ldy, rnd, clamp);
}

/* s8h_rows for blocks of NH halves (8 outputs), clamp CL, rounding code R (a constant). */
#define S8H_ROWS_AT(NH, CL, R) s8h_rows(x, ldx, n, NH, k, panel, b, nb, o, y, ldy, R, CL)
/* The switch over the block's rounding b->rnd. */
#define S8H_ROUNDINGS(NH, CL) S8G_BY_ROUNDING(b->rnd, S8H_ROWS_AT, NH, CL)

/* s8h_rows specialised per block width (16 outputs, or 1..8: half the work), rounding and
 * whether the clamp is needed;
 * GCC's scheduling before register allocation off, as in s8_gemm_neon.h. */
void cnnc_s8h_tile_neon(const int8_t *x, size_t ldx, int32_t n, int32_t k, const int8_t *panel,
                        const s8h_block *b, int32_t nb, const s8g_out *o, int8_t *y, size_t ldy);
#define s8h_tile cnnc_s8h_tile_neon
#if defined(S8H_TILE_DEFINITION)
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
void cnnc_s8h_tile_neon(const int8_t *x, size_t ldx, int32_t n, int32_t k, const int8_t *panel,
                        const s8h_block *b, int32_t nb, const s8g_out *o, int8_t *y, size_t ldy) {
    if (nb > 8 && b->clamp) {
        S8H_ROUNDINGS(2, 1)
    } else if (nb > 8) {
        S8H_ROUNDINGS(2, 0)
    } else {
        S8H_ROUNDINGS(1, 1) /* blocks of 1..8: the clamp is always applied */
    }
}
#endif /* S8H_TILE_DEFINITION */
#endif /* __aarch64__ */
#endif /* __ARM_NEON */

#endif /* CNNC_S8_H16_NEON_H */
