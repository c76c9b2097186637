/* ARM NEON variant of the binary conv (bits output), bit-exact to cnnc_b1_conv_bits__ref.
 * Compiled when the build targets NEON (aarch64; armv7 with -mfpu=neon*); empty otherwise.
 *
 * groups 1, zero padding (every XNOR-Net conv): per output pixel the window's valid taps
 * are gathered once into a contiguous stack buffer in the filter's own word order
 * ([kernel_h, kernel_w, WORDS(c)], absent taps as zero words, followed by 3 zero words), so
 * each filter's dot is one run of K = kernel_h * kernel_w * WORDS(c) words against the
 * filter's contiguous words: 128-bit vectors (EOR, CNT per byte, UADALP pairwise into
 * uint16 lanes) for 4 filters per pass against one load of the window. Border pixels also
 * gather a mask (all-ones words for valid taps, zero for padded ones) and AND it in, so a
 * padded tap counts 0 and is not in K, exactly as b1_conv_dot skips it. The last K % 4
 * words load lane by lane (never past the filter). The 4 filters' counts reduce by
 * pairwise adds to one uint32 vector; dot = K_valid - 2 * count is compared with the 4
 * thresholds in one vector compare and the 4 bits go into the output word together.
 * Dots are integer sums of popcounts: exact in any order.
 *
 * Overflow: a uint8 lane gains at most 8 per vector over a chunk of B1N_CHUNK vectors (16 on
 * armv7, 31 on AArch64: <= 248), then a uint16 lane gains at most 2 * 248 per chunk; K is
 * at most B1N_MAX_WORDS = 2048 words (512 vectors, <= 32 chunks of 16 or 17 of 31):
 * <= 8432 < 65535. On AArch64 the 31-vector chunk holds a whole 3x3 filter of up to 416
 * channels (256: 18 vectors), so the constant-length copies unroll without a second
 * chunk. The 4-filter tail vector adds at most 64 per uint16 lane.
 * On AArch64, 3x3 windows of 9 or 18 words (<= 64 channels) take b1x_conv instead (below:
 * the window in registers, 8 filters per pass, bytes of out bits).
 * Layers with groups > 1, one padding or larger windows take the shared loops
 * (b1_conv_loops.h) with a vector run popcount. */
#include "b1_conv_loops.h"
#include "cnnc_s8.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

#define B1N_MAX_WORDS 2048 /* window words on the stack: 8 KiB, 3x3 up to 7280 channels */

/* 4 words per step: XOR, per-byte count (vcnt), pairwise widening adds into u32 lanes
 * (each lane grows by <= 32 per step: no overflow below 2^27 steps); the tail word by word.
 * The horizontal sum uses only ARMv7 NEON (no vaddvq). */
static int32_t b1_run_popcount_neon(const uint32_t *a, const uint32_t *b, int32_t n) {
    uint32x4_t acc = vdupq_n_u32(0);
    uint64x2_t sum;
    int32_t j = 0, total;
    for (; j + 4 <= n; j += 4) {
        const uint32x4_t x = veorq_u32(vld1q_u32(a + j), vld1q_u32(b + j));
        acc = vpadalq_u16(acc, vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u32(x))));
    }
    sum = vpaddlq_u32(acc);
    total = (int32_t)(vgetq_lane_u64(sum, 0) + vgetq_lane_u64(sum, 1));
    for (; j < n; ++j) total += CNNC_B1_POPCOUNT32(a[j] ^ b[j]);
    return total;
}

/* [a0+a1, a2+a3, .., a6+a7, b0+b1, .., b6+b7] */
static inline uint16x8_t b1n_padd_u16(uint16x8_t a, uint16x8_t b) {
#if defined(__aarch64__)
    return vpaddq_u16(a, b);
#else
    return vcombine_u16(vpadd_u16(vget_low_u16(a), vget_high_u16(a)),
                        vpadd_u16(vget_low_u16(b), vget_high_u16(b)));
#endif
}

static inline uint32_t b1n_sum_u32(uint32x4_t v) {
#if defined(__aarch64__)
    return vaddvq_u32(v);
#else
    const uint32x2_t s = vpadd_u32(vget_low_u32(v), vget_high_u32(v));
    return vget_lane_u32(vpadd_u32(s, s), 0);
#endif
}

/* {p[0], p[kw], p[2 kw], p[3 kw]}: one word of each of 4 consecutive filters. On AArch64
 * four lane loads post-indexed by the filter stride (C leaves an address add per lane). */
