/* cnnc binary (XNOR-Net) kernels: bit-packed activations and weights, XNOR-popcount.
 *
 * Packing convention (mirrored by compiler/ops/bitpack.py): the channel axis (last, NHWC)
 * is packed into uint32 words; channel c lives in word c / 32, bit c % 32; bit 1 = -1,
 * bit 0 = +1; tail bits of a last word (C not a multiple of 32) are 0 and never counted.
 * A packed tensor of logical shape [..., C] occupies [..., CNNC_B1_WORDS(C)] uint32.
 *
 * With bit 1 = -1, a*w = +1 exactly when the bits are equal, so over K valid taps
 *     dot = sum a*w = K - 2 * popcount(a XOR w),   dot in [-K, K].
 * Zero padding (ONNX Conv pads its +-1 input with 0) contributes nothing: padded taps are
 * skipped and K counts only the valid ones. One padding (padded taps are +1) is an option.
 * Kernels rely on zero tail bits in packed inputs (every cnnc producer writes them so)
 * only where a whole pixel's words are compared (groups == 1); group windows are masked.
 *
 * Output transforms (parameters computed by the compiler, cnnc/binarize.py; applied here):
 *   bits: out bit = (dot < thresholds[c])  -> packed output for the next binary layer;
 *         thresholds int32 [out_c], each in [-K, K+1]
 *   f32:  out = clamp((float)dot * multiplier[c] + bias[c], act_min, act_max);
 *         multiplier = alpha (times a folded BN scale), bias = folded BN shift, float [out_c]
 *   s8:   the f32 value quantised exactly as cnnc_s8_quantize__ref does (out_scale,
 *         out_zero_point): the int8 input of a non-binary successor, in one pass
 * The `_bits` and `_f32` kernels differ only in that transform.
 *
 * Kernels: portable C99 `__ref` versions; SIMD variants sit beside them with the same
 * signature and are tested bit-exact against them. */
#ifndef CNNC_B1_H
#define CNNC_B1_H

#include "cnnc.h"

#define CNNC_B1_BITS 32
#define CNNC_B1_WORDS(c) (((c) + CNNC_B1_BITS - 1) / CNNC_B1_BITS)

/* Portable popcount (SWAR, Hacker's Delight 5-2): exact for every uint32. */
CNNC_INLINE int32_t cnnc_b1_popcount32_portable(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int32_t)((x * 0x01010101u) >> 24);
}

/* The one place popcounts are selected. With a single-instruction popcount (x86 with
 * POPCNT, AArch64 and ARMv7 with NEON where the builtin maps to cnt) the builtin is used;
 * otherwise (plain x86-64, Cortex-M: the builtin would call libgcc) the portable SWAR, and
 * runs of words accumulate SWAR byte counts before one horizontal sum, a loop of
 * shifts, ands and adds the compiler can vectorise with SSE2/NEON. */
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__POPCNT__) || defined(__aarch64__) || defined(__ARM_NEON))
#define CNNC_B1_POPCOUNT32(x) ((int32_t)__builtin_popcount(x))
#define CNNC_B1_HW_POPCOUNT 1
#else
#define CNNC_B1_POPCOUNT32(x) cnnc_b1_popcount32_portable(x)
#define CNNC_B1_HW_POPCOUNT 0
#endif

/* sum over j < n of popcount(a[j] XOR b[j]); result <= 32 * n. */
CNNC_INLINE int32_t cnnc_b1_xor_popcount(const uint32_t *a, const uint32_t *b, int32_t n) {
    int32_t total = 0, j = 0;
#if CNNC_B1_HW_POPCOUNT
    for (; j < n; ++j) total += CNNC_B1_POPCOUNT32(a[j] ^ b[j]);
#else
    while (j < n) {
        const int32_t end = n - j > 31 ? j + 31 : n;
        uint32_t bytes = 0; /* four byte lanes, each <= 31 words * 8 bits = 248: no carry */
        for (; j < end; ++j) {
            uint32_t x = a[j] ^ b[j];
            x = x - ((x >> 1) & 0x55555555u);
            x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
            bytes += (x + (x >> 4)) & 0x0F0F0F0Fu;
        }
        bytes = (bytes & 0x00FF00FFu) + ((bytes >> 8) & 0x00FF00FFu);
        total += (int32_t)((bytes & 0xFFFFu) + (bytes >> 16));
    }
#endif
    return total;
}

