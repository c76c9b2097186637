/* ARM NEON variant of the int8 depthwise conv, bit-exact to cnnc_s8_dwconv__ref: the
 * loops of s8_dwconv_loops.h on the hooks below. A block of 16 (8) channels lives in four
 * (two) int32x4 registers: 8 channels of x are widened to int16 minus zp, 8 of w to int16,
 * and vmlal_s16 adds their int32 products (exact: |product| <= 255 * 127); eight
 * requantisations at once (s8_requant_neon.h). Compiled when the build targets NEON
 * (aarch64; armv7 with -mfpu=neon*); empty otherwise; ARMv7 NEON intrinsics only. */
#include "cnnc_s8.h"
#include "s8_requant_neon.h"

#if defined(__ARM_NEON)
#include <arm_neon.h>

#define S8_DW_COLS 16
#define S8_TARGET /* the build targets NEON: no attribute needed */

typedef struct {
    int32x4_t v[4]; /* channels c0 + 4i .. c0 + 4i + 3 (v[2], v[3] unused when nb = 8) */
} s8_dw_acc;
typedef int16x8_t s8_dw_zp; /* zp in every int16 lane */

CNNC_INLINE s8_dw_zp s8_dw_zero_point(int32_t zp) { return vdupq_n_s16((int16_t)zp); }

CNNC_INLINE s8_dw_acc s8_dw_init(const int32_t *bias, int32_t nb) {
    s8_dw_acc a;
    a.v[0] = vld1q_s32(bias);
    a.v[1] = vld1q_s32(bias + 4);
    a.v[2] = vdupq_n_s32(0);
    a.v[3] = vdupq_n_s32(0);
    if (nb == 16) {
        a.v[2] = vld1q_s32(bias + 8);
        a.v[3] = vld1q_s32(bias + 12);
    }
    return a;
}

/* acc[0..8) += (x[0..8) - zp) * w[0..8) in a[0], a[1]. */
CNNC_INLINE void s8_dw_tap8(int32x4_t *a, const int8_t *x, const int8_t *w, s8_dw_zp zp) {
    const int16x8_t xv = vsubq_s16(vmovl_s8(vld1_s8(x)), zp);
    const int16x8_t wv = vmovl_s8(vld1_s8(w));
    a[0] = vmlal_s16(a[0], vget_low_s16(xv), vget_low_s16(wv));
    a[1] = vmlal_s16(a[1], vget_high_s16(xv), vget_high_s16(wv));
}

CNNC_INLINE void s8_dw_tap(s8_dw_acc *a, const int8_t *x, const int8_t *w, s8_dw_zp zp,
                           int32_t nb) {
    s8_dw_tap8(a->v, x, w, zp);
    if (nb == 16) s8_dw_tap8(a->v + 2, x + 8, w + 8, zp);
}

CNNC_INLINE void s8_dw_requant(const s8_dw_acc *a, int32_t nb, const int32_t *mult,
                               const int32_t *shift, const cnnc_s8_conv_params *p, int8_t *y) {
    s8_requant8_neon(a->v[0], a->v[1], mult, shift, p->rounding, p->y_zero_point, p->act_min,
                     p->act_max, y);
    if (nb == 16)
        s8_requant8_neon(a->v[2], a->v[3], mult + 8, shift + 8, p->rounding, p->y_zero_point,
                         p->act_min, p->act_max, y + 8);
}

#include "s8_dwconv_loops.h"
#include "s8_gemm_neon.h"

/* 3x3 depthwise, dilation 1, channels c0 .. c0 + 7 of every output pixel: the nine weight
 * vectors (int8x8), the start values and the requantisation constants stay in registers
 * across the whole image.
 *
 * Arithmetic. x enters raw and x's zero point is folded into the start value, init = bias
 * - zp * sum_taps w (modulo 2^32: NEON adds wrap). Pairs of taps multiply int8 by int8
 * into int16 lanes (SMULL, SMLAL .8h): |x| <= 128 and |w| <= 127, so a pair is at most
 * 2 * 128 * 127 = 32512 < 2^15 in magnitude, exact (a weight of -128 could reach 32768:
 * s8_dw3_weights_fit checks the layer's weights once and sends such a layer to the tap
 * loops). Five int16 partial sums (four pairs and the ninth tap) widen into the int32
 * lanes (SADDW). Taps in the padding read a vector of x's zero point, adding zp * w, which
 * init removes: the total is bias + sum over the taps inside the image of (x - zp) * w,
 * __ref's sum, modulo 2^32; __ref's sum is an int32 within the compiler's proven bound
 * (check_accumulator), so the two are equal. */
