/* ARM NEON variant of cnnc_b1_s8conv_bits (aarch64; armv7 with -mfpu=neon*), bit-exact to
 * __ref (integer sums in any order). Compiled when the build targets NEON; empty otherwise.
 *
 * Per output row the kernel_h input rows become int16 (x - x_zero_point), zeros for
 * padding (b1s_rows, shared with the x86 tiers), so a kernel row of a window is run =
 * kernel_w * c adjacent int16 values. The weights of a group of up to 64 channels are
 * widened once per call to int16 in value order, [kernel_h * run, 64] (the pair layout
 * de-interleaved; the pad weight of an odd run dropped). Lanes run over 16 output channels
 * (four int32x4 accumulators): each input value, taken from a 4-value load by lane, meets
 * the 16 channels' weights in four SMLAL (vmlal_lane_s16 / vmlal_high_lane_s16). The four
 * compares against the thresholds (vcltq_s32) are narrowed to 16 mask bytes, ANDed with
 * each byte's bit and summed pairwise into the 16 bits of the block, stored as the low or
 * high half of the output word. A 3x3 kernel on one input channel (XNOR-Net's first layer)
 * or three takes the same loop with constant lengths: fully unrolled, and for one channel
 * the 18 weight vectors of a block stay in registers over the row on AArch64.
 * Overflow: |v * w| <= 255 * 128 per product, the int32 sums stay within cnnc_b1.h's bound.
 * Falls back to __ref where the stack copies don't fit (b1s_applies). */
#include "cnnc.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

/* dst[t] = src[t] - zp as int16 for t < len: 8 values a step, then one at a time
 * (b1s_rows' row copies). */
static inline void b1s_widen_neon(int16_t *dst, const int8_t *src, int32_t len, int16_t zp) {
    const int16x8_t z = vdupq_n_s16(zp);
    int32_t t;
    for (t = 0; t + 8 <= len; t += 8) vst1q_s16(dst + t, vsubq_s16(vmovl_s8(vld1_s8(src + t)), z));
    for (; t < len; ++t) dst[t] = (int16_t)(src[t] - zp);
}
#define B1S_WIDEN b1s_widen_neon
#endif

#include "b1_s8conv.h"

#if defined(__ARM_NEON)

#define B1SN_VALUES (2 * B1S_TAPS) /* kernel_h * kernel_w * c at most (b1s_applies) */

#if defined(__aarch64__)
#define B1SN_HI_LANE(a, w, x, l) vmlal_high_lane_s16(a, w, x, l)
#define B1SN_HI_N(a, w, v) vmlal_high_n_s16(a, w, v)
#else
#define B1SN_HI_LANE(a, w, x, l) vmlal_lane_s16(a, vget_high_s16(w), x, l)
#define B1SN_HI_N(a, w, v) vmlal_n_s16(a, vget_high_s16(w), v)
#endif

/* 16 channels' accumulators += lane L of x times their int16 weights at wq */
#define B1SN_LANE(acc, wq, x, l)                                        \
    do {                                                                \
        const int16x8_t w0_ = vld1q_s16(wq), w1_ = vld1q_s16((wq) + 8); \
        (acc)[0] = vmlal_lane_s16((acc)[0], vget_low_s16(w0_), x, l);   \
        (acc)[1] = B1SN_HI_LANE((acc)[1], w0_, x, l);                   \
        (acc)[2] = vmlal_lane_s16((acc)[2], vget_low_s16(w1_), x, l);   \
        (acc)[3] = B1SN_HI_LANE((acc)[3], w1_, x, l);                   \
    } while (0)

/* the same for one scalar value v */
#define B1SN_N(acc, wq, v)                                              \
    do {                                                                \
        const int16x8_t w0_ = vld1q_s16(wq), w1_ = vld1q_s16((wq) + 8); \
        (acc)[0] = vmlal_n_s16((acc)[0], vget_low_s16(w0_), v);         \
        (acc)[1] = B1SN_HI_N((acc)[1], w0_, v);                         \
        (acc)[2] = vmlal_n_s16((acc)[2], vget_low_s16(w1_), v);         \
        (acc)[3] = B1SN_HI_N((acc)[3], w1_, v);                         \
    } while (0)

/* The 16 bits (bit i: channel i of the block) of acc < thr. */
static inline __attribute__((always_inline)) uint32_t b1sn_bits16(const int32x4_t *acc,
                                                                  const int32x4_t *thr) {
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint16x8_t h0 =
        vcombine_u16(vmovn_u32(vcltq_s32(acc[0], thr[0])), vmovn_u32(vcltq_s32(acc[1], thr[1])));
    const uint16x8_t h1 =
        vcombine_u16(vmovn_u32(vcltq_s32(acc[2], thr[2])), vmovn_u32(vcltq_s32(acc[3], thr[3])));
    const uint8x16_t b = vandq_u8(vcombine_u8(vmovn_u16(h0), vmovn_u16(h1)), vld1q_u8(bit));
    uint8x8_t s = vpadd_u8(vget_low_u8(b), vget_high_u8(b)); /* disjoint bits: sums are ORs */
    s = vpadd_u8(s, s);
    s = vpadd_u8(s, s); /* byte 0: channels 0-7, byte 1: channels 8-15 */
    return vget_lane_u16(vreinterpret_u16_u8(s), 0);
}

