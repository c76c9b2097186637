/* cnnc float32 kernels: one parameter struct per op, NHWC activations.
 *
 * Every kernel has a portable C99 reference version named cnnc_f32_<op>__ref; it is
 * the specification the NumPy reference (cnnc.reference) mirrors. Kernels never
 * allocate; all buffers are caller-owned. Shapes below use N batch, H/W spatial,
 * C input channels, Co output channels, OH/OW output spatial size.
 *
 * In-place use: the elementwise kernels (act, add, mul, scale_shift, sign, softmax)
 * allow out == a (or out == b for add/mul); no other kernel allows overlap.
 *
 * Float accumulators: sums are plain float32 in a fixed loop order (taps in
 * (ky, kx, c) order); float has no overflow concern at these magnitudes, and the
 * fixed order keeps every variant's rounding identical to the __ref kernel.
 */
#ifndef CNNC_F32_H
#define CNNC_F32_H

#include <math.h>

#include "cnnc.h"
#include "cnnc_math.h"

/* ---- fused activation epilogue --------------------------------------------- */

typedef enum {
    CNNC_ACT_NONE = 0,
    CNNC_ACT_RELU = 1,       /* max(x, 0) */
    CNNC_ACT_RELU6 = 2,      /* min(max(x, 0), 6) */
    CNNC_ACT_CLIP = 3,       /* min(max(x, min), max) */
    CNNC_ACT_LEAKY_RELU = 4, /* x >= 0 ? x : alpha * x */
    CNNC_ACT_SIGMOID = 5,    /* 1 / (1 + exp(-x)) */
    CNNC_ACT_ELU = 6,        /* x > 0 ? x : alpha * (exp(x) - 1) */
    CNNC_ACT_TANH = 7,       /* tanh(x) */
    CNNC_ACT_SILU = 8,       /* x * sigmoid(x) (SiLU, swish) */
    CNNC_ACT_HARD_SWISH = 9  /* x * min(max(x * (1/6) + 0.5, 0), 1) (ONNX HardSwish) */
} cnnc_act_kind;
/* SIGMOID, TANH and SILU use cnnc_math.h (cnnc's own exp, mirrored by cnnc.ops.fmath), never
 * libm: the results are the same bits on every target. */

/* cffi-begin */
typedef struct {
    int32_t kind; /* cnnc_act_kind */
    float min;    /* CLIP lower bound (may be -INFINITY) */
    float max;    /* CLIP upper bound (may be +INFINITY) */
    float alpha;  /* LEAKY_RELU slope for x < 0; ELU scale */
} cnnc_f32_act;
/* cffi-end */

CNNC_INLINE float cnnc_f32_apply_act(const cnnc_f32_act *act, float x) {
    switch (act->kind) {
        /* NaN passes through every clamp, as np.maximum / np.minimum propagate it: each
         * comparison with NaN is false, so x is kept. Clip is min(max(x, lo), hi) as in
         * ONNX, so lo > hi gives hi. */
        case CNNC_ACT_RELU:
            return x > 0.0f || x != x ? x : 0.0f; /* -0 -> +0 as np.maximum */
        case CNNC_ACT_RELU6:
            return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
        case CNNC_ACT_CLIP: {
            const float lifted = x < act->min ? act->min : x;
            return lifted > act->max ? act->max : lifted;
        }
        case CNNC_ACT_LEAKY_RELU:
            return x >= 0.0f ? x : act->alpha * x;
        case CNNC_ACT_SIGMOID:
            return cnnc_sigmoidf(x);
        case CNNC_ACT_TANH:
            return cnnc_tanhf(x);
        case CNNC_ACT_SILU: {
            const float s = cnnc_sigmoidf(x);
            return x * s;
        }
        case CNNC_ACT_HARD_SWISH: {
            const float v = x * 0x1.555556p-3f + 0.5f; /* float32(1/6); two roundings */
            const float g = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
            return x * g;
        }
        case CNNC_ACT_ELU:
            return x > 0.0f ? x : act->alpha * expm1f(x);
        default:
            return x;
    }
}

/* cffi-begin */
/* ---- conv2d: general, depthwise (3x3 fast path), pointwise ------------------ */

