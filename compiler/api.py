"""The Python API: ``cnnc.compile(model, out_dir, ...)`` and ``cnnc.load(out_dir)``.

An output folder holds everything needed to build, run and verify the model
without the original ONNX file:

    model.h, model.c          the generated C (see cnnc.backend.codegen)
    weights.bin               the weight blob (absent with embed_weights: it is in model.c)
    cnnc_runtime/             the runtime headers and kernels model.c calls
    Makefile, demo.c, ...     build files for host and boards (cnnc.host.targets)
    report.json               per-layer report (cnnc.backend.report)
    cnnc.json                 what cnnc needs to reopen the folder: precision, shapes, options
    graph.json, graph.npz     the final (lowered, typed) graph: the reference the C must match
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import golden, ir
from .backend import codegen, planner
from .backend import report as report_mod
from .errors import CalibrationError, CnncError, DataError, ModelError, UnsupportedError
from .host import harness

PRECISIONS = ("float32", "int8", "binary")
FORMAT_VERSION = 1


@dataclass
class CompiledModel:
    out_dir: Path
    graph: ir.Graph  # the final graph the C implements
    info: dict  # cnnc.json
    report: dict
    _host: harness.HostModel | None = field(default=None, repr=False)

    @property
    def precision(self) -> str:
        return self.info["precision"]

    def host(self) -> harness.HostModel:
        if self._host is None:
            self._host = harness.open_model(self.out_dir)
        return self._host

    def run(self, x) -> np.ndarray:
        """The C on the host (cffi), one call per sample; returns [S, *output_shape[1:]].

        x: a batch [S, ...] of the model input (or, for a model with several inputs, a
        list of such batches in graph-input order)."""
        ys = harness.run(self.host(), pack_inputs(self.graph, x))
        if len(self.graph.outputs) > 1:
            return split_outputs(self.graph, ys)
        return ys.reshape(len(ys), *sample_shape(self.info["output_shape"]))

    def reference(self, x) -> np.ndarray:
        """The NumPy reference of the same graph; returns [S, *output_shape[1:]].

        A model with several outputs returns (here and in ``run``) a list of such arrays,
        one per output in graph-output order."""
        return run_reference(self.graph, feeds_of(self.graph, x))

    def reference_all(self, x) -> dict[str, np.ndarray]:
        """Every tensor the reference computes (for per-layer verification)."""
        return reference_by_sample(self.graph, feeds_of(self.graph, x), keep_all=True)

    def run_layers(self, x, n: int) -> list[bytes]:
        """Raw bytes of layer n-1's output from the C, per sample."""
        return harness.run_layers(self.host(), pack_inputs(self.graph, x), n)


def float_batches(graph: ir.Graph, x) -> dict[str, np.ndarray]:
    """Graph input name -> float batch [S, *shape[1:]]; x is one array or a list per input.

    NaN policy: a float32 build takes NaN and Inf inputs and propagates them as IEEE
    arithmetic does (the reference is the spec); a build with int8 or binary layers
    refuses them, since quantising NaN has no defined int8 value.
    """
    xs = list(x) if isinstance(x, list | tuple) else [x]
    if len(xs) != len(graph.inputs):
        raise CnncError(f"model has {len(graph.inputs)} inputs {graph.inputs}, got {len(xs)}")
    pairs = zip(graph.inputs, xs, strict=True)
    batches = {n: batch_of(xi, list(graph.tensors[n].shape), n) for n, xi in pairs}
    if len({len(b) for b in batches.values()}) != 1:
        sizes = [len(b) for b in batches.values()]
        raise CnncError(f"inputs hold different numbers of samples: {sizes}")
    if not is_float_only(graph):
        for name, b in batches.items():
            bad = ~np.isfinite(b)
            if bad.any():
                index = [int(i) for i in np.argwhere(bad)[0]]
                raise DataError(
                    f"input '{name}' holds {b[tuple(index)]} at [sample, ...] index {index}; "
                    "int8 and binary builds need finite inputs (float32 builds propagate NaN)"
                )
    return batches


