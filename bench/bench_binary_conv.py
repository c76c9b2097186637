"""Binary 3x3 conv vs float 3x3 conv of the same shape, both in cnnc's own C runtime.

Builds runtime_c/kernels/b1_*.c and f32_*.c on the host with cnnc's build flags
(cbuild: -std=c99 -O2, no -march; every x86 tier is compiled in by target attributes),
runs each layer several times on the same +-1 data and prints the median times, the
speed-up and the binary operations per second (one BOP = one XNOR+popcount lane = one
+-1 multiply-accumulate). A second table gives, for each x86 tier this CPU runs
(the cnnc_b1_conv_bits__ref rows of cnnc.ops.variants), GBOP/s against the tier's
popcount peak: BOP/cycle as derived in the tier's source (AVX2 nibble table 96, AVX-512BW
nibble table 128, VPOPCNTDQ 341; AVX-512's pixel lanes for <= 256 channels add carry-save
trees that need fewer popcounts than taps, up to 188 by their own count, so their % can pass
100) times the clock, taken as /proc/cpuinfo's "cpu MHz" (stated in the output; the real
clock under turbo may be higher, which would lower the % of peak). A second table
compiles a whole XNOR-Net (cnnc.models zoo, untrained weights: timing and sizes do
not depend on them) with --precision float32 and binary and compares the generated C.

    .venv/bin/python bench/bench_binary_conv.py [--runs 7] [--no-model]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from cnnc.host.kernels import host_runs, load_b1_kernels, load_f32_kernels, x86_variants
from cnnc.ops import bitpack

CONV_ROWS = [v for v in x86_variants("b1") if v.kernel == "cnnc_b1_conv_bits__ref"]

# (H = W, Cin, Cout): XNOR-Net-sized 3x3 layers, stride 1, zero padding 1
SHAPES = [(8, 64, 64), (16, 64, 64), (16, 128, 128), (8, 256, 256), (14, 256, 256)]
# binary MACs per cycle each tier's popcount can sustain (derivation in b1_conv_<tier>.c)
PEAK_BOP_PER_CYCLE = {"avx2": 96, "avx512": 128, "avx512vpopcnt": 341}


def clock_hz() -> float:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":")[1]) * 1e6
    return 2.0e9


def median_seconds(fn, runs: int) -> float:
    fn()  # warm caches and page in the buffers
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_shape(f32, b1, simd, h, cin, cout, runs, rng):
    (ffi_f, lib_f), (ffi_b, lib_b) = f32, b1
    x = np.where(rng.random((1, h, h, cin)) < 0.5, -1.0, 1.0).astype(np.float32)
    w = np.where(rng.random((cout, 3, 3, cin)) < 0.5, -1.0, 1.0).astype(np.float32)
    y_f = np.zeros((1, h, h, cout), np.float32)
    pf = ffi_f.new("cnnc_f32_conv_params *", {
        "n": 1, "h": h, "w": h, "c": cin, "out_h": h, "out_w": h, "out_c": cout,
        "kernel_h": 3, "kernel_w": 3, "stride_h": 1, "stride_w": 1, "dilation_h": 1,
        "dilation_w": 1, "pad_top": 1, "pad_left": 1, "groups": 1,
        "act": {"kind": 0, "min": -np.inf, "max": np.inf, "alpha": 0.0}})  # fmt: skip
    xf, wf, yf = (ffi_f.from_buffer("float[]", a) for a in (x, w, y_f))

    xp, wp = bitpack.pack_signs(x), bitpack.pack_signs(w)
    thr = np.zeros(cout, np.int32)
    y_b = np.zeros((1, h, h, bitpack.words(cout)), np.uint32)
    dots = np.zeros((1, h, h, cout), np.int32)
    pb = ffi_b.new("cnnc_b1_conv_params *", {
        "n": 1, "h": h, "w": h, "c": cin, "out_h": h, "out_w": h, "out_c": cout,
        "kernel_h": 3, "kernel_w": 3, "stride_h": 1, "stride_w": 1, "dilation_h": 1,
        "dilation_w": 1, "pad_top": 1,
        "pad_left": 1, "groups": 1, "pad_one": 0, "act_min": -np.inf, "act_max": np.inf,
    })  # fmt: skip
    xb, wb = ffi_b.from_buffer("uint32_t[]", xp), ffi_b.from_buffer("uint32_t[]", wp)
    tb, yb = ffi_b.from_buffer("int32_t[]", thr), ffi_b.from_buffer("uint32_t[]", y_b)

    # the two layers compute the same thing: check before timing
    lib_f.cnnc_f32_conv__ref(pf, xf, wf, ffi_f.NULL, yf)
    lib_b.cnnc_b1_conv_dot__ref(pb, xb, wb, ffi_b.from_buffer("int32_t[]", dots))
    np.testing.assert_array_equal(dots, y_f.astype(np.int32))

    t_f = median_seconds(lambda: lib_f.cnnc_f32_conv__ref(pf, xf, wf, ffi_f.NULL, yf), runs)
    t_b = median_seconds(lambda: lib_b.cnnc_b1_conv_bits__ref(pb, xb, wb, tb, yb), runs)
    t_v = None
    if simd is not None:  # same buffers through the variant's own build (same layouts)
        (ffi_v, lib_v), name = simd
        fn = getattr(lib_v, f"cnnc_b1_conv_bits__{name}")
        pv = ffi_v.new("cnnc_b1_conv_params *", {k: getattr(pb, k) for k in dir(pb)})
        args = [ffi_v.from_buffer(t, a) for t, a in
                [("uint32_t[]", xp), ("uint32_t[]", wp), ("int32_t[]", thr)]]  # fmt: skip
        y_v = np.zeros_like(y_b)
        yv = ffi_v.from_buffer("uint32_t[]", y_v)
        fn(pv, *args, yv)
        lib_b.cnnc_b1_conv_bits__ref(pb, xb, wb, tb, yb)
        np.testing.assert_array_equal(y_v, y_b)
        t_v = median_seconds(lambda: fn(pv, *args, yv), runs)
    ops = h * h * cout * 9 * cin  # MACs of the float layer = BOPs of the binary one
    return t_f, t_b, t_v, ops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per kernel (median)")
    parser.add_argument("--no-model", dest="model", action="store_false",
                        help="skip the whole-model table")  # fmt: skip
    args = parser.parse_args()
    f32 = load_f32_kernels()
    b1 = load_b1_kernels()
    tiers = [v.isa for v in CONV_ROWS if host_runs(v) is None]
    simd = None
    if tiers:  # the best tier this CPU runs, in the speed-up table
        simd = (b1, tiers[-1])
    rng = np.random.default_rng(0)
    print(f"3x3 conv, stride 1, pad 1, batch 1; median of {args.runs} runs; host C, cnnc flags"
          " (-std=c99 -O2, no -march): cnnc_f32_conv__ref vs cnnc_b1_conv_bits__ref")  # fmt: skip
    if simd:
        print(f"plus cnnc_b1_conv_bits__{simd[1]}, the best x86 tier this CPU runs")
    head = (f"{'H=W':>4} {'Cin':>5} {'Cout':>5} {'ops (M)':>8} {'float ms':>9} {'b1 ref ms':>10}"
            f" {'ref x':>6} {'GBOP/s':>7}")  # fmt: skip
    if simd:
        head += f" {simd[1] + ' ms':>11} {'x':>6} {'GBOP/s':>7}"
    print(head)
    print("-" * len(head))
    ratios, simd_ratios = [], []
    for h, cin, cout in SHAPES:
        t_f, t_b, t_v, ops = bench_shape(f32, b1, simd, h, cin, cout, args.runs, rng)
        ratios.append(t_f / t_b)
        line = (f"{h:>4} {cin:>5} {cout:>5} {ops / 1e6:>8.1f} {t_f * 1e3:>9.2f} {t_b * 1e3:>10.3f}"
                f" {t_f / t_b:>5.1f}x {ops / t_b / 1e9:>7.1f}")  # fmt: skip
        if t_v is not None:
            simd_ratios.append(t_f / t_v)
            line += f" {t_v * 1e3:>11.3f} {t_f / t_v:>5.1f}x {ops / t_v / 1e9:>7.1f}"
        print(line)
    print("-" * len(head))
    summary = f"median speed-up over float: b1 ref {np.median(ratios):.1f}x"
    if simd_ratios:
        summary += f", {simd[1]} {np.median(simd_ratios):.1f}x"
    print(summary + " (target >= 10x); float GMAC/s = ops / float time")
    if tiers:
        bench_tiers(tiers, args.runs, rng)
    if args.model:
        bench_model(args.runs)


def bench_tiers(tiers, runs: int, rng) -> None:
    """Every x86 tier this CPU runs, per shape: ms, GBOP/s and % of the tier's peak."""
    ffi, lib = load_b1_kernels()
    hz = clock_hz()
    lacking = [v for v in CONV_ROWS if host_runs(v) is not None]
    print(f"\nx86 tiers, clock taken as {hz / 1e9:.2f} GHz (/proc/cpuinfo); peak GBOP/s ="
          " BOP/cycle x clock: " + ", ".join(
              f"{t} {PEAK_BOP_PER_CYCLE[t]} ({PEAK_BOP_PER_CYCLE[t] * hz / 1e9:.0f})"
              for t in PEAK_BOP_PER_CYCLE))  # fmt: skip
    if lacking:
        print("not run: " + "; ".join(host_runs(v) for v in lacking))
    head = f"{'H=W':>4} {'Cin':>5} {'Cout':>5} " + " ".join(
        f"{t + ' ms':>13} {'GBOP/s':>7} {'%peak':>6}" for t in tiers
    )
    print(head)
    print("-" * len(head))
    for h, cin, cout in SHAPES:
        xp = bitpack.pack_signs(rng.standard_normal((1, h, h, cin)))
        wp = bitpack.pack_signs(rng.standard_normal((cout, 3, 3, cin)))
        thr = np.zeros(cout, np.int32)
        p = ffi.new("cnnc_b1_conv_params *", {
            "n": 1, "h": h, "w": h, "c": cin, "out_h": h, "out_w": h,
            "out_c": cout, "kernel_h": 3, "kernel_w": 3, "stride_h": 1, "stride_w": 1,
            "dilation_h": 1, "dilation_w": 1, "pad_top": 1, "pad_left": 1, "groups": 1,
            "pad_one": 0})  # fmt: skip
        args = [ffi.from_buffer(t, a) for t, a in
                [("uint32_t[]", xp), ("uint32_t[]", wp), ("int32_t[]", thr)]]  # fmt: skip
        ref = np.zeros((1, h, h, bitpack.words(cout)), np.uint32)
        lib.cnnc_b1_conv_bits__ref(p, *args, ffi.from_buffer("uint32_t[]", ref))
        ops = h * h * cout * 9 * cin
        line = f"{h:>4} {cin:>5} {cout:>5} "
        for t in tiers:
            y = np.zeros_like(ref)
            fn, yb = getattr(lib, f"cnnc_b1_conv_bits__{t}"), ffi.from_buffer("uint32_t[]", y)
            fn(p, *args, yb)
            np.testing.assert_array_equal(y, ref)
            sec = median_seconds(lambda fn=fn, p=p, a=args, yb=yb: fn(p, *a, yb), runs)
            gbops = ops / sec / 1e9
            peak = PEAK_BOP_PER_CYCLE[t] * hz / 1e9
            line += f"{sec * 1e3:>13.3f} {gbops:>7.1f} {100 * gbops / peak:>5.0f}% "
        print(line)


