/* Binary conv for small channel counts on AVX2, vectorised over output pixels instead of
 * over a filter's words: with 1, 2 or 4 words per input pixel (c <= 128) a window's run is
 * 3 to 12 words, too short for the word-vector loops of b1_conv_loops.h (a 256-bit load of
 * 8 words would be mostly masked off). Here one 256-bit load holds 8 / XW adjacent input
 * pixels (stride 1 makes the inputs of 8 adjacent output pixels under one tap adjacent), the
 * tap's XW weight words are broadcast to every pixel, and the nibble-table popcount counts
 * 8 output pixels of one output channel per 8 vector µops (the same 96 binary MACs/cycle
 * peak as b1_conv_avx2.c, now with every lane live).
 *
 * Bit-exact to __ref: each dot is K_valid - 2 * (sum of popcounts of the valid taps' XORed
 * words), integers in any order; zero padding is a lane mask (the tap counts 0 and is not
 * in K), exactly as b1_conv_dot skips a padded tap. Private to the b1 AVX2 kernels. */
#ifndef CNNC_B1_CONV_PX_AVX2_H
#define CNNC_B1_CONV_PX_AVX2_H

#include "cnnc_b1.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define B1PX_PIX 8       /* output pixels per block (one int32 lane each) */
#define B1PX_MAX_K 7     /* kernel_h, kernel_w bound of the block buffer */
#define B1PX_MAX_TAPS 31 /* byte counters gain <= 8 per tap: 31 * 8 = 248 <= 255 */

#define B1PX_ALWAYS_INLINE __attribute__((always_inline)) inline
/* the loops over channels and vectors unrolled, so the accumulators stay in registers */
#define B1PX_UNROLL _Pragma("GCC unroll 8")

/* groups == 1 and zero padding (one window run per kernel row), stride_w 1 and no
 * dilation (adjacent output pixels read adjacent input pixels), 1, 2 or 4 words a pixel,
 * and a kernel small enough for the byte counters and the border buffer. */
CNNC_INLINE int b1px_applies(const cnnc_b1_conv_params *p) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    return p->groups == 1 && !p->pad_one && p->stride_w == 1 && p->dilation_h == 1 &&
           p->dilation_w == 1 && (xw == 1 || xw == 2 || xw == 4) && p->kernel_h <= B1PX_MAX_K &&
           p->kernel_w <= B1PX_MAX_K && p->kernel_h * p->kernel_w <= B1PX_MAX_TAPS;
}

/* One block: 8 output pixels (n, oy, ox0 .. ox0 + 7) and where their windows' words are. */
typedef struct {
    const uint32_t *x; /* words of input row (valid kernel row ky0), column ox0 - pad_left */
    const uint32_t *m; /* same layout, all-ones words where the column is inside the
                          input, else 0; NULL when every column is inside (no mask) */
    size_t row;        /* words from one kernel row to the next in x and m */
    int32_t ky0, ky1;  /* valid kernel rows */
    __m256i k;         /* each pixel's K: valid taps * c */
    /* the border copy: rows ky0..ky1-1, kernel_w + 7 columns of up to 4 words */
    uint32_t buf[B1PX_MAX_K * (B1PX_PIX + B1PX_MAX_K - 1) * 4];
    uint32_t mask[B1PX_MAX_K * (B1PX_PIX + B1PX_MAX_K - 1) * 4];
} b1px_block;

/* Sets up the block at (n, oy, ox0): interior blocks point into x, border blocks copy their
 * window (zero words and zero masks outside the input) so no load leaves the tensor. */
