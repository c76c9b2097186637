/* Cortex-M DSP variant of cnnc_b1_s8conv_bits, bit-exact to __ref (integer sums in any
 * order). Compiled when the build targets the DSP extension (M profile); empty otherwise.
 *
 * The weights of up to B1SD_WORDS / taps channels (whole output words) are widened once per
 * call to one word per tap pair and channel, the pair's two int8 weights as int16 lanes
 * (lo: the even value, hi: the odd one), [channel][tap]. Per output pixel the window's
 * inputs become the same words, (x - x_zero_point) as int16 lanes with 0 for padded taps
 * and the odd run's last slot (so the pad weight, whatever it holds, adds nothing), and
 * each channel's dot is one SMLAD per tap pair: acc += x.lo * w.lo + x.hi * w.hi. The
 * channel's bit is acc < its threshold, ORed into the output word. A 3x3 kernel on one or
 * three input channels (6 or 15 tap pairs) takes the same loop with the pair count a
 * constant, the window's words held in registers. SMLAD keeps the low 32 bits of exact
 * sums; the dot fits int32 (cnnc_b1.h), so the result is __ref's. Kernels of more than
 * B1SD_TAPS tap pairs, groups or dilation other than 1 run __ref. */
#include "cnnc_b1.h"
#include "cnnc_cpu.h"
#include "cnnc_model_calls.h"

#if defined(CNNC_M_DSP)
#include <arm_acle.h>

#define B1SD_WORDS 1024 /* widened weight words on the stack (4 KiB) */
#define B1SD_TAPS 32    /* kernel_h * pairs at most: at least one 32-channel word a chunk */
#define B1SD_UNROLL _Pragma("GCC unroll 16") /* whole where the tap count is a constant */

