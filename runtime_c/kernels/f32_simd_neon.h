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

/* A whole run of 4-pixel tiles of a 1x1 conv (dense, pwconv) over one strip of 16 or 8
 * output channels, in one assembly loop: per tile the 4 pixels' pointers, the bias into
 * the accumulators (one LD1 per pixel), the k loop above (F32N_LANE / F32N_LANE2), the
 * activation on the registers and one ST1 per pixel; nothing goes through memory but x,
 * w and the outputs. (Through conv_tile, acc went through the stack around the k loop:
 * ~235 instructions per 4x16 tile besides the k loop, 0.077 per MAC at 48 input channels;
 * here 17, plus 17 (relu) to 66 (clip) for the activation.)
 *
 * Activations, bit for bit as cnnc_f32_apply_act (a NaN stays a NaN):
 *   relu   FMAX(x, +0): +0 for -0, x < 0 and +0, x for x > 0, NaN for NaN;
 *   relu6  FMIN(x, 6) (NaN stays, -0 stays -0), then the lanes where x < 0 cleared to +0
 *          (FCMLT #0 is false for -0 and NaN);
 *   clip   two compare-and-selects (BSL), the scalar code's x < min ? min : x, then
 *          l > max ? max : l (crossed bounds give max).
 * FMAX/FMIN are not used against min/max themselves: they order -0 below +0, which the
 * scalar comparisons do not. Other activations stay on the C tiles. */
#define F32_NEON_RUN 1
/* m(a, t) for each accumulator a of the 4x16 (v0-v15) or 4x8 (v0-v7) tile, with a
 * scratch register t (v18-v31: v16, v17 hold the activation's constants) */
#define F32N_ACC8(m) m(0, 18) m(1, 19) m(2, 20) m(3, 21) m(4, 22) m(5, 23) m(6, 24) m(7, 25)
#define F32N_ACC16(m) \
    F32N_ACC8(m) m(8, 26) m(9, 27) m(10, 28) m(11, 29) m(12, 30) m(13, 31) m(14, 18) m(15, 19)
#define F32N_RELU(a, t) "fmax v" #a ".4s, v" #a ".4s, v16.4s\n\t"
#define F32N_RELU6(a, t)     \
    "fcmlt v" #t ".4s, v" #a \
    ".4s, #0.0\n\t"          \
    "fmin v" #a ".4s, v" #a  \
    ".4s, v16.4s\n\t"        \
    "bic v" #a ".16b, v" #a ".16b, v" #t ".16b\n\t"
#define F32N_CLIP(a, t)              \
    "fcmgt v" #t ".4s, v16.4s, v" #a \
    ".4s\n\t"                        \
    "bsl v" #t ".16b, v16.16b, v" #a \
    ".16b\n\t"                       \
    "fcmgt v" #a ".4s, v" #t         \
    ".4s, v17.4s\n\t"                \
    "bsl v" #a ".16b, v17.16b, v" #t ".16b\n\t"
/* The tile loop; INIT, LANE and STORE depend on the strip (16 or 8 channels), ACT_SET
 * loads the activation's constants after the k loop (v16-v17 carry x until then). */