CNNC_TARGET_AVX2 CNNC_INLINE void b1px_block_at(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                int32_t n, int32_t oy, int32_t ox0, b1px_block *b) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox0 - p->pad_left;
    const int32_t cols = B1PX_PIX + p->kernel_w - 1;
    int32_t ky, col, i, j, rows_valid;
    int32_t kl[B1PX_PIX];
    b->ky0 = y0 < 0 ? -y0 : 0;
    b->ky1 = p->h - y0 < p->kernel_h ? p->h - y0 : p->kernel_h;
    rows_valid = b->ky1 - b->ky0;
    for (i = 0; i < B1PX_PIX; ++i) {
        /* columns x0 + i + kx inside [0, w) */
        const int32_t lo = -(x0 + i) > 0 ? -(x0 + i) : 0;
        const int32_t hi = p->w - (x0 + i) < p->kernel_w ? p->w - (x0 + i) : p->kernel_w;
        kl[i] = (hi > lo ? hi - lo : 0) * rows_valid * p->c;
    }
    b->k = _mm256_loadu_si256((const __m256i *)kl);
    if (x0 >= 0 && x0 + cols <= p->w) {
        b->x = x + ((size_t)(n * p->h + y0 + b->ky0) * p->w + x0) * xw;
        b->m = NULL;
        b->row = (size_t)p->w * xw;
        return;
    }
    b->row = (size_t)cols * xw;
    for (ky = b->ky0; ky < b->ky1; ++ky) {
        const uint32_t *src = x + (size_t)(n * p->h + y0 + ky) * p->w * xw;
        uint32_t *dst = b->buf + (size_t)(ky - b->ky0) * b->row;
        uint32_t *msk = b->mask + (size_t)(ky - b->ky0) * b->row;
        for (col = 0; col < cols; ++col) {
            const int32_t ix = x0 + col;
            const int inside = ix >= 0 && ix < p->w;
            for (j = 0; j < xw; ++j) {
                dst[col * xw + j] = inside ? src[(size_t)ix * xw + j] : 0u;
                msk[col * xw + j] = inside ? 0xFFFFFFFFu : 0u;
            }
        }
    }
    b->x = b->buf;
    b->m = b->mask;
}

CNNC_TARGET_AVX2 B1PX_ALWAYS_INLINE static __m256i b1px_popcount_bytes(__m256i v) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i lo = _mm256_and_si256(v, nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

/* The tap's XW weight words repeated over the vector. */
CNNC_TARGET_AVX2 B1PX_ALWAYS_INLINE static __m256i b1px_bcast(const uint32_t *w, int xw) {
    if (xw == 1) return _mm256_set1_epi32((int)w[0]);
    if (xw == 2) return _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)w));
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w));
}

/* Byte counts (bytes of XW vectors, pixel-major) to 8 int32 per-pixel counts, in pixel
 * order. Byte lanes are <= 248, so vpmaddubsw's int16 pair sums (<= 496) never saturate. */
