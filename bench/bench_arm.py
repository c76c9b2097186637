"""Instructions per MAC of one inference on ARM, counted exactly under qemu-user, per layer
and per kernel, next to the NEON floor of each kernel family (issue 11).

Models: MobileNetV2 as torch exports torchvision's (the project's builder in
tests/onnx_builders.py, random weights) at 1.0@224 and 0.35@96, the digits MobileNetV2
(zoo, 32x32, 10 classes) and the zoo's XNOR-Net (32x32); precisions float32 (default exact
mode), int8, binary. Targets: aarch64 and armv7, the output folder's runner built as
`cnnc verify --target` builds it (static, the target table's flags).

Method (cnnc.host.icount): qemu's in_asm+exec log streamed through a FIFO; each generated
`layerN` function opens a segment, so a layer's count is its kernels and what they call;
start-up is not counted (the blob CRC is not even logged). A layer's MACs are the report's
(binary MACs for binary layers). Floors are instructions per MAC of the ideal NEON inner
loop: int8 SMLAL/SMLAL2 into int32 lanes 0.25; float32 FMUL+FADD (exact mode) 0.5, FMLA
(fast) 0.25; binary EOR+CNT+accumulate ~3 per 128 binary MACs.

Then llvm-mca (LLVM 14) on the hottest translation block of each hot kernel of the aarch64
build (its inner loop, taken from `objdump -d` by the block's address range): cycles per
iteration and MACs per cycle (the function's MACs per instruction x the loop's size /
its cycles) for -mcpu=cortex-a72 and cortex-a76, with the scheduling model
llvm-mca really used (read from its resource names; LLVM 14 runs cortex-a72 and -a76 on its
Cortex-A57 model, so both give the same cycles), and an advisory single-thread Pi 4 /
Pi 5 latency whose method is printed beside it.

    .venv/bin/python bench/bench_arm.py [--quick] [--models ...] [--targets aarch64 armv7]
        [--precisions int8 ...] [--isa neon]

qemu-aarch64's default CPU ("max") has the ARMv8.2 dot product, so int8 builds run the
SDOT kernels (__neondot) there; --isa neon measures the SMLAL ones (CNNC_ISA caps the
run-time selection).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import cnnc
import numpy as np
from cnnc.errors import ToolchainError
from cnnc.host import icount
from cnnc.host.cross import build_program
from cnnc.host.targets import check_toolchain

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import onnx_builders  # noqa: E402

# (precision, kernel family) -> (floor, goal) in instructions per MAC on NEON
FLOORS = {
    ("int8", "conv"): (0.25, 0.3),
    ("int8", "pwconv"): (0.25, 0.3),
    ("int8", "dense"): (0.25, 0.3),
    ("int8", "dwconv"): (None, 0.6),
    ("float32", "conv"): (0.5, None),
    ("float32", "pwconv"): (0.5, 0.6),
    ("float32", "dense"): (0.5, None),
    ("float32", "dwconv"): (0.5, None),
    ("float32", "dwconv3x3"): (0.5, None),
    ("float32", "conv_oc8"): (0.5, None),
    ("binary", "conv"): (3 / 128, 6.4 / 128),
}
WHOLE_GOALS = {("mnv2 1.0@224", "int8"): 0.4, ("mnv2 0.35@96", "int8"): 0.5}
CPUS = {"Pi 4": ("cortex-a72", 1.8e9), "Pi 5": ("cortex-a76", 2.4e9)}
OBJDUMP = {"aarch64": "aarch64-linux-gnu-objdump", "armv7": "arm-linux-gnueabihf-objdump"}
LLVM_MCA = ("llvm-mca-14", "llvm-mca")
HOT_SHARE = 0.05  # kernels above this share of a model's instructions get an llvm-mca row
CALIB = 8


def torch_mnv2(size: int, width: float):
    return lambda: (onnx_builders.mobilenetv2_pytorch_style(1000, size, width), (3, size, size))


def zoo_model(name: str):
    def build():
        from cnnc.models import export, zoo

        rng = np.random.default_rng(0)
        if name == "xnornet":
            net = zoo.xnornet(input_size=32, rng=rng)
        else:
            net = zoo.MODELS["mobilenetv2"](32, 10, 0.5, rng)
        return export.to_onnx(net, (32, 32, 1)), (1, 32, 32)

    return build


MODELS = {
    "mnv2 1.0@224": (torch_mnv2(224, 1.0), ("int8", "float32")),
    "mnv2 0.35@96": (torch_mnv2(96, 0.35), ("int8", "float32")),
    "digits mnv2": (zoo_model("mnv2"), ("float32", "int8")),
    "xnornet": (zoo_model("xnornet"), ("binary",)),
}
QUICK = ("mnv2 0.35@96", "digits mnv2", "xnornet")


def layer_families(model_c: str) -> dict[int, str]:
    """layer index -> kernel family (conv, pwconv, dwconv, dense, ...) from model.c."""
    out = {}
    for found in re.finditer(r"static void layer(\d+)\(.*?\n\}", model_c, re.S):
        call = re.search(r"kernel_(?:s8|f32|b1)_(\w+)\(ctx\)|cnnc_(?:s8|f32|b1)_(\w+?)__", found[0])
        out[int(found[1])] = (call[1] or call[2]) if call else "-"
    return out


def layer_macs(report: dict) -> dict[int, int]:
    return {lay["index"]: lay.get("macs", 0) + lay.get("bops", 0) for lay in report["layers"]}


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "-"


def fmt_floor(value) -> str:
    return "-" if value is None else f"{value:.3f}"


# ----------------------------------------------------------------------------- llvm-mca


def llvm_mca() -> str | None:
    return next((t for t in LLVM_MCA if shutil.which(t)), None)


def block_asm(listing: dict[int, str], pc: int, size: int) -> str | None:
    """The block's instructions as llvm-mca input: branches into it go to label L0,
    branches out of it are dropped (llvm-mca models no control flow)."""
    addrs = sorted(a for a in listing if a >= pc)[:size]
    lines = ["L0:"]
    for addr in addrs:
        text = listing[addr]
        target = re.search(r"\b([0-9a-f]+) <[^>]*>", text)
        if target:
            if int(target[1], 16) != pc:
                continue
            text = text[: target.start()] + "L0"
        lines.append("  " + text)
    return "\n".join(lines) + "\n" if len(lines) > 1 else None


def disassemble(binary: Path, target: str) -> dict[int, str]:
    """address -> instruction text of the whole program (objdump -d, comments dropped)."""
    out = subprocess.run([OBJDUMP[target], "-d", "--no-show-raw-insn", str(binary)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    listing = {}
    for line in out.splitlines():
        found = re.match(r"^\s+([0-9a-f]+):\s+(\S.*)$", line)
        if found and not found[2].startswith("."):
            listing[int(found[1], 16)] = found[2].split("//")[0].split("@")[0].strip()
    return listing


def mca(asm: str, cpu: str, tool: str) -> tuple[float, str]:
    """(cycles per iteration, the scheduling model's name) from llvm-mca."""
    with tempfile.NamedTemporaryFile("w", suffix=".s") as src:
        src.write(asm)
        src.flush()
        proc = subprocess.run([tool, "-mtriple=aarch64", f"-mcpu={cpu}", "-iterations=1000",
                               src.name], capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise ToolchainError(f"llvm-mca failed: {proc.stderr.strip()[:300]}")
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", proc.stdout)[1]) / 1000
    unit = re.search(r"\[[0-9.]+\]\s+-\s+([A-Za-z0-9]+?)Unit", proc.stdout)
    return cycles, unit[1] if unit else "?"


# ----------------------------------------------------------------------------- one build


def measure(label: str, precision: str, out: Path, target: str, x: np.ndarray, report: dict):
    """Counts one inference; prints the per-layer and per-kernel tables; returns hot data."""
    one = np.ascontiguousarray(x, dtype="<f4").tobytes()
    counted = icount.run_counted(out, target, one, segment=icount.RUN_SEGMENTS,
                                 exclude=icount.STARTUP_SKIP)  # fmt: skip
    layers = icount.split_layers(counted)
    families = layer_families((out / "model.c").read_text())
    macs = layer_macs(report)
    names = {lay["index"]: lay["name"] for lay in report["layers"]}
    total = sum(sum(c.values()) for c in layers.values())
    total_macs = sum(macs.values())
    goal = WHOLE_GOALS.get((label, precision))
    print(f"\n## {label} {precision} on {target}: {total / 1e6:.2f} M instructions for "
          f"{total_macs / 1e6:.2f} M MACs = {ratio(total, total_macs)} per MAC"
          + (f" (goal <= {goal})" if goal else ""))  # fmt: skip
    print(f"{'layer':>5} {'name':<28} {'kernel':<16} {'MACs':>10} {'instr':>11} "
          f"{'instr/MAC':>9} {'floor':>6}")  # fmt: skip
    by_family = defaultdict(lambda: [0, 0])
    for k, counts in layers.items():
        n = sum(counts.values())
        fam = families.get(k, "-")
        floor = FLOORS.get((precision, fam), (None, None))[0]
        by_family[fam][0] += macs.get(k, 0)
        by_family[fam][1] += n
        print(f"{k:>5} {names.get(k, '?')[:28]:<28} {fam:<16} {macs.get(k, 0):>10} {n:>11} "
              f"{ratio(n, macs.get(k, 0)):>9} {fmt_floor(floor):>6}")  # fmt: skip
    print(f"{'kernel family':<16} {'MACs':>11} {'instr':>12} {'instr/MAC':>9} {'floor':>6} "
          f"{'goal':>6} {'share':>6}")  # fmt: skip
    for fam, (m, n) in sorted(by_family.items(), key=lambda kv: -kv[1][1]):
        floor, fgoal = FLOORS.get((precision, fam), (None, None))
        print(f"{fam:<16} {m:>11} {n:>12} {ratio(n, m):>9} {fmt_floor(floor):>6} "
              f"{fmt_floor(fgoal):>6} {100 * n / total:>5.1f}%")  # fmt: skip
    symbols = Counter()
    for counts in layers.values():
        symbols.update(counts)
    print(f"{'C function':<34} {'instr':>12} {'share':>6}")
    for name, n in symbols.most_common(8):
        print(f"{name[:34]:<34} {n:>12} {100 * n / total:>5.1f}%")
    return counted, layers, macs, symbols, total


def hot_loops(out: Path, counted, layers, macs, symbols, total, tool: str):
    """llvm-mca rows for the hot kernels of the aarch64 build, and the Pi latency estimate."""
    binary = build_program(out, "aarch64")
    listing = disassemble(binary, "aarch64")
    syms = icount.read_symbols(binary)
    ipc = {cpu: {} for cpu, _ in CPUS.values()}
    heads = [f"{c[7:] + ' cyc/it':>11} {'MAC/cyc':>7} {'model':>6}" for c, _ in CPUS.values()]
    print(f"{'hot loop (aarch64)':<30} {'instr/iter':>10} " + " ".join(heads))
    for name, n in symbols.most_common():
        if n < HOT_SHARE * total:
            break
        blocks = [(size * runs, pc, size, runs) for pc, (size, runs) in counted.blocks.items()
                  if syms.find(pc) == name]  # fmt: skip
        if not blocks:
            continue
        _, pc, size, runs = max(blocks)
        asm = block_asm(listing, pc, size)
        if asm is None:
            continue
        # MACs per iteration: the function's MACs per instruction times the loop's size
        # (assumes the MACs are spread like the instructions; advisory)
        kernel_macs = sum(macs.get(k, 0) for k, c in layers.items() if c.get(name))
        macs_per_iter = kernel_macs * size / n
        row = f"{name[:30]:<30} {size:>10} "
        for cpu, _ in CPUS.values():
            cycles, model = mca(asm, cpu, tool)
            ipc[cpu][name] = size / cycles
            row += f"{cycles:>11.2f} {macs_per_iter / cycles:>7.2f} {model:>6} "
        print(row)
    for board, (cpu, hz) in CPUS.items():
        cycles = sum(n / ipc[cpu].get(name, 1.0) for name, n in symbols.items())
        print(f"advisory {board} ({cpu}, {hz / 1e9:.1f} GHz, 1 thread): {1e3 * cycles / hz:.1f} ms"
              " = sum over functions of counted instructions / llvm-mca IPC of the function's"
              " hottest block (IPC 1 for the rest), no cache or memory stalls")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--models", nargs="*", choices=list(MODELS), help="default: all")
    ap.add_argument("--targets", nargs="*", default=["aarch64", "armv7"])
    ap.add_argument("--precisions", nargs="*", help="default: each model's (int8, float32, ...)")
    ap.add_argument("--isa", help="CNNC_ISA for the runs, e.g. neon: the SMLAL int8 kernels on "
                    "qemu's default CPU, which has the dot product (default: native)")  # fmt: skip
    args = ap.parse_args()
    if args.isa:  # qemu-user hands its environment to the program
        os.environ["CNNC_ISA"] = args.isa
        print(f"CNNC_ISA={args.isa}")
    try:
        for target in args.targets:
            check_toolchain(target, run=True)
    except ToolchainError as err:
        print(f"bench_arm: skipped, {err}")
        return
    tool = llvm_mca()
    names = args.models or (QUICK if args.quick else list(MODELS))
    rng = np.random.default_rng(0)
    for label in names:
        build, precisions = MODELS[label]
        model, shape = build()
        calib = rng.standard_normal((CALIB, *shape)).astype(np.float32)
        x = calib[:1]
        for precision in precisions:
            if args.precisions and precision not in args.precisions:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                kwargs = {} if precision == "float32" else {"calibration": calib}
                cm = cnnc.compile(model, Path(tmp) / "out", precision=precision, **kwargs)
                for target in args.targets:
                    found = measure(label, precision, cm.out_dir, target, x, cm.report)
                    if target == "aarch64" and tool:
                        hot_loops(cm.out_dir, *found, tool)


if __name__ == "__main__":
    main()
