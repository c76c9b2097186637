"""The arena of `--memory min` (fused row bands) against cnnc's layer-by-layer bound.

For each model, compiled int8 with `--int8-io`: the layer-by-layer bound (the planner's
lower bound without fusion: no layer-by-layer placement can use less), the arena with
`--memory fast` (the default), the arena with `--memory min` under each recompute
budget, their ratio to the bound, the MACs recomputed for band halos (% of the model's)
and the band height chosen per fused group. Nothing is timed: arenas and MACs are exact.

Models: MobileNetV2 as torch.onnx exports torchvision's graph (tests/onnx_builders.py,
random weights) at 0.35@96 and 1.0@224 (--quick: 0.35@96 only).

    .venv/bin/python bench/bench_memory.py [--quick] [--budgets 0.15,0.3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cnnc
import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import onnx_builders  # noqa: E402

CONFIGS = {"mnv2 0.35@96": (96, 0.35), "mnv2 1.0@224": (224, 1.0)}
CALIB = 8


def compile_schedule(model, calib, out: Path, memory: str, budget: float) -> dict:
    cm = cnnc.compile(model, out, precision="int8", calibration=calib, int8_io=True,
                      memory=memory, max_recompute=budget)  # fmt: skip
    return cm.report["schedule"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="0.35@96 only")
    ap.add_argument("--budgets", default="0.15", help="comma-separated --max-recompute values")
    args = ap.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    configs = {k: v for k, v in CONFIGS.items() if not args.quick or "0.35" in k}
    print(f"{'model':<14} {'memory':<11} {'bound B':>9} {'arena B':>9} {'ratio':>6} "
          f"{'recompute':>9}  band heights per group")  # fmt: skip
    rng = np.random.default_rng(0)
    for label, (size, width) in configs.items():
        model = onnx_builders.mobilenetv2_pytorch_style(1000, size, width)
        calib = rng.standard_normal((CALIB, 3, size, size)).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            runs = [("fast", 0.15)] + [("min", b) for b in budgets]
            for k, (memory, budget) in enumerate(runs):
                s = compile_schedule(model, calib, Path(tmp) / f"m{k}", memory, budget)
                bound, arena = s["layer_by_layer_bound"], s["arena_bytes"]
                name = memory if memory == "fast" else f"min@{budget:g}"
                heights = " ".join(f"{g['ops']}ops:h{g['band_h']}" for g in s["groups"]) or "-"
                print(f"{label:<14} {name:<11} {bound:>9,} {arena:>9,} {arena / bound:>6.3f} "
                      f"{100 * s['recompute_ratio']:>8.1f}%  {heights}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
