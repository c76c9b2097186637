/* float32 fully connected layer (also the pointwise convolution). See
 * cnnc_f32_dense_params in cnnc_f32.h. */
#include "cnnc_f32.h"

#define DENSE_BLOCK 8 /* outputs computed together: 8 independent accumulator chains */

/* With w as [K,M], a block of outputs keeps 8 accumulators live across the k loop:
 * 8 independent add chains (vectorised by the compiler) instead of one serial
 * reduction, while each output still sums bias, then k = 0..K-1 in order, so the result
 * is exactly that of the plain dot product. */
void cnnc_f32_dense__ref(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                         const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                         float *CNNC_RESTRICT y) {
    int32_t n, m0, m, k, j;
    for (n = 0; n < p->n; ++n) {
        const float *xn = x + (size_t)n * p->k; /* [K] */
        float *yn = y + (size_t)n * p->m;       /* [M] */
        for (m0 = 0; m0 + DENSE_BLOCK <= p->m; m0 += DENSE_BLOCK) {
            float acc[DENSE_BLOCK]; /* outputs m0 .. m0+7 */
            for (j = 0; j < DENSE_BLOCK; ++j) acc[j] = bias ? bias[m0 + j] : 0.0f;
            for (k = 0; k < p->k; ++k) {
                const float xk = xn[k];
                const float *wk = w + (size_t)k * p->m + m0; /* [8] of row k */
                for (j = 0; j < DENSE_BLOCK; ++j) acc[j] += xk * wk[j];
            }
            for (j = 0; j < DENSE_BLOCK; ++j) yn[m0 + j] = cnnc_f32_apply_act(&p->act, acc[j]);
        }
        for (m = m0; m < p->m; ++m) {
            float acc = bias ? bias[m] : 0.0f;
            for (k = 0; k < p->k; ++k) acc += xn[k] * w[(size_t)k * p->m + m];
            yn[m] = cnnc_f32_apply_act(&p->act, acc);
        }
    }
}
