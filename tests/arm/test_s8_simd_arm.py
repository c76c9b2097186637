"""The NEON int8 kernels are bit-exact to the __ref kernels on aarch64 and armv7 (NEON and
NEON-VFPv4) under qemu: a C driver runs both on the same pseudo-random data over a grid
(output/channel counts across the 8- and 16-wide blocks, row counts across the 4-row
tile, K across the 8-input steps, 1x1 and odd spatial sizes, strides 1/2, padding on/off,
3x3, 5x5 and strided 1x1 kernels, dilations 1..3, groups 1/2, zero points at the ends of
the range, both roundings, clamps, multipliers from real scales and at the requantisation contract's
corners; general convs whose padded input window holds part of the map, s8_win_neon.h)
and reports the first differing byte of any case. The __ref kernels themselves
are pinned to the NumPy definitions in tests/runtime. A second test pins the selection
block in cnnc_s8.h: which variant each target's generated code calls."""

import re
import subprocess

import pytest
from cnnc.host import cross, targets
from cnnc.host.cbuild import runtime_dir
from cnnc.ops.variants import NEON, NEONDOT, VARIANTS

from .conftest import require_target

pytestmark = pytest.mark.arm

DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

/* The variant under test: __neon, or with -DDOT the dot-product one (which has no dwconv,
 * add or quantize: those cases run only in the __neon build). */
#if defined(DOT)
#define V(k) cnnc_s8_##k##__neondot
#define DOT_BUILD 1
#else
#define V(k) cnnc_s8_##k##__neon
#define DOT_BUILD 0
#endif
#define GUARD 16
static uint32_t state = 2463534242u;
static uint32_t next_word(void) { /* xorshift32 */
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    return state;
}
static int32_t uniform(int32_t lo, int32_t hi) { /* lo..hi */
    return lo + (int32_t)(next_word() % (uint32_t)(hi - lo + 1));
}
static void fill8(int8_t *v, int32_t n, int32_t lo) {
    int32_t i;
    for (i = 0; i < n; ++i) v[i] = (int8_t)uniform(lo, 127);
}
/* bias and multipliers. edge 0: outputs land inside and outside [-128, 127] (clamped).
 * edge 1: the contract's corners per channel: m = 2^30 with shifts -8..0 (exact ties),
 * any m with any shift -31..30, m = 0, m = 2^31 - 1 at the extreme shifts. */
static void fill_requant(int32_t *bias, int32_t *mult, int32_t *shift, int32_t n, int edge) {
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t kind = edge ? uniform(0, 3) : 1;
        bias[i] = uniform(-5000, 5000);
        mult[i] = (int32_t)((1u << 30) + next_word() % (1u << 30));
        shift[i] = edge ? uniform(-31, 30) : -uniform(6, 14);
        if (kind == 0) { mult[i] = 1 << 30; shift[i] = -uniform(0, 8); }
        if (kind == 2) { mult[i] = 0; shift[i] = 0; }
        if (kind == 3) { mult[i] = INT32_MAX; shift[i] = uniform(0, 1) ? 30 : -31; }
    }
}

static int8_t x[2 * 9 * 9 * 65], w[2 * 5 * 5 * 17 * 65], y_ref[2 * 9 * 9 * 130 + GUARD],
    y_neon[2 * 9 * 9 * 130 + GUARD];
static int32_t bias[130], mult[130], shift[130];
static const int32_t chans[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 65};
static const int32_t zps[2][2] = {{-128, 127}, {127, -128}};
static int cases = 0, failures = 0;

/* ref's output, then the NEON one into a buffer holding ref's bytes inverted (so an
 * unwritten byte differs) followed by guard bytes that must survive. */
static void compare(const char *what, int32_t size, int32_t a, int32_t b, int32_t c) {
    int32_t i;
    ++cases;
    for (i = 0; i < size + GUARD; ++i)
        if (i >= size ? y_neon[i] != 0x5A : y_ref[i] != y_neon[i]) {
            printf("MISMATCH %s (%d, %d, %d) byte %d: ref %d neon %d\n", what, (int)a, (int)b,
                   (int)c, (int)i, i < size ? y_ref[i] : 0x5A, y_neon[i]);
            ++failures;
            return;
        }
}
static void prepare_neon(int32_t size) {
    int32_t i;
    for (i = 0; i < size; ++i) y_neon[i] = (int8_t)~y_ref[i];
    memset(y_neon + size, 0x5A, GUARD);
}

