"""The Cortex-M DSP depthwise conv's stride-2 planes (s8_dwconv_dsp.c, dsp_dw3x3_s2: 3x3,
stride 2, out_w a multiple of 4 up to 24 at the pitches 9, 13 and 25, or 6 (the last
column's two outputs, output zero point -128), w a multiple of 8 or 12 (a row a loop turn at
8, 12, 16, 24 and 48; out_w 4 of 8 columns at odd pad_left in planes of five words a row,
one after the other, up to 17 rows, eight channels a turn (4 mod 8 channels and past 17
rows: the pitch 9)), banded where the planes outgrow the buffer, the full clamp, the double
rounding) equal cnnc_s8_dwconv__ref byte for byte on an emulated Cortex-M4: pad_left 0..3
(both parities of the tap pairs), pad_top 0..2 (the skipped top kernel row), odd heights and
output rows past the image, channel counts around the groups of four, two images, output
zero point -128 (no sign term) and others, weights of -128, biases at the doubling's limit;
and the layers it leaves (a narrower clamp, the single rounding, shifts out of the fast
range, larger biases, out_w 3, out_w 6 with another output zero point) through the other
paths. At the target's flags and at -Os (no stride-2 planes)."""

import pytest

from .mcu_run import C_FILL8, C_RANDOM, run_driver

pytestmark = pytest.mark.arm

SIZES = 14
CASES = SIZES * 5 * 4 * 2

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + C_FILL8
    + r"""
#define MAX_X (2 * 48 * 48 * 17)
static int8_t x[MAX_X], w[9 * 17], y_ref[MAX_X + 16], y_dsp[MAX_X + 16];
static int32_t bias[17], mult[17], shift[17];
/* DSP_DW3_DOUBLE_BIAS: the largest |bias| whose sums are doubled */
#define BIAS_LIMIT ((1 << 30) - 9 * (1 << 14) - 9 * 128 * 128 - 1)

int main(void) {
    /* h, w, out_h, out_w, pad_top, pad_left */
    static const int32_t sizes[SIZES][6] = {
        {16, 16, 8, 8, 1, 1}, {8, 8, 4, 4, 1, 1}, {16, 16, 8, 8, 0, 0}, {9, 16, 4, 4, 2, 2},
        {7, 8, 5, 4, 1, 3},   {17, 16, 9, 8, 1, 1}, {12, 12, 6, 6, 1, 1}, {6, 6, 3, 3, 1, 1},
        {24, 24, 12, 12, 1, 1}, {13, 32, 7, 16, 0, 0}, {48, 48, 24, 24, 1, 1},
        {9, 8, 5, 4, 2, 1},   {7, 8, 4, 4, 0, 1},   {17, 8, 9, 4, 1, 1}};
    static const int32_t chans[5] = {4, 5, 8, 12, 17};
    /* z 0: -128 out (DSP_RQ_DOUBLE2Z); 1: a narrower clamp; 2: 127 in, 5 out; 3: random */
    static const int32_t zps[4][2] = {{-128, -128}, {-128, -128}, {127, 5}, {0, 0}};
    int32_t si, ci, z, edge, i, cases = 0, failures = 0;
    for (si = 0; si < SIZES; ++si) for (ci = 0; ci < 5; ++ci) for (z = 0; z < 4; ++z)
    for (edge = 0; edge < 2; ++edge) {
        cnnc_s8_conv_params p;
        int32_t out;
        memset(&p, 0, sizeof p);
        p.n = 2; p.h = sizes[si][0]; p.w = sizes[si][1];
        p.out_h = sizes[si][2]; p.out_w = sizes[si][3];
        p.pad_top = sizes[si][4]; p.pad_left = sizes[si][5];
        p.c = p.out_c = p.groups = chans[ci];
        p.kernel_h = p.kernel_w = 3;
        p.stride_h = p.stride_w = 2; p.dilation_h = p.dilation_w = 1;
        p.x_zero_point = z == 3 ? uniform(-128, 127) : zps[z][0];
        p.y_zero_point = z == 3 ? uniform(-128, 127) : zps[z][1];
        p.act_min = z == 1 ? -100 : -128; p.act_max = z == 1 ? 100 : 127;
        /* the single rounding in one case of eight (the other paths) */
        p.rounding = (si + ci + z + edge) % 8 == 3 ? CNNC_ROUND_SINGLE : CNNC_ROUND_DOUBLE;
        out = p.n * p.out_h * p.out_w * p.c;
        fill8(x, p.n * p.h * p.w * p.c, -128); fill8(w, 9 * p.c, edge ? -128 : -127);
        for (i = 0; i < p.c; ++i) {
            bias[i] = uniform(-5000, 5000);
            mult[i] = (int32_t)((1u << 30) + next_word() % (1u << 30));
            shift[i] = -uniform(6, 12);
        }
        if (edge) { /* biases at the doubling's limit; a channel past it or out of range */
            bias[0] = BIAS_LIMIT; bias[p.c - 1] = -BIAS_LIMIT;
            shift[0] = -1; shift[p.c - 1] = -20;
            /* the largest shift at mid-range outputs (its requantisation block) */
            bias[1] = uniform(1 << 27, 1 << 28); shift[1] = -20;
            if (ci == 3) bias[5] = BIAS_LIMIT + 1;
            if (ci == 4) shift[9] = uniform(-31, 3);
            if (ci == 2) shift[6] = 1; /* the second half of an eight-channel group */
        }
        memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
        cnnc_s8_dwconv__ref(&p, x, w, bias, mult, shift, y_ref);
        cnnc_s8_dwconv__dsp(&p, x, w, bias, mult, shift, y_dsp);
        ++cases;
        for (i = 0; i < out; ++i)
            if (y_ref[i] != y_dsp[i]) {
                printf("size %d c %d z %d edge %d: byte %d (pixel %d channel %d) ref %d dsp %d\n",
                       (int)si, (int)p.c, (int)z, (int)edge, (int)i, (int)(i / p.c),
                       (int)(i % p.c), y_ref[i], y_dsp[i]);
                ++failures;
                break;
            }
        if (y_dsp[out] != 0x2a) { printf("wrote past the output\n"); ++failures; }
    }
    printf("%d cases, %d failures\n", (int)cases, (int)failures);
    return failures != 0;
}
"""
).replace("SIZES", str(SIZES))


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_dwconv_stride2_planes_equal_ref_on_emulated_cortex_m4(tmp_path, opt):
    out = run_driver(tmp_path, DRIVER, ["s8_dwconv.c", "s8_dwconv_dsp.c"], opt)
    assert f"{CASES} cases, 0 failures" in out, out