static inline uint32x4_t b1n_load_col4(const uint32_t *p, int32_t kw) {
#if defined(__aarch64__)
    uint32x4_t v;
    const uint32_t *q = p;
    __asm__(
        "ld1 {%0.s}[0], [%1], %2\n\t"
        "ld1 {%0.s}[1], [%1], %2\n\t"
        "ld1 {%0.s}[2], [%1], %2\n\t"
        "ld1 {%0.s}[3], [%1]"
        : "=&w"(v), "+r"(q)
        : "r"((size_t)kw * sizeof(uint32_t)),
          "m"(*(const uint32_t(*)[3 * kw + 1]) p)); /* reads p[0 .. 3 kw] */
    return v;
#else
    uint32x4_t v = vld1q_lane_u32(p, vdupq_n_u32(0), 0);
    v = vld1q_lane_u32(p + kw, v, 1);
    v = vld1q_lane_u32(p + 2 * (size_t)kw, v, 2);
    return vld1q_lane_u32(p + 3 * (size_t)kw, v, 3);
#endif
}

/* Words [0, t) of p (t = 1..3), the other lanes 0; reads nothing past p + t. */
static inline uint32x4_t b1n_load_tail(const uint32_t *p, int32_t t) {
    const uint32x2_t lo = t == 1 ? vld1_lane_u32(p, vdup_n_u32(0), 0) : vld1_u32(p);
    const uint32x2_t hi = t == 3 ? vld1_lane_u32(p + 2, vdup_n_u32(0), 0) : vdup_n_u32(0);
    return vcombine_u32(lo, hi);
}

/* popcount(window XOR filter), masked when `masked`, accumulated per filter into nf
 * uint16x8 lanes; w: filter 0's words, filter f at w + f * kw. Whole vectors: the per-byte
 * counts (CNT, <= 8 each) add up in uint8 lanes over chunks of B1N_CHUNK vectors (<= 8 *
 * 31 = 248 per byte), then one UADALP per chunk widens them into the uint16 lanes. With 4
 * filters the last kw % 4 words of all 4 go in one vector per word (lane f: filter f),
 * counted into *tail (lane pair 2f, 2f+1: filter f); with 1 filter they load lane by lane
 * into acc (never past the filter). kw is a constant for the common window sizes
 * (b1n_conv_bits), so the loops unroll. */
#if defined(__aarch64__)
#define B1N_CHUNK 31
#else
#define B1N_CHUNK 16
#endif
/* c8[f] += the per-byte counts of words [j, j + 4) of the window XOR filter f */
static inline __attribute__((always_inline)) void b1n_step(const int nf, const int masked,
                                                           const uint32_t *xg, const uint32_t *mg,
                                                           const uint32_t *w, const int32_t kw,
                                                           int32_t j, uint8x16_t *c8) {
    const uint32x4_t xv = vld1q_u32(xg + j);
    const uint32x4_t mv = masked ? vld1q_u32(mg + j) : xv;
    int f;
#pragma GCC unroll 4
    for (f = 0; f < nf; ++f) {
        uint32x4_t v = veorq_u32(xv, vld1q_u32(w + (size_t)f * kw + j));
        if (masked) v = vandq_u32(v, mv);
        c8[f] = vaddq_u8(c8[f], vcntq_u8(vreinterpretq_u8_u32(v)));
    }
}

static inline __attribute__((always_inline)) void b1n_counts(const int nf, const int masked,
                                                             const uint32_t *xg, const uint32_t *mg,
                                                             const uint32_t *w, const int32_t kw,
                                                             uint16x8_t *acc, uint16x8_t *tail) {
    const int32_t body = kw & ~3, t = kw & 3;
    int32_t j = 0, f, first = 1;
#pragma GCC unroll 4
    for (f = 0; f < nf; ++f) acc[f] = vdupq_n_u16(0);
    *tail = vdupq_n_u16(0);
    while (j < body) {
        /* one chunk of vectors; with 4 filters a whole filter of one chunk (kw a constant
         * <= 4 * B1N_CHUNK words) unrolls fully, the rest by 4 (a run-time kw never takes
         * the full unroll: 31 copies of a loop body with a run-time count are only code) */
        const int32_t end = body - j > 4 * B1N_CHUNK ? j + 4 * B1N_CHUNK : body;
        uint8x16_t c8[4];
#pragma GCC unroll 4
        for (f = 0; f < nf; ++f) c8[f] = vdupq_n_u8(0);
        if (__builtin_constant_p(body) && body <= 4 * B1N_CHUNK && nf == 4) {
#pragma GCC unroll 31
            for (; j < end; j += 4) b1n_step(nf, masked, xg, mg, w, kw, j, c8);
        } else {
#pragma GCC unroll 4
            for (; j < end; j += 4) b1n_step(nf, masked, xg, mg, w, kw, j, c8);
        }
#pragma GCC unroll 4
        for (f = 0; f < nf; ++f) acc[f] = first ? vpaddlq_u8(c8[f]) : vpadalq_u8(acc[f], c8[f]);
        first = 0;
    }
    if (t && nf == 4) {
#pragma GCC unroll 3
        for (j = body; j < kw; ++j) {
            const uint32x4_t wv = b1n_load_col4(w + j, kw);
            uint32x4_t v = veorq_u32(vld1q_dup_u32(xg + j), wv);
            uint8x16_t c;
            if (masked) v = vandq_u32(v, vld1q_dup_u32(mg + j));
            c = vcntq_u8(vreinterpretq_u8_u32(v));
            *tail = j == body ? vpaddlq_u8(c) : vpadalq_u8(*tail, c);
        }
    } else if (t) {
        const uint32x4_t xv = vld1q_u32(xg + body); /* zero past kw */
        const uint32x4_t mv = masked ? vld1q_u32(mg + body) : xv;
#pragma GCC unroll 4
        for (f = 0; f < nf; ++f) {
            uint32x4_t v = veorq_u32(xv, b1n_load_tail(w + (size_t)f * kw + body, t));
            if (masked) v = vandq_u32(v, mv);
            acc[f] = vpadalq_u8(acc[f], vcntq_u8(vreinterpretq_u8_u32(v)));
        }
    }
}