static void dense_cases(void) {
    static const int32_t ks[] = {1, 3, 8, 17, 46, 65}, ns[] = {1, 5};
    int mi, ki, ni, z, rnd, edge;
    for (mi = 0; mi < 11; ++mi) for (ki = 0; ki < 6; ++ki) for (ni = 0; ni < 2; ++ni)
    for (z = 0; z < 2; ++z) for (rnd = 0; rnd < 2; ++rnd) for (edge = 0; edge < 2; ++edge) {
        cnnc_s8_dense_params p;
        p.n = ns[ni]; p.k = ks[ki]; p.m = chans[mi];
        p.x_zero_point = zps[z][0]; p.y_zero_point = zps[z][1];
        p.act_min = z ? p.y_zero_point : -128; p.act_max = z ? p.y_zero_point + 100 : 127;
        p.rounding = rnd;
        fill8(x, p.n * p.k, -128); fill8(w, p.k * p.m, -127);
        fill_requant(bias, mult, shift, p.m, edge);
        cnnc_s8_dense__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(p.n * p.m);
        V(dense)(&p, x, w, bias, mult, shift, y_neon);
        compare("dense (m, k, n)", p.n * p.m, p.m, p.k, p.n);
    }
}

static void pwconv_cases(void) {
    static const int32_t cs[] = {3, 17};
    int oi, ci, rnd;
    for (oi = 0; oi < 11; ++oi) for (ci = 0; ci < 2; ++ci) for (rnd = 0; rnd < 2; ++rnd) {
        cnnc_s8_conv_params p;
        memset(&p, 0, sizeof p);
        p.n = 2; p.h = p.out_h = 7; p.w = p.out_w = 5; p.c = cs[ci]; p.out_c = chans[oi];
        p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = p.groups = 1;
        p.x_zero_point = -128; p.y_zero_point = 127; p.act_min = -128; p.act_max = 127;
        p.rounding = rnd;
        fill8(x, 2 * 7 * 5 * p.c, -128); fill8(w, p.c * p.out_c, -127);
        fill_requant(bias, mult, shift, p.out_c, rnd);
        cnnc_s8_pwconv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(2 * 7 * 5 * p.out_c);
        V(pwconv)(&p, x, w, bias, mult, shift, y_neon);
        compare("pwconv (oc, c, rounding)", 2 * 7 * 5 * p.out_c, p.out_c, p.c, rnd);
    }
}

static void dwconv_cases(void) {
    /* h, w, kernel, pad */
    static const int32_t geo[6][4] = {{1, 1, 3, 1}, {7, 5, 3, 1}, {7, 5, 3, 0}, {8, 6, 3, 1},
                                      {9, 7, 5, 2}, {7, 5, 1, 0}}; /* 1x1: s8_dw_scale */
    int ci, g, s, z, rnd, edge;
    for (ci = 0; ci < 11; ++ci) for (g = 0; g < 6; ++g) for (s = 1; s <= 2; ++s)
    for (z = 0; z < 2; ++z) for (rnd = 0; rnd < 2; ++rnd) for (edge = 0; edge < 2; ++edge) {
        cnnc_s8_conv_params p;
        int32_t out;
        const int32_t d = 1 + edge + z; /* dilation 1..3, pads scaled to keep the size */
        memset(&p, 0, sizeof p);
        p.n = 2; p.h = geo[g][0]; p.w = geo[g][1]; p.c = p.out_c = p.groups = chans[ci];
        p.kernel_h = p.kernel_w = geo[g][2]; p.pad_top = p.pad_left = geo[g][3] * d;
        p.stride_h = p.stride_w = s; p.dilation_h = p.dilation_w = d;
        p.out_h = (p.h + 2 * p.pad_top - (p.kernel_h - 1) * d - 1) / s + 1;
        p.out_w = (p.w + 2 * p.pad_left - (p.kernel_w - 1) * d - 1) / s + 1;
        p.x_zero_point = zps[z][0]; p.y_zero_point = zps[z][1];
        p.act_min = z ? p.y_zero_point : -128; p.act_max = z ? p.y_zero_point + 100 : 127;
        p.rounding = rnd;
        out = p.n * p.out_h * p.out_w * p.c;
        fill8(x, p.n * p.h * p.w * p.c, -128); fill8(w, p.kernel_h * p.kernel_w * p.c, -127);
        fill_requant(bias, mult, shift, p.c, edge);
        cnnc_s8_dwconv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        cnnc_s8_dwconv__neon(&p, x, w, bias, mult, shift, y_neon);
        compare("dwconv (c, geometry, stride)", out, p.c, g, s);
    }
    { /* a weight of -128 (outside the symmetric range, which the 3x3 path's int16 pair
       * sums need): the layer runs the tap loops */
        cnnc_s8_conv_params p;
        memset(&p, 0, sizeof p);
        p.n = 1; p.h = p.w = p.out_h = p.out_w = 5; p.c = p.out_c = p.groups = 16;
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        p.x_zero_point = 127; p.y_zero_point = 0; p.act_min = -128; p.act_max = 127;
        fill8(x, 5 * 5 * 16, -128); fill8(w, 9 * 16, -127);
        for (ci = 0; ci < 9 * 16; ci += 3) w[ci] = -128;
        for (ci = 0; ci < 5 * 5 * 16; ci += 2) x[ci] = -128;
        fill_requant(bias, mult, shift, 16, 0);
        cnnc_s8_dwconv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(5 * 5 * 16);
        cnnc_s8_dwconv__neon(&p, x, w, bias, mult, shift, y_neon);
        compare("dwconv (c, w = -128, -)", 5 * 5 * 16, 16, 0, 0);
    }
}

