"""Build and run an output folder's threaded entry point (model_threads.c) on a Linux target.

``run_threads(out_dir, target, x, n_threads)`` compiles a small driver with model_threads.c
(instead of model.c) and the runtime, with -pthread (static for qemu-user targets), runs
it natively or under qemu-user, and returns the outputs of cnnc_model_run_threads (or, with
``pool=True``, of cnnc_model_threads_run on one pool kept for all runs) for the samples of
``x``; ``repeat`` > 1 also returns the per-run times in ms (for benchmarks).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ToolchainError
from .cbuild import cache_dir
from .cross import build_flags, compile_object, model_define, model_sources
from .targets import check_toolchain, target_cc

DRIVER_C = r"""/* threads driver: stdin samples -> stdout outputs of cnnc_model_run_threads.
 * usage: threads_driver [-w weights.bin] -t N [-r repeats] [-p 1]; times (ms) on stderr.
 * -p 1: one cnnc_model_threads pool for every run, else cnnc_model_run_threads per run. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_threads.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *read_file(const char *path, size_t *bytes) {
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) return NULL;
    rewind(f);
    data = (char *)malloc((size_t)size + 64);
    if (data != NULL) data += (64 - (size_t)data % 64) % 64; /* blobs are 64-byte aligned */
    if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) data = NULL;
    fclose(f);
    *bytes = (size_t)size;
    return data;
}

int main(int argc, char **argv) {
    static cnnc_model_ctx ctx;
    static cnnc_model_threads pool;
    static float x[CNNC_MODEL_INPUT_SIZE], y[CNNC_MODEL_OUTPUT_SIZE];
    const void *blob = NULL;
    size_t blob_bytes = 0;
    int i, k, threads = 1, repeats = 1, use_pool = 0, status;
    char *raw = (char *)malloc(CNNC_MODEL_ARENA_BYTES + 64);
    void *arena = raw + (64 - (size_t)raw % 64) % 64;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-w") == 0) blob = read_file(argv[i + 1], &blob_bytes);
        if (strcmp(argv[i], "-t") == 0) threads = atoi(argv[i + 1]);
        if (strcmp(argv[i], "-r") == 0) repeats = atoi(argv[i + 1]);
        if (strcmp(argv[i], "-p") == 0) use_pool = atoi(argv[i + 1]);
    }
#if CNNC_MODEL_EMBEDDED_WEIGHTS
    if (blob == NULL) {
        blob = cnnc_model_weights;
        blob_bytes = cnnc_model_weights_bytes;
    }
#endif
    if (raw == NULL || cnnc_model_init(&ctx, blob, blob_bytes) != CNNC_OK) return 3;
    if (use_pool && cnnc_model_threads_start(&pool, threads) != CNNC_OK) return 5;
    while (fread(x, sizeof x, 1, stdin) == 1) {
        for (k = 0; k < repeats; ++k) {
            double t0 = now_ms();
            status = use_pool
                         ? cnnc_model_threads_run(&pool, &ctx, x, y, arena, CNNC_MODEL_ARENA_BYTES)
                         : cnnc_model_run_threads(&ctx, x, y, arena, CNNC_MODEL_ARENA_BYTES,
                                                  threads);
            if (status != 0) return 4;
            fprintf(stderr, "time_ms %.4f\n", now_ms() - t0);
        }
        fwrite(y, sizeof y, 1, stdout);
    }
    if (use_pool) cnnc_model_threads_stop(&pool);
    return 0;
}
"""


def build_driver(out_dir: str | Path, target_name: str) -> Path:
    """The driver for the folder on the target (cached by compiler, flags and sources)."""
    out = Path(out_dir)
    if not (out / "model_threads.c").is_file():
        raise ToolchainError(f"{out}: no model_threads.c (compiled by an older cnnc?)")
    target = check_toolchain(target_name)
    sources, includes = model_sources(out)
    sources = [out / "model_threads.c", *sources[1:]]  # it includes model.c
    flags = [*build_flags(target), "-pthread"]
    key = hashlib.sha256(" ".join([target_cc(target), *flags, DRIVER_C]).encode())
    for path in [*sources, *(h for d in includes for h in sorted(d.glob("*.h")))]:
        key.update(path.name.encode() + b"\0" + path.read_bytes())
    binary = cache_dir() / "threads" / f"driver-{target.name}-{key.hexdigest()[:20]}"
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp, "threads_driver.c")
        driver.write_text(DRIVER_C)
        cc = target_cc(target)
        compile_flags = [f for f in flags if f != "-static" and not f.startswith("-Wl,")]
        # the runtime's objects come from the per-source cache every folder shares
        objects = [compile_object(cc, compile_flags, includes, src, target.name)
                   for src in [driver, *sources]]  # fmt: skip
        cmd = [cc, *flags, *map(str, objects), "-o", str(Path(tmp, "driver")), "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ToolchainError(f"threads driver build failed: {proc.stderr.strip()[:2000]}")
        os.replace(Path(tmp, "driver"), binary)
    return binary


def run_threads(
    out_dir, target_name: str, x: np.ndarray, n_threads: int, repeat: int = 1, pool: bool = False
):
    """(outputs [N, OUTPUT_SIZE] float32, times in ms) of cnnc_model_run_threads, or with
    ``pool`` of cnnc_model_threads_run on one pool of n_threads for every run."""
    target = check_toolchain(target_name, run=True)
    binary = build_driver(out_dir, target_name)
    weights = Path(out_dir) / "weights.bin"
    cmd = [str(binary), *(["-w", str(weights)] if weights.is_file() else []),
           "-t", str(n_threads), "-r", str(repeat), "-p", str(int(pool))]  # fmt: skip
    if target.qemu:
        cmd = [target.qemu, "-L", target.sysroot, *cmd]
    data = np.ascontiguousarray(x, dtype="<f4").tobytes()
    proc = subprocess.run(cmd, input=data, capture_output=True)
    if proc.returncode != 0:
        raise ToolchainError(f"{' '.join(cmd)}: exit status {proc.returncode}")
    out_size = model_define(out_dir, "OUTPUT_SIZE")
    y = np.frombuffer(proc.stdout, dtype="<f4").reshape(-1, out_size)
    times = [float(line.split()[1]) for line in proc.stderr.decode().splitlines()
             if line.startswith("time_ms")]  # fmt: skip
    return y, times
