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

#include "cnnc_cpu.h"
#include "cnnc_model_calls.h"
#include "cnnc_s8.h"

/* Paths only a model's calls can take (cnnc_model_calls.h). The calls that reach
 * cnnc_s8_dense__dsp are the model's dense calls and its pointwise convs as dense layers
 * (S8_PWCONV_AS_DENSE, s8_conv_loops.h). A dense path's predicate P(d), on a
 * cnnc_s8_dense_params value, needs a companion for the convs, one line:
 *   #define DSP_X_PW(cp) DSP_PW_AS(DSP_X, cp)
 * and the path's test is then `DSP_DENSE_CALLS(DSP_X) && <the run-time test>`. */
/* (a compound literal, which gcc folds before it inlines: through a function the tests folded
 * late, after the paths they leave out had been copied: cnnc_s8_dsp_block_rows 38 KB at -O2) */
#define DSP_PW_AS(P, cp) P(S8_PWCONV_AS_DENSE(cp))
#define DSP_DENSE_CALLS(P) (CNNC_MODEL_CALLS(s8_dense, P) || CNNC_MODEL_CALLS(s8_pwconv, P##_PW))

#if defined(CNNC_M_DSP)
#include <arm_acle.h>

/* Four int8 at p, any alignment (ARMv7-M LDR allows unaligned word loads from RAM and
 * flash; CNNC_COPY lets the compiler emit one, whatever the build's -fno-builtin). */
