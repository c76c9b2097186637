/* Cortex-M DSP variant of the int8 fully connected layer (and, through
 * cnnc_s8_pwconv__dsp in s8_conv_dsp.c, the pointwise conv), bit-exact to
 * cnnc_s8_dense__ref: blocks of outputs repacked once per call into SMLAD pairs, then every
 * row through them, 4 MACs per two SMLADs (s8_dsp.h). With the doubled requantisation and
 * the full clamp (not at -Os), a block of K 8 or 16 runs per-output records against the row
 * held in registers (dsp_rec_block) and one of K a multiple of 8 in 24..336 two rows by two
 * outputs a pass (dsp_pair_block; few rows, as a 3x3 image's, widened once per call and kept
 * at the buffer's end for all blocks: dsp_pair_block_kept). Four rows (K a multiple of 8 up to
 * DSP_ROWS4_MAX_K, M even; not at -Os) read each weight once for all four (dsp_dense_rows4). Rows
 * fewer than DSP_MIN_ROWS (or DSP_MIN_ROWS_M4 when M is a multiple of 4), or K above DSP_MAX_K,
 * read the weights directly (dsp_dense_direct); K above DSP_DIRECT_MAX_K runs the reference loop.
 * A compiled model builds only the paths and copies its calls can take (cnnc_model_calls.h: the
 * DSP_* tests of a call's params below), the rest handing a call to one that computes the same
 * bits (dsp_dense_direct's to the reference loop).
 * Compiled when the build targets the DSP extension (CNNC_M_DSP, cnnc_cpu.h); empty
 * otherwise. */
#include "cnnc_s8.h"
#include "s8_conv_loops.h" /* s8_pwconv_as_dense: DSP_DENSE_CALLS */
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
#define DSP_DIRECT_MAX_K 2048 /* x pairs of one row on the stack: 4 KB */
#define DSP_ROWS4_MAX_K 336   /* dsp_dense_rows4 */

/* The paths a model's calls can take (cnnc_model_calls.h; DSP_DENSE_CALLS, s8_dsp.h): each
 * predicate, on a call's cnnc_s8_dense_params d, is the dispatcher's test of its path or a
 * necessary condition of it (the block sizes, the outputs a record run takes and the blocks
 * a run-time check refuses are not in the params: the bounds below hold for all of them). */
#define DSP_P_FULL(d) ((d).act_min == -128 && (d).act_max == 127)
#define DSP_P_RELU(d) ((d).y_zero_point == -128) /* DSP_RQ_DOUBLE2Z's zero point */
#define DSP_P_D2(d) (DSP_P_FULL(d) && (d).rounding == CNNC_ROUND_DOUBLE) /* DSP_RQ_DOUBLE2 */
/* Few rows or K past the block's: dsp_dense_direct (the reference loop in its stead where
 * no call takes it, as past DSP_DIRECT_MAX_K). */
#define DSP_DIRECT(d) ((d).k > DSP_MAX_K || (d).n < ((d).m % 4 ? DSP_MIN_ROWS : DSP_MIN_ROWS_M4))
#define DSP_DIRECT_PW(c) DSP_PW_AS(DSP_DIRECT, c)
/* dsp_dense_direct's written-out loops: 16 pairs a turn (K >= 32), the first whole mod 16
 * pairs by eight and four, the last 2 or 3 outputs by halfwords (eight pairs a turn) */
#define DSP_DIRECT_Q16(d) (DSP_DIRECT(d) && (d).k >= 32)
#define DSP_DIRECT_Q16_PW(c) DSP_PW_AS(DSP_DIRECT_Q16, c)
#define DSP_DIRECT_P8(d) (DSP_DIRECT(d) && (d).k / 2 % 16 >= 8)
#define DSP_DIRECT_P8_PW(c) DSP_PW_AS(DSP_DIRECT_P8, c)
#define DSP_DIRECT_P4(d) (DSP_DIRECT(d) && (d).k / 2 % 8 >= 4)
#define DSP_DIRECT_P4_PW(c) DSP_PW_AS(DSP_DIRECT_P4, c)
#define DSP_DIRECT_H2(d) (DSP_DIRECT(d) && (d).m % 4 >= 2)
#define DSP_DIRECT_H2_PW(c) DSP_PW_AS(DSP_DIRECT_H2, c)
/* Four rows: dsp_dense_rows4 (its test); its one statement for all pairs with the doubled form
 * and the full clamp (dsp_rows4_block) by K and the output zero point */
#define DSP_ROWS4(d) \
    ((d).n == 4 && (d).k % 8 == 0 && (d).k >= 8 && (d).k <= DSP_ROWS4_MAX_K && (d).m % 2 == 0)
#define DSP_ROWS4_PW(c) DSP_PW_AS(DSP_ROWS4, c)
#define DSP_ROWS4_B(d) (DSP_ROWS4(d) && DSP_P_D2(d))
#define DSP_ROWS4_B_PW(c) DSP_PW_AS(DSP_ROWS4_B, c)
/* (a call that an earlier copy's test takes, that copy built, never reaches a later one) */
#define DSP_ROWS4_K32Z(d) (DSP_ROWS4_B(d) && (d).k == 32 && DSP_P_RELU(d))
#define DSP_ROWS4_K32Z_PW(c) DSP_PW_AS(DSP_ROWS4_K32Z, c)
#define DSP_ROWS4_K48Z(d) (DSP_ROWS4_B(d) && (d).k == 48 && DSP_P_RELU(d))
#define DSP_ROWS4_K48Z_PW(c) DSP_PW_AS(DSP_ROWS4_K48Z, c)
#define DSP_ROWS4_K64(d) (DSP_ROWS4_B(d) && (d).k % 64 == 0 && !DSP_P_RELU(d))
#define DSP_ROWS4_K64_PW(c) DSP_PW_AS(DSP_ROWS4_K64, c)
#define DSP_ROWS4_K32RZ(d) (DSP_ROWS4_B(d) && (d).k % 32 == 0 && (d).k != 32 && DSP_P_RELU(d))
#define DSP_ROWS4_K32RZ_PW(c) DSP_PW_AS(DSP_ROWS4_K32RZ, c)
#define DSP_ROWS4_K32R(d) (DSP_ROWS4_B(d) && (d).k % 64 == 32 && !DSP_P_RELU(d))
#define DSP_ROWS4_K32R_PW(c) DSP_PW_AS(DSP_ROWS4_K32R, c)
#define DSP_ROWS4_K24Z(d) \
    (DSP_ROWS4_B(d) && (d).k % 24 == 0 && (d).k % 32 && (d).k != 48 && DSP_P_RELU(d))
#define DSP_ROWS4_K24Z_PW(c) DSP_PW_AS(DSP_ROWS4_K24Z, c)
#define DSP_ROWS4_K24(d) (DSP_ROWS4_B(d) && (d).k % 24 == 0 && (d).k % 32 && !DSP_P_RELU(d))
#define DSP_ROWS4_K24_PW(c) DSP_PW_AS(DSP_ROWS4_K24, c)
#define DSP_ROWS4_Z(d) (DSP_ROWS4_B(d) && (d).k % 24 && (d).k % 32 && DSP_P_RELU(d))
#define DSP_ROWS4_Z_PW(c) DSP_PW_AS(DSP_ROWS4_Z, c)
/* The blocks' paths (dsp_rec_block, dsp_pair_block, dsp_repack): neither of the above */
#if defined(__OPTIMIZE_SIZE__)
#define DSP_BLOCKS(d) (!DSP_DIRECT(d))
#else
#define DSP_BLOCKS(d) (!DSP_DIRECT(d) && !DSP_ROWS4(d))
#endif
/* The records of K = 8 (dsp_rec_rows: the block's outputs, at most M, by 48 where M is, by 16
 * and 8) and K = 16 (dsp_rec_rows_halves: M of 8 or 96 written out; X: the rows doubled, fewer
 * than the block's outputs, at most M; not X: at least the outputs of a multiple of 8). M of 8
 * at K = 16 and of 48 at K = 8 with DSP_RQ_DOUBLE2Z are one record run of all M outputs or none
 * (the first block's, whose refusal leaves the later blocks to dsp_repack): their written-out
 * copies take them, never the loops. */
#define DSP_REC8(d) (DSP_BLOCKS(d) && (d).k == 8 && DSP_P_D2(d))
#define DSP_REC8_PW(c) DSP_PW_AS(DSP_REC8, c)
#define DSP_REC16(d) (DSP_BLOCKS(d) && (d).k == 16 && DSP_P_D2(d))
#define DSP_REC16_PW(c) DSP_PW_AS(DSP_REC16, c)
#define DSP_REC8_M48Z(d) (DSP_REC8(d) && (d).m == 48 && DSP_P_RELU(d))
#define DSP_REC8_M48Z_PW(c) DSP_PW_AS(DSP_REC8_M48Z, c)
#define DSP_REC8_16Z(d) (DSP_REC8(d) && (d).m >= 16 && (d).m != 48 && DSP_P_RELU(d))
#define DSP_REC8_16Z_PW(c) DSP_PW_AS(DSP_REC8_16Z, c)
#define DSP_REC8_16(d) (DSP_REC8(d) && (d).m >= 16 && !DSP_P_RELU(d))
#define DSP_REC8_16_PW(c) DSP_PW_AS(DSP_REC8_16, c)
#define DSP_REC8_8Z(d) (DSP_REC8(d) && (d).m >= 8 && (d).m != 48 && DSP_P_RELU(d))
#define DSP_REC8_8Z_PW(c) DSP_PW_AS(DSP_REC8_8Z, c)
#define DSP_REC8_8(d) (DSP_REC8(d) && (d).m >= 8 && !DSP_P_RELU(d))
#define DSP_REC8_8_PW(c) DSP_PW_AS(DSP_REC8_8, c)
#define DSP_REC8_Z(d) (DSP_REC8(d) && (d).m != 48 && DSP_P_RELU(d))
#define DSP_REC8_Z_PW(c) DSP_PW_AS(DSP_REC8_Z, c)
#define DSP_REC16_X(d) (DSP_REC16(d) && (d).n < (d).m)
#define DSP_REC16_X_PW(c) DSP_PW_AS(DSP_REC16_X, c)
#define DSP_REC16_OF(d, M, z, x) \
    (DSP_REC16(d) && (M) && DSP_P_RELU(d) == ((z) > 0) && ((x) ? (d).n < (d).m : (d).n >= 8))
#define DSP_REC16_H8ZX(d) DSP_REC16_OF(d, (d).m == 8, 1, 1)
#define DSP_REC16_H8ZX_PW(c) DSP_PW_AS(DSP_REC16_H8ZX, c)
#define DSP_REC16_H8Z(d) DSP_REC16_OF(d, (d).m == 8, 1, 0)
#define DSP_REC16_H8Z_PW(c) DSP_PW_AS(DSP_REC16_H8Z, c)
#define DSP_REC16_H8X(d) DSP_REC16_OF(d, (d).m == 8, 0, 1)
#define DSP_REC16_H8X_PW(c) DSP_PW_AS(DSP_REC16_H8X, c)
#define DSP_REC16_H8(d) DSP_REC16_OF(d, (d).m == 8, 0, 0)
#define DSP_REC16_H8_PW(c) DSP_PW_AS(DSP_REC16_H8, c)
#define DSP_REC16_H96X(d) DSP_REC16_OF(d, (d).m == 96, 1, 1)
#define DSP_REC16_H96X_PW(c) DSP_PW_AS(DSP_REC16_H96X, c)
#define DSP_REC16_H96(d) DSP_REC16_OF(d, (d).m == 96 && (d).n >= 96, 1, 0)
#define DSP_REC16_H96_PW(c) DSP_PW_AS(DSP_REC16_H96, c)
#define DSP_REC16_16ZX(d) DSP_REC16_OF(d, (d).m >= 16, 1, 1)
#define DSP_REC16_16ZX_PW(c) DSP_PW_AS(DSP_REC16_16ZX, c)
#define DSP_REC16_16Z(d) DSP_REC16_OF(d, (d).m >= 16 && (d).n >= 16, 1, 0)
#define DSP_REC16_16Z_PW(c) DSP_PW_AS(DSP_REC16_16Z, c)
#define DSP_REC16_16X(d) DSP_REC16_OF(d, (d).m >= 16, 0, 1)
#define DSP_REC16_16X_PW(c) DSP_PW_AS(DSP_REC16_16X, c)
#define DSP_REC16_16(d) DSP_REC16_OF(d, (d).m >= 16 && (d).n >= 16, 0, 0)
#define DSP_REC16_16_PW(c) DSP_PW_AS(DSP_REC16_16, c)
#define DSP_REC16_8ZX(d) DSP_REC16_OF(d, (d).m > 8, 1, 1)
#define DSP_REC16_8ZX_PW(c) DSP_PW_AS(DSP_REC16_8ZX, c)
#define DSP_REC16_8Z(d) DSP_REC16_OF(d, (d).m > 8, 1, 0)
#define DSP_REC16_8Z_PW(c) DSP_PW_AS(DSP_REC16_8Z, c)
#define DSP_REC16_8X(d) DSP_REC16_OF(d, (d).m > 8, 0, 1)
#define DSP_REC16_8X_PW(c) DSP_PW_AS(DSP_REC16_8X, c)
#define DSP_REC16_8(d) DSP_REC16_OF(d, (d).m > 8, 0, 0)
#define DSP_REC16_8_PW(c) DSP_PW_AS(DSP_REC16_8, c)
#define DSP_REC16_Z(d) (DSP_REC16(d) && (d).m != 8 && DSP_P_RELU(d))
#define DSP_REC16_Z_PW(c) DSP_PW_AS(DSP_REC16_Z, c)
/* cnnc_s8_dsp_block_rows' copies by the block's form (r: the rounding it needs; the fast forms
 * the full clamp), the output zero point (z: 1 DSP_RQ_DOUBLE2Z, 0 not, -1 either) and the
 * quads written out (q: 2..4, 0 any, -1 none of them), over the dense calls that reach the
 * blocks (dsp_repack: where a record path refuses too) and the convs (cnnc_s8_conv__dsp's
 * im2col rows of K = kh kw C/G: DSP_BLOCK_CALLS). The copy without the output zero point's
 * test serves its calls only where the copy with it is not built. */
#define DSP_BR_OF(v, k, r, z, q)                                                        \
    (DSP_P_FULL(v) && (v).rounding == (r) && ((z) < 0 || DSP_P_RELU(v) == ((z) > 0)) && \
     ((q) == 0 || ((q) < 0 ? ((k) + 3) / 4 < 2 || ((k) + 3) / 4 > 4 : ((k) + 3) / 4 == (q))))
#define DSP_BR_DENSE(d, r, z, q) (DSP_BLOCKS(d) && DSP_BR_OF(d, (d).k, r, z, q))
#define DSP_CONV_K(v) ((v).kernel_h * (v).kernel_w * ((v).c / (v).groups))
#define DSP_BR_CONV(v, r, z, q)                                                  \
    ((v).dilation_h == 1 && (v).dilation_w == 1 && DSP_CONV_K(v) <= DSP_MAX_K && \
     DSP_BR_OF(v, DSP_CONV_K(v), r, z, q))
#define DSP_BLOCK_CALLS(P) (DSP_DENSE_CALLS(P) || CNNC_MODEL_CALLS(s8_conv, P##_CONV))
#define DSP_BR_Z2(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, 1, 2)
#define DSP_BR_Z2_PW(c) DSP_PW_AS(DSP_BR_Z2, c)
#define DSP_BR_Z2_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, 1, 2)
#define DSP_BR_Z4(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, 1, 4)
#define DSP_BR_Z4_PW(c) DSP_PW_AS(DSP_BR_Z4, c)
#define DSP_BR_Z4_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, 1, 4)
#define DSP_BR_N2(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, 0, 2)
#define DSP_BR_N2_PW(c) DSP_PW_AS(DSP_BR_N2, c)
#define DSP_BR_N2_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, 0, 2)
#define DSP_BR_Q3(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, -1, 3)
#define DSP_BR_Q3_PW(c) DSP_PW_AS(DSP_BR_Q3, c)
#define DSP_BR_Q3_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, -1, 3)
#define DSP_BR_N4(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, 0, 4)
#define DSP_BR_N4_PW(c) DSP_PW_AS(DSP_BR_N4, c)
#define DSP_BR_N4_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, 0, 4)
#define DSP_BR_QX(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, -1, -1)
#define DSP_BR_QX_PW(c) DSP_PW_AS(DSP_BR_QX, c)
#define DSP_BR_QX_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, -1, -1)
#define DSP_BR_D(d) DSP_BR_DENSE(d, CNNC_ROUND_DOUBLE, -1, 0)
#define DSP_BR_D_PW(c) DSP_PW_AS(DSP_BR_D, c)
#define DSP_BR_D_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_DOUBLE, -1, 0)
#define DSP_BR_S(d) DSP_BR_DENSE(d, CNNC_ROUND_SINGLE, -1, 0)
#define DSP_BR_S_PW(c) DSP_PW_AS(DSP_BR_S, c)
#define DSP_BR_S_CONV(v) DSP_BR_CONV(v, CNNC_ROUND_SINGLE, -1, 0)
/* Each test of the model's calls in a function of its own: there gcc folds it to a constant
 * before inlining; in the kernels' large bodies its limits left many of the calls' literals
 * unfolded, built on the stack at run time (cnnc_s8_dsp_block_rows: 38 KB, 13 KB with all). */
#define DSP_CALLS_FN(X) \
    DSP_ALWAYS_INLINE int dsp_calls_##X(void) { return DSP_DENSE_CALLS(DSP_##X); }
#define DSP_BLOCK_CALLS_FN(X) \
    DSP_ALWAYS_INLINE int dsp_calls_##X(void) { return DSP_BLOCK_CALLS(DSP_##X); }
DSP_CALLS_FN(DIRECT)
DSP_CALLS_FN(DIRECT_Q16)
DSP_CALLS_FN(DIRECT_P8)
DSP_CALLS_FN(DIRECT_P4)
DSP_CALLS_FN(DIRECT_H2)
#if !defined(__OPTIMIZE_SIZE__)
DSP_CALLS_FN(ROWS4)
DSP_CALLS_FN(ROWS4_B)
DSP_CALLS_FN(ROWS4_K32Z)
DSP_CALLS_FN(ROWS4_K48Z)
DSP_CALLS_FN(ROWS4_K64)
DSP_CALLS_FN(ROWS4_K32RZ)
DSP_CALLS_FN(ROWS4_K32R)
DSP_CALLS_FN(ROWS4_K24Z)
DSP_CALLS_FN(ROWS4_K24)
DSP_CALLS_FN(ROWS4_Z)
DSP_CALLS_FN(REC8)
DSP_CALLS_FN(REC16)
DSP_CALLS_FN(REC8_M48Z)
DSP_CALLS_FN(REC8_16Z)
DSP_CALLS_FN(REC8_16)
DSP_CALLS_FN(REC8_8Z)
DSP_CALLS_FN(REC8_8)
DSP_CALLS_FN(REC8_Z)
DSP_CALLS_FN(REC16_X)
DSP_CALLS_FN(REC16_H8ZX)
DSP_CALLS_FN(REC16_H8Z)
DSP_CALLS_FN(REC16_H8X)
DSP_CALLS_FN(REC16_H8)
DSP_CALLS_FN(REC16_H96X)
DSP_CALLS_FN(REC16_H96)
DSP_CALLS_FN(REC16_16ZX)
DSP_CALLS_FN(REC16_16Z)
DSP_CALLS_FN(REC16_16X)
DSP_CALLS_FN(REC16_16)
DSP_CALLS_FN(REC16_8ZX)
DSP_CALLS_FN(REC16_8Z)
DSP_CALLS_FN(REC16_8X)
DSP_CALLS_FN(REC16_8)
DSP_CALLS_FN(REC16_Z)
DSP_BLOCK_CALLS_FN(BR_Z2)
DSP_BLOCK_CALLS_FN(BR_Z4)
DSP_BLOCK_CALLS_FN(BR_N2)
DSP_BLOCK_CALLS_FN(BR_Q3)
DSP_BLOCK_CALLS_FN(BR_N4)
DSP_BLOCK_CALLS_FN(BR_QX)
DSP_BLOCK_CALLS_FN(BR_D)
DSP_BLOCK_CALLS_FN(BR_S)
#endif

/* One input pair of one row into outputs o..o+3 (dsp_dense_direct's loop body): the words
 * w[k][o..o+3] and w[k+1][o..o+3] (in r0 and r1) PKHBT/PKHTB into their low and high halves
 * side by side, whose SXTB16 even and odd bytes are the pairs (w[k][j], w[k+1][j]) of the
 * four outputs j, each one SMLAD with the row's (x[k] - zp, x[k+1] - zp) in X: 10
 * instructions for 8 MACs besides the loads, the least for weights in [K, M] (each byte's
 * widening is its own, two rows' bytes must meet in one word). In asm: gcc's allocation of
 * the C form spilled the sums. */
#define DSP_ASM_PAIR_WORDS_MACS(X)           \
    "pkhbt %[t], %[r0], %[r1], lsl #16\n\t"  \
    "pkhtb %[r1], %[r1], %[r0], asr #16\n\t" \
    "sxtb16 %[r0], %[t]\n\t"                 \
    "smlad %[a0], " X                        \
    ", %[r0], %[a0]\n\t"                     \
    "sxtb16 %[t], %[t], ror #8\n\t"          \
    "smlad %[a1], " X                        \
    ", %[t], %[a1]\n\t"                      \
    "sxtb16 %[r0], %[r1]\n\t"                \
    "smlad %[a2], " X                        \
    ", %[r0], %[a2]\n\t"                     \
    "sxtb16 %[r1], %[r1], ror #8\n\t"        \
    "smlad %[a3], " X ", %[r1], %[a3]\n\t"
