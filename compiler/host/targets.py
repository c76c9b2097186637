"""Build targets: one table of compilers, flags and emulators; the output folder's build files.

Everything that differs between the machines cnnc builds for lives in ``TARGETS``:
the compiler command, its flags, the qemu-user binary that runs the result on
this host, the sysroot qemu needs, the Debian packages to name when a tool is
missing, and the ``uname -m`` values on which the generated Makefile uses the
board's own gcc instead of the cross compiler. ``cnnc.host.cross`` (run under
qemu), ``cnnc.host.mcu`` (Cortex-M size) and the generated Makefile all read it, so
adding a board is one entry here.

``write_build_files(out_dir, info)`` writes the parts of an output folder that
turn model.c/model.h/weights.bin into programs: ``Makefile``, ``demo.c``,
``runner.c``, ``host_io.h`` (their shared file helpers), ``demo_config.h`` and
``mcu_main.c`` (a minimal Cortex-M firmware). The folder then builds alone, without any
file from the cnnc checkout.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..backend.codegen import c_string
from ..errors import ToolchainError

# Floating-point contraction (a*b+c fused into one FMA instruction) changes the
# rounding of float32 results, and compilers disagree on when they do it: gcc
# contracts across statements in GNU modes, clang within expressions by default,
# and aarch64/armv7-vfpv4 have FMA instructions where x86-64 without -mfma does
# not. Turning it off everywhere makes every target round each multiply and add
# separately, as the NumPy reference does, so float32 runs agree within the
# stated tolerance on every target. Integer and binary kernels are unaffected
# (they must be, and are tested, bit-identical everywhere).
FP_FLAGS = ("-ffp-contract=off",)

C_STD = ("-std=c99",)
WARNINGS = ("-Wall", "-Wextra", "-pedantic")


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    cc: str  # compiler command on this (x86-64 Debian) host
    cflags: tuple[str, ...]  # code-generation flags (ISA, FPU, ABI, optimisation)
    packages: tuple[str, ...]  # Debian packages that provide cc and its C library
    qemu: str | None = None  # qemu-user binary that runs a static Linux program; None: native
    sysroot: str | None = None  # qemu -L prefix (the cross libc), and where libc.a must exist
    native_machines: tuple[str, ...] = ()  # `uname -m` on which the Makefile uses plain gcc
    freestanding: bool = False  # microcontroller: no OS, the Makefile builds the library only
    board: str | None = None  # qemu-system-arm -M board that runs it with semihosting (MCU)


TARGETS: dict[str, Target] = {
    "host": Target(
        name="host",
        description="this machine's gcc, or `make` on any Linux board",
        cc="gcc",
        cflags=("-O2",),
        packages=("gcc",),
    ),
    # Any ARMv8-A core runs this (Pi 3 Cortex-A53, Pi 4 Cortex-A72, Pi 5 Cortex-A76);
    # scheduling is tuned for the Pi 4. NEON is part of the base ISA.
    "aarch64": Target(
        name="aarch64",
        description="64-bit Raspberry Pi OS on a Pi 3/4/5, ARMv8-A tuned for Cortex-A72",
        cc="aarch64-linux-gnu-gcc",
        cflags=("-O2", "-march=armv8-a", "-mtune=cortex-a72"),
        packages=("gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"),
        qemu="qemu-aarch64",
        sysroot="/usr/aarch64-linux-gnu",
        native_machines=("aarch64", "arm64"),
    ),
    # 32-bit Raspberry Pi OS on a Pi 4 (Cortex-A72 in AArch32 state), hard-float ABI, NEON.
    "armv7": Target(
        name="armv7",
        description="32-bit Raspberry Pi OS, hard-float NEON-VFPv4 tuned for Cortex-A72",
        cc="arm-linux-gnueabihf-gcc",
        cflags=(
            "-O2",
            "-march=armv7-a",
            "-mtune=cortex-a72",
            "-mfpu=neon-vfpv4",
            "-mfloat-abi=hard",
        ),
        packages=("gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"),
        qemu="qemu-arm",
        sysroot="/usr/arm-linux-gnueabihf",
        native_machines=("armv7l", "armv8l"),
    ),
    # Fallback for any ARMv7-A core with NEON but without VFPv4 (Cortex-A8/A9 boards);
    # every Pi with an ARMv7 or ARMv8 core runs the "armv7" entry above.
    "armv7-neon": Target(
        name="armv7-neon",
        description="any ARMv7-A board with NEON, hard-float",
        cc="arm-linux-gnueabihf-gcc",
        cflags=("-O2", "-march=armv7-a", "-mfpu=neon", "-mfloat-abi=hard"),
        packages=("gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"),
        qemu="qemu-arm",
        sysroot="/usr/arm-linux-gnueabihf",
        native_machines=("armv7l",),
    ),
    # Microcontrollers: freestanding, weights embedded (--embed-weights), arena static.
    # Sections per function/object so the linker drops what the model does not call.
    "cortex-m4": Target(
        name="cortex-m4",
        description="Cortex-M4F microcontroller, freestanding, with --embed-weights",
        cc="arm-none-eabi-gcc",
        cflags=(
            "-O2",
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv4-sp-d16",
            "-ffunction-sections",
            "-fdata-sections",
        ),
        packages=("gcc-arm-none-eabi", "libnewlib-arm-none-eabi"),
        freestanding=True,
        board="mps2-an386",  # ARM's Cortex-M4 FPGA image
    ),
    "cortex-m7": Target(
        name="cortex-m7",
        description="Cortex-M7 microcontroller, freestanding, with --embed-weights",
        cc="arm-none-eabi-gcc",
        cflags=(
            "-O2",
            "-mcpu=cortex-m7",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-sp-d16",
            "-ffunction-sections",
            "-fdata-sections",
        ),
        packages=("gcc-arm-none-eabi", "libnewlib-arm-none-eabi"),
        freestanding=True,
        board="mps2-an500",  # ARM's Cortex-M7 FPGA image
    ),
    # ARMv6-M: no DSP extension, no FPU, so the portable __ref kernels (and soft float at the
    # model boundary). qemu has no Cortex-M0/M0+ board: build and size only.
    "cortex-m0plus": Target(
        name="cortex-m0plus",
        description="Cortex-M0+ microcontroller (no DSP, no FPU), freestanding, build only",
        cc="arm-none-eabi-gcc",
        cflags=(
            "-O2",
            "-mcpu=cortex-m0plus",
            "-mthumb",
            "-mfloat-abi=soft",
            "-ffunction-sections",
            "-fdata-sections",
        ),
        packages=("gcc-arm-none-eabi", "libnewlib-arm-none-eabi"),
        freestanding=True,
    ),
    # ARMv8-M Mainline with the DSP extension and single-precision FPU: the DSP kernels.
    # qemu's mps2-an505 is a Cortex-M33 board, but it boots in the Secure state with another
    # memory map than the M4/M7 images this start-up code assumes: build and size only.
    "cortex-m33": Target(
        name="cortex-m33",
        description="Cortex-M33 microcontroller with DSP and FPU, freestanding, build only",
        cc="arm-none-eabi-gcc",
        cflags=(
            "-O2",
            "-mcpu=cortex-m33",
            "-mthumb",
            "-mfloat-abi=hard",
            "-mfpu=fpv5-sp-d16",
            "-ffunction-sections",
            "-fdata-sections",
        ),
        packages=("gcc-arm-none-eabi", "libnewlib-arm-none-eabi"),
        freestanding=True,
    ),
}

# Runs the microcontroller targets' boards (the MPS2 FPGA images) with semihosting.
QEMU_SYSTEM = "qemu-system-arm"
QEMU_SYSTEM_PACKAGE = "qemu-system-arm"

LINUX_TARGETS = tuple(name for name, t in TARGETS.items() if not t.freestanding)
MCU_TARGETS = tuple(name for name, t in TARGETS.items() if t.freestanding)
# What `cnnc verify/run --target` can execute here: natively, qemu-user, or an emulated board.
RUNNABLE_TARGETS = tuple(n for n, t in TARGETS.items() if not t.freestanding or t.board)

# Help text for `cnnc compile --target` (the CLI uses it verbatim).
COMPILE_TARGET_HELP = (
    "the board the output folder's Makefile builds for by default (default: host): "
    + "; ".join(f"{name} = {TARGETS[name].description}" for name in TARGETS)
    + ". The folder builds for any target later: copy it to the Pi and run `make` there, "
    "or cross-build here with `make TARGET=aarch64`; see docs/deploy.md"
)


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ToolchainError(
            f"unknown target {name!r}; choose one of: {', '.join(TARGETS)}"
        ) from None


def install_hint(packages: tuple[str, ...]) -> str:
    names = " ".join(packages)
    plural = "s" if len(packages) > 1 else ""
    return f"install Debian package{plural} {names} (sudo apt-get install {names})"


def target_cc(target: Target) -> str:
    """The compiler command, overridable per target as CNNC_CC_<NAME> (e.g. CNNC_CC_AARCH64)."""
    override = os.environ.get("CNNC_CC_" + target.name.upper().replace("-", "_"))
    if override:
        return override
    if target.name == "host":
        return os.environ.get("CC") or target.cc  # the same compiler cbuild uses
    return target.cc


@functools.cache
def has_libc(cc: str, cflags: tuple[str, ...]) -> bool:
    """Whether the compiler finds a libc.a for these flags (gcc echoes the bare name if not)."""
    proc = subprocess.run([cc, *cflags, "-print-file-name=libc.a"], capture_output=True, text=True)
    return proc.returncode == 0 and Path(proc.stdout.strip()).is_absolute()


def check_toolchain(name: str, run: bool = False) -> Target:
    """Returns the target if its compiler (and, with ``run``, its emulator) is installed.

    Raises ToolchainError naming the Debian packages to install otherwise.
    """
    target = get_target(name)
    cc = target_cc(target)
    if shutil.which(cc) is None:
        raise ToolchainError(
            f"target {name}: C compiler '{cc}' not found; {install_hint(target.packages)}"
        )
    if target.sysroot and not (Path(target.sysroot) / "lib" / "libc.a").exists():
        raise ToolchainError(
            f"target {name}: no static C library in {target.sysroot}/lib; "
            f"{install_hint(target.packages[1:])}"
        )
    if target.freestanding and not has_libc(cc, target.cflags):
        raise ToolchainError(
            f"target {name}: '{cc}' has no C library (newlib); {install_hint(target.packages[1:])}"
        )
    if run and target.freestanding and target.board is None:
        raise ToolchainError(f"target {name}: no emulated board to run it on")
    if run and target.board and shutil.which(QEMU_SYSTEM) is None:
        raise ToolchainError(
            f"target {name}: emulator '{QEMU_SYSTEM}' not found; "
            f"{install_hint((QEMU_SYSTEM_PACKAGE,))}"
        )
    if run and target.qemu and shutil.which(target.qemu) is None:
        raise ToolchainError(
            f"target {name}: emulator '{target.qemu}' not found; {install_hint(('qemu-user',))}"
        )
    return target


# ---------------------------------------------------------------------------- output folder


def templates_dir() -> Path:
    """runtime_c/templates/: demo.c, runner.c, Makefile.in (shipped as package data)."""
    return Path(str(resources.files("cnnc.runtime_c"))) / "templates"


def makefile_target_table() -> str:
    """The Makefile's per-target block, generated from TARGETS so the flags live in one place."""
    lines = []
    for t in TARGETS.values():
        lines += [
            f"ifeq ($(TARGET),{t.name})",
            f"  TARGET_CC := {t.cc}",
            f"  TARGET_CFLAGS := {' '.join(t.cflags)}",
            f"  NATIVE_MACHINES := {' '.join(t.native_machines)}",
            f"  FREESTANDING := {int(t.freestanding)}",
            f"  STATIC := {'-static' if t.qemu else ''}",
            "endif",
        ]
    return "\n".join(lines)


