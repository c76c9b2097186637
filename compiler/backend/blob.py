"""The weight blob (weights.bin): writer, and a reader mirroring the C one.

Format version 2. Layout (little-endian; the C reader is runtime_c/kernels/blob.c and
the layout comment in runtime_c/include/cnnc_blob.h is the same as this one):

    [0, 64)     header: magic "CNWB" | version (2) | crc32 | header_bytes (64) |
                n_sections | total_bytes | structure_hash (uint64 at byte 24) |
                32 reserved zero bytes
    [64, ...)   section table: per section offset | bytes | dtype | reserved (0)
    sections    each at a multiple of 64 bytes, after the table, in table order, not
                overlapping; zero padding in between

crc32 is zlib.crc32 over bytes [12, total_bytes), i.e. everything after the crc
field. A model binds its blob two ways (see cnnc_blob.h): model.c records
``content_hash`` (Adler-32 << 32 | CRC-32 of bytes [12, total_bytes)) and
``structure_hash`` (also stored in the header). Functions pair with the C ones:
``check_header`` ↔ ``cnnc_blob_check_header``, ``read_table`` ↔ ``cnnc_blob_read_table``,
``open_blob`` ↔ ``cnnc_blob_open``, ``content_hash`` ↔ ``cnnc_blob_content_hash``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import BlobError

MAGIC = 0x42574E43  # bytes b"CNWB"
VERSION = 2
HEADER_BYTES = 64
ENTRY_BYTES = 16
ALIGN = 64
RESERVED_FROM = 32  # header bytes [32, 64) are zero

# numpy dtype -> cnnc_blob_dtype (cnnc_blob.h)
DTYPE_CODES = {"float32": 1, "int8": 2, "int32": 3, "uint8": 4, "uint32": 5}

# cnnc_status codes (cnnc.h) and what a user should read for each.
STATUS_MESSAGES = {
    0: "ok",
    1: "a required pointer is NULL",
    2: "weight blob is truncated (shorter than its header or section table says)",
    3: "not a cnnc weight blob (bad magic number)",
    4: "weight blob has a format version this runtime does not read",
    5: "weight blob CRC32 mismatch: the file is corrupt",
    6: "weight blob was written for another model or build (structure or content hash, "
    "or section table differs)",
    7: "weight blob or one of its sections is not aligned to 64 bytes",
    8: "arena pointer is NULL, not aligned to 64 bytes, or smaller than CNNC_MODEL_ARENA_BYTES",
    9: "context is not initialised (init failed or was not called, or it was reset)",
    10: "weight blob holds a value out of the range the kernels accept, or a bad section offset",
    11: "weight blob buffer is larger than the blob (define CNNC_MODEL_BLOB_IN_PARTITION)",
}
STATUS_BY_NAME = {
    "null_arg": 1,
    "truncated": 2,
    "magic": 3,
    "version": 4,
    "crc": 5,
    "model": 6,
    "align": 7,
    "arena": 8,
    "not_init": 9,
    "value": 10,
    "size": 11,
}


@dataclass
class Section:
    offset: int  # bytes from the blob start, a multiple of ALIGN
    nbytes: int
    dtype: int  # DTYPE_CODES value


def align_up(n: int, to: int = ALIGN) -> int:
    return (n + to - 1) // to * to


def content_hash(blob: bytes) -> int:
    """What model.c records to bind this exact blob: Adler-32 << 32 | CRC-32 of bytes
    [12, total). Two independent 32-bit checksums (the CRC is the stored one), cheap on
    a microcontroller; they catch another build's blob, not a forger."""
    total = struct.unpack_from("<I", blob, 20)[0]
    body = bytes(blob[12:total])
    return zlib.adler32(body) << 32 | zlib.crc32(body)


def section_bytes(array: np.ndarray) -> bytes:
    """The bytes stored for one constant: C order, little-endian."""
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array.tobytes()


def dtype_code(array: np.ndarray) -> int:
    code = DTYPE_CODES.get(str(array.dtype))
    if code is None:
        raise BlobError(f"cannot store a {array.dtype} constant in a weight blob")
    return code


def write_blob(arrays: list[np.ndarray], structure_hash: int = 0) -> bytes:
    """Packs the arrays, in order, into one blob (the section index is the list index)."""
    table_end = HEADER_BYTES + ENTRY_BYTES * len(arrays)
    offset = align_up(table_end)
    sections, payload = [], bytearray()
    for array in arrays:
        data = section_bytes(array)
        sections.append(Section(offset, len(data), dtype_code(array)))
        payload += data + bytes(align_up(len(data)) - len(data))
        offset += align_up(len(data))
    total = align_up(table_end) + len(payload)
    if total >= 2**31:
        raise BlobError(f"weight blob of {total} bytes: cnnc stores at most 2**31 - 1")
    table = b"".join(struct.pack("<4I", s.offset, s.nbytes, s.dtype, 0) for s in sections)
    body = struct.pack("<3IQ", HEADER_BYTES, len(arrays), total, structure_hash)
    body += bytes(HEADER_BYTES - 12 - len(body))
    body += table + bytes(align_up(table_end) - table_end) + payload
    crc = zlib.crc32(body)
    return struct.pack("<3I", MAGIC, VERSION, crc) + body


