/* Cortex-M DSP variant of the int8 global average pool, bit-exact to
 * cnnc_s8_global_avgpool__ref.
 *
 * Four channels at a time: per pixel one word of channels c..c+3, SXTAB16 (even and odd
 * bytes added lane-wise) into two words of int16 lane sums, exact over up to 256 pixels
 * (|sum| <= 128 * 256 = 2^15, and -2^15 is an int16); longer images add such runs into
 * int32. Each channel's sum of x minus hw * zero point is __ref's sum of (x - zero point),
 * requantised by s8_dsp.h's fast forms (the others run __ref) or,
 * for the multiplier the quantiser gives global pools (cnnc.passes.quantize.
 * once_rounded_multiplier: double rounding with shift 0, any m >= 0, which no form of
 * s8_dsp.h covers), by one SMMLAR: cnnc_requant_double's h = floor((x m + 2^30) / 2^31) is
 * floor((2x m + 2^31) / 2^32), and with the zero point as the accumulate operand
 * SMMLAR(2x, m, zp) = zp + h (2x exact: |x| <= 255 hw < 2^30 for hw <= 2^22).
 * The last c mod 4 channels sum one byte at a time. The global pools' own form with the
 * full clamp, c a multiple of 8 and hw <= 256 runs in asm (dsp_gap_once_full: 2,736
 * instructions for the digits model's 2x2x256, was 8,590; for hw <= 128 with the lanes'
 * sums minus hw zp and SMLAWB, dsp_gap_once_x: 2,1xx). At -Os the variant is __ref
 * (600 B of flash for ~1 % of a MobileNetV2's instructions). Compiled when the build
 * targets the DSP extension (CNNC_M_DSP, cnnc_cpu.h); empty otherwise. */
#include "cnnc_s8.h"
#include "s8_dsp.h"

#if defined(CNNC_M_DSP)
#if defined(__OPTIMIZE_SIZE__)
void cnnc_s8_global_avgpool__dsp(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y) {
    cnnc_s8_global_avgpool__ref(p, x, y);
}
#else
#define DSP_GAP_RUN 256 /* pixels whose int16 lane sums cannot overflow */

/* The requantisation of a channel's sum for the fast forms (no call of cnnc_requant_s8:
 * the other forms run __ref whole, which keeps this file small at -Os). */
DSP_ALWAYS_INLINE int8_t dsp_gap_out(int32_t acc, int32_t once, int32_t form, const dsp_rq *q,
                                     const dsp_out *o) {
    if (once) return dsp_clamp(dsp_smmlar(2 * acc, q->m, o->zero_point), o);
    if (form == DSP_RQ_DOUBLE) return dsp_rq_double(acc, q, o);
    return dsp_rq_single(acc, q, o);
}

/* clang-format off */
/* The lane sums' loop (label L) over the run's pixels xc .. xend, c bytes apart: the eight
 * channels' bytes of a pixel added to s0..s3 (SXTAB16: even and odd bytes of each word). */
#define DSP_ASM_GAP_SUMS(L)                      \
    L ":\n\t"                                    \
    "ldr %[v], [%[xc]]\n\t"                     \
    "sxtab16 %[s0], %[s0], %[v]\n\t"            \
    "sxtab16 %[s1], %[s1], %[v], ror #8\n\t"    \
    "ldr %[v], [%[xc], #4]\n\t"                 \
    "sxtab16 %[s2], %[s2], %[v]\n\t"            \
    "sxtab16 %[s3], %[s3], %[v], ror #8\n\t"    \
    "add %[xc], %[xc], %[c]\n\t"                \
    "cmp %[xc], %[xend]\n\t"                    \
    "blo " L "b\n\t"
/* clang-format on */

/* Channels at and at + 2 (bytes AT and AT + 2 from y) from the int16 lane sums in S, in
 * the global pools' form with the full clamp: 2 sum - 2 hw zp (SXTH or ASR #16, then RSB
 * with LSL #1), SMMLAR onto the zero point, SSAT #8: 5 instructions a channel. */
