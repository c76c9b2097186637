"""Host harness: build an output folder's C into a shared library and call it via cffi.

The folder is built from its own files only (model.c and the runtime copy in
cnnc_runtime/), with ``cbuild.build_shared`` — the same sources a board builds.
Weight blob and arena live in cffi buffers aligned to 64 bytes, as the API asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..backend.blob import STATUS_MESSAGES
from ..errors import BlobError, ShapeError, ToolchainError
from . import cbuild

# Generated float code is verified against NumPy, which rounds each multiply and add:
# no fused multiply-add contraction (the cross targets use the same flag).
HOST_CFLAGS = ["-ffp-contract=off"]


@dataclass
class HostModel:
    ffi: Any
    lib: Any
    ctx: Any  # cnnc_model_ctx *
    blob: Any  # keeps the aligned blob buffer alive while ctx points into it
    arena: Any  # uint8_t * into an over-allocated buffer, 64-byte aligned
    arena_owner: Any
    arena_bytes: int
    input_size: int
    output_size: int
    num_layers: int


def model_define(model_h: str, name: str) -> int:
    found = re.search(rf"#define CNNC_MODEL_{name} (\d+)", model_h)
    if found is None:
        raise ToolchainError(f"model.h has no CNNC_MODEL_{name}")
    return int(found.group(1))


def cdef_for(model_h: str) -> str:
    """The cffi declarations: model.h's ctx typedef and prototypes (no preprocessor lines)."""
    typedef = re.search(r"typedef struct \{.*?\} cnnc_model_ctx;", model_h, re.S).group(0)
    protos = re.findall(r"^(?:int |const char \*)cnnc_model_\w+\(.*?\);", model_h, re.S | re.M)
    return typedef + "\n" + "\n".join(protos)


def sources(out_dir: Path) -> list[Path]:
    runtime = out_dir / "cnnc_runtime"
    return [out_dir / "model.c", *sorted((runtime / "kernels").glob("*.c"))]


def build(out_dir: str | Path, cc: str | None = None) -> Path:
    out_dir = Path(out_dir)
    includes = [out_dir, out_dir / "cnnc_runtime" / "include"]
    runtime = out_dir / "cnnc_runtime"
    # the runtime's objects are keyed without model.h, so every model shares them
    kernels = sorted((runtime / "kernels").glob("*.c"))
    objects = cbuild.compile_objects(kernels, [runtime / "include"], HOST_CFLAGS, cc=cc)
    objects += cbuild.compile_objects([out_dir / "model.c"], includes, HOST_CFLAGS, cc=cc)
    return cbuild.link_shared(objects, HOST_CFLAGS, cc=cc)


def aligned(ffi, nbytes: int, align: int = 64):
    """(owner, pointer): a zeroed uint8_t buffer of nbytes whose address is align-aligned."""
    owner = ffi.new("uint8_t[]", nbytes + align)
    address = int(ffi.cast("uintptr_t", owner))
    return owner, owner + (-address % align)


def open_model(out_dir: str | Path, blob: bytes | None = None, cc: str | None = None) -> HostModel:
    """Builds and initialises the folder's model; blob None reads weights.bin (or embedded)."""
    out_dir = Path(out_dir)
    model_h = (out_dir / "model.h").read_text()
    ffi, lib = cbuild.load_shared(build(out_dir, cc), cdef_for(model_h))
    if blob is None and (out_dir / "weights.bin").is_file():
        blob = (out_dir / "weights.bin").read_bytes()
    if blob is None and not model_define(model_h, "EMBEDDED_WEIGHTS"):
        raise BlobError(f"{out_dir}: weights.bin is missing (compiled without --embed-weights)")
    ctx = ffi.new("cnnc_model_ctx *")
    if blob is None:
        blob_owner, status = None, lib.cnnc_model_init(ctx, ffi.NULL, 0)
    else:
        blob_owner, blob_ptr = aligned(ffi, len(blob))
        ffi.memmove(blob_ptr, blob, len(blob))
        status = lib.cnnc_model_init(ctx, blob_ptr, len(blob))
    if status != 0:
        raise BlobError(
            f"{out_dir}/weights.bin: cnnc_model_init returned {status}: "
            f"{STATUS_MESSAGES.get(status, 'unknown status')}"
        )
    arena_bytes = model_define(model_h, "ARENA_BYTES")
    arena_owner, arena = aligned(ffi, arena_bytes)
    return HostModel(
        ffi, lib, ctx, blob_owner, arena, arena_owner, arena_bytes,
        model_define(model_h, "INPUT_SIZE"), model_define(model_h, "OUTPUT_SIZE"),
        model_define(model_h, "NUM_LAYERS"),
    )  # fmt: skip


def samples(model: HostModel, x: np.ndarray) -> np.ndarray:
    """x as [S, INPUT_SIZE] float32 (any leading batch shape that holds whole samples)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.size == 0 or x.size % model.input_size:
        raise ShapeError(
            f"input of shape {list(x.shape)} is not a whole number of samples of "
            f"{model.input_size} floats"
        )
    return x.reshape(-1, model.input_size)


def check(status: int, what: str) -> None:
    if status != 0:
        raise BlobError(f"{what} returned {status}: {STATUS_MESSAGES.get(status, 'unknown')}")


def run(model: HostModel, x: np.ndarray) -> np.ndarray:
    """Outputs [S, OUTPUT_SIZE] for the S samples in x."""
    xs = samples(model, x)
    ys = np.empty((len(xs), model.output_size), dtype=np.float32)
    ffi = model.ffi
    for i, sample in enumerate(xs):
        status = model.lib.cnnc_model_run(
            model.ctx, ffi.from_buffer("float[]", sample), ffi.from_buffer("float[]", ys[i]),
            model.arena, model.arena_bytes,
        )  # fmt: skip
        check(status, "cnnc_model_run")
    return ys


def run_layers(model: HostModel, x: np.ndarray, n: int) -> list[bytes]:
    """Raw bytes of layer n-1's output after running layers [0, n), one entry per sample."""
    ffi, result = model.ffi, []
    out, out_bytes = ffi.new("const void **"), ffi.new("size_t *")
    for sample in samples(model, x):
        status = model.lib.cnnc_model_run_layers(
            model.ctx, ffi.from_buffer("float[]", sample), model.arena, model.arena_bytes, n,
            out, out_bytes,
        )  # fmt: skip
        check(status, f"cnnc_model_run_layers(n={n})")
        result.append(bytes(ffi.buffer(ffi.cast("const uint8_t *", out[0]), out_bytes[0])))
    return result
