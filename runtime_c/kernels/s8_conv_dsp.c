/* Cortex-M DSP variants of the int8 convolutions, bit-exact to their __ref kernels (same
 * packed weights, same int32 sums modulo 2^32, the same requantised bytes). The pointwise
 * conv runs as a dense layer on cnnc_s8_dense__dsp. The general conv is, per group, a GEMM
 * over im2col rows of K = kh*kw*C/G inputs (padding taps hold x_zero_point, which the
 * corrected bias cancels: s8_dsp.h) against w[KH][KW][C/G][Co/G], the layout dense reads
 * as w[K][Co/G]. K above DSP_MAX_K runs the reference loop. Two stems skip the im2col
 * at the target's flags (not at -Os) when the requantisation is the doubled form with the
 * full clamp: K <= 10 (the 3x3 of one channel) runs dsp_conv_direct, the 3x3 of 3
 * channels dsp_conv_rgb, both on input rows widened once into zero-padded int16 rows
 * (bench/bench_mcu.py --layers: the digits stem, 32x32x1 -> 16x16x16, 101,587 -> 68,911
 * instructions; 0.35@96's, 96x96x3 -> 48x48x16, 1,747,756 -> 1,194,293). Compiled when the build
 * targets the DSP extension (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_conv_loops.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
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
    if (p->kernel_w * p->c <= 4)
        dsp_im2col_nw(p, x, b, oy, ox, rows, k, col, 1);
    else /* 5 to 12 bytes: 3 words (up to 7 bytes past the row: DSP_COL_SPARE) */
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
 * Direct path for K = kh * kw * C <= 10 (the 3x3 stems of one channel): no im2col. The
 * input rows a row of outputs reads are widened once each into int16 rows of the padded
 * width (dsp_widen_padded: 2 (x - zp), zero in the padding, so the sums start at the
 * bias itself as in the GEMM core, doubled: the direct paths take the doubled
 * requantisation, DSP_RQ_DOUBLE2, alone; the other forms run the GEMM). A window's kernel row of
 * l = kw * C inputs is contiguous there: its whole pairs are unaligned words, and with l
 * odd the last inputs of two kernel rows make one pair (PKHBT), the last row's alone
 * with a zero weight above: at most 5 words (DSP_DIRECT_PAIRS), held in registers while
 * every output of the block runs on them: per output one LDM of its 5 weight pairs
 * (the same order, as int16 lanes) and bias, 5 SMLADs, one LDM of its (m, c, e) and the
 * requantisation with the full clamp (dsp_direct_pixels). */
#define DSP_DIRECT_PAIRS 5 /* K <= 10 */
#define DSP_DIRECT_REC 9   /* words per output: 5 weight pairs, bias, m, c, e */

/* Input row iy of image b into r[rl] int16 (rl even; bytes, any alignment): element e is
 * channel e mod C of padded column e / C (column pad_left is the image's first), 2 (x - zp)
 * there, zero outside the image. The zeros go
 * first by whole words (the lead rounded up, the tail from an even element), then the
 * inputs over them. */
static void dsp_widen_padded(const cnnc_s8_conv_params *p, const int8_t *x, int32_t b, int32_t iy,
                             int8_t *r, int32_t rl) {
    const int32_t zp = p->x_zero_point, wc = p->w * p->c;
    const uint32_t nzp = dsp_pack16(-zp, -zp);
    uint32_t zero = 0;
    const int32_t lead = p->pad_left * p->c < rl ? p->pad_left * p->c : rl;
    const int32_t n = iy < 0 || iy >= p->h ? 0 : (wc < rl - lead ? wc : rl - lead);
    const int8_t *src = x + ((size_t)b * p->h + (n ? iy : 0)) * wc;
    int8_t *dst = r + 2 * lead;
    int32_t j;
    __asm__("" : "+r"(zero)); /* a value gcc cannot see: the loops stay (not memset calls) */
    for (j = 0; j < lead; j += 2) CNNC_COPY(r + 2 * j, &zero, sizeof zero);
    for (j = (lead + n) & ~1; j < rl; j += 2) CNNC_COPY(r + 2 * j, &zero, sizeof zero);
    for (j = 0; j + 4 <= n; j += 4) { /* (x0, x1), (x2, x3) from the even and odd lanes */
        const uint32_t v = dsp_load4(src + j);
        const uint32_t e = dsp_even_add(nzp, v), o = dsp_odd_add(nzp, v);
        uint32_t lo = dsp_pkhbt(e, o), hi = dsp_pkhtb(o, e);
        lo = (uint32_t)__sadd16((int32_t)lo, (int32_t)lo);
        hi = (uint32_t)__sadd16((int32_t)hi, (int32_t)hi);
        CNNC_COPY(dst + 2 * j, &lo, sizeof lo);
        CNNC_COPY(dst + 2 * j + 4, &hi, sizeof hi);
    }
    for (; j < n; ++j) {
        const int16_t v = (int16_t)((src[j] - zp) * 2);
        CNNC_COPY(dst + 2 * j, &v, sizeof v);
    }
}

