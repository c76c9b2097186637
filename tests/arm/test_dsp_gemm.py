"""The Cortex-M DSP GEMM rows (s8_dsp.h: dsp_block_rows, its asm groups of four outputs and
the C form for the other clamps) behind cnnc_s8_dense__dsp and cnnc_s8_pwconv__dsp equal
their __ref byte for byte on an emulated Cortex-M4: K around the quads and the written-out
K of 8, 12 and 16 (1..9, 11, 12, 13, 15, 16, 17, 31, 33), outputs around the groups of four
and the blocks of 48 (1..5, 7, 31, 33, 47, 49), rows at and past DSP_MIN_ROWS, every rounding
(single, double, onnxruntime), the extreme values (all inputs -128 or 127 against weights
of -128 or 127), biases near 2^30 that the doubled accumulator must refuse (its QADD form
then runs), multipliers and shifts outside the fast forms (the reference form), full and
narrow clamps, zero points at the range ends (an output zero point of -128 one time in four:
the doubled form without the sign's term, DSP_RQ_DOUBLE2Z); at the target's flags and at -Os.
K of 5 to 16 take the written-out quads (2, 3 or 4: the groups in one asm statement,
dsp_row_groups1; a row of whole quads widened by one STM) and K of 29 to 32 the quads looped
four a turn (8 quads), each checked to fail under a deliberate mutation. K of 8 and 16 with M
a multiple of 4 (per-output records, the row in registers: dsp_rec_block; eight outputs a
turn where the block's count allows; at K = 16 the factor 2 on the rows where the block's
outputs outnumber them) and K of 24, 40, 48, 56, 64, 96, 112, 144, 184, 192, 240 and 336 with
M even (two rows by two outputs: dsp_pair_block; quads two, four, twelve or fourteen a turn,
odd rows (the last alone: two, four or fourteen quads a turn), a last pair after the groups
of four, blocks sized to fit, the factor 2 on the weights or on the rows) run every kind with the
double rounding, the output zero point -128 and any, a narrow clamp (the groups then),
single and onnxruntime; with few rows and several blocks the rows kept widened for the
whole call (dsp_pair_block_kept: 3 to 10 rows, K of 24 to 336, a block refused in the middle);
the same grids built with a model's calls that leave most pair variants out (the fallbacks of
dsp_pair_built: two quads a turn, a block refused before or after rows were written).
The dense layers of 1, 2 and 3 rows (the direct path, dsp_dense_direct: its asm pair loop,
odd K, the last M mod 4 outputs by bytes; 2 and 3 rows with M a multiple of 4 the block)
run for every K and M, K past DSP_MAX_K (513, 700, 1023) with 1 to 5 rows, and K of 32 to 2048
(its turns of 16 pairs to the sentinel pair, DIRECT) with 1 to 3 rows. Four rows with
K a multiple of 8 and M even (dsp_dense_rows4: the weights read once for the four rows, up to
K = 336; 344 and 512 the block path) run K of 8 to 512 and M of 2 to 62, every kind with the
double rounding (the doubled form's pairs of a block in one asm statement, the C
requantisation for the other forms and the narrow clamps), single and onnxruntime, the
output zero point -128 (the doubled form without the sign's term) and rounding ties (small
weights and shifts: where that term decides). The general
conv runs over 1 to 4 channels, kernels 3x3, 2x2, 1x4 and 3x1, strides 1 and 2, with and
without padding, batches of 1 and 2, the input ending exactly at the last window (whose
word would cross the end: the byte copy then), and groups of 2: the im2col by words and
the GEMM where K > 10 or the requantisation is not the doubled form with the full clamp,
the direct path otherwise (test_dsp_stem.py covers the direct and RGB paths)."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

KS = (1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 31, 33)
MS = (1, 2, 3, 4, 5, 7, 31, 33, 47, 49)
BIG_KS = (513, 700, 1023)
BIG_MS = (5, 8)
CONV_CASES = 4 * 4 * 2 * 2 * 2 + 8
# The four-row path (dsp_dense_rows4: K a multiple of 8, M even): K from one iteration to
# its limit of 336 (and 44, 344 and 512: the block path beside it), M from one pair to past a
# block (as many outputs as their records fit: 50 at K = 336); its loop's turns of 4 (8, 16,
# 40), 12 (24, 48, 336: one turn, two, 14) and 16 input pairs (32, 64, 96, 192: one turn,
# two, 3, 6); K of 32 and 48 with relu written out (dsp_rows4_block).
ROWS4 = (
    (8, 2), (8, 50), (16, 46), (24, 4), (32, 50), (40, 62), (44, 6), (48, 52), (64, 6),
    (96, 50), (192, 34), (336, 52), (344, 4), (512, 14),
)  # fmt: skip
ROWS4_REPS = 12
# K = 8 and 16 with M a multiple of 4 (dsp_rec_block): one block; past one of 48 (the groups'
# blocks where the records refuse); the records' whole buffer (K = 16: 96, K = 8: 152) and
# past it; counts of 4 j (four outputs a turn) and 8 j.
REC_MS = (4, 8, 48, 52, 96, 100, 160)
REC_REPS = 10
# K = 16 with M = 8 or 96 (dsp_rec_block's outputs written out, DSP_ASM_REC_HALVES_N) and K = 8
# with M = 48 (DSP_ASM_REC_ROWS_N), (rows, K, M): rows fewer than the outputs (the rows
# doubled: 5, 6; 5, 9 at M = 96) and not (8, 9; 97); one row, few and many at M = 48; the sign's
# term on the rounding's ties (kind 4, three times) and not; the output zero point -128 and any
# at M = 8, -128 at M = 96 and 48 (their paths' only form).
REC_FULL = (
    (5, 16, 8), (6, 16, 8), (8, 16, 8), (9, 16, 8), (5, 16, 96), (9, 16, 96), (97, 16, 96),
    (2, 8, 48), (5, 8, 48), (49, 8, 48),
)  # fmt: skip
REC8_REPS = 6
# K a multiple of 8 in 24..336 (dsp_pair_block: quads two (24, 40, 184), four (64), twelve
# (48, 96, 144, 192, 240) or fourteen (56, 112, 336) a turn;
# from 200 the rows' words end blk->w's room: 240), M even: one pair,
# pairs after groups of four, blocks of 48 and past (50), blocks sized to the pair records
# (K 40: 40 + 10, K 96: 16 + 16 + 16 + 2); reps 8 and 9: kind 7 (a bias whose doubled sum
# wraps: the records' check must refuse it), 10 and 11: kinds 4 and 5 with the full clamp
# (rep 5's kind 5 has the narrow one, which refuses the pairs before their checks).
PAIR_KS = (24, 40, 48, 56, 64, 96, 112, 144, 184, 192, 240, 336)
PAIR_MS = (2, 6, 16, 18, 50)
PAIR_REPS = 12
# The pair path's rows kept for the whole call (dsp_pair_block_kept: few rows, several blocks),
# (K, rows, M): 3x3 images' K of 56 and 112 (blocks of 28 and 12; 150 = 12 * 12 + 6, a last
# pair after a group of four), odd and even rows (3, 5, 7, 9, 10), quads two (24, 40), four
# (64), twelve (48) and fourteen (336) a turn, written out (24, 32: 0.35@96's 6x6 expansions,
# 36 rows of K 32, and odd rows of K 24); and 33 rows of K 112 with the rows widened per
# block (too many to keep). Kind 5 refuses one block in the middle: its groups' repacking
# overwrites the kept rows, which the next block widens again.
KEPT = (
    (56, 9, 300), (112, 9, 150), (112, 3, 48), (24, 10, 200), (48, 9, 100), (64, 7, 90),
    (40, 5, 130), (336, 3, 24), (112, 33, 40), (32, 6, 100), (32, 36, 192), (24, 7, 60),
)  # fmt: skip
KEPT_REPS = 8
# The direct path's turns of 16 input pairs (DSP_ASM_DIRECT_QUADS_LOOP, four rows per ADD, the
# turns ended by DSP_DIRECT_END after the row's last whole pair), (K, M): one turn (32), one
# after the first whole mod 16 pairs by eight, four and singles (95: 47 = 15 + 32), many
# turns (256: digits' classifier; 1280: 0.35@96's, two and three blocks of four outputs and
# the last 2 or 3 outputs after them) and DSP_DIRECT_MAX_K (2048: the sentinel's LDRD at the
# buffer's end); K of 48 (24 pairs: eight first) and M of 6 with 2 or 3 rows.
DIRECT = ((32, 12), (48, 6), (95, 10), (256, 10), (1280, 12), (1280, 11), (2048, 8))
DIRECT_REPS = 6
CASES = (
    len(KS) * len(MS) * 2 * 3
    + len(BIG_KS) * len(BIG_MS) * 2
    + CONV_CASES
    + len(ROWS4) * (ROWS4_REPS + 6)
    + 2 * len(REC_MS) * REC_REPS
    + len(REC_FULL) * REC8_REPS
    + len(PAIR_KS) * len(PAIR_MS) * PAIR_REPS
    + len(KEPT) * KEPT_REPS
    + len(DIRECT) * DIRECT_REPS
)

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + r"""
static const int32_t ks[] = {KS_LIST}, ms[] = {MS_LIST}, big_ks[] = {BIG_KS_LIST},
                     big_ms[] = {BIG_MS_LIST}, rows4[][2] = {ROWS4_LIST},
                     rec_ms[] = {REC_MS_LIST}, rec_full[][3] = {REC_FULL_LIST},
                     pair_ks[] = {PAIR_KS_LIST},
                     pair_ms[] = {PAIR_MS_LIST}, kept[][3] = {KEPT_LIST},
                     direct[][2] = {DIRECT_LIST};
