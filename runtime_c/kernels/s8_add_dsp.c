/* Cortex-M DSP variant of the int8 elementwise add, bit-exact to cnnc_s8_add__ref for the
 * double rounding (the default; the other roundings, and parameters outside the ranges
 * below, run __ref).
 *
 * __ref computes a' = requant_double((a - a_zp) << ls, a_mult, a_shift), b' likewise, and
 * y = clamp(requant_double(a' + b', y_mult, y_shift) + y_zp). Here, with x = (a - a_zp) << ls
 * (|a - a_zp| <= 255 and ls <= 21: |2x| < 2^30, no overflow):
 *   h = SMMULR(2x, m) = floor((2x m + 2^31) / 2^32) = floor((x m + 2^30) / 2^31), which is
 *     the reference's high multiply (s8_dsp.h, DSP_RQ_DOUBLE; no saturation: |2x| < 2^30);
 *   a shift s <= 0 is a right shift e = -s (0..30): for e >= 1 the rounding divide by 2^e
 *     with ties away from zero is (h + 2^(e-1) - [h < 0]) >> e, for e = 0 it is h itself:
 *     one form, (h + r - (k & [h < 0])) >> e with r = 2^(e-1), k = 1 (e >= 1) or r = k = 0.
 * |a'|, |b'| <= |x| < 2^29, so a' + b' is the reference's int32 sum, and the output's
 * requantisation is s8_dsp.h's DSP_RQ_DOUBLE form (dsp_rq_make: multiplier >= 2^30, shift
 * -20..-1), which adds the zero point and clamps. Where one input's multiplier is 1/2
 * (the TFLite scheme's larger input) its a' needs no rounding and the other's comes from a
 * table or a buffer (dsp_add_half_full, below; full clamp, not at -Os): 8.25 instructions an
 * element, the digits model's adds 31,414 -> 15,200 -> 14,8xx instructions (bench_mcu --layers).
 * Compiled when the build targets the DSP extension (CNNC_M_DSP, cnnc_cpu.h); empty
 * otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
/* The M = 1/2 path's test of a call's params (the model's calls' at compile time too). */
#define DSP_ADD_HALF_A(p) ((p).a_mult == (1 << 30) && (p).a_shift == 0)
#define DSP_ADD_HALF_B(p) ((p).b_mult == (1 << 30) && (p).b_shift == 0)
#define DSP_ADD_HALF(p)                                                                  \
    ((p).rounding == CNNC_ROUND_DOUBLE && (p).left_shift >= 1 && (p).left_shift <= 21 && \
     (p).act_min == -128 && (p).act_max == 127 && (DSP_ADD_HALF_A(p) || DSP_ADD_HALF_B(p)))
/* The paths below it only a model's calls can take (cnnc_model_calls.h), each macro a test
 * of a call's params p: HALF_OK, the calls the M = 1/2 path takes (its other input's and y's
 * scalings of the fast forms, dsp_add_in_make and dsp_rq_make); then its loops by the
 * elements (SCALED: dsp_add_half_scaled's buffer, else the table's), the shift e of y (E19,
 * E18, E20: written out, else the loop of any e) and the four-element tail (T4: n mod 8 >= 4,
 * else the one-element loop's): each falls through to a loop of the same bits. */
#define DSP_ADD_O_SHIFT(p) (DSP_ADD_HALF_A(p) ? (p).b_shift : (p).a_shift)
#define DSP_ADD_O_MULT(p) (DSP_ADD_HALF_A(p) ? (p).b_mult : (p).a_mult)
#define DSP_ADD_Y_DOUBLE(p) ((p).y_mult >= (1 << 30) && (p).y_shift <= -1 && (p).y_shift >= -20)
#define DSP_ADD_HALF_OK(p)                                                      \
    (DSP_ADD_HALF(p) && DSP_ADD_O_SHIFT(p) <= 0 && DSP_ADD_O_SHIFT(p) >= -30 && \
     DSP_ADD_O_MULT(p) >= 0 && DSP_ADD_Y_DOUBLE(p))
