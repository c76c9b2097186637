"""model_threads.c: a pthreads entry point that splits every layer's output over N threads.

    int cnnc_model_threads_start(cnnc_model_threads *pool, int n_threads);
    int cnnc_model_threads_run(cnnc_model_threads *pool, const cnnc_model_ctx *ctx,
                               const float *input, float *output, void *arena,
                               size_t arena_bytes);
    void cnnc_model_threads_stop(cnnc_model_threads *pool);
    int cnnc_model_run_threads(const cnnc_model_ctx *ctx, const float *input, float *output,
                               void *arena, size_t arena_bytes, int n_threads);

The pool (caller-allocated, no malloc) keeps its N - 1 worker threads between inferences;
cnnc_model_run_threads starts one, runs once and stops it. The file includes model.c (so it
reuses its static layer parameters and kernel slots) and is built instead of it, with
-pthread, on Linux targets only; model.c, cnnc_model_run and every Cortex-M build stay
single-threaded and pthread-free.

How a layer is split (part p of P works on a contiguous range, a barrier after each layer):

- int8 dense and pointwise calls where model.c picked an x86 panel GEMM (AVX2, AVX-512,
  AVX512-VNNI) at init: output columns [c0, c1) on panel bounds, through the kernel's
  column-range twin (cnnc_s8_dense_cols__<isa>): each thread packs only its own panels of
  weights (a split by pixels would make every thread pack all of them: the cost of the
  7x7 and 14x14 layers and of the classifier). Pointwise layers only below
  COLS_MAX_PIXELS pixels and with at least two panels per thread; otherwise:
- pointwise calls (1x1, stride 1, no padding, n == 1): output pixels [q0, q1) as a 1-row
  image of q1 - q0 pixels (the kernel is a dense layer over the pixels), which divides a
  7x7 layer 24/25 where its rows divide 21/28 (float32: whole on part 0 when a part would
  get fewer than 8 pixels, below the kernels' register tile);
- other conv-like calls (params with n == 1, h, w, c, out_h, out_w, out_c, stride_h, pad_top:
  conv, depthwise, pooling): output rows [r0, r1). The part sees the input from
  row max(0, r0*stride_h - pad_top) on, with pad_top and h shrunk to match, so every
  output pixel reads exactly the taps, padding included, that the whole call reads;
- row-broadcast element-wise calls (params rows, cols, b_row_stride, b_col_stride: add,
  mul), the residual add in place included: rows [r0, r1);
- element-wise calls (params with a ``size`` and only activation pointers): [s0, s1);
- the NCHW -> NHWC transpose of the model input (n == 1): output rows, by a copy loop in
  this file (a copy: the same values as the kernel's);
- float32 dense calls where model.c picked an exact x86 kernel (AVX2, AVX-512): output
  columns on vector bounds through cnnc_f32_dense_cols__<isa> (f32_dense_cols.h: the row
  path's sums, bias then k = 0..K-1 in order);
- anything else (global pooling, binary packed layers, several calls in one layer, an
  output overlapping its input, a dense without a column twin): the whole call on part 0.

No reduction is ever split, so every output value is computed by the same code on the same
data as in cnnc_model_run: results are identical for every N.

The barrier after each layer spins (with the CPU's pause hint) for up to
CNNC_THREADS_SPIN_NS (2 ms), yielding now and then, before it sleeps on a condition
variable: a futex wake-up costs tens of microseconds on a VM, and MobileNetV2 has ~70
layers per inference.
"""

from __future__ import annotations

import re

from .. import ir

CONV_FIELDS = {"n", "h", "w", "c", "out_h", "out_w", "out_c", "kernel_h", "stride_h", "pad_top"}
ROW_FIELDS = {"rows", "cols", "b_row_stride", "b_col_stride"}
ITEM_BYTES = {"int8": 1, "uint8": 1, "float32": 4, "int32": 4, "uint32": 4}
ARG = re.compile(r"\(arena \+ (\d+)\) /\* (.+) \[([0-9, ]*)\] (\w+) \*/")
OUTPUT_COPY = re.compile(r"memcpy\(output, \(const uint8_t \*\)arena \+ (\d+), (\d+)\);")
NCHW_TO_NHWC = [0, 2, 3, 1]