#define REC_REPS 10
#define REC8_REPS 6
#define PAIR_REPS 12
#define KEPT_REPS 8
#define MAX_N 9
#define GUARD 16
#define MAX_X 5120 /* MAX_N * 33, 5 * 1023, 2 * 9 * 9 * 4, 33 * 112 */
#define MAX_W 17472 /* 33 * 49, 1023 * 8, 336 * 52, 56 * 300, 2048 * 8, 1280 * 12 */
#define MAX_Y 9312 /* MAX_N * 49, 2 * 10 * 10 * 20, 97 * 96 */
static int8_t x[MAX_X], w[MAX_W], y_ref[MAX_Y + GUARD], y_dsp[MAX_Y + GUARD];
static int32_t bias[300], mult[300], shift[300]; /* M up to 300 (KEPT) */
static int cases = 0, failures = 0;

/* kind 0: random; 1: extreme inputs and weights (one sign per output); 2: biases near
 * +-2^30; 3: multipliers/shifts across the whole contract (the reference form); 4: weights
 * in -2..2 and shifts of -3 to -6: outputs mostly inside the clamp, one in 8 to 64 a tie of
 * the rounding shift, where the sign's term decides; 5: as 0 but one output's multiplier
 * below 2^30 (the records' and pairs' check refuses the block); 6: as 0 but one output's
 * shift in -17..-24, around the doubled form's limit of -20 (the four-row records' OR of the
 * shifts then falls back to their maximum); 7: 1's inputs and weights, one output's bias
 * within 1000 of +-2^30 (a doubled form that took it would wrap that output's sum); 8: as 0
 * but one output's shift in -15..-17 and one's bias within 1000 of +-2^29 (the edges of
 * dsp_rows4_params_d2's checks) */
