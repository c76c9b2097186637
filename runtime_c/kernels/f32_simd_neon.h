/* The vector hooks f32_simd_loops.h is written over, for ARM NEON (4 float lanes). The
 * including file defines, before including f32_simd_loops.h:
 *   F32_NEON    1 (selects this header instead of f32_simd_x86.h)
 *   F32_FAST    0 (exact: separate mul then add, the __ref order) or 1 (fused or chained
 *               multiply-add, any rounding of the product)
 *   F32_TARGET  empty (NEON is the build's own ISA: no target attribute)
 *   F32_MR      output pixels per conv/dense tile
 *
 * Exact mode is AArch64 only. AArch64's Advanced SIMD follows FPCR like the scalar unit, so
 * FMUL then FADD on a lane rounds exactly as __ref's scalar `acc += x * w` (under
 * -ffp-contract=off, which every cnnc build passes: arm_neon.h writes vmulq_f32 and
 * vaddq_f32 as plain C operators, which gcc would otherwise fuse into FMLA). ARMv7's
 * Advanced SIMD always flushes subnormals to zero and returns the default NaN, so it
 * cannot match the VFP scalar __ref bit for bit: armv7 builds get the fast variants only.
 *
 * Lane-indexed multiplies (f32v_mac_lane): each pixel of a tile loads 4 consecutive
 * input channels in one vector and multiplies the weight vector of channel ci + l by its
 * lane l, so one load of x serves 4 taps (FMUL/FMLA by element).
 *
 * Channel-vector tails (n < 4 lanes) load lane by lane (absent lanes 0) and store only
 * lanes [0, n). The activation epilogue reproduces cnnc_f32_apply_act bit for bit with
 * comparisons and selects (relu, relu6, clip; NaN passes as in the scalar code); others
 * call the scalar function lane by lane. */
#ifndef F32_SIMD_NEON_H
#define F32_SIMD_NEON_H

#include <arm_neon.h>

#include "cnnc_f32.h"

#define F32_INLINE static __inline__ __attribute__((always_inline)) F32_TARGET

#define F32_LANES 4
typedef float32x4_t f32v;
typedef int f32m; /* lanes [0, n) */

F32_INLINE f32m f32m_first(int n) { return n; }
F32_INLINE f32v f32v_zero(void) { return vdupq_n_f32(0.0f); }
F32_INLINE f32v f32v_set1(float a) { return vdupq_n_f32(a); }
F32_INLINE f32v f32v_load(const float *p) { return vld1q_f32(p); }
F32_INLINE void f32v_store(float *p, f32v v) { vst1q_f32(p, v); }
F32_INLINE f32v f32v_loadm(const float *p, f32m n) {
    f32v v = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
    if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
    if (n > 3) v = vld1q_lane_f32(p + 3, v, 3);
    return v;
}
F32_INLINE void f32v_storem(float *p, f32m n, f32v v) {
    vst1q_lane_f32(p, v, 0);
    if (n > 1) vst1q_lane_f32(p + 1, v, 1);
    if (n > 2) vst1q_lane_f32(p + 2, v, 2);
    if (n > 3) vst1q_lane_f32(p + 3, v, 3);
}

#if F32_FAST
#if defined(__ARM_FEATURE_FMA)
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) { return vfmaq_f32(acc, x, w); }
#else /* ARMv7 NEON without VFPv4: the chained VMLA */
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) { return vmlaq_f32(acc, x, w); }
#endif
#else
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) { return vaddq_f32(acc, vmulq_f32(x, w)); }
#endif

/* acc + w * lane l of xv; l a literal 0..3 (a macro: the lane must be a constant). */
#if defined(__aarch64__)
#if F32_FAST
#define f32v_mac_lane(acc, w, xv, l) vfmaq_laneq_f32(acc, w, xv, l)
#else
#define f32v_mac_lane(acc, w, xv, l) vaddq_f32(acc, vmulq_laneq_f32(w, xv, l))
#endif
#else /* ARMv7 (fast only): VMLA by scalar from the low or high half */
#define f32v_mac_lane(acc, w, xv, l) \
    vmlaq_lane_f32(acc, w, (l) < 2 ? vget_low_f32(xv) : vget_high_f32(xv), (l)&1)
#endif

/* f32v_mac_lane with l a constant after inlining (the conv tile's unrolled lane loop). */
F32_INLINE f32v f32v_mac_lane_n(f32v acc, f32v w, f32v xv, int l) {
    switch (l) {
        case 0:
            return f32v_mac_lane(acc, w, xv, 0);
        case 1:
            return f32v_mac_lane(acc, w, xv, 1);
        case 2:
            return f32v_mac_lane(acc, w, xv, 2);
        default:
            return f32v_mac_lane(acc, w, xv, 3);
    }
}

/* Loads lanes [0, n) of p (n <= F32_LANES); full vectors take the plain load. */
F32_INLINE f32v f32v_load_n(const float *p, int n, f32m m) {
    return n == F32_LANES ? f32v_load(p) : f32v_loadm(p, m);
}
F32_INLINE void f32v_store_n(float *p, int n, f32m m, f32v v) {
    if (n == F32_LANES) {
        f32v_store(p, v);
    } else {
        f32v_storem(p, m, v);
    }
}

/* cnnc_f32_apply_act on every lane, bit for bit. A comparison with NaN is false in both
 * the scalar code and vcgtq/vcltq, so every select below keeps a NaN x. */
F32_INLINE f32v f32v_act(const cnnc_f32_act *act, f32v x) {
    switch (act->kind) {
        case CNNC_ACT_NONE:
            return x;
        case CNNC_ACT_RELU: { /* x > 0 || x != x ? x : 0 */
            const uint32x4_t keep =
                vorrq_u32(vcgtq_f32(x, f32v_zero()), vmvnq_u32(vceqq_f32(x, x)));
            return vbslq_f32(keep, x, f32v_zero());
        }
        case CNNC_ACT_RELU6: { /* x < 0 ? 0 : (x > 6 ? 6 : x) */
            const f32v six = f32v_set1(6.0f);
            const f32v t = vbslq_f32(vcgtq_f32(x, six), six, x);
            return vbslq_f32(vcltq_f32(x, f32v_zero()), f32v_zero(), t);
        }
        case CNNC_ACT_CLIP: { /* l = x < lo ? lo : x; l > hi ? hi : l */
            const f32v lo = f32v_set1(act->min), hi = f32v_set1(act->max);
            const f32v l = vbslq_f32(vcltq_f32(x, lo), lo, x);
            return vbslq_f32(vcgtq_f32(l, hi), hi, l);
        }
        default: {
            float lane[F32_LANES];
            int j;
            f32v_store(lane, x);
            for (j = 0; j < F32_LANES; ++j) lane[j] = cnnc_f32_apply_act(act, lane[j]);
            return f32v_load(lane);
        }
    }
}

#endif /* F32_SIMD_NEON_H */
