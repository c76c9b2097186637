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
from cnnc.errors import BlobError
from cnnc.host import cbuild

CDEF = """
uint32_t cnnc_crc32(const uint8_t *data, size_t n);
int cnnc_blob_open(const void *blob, size_t blob_bytes, uint32_t n_expected,
                   const uint32_t *expected_bytes, const void **sections);
"""
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


def c_open(reader, data: bytes, sizes, misalign: int = 0):
    """Runs cnnc_blob_open on data copied to a 64-byte aligned (+misalign) buffer."""
    ffi, lib = reader
    owner = ffi.new("uint8_t[]", len(data) + 128)
    base = owner + (-int(ffi.cast("uintptr_t", owner)) % 64) + misalign
    ffi.memmove(base, data, len(data))
    sections = ffi.new("const void *[]", max(len(sizes), 1))
    expected = ffi.new("uint32_t[]", list(sizes) or [0])
    status = lib.cnnc_blob_open(base, len(data), len(sizes), expected, sections)
    offsets = [int(ffi.cast("uintptr_t", sections[i])) - int(ffi.cast("uintptr_t", base))
               for i in range(len(sizes))]  # fmt: skip
    return status, offsets


def test_roundtrip_python_and_c(rng, reader):
    arrs = arrays(rng)
    data = blob.write_blob(arrs)
    sections = blob.open_blob(data)
    for got, arr in zip(sections, arrs, strict=True):
        assert got == arr.tobytes()
    status, offsets = c_open(reader, data, [a.nbytes for a in arrs])
    assert status == 0
    assert all(o % 64 == 0 for o in offsets)
    for off, arr in zip(offsets, arrs, strict=True):
        assert data[off : off + arr.nbytes] == arr.tobytes()


def test_header_layout_is_the_documented_one(rng):
    data = blob.write_blob(arrays(rng))
    magic, version, crc, header_bytes, n, total = struct.unpack_from("<6I", data)
    assert data[:4] == b"CNWB" and magic == blob.MAGIC
    assert (version, header_bytes, n, total) == (1, 64, 4, len(data))
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
    data = bytearray(blob.write_blob(arrs))
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
    data = blob.write_blob(arrs)
    cut = data[: keep if keep >= 0 else len(data) - 1]
    status, _ = c_open(reader, cut, [a.nbytes for a in arrs])
    assert status == STATUS["truncated"]
    with pytest.raises(BlobError, match="truncated"):
        blob.open_blob(cut)


def test_wrong_magic_and_version(rng, reader):
    arrs = arrays(rng)
    data = bytearray(blob.write_blob(arrs))
    sizes = [a.nbytes for a in arrs]
    bad_magic = b"XNWB" + bytes(data[4:])
    assert c_open(reader, bad_magic, sizes)[0] == STATUS["magic"]
    with pytest.raises(BlobError, match="not a cnnc weight blob"):
        blob.open_blob(bad_magic)
    data[4] = 2
    assert c_open(reader, bytes(data), sizes)[0] == STATUS["version"]
    with pytest.raises(BlobError, match="format version 2"):
        blob.open_blob(bytes(data))


def test_blob_of_another_model(rng, reader):
    arrs = arrays(rng)
    data = blob.write_blob(arrs)
    sizes = [a.nbytes for a in arrs]
    assert c_open(reader, data, sizes[:-1])[0] == STATUS["model"]
    assert c_open(reader, data, [*sizes[:-1], sizes[-1] + 4])[0] == STATUS["model"]
    with pytest.raises(BlobError, match="has 4 sections, the model reads 3"):
        blob.open_blob(data, sizes[:-1])
    with pytest.raises(BlobError, match="section 3 .* holds 260 bytes, the model reads 264"):
        blob.open_blob(data, [*sizes[:-1], sizes[-1] + 4])


def test_misaligned_blob(rng, reader):
    arrs = arrays(rng)
    assert c_open(reader, blob.write_blob(arrs), [a.nbytes for a in arrs], 4)[0] == STATUS["align"]


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
               "missing": "weights.bin is missing"}[damage]  # fmt: skip
    with pytest.raises(BlobError, match=message):
        cnnc.load(tmp_path).run(rng.standard_normal((1, 3, 9, 7)).astype(np.float32))