static void fill(int32_t n, int32_t k, int32_t m, int32_t kind, int32_t rounding) {
    /* kinds 5, 6, 7's output and 8's shift: odd or even by the rows' parity (the records'
     * passes take outputs by pairs) */
    const int32_t bad = m / 2 - (m > 1 ? n % 2 : 0);
    int32_t i, j;
    for (i = 0; i < n * k; ++i) x[i] = (int8_t)uniform(-128, 127);
    for (i = 0; i < k * m; ++i) w[i] = (int8_t)uniform(-128, 127);
    if (kind == 1 || kind == 7) {
        const int8_t xv = uniform(0, 1) ? 127 : -128;
        for (i = 0; i < n * k; ++i) x[i] = xv;
        for (j = 0; j < m; ++j)
            for (i = 0; i < k; ++i) w[i * m + j] = (j & 1) ? 127 : -128;
    }
    for (j = 0; j < m; ++j) {
        bias[j] = uniform(-20000, 20000);
        mult[j] = (int32_t)((1u << 30) + next_word() % (1u << 30));
        shift[j] = -uniform(1, 14);
        if (kind == 1) shift[j] = -uniform(1, 3);
        if (kind == 4) {
            shift[j] = -uniform(3, 6);
            for (i = 0; i < k; ++i) w[i * m + j] = (int8_t)uniform(-2, 2);
        }
        if (kind == 7 && j == bad)
            bias[j] = (uniform(0, 1) ? 1 : -1) * ((1 << 30) - uniform(1, 1000));
        if (kind == 2) bias[j] = (uniform(0, 1) ? 1 : -1) * ((1 << 30) - uniform(0, 300000));
        if (kind == 5 && j == bad) mult[j] = (int32_t)(next_word() >> 2);
        if (kind == 6 && j == bad) shift[j] = -uniform(17, 24);
        if (kind == 8 && j == bad) shift[j] = -uniform(15, 17);
        if (kind == 8 && j == m - 1)
            bias[j] = (uniform(0, 1) ? 1 : -1) * ((1 << 29) + uniform(-1000, 1000));
        if (kind == 3) {
            shift[j] = uniform(-31, 30);
            if (uniform(0, 1)) mult[j] = (int32_t)(next_word() >> 1);
        }
        if (rounding == CNNC_ROUND_ONNXRUNTIME) {
            const float f = (float)uniform(1, 100000) * 1e-7f;
            memcpy(&mult[j], &f, sizeof f);
            shift[j] = 0;
        }
    }
}

static void compare(const char *what, int32_t size, int32_t k, int32_t m, int32_t n,
                    int32_t kind, int32_t rounding) {
    int32_t i;
    ++cases;
    for (i = 0; i < size + GUARD; ++i)
        if (i >= size ? y_dsp[i] != 0x5A : y_ref[i] != y_dsp[i]) {
            if (++failures <= 20)
                printf("MISMATCH %s k %d m %d n %d kind %d rounding %d byte %d: ref %d dsp %d\n",
                       what, (int)k, (int)m, (int)n, (int)kind, (int)rounding, (int)i,
                       i < size ? y_ref[i] : 0x5A, y_dsp[i]);
            return;
        }
}

