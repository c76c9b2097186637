/* cnnc int8 kernels: the TFLite/TFLM quantisation scheme, integer-only.
 *
 * real = scale * (q - zero_point). Activations: int8, per tensor, asymmetric.
 * Weights: int8, per output channel, symmetric (zero point 0, values in [-127, 127]).
 * Bias: int32 at scale s_x * s_w[c]. Accumulation: int32. Requantisation of an
 * accumulator to the output scale: one function pair below, mirrored bit for bit by
 * cnnc/requant.py (requant_single / requant_double).
 *
 * Every kernel has a params struct (shapes, zero points, clamp bounds, rounding) that
 * generated code keeps `static const`; tensors (activations, weights, per-channel
 * bias / multiplier / shift from the weight blob) are passed as arguments.
 * Layouts: activations NHWC; weights as the kernels read them, repacked by the compiler
 * from the IR's conv [Co][KH][KW][C/groups] / dense [M][K] (cnnc.ops.s8.pack_weights).
 * No kernel allocates, none keeps state, none executes a floating-point operation
 * except cnnc_s8_quantize__ref / cnnc_s8_dequantize__ref at the model boundary, and the
 * one float32 multiply of the onnxruntime rounding (CNNC_ROUND_ONNXRUNTIME, pre-quantised
 * models compiled with --rounding onnxruntime only). */
#ifndef CNNC_S8_H
#define CNNC_S8_H

#include "cnnc.h"

/* ---------------------------------------------------------------------------------
 * Requantisation: y = x * M with the real multiplier M = m * 2^(s - 31).
 *
 * Contract (checked by the compiler, cnnc.ops.requant.check_multiplier; not re-checked here):
 *   x: any int32; m: 0 <= m <= 2^31 - 1 (m in [2^30, 2^31) when made by
 *   quantize_multiplier, or 0); s: -31 <= s <= 30. The result is an int32; every
 *   intermediate below is exact in int64. Signed right shifts are arithmetic
 *   (floor), as on gcc, clang and armcc (asserted at compile time below).
 *
 * single rounding (TFLITE_SINGLE_ROUNDING):
 *   y = sat32(floor((x*m + 2^(30-s)) / 2^(31-s)))      round to nearest, ties toward +inf
 * double rounding (gemmlowp SaturatingRoundingDoublingHighMul + RoundingDivideByPOT,
 * the TFLM default):
 *   x' = sat32(x * 2^max(s,0))        saturates (before the multiply) where TFLM overflows
 *   h  = trunc((x'*m + (x'*m >= 0 ? 2^30 : 1 - 2^30)) / 2^31)
 *      = floor(x'*m / 2^31 + 1/2)     nearest, ties toward +inf (as ARM VQRDMULH)
 *   y  = h / 2^max(-s,0)              nearest, ties away from zero
 * Example, M = 2^-2 (m = 2^30, s = -1), x = -2: single gives 0, double gives -1.
 * ------------------------------------------------------------------------------- */
typedef enum {
    CNNC_ROUND_SINGLE = 0,
    CNNC_ROUND_DOUBLE = 1,
    CNNC_ROUND_ONNXRUNTIME = 2 /* pre-quantised models only: see cnnc_requant_onnxruntime */
} cnnc_rounding;

/* Output channels accumulated together by the conv/dense kernels (int32 acc[] on the stack). */
#define CNNC_S8_BLOCK 16

/* A negative array size breaks the build where >> on negative values is not arithmetic. */
typedef char cnnc_s8_arithmetic_shift_check[((-1) >> 1) == -1 ? 1 : -1];

CNNC_INLINE int32_t cnnc_sat32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

CNNC_INLINE int32_t cnnc_requant_single(int32_t x, int32_t m, int32_t s) {
    const int total = 31 - s;                        /* 1..62 */
    const int64_t round = (int64_t)1 << (total - 1); /* <= 2^61 */
    /* |x*m| <= 2^31 * (2^31 - 1) < 2^62, plus round <= 2^61: no int64 overflow. */
    return cnnc_sat32(((int64_t)x * m + round) >> total);
}

