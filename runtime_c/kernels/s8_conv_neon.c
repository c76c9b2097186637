/* ARM NEON variants of the int8 convolutions, bit-exact to their __ref kernels (same
 * packed weights, same int32 sums, cnnc_requant_s8's results). The pointwise conv runs as
 * a dense layer on cnnc_s8_dense__neon (s8_dense_neon.c). The general conv gathers the
 * inputs of 4 output pixels (im2col, padding taps as x's zero point; from the padded input
 * window of s8_win_neon.h band by band where a pixel's window fits it) and runs the
 * register-blocked GEMM of s8_gemm_neon.h over K = kernel_h * kernel_w * C/G with the
 * group's weights widened once into a stack panel; a conv whose K exceeds the gather
 * buffer runs the tap-by-tap loops of s8_conv_loops.h on the NEON tile (s8_tile_neon.h).
 * On aarch64 the general conv runs the 16-bit partial sums of s8_h16_neon.h instead
 * (s8h_conv) on rows gathered from a padded input window (s8_win_neon.h), unless a weight is
 * -128 or its buffers are too small.
 * Compiled when the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_gemm_neon.h"
#include "s8_h16_neon.h"
#include "s8_win_neon.h"
#include "s8_tile_neon.h"
#include "s8_conv_loops.h"

#if defined(__ARM_NEON)
#define S8G_GATHER 4096  /* inputs per pixel gathered on the stack (4 pixels: 16 KiB) */
#define S8N_WINDOW 16384 /* bytes of the padded input window (s8_win_neon.h) */

void cnnc_s8_pwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__neon(&dense, x, w, bias, mult, shift, y);
}

#if defined(__aarch64__)
#define S8C_COLS 16384   /* bytes of gathered pixels (im2col rows of K rounded up to 16) */
#define S8C_PANELS 32768 /* bytes of the s8h panels of a group's blocks of 16 outputs */
#define S8C_WINDOW 16384 /* bytes of the padded input window (s8_win_neon.h) */
#define S8C_BLOCKS 8     /* blocks of 16 outputs packed at once */

/* The conv on the 16-bit partial sums (s8_h16_neon.h): per group, its blocks of 16 outputs
 * packed side by side (as many as S8C_PANELS holds), then band by band (s8_win_neon.h) the
 * pixels gathered in batches and each batch run against every packed block, tiles of 4
 * pixels. Returns 0, having maybe written part of y, when it cannot run the layer (K past
 * its buffers, no window fits, a weight of -128): the caller then runs the whole layer. */
/* noinline: its buffers not in the caller's frame */
CNNC_NOINLINE static int s8h_conv(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                  int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    const size_t ldx = ((size_t)k + 15) / 16 * 16, stride = ((size_t)k + 3) / 4 * 64;
    int8_t cols[S8C_COLS], panel[S8C_PANELS], win[S8C_WINDOW];
    s8h_block blk[S8C_BLOCKS];
    s8w_plan pl;
    s8g_out o;
    int32_t g, o0, j, first, nblk, batch;
    s8w_band bd;
    if (ldx * S8H_ROWS > S8C_COLS || stride > S8C_PANELS || !s8w_plan_for(p, S8C_WINDOW, &pl))
        return 0;
    nblk =
        (int32_t)(S8C_PANELS / stride) < S8C_BLOCKS ? (int32_t)(S8C_PANELS / stride) : S8C_BLOCKS;
    batch = (int32_t)(S8C_COLS / ldx) / S8H_ROWS * S8H_ROWS;
    o = S8G_OUT_OF(p);
    for (g = 0; g < p->groups; ++g) {
        const int8_t *wg = w + (size_t)g * k * og; /* [k][og] */
        for (o0 = 0; o0 < og; o0 += S8H_COLS * nblk) {
            const int32_t span = og - o0 < S8H_COLS * nblk ? og - o0 : S8H_COLS * nblk;
            const int32_t blocks = (span + S8H_COLS - 1) / S8H_COLS;
            for (j = 0; j < blocks; ++j) {
                const int32_t oj = o0 + S8H_COLS * j, first_o = g * og + oj;
                const int32_t nb = og - oj < S8H_COLS ? og - oj : S8H_COLS;
                if (!s8h_pack(wg + oj, (size_t)og, k, nb, bias + first_o, mult + first_o,
                              shift + first_o, &o, panel + stride * j, &blk[j]))
                    return 0; /* a weight of -128 */
            }
            bd = S8W_FIRST;
            while (s8w_next(p, &pl, &bd)) {
                const size_t pitch = s8w_fill(p, x, bd.b, bd.oy0, bd.ox0, bd.oh, bd.ow, win);
                int8_t *const yb = y + s8w_out(p, &bd) + (size_t)g * og;
                const int32_t pixels = bd.oh * bd.ow;
                for (first = 0; first < pixels; first += batch) {
                    const int32_t n = pixels - first < batch ? pixels - first : batch;
                    s8w_gather(p, win, pitch, bd.ow, first, n, g, cols, ldx);
                    for (j = 0; j < blocks; ++j) {
                        const int32_t oj = o0 + S8H_COLS * j;
                        const int32_t nb = og - oj < S8H_COLS ? og - oj : S8H_COLS;
                        s8h_tile(cols, ldx, n, k, panel + stride * j, &blk[j], nb, &o,
                                 yb + (size_t)first * p->out_c + oj, (size_t)p->out_c);
                    }
                }
            }
        }
    }
    return 1;
}
#endif