CNNC_TARGET_AVX2 B1PX_ALWAYS_INLINE static __m256i b1px_pixel_counts(const __m256i *acc, int xw) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i d[4];
    int v;
    B1PX_UNROLL
    for (v = 0; v < xw; ++v) d[v] = _mm256_madd_epi16(_mm256_maddubs_epi16(acc[v], ones8), ones16);
    if (xw == 1) return d[0];
    if (xw == 2) /* [p0 p1 p4 p5 | p2 p3 p6 p7] -> pixel order */
        return _mm256_permute4x64_epi64(_mm256_hadd_epi32(d[0], d[1]), 0xD8);
    /* xw == 4: [p0 p2 p4 p6 | p1 p3 p5 p7] -> pixel order */
    return _mm256_permutevar8x32_epi32(
        _mm256_hadd_epi32(_mm256_hadd_epi32(d[0], d[1]), _mm256_hadd_epi32(d[2], d[3])),
        _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* dots[o] (8 int32, one per pixel of the block) of output channels co + o, o < ocb, with
 * filters w + min(co + o, out_c - 1) * filter (a channel past out_c repeats the last one;
 * callers drop it). XW words a pixel, MASKED: the block has a border mask. */
CNNC_TARGET_AVX2 B1PX_ALWAYS_INLINE static void b1px_dots(const cnnc_b1_conv_params *p,
                                                          const b1px_block *b, const uint32_t *w,
                                                          int32_t co, __m256i *dots, const int xw,
                                                          const int ocb, const int masked) {
    const size_t filter = (size_t)p->kernel_h * p->kernel_w * xw;
    const int32_t pix = B1PX_PIX / xw; /* pixels per vector */
    const uint32_t *wf[8];
    __m256i acc[8][4];
    int32_t o, v, ky, kx;
    B1PX_UNROLL
    for (o = 0; o < ocb; ++o) {
        const int32_t c = co + o < p->out_c ? co + o : p->out_c - 1;
        wf[o] = w + (size_t)c * filter;
        B1PX_UNROLL
        for (v = 0; v < xw; ++v) acc[o][v] = _mm256_setzero_si256();
    }
    for (ky = b->ky0; ky < b->ky1; ++ky) {
        const uint32_t *xr = b->x + (size_t)(ky - b->ky0) * b->row;
        const uint32_t *mr = masked ? b->m + (size_t)(ky - b->ky0) * b->row : NULL;
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const size_t tap = (size_t)(ky * p->kernel_w + kx) * xw;
            /* one input vector (and mask) live at a time, the weights re-broadcast from
               L1 for each: 8 accumulators and no spill even with the border mask */
            B1PX_UNROLL
            for (v = 0; v < xw; ++v) {
                const size_t at = (size_t)(kx + v * pix) * xw;
                const __m256i xv = _mm256_loadu_si256((const __m256i *)(xr + at));
                const __m256i mv = masked ? _mm256_loadu_si256((const __m256i *)(mr + at)) : xv;
                B1PX_UNROLL
                for (o = 0; o < ocb; ++o) {
                    __m256i t = _mm256_xor_si256(xv, b1px_bcast(wf[o] + tap, xw));
                    if (masked) t = _mm256_and_si256(t, mv);
                    acc[o][v] = _mm256_add_epi8(acc[o][v], b1px_popcount_bytes(t));
                }
            }
        }
    }
    B1PX_UNROLL
    for (o = 0; o < ocb; ++o)
        dots[o] = _mm256_sub_epi32(b->k, _mm256_slli_epi32(b1px_pixel_counts(acc[o], xw), 1));
}

/* Output channels per pass: accumulators ocb * xw <= 8 of the 16 ymm registers. */
#define B1PX_OCB(xw) (8 / (xw))

/* The block's dots for output channels co .. co + B1PX_OCB(xw) - 1, dispatching on the
 * words per pixel and the border mask to the constant-folded bodies. */
CNNC_TARGET_AVX2 CNNC_INLINE void b1px_dots_any(const cnnc_b1_conv_params *p, const b1px_block *b,
                                                const uint32_t *w, int32_t co, __m256i *dots) {
    const int32_t xw = CNNC_B1_WORDS(p->c);
    if (b->m == NULL) {
        if (xw == 1)
            b1px_dots(p, b, w, co, dots, 1, 8, 0);
        else if (xw == 2)
            b1px_dots(p, b, w, co, dots, 2, 4, 0);
        else
            b1px_dots(p, b, w, co, dots, 4, 2, 0);
    } else { /* the mask takes registers: two passes of half the channels, no spill */
        if (xw == 1) {
            b1px_dots(p, b, w, co, dots, 1, 4, 1);
            b1px_dots(p, b, w, co + 4, dots + 4, 1, 4, 1);
        } else if (xw == 2) {
            b1px_dots(p, b, w, co, dots, 2, 2, 1);
            b1px_dots(p, b, w, co + 2, dots + 2, 2, 2, 1);
        } else {
            b1px_dots(p, b, w, co, dots, 4, 1, 1);
            b1px_dots(p, b, w, co + 1, dots + 1, 4, 1, 1);
        }
    }
}

/* Bits output (cnnc_b1_conv_bits__ref): bit co of pixel i is dot < thresholds[co]. The
 * per-channel pixel masks of 32 channels are collected as bytes and transposed to one word
 * per pixel (bit i of every byte to the top with a shift, then vpmovmskb). */
