"""Mutations of ONNX files, weight blobs and input files, driven by a ``Pick``.

Every mutator takes a ``Pick`` (``pick.int(lo, hi)`` inclusive, ``pick.choice(seq)``)
and returns the mutated object plus a short description for the failure message. The
property tests drive it with hypothesis (``HypothesisPick``: shrinkable,
reproducible), fuzz/campaign.py with a seeded ``random.Random`` (``RandomPick``:
fast, many cases), so both search the same space.
"""

from __future__ import annotations

import math
import random
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

# ---------------------------------------------------------------- choosers


class RandomPick:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, seq):
        return seq[self.int(0, len(seq) - 1)]


class HypothesisPick:
    def __init__(self, data):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))

    def choice(self, seq):
        return seq[self.int(0, len(seq) - 1)]


# Values that break size arithmetic, sign assumptions and float-to-int conversion.
EDGE_INTS = [0, 1, -1, 2, 3, 7, 63, 64, 65, 255, 2**15, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
             2**62, 2**63 - 1, -(2**31), -(2**63)]  # fmt: skip
EDGE_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-45, 3.4e38, -3.4e38, 1e30, -1.0]
EDGE_U32 = [0, 1, 12, 16, 63, 64, 65, 127, 128, 0x7FFFFFFF, 0x80000000, 0xFFFFFFC0, 0xFFFFFFFF]

# Names meant to escape a C comment, string literal or preprocessor line. A name that
# reaches the C unescaped makes the token PWNED visible to the compiler.
PWNED = "cnnc_pwned"
HOSTILE_NAMES = [
    f"a*/ int {PWNED}; /*",
    f"a*\\\n/ int {PWNED}; /*",  # backslash-newline splices "*" and "/"
    f"a*??/\n/ int {PWNED}; /*",  # ??/ is the trigraph for backslash
    f"a\n#define {PWNED} 1\n",
    f'a"\nint {PWNED};\n"',
    f"a\r\nint {PWNED};",
    "a\\",
    "a\x00b",
    "é€😀",
    "",
    " ",
    "../../../tmp/cnnc_escape",
    "a" * 3000,
    "%s%n%x",
    "a//b",
    "$(touch cnnc_pwned_shell)",
]
OP_TYPES = ["Conv", "Gemm", "Relu", "Add", "Mul", "MaxPool", "AveragePool", "Reshape",
            "Flatten", "Concat", "Softmax", "Sigmoid", "BatchNormalization", "Clip", "Where",
            "Less", "Transpose", "Identity", "LSTM", "Loop", "NoSuchOp", ""]  # fmt: skip
ELEM_TYPES = [99, -1, *TensorProto.DataType.values()]  # invalid ones first


# ---------------------------------------------------------------- bytes


def flip_bits(data: bytes, pick, max_flips: int = 8) -> tuple[bytes, str]:
    out = bytearray(data)
    bits = sorted({pick.int(0, len(out) * 8 - 1) for _ in range(pick.int(1, max_flips))})
    for bit in bits:
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out), f"flip bits {bits}"


def truncate(data: bytes, pick) -> tuple[bytes, str]:
    keep = pick.int(0, len(data) - 1)
    return data[:keep], f"truncate to {keep} of {len(data)} bytes"


def splice(data: bytes, other: bytes, pick) -> tuple[bytes, str]:
    """Replaces data[at:at+cut] by a chunk of other (or of data itself)."""
    src = pick.choice([data, other])
    start = pick.int(0, len(src) - 1)
    length = pick.int(0, min(256, len(src) - start))
    at = pick.int(0, len(data))
    cut = pick.int(0, min(256, len(data) - at))
    out = data[:at] + src[start : start + length] + data[at + cut :]
    return out, f"splice {length} bytes from offset {start} over [{at}, {at + cut})"


def overwrite(data: bytes, pick) -> tuple[bytes, str]:
    at = pick.int(0, len(data) - 1)
    value = pick.choice([0x00, 0xFF, 0x7F, 0x80, 0x01, pick.int(0, 255)])
    n = pick.int(1, 8)
    out = bytearray(data)
    out[at : at + n] = bytes([value]) * len(out[at : at + n])
    return bytes(out), f"overwrite {n} bytes at {at} with 0x{value:02x}"


