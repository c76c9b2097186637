"""Instructions per MAC of the float32 NEON kernels (exact and fast) against their __ref, and
instructions per 128 binary MACs of the binary NEON conv, counted exactly under qemu-user
(cnnc.host.icount) for aarch64 and armv7: one C driver per target runs a kernel on a
MobileNetV2-like (float) or XNOR-Net-like (binary) layer once, and the count of a run
without the call is subtracted (start-up, data fill). Not a timing: instruction counts are
exact and the same on every run.

The exact float variants exist on AArch64 only (armv7's NEON flushes subnormals; its exact
builds run __ref: "-" in the table). ``--b1-before DIR`` also counts the binary NEON conv
of another runtime_c tree (e.g. one checked out from an older commit) as a "before" column.

    .venv/bin/python bench/bench_neon_f32.py [--targets aarch64 armv7] [--kernels pw dw3x3s1 ...]
        [--b1-before /path/to/old/runtime_c]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from cnnc.host import cross, icount, targets
from cnnc.host.cbuild import runtime_dir

F32_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cnnc_f32.h"
static float x[24 * 24 * 96], w[1280 * 100], bias[1280], y[24 * 24 * 96];
typedef void conv_fn(const cnnc_f32_conv_params *, const float *, const float *, const float *,
                     float *);
typedef void dense_fn(const cnnc_f32_dense_params *, const float *, const float *,
                      const float *, float *);
int main(int argc, char **argv) {
    const char *k = argv[1];
    const int reps = atoi(argv[2]), v = atoi(argv[3]); /* 0 ref, 1 neon, 2 fast neon */
    cnnc_f32_conv_params p;
    cnnc_f32_dense_params d;
    conv_fn *fn[3] = {0, 0, 0};
    dense_fn *dfn[3] = {cnnc_f32_dense__ref, 0, cnnc_f32_dense_fast__neon};
    long macs = 0;
    int i;
    (void)argc;
    memset(&p, 0, sizeof p);
    memset(&d, 0, sizeof d);
    for (i = 0; i < (int)(sizeof x / sizeof x[0]); ++i) x[i] = (float)((i * 7) % 251) / 125.0f;
    for (i = 0; i < (int)(sizeof w / sizeof w[0]); ++i) w[i] = (float)((i * 13) % 255) / 127.0f;
    for (i = 0; i < 1280; ++i) bias[i] = (float)i / 1280.0f;
    p.n = 1; p.act.kind = CNNC_ACT_RELU6; p.act.max = 6.0f;
    p.groups = 1; p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = 1;
    p.dilation_h = p.dilation_w = 1;
    fn[0] = cnnc_f32_pwconv__ref; fn[2] = cnnc_f32_pwconv_fast__neon;
#if defined(__aarch64__)
    fn[1] = cnnc_f32_pwconv__neon; dfn[1] = cnnc_f32_dense__neon;
#endif
    if (!strcmp(k, "pw")) { p.h = p.w = p.out_h = p.out_w = 12; p.c = 48; p.out_c = 96; }
    else if (!strcmp(k, "pw_k96")) { p.h = p.w = p.out_h = p.out_w = 12; p.c = 96; p.out_c = 24; }
    else if (!strcmp(k, "stem3x3s2") || !strcmp(k, "conv3x3")) {
        if (k[0] == 's') { p.h = p.w = 24; p.out_h = p.out_w = 12; p.c = 3; p.out_c = 16;
                           p.stride_h = p.stride_w = 2; }
        else { p.h = p.w = p.out_h = p.out_w = 8; p.c = 32; p.out_c = 32; }
        p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
        fn[0] = cnnc_f32_conv_oc8__ref; fn[2] = cnnc_f32_conv_oc8_fast__neon;
#if defined(__aarch64__)
        fn[1] = cnnc_f32_conv_oc8__neon;
#endif
    } else if (!strcmp(k, "dw3x3s1") || !strcmp(k, "dw3x3s2")) {
        if (k[6] == '1') { p.h = p.w = p.out_h = p.out_w = 12; }
        else { p.h = p.w = 24; p.out_h = p.out_w = 12; p.stride_h = p.stride_w = 2; }
        p.c = p.out_c = p.groups = 96; p.kernel_h = p.kernel_w = 3; p.pad_top = p.pad_left = 1;
        fn[0] = cnnc_f32_dwconv3x3__ref; fn[2] = cnnc_f32_dwconv3x3_fast__neon;
#if defined(__aarch64__)
        fn[1] = cnnc_f32_dwconv3x3__neon;
#endif
    } else if (!strcmp(k, "dense")) { d.n = 1; d.k = 1280; d.m = 100; }
    else return 2;
    macs = !strcmp(k, "dense") ? (long)d.k * d.m
         : (long)p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w * (p.c / p.groups);
    if (!strcmp(k, "dense") ? dfn[v] == 0 : fn[v] == 0) return 3;
    for (i = 0; i < reps; ++i) {
        if (!strcmp(k, "dense")) dfn[v](&d, x, w, bias, y);
        else fn[v](&p, x, w, bias, y);
    }
    printf("%ld\n", macs);
    return 0;
}
"""
F32_KERNELS = ("pw", "pw_k96", "stem3x3s2", "conv3x3", "dw3x3s1", "dw3x3s2", "dense")