def bench_model(runs: int) -> None:
    """The whole XNOR-Net (32x32 input, blocks 64-64-128-128) in float32 and binary C."""
    import tempfile

    import cnnc
    from cnnc.models import export, zoo

    net = zoo.xnornet(input_size=32, rng=np.random.default_rng(0))
    model = export.to_onnx(net, (32, 32, 1))
    x = np.random.default_rng(1).standard_normal((1, 1, 32, 32)).astype(np.float32)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("float32", "binary"):
            cm = cnnc.compile(model, f"{tmp}/{precision}", precision=precision)
            host = cm.host()
            rows[precision] = (median_seconds(lambda h=host: harness_run(h, x), runs),
                               cm.report["totals"])  # fmt: skip
    (t_f, tot_f), (t_b, tot_b) = rows["float32"], rows["binary"]
    print(f"\nwhole XNOR-Net 32x32 (zoo default), one sample, median of {runs} runs")
    print(f"{'precision':<9} {'ms':>8} {'MACs':>12} {'BOPs':>12} {'weights B':>10} {'arena B':>9}")
    for name, t, tot in (("float32", t_f, tot_f), ("binary", t_b, tot_b)):
        print(f"{name:<9} {t * 1e3:>8.2f} {tot['macs']:>12,} {tot['bops']:>12,} "
              f"{tot['weight_bytes']:>10,} {tot['arena_bytes']:>9,}")  # fmt: skip
    smaller = tot_f["weight_bytes"] / tot_b["weight_bytes"]
    print(f"binary: {t_f / t_b:.1f}x faster, weights {smaller:.1f}x smaller"
          " (first conv and classifier stay float32)")  # fmt: skip


def harness_run(host, x):
    from cnnc.host import harness

    return harness.run(host, x)


if __name__ == "__main__":
    main()