CNNC_INLINE uint32_t dsp_load4(const int8_t *p) {
    uint32_t v;
    CNNC_COPY(&v, p, sizeof v);
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

/* SMMULR Rd = (Rn * Rm + 2^31) >> 32; SMMLA Rd = Ra + ((Rn * Rm) >> 32) (64-bit product,
 * arithmetic shift; not in arm_acle.h). */
CNNC_INLINE int32_t dsp_smmulr(int32_t a, int32_t b) {
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
CNNC_INLINE int32_t dsp_smmla(int32_t a, int32_t b, int32_t c) {
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
/* SMMLAR Rd = (Ra * 2^32 + Rn * Rm + 2^31) >> 32 (64-bit, arithmetic shift). */
CNNC_INLINE int32_t dsp_smmlar(int32_t a, int32_t b, int32_t c) {
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

/* cnnc_requant_s8 (cnnc_s8.h) prepared per output channel, the same bytes bit for bit.
 * Two fast forms cover the multipliers quantize_multiplier makes for real layers; every
 * other channel (and the onnxruntime rounding) calls cnnc_requant_s8 itself.
 *   DSP_RQ_SINGLE, single rounding with -23 <= s <= -2 (total = 31 - s = 32 + e, e = -1 - s
 *     in 1..22): floor((x m + 2^(31+e)) / 2^(32+e)) = floor((H + 2^(e-1)) / 2^e) with
 *     H = floor(x m / 2^32) (2^(31+e) is a multiple of 2^32), so v = SMMLA(x, m, 2^(e-1))
 *     >> e; |H| <= 2^30.
 *   DSP_RQ_DOUBLE, double rounding with 2^30 <= m and -20 <= s <= -1 (left 0, right e = -s
 *     in 1..20): h = floor((x m + 2^30) / 2^31) = floor((2x m + 2^31) / 2^32) when
 *     |x| < 2^30; the rounding divide by 2^e, ties away from zero, is
 *     floor((h + 2^(e-1) - [h < 0]) / 2^e) (|h| <= 2^30: no overflow). [h < 0] may be read
 *     as [x < 0]: h < 0 implies x < 0, and x < 0 with h = 0 (x = -1, m = 2^30) gives
 *     floor((2^(e-1) - 1) / 2^e) = 0 = floor(2^(e-1) / 2^e). So with t = c + (x >> 31)
 *     (one ADD with a shifted operand), SMMLAR(2x, m, t) = t + h in one instruction and
 *     v = that >> e. 2x is formed by QADD (saturating): for |x| >= 2^30 both the true h and
 *     the saturated one have |h| >= 2^29 with x's sign (m >= 2^30), so both results have
 *     magnitude >= 2^(29-e) >= 512 and clamp to the same bound (the bounds minus the zero
 *     point lie in [-255, 255]).
 *   DSP_RQ_DOUBLE2, the GEMM core's DSP_RQ_DOUBLE when the accumulator arrives doubled:
 *     the inputs were widened as 2x_k (|2 x_k| <= 256 fits the int16 lanes; the GEMM
 *     core's 2 (x_k - zp), |.| <= 510) and the corrected bias (the GEMM core's bias)
 *     doubled, which the kernels allow only where they proved |x| < 2^30 for every input
 *     (|corr| + 128 sum_k |w_k| < 2^30; dsp_repack: |bias| + 255 * 128 * K < 2^30), so
 *     the doubled sum is exact and the QADD goes.
 * Both add the output zero point inside the shift: c = 2^(e-1) + zp 2^e gives v + zp
 * exactly (|c| <= 2^21 + 2^29 for single, 2^19 + 2^27 for double: no overflow next to
 * |H|, |h| <= 2^30), then the clamp to [act_min, act_max]. */
enum { DSP_RQ_SLOW = 0, DSP_RQ_SINGLE = 1, DSP_RQ_DOUBLE = 2, DSP_RQ_DOUBLE2 = 3 };
/* DSP_RQ_DOUBLE2 with the full clamp and output zero point -128, where the sign's term
 * (acc >> 31) can go: for h < 0 (so acc < 0) both floor((h + 2^(e-1) - 1) / 2^e) and
 * floor((h + 2^(e-1)) / 2^e) are <= 0 (h + 2^(e-1) < 2^e), so either plus the zero point
 * is <= -128 and SSAT #8 gives -128; for h >= 0 the term is 0. The layers behind a ReLU
 * (their calibrated range starts at 0: zero point -128) take it. A template form of the
 * GEMM rows (dsp_block_rows_as) only: a block's own form stays DSP_RQ_DOUBLE2. */
enum { DSP_RQ_DOUBLE2Z = 4 };

typedef struct {
    int32_t m, c, e; /* multiplier, rounding term 2^(e-1), right shift (fast forms) */
    int32_t s;       /* the channel's shift, for the slow form */
} dsp_rq;

/* The layer-wide part: rounding, output zero point, clamp bounds. */
typedef struct {
    int32_t rounding, zero_point, act_min, act_max;
} dsp_out;

CNNC_INLINE dsp_out dsp_out_make(int32_t rounding, int32_t zero_point, int32_t act_min,
                                 int32_t act_max) {
    dsp_out o;
    o.rounding = rounding;
    o.zero_point = zero_point;
    o.act_min = act_min;
    o.act_max = act_max;
    return o;
}

/* Fills q for multiplier m, shift s; returns its form (DSP_RQ_*). */
CNNC_INLINE int32_t dsp_rq_make(dsp_rq *q, int32_t m, int32_t s, const dsp_out *o) {
    const int32_t rounding = o->rounding;
    q->m = m;
    q->s = s;
    q->e = 0;
    q->c = 0;
    if (rounding == CNNC_ROUND_SINGLE && s <= -2 && s >= -23) {
        q->e = -1 - s;
        q->c = (int32_t)(((uint32_t)1 << (q->e - 1)) + (uint32_t)o->zero_point * (1u << q->e));
        return DSP_RQ_SINGLE;
    }
    if (rounding == CNNC_ROUND_DOUBLE && m >= ((int32_t)1 << 30) && s <= -1 && s >= -20) {
        q->e = -s;
        q->c = (int32_t)(((uint32_t)1 << (q->e - 1)) + (uint32_t)o->zero_point * (1u << q->e));
        return DSP_RQ_DOUBLE;
    }
    return DSP_RQ_SLOW;
}

/* Fills q[0..n-1]; returns the form all of them share, or DSP_RQ_SLOW. */
CNNC_INLINE int32_t dsp_rq_make_n(dsp_rq *q, const int32_t *mult, const int32_t *shift, int32_t n,
                                  const dsp_out *o) {
    int32_t j, form = -1;
    for (j = 0; j < n; ++j) {
        const int32_t f = dsp_rq_make(&q[j], mult[j], shift[j], o);
        form = form < 0 || form == f ? f : DSP_RQ_SLOW;
    }
    return form < 0 ? DSP_RQ_SLOW : form;
}

/* v already holds the zero point (the fast forms' c). */
CNNC_INLINE int8_t dsp_clamp(int32_t v, const dsp_out *o) {
    return (int8_t)(v < o->act_min ? o->act_min : (v > o->act_max ? o->act_max : v));
}

CNNC_INLINE int8_t dsp_rq_single(int32_t acc, const dsp_rq *q, const dsp_out *o) {
    return dsp_clamp(dsp_smmla(acc, q->m, q->c) >> q->e, o);
}

/* v + zero point of DSP_RQ_DOUBLE (acc = x) and DSP_RQ_DOUBLE2 (acc = 2x), before the clamp. */
CNNC_INLINE int32_t dsp_rq_double_v(int32_t acc, const dsp_rq *q) {
    return dsp_smmlar(__qadd(acc, acc), q->m, q->c + (acc >> 31)) >> q->e;
}
CNNC_INLINE int32_t dsp_rq_double2_v(int32_t acc2, const dsp_rq *q) {
    return dsp_smmlar(acc2, q->m, q->c + (acc2 >> 31)) >> q->e;
}

CNNC_INLINE int8_t dsp_rq_double(int32_t acc, const dsp_rq *q, const dsp_out *o) {
    return dsp_clamp(dsp_rq_double_v(acc, q), o);
}

/* The slow form, out of line (rare: keeps the callers' registers for the fast ones). */
static __attribute__((noinline, unused)) int8_t dsp_rq_slow(int32_t acc, const dsp_rq *q,
                                                            const dsp_out *o) {
    return cnnc_requant_s8(acc, q->m, q->s, o->rounding, o->zero_point, o->act_min, o->act_max);
}

/* Any form. */
CNNC_INLINE int8_t dsp_requant(int32_t acc, int32_t form, const dsp_rq *q, const dsp_out *o) {
    if (form == DSP_RQ_DOUBLE2) return dsp_clamp(dsp_rq_double2_v(acc, q), o);
    if (form == DSP_RQ_DOUBLE) return dsp_rq_double(acc, q, o);
    if (form == DSP_RQ_SINGLE) return dsp_rq_single(acc, q, o);
    return dsp_rq_slow(acc, q, o);
}

#define DSP_ALWAYS_INLINE static __inline__ __attribute__((always_inline))
/* On a function whose asm defines labels that another asm statement jumps to (the depthwise
 * tiles' requantisation blocks): gcc's interprocedural constant propagation may emit a
 * specialised copy (.constprop) beside the original, and a second copy of the labels fails to
 * assemble. clang has no such attribute (nor such clones of asm). */
#if defined(__clang__)
#define DSP_NOCLONE
#else
#define DSP_NOCLONE __attribute__((noclone))
#endif

/* dsp_requant for a form and clamp known where it is inlined: full (act_min -128, act_max
 * 127) clamps by one SSAT #8. */
DSP_ALWAYS_INLINE int8_t dsp_requant_as(int32_t acc, const dsp_rq *q, const dsp_out *o,
                                        int32_t form, int full) {
    int32_t v;
    if (form == DSP_RQ_DOUBLE2) {
        v = dsp_rq_double2_v(acc, q);
    } else if (form == DSP_RQ_DOUBLE) {
        v = dsp_rq_double_v(acc, q);
    } else if (form == DSP_RQ_SINGLE) {
        v = dsp_smmla(acc, q->m, q->c) >> q->e;
    } else {
        return dsp_rq_slow(acc, q, o);
    }
    if (full) return (int8_t)__ssat(v, 8);
    return dsp_clamp(v, o);
}

/* Whether the clamp is the whole int8 range (dsp_requant_as's full). */
CNNC_INLINE int dsp_out_full(const dsp_out *o) { return o->act_min == -128 && o->act_max == 127; }

/* ---------------------------------------------------------------------------------
 * GEMM core of the dense, pointwise and general conv kernels: y[r][o] for rows r of K int8
 * inputs (a pixel, or an im2col row) and weights w[K][M] as packed for __ref (row stride M).
 * A block of outputs is repacked once per call onto the stack (dsp_block) and then serves
 * every row: for output o and input quad q, the words (w[4q][o], w[4q+2][o]) and
 * (w[4q+1][o], w[4q+3][o]) as int16 lanes, which meet the even and odd bytes of the four
 * inputs x[4q..4q+3], widened by SXTAB16 onto the lanes (-zp, -zp) as x - zp (in -255..255:
 * exact in int16), in two SMLADs (4 MACs). The sums then start at the bias itself (no
 * weight sums, no corrected bias). Weights past K are zero (their inputs need not be). */
#define DSP_WBUF_WORDS 1024 /* 4 KB of stack for the repacked weights of one block */
#define DSP_MAX_K 512       /* K such that one quad of outputs fits: ceil(K/4) * 8 words */
#define DSP_BLOCK_MAX 48    /* outputs per block */
#define DSP_MIN_ROWS 4      /* fewer rows than this: repacking costs more than it saves, */
#define DSP_MIN_ROWS_M4 2   /* or this with M a multiple of 4 (no group repacked by bytes) */

typedef struct {
    int32_t k, quads; /* K, ceil(K / 4) */
    int32_t count;    /* outputs in the block, <= DSP_BLOCK_MAX */
    int32_t form;     /* the requantisation form all outputs share, or DSP_RQ_SLOW; DSP_RQ_DOUBLE2:
                         the bias (and the widened rows) doubled */
    uint32_t nzp;     /* (-x_zero_point, -x_zero_point) as int16 lanes (dsp_widen_row) */
    int32_t spare;    /* 1: the rows may be read by whole words past K (dsp_widen_row) */
    uint32_t w[DSP_WBUF_WORDS]; /* [ceil(count/4)][quads][4 outputs][even, odd] int16 pairs */
    const int32_t *shift;       /* the outputs' shifts (the slow form; the rest is in gq) */
    /* per group of 4 outputs: bias 0..3 (doubled for DSP_RQ_DOUBLE2), e 0, e 1, (m, c) 0, (m, c) 1,
     * e 2, e 3, (m, c) 2, (m, c) 3 (dsp_rq's fields), in the order the group's LDMs read them
     * (dsp_row_groups_asm) */
    int32_t gq[DSP_BLOCK_MAX / 4][16];
} dsp_block;

/* Outputs per block for K inputs: a multiple of 4 (at least 4 when K <= DSP_MAX_K). */
CNNC_INLINE int32_t dsp_block_outputs(int32_t k) {
    const int32_t fit = DSP_WBUF_WORDS / (((k + 3) / 4) * 8) * 4;
    return fit < DSP_BLOCK_MAX ? fit : DSP_BLOCK_MAX;
}

CNNC_INLINE int32_t dsp_w_at(const int8_t *w, int32_t k, int32_t m, int32_t kk, int32_t o) {
    return kk < k ? w[(size_t)kk * m + o] : 0;
}

/* Four outputs o..o+3 (all < M) of four whole input rows 4q..4q+3: one word per row;
 * PKHBT pairs the low halves of rows 4q and 4q+2 (bytes w[4q][o], w[4q][o+1], w[4q+2][o],
 * w[4q+2][o+1]) and PKHTB the high halves, whose SXTB16 even and odd bytes are the even
 * words of outputs o, o+1 and o+2, o+3; rows 4q+1 and 4q+3 the same for the odd words
 * (2 PKH and 4 SXTB16 per two rows). */
CNNC_INLINE void dsp_repack_quad(uint32_t *wp, const int8_t *w0, int32_t m) {
    const uint32_t r0 = dsp_load4(w0), r1 = dsp_load4(w0 + m), r2 = dsp_load4(w0 + 2 * (size_t)m),
                   r3 = dsp_load4(w0 + 3 * (size_t)m);
    const uint32_t lo02 = dsp_pkhbt(r0, r2), hi02 = dsp_pkhtb(r2, r0);
    const uint32_t lo13 = dsp_pkhbt(r1, r3), hi13 = dsp_pkhtb(r3, r1);
    wp[0] = (uint32_t)dsp_even(lo02), wp[1] = (uint32_t)dsp_even(lo13); /* output o */
    wp[2] = (uint32_t)dsp_odd(lo02), wp[3] = (uint32_t)dsp_odd(lo13);   /* o + 1 */
    wp[4] = (uint32_t)dsp_even(hi02), wp[5] = (uint32_t)dsp_even(hi13); /* o + 2 */
    wp[6] = (uint32_t)dsp_odd(hi02), wp[7] = (uint32_t)dsp_odd(hi13);   /* o + 3 */
}

/* dsp_repack_quad for quads 0 .. n-1 (n >= 1) of outputs o..o+3 (w0 at w[0][o]) in asm:
 * per quad 4 LDR, 2 ADD, 4 PKH, 8 SXTB16, 4 STRD (gcc's C form stores word by word). At
 * -Os the C form. */
CNNC_INLINE void dsp_repack_quads(uint32_t *wp, const int8_t *w0, int32_t m, int32_t n) {
#if defined(__OPTIMIZE_SIZE__)
    int32_t q;
    for (q = 0; q < n; ++q, wp += 8) dsp_repack_quad(wp, w0 + (size_t)4 * q * m, m);
#else
    const int8_t *w1 = w0 + m;
    const uint32_t *const end = wp + 8 * n;
    uint32_t a, b, c, d, e, t;
    __asm__ __volatile__(
        "1:\n\t"
        "ldr %[a], [%[w0]]\n\t"
        "ldr %[c], [%[w0], %[m], lsl #1]\n\t"
        "ldr %[b], [%[w1]]\n\t"
        "ldr %[d], [%[w1], %[m], lsl #1]\n\t"
        "add %[w0], %[w0], %[m], lsl #2\n\t"
        "add %[w1], %[w1], %[m], lsl #2\n\t"
        "pkhbt %[t], %[a], %[c], lsl #16\n\t"
        "pkhtb %[c], %[c], %[a], asr #16\n\t"
        "pkhbt %[a], %[b], %[d], lsl #16\n\t"
        "pkhtb %[d], %[d], %[b], asr #16\n\t"
        "sxtb16 %[b], %[t]\n\t"
        "sxtb16 %[t], %[t], ror #8\n\t"
        "sxtb16 %[e], %[a]\n\t"
        "sxtb16 %[a], %[a], ror #8\n\t"
        "strd %[b], %[e], [%[wp]], #8\n\t"
        "strd %[t], %[a], [%[wp]], #8\n\t"
        "sxtb16 %[b], %[c]\n\t"
        "sxtb16 %[c], %[c], ror #8\n\t"
        "sxtb16 %[e], %[d]\n\t"
        "sxtb16 %[d], %[d], ror #8\n\t"
        "strd %[b], %[e], [%[wp]], #8\n\t"
        "strd %[c], %[d], [%[wp]], #8\n\t"
        "cmp %[wp], %[end]\n\t"
        "bne 1b"
        : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [e] "=&r"(e), [t] "=&r"(t),
          [w0] "+r"(w0), [w1] "+r"(w1), [wp] "+r"(wp)
        : [m] "r"(m), [end] "r"(end)
        : "memory", "cc");
#endif
}

/* The record of a group of four outputs (dsp_block.gq, read by the asm groups): corr[j]
 * at j; e of outputs 0, 1 at 4, 5 and of 2, 3 at 10, 11; (m, c) of output j at 6 + 2j
 * for j < 2 and 8 + 2j for j >= 2. Outputs from count on get zeros. */
CNNC_INLINE void dsp_gq_fill(int32_t gq[16], const uint32_t *corr, const dsp_rq *rq,
                             int32_t count) {
    int32_t j;
    for (j = 0; j < 4; ++j) {
        const int32_t base = 6 * (j >> 1) + (j & 1), live = j < count;
        gq[j] = live ? (int32_t)corr[j] : 0;
        gq[4 + base] = live ? rq[j].e : 0;
        gq[6 + base + (j & 1)] = live ? rq[j].m : 0;
        gq[7 + base + (j & 1)] = live ? rq[j].c : 0;
    }
}

/* Output j of the block (slots ie, im of its group record gq): its bias, the fast form's (m, c, e)
 * for the layer's rounding from em1 = e - 1 = neg - s (neg: single -2, e = -1 - s; double -1, e =
 * -s), c = 2^(e-1) + zp 2^e = zp2 2^(e-1) with zp2 = 2 zp + 1; *emax keeps the largest e - 1
 * (unsigned) and *mbits the OR of m ^ 2^30 (both top bits clear iff every m lies in [2^30, 2^31)),
 * *bbits the OR of b ^ (b >> 31) (at least max |b| - 1); zeros for j >= count. */
DSP_ALWAYS_INLINE void dsp_param_one(int32_t *gq, int32_t jj, int32_t ie, int32_t im, int32_t j,
                                     int32_t count, const int32_t *bias, const int32_t *mult,
                                     const int32_t *shift, uint32_t neg, uint32_t zp2,
                                     uint32_t *emax, uint32_t *mbits, uint32_t *bbits) {
    uint32_t em1, m;
    int32_t b;
    if (j >= count) {
        gq[jj] = gq[ie] = gq[im] = gq[im + 1] = 0;
        return;
    }
    em1 = neg - (uint32_t)shift[j], m = (uint32_t)mult[j], b = bias[j];
    *emax = em1 > *emax ? em1 : *emax;
    *mbits |= m ^ (1u << 30);
    *bbits |= (uint32_t)(b ^ (b >> 31));
    gq[jj] = b, gq[ie] = (int32_t)(em1 + 1u);
    gq[im] = (int32_t)m, gq[im + 1] = (int32_t)(zp2 << (em1 & 31u));
}

/* The requantisation (the gq records) and the biases of the block's count outputs in
 * one pass: dsp_rq_make's fast forms for the layer's rounding, checked per output (any
 * output outside them makes the block DSP_RQ_SLOW, as dsp_rq_make_n; single: e - 1 < 22,
 * double: e - 1 < 20 and 2^30 <= m); DSP_RQ_DOUBLE2 when every final sum is proved below
 * 2^30 in magnitude: |bias| + 255 * 128 * K < 2^30 (|x - zp| <= 255, |w| <= 128), checked
 * on the OR of b ^ (b >> 31) over the biases (at least max |b| - 1: a bound that refuses
 * at most a few biases near the limit the exact test would take); the biases are then
 * doubled group by group. Outputs from count to the next multiple of 4 get zeros. */
DSP_ALWAYS_INLINE void dsp_block_params(dsp_block *blk, const int32_t *bias, const int32_t *mult,
                                        const int32_t *shift, int32_t count, const dsp_out *out) {
    const int32_t single = out->rounding == CNNC_ROUND_SINGLE;
    const int32_t limit = ((int32_t)1 << 30) - blk->k * 32640;
    const uint32_t zp2 = 2u * (uint32_t)out->zero_point + 1u, neg = single ? ~1u : ~0u;
    int32_t form =
        single ? DSP_RQ_SINGLE : (out->rounding == CNNC_ROUND_DOUBLE ? DSP_RQ_DOUBLE : DSP_RQ_SLOW);
#if defined(__OPTIMIZE_SIZE__)
    static const int8_t slot_e[4] = {4, 5, 10, 11}, slot_m[4] = {6, 8, 12, 14};
#endif
    uint32_t emax = 0, mbits = 0, bbits = 0;
    int32_t g;
    for (g = 0; g < count; g += 4) {
        int32_t *gq = blk->gq[g / 4];
#if defined(__OPTIMIZE_SIZE__)
        int32_t j;
        for (j = 0; j < 4; ++j)
            dsp_param_one(gq, j, slot_e[j], slot_m[j], g + j, count, bias, mult, shift, neg, zp2,
                          &emax, &mbits, &bbits);
#else /* the slots known: stores at fixed offsets */
        dsp_param_one(gq, 0, 4, 6, g, count, bias, mult, shift, neg, zp2, &emax, &mbits, &bbits);
        dsp_param_one(gq, 1, 5, 8, g + 1, count, bias, mult, shift, neg, zp2, &emax, &mbits,
                      &bbits);
        dsp_param_one(gq, 2, 10, 12, g + 2, count, bias, mult, shift, neg, zp2, &emax, &mbits,
                      &bbits);
        dsp_param_one(gq, 3, 11, 14, g + 3, count, bias, mult, shift, neg, zp2, &emax, &mbits,
                      &bbits);
#endif
    }
    if (emax >= (single ? 22u : 20u) || (!single && mbits >= (1u << 30))) form = DSP_RQ_SLOW;
    if (form == DSP_RQ_DOUBLE && bbits < (uint32_t)limit - 1u) {
        form = DSP_RQ_DOUBLE2;
        for (g = 0; g < count; g += 4) { /* the padding slots' zeros stay zero */
            int32_t *gq = blk->gq[g / 4];
            gq[0] *= 2, gq[1] *= 2, gq[2] *= 2, gq[3] *= 2;
        }
    }
    blk->form = form;
    blk->shift = shift;
}

/* Repacks outputs o0 .. o0+count-1 of w[K][M] (their biases and requantisation) into blk.
 * Whole groups of 4 outputs and whole quads of inputs go through dsp_repack_quad; the rest
 * byte by byte. */
CNNC_INLINE void dsp_repack(dsp_block *blk, const int8_t *w, int32_t k, int32_t m, int32_t o0,
                            int32_t count, const int32_t *bias, const int32_t *mult,
                            const int32_t *shift, const dsp_out *out, int32_t x_zero_point) {
    uint32_t *wp = blk->w;
    const int32_t full = k / 4;
    int32_t g, q, j;
    blk->k = k;
    blk->quads = (k + 3) / 4;
    blk->count = count;
    blk->nzp = dsp_pack16(-x_zero_point, -x_zero_point);
    blk->spare = 0;
    dsp_block_params(blk, bias + o0, mult + o0, shift + o0, count, out);
    for (g = 0; g < count; g += 4) {
        q = 0;
        if (g + 4 <= count && full > 0) {
            dsp_repack_quads(wp, w + o0 + g, m, full);
            wp += 8 * full, q = full;
        }
        for (; q < blk->quads; ++q) {
            for (j = 0; j < 4; ++j, wp += 2) {
                const int32_t o = o0 + g + j;
                int32_t w0 = 0, w1 = 0, w2 = 0, w3 = 0;
                if (g + j < count) {
                    w0 = dsp_w_at(w, k, m, 4 * q, o);
                    w1 = dsp_w_at(w, k, m, 4 * q + 1, o);
                    w2 = dsp_w_at(w, k, m, 4 * q + 2, o);
                    w3 = dsp_w_at(w, k, m, 4 * q + 3, o);
                }
                wp[0] = dsp_pack16(w0, w2);
                wp[1] = dsp_pack16(w1, w3);
            }
        }
    }
}

/* Input quad q as SXTB16 lanes (xe, xo) = words 2q, 2q+1 of xw, into 4 outputs: 8 SMLADs on
 * the weight words i0 .. i7 of wp. */
#define DSP_QUADW(xe, xo, wp, i0, i1, i2, i3, i4, i5, i6, i7)                                \
    do {                                                                                     \
        uint32_t we_, wo_;                                                                   \
        DSP_LOAD2W(wp, i0, we_, wo_);                                                        \
        a0 = __smlad((int32_t)(xo), (int32_t)wo_, __smlad((int32_t)(xe), (int32_t)we_, a0)); \
        DSP_LOAD2W(wp, i2, we_, wo_);                                                        \
        a1 = __smlad((int32_t)(xo), (int32_t)wo_, __smlad((int32_t)(xe), (int32_t)we_, a1)); \
        DSP_LOAD2W(wp, i4, we_, wo_);                                                        \
        a2 = __smlad((int32_t)(xo), (int32_t)wo_, __smlad((int32_t)(xe), (int32_t)we_, a2)); \
        DSP_LOAD2W(wp, i6, we_, wo_);                                                        \
        a3 = __smlad((int32_t)(xo), (int32_t)wo_, __smlad((int32_t)(xe), (int32_t)we_, a3)); \
    } while (0)

/* SXTAB16 Rd, Rn, Rm, ROR #r: Rd = Rn + (the lanes SXTB16 makes of Rm), per int16 lane. */
CNNC_INLINE uint32_t dsp_even_add(uint32_t n, uint32_t v) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(n), "r"(v));
    return r;
}
CNNC_INLINE uint32_t dsp_odd_add(uint32_t n, uint32_t v) {
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(n), "r"(v));
    return r;
}

/* Two input quads at *x (any alignment) widened into the words *wq .. *wq + 3 as
 * dsp_widen_row does, moving both pointers on: 2 LDR, 4 SXTAB16 (4 SADD16 doubled), 2 STRD
 * (gcc's C form stores word by word). Volatile: its stores are its purpose, and gcc drops
 * a plain asm whose outputs go unused. */
DSP_ALWAYS_INLINE void dsp_widen_pair(const int8_t **x, uint32_t **wq, uint32_t nzp, int dbl) {
    const int8_t *xp = *x;
    uint32_t *wp = *wq, v0, v1, e0, e1;
    if (dbl)
        __asm__ __volatile__(
            "ldr %[v0], [%[x]], #4\n\t"
            "ldr %[v1], [%[x]], #4\n\t"
            "sxtab16 %[e0], %[n], %[v0]\n\t"
            "sxtab16 %[v0], %[n], %[v0], ror #8\n\t"
            "sxtab16 %[e1], %[n], %[v1]\n\t"
            "sxtab16 %[v1], %[n], %[v1], ror #8\n\t"
            "sadd16 %[e0], %[e0], %[e0]\n\t"
            "sadd16 %[v0], %[v0], %[v0]\n\t"
            "sadd16 %[e1], %[e1], %[e1]\n\t"
            "sadd16 %[v1], %[v1], %[v1]\n\t"
            "strd %[e0], %[v0], [%[wq]], #8\n\t"
            "strd %[e1], %[v1], [%[wq]], #8"
            : [v0] "=&r"(v0), [v1] "=&r"(v1), [e0] "=&r"(e0), [e1] "=&r"(e1), [x] "+r"(xp),
              [wq] "+r"(wp)
            : [n] "r"(nzp)
            : "memory");
    else
        __asm__ __volatile__(
            "ldr %[v0], [%[x]], #4\n\t"
            "ldr %[v1], [%[x]], #4\n\t"
            "sxtab16 %[e0], %[n], %[v0]\n\t"
            "sxtab16 %[v0], %[n], %[v0], ror #8\n\t"
            "sxtab16 %[e1], %[n], %[v1]\n\t"
            "sxtab16 %[v1], %[n], %[v1], ror #8\n\t"
            "strd %[e0], %[v0], [%[wq]], #8\n\t"
            "strd %[e1], %[v1], [%[wq]], #8"
            : [v0] "=&r"(v0), [v1] "=&r"(v1), [e0] "=&r"(e0), [e1] "=&r"(e1), [x] "+r"(xp),
              [wq] "+r"(wp)
            : [n] "r"(nzp)
            : "memory");
    *x = xp, *wq = wp;
}

/* One input quad at x widened into xw[0], xw[1] (dsp_widen_row's form). */
DSP_ALWAYS_INLINE void dsp_widen_one(const int8_t *x, uint32_t *xw, uint32_t nzp, int dbl) {
    const uint32_t v = dsp_load4(x);
    uint32_t e = dsp_even_add(nzp, v), o = dsp_odd_add(nzp, v);
    if (dbl)
        e = (uint32_t)__sadd16((int32_t)e, (int32_t)e),
        o = (uint32_t)__sadd16((int32_t)o, (int32_t)o);
    xw[0] = e, xw[1] = o;
}

#if !defined(__OPTIMIZE_SIZE__)
/* Quad q of the row at x (LDR: any alignment) doubled-widened into registers e, o
 * (dsp_widen_pair's form with dbl). */
/* clang-format off */
#define DSP_ASM_WIDEN2(q, e, o)                            \
    "ldr %[" e "], [%[x], #" #q "*4]\n\t"                  \
    "sxtab16 %[" o "], %[n], %[" e "], ror #8\n\t"        \
    "sxtab16 %[" e "], %[n], %[" e "]\n\t"                \
    "sadd16 %[" e "], %[" e "], %[" e "]\n\t"             \
    "sadd16 %[" o "], %[" o "], %[" o "]\n\t"
/* clang-format on */

/* dsp_widen_quads doubled for nq = 2, 3 or 4 in one statement: the row's words in the
 * ascending registers r0..r7 that one STM writes (per quad LDR, 2 SXTAB16, 2 SADD16; one
 * STM: gcc's form looped over pairs of quads and stored by STRDs). */
DSP_ALWAYS_INLINE void dsp_widen_quads2(const int8_t *xr, uint32_t *xwr, uint32_t nzpr,
                                        int32_t nq) {
    register const int8_t *x __asm__("r8") = xr;
    register uint32_t *xw __asm__("r9") = xwr;
    register uint32_t nzp __asm__("r10") = nzpr;
    register uint32_t e0 __asm__("r0"), o0 __asm__("r1"), e1 __asm__("r2"), o1 __asm__("r3");
    register uint32_t e2 __asm__("r4"), o2 __asm__("r5"), e3 __asm__("r6"), o3 __asm__("r7");
    if (nq == 2)
        __asm__ __volatile__(DSP_ASM_WIDEN2(0, "e0", "o0") DSP_ASM_WIDEN2(
                                 1, "e1", "o1") "stm %[xw], {%[e0], %[o0], %[e1], %[o1]}"
                             : [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1)
                             : [x] "r"(x), [n] "r"(nzp), [xw] "r"(xw)
                             : "memory");
    else if (nq == 3)
        __asm__ __volatile__(
            DSP_ASM_WIDEN2(0, "e0", "o0") DSP_ASM_WIDEN2(1, "e1", "o1") DSP_ASM_WIDEN2(
                2, "e2", "o2") "stm %[xw], {%[e0], %[o0], %[e1], %[o1], %[e2], %[o2]}"
            : [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1), [e2] "=&r"(e2),
              [o2] "=&r"(o2)
            : [x] "r"(x), [n] "r"(nzp), [xw] "r"(xw)
            : "memory");
    else
        __asm__ __volatile__(
            DSP_ASM_WIDEN2(0, "e0", "o0") DSP_ASM_WIDEN2(1, "e1", "o1") DSP_ASM_WIDEN2(
                2, "e2", "o2") DSP_ASM_WIDEN2(3, "e3", "o3") "stm %[xw], {%[e0], %[o0], %[e1], "
                                                             "%[o1], %[e2], %[o2], %[e3], %[o3]}"
            : [e0] "=&r"(e0), [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1), [e2] "=&r"(e2),
              [o2] "=&r"(o2), [e3] "=&r"(e3), [o3] "=&r"(o3)
            : [x] "r"(x), [n] "r"(nzp), [xw] "r"(xw)
            : "memory");
    (void)e0, (void)o0, (void)e1, (void)o1, (void)e2, (void)o2, (void)e3, (void)o3;
}
#endif

/* Row x[4 nq] (nq known where inlined: no loop, no rest) widened into xw[2 nq]. */
DSP_ALWAYS_INLINE void dsp_widen_quads(const int8_t *x, uint32_t *xw, uint32_t nzp, int dbl,
                                       int32_t nq) {
    int32_t q;
#if !defined(__OPTIMIZE_SIZE__)
    if (dbl && (nq == 2 || nq == 3 || nq == 4)) {
        dsp_widen_quads2(x, xw, nzp, nq);
        return;
    }
#endif
    for (q = 0; q + 2 <= nq; q += 2) dsp_widen_pair(&x, &xw, nzp, dbl);
    if (nq & 1) dsp_widen_one(x, xw, nzp, dbl);
}

/* Row x[K] widened into xw[2 * quads] (word aligned): per input quad the even and odd
 * lanes of x - zp (SXTAB16 onto nzp = (-zp, -zp)), doubled for DSP_RQ_DOUBLE2 (SADD16,
 * exact: |2 (x_k - zp)| <= 510), pairs of quads in asm (dsp_widen_pair); the K mod 4
 * inputs past the last whole quad with zero bytes above (their weights are zero; a
 * block's spare rows are widened whole, the bytes past K whatever they hold). */
DSP_ALWAYS_INLINE void dsp_widen_row(const int8_t *x, int32_t k, uint32_t *xw, uint32_t nzp,
                                     int dbl) {
    const int32_t rest = k & 3;
    int32_t q = k / 4 & ~1;
    uint32_t *wq = xw;
    const uint32_t *const wend = xw + 2 * q;
    while (wq < wend) dsp_widen_pair(&x, &wq, nzp, dbl);
    x -= 4 * q;
    for (; q < k / 4; ++q) dsp_widen_one(x + 4 * q, xw + 2 * q, nzp, dbl);
    if (rest) {
        const int8_t *end = x + 4 * q;
        uint32_t v = (uint32_t)(uint8_t)end[0], e, o;
        if (rest > 1) v |= (uint32_t)(uint8_t)end[1] << 8;
        if (rest > 2) v |= (uint32_t)(uint8_t)end[2] << 16;
        e = dsp_even_add(nzp, v), o = dsp_odd_add(nzp, v);
        if (dbl)
            e = (uint32_t)__sadd16((int32_t)e, (int32_t)e),
            o = (uint32_t)__sadd16((int32_t)o, (int32_t)o);
        xw[2 * q] = e;
        xw[2 * q + 1] = o;
    }
}

/* The slow form of multiplier m, shift s (dsp_rq_slow's). */
static __attribute__((noinline, unused)) int8_t dsp_gq_slow(int32_t acc, int32_t m, int32_t s,
                                                            const dsp_out *o) {
    return cnnc_requant_s8(acc, m, s, o->rounding, o->zero_point, o->act_min, o->act_max);
}

/* y[0..3] from the sums a0..a3 of a group (dsp_block's gq record) for a form and clamp
 * known where inlined (the C form of dsp_row_groups_asm, for the other clamps). */
#define DSP_GQ_STORE4(gq, sh, y, out, form, full)                           \
    do {                                                                    \
        if ((form) == DSP_RQ_SLOW) {                                        \
            y[0] = dsp_gq_slow(a0, (int32_t)gq[6], (sh)[0], out);           \
            y[1] = dsp_gq_slow(a1, (int32_t)gq[8], (sh)[1], out);           \
            y[2] = dsp_gq_slow(a2, (int32_t)gq[12], (sh)[2], out);          \
            y[3] = dsp_gq_slow(a3, (int32_t)gq[14], (sh)[3], out);          \
        } else {                                                            \
            y[0] = dsp_gq_one(a0, gq[6], gq[7], gq[4], out, form, full);    \
            y[1] = dsp_gq_one(a1, gq[8], gq[9], gq[5], out, form, full);    \
            y[2] = dsp_gq_one(a2, gq[12], gq[13], gq[10], out, form, full); \
            y[3] = dsp_gq_one(a3, gq[14], gq[15], gq[11], out, form, full); \
        }                                                                   \
    } while (0)

/* dsp_requant_as on a fast form's m, c, e (dsp_rq's fields). */
DSP_ALWAYS_INLINE int8_t dsp_gq_one(int32_t acc, uint32_t m, uint32_t c, uint32_t e,
                                    const dsp_out *o, int32_t form, int full) {
    int32_t v;
    if (form == DSP_RQ_DOUBLE2)
        v = dsp_smmlar(acc, (int32_t)m, (int32_t)c + (acc >> 31)) >> e;
    else if (form == DSP_RQ_DOUBLE)
        v = dsp_smmlar(__qadd(acc, acc), (int32_t)m, (int32_t)c + (acc >> 31)) >> e;
    else
        v = dsp_smmla(acc, (int32_t)m, (int32_t)c) >> e;
    if (full) return (int8_t)__ssat(v, 8);
    return dsp_clamp(v, o);
}

/* ---------------------------------------------------------------------------------
 * The GEMM row's groups in asm (gcc's allocation of the C form spills and recomputes
 * stack addresses around the loads). Per group of 4 outputs: LDM of the record's corr
 * into the accumulators a0..a3 (r0..r3); per input quad, LDRD of the widened row's
 * (xe, xo) and two LDMs of the group's weight words, (even, odd) of outputs 0, 1 and of
 * 2, 3, into w0..w3 (r8..r11), 8 SMLADs; then per pair of outputs one LDM of their
 * (e, e', m, c, m', c') into xe, xo (r4, r5) and w0..w3, and per output the fast form's
 * requantisation, SSAT #8 (the full clamp) and STRB with post-increment. The LDMs fix the
 * registers (a register list loads in ascending order), bound by local register variables;
 * the pointers wp, xp, gq, y take registers gcc leaves. */
/* clang-format off */
#define DSP_ASM_QUAD(xoff)                                 \
    "ldrd %[xe], %[xo], [%[xp], #" xoff "]\n\t"           \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"        \
    "smlad %[a0], %[xe], %[w0], %[a0]\n\t"                \
    "smlad %[a0], %[xo], %[w1], %[a0]\n\t"                \
    "smlad %[a1], %[xe], %[w2], %[a1]\n\t"                \
    "smlad %[a1], %[xo], %[w3], %[a1]\n\t"                \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"        \
    "smlad %[a2], %[xe], %[w0], %[a2]\n\t"                \
    "smlad %[a2], %[xo], %[w1], %[a2]\n\t"                \
    "smlad %[a3], %[xe], %[w2], %[a3]\n\t"                \
    "smlad %[a3], %[xo], %[w3], %[a3]\n\t"

/* Output a with (m, c) in registers m, c and the shift in e. DOUBLE2: c += a >> 31,
 * a = SMMLAR(a, m, c); DOUBLE: the same on QADD(a, a); SINGLE: a = SMMLA(a, m, c). Then
 * a >> e, SSAT #8, STRB. */
#define DSP_ASM_RQ_DOUBLE2(a, m, c, e)                     \
    "add %[" c "], %[" c "], %[" a "], asr #31\n\t"        \
    "smmlar %[" a "], %[" a "], %[" m "], %[" c "]\n\t"    \
    "asr %[" a "], %[" a "], %[" e "]\n\t"                 \
    "ssat %[" a "], #8, %[" a "]\n\t"                      \
    "strb %[" a "], [%[y]], #1\n\t"
#define DSP_ASM_RQ_DOUBLE2Z(a, m, c, e)                    \
    "smmlar %[" a "], %[" a "], %[" m "], %[" c "]\n\t"    \
    "asr %[" a "], %[" a "], %[" e "]\n\t"                 \
    "ssat %[" a "], #8, %[" a "]\n\t"                      \
    "strb %[" a "], [%[y]], #1\n\t"
#define DSP_ASM_RQ_DOUBLE(a, m, c, e)                      \
    "add %[" c "], %[" c "], %[" a "], asr #31\n\t"        \
    "qadd %[" a "], %[" a "], %[" a "]\n\t"                \
    "smmlar %[" a "], %[" a "], %[" m "], %[" c "]\n\t"    \
    "asr %[" a "], %[" a "], %[" e "]\n\t"                 \
    "ssat %[" a "], #8, %[" a "]\n\t"                      \
    "strb %[" a "], [%[y]], #1\n\t"
#define DSP_ASM_RQ_SINGLE(a, m, c, e)                      \
    "smmla %[" a "], %[" a "], %[" m "], %[" c "]\n\t"     \
    "asr %[" a "], %[" a "], %[" e "]\n\t"                 \
    "ssat %[" a "], #8, %[" a "]\n\t"                      \
    "strb %[" a "], [%[y]], #1\n\t"
#define DSP_ASM_STORE4(RQ)                                         \
    "ldm %[gq]!, {%[xe], %[xo], %[w0], %[w1], %[w2], %[w3]}\n\t"   \
    RQ("a0", "w0", "w1", "xe") RQ("a1", "w2", "w3", "xo")          \
    "ldm %[gq]!, {%[xe], %[xo], %[w0], %[w1], %[w2], %[w3]}\n\t"   \
    RQ("a2", "w0", "w1", "xe") RQ("a3", "w2", "w3", "xo")
/* clang-format on */

/* The three steps of a group as separate statements (one statement holding all of them
 * would need 15 registers with the pointers), the accumulators carried between them in
 * their registers. */
#define DSP_ASM_ACC_INIT()                                                          \
    __asm__ __volatile__(                                                           \
        "ldm %[gq]!, {%[a0], %[a1], %[a2], %[a3]}"                                  \
        : [a0] "=r"(a0), [a1] "=r"(a1), [a2] "=r"(a2), [a3] "=r"(a3), [gq] "+r"(gq) \
        :                                                                           \
        : "memory")
#define DSP_ASM_QUAD_AT(xoff)                                                              \
    __asm__ __volatile__(DSP_ASM_QUAD(xoff)                                                \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [wp] "+r"(wp)                   \
                         : [xp] "r"(xp)                                                    \
                         : "memory")
#define DSP_ASM_STORE(RQ)                                                                  \
    __asm__ __volatile__(DSP_ASM_STORE4(RQ)                                                \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [gq] "+r"(gq), [y] "+r"(y)      \
                         :                                                                 \
                         : "memory")
/* STMT(RQ<form>) for the requantisation form FORM (RQ: a macro prefix ending in _, e.g.
 * DSP_ASM_RQ_ for DSP_ASM_RQ_DOUBLE2 / DSP_ASM_RQ_DOUBLE / DSP_ASM_RQ_SINGLE). */
#define DSP_ASM_BY_FORM(FORM, STMT, RQ) \
    if ((FORM) == DSP_RQ_DOUBLE2)       \
        STMT(RQ##DOUBLE2);              \
    else if ((FORM) == DSP_RQ_DOUBLE)   \
        STMT(RQ##DOUBLE);               \
    else                                \
        STMT(RQ##SINGLE)

#if !defined(__OPTIMIZE_SIZE__)
/* The groups of dsp_row_groups_asm with nq = 2, 3 or 4 quads written out, all in one asm
 * statement: the three statements' form lets gcc spill and reload the record pointer
 * around them (4 instructions a group at K = 8). The loop's 14 registers are the 10 fixed
 * ones, wp, gq, y and the row xp; its end, the record pointer past the last group, waits
 * in the word past the row (xw[2 nq], which the caller writes once per block: the widened
 * rows stop before it), read into w0 once the group is stored (1 LDR a group). count4 >= 4. */
#define DSP_ASM_GROUPS1(NQ, QUADS, RQ) \
    __asm__ __volatile__("1:\n\t"                                                             \
                         "ldm %[gq]!, {%[a0], %[a1], %[a2], %[a3]}\n\t" QUADS DSP_ASM_STORE4( \
                             RQ) "ldr %[w0], [%[xp], %[gend]]\n\t"                                      \
                                 "cmp %[gq], %[w0]\n\t"                                         \
                                 "blo 1b"                                                      \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1),     \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [wp] "+r"(wp), [gq] "+r"(gq),       \
                           [y] "+r"(y)                                                         \
                         : [xp] "r"(xp), [gend] "I"(8 * (NQ))                                  \
                         : "memory", "cc")
#define DSP_ASM_QUADS2 DSP_ASM_QUAD("0") DSP_ASM_QUAD("8")
#define DSP_ASM_QUADS3 DSP_ASM_QUADS2 DSP_ASM_QUAD("16")
#define DSP_ASM_QUADS4 DSP_ASM_QUADS3 DSP_ASM_QUAD("24")
#define DSP_ASM_GROUPS1_BY_FORM(FORM, NQ)                            \
    if ((FORM) == DSP_RQ_DOUBLE2Z)                                   \
        DSP_ASM_GROUPS1(NQ, DSP_ASM_QUADS##NQ, DSP_ASM_RQ_DOUBLE2Z); \
    else if ((FORM) == DSP_RQ_DOUBLE2)                               \
        DSP_ASM_GROUPS1(NQ, DSP_ASM_QUADS##NQ, DSP_ASM_RQ_DOUBLE2);  \
    else if ((FORM) == DSP_RQ_DOUBLE)                                \
        DSP_ASM_GROUPS1(NQ, DSP_ASM_QUADS##NQ, DSP_ASM_RQ_DOUBLE);   \
    else                                                             \
        DSP_ASM_GROUPS1(NQ, DSP_ASM_QUADS##NQ, DSP_ASM_RQ_SINGLE)

/* dsp_row_groups_asm's written-out quads (nq = 2, 3 or 4) in one statement (DSP_ASM_GROUPS1);
 * xw[2 nq] holds the record pointer past the last group (dsp_block_rows_as). */
DSP_ALWAYS_INLINE void dsp_row_groups1(const uint32_t **wpp, const uint32_t **gqp, int8_t **yp,
                                       const uint32_t *xw, int32_t form, int32_t nq) {
    register const uint32_t *wp __asm__("r6") = *wpp;
    register const uint32_t *gq __asm__("r7") = *gqp;
    register const uint32_t *xp __asm__("lr") = xw;
    register int8_t *y __asm__("r12") = *yp;
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register uint32_t xe __asm__("r4"), xo __asm__("r5");
    register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
    if (nq == 2) {
        DSP_ASM_GROUPS1_BY_FORM(form, 2);
    } else if (nq == 3) {
        DSP_ASM_GROUPS1_BY_FORM(form, 3);
    } else {
        DSP_ASM_GROUPS1_BY_FORM(form, 4);
    }
    (void)a0, (void)a1, (void)a2, (void)a3, (void)xe, (void)xo, (void)w0, (void)w1, (void)w2,
        (void)w3;
    *wpp = wp, *gqp = gq, *yp = y;
}
#endif

/* Whole groups of a row (count4 outputs) for a fast form with the full clamp; moves
 * *wpp, *gqp, *yp past them. nq = 2, 3 or 4: that many quads written out (dsp_row_groups1,
 * not at -Os); 0: quads, looped (four a turn when their count allows, not at -Os). */
DSP_ALWAYS_INLINE void dsp_row_groups_asm(const uint32_t **wpp, const uint32_t **gqp, int8_t **yp,
                                          const uint32_t *xw, int32_t count4, int32_t quads,
                                          int32_t form, int32_t nq) {
    const uint32_t *wp = *wpp, *gq = *gqp;
    int8_t *y = *yp, *const yend = *yp + count4;
#if !defined(__OPTIMIZE_SIZE__)
    if (nq == 2 || nq == 3 || nq == 4) { /* the loop below then serves -Os alone (nq = 0) */
        if (count4 >= 4) dsp_row_groups1(wpp, gqp, yp, xw, form, nq);
        return;
    }
#else
    (void)nq;
#endif
    while (y < yend) {
        register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
        register uint32_t xe __asm__("r4"), xo __asm__("r5");
        register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
        DSP_ASM_ACC_INIT();
        {
            const uint32_t *xp = xw, *const xend = xw + 2 * (quads & ~1);
#if !defined(__OPTIMIZE_SIZE__)
            if (!(quads & 3)) { /* four quads a turn (at least one turn): the loop's 3
                                   instructions per 4 quads */
                do {
                    DSP_ASM_QUAD_AT("0");
                    DSP_ASM_QUAD_AT("8");
                    DSP_ASM_QUAD_AT("16");
                    DSP_ASM_QUAD_AT("24");
                    xp += 8;
                } while (xp < xend);
            } else
#endif
            {
                for (; xp < xend; xp += 4) {
                    DSP_ASM_QUAD_AT("0");
                    DSP_ASM_QUAD_AT("8");
                }
                if (quads & 1) DSP_ASM_QUAD_AT("0");
            }
        }
#if !defined(__OPTIMIZE_SIZE__)
        if (form == DSP_RQ_DOUBLE2Z)
            DSP_ASM_STORE(DSP_ASM_RQ_DOUBLE2Z);
        else
#endif
            DSP_ASM_BY_FORM(form, DSP_ASM_STORE, DSP_ASM_RQ_);
    }
    *wpp = wp, *gqp = gq, *yp = y;
}

/* n rows x[K] (x_stride apart) through the whole block, for a requantisation form and
 * clamp known where it is inlined: y[j] for j < blk->count (rows y_stride apart). Each row
 * is widened once into xw (dsp_widen_row); then the whole groups of 4 outputs run in asm
 * for the fast forms with the full clamp (dsp_row_groups_asm; nq = 2 or 4: that many quads
 * written out, 0: any; form DSP_RQ_DOUBLE2Z: theirs without the sign's term) and in C
 * otherwise; the last count mod 4 outputs in C. */
DSP_ALWAYS_INLINE void dsp_block_rows_as(const dsp_block *blk, const int8_t *x, size_t x_stride,
                                         int32_t n, const dsp_out *out, int8_t *y, size_t y_stride,
                                         int32_t form, int full, int32_t nq) {
    const int32_t quads = nq ? nq : blk->quads, count = blk->count, count4 = count & ~3;
    const int32_t kw = blk->spare ? 4 * blk->quads : blk->k; /* inputs widened per row */
    const uint32_t nzp = blk->nzp;
#if defined(__OPTIMIZE_SIZE__)
    uint32_t xw[2 * (DSP_MAX_K / 4)]; /* [quads][even, odd] */
#else
    uint32_t xw[2 * (DSP_MAX_K / 4) + 1]; /* [quads][even, odd], and dsp_row_groups1's end */
#endif
    /* the block's form (DSP_RQ_DOUBLE2Z only chooses the asm groups' requantisation) */
    const int32_t rq = form == DSP_RQ_DOUBLE2Z ? DSP_RQ_DOUBLE2 : form;
    int32_t r, g, j, q;
#if !defined(__OPTIMIZE_SIZE__)
    if (nq) /* the end of the groups' records for dsp_row_groups1, past the widened row */
        xw[2 * nq] = (uint32_t)(uintptr_t)((const uint32_t *)blk->gq[0] + 4 * count4);
    if (nq && kw == 4 * nq && count4 == count && full && form != DSP_RQ_SLOW) {
        /* the quads written out, whole groups, the asm groups: a row loop of few live values
           (every register but four holds the groups, so each value is reloaded per row) */
        const int8_t *const xend = x + (size_t)n * x_stride;
        for (; x < xend; x += x_stride, y += y_stride) {
            const uint32_t *wp = blk->w, *gq = (const uint32_t *)blk->gq[0];
            int8_t *yr = y;
            dsp_widen_quads(x, xw, blk->nzp, rq == DSP_RQ_DOUBLE2, nq);
            dsp_row_groups_asm(&wp, &gq, &yr, xw, count4, quads, form, nq);
        }
        return;
    }
#endif
    for (r = 0; r < n; ++r, x += x_stride, y += y_stride) {
        const uint32_t *wp = blk->w, *gq = (const uint32_t *)blk->gq[0]; /* group record */
        int8_t *yr = y;
        if (nq && kw == 4 * nq) /* the written-out quads, nothing past them */
            dsp_widen_quads(x, xw, nzp, rq == DSP_RQ_DOUBLE2, nq);
        else
            dsp_widen_row(x, kw, xw, nzp, rq == DSP_RQ_DOUBLE2);
        if (full && form != DSP_RQ_SLOW) {
            dsp_row_groups_asm(&wp, &gq, &yr, xw, count4, quads, form, nq);
        } else {
            const int32_t *sh = blk->shift;
            for (g = 0; g < count4; g += 4, yr += 4, sh += 4, gq += 16) {
                int32_t a0 = (int32_t)gq[0], a1 = (int32_t)gq[1], a2 = (int32_t)gq[2],
                        a3 = (int32_t)gq[3];
                for (q = 0; q < quads; ++q, wp += 8)
                    DSP_QUADW(xw[2 * q], xw[2 * q + 1], wp, 0, 1, 2, 3, 4, 5, 6, 7);
                DSP_GQ_STORE4(gq, sh, yr, out, rq, full);
            }
        }
        if (count4 < count) { /* the last 1 to 3 outputs (their padding weights are zero) */
            int32_t a0 = (int32_t)gq[0], a1 = (int32_t)gq[1], a2 = (int32_t)gq[2],
                    a3 = (int32_t)gq[3], accs[4];
            for (q = 0; q < quads; ++q, wp += 8)
                DSP_QUADW(xw[2 * q], xw[2 * q + 1], wp, 0, 1, 2, 3, 4, 5, 6, 7);
            accs[0] = a0, accs[1] = a1, accs[2] = a2, accs[3] = a3;
            for (j = 0; count4 + j < count; ++j) { /* the record's slots (dsp_param_one) */
                const int32_t base = 6 * (j >> 1) + 2 * (j & 1);
                dsp_rq q;
                q.m = (int32_t)gq[6 + base], q.c = (int32_t)gq[7 + base];
                q.e = (int32_t)gq[4 + base - (j & 1)], q.s = blk->shift[count4 + j];
                yr[j] = dsp_requant(accs[j], rq, &q, out);
            }
        }
    }
}

/* n rows x[r * x_stride][K] through the whole block: y[r * y_stride + o0 + j] for
 * j < blk->count (s8_dense_dsp.c: one copy for the dense, pointwise and general conv). */
void cnnc_s8_dsp_block_rows(const dsp_block *blk, const int8_t *x, size_t x_stride, int32_t n,
                            int32_t o0, const dsp_out *out, int8_t *y, size_t y_stride);

#endif /* CNNC_M_DSP */
#endif /* CNNC_S8_DSP_H */