/* An output zero point: -128 (a ReLU's range, where the doubled form drops the sign's
 * term) one time in four, else any. */
static int relu_only = 0; /* 1: always -128 */
static int32_t out_zero_point(void) {
    return relu_only || uniform(0, 3) == 0 ? -128 : uniform(-128, 127);
}

/* A dense layer of n rows through both kernels, output zero point zy, narrow clamp or full. */
static void dense_case_zy(int32_t n, int32_t k, int32_t m, int32_t kind, int32_t rounding,
                          int32_t zy, int32_t narrow) {
    const int32_t zx = uniform(0, 2) ? uniform(-128, 127) : (uniform(0, 1) ? 127 : -128);
    cnnc_s8_dense_params d;
    fill(n, k, m, kind, rounding);
    memset(y_dsp, 0x5A, sizeof y_dsp);
    d.n = n; d.k = k; d.m = m; d.x_zero_point = zx; d.y_zero_point = zy;
    d.rounding = rounding;
    d.act_min = narrow ? zy : -128; d.act_max = narrow ? (zy < 27 ? zy + 100 : 127) : 127;
    cnnc_s8_dense__ref(&d, x, w, bias, mult, shift, y_ref);
    cnnc_s8_dense__dsp(&d, x, w, bias, mult, shift, y_dsp);
    compare("dense", n * m, k, m, n, kind, rounding);
}

static void dense_case(int32_t n, int32_t k, int32_t m, int32_t kind, int32_t rounding) {
    const int32_t zy = out_zero_point();
    dense_case_zy(n, k, m, kind, rounding, zy, uniform(0, 3) == 0);
}

/* A general conv (kernel kh x kw, channels c, stride s, padding pad on every side) of a
 * random image of 4..9 x 4..9 through both kernels; the input sits at the end of x. */
static void conv_case(int32_t batch, int32_t c, int32_t kh, int32_t kw, int32_t s, int32_t pad,
                      int32_t groups, int32_t kind, int32_t rounding) {
    const int32_t h = uniform(kh > 4 ? kh : 4, 9), wd = uniform(kw > 4 ? kw : 4, 9);
    const int32_t oc = groups * uniform(1, 10), zy = out_zero_point();
    const int32_t k = kh * kw * (c / groups), size = batch * h * wd * c;
    int8_t *xs = x + MAX_X - size; /* the last window's word would cross the end */
    cnnc_s8_conv_params p;
    int32_t i;
    fill(1, k * groups, oc, kind, rounding); /* weights [K][oc] per group, biases, mults */
    for (i = 0; i < size; ++i) xs[i] = kind == 1 ? x[0] : (int8_t)uniform(-128, 127);
    memset(&p, 0, sizeof p);
    p.n = batch; p.h = h; p.w = wd; p.c = c; p.out_c = oc;
    p.kernel_h = kh; p.kernel_w = kw; p.stride_h = p.stride_w = s;
    p.dilation_h = p.dilation_w = 1; p.pad_top = p.pad_left = pad; p.groups = groups;
    p.out_h = (h + 2 * pad - kh) / s + 1; p.out_w = (wd + 2 * pad - kw) / s + 1;
    p.x_zero_point = uniform(0, 2) ? uniform(-128, 127) : (uniform(0, 1) ? 127 : -128);
    p.y_zero_point = zy; p.rounding = rounding; p.act_min = -128; p.act_max = 127;
    if (uniform(0, 3) == 0) p.act_min = zy, p.act_max = zy < 27 ? zy + 100 : 127;
    memset(y_dsp, 0x5A, sizeof y_dsp);
    cnnc_s8_conv__ref(&p, xs, w, bias, mult, shift, y_ref);
    cnnc_s8_conv__dsp(&p, xs, w, bias, mult, shift, y_dsp);
    compare("conv", batch * p.out_h * p.out_w * oc, k, oc, batch, kind, rounding);
}