/* The out bits (bit f: dot < threshold) of filters co .. co+3 against the gathered window;
 * kv: K_valid in every lane, bit: {1, 2, 4, 8}. */
static inline __attribute__((always_inline)) uint32x4_t b1n_block4(
    const int masked, const uint32_t *xg, const uint32_t *mg, const uint32_t *w, int32_t kw,
    int32x4_t kv, const int32_t *thresholds) {
    uint16x8_t acc[4], tail;
    uint32x4_t count;
    int32x4_t dot;
    b1n_counts(4, masked, xg, mg, w, kw, acc, &tail);
    /* the tail's uint16 lane pairs are per filter, as in the reduced acc */
    count = vpaddlq_u16(
        vaddq_u16(b1n_padd_u16(b1n_padd_u16(acc[0], acc[1]), b1n_padd_u16(acc[2], acc[3])), tail));
    dot = vmlsq_n_s32(kv, vreinterpretq_s32_u32(count), 2); /* K - 2 * count */
    return vcltq_s32(dot, vld1q_s32(thresholds));
}

/* The out bit of one filter (the out_c % 4 last ones). */
static inline __attribute__((always_inline)) uint32_t b1n_one(const int masked, const uint32_t *xg,
                                                              const uint32_t *mg, const uint32_t *w,
                                                              int32_t kw, int32_t k,
                                                              int32_t threshold) {
    uint16x8_t acc[1], tail;
    b1n_counts(1, masked, xg, mg, w, kw, acc, &tail);
    return k - 2 * (int32_t)b1n_sum_u32(vpaddlq_u16(acc[0])) < threshold;
}

/* One output pixel's words. A full word's 8 blocks of 4 filters gather their compare masks
 * in one vector: each block's masked bits go in at bits 28..31 of the lanes (bit28 =
 * {1, 2, 4, 8} << 28) after the earlier blocks shift down by 4 (USRA), so block b ends at
 * bits 4b..4b+3 and one horizontal add (the lanes' bits are disjoint) gives the word. */
static inline __attribute__((always_inline)) void b1n_pixel(
    const int masked, int32_t out_c, const uint32_t *xg, const uint32_t *mg, const uint32_t *w,
    int32_t kw, int32_t k, uint32x4_t bit, uint32x4_t bit28, const int32_t *thresholds,
    uint32_t *out) {
    const int32x4_t kv = vdupq_n_s32(k);
    int32_t co0, co;
    for (co0 = 0; co0 + CNNC_B1_BITS <= out_c; co0 += CNNC_B1_BITS) {
        uint32x4_t acc = vdupq_n_u32(0);
        for (co = co0; co < co0 + CNNC_B1_BITS; co += 4) {
            const uint32x4_t lt =
                b1n_block4(masked, xg, mg, w + (size_t)co * kw, kw, kv, thresholds + co);
            acc = vsraq_n_u32(vandq_u32(lt, bit28), acc, 4);
        }
        out[co0 / CNNC_B1_BITS] = b1n_sum_u32(acc);
    }
    if (co0 < out_c) {
        uint32_t bits = 0u; /* tail bits stay 0 */
        for (co = co0; co + 4 <= out_c; co += 4)
            bits |=
                b1n_sum_u32(vandq_u32(
                    b1n_block4(masked, xg, mg, w + (size_t)co * kw, kw, kv, thresholds + co), bit))
                << (co - co0);
        for (; co < out_c; ++co)
            bits |= b1n_one(masked, xg, mg, w + (size_t)co * kw, kw, k, thresholds[co])
                    << (co - co0);
        out[co0 / CNNC_B1_BITS] = bits;
    }
}

/* dst[j] = v for j in [lo, hi). */
static inline void b1n_set(uint32_t *dst, int32_t lo, int32_t hi, uint32_t v) {
    int32_t j;
    for (j = lo; j < hi; ++j) dst[j] = v;
}

/* The window of the output pixel whose tap (0, 0) is input (y0, x0) of sample n, gathered
 * into xg in the filter's word order (absent taps zero); with `border` also its mask mg
 * (all-ones words for valid taps). Each kernel row's valid taps are one contiguous run of
 * input words, copied 4 at a time. Returns the number of valid taps. */
