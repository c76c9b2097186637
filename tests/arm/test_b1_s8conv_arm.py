"""The ARM variants of the int8 conv with sign-bit outputs are bit-exact to
cnnc_b1_s8conv_bits__ref: NEON (b1_s8conv_neon.c) under qemu-user on aarch64 and armv7, the
Cortex-M DSP one (b1_s8conv_dsp.c) on an emulated Cortex-M4. A C driver runs both on
the same random data over input channels 1-4, output channels 1/16/17/32/40/64/65/100/130
(below, at and past the 16-channel blocks, a word's high half alone, the 64-channel groups),
kernels 1/3/5/7 and 3x5 with strides, padding (one-sided too) and zero points -128..127, the
3x3 constant-length paths (one and three input channels), inputs and weights at their extremes
(the largest dots), and rows too wide for NEON's stack copy (its fallback); 7x7 kernels on
2-4 channels and 5x5 on 3-4 (more than 32 tap pairs) take the DSP variant's fallback, 3x3 on
4 channels past 32 output channels its chunks of 32 (whole words). Each channel's
threshold is one of its real dots plus -1, 0 or 1 (an off-by-one shows); channels past out_c
carry nonzero weights and INT32_MIN thresholds (their bits must stay 0), and the words past the
output must stay untouched."""

import subprocess

import pytest
from cnnc.host import cross, targets
from cnnc.host.cbuild import runtime_dir

from .conftest import require_target
from .mcu_run import run_driver

pytestmark = pytest.mark.arm