/* Two int16 lanes (lo, hi) in one word. */
CNNC_INLINE uint32_t b1sd_pack(int32_t lo, int32_t hi) {
    return ((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFFu);
}

/* xw[ky * pairs + k]: the window's values 2k and 2k + 1 of kernel row ky at output pixel
 * (n, oy, ox) as (x - x_zero_point) int16 lanes, 0 where the tap is padding or past the
 * row's RUN = kernel_w * c values; KH = kernel_h. Both constants where the caller makes
 * them so (the interior windows' loops then unroll). */
static inline __attribute__((always_inline)) void b1sd_window(const cnnc_b1_s8conv_params *p,
                                                              const int8_t *x, int32_t n,
                                                              int32_t oy, int32_t ox, uint32_t *xw,
                                                              const int32_t kh, const int32_t run) {
    const int32_t pairs = (run + 1) / 2;
    const int32_t zp = p->x_zero_point, ix0 = ox * p->stride_w - p->pad_left;
    const int inside = ix0 >= 0 && ix0 + p->kernel_w <= p->w;
    int32_t ky, k;
    B1SD_UNROLL
    for (ky = 0; ky < kh; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
        uint32_t *d = xw + ky * pairs;
        const int8_t *row;
        if (iy < 0 || iy >= p->h) {
            for (k = 0; k < pairs; ++k) d[k] = 0u;
            continue;
        }
        row = x + (size_t)(n * p->h + iy) * p->w * p->c;
        if (inside) { /* the run is contiguous: NHWC */
            const int8_t *s = row + (size_t)ix0 * p->c;
            B1SD_UNROLL
            for (k = 0; 2 * k + 1 < run; ++k) d[k] = b1sd_pack(s[2 * k] - zp, s[2 * k + 1] - zp);
            if (run % 2) d[k] = b1sd_pack(s[run - 1] - zp, 0);
        } else {
            for (k = 0; k < pairs; ++k) {
                int32_t v[2], h;
                for (h = 0; h < 2; ++h) {
                    const int32_t q = 2 * k + h, ix = ix0 + q / p->c;
                    v[h] = q < run && ix >= 0 && ix < p->w ? row[ix * p->c + q % p->c] - zp : 0;
                }
                d[k] = b1sd_pack(v[0], v[1]);
            }
        }
    }
}

/* The bits of channels c0 .. c0 + nc - 1 (nc <= B1SD_WORDS / taps, whole words from c0)
 * of one pixel into out (its word of c0); TAPS a constant where the caller makes it so. */
static inline __attribute__((always_inline)) void b1sd_pixel(const uint32_t *xw, const uint32_t *wv,
                                                             const int32_t *thr, int32_t nc,
                                                             uint32_t *out, const int32_t taps) {
    int32_t o0;
    for (o0 = 0; o0 < nc; o0 += 32) {
        const int32_t end = nc - o0 < 32 ? nc - o0 : 32;
        uint32_t word = 0u;
        uint32_t bit = 1u;
        int32_t o, t;
        for (o = 0; o < end; ++o, bit <<= 1) {
            const uint32_t *wo = wv + (size_t)(o0 + o) * taps;
            int32_t acc = __smuad((int32_t)xw[0], (int32_t)wo[0]);
            B1SD_UNROLL
            for (t = 1; t < taps; ++t) acc = __smlad((int32_t)xw[t], (int32_t)wo[t], acc);
            if (acc < thr[o0 + o]) word |= bit;
        }
        out[o0 / 32] = word;
    }
}

/* The paths only a model's calls can take (cnnc_model_calls.h), each macro a test of a
 * call's params p: the 3x3 kernels on one or three input channels (their tap counts
 * constants; the general loop computes their bits too). */
#define B1SD_CALL(p)                                                  \
    ((p).groups == 1 && (p).dilation_h == 1 && (p).dilation_w == 1 && \
     (p).kernel_h * (((p).kernel_w * (p).c + 1) / 2) <= B1SD_TAPS)
#define B1SD_33(p) (B1SD_CALL(p) && (p).kernel_h == 3 && (p).kernel_w * (p).c == 3)
#define B1SD_39(p) (B1SD_CALL(p) && (p).kernel_h == 3 && (p).kernel_w * (p).c == 9)

void cnnc_b1_s8conv_bits__dsp(const cnnc_b1_s8conv_params *p, const int8_t *CNNC_RESTRICT x,
                              const int8_t *CNNC_RESTRICT w,
                              const int32_t *CNNC_RESTRICT thresholds, uint32_t *CNNC_RESTRICT y) {
    const int32_t oc16 = CNNC_B1_S8CONV_OC16(p->out_c), pairs = CNNC_B1_S8CONV_PAIRS(p);
    const int32_t taps = p->kernel_h * pairs, yw = CNNC_B1_WORDS(p->out_c);
    const int32_t run = p->kernel_w * p->c;
    uint32_t wv[B1SD_WORDS], xw[B1SD_TAPS];
    int32_t chunk, c0;
    if (p->groups != 1 || p->dilation_h != 1 || p->dilation_w != 1 || taps > B1SD_TAPS) {
        cnnc_b1_s8conv_bits__ref(p, x, w, thresholds, y);
        return;
    }
    chunk = B1SD_WORDS / taps / 32 * 32;
    for (c0 = 0; c0 < p->out_c; c0 += chunk) {
        const int32_t nc = p->out_c - c0 < chunk ? p->out_c - c0 : chunk;
        int32_t n, oy, ox, o, t;
        for (o = 0; o < nc; ++o)
            for (t = 0; t < taps; ++t) {
                const int8_t *s = w + ((size_t)t * oc16 + c0 + o) * 2;
                wv[o * taps + t] = b1sd_pack(s[0], s[1]);
            }
        for (n = 0; n < p->n; ++n)
            for (oy = 0; oy < p->out_h; ++oy)
                for (ox = 0; ox < p->out_w; ++ox) {
                    uint32_t *out =
                        y + ((size_t)(n * p->out_h + oy) * p->out_w + ox) * yw + c0 / 32;
                    if (CNNC_MODEL_CALLS(b1_s8conv_bits, B1SD_33) && p->kernel_h == 3 &&
                        run == 3) { /* 3x3 on one input channel */
                        b1sd_window(p, x, n, oy, ox, xw, 3, 3);
                        b1sd_pixel(xw, wv, thresholds + c0, nc, out, 6);
                    } else if (CNNC_MODEL_CALLS(b1_s8conv_bits, B1SD_39) && p->kernel_h == 3 &&
                               run == 9) { /* 3x3 on three */
                        b1sd_window(p, x, n, oy, ox, xw, 3, 9);
                        b1sd_pixel(xw, wv, thresholds + c0, nc, out, 15);
                    } else {
                        b1sd_window(p, x, n, oy, ox, xw, p->kernel_h, run);
                        b1sd_pixel(xw, wv, thresholds + c0, nc, out, taps);
                    }
                }
    }
}
#else
typedef int cnnc_b1_s8conv_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
