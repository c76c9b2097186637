/* cnnc weight blob (weights.bin): the C reader of the format compiler/blob.py writes.
 * Functions mirror compiler/blob.py one for one (check_header, read_table, open).
 *
 * Format version 2. Layout, all integers little-endian:
 *   [0, 64)    header: magic "CNWB" | version (2) | crc32 | header_bytes (64) |
 *              n_sections | total_bytes | structure_hash (uint64, at byte 24) |
 *              32 reserved zero bytes
 *   [64, ...)  section table: n_sections entries of
 *              offset | bytes | dtype (cnnc_blob_dtype) | reserved (0)
 *   sections   each at an offset that is a multiple of 64, after the table, in table
 *              order, not overlapping, zero padding between.
 * crc32 (IEEE 802.3, as zlib.crc32) covers bytes [12, total_bytes): everything after
 * the crc field, so a flipped bit anywhere past the version is caught.
 *
 * Binding to the build (cnnc_blob_spec, written into model.c by the compiler):
 *   content_hash    Adler-32 << 32 | CRC-32 of bytes [12, total_bytes) (zlib's adler32
 *                   and crc32): the exact blob this model was compiled with.
 *   structure_hash  the first 8 bytes (little-endian) of SHA-256 over model.c's code with
 *                   comments removed (every layer's kernel, parameter struct, shapes,
 *                   precisions, quantisation parameters, arena offsets) and each section's
 *                   size, dtype and value range. Stored in the header; it must match even
 *                   with CNNC_BLOB_ANY_CONTENT.
 * These hashes detect the wrong blob, not an attacker: neither is a signature. */
#ifndef CNNC_BLOB_H
#define CNNC_BLOB_H

#include "cnnc.h"

#define CNNC_BLOB_MAGIC 0x42574E43u /* bytes "CNWB" */
#define CNNC_BLOB_VERSION 2u
#define CNNC_BLOB_HEADER_BYTES 64u
#define CNNC_BLOB_ENTRY_BYTES 16u
#define CNNC_BLOB_ALIGN 64u

typedef enum {
    CNNC_BLOB_F32 = 1,
    CNNC_BLOB_S8 = 2,
    CNNC_BLOB_S32 = 3,
    CNNC_BLOB_U8 = 4,
    CNNC_BLOB_U32 = 5
} cnnc_blob_dtype;

/* cnnc_blob_spec.flags */
#define CNNC_BLOB_ANY_CONTENT 1u   /* skip content_hash (other weights, same structure: OTA) */
#define CNNC_BLOB_LARGER_BUFFER 2u /* blob_bytes may exceed total_bytes (a flash partition) */

/* What model.c expects of one section. Every element of an S8 or S32 section must lie in
 * [lo, hi]: the values kernels trust without checking (requantisation multipliers in
 * [0, 2^31-1], shifts in [-31, 30], weights in their symmetric range). */
typedef struct {
    uint32_t bytes; /* exact size */
    uint32_t dtype; /* cnnc_blob_dtype */
    int32_t lo, hi; /* element range (S8, S32 only) */
} cnnc_blob_section_spec;

typedef struct {
    uint32_t n_sections;
    const cnnc_blob_section_spec *sections; /* [n_sections] */
    uint64_t content_hash;                  /* cnnc_blob_content_hash of the blob */
    uint64_t structure_hash;                /* must equal the header's */
    uint32_t flags;                         /* CNNC_BLOB_ANY_CONTENT | CNNC_BLOB_LARGER_BUFFER */
} cnnc_blob_spec;

/* CRC-32 (polynomial 0xEDB88320, init and final xor 0xFFFFFFFF) of data[n]. */
uint32_t cnnc_crc32(const uint8_t *data, size_t n);

/* Adler-32 (zlib.adler32) of data[n]. */
uint32_t cnnc_adler32(const uint8_t *data, size_t n);

/* Adler-32 << 32 | CRC-32 of bytes [12, total_bytes) of a blob whose header was checked. */
uint64_t cnnc_blob_content_hash(const uint8_t *blob);

/* Validates the header of blob[blob_bytes]: size (exactly total_bytes unless
 * CNNC_BLOB_LARGER_BUFFER), magic, version, CRC, reserved bytes, 64-byte base alignment.
 * On CNNC_OK stores the section count. */
int cnnc_blob_check_header(const uint8_t *blob, size_t blob_bytes, uint32_t flags,
                           uint32_t *n_sections);

/* Reads the section table of a checked blob against spec (count, sizes, dtypes, offsets
 * after the table, in order, inside the blob, aligned; element ranges) and, when sections
 * is not NULL, stores pointers to the n sections. */
int cnnc_blob_read_table(const uint8_t *blob, const cnnc_blob_spec *spec, const void **sections);

/* check_header, structure hash, read_table, then content hash (unless ANY_CONTENT): the
 * one call a generated model's init makes, and its cnnc_model_check_blob (sections NULL).
 * Returns CNNC_OK or the first failing cnnc_status. */
int cnnc_blob_open(const void *blob, size_t blob_bytes, const cnnc_blob_spec *spec,
                   const void **sections);

#endif /* CNNC_BLOB_H */
