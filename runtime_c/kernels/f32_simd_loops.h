/* The float32 SIMD conv/dense driver loops, written once over the vector hooks of
 * f32_simd_x86.h (f32v, f32v_mac, f32v_act, ...), so a fix to the loops reaches every ISA
 * and both float modes. The including file sets F32_AVX512, F32_FAST, F32_TARGET and the
 * register tile F32_MR (output pixels per tile; channels per tile are F32_NV = 2 vectors);
 * ARM sets F32_NEON 1 for f32_simd_neon.h's hooks instead, and its conv tile loads 4 input
 * channels per pixel at once and multiplies by lane.
 *
 * Vector lanes run over output channels (channels for depthwise), never over the sum:
 * each lane owns one output and sums bias, then taps in (ky, kx, c) order, as __ref does.
 * With the exact f32v_mac (separate mul, then add; no FMA) every lane rounds exactly as
 * __ref's scalar loop, so the results are bit-identical; with the FMA f32v_mac (fast mode)
 * only the rounding of each product changes, not the order.
 *
 * Loop nests (all layouts as in cnnc_f32.h):
 *   dense/pwconv  x[P,K] w[K,M]: blocks of pixels whose rows stay in L1, then strips of
 *                 2 vectors of output channels, then tiles of F32_MR pixels (4, then 1, at
 *                 the end of a block); per k one broadcast of x per pixel, one load of w per
 *                 vector, F32_MR x 2 accumulators live in registers.
 *   conv_oc8      w[KH,KW,C,Co]: the same tile over the taps of a window; per output row
 *                 the valid ky are one interval, and pixels whose window lies inside the
 *                 input columns (interior) form one run of tiles sharing the kx interval;
 *                 border pixels go one at a time with their own kx interval.
 *   dwconv        w[KH,KW,C]: tiles of F32_DW_PX pixels by one channel vector, the tap's
 *                 weight vector loaded once per tile; border pixels one at a time. */
#ifndef F32_SIMD_LOOPS_H
#define F32_SIMD_LOOPS_H

#include <stddef.h>

#if defined(F32_NEON) && F32_NEON
#include "f32_simd_neon.h"
#else
#include "f32_simd_x86.h"
#endif

#ifndef F32_NV
#define F32_NV 2 /* output-channel vectors per conv/dense tile (NEON AArch64: 4) */
#endif
#define F32_DW_PX 4 /* output pixels per depthwise tile */
#define F32_PF 8    /* rows of w prefetched ahead in conv_tile */

/* Geometry of a conv seen by one tile; dense and pwconv are the 1x1 case. */
typedef struct {
    const float *x;   /* input [N,H,W,C] (dense: [P,K]) */
    ptrdiff_t xstep;  /* input floats between the tile's neighbouring output pixels */
    ptrdiff_t kyoff;  /* input floats per ky step (dilation_h rows) */
    ptrdiff_t kxoff;  /* input floats per kx step (dilation_w pixels) */
    int32_t c;        /* input channels per tap (dense: K) */
    int32_t kernel_w; /* taps per kernel row */
    int32_t out_c;    /* output channels: w's row length and the output pixel stride */
} f32_geom;

/* [t0, t1): the taps t < k whose input index i0 + t*d lies in [0, size). */
F32_TARGET static void f32_valid_taps(int i0, int d, int size, int k, int *t0, int *t1) {
    int lo = i0 < 0 ? (-i0 + d - 1) / d : 0;
    int hi = i0 <= size - 1 ? (size - 1 - i0) / d + 1 : 0;
    if (lo > k) lo = k;
    if (hi > k) hi = k;
    if (hi < lo) hi = lo;
    *t0 = lo;
    *t1 = hi;
}

/* mr output pixels (input offset xpix of pixel 0's tap (0, 0), then + i*g->xstep) by
 * nv vectors of output channels, the last with `last` lanes (mask `m`), over taps
 * ky in [ky0, ky1), kx in [kx0, kx1). w and bias point at the strip's first channel;
 * out at pixel 0's first channel. mr, nv are constants at every call (always inlined),
 * so acc lives in registers. */