/* clang-format off */
#define DSP_GAP_LANES(S, AT, AT2)                        \
    "sxth %[t], " S "\n\t"                               \
    "rsb %[t], %[z2], %[t], lsl #1\n\t"                  \
    "smmlar %[t], %[t], %[m], %[zp]\n\t"                 \
    "ssat %[t], #8, %[t]\n\t"                            \
    "strb %[t], [%[y], #" #AT "]\n\t"                    \
    "asr " S ", " S ", #16\n\t"                          \
    "rsb " S ", %[z2], " S ", lsl #1\n\t"                \
    "smmlar " S ", " S ", %[m], %[zp]\n\t"               \
    "ssat " S ", #8, " S "\n\t"                          \
    "strb " S ", [%[y], #" #AT2 "]\n\t"
/* clang-format on */

/* The global pools' form (once) with the full clamp and hw <= DSP_GAP_RUN, c a multiple of
 * 8: eight channels a pass, their int16 lane sums in four words (the first pixel SXTB16s
 * them, each further pixel two LDRs, four SXTAB16s, the pointer's ADD and the loop's
 * compare: 9 instructions), then DSP_GAP_LANES. In asm: gcc's
 * allocation of the C form spilled the pointers and split each RSB into LSL and SUB. */
static __attribute__((noinline)) void dsp_gap_once_full(const int8_t *x, int8_t *y, int32_t hw,
                                                        int32_t c, int32_t z2, int32_t m,
                                                        int32_t zp) {
    int8_t *const yend = y + c;
    const size_t run = (size_t)hw * c;
    for (; y < yend; y += 8, x += 8) {
        const int8_t *xc = x, *const xend = x + run;
        uint32_t s0, s1, s2, s3, v, t;
        __asm__ __volatile__(
            "ldr %[v], [%[xc]]\n\t"
            "sxtb16 %[s0], %[v]\n\t"
            "sxtb16 %[s1], %[v], ror #8\n\t"
            "ldr %[v], [%[xc], #4]\n\t"
            "sxtb16 %[s2], %[v]\n\t"
            "sxtb16 %[s3], %[v], ror #8\n\t"
            "add %[xc], %[xc], %[c]\n\t"
            "cmp %[xc], %[xend]\n\t"
            "bhs 2f\n\t" DSP_ASM_GAP_SUMS("1") "2:\n\t"
            : [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2), [s3] "=&r"(s3), [v] "=&r"(v),
              [xc] "+r"(xc)
            : [c] "r"(c), [xend] "r"(xend)
            : "memory", "cc");
        __asm__ __volatile__(
            DSP_GAP_LANES("%[s0]", 0, 2) DSP_GAP_LANES("%[s1]", 1, 3) DSP_GAP_LANES("%[s2]", 4, 6)
                DSP_GAP_LANES("%[s3]", 5, 7)
            : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [t] "=&r"(t)
            : [y] "r"(y), [z2] "r"(z2), [m] "r"(m), [zp] "r"(zp)
            : "memory");
    }
}

/* DSP_GAP_LANES where the lanes hold x = sum - hw zp itself (m in xc, ra in xend, the
 * pixel loop's registers): SMLAWB (SMLAWT) of m and the
 * lane onto ra = 2^14 + zp 2^15 is floor((x m + 2^30 + zp 2^31) / 2^16) (bits 47..16 of the
 * exact sum: |x m| < 2^46), SSAT's ASR #15 floors it by 2^15 more: zp + floor((x m + 2^30) /
 * 2^31) = zp + h, as SMMLAR(2x, m, zp): 3 instructions a channel. */
/* clang-format off */
#define DSP_GAP_LANES_X(S, AT, AT2)                      \
    "smlawb %[v], %[xc], " S ", %[xend]\n\t"             \
    "ssat %[v], #8, %[v], asr #15\n\t"                   \
    "strb %[v], [%[y], #" #AT "]\n\t"                    \
    "smlawt " S ", %[xc], " S ", %[xend]\n\t"            \
    "ssat " S ", #8, " S ", asr #15\n\t"                 \
    "strb " S ", [%[y], #" #AT2 "]\n\t"
