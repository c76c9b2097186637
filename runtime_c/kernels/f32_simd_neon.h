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

/* w[0..nv) = the nv vectors at p, the last one with `last` lanes (mask m); nv <= 4 is a
 * constant after inlining. Full rows are one multi-register load (LD1 {v0-v3} on AArch64),
 * so a weight row of 16 channels costs one instruction. */
F32_INLINE void f32v_load_row(const float *p, int nv, int last, f32m m, f32v *w) {
#if defined(__aarch64__)
    if (last == F32_LANES && nv == 4) {
        const float32x4x4_t r = vld1q_f32_x4(p);
        w[0] = r.val[0];
        w[1] = r.val[1];
        w[2] = r.val[2];
        w[3] = r.val[3];
        return;
    }
    if (last == F32_LANES && nv == 3) {
        const float32x4x3_t r = vld1q_f32_x3(p);
        w[0] = r.val[0];
        w[1] = r.val[1];
        w[2] = r.val[2];
        return;
    }
    if (nv >= 2) { /* the full vectors in pairs, then the last (masked) */
        int v = 0;
        for (; v + 2 < nv || (v + 2 == nv && last == F32_LANES); v += 2) {
            const float32x4x2_t r = vld1q_f32_x2(p + v * F32_LANES);
            w[v] = r.val[0];
            w[v + 1] = r.val[1];
        }
        for (; v < nv; ++v) w[v] = f32v_load_n(p + v * F32_LANES, v == nv - 1 ? last : 4, m);
        return;
    }
#endif
    {
        int v;
        for (v = 0; v < nv; ++v) w[v] = f32v_load_n(p + v * F32_LANES, v == nv - 1 ? last : 4, m);
    }
}

/* The 4-pixel x 16-channel register tile's k loop on AArch64, in assembly: 16 accumulators
 * (v0-v15, loaded from acc and stored back around the loop), the 4 pixels' input vectors
 * (v16-v19), one weight row (v20-v23, one LD1) and 8 product temporaries (v24-v31) fill the
 * 32 registers with no spill and no copy (compiled from C, the 4 rows' weight loads are
 * hoisted into 16 registers and the tile spills). Per 4 input channels: 4 LDR of x, 4 LD1
 * of w (post-indexed by the row stride), 64 FMLA (fast) or 64 FMUL + 64 FADD (exact: each
 * product rounded, then added to its accumulator, channels ci, ci + 1, ci + 2, ci + 3 in
 * turn: the __ref order), SUBS, B.NE. acc: [4][4] vectors (pixel i, channels 4v..4v+3),
 * contiguous; xp[i] advance by 4 floats and *wp by 4 rows (4 * co floats) per block;
 * nblk >= 1 blocks. */
#if defined(__aarch64__)
#define F32_NEON_TILE44 1
/* products of lane \\l (the assembler's .irp variable: the input channel) of input
 * register v<xr> and the weight row into v<t0>..v<t3> */
#define F32N_MUL(xr, t0, t1, t2, t3)  \
    "fmul v" #t0 ".4s, v20.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmul v" #t1 ".4s, v21.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmul v" #t2 ".4s, v22.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmul v" #t3 ".4s, v23.4s, v" #xr ".s[\\l]\n\t"
/* accumulators v<a0>..v<a3> (one pixel) += v<t0>..v<t3> */
#define F32N_ADD(a0, a1, a2, a3, t0, t1, t2, t3) \
    "fadd v" #a0 ".4s, v" #a0 ".4s, v" #t0       \
    ".4s\n\t"                                    \
    "fadd v" #a1 ".4s, v" #a1 ".4s, v" #t1       \
    ".4s\n\t"                                    \
    "fadd v" #a2 ".4s, v" #a2 ".4s, v" #t2       \
    ".4s\n\t"                                    \
    "fadd v" #a3 ".4s, v" #a3 ".4s, v" #t3 ".4s\n\t"
