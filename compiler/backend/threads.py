"""model_threads.c: a pthreads entry point that splits every layer's output over N threads.

    int cnnc_model_run_threads(const cnnc_model_ctx *ctx, const float *input, float *output,
                               void *arena, size_t arena_bytes, int n_threads);

The file includes model.c (so it reuses its static layer parameters and kernel slots) and
is built instead of it, with -pthread, on Linux targets only; model.c, cnnc_model_run and
every Cortex-M build stay single-threaded and pthread-free.

How a layer is split (part p of P works on a contiguous range, a barrier after each layer):

- conv-like calls (params with n == 1, h, w, c, out_h, out_w, out_c, stride_h, pad_top:
  conv, depthwise, pointwise, pooling): output rows [r0, r1). The part sees the input from
  row max(0, r0*stride_h - pad_top) on, with pad_top and h shrunk to match, so every
  output pixel reads exactly the taps, padding included, that the whole call reads;
- element-wise calls (params with a ``size`` and only activation pointers): [s0, s1);
- anything else (dense, transpose, global pooling, binary packed layers, several calls in
  one layer, an output overlapping its input): the whole call on part 0.

No reduction is ever split, so every output value is computed by the same code on the same
data as in cnnc_model_run: results are identical for every N.
"""

from __future__ import annotations

import re

from .. import ir

CONV_FIELDS = {"n", "h", "w", "c", "out_h", "out_w", "out_c", "kernel_h", "stride_h", "pad_top"}
ITEM_BYTES = {"int8": 1, "uint8": 1, "float32": 4, "int32": 4, "uint32": 4}
ARG = re.compile(r"\(arena \+ (\d+)\) /\* (.+) \[([0-9, ]*)\] (\w+) \*/")
OUTPUT_COPY = re.compile(r"memcpy\(output, \(const uint8_t \*\)arena \+ (\d+), (\d+)\);")


def arena_span(arg: str) -> tuple[int, int] | None:
    """(first byte, end) of an arena argument, from its offset and shape comment."""
    found = ARG.search(arg)
    if found is None or found[4] not in ITEM_BYTES:
        return None
    count = 1
    for dim in filter(None, found[3].split(",")):
        count *= int(dim)
    return int(found[1]), int(found[1]) + count * ITEM_BYTES[found[4]]


def split_kind(call, node: ir.Node) -> str | None:
    """'rows', 'size' or None (not split) for a layer's single kernel call."""
    params = call.params or {}
    if not call.params_type or call.params_type.startswith("cnnc_b1"):
        return None
    if CONV_FIELDS <= set(params) and int(params["n"]) == 1 and len(call.args) >= 2:
        x, y = arena_span(call.args[0]), arena_span(call.args[-1])
        from_input = "input" in call.args[0] and "arena" not in call.args[0]
        if y and (from_input or (x and (x[1] <= y[0] or y[1] <= x[0]))):
            return "rows"
        return None
    if set(params) >= {"size"} and all("ctx->weights" not in a for a in call.args):
        return "size"
    return None


