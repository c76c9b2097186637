"""cnnc_model_run_threads: speed-up of 2 threads over 1 on this host, outputs identical.

MobileNetV2 as torch exports torchvision's (tests/onnx_builders.py, random weights) at
1.0@224 (--quick: 0.35@96), int8 and float32 (default exact mode). The folder's
model_threads.c is built with a small driver (cnnc.host.threaded, -O2, the host's run-time
kernel dispatch); each round runs 1 thread then 2 threads, RUNS inferences each, in
separate processes; the table shows the median per inference over all rounds and the
ratio. The VM is shared: medians of interleaved rounds, not minimums of one burst.

With --balance it also counts instructions per thread under qemu-aarch64 (cnnc.host.icount,
one CPU index per thread) for 2 threads: how evenly the split layers divide the work.

    .venv/bin/python bench/bench_threads.py [--quick] [--rounds 7] [--runs 5] [--balance]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import cnnc
import numpy as np
from cnnc.host import icount, threaded

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import onnx_builders  # noqa: E402

CONFIGS = {"mnv2 1.0@224": (224, 1.0), "mnv2 0.35@96": (96, 0.35)}


def balance(out: Path, x: np.ndarray) -> str:
    """Instructions per thread (qemu CPU index) of one 2-thread inference on aarch64."""
    from cnnc.host.targets import check_toolchain

    target = check_toolchain("aarch64", run=True)
    binary = threaded.build_driver(out, "aarch64")
    cmd = [target.qemu, "-L", target.sysroot, str(binary), "-w", str(out / "weights.bin"),
           "-t", "2"]  # fmt: skip
    counted, _ = icount.count(cmd, binary, stdin=x.tobytes(), exclude=icount.STARTUP_SKIP)
    per = counted.cpu_totals()
    return " / ".join(f"{n / 1e6:.1f} M" for n in per.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.35@96 only")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--balance", action="store_true", help="instructions per thread (qemu)")
    args = ap.parse_args()
    configs = {k: v for k, v in CONFIGS.items() if ("0.35" in k) == args.quick}
    rng = np.random.default_rng(0)
    tail = "  instr per thread" if args.balance else ""
    print(f"{'model':<14} {'precision':<9} {'1 thread ms':>12} {'2 threads ms':>13} "
          f"{'speed-up':>9} {'identical':>9}{tail}")  # fmt: skip
    for label, (size, width) in configs.items():
        model = onnx_builders.mobilenetv2_pytorch_style(1000, size, width)
        calib = rng.standard_normal((8, 3, size, size)).astype(np.float32)
        x = calib[:1]
        for precision in ("int8", "float32"):
            with tempfile.TemporaryDirectory() as tmp:
                kwargs = {"calibration": calib} if precision == "int8" else {}
                cm = cnnc.compile(model, Path(tmp) / "out", precision=precision, **kwargs)
                times = {1: [], 2: []}
                outputs = {}
                for _ in range(args.rounds):
                    for n in (1, 2):
                        y, t = threaded.run_threads(cm.out_dir, "host", x, n, repeat=args.runs)
                        times[n] += t[1:] if len(t) > 1 else t  # the first run warms caches
                        outputs[n] = y
                one, two = (statistics.median(times[n]) for n in (1, 2))
                same = bool(np.array_equal(outputs[1], outputs[2]))
                extra = f"  {balance(cm.out_dir, x)}" if args.balance else ""
                print(f"{label:<14} {precision:<9} {one:>12.2f} {two:>13.2f} {one / two:>8.2f}x "
                      f"{str(same):>9}{extra}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