def mutate_bytes(data: bytes, other: bytes, pick) -> tuple[bytes, str]:
    kind = pick.int(0, 3)
    if kind == 0:
        return flip_bits(data, pick)
    if kind == 1:
        return truncate(data, pick)
    if kind == 2:
        return splice(data, other, pick)
    return overwrite(data, pick)


# ---------------------------------------------------------------- weight blobs


def blob_total(blob: bytes) -> int:
    return struct.unpack_from("<I", blob, 20)[0]


def fix_crc(blob: bytes) -> bytes:
    """The blob with its CRC32 recomputed, so only checks deeper than the CRC can refuse it."""
    total = min(blob_total(blob), len(blob))
    crc = zlib.crc32(blob[12:total]) if total > 12 else 0
    return blob[:8] + struct.pack("<I", crc) + blob[12:]


def sections(blob: bytes) -> list[tuple[int, int, int]]:
    n = struct.unpack_from("<I", blob, 16)[0]
    return [struct.unpack_from("<3I", blob, 64 + 16 * i) for i in range(n)]


def payload_edit(blob: bytes, pick) -> tuple[bytes, str]:
    """Changes bytes inside one section's data and recomputes the CRC."""
    candidates = [(i, off, nb) for i, (off, nb, _) in enumerate(sections(blob)) if nb]
    i, off, nbytes = pick.choice(candidates)
    at = off + pick.int(0, nbytes - 1)
    n = pick.int(1, min(4, off + nbytes - at))
    out = bytearray(blob)
    for k in range(n):
        delta = pick.choice([0x01, 0x80, 0xFF, pick.int(1, 255)])
        out[at + k] ^= delta
    return fix_crc(bytes(out)), f"section {i}: change {n} bytes at {at}, CRC recomputed"


# blob v2 (compiler/backend/blob.py): a uint64 structure hash at byte 24, zeros from 32 to 64
HEADER_FIELDS = {"magic": 0, "version": 4, "header_bytes": 12, "n_sections": 16,
                 "total_bytes": 20, "structure_hash_lo": 24, "structure_hash_hi": 28,
                 "reserved": 32}  # fmt: skip


def header_edit(blob: bytes, pick) -> tuple[bytes, str]:
    """Sets one header or section-table field to an edge value and recomputes the CRC."""
    n = len(sections(blob))
    fields = [*HEADER_FIELDS.items(), ("reserved_last", 60)]
    for i in range(n):
        fields += [
            (f"section {i} offset", 64 + 16 * i),
            (f"section {i} bytes", 68 + 16 * i),
            (f"section {i} dtype", 72 + 16 * i),
            (f"section {i} reserved", 76 + 16 * i),
        ]
    name, at = pick.choice(fields)
    old = struct.unpack_from("<I", blob, at)[0]
    value = pick.choice([*EDGE_U32, len(blob), len(blob) - 64, old + 64, old - 64 & 0xFFFFFFFF,
                         old ^ 1, pick.int(0, 0xFFFFFFFF)])  # fmt: skip
    if value == old:
        value = old ^ 0x40
    out = blob[:at] + struct.pack("<I", value) + blob[at + 4 :]
    return fix_crc(out), f"{name} (offset {at}) {old} -> {value}, CRC recomputed"


def extend(blob: bytes, pick) -> tuple[bytes, str]:
    n = pick.choice([1, 4, 63, 64, 4096])
    return blob + bytes([pick.int(0, 255)]) * n, f"append {n} bytes past total_bytes"


# ---------------------------------------------------------------- ONNX, structured


def _all_value_infos(model: onnx.ModelProto):
    g = model.graph
    return [*g.input, *g.output, *g.value_info]


def rename_tensor(model: onnx.ModelProto, old: str, new: str) -> None:
    g = model.graph
    for node in g.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for v in [*_all_value_infos(model), *g.initializer]:
        if v.name == old:
            v.name = new


