/* The AVX2 int8 GEMM tile under the dense/pointwise and general conv loops
 * (s8_dense_loops.h, s8_conv_loops.h; run by s8_dense_avx2.c and s8_conv_avx2.c): up to 4
 * rows of x by 16 (or 8) outputs of w[K][ldw]. Every function carries CNNC_TARGET_AVX2 (and
 * S8_TARGET makes the loops carry it), so the tier compiles under the default flags.
 *
 * Two weight rows i, i+1 are interleaved byte-wise and sign-extended to int16 pairs
 * (w[i][o], w[i+1][o]); each x row contributes the broadcast pair (x[i] - zp, x[i+1] - zp),
 * and _mm256_madd_epi16 adds both products into one int32 lane per output.
 *
 * Overflow, and why the tile multiplies in int16 pairs (vpmaddwd) and not int8 pairs
 * (vpmaddubsw): |x - zp| <= 255 fits int16, and one vpmaddwd lane is
 * (x[i]-zp)*w[i][o] + (x[i+1]-zp)*w[i+1][o], at most 2 * 255 * 127 = 64770 in magnitude,
 * computed exactly in int32 (vpmaddwd's one overflow case, -32768 * -32768 twice, needs
 * operands outside these ranges). vpmaddubsw instead adds two u8 * s8 products into a
 * SATURATING int16: with u8 = x + 128 (0..255) and s8 = w, the pair can reach
 * 2 * 255 * 127 = 64770 > 32767 and would saturate (e.g. x = 127, 127 and w = 127, 127),
 * so that path is not exact for |w| <= 127 and every int8 activation. Its exact form,
 * vpmaddubsw(|x|, sign(w, x)) (|x| <= 128 as u8, |sign(w, x)| <= 127, pair <= 2 * 128 * 127 =
 * 32512 <= 32767), needs a vpmaddwd by ones and a zero-point correction afterwards: as many
 * µops per MAC as this tile, so it is not used; VNNI (s8_tile_vnni.h) fuses the three. Callers keep
 * each int32 lane at bias[o] plus a subset of output o's terms, bounded by
 * |bias[o]| + xmax * sum |w[.][o]| <= 2^31 - 1 as proved by the compiler (cnnc.quantize,
 * check_accumulator); integer addition is associative, so any summation order gives the
 * reference kernel's sum exactly. */
#ifndef CNNC_S8_TILE_AVX2_H
#define CNNC_S8_TILE_AVX2_H

#include <string.h>

#include "cnnc_s8.h"
#include "s8_requant_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TILE_ROWS 4
#define S8_TARGET CNNC_TARGET_AVX2

/* The two int16 values (a, b) as one int32 lane, a in the low half (madd's pair order). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_pair16(int32_t a, int32_t b) {
    const uint32_t lo = (uint16_t)(int16_t)a, hi = (uint16_t)(int16_t)b;
    return _mm256_set1_epi32((int32_t)(lo | (hi << 16)));
}

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < 8 * halves.
 * x: row r at x + r * ldx, k int8 each; w: [k][ldw] int8 from the tile's first output;
 * init: row r at init + r * ld_init (0: one bias row for all rows; init may be acc);
 * acc: [S8_TILE_ROWS][16] int32. Inlined with constant rows/halves (s8_tile_any). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_tile_avx2(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                               int32_t zp, const int8_t *w, size_t ldw,
                                               int32_t halves, const int32_t *init, size_t ld_init,
                                               int32_t *acc) {
    __m256i a[S8_TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm256_loadu_si256((const __m256i *)(init + r * ld_init));
        a[r][1] = halves == 2 ? _mm256_loadu_si256((const __m256i *)(init + r * ld_init + 8))
                              : _mm256_setzero_si256();
    }
    for (i = 0; i + 1 < k; i += 2) {
        const int8_t *w0 = w + (size_t)i * ldw, *w1 = w0 + ldw; /* [8 * halves] each */
        __m256i lo, hi = _mm256_setzero_si256();
        if (halves == 2) {
            const __m128i r0 = _mm_loadu_si128((const __m128i *)w0);
            const __m128i r1 = _mm_loadu_si128((const __m128i *)w1);
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));
            hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1));
        } else {
            const __m128i r0 = _mm_loadl_epi64((const __m128i *)w0);
            const __m128i r1 = _mm_loadl_epi64((const __m128i *)w1);
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));
        }
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            const __m256i xp = s8_pair16(xr[i] - zp, xr[i + 1] - zp);
            /* exact: each madd lane <= 64770 in magnitude (header); the int32 sum stays
             * within the compiler's per-output bound */
            a[r][0] = _mm256_add_epi32(a[r][0], _mm256_madd_epi16(lo, xp));
            if (halves == 2) a[r][1] = _mm256_add_epi32(a[r][1], _mm256_madd_epi16(hi, xp));
        }
    }
    if (i < k) { /* odd k: the last row paired with zeros */
        const int8_t *w0 = w + (size_t)i * ldw;
        const __m128i zero = _mm_setzero_si128();
        __m256i lo, hi = _mm256_setzero_si256();
        if (halves == 2) {
            const __m128i r0 = _mm_loadu_si128((const __m128i *)w0);
            lo = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, zero));
            hi = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, zero));
        } else {
            lo =
                _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)w0), zero));
        }
        for (r = 0; r < rows; ++r) {
            const __m256i xp = s8_pair16(x[(size_t)r * ldx + i] - zp, 0);
            a[r][0] = _mm256_add_epi32(a[r][0], _mm256_madd_epi16(lo, xp));
            if (halves == 2) a[r][1] = _mm256_add_epi32(a[r][1], _mm256_madd_epi16(hi, xp));
        }
    }
    for (r = 0; r < rows; ++r) {
        _mm256_storeu_si256((__m256i *)(acc + r * 16), a[r][0]);
        _mm256_storeu_si256((__m256i *)(acc + r * 16 + 8), a[r][1]);
    }
}

