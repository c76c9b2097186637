/* Binary conv for small channel counts on AVX-512BW, vectorised over output pixels as
 * b1_conv_px_avx2.h is (same applicability, b1pz_applies, plus 8 words a pixel: <= 256
 * channels), with changes that the wider register file and vpternlogd allow:
 *
 * - Blocks of 16 output pixels (8 when the output row has <= 8 pixels and a pixel takes
 *   2 or 4 words, so an 8x8 layer fills its vectors, and always 8 at 8 words a pixel): one 512-bit
 * load holds 16 / XW pixels, NV = block / (16 / XW) loads cover the block, and 16 / NV output
 * channels run against each load (16 zmm accumulators of the 32).
 * - Carry-save popcount over three adjacent taps: with a, b, c the three XORed vectors,
 *   popcount(a) + popcount(b) + popcount(c) = popcount(a ^ b ^ c) + 2 popcount(maj(a, b,
 *   c)), two vpternlogd (0x96, 0xE8); the doubled count is a second nibble table with
 *   entries 2 * bits. Three taps then cost 3 XOR + 2 ternlog + 2 nibble popcounts
 *   (14 µops) = 19 zmm µops instead of 24; on the two 512-bit ports that is
 *   3 * 512 / (19 / 2) = 161 binary MACs per cycle (the tier's nominal 128 is the plain
 *   nibble table's 512 / (8 / 2)).
 * - A 3x3 kernel with all three rows inside the input (every output row but the first and
 *   last) goes further: the nine taps of a channel in one carry-save tree (b1pz_dots9),
 *   four nibble popcounts instead of six, 49 µops per nine taps: 9 * 512 / (49 / 2) = 188
 *   binary MACs per cycle.
 * - The border mask is one vpternlogd with the XOR ((x ^ w) & m, 0x28), so border blocks
 *   cost as much as interior ones and need no second pass.
 *
 * Bit-exact to __ref: each dot is K_valid - 2 * (sum of popcounts of the valid taps' XORed
 * words), integers in any order; a padded tap is masked to zero bits and not in K, exactly
 * as b1_conv_dot skips it. Byte counters: every tap adds at most 8 to a byte (ones + 2 *
 * twos of three taps <= 24), b1pz_applies bounds the taps by 31, so bytes stay <= 248.
 * Private to the b1 AVX-512 kernels. */
#ifndef CNNC_B1_CONV_PX_AVX512_H
#define CNNC_B1_CONV_PX_AVX512_H

#include "b1_conv_px_avx2.h" /* b1px_applies, B1PX_MAX_K, B1PX_ALWAYS_INLINE */

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define B1PZ_PIX 16 /* output pixels per block at most (one int32 lane each) */
#define B1PZ_COLS (B1PZ_PIX + B1PX_MAX_K - 1)
/* accumulators per pass (channels x vectors): 16 of the 32 zmm registers measured faster
   than 8 on XNOR-Net (0.47 vs 0.49 ms) */
#define B1PZ_ACC 16
/* the loops over channels and vectors fully unrolled (16 channels a pass), so the
   accumulators stay in registers */
#define B1PZ_UNROLL _Pragma("GCC unroll 16")

/* One block: up to 16 output pixels (n, oy, ox0 ..) and where their windows' words are. */
typedef struct {
    const uint32_t *x; /* words of input row (valid kernel row ky0), column ox0 - pad_left */
    const uint32_t *m; /* one row of that layout (every kernel row has the same columns):
                          all-ones words where the column is inside the input, else 0;
                          NULL when every column is inside (no mask) */
    size_t row;        /* words from one kernel row to the next in x */
    int32_t ky0, ky1;  /* valid kernel rows */
    __m512i k;         /* each pixel's K: valid taps * c (int32 lanes, pixel order) */
    /* the border copy: rows ky0..ky1-1, kernel_w + pix - 1 columns of up to 4 words */
    uint32_t buf[B1PX_MAX_K * B1PZ_COLS * 8 + 16];
    uint32_t mask[B1PZ_COLS * 8 + 16];
} b1pz_block;