CNNC_TARGET_AVX2 CNNC_INLINE void b1px_conv_bits(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                 const uint32_t *w, const int32_t *thresholds,
                                                 uint32_t *y) {
    const int32_t xw = CNNC_B1_WORDS(p->c), yw = CNNC_B1_WORDS(p->out_c), ocb = B1PX_OCB(xw);
    int32_t n, oy, ox0, co, o, i;
    b1px_block b;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox0 = 0; ox0 < p->out_w; ox0 += B1PX_PIX) {
                const int32_t npix = p->out_w - ox0 < B1PX_PIX ? p->out_w - ox0 : B1PX_PIX;
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox0) * yw;
                b1px_block_at(p, x, n, oy, ox0, &b);
                for (co = 0; co < p->out_c; co += 32) {
                    uint8_t m[32] = {0}; /* byte c: pixel mask of channel co + c */
                    const int32_t end = p->out_c - co < 32 ? p->out_c - co : 32;
                    int32_t c;
                    __m256i mv;
                    for (c = 0; c < end; c += ocb) {
                        __m256i dots[8];
                        b1px_dots_any(p, &b, w, co + c, dots);
                        for (o = 0; o < ocb && c + o < end; ++o) {
                            const __m256i thr = _mm256_set1_epi32(thresholds[co + c + o]);
                            m[c + o] = (uint8_t)_mm256_movemask_ps(
                                _mm256_castsi256_ps(_mm256_cmpgt_epi32(thr, dots[o])));
                        }
                    }
                    mv = _mm256_loadu_si256((const __m256i *)m);
                    for (i = 0; i < npix; ++i) {
                        const __m128i s = _mm_cvtsi32_si128(7 - i);
                        out[(size_t)i * yw + co / 32] =
                            (uint32_t)_mm256_movemask_epi8(_mm256_sll_epi16(mv, s));
                    }
                }
            }
}

/* The float transform of b1_conv.c's b1_f32_out on 8 dots: one float32 product, one sum
 * (no FMA), then the clamps as __ref's compares (a NaN stays NaN, as there). */
CNNC_TARGET_AVX2 B1PX_ALWAYS_INLINE static __m256 b1px_f32_out(__m256i dot, __m256 multiplier,
                                                               __m256 bias, __m256 lo, __m256 hi) {
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(dot), multiplier);
    v = _mm256_add_ps(v, bias);
    v = _mm256_blendv_ps(v, lo, _mm256_cmp_ps(v, lo, _CMP_LT_OQ));
    return _mm256_blendv_ps(v, hi, _mm256_cmp_ps(v, hi, _CMP_GT_OQ));
}

