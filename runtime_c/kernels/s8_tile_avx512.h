/* The AVX-512 (F/BW/DQ/VL) int8 GEMM tile under the dense/pointwise and general conv loops
 * (s8_dense_loops.h, s8_conv_loops.h; run by s8_dense_avx512.c and s8_conv_avx512.c): up to
 * 4 rows of x by 32, 16 or 8 outputs of w[K][ldw], in one or two zmm accumulators of 16
 * int32 per row; 8-output blocks use the low half of one zmm, with masked loads and
 * stores of init/acc. Every function carries CNNC_TARGET_AVX512.
 *
 * As the AVX2 tile (s8_tile_avx2.h, where the choice of vpmaddwd over vpmaddubsw is
 * argued): weight rows i, i+1 interleaved byte-wise and sign-extended to int16 pairs, x as
 * the broadcast pair (x[i] - zp, x[i+1] - zp), _mm512_madd_epi16 into int32 lanes.
 *
 * Overflow: |x - zp| <= 255 fits int16; one madd lane is at most 2 * 255 * 127 = 64770 in
 * magnitude, exact. Callers keep each int32 lane at bias[o] plus a subset of output o's
 * terms, bounded by |bias[o]| + xmax * sum |w[.][o]| <= 2^31 - 1 as proved by the compiler
 * (cnnc.quantize, check_accumulator); integer addition is associative, so any summation
 * order gives the reference kernel's sum exactly. */
#ifndef CNNC_S8_TILE_AVX512_H
#define CNNC_S8_TILE_AVX512_H

#include "cnnc_s8.h"
#include "s8_requant_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TILE_ROWS 4
#define S8_TILE_COLS 32
#define S8_TARGET CNNC_TARGET_AVX512

/* Outputs o0 .. o0 + 15 (or + 7 when eight) of rows i, i+1 as 16 int16 pairs
 * (w[i][o], w[i+1][o]); lanes past eight outputs are 0. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_wpair16_avx512(const int8_t *w0, const int8_t *w1,
                                                         int32_t eight) {
    const __m128i r0 =
        eight ? _mm_loadl_epi64((const __m128i *)w0) : _mm_loadu_si128((const __m128i *)w0);
    const __m128i r1 =
        eight ? _mm_loadl_epi64((const __m128i *)w1) : _mm_loadu_si128((const __m128i *)w1);
    const __m256i pairs = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi8(r0, r1)),
                                                  _mm_unpackhi_epi8(r0, r1), 1);
    return _mm512_cvtepi8_epi16(pairs);
}

/* The two int16 values (a, b) as one int32 lane, a in the low half (madd's pair order). */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_pair16_avx512(int32_t a, int32_t b) {
    const uint32_t lo = (uint16_t)(int16_t)a, hi = (uint16_t)(int16_t)b;
    return _mm512_set1_epi32((int32_t)(lo | (hi << 16)));
}

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < cols (8, 16 or
 * 32). x: row r at x + r * ldx, k int8 each; w: [k][ldw] int8 from the tile's first output;
 * init: row r at init + r * ld_init (0: one bias row for all rows; init may be acc);
 * acc: [S8_TILE_ROWS][32] int32. Inlined with constant rows/cols (s8_tile_any). */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_tile_avx512(const int8_t *x, size_t ldx, int32_t rows,
                                                   int32_t k, int32_t zp, const int8_t *w,
                                                   size_t ldw, int32_t cols, const int32_t *init,
                                                   size_t ld_init, int32_t *acc) {
    const __mmask16 live = cols == 8 ? 0x00FF : 0xFFFF; /* lanes of the first zmm */
    const int32_t eight = cols == 8, two = cols == 32;
    __m512i a[S8_TILE_ROWS][2];
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm512_maskz_loadu_epi32(live, init + r * ld_init);
        a[r][1] = two ? _mm512_loadu_si512((const void *)(init + r * ld_init + 16))
                      : _mm512_setzero_si512();
    }
    for (i = 0; i + 1 < k; i += 2) {
        const int8_t *w0 = w + (size_t)i * ldw, *w1 = w0 + ldw; /* [cols] each */
        const __m512i lo = s8_wpair16_avx512(w0, w1, eight);
        const __m512i hi = two ? s8_wpair16_avx512(w0 + 16, w1 + 16, 0) : _mm512_setzero_si512();
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            const __m512i xp = s8_pair16_avx512(xr[i] - zp, xr[i + 1] - zp);
            /* exact: each madd lane <= 64770 in magnitude (header) */
            a[r][0] = _mm512_add_epi32(a[r][0], _mm512_madd_epi16(lo, xp));
            if (two) a[r][1] = _mm512_add_epi32(a[r][1], _mm512_madd_epi16(hi, xp));
        }
    }
    if (i < k) { /* odd k: the last row paired with zeros */
        static const int8_t zeros[16] = {0};
        const int8_t *w0 = w + (size_t)i * ldw;
        const __m512i lo = s8_wpair16_avx512(w0, zeros, eight);
        const __m512i hi = two ? s8_wpair16_avx512(w0 + 16, zeros, 0) : _mm512_setzero_si512();
        for (r = 0; r < rows; ++r) {
            const __m512i xp = s8_pair16_avx512(x[(size_t)r * ldx + i] - zp, 0);
            a[r][0] = _mm512_add_epi32(a[r][0], _mm512_madd_epi16(lo, xp));
            if (two) a[r][1] = _mm512_add_epi32(a[r][1], _mm512_madd_epi16(hi, xp));
        }
    }
    for (r = 0; r < rows; ++r) {
        _mm512_mask_storeu_epi32(acc + r * 32, live, a[r][0]);
        if (two) _mm512_storeu_si512((void *)(acc + r * 32 + 16), a[r][1]);
    }
}