def arena_span(arg: str) -> tuple[int, int] | None:
    """(first byte, end) of an arena argument, from its offset and shape comment."""
    found = ARG.search(arg)
    if found is None or found[4] not in ITEM_BYTES:
        return None
    count = 1
    for dim in filter(None, found[3].split(",")):
        count *= int(dim)
    return int(found[1]), int(found[1]) + count * ITEM_BYTES[found[4]]


def disjoint_or_same(arg: str, y: tuple[int, int]) -> bool:
    """True if an input argument is outside the arena, or disjoint from y, or starts where
    y starts (an element-wise call in place: each element is read before it is written)."""
    if "arena" not in arg:
        return True
    x = arena_span(arg)
    return x is not None and (x[1] <= y[0] or y[1] <= x[0] or x[0] == y[0])


def is_pointwise(call) -> bool:
    params = call.params
    one = ("kernel_h", "kernel_w", "stride_h", "stride_w")
    zero = ("pad_top", "pad_left")
    return (
        "pwconv" in call.fn
        and all(int(params.get(k, 0)) == 1 for k in one)
        and all(int(params.get(k, 1)) == 0 for k in zero)
        and int(params.get("groups", 1)) == 1
        and params["out_h"] == params["h"]
        and params["out_w"] == params["w"]
    )


S8_COLS = {"cnnc_s8_dense__ref", "cnnc_s8_pwconv__ref"}  # args x, w, bias, mult, shift, y
COLS_ISAS = ("avx2", "avx512", "avx512vnni")  # the tiers with a cnnc_s8_dense_cols__<isa>
PANEL = 32  # column ranges start on multiples of the widest panel (AVX2's 16 divides it)
PANEL_KMAX = 2048  # S8_PANEL_KMAX: longer rows do not run on the panel GEMM
COLS_MAX_PIXELS = 1024  # pointwise layers with more pixels split by pixels


F32_COLS = "cnnc_f32_dense__ref"  # args x, w, bias, y
# the float pointwise kernels run pixels in tiles of F32_MR (<= 8); a part with fewer takes
# the row path, which streams all weights per pixel: such layers run whole on part 0
F32_TILE_PIXELS = 8
F32_COLS_ISAS = ("avx2", "avx512")  # the exact tiers with a cnnc_f32_dense_cols__<isa>
F32_GROUP = 16  # float column ranges start on multiples of an AVX-512 vector


def cols_split(call, slots: dict[str, int]) -> bool:
    """True for an int8 dense/pointwise or float32 dense call the column twins can split
    (if model.c picks an x86 kernel with a twin at init; the part function checks that at
    run time)."""
    params = call.params or {}
    if call.fn not in slots or (call.fn, len(call.args)) not in (
        *((f, 6) for f in S8_COLS),
        (F32_COLS, 4),
    ):
        return False
    x, y = arena_span(call.args[0]), arena_span(call.args[-1])
    if x is None or y is None or not (x[1] <= y[0] or y[1] <= x[0]):
        return False
    if call.fn == F32_COLS:
        return True
    if call.fn == "cnnc_s8_dense__ref":
        return int(params["k"]) <= PANEL_KMAX
    pixels = int(params["n"]) * int(params["h"]) * int(params["w"])
    return (is_pointwise(call) and int(params["c"]) <= PANEL_KMAX
            and pixels <= COLS_MAX_PIXELS and int(params["out_c"]) >= 4 * PANEL)  # fmt: skip


