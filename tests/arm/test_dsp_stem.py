"""The Cortex-M DSP general conv's direct path (s8_conv_dsp.c: dsp_conv_direct, K <= 9,
one group, the full clamp, the doubled requantisation, blocks of an even count of
outputs), its RGB rows (dsp_conv_rgb: 3x3 of 3 channels, whole groups of 4 outputs, from
the same widened rows) and its word im2col (kernel rows of 5 to 12 bytes) equal
cnnc_s8_conv__ref byte for byte on an emulated Cortex-M4: the digits stem itself (32x32x1,
3x3 stride 2 pad 1, 16 outputs) and the 0.35@96 stem's kind (3x3 stride 2 of 3 channels, a
narrower image), then random convs of K 1..10 over kernels 1x1..3x3, 1x5, 5x2, 10x1, 2x5
of 1 or 2 channels, strides 1..3, paddings 0..2, batches of 1 and 2, with 1 to 6, 8, 10,
16, 24, 48 (one whole block) and 49 to 60 outputs (a second block, whose outputs skip the
first's in y; odd blocks and K = 10 take the GEMM), the stem's shape with every count of
the pixel loop's turns (one to eight periods of two outputs, a count of 2 mod 4 whose last
weights go one by one) with and without the output zero point -128, random 3x3 convs of
3 channels with 4 to 52 outputs (a last block not a multiple of 4, and 6 outputs: the
GEMM for it), its blocks of 16 outputs (dsp_rgb_pixels16: two chunks of stride-2 records,
a block of 16 after one of 48, strides 1 and 3) with and without the output zero point
-128, the stem's shape with 64 outputs (a block of 16 after 48: y stepped between
pixels), under every requantisation form the paths run (the doubled form, and
without the sign's term where the output zero point is -128 one time in four, the plain
double rounding with biases near 2^30, single rounding) and the ones they leave to the
GEMM (narrow clamps, onnxruntime rounding, multipliers outside the fast forms); the
stems' row loop (dsp_direct_rows33) at strides 1 to 3; rows wider than the pixel records'
and RGB quads' chunks (out_w above 126 and 25), rows too wide for the widened ring (the
GEMM then) and odd counts of stride-2 windows ending inside the image (the pixel records'
last one alone); at the target's flags (the direct paths) and at -Os (none)."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

CASES = 3 + 160 + 13 + 40 + 16 + 8 + 2 + 4 + 12 + 1 + 2 + 2 + 2

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + r"""
#define GUARD 16
#define MAX_X 6144
#define MAX_Y 20480
static int8_t x[MAX_X], w[27 * 64], y_ref[MAX_Y + GUARD], y_dsp[MAX_Y + GUARD];
static int32_t bias[64], mult[64], shift[64];
static int cases = 0, failures = 0;
static int32_t zy_force = 0; /* 1: the output zero point -128; -1: 5 (not -128); 0: random */
/* e_hi > 0: every shift -e_lo..-e_hi (e_first > 0: the first output's -e_first); bias_big > 0:
 * every bias +-bias_big (dsp_direct_scale's range and bound) */
static int32_t e_lo = 0, e_hi = 0, e_first = 0, bias_big = 0;

/* kind 0: random, double or single rounding (the doubled or single fast form); 1: some
 * biases near +-2^30 (the block's plain double form); 2: extreme inputs and weights; 3: shifts and
 * multipliers across the contract (the GEMM's slow form); 4: onnxruntime rounding; 5: as 0,
 * double rounding (the direct paths' doubled form). */