/* The words at w and w + m (w then moves 2 rows on): 13 instructions for 8 MACs. */
#define DSP_ASM_PAIR_MACS(X)      \
    "ldr %[r0], [%[w]]\n\t"       \
    "ldr %[r1], [%[w], %[m]]\n\t" \
    "add %[w], %[w], %[m], lsl #1\n\t" DSP_ASM_PAIR_WORDS_MACS(X)
#define DSP_ASM_PAIR()                                                               \
    __asm__ __volatile__(                                                            \
        "ldr %[x], [%[xp]], #4\n\t" DSP_ASM_PAIR_MACS("%[x]")                        \
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(xv), \
          [r0] "=&r"(r0), [r1] "=&r"(r1), [t] "=&r"(t), [w] "+r"(wr), [xp] "+r"(xq)  \
        : [m] "r"(m)                                                                 \
        : "memory")

#if !defined(__OPTIMIZE_SIZE__)
/* Input pairs BODY a turn (DSP_ASM_PAIRS4: four) until xq reaches end: the row's words two at
 * a time by LDRD, so a word of x is loaded once per 8 MACs: 54 instructions for 32 MACs. */
#define DSP_ASM_PAIRS4                                                                             \
    "ldrd %[x0], %[x1], [%[xp]], #8\n\t" DSP_ASM_PAIR_MACS("%[x0]")                                \
        DSP_ASM_PAIR_MACS("%[x1]") "ldrd %[x0], %[x1], [%[xp]], #8\n\t" DSP_ASM_PAIR_MACS("%[x0]") \
            DSP_ASM_PAIR_MACS("%[x1]")
#define DSP_ASM_PAIRS_LOOP(BODY, END)                                                      \
    __asm__ __volatile__("1:\n\t" BODY                                                     \
                         "cmp %[xp], %[end]\n\t"                                           \
                         "blo 1b"                                                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [x0] "=&r"(x0), [x1] "=&r"(x1), [r0] "=&r"(r0), [r1] "=&r"(r1), \
                           [t] "=&r"(t), [w] "+r"(wr), [xp] "+r"(xq)                       \
                         : [m] "r"(m), [end] "r"(END)                                      \
                         : "memory", "cc")

/* The pair after a row's last whole pair while DSP_ASM_DIRECT_QUADS_LOOP runs: no pair is
 * it (each half of a pair x - zp is in -255..255); a Thumb-2 modified immediate, the
 * operand of the loop's CMP. */
#define DSP_DIRECT_END 0x80008000u
/* Four rows 4q..4q+3 (the pairs in X0 and X1) into outputs o..o+3: their words at w, w + m,
 * w + 2m (m, lsl #1) and w + 3m (m3), one ADD for the four rows: 25 instructions for 16
 * MACs. */
#define DSP_ASM_DIRECT_QUAD_MACS(X0, X1) \
    "ldr %[r0], [%[w]]\n\t"                                       \
    "ldr %[r1], [%[w], %[m]]\n\t" DSP_ASM_PAIR_WORDS_MACS(X0)     \
    "ldr %[r0], [%[w], %[m], lsl #1]\n\t"                         \
    "ldr %[r1], [%[w], %[m3]]\n\t"                                \
    "add %[w], %[w], %[m], lsl #2\n\t" DSP_ASM_PAIR_WORDS_MACS(X1)
#define DSP_ASM_DIRECT_QUADX \
    DSP_ASM_DIRECT_QUAD_MACS("%[x0]", "%[x1]") "ldrd %[x0], %[x1], [%[xp]], #8\n\t"
#define DSP_ASM_DIRECT_QUADX4 \
    DSP_ASM_DIRECT_QUADX DSP_ASM_DIRECT_QUADX DSP_ASM_DIRECT_QUADX DSP_ASM_DIRECT_QUADX
/* Sixteen input pairs a turn until the pair loaded next is DSP_DIRECT_END (whose place ends
 * the turns: no register for the end, one for 3m): x two words by LDRD a turn ahead, 210
 * instructions for 128 MACs (DSP_ASM_PAIRS_LOOP: 220). */
#define DSP_ASM_DIRECT_QUADS_LOOP()                                                   \
    __asm__ __volatile__(                                                             \
        "ldrd %[x0], %[x1], [%[xp]], #8\n\t"                                          \
        "1:\n\t" DSP_ASM_DIRECT_QUADX4 DSP_ASM_DIRECT_QUADX4                          \
        "cmp %[x0], #0x80008000\n\t"                                                  \
        "bne 1b"                                                                      \
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x0] "=&r"(x0), \
          [x1] "=&r"(x1), [r0] "=&r"(r0), [r1] "=&r"(r1), [t] "=&r"(t), [w] "+r"(wr), \
          [xp] "+r"(xq)                                                               \
        : [m] "r"(m), [m3] "r"(m3)                                                    \
        : "memory", "cc")

/* One input pair of one row into outputs o, o+1 (the last 2 or 3 of M): the halfwords
 * w[k][o..o+1] and w[k+1][o..o+1] (in r0 and r1) PKHBT side by side, their SXTB16 even and
 * odd bytes the two outputs' pairs: 5 instructions for 4 MACs besides the loads. */
#define DSP_ASM_PAIR2_WORDS_MACS(X)          \
    "pkhbt %[r0], %[r0], %[r1], lsl #16\n\t" \
    "sxtb16 %[r1], %[r0]\n\t"                \
    "smlad %[a0], " X                        \
    ", %[r1], %[a0]\n\t"                     \
    "sxtb16 %[r0], %[r0], ror #8\n\t"        \
    "smlad %[a1], " X ", %[r0], %[a1]\n\t"
/* Four rows 4q..4q+3 into outputs o, o+1, their halfwords at w, w + m, w + 2m and w + 3m as
 * DSP_ASM_DIRECT_QUAD_MACS': 15 instructions for 8 MACs. */
#define DSP_ASM_DIRECT_QUAD2_MACS(X0, X1) \
    "ldrh %[r0], [%[w]]\n\t"                                       \
    "ldrh %[r1], [%[w], %[m]]\n\t" DSP_ASM_PAIR2_WORDS_MACS(X0)     \
    "ldrh %[r0], [%[w], %[m], lsl #1]\n\t"                         \
    "ldrh %[r1], [%[w], %[m3]]\n\t"                                \
    "add %[w], %[w], %[m], lsl #2\n\t" DSP_ASM_PAIR2_WORDS_MACS(X1)
#define DSP_ASM_DIRECT_QUAD2X \
    DSP_ASM_DIRECT_QUAD2_MACS("%[x0]", "%[x1]") "ldrd %[x0], %[x1], [%[xp]], #8\n\t"
/* Eight input pairs a turn into outputs o, o+1 until DSP_DIRECT_END, as
 * DSP_ASM_DIRECT_QUADS_LOOP: 66 instructions for 32 MACs. */
#define DSP_ASM_DIRECT_QUADS2_LOOP()                                                    \
    __asm__ __volatile__(                                                               \
        "ldrd %[x0], %[x1], [%[xp]], #8\n\t"                                            \
        "1:\n\t" DSP_ASM_DIRECT_QUAD2X DSP_ASM_DIRECT_QUAD2X DSP_ASM_DIRECT_QUAD2X      \
            DSP_ASM_DIRECT_QUAD2X                                                       \
        "cmp %[x0], #0x80008000\n\t"                                                    \
        "bne 1b"                                                                        \
        : [a0] "+r"(a0), [a1] "+r"(a1), [x0] "=&r"(x0), [x1] "=&r"(x1), [r0] "=&r"(r0), \
          [r1] "=&r"(r1), [w] "+r"(wr), [xp] "+r"(xq)                                   \
        : [m] "r"(m), [m3] "r"(m3)                                                      \
        : "memory", "cc")
#endif

/* One output of dsp_dense_direct: DSP_RQ_DOUBLE's arithmetic straight from the output's
 * multiplier and shift (dsp_rq_make's test and rounding term, without the record: ~15
 * instructions an output where dsp_rq_make_n and dsp_requant's dispatch took ~60), other
 * forms (and all at -Os) through dsp_requant, out of line. */
static __attribute__((noinline)) int8_t dsp_direct_rq_any(int32_t acc, int32_t m, int32_t s,
                                                          const dsp_out *o) {
    dsp_rq q;
    const int32_t form = dsp_rq_make(&q, m, s, o);
    return dsp_requant(acc, form, &q, o);
}
DSP_ALWAYS_INLINE int8_t dsp_direct_rq(int32_t acc, int32_t m, int32_t s, const dsp_out *o) {
#if !defined(__OPTIMIZE_SIZE__)
    if (o->rounding == CNNC_ROUND_DOUBLE && m >= ((int32_t)1 << 30) && s <= -1 && s >= -20) {
        /* 2^(e-1) + zp 2^e as one shift (modulo 2^32 as dsp_rq_make's) */
        const int32_t e = -s, c = (int32_t)((uint32_t)(2 * o->zero_point + 1) << (e - 1));
        return dsp_clamp(dsp_smmlar(__qadd(acc, acc), m, c + (acc >> 31)) >> e, o);
    }
#endif
    return dsp_direct_rq_any(acc, m, s, o);
}

/* Few rows (the classifier's one; fewer than DSP_MIN_ROWS, or K above DSP_MAX_K): no
 * repacking, each weight read once per row. The row's pairs (x[2i] - zp, x[2i+1] - zp)
 * (SXTAB16 onto (-zp, -zp), then PKHBT/PKHTB; 0 past K) are formed once; the weights of
 * 4 outputs in rows k and k+1 become the four pairs of one SMLAD each (DSP_ASM_PAIR). Not at
 * -Os: the first whole mod 16 pairs by eight, four (DSP_ASM_PAIRS_LOOP) and one, then 16 a
 * turn, four rows per ADD, until DSP_DIRECT_END after the last whole pair
 * (DSP_ASM_DIRECT_QUADS_LOOP); two of the last 2 or 3 outputs read halfwords (the first whole
 * mod 8 pairs in C, then DSP_ASM_DIRECT_QUADS2_LOOP), the others bytes. The sums start at the
 * bias, exact modulo 2^32 (s8_dsp.h); requantised by dsp_direct_rq (any form). */
static void dsp_dense_direct(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift,
                             int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t k = p->k, m = p->m, m4 = m & ~3, pairs = (k + 1) / 2, whole = k / 2;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    /* [pairs] (x[2i] - zp, x[2i+1] - zp), 0 past K; in the turns DSP_DIRECT_END at [whole] and
     * a word after it (their LDRD) */
    uint32_t xp[DSP_DIRECT_MAX_K / 2 + 2];
    int32_t b, o, i;
    uint32_t xodd;
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * k;
        int8_t *yb = y + (size_t)b * m;
        const int8_t *xi = xb, *const x4 = xb + (k & ~3);
        uint32_t *xo = xp;
#if !defined(__OPTIMIZE_SIZE__)
        for (; xi < xb + (k & ~7); xi += 8, xo += 4) { /* two words a turn */
            const uint32_t v = dsp_load4(xi), u = dsp_load4(xi + 4);
            const uint32_t e = dsp_even_add(nzp, v), od = dsp_odd_add(nzp, v);
            const uint32_t eu = dsp_even_add(nzp, u), ou = dsp_odd_add(nzp, u);
            xo[0] = dsp_pkhbt(e, od), xo[1] = dsp_pkhtb(od, e);
            xo[2] = dsp_pkhbt(eu, ou), xo[3] = dsp_pkhtb(ou, eu);
        }
#endif
        for (; xi < x4; xi += 4, xo += 2) {
            const uint32_t v = dsp_load4(xi);
            const uint32_t e = dsp_even_add(nzp, v), od = dsp_odd_add(nzp, v);
            xo[0] = dsp_pkhbt(e, od), xo[1] = dsp_pkhtb(od, e);
        }
        for (i = k & ~3; i < k; i += 2) {
            const int32_t hi = i + 1 < k ? xb[i + 1] - p->x_zero_point : 0;
            xp[i / 2] = dsp_pack16(xb[i] - p->x_zero_point, hi);
        }
        xodd = xp[pairs - 1]; /* the last input's pair where K is odd */
#if !defined(__OPTIMIZE_SIZE__)
        xp[whole] = DSP_DIRECT_END;
#endif
        for (o = 0; o < m4; o += 4) {
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
            const int8_t *wr = w + o; /* row k of outputs o..o+3 */
            const uint32_t *xq = xp;
#if !defined(__OPTIMIZE_SIZE__)
            /* the first whole mod 16 pairs, then the turns of 16 up to DSP_DIRECT_END */
            const uint32_t *const xend = xp + (dsp_calls_DIRECT_Q16() ? whole & 15 : whole);
            uint32_t x0, x1, r0, r1, t;
            if (dsp_calls_DIRECT_P8() && (whole & 8))
                DSP_ASM_PAIRS_LOOP(DSP_ASM_PAIRS4 DSP_ASM_PAIRS4, xq + 8);
            if (dsp_calls_DIRECT_P4() && (whole & 4)) DSP_ASM_PAIRS_LOOP(DSP_ASM_PAIRS4, xq + 4);
#else
            const uint32_t *const xend = xp + whole;
#endif
            while (xq < xend) {
                uint32_t xv, r0, r1, t;
                DSP_ASM_PAIR();
            }
#if !defined(__OPTIMIZE_SIZE__)
            if (dsp_calls_DIRECT_Q16() && whole >= 16) {
                const int32_t m3 = 3 * m;
                DSP_ASM_DIRECT_QUADS_LOOP();
            }
#endif
            if (k & 1) { /* the last input alone: w[k][o] in the low lanes */
                const uint32_t wa = dsp_load4(wr);
                const uint32_t ae = (uint32_t)dsp_even(wa), ao = (uint32_t)dsp_odd(wa);
                const int32_t xv = (int32_t)xodd;
                a0 = __smlad(xv, (int32_t)(ae & 0xFFFFu), a0);
                a1 = __smlad(xv, (int32_t)(ao & 0xFFFFu), a1);
                a2 = __smlad(xv, (int32_t)(ae >> 16), a2);
                a3 = __smlad(xv, (int32_t)(ao >> 16), a3);
            }
            yb[o] = dsp_direct_rq(a0, mult[o], shift[o], &out);
            yb[o + 1] = dsp_direct_rq(a1, mult[o + 1], shift[o + 1], &out);
            yb[o + 2] = dsp_direct_rq(a2, mult[o + 2], shift[o + 2], &out);
            yb[o + 3] = dsp_direct_rq(a3, mult[o + 3], shift[o + 3], &out);
        }
        o = m4;
#if !defined(__OPTIMIZE_SIZE__)
        if (dsp_calls_DIRECT_H2() && m - m4 >= 2) { /* outputs o, o+1 of the last 2 or 3: halfwords
                              w[k][o..o+1] and w[k+1][o..o+1] side by side, their SXTB16 even and
                              odd bytes the two outputs' pairs (as dsp_rows4_pair) */
            const int8_t *wr = w + o;
            int32_t a0 = bias[o], a1 = bias[o + 1];
            /* the first whole mod 8 pairs, then the turns of eight up to DSP_DIRECT_END */
            for (i = 0; i < (whole & 7); ++i, wr += 2 * (size_t)m) {
                uint16_t h0, h1;
                uint32_t t;
                CNNC_COPY(&h0, wr, sizeof h0);
                CNNC_COPY(&h1, wr + m, sizeof h1);
                t = dsp_pkhbt(h0, h1);
                a0 = __smlad((int32_t)xp[i], dsp_even(t), a0);
                a1 = __smlad((int32_t)xp[i], dsp_odd(t), a1);
            }
            if (whole >= 8) {
                const uint32_t *xq = xp + (whole & 7);
                const int32_t m3 = 3 * m;
                uint32_t x0, x1, r0, r1;
                DSP_ASM_DIRECT_QUADS2_LOOP();
            }
            if (k & 1) {
                a0 = __smlad((int32_t)xodd, wr[0] & 0xFFFF, a0);
                a1 = __smlad((int32_t)xodd, wr[1] & 0xFFFF, a1);
            }
            yb[o] = dsp_direct_rq(a0, mult[o], shift[o], &out);
            yb[o + 1] = dsp_direct_rq(a1, mult[o + 1], shift[o + 1], &out);
            o += 2;
        }
#endif
        for (; o < m; ++o) { /* the last 1 to 3 outputs: pairs (w[2i][o], w[2i+1][o]) */
            const int8_t *wr = w + o;
            int32_t acc = bias[o];
            for (i = 0; i < whole; ++i, wr += 2 * (size_t)m)
                acc = __smlad((int32_t)xp[i], (int32_t)dsp_pack16(wr[0], wr[m]), acc);
            if (k & 1) acc = __smlad((int32_t)xodd, wr[0] & 0xFFFF, acc);
            yb[o] = dsp_direct_rq(acc, mult[o], shift[o], &out);
        }
    }
}

#if !defined(__OPTIMIZE_SIZE__)
/* The four-row path's input records (dsp_dense_rows4's xb, 6 words each): per quad q of inputs
 * one record of the input pair (4q, 4q+2) and one of (4q+1, 4q+3), the even and odd bytes of
 * the quad, so that SXTAB16 forms a row's two words without packing; a record holds the byte
 * offsets j m and j' m of its pair's weight rows, then the four rows' (x[j] - zp, x[j'] - zp)
 * (doubled for DSP_RQ_DOUBLE2). A record whose first word is DSP_ROWS4_END follows the last
 * one: no offset reaches it (the weights would span 4 GB). */
#define DSP_ROWS4_END 0xFF000000u /* a Thumb-2 modified immediate, CMP's operand below */

/* One record's pair (j, j') of the four rows into outputs o, o+1 (dsp_rows4_pair,
 * dsp_rows4_block): after DSP_ASM_ROWS4_LDM has loaded the record at lr (its offsets into r8,
 * r9, rows 0 and 1 into r10, r11; rows 2 and 3 follow by LDRD), the halfwords w[j][o..o+1]
 * and w[j'][o..o+1] (r12 at w[0][o], fixed for the pair) PKHBT side by side, whose SXTB16
 * even and odd bytes are the pairs (w[j][o], w[j'][o]) and (w[j][o+1], w[j'][o+1]), each one
 * SMLAD with every row's word: accumulators r0..r7 = (row 0: o, o+1), (row 1: o, o+1), ...
 * 15 instructions for 16 MACs with the LDM (the offsets in the record spare a register for
 * M and the pointer's ADD). */
/* clang-format off */
#define DSP_ASM_ROWS4_LDM "ldm lr!, {r8, r9, r10, r11}\n\t"
#define DSP_ASM_ROWS4_BODY                \
    "ldrh r8, [r12, r8]\n\t"              \
    "ldrh r9, [r12, r9]\n\t"              \
    "pkhbt r8, r8, r9, lsl #16\n\t"       \
    "sxtb16 r9, r8\n\t"                   \
    "sxtb16 r8, r8, ror #8\n\t"           \
    "smlad r0, r10, r9, r0\n\t"           \
    "smlad r1, r10, r8, r1\n\t"           \
    "smlad r2, r11, r9, r2\n\t"           \
    "smlad r3, r11, r8, r3\n\t"           \
    "ldrd r10, r11, [lr], #8\n\t"         \
    "smlad r4, r10, r9, r4\n\t"           \
    "smlad r5, r10, r8, r5\n\t"           \
    "smlad r6, r11, r9, r6\n\t"           \
    "smlad r7, r11, r8, r7\n\t"
#define DSP_ASM_ROWS4_PAIR DSP_ASM_ROWS4_LDM DSP_ASM_ROWS4_BODY
/* clang-format on */

/* The loop of dsp_rows4_pair: the sums r0..r7 start at the pair's biases (INIT puts them in
 * r0, r1 from r8), then the input pairs four per iteration (K is a multiple of 8) until lr
 * reaches the records' end, the word at [sp, #END]. */
/* clang-format off */
#define DSP_ASM_ROWS4_PAIRS4 \
    DSP_ASM_ROWS4_PAIR DSP_ASM_ROWS4_PAIR DSP_ASM_ROWS4_PAIR DSP_ASM_ROWS4_PAIR
#define DSP_ASM_ROWS4_LOOP(INIT, END, PAIRS)      \
    INIT                                          \
    "mov r2, r0\n\t"                              \
    "mov r3, r1\n\t"                              \
    "mov r4, r0\n\t"                              \
    "mov r5, r1\n\t"                              \
    "mov r6, r0\n\t"                              \
    "mov r7, r1\n\t"                              \
    "1:\n\t"                                      \
    PAIRS                                         \
    "ldr r8, [sp, #" END "]\n\t"                  \
    "cmp lr, r8\n\t"                              \
    "bne 1b\n\t"
/* clang-format on */

/* acc[2 r + t] = bias2[t] + sum_k (x_r[k] - zp) w[k][o + t] for the four rows r and t = 0, 1
 * (w at w[0][o], xb the records of dsp_dense_rows4, xend past them). All 14 registers hold
 * the loop (8 sums, 2 weight words, 2 input words, the two pointers), so xend and acc wait
 * on the stack, pushed and popped inside the statement (no gcc operand refers to sp in
 * between). Those bytes (8 here, 24 in dsp_rows4_block) are not in GCC's frame sizes
 * (cnnc.host.mcu_stack): this path's frames (dsp_rows4_* under cnnc_s8_dense__dsp) stay well
 * below the block path's (cnnc_s8_dsp_block_rows and its 1 KB row), which bounds the worst
 * case. */