/* x[N,H,W,C], bias[Co] or NULL -> y[N,OH,OW,Co]. Weight layout per kernel:
 *   cnnc_f32_conv__ref       w[Co,KH,KW,C/groups]   (the IR layout)
 *   cnnc_f32_conv_oc8__ref   w[KH,KW,C,Co]          (groups 1; output channels in tiles of 8)
 *   cnnc_f32_dwconv*__ref    w[KH,KW,C]             (tap-major: contiguous over channels)
 *   cnnc_f32_pwconv__ref     w[C,Co]                (input-major: contiguous over outputs)
 * The compiler repacks the IR weights for the fast kernels (codegen's Emit.packed).
 * Every kernel sums each output as bias, then taps in (ky, kx, c) order, so all of
 * them give bit-identical results to cnnc_f32_conv__ref on the shapes they accept.
 * Output pixel (oy, ox) reads input rows oy*sh - pad_top + ky*dh (likewise for
 * columns); taps outside the input are zero (ONNX zero padding). Bottom/right
 * padding is implied by OH/OW. Ranges: all sizes >= 1, strides/dilations >= 1,
 * pads >= 0, groups divides C and Co. Depthwise kernels require groups == C == Co;
 * the pointwise kernel requires KH == KW == 1, stride 1, no pads, groups 1. */
typedef struct {
    int32_t n, h, w, c;             /* input shape, NHWC */
    int32_t out_h, out_w, out_c;    /* output shape; out_c divisible by groups */
    int32_t kernel_h, kernel_w;     /* >= 1 */
    int32_t stride_h, stride_w;     /* >= 1 */
    int32_t dilation_h, dilation_w; /* >= 1 */
    int32_t pad_top, pad_left;      /* bottom/right padding is implied by out_h/out_w */
    int32_t groups;                 /* c and out_c both divisible by groups */
    cnnc_f32_act act;
} cnnc_f32_conv_params;

void cnnc_f32_conv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                        const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                        float *CNNC_RESTRICT y);
void cnnc_f32_conv_oc8__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                            const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                            float *CNNC_RESTRICT y);
void cnnc_f32_dwconv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y);
void cnnc_f32_pwconv__ref(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y);

/* x86-64 SIMD siblings of the kernels above (runtime_c/kernels/f32_conv_avx2.c,
 * f32_conv_fast_avx2.c, f32_conv_avx512.c, f32_conv_fast_avx512.c; listed in
 * cnnc.ops.variants), same signatures and weight layouts, compiled into every x86-64 build
 * (target attributes, no -m flags) and declared everywhere; call one only on a CPU with
 * its ISA (AVX2: avx2; fast AVX2: avx2 + fma; AVX-512: avx512f/bw/dq/vl). Vector lanes run
 * over output channels. __<isa> (exact mode, the default contract): each output sums bias,
 * then taps in (ky, kx, c) order, one rounded multiply and one rounded add per tap, no
 * FMA, so the results are bit-identical to the __ref kernel, inf, -0 and the activations'
 * NaN rules included (a NaN's sign and payload are the compiler's choice in __ref too).
 * _fast__<isa> (--float-mode fast): FMA in the same order; contract 1e-4 of the output
 * range. The SIMD dwconv3x3 and dwconv share one loop nest. */
void cnnc_f32_conv_oc8__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y);
void cnnc_f32_conv_oc8_fast__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                  const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                  float *CNNC_RESTRICT y);
void cnnc_f32_conv_oc8__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                               const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                               float *CNNC_RESTRICT y);
void cnnc_f32_conv_oc8_fast__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                    const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                    float *CNNC_RESTRICT y);
void cnnc_f32_dwconv__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y);
void cnnc_f32_dwconv_fast__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y);
void cnnc_f32_dwconv__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y);
void cnnc_f32_dwconv_fast__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                  const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                  float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                              const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                              float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3_fast__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                   const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                   float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3_fast__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                     const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                     float *CNNC_RESTRICT y);
void cnnc_f32_pwconv__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y);
void cnnc_f32_pwconv_fast__avx2(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y);
void cnnc_f32_pwconv__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y);
void cnnc_f32_pwconv_fast__avx512(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                  const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                  float *CNNC_RESTRICT y);

/* ---- dense ------------------------------------------------------------------ */

/* x[N,K], w[K,M] (the IR's [M,K] transposed by the compiler), bias[M] or NULL -> y[N,M].
 * Each output sums bias, then k = 0..K-1 in order. Ranges: N, K, M >= 1. */
typedef struct {
    int32_t n, k, m; /* x[n][k] -> y[n][m] */
    cnnc_f32_act act;
} cnnc_f32_dense_params;

void cnnc_f32_dense__ref(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                         const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                         float *CNNC_RESTRICT y);

/* x86-64 SIMD siblings (see the conv ones above for the modes and ISAs). */
void cnnc_f32_dense__avx2(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y);
void cnnc_f32_dense_fast__avx2(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                               const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                               float *CNNC_RESTRICT y);
void cnnc_f32_dense__avx512(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                            const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                            float *CNNC_RESTRICT y);
void cnnc_f32_dense_fast__avx512(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                                 const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                 float *CNNC_RESTRICT y);