F32_INLINE void conv_tile(const int mr, const int nv, const int last, f32m m, const f32_geom *g,
                          ptrdiff_t xpix, int ky0, int ky1, int kx0, int kx1,
                          const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                          float *CNNC_RESTRICT out, const cnnc_f32_act *act) {
    f32v acc[F32_MR][F32_NV]; /* pixel i, channels [v*LANES, (v+1)*LANES) */
    const size_t co = (size_t)g->out_c;
    int i, v, ky, kx, ci;
#pragma GCC unroll 16
    for (i = 0; i < mr; ++i) {
#pragma GCC unroll 4
        for (v = 0; v < nv; ++v) {
            const int n = v == nv - 1 ? last : F32_LANES;
            acc[i][v] = bias ? f32v_load_n(bias + v * F32_LANES, n, m) : f32v_zero();
        }
    }
    for (ky = ky0; ky < ky1; ++ky) {
        for (kx = kx0; kx < kx1; ++kx) {
            /* wt[C,Co] tap (ky, kx); xt[C] pixel 0's input at that tap */
            const float *wt = w + ((size_t)ky * g->kernel_w + kx) * g->c * co;
            const float *xt = g->x + (xpix + ky * g->kyoff + kx * g->kxoff);
            ci = 0;
#if defined(F32_NEON) && F32_NEON
            { /* 4 input channels of each pixel in one load, multiplied by lane: channel
               * ci + l of every pixel still adds to each output in the order above. One
               * pointer walks the rows of wt, each row's nv vectors one multi-register load */
                const float *xp[F32_MR]; /* pixel i's input at this tap */
                const float *wp = wt;    /* row ci of wt */
#pragma GCC unroll 16
                for (i = 0; i < mr; ++i) xp[i] = xt + i * g->xstep;
#if defined(F32_NEON_TILE44)
                if (mr == 4 && nv == 4 && last == F32_LANES && g->c >= 4) {
                    f32_neon_tile44(acc, xp, &wp, co, g->c / 4);
                    ci = g->c / 4 * 4;
                }
                if (mr == 4 && nv == 2 && last == F32_LANES && F32_NV == 4 && g->c >= 4) {
                    f32_neon_tile42(acc, xp, &wp, co, g->c / 4);
                    ci = g->c / 4 * 4;
                }
#endif
                for (; ci + 4 <= g->c; ci += 4) {
                    f32v xv[F32_MR];
                    int l;
#pragma GCC unroll 16
                    for (i = 0; i < mr; ++i) {
                        xv[i] = f32v_load(xp[i]);
                        xp[i] += 4;
                    }
#pragma GCC unroll 4
                    for (l = 0; l < 4; ++l) {
                        f32v wv[F32_NV];
                        f32v_load_row(wp, nv, last, m, wv);
                        wp += co;
#pragma GCC unroll 16
                        for (i = 0; i < mr; ++i) {
#pragma GCC unroll 4
                            for (v = 0; v < nv; ++v)
                                acc[i][v] = f32v_mac_lane_n(acc[i][v], wv[v], xv[i], l);
                        }
                    }
                }
            }
#endif
            for (; ci < g->c; ++ci) {
                f32v wv[F32_NV];
                /* w's rows are 4 * Co bytes apart, a new page each when Co is large: the
                   hardware prefetcher does not follow, so fetch F32_PF rows ahead */
                if (ci + F32_PF < g->c) {
                    __builtin_prefetch(wt + (ci + F32_PF) * co);
                    if (nv > 1) __builtin_prefetch(wt + (ci + F32_PF) * co + F32_LANES);
                }
#if defined(F32_NEON) && F32_NEON
                f32v_load_row(wt + ci * co, nv, last, m, wv);
#else
#pragma GCC unroll 2
                for (v = 0; v < nv; ++v) {
                    const int n = v == nv - 1 ? last : F32_LANES;
                    wv[v] = f32v_load_n(wt + ci * co + v * F32_LANES, n, m);
                }
#endif
#pragma GCC unroll 16
                for (i = 0; i < mr; ++i) {
                    const f32v xb = f32v_set1(xt[i * g->xstep + ci]);
#pragma GCC unroll 4
                    for (v = 0; v < nv; ++v) acc[i][v] = f32v_mac(acc[i][v], xb, wv[v]);
                }
            }
        }
    }
#pragma GCC unroll 16
    for (i = 0; i < mr; ++i) {
#pragma GCC unroll 4
        for (v = 0; v < nv; ++v) {
            const int n = v == nv - 1 ? last : F32_LANES;
            f32v_store_n(out + i * co + v * F32_LANES, n, m, f32v_act(act, acc[i][v]));
        }
    }
}

