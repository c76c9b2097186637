/* Binary 3x3 conv for 2 or 4 words a pixel (33-64, 97-128 channels) on AVX-512BW, lanes over 16
 * output pixels with the input's words in planes ("pq": planar): vector (tap t, word j) holds word
 * j of the 16 pixels' tap-t inputs, one pixel a 32-bit lane. b1_conv_px_avx512.h keeps a pixel's
 * words in adjacent lanes, so it can add up only the nine taps of one word before it must
 * popcount (four nibble-table popcounts per nine inputs); here a lane sees all 9 * XW
 * inputs of its pixel, and one carry-save tree adds them all:
 *
 * - each input a = x ^ w goes through a bit-sliced counter (planes of weight 1, 2, 4, ..):
 *   a full adder takes the plane, one waiting input and the new one to a sum and a carry
 *   for the next plane (two vpternlogd), a half adder closes a plane at the end; then one
 *   nibble-table popcount per plane (weight 2^l in the table). 18 inputs (XW 2) end in 5
 *   planes, 36 (XW 4) in 6, against 8 and 16 popcounts with words in lanes: about 89 zmm
 *   µops per 16 pixels x 64 channels x 9 taps instead of 104, 152 instead of 208 at 128.
 * - the full adder's carry is maj(a, b, v) = a if a == b else NOT(a ^ b ^ v): computed from
 *   the sum (vpternlogd 0xD4), so each vpternlogd overwrites an operand that dies and no
 *   register copy is needed.
 * - a block is 16 pixels of one output row, or of two rows of 8 when the row has <= 8
 *   pixels; its inputs are gathered once into the planes (zero outside the input) and
 *   reused by every output channel. Border blocks mask each tap's lanes ((x ^ w) & m, one
 *   vpternlogd), so padded taps count nothing, as b1_conv_dot skips them.
 *
 * Bit-exact to __ref: dot = K_valid - 2 * (popcount over the valid taps' XORed words), an
 * integer sum in any order. Byte counters: planes of weight <= 16 add <= 8 * (1 + 2 + 4 +
 * 8 + 16) = 248 to a byte, the weight-32 plane goes to a second byte counter (<= 8), and
 * vpmaddubsw's pair sums stay <= 2 * 248 + 2 * 8 * 32 = 1008. Private to the b1 AVX-512
 * kernels. */
#ifndef CNNC_B1_CONV_PQ_AVX512_H
#define CNNC_B1_CONV_PQ_AVX512_H

#include "b1_conv_px_avx512.h" /* B1PX_ALWAYS_INLINE, b1pz_add_pop, b1pz_transpose16 */

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define B1PQ_XW 4          /* words a pixel at most (128 channels) */
#define B1PQ_COLS (16 + 2) /* a block row's input columns: 16 pixels and the 3x3 halo */
#define B1PQ_ROWS (2 * 3)  /* input rows of a block: 3 a row, 2 rows a block at most */

/* One block: 16 lanes, lane i the output pixel (oy0 + i / pw, ox0 + i % pw). */
typedef struct {
    uint32_t x[9][B1PQ_XW][16]; /* tap t = ky * 3 + kx, word j: the lanes' input words */
    __m512i m[9];               /* tap t: all-ones lanes where the tap is inside the input */
    __m512i k;                  /* each lane's K: valid taps * c */
    int masked;                 /* some live lane has a padded tap */
    ptrdiff_t px[16];           /* lane i's output pixel (flat index), -1: a dead lane */
    uint32_t row[B1PQ_ROWS][B1PQ_XW][B1PQ_COLS]; /* planar copies of the input rows */
} b1pq_block;

/* groups 1, zero padding, 3x3, stride_w 1, no dilation, 2 or 4 words a pixel. */
CNNC_INLINE int b1pq_applies(const cnnc_b1_conv_params *p) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    return p->groups == 1 && !p->pad_one && p->stride_w == 1 && p->dilation_h == 1 &&
           p->dilation_w == 1 && p->kernel_h == 3 && p->kernel_w == 3 && (xw == 2 || xw == 4);
}

/* Lanes a block row: 16, or 8 (two output rows a block) when a row has <= 8 pixels. */
CNNC_INLINE int32_t b1pq_row_lanes(const cnnc_b1_conv_params *p) { return p->out_w <= 8 ? 8 : 16; }

/* Lane bits lo .. hi - 1 (empty when hi <= lo), lo and hi clamped to [0, 16]. */
CNNC_INLINE uint32_t b1pq_lanes(int32_t lo, int32_t hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi > lo ? ((1u << hi) - 1u) & ~((1u << lo) - 1u) : 0u;
}

