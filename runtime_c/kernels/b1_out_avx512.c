/* AVX-512BW variants of the binary conv with float or int8 outputs (the last binary layer
 * of a network writing its int8 or float successor's input), bit-exact to their __ref
 * kernels: b1_conv_px_avx512.h's 16-pixel lanes where the pixel path applies (groups 1,
 * zero padding, stride_w 1, <= 256 channels), else the AVX2 variants (which take __ref).
 * Compiled on every x86-64 build (CNNC_TARGET_AVX512); run only on CPUs with AVX-512
 * F/BW/DQ/VL. */
#include "b1_conv_pq_avx512.h"
#include "cnnc_s8.h"

#if defined(__x86_64__)

CNNC_TARGET_AVX512 void cnnc_b1_conv_f32__avx512(const cnnc_b1_conv_params *p,
                                                 const uint32_t *CNNC_RESTRICT x,
                                                 const uint32_t *CNNC_RESTRICT w,
                                                 const float *CNNC_RESTRICT multiplier,
                                                 const float *CNNC_RESTRICT bias,
                                                 float *CNNC_RESTRICT y) {
    if (b1pq_applies(p))
        b1pq_conv_values(p, x, w, multiplier, bias, y, 0);
    else if (b1pz_applies(p))
        b1pz_conv_values(p, x, w, multiplier, bias, y, 0);
    else
        cnnc_b1_conv_f32__avx2(p, x, w, multiplier, bias, y);
}

CNNC_TARGET_AVX512 void cnnc_b1_conv_s8__avx512(const cnnc_b1_conv_params *p,
                                                const uint32_t *CNNC_RESTRICT x,
                                                const uint32_t *CNNC_RESTRICT w,
                                                const float *CNNC_RESTRICT multiplier,
                                                const float *CNNC_RESTRICT bias,
                                                int8_t *CNNC_RESTRICT y) {
    if (b1pq_applies(p))
        b1pq_conv_values(p, x, w, multiplier, bias, y, 1);
    else if (b1pz_applies(p))
        b1pz_conv_values(p, x, w, multiplier, bias, y, 1);
    else
        cnnc_b1_conv_s8__avx2(p, x, w, multiplier, bias, y);
}
#else
typedef int cnnc_b1_out_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