static int32_t b1n_gather(const cnnc_b1_conv_params *p, const uint32_t *x, int32_t n, int32_t y0,
                          int32_t x0, int border, uint32_t *xg, uint32_t *mg) {
    const int32_t xw = CNNC_B1_WORDS(p->c), row = p->kernel_w * xw;
    const int32_t kx0 = x0 < 0 ? -x0 : 0;
    const int32_t kx1 = p->w - x0 < p->kernel_w ? p->w - x0 : p->kernel_w;
    const int32_t lo = kx0 * xw, hi = kx1 > kx0 ? kx1 * xw : lo;
    int32_t ky, j, taps = 0;
    for (ky = 0; ky < p->kernel_h; ++ky, xg += row, mg += row) {
        const int32_t iy = y0 + ky;
        if (iy < 0 || iy >= p->h || hi == lo) {
            b1n_set(xg, 0, row, 0u);
            b1n_set(mg, 0, row, 0u);
            continue;
        }
        { /* input words of taps kx0 .. kx1 - 1 to xg[lo, hi) */
            const uint32_t *src = x + ((size_t)(n * p->h + iy) * p->w + (x0 + kx0)) * xw;
            uint32_t *dst = xg + lo;
            const int32_t len = hi - lo;
            for (j = 0; j + 4 <= len; j += 4) vst1q_u32(dst + j, vld1q_u32(src + j));
            if (j + 2 <= len) { /* the last 1..3 words: 2 then 1 */
                vst1_u32(dst + j, vld1_u32(src + j));
                j += 2;
            }
            if (j < len) dst[j] = src[j];
        }
        taps += kx1 - kx0;
        if (border) {
            b1n_set(xg, 0, lo, 0u);
            b1n_set(xg, hi, row, 0u);
            b1n_set(mg, 0, lo, 0u);
            b1n_set(mg, lo, hi, 0xFFFFFFFFu);
            b1n_set(mg, hi, row, 0u);
        }
    }
    return taps;
}

/* The output pixels of rows [oy0, oy1) of sample n; kw (words per filter) a constant at
 * the calls of b1n_conv_bits for the usual window sizes. */
static inline __attribute__((always_inline)) void b1n_rows(const cnnc_b1_conv_params *p,
                                                           const uint32_t *x, const uint32_t *w,
                                                           const int32_t *thresholds, uint32_t *y,
                                                           const int32_t kw, uint32_t *xg,
                                                           uint32_t *mg) {
    static const uint32_t bits[4] = {1u, 2u, 4u, 8u};
    const uint32x4_t bit = vld1q_u32(bits), bit28 = vshlq_n_u32(bit, 28);
    const int32_t out_c = p->out_c, yw = CNNC_B1_WORDS(p->out_c);
    int32_t n, oy, ox;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * yw;
                const int32_t y0 = oy * p->stride_h - p->pad_top;
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int border =
                    y0 < 0 || y0 + p->kernel_h > p->h || x0 < 0 || x0 + p->kernel_w > p->w;
                const int32_t k = b1n_gather(p, x, n, y0, x0, border, xg, mg) * p->c;
                if (border)
                    b1n_pixel(1, out_c, xg, mg, w, kw, k, bit, bit28, thresholds, out);
                else
                    b1n_pixel(0, out_c, xg, mg, w, kw, k, bit, bit28, thresholds, out);
            }
}

#if defined(__aarch64__) && !defined(__ARM_BIG_ENDIAN)
/* Short filters (K = kernel_h * kernel_w * WORDS(c) of 9 or 18 words: 3x3 at <= 32 or
 * <= 64 channels) on AArch64: the window's K words stay in registers, each broadcast to 4
 * lanes (x-stationary), and the filters stream past them 8 at a time from a stack copy
 * packed word-major ([block of 8][K][8 filters], one LDP per word), so a word costs
 * EOR + CNT + ADD per 4 filters plus half a load. A byte lane gains <= 8 per word: <= 144
 * over K <= 18 words. Per block UADDLP, UADDLP, ADDP give the 8 filters' counts in uint16
 * lanes, one compare gives their 8 out bits, which are one byte of the output word
 * (little-endian), so blocks store bytes.
 *
 * Border pixels: padded taps are gathered as zero words, so their count includes the
 * weights' popcount there; the compare subtracts it. With Kb = taps * c, D = Kb - K_valid
 * (padded taps * c), corr = popcount of the filter's padded taps and cnt the count over all
 * K words (cnt - corr the valid taps' popcount): out bit = K_valid - 2 (cnt - corr) < thr
 * <=> 2 cnt > A - D + 2 corr with A = Kb - thr <=> cnt > floor((A - D) / 2) + corr.
 * 0 <= 2 cnt - 2 corr + D <= 2 Kb, so A clamps to [-1, 2 Kb] without changing a bit;
 * Kb <= 18 * 32 = 576 keeps every value in int16 lanes. Filters past out_c get A = 2 Kb
 * and zero weights: their bits stay 0. */
#define B1X_MAX_K 18
#define B1X_CHUNK 128 /* filters packed at a time: 9 KiB of stack */