/* The pairs of the windows of n output pixels whose kernel row ky starts at r[ky] +
 * step * i (bytes of int16 rows), for kh kernel rows of l inputs (known where inlined: the
 * loops unrolled), into the records xv[i] (DSP_DIRECT_XREC words: the pairs, then 1 when
 * another pixel follows, else 0). */
#define DSP_DIRECT_XREC 6
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
        xv[DSP_DIRECT_PAIRS] = i + 1 < n;
    }
}

/* dsp_direct_xrow for kh = l = 3 (the rows' pointers apart, the pairs written out); with
 * step 4 (stride 2 over one channel) a window's last pairs are the next one's first. */
static __attribute__((noinline)) void dsp_direct_x33(const int8_t *r0, const int8_t *r1,
                                                     const int8_t *r2, int32_t step, int32_t n,
                                                     uint32_t *xv) {
    uint32_t *const end = xv + DSP_DIRECT_XREC * n;
    if (step == 4) { /* two pixels a turn in asm, each record by two STMs (gcc's C form: 15
                        instructions a pixel, this 7), the words of a pixel's right half
                        (r7..r9, then r4..r6) its successor's left */
        register const int8_t *p0 __asm__("r0") = r0, *p1 __asm__("r1") = r1,
                                  *p2 __asm__("r2") = r2;
        register uint32_t *xp __asm__("r11") = xv;
        register uint32_t *pend __asm__("r12") = xv + DSP_DIRECT_XREC * (n & ~1);
        register uint32_t *xend __asm__("lr") = end;
        register uint32_t one __asm__("r10") = 1;
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
            "stm r11!, {r3, r9, r10}\n\t"
            "ldr r4, [r0], #4\n\t"
            "ldr r5, [r1], #4\n\t"
            "ldr r6, [r2], #4\n\t"
            "pkhbt r3, r4, r5, lsl #16\n\t"
            "stm r11!, {r7, r8, r9}\n\t"
            "stm r11!, {r3, r6, r10}\n\t"
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
            "stm r11!, {r3, r9, r10}\n\t"
            "3:"
            : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(xp)
            : "r"(pend), "r"(xend), "r"(one)
            : "r3", "r4", "r5", "r6", "r7", "r8", "r9", "cc", "memory");
    } else {
        for (; xv < end; r0 += step, r1 += step, r2 += step, xv += DSP_DIRECT_XREC) {
            xv[0] = dsp_load4(r0), xv[1] = dsp_load4(r1), xv[2] = dsp_load4(r2);
            xv[3] = dsp_pkhbt(dsp_load4(r0 + 4), dsp_load4(r1 + 4)), xv[4] = dsp_load4(r2 + 4);
            xv[5] = 1;
        }
    }
    end[-1] = 0;
}

/* The doubled requantisation of the sum in a with (m, c, e) in w0, w1, w2 (dsp_gq_one's
 * DSP_RQ_DOUBLE2), before the SSAT #8 of the full clamp; DSP_DIRECT_RQ_DOUBLE2Z without the
 * sign's term where the output zero point is -128 (DSP_RQ_DOUBLE2Z, s8_dsp.h: the clamp is
 * full on this path). */
#define DSP_DIRECT_RQ_DOUBLE2             \
    "add %[w1], %[w1], %[a], asr #31\n\t" \
    "smmlar %[a], %[a], %[w0], %[w1]\n\t" \
    "asr %[a], %[a], %[w2]\n\t"
#define DSP_DIRECT_RQ_DOUBLE2Z            \
    "smmlar %[a], %[a], %[w0], %[w1]\n\t" \
    "asr %[a], %[a], %[w2]\n\t"