/* The tile hooks s8_dense_loops.h and s8_conv_loops.h drive (s8_tile_avx2.h and
 * s8_tile_neon.h define the same names): blocks of 32, 16 or 8 outputs; acc rows
 * S8_TILE_COLS apart. s8_tile_avx512 with constant rows (4 at once, or one at a time) and
 * cols, otherwise the same arguments. */
CNNC_TARGET_AVX512 static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                           int32_t zp, const int8_t *w, size_t ldw, int32_t cols,
                                           const int32_t *init, size_t ld_init, int32_t *acc) {
    int32_t r;
    if (rows == S8_TILE_ROWS && cols == 32)
        s8_tile_avx512(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 32, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS && cols == 16)
        s8_tile_avx512(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 16, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS)
        s8_tile_avx512(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 8, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            if (cols == 32)
                s8_tile_avx512(xr, ldx, 1, k, zp, w, ldw, 32, init + r * ld_init, 0, acc + r * 32);
            else if (cols == 16)
                s8_tile_avx512(xr, ldx, 1, k, zp, w, ldw, 16, init + r * ld_init, 0, acc + r * 32);
            else
                s8_tile_avx512(xr, ldx, 1, k, zp, w, ldw, 8, init + r * ld_init, 0, acc + r * 32);
        }
}

/* y[j] = cnnc_requant_s8(acc[j], mult[j], shift[j], rounding, zero_point, lo, hi), j < cols
 * (8, 16 or 32), sixteen at a time (s8_requant_avx512.h). */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols,
                                                    const int32_t *mult, const int32_t *shift,
                                                    int32_t rounding, int32_t zero_point,
                                                    int32_t lo, int32_t hi, int8_t *y) {
    int32_t j;
    for (j = 0; j < cols; j += 16) {
        const __mmask16 live = cols - j >= 16 ? 0xFFFF : 0x00FF;
        s8_requant16_avx512(_mm512_maskz_loadu_epi32(live, acc + j), mult + j, shift + j, rounding,
                            zero_point, lo, hi, y + j, live);
    }
}