/* The window of the output pixel whose tap (0, 0) is input (y0, x0) of sample n into xg
 * ([kh, kwd, xw] words, padded taps zero), the padded taps' indices into pad[*npad].
 * Returns the number of valid taps. */
static inline __attribute__((always_inline)) int32_t b1x_window(const cnnc_b1_conv_params *p,
                                                                const uint32_t *x, int32_t n,
                                                                int32_t y0, int32_t x0,
                                                                const int32_t kh, const int32_t kwd,
                                                                const int32_t xw, uint32_t *xg,
                                                                int32_t *pad, int32_t *npad) {
    int32_t ky, kx, i, valid = 0, np = 0;
    for (ky = 0; ky < kh; ++ky) {
        const int32_t iy = y0 + ky;
        const int row_ok = iy >= 0 && iy < p->h;
        const uint32_t *row = x + (size_t)(n * p->h + (row_ok ? iy : 0)) * p->w * xw;
        for (kx = 0; kx < kwd; ++kx) {
            const int32_t ix = x0 + kx, t = ky * kwd + kx;
            if (row_ok && ix >= 0 && ix < p->w) {
                for (i = 0; i < xw; ++i) xg[t * xw + i] = row[(size_t)ix * xw + i];
                ++valid;
            } else {
                for (i = 0; i < xw; ++i) xg[t * xw + i] = 0u;
                pad[np++] = t;
            }
        }
    }
    *npad = np;
    return valid;
}

static inline __attribute__((always_inline)) void b1x_pixel(const int border, const int32_t K,
                                                            const uint32_t *xg, const uint32_t *pk,
                                                            int32_t nb, const int16_t *lim,
                                                            const int16_t *alim, const int16_t *tpt,
                                                            int32_t taps, const int32_t *pad,
                                                            int32_t npad, int16_t d, uint8_t *out) {
    static const uint16_t weights[8] = {1, 2, 4, 8, 16, 32, 64, 128};
    const uint16x8_t wv = vld1q_u16(weights);
    uint32x4_t xd[B1X_MAX_K];
    int32_t j, b, i;
#pragma GCC unroll 18
    for (j = 0; j < K; ++j) xd[j] = vld1q_dup_u32(xg + j);
    for (b = 0; b < nb; ++b) {
        const uint32_t *wb = pk + (size_t)b * K * 8;
        uint8x16_t a0 = vdupq_n_u8(0), a1 = vdupq_n_u8(0);
        int16x8_t l, cnt;
#pragma GCC unroll 18
        for (j = 0; j < K; ++j) {
            a0 = vaddq_u8(a0,
                          vcntq_u8(vreinterpretq_u8_u32(veorq_u32(xd[j], vld1q_u32(wb + 8 * j)))));
            a1 = vaddq_u8(
                a1, vcntq_u8(vreinterpretq_u8_u32(veorq_u32(xd[j], vld1q_u32(wb + 8 * j + 4)))));
        }
        cnt = vreinterpretq_s16_u16(vpaddq_u16(vpaddlq_u8(a0), vpaddlq_u8(a1)));
        if (border) {
            l = vshrq_n_s16(vsubq_s16(vld1q_s16(alim + 8 * b), vdupq_n_s16(d)), 1);
            for (i = 0; i < npad; ++i)
                l = vaddq_s16(l, vld1q_s16(tpt + ((size_t)b * taps + pad[i]) * 8));
        } else {
            l = vld1q_s16(lim + 8 * b);
        }
        out[b] = (uint8_t)vaddvq_u16(vandq_u16(vcgtq_s16(cnt, l), wv));
    }
}

