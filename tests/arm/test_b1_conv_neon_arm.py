"""The NEON binary conv's window path (b1_conv_neon.c: the window gathered once per pixel,
4 filters per pass, masked border windows, the K % 4 tail words) and its fallbacks are
bit-exact to cnnc_b1_conv_bits__ref under qemu, past tests/runtime/test_b1_conv_neon.py's
grid: output channels 1..33 (below, at and past the 4-filter blocks), filter lengths whose
word count leaves each tail 0..3 (32, 33, 96, 300 channels), the constant-length copies
of 3x3 windows (32, 64, 96, 128, 256 channels), kernels 1x1, 3x3, 5x5 and 3x5
with asymmetric padding and strides, groups 2 and one padding (the shared loops), AArch64's
short-window path for 3x3 at <= 64 channels (out_c past its 128-filter chunk, one-sided
padding, thresholds past the ends of the dot's range), and windows just inside and just
past the 2048-word stack buffer. The int8 and float outputs (cnnc_b1_conv_s8/_f32__neon:
the same popcounts, the transform 4 or 8 at a time on AArch64 and its scalar rest) are
compared byte for byte on 5 and 33 output channels of the first grid and on every case
after it (both clamps and the int8 saturation are hit)."""

import subprocess

import pytest
from cnnc.host import cross, targets
from cnnc.host.cbuild import runtime_dir

from .conftest import require_target

pytestmark = pytest.mark.arm

