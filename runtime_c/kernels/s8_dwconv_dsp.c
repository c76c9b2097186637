/* Cortex-M DSP variant of the int8 depthwise convolution, bit-exact to cnnc_s8_dwconv__ref.
 *
 * Four channels at a time: SXTB16 widens the input word of channels c..c+3 at one tap into
 * (c, c+2) and (c+1, c+3) int16 lanes, the tap's weights were widened the same way once per
 * call (w4[][2] on the stack), and SMLABB / SMLATT add one product per channel into four
 * accumulators that start at the corrected bias (s8_dsp.h: padding taps read
 * x_zero_point). When the padded image of four channels fits DSP_DW_BUF_WORDS it is
 * widened once per image into a stack buffer (two words per pixel, the SXTB16 lanes;
 * padding pixels hold x_zero_point) and every window reads it without bounds checks or
 * widening; otherwise windows inside the image skip the checks. 3x3 stride-1 layers with
 * rows of 8+ outputs take the int16 planes below instead (dsp_dw3x3_planar, two output rows
 * per step; two rows by four columns in one asm loop, dsp_dw3x3_tiles, where the plane fits
 * the fixed pitch). 3x3 stride-2 layers of 4+ output columns with the full clamp and the
 * double rounding run int16 planes of one channel's pixel pairs, two taps an SMLAD
 * (dsp_dw3x3_s2). Where the clamp is full and the rounding single or double, other 3x3 layers
 * whose padded image fits the buffer run dsp_dw3x3_groups (a lighter set-up per group,
 * asm windows; at immediate row offsets where the image fits a fixed row pitch), and
 * layers whose every window
 * holds the whole image (2x2 images) skip the padding taps (dsp_dw_whole), as do the 3x3
 * layers of 2x2 outputs from a 2x2 image at stride 1 or a 4x4 image at stride 2
 * (dsp_dw_small: asm windows of their image taps only); with output zero point -128 and the
 * double rounding those and the 4x4 image at stride 1 run a channel at a time, two taps an
 * SMLAD on int16 pairs of one channel (dsp_dw_pairs_as).
 * Channels past the last multiple of 4, and kernels of more than DSP_MAX_TAPS taps, run
 * the reference loop. Compiled when the build targets the DSP extension
 * (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
#define DSP_MAX_TAPS 64
#define DSP_DW_BUF_WORDS 1024 /* 4 KB of stack: a padded image of up to 512 pixels */
/* The asm windows and pairs and the doubled sums, left out at -Os (2 KB of flash; the C
 * forms compute the same bytes). */
#if defined(__OPTIMIZE_SIZE__)
#define DSP_DW_FAST 0
#define DSP_DW_PLANAR_INLINE
#else
#define DSP_DW_FAST 1
/* out of line: gcc's register allocation of the caller suffers from it inlined */
#define DSP_DW_PLANAR_INLINE __attribute__((noinline))
#endif
/* Output pixels per call from which doubling a group's weights (one QADD less per output)
 * repays its set-up */
#define DSP_DW_DOUBLE_MIN_PX 32

/* The reference loop for channels c_begin .. c-1 (a copy of cnnc_s8_dwconv__ref's body). */
static void dsp_dwconv_tail(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                            int8_t *y, int32_t c_begin) {
    int32_t b, oy, ox, ky, kx, j;
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox)
                for (j = c_begin; j < p->c; ++j) {
                    int32_t acc = bias[j];
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky;
                        if (iy < 0 || iy >= p->h) continue;
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx;
                            if (ix < 0 || ix >= p->w) continue;
                            acc += (x[(((size_t)b * p->h + iy) * p->w + ix) * p->c + j] -
                                    p->x_zero_point) *
                                   w[((size_t)ky * p->kernel_w + kx) * p->c + j];
                        }
                    }
                    y[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c + j] =
                        cnnc_requant_s8(acc, mult[j], shift[j], p->rounding, p->y_zero_point,
                                        p->act_min, p->act_max);
                }
}

/* acc[0..3] += the kh x kw taps of a window inside the image, top-left input xr. */
CNNC_INLINE void dsp_dw_taps(const int8_t *xr, size_t row, int32_t c, int32_t kh, int32_t kw,
                             const uint32_t *w4, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], ky, kx;
    for (ky = 0; ky < kh; ++ky, xr += row) {
        for (kx = 0; kx < kw; ++kx) {
            const uint32_t xw = dsp_load4(xr + (size_t)kx * c);
            const uint32_t *wt = w4 + 2 * (ky * kw + kx);
            const int32_t xe = dsp_even(xw), xo = dsp_odd(xw);
            a0 = __smlabb(xe, (int32_t)wt[0], a0);
            a2 = __smlatt(xe, (int32_t)wt[0], a2);
            a1 = __smlabb(xo, (int32_t)wt[1], a1);
            a3 = __smlatt(xo, (int32_t)wt[1], a3);
        }
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* acc[0..3] += the kh x kw taps of the window at xr in a padded buffer of widened pixels
 * (four channels each as the SXTB16 words (even, odd)), rows of pw pixels. */
CNNC_INLINE void dsp_dw_taps_buf(const uint32_t *xr, int32_t pw, int32_t kh, int32_t kw,
                                 const uint32_t *w4, int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], ky, kx;
    for (ky = 0; ky < kh; ++ky, xr += 2 * pw) {
        for (kx = 0; kx < kw; ++kx) {
            const uint32_t *wt = w4 + 2 * (ky * kw + kx);
            const int32_t xe = (int32_t)xr[2 * kx], xo = (int32_t)xr[2 * kx + 1];
            a0 = __smlabb(xe, (int32_t)wt[0], a0);
            a2 = __smlatt(xe, (int32_t)wt[0], a2);
            a1 = __smlabb(xo, (int32_t)wt[1], a1);
            a3 = __smlatt(xo, (int32_t)wt[1], a3);
        }
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* The 3 x 3 window of dsp_dw_taps_buf written out (gcc keeps the kx loop otherwise): per
 * tap one LDRD of the widened pixel (words i, i + 1 of xr), one of the tap's weights, four
 * SMLAxy. */
#define DSP_DW_TAP(i_, t_)                            \
    do {                                              \
        uint32_t e_, o_, we_, wo_;                    \
        DSP_LOAD2W(xr, i_, e_, o_);                   \
        DSP_LOAD2W(w4, 2 * (t_), we_, wo_);           \
        a0 = __smlabb((int32_t)e_, (int32_t)we_, a0); \
        a2 = __smlatt((int32_t)e_, (int32_t)we_, a2); \
        a1 = __smlabb((int32_t)o_, (int32_t)wo_, a1); \
        a3 = __smlatt((int32_t)o_, (int32_t)wo_, a3); \
    } while (0)

CNNC_INLINE void dsp_dw_taps3x3(const uint32_t *xr, int32_t pw, const uint32_t *w4,
                                int32_t acc[4]) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    DSP_DW_TAP(0, 0);
    DSP_DW_TAP(2, 1);
    DSP_DW_TAP(4, 2);
    xr += 2 * pw;
    DSP_DW_TAP(0, 3);
    DSP_DW_TAP(2, 4);
    DSP_DW_TAP(4, 5);
    xr += 2 * pw;
    DSP_DW_TAP(0, 6);
    DSP_DW_TAP(2, 7);
    DSP_DW_TAP(4, 8);
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* Requantises four channels' sums into yp[0..3] (DSP_RQ_DOUBLE, the default rounding's
 * form, inlined with both clamps; the others through dsp_requant). */
CNNC_INLINE void dsp_dw_store4(int8_t *yp, const int32_t acc[4], int32_t form, const dsp_rq *rq,
                               const dsp_out *out) {
    if (form == DSP_RQ_DOUBLE && dsp_out_full(out)) {
        yp[0] = dsp_requant_as(acc[0], &rq[0], out, DSP_RQ_DOUBLE, 1);
        yp[1] = dsp_requant_as(acc[1], &rq[1], out, DSP_RQ_DOUBLE, 1);
        yp[2] = dsp_requant_as(acc[2], &rq[2], out, DSP_RQ_DOUBLE, 1);
        yp[3] = dsp_requant_as(acc[3], &rq[3], out, DSP_RQ_DOUBLE, 1);
    } else if (form == DSP_RQ_DOUBLE) {
        yp[0] = dsp_rq_double(acc[0], &rq[0], out);
        yp[1] = dsp_rq_double(acc[1], &rq[1], out);
        yp[2] = dsp_rq_double(acc[2], &rq[2], out);
        yp[3] = dsp_rq_double(acc[3], &rq[3], out);
    } else {
        yp[0] = dsp_requant(acc[0], form, &rq[0], out);
        yp[1] = dsp_requant(acc[1], form, &rq[1], out);
        yp[2] = dsp_requant(acc[2], form, &rq[2], out);
        yp[3] = dsp_requant(acc[3], form, &rq[3], out);
    }
}

/* One 3 x 3 window of the padded buffer and its four outputs in asm (s8_dsp.h's asm
 * GEMM groups: accumulators r0..r3 from the record gq, gcc's C form of the window spills):
 * per kernel row, three taps of one LDRD of the widened pixel (xe, xo) and four SMLAxy
 * against the tap's weight words (LDM and LDRD into w0..w3); rowb bytes per buffer row. Then
 * the fast form's requantisation with the full clamp into y[0..3] (DSP_ASM_STORE4). */
/* clang-format off */
#define DSP_ASM_DW_TAP(xoff, we, wo)                        \
    "ldrd %[xe], %[xo], [%[xr], #" xoff "]\n\t"            \
    "smlabb %[a0], %[xe], %[" we "], %[a0]\n\t"            \
    "smlatt %[a2], %[xe], %[" we "], %[a2]\n\t"            \
    "smlabb %[a1], %[xo], %[" wo "], %[a1]\n\t"            \
    "smlatt %[a3], %[xo], %[" wo "], %[a3]\n\t"
#define DSP_ASM_DW_ROW3                                     \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"          \
    DSP_ASM_DW_TAP("0", "w0", "w1")                         \
    DSP_ASM_DW_TAP("8", "w2", "w3")                         \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                    \
    DSP_ASM_DW_TAP("16", "w0", "w1")
/* The row at byte offsets o0, o1, o2 of xr (a buffer of fixed pitch) */
#define DSP_ASM_DW_ROW3_AT(o0, o1, o2)                      \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"          \
    DSP_ASM_DW_TAP(o0, "w0", "w1")                          \
    DSP_ASM_DW_TAP(o1, "w2", "w3")                          \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                    \
    DSP_ASM_DW_TAP(o2, "w0", "w1")
/* The row at t (a buffer row of any pitch) */
#define DSP_ASM_DW_ROW3_T                                   \
    "ldm %[wp]!, {%[w0], %[w1], %[w2], %[w3]}\n\t"          \
    "ldrd %[xe], %[xo], [%[t]]\n\t"                         \
    "smlabb %[a0], %[xe], %[w0], %[a0]\n\t"                 \
    "smlatt %[a2], %[xe], %[w0], %[a2]\n\t"                 \
    "smlabb %[a1], %[xo], %[w1], %[a1]\n\t"                 \
    "smlatt %[a3], %[xo], %[w1], %[a3]\n\t"                 \
    "ldrd %[xe], %[xo], [%[t], #8]\n\t"                     \
    "smlabb %[a0], %[xe], %[w2], %[a0]\n\t"                 \
    "smlatt %[a2], %[xe], %[w2], %[a2]\n\t"                 \
    "smlabb %[a1], %[xo], %[w3], %[a1]\n\t"                 \
    "smlatt %[a3], %[xo], %[w3], %[a3]\n\t"                 \
    "ldrd %[w0], %[w1], [%[wp]], #8\n\t"                    \
    "ldrd %[xe], %[xo], [%[t], #16]\n\t"                    \
    "smlabb %[a0], %[xe], %[w0], %[a0]\n\t"                 \
    "smlatt %[a2], %[xe], %[w0], %[a2]\n\t"                 \
    "smlabb %[a1], %[xo], %[w1], %[a1]\n\t"                 \
    "smlatt %[a3], %[xo], %[w1], %[a3]\n\t"
/* clang-format on */

DSP_ALWAYS_INLINE void dsp_dw_window3x3_asm(const uint32_t *xr, int32_t rowb, const uint32_t *w4,
                                            const uint32_t *gq, int8_t *y, int32_t form) {
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register uint32_t xe __asm__("r4"), xo __asm__("r5");
    register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
    const uint32_t *wp = w4;
    DSP_ASM_ACC_INIT();
#define DSP_DW_ROW_ASM()                                                                   \
    __asm__ __volatile__(DSP_ASM_DW_ROW3                                                   \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [wp] "+r"(wp)                   \
                         : [xr] "r"(xr)                                                    \
                         : "memory")
    DSP_DW_ROW_ASM();
    xr = (const uint32_t *)((const char *)xr + rowb);
    DSP_DW_ROW_ASM();
    xr = (const uint32_t *)((const char *)xr + rowb);
    DSP_DW_ROW_ASM();
#undef DSP_DW_ROW_ASM
    DSP_ASM_BY_FORM(form, DSP_ASM_STORE, DSP_ASM_RQ_);
}

#if DSP_DW_FAST
/* n pixels from xr (c_step bytes apart) as the SXTAB16 words (even, odd) onto nzp (x - zp
 * for nzp = (-zp, -zp)) into br[2n]: two pixels per step, each pair of words one STRD with
 * post-increment (which gcc does not form from the two stores; volatile: gcc drops the
 * stores when br is not read after them). */
CNNC_INLINE void dsp_dw_widen_row_add(uint32_t *br, const int8_t *xr, int32_t n, int32_t c_step,
                                      uint32_t nzp) {
    for (; n >= 2; n -= 2, xr += 2 * c_step) {
        const uint32_t v0 = dsp_load4(xr), v1 = dsp_load4(xr + c_step);
        __asm__ __volatile__("strd %1, %2, [%0], #8\n\tstrd %3, %4, [%0], #8"
                             : "+r"(br)
                             : "r"(dsp_even_add(nzp, v0)), "r"(dsp_odd_add(nzp, v0)),
                               "r"(dsp_even_add(nzp, v1)), "r"(dsp_odd_add(nzp, v1))
                             : "memory");
    }
    if (n) {
        const uint32_t v = dsp_load4(xr);
        br[0] = dsp_even_add(nzp, v);
        br[1] = dsp_odd_add(nzp, v);
    }
}
#endif

/* The widening's loop over pixel pairs (dsp_dw_widen4, operands va vb ea oa d xp d_end cs
 * o1 o3 nz): two pixels' words a, b; PKHBT/PKHTB first pair their halves, bytes
 * (a0, a1, b0, b1) and (a2, a3, b2, b3), so that the two SXTAB16 of each onto
 * nz = (-zp, -zp) give the channels' words (a0, b0), (a1, b1) and (a2, b2), (a3, b3) less
 * the zero point (two pack instructions a pair, not four) into planes 0..3 at d, d + o1,
 * d + 2 o1, d + o3. */
/* clang-format off */
#define DSP_DW_WIDEN_PAIRS                           \
    "1:\n\t" \
    "ldr %[va], [%[xp]]\n\t" \
    "ldr %[vb], [%[xp], %[cs]]\n\t" \
    "add %[xp], %[xp], %[cs], lsl #1\n\t" \
    "pkhbt %[ea], %[va], %[vb], lsl #16\n\t" \
    "pkhtb %[oa], %[vb], %[va], asr #16\n\t" \
    "sxtab16 %[va], %[nz], %[ea], ror #8\n\t" \
    "str %[va], [%[d], %[o1]]\n\t" \
    "sxtab16 %[vb], %[nz], %[oa]\n\t" \
    "str %[vb], [%[d], %[o1], lsl #1]\n\t" \
    "sxtab16 %[oa], %[nz], %[oa], ror #8\n\t" \
    "str %[oa], [%[d], %[o3]]\n\t" \
    "sxtab16 %[ea], %[nz], %[ea]\n\t" \
    "str %[ea], [%[d]], #4\n\t" \
    "cmp %[d], %[d_end]\n\t" \
    "bne 1b"
/* clang-format on */

/* Channels c0..c0+3 of image b when the padded image (ph x pw pixels, two words each)
 * fits buf: the input words are widened into buf's interior (SXTAB16 even and odd lanes
 * onto nzp: 0, or (-zp, -zp) for x - zp; the caller filled buf's border once with
 * x_zero_point pixels, or zeros, and corr to match), then every output window reads buf
 * without bounds checks or widening. */
static void dsp_dw_padded(const cnnc_s8_conv_params *p, const int8_t *xb, int8_t *yb,
                          const uint32_t *w4, const uint32_t corr[4], int32_t form,
                          const dsp_rq *rq, const dsp_out *out, uint32_t *buf, int32_t ph,
                          int32_t pw, const uint32_t *gq, uint32_t nzp) {
    const size_t row = (size_t)p->w * p->c;
    const int fast = DSP_DW_FAST && p->kernel_h == 3 && p->kernel_w == 3 && form != DSP_RQ_SLOW &&
                     dsp_out_full(out);
    int32_t iy, ix, oy, ox;
    (void)ph;
    for (iy = 0; iy < p->h; ++iy) {
        uint32_t *br = buf + 2 * ((size_t)(iy + p->pad_top) * pw + p->pad_left);
        const int8_t *xr = xb + (size_t)iy * row;
#if DSP_DW_FAST
        (void)ix; /* pairs of pixels per step (the loop below reloads p's fields per pixel) */
        dsp_dw_widen_row_add(br, xr, p->w, p->c, nzp);
#else
        for (ix = 0; ix < p->w; ++ix, xr += p->c, br += 2) {
            const uint32_t v = dsp_load4(xr);
            br[0] = dsp_even_add(nzp, v);
            br[1] = dsp_odd_add(nzp, v);
        }
#endif
    }
    for (oy = 0; oy < p->out_h; ++oy) {
        const uint32_t *br = buf + 2 * (size_t)oy * p->stride_h * pw;
        int8_t *yp = yb + (size_t)oy * p->out_w * p->c;
        if (fast) {
            for (ox = 0; ox < p->out_w; ++ox, br += 2 * p->stride_w, yp += p->c)
                dsp_dw_window3x3_asm(br, 8 * pw, w4, gq, yp, form);
            continue;
        }
        for (ox = 0; ox < p->out_w; ++ox, br += 2 * p->stride_w, yp += p->c) {
            int32_t acc[4];
            acc[0] = (int32_t)corr[0], acc[1] = (int32_t)corr[1], acc[2] = (int32_t)corr[2],
            acc[3] = (int32_t)corr[3];
            if (p->kernel_h == 3 && p->kernel_w == 3)
                dsp_dw_taps3x3(br, pw, w4, acc);
            else
                dsp_dw_taps_buf(br, pw, p->kernel_h, p->kernel_w, w4, acc);
            dsp_dw_store4(yp, acc, form, rq, out);
        }
    }
}

#if DSP_DW_FAST
/* |bias| below which the doubled sums of a 3 x 3 window are exact (s8_dsp.h,
 * DSP_RQ_DOUBLE2): |corr| <= |bias| + 128 * 9 * 128 and |sum| <= |corr| + 9 * 2^14 < 2^30;
 * the sums of x - zp of dsp_dw3x3_groups: |sum| <= |bias| + 9 * 255 * 128, below that too. */
/* Row pitch (pixels) of dsp_dw3x3_groups' buffer when a padded image's rows fit it: 144
 * bytes, the immediate row offsets of DSP_ASM_DW_ROW3_AT's callers. */
#define DSP_DW_PITCH 18
/* Output pixels from which dsp_dw3x3_groups doubles a group's weights while widening them
 * (18 SADD16 and the bias checks) to save a QADD per output */
#define DSP_DW3_DOUBLE_MIN_PX 8
#define DSP_DW3_DOUBLE_BIAS (((int32_t)1 << 30) - 9 * ((int32_t)1 << 14) - 9 * 128 * 128)

/* The record gq (corr left to the caller) of four channels from mult[0..3], shift[0..3];
 * returns the form they share (DSP_RQ_SINGLE or DSP_RQ_DOUBLE as dsp_rq_make picks it),
 * or DSP_RQ_SLOW when a channel has no fast form. rounding: single or double. */
DSP_ALWAYS_INLINE int dsp_dw_gq_one(int32_t *e_at, int32_t *mc_at, int32_t m, int32_t s, int dbl,
                                    int32_t zero_point) {
    const int32_t e = dbl ? -s : -1 - s; /* right shift: 1..20 (double), 1..22 */
    if (dbl ? m < ((int32_t)1 << 30) || e < 1 || e > 20 : e < 1 || e > 22) return 0;
    *e_at = e;
    mc_at[0] = m;
    mc_at[1] = (int32_t)((1u << (e - 1)) + (uint32_t)zero_point * (1u << e));
    return 1;
}
DSP_ALWAYS_INLINE int32_t dsp_dw_gq_fast(int32_t gq[16], const int32_t *mult, const int32_t *shift,
                                         int32_t rounding, int32_t zero_point) {
    const int dbl = rounding == CNNC_ROUND_DOUBLE;
    if (dsp_dw_gq_one(gq + 4, gq + 6, mult[0], shift[0], dbl, zero_point) &&
        dsp_dw_gq_one(gq + 5, gq + 8, mult[1], shift[1], dbl, zero_point) &&
        dsp_dw_gq_one(gq + 10, gq + 12, mult[2], shift[2], dbl, zero_point) &&
        dsp_dw_gq_one(gq + 11, gq + 14, mult[3], shift[3], dbl, zero_point))
        return dbl ? DSP_RQ_DOUBLE : DSP_RQ_SINGLE;
    return DSP_RQ_SLOW;
}
#endif

/* ---------------------------------------------------------------------------------
 * 3 x 3, stride 1, one channel at a time over an int16 plane (dsp_dw3x3_planar).
 * The channel's padded image is widened once into plane[ph][pw] int16 as x - zp (so the
 * padding holds 0, written once per call, and the sums start at the bias: no weight sums;
 * the interior is rewritten per channel), so a word of the plane is two horizontally
 * adjacent inputs (x[2j], x[2j+1]) as int16 lanes. Per
 * kernel row the weights are two words, W01 = (w0, w1) and W21 = (w2, w1), and with
 * A = (x0, x1), B = (x2, x3) the words at the left edge of outputs ox (even) and ox + 1:
 *     x0 w0 + x1 w1 + x2 w2 = SMLAD(A, W01) + SMLABB(B, W21)
 *     x1 w0 + x2 w1 + x3 w2 = SMLATB(A, W01) + SMLADX(B, W21)
 * so a kernel row costs one LDRD and 4 multiplies for 6 MACs. Four channels are widened
 * together (dsp_dw_widen4: one word load per pixel, PKHBT/PKHTB and SXTAB16), the last
 * c mod 4 channels one input at a time. Sums are exact modulo 2^32 as in s8_dsp.h.
 * The last output of an odd row is computed as the pair's first and its partner (reading
 * the plane's padding columns) dropped. Where the plane fits the fixed pitch and the
 * outputs come in whole two-by-four tiles, a group's four channels run dsp_dw3x3_tiles
 * (eight sums in registers, each plane row and kernel row loaded once per tile). */
#define DSP_DW_PLANE_WORDS 1024 /* 4 KB of stack: the int16 planes of four channels */
/* Narrower rows, and stride 2 (whose plane would widen four inputs per output), run the
 * four-channel windows below, which measured fewer instructions there (bench_mcu --layers:
 * the per-channel set-up outweighs the cheaper windows on 4x4 and 2x2 outputs; 3x3 outputs
 * 5.64/MAC on the planes' rows against 3.47). Rows of 6 in an even number of rows take the
 * planes too (dsp_dw3x3_quads4 at the fixed pitch: 0.35@96's 6x6 layers 2.55 -> 2.21/MAC;
 * dsp_dw3x3_rows6 for DSP_RQ_DOUBLE2Z: 2.18 -> 1.95). */
#define DSP_DW_PLANE_MIN_W 8
#define DSP_DW_PLANE_W6(p) ((p)->out_w == 6 && ((p)->out_h & 1) == 0)
/* The planes' pitch in words where they fit it (out_w <= 16): dsp_dw3x3_quads_fixed */
#define DSP_DW_PLANE_PITCH 10

/* The plane's geometry for p (int16 columns pw, even; rows ph), or 0 if it does not fit. */
static int dsp_dw_plane_size(const cnnc_s8_conv_params *p, int32_t *ph, int32_t *pw) {
    int32_t rows = p->out_h + 2, cols = p->out_w + 4; /* stride 1: the pairs' reads */
    if (rows < p->pad_top + p->h) rows = p->pad_top + p->h;
    if (cols < p->pad_left + p->w) cols = p->pad_left + p->w;
    cols = (cols + 1) & ~1;
    /* narrower planes widened to the fixed pitch where it fits (dsp_dw3x3_quads_fixed) */
    if (DSP_DW_FAST && cols < 2 * DSP_DW_PLANE_PITCH &&
        (int64_t)rows * DSP_DW_PLANE_PITCH * 4 <= DSP_DW_PLANE_WORDS)
        cols = 2 * DSP_DW_PLANE_PITCH;
    *ph = rows;
    *pw = cols;
    return (int64_t)rows * (cols / 2) * 4 <= DSP_DW_PLANE_WORDS;
}

CNNC_INLINE void dsp_dw_put16(uint32_t *plane, int32_t i, int32_t v) {
    const int16_t h = (int16_t)v;
    CNNC_COPY((char *)plane + 2 * (size_t)i, &h, sizeof h); /* any type may alias char */
}

/* Outputs ox, ox + 1 of one channel in asm (gcc's C form spills the channel's ten
 * constants): rec[11] = corr, corr, (W01, W21) per kernel row, m, c, e; the accumulators
 * a0, a1 (r0, r1) and the first row's weights (r2, r3) come in one LDM. Per kernel row one
 * LDRD of the plane words (A, B) and the four multiplies of dsp_dw3x3_channel; then the
 * fast form's requantisation with the full clamp, y[0] and (two) y[c_step]. */
/* clang-format off */
#define DSP_ASM_PAIR_ROW(wo)                                \
    "ldrd %[wa], %[wb], [%[rec], #" wo "]\n\t"              \
    "ldrd %[xa], %[xb], [%[t]]\n\t"                         \
    "smlad %[a0], %[xa], %[wa], %[a0]\n\t"                  \
    "smlabb %[a0], %[xb], %[wb], %[a0]\n\t"                 \
    "smlatb %[a1], %[xa], %[wa], %[a1]\n\t"                 \
    "smladx %[a1], %[xb], %[wb], %[a1]\n\t"
#define DSP_ASM_PAIR_TAPS                                   \
    "ldm %[rec], {%[a0], %[a1], %[wa], %[wb]}\n\t"          \
    "ldrd %[xa], %[xb], [%[r]]\n\t"                         \
    "smlad %[a0], %[xa], %[wa], %[a0]\n\t"                  \
    "smlabb %[a0], %[xb], %[wb], %[a0]\n\t"                 \
    "smlatb %[a1], %[xa], %[wa], %[a1]\n\t"                 \
    "smladx %[a1], %[xb], %[wb], %[a1]\n\t"                 \
    "add %[t], %[r], %[rowb]\n\t"                           \
    DSP_ASM_PAIR_ROW("16")                                  \
    "add %[t], %[t], %[rowb]\n\t"                           \
    DSP_ASM_PAIR_ROW("24")                                  \
    "ldrd %[wa], %[wb], [%[rec], #32]\n\t"                  \
    "ldr %[xa], [%[rec], #40]\n\t"
/* clang-format on */
/* The requantisation of DSP_ASM_RQ_* without the store (the pair stores at c_step). */
#define DSP_ASM_RQ_NOSTORE_DOUBLE2(a, m, c, e) \
    "add %[xb], %[" c "], %[" a                \
    "], asr #31\n\t"                           \
    "smmlar %[" a "], %[" a "], %[" m          \
    "], %[xb]\n\t"                             \
    "asr %[" a "], %[" a "], %[" e             \
    "]\n\t"                                    \
    "ssat %[" a "], #8, %[" a "]\n\t"
/* DSP_RQ_DOUBLE2Z (s8_dsp.h): DSP_RQ_DOUBLE2 without the sign's term. */
#define DSP_ASM_RQ_NOSTORE_DOUBLE2Z(a, m, c, e) \
    "smmlar %[" a "], %[" a "], %[" m "], %[" c \
    "]\n\t"                                     \
    "asr %[" a "], %[" a "], %[" e              \
    "]\n\t"                                     \
    "ssat %[" a "], #8, %[" a "]\n\t"
#define DSP_ASM_RQ_NOSTORE_DOUBLE(a, m, c, e) \
    "add %[xb], %[" c "], %[" a               \
    "], asr #31\n\t"                          \
    "qadd %[" a "], %[" a "], %[" a           \
    "]\n\t"                                   \
    "smmlar %[" a "], %[" a "], %[" m         \
    "], %[xb]\n\t"                            \
    "asr %[" a "], %[" a "], %[" e            \
    "]\n\t"                                   \
    "ssat %[" a "], #8, %[" a "]\n\t"
#define DSP_ASM_RQ_NOSTORE_SINGLE(a, m, c, e)  \
    "smmla %[" a "], %[" a "], %[" m "], %[" c \
    "]\n\t"                                    \
    "asr %[" a "], %[" a "], %[" e             \
    "]\n\t"                                    \
    "ssat %[" a "], #8, %[" a "]\n\t"
#define DSP_ASM_PAIR(RQ)                                                                   \
    __asm__ __volatile__(DSP_ASM_PAIR_TAPS RQ("a0", "wa", "wb", "xa")                      \
                             RQ("a1", "wa", "wb", "xa") "strb %[a0], [%[y]]\n\t"           \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [wa] "=&r"(wa), [wb] "=&r"(wb), \
                           [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t)                    \
                         : [r] "r"(r), [rowb] "r"(rowb), [rec] "r"(rec), [y] "r"(y)        \
                         : "memory")

DSP_ALWAYS_INLINE int32_t dsp_dw3x3_pair_asm(const uint32_t *r, int32_t rowb, const uint32_t *rec,
                                             int8_t *y, int32_t form) {
    register int32_t a0 __asm__("r0"), a1 __asm__("r1");
    register uint32_t wa __asm__("r2"), wb __asm__("r3");
    uint32_t xa, xb, t;
    if (form == DSP_RQ_DOUBLE2Z)
        DSP_ASM_PAIR(DSP_ASM_RQ_NOSTORE_DOUBLE2Z);
    else
        DSP_ASM_BY_FORM(form, DSP_ASM_PAIR, DSP_ASM_RQ_NOSTORE_);
    return a1; /* the second output, saturated to int8 */
}

/* Outputs (ox, ox + 1) of rows oy and oy + 1 in asm: the two rows share the middle input
 * rows, so a kernel row's weights (one LDRD) serve both output rows where they meet the
 * same input row: 4 LDRD of the plane, 3 of weights and 24 multiplies for 4 outputs (the
 * pair form: 6 and 6 loads, 24 multiplies). rec[13] = corr x 4, (W01, W21) per kernel row,
 * m, c, e. Returns the four saturated outputs in out[0..3]: (oy, ox), (oy, ox + 1),
 * (oy + 1, ox), (oy + 1, ox + 1). */
/* clang-format off */
#define DSP_ASM_DW4_MUL(p, q)                              \
    "smlad %[" p "], %[xa], %[wa], %[" p "]\n\t"            \
    "smlabb %[" p "], %[xb], %[wb], %[" p "]\n\t"           \
    "smlatb %[" q "], %[xa], %[wa], %[" q "]\n\t"           \
    "smladx %[" q "], %[xb], %[wb], %[" q "]\n\t"
#define DSP_ASM_DW4_TAPS                                   \
    "ldm %[rec], {%[a0], %[a1], %[a2], %[a3]}\n\t"          \
    "ldrd %[wa], %[wb], [%[rec], #16]\n\t"                  \
    "ldrd %[xa], %[xb], [%[r]]\n\t"                         \
    DSP_ASM_DW4_MUL("a0", "a1")                            \
    "add %[t], %[r], %[rowb]\n\t"                           \
    "ldrd %[xa], %[xb], [%[t]]\n\t"                         \
    DSP_ASM_DW4_MUL("a2", "a3")                            \
    "ldrd %[wa], %[wb], [%[rec], #24]\n\t"                  \
    DSP_ASM_DW4_MUL("a0", "a1")                            \
    "add %[t], %[t], %[rowb]\n\t"                           \
    "ldrd %[xa], %[xb], [%[t]]\n\t"                         \
    DSP_ASM_DW4_MUL("a2", "a3")                            \
    "ldrd %[wa], %[wb], [%[rec], #32]\n\t"                  \
    DSP_ASM_DW4_MUL("a0", "a1")                            \
    "add %[t], %[t], %[rowb]\n\t"                           \
    "ldrd %[xa], %[xb], [%[t]]\n\t"                         \
    DSP_ASM_DW4_MUL("a2", "a3")                            \
    "ldrd %[wa], %[wb], [%[rec], #40]\n\t"                  \
    "ldr %[xa], [%[rec], #48]\n\t"
/* clang-format on */
#define DSP_ASM_DW4(RQ)                                                                    \
    __asm__ __volatile__(                                                                  \
        DSP_ASM_DW4_TAPS RQ("a0", "wa", "wb", "xa") RQ("a1", "wa", "wb", "xa")             \
            RQ("a2", "wa", "wb", "xa") RQ("a3", "wa", "wb", "xa") "strb %[a0], [%[y]]\n\t" \
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wa] "=&r"(wa),  \
          [wb] "=&r"(wb), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t)                     \
        : [r] "r"(r), [rowb] "r"(rowb), [rec] "r"(rec), [y] "r"(y)                         \
        : "memory")

