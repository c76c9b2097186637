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

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
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

/* PKHBT: (lo half of a, lo half of b); PKHTB: (hi half of b, hi half of a) as (lo, hi)
 * lanes (gcc builds them from masks and ORs in two instructions each otherwise). */
CNNC_INLINE uint32_t dsp_pkhbt(uint32_t a, uint32_t b) {
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
CNNC_INLINE uint32_t dsp_pkhtb(uint32_t b, uint32_t a) {
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(b), "r"(a));
    return r;
}

/* The byte b repeated in the four lanes of a word: a padding tap's input (x = zp). */
CNNC_INLINE uint32_t dsp_splat4(int32_t b) { return ((uint32_t)b & 0xFFu) * 0x01010101u; }

/* cnnc_requant_s8 (cnnc_s8.h) prepared per output channel, the same result bit for bit,
 * with one SMLAL (x m onto a 64-bit rounding term) at its core:
 *   single, s <= -1 (total = 31 - s >= 32): floor((x m + 2^(total-1)) / 2^total) is the
 *     high word of the sum shifted right by e = total - 32; |x m| < 2^62: no saturation.
 *   single, s >= 0 (total 1..31): the 64-bit sum shifted by total, saturated to int32.
 *   double: x' = sat32(x 2^left) by comparing x with the limits INT32_MAX >> left and
 *     INT32_MIN >> left; h = floor((x' m + 2^30) / 2^31) (the nudged truncation of
 *     cnnc_s8.h is this floor), |h| < 2^31; then the rounding right shift by e = right,
 *     ties away from zero.
 * The clamp to [lo - zp, hi - zp] comes before the zero point is added, so the sum stays
 * in int32. */
typedef struct {
    uint32_t round_lo; /* the 64-bit rounding term: single 2^(total - 1), double 2^30 */
    int32_t round_hi;
    int32_t m;            /* the channel's multiplier */
    int32_t kind;         /* DSP_RQ_* */
    int32_t e;            /* single: the shift of the high word or of the sum; double: right */
    int32_t left;         /* double: left shift of x */
    int32_t x_min, x_max; /* double: the x that x 2^left keeps in int32 */
    uint32_t mask, half;  /* double: 2^e - 1 and its half (the ties threshold) */
} dsp_rq;

/* c + a * b in 64 bits: one SMLAL (gcc widens through a generic 64-bit multiply where a
 * comes out of a select). */
CNNC_INLINE int64_t dsp_smlal(int32_t a, int32_t b, uint32_t c_lo, int32_t c_hi) {
    __asm__("smlal %0, %1, %2, %3" : "+r"(c_lo), "+r"(c_hi) : "r"(a), "r"(b));
    return (int64_t)(((uint64_t)(uint32_t)c_hi << 32) | c_lo);
}

enum { DSP_RQ_SINGLE_HIGH = 0, DSP_RQ_SINGLE_LOW = 1, DSP_RQ_DOUBLE = 2 };

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
    int64_t round;
    q.m = m;
    q.left = 0;
    q.x_min = INT32_MIN;
    q.x_max = INT32_MAX;
    q.mask = q.half = 0;
    if (rounding == CNNC_ROUND_DOUBLE) {
        q.kind = DSP_RQ_DOUBLE;
        round = (int64_t)1 << 30;
        q.left = s > 0 ? s : 0;
        q.e = s > 0 ? 0 : -s;
        q.x_min = INT32_MIN >> q.left;
        q.x_max = INT32_MAX >> q.left;
        q.mask = (uint32_t)(((uint64_t)1 << q.e) - 1u); /* e <= 31 */
        q.half = q.mask >> 1;
    } else {
        const int32_t total = 31 - s; /* 1..62 */
        round = (int64_t)1 << (total - 1);
        q.kind = total >= 32 ? DSP_RQ_SINGLE_HIGH : DSP_RQ_SINGLE_LOW;
        q.e = total >= 32 ? total - 32 : total;
    }
    q.round_lo = (uint32_t)round;
    q.round_hi = (int32_t)(round >> 32);
    return q;
}

CNNC_INLINE int8_t dsp_requant(int32_t acc, const dsp_rq *q, const dsp_out *o) {
    int32_t v;
    if (q->kind == DSP_RQ_DOUBLE) {
        const int32_t xs = acc > q->x_max   ? INT32_MAX
                           : acc < q->x_min ? INT32_MIN
                                            : (int32_t)((uint32_t)acc << q->left);
        const int64_t t = dsp_smlal(xs, q->m, q->round_lo, q->round_hi);
        const int32_t h = (int32_t)(((uint32_t)t >> 31) | ((uint32_t)(t >> 32) << 1));
        v = (h >> q->e) + (((uint32_t)h & q->mask) > q->half + ((uint32_t)h >> 31) ? 1 : 0);
    } else if (q->kind == DSP_RQ_SINGLE_HIGH) {
        v = (int32_t)(dsp_smlal(acc, q->m, q->round_lo, q->round_hi) >> 32) >> q->e;
    } else {
        v = cnnc_sat32(dsp_smlal(acc, q->m, q->round_lo, q->round_hi) >> q->e);
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
    uint32_t corr[DSP_BLOCK_MAX]; /* bias[o] - zp * sum_k w[k][o], modulo 2^32; 0 past count */
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
    for (j = count; j < DSP_BLOCK_MAX; ++j) blk->corr[j] = 0;
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
        memcpy(acc, blk->corr + g, sizeof acc);
        dsp_dot4(blk->w + (size_t)(g / 4) * blk->quads * 8, x, blk->k, acc);
        for (j = 0; j < nb; ++j) y[o0 + g + j] = dsp_requant((int32_t)acc[j], &blk->rq[g + j], out);
    }
}

#endif /* __ARM_FEATURE_DSP */
#endif /* CNNC_S8_DSP_H */
