"""A one-off fuzzing campaign over cnnc's two untrusted inputs; prints a table.

    nice python fuzz/campaign.py [--onnx 2000] [--blobs 5400] [--seed 14] [--build build/campaign]

ONNX: --onnx mutated models (byte mutations of the seed files and structured edits from
tests/fuzz/mutators.py) through `cnnc compile` as float32, int8 and binary, in a worker
process restarted after a crash. Each case is counted as compiled, refused cleanly
(`cnnc: error:` only), internal error, dirty stderr (a traceback, warning or other
line), injected C (a hostile name reached the compiler) or crash.

Blobs: --blobs cases per model (int8 and binary, compiled from tests/fuzz/seeds.py; the
int8 one twice: as compiled, and as model_int8_ota with -DCNNC_MODEL_ANY_WEIGHTS, the
over-the-air opt-out without the content hash, where CRC-valid payload edits pass init
and reach the kernels unless a stored-value range check refuses them): bit flips,
truncations, splices, appended bytes, CRC-valid payload and header edits, and other
models' blobs, fed to a replay build of fuzz/fuzz_model.c (clang, ASan + UBSan,
recovering) that runs the model whenever init accepts the blob. Every accepted case is
replayed again alone, so sanitizer reports are counted per case. Counted: accepted (init
returned CNNC_OK), sanitizer reports, crashes, and silent acceptance of another model's
blob.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT / "fuzz"))

import mutators  # noqa: E402

import fuzz  # noqa: E402

ONNX_OUTCOMES = ["compiled", "refused", "internal", "dirty", "injected", "crash"]

# ---------------------------------------------------------------- ONNX


def onnx_case(i: int, seed: int, seed_dir: Path) -> tuple[bytes, str, str]:
    """Case i: (model bytes, precision, description); a pure function of (i, seed)."""
    import onnx

    pick = mutators.RandomPick(seed * 1_000_003 + i)
    precision = pick.choice(["float32"] * 6 + ["int8"] * 3 + ["binary"])
    seed_file = "xnor.onnx" if precision == "binary" else "tiny.onnx"
    data = (seed_dir / seed_file).read_bytes()
    if pick.int(0, 1):
        other = (seed_dir / ("tiny.onnx" if seed_file == "xnor.onnx" else "xnor.onnx")).read_bytes()
        mutated, what = mutators.mutate_bytes(data, other, pick)
        return mutated, precision, f"bytes: {what}"
    model, what = mutators.mutate_onnx(onnx.load_from_string(data), pick)
    return model.SerializeToString(), precision, f"structured: {what}"


def onnx_worker(start: int, stop: int, seed: int, build: Path) -> None:
    """Runs cases [start, stop); one JSON line per case on stdout."""
    import seeds

    seed_dir = build / "seeds"
    for i in range(start, stop):
        data, precision, what = onnx_case(i, seed, seed_dir)
        work = build / "onnx" / f"case{i % 4}"
        subprocess.run(["rm", "-rf", str(work)], check=True)
        work.mkdir(parents=True)
        (work / "m.onnx").write_bytes(data)
        argv = ["compile", str(work / "m.onnx"), "-o", str(work / "out"), "--precision", precision]
        if precision == "int8":
            argv += ["--calibration", str(seed_dir / "cal.npz")]
        print(json.dumps({"i": i, "start": True}), flush=True)
        result = seeds.run_cli(argv)
        problems = result.problems()
        outcome = "compiled" if result.code == 0 else "refused"
        if any("internal error" in p for p in problems):
            outcome = "internal"
        elif problems:
            outcome = "dirty"
        elif result.code == 0 and any(
            mutators.PWNED in (work / "out" / f).read_text(errors="replace")
            for f in ("model.h", "model.c", "demo_config.h")
            if (work / "out" / f).is_file()
        ):
            problems = seeds.injected_c(work / "out", mutators.PWNED)
            outcome = "injected" if problems else outcome
        line = {"i": i, "outcome": outcome, "precision": precision, "what": what[:200]}
        line["problem"] = problems[0][:300] if problems else ""
        print(json.dumps(line), flush=True)


def run_onnx(n: int, seed: int, build: Path) -> list[dict]:
    rows, next_case = [], 0
    while next_case < n:
        cmd = [sys.executable, __file__, "--worker", str(next_case), str(n), "--seed", str(seed),
               "--build", str(build)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        started = None
        for line in proc.stdout.splitlines():
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            if rec.get("start"):
                started = rec["i"]
            else:
                rows.append(rec)
                next_case, started = rec["i"] + 1, None
        if proc.returncode != 0 or started is not None:
            i = started if started is not None else next_case
            if proc.returncode > 0:  # a Python exception in this script, not in cnnc
                sys.exit(f"campaign: worker failed at case {i}:\n{proc.stderr[-2000:]}")
            rows.append(
                {
                    "i": i,
                    "outcome": "crash",
                    "precision": "?",
                    "what": "",
                    "problem": f"worker exit {proc.returncode}: {proc.stderr[-300:]}",
                }
            )
            next_case = i + 1
    return rows


# ---------------------------------------------------------------- blobs

BLOB_KINDS = {  # kind: share of the cases
    "bit flips": 0.28,
    "truncation": 0.13,
    "splice/overwrite": 0.15,
    "appended bytes": 0.02,
    "CRC-valid payload edit": 0.27,
    "CRC-valid header/table edit": 0.15,
}


def blob_cases(blob: bytes, others: dict[str, bytes], n: int, seed: int):
    """[(kind, mode byte, bytes, description)]; others: name -> another model's blob."""
    pick = mutators.RandomPick(seed)
    cases = [("another model's blob", 0, b, name) for name, b in others.items()]
    for kind, share in BLOB_KINDS.items():
        for _ in range(round(n * share)):
            if kind == "bit flips":
                data, what = mutators.flip_bits(blob, pick)
            elif kind == "truncation":
                data, what = mutators.truncate(blob, pick)
            elif kind == "splice/overwrite":
                data, what = (mutators.splice(blob, blob[::-1], pick) if pick.int(0, 1)
                              else mutators.overwrite(blob, pick))  # fmt: skip
                if data[: len(blob)] == blob:  # only appended: counted under appended bytes
                    continue
            elif kind == "appended bytes":
                data, what = mutators.extend(blob, pick)
            elif kind == "CRC-valid payload edit":
                data, what = mutators.payload_edit(blob, pick)
            else:
                data, what = mutators.header_edit(blob, pick)
            if data != blob:
                cases.append((kind, pick.choice([0, 0, 2]), data, what))
    return cases