static __attribute__((noinline)) void dsp_rows4_pair(const int8_t *w, const uint32_t *xb,
                                                     const uint32_t *xend, int32_t *acc,
                                                     const int32_t *bias2) {
    register const int32_t *rb __asm__("r8") = bias2;
    register const uint32_t *re __asm__("r9") = xend;
    register int32_t *ra __asm__("r10") = acc;
    register const int8_t *rw __asm__("r12") = w;
    register const uint32_t *rx __asm__("lr") = xb;
    __asm__ __volatile__("push {r9, r10}\n\t" DSP_ASM_ROWS4_LOOP("ldrd r0, r1, [r8]\n\t", "0", DSP_ASM_ROWS4_PAIRS4)
                         "ldr r8, [sp, #4]\n\t"
                         "stm r8, {r0, r1, r2, r3, r4, r5, r6, r7}\n\t"
                         "add sp, sp, #8"
                         : "+r"(rb), "+r"(re), "+r"(ra), "+r"(rw), "+r"(rx)
                         :
                         : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r11", "cc",
                           "memory");
}

/* One sum a of a pair's output requantised by DSP_RQ_DOUBLE2 with the full clamp (e r9,
 * m r10, c r11, r8 spare) and stored at AT; DSP_ASM_ROWS4_RQZ: DSP_RQ_DOUBLE2Z (no sign's
 * term; s8_dsp.h). No instruction sets the flags (dsp_rows4_block's CMP waits over them). */
/* clang-format off */
#define DSP_ASM_ROWS4_RQ(a, at)                   \
    "add r8, r11, " a ", asr #31\n\t"             \
    "smmlar " a ", " a ", r10, r8\n\t"            \
    "asr " a ", " a ", r9\n\t"                    \
    "ssat " a ", #8, " a "\n\t"                   \
    "strb " a ", " at "\n\t"
#define DSP_ASM_ROWS4_RQZ(a, at)                  \
    "smmlar " a ", " a ", r10, r11\n\t"           \
    "asr " a ", " a ", r9\n\t"                    \
    "ssat " a ", #8, " a "\n\t"                   \
    "strb " a ", " at "\n\t"
/* clang-format on */

/* DSP_ASM_ROWS4_BODY for the pair's first record: its SMLADs start the sums from the doubled
 * biases of o in r0 and of o+1 in r2 (rows 2 and 3 loaded into r5, r7, free until written;
 * each bias's register last), sparing DSP_ASM_ROWS4_LOOP's six MOVs. */
/* clang-format off */
#define DSP_ASM_ROWS4_FIRST               \
    "ldrh r8, [r12, r8]\n\t"              \
    "ldrh r9, [r12, r9]\n\t"              \
    "pkhbt r8, r8, r9, lsl #16\n\t"       \
    "sxtb16 r9, r8\n\t"                   \
    "sxtb16 r8, r8, ror #8\n\t"           \
    "ldrd r5, r7, [lr], #8\n\t"           \
    "smlad r4, r5, r9, r0\n\t"            \
    "smlad r5, r5, r8, r2\n\t"            \
    "smlad r6, r7, r9, r0\n\t"            \
    "smlad r7, r7, r8, r2\n\t"            \
    "smlad r1, r10, r8, r2\n\t"           \
    "smlad r3, r11, r8, r2\n\t"           \
    "smlad r2, r11, r9, r0\n\t"           \
    "smlad r0, r10, r9, r0\n\t"
#define DSP_ASM_ROWS4_NEXT DSP_ASM_ROWS4_LDM DSP_ASM_ROWS4_BODY
#define DSP_ASM_ROWS4_NEXT3 DSP_ASM_ROWS4_NEXT DSP_ASM_ROWS4_NEXT DSP_ASM_ROWS4_NEXT
#define DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT3 DSP_ASM_ROWS4_NEXT
#define DSP_ASM_ROWS4_NEXT11 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT3
#define DSP_ASM_ROWS4_NEXT15 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT11
#define DSP_ASM_ROWS4_NEXT23 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT15
#define DSP_ASM_ROWS4_NEXT31 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT4 DSP_ASM_ROWS4_NEXT23
/* The input records of one pair of outputs, U a turn (REST: the U - 1 after the first): the
 * first turn enters after its first record (DSP_ASM_ROWS4_FIRST), and each turn loads the
 * next turn's first record at its end, whose first word DSP_ROWS4_END ends the loop: 2
 * instructions a turn and one a pair of outputs. */
#define DSP_ASM_ROWS4_KLOOP(REST)                 \
    DSP_ASM_ROWS4_LDM                             \
    DSP_ASM_ROWS4_FIRST                           \
    "b 5f\n\t"                                    \
    "1:\n\t"                                      \
    DSP_ASM_ROWS4_BODY                            \
    "5:\n\t"                                      \
    REST                                          \
    DSP_ASM_ROWS4_LDM                             \
    "cmp r8, #0xff000000\n\t"                     \
    "bne 1b\n\t"
/* K of 32 and 48 written out (the MobileNets' 2x2 expansions, hence only with the output zero
 * point -128: their projections' K is 6 times larger), REST all the records after the first: no
 * turns, no end record's LDM (4 instructions a pair of outputs at K = 32, 7 at 48). */
#define DSP_ASM_ROWS4_KLINE(REST) DSP_ASM_ROWS4_LDM DSP_ASM_ROWS4_FIRST REST
/* clang-format on */

/* The pairs of a block through the loop and the requantisation in one statement, RQ
 * (DSP_ASM_ROWS4_RQ or _RQZ) with the full clamp: the stack holds the pair's parameter
 * record [sp] (its e0 of dsp_rows4_params), the pair's column w[0][o] [sp, #4], the input
 * records [sp, #8], the weights' end column [sp, #12], y - w (y at column 0 of row 0)
 * [sp, #16] and M (y's row stride) [sp, #20], one LDM for all a pair; the record's LDMs bring
 * (e, m, c) of o, then the next pair's biases (into r0 and r2, free by then) and (e, m, c) of
 * o+1. y[r M + o + t] written in the order (t, r) = (0, 0..3), (1, 3..0), r12 stepping the
 * rows by M; KL: the input records' loop (DSP_ASM_ROWS4_KLOOP or _KLINE); SAVE and LOAD keep the
 * record's pointer on the stack where RQ spends r8. 5 instructions per output (4 with RQZ) and 16
 * more per pair (14 with RQZ). */
/* clang-format off */
#define DSP_ASM_ROWS4_BLOCK(RQ, KL, SAVE, LOAD)                                     \
    __asm__ __volatile__(                                                           \
        "push {r0, r1, r2, r3, r4, r5}\n\t"                                         \
        "ldrd r0, r2, [r0, #-20]\n\t"                                              \
        "3:\n\t"                                                                    \
        "ldrd r12, lr, [sp, #4]\n\t"                                               \
        KL                                                                          \
        "ldm sp, {r8, r9, r10, r11, r12, lr}\n\t"                                   \
        "add r12, r12, r9\n\t"                                                      \
        "add r9, r9, #2\n\t"                                                        \
        "str r9, [sp, #4]\n\t"                                                      \
        "cmp r9, r11\n\t"                                                           \
        "ldm r8!, {r9, r10, r11}\n\t"                                               \
        SAVE                                                                        \
        RQ("r0", "[r12]") RQ("r2", "[r12, lr]")                                     \
        "add r12, r12, lr, lsl #1\n\t"                                              \
        RQ("r4", "[r12]") RQ("r6", "[r12, lr]")                                     \
        LOAD                                                                        \
        "ldm r8!, {r0, r2, r9, r10, r11}\n\t"                                       \
        "str r8, [sp]\n\t"                                                          \
        "add r12, r12, #1\n\t"                                                      \
        RQ("r7", "[r12, lr]") RQ("r5", "[r12]")                                     \
        "sub r12, r12, lr, lsl #1\n\t"                                              \
        RQ("r3", "[r12, lr]") RQ("r1", "[r12]")                                     \
        "bne 3b\n\t"                                                                \
        "add sp, sp, #24"                                                           \
        : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5)                \
        :                                                                           \
        : "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory")
#define DSP_ASM_ROWS4_RQ_BLOCK(KL) \
    DSP_ASM_ROWS4_BLOCK(DSP_ASM_ROWS4_RQ, KL, "str r8, [sp]\n\t", "ldr r8, [sp]\n\t")
#define DSP_ASM_ROWS4_RQZ_BLOCK(KL) DSP_ASM_ROWS4_BLOCK(DSP_ASM_ROWS4_RQZ, KL, "", "")
/* clang-format on */

/* Outputs o0 .. o0+count-1 of the four rows (count even) for DSP_RQ_DOUBLE2 with the full
 * clamp, the records at rec of dsp_rows4_params: y[r m + o]; relu: the output zero point is
 * -128 (DSP_ASM_ROWS4_RQZ); the records' loop written out at K = 32 and 48 with relu, 32 pairs
 * a turn where K is a multiple of 64 without (the projections, K 6 times the expansions'), else
 * 16 where K is a multiple of 32, 12 where of 24, 4 otherwise (K is a multiple of 8). */
static void dsp_rows4_block(const int8_t *w, const uint32_t *xb, const int32_t *rec, int8_t *y,
                            int32_t m, int32_t count, int relu, int32_t k) {
    register const int32_t *r0 __asm__("r0") = rec;
    register const int8_t *r1 __asm__("r1") = w;
    register const uint32_t *r2 __asm__("r2") = xb;
    register const int8_t *r3 __asm__("r3") = w + count;
    register uint32_t r4 __asm__("r4") = (uint32_t)(uintptr_t)y - (uint32_t)(uintptr_t)w;
    register int32_t r5 __asm__("r5") = m;
    /* each copy built where a call can take it (dsp_calls_ROWS4_*) */
    if (dsp_calls_ROWS4_K32Z() && k == 32 && relu)
        DSP_ASM_ROWS4_RQZ_BLOCK(DSP_ASM_ROWS4_KLINE(DSP_ASM_ROWS4_NEXT15));
    else if (dsp_calls_ROWS4_K48Z() && k == 48 && relu)
        DSP_ASM_ROWS4_RQZ_BLOCK(DSP_ASM_ROWS4_KLINE(DSP_ASM_ROWS4_NEXT23));
    else if (dsp_calls_ROWS4_K64() && k % 64 == 0 && !relu)
        DSP_ASM_ROWS4_RQ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT31));
    else if (dsp_calls_ROWS4_K32RZ() && k % 32 == 0 && relu)
        DSP_ASM_ROWS4_RQZ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT15));
    else if (dsp_calls_ROWS4_K32R() && k % 32 == 0)
        DSP_ASM_ROWS4_RQ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT15));
    else if (dsp_calls_ROWS4_K24Z() && k % 24 == 0 && relu)
        DSP_ASM_ROWS4_RQZ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT11));
    else if (dsp_calls_ROWS4_K24() && k % 24 == 0)
        DSP_ASM_ROWS4_RQ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT11));
    else if (dsp_calls_ROWS4_Z() && relu)
        DSP_ASM_ROWS4_RQZ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT3));
    else
        DSP_ASM_ROWS4_RQ_BLOCK(DSP_ASM_ROWS4_KLOOP(DSP_ASM_ROWS4_NEXT3));
}

/* Outputs o, o+1 of the four rows from acc (dsp_rows4_pair) into y[r m + t], the pair's
 * parameter record at pr ((e, m, c) of o at pr[0..2], of o+1 at pr[5..7]: dsp_rows4_params),
 * for a form and clamp known where inlined. */
DSP_ALWAYS_INLINE void dsp_rows4_store(const int32_t *acc, const int32_t *pr, int8_t *y, int32_t m,
                                       const int32_t *shift, const dsp_out *out, int32_t form,
                                       int full) {
    int32_t r, t;
    for (r = 0; r < 4; ++r)
        for (t = 0; t < 2; ++t) {
            if (form == DSP_RQ_SLOW || !full) {
                dsp_rq q;
                q.e = pr[5 * t], q.m = pr[5 * t + 1], q.c = pr[5 * t + 2], q.s = shift[t];
                y[(size_t)r * m + t] = dsp_requant(acc[2 * r + t], form, &q, out);
            } else {
                y[(size_t)r * m + t] =
                    dsp_gq_one(acc[2 * r + t], (uint32_t)pr[5 * t + 1], (uint32_t)pr[5 * t + 2],
                               (uint32_t)pr[5 * t], out, form, 1);
            }
        }
}

/* One output of dsp_rows4_params' pass, its shift in S (operands of its asm statement; the
 * temporaries r0..r2 in the order of the STM). */
/* clang-format off */
#define DSP_ASM_ROWS4_PARAM(S)                 \
    "sub r0, %[neg], " S "\n\t"                \
    "orr %[ebits], %[ebits], r0\n\t"           \
    "lsl r2, %[zp2], r0\n\t"                   \
    "add r0, r0, #1\n\t"                       \
    "ldr r1, [%[mult]], #4\n\t"                \
    "stm %[r]!, {r0, r1, r2}\n\t"              \
    "eor r0, r1, #0x40000000\n\t"              \
    "orr %[mbits], %[mbits], r0\n\t"
/* clang-format on */

/* The parameter records of the four-row path for outputs 0 .. count-1 (count even) from rec
 * on: per pair of outputs (e0, m0, c0, the next pair's 2 b0, 2 b1, then e1, m1, c1; the first
 * pair's biases in the 5 words before rec, the order of dsp_rows4_block's LDMs), the fields of
 * dsp_block_params (e - 1 = neg - s, c = zp2 2^(e-1); its checks on the largest e - 1, the OR of m
 * ^ 2^30) in one linear pass without its group slots; returns the form (the biases doubled by
 * QADD for DSP_RQ_DOUBLE2, then doubled once more into a scratch register: the sticky Q flag,
 * cleared before the pass, marks a bias of 2^29 or more in magnitude, which refuses the form
 * (below that, 2 |b| + K 255 128 2 < 2^31 for K up to DSP_ROWS4_MAX_K: stricter than
 * dsp_block_params' bound, real biases lie far below both); the other forms read bias[]
 * itself). The pass in asm, 26 instructions a pair (gcc's C form spilled its pointers: 52). The OR
 * of the e - 1 stands for their maximum, which it bounds from above (equal below 16, where real
 * layers' shifts lie: past that a block the maximum would pass may take the C forms). */
static __attribute__((noinline)) int32_t dsp_rows4_params(int32_t *rec, const int32_t *bias,
                                                          const int32_t *mult, const int32_t *shift,
                                                          int32_t count, const dsp_out *out) {
    const int32_t single = out->rounding == CNNC_ROUND_SINGLE;
    const uint32_t zp2 = 2u * (uint32_t)out->zero_point + 1u, neg = single ? ~1u : ~0u;
    int32_t form =
        single ? DSP_RQ_SINGLE : (out->rounding == CNNC_ROUND_DOUBLE ? DSP_RQ_DOUBLE : DSP_RQ_SLOW);
    uint32_t ebits = 0, mbits = 0, apsr;
    int32_t *r = rec;
    const int32_t *const end = rec + 4 * count;
    register uint32_t t0 __asm__("r0"), t1 __asm__("r1"), t2 __asm__("r2"), t3 __asm__("r3");
    /* e - 1 past 31 shifts zp2 out (LSL by a register); the form is then DSP_RQ_SLOW */
    __asm__ __volatile__("mov r0, #0\n\t"
                         "msr APSR_nzcvq, r0\n\t"
                         "1:\n\t"
                         "ldrd r0, r3, [%[shift]], #8\n\t" DSP_ASM_ROWS4_PARAM("r0")
                         "add %[r], %[r], #8\n\t" DSP_ASM_ROWS4_PARAM("r3")
                         "ldrd r0, r1, [%[bias]], #8\n\t"
                         "qadd r0, r0, r0\n\t"
                         "qadd r1, r1, r1\n\t"
                         "qadd r3, r0, r0\n\t"
                         "qadd r3, r1, r1\n\t"
                         "strd r0, r1, [%[r], #-52]\n\t"
                         "cmp %[r], %[end]\n\t"
                         "blo 1b\n\t"
                         "mrs %[apsr], APSR"
                         : "=&r"(t0), "=&r"(t1), "=&r"(t2), "=&r"(t3), [ebits] "+r"(ebits),
                           [mbits] "+r"(mbits), [apsr] "=r"(apsr), [r] "+r"(r),
                           [bias] "+r"(bias), [mult] "+r"(mult), [shift] "+r"(shift)
                         : [end] "r"(end), [neg] "r"(neg), [zp2] "r"(zp2)
                         : "cc", "memory");
    (void)t0, (void)t1, (void)t2, (void)t3;
    if (ebits >= (single ? 22u : 20u) || (!single && mbits >= (1u << 30))) form = DSP_RQ_SLOW;
    if (form == DSP_RQ_DOUBLE && !(apsr & (1u << 27))) form = DSP_RQ_DOUBLE2; /* Q clear */
    return form;
}

/* One pair of outputs of dsp_rows4_params_d2's pass (registers fixed by its statement): the
 * shifts and multipliers of o, o+1 into r0, r5 and r1, r6, e - 1 = ~s (the double rounding's
 * neg - s), c = zp2 2^(e-1) into r2, r7, e into r0, r5; then the pair's (e0, m0, c0, r3, r4,
 * e1, m1, c1) by one STM (r3, r4: whatever they hold, the gap where the next pair's STRD puts
 * its biases), the pair's biases doubled at 5 words before the pair. Each check saturates
 * where it refuses, setting the sticky Q flag: USAT #4 of (e0 - 1) | (e1 - 1) (both in 0..15),
 * USAT16 #14 of the multipliers' top halfwords ^ 0x4000 (both m in [2^30, 2^31)), SSAT16 #14 of
 * the biases' top halfwords (both b in [-2^29, 2^29): 4 b fits, dsp_rows4_params' bound). */
/* clang-format off */
#define DSP_ASM_ROWS4_D2PAIR                   \
    "ldrd r0, r5, [r8], #8\n\t"                \
    "ldrd r1, r6, [r9], #8\n\t"                \
    "mvn r0, r0\n\t"                           \
    "mvn r5, r5\n\t"                           \
    "orr r3, r0, r5\n\t"                       \
    "usat r3, #4, r3\n\t"                      \
    "lsl r2, lr, r0\n\t"                       \
    "lsl r7, lr, r5\n\t"                       \
    "add r0, r0, #1\n\t"                       \
    "add r5, r5, #1\n\t"                       \
    "pkhtb r3, r6, r1, asr #16\n\t"            \
    "eor r3, r3, #0x40004000\n\t"              \
    "usat16 r3, #14, r3\n\t"                   \
    "stm r11!, {r0, r1, r2, r3, r4, r5, r6, r7}\n\t" \
    "ldrd r3, r4, [r10], #8\n\t"               \
    "pkhtb r0, r4, r3, asr #16\n\t"            \
    "ssat16 r0, #14, r0\n\t"                   \
    "add r3, r3, r3\n\t"                       \
    "add r4, r4, r4\n\t"                       \
    "strd r3, r4, [r11, #-52]\n\t"
/* clang-format on */

/* dsp_rows4_params' records for the double rounding where every check passes (nonzero then:
 * the form is DSP_RQ_DOUBLE2; zero: some check refused, and dsp_rows4_params decides), 20.5
 * instructions a pair where dsp_rows4_params spends 26: the checks by saturation into the Q
 * flag (DSP_ASM_ROWS4_D2PAIR) instead of ORs of every field, four pairs a turn (the first turn
 * enters where the count of pairs modulo 4 is left: 32 bytes of records a pair). The e - 1 bound 16
 * is below dsp_rows4_params' 20 (real layers' shifts lie below 16). All 14 registers hold the pass,
 * as dsp_rows4_pair's loop. */
static __attribute__((noinline)) int dsp_rows4_params_d2(int32_t *rec, const int32_t *bias,
                                                         const int32_t *mult, const int32_t *shift,
                                                         int32_t count, uint32_t zp2) {
    register const int32_t *rs __asm__("r8") = shift;
    register const int32_t *rm __asm__("r9") = mult;
    register const int32_t *rb __asm__("r10") = bias;
    register int32_t *rr __asm__("r11") = rec;
    register int32_t *re __asm__("r12") = rec + 4 * count;
    register uint32_t rz __asm__("lr") = zp2;
    uint32_t apsr;
    __asm__ __volatile__(
        "mov r0, #0\n\t"
        "msr APSR_nzcvq, r0\n\t"
        "sub r0, r12, r11\n\t"
        "ands r0, r0, #96\n\t"
        "beq 1f\n\t"
        "cmp r0, #64\n\t"
        "beq 3f\n\t"
        "bhi 2f\n\t"
        "b 4f\n\t"
        "1:\n\t" DSP_ASM_ROWS4_D2PAIR "2:\n\t" DSP_ASM_ROWS4_D2PAIR "3:\n\t" DSP_ASM_ROWS4_D2PAIR
        "4:\n\t" DSP_ASM_ROWS4_D2PAIR
        "cmp r11, r12\n\t"
        "blo 1b\n\t"
        "mrs r0, APSR\n\t"
        "mov %[apsr], r0"
        : [apsr] "=r"(apsr), "+r"(rs), "+r"(rm), "+r"(rb), "+r"(rr)
        : "r"(re), "r"(rz)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "cc", "memory");
    return !(apsr & (1u << 27));
}

