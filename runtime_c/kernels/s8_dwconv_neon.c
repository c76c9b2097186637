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
    size_t i = 0;
#if defined(__aarch64__) /* the lowest of 64 weights at a time */
    int8x16_t low = vdupq_n_s8(0);
    for (; i + 64 <= count; i += 64) {
        const int8x16x4_t v = vld1q_s8_x4(w + i);
        low = vminq_s8(low, vminq_s8(vminq_s8(v.val[0], v.val[1]), vminq_s8(v.val[2], v.val[3])));
    }
    if (vminvq_s8(low) == -128) return 0;
#endif
    for (; i + 8 <= count; i += 8) any = vorr_u8(any, vceq_s8(vld1_s8(w + i), lowest));
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
    o = S8G_OUT_OF(p);
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

#if defined(__aarch64__)
/* aarch64: 3x3 depthwise, dilation 1, c >= 16, in blocks of 16 channels over tiles of the
 * image (armv7, whose 16 q registers cannot hold nine 16-byte weight vectors, and c < 16
 * keep s8_dw3x3_block above).
 *
 * Per block, the 16 channels of an input tile (the rows and columns the tile's outputs
 * read, padding included) are copied into a stack buffer, 16 bytes per pixel, x's zero
 * point in the padding: every output pixel then reads its three input rows as three runs
 * of three adjacent 16-byte columns (one LD1 of three registers each), borders and
 * interior alike, and the block's nine weight vectors and requantisation constants stay in
 * registers across the whole image. When the image is one tile (its padded input, at most
 * 128 columns, fits the 1024-pixel buffer) the padding is written once per layer and each
 * block copies only the image's pixels. The arithmetic is s8_dw3x3_block's: raw x
 * times w in int16 pairs (SMULL/SMLAL and their high-half forms), five partial sums
 * widened into the int32 lanes (SADDW/SADDW2), init = bias - zp * sum_taps w, padding taps
 * reading zp. Per pixel of 16 channels: 3 + 1 loads, 38 multiply/widen, 19 (SINGLE_NEG) or
 * 23 (DOUBLE_NEG) requantisation and store, a few for the loop; the copy adds about 2 per
 * copied input pixel. */
#if defined(__GNUC__)
#define S8_DW16_INLINE static __inline__ __attribute__((always_inline))
#else
#define S8_DW16_INLINE static
#endif
#define S8_DW16_BUF_PIXELS 1024 /* the tile buffer: 16 KiB of 16-byte pixels */
#define S8_DW16_MAX_COLS 128    /* input columns of a tile: at least 8 rows fit */
/* The requantisation of 16 channels: two of s8_gemm_neon.h's 8-lane ones (with its
 * shorter _NEG forms where every channel's shift is negative). */
typedef struct {
    s8g_rq half[2];
} s8_dw16_rq;

/* The code for the whole layer: a _NEG one when every channel's shift is negative. */
static int32_t s8_dw16_rounding(int32_t rounding, const int32_t *shift, int32_t c) {
    int32x4_t top = vdupq_n_s32(-1);
    int32_t j = 0;
    if (rounding != CNNC_ROUND_SINGLE && rounding != CNNC_ROUND_DOUBLE) return rounding;
    for (; j + 4 <= c; j += 4) top = vmaxq_s32(top, vld1q_s32(shift + j));
    for (; j < c; ++j)
        if (shift[j] >= 0) return rounding;
    if (vmaxvq_s32(top) >= 0) return rounding;
    return rounding == CNNC_ROUND_SINGLE ? S8G_ROUND_SINGLE_NEG : S8G_ROUND_DOUBLE_NEG;
}

S8_DW16_INLINE void s8_dw16_rq_init(s8_dw16_rq *q, const int32_t *mult, const int32_t *shift,
                                    const cnnc_s8_conv_params *p, int32_t rnd) {
    s8g_out o;
    o = S8G_OUT_OF(p);
    s8g_rq_init(&q->half[0], mult, shift, &o, rnd);
    s8g_rq_init(&q->half[1], mult + 8, shift + 8, &o, rnd);
}