DRIVER = r"""
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "cnnc_b1.h"
#define VARIANT(name) name##__neon

static uint32_t state = 2463534242u;
static uint32_t next_word(void) { /* xorshift32 */
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    return state;
}
static int8_t rnd8(void) { return (int8_t)(next_word() >> 24); }

#define MAXX 8192
#define MAXW 32768
#define MAXY 4096
static int8_t x[MAXX], wl[MAXW], wp[MAXW];
static int32_t thr[256];
static uint32_t y_ref[MAXY + 4], y_neon[MAXY + 4];
static int cases = 0, failures = 0, extreme = 0;

/* the dot of channel o at output pixel (n, oy, ox), wl: [out_c, kh, kw, c] */
static int32_t dot(const cnnc_b1_s8conv_params *p, int32_t n, int32_t oy, int32_t ox, int32_t o) {
    int32_t ky, kx, ch, s = 0;
    for (ky = 0; ky < p->kernel_h; ++ky) for (kx = 0; kx < p->kernel_w; ++kx) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
        const int32_t ix = ox * p->stride_w - p->pad_left + kx;
        if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
        for (ch = 0; ch < p->c; ++ch)
            s += (x[((n * p->h + iy) * p->w + ix) * p->c + ch] - p->x_zero_point) *
                 wl[((o * p->kernel_h + ky) * p->kernel_w + kx) * p->c + ch];
    }
    return s;
}

/* g: kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right */
static void run(int32_t n, int32_t h, int32_t wd, int32_t c, int32_t oc, const int32_t *g,
                int32_t zp) {
    cnnc_b1_s8conv_params p;
    int32_t i, words, oc16, pairs, run_, ky, q, o;
    memset(&p, 0, sizeof p);
    p.n = n; p.h = h; p.w = wd; p.c = c; p.out_c = oc;
    p.kernel_h = g[0]; p.kernel_w = g[1]; p.stride_h = g[2]; p.stride_w = g[3];
    p.pad_top = g[4]; p.pad_left = g[5]; p.dilation_h = p.dilation_w = 1; p.groups = 1;
    p.x_zero_point = zp;
    p.out_h = (h + g[4] + g[6] - g[0]) / g[2] + 1;
    p.out_w = (wd + g[5] + g[7] - g[1]) / g[3] + 1;
    oc16 = CNNC_B1_S8CONV_OC16(oc); pairs = CNNC_B1_S8CONV_PAIRS(&p); run_ = g[1] * c;
    for (i = 0; i < n * h * wd * c; ++i) {
        x[i] = rnd8();
        if (extreme) x[i] = x[i] < 0 ? -128 : 127;
    }
    for (i = 0; i < oc * g[0] * run_; ++i) {
        wl[i] = rnd8();
        if (extreme) wl[i] = wl[i] < 0 ? -128 : 127;
    }
    /* [kh, pairs, oc16, 2]; the channels past out_c and the odd run's pad weight random */
    for (ky = 0; ky < g[0]; ++ky) for (q = 0; q < 2 * pairs; ++q) for (o = 0; o < oc16; ++o)
        wp[((ky * pairs + q / 2) * oc16 + o) * 2 + q % 2] =
            o < oc && q < run_ ? wl[(o * g[0] + ky) * run_ + q] : (int8_t)(rnd8() | 1);
    for (o = 0; o < oc16; ++o) { /* a real dot of the channel, + -1 / 0 / 1 */
        const int32_t pn = (int32_t)(next_word() % (uint32_t)n);
        const int32_t py = (int32_t)(next_word() % (uint32_t)p.out_h);
        const int32_t px = (int32_t)(next_word() % (uint32_t)p.out_w);
        thr[o] = o < oc ? dot(&p, pn, py, px, o) + (int32_t)(next_word() % 3u) - 1 : INT32_MIN;
    }
    words = n * p.out_h * p.out_w * CNNC_B1_WORDS(oc);
    if (words > MAXY) { printf("TOO BIG\n"); ++failures; return; }
    memset(y_ref, 0xA5, sizeof y_ref);
    memset(y_neon, 0x5A, sizeof y_neon);
    cnnc_b1_s8conv_bits__ref(&p, x, wp, thr, y_ref);
    VARIANT(cnnc_b1_s8conv_bits)(&p, x, wp, thr, y_neon);
    ++cases;
    for (i = 0; i < words + 4; ++i)
        if (i < words ? y_ref[i] != y_neon[i] : y_neon[i] != 0x5A5A5A5Au) {
            printf("MISMATCH c=%d oc=%d k=%dx%d s=%dx%d pad=%d,%d zp=%d word %d: %08x %08x\n",
                   (int)c, (int)oc, (int)g[0], (int)g[1], (int)g[2], (int)g[3], (int)g[4],
                   (int)g[5], (int)zp, (int)i, (unsigned)y_ref[i], (unsigned)y_neon[i]);
            ++failures;
            return;
        }
}

int main(void) {
    static const int32_t geos[7][8] = {
        {3, 3, 1, 1, 1, 1, 1, 1}, {3, 3, 2, 2, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0, 0},
        {5, 5, 2, 2, 2, 2, 2, 2}, {7, 7, 2, 2, 3, 3, 3, 3}, {3, 3, 1, 1, 0, 0, 0, 0},
        {3, 5, 2, 1, 0, 2, 1, 1}};
    static const int32_t zps[7] = {1, -128, 127, 0, -5, 37, -1};
    static const int32_t ocs[] = {1, 16, 17, 32, 40, 64, 65, 100, 130};
    static const int32_t s3[8] = {3, 3, 1, 1, 1, 1, 1, 1}, s7[8] = {7, 7, 1, 1, 3, 3, 3, 3};
    static const int32_t asym[8] = {3, 3, 2, 1, 1, 0, 0, 2};
    int gi, oi, c;
    for (c = 1; c <= 4; ++c) for (oi = 0; oi < 9; ++oi) for (gi = 0; gi < 7; ++gi)
        run(2, 9, 11, c, ocs[oi], geos[gi], zps[gi]);
    /* XNOR-Net's first layer shape, and one-sided padding on the 3x3 paths */
    run(1, 32, 32, 1, 32, s3, -128);
    for (c = 1; c <= 3; c += 2) run(1, 7, 10, c, 48, asym, 3);
    extreme = 1; /* products of 255 * 128, the largest dots */
    run(1, 6, 6, 4, 32, s7, -128);
    run(1, 6, 6, 4, 32, s7, 127);
    run(1, 5, 9, 1, 32, s3, 127);
    extreme = 0;
    run(1, 3, 700, 3, 20, s3, -1); /* 3 * 702 + 2 values: past the row copy, the fallback */
    run(1, 3, 680, 3, 20, s3, -1); /* 3 * 682 + 2 = 2048: just inside */
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""
CASES = 4 * 9 * 7 + 1 + 2 + 3 + 2


@pytest.mark.parametrize("target", ["aarch64", "armv7"])
def test_b1_s8conv_neon_equals_ref(tmp_path, target):
    t = require_target(target)
    kernels = runtime_dir() / "kernels"
    driver = tmp_path / "driver.c"
    driver.write_text(DRIVER)
    exe = tmp_path / "driver"
    sources = [kernels / "b1_s8conv.c", kernels / "b1_s8conv_neon.c", driver]
    includes = [f"-I{runtime_dir() / 'include'}", f"-I{kernels}"]
    cmd = [targets.target_cc(t), *cross.build_flags(t), *includes, *map(str, sources), "-o",
           str(exe)]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([t.qemu, "-L", t.sysroot, str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{CASES} cases, 0 failures" in run.stdout, run.stdout


def test_b1_s8conv_dsp_equals_ref_on_emulated_cortex_m4(tmp_path):
    driver = DRIVER.replace("name##__neon", "name##__dsp")
    out = run_driver(tmp_path, driver, ["b1_s8conv.c", "b1_s8conv_dsp.c"])
    assert f"{CASES} cases, 0 failures" in out, out