/* The pixels of the records at xp (dsp_direct_xrow) through every output of the table at
 * wp, outputs stored from y on: per pixel an LDM of its pairs into x0..x4; per output an
 * LDM of its record (DSP_DIRECT_REC words: the weight pairs and bias into w0..w4 and a,
 * 5 SMLADs, then (m, c, e) into w0..w2), the requantisation RQ, SSAT #8, STRB; the last
 * record's e has bit 31 set, which ends the outputs (ASR reads the shift's low byte);
 * then the table's trailer (-its bytes, the outputs to skip in y) rewinds wp and moves
 * y on, and the pixel's last word says whether another follows. The LDMs fix x0..x4 and
 * w0..w4, a (ascending registers); gcc places wp, xp and y in the three left. */
#define DSP_DIRECT_OUT(RQ)                                      \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3], %[w4], %[a]}\n\t" \
    "smlad %[a], %[x0], %[w0], %[a]\n\t"                        \
    "smlad %[a], %[x1], %[w1], %[a]\n\t"                        \
    "smlad %[a], %[x2], %[w2], %[a]\n\t"                        \
    "smlad %[a], %[x3], %[w3], %[a]\n\t"                        \
    "smlad %[a], %[x4], %[w4], %[a]\n\t"                        \
    "ldm %[wp]!, {%[w0], %[w1], %[w2]}\n\t" RQ                  \
    "ssat %[a], #8, %[a]\n\t"                                   \
    "strb %[a], [%[y]], #1\n\t"
#define DSP_DIRECT_OUT2(RQ) DSP_DIRECT_OUT(RQ) DSP_DIRECT_OUT(RQ)
#define DSP_DIRECT_OUT4(RQ) DSP_DIRECT_OUT2(RQ) DSP_DIRECT_OUT2(RQ)
#define DSP_DIRECT_OUT8(RQ) DSP_DIRECT_OUT4(RQ) DSP_DIRECT_OUT4(RQ)
/* OUTS: the outputs per turn of the loop (one; two for an even count, four for a multiple
 * of 4, eight for a multiple of 8: the turn's CMP and branch per 8 outputs). */
