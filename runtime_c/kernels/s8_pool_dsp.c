/* Cortex-M DSP variant of the int8 global average pool, bit-exact to
 * cnnc_s8_global_avgpool__ref.
 *
 * Four channels at a time: per pixel one word of channels c..c+3, SXTB16 (even and odd
 * bytes) and SADD16 into two words of int16 lane sums, exact over up to 256 pixels
 * (|sum| <= 128 * 256 = 2^15, and -2^15 is an int16); longer images add such runs into
 * int32. Each channel's sum of x minus hw * zero point is __ref's sum of (x - zero point),
 * requantised by s8_dsp.h's forms (dsp_requant: the slow form calls cnnc_requant_s8).
 * The last c mod 4 channels run __ref's loop. Compiled when the build targets the DSP
 * extension (__ARM_FEATURE_DSP, M-profile); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define DSP_GAP_RUN 256 /* pixels whose int16 lane sums cannot overflow */

void cnnc_s8_global_avgpool__dsp(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t hw = p->hw, c = p->c, c4 = c & ~3;
    /* hw * zp: |hw| <= 2^23 (checked by the compiler), |zp| <= 128: no overflow */
    const int32_t zsum = hw * p->x_zero_point;
    dsp_rq q;
    const int32_t form = dsp_rq_make(&q, p->mult, p->shift, &out);
    int32_t b, ch, i, j;
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
                    se = __sadd16(se, dsp_even(v));
                    so = __sadd16(so, dsp_odd(v));
                }
                sum[0] += (int16_t)se, sum[2] += se >> 16;
                sum[1] += (int16_t)so, sum[3] += so >> 16;
            }
            for (j = 0; j < 4; ++j) yb[ch + j] = dsp_requant(sum[j] - zsum, form, &q, &out);
        }
        for (; ch < c; ++ch) {
            int32_t sum = 0;
            for (i = 0; i < hw; ++i) sum += xb[(size_t)i * c + ch] - p->x_zero_point;
            yb[ch] = cnnc_requant_s8(sum, p->mult, p->shift, p->rounding, p->y_zero_point,
                                     p->act_min, p->act_max);
        }
    }
}
#else
typedef int cnnc_s8_pool_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