static void fill(int32_t nx, int32_t k, int32_t m, int32_t kind, int32_t *rounding) {
    int32_t i, j;
    const int8_t xv = uniform(0, 1) ? 127 : -128;
    for (i = 0; i < nx; ++i) x[MAX_X - nx + i] = kind == 2 ? xv : (int8_t)uniform(-128, 127);
    for (j = 0; j < m; ++j)
        for (i = 0; i < k; ++i)
            w[i * m + j] = kind == 2 ? ((j & 1) ? 127 : -128) : (int8_t)uniform(-128, 127);
    *rounding = kind == 4 ? CNNC_ROUND_ONNXRUNTIME
                          : (kind == 1 || kind == 5 || uniform(0, 1) ? CNNC_ROUND_DOUBLE
                                                                      : CNNC_ROUND_SINGLE);
    for (j = 0; j < m; ++j) {
        bias[j] = uniform(-20000, 20000);
        mult[j] = (int32_t)((1u << 30) + next_word() % (1u << 30));
        shift[j] = -uniform(1, 14);
        if (kind == 1 && (j == 0 || uniform(0, 3) == 0)) /* the others' sums unsaturated */
            bias[j] = (uniform(0, 1) ? 1 : -1) * ((1 << 30) - uniform(0, 300000));
        if (kind == 2) shift[j] = -uniform(1, 3);
        if (kind == 3) {
            shift[j] = uniform(-31, 30);
            if (uniform(0, 1)) mult[j] = (int32_t)(next_word() >> 1);
        }
        if (kind == 4) {
            const float f = (float)uniform(1, 100000) * 1e-7f;
            memcpy(&mult[j], &f, sizeof f);
            shift[j] = 0;
        }
        if (e_hi) shift[j] = -uniform(e_lo, e_hi);
        if (e_first && j == 0) shift[j] = -e_first;
        if (bias_big) bias[j] = uniform(0, 1) ? bias_big : -bias_big;
    }
}

/* A conv of batch x h x wd x c (the input at the end of x) through both kernels. */
static void conv_case(int32_t batch, int32_t h, int32_t wd, int32_t c, int32_t kh, int32_t kw,
                      int32_t s, int32_t pad, int32_t oc, int32_t kind, int32_t narrow) {
    /* an output zero point of -128 (a ReLU's range) one time in four: the direct path's
     * requantisation without the sign's term */
    const int32_t k = kh * kw * c, nx = batch * h * wd * c;
    const int32_t zy = zy_force ? (zy_force > 0 ? -128 : 5)
                                : (uniform(0, 3) == 0 ? -128 : uniform(-128, 127));
    cnnc_s8_conv_params p;
    int32_t i, size, rounding;
    fill(nx, k, oc, kind, &rounding);
    memset(&p, 0, sizeof p);
    p.n = batch; p.h = h; p.w = wd; p.c = c; p.out_c = oc;
    p.kernel_h = kh; p.kernel_w = kw; p.stride_h = p.stride_w = s;
    p.dilation_h = p.dilation_w = 1; p.pad_top = p.pad_left = pad; p.groups = 1;
    p.out_h = (h + 2 * pad - kh) / s + 1; p.out_w = (wd + 2 * pad - kw) / s + 1;
    p.x_zero_point = uniform(0, 2) ? uniform(-128, 127) : (uniform(0, 1) ? 127 : -128);
    p.y_zero_point = zy; p.rounding = rounding; p.act_min = -128; p.act_max = 127;
    if (narrow) p.act_min = zy, p.act_max = zy < 27 ? zy + 100 : 127;
    size = batch * p.out_h * p.out_w * oc;
    memset(y_dsp, 0x5A, sizeof y_dsp);
    cnnc_s8_conv__ref(&p, x + MAX_X - nx, w, bias, mult, shift, y_ref);
    cnnc_s8_conv__dsp(&p, x + MAX_X - nx, w, bias, mult, shift, y_dsp);
    ++cases;
    for (i = 0; i < size + GUARD; ++i)
        if (i >= size ? y_dsp[i] != 0x5A : y_ref[i] != y_dsp[i]) {
            if (++failures <= 20)
                printf("MISMATCH %dx%dx%dx%d k %dx%d s %d pad %d oc %d kind %d narrow %d "
                       "byte %d: ref %d dsp %d\n", (int)batch, (int)h, (int)wd, (int)c,
                       (int)kh, (int)kw, (int)s, (int)pad, (int)oc, (int)kind, (int)narrow,
                       (int)i, i < size ? y_ref[i] : 0x5A, y_dsp[i]);
            return;
        }
}