/* requant(x) for lanes 4j .. 4j + 3 of the 16. */
S8_DW16_INLINE int32x4_t s8_dw16_rq4(const s8_dw16_rq *q, int32x4_t x, int32_t j, int32_t rnd) {
    return s8g_rq4(&q->half[j >> 1], x, j & 1, rnd);
}

/* acc[0..4) += the 16 int16 lanes of pl (channels 0..7) and ph (8..15), widened */
#define S8_DW16_WIDEN(acc, pl, ph)                            \
    do {                                                      \
        acc.val[0] = vaddw_s16(acc.val[0], vget_low_s16(pl)); \
        acc.val[1] = vaddw_high_s16(acc.val[1], pl);          \
        acc.val[2] = vaddw_s16(acc.val[2], vget_low_s16(ph)); \
        acc.val[3] = vaddw_high_s16(acc.val[3], ph);          \
    } while (0)
/* acc += xa * wa + xb * wb: two taps' products summed in int16 (|sum| <= 2 * 128 * 127) */
#define S8_DW16_PAIR(acc, xa, wa, xb, wb)                          \
    do {                                                           \
        int16x8_t pl = vmull_s8(vget_low_s8(xa), vget_low_s8(wa)); \
        int16x8_t ph = vmull_high_s8(xa, wa);                      \
        pl = vmlal_s8(pl, vget_low_s8(xb), vget_low_s8(wb));       \
        ph = vmlal_high_s8(ph, xb, wb);                            \
        S8_DW16_WIDEN(acc, pl, ph);                                \
    } while (0)

typedef struct {
    int8x16_t w0, w1, w2, w3, w4, w5, w6, w7, w8; /* tap t's 16 weights */
} s8_dw16_w;

/* One output pixel of 16 channels at y from the three 3-column runs r0, r1, r2. */
S8_DW16_INLINE void s8_dw16_pixel(s8_dw16_w *k, const int32_t *init, const s8_dw16_rq *q,
                                  const int8_t *r0, const int8_t *r1, const int8_t *r2, int8_t *y,
                                  int32_t rnd) {
    int32x4x4_t acc = vld1q_s32_x4(init);
    int8x16x3_t v = vld1q_s8_x3(r0); /* each row loaded just before its taps */
    int8x16_t carry;
    int16x8_t z0, z1;
    int8x16_t r;
#if defined(__GNUC__)
    /* no code: the weights count as changed by each pixel, so that GCC does not hoist their
     * low halves (SMULL's operands) out of the loop as nine more live registers */
    __asm__ volatile("" : "+w"(k->w0), "+w"(k->w1), "+w"(k->w2), "+w"(k->w3), "+w"(k->w4));
    __asm__ volatile("" : "+w"(k->w5), "+w"(k->w6), "+w"(k->w7), "+w"(k->w8));
#endif
    S8_DW16_PAIR(acc, v.val[0], k->w0, v.val[1], k->w1);
    carry = v.val[2];
    v = vld1q_s8_x3(r1);
    S8_DW16_PAIR(acc, carry, k->w2, v.val[0], k->w3);
    S8_DW16_PAIR(acc, v.val[1], k->w4, v.val[2], k->w5);
    v = vld1q_s8_x3(r2);
    S8_DW16_PAIR(acc, v.val[0], k->w6, v.val[1], k->w7);
    {
        const int16x8_t pl = vmull_s8(vget_low_s8(v.val[2]), vget_low_s8(k->w8));
        const int16x8_t ph = vmull_high_s8(v.val[2], k->w8);
        S8_DW16_WIDEN(acc, pl, ph);
    }
    z0 = vqmovn_high_s32(vqmovn_s32(s8_dw16_rq4(q, acc.val[0], 0, rnd)),
                         s8_dw16_rq4(q, acc.val[1], 1, rnd));
    z1 = vqmovn_high_s32(vqmovn_s32(s8_dw16_rq4(q, acc.val[2], 2, rnd)),
                         s8_dw16_rq4(q, acc.val[3], 3, rnd));
    r = vqmovn_high_s16(vqmovn_s16(vqaddq_s16(z0, q->half[0].zp)), vqaddq_s16(z1, q->half[0].zp));
    vst1q_s8(y, vminq_s8(vmaxq_s8(r, q->half[0].lo), q->half[0].hi));
}