/* b1px_applies with 8 words a pixel (<= 256 channels) too. */
CNNC_INLINE int b1pz_applies(const cnnc_b1_conv_params *p) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    return p->groups == 1 && !p->pad_one && p->stride_w == 1 && p->dilation_h == 1 &&
           p->dilation_w == 1 && (xw == 1 || xw == 2 || xw == 4 || xw == 8) &&
           p->kernel_h <= B1PX_MAX_K && p->kernel_w <= B1PX_MAX_K &&
           p->kernel_h * p->kernel_w <= B1PX_MAX_TAPS;
}

/* Pixels per block: 16, or 8 for rows of <= 8 output pixels when a vector holds <= 8. */
CNNC_INLINE int32_t b1pz_block_pixels(const cnnc_b1_conv_params *p) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    return xw == 8 || (xw >= 2 && p->out_w <= 8) ? 8 : 16;
}

/* Lanes lo .. hi - 1 of 16 (none when hi <= lo). */
CNNC_INLINE __mmask16 b1pz_span(int32_t lo, int32_t hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return (__mmask16)(hi > lo ? ((1u << hi) - 1u) & ~((1u << lo) - 1u) : 0u);
}

/* Sets up the block of pix pixels at (n, oy, ox0): interior blocks point into x, border
 * blocks copy their window (zero words and zero masks outside the input) so no load leaves
 * the tensor. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pz_block_at(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                  int32_t n, int32_t oy, int32_t ox0, int32_t pix,
                                                  b1pz_block *b) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox0 - p->pad_left;
    const int32_t cols = pix + p->kernel_w - 1;
    int32_t ky, i, rows_valid, lo, hi;
    int32_t kl[B1PZ_PIX];
    b->ky0 = y0 < 0 ? -y0 : 0;
    b->ky1 = p->h - y0 < p->kernel_h ? p->h - y0 : p->kernel_h;
    rows_valid = b->ky1 - b->ky0;
    for (i = 0; i < B1PZ_PIX; ++i) {
        /* columns x0 + i + kx inside [0, w) */
        const int32_t lo = -(x0 + i) > 0 ? -(x0 + i) : 0;
        const int32_t hi = p->w - (x0 + i) < p->kernel_w ? p->w - (x0 + i) : p->kernel_w;
        kl[i] = (hi > lo ? hi - lo : 0) * rows_valid * p->c;
    }
    b->k = _mm512_loadu_si512((const void *)kl);
    if (x0 >= 0 && x0 + cols <= p->w) {
        b->x = x + ((size_t)(n * p->h + y0 + b->ky0) * p->w + x0) * xw;
        b->m = NULL;
        b->row = (size_t)p->w * xw;
        return;
    }
    /* columns lo .. hi - 1 of the copy are inside the input */
    lo = x0 < 0 ? -x0 : 0;
    hi = p->w - x0 < cols ? p->w - x0 : cols;
    hi = hi > lo ? hi : lo;
    b->row = (size_t)cols * xw;
    { /* words wlo .. whi - 1 of a copied row are inside; 16-word chunks (the arrays have a
         chunk of slack), each by one expanding load of only the words inside */
        const int32_t wlo = lo * xw, whi = hi * xw, row = (int32_t)b->row;
        int32_t i;
        for (i = 0; i < row; i += 16)
            _mm512_storeu_si512((void *)(b->mask + i),
                                _mm512_movm_epi32(b1pz_span(wlo - i, whi - i)));
        for (ky = b->ky0; ky < b->ky1; ++ky) {
            const uint32_t *src = x + ((size_t)(n * p->h + y0 + ky) * p->w + x0 + lo) * xw;
            uint32_t *dst = b->buf + (size_t)(ky - b->ky0) * b->row;
            for (i = 0; i < row; i += 16) {
                const int32_t skip = i <= wlo ? 0 : i - wlo < whi - wlo ? i - wlo : whi - wlo;
                _mm512_storeu_si512(
                    (void *)(dst + i),
                    _mm512_maskz_expandloadu_epi32(b1pz_span(wlo - i, whi - i), src + skip));
            }
        }
    }
    b->x = b->buf;
    b->m = b->mask;
}