B1_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cnnc_b1.h"
static uint32_t x[16 * 16 * 8], w[256 * 9 * 8], y[16 * 16 * 8];
static int32_t thr[256];
int main(int argc, char **argv) {
    const char *k = argv[1];
    const int reps = atoi(argv[2]), v = atoi(argv[3]); /* 0 ref, 1 neon */
    cnnc_b1_conv_params p;
    int i;
    (void)argc;
    memset(&p, 0, sizeof p);
    for (i = 0; i < (int)(sizeof x / sizeof x[0]); ++i) x[i] = 2654435761u * (uint32_t)i;
    for (i = 0; i < (int)(sizeof w / sizeof w[0]); ++i) w[i] = 40503u * (uint32_t)i + 7u;
    for (i = 0; i < 256; ++i) thr[i] = i % 7 - 3;
    p.n = 1; p.kernel_h = p.kernel_w = 3; p.stride_h = p.stride_w = 1; p.pad_top = p.pad_left = 1;
    p.dilation_h = p.dilation_w = 1; p.groups = 1;
    /* "<c>to<out_c>_<h>": 3x3, stride 1, zero padding 1 */
    if (sscanf(k, "b%dto%d_%d", &p.c, &p.out_c, &p.h) != 3) return 2;
    p.w = p.out_h = p.out_w = p.h;
    for (i = 0; i < reps; ++i)
        (v ? cnnc_b1_conv_bits__neon : cnnc_b1_conv_bits__ref)(&p, x, w, thr, y);
    printf("%ld\n", (long)p.out_h * p.out_w * p.out_c * 9 * p.c);
    return 0;
}
"""
# XNOR-Net's binary 3x3 convs (c -> out_c at h x h, the zoo model at 32x32 input: its
# blocks 32 -> 64, 64 -> 64, 64 -> 128, 128 -> 128 after pools) and a wider layer
B1_KERNELS = ("b32to64_16", "b64to64_16", "b64to128_8", "b128to128_8", "b256to256_8")


def build(target: str, tmp: Path, source: str, files: list[Path], rt: Path, name: str):
    t = targets.get_target(target)
    src = tmp / f"{name}.c"
    src.write_text(source)
    exe = tmp / f"{name}-{target}"
    cmd = [targets.target_cc(t), *cross.build_flags(t), f"-I{rt / 'include'}",
           f"-I{rt / 'kernels'}", *map(str, files), str(src), "-o", str(exe), "-lm"]  # fmt: skip
    subprocess.run(cmd, check=True)
    return t, exe


def per_mac(t: targets.Target, exe: Path, kernel: str, variant: int) -> float | None:
    def run(reps: int) -> tuple[int, bytes] | None:
        cmd = [t.qemu, "-L", t.sysroot, str(exe), kernel, str(reps), str(variant)]
        if subprocess.run(cmd, capture_output=True).returncode == 3:
            return None  # no such variant on this target
        counted, out = icount.count(cmd, exe)
        return counted.total, out

    base = run(0)
    more = run(1)
    if base is None or more is None:
        return None
    return (more[0] - base[0]) / int(more[1].split()[0])


def cell(v: float | None, scale: float = 1.0) -> str:
    return "-" if v is None else f"{v * scale:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=["aarch64", "armv7"])
    ap.add_argument("--kernels", nargs="+", default=[*F32_KERNELS, *B1_KERNELS],
                    choices=[*F32_KERNELS, *B1_KERNELS])  # fmt: skip
    ap.add_argument("--b1-before", type=Path, help="another runtime_c tree for a before column")
    args = ap.parse_args(argv)
    rt = runtime_dir()
    f32_files = [rt / "kernels" / f for f in ("f32_conv.c", "f32_dense.c", "f32_conv_neon.c",
                                              "f32_conv_fast_neon.c")]  # fmt: skip
    b1_files = [rt / "kernels" / f for f in ("b1_conv.c", "b1_conv_neon.c", "s8_quant.c")]
    with tempfile.TemporaryDirectory(prefix="cnnc-neon-f32-bench-") as tmp:
        for target in args.targets:
            f32 = [k for k in args.kernels if k in F32_KERNELS]
            if f32:
                t, exe = build(target, Path(tmp), F32_DRIVER, f32_files, rt, "f32")
                print(f"\n{target} float32: instructions per MAC")
                print("| target | layer | __ref | __neon (exact) | _fast__neon |")
                print("|---|---|---|---|---|")
                for k in f32:
                    ref, exact, fast = (per_mac(t, exe, k, v) for v in range(3))
                    print(f"| {target} | {k} | {cell(ref)} | {cell(exact)} | {cell(fast)} |",
                          flush=True)  # fmt: skip
            b1 = [k for k in args.kernels if k in B1_KERNELS]
            if b1:
                t, exe = build(target, Path(tmp), B1_DRIVER, b1_files, rt, "b1")
                old = None
                if args.b1_before:
                    ob = args.b1_before
                    files = [ob / "kernels" / f for f in ("b1_conv.c", "b1_conv_neon.c",
                                                          "s8_quant.c")]  # fmt: skip
                    _, old = build(target, Path(tmp), B1_DRIVER, files, ob, "b1old")
                print(f"\n{target} binary 3x3 conv: instructions per 128 binary MACs")
                print("| target | layer (c to out_c _ h) | __ref | __neon before | __neon |")
                print("|---|---|---|---|---|")
                for k in b1:
                    ref, neon = per_mac(t, exe, k, 0), per_mac(t, exe, k, 1)
                    before = per_mac(t, old, k, 1) if old else None
                    print(f"| {target} | {k[1:]} | {cell(ref, 128)} | {cell(before, 128)} | "
                          f"{cell(neon, 128)} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
