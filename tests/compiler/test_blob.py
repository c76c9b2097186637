"""Weight blob: the Python writer/reader and the C reader agree on every failure mode
(corrupt byte -> CRC, truncation, wrong magic/version/model, misalignment), the C CRC32
equals zlib's, and --embed-weights holds exactly the bytes weights.bin would hold."""

import re
import struct
import zlib

import cnnc
import numpy as np
import pytest
import tiny_graphs
from cnnc.backend import blob
from cnnc.errors import BlobError, ModelError
from cnnc.host import cbuild

CDEF = """
typedef struct { uint32_t bytes; uint32_t dtype; int32_t lo, hi; } cnnc_blob_section_spec;
typedef struct {
    uint32_t n_sections;
    const cnnc_blob_section_spec *sections;
    uint64_t content_hash;
    uint64_t structure_hash;
    uint32_t flags;
} cnnc_blob_spec;
uint32_t cnnc_crc32(const uint8_t *data, size_t n);
uint32_t cnnc_adler32(const uint8_t *data, size_t n);
int cnnc_blob_open(const void *blob, size_t blob_bytes, const cnnc_blob_spec *spec,
                   const void **sections);
"""
ANY_CONTENT, LARGER_BUFFER = 1, 2
STRUCTURE = 0x0123456789ABCDEF
STATUS = blob.STATUS_BY_NAME


@pytest.fixture(scope="module")
def reader():
    kernels = cbuild.runtime_dir() / "kernels"
    return cbuild.load_shared(cbuild.build_shared([kernels / "blob.c", kernels / "crc32.c"]), CDEF)


def arrays(rng):
    return [
        rng.standard_normal((3, 5)).astype(np.float32),
        rng.integers(-128, 128, 17).astype(np.int8),
        rng.integers(-(2**31), 2**31 - 1, 7).astype(np.int32),
        rng.integers(0, 2**32, 65, dtype=np.uint64).astype(np.uint32),
    ]


def recrc(data: bytes | bytearray) -> bytes:
    """The blob with its CRC32 recomputed: a payload edit that passes the CRC."""
    data = bytes(data)
    return data[:8] + struct.pack("<I", zlib.crc32(data[12:])) + data[12:]


def c_open(reader, data: bytes, sizes, misalign: int = 0, *, arrs=None, ranges=None,
           structure=STRUCTURE, content=None, flags=0, blob_bytes=None):  # fmt: skip
    """Runs cnnc_blob_open on data copied to a 64-byte aligned (+misalign) buffer, with a
    spec of ``sizes`` (dtypes from ``arrs`` if given, value ranges ``ranges``) and the
    content hash of ``data`` itself unless ``content`` says otherwise."""
    ffi, lib = reader
    owner = ffi.new("uint8_t[]", len(data) + 128)
    base = owner + (-int(ffi.cast("uintptr_t", owner)) % 64) + misalign
    ffi.memmove(base, data, len(data))
    sections = ffi.new("const void *[]", max(len(sizes), 1))
    arrs = arrs if arrs is not None else arrays_like(sizes)
    ranges = ranges or [(-(2**31), 2**31 - 1)] * len(sizes)
    specs = ffi.new("cnnc_blob_section_spec[]", [
        (n, blob.dtype_code(a), lo, hi) for n, a, (lo, hi) in zip(sizes, arrs, ranges, strict=True)
    ] or [(0, 0, 0, 0)])  # fmt: skip
    if content is None:
        content = blob.content_hash(data) if len(data) >= 64 else 0
    spec = ffi.new("cnnc_blob_spec *", (len(sizes), specs, content, structure, flags))
    size = len(data) if blob_bytes is None else blob_bytes
    status = lib.cnnc_blob_open(base, size, spec, sections)
    offsets = [int(ffi.cast("uintptr_t", sections[i])) - int(ffi.cast("uintptr_t", base))
               for i in range(len(sizes))]  # fmt: skip
    return status, offsets


def arrays_like(sizes):
    """Placeholders whose dtypes match arrays(rng) for the first four sections."""
    dtypes = [np.float32, np.int8, np.int32, np.uint32]
    return [np.zeros(1, dtypes[i % 4]) for i in range(len(sizes))]


