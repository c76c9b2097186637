/* Cortex-M DSP variants of the int8 convolutions, bit-exact to their __ref kernels (same
 * packed weights, same int32 sums modulo 2^32, the same requantised bytes). The pointwise
 * conv runs as a dense layer on cnnc_s8_dense__dsp. The general conv is, per group, a GEMM
 * over im2col rows of K = kh*kw*C/G inputs (padding taps hold x_zero_point, which the
 * corrected bias cancels: s8_dsp.h) against w[KH][KW][C/G][Co/G], the layout dense reads
 * as w[K][Co/G]. K above DSP_MAX_K runs the reference loop. Two stems skip the im2col
 * at the target's flags (not at -Os) when the requantisation is the doubled form with the
 * full clamp: K <= 9 (the 3x3 of one channel) with an even count of outputs a block runs
 * dsp_conv_direct, the 3x3 of 3 channels dsp_conv_rgb, both on input rows widened once
 * into zero-padded int16 rows (bench/bench_mcu.py --layers: the digits stem, 32x32x1 ->
 * 16x16x16, 101,587 instructions on the GEMM -> 52,770; 0.35@96's, 96x96x3 -> 48x48x16,
 * 1,747,756 -> 989,839). Compiled when the build targets the DSP extension (CNNC_M_DSP,
 * cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_conv_loops.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
/* Paths only a model's calls can take (cnnc_model_calls.h): each DSP_CONV_* (DSP_DIRECT_*,
 * DSP_RGB_*) below tests a call's params p (a cnnc_s8_conv_params value) for a necessary
 * condition of its path's run-time test, and the path's test starts with
 * CNNC_MODEL_CALLS(s8_conv, DSP_CONV_*): a model none of whose calls can take the path does
 * not build it. Every call past __ref's fallbacks may reach the GEMM (a block's
 * requantisation form is known at run time only), and the direct and RGB paths' own fall
 * through to it; inside them each written-out loop (for the output zero point -128, a
 * block's count, the row's width) falls through to a general loop of the same bits. */
#define DSP_CONV_K(p) ((p).kernel_h * (p).kernel_w * ((p).c / (p).groups))
#define DSP_CONV_GEMM(p) ((p).dilation_h == 1 && (p).dilation_w == 1 && DSP_CONV_K(p) <= DSP_MAX_K)
/* X(count, p) for a block count of the call: dsp_block_outputs(K) a block, the rest last */
#define DSP_CONV_OG(p) ((p).out_c / (p).groups)
#define DSP_CONV_PER(p) dsp_block_outputs(DSP_CONV_K(p))
#define DSP_CONV_COUNTS(p, X)                                                     \
    (X(DSP_CONV_OG(p) < DSP_CONV_PER(p) ? DSP_CONV_OG(p) : DSP_CONV_PER(p), p) || \
     (DSP_CONV_OG(p) % DSP_CONV_PER(p) != 0 && X(DSP_CONV_OG(p) % DSP_CONV_PER(p), p)))
#define DSP_COUNT_EVEN(n, p) ((n) % 2 == 0)
#define DSP_COUNT_4_NOT16(n, p) ((n) % 4 == 0 && (n) != 16)
#define DSP_COUNT_IS16(n, p) ((n) == 16)
#define DSP_COUNT_WHOLE16(n, p) ((n) == 16 && (p).out_c == 16) /* a pixel's 16 outputs */
/* dsp_direct_pixels' count loops in the order it tries them, each class the counts no loop
 * before it takes (that loop is built wherever the class's calls are) */
#define DSP_COUNT_16_SKIP(n, p) ((n) == 16 && (p).out_c != 16)
#define DSP_COUNT_16_MORE(n, p) ((n) % 16 == 0 && (n) != 16)
#define DSP_COUNT_8_ONLY(n, p) ((n) % 16 == 8)
#define DSP_COUNT_4_ONLY(n, p) ((n) % 8 == 4)
#define DSP_COUNT_16_ANY(n, p) ((n) % 16 == 0)
/* the doubled requantisation with the full clamp (the direct and RGB paths' blocks) */
#define DSP_CONV_FULL2(p) \
    ((p).rounding == CNNC_ROUND_DOUBLE && (p).act_min == -128 && (p).act_max == 127)
/* the GEMM's im2col by words (dsp_im2col_words): kernel rows of <= 4 or of 5..12 bytes */
#define DSP_CONV_WORDS1(p) (DSP_CONV_GEMM(p) && (p).groups == 1 && (p).kernel_w * (p).c <= 4)
/* whether a kernel row of l bytes takes dsp_im2col_words' build */
#define DSP_CONV_WORDS_BUILT(l)                                 \
    ((CNNC_MODEL_CALLS(s8_conv, DSP_CONV_WORDS1) || (l) > 4) && \
     (l) <= (CNNC_MODEL_CALLS(s8_conv, DSP_CONV_WORDS3) ? 12 : 4))
#define DSP_CONV_WORDS3(p) \
    (DSP_CONV_GEMM(p) && (p).groups == 1 && (p).kernel_w * (p).c > 4 && (p).kernel_w * (p).c <= 12)

void cnnc_s8_pwconv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    const cnnc_s8_dense_params dense = s8_pwconv_as_dense(p);
    cnnc_s8_dense__dsp(&dense, x, w, bias, mult, shift, y);
}

/* n <= 4 bytes from src to dst without a call (the stem's 1 or 3 channels per tap). */
CNNC_INLINE void dsp_copy_small(int8_t *dst, const int8_t *src, int32_t n) {
    dst[0] = src[0];
    if (n > 1) dst[1] = src[1];
    if (n > 2) dst[2] = src[2];
    if (n > 3) dst[3] = src[3];
}

/* n bytes from src to dst: whole words (unaligned LDR/STR), then the last n mod 4 bytes. */
CNNC_INLINE void dsp_copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = dsp_load4(src + i);
        CNNC_COPY(dst + i, &v, sizeof v);
    }
    for (; i < n; ++i) dst[i] = src[i];
}

/* col[K]: the inputs of output pixel (b, oy, ox) in group g, in the weights' tap order. A
 * window inside the image with one group copies each kernel row's kw * C contiguous
 * bytes at once. */
static void dsp_im2col(const cnnc_s8_conv_params *p, const int8_t *x, int32_t b, int32_t oy,
                       int32_t ox, int32_t g, int8_t *col) {
    const int32_t cg = p->c / p->groups;
    const int8_t zp[4] = {(int8_t)p->x_zero_point, (int8_t)p->x_zero_point, (int8_t)p->x_zero_point,
                          (int8_t)p->x_zero_point};
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    int32_t ky, kx;
    if (p->groups == 1 && iy0 >= 0 && iy0 + p->kernel_h <= p->h && ix0 >= 0 &&
        ix0 + p->kernel_w <= p->w) {
        const int32_t row = p->kernel_w * p->c;
        const int8_t *src = x + (((size_t)b * p->h + iy0) * p->w + ix0) * p->c;
        for (ky = 0; ky < p->kernel_h; ++ky, col += row, src += (size_t)p->w * p->c)
            dsp_copy_bytes(col, src, row);
        return;
    }
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = iy0 + ky, row_in = iy >= 0 && iy < p->h;
        const int8_t *const xrow =
            row_in ? x + ((size_t)b * p->h + iy) * p->w * p->c + (size_t)g * cg : zp;
        for (kx = 0; kx < p->kernel_w; ++kx, col += cg) {
            const int32_t ix = ix0 + kx;
            const int inside = row_in && ix >= 0 && ix < p->w;
            const int8_t *src = inside ? xrow + (size_t)ix * p->c : zp;
            if (cg == 1)
                col[0] = src[0];
            else if (cg <= 4)
                dsp_copy_small(col, src, cg);
            else if (inside)
                memcpy(col, src, (size_t)cg);
            else
                memset(col, p->x_zero_point, (size_t)cg);
        }
    }
}

/* nw (1 or 3, known where inlined) unaligned words from src to dst. */
DSP_ALWAYS_INLINE void dsp_copy_words(int8_t *dst, const int8_t *src, int32_t nw) {
    uint32_t v = dsp_load4(src);
    CNNC_COPY(dst, &v, sizeof v);
    if (nw > 1) v = dsp_load4(src + 4), CNNC_COPY(dst + 4, &v, sizeof v);
    if (nw > 2) v = dsp_load4(src + 8), CNNC_COPY(dst + 8, &v, sizeof v);
}

/* The im2col rows col[rows][K] of output pixels (b, oy, ox .. ox+rows-1), one group,
 * kernel rows of kw * C <= 4 nw bytes (nw = 1 or 3, known where inlined: the 3x3
 * convs of 1 to 4 channels): a window inside the image whose last word lies in x takes nw
 * unaligned words per kernel row, whose extra bytes the next kernel row or pixel
 * overwrites (col has DSP_COL_SPARE bytes past the last row for the last one's); the
 * other windows dsp_im2col. */
DSP_ALWAYS_INLINE void dsp_im2col_nw(const cnnc_s8_conv_params *p, const int8_t *x, int32_t b,
                                     int32_t oy, int32_t ox, int32_t rows, int32_t k, int8_t *col,
                                     int32_t nw) {
    /* the fields in locals: the stores to col may alias *p, which gcc reloads otherwise */
    const int32_t kh = p->kernel_h, row = p->kernel_w * p->c, sw = p->stride_w, step = sw * p->c;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, last = p->w - p->kernel_w;
    const ptrdiff_t pitch = (ptrdiff_t)p->w * p->c;
    /* the last window offset in x whose last word lies in x */
    const ptrdiff_t lim = (ptrdiff_t)p->n * p->h * pitch - (kh - 1) * pitch - 4 * nw;
    const int inside = iy0 >= 0 && iy0 + kh <= p->h;
    int32_t i = 0, ix0 = ox * sw - p->pad_left;
    ptrdiff_t at = ((ptrdiff_t)b * p->h + iy0) * pitch + (ptrdiff_t)ix0 * p->c;
    while (i < rows) {
        int32_t run = 0; /* windows from i on that take the words (increasing ix0 and at) */
        if (inside && ix0 >= 0 && ix0 <= last && at <= lim) {
            const int32_t by_w = (last - ix0) / sw + 1, by_end = (int32_t)((lim - at) / step) + 1;
            run = rows - i < by_w ? rows - i : by_w;
            run = run < by_end ? run : by_end;
        }
        if (run) {
            const int8_t *sp = x + at;
            int8_t *const end = col + (size_t)run * k;
            for (; col < end; col += k, sp += step) {
                const int8_t *r = sp;
                int8_t *cp = col;
                int32_t ky;
                for (ky = 0; ky < kh; ++ky, cp += row, r += pitch) dsp_copy_words(cp, r, nw);
            }
        } else {
            dsp_im2col(p, x, b, oy, ox + i, 0, col);
            col += k, run = 1;
        }
        i += run, ix0 += run * sw, at += (ptrdiff_t)run * step;
    }
}

