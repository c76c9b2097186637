/* Cortex-M variant of the int8 model boundary's quantisation (float32 -> int8), bit-exact to
 * cnnc_s8_quantize__ref on a core with the single-precision FPU (Cortex-M4F, M7, M33):
 *   v = x / scale is the same VDIV as __ref's division;
 *   VCVTR.S32.F32 rounds v to an integer in the FPSCR's rounding mode, which is round to
 *     nearest, ties to even (__ref's cnnc_round_half_even) when FPSCR.RMode is 0, the reset
 *     value: a call that finds another mode runs __ref; NaN converts to 0 (__ref's NaN ->
 *     0) and values beyond the int32 range saturate;
 *   QADD adds the zero point without overflow and SSAT #8 clamps to [-128, 127], which is
 *     __ref's clamp to [-512, 512] followed by the int8 clamp (|zero point| <= 128, so
 *     every v beyond +-512 saturates either way).
 * Eight elements a turn (not at -Os): one VLDM, VMOV of two words at once, 47 instructions;
 * 6,041 instructions for the digits model's 1,024 inputs counted under qemu (one a turn:
 * 9,233; __ref's branches on the fraction took ~43 an element: bench/bench_mcu.py --layers).
 * Without a single-precision FPU the variant is __ref. Compiled when the build targets the DSP
 * extension (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
/* QADD of the zero point, SSAT #8, STRB for the four words q0..q3. */
#define DSP_QUANT_STORE4           \
    "qadd %[q0], %[q0], %[zp]\n\t" \
    "qadd %[q1], %[q1], %[zp]\n\t" \
    "qadd %[q2], %[q2], %[zp]\n\t" \
    "qadd %[q3], %[q3], %[zp]\n\t" \
    "ssat %[q0], #8, %[q0]\n\t"    \
    "ssat %[q1], #8, %[q1]\n\t"    \
    "ssat %[q2], #8, %[q2]\n\t"    \
    "ssat %[q3], #8, %[q3]\n\t"    \
    "strb %[q0], [%[y]], #1\n\t"   \
    "strb %[q1], [%[y]], #1\n\t"   \
    "strb %[q2], [%[y]], #1\n\t"   \
    "strb %[q3], [%[y]], #1\n\t"

/* The eight-element loop's calls (cnnc_model_calls.h: a model without any does not build it). */
#define DSP_QUANT_8(p) ((p).size >= 8)

void cnnc_s8_quantize__dsp(const cnnc_s8_quant_params *p, const float *x, int8_t *y) {
#if defined(__ARM_FP) && (__ARM_FP & 4)
    const float scale = p->scale;
    const int32_t zp = p->zero_point; /* y's stores may alias p */
    int32_t size = p->size;
    uint32_t fpscr;
    int32_t i;
    __asm__ __volatile__("vmrs %0, fpscr" : "=r"(fpscr));
    if (fpscr & (3u << 22)) { /* RMode other than round to nearest */
        cnnc_s8_quantize__ref(p, x, y);
        return;
    }
#if !defined(__OPTIMIZE_SIZE__)
    if (CNNC_MODEL_CALLS(s8_quantize, DSP_QUANT_8) &&
        size >= 8) { /* 8 elements a turn: one VLDM, two words to core registers a VMOV */
        const int8_t *const end = y + (size & ~7);
        int32_t q0, q1, q2, q3;
        __asm__ __volatile__(
            "1:\n\t"
            "vldmia %[x]!, {s0-s7}\n\t"
            "vdiv.f32 s0, s0, %[sc]\n\t"
            "vdiv.f32 s1, s1, %[sc]\n\t"
            "vdiv.f32 s2, s2, %[sc]\n\t"
            "vdiv.f32 s3, s3, %[sc]\n\t"
            "vdiv.f32 s4, s4, %[sc]\n\t"
            "vdiv.f32 s5, s5, %[sc]\n\t"
            "vdiv.f32 s6, s6, %[sc]\n\t"
            "vdiv.f32 s7, s7, %[sc]\n\t"
            "vcvtr.s32.f32 s0, s0\n\t"
            "vcvtr.s32.f32 s1, s1\n\t"
            "vcvtr.s32.f32 s2, s2\n\t"
            "vcvtr.s32.f32 s3, s3\n\t"
            "vcvtr.s32.f32 s4, s4\n\t"
            "vcvtr.s32.f32 s5, s5\n\t"
            "vcvtr.s32.f32 s6, s6\n\t"
            "vcvtr.s32.f32 s7, s7\n\t"
            "vmov %[q0], %[q1], s0, s1\n\t"
            "vmov %[q2], %[q3], s2, s3\n\t" DSP_QUANT_STORE4
            "vmov %[q0], %[q1], s4, s5\n\t"
            "vmov %[q2], %[q3], s6, s7\n\t" DSP_QUANT_STORE4
            "cmp %[y], %[end]\n\t"
            "blo 1b"
            :
            [q0] "=&r"(q0), [q1] "=&r"(q1), [q2] "=&r"(q2), [q3] "=&r"(q3), [x] "+r"(x), [y] "+r"(y)
            : [end] "r"(end), [sc] "t"(scale), [zp] "r"(zp)
            : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "memory", "cc");
        size &= 7;
    }
#endif
    for (i = 0; i < size; ++i) {
        const float v = x[i] / scale;
        float t;
        int32_t q;
        __asm__("vcvtr.s32.f32 %1, %2\n\tvmov %0, %1" : "=r"(q), "=&t"(t) : "t"(v));
        y[i] = (int8_t)__ssat(__qadd(q, zp), 8);
    }
#else
    cnnc_s8_quantize__ref(p, x, y);
#endif
}
#else
typedef int cnnc_s8_quant_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
