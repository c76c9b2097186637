/* The loops of the int8 fully connected layer shared by its SIMD variants
 * (s8_dense_<isa>.c: __avx2, __avx512, __avx512vnni, __avxvnni, __neon; through
 * cnnc_s8_pwconv__<isa> also the pointwise conv), bit-exact to cnnc_s8_dense__ref: same weights
 * w[K][M], same int32 accumulators, cnnc_requant_s8's results. Private to the s8 kernels (not a
 * public header).
 *
 * Tiles of S8_TILE_ROWS rows of x by S8_TILE_COLS (then 16, then 8: S8_BLOCK_COLS) outputs
 * run on the including ISA's tile hooks (s8_tile_<isa>.h: s8_tile_any, s8_tile_requant,
 * and S8_TARGET, the target attribute every function here carries so that the hooks
 * inline), so this part is compiled only where such a header defined them
 * (S8_TILE_ROWS). Outputs left over after the 8-wide blocks run the reference loop.
 *
 * Overflow: every int32 lane holds bias[o] plus a subset of the terms of output o,
 * bounded by |bias[o]| + xmax * sum_i |w[i][o]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.passes.quantize, check_accumulator); each tile's own bound per step is in its header.
 * Integer addition is associative, so the different summation order gives the
 * reference's result exactly. */
#ifndef CNNC_S8_DENSE_LOOPS_H
#define CNNC_S8_DENSE_LOOPS_H

#include <string.h>

#include "cnnc_s8.h"

#if defined(S8_TILE_ROWS)
/* The width of the next block of outputs with `left` (>= 8) to go: the tile's widest,
 * then 16 where the tile is wider, then 8. */
#ifndef S8_BLOCK_COLS
#define S8_BLOCK_COLS(left) ((left) >= S8_TILE_COLS ? S8_TILE_COLS : ((left) >= 16 ? 16 : 8))
#endif

/* Rows b0 .. b0 + rows - 1 of x[n][k] -> y[n][m]. */
S8_TARGET static void s8_dense_rows(const cnnc_s8_dense_params *p, const int8_t *x, int32_t rows,
                                    const int8_t *w, const int32_t *bias, const int32_t *mult,
                                    const int32_t *shift, int8_t *y) {
    int32_t acc[S8_TILE_ROWS * S8_TILE_COLS]; /* [rows][S8_TILE_COLS] */
    int32_t o0 = 0, r, i, j;
    while (o0 + 8 <= p->m) {
        const int32_t nb = S8_BLOCK_COLS(p->m - o0);
        const int8_t *wb = w + o0; /* [k][m] from output o0 */
        s8_tile_any(x, p->k, rows, p->k, p->x_zero_point, wb, p->m, nb, bias + o0, 0, acc);
        for (r = 0; r < rows; ++r)
            s8_tile_requant(acc + r * S8_TILE_COLS, nb, mult + o0, shift + o0, p->rounding,
                            p->y_zero_point, p->act_min, p->act_max, y + (size_t)r * p->m + o0);
        o0 += nb;
    }
    for (r = 0; r < rows && o0 < p->m; ++r) {    /* fewer than 8 outputs left: reference loop */
        const int8_t *xr = x + (size_t)r * p->k; /* [k] */
        const int32_t nb = p->m - o0;
        for (j = 0; j < nb; ++j) acc[j] = bias[o0 + j];
        for (i = 0; i < p->k; ++i) {
            const int32_t xv = xr[i] - p->x_zero_point;
            const int8_t *wr = w + (size_t)i * p->m + o0; /* [nb] */
            for (j = 0; j < nb; ++j) acc[j] += xv * wr[j];
        }
        for (j = 0; j < nb; ++j)
            y[(size_t)r * p->m + o0 + j] =
                cnnc_requant_s8(acc[j], mult[o0 + j], shift[o0 + j], p->rounding, p->y_zero_point,
                                p->act_min, p->act_max);
    }
}

#if defined(S8_PANEL_COLS)
/* K up to this runs on the panel GEMM (its panel and converted rows live on the stack:
 * 64 KiB and 48 KiB at the AVX-512 sizes); longer rows take the tiles above. */
#define S8_PANEL_KMAX 2048

/* x[n][k] -> y[n][m] on the including ISA's panel hooks: S8_PANEL_UNIT, the k elements
 * one int32 of a converted row holds (2: int16 pairs for vpmaddwd, 4: u8 quads for
 * vpdpbusd); s8_panel_pack (full panels; s8_panel_pack_rest below does the rest),
 * s8_panel_init (the panel's starting sums from the bias; a plain copy below by default),
 * s8_panel_rows, s8_panel_tile_any, s8_panel_rq_prepare, s8_panel_requant. For each panel
 * of S8_PANEL_COLS outputs the weights are repacked once, then each block of
 * S8_PANEL_ROWS rows of x is converted once and multiplied in registers. Every output
 * gets its bias plus all of its k terms: __ref's int32 sum (each tile header argues its
 * arithmetic). */