int main(void) {
    static const int32_t kernels[4][2] = {{3, 3}, {2, 2}, {1, 4}, {3, 1}};
    int32_t ki, mi, pw, rep, ci, s, pad, batch;
    for (ki = 0; ki < (int32_t)(sizeof ks / sizeof ks[0]); ++ki)
    for (mi = 0; mi < (int32_t)(sizeof ms / sizeof ms[0]); ++mi)
    for (pw = 0; pw < 2; ++pw)
    for (rep = 0; rep < 3; ++rep) {
        /* dense: 1 row, 2 or 3 rows (the direct path), then any */
        const int32_t k = ks[ki], m = ms[mi],
                      n = pw ? uniform(4, MAX_N)
                             : (rep == 0 ? 1 : (rep == 1 ? uniform(2, 3) : uniform(1, MAX_N)));
        const int32_t kind = uniform(0, 3), rounding = uniform(0, 4) == 0 ? 2 : uniform(0, 1);
        if (!pw) {
            dense_case(n, k, m, kind, rounding);
        } else {
            const int32_t zx = uniform(0, 2) ? uniform(-128, 127) : (uniform(0, 1) ? 127 : -128);
            const int32_t zy = out_zero_point(), narrow = uniform(0, 3) == 0;
            int32_t i;
            cnnc_s8_conv_params p;
            fill(n, k, m, kind, rounding);
            for (i = 0; i < n * m; ++i) y_dsp[i] = (int8_t)~0x3C;
            memset(y_dsp + n * m, 0x5A, GUARD);
            memset(&p, 0, sizeof p);
            p.n = 1; p.h = 1; p.w = n; p.c = k; p.out_h = 1; p.out_w = n; p.out_c = m;
            p.kernel_h = p.kernel_w = 1; p.stride_h = p.stride_w = 1;
            p.dilation_h = p.dilation_w = 1; p.groups = 1;
            p.x_zero_point = zx; p.y_zero_point = zy; p.rounding = rounding;
            p.act_min = narrow ? zy : -128; p.act_max = narrow ? (zy < 27 ? zy + 100 : 127) : 127;
            cnnc_s8_pwconv__ref(&p, x, w, bias, mult, shift, y_ref);
            cnnc_s8_pwconv__dsp(&p, x, w, bias, mult, shift, y_dsp);
            compare("pwconv", n * m, k, m, n, kind, rounding);
        }
    }
    for (ki = 0; ki < (int32_t)(sizeof big_ks / sizeof big_ks[0]); ++ki)
    for (mi = 0; mi < (int32_t)(sizeof big_ms / sizeof big_ms[0]); ++mi)
    for (rep = 0; rep < 2; ++rep)
        dense_case(rep ? uniform(2, 5) : 1, big_ks[ki], big_ms[mi], uniform(0, 3),
                   uniform(0, 4) == 0 ? 2 : uniform(0, 1));
    for (ci = 1; ci <= 4; ++ci)
    for (ki = 0; ki < 4; ++ki)
    for (s = 1; s <= 2; ++s)
    for (pad = 0; pad <= 1; ++pad)
    for (batch = 1; batch <= 2; ++batch)
        conv_case(batch, ci, kernels[ki][0], kernels[ki][1], s, pad, 1, uniform(0, 3),
                  uniform(0, 4) == 0 ? 2 : uniform(0, 1));
    for (rep = 0; rep < 8; ++rep) /* groups of 2: the per-tap im2col */
        conv_case(uniform(1, 2), 2 * uniform(1, 2), 3, 3, uniform(1, 2), uniform(0, 1), 2,
                  uniform(0, 3), uniform(0, 4) == 0 ? 2 : uniform(0, 1));
    /* four rows: every kind with the double rounding (its doubled form in asm with the
     * full clamp; biases near 2^30, narrow clamps, other shifts through C), single and
     * onnxruntime, twice the doubled form with the output zero point -128, then rounding
     * ties and a shift around the doubled form's limit */
    for (ki = 0; ki < (int32_t)(sizeof rows4 / sizeof rows4[0]); ++ki)
    for (rep = 0; rep < ROWS4_REPS; ++rep) {
        static const int32_t kinds[] = {0, 1, 2, 3, -1, -1, 0, 0, 4, 6, 5, 8};
        relu_only = rep == 6 || rep == 7; /* the doubled form without the sign's term */
        dense_case(4, rows4[ki][0], rows4[ki][1], kinds[rep] < 0 ? uniform(0, 3) : kinds[rep],
                   rep == 4 ? CNNC_ROUND_SINGLE
                            : (rep == 5 ? CNNC_ROUND_ONNXRUNTIME : CNNC_ROUND_DOUBLE));
    }
    relu_only = 0;
    /* rounding ties with the full clamp and an output zero point near 0 for every K (the
     * sign's term decides: the written-out K = 32 and 48 take it with relu only), and the
     * extreme sums from biases near 2^30 (dsp_rows4_params' Q flag must refuse them) */
    for (ki = 0; ki < (int32_t)(sizeof rows4 / sizeof rows4[0]); ++ki) {
        for (rep = 0; rep < 3; ++rep)
            dense_case_zy(4, rows4[ki][0], rows4[ki][1], 4, CNNC_ROUND_DOUBLE, uniform(-8, 8), 0);
        for (rep = 0; rep < 3; ++rep)
            dense_case_zy(4, rows4[ki][0], rows4[ki][1], 7, CNNC_ROUND_DOUBLE, out_zero_point(), 0);
    }
    /* K = 8 and 16, M a multiple of 4 (dsp_rec_block: per-output records, the row in
     * registers): one block, more (K = 16: 100 = 96 + 4, 160 = 96 + 64; K = 8: 160 = 152 + 8;
     * the groups' blocks of 48 where a record refuses), every kind with the double
     * rounding (reps 6, 7: kind 7, whose doubled sum the records' check must refuse), the
     * output zero point -128 (no sign's term) and any, the full clamp and a narrow one, single
     * and onnxruntime */
    for (ki = 8; ki <= 16; ki += 8)
    for (mi = 0; mi < (int32_t)(sizeof rec_ms / sizeof rec_ms[0]); ++mi)
    for (rep = 0; rep < REC_REPS; ++rep)
        dense_case_zy(uniform(4, MAX_N), ki, rec_ms[mi], rep == 6 || rep == 7 ? 7 : rep % 6,
                      rep < 8 ? CNNC_ROUND_DOUBLE : uniform(0, 2),
                      rep & 1 ? -128 : uniform(-128, 127), rep == 9);
    /* K = 16, M = 8 or 96 (DSP_ASM_REC_HALVES_N) and K = 8, M = 48 (DSP_ASM_REC_ROWS_N): the
     * rows doubled or not, ties of the rounding (kind 4), the output zero point -128 (M = 96
     * and 48; reps 1, 4) and any */
    for (ki = 0; ki < (int32_t)(sizeof rec_full / sizeof rec_full[0]); ++ki)
    for (rep = 0; rep < REC8_REPS; ++rep) {
        static const int32_t kinds[] = {4, 4, 4, 0, 1, 2};
        const int32_t m = rec_full[ki][2];
        dense_case_zy(rec_full[ki][0], rec_full[ki][1], m, kinds[rep], CNNC_ROUND_DOUBLE,
                      m >= 48 || rep == 1 || rep == 4 ? -128 : uniform(-127, 127), 0);
    }
    /* K a multiple of 8 from 24 to 336 (dsp_pair_block: two rows by two outputs), M even
     * (a last pair after the groups of four: 6, 18), within a block and past it, odd and
     * even rows (never 4: the four-row path), as above */
    for (ki = 0; ki < (int32_t)(sizeof pair_ks / sizeof pair_ks[0]); ++ki)
    for (mi = 0; mi < (int32_t)(sizeof pair_ms / sizeof pair_ms[0]); ++mi)
    for (rep = 0; rep < PAIR_REPS; ++rep)
        dense_case_zy(rep & 2 || rep >= 8 ? 5 + 2 * uniform(0, 2) : 6 + 2 * uniform(0, 1),
                      pair_ks[ki], pair_ms[mi], rep == 8 || rep == 9 ? 7 : rep % 6,
                      rep < 6 || rep >= 8 ? CNNC_ROUND_DOUBLE : uniform(0, 2),
                      rep & 1 ? -128 : uniform(-128, 127), rep == 5);
    /* the kept rows (dsp_pair_block_kept) and, at 33 rows, the rows widened per block: as
     * above */
    for (ki = 0; ki < (int32_t)(sizeof kept / sizeof kept[0]); ++ki)
    for (rep = 0; rep < KEPT_REPS; ++rep)
        dense_case_zy(kept[ki][1], kept[ki][0], kept[ki][2], rep % 6,
                      rep < 6 ? CNNC_ROUND_DOUBLE : uniform(0, 2),
                      rep & 1 ? -128 : uniform(-128, 127), rep == 7);
    /* the direct path's turns (one row; 1 to 3 where M is not a multiple of 4): the extreme
     * sums (kind 1), rounding ties (kind 4) and the reference form (kind 3) with the double
     * rounding, the output zero point -128 and any, a narrow clamp, then any rounding */
    for (ki = 0; ki < (int32_t)(sizeof direct / sizeof direct[0]); ++ki)
    for (rep = 0; rep < 6; ++rep) {
        static const int32_t kinds[] = {0, 1, 4, 3, 0, 2};
        const int32_t m = direct[ki][1];
        dense_case_zy(m % 4 ? uniform(1, 3) : 1, direct[ki][0], m, kinds[rep],
                      rep < 4 ? CNNC_ROUND_DOUBLE : uniform(0, 2),
                      rep & 1 ? -128 : uniform(-128, 127), rep == 5);
    }
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""
)