#define DSP_ADD_IS_SCALED(p) ((p).size < DSP_ADD_HALF_TABLE_MIN && DSP_ADD_O_SHIFT(p) <= -1)
#define DSP_ADD_SCALED(p) (DSP_ADD_HALF_OK(p) && DSP_ADD_IS_SCALED(p))
#define DSP_ADD_TABLE(p) (DSP_ADD_HALF_OK(p) && !DSP_ADD_IS_SCALED(p))
#define DSP_ADD_SCALED_E19(p) (DSP_ADD_SCALED(p) && (p).size >= 8 && (p).y_shift == -19)
#define DSP_ADD_SCALED_E18(p) (DSP_ADD_SCALED(p) && (p).size >= 8 && (p).y_shift == -18)
#define DSP_ADD_SCALED_E20(p) (DSP_ADD_SCALED(p) && (p).size >= 8 && (p).y_shift == -20)
#define DSP_ADD_SCALED_T4(p) (DSP_ADD_SCALED(p) && ((p).size & 4))
#define DSP_ADD_TABLE_E19(p) (DSP_ADD_TABLE(p) && (p).size >= 8 && (p).y_shift == -19)
#define DSP_ADD_TABLE_E18(p) (DSP_ADD_TABLE(p) && (p).size >= 8 && (p).y_shift == -18)
#define DSP_ADD_TABLE_E20(p) (DSP_ADD_TABLE(p) && (p).size >= 8 && (p).y_shift == -20)
#define DSP_ADD_TABLE_T4(p) (DSP_ADD_TABLE(p) && ((p).size & 4))
#define DSP_ADD_BUILT(V, N) CNNC_MODEL_CALLS(s8_add, DSP_ADD_##V##_##N)
/* The general paths' calls (dsp_add_other: every call the M = 1/2 path does not take) and
 * their fast loops (the tables from DSP_ADD_LUT_MIN elements, the full clamp's SSAT). */
#define DSP_ADD_OTHER(p) (!DSP_ADD_HALF_OK(p))
#define DSP_ADD_FULL_(p) ((p).act_min == -128 && (p).act_max == 127)
#define DSP_ADD_LUT_FULL(p) (DSP_ADD_OTHER(p) && (p).size >= DSP_ADD_LUT_MIN && DSP_ADD_FULL_(p))
#define DSP_ADD_LUT_CLAMP(p) (DSP_ADD_OTHER(p) && (p).size >= DSP_ADD_LUT_MIN && !DSP_ADD_FULL_(p))
#define DSP_ADD_LOOP_FULL(p) (DSP_ADD_OTHER(p) && DSP_ADD_FULL_(p))

/* One input's scaling: 2x = (v << (ls + 1)) - zp2, then the rounding right shift. */
typedef struct {
    int32_t zp2, m, r, k, e;
} dsp_add_in;

static int dsp_add_in_make(dsp_add_in *q, int32_t zero_point, int32_t left_shift, int32_t m,
                           int32_t s) {
    if (s > 0 || s < -30 || m < 0) return 0;
    q->zp2 = (int32_t)((uint32_t)zero_point << (left_shift + 1));
    q->m = m;
    q->e = -s;
    q->r = q->e ? (int32_t)1 << (q->e - 1) : 0;
    q->k = q->e ? 1 : 0;
    return 1;
}

DSP_ALWAYS_INLINE int32_t dsp_add_scale(int32_t v, int32_t ls1, const dsp_add_in *q) {
    const int32_t h = dsp_smmulr((int32_t)(((uint32_t)v << ls1) - (uint32_t)q->zp2), q->m);
    return (h + q->r - (q->k & (h >> 31))) >> q->e;
}

DSP_ALWAYS_INLINE void dsp_add_loop(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b,
                                    int8_t *y, const dsp_add_in *qa, const dsp_add_in *qb,
                                    const dsp_rq *qy, const dsp_out *out, int full) {
    const int32_t ls1 = p->left_shift + 1, size = p->size;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t sum = dsp_add_scale(a[i], ls1, qa) + dsp_add_scale(b[i], ls1, qb);
        y[i] = dsp_requant_as(sum, qy, out, DSP_RQ_DOUBLE, full);
    }
}

#if !defined(__OPTIMIZE_SIZE__)
/* Elements from which two 256-entry tables of a' and b' (one per input byte value, built
 * by dsp_add_scale: the same integers, doubled for DSP_RQ_DOUBLE2, exact as |a'| + |b'| <
 * 2^28) repay their set-up: a table read is two instructions where dsp_add_scale is
 * about eight. */
#define DSP_ADD_LUT_MIN 512

