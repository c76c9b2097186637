/* AVX-512 (F/BW/DQ/VL) variant of the int8 depthwise conv, bit-exact to
 * cnnc_s8_dwconv__ref: the loops of s8_dwconv_loops.h on the hooks below. A block of 32
 * (16, 8) channels lives in two (one, half of one) int32x16 registers: 16 channels of x
 * and of w are sign-extended to int32, x - zp multiplied by w (_mm512_mullo_epi32, exact:
 * |product| <= 255 * 127) and added; sixteen requantisations at once
 * (s8_requant_avx512.h); 8-channel blocks load and store only their lanes. Compiled on
 * every x86-64 build (CNNC_TARGET_AVX512); run only on CPUs with AVX-512 F/BW/DQ/VL. */
#include "cnnc_s8.h"
#include "s8_requant_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define S8_DW_COLS 32
#define S8_TARGET CNNC_TARGET_AVX512

typedef struct {
    __m512i lo, hi; /* channels c0 .. c0+15, c0+16 .. c0+31 (hi unused when nb <= 16) */
} s8_dw_acc;
typedef __m512i s8_dw_zp; /* zp in every int32 lane */

CNNC_TARGET_AVX512 CNNC_INLINE __mmask16 s8_dw_live(int32_t nb) {
    return nb == 8 ? 0x00FF : 0xFFFF;
}

CNNC_TARGET_AVX512 CNNC_INLINE s8_dw_zp s8_dw_zero_point(int32_t zp) {
    return _mm512_set1_epi32(zp);
}

CNNC_TARGET_AVX512 CNNC_INLINE s8_dw_acc s8_dw_init(const int32_t *bias, int32_t nb) {
    s8_dw_acc a;
    a.lo = _mm512_maskz_loadu_epi32(s8_dw_live(nb), bias);
    a.hi = nb == 32 ? _mm512_loadu_si512((const void *)(bias + 16)) : _mm512_setzero_si512();
    return a;
}

/* x - zp and w of 16 channels (8: the low lanes, the rest 0) as int32 lanes, multiplied. */
CNNC_TARGET_AVX512 CNNC_INLINE __m512i s8_dw_tap16(const int8_t *x, const int8_t *w, __m512i zp,
                                                   int32_t nb) {
    const __m128i xb =
        nb == 8 ? _mm_loadl_epi64((const __m128i *)x) : _mm_loadu_si128((const __m128i *)x);
    const __m128i wb =
        nb == 8 ? _mm_loadl_epi64((const __m128i *)w) : _mm_loadu_si128((const __m128i *)w);
    return _mm512_mullo_epi32(_mm512_sub_epi32(_mm512_cvtepi8_epi32(xb), zp),
                              _mm512_cvtepi8_epi32(wb));
}

CNNC_TARGET_AVX512 CNNC_INLINE void s8_dw_tap(s8_dw_acc *a, const int8_t *x, const int8_t *w,
                                              s8_dw_zp zp, int32_t nb) {
    a->lo = _mm512_add_epi32(a->lo, s8_dw_tap16(x, w, zp, nb));
    if (nb == 32) a->hi = _mm512_add_epi32(a->hi, s8_dw_tap16(x + 16, w + 16, zp, 16));
}

CNNC_TARGET_AVX512 CNNC_INLINE void s8_dw_requant(const s8_dw_acc *a, int32_t nb,
                                                  const int32_t *mult, const int32_t *shift,
                                                  const cnnc_s8_conv_params *p, int8_t *y) {
    s8_requant16_avx512(a->lo, mult, shift, p->rounding, p->y_zero_point, p->act_min, p->act_max, y,
                        s8_dw_live(nb));
    if (nb == 32)
        s8_requant16_avx512(a->hi, mult + 16, shift + 16, p->rounding, p->y_zero_point, p->act_min,
                            p->act_max, y + 16, 0xFFFF);
}

#include "s8_dwconv_loops.h"

/* The 3x3 depthwise conv (dilation 1, any stride and padding), one output row at a time:
 * per block of up to 32 channels (masked loads and stores, so no channel is left to a
 * scalar loop) the nine taps' weights stay in registers as int32 lanes whose high int16 is
 * 0, so _mm512_madd_epi16 with an int32 x lane gives the exact product x * w in one µop
 * (the lane's high halves multiply 0). Output pixels whose nine taps are all inside the
 * image start from bias - zp * sum(w) and add x * w for raw x (integer sums mod 2^32 reach
 * the same int32 as bias + sum (x - zp) * w, which the compiler's bound keeps within
 * int32); border pixels add (x - zp) * w over their inside taps, as __ref. */
#define S8_DW3_W(t)                                                                          \
    const __m512i wl##t = _mm512_and_si512(                                                  \
        _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m0, w + (t) * (size_t)p->c + c0)), low16); \
    const __m512i wh##t = _mm512_and_si512(                                                  \
        _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m1, w + (t) * (size_t)p->c + c0 + 16)), low16);
#define S8_DW3_SUM(t)                                                                     \
    sl = _mm512_add_epi32(                                                                \
        sl, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m0, w + (t) * (size_t)p->c + c0))); \
    sh = _mm512_add_epi32(                                                                \
        sh, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m1, w + (t) * (size_t)p->c + c0 + 16)));