def is_float_only(graph: ir.Graph) -> bool:
    return not any(node.op.startswith(("s8_", "b1_")) for node in graph.nodes)


def feeds_of(graph: ir.Graph, x) -> dict[str, np.ndarray]:
    """The reference's feeds: float batches, quantised for an int8-io model's input."""
    return {n: boundary(graph.tensors[n], b, "in") for n, b in float_batches(graph, x).items()}


def boundary(t: ir.Tensor, x: np.ndarray, direction: str) -> np.ndarray:
    """An int8-io model's boundary as its float C entry points do it: float input ->
    quantised int8 ("in"), int8 output -> dequantised float ("out"); float is unchanged."""
    if t.dtype != "int8":
        return x
    from .ops.s8 import QuantParams, dequantize_s8, quantize_s8

    scale, zero_point = codegen.quant_of(t)
    params = QuantParams(int(np.prod(x.shape[1:])), scale, zero_point)
    return quantize_s8(x, params) if direction == "in" else dequantize_s8(x, params)


def pack_inputs(graph: ir.Graph, x) -> np.ndarray:
    """[S, CNNC_MODEL_INPUT_SIZE]: each sample's inputs flattened and put back to back."""
    batches = list(float_batches(graph, x).values())
    return np.concatenate([b.reshape(len(b), -1) for b in batches], axis=1)


def sample_shape(shape: list[int]) -> list[int]:
    """A model shape without its batch axis (the C runs one sample at a time)."""
    return list(shape[1:]) if shape and shape[0] == 1 else list(shape)


def batch_of(x: np.ndarray, input_shape: list[int], name: str = "x") -> np.ndarray:
    """x as [S, *sample_shape] float32: one sample shaped exactly like the model input, or
    a batch of S samples in front of the sample shape. Nothing else is reshaped."""
    x = as_real_array(x, f"input '{name}'", DataError)
    shape, sample = list(input_shape), sample_shape(list(input_shape))
    if list(x.shape) == shape:
        return x.reshape(1, *sample)
    if x.ndim == len(sample) + 1 and list(x.shape[1:]) == sample and len(x) > 0:
        return x
    raise DataError(
        f"input '{name}' has shape {list(x.shape)}; the model input is {shape}: give one "
        f"sample of that shape or a batch [N, {', '.join(map(str, sample))}] with N >= 1"
    )