/* Four rows (the pointwise convs of 2x2 images; K a multiple of 8 up to DSP_ROWS4_MAX_K, M
 * even): no repacking. The rows are widened once into the input records (3 K words and the
 * end record at the start of words, the stack buffer's room words from blk->w on), doubled
 * when the block's form is DSP_RQ_DOUBLE2; each pair of outputs then reads its weights once
 * for all four rows (DSP_ASM_ROWS4_PAIR: 15 instructions per 16 MACs where the repacked block
 * costs about 1.5 per weight and 11 per 16 MACs per row). Requantisation parameters come
 * from dsp_rows4_params (dsp_rows4_params_d2 first with the double rounding) per block of as many
 * outputs as their records fit the rest of the room (4 words each: 1217 - 3 K - 9 words, 266
 * outputs at K = 48, 50 at 336); the doubled form with the full clamp runs the block's pairs in one
 * statement (dsp_rows4_block), the others pair by pair. */

/* The input records of dsp_dense_rows4 for the four rows x[4][K] (nzp: (-zp, -zp) in %[nzp]),
 * a quad of inputs of the four rows a turn (its two records: rows 0 and 1 through x0, rows 2
 * and 3 through x2, each pair of words by one STRD; the offsets j m of the next quad in off);
 * D: the words doubled (DSP_ASM_ROWS4_XDBL) or not; two quads a turn (K is a multiple of 8).
 * 23 instructions a quad (31 doubled) where gcc's C form spent 52. */
/* clang-format off */
#define DSP_ASM_ROWS4_XDBL                     \
    "sadd16 %[a], %[a], %[a]\n\t"              \
    "sadd16 %[b], %[b], %[b]\n\t"              \
    "sadd16 %[t0], %[t0], %[t0]\n\t"           \
    "sadd16 %[t1], %[t1], %[t1]\n\t"
#define DSP_ASM_ROWS4_WIDEN2(xp, at, D)                  \
    "ldr %[t1], [" xp ", %[k]]\n\t"                      \
    "ldr %[t0], [" xp "], #4\n\t"                        \
    "sxtab16 %[a], %[nzp], %[t0]\n\t"                    \
    "sxtab16 %[t0], %[nzp], %[t0], ror #8\n\t"           \
    "sxtab16 %[b], %[nzp], %[t1]\n\t"                    \
    "sxtab16 %[t1], %[nzp], %[t1], ror #8\n\t"           \
    D                                                    \
    "strd %[a], %[b], [%[xb], #" at "]\n\t"              \
    "strd %[t0], %[t1], [%[xb], #" at " + 24]\n\t"
/* The quad's offsets (j m, j' m) = (off, off + 2 m) at xb, (off + m, off + 3 m) at xb + 24,
 * xb then past the two records by the last STRD's writeback. */
#define DSP_ASM_ROWS4_OFFS                               \
    "add %[a], %[off], %[m]\n\t"                        \
    "add %[b], %[a], %[m], lsl #1\n\t"                  \
    "strd %[a], %[b], [%[xb], #24]\n\t"                 \
    "add %[a], %[off], %[m], lsl #1\n\t"                \
    "strd %[off], %[a], [%[xb]], #48\n\t"               \
    "add %[off], %[b], %[m]\n\t"
#define DSP_ASM_ROWS4_WIDEN(D)                                                                 \
    __asm__ __volatile__(                                                                     \
        "1:\n\t"                                                                              \
        DSP_ASM_ROWS4_WIDEN2("%[x0]", "8", D)                                                 \
        DSP_ASM_ROWS4_WIDEN2("%[x2]", "16", D)                                                \
        DSP_ASM_ROWS4_OFFS                                                                    \
        DSP_ASM_ROWS4_WIDEN2("%[x0]", "8", D)                                                 \
        DSP_ASM_ROWS4_WIDEN2("%[x2]", "16", D)                                                \
        DSP_ASM_ROWS4_OFFS                                                                    \
        "cmp %[x0], %[end]\n\t"                                                               \
        "bne 1b"                                                                              \
        : [a] "=&r"(a), [b] "=&r"(b), [t0] "=&r"(t0), [t1] "=&r"(t1), [x0] "+r"(x0),          \
          [x2] "+r"(x2), [xb] "+r"(xb), [off] "+r"(off)                                       \
        : [k] "r"(k), [m] "r"(m), [nzp] "r"(nzp), [end] "r"(end)                              \
        : "memory", "cc")
/* clang-format on */
static __attribute__((noinline)) void dsp_rows4_widen(uint32_t *xb, const int8_t *x, int32_t k,
                                                      int32_t m, uint32_t nzp, int dbl) {
    const int8_t *x0 = x, *x2 = x + 2 * (size_t)k, *const end = x + k;
    uint32_t off = 0, a, b, t0, t1;
    if (dbl)
        DSP_ASM_ROWS4_WIDEN(DSP_ASM_ROWS4_XDBL);
    else
        DSP_ASM_ROWS4_WIDEN("");
    xb[0] = DSP_ROWS4_END;
}
static __attribute__((noinline)) void dsp_dense_rows4(const cnnc_s8_dense_params *p,
                                                      const int8_t *x, const int8_t *w,
                                                      const int32_t *bias, const int32_t *mult,
                                                      const int32_t *shift, int8_t *y,
                                                      uint32_t *words, int32_t room,
                                                      const dsp_out *out) {
    const int32_t k = p->k, m = p->m, full = dsp_out_full(out), relu = out->zero_point == -128;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    const uint32_t zp2 = 2u * (uint32_t)out->zero_point + 1u;
    uint32_t *const xb = words, *const xend = words + 3 * k; /* [K/2][offsets 2, rows 4] */
    int32_t *const rec = (int32_t *)(xend + 4) + 5;          /* [per / 2][8], 5 words before */
    const int32_t per = ((room - 3 * k - 9) / 4) & ~1;       /* >= 50: K <= 336 */
    int32_t o0, j, widened = -1, acc[8];
    for (o0 = 0; o0 < m; o0 += per) {
        const int32_t count = m - o0 < per ? m - o0 : per;
        const int32_t form =
            out->rounding == CNNC_ROUND_DOUBLE &&
                    dsp_rows4_params_d2(rec, bias + o0, mult + o0, shift + o0, count, zp2)
                ? DSP_RQ_DOUBLE2
                : dsp_rows4_params(rec, bias + o0, mult + o0, shift + o0, count, out);
        if (widened != (form == DSP_RQ_DOUBLE2)) {
            widened = form == DSP_RQ_DOUBLE2;
            dsp_rows4_widen(xb, x, k, m, nzp, widened);
        }
        if (dsp_calls_ROWS4_B() && form == DSP_RQ_DOUBLE2 && full) {
            dsp_rows4_block(w + o0, xb, rec, y + o0, m, count, relu, k);
        } else {
            for (j = 0; j < count; j += 2) {
                const int32_t *const pr = rec + 4 * j;
                const int32_t bias2[2] = {form == DSP_RQ_DOUBLE2 ? pr[-5] : bias[o0 + j],
                                          form == DSP_RQ_DOUBLE2 ? pr[-4] : bias[o0 + j + 1]};
                dsp_rows4_pair(w + o0 + j, xb, xend, acc, bias2);
                dsp_rows4_store(acc, pr, y + o0 + j, m, shift + o0 + j, out, form, full);
            }
        }
    }
}
#endif

/* n rows x[r * x_stride][K] through the whole block: y[r * y_stride + o0 + j] for
 * j < blk->count. A copy of the loop per fast requantisation form with the full clamp
 * (and, for the doubled form, K of 8, 12 and 16 written out: the expansions of the small
 * MobileNet blocks, the 3x3 stems of one channel; with the output zero point -128, K of 8
 * and 16 as DSP_RQ_DOUBLE2Z), one for the rest; at -Os one copy that picks per group. */
void cnnc_s8_dsp_block_rows(const dsp_block *blk, const int8_t *x, size_t x_stride, int32_t n,
                            int32_t o0, const dsp_out *out, int8_t *y, size_t y_stride) {
    const int full = dsp_out_full(out);
    y += o0;
#if defined(__OPTIMIZE_SIZE__)
    dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, blk->form, full, 0);
#else
    const int32_t nq = blk->quads >= 2 && blk->quads <= 4 ? blk->quads : 0;
    const int relu = out->zero_point == -128; /* DSP_RQ_DOUBLE2Z: no sign's term */
    /* each copy built where a call can take it (DSP_BR_*) */
    if (dsp_calls_BR_Z2() && blk->form == DSP_RQ_DOUBLE2 && full && relu && nq == 2)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2Z, 1, 2);
    else if (dsp_calls_BR_Z4() && blk->form == DSP_RQ_DOUBLE2 && full && relu && nq == 4)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2Z, 1, 4);
    else if (dsp_calls_BR_N2() && blk->form == DSP_RQ_DOUBLE2 && full && nq == 2)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 2);
    else if (dsp_calls_BR_Q3() && blk->form == DSP_RQ_DOUBLE2 && full && nq == 3)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 3);
    else if (dsp_calls_BR_N4() && blk->form == DSP_RQ_DOUBLE2 && full && nq == 4)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 4);
    else if (dsp_calls_BR_QX() && blk->form == DSP_RQ_DOUBLE2 && full)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 0);
    else if (dsp_calls_BR_D() && blk->form == DSP_RQ_DOUBLE && full)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE, 1, 0);
    else if (dsp_calls_BR_S() && blk->form == DSP_RQ_SINGLE && full)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_SINGLE, 1, 0);
    else
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, blk->form, full, 0);
#endif
}

/* The block path's 5 KB of stack: a dsp_block, or its words past the header for the records
 * (dsp_rec_block; DSP_REC_PAD more words where they run, so that 96 records of K = 16 fit). */
#if defined(__OPTIMIZE_SIZE__)
#define DSP_REC_PAD 0
#else
#define DSP_REC_PAD 32
#endif
typedef union {
    dsp_block blk;
    uint32_t words[sizeof(dsp_block) / 4 + DSP_REC_PAD];
} dsp_block_words;

#if !defined(__OPTIMIZE_SIZE__)
/* ---------------------------------------------------------------------------------
 * K = 8 or 16 (two or four input quads) with the doubled requantisation and the full clamp:
 * the row's widened words stay in registers (r0..r3) for the whole row, and each output
 * reads one record of 8 words by one LDM: its bias and the (even, odd) words of each quad
 * (dsp_repack's pairs), both doubled (the doubled form's factor 2 paid once per block, not
 * per row; at K = 16 where the block's outputs outnumber the rows, the rows are doubled
 * instead), and its m, c, e (dsp_rq's fields). K = 16 runs in halves: the row's first 8
 * inputs through every output's first record (A: bias and quads 0, 1; 5 words), its sum
 * stored into the output's second record (B: that sum, quads 2, 3, m, c, e; K = 8's
 * layout), then the last 8 inputs through the B records as K = 8: an output costs 2 LDMs, a
 * STR and 8 SMLADs where one record of 12 words needed 4 LDMs (free registers: 4, the row
 * holding 8). An output then costs 1 (K = 8) or 3 (K = 16) loads and stores, K / 2 SMLADs
 * and the requantisation's 4 (5 with the sign's term), where the groups of four outputs
 * reloaded x per quad and their records apart (bench_mcu --layers, digits: 11 and 16.5
 * instructions an output). All 14 registers hold
 * the row (x, the record, its pointer, y), so the output loop's end is a flag: DSP_REC_LAST
 * in e of the block's last output (ASR by a register reads its low byte only), tested after
 * every sixteenth or eighth output where the block's count allows, else every fourth (the
 * count a multiple of 4; K = 16's first half: the A records' end); the row loop's values wait on
 * the stack, pushed and popped inside the statement (24 bytes that GCC's frame sizes do not see,
 * below the block path's frames as dsp_rows4_pair's). */
/* bias, (even, odd) per quad, m, c, e; at K = 16 the sum of the first half */
#define DSP_REC_WORDS(nq) (2 * (nq) + 4 + ((nq) == 4))
#define DSP_REC_LAST 0x100 /* in e of a block's last record */

/* A weight word doubled (SADD16: |2 w| <= 256 fits the int16 lanes), for the doubled
 * requantisation's sums 2 sum (x - zp) w with the rows widened undoubled. */
#define DSP_ASM_DBL(r) "sadd16 %[" r "], %[" r "], %[" r "]\n\t"
#define DSP_ASM_NODBL(r) ""

/* The int8 weights of outputs o..o+3 in rows k .. k+3 (at w0, w0 + m, w0 + 2 m, w0 + m3; m3 =
 * 3 m, register offsets, so one pointer steps on: STEP, by 4 m or nothing where the caller
 * steps w0 itself) split into int16 lanes: b = (w[k][o], w[k+2][o]), t the same of o+1, e =
 * (w[k+1][o], w[k+3][o]); a keeps o+1's bytes of rows k+1, k+3 for the caller's SXTB16 ROR 8,
 * c and d those of o+2 and o+3 (dsp_repack_quads's order). 1 ADD a quad where two pointers
 * spent 2 (and the records' groups 1 SUB a group where MOV and 2 ADDs set them). */
#define DSP_ASM_QUAD_SPLIT(STEP)          \
    "ldr %[a], [%[w0]]\n\t"               \
    "ldr %[c], [%[w0], %[m], lsl #1]\n\t" \
    "ldr %[b], [%[w0], %[m]]\n\t"         \
    "ldr %[d], [%[w0], %[m3]]\n\t" STEP   \
    "pkhbt %[t], %[a], %[c], lsl #16\n\t" \
    "pkhtb %[c], %[c], %[a], asr #16\n\t" \
    "pkhbt %[a], %[b], %[d], lsl #16\n\t" \
    "pkhtb %[d], %[d], %[b], asr #16\n\t" \
    "sxtb16 %[b], %[t]\n\t"               \
    "sxtb16 %[t], %[t], ror #8\n\t"       \
    "sxtb16 %[e], %[a]\n\t"
#define DSP_ASM_QUAD_STEP "add %[w0], %[w0], %[m], lsl #2\n\t"

/* Quad Q of outputs o..o+3 (DSP_ASM_QUAD_SPLIT's rows, STEP) into the four records of W words
 * at P (output j's pair of quad Q at P[W j + 1 + 2 Q]): dsp_repack_quads's sequence, its
 * stores at the four records' offsets (gas evaluates them). */
#define DSP_ASM_REC_QUAD(W, Q, DBL, P, STEP)                                           \
    DSP_ASM_QUAD_SPLIT(STEP)                                                           \
    "sxtb16 %[a], %[a], ror #8\n\t" DBL("b") DBL("t") DBL("e")                         \
        DBL("a") "strd %[b], %[e], [%[" P "], #(4 + 8 * " #Q                           \
                 ")]\n\t"                                                              \
                 "strd %[t], %[a], [%[" P "], #(4 + 4 * " #W " + 8 * " #Q              \
                 ")]\n\t"                                                              \
                 "sxtb16 %[b], %[c]\n\t"                                               \
                 "sxtb16 %[c], %[c], ror #8\n\t"                                       \
                 "sxtb16 %[e], %[d]\n\t"                                               \
                 "sxtb16 %[d], %[d], ror #8\n\t" DBL("b") DBL("c") DBL("e")            \
                     DBL("d") "strd %[b], %[e], [%[" P "], #(4 + 8 * " #W " + 8 * " #Q \
                              ")]\n\t"                                                 \
                              "strd %[c], %[d], [%[" P "], #(4 + 12 * " #W " + 8 * " #Q ")]\n\t"
/* Every group of four outputs (w0 at w[0][0], then 4 on, ...) of the block's records (W
 * words, rec .. end) in one statement: the quads written out (QUADS), the group loop in asm. */
#define DSP_ASM_REC_GROUPS(W, QUADS)                                                             \
    __asm__ __volatile__("2:\n\t" QUADS                                                          \
                         "sub %[w0], %[w0], %[mb]\n\t"                                           \
                         "add %[wp], %[wp], #(16 * " #W                                          \
                         ")\n\t"                                                                 \
                         "cmp %[wp], %[end]\n\t"                                                 \
                         "bne 2b"                                                                \
                         : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [e] "=&r"(e), \
                           [t] "=&r"(t), [w0] "+r"(w0), [wp] "+r"(wp)                            \
                         : [m] "r"(m), [m3] "r"(3 * m), [mb] "r"(mb), [end] "r"(end)             \
                         : "memory", "cc")

/* The weights of outputs 0 .. count-1 (count a multiple of 4; w0 at w[0][0]) into their
 * records of K = 8 at rec, doubled. */
DSP_ALWAYS_INLINE void dsp_rec_groups(uint32_t *rec, const int8_t *w0, int32_t m, int32_t count) {
    const int32_t mb = 4 * m - 4; /* the second quad's row 4 back to the next group's row 0 */
    uint32_t *wp = rec;
    const uint32_t *const end = rec + (size_t)DSP_REC_WORDS(2) * count;
    uint32_t a, b, c, d, e, t;
    DSP_ASM_REC_GROUPS(8, DSP_ASM_REC_QUAD(8, 0, DSP_ASM_DBL, "wp", DSP_ASM_QUAD_STEP)
                              DSP_ASM_REC_QUAD(8, 1, DSP_ASM_DBL, "wp", ""));
}

/* K = 16's groups: quads 0 and 1 into the A records (5 words, wp), 2 and 3 into the B
 * records (8 words, wq, which start where the A records end: end, whose register wq's
 * early clobber keeps apart). */
#define DSP_ASM_REC_HALVES(QUADS)                                                                \
    __asm__ __volatile__("2:\n\t" QUADS                                                          \
                         "sub %[w0], %[w0], %[mb]\n\t"                                           \
                         "add %[wp], %[wp], #(16 * 5)\n\t"                                       \
                         "add %[wq], %[wq], #(16 * 8)\n\t"                                       \
                         "cmp %[wp], %[end]\n\t"                                                 \
                         "bne 2b"                                                                \
                         : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [e] "=&r"(e), \
                           [t] "=&r"(t), [w0] "+r"(w0), [wp] "+r"(wp), [wq] "+&r"(wq)            \
                         : [m] "r"(m), [m3] "r"(3 * m), [mb] "r"(mb), [end] "r"(end)             \
                         : "memory", "cc")
#define DSP_ASM_REC_HALVES_QUADS(DBL)                    \
    DSP_ASM_REC_QUAD(5, 0, DBL, "wp", DSP_ASM_QUAD_STEP) \
    DSP_ASM_REC_QUAD(5, 1, DBL, "wp", DSP_ASM_QUAD_STEP) \
    DSP_ASM_REC_QUAD(8, 0, DBL, "wq", DSP_ASM_QUAD_STEP) DSP_ASM_REC_QUAD(8, 1, DBL, "wq", "")

/* K = 16's weights of the outputs (a multiple of 4; w0 at w[0][0]) into the A records at ra
 * and the B records at rb = ra + 5 count, doubled (dbl) or not. */
DSP_ALWAYS_INLINE void dsp_rec_groups_halves(uint32_t *ra, uint32_t *rb, const int8_t *w0,
                                             int32_t m, int dbl) {
    const int32_t mb = 12 * m - 4; /* the last quad's row 12 back to the next group's row 0 */
    uint32_t *wp = ra, *wq = rb;
    const uint32_t *const end = rb;
    uint32_t a, b, c, d, e, t;
    if (dbl)
        DSP_ASM_REC_HALVES(DSP_ASM_REC_HALVES_QUADS(DSP_ASM_DBL));
    else
        DSP_ASM_REC_HALVES(DSP_ASM_REC_HALVES_QUADS(DSP_ASM_NODBL));
}

/* The records' pass over outputs, two a turn (count even; LDRD of both biases, multipliers,
 * shifts): 2 b at [ra] (the A records of K = 16, WA bytes apart, or K = 8's records, ra = rb),
 * then m, c = zp2 << em1, e = em1 + 1 = -shift in words 5..7 of the B records at rb (32
 * bytes), and the checks: the OR of the em1 (ebits; it bounds their maximum from above, equal
 * below 16 where real layers' shifts lie, as dsp_rows4_params'), that of m ^ 2^30 (mbits), and
 * SSAT #30 of each b, whose sticky Q flag (cleared before the pass) marks a bias of 2^29 or
 * more in magnitude (below that 2 |b| + 2 K 255 128 < 2^31 for K of 16: stricter than
 * dsp_block_params' bound; real biases lie far below both). LSL by a register reads the
 * shift's low byte: em1 outside 0..31 stores garbage in c, which the caller's ebits < 20
 * refuses. 14 instructions an output where one a turn spent 18 and K = 16's copy of the
 * biases into the A records 2.5 more. */
/* clang-format off */
#define DSP_ASM_REC_PARAMS_SHIFT(B, OFF)                                                \
    "mvn %[t], %[" B "]\n\t"                                                            \
    "orr %[ebits], %[ebits], %[t]\n\t"                                                  \
    "lsl %[" B "], %[zp2], %[t]\n\t"                                                    \
    "add %[t], %[t], #1\n\t"                                                            \
    "strd %[" B "], %[t], [%[rb], #" OFF "]\n\t"