/* The tap's XW weight words repeated over the vector. */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512i b1pz_bcast(const uint32_t *w, int xw) {
    if (xw == 1) return _mm512_set1_epi32((int)w[0]);
    if (xw == 2) return _mm512_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)w));
    if (xw == 4) return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)w));
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)w));
}

/* x ^ w, with the border mask m: (x ^ w) & m. */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512i b1pz_xor(__m512i x, __m512i w, __m512i m,
                                                              int masked) {
    return masked ? _mm512_ternarylogic_epi32(x, w, m, 0x28) : _mm512_xor_si512(x, w);
}

/* acc + the nibble-table bit counts of v's bytes (table lut: 1 or 2 per bit). */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512i b1pz_add_pop(__m512i acc, __m512i v,
                                                                  __m512i lut) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_and_si512(v, nibble);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
    return _mm512_add_epi8(
        acc, _mm512_add_epi8(_mm512_shuffle_epi8(lut, lo), _mm512_shuffle_epi8(lut, hi)));
}

/* Byte counts (NV vectors of XW words a pixel, pixel-major) to int32 per-pixel counts in
 * pixel order (lanes past the block's pixels are 0 or junk; callers drop them). Bytes are
 * <= 248: vpmaddubsw's pair sums (<= 496) do not saturate, vpsadbw's sums fit 32 bits. */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512i b1pz_pixel_counts(const __m512i *acc, int xw,
                                                                       int nv) {
    const __m512i zero = _mm512_setzero_si512();
    if (xw == 1) /* one dword a pixel */
        return _mm512_madd_epi16(_mm512_maddubs_epi16(acc[0], _mm512_set1_epi8(1)),
                                 _mm512_set1_epi16(1));
    if (xw == 2) { /* one qword a pixel: vpsadbw sums it */
        const __m256i lo = _mm512_cvtepi64_epi32(_mm512_sad_epu8(acc[0], zero));
        const __m512i r = _mm512_inserti64x4(zero, lo, 0);
        return nv == 1
                   ? r
                   : _mm512_inserti64x4(r, _mm512_cvtepi64_epi32(_mm512_sad_epu8(acc[1], zero)), 1);
    }
    if (xw == 8) { /* four qwords a pixel (nv == 4): sum them, keep dwords 0 and 8 */
        const __m512i pick =
            _mm512_setr_epi32(0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24);
        const __m512i join =
            _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 0, 1, 2, 3, 16, 17, 18, 19);
        __m512i s[4];
        int v;
        B1PZ_UNROLL
        for (v = 0; v < 4; ++v) {
            s[v] = _mm512_sad_epu8(acc[v], zero);
            s[v] = _mm512_add_epi64(s[v], _mm512_shuffle_epi32(s[v], _MM_PERM_BADC));
            s[v] = _mm512_add_epi64(s[v], _mm512_shuffle_i64x2(s[v], s[v], 0xB1)); /* 1032 */
        }
        return _mm512_permutex2var_epi32(_mm512_permutex2var_epi32(s[0], pick, s[1]), join,
                                         _mm512_permutex2var_epi32(s[2], pick, s[3]));
    }
    { /* xw == 4, two qwords a pixel: add the pair, keep dword 0 of each 128-bit lane */
        const __m512i pick =
            _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
        __m512i s[4], r;
        int v;
        B1PZ_UNROLL
        for (v = 0; v < nv; ++v) {
            s[v] = _mm512_sad_epu8(acc[v], zero);
            s[v] = _mm512_add_epi64(s[v], _mm512_shuffle_epi32(s[v], _MM_PERM_BADC));
        }
        r = _mm512_permutex2var_epi32(s[0], pick, s[1]); /* pixels 0..7 in the low half */
        if (nv == 4)
            r = _mm512_inserti64x4(
                r, _mm512_castsi512_si256(_mm512_permutex2var_epi32(s[2], pick, s[3])), 1);
        return r;
    }
}

