/* AVX2+FMA fast-mode (--float-mode fast) float32 kernels, not bit-exact: FMA, in the __ref order,
 * held to the 1e-4 contract: the loops of f32_simd_loops.h on the hooks of f32_simd_x86.h. Compiled
 * into every x86-64 build (each function carries CNNC_TARGET_AVX2_FMA, so no -m flag is needed); a
 * caller runs them only on a CPU with the feature. Empty on other targets. Register tile: 6 pixels
 * x 2 vectors of output channels. */
#include "cnnc_f32.h"

#if defined(__x86_64__)
#define F32_AVX512 0
#define F32_FAST 1
#define F32_TARGET CNNC_TARGET_AVX2_FMA
#define F32_MR 6
#include "f32_simd_loops.h"

F32_TARGET void cnnc_f32_dense_fast__avx2(const cnnc_f32_dense_params *p,
                                          const float *CNNC_RESTRICT x,
                                          const float *CNNC_RESTRICT w,
                                          const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n, p->k, p->m, &p->act, x, w, bias, y);
}

/* The pixels are the rows of a dense layer, as in cnnc_f32_pwconv__ref. */
F32_TARGET void cnnc_f32_pwconv_fast__avx2(const cnnc_f32_conv_params *p,
                                           const float *CNNC_RESTRICT x,
                                           const float *CNNC_RESTRICT w,
                                           const float *CNNC_RESTRICT bias,
                                           float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n * p->h * p->w, p->c, p->out_c, &p->act, x, w, bias, y);
}

F32_TARGET void cnnc_f32_conv_oc8_fast__avx2(const cnnc_f32_conv_params *p,
                                             const float *CNNC_RESTRICT x,
                                             const float *CNNC_RESTRICT w,
                                             const float *CNNC_RESTRICT bias,
                                             float *CNNC_RESTRICT y) {
    f32_conv_loops(p, x, w, bias, y);
}

F32_TARGET void cnnc_f32_dwconv_fast__avx2(const cnnc_f32_conv_params *p,
                                           const float *CNNC_RESTRICT x,
                                           const float *CNNC_RESTRICT w,
                                           const float *CNNC_RESTRICT bias,
                                           float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}

/* The general depthwise loops: their interior tiles already run the nine taps without
 * bounds checks, which is all cnnc_f32_dwconv3x3__ref adds over cnnc_f32_dwconv__ref. */
F32_TARGET void cnnc_f32_dwconv3x3_fast__avx2(const cnnc_f32_conv_params *p,
                                              const float *CNNC_RESTRICT x,
                                              const float *CNNC_RESTRICT w,
                                              const float *CNNC_RESTRICT bias,
                                              float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}
#else
typedef int cnnc_f32_conv_fast_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