/* The tile hooks s8_dense_loops.h and s8_conv_loops.h drive (s8_tile_neon.h and
 * s8_tile_avx512.h define the same names): blocks of S8_TILE_COLS (then 8) outputs; acc rows
 * S8_TILE_COLS apart. */
#define S8_TILE_COLS 16

/* s8_tile_avx2 over cols = 8 or 16 outputs, for rows 4 (all of them at once) or fewer (one
 * row at a time), with the constant rows/halves it unrolls for; otherwise same arguments. */
CNNC_TARGET_AVX2 static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                         int32_t zp, const int8_t *w, size_t ldw, int32_t cols,
                                         const int32_t *init, size_t ld_init, int32_t *acc) {
    const int32_t halves = cols / 8;
    int32_t r;
    if (rows == S8_TILE_ROWS && halves == 2)
        s8_tile_avx2(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 2, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS)
        s8_tile_avx2(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 1, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            if (halves == 2)
                s8_tile_avx2(xr, ldx, 1, k, zp, w, ldw, 2, init + r * ld_init, 0, acc + r * 16);
            else
                s8_tile_avx2(xr, ldx, 1, k, zp, w, ldw, 1, init + r * ld_init, 0, acc + r * 16);
        }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < cols
 * (8 or 16), eight at a time (s8_requant_avx2.h). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols,
                                                  const int32_t *mult, const int32_t *shift,
                                                  int32_t rounding, int32_t zero_point, int32_t lo,
                                                  int32_t hi, int8_t *y) {
    int32_t j;
    for (j = 0; j < cols; j += 8)
        s8_requant8_avx2(_mm256_loadu_si256((const __m256i *)(acc + j)), mult + j, shift + j,
                         rounding, zero_point, lo, hi, y + j);
}

/* The one-row GEMV of s8_dense_loops.h (s8_gemv): acc (S8_GEMV_COLS int32, 32-byte
 * aligned, in the step's order) += the int16 pairs (w0[j], w1[j]) of 16 outputs times the
 * broadcast pair (a, b): rows sign-extended whole (vpmovsxbw) and interleaved by vpunpck*wd,
 * so lane 4L + t of the first vector holds output 8L + t and of the second 8L + 4 + t;
 * s8_gemv_order puts them back. Same pairs and bounds as the tile above. */
#define S8_GEMV_COLS 16
CNNC_TARGET_AVX2 CNNC_INLINE void s8_gemv_step(int32_t *acc, const int8_t *w0, const int8_t *w1,
                                               int32_t a, int32_t b) {
    const __m256i xp = s8_pair16(a, b);
    const __m256i r0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w0));
    const __m256i r1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w1));
    _mm256_store_si256((__m256i *)acc,
                       _mm256_add_epi32(_mm256_load_si256((const __m256i *)acc),
                                        _mm256_madd_epi16(_mm256_unpacklo_epi16(r0, r1), xp)));
    _mm256_store_si256((__m256i *)(acc + 8),
                       _mm256_add_epi32(_mm256_load_si256((const __m256i *)(acc + 8)),
                                        _mm256_madd_epi16(_mm256_unpackhi_epi16(r0, r1), xp)));
}