/* dsp_im2col_nw for kernel rows of at most 12 bytes. */
static __attribute__((noinline)) void dsp_im2col_words(const cnnc_s8_conv_params *p,
                                                       const int8_t *x, int32_t b, int32_t oy,
                                                       int32_t ox, int32_t rows, int32_t k,
                                                       int8_t *col) {
    if (CNNC_MODEL_CALLS(s8_conv, DSP_CONV_WORDS1) && p->kernel_w * p->c <= 4)
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 1);
    else if (CNNC_MODEL_CALLS(s8_conv, DSP_CONV_WORDS3)) /* 5 to 12 bytes: 3 words (up to 7
                                                             bytes past the row: DSP_COL_SPARE) */
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 3);
}

#if defined(__OPTIMIZE_SIZE__)
#define DSP_SIZE 1 /* -Os: the pixel by pixel im2col alone (dsp_im2col_words is not kept) */
#else
#define DSP_SIZE 0
#endif
#define DSP_COL_BYTES 2048 /* im2col rows of a batch of output pixels */
/* past them: the last word copies' extra bytes (dsp_im2col_nw's 7; at -Os, the last word of
 * the GEMM's widening, 3) */
#define DSP_COL_SPARE (DSP_SIZE ? 4 : 8)

#if !defined(__OPTIMIZE_SIZE__) && defined(__OPTIMIZE__)
#define DSP_DIRECT 1 /* not at -Os (code size) nor -O0 (the asm's 14 registers) */
/* ---------------------------------------------------------------------------------
 * Direct path for K = kh * kw * C <= 9 (the 3x3 stems of one channel) and an even count of
 * outputs a block: no im2col. The input rows a row of outputs reads are widened once each
 * into int16 rows of the padded width (dsp_widen_padded: x - zp, zero in the padding, so
 * the sums start at the bias itself as in the GEMM core; the weights doubled, so the sums
 * are doubled: the direct paths take the doubled requantisation, DSP_RQ_DOUBLE2, alone; the
 * other forms run the GEMM). A window's kernel row of l = kw * C inputs is contiguous there:
 * its whole pairs are unaligned words, and with l odd the last inputs of two kernel rows
 * make one pair (PKHBT), the last row's alone with a zero weight above: at most 5 words
 * (DSP_DIRECT_PAIRS), the fifth's high lane a zero weight (K <= 9), held in registers
 * while every output of the block runs on them: per two outputs three LDMs of their
 * records (weight pairs as int16 lanes, bias, m, c, the shift beside the ninth weight), 10
 * SMLAD-class products and the requantisation with the full clamp (dsp_direct_pixels). */
#define DSP_DIRECT_PAIRS 5 /* K <= 9: the fifth pair's high lane unused */
#define DSP_DIRECT_REC 8   /* words per output: bias, 4 weight pairs, (e, w8), m, c */
#define DSP_DIRECT_XREC 5  /* words per pixel: its 5 pairs */
/* The direct path's calls (dsp_direct_fits and a block's count even), then by the output
 * zero point (DSP_DIRECT_Z: -128, dsp_direct_pixels' DSP_DIRECT_RELU; DSP_DIRECT_S: the
 * others) and the block counts each of dsp_direct_pixels' loops serves. */
#define DSP_DIRECT_RL(p) (((((p).out_w - 1) * (p).stride_w + (p).kernel_w) * (p).c + 3) & ~1)
#define DSP_CONV_DIRECT(p)                                                                        \
    (DSP_CONV_GEMM(p) && (p).groups == 1 && DSP_CONV_K(p) < 2 * DSP_DIRECT_PAIRS &&               \
     DSP_CONV_FULL2(p) && (p).kernel_h * 2 * DSP_DIRECT_RL(p) <= DSP_COL_BYTES + DSP_COL_SPARE && \
     DSP_CONV_COUNTS(p, DSP_COUNT_EVEN))
#define DSP_DIRECT_ZN(p, X) \
    (DSP_CONV_DIRECT(p) && (p).y_zero_point == -128 && DSP_CONV_COUNTS(p, X))
#define DSP_DIRECT_SN(p, X) \
    (DSP_CONV_DIRECT(p) && (p).y_zero_point != -128 && DSP_CONV_COUNTS(p, X))
#define DSP_DIRECT_Z(p) DSP_DIRECT_ZN(p, DSP_COUNT_EVEN)
#define DSP_DIRECT_Z_WHOLE16(p) DSP_DIRECT_ZN(p, DSP_COUNT_WHOLE16)
#define DSP_DIRECT_Z_IS16(p) DSP_DIRECT_ZN(p, DSP_COUNT_16_SKIP)
#define DSP_DIRECT_Z_16(p) DSP_DIRECT_ZN(p, DSP_COUNT_16_MORE)
#define DSP_DIRECT_Z_8(p) DSP_DIRECT_ZN(p, DSP_COUNT_8_ONLY)
#define DSP_DIRECT_Z_4(p) DSP_DIRECT_ZN(p, DSP_COUNT_4_ONLY)
#define DSP_DIRECT_S_WHOLE16(p) DSP_DIRECT_SN(p, DSP_COUNT_WHOLE16)
#define DSP_DIRECT_S_IS16(p) DSP_DIRECT_SN(p, DSP_COUNT_16_SKIP)
#define DSP_DIRECT_S_16(p) DSP_DIRECT_SN(p, DSP_COUNT_16_MORE)
#define DSP_DIRECT_S_8(p) DSP_DIRECT_SN(p, DSP_COUNT_8_ONLY)
#define DSP_DIRECT_S_4(p) DSP_DIRECT_SN(p, DSP_COUNT_4_ONLY)
#define DSP_DIRECT_Z_SH(p) DSP_DIRECT_ZN(p, DSP_COUNT_16_ANY) /* dsp_direct_scale's tables */
/* the 3x3 stems of one channel (dsp_direct_rows33 where the row fits a chunk) */
#define DSP_DIRECT_33(p) (DSP_CONV_DIRECT(p) && (p).kernel_h == 3 && (p).kernel_w * (p).c == 3)

/* Eight inputs a turn from *src (any alignment) as int16 lanes x - zp (SXTAB16 onto nzp =
 * (-zp, -zp): even and odd bytes, PKHBT / PKHTB back to the bytes' order) into *dst (even
 * address: unaligned STRs), both moved on, until src is end: 16 instructions per 8, gcc's C
 * form 24. */
#define DSP_WIDEN8()                                                                        \
    __asm__ __volatile__(                                                                   \
        "1:\n\t"                                                                            \
        "ldr %[e0], [%[src]], #4\n\t"                                                       \
        "ldr %[e1], [%[src]], #4\n\t"                                                       \
        "sxtab16 %[o0], %[nzp], %[e0], ror #8\n\t"                                          \
        "sxtab16 %[e0], %[nzp], %[e0]\n\t"                                                  \
        "sxtab16 %[o1], %[nzp], %[e1], ror #8\n\t"                                          \
        "sxtab16 %[e1], %[nzp], %[e1]\n\t"                                                  \
        "pkhbt %[t], %[e0], %[o0], lsl #16\n\t"                                             \
        "pkhtb %[o0], %[o0], %[e0], asr #16\n\t"                                            \
        "str %[t], [%[dst]], #4\n\t"                                                        \
        "str %[o0], [%[dst]], #4\n\t"                                                       \
        "pkhbt %[t], %[e1], %[o1], lsl #16\n\t"                                             \
        "pkhtb %[o1], %[o1], %[e1], asr #16\n\t"                                            \
        "str %[t], [%[dst]], #4\n\t"                                                        \
        "str %[o1], [%[dst]], #4\n\t"                                                       \
        "cmp %[src], %[end]\n\t"                                                            \
        "bne 1b"                                                                            \
        : [src] "+r"(src), [dst] "+r"(dst), [e0] "=&r"(e0), [e1] "=&r"(e1), [o0] "=&r"(o0), \
          [o1] "=&r"(o1), [t] "=&r"(t)                                                      \
        : [nzp] "r"(nzp), [end] "r"(end)                                                    \
        : "memory", "cc")

/* DSP_WIDEN8 sixteen inputs a turn from a word-aligned src, read by one LDM: 27 instructions
 * per 16 against 32 (the RGB stem's rows: 8.7 K of 0.35@96's 58 K of widening). */
#define DSP_WIDEN16_ONE(e, o)        \
    "sxtab16 %[" o "], %[nzp], %[" e \
    "], ror #8\n\t"                  \
    "sxtab16 %[" e "], %[nzp], %[" e \
    "]\n\t"                          \
    "pkhbt %[t], %[" e "], %[" o     \
    "], lsl #16\n\t"                 \
    "pkhtb %[" o "], %[" o "], %[" e \
    "], asr #16\n\t"                 \
    "str %[t], [%[dst]], #4\n\t"     \
    "str %[" o "], [%[dst]], #4\n\t"
#define DSP_WIDEN16() \
    __asm__ __volatile__(                                                                   \
        "1:\n\t"                                                                            \
        "ldm %[src]!, {%[e0], %[e1], %[e2], %[e3]}\n\t" DSP_WIDEN16_ONE("e0", "o0")         \
            DSP_WIDEN16_ONE("e1", "o1") DSP_WIDEN16_ONE("e2", "o0") DSP_WIDEN16_ONE("e3", "o1") \
        "cmp %[src], %[end]\n\t"                                                            \
        "bne 1b"                                                                            \
        : [src] "+r"(src), [dst] "+r"(dst), [e0] "=&r"(e0), [e1] "=&r"(e1), [e2] "=&r"(e2), \
          [e3] "=&r"(e3), [o0] "=&r"(o0), [o1] "=&r"(o1), [t] "=&r"(t)                      \
        : [nzp] "r"(nzp), [end] "r"(end)                                                    \
        : "memory", "cc")

