/* float32 fully connected layer. See cnnc_f32_dense_params in cnnc_f32.h. */
#include "cnnc_f32.h"

void cnnc_f32_dense__ref(const cnnc_f32_dense_params *p, const float *CNNC_RESTRICT x,
                         const float *CNNC_RESTRICT w, const float *CNNC_RESTRICT bias,
                         float *CNNC_RESTRICT y) {
    int n, m, k;
    for (n = 0; n < p->n; ++n) {
        const float *xn = x + (size_t)n * p->k; /* [K] */
        for (m = 0; m < p->m; ++m) {
            const float *wm = w + (size_t)m * p->k; /* [K] */
            float acc = bias ? bias[m] : 0.0f;
            for (k = 0; k < p->k; ++k) acc += xn[k] * wm[k];
            y[(size_t)n * p->m + m] = cnnc_f32_apply_act(&p->act, acc);
        }
    }
}