CNNC_INLINE int32_t cnnc_requant_double(int32_t x, int32_t m, int32_t s) {
    const int left = s > 0 ? s : 0;
    const int right = s > 0 ? 0 : -s;                                 /* 0..31 */
    const int64_t xs = cnnc_sat32((int64_t)x * ((int64_t)1 << left)); /* |x|*2^30 < 2^62 */
    const int64_t ab = xs * m;                                        /* |ab| <= 2^62: exact */
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    const int64_t h = (ab + nudge) / ((int64_t)1 << 31); /* C division truncates to zero */
    /* m >= 0, so SaturatingRoundingDoublingHighMul's INT32_MIN*INT32_MIN case cannot occur;
     * |h| <= 2^31 - 1 after the high multiply. */
    const int64_t mask = ((int64_t)1 << right) - 1;
    const int64_t remainder = h & mask;
    const int64_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);
    return (int32_t)((h >> right) + (remainder > threshold ? 1 : 0));
}

/* onnxruntime rounding (cnnc/requant.py requant_onnxruntime; `cnnc compile --rounding
 * onnxruntime` of a pre-quantised model): m holds the bits of a float32 multiplier M > 0
 * (s is 0 and unused), y = rne(float(x) * M) in IEEE float32 as onnxruntime's MLAS does,
 * clamped to [-32768, 32767] before rounding (NaN to -32768): no int8 result changes, as
 * y + zero_point is clamped to [-128, 127] after. The one floating-point operation in
 * the int8 kernels, deterministic on every target (one multiply: nothing to contract);
 * the rounding below is exact integer logic, independent of the FPU's rounding mode. */
CNNC_INLINE float cnnc_f32_from_bits(int32_t bits) {
    union {
        int32_t i;
        float f;
    } u;
    u.i = bits;
    return u.f;
}

CNNC_INLINE int32_t cnnc_rne_f32(float v) {
    int32_t t;
    float frac;
    if (!(v > -32768.0f)) v = -32768.0f; /* also NaN */
    if (!(v < 32767.0f)) v = 32767.0f;
    t = (int32_t)v;      /* truncates toward zero; exact in range */
    frac = v - (float)t; /* exact: |v| < 2^15 */
    if (frac > 0.5f || (frac == 0.5f && (t & 1))) {
        ++t;
    } else if (frac < -0.5f || (frac == -0.5f && (t & 1))) {
        --t;
    }
    return t;
}

CNNC_INLINE int32_t cnnc_requant_onnxruntime(int32_t x, int32_t m) {
    return cnnc_rne_f32((float)x * cnnc_f32_from_bits(m));
}

/* The requantisation every kernel calls; `rounding` is a cnnc_rounding from the params. */
CNNC_INLINE int32_t cnnc_requant(int32_t x, int32_t m, int32_t s, int32_t rounding) {
    if (rounding == CNNC_ROUND_ONNXRUNTIME) return cnnc_requant_onnxruntime(x, m);
    return rounding == CNNC_ROUND_DOUBLE ? cnnc_requant_double(x, m, s)
                                         : cnnc_requant_single(x, m, s);
}

/* Requantise, add the output zero point, clamp to [lo, hi] (the fused activation's
 * bounds in the output's int8 domain, -128 <= lo <= hi <= 127). */
CNNC_INLINE int8_t cnnc_requant_s8(int32_t acc, int32_t m, int32_t s, int32_t rounding,
                                   int32_t zero_point, int32_t lo, int32_t hi) {
    int64_t v = (int64_t)cnnc_requant(acc, m, s, rounding) + zero_point;
    v = v < lo ? lo : (v > hi ? hi : v);
    return (int8_t)v;
}

/* ---------------------------------------------------------------------------------
 * Kernel parameters. Everything between cffi-begin and cffi-end is plain declarations
 * that tests hand to cffi's cdef (cnnc.host.kernels.header_cdef, the same for every family).
 * Clamp bounds act_min/act_max are in the output's int8 domain,
 * -128 <= act_min <= act_max <= 127: ReLU gives act_min = y_zero_point, ReLU6 also
 * act_max = y_zero_point + round(6 / s_y). Zero points are in [-128, 127].
 * ------------------------------------------------------------------------------- */
