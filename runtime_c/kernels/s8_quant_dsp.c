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
 * About 9 instructions an element counted under qemu (__ref's branches on the fraction
 * took ~43: bench/bench_mcu.py --layers, the digits model's 1,024 inputs). Without a
 * single-precision FPU the variant is __ref. Compiled when the build targets the DSP
 * extension (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
void cnnc_s8_quantize__dsp(const cnnc_s8_quant_params *p, const float *x, int8_t *y) {
#if defined(__ARM_FP) && (__ARM_FP & 4)
    const float scale = p->scale;
    const int32_t zp = p->zero_point, size = p->size; /* y's stores may alias p */
    uint32_t fpscr;
    int32_t i;
    __asm__ __volatile__("vmrs %0, fpscr" : "=r"(fpscr));
    if (fpscr & (3u << 22)) { /* RMode other than round to nearest */
        cnnc_s8_quantize__ref(p, x, y);
        return;
    }
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