/* dst[0 .. n) = the 16-byte pixels src, src + step, ..., n >= 0 */
S8_DW16_INLINE int8_t *s8_dw16_copy(int8_t *dst, const int8_t *src, size_t step, int32_t n) {
    int8_t *const end8 = dst + (size_t)(n & ~7) * 16, *const end = dst + (size_t)n * 16;
    while (dst != end8) {
        const int8x16_t v0 = vld1q_s8(src), v1 = vld1q_s8(src + step);
        const int8x16_t v2 = vld1q_s8(src + 2 * step), v3 = vld1q_s8(src + 3 * step);
        const int8x16_t v4 = vld1q_s8(src + 4 * step), v5 = vld1q_s8(src + 5 * step);
        const int8x16_t v6 = vld1q_s8(src + 6 * step), v7 = vld1q_s8(src + 7 * step);
        vst1q_s8(dst, v0);
        vst1q_s8(dst + 16, v1);
        vst1q_s8(dst + 32, v2);
        vst1q_s8(dst + 48, v3);
        vst1q_s8(dst + 64, v4);
        vst1q_s8(dst + 80, v5);
        vst1q_s8(dst + 96, v6);
        vst1q_s8(dst + 112, v7);
        src += 8 * step;
        dst += 128;
    }
    if (n & 4) {
        const int8x16_t v0 = vld1q_s8(src), v1 = vld1q_s8(src + step);
        const int8x16_t v2 = vld1q_s8(src + 2 * step), v3 = vld1q_s8(src + 3 * step);
        vst1q_s8(dst, v0);
        vst1q_s8(dst + 16, v1);
        vst1q_s8(dst + 32, v2);
        vst1q_s8(dst + 48, v3);
        src += 4 * step;
        dst += 64;
    }
    for (; dst != end; src += step, dst += 16) vst1q_s8(dst, vld1q_s8(src));
    return dst;
}

S8_DW16_INLINE int8_t *s8_dw16_fill(int8_t *dst, int8x16_t v, int32_t n) {
    int8_t *const end = dst + (size_t)n * 16;
    for (; dst != end; dst += 16) vst1q_s8(dst, v);
    return dst;
}

/* The 16-channel blocks at c0 = 0, 16, ..., and the last one ending at c (c >= 16), with
 * requantisation code rnd for all of them. */
/* The padding of a tile buffer of input rows [iya, iyb), ncols columns: whole rows outside
 * the image, and the left and right columns of the others. */
S8_DW16_INLINE void s8_dw16_pad(int8_t *buf, int8x16_t zpv, int32_t iya, int32_t iyb, int32_t h,
                                int32_t ncols, int32_t left, int32_t right) {
    const size_t pitch = (size_t)ncols * 16;
    int32_t iy;
    for (iy = iya; iy < iyb; ++iy, buf += pitch) {
        if (iy < 0 || iy >= h) {
            s8_dw16_fill(buf, zpv, ncols);
        } else {
            s8_dw16_fill(buf, zpv, left);
            s8_dw16_fill(buf + pitch - (size_t)right * 16, zpv, right);
        }
    }
}

