"""Microcontroller builds: the model and runtime freestanding for Cortex-M, flash and RAM sizes.

A Cortex-M build uses the weights compiled into model.c (``--embed-weights``):
no file system, no heap, no stdio in the model code. ``mcu_size`` links the
model into the smallest firmware (``mcu_main.c``: static arena and buffers,
newlib's nosys stubs for the C start-up) and reads ``arm-none-eabi-size``:

    flash = text + data   (code, constant weights, initial values of data)
    ram   = data + bss    (initialised and zeroed statics, the arena included)

``undefined_symbols`` lists what the model's own objects call, so tests can
prove that none of them reaches malloc or stdio.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import ToolchainError
from .cbuild import cache_dir
from .cross import build_failure, build_flags, model_define, model_sources, program_source
from .targets import MCU_TARGETS, check_toolchain, install_hint, target_cc, templates_dir

# Calls that must never appear in model or runtime objects built for a microcontroller.
FORBIDDEN_SYMBOLS = frozenset({
    "malloc", "calloc", "realloc", "free", "_malloc_r", "_calloc_r", "_realloc_r", "_free_r",
    "printf", "fprintf", "sprintf", "snprintf", "vprintf", "vfprintf", "vsnprintf", "puts",
    "fputs", "putchar", "fputc", "fopen", "fclose", "fread", "fwrite", "fflush", "perror",
    "__assert_func", "__assert_fail", "_impure_ptr", "stdout", "stderr",
})  # fmt: skip


# GCC's call graph with each function's stack frame, written next to each object as .ci
# (cnnc.host.mcu_stack reads it).
CALLGRAPH_FLAGS = ("-fcallgraph-info=su",)


def run_tool(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if build_failure(proc):
        raise ToolchainError(f"{what} failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
    return proc.stdout


@contextmanager
def atomic_output(path: Path):
    """A unique temporary name next to ``path``, renamed onto it on success: parallel test
    workers building the same cached object never see a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def binutil(target_name: str, tool: str) -> str:
    """arm-none-eabi-size / -nm next to the target's compiler."""
    cc = target_cc(check_toolchain(target_name))
    path = cc[: -len("gcc")] + tool if cc.endswith("gcc") else tool
    if shutil.which(path) is None:
        raise ToolchainError(f"'{path}' not found; {install_hint(('binutils-arm-none-eabi',))}")
    return path


def build_dir(out_dir: str | Path, target_name: str, extra_flags: tuple[str, ...] = ()) -> Path:
    """A cache folder keyed by the target, flags and every model/runtime source and header."""
    sources, includes = model_sources(out_dir)
    flags = [*build_flags(check_toolchain(target_name)), *extra_flags, *CALLGRAPH_FLAGS]
    key = hashlib.sha256(" ".join([target_name, *flags]).encode())
    for path in [*sources, *(h for d in includes for h in sorted(d.glob("*.h")))]:
        key.update(path.name.encode() + b"\0" + path.read_bytes())
    return cache_dir() / "mcu" / f"{target_name}-{key.hexdigest()[:20]}"


def compile_objects(out_dir: str | Path, target_name: str = "cortex-m4",
                    extra_flags: tuple[str, ...] = ()) -> list[Path]:  # fmt: skip
    """Compiles model.c and the runtime freestanding for the target; returns the objects.
    ``extra_flags`` follow the target's (``("-Os",)`` measures a size-optimised build)."""
    if target_name not in MCU_TARGETS:
        raise ToolchainError(f"{target_name} is not a microcontroller target ({MCU_TARGETS})")
    target = check_toolchain(target_name)
    sources, includes = model_sources(out_dir)
    folder = build_dir(out_dir, target_name, extra_flags)
    folder.mkdir(parents=True, exist_ok=True)
    flags = [*build_flags(target), *extra_flags, "-ffreestanding", *CALLGRAPH_FLAGS,
             *(f"-I{d}" for d in includes)]  # fmt: skip
    objects = []
    for k, src in enumerate(sources):
        obj = folder / f"{k:02d}_{src.stem}.o"
        if not obj.exists():
            with atomic_output(obj) as tmp:
                run_tool([target_cc(target), *flags, "-c", str(src), "-o", str(tmp)],
                         f"{target_name} compile of {src.name}")  # fmt: skip
                os.replace(tmp.with_suffix(".ci"), obj.with_suffix(".ci"))  # before the object
        objects.append(obj)
    return objects


def link_firmware(out_dir: str | Path, target_name: str = "cortex-m4",
                  extra_flags: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """Links the objects with mcu_main.c into an ELF image (nosys start-up, unused code dropped)."""
    objects = compile_objects(out_dir, target_name, extra_flags)
    target = check_toolchain(target_name)
    _, includes = model_sources(out_dir)
    elf = objects[0].parent / "firmware.elf"
    if not elf.exists():
        main = program_source(out_dir, "mcu_main.c")
        flags = [*build_flags(target), *extra_flags,
                 *(f"-I{d}" for d in [*includes, templates_dir()])]  # fmt: skip
        with atomic_output(elf) as tmp:
            run_tool(
                [target_cc(target), *flags, "--specs=nano.specs", "--specs=nosys.specs",
                 "-Wl,--gc-sections", str(main), *map(str, objects), "-lm", "-o", str(tmp)],
                f"{target_name} link of {out_dir}",
            )  # fmt: skip
    return elf


def mcu_size(out_dir: str | Path, target: str = "cortex-m4",
             extra_flags: tuple[str, ...] = ()) -> dict[str, int]:  # fmt: skip
    """Flash and RAM in bytes of the model as Cortex-M firmware (see the module docstring).

    Also returns text, data, bss and the arena size; the firmware includes newlib's
    small start-up code, so flash is what a board really needs.
    """
    elf = link_firmware(out_dir, target, extra_flags)
    lines = run_tool([binutil(target, "size"), str(elf)], "arm-none-eabi-size").splitlines()
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return {
        "flash": text + data,
        "ram": data + bss,
        "text": text,
        "data": data,
        "bss": bss,
        "arena": model_define(out_dir, "ARENA_BYTES"),
    }


def undefined_symbols(out_dir: str | Path, target: str = "cortex-m4") -> dict[str, set[str]]:
    """For each model/runtime object built for the target, the external symbols it calls."""
    nm = binutil(target, "nm")
    found = {}
    for obj in compile_objects(out_dir, target):
        listing = run_tool([nm, "-u", str(obj)], "arm-none-eabi-nm")
        found[obj.name] = {line.split()[-1] for line in listing.splitlines() if line.strip()}
    return found
