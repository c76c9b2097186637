"""Instructions per MAC of the int8 NEON kernels against their __ref, counted exactly under
qemu-user (cnnc.host.icount) for aarch64 and armv7: one C driver per target runs a kernel on a
MobileNetV2-like layer once, and the count of a run without the call is subtracted (start-up,
data fill). On aarch64 the ARMv8.2 dot-product variants (__neondot) too, under `-cpu max`.
Not a timing: instruction counts are exact and the same on every run.

    .venv/bin/python bench/bench_neon_kernels.py [--targets aarch64 armv7] [--kernels pw dw1 ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from cnnc.host import cross, icount, targets
from cnnc.host.cbuild import runtime_dir

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cnnc_s8.h"
#if defined(__aarch64__) /* GCC builds the dot-product variants for any aarch64 target */
#define DOT(k) cnnc_s8_##k##__neondot
#else
#define DOT(k) cnnc_s8_##k##__neon
#endif
static int8_t x[24 * 24 * 96], w[1280 * 100], y[24 * 24 * 96];
static int32_t bias[1280], mult[1280], shift[1280];
int main(int argc, char **argv) {
    const char *k = argv[1];
    const int reps = atoi(argv[2]), neon = atoi(argv[3]);
    cnnc_s8_conv_params p;
    cnnc_s8_dense_params d;
    long macs = 0;
    int i;
    (void)argc;
    memset(&p, 0, sizeof p);
    for (i = 0; i < (int)sizeof x; ++i) x[i] = (int8_t)(i * 7);
    for (i = 0; i < (int)sizeof w; ++i) w[i] = (int8_t)((i * 13) % 255 - 127);
    for (i = 0; i < 1280; ++i) { bias[i] = i; mult[i] = 1 << 30; shift[i] = -8; }
    p.n = 1; p.x_zero_point = -3; p.y_zero_point = 2; p.act_min = -128; p.act_max = 127;
    p.groups = 1; p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = 1;
    p.dilation_h = p.dilation_w = 1; /* 0 sent every NEON conv to its dilated loops */
    if (!strcmp(k, "pw")) { p.h = p.w = p.out_h = p.out_w = 12; p.c = 48; p.out_c = 96; }
    else if (!strcmp(k, "pw_k96")) { p.h = p.w = p.out_h = p.out_w = 12; p.c = 96; p.out_c = 24; }
    else if (!strcmp(k, "stem3x3s2")) { p.h = p.w = 24; p.out_h = p.out_w = 12;
        p.c = 3; p.out_c = 16; p.kernel_h = p.kernel_w = 3; p.stride_h = p.stride_w = 2;
        p.pad_top = p.pad_left = 1; }
    else if (!strcmp(k, "conv3x3")) { p.h = p.w = p.out_h = p.out_w = 8; p.c = 32; p.out_c = 32;
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1; }
    else if (!strcmp(k, "conv3x3_28")) { p.h = p.w = p.out_h = p.out_w = 28; p.c = 32;
        p.out_c = 32; p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1; }
    else if (!strcmp(k, "dw3x3s1")) { p.h = p.w = p.out_h = p.out_w = 12;
        p.c = p.out_c = p.groups = 96; p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1; }
    else if (!strcmp(k, "dw3x3s2")) { p.h = p.w = 24; p.out_h = p.out_w = 12;
        p.c = p.out_c = p.groups = 96; p.kernel_h = p.kernel_w = 3; p.stride_h = p.stride_w = 2;
        p.pad_top = p.pad_left = 1; }
    else if (!strcmp(k, "dense")) { d.n = 1; d.k = 1280; d.m = 100; d.x_zero_point = -3;
        d.y_zero_point = 0; d.act_min = -128; d.act_max = 127; d.rounding = 0; }
    else return 2;
    macs = !strcmp(k, "dense") ? (long)d.k * d.m
         : (long)p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w * (p.c / p.groups);
    for (i = 0; i < reps; ++i) {
        if (!strcmp(k, "dense"))
            (neon == 2 ? DOT(dense) : neon ? cnnc_s8_dense__neon : cnnc_s8_dense__ref)(
                &d, x, w, bias, mult, shift, y);
        else if (k[0] == 'p')
            (neon == 2 ? DOT(pwconv) : neon ? cnnc_s8_pwconv__neon : cnnc_s8_pwconv__ref)(
                &p, x, w, bias, mult, shift, y);
        else if (k[0] == 'd')
            (neon ? cnnc_s8_dwconv__neon : cnnc_s8_dwconv__ref)(&p, x, w, bias, mult, shift, y);
        else
            (neon == 2 ? DOT(conv) : neon ? cnnc_s8_conv__neon : cnnc_s8_conv__ref)(
                &p, x, w, bias, mult, shift, y);
    }
    printf("%ld\n", macs);
    return 0;
}
"""
KERNELS = ("pw", "pw_k96", "stem3x3s2", "conv3x3", "conv3x3_28", "dw3x3s1", "dw3x3s2", "dense")


def build(target: str, tmp: Path) -> tuple[targets.Target, Path]:
    t = targets.get_target(target)
    src = tmp / "driver.c"
    src.write_text(DRIVER)
    exe = tmp / f"driver-{target}"
    kernels = sorted((runtime_dir() / "kernels").glob("s8_*.c"))
    cmd = [targets.target_cc(t), *cross.build_flags(t), f"-I{runtime_dir() / 'include'}",
           *map(str, kernels), str(src), "-o", str(exe), "-lm"]  # fmt: skip
    subprocess.run(cmd, check=True)
    return t, exe


def per_mac(t: targets.Target, exe: Path, kernel: str, neon: int) -> float:
    def run(reps: int) -> tuple[int, bytes]:
        cpu = ["-cpu", "max"] if neon == 2 else []  # the dot product, named
        cmd = [t.qemu, *cpu, "-L", t.sysroot, str(exe), kernel, str(reps), str(neon)]
        counted, out = icount.count(cmd, exe)
        return counted.total, out

    base, _ = run(0)
    more, out = run(1)
    return (more - base) / int(out.split()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=["aarch64", "armv7"])
    ap.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=KERNELS)
    args = ap.parse_args(argv)
    print("| target | layer | __ref instr/MAC | __neon instr/MAC | __neondot instr/MAC |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="cnnc-neon-bench-") as tmp:
        for target in args.targets:
            t, exe = build(target, Path(tmp))
            for k in args.kernels:
                ref, neon = per_mac(t, exe, k, 0), per_mac(t, exe, k, 1)
                # the dot product: aarch64 only, no depthwise variant (qemu's default CPU has it)
                has_dot = target == "aarch64" and not k.startswith("dw")
                dot = f"{per_mac(t, exe, k, 2):.3f}" if has_dot else "-"
                print(f"| {target} | {k} | {ref:.3f} | {neon:.3f} | {dot} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