#define DSP_ASM_REC_PARAMS(WA)                                                          \
    __asm__ __volatile__(                                                               \
        "mov %[t], #0\n\t"                                                              \
        "msr APSR_nzcvq, %[t]\n\t"                                                      \
        "1:\n\t"                                                                        \
        "ldrd %[b0], %[b1], [%[bias]], #8\n\t"                                          \
        "ssat %[t], #30, %[b0]\n\t"                                                     \
        "ssat %[t], #30, %[b1]\n\t"                                                     \
        "lsl %[b0], %[b0], #1\n\t"                                                      \
        "lsl %[b1], %[b1], #1\n\t"                                                      \
        "str %[b1], [%[ra], #" #WA "]\n\t"                                              \
        "str %[b0], [%[ra]], #(2 * " #WA ")\n\t"                                        \
        "ldrd %[b0], %[b1], [%[mult]], #8\n\t"                                          \
        "str %[b0], [%[rb], #20]\n\t"                                                   \
        "str %[b1], [%[rb], #52]\n\t"                                                   \
        "eor %[b0], %[b0], #0x40000000\n\t"                                             \
        "orr %[mbits], %[mbits], %[b0]\n\t"                                             \
        "eor %[b1], %[b1], #0x40000000\n\t"                                             \
        "orr %[mbits], %[mbits], %[b1]\n\t"                                             \
        "ldrd %[b0], %[b1], [%[shift]], #8\n\t"                                         \
        DSP_ASM_REC_PARAMS_SHIFT("b0", "24") DSP_ASM_REC_PARAMS_SHIFT("b1", "56")       \
        "add %[rb], %[rb], #64\n\t"                                                     \
        "cmp %[ra], %[end]\n\t"                                                         \
        "bne 1b\n\t"                                                                    \
        "mrs %[apsr], APSR"                                                             \
        : [b0] "=&r"(b0), [b1] "=&r"(b1), [t] "=&r"(t), [ra] "+r"(ra), [rb] "+r"(rb),   \
          [bias] "+r"(bias), [mult] "+r"(mult), [shift] "+r"(shift), [ebits] "+r"(ebits), \
          [mbits] "+r"(mbits), [apsr] "=r"(apsr)                                        \
        : [end] "r"(end), [zp2] "r"(zp2)                                                \
        : "memory", "cc")
/* clang-format on */

/* The records' bias (doubled; at a_rec, K = 16's A records, or K = 8's records, a_rec =
 * b_rec) and m, c, e (at b_rec, 8 words apart; DSP_REC_LAST in the last e) of outputs 0 ..
 * count-1 (count a multiple of 4), for the double rounding: dsp_block_params's fields and
 * checks in one pass (DSP_ASM_REC_PARAMS) that assumes DSP_RQ_DOUBLE2 (em1 = e - 1 = -1 - s =
 * ~s); returns whether every output takes it (else the records are garbage and the caller
 * repacks the block). */
static __attribute__((noinline)) int dsp_rec_params(uint32_t *a_rec, uint32_t *b_rec,
                                                    const int32_t *bias, const int32_t *mult,
                                                    const int32_t *shift, int32_t count,
                                                    const dsp_out *out, int32_t k) {
    const uint32_t zp2 = 2u * (uint32_t)out->zero_point + 1u;
    uint32_t ebits = 0, mbits = 0, apsr, *ra = a_rec, *rb = b_rec, b0, b1, t;
    const uint32_t *const end = a_rec + (size_t)(k == 16 ? 5 : DSP_REC_WORDS(2)) * count;
    if (out->rounding != CNNC_ROUND_DOUBLE) return 0;
    if (k == 16)
        DSP_ASM_REC_PARAMS(20);
    else
        DSP_ASM_REC_PARAMS(32);
    b_rec[(size_t)DSP_REC_WORDS(2) * count - 1] |= DSP_REC_LAST;
    return ebits < 20u && mbits < (1u << 30) && !(apsr & (1u << 27)); /* Q clear */
}

/* clang-format off */
/* The row's values on the stack, [sp]: x, nzp, x_stride, xend, rec, y_step (y_stride minus
 * the block's outputs), in r4..r9 for the first row, then reloaded by one LDM per row. The
 * row at x (any alignment) is widened on the lanes (-zp, -zp) (SXTAB16, undoubled: the
 * records hold 2 w) into r0..r3, its outputs run four (and MORE) a turn until the flagged
 * record, then the next row's x, y. */
#define DSP_ASM_REC_WIDEN(e, o, n)                       \
    "sxtab16 " o ", " n ", " e ", ror #8\n\t"            \
    "sxtab16 " e ", " n ", " e "\n\t"
/* One output of K = 8: its record into r4 (bias), r5..r8 (weights), r9..r11 (m, c, e);
 * 4 SMLADs on the row's r0..r3; SIGN (the sign's term into c, or nothing for
 * DSP_RQ_DOUBLE2Z), SMMLAR, ASR, SSAT #8, STRB at y (lr). */
#define DSP_ASM_REC2_OUT(SIGN)                           \
    "ldm r12!, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"   \
    "smlad r4, r0, r5, r4\n\t"                           \
    "smlad r4, r1, r6, r4\n\t"                           \
    "smlad r4, r2, r7, r4\n\t"                           \
    "smlad r4, r3, r8, r4\n\t"                           \
    SIGN                                                 \
    "smmlar r4, r4, r9, r10\n\t"                         \
    "asr r4, r4, r11\n\t"                                \
    "ssat r4, #8, r4\n\t"                                \
    "strb r4, [lr], #1\n\t"
#define DSP_ASM_REC2_SIGN "add r10, r10, r4, asr #31\n\t"
#define DSP_ASM_REC2_OUT4(SIGN) \
    DSP_ASM_REC2_OUT(SIGN) DSP_ASM_REC2_OUT(SIGN) DSP_ASM_REC2_OUT(SIGN) DSP_ASM_REC2_OUT(SIGN)
#define DSP_ASM_REC2_OUT12(SIGN) \
    DSP_ASM_REC2_OUT4(SIGN) DSP_ASM_REC2_OUT4(SIGN) DSP_ASM_REC2_OUT4(SIGN)
#define DSP_ASM_REC2_ROWS(SIGN, MORE)                                                       \
    __asm__ __volatile__("push {r4, r5, r6, r7, r8, r9}\n\t"                           \
                         "mov r12, r8\n\t"                                             \
                         "2:\n\t"                                                      \
                         "ldr r2, [r4, #4]\n\t"                                        \
                         "ldr r0, [r4]\n\t"                                            \
                         DSP_ASM_REC_WIDEN("r0", "r1", "r5")                           \
                         DSP_ASM_REC_WIDEN("r2", "r3", "r5")                           \
                         "1:\n\t"                                                      \
                         DSP_ASM_REC2_OUT4(SIGN) MORE                                \
                         "tst r11, #256\n\t"                                           \
                         "beq 1b\n\t"                                                  \
                         "ldm sp, {r4, r5, r6, r7, r8, r9}\n\t"                        \
                         "add r4, r4, r6\n\t"                                          \
                         "add lr, lr, r9\n\t"                                          \
                         "str r4, [sp]\n\t"                                            \
                         "mov r12, r8\n\t"                                             \
                         "cmp r4, r7\n\t"                                              \
                         "bne 2b\n\t"                                                  \
                         "add sp, sp, #24"                                             \
                         : "+r"(rx), "+r"(rn), "+r"(rs), "+r"(re), "+r"(rr), "+r"(ry), \
                           "+r"(yr)                                                    \
                         :                                                             \
                         : "r0", "r1", "r2", "r3", "r10", "r11", "r12", "cc", "memory")
/* K = 16's first half, one output: its A record into r4 (bias), r5..r8; 4 SMLADs on the
 * row's first r0..r3; the sum into the B record's first word (r9), then the next B. */
#define DSP_ASM_REC_HALF_OUT                             \
    "ldm r12!, {r4, r5, r6, r7, r8}\n\t"                 \
    "smlad r4, r0, r5, r4\n\t"                           \
    "smlad r4, r1, r6, r4\n\t"                           \
    "smlad r4, r2, r7, r4\n\t"                           \
    "smlad r4, r3, r8, r4\n\t"                           \
    "str r4, [r9], #32\n\t"
#define DSP_ASM_REC_HALF_OUT4                            \
    DSP_ASM_REC_HALF_OUT DSP_ASM_REC_HALF_OUT            \
    DSP_ASM_REC_HALF_OUT DSP_ASM_REC_HALF_OUT
#define DSP_ASM_REC_HALF_OUT12                           \
    DSP_ASM_REC_HALF_OUT4 DSP_ASM_REC_HALF_OUT4          \
    DSP_ASM_REC_HALF_OUT4
/* The row's four words doubled (K = 16 where the records' weights are not). */
#define DSP_ASM_REC_XDBL                                 \
    "sadd16 r0, r0, r0\n\t"                              \
    "sadd16 r1, r1, r1\n\t"                              \
    "sadd16 r2, r2, r2\n\t"                              \
    "sadd16 r3, r3, r3\n\t"
/* K = 16 by halves, the values on the stack [sp]: x, nzp, the A records, the B records (the
 * A records' end), xend, y_step; the row's x (x_stride 16) in r11 and nzp in r4 from the
 * row before (or the start); y in lr while the first half's sums go to the B records (r9);
 * its end the A records' end (r10), tested per four (and MORE1) outputs; then the second
 * half as K = 8 over the B records (MORE2). */
#define DSP_ASM_REC_HALVES_ROWS(SIGN, MORE1, MORE2, XDBL)                                   \
    __asm__ __volatile__("push {r4, r5, r6, r7, r8, r9}\n\t"                           \
                         "mov r11, r4\n\t"                                             \
                         "mov r4, r5\n\t"                                              \
                         "2:\n\t"                                                      \
                         "ldrd r12, r10, [sp, #8]\n\t"                                 \
                         "mov r9, r10\n\t"                                             \
                         "ldr r0, [r11]\n\t"                                           \
                         "ldr r2, [r11, #4]\n\t"                                       \
                         DSP_ASM_REC_WIDEN("r0", "r1", "r4")                           \
                         DSP_ASM_REC_WIDEN("r2", "r3", "r4")                           \
                         XDBL                                                          \
                         "1:\n\t"                                                      \
                         DSP_ASM_REC_HALF_OUT4 MORE1                                   \
                         "cmp r12, r10\n\t"                                            \
                         "bne 1b\n\t"                                                  \
                         "ldr r4, [sp, #4]\n\t"                                        \
                         "ldr r0, [r11, #8]\n\t"                                       \
                         "ldr r2, [r11, #12]\n\t"                                      \
                         DSP_ASM_REC_WIDEN("r0", "r1", "r4")                           \
                         DSP_ASM_REC_WIDEN("r2", "r3", "r4")                           \
                         XDBL                                                          \
                         "mov r12, r10\n\t"                                            \
                         "3:\n\t"                                                      \
                         DSP_ASM_REC2_OUT4(SIGN) MORE2                                 \
                         "tst r11, #256\n\t"                                           \
                         "beq 3b\n\t"                                                  \
                         "ldrd r11, r4, [sp]\n\t"                                      \
                         "ldrd r2, r3, [sp, #16]\n\t"                                  \
                         "add r11, r11, #16\n\t"                                       \
                         "add lr, lr, r3\n\t"                                          \
                         "str r11, [sp]\n\t"                                           \
                         "cmp r11, r2\n\t"                                             \
                         "bne 2b\n\t"                                                  \
                         "add sp, sp, #24"                                             \
                         : "+r"(rx), "+r"(rn), "+r"(ra), "+r"(rb), "+r"(re), "+r"(ry), \
                           "+r"(yr)                                                    \
                         :                                                             \
                         : "r0", "r1", "r2", "r3", "r10", "r11", "r12", "cc", "memory")
/* K = 16's first half of N outputs written out: output 16 H + L's sum into its B record by an
 * offset from r12 (past the A records: their 20 N bytes, then B records of 32). */
#define DSP_ASM_REC_HALF_OUT_AT(N, H, L)                 \
    "ldm r12!, {r4, r5, r6, r7, r8}\n\t"                 \
    "smlad r4, r0, r5, r4\n\t"                           \
    "smlad r4, r1, r6, r4\n\t"                           \
    "smlad r4, r2, r7, r4\n\t"                           \
    "smlad r4, r3, r8, r4\n\t"                           \
    "str r4, [r12, #(20 * " #N " - 20 + 12 * (16 * " #H " + " #L "))]\n\t"
#define DSP_ASM_REC_HALF_OUT_AT8(N, H)                                               \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 0) DSP_ASM_REC_HALF_OUT_AT(N, H, 1)                \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 2) DSP_ASM_REC_HALF_OUT_AT(N, H, 3)                \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 4) DSP_ASM_REC_HALF_OUT_AT(N, H, 5)                \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 6) DSP_ASM_REC_HALF_OUT_AT(N, H, 7)
#define DSP_ASM_REC_HALF_OUT_AT16(N, H)                                              \
    DSP_ASM_REC_HALF_OUT_AT8(N, H)                                                   \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 8) DSP_ASM_REC_HALF_OUT_AT(N, H, 9)                \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 10) DSP_ASM_REC_HALF_OUT_AT(N, H, 11)              \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 12) DSP_ASM_REC_HALF_OUT_AT(N, H, 13)              \
    DSP_ASM_REC_HALF_OUT_AT(N, H, 14) DSP_ASM_REC_HALF_OUT_AT(N, H, 15)
#define DSP_ASM_REC_HALF_OUT_AT96                                                    \
    DSP_ASM_REC_HALF_OUT_AT16(96, 0) DSP_ASM_REC_HALF_OUT_AT16(96, 1)                \
    DSP_ASM_REC_HALF_OUT_AT16(96, 2) DSP_ASM_REC_HALF_OUT_AT16(96, 3)                \
    DSP_ASM_REC_HALF_OUT_AT16(96, 4) DSP_ASM_REC_HALF_OUT_AT16(96, 5)
/* K = 16 by halves where the block is N outputs (8 or 96) and the whole of M (y_stride N: no
 * y step): both halves written out (FIRST, SECOND), no output loop. The stack [sp] holds xend,
 * nzp, x, reloaded by one LDM a row into r9..r11 (x in r11, nzp in r10 through the first
 * half); the row's end is compared before the second half, whose instructions leave the flags
 * (no S forms), and r12 steps back over the N outputs' 13 words: 18 instructions a row
 * besides the outputs' where the loops' spent 27 (N = 8) or 55 (N = 96). */
#define DSP_ASM_REC_HALVES_N(N, XDBL, FIRST, SECOND)                                  \
    __asm__ __volatile__("sub sp, sp, #12\n\t"                                         \
                         "str r8, [sp]\n\t"                                            \
                         "strd r5, r4, [sp, #4]\n\t"                                   \
                         "mov r12, r6\n\t"                                             \
                         "mov r9, r8\n\t"                                              \
                         "mov r10, r5\n\t"                                             \
                         "mov r11, r4\n\t"                                             \
                         "2:\n\t"                                                      \
                         "ldr r0, [r11]\n\t"                                           \
                         "ldr r2, [r11, #4]\n\t"                                       \
                         DSP_ASM_REC_WIDEN("r0", "r1", "r10")                          \
                         DSP_ASM_REC_WIDEN("r2", "r3", "r10")                          \
                         XDBL FIRST                                                    \
                         "ldr r0, [r11, #8]\n\t"                                       \
                         "ldr r2, [r11, #12]\n\t"                                      \
                         DSP_ASM_REC_WIDEN("r0", "r1", "r10")                          \
                         DSP_ASM_REC_WIDEN("r2", "r3", "r10")                          \
                         XDBL                                                          \
                         "add r11, r11, #16\n\t"                                       \
                         "str r11, [sp, #8]\n\t"                                       \
                         "cmp r11, r9\n\t"                                             \
                         SECOND                                                        \
                         "ldm sp, {r9, r10, r11}\n\t"                                  \
                         "sub r12, r12, #(13 * 4 * " #N ")\n\t"                        \
                         "bne 2b\n\t"                                                  \
                         "add sp, sp, #12"                                             \
                         : "+r"(rx), "+r"(rn), "+r"(ra), "+r"(rb), "+r"(re), "+r"(ry), \
                           "+r"(yr)                                                    \
                         :                                                             \
                         : "r0", "r1", "r2", "r3", "r10", "r11", "r12", "cc", "memory")
#define DSP_ASM_REC_OUT96                                                          \
    DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("") \
        DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("")                 \
            DSP_ASM_REC2_OUT12("")
#define DSP_ASM_REC_HALVES8(SIGN, XDBL)                                              \
    DSP_ASM_REC_HALVES_N(8, XDBL, DSP_ASM_REC_HALF_OUT_AT8(8, 0),                   \
                         DSP_ASM_REC2_OUT4(SIGN) DSP_ASM_REC2_OUT4(SIGN))
/* K = 8 where the block is N outputs and the whole of M (y_stride N: no y step), its N
 * outputs written out (OUTS), no output loop: the stack [sp] holds xend, nzp, x and the
 * records, reloaded into r9..r12 by one LDM a row after the outputs (whose records take
 * r4..r11); the row's end is compared before the outputs, whose instructions leave the flags:
 * 11 instructions a row besides the outputs' where the output loop's spent 19 (N = 48:
 * MobileNetV2 0.35's expansion of 8 channels). */
#define DSP_ASM_REC_ROWS_N(N, OUTS)                                                    \
    __asm__ __volatile__("sub sp, sp, #16\n\t"                                         \
                         "str r7, [sp]\n\t"                                            \
                         "strd r5, r4, [sp, #4]\n\t"                                   \
                         "str r8, [sp, #12]\n\t"                                       \
                         "mov r12, r8\n\t"                                             \
                         "mov r9, r7\n\t"                                              \
                         "mov r10, r5\n\t"                                             \
                         "mov r11, r4\n\t"                                             \
                         "2:\n\t"                                                      \
                         "ldr r0, [r11]\n\t"                                           \
                         "ldr r2, [r11, #4]\n\t"                                       \
                         DSP_ASM_REC_WIDEN("r0", "r1", "r10")                          \
                         DSP_ASM_REC_WIDEN("r2", "r3", "r10")                          \
                         "add r11, r11, #8\n\t"                                        \
                         "str r11, [sp, #8]\n\t"                                       \
                         "cmp r11, r9\n\t"                                             \
                         OUTS                                                          \
                         "ldm sp, {r9, r10, r11, r12}\n\t"                             \
                         "bne 2b\n\t"                                                  \
                         "add sp, sp, #16"                                             \
                         : "+r"(rx), "+r"(rn), "+r"(rs), "+r"(re), "+r"(rr), "+r"(ry), \
                           "+r"(yr)                                                    \
                         :                                                             \
                         : "r0", "r1", "r2", "r3", "r10", "r11", "r12", "cc", "memory")
#define DSP_ASM_REC_OUT48 \
    DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("") DSP_ASM_REC2_OUT12("")
/* clang-format on */

/* n >= 1 rows x[8] (x_stride apart) through the `count` records at rec (a multiple of 4, the
 * last flagged): y[j] (rows y_stride apart); relu: DSP_RQ_DOUBLE2Z (s8_dsp.h). */
DSP_ALWAYS_INLINE void dsp_rec_rows(const uint32_t *rec, const int8_t *x, size_t x_stride,
                                    int32_t n, int8_t *y, size_t y_stride, int32_t count,
                                    uint32_t nzp, int relu) {
    register const int8_t *rx __asm__("r4") = x;
    register uint32_t rn __asm__("r5") = nzp;
    register size_t rs __asm__("r6") = x_stride;
    register const int8_t *re __asm__("r7") = x + (size_t)n * x_stride;
    register const uint32_t *rr __asm__("r8") = rec;
    register size_t ry __asm__("r9") = y_stride - (size_t)count;
    register int8_t *yr __asm__("lr") = y;
    /* the block the whole of M: no output loop; else sixteen or eight outputs a turn (the
     * flag's test per 16, 8) */
    if (dsp_calls_REC8_M48Z() && count == 48 && y_stride == 48 && relu && x_stride == 8)
        DSP_ASM_REC_ROWS_N(48, DSP_ASM_REC_OUT48);
    else if (dsp_calls_REC8_16Z() && count % 16 == 0 && relu)
        DSP_ASM_REC2_ROWS("", DSP_ASM_REC2_OUT12(""));
    else if (dsp_calls_REC8_16() && count % 16 == 0)
        DSP_ASM_REC2_ROWS(DSP_ASM_REC2_SIGN, DSP_ASM_REC2_OUT12(DSP_ASM_REC2_SIGN));
    else if (dsp_calls_REC8_8Z() && count % 8 == 0 && relu)
        DSP_ASM_REC2_ROWS("", DSP_ASM_REC2_OUT4(""));
    else if (dsp_calls_REC8_8() && count % 8 == 0)
        DSP_ASM_REC2_ROWS(DSP_ASM_REC2_SIGN, DSP_ASM_REC2_OUT4(DSP_ASM_REC2_SIGN));
    else if (dsp_calls_REC8_Z() && relu)
        DSP_ASM_REC2_ROWS("", "");
    else
        DSP_ASM_REC2_ROWS(DSP_ASM_REC2_SIGN, "");
}

/* n >= 1 rows x[16] (16 apart) through the `count` outputs' A records at a_rec and B records
 * (flagged) at b_rec = a_rec + 5 count by halves (DSP_ASM_REC_HALVES_ROWS); xdbl: the rows
 * doubled. */
/* DSP_ASM_REC_HALVES_ROWS for the row's four forms (relu: no sign's term; xdbl: the rows
 * doubled), HALF and OUT the written-out turn's first- and second-half outputs, where the
 * count is a multiple of M (P: the calls' tests' suffix, dsp_calls_REC16_<M><Z><X>); a form
 * not built hands relu to the sign's form of the same xdbl (the same bits), or the call to
 * the next group (every xdbl call has one: its count is a multiple of 8). */