int main(void) {
    static const int32_t kernels[][2] = {{3, 3}, {1, 1}, {2, 2}, {3, 1}, {1, 3}, {2, 3},
                                         {1, 5}, {5, 2}, {10, 1}, {2, 5}};
    static const int32_t counts[] = {1, 2, 3, 4, 5, 6, 8, 10, 16, 24, 48, 49, 53, 60};
    /* the pixel loop's turns: one period (2, 6, 10), two (4, 12), four (8, 24), eight (16, 48) */
    static const int32_t turns[] = {2, 6, 10, 12, 8, 24, 16, 48};
    int32_t rep;
    conv_case(1, 32, 32, 1, 3, 3, 2, 1, 16, 5, 0); /* the digits stem */
    conv_case(1, 9, 11, 1, 3, 3, 2, 1, 24, 5, 0);  /* eight outputs a turn, three turns */
    conv_case(1, 20, 22, 3, 3, 3, 2, 1, 16, 5, 0); /* the 0.35@96 stem's kind */
    for (rep = 0; rep < 160; ++rep) {
        const int32_t *kr = kernels[uniform(0, 9)];
        const int32_t c = kr[0] * kr[1] <= 5 && uniform(0, 1) ? 2 : 1;
        const int32_t s = uniform(1, 3), pad = uniform(0, 2), batch = uniform(1, 2);
        const int32_t h = kr[0] + uniform(0, 5), wd = kr[1] + uniform(0, 6);
        const int32_t kind = uniform(0, 6) < 3 ? 0 : uniform(1, 4);
        conv_case(batch, h, wd, c, kr[0], kr[1], s, pad, counts[uniform(0, 13)], kind,
                  uniform(0, 5) == 0);
    }
    for (rep = 0; rep < 40; ++rep) { /* 3x3 of 3 channels: the RGB rows (whole groups) */
        static const int32_t rgb_counts[] = {4, 8, 12, 16, 20, 48, 52, 6};
        const int32_t kind = uniform(0, 6) < 3 ? 0 : uniform(1, 4);
        conv_case(uniform(1, 2), uniform(3, 9), uniform(3, 12), 3, 3, 3, uniform(1, 3),
                  uniform(0, 2), rgb_counts[uniform(0, 7)], kind, uniform(0, 5) == 0);
    }
    /* rows past the pixel records' chunk (126 pixels with 48 outputs, 177 with 16): the
     * general row loop, chunk by chunk */
    conv_case(1, 3, 200, 1, 3, 3, 1, 1, 16, 5, 0);
    conv_case(1, 2, 140, 1, 1, 3, 1, 0, 48, 5, 0);
    conv_case(2, 2, 135, 2, 2, 2, 1, 0, 48, 5, 0);
    conv_case(1, 3, 60, 3, 3, 3, 1, 1, 48, 5, 0); /* RGB quads: 25 pixels a chunk */
    /* a widened ring of 3 rows past the im2col buffer's 2 KB: the GEMM */
    conv_case(1, 3, 400, 1, 3, 3, 1, 1, 4, 0, 0);
    conv_case(1, 3, 120, 3, 3, 3, 1, 1, 4, 0, 0);
    /* odd sizes of the doubled form's two outputs a turn */
    conv_case(1, 9, 9, 1, 3, 3, 2, 1, 7, 5, 0);
    conv_case(1, 9, 9, 1, 3, 3, 2, 1, 8, 5, 0);
    /* an odd count of stride-2 windows, the last inside the image (its right column real):
     * the last pixel alone after the pairs (dsp_direct_x33) */
    conv_case(1, 7, 10, 1, 3, 3, 2, 1, 16, 5, 0);
    conv_case(2, 5, 11, 1, 3, 3, 2, 0, 16, 5, 0);
    /* 4, 8 and 12 stride-2 windows a row: four records a turn (dsp_direct_x33's LDM pairs) */
    conv_case(1, 5, 7, 1, 3, 3, 2, 1, 16, 5, 0);
    conv_case(2, 6, 15, 1, 3, 3, 2, 1, 8, 5, 0);
    conv_case(1, 7, 25, 1, 3, 3, 2, 0, 16, 5, 0);
    for (rep = 0; rep < 16; ++rep) { /* the stem's shape, each turn, both requantisations */
        zy_force = rep & 1 ? 1 : -1;
        conv_case(1, 9, 11, 1, 3, 3, 2, 1, turns[rep >> 1], 5, 0);
    }
    for (rep = 0; rep < 8; ++rep) { /* the RGB blocks of 16 outputs (dsp_rgb_pixels16) */
        zy_force = rep & 1 ? 1 : -1;
        if (rep < 2) /* stride 2 (the LDM records), two chunks of pixels */
            conv_case(1, 5, 130, 3, 3, 3, 2, 1, 16, 5, 0);
        else if (rep < 4) /* a second block of 16 after 48: 48 outputs to skip a pixel */
            conv_case(2, 7, 9, 3, 3, 3, 2, 0, 64, 5, 0);
        else /* strides 1 and 3: the records word by word */
            conv_case(1, 6, 10, 3, 3, 3, rep < 6 ? 1 : 3, 2 * (rep & 1), 16, 5, 0);
    }
    for (rep = 0; rep < 2; ++rep) { /* one channel, a block of 16 after one of 48: the
                                       pixel loop of 16 outputs that steps y by 48 a pixel */
        zy_force = rep & 1 ? 1 : -1;
        conv_case(1, 9, 11, 1, 3, 3, 2, 1, 64, 5, 0);
    }
    zy_force = 0;
    /* the stems' row loop at strides 1 (two rows kept) and 3 (none), paddings 0 and 2 */
    conv_case(1, 9, 11, 1, 3, 3, 1, 1, 8, 5, 0);
    conv_case(2, 8, 7, 1, 3, 3, 1, 0, 6, 5, 0);
    conv_case(1, 10, 12, 1, 3, 3, 3, 2, 8, 5, 0);
    conv_case(1, 11, 9, 1, 3, 3, 2, 2, 4, 5, 0);
    /* the output zero point -128 with every e in 5..11: the table dsp_direct_scale rewrites
     * (SMMLA, SSAT's ASR #12) for counts a multiple of 16 (eight periods a turn: 48, a block of
     * 16 after 48, y stepped; 16 of a pixel in one turn, as the digits stem itself with e 7
     * and 8), the others' unscaled tables at each turn */
    zy_force = 1, e_lo = 5, e_hi = 11;
    for (rep = 0; rep < 8; ++rep) conv_case(1, 9, 11, 1, 3, 3, 2, 1, turns[rep], 5, 0);
    conv_case(1, 9, 11, 1, 3, 3, 2, 1, 64, 5, 0);
    conv_case(1, 3, 200, 1, 3, 3, 1, 1, 16, 5, 0); /* the general row loop */
    conv_case(2, 6, 7, 1, 2, 3, 1, 1, 10, 5, 0);   /* a 2x3 kernel (dsp_direct_xrow) */
    conv_case(1, 7, 9, 1, 3, 3, 2, 1, 16, 2, 0);   /* extreme inputs and weights */
    e_lo = 7, e_hi = 8;
    conv_case(1, 32, 32, 1, 3, 3, 2, 1, 16, 5, 0);
    for (rep = 0; rep < 2; ++rep) { /* its ends: d = 7 and 1 */
        e_lo = e_hi = rep ? 11 : 5;
        conv_case(1, 9, 11, 1, 3, 3, 2, 1, 16, 5, 0);
    }
    e_lo = 5, e_hi = 11;
    for (rep = 0; rep < 2; ++rep) { /* one output's e 4 or 12: the unscaled table */
        e_first = rep ? 12 : 4;
        conv_case(1, 9, 11, 1, 3, 3, 2, 1, 16, 5, 0);
    }
    e_first = 0, e_lo = e_hi = 5;
    for (rep = 0; rep < 2; ++rep) { /* biases at the bound 2^31 / 2^7 - 9 * 255 * 256 and
                                       past it (the unscaled table; scaled, 2^32 + 256000) */
        bias_big = rep ? (1 << 24) + 1000 : (0x7FFFFFFF >> 7) / 2 - 9 * 255 * 128;
        conv_case(1, 7, 9, 1, 3, 3, 2, 1, 16, rep ? 5 : 2, 0);
    }
    zy_force = 0, e_lo = e_hi = 0, bias_big = 0;
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""
)

KERNELS = ["s8_conv.c", "s8_dense.c", "s8_dense_dsp.c", "s8_conv_dsp.c"]


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_conv_direct_equals_ref_on_emulated_cortex_m4(tmp_path, opt):
    out = run_driver(tmp_path, DRIVER, KERNELS, opt)
    assert f"{CASES} cases, 0 failures" in out, out