#define DSP_DIRECT_ROW(OUTS)                                                              \
    __asm__ __volatile__(                                                                 \
        "1:\n\t"                                                                          \
        "ldm %[xp]!, {%[x0], %[x1], %[x2], %[x3], %[x4]}\n\t"                             \
        "2:\n\t" OUTS                                                                     \
        "cmp %[w2], #0\n\t"                                                               \
        "bpl 2b\n\t"                                                                      \
        "ldm %[wp], {%[w0], %[w1]}\n\t"                                                   \
        "add %[wp], %[wp], %[w0]\n\t"                                                     \
        "add %[y], %[y], %[w1]\n\t"                                                       \
        "ldr %[w0], [%[xp]], #4\n\t"                                                      \
        "cmp %[w0], #0\n\t"                                                               \
        "bne 1b"                                                                          \
        : [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [x4] "=&r"(x4), \
          [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [w4] "=&r"(w4), \
          [a] "=&r"(a), [wp] "+r"(wp), [xp] "+r"(xp), [y] "+r"(y)                         \
        :                                                                                 \
        : "memory", "cc")

/* DSP_DIRECT_ROW with the outputs a turn that count allows, requantised by RQ. */
#define DSP_DIRECT_ROW_BY_COUNT(RQ)          \
    if (!(count & 7)) /* eight a turn */     \
        DSP_DIRECT_ROW(DSP_DIRECT_OUT8(RQ)); \
    else if (!(count & 3)) /* four */        \
        DSP_DIRECT_ROW(DSP_DIRECT_OUT4(RQ)); \
    else if (!(count & 1)) /* two */         \
        DSP_DIRECT_ROW(DSP_DIRECT_OUT2(RQ)); \
    else                                     \
        DSP_DIRECT_ROW(DSP_DIRECT_OUT(RQ))

/* dsp_direct_xrow's records at xv through the table of count outputs; relu: the output zero
 * point is -128 (DSP_DIRECT_RQ_DOUBLE2Z). */
static __attribute__((noinline)) void dsp_direct_pixels(const uint32_t *tab, const uint32_t *xv,
                                                        int8_t *y, int32_t count, int relu) {
    register uint32_t x0 __asm__("r0"), x1 __asm__("r1"), x2 __asm__("r2"), x3 __asm__("r3");
    register uint32_t x4 __asm__("r4"), w0 __asm__("r5"), w1 __asm__("r6"), w2 __asm__("r8");
    register uint32_t w3 __asm__("r9"), w4 __asm__("r10"), a __asm__("r11");
    const uint32_t *wp = tab, *xp = xv;
    if (relu) {
        DSP_DIRECT_ROW_BY_COUNT(DSP_DIRECT_RQ_DOUBLE2Z);
    } else {
        DSP_DIRECT_ROW_BY_COUNT(DSP_DIRECT_RQ_DOUBLE2);
    }
    (void)x0, (void)x1, (void)x2, (void)x3, (void)x4, (void)w0, (void)w1, (void)w2, (void)w3,
        (void)w4, (void)a;
}

/* ---------------------------------------------------------------------------------
 * The 3x3 conv of 3 channels (the RGB stems, K = 27) without im2col: the GEMM core's
 * groups (dsp_row_groups_asm) on input quads built from the same widened rows. Quad q
 * is the taps 4q..4q+3 in the weights' order (tap t: kernel row t / 9, element t mod 9
 * of the window's row; tap 27 has a zero weight and reads tap 26's place): its lanes
 * (t, t+2) and (t+1, t+3) are PKHBT of the words at taps t and t+2 and PKHTB of the same
 * when t, t+1 and t+2, t+3 lie in one kernel row, else PKHBT of four words. */
DSP_ALWAYS_INLINE uint32_t dsp_tap_word(const int8_t *r0, const int8_t *r1, const int8_t *r2,
                                        int32_t t) {
    const int32_t u = t < 27 ? t : 26;
    return dsp_load4((u < 9 ? r0 : (u < 18 ? r1 : r2)) + 2 * (u % 9));
}

/* dsp_row_groups_asm with its 7 quads written out (its loop over pairs of quads costs 4
 * instructions a turn): whole groups of count4 outputs, DSP_RQ_DOUBLE2, full clamp. */
DSP_ALWAYS_INLINE void dsp_rgb_groups(const uint32_t **wpp, const uint32_t **gqp, int8_t **yp,
                                      const uint32_t *xw, int32_t count4) {
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
        DSP_ASM_STORE(DSP_ASM_RQ_DOUBLE2);
    }
    *wpp = wp, *gqp = gq, *yp = y;
}

/* The quads of n pixels' windows, pixel i's at r0 + step * i (rows r0, r1, r2), into
 * xw[i][14]. */
#define DSP_RGB_XREC 14
static __attribute__((noinline)) void dsp_rgb_quads(const int8_t *r0, const int8_t *r1,
                                                    const int8_t *r2, int32_t step, int32_t n,
                                                    uint32_t *xw) {
    uint32_t *const end = xw + DSP_RGB_XREC * n;
    int32_t q;
    for (; xw < end; r0 += step, r1 += step, r2 += step, xw += DSP_RGB_XREC) {
#pragma GCC unroll 7
        for (q = 0; q < 7; ++q) {
            const int32_t t = 4 * q;
            const uint32_t a = dsp_tap_word(r0, r1, r2, t), c = dsp_tap_word(r0, r1, r2, t + 2);
            xw[2 * q] = dsp_pkhbt(a, c);
            if ((t + 1) % 9 != 0 && (t + 3) % 9 != 0 && t + 3 < 27)
                xw[2 * q + 1] = dsp_pkhtb(c, a);
            else
                xw[2 * q + 1] =
                    dsp_pkhbt(dsp_tap_word(r0, r1, r2, t + 1), dsp_tap_word(r0, r1, r2, t + 3));
        }
    }
}

/* One output row of pixels: their quads (dsp_rgb_quads) into blk->w past the repacked
 * weights, chunk pixels at a time, then every whole group of the block (count4 outputs)
 * of each pixel into y. */
static __attribute__((noinline)) void dsp_rgb_row(dsp_block *blk, const int8_t *r0,
                                                  const int8_t *r1, const int8_t *r2, int32_t step,
                                                  int32_t n, int8_t *y, int32_t oc) {
    uint32_t *const xw = blk->w + (size_t)blk->count / 4 * 7 * 8;
    const int32_t chunk = (int32_t)(DSP_WBUF_WORDS - (xw - blk->w)) / DSP_RGB_XREC; /* >= 25 */
    int32_t i, i0;
    for (i0 = 0; i0 < n; i0 += chunk) {
        const int32_t np = n - i0 < chunk ? n - i0 : chunk;
        const uint32_t *xp = xw;
        dsp_rgb_quads(r0 + (size_t)i0 * step, r1 + (size_t)i0 * step, r2 + (size_t)i0 * step, step,
                      np, xw);
        for (i = 0; i < np; ++i, y += oc, xp += DSP_RGB_XREC) {
            const uint32_t *wp = blk->w, *gq = (const uint32_t *)blk->gq[0];
            int8_t *yp = y;
            dsp_rgb_groups(&wp, &gq, &yp, xp, blk->count);
        }
    }
}

/* Outputs o0 .. o0+count-1 (a multiple of 4) of a 3x3 conv of 3 channels, blk repacked
 * (DSP_RQ_DOUBLE2, the full clamp): the widened rows (a ring of 3) in col. */
static __attribute__((noinline)) void dsp_conv_rgb(const cnnc_s8_conv_params *p, const int8_t *x,
                                                   int32_t o0, dsp_block *blk, int8_t *col,
                                                   int8_t *y) {
    const int32_t oc = p->out_c;
    const int32_t rl = (((p->out_w - 1) * p->stride_w + 3) * 3 + 3) & ~1; /* int16 */
    const int32_t step = 2 * p->stride_w * 3;                             /* bytes */
    const int8_t *r[3];
    int32_t b, oy, ky;
    for (b = 0; b < p->n; ++b) {
        int32_t next = -p->pad_top; /* the first input row not yet widened */
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            for (ky = 0; ky < 3; ++ky) { /* row iy in slot (iy + pad_top) mod 3 */
                const int32_t iy = iy0 + ky;
                int8_t *slot = col + (size_t)((iy + p->pad_top) % 3) * 2 * rl;
                if (iy >= next) dsp_widen_padded(p, x, b, iy, slot, rl);
                r[ky] = slot;
            }
            next = iy0 + 3;
            dsp_rgb_row(blk, r[0], r[1], r[2], step, p->out_w,
                        y + ((size_t)b * p->out_h + oy) * p->out_w * oc + o0, oc);
        }
    }
}

