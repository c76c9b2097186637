"""Build C into a shared library on the host and load it with cffi (ABI mode).

Every caller that needs C on the host (tests of single kernels, the model
harness, benchmarks) goes through ``build_shared``. Builds are cached by the
hash of the sources, flags and compiler, so a test grid compiles a kernel
once; the cache is safe under pytest-xdist (atomic rename).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import ToolchainError

C_STD_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def runtime_dir() -> Path:
    """The runtime_c/ folder (include/ and kernels/), in a checkout or an install."""
    return Path(str(resources.files("cnnc.runtime_c")))


def cache_dir() -> Path:
    root = os.environ.get("CNNC_CACHE") or Path.home() / ".cache" / "cnnc"
    path = Path(root) / "build"
    path.mkdir(parents=True, exist_ok=True)
    return path


def host_cc() -> str:
    return os.environ.get("CC", "gcc")


def build_shared(
    sources: list[Path],
    include_dirs: list[Path] = (),
    cflags: list[str] = (),
    cc: str | None = None,
) -> Path:
    """Compiles ``sources`` into a shared library and returns its path (cached)."""
    cc = cc or host_cc()
    if shutil.which(cc) is None:
        raise ToolchainError(f"C compiler '{cc}' not found (install Debian package gcc)")
    include_dirs = [Path(d) for d in include_dirs] + [runtime_dir() / "include"]
    # -z defs: an undefined symbol fails here, as it would in a static build for a board.
    flags = [*C_STD_FLAGS, "-O2", "-fPIC", "-shared", "-Wl,-z,defs", *cflags]
    if os.environ.get("CNNC_SANITIZE"):
        flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    key = hashlib.sha256()
    for part in [cc, *flags, *map(str, include_dirs)]:
        key.update(part.encode() + b"\0")
    for src in sources:
        key.update(Path(src).read_bytes())
    # Kernel sources include private headers beside them (runtime_c/kernels/*.h), so
    # every header of the runtime and of the include dirs is part of the key.
    headers = {h for inc in include_dirs for h in Path(inc).glob("*.h")}
    headers |= set((runtime_dir() / "kernels").glob("*.h"))
    for header in sorted(headers):
        key.update(header.read_bytes())
    out = cache_dir() / f"lib{key.hexdigest()[:20]}.so"
    if out.exists():
        return out
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [cc, *flags, *(f"-I{d}" for d in include_dirs), *map(str, sources), "-o", tmp, "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise ToolchainError(f"C build failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
    os.replace(tmp, out)
    return out


def load_shared(path: Path, cdef: str):
    """Opens a shared library built by ``build_shared``; returns ``(ffi, lib)``."""
    from cffi import FFI  # here, not at import: the compiler itself never needs cffi

    ffi = FFI()
    ffi.cdef(cdef)
    return ffi, ffi.dlopen(str(path))
