/* cnnc weight blob (weights.bin): the C reader of the format compiler/backend/blob.py writes.
 * Functions mirror compiler/backend/blob.py one for one (check_header, read_table, open).
 *
 * Layout, all integers little-endian uint32:
 *   [0, 64)    header: magic "CNWB" | version | crc32 | header_bytes (64) |
 *              n_sections | total_bytes | 40 reserved zero bytes
 *   [64, ...)  section table: n_sections entries of
 *              offset | bytes | dtype (cnnc_blob_dtype) | reserved (0)
 *   sections   each at an offset that is a multiple of 64, zero padding between.
 * crc32 (IEEE 802.3, as zlib.crc32) covers bytes [12, total_bytes): everything after
 * the crc field, so a flipped bit anywhere past the version is caught. */
#ifndef CNNC_BLOB_H
#define CNNC_BLOB_H

#include "cnnc.h"

#define CNNC_BLOB_MAGIC 0x42574E43u /* bytes "CNWB" */
#define CNNC_BLOB_VERSION 1u
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

/* CRC-32 (polynomial 0xEDB88320, init and final xor 0xFFFFFFFF) of data[n]. */
uint32_t cnnc_crc32(const uint8_t *data, size_t n);

/* Validates the header of blob[blob_bytes]: size, magic, version, CRC, 64-byte base
 * alignment. On CNNC_OK stores the section count. */
int cnnc_blob_check_header(const uint8_t *blob, size_t blob_bytes, uint32_t *n_sections);

/* Reads the section table of a checked blob into sections[n_expected] (pointers into
 * the blob), requiring exactly n_expected sections of expected_bytes[i] bytes each. */
int cnnc_blob_read_table(const uint8_t *blob, uint32_t n_expected, const uint32_t *expected_bytes,
                         const void **sections);

/* check_header then read_table: the one call a generated model's init makes. */
int cnnc_blob_open(const void *blob, size_t blob_bytes, uint32_t n_expected,
                   const uint32_t *expected_bytes, const void **sections);

#endif /* CNNC_BLOB_H */
