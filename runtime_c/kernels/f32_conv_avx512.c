/* AVX-512 exact-mode float32 kernels, bit-identical to their __ref kernels (separate mul and add,
 * the __ref order, no FMA: built with -ffp-contract=off): the loops of f32_simd_loops.h on the
 * hooks of f32_simd_x86.h. Compiled into every x86-64 build (each function carries
 * CNNC_TARGET_AVX512, so no -m flag is needed); a caller runs them only on a CPU with the
 * feature. Empty on other targets. Register tile: 8 pixels x 2 vectors of output channels. */
#include "cnnc_f32.h"

#if defined(__x86_64__)
#define F32_AVX512 1
#define F32_FAST 0
#define F32_TARGET CNNC_TARGET_AVX512
#define F32_MR 8
#include "f32_simd_loops.h"
#include "f32_dense_cols.h"

F32_TARGET void cnnc_f32_dense__avx512(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                                       const float *CNNC_RESTRICT w,
                                       const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n, p->k, p->m, &p->act, x, w, bias, y);
}

/* The pixels are the rows of a dense layer, as in cnnc_f32_pwconv__ref. */
F32_TARGET void cnnc_f32_pwconv__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                        const float *CNNC_RESTRICT w,
                                        const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n * p->h * p->w, p->c, p->out_c, &p->act, x, w, bias, y);
}

F32_TARGET void cnnc_f32_conv_oc8__avx512(const cnnc_f32_conv_params *p,
                                          const float *CNNC_RESTRICT x,
                                          const float *CNNC_RESTRICT w,
                                          const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    f32_conv_loops(p, x, w, bias, y);
}

F32_TARGET void cnnc_f32_dwconv__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                        const float *CNNC_RESTRICT w,
                                        const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}

/* The general depthwise loops: their interior tiles already run the nine taps without
 * bounds checks, which is all cnnc_f32_dwconv3x3__ref adds over cnnc_f32_dwconv__ref. */
F32_TARGET void cnnc_f32_dwconv3x3__avx512(const cnnc_f32_conv_params *p,
                                           const float *CNNC_RESTRICT x,
                                           const float *CNNC_RESTRICT w,
                                           const float *CNNC_RESTRICT bias,
                                           float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}

/* Outputs [c0, c1) of every row (model_threads.c's column split; f32_dense_cols.h). */
F32_TARGET void cnnc_f32_dense_cols__avx512(const cnnc_f32_dense_params *p, int32_t c0, int32_t c1,
                                            const float *CNNC_RESTRICT x,
                                            const float *CNNC_RESTRICT w,
                                            const float *CNNC_RESTRICT bias,
                                            float *CNNC_RESTRICT y) {
    f32_dense_cols_loops(p, c0, c1, x, w, bias, y);
}
#else
typedef int cnnc_f32_conv_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
