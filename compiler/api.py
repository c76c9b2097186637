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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import ir
from .backend import codegen, planner
from .backend import report as report_mod
from .errors import CalibrationError, CnncError, ModelError, UnsupportedError
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
        return ys.reshape(len(ys), *sample_shape(self.info["output_shape"]))

    def reference(self, x) -> np.ndarray:
        """The NumPy reference of the same graph; returns [S, *output_shape[1:]]."""
        return run_reference(self.graph, feeds_of(self.graph, x))

    def reference_all(self, x) -> dict[str, np.ndarray]:
        """Every tensor the reference computes (for per-layer verification)."""
        from . import reference

        return reference.run(self.graph, feeds_of(self.graph, x), keep_all=True)

    def run_layers(self, x, n: int) -> list[bytes]:
        """Raw bytes of layer n-1's output from the C, per sample."""
        return harness.run_layers(self.host(), pack_inputs(self.graph, x), n)


def float_batches(graph: ir.Graph, x) -> dict[str, np.ndarray]:
    """Graph input name -> float batch [S, *shape[1:]]; x is one array or a list per input."""
    xs = list(x) if isinstance(x, list | tuple) else [x]
    if len(xs) != len(graph.inputs):
        raise CnncError(f"model has {len(graph.inputs)} inputs {graph.inputs}, got {len(xs)}")
    pairs = zip(graph.inputs, xs, strict=True)
    batches = {n: batch_of(xi, list(graph.tensors[n].shape)) for n, xi in pairs}
    if len({len(b) for b in batches.values()}) != 1:
        sizes = [len(b) for b in batches.values()]
        raise CnncError(f"inputs hold different numbers of samples: {sizes}")
    return batches


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


def batch_of(x: np.ndarray, input_shape: list[int]) -> np.ndarray:
    """x as [S, *input_shape[1:]] float32."""
    x = np.asarray(x, dtype=np.float32)
    per = int(np.prod(input_shape))
    if x.size == 0 or x.size % per:
        raise CnncError(
            f"input of shape {list(x.shape)} is not a whole number of samples of shape "
            f"{list(input_shape)}"
        )
    return x.reshape(-1, *sample_shape(input_shape))


def run_reference(graph: ir.Graph, feeds: dict[str, np.ndarray]) -> np.ndarray:
    from . import reference

    x = next(iter(feeds.values()))
    y = graph.tensors[graph.outputs[0]]
    out = boundary(y, np.asarray(reference.run(graph, feeds)[y.name]), "out")
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

    return passes.lower(onnx_import.load(model))


def load_calibration(calibration: Any) -> np.ndarray:
    if isinstance(calibration, str | Path):
        path = Path(calibration)
        if not path.is_file():
            raise CalibrationError(f"calibration file {path} not found")
        with np.load(path) as data:
            if "x" not in data:
                raise CalibrationError(f"{path}: no array named 'x' (keys: {list(data.keys())})")
            calibration = data["x"]
    calibration = np.asarray(calibration, dtype=np.float32)
    if calibration.size == 0:
        raise CalibrationError("calibration data is empty")
    return calibration


def apply_precision(graph: ir.Graph, precision: str, calibration: Any, options: dict) -> ir.Graph:
    if precision not in PRECISIONS:
        raise UnsupportedError(f"precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    names = {"calibration_method": "method", "rounding": "rounding", "int8_io": "int8_io"}
    quant_kwargs = {arg: options[opt] for opt, arg in names.items() if options.get(opt)}
    if precision == "float32":
        return graph
    if precision == "int8":
        if calibration is None:
            raise CalibrationError("precision int8 needs calibration data (--calibration)")
        from .passes import quantize

        return quantize.quantize(graph, load_calibration(calibration), **quant_kwargs)
    from .passes import binarize

    graph = binarize.binarize(graph)
    if calibration is not None:
        from .passes import quantize

        graph = quantize.quantize(graph, load_calibration(calibration), **quant_kwargs)
        graph = binarize.fuse_int8(graph)  # no float tensor left at the int8/binary boundary
    return graph


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
    return write_output(graph, out_dir, precision, embed_weights, target, options, force)


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
    gen = codegen.generate(graph, plan, embed_weights=embed_weights)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CnncError(f"cannot create output folder {out}: {err.strerror}") from None
    stage = Path(tempfile.mkdtemp(prefix=".cnnc-tmp-", dir=out))
    try:
        (stage / "model.h").write_text(gen.model_h)
        (stage / "model.c").write_text(gen.model_c)
        if not embed_weights:
            (stage / "weights.bin").write_bytes(gen.blob)
        codegen.copy_runtime(stage, gen.families)
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
    """Reopens a compiled folder (no recompilation; the C is built on first ``run``)."""
    out = Path(out_dir)
    info_path = out / "cnnc.json"
    if not info_path.is_file():
        raise ModelError(f"{out}: not a cnnc output folder (no cnnc.json)")
    info = json.loads(info_path.read_text())
    if info.get("format") != FORMAT_VERSION:
        raise ModelError(f"{info_path}: format {info.get('format')}, this cnnc reads 1")
    graph = load_graph(out)
    rep = json.loads((out / "report.json").read_text())
    return CompiledModel(out, graph, info, rep)


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
        doc = json.loads((out_dir / "graph.json").read_text())
        with np.load(out_dir / "graph.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise ModelError(f"{out_dir}: cannot read graph.json/graph.npz: {err}") from None
    tensors = {}
    for t in doc["tensors"]:
        quant = None
        if t["quant"] is not None:
            q = decode(t["quant"], arrays)
            quant = ir.QuantParams(q["scale"], q["zero_point"], q["axis"])
        data = decode(t["data"], arrays) if t["data"] is not None else None
        tensors[t["name"]] = ir.Tensor(t["name"], tuple(t["shape"]), t["dtype"], data, quant)
    nodes = [
        ir.Node(n["op"], n["name"], n["inputs"], n["outputs"], decode(n["attrs"], arrays))
        for n in doc["nodes"]
    ]
    return ir.Graph(tensors, nodes, doc["inputs"], doc["outputs"], doc["layout"], doc["metadata"])