DSP_ALWAYS_INLINE void dsp_dw3x3_quad_asm(const uint32_t *r, int32_t rowb, const uint32_t *rec,
                                          int8_t *y, int32_t form, int32_t out[3]) {
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    uint32_t wa, wb, xa, xb, t;
    if (form == DSP_RQ_DOUBLE2Z)
        DSP_ASM_DW4(DSP_ASM_RQ_NOSTORE_DOUBLE2Z);
    else
        DSP_ASM_BY_FORM(form, DSP_ASM_DW4, DSP_ASM_RQ_NOSTORE_);
    out[0] = a1, out[1] = a2, out[2] = a3;
}

/* Every row pair's whole quads in one asm loop where the plane's pitch is
 * DSP_DW_PLANE_PITCH words: the first pair's quads at plane words r .. r_end (the columns of
 * outputs (ox, ox + 1)), the plane rows at immediate offsets from r (post-incremented by
 * the first row's LDRD; the sums' start and the first row's weights one LDM), the four
 * stores in the asm from rec[13], rec[14] = c_step,
 * out_w * c_step (no pointer of gcc's spilled and reloaded per quad); then r and y step
 * by rec[15], rec[16] to the next pair, r_end by two rows, up to the last pair's r_end in
 * rec[17] (written per call: no register left for it). */
/* clang-format off */
#define DSP_ASM_DW4_LOOP_TAPS                              \
    "1:\n\t"                                              \
    "ldm %[rec], {%[a0], %[a1], %[a2], %[a3], %[wa], %[wb]}\n\t" \
    "ldrd %[xa], %[xb], [%[r]], #4\n\t"                    \
    DSP_ASM_DW4_MUL("a0", "a1")                            \
    "ldrd %[xa], %[xb], [%[r], #(%c[pb] - 4)]\n\t"         \
    DSP_ASM_DW4_MUL("a2", "a3")                            \
    "ldrd %[wa], %[wb], [%[rec], #24]\n\t"                 \
    DSP_ASM_DW4_MUL("a0", "a1")                            \
    "ldrd %[xa], %[xb], [%[r], #(2 * %c[pb] - 4)]\n\t"     \
    DSP_ASM_DW4_MUL("a2", "a3")                            \
    "ldrd %[wa], %[wb], [%[rec], #32]\n\t"                 \
    DSP_ASM_DW4_MUL("a0", "a1")                            \
    "ldrd %[xa], %[xb], [%[r], #(3 * %c[pb] - 4)]\n\t"     \
    DSP_ASM_DW4_MUL("a2", "a3")                            \
    "ldm %[rq], {%[wa], %[wb], %[xa]}\n\t"
#define DSP_ASM_DW4_LOOP_STORE                             \
    "ldrd %[xa], %[xb], [%[rec], #52]\n\t"                 \
    "strb %[a0], [%[y]]\n\t"                               \
    "strb %[a1], [%[y], %[xa]]\n\t"                        \
    "add %[xb], %[y], %[xb]\n\t"                           \
    "strb %[a2], [%[xb]]\n\t"                              \
    "strb %[a3], [%[xb], %[xa]]\n\t"                       \
    "add %[y], %[y], %[xa], lsl #1\n\t"                    \
    "cmp %[r], %[r_end]\n\t"                               \
    "blo 1b\n\t"                                           \
    "ldrd %[xa], %[xb], [%[rec], #60]\n\t"                 \
    "add %[r], %[r], %[xa]\n\t"                            \
    "add %[y], %[y], %[xb]\n\t"                            \
    "add %[r_end], %[r_end], #(2 * %c[pb])\n\t"            \
    "ldr %[xa], [%[rec], #68]\n\t"                         \
    "cmp %[r_end], %[xa]\n\t"                              \
    "bls 1b\n\t"
/* clang-format on */
#define DSP_ASM_DW4_LOOP(RQ)                                                                    \
    __asm__ __volatile__(DSP_ASM_DW4_LOOP_TAPS RQ("a0", "wa", "wb", "xa")                       \
                             RQ("a1", "wa", "wb", "xa") RQ("a2", "wa", "wb", "xa")              \
                                 RQ("a3", "wa", "wb", "xa") DSP_ASM_DW4_LOOP_STORE              \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),      \
                           [wa] "=&r"(wa), [wb] "=&r"(wb), [xa] "=&r"(xa), [xb] "=&r"(xb),      \
                           [r] "+&r"(r), [y] "+&r"(y), [r_end] "+&r"(r_end)                     \
                         : [rec] "r"(rec), [rq] "r"(rec + 10), [pb] "i"(4 * DSP_DW_PLANE_PITCH) \
                         : "cc", "memory")

DSP_ALWAYS_INLINE void dsp_dw3x3_quads_fixed(const uint32_t *r, const uint32_t *r_end,
                                             const uint32_t *rec, int8_t *y, int32_t form) {
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register uint32_t wa __asm__("r4"), wb __asm__("r5"); /* the LDM's order */
    register uint32_t xa __asm__("r8");                   /* after wa, wb: the LDM's order */
    uint32_t xb;
    if (form == DSP_RQ_DOUBLE2Z)
        DSP_ASM_DW4_LOOP(DSP_ASM_RQ_NOSTORE_DOUBLE2Z);
    else
        DSP_ASM_BY_FORM(form, DSP_ASM_DW4_LOOP, DSP_ASM_RQ_NOSTORE_);
}

/* The record's words 13..16 for dsp_dw3x3_quads_fixed: c_step, out_w * c_step (bytes), the
 * steps of r (bytes) and y from a row pair's end to the next pair's start. */
CNNC_INLINE void dsp_dw3x3_rec_steps(const cnnc_s8_conv_params *p, uint32_t *rec) {
    const int32_t half = p->out_w >> 1, y_row = p->out_w * p->c;
    rec[13] = (uint32_t)p->c, rec[14] = (uint32_t)y_row;
    rec[15] = (uint32_t)(4 * (2 * DSP_DW_PLANE_PITCH - half));
    rec[16] = (uint32_t)(2 * y_row - half * 2 * p->c);
}

/* One channel's outputs from its plane in asm for a fast form with the full clamp: two
 * output rows at a time (dsp_dw3x3_quad_asm), an odd last row by pairs
 * (dsp_dw3x3_pair_asm). quad[13]: corr x 4, (W01, W21) per kernel row, m, c, e (from word 2
 * on, the pairs' record). */
DSP_ALWAYS_INLINE void dsp_dw3x3_rows_as(const cnnc_s8_conv_params *p, const uint32_t *plane,
                                         int32_t pww, uint32_t *quad, int8_t *y, int32_t form) {
    const uint32_t *const rec = quad + 2;
    const int32_t c_step = p->c, rowb = 4 * pww, odd = p->out_w & 1;
    const size_t y_row = (size_t)p->out_w * c_step, y_pair = 2 * (size_t)c_step;
    int8_t *yr = y, *const y_end = y + (size_t)p->out_h * y_row;
    const int32_t half = p->out_w >> 1;
    const size_t y_half = (size_t)half * y_pair;
    const uint32_t *const plane0 = plane;
    int32_t o[3];
    /* pointer walks only: the asm's memory clobber reloads whatever gcc spilled; the odd
     * last column in a pass of its own (the loop then keeps nothing past its end) */
    if (DSP_DW_FAST && pww == DSP_DW_PLANE_PITCH && p->out_h >= 2) {
        const int32_t pairs = p->out_h >> 1;
        quad[17] = (uint32_t)(uintptr_t)(plane + (pairs - 1) * 2 * pww + half); /* r_stop */
        dsp_dw3x3_quads_fixed(plane, plane + half, quad, yr, form);
        yr += 2 * (size_t)pairs * y_row, plane += 2 * (size_t)pairs * pww;
    }
    for (; yr + y_row < y_end; yr += 2 * y_row, plane += 2 * pww) { /* two rows */
        const uint32_t *r = plane, *const r_end = plane + half;
        int8_t *yp = yr;
        for (; r < r_end; ++r, yp += y_pair) {
            dsp_dw3x3_quad_asm(r, rowb, quad, yp, form, o);
            yp[c_step] = (int8_t)o[0];
            yp[y_row] = (int8_t)o[1];
            yp[y_row + c_step] = (int8_t)o[2];
        }
    }
    if (odd) { /* the last output of each row pair; the partners dropped */
        const uint32_t *r = plane0 + half;
        int8_t *yp = y + y_half;
        for (; yp < yr; yp += 2 * y_row, r += 2 * pww) {
            dsp_dw3x3_quad_asm(r, rowb, quad, yp, form, o);
            yp[y_row] = (int8_t)o[1];
        }
    }
    for (; yr < y_end; yr += y_row, plane += pww) { /* an odd last row */
        const uint32_t *r = plane, *const r_end = plane + (p->out_w >> 1);
        int8_t *yp = yr;
        for (; r < r_end; ++r, yp += y_pair)
            yp[c_step] = (int8_t)dsp_dw3x3_pair_asm(r, rowb, rec, yp, form);
        if (odd) (void)dsp_dw3x3_pair_asm(r, rowb, rec, yp, form);
    }
}

/* dsp_dw3x3_rows_as for a fast form (one copy of each, called per channel). */
static void dsp_dw3x3_rows(const cnnc_s8_conv_params *p, const uint32_t *plane, int32_t pww,
                           uint32_t *quad, int8_t *y, int32_t form) {
    if (form == DSP_RQ_DOUBLE2Z)
        dsp_dw3x3_rows_as(p, plane, pww, quad, y, DSP_RQ_DOUBLE2Z);
    else if (form == DSP_RQ_DOUBLE2)
        dsp_dw3x3_rows_as(p, plane, pww, quad, y, DSP_RQ_DOUBLE2);
    else if (form == DSP_RQ_DOUBLE)
        dsp_dw3x3_rows_as(p, plane, pww, quad, y, DSP_RQ_DOUBLE);
    else
        dsp_dw3x3_rows_as(p, plane, pww, quad, y, DSP_RQ_SINGLE);
}

#if DSP_DW_FAST
/* Two output rows by four columns of one channel (a tile) per step, at a plane pitch known
 * when compiling (the plane rows at immediate offsets: DSP_DW_PLANE_PITCH, and for
 * DSP_RQ_DOUBLE2Z DSP_DW_TILE_PITCH_24, _48), in
 * one asm loop over every row pair whose registers are allocated by hand: the eight sums
 * r0..r7 (row oy: r0..r3, oy + 1: r4..r7), a kernel row's (W01, W21) in r8, r9, a plane
 * row's words A, B, C (columns ox .. ox + 5) in r10..r12, the plane pointer in lr. A tile
 * loads each of its four plane rows once (LDRD and LDR) and each kernel row's weights
 * once: 8 + 3 loads and 48 multiplies for 8 outputs (the quads of dsp_dw3x3_quads_fixed:
 * 2 x (4 + 3) and 2 x 24), per row, with X = (A, B) for columns ox, ox + 1 and (B, C)
 * for ox + 2, ox + 3, the pair formulas of dsp_dw3x3_channel. The channel's record
 * (DSP_DW_TREC words, below) is pushed on entry, so that sp addresses it and no register
 * holds its pointer; y, the row pair's end and the steps live there too. Those 128 bytes
 * of stack are the asm's own: cnnc.host.mcu_stack's frames (gcc's) do not count them. */
#define DSP_DW_TREC 32 /* words of a channel's record, dsp_dw3x3_tiles */
/* The record: 0..7 the sums' start (8 copies, one LDM with the first weights), 8..13
 * (W01, W21) per kernel row, 14..16 m, c, e, 17 c_step, 18 out_w * c_step (bytes), 19
 * 3 c_step, 20 y of the next tile, 21 the plane pointer past the row pair's last tile (17..21
 * one LDM after a tile: DSP_ASM_TILE_LDM5), 22 1 for an odd last row, 23 and 24 y and the
 * plane's end of dsp_dw3x3_rows6, 25 the plane pointer past the last row pair's last tile,
 * 26 and 27 the plane and y steps from a row pair's end to the next pair's start, 28 the
 * plane, 29 the next channel's record or 0 (a group's four channels in one asm loop), 30
 * DSP_ASM_TILE_PRO_E's (the asm's own), 31 the e block's address (dsp_dw3x3_group_rq).
 * Words 17..21 from 4 on are dsp_dw3x3_quads_fixed's record too (its 13..17: the quads'
 * record is rec + 4), in calls without tiles (dsp_dw3x3_tile_steps). */
/* clang-format off */
#define DSP_ASM_TILE_ROW(p0, p1, p2, p3)                   \
    "smlad " p0 ", r10, r8, " p0 "\n\t"                     \
    "smlabb " p0 ", r11, r9, " p0 "\n\t"                    \
    "smlatb " p1 ", r10, r8, " p1 "\n\t"                    \
    "smladx " p1 ", r11, r9, " p1 "\n\t"                    \
    "smlad " p2 ", r11, r8, " p2 "\n\t"                     \
    "smlabb " p2 ", r12, r9, " p2 "\n\t"                    \
    "smlatb " p3 ", r11, r8, " p3 "\n\t"                    \
    "smladx " p3 ", r12, r9, " p3 "\n\t"
#define DSP_ASM_TILE_LOAD(k)                               \
    "ldrd r10, r11, [lr, #(" #k " * %c[pb] - 8)]\n\t"        \
    "ldr r12, [lr, #(" #k " * %c[pb])]\n\t"
/* m, c, e in r8, r9, r10; r11 a scratch */
#define DSP_ASM_TILE_RQ_DOUBLE2(a)                         \
    "add r11, r9, " a ", asr #31\n\t"                       \
    "smmlar " a ", " a ", r8, r11\n\t"                      \
    "asr " a ", " a ", r10\n\t"                             \
    "ssat " a ", #8, " a "\n\t"
#define DSP_ASM_TILE_RQ_DOUBLE(a)                          \
    "add r11, r9, " a ", asr #31\n\t"                       \
    "qadd " a ", " a ", " a "\n\t"                          \
    "smmlar " a ", " a ", r8, r11\n\t"                      \
    "asr " a ", " a ", r10\n\t"                             \
    "ssat " a ", #8, " a "\n\t"
#define DSP_ASM_TILE_RQ_SINGLE(a)                          \
    "smmla " a ", " a ", r8, r9\n\t"                        \
    "asr " a ", " a ", r10\n\t"                             \
    "ssat " a ", #8, " a "\n\t"
/* The eight requantisations of a tile: m, c, e loaded, then RQ per sum. */
#define DSP_ASM_TILE_RQ8(RQ)                                                  \
    "ldrd r8, r9, [sp, #56]\n\t"                                              \
    "ldr r10, [sp, #64]\n\t"                                                  \
    RQ("r0") RQ("r1") RQ("r2") RQ("r3") RQ("r4") RQ("r5") RQ("r6") RQ("r7")
/* DSP_RQ_DOUBLE2Z's with the shift inside SSAT (SSAT's ASR #e: the shift is an immediate):
 * 20 written-out blocks of the eight SMMLAR, SSAT, one per e, shared by every tile loop
 * (dsp_dw_tile_rq below, 68 bytes each: every instruction 32-bit); a tile jumps to its
 * channel's block by LDR PC of record word 31 and the block returns by LDR PC of word 30,
 * both set on the channel's entry (DSP_ASM_TILE_PRO_E): 18 instructions for 8 outputs,
 * not 25. */
#define DSP_ASM_TILE_E1(a, e) \
    "smmlar.w " a ", " a ", r8, r9\n\tssat.w " a ", #8, " a ", asr #" #e "\n\t"
#define DSP_ASM_TILE_E8(e)                                                     \
    DSP_ASM_TILE_E1("r0", e) DSP_ASM_TILE_E1("r1", e) DSP_ASM_TILE_E1("r2", e) \
    DSP_ASM_TILE_E1("r3", e) DSP_ASM_TILE_E1("r4", e) DSP_ASM_TILE_E1("r5", e) \
    DSP_ASM_TILE_E1("r6", e) DSP_ASM_TILE_E1("r7", e)
/* Each e's block is followed by its copy for DSP_ASM_TILES_COL's DSP_RQ_DOUBLE2Z loop
 * (entered DSP_DW_TILE_RQ_COL bytes on), which does not return: it stores the tile and
 * steps y (DSP_ASM_TILE_STORE8's and the loop's own instructions) and branches to the
 * loop's next tile or its column's end itself, labels of dsp_dw3x3_tiles_col_z's asm
 * (one asm in one function: defined once a file). Per tile one LDR PC less, per channel
 * no return point to set (3 instructions, 1 to add the offset): ~1.6 K on digits. That
 * loop jumps here by LDM r12! of m, c and the block's address (its pushed word 16), so
 * r12 enters at word 17 (DSP_ASM_TILE_LDM5's base: no ADD). Every instruction 32-bit, so
 * that the blocks' size is a constant (checked by .error). */
#define DSP_ASM_TILE_EBLK(e)                                                   \
    "9:\n\t" DSP_ASM_TILE_E8(e) "ldr.w pc, [sp, #120]\n\t"                    \
    DSP_ASM_TILE_E8(e)                                                         \
    "ldm.w r12, {r8-r12}\n\t"                                                 \
    "strb.w r0, [r11]\n\t"                                                    \
    "strb.w r1, [r11, r8]\n\t"                                                \
    "strb.w r2, [r11, r8, lsl #1]\n\t"                                        \
    "strb.w r3, [r11, r10]\n\t"                                               \
    "add.w r9, r11, r9\n\t"                                                   \
    "strb.w r4, [r9]\n\t"                                                     \
    "strb.w r5, [r9, r8]\n\t"                                                 \
    "strb.w r6, [r9, r8, lsl #1]\n\t"                                         \
    "strb.w r7, [r9, r10]\n\t"                                                \
    "rsb.w r11, r11, r9, lsl #1\n\t"                                          \
    "str.w r11, [sp, #80]\n\t"                                                \
    "cmp.w lr, r12\n\t"                                                       \
    "blo.w .Ldsp_dw_tiles_col_z_tile\n\t"                                     \
    "b.w .Ldsp_dw_tiles_col_z_next\n\t"                                       \
    ".ifne (. - 9b) - " DSP_DW_STR(DSP_DW_TILE_RQ_BLOCK) "\n\t"               \
    ".error \"dsp_dw_tile_rq: a block's size\"\n\t"                           \
    ".endif\n\t"
#define DSP_DW_TILE_RQ_BLOCK 192 /* bytes: the tiles' block (68) and the columns' (124) */
#define DSP_DW_TILE_RQ_COL 68    /* bytes: the columns' block from the e's block */
#define DSP_DW_STR_(x) #x
#define DSP_DW_STR(x) DSP_DW_STR_(x)
__asm__(".pushsection .text.dsp_dw_tile_rq,\"ax\",%progbits\n\t"
        ".syntax unified\n\t"
        ".thumb\n\t"
        ".p2align 2\n"
        "dsp_dw_tile_rq:\n\t" DSP_ASM_TILE_EBLK(1) DSP_ASM_TILE_EBLK(2) DSP_ASM_TILE_EBLK(3)
            DSP_ASM_TILE_EBLK(4) DSP_ASM_TILE_EBLK(5) DSP_ASM_TILE_EBLK(6) DSP_ASM_TILE_EBLK(7)
                DSP_ASM_TILE_EBLK(8) DSP_ASM_TILE_EBLK(9) DSP_ASM_TILE_EBLK(10)
                    DSP_ASM_TILE_EBLK(11) DSP_ASM_TILE_EBLK(12) DSP_ASM_TILE_EBLK(13)
                        DSP_ASM_TILE_EBLK(14) DSP_ASM_TILE_EBLK(15) DSP_ASM_TILE_EBLK(16)
                            DSP_ASM_TILE_EBLK(17) DSP_ASM_TILE_EBLK(18) DSP_ASM_TILE_EBLK(19)
                                DSP_ASM_TILE_EBLK(20) ".popsection");
/* On a channel's entry: word 30 = the tile's return point 3; word 31, its e's block (Thumb
 * bit set; e in 1..20: dsp_dw_gq_fast), comes with the record (dsp_dw3x3_group_rq). */
extern const char dsp_dw_tile_rq[];
#define DSP_ASM_TILE_PRO_E                                                    \
    "adr r1, 3f\n\t"                                                          \
    "add r1, r1, #1\n\t"                                                      \
    "str r1, [sp, #120]\n\t"
/* A 2x4 tile's nine taps into the sums r0..r7: the kernel rows' weights in r8, r9 (row 0
 * from the LDM before it, rows 1 and 2 from [sp, #40] and #48), the plane rows loaded by
 * L1, L2, L3 between them. */
#define DSP_ASM_TILE_MACS8(L1, L2, L3)                                        \
    DSP_ASM_TILE_ROW("r0", "r1", "r2", "r3")                                  \
    L1                                                                        \
    DSP_ASM_TILE_ROW("r4", "r5", "r6", "r7")                                  \
    "ldrd r8, r9, [sp, #40]\n\t"                                              \
    DSP_ASM_TILE_ROW("r0", "r1", "r2", "r3")                                  \
    L2                                                                        \
    DSP_ASM_TILE_ROW("r4", "r5", "r6", "r7")                                  \
    "ldrd r8, r9, [sp, #48]\n\t"                                              \
    DSP_ASM_TILE_ROW("r0", "r1", "r2", "r3")                                  \
    L3                                                                        \
    DSP_ASM_TILE_ROW("r4", "r5", "r6", "r7")
/* Record words 17..21 into r8..r12 by one LDM (its base the last register loaded): c_step,
 * out_w * c_step, 3 c_step, y, the row pair's end (three loads before). */
#define DSP_ASM_TILE_LDM5                                                     \
    "add r12, sp, #68\n\t"                                                    \
    "ldm r12, {r8-r12}\n\t"
/* The tile's eight outputs (requantised in r0..r7) to y (r11): a row's outputs c_step (r8;
 * the fourth 3 c_step: r10) apart, the second row out_w * c_step (r9) on; the row pair's
 * end in r12 (DSP_ASM_TILE_LDM5). */
#define DSP_ASM_TILE_STORE8                                                   \
    DSP_ASM_TILE_LDM5                                                         \
    "strb r0, [r11]\n\t"                                                      \
    "strb r1, [r11, r8]\n\t"                                                  \
    "strb r2, [r11, r8, lsl #1]\n\t"                                          \
    "strb r3, [r11, r10]\n\t"                                                 \
    "add r9, r11, r9\n\t"                                                     \
    "strb r4, [r9]\n\t"                                                       \
    "strb r5, [r9, r8]\n\t"                                                   \
    "strb r6, [r9, r8, lsl #1]\n\t"                                           \
    "strb r7, [r9, r10]\n\t"
/* The channel's 32-word record at r12 pushed onto the stack ([sp + 4 i] = word i); W31 edits
 * r10 (word 31), W16 r6 (word 16) and W0 r0, r1 (words 0, 1) before their PUSH, or are ""
 * (r11, and r12 once lr is set, are free for them). */
#define DSP_ASM_TILE_PUSH_REC(W31, W16, W0)                                   \
    "add lr, r12, #84\n\t"                                                    \
    "ldm lr, {r0-r10}\n\t"                                                    \
    W31                                                                       \
    "push {r0-r10}\n\t"                                                       \
    "sub lr, lr, #44\n\t"                                                     \
    "ldm lr, {r0-r10}\n\t"                                                    \
    W16                                                                       \
    "push {r0-r10}\n\t"                                                       \
    "sub lr, lr, #40\n\t"                                                     \
    "ldm lr, {r0-r9}\n\t"                                                     \
    W0                                                                        \
    "push {r0-r9}\n\t"
/* The odd last row's loop: its own return point 3 (the one after the loop's RQ8_E). */
#define DSP_ASM_TILE_PRO1_E                                                   \
    "adr r0, 3f\n\t"                                                          \
    "add r0, r0, #1\n\t"                                                      \
    "str r0, [sp, #120]\n\t"
#define DSP_ASM_TILE_RQ8_E                                                    \
    "ldrd r8, r9, [sp, #56]\n\t"                                              \
    "ldr pc, [sp, #124]\n\t"                                                  \
    "3:\n\t"
