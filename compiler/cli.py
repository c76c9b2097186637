"""The `cnnc` command: train, compile, run, verify, report, eval.

Every ``CnncError`` ends as one line ``cnnc: error: ...`` on stderr and exit
status 1, never a traceback (an unexpected exception too; ``CNNC_DEBUG=1`` shows
its traceback). ``train`` and ``eval MODEL.onnx`` delegate to ``cnnc.models.cli``:
with ``--calibration digits`` and ``eval OUTDIR``'s data loading, the only places
where the compiler imports ``cnnc.models``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from . import api
from .backend import report as report_mod
from .errors import CnncError, DataError, ModelError, UnsupportedError
from .host import verify

CALIBRATION_SAMPLES = 512  # digits training images used for --calibration digits


def add_target(parser: argparse.ArgumentParser, run: bool) -> None:
    from .host import targets

    choices = list(targets.RUNNABLE_TARGETS) if run else list(targets.TARGETS)
    help_text = (
        "where to run the C: host (cffi), aarch64/armv7 under qemu-user, or cortex-m4/m7 "
        "on an emulated board (qemu-system-arm, semihosting)"
        if run
        else targets.COMPILE_TARGET_HELP
    )
    parser.add_argument("--target", default="host", choices=choices, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnc", description="Compile CNNs from ONNX into dependency-free C99 and verify it."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a zoo model on a data set and export ONNX")
    from .models import cli as models_cli

    models_cli.add_train_arguments(train)

    comp = sub.add_parser("compile", help="compile an ONNX model into an output folder of C")
    comp.add_argument("model", help="ONNX file")
    comp.add_argument("-o", "--output", required=True, help="output folder (created)")
    comp.add_argument(
        "--force", action="store_true", help="write into a non-empty folder that is no cnnc output"
    )
    comp.add_argument("--precision", default="float32", choices=api.PRECISIONS)
    comp.add_argument(
        "--calibration", help="calibration inputs: an .npz holding x (ONNX layout), or 'digits'"
    )
    comp.add_argument(
        "--calibration-method", help="int8 range estimation (see cnnc.passes.quantize)"
    )
    comp.add_argument(
        "--rounding",
        choices=["single", "double", "onnxruntime"],
        help="int8 requantisation (onnxruntime: pre-quantised models only)",
    )
    comp.add_argument("--int8-io", action="store_true", help="add an int8 in/out entry point")
    comp.add_argument(
        "--bias-correction",
        choices=["none", "weights", "empirical"],
        help="int8: correct each conv/dense bias for the mean output error int8 adds on the "
        "calibration data, measured with float inputs (weights) or with the int8 model's own "
        "inputs (empirical); default none (see cnnc.passes.bias_correction)",
    )
    comp.add_argument(
        "--allow-float-ops",
        action="store_true",
        help="int8: keep ops that have no integer form in float32 (listed in the report; "
        "verify then checks a tolerance instead of bit-exactness)",
    )
    comp.add_argument(
        "--float-mode",
        choices=["exact", "fast"],
        help="float32 kernels: exact (default: identical on every target) or fast (FMA, any "
        "order; within 1e-4 of the output range)",
    )
    comp.add_argument(
        "--embed-weights", action="store_true", help="weights as a const C array in model.c"
    )
    comp.add_argument(
        "--memory",
        choices=["fast", "min"],
        help="schedule: fast (default: the fastest) or min (int8 blocks fused into row bands "
        "that minimise the arena; see cnnc.passes.schedule)",
    )
    comp.add_argument(
        "--max-recompute",
        type=float,
        help="with --memory min: halo MACs recomputed, as a fraction of the model's (0.15)",
    )
    add_target(comp, run=False)

    run = sub.add_parser("run", help="run a compiled folder's C on inputs")
    run.add_argument("out_dir")
    run.add_argument("--inputs", required=True, help=".npz holding x, a batch in the input layout")
    run.add_argument("--output", required=True, help=".npy file for the outputs")
    add_target(run, run=True)

    ver = sub.add_parser("verify", help="check the C against the NumPy reference")
    ver.add_argument("out_dir")
    ver.add_argument("--inputs", required=True, help=".npz holding x, a batch in the input layout")
    ver.add_argument("--per-layer", action="store_true", help="compare every layer's output")
    ver.add_argument(
        "--onnxruntime",
        action="store_true",
        help="int8 builds: also run the quantised model exported as QLinear/QDQ ONNX in "
        "onnxruntime and report how often, and by how many LSB, its int8 results differ "
        "from cnnc's (whole model, and each layer alone); informative, not a pass/fail",
    )
    add_target(ver, run=True)

    rep = sub.add_parser("report", help="print a compiled folder's per-layer report")
    rep.add_argument("out_dir")

    ev = sub.add_parser("eval", help="test accuracy of an ONNX model or a compiled folder")
    ev.add_argument("model", help="ONNX file (onnxruntime) or compiled folder (its C)")
    ev.add_argument("--dataset", default="digits", help="'digits' or 'mnist:DIR'")
    add_target(ev, run=True)
    return parser


# ---------------------------------------------------------------- commands


def load_inputs(path: str) -> np.ndarray:
    return api.load_npz_x(path, "--inputs", DataError)


def output_file(path: str) -> Path:
    """The .npy file `run --output` writes: the path given, '.npy' added when missing
    (the path printed is always the path written)."""
    p = Path(path)
    if p.suffix != ".npy":
        p = p.with_name(p.name + ".npy")
    if p.is_dir():
        raise DataError(f"--output {p}: is a folder; give a file name ending in .npy")
    if not p.parent.is_dir():
        raise DataError(f"--output {p}: folder {p.parent} does not exist")
    return p


def check_output_folder(path: str) -> None:
    """`compile -o`: the folder (created if missing) needs an existing parent folder."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ModelError(f"-o {p}: exists and is not a folder")
    if not p.exists() and not p.parent.is_dir():
        what = "is not a folder" if p.parent.exists() else "does not exist"
        raise ModelError(f"-o {p}: parent folder {p.parent} {what}; create it first")


