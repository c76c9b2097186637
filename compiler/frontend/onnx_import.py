"""ONNX in: check, infer shapes, and build the imported IR graph (NCHW, ONNX op names).

``load`` is the one door into the compiler. It reads a file or ModelProto,
converts opsets older than 13 up to 13, runs the ONNX checker and strict shape
inference (with data propagation, so PyTorch's Shape/Gather/Concat chains in
front of a Reshape get concrete shapes), and returns an ``ir.Graph`` whose
nodes keep ONNX op names and carry every attribute with its default filled in.
``auto_pad`` is resolved into explicit ``pads`` here, so no later stage sees it.

A symbolic batch dimension on a graph input is fixed to 1: the generated C runs
one sample per call. Any other symbolic dimension is an error.

A model file is untrusted input (docs/robustness.md lists what is
refused and why). Before anything else reads it, ``load`` checks that every
string field is UTF-8, that external data stays inside the model's folder,
and that every stored tensor is well formed: a supported real dtype, dims and
sizes below 2^31, as many bytes as its dims need, and finite values (NaN or
Inf weights are refused in every precision: int8 cannot quantise them and a
float32 NaN weight only ever yields NaN outputs). BatchNormalization needs
eps >= 0 and var + eps > 0, Clip needs min <= max, auto_pad excludes explicit
pads, and the cnnc.* metadata must parse.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.descriptor import FieldDescriptor
from onnx import TensorProto, helper, numpy_helper, shape_inference, version_converter

from .. import ir
from ..errors import ModelError, ShapeError, UnsupportedError
from .onnx_reference import ONNX_OPS

MIN_OPSET = 13
MAX_OPSET = onnx.defs.onnx_opset_version()

# Ops that lower to compute (see passes.lower_layout) ...
COMPUTE_OPS = (
    "Conv Gemm MatMul BatchNormalization Relu Clip LeakyRelu Sigmoid Elu Add Sum Sub Mul Div "
    "MaxPool AveragePool GlobalAveragePool GlobalMaxPool Flatten Reshape Transpose Concat "
    "Softmax Where Less Neg HardSigmoid"
).split()
COMPUTE_OPS += "Pad Resize ConvTranspose".split()  # spatial ops of segmentation heads
COMPUTE_OPS += "HardSwish Tanh ReduceMean ReduceMax".split()  # edge-CNN activations, reductions
COMPUTE_OPS += ["Split"]  # ShuffleNetV2's chunk: along channels or the last axis
# ... ops removed or folded away (Less/Where only as the XNOR sign pattern; the shape ops
# only when their inputs are constant, as in the chains PyTorch emits before a Reshape).
FOLDED_OPS = (
    "Dropout Identity Constant ConstantOfShape Shape Gather Unsqueeze Squeeze Cast Slice"
).split()
SUPPORTED_OPS = tuple(sorted(set(COMPUTE_OPS) | set(FOLDED_OPS)))

_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")

# Every dim, element count and byte size must stay below 2^31: the C stores sizes in
# int32_t/uint32_t and the planner adds them up.
SIZE_LIMIT = 2**31
# Tensor element types a model may store or feed (complex, string and the sub-byte and
# 8-bit float types are refused by name).
_REAL_DTYPES = {
    TensorProto.FLOAT: "float_data",
    TensorProto.DOUBLE: "double_data",
    TensorProto.FLOAT16: "int32_data",
    TensorProto.INT8: "int32_data",
    TensorProto.UINT8: "int32_data",
    TensorProto.INT16: "int32_data",
    TensorProto.UINT16: "int32_data",
    TensorProto.INT32: "int32_data",
    TensorProto.UINT32: "uint64_data",
    TensorProto.INT64: "int64_data",
    TensorProto.UINT64: "uint64_data",
    TensorProto.BOOL: "int32_data",
}


def load(model: str | Path | onnx.ModelProto) -> ir.Graph:
    """Reads an ONNX model and returns the imported (NCHW, ONNX-op) graph."""
    where = "<ModelProto>"
    if not isinstance(model, onnx.ModelProto):
        where = str(model)
        model = _read(Path(model))
    else:
        _refuse_external_data(model, where)
    _check_strings(model, "", where)
    consts = _check_stored_tensors(model, where)
    model = _prequantised_hook(model, where)
    model = _keep_upsample_semantics(model, _upgrade_opset(model, where))
    model = _fix_batch_dim(model, where)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        raise ModelError(f"{where}: ONNX checker failed: {_first_line(err)}") from None
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedError(
                f"{where}: node '{node.name}' uses op {node.domain}.{node.op_type}; "
                f"cnnc supports only the default ONNX domain: {', '.join(SUPPORTED_OPS)}"
            )
        if node.op_type not in SUPPORTED_OPS:
            raise UnsupportedError(
                f"{where}: unsupported op {node.op_type} (node '{node.name}'); "
                f"supported: {', '.join(SUPPORTED_OPS)}"
            )
    weight_shapes = {t.name: list(t.dims) for t in model.graph.initializer}
    for node in model.graph.node:
        _check_window_attrs(node, weight_shapes, where)
    _check_parameters(model, consts, where)
    _check_metadata(model, where)
    model = _infer_shapes(model, where, "")
    while _missing_shapes(model) and _fold_shape_chain(model, where):
        # strict again: a folded Shape/Gather/Concat chain may give a Reshape a shape that
        # contradicts its consumers (a Gemm's K against its weight), which must be refused
        model = _infer_shapes(model, where, " after folding constant shape computations")
    return _build_graph(_fix_ceil_pool_shapes(model), where)


def _infer_shapes(model: onnx.ModelProto, where: str, when: str) -> onnx.ModelProto:
    try:
        return shape_inference.infer_shapes(
            model, check_type=True, strict_mode=True, data_prop=True
        )
    except (shape_inference.InferenceError, onnx.checker.ValidationError) as err:
        raise ShapeError(f"{where}: shape inference failed{when}: {_first_line(err)}") from None


def _fix_ceil_pool_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Corrects shapes after pools whose ceil_mode window would start in the end padding.

    ONNX (and PyTorch, and onnxruntime) drop such a last window; onnx's shape
    inference does not. Shapes are re-inferred on a copy in which each such pool
    has ceil_mode=0 and just enough end padding for the same windows; the
    graph keeps the original attributes (the reference reads the output size
    from the tensor, so its windows and divisors follow ONNX).
    """
    shaped = model
    for _ in range(len(model.graph.node)):
        fix = _first_bad_ceil_pool(shaped)
        if fix is None:
            break
        index, pads = fix
        probe = onnx.ModelProto()
        probe.CopyFrom(shaped)
        del probe.graph.value_info[:]
        for out in probe.graph.output:
            out.type.tensor_type.ClearField("shape")
        pnode = probe.graph.node[index]
        for attr in pnode.attribute:
            if attr.name == "ceil_mode":
                attr.i = 0
            elif attr.name == "pads":
                attr.ints[:] = pads
        if not any(a.name == "pads" for a in pnode.attribute):
            pnode.attribute.append(helper.make_attribute("pads", pads))
        shaped = shape_inference.infer_shapes(probe, check_type=True, data_prop=True)
    if shaped is model:
        return model
    result = onnx.ModelProto()
    result.CopyFrom(model)
    del result.graph.value_info[:]
    result.graph.value_info.extend(shaped.graph.value_info)
    del result.graph.output[:]
    result.graph.output.extend(shaped.graph.output)
    return result