/* One output row of one 16-channel block: wv at the block's first channel in the group's
 * widened weights, out at the row's first pixel's word of the block; hi: the block is the
 * high half of that word (the low half was written by the block before). KH and RUN are
 * constants where the caller makes them so (the loops then unroll). */
static inline __attribute__((always_inline)) void b1sn_row(const int16_t *rows, size_t step,
                                                           int32_t out_w, const int16_t *wv,
                                                           const int32_t *thr, uint32_t *out,
                                                           int32_t yw, int hi, const int32_t kh,
                                                           const int32_t run) {
    int32x4_t t[4];
    int32_t ox, ky, q, b;
    for (b = 0; b < 4; ++b) t[b] = vld1q_s32(thr + 4 * b);
    for (ox = 0; ox < out_w; ++ox, out += yw) {
        int32x4_t acc[4];
        uint32_t bits;
        for (b = 0; b < 4; ++b) acc[b] = vdupq_n_s32(0);
        B1S_UNROLL
        for (ky = 0; ky < kh; ++ky) {
            const int16_t *r = rows + (size_t)ky * B1S_ROW + (size_t)ox * step;
            const int16_t *wr = wv + (size_t)ky * run * B1S_GROUP;
            /* 4-value loads while at least 3 values remain: the load reads at most one
               value past the window's row, inside the zeroed copy (b1s_rows) */
            for (q = 0; q + 3 <= run; q += 4) {
                const int16x4_t x4 = vld1_s16(r + q);
                B1SN_LANE(acc, wr + (size_t)q * B1S_GROUP, x4, 0);
                B1SN_LANE(acc, wr + (size_t)(q + 1) * B1S_GROUP, x4, 1);
                B1SN_LANE(acc, wr + (size_t)(q + 2) * B1S_GROUP, x4, 2);
                if (q + 4 <= run) B1SN_LANE(acc, wr + (size_t)(q + 3) * B1S_GROUP, x4, 3);
            }
            for (; q < run; ++q) B1SN_N(acc, wr + (size_t)q * B1S_GROUP, r[q]);
        }
        bits = b1sn_bits16(acc, t);
        if (hi)
            *out |= bits << 16;
        else
            *out = bits; /* the high half 0 until its block, if any, writes it */
    }
}

void cnnc_b1_s8conv_bits__neon(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                               const int8_t *CNNC_RESTRICT w,
                               const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    const int32_t oc16 = CNNC_B1_S8CONV_OC16(p->out_c), pairs = CNNC_B1_S8CONV_PAIRS(p);
    const int32_t run = p->kernel_w * p->c, kh = p->kernel_h, yw = CNNC_B1_WORDS(p->out_c);
    const size_t step = (size_t)p->stride_w * p->c;
    int16_t rows[B1S_KH * B1S_ROW];
    int16_t wv[B1SN_VALUES * B1S_GROUP];
    int32_t c0;
    if (!b1s_applies(p) || kh * run > B1SN_VALUES) {
        cnnc_b1_s8conv_bits__ref(p, x, w, thresholds, y);
        return;
    }
    for (c0 = 0; c0 < oc16; c0 += B1S_GROUP) {
        const int32_t nc = oc16 - c0 < B1S_GROUP ? oc16 - c0 : B1S_GROUP;
        int32_t n, oy, t, o;
        for (t = 0; t < kh * run; ++t) { /* value q of kernel row ky: pair q / 2, half q % 2 */
            const int8_t *src =
                w + (((size_t)(t / run) * pairs + t % run / 2) * oc16 + c0) * 2 + t % run % 2;
            for (o = 0; o < nc; ++o) wv[(size_t)t * B1S_GROUP + o] = src[2 * o];
        }
        for (n = 0; n < p->n; ++n)
            for (oy = 0; oy < p->out_h; ++oy) {
                uint32_t *out = y + ((size_t)(n * p->out_h + oy) * p->out_w) * yw;
                int32_t b;
                b1s_rows(p, x, n, oy, rows);
                for (b = 0; b < nc; b += 16) {
                    const int32_t ch = c0 + b;
                    const int hi = ch / 16 % 2;
                    if (kh == 3 && run == 3)
                        b1sn_row(rows, step, p->out_w, wv + b, thresholds + ch, out + ch / 32, yw,
                                 hi, 3, 3);
                    else if (kh == 3 && run == 9)
                        b1sn_row(rows, step, p->out_w, wv + b, thresholds + ch, out + ch / 32, yw,
                                 hi, 3, 9);
                    else
                        b1sn_row(rows, step, p->out_w, wv + b, thresholds + ch, out + ch / 32, yw,
                                 hi, kh, run);
                }
            }
    }
}
#else
typedef int cnnc_b1_s8conv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