def c_floats(values) -> str:
    """A C initializer of float literals, e.g. {0.5f, 0.25f}; repr keeps every float32 exact."""
    return "{" + ", ".join(f"{float(v)!r}f" for v in values) + "}"


def demo_config(info: Mapping[str, Any]) -> str:
    """demo_config.h: the model's name, input image shape and normalisation for demo.c."""
    meta = info.get("metadata") or {}
    shape = list(info.get("input_shape") or [])
    chw = shape[-3:] if len(shape) >= 3 else [0, 0, 0]  # ONNX layout: [N,] C, H, W
    c = chw[0]
    mean = json.loads(meta["cnnc.norm_mean"]) if "cnnc.norm_mean" in meta else [0.0]
    std = json.loads(meta["cnnc.norm_std"]) if "cnnc.norm_std" in meta else [1.0]
    if c and len(mean) == 1:
        mean, std = mean * c, std * c
    name = str(info.get("name") or meta.get("cnnc.model") or "model")
    return "\n".join([
        "/* generated by cnnc — do not edit. What demo.c needs to know about the model input. */",
        "#ifndef DEMO_CONFIG_H",
        "#define DEMO_CONFIG_H",
        f"#define DEMO_MODEL_NAME {c_string(name)} /* escaped: from the model file */",
        f"#define DEMO_INPUT_C {int(chw[0])} /* 0: not an image model, raw input only */",
        f"#define DEMO_INPUT_H {int(chw[1])}",
        f"#define DEMO_INPUT_W {int(chw[2])}",
        "/* pixels are scaled to [0, 1], then x = (x - mean[c]) / std[c], as in training */",
        f"#define DEMO_NORM_MEAN {c_floats(mean[: max(c, 1)])}",
        f"#define DEMO_NORM_STD {c_floats(std[: max(c, 1)])}",
        "#endif",
        "",
    ])  # fmt: skip


