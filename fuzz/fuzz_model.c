/* libFuzzer target: a generated model's init and run (fuzz/fuzz.py compiles an int8 and
 * a binary model and builds this file once against each folder's model.h).
 *
 * Input: one mode byte, then the weight blob.
 *   mode bit 0  recompute the blob's CRC32 first, so mutations get past the CRC to the
 *               checks behind it (section table, stored values) and into the kernels;
 *   mode bit 1  run on non-finite and huge inputs instead of a smooth pattern.
 * When init returns CNNC_OK the model runs once on an arena of exactly
 * CNNC_MODEL_ARENA_BYTES (heap, so ASan sees an overrun). Findings: ASan/UBSan reports,
 * crashes, a run that reports an error after a successful init. CNNC_FUZZ_RUN_ARENA_BYTES
 * (set by fuzz.py from model.h) selects the run signature that takes the arena size. */
#define _POSIX_C_SOURCE 200112L /* posix_memalign */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cnnc_blob.h"
#include "model.h"

static int fuzz_ran; /* 1 if the last case got past init into run (for the replay) */

/* n bytes, 64-byte aligned, on the heap: ASan reports a read or write past n. */
static uint8_t *aligned64(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, 64, n ? n : 1) == 0 ? (uint8_t *)p : NULL;
}

static void write_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fill_input(float *x, int hostile) {
    static const float specials[6] = {0.0f, 1e30f, -1e30f, 3.4e38f, -0.0f, 1e-40f};
    size_t i;
    for (i = 0; i < CNNC_MODEL_INPUT_SIZE; ++i) {
        x[i] = hostile ? specials[i % 6] : (float)((int)(i * 37u % 23u) - 11) / 7.0f;
    }
    if (hostile && CNNC_MODEL_INPUT_SIZE > 2) {
        x[0] = NAN;
        x[1] = INFINITY;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static float input[CNNC_MODEL_INPUT_SIZE], output[CNNC_MODEL_OUTPUT_SIZE];
    cnnc_model_ctx ctx;
    uint8_t *blob, *arena;
    size_t n;
    int mode, status;
    fuzz_ran = 0;
    if (size < 1) return 0;
    mode = data[0];
    n = size - 1;
    blob = aligned64(n);
    if (blob == NULL) return 0;
    memcpy(blob, data + 1, n);
    if ((mode & 1) && n >= CNNC_BLOB_HEADER_BYTES) {
        uint32_t total = read_u32(blob + 20);
        if (total >= 12 && total <= n) write_u32(blob + 8, cnnc_crc32(blob + 12, total - 12));
    }
    status = cnnc_model_init(&ctx, blob, n);
    if (status == CNNC_OK) {
        arena = aligned64(CNNC_MODEL_ARENA_BYTES);
        if (arena == NULL) abort();
        fill_input(input, mode & 2);
        fuzz_ran = 1;
#ifdef CNNC_FUZZ_RUN_ARENA_BYTES
        status = cnnc_model_run(&ctx, input, output, arena, CNNC_MODEL_ARENA_BYTES);
#else
        status = cnnc_model_run(&ctx, input, output, arena);
#endif
        free(arena);
        if (status != CNNC_OK) abort(); /* a blob init accepted must run */
    }
    free(blob);
    return 0;
}

#ifdef CNNC_FUZZ_REPLAY
#define FUZZ_RAN fuzz_ran
#include "fuzz_replay.h"
#endif
