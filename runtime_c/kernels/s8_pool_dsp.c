/* Cortex-M DSP variant of the int8 global average pool, bit-exact to
 * cnnc_s8_global_avgpool__ref.
 *
 * Four channels at a time: per pixel one word of channels c..c+3, SXTAB16 (even and odd
 * bytes added lane-wise) into two words of int16 lane sums, exact over up to 256 pixels
 * (|sum| <= 128 * 256 = 2^15, and -2^15 is an int16); longer images add such runs into
 * int32. Each channel's sum of x minus hw * zero point is __ref's sum of (x - zero point),
 * requantised by s8_dsp.h's fast forms (the others run __ref) or,
 * for the multiplier the quantiser gives global pools (cnnc.passes.quantize.
 * once_rounded_multiplier: double rounding with shift 0, any m >= 0, which no form of
 * s8_dsp.h covers), by one SMMLAR: cnnc_requant_double's h = floor((x m + 2^30) / 2^31) is
 * floor((2x m + 2^31) / 2^32), and with the zero point as the accumulate operand
 * SMMLAR(2x, m, zp) = zp + h (2x exact: |x| <= 255 hw < 2^30 for hw <= 2^22).
 * The last c mod 4 channels sum one byte at a time. At -Os the variant is __ref (600 B of
 * flash for ~1 % of a MobileNetV2's instructions). Compiled when the build targets the
 * DSP extension (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
#if defined(__OPTIMIZE_SIZE__)
void cnnc_s8_global_avgpool__dsp(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y) {
    cnnc_s8_global_avgpool__ref(p, x, y);
}
#else
#define DSP_GAP_RUN 256 /* pixels whose int16 lane sums cannot overflow */

/* The requantisation of a channel's sum for the fast forms (no call of cnnc_requant_s8:
 * the other forms run __ref whole, which keeps this file small at -Os). */
DSP_ALWAYS_INLINE int8_t dsp_gap_out(int32_t acc, int32_t once, int32_t form, const dsp_rq *q,
                                     const dsp_out *o) {
    if (once) return dsp_clamp(dsp_smmlar(2 * acc, q->m, o->zero_point), o);
    if (form == DSP_RQ_DOUBLE) return dsp_rq_double(acc, q, o);
    return dsp_rq_single(acc, q, o);
}

void cnnc_s8_global_avgpool__dsp(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t hw = p->hw, c = p->c, c4 = c & ~3;
    /* hw * zp: |hw| <= 2^23 (checked by the compiler), |zp| <= 128: no overflow */
    const int32_t zsum = hw * p->x_zero_point;
    const int32_t once = p->rounding == CNNC_ROUND_DOUBLE && p->shift == 0 && p->mult >= 0 &&
                         hw <= ((int32_t)1 << 22);
    dsp_rq q;
    const int32_t form = dsp_rq_make(&q, p->mult, p->shift, &out);
    int32_t b, ch, i, j;
    if (!once && form == DSP_RQ_SLOW) {
        cnnc_s8_global_avgpool__ref(p, x, y);
        return;
    }
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * hw * c;
        int8_t *yb = y + (size_t)b * c;
        for (ch = 0; ch < c4; ch += 4) {
            int32_t sum[4] = {0, 0, 0, 0};
            for (i = 0; i < hw;) {
                const int32_t end = hw - i > DSP_GAP_RUN ? i + DSP_GAP_RUN : hw;
                int32_t se = 0, so = 0; /* lanes: channels (0, 2) and (1, 3) */
                for (; i < end; ++i) {
                    const uint32_t v = dsp_load4(xb + (size_t)i * c + ch);
                    se = (int32_t)dsp_even_add((uint32_t)se, v);
                    so = (int32_t)dsp_odd_add((uint32_t)so, v);
                }
                sum[0] += (int16_t)se, sum[2] += se >> 16;
                sum[1] += (int16_t)so, sum[3] += so >> 16;
            }
            if (once) /* the global pools' form (the quantiser's): its own loop, inlined */
                for (j = 0; j < 4; ++j) yb[ch + j] = dsp_gap_out(sum[j] - zsum, 1, 0, &q, &out);
            else
                for (j = 0; j < 4; ++j) yb[ch + j] = dsp_gap_out(sum[j] - zsum, 0, form, &q, &out);
        }
        for (; ch < c; ++ch) {
            int32_t sum = 0;
            for (i = 0; i < hw; ++i) sum += xb[(size_t)i * c + ch];
            yb[ch] = dsp_gap_out(sum - zsum, once, form, &q, &out);
        }
    }
}
#endif                  /* __OPTIMIZE_SIZE__ */
#else
typedef int cnnc_s8_pool_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