DRIVER = r"""
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "cnnc_b1.h"

static uint32_t state = 2463534242u;
static uint32_t next_word(void) { /* xorshift32 */
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    return state;
}
/* packed pixels of `channels` channels, the last word's tail bits zero */
static void fill(uint32_t *v, int32_t pixels, int32_t channels) {
    const int32_t nw = CNNC_B1_WORDS(channels), tail = channels % 32;
    int32_t i, j;
    for (i = 0; i < pixels; ++i)
        for (j = 0; j < nw; ++j) {
            uint32_t word = next_word();
            if (j == nw - 1 && tail) word &= (1u << tail) - 1u;
            v[i * nw + j] = word;
        }
}

static uint32_t x[4096], w[16384], y_ref[2 * 9 * 11 * 2 + 4], y_neon[2 * 9 * 11 * 2 + 4];
static int32_t thr[256];
static float mul[256], bias[256], yf_ref[8192], yf_neon[8192];
static int8_t ys_ref[8192], ys_neon[8192];
static int cases = 0, failures = 0, thr_extreme = 0, outs = 0, out_cases = 0;

/* geometry g: kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right */
static void run(int32_t n, int32_t h, int32_t wd, int32_t c, int32_t oc, const int32_t *g,
                int32_t groups, int32_t pad_one) {
    cnnc_b1_conv_params p;
    int32_t i, words;
    memset(&p, 0, sizeof p);
    p.n = n; p.h = h; p.w = wd; p.c = c; p.out_c = oc;
    p.kernel_h = g[0]; p.kernel_w = g[1]; p.stride_h = g[2]; p.stride_w = g[3];
    p.pad_top = g[4]; p.pad_left = g[5]; p.dilation_h = p.dilation_w = 1;
    p.groups = groups; p.pad_one = pad_one;
    p.out_h = (h + g[4] + g[6] - g[0]) / g[2] + 1;
    p.out_w = (wd + g[5] + g[7] - g[1]) / g[3] + 1;
    fill(x, n * h * wd, c);
    fill(w, oc * g[0] * g[1], c / groups);
    for (i = 0; i < oc; ++i) thr[i] = (int32_t)(next_word() % 17u) - 8; /* dots spread ~0 */
    if (thr_extreme) { /* past both ends of the dot's range [-K, K], and around them */
        const int32_t kb = g[0] * g[1] * c;
        for (i = 0; i < oc; ++i)
            thr[i] = i % 6 == 0 ? INT32_MIN : i % 6 == 1 ? INT32_MAX
                   : (int32_t)(next_word() % (uint32_t)(4 * kb + 5)) - 2 * kb - 2;
    }
    words = n * p.out_h * p.out_w * CNNC_B1_WORDS(oc);
    memset(y_ref, 0xA5, sizeof y_ref);
    memset(y_neon, 0x5A, sizeof y_neon);
    cnnc_b1_conv_bits__ref(&p, x, w, thr, y_ref);
    cnnc_b1_conv_bits__neon(&p, x, w, thr, y_neon);
    ++cases;
    if (outs) { /* the float and int8 outputs (cnnc_b1_conv_f32/_s8), byte for byte */
        const int32_t m = n * p.out_h * p.out_w * oc;
        for (i = 0; i < oc; ++i) {
            mul[i] = (float)((int32_t)(next_word() % 2001u) - 1000) / 997.0f;
            bias[i] = (float)((int32_t)(next_word() % 2001u) - 1000) / 89.0f;
        }
        p.act_min = -3.5f; p.act_max = 7.25f; p.out_scale = 0.043f; p.out_zero_point = -5;
        memset(yf_ref, 0xA5, sizeof yf_ref); memset(yf_neon, 0x5A, sizeof yf_neon);
        memset(ys_ref, 0xA5, sizeof ys_ref); memset(ys_neon, 0x5A, sizeof ys_neon);
        cnnc_b1_conv_f32__ref(&p, x, w, mul, bias, yf_ref);
        cnnc_b1_conv_f32__neon(&p, x, w, mul, bias, yf_neon);
        cnnc_b1_conv_s8__ref(&p, x, w, mul, bias, ys_ref);
        cnnc_b1_conv_s8__neon(&p, x, w, mul, bias, ys_neon);
        ++out_cases;
        if (memcmp(yf_ref, yf_neon, (size_t)m * 4) || memcmp(ys_ref, ys_neon, (size_t)m) ||
            ((unsigned char *)yf_neon)[m * 4] != 0x5A || (unsigned char)ys_neon[m] != 0x5A) {
            printf("MISMATCH f32/s8 c=%d oc=%d k=%dx%d s=%d groups=%d pad_one=%d\n", (int)c,
                   (int)oc, (int)g[0], (int)g[1], (int)g[2], (int)groups, (int)pad_one);
            ++failures;
            return;
        }
    }
    for (i = 0; i < words + 4; ++i)
        if (i < words ? y_ref[i] != y_neon[i] : y_neon[i] != 0x5A5A5A5Au) {
            printf("MISMATCH c=%d oc=%d k=%dx%d s=%d groups=%d pad_one=%d word %d: %08x %08x\n",
                   (int)c, (int)oc, (int)g[0], (int)g[1], (int)g[2], (int)groups, (int)pad_one,
                   (int)i, (unsigned)y_ref[i], (unsigned)y_neon[i]);
            ++failures;
            return;
        }
}

int main(void) {
    static const int32_t geos[6][8] = {
        {3, 3, 1, 1, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0, 0},
        {5, 5, 1, 1, 2, 2, 2, 2}, {3, 5, 2, 1, 0, 2, 1, 1}, {3, 3, 1, 1, 0, 0, 0, 0}};
    static const int32_t ocs[] = {1, 3, 4, 5, 8, 33}, cs[] = {32, 33, 96, 300};
    static const int32_t big[8] = {3, 3, 1, 1, 1, 1, 1, 1}, wide[2] = {128, 256};
    static const int32_t asym[8] = {3, 3, 1, 1, 0, 1, 1, 0}, s2[8] = {3, 3, 2, 2, 1, 0, 0, 1};
    int gi, oi, ci, groups, pad_one;
    for (gi = 0; gi < 6; ++gi) for (oi = 0; oi < 6; ++oi) for (ci = 0; ci < 4; ++ci) {
        outs = ocs[oi] == 5 || ocs[oi] == 33; /* f32/s8 too: 4-filter blocks and a tail */
        run(2, 9, 11, cs[ci], ocs[oi], geos[gi], 1, 0);
    }
    outs = 1; /* and for every case below */
    for (groups = 1; groups <= 2; ++groups) for (pad_one = 0; pad_one <= 1; ++pad_one)
    for (gi = 0; gi < 6; ++gi) for (ci = 0; ci < 3; ++ci)
        run(1, 7, 5, cs[ci] * groups, 6 * groups, geos[gi], groups, pad_one);
    /* 3x3 at 128 and 256 channels: the window path's constant filter lengths 36, 72 */
    for (gi = 0; gi < 6; gi += 5) for (ci = 0; ci < 2; ++ci)
        run(1, 6, 7, wide[ci], 37, geos[gi], 1, 0);
    /* AArch64's 3x3 windows of 9 or 18 words (b1x_conv): 64 and 48 channels, out_c past
     * one 128-filter chunk and not a multiple of 8, one-sided padding, stride 2, and
     * thresholds at and past the ends of the dot's range (the int16 clamps) */
    run(1, 7, 7, 64, 136, big, 1, 0);
    run(1, 7, 6, 48, 130, asym, 1, 0);
    run(2, 8, 7, 20, 35, s2, 1, 0);
    thr_extreme = 1;
    for (ci = 0; ci < 3; ++ci) run(1, 5, 4, ci == 0 ? 32 : ci == 1 ? 64 : 128, 41, big, 1, 0);
    run(1, 6, 5, 64, 36, s2, 1, 0);
    thr_extreme = 0;
    run(1, 2, 2, 7200, 5, big, 1, 0); /* 9 * 225 = 2025 words: the window path */
    run(1, 2, 2, 7300, 5, big, 1, 0); /* 9 * 229 = 2061 words: past the buffer */
    printf("%d cases, %d with f32/s8 outputs, %d failures\n", cases, out_cases, failures);
    return failures != 0;
}
"""
CASES = 6 * 6 * 4 + 2 * 2 * 6 * 3 + 2 * 2 + 3 + 4 + 2
OUT_CASES = 6 * 2 * 4 + 2 * 2 * 6 * 3 + 2 * 2 + 3 + 4 + 2


# aarch64 only (the time budget): tests/runtime/test_b1_conv_neon.py runs the same code
# paths on armv7 and armv7-neon over its smaller grid.
@pytest.mark.parametrize("target", ["aarch64"])
def test_b1_conv_neon_window_path_equals_ref(tmp_path, target):
    t = require_target(target)
    kernels = runtime_dir() / "kernels"
    driver = tmp_path / "driver.c"
    driver.write_text(DRIVER)
    exe = tmp_path / "driver"
    sources = [kernels / "b1_conv.c", kernels / "b1_conv_neon.c", kernels / "s8_quant.c", driver]
    includes = [f"-I{runtime_dir() / 'include'}", f"-I{kernels}"]
    cmd = [targets.target_cc(t), *cross.build_flags(t), *includes, *map(str, sources), "-o",
           str(exe), "-lm"]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([t.qemu, "-L", t.sysroot, str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{CASES} cases, {OUT_CASES} with f32/s8 outputs, 0 failures" in run.stdout, run.stdout