def render_part(layer, slots: dict[str, int], slot_macro) -> tuple[str, bool]:
    """``layerK_part(ctx, input, arena, part, parts)``; True if it splits the work."""
    head = (f"static void layer{layer.index}_part(const cnnc_model_ctx *ctx, const void *input, "
            "uint8_t *arena, int part, int parts) {")  # fmt: skip
    whole = [head, "    (void)parts;", f"    if (part == 0) layer{layer.index}(ctx, input, arena);",
             "}"]  # fmt: skip
    if len(layer.calls) != 1:
        return "\n".join(whole), False
    call = layer.calls[0]
    kind = split_kind(call, layer.node)
    if kind is None:
        return "\n".join(whole), False
    fn = f"{slot_macro(call.fn)}(ctx)" if call.fn in slots else call.fn
    ptype, pname = call.params_type, f"layer{layer.index}_p0"
    lines = [head, "    (void)ctx;", "    (void)input;", "    (void)arena;",
             f"    {ptype} p = {pname};"]  # fmt: skip
    if kind == "rows":
        dil = "p.dilation_h" if "dilation_h" in call.params else "1"
        lines += [
            "    const int32_t r0 = split_at(p.out_h, part, parts);",
            "    const int32_t r1 = split_at(p.out_h, part + 1, parts);",
            "    const int32_t first = r0 * p.stride_h - p.pad_top; /* r0's top tap row */",
            "    const int32_t skip = first > 0 ? first : 0; /* whole input rows above it */",
            "    const int32_t last = (r1 - 1) * p.stride_h - p.pad_top"
            f" + (p.kernel_h - 1) * {dil};",
            "    if (r0 == r1) return;",
            "    /* rows past `last` feed no output of this part: its h stops there */",
            "    p.h = (last + 1 < p.h ? last + 1 : p.h) - skip;",
            "    p.pad_top = skip > 0 ? 0 : -first;",
            "    p.out_h = r1 - r0;",
            f"    {fn}(&p, ({call.args[0]}) + (size_t)skip * p.w * p.c,",
            *[f"        {a}," for a in call.args[1:-1]],
            f"        ({call.args[-1]}) + (size_t)r0 * p.out_w * p.out_c);",
        ]  # fmt: skip
    else:
        lines += [
            "    const int32_t s0 = split_at(p.size, part, parts);",
            "    const int32_t s1 = split_at(p.size, part + 1, parts);",
            "    if (s0 == s1) return;",
            "    p.size = s1 - s0;",
            f"    {fn}(&p,",
            ",\n".join(f"        ({a}) + s0" for a in call.args) + ");",
        ]
    lines.append("}")
    return "\n".join(lines), True