static inline __attribute__((always_inline)) void b1x_conv(const cnnc_b1_conv_params *p,
                                                           const uint32_t *x, const uint32_t *w,
                                                           const int32_t *thresholds, uint32_t *y,
                                                           const int32_t K) {
    uint32_t pk[B1X_CHUNK * B1X_MAX_K];
    int16_t lim[B1X_CHUNK], alim[B1X_CHUNK], tpt[B1X_CHUNK * B1X_MAX_K];
    uint32_t xg[B1X_MAX_K];
    const int32_t kh = 3, kwd = 3, xw = K / 9, taps = 9; /* 3x3 windows */
    const int32_t kb = taps * p->c, yw = CNNC_B1_WORDS(p->out_c);
    int32_t co0, n, oy, ox, j;
    for (co0 = 0; co0 < p->out_c; co0 += B1X_CHUNK) {
        const int32_t nf = p->out_c - co0 < B1X_CHUNK ? p->out_c - co0 : B1X_CHUNK;
        const int32_t nb = (nf + 7) / 8;
        int32_t b, l, t;
        for (b = 0; b < nb; ++b) {
            uint32_t *pb = pk + (size_t)b * K * 8;
            for (l = 0; l < 8; ++l) {
                const int32_t f = 8 * b + l;
                int64_t a = 2 * (int64_t)kb; /* past out_c: never set */
                if (f < nf) {
                    const uint32_t *wf = w + (size_t)(co0 + f) * K;
                    for (j = 0; j < K; ++j) pb[8 * j + l] = wf[j];
                    a = (int64_t)kb - thresholds[co0 + f];
                    a = a < -1 ? -1 : a > 2 * (int64_t)kb ? 2 * (int64_t)kb : a;
                } else {
                    for (j = 0; j < K; ++j) pb[8 * j + l] = 0u;
                }
                alim[f] = (int16_t)a;
                lim[f] = (int16_t)(a < 0 ? -1 : a / 2);
            }
            for (t = 0; t < taps; ++t) { /* the 8 filters' popcount of tap t */
                uint16x8_t pc = vdupq_n_u16(0);
                for (j = t * xw; j < (t + 1) * xw; ++j)
                    pc = vaddq_u16(
                        pc,
                        vpaddq_u16(
                            vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u32(vld1q_u32(pb + 8 * j)))),
                            vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u32(vld1q_u32(pb + 8 * j + 4))))));
                vst1q_s16(tpt + ((size_t)b * taps + t) * 8, vreinterpretq_s16_u16(pc));
            }
        }
        for (n = 0; n < p->n; ++n)
            for (oy = 0; oy < p->out_h; ++oy)
                for (ox = 0; ox < p->out_w; ++ox) {
                    uint8_t *out =
                        (uint8_t *)(y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * yw) +
                        co0 / 8;
                    const int32_t y0 = oy * p->stride_h - p->pad_top;
                    const int32_t x0 = ox * p->stride_w - p->pad_left;
                    const int border =
                        y0 < 0 || y0 + p->kernel_h > p->h || x0 < 0 || x0 + p->kernel_w > p->w;
                    if (border) {
                        int32_t pad[B1X_MAX_K], npad = 0;
                        const int32_t k =
                            b1x_window(p, x, n, y0, x0, kh, kwd, xw, xg, pad, &npad) * p->c;
                        b1x_pixel(1, K, xg, pk, nb, lim, alim, tpt, taps, pad, npad,
                                  (int16_t)(kb - k), out);
                    } else {
                        int32_t ky, i;
                        for (ky = 0; ky < kh; ++ky) {
                            const uint32_t *row =
                                x + ((size_t)(n * p->h + y0 + ky) * p->w + x0) * xw;
                            for (i = 0; i < kwd * xw; ++i) xg[ky * kwd * xw + i] = row[i];
                        }
                        b1x_pixel(0, K, xg, pk, nb, lim, alim, tpt, taps, NULL, 0, 0, out);
                    }
                    if (co0 + B1X_CHUNK >= p->out_c) /* bytes past the last block */
                        for (j = nb; j < 4 * yw - co0 / 8; ++j) out[j] = 0u;
                }
    }
}
#endif

/* groups 1, zero padding, K <= B1N_MAX_WORDS. 3x3 windows of 32, 64, 96, 128 or 256
 * channels (XNOR-Net's) get their own copies with the filter length a constant. */
static void b1n_conv_bits(const cnnc_b1_conv_params *p, const uint32_t *x, const uint32_t *w,
                          const int32_t *thresholds, uint32_t *y) {
    uint32_t xg[B1N_MAX_WORDS + 4], mg[B1N_MAX_WORDS + 4];
    const int32_t xw = CNNC_B1_WORDS(p->c);
    const int32_t kw = p->kernel_h * p->kernel_w * xw; /* words per filter */
    int32_t j;
    for (j = 0; j < 4; ++j) xg[kw + j] = mg[kw + j] = 0u;
    switch (kw) {
#if !defined(__aarch64__) || defined(__ARM_BIG_ENDIAN) /* else b1x_conv's */
        case 9:
            b1n_rows(p, x, w, thresholds, y, 9, xg, mg);
            break;
        case 18:
            b1n_rows(p, x, w, thresholds, y, 18, xg, mg);
            break;
#endif
        case 27:
            b1n_rows(p, x, w, thresholds, y, 27, xg, mg);
            break;
        case 36:
            b1n_rows(p, x, w, thresholds, y, 36, xg, mg);
            break;
        case 72:
            b1n_rows(p, x, w, thresholds, y, 72, xg, mg);
            break;
        default:
            b1n_rows(p, x, w, thresholds, y, kw, xg, mg);
            break;
    }
}

/* ---- int8 / float outputs: the same dots (b1n_counts), then the __ref's transform ---- */

#define B1N_OUT_CHUNK 256 /* output channels whose dots one pass keeps on the stack */