/* Whether the direct path takes the conv: one group, K <= 10, the full clamp, and the
 * padded rows of a kernel's height fit in col. */
static int dsp_direct_fits(const cnnc_s8_conv_params *p, int32_t k, const dsp_out *out,
                           int32_t bytes) {
    const int32_t rl = (((p->out_w - 1) * p->stride_w + p->kernel_w) * p->c + 3) & ~1;
    return p->groups == 1 && k <= 2 * DSP_DIRECT_PAIRS && dsp_out_full(out) &&
           p->kernel_h * 2 * rl <= bytes;
}

/* The weights of a tap past the kernel (a pair's zero half) for every output of a block. */
static const int8_t dsp_direct_zeros[DSP_BLOCK_MAX] = {0};

/* Outputs o0 .. o0+count-1 of the conv through the direct path, blk->gq and blk->form
 * already made (dsp_block_params, DSP_RQ_DOUBLE2): the table of records and the pixels'
 * records in blk->w, the widened rows (a ring of kh) in col. */
static __attribute__((noinline)) void dsp_conv_direct(const cnnc_s8_conv_params *p, const int8_t *x,
                                                      const int8_t *w, int32_t o0, int32_t count,
                                                      dsp_block *blk, int8_t *col, int8_t *y) {
    const int32_t kh = p->kernel_h, l = p->kernel_w * p->c, oc = p->out_c;
    const int32_t rl = (((p->out_w - 1) * p->stride_w + p->kernel_w) * p->c + 3) & ~1; /* int16 */
    const int32_t step = 2 * p->stride_w * p->c;                                       /* bytes */
    uint32_t *const tab = blk->w, *const xv = tab + DSP_DIRECT_REC * count + 2;
    const int32_t chunk = (int32_t)(DSP_WBUF_WORDS - (xv - tab)) / DSP_DIRECT_XREC;
    const int8_t *r[2 * DSP_DIRECT_PAIRS], *rr[2 * DSP_DIRECT_PAIRS]; /* kh <= K <= 10 */
    int32_t tap[2 * DSP_DIRECT_PAIRS], j, b, oy, ox, ky, q, n;
    n = 0; /* the taps of the pairs in dsp_direct_xrow's order (-1: a zero weight) */
    for (ky = 0; ky < kh; ++ky)
        for (q = 0; q < l / 2; ++q) tap[n++] = ky * l + 2 * q, tap[n++] = ky * l + 2 * q + 1;
    if (l & 1)
        for (ky = 0; ky < kh; ky += 2)
            tap[n++] = ky * l + l - 1, tap[n++] = ky + 1 < kh ? (ky + 1) * l + l - 1 : -1;
    for (; n < 2 * DSP_DIRECT_PAIRS; ++n) tap[n] = -1;
    for (n = 0; n < DSP_DIRECT_PAIRS; ++n) { /* the records' weight pairs, pair by pair */
        const int32_t lo = tap[2 * n], hi = tap[2 * n + 1];
        const int8_t *const wl = lo < 0 ? dsp_direct_zeros : w + o0 + (size_t)lo * oc;
        const int8_t *const wh = hi < 0 ? dsp_direct_zeros : w + o0 + (size_t)hi * oc;
        uint32_t *t = tab + n;
        for (j = 0; j < count; ++j, t += DSP_DIRECT_REC) *t = dsp_pack16(wl[j], wh[j]);
    }
    for (j = 0; j < count; ++j) { /* the records' bias and requantisation */
        /* output j mod 4's e, m, c in its group's slots (dsp_block's gq) */
        static const uint8_t slot[4][3] = {{4, 6, 7}, {5, 8, 9}, {10, 12, 13}, {11, 14, 15}};
        const int32_t *gq = blk->gq[j >> 2];
        const uint8_t *q = slot[j & 3];
        uint32_t *t = tab + DSP_DIRECT_REC * j;
        t[5] = (uint32_t)gq[j & 3], t[6] = (uint32_t)gq[q[1]], t[7] = (uint32_t)gq[q[2]];
        t[8] = (uint32_t)gq[q[0]];
    }
    tab[DSP_DIRECT_REC * count - 1] |= 0x80000000u; /* the last record's e ends the outputs */
    tab[DSP_DIRECT_REC * count] = 0u - (uint32_t)(4 * DSP_DIRECT_REC * count); /* the trailer */
    tab[DSP_DIRECT_REC * count + 1] = (uint32_t)(oc - count);
    for (b = 0; b < p->n; ++b) {
        int32_t next = -p->pad_top; /* the first input row not yet widened */
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int8_t *yr = y + ((size_t)b * p->out_h + oy) * p->out_w * oc + o0;
            for (ky = 0; ky < kh; ++ky) { /* row iy in slot (iy + pad_top) mod kh */
                const int32_t iy = iy0 + ky;
                int8_t *slot = col + (size_t)((iy + p->pad_top) % kh) * 2 * rl;
                if (iy >= next) dsp_widen_padded(p, x, b, iy, slot, rl);
                r[ky] = slot;
            }
            next = iy0 + kh;
            for (ox = 0; ox < p->out_w; ox += chunk) {
                const int32_t np = p->out_w - ox < chunk ? p->out_w - ox : chunk;
                for (ky = 0; ky < kh; ++ky) rr[ky] = r[ky] + (size_t)ox * step;
                if (kh == 3 && l == 3) /* the 3x3 stem of one channel */
                    dsp_direct_x33(rr[0], rr[1], rr[2], step, np, xv);
                else
                    dsp_direct_xrow(rr, kh, l, step, np, xv);
                dsp_direct_pixels(tab, xv, yr + (size_t)ox * oc, count, p->y_zero_point == -128);
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
    const int direct = dsp_direct_fits(p, k, &out, (int32_t)sizeof col);
    const int rgb =
        p->groups == 1 && p->c == 3 && p->kernel_h == 3 && p->kernel_w == 3 && dsp_out_full(&out) &&
        3 * 2 * ((((p->out_w - 1) * p->stride_w + 3) * 3 + 3) & ~1) <= (int32_t)sizeof col;
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
                if (blk.form == DSP_RQ_DOUBLE2) {
                    dsp_conv_direct(p, x, w, o0, count, &blk, col, y);
                    continue;
                }
            }
#endif
            dsp_repack(&blk, wg, k, og, o0, count, bias + g * og, mult + g * og, shift + g * og,
                       &out, p->x_zero_point);
#if DSP_DIRECT
            if (rgb && !(count & 3) && blk.form == DSP_RQ_DOUBLE2) {
                dsp_conv_rgb(p, x, o0, &blk, col, y);
                continue;
            }
#endif
            blk.spare = 1; /* each im2col row is followed by another or DSP_COL_SPARE bytes */
            for (b = 0; b < p->n; ++b) {
                for (oy = 0; oy < p->out_h; ++oy) {
                    for (ox = 0; ox < p->out_w; ox += batch) {
                        const int32_t rows = p->out_w - ox < batch ? p->out_w - ox : batch;
                        int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c +
                                     (size_t)g * og; /* [rows][out_c] */
                        if (!DSP_SIZE && p->groups == 1 && p->kernel_w * p->c <= 12)
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