/* cffi-begin */
/* ---- pack / unpack -------------------------------------------------------------- */

/* Packs rows of float by sign (x < 0 -> bit 1) along the last axis. */
typedef struct {
    int32_t rows;       /* product of all axes but the last (N*H*W), >= 1 */
    int32_t c;          /* channels, >= 1 */
    int32_t zero_point; /* int8 input only: real value (q - zero_point) * scale, scale > 0 */
} cnnc_b1_pack_params;

/* x: [rows, C] float32; y: [rows, WORDS(C)] uint32 (tail bits written 0) */
void cnnc_b1_pack__ref(const cnnc_b1_pack_params *p, const float *CNNC_RESTRICT x,
                       uint32_t *CNNC_RESTRICT y);
/* x: [rows, C] int8 (quantised, scale > 0): q < zero_point -> bit 1, the sign of the real
 * value without dequantising; y: [rows, WORDS(C)] uint32 */
void cnnc_b1_pack_s8__ref(const cnnc_b1_pack_params *p, const int8_t *CNNC_RESTRICT x,
                          uint32_t *CNNC_RESTRICT y);
/* x: [rows, WORDS(C)] uint32; y: [rows, C] float32 in {-1, +1} */
void cnnc_b1_unpack__ref(const cnnc_b1_pack_params *p, const uint32_t *CNNC_RESTRICT x,
                         float *CNNC_RESTRICT y);
/* Exposed so tests pin the portable popcount against the builtin. */
int32_t cnnc_b1_popcount32__portable(uint32_t x);

/* ---- binary convolution ----------------------------------------------------------- */

/* Binary conv2d, NHWC, any kernel size, stride and groups (depthwise: groups = c).
 * Output size follows ONNX: out_h = (h + pad_top + pad_bottom - kernel_h) / stride_h + 1;
 * pad_bottom/pad_right are implied by out_h/out_w. */
typedef struct {
    int32_t n, h, w, c;             /* input shape, NHWC; c logical channels over all groups */
    int32_t out_h, out_w, out_c;    /* out_c divisible by groups */
    int32_t kernel_h, kernel_w;     /* >= 1 */
    int32_t stride_h, stride_w;     /* >= 1 */
    int32_t dilation_h, dilation_w; /* 1 (the import refuses others until dilation is real) */
    int32_t pad_top, pad_left;      /* >= 0 */
    int32_t groups;                 /* c and out_c divisible by it */
    int32_t pad_one;                /* 0: zero padding (ONNX); 1: padded taps are +1 */
    float act_min, act_max;         /* f32 output clamp (-INFINITY/INFINITY: none) */
    float out_scale;                /* s8 output only: > 0 */
    int32_t out_zero_point;         /* s8 output only: -128..127 */
} cnnc_b1_conv_params;

/* x: [n, h, w, WORDS(c)] packed
 * w: [out_c, kernel_h, kernel_w, WORDS(c / groups)] packed; each output channel's
 *    taps hold the c/groups channels of its group starting at bit 0
 * y: bits: [n, out_h, out_w, WORDS(out_c)] packed; f32: [n, out_h, out_w, out_c] */
void cnnc_b1_conv_bits__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w,
                            const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_conv_f32__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                           const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);
/* needs runtime_c/kernels/s8_quant.c (cnnc_s8_quantize__ref) linked in; y: [n,
 * out_h, out_w, out_c] int8 */
void cnnc_b1_conv_s8__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                          const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                          const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y);
/* SIMD variants, same signature as cnnc_b1_conv_bits__ref and bit-exact to it
 * (tests/runtime/test_b1_conv_simd.py, tests/arm/test_b1_conv_neon.py). Declared always.
 * The x86-64 tiers (b1_conv_<tier>.c) are defined in every x86-64 build, each function
 * carrying its tier's CNNC_TARGET_* attribute (cnnc.h), and may only run on a CPU with
 * those features: __avx2 (AVX2, nibble-table vpshufb popcount), __avx512 (AVX-512
 * F/BW/DQ/VL, vpshufb on zmm), __avx512vpopcnt (also VPOPCNTDQ). NEON is defined only in
 * builds targeting NEON (aarch64, armv7 -mfpu=neon*). */
