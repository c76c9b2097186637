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
 * -20..-1), which adds the zero point and clamps. Compiled when the build targets the DSP
 * extension (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
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
#endif

void cnnc_s8_add__dsp(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y) {
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
    if (p->size >= DSP_ADD_LUT_MIN && dsp_out_full(&out))
        dsp_add_lut_loop(p, a, b, y, &qa, &qb, &qy, &out, 1);
    else if (p->size >= DSP_ADD_LUT_MIN)
        dsp_add_lut_loop(p, a, b, y, &qa, &qb, &qy, &out, 0);
    else if (dsp_out_full(&out))
        dsp_add_loop(p, a, b, y, &qa, &qb, &qy, &out, 1);
    else
        dsp_add_loop(p, a, b, y, &qa, &qb, &qy, &out, 0);
#endif
}
#else
typedef int cnnc_s8_add_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