def split_kind(call, node: ir.Node) -> str | None:
    """'pixels', 'rows', 'binary_rows', 'size', 'transpose' or None (not split) for a layer's
    single kernel call."""
    params = call.params or {}
    if not call.params_type or call.params_type.startswith("cnnc_b1"):
        return None
    if CONV_FIELDS <= set(params) and int(params["n"]) == 1 and len(call.args) >= 2:
        x, y = arena_span(call.args[0]), arena_span(call.args[-1])
        from_input = "input" in call.args[0] and "arena" not in call.args[0]
        if y and (from_input or (x and (x[1] <= y[0] or y[1] <= x[0]))):
            return "pixels" if is_pointwise(call) else "rows"
        return None
    if ROW_FIELDS <= set(params) and len(call.args) == 3:
        y = arena_span(call.args[-1])
        if y and all(disjoint_or_same(a, y) for a in call.args[:2]):
            return "binary_rows"
        return None
    if set(params) >= {"size"} and all("ctx->weights" not in a for a in call.args):
        return "size"
    if (
        call.fn == "cnnc_f32_transpose__ref"
        and params.get("rank") == 4
        and list(params.get("perm", []))[:4] == NCHW_TO_NHWC
        and int(params["in_shape"][0]) == 1
        and len(call.args) == 2
        and "arena" not in call.args[0]
        and arena_span(call.args[1])
    ):
        return "transpose"
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
    cols = cols_split(call, slots)
    if kind is None and not cols:
        return "\n".join(whole), False
    fn = f"{slot_macro(call.fn)}(ctx)" if call.fn in slots else call.fn
    ptype, pname = call.params_type, f"layer{layer.index}_p0"
    lines = [head, "    (void)ctx;", "    (void)input;", "    (void)arena;",
             f"    {ptype} p = {pname};"]  # fmt: skip
    if cols and call.fn == F32_COLS:
        x, w, bias, y = call.args
        lines += [
            f"    f32_dense_cols_fn *cols = f32_cols_twin((cnnc_kernel_fn){fn});",
            "    if (cols != NULL && parts > 1) { /* output columns on vector bounds */",
            f"        const int32_t groups = (p.m + {F32_GROUP - 1}) / {F32_GROUP};",
            f"        const int32_t c0 = split_at(groups, part, parts) * {F32_GROUP};",
            "        const int32_t c1 = part + 1 == parts ? p.m"
            f" : split_at(groups, part + 1, parts) * {F32_GROUP};",
            "        if (c0 < c1)",
            f"            cols(&p, c0, c1, {x}, {w},",
            f"                 {bias}, {y});",
            "        return;",
            "    }",
            f"    if (part == 0) layer{layer.index}(ctx, input, arena);",
            "}",
        ]  # fmt: skip
        return "\n".join(lines), True
    if cols:
        x, w, bias, mult, shift, y = call.args
        if call.fn == "cnnc_s8_dense__ref":
            dense = ["    const cnnc_s8_dense_params d = p;"]
        else:
            dense = [
                "    cnnc_s8_dense_params d; /* a 1x1 stride-1 conv is a dense layer */",
                "    d.n = p.n * p.h * p.w;",
                "    d.k = p.c;",
                "    d.m = p.out_c;",
                "    d.x_zero_point = p.x_zero_point;",
                "    d.y_zero_point = p.y_zero_point;",
                "    d.act_min = p.act_min;",
                "    d.act_max = p.act_max;",
                "    d.rounding = p.rounding;",
            ]
        lines += [
            f"    s8_dense_cols_fn *cols = s8_cols_twin((cnnc_kernel_fn){fn});",
            *dense,
            "    if (cols != NULL && parts > 1) { /* output columns on panel bounds */",
            f"        const int32_t panels = (d.m + {PANEL - 1}) / {PANEL};",
            f"        const int32_t c0 = split_at(panels, part, parts) * {PANEL};",
            "        const int32_t c1 = part + 1 == parts ? d.m"
            f" : split_at(panels, part + 1, parts) * {PANEL};",
            "        if (c0 < c1)",
            f"            cols(&d, c0, c1, {x}, {w},",
            f"                 {bias}, {mult}, {shift}, {y});",
            "        return;",
            "    }",
        ]  # fmt: skip
        if kind is None:  # the dense without a twin: the whole call on part 0
            lines += [f"    if (part == 0) layer{layer.index}(ctx, input, arena);", "}"]
            return "\n".join(lines), True
    if kind == "pixels":
        few = []
        if "f32" in call.fn:  # fewer than a register tile's 8 pixels per part: the row path
            few = [
                f"    if (p.h * p.w < {F32_TILE_PIXELS} * parts) {{ /* too few pixels to share */",
                f"        if (part == 0) layer{layer.index}(ctx, input, arena);",
                "        return;",
                "    }",
            ]
        lines += [
            *few,
            "    const int32_t pixels = p.h * p.w;",
            "    const int32_t q0 = split_at(pixels, part, parts);",
            "    const int32_t q1 = split_at(pixels, part + 1, parts);",
            "    if (q0 == q1) return;",
            "    /* a 1x1 stride-1 conv is a dense layer over the pixels: these as one row */",
            "    p.h = p.out_h = 1;",
            "    p.w = p.out_w = q1 - q0;",
            f"    {fn}(&p, ({call.args[0]}) + (size_t)q0 * p.c,",
            *[f"        {a}," for a in call.args[1:-1]],
            f"        ({call.args[-1]}) + (size_t)q0 * p.out_c);",
        ]  # fmt: skip
    elif kind == "rows":
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
    elif kind == "binary_rows":
        a, b, y = call.args
        lines += [
            "    const int32_t r0 = split_at(p.rows, part, parts);",
            "    const int32_t r1 = split_at(p.rows, part + 1, parts);",
            "    if (r0 == r1) return;",
            "    p.rows = r1 - r0;",
            f"    {fn}(&p, ({a}) + (size_t)r0 * p.cols,",
            f"        ({b}) + (size_t)r0 * p.b_row_stride,",
            f"        ({y}) + (size_t)r0 * p.cols);",
        ]
    elif kind == "transpose":
        lines += [
            "    const int32_t r0 = split_at(p.in_shape[2], part, parts);",
            "    const int32_t r1 = split_at(p.in_shape[2], part + 1, parts);",
            "    if (r0 == r1) return;",
            f"    nchw_to_nhwc_rows(p.in_shape[1], p.in_shape[2], p.in_shape[3], {call.args[0]},",
            f"                      r0, r1, {call.args[1]});",
        ]
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


