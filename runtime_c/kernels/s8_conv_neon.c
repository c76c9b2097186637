/* ARM NEON variants of the int8 convolutions, bit-exact to their __ref kernels (same
 * packed weights, same int32 sums, cnnc_requant_s8's results). The pointwise conv runs as
 * a dense layer on cnnc_s8_dense__neon (s8_dense_neon.c). The general conv gathers the
 * inputs of 4 output pixels (im2col, padding taps as x's zero point) and runs the
 * register-blocked GEMM of s8_gemm_neon.h over K = kernel_h * kernel_w * C/G with the
 * group's weights widened once into a stack panel; a conv whose K exceeds the gather
 * buffer runs the tap-by-tap loops of s8_conv_loops.h on the NEON tile (s8_tile_neon.h).
 * Compiled when the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_gemm_neon.h"
#include "s8_tile_neon.h"
#include "s8_conv_loops.h"

#if defined(__ARM_NEON)
#define S8G_GATHER 4096 /* inputs per pixel gathered on the stack (4 pixels: 16 KiB) */

void cnnc_s8_pwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__neon(&dense, x, w, bias, mult, shift, y);
}

void cnnc_s8_conv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    const int32_t pixels = p->n * p->out_h * p->out_w;
    const size_t group_size = (size_t)k * og;
    int8_t cols[S8G_ROWS][S8G_GATHER];
    int16_t panel[S8G_PANEL];
    s8g_out o;
    int packed;
    int32_t g, pix0, o0, r;
    if (k > S8G_GATHER || p->dilation_h != 1 || p->dilation_w != 1) {
        /* the gather reads adjacent taps; the tap loops honour dilation */
        s8_conv_loops(p, x, w, bias, mult, shift, y);
        return;
    }
    /* all of a group's 8-wide blocks widened at once, when they fit and pixels reuse them */
    packed = pixels > 1 && (size_t)k * (size_t)(og & ~7) <= S8G_PANEL;
    o.x_zero_point = p->x_zero_point;
    o.rounding = p->rounding;
    o.zero_point = p->y_zero_point;
    o.lo = p->act_min;
    o.hi = p->act_max;
    for (g = 0; g < p->groups; ++g) {
        const int8_t *wg = w + (size_t)g * group_size; /* [k][og] */
        if (packed)
            for (o0 = 0; o0 + 8 <= og; o0 += 8 * S8G_NH(og - o0))
                s8g_panel(wg + o0, (size_t)og, k, S8G_NH(og - o0), panel + (size_t)k * o0);
        for (pix0 = 0; pix0 < pixels; pix0 += S8G_ROWS) {
            const int32_t rows = pixels - pix0 < S8G_ROWS ? pixels - pix0 : S8G_ROWS;
            const int8_t *xr[S8G_ROWS];
            int8_t *yr[S8G_ROWS];
            for (r = 0; r < rows; ++r) s8g_gather(p, x, pix0 + r, g, cols[r]);
            for (r = 0; r < S8G_ROWS; ++r) xr[r] = cols[r < rows ? r : 0];
            for (o0 = 0; o0 + 8 <= og;) {
                const int32_t nh = S8G_NH(og - o0), first = g * og + o0;
                s8g_out ob = o; /* the block's shortest requantisation (s8g_tail keeps o's) */
                ob.rounding = s8g_rounding(o.rounding, shift + first, 8 * nh);
                for (r = 0; r < S8G_ROWS; ++r)
                    yr[r] = y + (size_t)(pix0 + (r < rows ? r : 0)) * p->out_c + first;
                s8g_tile(xr, rows, nh, k, packed ? panel + (size_t)k * o0 : 0, wg + o0, (size_t)og,
                         bias + first, mult + first, shift + first, &ob, yr);
                o0 += 8 * nh;
            }
            if (o0 < og)
                for (r = 0; r < rows; ++r)
                    s8g_tail(cols[r], k, wg + o0, (size_t)og, og - o0, bias + g * og + o0,
                             mult + g * og + o0, shift + g * og + o0, &o,
                             y + (size_t)(pix0 + r) * p->out_c + g * og + o0);
        }
    }
}
#else
typedef int cnnc_s8_conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
