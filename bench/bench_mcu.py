"""Microcontroller table: memory, flash and instructions per MAC on Cortex-M4, __ref vs DSP.

Models (untrained weights: sizes and instruction counts do not depend on them beyond the
requantisation path taken), all compiled with --embed-weights for cortex-m4:
  mnv2 0.35@96   MobileNetV2 as torch exports torchvision's graph (the project's builder),
                 1000 classes, int8 with --int8-io, calibrated on 8 random images
  digits mnv2    the zoo MobileNetV2 (32x32, width 0.5: 0.95 M MACs), int8, digits data
  xnornet        the zoo XNOR-Net (32x32, width 0.5), binary with int8 first/last layers

Columns: the layer-by-layer arena bound and the planned arena (bytes), the arena of the
same model compiled with `--memory min` (int8 blocks fused into row bands,
cnnc.passes.schedule, recompute budget 0.15) and its recomputed halo MACs, flash of the
firmware at -O2 (the target's flags) and at -Os split into code (flash minus the embedded
weights) and weights ("code O2" builds only the DSP kernels' paths the model's calls can take,
cnnc_model_calls.h; "O2 all" every path, -DCNNC_ALL_PATHS), RAM (data + bss: arena, I/O
buffers, statics), the worst-case stack
of an inference or init on top of it (static frames of the deepest call chain at the
target's flags, cnnc.host.mcu_stack: the DSP kernels' buffers) and the stack one inference
took on the emulated board ("run B", mcu_stack.measured_stack: at most the static bound, which
misses registers an asm statement pushes), and instructions per MAC of one
inference counted under qemu-system-arm on MPS2-AN386 (cnnc.host.mcu_trace), built with
the DSP kernels (__ARM_FEATURE_DSP, the default) and with them capped off
(-DCNNC_CPU_MASK=0: the __ref kernels on the same core); "pw" is the pointwise/dense
layers alone (1x1 convs over all channels and dense layers: mcu_floor.is_pointwise).
"floor" is the arithmetic floor of the int8 conv and dense layers per MAC
(cnnc.host.mcu_floor: the products at two MACs an instruction, the inputs' widening and a
4- or 5-instruction requantisation per output; no loads, loops or calls; the other layers
count 0), the whole model's and the pointwise layers'. "pw ld" adds to the pointwise floor
one load per output of the layers of K <= 16, which no kernel avoids under the register model
of mcu_floor.register_loads. Instruction counts are exact and
board-independent. "cyc/MAC" is an estimate, not a measurement: the DSP build's executed
instructions priced by the Cortex-M4 TRM's cycle counts per instruction class with zero
wait states (cnnc.host.mcu_trace states the model: loads 2, LDRD 3, multiplies and DSP 1,
taken branches 1 + 2, ...).

Counting traces every executed block, a few minutes per model and build on this machine;
the 0.35@96 network (11 M MACs) is counted only with --count-all.

    .venv/bin/python bench/bench_mcu.py [--count-all] [--layers] [--no-ref]
                                        [--models digits,xnornet]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

TARGET = "cortex-m4"
REF_FLAGS = ("-DCNNC_CPU_MASK=0",)


def digits_model(name: str, precision: str):
    from cnnc.models import data as data_mod
    from cnnc.models import export, zoo

    size, width = 32, 0.5
    ds = data_mod.load("digits", size)
    net = zoo.MODELS[name](size, ds.num_classes, width, np.random.default_rng(0))
    mean, std = data_mod.channel_stats(ds.x_train)
    meta = export.metadata(name, "digits", size, mean, std, ds.num_classes)
    model = export.to_onnx(net, (size, size, 1), meta)
    x = data_mod.normalize(ds.x_train[:32], mean, std).transpose(0, 3, 1, 2)
    return model, precision, np.ascontiguousarray(x, dtype=np.float32), {}


def mnv2_035_96():
    import onnx_builders

    model = onnx_builders.mobilenetv2_pytorch_style(1000, 96, 0.35)
    x = np.random.default_rng(0).standard_normal((8, 3, 96, 96)).astype(np.float32)
    return model, "int8", x, {"int8_io": True}


MODELS = {
    "mnv2-0.35@96": mnv2_035_96,
    "digits": lambda: digits_model("mobilenetv2", "int8"),
    "xnornet": lambda: digits_model("xnornet", "binary"),
}


def layer_macs(out_dir: Path) -> dict[int, int]:
    """MACs (int8) or binary ops of each layer, from the output folder's report.json."""
    layers = json.loads((Path(out_dir) / "report.json").read_text())["layers"]
    return {layer["index"]: layer["macs"] + layer.get("bops", 0) for layer in layers}


def per_mac(per_layer: dict[int, float], macs: dict[int, int], layers: list[int]) -> float:
    """The layers' sum of per_layer (instructions, cycles, floor) over their MACs."""
    total = sum(macs.get(i, 0) for i in layers)
    return sum(per_layer.get(i, 0) for i in layers) / total if total else float("nan")


