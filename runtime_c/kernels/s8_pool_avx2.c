/* AVX2 variants of the int8 max, average and global average pooling, bit-exact to their
 * __ref kernels (s8_pool.c): channels run in vector lanes, every output pixel visits the
 * same valid taps as __ref. Channel counts that are not a multiple of the block run their
 * last block on a zero-padded copy (only the real channels are read and written).
 * Compiled on every x86-64 build (CNNC_TARGET_AVX2); run only on CPUs with AVX2 and FMA. */
#include <string.h>

#include "cnnc_s8.h"
#include "s8_requant_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Rows [*ky0, *ky1) and columns [*kx0, *kx1) of the window of output (oy, ox) inside the
 * image (__ref's `continue`s), as in s8_dwconv_loops.h. */
CNNC_INLINE void s8_pool_window(const cnnc_s8_pool_params *p, int32_t oy, int32_t ox, int32_t *iy0,
                                int32_t *ix0, int32_t *ky0, int32_t *ky1, int32_t *kx0,
                                int32_t *kx1) {
    *iy0 = oy * p->stride_h - p->pad_top;
    *ix0 = ox * p->stride_w - p->pad_left;
    *ky0 = *iy0 < 0 ? -*iy0 : 0;
    *ky1 = p->h - *iy0 < p->kernel_h ? p->h - *iy0 : p->kernel_h;
    *kx0 = *ix0 < 0 ? -*ix0 : 0;
    *kx1 = p->w - *ix0 < p->kernel_w ? p->w - *ix0 : p->kernel_w;
}

/* nb (<= 32) bytes at x, zero-padded to 32 where nb < 32 (buf: 32 bytes of scratch). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_load32(const int8_t *x, int32_t nb, int8_t *buf) {
    if (nb == 32) return _mm256_loadu_si256((const __m256i *)x);
    memset(buf, 0, 32);
    memcpy(buf, x, (size_t)nb);
    return _mm256_loadu_si256((const __m256i *)buf);
}

CNNC_TARGET_AVX2 CNNC_INLINE void s8_store32(int8_t *y, __m256i v, int32_t nb, int8_t *buf) {
    if (nb == 32) {
        _mm256_storeu_si256((__m256i *)y, v);
        return;
    }
    _mm256_storeu_si256((__m256i *)buf, v);
    memcpy(y, buf, (size_t)nb);
}

/* Max over the valid taps of a window (x0: its first valid tap, nky x nkx of them, rows
 * `row` bytes apart), 32 channels from x0 (nb <= 32 of them read, the rest 0). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_window_max32(const int8_t *x0, int32_t nky, int32_t nkx,
                                                     size_t row, int32_t c, int32_t nb) {
    __m256i best = _mm256_set1_epi8(-128);
    int8_t buf[32];
    int32_t ky, kx;
    for (ky = 0; ky < nky; ++ky)
        for (kx = 0; kx < nkx; ++kx) {
            const int8_t *xp = x0 + ky * row + (size_t)kx * c; /* [nb] */
            best = _mm256_max_epi8(
                best, nb == 32 ? _mm256_loadu_si256((const __m256i *)xp) : s8_load32(xp, nb, buf));
        }
    return best;
}

/* Max over the valid taps, 32 channels per step; every window holds a valid tap. The full
 * blocks of 32 channels load and store whole vectors (nb a constant 32 there). */
