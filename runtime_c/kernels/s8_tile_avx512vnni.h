/* The AVX512-VNNI int8 GEMM tile under the dense/pointwise and general conv loops
 * (s8_dense_loops.h, s8_conv_loops.h; run by s8_dense_avx512vnni.c and
 * s8_conv_avx512vnni.c): up to 4 rows of x by 32, 16 or 8 outputs of w[K][ldw], one or two
 * zmm accumulators of 16 int32 per row. Every function carries CNNC_TARGET_AVX512VNNI.
 *
 * vpdpbusd multiplies unsigned by signed bytes, four adjacent pairs per int32 lane. Four
 * weight rows i..i+3 are interleaved into lanes (w[i][o], .., w[i+3][o]) (signed side);
 * each x row gives the broadcast quad (x[i] + 128, .., x[i+3] + 128) (unsigned side, 0..255).
 * Since (x - zp) * w = (x + 128) * w - (zp + 128) * w, the tile also sums the weights
 * (vpdpbusd with an all-ones quad, once per quad for all rows) and at the end subtracts
 * (zp + 128) * sum_i w[i][o] from each row's lanes. K left over after the quads is padded
 * with zero weights (and x bytes that are never read past the row).
 *
 * Overflow: one vpdpbusd lane adds four products of magnitude <= 255 * 127, without
 * saturation (vpdpbusd, not vpdpbusds), and lanes add and multiply (vpmulld) modulo 2^32.
 * Every step is thus exact modulo 2^32: the final lane equals init + sum (x - zp) * w
 * modulo 2^32 even where the biased partial sums leave int32, and that true value is
 * bias[o] plus a subset of output o's terms, bounded by |bias[o]| + xmax * sum |w[.][o]|
 * <= 2^31 - 1 (cnnc.quantize, check_accumulator), so it is the lane's value exactly.
 * |sum_i w[i][o]| <= 127 K stays far inside int32. */
#ifndef CNNC_S8_TILE_AVX512VNNI_H
#define CNNC_S8_TILE_AVX512VNNI_H

#include <string.h>

#include "cnnc_s8.h"
#include "s8_requant_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_TILE_ROWS 4
#define S8_TILE_COLS 32
#define S8_TARGET CNNC_TARGET_AVX512VNNI

/* acc + vpdpbusd(a, b): per int32 lane, the four products of unsigned bytes of a and signed
 * bytes of b, added modulo 2^32. CNNC_S8_EMULATE_VNNI (tests only: a CPU without
 * AVX512-VNNI checks the tile's arithmetic, tests/runtime/test_s8_vnni_emulated.py)
 * computes the same with AVX-512BW: even and odd bytes widened to int16 (0..255 times
 * -128..127), pairs summed by vpmaddwd, exact. */
CNNC_TARGET_AVX512VNNI CNNC_INLINE __m512i s8_dpbusd_avx512vnni(__m512i acc, __m512i a, __m512i b) {
#if defined(CNNC_S8_EMULATE_VNNI)
    const __m512i a0 = _mm512_and_si512(a, _mm512_set1_epi16(0x00FF));
    const __m512i a1 = _mm512_srli_epi16(a, 8);
    const __m512i b0 = _mm512_srai_epi16(_mm512_slli_epi16(b, 8), 8);
    const __m512i b1 = _mm512_srai_epi16(b, 8);
    return _mm512_add_epi32(acc,
                            _mm512_add_epi32(_mm512_madd_epi16(a0, b0), _mm512_madd_epi16(a1, b1)));
#else
    return _mm512_dpbusd_epi32(acc, a, b);
#endif
}

/* Weights w[i..i+3][o0 .. o0+15] (8 outputs when eight: lanes 8..15 are 0) as 16 int32
 * lanes of 4 bytes (w[i][o], w[i+1][o], w[i+2][o], w[i+3][o]); row pointers may be a zero
 * row for K past the end. */
CNNC_TARGET_AVX512VNNI CNNC_INLINE __m512i s8_wquad16_avx512vnni(const int8_t *const *rows,
                                                                 int32_t eight) {
    __m128i r[4], q[4];
    int32_t i;
    for (i = 0; i < 4; ++i)
        r[i] = eight ? _mm_loadl_epi64((const __m128i *)rows[i])
                     : _mm_loadu_si128((const __m128i *)rows[i]);
    {
        const __m128i a = _mm_unpacklo_epi8(r[0], r[1]), b = _mm_unpacklo_epi8(r[2], r[3]);
        const __m128i c = _mm_unpackhi_epi8(r[0], r[1]), d = _mm_unpackhi_epi8(r[2], r[3]);
        q[0] = _mm_unpacklo_epi16(a, b); /* outputs 0..3 */
        q[1] = _mm_unpackhi_epi16(a, b); /* 4..7 */
        q[2] = _mm_unpacklo_epi16(c, d); /* 8..11 */
        q[3] = _mm_unpackhi_epi16(c, d); /* 12..15 */
    }
    return _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(q[0]), q[1], 1)),
        _mm256_inserti128_si256(_mm256_castsi128_si256(q[2]), q[3], 1), 1);
}

