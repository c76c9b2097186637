"""The Cortex-M DSP kernels' requantisation (s8_dsp.h: the SMMLA single-rounding form, the
QADD + SMMULR double-rounding form, the out-of-line reference form) equals cnnc_requant_s8
byte for byte on an emulated Cortex-M4, over every rounding the int8 kernels take
(single, double, and onnxruntime's float32 multiplier, which takes the reference form) and the
multiplier/shift contract's whole range: real-like multipliers, m = 2^30 with small
accumulators (ties of both roundings), m = 0, m = 2^31 - 1, shifts -31..30, accumulators
at and around the int32 ends and +-2^30 (where the double form saturates 2x), zero points
and clamp bounds across [-128, 127]."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

CASES = 150_000

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "s8_dsp.h"

"""
    + C_RANDOM
    + r"""
static int32_t pick_acc(void) {
    static const int32_t ends[] = {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1,
                                   1 << 30, (1 << 30) - 1, -(1 << 30), -(1 << 30) - 1,
                                   0, 1, -1};
    switch (uniform(0, 4)) {
    case 0: return ends[uniform(0, 10)];
    case 1: return uniform(-4096, 4096);
    case 2: return (int32_t)next_word();
    case 3: return (int32_t)(next_word() >> uniform(0, 31)) * (uniform(0, 1) ? 1 : -1);
    default: return ends[uniform(4, 7)] + uniform(-70000, 70000);
    }
}

int main(void) {
    int32_t i, failures = 0, forms[3] = {0, 0, 0};
    for (i = 0; i < CASES; ++i) {
        const int32_t rounding = uniform(0, 5) == 0 ? CNNC_ROUND_ONNXRUNTIME : uniform(0, 1);
        const int32_t kind = uniform(0, 4);
        int32_t m = (int32_t)((1u << 30) + next_word() % (1u << 30)), s = -uniform(1, 22);
        const int32_t acc = pick_acc(), zp = uniform(-128, 127);
        int32_t lo = uniform(-128, 127), hi = uniform(-128, 127), form;
        dsp_rq q;
        dsp_out o;
        int8_t want, got;
        if (lo > hi) { const int32_t t = lo; lo = hi; hi = t; }
        if (uniform(0, 2) == 0) { lo = -128; hi = 127; }
        if (kind == 1) { m = 1 << 30; s = -uniform(0, 8); }
        if (kind == 2) {
            s = uniform(-31, 30);
            if (uniform(0, 1)) m = (int32_t)(next_word() >> 1);
        }
        if (kind == 3) { m = uniform(0, 1) ? INT32_MAX : 0; s = uniform(-31, 30); }
        if (rounding == CNNC_ROUND_ONNXRUNTIME) { /* m: the bits of a float32 multiplier */
            const float f = (float)uniform(1, 1000000) * 1e-6f;
            memcpy(&m, &f, sizeof m);
            s = 0;
        }
        o = dsp_out_make(rounding, zp, lo, hi);
        form = dsp_rq_make(&q, m, s, &o);
        want = cnnc_requant_s8(acc, m, s, rounding, zp, lo, hi);
        got = dsp_requant(acc, form, &q, &o);
        ++forms[form];
        if (got != want) {
            if (++failures <= 10)
                printf("MISMATCH acc %ld m %ld s %ld rnd %ld zp %ld [%ld, %ld]: ref %d dsp %d\n",
                       (long)acc, (long)m, (long)s, (long)rounding, (long)zp, (long)lo, (long)hi,
                       want, got);
        }
    }
    printf("forms slow %ld single %ld double %ld\n", (long)forms[0], (long)forms[1],
           (long)forms[2]);
    printf("%ld cases, %ld failures\n", (long)CASES, (long)failures);
    return failures != 0;
}
"""
)


def test_dsp_requant_equals_reference_on_emulated_cortex_m4(tmp_path):
    out = run_driver(tmp_path, DRIVER.replace("CASES", str(CASES)), [], timeout=300)
    assert f"{CASES} cases, 0 failures" in out, out
    # each form ran on a good share of the cases (the fast ones are what this pins)
    words = out.split("forms ")[1].split()
    counts = {name: int(words[2 * i + 1]) for i, name in enumerate(("slow", "single", "double"))}
    assert min(counts.values()) > CASES // 10, counts