KERNELS = ["s8_conv.c", "s8_dense.c", "s8_dense_dsp.c", "s8_conv_dsp.c"]


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_gemm_rows_equal_ref_on_emulated_cortex_m4(tmp_path, opt):
    # the names that contain another name first
    lists = {
        "REC_MS_LIST": REC_MS,
        "PAIR_KS_LIST": PAIR_KS,
        "PAIR_MS_LIST": PAIR_MS,
    }
    lists |= {"BIG_KS_LIST": BIG_KS, "BIG_MS_LIST": BIG_MS}
    lists |= {"KS_LIST": KS, "MS_LIST": MS}
    driver = DRIVER.replace("ROWS4_LIST", ", ".join(f"{{{k}, {m}}}" for k, m in ROWS4))
    driver = driver.replace("ROWS4_REPS", str(ROWS4_REPS))
    driver = driver.replace(
        "REC_FULL_LIST", ", ".join(f"{{{n}, {k}, {m}}}" for n, k, m in REC_FULL)
    )
    driver = driver.replace("DIRECT_LIST", ", ".join(f"{{{k}, {m}}}" for k, m in DIRECT))
    driver = driver.replace("KEPT_LIST", ", ".join(f"{{{k}, {n}, {m}}}" for k, n, m in KEPT))
    for name, values in lists.items():
        driver = driver.replace(name, ", ".join(map(str, values)))
    out = run_driver(tmp_path, driver, KERNELS, opt)
    assert f"{CASES} cases, 0 failures" in out, out