def f32_cols_twins(model_c: str) -> list[str]:
    """f32_cols_twin: the column-range twin of the x86 exact float dense kernel model.c
    picked (only the tiers model.c names), or NULL (a fast-mode kernel has none)."""
    tests = [
        f"    if (k == (cnnc_kernel_fn)cnnc_f32_dense__{isa}) return cnnc_f32_dense_cols__{isa};"
        for isa in F32_COLS_ISAS
        if f"cnnc_f32_dense__{isa};" in model_c
    ]
    return [
        "typedef void f32_dense_cols_fn(const cnnc_f32_dense_params *p, int32_t c0, int32_t c1,",
        "                               const float *x, const float *w, const float *bias,",
        "                               float *y);",
        "",
        "/* The column-range twin (cnnc_f32_dense_cols__<isa>) of the float32 dense kernel",
        " * model.c picked at init, or NULL (no twin: the layer runs whole on part 0). */",
        "static f32_dense_cols_fn *f32_cols_twin(cnnc_kernel_fn k) {",
        "#if defined(__x86_64__)",
        *tests,
        "#endif",
        "    (void)k;",
        "    return NULL;",
        "}",
        "",
    ]


def cols_twins(model_c: str) -> list[str]:
    """s8_cols_twin: the column-range twin of the x86 dense/pointwise kernel model.c picked
    (only the tiers model.c names: their files are in the build), or NULL."""
    tests = []
    for isa in COLS_ISAS:
        names = [
            f"cnnc_s8_{k}__{isa}" for k in ("dense", "pwconv") if f"cnnc_s8_{k}__{isa};" in model_c
        ]
        if names:
            same = " || ".join(f"k == (cnnc_kernel_fn){n}" for n in names)
            tests.append(f"    if ({same}) return cnnc_s8_dense_cols__{isa};")
    return [
        "typedef void s8_dense_cols_fn(const cnnc_s8_dense_params *p, int32_t c0, int32_t c1,",
        "                              const int8_t *x, const int8_t *w, const int32_t *bias,",
        "                              const int32_t *mult, const int32_t *shift, int8_t *y);",
        "",
        "/* The column-range twin (cnnc_s8_dense_cols__<isa>) of the int8 dense or pointwise",
        " * kernel model.c picked at init, or NULL (no twin: the layer splits otherwise). */",
        "static s8_dense_cols_fn *s8_cols_twin(cnnc_kernel_fn k) {",
        "#if defined(__x86_64__)",
        *tests,
        "#endif",
        "    (void)k;",
        "    return NULL;",
        "}",
        "",
    ]