/* Output pixels pix0 .. pix0 + npix - 1 of group g (consecutive in y, from yb), their
 * inputs gathered S8G_ROWS at a time: from the padded window win (pitch, a band ow pixels
 * wide, s8_win_neon.h) where there is one, else from x with bounds tests (s8g_gather, pixel
 * numbers counted over the whole output). */
S8G_ALWAYS_INLINE void s8g_conv_pixels(const cnnc_s8_conv_params *p, const int8_t *x,
                                       const int8_t *win, size_t pitch, int32_t ow, int32_t npix,
                                       int32_t g, const int8_t *wg, const int16_t *panel,
                                       const int32_t *bias, const int32_t *mult,
                                       const int32_t *shift, const s8g_out *o, int8_t *yb,
                                       int8_t (*cols)[S8G_GATHER]) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    int32_t pix0, o0, r;
    for (pix0 = 0; pix0 < npix; pix0 += S8G_ROWS) {
        const int32_t rows = npix - pix0 < S8G_ROWS ? npix - pix0 : S8G_ROWS;
        const int8_t *xr[S8G_ROWS];
        int8_t *yr[S8G_ROWS];
        if (win)
            s8w_gather(p, win, pitch, ow, pix0, rows, g, cols[0], S8G_GATHER);
        else
            for (r = 0; r < rows; ++r) s8g_gather(p, x, pix0 + r, g, cols[r]);
        for (r = 0; r < S8G_ROWS; ++r) xr[r] = cols[r < rows ? r : 0];
        for (o0 = 0; o0 + 8 <= og;) {
            const int32_t nh = S8G_NH(og - o0), first = g * og + o0;
            s8g_out ob = *o; /* the block's shortest requantisation (s8g_tail keeps o's) */
            ob.rounding = s8g_rounding(o->rounding, shift + first, 8 * nh);
            for (r = 0; r < S8G_ROWS; ++r)
                yr[r] = yb + (size_t)(pix0 + (r < rows ? r : 0)) * p->out_c + first;
            s8g_tile(xr, rows, nh, k, panel ? panel + (size_t)k * o0 : 0, wg + o0, (size_t)og,
                     bias + first, mult + first, shift + first, &ob, yr);
            o0 += 8 * nh;
        }
        if (o0 < og)
            for (r = 0; r < rows; ++r)
                s8g_tail(cols[r], k, wg + o0, (size_t)og, og - o0, bias + g * og + o0,
                         mult + g * og + o0, shift + g * og + o0, o,
                         yb + (size_t)(pix0 + r) * p->out_c + g * og + o0);
    }
}

/* The conv on the int32 GEMM (s8_gemm_neon.h). */
/* noinline: its buffers not in a frame below s8h_conv's */
CNNC_NOINLINE static void s8g_conv(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                                   const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                   int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    const int32_t pixels = p->n * p->out_h * p->out_w;
    const size_t group_size = (size_t)k * og;
    int8_t cols[S8G_ROWS][S8G_GATHER], win[S8N_WINDOW];
    int16_t panel[S8G_PANEL];
    s8w_plan pl;
    s8g_out o;
    int packed, windowed;
    int32_t g, o0;
    s8w_band bd;
    /* pixels gathered band by band from the padded input window where one fits (any
     * dilation), else tap by tap with bounds tests (s8g_gather: adjacent taps) */
    windowed = s8w_plan_for(p, S8N_WINDOW, &pl);
    if (k > S8G_GATHER || (!windowed && (p->dilation_h != 1 || p->dilation_w != 1))) {
        s8_conv_loops(p, x, w, bias, mult, shift, y); /* the tap loops honour dilation */
        return;
    }
    /* all of a group's 8-wide blocks widened at once, when they fit and pixels reuse them */
    packed = pixels > 1 && (size_t)k * (size_t)(og & ~7) <= S8G_PANEL;
    o = S8G_OUT_OF(p);
    for (g = 0; g < p->groups; ++g) {
        const int8_t *wg = w + (size_t)g * group_size; /* [k][og] */
        const int16_t *pg = packed ? panel : 0;
        if (packed)
            for (o0 = 0; o0 + 8 <= og; o0 += 8 * S8G_NH(og - o0))
                s8g_panel(wg + o0, (size_t)og, k, S8G_NH(og - o0), panel + (size_t)k * o0);
        if (!windowed) {
            s8g_conv_pixels(p, x, 0, 0, 0, pixels, g, wg, pg, bias, mult, shift, &o, y, cols);
            continue;
        }
        bd = S8W_FIRST;
        while (s8w_next(p, &pl, &bd)) {
            const size_t pitch = s8w_fill(p, x, bd.b, bd.oy0, bd.ox0, bd.oh, bd.ow, win);
            s8g_conv_pixels(p, x, win, pitch, bd.ow, bd.oh * bd.ow, g, wg, pg, bias, mult, shift,
                            &o, y + s8w_out(p, &bd), cols);
        }
    }
}

void cnnc_s8_conv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
#if defined(__aarch64__)
    if (p->n * p->out_h * p->out_w >= S8H_ROWS && s8h_conv(p, x, w, bias, mult, shift, y)) return;
#endif
    s8g_conv(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
