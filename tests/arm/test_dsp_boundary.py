"""The Cortex-M variants of the int8 model boundary and the global average pool
(s8_quant_dsp.c, s8_pool_dsp.c) equal their __ref byte for byte on an emulated Cortex-M4,
at the target's flags and at -Os:
- quantize: x / scale at every half step of the int8 grid and around it (the ties that
  round to even), values past the clamp, +-inf, NaN, -0, subnormals, zero points at the
  ends, sizes 1..300 and 2400 minus 0..7 (the 8-element loop's tails); then the same
  with the FPU's rounding mode set to round toward zero, where the variant must notice
  and give __ref's bytes anyway;
- global average pool: 1..600 pixels (the int16 lane sums' run of 256 and past it),
  1..13 channels (the four-channel words and the tail), batch 1 and 2, inputs at the
  range ends, multipliers and shifts inside and outside the fast requantisation forms,
  every rounding, zero points at the ends, clamps; then the global pools' own form with the
  full clamp over 8..32 channels and 1..256 pixels (the eight-channel asm pass)."""

import pytest

from .mcu_run import C_RANDOM, run_driver

pytestmark = pytest.mark.arm

QUANT_SETS = 24
GAP_SETS = 60
GAP_ONCE_SETS = 48

DRIVER = (
    r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_s8.h"

"""
    + C_RANDOM
    + r"""
static int32_t pick_zp(void) {
    static const int32_t ends[] = {-128, 127, 0};
    return uniform(0, 1) ? ends[uniform(0, 2)] : uniform(-128, 127);
}
static float from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

#define N 2400
static float xf[N];
static int8_t x8[N], y_ref[N + 1], y_dsp[N + 1];
static int32_t failures, cases;

static void check(const char *what, int32_t set, int32_t n) {
    int32_t i;
    ++cases;
    for (i = 0; i < n; ++i)
        if (y_ref[i] != y_dsp[i]) {
            printf("%s set %d at %d: ref %d dsp %d\n", what, (int)set, (int)i, y_ref[i], y_dsp[i]);
            ++failures;
            return;
        }
    if (y_dsp[n] != 0x2a) { printf("%s set %d wrote past its end\n", what, (int)set); ++failures; }
}

/* __ref and __dsp of the global pool on x8 (p), compared by check */
static void check_gap(const cnnc_s8_global_avgpool_params *p, const char *what, int32_t set) {
    memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
    cnnc_s8_global_avgpool__ref(p, x8, y_ref);
    cnnc_s8_global_avgpool__dsp(p, x8, y_dsp);
    check(what, set, p->n * p->c);
}

static void quantize_sets(void) {
    static const float scales[] = {0.5f, 0.0375f, 1.0f / 3.0f, 7.25e-3f, 1e-30f, 3e30f};
    int32_t set, i;
    for (set = 0; set < QUANT_SETS; ++set) {
        cnnc_s8_quant_params p;
        p.scale = scales[set % 6];
        p.zero_point = pick_zp();
        p.size = set % 4 == 3 ? 1 + uniform(0, 299) : N - set % 8; /* 8-element loop's tails */
        for (i = 0; i < N; ++i) {
            const int32_t kind = uniform(0, 9);
            /* every half step k / 2 of the grid for k in -1200 .. 1199, in order */
            xf[i] = (float)(i - N / 2) * 0.5f * p.scale;
            if (kind == 1) xf[i] = from_bits(next_word()); /* any float: NaNs, infs, huge */
            if (kind == 2) xf[i] = xf[i] * (1.0f + (float)uniform(-3, 3) * 1.2e-7f); /* near ties */
            if (kind == 3) xf[i] = uniform(0, 1) ? 1.0f / 0.0f : -1.0f / 0.0f;
            if (kind == 4) xf[i] = 0.0f / 0.0f;
            if (kind == 5) xf[i] = uniform(0, 1) ? -0.0f : from_bits(next_word() & 0x807fffffu);
        }
        memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
        cnnc_s8_quantize__ref(&p, xf, y_ref);
        cnnc_s8_quantize__dsp(&p, xf, y_dsp);
        check("quantize", set, p.size);
        if (set % 3 == 0) { /* FPSCR.RMode = round toward zero, then back to nearest */
            uint32_t fpscr;
            __asm__ __volatile__("vmrs %0, fpscr" : "=r"(fpscr));
            __asm__ __volatile__("vmsr fpscr, %0" : : "r"(fpscr | (3u << 22)));
            memset(y_ref, 0x55, sizeof y_ref); memset(y_dsp, 0x2a, sizeof y_dsp);
            cnnc_s8_quantize__ref(&p, xf, y_ref);
            cnnc_s8_quantize__dsp(&p, xf, y_dsp);
            __asm__ __volatile__("vmsr fpscr, %0" : : "r"(fpscr));
            check("quantize (round toward zero)", set, p.size);
        }
    }
}

static void gap_sets(void) {
    static const int32_t hws[] = {1, 4, 9, 255, 256, 257, 600};
    int32_t set, i;
    for (set = 0; set < GAP_SETS; ++set) {
        cnnc_s8_global_avgpool_params p;
        const int32_t kind = set % 5;
        p.n = 1 + set % 2;
        p.hw = hws[set % 7];
        p.c = 1 + uniform(0, 12);
        if (p.n * p.hw * p.c > N) p.c = N / (p.n * p.hw);
        p.x_zero_point = pick_zp();
        p.y_zero_point = pick_zp();
        p.mult = (int32_t)((1u << 30) + next_word() % (1u << 30));
        /* M about 2^u / hw, u in -2..1: the output moves with every step of the mean */
        for (i = 0; (1 << i) < p.hw; ++i) continue;
        p.shift = -i - uniform(-1, 2);
        if (p.shift > 0) p.shift = 0;
        if (kind == 1) p.shift = -uniform(0, 31);              /* outside the fast forms too */
        if (kind == 2) p.mult = (int32_t)(next_word() >> 2); /* below 2^30 */
        if (set % 6 == 4) { /* once rounded: double, shift 0, M = m 2^-31 (global pools) */
            p.mult = (int32_t)(next_word() >> (1 + i + uniform(-1, 2) + (i > 0 ? 0 : 1)));
            p.shift = 0;
        }
        p.rounding = set % 3 == 0 ? CNNC_ROUND_SINGLE
                                  : (set % 3 == 1 ? CNNC_ROUND_DOUBLE : CNNC_ROUND_ONNXRUNTIME);
        if (set % 6 == 4) p.rounding = CNNC_ROUND_DOUBLE;
        p.act_min = set % 4 == 1 ? p.y_zero_point : -128;
        p.act_max = set % 4 == 2 ? uniform(p.act_min, 127) : 127;
        if (kind >= 3) { /* all -128 or all 127: sums at the int16 lanes' ends, seen whole */
            p.x_zero_point = p.y_zero_point = 0;
            p.act_min = -128, p.act_max = 127;
        }
        for (i = 0; i < p.n * p.hw * p.c; ++i)
            x8[i] = (int8_t)(kind == 3 ? -128 : (kind == 4 ? 127 : uniform(-128, 127)));
        check_gap(&p, "global avgpool", set);
    }
}

/* The global pools' form (double rounding, shift 0) with the full clamp and channels a
 * multiple of 8 (dsp_gap_once_full): 1..256 pixels (the lanes holding the sums minus the
 * zero point's up to 128, SMLAWB), 8..32 channels, batch 1 and 2, zero points at the ends,
 * inputs all -128 or all 127 (the lanes' sums at their int16 ends). */
static void gap_once_sets(void) {
    static const int32_t hws[] = {1, 2, 4, 9, 128, 129, 255, 256};
    int32_t set, i;
    for (set = 0; set < GAP_ONCE_SETS; ++set) {
        cnnc_s8_global_avgpool_params p;
        const int32_t kind = (set + set / 8) % 4; /* each hw at every kind */
        p.n = 1 + set % 2;
        p.hw = hws[set % 8];
        p.c = 8 * (1 + uniform(0, 3));
        while (p.c > 8 && p.n * p.hw * p.c > N) p.c -= 8;
        if (p.n * p.hw * p.c > N) p.n = 1;
        p.x_zero_point = pick_zp();
        if (kind >= 2 && uniform(0, 1)) /* |sum - hw zp| = 255 hw, past int16 at hw 129 */
            p.x_zero_point = kind == 2 ? 127 : -128;
        p.y_zero_point = pick_zp();
        for (i = 0; (1 << i) < p.hw; ++i) continue;
        p.mult = (int32_t)(next_word() >> (1 + i + uniform(-1, 2) + (i > 0 ? 0 : 1)));
        p.shift = 0;
        p.rounding = CNNC_ROUND_DOUBLE;
        p.act_min = -128, p.act_max = 127;
        for (i = 0; i < p.n * p.hw * p.c; ++i)
            x8[i] = (int8_t)(kind == 2 ? -128 : (kind == 3 ? 127 : uniform(-128, 127)));
        check_gap(&p, "global avgpool (once, full clamp)", set);
    }
}

int main(void) {
    quantize_sets();
    gap_sets();
    gap_once_sets();
    printf("%d cases, %d failures\n", (int)cases, (int)failures);
    return failures != 0;
}
"""
)


@pytest.mark.parametrize("opt", [(), ("-Os",)], ids=["target-flags", "Os"])
def test_dsp_boundary_and_global_avgpool_equal_ref_on_emulated_cortex_m4(tmp_path, opt):
    driver = f"#define QUANT_SETS {QUANT_SETS}\n#define GAP_SETS {GAP_SETS}\n" + DRIVER
    driver = f"#define GAP_ONCE_SETS {GAP_ONCE_SETS}\n" + driver
    kernels = ["s8_quant.c", "s8_quant_dsp.c", "s8_pool.c", "s8_pool_dsp.c"]
    out = run_driver(tmp_path, driver, kernels, opt)
    want = QUANT_SETS + (QUANT_SETS + 2) // 3 + GAP_SETS + GAP_ONCE_SETS
    assert f"{want} cases, 0 failures" in out, out