DSP_ALWAYS_INLINE void dsp_add_lut_loop(const cnnc_s8_add_params *p, const int8_t *a,
                                        const int8_t *b, int8_t *y, const dsp_add_in *qa,
                                        const dsp_add_in *qb, const dsp_rq *qy, const dsp_out *out,
                                        int full) {
    const int32_t ls1 = p->left_shift + 1, size = p->size;
    int32_t ta[256], tb[256], v, i;
    const int32_t *ra = ta + 128, *rb = tb + 128; /* indexed by the signed byte */
    for (v = -128; v < 128; ++v) { /* 2a', 2b': |2a' + 2b'| < 2^30, DSP_RQ_DOUBLE2's input */
        ta[v + 128] = 2 * dsp_add_scale(v, ls1, qa);
        tb[v + 128] = 2 * dsp_add_scale(v, ls1, qb);
    }
    for (i = 0; i < size; ++i)
        y[i] = dsp_requant_as(ra[a[i]] + rb[b[i]], qy, out, DSP_RQ_DOUBLE2, full);
}

/* The TFLite add scheme makes the larger input's multiplier M = 1/2 exactly
 * (quantize_multiplier(0.5) = (2^30, 0)), and with a left shift ls >= 1 its x = (v - zp) << ls
 * is even, so its a' = SMMULR(2x, 2^30) = x / 2 has no rounding: 2a' = v 2^ls - zp 2^ls, one
 * MLA from the byte. The other input's 2b' - zp 2^ls comes from a table of its 256 byte
 * values (dsp_add_scale's integers), and the output takes 2a' + 2b' in DSP_RQ_DOUBLE2's form
 * (|2a' + 2b'| <= 2^29 + 2^30 < 2^31: |a'| <= 255 2^20, |b'| <= |x_b| < 2^29). */

/* t[v + 128] = 2b'(v) - zp_h 2^ls for every byte v (nk = -zp_h 2^ls). [x < 0] stands in for
 * dsp_add_scale's [h < 0] (h < 0 implies x < 0, and x < 0 with h = 0 gives
 * floor((2^(e-1) - 1) / 2^e) = 0 either way), so the rounding term is r - k below the zero
 * point and r from it on. The 64-bit {hi, lo} = x2 m + 2^31 + (rounding term) 2^32 is
 * SMMLAR's sum: x2 steps by 2^(ls+1), so one SMLAL of 2^(ls+1) m (< 2^53, exact) steps it
 * and hi is SMMLAR's result, h plus the rounding term: 3 instructions an entry, one STM for
 * four (w0..w3 in ascending registers, r8..r11, for its list), eight a loop. */
/* clang-format off */
#define DSP_ADD_TABLE_ENTRY(W)                      \
    "asr " W ", %[hi], %[e]\n\t"                    \
    "smlal %[lo], %[hi], %[step2], %[m]\n\t"        \
    "add " W ", %[nk], " W ", lsl #1\n\t"
#define DSP_ADD_TABLE_ENTRIES4                                                          \
    DSP_ADD_TABLE_ENTRY("%[w0]") DSP_ADD_TABLE_ENTRY("%[w1]") DSP_ADD_TABLE_ENTRY("%[w2]") \
    DSP_ADD_TABLE_ENTRY("%[w3]") "stmia %[t]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"
