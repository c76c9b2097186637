/* Cortex-M DSP variant of the int8 fully connected layer (and, through
 * cnnc_s8_pwconv__dsp in s8_conv_dsp.c, the pointwise conv), bit-exact to
 * cnnc_s8_dense__ref: blocks of outputs repacked once per call into SMLAD pairs, then every
 * row through them, 4 MACs per two SMLADs (s8_dsp.h). Rows fewer than DSP_MIN_ROWS (or
 * DSP_MIN_ROWS_M4 when M is a multiple of 4), or K above DSP_MAX_K, read the weights
 * directly (dsp_dense_direct); K above DSP_DIRECT_MAX_K runs the reference loop. Compiled
 * when the build targets the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 with
 * DSP); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define DSP_DIRECT_MAX_K 2048 /* x pairs of one row on the stack: 4 KB */

/* One input pair of one row into outputs o..o+3 (dsp_dense_direct's loop body): the words
 * w[k][o..o+3] and w[k+1][o..o+3] (at w and w + m; w then moves 2 rows on), PKHBT/PKHTB
 * into their low and high halves side by side, whose SXTB16 even and odd bytes are the
 * pairs (w[k][j], w[k+1][j]) of the four outputs j, each one SMLAD with the row's
 * (x[k] - zp, x[k+1] - zp) at *xp (then xp + 1). In asm: gcc's allocation of the C form
 * spilled the sums. */
#define DSP_ASM_PAIR()                                                               \
    __asm__ __volatile__(                                                            \
        "ldr %[r0], [%[w]]\n\t"                                                      \
        "ldr %[r1], [%[w], %[m]]\n\t"                                                \
        "add %[w], %[w], %[m], lsl #1\n\t"                                           \
        "ldr %[x], [%[xp]], #4\n\t"                                                  \
        "pkhbt %[t], %[r0], %[r1], lsl #16\n\t"                                      \
        "pkhtb %[r1], %[r1], %[r0], asr #16\n\t"                                     \
        "sxtb16 %[r0], %[t]\n\t"                                                     \
        "smlad %[a0], %[x], %[r0], %[a0]\n\t"                                        \
        "sxtb16 %[t], %[t], ror #8\n\t"                                              \
        "smlad %[a1], %[x], %[t], %[a1]\n\t"                                         \
        "sxtb16 %[r0], %[r1]\n\t"                                                    \
        "smlad %[a2], %[x], %[r0], %[a2]\n\t"                                        \
        "sxtb16 %[r1], %[r1], ror #8\n\t"                                            \
        "smlad %[a3], %[x], %[r1], %[a3]\n\t"                                        \
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(xv), \
          [r0] "=&r"(r0), [r1] "=&r"(r1), [t] "=&r"(t), [w] "+r"(wr), [xp] "+r"(xq)  \
        : [m] "r"(m)                                                                 \
        : "memory")

/* Few rows (the classifier's one; fewer than DSP_MIN_ROWS, or K above DSP_MAX_K): no
 * repacking, each weight read once per row. The row's pairs (x[2i] - zp, x[2i+1] - zp)
 * (SXTAB16 onto (-zp, -zp), then PKHBT/PKHTB; 0 past K) are formed once; the weights of
 * 4 outputs in rows k and k+1 become the four pairs of one SMLAD each (DSP_ASM_PAIR), so
 * the sums start at the bias. Outputs past the last multiple of 4 read their pairs by
 * bytes. Sums exact modulo 2^32 (s8_dsp.h); requantised by dsp_requant (any form). */
