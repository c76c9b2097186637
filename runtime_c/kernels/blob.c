/* Weight blob reader; mirrors compiler/backend/blob.py. Layout in cnnc_blob.h. */
#include "cnnc_blob.h"

/* Little-endian read that needs no alignment and works on any host byte order. */
static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int cnnc_blob_check_header(const uint8_t *blob, size_t blob_bytes, uint32_t *n_sections) {
    uint32_t total, n;
    if (blob == NULL || n_sections == NULL) return CNNC_ERR_NULL_ARG;
    if (blob_bytes < CNNC_BLOB_HEADER_BYTES) return CNNC_ERR_BLOB_TRUNCATED;
    if (read_u32(blob) != CNNC_BLOB_MAGIC) return CNNC_ERR_BLOB_MAGIC;
    if (read_u32(blob + 4) != CNNC_BLOB_VERSION) return CNNC_ERR_BLOB_VERSION;
    if (read_u32(blob + 12) != CNNC_BLOB_HEADER_BYTES) return CNNC_ERR_BLOB_VERSION;
    n = read_u32(blob + 16);
    total = read_u32(blob + 20);
    if (total > blob_bytes || total < CNNC_BLOB_HEADER_BYTES) return CNNC_ERR_BLOB_TRUNCATED;
    if (cnnc_crc32(blob + 12, total - 12) != read_u32(blob + 8)) return CNNC_ERR_BLOB_CRC;
    if (n > (total - CNNC_BLOB_HEADER_BYTES) / CNNC_BLOB_ENTRY_BYTES) {
        return CNNC_ERR_BLOB_TRUNCATED; /* CRC holds, yet the table does not fit */
    }
    if ((uintptr_t)blob % CNNC_BLOB_ALIGN != 0) return CNNC_ERR_BLOB_ALIGN;
    *n_sections = n;
    return CNNC_OK;
}

int cnnc_blob_read_table(const uint8_t *blob, uint32_t n_expected, const uint32_t *expected_bytes,
                         const void **sections) {
    const uint32_t total = read_u32(blob + 20);
    uint32_t i;
    if (read_u32(blob + 16) != n_expected) return CNNC_ERR_BLOB_MODEL;
    for (i = 0; i < n_expected; ++i) {
        const uint8_t *entry = blob + CNNC_BLOB_HEADER_BYTES + (size_t)i * CNNC_BLOB_ENTRY_BYTES;
        const uint32_t offset = read_u32(entry), bytes = read_u32(entry + 4);
        if (offset % CNNC_BLOB_ALIGN != 0) return CNNC_ERR_BLOB_ALIGN;
        if (offset > total || bytes > total - offset) return CNNC_ERR_BLOB_TRUNCATED;
        if (bytes != expected_bytes[i]) return CNNC_ERR_BLOB_MODEL;
        sections[i] = blob + offset;
    }
    return CNNC_OK;
}

int cnnc_blob_open(const void *blob, size_t blob_bytes, uint32_t n_expected,
                   const uint32_t *expected_bytes, const void **sections) {
    uint32_t n = 0;
    int status = cnnc_blob_check_header((const uint8_t *)blob, blob_bytes, &n);
    if (status != CNNC_OK) return status;
    return cnnc_blob_read_table((const uint8_t *)blob, n_expected, expected_bytes, sections);
}
