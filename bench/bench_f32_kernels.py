"""float32 conv kernels on the host: __ref against the x86 SIMD variants (AVX2 / AVX-512,
exact and fast float modes) per MobileNetV2-1.0@224 layer shape.

One library holds every variant, built as the tests build it (plain -O2 -std=c99
-ffp-contract=off, no -m flags: the SIMD files carry target attributes). Per shape the
variants are timed interleaved: each of RUNS rounds times every variant once (each timing
repeats the call until it lasts >= MIN_SECONDS), and the table shows the median per variant:
ms of this thread's CPU time per call (time.thread_time, so on a shared machine the time
slices of other processes are not counted; a busy hyperthread sibling still is), GFLOP/s
(2 FLOPs per MAC), and MACs per cycle against the ISA's peak.

The clock is "cpu MHz" from /proc/cpuinfo (the nominal clock the kernel reports; a turbo
clock would lower the achieved MACs/cycle). Peaks assume two vector FP ports (Intel since
Haswell; Xeons with one AVX-512 FMA unit halve the AVX-512 rows): fast = 2 FMAs of `lanes`
MACs per cycle; exact = half (a mul and an add per MAC share the two ports); the __ref row
is gcc's autovectorised SSE (4 lanes, mul + add). Exact variants must give the __ref's bits
(NaNs as one value; checked once per shape), fast ones stay within 1e-4 of the output
range. The variants are the x86 float32 rows of cnnc.ops.variants.VARIANTS; those whose CPU
features /proc/cpuinfo lacks are left out, named.

    .venv/bin/python bench/bench_f32_kernels.py [LAYER_SUBSTRING ...]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from cnnc.host.kernels import host_runs, load_f32_kernels, x86_variants

RUNS, MIN_SECONDS = 7, 0.02
# float lanes per vector of each tier; __ref is gcc's autovectorised SSE (4 lanes, mul + add)
LANES = {"ref": 4, "avx2": 8, "avx512": 16}
# the timed variants: name ("ref", "avx2", "fast_avx2", ...) -> {kernel: its row}
VARIANTS: dict[str, dict] = {"ref": {}}
for _row in x86_variants("f32"):
    _name = f"{'fast_' if _row.fast else ''}{_row.isa}"
    VARIANTS.setdefault(_name, {})[_row.kernel.removeprefix("cnnc_f32_")[:-5]] = _row
# label -> (kernel, h, w, c, co, k, stride): MobileNetV2-1.0@224 layers (n = 1, pads k//2)
SHAPES = {
    "stem 224x224x3->32 s2": ("conv_oc8", 224, 224, 3, 32, 3, 2),
    "pw 112x112x32->16": ("pwconv", 112, 112, 32, 16, 1, 1),
    "pw 56x56x24->144": ("pwconv", 56, 56, 24, 144, 1, 1),
    "pw 56x56x144->24": ("pwconv", 56, 56, 144, 24, 1, 1),
    "pw 28x28x32->192": ("pwconv", 28, 28, 32, 192, 1, 1),
    "pw 14x14x96->576": ("pwconv", 14, 14, 96, 576, 1, 1),
    "pw 14x14x576->96": ("pwconv", 14, 14, 576, 96, 1, 1),
    "pw 7x7x160->960": ("pwconv", 7, 7, 160, 960, 1, 1),
    "pw 7x7x320->1280": ("pwconv", 7, 7, 320, 1280, 1, 1),
    "dw 112x112x32 s1": ("dwconv3x3", 112, 112, 32, 32, 3, 1),
    "dw 112x112x32 s2": ("dwconv3x3", 112, 112, 32, 32, 3, 2),
    "dw 56x56x144 s1": ("dwconv3x3", 56, 56, 144, 144, 3, 1),
    "dw 56x56x144 s2": ("dwconv3x3", 56, 56, 144, 144, 3, 2),
    "dw 14x14x576 s1": ("dwconv3x3", 14, 14, 576, 576, 3, 1),
    "dw 14x14x576 s2": ("dwconv3x3", 14, 14, 576, 576, 3, 2),
    "dense 1280->1000": ("dense", 1, 1, 1280, 1000, 1, 1),
}


def clock_mhz() -> float:
    """ "cpu MHz" of the first CPU in /proc/cpuinfo."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1])
    return 0.0


def exact(name: str) -> bool:
    return not name.startswith("fast_")


def c_name(name: str, kernel: str) -> str:
    return f"cnnc_f32_{kernel}__ref" if name == "ref" else VARIANTS[name][kernel].name


