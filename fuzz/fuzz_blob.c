/* libFuzzer target: the weight-blob reader (runtime_c/kernels/blob.c) on any bytes.
 *
 * Input: one mode byte, then the blob. Mode bit 0 recomputes the blob's CRC32 first, so
 * mutations get past the CRC to the checks behind it. The reader is called three ways: header only;
 * the whole open with the section table the blob claims for itself (so a blob that passes the
 * header reaches every table check); and with a fixed table of three sections. Every
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint32_t fixed[3] = {60, 17, 28};
    const void *sections[MAX_SECTIONS];
    uint32_t claimed[MAX_SECTIONS], n = 0, i;
    uint8_t *blob;
    int mode;
    if (size < 1) return 0;
    mode = data[0];
    blob = aligned_copy(data + 1, --size);
    if (blob == NULL) return 0;
    if ((mode & 1) && size >= CNNC_BLOB_HEADER_BYTES) {
        const uint32_t total = read_u32(blob + 20);
        if (total >= 12 && total <= size) {
            const uint32_t crc = cnnc_crc32(blob + 12, total - 12);
            for (i = 0; i < 4; ++i) blob[8 + i] = (uint8_t)(crc >> (8 * i));
        }
    }
    if (cnnc_blob_check_header(blob, size, &n) == CNNC_OK && n <= MAX_SECTIONS) {
        for (i = 0; i < n; ++i) {
            const uint8_t *entry = blob + CNNC_BLOB_HEADER_BYTES + (size_t)i * 16u;
            claimed[i] = read_u32(entry + 4);
        }
        if (cnnc_blob_open(blob, size, n, claimed, sections) == CNNC_OK) {
            check_inside(blob, size, sections, claimed, n);
        }
    }
    if (cnnc_blob_open(blob, size, 3, fixed, sections) == CNNC_OK) {
        check_inside(blob, size, sections, fixed, 3);
    }
    free(blob);
    return 0;
}

#ifdef CNNC_FUZZ_REPLAY
#include "fuzz_replay.h"
#endif
