/* cnnc CPU features: what the running CPU can execute, read once at model init.
 *
 * Generated models select each kernel's variant when cnnc_model_init runs (the variants
 * table, cnnc.host.variants, lists which feature bits each variant needs) and keep the
 * choice in their context: no mutable globals. On x86-64 the bits come from CPUID and
 * XGETBV (the OS must save the vector state); on ARM they are fixed at compile time
 * (NEON on every Raspberry Pi target) except dot-product, read with getauxval on Linux.
 *
 * CNNC_ISA (environment, hosted builds only) caps the bits to a named tier so tests and
 * benchmarks can force one: ref, avx2, avxvnni, avx512, avx512vnni, neon, dotprod, dsp; or native
 * (the default). A tier the CPU lacks yields only what the CPU has: never an illegal instruction.
 */
#ifndef CNNC_CPU_H
#define CNNC_CPU_H

#include <stdint.h>

/* Feature bits (uint32_t masks). */
#define CNNC_CPU_AVX2 (1u << 0)       /* AVX2 + FMA + OS-saved YMM state */
#define CNNC_CPU_AVX512 (1u << 1)     /* AVX-512 F, BW, DQ, VL + OS-saved ZMM state */
#define CNNC_CPU_AVX512VNNI (1u << 2) /* AVX512_VNNI (vpdpbusd on zmm) */
#define CNNC_CPU_AVXVNNI (1u << 3)    /* AVX-VNNI (vpdpbusd on ymm, VEX) */
#define CNNC_CPU_VPOPCNTDQ (1u << 4)  /* AVX512_VPOPCNTDQ */
#define CNNC_CPU_NEON (1u << 8)       /* Advanced SIMD (every aarch64, armv7 -mfpu=neon*) */
#define CNNC_CPU_DOTPROD (1u << 9)    /* ARMv8.2 SDOT/UDOT (Cortex-A76: Raspberry Pi 5) */
#define CNNC_CPU_DSP (1u << 16)       /* Cortex-M DSP extension (__ARM_FEATURE_DSP) */

/* The Cortex-M DSP kernels (*_dsp.c) exist in M-profile builds with the DSP extension
 * (Cortex-M4, M7, M33; ARMv7-A also has __ARM_FEATURE_DSP but keeps NEON) that optimise
 * (-O1 and up, -Os): at -O0 gcc cannot give their inline asm the registers it names, so a
 * debug build runs the portable kernels, the same bytes. -DCNNC_NO_DSP leaves them out too:
 * a build that reserves a register (-fno-omit-frame-pointer keeps r7) has too few for the
 * asm, and no macro tells. */
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M' && \
    defined(__OPTIMIZE__) && !defined(CNNC_NO_DSP)
#define CNNC_M_DSP 1
#endif

/* The features of this CPU, capped by CNNC_ISA when set (hosted builds). */
uint32_t cnnc_cpu_features(void);
/* The features a tier name stands for (unknown name: 0xFFFFFFFF). */
uint32_t cnnc_cpu_tier_mask(const char *tier);
/* The name of the highest tier whose features are all in `features`. */
const char *cnnc_cpu_tier_name(uint32_t features);

#endif /* CNNC_CPU_H */
