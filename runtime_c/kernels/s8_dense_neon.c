/* ARM NEON variant of the int8 fully connected layer (and, through cnnc_s8_pwconv__neon,
 * the pointwise conv), bit-exact to cnnc_s8_dense__ref: the loops of s8_dense_loops.h on
 * the NEON tile (s8_tile_neon.h: x - zp and w widened to int16, vmlal_lane_s16 into int32
 * lanes; 8 outputs per tile) and eight requantisations at once (s8_requant_neon.h).
 * Compiled when the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise.
 * Only ARMv7 NEON intrinsics are used, so one source serves both. */
#include "cnnc_s8.h"
#include "s8_tile_neon.h"
#include "s8_dense_loops.h"

#if defined(__ARM_NEON)
void cnnc_s8_dense__neon(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    s8_dense_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dense_neon_empty; /* ISO C forbids an empty translation unit */
#endif