#define DSP_ASM_TILES(PRO, PRO1, RQ8, PITCH)                                        \
    __asm__ __volatile__(                                                     \
        "0:\n\t"                                                              \
        DSP_ASM_TILE_PUSH_REC("", "", "")                                     \
        PRO                                                                   \
        "ldr lr, [sp, #112]\n\t"                                              \
        "1:\n\t"                                                              \
        "ldm sp, {r0-r9}\n\t"                                                 \
        "ldrd r10, r11, [lr], #8\n\t"                                         \
        "ldr r12, [lr]\n\t"                                                   \
        DSP_ASM_TILE_MACS8(DSP_ASM_TILE_LOAD(1),                              \
                           DSP_ASM_TILE_LOAD(2), DSP_ASM_TILE_LOAD(3))        \
        RQ8 DSP_ASM_TILE_STORE8                                               \
        "add r11, r11, r8, lsl #2\n\t"                                        \
        "str r11, [sp, #80]\n\t"                                              \
        "cmp lr, r12\n\t"                                                     \
        "blo 1b\n\t"                                                          \
        "ldrd r0, r1, [sp, #104]\n\t"                                         \
        "ldr r2, [sp, #100]\n\t"                                              \
        "add lr, lr, r0\n\t"                                                  \
        "add r11, r11, r1\n\t"                                                \
        "add r12, r12, #(2 * %c[pb])\n\t"                                     \
        "strd r11, r12, [sp, #80]\n\t"                                        \
        "cmp r12, r2\n\t"                                                     \
        "bls 1b\n\t"                                                          \
        "ldr r0, [sp, #88]\n\t"                                               \
        "cbnz r0, 5f\n\t"                                                     \
        "6:\n\t"                                                              \
        "ldr r12, [sp, #116]\n\t"                                             \
        "add sp, sp, #128\n\t"                                                \
        "cmp r12, #0\n\t"                                                     \
        "bne 0b\n\t"                                                          \
        "b 7f\n\t"                                                            \
        "5:\n\t"                                                              \
        PRO1                                                                  \
        "4:\n\t"                                                              \
        "ldm sp, {r0-r9}\n\t"                                                 \
        "ldrd r10, r11, [lr], #8\n\t"                                         \
        "ldr r12, [lr]\n\t"                                                   \
        DSP_ASM_TILE_ROW("r0", "r1", "r2", "r3")                              \
        DSP_ASM_TILE_LOAD(1)                                                  \
        "ldrd r8, r9, [sp, #40]\n\t"                                          \
        DSP_ASM_TILE_ROW("r0", "r1", "r2", "r3")                              \
        DSP_ASM_TILE_LOAD(2)                                                  \
        "ldrd r8, r9, [sp, #48]\n\t"                                          \
        DSP_ASM_TILE_ROW("r0", "r1", "r2", "r3")                              \
        RQ8                                                                   \
        DSP_ASM_TILE_LDM5                                                     \
        "strb r0, [r11]\n\t"                                                  \
        "strb r1, [r11, r8]\n\t"                                              \
        "strb r2, [r11, r8, lsl #1]\n\t"                                      \
        "strb r3, [r11, r10]\n\t"                                             \
        "add r11, r11, r8, lsl #2\n\t"                                        \
        "str r11, [sp, #80]\n\t"                                              \
        "cmp lr, r12\n\t"                                                     \
        "blo 4b\n\t"                                                          \
        "b 6b\n\t"                                                            \
        "7:"                                                                  \
        : "+r"(rp)                                                            \
        : [pb] "i"(4 * (PITCH))                                               \
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",  \
          "r11", "lr", "cc", "memory")
/* clang-format on */

/* DSP_ASM_TILES down the columns of tiles at the fixed pitch (DSP_DW_PLANE_PITCH) where the
 * rows are even and the row pairs outnumber the tiles of a row (dsp_dw3x3_tiles_col: digits'
 * 16x16 and 8x8 layers, 8 and 4 row pairs of 4 and 2 tiles): the same tile, its first LDRD
 * post-incremented by two plane rows and y stepped by two output rows (RSB: 2 (y + y_row) - y),
 * so the loop's end and its steps come once per column, not per row pair (the last column's
 * end first: its steps, 6 instructions, are not needed). Record words 21, 25..27 then hold
 * the column's end, the last column's, and the plane and y steps from a column's end to the
 * next column's start (dsp_dw3x3_tile_steps). */
/* clang-format off */
#define DSP_ASM_TILE_LOAD_COL(k)                           \
    "ldrd r10, r11, [lr, #(" #k " * %c[pb])]\n\t"           \
    "ldr r12, [lr, #(" #k " * %c[pb] + 8)]\n\t"
/* The tile's stores and y's step to the next tile down the column (the other forms' tail;
 * DSP_RQ_DOUBLE2Z's is in its requantisation block, DSP_ASM_TILE_EBLK). */
#define DSP_ASM_TILES_COL_TAIL                                                \
    DSP_ASM_TILE_STORE8                                                       \
    "rsb r11, r11, r9, lsl #1\n\t"                                            \
    "str r11, [sp, #80]\n\t"                                                  \
    "cmp lr, r12\n\t"                                                         \
    "blo 1b\n\t"
#define DSP_ASM_TILES_COL(W31, W16, LTILE, RQ8, TAIL, LNEXT)                                         \
    __asm__ __volatile__(                                                     \
        "0:\n\t"                                                              \
        DSP_ASM_TILE_PUSH_REC(W31, W16, "")                                   \
        "ldr lr, [sp, #112]\n\t"                                              \
        LTILE                                                                 \
        "1:\n\t"                                                              \
        "ldm sp, {r0-r9}\n\t"                                                 \
        "ldrd r10, r11, [lr], #(2 * %c[pb])\n\t"                              \
        "ldr r12, [lr, #(8 - 2 * %c[pb])]\n\t"                                \
        DSP_ASM_TILE_MACS8(DSP_ASM_TILE_LOAD_COL(-1),                         \
                           DSP_ASM_TILE_LOAD_COL(0), DSP_ASM_TILE_LOAD_COL(1))\
        RQ8 TAIL LNEXT                                                        \
        "ldr r2, [sp, #100]\n\t"                                              \
        "cmp r12, r2\n\t"                                                     \
        "beq 8f\n\t"                                                          \
        "ldrd r0, r1, [sp, #104]\n\t"                                         \
        "add lr, lr, r0\n\t"                                                  \
        "add r11, r11, r1\n\t"                                                \
        "add r12, r12, #8\n\t"                                                \
        "strd r11, r12, [sp, #80]\n\t"                                        \
        "b 1b\n\t"                                                            \
        "8:\n\t"                                                              \
        "ldr r12, [sp, #116]\n\t"                                             \
        "add sp, sp, #128\n\t"                                                \
        "cmp r12, #0\n\t"                                                     \
        "bne 0b"                                                              \
        : "+r"(rp)                                                            \
        : [pb] "i"(4 * DSP_DW_PLANE_PITCH)                                    \
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",  \
          "r11", "lr", "cc", "memory")
/* clang-format on */

/* Rows of six outputs (0.35@96's 6x6 layers: tiles of 2x4 do not divide them), DSP_RQ_DOUBLE2Z
 * at the fixed pitch: one output row of one channel per step in one asm loop over the
 * channels chained from rec by word 29 (dsp_dw3x3_tiles' records, pushed as there), the six
 * sums in r2..r7 (so the tiles' requantisation blocks serve them entered two outputs in: record
 * word 31 + 16), a kernel row's (W01, W21) in r0, r1, the plane row's words A..D (columns
 * 0..7) in r8..r11, the plane pointer in r12 (post-incremented a row by the first LDRD), y in
 * lr. The pushed record's words 0, 1 hold the first kernel row's weights (corr's copies there
 * are not needed), so one LDM starts a row: per row 8 LDRD, 36 multiplies, 15 instructions of
 * requantisation and 10 of stores for 6 outputs (the quads: 2 x 7 loads, 48 multiplies, 12 + 9
 * for 4 x 2). Record word 24 is the plane pointer past the last row (dsp_dw3x3_quads4). */
/* clang-format off */
#define DSP_ASM_ROW6_MUL                                   \
    "smlad r2, r8, r0, r2\n\t"                              \
    "smlabb r2, r9, r1, r2\n\t"                             \
    "smlatb r3, r8, r0, r3\n\t"                             \
    "smladx r3, r9, r1, r3\n\t"                             \
    "smlad r4, r9, r0, r4\n\t"                              \
    "smlabb r4, r10, r1, r4\n\t"                            \
    "smlatb r5, r9, r0, r5\n\t"                             \
    "smladx r5, r10, r1, r5\n\t"                            \
    "smlad r6, r10, r0, r6\n\t"                             \
    "smlabb r6, r11, r1, r6\n\t"                            \
    "smlatb r7, r10, r0, r7\n\t"                            \
    "smladx r7, r11, r1, r7\n\t"
/* clang-format on */
static __attribute__((noinline)) void dsp_dw3x3_rows6(const uint32_t *rec) {
    register const uint32_t *rp __asm__("r12") = rec;
    __asm__ __volatile__(
        "0:\n\t"
        /* the block's entry at r2; words 0, 1 = the first kernel row's weights */
        DSP_ASM_TILE_PUSH_REC("add r10, r10, #16\n\t", "", "mov r0, r8\n\tmov r1, r9\n\t")
            DSP_ASM_TILE_PRO_E
        "ldr r12, [sp, #112]\n\t"
        "ldr lr, [sp, #92]\n\t"
        "1:\n\t"
        "ldm sp, {r0-r7}\n\t"
        "ldrd r8, r9, [r12], #%c[pb]\n\t"
        "ldrd r10, r11, [r12, #(8 - %c[pb])]\n\t" DSP_ASM_ROW6_MUL
        "ldrd r0, r1, [sp, #40]\n\t"
        "ldrd r8, r9, [r12]\n\t"
        "ldrd r10, r11, [r12, #8]\n\t" DSP_ASM_ROW6_MUL
        "ldrd r0, r1, [sp, #48]\n\t"
        "ldrd r8, r9, [r12, #%c[pb]]\n\t"
        "ldrd r10, r11, [r12, #(%c[pb] + 8)]\n\t" DSP_ASM_ROW6_MUL DSP_ASM_TILE_RQ8_E
        "ldr r0, [sp, #68]\n\t"
        "strb r2, [lr]\n\t"
        "strb r3, [lr, r0]\n\t"
        "add lr, lr, r0, lsl #1\n\t"
        "strb r4, [lr]\n\t"
        "strb r5, [lr, r0]\n\t"
        "add lr, lr, r0, lsl #1\n\t"
        "strb r6, [lr]\n\t"
        "strb r7, [lr, r0]\n\t"
        "add lr, lr, r0, lsl #1\n\t"
        "ldr r1, [sp, #96]\n\t"
        "cmp r12, r1\n\t"
        "blo 1b\n\t"
        "ldr r12, [sp, #116]\n\t"
        "add sp, sp, #128\n\t"
        "cmp r12, #0\n\t"
        "bne 0b"
        : "+r"(rp)
        : [pb] "i"(4 * DSP_DW_PLANE_PITCH)
        : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "lr", "cc",
          "memory");
}

/* Plane pitches (words) of the image's own for rows of 24 and 48 outputs (0.35@96's
 * stride-1 layers at 24x24 and 48x48, in bands), whose tiles are written out for
 * DSP_RQ_DOUBLE2Z alone (the layers behind a ReLU; 1.7 KB of code each). */
#define DSP_DW_TILE_PITCH_24 14
#define DSP_DW_TILE_PITCH_48 26

/* Whether dsp_dw3x3_tiles has a loop for plane pitch pww (words) and form. */
CNNC_INLINE int dsp_dw3x3_tiles_fit(int32_t pww, int32_t form) {
    return pww == DSP_DW_PLANE_PITCH ||
           ((pww == DSP_DW_TILE_PITCH_24 || pww == DSP_DW_TILE_PITCH_48) &&
            form == DSP_RQ_DOUBLE2Z);
}

/* Whether dsp_dw3x3_tiles runs down the columns (DSP_ASM_TILES_COL) for p at plane pitch pww. */
CNNC_INLINE int dsp_dw3x3_tiles_col(const cnnc_s8_conv_params *p, int32_t pww) {
    return pww == DSP_DW_PLANE_PITCH && (p->out_h & 1) == 0 && (p->out_h >> 1) > (p->out_w >> 2);
}

/* The whole tiles of the channels whose records are chained from rec by word 29, planes
 * pww words a row (dsp_dw3x3_tiles_fit); down the columns where col (dsp_dw3x3_tiles_col).
 * Its one caller (dsp_dw3x3_planar_groups) and it are never cloned (DSP_NOCLONE): the column
 * loop's labels, which dsp_dw_tile_rq's blocks jump to, must be defined once. */
static DSP_NOCLONE void dsp_dw3x3_tiles(const uint32_t *rec, int32_t form, int32_t pww, int col) {
    register const uint32_t *rp __asm__("r12") = rec;
    if (col && form == DSP_RQ_DOUBLE2Z) /* the columns' blocks: no return point, no tail */
        /* the pushed word 16 (e, not needed there) the block's address: m, c and the jump by
         * one LDM from sp + 56, which leaves r12 at word 17 for the block's LDM of 17..21 */
        DSP_ASM_TILES_COL("add r12, r10, #" DSP_DW_STR(DSP_DW_TILE_RQ_COL) "\n\t",
                          "mov r6, r12\n\t", ".Ldsp_dw_tiles_col_z_tile:\n\t",
                          "add r12, sp, #56\n\tldm r12!, {r8, r9, pc}\n\t", "",
                          ".Ldsp_dw_tiles_col_z_next:\n\t");
    else if (col && form == DSP_RQ_DOUBLE2)
        DSP_ASM_TILES_COL("", "", "", DSP_ASM_TILE_RQ8(DSP_ASM_TILE_RQ_DOUBLE2),
                          DSP_ASM_TILES_COL_TAIL, "");
    else if (col && form == DSP_RQ_DOUBLE)
        DSP_ASM_TILES_COL("", "", "", DSP_ASM_TILE_RQ8(DSP_ASM_TILE_RQ_DOUBLE),
                          DSP_ASM_TILES_COL_TAIL, "");
    else if (col)
        DSP_ASM_TILES_COL("", "", "", DSP_ASM_TILE_RQ8(DSP_ASM_TILE_RQ_SINGLE),
                          DSP_ASM_TILES_COL_TAIL, "");
    else if (pww == DSP_DW_TILE_PITCH_24)
        DSP_ASM_TILES(DSP_ASM_TILE_PRO_E, DSP_ASM_TILE_PRO1_E, DSP_ASM_TILE_RQ8_E,
                      DSP_DW_TILE_PITCH_24);
    else if (pww == DSP_DW_TILE_PITCH_48)
        DSP_ASM_TILES(DSP_ASM_TILE_PRO_E, DSP_ASM_TILE_PRO1_E, DSP_ASM_TILE_RQ8_E,
                      DSP_DW_TILE_PITCH_48);
    else if (form == DSP_RQ_DOUBLE2Z)
        DSP_ASM_TILES(DSP_ASM_TILE_PRO_E, DSP_ASM_TILE_PRO1_E, DSP_ASM_TILE_RQ8_E,
                      DSP_DW_PLANE_PITCH);
    else if (form == DSP_RQ_DOUBLE2)
        DSP_ASM_TILES("", "", DSP_ASM_TILE_RQ8(DSP_ASM_TILE_RQ_DOUBLE2), DSP_DW_PLANE_PITCH);
    else if (form == DSP_RQ_DOUBLE)
        DSP_ASM_TILES("", "", DSP_ASM_TILE_RQ8(DSP_ASM_TILE_RQ_DOUBLE), DSP_DW_PLANE_PITCH);
    else
        DSP_ASM_TILES("", "", DSP_ASM_TILE_RQ8(DSP_ASM_TILE_RQ_SINGLE), DSP_DW_PLANE_PITCH);
}
#endif

#if DSP_DW_FAST
/* The record words of dsp_dw3x3_tiles that do not change from group to group (all but
 * y, word 20), for the channel of plane pj (pww words a row), next the next channel's
 * record or 0; the row pairs of an odd out_h stop before its last row. Words 19 and 21
 * only in calls with tiles (dsp_dw3x3_planar_groups' test): the quads' words 15 and 17
 * there (at the quads' pitch every form has tiles), rows6's chain (28, 29) in any call. */
CNNC_INLINE void dsp_dw3x3_tile_steps(const cnnc_s8_conv_params *p, uint32_t *rec,
                                      const uint32_t *pj, const uint32_t *next, int32_t pww) {
    const int32_t tiles = p->out_w >> 2, y_row = p->out_w * p->c, end = 2 * tiles;
    if (p->out_h >= 2 && (p->out_w & 3) == 0) {
        rec[19] = (uint32_t)(3 * p->c);
        rec[21] = (uint32_t)(uintptr_t)(pj + end);
    }
    /* the odd last row: the one-row loop after the row pairs */
    rec[22] = (uint32_t)(p->out_h & 1);
    rec[25] = (uint32_t)(uintptr_t)(pj + ((p->out_h & ~1) - 2) * pww + end);
    rec[26] = (uint32_t)(4 * 2 * pww - 8 * tiles);
    rec[27] = (uint32_t)(2 * y_row - 4 * tiles * p->c);
    rec[28] = (uint32_t)(uintptr_t)pj;
    rec[29] = (uint32_t)(uintptr_t)next;
    if (dsp_dw3x3_tiles_col(p, pww)) { /* down the columns of out_h / 2 tiles */
        const int32_t pairs = p->out_h >> 1;
        rec[21] = (uint32_t)(uintptr_t)(pj + pairs * 2 * pww);
        rec[25] = (uint32_t)(uintptr_t)(pj + pairs * 2 * pww + end - 2);
        rec[26] = (uint32_t)(8 - 8 * pairs * pww);
        rec[27] = (uint32_t)(4 * p->c - 2 * pairs * y_row);
    }
}

/* The whole quads of a group's four channels (dsp_dw3x3_rows4 at the fixed pitch, even
 * out_h and out_w) straight from here: the rows' call, form dispatch and tail checks per
 * channel cost ~100 instructions on 8 x 8 outputs. Not inlined: inside
 * dsp_dw3x3_planar gcc -O3 could not allocate the quads' asm (13 registers). */
static __attribute__((noinline)) void dsp_dw3x3_quads4(const cnnc_s8_conv_params *p,
                                                       const uint32_t *plane, int32_t psz,
                                                       int32_t pww, uint32_t (*rec)[DSP_DW_TREC],
                                                       int8_t *y, int32_t form) {
    int32_t j;
    uint32_t *quad[4];
    if (form == DSP_RQ_DOUBLE2Z && p->out_w == 6) { /* y and the plane's end per channel */
        const uint32_t end = (uint32_t)(uintptr_t)(plane + p->out_h * pww),
                       step = 4u * (uint32_t)psz;
        rec[0][23] = (uint32_t)(uintptr_t)y, rec[1][23] = (uint32_t)(uintptr_t)(y + 1);
        rec[2][23] = (uint32_t)(uintptr_t)(y + 2), rec[3][23] = (uint32_t)(uintptr_t)(y + 3);
        rec[0][24] = end, rec[1][24] = end + step, rec[2][24] = end + 2 * step;
        rec[3][24] = end + 3 * step;
        dsp_dw3x3_rows6(rec[0]);
        return;
    }
    for (j = 0; j < 4; ++j) quad[j] = rec[j] + 4;
    const int32_t half = p->out_w >> 1, stop = (p->out_h - 2) * pww + half;
    for (j = 0; j < 4; ++j) quad[j][17] = (uint32_t)(uintptr_t)(plane + j * psz + stop);
    if (form == DSP_RQ_DOUBLE2Z)
        for (j = 0; j < 4; ++j)
            dsp_dw3x3_quads_fixed(plane + j * psz, plane + j * psz + half, quad[j], y + j,
                                  DSP_RQ_DOUBLE2Z);
    else if (form == DSP_RQ_DOUBLE2)
        for (j = 0; j < 4; ++j)
            dsp_dw3x3_quads_fixed(plane + j * psz, plane + j * psz + half, quad[j], y + j,
                                  DSP_RQ_DOUBLE2);
    else if (form == DSP_RQ_DOUBLE)
        for (j = 0; j < 4; ++j)
            dsp_dw3x3_quads_fixed(plane + j * psz, plane + j * psz + half, quad[j], y + j,
                                  DSP_RQ_DOUBLE);
    else
        for (j = 0; j < 4; ++j)
            dsp_dw3x3_quads_fixed(plane + j * psz, plane + j * psz + half, quad[j], y + j,
                                  DSP_RQ_SINGLE);
}

/* dsp_dw3x3_rows for the four channels of a group (planes psz words apart, records
 * rec[j] (the quads' at rec[j] + 4), outputs y + j) in one call: the fixed-pitch layers
 * of many channels paid the call and its set-up per channel. */
static void dsp_dw3x3_rows4(const cnnc_s8_conv_params *p, const uint32_t *plane, int32_t psz,
                            int32_t pww, uint32_t (*rec)[DSP_DW_TREC], int8_t *y, int32_t form) {
    int32_t j;
    /* (the whole tiles, dsp_dw3x3_tiles, are the caller's: dsp_dw3x3_planar_groups) */
    if (pww == DSP_DW_PLANE_PITCH && (p->out_h & 1) == 0 && (p->out_w & 1) == 0) {
        dsp_dw3x3_quads4(p, plane, psz, pww, rec, y, form);
        return;
    }
    for (j = 0; j < 4; ++j) dsp_dw3x3_rows(p, plane + j * psz, pww, rec[j] + 4, y + j, form);
}
#endif

/* One channel's outputs (channel c of image b): y at stride c_step per pixel; wt[3][2]
 * the rows' (W01, W21). */
DSP_ALWAYS_INLINE void dsp_dw3x3_channel(const cnnc_s8_conv_params *p, const uint32_t *plane,
                                         int32_t pww, const uint32_t *wt, int32_t corr,
                                         const dsp_rq *rq, const dsp_out *out, int8_t *y,
                                         int32_t form, int full) {
    const int32_t c_step = p->c, last = p->out_w - 1;
    const int32_t wa0 = (int32_t)wt[0], wa1 = (int32_t)wt[2], wa2 = (int32_t)wt[4];
    const int32_t wb0 = (int32_t)wt[1], wb1 = (int32_t)wt[3], wb2 = (int32_t)wt[5];
    int32_t oy, ox;
    if (DSP_DW_FAST && full && form != DSP_RQ_SLOW) {
        uint32_t quad[18]; /* dsp_dw3x3_rows' record */
        quad[0] = quad[1] = quad[2] = quad[3] = (uint32_t)corr;
        CNNC_COPY(quad + 4, wt, 6 * sizeof *wt);
        quad[10] = (uint32_t)rq->m, quad[11] = (uint32_t)rq->c, quad[12] = (uint32_t)rq->e;
        dsp_dw3x3_rec_steps(p, quad);
        dsp_dw3x3_rows(p, plane, pww, quad, y,
                       form == DSP_RQ_DOUBLE2 && out->zero_point == -128 ? DSP_RQ_DOUBLE2Z : form);
        return;
    }
    for (oy = 0; oy < p->out_h; ++oy) {
        const uint32_t *r0 = plane + (size_t)oy * p->stride_h * pww;
        int8_t *yp = y + (size_t)oy * p->out_w * c_step;
        for (ox = 0; ox <= last; ox += 2, yp += 2 * (size_t)c_step) {
            int32_t a0, a1;
            const uint32_t *r = r0 + (ox >> 1);
            uint32_t xa, xb;
            DSP_LOAD2W(r, 0, xa, xb);
            a0 = __smlabb((int32_t)xb, wb0, __smlad((int32_t)xa, wa0, corr));
            a1 = __smladx((int32_t)xb, wb0, __smlatb((int32_t)xa, wa0, corr));
            r += pww;
            DSP_LOAD2W(r, 0, xa, xb);
            a0 = __smlabb((int32_t)xb, wb1, __smlad((int32_t)xa, wa1, a0));
            a1 = __smladx((int32_t)xb, wb1, __smlatb((int32_t)xa, wa1, a1));
            r += pww;
            DSP_LOAD2W(r, 0, xa, xb);
            a0 = __smlabb((int32_t)xb, wb2, __smlad((int32_t)xa, wa2, a0));
            a1 = __smladx((int32_t)xb, wb2, __smlatb((int32_t)xa, wa2, a1));
            yp[0] = dsp_requant_as(a0, rq, out, form, full);
            if (ox < last) yp[c_step] = dsp_requant_as(a1, rq, out, form, full);
        }
    }
}

/* Channels c0..c0+3 of image b (xb: its first byte) widened as x - zp into planes 0..3
 * (psz words apart): per plane word the column pair (2j, 2j+1), that is inputs
 * ix = 2j - pad_left and ix + 1; one word load per pixel gives the four channels, SXTAB16
 * onto nzp = (-zp, -zp) splits them into lanes (c0, c0+2) and (c0+1, c0+3) (|x - zp| <=
 * 255: exact in int16), PKHBT/PKHTB pair the two pixels per channel. Columns outside the
 * image keep the plane's padding (0) except in a pair that straddles the image's edge,
 * which takes 0 there. */
static void dsp_dw_widen4(const cnnc_s8_conv_params *p, const int8_t *xb, uint32_t *plane,
                          int32_t psz, int32_t pww, uint32_t nzp) {
    const int32_t c_step = p->c, first = p->pad_left & 1, pairs = (p->w - first) >> 1,
                  last = (p->w - first) & 1;
    const uint32_t pe = 0, po = 0; /* the padding's lanes: x - zp = 0 */
    const size_t row = (size_t)p->w * c_step;
    const int8_t *xr = xb, *const x_end = xb + (size_t)p->h * row;
    uint32_t *dst_row = plane + (size_t)p->pad_top * pww + p->pad_left / 2;
    /* planes 1..3 as byte offsets from plane 0's word: the pairs' register-offset stores
     * (asm: gcc's C form keeps a pointer per plane, set up again per row) */
    const size_t o1 = 4 * (size_t)psz, o2 = 8 * (size_t)psz, o3 = 12 * (size_t)psz;
#if DSP_DW_FAST
    if (first && last && pairs > 0) { /* odd padding, even width: the image in one asm */
        /* per row: d from its first word to d_end past the pairs (the last pixel's word),
         * then both a plane row on (xp is already at the next input row) */
        uint32_t *d = dst_row;
        uint32_t *d_end = d + 1 + pairs;
        const int8_t *xp = xr;
        const int32_t d_step = 4 * (pww - 1 - pairs), pitch = 4 * pww; /* bytes */
        uint32_t va, vb, ea, oa;
        __asm__ __volatile__(
            "2:\n\t"
            /* pixel 0 after a padding column: (0, x - zp) per channel (the padding's 0
             * by the shifts: no register holds it) */
            "ldr %[va], [%[xp]]\n\t"
            "add %[xp], %[xp], %[cs]\n\t"
            "sxtab16 %[ea], %[nz], %[va]\n\t"
            "sxtab16 %[oa], %[nz], %[va], ror #8\n\t"
            "lsl %[vb], %[ea], #16\n\t"
            "str %[vb], [%[d]]\n\t"
            "lsl %[vb], %[oa], #16\n\t"
            "str %[vb], [%[d], %[o1]]\n\t"
            "lsr %[vb], %[ea], #16\n\t"
            "lsl %[vb], %[vb], #16\n\t"
            "str %[vb], [%[d], %[o1], lsl #1]\n\t"
            "lsr %[vb], %[oa], #16\n\t"
            "lsl %[vb], %[vb], #16\n\t"
            "str %[vb], [%[d], %[o3]]\n\t"
            "add %[d], %[d], #4\n\t" DSP_DW_WIDEN_PAIRS
            "\n\t"
            /* the last pixel before a padding column: (x - zp, 0) */
            "ldr %[va], [%[xp]]\n\t"
            "add %[xp], %[xp], %[cs]\n\t"
            "sxtab16 %[ea], %[nz], %[va]\n\t"
            "sxtab16 %[oa], %[nz], %[va], ror #8\n\t"
            "uxth %[vb], %[ea]\n\t"
            "str %[vb], [%[d]]\n\t"
            "uxth %[vb], %[oa]\n\t"
            "str %[vb], [%[d], %[o1]]\n\t"
            "lsr %[vb], %[ea], #16\n\t"
            "str %[vb], [%[d], %[o1], lsl #1]\n\t"
            "lsr %[vb], %[oa], #16\n\t"
            "str %[vb], [%[d], %[o3]]\n\t"
            "add %[d], %[d], %[ds]\n\t"
            "add %[d_end], %[d_end], %[pitch]\n\t"
            "cmp %[xp], %[x_end]\n\t"
            "bne 2b"
            : [va] "=&r"(va), [vb] "=&r"(vb), [ea] "=&r"(ea), [oa] "=&r"(oa), [d] "+&r"(d),
              [xp] "+&r"(xp), [d_end] "+&r"(d_end)
            : [cs] "r"(c_step), [o1] "r"(o1), [o3] "r"(o3), [nz] "r"(nzp), [x_end] "r"(x_end),
              [ds] "r"(d_step), [pitch] "r"(pitch)
            : "cc", "memory");
        (void)po, (void)o2;
        return;
    }
#endif
    for (; xr < x_end; xr += row, dst_row += pww) {
        uint32_t *d = dst_row;
        const int8_t *xp = xr;
        int32_t j;
        if (first) { /* column 2 j0 is padding, 2 j0 + 1 is pixel 0 */
            const uint32_t v = dsp_load4(xp);
            const uint32_t e = dsp_even_add(nzp, v), o = dsp_odd_add(nzp, v);
            d[0] = dsp_pkhbt(pe, e), d[psz] = dsp_pkhbt(po, o);
            d[2 * psz] = dsp_pkhtb(e, pe), d[3 * psz] = dsp_pkhtb(o, po);
            ++d, xp += c_step;
        }
#if DSP_DW_FAST
        if (pairs > 0) { /* the pairs in one asm loop (gcc's kept a counter and spilled) */
            uint32_t *const d_end = d + pairs;
            uint32_t va, vb, ea, oa;
            (void)j, (void)o2; /* the C loop's */
            __asm__ __volatile__(
                DSP_DW_WIDEN_PAIRS
                : [va] "=&r"(va), [vb] "=&r"(vb), [ea] "=&r"(ea), [oa] "=&r"(oa), [d] "+&r"(d),
                  [xp] "+&r"(xp)
                : [d_end] "r"(d_end), [cs] "r"(c_step), [o1] "r"(o1), [o3] "r"(o3), [nz] "r"(nzp)
                : "cc", "memory");
        }
#else
        for (j = 0; j < pairs; ++j, xp += 2 * c_step) { /* plane words j of the pair */
            const uint32_t va = dsp_load4(xp), vb = dsp_load4(xp + c_step);
            const uint32_t ea = dsp_even_add(nzp, va), oa = dsp_odd_add(nzp, va);
            const uint32_t eb = dsp_even_add(nzp, vb), ob = dsp_odd_add(nzp, vb);
            __asm__ __volatile__(
                "str %[v1], [%[d], %[o1]]\n\t"
                "str %[v2], [%[d], %[o2]]\n\t"
                "str %[v3], [%[d], %[o3]]\n\t"
                "str %[v0], [%[d]], #4"
                : [d] "+r"(d)
                : [v0] "r"(dsp_pkhbt(ea, eb)), [v1] "r"(dsp_pkhbt(oa, ob)),
                  [v2] "r"(dsp_pkhtb(eb, ea)), [v3] "r"(dsp_pkhtb(ob, oa)), [o1] "r"(o1),
                  [o2] "r"(o2), [o3] "r"(o3)
                : "memory");
        }
#endif
        if (last) { /* the last pixel alone */
            const uint32_t v = dsp_load4(xp);
            const uint32_t e = dsp_even_add(nzp, v), o = dsp_odd_add(nzp, v);
            d[0] = dsp_pkhbt(e, pe), d[psz] = dsp_pkhbt(o, po);
            d[2 * psz] = dsp_pkhtb(pe, e), d[3 * psz] = dsp_pkhtb(po, o);
        }
    }
}

#if DSP_DW_FAST
/* dsp_dw_widen4's one-asm form (odd padding, even width) with its per-call words set once
 * a call (dsp_dw_widen4_set) and loaded by one LDM per group: its entry computed them
 * again per group (about 45 instructions, and a call of six arguments). Word layout: d
 * (the first pixel's plane word), d_end (one past the row's pairs), c_step, o1, o3
 * (planes 1, 3 as byte offsets), nzp, d_step and pitch (bytes, as dsp_dw_widen4), then
 * the image's bytes (h w c_step) and 1 where the form applies (2..7 for 3, 5, 7, 11, 23, 2
 * pairs a row: dsp_dw_widen4_k's written-out rows). */
#define DSP_DW_WCTX_OK 9
static void dsp_dw_widen4_set(const cnnc_s8_conv_params *p, uint32_t *plane, int32_t psz,
                              int32_t pww, uint32_t nzp, uint32_t *k) {
    const int32_t first = p->pad_left & 1, pairs = (p->w - first) >> 1, last = (p->w - first) & 1;
    uint32_t *const d = plane + (size_t)p->pad_top * pww + p->pad_left / 2;
    /* d and d_step 2 bytes on: the first pixel's high lanes (dsp_dw_widen4_k) */
    k[0] = (uint32_t)(uintptr_t)d + 2u, k[1] = (uint32_t)(uintptr_t)(d + 1 + pairs);
    k[2] = (uint32_t)p->c, k[3] = 4u * (uint32_t)psz, k[4] = 12u * (uint32_t)psz, k[5] = nzp;
    k[6] = 4u * (uint32_t)(pww - 1 - pairs) + 2u, k[7] = 4u * (uint32_t)pww;
    k[8] = (uint32_t)p->h * (uint32_t)p->w * (uint32_t)p->c;
    /* dsp_dw_widen4_k's written-out rows: 2..7 */
    k[DSP_DW_WCTX_OK] = !(first && last && pairs > 0) ? 0u
                        : pairs == 3                  ? 2u
                        : pairs == 5                  ? 3u
                        : pairs == 7                  ? 4u
                        : pairs == 11                 ? 5u
                        : pairs == 23                 ? 6u
                        : pairs == 2                  ? 7u
                                                      : 1u;
}

/* Channels c0..c0+3 from xb into the planes as dsp_dw_widen4's one-asm form, its words
 * from k (dsp_dw_widen4_set) in r4..r11 (d, d_end, cs, o1, o3, nz, ds, pitch), x_end in
 * r0 (k's register once read), the pixels' words in r2, r3, r12, lr: a row's first pixel,
 * one pair (as DSP_DW_WIDEN_PAIRS), the last pixel. The single pixels store their own
 * lanes alone (STRH), the straddling words' padding lanes being the zeros of
 * dsp_dw_plane_border (written once a call, never by the groups): r4 comes to a row 2 bytes
 * into its first word (k's d and d_step are 2 on: dsp_dw_widen4_set), so that the first
 * pixel's high lanes are at r4's offsets and its last STRH steps r4 to the pairs' word;
 * 4 instructions a row less than whole words (LSL, BFC; UXTH). */
/* clang-format off */
#define DSP_ASM_WK_FIRST_BODY \
    "sxtab16 r12, r9, r2\n\t"                     \
    "sxtab16 lr, r9, r2, ror #8\n\t"              \
    "strh lr, [r4, r7]\n\t"                       \
    "lsr r3, r12, #16\n\t"                        \
    "strh r3, [r4, r7, lsl #1]\n\t"               \
    "lsr r3, lr, #16\n\t"                         \
    "strh r3, [r4, r8]\n\t"                       \
    "strh r12, [r4], #2\n\t"
#define DSP_ASM_WK_PAIR_BODY \
    "pkhbt r12, r2, r3, lsl #16\n\t"              \
    "pkhtb lr, r3, r2, asr #16\n\t"               \
    "sxtab16 r2, r9, r12, ror #8\n\t"             \
    "str r2, [r4, r7]\n\t"                        \
    "sxtab16 r3, r9, lr\n\t"                      \
    "str r3, [r4, r7, lsl #1]\n\t"                \
    "sxtab16 lr, r9, lr, ror #8\n\t"              \
    "str lr, [r4, r8]\n\t"                        \
    "sxtab16 r12, r9, r12\n\t"                    \
    "str r12, [r4], #4\n\t"
#define DSP_ASM_WK_LAST_BODY \
    "sxtab16 r12, r9, r2\n\t"                     \
    "sxtab16 lr, r9, r2, ror #8\n\t"              \
    "strh r12, [r4]\n\t"                          \
    "strh lr, [r4, r7]\n\t"                       \
    "lsr r3, r12, #16\n\t"                        \
    "str r3, [r4, r7, lsl #1]\n\t"                \
    "lsr r3, lr, #16\n\t"                         \
    "str r3, [r4, r8]\n\t"
#define DSP_ASM_WK_FIRST "ldr r2, [r1]\n\tadd r1, r1, r6\n\t" DSP_ASM_WK_FIRST_BODY
#define DSP_ASM_WK_PAIR \
    "ldr r2, [r1]\n\tldr r3, [r1, r6]\n\tadd r1, r1, r6, lsl #1\n\t" DSP_ASM_WK_PAIR_BODY
#define DSP_ASM_WK_LAST "ldr r2, [r1]\n\tadd r1, r1, r6\n\t" DSP_ASM_WK_LAST_BODY
/* The written-out rows' pixels at register offsets from r1 (r6 = cs, r5 = 3 cs, r11 = 5 cs
 * there: d_end and pitch are the loop's alone), so r1 steps once per six pixels, not per
 * pixel pair: DSP_ASM_WK_SIX the pixels 1..6 from r1, then r1 on by 6; _T1, _T3, _T5 a row's
 * last 1, 3, 5 pixels, then r1 on to the next row. */
#define DSP_ASM_WK_PAIR_AT(oa, ob) \
    "ldr r2, [r1" oa "]\n\tldr r3, [r1" ob "]\n\t" DSP_ASM_WK_PAIR_BODY
#define DSP_ASM_WK_LAST_AT(o) "ldr r2, [r1" o "]\n\t" DSP_ASM_WK_LAST_BODY
#define DSP_ASM_WK_SIX                                                        \
    DSP_ASM_WK_PAIR_AT(", r6", ", r6, lsl #1")                                \
    DSP_ASM_WK_PAIR_AT(", r5", ", r6, lsl #2")                                \
    DSP_ASM_WK_PAIR_AT(", r11", ", r5, lsl #1") "add r1, r1, r5, lsl #1\n\t"
#define DSP_ASM_WK_T1 DSP_ASM_WK_LAST_AT(", r6") "add r1, r1, r6, lsl #1\n\t"
#define DSP_ASM_WK_T3                                                         \
    DSP_ASM_WK_PAIR_AT(", r6", ", r6, lsl #1")                                \
    DSP_ASM_WK_LAST_AT(", r5") "add r1, r1, r6, lsl #2\n\t"
#define DSP_ASM_WK_T5                                                         \
    DSP_ASM_WK_PAIR_AT(", r6", ", r6, lsl #1")                                \
    DSP_ASM_WK_PAIR_AT(", r5", ", r6, lsl #2")                                \
    DSP_ASM_WK_LAST_AT(", r11") "add r1, r1, r5, lsl #1\n\t"
/* clang-format on */
static __attribute__((noinline)) void dsp_dw_widen4_k(const uint32_t *k, const int8_t *xb) {
    register const int8_t *xp __asm__("r1") = xb;
    register const uint32_t *kr __asm__("r0") = k;
    /* 3, 5, 7, 11, 23 or 2 pairs a row (8, 12, 16, 24, 48, 6 pixels: digits' and 0.35@96's
     * layers): written out, no pairs' loop */
#define DSP_ASM_WK_OUT(ROW)                                                                \
    __asm__ __volatile__(                                                                  \
        "ldr r2, [r0, #32]\n\t"                                                            \
        "ldmia r0, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"                                 \
        "add r0, r1, r2\n\t"                                                               \
        "add r5, r6, r6, lsl #1\n\t"                                                       \
        "add r11, r6, r6, lsl #2\n\t"                                                      \
        "2:\n\t"                                                                           \
        "ldr r2, [r1]\n\t" DSP_ASM_WK_FIRST_BODY ROW                                       \
        "add r4, r4, r10\n\t"                                                              \
        "cmp r1, r0\n\t"                                                                   \
        "bne 2b"                                                                           \
        : "+r"(xp), "+r"(kr)                                                               \
        :                                                                                  \
        : "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", \
          "memory")
    /* pixels 1..w-1 after the first: 6 n + 1, 3 or 5 */
    if (k[DSP_DW_WCTX_OK] == 2)
        DSP_ASM_WK_OUT(DSP_ASM_WK_SIX DSP_ASM_WK_T1);
    else if (k[DSP_DW_WCTX_OK] == 3)
        DSP_ASM_WK_OUT(DSP_ASM_WK_SIX DSP_ASM_WK_T5);
    else if (k[DSP_DW_WCTX_OK] == 4)
        DSP_ASM_WK_OUT(DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_T3);
    else if (k[DSP_DW_WCTX_OK] == 5)
        DSP_ASM_WK_OUT(DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_T5);
    else if (k[DSP_DW_WCTX_OK] == 7)
        DSP_ASM_WK_OUT(DSP_ASM_WK_T5);
    else if (k[DSP_DW_WCTX_OK] == 6)
        DSP_ASM_WK_OUT(DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_SIX
                           DSP_ASM_WK_SIX DSP_ASM_WK_SIX DSP_ASM_WK_T5);
    else
        __asm__ __volatile__(
            "ldr r2, [r0, #32]\n\t"
            "ldmia r0, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
            "add r0, r1, r2\n\t"
            "2:\n\t" DSP_ASM_WK_FIRST "1:\n\t" DSP_ASM_WK_PAIR
            "cmp r4, r5\n\t"
            "bne 1b\n\t" DSP_ASM_WK_LAST
            "add r4, r4, r10\n\t"
            "add r5, r5, r11\n\t"
            "cmp r1, r0\n\t"
            "bne 2b"
            : "+r"(xp), "+r"(kr)
            :
            : "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc",
              "memory");
}

/* Two words to at[0], at[1] (8-byte aligned: a record's word 8 + 2 ky) by one STRD; the
 * "m" operand keeps the offset from the record's base an immediate. */
DSP_ALWAYS_INLINE void dsp_dw3x3_group_wpair(uint32_t *at, uint32_t a, uint32_t b) {
    __asm__("strd %1, %2, %0" : "=m"(*(uint64_t *)at) : "r"(a), "r"(b));
}

/* One kernel row's weights of the group (ky: w = the row's first tap word) into records
 * words 8 + 2 ky, 9 + 2 ky: written out, so that every store's offset is an immediate. */
DSP_ALWAYS_INLINE void dsp_dw3x3_group_wrow(uint32_t (*rec)[DSP_DW_TREC], const int8_t *w,
                                            int32_t c_step, int32_t ky, int dbl) {
    const uint32_t v0 = dsp_load4(w), v1 = dsp_load4(w + c_step),
                   v2 = dsp_load4(w + 2 * (size_t)c_step);
    int32_t e0 = dsp_even(v0), o0 = dsp_odd(v0), e1 = dsp_even(v1), o1 = dsp_odd(v1),
            e2 = dsp_even(v2), o2 = dsp_odd(v2);
    if (dbl) { /* |2 w| <= 256 */
        e0 = __sadd16(e0, e0), o0 = __sadd16(o0, o0), e1 = __sadd16(e1, e1);
        o1 = __sadd16(o1, o1), e2 = __sadd16(e2, e2), o2 = __sadd16(o2, o2);
    }
    /* each channel's (W01, W21) by one STRD (gcc wrote two STR) */
    dsp_dw3x3_group_wpair(&rec[0][8 + 2 * ky], dsp_pkhbt((uint32_t)e0, (uint32_t)e1),
                          dsp_pkhbt((uint32_t)e2, (uint32_t)e1));
    dsp_dw3x3_group_wpair(&rec[1][8 + 2 * ky], dsp_pkhbt((uint32_t)o0, (uint32_t)o1),
                          dsp_pkhbt((uint32_t)o2, (uint32_t)o1));
    dsp_dw3x3_group_wpair(&rec[2][8 + 2 * ky], dsp_pkhtb((uint32_t)e1, (uint32_t)e0),
                          dsp_pkhtb((uint32_t)e1, (uint32_t)e2));
    dsp_dw3x3_group_wpair(&rec[3][8 + 2 * ky], dsp_pkhtb((uint32_t)o1, (uint32_t)o0),
                          dsp_pkhtb((uint32_t)o1, (uint32_t)o2));
}

/* A channel's sums' start (8 copies: corr) and its m, c, e (words 14..16) straight into
 * its record (dsp_dw_gq_one: no gq in between); 0 if it has no fast form. */
DSP_ALWAYS_INLINE int dsp_dw3x3_group_rq(uint32_t *rec, uint32_t corr, int32_t m, int32_t s,
                                         int dbl_round, int32_t zero_point) {
    /* the sums' start, 8 copies: four STRD (gcc wrote eight STR) */
    __asm__ __volatile__(
        "strd %1, %1, [%0]\n\t"
        "strd %1, %1, [%0, #8]\n\t"
        "strd %1, %1, [%0, #16]\n\t"
        "strd %1, %1, [%0, #24]"
        :
        : "r"(rec), "r"(corr)
        : "memory");
    /* dsp_dw3x3_tiles' block of e = -s (DSP_RQ_DOUBLE2Z's; unused by the other forms), its
     * Thumb bit set: 2 instructions here, not 6 per channel in the tiles' asm */
    rec[31] = (uint32_t)(uintptr_t)dsp_dw_tile_rq - (DSP_DW_TILE_RQ_BLOCK - 1) -
              (uint32_t)DSP_DW_TILE_RQ_BLOCK * (uint32_t)s;
    return dsp_dw_gq_one((int32_t *)rec + 16, (int32_t *)rec + 14, m, s, dbl_round, zero_point);
}

/* The dsp_dw3x3_rows records quad[j] of channels c0 + j, j < 4, in one pass over the
 * group's weight words (per kernel row three loads, SXTB16 into lanes (c0, c0+2) and
 * (c0+1, c0+3), PKHBT/PKHTB into (W01, W21) per channel) when all four have a fast form
 * under the full clamp; the sums start at the bias (the planes hold x - zp: no weight
 * sums; m, c, e straight from mult and shift); returns that form (DSP_RQ_DOUBLE2: weights and bias
 * doubled, where |bias| allows it as in dsp_dw3x3_groups), or DSP_RQ_SLOW. The records are rec[j]
 * (dsp_dw3x3_tiles' layout, the quads' from word 4: quad[j] = rec[j] + 4); words 17 on are the
 * caller's. Out of line: inlined, its values competed with the caller's loop for registers
 * (~20 instructions a group more, spilled and reloaded). */
DSP_ALWAYS_INLINE int32_t dsp_dw3x3_planar_group_k(const cnnc_s8_conv_params *p, const int8_t *w,
                                                   const int32_t *bias, const int32_t *mult,
                                                   const int32_t *shift,
                                                   uint32_t (*rec)[DSP_DW_TREC], int dbl,
                                                   int dbl_round) {
    const int32_t c_step = p->c, zp = p->y_zero_point;
    if (!(dsp_dw3x3_group_rq(rec[0], (uint32_t)bias[0] << dbl, mult[0], shift[0], dbl_round, zp) &&
          dsp_dw3x3_group_rq(rec[1], (uint32_t)bias[1] << dbl, mult[1], shift[1], dbl_round, zp) &&
          dsp_dw3x3_group_rq(rec[2], (uint32_t)bias[2] << dbl, mult[2], shift[2], dbl_round, zp) &&
          dsp_dw3x3_group_rq(rec[3], (uint32_t)bias[3] << dbl, mult[3], shift[3], dbl_round, zp)))
        return DSP_RQ_SLOW;
    dsp_dw3x3_group_wrow(rec, w, c_step, 0, dbl);
    dsp_dw3x3_group_wrow(rec, w + 3 * (size_t)c_step, c_step, 1, dbl);
    dsp_dw3x3_group_wrow(rec, w + 6 * (size_t)c_step, c_step, 2, dbl);
    return dbl ? DSP_RQ_DOUBLE2 : dbl_round ? DSP_RQ_DOUBLE : DSP_RQ_SINGLE;
}
/* A layer's parameters for dsp_dw3x3_planar_group: one pointer and the channel passed, so
 * that the caller's loop steps c alone (it kept and stepped a spilled pointer per array). */
typedef struct {
    const cnnc_s8_conv_params *p;
    const int8_t *w;
    const int32_t *bias, *mult, *shift;
} dsp_dw_gsrc;
static __attribute__((noinline)) int32_t dsp_dw3x3_planar_group(const dsp_dw_gsrc *g, int32_t c,
                                                                uint32_t (*rec)[DSP_DW_TREC]) {
    const cnnc_s8_conv_params *p = g->p;
    const int8_t *w = g->w + c;
    const int32_t *bias = g->bias + c, *mult = g->mult + c, *shift = g->shift + c;
    const int dbl_round = p->rounding == CNNC_ROUND_DOUBLE;
    /* |bias| < DSP_DW3_DOUBLE_BIAS for all four: one unsigned compare each */
    const uint32_t lim = 2u * (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u,
                   off = (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u;
    const int dbl = dbl_round && (uint32_t)bias[0] + off < lim && (uint32_t)bias[1] + off < lim &&
                    (uint32_t)bias[2] + off < lim && (uint32_t)bias[3] + off < lim;
    /* written out for the doubled sums (rounding known, no test a channel and a kernel row:
     * ~17 instructions a group) and the rest */
    return dbl ? dsp_dw3x3_planar_group_k(p, w, bias, mult, shift, rec, 1, 1)
               : dsp_dw3x3_planar_group_k(p, w, bias, mult, shift, rec, 0, dbl_round);
}
#endif

#if DSP_DW_FAST
/* The zeros of the four planes (psz words apart) outside the image: the rows above and
 * below it and the words beside its pixels that hold a padding column, as far as the
 * windows read (the fixed pitch's words past them are never read). The widening writes only the
 * interior (and the straddling words in full), so these zeros serve every group of the call: ~30%
 * of the planes' words at 8x8, not all of them. */
/* Words [d, end) of the four planes (o1, o3: planes 1 and 3 as byte offsets) zeroed, in
 * asm: gcc's C form became calls of memset per range and plane. */
CNNC_INLINE void dsp_dw_zero4(uint32_t *d, const uint32_t *end, size_t o1, size_t o3) {
    const uint32_t z = 0;
    if (d < end)
        __asm__ __volatile__(
            "1:\n\t"
            "str %[z], [%[d], %[o1]]\n\t"
            "str %[z], [%[d], %[o1], lsl #1]\n\t"
            "str %[z], [%[d], %[o3]]\n\t"
            "str %[z], [%[d]], #4\n\t"
            "cmp %[d], %[end]\n\t"
            "blo 1b"
            : [d] "+&r"(d)
            : [end] "r"(end), [o1] "r"(o1), [o3] "r"(o3), [z] "r"(z)
            : "cc", "memory");
}

static void dsp_dw_plane_border(const cnnc_s8_conv_params *p, uint32_t *plane, int32_t ph,
                                int32_t pww, int32_t psz) {
    /* the last window pair (ox = out_w - 1 or - 2, even) reads words ox / 2 and ox / 2 + 1;
     * a tile's last word is that one too */
    const int32_t nw = ((p->out_w + 1) >> 1) + 1;
    const size_t o1 = 4 * (size_t)psz, o3 = 12 * (size_t)psz; /* planes 1, 3 (bytes) */
    const int32_t left = (p->pad_left + 1) >> 1, right = (p->pad_left + p->w) >> 1;
    const int32_t top = p->pad_top, bottom = p->pad_top + p->h;
    uint32_t *row = plane;
    int32_t r;
    for (r = 0; r < top; ++r, row += pww) dsp_dw_zero4(row, row + nw, o1, o3);
    if (left == 1 && right + 1 == nw && top < bottom) {
        /* one word each side (padding 1): the image's rows in one asm loop, 8 stores and 4
         * instructions a row, not two loops' calls (~26) */
        uint32_t *e = row + right;
        const uint32_t *const stop = row + (size_t)(bottom - top) * pww;
        const uint32_t z = 0;
        __asm__ __volatile__(
            "1:\n\t"
            "str %[z], [%[d], %[o1]]\n\t"
            "str %[z], [%[d], %[o1], lsl #1]\n\t"
            "str %[z], [%[d], %[o3]]\n\t"
            "str %[z], [%[d]]\n\t"
            "str %[z], [%[e], %[o1]]\n\t"
            "str %[z], [%[e], %[o1], lsl #1]\n\t"
            "str %[z], [%[e], %[o3]]\n\t"
            "str %[z], [%[e]]\n\t"
            "add %[d], %[d], %[rb]\n\t"
            "add %[e], %[e], %[rb]\n\t"
            "cmp %[d], %[stop]\n\t"
            "bne 1b"
            : [d] "+&r"(row), [e] "+&r"(e)
            : [stop] "r"(stop), [rb] "r"(4 * pww), [o1] "r"(o1), [o3] "r"(o3), [z] "r"(z)
            : "cc", "memory");
        r = bottom;
    }
    for (; r < bottom; ++r, row += pww) {
        dsp_dw_zero4(row, row + left, o1, o3);
        dsp_dw_zero4(row + right, row + nw, o1, o3);
    }
    for (; r < ph; ++r, row += pww) dsp_dw_zero4(row, row + nw, o1, o3);
}
#endif

#if DSP_DW_FAST
/* The groups of four channels from c0 on of image xb (outputs yb) while they have a fast
 * form under the full clamp (dsp_dw3x3_planar_group): records, widening, every output
 * (dsp_dw3x3_rows4); returns the first channel not done (a group without a fast form, or
 * c4). Out of line: the caller's loop, spilled, cost ~40 instructions a group. */
static __attribute__((noinline)) DSP_NOCLONE int32_t dsp_dw3x3_planar_groups(
    const cnnc_s8_conv_params *p, const int8_t *xb, const int8_t *w, const int32_t *bias,
    const int32_t *mult, const int32_t *shift, int8_t *yb, uint32_t *plane, int32_t psz,
    int32_t pww, uint32_t (*quad)[DSP_DW_TREC], const uint32_t *wk, uint32_t nzp, int32_t c0) {
    const int32_t c4 = p->c & ~3;
    const int zz = p->y_zero_point == -128, widen_k = wk[DSP_DW_WCTX_OK] != 0;
    /* dsp_dw3x3_rows4's geometry checks and the tiles' order, once a call */
    const int tiles = p->out_h >= 2 && (p->out_w & 3) == 0, col = dsp_dw3x3_tiles_col(p, pww);
    const dsp_dw_gsrc g = {p, w, bias, mult, shift};
    int32_t c;
    for (c = c0; c < c4; c += 4) {
        int32_t gform = dsp_dw3x3_planar_group(&g, c, quad);
        int8_t *const yc = yb + c;
        if (gform == DSP_RQ_SLOW) break;
        if (gform == DSP_RQ_DOUBLE2 && zz) gform = DSP_RQ_DOUBLE2Z; /* full clamp: no sign's term */
        if (widen_k)
            dsp_dw_widen4_k(wk, xb + c);
        else
            dsp_dw_widen4(p, xb + c, plane, psz, pww, nzp);
        if (tiles && dsp_dw3x3_tiles_fit(pww, gform)) {
            /* whole tiles (the other words set once per call), an odd last row by the
             * one-row loop after the row pairs (the bands of 0.35@96's 48x48 and 24x24
             * layers are 7 and 15 rows) */
            quad[0][20] = (uint32_t)(uintptr_t)yc, quad[1][20] = (uint32_t)(uintptr_t)(yc + 1);
            quad[2][20] = (uint32_t)(uintptr_t)(yc + 2),
            quad[3][20] = (uint32_t)(uintptr_t)(yc + 3);
            dsp_dw3x3_tiles(quad[0], gform, pww, col);
        } else {
            dsp_dw3x3_rows4(p, plane, psz, pww, quad, yc, gform);
        }
    }
    return c;
}
#endif

/* Every channel of every image through the planes; plane[4][ph * pw / 2] words. */
static DSP_DW_PLANAR_INLINE void dsp_dw3x3_planar(const cnnc_s8_conv_params *p, const int8_t *x,
                                                  const int8_t *w, const int32_t *bias,
                                                  const int32_t *mult, const int32_t *shift,
                                                  int8_t *y, uint32_t *plane, int32_t ph,
                                                  int32_t pw) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t pww = pw / 2, full = dsp_out_full(&out), psz = ph * pww, c4 = p->c & ~3;
    const size_t in_px = (size_t)p->h * p->w, out_px = (size_t)p->out_h * p->out_w;
    const uint32_t pad = 0, nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point); /* x - zp */
    int32_t i, b, c, iy, ix, ky;
#if DSP_DW_FAST
    dsp_dw_plane_border(p, plane, ph, pww, psz);
    (void)pad;
#else
    for (i = 0; i < 4 * psz; ++i) plane[i] = pad;
#endif
#if DSP_DW_FAST
    uint32_t quad[4][DSP_DW_TREC]; /* dsp_dw3x3_planar_group's records of a group */
    /* dsp_dw_gq_fast reads any other rounding as single */
    const int fast_rounding = p->rounding == CNNC_ROUND_SINGLE || p->rounding == CNNC_ROUND_DOUBLE;
    uint32_t wk[DSP_DW_WCTX_OK + 1]; /* dsp_dw_widen4_k's words */
    dsp_dw_widen4_set(p, plane, psz, pww, nzp, wk);
    for (i = 0; i < 4; ++i) { /* the layer's words */
        dsp_dw3x3_rec_steps(p, quad[i] + 4);
        dsp_dw3x3_tile_steps(p, quad[i], plane + i * psz, i < 3 ? quad[i + 1] : NULL, pww);
    }
#endif
    for (b = 0; b < p->n; ++b) {
        for (c = 0; c < p->c; ++c) {
            const int8_t *xc = x + (size_t)b * in_px * p->c + c;
            int8_t *yc = y + (size_t)b * out_px * p->c + c;
            const uint32_t *plane_c = plane;
            uint32_t wt[6];               /* per kernel row (W01, W21) */
            int32_t corr = bias[c], form; /* the planes hold x - zp: the sums start at bias */
            dsp_rq rq;
#if DSP_DW_FAST
            if (c < c4 && full && fast_rounding && (c & 3) == 0) { /* a run of groups */
                const int32_t done = dsp_dw3x3_planar_groups(
                    p, xc - c, w, bias, mult, shift, yc - c, plane, psz, pww, quad, wk, nzp, c);
                if (done > c) {
                    c = done - 1;
                    continue;
                }
            }
#endif
            for (ky = 0; ky < 3; ++ky) {
                const int32_t v0 = w[(ky * 3) * p->c + c], v1 = w[(ky * 3 + 1) * p->c + c],
                              v2 = w[(ky * 3 + 2) * p->c + c];
                wt[2 * ky] = dsp_pack16(v0, v1);
                wt[2 * ky + 1] = dsp_pack16(v2, v1);
            }
            form = dsp_rq_make(&rq, mult[c], shift[c], &out);
            if (DSP_DW_FAST &&
                form == DSP_RQ_DOUBLE) { /* doubled where |sum| < 2^30 (DSP_RQ_DOUBLE2) */
                /* |sum| <= |bias| + 9 * 255 * 128 (|x - zp| <= 255, |w| <= 128) */
                const int32_t limit = ((int32_t)1 << 30) - 9 * 255 * 128;
                if (bias[c] < limit && bias[c] > -limit) {
                    form = DSP_RQ_DOUBLE2;
                    corr = (int32_t)((uint32_t)corr * 2u);
                    for (ky = 0; ky < 6; ++ky)
                        wt[ky] = (uint32_t)__sadd16((int32_t)wt[ky], (int32_t)wt[ky]);
                }
            }
            if (c < c4) { /* a group of four, widened at its first channel */
                if ((c & 3) == 0) dsp_dw_widen4(p, xc, plane, psz, pww, nzp);
                plane_c = plane + (size_t)(c & 3) * psz;
            } else {
                for (iy = 0; iy < p->h; ++iy) {
                    const int32_t row = (iy + p->pad_top) * pw + p->pad_left;
                    const int8_t *xr = xc + (size_t)iy * p->w * p->c;
                    for (ix = 0; ix < p->w; ++ix)
                        dsp_dw_put16(plane, row + ix, xr[(size_t)ix * p->c] - p->x_zero_point);
                }
            }
#if defined(__OPTIMIZE_SIZE__)
            dsp_dw3x3_channel(p, plane_c, pww, wt, corr, &rq, &out, yc, form, full);
#else
            if (form == DSP_RQ_DOUBLE2 && full)
                dsp_dw3x3_channel(p, plane_c, pww, wt, corr, &rq, &out, yc, DSP_RQ_DOUBLE2, 1);
            else if (form == DSP_RQ_DOUBLE && full)
                dsp_dw3x3_channel(p, plane_c, pww, wt, corr, &rq, &out, yc, DSP_RQ_DOUBLE, 1);
            else if (form == DSP_RQ_DOUBLE)
                dsp_dw3x3_channel(p, plane_c, pww, wt, corr, &rq, &out, yc, DSP_RQ_DOUBLE, 0);
            else
                dsp_dw3x3_channel(p, plane_c, pww, wt, corr, &rq, &out, yc, form, full);
#endif
        }
    }
}

/* ---------------------------------------------------------------------------------
 * 3 x 3 layers whose padded image fits the buffer, with the full clamp and the single or
 * double rounding (dsp_dw3x3_groups): the four-channel windows of dsp_dw_padded with a
 * lighter set-up per group, which the layers of few outputs (4x4, 2x2 with 96-192
 * channels) pay once per four channels: the group's record (dsp_gq_fill's layout) comes
 * straight from mult and shift (dsp_dw_gq_fast; dsp_rq only for a group without a fast
 * form), the pixels are widened as x - zp (SXTAB16 onto (-zp, -zp): |x - zp| <= 255 fits
 * the int16 lanes) into a buffer whose padding holds zeros, so the sums start at the bias
 * (no weight sums, no corrected bias), the weights are widened (and doubled for
 * DSP_RQ_DOUBLE2) in one pass, and the windows run in asm in loops specialised by form:
 * rows DSP_DW_PITCH pixels apart (immediate offsets, padding rows skipped) where the image
 * fits them, else the image's own pitch (the rows' pointer stepped by a record word). */
#if DSP_DW_FAST
/* The h x w pixels from xb (w even, c_step bytes apart) into the interior of a buffer of
 * pitch pixels per row from br, as dsp_dw_widen_row_add: pairs of pixels, no rest. */
CNNC_INLINE void dsp_dw_widen_even(uint32_t *br, const int8_t *xb, int32_t h, int32_t w,
                                   int32_t c_step, uint32_t nzp, int32_t pitch) {
    const size_t row = (size_t)w * c_step, gap = 2 * (size_t)(pitch - w);
    const int8_t *const x_end = xb + (size_t)h * row;
    while (xb < x_end) {
        const int8_t *const r_end = xb + row;
        do {
            const uint32_t v0 = dsp_load4(xb), v1 = dsp_load4(xb + c_step);
            __asm__ __volatile__("strd %1, %2, [%0], #8\n\tstrd %3, %4, [%0], #8"
                                 : "+r"(br)
                                 : "r"(dsp_even_add(nzp, v0)), "r"(dsp_odd_add(nzp, v0)),
                                   "r"(dsp_even_add(nzp, v1)), "r"(dsp_odd_add(nzp, v1))
                                 : "memory");
            xb += 2 * c_step;
        } while (xb < r_end);
        br += gap;
    }
}

/* The weights of 9 taps from w (c_step bytes apart) widened into w4[9][2] (SXTB16), doubled
 * for dbl (SADD16: |2 w| <= 256). */
DSP_ALWAYS_INLINE void dsp_dw_widen_tap(uint32_t *w4, const int8_t *w, int dbl) {
    const uint32_t v = dsp_load4(w);
    int32_t e = dsp_even(v), o = dsp_odd(v);
    if (dbl) e = __sadd16(e, e), o = __sadd16(o, o);
    w4[0] = (uint32_t)e, w4[1] = (uint32_t)o;
}
DSP_ALWAYS_INLINE void dsp_dw_widen_taps9(uint32_t *w4, const int8_t *w, int32_t c_step, int dbl) {
    int32_t ky; /* three taps per step, written out (gcc keeps a loop of 9 otherwise) */
    for (ky = 0; ky < 3; ++ky, w += 3 * (size_t)c_step, w4 += 6) {
        dsp_dw_widen_tap(w4, w, dbl);
        dsp_dw_widen_tap(w4 + 2, w + c_step, dbl);
        dsp_dw_widen_tap(w4 + 4, w + 2 * (size_t)c_step, dbl);
    }
}

/* The windows of one output row (buffer row br, outputs yb, c_step apart) of one group, in
 * asm for form FORM. rec[36]: the biases, the widened weights w4[9][2], then the group
 * record's words 4..15 (e, m, c: dsp_gq_fill's layout), so one pointer walks the window's
 * LDMs in order (the accumulators, three kernel rows, the requantisation), and last the
 * steps to the next window, c_step - 4 (after the four stores) and the buffer's bytes,
 * which the requantisation's asm adds (registers the loop would spill). top (bottom):
 * the kernel's first (last) row lies in the padding (zeros) for every window of the row
 * and is skipped, its weights stepped over. */
DSP_ALWAYS_INLINE void dsp_dw3x3_row_windows(const uint32_t *br, const uint32_t *rec, int8_t *yb,
                                             int32_t out_w, int32_t form, int top, int bottom,
                                             int wide) {
    const uint32_t *const br_end = br + (size_t)out_w * rec[35] / 4;
    int8_t *y = yb; /* the requantisation's stores walk it, rec[34] steps it to the next */
    while (br < br_end) {
        register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
        register uint32_t xe __asm__("r4"), xo __asm__("r5");
        register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
        const uint32_t *rp = rec, *t;
        __asm__ __volatile__(
            "ldm %[gq]!, {%[a0], %[a1], %[a2], %[a3]}"
            : [a0] "=r"(a0), [a1] "=r"(a1), [a2] "=r"(a2), [a3] "=r"(a3), [gq] "+r"(rp)
            :
            : "memory");
#define DSP_DW_ROW_AT(ROW)                                                                 \
    __asm__ __volatile__(ROW                                                               \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [wp] "+r"(rp)                   \
                         : [xr] "r"(br)                                                    \
                         : "memory")
#define DSP_DW_STORE_REC(RQ) \
    __asm__ __volatile__(DSP_ASM_STORE4(RQ) "ldrd %[xe], %[xo], [%[gq]]\n\t"                   \
                                            "add %[y], %[y], %[xe]\n\t"                        \
                                            "add %[xr], %[xr], %[xo]"                          \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),       \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1),   \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [gq] "+r"(rp), [y] "+r"(y),       \
                           [xr] "+r"(br)                                                     \
                         :                                                                   \
                         : "memory")
/* wide: rows rec[36] bytes apart, the row pointer t (the row's first asm reads the pitch
 * at its offset from wp: rec + 10 words for the kernel's row 1, rec + 16 for row 2) */
#define DSP_DW_ROW_NEXT(ROW, OFF, T_IN)                                                    \
    __asm__ __volatile__("ldr %[xe], [%[wp], #" OFF                                        \
                         "]\n\t"                                                           \
                         "add %[t], %[" T_IN "], %[xe]\n\t" ROW                            \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [wp] "+r"(rp), [t] "+&r"(t)     \
                         : [br] "r"(br)                                                    \
                         : "memory")
        if (top)
            rp += 6;
        else
            DSP_DW_ROW_AT(DSP_ASM_DW_ROW3_AT("0", "8", "16"));
        if (wide) {
            t = br;
            DSP_DW_ROW_NEXT(DSP_ASM_DW_ROW3_T, "104", "br");
            if (bottom)
                rp += 6;
            else
                DSP_DW_ROW_NEXT(DSP_ASM_DW_ROW3_T, "80", "t");
        } else { /* rows DSP_DW_PITCH pixels apart: immediate offsets */
            DSP_DW_ROW_AT(DSP_ASM_DW_ROW3_AT("144", "152", "160"));
            if (bottom)
                rp += 6;
            else
                DSP_DW_ROW_AT(DSP_ASM_DW_ROW3_AT("288", "296", "304"));
        }
        if (form == DSP_RQ_DOUBLE2Z)
            DSP_DW_STORE_REC(DSP_ASM_RQ_DOUBLE2Z);
        else
            DSP_ASM_BY_FORM(form, DSP_DW_STORE_REC, DSP_ASM_RQ_);
#undef DSP_DW_ROW_AT
#undef DSP_DW_ROW_NEXT
#undef DSP_DW_STORE_REC
    }
}