void cnnc_b1_conv_bits__avx2(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                             const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_conv_bits__avx512(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                               const uint32_t *CNNC_RESTRICT w,
                               const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_conv_bits__avx512vpopcnt(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                                      const uint32_t *CNNC_RESTRICT w,
                                      const int32_t *CNNC_RESTRICT thresholds,
                                      uint32_t *CNNC_RESTRICT y);
void cnnc_b1_conv_bits__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                             const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);

/* NEON variants of the float / int8 output convs (b1_conv_neon.c), bit-exact to their
 * __ref: defined only in builds targeting NEON. */
void cnnc_b1_conv_f32__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                            const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);
void cnnc_b1_conv_s8__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                           const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y);

/* AVX2 tiers of the float / int8 output convs and of the packing (b1_out_avx2.c), bit-exact
 * to their __ref: defined in every x86-64 build, run only on CPUs with AVX2. */
void cnnc_b1_conv_f32__avx2(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                            const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);
void cnnc_b1_conv_s8__avx2(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                           const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y);
/* AVX-512BW (b1_out_avx512.c, b1_conv_px_avx512.h): the same on 16-pixel blocks */
void cnnc_b1_conv_f32__avx512(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                              const uint32_t *CNNC_RESTRICT w,
                              const float *CNNC_RESTRICT multiplier,
                              const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);
void cnnc_b1_conv_s8__avx512(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                             const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y);
void cnnc_b1_pack__avx2(const cnnc_b1_pack_params *p, const float *CNNC_RESTRICT x,
                        uint32_t *CNNC_RESTRICT y);
void cnnc_b1_pack_s8__avx2(const cnnc_b1_pack_params *p, const int8_t *CNNC_RESTRICT x,
                           uint32_t *CNNC_RESTRICT y);

/* Raw dots, for tests and for callers that apply their own transform.
 * y: [n, out_h, out_w, out_c] int32 */
void cnnc_b1_conv_dot__ref(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, int32_t *CNNC_RESTRICT y);

/* ---- int8 conv with sign-bit output (a binary network's first layer) ------------- */

/* The packed signs of an int8 conv's outputs, without writing them: bit 1 (-1) where
 *     dot = sum over taps of (x - x_zero_point) * w   <   thresholds[co],
 * padded taps contributing 0 (ONNX pads the quantised input with its zero point). The
 * compiler (cnnc/passes/binarize.py, fuse_int8) folds bias, requantisation, clamp and the
 * sign test "y < y_zero_point" of s8_conv2d -> b1_pack into one int32 threshold per
 * channel, exact because requantisation is non-decreasing in the accumulator.
 * groups 1, dilation 1; |dot| <= 255 * 128 * kernel_h * kernel_w * c < 2^31. */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w, out_c;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w; /* 1 */
    int32_t pad_top, pad_left;
    int32_t groups;       /* 1 */
    int32_t x_zero_point; /* -128..127 */
} cnnc_b1_s8conv_params;

/* Weights in tap pairs: a kernel row reads kernel_w * c adjacent int8 values of one input
 * row (NHWC), taken two at a time; CNNC_B1_S8CONV_PAIRS(p) pairs a row (the last padded
 * with a zero weight) and output channels rounded up to 16 (zero weights):
 *   w: [kernel_h, PAIRS, OC16, 2] int8, OC16 = CNNC_B1_S8CONV_OC16(out_c)
 *   thresholds: [OC16] int32 (channels past out_c hold INT32_MIN: their bits stay 0)
 * x: [n, h, w, c] int8; y: [n, out_h, out_w, WORDS(out_c)] packed. */