HELPERS_C = r"""/* start of part k of n over [0, total): contiguous ranges, sizes differ by <= 1 */
static int32_t split_at(int32_t total, int k, int n) {
    return (int32_t)(((int64_t)total * k) / n);
}

/* Rows [r0, r1) of the NHWC copy of x[1][c][h][w]: a copy, so the same values as
 * cnnc_f32_transpose__ref's. */
static void nchw_to_nhwc_rows(int32_t c, int32_t h, int32_t w, const float *x, int32_t r0,
                              int32_t r1, float *y) {
    int32_t r, i, k;
    y += (size_t)r0 * w * c;
    for (r = r0; r < r1; ++r) {
        for (i = 0; i < w; ++i) {
            for (k = 0; k < c; ++k) *y++ = x[((size_t)k * h + r) * w + i];
        }
    }
}
"""

POOL_C = r"""
#ifndef CNNC_THREADS_SPIN_NS
#define CNNC_THREADS_SPIN_NS 2000000L /* a waiting thread spins this long, then sleeps */
#endif

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__) || (defined(__ARM_ARCH) && __ARM_ARCH >= 7)
#define CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define CPU_RELAX() ((void)0)
#endif

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void barrier_init(cnnc_model_barrier *b, int parts) {
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->turned, NULL);
    b->parts = parts;
    b->arrived = 0;
    b->generation = 0;
    b->sleepers = 0;
}

/* Returns when all b->parts threads have called it. The last one to arrive resets the
 * count and turns the generation; the others spin on the generation for up to
 * CNNC_THREADS_SPIN_NS (sched_yield every 256 spins, for more threads than cores), then
 * sleep on the condition variable. A sleeper registers under the lock before its last
 * look at the generation, and the last arrival looks at the sleepers after turning it
 * (both sequentially consistent): a wake-up is never lost. */
static void barrier_wait(cnnc_model_barrier *b) {
    const unsigned gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
    long long deadline = 0;
    unsigned spins;
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) ==
        __atomic_load_n(&b->parts, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->generation, gen + 1u, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&b->sleepers, __ATOMIC_SEQ_CST) > 0) {
            pthread_mutex_lock(&b->lock);
            pthread_cond_broadcast(&b->turned);
            pthread_mutex_unlock(&b->lock);
        }
        return;
    }
    for (spins = 1;; ++spins) {
        if (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != gen) return;
        CPU_RELAX();
        if (spins % 256 == 0) {
            const long long t = now_ns();
            if (deadline == 0) deadline = t + CNNC_THREADS_SPIN_NS;
            if (t > deadline) break;
            sched_yield();
        }
    }
    pthread_mutex_lock(&b->lock);
    __atomic_add_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&b->generation, __ATOMIC_SEQ_CST) == gen)
        pthread_cond_wait(&b->turned, &b->lock);
    __atomic_sub_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&b->lock);
}

/* Part `part` of every layer, a barrier after each. */
static void run_layers(cnnc_model_threads *pool, int part) {
    int i;
    for (i = 0; i < CNNC_MODEL_NUM_LAYERS_SPLIT; ++i) {
        layer_parts[i](pool->ctx, pool->input, pool->arena, part, pool->n_threads);
        barrier_wait(&pool->barrier);
    }
}

/* A worker: waits at the barrier for a job (or stop), runs its part, again. */
static void *pool_worker(void *arg) {
    const cnnc_model_thread_slot *slot = (const cnnc_model_thread_slot *)arg;
    cnnc_model_threads *pool = slot->pool;
    for (;;) {
        barrier_wait(&pool->barrier);
        if (pool->stop) return NULL;
        run_layers(pool, slot->part);
    }
}

int cnnc_model_threads_start(cnnc_model_threads *pool, int n_threads) {
    int k;
    if (pool == NULL) return CNNC_ERR_NULL_ARG;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > CNNC_MODEL_MAX_THREADS) n_threads = CNNC_MODEL_MAX_THREADS;
    memset(pool, 0, sizeof *pool);
    pool->n_threads = n_threads;
    barrier_init(&pool->barrier, n_threads);
    for (k = 1; k < n_threads; ++k) {
        pool->slots[k].pool = pool;
        pool->slots[k].part = k;
        if (pthread_create(&pool->threads[k], NULL, pool_worker, &pool->slots[k]) != 0) break;
    }
    if (k < n_threads) { /* release the k - 1 started workers to stop, then fail */
        int j;
        pool->stop = 1;
        __atomic_store_n(&pool->barrier.parts, k, __ATOMIC_RELEASE);
        barrier_wait(&pool->barrier);
        for (j = 1; j < k; ++j) pthread_join(pool->threads[j], NULL);
        pthread_cond_destroy(&pool->barrier.turned);
        pthread_mutex_destroy(&pool->barrier.lock);
        pool->n_threads = 0;
        return CNNC_ERR_THREADS;
    }
    return CNNC_OK;
}

int cnnc_model_threads_run(cnnc_model_threads *pool, const cnnc_model_ctx *ctx,
                           const float *input, float *output, void *arena,
                           size_t arena_bytes) {
    int status;
    if (pool == NULL || pool->n_threads < 1) return CNNC_ERR_NULL_ARG;
    status = check_call(ctx, input, arena, arena_bytes);
    if (status != CNNC_OK) return status;
    if (output == NULL) return CNNC_ERR_NULL_ARG;
    pool->ctx = ctx;
    pool->input = input;
    pool->arena = (uint8_t *)arena;
    barrier_wait(&pool->barrier); /* the workers take the job */
    run_layers(pool, 0);
    memcpy(output, (const uint8_t *)arena + OUTPUT_OFFSET, OUTPUT_BYTES);
    return CNNC_OK;
}

void cnnc_model_threads_stop(cnnc_model_threads *pool) {
    int k;
    if (pool == NULL || pool->n_threads < 1) return;
    pool->stop = 1;
    barrier_wait(&pool->barrier);
    for (k = 1; k < pool->n_threads; ++k) pthread_join(pool->threads[k], NULL);
    pthread_cond_destroy(&pool->barrier.turned);
    pthread_mutex_destroy(&pool->barrier.lock);
    pool->n_threads = 0;
}

int cnnc_model_run_threads(const cnnc_model_ctx *ctx, const float *input, float *output,
                           void *arena, size_t arena_bytes, int n_threads) {
    cnnc_model_threads pool;
    int status = check_call(ctx, input, arena, arena_bytes);
    if (status != CNNC_OK) return status;
    if (output == NULL) return CNNC_ERR_NULL_ARG;
    status = cnnc_model_threads_start(&pool, n_threads);
    if (status != CNNC_OK) return status;
    status = cnnc_model_threads_run(&pool, ctx, input, output, arena, arena_bytes);
    cnnc_model_threads_stop(&pool);
    return status;
}
"""


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
    twins = cols_twins(model_c) if any("s8_cols_twin(" in p for p in parts) else []
    if any("f32_cols_twin(" in p for p in parts):
        twins += f32_cols_twins(model_c)
    table = ", ".join(f"layer{layer.index}_part" for layer in layers)
    return "\n".join([
        "/* generated by cnnc — do not edit.",
        " * cnnc_model_run_threads and the cnnc_model_threads pool: model.c's layers with each",
        f" * layer's output split over N pthreads ({split} of {len(layers)} layers split; the",
        " * others run on thread 0). Built instead of model.c, with -pthread, on Linux. */",
        "#define _POSIX_C_SOURCE 200112L /* clock_gettime, sched_yield */",
        "#include <pthread.h>",
        "#include <sched.h>",
        "#include <time.h>",
        "",
        '#include "model.c"',
        '#include "model_threads.h"',
        "",
        HELPERS_C,
        *twins,
        *[p + "\n" for p in parts],
        "typedef void (*layer_part_fn)(const cnnc_model_ctx *ctx, const void *input, "
        "uint8_t *arena, int part, int parts);",
        f"#define CNNC_MODEL_NUM_LAYERS_SPLIT {len(layers)}",
        f"static const layer_part_fn layer_parts[{len(layers)}] = {{{table}}};",
        f"#define OUTPUT_OFFSET {copy[1]}",
        f"#define OUTPUT_BYTES {copy[2]}",
        POOL_C,
    ])  # fmt: skip