/* clang-format on */
#define DSP_ADD_TABLE_LOOP(BODY)                                                         \
    __asm__ __volatile__(                                                                \
        "1:\n\t" BODY                                                                    \
        "cmp %[t], %[end]\n\t"                                                           \
        "blo 1b"                                                                         \
        : [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [lo] "+r"(lo), \
          [hi] "+r"(hi), [t] "+r"(t)                                                     \
        : [end] "r"(end), [m] "r"(q->m), [e] "r"(q->e), [step2] "r"(step2), [nk] "r"(nk) \
        : "memory", "cc")

static void dsp_add_half_table(int32_t *t, const dsp_add_in *q, int32_t zero_point, int32_t ls1,
                               int32_t nk) {
    const int32_t step2 = (int32_t)1 << ls1;
    const int32_t x2 = (int32_t)(((uint32_t)-128 << ls1) - (uint32_t)q->zp2);
    const int64_t acc = (int64_t)x2 * q->m + ((int64_t)(q->r - q->k) << 32) + 0x80000000LL;
    uint32_t lo = (uint32_t)acc;
    int32_t hi = (int32_t)(acc >> 32);
    register int32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
    int32_t *const last = t + 256, *split = t + (zero_point + 128), *end;
    for (;;) {
        end = t + ((split - t) & ~7);
        if (t < end) DSP_ADD_TABLE_LOOP(DSP_ADD_TABLE_ENTRIES4 DSP_ADD_TABLE_ENTRIES4);
        end = t + ((split - t) & ~3);
        if (t < end) DSP_ADD_TABLE_LOOP(DSP_ADD_TABLE_ENTRIES4);
        end = split;
        if (t < end) DSP_ADD_TABLE_LOOP(DSP_ADD_TABLE_ENTRY("%[w0]") "str %[w0], [%[t]], #4\n\t");
        if (split == last) break;
        split = last;
        hi += q->k; /* the rounding term r from the zero point on */
    }
}

/* Below this many elements the other input is scaled per element into a buffer (7.5
 * instructions an element, its shift e >= 1) instead of a table of all 256 bytes (~950). */
#define DSP_ADD_HALF_TABLE_MIN 132

/* u[i] = 2b'(o[i]) - zp_h 2^ls for i < n, dsp_add_half_table's entry with the rounding term
 * r + [x < 0] (k = 1) read from x2's sign. */
#define DSP_ADD_SCALED_ENTRY                \
    "ldrsb %[w], [%[o]], #1\n\t"            \
    "mla %[w], %[w], %[step2], %[nzp2]\n\t" \
    "add %[tb], %[r], %[w], asr #31\n\t"    \
    "smmlar %[w], %[w], %[m], %[tb]\n\t"    \
    "asr %[w], %[w], %[e]\n\t"              \
    "add %[w], %[nk], %[w], lsl #1\n\t"     \
    "str %[w], [%[u]], #4\n\t"
#define DSP_ADD_SCALED_LOOP(BODY)                                                               \
    __asm__ __volatile__("1:\n\t" BODY                                                          \
                         "cmp %[u], %[end]\n\t"                                                 \
                         "blo 1b"                                                               \
                         : [w] "=&r"(w), [tb] "=&r"(tb), [o] "+r"(o), [u] "+r"(u)               \
                         : [end] "r"(end), [step2] "r"(step2), [nzp2] "r"(nzp2), [r] "r"(q->r), \
                           [m] "r"(q->m), [e] "r"(q->e), [nk] "r"(nk)                           \
                         : "memory", "cc")

static void dsp_add_half_scaled(int32_t *u, const int8_t *o, int32_t n, const dsp_add_in *q,
                                int32_t ls1, int32_t nk) {
    const int32_t step2 = (int32_t)1 << ls1, nzp2 = (int32_t)(0u - (uint32_t)q->zp2);
    int32_t w, tb, *end = u + (n & ~3);
    if (n >= 4)
        DSP_ADD_SCALED_LOOP(
            DSP_ADD_SCALED_ENTRY DSP_ADD_SCALED_ENTRY DSP_ADD_SCALED_ENTRY DSP_ADD_SCALED_ENTRY);
    end = u + (n & 3);
    if (n & 3) DSP_ADD_SCALED_LOOP(DSP_ADD_SCALED_ENTRY);
}

/* One element: y = SSAT8(DSP_RQ_DOUBLE2(t + h 2^ls)) (full clamp). LOAD reads t and h: t
 * from the table at the other input's byte, or the scaled buffer's next word; RQ_SHIFT
 * ends it, the right shift by e and SSAT #8: ASR and SSAT, or SSAT's own ASR #e where e
 * is known. */
#define DSP_ADD_LOAD_TABLE        \
    "ldrsb %[vo], [%[o]], #1\n\t" \
    "ldrsb %[vh], [%[h]], #1\n\t" \
    "ldr %[vo], [%[rt], %[vo], lsl #2]\n\t"
#define DSP_ADD_LOAD_SCALED     \
    "ldr %[vo], [%[o]], #4\n\t" \
    "ldrsb %[vh], [%[h]], #1\n\t"
/* clang-format off */
#define DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT)                  \
    LOAD                                                      \
    "mla %[vo], %[vh], %[step], %[vo]\n\t"                    \
    "add %[vh], %[c], %[vo], asr #31\n\t"                     \
    "smmlar %[vo], %[vo], %[m], %[vh]\n\t"                    \
    RQ_SHIFT                                                  \
    "strb %[vo], [%[y]], #1\n\t"
/* clang-format on */
#define DSP_ADD_RQ_SHIFT "asr %[vo], %[vo], %[e]\n\tssat %[vo], #8, %[vo]\n\t"
#define DSP_ADD_RQ_SHIFT_BY(E) "ssat %[vo], #8, %[vo], asr #" #E "\n\t"
#define DSP_ADD_HALF_LOOP(BODY)                                                                  \
    __asm__ __volatile__("1:\n\t" BODY                                                           \
                         "cmp %[y], %[end]\n\t"                                                  \
                         "blo 1b"                                                                \
                         : [vo] "=&r"(vo), [vh] "=&r"(vh), [o] "+r"(o), [h] "+r"(h), [y] "+r"(y) \
                         : [end] "r"(end), [rt] "r"(rt), [step] "r"(step), [c] "r"(qy->c),       \
                           [m] "r"(qy->m), [e] "r"(qy->e)                                        \
                         : "memory", "cc")
/* clang-format off */
#define DSP_ADD_HALF_LOOP4(LOAD, RQ_SHIFT)                                          \
    DSP_ADD_HALF_LOOP(DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT) DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT) \
                      DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT) DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT))