/* t[c] = column c of the 8 x 8 int32 matrix whose rows are r[0 .. 7] (24 shuffles). */
CNNC_TARGET_AVX2 B1PX_ALWAYS_INLINE static void b1px_transpose8(const __m256i *r, __m256i *t) {
    __m256i a[8], b[8];
    int i;
    for (i = 0; i < 8; i += 2) {
        a[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        a[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (i = 0; i < 8; i += 4) { /* b[i + k], lane L: column 4L + k of rows i .. i + 3 */
        b[i] = _mm256_unpacklo_epi64(a[i], a[i + 2]);
        b[i + 1] = _mm256_unpackhi_epi64(a[i], a[i + 2]);
        b[i + 2] = _mm256_unpacklo_epi64(a[i + 1], a[i + 3]);
        b[i + 3] = _mm256_unpackhi_epi64(a[i + 1], a[i + 3]);
    }
    for (i = 0; i < 4; ++i) {
        t[i] = _mm256_permute2x128_si256(b[i], b[4 + i], 0x20);
        t[4 + i] = _mm256_permute2x128_si256(b[i], b[4 + i], 0x31);
    }
}

/* Float (kind 0: y float32) or int8 (kind 1: y int8, the model boundary's
 * cnnc_s8_quantize__ref rounding: v / scale, NaN -> 0, clamp to [-512, 512], round half
 * to even, + zero point, clamp to int8) outputs, [n, out_h, out_w, out_c]. The dots of 8
 * channels (vectors over the block's pixels) are transposed to vectors over channels, so
 * the transform takes the channels' multipliers and biases as vectors and each pixel's 8
 * outputs are one store. */
CNNC_TARGET_AVX2 CNNC_INLINE void b1px_conv_values(const cnnc_b1_conv_params *p, const uint32_t *x,
                                                   const uint32_t *w, const float *multiplier,
                                                   const float *bias, void *y, int kind) {
    const int32_t xw = CNNC_B1_WORDS(p->c), ocb = B1PX_OCB(xw);
    const __m256 lo = _mm256_set1_ps(p->act_min), hi = _mm256_set1_ps(p->act_max);
    const __m256 scale = _mm256_set1_ps(p->out_scale);
    const __m256 qlo = _mm256_set1_ps(-512.0f), qhi = _mm256_set1_ps(512.0f);
    const __m256i zp = _mm256_set1_epi32(p->out_zero_point);
    const __m256i i8lo = _mm256_set1_epi32(-128), i8hi = _mm256_set1_epi32(127);
    int32_t n, oy, ox0, g, c, i;
    b1px_block b;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox0 = 0; ox0 < p->out_w; ox0 += B1PX_PIX) {
                const int32_t npix = p->out_w - ox0 < B1PX_PIX ? p->out_w - ox0 : B1PX_PIX;
                const size_t first = ((size_t)(n * p->out_h + oy) * p->out_w + ox0) * p->out_c;
                b1px_block_at(p, x, n, oy, ox0, &b);
                for (g = 0; g < p->out_c; g += 8) {
                    /* channels g .. g + 7 (past out_c: repeats of the last, not stored) */
                    const int32_t live = p->out_c - g < 8 ? p->out_c - g : 8;
                    float mb[16] = {0};
                    __m256 mul, add;
                    __m256i dots[8], t[8];
                    memcpy(mb, multiplier + g, (size_t)live * sizeof(float));
                    memcpy(mb + 8, bias + g, (size_t)live * sizeof(float));
                    mul = _mm256_loadu_ps(mb);
                    add = _mm256_loadu_ps(mb + 8);
                    for (c = 0; c < 8; c += ocb) b1px_dots_any(p, &b, w, g + c, dots + c);
                    b1px_transpose8(dots, t);
                    for (i = 0; i < npix; ++i) {
                        const __m256 v = b1px_f32_out(t[i], mul, add, lo, hi);
                        const size_t at = first + (size_t)i * p->out_c + g;
                        if (kind == 0) {
                            if (live == 8) {
                                _mm256_storeu_ps((float *)y + at, v);
                            } else {
                                float f[8];
                                _mm256_storeu_ps(f, v);
                                memcpy((float *)y + at, f, (size_t)live * sizeof(float));
                            }
                        } else {
                            __m256 s = _mm256_div_ps(v, scale);
                            __m256i q;
                            __m128i q16;
                            s = _mm256_and_ps(s, _mm256_cmp_ps(s, s, _CMP_ORD_Q)); /* NaN -> 0 */
                            s = _mm256_min_ps(_mm256_max_ps(s, qlo), qhi);
                            q = _mm256_cvtps_epi32(
                                _mm256_round_ps(s, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
                            q = _mm256_add_epi32(q, zp);
                            q = _mm256_min_epi32(_mm256_max_epi32(q, i8lo), i8hi);
                            /* in [-128, 127]: the saturating packs are exact */
                            q16 = _mm_packs_epi32(_mm256_castsi256_si128(q),
                                                  _mm256_extracti128_si256(q, 1));
                            q16 = _mm_packs_epi16(q16, q16);
                            if (live == 8) {
                                _mm_storel_epi64((__m128i *)(void *)((int8_t *)y + at), q16);
                            } else {
                                int8_t q8[16];
                                _mm_storeu_si128((__m128i *)(void *)q8, q16);
                                memcpy((int8_t *)y + at, q8, (size_t)live);
                            }
                        }
                    }
                }
            }
}

#endif /* __x86_64__ */
#endif /* CNNC_B1_CONV_PX_AVX2_H */