/* npix neighbouring output pixels sharing one tap interval, in tiles of F32_MR, 4, 1.
 * pw: a constant, 1 for the 1x1 case (dense, pwconv: taps [0, 1) x [0, 1)). */
F32_INLINE void conv_run(const int nv, const int last, f32m m, const f32_geom *g, ptrdiff_t xpix,
                         int npix, int ky0, int ky1, int kx0, int kx1, const float *CNNC_RESTRICT w,
                         const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT out,
                         const cnnc_f32_act *act, const int pw) {
    const size_t co = (size_t)g->out_c;
    int i = 0;
#if defined(F32_NEON_RUN)
    /* AArch64: the 1x1 case's tiles of 4 pixels in one assembly loop */
    if (pw && last == F32_LANES && (nv == 4 || nv == 2)) {
        i = f32_neon_run(nv, g->x + xpix, g->xstep, g->c, co, npix, w, bias, out, act);
    }
#else
    (void)pw;
#endif
    for (; i + F32_MR <= npix; i += F32_MR) {
        conv_tile(F32_MR, nv, last, m, g, xpix + i * g->xstep, ky0, ky1, kx0, kx1, w, bias,
                  out + i * co, act);
    }
    for (; F32_MR > 4 && i + 4 <= npix; i += 4) {
        conv_tile(F32_MR > 4 ? 4 : 1, nv, last, m, g, xpix + i * g->xstep, ky0, ky1, kx0, kx1, w,
                  bias, out + i * co, act);
    }
    for (; i < npix; ++i) {
        conv_tile(1, nv, last, m, g, xpix + i * g->xstep, ky0, ky1, kx0, kx1, w, bias, out + i * co,
                  act);
    }
}

/* conv_run over every output-channel strip: full strips of F32_NV vectors, then the tail
 * (1 .. F32_NV vectors, the last masked). pw as in conv_run. */
F32_INLINE void conv_run_strips_body(const f32_geom *g, ptrdiff_t xpix, int npix, int ky0, int ky1,
                                     int kx0, int kx1, const float *CNNC_RESTRICT w,
                                     const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT out,
                                     const cnnc_f32_act *act, const int pw) {
    const int strip = F32_NV * F32_LANES;
    const f32m full = f32m_first(F32_LANES);
    int m0 = 0, rest;
    for (; m0 + strip <= g->out_c; m0 += strip) {
        conv_run(F32_NV, F32_LANES, full, g, xpix, npix, ky0, ky1, kx0, kx1, w + m0,
                 bias ? bias + m0 : NULL, out + m0, act, pw);
    }
    rest = g->out_c - m0;
#if F32_NV > 3
    if (rest > 3 * F32_LANES) {
        conv_run(4, rest - 3 * F32_LANES, f32m_first(rest - 3 * F32_LANES), g, xpix, npix, ky0, ky1,
                 kx0, kx1, w + m0, bias ? bias + m0 : NULL, out + m0, act, pw);
        return;
    }
#endif
#if F32_NV > 2
    if (rest > 2 * F32_LANES) {
        conv_run(3, rest - 2 * F32_LANES, f32m_first(rest - 2 * F32_LANES), g, xpix, npix, ky0, ky1,
                 kx0, kx1, w + m0, bias ? bias + m0 : NULL, out + m0, act, pw);
        return;
    }
#endif
    if (rest > F32_LANES) {
        conv_run(2, rest - F32_LANES, f32m_first(rest - F32_LANES), g, xpix, npix, ky0, ky1, kx0,
                 kx1, w + m0, bias ? bias + m0 : NULL, out + m0, act, pw);
    } else if (rest > 0) {
        conv_run(1, rest, f32m_first(rest), g, xpix, npix, ky0, ky1, kx0, kx1, w + m0,
                 bias ? bias + m0 : NULL, out + m0, act, pw);
    }
}

F32_TARGET static void conv_run_strips(const f32_geom *g, ptrdiff_t xpix, int npix, int ky0,
                                       int ky1, int kx0, int kx1, const float *CNNC_RESTRICT w,
                                       const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT out,
                                       const cnnc_f32_act *act) {
    conv_run_strips_body(g, xpix, npix, ky0, ky1, kx0, kx1, w, bias, out, act, 0);
}