def edit_attribute(model, pick) -> str:
    nodes = [n for n in model.graph.node if n.attribute]
    node = pick.choice(nodes)
    attr = pick.choice(node.attribute)
    if attr.type == onnx.AttributeProto.INTS and attr.ints:
        k = pick.int(0, len(attr.ints) - 1)
        attr.ints[k] = pick.choice(EDGE_INTS)
        return f"{node.name}.{attr.name}[{k}] = {attr.ints[k]}"
    if attr.type == onnx.AttributeProto.INT:
        attr.i = pick.choice(EDGE_INTS)
        return f"{node.name}.{attr.name} = {attr.i}"
    if attr.type == onnx.AttributeProto.FLOAT:
        attr.f = pick.choice(EDGE_FLOATS)
        return f"{node.name}.{attr.name} = {attr.f}"
    if attr.type == onnx.AttributeProto.STRING:
        attr.s = pick.choice([b"VALID", b"SAME_UPPER", b"NOTSET", b"", b"\xff\xfe", b"x" * 100])
        return f"{node.name}.{attr.name} = {attr.s!r}"
    del attr.ints[:]
    return f"{node.name}.{attr.name} emptied"


def edit_dim(model, pick) -> str:
    values = [v for v in _all_value_infos(model) if v.type.tensor_type.shape.dim]
    inits = list(model.graph.initializer)
    if pick.int(0, 1) and inits:
        t = pick.choice(inits)
        k = pick.int(0, max(len(t.dims) - 1, 0))
        value = pick.choice([0, 1, 2, 3, 2**31, 2**40, -1])
        if t.dims:
            t.dims[k] = value
        else:
            t.dims.append(value)
        return f"initializer {t.name} dims[{k}] = {value}"
    v = pick.choice(values)
    dims = v.type.tensor_type.shape.dim
    k = pick.int(0, len(dims) - 1)
    value = pick.choice([0, 1, 2, 3, 9, 2**31, 2**33, -1, "N"])
    if isinstance(value, str):
        dims[k].dim_param = value
    else:
        dims[k].dim_value = value
    return f"{v.name} dim[{k}] = {value}"


def edit_dtype(model, pick) -> str:
    elem = pick.choice(ELEM_TYPES)
    if pick.int(0, 1):
        t = pick.choice(list(model.graph.initializer))
        t.data_type = elem
        return f"initializer {t.name} data_type = {elem}"
    v = pick.choice(_all_value_infos(model))
    v.type.tensor_type.elem_type = elem
    return f"{v.name} elem_type = {elem}"


def hostile_name(model, pick) -> str:
    name = pick.choice(HOSTILE_NAMES)
    g = model.graph
    where = pick.choice(["input", "output", "node", "tensor", "initializer", "model name"])
    if where == "input":
        rename_tensor(model, g.input[0].name, name)
    elif where == "output":
        rename_tensor(model, g.output[0].name, name)
    elif where == "node":
        pick.choice(g.node).name = name
    elif where == "tensor":
        rename_tensor(model, pick.choice(g.node).output[0], name)
    elif where == "initializer":
        rename_tensor(model, pick.choice(g.initializer).name, name)
    else:
        set_metadata(model, "cnnc.model", name)
    return f"{where} named {name[:60]!r}"


def set_metadata(model, key: str, value: str) -> None:
    for p in model.metadata_props:
        if p.key == key:
            p.value = value
            return
    entry = model.metadata_props.add()
    entry.key, entry.value = key, value


def edit_metadata(model, pick) -> str:
    key = pick.choice(["cnnc.model", "cnnc.norm_mean", "cnnc.norm_std", "cnnc.input_size",
                       "cnnc.classes"])  # fmt: skip
    value = pick.choice(["", "[", "[1, 2", "{}", "[NaN]", "[1e999]", '"x"', "null", "[[1]]",
                         "[0.0]", "[-1]", "a\nb", "1" * 400])  # fmt: skip
    set_metadata(model, key, value)
    return f"metadata {key} = {value[:40]!r}"


def edit_op_type(model, pick) -> str:
    node = pick.choice(model.graph.node)
    node.op_type = pick.choice(OP_TYPES)
    return f"{node.name}.op_type = {node.op_type!r}"


def edit_raw_data(model, pick) -> str:
    t = pick.choice(list(model.graph.initializer))
    if not t.raw_data:
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t), t.name))
    delta = pick.choice([-4, -1, 1, 3, 4, 64, -len(t.raw_data)])
    if delta < 0:
        t.raw_data = t.raw_data[: max(len(t.raw_data) + delta, 0)]
    else:
        t.raw_data = t.raw_data + bytes(delta)
    return f"initializer {t.name} raw_data {delta:+d} bytes"