/* b1pz_dots for a 3x3 kernel whose three rows are all inside the input: the nine taps of
 * one channel and one vector in a carry-save tree. Each row's three taps give (ones_r,
 * twos_r) as in b1pz_dots; the three ones_r give (O, T1), the three twos_r give (T2, F1),
 * and T1 + T2 = (T1 ^ T2) + 2 (T1 & T2), so the count is popcount(O) + 2 popcount(T1 ^ T2)
 * + 4 popcount(F1) + 4 popcount(T1 & T2): four nibble popcounts (tables of 1, 2, 4 per
 * bit) instead of six, 49 zmm µops for nine taps instead of 57. The channel loop is
 * outermost, so the tree's temporaries are the only live vectors and the inputs are
 * re-read from L1 for each channel (27 loads per 49 µops: the load ports keep up). */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static void b1pz_dots9(const cnnc_b1_conv_params *p,
                                                             const b1pz_block *b, const uint32_t *w,
                                                             int32_t co, __m512i *dots,
                                                             const int xw, const int nv,
                                                             const int masked) {
    const int ocb = B1PZ_ACC / nv;
    const size_t filter = (size_t)9 * xw;
    const int32_t pix = 16 / xw; /* pixels per vector */
    const __m128i lut4 = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m512i lut1 = _mm512_broadcast_i32x4(lut4);
    const __m512i lut2 = _mm512_broadcast_i32x4(_mm_add_epi8(lut4, lut4));
    const __m512i lut4x = _mm512_broadcast_i32x4(_mm_slli_epi16(lut4, 2)); /* entries <= 16 */
    int32_t o, v, r;
    for (o = 0; o < ocb; ++o) {
        const int32_t c = co + o < p->out_c ? co + o : p->out_c - 1;
        const uint32_t *wo = w + (size_t)c * filter;
        __m512i acc[4];
        B1PZ_UNROLL
        for (v = 0; v < nv; ++v) {
            __m512i on[3], tw[3], t1, t2, f1, a;
            B1PZ_UNROLL
            for (r = 0; r < 3; ++r) {
                const uint32_t *xr = b->x + (size_t)r * b->row + (size_t)v * pix * xw;
                const uint32_t *mr = masked ? b->m + (size_t)v * pix * xw : xr;
                const uint32_t *wr = wo + (size_t)r * 3 * xw;
                const __m512i m0 = masked ? _mm512_loadu_si512((const void *)mr) : lut1;
                const __m512i m1 = masked ? _mm512_loadu_si512((const void *)(mr + xw)) : lut1;
                const __m512i m2 = masked ? _mm512_loadu_si512((const void *)(mr + 2 * xw)) : lut1;
                const __m512i a0 =
                    b1pz_xor(_mm512_loadu_si512((const void *)xr), b1pz_bcast(wr, xw), m0, masked);
                const __m512i a1 = b1pz_xor(_mm512_loadu_si512((const void *)(xr + xw)),
                                            b1pz_bcast(wr + xw, xw), m1, masked);
                const __m512i a2 = b1pz_xor(_mm512_loadu_si512((const void *)(xr + 2 * xw)),
                                            b1pz_bcast(wr + 2 * xw, xw), m2, masked);
                on[r] = _mm512_ternarylogic_epi32(a0, a1, a2, 0x96);
                tw[r] = _mm512_ternarylogic_epi32(a0, a1, a2, 0xE8);
            }
            t1 = _mm512_ternarylogic_epi32(on[0], on[1], on[2], 0xE8);
            t2 = _mm512_ternarylogic_epi32(tw[0], tw[1], tw[2], 0x96);
            f1 = _mm512_ternarylogic_epi32(tw[0], tw[1], tw[2], 0xE8);
            a = b1pz_add_pop(_mm512_setzero_si512(),
                             _mm512_ternarylogic_epi32(on[0], on[1], on[2], 0x96), lut1);
            a = b1pz_add_pop(a, _mm512_xor_si512(t1, t2), lut2);
            a = b1pz_add_pop(a, f1, lut4x);
            acc[v] = b1pz_add_pop(a, _mm512_and_si512(t1, t2), lut4x);
        }
        dots[o] = _mm512_sub_epi32(b->k, _mm512_slli_epi32(b1pz_pixel_counts(acc, xw, nv), 1));
    }
}

