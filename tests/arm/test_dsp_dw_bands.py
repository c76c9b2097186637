"""The Cortex-M DSP depthwise convolution on images whose padded copy does not fit its
stack buffer (s8_dwconv_dsp.c, dsp_dw_bands: bands of output rows, each run as a layer of
its own) equals cnnc_s8_dwconv__ref byte for byte on an emulated Cortex-M4: 3x3 stride 1
(the planes) and stride 2, 5x5, 1x1, 3x1; paddings 0..2 and one-sided; odd heights and
widths that leave a short last band; channels 1..9 (the four-channel groups and the
tail); batch 2; an image too wide for one band row (the unbanded path); every rounding
and the requantisation corners; at the target's flags and at -Os."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

# h, w, kernel_h, kernel_w, stride, pad_top, pad_left, pad_bottom, pad_right
GEOMETRIES = [
    (48, 48, 3, 3, 1, 1, 1, 1, 1),
    (48, 48, 3, 3, 2, 0, 0, 1, 1),
    (47, 45, 3, 3, 2, 1, 1, 1, 1),
    (37, 41, 3, 3, 1, 1, 1, 1, 1),
    (33, 30, 5, 5, 1, 2, 2, 2, 2),
    (29, 40, 5, 5, 2, 2, 1, 1, 2),
    (40, 40, 1, 1, 1, 0, 0, 0, 0),
    (35, 36, 3, 1, 1, 1, 0, 1, 0),
    (30, 30, 3, 3, 1, 0, 0, 0, 0),
    (26, 300, 3, 3, 1, 1, 1, 1, 1),
]

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + r"""
#define GUARD 8
#define MAXB (2 * 48 * 300 * 9)
static int8_t x[MAXB], w[25 * 9], y_ref[MAXB + GUARD], y_dsp[MAXB + GUARD];
static int32_t bias[9], mult[9], shift[9];
static const int32_t geo[][9] = {GEOMETRIES};

int main(void) {
    int32_t g, k, i, failures = 0, cases = 0;
    const int32_t n_geo = (int32_t)(sizeof geo / sizeof geo[0]);
    for (g = 0; g < n_geo; ++g)
        for (k = 0; k < 3; ++k) {
            cnnc_s8_conv_params p;
            int32_t size;
            memset(&p, 0, sizeof p);
            p.h = geo[g][0]; p.w = geo[g][1]; p.kernel_h = geo[g][2]; p.kernel_w = geo[g][3];
            p.stride_h = p.stride_w = geo[g][4]; p.pad_top = geo[g][5]; p.pad_left = geo[g][6];
            p.out_h = (p.h + geo[g][5] + geo[g][7] - p.kernel_h) / p.stride_h + 1;
            p.out_w = (p.w + geo[g][6] + geo[g][8] - p.kernel_w) / p.stride_w + 1;
            p.dilation_h = p.dilation_w = 1;
            p.n = k == 2 ? 2 : 1;
            p.c = p.out_c = p.groups = k == 0 ? 4 + 4 * (g & 1) : 1 + uniform(0, 8);
            if (p.w > 100) p.c = p.out_c = p.groups = 4;
            p.x_zero_point = uniform(0, 2) ? uniform(-128, 127) : (g & 1 ? -128 : 127);
            p.y_zero_point = uniform(-128, 127);
            p.act_min = k == 1 ? p.y_zero_point : -128;
            p.act_max = k == 1 ? 127 : uniform(p.act_min, 127);
            if (k == 0) p.act_max = 127;
            p.rounding = k == 0 ? CNNC_ROUND_DOUBLE : (k == 1 ? CNNC_ROUND_SINGLE
                                                              : CNNC_ROUND_ONNXRUNTIME);
            for (i = 0; i < p.c; ++i) {
                bias[i] = uniform(-20000, 20000);
                mult[i] = (int32_t)((1u << 30) + next_word() % (1u << 30));
                shift[i] = -uniform(6, 12);
                if (k == 1 && i == 1) { mult[i] = 1 << 30; shift[i] = -uniform(0, 31); }
                if (k == 2) mult[i] = 0x3C000000 + uniform(0, 1 << 20); /* float bits */
            }
            for (i = 0; i < p.n * p.h * p.w * p.c; ++i) x[i] = (int8_t)uniform(-128, 127);
            for (i = 0; i < p.kernel_h * p.kernel_w * p.c; ++i)
                w[i] = (int8_t)(uniform(0, 9) ? uniform(-127, 127) : (i & 1 ? -127 : 127));
            size = p.n * p.out_h * p.out_w * p.c;
            memset(y_ref, 0x5A, sizeof y_ref);
            memset(y_dsp, 0x5A, sizeof y_dsp);
            cnnc_s8_dwconv__ref(&p, x, w, bias, mult, shift, y_ref);
            for (i = 0; i < size; ++i) y_dsp[i] = (int8_t)~y_ref[i];
            cnnc_s8_dwconv__dsp(&p, x, w, bias, mult, shift, y_dsp);
            ++cases;
            for (i = 0; i < size + GUARD; ++i)
                if (i >= size ? y_dsp[i] != 0x5A : y_ref[i] != y_dsp[i]) {
                    printf("geometry %d set %d byte %d: ref %d dsp %d\n", (int)g, (int)k, (int)i,
                           i < size ? y_ref[i] : 0x5A, y_dsp[i]);
                    ++failures;
                    break;
                }
        }
    printf("%d cases, %d failures\n", (int)cases, (int)failures);
    return failures != 0;
}
"""
)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_depthwise_bands_equal_ref_on_emulated_cortex_m4(tmp_path, opt):
    rows = ", ".join("{" + ", ".join(map(str, g)) + "}" for g in GEOMETRIES)
    driver = f"#define GEOMETRIES {rows}\n" + DRIVER
    out = run_driver(tmp_path, driver, ["s8_dwconv.c", "s8_dwconv_dsp.c"], opt)
    assert f"{3 * len(GEOMETRIES)} cases, 0 failures" in out, out
