"""Build C into a shared library on the host and load it with cffi (ABI mode).

Every caller that needs C on the host (tests of single kernels, the model
harness, benchmarks) goes through ``build_shared``. Builds are cached by the
hash of the sources, flags and compiler, so a test grid compiles a kernel
once; the cache is safe under pytest-xdist (atomic rename; a lock per entry, so two
workers needing the same object compile it once).
"""

from __future__ import annotations

import fcntl
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
    return link_shared(compile_objects(sources, include_dirs, cflags, cc), cflags, cc)


def _compiler(cc: str | None) -> str:
    cc = cc or host_cc()
    if shutil.which(cc) is None:
        raise ToolchainError(f"C compiler '{cc}' not found (install Debian package gcc)")
    return cc


def _sanitize_flags() -> list[str]:
    if os.environ.get("CNNC_SANITIZE"):
        return ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    return []


def _cached(key: hashlib._Hash, suffix: str, cmd_for) -> Path:
    """The cache entry for ``key``, built by running ``cmd_for(tmp_path)`` if missing
    (written to a temporary name and renamed: safe under pytest-xdist)."""
    out = cache_dir() / f"{key.hexdigest()[:24]}{suffix}"
    if out.exists():
        return out
    with open(f"{out}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other xdist worker building it: wait, reuse
        if out.exists():
            return out
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=out.parent)
        os.close(fd)
        cmd = cmd_for(tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            Path(tmp).unlink(missing_ok=True)  # the compiler may have removed it
            raise ToolchainError(f"C build failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
        os.replace(tmp, out)
    return out


def compile_objects(
    sources: list[Path],
    include_dirs: list[Path] = (),
    cflags: list[str] = (),
    cc: str | None = None,
) -> list[Path]:
    """Compiles each source into a position-independent object (cached per source).

    An object's key is the compiler, the flags, the source and the contents of every header
    it could include (the include dirs', its own folder's and the runtime kernels' private
    ones), not their paths: the runtime copied into two output folders compiles once."""
    cc = _compiler(cc)
    include_dirs = [Path(d) for d in include_dirs] + [runtime_dir() / "include"]
    flags = [*C_STD_FLAGS, "-O2", "-fPIC", *cflags, *_sanitize_flags()]
    common = {h for inc in include_dirs for h in Path(inc).glob("*.h")}
    common |= set((runtime_dir() / "kernels").glob("*.h"))
    objects = []
    for src in map(Path, sources):
        key = hashlib.sha256()
        for part in [cc, *flags, src.suffix]:
            key.update(part.encode() + b"\0")
        key.update(src.read_bytes())
        for header in sorted(common | set(src.parent.glob("*.h")), key=lambda h: h.name):
            key.update(header.name.encode() + b"\0" + header.read_bytes())
        cmd = [cc, *flags, *(f"-I{d}" for d in [src.parent, *include_dirs]), "-c", str(src)]
        objects.append(_cached(key, ".o", lambda tmp, cmd=cmd: [*cmd, "-o", tmp]))
    return objects


def link_shared(objects: list[Path], cflags: list[str] = (), cc: str | None = None) -> Path:
    """Links objects into a shared library (cached by the objects' names, which are their
    content keys). -z defs: an undefined symbol fails here, as it would in a static build
    for a board."""
    cc = _compiler(cc)
    flags = ["-shared", "-Wl,-z,defs", *cflags, *_sanitize_flags()]
    key = hashlib.sha256()
    for part in [cc, *flags, *(o.name for o in objects)]:
        key.update(part.encode() + b"\0")
    return _cached(key, ".so", lambda tmp: [cc, *flags, *map(str, objects), "-o", tmp, "-lm"])


def load_shared(path: Path, cdef: str):
    """Opens a shared library built by ``build_shared``; returns ``(ffi, lib)``."""
    from cffi import FFI  # here, not at import: the compiler itself never needs cffi

    ffi = FFI()
    ffi.cdef(cdef)
    return ffi, ffi.dlopen(str(path))
