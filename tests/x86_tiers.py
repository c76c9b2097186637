"""The x86-64 ISA tiers of cnnc's SIMD kernels, for tests and benchmarks until the one
variants table (DESIGN: host/) lands: the /proc/cpuinfo flags each tier needs, and the
variants the public headers declare (their prototypes are the list, so a new variant is
picked up by the tests as soon as it is declared).

Every tier is compiled into every x86-64 build (each function carries its tier's
CNNC_TARGET_* attribute, runtime_c/include/cnnc.h); a tier may only run on a CPU with its
flags, and a test of a tier this CPU lacks skips, naming the missing flags.
"""

from __future__ import annotations

import platform
import re
from functools import cache
from pathlib import Path

# tier (kernel-name suffix) -> /proc/cpuinfo flags it needs; CNNC_TARGET_* in cnnc.h
TIERS: dict[str, tuple[str, ...]] = {
    "avx2": ("avx2", "fma"),
    "avx512": ("avx512f", "avx512bw", "avx512dq", "avx512vl"),
    "avx512vnni": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"),
    "avxvnni": ("avx2", "fma", "avx_vnni"),
    "avx512vpopcnt": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vpopcntdq"),
}

# tier -> compiler flags of a build that targets it (e.g. -march=native on such a CPU), for
# tests of cnnc_s8.h / cnnc_b1.h's compile-time selection block
TIER_CFLAGS: dict[str, list[str]] = {
    "avx2": ["-mavx2", "-mfma"],
    "avx512": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl"],
    "avx512vnni": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx512vnni"],
    "avxvnni": ["-mavx2", "-mfma", "-mavxvnni"],
    "avx512vpopcnt": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx512vpopcntdq"],
}

INCLUDE = Path(__file__).resolve().parents[1] / "runtime_c" / "include"


@cache
def cpu_flags() -> frozenset[str]:
    if platform.machine() != "x86_64":
        return frozenset()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    line = next((s for s in text.splitlines() if s.startswith("flags")), "")
    return frozenset(line.split(":", 1)[-1].split())


def missing(tier: str) -> list[str]:
    """The CPU flags tier needs that this machine lacks (empty: it can run the tier)."""
    return [f for f in TIERS[tier] if f not in cpu_flags()]


def skip_reason(tier: str) -> str | None:
    lacks = missing(tier)
    return f"this CPU lacks {', '.join(lacks)} (needed by the {tier} tier)" if lacks else None


def declared(header: str, prefix: str) -> dict[str, list[str]]:
    """kernel -> its x86 tiers, from the prototypes `void <prefix><kernel>__<tier>(` in the
    header, e.g. declared("cnnc_s8.h", "cnnc_s8_")["dense"] == ["avx2", "avx512", ...]."""
    text = (INCLUDE / header).read_text()
    found: dict[str, list[str]] = {}
    for kernel, tier in re.findall(rf"^void {prefix}(\w+?)__(\w+)\(", text, re.M):
        if tier in TIERS:
            found.setdefault(kernel, []).append(tier)
    return found


def load_b1_tiers():
    """(ffi, lib): the b1 kernels built with the default flags (every tier compiled in),
    with the variants' prototypes from cnnc_b1.h added to binary_ops' cdef."""
    from cnnc import binary_ops
    from cnnc.cbuild import build_shared, load_shared, runtime_dir

    text = (INCLUDE / "cnnc_b1.h").read_text()
    sections = re.findall(r"cffi-variants-begin \*/(.*?)/\* cffi-variants-end", text, re.S)
    section = "".join(sections)
    protos = [p.strip() + ";" for p in section.replace("CNNC_RESTRICT", "").split(";")]
    extra = [p for p in protos if p != ";"]
    extra = [p for p in extra if re.search(r"(\w+)\(", p)[1] not in binary_ops.B1_CDEF]
    kernels = runtime_dir() / "kernels"
    lib = build_shared(binary_ops.kernel_sources(), include_dirs=[kernels])
    return load_shared(lib, binary_ops.B1_CDEF + "\n".join(extra))
