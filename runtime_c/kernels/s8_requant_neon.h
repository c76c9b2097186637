/* Eight requantisations at once with NEON (ARMv7 intrinsics, so aarch64 too), bit-exact to
 * cnnc_requant_s8 (cnnc_s8.h) for every int32 accumulator and every multiplier/shift within
 * the header's contract, in both roundings; included by the NEON kernels (s8_*_neon.c).
 *
 * - single: vmull_s32 gives x*m exactly in int64; VRSHL by -(31 - s) adds 2^(30 - s) and
 *   shifts arithmetically (no overflow: |x*m| < 2^62, the constant <= 2^61), which is
 *   floor((x*m + 2^(30-s)) / 2^(31-s)); VQMOVN saturates it to int32.
 * - double: VQSHL by max(s, 0) is sat32(x * 2^left); VQRDMULH is
 *   sat32((2*x'*m + 2^31) >> 32) = floor((x'*m + 2^30) / 2^31), the header's h (it saturates
 *   only for INT32_MIN * INT32_MIN, impossible with m >= 0); RoundingDivideByPOT is the
 *   scalar formula lane by lane (mask, remainder, threshold).
 * - clamp(r + zp, lo, hi) = clamp(r, lo - zp, hi - zp) + zp, with no int32 overflow where r
 *   is saturated (the scalar code adds in int64). */
#ifndef CNNC_S8_REQUANT_NEON_H
#define CNNC_S8_REQUANT_NEON_H

#include "cnnc_s8.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

/* Inlined into every caller: as calls they cost more than their own instructions (the
 * register-blocked GEMM, s8_gemm_neon.h, requantises 8 rows of 8 lanes per tile). */
#if defined(__GNUC__)
#define S8_REQUANT_INLINE static __inline__ __attribute__((always_inline))
#else
#define S8_REQUANT_INLINE CNNC_INLINE
#endif

/* Four lanes of cnnc_requant (before zero point and clamp). */
S8_REQUANT_INLINE int32x4_t s8_requant4_neon(int32x4_t x, int32x4_t m, int32x4_t s,
                                             int32_t rounding) {
    const int32x4_t zero = vdupq_n_s32(0);
    if (rounding == CNNC_ROUND_ONNXRUNTIME) { /* float32 requantisation: scalar, as __ref */
        int32_t a[4], mm[4], j;
        vst1q_s32(a, x);
        vst1q_s32(mm, m);
        for (j = 0; j < 4; ++j) a[j] = cnnc_requant_onnxruntime(a[j], mm[j]);
        return vld1q_s32(a);
    }
    if (rounding == CNNC_ROUND_DOUBLE) {
        const int32x4_t one = vdupq_n_s32(1);
        const int32x4_t right = vmaxq_s32(vnegq_s32(s), zero); /* 0..31 */
        const int32x4_t h = vqrdmulhq_s32(vqshlq_s32(x, vmaxq_s32(s, zero)), m);
        const int32x4_t mask = vsubq_s32(vshlq_s32(one, right), one);
        const int32x4_t remainder = vandq_s32(h, mask);
        /* (mask >> 1) + (h < 0 ? 1 : 0); h >> 31 is -1 for h < 0 */
        const int32x4_t threshold = vsubq_s32(vshrq_n_s32(mask, 1), vshrq_n_s32(h, 31));
        const int32x4_t q = vshlq_s32(h, vnegq_s32(right)); /* arithmetic h >> right */
        return vsubq_s32(q, vreinterpretq_s32_u32(vcgtq_s32(remainder, threshold)));
    } else {
        const int32x4_t neg_total = vsubq_s32(s, vdupq_n_s32(31)); /* -(31 - s): -62..-1 */
        const int64x2_t lo = vrshlq_s64(vmull_s32(vget_low_s32(x), vget_low_s32(m)),
                                        vmovl_s32(vget_low_s32(neg_total)));
        const int64x2_t hi = vrshlq_s64(vmull_s32(vget_high_s32(x), vget_high_s32(m)),
                                        vmovl_s32(vget_high_s32(neg_total)));
        return vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi));
    }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < 8;
 * acc[0..4) in a0, acc[4..8) in a1. */
S8_REQUANT_INLINE void s8_requant8_neon(int32x4_t a0, int32x4_t a1, const int32_t *mult,
                                        const int32_t *shift, int32_t rounding, int32_t zero_point,
                                        int32_t lo, int32_t hi, int8_t *y) {
    const int32x4_t rlo = vdupq_n_s32(lo - zero_point), rhi = vdupq_n_s32(hi - zero_point);
    const int32x4_t zp = vdupq_n_s32(zero_point);
    int32x4_t r0 = s8_requant4_neon(a0, vld1q_s32(mult), vld1q_s32(shift), rounding);
    int32x4_t r1 = s8_requant4_neon(a1, vld1q_s32(mult + 4), vld1q_s32(shift + 4), rounding);
    r0 = vaddq_s32(vminq_s32(vmaxq_s32(r0, rlo), rhi), zp); /* in [lo, hi] */
    r1 = vaddq_s32(vminq_s32(vmaxq_s32(r1, rlo), rhi), zp);
    vst1_s8(y, vmovn_s16(vcombine_s16(vmovn_s32(r0), vmovn_s32(r1))));
}
#endif

#endif /* CNNC_S8_REQUANT_NEON_H */
