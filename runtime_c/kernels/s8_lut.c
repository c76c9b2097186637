/* int8 elementwise lookup table (sigmoid, tanh, SiLU, HardSwish, HardSigmoid in int8);
 * params and contract in cnnc_s8.h. The table is data, so there is no arithmetic to
 * round differently: the C equals cnnc.ops.s8.lut_s8 for every input. */
#include "cnnc_s8.h"

void cnnc_s8_lut__ref(const cnnc_s8_lut_params *p, const int8_t *x, const int8_t *table,
                      int8_t *y) {
    int32_t i;
    for (i = 0; i < p->size; ++i) y[i] = table[(int32_t)x[i] + 128];
}
