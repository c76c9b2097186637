/* libFuzzer target: the weight-blob reader (runtime_c/kernels/blob.c) on any bytes.
 *
 * Input: one mode byte, then the blob. Mode bit 0 recomputes the blob's CRC32 first, so
 * mutations get past the CRC to the checks behind it; bit 1 passes CNNC_BLOB_LARGER_BUFFER;
 * bit 2 CNNC_BLOB_ANY_CONTENT. The reader is called three ways: header only; the whole
 * open with the section table, structure and content hash the blob claims for itself (so
 * a blob that passes the header reaches every table and range check); and with a fixed
 * table of three sections (F32, S8 in [-127, 127], S32 in [-9, 9]), any content. Every
 * section pointer it returns must lie inside the blob: a pointer outside is a finding
 * (abort), as are ASan/UBSan reports. With CNNC_FUZZ_REPLAY (fuzz/campaign.py) a main()
 * runs length-prefixed cases from stdin instead. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnnc_blob.h"

#define MAX_SECTIONS 64u

/* data[n] copied to a 64-byte aligned heap buffer of exactly n bytes (ASan sees overreads). */
static uint8_t *aligned_copy(const uint8_t *data, size_t n) {
    void *copy = NULL;
    if (posix_memalign(&copy, 64, n ? n : 1) != 0) return NULL;
    if (n > 0) memcpy(copy, data, n);
    return (uint8_t *)copy;
}

static void check_inside(const uint8_t *blob, size_t n, const void **sections,
                         const uint32_t *bytes, uint32_t count) {
    uint32_t i;
    for (i = 0; i < count; ++i) {
        const uint8_t *p = (const uint8_t *)sections[i];
        if (p < blob || (size_t)(p - blob) > n || bytes[i] > n - (size_t)(p - blob)) abort();
    }
}

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t read_u64(const uint8_t *p) {
    return (uint64_t)read_u32(p) | (uint64_t)read_u32(p + 4) << 32;
}

/* The widest element range of a dtype (the blob's own values are then in range unless
 * the dtype is unknown, which the reader must refuse). */
static void full_range(cnnc_blob_section_spec *s) {
    s->lo = s->dtype == CNNC_BLOB_S8 ? -128 : INT32_MIN;
    s->hi = s->dtype == CNNC_BLOB_S8 ? 127 : INT32_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const cnnc_blob_section_spec fixed[3] = {
        {60, CNNC_BLOB_F32, 0, 0}, {17, CNNC_BLOB_S8, -127, 127}, {28, CNNC_BLOB_S32, -9, 9}};
    cnnc_blob_section_spec claimed[MAX_SECTIONS];
    cnnc_blob_spec spec;
    const void *sections[MAX_SECTIONS];
    uint32_t bytes[MAX_SECTIONS], n = 0, i, flags;
    uint8_t *blob;
    int mode;
    if (size < 1) return 0;
    mode = data[0];
    flags = (mode & 2) ? CNNC_BLOB_LARGER_BUFFER : 0u;
    blob = aligned_copy(data + 1, --size);
    if (blob == NULL) return 0;
    if ((mode & 1) && size >= CNNC_BLOB_HEADER_BYTES) {
        const uint32_t total = read_u32(blob + 20);
        if (total >= 12 && total <= size) {
            const uint32_t crc = cnnc_crc32(blob + 12, total - 12);
            for (i = 0; i < 4; ++i) blob[8 + i] = (uint8_t)(crc >> (8 * i));
        }
    }
    if (cnnc_blob_check_header(blob, size, flags, &n) == CNNC_OK && n <= MAX_SECTIONS) {
        /* the table the blob claims for itself, its own structure and content hashes:
         * a blob that passes the header reaches every table and range check */
        for (i = 0; i < n; ++i) {
            const uint8_t *entry = blob + CNNC_BLOB_HEADER_BYTES + (size_t)i * 16u;
            claimed[i].bytes = bytes[i] = read_u32(entry + 4);
            claimed[i].dtype = read_u32(entry + 8);
            full_range(&claimed[i]);
        }
        spec.n_sections = n;
        spec.sections = claimed;
        spec.structure_hash = read_u64(blob + 24);
        spec.content_hash = cnnc_blob_content_hash(blob);
        spec.flags = flags | ((mode & 4) ? CNNC_BLOB_ANY_CONTENT : 0u);
        if (cnnc_blob_open(blob, size, &spec, sections) == CNNC_OK) {
            check_inside(blob, size, sections, bytes, n);
        }
    }
    spec.n_sections = 3;
    spec.sections = fixed;
    spec.structure_hash = size >= 32 ? read_u64(blob + 24) : 0;
    spec.content_hash = 0;
    spec.flags = flags | CNNC_BLOB_ANY_CONTENT;
    if (cnnc_blob_open(blob, size, &spec, sections) == CNNC_OK) {
        for (i = 0; i < 3; ++i) bytes[i] = fixed[i].bytes;
        check_inside(blob, size, sections, bytes, 3);
    }
    free(blob);
    return 0;
}

#ifdef CNNC_FUZZ_REPLAY
#include "fuzz_replay.h"
#endif