/* Image b's windows of one group from the padded buffer (filled) for form FORM: the output
 * rows whose windows' first or last kernel row is padding skip it (for DSP_RQ_DOUBLE2, the
 * default rounding's form where a layer has 8 outputs or more, and DSP_RQ_DOUBLE2Z, the same
 * for output zero point -128 (s8_dsp.h); the others read the zeros: the copies would
 * outweigh the rows saved). */
DSP_ALWAYS_INLINE void dsp_dw3x3_windows(const cnnc_s8_conv_params *p, const uint32_t *buf,
                                         int32_t pitch, const uint32_t *rec, int8_t *yb,
                                         int32_t form) {
    const int32_t out_w = p->out_w;
    const size_t y_row = (size_t)out_w * p->c;
    int32_t oy, iy0 = -p->pad_top;
    if (pitch != DSP_DW_PITCH) { /* rows of any pitch (rec[36]): no rows skipped */
        const size_t stepy = 2 * (size_t)p->stride_h * pitch;
        for (oy = 0; oy < p->out_h; ++oy, buf += stepy, yb += y_row)
            dsp_dw3x3_row_windows(buf, rec, yb, out_w, form, 0, 0, 1);
        return;
    }
    for (oy = 0; oy < p->out_h; ++oy, iy0 += p->stride_h) {
        const int dbl2 = form == DSP_RQ_DOUBLE2 || form == DSP_RQ_DOUBLE2Z;
        if (dbl2 && iy0 < 0)
            dsp_dw3x3_row_windows(buf, rec, yb, out_w, form, 1, 0, 0);
        else if (dbl2 && iy0 + 2 >= p->h)
            dsp_dw3x3_row_windows(buf, rec, yb, out_w, form, 0, 1, 0);
        else
            dsp_dw3x3_row_windows(buf, rec, yb, out_w, form, 0, 0, 0);
        buf += 2 * (size_t)p->stride_h * DSP_DW_PITCH, yb += y_row;
    }
}

/* 3 x 3 layers on a 3 x 3 image at stride 1 and padding 1 (0.35@96's last stage, 336
 * channels), a fast form with the full clamp: one channel at a time, two taps an SMLAD.
 * Per image row the int16 pairs P01 = (x0, x1) and P12 = (x1, x2) of x - zp, per kernel
 * row W01 = (w0, w1) and W12 = (w1, w2) (both doubled for DSP_RQ_DOUBLE2); the padding
 * columns drop out of the three outputs of a row,
 *     out 0 = x0 w1 + x1 w2          = SMLAD(P01, W12)
 *     out 1 = x0 w0 + x1 w1 + x2 w2  = SMLAD(P01, W01) + SMLATT(P12, W12)
 *     out 2 = x1 w0 + x2 w1          = SMLAD(P12, W01)
 * and the padding rows are skipped: 28 multiplies for a channel's 49 image taps, where the
 * four-channel windows spend 63 taps of 4 SMLAxy per four channels (padding columns read).
 * Sums exact modulo 2^32 as in dsp_dw3x3_groups (the same bias bound for the doubling). */
#define DSP_DW_IMG3(p)                                                                         \
    ((p)->h == 3 && (p)->w == 3 && (p)->out_h == 3 && (p)->out_w == 3 && (p)->stride_h == 1 && \
     (p)->stride_w == 1 && (p)->pad_top == 1 && (p)->pad_left == 1)

/* One row's (or kernel row's) three words of four channels (SXTB16 lanes (c0, c0+2) in
 * e0..e2, (c0+1, c0+3) in o0..o2) as channel j's pairs (v01, v12) at pw[j][k], pw[j][k+1]. */
DSP_ALWAYS_INLINE void dsp_dw_img3_pairs(uint32_t (*pw)[6], int32_t k, uint32_t e0, uint32_t e1,
                                         uint32_t e2, uint32_t o0, uint32_t o1, uint32_t o2) {
    pw[0][k] = dsp_pkhbt(e0, e1), pw[0][k + 1] = dsp_pkhbt(e1, e2);
    pw[1][k] = dsp_pkhbt(o0, o1), pw[1][k + 1] = dsp_pkhbt(o1, o2);
    pw[2][k] = dsp_pkhtb(e1, e0), pw[2][k + 1] = dsp_pkhtb(e2, e1);
    pw[3][k] = dsp_pkhtb(o1, o0), pw[3][k + 1] = dsp_pkhtb(o2, o1);
}

/* The three words at v, v + step, v + 2 step widened (onto nzp: x - zp; 0: the weights),
 * doubled where dbl, into pw's pairs at k. */
DSP_ALWAYS_INLINE void dsp_dw_img3_row(uint32_t (*pw)[6], int32_t k, const int8_t *v, int32_t step,
                                       uint32_t nzp, int dbl) {
    const uint32_t v0 = dsp_load4(v), v1 = dsp_load4(v + step), v2 = dsp_load4(v + 2 * step);
    uint32_t e0 = dsp_even_add(nzp, v0), e1 = dsp_even_add(nzp, v1), e2 = dsp_even_add(nzp, v2);
    uint32_t o0 = dsp_odd_add(nzp, v0), o1 = dsp_odd_add(nzp, v1), o2 = dsp_odd_add(nzp, v2);
    if (dbl) { /* |2 w| <= 256 */
        e0 = (uint32_t)__sadd16((int32_t)e0, (int32_t)e0);
        e1 = (uint32_t)__sadd16((int32_t)e1, (int32_t)e1);
        e2 = (uint32_t)__sadd16((int32_t)e2, (int32_t)e2);
        o0 = (uint32_t)__sadd16((int32_t)o0, (int32_t)o0);
        o1 = (uint32_t)__sadd16((int32_t)o1, (int32_t)o1);
        o2 = (uint32_t)__sadd16((int32_t)o2, (int32_t)o2);
    }
    dsp_dw_img3_pairs(pw, k, e0, e1, e2, o0, o1, o2);
    __asm__ __volatile__("" ::: "memory"); /* a row at a time: gcc's interleaving spilled */
}

DSP_ALWAYS_INLINE int8_t dsp_dw_img3_rq(int32_t s, int32_t m, int32_t c, int32_t e, int32_t form) {
    if (form == DSP_RQ_DOUBLE2Z) return (int8_t)__ssat(dsp_smmlar(s, m, c) >> e, 8);
    return dsp_gq_one(s, (uint32_t)m, (uint32_t)c, (uint32_t)e, NULL, form, 1);
}

/* One output row's three sums from b: per kernel row k that meets an image row, one LDRD of
 * its pairs xw[2 iy], xw[2 iy + 1] and one of the weights ww[2 k], ww[2 k + 1] (loads at the
 * point of use: gcc's allocation of the channel's twelve words spilled), four multiplies. */
#define DSP_DW_IMG3_TAPS(iy, k)                        \
    do {                                               \
        uint32_t xa_, xb_, wa_, wb_;                   \
        DSP_LOAD2W(xw, 2 * (iy), xa_, xb_);            \
        DSP_LOAD2W(ww, 2 * (k), wa_, wb_);             \
        s0 = __smlad((int32_t)xa_, (int32_t)wb_, s0);  \
        s1 = __smlad((int32_t)xa_, (int32_t)wa_, s1);  \
        s1 = __smlatt((int32_t)xb_, (int32_t)wb_, s1); \
        s2 = __smlad((int32_t)xb_, (int32_t)wa_, s2);  \
    } while (0)
#define DSP_DW_IMG3_STORE()                                \
    do {                                                   \
        y[0] = dsp_dw_img3_rq(s0, m, c, e, form);          \
        y[c_step] = dsp_dw_img3_rq(s1, m, c, e, form);     \
        y[2 * c_step] = dsp_dw_img3_rq(s2, m, c, e, form); \
        y += 3 * c_step;                                   \
    } while (0)

/* Channel j's nine outputs (y: its first, c_step apart) from its pairs xw[6] (image rows),
 * ww[6] (kernel rows), sums from b, requantised by m, c, e. */
