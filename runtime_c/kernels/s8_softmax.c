/* int8 softmax through an exp table (integer arithmetic only); params, table and bounds
 * in cnnc_s8.h. cnnc.ops.s8.softmax_s8 computes the same integers. */
#include "cnnc_s8.h"

void cnnc_s8_softmax__ref(const cnnc_s8_softmax_params *p, const int8_t *x,
                          const int32_t *exp_table, int8_t *y) {
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const int8_t *xo = x + (size_t)o * p->c; /* [C] */
        int8_t *yo = y + (size_t)o * p->c;       /* [C] */
        int32_t max = xo[0], sum = 0;
        for (i = 1; i < p->c; ++i) max = xo[i] > max ? xo[i] : max;
        for (i = 0; i < p->c; ++i) sum += exp_table[255 + xo[i] - max];
        for (i = 0; i < p->c; ++i) {
            const int32_t e = exp_table[255 + xo[i] - max];
            const int32_t q = (e * 256 + sum / 2) / sum;
            yo[i] = (int8_t)((q > 255 ? 255 : q) - 128);
        }
    }
}