def write_build_files(out_dir: str | Path, info: Mapping[str, Any]) -> list[Path]:
    """Writes the Makefile and the demo/runner/firmware sources into ``out_dir``; returns paths.

    ``info`` keys (all optional):
      name         model name printed by the demo (default: metadata cnnc.model, else "model")
      input_shape  the model input in ONNX layout, e.g. [1, 1, 32, 32] (for PGM images)
      metadata     the ONNX metadata dict (cnnc.norm_mean / cnnc.norm_std for the demo)
      target       the default TARGET of the Makefile (default "host")
    """
    out = Path(out_dir)
    target = get_target(info.get("target") or "host").name
    tpl = templates_dir()
    makefile = (tpl / "Makefile.in").read_text()
    makefile = makefile.replace("@DEFAULT_TARGET@", target)
    makefile = makefile.replace("@TARGET_NAMES@", " ".join(TARGETS))
    makefile = makefile.replace("@TARGET_TABLE@", makefile_target_table())
    makefile = makefile.replace("@FP_FLAGS@", " ".join(FP_FLAGS))
    files = {
        "Makefile": makefile,
        "demo.c": (tpl / "demo.c").read_text(),
        "runner.c": (tpl / "runner.c").read_text(),
        "host_io.h": (tpl / "host_io.h").read_text(),
        "mcu_main.c": (tpl / "mcu_main.c").read_text(),
        "demo_config.h": demo_config(info),
    }
    paths = []
    for name, text in files.items():
        (out / name).write_text(text)
        paths.append(out / name)
    return paths