DSP_ALWAYS_INLINE void dsp_dw_img3_channel(const uint32_t *xw, const uint32_t *ww, int32_t b,
                                           int32_t m, int32_t c, int32_t e, int8_t *y,
                                           int32_t c_step, int32_t form) {
    int32_t s0 = b, s1 = b, s2 = b;
    DSP_DW_IMG3_TAPS(0, 1); /* output row 0: image rows 0, 1 under kernel rows 1, 2 */
    DSP_DW_IMG3_TAPS(1, 2);
    DSP_DW_IMG3_STORE();
    s0 = s1 = s2 = b;
    DSP_DW_IMG3_TAPS(0, 0);
    DSP_DW_IMG3_TAPS(1, 1);
    DSP_DW_IMG3_TAPS(2, 2);
    DSP_DW_IMG3_STORE();
    s0 = s1 = s2 = b;
    DSP_DW_IMG3_TAPS(1, 0);
    DSP_DW_IMG3_TAPS(2, 1);
    DSP_DW_IMG3_STORE();
}

/* Channels c0..c0+3 (x, w, bias, y at c0) of every image; gq: the group's record (words
 * 4..15: e, m, c per channel, dsp_dw_gq_fast); form a fast form, DSP_RQ_DOUBLE2 and
 * DSP_RQ_DOUBLE2Z with the weights and biases doubled. */
DSP_ALWAYS_INLINE void dsp_dw3x3_img3_as(const cnnc_s8_conv_params *p, const int8_t *x,
                                         const int8_t *w, const int32_t *bias, const int32_t *gq,
                                         int8_t *y, uint32_t nzp, int32_t form) {
    const int32_t c_step = p->c, dbl = form == DSP_RQ_DOUBLE2 || form == DSP_RQ_DOUBLE2Z;
    const size_t img = 9 * (size_t)c_step;
    uint32_t ww[4][6], xw[4][6]; /* [channel][(W01, W12) per kernel row], (P01, P12) */
    int32_t b;
    dsp_dw_img3_row(ww, 0, w, c_step, 0, dbl);
    dsp_dw_img3_row(ww, 2, w + 3 * (size_t)c_step, c_step, 0, dbl);
    dsp_dw_img3_row(ww, 4, w + 6 * (size_t)c_step, c_step, 0, dbl);
    for (b = 0; b < p->n; ++b, x += img, y += img) {
        dsp_dw_img3_row(xw, 0, x, c_step, nzp, 0);
        dsp_dw_img3_row(xw, 2, x + 3 * (size_t)c_step, c_step, nzp, 0);
        dsp_dw_img3_row(xw, 4, x + 6 * (size_t)c_step, c_step, nzp, 0);
        dsp_dw_img3_channel(xw[0], ww[0], (int32_t)((uint32_t)bias[0] << dbl), gq[6], gq[7], gq[4],
                            y, c_step, form);
        dsp_dw_img3_channel(xw[1], ww[1], (int32_t)((uint32_t)bias[1] << dbl), gq[8], gq[9], gq[5],
                            y + 1, c_step, form);
        dsp_dw_img3_channel(xw[2], ww[2], (int32_t)((uint32_t)bias[2] << dbl), gq[12], gq[13],
                            gq[10], y + 2, c_step, form);
        dsp_dw_img3_channel(xw[3], ww[3], (int32_t)((uint32_t)bias[3] << dbl), gq[14], gq[15],
                            gq[11], y + 3, c_step, form);
    }
}

/* The groups of four channels of a DSP_DW_IMG3 layer with the full clamp (the caller's
 * check) while they have a fast form; returns the first channel not done. */
static __attribute__((noinline)) int32_t dsp_dw3x3_img3(const cnnc_s8_conv_params *p,
                                                        const int8_t *x, const int8_t *w,
                                                        const int32_t *bias, const int32_t *mult,
                                                        const int32_t *shift, int8_t *y) {
    const int32_t c4 = p->c & ~3;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point); /* x - zp */
    /* |bias| < DSP_DW3_DOUBLE_BIAS for the four, as unsigned compares (dsp_dw3x3_groups) */
    const uint32_t lim = 2u * (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u,
                   off = (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u;
    int32_t c0;
    for (c0 = 0; c0 < c4; c0 += 4) {
        int32_t gq[16]; /* words 4..15: e, m, c per channel */
        const int32_t *const bg = bias + c0;
        int32_t form = dsp_dw_gq_fast(gq, mult + c0, shift + c0, p->rounding, p->y_zero_point);
        if (form == DSP_RQ_SLOW) break;
        if (form == DSP_RQ_DOUBLE && (uint32_t)bg[0] + off < lim && (uint32_t)bg[1] + off < lim &&
            (uint32_t)bg[2] + off < lim && (uint32_t)bg[3] + off < lim)
            form = p->y_zero_point == -128 ? DSP_RQ_DOUBLE2Z : DSP_RQ_DOUBLE2;
        if (form == DSP_RQ_DOUBLE2Z)
            dsp_dw3x3_img3_as(p, x + c0, w + c0, bg, gq, y + c0, nzp, DSP_RQ_DOUBLE2Z);
        else if (form == DSP_RQ_DOUBLE2)
            dsp_dw3x3_img3_as(p, x + c0, w + c0, bg, gq, y + c0, nzp, DSP_RQ_DOUBLE2);
        else if (form == DSP_RQ_DOUBLE)
            dsp_dw3x3_img3_as(p, x + c0, w + c0, bg, gq, y + c0, nzp, DSP_RQ_DOUBLE);
        else
            dsp_dw3x3_img3_as(p, x + c0, w + c0, bg, gq, y + c0, nzp, DSP_RQ_SINGLE);
    }
    return c0;
}

static __attribute__((noinline)) void dsp_dw3x3_groups(const cnnc_s8_conv_params *p,
                                                       const int8_t *x, const int8_t *w,
                                                       const int32_t *bias, const int32_t *mult,
                                                       const int32_t *shift, int8_t *y,
                                                       uint32_t *buf, int32_t ph, int32_t pw) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t c_step = p->c, c4 = c_step & ~3, zp = p->x_zero_point;
    const size_t row = (size_t)p->w * c_step, in_img = (size_t)p->h * row,
                 out_img = (size_t)p->out_h * p->out_w * c_step;
    const int may_double = p->n * p->out_h * p->out_w >= DSP_DW3_DOUBLE_MIN_PX;
    const uint32_t nzp = dsp_pack16(-zp, -zp); /* the pixels widened as x - zp */
    int32_t t, c0, b, iy, j;
    if (DSP_DW_IMG3(p) && dsp_dw3x3_img3(p, x, w, bias, mult, shift, y) == c4) {
        if (c4 < c_step) dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c4);
        return;
    }
    for (t = 0; t < 2 * ph * pw; ++t) buf[t] = 0; /* padding: x - zp = 0 */
    for (c0 = 0; c0 < c4; c0 += 4) {
        uint32_t rec[37]; /* biases, w4[9][2], gq[4..15], steps, pitch: dsp_dw3x3_row_windows */
        uint32_t *const w4 = rec + 4; /* [tap][even, odd channel lanes] */
        int32_t form = dsp_dw_gq_fast((int32_t *)rec + 18, mult + c0, shift + c0, p->rounding,
                                      p->y_zero_point);
        rec[34] = (uint32_t)c_step - 4u, rec[35] = 8u * (uint32_t)p->stride_w;
        rec[36] = 8u * (uint32_t)pw;
        const int32_t *const bg = bias + c0;
        /* |bias| < DSP_DW3_DOUBLE_BIAS for the four, as unsigned compares (no loop) */
        const uint32_t lim = 2u * (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u,
                       off = (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u;
        const int dbl = form == DSP_RQ_DOUBLE && may_double && (uint32_t)bg[0] + off < lim &&
                        (uint32_t)bg[1] + off < lim && (uint32_t)bg[2] + off < lim &&
                        (uint32_t)bg[3] + off < lim;
        if (dbl) { /* the sums doubled: 2 bias, 2 w (|2 w| <= 256) */
            form = DSP_RQ_DOUBLE2;
            for (j = 0; j < 4; ++j) rec[j] = 2u * (uint32_t)bias[c0 + j];
            dsp_dw_widen_taps9(w4, w + c0, c_step, 1);
        } else {
            CNNC_COPY(rec, bias + c0, 4 * sizeof *rec);
            dsp_dw_widen_taps9(w4, w + c0, c_step, 0);
        }
        for (b = 0; b < p->n; ++b) {
            const int8_t *xb = x + b * in_img + c0;
            int8_t *yb = y + b * out_img + c0;
            if (form == DSP_RQ_SLOW) { /* the C windows with dsp_rq */
                dsp_rq rq[4];
                (void)dsp_rq_make_n(rq, mult + c0, shift + c0, 4, &out);
                dsp_dw_padded(p, xb, yb, w4, rec, DSP_RQ_SLOW, rq, &out, buf, ph, pw, rec, nzp);
                continue;
            }
            if (p->w & 1) {
                for (iy = 0; iy < p->h; ++iy) /* the group's pixels widened into the interior */
                    dsp_dw_widen_row_add(buf + 2 * ((size_t)(iy + p->pad_top) * pw + p->pad_left),
                                         xb + iy * row, p->w, c_step, nzp);
            } else {
                dsp_dw_widen_even(buf + 2 * ((size_t)p->pad_top * pw + p->pad_left), xb, p->h, p->w,
                                  c_step, nzp, pw);
            }
            if (form == DSP_RQ_DOUBLE2 && p->y_zero_point == -128) /* the sign's term goes */
                dsp_dw3x3_windows(p, buf, pw, rec, yb, DSP_RQ_DOUBLE2Z);
            else if (form == DSP_RQ_DOUBLE2)
                dsp_dw3x3_windows(p, buf, pw, rec, yb, DSP_RQ_DOUBLE2);
            else if (form == DSP_RQ_DOUBLE)
                dsp_dw3x3_windows(p, buf, pw, rec, yb, DSP_RQ_DOUBLE);
            else
                dsp_dw3x3_windows(p, buf, pw, rec, yb, DSP_RQ_SINGLE);
        }
    }
    if (c4 < c_step) dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c4);
}
/* ---------------------------------------------------------------------------------
 * Layers whose every window covers the whole image (a 2x2 image under a 3x3 kernel with
 * padding 1: the last stage of a network at 32x32 input), with the full clamp and a fast
 * form: a window's padding taps, most of its taps there, are skipped rather than read as
 * x_zero_point. The image's pixels are widened once per group as x - zp (SXTB16, SSUB16:
 * |x - zp| <= 255 fits the int16 lanes), so a window's sum starts at the bias and adds
 * (x - zp) w over its image taps only, the reference's sum exactly (modulo 2^32 on the way,
 * as in s8_dsp.h). */
#define DSP_DW_WHOLE_MAX_PX 16 /* pixels per image (widened on the stack) */

/* Whether every output window of p holds the whole image. */
static int dsp_dw_whole_image(const cnnc_s8_conv_params *p) {
    return p->h * p->w <= DSP_DW_WHOLE_MAX_PX && p->pad_top >= (p->out_h - 1) * p->stride_h &&
           p->pad_left >= (p->out_w - 1) * p->stride_w && p->kernel_h - p->pad_top >= p->h &&
           p->kernel_w - p->pad_left >= p->w;
}

/* Image xb's windows for the group of record gq (dsp_gq_fill's layout),
 * h x w pixels (literals where inlined for the 2x2 image). */
DSP_ALWAYS_INLINE void dsp_dw_whole_windows(const cnnc_s8_conv_params *p, const int8_t *xb,
                                            const uint32_t *w4, const int32_t *bias,
                                            const uint32_t *gq, int8_t *yb, int32_t form, int32_t h,
                                            int32_t w) {
    const uint32_t zp2 = (uint32_t)dsp_even(dsp_splat4(p->x_zero_point)); /* (zp, zp) */
    const int32_t c_step = p->c, kw = p->kernel_w;
    uint32_t xw[2 * DSP_DW_WHOLE_MAX_PX]; /* [pixel][even, odd lanes] of x - zp */
    int32_t i, j, oy, ox;
    for (i = 0; i < h * w; ++i) {
        const uint32_t v = dsp_load4(xb + (size_t)i * c_step);
        xw[2 * i] = (uint32_t)__ssub16(dsp_even(v), (int32_t)zp2);
        xw[2 * i + 1] = (uint32_t)__ssub16(dsp_odd(v), (int32_t)zp2);
    }
    for (oy = 0; oy < p->out_h; ++oy) {
        for (ox = 0; ox < p->out_w; ++ox, yb += c_step) {
            /* pixel (iy, ix) meets tap (iy + pad_top - oy s, ix + pad_left - ox s) */
            const uint32_t *wr =
                w4 + 2 * ((p->pad_top - oy * p->stride_h) * kw + p->pad_left - ox * p->stride_w);
            const uint32_t *xp = xw;
            int32_t s0 = bias[0], s1 = bias[1], s2 = bias[2], s3 = bias[3];
            for (i = 0; i < h; ++i, wr += 2 * kw) {
                for (j = 0; j < w; ++j, xp += 2) {
                    const int32_t xe = (int32_t)xp[0], xo = (int32_t)xp[1];
                    const int32_t we = (int32_t)wr[2 * j], wo = (int32_t)wr[2 * j + 1];
                    s0 = __smlabb(xe, we, s0);
                    s2 = __smlatt(xe, we, s2);
                    s1 = __smlabb(xo, wo, s1);
                    s3 = __smlatt(xo, wo, s3);
                }
            }
            /* in C: the asm's fixed registers and memory clobber would spill the loops */
            yb[0] = dsp_gq_one(s0, gq[6], gq[7], gq[4], NULL, form, 1);
            yb[1] = dsp_gq_one(s1, gq[8], gq[9], gq[5], NULL, form, 1);
            yb[2] = dsp_gq_one(s2, gq[12], gq[13], gq[10], NULL, form, 1);
            yb[3] = dsp_gq_one(s3, gq[14], gq[15], gq[11], NULL, form, 1);
        }
    }
}

/* The two smallest 3 x 3 layers of a 32 x 32 network with padding 1 and 2 x 2 outputs,
 * in asm with their padding taps skipped: DSP_DW_SMALL_2X2, a 2 x 2 image at stride 1 (each
 * window four taps of the kernel), and DSP_DW_SMALL_4X4, a 4 x 4 image at stride 2 (4, 6,
 * 6 and 9 taps). One array u per group holds the record (u[0..15]: the biases, then
 * dsp_dw_gq_fast's words 4..15), the weights w4[9][2] (u[16..33]) and the pixels as
 * x - zp (u[34..]: SXTAB16 onto (-zp, -zp), so a sum starts at the bias and the padding
 * needs no term), so every load of a window is an immediate offset from u: one LDM of the
 * biases, per tap one LDRD of its pixel's words and one of its weights and four SMLAxy,
 * then the fast form's requantisation with the full clamp (DSP_ASM_STORE4). */
enum { DSP_DW_SMALL_2X2 = 0, DSP_DW_SMALL_4X4 = 1 };
#define DSP_DW_U_W4 "64"  /* byte offset of w4 in u */
#define DSP_DW_U_XW "136" /* of the pixels */
/* clang-format off */
#define DSP_ASM_WHOLE_TAP(px, tap)                                      \
    "ldrd %[xe], %[xo], [%[u], #" DSP_DW_U_XW "+8*" #px "]\n\t"        \
    "ldrd %[w0], %[w1], [%[u], #" DSP_DW_U_W4 "+8*" #tap "]\n\t"       \
    "smlabb %[a0], %[xe], %[w0], %[a0]\n\t"                            \
    "smlatt %[a2], %[xe], %[w0], %[a2]\n\t"                            \
    "smlabb %[a1], %[xo], %[w1], %[a1]\n\t"                            \
    "smlatt %[a3], %[xo], %[w1], %[a3]\n\t"
#define DSP_ASM_WHOLE_ACC                                               \
    "mov %[gq], %[u]\n\t"                                               \
    "ldm %[gq]!, {%[a0], %[a1], %[a2], %[a3]}\n\t"
/* the windows (pixel, tap), pixel (i, j) = w i + j, tap (ky, kx) = 3 ky + kx */
#define DSP_ASM_2X2_00 DSP_ASM_WHOLE_TAP(0, 4) DSP_ASM_WHOLE_TAP(1, 5)                    \
    DSP_ASM_WHOLE_TAP(2, 7) DSP_ASM_WHOLE_TAP(3, 8)
#define DSP_ASM_2X2_01 DSP_ASM_WHOLE_TAP(0, 3) DSP_ASM_WHOLE_TAP(1, 4)                    \
    DSP_ASM_WHOLE_TAP(2, 6) DSP_ASM_WHOLE_TAP(3, 7)
#define DSP_ASM_2X2_10 DSP_ASM_WHOLE_TAP(0, 1) DSP_ASM_WHOLE_TAP(1, 2)                    \
    DSP_ASM_WHOLE_TAP(2, 4) DSP_ASM_WHOLE_TAP(3, 5)
#define DSP_ASM_2X2_11 DSP_ASM_WHOLE_TAP(0, 0) DSP_ASM_WHOLE_TAP(1, 1)                    \
    DSP_ASM_WHOLE_TAP(2, 3) DSP_ASM_WHOLE_TAP(3, 4)
#define DSP_ASM_4X4_00 DSP_ASM_WHOLE_TAP(0, 4) DSP_ASM_WHOLE_TAP(1, 5)                    \
    DSP_ASM_WHOLE_TAP(4, 7) DSP_ASM_WHOLE_TAP(5, 8)
#define DSP_ASM_4X4_01 DSP_ASM_WHOLE_TAP(1, 3) DSP_ASM_WHOLE_TAP(2, 4)                    \
    DSP_ASM_WHOLE_TAP(3, 5) DSP_ASM_WHOLE_TAP(5, 6) DSP_ASM_WHOLE_TAP(6, 7)               \
    DSP_ASM_WHOLE_TAP(7, 8)
#define DSP_ASM_4X4_10 DSP_ASM_WHOLE_TAP(4, 1) DSP_ASM_WHOLE_TAP(5, 2)                    \
    DSP_ASM_WHOLE_TAP(8, 4) DSP_ASM_WHOLE_TAP(9, 5) DSP_ASM_WHOLE_TAP(12, 7)               \
    DSP_ASM_WHOLE_TAP(13, 8)
#define DSP_ASM_4X4_11 DSP_ASM_WHOLE_TAP(5, 0) DSP_ASM_WHOLE_TAP(6, 1)                    \
    DSP_ASM_WHOLE_TAP(7, 2) DSP_ASM_WHOLE_TAP(9, 3) DSP_ASM_WHOLE_TAP(10, 4)              \
    DSP_ASM_WHOLE_TAP(11, 5) DSP_ASM_WHOLE_TAP(13, 6) DSP_ASM_WHOLE_TAP(14, 7)            \
    DSP_ASM_WHOLE_TAP(15, 8)
/* clang-format on */
DSP_ALWAYS_INLINE void dsp_dw_small_as(const uint32_t *u, int8_t *yb, int32_t c_step, int32_t form,
                                       int kind) {
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register uint32_t xe __asm__("r4"), xo __asm__("r5");
    register uint32_t w0 __asm__("r8"), w1 __asm__("r9"), w2 __asm__("r10"), w3 __asm__("r11");
    const uint32_t *rp;
    int8_t *y;
#define DSP_DW_WHOLE_TAPS(TAPS)                                                           \
    __asm__ __volatile__(                                                                 \
        DSP_ASM_WHOLE_ACC TAPS                                                            \
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [xe] "=&r"(xe), \
          [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), [gq] "=&r"(rp)                  \
        : [u] "r"(u)                                                                      \
        : "memory")
#define DSP_DW_WHOLE_STORE(RQ)                                                             \
    __asm__ __volatile__(DSP_ASM_STORE4(RQ)                                                \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),     \
                           [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), \
                           [w2] "=&r"(w2), [w3] "=&r"(w3), [gq] "+r"(rp), [y] "+r"(y)      \
                         :                                                                 \
                         : "memory")
    y = yb; /* output (0, 0) */
    if (kind == DSP_DW_SMALL_2X2)
        DSP_DW_WHOLE_TAPS(DSP_ASM_2X2_00);
    else
        DSP_DW_WHOLE_TAPS(DSP_ASM_4X4_00);
    DSP_ASM_BY_FORM(form, DSP_DW_WHOLE_STORE, DSP_ASM_RQ_);
    y = yb + c_step; /* (0, 1) */
    if (kind == DSP_DW_SMALL_2X2)
        DSP_DW_WHOLE_TAPS(DSP_ASM_2X2_01);
    else
        DSP_DW_WHOLE_TAPS(DSP_ASM_4X4_01);
    DSP_ASM_BY_FORM(form, DSP_DW_WHOLE_STORE, DSP_ASM_RQ_);
    y = yb + 2 * c_step; /* (1, 0) */
    if (kind == DSP_DW_SMALL_2X2)
        DSP_DW_WHOLE_TAPS(DSP_ASM_2X2_10);
    else
        DSP_DW_WHOLE_TAPS(DSP_ASM_4X4_10);
    DSP_ASM_BY_FORM(form, DSP_DW_WHOLE_STORE, DSP_ASM_RQ_);
    y = yb + 3 * c_step; /* (1, 1) */
    if (kind == DSP_DW_SMALL_2X2)
        DSP_DW_WHOLE_TAPS(DSP_ASM_2X2_11);
    else
        DSP_DW_WHOLE_TAPS(DSP_ASM_4X4_11);
    DSP_ASM_BY_FORM(form, DSP_DW_WHOLE_STORE, DSP_ASM_RQ_);
#undef DSP_DW_WHOLE_TAPS
#undef DSP_DW_WHOLE_STORE
}

/* The 3 x 3 layers of padding 1 on 2x2 and 4x4 images (the last stages of a network at
 * 32x32 input) with the double rounding, the full clamp and output zero point -128 (the
 * depthwise layers behind a ReLU), one channel at a time in int16 pairs of one channel
 * (dsp_dw_pairs_as): a pixel pair (x[r][2k], x[r][2k+1]) against a weight pair
 * (w[ky][kx], w[ky][kx+1]) is one SMLAD, two taps an instruction where dsp_dw_small_as and
 * dsp_dw3x3_groups take one (lanes of four channels), and a channel's m, c, e serve all its
 * outputs. Per group of four channels the records (the pairs, bias, m, c, e of each
 * channel) are written first, the pairs by a transpose in asm (DSP_ASM_PAIRS_TX, _TW*), then an
 * asm pass over the four channels computes and stores the outputs. A sum starts at
 * the bias and adds the image taps only (padding taps left out, not read as x_zero_point):
 * the reference's sum exactly (|sum| <= |bias| + 9 * 255 * 128, modulo 2^32 as s8_dsp.h).
 * Output column ox of a kernel row over image row (A, B) = columns (0, 1), (2, 3) of a 4-wide
 * image takes, at stride 1, A (w1, w2) at 0, A (w0, w1) and B.lo w2 at 1 (SMLABT on (w1, w2)),
 * B (w1, w2) and A.hi w0 at 2 (SMLATB on (w0, w1)), B (w0, w1) at 3; at stride 2, A (w1, w2)
 * at 0, A.hi w0 and B (w1, w2) at 1; a 2-wide image has A only (columns 0 and 1 of stride 1).
 * The requantisation is DSP_RQ_DOUBLE's without the sign's term (s8_dsp.h, DSP_RQ_DOUBLE2Z:
 * the same argument holds for h of the QADD's 2x): QADD, SMMLAR with c = 2^(e-1) - 128 2^e,
 * ASR e - 1, SSAT #8 of it ASR #1 (the shift by e in two: floor(floor(v / 2^(e-1)) / 2) =
 * floor(v / 2^e), and the records keep e - 1 = ~shift, no ADD for e), STRB. */
enum { DSP_DW_PAIRS_2X2 = 2, DSP_DW_PAIRS_4X4 = 3, DSP_DW_PAIRS_4X4S2 = 4 };

/* A group's records, rec[8 * (rows + 5)] (rows = 1 for a 2x2 image, 4 for 4x4), hold
 * blocks of 8 words, each block two words of every channel (channel j's at words 2 j,
 * 2 j + 1), so one channel's words sit 32 bytes a block apart at 8 j: blocks 0 .. rows - 1
 * an image row's pairs (A, B) = columns (0, 1), (2, 3) (a 2x2 image: its rows 0 and 1, the
 * pairs a0, a1), blocks rows .. rows + 2 a kernel row's (w0, w1), (w1, w2), block rows + 3
 * (bias, m), block rows + 4 (c, e - 1). Written by the groups' loop (DSP_ASM_PAIRS_LOOP:
 * the pairs by DSP_ASM_PAIRS_TX and _TW*, the rest by DSP_ASM_PAIRS_PRM2). */

/* The pairs of the records by a transpose in asm: four pixel words (four channels each,
 * c_step bytes apart) or three tap words of a kernel row, PKHBT / PKHTB of two words gives
 * the bytes of channels (0, 1) / (2, 3) of both, SXTB16 without and with ROR #8 the pair
 * of one channel (SXTAB16 onto nzp = (-zp, -zp) for the pixels: x - zp: |x - zp| <= 255),
 * and the block's eight words leave by two STMs of r0..r3 (channels 0, 1 then 2, 3): 20
 * instructions an image row, 18 a kernel row, every word read once for the four channels
 * (the records of channel pairs (0, 1) and (2, 3) were written in two passes that each
 * read all of them). The registers are the groups' loop's (DSP_ASM_PAIRS_LOOP): scratch
 * r0..r5, the pointer r6 (x, then w), nzp r8, the records r9, c_step lr and 3 c_step r11
 * (a row's fourth pixel, a kernel row's step). */
/* clang-format off */
#define DSP_ASM_PAIRS_TX(ADV)                               \
    "ldr r0, [r6]\n\t"                                      \
    "ldr r2, [r6, lr]\n\t"                                  \
    "ldr r1, [r6, lr, lsl #1]\n\t"                          \
    "ldr r3, [r6, r11]\n\t"                                 \
    ADV                                                     \
    "pkhtb r4, r2, r0, asr #16\n\t"                         \
    "pkhbt r0, r0, r2, lsl #16\n\t"                         \
    "pkhtb r5, r3, r1, asr #16\n\t"                         \
    "pkhbt r1, r1, r3, lsl #16\n\t"                         \
    "sxtab16 r2, r8, r0, ror #8\n\t"                        \
    "sxtab16 r0, r8, r0\n\t"                                \
    "sxtab16 r3, r8, r1, ror #8\n\t"                        \
    "sxtab16 r1, r8, r1\n\t"                                \
    "stm r9!, {r0, r1, r2, r3}\n\t"                         \
    "sxtab16 r0, r8, r4\n\t"                                \
    "sxtab16 r2, r8, r4, ror #8\n\t"                        \
    "sxtab16 r1, r8, r5\n\t"                                \
    "sxtab16 r3, r8, r5, ror #8\n\t"                        \
    "stm r9!, {r0, r1, r2, r3}\n\t"
/* The weight words at p, p + cs and p + 2 cs (four channels each) as int16 pairs into the
 * records at rp, p stepped on by ADV (or not, the last row); DBL doubles each quad of
 * pairs before its STM (or nothing). */
#define DSP_ASM_PAIRS_TWX(DBL, ADV)                         \
    "ldr r0, [r6]\n\t"                                      \
    "ldr r2, [r6, lr]\n\t"                                  \
    "ldr r3, [r6, lr, lsl #1]\n\t"                          \
    ADV                                                     \
    "pkhtb r4, r2, r0, asr #16\n\t"                         \
    "pkhbt r0, r0, r2, lsl #16\n\t"                         \
    "pkhtb r5, r3, r2, asr #16\n\t"                         \
    "pkhbt r1, r2, r3, lsl #16\n\t"                         \
    "sxtb16 r2, r0, ror #8\n\t"                             \
    "sxtb16 r0, r0\n\t"                                     \
    "sxtb16 r3, r1, ror #8\n\t"                             \
    "sxtb16 r1, r1\n\t"                                     \
    DBL                                                     \
    "stm r9!, {r0, r1, r2, r3}\n\t"                         \
    "sxtb16 r0, r4\n\t"                                     \
    "sxtb16 r2, r4, ror #8\n\t"                             \
    "sxtb16 r1, r5\n\t"                                     \
    "sxtb16 r3, r5, ror #8\n\t"                             \
    DBL                                                     \
    "stm r9!, {r0, r1, r2, r3}\n\t"
#define DSP_ASM_PAIRS_ROW3C "add r6, r6, r11\n\t" /* the next kernel row */
#define DSP_ASM_PAIRS_TW(ADV) DSP_ASM_PAIRS_TWX("", ADV)
/* DSP_ASM_PAIRS_TW with the pairs doubled (SADD16: |2 w| <= 254), DSP_ASM_PAIRS_4X4's */
#define DSP_ASM_PAIRS_DBL4                                  \
    "sadd16 r0, r0, r0\n\t"                                 \
    "sadd16 r1, r1, r1\n\t"                                 \
    "sadd16 r2, r2, r2\n\t"                                 \
    "sadd16 r3, r3, r3\n\t"
#define DSP_ASM_PAIRS_TW2(ADV) DSP_ASM_PAIRS_TWX(DSP_ASM_PAIRS_DBL4, ADV)
#define DSP_ASM_PAIRS_TW3D                                  \
    "ldr r6, [%[g], #308]\n\t"                              \
    "add r6, r6, r10\n\t"                                   \
    DSP_ASM_PAIRS_TW2(DSP_ASM_PAIRS_ROW3C) DSP_ASM_PAIRS_TW2(DSP_ASM_PAIRS_ROW3C) DSP_ASM_PAIRS_TW2("")
#define DSP_ASM_PAIRS_TW3                                   \
    "ldr r6, [%[g], #308]\n\t"                              \
    "add r6, r6, r10\n\t"                                   \
    DSP_ASM_PAIRS_TW(DSP_ASM_PAIRS_ROW3C) DSP_ASM_PAIRS_TW(DSP_ASM_PAIRS_ROW3C) DSP_ASM_PAIRS_TW("")
/* At stride 2 a kernel row's w0 meets one pixel (A.hi, SMLATB) and its (w0, w1) pair serves
 * for w0 alone: the row's first word widened as it is, (w0 c0, w0 c2) and (w0 c1, w0 c3),
 * stands in for the pairs of channels 0, 2 and 1, 3 (its low half for channels 0, 1, the
 * high for 2, 3: DSP_ASM_PAIRS_CH4X4S2), 14 instructions a kernel row for 18. */
#define DSP_ASM_PAIRS_TWS2(ADV)                             \
    "ldr r0, [r6]\n\t"                                      \
    "ldr r2, [r6, lr]\n\t"                                  \
    "ldr r3, [r6, lr, lsl #1]\n\t"                          \
    ADV                                                     \
    "pkhtb r5, r3, r2, asr #16\n\t"                         \
    "pkhbt r4, r2, r3, lsl #16\n\t"                         \
    "sxtb16 r2, r0, ror #8\n\t"                             \
    "sxtb16 r0, r0\n\t"                                     \
    "sxtb16 r1, r4\n\t"                                     \
    "sxtb16 r3, r4, ror #8\n\t"                             \
    "stm r9!, {r0, r1, r2, r3}\n\t"                         \
    "sxtb16 r1, r5\n\t"                                     \
    "sxtb16 r3, r5, ror #8\n\t"                             \
    "stm r9!, {r0, r1, r2, r3}\n\t"
#define DSP_ASM_PAIRS_TW3S2                                 \
    "ldr r6, [%[g], #308]\n\t"                              \
    "add r6, r6, r10\n\t"                                   \
    DSP_ASM_PAIRS_TWS2(DSP_ASM_PAIRS_ROW3C) DSP_ASM_PAIRS_TWS2(DSP_ASM_PAIRS_ROW3C)    \
    DSP_ASM_PAIRS_TWS2("")
/* clang-format on */
/* The 2x2 image's four channels from their records (rows = 1) in asm (gcc's C form spills
 * the pairs and keeps a pointer per output): outputs (0, 0), (0, 1) take a0 under kernel
 * row 1 and a1 under row 2, (1, 0), (1, 1) a0 under row 0 and a1 under row 1; column 0
 * the pairs (w1, w2), column 1 (w0, w1). Sums s0..s3 in r0..r3, bias r4, (a0, a1) r5, r6,
 * a kernel row's pairs r8, r9; o the channel's byte offset 8 j in a block. The outputs
 * (0, 1), (1, 1), (1, 0), (0, 0) at y + c_step, y + 3 c_step (r11), y + 2 c_step and y,
 * the last post-incremented to the next channel. */
/* clang-format off */
#define DSP_ASM_PAIRS_RQ(a)                                 \
    "qadd " a ", " a ", " a "\n\t"                          \
    "smmlar " a ", " a ", r5, r8\n\t"                       \
    "asr " a ", " a ", r9\n\t"                              \
    "ssat " a ", #8, " a ", asr #1\n\t"
#define DSP_ASM_PAIRS_CH2X2(o)                              \
    "ldr r4, [%[g], #(128 + " o ")]\n\t"                    \
    "ldrd r5, r6, [%[g], #" o "]\n\t"                       \
    "ldrd r8, r9, [%[g], #(32 + " o ")]\n\t"                \
    "smlad r3, r5, r8, r4\n\t"                              \
    "smlad r2, r5, r9, r4\n\t"                              \
    "ldrd r8, r9, [%[g], #(64 + " o ")]\n\t"                \
    "smlad r1, r5, r8, r4\n\t"                              \
    "smlad r0, r5, r9, r4\n\t"                              \
    "smlad r3, r6, r8, r3\n\t"                              \
    "smlad r2, r6, r9, r2\n\t"                              \
    "ldrd r8, r9, [%[g], #(96 + " o ")]\n\t"                \
    "smlad r1, r6, r8, r1\n\t"                              \
    "smlad r0, r6, r9, r0\n\t"                              \
    "ldr r5, [%[g], #(132 + " o ")]\n\t"                    \
    "ldrd r8, r9, [%[g], #(160 + " o ")]\n\t"               \
    DSP_ASM_PAIRS_RQ("r1") "strb r1, [r10, lr]\n\t"         \
    DSP_ASM_PAIRS_RQ("r3") "strb r3, [r10, r11]\n\t"        \
    DSP_ASM_PAIRS_RQ("r2") "strb r2, [r10, lr, lsl #1]\n\t" \
    DSP_ASM_PAIRS_RQ("r0") "strb r0, [r10], #1\n\t"