def test_roundtrip_python_and_c(rng, reader):
    arrs = arrays(rng)
    data = blob.write_blob(arrs, STRUCTURE)
    sections = blob.open_blob(data)
    for got, arr in zip(sections, arrs, strict=True):
        assert got == arr.tobytes()
    status, offsets = c_open(reader, data, [a.nbytes for a in arrs])
    assert status == 0
    assert all(o % 64 == 0 for o in offsets)
    for off, arr in zip(offsets, arrs, strict=True):
        assert data[off : off + arr.nbytes] == arr.tobytes()


def test_header_layout_is_the_documented_one(rng):
    data = blob.write_blob(arrays(rng), STRUCTURE)
    magic, version, crc, header_bytes, n, total = struct.unpack_from("<6I", data)
    assert data[:4] == b"CNWB" and magic == blob.MAGIC
    assert (version, header_bytes, n, total) == (2, 64, 4, len(data))
    assert crc == zlib.crc32(data[12:])
    assert len(data) % 64 == 0


@pytest.mark.parametrize("n", [0, 1, 3, 17, 64, 1000])
def test_c_crc32_equals_zlib(reader, rng, n):
    ffi, lib = reader
    data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    assert lib.cnnc_crc32(ffi.from_buffer("uint8_t[]", data), n) == zlib.crc32(data)


@pytest.mark.parametrize("where", ["n_sections", "table", "first-section", "last-byte", "pad"])
def test_corrupt_byte_is_a_crc_error(rng, reader, where):
    arrs = arrays(rng)
    data = bytearray(blob.write_blob(arrs, STRUCTURE))
    first = struct.unpack_from("<I", data, 64)[0]
    offset = {"n_sections": 16, "table": 70, "first-section": first + 3,
              "last-byte": len(data) - 1, "pad": first + arrs[0].nbytes + 1}[where]  # fmt: skip
    data[offset] ^= 0x10
    status, _ = c_open(reader, bytes(data), [a.nbytes for a in arrs])
    assert status == STATUS["crc"]
    with pytest.raises(BlobError, match="CRC32 mismatch"):
        blob.open_blob(bytes(data))


@pytest.mark.parametrize("keep", [0, 10, 63, 64, 100, -1])
def test_truncated_blob(rng, reader, keep):
    arrs = arrays(rng)
    data = blob.write_blob(arrs, STRUCTURE)
    cut = data[: keep if keep >= 0 else len(data) - 1]
    status, _ = c_open(reader, cut, [a.nbytes for a in arrs])
    assert status == STATUS["truncated"]
    with pytest.raises(BlobError, match="truncated"):
        blob.open_blob(cut)


def test_wrong_magic_and_version(rng, reader):
    arrs = arrays(rng)
    data = bytearray(blob.write_blob(arrs, STRUCTURE))
    sizes = [a.nbytes for a in arrs]
    bad_magic = b"XNWB" + bytes(data[4:])
    assert c_open(reader, bad_magic, sizes)[0] == STATUS["magic"]
    with pytest.raises(BlobError, match="not a cnnc weight blob"):
        blob.open_blob(bad_magic)
    data[4] = 3
    assert c_open(reader, bytes(data), sizes)[0] == STATUS["version"]
    with pytest.raises(BlobError, match="format version 3"):
        blob.open_blob(bytes(data))


def test_blob_of_another_model(rng, reader):
    arrs = arrays(rng)
    data = blob.write_blob(arrs, STRUCTURE)
    sizes = [a.nbytes for a in arrs]
    assert c_open(reader, data, sizes[:-1])[0] == STATUS["model"]
    assert c_open(reader, data, [*sizes[:-1], sizes[-1] + 4])[0] == STATUS["model"]
    with pytest.raises(BlobError, match="has 4 sections, the model reads 3"):
        blob.open_blob(data, sizes[:-1])
    with pytest.raises(BlobError, match="section 3 .* holds 260 bytes, the model reads 264"):
        blob.open_blob(data, [*sizes[:-1], sizes[-1] + 4])