def as_real_array(x, what: str, error=DataError) -> np.ndarray:
    """x as a float32 array; complex, object, string and out-of-float32-range values refused."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise error(
            f"{what} has dtype {x.dtype}; cnnc takes real numbers (float, int or bool), "
            "not complex, text or objects"
        )
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        y = x.astype(np.float32)
    overflow = np.isinf(y) & np.isfinite(x) if x.dtype.kind == "f" else np.isinf(y)
    if overflow.any():
        index = [int(i) for i in np.argwhere(overflow)[0]]
        raise error(f"{what} holds {x[tuple(index)]} at index {index}, beyond float32's range")
    return y


def load_npz_x(path: str | Path, what: str, error=DataError) -> np.ndarray:
    """The array 'x' of an .npz archive (np.savez(path, x=...)), never unpickling anything;
    .npy, pickle, empty and non-zip files each get a message naming what they are."""
    p = Path(path)
    how = "save it with np.savez(path, x=array)"
    if p.is_dir():
        raise error(f"{what} {p}: is a folder; expected an .npz archive holding x ({how})")
    if not p.is_file():
        raise error(f"{what} {p}: no such file")
    with open(p, "rb") as f:
        head = f.read(8)
    if not head:
        raise error(f"{what} {p}: file is empty; expected an .npz archive holding x ({how})")
    if head.startswith(b"\x93NUMPY"):
        raise error(f"{what} {p}: is an .npy file; cnnc reads an .npz archive holding x ({how})")
    if head[:1] == b"\x80":
        raise error(f"{what} {p}: is a Python pickle; cnnc never unpickles inputs ({how})")
    if not head.startswith(b"PK"):
        raise error(f"{what} {p}: not an .npz (zip) archive ({how})")
    try:  # cnnc owns the file: np.load(path) leaks its handle when the zip is unreadable
        with open(p, "rb") as f, warnings.catch_warnings(), np.load(f, allow_pickle=False) as data:
            warnings.simplefilter("ignore")
            if "x" not in data.files:
                raise error(f"{what} {p}: no array named 'x' (has {data.files})")
            x = data["x"]
    except CnncError:
        raise
    except Exception as err:  # zipfile, numpy's header parser and zlib raise many kinds
        detail = " ".join(str(err).split())[:200]
        raise error(
            f"{what} {p}: not a readable .npz file ({type(err).__name__}: {detail})"
        ) from None
    return as_real_array(x, f"{what} {p}: array 'x'", error)


def reference_by_sample(
    graph: ir.Graph, feeds: dict[str, np.ndarray], keep_all: bool = False
) -> dict[str, np.ndarray]:
    """reference.run over feeds of [S, *sample_shape]. Its leading axis is the batch, so a
    model whose input does not start with a batch of 1 runs one sample per call (as the
    C does), each value then stacked as [S, *tensor_shape]."""
    from . import reference

    if all(graph.tensors[n].shape[:1] == (1,) for n in graph.inputs):
        return reference.run(graph, feeds, keep_all=keep_all)
    samples = len(next(iter(feeds.values())))
    runs = [reference.run(graph, {n: b[i] for n, b in feeds.items()}, keep_all=keep_all)
            for i in range(samples)]  # fmt: skip
    return {name: np.stack([np.asarray(r[name]) for r in runs]) for name in runs[0]}


def split_outputs(graph: ir.Graph, ys: np.ndarray) -> list[np.ndarray]:
    """[S, CNNC_MODEL_OUTPUT_SIZE] of a model with several outputs (back to back in
    graph-output order) -> one [S, *shape[1:]] array per output."""
    parts, offset = [], 0
    for name in graph.outputs:
        t = graph.tensors[name]
        parts.append(ys[:, offset : offset + t.size].reshape(len(ys), *sample_shape(list(t.shape))))
        offset += t.size
    return parts


def run_reference(graph: ir.Graph, feeds: dict[str, np.ndarray]) -> np.ndarray:
    x = next(iter(feeds.values()))
    if len(graph.outputs) > 1:
        values = reference_by_sample(graph, feeds)
        return [np.asarray(values[n]).reshape(len(x), *sample_shape(list(graph.tensors[n].shape)))
                for n in graph.outputs]  # fmt: skip
    y = graph.tensors[graph.outputs[0]]
    out = boundary(y, np.asarray(reference_by_sample(graph, feeds)[y.name]), "out")
    return np.asarray(out).reshape(
        len(x), *sample_shape(list(graph.tensors[graph.outputs[0]].shape))
    )


# ---------------------------------------------------------------- front end


def lowered_graph(model: Any) -> ir.Graph:
    """ONNX path/ModelProto -> lowered graph; an ir.Graph already lowered passes through."""
    if isinstance(model, ir.Graph):
        if model.layout == "NHWC":
            return model
        from . import passes

        return passes.lower(model)
    from . import passes
    from .frontend import onnx_import

    with np.errstate(over="ignore", invalid="ignore"):  # reported below, by tensor name
        graph = passes.lower(onnx_import.load(model))
    check_finite_constants(graph)
    return graph


def check_finite_constants(graph: ir.Graph) -> None:
    """Folding (BatchNormalization into a conv, constant arithmetic) can overflow float32
    even when every stored weight is finite; such a constant is refused by name."""
    for t in graph.tensors.values():
        data = t.data if t.is_const else None
        if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
            continue
        bad = ~np.isfinite(data)
        if bad.any():
            index = [int(i) for i in np.argwhere(bad)[0]]
            raise ModelError(
                f"constant '{t.name}' holds {data[tuple(index)]} at index {index} after "
                "folding (e.g. BatchNormalization into its conv): the weights overflow float32"
            )


def load_calibration(calibration: Any) -> np.ndarray:
    if isinstance(calibration, str | Path):
        calibration = load_npz_x(calibration, "calibration", CalibrationError)
    calibration = as_real_array(calibration, "calibration data", CalibrationError)
    if calibration.size == 0:
        raise CalibrationError("calibration data is empty")
    bad = ~np.isfinite(calibration)
    if bad.any():
        index = [int(i) for i in np.argwhere(bad)[0]]
        raise CalibrationError(
            f"calibration data holds NaN or inf ({calibration[tuple(index)]} at index {index}, "
            f"{int(bad.sum())} such value(s)); int8 ranges need finite samples"
        )
    return calibration


def apply_precision(graph: ir.Graph, precision: str, calibration: Any, options: dict) -> ir.Graph:
    if precision not in PRECISIONS:
        raise UnsupportedError(f"precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    names = {"calibration_method": "method", "rounding": "rounding", "int8_io": "int8_io"}
    names["bias_correction"] = "bias_correction"  # none|weights|empirical (passes.bias_correction)
    quant_kwargs = {arg: options[opt] for opt, arg in names.items() if options.get(opt)}
    if precision == "float32":
        return graph
    if precision == "int8" and graph.metadata.get("cnnc.prequant") is not None:
        from .passes import prequant  # a QDQ/QOperator model: its own scales, no calibration

        kwargs = {k: v for k, v in quant_kwargs.items() if k in ("rounding", "int8_io")}
        if options.get("bias_correction") not in (None, "none"):
            raise UnsupportedError(
                "--bias-correction applies to calibrated int8 builds; a pre-quantised model "
                "keeps its own biases"
            )
        return prequant.quantize(graph, **kwargs)
    if options.get("rounding") == "onnxruntime":
        raise UnsupportedError(
            "--rounding onnxruntime applies to pre-quantised (QDQ/QOperator) int8 models; "
            "a calibrated build rounds single or double"
        )
    if precision == "int8":
        if calibration is None:
            raise CalibrationError("precision int8 needs calibration data (--calibration)")
        from .passes import quantize

        graph = quantize.quantize(graph, load_calibration(calibration), **quant_kwargs)
        check_float_ops(graph, bool(options.get("allow_float_ops")))
        return graph
    from .passes import binarize

    graph = binarize.binarize(graph)
    if calibration is not None:
        from .passes import quantize

        graph = quantize.quantize(graph, load_calibration(calibration), **quant_kwargs)
        graph = binarize.fuse_int8(graph)  # no float tensor left at the int8/binary boundary
    return graph


def check_float_ops(graph: ir.Graph, allowed: bool) -> None:
    """An int8 build computes in integers only (DESIGN.md, "No float islands in int8"): a
    node that stayed float between int8 layers is refused unless the user allowed it
    (--allow-float-ops); the report then lists it and verify states its tolerance."""
    names = [n for n in graph.metadata.get("cnnc.float_ops", "").split(",") if n]
    if names and not allowed:
        ops = {n.name: n.op for n in graph.nodes}
        listed = ", ".join(f"'{n}' ({ops.get(n, '?')})" for n in names)
        raise UnsupportedError(
            f"int8: {len(names)} node(s) have no integer form and would run in float32 between "
            f"int8 layers: {listed}; the int8 build would then not be bit-exact. Pass "
            "--allow-float-ops (allow_float_ops=True) to keep them in float"
        )


# ---------------------------------------------------------------- compile / load


def compile(  # noqa: A001 - the documented API name
    model: Any,
    out_dir: str | Path,
    precision: str = "float32",
    calibration: Any = None,
    embed_weights: bool = False,
    target: str = "host",
    force: bool = False,
    **options: Any,
) -> CompiledModel:
    """Compiles an ONNX model (path, ModelProto, or a lowered ir.Graph) into ``out_dir``.

    ``out_dir`` must be missing, empty or an earlier cnnc output (it holds cnnc.json);
    ``force`` allows any other folder (cnnc's files replace theirs, the rest stays)."""
    check_out_dir(Path(out_dir), force)
    graph = apply_precision(lowered_graph(model), precision, calibration, options)
    graph = apply_schedule(graph, options)
    return write_output(graph, out_dir, precision, embed_weights, target, options, force)


def apply_schedule(graph: ir.Graph, options: dict) -> ir.Graph:
    """``memory="min"`` fuses int8 blocks into row bands under ``max_recompute``
    (cnnc.passes.schedule); ``"fast"`` (default) keeps the graph."""
    from .passes import schedule

    budget = options.get("max_recompute", 0.15)
    if isinstance(budget, bool) or not isinstance(budget, int | float):
        raise UnsupportedError(f"max_recompute {budget!r}: give a number (a fraction, 0.15)")
    memory = options.get("memory") or "fast"
    return schedule.schedule(graph, memory, budget, planner.tensor_bytes)


MARKER = "cnnc.json"  # an output folder holds it; its absence marks a folder as not ours


def check_out_dir(out: Path, force: bool = False) -> None:
    """Refuses an output path that is a file, or a non-empty folder that is not a cnnc
    output (no regular cnnc.json), unless ``force``."""
    if out.is_symlink() and not out.exists():
        raise CnncError(f"output folder {out} is a dangling symbolic link")
    if out.exists() and not out.is_dir():
        raise CnncError(f"output folder {out} exists and is not a folder")
    if not out.exists() or force:
        return
    marker = out / MARKER
    ours = marker.is_file() and not marker.is_symlink()
    foreign = [p.name for p in out.iterdir() if not p.name.startswith(".cnnc-tmp-")]
    if foreign and not ours:
        raise CnncError(
            f"output folder {out} is not empty and is not a cnnc output (no {MARKER}): "
            f"{len(foreign)} entries, e.g. {sorted(foreign)[0]!r}; choose another folder "
            "or pass --force to write cnnc's files into it"
        )


def install(stage: Path, out: Path) -> None:
    """Moves every entry of the freshly written ``stage`` folder into ``out`` by rename.

    rename(2) replaces a symbolic link planted in ``out`` instead of writing through it,
    and each file appears whole or not at all. Folders (cnnc_runtime/) replace the old
    folder; an old symlink in their place is removed, never followed."""
    for src in sorted(stage.iterdir(), key=lambda p: p.name == MARKER):  # cnnc.json last
        dst = out / src.name
        if dst.is_symlink() or (dst.exists() and not dst.is_dir()):
            if src.is_dir():
                dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        os.replace(src, dst)


def write_output(
    graph: ir.Graph,
    out_dir: str | Path,
    precision: str = "float32",
    embed_weights: bool = False,
    target: str = "host",
    options: dict | None = None,
    force: bool = False,
) -> CompiledModel:
    """Plans, generates and writes the output folder for a final graph.

    Every file is first written into a fresh private folder inside ``out_dir`` and then
    renamed into place (``install``): no symlink in ``out_dir`` is written through."""
    out = Path(out_dir)
    check_out_dir(out, force)
    plan = planner.plan(graph)
    float_mode = (options or {}).get("float_mode") or "exact"
    gen = codegen.generate(graph, plan, embed_weights=embed_weights, float_mode=float_mode)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CnncError(f"cannot create output folder {out}: {err.strerror}") from None
    stage = Path(tempfile.mkdtemp(prefix=".cnnc-tmp-", dir=out))
    try:
        (stage / "model.h").write_text(gen.model_h)
        (stage / "model.c").write_text(gen.model_c)
        write_threads_files(stage, gen, float_mode)
        golden.write_check_files(stage, graph, lambda x: run_reference(graph, feeds_of(graph, x)))
        if not embed_weights:
            (stage / "weights.bin").write_bytes(gen.blob)
        codegen.copy_runtime(stage, gen.families, gen.variant_names, gen.model_calls_h)
        rep = report_mod.build_report(graph, plan, len(gen.blob), precision)
        report_mod.save(rep, stage)
        save_graph(graph, stage)
        info = model_info(graph, plan, gen, precision, embed_weights, target, options or {})
        (stage / MARKER).write_text(json.dumps(info, indent=1) + "\n")
        from .host import targets

        targets.write_build_files(stage, info)
        weights = out / "weights.bin"
        if embed_weights and (weights.is_symlink() or weights.exists()):
            weights.unlink()  # a link is removed, its target untouched
        install(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return CompiledModel(out, graph, info, rep)


def write_threads_files(stage: Path, gen, float_mode: str) -> None:
    """model_threads.c/.h: cnnc_model_run_threads for Linux targets (backend/threads.py)."""
    from .backend import threads

    slots = codegen.kernel_slots(gen.layers, float_mode)
    text = threads.render_threads_c(gen.model_c, gen.layers, slots, codegen.slot_macro)
    if text is not None:
        (stage / "model_threads.c").write_text(text)
        (stage / "model_threads.h").write_text(threads.THREADS_H)


def model_info(graph, plan, gen, precision, embed, target, options) -> dict:
    x, y = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    return {
        "format": FORMAT_VERSION,
        "name": graph.metadata.get("cnnc.model", "model"),
        "precision": precision,
        "target": target,
        "embed_weights": bool(embed),
        "options": {k: v for k, v in options.items() if isinstance(v, str | int | float | bool)},
        "metadata": dict(graph.metadata),
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "output_dtype": y.dtype,
        "arena_bytes": plan.arena_bytes,
        "arena_lower_bound": plan.lower_bound,
        "weights_bytes": len(gen.blob),
        "num_layers": len(graph.nodes),
        "families": gen.families,
        "layers": [
            {
                "index": i,
                "name": node.name,
                "op": node.op,
                "output": node.outputs[0],
                "output_shape": list(graph.tensors[node.outputs[0]].shape),
                "output_dtype": graph.tensors[node.outputs[0]].dtype,
            }
            for i, node in enumerate(graph.nodes)
        ],
    }


def load(out_dir: str | Path) -> CompiledModel:
    """Reopens a compiled folder (no recompilation; the C is built on first ``run``).

    A missing, corrupt or incomplete folder is one ModelError naming the file."""
    out = Path(out_dir)
    if not out.is_dir():
        what = "is a file" if out.exists() else "no such folder"
        raise ModelError(f"{out}: {what}; expected a cnnc output folder (cnnc compile -o)")
    info_path = out / "cnnc.json"
    if not info_path.is_file():
        raise ModelError(f"{out}: not a cnnc output folder (no cnnc.json)")
    info = read_json(info_path)
    if not isinstance(info, dict) or info.get("format") != FORMAT_VERSION:
        found = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise ModelError(f"{info_path}: format {found}, this cnnc reads {FORMAT_VERSION}")
    check_info(info, info_path)
    needed = ["model.c", "model.h", "report.json", "graph.json", "graph.npz"]
    needed += [] if info.get("embed_weights") else ["weights.bin"]
    missing = [name for name in needed if not (out / name).is_file()]
    if missing:
        raise ModelError(f"{out}: incomplete cnnc output folder, missing {', '.join(missing)}; "
                         "compile it again")  # fmt: skip
    graph = load_graph(out)
    for key, name in (("input_shape", graph.inputs[0]), ("output_shape", graph.outputs[0])):
        if list(graph.tensors[name].shape) != info[key]:
            raise ModelError(f"{info_path}: {key} {info[key]} disagrees with graph.json's "
                             f"{list(graph.tensors[name].shape)}; compile again")  # fmt: skip
    rep = read_json(out / "report.json")
    if not isinstance(rep, dict) or not isinstance(rep.get("layers"), list):
        raise ModelError(f"{out / 'report.json'}: not a cnnc report (no 'layers' list)")
    from .backend import quant_report

    readers = (  # the one reader of each: any damage shows here, not later
        ("report.json", lambda: report_mod.format_table(rep)),
        ("graph.json metadata cnnc.quant_error",
         lambda: quant_report.format_quant_error_table(
             quant_report.table_from_metadata(graph.metadata) or [])),
    )  # fmt: skip
    for what, read in readers:
        try:
            read()
        except Exception as err:
            detail = " ".join(str(err).split())[:200]
            raise ModelError(f"{out}: {what} is not valid ({type(err).__name__}: {detail}); "
                             "compile again") from None  # fmt: skip
    return CompiledModel(out, graph, info, rep)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError included
        detail = " ".join(str(err).split())[:200]
        raise ModelError(
            f"{path}: corrupt ({type(err).__name__}: {detail}); compile again"
        ) from None


def check_info(info: dict, path: Path) -> None:
    """The cnnc.json fields run/verify rely on, with their types."""

    def shape(v) -> bool:
        return isinstance(v, list) and all(type(d) is int and d > 0 for d in v)

    checks = {
        "precision": lambda v: v in PRECISIONS,
        "input_shape": shape,
        "output_shape": shape,
        "num_layers": lambda v: type(v) is int and v >= 0,
        "metadata": lambda v: isinstance(v, dict),
    }
    for key, ok in checks.items():
        if key not in info or not ok(info[key]):
            raise ModelError(f"{path}: field {key!r} is missing or invalid "
                             f"({str(info.get(key))[:80]}); compile again")  # fmt: skip


# ---------------------------------------------------------------- graph files


def encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON form of an attribute value; arrays go to ``arrays`` under a fresh key."""
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value: Any, arrays) -> Any:
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__tuple__" in value:
            return tuple(decode(v, arrays) for v in value["__tuple__"])
        return {k: decode(v, arrays) for k, v in value["__dict__"].items()}
    return value


def save_graph(graph: ir.Graph, out_dir: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    tensors = []
    for t in graph.tensors.values():
        quant = None
        if t.quant is not None:
            quant = encode({"scale": np.asarray(t.quant.scale),
                            "zero_point": np.asarray(t.quant.zero_point),
                            "axis": t.quant.axis}, arrays)  # fmt: skip
        data = encode(t.data, arrays) if t.data is not None else None
        tensors.append({"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
                        "data": data, "quant": quant})  # fmt: skip
    nodes = [
        {"op": n.op, "name": n.name, "inputs": n.inputs, "outputs": n.outputs,
         "attrs": encode(dict(n.attrs), arrays)}
        for n in graph.nodes
    ]  # fmt: skip
    doc = {"layout": graph.layout, "inputs": graph.inputs, "outputs": graph.outputs,
           "metadata": graph.metadata, "tensors": tensors, "nodes": nodes}  # fmt: skip
    (out_dir / "graph.json").write_text(json.dumps(doc) + "\n")
    np.savez(out_dir / "graph.npz", **arrays)


def load_graph(out_dir: Path) -> ir.Graph:
    try:
        return decode_graph(out_dir)
    except CnncError:
        raise
    except Exception as err:  # any damage to graph.json / graph.npz: KeyError, BadZipFile, ...
        detail = " ".join(str(err).split())[:200]
        raise ModelError(
            f"{out_dir}: cannot read graph.json/graph.npz ({type(err).__name__}: {detail}); "
            "compile again"
        ) from None


def check_graph_doc(doc: Any, path: Path) -> None:
    """graph.json's structure, as save_graph writes it: field types, known ops and dtypes,
    and every tensor a node or the graph names defined (semantics stay trusted)."""
    from . import reference

    def fail(what: str) -> None:
        raise ModelError(f"{path}: {what}; compile again")

    def names(v) -> bool:
        return isinstance(v, list) and all(isinstance(n, str) for n in v)

    if not isinstance(doc, dict):
        fail(f"holds a {type(doc).__name__}, not a graph")
    for key, ok in (("layout", lambda v: v in ("NCHW", "NHWC")), ("inputs", names),
                    ("outputs", names), ("tensors", lambda v: isinstance(v, list)),
                    ("nodes", lambda v: isinstance(v, list)),
                    ("metadata", lambda v: isinstance(v, dict))):  # fmt: skip
        if key not in doc or not ok(doc[key]):
            fail(f"field {key!r} is missing or invalid")
    defined = set()
    for i, t in enumerate(doc["tensors"]):
        ok = isinstance(t, dict) and isinstance(t.get("name"), str)
        ok = ok and isinstance(t.get("shape"), list)
        ok = ok and all(type(d) is int and 0 <= d < 2**31 for d in t["shape"])
        ok = ok and isinstance(t.get("dtype"), str) and known_dtype(t["dtype"])
        ok = ok and all(k in t for k in ("data", "quant"))
        if not ok:
            fail(f"tensor {i} ({str(t)[:80]}) is malformed")
        defined.add(t["name"])
    for i, n in enumerate(doc["nodes"]):
        ok = isinstance(n, dict) and n.get("op") in reference.REFERENCE_OPS
        ok = ok and isinstance(n.get("name"), str) and isinstance(n.get("attrs"), dict)
        ok = ok and names(n.get("inputs")) and names(n.get("outputs")) and bool(n["outputs"])
        if not ok:
            fail(f"node {i} ({str(n)[:80]}) is malformed or has an unknown op")
        unknown = [x for x in n["inputs"] + n["outputs"] if x and x not in defined]
        if unknown:
            fail(f"node {i} ({n['name']}) names undefined tensors {unknown}")
        big = [v for v in json_ints(n["attrs"]) if not -(2**31) <= v < 2**31]
        if big:  # every C parameter is an int32_t
            fail(f"node {i} ({n['name']}) has attribute value {big[0]} outside int32")
    if not doc["inputs"] or not doc["outputs"]:
        fail("the graph has no inputs or no outputs")
    unknown = [x for x in doc["inputs"] + doc["outputs"] if x not in defined]
    if unknown:
        fail(f"graph.json names tensor {unknown[0]!r} but defines none")


def json_ints(value: Any):
    """Every int inside a decoded JSON value (bools excluded)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from json_ints(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_ints(v)
    elif type(value) is int:
        yield value


def known_dtype(dtype: str) -> bool:
    if dtype == "b1":
        return True
    try:
        return np.dtype(dtype).kind in "biuf"
    except TypeError:
        return False


def decode_graph(out_dir: Path) -> ir.Graph:
    doc = read_json(out_dir / "graph.json")
    check_graph_doc(doc, out_dir / "graph.json")
    with warnings.catch_warnings(), np.load(out_dir / "graph.npz", allow_pickle=False) as npz:
        warnings.simplefilter("ignore")
        arrays = {k: npz[k] for k in npz.files}
    tensors = {}
    for t in doc["tensors"]:
        quant = None
        if t["quant"] is not None:
            q = decode(t["quant"], arrays)
            quant = ir.QuantParams(q["scale"], q["zero_point"], q["axis"])
        data = decode(t["data"], arrays) if t["data"] is not None else None
        if data is not None and not isinstance(data, np.ndarray):
            raise ModelError(f"{out_dir}: graph.json tensor {t['name']!r} has no array data")
        tensors[t["name"]] = ir.Tensor(t["name"], tuple(t["shape"]), t["dtype"], data, quant)
    nodes = [
        ir.Node(n["op"], n["name"], n["inputs"], n["outputs"], decode(n["attrs"], arrays))
        for n in doc["nodes"]
    ]
    return ir.Graph(tensors, nodes, doc["inputs"], doc["outputs"], doc["layout"], doc["metadata"])