/* bytes (a multiple of 4) of zeros at r (any alignment), word by word. */
static void dsp_zero_words(int8_t *r, int32_t bytes) {
    uint32_t zero = 0;
    int32_t j;
    __asm__("" : "+r"(zero)); /* a value gcc cannot see: the loop stays (not a memset call) */
    for (j = 0; j < bytes; j += 4) CNNC_COPY(r + j, &zero, sizeof zero);
}

/* A conv's input rows as dsp_widen_padded writes them, fixed per call (the fields in one
 * struct: its callers' asm clobbers memory, after which gcc reloads anything read from p). */
typedef struct {
    const int8_t *x;   /* [n][h][w * C] */
    int32_t h, wc, rl; /* image rows, inputs a row (w * C), int16 elements a widened row */
    int32_t lead, n;   /* the padding's elements before the inputs, the inputs a row writes */
    int32_t zp;        /* x_zero_point */
    uint32_t nzp;      /* (-zp, -zp) as int16 lanes */
} dsp_widen;

CNNC_INLINE void dsp_widen_make(dsp_widen *wd, const cnnc_s8_conv_params *p, const int8_t *x,
                                int32_t rl) {
    const int32_t wc = p->w * p->c, lead = p->pad_left * p->c < rl ? p->pad_left * p->c : rl;
    wd->x = x, wd->h = p->h, wd->wc = wc, wd->rl = rl, wd->lead = lead;
    wd->n = wc < rl - lead ? wc : rl - lead;
    wd->zp = p->x_zero_point, wd->nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
}

/* Input row iy of image b into r[rl] int16 (rl even; bytes, any alignment), a slot of a
 * ring the caller zeroed (dsp_zero_words) before its first row: element e is channel e mod
 * C of padded column e / C (column pad_left is the image's first), x - zp there, zero
 * outside the image. Every row of the image writes the same elements (its
 * whole pairs from pad_left * C on, the last one alone), so the padding's zeros stay; a row
 * outside the image zeroes the slot. The inputs go 16 a turn from a word-aligned row
 * (DSP_WIDEN16), then 8 (DSP_WIDEN8), the last n mod 8 one by one. */
/* Not inlined, nor cloned: DSP_WIDEN16's LDM loads its list {e0, e1, e2, e3} in register
 * order whatever order it is written in, so e0..e3 must get ascending registers, which gcc's
 * allocation of this function gives (r6, r7, r12, lr) and its allocation inlined into
 * dsp_conv_rgb (the RGB stem's only caller where the model has no direct path) did not. */
static __attribute__((noinline)) DSP_NOCLONE void dsp_widen_padded(const dsp_widen *wd, int32_t b,
                                                                   int32_t iy, int8_t *r) {
    int32_t n = wd->n;
    const int8_t *src;
    int8_t *dst = r + 2 * wd->lead;
    int32_t j;
    if ((uint32_t)iy >= (uint32_t)wd->h) {
        dsp_zero_words(r, 2 * wd->rl);
        return;
    }
    src = wd->x + ((size_t)b * wd->h + iy) * wd->wc;
    if (n >= 16 && !((uintptr_t)src & 3)) {
        const int8_t *const end = src + (n & ~15);
        const uint32_t nzp = wd->nzp;
        uint32_t e0, e1, e2, e3, o0, o1, t;
        DSP_WIDEN16();
        n -= n & ~15;
    }
    if (n >= 8) {
        const int8_t *const end = src + (n & ~7);
        const uint32_t nzp = wd->nzp;
        uint32_t e0, e1, o0, o1, t;
        DSP_WIDEN8();
    }
    for (j = 0; j < (n & 7); ++j) {
        const int16_t v = (int16_t)(src[j] - wd->zp);
        CNNC_COPY(dst + 2 * j, &v, sizeof v);
    }
}

/* The pairs of the windows of n output pixels whose kernel row ky starts at r[ky] +
 * step * i (bytes of int16 rows), for kh kernel rows of l inputs (known where inlined: the
 * loops unrolled), into the records xv[i] (DSP_DIRECT_XREC words). */
static void dsp_direct_xrow(const int8_t *const *r, int32_t kh, int32_t l, int32_t step, int32_t n,
                            uint32_t *xv) {
    int32_t i, off;
    for (i = 0, off = 0; i < n; ++i, off += step, xv += DSP_DIRECT_XREC) {
        int32_t m = 0, ky, q;
        for (ky = 0; ky < kh; ++ky)
            for (q = 0; q < l / 2; ++q) xv[m++] = dsp_load4(r[ky] + off + 4 * q);
        if (l & 1)
            for (ky = 0; ky < kh; ky += 2) {
                const uint32_t lo = dsp_load4(r[ky] + off + 2 * (l - 1));
                xv[m++] =
                    ky + 1 < kh ? dsp_pkhbt(lo, dsp_load4(r[ky + 1] + off + 2 * (l - 1))) : lo;
            }
        for (; m < DSP_DIRECT_PAIRS; ++m) xv[m] = 0;
    }
}

/* dsp_direct_xrow for kh = l = 3 (the rows' pointers apart, the pairs written out); with
 * step 4 (stride 2 over one channel) a window's last pairs are the next one's first. */