#if defined(__ARM_NEON)
/* 3x3 depthwise maps the NEON 16-channel tile path (aarch64) meets at the edges: maps of
 * 1x1 to 5x4 with paddings 0..2 and strides 1, 2 (c not a multiple of 16 included), and
 * maps whose input does not fit one tile buffer (several tiles across and down). */
static int8_t tx[56000];
static void dw3_tile_cases(void) {
    static const int32_t small[6][2] = {{1, 1}, {2, 2}, {3, 3}, {2, 3}, {3, 1}, {5, 4}};
    static const int32_t cs[3] = {16, 24, 40};
    /* h, w, c, stride, pad */
    static const int32_t big[4][5] = {{8, 130, 16, 1, 1}, {9, 260, 16, 2, 1},
                                      {250, 3, 17, 1, 1}, {420, 4, 33, 2, 1}};
    int g, ci, s, pd, idx = 0;
    for (g = 0; g < 6 + 4; ++g) for (ci = 0; ci < 3; ++ci) for (s = 1; s <= 2; ++s)
    for (pd = 0; pd <= 2; ++pd) {
        cnnc_s8_conv_params p;
        int32_t out;
        const int z = idx % 2;
        if (g >= 6 && (ci > 0 || s > 1 || pd > 0)) continue; /* one case per big map */
        memset(&p, 0, sizeof p);
        p.n = g < 6 ? 2 : 1;
        p.h = g < 6 ? small[g][0] : big[g - 6][0];
        p.w = g < 6 ? small[g][1] : big[g - 6][1];
        p.c = p.out_c = p.groups = g < 6 ? cs[ci] : big[g - 6][2];
        p.stride_h = p.stride_w = g < 6 ? s : big[g - 6][3];
        p.pad_top = p.pad_left = g < 6 ? pd : big[g - 6][4];
        p.kernel_h = p.kernel_w = 3; p.dilation_h = p.dilation_w = 1;
        p.out_h = (p.h + 2 * p.pad_top - 3) / p.stride_h + 1;
        p.out_w = (p.w + 2 * p.pad_left - 3) / p.stride_w + 1;
        if (p.h + 2 * p.pad_top < 3 || p.w + 2 * p.pad_left < 3) continue;
        p.x_zero_point = zps[z][0]; p.y_zero_point = zps[z][1];
        p.act_min = z ? p.y_zero_point : -128; p.act_max = z ? p.y_zero_point + 100 : 127;
        p.rounding = (idx / 2) % 2;
        out = p.n * p.out_h * p.out_w * p.c;
        fill8(tx, p.n * p.h * p.w * p.c, -128); fill8(w, 9 * p.c, -127);
        fill_requant(bias, mult, shift, p.c, (idx / 4) % 2);
        cnnc_s8_dwconv__ref(&p, tx, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        cnnc_s8_dwconv__neon(&p, tx, w, bias, mult, shift, y_neon);
        compare("dw3 tiles (h, w, c)", out, p.h, p.w, p.c);
        ++idx;
    }
}
#endif

static void conv_cases(void) {
    /* h, w, kernel, pad, stride */
    static const int32_t geo[6][5] = {{1, 1, 3, 1, 1}, {7, 5, 3, 1, 1}, {7, 5, 3, 1, 2},
                                      {8, 9, 3, 0, 2}, {9, 7, 5, 2, 1}, {6, 5, 1, 0, 2}};
    static const int32_t cgs[] = {1, 3, 17};
    int oi, ci, groups, g, z, rnd;
    for (oi = 0; oi < 11; ++oi) for (ci = 0; ci < 3; ++ci) for (groups = 1; groups <= 2; ++groups)
    for (g = 0; g < 6; ++g) for (z = 0; z < 2; ++z) for (rnd = 0; rnd < 2; ++rnd) {
        cnnc_s8_conv_params p;
        int32_t out;
        const int32_t d = 1 + (oi + g) % 3; /* dilation 1..3, pads scaled to keep the size */
        memset(&p, 0, sizeof p);
        p.n = 2; p.h = geo[g][0]; p.w = geo[g][1]; p.kernel_h = p.kernel_w = geo[g][2];
        p.pad_top = p.pad_left = geo[g][3] * d; p.stride_h = p.stride_w = geo[g][4];
        p.dilation_h = p.dilation_w = d;
        p.groups = groups; p.c = cgs[ci] * groups; p.out_c = chans[oi] * groups;
        p.out_h = (p.h + 2 * p.pad_top - (p.kernel_h - 1) * d - 1) / p.stride_h + 1;
        p.out_w = (p.w + 2 * p.pad_left - (p.kernel_w - 1) * d - 1) / p.stride_w + 1;
        p.x_zero_point = zps[z][0]; p.y_zero_point = zps[z][1];
        p.act_min = z ? p.y_zero_point : -128; p.act_max = z ? p.y_zero_point + 100 : 127;
        p.rounding = rnd; /* single with real-like multipliers, double with the edges */
        out = p.n * p.out_h * p.out_w * p.out_c;
        fill8(x, p.n * p.h * p.w * p.c, -128);
        fill8(w, p.kernel_h * p.kernel_w * p.c / groups * p.out_c, -127);
        fill_requant(bias, mult, shift, p.out_c, rnd);
        cnnc_s8_conv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        V(conv)(&p, x, w, bias, mult, shift, y_neon);
        compare("conv (oc/g, geometry, groups)", out, chans[oi], g, groups);
    }
}

/* Inner dimensions past the NEON GEMM's stack buffers (s8_gemm_neon.h): a dense layer
 * whose weights do not fit the int16 panel, a conv whose K = 3 * 3 * C/G exceeds the
 * gather buffer (its tap-by-tap fallback). */
static void big_k_cases(void) {
    int rnd, groups;
    for (rnd = 0; rnd < 2; ++rnd) {
        cnnc_s8_dense_params d;
        d.n = 5; d.k = 2100; d.m = 17; d.x_zero_point = -7; d.y_zero_point = 3;
        d.act_min = -128; d.act_max = 127; d.rounding = rnd;
        fill8(x, d.n * d.k, -128); fill8(w, d.k * d.m, -127);
        fill_requant(bias, mult, shift, d.m, rnd);
        cnnc_s8_dense__ref(&d, x, w, bias, mult, shift, y_ref);
        prepare_neon(d.n * d.m);
        V(dense)(&d, x, w, bias, mult, shift, y_neon);
        compare("dense (m, k, n)", d.n * d.m, d.m, d.k, d.n);
    }
    for (groups = 1; groups <= 2; ++groups) {
        cnnc_s8_conv_params p;
        int32_t out;
        memset(&p, 0, sizeof p);
        p.n = 1; p.h = p.w = p.out_h = p.out_w = 2; p.kernel_h = p.kernel_w = 3;
        p.pad_top = p.pad_left = 1; p.stride_h = p.stride_w = 1; p.groups = groups;
        p.c = 460 * groups; p.out_c = 5 * groups;
        p.x_zero_point = 5; p.y_zero_point = -2; p.act_min = -128; p.act_max = 127;
        p.rounding = groups - 1;
        out = p.out_h * p.out_w * p.out_c;
        fill8(x, p.h * p.w * p.c, -128); fill8(w, 9 * 460 * 5 * groups, -127);
        fill_requant(bias, mult, shift, p.out_c, 0);
        cnnc_s8_conv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        V(conv)(&p, x, w, bias, mult, shift, y_neon);
        compare("conv (c, oc, groups)", out, p.c, p.out_c, groups);
    }
}

#if defined(__ARM_NEON) /* NEON only: the Cortex-M DSP test reuses this driver */
/* The elementwise add: sizes across the 8-wide steps, zero points at the ends of the range,
 * both roundings, multipliers as the compiler makes them for scales within 4x of each
 * other (left shift 20), clamps. */
static void add_cases(void) {
    static const int32_t sizes[] = {1, 7, 8, 17, 64};
    int si, z, rnd, k;
    for (si = 0; si < 5; ++si) for (z = 0; z < 2; ++z) for (rnd = 0; rnd < 2; ++rnd)
    for (k = 0; k < 3; ++k) {
        cnnc_s8_add_params p;
        const int32_t n = sizes[si];
        p.size = n; p.a_zero_point = zps[z][0]; p.b_zero_point = zps[z][1];
        p.y_zero_point = uniform(-128, 127); p.left_shift = 20;
        p.a_mult = (int32_t)((1u << 30) + next_word() % (1u << 30)); p.a_shift = -uniform(0, 2);
        p.b_mult = (int32_t)((1u << 30) + next_word() % (1u << 30)); p.b_shift = -uniform(0, 2);
        p.y_mult = (int32_t)((1u << 30) + next_word() % (1u << 30)); p.y_shift = -uniform(17, 21);
        p.act_min = k == 1 ? p.y_zero_point : -128; p.act_max = k == 2 ? 100 : 127;
        if (p.act_max < p.act_min) p.act_max = p.act_min;
        p.rounding = rnd;
        fill8(x, n, -128); fill8(w, n, -128);
        cnnc_s8_add__ref(&p, x, w, y_ref);
        prepare_neon(n);
        cnnc_s8_add__neon(&p, x, w, y_neon);
        compare("add (size, zero points, clamp)", n, n, z, k);
    }
}

/* float32 -> int8 at the model boundary: ties of x / scale at every half, NaN, infinities,
 * values past the clamp, sizes across the 8-wide steps, zero points at the ends. */
static void quantize_cases(void) {
    static const int32_t sizes[] = {1, 7, 8, 17, 64};
    static float xf[64];
    int si, z, k;
    int32_t i;
    for (si = 0; si < 5; ++si) for (z = 0; z < 3; ++z) for (k = 0; k < 2; ++k) {
        cnnc_s8_quant_params p;
        const int32_t n = sizes[si];
        p.size = n; p.scale = k ? 0.0375f : 0.5f; p.zero_point = z == 0 ? -128 : (z == 1 ? 127 : 3);
        for (i = 0; i < n; ++i) {
            const int32_t kind = uniform(0, 5);
            xf[i] = (float)uniform(-300, 300) * 0.5f * p.scale; /* halves of the scale */
            if (kind == 1) xf[i] = (float)uniform(-100000, 100000) * 1e-3f;
            if (kind == 2) xf[i] = (float)uniform(-2, 2) * 1e30f;
            if (kind == 3) xf[i] = uniform(0, 1) ? 1.0f / 0.0f : -1.0f / 0.0f;
            if (kind == 4) xf[i] = 0.0f / 0.0f;
        }
        cnnc_s8_quantize__ref(&p, xf, y_ref);
        prepare_neon(n);
        cnnc_s8_quantize__neon(&p, xf, y_neon);
        compare("quantize (size, zero point, scale)", n, n, z, k);
    }
}

/* A weight of -128, outside the weight contract ([-127, 127]): the aarch64 16-bit partial
 * sums of cnnc_s8_dense__neon would overflow an int16 lane with it, so the blocks from the
 * first one holding it run the int32 GEMM instead; the result is still __ref's. */
static void weight_min_cases(void) {
    int rnd;
    for (rnd = 0; rnd < 2; ++rnd) {
        cnnc_s8_dense_params d;
        d.n = 6; d.k = 37; d.m = 40; d.x_zero_point = 9; d.y_zero_point = -4;
        d.act_min = -128; d.act_max = 127; d.rounding = rnd;
        fill8(x, d.n * d.k, -128); fill8(w, d.k * d.m, -128);
        w[5 * d.m + 20] = -128; /* output 20: the second block of 16 */
        memset(x, -128, 8);     /* with x = -128: two products of 16384 per int16 lane */
        fill_requant(bias, mult, shift, d.m, rnd);
        cnnc_s8_dense__ref(&d, x, w, bias, mult, shift, y_ref);
        prepare_neon(d.n * d.m);
        V(dense)(&d, x, w, bias, mult, shift, y_neon);
        compare("dense w = -128 (m, k, rounding)", d.n * d.m, d.m, d.k, rnd);
    }
}

/* The dot product's assembly tiles (s8_dot_neon.c), in the dot-product build: rows across
 * several 5-row tiles and a last tile of 1..4, K across its groups of 16 inputs (1, 3, 5,
 * 7: each entry into its rounds of 4 groups) and the 1..15 inputs past them, blocks of 16
 * and 8 outputs, both roundings with negative shifts (its forms) or one shift >= 0 (the C
 * kernel), the clamp on and off, weights of -128; a conv whose panels fit 3 blocks at once. */
static void dot_tile_cases(void) {
    static const int32_t ns[] = {9, 14, 23}, ks[] = {16, 20, 48, 80, 112, 61};
    int ni, ki, mi, rnd, z;
    for (ni = 0; ni < 3; ++ni) for (ki = 0; ki < 6; ++ki) for (mi = 0; mi < 2; ++mi)
    for (rnd = 0; rnd < 2; ++rnd) for (z = 0; z < 2; ++z) {
        cnnc_s8_dense_params d;
        d.n = ns[ni]; d.k = ks[ki]; d.m = mi ? 40 : 16;
        d.x_zero_point = zps[z][0]; d.y_zero_point = zps[z][1];
        d.act_min = z ? d.y_zero_point : -128; d.act_max = z ? d.y_zero_point + 100 : 127;
        d.rounding = rnd;
        fill8(x, d.n * d.k, -128); fill8(w, d.k * d.m, -128);
        fill_requant(bias, mult, shift, d.m, 0);
        if (ni == 1 && ki == 2) shift[d.m - 1] = 2;
        cnnc_s8_dense__ref(&d, x, w, bias, mult, shift, y_ref);
        prepare_neon(d.n * d.m);
        V(dense)(&d, x, w, bias, mult, shift, y_neon);
        compare("dot tiles (n, k, m)", d.n * d.m, d.n, d.k, d.m);
    }
    for (rnd = 0; rnd < 2; ++rnd) { /* a conv whose K = 576 leaves room for 3 blocks' panels */
        cnnc_s8_conv_params p;
        const int32_t out = 3 * 4 * 70;
        memset(&p, 0, sizeof p);
        p.n = 1; p.h = p.out_h = 3; p.w = p.out_w = 4; p.c = 64; p.out_c = 70;
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = p.groups = 1;
        p.x_zero_point = -5; p.y_zero_point = 4; p.act_min = -100; p.act_max = 127;
        p.rounding = rnd;
        fill8(x, 3 * 4 * 64, -128); fill8(w, 9 * 64 * 70, -128);
        fill_requant(bias, mult, shift, 70, 0);
        cnnc_s8_conv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        V(conv)(&p, x, w, bias, mult, shift, y_neon);
        compare("dot conv (c, oc, rounding)", out, p.c, p.out_c, rnd);
    }
}

/* The general conv's padded input window and gathered batches (s8_win_neon.h; aarch64's
 * 16-bit partial sums and the dot product): maps whose window holds only some output rows
 * (several bands, stride and dilation 2 included) or only part of one row (column chunks),
 * K = 576 whose pixels span several gathered batches and 3 blocks of outputs, and a weight
 * of -128 in the second group only (the 16-bit sums give the whole layer back to the
 * int32 GEMM after writing group 0; the dot product takes it). Both roundings. */
static void window_cases(void) {
    /* n, h, w, c, out_c, kernel, pad, stride, dilation, groups, -128 weights */
    static const int32_t geo[6][11] = {
        {1, 40, 30, 16, 12, 3, 1, 1, 1, 1, 0}, {1, 60, 30, 16, 12, 3, 2, 2, 2, 1, 0},
        {1, 3, 400, 16, 20, 3, 1, 2, 1, 1, 0}, {1, 8, 8, 64, 40, 3, 1, 1, 1, 1, 0},
        {2, 7, 6, 32, 36, 3, 1, 1, 1, 2, 1},   {1, 9, 11, 5, 17, 3, 0, 1, 1, 1, 0}};
    int gi, rnd;
    int32_t i;
    for (gi = 0; gi < 6; ++gi) for (rnd = 0; rnd < 2; ++rnd) {
        const int32_t *q = geo[gi];
        cnnc_s8_conv_params p;
        int32_t out, wn;
        memset(&p, 0, sizeof p);
        p.n = q[0]; p.h = q[1]; p.w = q[2]; p.c = q[3]; p.out_c = q[4];
        p.kernel_h = p.kernel_w = q[5]; p.pad_top = p.pad_left = q[6];
        p.stride_h = p.stride_w = q[7]; p.dilation_h = p.dilation_w = q[8]; p.groups = q[9];
        p.out_h = (p.h + 2 * p.pad_top - (p.kernel_h - 1) * p.dilation_h - 1) / p.stride_h + 1;
        p.out_w = (p.w + 2 * p.pad_left - (p.kernel_w - 1) * p.dilation_w - 1) / p.stride_w + 1;
        p.x_zero_point = zps[rnd][0]; p.y_zero_point = zps[rnd][1];
        p.act_min = rnd ? p.y_zero_point : -128; p.act_max = rnd ? p.y_zero_point + 100 : 127;
        p.rounding = rnd;
        out = p.n * p.out_h * p.out_w * p.out_c;
        wn = p.kernel_h * p.kernel_w * p.c / p.groups * p.out_c;
        fill8(tx, p.n * p.h * p.w * p.c, -128);
        fill8(w, wn, -127);
        if (q[10]) {
            for (i = wn / 2; i < wn; i += 7) w[i] = -128; /* the second group's weights */
            for (i = 0; i < p.n * p.h * p.w * p.c; i += 3) tx[i] = -128;
        }
        fill_requant(bias, mult, shift, p.out_c, rnd);
        cnnc_s8_conv__ref(&p, tx, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        V(conv)(&p, tx, w, bias, mult, shift, y_neon);
        compare("conv window (geometry, rounding, -)", out, gi, rnd, 0);
    }
}

/* The onnxruntime rounding (pre-quantised models): float32 multipliers as bits. */
static void onnxruntime_cases(void) {
    int i, groups;
    for (i = 0; i < 130; ++i) {
        const float f = 0.0003f + 0.0001f * (float)uniform(0, 40);
        memcpy(&mult[i], &f, sizeof f);
        shift[i] = 0;
        bias[i] = uniform(-5000, 5000);
    }
    {
        cnnc_s8_dense_params d;
        d.n = 9; d.k = 40; d.m = 33; d.x_zero_point = 3; d.y_zero_point = -5;
        d.act_min = -128; d.act_max = 127; d.rounding = CNNC_ROUND_ONNXRUNTIME;
        fill8(x, d.n * d.k, -128); fill8(w, d.k * d.m, -127);
        cnnc_s8_dense__ref(&d, x, w, bias, mult, shift, y_ref);
        prepare_neon(d.n * d.m);
        V(dense)(&d, x, w, bias, mult, shift, y_neon);
        compare("dense onnxruntime (m, k, n)", d.n * d.m, d.m, d.k, d.n);
    }
    for (groups = 1; groups <= 2; ++groups) {
        cnnc_s8_conv_params p;
        int32_t out;
        memset(&p, 0, sizeof p);
        p.n = 1; p.h = p.w = p.out_h = p.out_w = 5; p.kernel_h = p.kernel_w = 3;
        p.pad_top = p.pad_left = 1; p.stride_h = p.stride_w = 1;
        p.dilation_h = p.dilation_w = 1; p.groups = groups;
        p.c = 8 * groups; p.out_c = 17 * groups; p.x_zero_point = -4; p.y_zero_point = 2;
        p.act_min = -128; p.act_max = 127; p.rounding = CNNC_ROUND_ONNXRUNTIME;
        out = p.out_h * p.out_w * p.out_c;
        fill8(x, p.h * p.w * p.c, -128); fill8(w, 9 * 8 * p.out_c, -127);
        cnnc_s8_conv__ref(&p, x, w, bias, mult, shift, y_ref);
        prepare_neon(out);
        V(conv)(&p, x, w, bias, mult, shift, y_neon);
        compare("conv onnxruntime (c, oc, groups)", out, p.c, p.out_c, groups);
    }
}

#endif

int main(void) {
#if defined(__ARM_NEON)
    onnxruntime_cases();
    weight_min_cases();
    if (!DOT_BUILD) quantize_cases();
    if (!DOT_BUILD) add_cases();
    if (!DOT_BUILD) dw3_tile_cases();
    if (DOT_BUILD) dot_tile_cases();
    window_cases();
#endif
    big_k_cases();
    dense_cases();
    pwconv_cases();
    if (!DOT_BUILD) dwconv_cases();
    conv_cases();
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""
# dw3_tile_cases: the small maps whose padded size admits the 3x3 kernel (3 channel counts,
# 2 strides), then the 4 big maps
DW3_TILE_CASES = (
    sum(
        3 * 2
        for h, w in [(1, 1), (2, 2), (3, 3), (2, 3), (3, 1), (5, 4)]
        for pad in range(3)
        if h + 2 * pad >= 3 and w + 2 * pad >= 3
    )
    + 4
)
# cases the Cortex-M DSP build (test_mcu_dsp.py, same driver) skips: add, quantize, onnxruntime,
# dw3 tiles
NEON_LAYER_CASES = 5 * 2 * 2 * 3 + 5 * 3 * 2 + 3 + DW3_TILE_CASES
# cases the dot-product build skips: dwconv, add, quantize, dw3 tiles (no dot variant)
NEON_ONLY_CASES = 11 * 6 * 2 * 2 * 2 * 2 + 1 + 5 * 2 * 2 * 3 + 5 * 3 * 2 + DW3_TILE_CASES
CASES = 3 + 4 + 11 * 6 * 2 * 2 * 2 * 2 + 11 * 2 * 2 + NEON_ONLY_CASES + 11 * 3 * 2 * 6 * 2 * 2

# weight_min_cases: dense layers holding a weight of -128, in every NEON build (the dot
# product's included), none in the Cortex-M DSP one
WEIGHT_MIN_CASES = 2
NEON_LAYER_CASES += WEIGHT_MIN_CASES
CASES += WEIGHT_MIN_CASES
# dot_tile_cases: the dot-product build only
DOT_TILE_CASES = 3 * 6 * 2 * 2 * 2 + 2
NEON_LAYER_CASES += DOT_TILE_CASES
CASES += DOT_TILE_CASES
# window_cases: the general conv's input window and batches, in every NEON build
WINDOW_CASES = 6 * 2
NEON_LAYER_CASES += WINDOW_CASES
CASES += WINDOW_CASES


# aarch64-dot: the ARMv8.2 dot-product variants (__neondot, s8_dot_neon.c) on qemu's
# default aarch64 CPU ("max", which has the dot product), named with -cpu max.
@pytest.mark.parametrize("target", ["aarch64", "aarch64-dot", "armv7", "armv7-neon"])
def test_neon_equals_ref_under_qemu(tmp_path, target):
    dot = target.endswith("-dot")
    t = require_target(target.removesuffix("-dot"))
    kernels = runtime_dir() / "kernels"
    driver = tmp_path / "driver.c"
    driver.write_text(DRIVER)
    exe = tmp_path / "driver"
    sources = [*sorted(kernels.glob("s8_*.c")), driver]
    cmd = [targets.target_cc(t), *cross.build_flags(t), f"-I{runtime_dir() / 'include'}",
           *(["-DDOT"] if dot else []), *map(str, sources), "-o", str(exe), "-lm"]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    qemu = [t.qemu, *(["-cpu", "max"] if dot else []), "-L", t.sysroot, str(exe)]
    run = subprocess.run(qemu, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    cases = CASES - (NEON_ONLY_CASES if dot else DOT_TILE_CASES)
    assert f"{cases} cases, 0 failures" in run.stdout, run.stdout


# Whether a target's build compiles the NEON rows of cnnc.ops.variants in (their guard,
# defined(__ARM_NEON), holds): select_kernels then picks them at init on a NEON CPU.
NEON_BUILD = {"aarch64": True, "armv7": True, "armv7-neon": True, "cortex-m4": False,
              "cortex-m7": False, "host": False}  # fmt: skip


def defined_by_build(t, pattern: str, name: str) -> bool:
    """Whether function ``name`` keeps its definition after target ``t``'s preprocessor runs
    over the runtime kernel files matching ``pattern``."""
    kernels = runtime_dir() / "kernels"
    for src in sorted(kernels.glob(pattern)):
        cmd = [targets.target_cc(t), *cross.build_flags(t), f"-I{runtime_dir() / 'include'}",
               f"-I{kernels}", "-E", "-P", str(src)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        if re.search(rf"\b{name}\([^;]*\)\s*{{", proc.stdout):
            return True
    return False


@pytest.mark.parametrize("target", list(NEON_BUILD))
def test_neon_rows_compiled_in_per_target(tmp_path, target):
    """Each s8 NEON row's definition survives the target's preprocessor exactly when the
    target has NEON (the row's guard), so dispatch on ARM has the kernels it lists."""
    t = require_target(target, run=False)
    rows = [v for v in VARIANTS if v.family == "s8" and v.guard == NEON]
    assert rows, "cnnc.ops.variants has no s8 NEON row"
    for v in rows:
        defined = defined_by_build(t, "s8_*_neon.c", v.name)
        assert defined == NEON_BUILD[target], (
            f"{target}: {v.name} {'defined' if defined else 'not defined'} by the build"
        )


# The dot-product rows: GCC compiles them into every aarch64 build (target attribute), no
# 32-bit or Cortex-M build has them.
DOT_BUILD = {**{name: False for name in NEON_BUILD}, "aarch64": True}


@pytest.mark.parametrize("target", list(DOT_BUILD))
def test_dot_rows_compiled_in_per_target(target):
    t = require_target(target, run=False)
    rows = [v for v in VARIANTS if v.family == "s8" and v.guard == NEONDOT]
    assert {v.kernel for v in rows} == {f"cnnc_s8_{k}__ref" for k in ("conv", "dense", "pwconv")}
    for v in rows:
        defined = defined_by_build(t, "s8_dot_neon.c", v.name)
        assert defined == DOT_BUILD[target], (
            f"{target}: {v.name} {'defined' if defined else 'not defined'} by the build"
        )