/* dots[f] = k - 2 * popcount(window XOR filter f) for filters f < nf (w: filter 0) */
static inline __attribute__((always_inline)) void b1n_dots(const int masked, const uint32_t *xg,
                                                           const uint32_t *mg, const uint32_t *w,
                                                           const int32_t kw, int32_t k, int32_t nf,
                                                           int32_t *dots) {
    const int32x4_t kv = vdupq_n_s32(k);
    int32_t co;
    for (co = 0; co + 4 <= nf; co += 4) {
        uint16x8_t acc[4], tail;
        uint32x4_t count;
        b1n_counts(4, masked, xg, mg, w + (size_t)co * kw, kw, acc, &tail);
        count = vpaddlq_u16(vaddq_u16(
            b1n_padd_u16(b1n_padd_u16(acc[0], acc[1]), b1n_padd_u16(acc[2], acc[3])), tail));
        vst1q_s32(dots + co, vmlsq_n_s32(kv, vreinterpretq_s32_u32(count), 2));
    }
    for (; co < nf; ++co) {
        uint16x8_t acc[1], tail;
        b1n_counts(1, masked, xg, mg, w + (size_t)co * kw, kw, acc, &tail);
        dots[co] = k - 2 * (int32_t)b1n_sum_u32(vpaddlq_u16(acc[0]));
    }
}

/* The float transform of cnnc_b1_conv_f32__ref / _s8__ref (b1_conv.c's b1_f32_out): one
 * rounding for the product and one for the sum (scalar C without FP_CONTRACT: never fused,
 * and IEEE on armv7 too, whose NEON flushes subnormals), then the clamp's two compares. */
static inline float b1n_f32_out(int32_t dot, float multiplier, float bias, float lo, float hi) {
    float v = (float)dot * multiplier;
    v = v + bias;
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return v;
}

#if defined(__aarch64__)
/* b1n_f32_out of 4 dots on AArch64's IEEE vector unit, the same operations: SCVTF, FMUL
 * then FADD (intrinsics, not contracted under the build's -ffp-contract=off), and the two
 * compares as selects (a NaN or -0.0 stays as the scalar ifs leave it). */
static inline float32x4_t b1n_f32_out4(const int32_t *dots, const float *multiplier,
                                       const float *bias, float32x4_t lo, float32x4_t hi) {
    float32x4_t v = vmulq_f32(vcvtq_f32_s32(vld1q_s32(dots)), vld1q_f32(multiplier));
    v = vaddq_f32(v, vld1q_f32(bias));
    v = vbslq_f32(vcltq_f32(v, lo), lo, v);
    return vbslq_f32(vcgtq_f32(v, hi), hi, v);
}

/* cnnc_s8_quantize__ref of 4 values, as s8_quant_neon.c does it bit-exactly: FDIV, NaN ->
 * 0, the clamp to +-512, FCVTNS (ties to even), + zero point. */
static inline int32x4_t b1n_quant4(float32x4_t v, float32x4_t scale, int32x4_t zp) {
    v = vdivq_f32(v, scale);
    v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v)));
    v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(-512.0f)), vdupq_n_f32(512.0f));
    return vaddq_s32(vcvtnq_s32_f32(v), zp);
}

/* Outputs [0, f) of the nf dots (the float values to out, or with s8 non-NULL the int8
 * ones to s8, 8 at a time, the saturating narrowings clamping to [-128, 127]); returns f. */
static int32_t b1n_out_vec(const cnnc_b1_conv_params *p, const int32_t *dots,
                           const float *multiplier, const float *bias, int32_t nf, float *out,
                           int8_t *s8) {
    const float32x4_t lo = vdupq_n_f32(p->act_min), hi = vdupq_n_f32(p->act_max);
    const float32x4_t scale = vdupq_n_f32(p->out_scale);
    const int32x4_t zp = vdupq_n_s32(p->out_zero_point);
    int32_t f = 0;
    if (s8)
        for (; f + 8 <= nf; f += 8) {
            const int32x4_t q0 =
                b1n_quant4(b1n_f32_out4(dots + f, multiplier + f, bias + f, lo, hi), scale, zp);
            const int32x4_t q1 = b1n_quant4(
                b1n_f32_out4(dots + f + 4, multiplier + f + 4, bias + f + 4, lo, hi), scale, zp);
            vst1_s8(s8 + f, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))));
        }
    else
        for (; f + 4 <= nf; f += 4)
            vst1q_f32(out + f, b1n_f32_out4(dots + f, multiplier + f, bias + f, lo, hi));
    return f;
}
#endif

