/* The vector hooks f32_simd_loops.h is written over, for one x86 ISA and float mode.
 * The including file defines, before including this header:
 *   F32_AVX512  0 (AVX2, 8 float lanes) or 1 (AVX-512, 16 lanes)
 *   F32_FAST    0 (exact: separate mul then add, the __ref order) or 1 (FMA)
 *   F32_TARGET  the target attribute every function of the file carries
 * and includes it only under defined(__x86_64__).
 *
 * Tails of the output-channel vector use masked loads and stores: a masked-off lane
 * loads 0 and is never stored, so each stored lane computes exactly what __ref does.
 *
 * The activation epilogue reproduces cnnc_f32_apply_act bit for bit, NaN and -0 included.
 * MAXPS(a, b) is "a > b ? a : b" and MINPS(a, b) "a < b ? a : b" (the second operand when
 * unordered), so with t = MINPS(hi, x):
 *   relu  x > 0 || x != x ? x : 0       = blend(MAXPS(x, 0), x, x unordered)
 *   relu6 x < 0 ? 0 : (x > 6 ? 6 : x)    = MAXPS(0, t) (x < 0 <=> t < 0, as 6 > 0)
 *   clip  l = x < lo ? lo : x; l > hi ? hi : l = MINPS(hi, blend(x, lo, x < lo))
 *         (ONNX's min(max(x, lo), hi): lo > hi gives hi; NaN passes)
 * Other activations call the scalar cnnc_f32_apply_act lane by lane. */
#ifndef F32_SIMD_X86_H
#define F32_SIMD_X86_H

#include <immintrin.h>

#include "cnnc_f32.h"

#define F32_INLINE static __inline__ __attribute__((always_inline)) F32_TARGET

#if F32_AVX512

#define F32_LANES 16
typedef __m512 f32v;
typedef __mmask16 f32m; /* lanes [0, n) */

F32_INLINE f32m f32m_first(int n) { return (f32m)((1u << n) - 1u); }
F32_INLINE f32v f32v_zero(void) { return _mm512_setzero_ps(); }
F32_INLINE f32v f32v_set1(float a) { return _mm512_set1_ps(a); }
F32_INLINE f32v f32v_load(const float *p) { return _mm512_loadu_ps(p); }
F32_INLINE f32v f32v_loadm(const float *p, f32m m) { return _mm512_maskz_loadu_ps(m, p); }
F32_INLINE void f32v_store(float *p, f32v v) { _mm512_storeu_ps(p, v); }
F32_INLINE void f32v_storem(float *p, f32m m, f32v v) { _mm512_mask_storeu_ps(p, m, v); }
F32_INLINE f32v f32v_max(f32v a, f32v b) { return _mm512_max_ps(a, b); }
F32_INLINE f32v f32v_min(f32v a, f32v b) { return _mm512_min_ps(a, b); }
/* lanes where x < lo take lo */
F32_INLINE f32v f32v_below(f32v t, f32v x, f32v lo) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), t, lo);
}
/* lanes where x is NaN take x */
F32_INLINE f32v f32v_keep_nan(f32v t, f32v x) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), t, x);
}
#if F32_FAST
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) { return _mm512_fmadd_ps(x, w, acc); }
#else
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) {
    return _mm512_add_ps(acc, _mm512_mul_ps(x, w));
}
#endif

#else /* AVX2 */

#define F32_LANES 8
typedef __m256 f32v;
typedef __m256i f32m; /* all-ones in lanes [0, n) */

F32_INLINE f32m f32m_first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
F32_INLINE f32v f32v_zero(void) { return _mm256_setzero_ps(); }
F32_INLINE f32v f32v_set1(float a) { return _mm256_set1_ps(a); }
F32_INLINE f32v f32v_load(const float *p) { return _mm256_loadu_ps(p); }
F32_INLINE f32v f32v_loadm(const float *p, f32m m) { return _mm256_maskload_ps(p, m); }
F32_INLINE void f32v_store(float *p, f32v v) { _mm256_storeu_ps(p, v); }
F32_INLINE void f32v_storem(float *p, f32m m, f32v v) { _mm256_maskstore_ps(p, m, v); }
F32_INLINE f32v f32v_max(f32v a, f32v b) { return _mm256_max_ps(a, b); }
F32_INLINE f32v f32v_min(f32v a, f32v b) { return _mm256_min_ps(a, b); }
F32_INLINE f32v f32v_below(f32v t, f32v x, f32v lo) {
    return _mm256_blendv_ps(t, lo, _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
}
/* lanes where x is NaN take x */
F32_INLINE f32v f32v_keep_nan(f32v t, f32v x) {
    return _mm256_blendv_ps(t, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}
#if F32_FAST
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) { return _mm256_fmadd_ps(x, w, acc); }
#else
F32_INLINE f32v f32v_mac(f32v acc, f32v x, f32v w) {
    return _mm256_add_ps(acc, _mm256_mul_ps(x, w));
}
#endif

#endif /* F32_AVX512 */

/* Loads lanes [0, n) of p (n <= F32_LANES); full vectors take the unmasked load. */
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

/* cnnc_f32_apply_act on every lane, bit for bit (see the derivation above). */
F32_INLINE f32v f32v_act(const cnnc_f32_act *act, f32v x) {
    switch (act->kind) {
        case CNNC_ACT_NONE:
            return x;
        case CNNC_ACT_RELU:
            return f32v_keep_nan(f32v_max(x, f32v_zero()), x);
        case CNNC_ACT_RELU6:
            return f32v_max(f32v_zero(), f32v_min(f32v_set1(6.0f), x));
        case CNNC_ACT_CLIP:
            return f32v_min(f32v_set1(act->max), f32v_below(x, x, f32v_set1(act->min)));
        default: {
            float lane[F32_LANES];
            int j;
            f32v_store(lane, x);
            for (j = 0; j < F32_LANES; ++j) lane[j] = cnnc_f32_apply_act(act, lane[j]);
            return f32v_load(lane);
        }
    }
}

#endif /* F32_SIMD_X86_H */
