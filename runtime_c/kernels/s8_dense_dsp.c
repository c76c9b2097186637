/* Cortex-M DSP variant of the int8 fully connected layer (and, through
 * cnnc_s8_pwconv__dsp in s8_conv_dsp.c, the pointwise conv), bit-exact to
 * cnnc_s8_dense__ref: blocks of outputs repacked once per call into SMLAD pairs, then every
 * row through them, 4 MACs per two SMLADs (s8_dsp.h). Rows fewer than DSP_MIN_ROWS or K
 * above DSP_MAX_K run the reference loop. Compiled when the build targets the DSP extension
 * (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 with DSP); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(__ARM_FEATURE_DSP)
void cnnc_s8_dense__dsp(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    dsp_block blk; /* on the stack: 5 KB */
    int32_t o0, b, per;
    if (p->k > DSP_MAX_K || p->n < DSP_MIN_ROWS) {
        cnnc_s8_dense__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    per = dsp_block_outputs(p->k);
    for (o0 = 0; o0 < p->m; o0 += per) {
        const int32_t count = p->m - o0 < per ? p->m - o0 : per;
        dsp_repack(&blk, w, p->k, p->m, o0, count, bias, mult, shift, p->rounding, p->x_zero_point);
        for (b = 0; b < p->n; ++b)
            dsp_block_row(&blk, x + (size_t)b * p->k, o0, &out, y + (size_t)b * p->m);
    }
}
#else
typedef int cnnc_s8_dense_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