/* dots[o] (int32 per pixel of the block) of output channels co + o, o < B1PZ_ACC / NV, with
 * filters w + min(co + o, out_c - 1) * filter (a channel past out_c repeats the last one;
 * callers drop it). XW words a pixel, NV vectors a block, MASKED: the block has a border
 * mask. */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static void b1pz_dots(const cnnc_b1_conv_params *p,
                                                            const b1pz_block *b, const uint32_t *w,
                                                            int32_t co, __m512i *dots, const int xw,
                                                            const int nv, const int masked) {
    const int ocb = B1PZ_ACC / nv;
    const size_t filter = (size_t)p->kernel_h * p->kernel_w * xw;
    const int32_t pix = 16 / xw; /* pixels per vector */
    const __m128i lut4 = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m512i lut1 = _mm512_broadcast_i32x4(lut4);
    const __m512i lut2 = _mm512_broadcast_i32x4(_mm_add_epi8(lut4, lut4));
    const uint32_t *wf[16];
    __m512i acc[16][4];
    int32_t o, v, ky, kx;
    B1PZ_UNROLL
    for (o = 0; o < ocb; ++o) {
        const int32_t c = co + o < p->out_c ? co + o : p->out_c - 1;
        wf[o] = w + (size_t)c * filter;
        B1PZ_UNROLL
        for (v = 0; v < nv; ++v) acc[o][v] = _mm512_setzero_si512();
    }
    for (ky = b->ky0; ky < b->ky1; ++ky) {
        const uint32_t *xr = b->x + (size_t)(ky - b->ky0) * b->row;
        const uint32_t *mr = masked ? b->m : xr;
        for (kx = 0; kx + 3 <= p->kernel_w; kx += 3) { /* three taps, carry-save */
            const size_t tap = (size_t)(ky * p->kernel_w + kx) * xw;
            B1PZ_UNROLL
            for (v = 0; v < nv; ++v) {
                const size_t at = (size_t)(kx + v * pix) * xw;
                const __m512i x0 = _mm512_loadu_si512((const void *)(xr + at));
                const __m512i x1 = _mm512_loadu_si512((const void *)(xr + at + xw));
                const __m512i x2 = _mm512_loadu_si512((const void *)(xr + at + 2 * xw));
                const __m512i m0 = masked ? _mm512_loadu_si512((const void *)(mr + at)) : x0;
                const __m512i m1 = masked ? _mm512_loadu_si512((const void *)(mr + at + xw)) : x0;
                const __m512i m2 =
                    masked ? _mm512_loadu_si512((const void *)(mr + at + 2 * xw)) : x0;
                B1PZ_UNROLL
                for (o = 0; o < ocb; ++o) {
                    const __m512i a0 = b1pz_xor(x0, b1pz_bcast(wf[o] + tap, xw), m0, masked);
                    const __m512i a1 = b1pz_xor(x1, b1pz_bcast(wf[o] + tap + xw, xw), m1, masked);
                    const __m512i a2 =
                        b1pz_xor(x2, b1pz_bcast(wf[o] + tap + 2 * xw, xw), m2, masked);
                    const __m512i ones = _mm512_ternarylogic_epi32(a0, a1, a2, 0x96);
                    const __m512i twos = _mm512_ternarylogic_epi32(a0, a1, a2, 0xE8);
                    acc[o][v] = b1pz_add_pop(b1pz_add_pop(acc[o][v], ones, lut1), twos, lut2);
                }
            }
        }
        for (; kx < p->kernel_w; ++kx) { /* taps left over: one at a time */
            const size_t tap = (size_t)(ky * p->kernel_w + kx) * xw;
            B1PZ_UNROLL
            for (v = 0; v < nv; ++v) {
                const size_t at = (size_t)(kx + v * pix) * xw;
                const __m512i x0 = _mm512_loadu_si512((const void *)(xr + at));
                const __m512i m0 = masked ? _mm512_loadu_si512((const void *)(mr + at)) : x0;
                B1PZ_UNROLL
                for (o = 0; o < ocb; ++o)
                    acc[o][v] = b1pz_add_pop(
                        acc[o][v], b1pz_xor(x0, b1pz_bcast(wf[o] + tap, xw), m0, masked), lut1);
            }
        }
    }
    B1PZ_UNROLL
    for (o = 0; o < ocb; ++o)
        dots[o] = _mm512_sub_epi32(b->k, _mm512_slli_epi32(b1pz_pixel_counts(acc[o], xw, nv), 1));
}