#define CNNC_B1_S8CONV_PAIRS(p) (((p)->kernel_w * (p)->c + 1) / 2)
#define CNNC_B1_S8CONV_OC16(out_c) (((out_c) + 15) / 16 * 16)
void cnnc_b1_s8conv_bits__ref(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                              const int8_t *CNNC_RESTRICT w,
                              const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
/* x86 tiers (b1_s8conv_avx2.c, b1_s8conv_avx512.c): vpmaddwd over 8 / 16 output channels
 * per vector, bit-exact to __ref; defined in every x86-64 build, run only on CPUs with the
 * tier's features. */
void cnnc_b1_s8conv_bits__avx2(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                               const int8_t *CNNC_RESTRICT w,
                               const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_s8conv_bits__avx512(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                                 const int8_t *CNNC_RESTRICT w,
                                 const int32_t *CNNC_RESTRICT thresholds,
                                 uint32_t *CNNC_RESTRICT y);
/* NEON (b1_s8conv_neon.c): SMLAL by lane over 16 output channels, bit-exact to __ref;
 * defined in builds targeting NEON. */
void cnnc_b1_s8conv_bits__neon(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                               const int8_t *CNNC_RESTRICT w,
                               const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
/* Cortex-M DSP extension (b1_s8conv_dsp.c): one SMLAD per tap pair and channel, bit-exact
 * to __ref; defined where cnnc_cpu.h defines CNNC_M_DSP. */
void cnnc_b1_s8conv_bits__dsp(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                              const int8_t *CNNC_RESTRICT w,
                              const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);

/* ---- binary dense ------------------------------------------------------------------ */

typedef struct {
    int32_t n;              /* N >= 1 */
    int32_t k;              /* K >= 1 logical inputs */
    int32_t m;              /* M >= 1 outputs */
    float act_min, act_max; /* f32 output clamp (-INFINITY/INFINITY: none) */
} cnnc_b1_dense_params;

/* x: [n, WORDS(K)] packed; w: [M, WORDS(K)] packed;
 * y: bits [n, WORDS(M)] packed; f32 [n, M] */
void cnnc_b1_dense_bits__ref(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                             const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_dense_f32__ref(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                            const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);

/* x86 tiers of the dense bits kernel (b1_conv_<tier>.c), as the conv's above. */
void cnnc_b1_dense_bits__avx2(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                              const uint32_t *CNNC_RESTRICT w,
                              const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_dense_bits__avx512(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                                const uint32_t *CNNC_RESTRICT w,
                                const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y);
void cnnc_b1_dense_bits__avx512vpopcnt(const cnnc_b1_dense_params *p,
                                       const uint32_t *CNNC_RESTRICT x,
                                       const uint32_t *CNNC_RESTRICT w,
                                       const int32_t *CNNC_RESTRICT thresholds,
                                       uint32_t *CNNC_RESTRICT y);

/* ---- binary max pooling ------------------------------------------------------------ */

/* Max of +-1 values is -1 only if every value is -1: with bit 1 = -1 that is the AND of
 * the bits over the window's valid taps (ONNX pads MaxPool with -inf: padding ignored). */
typedef struct {
    int32_t n, h, w, c;
    int32_t out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
} cnnc_b1_maxpool_params;

/* x: [n, h, w, WORDS(C)] packed; y: [n, out_h, out_w, WORDS(C)] packed */
void cnnc_b1_maxpool__ref(const cnnc_b1_maxpool_params *p, const uint32_t *CNNC_RESTRICT x,
                          uint32_t *CNNC_RESTRICT y);

/* cffi-end */

/* Kernel types: generated code keeps the variant model init picked (cnnc.ops.variants). */
typedef void cnnc_b1_conv_bits_fn(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                                  const uint32_t *CNNC_RESTRICT w,
                                  const int32_t *CNNC_RESTRICT thresholds,
                                  uint32_t *CNNC_RESTRICT y);
typedef void cnnc_b1_dense_bits_fn(const cnnc_b1_dense_params *p, const uint32_t *CNNC_RESTRICT x,
                                   const uint32_t *CNNC_RESTRICT w,
                                   const int32_t *CNNC_RESTRICT thresholds,
                                   uint32_t *CNNC_RESTRICT y);

typedef void cnnc_b1_conv_f32_fn(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                                 const uint32_t *CNNC_RESTRICT w,
                                 const float *CNNC_RESTRICT multiplier,
                                 const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y);
typedef void cnnc_b1_conv_s8_fn(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                                const uint32_t *CNNC_RESTRICT w,
                                const float *CNNC_RESTRICT multiplier,
                                const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y);
typedef void cnnc_b1_s8conv_bits_fn(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                                    const int8_t *CNNC_RESTRICT w,
                                    const int32_t *CNNC_RESTRICT thresholds,
                                    uint32_t *CNNC_RESTRICT y);
typedef void cnnc_b1_pack_fn(const cnnc_b1_pack_params *p, const float *CNNC_RESTRICT x,
                             uint32_t *CNNC_RESTRICT y);
typedef void cnnc_b1_pack_s8_fn(const cnnc_b1_pack_params *p, const int8_t *CNNC_RESTRICT x,
                                uint32_t *CNNC_RESTRICT y);

#endif /* CNNC_B1_H */