static __attribute__((noinline)) void dsp_direct_x33(const int8_t *r0, const int8_t *r1,
                                                     const int8_t *r2, int32_t step, int32_t n,
                                                     uint32_t *xv) {
    uint32_t *const end = xv + DSP_DIRECT_XREC * n;
    if (step == 4 && n >= 4 && !(n & 3) && !(((uintptr_t)r0 | (uintptr_t)r1 | (uintptr_t)r2) & 3)) {
        /* four pixels a turn on word-aligned rows, each row's next two words by one LDM (5.5
         * instructions a pixel): a row's words in three sets of registers X (r3..r5), Y
         * (r6..r8), Z (r9, r10, lr); the pixels' left words from Z, X, Y, X, their right from
         * the LDMs' pairs (X, Y), then (X, Z) (each LDM's first register below its second); a
         * record's fourth word (PKHBT) into the register of a word just stored */
        register const int8_t *p0 __asm__("r0") = r0, *p1 __asm__("r1") = r1,
                                  *p2 __asm__("r2") = r2;
        register uint32_t *xp __asm__("r11") = xv;
        register uint32_t *xend __asm__("r12") = end;
        __asm__ __volatile__(
            "ldr r9, [r0], #4\n\t"
            "ldr r10, [r1], #4\n\t"
            "ldr lr, [r2], #4\n\t"
            "1:\n\t"
            "ldm r0!, {r3, r6}\n\t"
            "ldm r1!, {r4, r7}\n\t"
            "ldm r2!, {r5, r8}\n\t"
            "stm r11!, {r9, r10, lr}\n\t"
            "pkhbt r9, r3, r4, lsl #16\n\t"
            "strd r9, r5, [r11], #8\n\t"
            "stm r11!, {r3, r4, r5}\n\t"
            "pkhbt r3, r6, r7, lsl #16\n\t"
            "strd r3, r8, [r11], #8\n\t"
            "ldm r0!, {r3, r9}\n\t"
            "ldm r1!, {r4, r10}\n\t"
            "ldm r2!, {r5, lr}\n\t"
            "stm r11!, {r6, r7, r8}\n\t"
            "pkhbt r6, r3, r4, lsl #16\n\t"
            "strd r6, r5, [r11], #8\n\t"
            "stm r11!, {r3, r4, r5}\n\t"
            "pkhbt r3, r9, r10, lsl #16\n\t"
            "strd r3, lr, [r11], #8\n\t"
            "cmp r11, r12\n\t"
            "bne 1b"
            : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(xp)
            : "r"(xend)
            : "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "lr", "cc", "memory");
    } else if (step == 4) { /* two pixels a turn in asm, each record by an STM and an STRD (gcc's C
                        form: 15 instructions a pixel, this 6.5), the words of a pixel's
                        right half (r7..r9, then r4..r6) its successor's left */
        register const int8_t *p0 __asm__("r0") = r0, *p1 __asm__("r1") = r1,
                                  *p2 __asm__("r2") = r2;
        register uint32_t *xp __asm__("r11") = xv;
        register uint32_t *pend __asm__("r12") = xv + DSP_DIRECT_XREC * (n & ~1);
        register uint32_t *xend __asm__("lr") = end;
        __asm__ __volatile__(
            "ldr r4, [r0], #4\n\t"
            "ldr r5, [r1], #4\n\t"
            "ldr r6, [r2], #4\n\t"
            "cmp r11, r12\n\t"
            "beq 2f\n\t"
            "1:\n\t"
            "ldr r7, [r0], #4\n\t"
            "ldr r8, [r1], #4\n\t"
            "ldr r9, [r2], #4\n\t"
            "pkhbt r3, r7, r8, lsl #16\n\t"
            "stm r11!, {r4, r5, r6}\n\t"
            "strd r3, r9, [r11], #8\n\t"
            "ldr r4, [r0], #4\n\t"
            "ldr r5, [r1], #4\n\t"
            "ldr r6, [r2], #4\n\t"
            "pkhbt r3, r4, r5, lsl #16\n\t"
            "stm r11!, {r7, r8, r9}\n\t"
            "strd r3, r6, [r11], #8\n\t"
            "cmp r11, r12\n\t"
            "bne 1b\n\t"
            "2:\n\t"
            "cmp r11, lr\n\t"
            "beq 3f\n\t"
            "ldr r7, [r0]\n\t"
            "ldr r8, [r1]\n\t"
            "ldr r9, [r2]\n\t"
            "pkhbt r3, r7, r8, lsl #16\n\t"
            "stm r11!, {r4, r5, r6}\n\t"
            "strd r3, r9, [r11], #8\n\t"
            "3:"
            : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(xp)
            : "r"(pend), "r"(xend)
            : "r3", "r4", "r5", "r6", "r7", "r8", "r9", "cc", "memory");
    } else {
        for (; xv < end; r0 += step, r1 += step, r2 += step, xv += DSP_DIRECT_XREC) {
            xv[0] = dsp_load4(r0), xv[1] = dsp_load4(r1), xv[2] = dsp_load4(r2);
            xv[3] = dsp_pkhbt(dsp_load4(r0 + 4), dsp_load4(r1 + 4)), xv[4] = dsp_load4(r2 + 4);
        }
    }
}

/* The pixels' outputs, two outputs j (even) and k = j + 1 a period. The table's records are
 * 8 words an output: its bias A, weight pairs W0..W3, W4' = (e, w8) (the shift in the low
 * byte, which ASR reads, the ninth tap's doubled weight above, which SMLABT reads against
 * x4's low lane: K <= 9 leaves x4's high lane a zero weight), m and c; bit 8 of the last
 * output's W4' ends the outputs (neither ASR nor SMLABT reads it). x0..x4 (r0..r4) hold the
 * pixel, r5..r11 the records, which three LDMs of 6, 4 and 6 words carry through a period
 * in the order of their registers (an output's 8 words through 7 registers, 1.5 LDMs an
 * output where one LDM can hold no whole record):
 *   LDM a: j's W0..W3, W4', m into r6..r11 (A_j is in r5);
 *   LDM b: c_j, k's W0, W1 into r6..r8 and A_k into r9 (r6..r9 are free after j's SMLADs);
 *   LDM c: A of the next even output into r5, k's W2, W3, W4' into r6..r8, m_k, c_k into
 *     r10, r11 (free once j is stored; the last period's next A is the table's first, for
 *     the next pixel).
 * DSP_DIRECT_SIGN_J / _K: the doubled requantisation's sign term (c += acc >> 31, dsp_gq_one's
 * DSP_RQ_DOUBLE2), or nothing where the output zero point is -128 (DSP_RQ_DOUBLE2Z,
 * s8_dsp.h: the clamp is full on this path). */
#define DSP_DIRECT_SIGN_J "add r6, r6, r5, asr #31\n\t"
#define DSP_DIRECT_SIGN_K "add r11, r11, r9, asr #31\n\t"
/* The requantisation of j (r5: m r11, c r6, e r10) and k (r9: m r10, c r11, e r8): SMMLAR,
 * the right shift by e and SSAT; _SH: dsp_direct_scale's table, SMMLA and SSAT's own ASR by
 * DSP_DIRECT_SH (one instruction an output less). */
#define DSP_DIRECT_RQ_J "smmlar r5, r5, r11, r6\n\tasr r5, r5, r10\n\tssat r5, #8, r5\n\t"
#define DSP_DIRECT_RQ_K "smmlar r9, r9, r10, r11\n\tasr r9, r9, r8\n\tssat r9, #8, r9\n\t"
#define DSP_DIRECT_RQ_J_SH "smmla r5, r5, r11, r6\n\tssat r5, #8, r5, asr #12\n\t"
#define DSP_DIRECT_RQ_K_SH "smmla r9, r9, r10, r11\n\tssat r9, #8, r9, asr #12\n\t"
#define DSP_DIRECT_PERIOD(SJ, SK) DSP_DIRECT_PERIOD_RQ(SJ, SK, DSP_DIRECT_RQ_J, DSP_DIRECT_RQ_K)
#define DSP_DIRECT_PERIOD_RQ(SJ, SK, RQJ, RQK)   \
    "ldm %[wp]!, {r6, r7, r8, r9, r10, r11}\n\t" \
    "smlad r5, r0, r6, r5\n\t"                   \
    "smlad r5, r1, r7, r5\n\t"                   \
    "smlad r5, r2, r8, r5\n\t"                   \
    "smlad r5, r3, r9, r5\n\t"                   \
    "smlabt r5, r4, r10, r5\n\t"                 \
    "ldm %[wp]!, {r6, r7, r8, r9}\n\t" SJ RQJ    \
    "strb r5, [%[y]], #1\n\t"                    \
    "smlad r9, r0, r7, r9\n\t"                   \
    "smlad r9, r1, r8, r9\n\t"                   \
    "ldm %[wp]!, {r5, r6, r7, r8, r10, r11}\n\t" \
    "smlad r9, r2, r6, r9\n\t"                   \
    "smlad r9, r3, r7, r9\n\t"                   \
    "smlabt r9, r4, r8, r9\n\t" SK RQK "strb r9, [%[y]], #1\n\t"
#define DSP_DIRECT_PERIOD2(SJ, SK) DSP_DIRECT_PERIOD(SJ, SK) DSP_DIRECT_PERIOD(SJ, SK)
#define DSP_DIRECT_PERIOD4(SJ, SK) DSP_DIRECT_PERIOD2(SJ, SK) DSP_DIRECT_PERIOD2(SJ, SK)
#define DSP_DIRECT_PERIOD8(SJ, SK) DSP_DIRECT_PERIOD4(SJ, SK) DSP_DIRECT_PERIOD4(SJ, SK)
/* PERIODS: the periods a turn (1, 2, 4 or 8: the turn's TST and branch, TURNS, per 16
 * outputs at most). After the last output the trailer (-the records' bytes, the outputs to skip in
 * y, the next pixel record's address, the end of the records) rewinds wp, moves y on and
 * loads the next pixel; the entry jumps there first (y starts one skip early). */
#define DSP_DIRECT_ROW_Y(PERIODS, TURNS, YSTEP)                                                 \
    __asm__ __volatile__(                                                                       \
        "b 3f\n\t"                                                                              \
        "1:\n\t" PERIODS TURNS                                                                  \
        "3:\n\t"                                                                                \
        "ldm %[wp], {r6, r7, r8, r9}\n\t"                                                       \
        "ldm r8!, {r0, r1, r2, r3, r4}\n\t"                                                     \
        "str r8, [%[wp], #8]\n\t"                                                               \
        "add %[wp], %[wp], r6\n\t" YSTEP                                                        \
        "cmp r8, r9\n\t"                                                                        \
        "bls 1b"                                                                                \
        : "=&r"(x0), "=&r"(x1), "=&r"(x2), "=&r"(x3), "=&r"(x4), "+r"(a), "=&r"(r6), "=&r"(r7), \
          "=&r"(r8), "=&r"(r9), "=&r"(r10), "=&r"(r11), [wp] "+r"(wp), [y] "+r"(y)              \
        :                                                                                       \
        : "memory", "cc")
#define DSP_DIRECT_YSTEP "add %[y], %[y], r7\n\t"
#define DSP_DIRECT_ROW(PERIODS, TURNS) DSP_DIRECT_ROW_Y(PERIODS, TURNS, DSP_DIRECT_YSTEP)

/* TURNS: another turn unless the last output's W4' has bit 8. */
#define DSP_DIRECT_TURNS \
    "tst r8, #256\n\t"   \
    "beq 1b\n\t"
/* DSP_DIRECT_ROW with the periods a turn that count allows, signs SJ, SK; 16 outputs (the
 * stems' usual count) in one turn without the test, and where they are all of a pixel's
 * outputs (the trailer's skip 0) without the step of y. */
/* Each loop but the last (any even count) only where one of the model's calls (M: Z or S,
 * DSP_DIRECT_Z_* or DSP_DIRECT_S_*) has a block of its counts; the others run the next. */
#define DSP_DIRECT_BUILT(M, N) CNNC_MODEL_CALLS(s8_conv, DSP_DIRECT_##M##_##N)
#define DSP_DIRECT_ROW_BY_COUNT(SJ, SK, M)                                        \
    if (DSP_DIRECT_BUILT(M, WHOLE16) && count == 16 && !skip)                     \
        DSP_DIRECT_ROW_Y(DSP_DIRECT_PERIOD8(SJ, SK), "", "");                     \
    else if (DSP_DIRECT_BUILT(M, IS16) && count == 16)                            \
        DSP_DIRECT_ROW(DSP_DIRECT_PERIOD8(SJ, SK), "");                           \
    else if (DSP_DIRECT_BUILT(M, 16) && !(count & 15)) /* eight periods a turn */ \
        DSP_DIRECT_ROW(DSP_DIRECT_PERIOD8(SJ, SK), DSP_DIRECT_TURNS);             \
    else if (DSP_DIRECT_BUILT(M, 8) && !(count & 7)) /* four */                   \
        DSP_DIRECT_ROW(DSP_DIRECT_PERIOD4(SJ, SK), DSP_DIRECT_TURNS);             \
    else if (DSP_DIRECT_BUILT(M, 4) && !(count & 3)) /* two */                    \
        DSP_DIRECT_ROW(DSP_DIRECT_PERIOD2(SJ, SK), DSP_DIRECT_TURNS);             \
    else                                                                          \
        DSP_DIRECT_ROW(DSP_DIRECT_PERIOD(SJ, SK), DSP_DIRECT_TURNS)

/* DSP_DIRECT_PERIOD on dsp_direct_scale's table (output zero point -128: no sign's term). */
#define DSP_DIRECT_SH_PERIOD DSP_DIRECT_PERIOD_RQ("", "", DSP_DIRECT_RQ_J_SH, DSP_DIRECT_RQ_K_SH)
#define DSP_DIRECT_SH_PERIOD2 DSP_DIRECT_SH_PERIOD DSP_DIRECT_SH_PERIOD
#define DSP_DIRECT_SH_PERIOD4 DSP_DIRECT_SH_PERIOD2 DSP_DIRECT_SH_PERIOD2
#define DSP_DIRECT_SH_PERIOD8 DSP_DIRECT_SH_PERIOD4 DSP_DIRECT_SH_PERIOD4

/* The pixel records named in the trailer at tab + 1 + 8 count (dsp_conv_direct) through the
 * table of count outputs (even) at tab, outputs stored from y on; mode: DSP_DIRECT_SIGN,
 * DSP_DIRECT_RELU (the output zero point is -128) or DSP_DIRECT_RELU_SH (that, on the table
 * dsp_direct_scale made, count a multiple of 16: eight periods a turn, 16 outputs of a
 * whole pixel in one). */
enum { DSP_DIRECT_SIGN = 0, DSP_DIRECT_RELU = 1, DSP_DIRECT_RELU_SH = 2 };
static __attribute__((noinline)) void dsp_direct_pixels(const uint32_t *tab, int8_t *y,
                                                        int32_t count, int mode) {
    register uint32_t x0 __asm__("r0"), x1 __asm__("r1"), x2 __asm__("r2"), x3 __asm__("r3");
    register uint32_t x4 __asm__("r4"), a __asm__("r5") = tab[0], r6 __asm__("r6");
    register uint32_t r7 __asm__("r7"), r8 __asm__("r8"), r9 __asm__("r9"), r10 __asm__("r10");
    register uint32_t r11 __asm__("r11");
    const uint32_t *wp = tab + 1 + DSP_DIRECT_REC * count;
    const uint32_t skip = wp[1];
    y -= skip;
    if (mode == DSP_DIRECT_RELU_SH) {
        if (DSP_DIRECT_BUILT(Z, WHOLE16) && count == 16 && !skip)
            DSP_DIRECT_ROW_Y(DSP_DIRECT_SH_PERIOD8, "", "");
        else
            DSP_DIRECT_ROW(DSP_DIRECT_SH_PERIOD8, DSP_DIRECT_TURNS);
    } else if (CNNC_MODEL_CALLS(s8_conv, DSP_DIRECT_Z) && mode == DSP_DIRECT_RELU) {
        DSP_DIRECT_ROW_BY_COUNT("", "", Z);
    } else {
        DSP_DIRECT_ROW_BY_COUNT(DSP_DIRECT_SIGN_J, DSP_DIRECT_SIGN_K, S);
    }
    (void)x0, (void)x1, (void)x2, (void)x3, (void)x4, (void)a, (void)r6, (void)r7, (void)r8,
        (void)r9, (void)r10, (void)r11;
}
/* ---------------------------------------------------------------------------------
 * The 3x3 conv of 3 channels (the RGB stems, K = 27) without im2col: the GEMM core's
 * groups (dsp_row_groups_asm) on input quads built from the same widened rows. A window's
 * kernel row r holds taps 9r .. 9r+8 as int16 elements, its pairs (9r + 2j, 9r + 2j + 1)
 * are words (j < 4), so a pixel's 14 words are 12 such pairs as they lie in the rows, then
 * (x8, x17) (PKHBT of the ninth elements of rows 0 and 1) and (x26, the element past the
 * window: a zero weight). The weights are repacked in that order instead of the taps':
 * quad q's xe is word 2q and xo word 2q+1, which the GEMM pairs with the taps 4q, 4q+2 and
 * 4q+1, 4q+3 of its K (dsp_repack), so tap 4q + i of the permuted weights is
 * dsp_rgb_taps[4q + i] of the conv's (-1: a zero weight). */
/* The RGB path's calls, then by the block counts (16: dsp_rgb_pixels16, the others
 * dsp_rgb_groups' loop) and the output zero point (Z: -128, S: the others): each loop's own
 * calls. */
#define DSP_RGB_RL(p) (((((p).out_w - 1) * (p).stride_w + 3) * 3 + 3) & ~1) /* int16 */
#define DSP_CONV_RGB(p)                                                        \
    (DSP_CONV_GEMM(p) && (p).groups == 1 && (p).c == 3 && (p).kernel_h == 3 && \
     (p).kernel_w == 3 && DSP_CONV_FULL2(p) &&                                 \
     3 * 2 * DSP_RGB_RL(p) <= DSP_COL_BYTES + DSP_COL_SPARE)
#define DSP_RGB_16_Z(p) \
    (DSP_CONV_RGB(p) && (p).y_zero_point == -128 && DSP_CONV_COUNTS(p, DSP_COUNT_IS16))
#define DSP_RGB_16_S(p) \
    (DSP_CONV_RGB(p) && (p).y_zero_point != -128 && DSP_CONV_COUNTS(p, DSP_COUNT_IS16))
#define DSP_RGB_16(p) (DSP_RGB_16_Z(p) || DSP_RGB_16_S(p))
#define DSP_RGB_IS16(count) (CNNC_MODEL_CALLS(s8_conv, DSP_RGB_16) && (count) == 16)
#define DSP_RGB_S2(p) (DSP_CONV_RGB(p) && (p).stride_w == 2) /* dsp_rgb_quads' asm */

static const int8_t dsp_rgb_taps[28] = {0,  2,  1,  3,  4,  6,  5,  7,  9,  11, 10, 12, 13, 15,
                                        14, 16, 18, 20, 19, 21, 22, 24, 23, 25, 8,  26, 17, -1};

/* Outputs o0 .. o0+count-1 of w[27][og] in dsp_rgb_taps' order into wt[28][count]. */
static void dsp_rgb_weights(const int8_t *w, int32_t og, int32_t o0, int32_t count, int8_t *wt) {
    int32_t t, j;
    for (t = 0; t < 28; ++t, wt += count) {
        const int32_t u = dsp_rgb_taps[t];
        for (j = 0; j < count; ++j) wt[j] = u < 0 ? 0 : w[(size_t)u * og + o0 + j];
    }
}

/* dsp_row_groups_asm with its 7 quads written out (its loop over pairs of quads costs 4
 * instructions a turn): whole groups of count4 outputs, DSP_RQ_DOUBLE2, full clamp; relu
 * (known where inlined): the output zero point is -128, DSP_RQ_DOUBLE2Z's requantisation
 * without the sign's term (s8_dsp.h). */
DSP_ALWAYS_INLINE void dsp_rgb_groups(const uint32_t **wpp, const uint32_t **gqp, int8_t **yp,
                                      const uint32_t *xw, int32_t count4, int relu) {
    const uint32_t *wp = *wpp, *gq = *gqp;
    int8_t *y = *yp, *const yend = *yp + count4;
    while (y < yend) {
        register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
        register uint32_t xe __asm__("r4"), xo __asm__("r5");
        register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
        const uint32_t *xp = xw;
        DSP_ASM_ACC_INIT();
        DSP_ASM_QUAD_AT("0");
        DSP_ASM_QUAD_AT("8");
        DSP_ASM_QUAD_AT("16");
        DSP_ASM_QUAD_AT("24");
        DSP_ASM_QUAD_AT("32");
        DSP_ASM_QUAD_AT("40");
        DSP_ASM_QUAD_AT("48");
        if (relu)
            DSP_ASM_STORE(DSP_ASM_RQ_DOUBLE2Z);
        else
            DSP_ASM_STORE(DSP_ASM_RQ_DOUBLE2);
    }
    *wpp = wp, *gqp = gq, *yp = y;
}

/* The quads of n pixels' windows, pixel i's at r0 + step * i (rows r0, r1, r2), into
 * xw[i][14] in dsp_rgb_taps' order. */
#define DSP_RGB_XREC 14
static __attribute__((noinline)) void dsp_rgb_quads(const int8_t *r0, const int8_t *r1,
                                                    const int8_t *r2, int32_t step, int32_t n,
                                                    uint32_t *xw) {
    uint32_t *const end = xw + DSP_RGB_XREC * n;
    int32_t j;
    if (CNNC_MODEL_CALLS(s8_conv, DSP_RGB_S2) && step == 12 &&
        !(((uintptr_t)r0 | (uintptr_t)r1 | (uintptr_t)r2) & 3)) {
        /* stride 2 on word-aligned rows: a pixel's 5 words of a row by one LDM, its record
         * by three STMs (12 instructions a pixel) */
        register const int8_t *p0 __asm__("r0") = r0, *p1 __asm__("r1") = r1,
                                  *p2 __asm__("r2") = r2;
        register uint32_t *xp __asm__("r3") = xw;
        register uint32_t *xend __asm__("r12") = end;
        __asm__ __volatile__(
            "1:\n\t"
            "ldm r0, {r4, r5, r6, r7, r8}\n\t"
            "adds r0, r0, #12\n\t"
            "stm r3!, {r4, r5, r6, r7}\n\t"
            "ldm r1, {r4, r5, r6, r7, r9}\n\t"
            "adds r1, r1, #12\n\t"
            "stm r3!, {r4, r5, r6, r7}\n\t"
            "pkhbt r8, r8, r9, lsl #16\n\t"
            "ldm r2, {r4, r5, r6, r7, r9}\n\t"
            "adds r2, r2, #12\n\t"
            "stm r3!, {r4, r5, r6, r7, r8, r9}\n\t"
            "cmp r3, r12\n\t"
            "bne 1b"
            : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(xp)
            : "r"(xend)
            : "r4", "r5", "r6", "r7", "r8", "r9", "cc", "memory");
        return;
    }
    for (; xw < end; r0 += step, r1 += step, r2 += step, xw += DSP_RGB_XREC) {
        for (j = 0; j < 4; ++j) {
            xw[j] = dsp_load4(r0 + 4 * j);
            xw[4 + j] = dsp_load4(r1 + 4 * j);
            xw[8 + j] = dsp_load4(r2 + 4 * j);
        }
        xw[12] = dsp_pkhbt(dsp_load4(r0 + 16), dsp_load4(r1 + 16));
        xw[13] = dsp_load4(r2 + 16);
    }
}

/* Blocks of 16 outputs (the stems' count) run on their own layout in blk->w, which
 * dsp_rgb_layout16 makes once a block from the repacked weights and gq: per group of 4
 * outputs, the weight stream (DSP_RGB_WS words) holds quad 0's words of outputs 0, 1, then
 * the biases of outputs 2, 3 before quad 0's words of outputs 2, 3 (one LDM of 6 loads
 * both), then quads 1..6; the requantisation stream (DSP_RGB_GS words) holds e 0, e 1,
 * (m, c) 0, (m, c) 1, then the next group's biases of outputs 0, 1 (group 0's after group
 * 3) before e 2, e 3, (m, c) 2, (m, c) 3 (one LDM of 8 after outputs 0, 1 are stored). So
 * no group loads its 4 biases by an LDM of its own (4 instructions a pixel). Then the
 * trailer: the outputs to skip in y past a pixel's 16, the end of the records; the pixels'
 * records (DSP_RGB_XREC words) from DSP_RGB_X16 on. */
#define DSP_RGB_WS 58
#define DSP_RGB_GS 14
#define DSP_RGB_X16 (4 * DSP_RGB_WS + 4 * DSP_RGB_GS + 2)
static void dsp_rgb_layout16(dsp_block *blk) {
    uint32_t *const w = blk->w, *const gs = blk->w + 4 * DSP_RGB_WS;
    int32_t g, j;
    for (g = 3; g >= 0; --g) { /* backwards: a word moves up by 2 g (+ 2), never onto an
                                  unread one */
        uint32_t *const d = w + DSP_RGB_WS * g;
        const uint32_t *const src = w + 56 * g;
        const uint32_t *const gq = (const uint32_t *)blk->gq[g];
        const uint32_t *const next = (const uint32_t *)blk->gq[(g + 1) & 3];
        for (j = 55; j >= 4; --j) d[j + 2] = src[j];
        d[5] = gq[3], d[4] = gq[2];
        for (j = 3; j >= 0; --j) d[j] = src[j];
        for (j = 0; j < 6; ++j) gs[DSP_RGB_GS * g + j] = gq[4 + j];
        gs[DSP_RGB_GS * g + 6] = next[0], gs[DSP_RGB_GS * g + 7] = next[1];
        for (j = 0; j < 6; ++j) gs[DSP_RGB_GS * g + 8 + j] = gq[10 + j];
    }
}

/* One group on the pixel's record at xp (a0, a1 hold its first biases): quad 0 with the
 * LDM of 6 that brings a2, a3, quads 1..6 as the GEMM core's, outputs 0, 1, the LDM of 8
 * that brings the next group's a0, a1, outputs 2, 3. The registers as dsp_row_groups_asm's
 * (s8_dsp.h), wp r6, gq r7, xp r12, y lr. */
/* clang-format off */
#define DSP_RGB_GROUP(RQ)                                  \
    "ldrd %[xe], %[xo], [%[xp]]\n\t"                       \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"         \
    "smlad %[a0], %[xe], %[w0], %[a0]\n\t"                 \
    "smlad %[a0], %[xo], %[w1], %[a0]\n\t"                 \
    "smlad %[a1], %[xe], %[w2], %[a1]\n\t"                 \
    "smlad %[a1], %[xo], %[w3], %[a1]\n\t"                 \
    "ldm %[wp]!, {%[a2], %[a3], %[w0], %[w1], %[w2], %[w3]}\n\t" \
    "smlad %[a2], %[xe], %[w0], %[a2]\n\t"                 \
    "smlad %[a2], %[xo], %[w1], %[a2]\n\t"                 \
    "smlad %[a3], %[xe], %[w2], %[a3]\n\t"                 \
    "smlad %[a3], %[xo], %[w3], %[a3]\n\t"                 \
    DSP_ASM_QUAD("8") DSP_ASM_QUAD("16") DSP_ASM_QUAD("24") \
    DSP_ASM_QUAD("32") DSP_ASM_QUAD("40") DSP_ASM_QUAD("48") \
    "ldm %[gq]!, {%[xe], %[xo], %[w0], %[w1], %[w2], %[w3]}\n\t" \
    RQ("a0", "w0", "w1", "xe") RQ("a1", "w2", "w3", "xo")  \
    "ldm %[gq]!, {%[a0], %[a1], %[xe], %[xo], %[w0], %[w1], %[w2], %[w3]}\n\t" \
    RQ("a2", "w0", "w1", "xe") RQ("a3", "w2", "w3", "xo")
/* The pixels' loop: 4 groups, then the trailer's skip and end, wp and gq back by a
 * block's 928 and 224 bytes (7 instructions a pixel; the C loops cost 26). */
#define DSP_RGB_PIXELS16(RQ)                                                            \
    __asm__ __volatile__(                                                               \
        "1:\n\t"                                                                        \
        DSP_RGB_GROUP(RQ) DSP_RGB_GROUP(RQ) DSP_RGB_GROUP(RQ) DSP_RGB_GROUP(RQ)         \
        "ldrd %[w0], %[w1], [%[gq]]\n\t"                                                \
        "add %[y], %[y], %[w0]\n\t"                                                     \
        "add %[xp], %[xp], #56\n\t"                                                     \
        "sub %[wp], %[wp], #928\n\t"                                                    \
        "sub %[gq], %[gq], #224\n\t"                                                    \
        "cmp %[xp], %[w1]\n\t"                                                          \
        "blo 1b"                                                                        \
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),                 \
          [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1),               \
          [w2] "=&r"(w2), [w3] "=&r"(w3), [wp] "+r"(wp), [gq] "+r"(gq),                 \
          [xp] "+r"(xp), [y] "+r"(y)                                                    \
        :                                                                               \
        : "memory", "cc")