/* The 1x1 case (dense, pwconv): constant tap bounds, so the tiles have no tap loops. */
F32_TARGET static void conv_run_strips_1x1(const f32_geom *g, ptrdiff_t xpix, int npix,
                                           const float *CNNC_RESTRICT w,
                                           const float *CNNC_RESTRICT bias,
                                           float *CNNC_RESTRICT out, const cnnc_f32_act *act) {
#if defined(F32_NEON) && F32_NEON
    conv_run_strips_body(g, xpix, npix, 0, 1, 0, 1, w, bias, out, act, 1);
#else
    conv_run_strips(g, xpix, npix, 0, 1, 0, 1, w, bias, out, act);
#endif
}

/* One row of a dense layer with few rows (a classifier): w is streamed row by row, which
 * the prefetcher follows, instead of down 2-vector columns 4*M bytes apart. The running
 * sums live in y between blocks of F32_DENSE_KB rows of w; storing and reloading a float
 * is exact, so each output still sums bias, then k = 0..K-1 in order, and the activation
 * runs once all K are in. */
#define F32_DENSE_KB 8

F32_INLINE void dense_row_block(const int n, f32m msk, int kb, const float *CNNC_RESTRICT xk,
                                const float *CNNC_RESTRICT wk, size_t m, float *CNNC_RESTRICT yv) {
    f32v acc = f32v_load_n(yv, n, msk);
    int kk = 0;
#if defined(F32_NEON) && F32_NEON
    for (; kk + 4 <= kb; kk += 4) { /* 4 inputs in one load, multiplied by lane, in order */
        const f32v xv = f32v_load(xk + kk);
        acc = f32v_mac_lane(acc, f32v_load_n(wk + kk * m, n, msk), xv, 0);
        acc = f32v_mac_lane(acc, f32v_load_n(wk + (kk + 1) * m, n, msk), xv, 1);
        acc = f32v_mac_lane(acc, f32v_load_n(wk + (kk + 2) * m, n, msk), xv, 2);
        acc = f32v_mac_lane(acc, f32v_load_n(wk + (kk + 3) * m, n, msk), xv, 3);
    }
#endif
    for (; kk < kb; ++kk) {
        acc = f32v_mac(acc, f32v_set1(xk[kk]), f32v_load_n(wk + kk * m, n, msk));
    }
    f32v_store_n(yv, n, msk, acc);
}

F32_TARGET static void f32_dense_row(int k, int m, const cnnc_f32_act *act,
                                     const float *CNNC_RESTRICT x, const float *CNNC_RESTRICT w,
                                     const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    const int tail = m % F32_LANES, body = m - tail;
    const f32m full = f32m_first(F32_LANES), tmask = f32m_first(tail ? tail : F32_LANES);
    int j, k0;
    for (j = 0; j < m; ++j) y[j] = bias ? bias[j] : 0.0f;
    for (k0 = 0; k0 < k; k0 += F32_DENSE_KB) {
        const int kb = k - k0 < F32_DENSE_KB ? k - k0 : F32_DENSE_KB;
        const float *wk = w + (size_t)k0 * m; /* [kb,M] */
#if defined(F32_NEON) && F32_NEON
        if (kb == F32_DENSE_KB) { /* a constant block: its taps unroll */
            for (j = 0; j < body; j += F32_LANES) {
                dense_row_block(F32_LANES, full, F32_DENSE_KB, x + k0, wk + j, (size_t)m, y + j);
            }
        } else
#endif
            for (j = 0; j < body; j += F32_LANES) {
                dense_row_block(F32_LANES, full, kb, x + k0, wk + j, (size_t)m, y + j);
            }
        if (tail) dense_row_block(tail, tmask, kb, x + k0, wk + body, (size_t)m, y + body);
    }
    for (j = 0; j < body; j += F32_LANES) f32v_store(y + j, f32v_act(act, f32v_load(y + j)));
    if (tail) f32v_storem(y + body, tmask, f32v_act(act, f32v_loadm(y + body, tmask)));
}

/* x[P,K] w[K,M] -> y[P,M]. Fewer rows than a tile: row streaming (f32_dense_row). Else
 * if x fits in L2 (<= 128 KiB) or w is larger than x, one block, so each strip of w is
 * read once; otherwise blocks of ~32 KiB of x, reused from L1 by every strip. */