def test_misaligned_blob(rng, reader):
    arrs = arrays(rng)
    data = blob.write_blob(arrs, STRUCTURE)
    assert c_open(reader, data, [a.nbytes for a in arrs], 4)[0] == STATUS["align"]


def test_embedded_weights_equal_the_file_bytes(rng, tmp_path):
    graph = tiny_graphs.small_net(rng)
    as_file = cnnc.compile(graph, tmp_path / "file")
    embedded = cnnc.compile(graph, tmp_path / "embed", embed_weights=True)
    model_c = (tmp_path / "embed" / "model.c").read_text()
    body = re.search(r"cnnc_model_weights\[\d+\] CNNC_ALIGN64 = \{(.*?)\};", model_c, re.S)
    array = bytes(int(v) for v in body.group(1).replace("\n", " ").split(",") if v.strip())
    assert array == (tmp_path / "file" / "weights.bin").read_bytes()
    assert not (tmp_path / "embed" / "weights.bin").exists()
    x = rng.standard_normal((2, 3, 9, 7)).astype(np.float32)
    np.testing.assert_array_equal(embedded.run(x), as_file.run(x))


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing"])
def test_damaged_weights_file_fails_init_with_a_clear_error(rng, tmp_path, damage):
    cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    path = tmp_path / "weights.bin"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[200] ^= 1
    else:
        data = data[:-64]
    path.write_bytes(bytes(data))
    if damage == "missing":
        path.unlink()
    message = {"flip": "returned 5: weight blob CRC32 mismatch",
               "truncate": "returned 2: weight blob is truncated",
               "missing": "incomplete cnnc output folder, missing weights.bin"}[damage]  # fmt: skip
    # a missing file is caught when the folder is loaded, damage when init reads the blob
    with pytest.raises(ModelError if damage == "missing" else BlobError, match=message):
        cnnc.load(tmp_path).run(rng.standard_normal((1, 3, 9, 7)).astype(np.float32))


# ---------------------------------------------------------------- format v2: binding, values


def test_c_adler32_equals_zlib(reader, rng):
    ffi, lib = reader
    for n in (0, 1, 17, 5553, 70000):  # 5552 is where zlib first reduces modulo 65521
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert lib.cnnc_adler32(ffi.from_buffer("uint8_t[]", data), n) == zlib.adler32(data), n


def test_blob_of_the_same_structure_with_other_weights(rng, reader):
    """Bound to the build: another blob of the same shape is CNNC_ERR_BLOB_MODEL, unless
    the spec asks for any content (OTA); a changed structure hash is refused even then."""
    arrs, other = arrays(rng), arrays(rng)
    sizes = [a.nbytes for a in arrs]
    mine, theirs = blob.write_blob(arrs, STRUCTURE), blob.write_blob(other, STRUCTURE)
    content = blob.content_hash(mine)
    assert c_open(reader, mine, sizes, content=content)[0] == 0
    assert c_open(reader, theirs, sizes, content=content)[0] == STATUS["model"]
    assert c_open(reader, theirs, sizes, content=content, flags=ANY_CONTENT)[0] == 0
    other_structure = blob.write_blob(other, STRUCTURE ^ 1)
    status = c_open(reader, other_structure, sizes, content=content, flags=ANY_CONTENT)[0]
    assert status == STATUS["model"]


def test_buffer_larger_than_the_blob(rng, reader):
    arrs = arrays(rng)
    data = blob.write_blob(arrs, STRUCTURE)
    sizes, padded = [a.nbytes for a in arrs], data + bytes(4096)
    assert c_open(reader, padded, sizes)[0] == STATUS["size"]
    assert c_open(reader, padded, sizes, flags=LARGER_BUFFER)[0] == 0
    with pytest.raises(BlobError, match="extra bytes"):
        blob.open_blob(padded)


S32_INDEX = 2  # arrays(rng)[2] is the int32 section