/* cffi-begin */
/* Convolution: cnnc_s8_conv__ref (any groups), cnnc_s8_dwconv__ref (groups == c == out_c),
 * cnnc_s8_pwconv__ref (1x1, stride 1, no padding, groups 1).
 *   x[n][h][w][c] int8; w int8 (symmetric, |w| <= 127) as packed for the kernel:
 *   conv w[groups][kh][kw][c/groups][oc/groups], dwconv w[kh][kw][c], pwconv w[c][oc];
 *   bias[oc] int32 (scale s_x*s_w[oc]), mult[oc]/shift[oc] (M = s_x*s_w[oc]/s_y),
 *   y[n][oh][ow][oc] int8. Padding taps read as x_zero_point (real 0). */
typedef struct {
    int32_t n, h, w, c;             /* input shape, NHWC */
    int32_t out_h, out_w, out_c;    /* output shape; out_c divisible by groups */
    int32_t kernel_h, kernel_w;     /* kernel size */
    int32_t stride_h, stride_w;     /* >= 1 */
    int32_t dilation_h, dilation_w; /* >= 1 (every variant honours it) */
    int32_t pad_top, pad_left;      /* bottom/right padding is implied by out_h/out_w */
    int32_t groups;                 /* c and out_c both divisible by groups */
    int32_t x_zero_point, y_zero_point;
    int32_t act_min, act_max;
    int32_t rounding; /* cnnc_rounding */
} cnnc_s8_conv_params;

/* Fully connected: x[n][k] int8, w[k][m] int8 (packed), bias[m] int32, mult[m]/shift[m],
 * y[n][m]. */
typedef struct {
    int32_t n, k, m;
    int32_t x_zero_point, y_zero_point;
    int32_t act_min, act_max;
    int32_t rounding;
} cnnc_s8_dense_params;

/* Elementwise add of two int8 tensors with their own scales (the TFLite scheme):
 *   a' = requant((a - a_zp) << left_shift, a_mult, a_shift)    M_a = s_a / (2 max(s_a, s_b))
 *   b' likewise;  y = y_zp + requant(a' + b', y_mult, y_shift)  M_y = 2 max(s_a, s_b) / (2^ls s_y)
 */
typedef struct {
    int32_t size; /* elements of a, b and y */
    int32_t a_zero_point, b_zero_point, y_zero_point;
    int32_t left_shift; /* 20: (a - a_zp) << 20 stays below 2^28 */
    int32_t a_mult, a_shift, b_mult, b_shift, y_mult, y_shift;
    int32_t act_min, act_max;
    int32_t rounding;
} cnnc_s8_add_params;

/* Max and average pooling over x[n][h][w][c] -> y[n][oh][ow][c], same scale and zero point
 * in and out. Max ignores padding taps (ONNX pads with -inf). Average divides the sum of
 * (x - zero_point) over the window by the count of valid taps (count_include_pad = 0) or
 * by kh*kw (1), rounding to nearest with ties away from zero. */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t count_include_pad;
    int32_t zero_point;
    int32_t act_min, act_max;
} cnnc_s8_pool_params;

/* Global average pooling x[n][hw][c] -> y[n][c], requantised: M = s_x / (s_y * hw). */
typedef struct {
    int32_t n, hw, c;
    int32_t x_zero_point, y_zero_point;
    int32_t mult, shift;
    int32_t act_min, act_max;
    int32_t rounding;
} cnnc_s8_global_avgpool_params;

/* Concat along channels, one call per input: x[outer][c_in] is requantised to y's scale
 * (M = s_x / s_y; M = 1 is exact: m = 2^30, shift = 1) into y[outer][c_out] at c_offset. */
typedef struct {
    int32_t outer; /* n*h*w */
    int32_t c_in, c_out, c_offset;
    int32_t x_zero_point, y_zero_point;
    int32_t mult, shift;
    int32_t rounding;
} cnnc_s8_concat_params;

/* One output of a Split along channels: y[outer][c_out] = x[outer][c_offset + i], the
 * same scale and zero point (no requantisation). */
typedef struct {
    int32_t outer, c_in, c_out, c_offset;
} cnnc_s8_slice_params;

/* Model boundary (the only floating point in an int8 model):
 * quantize q = clamp(round_half_even(x / scale) + zero_point, -128, 127) in float32
 * (NaN -> zero_point); dequantize y = (float)(q - zero_point) * scale. */
typedef struct {
    int32_t size;
    float scale; /* > 0 */
    int32_t zero_point;
} cnnc_s8_quant_params;