#define DSP_REC_HALVES_BY_FORM(M, P, HALF, OUT)                                           \
    do {                                                                                  \
        if (dsp_calls_REC16_##P##ZX() && count % M == 0 && relu && xdbl) {                \
            DSP_ASM_REC_HALVES_ROWS("", HALF, OUT(""), DSP_ASM_REC_XDBL);                 \
            return;                                                                       \
        }                                                                                 \
        if (dsp_calls_REC16_##P##X() && count % M == 0 && xdbl) {                         \
            DSP_ASM_REC_HALVES_ROWS(DSP_ASM_REC2_SIGN, HALF, OUT(DSP_ASM_REC2_SIGN),      \
                                    DSP_ASM_REC_XDBL);                                    \
            return;                                                                       \
        }                                                                                 \
        if (dsp_calls_REC16_##P##Z() && count % M == 0 && relu) {                         \
            DSP_ASM_REC_HALVES_ROWS("", HALF, OUT(""), "");                               \
            return;                                                                       \
        }                                                                                 \
        if (dsp_calls_REC16_##P() && count % M == 0) {                                    \
            DSP_ASM_REC_HALVES_ROWS(DSP_ASM_REC2_SIGN, HALF, OUT(DSP_ASM_REC2_SIGN), ""); \
            return;                                                                       \
        }                                                                                 \
    } while (0)
static __attribute__((noinline)) DSP_NOCLONE void dsp_rec_rows_halves(
    const uint32_t *a_rec, const uint32_t *b_rec, const int8_t *x, int32_t n, int8_t *y,
    size_t y_stride, int32_t count, uint32_t nzp, int relu, int xdbl) {
    register const int8_t *rx __asm__("r4") = x;
    register uint32_t rn __asm__("r5") = nzp;
    register const uint32_t *ra __asm__("r6") = a_rec, *rb __asm__("r7") = b_rec;
    register const int8_t *re __asm__("r8") = x + (size_t)n * 16;
    register size_t ry __asm__("r9") = y_stride - (size_t)count;
    register int8_t *yr __asm__("lr") = y;
    const int h8 = count == 8 && y_stride == 8; /* the block the whole of M: no loops */
    /* MobileNetV2's expansions of 16 channels to 96 (ReLU) */
    const int h96 = count == 96 && y_stride == 96 && relu;
    /* each copy built where a call can take it (dsp_calls_REC16_*), xdbl's before relu's */
    if (dsp_calls_REC16_H8ZX() && h8 && relu && xdbl)
        DSP_ASM_REC_HALVES8("", DSP_ASM_REC_XDBL);
    else if (dsp_calls_REC16_H8X() && h8 && xdbl)
        DSP_ASM_REC_HALVES8(DSP_ASM_REC2_SIGN, DSP_ASM_REC_XDBL);
    else if (dsp_calls_REC16_H8Z() && h8 && relu)
        DSP_ASM_REC_HALVES8("", "");
    else if (dsp_calls_REC16_H8() && h8)
        DSP_ASM_REC_HALVES8(DSP_ASM_REC2_SIGN, "");
    else if (dsp_calls_REC16_H96X() && h96 && xdbl)
        DSP_ASM_REC_HALVES_N(96, DSP_ASM_REC_XDBL, DSP_ASM_REC_HALF_OUT_AT96, DSP_ASM_REC_OUT96);
    else if (dsp_calls_REC16_H96() && h96)
        DSP_ASM_REC_HALVES_N(96, "", DSP_ASM_REC_HALF_OUT_AT96, DSP_ASM_REC_OUT96);
    else { /* sixteen outputs a turn: the end's tests per 16; eight: per 8 */
        DSP_REC_HALVES_BY_FORM(16, 16, DSP_ASM_REC_HALF_OUT12, DSP_ASM_REC2_OUT12);
        DSP_REC_HALVES_BY_FORM(8, 8, DSP_ASM_REC_HALF_OUT4, DSP_ASM_REC2_OUT4);
        if (dsp_calls_REC16_Z() && relu)
            DSP_ASM_REC_HALVES_ROWS("", "", "", "");
        else
            DSP_ASM_REC_HALVES_ROWS(DSP_ASM_REC2_SIGN, "", "", "");
    }
}

/* Outputs s .. s+n-1 (n a multiple of 4) of the p->n rows through their records at rec when
 * every output takes the doubled form; returns 0 (nothing written to y) otherwise. */
static int dsp_rec_run(uint32_t *rec, const cnnc_s8_dense_params *p, const int8_t *x,
                       const int8_t *w, const int32_t *bias, const int32_t *mult,
                       const int32_t *shift, int32_t s, int32_t n, const dsp_out *out, int8_t *y) {
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    const int relu = out->zero_point == -128;
    /* the factor 2 on the rows where the block's outputs outnumber them (K = 16, eight
     * outputs a turn: 8 SADD16s a row against 8 per four outputs); never where no call's rows
     * are fewer than its outputs (DSP_REC16_X), whose copies are then not built */
    const int xdbl = dsp_calls_REC16_X() && p->k == 16 && n % 8 == 0 && p->n < n;
    uint32_t *const rb = p->k == 16 ? rec + (size_t)5 * n : rec; /* the B (or K = 8) records */
    if (!dsp_rec_params(rec, rb, bias + s, mult + s, shift + s, n, out, p->k)) return 0;
    if (dsp_calls_REC8() && (!dsp_calls_REC16() || p->k == 8)) { /* dsp_rec_block: 8 or 16 */
        dsp_rec_groups(rec, w + s, p->m, n);
        dsp_rec_rows(rec, x, (size_t)p->k, p->n, y + s, (size_t)p->m, n, nzp, relu);
        return 1;
    }
    dsp_rec_groups_halves(rec, rb, w + s, p->m, !xdbl);
    dsp_rec_rows_halves(rec, rb, x, p->n, y + s, (size_t)p->m, n, nzp, relu, xdbl);
    return 1;
}

/* Outputs o0 .. o0+count-1 of the n rows through per-output records when K is 8 or 16 and the
 * requantisation the doubled form with the full clamp; returns 0 (nothing written to y past
 * the outputs an earlier call did) otherwise. blk is the blk of a dsp_block_words, and the
 * records take all its words past the header (from blk->w: 1,217 words, at K = 16 96 outputs
 * where blk->w holds 48 outputs' groups), so one call may run past count, up to the buffer's
 * capacity (a multiple of 8 outputs, the rest a multiple of 4): blk->count then says where
 * its outputs end, and later calls within them return 1 at once (the groups' dsp_repack sets
 * blk->count to a block's count, which never reaches past the next block's o0). */
static __attribute__((noinline)) int dsp_rec_block(dsp_block *blk, const cnnc_s8_dense_params *p,
                                                   const int8_t *x, const int8_t *w,
                                                   const int32_t *bias, const int32_t *mult,
                                                   const int32_t *shift, int32_t o0, int32_t count,
                                                   const dsp_out *out, int8_t *y) {
    enum { HEADER = offsetof(dsp_block, w) / 4, TOTAL = sizeof(dsp_block_words) / 4 };
    int32_t s, n, cap;
    if (!((dsp_calls_REC8() && p->k == 8) || (dsp_calls_REC16() && p->k == 16)) ||
        !dsp_out_full(out))
        return 0;
    s = o0 > 0 && blk->count > o0 ? blk->count : o0; /* outputs done below s */
    if (s >= o0 + count) return 1;
    cap = ((TOTAL - HEADER) / DSP_REC_WORDS(p->k / 4)) & ~7;
    n = (p->m - s < cap ? p->m - s : cap) & ~3;
    if (s + n < o0 + count || !dsp_rec_run(((dsp_block_words *)(void *)blk)->words + HEADER, p, x,
                                           w, bias, mult, shift, s, n, out, y))
        return 0;
    blk->count = s + n;
    return 1;
}

/* ---------------------------------------------------------------------------------
 * K a multiple of 8 from 24 to DSP_PAIR_MAX_K with the doubled requantisation and the full
 * clamp: two rows by two outputs a pass, the four sums in r0..r3, so per input quad one LDM
 * of both rows' widened words (interleaved: row 0 even, odd, row 1 even, odd) and one of
 * both outputs' weight words feed 8 SMLADs (10 instructions per 16 MACs where the groups of
 * four outputs of one row spent 11: an LDRD of x and two LDMs of weights). A pair of outputs
 * reads one record of DSP_PAIR_WORDS(nq) words: its biases (doubled) for the four sums, per
 * quad (even, odd) of output 0 then of output 1, then e0, e1, m0, c0, m1, c1. The factor 2
 * of the doubled form sits on the weights (once per block) where the rows outnumber the
 * block's outputs, else on the rows. All 14 registers hold the quad loop (sums, x, weights,
 * both pointers), so its end is a sentinel word past the rows' words (DSP_PAIR_END, which
 * no widened word equals: their int16 lanes lie in [-510, 510]), tested after every
 * fourteenth quad where K is a multiple of 56, every twelfth where of 48, else every fourth
 * (every second where K mod 16 is 8); the loop over pairs of rows (their
 * widening too) runs inside the statement, its 12 values on the stack (48 bytes that GCC's frame
 * sizes do not see, below the block path's frames as dsp_rec_rows's 24). */
#define DSP_PAIR_WORDS(nq) (4 * (nq) + 10)
/* The rows' words and the sentinel (K + 1) at the end of the dsp_block_words (blk->shift and
 * blk->gq, 193 words, then blk->w's tail), the records from blk->w up to them or its end. */
#define DSP_PAIR_MAX_K 336
#define DSP_PAIR_REC_ROOM(k)                                                                    \
    ((int32_t)((sizeof(dsp_block_words) - offsetof(dsp_block, w)) / 4) - (k)-1 < DSP_WBUF_WORDS \
         ? (int32_t)((sizeof(dsp_block_words) - offsetof(dsp_block, w)) / 4) - (k)-1            \
         : DSP_WBUF_WORDS)
#define DSP_PAIR_END 0x40004000u /* a Thumb-2 modified immediate: CMP takes it */
/* The rows kept for the whole call (dsp_pair_keep): K + 1 words a pair of rows, K / 2 + 1 an
 * odd last one, at the end of the dsp_block_words; the records from blk->w up to them. */
#define DSP_PAIR_KEPT_WORDS(n, k) ((n) / 2 * ((k) + 1) + (n) % 2 * ((k) / 2 + 1))
#define DSP_PAIR_KEPT_ROOM(n, k) \
    ((int32_t)((sizeof(dsp_block_words) - offsetof(dsp_block, w)) / 4) - DSP_PAIR_KEPT_WORDS(n, k))
#define DSP_PAIR_KEPT (-1) /* blk->count while the rows are kept (no block's count) */

/* The quads a turn of K = 4 nq: fourteen, twelve, four or two (a turn run once unchecked
 * where K is 48 or 56 saved 3 instructions a record pass for 3 KB of code at -O2); then the
 * whole of K written out: 48 and 96 in dsp_pair_rows (DSP_PAIR_ROWS_QX), 24, 32 and 112 in
 * dsp_pair_kept_rows. Two quads a turn serve every K (a multiple of 8): a variant left out
 * of a build (dsp_pair_built) falls to it where the build holds it. */
enum {
    DSP_PAIR_Q2,
    DSP_PAIR_Q4,
    DSP_PAIR_Q12,
    DSP_PAIR_Q14,
    DSP_PAIR_Q12X,
    DSP_PAIR_Q24X,
    DSP_PAIR_K24,
    DSP_PAIR_K32,
    DSP_PAIR_K112
};
DSP_ALWAYS_INLINE int dsp_pair_q(int32_t nq) {
    if (nq % 14 == 0) return DSP_PAIR_Q14;
    if (nq % 12 == 0) return DSP_PAIR_Q12;
    return nq % 4 == 0 ? DSP_PAIR_Q4 : DSP_PAIR_Q2;
}

/* Outputs a block of a pair call, as cnnc_s8_dense__dsp sizes them: dsp_block_outputs, at
 * most the pair records' room. Written out, not calling dsp_block_outputs: where dsp_pair_can
 * folds, inlined into a large function, gcc's growth limits leave such calls out of line. */
DSP_ALWAYS_INLINE int32_t dsp_pair_per(int32_t k) {
    const int32_t fit = (DSP_PAIR_REC_ROOM(k) / DSP_PAIR_WORDS(k / 4) * 2) & ~3;
    const int32_t wbuf = DSP_WBUF_WORDS / ((k + 3) / 4 * 8) * 4;
    const int32_t per = wbuf < DSP_BLOCK_MAX ? wbuf : DSP_BLOCK_MAX;
    return per < fit ? per : fit;
}

/* Outputs a block where the rows are kept (dsp_pair_block_kept), or 0 where widening them per
 * block (per outputs a block, dsp_pair_block) costs less or the kept rows leave no room: ~1.6
 * instructions a byte of rows widened per block against ~2.5 once (dsp_pair_keep), and ~60 +
 * 7 n a block more where the kept rows leave room for fewer outputs. */
DSP_ALWAYS_INLINE int32_t dsp_pair_kept_of(int32_t n, int32_t k, int32_t m, int32_t per) {
    const int32_t room = DSP_PAIR_KEPT_ROOM(n, k);
    const int32_t fit = room > 0 ? (room / DSP_PAIR_WORDS(k / 4) * 2) & ~3 : 0;
    const int32_t kper = fit < per ? fit : per;
    if (kper < 4) return 0;
    {
        const int32_t blocks = (m + per - 1) / per, kblocks = (m + kper - 1) / kper;
        const int32_t widen = n * k * 8 / 5, more = 60 + 7 * n;
        return blocks * (widen + more) > n * k * 5 / 2 + kblocks * more ? kper : 0;
    }
}

/* The variants of the pair paths a model's calls can take, so that a build holds only those
 * (cnnc_model_calls.h): the rows of a block (DSP_PAIR_F_ROWS: dsp_pair_rows) and its odd last
 * row (DSP_PAIR_F_ROW1), or with the rows kept (DSP_PAIR_F_KEPT: dsp_pair_kept_rows;
 * DSP_PAIR_F_KEPT1); the rows doubled (xdbl, not where kept: the rows are) or the weights;
 * relu (the output's zero point -128, DSP_RQ_DOUBLE2Z); the quads a turn (q). DSP_PAIR_ANY:
 * any value. */
enum { DSP_PAIR_F_ROWS, DSP_PAIR_F_ROW1, DSP_PAIR_F_KEPT, DSP_PAIR_F_KEPT1 };
#define DSP_PAIR_ANY (-1)
DSP_ALWAYS_INLINE int dsp_pair_rows_q(int32_t k, int relu) {
    if (!relu && (k == 48 || k == 96)) return k == 48 ? DSP_PAIR_Q12X : DSP_PAIR_Q24X;
    return dsp_pair_q(k / 4);
}
DSP_ALWAYS_INLINE int dsp_pair_kept_q(int32_t k, int relu) {
    if (relu && (k == 24 || k == 32 || k == 112))
        return k == 24 ? DSP_PAIR_K24 : k == 32 ? DSP_PAIR_K32 : DSP_PAIR_K112;
    return dsp_pair_q(k / 4);
}
DSP_ALWAYS_INLINE int dsp_pair_row1_q(int32_t nq) {
    return nq % 14 == 0 ? DSP_PAIR_Q14 : nq % 4 == 0 ? DSP_PAIR_Q4 : DSP_PAIR_Q2;
}

/* Whether a call (n rows of K inputs into M outputs, its output's zero point, clamp and
 * rounding) can take variant (f, xdbl, relu, q), from its params alone, as
 * cnnc_s8_dense__dsp and the pair paths choose: K, the clamp and the rounding as their tests;
 * rows enough for blocks (DSP_MIN_ROWS) and not the four-row path's (4 rows, M even); the rows
 * kept where dsp_pair_kept_of says so for dsp_pair_per's blocks; xdbl where the rows number at
 * most some block's outputs (M, or a whole block's where M is more), the weights doubled where
 * more than the last block's. */
DSP_ALWAYS_INLINE int dsp_pair_can(int32_t n, int32_t k, int32_t m, int32_t y_zero_point,
                                   int32_t act_min, int32_t act_max, int32_t rounding, int f,
                                   int xdbl, int relu, int q) {
    const int r = y_zero_point == -128;
    if (k % 8 || k < 24 || k > DSP_PAIR_MAX_K || act_min != -128 || act_max != 127 ||
        rounding != CNNC_ROUND_DOUBLE || n < (m % 4 ? DSP_MIN_ROWS : DSP_MIN_ROWS_M4) ||
        (n == 4 && m % 2 == 0) || (relu != DSP_PAIR_ANY && relu != r))
        return 0;
    {
        const int32_t per = dsp_pair_per(k);
        const int32_t last = m - (m - 1) / per * per, row1 = dsp_pair_row1_q(k / 4);
        const int kept = m > per && dsp_pair_kept_of(n, k, m, per) > 0;
        if (f == DSP_PAIR_F_KEPT) return kept && (q == DSP_PAIR_ANY || q == dsp_pair_kept_q(k, r));
        if (f == DSP_PAIR_F_KEPT1) return kept && n % 2 && (q == DSP_PAIR_ANY || q == row1);
        if (kept || (xdbl == 1 && n > (per < m ? per : m)) || (xdbl == 0 && n <= last)) return 0;
        if (f == DSP_PAIR_F_ROWS) return q == DSP_PAIR_ANY || q == dsp_pair_rows_q(k, r);
        return n % 2 && (q == DSP_PAIR_ANY || q == row1);
    }
}

/* Whether some call of the model can take variant (f, xdbl, relu, q): constants folded to 0
 * or 1 (DSP_DENSE_CALLS), so an asm statement behind a 0 is not built. A block whose variant
 * a build left out runs two quads a turn (DSP_PAIR_Q2) where the build holds that variant,
 * else the path returns 0 and the general path computes the whole block (the same bits),
 * rows some variant already wrote included (the kept rows always hold two quads a turn of a
 * relu they hold: dsp_pair_kept_rows cannot refuse). */
#define DSP_PAIR_CAN_AS(rows, in, out, call)                                         \
    dsp_pair_can(rows, in, out, (call).y_zero_point, (call).act_min, (call).act_max, \
                 (call).rounding, f, xdbl, relu, q) /* f .. q: dsp_pair_built's arguments */
#define DSP_PAIR_CAN(d) DSP_PAIR_CAN_AS((d).n, (d).k, (d).m, d)
#define DSP_PAIR_CAN_PW(conv) DSP_PW_AS(DSP_PAIR_CAN, conv)
DSP_ALWAYS_INLINE int dsp_pair_built(int f, int xdbl, int relu, int q) {
    (void)f, (void)xdbl, (void)relu, (void)q; /* unused where every path is built */
    return DSP_DENSE_CALLS(DSP_PAIR_CAN);
}

/* Outputs o..o+3 (w0 at w[0][o]) of quads 0 .. nq-1 into the records of pairs (o, o+1) at pa
 * and (o+2, o+3) at pb: dsp_repack_quads's sequence, stored by pairs of words; DA, DB: the
 * words doubled (DSP_ASM_DBL) or not; two quads a turn (nq is even: K a multiple of 8). */
#define DSP_ASM_PAIR_QUAD1(DA, DB)        \
    DSP_ASM_QUAD_SPLIT(DSP_ASM_QUAD_STEP) \
    "sxtb16 %[a], %[a], ror #8\n\t" DA    \
    "strd %[t], %[a], [%[wp], #8]\n\t"    \
    "strd %[b], %[e], [%[wp]], #16\n\t"   \
    "sxtb16 %[b], %[c]\n\t"               \
    "sxtb16 %[c], %[c], ror #8\n\t"       \
    "sxtb16 %[e], %[d]\n\t"               \
    "sxtb16 %[d], %[d], ror #8\n\t" DB    \
    "strd %[c], %[d], [%[wq], #8]\n\t"    \
    "strd %[b], %[e], [%[wq]], #16\n\t"
#define DSP_ASM_PAIR_QUADS(DA, DB) \
    __asm__ __volatile__(                                                                     \
        "1:\n\t"                                                                              \
        DSP_ASM_PAIR_QUAD1(DA, DB) DSP_ASM_PAIR_QUAD1(DA, DB) \
        "cmp %[wp], %[end]\n\t"                                                               \
        "bne 1b"                                                                              \
        : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [e] "=&r"(e), [t] "=&r"(t), \
          [w0] "+r"(w0), [wp] "+r"(wp), [wq] "+r"(wq)                                         \
        : [m] "r"(m), [m3] "r"(3 * m), [end] "r"(end)                                         \
        : "memory", "cc")

DSP_ALWAYS_INLINE void dsp_pair_quads(uint32_t *pa, uint32_t *pb, const int8_t *w0, int32_t m,
                                      int32_t nq, int dbl) {
    uint32_t *wp = pa + 4, *wq = pb + 4, a, b, c, d, e, t;
    const uint32_t *const end = wp + 4 * nq;
    if (dbl)
        DSP_ASM_PAIR_QUADS(DSP_ASM_DBL("b") DSP_ASM_DBL("t") DSP_ASM_DBL("e") DSP_ASM_DBL("a"),
                           DSP_ASM_DBL("b") DSP_ASM_DBL("c") DSP_ASM_DBL("e") DSP_ASM_DBL("d"));
    else
        DSP_ASM_PAIR_QUADS("", "");
}