/* The rows of the panel s8_panel_pack left (a partial panel: all of them; otherwise an
 * odd last row), from row i0 (a multiple of S8_PANEL_UNIT): wp group i / UNIT holds, for
 * j < S8_PANEL_COLS, the UNIT bytes w[i + t][j] (zero for j >= cols or i + t >= k). The
 * groups are zeroed first, then each weight row's cols bytes are spread into them (no
 * per-byte condition: a 10-output classifier's pack was most of its time). */
S8_TARGET static void s8_panel_pack_rest(const int8_t *w, int32_t k, size_t ldw, int32_t cols,
                                         int32_t i0, int8_t *wp) {
    const int32_t kr = (k + S8_PANEL_UNIT - 1) / S8_PANEL_UNIT * S8_PANEL_UNIT;
    int32_t i, j;
    if (i0 >= kr) return;
    memset(wp + (size_t)i0 * S8_PANEL_COLS, 0, (size_t)(kr - i0) * S8_PANEL_COLS);
    for (i = i0; i < k; ++i) {
        const int8_t *src = w + (size_t)i * ldw;
        int8_t *dst = wp + (size_t)(i - i % S8_PANEL_UNIT) * S8_PANEL_COLS + i % S8_PANEL_UNIT;
        for (j = 0; j < cols; ++j) dst[(size_t)S8_PANEL_UNIT * j] = src[j];
    }
}

#if !defined(S8_PANEL_INIT)
/* init[j] = bias[j] for j < cols, 0 up to S8_PANEL_COLS: the int16 pairs of x - zp need no
 * correction (tiers whose sums do, the VNNI one, define S8_PANEL_INIT and their own). */
S8_TARGET CNNC_INLINE void s8_panel_init(const int32_t *bias, int32_t cols, int32_t zp,
                                         const int8_t *wp, int32_t kp, int32_t *init) {
    int32_t j;
    (void)zp;
    (void)wp;
    (void)kp;
    for (j = 0; j < S8_PANEL_COLS; ++j) init[j] = j < cols ? bias[j] : 0;
}
#endif

/* Outputs [c0, c1) of every row (0 <= c0 <= c1 <= m; all of them: s8_dense_panels below). */
S8_TARGET static void s8_dense_panels_cols(const cnnc_s8_dense_params *p, int32_t c0, int32_t c1,
                                           const int8_t *x, const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y) {
    int8_t wp[S8_PANEL_KMAX * S8_PANEL_COLS] __attribute__((aligned(64)));
    int32_t xs[S8_PANEL_ROWS * S8_PANEL_KMAX / 2] __attribute__((aligned(64)));
    int32_t acc[S8_PANEL_ROWS * S8_PANEL_COLS] __attribute__((aligned(64)));
    int32_t init[S8_PANEL_COLS] __attribute__((aligned(64)));
    const int32_t kp = (p->k + S8_PANEL_UNIT - 1) / S8_PANEL_UNIT; /* int32 steps per row */
    int32_t o0, r0, r;
    for (o0 = c0; o0 < c1; o0 += S8_PANEL_COLS) {
        const int32_t cols = c1 - o0 < S8_PANEL_COLS ? c1 - o0 : S8_PANEL_COLS;
        s8_panel_rq rq;
        s8_panel_pack_rest(w + o0, p->k, (size_t)p->m, cols,
                           s8_panel_pack(w + o0, p->k, (size_t)p->m, cols, wp), wp);
        s8_panel_rq_prepare(&rq, cols, mult + o0, shift + o0, p->rounding, p->y_zero_point,
                            p->act_min, p->act_max);
        s8_panel_init(bias + o0, cols, p->x_zero_point, wp, kp, init);
        for (r0 = 0; r0 < p->n; r0 += S8_PANEL_ROWS) {
            const int32_t rows = p->n - r0 < S8_PANEL_ROWS ? p->n - r0 : S8_PANEL_ROWS;
            s8_panel_rows(x + (size_t)r0 * p->k, (size_t)p->k, rows, p->k, p->x_zero_point, kp, xs);
            for (r = rows; r < S8_PANEL_ROWS; ++r) /* rows the tile runs but nobody reads */
                memset(xs + (size_t)r * kp, 0, (size_t)kp * 4);
            s8_panel_tile_any(xs, kp, wp, init, acc, rows);
            for (r = 0; r < rows; ++r)
                s8_panel_requant(&rq, acc + r * S8_PANEL_COLS, y + (size_t)(r0 + r) * p->m + o0);
        }
    }
}

