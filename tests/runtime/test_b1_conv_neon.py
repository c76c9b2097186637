"""The NEON binary conv is bit-exact to the __ref kernel: a C driver runs both on the same
random packed data over the grid (channels 1..128, kernel 1/3, stride 1/2, padding on/off)
under qemu for each ARM Linux target and reports any differing word."""

import subprocess

import pytest
from cnnc.host import cross, targets
from cnnc.host.cbuild import runtime_dir
from toolchains import require_target

pytestmark = pytest.mark.arm

DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include "cnnc_b1.h"

static uint32_t state = 2463534242u;
static uint32_t next_word(void) { /* xorshift32 */
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    return state;
}
static void fill(uint32_t *v, int32_t pixels, int32_t channels) {
    const int32_t nw = CNNC_B1_WORDS(channels), tail = channels % 32;
    int32_t i, j;
    for (i = 0; i < pixels; ++i)
        for (j = 0; j < nw; ++j) {
            uint32_t word = next_word();
            if (j == nw - 1 && tail) word &= (1u << tail) - 1u; /* zero tail bits */
            v[i * nw + j] = word;
        }
}

int main(void) {
    static uint32_t x[2 * 7 * 9 * 4], w[65 * 9 * 4], y_ref[2 * 7 * 9 * 3], y_neon[2 * 7 * 9 * 3];
    static int32_t thr[65];
    static const int32_t chans[] = {1, 3, 31, 32, 33, 63, 64, 65, 128};
    int ci, k, s, pad, i, cases = 0, failures = 0;
    for (ci = 0; ci < 9; ++ci)
        for (k = 1; k <= 3; k += 2)
            for (s = 1; s <= 2; ++s)
                for (pad = 0; pad <= 1; ++pad) {
                    cnnc_b1_conv_params p;
                    const int32_t c = chans[ci], pd = pad ? k / 2 : 0;
                    memset(&p, 0, sizeof p);
                    p.n = 2; p.h = 7; p.w = 9; p.c = c; p.out_c = 65;
                    p.kernel_h = k; p.kernel_w = k; p.stride_h = s; p.stride_w = s;
                    p.pad_top = pd; p.pad_left = pd; p.groups = 1;
                    p.out_h = (7 + 2 * pd - k) / s + 1; p.out_w = (9 + 2 * pd - k) / s + 1;
                    fill(x, 2 * 7 * 9, c);
                    fill(w, 65 * k * k, c);
                    for (i = 0; i < 65; ++i) thr[i] = (int32_t)(next_word() % 7u) - 3;
                    memset(y_ref, 0xA5, sizeof y_ref);
                    memset(y_neon, 0x5A, sizeof y_neon);
                    cnnc_b1_conv_bits__ref(&p, x, w, thr, y_ref);
                    cnnc_b1_conv_bits__neon(&p, x, w, thr, y_neon);
                    ++cases;
                    for (i = 0; i < 2 * p.out_h * p.out_w * 3; ++i)
                        if (y_ref[i] != y_neon[i]) {
                            printf("MISMATCH C=%d k=%d s=%d pad=%d word %d: ref %08x neon %08x\n",
                                   (int)c, k, s, pad, i, (unsigned)y_ref[i], (unsigned)y_neon[i]);
                            ++failures;
                            break;
                        }
                }
    printf("%d cases, %d failures\n", cases, failures);
    return failures != 0;
}
"""


@pytest.mark.parametrize("target", ["aarch64", "armv7", "armv7-neon"])
def test_neon_equals_ref_under_qemu(tmp_path, target):
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
    assert "72 cases, 0 failures" in run.stdout