# dsp_rows4_params_d2's pass enters its turn of four pairs by the count of pairs modulo 4: a
# wrong entry runs past the last pair (its records' STM past the room, reads past the
# arrays), which the outputs cannot show (the extra outputs' records are never read). The
# driver includes the kernel file for the static pass and checks, for every count of pairs
# 1..20, that no word past the last pair's record changes, that outputs past count (which
# every check refuses) are not read, and each field.
PARAMS_D2_DRIVER = r"""
#include <stdio.h>
#include "s8_dense_dsp.c"
#define WORDS (5 + 4 * 40 + 16)
static int32_t rec[WORDS], bias[64], mult[64], shift[64];
static void set(int i, int refused) {
    bias[i] = refused ? 1 << 30 : 1000 * i - 7;
    mult[i] = refused ? 5 : (1 << 30) + 12345 * i;
    shift[i] = refused ? 7 : -(i % 16) - 1;
}
int main(void) {
    const uint32_t zp2 = 2u * (uint32_t)-128 + 1u;
    int count, i, bad = 0;
    for (count = 2; count <= 40; count += 2) {
        for (i = 0; i < 64; ++i) set(i, i >= count);
        for (i = 0; i < WORDS; ++i) rec[i] = 0x5A5A5A5A;
        bad += !dsp_rows4_params_d2(rec + 5, bias, mult, shift, count, zp2);
        for (i = 5 + 4 * count; i < WORDS; ++i) bad += rec[i] != 0x5A5A5A5A;
        for (i = 0; i < count; ++i) {
            const int32_t *pr = rec + 5 + 8 * (i / 2) + 5 * (i & 1);
            bad += pr[0] != -shift[i] || pr[1] != mult[i];
            bad += pr[2] != (int32_t)(zp2 << (-shift[i] - 1));
            bad += rec[8 * (i / 2) + (i & 1)] != 2 * bias[i];
        }
    }
    printf("bad=%d;\n", bad);
    return 0;
}
"""


def test_dsp_rows4_params_d2_writes_its_records_only(tmp_path):
    kernels = ["s8_conv.c", "s8_dense.c", "s8_conv_dsp.c"]  # s8_dense_dsp.c: included
    out = run_driver(tmp_path, PARAMS_D2_DRIVER, kernels)
    assert "bad=0;" in out, out


