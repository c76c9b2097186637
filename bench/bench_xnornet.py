"""Whole XNOR-Net: binary layers between int8 first and last layers against its float32
build, both cnnc output folders built by their own default `make`, in the same run.

The network is the zoo's XNOR-Net at 32x32 (untrained: speed does not depend on the
weights), exported to ONNX, compiled with `--precision float32 --float-mode exact` (the
default exact float mode, named explicitly) and with `--precision binary --calibration`
(int8 first and last layers: the whole C is integer). Each build's demo runs `-n RUNS` per
round and prints its minimum; the rounds alternate between the two builds and the table
keeps the minimum over rounds. The tier column is what the demo says init selected for this
CPU; the load average before and after the timing is printed (the machine may be shared:
minima are the signal). Rounds are long (1,000 runs of the binary build, ~0.3 s) because a
short one right after the float32 build's AVX-512 floating point can run entirely at the
lower clock the core keeps for a while after such code: with 200 runs per round this Xeon
gave 0.41 ms, with 1,000 runs 0.30 ms, for the same folder.

    chrt -f 50 taskset -c 1 .venv/bin/python bench/bench_xnornet.py [--rounds 5] [--runs 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cnnc
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_vs_onnxruntime import build_folder, time_demo  # noqa: E402


def main() -> None:
    from cnnc.models import export, zoo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    net = zoo.xnornet(input_size=32, rng=rng)
    calib = rng.standard_normal((16, 1, 32, 32)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = export.to_onnx(net, (32, 32, 1))
        builds = {
            "float32": cnnc.compile(model, tmp / "f32", float_mode="exact"),
            "binary-int8": cnnc.compile(model, tmp / "b1", precision="binary", calibration=calib),
        }
        x_path = tmp / "x.f32"
        calib[:1].tofile(x_path)
        demos = {name: build_folder(m.out_dir) for name, m in builds.items()}
        best = {name: float("inf") for name in builds}
        tiers = {}
        load_before = os.getloadavg()[0]
        for _ in range(args.rounds):
            for name, demo in demos.items():
                ms, tiers[name] = time_demo(demo, x_path, args.runs)
                best[name] = min(best[name], ms)
        load_after = os.getloadavg()[0]
        print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after; "
              f"minimum of {args.rounds} interleaved rounds x {args.runs} runs")  # fmt: skip
        print(f"{'build':<12} {'tier':<8} {'MMACs':>7} {'MBOPs':>7} {'ms':>8} {'vs float32':>10}")
        for name, m in builds.items():
            t = m.report["totals"]
            print(f"{name:<12} {tiers[name]:<8} {t['macs'] / 1e6:>7.2f} "
                  f"{t.get('bops', 0) / 1e6:>7.1f} {best[name]:>8.3f} "
                  f"{best['float32'] / best[name]:>9.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