/* acc's 16 sums from s8_gemv_step's order to the outputs' (in place). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_gemv_order(int32_t *acc) {
    const __m256i lo = _mm256_load_si256((const __m256i *)acc);
    const __m256i hi = _mm256_load_si256((const __m256i *)(acc + 8));
    _mm256_store_si256((__m256i *)acc, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_store_si256((__m256i *)(acc + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
}

/* The panel GEMM of s8_dense_loops.h (s8_dense_panels) on AVX2: panels of 16 outputs
 * repacked per call into int8 pairs, x rows converted to int16 x - zp, and a register tile
 * of S8_PANEL_ROWS rows by 16 outputs (12 ymm accumulators) whose inner step is two
 * vpmovsxbw of the panel and, per row, a broadcast of the x pair and two vpmaddwd and
 * vpaddd. Same pairs and bounds as s8_tile_avx2 (|x - zp| <= 255, |w| <= 127). */
#define S8_PANEL_COLS 16
#define S8_PANEL_UNIT 2 /* int16 pairs */
#define S8_PANEL_ROWS 6
#define S8_PANEL_INLINE static __inline__ __attribute__((always_inline))

/* wp[i][j] = (w[2i][j], w[2i+1][j]), j < 16: int8 pairs of full panels (cols = 16), for
 * rows 0 .. the returned count (even); s8_panel_pack_rest packs the rest. */
CNNC_TARGET_AVX2 S8_PANEL_INLINE int32_t s8_panel_pack(const int8_t *w, int32_t k, size_t ldw,
                                                       int32_t cols, int8_t *wp) {
    int32_t i = 0;
    if (cols == 16)
        for (; i + 1 < k; i += 2) {
            const __m128i r0 = _mm_loadu_si128((const __m128i *)(w + (size_t)i * ldw));
            const __m128i r1 = _mm_loadu_si128((const __m128i *)(w + (size_t)(i + 1) * ldw));
            _mm_storeu_si128((__m128i *)(wp + (size_t)i * 16), _mm_unpacklo_epi8(r0, r1));
            _mm_storeu_si128((__m128i *)(wp + (size_t)i * 16 + 16), _mm_unpackhi_epi8(r0, r1));
        }
    return i;
}

/* xs[r][i] = x[r][i] - zp as int16 for r < rows, i < k, then 0 up to 2 * kp (k rounded up
 * to even); rows of x ldx apart, of xs kp int32 (2 * kp int16) apart. */
CNNC_TARGET_AVX2 S8_PANEL_INLINE void s8_panel_rows(const int8_t *x, size_t ldx, int32_t rows,
                                                    int32_t k, int32_t zp, int32_t kp,
                                                    int32_t *xs32) {
    int16_t *xs = (int16_t *)(void *)xs32;
    const int32_t kp2 = 2 * kp;
    const __m256i zp16 = _mm256_set1_epi16((int16_t)zp);
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        const int8_t *xr = x + (size_t)r * ldx;
        int16_t *xo = xs + (size_t)r * kp2;
        for (i = 0; i + 16 <= k; i += 16)
            _mm256_storeu_si256(
                (__m256i *)(xo + i),
                _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(xr + i))),
                                 zp16));
        if (i + 8 <= k) {
            _mm_storeu_si128(
                (__m128i *)(xo + i),
                _mm_sub_epi16(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(xr + i))),
                              _mm256_castsi256_si128(zp16)));
            i += 8;
        }
        for (; i < k; ++i) xo[i] = (int16_t)(xr[i] - zp);
        for (; i < kp2; ++i) xo[i] = 0;
    }
}

/* acc[r][j] = init[j] + sum_i madd(wp[i][j], xs[r][2i .. 2i+1]) for r < ROWS, j < 16:
 * xs rows 2 * kp int16 apart, acc rows 16 apart. One function per row count (6, 3), each
 * row's two accumulators a named variable (S8Q_*), so that they stay in registers. */