/* (x[0] + 128, .., x[n-1] + 128) as the bytes of one uint32, bytes past n 0 (n <= 4); x + 128
 * of an int8 is its bits XOR 0x80. Reads only x[0 .. n-1]. */
CNNC_INLINE uint32_t s8_xquad_u32(const int8_t *x, int32_t n) {
    uint8_t b[4] = {0, 0, 0, 0};
    uint32_t v;
    int32_t j;
    if (n == 4) {
        memcpy(&v, x, 4);
        return v ^ 0x80808080u;
    }
    for (j = 0; j < n; ++j) b[j] = (uint8_t)(x[j] + 128);
    memcpy(&v, b, 4);
    return v;
}

/* s8_xquad_u32 broadcast to every lane. */
CNNC_TARGET_AVX512VNNI CNNC_INLINE __m512i s8_xquad_avx512vnni(const int8_t *x, int32_t n) {
    return _mm512_set1_epi32((int32_t)s8_xquad_u32(x, n));
}

/* acc[r][j] = init[r][j] + sum_i (x[r][i] - zp) * w[i][j] for r < rows, j < cols (8, 16 or
 * 32); arguments as s8_tile_avx512 (s8_tile_avx512.h). */
CNNC_TARGET_AVX512VNNI CNNC_INLINE void s8_tile_avx512vnni(const int8_t *x, size_t ldx,
                                                           int32_t rows, int32_t k, int32_t zp,
                                                           const int8_t *w, size_t ldw,
                                                           int32_t cols, const int32_t *init,
                                                           size_t ld_init, int32_t *acc) {
    static const int8_t zeros[32] = {0};
    const __mmask16 live = cols == 8 ? 0x00FF : 0xFFFF; /* lanes of the first zmm */
    const int32_t eight = cols == 8, two = cols == 32;
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i a[S8_TILE_ROWS][2], wsum0 = _mm512_setzero_si512(), wsum1 = wsum0;
    int32_t r, i;
    for (r = 0; r < rows; ++r) {
        a[r][0] = _mm512_maskz_loadu_epi32(live, init + r * ld_init);
        a[r][1] = two ? _mm512_loadu_si512((const void *)(init + r * ld_init + 16))
                      : _mm512_setzero_si512();
    }
    for (i = 0; i < k; i += 4) {
        const int32_t n = k - i < 4 ? k - i : 4;
        const int8_t *w_rows[4], *w_hi[4];
        __m512i lo, hi = _mm512_setzero_si512();
        int32_t j;
        for (j = 0; j < 4; ++j) {
            w_rows[j] = j < n ? w + (size_t)(i + j) * ldw : zeros;
            w_hi[j] = j < n ? w_rows[j] + 16 : zeros;
        }
        lo = s8_wquad16_avx512vnni(w_rows, eight);
        wsum0 = s8_dpbusd_avx512vnni(wsum0, ones, lo);
        if (two) {
            hi = s8_wquad16_avx512vnni(w_hi, 0);
            wsum1 = s8_dpbusd_avx512vnni(wsum1, ones, hi);
        }
        for (r = 0; r < rows; ++r) {
            const __m512i xq = s8_xquad_avx512vnni(x + (size_t)r * ldx + i, n);
            /* exact modulo 2^32 (header) */
            a[r][0] = s8_dpbusd_avx512vnni(a[r][0], xq, lo);
            if (two) a[r][1] = s8_dpbusd_avx512vnni(a[r][1], xq, hi);
        }
    }
    {
        const __m512i bias128 = _mm512_set1_epi32(zp + 128); /* 0..255 */
        const __m512i c0 = _mm512_mullo_epi32(wsum0, bias128);
        const __m512i c1 = _mm512_mullo_epi32(wsum1, bias128);
        for (r = 0; r < rows; ++r) {
            _mm512_mask_storeu_epi32(acc + r * 32, live, _mm512_sub_epi32(a[r][0], c0));
            if (two)
                _mm512_storeu_si512((void *)(acc + r * 32 + 16), _mm512_sub_epi32(a[r][1], c1));
        }
    }
}