F32_TARGET static void f32_dense_loops(int rows, int k, int m, const cnnc_f32_act *act,
                                       const float *CNNC_RESTRICT x, const float *CNNC_RESTRICT w,
                                       const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    int block = 8192 / k / F32_MR * F32_MR, p0;
    f32_geom g;
    if (rows < F32_MR) {
        for (p0 = 0; p0 < rows; ++p0) {
            f32_dense_row(k, m, act, x + (size_t)p0 * k, w, bias, y + (size_t)p0 * m);
        }
        return;
    }
    g.x = x;
    g.xstep = k;
    g.kyoff = 0;
    g.kxoff = 0;
    g.c = k;
    g.kernel_w = 1;
    g.out_c = m;
    /* one block when x fits in L2, or when w is the larger operand (m >= rows: the last
       layers' few pixels by many channels), so that w is read once, not once per block */
    if ((size_t)rows * (size_t)k <= 32768 || m >= rows) block = rows;
    if (block < F32_MR) block = F32_MR;
    for (p0 = 0; p0 < rows; p0 += block) {
        const int npix = rows - p0 < block ? rows - p0 : block;
        conv_run_strips_1x1(&g, (ptrdiff_t)p0 * k, npix, w, bias, y + (size_t)p0 * m, act);
    }
}

/* [lo, hi): the output columns whose whole window row lies inside the input. */
F32_TARGET static void f32_interior(int out_size, int in_size, int stride, int pad, int k, int d,
                                    int *lo, int *hi) {
    const int span = (k - 1) * d; /* window extent - 1 */
    int a = (pad + stride - 1) / stride;
    int b = in_size - 1 - span + pad >= 0 ? (in_size - 1 - span + pad) / stride + 1 : 0;
    if (a > out_size) a = out_size;
    if (b > out_size) b = out_size;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* groups 1, w[KH,KW,C,Co] (cnnc_f32_conv_oc8__ref's layout). */
F32_TARGET static void f32_conv_loops(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                      const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                      float *CNNC_RESTRICT y) {
    const size_t co = (size_t)p->out_c;
    int n, oy, ox, lo, hi;
    f32_geom g;
    g.x = x;
    g.xstep = (ptrdiff_t)p->stride_w * p->c;
    g.kyoff = (ptrdiff_t)p->dilation_h * p->w * p->c;
    g.kxoff = (ptrdiff_t)p->dilation_w * p->c;
    g.c = p->c;
    g.kernel_w = p->kernel_w;
    g.out_c = p->out_c;
    f32_interior(p->out_w, p->w, p->stride_w, p->pad_left, p->kernel_w, p->dilation_w, &lo, &hi);
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int iy0 = oy * p->stride_h - p->pad_top;
            float *row = y + ((size_t)n * p->out_h + oy) * p->out_w * co; /* [OW,Co] */
            /* input offset of output pixel ox's tap (0, 0) */
            const ptrdiff_t xrow = (((ptrdiff_t)n * p->h + iy0) * p->w - p->pad_left) * p->c;
            int ky0, ky1;
            f32_valid_taps(iy0, p->dilation_h, p->h, p->kernel_h, &ky0, &ky1);
            for (ox = 0; ox < p->out_w; ++ox) {
                int kx0, kx1;
                if (ox == lo && hi > lo) {
                    conv_run_strips(&g, xrow + ox * g.xstep, hi - lo, ky0, ky1, 0, p->kernel_w, w,
                                    bias, row + ox * co, &p->act);
                    ox = hi - 1;
                    continue;
                }
                f32_valid_taps(ox * p->stride_w - p->pad_left, p->dilation_w, p->w, p->kernel_w,
                               &kx0, &kx1);
                conv_run_strips(&g, xrow + ox * g.xstep, 1, ky0, ky1, kx0, kx1, w, bias,
                                row + ox * co, &p->act);
            }
        }
    }
}

/* px depthwise output pixels by one channel vector of `n` lanes (mask m) over taps
 * ky in [ky0, ky1), kx in [kx0, kx1). xpix: input offset of pixel 0's tap (0, 0) at the
 * vector's first channel; w, bias, out at that channel. */