/* groups 1, zero padding, K <= B1N_MAX_WORDS: y_f32 or (y_s8 non-NULL) y_s8 outputs. */
static inline __attribute__((always_inline)) void b1n_conv_out_rows(
    const cnnc_b1_conv_params *p, const uint32_t *x, const uint32_t *w, const float *multiplier,
    const float *bias, float *y_f32, int8_t *y_s8, const int32_t kw, uint32_t *xg, uint32_t *mg) {
    int32_t dots[B1N_OUT_CHUNK];
    float vals[B1N_OUT_CHUNK];
    cnnc_s8_quant_params q;
    int32_t n, oy, ox, co0, f, f0;
    q.scale = p->out_scale;
    q.zero_point = p->out_zero_point;
    for (n = 0; n < p->n; ++n)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                const size_t pix = (size_t)(n * p->out_h + oy) * p->out_w + ox;
                const int32_t y0 = oy * p->stride_h - p->pad_top;
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int border =
                    y0 < 0 || y0 + p->kernel_h > p->h || x0 < 0 || x0 + p->kernel_w > p->w;
                const int32_t k = b1n_gather(p, x, n, y0, x0, border, xg, mg) * p->c;
                for (co0 = 0; co0 < p->out_c; co0 += B1N_OUT_CHUNK) {
                    const int32_t nf =
                        p->out_c - co0 < B1N_OUT_CHUNK ? p->out_c - co0 : B1N_OUT_CHUNK;
                    float *out = y_s8 ? vals : y_f32 + pix * p->out_c + co0;
                    if (border)
                        b1n_dots(1, xg, mg, w + (size_t)co0 * kw, kw, k, nf, dots);
                    else
                        b1n_dots(0, xg, mg, w + (size_t)co0 * kw, kw, k, nf, dots);
                    f0 = 0;
#if defined(__aarch64__)
                    f0 = b1n_out_vec(p, dots, multiplier + co0, bias + co0, nf, out,
                                     y_s8 ? y_s8 + pix * p->out_c + co0 : NULL);
#endif
                    for (f = f0; f < nf; ++f)
                        out[f] = b1n_f32_out(dots[f], multiplier[co0 + f], bias[co0 + f],
                                             p->act_min, p->act_max);
                    if (y_s8 && nf > f0) { /* elementwise: as one at a time */
                        q.size = nf - f0;
                        cnnc_s8_quantize__ref(&q, vals + f0, y_s8 + pix * p->out_c + co0 + f0);
                    }
                }
            }
}

static void b1n_conv_out(const cnnc_b1_conv_params *p, const uint32_t *x, const uint32_t *w,
                         const float *multiplier, const float *bias, float *y_f32, int8_t *y_s8) {
    uint32_t xg[B1N_MAX_WORDS + 4], mg[B1N_MAX_WORDS + 4];
    const int32_t kw = p->kernel_h * p->kernel_w * CNNC_B1_WORDS(p->c);
    int32_t j;
    for (j = 0; j < 4; ++j) xg[kw + j] = mg[kw + j] = 0u;
    switch (kw) { /* 3x3 at 64, 128 and 256 channels unroll */
        case 18:
            b1n_conv_out_rows(p, x, w, multiplier, bias, y_f32, y_s8, 18, xg, mg);
            break;
        case 36:
            b1n_conv_out_rows(p, x, w, multiplier, bias, y_f32, y_s8, 36, xg, mg);
            break;
        case 72:
            b1n_conv_out_rows(p, x, w, multiplier, bias, y_f32, y_s8, 72, xg, mg);
            break;
        default:
            b1n_conv_out_rows(p, x, w, multiplier, bias, y_f32, y_s8, kw, xg, mg);
            break;
    }
}

static int b1n_out_window_path(const cnnc_b1_conv_params *p) {
    return p->groups == 1 && !p->pad_one &&
           (int64_t)p->kernel_h * p->kernel_w * CNNC_B1_WORDS(p->c) <= B1N_MAX_WORDS;
}

void cnnc_b1_conv_f32__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                            const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                            const float *CNNC_RESTRICT bias, float *CNNC_RESTRICT y) {
    if (b1n_out_window_path(p))
        b1n_conv_out(p, x, w, multiplier, bias, y, NULL);
    else
        cnnc_b1_conv_f32__ref(p, x, w, multiplier, bias, y);
}

void cnnc_b1_conv_s8__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                           const uint32_t *CNNC_RESTRICT w, const float *CNNC_RESTRICT multiplier,
                           const float *CNNC_RESTRICT bias, int8_t *CNNC_RESTRICT y) {
    if (b1n_out_window_path(p))
        b1n_conv_out(p, x, w, multiplier, bias, NULL, y);
    else
        cnnc_b1_conv_s8__ref(p, x, w, multiplier, bias, y);
}

void cnnc_b1_conv_bits__neon(const cnnc_b1_conv_params *p, const uint32_t *CNNC_RESTRICT x,
                             const uint32_t *CNNC_RESTRICT w,
                             const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    if (p->groups == 1 && !p->pad_one &&
        (int64_t)p->kernel_h * p->kernel_w * CNNC_B1_WORDS(p->c) <= B1N_MAX_WORDS) {
#if defined(__aarch64__) && !defined(__ARM_BIG_ENDIAN)
        const int32_t kw = p->kernel_h * p->kernel_w * CNNC_B1_WORDS(p->c);
        if (p->kernel_h == 3 && p->kernel_w == 3 && (kw == 9 || kw == 18)) {
            if (kw == 9)
                b1x_conv(p, x, w, thresholds, y, 9);
            else
                b1x_conv(p, x, w, thresholds, y, 18);
            return;
        }
#endif
        b1n_conv_bits(p, x, w, thresholds, y);
        return;
    }
    b1_conv_bits_loops(p, x, w, thresholds, y, b1_run_popcount_neon, NULL);
}
#else
typedef int cnnc_b1_conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