/* one input channel of the 4 pixels; pixel i + 1's products are computed while pixel i's
 * are added (two banks of temporaries) */
#define F32N_EXACT_LANE                                                             \
    "ld1 {v20.4s-v23.4s}, [%[w]], %[ws]\n\t" F32N_MUL(16, 24, 25, 26, 27)           \
        F32N_MUL(17, 28, 29, 30, 31) F32N_ADD(0, 1, 2, 3, 24, 25, 26, 27)           \
            F32N_MUL(18, 24, 25, 26, 27) F32N_ADD(4, 5, 6, 7, 28, 29, 30, 31)       \
                F32N_MUL(19, 28, 29, 30, 31) F32N_ADD(8, 9, 10, 11, 24, 25, 26, 27) \
                    F32N_ADD(12, 13, 14, 15, 28, 29, 30, 31)
#define F32N_FMA(a0, a1, a2, a3, xr)  \
    "fmla v" #a0 ".4s, v20.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmla v" #a1 ".4s, v21.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmla v" #a2 ".4s, v22.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmla v" #a3 ".4s, v23.4s, v" #xr ".s[\\l]\n\t"
#define F32N_FAST_LANE                                                                         \
    "ld1 {v20.4s-v23.4s}, [%[w]], %[ws]\n\t" F32N_FMA(0, 1, 2, 3, 16) F32N_FMA(4, 5, 6, 7, 17) \
        F32N_FMA(8, 9, 10, 11, 18) F32N_FMA(12, 13, 14, 15, 19)
#if F32_FAST
#define F32N_LANE F32N_FAST_LANE
#else
#define F32N_LANE F32N_EXACT_LANE
#endif

F32_INLINE void f32_neon_tile44(f32v (*acc)[4], const float **xp, const float **wp, size_t co,
                                int nblk) {
    const float *x0 = xp[0], *x1 = xp[1], *x2 = xp[2], *x3 = xp[3], *w = *wp;
    const size_t ws = co * sizeof(float); /* bytes from one weight row to the next */
    size_t n = (size_t)nblk;
    float *a = (float *)acc;
    __asm__ volatile(
        "ldp q0, q1, [%[a]]\n\t"
        "ldp q2, q3, [%[a], #32]\n\t"
        "ldp q4, q5, [%[a], #64]\n\t"
        "ldp q6, q7, [%[a], #96]\n\t"
        "ldp q8, q9, [%[a], #128]\n\t"
        "ldp q10, q11, [%[a], #160]\n\t"
        "ldp q12, q13, [%[a], #192]\n\t"
        "ldp q14, q15, [%[a], #224]\n\t"
        "1:\n\t"
        "ldr q16, [%[x0]], #16\n\t"
        "ldr q17, [%[x1]], #16\n\t"
        "ldr q18, [%[x2]], #16\n\t"
        "ldr q19, [%[x3]], #16\n\t"
        ".irp l, 0, 1, 2, 3\n\t" F32N_LANE
        ".endr\n\t"
        "subs %[n], %[n], #1\n\t"
        "b.ne 1b\n\t"
        "stp q0, q1, [%[a]]\n\t"
        "stp q2, q3, [%[a], #32]\n\t"
        "stp q4, q5, [%[a], #64]\n\t"
        "stp q6, q7, [%[a], #96]\n\t"
        "stp q8, q9, [%[a], #128]\n\t"
        "stp q10, q11, [%[a], #160]\n\t"
        "stp q12, q13, [%[a], #192]\n\t"
        "stp q14, q15, [%[a], #224]\n\t"
        : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [w] "+r"(w), [n] "+r"(n)
        : [a] "r"(a), [ws] "r"(ws)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
          "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
          "v25", "v26", "v27", "v28", "v29", "v30", "v31");
    xp[0] = x0;
    xp[1] = x1;
    xp[2] = x2;
    xp[3] = x3;
    *wp = w;
}
/* The same k loop for a 4-pixel x 8-channel tile (a strip of 2 vectors: out_c = 8 mod 16):
 * acc keeps its [4][4] layout (pixel i's 2 vectors at acc[i][0..1]), v0-v7 accumulate,
 * one weight row is v20-v21. Per 4 input channels: 4 LDR, 4 LD1, 32 FMLA or 32 FMUL + 32
 * FADD, SUBS, B.NE. */