S8_DW16_INLINE void s8_dw16_layer(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w,
                                  const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                  int8_t *y, int8_t *buf, int32_t rnd) {
    /* the parameters in locals: the int8 stores below may alias *p */
    const size_t c = (size_t)p->c;
    const int32_t n = p->n, h = p->h, wd = p->w, out_h = p->out_h, out_w = p->out_w;
    const int32_t sh = p->stride_h, sw = p->stride_w, pad_top = p->pad_top;
    const int32_t pad_left = p->pad_left;
    const int8x16_t zpv = vdupq_n_s8((int8_t)p->x_zero_point);
    const int16x8_t xzp = vdupq_n_s16((int16_t)p->x_zero_point);
    const size_t step = (size_t)sw * 16;
    /* output tiles of tw columns and th rows whose input fits the buffer */
    int32_t tw = (S8_DW16_MAX_COLS - 3) / sw + 1, th, b, oya, oxa, oy, c0, single;
    s8_dw16_rq q;
    if (tw > out_w) tw = out_w;
    th = (S8_DW16_BUF_PIXELS / ((tw - 1) * sw + 3) - 3) / sh + 1;
    if (th > out_h) th = out_h;
    /* one tile per image: its buffer's padding, x's zero point, is the same for every
     * block and image, written once here */
    single = th == out_h && tw == out_w;
    if (single) {
        const int32_t ncols = (out_w - 1) * sw + 3;
        const int32_t right = ncols - pad_left - wd;
        s8_dw16_pad(buf, zpv, -pad_top, (out_h - 1) * sh - pad_top + 3, h, ncols,
                    pad_left < ncols ? pad_left : ncols, right < 0 ? 0 : right);
    }
    for (c0 = 0; c0 < p->c; c0 += 16) {
        s8_dw16_w k;
        int32_t init[16];
        int16x8_t sl, shi;
        int32x4x4_t ib;
        if (c0 + 16 > p->c) c0 = p->c - 16; /* the last block overlaps the one before */
        ib = vld1q_s32_x4(bias + c0);
        s8_dw16_rq_init(&q, mult + c0, shift + c0, p, rnd);
        k.w0 = vld1q_s8(w + c0);
        k.w1 = vld1q_s8(w + c + c0);
        k.w2 = vld1q_s8(w + 2 * c + c0);
        k.w3 = vld1q_s8(w + 3 * c + c0);
        k.w4 = vld1q_s8(w + 4 * c + c0);
        k.w5 = vld1q_s8(w + 5 * c + c0);
        k.w6 = vld1q_s8(w + 6 * c + c0);
        k.w7 = vld1q_s8(w + 7 * c + c0);
        k.w8 = vld1q_s8(w + 8 * c + c0);
        /* init = bias - zp * sum_taps w (modulo 2^32, as the NEON adds wrap); the sum of
         * nine int8 fits int16 */
        sl = vaddl_s8(vget_low_s8(k.w0), vget_low_s8(k.w1));
        shi = vaddl_high_s8(k.w0, k.w1);
#define S8_DW16_WSUM(W)                    \
    do {                                   \
        sl = vaddw_s8(sl, vget_low_s8(W)); \
        shi = vaddw_high_s8(shi, W);       \
    } while (0)
        S8_DW16_WSUM(k.w2);
        S8_DW16_WSUM(k.w3);
        S8_DW16_WSUM(k.w4);
        S8_DW16_WSUM(k.w5);
        S8_DW16_WSUM(k.w6);
        S8_DW16_WSUM(k.w7);
        S8_DW16_WSUM(k.w8);
#undef S8_DW16_WSUM
        ib.val[0] = vmlsl_s16(ib.val[0], vget_low_s16(sl), vget_low_s16(xzp));
        ib.val[1] = vmlsl_high_s16(ib.val[1], sl, xzp);
        ib.val[2] = vmlsl_s16(ib.val[2], vget_low_s16(shi), vget_low_s16(xzp));
        ib.val[3] = vmlsl_high_s16(ib.val[3], shi, xzp);
        vst1q_s32_x4(init, ib);
        for (b = 0; b < n; ++b)
            for (oya = 0; oya < out_h; oya += th)
                for (oxa = 0; oxa < out_w; oxa += tw) {
                    const int32_t oyb = oya + th < out_h ? oya + th : out_h;
                    const int32_t oxb = oxa + tw < out_w ? oxa + tw : out_w;
                    const int32_t iya = oya * sh - pad_top, iyb = (oyb - 1) * sh - pad_top + 3;
                    const int32_t ixa = oxa * sw - pad_left, ixb = (oxb - 1) * sw - pad_left + 3;
                    const int32_t ncols = ixb - ixa;
                    /* columns [ixa, ixb) split into padding, image, padding */
                    const int32_t left = ixa < 0 ? (-ixa < ncols ? -ixa : ncols) : 0;
                    const int32_t right =
                        ixb > wd ? (ixb - wd < ncols - left ? ixb - wd : ncols - left) : 0;
                    const int32_t mid = ncols - left - right;
                    const size_t pitch = (size_t)ncols * 16;
                    const int8_t *src = x + ((size_t)b * h * wd + (size_t)(ixa + left)) * c + c0;
                    const int32_t iy0 = iya < 0 ? 0 : iya, iy1 = iyb < h ? iyb : h;
                    int32_t iy;
                    if (!single) s8_dw16_pad(buf, zpv, iya, iyb, h, ncols, left, right);
                    for (iy = iy0; iy < iy1; ++iy)
                        s8_dw16_copy(buf + (size_t)(iy - iya) * pitch + (size_t)left * 16,
                                     src + (size_t)iy * wd * c, c, mid);
                    for (oy = oya; oy < oyb; ++oy) {
                        const int8_t *r0 = buf + (size_t)(oy - oya) * sh * pitch;
                        const int8_t *r1 = r0 + pitch, *r2 = r1 + pitch;
                        int8_t *yp = y + (((size_t)b * out_h + oy) * out_w + oxa) * c + c0;
                        int8_t *const yend = yp + (size_t)(oxb - oxa) * c;
                        for (; yp != yend; r0 += step, r1 += step, r2 += step, yp += c)
                            s8_dw16_pixel(&k, init, &q, r0, r1, r2, yp, rnd);
                    }
                }
    }
}

