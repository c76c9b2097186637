/* Weight blob reader; mirrors compiler/blob.py. Layout and checks in cnnc_blob.h. */
#include "cnnc_blob.h"

/* Little-endian reads that need no alignment and work on any host byte order. */
static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t read_u64(const uint8_t *p) {
    return (uint64_t)read_u32(p) | ((uint64_t)read_u32(p + 4) << 32);
}

static int32_t read_s32(const uint8_t *p) {
    const uint32_t u = read_u32(p);
    /* two's complement without an implementation-defined conversion */
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(0xFFFFFFFFu - u) - 1;
}

uint64_t cnnc_blob_content_hash(const uint8_t *blob) {
    const uint32_t total = read_u32(blob + 20);
    return (uint64_t)cnnc_adler32(blob + 12, total - 12) << 32 | read_u32(blob + 8);
}

int cnnc_blob_check_header(const uint8_t *blob, size_t blob_bytes, uint32_t flags,
                           uint32_t *n_sections) {
    uint32_t total, n, i;
    if (blob == NULL || n_sections == NULL) return CNNC_ERR_NULL_ARG;
    if (blob_bytes < CNNC_BLOB_HEADER_BYTES) return CNNC_ERR_BLOB_TRUNCATED;
    if (read_u32(blob) != CNNC_BLOB_MAGIC) return CNNC_ERR_BLOB_MAGIC;
    if (read_u32(blob + 4) != CNNC_BLOB_VERSION) return CNNC_ERR_BLOB_VERSION;
    if (read_u32(blob + 12) != CNNC_BLOB_HEADER_BYTES) return CNNC_ERR_BLOB_VERSION;
    n = read_u32(blob + 16);
    total = read_u32(blob + 20);
    if (total > blob_bytes || total < CNNC_BLOB_HEADER_BYTES) return CNNC_ERR_BLOB_TRUNCATED;
    if (total < blob_bytes && !(flags & CNNC_BLOB_LARGER_BUFFER)) return CNNC_ERR_BLOB_SIZE;
    if (cnnc_crc32(blob + 12, total - 12) != read_u32(blob + 8)) return CNNC_ERR_BLOB_CRC;
    for (i = 32; i < CNNC_BLOB_HEADER_BYTES; ++i) {
        if (blob[i] != 0) return CNNC_ERR_BLOB_VERSION; /* a field this reader does not know */
    }
    if (n > (total - CNNC_BLOB_HEADER_BYTES) / CNNC_BLOB_ENTRY_BYTES) {
        return CNNC_ERR_BLOB_TRUNCATED; /* CRC holds, yet the table does not fit */
    }
    if ((uintptr_t)blob % CNNC_BLOB_ALIGN != 0) return CNNC_ERR_BLOB_ALIGN;
    *n_sections = n;
    return CNNC_OK;
}

/* Every int8/int32 element of a section in [lo, hi]; other dtypes hold no trusted value. */
static int check_values(const uint8_t *data, const cnnc_blob_section_spec *s) {
    uint32_t i;
    if (s->dtype == CNNC_BLOB_S8) {
        for (i = 0; i < s->bytes; ++i) {
            const int32_t v = data[i] < 128 ? (int32_t)data[i] : (int32_t)data[i] - 256;
            if (v < s->lo || v > s->hi) return CNNC_ERR_BLOB_VALUE;
        }
    } else if (s->dtype == CNNC_BLOB_S32) {
        for (i = 0; i + 4 <= s->bytes; i += 4) {
            const int32_t v = read_s32(data + i);
            if (v < s->lo || v > s->hi) return CNNC_ERR_BLOB_VALUE;
        }
    }
    return CNNC_OK;
}

int cnnc_blob_read_table(const uint8_t *blob, const cnnc_blob_spec *spec, const void **sections) {
    const uint32_t total = read_u32(blob + 20), n = spec->n_sections;
    /* sections start after the table, rounded up to the alignment */
    uint32_t end = (CNNC_BLOB_HEADER_BYTES + n * CNNC_BLOB_ENTRY_BYTES + CNNC_BLOB_ALIGN - 1) /
                   CNNC_BLOB_ALIGN * CNNC_BLOB_ALIGN;
    uint32_t i;
    int status;
    if (read_u32(blob + 16) != n) return CNNC_ERR_BLOB_MODEL;
    for (i = 0; i < n; ++i) {
        const uint8_t *entry = blob + CNNC_BLOB_HEADER_BYTES + (size_t)i * CNNC_BLOB_ENTRY_BYTES;
        const uint32_t offset = read_u32(entry), bytes = read_u32(entry + 4);
        const cnnc_blob_section_spec *s = &spec->sections[i];
        if (offset % CNNC_BLOB_ALIGN != 0) return CNNC_ERR_BLOB_ALIGN;
        if (offset > total || bytes > total - offset) return CNNC_ERR_BLOB_TRUNCATED;
        if (offset < end) return CNNC_ERR_BLOB_VALUE; /* into the table or a previous section */
        if (read_u32(entry + 12) != 0) return CNNC_ERR_BLOB_VALUE;
        if (bytes != s->bytes || read_u32(entry + 8) != s->dtype) return CNNC_ERR_BLOB_MODEL;
        status = check_values(blob + offset, s);
        if (status != CNNC_OK) return status;
        if (sections != NULL) sections[i] = blob + offset;
        end = offset + bytes;
    }
    return CNNC_OK;
}

int cnnc_blob_open(const void *blob, size_t blob_bytes, const cnnc_blob_spec *spec,
                   const void **sections) {
    const uint8_t *b = (const uint8_t *)blob;
    uint32_t n = 0;
    int status;
    if (spec == NULL) return CNNC_ERR_NULL_ARG;
    status = cnnc_blob_check_header(b, blob_bytes, spec->flags, &n);
    if (status != CNNC_OK) return status;
    if (read_u64(b + 24) != spec->structure_hash) return CNNC_ERR_BLOB_MODEL;
    status = cnnc_blob_read_table(b, spec, sections);
    if (status != CNNC_OK) return status;
    if (!(spec->flags & CNNC_BLOB_ANY_CONTENT) && cnnc_blob_content_hash(b) != spec->content_hash) {
        return CNNC_ERR_BLOB_MODEL; /* same structure, other weights or calibration */
    }
    return CNNC_OK;
}