#define F32N_MUL2(xr, t0, t1)         \
    "fmul v" #t0 ".4s, v20.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmul v" #t1 ".4s, v21.4s, v" #xr ".s[\\l]\n\t"
#define F32N_ADD2(a0, a1, t0, t1)          \
    "fadd v" #a0 ".4s, v" #a0 ".4s, v" #t0 \
    ".4s\n\t"                              \
    "fadd v" #a1 ".4s, v" #a1 ".4s, v" #t1 ".4s\n\t"
#define F32N_EXACT_LANE2                                                                 \
    "ld1 {v20.4s-v21.4s}, [%[w]], %[ws]\n\t" F32N_MUL2(16, 24, 25) F32N_MUL2(17, 26, 27) \
        F32N_MUL2(18, 28, 29) F32N_MUL2(19, 30, 31) F32N_ADD2(0, 1, 24, 25)              \
            F32N_ADD2(2, 3, 26, 27) F32N_ADD2(4, 5, 28, 29) F32N_ADD2(6, 7, 30, 31)
#define F32N_FMA2(a0, a1, xr)         \
    "fmla v" #a0 ".4s, v20.4s, v" #xr \
    ".s[\\l]\n\t"                     \
    "fmla v" #a1 ".4s, v21.4s, v" #xr ".s[\\l]\n\t"
#define F32N_FAST_LANE2                                                              \
    "ld1 {v20.4s-v21.4s}, [%[w]], %[ws]\n\t" F32N_FMA2(0, 1, 16) F32N_FMA2(2, 3, 17) \
        F32N_FMA2(4, 5, 18) F32N_FMA2(6, 7, 19)
#if F32_FAST
#define F32N_LANE2 F32N_FAST_LANE2
#else
#define F32N_LANE2 F32N_EXACT_LANE2
#endif

F32_INLINE void f32_neon_tile42(f32v (*acc)[4], const float **xp, const float **wp, size_t co,
                                int nblk) {
    const float *x0 = xp[0], *x1 = xp[1], *x2 = xp[2], *x3 = xp[3], *w = *wp;
    const size_t ws = co * sizeof(float); /* bytes from one weight row to the next */
    size_t n = (size_t)nblk;
    float *a = (float *)acc;
    __asm__ volatile(
        "ldp q0, q1, [%[a]]\n\t"
        "ldp q2, q3, [%[a], #64]\n\t"
        "ldp q4, q5, [%[a], #128]\n\t"
        "ldp q6, q7, [%[a], #192]\n\t"
        "1:\n\t"
        "ldr q16, [%[x0]], #16\n\t"
        "ldr q17, [%[x1]], #16\n\t"
        "ldr q18, [%[x2]], #16\n\t"
        "ldr q19, [%[x3]], #16\n\t"
        ".irp l, 0, 1, 2, 3\n\t" F32N_LANE2
        ".endr\n\t"
        "subs %[n], %[n], #1\n\t"
        "b.ne 1b\n\t"
        "stp q0, q1, [%[a]]\n\t"
        "stp q2, q3, [%[a], #64]\n\t"
        "stp q4, q5, [%[a], #128]\n\t"
        "stp q6, q7, [%[a], #192]\n\t"
        : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [w] "+r"(w), [n] "+r"(n)
        : [a] "r"(a), [ws] "r"(ws)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16", "v17", "v18",
          "v19", "v20", "v21", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
    xp[0] = x0;
    xp[1] = x1;
    xp[2] = x2;
    xp[3] = x3;
    *wp = w;
}
#endif

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
