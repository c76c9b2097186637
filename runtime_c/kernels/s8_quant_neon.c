/* ARM NEON variant of the int8 model boundary's quantisation (float32 -> int8), bit-exact
 * to cnnc_s8_quantize__ref on aarch64: FDIV is IEEE division, correctly rounded as the
 * scalar x / scale, and obeys the same FPCR (no flush to zero on Linux); NaN becomes +0 by
 * the mask of v == v; the clamp to [-512, 512] is __ref's; FCVTNS rounds to nearest with
 * ties to even whatever the rounding mode, which is __ref's cnnc_round_half_even on
 * |v| <= 512; the saturating narrowings clamp q + zero_point to [-128, 127]. ARMv7 NEON
 * has neither a vector division nor a ties-to-even conversion, and flushes denormals: it
 * runs __ref. Compiled when the build targets NEON; empty otherwise. */
#include "cnnc_s8.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

void cnnc_s8_quantize__neon(const cnnc_s8_quant_params *p, const float *x, int8_t *y) {
#if defined(__aarch64__)
    const float32x4_t scale = vdupq_n_f32(p->scale);
    const float32x4_t lo = vdupq_n_f32(-512.0f), hi = vdupq_n_f32(512.0f);
    const int32x4_t zp = vdupq_n_s32(p->zero_point);
    cnnc_s8_quant_params rest = *p;
    int32_t i;
    for (i = 0; i + 8 <= p->size; i += 8) {
        float32x4_t v0 = vdivq_f32(vld1q_f32(x + i), scale);
        float32x4_t v1 = vdivq_f32(vld1q_f32(x + i + 4), scale);
        int32x4_t q0, q1;
        v0 = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v0), vceqq_f32(v0, v0)));
        v1 = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v1), vceqq_f32(v1, v1)));
        q0 = vaddq_s32(vcvtnq_s32_f32(vminq_f32(vmaxq_f32(v0, lo), hi)), zp);
        q1 = vaddq_s32(vcvtnq_s32_f32(vminq_f32(vmaxq_f32(v1, lo), hi)), zp);
        vst1_s8(y + i, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))));
    }
    rest.size = p->size - i;
    if (rest.size > 0) cnnc_s8_quantize__ref(&rest, x + i, y + i);
#else
    cnnc_s8_quantize__ref(p, x, y);
#endif
}
#else
typedef int cnnc_s8_quant_neon_empty; /* ISO C forbids an empty translation unit */
#endif