@pytest.mark.parametrize(
    "value, lo, hi",
    [(-(2**31), 0, 2**31 - 1), (-1, 0, 2**31 - 1), (31, -31, 30), (-32, -31, 30), (300, -31, 30)],
    ids=["mult_INT_MIN", "mult_negative", "shift_31", "shift_-32", "shift_300"],
)
def test_crc_valid_value_outside_the_kernel_contract(rng, reader, value, lo, hi):
    """A payload edit with a recomputed CRC: init checks every trusted value's range."""
    arrs = arrays(rng)
    arrs[S32_INDEX] = rng.integers(lo, hi, 7, endpoint=True).astype(np.int32)
    sizes = [a.nbytes for a in arrs]
    ranges = [(-(2**31), 2**31 - 1)] * 4
    ranges[S32_INDEX] = (lo, hi)
    data = blob.write_blob(arrs, STRUCTURE)
    assert c_open(reader, data, sizes, arrs=arrs, ranges=ranges, flags=ANY_CONTENT)[0] == 0
    offset = struct.unpack_from("<I", data, 64 + 16 * S32_INDEX)[0]
    edited = bytearray(data)
    struct.pack_into("<i", edited, offset + 4 * 5, value)
    status = c_open(reader, recrc(edited), sizes, arrs=arrs, ranges=ranges, flags=ANY_CONTENT)[0]
    assert status == STATUS["value"], f"element 5 = {value} in [{lo}, {hi}]: status {status}"


def test_int8_section_outside_its_range(rng, reader):
    arrs = arrays(rng)
    arrs[1] = rng.integers(-127, 128, 17).astype(np.int8)
    sizes, ranges = [a.nbytes for a in arrs], [(-(2**31), 2**31 - 1)] * 4
    ranges[1] = (-127, 127)
    data = bytearray(blob.write_blob(arrs, STRUCTURE))
    offset = struct.unpack_from("<I", data, 64 + 16)[0]
    data[offset + 16] = 0x80  # -128
    status = c_open(reader, recrc(data), sizes, arrs=arrs, ranges=ranges, flags=ANY_CONTENT)[0]
    assert status == STATUS["value"]


@pytest.mark.parametrize("edit", ["into_header", "into_table", "overlap", "reserved"])
def test_crc_valid_section_table_edits(rng, reader, edit):
    """Offsets into the header or table, overlapping sections and non-zero reserved
    fields are refused (CNNC_ERR_BLOB_VALUE) by C and Python alike."""
    arrs = arrays(rng)
    sizes = [a.nbytes for a in arrs]
    data = bytearray(blob.write_blob(arrs, STRUCTURE))
    entry = 64 + 16 * 1  # section 1
    first = struct.unpack_from("<I", data, 64)[0]
    if edit == "into_header":
        struct.pack_into("<I", data, entry, 0)
    elif edit == "into_table":
        struct.pack_into("<I", data, entry, 64)
    elif edit == "overlap":
        struct.pack_into("<I", data, entry, first)  # section 0's bytes
    else:
        struct.pack_into("<I", data, entry + 12, 1)
    edited = recrc(data)
    assert c_open(reader, edited, sizes, flags=ANY_CONTENT)[0] == STATUS["value"]
    with pytest.raises(BlobError, match="overlaps"):
        blob.open_blob(edited)


def test_reserved_header_bytes_must_be_zero(rng, reader):
    arrs = arrays(rng)
    data = bytearray(blob.write_blob(arrs, STRUCTURE))
    data[40] = 1
    status = c_open(reader, recrc(data), [a.nbytes for a in arrs], flags=ANY_CONTENT)[0]
    assert status == STATUS["version"]
    with pytest.raises(BlobError, match="reserved"):
        blob.open_blob(recrc(data))


# ---------------------------------------------------------------- a whole generated model


def int8_model(rng, out, seed_shift=0.0):
    from cnnc.passes import quantize

    graph = tiny_graphs.small_net(np.random.default_rng(7))
    calibration = rng.standard_normal((16, 3, 9, 7)).astype(np.float32) + seed_shift
    return cnnc.api.write_output(quantize.quantize(graph, calibration), out)