# A model's build holds only the pair paths' variants its calls can take (dsp_pair_built over
# cnnc_model_calls.h); a call whose variant a build left out runs two quads a turn where held,
# or is refused (before any row, after the pairs of rows, after the kept rows) to the general
# path: the pair and kept grids above, built with a cnnc_model_calls.h of a few dense calls,
# (rows, K, M, output zero point). "few": no relu rows with the weights doubled, no relu odd
# last row, no kept linear rows (refused before the rows, after them, before the kept rows);
# "most": every kind of rows, some without two quads a turn (refused there).
PAIR_CALLS = {
    "few": (
        (5, 24, 6, 0),  # the rows doubled, linear, two quads a turn, an odd last row
        (25, 40, 2, 0),  # the weights doubled, linear, two quads a turn, an odd last row
        (6, 24, 6, -128),  # the rows doubled, relu, two quads a turn
        (10, 24, 200, -128),  # kept, relu, K 24 written out (no other kept variant)
    ),
    "most": (
        (5, 24, 6, 0),  # the rows doubled, linear, two quads a turn, an odd last row
        (26, 40, 2, 0),  # the weights doubled, linear, two quads a turn, no odd last row
        (6, 24, 6, -128),  # the rows doubled, relu, two quads a turn
        (5, 48, 6, -128),  # the rows doubled, relu, twelve quads a turn, an odd row of four
        (25, 48, 2, -128),  # the weights doubled, relu, twelve quads, an odd row of four
        (10, 24, 200, -128),  # kept, relu, K 24 written out (no other kept variant)
    ),
}
PAIR_LEFT_OUT_REPS = 6
PAIR_LEFT_OUT_CASES = (len(PAIR_KS) * len(PAIR_MS) + len(KEPT)) * PAIR_LEFT_OUT_REPS
PAIR_LEFT_OUT_MAIN = r"""
int main(void) {
    int32_t ki, mi, rep;
    for (ki = 0; ki < (int32_t)(sizeof pair_ks / sizeof pair_ks[0]); ++ki)
    for (mi = 0; mi < (int32_t)(sizeof pair_ms / sizeof pair_ms[0]); ++mi)
    for (rep = 0; rep < PAIR_LEFT_OUT_REPS; ++rep)
        dense_case_zy(5 + uniform(0, 4), pair_ks[ki], pair_ms[mi], rep % 3 ? 0 : 4,
                      CNNC_ROUND_DOUBLE, rep & 1 ? -128 : uniform(-128, 127), 0);
    for (ki = 0; ki < (int32_t)(sizeof kept / sizeof kept[0]); ++ki)
    for (rep = 0; rep < PAIR_LEFT_OUT_REPS; ++rep)
        dense_case_zy(kept[ki][1], kept[ki][0], kept[ki][2], rep % 3 ? 0 : 4, CNNC_ROUND_DOUBLE,
                      rep & 1 ? -128 : uniform(-128, 127), 0);
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""


def model_calls_header(dense_calls) -> str:
    """A cnnc_model_calls.h whose dense calls are (n, K, M, output zero point), with the full
    clamp and the double rounding; no pointwise conv; every other kernel's paths built."""
    from cnnc.ops.variants import FN_TYPES

    lines = ["#ifndef CNNC_MODEL_CALLS_H", "#define CNNC_MODEL_CALLS_H",
             "#define CNNC_MODEL_CALLS(kernel, P) CNNC_CALLS_##kernel(P)"]  # fmt: skip
    for fn in sorted(FN_TYPES):
        key = fn.removeprefix("cnnc_").removesuffix("__ref")
        if key not in ("s8_dense", "s8_pwconv"):
            lines.append(f"#define CNNC_CALLS_{key}(P) 1")
    terms = [
        f"P(((cnnc_s8_dense_params){{.n = {n}, .k = {k}, .m = {m}, .x_zero_point = 0, "
        f".y_zero_point = {zy}, .act_min = -128, .act_max = 127, "
        f".rounding = CNNC_ROUND_DOUBLE}}))"
        for n, k, m, zy in dense_calls
    ]
    lines.append(f"#define CNNC_CALLS_s8_dense(P) ({' || '.join(terms)})")
    lines.append("#define CNNC_CALLS_s8_pwconv(P) 0")
    return "\n".join([*lines, "#endif", ""])


@pytest.mark.parametrize("calls", list(PAIR_CALLS))
def test_dsp_gemm_pair_variants_left_out_equal_ref(tmp_path, calls):
    include = tmp_path / "calls"
    include.mkdir()
    (include / "cnnc_model_calls.h").write_text(model_calls_header(PAIR_CALLS[calls]))
    driver = DRIVER.split("int main(void) {")[0] + PAIR_LEFT_OUT_MAIN
    driver = driver.replace("PAIR_LEFT_OUT_REPS", str(PAIR_LEFT_OUT_REPS))
    driver = driver.replace("KEPT_LIST", ", ".join(f"{{{k}, {n}, {m}}}" for k, n, m in KEPT))
    driver = driver.replace("ROWS4_LIST", ", ".join(f"{{{k}, {m}}}" for k, m in ROWS4))
    driver = driver.replace(
        "REC_FULL_LIST", ", ".join(f"{{{n}, {k}, {m}}}" for n, k, m in REC_FULL)
    )
    driver = driver.replace("DIRECT_LIST", ", ".join(f"{{{k}, {m}}}" for k, m in DIRECT))
    lists = {"REC_MS_LIST": REC_MS, "PAIR_KS_LIST": PAIR_KS, "PAIR_MS_LIST": PAIR_MS}
    lists |= {"BIG_KS_LIST": BIG_KS, "BIG_MS_LIST": BIG_MS, "KS_LIST": KS, "MS_LIST": MS}
    for name, values in lists.items():
        driver = driver.replace(name, ", ".join(map(str, values)))
    # the grids' driver with this main: the other grids' lists and functions unused
    quiet = ("-Wno-unused-const-variable", "-Wno-unused-function")
    out = run_driver(tmp_path, driver, KERNELS, (f"-I{include}", *quiet))
    assert f"{PAIR_LEFT_OUT_CASES} cases, 0 failures" in out, out