#define F32N_RUN_LOOP(INIT, LANE, ACT_SET, ACT, STORE)                                         \
    __asm__ volatile(                                                                          \
        "1:\n\t"                                                                               \
        "mov %[p0], %[x]\n\t"                                                                  \
        "add %[p1], %[x], %[xs]\n\t"                                                           \
        "add %[p2], %[p1], %[xs]\n\t"                                                          \
        "add %[p3], %[p2], %[xs]\n\t"                                                          \
        "add %[x], %[p3], %[xs]\n\t"                                                           \
        "mov %[w], %[w0]\n\t"                                                                  \
        "mov %[n], %[nblk]\n\t" INIT                                                           \
        "2:\n\t"                                                                               \
        "ldr q16, [%[p0]], #16\n\t"                                                            \
        "ldr q17, [%[p1]], #16\n\t"                                                            \
        "ldr q18, [%[p2]], #16\n\t"                                                            \
        "ldr q19, [%[p3]], #16\n\t"                                                            \
        ".irp l, 0, 1, 2, 3\n\t" LANE                                                          \
        ".endr\n\t"                                                                            \
        "subs %[n], %[n], #1\n\t"                                                              \
        "b.ne 2b\n\t" ACT_SET ACT STORE                                                        \
        "subs %[nt], %[nt], #1\n\t"                                                            \
        "b.ne 1b\n\t"                                                                          \
        : [x] "+r"(x), [o] "+r"(out), [nt] "+r"(nt), [p0] "=&r"(p0), [p1] "=&r"(p1),           \
          [p2] "=&r"(p2), [p3] "=&r"(p3), [w] "=&r"(wp), [n] "=&r"(n)                          \
        : [xs] "r"(xs), [w0] "r"(w), [ws] "r"(ws), [b] "r"(b), [os] "r"(os), [nblk] "r"(nblk), \
          [lo] "r"(&act->min), [hi] "r"(&act->max)                                             \
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",   \
          "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",  \
          "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31")
#define F32N_INIT16                  \
    "ld1 {v0.4s-v3.4s}, [%[b]]\n\t"  \
    "ld1 {v4.4s-v7.4s}, [%[b]]\n\t"  \
    "ld1 {v8.4s-v11.4s}, [%[b]]\n\t" \
    "ld1 {v12.4s-v15.4s}, [%[b]]\n\t"
#define F32N_STORE16                        \
    "st1 {v0.4s-v3.4s}, [%[o]], %[os]\n\t"  \
    "st1 {v4.4s-v7.4s}, [%[o]], %[os]\n\t"  \
    "st1 {v8.4s-v11.4s}, [%[o]], %[os]\n\t" \
    "st1 {v12.4s-v15.4s}, [%[o]], %[os]\n\t"
#define F32N_INIT8                  \
    "ld1 {v0.4s-v1.4s}, [%[b]]\n\t" \
    "ld1 {v2.4s-v3.4s}, [%[b]]\n\t" \
    "ld1 {v4.4s-v5.4s}, [%[b]]\n\t" \
    "ld1 {v6.4s-v7.4s}, [%[b]]\n\t"
#define F32N_STORE8                        \
    "st1 {v0.4s-v1.4s}, [%[o]], %[os]\n\t" \
    "st1 {v2.4s-v3.4s}, [%[o]], %[os]\n\t" \
    "st1 {v4.4s-v5.4s}, [%[o]], %[os]\n\t" \
    "st1 {v6.4s-v7.4s}, [%[o]], %[os]\n\t"

/* The run's first npix / 4 * 4 pixels of a 1x1 conv: x at pixel 0's first input channel
 * (pixel i at x + i * xstep), c input channels, w[c][co] and bias (or NULL) at the strip's
 * first channel, out at pixel 0's; nv 4 (16 channels) or 2 (8). Returns the pixels done:
 * 0 if this shape or activation is left to the C tiles (c not a multiple of 4, fewer than
 * 4 pixels, an activation other than none, relu, relu6, clip). */
static __attribute__((unused)) int f32_neon_run(int nv, const float *x, ptrdiff_t xstep, int c,
                                                size_t co, int npix, const float *w,
                                                const float *bias, float *out,
                                                const cnnc_f32_act *act) {
    static const float zero[16] = {0.0f};
    const size_t xs = (size_t)xstep * sizeof(float), ws = co * sizeof(float), os = ws;
    const size_t nblk = (size_t)(c / 4);
    const float *b = bias ? bias : zero;
    const float *p0, *p1, *p2, *p3, *wp;
    size_t nt = (size_t)(npix / 4), n;
    if (nt == 0 || c < 4 || c % 4 != 0 || act->kind > CNNC_ACT_CLIP || (nv != 4 && nv != 2)) {
        return 0;
    }
    if (nv == 4) {
#define F32N_RUN_ASM(set, a) F32N_RUN_LOOP(F32N_INIT16, F32N_LANE, set, a, F32N_STORE16)
        switch (act->kind) {
            case CNNC_ACT_NONE:
                F32N_RUN_ASM("", "");
                break;
            case CNNC_ACT_RELU:
                F32N_RUN_ASM("movi v16.4s, #0\n\t", F32N_ACC16(F32N_RELU));
                break;
            case CNNC_ACT_RELU6:
                F32N_RUN_ASM("fmov v16.4s, #6.0\n\t", F32N_ACC16(F32N_RELU6));
                break;
            default:
                F32N_RUN_ASM("ld1r {v16.4s}, [%[lo]]\n\tld1r {v17.4s}, [%[hi]]\n\t",
                             F32N_ACC16(F32N_CLIP));
                break;
        }
#undef F32N_RUN_ASM
    } else {
#define F32N_RUN_ASM(set, a) F32N_RUN_LOOP(F32N_INIT8, F32N_LANE2, set, a, F32N_STORE8)
        switch (act->kind) {
            case CNNC_ACT_NONE:
                F32N_RUN_ASM("", "");
                break;
            case CNNC_ACT_RELU:
                F32N_RUN_ASM("movi v16.4s, #0\n\t", F32N_ACC8(F32N_RELU));
                break;
            case CNNC_ACT_RELU6:
                F32N_RUN_ASM("fmov v16.4s, #6.0\n\t", F32N_ACC8(F32N_RELU6));
                break;
            default:
                F32N_RUN_ASM("ld1r {v16.4s}, [%[lo]]\n\tld1r {v17.4s}, [%[hi]]\n\t",
                             F32N_ACC8(F32N_CLIP));
                break;
        }
#undef F32N_RUN_ASM
    }
    return npix / 4 * 4;
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
