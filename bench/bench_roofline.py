"""Roofline per kernel family: achieved MACs (binary: XNOR-popcount MACs) per cycle of each
x86 tier this CPU runs, against the tier's peak.

The clock is measured, not read from /proc/cpuinfo: a C loop of 8 dependent 64-bit adds
per iteration (one cycle each on every x86-64 core since Sandy Bridge) is timed; cycles /
second = 8 * iterations / minimum time over several runs. That is the clock the core ran
at while this process ran (turbo included); on a loaded machine the minimum over runs
limits the effect of other processes. Every kernel is timed by the minimum of `--runs`
calls on random data in cnnc's host build (-std=c99 -O2, tiers by target attributes).

Peaks (per core, one thread), from each tier's inner loop:
  b1 conv  AVX2 nibble table: 8 vector µops per 256 bits on 3 ports = 96 binary MACs/cycle;
           AVX-512BW: 8 µops per 512 bits on 2 ports = 128; VPOPCNTDQ: 341 (b1_conv_<tier>.c)
  s8 dense vpmaddubsw + vpmaddwd per 32 (AVX2) / 64 (AVX-512) int8 MACs on 2 ports = 32 / 64;
           vpdpbusd (AVX-VNNI / AVX512-VNNI): 1 µop per 32 / 64 MACs on 2 ports = 64 / 128
  f32 dense exact mode (vmulps + vaddps, no FMA) 8 / 16 lanes per 2 µops on 2 ports = 8 / 16;
           fast mode (FMA) 16 / 32

    .venv/bin/python bench/bench_roofline.py [--runs 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from cnnc.host.cbuild import build_shared, load_shared
from cnnc.host.kernels import (
    host_runs,
    load_b1_kernels,
    load_f32_kernels,
    load_s8_kernels,
    x86_variants,
)
from cnnc.ops import bitpack

CLOCK_C = r"""
long cnnc_bench_add_chain(long iterations) {
    long x = 0, i;
    for (i = 0; i < iterations; ++i)
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                         "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(x));
    return x;
}
"""

PEAK = {
    "b1": {"avx2": 96, "avx512": 128, "avx512vpopcnt": 341},
    "s8": {"avx2": 32, "avxvnni": 64, "avx512": 64, "avx512vnni": 128},
    "f32": {"avx2": 8, "avx512": 16, "avx2 fast": 16, "avx512 fast": 32},
}


def measure_hz(runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clock.c"
        src.write_text(CLOCK_C)
        ffi, lib = load_shared(build_shared([src]), "long cnnc_bench_add_chain(long);")
    n = 100_000  # ~0.3 ms a call: short enough for some calls to run unpreempted
    best = min_seconds(lambda: lib.cnnc_bench_add_chain(n), 50 * runs)
    return 8 * n / best


def min_seconds(fn, runs: int) -> float:
    fn()
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def runnable(family: str, kernel: str) -> list:
    return [v for v in x86_variants(family) if v.kernel == kernel and host_runs(v) is None]


def b1_rows(runs, hz, rng):
    ffi, lib = load_b1_kernels()
    for h, cin, cout in [(32, 32, 64), (16, 64, 128), (8, 128, 128), (14, 256, 256)]:
        x = bitpack.pack_signs(rng.standard_normal((1, h, h, cin)))
        w = bitpack.pack_signs(rng.standard_normal((cout, 3, 3, cin)))
        thr = np.zeros(cout, np.int32)
        y = np.zeros((1, h, h, bitpack.words(cout)), np.uint32)
        p = ffi.new("cnnc_b1_conv_params *", {
            "n": 1, "h": h, "w": h, "c": cin, "out_h": h, "out_w": h, "out_c": cout,
            "kernel_h": 3, "kernel_w": 3, "stride_h": 1, "stride_w": 1, "dilation_h": 1,
            "dilation_w": 1, "pad_top": 1, "pad_left": 1, "groups": 1, "pad_one": 0,
            "act_min": -np.inf, "act_max": np.inf})  # fmt: skip
        types = ("uint32_t[]", "uint32_t[]", "int32_t[]", "uint32_t[]")
        args = [ffi.from_buffer(t, a) for t, a in zip(types, (x, w, thr, y), strict=True)]
        macs = h * h * cout * 9 * cin
        for v in runnable("b1", "cnnc_b1_conv_bits__ref"):
            fn = getattr(lib, v.name)
            t = min_seconds(lambda fn=fn, p=p, args=args: fn(p, *args), runs)
            yield "b1 conv3x3", f"{h}x{h} {cin}->{cout}", v.isa, macs, t, PEAK["b1"][v.isa]


def s8_rows(runs, hz, rng):
    ffi, lib = load_s8_kernels()
    for n, k, m in [(196, 256, 256), (784, 32, 96), (49, 960, 160)]:
        x = rng.integers(-128, 128, (n, k)).astype(np.int8)
        w = rng.integers(-127, 128, (k, m)).astype(np.int8)
        bias = np.zeros(m, np.int32)
        mult = np.full(m, 1 << 30, np.int32)
        shift = np.full(m, -8, np.int32)
        y = np.zeros((n, m), np.int8)
        p = ffi.new("cnnc_s8_dense_params *", {
            "n": n, "k": k, "m": m, "x_zero_point": 3, "y_zero_point": -2, "act_min": -128,
            "act_max": 127, "rounding": 1})  # fmt: skip
        args = [ffi.from_buffer(t, a) for t, a in
                [("int8_t[]", x), ("int8_t[]", w), ("int32_t[]", bias), ("int32_t[]", mult),
                 ("int32_t[]", shift), ("int8_t[]", y)]]  # fmt: skip
        for v in runnable("s8", "cnnc_s8_dense__ref"):
            fn = getattr(lib, v.name)
            t = min_seconds(lambda fn=fn, p=p, args=args: fn(p, *args), runs)
            yield "s8 dense", f"{n}x{k}->{m}", v.isa, n * k * m, t, PEAK["s8"][v.isa]


def f32_rows(runs, hz, rng):
    ffi, lib = load_f32_kernels()
    for n, k, m in [(196, 256, 256), (784, 32, 96), (49, 960, 160)]:
        x = rng.standard_normal((n, k)).astype(np.float32)
        w = rng.standard_normal((k, m)).astype(np.float32)
        bias = np.zeros(m, np.float32)
        y = np.zeros((n, m), np.float32)
        p = ffi.new("cnnc_f32_dense_params *", {
            "n": n, "k": k, "m": m,
            "act": {"kind": 0, "min": -np.inf, "max": np.inf, "alpha": 0.0}})  # fmt: skip
        args = [ffi.from_buffer("float[]", a) for a in (x, w, bias, y)]
        for v in runnable("f32", "cnnc_f32_dense__ref"):
            fn = getattr(lib, v.name)
            t = min_seconds(lambda fn=fn, p=p, args=args: fn(p, *args), runs)
            tier = v.isa + (" fast" if v.fast else "")
            yield "f32 dense", f"{n}x{k}->{m}", tier, n * k * m, t, PEAK["f32"][tier]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="timed calls per kernel (minimum)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    hz = measure_hz(args.runs)
    calls = 50 * args.runs
    print(f"clock {hz / 1e9:.2f} GHz (8 dependent adds per loop iteration, min of {calls} calls)")
    head = (f"{'family':<11} {'shape':<16} {'tier':<13} {'MMACs':>8} {'us':>9} "
            f"{'MACs/cycle':>10} {'peak':>5} {'% peak':>7}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for rows in (b1_rows, s8_rows, f32_rows):
        for family, shape, tier, macs, t, peak in rows(args.runs, hz, rng):
            per_cycle = macs / t / hz
            print(f"{family:<11} {shape:<16} {tier:<13} {macs / 1e6:>8.2f} {t * 1e6:>9.1f} "
                  f"{per_cycle:>10.1f} {peak:>5} {100 * per_cycle / peak:>6.0f}%")  # fmt: skip


if __name__ == "__main__":
    main()