/* Gathers the block at (n, oy0, ox0): for each of its output rows r the three input rows
 * oy * stride_h - pad_top + ky, columns ox0 - pad_left .. + pw + 1, word-planar (zero
 * outside the input), then each tap's lanes from them. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pq_block_at(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                  int32_t n, int32_t oy0, int32_t ox0,
                                                  b1pq_block *b) {
    const int32_t xw = CNNC_B1_WORDS(p->c), pw = b1pq_row_lanes(p), rows = 16 / pw;
    const int32_t x0 = ox0 - p->pad_left;
    const int32_t nlive = p->out_w - ox0 < pw ? p->out_w - ox0 : pw;
    /* columns lo .. hi - 1 of a block row are inside the input */
    const int32_t lo = x0 < 0 ? -x0 : 0;
    const int32_t hi = p->w - x0 < pw + 2 ? p->w - x0 : pw + 2;
    uint32_t valid[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0}; /* lane bits of each tap */
    uint32_t live = 0;
    int32_t r, ky, kx, j, col, t;
    __m512i k = _mm512_setzero_si512();
    for (r = 0; r < rows; ++r) {
        const int32_t oy = oy0 + r;
        if (oy < p->out_h) live |= b1pq_lanes(0, nlive) << (r * pw);
        for (col = 0; col < pw; ++col)
            b->px[r * pw + col] = oy < p->out_h && col < nlive
                                      ? ((ptrdiff_t)n * p->out_h + oy) * p->out_w + ox0 + col
                                      : -1;
        for (ky = 0; ky < 3; ++ky) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky;
            const int row_in = oy < p->out_h && iy >= 0 && iy < p->h && hi > lo;
            uint32_t(*dst)[B1PQ_COLS] = b->row[r * 3 + ky];
            for (j = 0; j < xw; ++j) memset(dst[j], 0, sizeof dst[j]);
            if (row_in) {
                const uint32_t *src = x + ((size_t)(n * p->h + iy) * p->w + x0 + lo) * xw;
                for (col = lo; col < hi; ++col)
                    for (j = 0; j < xw; ++j) dst[j][col] = src[(size_t)(col - lo) * xw + j];
                for (kx = 0; kx < 3; ++kx)
                    valid[ky * 3 + kx] |= (b1pq_lanes(lo - kx, hi - kx) & b1pq_lanes(0, pw))
                                          << (r * pw);
            }
            for (kx = 0; kx < 3; ++kx)
                for (j = 0; j < xw; ++j) {
                    uint32_t *to = &b->x[ky * 3 + kx][j][r * pw];
                    if (pw == 16)
                        _mm512_storeu_si512((void *)to,
                                            _mm512_loadu_si512((const void *)&dst[j][kx]));
                    else
                        _mm256_storeu_si256((__m256i *)to,
                                            _mm256_loadu_si256((const __m256i *)&dst[j][kx]));
                }
        }
    }
    b->masked = 0;
    for (t = 0; t < 9; ++t) {
        b->m[t] = _mm512_movm_epi32((__mmask16)valid[t]);
        k = _mm512_mask_add_epi32(k, (__mmask16)valid[t], k, _mm512_set1_epi32(p->c));
        if ((valid[t] & live) != live) b->masked = 1;
    }
    b->k = k;
}

/* The bit-sliced counter is local scalars (plane pL of weight 2^L, wL an input waiting at
 * plane L, hL / qL: pL / wL hold a value), so once the caller's loops are unrolled every
 * flag is a constant and only the adders are left. A full adder (plane, waiting input, v) leaves
 * the sum in the plane and adds the carry at L + 1. The carry is maj(a, b, v) = a if a == b else
 * NOT(a ^ b ^ v): from the sum, so each vpternlogd overwrites an operand that dies. */