/* clang-format on */

/* The 16 outputs of n >= 1 pixels, their records from xw on (dsp_rgb_layout16's blk->w),
 * into yr on, oc apart; relu: the output zero point is -128. */
static __attribute__((noinline)) void dsp_rgb_pixels16(dsp_block *blk, const uint32_t *xw,
                                                       int32_t n, int8_t *yr, int32_t oc,
                                                       int relu) {
    uint32_t *const gs = blk->w + 4 * DSP_RGB_WS;
    register int32_t a0 __asm__("r0") = (int32_t)gs[DSP_RGB_GS * 3 + 6];
    register int32_t a1 __asm__("r1") = (int32_t)gs[DSP_RGB_GS * 3 + 7];
    register int32_t a2 __asm__("r2"), a3 __asm__("r3");
    register uint32_t xe __asm__("r4"), xo __asm__("r5");
    register const uint32_t *wp __asm__("r6") = blk->w;
    register const uint32_t *gq __asm__("r7") = gs;
    register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
    register const uint32_t *xp __asm__("r12") = xw;
    register int8_t *y __asm__("lr") = yr;
    gs[4 * DSP_RGB_GS] = (uint32_t)(oc - 16),
           gs[4 * DSP_RGB_GS + 1] = (uint32_t)(xw + DSP_RGB_XREC * n);
    if (CNNC_MODEL_CALLS(s8_conv, DSP_RGB_16_Z) && relu)
        DSP_RGB_PIXELS16(DSP_ASM_RQ_DOUBLE2Z);
    else /* DSP_RQ_DOUBLE2 computes DSP_RQ_DOUBLE2Z's bytes too */
        DSP_RGB_PIXELS16(DSP_ASM_RQ_DOUBLE2);
    (void)a0, (void)a1, (void)a2, (void)a3, (void)xe, (void)xo, (void)w0, (void)w1, (void)w2,
        (void)w3;
}

