/* int8 product of two activations with broadcasting (squeeze-excitation); params and the
 * overflow bound in cnnc_s8.h. */
#include "cnnc_s8.h"

void cnnc_s8_mul__ref(const cnnc_s8_mul_params *p, const int8_t *a, const int8_t *b, int8_t *y) {
    int32_t r, i;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *ar = a + (size_t)r * p->cols;         /* [cols] */
        const int8_t *br = b + (size_t)r * p->b_row_stride; /* [cols] with col stride */
        int8_t *yr = y + (size_t)r * p->cols;               /* [cols] */
        for (i = 0; i < p->cols; ++i) {
            const int32_t prod =
                (ar[i] - p->a_zero_point) * (br[(size_t)i * p->b_col_stride] - p->b_zero_point);
            yr[i] = cnnc_requant_s8(prod, p->mult, p->shift, p->rounding, p->y_zero_point,
                                    p->act_min, p->act_max);
        }
    }
}
