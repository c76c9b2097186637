/* ARM NEON variant of the int8 fully connected layer (and, through cnnc_s8_pwconv__neon,
 * the pointwise conv), bit-exact to cnnc_s8_dense__ref. Compiled when the build targets
 * NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise.
 *
 * - aarch64, 4 rows or more: 16-bit partial sums (s8h_*, s8_h16_neon.h), blocks of 16 outputs,
 *   tiles of 4 rows.
 * - otherwise (armv7, fewer than 4 rows, K past the panel, a weight of -128): the
 *   register-blocked GEMM of s8_gemm_neon.h, blocks of 16 outputs (aarch64) or 8 (armv7)
 *   whose weights are widened once into a stack panel shared by all rows, tiles of 4 rows.
 *   Fewer than 8 outputs left run __ref's loop. */
#include "cnnc_s8.h"
#define S8G_TILE_DEFINITION /* the one copy of cnnc_s8g_tile_neon */
#define S8H_TILE_DEFINITION /* and of cnnc_s8h_tile_neon */
#include "s8_gemm_neon.h"

#if defined(__ARM_NEON)
/* Outputs o0 .. m-1 of every row on the s8g GEMM (s8_gemm_neon.h); inlined into its one
 * caller (a call of its own costs a single-row dense layer 30 instructions). */
S8G_ALWAYS_INLINE void s8g_dense(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                                 const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                 int8_t *y, int32_t o0) {
    int16_t panel[S8G_PANEL];
    s8g_out o;
    int32_t b0, r;
    /* the panel pays when rows reuse it and it holds a whole block */
    const int packed = p->n > 1 && (size_t)p->k * S8G_COLS <= S8G_PANEL;
    o = S8G_OUT_OF(p);
    while (o0 + 8 <= p->m) {
        const int32_t nh = S8G_NH(p->m - o0);
        s8g_out ob = o; /* the block's shortest requantisation (s8g_tail keeps o's) */
        ob.rounding = s8g_rounding(o.rounding, shift + o0, 8 * nh);
        if (packed) s8g_panel(w + o0, (size_t)p->m, p->k, nh, panel);
        for (b0 = 0; b0 < p->n; b0 += S8G_ROWS) {
            const int32_t rows = p->n - b0 < S8G_ROWS ? p->n - b0 : S8G_ROWS;
            const int8_t *xr[S8G_ROWS];
            int8_t *yr[S8G_ROWS];
            for (r = 0; r < S8G_ROWS; ++r) {
                const int32_t row = b0 + (r < rows ? r : 0);
                xr[r] = x + (size_t)row * p->k;
                yr[r] = y + (size_t)row * p->m + o0;
            }
            s8g_tile(xr, rows, nh, p->k, packed ? panel : 0, w + o0, (size_t)p->m, bias + o0,
                     mult + o0, shift + o0, &ob, yr);
        }
        o0 += 8 * nh;
    }
    if (o0 < p->m)
        for (b0 = 0; b0 < p->n; ++b0)
            s8g_tail(x + (size_t)b0 * p->k, p->k, w + o0, (size_t)p->m, p->m - o0, bias + o0,
                     mult + o0, shift + o0, &o, y + (size_t)b0 * p->m + o0);
}

#include "s8_h16_neon.h" /* the 16-bit partial sums (aarch64) */

#if defined(__aarch64__)
/* The outputs of all rows by blocks of 16 on the 16-bit partial sums; returns the first
 * output left to s8g_dense (m when none: a block holding a weight of -128 and the rest). */
#if defined(__GNUC__)
__attribute__((noinline)) /* its panel not in the caller's frame */
#endif
static int32_t
s8h_dense(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w, const int32_t *bias,
          const int32_t *mult, const int32_t *shift, int8_t *y) {
    int8_t panel[S8H_PANEL];
    s8h_block blk;
    s8g_out o;
    int32_t o0;
    o = S8G_OUT_OF(p);
    for (o0 = 0; o0 < p->m; o0 += S8H_COLS) {
        const int32_t nb = p->m - o0 < S8H_COLS ? p->m - o0 : S8H_COLS;
        if (!s8h_pack(w + o0, (size_t)p->m, p->k, nb, bias + o0, mult + o0, shift + o0, &o, panel,
                      &blk))
            break; /* a weight of -128: this block and the rest on s8g_dense */
        s8h_tile(x, (size_t)p->k, p->n, p->k, panel, &blk, nb, &o, y + o0, (size_t)p->m);
    }
    return o0;
}
#endif

void cnnc_s8_dense__neon(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    int32_t o0 = 0;
#if defined(__aarch64__) /* the 16-bit partial sums pay when rows reuse the panel */
    if (p->n >= S8H_ROWS && (size_t)p->k * S8H_COLS + 3 * S8H_COLS <= S8H_PANEL)
        o0 = s8h_dense(p, x, w, bias, mult, shift, y);
#endif
    if (o0 < p->m) s8g_dense(p, x, w, bias, mult, shift, y, o0);
}
#else
typedef int cnnc_s8_dense_neon_empty; /* ISO C forbids an empty translation unit */
#endif
