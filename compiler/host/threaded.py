"""Build and run an output folder's threaded entry point (model_threads.c) on a Linux target.

``run_threads(out_dir, target, x, n_threads)`` compiles a small driver with model_threads.c
(instead of model.c) and the runtime, with -pthread (static for qemu-user targets), runs
it natively or under qemu-user, and returns the outputs of cnnc_model_run_threads (or, with
``pool=True``, of cnnc_model_threads_run on one pool kept for all runs) for the samples of
``x``; ``repeat`` > 1 also returns the per-run times in ms (for benchmarks).
``run_interleaved`` does the same for several thread counts taking turns in one process.
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
 * usage: threads_driver [-w weights.bin] -t N[,N2...] [-r repeats] [-p 1]; times on stderr.
 * Each repeat runs every thread count in turn (interleaved: the VM's speed drifts);
 * -p 1: one cnnc_model_threads pool per count for every run, else cnnc_model_run_threads
 * per run. Per sample, the outputs of each count in order. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_threads.h"

#define MAX_COUNTS 8

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
    static cnnc_model_threads pools[MAX_COUNTS];
    static float x[CNNC_MODEL_INPUT_SIZE], y[MAX_COUNTS][CNNC_MODEL_OUTPUT_SIZE];
    const void *blob = NULL;
    size_t blob_bytes = 0;
    int i, k, c, counts[MAX_COUNTS], n_counts = 0, repeats = 1, use_pool = 0, status;
    char *raw = (char *)malloc(CNNC_MODEL_ARENA_BYTES + 64);
    void *arena = raw + (64 - (size_t)raw % 64) % 64;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-w") == 0) blob = read_file(argv[i + 1], &blob_bytes);
        if (strcmp(argv[i], "-t") == 0) {
            char *s = argv[i + 1];
            for (n_counts = 0; n_counts < MAX_COUNTS && *s != '\0'; ++n_counts) {
                counts[n_counts] = (int)strtol(s, &s, 10);
                if (*s == ',') ++s;
            }
        }
        if (strcmp(argv[i], "-r") == 0) repeats = atoi(argv[i + 1]);
        if (strcmp(argv[i], "-p") == 0) use_pool = atoi(argv[i + 1]);
    }
#if CNNC_MODEL_EMBEDDED_WEIGHTS
    if (blob == NULL) {
        blob = cnnc_model_weights;
        blob_bytes = cnnc_model_weights_bytes;
    }
#endif
    if (raw == NULL || n_counts == 0 || cnnc_model_init(&ctx, blob, blob_bytes) != CNNC_OK)
        return 3;
    for (c = 0; use_pool && c < n_counts; ++c)
        if (cnnc_model_threads_start(&pools[c], counts[c]) != CNNC_OK) return 5;
    while (fread(x, sizeof x, 1, stdin) == 1) {
        for (k = 0; k < repeats; ++k) {
            for (c = 0; c < n_counts; ++c) {
                double t0 = now_ms();
                status = use_pool ? cnnc_model_threads_run(&pools[c], &ctx, x, y[c], arena,
                                                           CNNC_MODEL_ARENA_BYTES)
                                  : cnnc_model_run_threads(&ctx, x, y[c], arena,
                                                           CNNC_MODEL_ARENA_BYTES, counts[c]);
                if (status != 0) return 4;
                fprintf(stderr, "time_ms %d %.4f\n", counts[c], now_ms() - t0);
            }
        }
        fwrite(y, sizeof y[0], (size_t)n_counts, stdout);
    }
    for (c = 0; use_pool && c < n_counts; ++c) cnnc_model_threads_stop(&pools[c]);
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
    outputs, times = run_interleaved(out_dir, target_name, x, [n_threads], repeat, pool)
    return outputs[n_threads], times[n_threads]


def run_interleaved(out_dir, target_name: str, x: np.ndarray, counts, repeat: int = 1,
                    pool: bool = False):  # fmt: skip
    """({count: outputs [N, OUTPUT_SIZE]}, {count: times in ms}) for each thread count in
    ``counts``, the counts taking turns run by run in one process (the VM's speed drifts
    over seconds: turns compare like with like)."""
    target = check_toolchain(target_name, run=True)
    binary = build_driver(out_dir, target_name)
    weights = Path(out_dir) / "weights.bin"
    cmd = [str(binary), *(["-w", str(weights)] if weights.is_file() else []),
           "-t", ",".join(map(str, counts)), "-r", str(repeat), "-p", str(int(pool))]  # fmt: skip
    if target.qemu:
        cmd = [target.qemu, "-L", target.sysroot, *cmd]
    data = np.ascontiguousarray(x, dtype="<f4").tobytes()
    proc = subprocess.run(cmd, input=data, capture_output=True)
    if proc.returncode != 0:
        raise ToolchainError(f"{' '.join(cmd)}: exit status {proc.returncode}")
    out_size = model_define(out_dir, "OUTPUT_SIZE")
    y = np.frombuffer(proc.stdout, dtype="<f4").reshape(-1, len(counts), out_size)
    times: dict[int, list[float]] = {n: [] for n in counts}
    for line in proc.stderr.decode().splitlines():
        if line.startswith("time_ms"):
            _, n, ms = line.split()
            times[int(n)].append(float(ms))
    return {n: y[:, i] for i, n in enumerate(counts)}, times