def calibration_data(model_path: str, spec: str | None):
    if spec != "digits":
        return spec
    from .models import data as data_mod
    from .models.cli import load_model

    model = load_model(model_path)
    meta = {p.key: p.value for p in model.metadata_props}
    x, _ = data_mod.inputs_for_model(meta, "digits", "train")
    return x[:CALIBRATION_SAMPLES]


def cmd_compile(args) -> int:
    options = {
        "calibration_method": args.calibration_method,
        "rounding": args.rounding,
        "int8_io": args.int8_io,
        "float_mode": args.float_mode,
        "memory": args.memory,
        "max_recompute": args.max_recompute,
        "allow_float_ops": args.allow_float_ops,
        "bias_correction": args.bias_correction,
    }
    model_path = Path(args.model)
    if not model_path.is_file():
        raise ModelError(f"{model_path}: no such ONNX file")
    check_output_folder(args.output)
    compiled = api.compile(
        str(model_path),
        args.output,
        precision=args.precision,
        calibration=calibration_data(args.model, args.calibration),
        embed_weights=args.embed_weights,
        target=args.target,
        force=args.force,
        **{k: v for k, v in options.items() if v is not None and v is not False},
    )
    print_report(compiled)
    print(f"wrote {args.output}/ (model.c, model.h, weights, Makefile, report.json)")
    return 0


def run_c(compiled: api.CompiledModel, x: np.ndarray, target: str) -> np.ndarray:
    if target == "host":
        return compiled.run(x)
    from .host import cross

    y = cross.run(compiled.out_dir, target, api.pack_inputs(compiled.graph, x))  # as on the host
    if len(compiled.graph.outputs) > 1:
        return api.split_outputs(compiled.graph, y)
    return y.reshape(len(y), *api.sample_shape(compiled.info["output_shape"]))


def cmd_run(args) -> int:
    compiled = api.load(args.out_dir)
    out = output_file(args.output)
    y = run_c(compiled, load_inputs(args.inputs), args.target)
    if len(compiled.graph.outputs) > 1:
        return save_outputs(compiled, out, y)
    with open(out, "wb") as f:  # a file object: np.save adds no suffix of its own
        np.save(f, y)
    print(f"wrote {out}: outputs of shape {list(y.shape)}")
    return 0


def save_outputs(compiled: api.CompiledModel, out: Path, ys: list[np.ndarray]) -> int:
    """`run` of a model with several outputs: one .npz, arrays output0, output1, ... in
    graph-output order (names in a model file are hostile: indices, not names, are keys)."""
    out = out.with_suffix(".npz")
    with open(out, "wb") as f:
        np.savez(f, **{f"output{i}": y for i, y in enumerate(ys)})
    pairs = enumerate(zip(compiled.graph.outputs, ys, strict=True))
    names = ", ".join(f"output{i} {list(y.shape)} ({n!r})" for i, (n, y) in pairs)
    print(f"wrote {out}: {len(ys)} outputs: {names}")
    return 0


