"""int8 kernels on the host: __ref vs every x86 tier this CPU runs (the rows of
cnnc.ops.variants.VARIANTS for the kernel), per MobileNetV2-224-like layer shape,
all from one library built with cnnc's default flags (every tier is compiled in by target
attributes), and the float32 kernel that generated float code calls for the same layer
(default flags and -ffp-contract=off, as the harness builds models).

Prints, per shape, one column per kernel: the median of 7 timed runs (each run repeats
the call until it lasts >= 20 ms) in microseconds per call and the speed-up over the int8
__ref measured in the same run; the last column is the best tier's MACs per ns. Every
tier gets identical inputs and must produce __ref's bytes (checked once per shape). NEON
variants are not timed here (qemu-user timings say nothing about a Raspberry Pi); run
this script on the board for those.

    .venv/bin/python bench/bench_s8_kernels.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from cnnc.host.kernels import (
    fill_struct,
    host_runs,
    load_f32_kernels,
    load_s8_kernels,
    x86_variants,
)
from cnnc.ops.requant import quantize_multipliers
from cnnc.ops.s8 import ConvParams, DenseParams

RUNS, MIN_SECONDS = 7, 0.02

# name -> (kernel, h, w, c, oc, k, stride): MobileNetV2-224 layers and VGG-like 3x3 convs
# (n = 1)
SHAPES = {
    "conv 224x224 3->32 s2": ("conv", 224, 224, 3, 32, 3, 2),
    "conv 32x32 32->32": ("conv", 32, 32, 32, 32, 3, 1),
    "conv 16x16 64->64": ("conv", 16, 16, 64, 64, 3, 1),
    "conv 8x8 128->128": ("conv", 8, 8, 128, 128, 3, 1),
    "pw 56x56 24->144": ("pwconv", 56, 56, 24, 144, 1, 1),
    "pw 56x56 144->24": ("pwconv", 56, 56, 144, 24, 1, 1),
    "pw 28x28 32->192": ("pwconv", 28, 28, 32, 192, 1, 1),
    "pw 14x14 64->384": ("pwconv", 14, 14, 64, 384, 1, 1),
    "pw 14x14 384->96": ("pwconv", 14, 14, 384, 96, 1, 1),
    "pw 7x7 960->320": ("pwconv", 7, 7, 960, 320, 1, 1),
    "dw 112x112 96 s2": ("dwconv", 112, 112, 96, 96, 3, 2),
    "dw 56x56 144 s1": ("dwconv", 56, 56, 144, 144, 3, 1),
    "dw 14x14 384 s1": ("dwconv", 14, 14, 384, 384, 3, 1),
    "dw 7x7 960 s1": ("dwconv", 7, 7, 960, 960, 3, 1),
    "dense 1280->1000": ("dense", 1, 1, 1280, 1000, 1, 1),
}


# int8 kernel -> the float32 kernel codegen picks for the same layer (codegen.conv_kernel)
F32_KERNELS = {"conv": "conv_oc8", "pwconv": "pwconv", "dwconv": "dwconv3x3", "dense": "dense"}


def f32_call(ffi, lib, p, arrays):
    """A no-argument call of the float32 kernel for the int8 case's layer (same shapes)."""
    x, w, bias = (a.astype(np.float32) for a in arrays[:3])
    act = {"kind": 0, "min": -np.inf, "max": np.inf, "alpha": 0.0}
    if isinstance(p, DenseParams):
        fn, params = lib.cnnc_f32_dense__ref, ffi.new("cnnc_f32_dense_params *")
        params.n, params.k, params.m, params.act = p.n, p.k, p.m, act
        y = np.zeros((p.n, p.m), np.float32)
    else:
        kernel = (
            "pwconv" if p.kernel_h == 1 and p.groups == 1 else "dwconv" if p.groups > 1 else "conv"
        )
        fn = getattr(lib, f"cnnc_f32_{F32_KERNELS[kernel]}__ref")
        params = ffi.new(
            "cnnc_f32_conv_params *",
            {
                "n": p.n,
                "h": p.h,
                "w": p.w,
                "c": p.c,
                "out_h": p.out_h,
                "out_w": p.out_w,
                "out_c": p.out_c,
                "kernel_h": p.kernel_h,
                "kernel_w": p.kernel_w,
                "stride_h": p.stride_h,
                "stride_w": p.stride_w,
                "dilation_h": 1,
                "dilation_w": 1,
                "pad_top": p.pad_top,
                "pad_left": p.pad_left,
                "groups": p.groups,
                "act": act,
            },
        )
        y = np.zeros((p.n, p.out_h, p.out_w, p.out_c), np.float32)
    bufs = [ffi.from_buffer("float[]", a) for a in (x, w, bias, y)]
    return lambda: fn(params, *bufs)