def open_with(out, blob_bytes: bytes, extra_cflags=()):
    """(ffi, lib, ctx, status of init) for the folder's C built with extra flags."""
    from cnnc.host import harness

    model_h = (out / "model.h").read_text()
    includes = [out, out / "cnnc_runtime" / "include"]
    flags = [*harness.HOST_CFLAGS, *extra_cflags]
    ffi, lib = cbuild.load_shared(
        cbuild.build_shared(harness.sources(out), includes, flags), harness.cdef_for(model_h)
    )
    owner, ptr = harness.aligned(ffi, len(blob_bytes))
    ffi.memmove(ptr, blob_bytes, len(blob_bytes))
    ctx = ffi.new("cnnc_model_ctx *")
    status = lib.cnnc_model_init(ctx, ptr, len(blob_bytes))
    return ffi, lib, ctx, status, (owner, ptr)


def test_model_refuses_a_blob_of_other_calibration_unless_built_for_ota(rng, tmp_path):
    """Same architecture, other calibration: init says CNNC_ERR_BLOB_MODEL (the structure
    hash covers the activation quantisation model.c bakes in, so even the OTA build
    refuses it); a blob with other weights but the same structure passes only with
    -DCNNC_MODEL_ANY_WEIGHTS."""
    a = int8_model(rng, tmp_path / "a")
    int8_model(rng, tmp_path / "b", seed_shift=0.5)
    blob_b = (tmp_path / "b" / "weights.bin").read_bytes()
    assert open_with(a.out_dir, blob_b)[3] == STATUS["model"]
    assert open_with(a.out_dir, blob_b, ["-DCNNC_MODEL_ANY_WEIGHTS"])[3] == STATUS["model"]
    # same structure, other weight bytes: flip one int8 weight by one inside its range
    mine = bytearray((tmp_path / "a" / "weights.bin").read_bytes())
    offset = struct.unpack_from("<I", mine, 64)[0]
    mine[offset] = (mine[offset] + (1 if mine[offset] != 127 else -1)) % 256
    assert open_with(a.out_dir, recrc(mine))[3] == STATUS["model"]
    assert open_with(a.out_dir, recrc(mine), ["-DCNNC_MODEL_ANY_WEIGHTS"])[3] == 0


def test_model_refuses_a_crc_valid_shift_out_of_range(rng, tmp_path):
    m = int8_model(rng, tmp_path)
    shift_name = next(n.inputs[4] for n in m.graph.nodes if n.op.startswith("s8_")
                      and len(n.inputs) >= 5)  # fmt: skip
    plan = cnnc.backend.planner.plan(m.graph)
    index = [s.key for s in cnnc.backend.codegen.generate(m.graph, plan).sections]
    data = bytearray((tmp_path / "weights.bin").read_bytes())
    offset = struct.unpack_from("<I", data, 64 + 16 * index.index(shift_name))[0]
    struct.pack_into("<i", data, offset, 40)
    status = open_with(tmp_path, recrc(data), ["-DCNNC_MODEL_ANY_WEIGHTS"])[3]
    assert status == STATUS["value"]


def test_check_blob_and_reset(rng, tmp_path):
    """cnnc_model_check_blob re-verifies the flash after init; reset makes every entry
    point return CNNC_ERR_NOT_INIT."""
    cnnc.compile(tiny_graphs.small_net(rng), tmp_path)
    data = (tmp_path / "weights.bin").read_bytes()
    ffi, lib, ctx, status, (owner, ptr) = open_with(tmp_path, data)
    assert status == 0 and lib.cnnc_model_check_blob(ctx) == 0
    ptr[len(data) - 1] ^= 1  # a bit rots in flash
    assert lib.cnnc_model_check_blob(ctx) == STATUS["crc"]
    ptr[len(data) - 1] ^= 1
    assert lib.cnnc_model_check_blob(ctx) == 0
    assert lib.cnnc_model_reset(ctx) == 0
    assert lib.cnnc_model_check_blob(ctx) == STATUS["not_init"]
    arena_owner, arena = cnnc.host.harness.aligned(ffi, 1 << 16)
    x, y = ffi.new("float[]", 3 * 9 * 7), ffi.new("float[]", 5)
    assert lib.cnnc_model_run(ctx, x, y, arena, 1 << 16) == STATUS["not_init"]
    assert lib.cnnc_model_reset(ffi.NULL) == STATUS["null_arg"]