#define S8_DW3_TAP(t)                                                                           \
    {                                                                                           \
        const int8_t *xt = xp + ((t) / 3) * rowb + ((t) % 3) * (size_t)p->c;                    \
        al = _mm512_add_epi32(                                                                  \
            al, _mm512_madd_epi16(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m0, xt)), wl##t));  \
        ah = _mm512_add_epi32(                                                                  \
            ah,                                                                                 \
            _mm512_madd_epi16(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m1, xt + 16)), wh##t)); \
    }
#define S8_DW3_TAPS(f) f(0) f(1) f(2) f(3) f(4) f(5) f(6) f(7) f(8)

CNNC_TARGET_AVX512 static void s8_dw3x3_avx512(const cnnc_s8_conv_params *p, const int8_t *x,
                                               const int8_t *w, const int32_t *bias,
                                               const int32_t *mult, const int32_t *shift,
                                               int8_t *y) {
    const __m512i zp = _mm512_set1_epi32(p->x_zero_point), low16 = _mm512_set1_epi32(0xFFFF);
    const size_t rowb = (size_t)p->w * p->c; /* bytes between input rows */
    int32_t b, oy, ox, c0, ky, kx;
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0, ky1 = p->h - iy0 < 3 ? p->h - iy0 : 3;
            const int8_t *xrow = x + (size_t)b * p->h * rowb; /* image b */
            int8_t *yrow = y + ((size_t)b * p->out_h + oy) * p->out_w * p->c;
            for (c0 = 0; c0 < p->c; c0 += 32) {
                const int32_t nb = p->c - c0 < 32 ? p->c - c0 : 32;
                const __mmask16 m0 = nb >= 16 ? 0xFFFF : (__mmask16)((1u << nb) - 1);
                const __mmask16 m1 =
                    nb >= 32 ? 0xFFFF : (nb > 16 ? (__mmask16)((1u << (nb - 16)) - 1) : 0);
                const __m512i bl = _mm512_maskz_loadu_epi32(m0, bias + c0);
                const __m512i bh = _mm512_maskz_loadu_epi32(m1, bias + c0 + 16);
                __m512i sl = _mm512_setzero_si512(), sh = _mm512_setzero_si512();
                __m512i il, ih; /* bias - zp * sum(w): the interior pixels' start */
                s8_rq16_avx512 q0, q1;
                S8_DW3_TAPS(S8_DW3_W)
                S8_DW3_TAPS(S8_DW3_SUM)
                il = _mm512_sub_epi32(bl, _mm512_mullo_epi32(zp, sl));
                ih = _mm512_sub_epi32(bh, _mm512_mullo_epi32(zp, sh));
                s8_rq16_prepare(&q0, mult + c0, shift + c0, m0, p->rounding, p->y_zero_point,
                                p->act_min, p->act_max);
                s8_rq16_prepare(&q1, mult + c0 + 16, shift + c0 + 16, m1, p->rounding,
                                p->y_zero_point, p->act_min, p->act_max);
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int32_t ix0 = ox * p->stride_w - p->pad_left;
                    int8_t *yp = yrow + (size_t)ox * p->c + c0;
                    __m512i al, ah;
                    if (ky0 == 0 && ky1 == 3 && ix0 >= 0 && ix0 + 3 <= p->w) {
                        const int8_t *xp = xrow + (size_t)iy0 * rowb + (size_t)ix0 * p->c + c0;
                        al = il;
                        ah = ih;
                        S8_DW3_TAPS(S8_DW3_TAP)
                    } else { /* a border pixel: the taps inside, x - zp */
                        const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                        const int32_t kx1 = p->w - ix0 < 3 ? p->w - ix0 : 3;
                        al = bl;
                        ah = bh;
                        for (ky = ky0; ky < ky1; ++ky)
                            for (kx = kx0; kx < kx1; ++kx) {
                                const int8_t *xt = xrow + (size_t)(iy0 + ky) * rowb +
                                                   (size_t)(ix0 + kx) * p->c + c0;
                                const int8_t *wt = w + (size_t)(ky * 3 + kx) * p->c + c0;
                                const __m512i wtl = _mm512_and_si512(
                                    _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m0, wt)), low16);
                                const __m512i wth = _mm512_and_si512(
                                    _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m1, wt + 16)), low16);
                                al = _mm512_add_epi32(
                                    al,
                                    _mm512_madd_epi16(
                                        _mm512_sub_epi32(
                                            _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m0, xt)), zp),
                                        wtl));
                                ah = _mm512_add_epi32(
                                    ah, _mm512_madd_epi16(
                                            _mm512_sub_epi32(_mm512_cvtepi8_epi32(
                                                                 _mm_maskz_loadu_epi8(m1, xt + 16)),
                                                             zp),
                                            wth));
                            }
                    }
                    s8_rq16_store(&q0, al, yp, m0);
                    if (m1) s8_rq16_store(&q1, ah, yp + 16, m1);
                }
            }
        }
}

CNNC_TARGET_AVX512 void cnnc_s8_dwconv__avx512(const cnnc_s8_conv_params *p, const int8_t *x,
                                               const int8_t *w, const int32_t *bias,
                                               const int32_t *mult, const int32_t *shift,
                                               int8_t *y) {
    if (p->kernel_h == 3 && p->kernel_w == 3 && p->dilation_h == 1 && p->dilation_w == 1)
        s8_dw3x3_avx512(p, x, w, bias, mult, shift, y);
    else
        s8_dwconv_loops(p, x, w, bias, mult, shift, y);
}
#else
typedef int cnnc_s8_dwconv_avx512_empty; /* ISO C forbids an empty translation unit */
#endif