#define DSP_ADD_HALF_ELEMENT4(LOAD, RQ_SHIFT)                                      \
    DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT) DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT) \
    DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT) DSP_ADD_HALF_ELEMENT(LOAD, RQ_SHIFT)
#define DSP_ADD_HALF_LOOP8(LOAD, RQ_SHIFT) \
    DSP_ADD_HALF_LOOP(DSP_ADD_HALF_ELEMENT4(LOAD, RQ_SHIFT) DSP_ADD_HALF_ELEMENT4(LOAD, RQ_SHIFT))
/* clang-format on */

/* The eight-element loop (the loop's compare and branch a quarter of an instruction an
 * element) from LOAD with the right shift by qy->e: the TFLite scheme's output shift is -19
 * about (M_y = 2 max(s_a, s_b) / (2^20 s_y)), so it is written out for e = 18, 19, 20 too
 * (8.25 instructions an element instead of 9.25). */
#define DSP_ADD_HALF_LOOP8_BY_E(LOAD, V)                       \
    do {                                                       \
        if (DSP_ADD_BUILT(V, E19) && qy->e == 19)              \
            DSP_ADD_HALF_LOOP8(LOAD, DSP_ADD_RQ_SHIFT_BY(19)); \
        else if (DSP_ADD_BUILT(V, E18) && qy->e == 18)         \
            DSP_ADD_HALF_LOOP8(LOAD, DSP_ADD_RQ_SHIFT_BY(18)); \
        else if (DSP_ADD_BUILT(V, E20) && qy->e == 20)         \
            DSP_ADD_HALF_LOOP8(LOAD, DSP_ADD_RQ_SHIFT_BY(20)); \
        else                                                   \
            DSP_ADD_HALF_LOOP8(LOAD, DSP_ADD_RQ_SHIFT);        \
    } while (0)
/* The elements past the last eight from LOAD: four at once, then one by one (all of them
 * one by one where the four-element loop is not built). */
#define DSP_ADD_HALF_TAIL(LOAD, V)                                                       \
    do {                                                                                 \
        end = y + (n & 4);                                                               \
        if (DSP_ADD_BUILT(V, T4) && (n & 4)) DSP_ADD_HALF_LOOP4(LOAD, DSP_ADD_RQ_SHIFT); \
        end = y + (n & (DSP_ADD_BUILT(V, T4) ? 3 : 7));                                  \
        if (n & (DSP_ADD_BUILT(V, T4) ? 3 : 7))                                          \
            DSP_ADD_HALF_LOOP(DSP_ADD_HALF_ELEMENT(LOAD, DSP_ADD_RQ_SHIFT));             \
    } while (0)

/* y[0..n-1] for the half input h (zero point zp_h) and the other input o (q), full clamp. */
static void dsp_add_half_full(const int8_t *h, const int8_t *o, int8_t *y, int32_t n, int32_t zp_h,
                              int32_t zp_o, int32_t ls, const dsp_add_in *q, const dsp_rq *qy) {
    const int32_t step = (int32_t)1 << ls, nk = (int32_t)(0u - ((uint32_t)zp_h << ls));
    int32_t t[256], vo, vh;      /* the table, or the scaled buffer (n < 256) */
    const int32_t *rt = t + 128; /* the table indexed by the signed byte */
    const int8_t *end;
    if (CNNC_MODEL_CALLS(s8_add, DSP_ADD_SCALED) && n < DSP_ADD_HALF_TABLE_MIN && q->e >= 1) {
        dsp_add_half_scaled(t, o, n, q, ls + 1, nk);
        o = (const int8_t *)t;
        end = y + (n & ~7);
        if (n >= 8) DSP_ADD_HALF_LOOP8_BY_E(DSP_ADD_LOAD_SCALED, SCALED);
        DSP_ADD_HALF_TAIL(DSP_ADD_LOAD_SCALED, SCALED);
        return;
    }
    dsp_add_half_table(t, q, zp_o, ls + 1, nk);
    end = y + (n & ~7);
    if (n >= 8) DSP_ADD_HALF_LOOP8_BY_E(DSP_ADD_LOAD_TABLE, TABLE);
    DSP_ADD_HALF_TAIL(DSP_ADD_LOAD_TABLE, TABLE);
}
#endif

