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
    CNNC_ERR_NULL_ARG = 1,       /* a required pointer is NULL */
    CNNC_ERR_BLOB_TRUNCATED = 2, /* weight blob shorter than its header or section table says */
    CNNC_ERR_BLOB_MAGIC = 3,     /* not a cnnc weight blob */
    CNNC_ERR_BLOB_VERSION = 4,   /* blob format version this runtime does not read */
    CNNC_ERR_BLOB_CRC = 5,       /* blob CRC32 mismatch: corrupt bytes */
    CNNC_ERR_BLOB_MODEL = 6,     /* blob was written for another model (section table differs) */
    CNNC_ERR_BLOB_ALIGN = 7,     /* blob or one of its sections not aligned to 64 bytes */
    CNNC_ERR_ARENA = 8           /* arena pointer NULL or misaligned */
} cnnc_status;

#if defined(__GNUC__) || defined(__clang__)
#define CNNC_RESTRICT __restrict__
#define CNNC_INLINE static __inline__
#else
#define CNNC_RESTRICT
#define CNNC_INLINE static
#endif

/* x86-64 ISA tiers. Each SIMD kernel and every helper it inlines carries its tier's target
 * attribute, so every tier compiles under the default flags (plain x86-64) and a run-time
 * check of the CPU picks one; a function may only be called on a CPU with its features. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CNNC_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CNNC_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#define CNNC_TARGET_AVX512VNNI \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define CNNC_TARGET_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define CNNC_TARGET_VPOPCNT \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vpopcntdq")))
#endif

#endif /* CNNC_H */