CNNC_TARGET_AVX2 void cnnc_s8_maxpool__avx2(const cnnc_s8_pool_params *p, const int8_t *x,
                                            int8_t *y) {
    const __m256i lo = _mm256_set1_epi8((int8_t)p->act_min);
    const __m256i hi = _mm256_set1_epi8((int8_t)p->act_max);
    const size_t row = (size_t)p->w * p->c;
    const int32_t full = p->c & ~31;
    int8_t buf[32];
    int32_t b, oy, ox, c0, iy0, ix0, ky0, ky1, kx0, kx1;
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c; /* [c] */
                const int8_t *x0;
                s8_pool_window(p, oy, ox, &iy0, &ix0, &ky0, &ky1, &kx0, &kx1);
                x0 = x + (((size_t)b * p->h + iy0 + ky0) * p->w + ix0 + kx0) * p->c;
                for (c0 = 0; c0 < full; c0 += 32)
                    _mm256_storeu_si256(
                        (__m256i *)(yp + c0),
                        _mm256_min_epi8(
                            _mm256_max_epi8(
                                s8_window_max32(x0 + c0, ky1 - ky0, kx1 - kx0, row, p->c, 32), lo),
                            hi));
                if (full < p->c)
                    s8_store32(yp + full,
                               _mm256_min_epi8(
                                   _mm256_max_epi8(s8_window_max32(x0 + full, ky1 - ky0, kx1 - kx0,
                                                                   row, p->c, p->c - full),
                                                   lo),
                                   hi),
                               p->c - full, buf);
            }
}

/* sum / count rounded to nearest, ties away from zero, as __ref's
 * (sum +- count / 2) / count with C's truncating division, for 8 lanes. Through double:
 * num = sum +- count / 2 and count are exact (|num| < 2^31, count <= 2^23); the quotient
 * num / count is either an integer (then the division is exact) or at least 1 / count from
 * every integer, while its rounding error is at most 2^-53 * |num| / count < 1 / count
 * (|num| < 2^53), so truncating it (vcvttpd2dq) gives C's quotient. */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_div_round_avx2(__m256i sum, int32_t count) {
    const __m256i num = _mm256_add_epi32(sum, _mm256_sign_epi32(_mm256_set1_epi32(count / 2), sum));
    const __m256d d = _mm256_set1_pd((double)count);
    const __m128i q0 =
        _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(num)), d));
    const __m128i q1 =
        _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(num, 1)), d));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
}

/* Eight int32 lanes + zp clamped to [lo, hi] (int8 bounds) stored as int8; nb <= 8 stored. */
CNNC_TARGET_AVX2 CNNC_INLINE void s8_store8_clamped(int8_t *y, __m256i v, int32_t zp, int32_t lo,
                                                    int32_t hi, int32_t nb) {
    int8_t buf[8];
    v = _mm256_add_epi32(v, _mm256_set1_epi32(zp));
    v = _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
    if (nb == 8) {
        s8_store8_avx2(v, y);
        return;
    }
    s8_store8_avx2(v, buf);
    memcpy(y, buf, (size_t)nb);
}

/* nb (<= 8) int8 at x minus zp as int32 lanes (lanes past nb: 0 - zp, never stored). */
CNNC_TARGET_AVX2 CNNC_INLINE __m256i s8_load8_i32(const int8_t *x, int32_t nb, __m256i zp) {
    int8_t buf[8] = {0};
    if (nb == 8)
        return _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)x)), zp);
    memcpy(buf, x, (size_t)nb);
    return _mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)buf)), zp);
}

/* Overflow: as __ref, the sum holds at most kh*kw values of magnitude <= 255
 * (kh*kw <= 2^23, checked by the compiler): |sum| < 2^31. */