S8_TARGET static void s8_dense_panels(const cnnc_s8_dense_params *p, const int8_t *x,
                                      const int8_t *w, const int32_t *bias, const int32_t *mult,
                                      const int32_t *shift, int8_t *y) {
    s8_dense_panels_cols(p, 0, p->m, x, w, bias, mult, shift, y);
}
#endif

#if defined(S8_GEMV_COLS)
/* Outputs a one-row layer's GEMV holds (its int32 sums live on the stack: 16 KiB). */
#define S8_GEMV_MMAX 4096

/* x[k] -> y[m] for one row (a classifier), m >= S8_GEMV_COLS: the weight rows are read once,
 * in order, two at a time (the broadcast pair x[i] - zp, x[i + 1] - zp against blocks of
 * S8_GEMV_COLS outputs, the ISA's s8_gemv_step), into sums that stay in L1; then each
 * block's sums are put in output order (s8_gemv_order), the bias added and requantised. A
 * last partial block runs as a whole block ending at output m (its own sums), of which the
 * outputs past the full blocks are kept. Each sum is bias[o] plus all of output o's terms:
 * __ref's int32 sum (the tile header argues the pairs' arithmetic). */
S8_TARGET static void s8_gemv(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                              const int32_t *bias, const int32_t *mult, const int32_t *shift,
                              int8_t *y) {
    static const int8_t zeros[S8_GEMV_COLS] = {0}; /* the row after an odd k's last */
    int32_t acc[S8_GEMV_MMAX + S8_GEMV_COLS] __attribute__((aligned(64)));
    int8_t out[S8_GEMV_COLS];
    const int32_t m = p->m, full = m / S8_GEMV_COLS * S8_GEMV_COLS, last = m - S8_GEMV_COLS;
    const int32_t blocks = full + (full < m ? S8_GEMV_COLS : 0); /* sums, the last's included */
    int32_t i, o;
    memset(acc, 0, (size_t)blocks * sizeof(int32_t));
    for (i = 0; i < p->k; i += 2) {
        const int8_t *w0 = w + (size_t)i * m, *w1 = i + 1 < p->k ? w0 + m : 0;
        const int32_t a = x[i] - p->x_zero_point, b = i + 1 < p->k ? x[i + 1] - p->x_zero_point : 0;
        for (o = 0; o < full; o += S8_GEMV_COLS)
            s8_gemv_step(acc + o, w0 + o, w1 ? w1 + o : zeros, a, b);
        if (full < m) s8_gemv_step(acc + full, w0 + last, w1 ? w1 + last : zeros, a, b);
    }
    for (o = 0; o < blocks; o += S8_GEMV_COLS) {
        const int32_t first = o < full ? o : last; /* the block's first output */
        int32_t j;
        s8_gemv_order(acc + o);
        for (j = 0; j < S8_GEMV_COLS; ++j) acc[o + j] += bias[first + j];
        s8_tile_requant(acc + o, S8_GEMV_COLS, mult + first, shift + first, p->rounding,
                        p->y_zero_point, p->act_min, p->act_max, o < full ? y + o : out);
    }
    if (full < m) memcpy(y + full, out + (full - last), (size_t)(m - full));
}
#endif

/* The body of cnnc_s8_dense__<isa>: x[n][k] -> y[n][m], S8_TILE_ROWS rows at a time
 * (on the panel GEMM where the ISA has one, k <= S8_PANEL_KMAX and there are two rows or
 * more: a single row, a classifier's, would pay the panels' repacking of every weight
 * for one use; AVX-512, 1280 -> 1000: 300 us with panels, 234 us on the tiles; 128 -> 10:
 * 2.9 us, 1.3 us). A single row of at least S8_GEMV_COLS outputs runs on s8_gemv where
 * the ISA has it. */
S8_TARGET CNNC_INLINE void s8_dense_loops(const cnnc_s8_dense_params *p, const int8_t *x,
                                          const int8_t *w, const int32_t *bias, const int32_t *mult,
                                          const int32_t *shift, int8_t *y) {
    int32_t b0;
#if defined(S8_GEMV_COLS)
    if (p->n == 1 && p->m >= S8_GEMV_COLS && p->m <= S8_GEMV_MMAX) {
        s8_gemv(p, x, w, bias, mult, shift, y);
        return;
    }
#endif
#if defined(S8_PANEL_COLS)
    if (p->k <= S8_PANEL_KMAX && p->n > 1) {
        s8_dense_panels(p, x, w, bias, mult, shift, y);
        return;
    }
#endif
    for (b0 = 0; b0 < p->n; b0 += S8_TILE_ROWS) {
        const int32_t rows = p->n - b0 < S8_TILE_ROWS ? p->n - b0 : S8_TILE_ROWS;
        s8_dense_rows(p, x + (size_t)b0 * p->k, rows, w, bias, mult, shift, y + (size_t)b0 * p->m);
    }
}
#endif

#endif /* CNNC_S8_DENSE_LOOPS_H */
