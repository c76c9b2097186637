"""The Cortex-M DSP elementwise add (s8_add_dsp.c) equals cnnc_s8_add__ref byte for byte on
an emulated Cortex-M4: every input byte against every other (a 256 x 256 sweep per
parameter set), input shifts 0..-30 (0 is the larger input's M = 1/2) and past the fast
form's range, left shifts 0..22, output multipliers and shifts inside and outside the
fast form (DSP_RQ_DOUBLE), zero points at the range ends, clamps, both roundings (single
runs __ref inside), at the target's flags and at -Os."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

SETS = 36

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + r"""
static int32_t real_mult(void) { return (int32_t)((1u << 30) + next_word() % (1u << 30)); }
static int32_t pick_zp(void) {
    static const int32_t ends[] = {-128, 127, 0};
    return uniform(0, 1) ? ends[uniform(0, 2)] : uniform(-128, 127);
}

#define N 65536
static int8_t a[N], b[N], y_ref[N + 1], y_dsp[N + 1];

int main(void) {
    int32_t set, i, failures = 0, cases = 0;
    for (i = 0; i < N; ++i) { a[i] = (int8_t)(i & 255); b[i] = (int8_t)(i >> 8); }
    for (set = 0; set < SETS; ++set) {
        cnnc_s8_add_params p;
        const int32_t kind = set % 6;
        p.size = set % 7 == 3 ? 1 + (int32_t)(next_word() % 300) : N;
        p.a_zero_point = pick_zp(); p.b_zero_point = pick_zp(); p.y_zero_point = pick_zp();
        p.left_shift = kind == 5 ? uniform(0, 22) : 20;
        p.a_mult = real_mult(); p.b_mult = real_mult(); p.y_mult = real_mult();
        /* the larger input: M = 1/2 (2^30, shift 0); the other anywhere below */
        if (uniform(0, 1)) { p.a_mult = 1 << 30; p.a_shift = 0; } else p.a_shift = -uniform(0, 3);
        p.b_shift = kind == 1 ? -uniform(0, 31) : -uniform(0, 8);
        p.y_shift = kind == 2 ? -uniform(0, 24) : -uniform(15, 20);
        if (kind == 3) p.y_mult = (int32_t)(next_word() >> 1);    /* below 2^30 too */
        if (kind == 4) { p.a_mult = 0; p.b_shift = uniform(0, 2); } /* m = 0, left shifts */
        p.act_min = -128; p.act_max = 127;
        if (set % 3 == 1) p.act_min = p.y_zero_point;
        if (set % 4 == 2) p.act_max = uniform(p.act_min, 127);
        p.rounding = set % 10 == 9 ? CNNC_ROUND_SINGLE : CNNC_ROUND_DOUBLE;
        memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
        cnnc_s8_add__ref(&p, a, b, y_ref);
        cnnc_s8_add__dsp(&p, a, b, y_dsp);
        ++cases;
        for (i = 0; i < p.size; ++i)
            if (y_ref[i] != y_dsp[i]) {
                printf("set %d (kind %d) a %d b %d: ref %d dsp %d\n", (int)set, (int)kind,
                       a[i], b[i], y_ref[i], y_dsp[i]);
                ++failures;
                break;
            }
        if (y_dsp[p.size] != 0x2a) { printf("set %d wrote past size\n", (int)set); ++failures; }
    }
    printf("%d cases, %d failures\n", (int)cases, (int)failures);
    return failures != 0;
}
"""
)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_add_equals_ref_on_emulated_cortex_m4(tmp_path, opt):
    out = run_driver(tmp_path, f"#define SETS {SETS}\n" + DRIVER, ["s8_add.c", "s8_add_dsp.c"], opt)
    assert f"{SETS} cases, 0 failures" in out, out
