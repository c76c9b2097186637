"""The Cortex-M DSP depthwise conv's int16-plane path (s8_dwconv_dsp.c, dsp_dw3x3_planar: 3x3,
stride 1, rows of at least DSP_DW_PLANE_MIN_W outputs, or 6 in an even number of rows) equals
cnnc_s8_dwconv__ref byte for byte on an emulated Cortex-M4: even and odd widths and heights, padding
0 and 1, channel counts around the groups of four (the widened four and the one-at-a-time rest), two
images, zero points at the range ends, the three roundings, requantisation corners (the reference
form), biases too large for the doubled sums and at their bound (extreme sums), weights of -128,
clamps; rows of one, three and four two-by-four tiles (dsp_dw3x3_tiles) at the three pitches, along
the rows and down the columns (DSP_ASM_TILES_COL); 0.35@96's 6x6 and 3x3 images at many channels
(dsp_dw3x3_rows6, dsp_dw3x3_img3); at the target's flags and at -Os. The shared
grid of test_mcu_dsp.py covers the narrower rows and the other geometries."""

import pytest

from .mcu_run import C_FILL8, C_RANDOM, run_driver

pytestmark = pytest.mark.arm

CASES = 13 * 2 * 7 * 3 * 2 + 12 + 16

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + C_FILL8
    + r"""
#define MAX_X (2 * 8 * 50 * 17)
static int8_t x[MAX_X], w[9 * 32], y_ref[MAX_X + 16], y_dsp[MAX_X + 16];
static int32_t bias[32], mult[32], shift[32];

/* Runs __ref and __dsp on p (x, w, bias, mult, shift) into sentinel-filled outputs of `out`
 * bytes; returns the first differing byte, `out` if the DSP kernel wrote past it, else -1. */
static int32_t first_difference(const cnnc_s8_conv_params *p, int32_t out) {
    int32_t i;
    memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
    cnnc_s8_dwconv__ref(p, x, w, bias, mult, shift, y_ref);
    cnnc_s8_dwconv__dsp(p, x, w, bias, mult, shift, y_dsp);
    for (i = 0; i < out; ++i)
        if (y_ref[i] != y_dsp[i]) return i;
    return y_dsp[out] != 0x2a ? out : -1;
}

int main(void) {
    /* h, out_w: out_w <= 16 the planes' fixed pitch, 18 the image's own; out_w 8, 12, 16
     * the two-by-four tiles (one, three, four a row), 24 and 48 theirs at the pitches of
     * 0.35@96's bands (DSP_RQ_DOUBLE2Z), odd out_h its last row by pairs; out_w 6 (planes
     * where out_h is even: 0.35@96's 6x6 at padding 1) and 3 (four-channel windows); the
     * tiles down the columns where the row pairs outnumber a row's tiles (8x8, 12x12, 16x16,
     * and 6x8, 10x12, 14x16 at padding 0) */
    static const int32_t sizes[13][2] = {{8, 8},  {9, 11}, {16, 13}, {17, 10}, {6, 18},
                                         {12, 12}, {9, 16}, {8, 24},  {7, 48},  {6, 6},
                                         {7, 6},  {3, 3},  {16, 16}};
    static const int32_t chans[7] = {1, 3, 4, 5, 8, 13, 17};
    /* z 2: output zero point -128 under the full clamp (DSP_RQ_DOUBLE2Z) */
    static const int32_t zps[3][2] = {{-128, 127}, {127, -128}, {5, -128}};
    int32_t si, pad, ci, z, edge, i, cases = 0, failures = 0;
    for (si = 0; si < 13; ++si) for (pad = 0; pad < 2; ++pad) for (ci = 0; ci < 7; ++ci)
    for (z = 0; z < 3; ++z) for (edge = 0; edge < 2; ++edge) {
        cnnc_s8_conv_params p;
        int32_t out;
        memset(&p, 0, sizeof p);
        p.n = 2; p.h = sizes[si][0]; p.w = sizes[si][1] + 2 - 2 * pad;
        p.c = p.out_c = p.groups = chans[ci];
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = pad;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        p.out_h = p.h + 2 * pad - 2; p.out_w = p.w + 2 * pad - 2;
        p.x_zero_point = edge ? uniform(-128, 127) : zps[z][0];
        p.y_zero_point = edge && z != 2 ? uniform(-128, 127) : zps[z][1];
        p.act_min = z == 1 ? p.y_zero_point : -128; p.act_max = z == 1 ? 100 : 127;
        if (p.act_max < p.act_min) p.act_max = p.act_min;
        p.rounding = (si + ci + z) & 1;
        if (edge && z == 0) p.rounding = CNNC_ROUND_ONNXRUNTIME; /* no fast form */
        out = p.n * p.out_h * p.out_w * p.c;
        fill8(x, p.n * p.h * p.w * p.c, -128); fill8(w, 9 * p.c, edge ? -128 : -127);
        for (i = 0; i < p.c; ++i) {
            bias[i] = uniform(-5000, 5000);
            /* past DSP_DW3_DOUBLE_BIAS: the group's sums not doubled (DSP_RQ_DOUBLE) */
            if (edge && i == 1) bias[i] = uniform(0, 1) ? 1100000000 : -1100000000;
            mult[i] = (int32_t)((1u << 30) + next_word() % (1u << 30));
            if (p.rounding == CNNC_ROUND_ONNXRUNTIME) { /* a float scale's bits */
                const float f = (float)uniform(1, 4000) / 65536.0f;
                memcpy(&mult[i], &f, sizeof f);
            }
            shift[i] = edge && uniform(0, 2) == 0 ? uniform(-31, 3) : -uniform(6, 12);
            if (z == 2 && !edge) shift[i] = -uniform(1, 20); /* every e of DSP_RQ_DOUBLE2Z */
        }
        ++cases;
        if ((i = first_difference(&p, out)) >= 0) {
            printf("h %d w %d c %d pad %d z %d edge %d: byte %d of %d ref %d dsp %d\n", (int)p.h,
                   (int)p.w, (int)p.c, (int)pad, (int)z, (int)edge, (int)i, (int)out, y_ref[i],
                   y_dsp[i]);
            ++failures;
        }
    }
    /* the doubled sums' bias bound (DSP_DW3_DOUBLE_BIAS, 2^30 - 294,912): every x - zp at
     * 255 in the bias's sign and every weight -128, so an interior sum is bias + 293,760 in
     * magnitude; biases at the bound less 1 (doubled: still below 2^30), at it, and past
     * 2^30 - 293,760 (not doubled: the doubled sum would wrap) */
    for (i = 0; i < 12; ++i) {
        static const int32_t biases[3] = {1073446911, 1073446912, 1073449000};
        cnnc_s8_conv_params p;
        const int32_t sign = i & 1 ? -1 : 1, b_abs = biases[(i >> 1) % 3], c = 4 + 4 * (i >= 6);
        int32_t j, out;
        memset(&p, 0, sizeof p);
        p.n = 1; p.h = p.w = p.out_h = p.out_w = 8; p.c = p.out_c = p.groups = c;
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        p.x_zero_point = sign > 0 ? 127 : -128;
        p.y_zero_point = i >= 6 ? -128 : 3; p.act_min = -128; p.act_max = 127;
        p.rounding = CNNC_ROUND_DOUBLE;
        out = p.out_h * p.out_w * c;
        memset(x, sign > 0 ? -128 : 127, (size_t)p.h * p.w * c);
        memset(w, -128, 9 * (size_t)c);
        for (j = 0; j < c; ++j) {
            bias[j] = sign * b_abs;
            mult[j] = (int32_t)((1u << 30) + next_word() % (1u << 30));
            shift[j] = -19 - (j & 1); /* outputs near 2^30 / 2^20: clamped */
        }
        ++cases;
        if ((j = first_difference(&p, out)) >= 0) {
            printf("bias bound %d: byte %d of %d ref %d dsp %d\n", (int)(sign * b_abs), (int)j,
                   (int)out, y_ref[j], y_dsp[j]);
            ++failures;
        }
    }
    /* 0.35@96's shapes at many channels: 6x6 at padding 1 (dsp_dw3x3_rows6 for DSP_RQ_DOUBLE2Z)
     * and 3x3 at padding 1 (dsp_dw3x3_img3), both roundings, output zero point -128 and
     * another, one and two images */
    for (i = 0; i < 16; ++i) {
        cnnc_s8_conv_params p;
        const int32_t side = i & 1 ? 3 : 6, c = 20 + 4 * ((i >> 3) & 1) + (i >> 2 & 1) * 3;
        int32_t j, out;
        memset(&p, 0, sizeof p);
        p.n = 1 + (i >> 3 & 1); p.h = p.w = p.out_h = p.out_w = side;
        p.c = p.out_c = p.groups = c;
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        p.x_zero_point = uniform(-128, 127);
        p.y_zero_point = i & 4 ? uniform(-128, 127) : -128; p.act_min = -128; p.act_max = 127;
        p.rounding = i >> 1 & 1 ? CNNC_ROUND_SINGLE : CNNC_ROUND_DOUBLE;
        out = p.n * p.out_h * p.out_w * c;
        fill8(x, p.n * p.h * p.w * c, -128); fill8(w, 9 * c, -128);
        for (j = 0; j < c; ++j) {
            bias[j] = uniform(-300000, 300000);
            mult[j] = (int32_t)((1u << 30) + next_word() % (1u << 30));
            shift[j] = -uniform(1, 20);
        }
        ++cases;
        if ((j = first_difference(&p, out)) >= 0) {
            printf("shape %d c %d: byte %d of %d ref %d dsp %d\n", (int)side, (int)c, (int)j,
                   (int)out, y_ref[j], y_dsp[j]);
            ++failures;
        }
    }
    printf("%d cases, %d failures\n", (int)cases, (int)failures);
    return failures != 0;
}
"""
)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_dwconv_plane_equals_ref_on_emulated_cortex_m4(tmp_path, opt):
    out = run_driver(tmp_path, DRIVER, ["s8_dwconv.c", "s8_dwconv_dsp.c"], opt)
    assert f"{CASES} cases, 0 failures" in out, out
