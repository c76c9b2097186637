/* Helpers of the Cortex-M DSP int8 kernels (s8_*_dsp.c). Private to the s8 kernels.
 *
 * Written from the Armv7-M Architecture Reference Manual (A7.7, the DSP extension of
 * ARMv7E-M; the same instructions in ARMv8-M Mainline with the DSP extension) through the
 * ACLE intrinsics of arm_acle.h:
 *   SXTB16 Rd, Rm, ROR #r   Rd = (sext(byte r/8 + 2 of Rm) << 16) | sext(byte r/8 of Rm)
 *   SMLAD  Rd, Rn, Rm, Ra   Rd = Ra + Rn.lo * Rm.lo + Rn.hi * Rm.hi   (16 x 16 lanes)
 *   SMLABB / SMLATT         Rd = Ra + Rn.lo * Rm.lo   /   Ra + Rn.hi * Rm.hi
 * The sums are computed exactly and the low 32 bits kept (the Q flag records an overflow
 * and is never read here), so an accumulation is exact modulo 2^32.
 *
 * Zero point folded into the bias: sum_k (x_k - zp) w_k = sum_k x_k w_k - zp sum_k w_k, so
 * each kernel starts the accumulator at corr = bias - zp * sum_k w_k (padding taps then read
 * the byte zp, as if they were real pixels) and multiplies the raw int8 inputs, which
 * SXTB16 widens to int16 without a subtraction. A partial sum of this form may leave the
 * int32 range, but every step wraps modulo 2^32 (SMLAD, SMLAxy, uint32_t arithmetic for
 * corr) and the final sum is the reference's, which the compiler proved to fit int32
 * (check_accumulator): so the wrapped result is exactly the reference's sum. */
#ifndef CNNC_S8_DSP_H
#define CNNC_S8_DSP_H

#include <string.h>

#include "cnnc_s8.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>

/* Four int8 at p, any alignment (ARMv7-M LDR allows unaligned word loads from RAM and
 * flash; memcpy lets the compiler emit one). */