def replay(exe: Path, cases: list[tuple[int, bytes]]) -> tuple[dict[int, int], str, int]:
    """Streams (index-in-cases, mode+blob) to the replay binary; returns (ran per case, stderr,
    exit code)."""
    stream = b"".join(struct.pack("<I", len(d)) + d for _, d in cases)
    env = {"ASAN_OPTIONS": "halt_on_error=0:detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=0",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    proc = subprocess.run([str(exe)], input=stream, capture_output=True, env=env)
    ran = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "case":
            ran[int(parts[1])] = int(parts[3])
    return ran, proc.stderr.decode(errors="replace"), proc.returncode


def sanitizer_report(stderr: str) -> str:
    for line in stderr.splitlines():
        if "runtime error:" in line or "ERROR: AddressSanitizer" in line:
            return line.strip()[:300]
    return ""


def run_blobs(exe: Path, cases) -> list[dict]:
    """Every case through one replay process (restarted after a crash), then each
    accepted case alone, to attribute sanitizer reports."""
    rows, start = {}, 0
    while start < len(cases):
        batch = [(i, bytes([mode]) + data) for i, (_, mode, data, _) in enumerate(cases)][start:]
        ran, _, code = replay(exe, batch)
        for j, r in ran.items():
            kind, _, _, what = cases[start + j]
            rows[start + j] = {"kind": kind, "what": what, "accepted": bool(r), "report": "",
                               "crash": False}  # fmt: skip
        done = max(ran) + 1 if ran else 0
        if start + done < len(cases) and code != 0:
            kind, _, _, what = cases[start + done]
            rows[start + done] = {"kind": kind, "what": what, "accepted": True, "report": "",
                                  "crash": True}  # fmt: skip
            done += 1
        start += done
    for i, row in rows.items():
        if row["accepted"] and not row["crash"]:
            _, mode, data, _ = cases[i]
            _, stderr, code = replay(exe, [(0, bytes([mode]) + data)])
            row["report"] = sanitizer_report(stderr)
            row["crash"] = code != 0 and not row["report"]
    return [rows[i] for i in sorted(rows)]


# ---------------------------------------------------------------- setup and table


def prepare(build: Path) -> dict[str, Path]:
    """Seed files and the compiled folders the blob part needs."""
    import cnnc
    import numpy as np
    import onnx
    import seeds

    seed_dir = build / "seeds"
    seed_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(14)
    tiny = seeds.tiny_onnx(rng)
    cal = seeds.calibration(rng)
    onnx.save(tiny, seed_dir / "tiny.onnx")
    onnx.save(seeds.xnor_onnx(0), seed_dir / "xnor.onnx")
    np.savez(seed_dir / "cal.npz", x=cal)
    folders = fuzz.compile_models(build)  # model_int8, model_binary (same seeds)
    others = {
        "int8_other_weights": (seeds.tiny_onnx(np.random.default_rng(99)), "int8", cal),
        "int8_other_calibration": (tiny, "int8", cal * 3 + 1),
        "binary_other_weights": (seeds.xnor_onnx(1), "binary", None),
    }
    for name, (model, precision, c) in others.items():
        folders[name] = build / name
        cnnc.compile(model, folders[name], precision=precision, calibration=c)
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=int, default=2000, help="mutated ONNX files")
    parser.add_argument("--blobs", type=int, default=5400, help="blob mutations per model")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "campaign")
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    build = args.build.resolve()
    if args.worker:
        onnx_worker(args.worker[0], args.worker[1], args.seed, build)
        return 0

    t0 = time.time()
    folders = prepare(build)
    blob_rows = []
    int8_others = ["int8_other_weights", "int8_other_calibration", "model_binary"]
    for name, others in (("model_int8", int8_others), ("model_int8_ota", int8_others),
                         ("model_binary", ["binary_other_weights", "model_int8"])):  # fmt: skip
        model = name.removesuffix("_ota")  # _ota: model.c built -DCNNC_MODEL_ANY_WEIGHTS
        exe = fuzz.build_target(model, build, folders[model], replay=True, name=name)
        blob = (folders[model] / "weights.bin").read_bytes()
        other_blobs = {o: (folders[o] / "weights.bin").read_bytes() for o in others}
        cases = blob_cases(blob, other_blobs, args.blobs, args.seed)
        blob_rows += [dict(r, model=name) for r in run_blobs(exe, cases)]
    t_blobs = time.time() - t0
    (build / "blob_results.json").write_text(json.dumps(blob_rows, indent=0))
    onnx_rows = run_onnx(args.onnx, args.seed, build)
    t_onnx = time.time() - t0 - t_blobs
    (build / "onnx_results.json").write_text(json.dumps(onnx_rows, indent=0))
    (build / "blob_results.json").write_text(json.dumps(blob_rows, indent=0))
    print_tables(onnx_rows, blob_rows, t_onnx, t_blobs)
    return 0