/* clang-format on */

/* The four channels' 16 outputs each from their records, a channel after the other in one
 * asm statement (written out: the records at immediate offsets, no loop): per output row
 * the sums s0..s3 (r0..r3) of its columns start at the bias (r4, read once a channel:
 * neither the rows nor the stores write it) on the first kernel row, each kernel row one
 * LDRD of the image row's (A, B) (r5, r6) and one of its (w0, w1), (w1, w2) (r8, r9):
 * column 0 A (w1, w2), 1 A (w0, w1) + B.lo w2 (SMLABT), 2 B (w1, w2) + A.hi w0 (SMLATB),
 * 3 B (w0, w1); then m, c, e - 1 (r5, r6, r8) and the four stores of the row (columns at yr,
 * yr + c_step, yr + 2 c_step and yr + cs3 = 3 c_step), yr stepping 4 rows of c_step bytes:
 * down from row 0 for channels 0 and 2, up from row 3 for 1 and 3, so that the next
 * channel starts where the last ended, one byte on. */
/* clang-format off */
#define DSP_ASM_PAIRS_RQ4(a)                                \
    "smmlar " a ", " a ", r5, r6\n\t"                       \
    "asr " a ", " a ", r8\n\t"                              \
    "ssat " a ", #8, " a ", asr #1\n\t"
#define DSP_ASM_PAIRS_KROW0(xoff, woff, o)                  \
    "ldrd r5, r6, [%[g], #(" xoff " + " o ")]\n\t"          \
    "ldrd r8, r9, [%[g], #(" woff " + " o ")]\n\t"          \
    "smlad r0, r5, r9, r4\n\t"                              \
    "smlad r1, r5, r8, r4\n\t"                              \
    "smlabt r1, r6, r9, r1\n\t"                             \
    "smlad r2, r6, r9, r4\n\t"                              \
    "smlatb r2, r5, r8, r2\n\t"                             \
    "smlad r3, r6, r8, r4\n\t"
#define DSP_ASM_PAIRS_KROW(xoff, woff, o)                   \
    "ldrd r5, r6, [%[g], #(" xoff " + " o ")]\n\t"          \
    "ldrd r8, r9, [%[g], #(" woff " + " o ")]\n\t"          \
    "smlad r0, r5, r9, r0\n\t"                              \
    "smlad r1, r5, r8, r1\n\t"                              \
    "smlabt r1, r6, r9, r1\n\t"                             \
    "smlad r2, r6, r9, r2\n\t"                              \
    "smlatb r2, r5, r8, r2\n\t"                             \
    "smlad r3, r6, r8, r3\n\t"
#define DSP_ASM_PAIRS_STORE4(o)                             \
    "ldr r5, [%[g], #(228 + " o ")]\n\t"                    \
    "ldrd r6, r8, [%[g], #(256 + " o ")]\n\t"               \
    DSP_ASM_PAIRS_RQ4("r0") "strb r0, [r10]\n\t"            \
    DSP_ASM_PAIRS_RQ4("r1") "strb r1, [r10, lr]\n\t"        \
    DSP_ASM_PAIRS_RQ4("r2") "strb r2, [r10, lr, lsl #1]\n\t" \
    DSP_ASM_PAIRS_RQ4("r3") "strb r3, [r10, r11]\n\t"
/* record byte offsets (rows = 4): image row r at 32 r, kernel row k at 128 + 32 k, bias
 * at 224, m at 228, (c, e - 1) at 256, each plus the channel's o = 8 j */
/* output rows 0 (kernel rows 1, 2 over image rows 0, 1), 1, 2 (0..2 over r - 1 .. r + 1),
 * 3 (0, 1 over 2, 3) */
#define DSP_ASM_PAIRS_ROW0(o)                                                  \
    DSP_ASM_PAIRS_KROW0("0", "160", o) DSP_ASM_PAIRS_KROW("32", "192", o)      \
    DSP_ASM_PAIRS_STORE4(o)
#define DSP_ASM_PAIRS_ROW1(o)                                                  \
    DSP_ASM_PAIRS_KROW0("0", "128", o) DSP_ASM_PAIRS_KROW("32", "160", o)      \
    DSP_ASM_PAIRS_KROW("64", "192", o) DSP_ASM_PAIRS_STORE4(o)
#define DSP_ASM_PAIRS_ROW2(o)                                                  \
    DSP_ASM_PAIRS_KROW0("32", "128", o) DSP_ASM_PAIRS_KROW("64", "160", o)     \
    DSP_ASM_PAIRS_KROW("96", "192", o) DSP_ASM_PAIRS_STORE4(o)
#define DSP_ASM_PAIRS_ROW3(o)                                                  \
    DSP_ASM_PAIRS_KROW0("64", "128", o) DSP_ASM_PAIRS_KROW("96", "160", o)     \
    DSP_ASM_PAIRS_STORE4(o)
#define DSP_ASM_PAIRS_DOWN "add r10, r10, lr, lsl #2\n\t"
#define DSP_ASM_PAIRS_UP "sub r10, r10, lr, lsl #2\n\t"
/* a channel's rows down from row 0 (yr at its row 3 after) and up from row 3 */
#define DSP_ASM_PAIRS_CH4X4(o)                                                 \
    "ldr r4, [%[g], #(224 + " o ")]\n\t"                                       \
    DSP_ASM_PAIRS_ROW0(o) DSP_ASM_PAIRS_DOWN DSP_ASM_PAIRS_ROW1(o)             \
    DSP_ASM_PAIRS_DOWN DSP_ASM_PAIRS_ROW2(o) DSP_ASM_PAIRS_DOWN                \
    DSP_ASM_PAIRS_ROW3(o)
#define DSP_ASM_PAIRS_CH4X4U(o)                                                \
    "ldr r4, [%[g], #(224 + " o ")]\n\t"                                       \
    DSP_ASM_PAIRS_ROW3(o) DSP_ASM_PAIRS_UP DSP_ASM_PAIRS_ROW2(o)               \
    DSP_ASM_PAIRS_UP DSP_ASM_PAIRS_ROW1(o) DSP_ASM_PAIRS_UP                    \
    DSP_ASM_PAIRS_ROW0(o)
/* clang-format on */

/* The 4x4 image at stride 2 from the records (rows = 4), a channel after the other
 * (written out): outputs (0, 0), (0, 1) (r0, r1) from image rows 0, 1 under kernel rows
 * 1, 2, (1, 0), (1, 1) (r2, r3) from rows 1..3 under kernel rows 0..2 (row 1's pairs
 * loaded once for both). */
/* clang-format off */
#define DSP_ASM_PAIRS_RQ4Q(a)                               \
    "qadd " a ", " a ", " a "\n\t"                          \
    "smmlar " a ", " a ", r5, r6\n\t"                       \
    "asr " a ", " a ", r8\n\t"                              \
    "ssat " a ", #8, " a ", asr #1\n\t"
#define DSP_ASM_PAIRS_S2(u0, u1, acc, h)                    \
    "smlad " u0 ", r5, r9, " acc "\n\t"                     \
    "smlat" h " " u1 ", r5, r8, " acc "\n\t"                \
    "smlad " u1 ", r6, r9, " u1 "\n\t"
#define DSP_ASM_PAIRS_S2ADD(u0, u1, h)                      \
    "smlad " u0 ", r5, r9, " u0 "\n\t"                      \
    "smlat" h " " u1 ", r5, r8, " u1 "\n\t"                 \
    "smlad " u1 ", r6, r9, " u1 "\n\t"
#define DSP_ASM_PAIRS_LD(a, b, off, o) "ldrd " a ", " b ", [%[g], #(" off " + " o ")]\n\t"
#define DSP_ASM_PAIRS_CH4X4S2(o, h)                         \
    "ldr r4, [%[g], #(224 + " o ")]\n\t"                    \
    DSP_ASM_PAIRS_LD("r5", "r6", "0", o)                    \
    DSP_ASM_PAIRS_LD("r8", "r9", "160", o)                  \
    DSP_ASM_PAIRS_S2("r0", "r1", "r4", h)                   \
    DSP_ASM_PAIRS_LD("r5", "r6", "32", o)                   \
    DSP_ASM_PAIRS_LD("r8", "r9", "192", o)                  \
    DSP_ASM_PAIRS_S2ADD("r0", "r1", h)                      \
    DSP_ASM_PAIRS_LD("r8", "r9", "128", o)                  \
    DSP_ASM_PAIRS_S2("r2", "r3", "r4", h)                   \
    DSP_ASM_PAIRS_LD("r5", "r6", "64", o)                   \
    DSP_ASM_PAIRS_LD("r8", "r9", "160", o)                  \
    DSP_ASM_PAIRS_S2ADD("r2", "r3", h)                      \
    DSP_ASM_PAIRS_LD("r5", "r6", "96", o)                   \
    DSP_ASM_PAIRS_LD("r8", "r9", "192", o)                  \
    DSP_ASM_PAIRS_S2ADD("r2", "r3", h)                      \
    "ldr r5, [%[g], #(228 + " o ")]\n\t"                    \
    DSP_ASM_PAIRS_LD("r6", "r8", "256", o)                  \
    DSP_ASM_PAIRS_RQ4Q("r0") "strb r0, [r10]\n\t"           \
    DSP_ASM_PAIRS_RQ4Q("r1") "strb r1, [r10, lr]\n\t"       \
    DSP_ASM_PAIRS_RQ4Q("r2") "strb r2, [r10, lr, lsl #1]\n\t" \
    DSP_ASM_PAIRS_RQ4Q("r3") "strb r3, [r10, r11]\n\t"
/* clang-format on */

/* The four channels' (bias, m) and (c, e - 1) into their records (blocks rows + 3 and
 * rows + 4, channel j's words at 8 j in each) in asm, two channels a step (LDRD of their
 * multipliers, shifts and biases: 19 instructions where one at a time took 24); where a
 * channel has no DSP_RQ_DOUBLE form (e - 1 = ~shift in 0..19, 2^30 <= m: dsp_dw_gq_one's)
 * the checks branch to the groups' loop's exit (label 9). MA, BA, SA: the addresses of
 * the multipliers, biases and shifts (r8, r6, r9); k = 2 zp + 1 = -255 (r11), so
 * c = k 2^(e-1). */
/* dbl: the biases doubled for doubled weights where |b| < 2^29 for both channels (else the
 * group leaves the path), so the doubled sum 2 (b + sum), |.| < 2^30 + 2^20 (|sum| <=
 * 9 * 255 * 127 < 2^19), needs no QADD (s8_dsp.h, DSP_RQ_DOUBLE2). */
/* clang-format off */
#define DSP_ASM_PAIRS_BIAS2                                 \
    "eor r4, r0, r0, asr #31\n\t"                           \
    "eor r5, r2, r2, asr #31\n\t"                           \
    "orr r4, r4, r5\n\t"                                    \
    "cmp r4, #0x20000000\n\t"                               \
    "bhs 9f\n\t"                                            \
    "lsl r0, r0, #1\n\t"                                    \
    "lsl r2, r2, #1\n\t"
#define DSP_ASM_PAIRS_PRM2(MA, BA, SA, obm, obm1, oce, oce1, BD) \
    "ldrd r1, r3, " MA "\n\t"                               \
    "ldrd r0, r2, " BA "\n\t"                               \
    "cmp r1, #0x40000000\n\t"                               \
    "blt 9f\n\t"                                            \
    "cmp r3, #0x40000000\n\t"                               \
    "blt 9f\n\t"                                            \
    BD                                                      \
    "strd r0, r1, [%[g], #" obm "]\n\t"                     \
    "strd r2, r3, [%[g], #" obm1 "]\n\t"                    \
    "ldrd r4, r5, " SA "\n\t"                               \
    "mvn r4, r4\n\t"                                        \
    "cmp r4, #19\n\t"                                       \
    "bhi 9f\n\t"                                            \
    "mvn r5, r5\n\t"                                        \
    "cmp r5, #19\n\t"                                       \
    "bhi 9f\n\t"                                            \
    "lsl r0, r11, r4\n\t"                                   \
    "strd r0, r4, [%[g], #" oce "]\n\t"                     \
    "lsl r2, r11, r5\n\t"                                   \
    "strd r2, r5, [%[g], #" oce1 "]\n\t"
/* clang-format on */
/* A layer's state for its groups' loop: a group's records first (the asm's offsets count
 * from them), then the next group's bias, mult and shift, x - y, nzp = (-zp, -zp), w - y
 * (a group's x and w from its y: the three step 4 bytes a group), its y, the image's
 * y_end and c_step, at the byte offsets 288..320 the loop reads. */
#define DSP_DW_PAIRS_REC 72 /* words of a group's records (rows = 4) */
typedef struct {
    uint32_t rec[DSP_DW_PAIRS_REC]; /* the four channels' records, 8 (rows + 5) words */
    const int32_t *bias, *mult, *shift;
    uint32_t dx;  /* x - y (modulo 2^32) */
    uint32_t nzp; /* beside dx: one LDRD */
    uint32_t dw;  /* w - y */
    int8_t *y, *y_end;
    int32_t c_step;
} dsp_dw_pairs_ctx;
/* the offsets the loop reads (a negative array size breaks the build otherwise) */
typedef char dsp_dw_pairs_layout_check
    [(offsetof(dsp_dw_pairs_ctx, bias) == 288 && offsetof(dsp_dw_pairs_ctx, dx) == 300 &&
      offsetof(dsp_dw_pairs_ctx, nzp) == 304 && offsetof(dsp_dw_pairs_ctx, dw) == 308 &&
      offsetof(dsp_dw_pairs_ctx, y) == 312 && offsetof(dsp_dw_pairs_ctx, y_end) == 316 &&
      offsetof(dsp_dw_pairs_ctx, c_step) == 320)
         ? 1
         : -1];

/* Every group of a layer's image in one asm statement per kind, the groups' loop in it (a
 * function a group, its call and its state's loads cost ~30 instructions a group; gcc's
 * loop in C spilled the pointers): y (r10) and c_step (lr) live through the loop, the
 * rest is read from the state where a phase needs it and the next group's pointers are
 * written back. A group without the DSP_RQ_DOUBLE form leaves the loop at 9 with y at its
 * first channel. The registers a phase takes:
 *   records' parameters (DSP_ASM_PAIRS_PRM2): scratch r0..r5, bias r6, mult r8, shift r9
 *     (post-indexed: the next group's), k r11;
 *   pairs (DSP_ASM_PAIRS_TX, _TW*): scratch r0..r5, x then w r6, nzp r8, the records'
 *     pointer r9, 3 c_step r11;
 *   outputs: scratch r0..r6, r8, r9, y r10, 3 c_step r11, records g. */
/* clang-format off */
#define DSP_ASM_PAIRS_LOOP(PRM, TR, COMPUTE)                \
    "ldr r10, [%[g], #312]\n\t"                             \
    "ldr lr, [%[g], #320]\n\t"                              \
    "1:\n\t"                                                \
    "ldrd r6, r8, [%[g], #288]\n\t"                         \
    "ldr r9, [%[g], #296]\n\t"                              \
    "mvn r11, #254\n\t"                                     \
    PRM                                                     \
    "strd r6, r8, [%[g], #288]\n\t"                         \
    "str r9, [%[g], #296]\n\t"                              \
    "ldrd r6, r8, [%[g], #300]\n\t"                         \
    "add r6, r6, r10\n\t"                                   \
    "add r11, lr, lr, lsl #1\n\t"                           \
    "mov r9, %[g]\n\t"                                      \
    TR                                                      \
    COMPUTE                                                 \
    "ldr r0, [%[g], #316]\n\t"                              \
    "cmp r10, r0\n\t"                                       \
    "bne 1b\n\t"                                            \
    "9:\n\t"                                                \
    "str r10, [%[g], #312]\n\t"
/* the parameters of channels 0, 1 (the pointers stepped on by a group) and 2, 3; b the
 * records' (bias, m) block, (c, e - 1) at b + 32 */
#define DSP_ASM_PAIRS_PRM(b, BD)                            \
    DSP_ASM_PAIRS_PRM2("[r8], #16", "[r6], #16", "[r9], #16", "(" b ")", "(" b " + 8)", \
                       "(" b " + 32)", "(" b " + 40)", BD)  \
    DSP_ASM_PAIRS_PRM2("[r8, #-8]", "[r6, #-8]", "[r9, #-8]", "(" b " + 16)", "(" b " + 24)", \
                       "(" b " + 48)", "(" b " + 56)", BD)
#define DSP_ASM_PAIRS_2X2                                   \
    DSP_ASM_PAIRS_CH2X2("0") DSP_ASM_PAIRS_CH2X2("8")       \
    DSP_ASM_PAIRS_CH2X2("16") DSP_ASM_PAIRS_CH2X2("24")
#define DSP_ASM_PAIRS_4X4                                   \
    DSP_ASM_PAIRS_CH4X4("0") "add r10, r10, #1\n\t"         \
    DSP_ASM_PAIRS_CH4X4U("8") "add r10, r10, #1\n\t"        \
    DSP_ASM_PAIRS_CH4X4("16") "add r10, r10, #1\n\t"        \
    DSP_ASM_PAIRS_CH4X4U("24") "add r10, r10, #1\n\t"
#define DSP_ASM_PAIRS_4X4S2                                 \
    DSP_ASM_PAIRS_CH4X4S2("0", "b") "add r10, r10, #1\n\t"  \
    DSP_ASM_PAIRS_CH4X4S2("8", "b") "add r10, r10, #1\n\t"  \
    DSP_ASM_PAIRS_CH4X4S2("16", "t") "add r10, r10, #1\n\t" \
    DSP_ASM_PAIRS_CH4X4S2("24", "t") "add r10, r10, #1\n\t"
#define DSP_ASM_PAIRS_ROW4 "add r6, r6, lr, lsl #2\n\t" /* the next row of four pixels */
#define DSP_ASM_PAIRS_TX4                                                      \
    DSP_ASM_PAIRS_TX(DSP_ASM_PAIRS_ROW4) DSP_ASM_PAIRS_TX(DSP_ASM_PAIRS_ROW4)  \
    DSP_ASM_PAIRS_TX(DSP_ASM_PAIRS_ROW4) DSP_ASM_PAIRS_TX("")