def verify_outputs(compiled: api.CompiledModel, x: np.ndarray, target: str, where: str) -> bool:
    """verify of a model with several outputs: each compared under its own rule."""
    graph, ok = compiled.graph, True
    ys, refs = run_c(compiled, x, target), compiled.reference(x)
    for i, (name, y, ref) in enumerate(zip(graph.outputs, ys, refs, strict=True)):
        result = verify.compare(y, ref, verify.is_exact(graph, name))
        print(f"{where}: output {i} {name!r} {result.describe()}")
        ok = ok and result.ok
    return ok


def cmd_verify(args) -> int:
    compiled = api.load(args.out_dir)
    x = load_inputs(args.inputs)
    graph = compiled.graph
    if len(graph.outputs) > 1:
        samples = len(next(iter(api.float_batches(graph, x).values())))
        where = f"{args.out_dir} on {args.target}, {samples} sample(s)"
        where += f", precision {compiled.precision}"
        ok = verify_outputs(compiled, x, args.target, where)
        if args.per_layer:
            ok = verify_layers(compiled, x, args.target) and ok
        if args.onnxruntime:
            raise UnsupportedError(f"--onnxruntime compares models with one output; "
                                   f"{args.out_dir} has {len(graph.outputs)}")  # fmt: skip
        return 0 if ok else 1
    exact = verify.is_exact(graph, graph.outputs[0])
    samples = len(next(iter(api.float_batches(graph, x).values())))
    atol = verify.float_ops_tolerance(graph, graph.outputs[0])
    result = verify.compare(run_c(compiled, x, args.target), compiled.reference(x), exact, atol)
    where = f"{args.out_dir} on {args.target}, {samples}"
    print(f"{where} sample(s), precision {compiled.precision}: output {result.describe()}")
    ok = result.ok
    if args.per_layer:
        ok = verify_layers(compiled, x, args.target) and ok
    if args.onnxruntime:
        print_onnxruntime_comparison(compiled, x)
    return 0 if ok else 1


def print_onnxruntime_comparison(compiled: api.CompiledModel, x: np.ndarray) -> None:
    """onnxruntime's int8 arithmetic (float requantisation) against cnnc's integer one."""
    if compiled.precision != "int8":
        raise UnsupportedError(
            f"--onnxruntime compares int8 builds; {compiled.out_dir} is {compiled.precision}"
        )
    from .backend import qdq_export

    feeds = api.feeds_of(compiled.graph, x)[compiled.graph.inputs[0]]
    whole = qdq_export.compare_with_onnxruntime(compiled.graph, feeds)
    print(f"onnxruntime vs cnnc, whole model: {whole['differing']:.2%} of "
          f"{whole['elements']:,} int8 values differ, at most {whole['max_lsb']} LSB; "
          f"top-1 agreement {whole['top1_agreement']:.2%}")  # fmt: skip
    print(f"{'layer':<28} {'op':<18} {'differing':>9} {'max LSB':>7}")
    for row in qdq_export.compare_layers_with_onnxruntime(compiled.graph, feeds):
        print(f"{row['layer']:<28} {row['op']:<18} {row['differing']:>9.2%} {row['max_lsb']:>7}")


def c_layer_outputs(compiled: api.CompiledModel, x: np.ndarray, target: str) -> list[list[bytes]]:
    """layers[i][sample]: the raw bytes of layer i's output from the C."""
    if target == "host":
        n = compiled.info["num_layers"]
        return [compiled.run_layers(x, i + 1) for i in range(n)]
    from .host import cross

    return cross.run_all_layers(compiled.out_dir, target, api.pack_inputs(compiled.graph, x))