/* One output row of pixels: their quads (dsp_rgb_quads) into blk->w past the repacked
 * weights, chunk pixels at a time, then every whole group of the block (count4 outputs)
 * of each pixel into y (dsp_rgb_pixels16 for 16); relu: the output zero point is -128. */
static __attribute__((noinline)) void dsp_rgb_row(dsp_block *blk, const int8_t *r0,
                                                  const int8_t *r1, const int8_t *r2, int32_t step,
                                                  int32_t n, int8_t *y, int32_t oc, int relu) {
    uint32_t *const xw =
        blk->w + (DSP_RGB_IS16(blk->count) ? DSP_RGB_X16 : (size_t)blk->count / 4 * 7 * 8);
    const int32_t chunk = (int32_t)(DSP_WBUF_WORDS - (xw - blk->w)) / DSP_RGB_XREC; /* >= 25 */
    int32_t i, i0;
    for (i0 = 0; i0 < n; i0 += chunk) {
        const int32_t np = n - i0 < chunk ? n - i0 : chunk;
        const uint32_t *xp = xw;
        dsp_rgb_quads(r0 + (size_t)i0 * step, r1 + (size_t)i0 * step, r2 + (size_t)i0 * step, step,
                      np, xw);
        if (DSP_RGB_IS16(blk->count)) {
            dsp_rgb_pixels16(blk, xw, np, y, oc, relu);
            y += (size_t)np * oc;
            continue;
        }
        for (i = 0; i < np; ++i, y += oc, xp += DSP_RGB_XREC) {
            const uint32_t *wp = blk->w, *gq = (const uint32_t *)blk->gq[0];
            int8_t *yp = y;
            if (relu)
                dsp_rgb_groups(&wp, &gq, &yp, xp, blk->count, 1);
            else
                dsp_rgb_groups(&wp, &gq, &yp, xp, blk->count, 0);
        }
    }
}

/* Outputs o0 .. o0+count-1 (a multiple of 4) of a 3x3 conv of 3 channels, blk repacked
 * in dsp_rgb_taps' order (DSP_RQ_DOUBLE2, the full clamp): the widened rows (a ring of 3,
 * x - zp) in col. */
static __attribute__((noinline)) void dsp_conv_rgb(const cnnc_s8_conv_params *p, const int8_t *x,
                                                   int32_t o0, dsp_block *blk, int8_t *col,
                                                   int8_t *y) {
    const int32_t oc = p->out_c;
    const int32_t rl = (((p->out_w - 1) * p->stride_w + 3) * 3 + 3) & ~1; /* int16 */
    const int32_t step = 2 * p->stride_w * 3;                             /* bytes */
    const int8_t *r[3];
    int32_t b, oy, ky;
    int32_t i;
    dsp_widen wd;
    /* the doubled form's factor 2 on the weights' int16 lanes (2 w in -256..254), once a
     * block, not on every widened input (4 instructions per 8 of dsp_widen_padded) */
    for (i = 0; i < blk->count / 4 * 7 * 8; ++i)
        blk->w[i] = (uint32_t)__sadd16((int32_t)blk->w[i], (int32_t)blk->w[i]);
    if (DSP_RGB_IS16(blk->count)) dsp_rgb_layout16(blk);
    dsp_widen_make(&wd, p, x, rl);
    dsp_zero_words(col, 3 * 2 * rl);
    for (b = 0; b < p->n; ++b) {
        int32_t next = -p->pad_top; /* the first input row not yet widened */
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (ky = 0; ky < 3; ++ky) { /* row iy in slot (iy + pad_top) mod 3 */
                const int32_t iy = iy0 + ky;
                int8_t *slot = col + (size_t)((iy + p->pad_top) % 3) * 2 * rl;
                if (iy >= next) dsp_widen_padded(&wd, b, iy, slot);
                r[ky] = slot;
            }
            next = iy0 + 3;
            dsp_rgb_row(blk, r[0], r[1], r[2], step, p->out_w,
                        y + ((size_t)b * p->out_h + oy) * p->out_w * oc + o0, oc,
                        p->y_zero_point == -128);
        }
    }
}

/* Whether the direct path takes the conv: one group, K <= 9, the full clamp, and the
 * padded rows of a kernel's height fit in col. */
static int dsp_direct_fits(const cnnc_s8_conv_params *p, int32_t k, const dsp_out *out,
                           int32_t bytes) {
    const int32_t rl = (((p->out_w - 1) * p->stride_w + p->kernel_w) * p->c + 3) & ~1;
    return p->groups == 1 && k < 2 * DSP_DIRECT_PAIRS && dsp_out_full(out) &&
           p->kernel_h * 2 * rl <= bytes;
}