/* Output channels per pass: 16 / (vectors a block). */
CNNC_INLINE int32_t b1pz_ocb(const cnnc_b1_conv_params *p, int32_t pix) {
    return B1PZ_ACC / (pix * CNNC_B1_WORDS(p->c) / 16);
}

/* The block's dots for output channels co .. co + b1pz_ocb - 1, dispatching on the words
 * per pixel, the block size and the border mask to the constant-folded bodies. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pz_dots_any(const cnnc_b1_conv_params *p, const b1pz_block *b,
                                                  const uint32_t *w, int32_t co, int32_t pix,
                                                  __m512i *dots) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const int32_t nv = pix * xw / 16;
    if (p->kernel_h == 3 && p->kernel_w == 3 && b->ky0 == 0 && b->ky1 == 3) {
        if (b->m == NULL) {
            if (xw == 1)
                b1pz_dots9(p, b, w, co, dots, 1, 1, 0);
            else if (xw == 2 && nv == 1)
                b1pz_dots9(p, b, w, co, dots, 2, 1, 0);
            else if (xw == 2)
                b1pz_dots9(p, b, w, co, dots, 2, 2, 0);
            else if (xw == 8)
                b1pz_dots9(p, b, w, co, dots, 8, 4, 0);
            else if (nv == 2)
                b1pz_dots9(p, b, w, co, dots, 4, 2, 0);
            else
                b1pz_dots9(p, b, w, co, dots, 4, 4, 0);
        } else {
            if (xw == 1)
                b1pz_dots9(p, b, w, co, dots, 1, 1, 1);
            else if (xw == 2 && nv == 1)
                b1pz_dots9(p, b, w, co, dots, 2, 1, 1);
            else if (xw == 2)
                b1pz_dots9(p, b, w, co, dots, 2, 2, 1);
            else if (xw == 8)
                b1pz_dots9(p, b, w, co, dots, 8, 4, 1);
            else if (nv == 2)
                b1pz_dots9(p, b, w, co, dots, 4, 2, 1);
            else
                b1pz_dots9(p, b, w, co, dots, 4, 4, 1);
        }
        return;
    }
    if (b->m == NULL) {
        if (xw == 1)
            b1pz_dots(p, b, w, co, dots, 1, 1, 0);
        else if (xw == 2 && nv == 1)
            b1pz_dots(p, b, w, co, dots, 2, 1, 0);
        else if (xw == 2)
            b1pz_dots(p, b, w, co, dots, 2, 2, 0);
        else if (xw == 8)
            b1pz_dots(p, b, w, co, dots, 8, 4, 0);
        else if (nv == 2)
            b1pz_dots(p, b, w, co, dots, 4, 2, 0);
        else
            b1pz_dots(p, b, w, co, dots, 4, 4, 0);
    } else {
        if (xw == 1)
            b1pz_dots(p, b, w, co, dots, 1, 1, 1);
        else if (xw == 2 && nv == 1)
            b1pz_dots(p, b, w, co, dots, 2, 1, 1);
        else if (xw == 2)
            b1pz_dots(p, b, w, co, dots, 2, 2, 1);
        else if (xw == 8)
            b1pz_dots(p, b, w, co, dots, 8, 4, 1);
        else if (nv == 2)
            b1pz_dots(p, b, w, co, dots, 4, 2, 1);
        else
            b1pz_dots(p, b, w, co, dots, 4, 4, 1);
    }
}

/* Bits output (cnnc_b1_conv_bits__ref): bit co of pixel i is dot < thresholds[co]. The
 * 16-bit pixel masks of 32 channels (one vpcmpd each) are transposed to one word per
 * pixel by one vptestmw per pixel. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pz_conv_bits(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                   const uint32_t *w, const int32_t *thresholds,
                                                   uint32_t *y) {
    const int32_t yw = CNNC_B1_WORDS(p->out_c), pix = b1pz_block_pixels(p);
    const int32_t ocb = b1pz_ocb(p, pix);
    int32_t n, oy, ox0, co, o, i;
    b1pz_block b;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox0 = 0; ox0 < p->out_w; ox0 += pix) {
                const int32_t npix = p->out_w - ox0 < pix ? p->out_w - ox0 : pix;
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox0) * yw;
                b1pz_block_at(p, x, n, oy, ox0, pix, &b);
                for (co = 0; co < p->out_c; co += 32) {
                    uint16_t m[32] = {0}; /* element c: pixel mask of channel co + c */
                    const int32_t end = p->out_c - co < 32 ? p->out_c - co : 32;
                    int32_t c;
                    __m512i mv;
                    for (c = 0; c < end; c += ocb) {
                        __m512i dots[16];
                        b1pz_dots_any(p, &b, w, co + c, pix, dots);
                        for (o = 0; o < ocb && c + o < end; ++o)
                            m[c + o] = (uint16_t)_mm512_cmpgt_epi32_mask(
                                _mm512_set1_epi32(thresholds[co + c + o]), dots[o]);
                    }
                    mv = _mm512_loadu_si512((const void *)m);
                    for (i = 0; i < npix; ++i)
                        out[(size_t)i * yw + co / 32] = (uint32_t)_mm512_test_epi16_mask(
                            mv, _mm512_set1_epi16((short)(1 << i)));
                }
            }
}

