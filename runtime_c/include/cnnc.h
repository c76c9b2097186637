/* cnnc runtime: common definitions shared by every kernel family and by generated models.
 * C99, libc only, no malloc. Kernel families declare their parameter structs in
 * cnnc_f32.h (float32), cnnc_s8.h (int8) and cnnc_b1.h (binary). */
#ifndef CNNC_H
#define CNNC_H

#include <stddef.h>
#include <stdint.h>

/* Status codes returned by every public entry point (0 is success). */
typedef enum {
    CNNC_OK = 0,
    CNNC_ERR_NULL_ARG = 1,       /* a required pointer is NULL (or n out of range) */
    CNNC_ERR_BLOB_TRUNCATED = 2, /* weight blob shorter than its header or section table says */
    CNNC_ERR_BLOB_MAGIC = 3,     /* not a cnnc weight blob */
    CNNC_ERR_BLOB_VERSION = 4,   /* blob format version or header field this runtime lacks */
    CNNC_ERR_BLOB_CRC = 5,       /* blob CRC32 mismatch: corrupt bytes */
    CNNC_ERR_BLOB_MODEL = 6,     /* blob of another model or build: structure hash, content
                                    hash or section table differs */
    CNNC_ERR_BLOB_ALIGN = 7,     /* blob or one of its sections not aligned to 64 bytes */
    CNNC_ERR_ARENA = 8,          /* arena NULL, misaligned, or smaller than the model needs */
    CNNC_ERR_NOT_INIT = 9,       /* ctx not initialised by a successful init, or reset */
    CNNC_ERR_BLOB_VALUE = 10,    /* a stored value out of the range kernels accept (shift,
                                    multiplier, weight), or a section offset into the table */
    CNNC_ERR_BLOB_SIZE = 11      /* buffer larger than the blob's total_bytes (allowed only
                                    with CNNC_MODEL_BLOB_IN_PARTITION) */
} cnnc_status;

#if defined(__GNUC__) || defined(__clang__)
#define CNNC_RESTRICT __restrict__
#define CNNC_INLINE static __inline__
#else
#define CNNC_RESTRICT
#define CNNC_INLINE static
#endif

#endif /* CNNC_H */