/* Outputs [c0, c1) of every row of cnnc_f32_dense__<isa> (0 <= c0 <= c1 <= m), for the
 * threaded entry point's column split (model_threads.c). */
void cnnc_f32_dense_cols__avx2(const cnnc_f32_dense_params *p, int32_t c0, int32_t c1,
                               const float *CNNC_RESTRICT x, const float *CNNC_RESTRICT w,
                               const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);
void cnnc_f32_dense_cols__avx512(const cnnc_f32_dense_params *p, int32_t c0, int32_t c1,
                                 const float *CNNC_RESTRICT x, const float *CNNC_RESTRICT w,
                                 const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);

/* ARM NEON siblings (runtime_c/kernels/f32_conv_neon.c, f32_conv_fast_neon.c; listed in
 * cnnc.ops.variants), same signatures, modes and weight layouts as the x86-64 ones above,
 * declared everywhere. __neon (exact) is defined only in AArch64 builds (ARMv7's NEON
 * flushes subnormals, so it cannot be bit-identical); _fast__neon in every NEON build. */
void cnnc_f32_conv_oc8__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                             const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                             float *CNNC_RESTRICT y);
void cnnc_f32_conv_oc8_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                  const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                  float *CNNC_RESTRICT y);
void cnnc_f32_dwconv__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y);
void cnnc_f32_dwconv_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                              const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                              float *CNNC_RESTRICT y);
void cnnc_f32_dwconv3x3_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                   const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                   float *CNNC_RESTRICT y);
void cnnc_f32_pwconv__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                           const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                           float *CNNC_RESTRICT y);
void cnnc_f32_pwconv_fast__neon(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                float *CNNC_RESTRICT y);
void cnnc_f32_dense__neon(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT y);
void cnnc_f32_dense_fast__neon(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                               const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                               float *CNNC_RESTRICT y);

/* ---- pooling ---------------------------------------------------------------- */

/* x[N,H,W,C] -> y[N,OH,OW,C]. The window of output (oy, ox) starts at input row
 * oy*stride_h - pad_top and spans kernel_h rows, clipped to the input. Max pooling ignores
 * padding (ONNX pads with -inf). Average pooling divides by the number of valid
 * taps, or with count_include_pad by the taps inside the padded extent
 * [-pad_top, H + pad_bottom) x [-pad_left, W + pad_right) (ceil_mode taps beyond
 * it never count), as onnxruntime does. A window with no valid tap gives 0 (avg)
 * or -INFINITY (max); ONNX shape rules prevent both. */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t count_include_pad; /* 0 or 1, average pooling only */
} cnnc_f32_pool_params;

void cnnc_f32_maxpool__ref(const cnnc_f32_pool_params *p, const float *CNNC_RESTRICT x,
                           float *CNNC_RESTRICT y);
void cnnc_f32_avgpool__ref(const cnnc_f32_pool_params *p, const float *CNNC_RESTRICT x,
                           float *CNNC_RESTRICT y);

/* x[N,HW,C] -> y[N,C] (mean over the HW pixels). */
typedef struct {
    int32_t n, hw, c;
} cnnc_f32_global_avgpool_params;

void cnnc_f32_global_avgpool__ref(const cnnc_f32_global_avgpool_params *p,
                                  const float *CNNC_RESTRICT x, float *CNNC_RESTRICT y);

/* ---- elementwise ------------------------------------------------------------ */

/* a[rows,cols] (op) b -> y[rows,cols], then the activation. b is read at
 * b[r*b_row_stride + i*b_col_stride]: same shape (cols, 1), per channel (0, 1),
 * scalar (0, 0). y may alias a or b. */
typedef struct {
    int32_t rows, cols;
    int32_t b_row_stride, b_col_stride;
    cnnc_f32_act act;
} cnnc_f32_binary_params;

void cnnc_f32_add__ref(const cnnc_f32_binary_params *p, const float *a, const float *b, float *y);
void cnnc_f32_mul__ref(const cnnc_f32_binary_params *p, const float *a, const float *b, float *y);

/* x[rows,C] * scale[C] + shift[C] -> y[rows,C] (standalone BatchNorm); y may alias x. */
typedef struct {
    int32_t rows, c;
    cnnc_f32_act act;
} cnnc_f32_scale_shift_params;

void cnnc_f32_scale_shift__ref(const cnnc_f32_scale_shift_params *p, const float *x,
                               const float *scale, const float *shift, float *y);

/* x[size] -> act(x) (a standalone activation); y may alias x. */
typedef struct {
    int32_t size;
    cnnc_f32_act act;
} cnnc_f32_act_params;

