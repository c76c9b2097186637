/* int8 concat along channels, one input per call; params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* Overflow: |x - x_zero_point| <= 255; requantisation saturates, the clamp keeps int8. */
void cnnc_s8_concat__ref(const cnnc_s8_concat_params *p, const int8_t *x, int8_t *y) {
    int32_t i, ch;
    for (i = 0; i < p->outer; ++i) {
        const int8_t *xp = x + (size_t)i * p->c_in;          /* [c_in] */
        int8_t *yp = y + (size_t)i * p->c_out + p->c_offset; /* [c_in] of [c_out] */
        for (ch = 0; ch < p->c_in; ++ch)
            yp[ch] = cnnc_requant_s8(xp[ch] - p->x_zero_point, p->mult, p->shift, p->rounding,
                                     p->y_zero_point, -128, 127);
    }
}

void cnnc_s8_slice__ref(const cnnc_s8_slice_params *p, const int8_t *x, int8_t *y) {
    int32_t i, ch;
    for (i = 0; i < p->outer; ++i) {
        const int8_t *xp = x + (size_t)i * p->c_in + p->c_offset; /* [c_out] of [c_in] */
        int8_t *yp = y + (size_t)i * p->c_out;
        for (ch = 0; ch < p->c_out; ++ch) yp[ch] = xp[ch];
    }
}
