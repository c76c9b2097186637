/* int8 fully connected layer; params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* Overflow: |bias[o]| + 255 * sum_i |w[o][i]| <= 2^31 - 1, proved per output by the
 * compiler (cnnc.quantize, check_accumulator); K = k taps of at most 32385 each. */
void cnnc_s8_dense__ref(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift,
                        int8_t *y) {
    int32_t b, o, i;
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * p->k; /* [k] */
        for (o = 0; o < p->m; ++o) {
            const int8_t *wo = w + (size_t)o * p->k; /* [k] */
            int32_t acc = bias[o];
            for (i = 0; i < p->k; ++i) acc += (xb[i] - p->x_zero_point) * wo[i];
            y[(size_t)b * p->m + o] = cnnc_requant_s8(acc, mult[o], shift[o], p->rounding,
                                                      p->y_zero_point, p->act_min, p->act_max);
        }
    }
}