THREADS_H = """/* generated by cnnc — do not edit. The threaded entry points (model_threads.c). */
#ifndef CNNC_MODEL_THREADS_H
#define CNNC_MODEL_THREADS_H
#include <pthread.h>

#include "model.h"

#define CNNC_MODEL_MAX_THREADS 64
#define CNNC_ERR_THREADS 90 /* a thread could not be created */

/* The barrier every part waits at after each layer (model_threads.c). */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t turned;
    int parts, arrived, sleepers;
    unsigned generation;
} cnnc_model_barrier;

struct cnnc_model_threads;
typedef struct {
    struct cnnc_model_threads *pool;
    int part;
} cnnc_model_thread_slot;

/* A pool of n_threads - 1 worker threads kept between inferences (caller-allocated).
 * One caller at a time per pool; its fields are private. */
typedef struct cnnc_model_threads {
    int n_threads, stop;
    const cnnc_model_ctx *ctx;
    const void *input;
    uint8_t *arena;
    cnnc_model_barrier barrier;
    pthread_t threads[CNNC_MODEL_MAX_THREADS];
    cnnc_model_thread_slot slots[CNNC_MODEL_MAX_THREADS];
} cnnc_model_threads;

/* Starts n_threads - 1 workers (n_threads clamped to 1..CNNC_MODEL_MAX_THREADS).
 * Returns CNNC_OK, or CNNC_ERR_THREADS (none left running). */
int cnnc_model_threads_start(cnnc_model_threads *pool, int n_threads);

/* cnnc_model_run on the pool: each layer's output rows (or pixels, or elements) split over
 * its threads; the outputs are identical to cnnc_model_run's for every n_threads. */
int cnnc_model_threads_run(cnnc_model_threads *pool, const cnnc_model_ctx *ctx,
                           const float *input, float *output, void *arena,
                           size_t arena_bytes);

/* Ends the workers (after the last run returned). */
void cnnc_model_threads_stop(cnnc_model_threads *pool);

/* start, one run, stop: cnnc_model_run with each layer split over n_threads pthreads.
 * Returns CNNC_OK or an error status. */
int cnnc_model_run_threads(const cnnc_model_ctx *ctx, const float *input, float *output,
                           void *arena, size_t arena_bytes, int n_threads);
#endif
"""
