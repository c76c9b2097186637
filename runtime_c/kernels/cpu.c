/* CPU feature detection for run-time kernel selection (see cnnc_cpu.h). */
#include "cnnc_cpu.h"

#include <stddef.h>
#include <string.h>

/* Microcontroller builds have no environment: CNNC_ISA is read on hosted targets only. */
#if !defined(CNNC_FREESTANDING) && !(defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M')
#define CNNC_CPU_HOSTED 1
#include <stdlib.h> /* getenv */
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define CNNC_CPU_X86 1
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#define CNNC_HWCAP_ASIMDDP (1ul << 20) /* linux/arch/arm64/include/uapi/asm/hwcap.h */
#endif

/* A named tier: the features that define it, and the ones CNNC_ISA=<name> lets through
 * (optional extensions that ride along, e.g. VPOPCNTDQ on an AVX-512 CPU). */
typedef struct {
    const char *name;
    uint32_t requires;
    uint32_t allows;
} tier;

#define X86_AVX512 (CNNC_CPU_AVX2 | CNNC_CPU_AVX512)

/* Lowest to highest; cnnc_cpu_tier_name reports the last one whose requirements hold. */
static const tier TIERS[] = {
    {"ref", 0u, 0u},
    {"avx2", CNNC_CPU_AVX2, CNNC_CPU_AVX2},
    {"avxvnni", CNNC_CPU_AVX2 | CNNC_CPU_AVXVNNI, CNNC_CPU_AVX2 | CNNC_CPU_AVXVNNI},
    {"avx512", X86_AVX512, X86_AVX512 | CNNC_CPU_VPOPCNTDQ},
    {"avx512vnni", X86_AVX512 | CNNC_CPU_AVX512VNNI,
     X86_AVX512 | CNNC_CPU_AVX512VNNI | CNNC_CPU_AVXVNNI | CNNC_CPU_VPOPCNTDQ},
    {"neon", CNNC_CPU_NEON, CNNC_CPU_NEON},
    {"dotprod", CNNC_CPU_NEON | CNNC_CPU_DOTPROD, CNNC_CPU_NEON | CNNC_CPU_DOTPROD},
    {"dsp", CNNC_CPU_DSP, CNNC_CPU_DSP},
};
#define N_TIERS (sizeof TIERS / sizeof TIERS[0])

#if defined(CNNC_CPU_X86)
/* XCR0: which register state the OS saves on a context switch. */
static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static uint32_t x86_features(void) {
    unsigned int a, b, c, d;
    uint32_t f = 0;
    uint64_t xcr0;
    int fma, avx512;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) { /* OSXSAVE */
        return 0;
    }
    fma = (c >> 12) & 1;
    xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6 || __get_cpuid_max(0, NULL) < 7) { /* SSE and YMM state */
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    if (((b >> 5) & 1) && fma) {
        f |= CNNC_CPU_AVX2;
    }
    /* F (16), DQ (17), BW (30), VL (31); opmask + ZMM state (XCR0 bits 5-7). */
    avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1) &&
             (xcr0 & 0xE0) == 0xE0 && (f & CNNC_CPU_AVX2);
    if (avx512) {
        f |= CNNC_CPU_AVX512;
        if ((c >> 11) & 1) {
            f |= CNNC_CPU_AVX512VNNI;
        }
        if ((c >> 14) & 1) {
            f |= CNNC_CPU_VPOPCNTDQ;
        }
    }
    __cpuid_count(7, 1, a, b, c, d);
    if (((a >> 4) & 1) && (f & CNNC_CPU_AVX2)) {
        f |= CNNC_CPU_AVXVNNI;
    }
    return f;
}
#endif

static uint32_t detected_features(void) {
    uint32_t f = 0;
#if defined(CNNC_CPU_X86)
    f |= x86_features();
#endif
#if defined(__ARM_NEON)
    f |= CNNC_CPU_NEON;
#endif
#if defined(__ARM_FEATURE_DOTPROD)
    f |= CNNC_CPU_DOTPROD;
#elif defined(__aarch64__) && defined(__linux__)
    if (getauxval(AT_HWCAP) & CNNC_HWCAP_ASIMDDP) {
        f |= CNNC_CPU_DOTPROD;
    }
#endif
#if defined(CNNC_M_DSP)
    f |= CNNC_CPU_DSP; /* Cortex-M4/M7/M33: SMLAD and friends */
#endif
    return f;
}

uint32_t cnnc_cpu_tier_mask(const char *name) {
    size_t i;
    if (name == NULL || strcmp(name, "native") == 0) {
        return 0xFFFFFFFFu;
    }
    for (i = 0; i < N_TIERS; i++) {
        if (strcmp(name, TIERS[i].name) == 0) {
            return TIERS[i].allows;
        }
    }
    return 0xFFFFFFFFu;
}

const char *cnnc_cpu_tier_name(uint32_t features) {
    const char *best = "ref";
    size_t i;
    for (i = 0; i < N_TIERS; i++) {
        if (TIERS[i].requires != 0u && (features & TIERS[i].requires) == TIERS[i].requires) {
            best = TIERS[i].name;
        }
    }
    return best;
}

uint32_t cnnc_cpu_features(void) {
    uint32_t f = detected_features();
#if defined(CNNC_CPU_HOSTED)
    f &= cnnc_cpu_tier_mask(getenv("CNNC_ISA"));
#endif
#if defined(CNNC_CPU_MASK) /* a build-time cap where there is no environment: -DCNNC_CPU_MASK=0 */
    f &= (uint32_t)(CNNC_CPU_MASK);
#endif
    return f;
}