/* The float transform of b1_conv.c's b1_f32_out on 16 dots: one float32 product, one sum
 * (no FMA), then the clamps as __ref's compares (a NaN stays NaN, as there). */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static __m512 b1pz_f32_out(__m512i dot, __m512 multiplier,
                                                                 __m512 bias, __m512 lo,
                                                                 __m512 hi) {
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(dot), multiplier);
    v = _mm512_add_ps(v, bias);
    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, lo, _CMP_LT_OQ), v, lo);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, hi, _CMP_GT_OQ), v, hi);
}

/* The live lanes of v (16 channels' float outputs) as int8 at y: the model boundary's
 * cnnc_s8_quantize__ref rounding (v / scale, NaN -> 0, clamp to [-512, 512], round half
 * to even, + zero point, clamp to int8). */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static void b1pz_store_s8(const cnnc_b1_conv_params *p,
                                                                int8_t *y, __mmask16 live,
                                                                __m512 v) {
    __m512 s = _mm512_div_ps(v, _mm512_set1_ps(p->out_scale));
    __m512i q;
    s = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(s, s, _CMP_ORD_Q), s);
    s = _mm512_min_ps(_mm512_max_ps(s, _mm512_set1_ps(-512.0f)), _mm512_set1_ps(512.0f));
    q = _mm512_cvtps_epi32(_mm512_roundscale_ps(s, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    q = _mm512_add_epi32(q, _mm512_set1_epi32(p->out_zero_point));
    q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-128)), _mm512_set1_epi32(127));
    _mm_mask_storeu_epi8(y, live, _mm512_cvtepi32_epi8(q));
}

/* t[c] = column c of the 16 x 16 int32 matrix whose rows are r[0 .. 15]: unpacks of 32-
 * and 64-bit elements transpose the 4 x 4 blocks inside each 128-bit lane, then two rounds
 * of 128-bit lane shuffles put the blocks in place (64 shuffles). */