/* The weights of a tap past the kernel (a pair's zero half) for every output of a block. */
static const int8_t dsp_direct_zeros[DSP_BLOCK_MAX] = {0};

/* Outputs j .. j+3 of one tap pair's int8 weights at wl, wh (int16 lanes, doubled) into
 * the table at t = tab + 1 + 8 j (two periods), the pair's words of outputs j, j+1 at t[a0],
 * t[a1] (at[0][n], at[1][n]); n = 4: (0, 2 w) beside the shift (W4'). Per 4 outputs 2 LDR,
 * 4 SXTB16 (even and odd outputs), 4 SADD16, 4 PKH. */
DSP_ALWAYS_INLINE void dsp_direct_weights4(uint32_t *t, const int8_t *wl, const int8_t *wh,
                                           int32_t a0, int32_t a1, int32_t n) {
    const uint32_t l = dsp_load4(wl), h = dsp_load4(wh);
    uint32_t el = (uint32_t)dsp_even(l), ol = (uint32_t)dsp_odd(l);
    el = (uint32_t)__sadd16((int32_t)el, (int32_t)el),
    ol = (uint32_t)__sadd16((int32_t)ol, (int32_t)ol);
    if (n < 4) {
        uint32_t eh = (uint32_t)dsp_even(h), oh = (uint32_t)dsp_odd(h);
        eh = (uint32_t)__sadd16((int32_t)eh, (int32_t)eh),
        oh = (uint32_t)__sadd16((int32_t)oh, (int32_t)oh);
        t[a0] = dsp_pkhbt(el, eh), t[16 + a0] = dsp_pkhtb(eh, el);
        t[a1] = dsp_pkhbt(ol, oh), t[16 + a1] = dsp_pkhtb(oh, ol);
    } else {
        t[a0] = el << 16, t[16 + a0] = el & 0xFFFF0000u;
        t[a1] = ol << 16, t[16 + a1] = ol & 0xFFFF0000u;
    }
}

/* The table of dsp_direct_pixels for outputs o0 .. o0+count-1 (count even) at tab: A_0,
 * then per period of outputs j, k = j + 1 its LDMs' 16 words in their registers' order
 * (a: W0_j..W3_j, W4'_j, m_j; b: c_j, W0_k, W1_k, A_k; c: A_{k+1}, W2_k, W3_k, W4'_k, m_k,
 * c_k; the last A_{k+1} is A_0 again), then the trailer's rewind and y skip. The weights
 * doubled (the rows are x - zp: the sums as the doubled requantisation wants them, 2 (x -
 * zp) w exactly; |2 w| <= 256 fits the int16 lanes, each product |(x - zp) 2 w| <= 65,280). The
 * weights go 4 outputs at a time (dsp_direct_weights4), a last pair one by one. */
static void dsp_direct_table(const cnnc_s8_conv_params *p, const int8_t *w, int32_t o0,
                             int32_t count, const dsp_block *blk, uint32_t *tab) {
    /* W0..W3, W4' of outputs j (even), j + 1 past their period's first word */
    static const uint8_t at[2][5] = {{0, 1, 2, 3, 4}, {7, 8, 11, 12, 13}};
    const int32_t kh = p->kernel_h, l = p->kernel_w * p->c, oc = p->out_c;
    int32_t tap[2 * DSP_DIRECT_PAIRS], j, ky, q, n = 0;
    /* the taps of the pairs in dsp_direct_xrow's order (-1: a zero weight; K <= 9 leaves the
     * last one -1) */
    for (ky = 0; ky < kh; ++ky)
        for (q = 0; q < l / 2; ++q) tap[n++] = ky * l + 2 * q, tap[n++] = ky * l + 2 * q + 1;
    if (l & 1)
        for (ky = 0; ky < kh; ky += 2)
            tap[n++] = ky * l + l - 1, tap[n++] = ky + 1 < kh ? (ky + 1) * l + l - 1 : -1;
    for (; n < 2 * DSP_DIRECT_PAIRS; ++n) tap[n] = -1;
#pragma GCC unroll 5                         /* the records' offsets and W4' known */
    for (n = 0; n < DSP_DIRECT_PAIRS; ++n) { /* the records' weight pairs, pair by pair */
        const int32_t lo = tap[2 * n], hi = tap[2 * n + 1];
        const int8_t *const wl = lo < 0 ? dsp_direct_zeros : w + o0 + (size_t)lo * oc;
        const int8_t *const wh = hi < 0 ? dsp_direct_zeros : w + o0 + (size_t)hi * oc;
        for (j = 0; j + 4 <= count; j += 4)
            dsp_direct_weights4(tab + 1 + 8 * j, wl + j, wh + j, at[0][n], at[1][n], n);
        for (; j < count; ++j) /* a last pair of outputs */
            tab[1 + 16 * (j >> 1) + at[j & 1][n]] =
                n < 4 ? dsp_pack16(2 * wl[j], 2 * wh[j]) : (uint32_t)(2 * wl[j]) << 16;
    }
    for (j = 0; j < count; j += 4) { /* bias and requantisation: a group's e, m, c (gq) */
        const int32_t *gq = blk->gq[j >> 2];
        uint32_t *t = tab + 1 + 8 * j;
        (j ? t - 6 : tab)[0] = (uint32_t)gq[0];
        t[4] |= (uint32_t)gq[4], t[5] = (uint32_t)gq[6], t[6] = (uint32_t)gq[7]; /* e: 1..20 */
        t[9] = (uint32_t)gq[1];
        t[13] |= (uint32_t)gq[5], t[14] = (uint32_t)gq[8], t[15] = (uint32_t)gq[9];
        if (j + 2 < count) {
            t[10] = (uint32_t)gq[2];
            t[20] |= (uint32_t)gq[10], t[21] = (uint32_t)gq[12], t[22] = (uint32_t)gq[13];
            t[25] = (uint32_t)gq[3];
            t[29] |= (uint32_t)gq[11], t[30] = (uint32_t)gq[14], t[31] = (uint32_t)gq[15];
        }
    }
    tab[DSP_DIRECT_REC * count - 5] = tab[0];
    tab[DSP_DIRECT_REC * count - 2] |= 0x100u; /* the last output's W4' */
    tab[1 + DSP_DIRECT_REC * count] = 0u - (uint32_t)(4 * DSP_DIRECT_REC * count);
    tab[2 + DSP_DIRECT_REC * count] = (uint32_t)(oc - count);
}

/* For the output zero point -128 (no sign's term): the table of count outputs at tab
 * rewritten so that SMMLA and SSAT's ASR by a fixed DSP_DIRECT_SH = 12 replace SMMLAR and
 * the ASR by each output's e, where every output's d = 12 - e is 1..7 and its sums stay
 * below 2^31 times 2^d: (|A| + 9 * 255 * 256) 2^d < 2^31 (|x - zp| <= 255, |2 w| <= 256).
 * Its bias and weight lanes times 2^d (|2 w 2^d| <= 2^15: still int16 lanes; W4' keeps e
 * and the end's bit in its low lane, which nothing reads now), c' = c 2^d + 2^(d-1). With
 * Z = acc m + c 2^32 + 2^31, SMMLAR(acc, m, c) >> e = floor(Z / 2^(32+e)), and
 * SMMLA(acc 2^d, m, c') = floor(2^d Z / 2^32), whose floor by 2^12 is floor(Z / 2^(32+e))
 * again (d >= 1 makes SMMLAR's 2^31 the integer 2^(d-1) of c'). Returns whether it did
 * (every output checked first; the A of a period's even output is the previous period's
 * A_{k+1}, the first's tab[0], copied again to the last period's A_{k+1}). */
#define DSP_DIRECT_SH 12
/* Whether the output of W4' w4 and bias a takes dsp_direct_scale (d = 12 - e in 1..7, the
 * sums' bound). */
CNNC_INLINE int dsp_direct_scales(uint32_t w4, uint32_t a) {
    const int32_t d = DSP_DIRECT_SH - (int32_t)(w4 & 0xFFu), v = (int32_t)a;
    return d >= 1 && d <= 7 && (v < 0 ? -v : v) <= (0x7FFFFFFF >> d) - 9 * 255 * 256;
}
/* A weight pair's int16 lanes times m = 2^d (SMLABB, SMLATB onto 0: exact, |2 w 2^d| <=
 * 2^15). */
CNNC_INLINE uint32_t dsp_direct_lanes(uint32_t v, uint32_t m) {
    return dsp_pkhbt((uint32_t)__smlabb((int32_t)v, (int32_t)m, 0),
                     (uint32_t)__smlatb((int32_t)v, (int32_t)m, 0));
}
static int dsp_direct_scale(uint32_t *tab, int32_t count) {
    uint32_t *const end = tab + 1 + DSP_DIRECT_REC * count, *t, *aj = tab;
    for (t = tab + 1; t < end; aj = t + 10, t += 16) /* period by period: j's A in aj */
        if (!dsp_direct_scales(t[4], *aj) || !dsp_direct_scales(t[13], t[9])) return 0;
    for (t = tab + 1, aj = tab; t < end; aj = t + 10, t += 16) {
        const uint32_t mj = 1u << (DSP_DIRECT_SH - (t[4] & 0xFFu));
        const uint32_t mk = 1u << (DSP_DIRECT_SH - (t[13] & 0xFFu));
        t[0] = dsp_direct_lanes(t[0], mj), t[1] = dsp_direct_lanes(t[1], mj);
        t[2] = dsp_direct_lanes(t[2], mj), t[3] = dsp_direct_lanes(t[3], mj);
        t[4] = dsp_pkhbt(t[4], (uint32_t)__smlatb((int32_t)t[4], (int32_t)mj, 0));
        t[6] = t[6] * mj + (mj >> 1), *aj *= mj;
        t[7] = dsp_direct_lanes(t[7], mk), t[8] = dsp_direct_lanes(t[8], mk);
        t[11] = dsp_direct_lanes(t[11], mk), t[12] = dsp_direct_lanes(t[12], mk);
        t[13] = dsp_pkhbt(t[13], (uint32_t)__smlatb((int32_t)t[13], (int32_t)mk, 0));
        t[15] = t[15] * mk + (mk >> 1), t[9] *= mk;
    }
    tab[DSP_DIRECT_REC * count - 5] = tab[0];
    return 1;
}

