"""The runtime kernels on the host, for tests and benchmarks: build a family's C into a
shared library and call it through cffi, and which rows of the one variants table
(``cnnc.ops.variants.VARIANTS``) this host can run.

Every family header (``runtime_c/include/cnnc_<family>.h``) exposes its parameter structs
and kernel prototypes to cffi the same way: the plain, macro-free declarations between
``/* cffi-begin */`` and ``/* cffi-end */`` (``header_cdef``).
"""

from __future__ import annotations

import re
from dataclasses import fields
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import CnncError
from ..ops.s8 import C_STRUCTS
from ..ops.variants import VARIANTS, X86, Variant
from .cbuild import build_shared, load_shared, runtime_dir


@cache
def cpu_flags() -> frozenset[str]:
    """This machine's /proc/cpuinfo flags (empty off Linux or off x86-64)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((s for s in text.splitlines() if s.startswith("flags")), "")
    return frozenset(line.split(":", 1)[-1].split())


def host_runs(variant: Variant) -> str | None:
    """None when this host's CPU can run the cnnc.ops.variants row, else why not (the
    missing /proc/cpuinfo flags; ARM rows run under qemu in tests/arm), for a test's skip."""
    if not variant.cpu_flags:
        return f"{variant.name} is an ARM variant (tested under qemu in tests/arm)"
    lacks = [f for f in variant.cpu_flags if f not in cpu_flags()]
    if lacks:
        return f"this CPU lacks {', '.join(lacks)} (needed by {variant.name})"
    return None


def x86_variants(family: str) -> list[Variant]:
    """The x86-64 rows of cnnc.ops.variants.VARIANTS of one family ("s8", "b1", "f32")."""
    return [v for v in VARIANTS if v.family == family and v.guard == X86]


def header_cdef(family: str) -> str:
    """The params structs and kernel prototypes of cnnc_<family>.h, as cffi cdef text.

    The header marks them with ``/* cffi-begin */`` ... ``/* cffi-end */`` (one or more
    blocks). Inside a block, preprocessor lines are dropped (a variant selection block may
    sit there), ``CNNC_RESTRICT`` is erased and integer ``#define`` constants of the header
    (``CNNC_MAX_RANK``) are replaced by their values: cffi reads plain C declarations."""
    text = (runtime_dir() / "include" / f"cnnc_{family}.h").read_text()
    blocks = re.findall(r"/\* cffi-begin \*/(.*?)/\* cffi-end \*/", text, re.S)
    if not blocks:
        raise CnncError(f"cnnc_{family}.h has no /* cffi-begin */ ... /* cffi-end */ block")
    constants = dict(re.findall(r"^#define (CNNC_\w+) (\d+)\s*$", text, re.M))
    lines = [ln for ln in "\n".join(blocks).splitlines() if not ln.lstrip().startswith("#")]
    cdef = "\n".join(lines).replace("CNNC_RESTRICT", "")
    for name, value in constants.items():
        cdef = re.sub(rf"\b{name}\b", value, cdef)
    return cdef


# ---------------------------------------------------------------- int8


def s8_kernel_sources() -> list:
    return sorted((runtime_dir() / "kernels").glob("s8_*.c"))


def fill_struct(ffi, params) -> object:
    """A new C params struct (cffi) with every field copied from the dataclass by name."""
    struct = ffi.new(f"{C_STRUCTS[type(params)]} *")
    for f in fields(params):
        setattr(struct, f.name, getattr(params, f.name))
    return struct


def load_s8_kernels(cflags: tuple[str, ...] = ()):
    """Builds every runtime_c/kernels/s8_*.c into one host library: ``(ffi, lib)`` (cffi);
    every x86-64 tier is compiled in by its target attributes;
    ``cflags`` add test-only switches (CNNC_S8_EMULATE_VNNI)."""
    kernels = runtime_dir() / "kernels"  # private headers are part of the build cache key
    lib = build_shared(s8_kernel_sources(), include_dirs=[kernels], cflags=list(cflags))
    return load_shared(lib, header_cdef("s8"))


_CTYPES = {np.dtype(np.int8): "int8_t[]", np.dtype(np.int32): "int32_t[]",
           np.dtype(np.float32): "float[]"}  # fmt: skip


def run_s8_kernel(kernel: str, params, *arrays: np.ndarray) -> None:
    """Calls the C kernel ``kernel`` (e.g. "cnnc_s8_conv__ref") on contiguous NumPy arrays;
    the last array is the output, written in place. For tests and benchmarks."""
    ffi, lib = _s8_kernels()
    buffers = []
    for a in arrays:
        if not a.flags.c_contiguous or a.dtype not in _CTYPES:
            raise CnncError(f"{kernel}: arrays must be C-contiguous int8/int32/float32")
        buffers.append(ffi.from_buffer(_CTYPES[a.dtype], a, require_writable=False))
    getattr(lib, kernel)(fill_struct(ffi, params), *buffers)


_LIB = {}


def _s8_kernels():
    if "lib" not in _LIB:
        _LIB["lib"] = load_s8_kernels()
    return _LIB["lib"]


# ---------------------------------------------------------------- binary


def b1_kernel_sources() -> list:
    """The b1 kernels, plus the int8 boundary (s8_quant.c) that the s8 output calls."""
    kernels = runtime_dir() / "kernels"
    return [*sorted(kernels.glob("b1_*.c")), kernels / "s8_quant.c"]


def load_b1_kernels(cflags: tuple[str, ...] = ()):
    """Builds runtime_c/kernels/b1_*.c on the host (cached) and returns ``(ffi, lib)``.

    The kernels folder is passed as an include dir so its private headers
    (b1_conv_loops.h) are part of the build cache key.
    """
    kernels = runtime_dir() / "kernels"
    lib = build_shared(b1_kernel_sources(), include_dirs=[kernels], cflags=list(cflags))
    return load_shared(lib, header_cdef("b1"))


# ---------------------------------------------------------------- float32


def load_f32_kernels(cflags: tuple[str, ...] = ()):
    """Builds every runtime_c/kernels/f32_*.c into one host library: ``(ffi, lib)`` (cffi);
    exact float mode (no FMA contraction) unless ``cflags`` say otherwise."""
    kernels = runtime_dir() / "kernels"  # private headers are part of the build cache key
    lib = build_shared(sorted(kernels.glob("f32_*.c")), include_dirs=[kernels],
                       cflags=["-ffp-contract=off", *cflags])  # fmt: skip
    return load_shared(lib, header_cdef("f32"))