CNNC_TARGET_AVX512 B1PX_ALWAYS_INLINE static void b1pz_transpose16(const __m512i *r, __m512i *t) {
    __m512i a[16], b[16];
    int i;
    for (i = 0; i < 16; i += 2) {
        a[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        a[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (i = 0; i < 16; i += 4) { /* b[i + k], lane L: column 4L + k of rows i .. i + 3 */
        b[i] = _mm512_unpacklo_epi64(a[i], a[i + 2]);
        b[i + 1] = _mm512_unpackhi_epi64(a[i], a[i + 2]);
        b[i + 2] = _mm512_unpacklo_epi64(a[i + 1], a[i + 3]);
        b[i + 3] = _mm512_unpackhi_epi64(a[i + 1], a[i + 3]);
    }
    for (i = 0; i < 4; ++i) { /* columns i, 4 + i, 8 + i, 12 + i from b[i], b[4 + i], ... */
        const __m512i e0 = _mm512_shuffle_i32x4(b[i], b[4 + i], 0x88);
        const __m512i o0 = _mm512_shuffle_i32x4(b[i], b[4 + i], 0xDD);
        const __m512i e1 = _mm512_shuffle_i32x4(b[8 + i], b[12 + i], 0x88);
        const __m512i o1 = _mm512_shuffle_i32x4(b[8 + i], b[12 + i], 0xDD);
        t[i] = _mm512_shuffle_i32x4(e0, e1, 0x88);
        t[8 + i] = _mm512_shuffle_i32x4(e0, e1, 0xDD);
        t[4 + i] = _mm512_shuffle_i32x4(o0, o1, 0x88);
        t[12 + i] = _mm512_shuffle_i32x4(o0, o1, 0xDD);
    }
}

/* The outputs of channels g .. g + 15 (past out_c: repeats of the last, not stored) from
 * their dots over a block's 16 lanes: transposed to vectors over channels, so the
 * transform takes the channels' multipliers and biases as vectors and each lane's 16
 * outputs are one store at output pixel px[lane] (none where px is -1). kind 0: float32,
 * 1: int8. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pz_values_out(const cnnc_b1_conv_params *p,
                                                    const __m512i *dots, const ptrdiff_t *px,
                                                    int32_t g, const float *multiplier,
                                                    const float *bias, void *y, int kind) {
    const __mmask16 live =
        p->out_c - g >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (p->out_c - g)) - 1);
    const __m512 mul = _mm512_maskz_loadu_ps(live, multiplier + g);
    const __m512 add = _mm512_maskz_loadu_ps(live, bias + g);
    const __m512 lo = _mm512_set1_ps(p->act_min), hi = _mm512_set1_ps(p->act_max);
    __m512i t[16];
    int32_t i;
    b1pz_transpose16(dots, t);
    for (i = 0; i < 16; ++i) {
        const size_t at = (size_t)px[i] * p->out_c + g;
        if (px[i] < 0) continue;
        if (kind == 0)
            _mm512_mask_storeu_ps((float *)y + at, live, b1pz_f32_out(t[i], mul, add, lo, hi));
        else
            b1pz_store_s8(p, (int8_t *)y + at, live, b1pz_f32_out(t[i], mul, add, lo, hi));
    }
}

/* Float (kind 0: y float32) or int8 (kind 1: y int8, the model boundary's
 * cnnc_s8_quantize__ref rounding: v / scale, NaN -> 0, clamp to [-512, 512], round half
 * to even, + zero point, clamp to int8) outputs, [n, out_h, out_w, out_c]. The dots of
 * 16 channels (vectors over the block's pixels) are transposed to vectors over channels,
 * so the transform takes the channels' multipliers and biases as vectors and each pixel's
 * 16 outputs are one contiguous store. */
CNNC_TARGET_AVX512 CNNC_INLINE void b1pz_conv_values(const cnnc_b1_conv_params *p,
                                                     const uint32_t *x, const uint32_t *w,
                                                     const float *multiplier, const float *bias,
                                                     void *y, int kind) {
    const int32_t pix = b1pz_block_pixels(p), ocb = b1pz_ocb(p, pix);
    int32_t n, oy, ox0, g, c, i;
    b1pz_block b;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox0 = 0; ox0 < p->out_w; ox0 += pix) {
                const int32_t npix = p->out_w - ox0 < pix ? p->out_w - ox0 : pix;
                const ptrdiff_t first = ((ptrdiff_t)n * p->out_h + oy) * p->out_w + ox0;
                b1pz_block_at(p, x, n, oy, ox0, pix, &b);
                for (g = 0; g < p->out_c; g += 16) {
                    __m512i dots[16];
                    ptrdiff_t px[16];
                    for (c = 0; c < 16; c += ocb) b1pz_dots_any(p, &b, w, g + c, pix, dots + c);
                    for (i = 0; i < 16; ++i) px[i] = i < npix ? first + i : -1;
                    b1pz_values_out(p, dots, px, g, multiplier, bias, y, kind);
                }
            }
}

#endif /* __x86_64__ */
#endif /* CNNC_B1_CONV_PX_AVX512_H */
