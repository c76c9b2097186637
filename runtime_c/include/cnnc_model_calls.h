/* The calls a model makes of each kernel, for kernels that build only the paths a model can
 * take (the Cortex-M DSP kernels: their written-out paths are most of their code).
 *
 *   CNNC_MODEL_CALLS(kernel, P)   true when P holds for the params struct of one of the
 *                                 model's calls of cnnc_<kernel>__ref's slot, e.g.
 *                                 CNNC_MODEL_CALLS(s8_dwconv, DSP_DW_S2) with
 *                                 #define DSP_DW_S2(p) ((p).stride_h == 2)
 *
 * P gets a compound literal of the params type, so a kernel's fast path guarded by
 * `CNNC_MODEL_CALLS(kernel, P) && <the run-time test>` folds to 0 at compile time when no
 * call can take it, and the path is not built. P must be a necessary condition of the run-
 * time test (a looser one only builds more code): a path left out when a call needs it
 * would hand the call to the next path, which computes the same bits, only slower.
 *
 * This copy, in the runtime's own tree, stands for every model: each test holds, every path
 * is built (the kernel tests build all of them). A compiled model's folder holds its own
 * copy, written by cnnc (cnnc.backend.codegen.render_model_calls) with the params of every
 * call of model.c, each band of a fused group's loop included. CNNC_ALL_PATHS builds every
 * path with that copy too (bench_mcu's "code O2 all" column). */
#ifndef CNNC_MODEL_CALLS_H
#define CNNC_MODEL_CALLS_H

#define CNNC_MODEL_CALLS(kernel, P) 1

#endif