/* All channels (c >= 16). (GCC's first scheduling pass would hoist a pixel's nine input
 * loads and spill the weights.) */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-schedule-insns", "no-move-loop-invariants")))
#endif
static void
s8_dw16(const cnnc_s8_conv_params *p, const int8_t *x, const int8_t *w, const int32_t *bias,
        const int32_t *mult, const int32_t *shift, int8_t *y) {
    int8_t buf[S8_DW16_BUF_PIXELS * 16];
    const int32_t rnd = s8_dw16_rounding(p->rounding, shift, p->c);
    if (rnd == S8G_ROUND_DOUBLE_NEG) {
        s8_dw16_layer(p, x, w, bias, mult, shift, y, buf, S8G_ROUND_DOUBLE_NEG);
    } else if (rnd == S8G_ROUND_SINGLE_NEG) {
        s8_dw16_layer(p, x, w, bias, mult, shift, y, buf, S8G_ROUND_SINGLE_NEG);
    } else if (rnd == CNNC_ROUND_DOUBLE) {
        s8_dw16_layer(p, x, w, bias, mult, shift, y, buf, CNNC_ROUND_DOUBLE);
    } else {
        s8_dw16_layer(p, x, w, bias, mult, shift, y, buf, CNNC_ROUND_SINGLE);
    }
}
#undef S8_DW16_PAIR
#undef S8_DW16_WIDEN
#endif

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
#if defined(__aarch64__)
    if (p->c >= 16 && p->out_h > 0 && p->out_w > 0) {
        s8_dw16(p, x, w, bias, mult, shift, y);
        return;
    }
#endif
    for (c0 = 0; c0 + 8 <= p->c; c0 += 8) s8_dw3x3_block(p, x, w, bias, mult, shift, y, c0);
    if (c0 < p->c) /* the last channels: an 8-wide block ending at c (c >= 8) */
        s8_dw3x3_block(p, x, w, bias, mult, shift, y, p->c - 8);
}
#else
typedef int cnnc_s8_dwconv_neon_empty; /* ISO C forbids an empty translation unit */
#endif
