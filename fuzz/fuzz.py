"""Builds and runs the libFuzzer targets: `make fuzz FUZZ_SECONDS=60`.

Targets (clang -fsanitize=fuzzer,address,undefined; UBSan reports abort, so libFuzzer
records them as crashes):

    blob          runtime_c/kernels/blob.c on any bytes (fuzz_blob.c)
    model_int8    init + run of the tiny conv net compiled --precision int8 (fuzz_model.c)
    model_int8_ota  the same with -DCNNC_MODEL_ANY_WEIGHTS (no content hash: CRC-valid
                  edits pass init unless a stored-value range check refuses them, and run)
    model_binary  init + run of a small XNOR-Net compiled --precision binary

The two models are compiled at fuzz time from tests/fuzz/seeds.py into BUILD/ (default
build/fuzz). Each target starts from its seed corpus in fuzz/corpus/<target>/ plus, for a
model, its fresh weights.bin (with mode bytes 0 and 1: raw, and CRC fixed by the harness),
and writes new inputs to BUILD/corpus/<target>/ and findings to BUILD/findings/.
Prints one row per target: executions, coverage (edges), features, corpus, findings.

    python fuzz/fuzz.py --seconds 60 [--targets blob model_int8] [--build build/fuzz]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

TARGETS = ["blob", "model_int8", "model_int8_ota", "model_binary"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
CFLAGS = ["-std=gnu99", "-ffp-contract=off", "-I" + str(FUZZ)]


def compile_models(build: Path) -> dict[str, Path]:
    """The two seed models, compiled with cnnc into build/model_int8, build/model_binary."""
    import cnnc
    import numpy as np
    import seeds

    rng = np.random.default_rng(14)
    tiny = seeds.tiny_onnx(rng)
    cal = seeds.calibration(rng)
    out = {"model_int8": build / "model_int8", "model_binary": build / "model_binary"}
    cnnc.compile(tiny, out["model_int8"], precision="int8", calibration=cal)
    cnnc.compile(seeds.xnor_onnx(0), out["model_binary"], precision="binary")
    return out


def run_takes_arena_bytes(model_h: str) -> bool:
    """True once cnnc_model_run has the size_t arena_bytes parameter (issue 14)."""
    proto = re.search(r"int cnnc_model_run\((.*?)\);", model_h, re.S)
    return proto is not None and "arena_bytes" in proto.group(1)


def target_sources(target: str, folder: Path | None) -> tuple[list[str], list[str]]:
    """(sources, extra flags) of one target."""
    kernels = ROOT / "runtime_c" / "kernels"
    if target == "blob":
        include = ["-I" + str(ROOT / "runtime_c" / "include")]
        return [
            str(FUZZ / "fuzz_blob.c"),
            str(kernels / "blob.c"),
            str(kernels / "crc32.c"),
        ], include
    runtime = folder / "cnnc_runtime"
    srcs = [str(FUZZ / "fuzz_model.c"), str(folder / "model.c")]
    srcs += sorted(str(p) for p in (runtime / "kernels").glob("*.c"))
    flags = ["-I" + str(folder), "-I" + str(runtime / "include")]
    if run_takes_arena_bytes((folder / "model.h").read_text()):
        flags.append("-DCNNC_FUZZ_RUN_ARENA_BYTES=1")
    return srcs, flags


def build_target(
    target: str, build: Path, folder: Path | None, replay: bool = False, name: str = ""
) -> Path:
    """clang the target: a libFuzzer binary, or (replay) a stdin-driven one for campaign.py
    whose sanitizer reports do not stop it (-fsanitize-recover, halt_on_error=0). A target
    name ending in _ota builds model.c with -DCNNC_MODEL_ANY_WEIGHTS (the documented
    over-the-air opt-out: no content hash, so CRC-valid edits reach the range checks)."""
    srcs, flags = target_sources(target, folder)
    name = name or target
    if name.endswith("_ota"):
        flags = [*flags, "-DCNNC_MODEL_ANY_WEIGHTS"]
    exe = build / "bin" / (f"{name}_replay" if replay else f"fuzz_{name}")
    exe.parent.mkdir(parents=True, exist_ok=True)
    if replay:
        mode = ["-DCNNC_FUZZ_REPLAY", "-fsanitize-recover=address,undefined"]
    else:
        mode = ["-fsanitize=fuzzer", "-fno-sanitize-recover=undefined"]
    cmd = ["clang", *CFLAGS, *SANITIZE, *mode, *flags, *srcs, "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"fuzz: build of {target} failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return exe


def seed_corpus(target: str, build: Path, folder: Path | None, name: str = "") -> Path:
    """BUILD/corpus/<name>: the repo's seeds of target, plus a model's current weights.bin."""
    work = build / "corpus" / (name or target)
    work.mkdir(parents=True, exist_ok=True)
    for seed in sorted((FUZZ / "corpus" / target).glob("*")):
        shutil.copy(seed, work / seed.name)
    if folder is not None:
        blob = (folder / "weights.bin").read_bytes()
        for mode in (0, 1, 3):  # raw, CRC fixed by the harness, CRC fixed + hostile input
            (work / f"current_mode{mode}").write_bytes(bytes([mode]) + blob)
    return work


def run_target(exe: Path, corpus: Path, findings: Path, seconds: int) -> dict:
    """One libFuzzer run; it stops at the first finding (saved to findings/)."""
    findings.mkdir(parents=True, exist_ok=True)
    before = set(findings.iterdir())
    cmd = [
        str(exe),
        str(corpus),
        f"-max_total_time={seconds}",
        "-max_len=8192",
        "-print_final_stats=1",
        f"-artifact_prefix={findings}/{exe.name}-",
        "-timeout=10",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    log = proc.stderr
    (findings.parent / f"{exe.name}.log").write_text(log)
    stat = dict(re.findall(r"stat::(\w+):\s+(\d+)", log))
    last = re.findall(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log)
    execs, cov, ft, corp = max(last, key=lambda r: int(r[0])) if last else ("0",) * 4
    new = sorted(set(findings.iterdir()) - before)
    return {
        "execs": int(stat.get("number_of_executed_units", execs)),
        "per_second": int(stat.get("average_exec_per_sec", 0)),
        "cov": int(cov),
        "ft": int(ft),
        "corpus": int(corp),
        "findings": len(new),
        "files": [p.name for p in new],
        "exit": proc.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--targets", nargs="+", default=TARGETS, choices=TARGETS)
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "fuzz")
    args = parser.parse_args(argv)
    if shutil.which("clang") is None:
        sys.exit("fuzz: clang not found (install Debian packages clang libclang-rt-14-dev)")
    build = args.build.resolve()
    folders = compile_models(build) if any(t != "blob" for t in args.targets) else {}
    rows = []
    for target in args.targets:
        model = target.removesuffix("_ota")
        folder = folders.get(model)
        exe = build_target(model, build, folder, name=target)
        corpus = seed_corpus(model, build, folder, name=target)
        print(f"fuzzing {target} for {args.seconds} s ...", flush=True)
        rows.append((target, run_target(exe, corpus, build / "findings", args.seconds)))
    print(f"\n{'target':<14} {'executions':>11} {'exec/s':>7} {'cov':>6} {'ft':>6} "
          f"{'corpus':>6} {'findings':>8}")  # fmt: skip
    for target, r in rows:
        print(f"{target:<14} {r['execs']:>11,} {r['per_second']:>7,} {r['cov']:>6} {r['ft']:>6} "
              f"{r['corpus']:>6} {r['findings']:>8}")  # fmt: skip
        for name in r["files"]:
            print(f"    finding: {build / 'findings' / name}")
    return 1 if any(r["findings"] for _, r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
