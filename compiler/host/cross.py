"""Run a compiled output folder on a target: cross-compile its runner, execute it under qemu-user.

``run(out_dir, target, x)`` builds ``runner.c`` with the model and the runtime
copied into the folder, using the target's compiler and flags from
``cnnc.host.targets.TARGETS``, links it statically (so qemu needs no target
libraries and the same binary runs on a board), feeds the samples on stdin and
parses the outputs from stdout. ``host`` runs the same program natively, which
is how the runner protocol itself is tested against cffi. The Cortex-M targets
run on an emulated MPS2 board (``qemu-system-arm``) with semihosting: newlib's
rdimon library serves the runner's files from the host, so the same runner.c
verifies the freestanding build bit for bit.

Builds are cached like ``cnnc.host.cbuild``: one object per source, keyed by compiler, flags,
the source and every header, so a test grid that runs one folder many times compiles once,
and the runtime that every folder copies compiles once per target.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import BlobError, ShapeError, ToolchainError
from .cbuild import cache_dir
from .targets import (
    C_STD,
    FP_FLAGS,
    QEMU_SYSTEM,
    WARNINGS,
    Target,
    check_toolchain,
    target_cc,
    templates_dir,
)

RUN_TIMEOUT_S = 1800  # qemu runs of a whole data set are slow; a hang still ends
RUNNER_EXIT = {2: "bad arguments or input", 3: "model init failed", 4: "model run failed"}
FAULT_EXIT = 70  # mcu_semihost.c's fault handler


def model_define(out_dir: str | Path, name: str) -> int:
    """The integer value of ``#define CNNC_MODEL_<name>`` in the folder's model.h."""
    header = Path(out_dir) / "model.h"
    if not header.is_file():
        raise BlobError(f"{out_dir}: no model.h (is this a cnnc output folder?)")
    found = re.search(rf"#define\s+CNNC_MODEL_{name}\s+\(?(\d+)", header.read_text())
    if found is None:
        raise BlobError(f"{header}: no '#define CNNC_MODEL_{name} <number>'")
    return int(found.group(1))