/* clang-format on */
#define DSP_DW_PAIRS_RUN(NAME, TEXT)                                                               \
    static __attribute__((noinline)) void NAME(dsp_dw_pairs_ctx *g) {                              \
        __asm__ __volatile__(TEXT                                                                  \
                             :                                                                     \
                             : [g] "r"(g)                                                          \
                             : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", \
                               "lr", "cc", "memory");                                              \
    }
DSP_DW_PAIRS_RUN(dsp_dw_pairs_run2x2,
                 DSP_ASM_PAIRS_LOOP(DSP_ASM_PAIRS_PRM("128", ""),
                                    DSP_ASM_PAIRS_TX("") DSP_ASM_PAIRS_TW3, DSP_ASM_PAIRS_2X2))
DSP_DW_PAIRS_RUN(dsp_dw_pairs_run4x4,
                 DSP_ASM_PAIRS_LOOP(DSP_ASM_PAIRS_PRM("224", DSP_ASM_PAIRS_BIAS2),
                                    DSP_ASM_PAIRS_TX4 DSP_ASM_PAIRS_TW3D, DSP_ASM_PAIRS_4X4))
DSP_DW_PAIRS_RUN(dsp_dw_pairs_run4x4s2,
                 DSP_ASM_PAIRS_LOOP(DSP_ASM_PAIRS_PRM("224", ""),
                                    DSP_ASM_PAIRS_TX4 DSP_ASM_PAIRS_TW3S2, DSP_ASM_PAIRS_4X4S2))
#undef DSP_DW_PAIRS_RUN

/* Every group of four channels of a layer of dsp_dw_small_kind's pairs kinds whose
 * multipliers and shifts have DSP_RQ_DOUBLE's form (e - 1 = ~shift in 0..19, 2^30 <= m:
 * dsp_dw_gq_one's); returns the first channel it left (a group without, c mod 4). */
DSP_ALWAYS_INLINE int32_t dsp_dw_pairs_as(const cnnc_s8_conv_params *p, const int8_t *x,
                                          const int8_t *w, const int32_t *bias, const int32_t *mult,
                                          const int32_t *shift, int8_t *y, int kind) {
    const int32_t c_step = p->c;
    const int32_t px = kind == DSP_DW_PAIRS_2X2 ? 4 : 16,
                  out_px = kind == DSP_DW_PAIRS_4X4 ? 16 : 4;
    int32_t b, c_end = c_step & ~3;
    dsp_dw_pairs_ctx g;
    g.c_step = c_step;
    g.nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    /* images outside, groups inside (the group loop is the one that runs: one image); the
     * first group without the form ends the first image's loop and every later one */
    for (b = 0; b < p->n && c_end > 0; ++b) {
        int8_t *const yb = y + (size_t)b * out_px * c_step;
        g.bias = bias, g.mult = mult, g.shift = shift;
        g.dx = (uint32_t)(uintptr_t)(x + (size_t)b * px * c_step) - (uint32_t)(uintptr_t)yb;
        g.dw = (uint32_t)(uintptr_t)w - (uint32_t)(uintptr_t)yb;
        g.y = yb, g.y_end = yb + c_end;
        if (kind == DSP_DW_PAIRS_2X2)
            dsp_dw_pairs_run2x2(&g);
        else if (kind == DSP_DW_PAIRS_4X4)
            dsp_dw_pairs_run4x4(&g);
        else
            dsp_dw_pairs_run4x4s2(&g);
        c_end = (int32_t)(g.y - yb);
    }
    return c_end;
}
#undef DSP_ASM_PAIRS_LOOP
#undef DSP_ASM_PAIRS_PRM
#undef DSP_ASM_PAIRS_PRM2
#undef DSP_ASM_PAIRS_BIAS2
#undef DSP_ASM_PAIRS_2X2
#undef DSP_ASM_PAIRS_4X4
#undef DSP_ASM_PAIRS_4X4S2
#undef DSP_ASM_PAIRS_TX4
#undef DSP_ASM_PAIRS_ROW4
#undef DSP_ASM_PAIRS_ROW3C
#undef DSP_ASM_PAIRS_TX
#undef DSP_ASM_PAIRS_TWX
#undef DSP_ASM_PAIRS_TW
#undef DSP_ASM_PAIRS_DBL4
#undef DSP_ASM_PAIRS_TW2
#undef DSP_ASM_PAIRS_TW3D
#undef DSP_ASM_PAIRS_TW3
#undef DSP_ASM_PAIRS_TWS2
#undef DSP_ASM_PAIRS_TW3S2
#undef DSP_ASM_PAIRS_RQ
#undef DSP_ASM_PAIRS_CH2X2
#undef DSP_ASM_PAIRS_RQ4
#undef DSP_ASM_PAIRS_KROW0
#undef DSP_ASM_PAIRS_KROW
#undef DSP_ASM_PAIRS_STORE4
#undef DSP_ASM_PAIRS_CH4X4
#undef DSP_ASM_PAIRS_ROW0
#undef DSP_ASM_PAIRS_ROW1
#undef DSP_ASM_PAIRS_ROW2
#undef DSP_ASM_PAIRS_ROW3
#undef DSP_ASM_PAIRS_DOWN
#undef DSP_ASM_PAIRS_UP
#undef DSP_ASM_PAIRS_CH4X4U
#undef DSP_ASM_PAIRS_RQ4Q
#undef DSP_ASM_PAIRS_S2
#undef DSP_ASM_PAIRS_S2ADD
#undef DSP_ASM_PAIRS_LD
#undef DSP_ASM_PAIRS_CH4X4S2

/* The kind of dsp_dw_small_as or dsp_dw_pairs_as that serves p, or -1. */
static int dsp_dw_small_kind(const cnnc_s8_conv_params *p) {
    const int pad1 = p->kernel_h == 3 && p->kernel_w == 3 && p->pad_top == 1 && p->pad_left == 1;
    const int s1 = p->stride_h == 1 && p->stride_w == 1,
              dbl = p->rounding == CNNC_ROUND_DOUBLE && p->y_zero_point == -128;
    if (!pad1) return -1;
    if (s1 && p->h == 2 && p->w == 2 && p->out_h == 2 && p->out_w == 2)
        return dbl ? DSP_DW_PAIRS_2X2 : DSP_DW_SMALL_2X2;
    if (dbl && s1 && p->h == 4 && p->w == 4 && p->out_h == 4 && p->out_w == 4)
        return DSP_DW_PAIRS_4X4;
    if (p->h == 4 && p->w == 4 && p->stride_h == 2 && p->stride_w == 2 && p->out_h == 2 &&
        p->out_w == 2 && p->rounding == CNNC_ROUND_DOUBLE) /* code size: the default rounding */
        return dbl ? DSP_DW_PAIRS_4X4S2 : DSP_DW_SMALL_4X4;
    return -1;
}

/* Every group of four channels of a layer of dsp_dw_small_kind with a fast form; returns
 * the first channel it left (a group without one, or c mod 4 channels). */
DSP_ALWAYS_INLINE int32_t dsp_dw_small_kind_as(const cnnc_s8_conv_params *p, const int8_t *x,
                                               const int8_t *w, const int32_t *bias,
                                               const int32_t *mult, const int32_t *shift, int8_t *y,
                                               int kind) {
    const int32_t c_step = p->c, c4 = c_step & ~3, px = p->h * p->w;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    const size_t img = (size_t)px * c_step, out_img = 4 * (size_t)c_step;
    int32_t c0, b, i;
    for (c0 = 0; c0 < c4; c0 += 4) {
        uint32_t u[34 + 2 * 16]; /* record, weights, pixels: dsp_dw_small_as */
        const int32_t form =
            dsp_dw_gq_fast((int32_t *)u, mult + c0, shift + c0, p->rounding, p->y_zero_point);
        if (form == DSP_RQ_SLOW) return c0;
        CNNC_COPY(u, bias + c0, 4 * sizeof *u);
        dsp_dw_widen_taps9(u + 16, w + c0, c_step, 0);
        for (b = 0; b < p->n; ++b) {
            const int8_t *xb = x + b * img + c0;
            int8_t *const yb = y + b * out_img + c0;
            if (kind == DSP_DW_SMALL_2X2) {
                uint32_t v[4];
                v[0] = dsp_load4(xb), v[1] = dsp_load4(xb + c_step);
                v[2] = dsp_load4(xb + 2 * (size_t)c_step);
                v[3] = dsp_load4(xb + 3 * (size_t)c_step);
                for (i = 0; i < 4; ++i) /* written out */
                    u[34 + 2 * i] = dsp_even_add(nzp, v[i]), u[35 + 2 * i] = dsp_odd_add(nzp, v[i]);
                if (form == DSP_RQ_DOUBLE)
                    dsp_dw_small_as(u, yb, c_step, DSP_RQ_DOUBLE, DSP_DW_SMALL_2X2);
                else
                    dsp_dw_small_as(u, yb, c_step, DSP_RQ_SINGLE, DSP_DW_SMALL_2X2);
            } else {
                dsp_dw_widen_row_add(u + 34, xb, 16, c_step, nzp);
                dsp_dw_small_as(u, yb, c_step, DSP_RQ_DOUBLE, DSP_DW_SMALL_4X4);
            }
        }
    }
    return c4;
}
static __attribute__((noinline)) int32_t dsp_dw_small(const cnnc_s8_conv_params *p, const int8_t *x,
                                                      const int8_t *w, const int32_t *bias,
                                                      const int32_t *mult, const int32_t *shift,
                                                      int8_t *y, int kind) {
    if (kind == DSP_DW_PAIRS_2X2)
        return dsp_dw_pairs_as(p, x, w, bias, mult, shift, y, DSP_DW_PAIRS_2X2);
    if (kind == DSP_DW_PAIRS_4X4)
        return dsp_dw_pairs_as(p, x, w, bias, mult, shift, y, DSP_DW_PAIRS_4X4);
    if (kind == DSP_DW_PAIRS_4X4S2)
        return dsp_dw_pairs_as(p, x, w, bias, mult, shift, y, DSP_DW_PAIRS_4X4S2);
    if (kind == DSP_DW_SMALL_2X2)
        return dsp_dw_small_kind_as(p, x, w, bias, mult, shift, y, DSP_DW_SMALL_2X2);
    return dsp_dw_small_kind_as(p, x, w, bias, mult, shift, y, DSP_DW_SMALL_4X4);
}

/* Every group of four channels of p (dsp_dw_whole_image) whose requantisation has a fast
 * form; returns the first channel it left (a group without one, or c mod 4 channels). */
static __attribute__((noinline)) int32_t dsp_dw_whole(const cnnc_s8_conv_params *p, const int8_t *x,
                                                      const int8_t *w, const int32_t *bias,
                                                      const int32_t *mult, const int32_t *shift,
                                                      int8_t *y) {
    const int32_t c_step = p->c, c4 = c_step & ~3, taps = p->kernel_h * p->kernel_w;
    const size_t in_img = (size_t)p->h * p->w * c_step,
                 out_img = (size_t)p->out_h * p->out_w * c_step;
    int32_t c0, t, b;
    for (c0 = 0; c0 < c4; c0 += 4) {
        uint32_t w4[2 * DSP_MAX_TAPS]; /* [tap][even, odd channel lanes] */
        int32_t gq[16];
        const int32_t form =
            dsp_dw_gq_fast(gq, mult + c0, shift + c0, p->rounding, p->y_zero_point);
        const int8_t *wt = w + c0;
        uint32_t *wp = w4;
        if (form == DSP_RQ_SLOW) return c0;
        for (t = 0; t < taps; ++t, wt += c_step, wp += 2) {
            const uint32_t v = dsp_load4(wt);
            wp[0] = (uint32_t)dsp_even(v), wp[1] = (uint32_t)dsp_odd(v);
        }
        for (b = 0; b < p->n; ++b) {
            const int8_t *xb = x + b * in_img + c0;
            int8_t *yb = y + b * out_img + c0;
            const uint32_t *rq = (const uint32_t *)gq;
            if (p->h == 2 && p->w == 2 && form == DSP_RQ_DOUBLE)
                dsp_dw_whole_windows(p, xb, w4, bias + c0, rq, yb, DSP_RQ_DOUBLE, 2, 2);
            else if (form == DSP_RQ_DOUBLE)
                dsp_dw_whole_windows(p, xb, w4, bias + c0, rq, yb, DSP_RQ_DOUBLE, p->h, p->w);
            else
                dsp_dw_whole_windows(p, xb, w4, bias + c0, rq, yb, DSP_RQ_SINGLE, p->h, p->w);
        }
    }
    return c4;
}
#endif

static CNNC_NOINLINE void dsp_dwconv_image(const cnnc_s8_conv_params *p, const int8_t *x,
                                           const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y);

#if DSP_DW_FAST
/* ---------------------------------------------------------------------------------
 * 3 x 3, stride 2 (dsp_dw3x3_s2): one channel at a time over int16 planes of pixel pairs,
 * the full clamp and the double rounding's doubled sums (DSP_RQ_DOUBLE2, and its form
 * without the sign's term where the output zero point is -128). A plane word is two
 * horizontally adjacent inputs as x - zp (padding 0, so a sum starts at the bias), image
 * column ix at plane column ix + pad_left + (pad_left & 1), so the image's pixel pairs
 * (2j, 2j + 1) are words. Output ox's kernel row then reads the words ox and ox + 1:
 *     sum = SMLAD(word ox, U) + SMLAD(word ox + 1, V)
 * U = (w0, w1), V = (w2, 0) for even pad_left; U = (0, w0), V = (w1, w2) for odd; so
 * each word serves two outputs, and four outputs of a kernel row take one LDM of five
 * words and 8 SMLAD for 12 MACs (the four-channel windows: 9 LDRD-fed SMLAxy for 9).
 * The four channels of a group are widened together (dsp_dw_s2_widen: PKHBT/PKHTB pair
 * two pixels' bytes, SXTAB16 splits the channels), their planes interleaved by row
 * (channel k's row at word k P of a 4 P-word row, P = 9, 13 or 25, the narrowest of them
 * that holds the image's pairs and out_w + 1 words: dsp_dw_s2_pitch), so every offset in
 * both loops is an immediate. */
#define DSP_DW_S2_REC 28 /* words per channel record (dsp_dw_s2_macs): 112 bytes */
/* P = 5 (out_w = 4, odd pad_left, 8 columns: the column's five words a row): each channel's
 * rows follow each other (a plane of up to 17 rows at word 85 k), so the block's LDMs step
 * r themselves (DSP_ASM_S2_ROW_WB); the channels' planes lie within one STRD's reach of
 * channel 3's (3 x 340 bytes). */
#define DSP_DW_S2_P5_CW 85
#define DSP_DW_S2_RW(P) ((P) == 5 ? 5 : 4 * (P))           /* words a plane row down */
#define DSP_DW_S2_CW(P) ((P) == 5 ? DSP_DW_S2_P5_CW : (P)) /* words a channel on */

/* Channels c0..c0+3 of the rows of w pixels from xb (its first pixel's channel c0) to
 * x_end (w a multiple of 8, c_step bytes apart, cs3 = 3 c_step) as x - zp (SXTAB16 onto
 * nzp = (-zp, -zp)) into the planes from d (channel 0's plane word of the first pixel
 * pair; d_end: channel 3's word past the first row's, d_step = 16 P - 2 w the
 * bytes from a row's end to the next's start): per four pixels four word loads,
 * PKHBT/PKHTB into the bytes of channels (c, c + 1) of two pixels, SXTAB16 (plain and
 * ROR #8) into each channel's pair words, one STRD per channel (channel 3's with
 * post-increment, the others at immediate offsets below it); eight pixels a turn (rows of
 * 4 units pixels: a row a turn, the last step's post-increment stepping d to the next). */
/* clang-format off */
#define DSP_ASM_S2_WIDEN4X(A, B, C, D, ADD, POST) \
    "ldr %[va], " A "\n\t" \
    "ldr %[vb], " B "\n\t" \
    "ldr %[vc], " C "\n\t" \
    "ldr %[vd], " D "\n\t" \
    ADD \
    "pkhbt %[t], %[va], %[vb], lsl #16\n\t" \
    "pkhtb %[vb], %[vb], %[va], asr #16\n\t" \
    "pkhbt %[va], %[vc], %[vd], lsl #16\n\t" \
    "pkhtb %[vd], %[vd], %[vc], asr #16\n\t" \
    "sxtab16 %[vc], %[nzp], %[t]\n\t" \
    "sxtab16 %[u], %[nzp], %[va]\n\t" \
    "strd %[vc], %[u], [%[d], #-%c[o3]]\n\t" \
    "sxtab16 %[vc], %[nzp], %[t], ror #8\n\t" \
    "sxtab16 %[t], %[nzp], %[va], ror #8\n\t" \
    "strd %[vc], %[t], [%[d], #-%c[o2]]\n\t" \
    "sxtab16 %[vc], %[nzp], %[vb]\n\t" \
    "sxtab16 %[va], %[nzp], %[vd]\n\t" \
    "strd %[vc], %[va], [%[d], #-%c[o1]]\n\t" \
    "sxtab16 %[vc], %[nzp], %[vb], ror #8\n\t" \
    "sxtab16 %[vb], %[nzp], %[vd], ror #8\n\t" \
    "strd %[vc], %[vb], [%[d]], #" POST "\n\t"
/* pixels 0..3 and 4..7 of xp (cs5 = 5 c_step, cs7 = 7 c_step): one ADD per eight pixels */
#define DSP_ASM_S2_X03 "[%[xp]]", "[%[xp], %[cs]]", "[%[xp], %[cs], lsl #1]", "[%[xp], %[cs3]]"
#define DSP_ASM_S2_X47 "[%[xp], %[cs], lsl #2]", "[%[xp], %[cs5]]", "[%[xp], %[cs3], lsl #1]", \
    "[%[xp], %[cs7]]"
#define DSP_ASM_S2_ADD4 "add %[xp], %[xp], %[cs], lsl #2\n\t"
#define DSP_ASM_S2_ADD8 "add %[xp], %[xp], %[cs], lsl #3\n\t"
#define DSP_ASM_S2_WIDEN4X_(...) DSP_ASM_S2_WIDEN4X(__VA_ARGS__)
#define DSP_ASM_S2_WIDEN4 DSP_ASM_S2_WIDEN4X_(DSP_ASM_S2_X03, DSP_ASM_S2_ADD4, "8")
/* a row's last step: channel 3's STRD steps d on to the next row (dsp_dw_s2_widen_rows) */
#define DSP_ASM_S2_WIDEN4L DSP_ASM_S2_WIDEN4X_(DSP_ASM_S2_X03, DSP_ASM_S2_ADD4, "%c[dpost]")
#define DSP_ASM_S2_WIDEN8 \
    DSP_ASM_S2_WIDEN4X_(DSP_ASM_S2_X03, "", "8") \
    DSP_ASM_S2_WIDEN4X_(DSP_ASM_S2_X47, DSP_ASM_S2_ADD8, "8")
#define DSP_ASM_S2_WIDEN8L \
    DSP_ASM_S2_WIDEN4X_(DSP_ASM_S2_X03, "", "8") \
    DSP_ASM_S2_WIDEN4X_(DSP_ASM_S2_X47, DSP_ASM_S2_ADD8, "%c[dpost]")
/* clang-format on */
/* Rows of 4 units pixels (the pitch's widest multiple of 8, P = 9: 16, P = 13: 24, P = 25:
 * 48, or 8 and 12 at P = 9; P = 5: 8), a row a loop turn (the steps written out, eight
 * pixels at offsets 0..7 c_step from xp (registers cs..cs7) and one ADD: DSP_ASM_S2_WIDEN8): no
 * per-step compare, d_end unused; 0 where the eight-pixel loop widens the rows (w a multiple of 8).
 */
#define DSP_DW_S2_UNITS(P, w)                      \
    ((P) == 5 ? ((w) == 8 ? 2 : 0)                 \
     : (w) == ((P) == 9    ? 16                    \
               : (P) == 13 ? 24                    \
                           : 48) ||                \
             ((P) == 9 && ((w) == 8 || (w) == 12)) \
         ? (w) / 4                                 \
         : 0)
/* gcc sizes an asm statement by its lines (its literal pools must lie within reach), so the
 * rows' steps are written out, not .rept */
#define DSP_ASM_S2_WIDEN24 DSP_ASM_S2_WIDEN8 DSP_ASM_S2_WIDEN8 DSP_ASM_S2_WIDEN8
#define DSP_DW_S2_WIDEN_ROWS(STEPS, LAST)                                                       \
    __asm__ __volatile__(                                                                       \
        "1:\n\t" STEPS LAST                                                                     \
        "cmp %[xp], %[x_end]\n\t"                                                               \
        "blo 1b"                                                                                \
        : [va] "=&r"(va), [vb] "=&r"(vb), [vc] "=&r"(vc), [vd] "=&r"(vd), [t] "=&r"(t),         \
          [u] "=&r"(u), [xp] "+&r"(xp), [d] "+&r"(dp)                                           \
        : [cs] "r"(c_step), [cs3] "r"(cs3), [cs5] "r"(5 * c_step), [cs7] "r"(7 * c_step),       \
          [nzp] "r"(nzp), [dpost] "i"(4 * DSP_DW_S2_RW(P) - 8 * units + 8), [x_end] "r"(x_end), \
          [o1] "i"(4 * DSP_DW_S2_CW(P)), [o2] "i"(8 * DSP_DW_S2_CW(P)),                         \
          [o3] "i"(12 * DSP_DW_S2_CW(P))                                                        \
        : "cc", "memory")
DSP_ALWAYS_INLINE void dsp_dw_s2_widen_rows(uint32_t *d, const int8_t *xb, const int8_t *x_end,
                                            uint32_t d_step, int32_t c_step, int32_t cs3,
                                            uint32_t nzp, const int32_t units, const int32_t P) {
    const int8_t *xp = xb;
    uint32_t *dp = d + 3 * DSP_DW_S2_CW(P);
    uint32_t va, vb, vc, vd, t, u;
    (void)d_step; /* 4 RW(P) - 8 units, the last step's post-increment less 8 */
    if (units == 2)
        DSP_DW_S2_WIDEN_ROWS("", DSP_ASM_S2_WIDEN8L);
    else if (units == 3)
        DSP_DW_S2_WIDEN_ROWS(DSP_ASM_S2_WIDEN8, DSP_ASM_S2_WIDEN4L);
    else if (units == 4)
        DSP_DW_S2_WIDEN_ROWS(DSP_ASM_S2_WIDEN8, DSP_ASM_S2_WIDEN8L);
    else if (units == 6)
        DSP_DW_S2_WIDEN_ROWS(DSP_ASM_S2_WIDEN8 DSP_ASM_S2_WIDEN8, DSP_ASM_S2_WIDEN8L);
    else
        DSP_DW_S2_WIDEN_ROWS(DSP_ASM_S2_WIDEN24 DSP_ASM_S2_WIDEN8 DSP_ASM_S2_WIDEN8,
                             DSP_ASM_S2_WIDEN8L);
}

DSP_ALWAYS_INLINE void dsp_dw_s2_widen(uint32_t *d, const int8_t *xb, const int8_t *x_end,
                                       uint32_t *d_end, uint32_t d_step, int32_t c_step,
                                       int32_t cs3, uint32_t nzp, int units, const int32_t P) {
    const int8_t *xp = xb;
    uint32_t *dp = d + 3 * DSP_DW_S2_CW(P);
    uint32_t va, vb, vc, vd, t, u;
    if (P == 5 || (P == 9 && units == 2)) { /* DSP_DW_S2_UNITS */
        dsp_dw_s2_widen_rows(d, xb, x_end, d_step, c_step, cs3, nzp, 2, P);
        return;
    }
    if (P == 9 && units == 3) {
        dsp_dw_s2_widen_rows(d, xb, x_end, d_step, c_step, cs3, nzp, 3, P);
        return;
    }
    if (units) {
        dsp_dw_s2_widen_rows(d, xb, x_end, d_step, c_step, cs3, nzp,
                             P == 9    ? 4
                             : P == 13 ? 6
                                       : 12,
                             P);
        return;
    }
    __asm__ __volatile__(
        "1:\n\t" DSP_ASM_S2_WIDEN4 DSP_ASM_S2_WIDEN4
        "cmp %[d], %[d_end]\n\t"
        "blo 1b\n\t"
        "add %[d], %[d], %[d_step]\n\t"
        "add %[d_end], %[d_end], #%c[rowb]\n\t"
        "cmp %[xp], %[x_end]\n\t"
        "blo 1b"
        : [va] "=&r"(va), [vb] "=&r"(vb), [vc] "=&r"(vc), [vd] "=&r"(vd), [t] "=&r"(t),
          [u] "=&r"(u), [xp] "+&r"(xp), [d] "+&r"(dp), [d_end] "+&r"(d_end)
        : [cs] "r"(c_step), [cs3] "r"(cs3), [nzp] "r"(nzp), [d_step] "r"(d_step),
          [x_end] "r"(x_end), [o1] "i"(4 * DSP_DW_S2_CW(P)), [o2] "i"(8 * DSP_DW_S2_CW(P)),
          [o3] "i"(12 * DSP_DW_S2_CW(P)), [rowb] "i"(4 * DSP_DW_S2_RW(P))
        : "cc", "memory");
}

/* Every output of the group's four channels in one asm loop (gcc's loops around asm of
 * 14 registers reload their state per call), column by column of four outputs down the
 * rows; a block: per kernel row one LDM of five plane words (the rows 16 P
 * bytes apart), the row's (U, V) and 8 SMLAD, then the requantisation and four STRB.
 * y (lr) walks the outputs: the first channel's first output on entry, stepped per block,
 * column and channel by the records' words. rec (word 7 of the first of four records of
 * DSP_DW_S2_REC words, byte offsets from it):
 *   -28 the column's end for r (rewritten per column, reset per channel), -24 m, -20 c,
 *   -16 e, -12 c_step, -8 3 c_step, -4 out_w c_step (one LDMDB); 0 2 bias x 4, 16 (U, V)
 *   x 3 (one LDM with the sums' start, two LDRD); 40 the steps of r and y to the next
 *   column, 48 r's end of the last column, 52 the plane's word 0 of the channel (P = 5:
 *   of its second row where the top row is skipped), 56 the first column's end, 60 1
 *   where the first output row's top kernel row is padding (skipped), 64 the end of the
 *   four records, 68 the step of y to the next channel.
 * z: the output zero point is -128 (DSP_RQ_DOUBLE2Z; 3: also odd pad_left at P = 5 and 9,
 * the first column without its padding products: DSP_ASM_S2_COL0; 2: out_w = 2 mod 4), else
 * DSP_RQ_DOUBLE2's sign term through x0 (the column's end then reloaded). */
/* clang-format off */
/* Odd pad_left: the first column's word 0 is padding (x - zp = 0 in both lanes), so its
 * first output's U product adds 0 on every kernel row; the first column runs its own copy
 * of the block loop (label 11, table c/d) without those 3 SMLAD, then the columns after it
 * the loop at 3 (out_w = 4: the first column is the only one). */
#define DSP_ASM_S2_MAC7                                     \
    "smlad %[a0], %[x1], %[wb], %[a0]\n\t"                  \
    "smlad %[a1], %[x1], %[wa], %[a1]\n\t"                  \
    "smlad %[a1], %[x2], %[wb], %[a1]\n\t"                  \
    "smlad %[a2], %[x2], %[wa], %[a2]\n\t"                  \
    "smlad %[a2], %[x3], %[wb], %[a2]\n\t"                  \
    "smlad %[a3], %[x3], %[wa], %[a3]\n\t"                  \
    "smlad %[a3], %[x4], %[wb], %[a3]\n\t"
/* One kernel row of the four outputs: MAC7 and the first output's product on word 0 */
#define DSP_ASM_S2_MAC8                             \
    "smlad %[a0], %[x0], %[wa], %[a0]\n\t" DSP_ASM_S2_MAC7
#define DSP_ASM_S2_ROW                                      \
    "ldm %[r], {%[x0], %[x1], %[x2], %[x3], %[x4]}\n\t"
/* DSP_RQ_DOUBLE2Z's four outputs with the shift inside SSAT (ASR #e is an immediate): one
 * block per e in 1..20 of SMMLAR and SSAT per output (the sums in r0..r3, m and c in r5,
 * r6: dsp_dw_s2_macs' registers), every instruction 32-bit so block e sits at
 * dsp_dw_s2_rqz + 36 (e - 1); a block is entered by LDR PC of the channel's record word 25
 * (dsp_dw_s2_rq4 writes it) and returns by LDR PC of word 26 (written on the asm's entry):
 * 10 instructions for the four, not 12. */
#define DSP_ASM_S2_RQZ_E1(a, e) \
    "smmlar.w " a ", " a ", r5, r6\n\tssat.w " a ", #8, " a ", asr #" #e "\n\t"
#define DSP_ASM_S2_RQZ_BLK(e)                                                      \
    DSP_ASM_S2_RQZ_E1("r0", e) DSP_ASM_S2_RQZ_E1("r1", e) DSP_ASM_S2_RQZ_E1("r2", e) \
        DSP_ASM_S2_RQZ_E1("r3", e) "ldr.w pc, [r12, #76]\n\t"
__asm__(".pushsection .text.dsp_dw_s2_rqz,\"ax\",%progbits\n\t"
        ".syntax unified\n\t"
        ".thumb\n\t"
        ".p2align 2\n"
        "dsp_dw_s2_rqz:\n\t" DSP_ASM_S2_RQZ_BLK(1) DSP_ASM_S2_RQZ_BLK(2) DSP_ASM_S2_RQZ_BLK(3)
            DSP_ASM_S2_RQZ_BLK(4) DSP_ASM_S2_RQZ_BLK(5) DSP_ASM_S2_RQZ_BLK(6)
                DSP_ASM_S2_RQZ_BLK(7) DSP_ASM_S2_RQZ_BLK(8) DSP_ASM_S2_RQZ_BLK(9)
                    DSP_ASM_S2_RQZ_BLK(10) DSP_ASM_S2_RQZ_BLK(11) DSP_ASM_S2_RQZ_BLK(12)
                        DSP_ASM_S2_RQZ_BLK(13) DSP_ASM_S2_RQZ_BLK(14) DSP_ASM_S2_RQZ_BLK(15)
                            DSP_ASM_S2_RQZ_BLK(16) DSP_ASM_S2_RQZ_BLK(17) DSP_ASM_S2_RQZ_BLK(18)
                                DSP_ASM_S2_RQZ_BLK(19) DSP_ASM_S2_RQZ_BLK(20) ".popsection");
extern const uint32_t dsp_dw_s2_rqz[]; /* the blocks above */
/* The blocks' return point into the four records' word 26 */
#define DSP_ASM_S2_PROZ               \
    "adr %[x0], 7f\n\t"               \
    "orr %[x0], %[x0], #1\n\t"        \
    "str %[x0], [%[rec], #76]\n\t"    \
    "str %[x0], [%[rec], #188]\n\t"   \
    "str %[x0], [%[rec], #300]\n\t"   \
    "str %[x0], [%[rec], #412]\n\t"
#define DSP_ASM_S2_RQ2(a)                                   \
    "add %[x0], %[x2], %[" a "], asr #31\n\t"               \
    "smmlar %[" a "], %[" a "], %[x1], %[x0]\n\t"           \
    "asr %[" a "], %[" a "], %[x3]\n\t"                     \
    "ssat %[" a "], #8, %[" a "]\n\t"
#define DSP_ASM_S2_STOREZ                                                       \
    "ldmdb %[rec], {%[x0], %[x1], %[x2], %[x3], %[x4], %[wa], %[wb]}\n\t"       \
    "ldr pc, [%[rec], #72]\n\t"                                                 \
    "7:\n\t"
#define DSP_ASM_S2_STORE2                                                       \
    "ldmdb %[rec], {%[x1], %[x2], %[x3], %[x4], %[wa], %[wb]}\n\t"              \
    DSP_ASM_S2_RQ2("a0") DSP_ASM_S2_RQ2("a1") DSP_ASM_S2_RQ2("a2") DSP_ASM_S2_RQ2("a3") \
    "ldr %[x0], [%[rec], #-28]\n\t"
/* DSP_RQ_DOUBLE2Z's blocks inside the loop's asm (full columns): TBH on the record's e - 1
 * (word 3) enters block e, which requantises and stores the four outputs and branches on
 * to the next block or the column end itself, one LDR PC less a block than the shared
 * dsp_dw_s2_rqz blocks (their return); %= names one asm statement's labels. */
#define DSP_ASM_S2_TB_E1(a, e) \
    "smmlar %[" a "], %[" a "], %[x1], %[x2]\n\tssat %[" a "], #8, %[" a "], asr #" #e "\n\t"
/* block e of the table L, looping back to LOOP (the column's next block), past the column
 * on to END */
#define DSP_ASM_S2_TB_BLKX(e, L, LOOP, END)                                  \
    "s2" L "%=_" #e ":\n\t" DSP_ASM_S2_TB_E1("a0", e) DSP_ASM_S2_TB_E1("a1", e) \
        DSP_ASM_S2_TB_E1("a2", e) DSP_ASM_S2_TB_E1("a3", e)                 \
    "strb %[a0], [%[y]]\n\t"                                              \
    "strb %[a1], [%[y], %[x4]]\n\t"                                       \
    "strb %[a2], [%[y], %[x4], lsl #1]\n\t"                               \
    "strb %[a3], [%[y], %[wa]]\n\t"                                       \
    "add %[y], %[y], %[wb]\n\t"                                           \
    "cmp %[r], %[x0]\n\t"                                                 \
    "blo " LOOP "\n\t"                                                    \
    "b " END "\n\t"
#define DSP_ASM_S2_TB_BLKS(L, LOOP, END)                                      \
    DSP_ASM_S2_TB_BLKX(1, L, LOOP, END) DSP_ASM_S2_TB_BLKX(2, L, LOOP, END)   \
    DSP_ASM_S2_TB_BLKX(3, L, LOOP, END) DSP_ASM_S2_TB_BLKX(4, L, LOOP, END)   \
    DSP_ASM_S2_TB_BLKX(5, L, LOOP, END) DSP_ASM_S2_TB_BLKX(6, L, LOOP, END)   \
    DSP_ASM_S2_TB_BLKX(7, L, LOOP, END) DSP_ASM_S2_TB_BLKX(8, L, LOOP, END)   \
    DSP_ASM_S2_TB_BLKX(9, L, LOOP, END) DSP_ASM_S2_TB_BLKX(10, L, LOOP, END)  \
    DSP_ASM_S2_TB_BLKX(11, L, LOOP, END) DSP_ASM_S2_TB_BLKX(12, L, LOOP, END) \
    DSP_ASM_S2_TB_BLKX(13, L, LOOP, END) DSP_ASM_S2_TB_BLKX(14, L, LOOP, END) \
    DSP_ASM_S2_TB_BLKX(15, L, LOOP, END) DSP_ASM_S2_TB_BLKX(16, L, LOOP, END) \
    DSP_ASM_S2_TB_BLKX(17, L, LOOP, END) DSP_ASM_S2_TB_BLKX(18, L, LOOP, END) \
    DSP_ASM_S2_TB_BLKX(19, L, LOOP, END) DSP_ASM_S2_TB_BLKX(20, L, LOOP, END)
#define DSP_ASM_S2_TB_ENT(e, L, T) ".hword (s2" L "%=_" #e " - s2" T "%=) / 2\n\t"
/* the table T of the blocks L, entered by e - 1 (word 3: dsp_dw_s2_rq4's form 1) */
#define DSP_ASM_S2_STORETBX(L, T)                                               \
    "ldmdb %[rec], {%[x0], %[x1], %[x2], %[x3], %[x4], %[wa], %[wb]}\n\t"       \
    "tbh [pc, %[x3], lsl #1]\n\t"                                              \
    "s2" T "%=:\n\t" DSP_ASM_S2_TB_ENT(1, L, T)                                  \
    DSP_ASM_S2_TB_ENT(2, L, T) DSP_ASM_S2_TB_ENT(3, L, T) DSP_ASM_S2_TB_ENT(4, L, T) \
    DSP_ASM_S2_TB_ENT(5, L, T) DSP_ASM_S2_TB_ENT(6, L, T) DSP_ASM_S2_TB_ENT(7, L, T) \
    DSP_ASM_S2_TB_ENT(8, L, T) DSP_ASM_S2_TB_ENT(9, L, T) DSP_ASM_S2_TB_ENT(10, L, T) \
    DSP_ASM_S2_TB_ENT(11, L, T) DSP_ASM_S2_TB_ENT(12, L, T) DSP_ASM_S2_TB_ENT(13, L, T) \
    DSP_ASM_S2_TB_ENT(14, L, T) DSP_ASM_S2_TB_ENT(15, L, T) DSP_ASM_S2_TB_ENT(16, L, T) \
    DSP_ASM_S2_TB_ENT(17, L, T) DSP_ASM_S2_TB_ENT(18, L, T) DSP_ASM_S2_TB_ENT(19, L, T) \
    DSP_ASM_S2_TB_ENT(20, L, T)
#define DSP_ASM_S2_STORETB DSP_ASM_S2_STORETBX("b", "t")
#define DSP_ASM_S2_TAIL_TB "b 2f\n\t" DSP_ASM_S2_TB_BLKS("b", "1b", "9b") "2:"
#define DSP_ASM_S2_ROW_ADD DSP_ASM_S2_ROW "add %[r], %[r], #%c[rowb]\n\t"
/* P = 5: the rows one after the other */
#define DSP_ASM_S2_ROW_WB "ldm %[r]!, {%[x0], %[x1], %[x2], %[x3], %[x4]}\n\t"
/* the column's first block, its top kernel row skipped where word 22 says so */
#define DSP_ASM_S2_ENTRY                                    \
    "cbz %[x0], 14f\n\t"                                     \
    "add %[r], %[r], #%c[rowb]\n\t"                         \
    "b 15f\n\t"
/* P = 5: r starts a row down where the top row is skipped (word 20) */
#define DSP_ASM_S2_ENTRY5                                   \
    "cbnz %[x0], 15f\n\t"                                    \
    "b 14f\n\t"
#define DSP_ASM_S2_COL0X(ROWN, ENTRY)                           \
    "ldm %[rec], {%[a0], %[a1], %[a2], %[a3], %[wa], %[wb]}\n\t" \
    "ldr %[x0], [%[rec], #60]\n\t"                          \
    ENTRY                                                   \
    "11:\n\t"                                               \
    "ldm %[rec], {%[a0], %[a1], %[a2], %[a3], %[wa], %[wb]}\n\t" \
    "14:\n\t"                                               \
    ROWN                                                    \
    DSP_ASM_S2_MAC7                                         \
    "15:\n\t"                                               \
    "ldrd %[wa], %[wb], [%[rec], #24]\n\t"                  \
    ROWN                                                    \
    DSP_ASM_S2_MAC7                                         \
    "ldrd %[wa], %[wb], [%[rec], #32]\n\t"                  \
    DSP_ASM_S2_ROW                                          \
    DSP_ASM_S2_MAC7                                         \
    DSP_ASM_S2_STORETBX("c", "d")
#define DSP_ASM_S2_COL0 DSP_ASM_S2_COL0X(DSP_ASM_S2_ROW_ADD, DSP_ASM_S2_ENTRY)
#define DSP_ASM_S2_TAIL_TB0                                            \
    "b 2f\n\t" DSP_ASM_S2_TB_BLKS("b", "1b", "9b") DSP_ASM_S2_TB_BLKS("c", "11b", "9b") "2:"
/* P = 5: the first column is the only one, its end the channel's (the end word never
 * rewritten), so the loop is the first column's and the channel step */
#define DSP_ASM_S2_LOOP5                                           \
    "0:\n\t"                                                      \
    "ldr %[r], [%[rec], #52]\n\t" DSP_ASM_S2_COL0X(DSP_ASM_S2_ROW_WB, DSP_ASM_S2_ENTRY5) \
    "16:\n\t"                                                     \
    "ldrd %[x0], %[x1], [%[rec], #64]\n\t"                        \
    "add %[y], %[y], %[x1]\n\t"                                   \
    "add %[rec], %[rec], #112\n\t"                                \
    "cmp %[rec], %[x0]\n\t"                                       \
    "blo 0b\n\t"                                                  \
    "b 2f\n\t" DSP_ASM_S2_TB_BLKS("c", "11b", "16b") "2:"
#define DSP_ASM_S2_LOOP(PRO, COL0, STORE, PART, TAIL)            \
    PRO "0:\n\t"                                                \
    "ldr %[r], [%[rec], #52]\n\t"                           \
    COL0                                                    \
    "3:\n\t"                                                \
    "ldm %[rec], {%[a0], %[a1], %[a2], %[a3], %[wa], %[wb]}\n\t" \
    "ldr %[x0], [%[rec], #60]\n\t"                          \
    "cbz %[x0], 4f\n\t"                                     \
    "add %[r], %[r], #%c[rowb]\n\t"                         \
    "b 5f\n\t"                                              \
    "1:\n\t"                                                \
    "ldm %[rec], {%[a0], %[a1], %[a2], %[a3], %[wa], %[wb]}\n\t" \
    "4:\n\t"                                                \
    DSP_ASM_S2_ROW                                          \
    "add %[r], %[r], #%c[rowb]\n\t"                         \
    DSP_ASM_S2_MAC8                                         \
    "5:\n\t"                                                \
    "ldrd %[wa], %[wb], [%[rec], #24]\n\t"                  \
    DSP_ASM_S2_ROW                                          \
    "add %[r], %[r], #%c[rowb]\n\t"                         \
    DSP_ASM_S2_MAC8                                         \
    "ldrd %[wa], %[wb], [%[rec], #32]\n\t"                  \
    DSP_ASM_S2_ROW                                          \
    DSP_ASM_S2_MAC8                                         \
    STORE                                                   \
    "strb %[a0], [%[y]]\n\t"                                \
    "strb %[a1], [%[y], %[x4]]\n\t"                         \
    "strb %[a2], [%[y], %[x4], lsl #1]\n\t"                 \
    "strb %[a3], [%[y], %[wa]]\n\t"                         \
    "add %[y], %[y], %[wb]\n\t"                             \
    "cmp %[r], %[x0]\n\t"                                   \
    "blo 1b\n\t"                                            \
    "9:\n\t"                                                \
    "ldr %[x1], [%[rec], #48]\n\t"                          \
    "cmp %[r], %[x1]\n\t"                                   \
    "bhs 6f\n\t"                                            \
    "add %[x0], %[x0], #16\n\t"                             \
    "str %[x0], [%[rec], #-28]\n\t"                         \
    PART                                                    \
    "ldrd %[x0], %[x1], [%[rec], #40]\n\t"                  \
    "add %[r], %[r], %[x0]\n\t"                             \
    "add %[y], %[y], %[x1]\n\t"                             \
    "b 3b\n\t"                                              \
    "6:\n\t"                                                \
    "ldr %[x2], [%[rec], #56]\n\t"                          \
    "str %[x2], [%[rec], #-28]\n\t"                         \
    "ldrd %[x0], %[x1], [%[rec], #64]\n\t"                  \
    "add %[y], %[y], %[x1]\n\t"                             \
    "add %[rec], %[rec], #112\n\t"                          \
    "cmp %[rec], %[x0]\n\t"                                 \
    "blo 0b\n\t"                                            \
    TAIL
/* clang-format on */
#define DSP_DW_S2_MACS(PRO, COL0, STORE, PART, TAIL) \
    DSP_DW_S2_MACS_ASM(DSP_ASM_S2_LOOP(PRO, COL0, STORE, PART, TAIL))
#define DSP_DW_S2_MACS_ASM(LOOP)                                                          \
    __asm__ __volatile__(                                                                 \
        LOOP                                                                              \
        : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0), \
          [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [x4] "=&r"(x4), [wa] "=&r"(wa), \
          [wb] "=&r"(wb), [r] "=&r"(r), [y] "+r"(y), [rec] "+r"(rec)                      \
        : [rowb] "i"(4 * DSP_DW_S2_RW(P))                                                 \
        : "cc", "memory")

/* out_w = 2 mod 4 (DSP_RQ_DOUBLE2Z only): the last column's four outputs computed, two
 * stored. Its blocks return to label 8 (two STRB) instead of 7: PROZ_PART writes label 8's
 * address into the records' word 27, PART copies it into word 26 at the column step (at
 * P = 9 the columns are two, 4 nb + 1 <= 9: the step reaches the last; the next call's PROZ
 * writes 7 back). */
#define DSP_ASM_S2_PROZ_PART        \
    DSP_ASM_S2_PROZ                 \
    "adr %[x0], 8f\n\t"             \
    "orr %[x0], %[x0], #1\n\t"      \
    "str %[x0], [%[rec], #80]\n\t"  \
    "str %[x0], [%[rec], #192]\n\t" \
    "str %[x0], [%[rec], #304]\n\t" \
    "str %[x0], [%[rec], #416]\n\t"
#define DSP_ASM_S2_PART            \
    "ldr %[x1], [%[rec], #80]\n\t" \
    "str %[x1], [%[rec], #76]\n\t"
#define DSP_ASM_S2_TAIL_PART        \
    "b 2f\n\t"                      \
    "8:\n\t"                        \
    "strb %[a0], [%[y]]\n\t"        \
    "strb %[a1], [%[y], %[x4]]\n\t" \
    "add %[y], %[y], %[wb]\n\t"     \
    "cmp %[r], %[x0]\n\t"           \
    "blo 1b\n\t"                    \
    "b 9b\n\t"                      \
    "2:"
DSP_ALWAYS_INLINE void dsp_dw_s2_macs(uint32_t *rec0, int8_t *y0, int z, const int32_t P) {
    /* the LDMs' register order: (a0..a3, wa, wb), (x0..x4), (x0..x4, wa, wb) */
    register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3");
    register uint32_t x0 __asm__("r4"), x1 __asm__("r5"), x2 __asm__("r6"), x3 __asm__("r7"),
        x4 __asm__("r8"), wa __asm__("r9"), wb __asm__("r10");
    register const uint32_t *r __asm__("r11");
    register uint32_t *rec __asm__("r12") = rec0;
    register int8_t *y __asm__("lr") = y0;
    if (z == 3 && P == 5)
        DSP_DW_S2_MACS_ASM(DSP_ASM_S2_LOOP5);
    else if (z == 3)
        DSP_DW_S2_MACS("", DSP_ASM_S2_COL0, DSP_ASM_S2_STORETB, "", DSP_ASM_S2_TAIL_TB0);
    else if (z == 2)
        DSP_DW_S2_MACS(DSP_ASM_S2_PROZ_PART, "", DSP_ASM_S2_STOREZ, DSP_ASM_S2_PART,
                       DSP_ASM_S2_TAIL_PART);
    else if (z)
        DSP_DW_S2_MACS("", "", DSP_ASM_S2_STORETB, "", DSP_ASM_S2_TAIL_TB);
    else
        DSP_DW_S2_MACS("", "", DSP_ASM_S2_STORE2, "", "");
    (void)a0, (void)a1, (void)a2, (void)a3, (void)x0, (void)x1, (void)x2, (void)x3, (void)x4,
        (void)wa, (void)wb, (void)r, (void)y;
}

/* The (U, V) words of channels c0..c0+3 into their records (words 11 + 2 ky, 12 + 2 ky of
 * rec[k], 96 bytes apart) from the weights w (tap (ky, kx) of channel c0 at
 * w[(3 ky + kx) c_step]), per kernel row in asm (gcc's C form spilled the lanes): the
 * three taps' words, SXTB16 into (c0, c0 + 2) and (c0 + 1, c0 + 3) lanes, the paired taps'
 * doubled (SADD16: |2 w| <= 256), each channel's pair by PKHBT/PKHTB, the lone tap by a
 * shift or a shifted mask that doubles it, one STRD per channel. odd: U = (0, w0),
 * V = (w1, w2); else U = (w0, w1), V = (w2, 0). */
/* clang-format off */
#define DSP_ASM_S2_W_LANES(ROT, a, b, c)                    \
    "sxtb16 %[e" a "], %[v" a "]" ROT "\n\t"                  \
    "sadd16 %[e" a "], %[e" a "], %[e" a "]\n\t"               \
    "sxtb16 %[e" b "], %[v" b "]" ROT "\n\t"                  \
    "sadd16 %[e" b "], %[e" b "], %[e" b "]\n\t"               \
    "sxtb16 %[e" c "], %[v" c "]" ROT "\n\t"
/* the lone tap's lane c left single: doubled by the shift that places it, the mask
 * (0xFFFE0000 odd, 0xFFFE even) clearing the bit the other lane's sign shifts in */
#define DSP_ASM_S2_W_ODD(OFF_LO, OFF_HI)                    \
    "lsl %[u], %[e0], #17\n\t"                              \
    "pkhbt %[t], %[e1], %[e2], lsl #16\n\t"                  \
    "strd %[u], %[t], [%[q], #" OFF_LO "]\n\t"               \
    "and %[u], %[mask], %[e0], lsl #1\n\t"                   \
    "pkhtb %[t], %[e2], %[e1], asr #16\n\t"                  \
    "strd %[u], %[t], [%[q], #" OFF_HI "]\n\t"
#define DSP_ASM_S2_W_EVEN(OFF_LO, OFF_HI)                   \
    "pkhbt %[u], %[e0], %[e1], lsl #16\n\t"                  \
    "and %[t], %[mask], %[e2], lsl #1\n\t"                   \
    "strd %[u], %[t], [%[q], #" OFF_LO "]\n\t"               \
    "pkhtb %[u], %[e1], %[e0], asr #16\n\t"                  \
    "and %[t], %[mask], %[e2], lsr #15\n\t"                  \
    "strd %[u], %[t], [%[q], #" OFF_HI "]\n\t"
#define DSP_ASM_S2_W_ROW(PAIRS, a, b, c)                    \
    "ldr %[v0], [%[wr]]\n\t"                                \
    "ldr %[v1], [%[wr], %[cs]]\n\t"                         \
    "ldr %[v2], [%[wr], %[cs], lsl #1]\n\t"                 \
    DSP_ASM_S2_W_LANES("", a, b, c) PAIRS("0", "224")       \
    DSP_ASM_S2_W_LANES(", ror #8", a, b, c) PAIRS("112", "336")
/* clang-format on */
#define DSP_DW_S2_W_ROW(PAIRS, a, b, c)                                                    \
    __asm__ __volatile__(DSP_ASM_S2_W_ROW(PAIRS, a, b, c)                                  \
                         : [v0] "=&r"(v0), [v1] "=&r"(v1), [v2] "=&r"(v2), [e0] "=&r"(e0), \
                           [e1] "=&r"(e1), [e2] "=&r"(e2), [u] "=&r"(u), [t] "=&r"(t)      \
                         : [wr] "r"(wr), [cs] "r"(c_step), [q] "r"(q), [mask] "r"(mask)    \
                         : "memory")
DSP_ALWAYS_INLINE void dsp_dw_s2_weights(uint32_t (*rec)[DSP_DW_S2_REC], const int8_t *w,
                                         int32_t c_step, int odd) {
    const uint32_t mask = odd ? 0xFFFE0000u : 0xFFFEu;
    const size_t c3 = 3 * (size_t)c_step;
    uint32_t v0, v1, v2, e0, e1, e2, u, t, *q = rec[0] + 11;
    const int8_t *wr = w;
    if (odd) {
        DSP_DW_S2_W_ROW(DSP_ASM_S2_W_ODD, "1", "2", "0");
        wr += c3, q += 2;
        DSP_DW_S2_W_ROW(DSP_ASM_S2_W_ODD, "1", "2", "0");
        wr += c3, q += 2;
        DSP_DW_S2_W_ROW(DSP_ASM_S2_W_ODD, "1", "2", "0");
    } else {
        DSP_DW_S2_W_ROW(DSP_ASM_S2_W_EVEN, "0", "1", "2");
        wr += c3, q += 2;
        DSP_DW_S2_W_ROW(DSP_ASM_S2_W_EVEN, "0", "1", "2");
        wr += c3, q += 2;
        DSP_DW_S2_W_ROW(DSP_ASM_S2_W_EVEN, "0", "1", "2");
    }
}

/* The requantisation words (m, c, e: DSP_RQ_DOUBLE's, dsp_rq_make) and the sums' start
 * 2 bias of channels c0..c0+3 into their records (words 1..3 and 7..10 of rec[k]) in asm
 * (gcc's C form spilled them); returns 0 (the records partly written) if a channel has no
 * DSP_RQ_DOUBLE2 form: a multiplier below 2^30, a shift out of -20..-1, |bias| >=
 * DSP_DW3_DOUBLE_BIAS. zp21 = 2 zp + 1: c = 2^(e-1) + zp 2^e = zp21 2^(e-1). */
/* clang-format off */
#define DSP_ASM_S2_RQ(K, Q1, Q3, Q7, Q9, Q25, RQZ, E)           \
    "ldr %[m], [%[mp], #" K "]\n\t"                        \
    "ldr %[s], [%[sp], #" K "]\n\t"                        \
    "ldr %[b], [%[bp], #" K "]\n\t"                        \
    "cmp %[m], #0x40000000\n\t"                            \
    "blt 9f\n\t"                                           \
    "mvn %[s], %[s]\n\t"                                   \
    "cmp %[s], #19\n\t"                                    \
    "bhi 9f\n\t"                                           \
    "add %[t], %[b], %[off]\n\t"                           \
    "cmp %[t], %[lim]\n\t"                                 \
    "bhs 9f\n\t"                                           \
    RQZ("str %[t], [%[q], #" Q25 "]\n\t")                  \
    "lsl %[t], %[zp21], %[s]\n\t"                          \
    "strd %[m], %[t], [%[q], #" Q1 "]\n\t"                 \
    E                                                      \
    "str %[s], [%[q], #" Q3 "]\n\t"                        \
    "lsl %[b], %[b], #1\n\t"                               \
    "strd %[b], %[b], [%[q], #" Q7 "]\n\t"                 \
    "strd %[b], %[b], [%[q], #" Q9 "]\n\t"
/* word 25: the channel's dsp_dw_s2_rqz block (form 2 only) */
#define DSP_ASM_S2_RQZ_ADDR(STR)             \
    "add %[t], %[s], %[s], lsl #3\n\t"       \
    "add %[t], %[rqz], %[t], lsl #2\n\t" STR
#define DSP_ASM_S2_NO_RQZ(STR) ""
#define DSP_ASM_S2_E1 "add %[s], %[s], #1\n\t"
/* clang-format on */
#define DSP_ASM_S2_RQ4(RQZ, E)                                     \
    DSP_ASM_S2_RQ("0", "4", "12", "28", "36", "100", RQZ, E)       \
    DSP_ASM_S2_RQ("4", "116", "124", "140", "148", "212", RQZ, E)  \
    DSP_ASM_S2_RQ("8", "228", "236", "252", "260", "324", RQZ, E)  \
    DSP_ASM_S2_RQ("12", "340", "348", "364", "372", "436", RQZ, E) \
    "movs %[ok], #1\n\t"                                           \
    "b 8f\n\t"                                                     \
    "9:\n\t"                                                       \
    "movs %[ok], #0\n\t"                                           \
    "8:"
#define DSP_DW_S2_RQ4(RQZ, E)                                                                 \
    __asm__ __volatile__(                                                                     \
        DSP_ASM_S2_RQ4(RQZ, E)                                                                \
        : [m] "=&r"(m), [s] "=&r"(s), [b] "=&r"(b), [t] "=&r"(t), [ok] "=&r"(ok)              \
        : [mp] "r"(mult), [sp] "r"(shift), [bp] "r"(bias), [q] "r"(rec[0]), [zp21] "r"(zp21), \
          [off] "r"(off), [lim] "r"(lim), [rqz] "r"((uint32_t)(uintptr_t)dsp_dw_s2_rqz + 1u)  \
        : "cc", "memory")
/* form: the word 3 and 25 each loop reads: 0 e for DSP_ASM_S2_STORE2's ASR, 1 e - 1 for
 * the TBH tables (DSP_ASM_S2_STORETBX), 2 the dsp_dw_s2_rqz block (DSP_ASM_S2_STOREZ) */
DSP_ALWAYS_INLINE int dsp_dw_s2_rq4(uint32_t (*rec)[DSP_DW_S2_REC], const int32_t *mult,
                                    const int32_t *shift, const int32_t *bias, uint32_t zp21,
                                    int form) {
    const uint32_t lim = 2u * (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u,
                   off = (uint32_t)DSP_DW3_DOUBLE_BIAS - 1u;
    uint32_t m, s, b, t;
    int ok;
    if (form == 2)
        DSP_DW_S2_RQ4(DSP_ASM_S2_RQZ_ADDR, "");
    else if (form == 1)
        DSP_DW_S2_RQ4(DSP_ASM_S2_NO_RQZ, "");
    else
        DSP_DW_S2_RQ4(DSP_ASM_S2_NO_RQZ, DSP_ASM_S2_E1);
    return ok;
}

/* The layer's words of ng records (dsp_dw_s2_macs) for the planes in buf at pitch P */
DSP_ALWAYS_INLINE void dsp_dw_s2_records(const cnnc_s8_conv_params *p,
                                         uint32_t (*rec)[DSP_DW_S2_REC], int32_t ng,
                                         const uint32_t *buf, int32_t P) {
    const int32_t c_step = p->c, rw = DSP_DW_S2_RW(P), cw = DSP_DW_S2_CW(P);
    const int32_t nb = (p->out_w + 3) >> 2;
    const uint32_t col_b = 8 * rw * (uint32_t)p->out_h; /* bytes of r down a column */
    const uint32_t y_row = (uint32_t)(p->out_w * c_step), out_img = (uint32_t)p->out_h * y_row;
    int32_t k;
    for (k = 0; k < ng; ++k) {
        uint32_t *const q = rec[k];
        const uint32_t r0 = (uint32_t)(uintptr_t)(buf + k * cw);
        q[0] = q[21] = r0 + col_b;
        q[4] = (uint32_t)c_step, q[5] = 3u * (uint32_t)c_step, q[6] = y_row;
        q[17] = 16u - col_b, q[18] = 4u * (uint32_t)c_step - out_img;
        q[19] = r0 + 16u * (uint32_t)(nb - 1) + col_b;
        q[20] = r0 + (P == 5 && p->pad_top > 0 ? 4u * (uint32_t)rw : 0u); /* ENTRY5 */
        q[22] = p->pad_top > 0;
        q[23] = (uint32_t)(uintptr_t)(rec[0] + 7) + (uint32_t)(ng * sizeof rec[0]); /* past */
        q[24] = 1u - 4u * (uint32_t)(nb - 1) * (uint32_t)c_step - out_img;
    }
}

/* P = 5, eight channels a turn (c4 a multiple of 8): both halves' records, weights and
 * planes (the second at word 4 DSP_DW_S2_P5_CW), one dsp_dw_s2_macs over the eight records
 * (d0: channel 0's first pair, the padding zeroed); a function of its own so that
 * dsp_dw3x3_s2's other loops keep their registers and stack. Channels from a group without
 * DSP_RQ_DOUBLE2 on run the reference loop. */
static __attribute__((noinline)) void dsp_dw_s2_eights(const cnnc_s8_conv_params *p,
                                                       const int8_t *x, const int8_t *w,
                                                       const int32_t *bias, const int32_t *mult,
                                                       const int32_t *shift, int8_t *y,
                                                       const uint32_t *buf, uint32_t *d0) {
    const int32_t c_step = p->c, c4 = c_step & ~3, cs3 = 3 * c_step;
    const size_t in_img = (size_t)p->h * p->w * c_step,
                 out_img = (size_t)p->out_h * p->out_w * c_step;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    const uint32_t zp21 = 2u * (uint32_t)p->y_zero_point + 1u;
    const uint32_t d_step = 4 * DSP_DW_S2_RW(5) - 2 * (uint32_t)p->w;
    const int8_t *const x_last = x + (size_t)p->n * in_img;
    uint32_t rec[8][DSP_DW_S2_REC];
    int32_t c0;
    dsp_dw_s2_records(p, rec, 8, buf, 5);
    for (c0 = 0; c0 < c4; c0 += 8) {
        const int8_t *xb, *wc;
        int8_t *yb;
        __asm__("" : "+r"(c0));
        xb = x + c0, yb = y + c0, wc = w + c0;
        if (!dsp_dw_s2_rq4(rec, mult + c0, shift + c0, bias + c0, zp21, 1) ||
            !dsp_dw_s2_rq4(rec + 4, mult + c0 + 4, shift + c0 + 4, bias + c0 + 4, zp21, 1)) {
            dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c0);
            return;
        }
        dsp_dw_s2_weights(rec, wc, c_step, 1);
        dsp_dw_s2_weights(rec + 4, wc + 4, c_step, 1);
        do { /* every image */
            dsp_dw_s2_widen(d0, xb, xb + in_img, d0, d_step, c_step, cs3, nzp, 2, 5);
            dsp_dw_s2_widen(d0 + 4 * DSP_DW_S2_P5_CW, xb + 4, xb + 4 + in_img, d0, d_step, c_step,
                            cs3, nzp, 2, 5);
            dsp_dw_s2_macs(rec[0] + 7, yb, 3, 5);
            xb += in_img, yb += out_img;
        } while (xb < x_last);
    }
    if (c4 < c_step) dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c4);
}

/* The layer through the stride-2 planes if it fits them (3 x 3, stride 2, out_w a multiple
 * of 4 up to 24, or 6 with the output zero point -128; w a multiple of 8, or 12; the planes
 * within buf's DSP_DW_BUF_WORDS, the full clamp, the double rounding); returns 0 (nothing written)
 * otherwise. A group without DSP_RQ_DOUBLE2 (a shift out of the fast range, or a bias too
 * large to double) sends it and the channels after it to the reference loop. */
static __attribute__((noinline)) int dsp_dw3x3_s2(const cnnc_s8_conv_params *p, const int8_t *x,
                                                  const int8_t *w, const int32_t *bias,
                                                  const int32_t *mult, const int32_t *shift,
                                                  int8_t *y, uint32_t *buf) {
    const int32_t c_step = p->c, c4 = c_step & ~3, word0 = (p->pad_left + 1) >> 1;
    const int32_t rows =
        2 * p->out_h + 1 > p->pad_top + p->h ? 2 * p->out_h + 1 : p->pad_top + p->h;
    /* the words a channel's row needs: the image's pairs, 4 nb + 1 for the last block */
    const int32_t nb = (p->out_w + 3) >> 2; /* columns of four outputs, the last maybe two */
    const int32_t need = word0 + p->w / 2 > 4 * nb + 1 ? word0 + p->w / 2 : 4 * nb + 1;
    const int odd = p->pad_left & 1, z = p->y_zero_point == -128;
    /* P = 5 eight channels a turn (dsp_dw_s2_eights), so only where c4 is a multiple of 8 */
    const int32_t P =
        z && odd && p->out_w == 4 && p->w == 8 && need <= 5 && rows <= 17 && (c_step & 4) == 0 ? 5
        : need <= 9                                                                            ? 9
        : need <= 13                                                                           ? 13
                                                                                               : 25;
    const int32_t rw = DSP_DW_S2_RW(P), cw = DSP_DW_S2_CW(P);
    const size_t row = (size_t)p->w * c_step, in_img = (size_t)p->h * row,
                 y_row = (size_t)p->out_w * c_step, out_img = (size_t)p->out_h * y_row;
    const uint32_t nzp = dsp_pack16(-p->x_zero_point, -p->x_zero_point);
    const uint32_t zp21 = 2u * (uint32_t)p->y_zero_point + 1u;
    const int units = DSP_DW_S2_UNITS(P, p->w), part = (p->out_w & 3) != 0;
    const int form = !z ? 0 : part ? 2 : 1;             /* dsp_dw_s2_rq4's words for the loop */
    uint32_t *const d0 = buf + p->pad_top * rw + word0; /* channel 0's first pair */
    uint32_t *const d_end = d0 + 3 * cw + p->w / 2;
    const uint32_t d_step = 4 * rw - 2 * (uint32_t)p->w;
    const int32_t cs3 = 3 * c_step;
    const int8_t *const x_last = x + (size_t)p->n * in_img; /* past the last image */
    uint32_t rec[4][DSP_DW_S2_REC];
    int32_t c0, k, i;
    if (p->kernel_h != 3 || p->kernel_w != 3 || p->stride_h != 2 || p->stride_w != 2 ||
        p->out_w < 4 || need > P || ((p->w & 7) && !units) ||
        ((p->out_w & 3) && ((p->out_w & 3) != 2 || !z || P != 9)) ||
        (P == 5 ? 8 * cw : rows * 4 * P) > DSP_DW_BUF_WORDS || c4 == 0 ||
        p->rounding != CNNC_ROUND_DOUBLE || p->act_min != -128 || p->act_max != 127)
        return 0;
    if (P == 5) { /* the rows above and below the image, channel by channel: the image's
                     pairs fill words 1..4 of its rows, word 0 is never multiplied (COL0);
                     only those rows visited (a test per row cost ~10 instructions a row) */
        const int32_t bottom = p->pad_top + p->h;
        for (k = 0; k < 8 * cw; k += cw) {
            for (i = 0; i < p->pad_top; ++i) {
                uint32_t *const q = buf + k + i * 5;
                q[1] = q[2] = q[3] = q[4] = 0;
            }
            for (i = bottom; i < rows; ++i) {
                uint32_t *const q = buf + k + i * 5;
                q[1] = q[2] = q[3] = q[4] = 0;
            }
        }
    } else { /* the padding the windows read (x - zp = 0): the rows above and below the image,
         and in its rows the words left of its pairs and right of them up to word 4 nb
         (the widening rewrites only the pairs) */
        const int32_t top = p->pad_top * 4 * P, bottom = (p->pad_top + p->h) * 4 * P;
        int32_t j;
        for (i = 0; i < top; i += 4) { /* the empty asm: gcc would call memset */
            buf[i] = buf[i + 1] = buf[i + 2] = buf[i + 3] = 0;
            __asm__("" ::: "memory");
        }
        for (i = bottom; i < rows * 4 * P; i += 4) {
            buf[i] = buf[i + 1] = buf[i + 2] = buf[i + 3] = 0;
            __asm__("" ::: "memory");
        }
        /* a word of every channel's row; word 0 unread where the first column leaves out
           its padding products (DSP_ASM_S2_COL0) */
        for (j = z && odd && !part && P == 9; j < word0; ++j)
            for (i = top + j; i < bottom; i += P) buf[i] = 0;
        for (j = word0 + p->w / 2; j <= 4 * nb; ++j)
            for (i = top + j; i < bottom; i += P) buf[i] = 0;
    }
    if (P == 5) { /* the channels' tail included */
        dsp_dw_s2_eights(p, x, w, bias, mult, shift, y, buf, d0);
        return 1;
    }
    dsp_dw_s2_records(p, rec, 4, buf, P);
    for (c0 = 0; c0 < c4; c0 += 4) {
        const int8_t *xb, *wc;
        int8_t *yb;
        /* c0 opaque: gcc keeps one pointer per array otherwise, each spilled and stepped */
        __asm__("" : "+r"(c0));
        xb = x + c0, yb = y + c0, wc = w + c0;
        if (!dsp_dw_s2_rq4(rec, mult + c0, shift + c0, bias + c0, zp21, form)) {
            dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c0);
            return 1;
        }
        if (odd)
            dsp_dw_s2_weights(rec, wc, c_step, 1);
        else
            dsp_dw_s2_weights(rec, wc, c_step, 0);
        do {              /* every image */
            if (P == 9) { /* the immediates of each pitch */
                dsp_dw_s2_widen(d0, xb, xb + in_img, d_end, d_step, c_step, cs3, nzp, units, 9);
                if (part)
                    dsp_dw_s2_macs(rec[0] + 7, yb, 2, 9);
                else if (z && odd)
                    dsp_dw_s2_macs(rec[0] + 7, yb, 3, 9);
                else if (z)
                    dsp_dw_s2_macs(rec[0] + 7, yb, 1, 9);
                else
                    dsp_dw_s2_macs(rec[0] + 7, yb, 0, 9);
            } else if (P == 13) {
                dsp_dw_s2_widen(d0, xb, xb + in_img, d_end, d_step, c_step, cs3, nzp, units, 13);
                if (z)
                    dsp_dw_s2_macs(rec[0] + 7, yb, 1, 13);
                else
                    dsp_dw_s2_macs(rec[0] + 7, yb, 0, 13);
            } else {
                dsp_dw_s2_widen(d0, xb, xb + in_img, d_end, d_step, c_step, cs3, nzp, units, 25);
                if (z)
                    dsp_dw_s2_macs(rec[0] + 7, yb, 1, 25);
                else
                    dsp_dw_s2_macs(rec[0] + 7, yb, 0, 25);
            }
            xb += in_img, yb += out_img;
        } while (xb < x_last);
    }
    if (c4 < c_step) dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c4);
    return 1;
}
#endif