def median_seconds(fn) -> float:
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < MIN_SECONDS:
        fn()
        reps += 1
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def make_case(rng, kernel, h, w, c, oc, k, stride):
    """(params, x, packed w, bias, mult, shift, y, MACs) with outputs spanning int8."""
    if kernel == "dense":
        p = DenseParams(h * w, c, oc, -3, 5, -128, 127, 1)
        x, wt, macs = rng.integers(-128, 128, (h * w, c)), rng.integers(-127, 128, (c, oc)), c * oc
        out, taps = oc * h * w, c
    else:
        pad = k // 2
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        groups = c if kernel == "dwconv" else 1
        p = ConvParams(1, h, w, c, oh, ow, oc, k, k, stride, stride, 1, 1, pad, pad, groups, -3,
                       5, -128, 127, 1)  # fmt: skip
        x = rng.integers(-128, 128, (h, w, c))
        wt = rng.integers(
            -127, 128, {"dwconv": (k, k, c), "pwconv": (c, oc)}.get(kernel, (k, k, c, oc))
        )  # packed layouts (cnnc.ops.s8.PACKED_LAYOUTS)
        taps = k * k * (c // groups)
        out = oh * ow * oc
        macs = out * taps
    bias = rng.integers(-5000, 5000, oc).astype(np.int32)
    mult, shift = quantize_multipliers(np.full(oc, 1.0 / (300 * np.sqrt(taps))))
    y = np.zeros(out, np.int8)
    arrays = [x.astype(np.int8), wt.astype(np.int8), bias, mult, shift, y]
    return p, arrays, macs


def main() -> None:
    rng = np.random.default_rng(0)
    kernels = {shape[0] for shape in SHAPES.values()}
    rows = [v for v in x86_variants("s8") if v.kernel.removeprefix("cnnc_s8_")[:-5] in kernels]
    runnable = {(v.kernel, v.isa) for v in rows if host_runs(v) is None}
    tiers = list(dict.fromkeys(v.isa for v in rows if (v.kernel, v.isa) in runnable))
    for v in rows:
        if (v.kernel, v.isa) not in runnable:
            print(f"(not run: {host_runs(v)})")
    ffi, lib = load_s8_kernels()
    f32_ffi, f32_lib = load_f32_kernels()
    cols = ["s8 ref", *(f"s8 {t}" for t in tiers), "f32 ref"]
    print(f"{'shape':<22} " + " ".join(f"{c + ' us':>11} {'x':>5}" for c in cols) + " MAC/ns")
    for label, shape in SHAPES.items():
        p, arrays, macs = make_case(rng, *shape)
        ctypes = ["int8_t[]", "int8_t[]", "int32_t[]", "int32_t[]", "int32_t[]", "int8_t[]"]
        bufs = [ffi.from_buffer(t, a) for t, a in zip(ctypes, arrays, strict=True)]
        struct = fill_struct(ffi, p)
        line, base, best, ref_out = f"{label:<22} ", None, None, None
        for variant in ["ref", *tiers, "f32"]:
            if variant == "f32":
                seconds = median_seconds(f32_call(f32_ffi, f32_lib, p, arrays))
            elif variant != "ref" and (f"cnnc_s8_{shape[0]}__ref", variant) not in runnable:
                line += f"{'-':>11} {'':>5} "  # no such row for this kernel
                continue
            else:
                fn = getattr(lib, f"cnnc_s8_{shape[0]}__{variant}")
                arrays[-1][:] = 0
                fn(struct, *bufs)
                if ref_out is None:
                    ref_out = arrays[-1].copy()
                assert (arrays[-1] == ref_out).all(), f"{label}: {variant} differs from ref"
                seconds = median_seconds(lambda fn=fn, s=struct, b=bufs: fn(s, *b))
                if variant != "ref":
                    best = seconds if best is None else min(best, seconds)
            base = base or seconds
            line += f"{seconds * 1e6:11.1f} {base / seconds:5.2f} "
        print(line + f"{macs / (best or base) * 1e-9:6.2f}")


if __name__ == "__main__":
    main()