static void dsp_dense_direct(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift,
                             int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t k = p->k, m = p->m, m4 = m & ~3, pairs = (k + 1) / 2, whole = k / 2;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    uint32_t xp[DSP_DIRECT_MAX_K / 2]; /* [pairs] (x[2i] - zp, x[2i+1] - zp), 0 past K */
    int32_t b, o, i;
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * k;
        int8_t *yb = y + (size_t)b * m;
        for (i = 0; i + 4 <= k; i += 4) {
            const uint32_t v = dsp_load4(xb + i);
            const uint32_t e = dsp_even_add(nzp, v), od = dsp_odd_add(nzp, v);
            xp[i / 2] = dsp_pkhbt(e, od), xp[i / 2 + 1] = dsp_pkhtb(od, e);
        }
        for (; i < k; i += 2) {
            const int32_t hi = i + 1 < k ? xb[i + 1] - p->x_zero_point : 0;
            xp[i / 2] = dsp_pack16(xb[i] - p->x_zero_point, hi);
        }
        for (o = 0; o < m4; o += 4) {
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3], form;
            const int8_t *wr = w + o; /* row k of outputs o..o+3 */
            const uint32_t *xq = xp, *const xend = xp + whole;
            dsp_rq rq[4];
            while (xq < xend) {
                uint32_t xv, r0, r1, t;
                DSP_ASM_PAIR();
            }
            if (k & 1) { /* the last input alone: w[k][o] in the low lanes */
                const uint32_t wa = dsp_load4(wr);
                const uint32_t ae = (uint32_t)dsp_even(wa), ao = (uint32_t)dsp_odd(wa);
                const int32_t xv = (int32_t)xp[pairs - 1];
                a0 = __smlad(xv, (int32_t)(ae & 0xFFFFu), a0);
                a1 = __smlad(xv, (int32_t)(ao & 0xFFFFu), a1);
                a2 = __smlad(xv, (int32_t)(ae >> 16), a2);
                a3 = __smlad(xv, (int32_t)(ao >> 16), a3);
            }
            form = dsp_rq_make_n(rq, mult + o, shift + o, 4, &out);
            yb[o] = dsp_requant(a0, form, &rq[0], &out);
            yb[o + 1] = dsp_requant(a1, form, &rq[1], &out);
            yb[o + 2] = dsp_requant(a2, form, &rq[2], &out);
            yb[o + 3] = dsp_requant(a3, form, &rq[3], &out);
        }
        for (o = m4; o < m; ++o) { /* the last 1 to 3 outputs: pairs (w[2i][o], w[2i+1][o]) */
            const int8_t *wr = w + o;
            int32_t acc = bias[o], form;
            dsp_rq rq;
            for (i = 0; i < whole; ++i, wr += 2 * (size_t)m)
                acc = __smlad((int32_t)xp[i], (int32_t)dsp_pack16(wr[0], wr[m]), acc);
            if (k & 1) acc = __smlad((int32_t)xp[whole], wr[0] & 0xFFFF, acc);
            form = dsp_rq_make(&rq, mult[o], shift[o], &out);
            yb[o] = dsp_requant(acc, form, &rq, &out);
        }
    }
}

/* n rows x[r * x_stride][K] through the whole block: y[r * y_stride + o0 + j] for
 * j < blk->count. A copy of the loop per fast requantisation form with the full clamp
 * (and, for the doubled form, K of 8, 12 and 16 written out: the expansions of the small
 * MobileNet blocks, the 3x3 stems of one channel), one for the rest; at -Os one copy that picks per
 * group. */
void cnnc_s8_dsp_block_rows(const dsp_block *blk, const int8_t *x, size_t x_stride, int32_t n,
                            int32_t o0, const dsp_out *out, int8_t *y, size_t y_stride) {
    const int full = dsp_out_full(out);
    y += o0;
#if defined(__OPTIMIZE_SIZE__)
    dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, blk->form, full, 0);
#else
    const int32_t nq = blk->quads >= 2 && blk->quads <= 4 ? blk->quads : 0;
    if (blk->form == DSP_RQ_DOUBLE2 && full && nq == 2)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 2);
    else if (blk->form == DSP_RQ_DOUBLE2 && full && nq == 3)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 3);
    else if (blk->form == DSP_RQ_DOUBLE2 && full && nq == 4)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 4);
    else if (blk->form == DSP_RQ_DOUBLE2 && full)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE2, 1, 0);
    else if (blk->form == DSP_RQ_DOUBLE && full)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_DOUBLE, 1, 0);
    else if (blk->form == DSP_RQ_SINGLE && full)
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, DSP_RQ_SINGLE, 1, 0);
    else
        dsp_block_rows_as(blk, x, x_stride, n, out, y, y_stride, blk->form, full, 0);
#endif
}

void cnnc_s8_dense__dsp(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    dsp_block blk; /* on the stack: 5 KB */
    int32_t o0, per;
    if (p->k > DSP_MAX_K || p->n < (p->m % 4 ? DSP_MIN_ROWS : DSP_MIN_ROWS_M4)) {
        if (p->k <= DSP_DIRECT_MAX_K)
            dsp_dense_direct(p, x, w, bias, mult, shift, y);
        else
            cnnc_s8_dense__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    per = dsp_block_outputs(p->k);
    for (o0 = 0; o0 < p->m; o0 += per) {
        const int32_t count = p->m - o0 < per ? p->m - o0 : per;
        dsp_repack(&blk, w, p->k, p->m, o0, count, bias, mult, shift, &out, p->x_zero_point);
        cnnc_s8_dsp_block_rows(&blk, x, (size_t)p->k, p->n, o0, &out, y, (size_t)p->m);
    }
}
#else
typedef int cnnc_s8_dense_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