#define S8Q_DECL(r) __m256i a##r##0 = i0, a##r##1 = i1;
#define S8Q_STEP(r)                                                     \
    {                                                                   \
        const __m256i xv = _mm256_set1_epi32(xp[(size_t)(r)*kp + i]);   \
        a##r##0 = _mm256_add_epi32(a##r##0, _mm256_madd_epi16(w0, xv)); \
        a##r##1 = _mm256_add_epi32(a##r##1, _mm256_madd_epi16(w1, xv)); \
    }
#define S8Q_STORE(r)                                         \
    _mm256_storeu_si256((__m256i *)(acc + (r)*16), a##r##0); \
    _mm256_storeu_si256((__m256i *)(acc + (r)*16 + 8), a##r##1);
#define S8Q_TILE(name, ROWS_OF)                                                             \
    CNNC_TARGET_AVX2 static void name(const int32_t *xp, int32_t kp, const int8_t *wp,      \
                                      const int32_t *init, int32_t *acc) {                  \
        const __m256i i0 = _mm256_loadu_si256((const __m256i *)init);                       \
        const __m256i i1 = _mm256_loadu_si256((const __m256i *)(init + 8));                 \
        int32_t i;                                                                          \
        ROWS_OF(S8Q_DECL)                                                                   \
        for (i = 0; i < kp; ++i) {                                                          \
            const __m256i w0 =                                                              \
                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 32 * i)));      \
            const __m256i w1 =                                                              \
                _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 32 * i + 16))); \
            ROWS_OF(S8Q_STEP)                                                               \
        }                                                                                   \
        ROWS_OF(S8Q_STORE)                                                                  \
    }
#define S8Q_ROWS3(f) f(0) f(1) f(2)
#define S8Q_ROWS6(f) S8Q_ROWS3(f) f(3) f(4) f(5)
S8Q_TILE(s8_panel_tile3, S8Q_ROWS3)
S8Q_TILE(s8_panel_tile6, S8Q_ROWS6)

/* The tile of 3 or S8_PANEL_ROWS = 6 rows that covers `rows` (rows of xs past `rows` are
 * zero and their sums unused). */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_panel_tile_any(const int32_t *xs, int32_t kp, const int8_t *wp,
                                                    const int32_t *init, int32_t *acc,
                                                    int32_t rows) {
    if (rows > 3)
        s8_panel_tile6(xs, kp, wp, init, acc);
    else
        s8_panel_tile3(xs, kp, wp, init, acc);
}

/* The requantisation of one panel's cols (1 .. 16) outputs, prepared once per panel
 * (s8_rq8_prepare) from copies of mult and shift padded to 16. */
typedef struct {
    s8_rq8_avx2 q[2];
    int32_t cols, mult[16], shift[16];
} s8_panel_rq;

CNNC_TARGET_AVX2 S8_PANEL_INLINE void s8_panel_rq_prepare(s8_panel_rq *q, int32_t cols,
                                                          const int32_t *mult, const int32_t *shift,
                                                          int32_t rounding, int32_t zero_point,
                                                          int32_t lo, int32_t hi) {
    int32_t j;
    q->cols = cols;
    for (j = 0; j < 16; ++j) {
        q->mult[j] = j < cols ? mult[j] : 0;
        q->shift[j] = j < cols ? shift[j] : 0;
    }
    s8_rq8_prepare(&q->q[0], q->mult, q->shift, rounding, zero_point, lo, hi);
    s8_rq8_prepare(&q->q[1], q->mult + 8, q->shift + 8, rounding, zero_point, lo, hi);
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], ...) for j < cols: eight at a time,
 * the last cols % 8 through a buffer. */
CNNC_TARGET_AVX2 S8_PANEL_INLINE void s8_panel_requant(const s8_panel_rq *q, const int32_t *acc,
                                                       int8_t *y) {
    int32_t h;
    for (h = 0; h < 2 && 8 * h < q->cols; ++h) {
        const __m256i r = _mm256_add_epi32(
            s8_rq8_run(&q->q[h], _mm256_loadu_si256((const __m256i *)(acc + 8 * h))), q->q[h].zp);
        if (q->cols - 8 * h >= 8) {
            s8_store8_avx2(r, y + 8 * h); /* in [lo, hi] */
        } else {
            int8_t part[8];
            s8_store8_avx2(r, part);
            memcpy(y + 8 * h, part, (size_t)(q->cols - 8 * h));
        }
    }
}
#endif

#endif /* CNNC_S8_TILE_AVX2_H */