def _first_bad_ceil_pool(model: onnx.ModelProto) -> tuple[int, list[int]] | None:
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(model.graph.input) + list(model.graph.value_info)
    }
    for index, node in enumerate(model.graph.node):
        attrs = {a.name: _attr_value(a) for a in node.attribute}
        if node.op_type not in ("MaxPool", "AveragePool") or not attrs.get("ceil_mode"):
            continue
        if attrs.get("auto_pad", "NOTSET") != "NOTSET" or node.input[0] not in shapes:
            continue
        sizes = shapes[node.input[0]][2:]
        k, n = attrs["kernel_shape"], len(sizes)
        s = attrs.get("strides", [1] * n)
        d = attrs.get("dilations", [1] * n)
        pads = list(attrs.get("pads", [0] * 2 * n))
        bad = False
        for i, size in enumerate(sizes):
            span = size + pads[i] + pads[n + i] - (k[i] - 1) * d[i] - 1
            out = -(-span // s[i]) + 1
            if (out - 1) * s[i] >= size + pads[i]:
                out -= 1
                bad = True
            pads[n + i] = max(
                pads[n + i], (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - size - pads[i]
            )
        if bad:
            return index, pads
    return None


_SHAPE_CHAIN_OPS = (
    "Constant",
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Concat",
    "Cast",
    "Slice",
    "Mul",
    "Add",
    "Sub",
    "Div",
    "ConstantOfShape",
    "Identity",
)


def _missing_shapes(model: onnx.ModelProto) -> bool:
    known = {v.name for v in model.graph.value_info if v.type.tensor_type.HasField("shape")}
    known |= {t.name for t in model.graph.initializer} | {v.name for v in model.graph.input}
    return any(out and out not in known for node in model.graph.node for out in node.output)


def _fold_shape_chain(model: onnx.ModelProto, where: str) -> bool:
    """Evaluates constant shape arithmetic (Shape -> Gather -> ... -> Concat) in place.

    Data propagation in ONNX shape inference misses some of the chains
    exporters emit in front of a Reshape; folding them into initializers
    lets a second inference give the Reshape a static shape.
    """
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    shapes = {}
    for v in list(model.graph.input) + list(model.graph.value_info):
        dims = v.type.tensor_type.shape.dim
        if v.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[v.name] = [d.dim_value for d in dims]
    folded = []
    for node in model.graph.node:
        if node.op_type not in _SHAPE_CHAIN_OPS:
            continue
        if node.op_type == "Shape" and node.input[0] in shapes:
            dims = shapes[node.input[0]]
            _check_dims(dims, f"{where}: tensor '{node.input[0]}' (input of '{node.name}')")
            args = [np.broadcast_to(np.float32(0), dims)]  # only its shape is read: no memory
        elif all(not name or name in consts for name in node.input):
            args = [consts[name] if name else None for name in node.input]
        else:
            continue
        if node.op_type == "ConstantOfShape" and args[0] is not None:
            dims = [int(d) for d in np.ravel(args[0])]
            label = f"{where}: node '{node.name}' (ConstantOfShape) output"
            _check_dims(dims, label)
            _check_size(math.prod(dims), 8, dims, label)
        attrs = {a.name: _attr_value(a) for a in node.attribute}
        if node.op_type in _DEFAULTS:
            attrs = {**_DEFAULTS[node.op_type], **attrs}
        ir_node = ir.Node(node.op_type, node.name, list(node.input), list(node.output), attrs)
        try:
            with np.errstate(all="ignore"):
                outputs = ONNX_OPS[node.op_type](ir_node, None, args)
        except Exception as err:  # constants of any shape or value reach these ops
            raise ModelError(
                f"{where}: node '{node.name}' ({node.op_type}) cannot be evaluated on its "
                f"constant inputs: {_first_line(err)}"
            ) from None
        for name, value in zip(node.output, outputs, strict=False):
            consts[name] = np.asarray(value)
            model.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        folded.append(node)
    for node in folded:
        model.graph.node.remove(node)
    return bool(folded)


def _read(path: Path) -> onnx.ModelProto:
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise ModelError(f"{path}: file is empty, not an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as err:  # protobuf raises DecodeError, a RuntimeError or ValueError
        raise ModelError(
            f"{path}: not a readable ONNX model ({len(data)} bytes; truncated or corrupt: "
            f"{_first_line(err)})"
        ) from None
    if not model.graph.node and not model.graph.output:
        raise ModelError(f"{path}: parsed as an empty ONNX model (no graph); corrupt file?")
    for tensor in model.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            _load_external(tensor, path)
    _refuse_external_data(model, str(path))
    return model


def _load_external(tensor: onnx.TensorProto, path: Path) -> None:
    """Reads an initializer's external data into raw_data, only from inside the model's folder.

    The location is checked here, not left to the onnx package (which fixed its own path
    traversal only in 1.16): no absolute path, no '..', and after resolving symlinks the
    file must still lie inside the folder that holds the model.
    """
    fields = {entry.key: entry.value for entry in tensor.external_data}
    label = f"{path}: cannot read its external weight data (initializer '{tensor.name}')"
    location = fields.get("location", "")
    parts = location.replace("\\", "/").split("/")
    if not location or location.startswith(("/", "\\")) or os.path.isabs(location):
        raise ModelError(f"{label}: location '{location}' must be a path relative to the model")
    if ".." in parts or (len(location) > 1 and location[1] == ":"):
        raise ModelError(f"{label}: location '{location}' leaves the model's folder")
    folder = path.parent.resolve()
    target = (folder / location).resolve()
    if not target.is_relative_to(folder):
        raise ModelError(
            f"{label}: location '{location}' resolves to {target}, outside the model's "
            f"folder {folder} (a symlink?)"
        )
    if not target.is_file():
        raise ModelError(f"{label}: file '{location}' not found next to the model")
    try:
        offset = int(fields.get("offset", "0"))
        size = target.stat().st_size
        length = int(fields["length"]) if "length" in fields else size - offset
    except ValueError:
        raise ModelError(f"{label}: offset/length {fields} are not integers") from None
    if offset < 0 or length < 0 or offset + length > size or length >= SIZE_LIMIT:
        raise ModelError(
            f"{label}: offset {offset} + length {length} do not fit in '{location}' ({size} bytes)"
        )
    with open(target, "rb") as f:
        f.seek(offset)
        tensor.raw_data = f.read(length)
    del tensor.external_data[:]
    tensor.data_location = TensorProto.DEFAULT


def _refuse_external_data(model: onnx.ModelProto, where: str) -> None:
    for tensor, label in _stored_tensors(model):
        if tensor.data_location == TensorProto.EXTERNAL:
            raise ModelError(
                f"{where}: {label} keeps its data in an external file; cnnc reads external "
                "data only for initializers of a model loaded from a file path"
            )


def _stored_tensors(model: onnx.ModelProto):
    """(TensorProto, label) for every initializer and tensor-valued node attribute."""
    for tensor in model.graph.initializer:
        yield tensor, f"initializer '{tensor.name}'"
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                yield attr.t, f"node '{node.name}' ({node.op_type}) attribute '{attr.name}'"
            elif attr.type == onnx.AttributeProto.TENSORS:
                for i, t in enumerate(attr.tensors):
                    yield t, f"node '{node.name}' ({node.op_type}) attribute '{attr.name}'[{i}]"


def _check_strings(message, path: str, where: str) -> None:
    """Every string field (and string attribute) of the model must be valid UTF-8.

    protobuf hands invalid UTF-8 in a proto2 string field back as bytes, which
    would fail deep inside cnnc; the message names the field by its path.
    """
    is_attr = isinstance(message, onnx.AttributeProto)
    for field, value in message.ListFields():
        nested = field.type == FieldDescriptor.TYPE_MESSAGE
        text = field.type == FieldDescriptor.TYPE_STRING
        if not (nested or text or (is_attr and field.name in ("s", "strings"))):
            continue  # numbers and raw bytes: nothing to decode (and maybe millions of them)
        repeated = _is_repeated(field)
        items = value if repeated else [value]
        for i, item in enumerate(items):
            here = f"{path}{field.name}" + (f"[{i}]" if repeated else "")
            if nested:
                _check_strings(item, here + ".", where)
            elif isinstance(item, bytes):
                try:
                    item.decode("utf-8")
                except UnicodeDecodeError:
                    raise ModelError(
                        f"{where}: {here} is not valid UTF-8 ({item[:40]!r})"
                    ) from None


def _is_repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 5.29; `label` went away in 7
        return field.is_repeated
    return field.label == FieldDescriptor.LABEL_REPEATED


def _check_stored_tensors(model: onnx.ModelProto, where: str) -> dict[str, np.ndarray]:
    """Checks every initializer and Constant value; returns name -> array of the valid ones."""
    consts = {}
    for tensor, label in _stored_tensors(model):
        data = _check_tensor(tensor, f"{where}: {label}")
        consts[tensor.name] = data
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    consts[node.output[0]] = numpy_helper.to_array(attr.t)
    return consts


def _check_tensor(tensor: onnx.TensorProto, label: str) -> np.ndarray:
    """One stored tensor: real dtype, dims and sizes < 2^31, byte count, finite values."""
    if tensor.data_type not in _REAL_DTYPES:
        kind = (
            TensorProto.DataType.Name(tensor.data_type)
            if tensor.data_type in (TensorProto.DataType.values())
            else str(tensor.data_type)
        )
        raise UnsupportedError(
            f"{label} has data type {kind}; cnnc reads real tensors only "
            "(float, double, float16, (u)int8/16/32/64, bool)"
        )
    dims = [int(d) for d in tensor.dims]
    _check_dims(dims, label)
    itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    count = math.prod(dims)
    _check_size(count, itemsize, dims, label)
    if tensor.HasField("raw_data"):
        if len(tensor.raw_data) != count * itemsize:
            raise ModelError(
                f"{label} has {len(tensor.raw_data)} bytes of raw_data; its dims {dims} need "
                f"{count} x {itemsize} = {count * itemsize}"
            )
    else:
        field = _REAL_DTYPES[tensor.data_type]
        stored = len(getattr(tensor, field))
        if stored != count:
            raise ModelError(
                f"{label} has {stored} values in {field}; its dims {dims} need {count}"
            )
    try:
        data = numpy_helper.to_array(tensor)
    except Exception as err:  # whatever onnx's decoder raises on a malformed tensor
        raise ModelError(f"{label} cannot be decoded: {_first_line(err)}") from None
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = ~np.isfinite(data)
        index = [int(i) for i in np.argwhere(bad)[0]]
        raise ModelError(
            f"{label} holds {data[tuple(index)]} at index {index} ({int(bad.sum())} non-finite "
            "value(s)); cnnc refuses NaN and Inf weights"
        )
    return data


def _check_dims(dims: list[int], label: str) -> None:
    for axis, dim in enumerate(dims):
        if dim < 0 or dim >= SIZE_LIMIT:
            raise ModelError(
                f"{label} has dimension {dim} at axis {axis} (shape {dims}); dimensions must "
                f"lie in [0, 2^31)"
            )


def _check_size(count: int, itemsize: int, dims: list[int], label: str) -> None:
    if count >= SIZE_LIMIT or count * itemsize >= SIZE_LIMIT:
        raise ModelError(
            f"{label} of shape {dims} holds {count} elements ({count * itemsize} bytes); cnnc "
            "needs element counts and byte sizes below 2^31"
        )


def _check_parameters(model: onnx.ModelProto, consts: dict, where: str) -> None:
    """Values shape inference does not check: BatchNormalization's eps/var, Clip's bounds."""
    for node in model.graph.node:
        label = f"{where}: node '{node.name}' ({node.op_type})"
        attrs = {a.name: _attr_value(a) for a in node.attribute}
        if node.op_type == "BatchNormalization":
            eps = float(attrs.get("epsilon", _DEFAULTS["BatchNormalization"]["epsilon"]))
            if not math.isfinite(eps) or eps < 0:
                raise ModelError(f"{label} has epsilon={eps:g}; it must be finite and >= 0")
            var = consts.get(node.input[4]) if len(node.input) > 4 else None
            if var is not None and np.size(var) and (var < 0).any() | (var + eps <= 0).any():
                channel = int(np.argmax((np.ravel(var) < 0) | (np.ravel(var) + eps <= 0)))
                raise ModelError(
                    f"{label}: variance '{node.input[4]}' holds {np.ravel(var)[channel]} at "
                    f"channel {channel} with epsilon={eps}; BatchNormalization needs var >= 0 "
                    "and var + epsilon > 0"
                )
        elif node.op_type == "Clip" and len(node.input) > 2:
            lo, hi = consts.get(node.input[1]), consts.get(node.input[2])
            if lo is not None and hi is not None and np.size(lo) and np.size(hi):
                lo_v, hi_v = float(np.ravel(lo)[0]), float(np.ravel(hi)[0])
                if lo_v > hi_v:
                    raise ModelError(
                        f"{label} has min={lo_v} > max={hi_v} ('{node.input[1]}', "
                        f"'{node.input[2]}'); ONNX then outputs max everywhere, which is "
                        "almost certainly a broken export: fix the bounds"
                    )


_METADATA_LISTS = ("cnnc.norm_mean", "cnnc.norm_std")


def _check_metadata(model: onnx.ModelProto, where: str) -> None:
    """cnnc's own metadata (written by cnnc.models.export) must parse where it is present."""
    meta = {p.key: p.value for p in model.metadata_props}
    inits = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in inits]
    dims = inputs[0].type.tensor_type.shape.dim if inputs else []
    channels = dims[1].dim_value if len(dims) == 4 else 0
    lists = {}
    for key in _METADATA_LISTS:
        if key not in meta:
            continue
        try:
            value = json.loads(meta[key])
        except ValueError:
            value = None
        ok = (
            isinstance(value, list)
            and value
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in value
            )
        )
        if not ok:
            raise ModelError(
                f"{where}: metadata {key}={meta[key][:80]!r} is not a JSON list of finite numbers"
            )
        if len(value) not in (1, channels or len(value)):
            raise ModelError(
                f"{where}: metadata {key} has {len(value)} values; the input has "
                f"{channels} channel(s) (give 1 or {channels})"
            )
        lists[key] = value
    if "cnnc.norm_std" in lists and min(lists["cnnc.norm_std"]) <= 0:
        raise ModelError(
            f"{where}: metadata cnnc.norm_std={meta['cnnc.norm_std'][:80]!r} holds a value "
            "<= 0; standard deviations must be positive"
        )
    if "cnnc.input_size" in meta:
        size = meta["cnnc.input_size"]
        if not (size.isdigit() and 0 < int(size) < SIZE_LIMIT):
            raise ModelError(
                f"{where}: metadata cnnc.input_size={size[:80]!r} is not a positive integer"
            )


def _check_window_attrs(node: onnx.NodeProto, weight_shapes: dict, where: str) -> None:
    """Attribute errors shape inference would report confusingly (or not at all)."""
    if node.op_type not in ("Conv", "MaxPool", "AveragePool"):
        return
    attrs = {a.name: _attr_value(a) for a in node.attribute}
    label = f"{where}: node '{node.name}' ({node.op_type})"
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad not in _AUTO_PADS:
        raise ModelError(
            f"{label} has auto_pad='{auto_pad}'; expected one of {', '.join(_AUTO_PADS)}"
        )
    if auto_pad != "NOTSET" and any(attrs.get("pads", [])):
        raise ModelError(
            f"{label} has auto_pad='{auto_pad}' and explicit pads={list(attrs['pads'])}; "
            "ONNX allows pads only with auto_pad=NOTSET"
        )
    for key, low in (("strides", 1), ("dilations", 1), ("kernel_shape", 1), ("pads", 0)):
        if key in attrs and min(attrs[key], default=low) < low:
            raise ModelError(f"{label} has {key}={list(attrs[key])}; values must be >= {low}")
    w_shape = weight_shapes.get(node.input[1]) if node.op_type == "Conv" else None
    if w_shape and "kernel_shape" in attrs and list(attrs["kernel_shape"]) != w_shape[2:]:
        raise ModelError(
            f"{label} has kernel_shape={list(attrs['kernel_shape'])} but its "
            f"weight '{node.input[1]}' has shape {w_shape}"
        )


def _first_line(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return " ".join(text.split())[:400]


def _keep_upsample_semantics(old: onnx.ModelProto, new: onnx.ModelProto) -> onnx.ModelProto:
    """Upsample (opset < 10) maps output x to input x / scale (asymmetric; nearest takes the
    floor), but onnx's version converter turns it into a Resize with Resize's defaults
    (half_pixel, round_prefer_floor): a silently different model. The converted Resize
    nodes (same outputs) get Upsample's modes back."""
    upsampled = {n.output[0] for n in old.graph.node if n.op_type == "Upsample"}
    for node in new.graph.node:
        if node.op_type == "Resize" and node.output[0] in upsampled:
            keep = [a for a in node.attribute if a.name == "mode"]
            del node.attribute[:]
            node.attribute.extend(keep)
            node.attribute.append(
                helper.make_attribute("coordinate_transformation_mode", "asymmetric")
            )
            node.attribute.append(helper.make_attribute("nearest_mode", "floor"))
    return new


def _upgrade_opset(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    version = _default_opset(model)
    if version is None:
        raise ModelError(f"{where}: model imports no default ONNX opset")
    if version > MAX_OPSET:
        raise ModelError(
            f"{where}: opset {version} is newer than the installed onnx knows ({MAX_OPSET})"
        )
    if version >= MIN_OPSET:
        return model
    try:
        return version_converter.convert_version(model, MIN_OPSET)
    except Exception as err:
        raise ModelError(
            f"{where}: opset {version} could not be converted to {MIN_OPSET}: {_first_line(err)}"
        ) from None


def _default_opset(model: onnx.ModelProto) -> int | None:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return None


def _fix_batch_dim(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """Sets a symbolic leading dim of each graph input to 1; other symbolic dims are errors."""
    model_copy = onnx.ModelProto()
    model_copy.CopyFrom(model)
    inits = {t.name for t in model_copy.graph.initializer}
    for value in model_copy.graph.input:
        if value.name in inits:
            continue
        if not value.type.HasField("tensor_type"):
            raise ModelError(f"{where}: input '{value.name}' is not a tensor")
        _check_elem_type(value, where)
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value >= SIZE_LIMIT:
                raise ModelError(
                    f"{where}: input '{value.name}' has dimension {dim.dim_value} at axis "
                    f"{axis}; dimensions must lie in [1, 2^31)"
                )
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            if axis == 0:
                dim.Clear()
                dim.dim_value = 1
            else:
                raise ModelError(
                    f"{where}: input '{value.name}' has symbolic dimension "
                    f"'{dim.dim_param or '?'}' at axis {axis}; cnnc needs static shapes "
                    "(only the batch axis may be symbolic)"
                )
    for value in model_copy.graph.output:  # stale symbolic output dims would clash with batch 1
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if axis == 0 and not dim.HasField("dim_value"):
                dim.Clear()
                dim.dim_value = 1
    return model_copy


def _check_elem_type(value: onnx.ValueInfoProto, where: str) -> None:
    elem = value.type.tensor_type.elem_type
    if elem not in _REAL_DTYPES:
        name = TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() else elem
        raise UnsupportedError(
            f"{where}: tensor '{value.name}' has element type {name}; cnnc compiles real "
            "tensors only (float, double, float16, (u)int8/16/32/64, bool)"
        )


def _build_graph(model: onnx.ModelProto, where: str) -> ir.Graph:
    g = model.graph
    tensors: dict[str, ir.Tensor] = {}
    for init in g.initializer:
        data = numpy_helper.to_array(init)
        tensors[init.name] = ir.Tensor(init.name, tuple(data.shape), str(data.dtype), data)
    for value in list(g.input) + list(g.value_info) + list(g.output):
        if value.name in tensors:
            continue
        tensors[value.name] = _tensor_from_value_info(value, where)
    for t in tensors.values():
        dims = [int(d) for d in t.shape]
        _check_dims(dims, f"{where}: tensor '{t.name}'")
        _check_size(
            math.prod(dims), np.dtype(t.dtype).itemsize, dims, f"{where}: tensor '{t.name}'"
        )
    inputs = [v.name for v in g.input if v.name not in tensors or not tensors[v.name].is_const]
    nodes = []
    for index, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{index}"
        for out in node.output:
            if out and out not in tensors:
                raise ShapeError(
                    f"{where}: shape inference left tensor '{out}' (output of node '{name}', "
                    f"{node.op_type}) without a static shape"
                )
        attrs = {a.name: _attr_value(a) for a in node.attribute}
        ir_node = ir.Node(node.op_type, name, list(node.input), list(node.output), attrs)
        _fill_defaults(ir_node, tensors, where)
        nodes.append(ir_node)
    metadata = {p.key: p.value for p in model.metadata_props}
    graph = ir.Graph(tensors, nodes, inputs, [v.name for v in g.output], "NCHW", metadata)
    for name in graph.outputs:
        if name not in tensors:
            raise ModelError(f"{where}: graph output '{name}' has no type or shape")
    return graph


def _tensor_from_value_info(value: onnx.ValueInfoProto, where: str) -> ir.Tensor:
    ttype = value.type.tensor_type
    if not ttype.HasField("shape"):
        raise ShapeError(f"{where}: tensor '{value.name}' has no static shape after inference")
    shape = []
    for axis, dim in enumerate(ttype.shape.dim):
        if not dim.HasField("dim_value"):
            raise ShapeError(
                f"{where}: tensor '{value.name}' has a symbolic dimension "
                f"'{dim.dim_param or '?'}' at axis {axis} after shape inference"
            )
        shape.append(int(dim.dim_value))
    _check_elem_type(value, where)
    dtype = str(helper.tensor_dtype_to_np_dtype(ttype.elem_type))
    return ir.Tensor(value.name, tuple(shape), dtype)


def _attr_value(attr: onnx.AttributeProto):
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else v for v in value]
    return value


# ---------------------------------------------------------------- attribute defaults

_DEFAULTS: dict[str, dict] = {
    "Gemm": {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0},
    "BatchNormalization": {"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0},
    "LeakyRelu": {"alpha": 0.01},
    "Elu": {"alpha": 1.0},
    "HardSigmoid": {"alpha": 0.2, "beta": 0.5},
    "Softmax": {"axis": -1},
    "Flatten": {"axis": 1},
    "Gather": {"axis": 0},
    "Reshape": {"allowzero": 0},
    "Dropout": {},
    "Pad": {"mode": "constant"},
    "ConvTranspose": {"group": 1},
    "ReduceMean": {"keepdims": 1, "noop_with_empty_axes": 0},
    "ReduceMax": {"keepdims": 1, "noop_with_empty_axes": 0},
}


def _fill_defaults(node: ir.Node, tensors: dict[str, ir.Tensor], where: str) -> None:
    for key, value in _DEFAULTS.get(node.op, {}).items():
        node.attrs.setdefault(key, value)
    if node.op in ("Conv", "MaxPool", "AveragePool"):
        _fill_window_attrs(node, tensors, where)
    elif node.op == "Transpose" and "perm" not in node.attrs:
        rank = len(tensors[node.inputs[0]].shape)
        node.attrs["perm"] = list(range(rank))[::-1]
    elif node.op == "Concat":
        rank = len(tensors[node.outputs[0]].shape)
        node.attrs["axis"] = _norm_axis(node, node.attrs["axis"], rank, where)
    elif node.op in ("Softmax", "Flatten"):
        rank = len(tensors[node.inputs[0]].shape)
        node.attrs["axis"] = _norm_axis(node, node.attrs["axis"], rank, where, node.op == "Flatten")
    elif node.op == "BatchNormalization" and node.attrs["training_mode"]:
        raise UnsupportedError(
            f"{where}: node '{node.name}' (BatchNormalization) has training_mode=1; "
            "cnnc compiles inference graphs only (training_mode=0)"
        )
    if node.op == "BatchNormalization":
        x_shape = tensors[node.inputs[0]].shape
        channels = x_shape[1] if len(x_shape) > 1 else None
        for role, name in zip(("scale", "bias", "mean", "var"), node.inputs[1:5], strict=False):
            shape = tensors[name].shape if name in tensors else None
            if channels is None or shape != (channels,):
                raise ShapeError(
                    f"{where}: node '{node.name}' (BatchNormalization): {role} '{name}' has "
                    f"shape {list(shape or [])}; input '{node.inputs[0]}' {list(x_shape)} needs "
                    f"[{channels}]"
                )
    elif node.op == "Gemm" and len(node.inputs) > 2 and node.inputs[2]:
        _check_gemm_bias(node, tensors, where)


def _check_gemm_bias(node: ir.Node, tensors: dict[str, ir.Tensor], where: str) -> None:
    """Gemm's C must broadcast to [M, N] one way (shape inference does not check it)."""
    out = tensors[node.outputs[0]].shape
    c = tensors[node.inputs[2]].shape
    fits = len(c) <= len(out) and all(
        cd in (1, od) for cd, od in zip(c[::-1], out[::-1], strict=False)
    )
    if not fits:
        raise ShapeError(
            f"{where}: node '{node.name}' (Gemm): bias '{node.inputs[2]}' has shape {list(c)}, "
            f"which does not broadcast to the output {list(out)}"
        )


def _norm_axis(node: ir.Node, axis: int, rank: int, where: str, allow_rank=False) -> int:
    hi = rank + 1 if allow_rank else rank
    if not -rank <= axis < hi:
        raise ModelError(
            f"{where}: node '{node.name}' ({node.op}) has axis={axis}, outside [-{rank}, {hi})"
        )
    return axis % rank if axis < rank else axis


def _fill_window_attrs(node: ir.Node, tensors: dict[str, ir.Tensor], where: str) -> None:
    """Fills kernel_shape/strides/dilations/pads; resolves auto_pad into explicit pads."""
    a = node.attrs
    x_shape = tensors[node.inputs[0]].shape
    spatial = len(x_shape) - 2
    if node.op == "Conv":
        w_shape = tensors[node.inputs[1]].shape
        a.setdefault("kernel_shape", list(w_shape[2:]))
        a.setdefault("group", 1)
        group = a["group"]
        if group < 1 or w_shape[0] % group or w_shape[1] * group != x_shape[1]:
            raise ShapeError(
                f"{where}: node '{node.name}' (Conv): input '{node.inputs[0]}' has "
                f"{x_shape[1]} channels but weight '{node.inputs[1]}' {list(w_shape)} with "
                f"group={group} expects {w_shape[1] * group} (and Cout divisible by group)"
            )
        bias = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
        if bias is not None and tensors[bias].shape != (w_shape[0],):
            raise ShapeError(
                f"{where}: node '{node.name}' (Conv): bias '{bias}' has shape "
                f"{list(tensors[bias].shape)}; its weight {list(w_shape)} needs [{w_shape[0]}]"
            )
        if list(a["kernel_shape"]) != list(w_shape[2:]):
            raise ModelError(
                f"{where}: node '{node.name}' (Conv) has kernel_shape={a['kernel_shape']} "
                f"but its weight '{node.inputs[1]}' has shape {list(w_shape)}"
            )
    else:
        if "kernel_shape" not in a:
            raise ModelError(f"{where}: node '{node.name}' ({node.op}) has no kernel_shape")
        a.setdefault("ceil_mode", 0)
        if node.op == "AveragePool":
            a.setdefault("count_include_pad", 0)
        if len(node.outputs) > 1 and node.outputs[1]:
            raise UnsupportedError(
                f"{where}: node '{node.name}' (MaxPool) asks for the Indices output; "
                "cnnc supports MaxPool with one output"
            )
    a.setdefault("strides", [1] * spatial)
    a.setdefault("dilations", [1] * spatial)
    auto_pad = a.pop("auto_pad", "NOTSET")
    if auto_pad not in _AUTO_PADS:
        raise ModelError(
            f"{where}: node '{node.name}' ({node.op}) has auto_pad='{auto_pad}'; "
            f"expected one of {', '.join(_AUTO_PADS)}"
        )
    kernel, strides, dilations = a["kernel_shape"], a["strides"], a["dilations"]
    for key in ("kernel_shape", "strides", "dilations"):
        if len(a[key]) != spatial or min(a[key]) < 1:
            raise ModelError(
                f"{where}: node '{node.name}' ({node.op}) has {key}={list(a[key])}; expected "
                f"{spatial} positive values for its {len(x_shape)}-D input '{node.inputs[0]}'"
            )
    if auto_pad == "NOTSET":
        a.setdefault("pads", [0] * (2 * spatial))
    elif auto_pad == "VALID":
        a["pads"] = [0] * (2 * spatial)
    else:
        begin, end = [], []
        for size, k, s, d in zip(x_shape[2:], kernel, strides, dilations, strict=True):
            out = math.ceil(size / s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small, big = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else big)
            end.append(big if auto_pad == "SAME_UPPER" else small)
        a["pads"] = begin + end
    if len(a["pads"]) != 2 * spatial or min(a["pads"]) < 0:
        raise ModelError(
            f"{where}: node '{node.name}' ({node.op}) has pads={list(a['pads'])}; expected "
            f"{2 * spatial} non-negative values"
        )
    a["kernel_shape"], a["strides"] = list(kernel), list(strides)
    a["dilations"], a["pads"] = list(dilations), list(a["pads"])


def _prequantised_hook(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """A QDQ/QOperator model becomes its float graph plus its recorded quantisation
    (cnnc.frontend.qdq_import); a float model may not bring that record itself."""
    from ..errors import CnncError
    from . import qdq_import

    if qdq_import.is_prequantised(model):
        try:
            return qdq_import.strip(model, where)
        except CnncError:
            raise
        except Exception as err:  # a malformed graph the checker has not seen yet
            detail = " ".join(str(err).split())[:200]
            raise ModelError(
                f"{where}: malformed pre-quantised graph ({type(err).__name__}: {detail})"
            ) from None
    if any(p.key == qdq_import.METADATA_KEY for p in model.metadata_props):
        raise ModelError(
            f"{where}: metadata key {qdq_import.METADATA_KEY} is reserved for cnnc's "
            "pre-quantised import; remove it from the model"
        )
    return model