/* The pair records' pass, a pair of outputs a turn (r: the pair's record, wb: a record's
 * bytes): 2 b0, 2 b1, 2 b0, 2 b1 at [r], then -s0, -s1, m0, c0 = zp2 << e0, m1, c1 in the
 * record's last six words (e = ~s: the caller's ebits < 20 refuses the garbage LSL stores
 * where e lies outside 0..31), and the checks as dsp_rec_params' (ebits, the OR of the e;
 * mbits; SSAT #30 of the biases into the Q flag: 2 |b| + 2 K 255 128 < 2^31 below 2^29 for K
 * up to DSP_PAIR_MAX_K): 29 instructions a pair where gcc's loop spent ~57 (it spilled five
 * values) and the maximum of the e and the biases' OR 35. */
#define DSP_ASM_PAIR_PARAMS                                                                 \
    __asm__ __volatile__(                                                                   \
        "mov %[t], #0\n\t"                                                                  \
        "msr APSR_nzcvq, %[t]\n\t"                                                          \
        "1:\n\t"                                                                            \
        "ldrd %[b0], %[b1], [%[bias]], #8\n\t"                                              \
        "ssat %[t], #30, %[b0]\n\t"                                                         \
        "ssat %[t], #30, %[b1]\n\t"                                                         \
        "lsl %[b0], %[b0], #1\n\t"                                                          \
        "lsl %[b1], %[b1], #1\n\t"                                                          \
        "strd %[b0], %[b1], [%[r]]\n\t"                                                     \
        "strd %[b0], %[b1], [%[r], #8]\n\t"                                                 \
        "add %[r], %[r], %[wb]\n\t"                                                         \
        "ldrd %[b0], %[b1], [%[mult]], #8\n\t"                                              \
        "str %[b0], [%[r], #-16]\n\t"                                                       \
        "str %[b1], [%[r], #-8]\n\t"                                                        \
        "eor %[b0], %[b0], #0x40000000\n\t"                                                 \
        "orr %[mbits], %[mbits], %[b0]\n\t"                                                 \
        "eor %[b1], %[b1], #0x40000000\n\t"                                                 \
        "orr %[mbits], %[mbits], %[b1]\n\t"                                                 \
        "ldrd %[b0], %[b1], [%[shift]], #8\n\t"                                             \
        "mvn %[t], %[b0]\n\t"                                                               \
        "orr %[ebits], %[ebits], %[t]\n\t"                                                  \
        "lsl %[t], %[zp2], %[t]\n\t"                                                        \
        "str %[t], [%[r], #-12]\n\t"                                                        \
        "mvn %[t], %[b1]\n\t"                                                               \
        "orr %[ebits], %[ebits], %[t]\n\t"                                                  \
        "lsl %[t], %[zp2], %[t]\n\t"                                                        \
        "str %[t], [%[r], #-4]\n\t"                                                         \
        "rsb %[b0], %[b0], #0\n\t"                                                          \
        "rsb %[b1], %[b1], #0\n\t"                                                          \
        "strd %[b0], %[b1], [%[r], #-24]\n\t"                                               \
        "cmp %[r], %[end]\n\t"                                                              \
        "bne 1b\n\t"                                                                        \
        "mrs %[apsr], APSR"                                                                 \
        : [b0] "=&r"(b0), [b1] "=&r"(b1), [t] "=&r"(t), [r] "+r"(r), [bias] "+r"(bias),     \
          [mult] "+r"(mult), [shift] "+r"(shift), [ebits] "+r"(ebits), [mbits] "+r"(mbits), \
          [apsr] "=r"(apsr)                                                                 \
        : [end] "r"(end), [zp2] "r"(zp2), [wb] "r"(wb)                                      \
        : "memory", "cc")

/* The pair records' biases and e, m, c of outputs 0 .. count-1 (count even, > 0), for the
 * double rounding, assuming DSP_RQ_DOUBLE2 (dsp_rec_params's checks; DSP_ASM_PAIR_PARAMS);
 * returns whether every output takes it. */
static __attribute__((noinline)) int dsp_pair_params(uint32_t *rec, int32_t words,
                                                     const int32_t *bias, const int32_t *mult,
                                                     const int32_t *shift, int32_t count,
                                                     const dsp_out *out) {
    const uint32_t zp2 = 2u * (uint32_t)out->zero_point + 1u, wb = 4u * (uint32_t)words;
    uint32_t ebits = 0, mbits = 0, apsr, *r = rec, b0, b1, t;
    const uint32_t *const end = rec + (size_t)words * (count / 2);
    if (out->rounding != CNNC_ROUND_DOUBLE) return 0;
    DSP_ASM_PAIR_PARAMS;
    return ebits < 20u && mbits < (1u << 30) && !(apsr & (1u << 27)); /* Q clear */
}

/* clang-format off */
#define DSP_ASM_PAIR_QUAD                                \
    "ldm lr!, {r4, r5, r6, r7}\n\t"                      \
    "ldm r12!, {r8, r9, r10, r11}\n\t"                   \
    "smlad r0, r4, r8, r0\n\t"                           \
    "smlad r0, r5, r9, r0\n\t"                           \
    "smlad r1, r4, r10, r1\n\t"                          \
    "smlad r1, r5, r11, r1\n\t"                          \
    "smlad r2, r6, r8, r2\n\t"                           \
    "smlad r2, r7, r9, r2\n\t"                           \
    "smlad r3, r6, r10, r3\n\t"                          \
    "smlad r3, r7, r11, r3\n\t"
/* The quad loop's turn: fourteen quads (K a multiple of 56: 0.35@96's 56, 112 and 336),
 * twelve (of 48), four (of 16) or two; its end the sentinel past the rows' words. */
#define DSP_ASM_PAIR_QUAD2 DSP_ASM_PAIR_QUAD DSP_ASM_PAIR_QUAD
#define DSP_ASM_PAIR_QUAD4 DSP_ASM_PAIR_QUAD2 DSP_ASM_PAIR_QUAD2
#define DSP_ASM_PAIR_QUAD12 DSP_ASM_PAIR_QUAD4 DSP_ASM_PAIR_QUAD4 DSP_ASM_PAIR_QUAD4
#define DSP_ASM_PAIR_QUAD14 DSP_ASM_PAIR_QUAD12 DSP_ASM_PAIR_QUAD2
#define DSP_ASM_PAIR_LOOP(QUADS)                         \
    "1:\n\t"                                             \
    QUADS                                                \
    "ldr r4, [lr]\n\t"                                   \
    "cmp r4, #0x40004000\n\t"                            \
    "bne 1b\n\t"
/* Sum a with m, c, e into y's byte at `at`; the sign's term into lr (free once the quads
 * are done; c serves both rows) or, for DSP_RQ_DOUBLE2Z, c itself. */
#define DSP_ASM_PAIR_RQ(a, m, c, e, at)                  \
    "add lr, " c ", " a ", asr #31\n\t"                  \
    "smmlar " a ", " a ", " m ", lr\n\t"                 \
    "asr " a ", " a ", " e "\n\t"                        \
    "ssat " a ", #8, " a "\n\t"                          \
    "strb " a ", " at "\n\t"
#define DSP_ASM_PAIR_RQZ(a, m, c, e, at)                 \
    "smmlar " a ", " a ", " m ", " c "\n\t"              \
    "asr " a ", " a ", " e "\n\t"                        \
    "ssat " a ", #8, " a "\n\t"                          \
    "strb " a ", " at "\n\t"
/* Rows x0 and x1 (r4, r1; K bytes, any alignment; the loop ends at x0 + K in r6) widened on
 * the lanes (-zp, -zp) (nzp in r10) into xb (r2) interleaved: per quad row 0's (even, odd)
 * then row 1's, in r3, r5, r7, r8 so that one STM stores the quad's four words (7
 * instructions a quad where two STRDs spent 8; row 1's lanes first, before row 0's word in
 * r3 and r5 is overwritten); D: doubled (the weights then are not) or not. WIDEN: as many
 * quads a turn as the quad loop's (QW: DSP_ASM_PAIR_QUAD's count, a divisor of K / 4): the
 * loop's CMP and BNE once per 4 QW bytes (K = 336: 6 turns where 2 quads a turn took 42;
 * +3 KB of -O2 code). */
#define DSP_ASM_PAIR_WIDEN1(D)                           \
    "ldr r3, [r4], #4\n\t"                               \
    "ldr r5, [r1], #4\n\t"                               \
    "sxtab16 r7, r10, r5\n\t"                            \
    "sxtab16 r8, r10, r5, ror #8\n\t"                    \
    "sxtab16 r5, r10, r3, ror #8\n\t"                    \
    "sxtab16 r3, r10, r3\n\t"                            \
    D                                                    \
    "stm r2!, {r3, r5, r7, r8}\n\t"
#define DSP_ASM_PAIR_WIDEN2(D) DSP_ASM_PAIR_WIDEN1(D) DSP_ASM_PAIR_WIDEN1(D)
#define DSP_ASM_PAIR_WIDEN4(D) DSP_ASM_PAIR_WIDEN2(D) DSP_ASM_PAIR_WIDEN2(D)
#define DSP_ASM_PAIR_WIDEN12(D) DSP_ASM_PAIR_WIDEN4(D) DSP_ASM_PAIR_WIDEN4(D) DSP_ASM_PAIR_WIDEN4(D)
#define DSP_ASM_PAIR_WIDEN14(D) DSP_ASM_PAIR_WIDEN12(D) DSP_ASM_PAIR_WIDEN2(D)
#define DSP_ASM_PAIR_WIDEN(D, QW)                        \
    "5:\n\t"                                             \
    DSP_ASM_PAIR_WIDEN##QW(D)                            \
    "cmp r4, r6\n\t"                                     \
    "bne 5b\n\t"
#define DSP_ASM_PAIR_XDBL                                \
    "sadd16 r7, r7, r7\n\t"                              \
    "sadd16 r3, r3, r3\n\t"                              \
    "sadd16 r8, r8, r8\n\t"                              \
    "sadd16 r5, r5, r5\n\t"
/* The row pair's output pairs until the records' end ([sp, #12]): each pair's quads (QUADS:
 * its records at r12, the rows' words at lr, reloaded from [sp, #8]), its four outputs'
 * requantisation (RQ) to y at [sp] (row 0) and y + m (row 1, [sp, #4] = m - 1 past it). */
#define DSP_ASM_PAIR_OUTPUTS(RQ, QUADS)                                       \
    "3:\n\t"                                                                  \
    "ldm r12!, {r0, r1, r2, r3}\n\t"                                          \
    QUADS                                                                     \
    "ldm r12!, {r4, r5, r6, r7, r8, r9}\n\t"                                  \
    "ldrd r10, r11, [sp]\n\t"                                                 \
    RQ("r0", "r6", "r7", "r4", "[r10], #1")                                   \
    RQ("r2", "r6", "r7", "r4", "[r10, r11]")                                  \
    RQ("r1", "r8", "r9", "r5", "[r10], #1")                                   \
    RQ("r3", "r8", "r9", "r5", "[r10, r11]")                                  \
    "str r10, [sp]\n\t"                                                       \
    "ldrd lr, r4, [sp, #8]\n\t"                                               \
    "cmp r12, r4\n\t"                                                         \
    "bne 3b\n\t"
/* All rows by pairs, the loop in the statement: its values pushed ([sp + 4 i] = r i): y of the
 * current output pair (row 0), y_stride - 1 (m - 1: row 1's bytes sit there past row 0's,
 * whose STRBs step y on), xb, the records' end, x0 (the pair's first row), the pairs' last
 * row, K, 2 m - count (y's step from past the block's row 0 outputs to the next pair's
 * first), (unused), the records, nzp, (unused). Per pair of rows the rows are widened into xb
 * (D; row 1's pointer ends on the next pair's x0, stored at once), then every record's two
 * outputs run against them: sums r0..r3 = (row 0: o, o+1), (row 1: o, o+1); the next pair's
 * x0, last row and K stay in r4..r6 from the loop's end (at the start: the inputs), its y
 * (r10, past the last output of row 0, plus the step) goes to [sp] there: 13 instructions a
 * pair of rows around the widening and the outputs where storing x0 and y back took 16. */
#define DSP_ASM_PAIR_ROWS(RQ, QW, D) \
    DSP_ASM_PAIR_ROWS_W(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_QUAD##QW), DSP_ASM_PAIR_WIDEN(D, QW))
/* DSP_ASM_PAIR_ROWS with the rows' widening WIDEN (its loop, or its turns written out) */
#define DSP_ASM_PAIR_ROWS_W(RQ, QUADS, WIDEN)                                       \
    __asm__ __volatile__("push {r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11}\n\t" \
                         "4:\n\t"                                                   \
                         "add r1, r4, r6\n\t"                                       \
                         "add r6, r4, r6\n\t"                                       \
                         "ldr r2, [sp, #8]\n\t"                                     \
                         "ldr r10, [sp, #40]\n\t"                                   \
                         WIDEN                                                      \
                         "str r1, [sp, #16]\n\t"                                    \
                         "ldr r12, [sp, #36]\n\t"                                   \
                         "ldr lr, [sp, #8]\n\t"                                     \
                         DSP_ASM_PAIR_OUTPUTS(RQ, QUADS)                            \
                         "ldrd r4, r5, [sp, #16]\n\t"                               \
                         "ldrd r6, r7, [sp, #24]\n\t"                               \
                         "add r10, r10, r7\n\t"                                     \
                         "str r10, [sp]\n\t"                                        \
                         "cmp r4, r5\n\t"                                           \
                         "bls 4b\n\t"                                               \
                         "add sp, sp, #48"                                          \
                         : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5),  \
                           "+r"(r6), "+r"(r7), "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r11) \
                         :                                                          \
                         : "r12", "lr", "cc", "memory")
/* clang-format on */

/* clang-format off */
/* All rows by pairs when they were widened once for the whole call (dsp_pair_keep, doubled):
 * DSP_ASM_PAIR_ROWS without the widening, the pair's words in place. The values pushed
 * ([sp + 4 i] = r i): y of the current output pair (row 0), m - 1, the pair's words, the
 * records' end, a pair's words' bytes (4 (K + 1)), the last pair's words, (unused), y of the
 * pair's first output, 2 m, the records. */
#define DSP_ASM_PAIR_KEPT(RQ, QUADS)                                                \
    __asm__ __volatile__("push {r0, r1, r2, r3, r4, r5, r6, r7, r8, r9}\n\t"       \
                         "mov lr, r2\n\t"                                           \
                         "4:\n\t"                                                   \
                         "ldr r12, [sp, #36]\n\t"                                   \
                         DSP_ASM_PAIR_OUTPUTS(RQ, QUADS)                            \
                         "ldrd r5, r6, [sp, #16]\n\t"                               \
                         "ldrd r7, r8, [sp, #28]\n\t"                               \
                         "add lr, lr, r5\n\t"                                       \
                         "add r7, r7, r8\n\t"                                       \
                         "str lr, [sp, #8]\n\t"                                     \
                         "str r7, [sp, #28]\n\t"                                    \
                         "str r7, [sp]\n\t"                                         \
                         "cmp lr, r6\n\t"                                           \
                         "bls 4b\n\t"                                               \
                         "add sp, sp, #40"                                          \
                         : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r5),  \
                           "+r"(r7), "+r"(r8), "+r"(r9)                   \
                         :                                                          \
                         : "r6", "r10", "r11", "r12", "lr", "cc", "memory")
/* clang-format on */

/* clang-format off */
/* The last row of an odd count alone: widened (D1) into xb as (even, odd) per quad, then
 * every record's two outputs against it (6 instructions per quad where pairing the row with
 * itself spent 10 on the same 8 MACs): sums r0, r1 from the record's first two biases, the
 * record's two words per output and quad, e0, e1, m0, c0, m1, c1; y in r2; xb and the
 * records' end on the stack. */
#define DSP_ASM_PAIR_ROW1_QUAD                           \
    "ldrd r4, r5, [lr], #8\n\t"                          \
    "ldm r12!, {r8, r9, r10, r11}\n\t"                   \
    "smlad r0, r4, r8, r0\n\t"                           \
    "smlad r0, r5, r9, r0\n\t"                           \
    "smlad r1, r4, r10, r1\n\t"                          \
    "smlad r1, r5, r11, r1\n\t"
#define DSP_ASM_PAIR_ROW1_QUAD2 DSP_ASM_PAIR_ROW1_QUAD DSP_ASM_PAIR_ROW1_QUAD
#define DSP_ASM_PAIR_ROW1_QUAD4 DSP_ASM_PAIR_ROW1_QUAD2 DSP_ASM_PAIR_ROW1_QUAD2
#define DSP_ASM_PAIR_ROW1_QUAD14                         \
    DSP_ASM_PAIR_ROW1_QUAD4 DSP_ASM_PAIR_ROW1_QUAD4      \
    DSP_ASM_PAIR_ROW1_QUAD4 DSP_ASM_PAIR_ROW1_QUAD2
#define DSP_ASM_PAIR_WIDEN1_ROW(D1)                      \
    "ldr r3, [r4], #4\n\t"                               \
    "sxtab16 r7, r10, r3\n\t"                            \
    "sxtab16 r3, r10, r3, ror #8\n\t"                    \
    D1                                                   \
    "strd r7, r3, [r2], #8\n\t"
#define DSP_ASM_PAIR_XDBL1                               \
    "sadd16 r7, r7, r7\n\t"                              \
    "sadd16 r3, r3, r3\n\t"
/* The row's widening loop (D1: doubled or not), as many quads a turn as the quad loop's (QW:
 * the loop's CMP and BNE once per 4 QW bytes; K = 336: 6 turns where 2 quads a turn took 42);
 * DSP_ASM_PAIR_NOWIDEN where its words are kept. */
#define DSP_ASM_PAIR_WIDEN1_ROW2(D1) DSP_ASM_PAIR_WIDEN1_ROW(D1) DSP_ASM_PAIR_WIDEN1_ROW(D1)
#define DSP_ASM_PAIR_WIDEN1_ROW4(D1) DSP_ASM_PAIR_WIDEN1_ROW2(D1) DSP_ASM_PAIR_WIDEN1_ROW2(D1)
#define DSP_ASM_PAIR_WIDEN1_ROW14(D1)                                               \
    DSP_ASM_PAIR_WIDEN1_ROW4(D1) DSP_ASM_PAIR_WIDEN1_ROW4(D1) DSP_ASM_PAIR_WIDEN1_ROW4(D1) \
    DSP_ASM_PAIR_WIDEN1_ROW2(D1)
#define DSP_ASM_PAIR_WIDEN1_LOOP(D1, QW)                 \
    "5:\n\t"                                             \
    DSP_ASM_PAIR_WIDEN1_ROW##QW(D1)                      \
    "cmp r4, r6\n\t"                                     \
    "bne 5b\n\t"
#define DSP_ASM_PAIR_NOWIDEN(D1, QW) ""
#define DSP_ASM_PAIR_ROW1(RQ, QUADS, WIDEN)                                         \
    __asm__ __volatile__("push {r2, r3}\n\t"                                       \
                         WIDEN                                                      \
                         "mov r12, r9\n\t"                                          \
                         "mov r2, r0\n\t"                                           \
                         "3:\n\t"                                                   \
                         "ldr lr, [sp]\n\t"                                         \
                         "ldrd r0, r1, [r12], #16\n\t"                              \
                         QUADS                                                      \
                         "ldm r12!, {r4, r5, r6, r7, r8, r9}\n\t"                   \
                         RQ("r0", "r6", "r7", "r4", "[r2], #1")                     \
                         RQ("r1", "r8", "r9", "r5", "[r2], #1")                     \
                         "ldr r4, [sp, #4]\n\t"                                     \
                         "cmp r12, r4\n\t"                                          \
                         "bne 3b\n\t"                                               \
                         "add sp, sp, #8"                                           \
                         : "+r"(r0), "+r"(r2), "+r"(r3), "+r"(r4), "+r"(r6),        \
                           "+r"(r9), "+r"(r10)                                      \
                         :                                                          \
                         : "r1", "r5", "r7", "r8", "r11", "r12", "lr", "cc", "memory")
/* clang-format on */
/* The row's quads a turn by K, of the variants of family F, xdbl X, relu R the build holds
 * (dsp_pair_built; two quads a turn serve any K), else return 0. */
#define DSP_PAIR_ROW1_Q(RQ, WL, D1, F, X, R)                                                \
    do {                                                                                    \
        if (dsp_pair_built(F, X, R, DSP_PAIR_Q14) && nq % 14 == 0)                          \
            DSP_ASM_PAIR_ROW1(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_ROW1_QUAD14), WL(D1, 14)); \
        else if (dsp_pair_built(F, X, R, DSP_PAIR_Q4) && nq % 4 == 0)                       \
            DSP_ASM_PAIR_ROW1(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_ROW1_QUAD4), WL(D1, 4));   \
        else if (dsp_pair_built(F, X, R, DSP_PAIR_Q2))                                      \
            DSP_ASM_PAIR_ROW1(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_ROW1_QUAD2), WL(D1, 2));   \
        else                                                                                \
            return 0;                                                                       \
    } while (0)
/* DSP_PAIR_ROW1_Q where the build holds a variant of F, X, R, else return 0 */
#define DSP_PAIR_ROW1_IF(RQ, WL, D1, F, X, R)                 \
    do {                                                      \
        if (!dsp_pair_built(F, X, R, DSP_PAIR_ANY)) return 0; \
        DSP_PAIR_ROW1_Q(RQ, WL, D1, F, X, R);                 \
    } while (0)

/* Row x (K = 4 nq bytes) through the records rec .. rend into y (at the block's first output),
 * widened into xb (its sentinel at xb[2 nq]; xdbl, relu as dsp_pair_rows), or, kept (a
 * constant), its words already there (dsp_pair_keep); returns 0 where the build holds no
 * variant for kept, xdbl and relu (dsp_pair_built). */