/* clang-format on */

/* Pixels up to which the lanes can start at -hw zp and end at x = sum - hw zp itself: |x| <=
 * 255 hw < 2^15. */
#define DSP_GAP_RUN_X 128

/* dsp_gap_once_full for hw <= DSP_GAP_RUN_X: the first pixel SXTAB16s the lanes onto nz =
 * (-hw zp, -hw zp), so they end at x, then DSP_GAP_LANES_X; all passes in one asm (13
 * registers; m and ra, read once a pass from memory, take the pointers' registers: gcc's
 * loop around two asm statements spilled ~10 instructions a pass). */
static __attribute__((noinline)) void dsp_gap_once_x(const int8_t *x, int8_t *y, int32_t hw,
                                                     int32_t c, int32_t zp_hw, int32_t m,
                                                     int32_t zp) {
    const int8_t *const yend = y + c;
    const int32_t run = hw * c, ra = (int32_t)((1u << 14) + ((uint32_t)zp << 15));
    const uint32_t nz = dsp_pack16(-zp_hw, -zp_hw);
    uint32_t s0, s1, s2, s3, v, xc, xend;
    __asm__ __volatile__(
        "1:\n\t"
        "ldr %[v], [%[x]]\n\t"
        "sxtab16 %[s0], %[nz], %[v]\n\t"
        "sxtab16 %[s1], %[nz], %[v], ror #8\n\t"
        "ldr %[v], [%[x], #4]\n\t"
        "sxtab16 %[s2], %[nz], %[v]\n\t"
        "sxtab16 %[s3], %[nz], %[v], ror #8\n\t"
        "add %[xc], %[x], %[c]\n\t"
        "add %[xend], %[x], %[run]\n\t"
        "cmp %[xc], %[xend]\n\t"
        "bhs 3f\n\t"
        DSP_ASM_GAP_SUMS("2")
        "3:\n\t"
        "ldr %[xc], %[mm]\n\t"
        "ldr %[xend], %[rr]\n\t" DSP_GAP_LANES_X("%[s0]", 0, 2) DSP_GAP_LANES_X("%[s1]", 1, 3)
            DSP_GAP_LANES_X("%[s2]", 4, 6) DSP_GAP_LANES_X("%[s3]", 5, 7)
        "add %[x], %[x], #8\n\t"
        "add %[y], %[y], #8\n\t"
        "cmp %[y], %[yend]\n\t"
        "blo 1b"
        : [x] "+r"(x), [y] "+r"(y), [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2),
          [s3] "=&r"(s3), [v] "=&r"(v), [xc] "=&r"(xc), [xend] "=&r"(xend)
        : [yend] "r"(yend), [run] "r"(run), [c] "r"(c), [nz] "r"(nz), [mm] "m"(m), [rr] "m"(ra)
        : "memory", "cc");
}

/* The paths only a model's calls can take (cnnc_model_calls.h), each macro a test of a
 * call's params p: FAST, the global pools' form with the full clamp, c a multiple of 8; X and
 * FULL its asm loops (hw up to DSP_GAP_RUN_X, then up to DSP_GAP_RUN); GEN the calls the
 * C loops may get (a model without any runs __ref where a call would reach them). */
#define DSP_GAP_ONCE(p) \
    ((p).rounding == CNNC_ROUND_DOUBLE && (p).shift == 0 && (p).mult >= 0 && (p).hw <= (1 << 22))
#define DSP_GAP_FAST(p)                                                                      \
    (DSP_GAP_ONCE(p) && (p).c % 8 == 0 && (p).c > 0 && (p).hw >= 1 && (p).act_min == -128 && \
     (p).act_max == 127)
#define DSP_GAP_X(p) (DSP_GAP_FAST(p) && (p).hw <= DSP_GAP_RUN_X)
#define DSP_GAP_FULL(p) (DSP_GAP_FAST(p) && (p).hw > DSP_GAP_RUN_X && (p).hw <= DSP_GAP_RUN)
#define DSP_GAP_GEN(p) (!DSP_GAP_FAST(p) || (p).hw > DSP_GAP_RUN)