def model_sources(out_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """(C sources, include dirs) of the model and its copied runtime, in a stable order."""
    out = Path(out_dir)
    runtime = out / "cnnc_runtime"
    sources = [out / "model.c", *sorted(runtime.glob("*.c")), *sorted(runtime.glob("kernels/*.c"))]
    includes = [out, runtime, runtime / "include", runtime / "kernels"]
    return sources, [d for d in includes if d.is_dir()]


def program_source(out_dir: str | Path, name: str) -> Path:
    """The folder's copy of a template program (runner.c, ...), else the packaged template."""
    local = Path(out_dir) / name
    return local if local.is_file() else templates_dir() / name


def build_flags(target: Target) -> list[str]:
    flags = [*C_STD, *WARNINGS, "-Werror", *FP_FLAGS, *target.cflags]
    return flags + (["-static"] if target.qemu else [])


# Linking a program for an emulated Cortex-M board: newlib's semihosting library (stdio and
# files served by the emulator) and the vector table of mcu_semihost.c at address 0.
SEMIHOST_LINK = ["--specs=rdimon.specs", "-Wl,--section-start=.vectors=0"]


def build_program(out_dir: str | Path, target_name: str, program: str = "runner.c",
                  extra_flags: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """Compiles ``program`` with the folder's model and runtime for the target (cached);
    ``extra_flags`` go after the target's (e.g. -DCNNC_CPU_MASK=0 to measure __ref)."""
    target = check_toolchain(target_name)
    cc = target_cc(target)
    sources, includes = model_sources(out_dir)
    sources.append(program_source(out_dir, program))
    includes.append(templates_dir())  # host_io.h when the folder has none (searched last)
    flags = [*build_flags(target), *extra_flags]
    if target.freestanding:
        sources.append(program_source(out_dir, "mcu_semihost.c"))
        flags += SEMIHOST_LINK
    key = hashlib.sha256()
    for part in [cc, *flags]:
        key.update(part.encode() + b"\0")
    for src in sources:
        key.update(src.name.encode() + b"\0" + src.read_bytes())
    for inc in includes:
        for header in sorted(inc.glob("*.h")):
            key.update(header.name.encode() + b"\0" + header.read_bytes())
    out = cache_dir() / "cross" / f"{Path(program).stem}-{target.name}-{key.hexdigest()[:20]}"
    if out.exists():
        return out
    compile_flags = [f for f in flags if f != "-static" and not f.startswith("-Wl,")]
    objects = [compile_object(cc, compile_flags, includes, src, target.name) for src in sources]
    return _cached_build(
        out, [cc, *flags, *map(str, objects), "-lm"], f"{target.name} build of {out_dir}"
    )


INCLUDE = re.compile(rb"^\s*#\s*include\s*(.*)$", re.M)


def included_headers(src: Path, includes: list[Path]) -> list[Path]:
    """Every header ``src`` can reach through ``includes`` (each #include line followed,
    conditional or not: over-approximating is safe); every header in ``includes`` when an
    #include names a macro. Headers found in no folder are the compiler's own."""
    found, stack = {}, [src]
    while stack:
        current = stack.pop()
        for spec in INCLUDE.findall(current.read_bytes()):
            spec = spec.strip()
            if spec[:1] not in (b'"', b"<"):
                return sorted({h for inc in includes for h in inc.glob("*.h")})
            name = spec[1:].split(b'"' if spec[:1] == b'"' else b">")[0].decode(errors="replace")
            for folder in ([current.parent] if spec[:1] == b'"' else []) + includes:
                path = folder / name
                if path.is_file():
                    if path.resolve() not in found:
                        found[path.resolve()] = path
                        stack.append(path)
                    break
    return sorted(found.values())


def compile_object(cc: str, flags: list[str], includes: list[Path], src: Path, target: str) -> Path:
    """One source's object, cached by compiler, flags, the source and the headers it includes:
    the runtime files every folder copies compile once per target, not once per model."""
    key = hashlib.sha256()
    for part in [cc, *flags]:
        key.update(part.encode() + b"\0")
    key.update(src.name.encode() + b"\0" + src.read_bytes())
    for header in included_headers(src, includes):
        key.update(b"\1" + header.name.encode() + b"\0" + header.read_bytes())
    out = cache_dir() / "cross" / f"{src.stem}-{target}-{key.hexdigest()[:20]}.o"
    cmd = [cc, *flags, *(f"-I{d}" for d in includes), "-c", str(src)]
    return _cached_build(out, cmd, f"{target} build of {src}")


def build_failure(proc: subprocess.CompletedProcess) -> bool:
    """A compile failed, or the assembler spoke: gas only warns (and exits 0, even with
    --fatal-warnings, which does not count this one) when an LDM/STM register list of the
    DSP kernels' asm came out of ascending order, and then loads the registers in ascending
    order: other values than the asm meant, wrong bytes without an error."""
    return proc.returncode != 0 or "Assembler messages:" in proc.stderr


def _cached_build(out: Path, cmd: list[str], what: str) -> Path:
    """``out``, made by running ``cmd`` + ``-o tmp`` if missing (temporary name, renamed; a lock
    per entry so pytest-xdist workers needing the same file build it once)."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{out}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        fd, tmp = tempfile.mkstemp(dir=out.parent)
        os.close(fd)
        proc = subprocess.run([*cmd, "-o", tmp], capture_output=True, text=True)
        if build_failure(proc):
            Path(tmp).unlink(missing_ok=True)  # gcc removes its output on failure
            raise ToolchainError(f"{what} failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
        os.replace(tmp, out)
    return out


def runner_args(out_dir: str | Path, args: list[str]) -> list[str]:
    weights = Path(out_dir) / "weights.bin"
    return [*(["-w", str(weights.resolve())] if weights.is_file() else []), *args]


def run_linux(binary: Path, target: Target, args: list[str], x: bytes):
    """The runner natively or under qemu-user, samples on stdin; (status, stdout, messages)."""
    cmd = [str(binary), *args]
    if target.qemu:
        cmd = [target.qemu, "-L", target.sysroot, *cmd]
    try:
        proc = subprocess.run(cmd, input=x, capture_output=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{' '.join(cmd)}: no result after {RUN_TIMEOUT_S} s") from None
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


def run_board(binary: Path, target: Target, args: list[str], x: bytes):
    """The runner on an emulated Cortex-M board; files through semihosting, in a scratch dir."""
    with tempfile.TemporaryDirectory(prefix="cnnc-mcu-") as tmp:
        Path(tmp, "in.f32").write_bytes(x)
        argv = ["runner", *args, "-i", "in.f32", "-o", "out.bin"]
        config = ",".join(["enable=on", "target=native",
                           *(f"arg={a.replace(',', ',,')}" for a in argv)])  # fmt: skip
        cmd = [QEMU_SYSTEM, "-M", target.board, "-nographic", "-monitor", "none",
               "-semihosting-config", config, "-kernel", str(binary)]  # fmt: skip
        try:
            proc = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=RUN_TIMEOUT_S)  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"{' '.join(cmd)}: no result after {RUN_TIMEOUT_S} s") from None
        out = Path(tmp, "out.bin")
        stdout = out.read_bytes() if out.is_file() else b""
    messages = (proc.stdout + proc.stderr).decode(errors="replace")
    return proc.returncode, stdout, messages


def execute(out_dir: str | Path, target_name: str, x: np.ndarray, args: list[str],
            extra_flags: tuple[str, ...] = ()) -> bytes:  # fmt: skip
    """Runs the folder's runner on the target with the samples of ``x``; returns its output.
    ``extra_flags`` go after the target's build flags (build_program)."""
    size = model_define(out_dir, "INPUT_SIZE")
    x = np.ascontiguousarray(x, dtype="<f4")
    if x.size == 0 or x.size % size:
        raise ShapeError(
            f"{out_dir}: input of shape {x.shape} is not a whole number of samples of {size} floats"
        )
    binary = build_program(out_dir, target_name, extra_flags=extra_flags)
    target = check_toolchain(target_name, run=True)
    runner = run_board if target.board else run_linux
    status, stdout, messages = runner(binary, target, runner_args(out_dir, args), x.tobytes())
    if status != 0:
        why = RUNNER_EXIT.get(status, f"exit status {status}")
        if status < 0:
            why = f"killed by signal {-status} (crash in the C code)"
        elif status == FAULT_EXIT:
            why = "processor fault (crash in the C code)"
        error = BlobError if status == 3 else ToolchainError
        raise error(f"{out_dir} on {target_name}: {why}: {messages.strip()}")
    return stdout


def run(out_dir: str | Path, target: str, x: np.ndarray,
        extra_flags: tuple[str, ...] = ()) -> np.ndarray:  # fmt: skip
    """Model outputs for the samples in ``x`` (float32, ONNX layout, any leading batch shape),
    the runner built with ``extra_flags`` after the target's flags.

    Returns float32 of shape [N, CNNC_MODEL_OUTPUT_SIZE], N = x.size / CNNC_MODEL_INPUT_SIZE.
    """
    out_size = model_define(out_dir, "OUTPUT_SIZE")
    n = np.asarray(x).size // model_define(out_dir, "INPUT_SIZE")
    raw = execute(out_dir, target, x, [], extra_flags)
    if len(raw) != n * out_size * 4:
        raise ToolchainError(
            f"{out_dir} on {target}: runner wrote {len(raw)} bytes, "
            f"expected {n} samples x {out_size} floats"
        )
    return np.frombuffer(raw, dtype="<f4").reshape(n, out_size).astype(np.float32)


def split_records(raw: bytes, count: int, where: str) -> list[bytes]:
    """Splits the runner's --layers stream (uint64 byte count, then bytes) into records."""
    records, pos = [], 0
    for _ in range(count):
        if pos + 8 > len(raw):
            raise ToolchainError(f"{where}: layer stream ends at byte {pos}, {count} expected")
        size = int.from_bytes(raw[pos : pos + 8], "little")
        records.append(raw[pos + 8 : pos + 8 + size])
        pos += 8 + size
    if pos != len(raw) or len(records[-1]) != size:
        raise ToolchainError(f"{where}: layer stream has {len(raw)} bytes, records end at {pos}")
    return records


def run_layers(out_dir: str | Path, target: str, x: np.ndarray, n: int) -> list[bytes]:
    """Raw bytes of layer n-1's output (cnnc_model_run_layers(n)), one entry per sample."""
    samples = np.asarray(x).size // model_define(out_dir, "INPUT_SIZE")
    raw = execute(out_dir, target, x, ["--layers", str(int(n))])
    return split_records(raw, samples, f"{out_dir} on {target}, --layers {n}")


def run_all_layers(out_dir: str | Path, target: str, x: np.ndarray) -> list[list[bytes]]:
    """``run_layers`` for n = 1 .. CNNC_MODEL_NUM_LAYERS in one emulator process.

    Returns ``layers[n-1][sample]``: the raw output bytes of layer n-1 for each sample.
    """
    samples = np.asarray(x).size // model_define(out_dir, "INPUT_SIZE")
    layers = model_define(out_dir, "NUM_LAYERS")
    raw = execute(out_dir, target, x, ["--layers", "all"])
    records = split_records(raw, samples * layers, f"{out_dir} on {target}, --layers all")
    return [records[k::layers] for k in range(layers)]