def make_case(ffi, rng, kernel, h, w, c, co, k, stride):
    """(params, x, w, bias, y, MACs) for one layer; ReLU6 fused as in MobileNetV2."""
    act = {"kind": 2, "min": 0.0, "max": 6.0, "alpha": 0.0}
    if kernel == "dense":
        params = ffi.new("cnnc_f32_dense_params *", {"n": 1, "k": c, "m": co, "act": act})
        x, wt, out = rng.standard_normal((1, c)), rng.standard_normal((c, co)), co
        macs = c * co
    else:
        pad = k // 2
        oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        geom = {"n": 1, "h": h, "w": w, "c": c, "out_h": oh, "out_w": ow, "out_c": co,
                "kernel_h": k, "kernel_w": k, "stride_h": stride, "stride_w": stride,
                "dilation_h": 1, "dilation_w": 1, "pad_top": pad, "pad_left": pad,
                "groups": c if kernel == "dwconv3x3" else 1, "act": act}  # fmt: skip
        params = ffi.new("cnnc_f32_conv_params *", geom)
        wshape = {"dwconv3x3": (k, k, c), "pwconv": (c, co)}.get(kernel, (k, k, c, co))
        x, wt = rng.standard_normal((h, w, c)), rng.standard_normal(wshape) * 0.3
        out = oh * ow * co
        macs = out * (k * k if kernel == "dwconv3x3" else k * k * c)
    bias = rng.standard_normal(co)
    arrays = [a.astype(np.float32) for a in (x, wt, bias, np.zeros(out))]
    return params, arrays, macs


def seconds_per_call(fn, reps: int) -> float:
    t0 = time.thread_time()
    for _ in range(reps):
        fn()
    return (time.thread_time() - t0) / reps


def reps_for(fn) -> int:
    reps, t0 = 0, time.thread_time()
    while time.thread_time() - t0 < MIN_SECONDS:
        fn()
        reps += 1
    return reps


def check(label, name, exact, expected, actual) -> None:
    if exact:
        same = np.isnan(expected) & np.isnan(actual) | (
            expected.view(np.uint32) == actual.view(np.uint32)
        )
        assert same.all(), f"{label}: {name} differs from __ref at {np.argmin(same)}"
    else:
        tol = 1e-4 * max(float(np.ptp(expected)), float(np.abs(expected).max()))
        err = float(np.abs(actual.astype(np.float64) - expected).max())
        assert err <= tol, f"{label}: {name} off by {err:.3g} > {tol:.3g}"


def main() -> None:
    mhz = clock_mhz()
    ffi, lib = load_f32_kernels()
    names = []
    for name, rows in VARIANTS.items():
        reason = host_runs(next(iter(rows.values()))) if rows else None
        if reason:
            print(f"(leaving out {name}: {reason})")
        else:
            names.append(name)
    print(f"clock {mhz:.0f} MHz (/proc/cpuinfo 'cpu MHz'); peak MACs/cycle: "
          + ", ".join(f"{n} {peak(n):g}" for n in names))  # fmt: skip
    print(f"{'layer':<24} {'variant':<12} {'ms':>8} {'vs ref':>7} {'GFLOP/s':>8} "
          f"{'MAC/cyc':>8} {'% peak':>7}")  # fmt: skip
    rng = np.random.default_rng(0)
    for label, (kernel, *shape) in SHAPES.items():
        if sys.argv[1:] and not any(part in label for part in sys.argv[1:]):
            continue
        params, arrays, macs = make_case(ffi, rng, kernel, *shape)
        bufs = [ffi.from_buffer("float[]", a) for a in arrays]
        calls = {}
        for name in names:
            fn = getattr(lib, c_name(name, kernel))
            calls[name] = lambda fn=fn, p=params, b=bufs: fn(p, *b)
        outs = {}
        for name in names:
            arrays[-1][:] = np.nan
            calls[name]()
            outs[name] = arrays[-1].copy()
            check(label, name, exact(name), outs["ref"], outs[name])
        reps = {name: reps_for(calls[name]) for name in names}
        times = {name: [] for name in names}
        for _ in range(RUNS):
            for name in names:
                times[name].append(seconds_per_call(calls[name], reps[name]))
        base = statistics.median(times["ref"])
        for name in names:
            t = statistics.median(times[name])
            per_cycle = macs / (t * mhz * 1e6)
            gflops = 2 * macs / t * 1e-9
            print(f"{label:<24} {name:<12} {t * 1e3:8.3f} {base / t:7.2f} {gflops:8.2f} "
                  f"{per_cycle:8.2f} {100 * per_cycle / peak(name):6.0f}%")  # fmt: skip


def peak(name: str) -> float:
    """MACs per cycle: two vector ports; a MAC is one FMA (fast) or a mul and an add."""
    return 2 * LANES[name.removeprefix("fast_")] / (2 if exact(name) else 1)


if __name__ == "__main__":
    main()