DSP_ALWAYS_INLINE int dsp_pair_row1(const int8_t *x, int32_t nq, int8_t *y, uint32_t *xb,
                                    const uint32_t *rec, const uint32_t *rend, uint32_t nzp,
                                    int xdbl, int relu, int kept) {
    register int8_t *r0 __asm__("r0") = y;
    register uint32_t *r2 __asm__("r2") = xb;
    register const uint32_t *r3 __asm__("r3") = rend;
    register const int8_t *r4 __asm__("r4") = x;
    register const int8_t *r6 __asm__("r6") = x + 4 * nq;
    register const uint32_t *r9 __asm__("r9") = rec;
    register uint32_t r10 __asm__("r10") = nzp;
    if (kept && relu) {
        DSP_PAIR_ROW1_IF(DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_NOWIDEN, "", DSP_PAIR_F_KEPT1, DSP_PAIR_ANY,
                         1);
        return 1;
    } else if (kept) {
        DSP_PAIR_ROW1_IF(DSP_ASM_PAIR_RQ, DSP_ASM_PAIR_NOWIDEN, "", DSP_PAIR_F_KEPT1, DSP_PAIR_ANY,
                         0);
        return 1;
    }
    xb[2 * nq] = DSP_PAIR_END;
    if (xdbl && relu)
        DSP_PAIR_ROW1_IF(DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_WIDEN1_LOOP, DSP_ASM_PAIR_XDBL1,
                         DSP_PAIR_F_ROW1, 1, 1);
    else if (xdbl)
        DSP_PAIR_ROW1_IF(DSP_ASM_PAIR_RQ, DSP_ASM_PAIR_WIDEN1_LOOP, DSP_ASM_PAIR_XDBL1,
                         DSP_PAIR_F_ROW1, 1, 0);
    else if (relu)
        DSP_PAIR_ROW1_IF(DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_WIDEN1_LOOP, "", DSP_PAIR_F_ROW1, 0, 1);
    else
        DSP_PAIR_ROW1_IF(DSP_ASM_PAIR_RQ, DSP_ASM_PAIR_WIDEN1_LOOP, "", DSP_PAIR_F_ROW1, 0, 0);
    return 1;
}

/* The quad loop by K (q: dsp_pair_q) of the variants of xdbl X, relu R the build holds
 * (dsp_pair_built; two quads a turn serve any K), else return 0. */
#define DSP_PAIR_ROWS_Q(RQ, D, X, R)                                                       \
    do {                                                                                   \
        if (dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_Q14) && q == DSP_PAIR_Q14)      \
            DSP_ASM_PAIR_ROWS(RQ, 14, D);                                                  \
        else if (dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_Q12) && q == DSP_PAIR_Q12) \
            DSP_ASM_PAIR_ROWS(RQ, 12, D);                                                  \
        else if (dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_Q4) && q == DSP_PAIR_Q4)   \
            DSP_ASM_PAIR_ROWS(RQ, 4, D);                                                   \
        else if (dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_Q2))                       \
            DSP_ASM_PAIR_ROWS(RQ, 2, D);                                                   \
        else                                                                               \
            return 0;                                                                      \
    } while (0)

/* DSP_PAIR_ROWS_Q where K is 48 or 96 (q: DSP_PAIR_Q12X, DSP_PAIR_Q24X; the projections of
 * MobileNetV2's 48 and 96 channels, linear): the quads and the rows' widening written out for
 * the whole of K, no sentinel's test (3 instructions a pass of the records, one or two per 12
 * quads) and no widening loop's (2 per 8 bytes of a pair of rows). */
#define DSP_PAIR_ROWS_QX(RQ, D, X, R)                                                        \
    do {                                                                                     \
        if (dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_Q12X) && q == DSP_PAIR_Q12X)      \
            DSP_ASM_PAIR_ROWS_W(RQ, DSP_ASM_PAIR_QUAD12, DSP_ASM_PAIR_WIDEN12(D));           \
        else if (dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_Q24X) && q == DSP_PAIR_Q24X) \
            DSP_ASM_PAIR_ROWS_W(RQ, DSP_ASM_PAIR_QUAD12 DSP_ASM_PAIR_QUAD12,                 \
                                DSP_ASM_PAIR_WIDEN12(D) DSP_ASM_PAIR_WIDEN12(D));            \
        else                                                                                 \
            DSP_PAIR_ROWS_Q(RQ, D, X, R);                                                    \
    } while (0)
/* ROWS (DSP_PAIR_ROWS_Q or _QX) where the build holds a variant of X, R, else return 0 */
#define DSP_PAIR_ROWS_IF(ROWS, RQ, D, X, R)                                 \
    do {                                                                    \
        if (!dsp_pair_built(DSP_PAIR_F_ROWS, X, R, DSP_PAIR_ANY)) return 0; \
        ROWS(RQ, D, X, R);                                                  \
    } while (0)

/* The n rows by pairs through the records rec .. rend (count outputs) into y (at the block's first
 * output): DSP_ASM_PAIR_ROWS, the rows widened into xb (xdbl: doubled; relu: DSP_RQ_DOUBLE2Z;
 * q: the quads a turn, dsp_pair_q; without relu K of 48 and 96 written out, DSP_PAIR_ROWS_QX);
 * returns 0 (nothing written) where the build holds no variant for xdbl and relu. */
DSP_ALWAYS_INLINE int dsp_pair_rows(const cnnc_s8_dense_params *p, int32_t n, const int8_t *x,
                                    int8_t *y, uint32_t *xb, const uint32_t *rec,
                                    const uint32_t *rend, int32_t count, uint32_t nzp, int xdbl,
                                    int relu, int q) {
    register int8_t *r0 __asm__("r0") = y;
    register uint32_t r1 __asm__("r1") = (uint32_t)(p->m - 1);
    register const uint32_t *r2 __asm__("r2") = xb, *r3 __asm__("r3") = rend;
    register const int8_t *r4 __asm__("r4") = x;
    register const int8_t *r5 __asm__("r5") = x + (size_t)(n - 1) * p->k;
    register int32_t r6 __asm__("r6") = p->k;
    register int32_t r7 __asm__("r7") = 2 * p->m - count;
    register int32_t r8 __asm__("r8") = 0;
    register const uint32_t *r9 __asm__("r9") = rec;
    register uint32_t r10 __asm__("r10") = nzp;
    register int32_t r11 __asm__("r11") = 0;
    if (!relu && (p->k == 48 || p->k == 96)) q = p->k == 48 ? DSP_PAIR_Q12X : DSP_PAIR_Q24X;
    if (xdbl && relu)
        DSP_PAIR_ROWS_IF(DSP_PAIR_ROWS_Q, DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_XDBL, 1, 1);
    else if (xdbl)
        DSP_PAIR_ROWS_IF(DSP_PAIR_ROWS_QX, DSP_ASM_PAIR_RQ, DSP_ASM_PAIR_XDBL, 1, 0);
    else if (relu)
        DSP_PAIR_ROWS_IF(DSP_PAIR_ROWS_Q, DSP_ASM_PAIR_RQZ, "", 0, 1);
    else
        DSP_PAIR_ROWS_IF(DSP_PAIR_ROWS_QX, DSP_ASM_PAIR_RQ, "", 0, 0);
    return 1;
}

/* The quad loop by K for the kept rows (q: dsp_pair_q) of the variants of relu R the build
 * holds (dsp_pair_built; two quads a turn serve any K). */
#define DSP_PAIR_KEPT_BUILT(R, Q) dsp_pair_built(DSP_PAIR_F_KEPT, DSP_PAIR_ANY, R, Q)
#define DSP_PAIR_KEPT_Q(RQ, R)                                              \
    do {                                                                    \
        if (DSP_PAIR_KEPT_BUILT(R, DSP_PAIR_Q14) && q == DSP_PAIR_Q14)      \
            DSP_ASM_PAIR_KEPT(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_QUAD14));  \
        else if (DSP_PAIR_KEPT_BUILT(R, DSP_PAIR_Q12) && q == DSP_PAIR_Q12) \
            DSP_ASM_PAIR_KEPT(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_QUAD12));  \
        else if (DSP_PAIR_KEPT_BUILT(R, DSP_PAIR_Q4) && q == DSP_PAIR_Q4)   \
            DSP_ASM_PAIR_KEPT(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_QUAD4));   \
        else                                                                \
            DSP_ASM_PAIR_KEPT(RQ, DSP_ASM_PAIR_LOOP(DSP_ASM_PAIR_QUAD2));   \
    } while (0)

/* The n rows (n even) by pairs through the records rec .. rend into y as dsp_pair_rows, their
 * words kept at xs (dsp_pair_keep: K + 1 words a pair, doubled) (DSP_ASM_PAIR_KEPT). The
 * caller refused relu where the build holds no kept variant of it (dsp_pair_block_kept). */
static __attribute__((noinline)) void dsp_pair_kept_rows(const cnnc_s8_dense_params *p, int32_t n,
                                                         int8_t *y, const uint32_t *xs,
                                                         const uint32_t *rec, const uint32_t *rend,
                                                         int relu, int q) {
    register int8_t *r0 __asm__("r0") = y;
    register uint32_t r1 __asm__("r1") = (uint32_t)(p->m - 1);
    register const uint32_t *r2 __asm__("r2") = xs, *r3 __asm__("r3") = rend;
    register int32_t r4 __asm__("r4") = 4 * (p->k + 1);
    register const uint32_t *r5 __asm__("r5") = xs + (size_t)(n / 2 - 1) * (size_t)(p->k + 1);
    register int8_t *r7 __asm__("r7") = y;
    register int32_t r8 __asm__("r8") = 2 * p->m;
    register const uint32_t *r9 __asm__("r9") = rec;
    /* K of 24, 32 and 112 behind a ReLU (0.35@96's 6x6 expansions and its last 1x1 conv, 9
     * rows: its largest pair layer): the quads written out for the whole of K, no sentinel's
     * test (9, 6 and 6 instructions a pass of the records, ~1 KB of -O2 code for K 112) */
    if (!DSP_PAIR_KEPT_BUILT(0, DSP_PAIR_ANY)) /* relu where only its kept variants are built */
        relu = 1;
    else if (!DSP_PAIR_KEPT_BUILT(1, DSP_PAIR_ANY))
        relu = 0;
    if (DSP_PAIR_KEPT_BUILT(1, DSP_PAIR_K24) && relu && p->k == 24)
        DSP_ASM_PAIR_KEPT(DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_QUAD4 DSP_ASM_PAIR_QUAD2);
    else if (DSP_PAIR_KEPT_BUILT(1, DSP_PAIR_K32) && relu && p->k == 32)
        DSP_ASM_PAIR_KEPT(DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_QUAD4 DSP_ASM_PAIR_QUAD4);
    else if (DSP_PAIR_KEPT_BUILT(1, DSP_PAIR_K112) && relu && p->k == 112)
        DSP_ASM_PAIR_KEPT(DSP_ASM_PAIR_RQZ, DSP_ASM_PAIR_QUAD14 DSP_ASM_PAIR_QUAD14);
    else if (relu)
        DSP_PAIR_KEPT_Q(DSP_ASM_PAIR_RQZ, 1);
    else
        DSP_PAIR_KEPT_Q(DSP_ASM_PAIR_RQ, 0);
}

/* The n rows widened once for the whole call (x - zp, doubled: the weights then are not) at xs,
 * DSP_PAIR_KEPT_WORDS(n, K) words: per pair of rows DSP_ASM_PAIR_WIDEN's words (per quad
 * row 0's (even, odd) then row 1's) and the sentinel, an odd last row's (even, odd) per quad
 * and the sentinel (dsp_pair_row1's). Once per call, so in C. */
static __attribute__((noinline)) void dsp_pair_keep(uint32_t *xs, const int8_t *x, int32_t n,
                                                    int32_t k, uint32_t nzp) {
    int32_t r, i, j;
    for (r = 0; r < n; r += 2) {
        const int32_t rows = r + 1 < n ? 2 : 1;
        for (i = 0; i < k; i += 4)
            for (j = 0; j < rows; ++j) {
                const uint32_t v = dsp_load4(x + (size_t)(r + j) * k + i);
                const int32_t e = (int32_t)dsp_even_add(nzp, v), o = (int32_t)dsp_odd_add(nzp, v);
                *xs++ = (uint32_t)__sadd16(e, e);
                *xs++ = (uint32_t)__sadd16(o, o);
            }
        *xs++ = DSP_PAIR_END;
    }
}

/* The records of outputs o0 .. o0+count-1 (count even) at rec, DSP_PAIR_WORDS(nq) words a
 * pair, the weights doubled (wdbl) or not; returns 0 unless every output takes the doubled
 * form. */
DSP_ALWAYS_INLINE int dsp_pair_records(uint32_t *rec, const cnnc_s8_dense_params *p,
                                       const int8_t *w, const int32_t *bias, const int32_t *mult,
                                       const int32_t *shift, int32_t o0, int32_t count,
                                       const dsp_out *out, int wdbl) {
    const int32_t k = p->k, nq = k / 4, words = DSP_PAIR_WORDS(nq);
    int32_t g, r;
    if (!dsp_pair_params(rec, words, bias + o0, mult + o0, shift + o0, count, out)) return 0;
    for (g = 0; g + 4 <= count; g += 4)
        dsp_pair_quads(rec + (size_t)words * (g / 2), rec + (size_t)words * (g / 2 + 1), w + o0 + g,
                       p->m, nq, wdbl);
    if (g < count) /* the last pair of a count of 4 j + 2: its quads by bytes */
        for (r = 0; r < nq; ++r) {
            uint32_t *const q = rec + (size_t)words * (g / 2) + 4 + 4 * r;
            int32_t j;
            for (j = 0; j < 2; ++j) {
                const int8_t *const c = w + (size_t)4 * r * p->m + o0 + g + j;
                q[2 * j] = dsp_pack16(c[0] * (1 + wdbl), c[2 * p->m] * (1 + wdbl));
                q[2 * j + 1] = dsp_pack16(c[p->m] * (1 + wdbl), c[3 * p->m] * (1 + wdbl));
            }
        }
    return 1;
}

/* Outputs o0 .. o0+count-1 by pairs when K is a multiple of 8 in 24..DSP_PAIR_MAX_K, count
 * is even, their records fit DSP_PAIR_REC_ROOM (cnnc_s8_dense__dsp sizes the blocks so), the
 * clamp is full and every output takes the doubled form; returns 0 (nothing written to y)
 * otherwise. Two rows by two outputs a pass, the rows' words (one pair's, widened per pair
 * of rows) at the buffer's end; an odd last row runs alone (dsp_pair_row1). */
static __attribute__((noinline)) int dsp_pair_block(dsp_block *blk, const cnnc_s8_dense_params *p,
                                                    const int8_t *x, const int8_t *w,
                                                    const int32_t *bias, const int32_t *mult,
                                                    const int32_t *shift, int32_t o0, int32_t count,
                                                    const dsp_out *out, int8_t *y) {
    const int32_t k = p->k, nq = k / 4, words = DSP_PAIR_WORDS(nq);
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    uint32_t *const rec = blk->w;
    uint32_t *const xb = ((dsp_block_words *)(void *)blk)->words + sizeof(dsp_block_words) / 4 -
                         (size_t)(k + 1); /* the buffer's last K + 1 words (DSP_PAIR_REC_ROOM) */
    const uint32_t *const rend = rec + (size_t)words * (count / 2);
    /* the factor 2 on the weights (once per block) or on the rows (once per pair of rows) */
    const int wdbl = p->n > count;
    if (!dsp_pair_built(DSP_PAIR_F_ROWS, DSP_PAIR_ANY, DSP_PAIR_ANY, DSP_PAIR_ANY) || k % 8 ||
        k < 24 || k > DSP_PAIR_MAX_K || count % 2 || !dsp_out_full(out) ||
        words * (count / 2) > DSP_PAIR_REC_ROOM(k) ||
        !dsp_pair_records(rec, p, w, bias, mult, shift, o0, count, out, wdbl))
        return 0;
    xb[4 * nq] = DSP_PAIR_END;
    if (!dsp_pair_rows(p, p->n & ~1, x, y + o0, xb, rec, rend, count, nzp, !wdbl,
                       out->zero_point == -128, dsp_pair_q(nq)))
        return 0;
    if (p->n % 2) /* the last row alone */
        return dsp_pair_row1(x + (size_t)(p->n - 1) * k, nq, y + o0 + (size_t)(p->n - 1) * p->m, xb,
                             rec, rend, nzp, !wdbl, out->zero_point == -128, 0);
    return 1;
}

/* dsp_pair_block with the rows kept: widened once per call (doubled, so the weights are not)
 * into the buffer's last DSP_PAIR_KEPT_WORDS, the records before them (DSP_PAIR_KEPT_ROOM;
 * the blocks sized by dsp_pair_kept_per). They stay valid while blk->count is DSP_PAIR_KEPT
 * past the call's first block (dsp_repack, which overwrites them where a block's records
 * refuse, sets it to that block's count). */
static __attribute__((noinline)) int dsp_pair_block_kept(
    dsp_block *blk, const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
    const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t o0, int32_t count,
    const dsp_out *out, int8_t *y) {
    const int32_t k = p->k, nq = k / 4, words = DSP_PAIR_WORDS(nq), n = p->n;
    uint32_t *const rec = blk->w;
    uint32_t *const xs = ((dsp_block_words *)(void *)blk)->words + sizeof(dsp_block_words) / 4 -
                         (size_t)DSP_PAIR_KEPT_WORDS(n, k);
    const uint32_t *const rend = rec + (size_t)words * (count / 2);
    /* a relu the build holds kept variants of (constants, folded) */
    const int built = out->zero_point == -128 ? DSP_PAIR_KEPT_BUILT(1, DSP_PAIR_ANY)
                                              : DSP_PAIR_KEPT_BUILT(0, DSP_PAIR_ANY);
    if (!built || k % 8 || k < 24 || k > DSP_PAIR_MAX_K || count % 2 || !dsp_out_full(out) ||
        words * (count / 2) > DSP_PAIR_KEPT_ROOM(n, k) ||
        !dsp_pair_records(rec, p, w, bias, mult, shift, o0, count, out, 0))
        return 0;
    if (o0 == 0 || blk->count != DSP_PAIR_KEPT) {
        dsp_pair_keep(xs, x, n, k, dsp_pack16(-p->x_zero_point, -p->x_zero_point));
        blk->count = DSP_PAIR_KEPT;
    }
    dsp_pair_kept_rows(p, n & ~1, y + o0, xs, rec, rend, out->zero_point == -128, dsp_pair_q(nq));
    if (n % 2) /* the last row alone, its words after the pairs' */
        return dsp_pair_row1(x, nq, y + o0 + (size_t)(n - 1) * p->m, xs + (size_t)(n / 2) * (k + 1),
                             rec, rend, 0, 1, out->zero_point == -128, 1);
    return 1;
}

/* dsp_pair_kept_of for call p and the dispatcher's per (dsp_pair_per). */
static int32_t dsp_pair_kept_per(const cnnc_s8_dense_params *p, int32_t per) {
    return dsp_pair_kept_of(p->n, p->k, p->m, per);
}
#endif

void cnnc_s8_dense__dsp(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    dsp_block_words buf; /* on the stack: 5 KB */
    dsp_block *const blk = &buf.blk;
    int32_t o0, per;
#if !defined(__OPTIMIZE_SIZE__)
    int32_t kept = 0;
    if (dsp_calls_ROWS4() && DSP_ROWS4(*p)) {
        dsp_dense_rows4(p, x, w, bias, mult, shift, y, blk->w,
                        (int32_t)((sizeof buf - offsetof(dsp_block, w)) / 4), &out);
        return;
    }
#endif
    if (DSP_DIRECT(*p)) {
        if (dsp_calls_DIRECT() && p->k <= DSP_DIRECT_MAX_K)
            dsp_dense_direct(p, x, w, bias, mult, shift, y);
        else
            cnnc_s8_dense__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    per = dsp_block_outputs(p->k);
#if !defined(__OPTIMIZE_SIZE__)
    if (p->k % 8 == 0 && p->k >= 24 && p->k <= DSP_PAIR_MAX_K) { /* blocks whose pair records
        fit blk->w (dsp_pair_block) */
        const int32_t fit = (DSP_PAIR_REC_ROOM(p->k) / DSP_PAIR_WORDS(p->k / 4) * 2) & ~3;
        per = per < fit ? per : fit;
        /* one block widens the rows once anyway */
        kept = p->m > per && dsp_out_full(&out) && p->rounding == CNNC_ROUND_DOUBLE
                   ? dsp_pair_kept_per(p, per)
                   : 0;
        per = kept ? kept : per;
    }
#endif
    for (o0 = 0; o0 < p->m; o0 += per) {
        const int32_t count = p->m - o0 < per ? p->m - o0 : per;
#if !defined(__OPTIMIZE_SIZE__)
        if ((dsp_calls_REC8() || dsp_calls_REC16()) &&
            dsp_rec_block(blk, p, x, w, bias, mult, shift, o0, count, &out, y))
            continue;
        if (kept ? dsp_pair_block_kept(blk, p, x, w, bias, mult, shift, o0, count, &out, y)
                 : dsp_pair_block(blk, p, x, w, bias, mult, shift, o0, count, &out, y))
            continue;
#endif
        dsp_repack(blk, w, p->k, p->m, o0, count, bias, mult, shift, &out, p->x_zero_point);
        cnnc_s8_dsp_block_rows(blk, x, (size_t)p->k, p->n, o0, &out, y, (size_t)p->m);
    }
}
#else
typedef int cnnc_s8_dense_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