CNNC_TARGET_AVX2 void cnnc_s8_avgpool__avx2(const cnnc_s8_pool_params *p, const int8_t *x,
                                            int8_t *y) {
    const __m256i zp = _mm256_set1_epi32(p->zero_point);
    int32_t b, oy, ox, c0, ky, kx, iy0, ix0, ky0, ky1, kx0, kx1;
    for (b = 0; b < p->n; ++b)
        for (oy = 0; oy < p->out_h; ++oy)
            for (ox = 0; ox < p->out_w; ++ox) {
                int8_t *yp = y + (((size_t)b * p->out_h + oy) * p->out_w + ox) * p->c; /* [c] */
                int32_t count;
                s8_pool_window(p, oy, ox, &iy0, &ix0, &ky0, &ky1, &kx0, &kx1);
                count =
                    p->count_include_pad ? p->kernel_h * p->kernel_w : (ky1 - ky0) * (kx1 - kx0);
                for (c0 = 0; c0 < p->c; c0 += 8) {
                    const int32_t nb = p->c - c0 < 8 ? p->c - c0 : 8;
                    __m256i sum = _mm256_setzero_si256();
                    for (ky = ky0; ky < ky1; ++ky)
                        for (kx = kx0; kx < kx1; ++kx) {
                            const int8_t *xp =
                                x + (((size_t)b * p->h + iy0 + ky) * p->w + ix0 + kx) * p->c +
                                c0; /* [nb] */
                            sum = _mm256_add_epi32(sum, s8_load8_i32(xp, nb, zp));
                        }
                    s8_store8_clamped(yp + c0, s8_div_round_avx2(sum, count), p->zero_point,
                                      p->act_min, p->act_max, nb);
                }
            }
}

/* Overflow: the sum holds hw values of magnitude <= 255; hw <= 2^23 is checked by the
 * compiler, so |sum| < 2^31 (as __ref). 32 channels per pass over the pixels; a full pass
 * sums x and subtracts hw * zp at the end (the same integer: |sum of x| <= 128 * hw and
 * |hw * zp| <= 128 * hw stay below 2^31 as well). */
CNNC_TARGET_AVX2 void cnnc_s8_global_avgpool__avx2(const cnnc_s8_global_avgpool_params *p,
                                                   const int8_t *x, int8_t *y) {
    const __m256i zp = _mm256_set1_epi32(p->x_zero_point);
    const __m256i m = _mm256_set1_epi32(p->mult), s = _mm256_set1_epi32(p->shift);
    const int32_t lo = p->act_min - p->y_zero_point, hi = p->act_max - p->y_zero_point;
    int32_t b, i, c0, j;
    for (b = 0; b < p->n; ++b)
        for (c0 = 0; c0 < p->c; c0 += 32) {
            const int32_t nb = p->c - c0 < 32 ? p->c - c0 : 32;
            const int8_t *xc = x + (size_t)b * p->hw * p->c + c0; /* [hw] rows of c */
            __m256i sum[4];
            for (j = 0; j < 4; ++j) sum[j] = _mm256_setzero_si256();
            if (nb == 32) /* whole vectors, the zero point subtracted once: hw * zp */
                for (i = 0; i < p->hw; ++i) {
                    const int8_t *xp = xc + (size_t)i * p->c; /* [32] */
                    for (j = 0; j < 4; ++j)
                        sum[j] = _mm256_add_epi32(
                            sum[j],
                            _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(xp + 8 * j))));
                }
            else
                for (i = 0; i < p->hw; ++i)
                    for (j = 0; j * 8 < nb; ++j) {
                        const int32_t left = nb - j * 8 < 8 ? nb - j * 8 : 8;
                        sum[j] = _mm256_add_epi32(
                            sum[j], s8_load8_i32(xc + (size_t)i * p->c + j * 8, left, zp));
                    }
            if (nb == 32)
                for (j = 0; j < 4; ++j)
                    sum[j] =
                        _mm256_sub_epi32(sum[j], _mm256_mullo_epi32(zp, _mm256_set1_epi32(p->hw)));
            for (j = 0; j * 8 < nb; ++j) {
                const int32_t left = nb - j * 8 < 8 ? nb - j * 8 : 8;
                const __m256i r = s8_requant8_i32_avx2(sum[j], m, s, p->rounding, lo, hi);
                s8_store8_clamped(y + (size_t)b * p->c + c0 + j * 8, r, p->y_zero_point, -128, 127,
                                  left);
            }
        }
}
#else
typedef int cnnc_s8_pool_avx2_empty; /* ISO C forbids an empty translation unit */
#endif