/* The tile hooks the loops drive (as s8_tile_avx512.h): s8_tile_avx512vnni with constant
 * rows (4 at once, or one at a time) and cols. */
CNNC_TARGET_AVX512VNNI static void s8_tile_any(const int8_t *x, size_t ldx, int32_t rows, int32_t k,
                                               int32_t zp, const int8_t *w, size_t ldw,
                                               int32_t cols, const int32_t *init, size_t ld_init,
                                               int32_t *acc) {
    int32_t r;
    if (rows == S8_TILE_ROWS && cols == 32)
        s8_tile_avx512vnni(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 32, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS && cols == 16)
        s8_tile_avx512vnni(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 16, init, ld_init, acc);
    else if (rows == S8_TILE_ROWS)
        s8_tile_avx512vnni(x, ldx, S8_TILE_ROWS, k, zp, w, ldw, 8, init, ld_init, acc);
    else
        for (r = 0; r < rows; ++r) {
            const int8_t *xr = x + (size_t)r * ldx;
            const int32_t *ir = init + r * ld_init;
            if (cols == 32)
                s8_tile_avx512vnni(xr, ldx, 1, k, zp, w, ldw, 32, ir, 0, acc + r * 32);
            else if (cols == 16)
                s8_tile_avx512vnni(xr, ldx, 1, k, zp, w, ldw, 16, ir, 0, acc + r * 32);
            else
                s8_tile_avx512vnni(xr, ldx, 1, k, zp, w, ldw, 8, ir, 0, acc + r * 32);
        }
}

/* Requantisation of cols (8, 16 or 32) accumulators, sixteen at a time. */
CNNC_TARGET_AVX512VNNI CNNC_INLINE void s8_tile_requant(const int32_t *acc, int32_t cols,
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

/* The one-row GEMV of s8_dense_loops.h (s8_gemv_step, s8_gemv_order): the AVX-512 tier's
 * vpmaddwd pairs (no vpdpbusd GEMV is written). */
#include "s8_gemv_avx512.h"

/* The panel GEMM of s8_dense_loops.h (s8_dense_panels) with vpdpbusd: weights repacked
 * per call into quads (w[4q][j], .., w[4q+3][j]) of 32 outputs (zero past K and past
 * cols), x rows as bytes x + 128 (zero past K), and a register tile of S8_PANEL_ROWS rows
 * by 32 outputs (24 zmm accumulators) whose inner step is two weight loads and, per row,
 * two vpdpbusd with the broadcast x quad. The panel's sums start from
 * bias - (zp + 128) * sum_i w[i][j], as in s8_tile_avx512vnni (same overflow argument:
 * everything modulo 2^32, and the true final value lies within int32). */
#define S8_PANEL_COLS 32
#define S8_PANEL_UNIT 4 /* u8 quads */
#define S8_PANEL_ROWS 12
#define S8_PANEL_INLINE static __inline__ __attribute__((always_inline))

/* Full panels (cols = 32): wp quad q = (w[4q][j], .., w[4q+3][j]) for j < 32 and every
 * q < ceil(k / 4) (zero past K); returns k rounded up to 4 (s8_panel_pack_rest packs
 * partial panels). */
CNNC_TARGET_AVX512VNNI S8_PANEL_INLINE int32_t s8_panel_pack(const int8_t *w, int32_t k, size_t ldw,
                                                             int32_t cols, int8_t *wp) {
    static const int8_t zeros[32] = {0};
    const int8_t *rows[4];
    int32_t i, t;
    if (cols != 32) return 0;
    for (i = 0; i < k; i += 4) {
        int8_t *q = wp + (size_t)i * 32; /* quad i / 4: [32][4] */
        for (t = 0; t < 4; ++t) rows[t] = i + t < k ? w + (size_t)(i + t) * ldw : zeros;
        _mm512_storeu_si512((void *)q, s8_wquad16_avx512vnni(rows, 0));
        for (t = 0; t < 4; ++t) rows[t] += 16;
        _mm512_storeu_si512((void *)(q + 64), s8_wquad16_avx512vnni(rows, 0));
    }
    return i;
}

#define S8_PANEL_INIT /* the sums start from bias - (zp + 128) * sum w */
CNNC_TARGET_AVX512VNNI S8_PANEL_INLINE void s8_panel_init(const int32_t *bias, int32_t cols,
                                                          int32_t zp, const int8_t *wp, int32_t kp,
                                                          int32_t *init) {
    const __m512i ones = _mm512_set1_epi8(1), c = _mm512_set1_epi32(zp + 128);
    const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 =
        cols >= 32 ? 0xFFFF : (cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1) : 0);
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    int32_t q;
    for (q = 0; q < kp; ++q) { /* the weight sums, |sum| <= 127 K */
        s0 = s8_dpbusd_avx512vnni(s0, ones, _mm512_loadu_si512((const void *)(wp + 128 * q)));
        s1 = s8_dpbusd_avx512vnni(s1, ones, _mm512_loadu_si512((const void *)(wp + 128 * q + 64)));
    }
    _mm512_storeu_si512((void *)init, _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m0, bias),
                                                       _mm512_mullo_epi32(c, s0)));
    _mm512_storeu_si512(
        (void *)(init + 16),
        _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m1, bias + 16), _mm512_mullo_epi32(c, s1)));
}