F32_INLINE void dw_tile(const int px, const int n, f32m m, const f32_geom *g, ptrdiff_t xpix,
                        int ky0, int ky1, int kx0, int kx1, const float *CNNC_RESTRICT w,
                        const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT out,
                        const cnnc_f32_act *act) {
    f32v acc[F32_DW_PX]; /* pixel i */
    int i, ky, kx;
#pragma GCC unroll 8
    for (i = 0; i < px; ++i) acc[i] = bias ? f32v_load_n(bias, n, m) : f32v_zero();
    for (ky = ky0; ky < ky1; ++ky) {
        for (kx = kx0; kx < kx1; ++kx) {
            const f32v wv = f32v_load_n(w + ((size_t)ky * g->kernel_w + kx) * g->c, n, m);
            const float *xt = g->x + (xpix + ky * g->kyoff + kx * g->kxoff);
#pragma GCC unroll 8
            for (i = 0; i < px; ++i) {
                acc[i] = f32v_mac(acc[i], f32v_load_n(xt + i * g->xstep, n, m), wv);
            }
        }
    }
#pragma GCC unroll 8
    for (i = 0; i < px; ++i) {
        f32v_store_n(out + (size_t)i * g->c, n, m, f32v_act(act, acc[i]));
    }
}

/* dw_tile over every channel vector (the last masked). */
F32_INLINE void dw_channels(const int px, const f32_geom *g, ptrdiff_t xpix, int ky0, int ky1,
                            int kx0, int kx1, const float *CNNC_RESTRICT w,
                            const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT out,
                            const cnnc_f32_act *act) {
    const f32m full = f32m_first(F32_LANES);
    int c0 = 0;
    for (; c0 + F32_LANES <= g->c; c0 += F32_LANES) {
        dw_tile(px, F32_LANES, full, g, xpix + c0, ky0, ky1, kx0, kx1, w + c0,
                bias ? bias + c0 : NULL, out + c0, act);
    }
    if (c0 < g->c) {
        dw_tile(px, g->c - c0, f32m_first(g->c - c0), g, xpix + c0, ky0, ky1, kx0, kx1, w + c0,
                bias ? bias + c0 : NULL, out + c0, act);
    }
}

/* Depthwise (groups == C == Co), any kernel, stride, padding, dilation; w[KH,KW,C]. */
F32_TARGET static void f32_dw_loops(const cnnc_f32_conv_params *p, const float *CNNC_RESTRICT x,
                                    const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                                    float *CNNC_RESTRICT y) {
    const size_t c = (size_t)p->c;
    int n, oy, ox, lo, hi;
    f32_geom g;
    g.x = x;
    g.xstep = (ptrdiff_t)p->stride_w * p->c;
    g.kyoff = (ptrdiff_t)p->dilation_h * p->w * p->c;
    g.kxoff = (ptrdiff_t)p->dilation_w * p->c;
    g.c = p->c;
    g.kernel_w = p->kernel_w;
    g.out_c = p->c;
    f32_interior(p->out_w, p->w, p->stride_w, p->pad_left, p->kernel_w, p->dilation_w, &lo, &hi);
    for (n = 0; n < p->n; ++n) {
        for (oy = 0; oy < p->out_h; ++oy) {
            const int iy0 = oy * p->stride_h - p->pad_top;
            float *row = y + ((size_t)n * p->out_h + oy) * p->out_w * c; /* [OW,C] */
            const ptrdiff_t xrow = (((ptrdiff_t)n * p->h + iy0) * p->w - p->pad_left) * p->c;
            int ky0, ky1;
            int full3x3;
            f32_valid_taps(iy0, p->dilation_h, p->h, p->kernel_h, &ky0, &ky1);
            full3x3 = p->kernel_h == 3 && p->kernel_w == 3 && ky0 == 0 && ky1 == 3;
            for (ox = 0; ox < p->out_w; ++ox) {
                int kx0, kx1;
                if (ox >= lo && ox + F32_DW_PX <= hi && full3x3) {
                    /* constant tap bounds: the nine taps unroll */
                    dw_channels(F32_DW_PX, &g, xrow + ox * g.xstep, 0, 3, 0, 3, w, bias,
                                row + ox * c, &p->act);
                    ox += F32_DW_PX - 1;
                    continue;
                }
                if (ox >= lo && ox + F32_DW_PX <= hi) {
                    dw_channels(F32_DW_PX, &g, xrow + ox * g.xstep, ky0, ky1, 0, p->kernel_w, w,
                                bias, row + ox * c, &p->act);
                    ox += F32_DW_PX - 1;
                    continue;
                }
                f32_valid_taps(ox * p->stride_w - p->pad_left, p->dilation_w, p->w, p->kernel_w,
                               &kx0, &kx1);
                dw_channels(1, &g, xrow + ox * g.xstep, ky0, ky1, kx0, kx1, w, bias, row + ox * c,
                            &p->act);
            }
        }
    }
}

#endif /* F32_SIMD_LOOPS_H */