#if defined(__aarch64__) /* SADDW2 reads the high half in place */
#define S8_DW3_WIDEN(A0, A1, P)              \
    do {                                     \
        A0 = vaddw_s16(A0, vget_low_s16(P)); \
        A1 = vaddw_high_s16(A1, P);          \
    } while (0)
#else
#define S8_DW3_WIDEN(A0, A1, P)               \
    do {                                      \
        A0 = vaddw_s16(A0, vget_low_s16(P));  \
        A1 = vaddw_s16(A1, vget_high_s16(P)); \
    } while (0)
#endif

/* Whether every weight is above -128 (the int16 pair sums above need it). */
static int s8_dw3_weights_fit(const int8_t *w, size_t count) {
    const int8x8_t lowest = vdup_n_s8(-128);
    uint8x8_t any = vdup_n_u8(0);
    size_t i;
    for (i = 0; i + 8 <= count; i += 8) any = vorr_u8(any, vceq_s8(vld1_s8(w + i), lowest));
    for (; i < count; ++i)
        if (w[i] == -128) return 0;
    return vget_lane_u64(vreinterpret_u64_u8(any), 0) == 0;
}

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns")))
#endif
static void
s8_dw3x3_block(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w, const int32_t *bias,
               const int32_t *mult, const int32_t *shift, int8_t *y, int32_t c0) {

    const size_t c = (size_t)p->c;
    int8_t *yp;
    const int8_t *rows[3]; /* channel c0 of column 0 of input rows iy0 .. iy0 + 2, or zpv */
    size_t cs[3];          /* their pixels' distance: c, or 0 for zpv */
    int8_t zpv[8];         /* the padding taps' input */
    int8x8_t wv[9];
    int32x4_t init0, init1, sum0 = vdupq_n_s32(0), sum1 = vdupq_n_s32(0);
    int32x4_t initl0, initl1, initr0, initr1; /* init with column 0 / 2's taps skipped */
    s8g_out o;
    s8g_rq q;
    const int32_t rnd = s8g_rounding(p->rounding, shift + c0, 8);
    int32_t t, ox, b, oy, in0, in1;
    memset(zpv, p->x_zero_point, sizeof zpv);
    for (t = 0; t < 9; ++t) {
        const int16x8_t wt = vmovl_s8(wv[t] = vld1_s8(w + (size_t)t * c + c0));
        sum0 = vaddw_s16(sum0, vget_low_s16(wt));
        sum1 = vaddw_s16(sum1, vget_high_s16(wt));
    }
    init0 = vmlsq_s32(vld1q_s32(bias + c0), sum0, vdupq_n_s32(p->x_zero_point));
    init1 = vmlsq_s32(vld1q_s32(bias + c0 + 4), sum1, vdupq_n_s32(p->x_zero_point));
    { /* a border pixel whose column 0 (2) is padding skips those taps (which would add
       * zp * w) and starts from init + zp * their weights' sum instead: the same total */
        const int16x8_t wl = vaddq_s16(vaddl_s8(wv[0], wv[3]), vmovl_s8(wv[6]));
        const int16x8_t wr = vaddq_s16(vaddl_s8(wv[2], wv[5]), vmovl_s8(wv[8]));
        const int32x4_t zp = vdupq_n_s32(p->x_zero_point);
        initl0 = vmlaq_s32(init0, vmovl_s16(vget_low_s16(wl)), zp);
        initl1 = vmlaq_s32(init1, vmovl_s16(vget_high_s16(wl)), zp);
        initr0 = vmlaq_s32(init0, vmovl_s16(vget_low_s16(wr)), zp);
        initr1 = vmlaq_s32(init1, vmovl_s16(vget_high_s16(wr)), zp);
    }
    o.x_zero_point = p->x_zero_point;
    o.rounding = p->rounding;
    o.zero_point = p->y_zero_point;
    o.lo = p->act_min;
    o.hi = p->act_max;
    s8g_rq_init(&q, mult + c0, shift + c0, &o, rnd);
    /* interior columns [in0, in1): ix0 = ox * stride_w - pad_left >= 0 and ix0 + 2 < w;
     * their taps read x directly (the padding vector 0 bytes apart for rows outside the
     * image); the other columns take the padding vector for the taps outside */
    in0 = (p->pad_left + p->stride_w - 1) / p->stride_w;
    in1 = p->w - 3 + p->pad_left < 0 ? 0 : (p->w - 3 + p->pad_left) / p->stride_w + 1;
    if (in1 > p->out_w) in1 = p->out_w;
    if (in0 > in1) in0 = in1;
        /* a0, a1 += the nine taps' products, V(t) the int8x8 input of tap t */
#define S8_DW3_SUM(V, a0, a1)                       \
    do {                                            \
        int16x8_t p0 = vmull_s8(V(0), wv[0]);       \
        int16x8_t p1 = vmull_s8(V(2), wv[2]);       \
        int16x8_t p2 = vmull_s8(V(4), wv[4]);       \
        int16x8_t p3 = vmull_s8(V(6), wv[6]);       \
        const int16x8_t p4 = vmull_s8(V(8), wv[8]); \
        p0 = vmlal_s8(p0, V(1), wv[1]);             \
        p1 = vmlal_s8(p1, V(3), wv[3]);             \
        p2 = vmlal_s8(p2, V(5), wv[5]);             \
        p3 = vmlal_s8(p3, V(7), wv[7]);             \
        S8_DW3_WIDEN(a0, a1, p0);                   \
        S8_DW3_WIDEN(a0, a1, p1);                   \
        S8_DW3_WIDEN(a0, a1, p2);                   \
        S8_DW3_WIDEN(a0, a1, p3);                   \
        S8_DW3_WIDEN(a0, a1, p4);                   \
    } while (0)
        /* a0, a1 += six taps' products (A .. F), V(t) the int8x8 input of tap t */
#define S8_DW3_SUM6(V, a0, a1, A, B, C, D, E, F) \
    do {                                         \
        int16x8_t p0 = vmull_s8(V(A), wv[A]);    \
        int16x8_t p1 = vmull_s8(V(C), wv[C]);    \
        int16x8_t p2 = vmull_s8(V(E), wv[E]);    \
        p0 = vmlal_s8(p0, V(B), wv[B]);          \
        p1 = vmlal_s8(p1, V(D), wv[D]);          \
        p2 = vmlal_s8(p2, V(F), wv[F]);          \
        S8_DW3_WIDEN(a0, a1, p0);                \
        S8_DW3_WIDEN(a0, a1, p1);                \
        S8_DW3_WIDEN(a0, a1, p2);                \
    } while (0)
        /* one pixel from tap inputs V(0..8) into its output at yo */
#define S8_DW3_PIXEL(V, yo, RND)          \
    do {                                  \
        int32x4_t a0 = init0, a1 = init1; \
        S8_DW3_SUM(V, a0, a1);            \
        s8g_rq8(&q, a0, a1, RND, yo);     \
    } while (0)
        /* two interior pixels side by side (stride S), from xr's: input columns they share
         * are loaded once (the compiler merges the identical loads; nothing is stored
         * before both sums), one narrowing and clamp for both */
#define S8_DW3_COL(R, K) vld1_s8(xr[R] + (size_t)(K)*cs[R])
#define S8_DW3_VA(T) S8_DW3_COL((T) / 3, (T) % 3)
#define S8_DW3_VB1(T) S8_DW3_COL((T) / 3, (T) % 3 + 1)
#define S8_DW3_VB2(T) S8_DW3_COL((T) / 3, (T) % 3 + 2)
#define S8_DW3_PAIR(S, yo, RND)                                   \
    do {                                                          \
        int32x4_t a0 = init0, a1 = init1, b0 = init0, b1 = init1; \
        int8x16_t r;                                              \
        S8_DW3_SUM(S8_DW3_VA, a0, a1);                            \
        S8_DW3_SUM(S8_DW3_VB##S, b0, b1);                         \
        r = vcombine_s8(vqmovn_s16(s8g_rq8z(&q, a0, a1, RND)),    \
                        vqmovn_s16(s8g_rq8z(&q, b0, b1, RND)));   \
        r = vminq_s8(vmaxq_s8(r, q.lo), q.hi);                    \
        vst1_s8(yo, vget_low_s8(r));                              \
        vst1_s8((yo) + c, vget_high_s8(r));                       \
    } while (0)
#define S8_DW3_PAIRS(S, RND)                                                             \
    for (; ox + 2 <= in1; ox += 2, xr[0] += 2 * st0, xr[1] += 2 * st1, xr[2] += 2 * st2) \
        S8_DW3_PAIR(S, yp + (size_t)ox * c, RND);
        /* tap t of a border pixel: inside the image, or the padding vector (rows outside
         * the image are the padding vector, 0 bytes apart) */
#define S8_DW3_EDGE(T)                                          \
    ((T) % 3 == 0   ? ok0                                       \
     : (T) % 3 == 1 ? ok1                                       \
                    : ok2)                                      \
        ? rows[(T) / 3] + (size_t)(ix0 + (T) % 3) * cs[(T) / 3] \
        : zpv
        /* tap t of an interior pixel: row t / 3, column t % 3 from xp's */
#define S8_DW3_INNER(T) (xr[(T) / 3] + ((T) % 3) * cs[(T) / 3])
#define S8_DW3_LD_INNER(T) vld1_s8(S8_DW3_INNER(T))
#define S8_DW3_LD_EDGE(T) vld1_s8(S8_DW3_EDGE(T))
        /* tap t (column 1 or 2) of a pixel whose column 0 is padding (ix0 = -1) */
#define S8_DW3_LD_LEFT(T) vld1_s8(rows[(T) / 3] + ((T) % 3 == 2 ? cs[(T) / 3] : 0))
        /* the pixel ox outside the interior run */
#define S8_DW3_BORDER(RND)                                                                \
    {                                                                                     \
        const int32_t ix0 = ox * p->stride_w - p->pad_left;                               \
        if (ix0 == -1 && p->w >= 2) { /* column 0 is padding */                           \
            int32x4_t a0 = initl0, a1 = initl1;                                           \
            S8_DW3_SUM6(S8_DW3_LD_LEFT, a0, a1, 1, 2, 4, 5, 7, 8);                        \
            s8g_rq8(&q, a0, a1, RND, yp + (size_t)ox * c);                                \
        } else if (ix0 >= 0 && ix0 + 2 == p->w) { /* column 2 is padding */               \
            const int8_t *xr[3];                                                          \
            int32x4_t a0 = initr0, a1 = initr1;                                           \
            xr[0] = rows[0] + (size_t)ix0 * cs[0];                                        \
            xr[1] = rows[1] + (size_t)ix0 * cs[1];                                        \
            xr[2] = rows[2] + (size_t)ix0 * cs[2];                                        \
            S8_DW3_SUM6(S8_DW3_LD_INNER, a0, a1, 0, 1, 3, 4, 6, 7);                       \
            s8g_rq8(&q, a0, a1, RND, yp + (size_t)ox * c);                                \
        } else {                                                                          \
            const int ok0 = ix0 >= 0 && ix0 < p->w, ok1 = ix0 + 1 >= 0 && ix0 + 1 < p->w; \
            const int ok2 = ix0 + 2 >= 0 && ix0 + 2 < p->w;                               \
            S8_DW3_PIXEL(S8_DW3_LD_EDGE, yp + (size_t)ox * c, RND);                       \
        }                                                                                 \
    }
        /* one output row: the border pixels left of the interior run, the run, the rest */
#define S8_DW3_ROW(RND)                                                        \
    for (ox = 0; ox < in0; ++ox) S8_DW3_BORDER(RND) {                          \
            const int8_t *xr[3];                                               \
            const size_t st0 = cs[0] * p->stride_w, st1 = cs[1] * p->stride_w; \
            const size_t st2 = cs[2] * p->stride_w;                            \
            const size_t off = (size_t)(in0 * p->stride_w - p->pad_left);      \
            xr[0] = rows[0] + off * cs[0];                                     \
            xr[1] = rows[1] + off * cs[1];                                     \
            xr[2] = rows[2] + off * cs[2];                                     \
            if (p->stride_w == 1) {                                            \
                S8_DW3_PAIRS(1, RND)                                           \
            } else if (p->stride_w == 2) {                                     \
                S8_DW3_PAIRS(2, RND)                                           \
            }                                                                  \
            for (; ox < in1; ++ox, xr[0] += st0, xr[1] += st1, xr[2] += st2)   \
                S8_DW3_PIXEL(S8_DW3_LD_INNER, yp + (size_t)ox * c, RND);       \
        }                                                                      \
    for (; ox < p->out_w; ++ox) S8_DW3_BORDER(RND)
        /* rows[ky], cs[ky] for input row iy of image b */
#define S8_DW3_INROW(KY, iy)                                                  \
    {                                                                         \
        const int pad = (iy) < 0 || (iy) >= p->h;                             \
        rows[KY] = pad ? zpv : x + ((size_t)b * p->h + (iy)) * p->w * c + c0; \
        cs[KY] = pad ? 0 : c;                                                 \
    }
#define S8_DW3_IMAGE(RND)                                                                          \
    for (b = 0; b < p->n; ++b)                                                                     \
        for (oy = 0; oy < p->out_h; ++oy) {                                                        \
            const int32_t iy0 = oy * p->stride_h - p->pad_top;                                     \
            yp = y + ((size_t)b * p->out_h + oy) * p->out_w * c + c0;                              \
            S8_DW3_INROW(0, iy0) S8_DW3_INROW(1, iy0 + 1) S8_DW3_INROW(2, iy0 + 2) S8_DW3_ROW(RND) \
        }
    if (rnd == S8G_ROUND_DOUBLE_NEG) {
        S8_DW3_IMAGE(S8G_ROUND_DOUBLE_NEG)
    } else if (rnd == S8G_ROUND_SINGLE_NEG) {
        S8_DW3_IMAGE(S8G_ROUND_SINGLE_NEG)
    } else if (rnd == CNNC_ROUND_DOUBLE) {
        S8_DW3_IMAGE(CNNC_ROUND_DOUBLE)
    } else {
        S8_DW3_IMAGE(CNNC_ROUND_SINGLE)
    }
#undef S8_DW3_IMAGE
#undef S8_DW3_ROW
#undef S8_DW3_BORDER
#undef S8_DW3_INROW
#undef S8_DW3_INNER
#undef S8_DW3_EDGE
#undef S8_DW3_PIXEL
#undef S8_DW3_PAIRS
#undef S8_DW3_PAIR
#undef S8_DW3_VB2
#undef S8_DW3_VB1
#undef S8_DW3_VA
#undef S8_DW3_COL
#undef S8_DW3_LD_INNER
#undef S8_DW3_LD_EDGE
#undef S8_DW3_LD_LEFT
#undef S8_DW3_SUM
#undef S8_DW3_SUM6
}

void cnnc_s8_dwconv__neon(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift,
                          int8_t *y) {
    int32_t c0;
    if (p->kernel_h != 3 || p->kernel_w != 3 || p->c < 8 || p->dilation_h != 1 ||
        p->dilation_w != 1 || p->rounding == CNNC_ROUND_ONNXRUNTIME ||
        !s8_dw3_weights_fit(w, (size_t)9 * p->c)) {
        /* the 3x3 rows read adjacent taps and requantise in the integer roundings; the
         * loops honour dilation and every rounding */
        s8_dwconv_loops(p, x, w, bias, mult, shift, y);
        return;
    }
    for (c0 = 0; c0 + 8 <= p->c; c0 += 8) s8_dw3x3_block(p, x, w, bias, mult, shift, y, c0);
    if (c0 < p->c) /* the last channels: an 8-wide block ending at c (c >= 8) */
        s8_dw3x3_block(p, x, w, bias, mult, shift, y, p->c - 8);
}
#else
typedef int cnnc_s8_dwconv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