def check_header(blob: bytes, larger_buffer: bool = False) -> int:
    """Validates size, magic, version, CRC and reserved bytes; returns the section count."""
    if len(blob) < HEADER_BYTES:
        raise BlobError(f"weight blob truncated: {len(blob)} bytes, header needs {HEADER_BYTES}")
    magic, version, crc, header_bytes, n, total = struct.unpack_from("<6I", blob, 0)
    if magic != MAGIC:
        raise BlobError(f"not a cnnc weight blob: magic 0x{magic:08x} at offset 0")
    if version != VERSION or header_bytes != HEADER_BYTES:
        raise BlobError(f"weight blob format version {version}, this cnnc reads {VERSION}")
    if total > len(blob) or total < HEADER_BYTES:
        raise BlobError(f"weight blob truncated: header says {total} bytes, file has {len(blob)}")
    if total < len(blob) and not larger_buffer:
        raise BlobError(f"weight blob holds {total} bytes, the buffer {len(blob)}: extra bytes")
    actual = zlib.crc32(blob[12:total])
    if actual != crc:
        raise BlobError(
            f"weight blob CRC32 mismatch (stored 0x{crc:08x}, computed 0x{actual:08x}): corrupt"
        )
    if any(blob[RESERVED_FROM:HEADER_BYTES]):
        raise BlobError("weight blob header has non-zero reserved bytes: a newer format")
    if n > (total - HEADER_BYTES) // ENTRY_BYTES:
        raise BlobError(f"weight blob truncated: {n} sections do not fit in {total} bytes")
    return n


def read_table(blob: bytes, n: int, expected_bytes: list[int] | None = None) -> list[Section]:
    """Reads the section table of a checked blob; with ``expected_bytes`` (as the C init
    does) requires exactly those sections, in that order, for this model."""
    total = struct.unpack_from("<I", blob, 20)[0]
    if expected_bytes is not None and n != len(expected_bytes):
        raise BlobError(f"weight blob has {n} sections, the model reads {len(expected_bytes)}")
    sections, end = [], align_up(HEADER_BYTES + ENTRY_BYTES * n)
    for i in range(n):
        offset, nbytes, dtype, reserved = struct.unpack_from(
            "<4I", blob, HEADER_BYTES + ENTRY_BYTES * i
        )
        where = f"section {i} (table offset {HEADER_BYTES + ENTRY_BYTES * i})"
        if offset % ALIGN:
            raise BlobError(f"weight blob {where} at offset {offset} is not 64-byte aligned")
        if offset > total or nbytes > total - offset:
            raise BlobError(f"weight blob {where} runs past the end ({offset}+{nbytes} > {total})")
        if offset < end or reserved:
            raise BlobError(f"weight blob {where} at offset {offset} overlaps the table or section")
        if expected_bytes is not None and nbytes != expected_bytes[i]:
            raise BlobError(
                f"weight blob {where} holds {nbytes} bytes, the model reads {expected_bytes[i]}"
            )
        sections.append(Section(offset, nbytes, dtype))
        end = offset + nbytes
    return sections


def open_blob(blob: bytes, expected_bytes: list[int] | None = None) -> list[bytes]:
    """check_header then read_table; returns each section's bytes."""
    sections = read_table(blob, check_header(blob), expected_bytes)
    return [bytes(blob[s.offset : s.offset + s.nbytes]) for s in sections]


def c_array(blob: bytes, name: str = "cnnc_model_weights") -> str:
    """The blob as a const C array definition (``--embed-weights``), 64-byte aligned."""
    rows = (
        "    " + ", ".join(str(b) for b in blob[i : i + 24]) + "," for i in range(0, len(blob), 24)
    )
    return (
        "#if defined(__GNUC__) || defined(__clang__)\n"
        "#define CNNC_ALIGN64 __attribute__((aligned(64)))\n"
        "#else\n"
        "#define CNNC_ALIGN64 /* init reports CNNC_ERR_BLOB_ALIGN if misaligned */\n"
        "#endif\n\n"
        f"const uint8_t {name}[{len(blob)}] CNNC_ALIGN64 = {{\n" + "\n".join(rows) + "\n};\n"
        f"const size_t {name}_bytes = {len(blob)};\n"
    )