def print_layers(out_dir: Path, ref, dsp, floors) -> None:
    """Per layer: MACs (or binary ops), instructions __ref and DSP, per MAC, the floor per
    MAC, its kernel."""
    layers = json.loads((Path(out_dir) / "report.json").read_text())["layers"]
    print(f"  {'layer':>5} {'op':<18} {'MACs':>9} {'ref':>9} {'dsp':>9} {'ref/MAC':>7} "
          f"{'dsp/MAC':>7} {'cyc/MAC':>7} {'floor':>6}  kernel (DSP build)")  # fmt: skip
    for layer in layers:
        i, ops = layer["index"], layer["macs"] + layer.get("bops", 0)
        r, d = ref.layers.get(i, 0) if ref else 0, dsp.layers.get(i, 0)
        top = dsp.layer_symbols.get(i)
        kernel = top.most_common(1)[0][0] if top else "-"
        cyc = dsp.cycles.get(i, 0)
        per = (f"{r / ops:>7.2f} {d / ops:>7.2f} {cyc / ops:>7.2f}" if ops
               else f"{'-':>7} {'-':>7} {'-':>7}")  # fmt: skip
        per += f" {floors[i].total / ops:>6.2f}" if i in floors and ops else f" {'-':>6}"
        print(f"  {i:>5} {layer['op']:<18} {ops:>9} {r:>9} {d:>9} {per}  {kernel}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count-all", action="store_true", help="also count mnv2-0.35@96")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--layers", action="store_true", help="also a per-layer instructions table")
    ap.add_argument("--no-ref", action="store_true",
                    help="count the DSP build only (__ref of 0.35@96: ~40 min)")  # fmt: skip
    args = ap.parse_args()
    if not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        print("bench_mcu: arm-none-eabi-gcc or qemu-system-arm not installed; skipped")
        return
    from cnnc import api
    from cnnc.host import mcu, mcu_floor, mcu_stack, mcu_trace

    print(f"{'model':<14} {'bound B':>8} {'arena B':>8} {'min B':>7} {'recomp':>6} {'code O2':>8} "
          f"{'O2 all':>8} {'code Os':>8} {'weights':>8} {'RAM B':>7} {'stack B':>7} {'run B':>6} "
          f"{'i/MAC ref':>9} {'i/MAC dsp':>9} "
          f"{'pw ref':>7} {'pw dsp':>7} {'cyc/MAC':>7} {'pw cyc':>7} {'floor':>6} "
          f"{'pw flr':>6} {'pw ld':>6}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cnnc-bench-mcu-") as tmp:
        for name in args.models.split(","):
            model, precision, x, opts = MODELS[name]()
            m = api.compile(model, Path(tmp, name), precision, x, embed_weights=True,
                            target=TARGET, **opts)  # fmt: skip
            info = m.info
            low = api.compile(model, Path(tmp, name + "-min"), precision, x, embed_weights=True,
                              target=TARGET, memory="min", **opts)  # fmt: skip
            sched = json.loads((low.out_dir / "report.json").read_text())["schedule"]
            o2 = mcu.mcu_size(m.out_dir, TARGET)
            o2_all = mcu.mcu_size(m.out_dir, TARGET, ("-DCNNC_ALL_PATHS",))
            os_ = mcu.mcu_size(m.out_dir, TARGET, ("-Os",))
            weights = info["weights_bytes"]
            stack = mcu_stack.stack_usage(m.out_dir, TARGET)
            ref = dsp = None
            run_stack = mcu_stack.measured_stack(m.out_dir, TARGET, x[:1])
            if args.count_all or name != "mnv2-0.35@96":
                sample = x[:1]  # the float entry point (an int8-io model's shares the layers)
                if not args.no_ref:
                    ref = mcu_trace.count_instructions(m.out_dir, TARGET, sample, REF_FLAGS)
                dsp = mcu_trace.count_instructions(m.out_dir, TARGET, sample)
            macs = layer_macs(m.out_dir)
            floors = mcu_floor.model_floor(m.graph)
            pointwise = [i for i, n in enumerate(m.graph.nodes)
                         if mcu_floor.is_pointwise(n, m.graph)]  # fmt: skip
            floor = {i: f.total for i, f in floors.items()}
            covered = all(i in floors for i, n in macs.items() if n)  # no binary layers
            both = (list(macs), pointwise)  # the whole model, the pointwise layers
            flr = [f"{per_mac(floor, macs, sel):.2f}" if covered else "-" for sel in both]
            loads = {i: f + mcu_floor.register_loads(m.graph.nodes[i], m.graph)
                     for i, f in floor.items()}  # fmt: skip
            flr.append(f"{per_mac(loads, macs, pointwise):.3f}" if covered else "-")
            cells = ["-"] * 6
            if dsp:
                cells = [f"{per_mac(c.layers, macs, sel):.2f}" if c else "-"
                         for sel in both for c in (ref, dsp)]  # fmt: skip
                cells += [f"{per_mac(dsp.cycles, macs, sel):.2f}" for sel in both]
            print(f"{name:<14} {info['arena_lower_bound']:>8} {info['arena_bytes']:>8} "
                  f"{sched['arena_bytes']:>7} {100 * sched['recompute_ratio']:>5.1f}% "
                  f"{o2['flash'] - weights:>8} {o2_all['flash'] - weights:>8} "
                  f"{os_['flash'] - weights:>8} "
                  f"{weights:>8} {o2['ram']:>7} {stack.bytes:>7} {run_stack:>6} "
                  f"{cells[0]:>9} {cells[1]:>9} "
                  f"{cells[2]:>7} {cells[3]:>7} {cells[4]:>7} {cells[5]:>7} {flr[0]:>6} "
                  f"{flr[1]:>6} {flr[2]:>6}",
                  flush=True)  # fmt: skip
            dynamic = f"; dynamic frames: {', '.join(stack.dynamic)}" if stack.dynamic else ""
            print(f"  stack: {' > '.join(stack.path)}{dynamic}")
            if dsp and args.layers:
                print_layers(m.out_dir, ref, dsp, floors)
            if dsp:
                print(f"  {sum(macs.values())} MACs; {ref.inference if ref else '-'} "
                      "instructions __ref, "
                      f"{dsp.inference} DSP; DSP split: " + ", ".join(
                          f"{s} {100 * n / dsp.inference:.1f}%"
                          for s, n in dsp.symbols.most_common(5)), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