void cnnc_f32_act__ref(const cnnc_f32_act_params *p, const float *x, float *y);

/* x[size] -> +1 where x >= 0 else -1 (XNOR-Net sign, sign(0) = +1; NaN -> -1);
 * y may alias x. */
typedef struct {
    int32_t size;
} cnnc_f32_sign_params;

void cnnc_f32_sign__ref(const cnnc_f32_sign_params *p, const float *x, float *y);

/* x[size] -> max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid); y may alias x. */
typedef struct {
    int32_t size;
    float alpha, beta;
} cnnc_f32_hard_sigmoid_params;

void cnnc_f32_hard_sigmoid__ref(const cnnc_f32_hard_sigmoid_params *p, const float *x, float *y);

/* ---- concat, softmax, transpose --------------------------------------------- */

/* One input of a concat along the last axis: x[outer,c_in] is copied into
 * y[outer,c_out] at columns [c_offset, c_offset+c_in). Called once per input. */
typedef struct {
    int32_t outer, c_in, c_out, c_offset;
} cnnc_f32_concat_params;

void cnnc_f32_concat__ref(const cnnc_f32_concat_params *p, const float *CNNC_RESTRICT x,
                          float *CNNC_RESTRICT y);

/* One output of a Split along the last axis: y[outer,c_out] is x[outer,c_in] at columns
 * [c_offset, c_offset+c_out). */
typedef struct {
    int32_t outer, c_in, c_out, c_offset;
} cnnc_f32_slice_params;

void cnnc_f32_slice__ref(const cnnc_f32_slice_params *p, const float *CNNC_RESTRICT x,
                         float *CNNC_RESTRICT y);

/* x[outer,C] -> softmax over C (max-subtracted for range); y may alias x. */
typedef struct {
    int32_t outer, c;
} cnnc_f32_softmax_params;

void cnnc_f32_softmax__ref(const cnnc_f32_softmax_params *p, const float *x, float *y);

#define CNNC_MAX_RANK 6

/* x of shape in_shape[rank] -> y = x.transpose(perm), i.e. y's axis i is x's axis
 * perm[i]. Ranges: 1 <= rank <= CNNC_MAX_RANK, perm a permutation of [0, rank). */
typedef struct {
    int32_t rank;
    int32_t in_shape[CNNC_MAX_RANK];
    int32_t perm[CNNC_MAX_RANK];
} cnnc_f32_transpose_params;

void cnnc_f32_transpose__ref(const cnnc_f32_transpose_params *p, const float *CNNC_RESTRICT x,
                             float *CNNC_RESTRICT y);

/* cffi-end */

/* Kernel types: generated code keeps the variant model init picked (cnnc.ops.variants). */
typedef void cnnc_f32_conv_fn(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                              const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                              float *CNNC_RESTRICT y);
typedef void cnnc_f32_dense_fn(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                               const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                               float *CNNC_RESTRICT y);

/* ---- spatial ops of segmentation heads (f32_spatial.c, cnnc.ops.spatial) ------- */
/* cffi-begin */
/* Pad x[N][H][W][C] -> y[N][OH][OW][C]: input pixel (iy, ix) lands at output
 * (pad_top + iy*stride_h, pad_left + ix*stride_w); other outputs are value (mode
 * CNNC_PAD_CONSTANT; stride > 1 is a transposed conv's zero insertion), or the nearest
 * edge pixel (CNNC_PAD_EDGE), or the mirror image without the edge (CNNC_PAD_REFLECT,
 * pads < H, W). Ranges: sizes >= 1, pads >= 0, strides >= 1 (1 unless constant). */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t pad_top, pad_left; /* bottom/right padding is implied by out_h/out_w */
    int32_t stride_h, stride_w;
    int32_t mode; /* CNNC_PAD_* */
    float value;  /* CNNC_PAD_CONSTANT */
} cnnc_f32_pad_params;

void cnnc_f32_pad__ref(const cnnc_f32_pad_params *p, const float *CNNC_RESTRICT x,
                       float *CNNC_RESTRICT y);

/* Resize x[N][H][W][C] -> y[N][OH][OW][C] by tables the compiler computed:
 * ytab[OH][2], xtab[OW][2] source indices (clamped into the input by the kernel),
 * wy[OH][2], wx[OW][2] their weights (linear only). mode: CNNC_RESIZE_*. */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t mode;
} cnnc_f32_resize_params;

void cnnc_f32_resize__ref(const cnnc_f32_resize_params *p, const float *CNNC_RESTRICT x,
                          const int32_t *ytab, const int32_t *xtab, const float *wy,
                          const float *wx, float *CNNC_RESTRICT y);
/* cffi-end */

#endif /* CNNC_F32_H */