/* Every path, its checks first (parameters outside the fast forms: __ref). */
DSP_ALWAYS_INLINE void dsp_add_any(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b,
                                   int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    dsp_add_in qa, qb;
    dsp_rq qy;
    if (p->rounding != CNNC_ROUND_DOUBLE || p->left_shift < 0 || p->left_shift > 21 ||
        !dsp_add_in_make(&qa, p->a_zero_point, p->left_shift, p->a_mult, p->a_shift) ||
        !dsp_add_in_make(&qb, p->b_zero_point, p->left_shift, p->b_mult, p->b_shift) ||
        dsp_rq_make(&qy, p->y_mult, p->y_shift, &out) != DSP_RQ_DOUBLE) {
        cnnc_s8_add__ref(p, a, b, y);
        return;
    }
#if defined(__OPTIMIZE_SIZE__)
    dsp_add_loop(p, a, b, y, &qa, &qb, &qy, &out, dsp_out_full(&out));
#else
    if (CNNC_MODEL_CALLS(s8_add, DSP_ADD_LUT_FULL) && p->size >= DSP_ADD_LUT_MIN &&
        dsp_out_full(&out))
        dsp_add_lut_loop(p, a, b, y, &qa, &qb, &qy, &out, 1);
    else if (CNNC_MODEL_CALLS(s8_add, DSP_ADD_LUT_CLAMP) && p->size >= DSP_ADD_LUT_MIN)
        dsp_add_lut_loop(p, a, b, y, &qa, &qb, &qy, &out, 0);
    else if (CNNC_MODEL_CALLS(s8_add, DSP_ADD_LOOP_FULL) && dsp_out_full(&out))
        dsp_add_loop(p, a, b, y, &qa, &qb, &qy, &out, 1);
    else
        dsp_add_loop(p, a, b, y, &qa, &qb, &qy, &out, 0);
#endif
}

#if !defined(__OPTIMIZE_SIZE__)
static __attribute__((noinline)) void dsp_add_other(const cnnc_s8_add_params *p, const int8_t *a,
                                                    const int8_t *b, int8_t *y) {
    dsp_add_any(p, a, b, y);
}
#endif

void cnnc_s8_add__dsp(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y) {
#if defined(__OPTIMIZE_SIZE__)
    dsp_add_any(p, a, b, y);
#else
    /* The M = 1/2 path (the TFLite scheme's adds) checked first with only the other input's
     * and y's scalings made, the rest in a call of its own: the general paths' set-up (their
     * tables' 2 KB of stack, the spills) cost ~30 instructions a call here. */
    const int half_a = DSP_ADD_HALF_A(*p);
    if (CNNC_MODEL_CALLS(s8_add, DSP_ADD_HALF) && DSP_ADD_HALF(*p)) {
        const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
        const int8_t *const h = half_a ? a : b, *const o = half_a ? b : a;
        const int32_t zp_h = half_a ? p->a_zero_point : p->b_zero_point;
        const int32_t zp_o = half_a ? p->b_zero_point : p->a_zero_point;
        dsp_add_in qo;
        dsp_rq qy;
        if (dsp_add_in_make(&qo, zp_o, p->left_shift, half_a ? p->b_mult : p->a_mult,
                            half_a ? p->b_shift : p->a_shift) &&
            dsp_rq_make(&qy, p->y_mult, p->y_shift, &out) == DSP_RQ_DOUBLE) {
            dsp_add_half_full(h, o, y, p->size, zp_h, zp_o, p->left_shift, &qo, &qy);
            return;
        }
    }
    dsp_add_other(p, a, b, y);
#endif
}
#else
typedef int cnnc_s8_add_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