CNNC_INLINE uint32_t dsp_load4(const int8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes 0 and 2 of v as int16 lanes (lo, hi); dsp_odd: bytes 1 and 3 (SXTB16 with its
 * own rotation, which the intrinsic cannot express). */
CNNC_INLINE int32_t dsp_even(uint32_t v) { return (int32_t)__sxtb16((int32_t)v); }
CNNC_INLINE int32_t dsp_odd(uint32_t v) {
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* Words i and i+1 of p in one LDRD (word alignment suffices; byte offset 4i <= 1020),
 * which gcc does not form from two adjacent loads here; the "m" operands tell it which
 * memory the load reads. i must be a literal. */
#define DSP_LOAD2W(p, i, lo, hi)           \
    __asm__("ldrd %0, %1, [%2, #" #i "*4]" \
            : "=r"(lo), "=r"(hi)           \
            : "r"(p), "m"((p)[i]), "m"((p)[(i) + 1]))

/* Two int16 lanes (lo, hi) in one word. */
CNNC_INLINE uint32_t dsp_pack16(int32_t lo, int32_t hi) {
    return ((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFFu);
}

/* The byte b repeated in the four lanes of a word: a padding tap's input (x = zp). */
CNNC_INLINE uint32_t dsp_splat4(int32_t b) { return ((uint32_t)b & 0xFFu) * 0x01010101u; }

/* cnnc_requant_s8 (cnnc_s8.h) prepared per output channel, the same result bit for bit:
 *   single, s <= -1 (total = 31 - s >= 32): floor((x m + 2^(total-1)) / 2^total) is the high
 *     word of the 64-bit sum (one SMLAL onto the rounding term) shifted right by e = -1 - s;
 *     |x m| < 2^62, so it cannot saturate.
 *   double, s <= 0: h = floor((x m + 2^30) / 2^31) (the nudged truncation of cnnc_s8.h is
 *     this floor), |h| < 2^31; then the rounding right shift by e = -s, ties away from zero.
 * Other shifts (multipliers of 1 or more: e = -1) take the portable function. The clamp to
 * [lo - zp, hi - zp] comes before the zero point is added, so the sum stays in int32. */
typedef struct {
    int64_t round; /* single: 2^(30 - s); double: 2^30 */
    int32_t m, s;  /* the channel's multiplier and shift */
    int32_t e;     /* the final right shift; -1: cnnc_requant_s8 */
} dsp_rq;

/* The layer-wide part: rounding, output zero point, clamp bounds minus the zero point. */
typedef struct {
    int32_t rounding, zero_point, lo, hi;
} dsp_out;

CNNC_INLINE dsp_out dsp_out_make(int32_t rounding, int32_t zero_point, int32_t act_min,
                                 int32_t act_max) {
    dsp_out o;
    o.rounding = rounding;
    o.zero_point = zero_point;
    o.lo = act_min - zero_point;
    o.hi = act_max - zero_point;
    return o;
}

CNNC_INLINE dsp_rq dsp_rq_make(int32_t m, int32_t s, int32_t rounding) {
    dsp_rq q;
    q.m = m;
    q.s = s;
    q.e = -1;
    q.round = 0;
    if (rounding == CNNC_ROUND_SINGLE && s <= -1) {
        q.round = (int64_t)1 << (30 - s);
        q.e = -1 - s;
    } else if (rounding == CNNC_ROUND_DOUBLE && s <= 0) {
        q.round = (int64_t)1 << 30;
        q.e = -s;
    }
    return q;
}

CNNC_INLINE int8_t dsp_requant(int32_t acc, const dsp_rq *q, const dsp_out *o) {
    int32_t v;
    if (q->e < 0)
        return cnnc_requant_s8(acc, q->m, q->s, o->rounding, o->zero_point, o->lo + o->zero_point,
                               o->hi + o->zero_point);
    if (o->rounding == CNNC_ROUND_SINGLE) {
        v = (int32_t)(((int64_t)acc * q->m + q->round) >> 32) >> q->e;
    } else {
        const int32_t h = (int32_t)(((int64_t)acc * q->m + q->round) >> 31);
        const uint32_t mask = (1u << q->e) - 1u; /* e <= 31 */
        v = (h >> q->e) + (((uint32_t)h & mask) > (mask >> 1) + ((uint32_t)h >> 31) ? 1 : 0);
    }
    v = v < o->lo ? o->lo : (v > o->hi ? o->hi : v);
    return (int8_t)(v + o->zero_point);
}

/* ---------------------------------------------------------------------------------
 * GEMM core of the dense, pointwise and general conv kernels: y[r][o] for rows r of K int8
 * inputs (a pixel, or an im2col row) and weights w[K][M] as packed for __ref (row stride M).
 * A block of outputs is repacked once per call onto the stack (dsp_block) and then serves
 * every row: for output o and input quad q, the words (w[4q][o], w[4q+2][o]) and
 * (w[4q+1][o], w[4q+3][o]) as int16 lanes, which meet SXTB16's even and odd bytes of the
 * four inputs x[4q..4q+3] in two SMLADs (4 MACs). Inputs past K are zero in both. */
#define DSP_WBUF_WORDS 1024 /* 4 KB of stack for the repacked weights of one block */
#define DSP_MAX_K 512       /* K such that one quad of outputs fits: ceil(K/4) * 8 words */
#define DSP_BLOCK_MAX 32    /* outputs per block */
#define DSP_MIN_ROWS 4      /* fewer rows than this: repacking costs more than it saves */

typedef struct {
    int32_t k, quads;             /* K, ceil(K / 4) */
    int32_t count;                /* outputs in the block, <= DSP_BLOCK_MAX */
    uint32_t w[DSP_WBUF_WORDS];   /* [ceil(count/4)][quads][4 outputs][even, odd] int16 pairs */
    uint32_t corr[DSP_BLOCK_MAX]; /* bias[o] - zp * sum_k w[k][o], modulo 2^32 */
    dsp_rq rq[DSP_BLOCK_MAX];     /* requantisation of each output */
} dsp_block;

/* Outputs per block for K inputs: a multiple of 4 (at least 4 when K <= DSP_MAX_K). */
CNNC_INLINE int32_t dsp_block_outputs(int32_t k) {
    const int32_t fit = DSP_WBUF_WORDS / (((k + 3) / 4) * 8) * 4;
    return fit < DSP_BLOCK_MAX ? fit : DSP_BLOCK_MAX;
}

CNNC_INLINE int32_t dsp_w_at(const int8_t *w, int32_t k, int32_t m, int32_t kk, int32_t o) {
    return kk < k ? w[(size_t)kk * m + o] : 0;
}

/* Repacks outputs o0 .. o0+count-1 of w[K][M] (their corrected biases and requantisation)
 * into blk. */
CNNC_INLINE void dsp_repack(dsp_block *blk, const int8_t *w, int32_t k, int32_t m, int32_t o0,
                            int32_t count, const int32_t *bias, const int32_t *mult,
                            const int32_t *shift, int32_t rounding, int32_t x_zero_point) {
    uint32_t *wp = blk->w;
    int32_t g, q, j;
    blk->k = k;
    blk->quads = (k + 3) / 4;
    blk->count = count;
    for (j = 0; j < count; ++j) {
        blk->corr[j] = (uint32_t)bias[o0 + j];
        blk->rq[j] = dsp_rq_make(mult[o0 + j], shift[o0 + j], rounding);
    }
    for (g = 0; g < count; g += 4) {
        for (q = 0; q < blk->quads; ++q) {
            for (j = 0; j < 4; ++j, wp += 2) {
                const int32_t o = o0 + g + j;
                int32_t w0 = 0, w1 = 0, w2 = 0, w3 = 0;
                if (g + j < count) {
                    w0 = dsp_w_at(w, k, m, 4 * q, o);
                    w1 = dsp_w_at(w, k, m, 4 * q + 1, o);
                    w2 = dsp_w_at(w, k, m, 4 * q + 2, o);
                    w3 = dsp_w_at(w, k, m, 4 * q + 3, o);
                    blk->corr[g + j] -= (uint32_t)x_zero_point * (uint32_t)(w0 + w1 + w2 + w3);
                }
                wp[0] = dsp_pack16(w0, w2);
                wp[1] = dsp_pack16(w1, w3);
            }
        }
    }
}

/* One input quad xw (x[4q..4q+3]) into 4 outputs: 8 SMLADs on words i .. i+7 of wp. */
#define DSP_QUAD(xw, wp, i0, i1, i2, i3, i4, i5, i6, i7)                 \
    do {                                                                 \
        const int32_t xe_ = dsp_even(xw), xo_ = dsp_odd(xw);             \
        uint32_t we_, wo_;                                               \
        DSP_LOAD2W(wp, i0, we_, wo_);                                    \
        a0 = __smlad(xo_, (int32_t)wo_, __smlad(xe_, (int32_t)we_, a0)); \
        DSP_LOAD2W(wp, i2, we_, wo_);                                    \
        a1 = __smlad(xo_, (int32_t)wo_, __smlad(xe_, (int32_t)we_, a1)); \
        DSP_LOAD2W(wp, i4, we_, wo_);                                    \
        a2 = __smlad(xo_, (int32_t)wo_, __smlad(xe_, (int32_t)we_, a2)); \
        DSP_LOAD2W(wp, i6, we_, wo_);                                    \
        a3 = __smlad(xo_, (int32_t)wo_, __smlad(xe_, (int32_t)we_, a3)); \
    } while (0)

/* acc[0..3] += sum_k x[k] * w[k][o] for the 4 outputs whose repacked quads start at wp;
 * two quads per iteration. */
CNNC_INLINE void dsp_dot4(const uint32_t *wp, const int8_t *x, int32_t k, uint32_t acc[4]) {
    int32_t a0 = (int32_t)acc[0], a1 = (int32_t)acc[1], a2 = (int32_t)acc[2], a3 = (int32_t)acc[3];
    const int8_t *end2 = x + (k & ~7), *end = x + (k & ~3);
    const int32_t rest = k & 3;
    for (; x < end2; x += 8, wp += 16) {
        const uint32_t x0 = dsp_load4(x), x1 = dsp_load4(x + 4);
        DSP_QUAD(x0, wp, 0, 1, 2, 3, 4, 5, 6, 7);
        DSP_QUAD(x1, wp, 8, 9, 10, 11, 12, 13, 14, 15);
    }
    if (x < end) {
        const uint32_t x0 = dsp_load4(x);
        DSP_QUAD(x0, wp, 0, 1, 2, 3, 4, 5, 6, 7);
        x += 4;
        wp += 8;
    }
    if (rest) {
        const uint32_t xw = ((uint32_t)(uint8_t)x[0]) |
                            (rest > 1 ? (uint32_t)(uint8_t)x[1] << 8 : 0u) |
                            (rest > 2 ? (uint32_t)(uint8_t)x[2] << 16 : 0u);
        DSP_QUAD(xw, wp, 0, 1, 2, 3, 4, 5, 6, 7);
    }
    acc[0] = (uint32_t)a0;
    acc[1] = (uint32_t)a1;
    acc[2] = (uint32_t)a2;
    acc[3] = (uint32_t)a3;
}

/* One row x[K] through the whole block: y[o0 + j] for j < blk->count. */
CNNC_INLINE void dsp_block_row(const dsp_block *blk, const int8_t *x, int32_t o0,
                               const dsp_out *out, int8_t *y) {
    int32_t g, j;
    for (g = 0; g < blk->count; g += 4) {
        uint32_t acc[4];
        const int32_t nb = blk->count - g < 4 ? blk->count - g : 4;
        for (j = 0; j < 4; ++j) acc[j] = j < nb ? blk->corr[g + j] : 0u;
        dsp_dot4(blk->w + (size_t)(g / 4) * blk->quads * 8, x, blk->k, acc);
        for (j = 0; j < nb; ++j) y[o0 + g + j] = dsp_requant((int32_t)acc[j], &blk->rq[g + j], out);
    }
}

#endif /* __ARM_FEATURE_DSP */
#endif /* CNNC_S8_DSP_H */