/* Output rows per band such that a band's padded image (and, for the planes, its plane)
 * fits the stack buffer, or 0 when the whole image fits, or when not even one row does. */
static int32_t dsp_dw_band_rows(const cnnc_s8_conv_params *p) {
    const int32_t pw_need = (p->out_w - 1) * p->stride_w + p->kernel_w;
    const int32_t ph_need = (p->out_h - 1) * p->stride_h + p->kernel_h;
    const int32_t ph = ph_need > p->pad_top + p->h ? ph_need : p->pad_top + p->h;
    int32_t cols = pw_need > p->pad_left + p->w ? pw_need : p->pad_left + p->w, rows, band;
    if ((int64_t)ph * cols * 2 <= DSP_DW_BUF_WORDS) return 0; /* it fits whole */
    if (cols < p->out_w + 5) cols = p->out_w + 5;             /* the plane's columns, rounded up */
    rows = DSP_DW_BUF_WORDS / (2 * cols);                     /* padded rows that fit */
    band = rows < p->kernel_h ? 0 : (rows - p->kernel_h) / p->stride_h + 1;
    return band > 0 && band < p->out_h ? band : 0;
}

/* A layer whose padded image does not fit the buffer, as bands of output rows, each a
 * layer of its own: the input rows its windows read (the halo read twice), the real
 * image's top padding where the band starts above it, the bottom implied by its output
 * rows; the same sums, so the same bytes. Returns 0 (nothing done) if bands cannot help. */
static int dsp_dw_bands(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t band = dsp_dw_band_rows(p);
    const size_t row = (size_t)p->w * p->c, out_row = (size_t)p->out_w * p->c;
    int32_t b, oy0;
    if (!band) return 0;
    for (oy0 = 0; oy0 < p->out_h; oy0 += band) { /* every band must read a real row */
        const int32_t oy1 = oy0 + band < p->out_h ? oy0 + band : p->out_h;
        const int32_t first = oy0 * p->stride_h - p->pad_top;
        const int32_t end = (oy1 - 1) * p->stride_h - p->pad_top + p->kernel_h;
        if ((end < p->h ? end : p->h) <= (first > 0 ? first : 0)) return 0;
    }
    for (b = 0; b < p->n; ++b)
        for (oy0 = 0; oy0 < p->out_h; oy0 += band) {
            cnnc_s8_conv_params q = *p;
            const int32_t oy1 = oy0 + band < p->out_h ? oy0 + band : p->out_h;
            const int32_t first = oy0 * p->stride_h - p->pad_top;
            const int32_t end = (oy1 - 1) * p->stride_h - p->pad_top + p->kernel_h;
            const int32_t lo = first > 0 ? first : 0, hi = end < p->h ? end : p->h;
            q.n = 1;
            q.h = hi - lo;
            q.pad_top = lo - first;
            q.out_h = oy1 - oy0;
            dsp_dwconv_image(&q, x + ((size_t)b * p->h + lo) * row, w, bias, mult, shift,
                             y + ((size_t)b * p->out_h + oy0) * out_row);
        }
    return 1;
}

/* A layer (or a band of one) with its stack buffers: the kernel proper. */
static CNNC_NOINLINE void dsp_dwconv_image(const cnnc_s8_conv_params *p, const int8_t *x,
                                           const int8_t *w, const int32_t *bias,
                                           const int32_t *mult, const int32_t *shift, int8_t *y) {
    const int32_t taps = p->kernel_h * p->kernel_w, c4 = p->c & ~3;
    const uint32_t pad = dsp_splat4(p->x_zero_point); /* a padding tap's four inputs */
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const size_t row = (size_t)p->w * p->c;         /* bytes per input row */
    if (p->dilation_h != 1 || p->dilation_w != 1) { /* the windows read adjacent taps */
        cnnc_s8_dwconv__ref(p, x, w, bias, mult, shift, y);
        return;
    }
    uint32_t w4[DSP_MAX_TAPS][2];   /* [tap][even, odd channel lanes] */
    uint32_t buf[DSP_DW_BUF_WORDS]; /* the padded image of four channels */
    /* rows and columns of the padded image the windows read (at least the image's) */
    const int32_t ph_need = (p->out_h - 1) * p->stride_h + p->kernel_h,
                  pw_need = (p->out_w - 1) * p->stride_w + p->kernel_w;
    const int32_t ph = ph_need > p->pad_top + p->h ? ph_need : p->pad_top + p->h,
                  pw = pw_need > p->pad_left + p->w ? pw_need : p->pad_left + p->w;
    const int padded = (int64_t)ph * pw * 2 <= DSP_DW_BUF_WORDS;
    int32_t c0, t, b, oy, ox, ky, kx, j;
    if (taps > DSP_MAX_TAPS) {
        cnnc_s8_dwconv__ref(p, x, w, bias, mult, shift, y);
        return;
    }
#if DSP_DW_FAST
    if (dsp_out_full(&out) &&
        (p->rounding == CNNC_ROUND_SINGLE || p->rounding == CNNC_ROUND_DOUBLE) &&
        (dsp_dw_small_kind(p) >= 0 || dsp_dw_whole_image(p))) {
        const int kind = dsp_dw_small_kind(p);
        const int32_t done = kind >= 0 ? dsp_dw_small(p, x, w, bias, mult, shift, y, kind)
                                       : dsp_dw_whole(p, x, w, bias, mult, shift, y);
        if (done == p->c) return;
        if (done == c4) {
            dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c4);
            return;
        }
    }
#endif
    if (p->kernel_h == 3 && p->kernel_w == 3 && p->stride_h == 1 && p->stride_w == 1 &&
        (p->out_w >= DSP_DW_PLANE_MIN_W || DSP_DW_PLANE_W6(p))) {
        int32_t plane_h, plane_w;
        if (dsp_dw_plane_size(p, &plane_h, &plane_w)) {
            dsp_dw3x3_planar(p, x, w, bias, mult, shift, y, buf, plane_h, plane_w);
            return;
        }
    }
#if DSP_DW_FAST
    if (p->stride_h == 2 && dsp_dw3x3_s2(p, x, w, bias, mult, shift, y, buf)) return;
    if (padded && c4 > 0 && p->kernel_h == 3 && p->kernel_w == 3 && dsp_out_full(&out) &&
        (p->rounding == CNNC_ROUND_SINGLE || p->rounding == CNNC_ROUND_DOUBLE)) {
        /* the fixed pitch (immediate row offsets) where it fits, else the image's own */
        const int fixed = pw <= DSP_DW_PITCH && ph * DSP_DW_PITCH * 2 <= DSP_DW_BUF_WORDS;
        dsp_dw3x3_groups(p, x, w, bias, mult, shift, y, buf, ph, fixed ? DSP_DW_PITCH : pw);
        return;
    }
#endif
    if (padded) { /* the border's x_zero_point pixels, (zp, zp) in both words */
        const uint32_t pad2 = (uint32_t)dsp_even(pad);
        for (t = 0; t < 2 * ph * pw; ++t) buf[t] = pad2;
    }
    for (c0 = 0; c0 < c4; c0 += 4) {
        uint32_t corr[4];
        dsp_rq rq[4];
        int32_t form = dsp_rq_make_n(rq, mult + c0, shift + c0, 4, &out);
        int32_t gq[16]; /* the group's record (s8_dsp.h, dsp_gq_fill) */
        for (j = 0; j < 4; ++j) corr[j] = (uint32_t)bias[c0 + j];
        {
            /* per-channel weight sums in int16 lanes (SADD16): |sum| <= 64 * 127 */
            int32_t se = 0, so = 0;
            for (t = 0; t < taps; ++t) {
                const uint32_t ww = dsp_load4(w + (size_t)t * p->c + c0);
                w4[t][0] = (uint32_t)dsp_even(ww);
                w4[t][1] = (uint32_t)dsp_odd(ww);
                se = __sadd16(se, (int32_t)w4[t][0]);
                so = __sadd16(so, (int32_t)w4[t][1]);
            }
            corr[0] -= (uint32_t)p->x_zero_point * (uint32_t)(int32_t)(int16_t)(se & 0xFFFF);
            corr[1] -= (uint32_t)p->x_zero_point * (uint32_t)(int32_t)(int16_t)(so & 0xFFFF);
            corr[2] -= (uint32_t)p->x_zero_point * (uint32_t)(se >> 16);
            corr[3] -= (uint32_t)p->x_zero_point * (uint32_t)(so >> 16);
        }
        if (DSP_DW_FAST && form == DSP_RQ_DOUBLE &&
            p->n * p->out_h * p->out_w >= DSP_DW_DOUBLE_MIN_PX) {
            /* the sums doubled where |sum| <= |corr| + 2^14 taps < 2^30 for every channel
             * (s8_dsp.h, DSP_RQ_DOUBLE2): weights 2w (SADD16: |2w| <= 256), corr 2 corr */
            const int64_t limit = ((int64_t)1 << 30) - ((int64_t)taps << 14);
            int fits = 1;
            for (j = 0; j < 4; ++j) { /* corr - bias = -zp sum w: |.| <= 2^20, no wrap */
                const int64_t v =
                    (int64_t)bias[c0 + j] + (int32_t)(corr[j] - (uint32_t)bias[c0 + j]);
                fits = fits && v < limit && v > -limit;
            }
            if (fits) {
                form = DSP_RQ_DOUBLE2;
                for (j = 0; j < 4; ++j) corr[j] *= 2u;
                for (t = 0; t < taps; ++t) {
                    w4[t][0] = (uint32_t)__sadd16((int32_t)w4[t][0], (int32_t)w4[t][0]);
                    w4[t][1] = (uint32_t)__sadd16((int32_t)w4[t][1], (int32_t)w4[t][1]);
                }
            }
        }
        if (DSP_DW_FAST) dsp_gq_fill(gq, corr, rq, 4);
        for (b = 0; b < p->n; ++b) {
            const int8_t *xb = x + (size_t)b * p->h * row + c0; /* channel c0 of image b */
            if (padded) {
                dsp_dw_padded(p, xb, y + (size_t)b * p->out_h * p->out_w * p->c + c0, w4[0], corr,
                              form, rq, &out, buf, ph, pw, (const uint32_t *)gq, 0);
                continue;
            }
            for (oy = 0; oy < p->out_h; ++oy) {
                const int32_t iy0 = oy * p->stride_h - p->pad_top;
                const int rows_inside = iy0 >= 0 && iy0 + p->kernel_h <= p->h;
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int32_t ix0 = ox * p->stride_w - p->pad_left;
                    int32_t a0 = (int32_t)corr[0], a1 = (int32_t)corr[1], a2 = (int32_t)corr[2],
                            a3 = (int32_t)corr[3];
                    int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c + c0;
                    const uint32_t *wt = w4[0];
                    if (rows_inside && ix0 >= 0 && ix0 + p->kernel_w <= p->w) {
                        const int8_t *xr = xb + (size_t)iy0 * row + (size_t)ix0 * p->c;
                        int32_t acc[4];
                        acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
                        if (p->kernel_h == 3 && p->kernel_w == 3) /* unrolled by the compiler */
                            dsp_dw_taps(xr, row, p->c, 3, 3, w4[0], acc);
                        else
                            dsp_dw_taps(xr, row, p->c, p->kernel_h, p->kernel_w, w4[0], acc);
                        a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
                    } else {
                        for (ky = 0; ky < p->kernel_h; ++ky) {
                            const int32_t iy = iy0 + ky;
                            for (kx = 0; kx < p->kernel_w; ++kx, wt += 2) {
                                const int32_t ix = ix0 + kx;
                                const uint32_t xw =
                                    iy < 0 || iy >= p->h || ix < 0 || ix >= p->w
                                        ? pad
                                        : dsp_load4(xb + (size_t)iy * row + (size_t)ix * p->c);
                                const int32_t xe = dsp_even(xw), xo = dsp_odd(xw);
                                a0 = __smlabb(xe, (int32_t)wt[0], a0);
                                a2 = __smlatt(xe, (int32_t)wt[0], a2);
                                a1 = __smlabb(xo, (int32_t)wt[1], a1);
                                a3 = __smlatt(xo, (int32_t)wt[1], a3);
                            }
                        }
                    }
                    if (form == DSP_RQ_DOUBLE &&
                        p->n * p->out_h * p->out_w >= DSP_DW_DOUBLE_MIN_PX) {
                        yp[0] = dsp_rq_double(a0, &rq[0], &out);
                        yp[1] = dsp_rq_double(a1, &rq[1], &out);
                        yp[2] = dsp_rq_double(a2, &rq[2], &out);
                        yp[3] = dsp_rq_double(a3, &rq[3], &out);
                    } else {
                        yp[0] = dsp_requant(a0, form, &rq[0], &out);
                        yp[1] = dsp_requant(a1, form, &rq[1], &out);
                        yp[2] = dsp_requant(a2, form, &rq[2], &out);
                        yp[3] = dsp_requant(a3, form, &rq[3], &out);
                    }
                }
            }
        }
    }
    if (c4 < p->c) dsp_dwconv_tail(p, x, w, bias, mult, shift, y, c4);
}

/* Bands call dsp_dwconv_image, not this entry point, so the stack holds one set of
 * buffers whether or not a layer is banded. */
void cnnc_s8_dwconv__dsp(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                         const int32_t *bias, const int32_t *mult, const int32_t *shift,
                         int8_t *y) {
    if (p->dilation_h != 1 || p->dilation_w != 1 || p->kernel_h * p->kernel_w > DSP_MAX_TAPS ||
        !dsp_dw_bands(p, x, w, bias, mult, shift, y))
        dsp_dwconv_image(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dwconv_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