#define B1PQ_FULL_ADD(L, V, CARRY)                                             \
    do {                                                                       \
        const __m512i sum_ = _mm512_ternarylogic_epi32((V), p##L, w##L, 0x96); \
        CARRY = _mm512_ternarylogic_epi32(p##L, w##L, sum_, 0xD4);             \
        p##L = sum_;                                                           \
        q##L = 0;                                                              \
    } while (0)
/* B1PQ_FROM<L>(V) adds V at plane L and ripples the carries up; plane 6 (the top of a
 * 127-input counter) never carries. */
#define B1PQ_FROM6(V)                              \
    do {                                           \
        p6 = h6 ? _mm512_xor_si512(p6, (V)) : (V); \
        h6 = 1;                                    \
    } while (0)
#define B1PQ_FROM5(V)                   \
    do {                                \
        const __m512i v5_ = (V);        \
        if (!h5) {                      \
            p5 = v5_;                   \
            h5 = 1;                     \
        } else if (!q5) {               \
            w5 = v5_;                   \
            q5 = 1;                     \
        } else {                        \
            __m512i c5_;                \
            B1PQ_FULL_ADD(5, v5_, c5_); \
            B1PQ_FROM6(c5_);            \
        }                               \
    } while (0)
#define B1PQ_FROM4(V)                   \
    do {                                \
        const __m512i v4_ = (V);        \
        if (!h4) {                      \
            p4 = v4_;                   \
            h4 = 1;                     \
        } else if (!q4) {               \
            w4 = v4_;                   \
            q4 = 1;                     \
        } else {                        \
            __m512i c4_;                \
            B1PQ_FULL_ADD(4, v4_, c4_); \
            B1PQ_FROM5(c4_);            \
        }                               \
    } while (0)
#define B1PQ_FROM3(V)                   \
    do {                                \
        const __m512i v3_ = (V);        \
        if (!h3) {                      \
            p3 = v3_;                   \
            h3 = 1;                     \
        } else if (!q3) {               \
            w3 = v3_;                   \
            q3 = 1;                     \
        } else {                        \
            __m512i c3_;                \
            B1PQ_FULL_ADD(3, v3_, c3_); \
            B1PQ_FROM4(c3_);            \
        }                               \
    } while (0)
#define B1PQ_FROM2(V)                   \
    do {                                \
        const __m512i v2_ = (V);        \
        if (!h2) {                      \
            p2 = v2_;                   \
            h2 = 1;                     \
        } else if (!q2) {               \
            w2 = v2_;                   \
            q2 = 1;                     \
        } else {                        \
            __m512i c2_;                \
            B1PQ_FULL_ADD(2, v2_, c2_); \
            B1PQ_FROM3(c2_);            \
        }                               \
    } while (0)
#define B1PQ_FROM1(V)                   \
    do {                                \
        const __m512i v1_ = (V);        \
        if (!h1) {                      \
            p1 = v1_;                   \
            h1 = 1;                     \
        } else if (!q1) {               \
            w1 = v1_;                   \
            q1 = 1;                     \
        } else {                        \
            __m512i c1_;                \
            B1PQ_FULL_ADD(1, v1_, c1_); \
            B1PQ_FROM2(c1_);            \
        }                               \
    } while (0)
#define B1PQ_FROM0(V)                   \
    do {                                \
        const __m512i v0_ = (V);        \
        if (!h0) {                      \
            p0 = v0_;                   \
            h0 = 1;                     \
        } else if (!q0) {               \
            w0 = v0_;                   \
            q0 = 1;                     \
        } else {                        \
            __m512i c0_;                \
            B1PQ_FULL_ADD(0, v0_, c0_); \
            B1PQ_FROM1(c0_);            \
        }                               \
    } while (0)
/* Plane L's waiting input joins it by a half adder; the carry is added at L + 1. */
#define B1PQ_CLOSE(L, NEXT)                                  \
    if (q##L) {                                              \
        const __m512i carry_ = _mm512_and_si512(p##L, w##L); \
        p##L = _mm512_xor_si512(p##L, w##L);                 \
        q##L = 0;                                            \
        NEXT(carry_);                                        \
    }

/* Lane sums of 2^l * popcount(plane l): planes of weight <= 16 in one byte counter, 32 and
 * 64 in a second one weighted 32 by vpmaddubsw. */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512i b1pq_count(const __m512i *plane,
                                                                const int *has) {
    const __m128i lut4 = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    __m512i lo = _mm512_setzero_si512(), hi = lo, pairs;
    int l;
    _Pragma("GCC unroll 7") for (l = 0; l < 7; ++l) {
        if (!has[l]) continue;
        if (l < 5)
            lo = b1pz_add_pop(lo, plane[l], _mm512_broadcast_i32x4(_mm_slli_epi16(lut4, l)));
        else
            hi = b1pz_add_pop(hi, plane[l], _mm512_broadcast_i32x4(_mm_slli_epi16(lut4, l - 5)));
    }
    pairs = _mm512_maddubs_epi16(lo, _mm512_set1_epi8(1));
    if (has[5] || has[6])
        pairs = _mm512_add_epi16(pairs, _mm512_maddubs_epi16(hi, _mm512_set1_epi8(32)));
    return _mm512_madd_epi16(pairs, _mm512_set1_epi16(1));
}

/* The dot of output channel c (filter wc: [3, 3, XW] words) in every lane of the block. */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512i b1pq_dot(const b1pq_block *b,
                                                              const uint32_t *wc, const int xw,
                                                              const int masked) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i p0 = zero, p1 = zero, p2 = zero, p3 = zero, p4 = zero, p5 = zero, p6 = zero;
    __m512i w0 = zero, w1 = zero, w2 = zero, w3 = zero, w4 = zero, w5 = zero;
    int h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0, h6 = 0;
    int q0 = 0, q1 = 0, q2 = 0, q3 = 0, q4 = 0, q5 = 0;
    int t, j;
    _Pragma("GCC unroll 9") for (t = 0; t < 9; ++t) {
        _Pragma("GCC unroll 4") for (j = 0; j < xw; ++j) {
            const __m512i xv = _mm512_loadu_si512((const void *)b->x[t][j]);
            const __m512i wv = _mm512_set1_epi32((int)wc[t * xw + j]);
            B1PQ_FROM0(masked ? _mm512_ternarylogic_epi32(wv, b->m[t], xv, 0x48)
                              : _mm512_xor_si512(xv, wv));
        }
    }
    B1PQ_CLOSE(0, B1PQ_FROM1)
    B1PQ_CLOSE(1, B1PQ_FROM2)
    B1PQ_CLOSE(2, B1PQ_FROM3)
    B1PQ_CLOSE(3, B1PQ_FROM4)
    B1PQ_CLOSE(4, B1PQ_FROM5)
    B1PQ_CLOSE(5, B1PQ_FROM6) {
        const __m512i plane[7] = {p0, p1, p2, p3, p4, p5, p6};
        const int has[7] = {h0, h1, h2, h3, h4, h5, h6};
        return _mm512_sub_epi32(b->k, _mm512_slli_epi32(b1pq_count(plane, has), 1));
    }
}

/* Channel c's dots over the block, dispatching to the constant-folded bodies. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i b1pq_dot_any(const cnnc_b1_conv_params *p,
                                                    const b1pq_block *b, const uint32_t *w,
                                                    int32_t c) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const uint32_t *wc = w + (size_t)c * 9 * xw;
    if (xw == 2) return b->masked ? b1pq_dot(b, wc, 2, 1) : b1pq_dot(b, wc, 2, 0);
    return b->masked ? b1pq_dot(b, wc, 4, 1) : b1pq_dot(b, wc, 4, 0);
}

/* Bits output (cnnc_b1_conv_bits__ref): bit co of a pixel is dot < thresholds[co]; the
 * 16-lane masks of 32 channels are transposed to a word a pixel as b1pz_conv_bits does. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pq_conv_bits(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                   const uint32_t *w, const int32_t *thresholds,
                                                   uint32_t *y) {
    const int32_t yw = CNNC_B1_WORDS(p->out_c), pw = b1pq_row_lanes(p), rows = 16 / pw;
    int32_t n, oy0, ox0, co, c, i;
    b1pq_block b;
    for (n = 0; n < p->n; ++n)
        for (oy0 = 0; oy0 < p->out_h; oy0 += rows)
            for (ox0 = 0; ox0 < p->out_w; ox0 += pw) {
                b1pq_block_at(p, x, n, oy0, ox0, &b);
                for (co = 0; co < p->out_c; co += 32) {
                    uint16_t m[32] = {0}; /* element c: lane mask of channel co + c */
                    const int32_t end = p->out_c - co < 32 ? p->out_c - co : 32;
                    __m512i mv;
                    for (c = 0; c < end; ++c)
                        m[c] = (uint16_t)_mm512_cmpgt_epi32_mask(
                            _mm512_set1_epi32(thresholds[co + c]), b1pq_dot_any(p, &b, w, co + c));
                    mv = _mm512_loadu_si512((const void *)m);
                    for (i = 0; i < 16; ++i) {
                        if (b.px[i] >= 0)
                            y[(size_t)b.px[i] * yw + co / 32] = (uint32_t)_mm512_test_epi16_mask(
                                mv, _mm512_set1_epi16((short)(1 << i)));
                    }
                }
            }
}