/* The one-row GEMV of s8_dense_loops.h (s8_gemv_step, s8_gemv_order). */
#include "s8_gemv_avx512.h"

/* The panel GEMM of s8_dense_loops.h (s8_dense_panels): weights repacked per call into
 * panels of S8_PANEL_COLS outputs, x rows converted to int16 once per panel, and a
 * register tile of S8_PANEL_ROWS rows by 32 outputs (24 zmm accumulators) whose inner step
 * is two vpmovsxbw of the panel and, per row, two vpmaddwd with the broadcast x pair and
 * two vpaddd: no shuffles and no scalar work per multiply. Same pairs and bounds as
 * s8_tile_avx512 (|x - zp| <= 255, |w| <= 127, one madd lane <= 64770). */
#define S8_PANEL_COLS 32
#define S8_PANEL_UNIT 2 /* int16 pairs */
#define S8_PANEL_ROWS 12
#define S8_PANEL_PF 16 /* rows of w prefetched ahead by s8_panel_pack */
#define S8_PANEL_INLINE static __inline__ __attribute__((always_inline))

/* wp[i][j] = (w[2i][j], w[2i+1][j]), j < 32: int8 pairs of full panels (cols = 32), for
 * rows 0 .. the returned count (even); s8_panel_pack_rest packs the rest. */
CNNC_TARGET_AVX512 S8_PANEL_INLINE int32_t s8_panel_pack(const int8_t *w, int32_t k, size_t ldw,
                                                         int32_t cols, int8_t *wp) {
    int32_t i;
    if (cols == 32) {
        for (i = 0; i + 1 < k; i += 2) {
            const __m256i r0 = _mm256_loadu_si256((const __m256i *)(w + (size_t)i * ldw));
            if (i + S8_PANEL_PF + 1 < k) { /* rows ldw bytes apart: prefetch ahead */
                _mm_prefetch((const char *)(w + (size_t)(i + S8_PANEL_PF) * ldw), _MM_HINT_T0);
                _mm_prefetch((const char *)(w + (size_t)(i + S8_PANEL_PF + 1) * ldw), _MM_HINT_T0);
            }
            const __m256i r1 = _mm256_loadu_si256((const __m256i *)(w + (size_t)(i + 1) * ldw));
            const __m256i lo = _mm256_unpacklo_epi8(r0, r1), hi = _mm256_unpackhi_epi8(r0, r1);
            /* lo: outputs 0-7 | 16-23, hi: 8-15 | 24-31 */
            _mm256_storeu_si256((__m256i *)(wp + (size_t)i * 32),
                                _mm256_permute2x128_si256(lo, hi, 0x20));
            _mm256_storeu_si256((__m256i *)(wp + (size_t)i * 32 + 32),
                                _mm256_permute2x128_si256(lo, hi, 0x31));
        }
    } else {
        i = 0;
    }
    return i;
}

/* xs[r][i] = x[r][i] - zp as int16 for r < rows, i < k, then 0 up to 2 * kp (k rounded up
 * to even); rows of x ldx apart, of xs kp int32 (2 * kp int16) apart. */
CNNC_TARGET_AVX512 S8_PANEL_INLINE void s8_panel_rows(const int8_t *x, size_t ldx, int32_t rows,
                                                      int32_t k, int32_t zp, int32_t kp,
                                                      int32_t *xs32) {
    int16_t *xs = (int16_t *)(void *)xs32;
    const int32_t kp2 = 2 * kp, full = k / 32 * 32; /* steps before `full`: unmasked */
    /* the last step's masks, once: x - zp to k, 0 to kp2 */
    const __mmask32 in = (__mmask32)((1u << (k - full)) - 1);
    const __mmask32 out = kp2 - full >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << (kp2 - full)) - 1);
    const __m512i zp16 = _mm512_set1_epi16((int16_t)zp);
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        const int8_t *xr = x + (size_t)r * ldx;
        int16_t *xo = xs + (size_t)r * kp2;
        for (i = 0; i < full; i += 32)
            _mm512_storeu_si512((void *)(xo + i),
                                _mm512_sub_epi16(_mm512_cvtepi8_epi16(_mm256_loadu_si256(
                                                     (const __m256i *)(const void *)(xr + i))),
                                                 zp16));
        if (full < kp2) {
            const __m512i v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(in, xr + full));
            _mm512_mask_storeu_epi16(xo + full, out, _mm512_maskz_sub_epi16(in, v, zp16));
        }
    }
}