def render_threads_c(model_c: str, layers, slots: dict[str, int], slot_macro) -> str | None:
    """The text of model_threads.c, or None if model.c's output copy is not recognised."""
    copy = OUTPUT_COPY.search(model_c)
    if copy is None:
        return None
    parts, split = [], 0
    for layer in layers:
        text, did = render_part(layer, slots, slot_macro)
        parts.append(text)
        split += did
    table = ", ".join(f"layer{layer.index}_part" for layer in layers)
    return "\n".join([
        "/* generated by cnnc — do not edit.",
        " * cnnc_model_run_threads: model.c's layers with each layer's output split over",
        f" * N pthreads ({split} of {len(layers)} layers split; the others run on thread 0).",
        " * Build this file instead of model.c, with -pthread, on Linux. */",
        "#define _POSIX_C_SOURCE 200112L /* pthread barriers */",
        "#include <pthread.h>",
        "",
        '#include "model.c"',
        '#include "model_threads.h"',
        "",
        "/* start of part k of n over [0, total): contiguous ranges, sizes differ by <= 1 */",
        "static int32_t split_at(int32_t total, int k, int n) {",
        "    return (int32_t)(((int64_t)total * k) / n);",
        "}",
        "",
        *[p + "\n" for p in parts],
        "typedef void (*layer_part_fn)(const cnnc_model_ctx *ctx, const void *input, "
        "uint8_t *arena, int part, int parts);",
        f"static const layer_part_fn layer_parts[{len(layers)}] = {{{table}}};",
        "",
        "/* Threads wait at the gate until every thread exists (go = 1) or one could not be",
        " * created (go = -1: they leave without touching the barrier). */",
        "typedef struct {",
        "    pthread_mutex_t lock;",
        "    pthread_cond_t opened;",
        "    int go;",
        "} thread_gate;",
        "",
        "typedef struct {",
        "    const cnnc_model_ctx *ctx;",
        "    const void *input;",
        "    uint8_t *arena;",
        "    int part, parts;",
        "    pthread_barrier_t *barrier; /* every part waits here after each layer */",
        "    thread_gate *gate;",
        "} thread_job;",
        "",
        "static int wait_gate(thread_gate *gate) {",
        "    int go;",
        "    pthread_mutex_lock(&gate->lock);",
        "    while (gate->go == 0) pthread_cond_wait(&gate->opened, &gate->lock);",
        "    go = gate->go;",
        "    pthread_mutex_unlock(&gate->lock);",
        "    return go;",
        "}",
        "",
        "static void open_gate(thread_gate *gate, int go) {",
        "    pthread_mutex_lock(&gate->lock);",
        "    gate->go = go;",
        "    pthread_cond_broadcast(&gate->opened);",
        "    pthread_mutex_unlock(&gate->lock);",
        "}",
        "",
        "static void *run_part(void *arg) {",
        "    const thread_job *job = (const thread_job *)arg;",
        "    int i;",
        "    if (job->part > 0 && wait_gate(job->gate) < 0) return NULL;",
        f"    for (i = 0; i < {len(layers)}; ++i) {{",
        "        layer_parts[i](job->ctx, job->input, job->arena, job->part, job->parts);",
        "        pthread_barrier_wait(job->barrier);",
        "    }",
        "    return NULL;",
        "}",
        "",
        "int cnnc_model_run_threads(const cnnc_model_ctx *ctx, const float *input, "
        "float *output,",
        "                           void *arena, size_t arena_bytes, int n_threads) {",
        "    pthread_t threads[CNNC_MODEL_MAX_THREADS];",
        "    thread_job jobs[CNNC_MODEL_MAX_THREADS];",
        "    pthread_barrier_t barrier;",
        "    thread_gate gate;",
        "    int k, started = 1;",
        "    int status = check_call(ctx, input, arena, arena_bytes);",
        "    if (status != CNNC_OK) return status;",
        "    if (output == NULL) return CNNC_ERR_NULL_ARG;",
        "    if (n_threads < 1) n_threads = 1;",
        "    if (n_threads > CNNC_MODEL_MAX_THREADS) n_threads = CNNC_MODEL_MAX_THREADS;",
        "    if (pthread_barrier_init(&barrier, NULL, (unsigned)n_threads) != 0)",
        "        return CNNC_ERR_THREADS;",
        "    pthread_mutex_init(&gate.lock, NULL);",
        "    pthread_cond_init(&gate.opened, NULL);",
        "    gate.go = 0;",
        "    for (k = 0; k < n_threads; ++k) {",
        "        jobs[k].ctx = ctx;",
        "        jobs[k].input = input;",
        "        jobs[k].arena = (uint8_t *)arena;",
        "        jobs[k].part = k;",
        "        jobs[k].parts = n_threads;",
        "        jobs[k].barrier = &barrier;",
        "        jobs[k].gate = &gate;",
        "    }",
        "    for (k = 1; k < n_threads; ++k, ++started) {",
        "        if (pthread_create(&threads[k], NULL, run_part, &jobs[k]) != 0) break;",
        "    }",
        "    open_gate(&gate, started == n_threads ? 1 : -1);",
        "    if (started == n_threads) run_part(&jobs[0]);",
        "    for (k = 1; k < started; ++k) pthread_join(threads[k], NULL);",
        "    pthread_barrier_destroy(&barrier);",
        "    pthread_cond_destroy(&gate.opened);",
        "    pthread_mutex_destroy(&gate.lock);",
        "    if (started < n_threads) return CNNC_ERR_THREADS;",
        f"    memcpy(output, (const uint8_t *)arena + {copy[1]}, {copy[2]});",
        "    return CNNC_OK;",
        "}",
        "",
    ])  # fmt: skip


THREADS_H = """/* generated by cnnc — do not edit. The threaded entry point (model_threads.c). */
#ifndef CNNC_MODEL_THREADS_H
#define CNNC_MODEL_THREADS_H
#include "model.h"

#define CNNC_MODEL_MAX_THREADS 64
#define CNNC_ERR_THREADS 90 /* a pthread barrier or thread could not be created */

/* cnnc_model_run with each layer's output rows (or elements) split over n_threads
 * pthreads (clamped to 1..CNNC_MODEL_MAX_THREADS); the outputs are identical to
 * cnnc_model_run's for every n_threads. Returns CNNC_OK or an error status. */
int cnnc_model_run_threads(const cnnc_model_ctx *ctx, const float *input, float *output,
                           void *arena, size_t arena_bytes, int n_threads);
#endif
"""