def print_tables(onnx_rows, blob_rows, t_onnx: float, t_blobs: float) -> None:
    print(f"\nONNX: {len(onnx_rows)} mutated files through `cnnc compile` ({t_onnx:.0f} s)")
    print(f"{'precision':<10} {'cases':>6} " + " ".join(f"{o:>9}" for o in ONNX_OUTCOMES))
    by_precision = defaultdict(Counter)
    for r in onnx_rows:
        by_precision[r["precision"]][r["outcome"]] += 1
        by_precision["all"][r["outcome"]] += 1
    for p in ["float32", "int8", "binary", "?", "all"]:
        if p in by_precision:
            c = by_precision[p]
            print(f"{p:<10} {sum(c.values()):>6} " + " ".join(f"{c[o]:>9}" for o in ONNX_OUTCOMES))
    bad = Counter((r["outcome"], r["problem"][:120]) for r in onnx_rows
                  if r["outcome"] not in ("compiled", "refused"))  # fmt: skip
    for (outcome, problem), count in bad.most_common(15):
        example = next(r for r in onnx_rows if r["outcome"] == outcome and
                       r["problem"][:120] == problem)  # fmt: skip
        print(f"  {count:>4} x {outcome}: {problem}\n         e.g. case {example['i']} "
              f"({example['precision']}): {example['what'][:110]}")  # fmt: skip

    print(
        f"\nBlobs: {len(blob_rows)} mutated blobs through init (+ run when accepted), "
        f"ASan + UBSan ({t_blobs:.0f} s)"
    )
    print(f"{'model':<15} {'mutation':<29} {'cases':>6} {'accepted':>8} {'sanitizer':>9} "
          f"{'crash':>5}")  # fmt: skip
    groups = defaultdict(list)
    for r in blob_rows:
        groups[(r["model"], r["kind"])].append(r)
    for (model, kind), rs in sorted(groups.items()):
        print(
            f"{model:<15} {kind:<29} {len(rs):>6} {sum(r['accepted'] for r in rs):>8} "
            f"{sum(bool(r['report']) for r in rs):>9} {sum(r['crash'] for r in rs):>5}"
        )
    print(
        f"{'all':<15} {'':<29} {len(blob_rows):>6} "
        f"{sum(r['accepted'] for r in blob_rows):>8} "
        f"{sum(bool(r['report']) for r in blob_rows):>9} {sum(r['crash'] for r in blob_rows):>5}"
    )
    silent = [r for r in blob_rows if r["kind"] == "another model's blob" and r["accepted"]]
    print(
        f"silent acceptances of another model's blob: {len(silent)} "
        f"({', '.join(r['model'] + ' <- ' + r['what'] for r in silent)})"
    )
    reports = Counter(re.sub(r"\d+", "N", r["report"].split("runtime error:")[-1].strip()[:100])
                      for r in blob_rows if r["report"])  # fmt: skip
    for report, count in reports.most_common(10):
        print(f"  {count:>5} x {report}")


if __name__ == "__main__":
    sys.exit(main())
