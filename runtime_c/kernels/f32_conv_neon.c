/* AArch64 NEON exact-mode float32 kernels, bit-identical to their __ref kernels (separate
 * FMUL and FADD, the __ref order, no FMA; needs -ffp-contract=off, see f32_simd_neon.h): the
 * loops of f32_simd_loops.h on the hooks of f32_simd_neon.h. Empty on other targets, armv7
 * included (its NEON flushes subnormals: no exact variant there). Register tile: 4 pixels x
 * 4 vectors (16 channels) of output channels, its k loop in assembly (f32_neon_tile44 in
 * f32_simd_neon.h: 16 accumulators, 4 input vectors, 4 weight vectors, 8 product
 * temporaries; from C the tile spilled); 1x1 taps (dense, pwconv) run whole strips of
 * 16 or 8 channels by 4-pixel tiles in one assembly loop, bias and activation included
 * (f32_neon_run). */
#include "cnnc_f32.h"

#if defined(__ARM_NEON) && defined(__aarch64__)
#define F32_NEON 1
#define F32_FAST 0
#define F32_TARGET
#define F32_MR 4
#define F32_NV 4
#include "f32_simd_loops.h"

void cnnc_f32_dense__neon(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n, p->k, p->m, &p->act, x, w, bias, y);
}

/* The pixels are the rows of a dense layer, as in cnnc_f32_pwconv__ref. */
void cnnc_f32_pwconv__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y) {
    f32_dense_loops(p->n * p->h * p->w, p->c, p->out_c, &p->act, x, w, bias, y);
}

void cnnc_f32_conv_oc8__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y) {
    f32_conv_loops(p, x, w, bias, y);
}

void cnnc_f32_dwconv__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}

/* The general depthwise loops: their interior tiles already run the nine taps without
 * bounds checks, which is all cnnc_f32_dwconv3x3__ref adds over cnnc_f32_dwconv__ref. */
void cnnc_f32_dwconv3x3__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                              const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                              float *CNNC_RESTRICT y) {
    f32_dw_loops(p, x, w, bias, y);
}
#else
typedef int cnnc_f32_conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