void cnnc_s8_global_avgpool__dsp(const cnnc_s8_global_avgpool_params *p, const int8_t *x,
                                 int8_t *y) {
    const dsp_out out = dsp_out_make(p->rounding, p->y_zero_point, p->act_min, p->act_max);
    const int32_t hw = p->hw, c = p->c, c4 = c & ~3;
    /* hw * zp: |hw| <= 2^23 (checked by the compiler), |zp| <= 128: no overflow */
    const int32_t zsum = hw * p->x_zero_point;
    const int32_t once = p->rounding == CNNC_ROUND_DOUBLE && p->shift == 0 && p->mult >= 0 &&
                         hw <= ((int32_t)1 << 22);
    dsp_rq q;
    const int32_t form = dsp_rq_make(&q, p->mult, p->shift, &out);
    int32_t b, ch, i, j;
    if (!once && form == DSP_RQ_SLOW) {
        cnnc_s8_global_avgpool__ref(p, x, y);
        return;
    }
    if (CNNC_MODEL_CALLS(s8_global_avgpool, DSP_GAP_X) && once && c % 8 == 0 && c > 0 && hw >= 1 &&
        hw <= DSP_GAP_RUN_X && dsp_out_full(&out)) {
        for (b = 0; b < p->n; ++b)
            dsp_gap_once_x(x + (size_t)b * hw * c, y + (size_t)b * c, hw, c, zsum, q.m,
                           out.zero_point);
        return;
    }
    if (CNNC_MODEL_CALLS(s8_global_avgpool, DSP_GAP_FULL) && once && c % 8 == 0 && c > 0 &&
        hw >= 1 && hw <= DSP_GAP_RUN && dsp_out_full(&out)) {
        for (b = 0; b < p->n; ++b)
            dsp_gap_once_full(x + (size_t)b * hw * c, y + (size_t)b * c, hw, c, 2 * zsum, q.m,
                              out.zero_point);
        return;
    }
    if (!CNNC_MODEL_CALLS(s8_global_avgpool, DSP_GAP_GEN)) {
        cnnc_s8_global_avgpool__ref(p, x, y);
        return;
    }
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * hw * c;
        int8_t *yb = y + (size_t)b * c;
        for (ch = 0; ch < c4; ch += 4) {
            int32_t sum[4] = {0, 0, 0, 0};
            for (i = 0; i < hw;) {
                const int32_t end = hw - i > DSP_GAP_RUN ? i + DSP_GAP_RUN : hw;
                int32_t se = 0, so = 0; /* lanes: channels (0, 2) and (1, 3) */
                for (; i < end; ++i) {
                    const uint32_t v = dsp_load4(xb + (size_t)i * c + ch);
                    se = (int32_t)dsp_even_add((uint32_t)se, v);
                    so = (int32_t)dsp_odd_add((uint32_t)so, v);
                }
                sum[0] += (int16_t)se, sum[2] += se >> 16;
                sum[1] += (int16_t)so, sum[3] += so >> 16;
            }
            if (once) /* the global pools' form (the quantiser's): its own loop, inlined */
                for (j = 0; j < 4; ++j) yb[ch + j] = dsp_gap_out(sum[j] - zsum, 1, 0, &q, &out);
            else
                for (j = 0; j < 4; ++j) yb[ch + j] = dsp_gap_out(sum[j] - zsum, 0, form, &q, &out);
        }
        for (; ch < c; ++ch) {
            int32_t sum = 0;
            for (i = 0; i < hw; ++i) sum += xb[(size_t)i * c + ch];
            yb[ch] = dsp_gap_out(sum - zsum, once, form, &q, &out);
        }
    }
}
#endif /* __OPTIMIZE_SIZE__ */
#else
typedef int cnnc_s8_pool_dsp_empty; /* ISO C forbids an empty translation unit */
#endif
