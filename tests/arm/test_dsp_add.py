"""The Cortex-M DSP elementwise add (s8_add_dsp.c) equals cnnc_s8_add__ref byte for byte on an
emulated Cortex-M4: every input byte against every other (a 256 x 256 sweep per parameter
set, sizes 65536 and up to 3 less: the 8- and 4-element loops' tails), short runs of random
bytes (sizes 1..601; 4..127 at output shifts 18..20, each side of the 8- and 4-element
steps), input shifts 0..-30 (0 is the larger input's M = 1/2, on a, on b or on neither) and
past the fast form's range, left shifts 0, 1, 21, 22, 1..4 (where the inputs' own roundings
reach y, whose scale follows the left shift) and 20, output multipliers and shifts inside and
outside the fast form (DSP_RQ_DOUBLE), zero points at the range ends, clamps, both roundings
(single runs __ref inside), at the target's flags and at -Os."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

SETS = 80

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
static int8_t a[N], b[N], ra[N], rb[N], y_ref[N + 1], y_dsp[N + 1];
static int32_t failures, cases;

static void check(int32_t set, int32_t kind, const cnnc_s8_add_params *p, const int8_t *x,
                  const int8_t *z) {
    int32_t i;
    memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
    cnnc_s8_add__ref(p, x, z, y_ref);
    cnnc_s8_add__dsp(p, x, z, y_dsp);
    ++cases;
    for (i = 0; i < p->size; ++i)
        if (y_ref[i] != y_dsp[i]) {
            printf("set %d (kind %d, size %d) a %d b %d: ref %d dsp %d\n", (int)set, (int)kind,
                   (int)p->size, x[i], z[i], y_ref[i], y_dsp[i]);
            ++failures;
            return;
        }
    if (y_dsp[p->size] != 0x2a) { printf("set %d wrote past size\n", (int)set); ++failures; }
}

int main(void) {
    int32_t set, i, run;
    for (i = 0; i < N; ++i) {
        a[i] = (int8_t)(i & 255); b[i] = (int8_t)(i >> 8);
        ra[i] = (int8_t)next_word(); rb[i] = (int8_t)next_word();
    }
    for (set = 0; set < SETS; ++set) {
        static const int32_t ls_ends[] = {0, 1, 21, 22};
        cnnc_s8_add_params p;
        const int32_t kind = set % 8;
        /* M = 1/2 on a (0), on b (1), on neither (2) */
        const int32_t half = kind == 5 ? (set >> 5) & 1 : uniform(0, 2);
        int32_t other_shift, ys;
        p.size = N - uniform(0, 3) * (set & 1); /* the 4-element loops' tails */
        p.a_zero_point = pick_zp(); p.b_zero_point = pick_zp(); p.y_zero_point = pick_zp();
        p.left_shift = kind == 5 ? ls_ends[(set >> 3) & 3] : 20;
        if (kind >= 6) p.left_shift = uniform(1, kind == 6 ? 3 : 4); /* their roundings reach y */
        p.a_mult = real_mult(); p.b_mult = real_mult(); p.y_mult = real_mult();
        /* the larger input: M = 1/2 (2^30, shift 0); the other anywhere below */
        other_shift = kind == 1 ? -uniform(0, 31) : -uniform(0, kind == 6 ? 3 : 8);
        p.a_shift = -uniform(0, 3);
        p.b_shift = other_shift;
        if (half == 0) { p.a_mult = 1 << 30; p.a_shift = 0; }
        if (half == 1) { p.b_mult = 1 << 30; p.b_shift = 0; p.a_shift = other_shift; }
        /* y's scale follows the left shift (M_y ~ 2^(1 - ls)): its steps of one are a's */
        ys = p.left_shift > 1 ? p.left_shift - 1 : 1;
        p.y_shift = -uniform(ys > 1 ? ys - 1 : 1, ys + 1); /* 18..20 at ls 20 */
        if (kind == 2) p.y_shift = -uniform(0, 24);
        if (kind == 3) p.y_mult = (int32_t)(next_word() >> 1);    /* below 2^30 too */
        if (kind == 4) { p.a_mult = 0; p.b_shift = uniform(0, 2); } /* m = 0, left shifts */
        p.act_min = -128; p.act_max = 127;
        if (set % 3 == 1) p.act_min = p.y_zero_point;
        if (set % 4 == 2) p.act_max = uniform(p.act_min, 127);
        p.rounding = set % 10 == 9 ? CNNC_ROUND_SINGLE : CNNC_ROUND_DOUBLE;
        if (kind == 5 || kind == 6) { /* the M = 1/2 paths: left shifts 0, 1, 21, 22; 1..3 */
            p.act_min = -128; p.act_max = 127; p.rounding = CNNC_ROUND_DOUBLE;
            if (half == 2) { p.a_mult = 1 << 30; p.a_shift = 0; }
        }
        if (set % 7 == 3) { /* short runs of random bytes (the small-size paths) */
            for (run = 0; run < 48; ++run) {
                const int32_t size = 1 + uniform(0, run < 16 ? 8 : 600);
                const int32_t off = uniform(0, N - size);
                p.size = size;
                if (run == 24) { /* the other input's shift 0 too (a table below any size) */
                    if (half == 0) p.b_shift = 0;
                    if (half == 1) p.a_shift = 0;
                }
                check(set, kind, &p, ra + off, rb + off);
            }
        } else {
            check(set, kind, &p, a, b); /* every byte pair */
        }
    }
    for (run = 0; run < 24; ++run) { /* the scaled buffer (below 132 elements) at output
                                        shifts 18..20, M = 1/2 on a and on b; sizes below,
                                        at and past the 8-element loop's */
        static const int32_t sizes[] = {4, 7, 61, 127, 8, 12, 15, 64};
        cnnc_s8_add_params p;
        const int32_t size = sizes[run & 7], off = uniform(0, N - size);
        p.size = size;
        p.a_zero_point = pick_zp(); p.b_zero_point = pick_zp(); p.y_zero_point = pick_zp();
        p.left_shift = 20;
        p.a_mult = real_mult(); p.b_mult = real_mult(); p.y_mult = real_mult();
        p.a_shift = -uniform(1, 8); p.b_shift = -uniform(1, 8);
        if ((run ^ (run >> 3)) & 1) { p.a_mult = 1 << 30; p.a_shift = 0; }
        else { p.b_mult = 1 << 30; p.b_shift = 0; }
        p.y_shift = -(18 + run / 8);
        p.act_min = -128; p.act_max = 127; p.rounding = CNNC_ROUND_DOUBLE;
        check(SETS + run, 8, &p, ra + off, rb + off);
    }
    printf("%d sets, %d cases, %d failures\n", (int)SETS, (int)cases, (int)failures);
    return failures != 0;
}
"""
)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_add_equals_ref_on_emulated_cortex_m4(tmp_path, opt):
    out = run_driver(tmp_path, f"#define SETS {SETS}\n" + DRIVER, ["s8_add.c", "s8_add_dsp.c"], opt)
    assert f"{SETS} sets, " in out and ", 0 failures" in out, out
