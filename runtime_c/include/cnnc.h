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

/* A kernel pointer as a model's ctx stores it; model.c casts it back to the kernel's own
 * type (cnnc_s8_conv_fn, ...) before calling. */
typedef void (*cnnc_kernel_fn)(void);

/* Modes of the spatial ops (cnnc.ops.spatial), shared by the f32 and s8 pad/resize params. */
enum { CNNC_PAD_CONSTANT = 0, CNNC_PAD_EDGE = 1, CNNC_PAD_REFLECT = 2 };
enum { CNNC_RESIZE_NEAREST = 0, CNNC_RESIZE_LINEAR = 1 };

/* CNNC_NOINLINE keeps a small hot loop out of a large caller, whose live values would
 * otherwise push the loop's pointers onto the stack. */
/* CNNC_COPY is memcpy for a copy of a known size (an unaligned word's load or store), which
 * gcc and clang expand inline even where a build says -ffreestanding or -fno-builtin: there
 * memcpy is a call each time (the digits MobileNetV2 ran 16 % more instructions on a
 * Cortex-M4 so). The file that uses it includes <string.h>. */
#if defined(__GNUC__) || defined(__clang__)
#define CNNC_RESTRICT __restrict__
#define CNNC_INLINE static __inline__
#define CNNC_NOINLINE __attribute__((noinline))
#define CNNC_COPY(dst, src, n) __builtin_memcpy((dst), (src), (n))
#else
#define CNNC_RESTRICT
#define CNNC_INLINE static
#define CNNC_NOINLINE
#define CNNC_COPY(dst, src, n) memcpy((dst), (src), (n))
#endif

/* x86-64 SIMD kernels are compiled into every x86-64 build, whatever its -m flags, so that
 * the run-time CPU check at model init (cnnc_cpu.h) can pick them: each function of an
 * ISA's file (static helpers too) carries that ISA's target attribute, and may only run on
 * a CPU with those features. The exact-mode float kernels use CNNC_TARGET_AVX2 (no "fma":
 * the compiler cannot emit an FMA there even if contraction were on); the fast-mode ones
 * CNNC_TARGET_AVX2_FMA. AVX-512F implies FMA, so the exact AVX-512 float kernels rely on
 * -ffp-contract=off (and ISO -std=c99, whose default is off) instead. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CNNC_TARGET_AVX2 __attribute__((target("avx2")))
#define CNNC_TARGET_AVX2_FMA __attribute__((target("avx2,fma")))
#define CNNC_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define CNNC_TARGET_AVX512VNNI \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define CNNC_TARGET_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define CNNC_TARGET_VPOPCNT \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vpopcntdq")))
#else
#define CNNC_TARGET_AVX2
#define CNNC_TARGET_AVX2_FMA
#define CNNC_TARGET_AVX512
#define CNNC_TARGET_AVX512VNNI
#define CNNC_TARGET_AVXVNNI
#define CNNC_TARGET_VPOPCNT
#endif

#endif /* CNNC_H */