/* dsp_conv_direct's rows for the 3x3 stems of one channel (kh = l = 3) whose output rows fit
 * one chunk of pixel records: the slots of the ring (3 rows, zeroed) turn by the stride,
 * each new input row is widened, the records built (dsp_direct_x33) and run
 * (dsp_direct_pixels) row by row, the loop's state in a few registers (the general loop's
 * costs 150 instructions a row here). */
static __attribute__((noinline)) void dsp_direct_rows33(const cnnc_s8_conv_params *p,
                                                        const int8_t *x, uint32_t *tab,
                                                        int32_t count, int8_t *col, int8_t *y,
                                                        int mode) {
    const int32_t sh = p->stride_h, rl = ((p->out_w - 1) * p->stride_w + 3 + 3) & ~1;
    const int32_t step = 2 * p->stride_w, ow = p->out_w, keep = sh < 3 ? 3 - sh : 0;
    const int32_t yrow = ow * p->out_c;
    uint32_t *const trailer = tab + 1 + DSP_DIRECT_REC * count;
    uint32_t *const xv = trailer + 4;
    int8_t *r0 = col, *r1 = col + 2 * rl, *r2 = col + 4 * rl;
    int32_t b, oy;
    dsp_widen wd;
    dsp_widen_make(&wd, p, x, rl);
    trailer[3] = (uint32_t)(xv + DSP_DIRECT_XREC * ow);
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy, y += yrow) {
            const int32_t iy0 = oy * sh - p->pad_top;
            if (oy && keep) { /* the previous window's last keep rows come first */
                int8_t *const t0 = r0;
                if (keep == 2)
                    r0 = r1, r1 = r2, r2 = t0;
                else
                    r0 = r2, r2 = r1, r1 = t0;
            }
            if (!oy || keep < 1) dsp_widen_padded(&wd, b, iy0, r0);
            if (!oy || keep < 2) dsp_widen_padded(&wd, b, iy0 + 1, r1);
            dsp_widen_padded(&wd, b, iy0 + 2, r2);
            dsp_direct_x33(r0, r1, r2, step, ow, xv);
            trailer[2] = (uint32_t)xv;
            dsp_direct_pixels(tab, y, count, mode);
        }
}

/* Outputs o0 .. o0+count-1 (count even) of the conv through the direct path, blk->gq and
 * blk->form already made (dsp_block_params, DSP_RQ_DOUBLE2): the table of records, its
 * trailer and the pixels' records in blk->w, the widened rows (a ring of kh) in col. */
static __attribute__((noinline)) void dsp_conv_direct(const cnnc_s8_conv_params *p, const int8_t *x,
                                                      const int8_t *w, int32_t o0, int32_t count,
                                                      dsp_block *blk, int8_t *col, int8_t *y) {
    const int32_t kh = p->kernel_h, l = p->kernel_w * p->c, oc = p->out_c;
    const int32_t rl = (((p->out_w - 1) * p->stride_w + p->kernel_w) * p->c + 3) & ~1; /* int16 */
    const int32_t step = 2 * p->stride_w * p->c;                                       /* bytes */
    /* DSP_DIRECT_SIGN computes DSP_DIRECT_RELU's bytes too (DSP_RQ_DOUBLE2Z, s8_dsp.h) */
    int mode = CNNC_MODEL_CALLS(s8_conv, DSP_DIRECT_Z) && p->y_zero_point == -128 ? DSP_DIRECT_RELU
                                                                                  : DSP_DIRECT_SIGN;
    uint32_t *const tab = blk->w, *const trailer = tab + 1 + DSP_DIRECT_REC * count;
    uint32_t *const xv = trailer + 4;
    /* a record of slack: the pixels' loop loads the one past the last */
    const int32_t chunk = (int32_t)(DSP_WBUF_WORDS - (xv - tab)) / DSP_DIRECT_XREC - 1;
    const int32_t sh = p->stride_h, turn = sh % kh, bytes = 2 * rl;
    const int8_t *r[2 * DSP_DIRECT_PAIRS]; /* kh <= K <= 9 */
    int32_t b, oy, ox, ky, s0 = 0;
    dsp_widen wd;
    dsp_widen_make(&wd, p, x, rl);
    dsp_direct_table(p, w, o0, count, blk, tab);
    /* (with fewer than eight periods a turn, the turn's test costs what the scaling saves) */
    if (CNNC_MODEL_CALLS(s8_conv, DSP_DIRECT_Z_SH) && mode == DSP_DIRECT_RELU && !(count & 15) &&
        dsp_direct_scale(tab, count))
        mode = DSP_DIRECT_RELU_SH;
    dsp_zero_words(col, kh * bytes);
    if (CNNC_MODEL_CALLS(s8_conv, DSP_DIRECT_33) && kh == 3 && l == 3 && p->out_w <= chunk) {
        dsp_direct_rows33(p, x, tab, count, col, y + o0, mode);
        return;
    }
    for (b = 0; b < p->n; ++b) {
        for (oy = 0; oy < p->out_h; ++oy) {
            /* window row ky in slot (s0 + ky) mod kh; the previous window's last kh - sh
             * rows stay where they are (s0 turns by sh) */
            const int32_t iy0 = oy * sh - p->pad_top, keep = oy && sh < kh ? kh - sh : 0;
            int8_t *yr = y + ((size_t)b * p->out_h + oy) * p->out_w * oc + o0;
            int32_t s;
            if (oy) s0 = s0 + turn < kh ? s0 + turn : s0 + turn - kh;
            for (ky = 0, s = s0; ky < kh; ++ky, s = s + 1 < kh ? s + 1 : 0) {
                int8_t *slot = col + (size_t)s * bytes;
                if (ky >= keep) dsp_widen_padded(&wd, b, iy0 + ky, slot);
                r[ky] = slot;
            }
            for (ox = 0; ox < p->out_w; ox += chunk) {
                const int32_t np = p->out_w - ox < chunk ? p->out_w - ox : chunk;
                const size_t off = (size_t)ox * step;
                if (CNNC_MODEL_CALLS(s8_conv, DSP_DIRECT_33) && kh == 3 &&
                    l == 3) /* the 3x3 stem of one channel */
                    dsp_direct_x33(r[0] + off, r[1] + off, r[2] + off, step, np, xv);
                else {
                    const int8_t *rr[2 * DSP_DIRECT_PAIRS];
                    for (ky = 0; ky < kh; ++ky) rr[ky] = r[ky] + off;
                    dsp_direct_xrow(rr, kh, l, step, np, xv);
                }
                trailer[2] = (uint32_t)xv, trailer[3] = (uint32_t)(xv + DSP_DIRECT_XREC * np);
                dsp_direct_pixels(tab, yr + (size_t)ox * oc, count, mode);
            }
        }
    }
}
#endif

void cnnc_s8_conv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t cg = p->c / p->groups, og = p->out_c / p->groups;
    const int32_t k = p->kernel_h * p->kernel_w * cg;
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    dsp_block blk;                                  /* 5 KB of stack */
    int8_t col[DSP_COL_BYTES + DSP_COL_SPARE];      /* [batch][K]: im2col rows */
    if (p->dilation_h != 1 || p->dilation_w != 1) { /* the im2col reads adjacent taps */
        cnnc_s8_conv__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    int32_t g, o0, b, oy, ox, per, batch, i;
    if (k > DSP_MAX_K) {
        cnnc_s8_conv__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    per = dsp_block_outputs(k);
#if DSP_DIRECT
    const int direct = CNNC_MODEL_CALLS(s8_conv, DSP_CONV_DIRECT) &&
                       dsp_direct_fits(p, k, &out, (int32_t)sizeof col);
    const int rgb = CNNC_MODEL_CALLS(s8_conv, DSP_CONV_RGB) && p->groups == 1 && p->c == 3 &&
                    p->kernel_h == 3 && p->kernel_w == 3 && dsp_out_full(&out) &&
                    3 * 2 * DSP_RGB_RL(*p) <= (int32_t)sizeof col;
#endif
    batch = DSP_COL_BYTES / k < p->out_w ? DSP_COL_BYTES / k : p->out_w; /* >= 4 */
    for (g = 0; g < p->groups; ++g) {
        const int8_t *wg = w + (size_t)g * k * og; /* [K][og] */
        for (o0 = 0; o0 < og; o0 += per) {
            const int32_t count = og - o0 < per ? og - o0 : per;
#if DSP_DIRECT
            if (direct) {
                blk.k = k;
                dsp_block_params(&blk, bias + o0, mult + o0, shift + o0, count, &out);
                if (blk.form == DSP_RQ_DOUBLE2 && !(count & 1)) {
                    dsp_conv_direct(p, x, w, o0, count, &blk, col, y);
                    continue;
                }
            }
#endif
#if DSP_DIRECT
            if (rgb && !(count & 3)) {
                /* the weights in dsp_rgb_taps' order (28 x 48 <= 2 KB) */
                dsp_rgb_weights(w, og, o0, count, col);
                dsp_repack(&blk, col, 28, count, 0, count, bias + o0, mult + o0, shift + o0, &out,
                           p->x_zero_point);
                if (blk.form == DSP_RQ_DOUBLE2) {
                    dsp_conv_rgb(p, x, o0, &blk, col, y);
                    continue;
                }
            }
#endif
            dsp_repack(&blk, wg, k, og, o0, count, bias + g * og, mult + g * og, shift + g * og,
                       &out, p->x_zero_point);
            blk.spare = 1; /* each im2col row is followed by another or DSP_COL_SPARE bytes */
            for (b = 0; b < p->n; ++b) {
                for (oy = 0; oy < p->out_h; ++oy) {
                    for (ox = 0; ox < p->out_w; ox += batch) {
                        const int32_t rows = p->out_w - ox < batch ? p->out_w - ox : batch;
                        int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c +
                                     (size_t)g * og; /* [rows][out_c] */
                        if (!DSP_SIZE && p->groups == 1 && DSP_CONV_WORDS_BUILT(p->kernel_w * p->c))
                            dsp_im2col_words(p, x, b, oy, ox, rows, k, col);
                        else
                            for (i = 0; i < rows; ++i)
                                dsp_im2col(p, x, b, oy, ox + i, g, col + (size_t)i * k);
                        cnnc_s8_dsp_block_rows(&blk, col, (size_t)k, rows, o0, &out, yp,
                                               (size_t)p->out_c);
                    }
                }
            }
        }
    }
}
#else
typedef int cnnc_s8_conv_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
