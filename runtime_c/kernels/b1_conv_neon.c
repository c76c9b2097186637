/* ARM NEON variant of the binary conv (bits output), bit-exact to cnnc_b1_conv_bits__ref:
 * the same loops (b1_conv_loops.h) with a 128-bit popcount of the XORed runs. Compiled
 * when the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise. */
#include "b1_conv_loops.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

/* 4 words per step: XOR, per-byte count (vcnt), pairwise widening adds into u32 lanes
 * (each lane grows by <= 32 per step: no overflow below 2^27 steps); the tail word by word.
 * The horizontal sum uses only ARMv7 NEON (no vaddvq). */
static int32_t b1_run_popcount_neon(const uint32_t *a, const uint32_t *b, int32_t n) {
    uint32x4_t acc = vdupq_n_u32(0);
    uint64x2_t sum;
    int32_t j = 0, total;
    for (; j + 4 <= n; j += 4) {
        const uint32x4_t x = veorq_u32(vld1q_u32(a + j), vld1q_u32(b + j));
        acc = vpadalq_u16(acc, vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u32(x))));
    }
    sum = vpaddlq_u32(acc);
    total = (int32_t)(vgetq_lane_u64(sum, 0) + vgetq_lane_u64(sum, 1));
    for (; j < n; ++j) total += CNNC_B1_POPCOUNT32(a[j] ^ b[j]);
    return total;
}

void cnnc_b1_conv_bits__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                             const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    b1_conv_bits_loops(p, x, w, thresholds, y, b1_run_popcount_neon, NULL);
}
#else
typedef int cnnc_b1_conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