def poison_values(model, pick) -> str:
    t = pick.choice([t for t in model.graph.initializer if t.data_type == TensorProto.FLOAT])
    arr = numpy_helper.to_array(t).copy()
    value = pick.choice([math.nan, math.inf, -math.inf, 3.4e38, -3.4e38, 1e-45, 0.0])
    flat = arr.reshape(-1)
    if flat.size == 0:
        return f"initializer {t.name} is empty"
    count = pick.choice([1, flat.size])
    flat[:count] = value
    t.CopyFrom(numpy_helper.from_array(arr.astype(np.float32), t.name))
    return f"initializer {t.name}: {count} values = {value}"


ONNX_EDITS = {
    "attribute": edit_attribute,
    "dim": edit_dim,
    "dtype": edit_dtype,
    "hostile_name": hostile_name,
    "metadata": edit_metadata,
    "op_type": edit_op_type,
    "raw_data": edit_raw_data,
    "poison": poison_values,
}


def mutate_onnx(model: onnx.ModelProto, pick, kinds=None) -> tuple[onnx.ModelProto, str]:
    """A copy of model with one to three structured edits."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    names = list(kinds or ONNX_EDITS)
    what = []
    for _ in range(pick.int(1, 3)):
        edit = pick.choice(names)
        try:
            what.append(ONNX_EDITS[edit](out, pick))
        except (ValueError, IndexError, TypeError, AttributeError):
            what.append(f"{edit} skipped (an earlier edit left nothing it applies to)")
    return out, "; ".join(what)


# ---------------------------------------------------------------- input / calibration files


def input_array(sample_shape: tuple[int, ...], pick) -> tuple[object, str]:
    """An array for an .npz 'x': right, wrong shape, wrong dtype, non-finite or empty."""
    c, h, w = sample_shape
    kind = pick.choice(["ok", "batch", "shape", "channels", "rank", "empty", "nan", "inf",
                        "int", "bool", "complex", "f64", "f16", "scalar", "huge"])  # fmt: skip
    rng = np.random.default_rng(pick.int(0, 2**16))
    n = pick.int(1, 3)
    shapes = {"ok": (n, c, h, w), "batch": (pick.int(1, 5), c, h, w),
              "shape": (n, c, h + pick.int(1, 3), w), "channels": (n, c + 2, h, w),
              "rank": (n * c * h * w,), "empty": (0, c, h, w), "scalar": ()}  # fmt: skip
    x = rng.standard_normal(shapes.get(kind, (n, c, h, w))).astype(np.float32)
    if kind == "nan":
        x.reshape(-1)[pick.int(0, x.size - 1)] = np.nan
    elif kind == "inf":
        x.reshape(-1)[:: pick.int(1, 7)] = pick.choice([np.inf, -np.inf])
    elif kind == "huge":  # overflows to inf on purpose (values > 1.13): no warning here
        with np.errstate(over="ignore"):
            x *= 3e38
    elif kind == "int":
        x = (x * 50).astype(np.int32)
    elif kind == "bool":
        x = x > 0
    elif kind == "complex":
        x = x.astype(np.complex64) + 1j
    elif kind == "f64":
        x = x.astype(np.float64)
    elif kind == "f16":
        x = x.astype(np.float16)
    return x, f"x {kind} {x.dtype} {list(np.shape(x))}"


def write_input_file(path, sample_shape, pick) -> str:
    """Writes path (named .npz) with a well-formed or broken content; returns what."""
    kind = pick.choice(["npz", "npz", "npz", "no_x", "npy", "empty", "text", "truncated",
                        "pickle", "extra_keys"])  # fmt: skip
    x, what = input_array(sample_shape, pick)
    if kind in ("npz", "extra_keys"):
        extra = {"y": np.zeros(3)} if kind == "extra_keys" else {}
        with open(path, "wb") as f:
            np.savez(f, x=x, **extra)
    elif kind == "no_x":
        with open(path, "wb") as f:
            np.savez(f, data=x)
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, x)
    elif kind == "empty":
        open(path, "wb").close()
    elif kind == "text":
        with open(path, "w") as f:
            f.write("x = [1, 2, 3]\n")
    elif kind == "truncated":
        with open(path, "wb") as f:
            np.savez(f, x=x)
        data = open(path, "rb").read()
        with open(path, "wb") as f:
            f.write(data[: pick.int(0, len(data) - 1)])
    else:  # an object array: np.load must refuse it without allow_pickle
        with open(path, "wb") as f:
            np.savez(f, x=np.array([x, "s"], dtype=object))
    return f"{kind}: {what}"