/* Float (kind 0) or int8 (kind 1) outputs as b1pz_conv_values: the dots of 16 channels
 * transposed to vectors over channels, one store of 16 outputs a pixel. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pq_conv_values(const cnnc_b1_conv_params *p,
                                                     const uint32_t *x, const uint32_t *w,
                                                     const float *multiplier, const float *bias,
                                                     void *y, int kind) {
    const int32_t pw = b1pq_row_lanes(p), rows = 16 / pw;
    int32_t n, oy0, ox0, g, c;
    b1pq_block b;
    for (n = 0; n < p->n; ++n)
        for (oy0 = 0; oy0 < p->out_h; oy0 += rows)
            for (ox0 = 0; ox0 < p->out_w; ox0 += pw) {
                b1pq_block_at(p, x, n, oy0, ox0, &b);
                for (g = 0; g < p->out_c; g += 16) {
                    __m512i dots[16];
                    for (c = 0; c < 16; ++c)
                        dots[c] = b1pq_dot_any(p, &b, w, g + c < p->out_c ? g + c : p->out_c - 1);
                    b1pz_values_out(p, dots, b.px, g, multiplier, bias, y, kind);
                }
            }
}

#endif /* __x86_64__ */
#endif /* CNNC_B1_CONV_PQ_AVX512_H */