/* acc[r][j] = init[j] + sum_i madd(wp[i][j], xs[r][2i .. 2i+1]) for r < ROWS, j < 32:
 * xs rows 2 * kp int16 apart, acc rows 32 apart. One function per row count (12, 8, 4),
 * each row's two accumulators a named variable (S8P_*), so that they stay in registers. */
#define S8P_DECL(r) __m512i a##r##0 = i0, a##r##1 = i1;
#define S8P_STEP(r)                                                     \
    {                                                                   \
        const __m512i xv = _mm512_set1_epi32(xp[(size_t)(r)*kp + i]);   \
        a##r##0 = _mm512_add_epi32(a##r##0, _mm512_madd_epi16(w0, xv)); \
        a##r##1 = _mm512_add_epi32(a##r##1, _mm512_madd_epi16(w1, xv)); \
    }
#define S8P_STORE(r)                                      \
    _mm512_storeu_si512((void *)(acc + (r)*32), a##r##0); \
    _mm512_storeu_si512((void *)(acc + (r)*32 + 16), a##r##1);
#define S8P_TILE(name, ROWS_OF)                                                                \
    CNNC_TARGET_AVX512 static void name(const int32_t *xp, int32_t kp, const int8_t *wp,       \
                                        const int32_t *init, int32_t *acc) {                   \
        const __m512i i0 = _mm512_loadu_si512((const void *)init);                             \
        const __m512i i1 = _mm512_loadu_si512((const void *)(init + 16));                      \
        int32_t i;                                                                             \
        ROWS_OF(S8P_DECL)                                                                      \
        for (i = 0; i < kp; ++i) {                                                             \
            const __m512i w0 =                                                                 \
                _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(wp + 64 * i)));      \
            const __m512i w1 =                                                                 \
                _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(wp + 64 * i + 32))); \
            ROWS_OF(S8P_STEP)                                                                  \
        }                                                                                      \
        ROWS_OF(S8P_STORE)                                                                     \
    }
#define S8P_ROWS4(f) f(0) f(1) f(2) f(3)
#define S8P_ROWS8(f) S8P_ROWS4(f) f(4) f(5) f(6) f(7)
#define S8P_ROWS12(f) S8P_ROWS8(f) f(8) f(9) f(10) f(11)
S8P_TILE(s8_panel_tile4, S8P_ROWS4)
S8P_TILE(s8_panel_tile8, S8P_ROWS8)
S8P_TILE(s8_panel_tile12, S8P_ROWS12)

/* The tile of 4, 8 or S8_PANEL_ROWS = 12 rows that covers `rows` (rows of xs past `rows`
 * are zero and their sums unused). */
CNNC_TARGET_AVX512 CNNC_INLINE void s8_panel_tile_any(const int32_t *xs, int32_t kp,
                                                      const int8_t *wp, const int32_t *init,
                                                      int32_t *acc, int32_t rows) {
    if (rows > 8)
        s8_panel_tile12(xs, kp, wp, init, acc);
    else if (rows > 4)
        s8_panel_tile8(xs, kp, wp, init, acc);
    else
        s8_panel_tile4(xs, kp, wp, init, acc);
}

/* The panel's requantisation: 32 outputs prepared once (s8_requant_avx512.h). */
typedef s8_rq32_avx512 s8_panel_rq;
#define s8_panel_rq_prepare s8_rq32_prepare
#define s8_panel_requant s8_rq32_store
#endif

#endif /* CNNC_S8_TILE_AVX512_H */