def verify_layers(compiled: api.CompiledModel, x: np.ndarray, target: str) -> bool:
    """Compares each layer's output; prints every layer and names the first that diverges."""
    graph = compiled.graph
    ref = compiled.reference_all(x)
    c_out = c_layer_outputs(compiled, x, target)
    first_bad = None
    for i, node in enumerate(graph.nodes):
        name = node.outputs[0]
        t = graph.tensors[name]
        expected = np.asarray(ref[name])
        if t.dtype == "b1" and expected.dtype != np.uint32:
            from .ops import bitpack

            expected = bitpack.pack_signs(expected)
        actual = np.stack([verify.from_c_bytes(raw, t.dtype, expected[0]) for raw in c_out[i]])
        atol = verify.float_ops_tolerance(graph, name)
        result = verify.compare(actual, expected, verify.is_exact(graph, name), atol)
        status = "ok  " if result.ok else "FAIL"
        print(f"  {status} layer {i:3d} {node.op:<16} {node.name}: max |C - ref| "
              f"{result.max_abs:.3g} (rel. {result.rel:.3g})")  # fmt: skip
        if not result.ok and first_bad is None:
            first_bad = (i, node, result)
    if first_bad is None:
        print(f"all {len(graph.nodes)} layers match")
        return True
    i, node, result = first_bad
    print(f"first diverging layer: {i} ({node.op} '{node.name}'): {result.describe()}")
    return False


def cmd_report(args) -> int:
    print_report(api.load(args.out_dir))
    return 0


def print_report(compiled: api.CompiledModel) -> None:
    """The per-layer table, then the int8 error table and Cortex-M sizes where they apply."""
    print(report_mod.format_table(compiled.report))
    from .backend import quant_report
    from .host import mcu, targets

    rows = quant_report.table_from_metadata(compiled.graph.metadata)
    if rows:
        print("\nquantisation error per layer (float vs int8 on the calibration set):")
        print(quant_report.format_quant_error_table(rows))
    from .passes import prequant

    requant = prequant.format_requant_error_table(compiled.graph.metadata)
    if requant:
        print("\npre-quantised model: the model's scales as Q31 multipliers (error they add):")
        print(requant)
    target = compiled.info.get("target", "host")
    if target in targets.MCU_TARGETS:
        size = mcu.mcu_size(compiled.out_dir, target)
        print(f"{target} (arm-none-eabi-size of a minimal firmware): flash {size['flash']} B "
              f"(text {size['text']} + data {size['data']}), RAM {size['ram']} B "
              f"(data + bss {size['bss']}, arena {size['arena']})")  # fmt: skip
        from .host import mcu_stack

        stack = mcu_stack.stack_usage(compiled.out_dir, target)
        print(f"{target} worst-case stack on top of the RAM: {stack.bytes} B (static frames of "
              f"{' > '.join(stack.path)})")  # fmt: skip


def cmd_eval(args) -> int:
    from .models import cli as models_cli
    from .models import data as data_mod

    path = Path(args.model)
    if path.is_file():
        acc = models_cli.evaluate_onnx(path, args.dataset)
        print(f"test accuracy {acc:.4f} ({path}, onnxruntime, {args.dataset})")
        return 0
    compiled = api.load(path)
    if len(compiled.graph.outputs) > 1:
        raise UnsupportedError(f"eval scores a classifier's one output; {path} has "
                               f"{len(compiled.graph.outputs)} outputs")  # fmt: skip
    x, y = data_mod.inputs_for_model(compiled.info["metadata"], args.dataset, "test")
    logits = run_c(compiled, x, args.target).reshape(len(x), -1)
    acc = float(np.mean(logits.argmax(axis=1) == y))
    print(f"test accuracy {acc:.4f} ({path}, compiled C on {args.target}, {args.dataset}, "
          f"{len(y)} images)")  # fmt: skip
    return 0


COMMANDS = {
    "compile": cmd_compile,
    "run": cmd_run,
    "verify": cmd_verify,
    "report": cmd_report,
    "eval": cmd_eval,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            if not os.environ.get("CNNC_DEBUG"):  # nothing may print before `cnnc: error:`
                warnings.simplefilter("ignore")
            if args.command == "train":
                from .models import cli as models_cli

                return models_cli.run_train(args)
            return COMMANDS[args.command](args)
    except CnncError as err:
        print(f"cnnc: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except MemoryError as err:  # a size cnnc's checks let through: a resource, not a bug
        print(f"cnnc: error: out of memory ({' '.join(str(err).split())[:200]})", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `cnnc report ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:  # a bug in cnnc: still one line, the traceback on request
        if os.environ.get("CNNC_DEBUG"):
            raise
        what = f"{type(err).__name__}: {' '.join(str(err).split())}"
        hint = "rerun with CNNC_DEBUG=1 for the traceback and report it"
        print(f"cnnc: error: internal error ({what}); {hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
