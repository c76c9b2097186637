/* NEON fast-mode (--float-mode fast) float32 kernels, not bit-exact: multiply-add in the
 * __ref order (FMLA on AArch64 and VFPv4; the chained VMLA on older ARMv7 NEON; ARMv7 NEON
 * also flushes subnormals), held to the 1e-4 contract: the loops of f32_simd_loops.h on the
 * hooks of f32_simd_neon.h. Empty without NEON. Register tile: 4 pixels x 4 vectors of
 * output channels with an FMLA k loop in assembly (AArch64, f32_neon_tile44), or 4 pixels
 * x 2 vectors (ARMv7). AArch64 1x1 taps (dense, pwconv): whole strips of 16 or 8 channels
 * by 4-pixel tiles in one assembly loop, bias and activation included (f32_neon_run). */
#include "cnnc_f32.h"

#if defined(__ARM_NEON)
#define F32_NEON 1
#define F32_FAST 1
#define F32_TARGET
#if defined(__aarch64__)
#define F32_MR 4
#define F32_NV 4
#else
#define F32_MR 4 /* 16 q registers: 8 accumulate, 4 hold x, 2 weights */
#endif
#include "f32_simd_loops.h"

void cnnc_f32_dense_fast__neon(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                               const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                               float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n, p->k, p->m, &p->act, x, w, bias, y);
}

/* The pixels are the rows of a dense layer, as in cnnc_f32_pwconv__ref. */
void cnnc_f32_pwconv_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n * p->h * p->w, p->c, p->out_c, &p->act, x, w, bias, y);
}

void cnnc_f32_conv_oc8_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                  const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                  float *CNNC_RESTRICT y) {
    f32_conv_loops(p, x, w, bias, y);
}

void cnnc_f32_dwconv_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}

/* The general depthwise loops: their interior tiles already run the nine taps without
 * bounds checks, which is all cnnc_f32_dwconv3x3__ref adds over cnnc_f32_dwconv__ref. */
void cnnc_f32_dwconv3x3_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                   const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                   float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}
#else
typedef int cnnc_f32_conv_fast_neon_empty; /* ISO C forbids an empty translation unit */
#endif
