"""A compiler launcher that caches objects, for the C builds the tests run (make, strict builds).

    python tests/ccwrap.py CC ARGS...      (as `make CCWRAP="python tests/ccwrap.py"`)

Every generated folder copies the same runtime, so the suite would otherwise compile the same
kernel sources (AVX2/AVX-512 files take seconds each) once per folder. A command that compiles
exactly one C file (`-c SRC -o OBJ`) is looked up by the hash of the compiler, its arguments
(output path left out, source path reduced to its name), the source and every header it
includes, found the way the preprocessor finds them (its own folder, then the -I folders;
system headers are fixed by the compiler); a hit copies the object and replays the compiler's
messages, a miss compiles into the cache (written to a temporary name and renamed, under a
lock per key, so pytest-xdist workers build each object once). Any other command (linking,
preprocessing, a failing compile) runs the compiler unchanged. Standard library only: it runs
once per object, so it must start fast.

Cache: $CNNC_CACHE/objects (default ~/.cache/cnnc/objects), like cnnc.host.cbuild's.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("CNNC_CACHE") or Path.home() / ".cache" / "cnnc"
    path = Path(root) / "objects"
    path.mkdir(parents=True, exist_ok=True)
    return path


def single_compile(args: list[str]) -> tuple[Path, Path] | None:
    """(source, object) when ``args`` compile one C file to one object, else None."""
    if "-c" not in args or args.count("-o") != 1:
        return None
    out = args[args.index("-o") + 1] if args.index("-o") + 1 < len(args) else None
    sources = [a for a in args if a.endswith(".c") and not a.startswith("-")]
    if out is None or len(sources) != 1 or any(a in ("-E", "-S", "-M", "-MM", "-MD") for a in args):
        return None
    return Path(sources[0]), Path(out)


def include_dirs(args: list[str], src: Path) -> list[Path]:
    dirs = [src.parent]
    for i, arg in enumerate(args):
        if arg == "-I" and i + 1 < len(args):
            dirs.append(Path(args[i + 1]))
        elif arg.startswith("-I") and len(arg) > 2:
            dirs.append(Path(arg[2:]))
    return [d for d in dirs if d.is_dir()]


INCLUDE = re.compile(rb"^\s*#\s*include\s*(.*)$", re.M)


def included_headers(src: Path, dirs: list[Path]) -> list[tuple[bytes, Path]] | None:
    """Every header the source can reach through the include folders, following each
    #include line (conditional or not: an over-approximation is safe), as (spelling, file);
    None when an #include names a macro (then the caller hashes every header it might see).
    An include found in no folder is the compiler's own (fixed by the compiler's identity)."""
    found, stack = {}, [src]
    while stack:
        current = stack.pop()
        for spec in INCLUDE.findall(current.read_bytes()):
            spec = spec.strip()
            if spec[:1] not in (b'"', b"<"):
                return None
            name = spec[1:].split(b'"' if spec[:1] == b'"' else b">")[0].decode(errors="replace")
            search = ([current.parent] if spec[:1] == b'"' else []) + dirs
            for folder in search:
                path = (folder / name).resolve()
                if path.is_file():
                    if path not in found:
                        found[path] = spec
                        stack.append(path)
                    break
    return sorted(((spec, path) for path, spec in found.items()), key=lambda e: (e[0], str(e[1])))


def cache_key(cc: str, args: list[str], src: Path, obj: Path) -> str:
    key = hashlib.sha256()
    key.update(cc.encode() + b"\0")
    key.update((shutil.which(cc) or cc).encode() + b"\0")
    skip = args.index("-o") + 1
    for i, arg in enumerate(args):
        if i == skip:
            continue
        if arg.startswith("-I") and len(arg) > 2:
            arg = "-I"  # where the folder is: only what the headers found there hold counts
        key.update((src.name if arg == str(src) else arg).encode() + b"\0")
    key.update(src.read_bytes())
    dirs = include_dirs(args, src)[1:]
    headers = included_headers(src, dirs)
    if headers is None:  # every header under the source's folder and the -I folders
        headers = [
            (h.relative_to(d).as_posix().encode(), h)
            for d in [src.parent, *dirs]
            for h in sorted(d.rglob("*.h"))
        ]
    for spec, header in headers:
        key.update(b"\1" + spec + b"\0" + header.read_bytes())
    return key.hexdigest()[:32]


def run_cached(cc: str, args: list[str], src: Path, obj: Path) -> int:
    cache = cache_dir()
    key = cache_key(cc, args, src, obj)
    entry, messages = cache / f"{key}.o", cache / f"{key}.err"
    with open(cache / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker compiling the same object: wait
        if not entry.exists():
            fd, tmp = tempfile.mkstemp(suffix=".o", dir=cache)
            os.close(fd)
            cmd = list(args)
            cmd[args.index("-o") + 1] = tmp
            proc = subprocess.run([cc, *cmd], capture_output=True)
            if proc.returncode != 0:
                Path(tmp).unlink(missing_ok=True)
                sys.stdout.buffer.write(proc.stdout)
                sys.stderr.buffer.write(proc.stderr)
                return proc.returncode
            messages.write_bytes(proc.stdout + b"\0" + proc.stderr)
            os.replace(tmp, entry)
    obj.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(entry, obj)
    out, _, err = messages.read_bytes().partition(b"\0") if messages.exists() else (b"", b"", b"")
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: ccwrap.py CC ARGS...", file=sys.stderr)
        return 2
    cc, args = argv[0], argv[1:]
    found = single_compile(args)
    if found is None or not found[0].is_file():
        return subprocess.run([cc, *args]).returncode
    return run_cached(cc, args, *found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