/* xs[r] = the bytes x[r][i] + 128 (x XOR 0x80) for i < k, then 0 up to 4 * kp; rows of xs
 * kp int32 apart. */
CNNC_TARGET_AVX512VNNI S8_PANEL_INLINE void s8_panel_rows(const int8_t *x, size_t ldx, int32_t rows,
                                                          int32_t k, int32_t zp, int32_t kp,
                                                          int32_t *xs) {
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const int32_t kb = 4 * kp;
    int32_t r, i;
    (void)zp;
    for (r = 0; r < rows; ++r) {
        const int8_t *xr = x + (size_t)r * ldx;
        uint8_t *xo = (uint8_t *)(void *)(xs + (size_t)r * kp);
        for (i = 0; i < kb; i += 64) {
            const __mmask64 in = k - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (k - i)) - 1);
            const __mmask64 out = kb - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (kb - i)) - 1);
            _mm512_mask_storeu_epi8(
                xo + i, out,
                _mm512_maskz_xor_epi32(0xFFFF, _mm512_maskz_loadu_epi8(in, xr + i),
                                       _mm512_maskz_mov_epi8(in, flip)));
        }
    }
}

#define S8V_DECL(r) __m512i a##r##0 = i0, a##r##1 = i1;
#define S8V_STEP(r)                                                   \
    {                                                                 \
        const __m512i xv = _mm512_set1_epi32(xp[(size_t)(r)*kp + i]); \
        a##r##0 = s8_dpbusd_avx512vnni(a##r##0, xv, w0);              \
        a##r##1 = s8_dpbusd_avx512vnni(a##r##1, xv, w1);              \
    }
#define S8V_STORE(r)                                      \
    _mm512_storeu_si512((void *)(acc + (r)*32), a##r##0); \
    _mm512_storeu_si512((void *)(acc + (r)*32 + 16), a##r##1);
#define S8V_TILE(name, ROWS_OF)                                                              \
    CNNC_TARGET_AVX512VNNI static void name(const int32_t *xp, int32_t kp, const int8_t *wp, \
                                            const int32_t *init, int32_t *acc) {             \
        const __m512i i0 = _mm512_loadu_si512((const void *)init);                           \
        const __m512i i1 = _mm512_loadu_si512((const void *)(init + 16));                    \
        int32_t i;                                                                           \
        ROWS_OF(S8V_DECL)                                                                    \
        for (i = 0; i < kp; ++i) {                                                           \
            const __m512i w0 = _mm512_loadu_si512((const void *)(wp + 128 * i));             \
            const __m512i w1 = _mm512_loadu_si512((const void *)(wp + 128 * i + 64));        \
            ROWS_OF(S8V_STEP)                                                                \
        }                                                                                    \
        ROWS_OF(S8V_STORE)                                                                   \
    }
#define S8V_ROWS4(f) f(0) f(1) f(2) f(3)
#define S8V_ROWS8(f) S8V_ROWS4(f) f(4) f(5) f(6) f(7)
#define S8V_ROWS12(f) S8V_ROWS8(f) f(8) f(9) f(10) f(11)
S8V_TILE(s8_panel_tile4, S8V_ROWS4)
S8V_TILE(s8_panel_tile8, S8V_ROWS8)
S8V_TILE(s8_panel_tile12, S8V_ROWS12)

CNNC_TARGET_AVX512VNNI CNNC_INLINE void s8_panel_tile_any(const int32_t *xs, int32_t kp,
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

#endif /* CNNC_S8_TILE_AVX512VNNI_H */