/* Transpose of an int8 tensor (the int8-in entry point's NCHW -> NHWC, and back):
 * x of shape in_shape[rank] -> y = x.transpose(perm); unused trailing entries are 1 / i. */
typedef struct {
    int32_t rank; /* 1..6 */
    int32_t in_shape[6];
    int32_t perm[6]; /* y's axis i is x's axis perm[i] */
} cnnc_s8_transpose_params;

void cnnc_s8_conv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dwconv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_pwconv__ref(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dense__ref(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_add__ref(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y);
void cnnc_s8_maxpool__ref(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_avgpool__ref(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_global_avgpool__ref(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y);
void cnnc_s8_concat__ref(const cnnc_s8_concat_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_slice__ref(const cnnc_s8_slice_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_transpose__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int8_t *y);
/* One row band of the NCHW -> NHWC input transpose (p: rank 4, perm {0, 2, 3, 1}, n = 1):
 * rows [row0, row0 + rows) of x[c][h][w] -> y[rows][w][c]. 0 <= row0, row0 + rows <= h. */
void cnnc_s8_transpose_rows__ref(const cnnc_s8_transpose_params *p, const int8_t *x, int32_t row0,
                                 int32_t rows, int8_t *y);
void cnnc_s8_quantize__ref(const cnnc_s8_quant_params *p, const float *x, int8_t *y);
void cnnc_s8_dequantize__ref(const cnnc_s8_quant_params *p, const int8_t *x, float *y);

/* SIMD variants of the hot kernels, same signatures and packed weights as __ref and
 * bit-exact to it (tests/runtime/test_s8_simd.py, tests/arm/test_s8_simd_arm.py). Declared
 * always. The x86-64 tiers (s8_<family>_<tier>.c: __avx2, __avx512 = AVX-512 F/BW/DQ/VL,
 * __avx512vnni and __avxvnni: vpdpbusd, conv/dense/pwconv only) are defined in every
 * x86-64 build, each function carrying its
 * tier's CNNC_TARGET_* attribute (cnnc.h), and may only run on a CPU with those features;
 * the NEON ones (s8_<family>_neon.c) in builds targeting NEON (aarch64, armv7
 * -mfpu=neon*). Generated code picks one at model init (cnnc.ops.variants), never by name. */
void cnnc_s8_conv__avx2(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dense__avx2(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_pwconv__avx2(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y);
void cnnc_s8_dwconv__avx2(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y);
void cnnc_s8_conv__avx512(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y);
void cnnc_s8_dense__avx512(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift,
                           int8_t *y);
void cnnc_s8_pwconv__avx512(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            int8_t *y);
void cnnc_s8_dwconv__avx512(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            int8_t *y);
void cnnc_s8_conv__avx512vnni(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                              const int32_t *bias, const int32_t *mult, const int32_t *shift,
                              int8_t *y);
void cnnc_s8_dense__avx512vnni(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                               const int32_t *bias, const int32_t *mult, const int32_t *shift,
                               int8_t *y);
void cnnc_s8_pwconv__avx512vnni(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                int8_t *y);
/* Outputs [c0, c1) of every row of cnnc_s8_dense__<isa> (0 <= c0 <= c1 <= m), for the
 * threaded entry point's column split (model_threads.c); k <= 2048 (the panel GEMM's). */
void cnnc_s8_dense_cols__avx2(const cnnc_s8_dense_params *p, int32_t c0, int32_t c1,
                              const int8_t *x, const int8_t *w, const int32_t *bias,
                              const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dense_cols__avx512(const cnnc_s8_dense_params *p, int32_t c0, int32_t c1,
                                const int8_t *x, const int8_t *w, const int32_t *bias,
                                const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dense_cols__avx512vnni(const cnnc_s8_dense_params *p, int32_t c0, int32_t c1,
                                    const int8_t *x, const int8_t *w, const int32_t *bias,
                                    const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_conv__avxvnni(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift,
                           int8_t *y);
void cnnc_s8_dense__avxvnni(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            int8_t *y);
void cnnc_s8_pwconv__avxvnni(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift,
                             int8_t *y);
/* AVX2 variants of the other int8 layers (s8_pool_avx2.c, s8_add_avx2.c: add, concat,
 * quantize, dequantize), same contract. */
void cnnc_s8_add__avx2(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y);
void cnnc_s8_maxpool__avx2(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_avgpool__avx2(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_global_avgpool__avx2(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                  int8_t *y);
void cnnc_s8_concat__avx2(const cnnc_s8_concat_params *p, const int8_t *x, int8_t *y);
void cnnc_s8_quantize__avx2(const cnnc_s8_quant_params *p, const float *x, int8_t *y);
void cnnc_s8_dequantize__avx2(const cnnc_s8_quant_params *p, const int8_t *x, float *y);
void cnnc_s8_conv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dense__neon(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_pwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y);
void cnnc_s8_dwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y);
/* NEON elementwise add (s8_add_neon.c), same contract as cnnc_s8_add__ref. */
void cnnc_s8_add__neon(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y);
/* NEON float32 -> int8 quantisation (s8_quant_neon.c; armv7 runs __ref inside). */
void cnnc_s8_quantize__neon(const cnnc_s8_quant_params *p, const float *x, int8_t *y);
/* ARMv8.2 dot-product variants (s8_dot_neon.c: aarch64, GCC or -march=...+dotprod). */
void cnnc_s8_conv__neondot(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift,
                           int8_t *y);
void cnnc_s8_dense__neondot(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            int8_t *y);
void cnnc_s8_pwconv__neondot(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift,
                             int8_t *y);
/* cffi-end */

/* cffi-begin */
/* Lookup table: y[i] = table[x[i] + 128], x and y int8 [size], table int8 [256] built by
 * the compiler (cnnc.passes.quantize) from the input and output scales and zero points:
 * table[q + 128] = quantise(f(dequantise(q))). Every elementwise non-linearity of an int8
 * graph (sigmoid, tanh, SiLU, HardSwish, HardSigmoid, ...) runs as this one kernel, so
 * the C and the NumPy reference compute the same integers by construction (TFLite
 * builds its LOGISTIC / HARD_SWISH tables the same way). y may alias x. */
typedef struct {
    int32_t size;
} cnnc_s8_lut_params;

void cnnc_s8_lut__ref(const cnnc_s8_lut_params *p, const int8_t *x, const int8_t *table, int8_t *y);

/* Product of two int8 activations (squeeze-excitation x * gate): a and y [rows, cols], b
 * read at b[r * b_row_stride + i * b_col_stride] (same shape: cols, 1; per channel [C]:
 * 0, 1; per pixel [..., 1]: 1, 0; scalar: 0, 0).
 * y = clamp(requant((a - a_zp) * (b - b_zp), mult, shift) + y_zp, act_min, act_max) with
 * mult/shift the Q31 form of s_a * s_b / s_y. |a - a_zp|, |b - b_zp| <= 255, so the
 * product is below 2^16 in magnitude: no int32 overflow. y may alias a. */
typedef struct {
    int32_t rows, cols, b_row_stride, b_col_stride;
    int32_t a_zero_point, b_zero_point, y_zero_point;
    int32_t mult, shift;
    int32_t act_min, act_max;
    int32_t rounding; /* cnnc_rounding */
} cnnc_s8_mul_params;

void cnnc_s8_mul__ref(const cnnc_s8_mul_params *p, const int8_t *a, const int8_t *b, int8_t *y);

/* Add of two int8 activations of different shapes (x + per-channel gate [1,1,1,C], or a
 * per-pixel map [N,H,W,1]): cnnc_s8_add__ref's arithmetic (and its overflow bound, per
 * element), with a and y [rows, cols] and b read at b[r * b_row_stride + i * b_col_stride]
 * (strides as cnnc_s8_mul_params). y may alias a. */
typedef struct {
    int32_t rows, cols, b_row_stride, b_col_stride;
    int32_t a_zero_point, b_zero_point, y_zero_point;
    int32_t left_shift;
    int32_t a_mult, a_shift, b_mult, b_shift, y_mult, y_shift;
    int32_t act_min, act_max;
    int32_t rounding; /* cnnc_rounding */
} cnnc_s8_add_broadcast_params;

void cnnc_s8_add_broadcast__ref(const cnnc_s8_add_broadcast_params *p, const int8_t *a,
                                const int8_t *b, int8_t *y);

/* Softmax over the last axis of x[outer, c] int8 -> y int8 at scale 1/256, zero point -128
 * (TFLite's fixed output quantisation). exp_table[i] = round(65536 * exp(s_x * (i - 255)))
 * for i in [0, 255] (int32, built by the compiler; exp_table[255] = 65536): with
 * d = x - max(row) in [-255, 0], e = exp_table[255 + d], sum = sum of e over the row and
 * y = min(255, (e * 256 + sum / 2) / sum) - 128. Bounds: e <= 2^16 and c <= 32767, so
 * sum < 2^31; e * 256 <= 2^24 and sum / 2 < 2^30: the numerator fits int32. sum >= 65536
 * (the maximum's term), so the division is safe. y may not alias x. */
typedef struct {
    int32_t outer, c;
} cnnc_s8_softmax_params;

void cnnc_s8_softmax__ref(const cnnc_s8_softmax_params *p, const int8_t *x,
                          const int32_t *exp_table, int8_t *y);
/* cffi-end */

/* Cortex-M DSP variants (s8_<family>_dsp.c: SXTB16, SMLAD, SMLABB/SMLATT), same contract,
 * defined in optimising M-profile builds with the DSP extension (cnnc_cpu.h's CNNC_M_DSP:
 * Cortex-M4, M7, M33 with DSP); outside the cffi block, as no host build defines them. */
void cnnc_s8_conv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dense__dsp(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_pwconv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
void cnnc_s8_dwconv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y);
/* DSP elementwise add (s8_add_dsp.c), same contract as cnnc_s8_add__ref. */
void cnnc_s8_add__dsp(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b, int8_t *y);
/* Cortex-M boundary quantisation with the FPU's VCVTR (s8_quant_dsp.c) and the DSP global
 * average pool (s8_pool_dsp.c), same contracts as their __ref. */
void cnnc_s8_quantize__dsp(const cnnc_s8_quant_params *p, const float *x, int8_t *y);
void cnnc_s8_global_avgpool__dsp(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y);

/* Kernel types: generated code keeps the variant of each kernel that model init picked
 * (cnnc.ops.variants, cnnc_cpu.h) as a pointer of one of these types. */
typedef void cnnc_s8_conv_fn(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                             const int32_t *bias, const int32_t *mult, const int32_t *shift,
                             int8_t *y);
typedef void cnnc_s8_dense_fn(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                              const int32_t *bias, const int32_t *mult, const int32_t *shift,
                              int8_t *y);
typedef void cnnc_s8_add_fn(const cnnc_s8_add_params *p, const int8_t *a, const int8_t *b,
                            int8_t *y);
typedef void cnnc_s8_pool_fn(const cnnc_s8_pool_params *p, const int8_t *x, int8_t *y);
typedef void cnnc_s8_global_avgpool_fn(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                       int8_t *y);
typedef void cnnc_s8_concat_fn(const cnnc_s8_concat_params *p, const int8_t *x, int8_t *y);
typedef void cnnc_s8_quantize_fn(const cnnc_s8_quant_params *p, const float *x, int8_t *y);
typedef void cnnc_s8_dequantize_fn(const cnnc_s8_quant_params *p, const int8_t *x, float *y);

/* ---- spatial ops of segmentation heads (s8_spatial.c, cnnc.ops.spatial) -------- */
/* cffi-begin */
/* Pad: as cnnc_f32_pad_params, int8 at the input's scale; value is the int8 pad value. */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t pad_top, pad_left;
    int32_t stride_h, stride_w;
    int32_t mode;  /* CNNC_PAD_* */
    int32_t value; /* -128..127 */
} cnnc_s8_pad_params;

void cnnc_s8_pad__ref(const cnnc_s8_pad_params *p, const int8_t *x, int8_t *y);

/* Resize at the input's scale: ytab[OH][3], xtab[OW][3] = (index 0, index 1, Q11 weight
 * of index 1 in 0..2048), indices and weights clamped by the kernel. Bilinear in integers
 * (overflow bound at the accumulator in s8_spatial.c). mode: CNNC_RESIZE_*. */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t mode;
} cnnc_s8_resize_params;

void cnnc_s8_resize__ref(const cnnc_s8_resize_params *p, const int8_t *x, const int32_t *ytab,
                         const int32_t *xtab, int8_t *y);
/* cffi-end */

#endif /* CNNC_S8_H */
