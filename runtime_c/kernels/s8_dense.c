/* int8 fully connected layer; params in cnnc_s8.h. */
#include "cnnc_s8.h"

/* w[K][M] (repacked by cnnc.ops.s8.pack_weights): each input feature updates
 * CNNC_S8_BLOCK contiguous outputs. Overflow: |bias[o]| + xmax * sum_i |w[i][o]| <= 2^31 - 1
 * is proved per output by the compiler (cnnc.passes.quantize, check_accumulator); K = k taps of
 * at most 32385 each, and every partial sum obeys the same bound. */
void cnnc_s8_dense__ref(const cnnc_s8_dense_params *p, const int8_t *x, const int8_t *w,
                        const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *y) {
    int32_t b, o0, i, j;
    for (b = 0; b < p->n; ++b) {
        const int8_t *xb = x + (size_t)b * p->k; /* [k] */
        int8_t *yb = y + (size_t)b * p->m;       /* [m] */
        for (o0 = 0; o0 < p->m; o0 += CNNC_S8_BLOCK) {
            const int32_t nb = p->m - o0 < CNNC_S8_BLOCK ? p->m - o0 : CNNC_S8_BLOCK;
            int32_t acc[CNNC_S8_BLOCK];
            for (j = 0; j < nb; ++j) acc[j] = bias[o0 + j];
            for (i = 0; i < p->k; ++i) {
                const int32_t xv = xb[i] - p->x_zero_point;
                const int8_t *wr = w + (size_t)i * p->m + o0; /* [nb] */
                for (j = 0; j < nb; ++j) acc[j] += xv * wr[j];
            }
            for (j = 0; j < nb; ++j)
                yb[o0 + j] = cnnc_requant_s8(acc[j], mult[o0 + j], shift[o0 + j], p->rounding,
                                             p->y_zero_point, p->act_min, p->act_max);
        }
    }
}
