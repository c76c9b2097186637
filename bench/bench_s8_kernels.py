"""int8 kernels on the host: __ref vs the SIMD variants (cnnc.ops.s8.S8_VARIANTS) per
MobileNetV2-224-like layer shape, one library built with the variant's flags holding both,
and the float32 kernel that generated float code calls for the same layer (built with the
same flags and -ffp-contract=off, as the harness builds models).

Prints, per shape, the median of 7 timed runs (each run repeats the call until it lasts
>= 20 ms) in microseconds per call, the speed-up over the int8 __ref measured in the same
run, and MACs per nanosecond. Both int8 kernels get identical inputs and must produce
identical bytes (checked once per shape). NEON variants are not timed here (qemu-user
timings say nothing about a Raspberry Pi); run this script on the board for those.

    .venv/bin/python bench/bench_s8_kernels.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from cnnc.host import kernels
from cnnc.host.kernels import S8_VARIANTS, fill_struct, load_s8_kernels
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


def load_f32_kernels(flags):
    """(ffi, lib) of runtime_c/kernels/f32_*.c; cffi declarations from cnnc_f32.h."""
    return kernels.load_f32_kernels(tuple(flags))


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
        p = ConvParams(1, h, w, c, oh, ow, oc, k, k, stride, stride, pad, pad, groups, -3, 5,
                       -128, 127, 1)  # fmt: skip
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
    print(f"{'shape':<22} {'kernel':<9} {'us/call':>9} {'vs ref':>7} {'MAC/ns':>7}")
    for name, (flags, cpu_flag) in S8_VARIANTS.items():
        with open("/proc/cpuinfo") as f:
            if cpu_flag not in f.read().split():
                print(f"(skipping {name}: this CPU lacks {cpu_flag})")
                continue
        ffi, lib = load_s8_kernels(flags)
        f32_ffi, f32_lib = load_f32_kernels(flags)
        for label, shape in SHAPES.items():
            p, arrays, macs = make_case(rng, *shape)
            ctypes = ["int8_t[]", "int8_t[]", "int32_t[]", "int32_t[]", "int32_t[]", "int8_t[]"]
            bufs = [ffi.from_buffer(t, a) for t, a in zip(ctypes, arrays, strict=True)]
            struct = fill_struct(ffi, p)
            outs, base = {}, None
            for variant in ("ref", name, "f32"):
                if variant == "f32":
                    seconds = median_seconds(f32_call(f32_ffi, f32_lib, p, arrays))
                else:
                    fn = getattr(lib, f"cnnc_s8_{shape[0]}__{variant}")
                    seconds = median_seconds(lambda fn=fn, s=struct, b=bufs: fn(s, *b))
                    outs[variant] = arrays[-1].copy()
                base = base or seconds
                kernel = f"s8 {variant}" if variant != "f32" else "f32 ref"
                print(f"{label:<22} {kernel:<9} {seconds * 1e6:9.1f} {base / seconds:7.2f} "
                      f"{macs / seconds * 1e-9:7.2f}")  # fmt: skip
            assert (outs["ref"] == outs[name]).all(), f"{label}: {name} differs from ref"


if __name__ == "__main__":
    main()
