/* The column-range loop of the exact-mode float32 dense layer (cnnc_f32_dense_cols__<isa>,
 * for model_threads.c's split of a classifier over threads by output columns): outputs
 * [c0, c1) of every row of x[n][k] w[k][m] -> y[n][m], on f32_simd_loops.h's row path
 * (dense_row_block: blocks of F32_DENSE_KB rows of w, the running sums kept in y), so each
 * output sums bias, then k = 0..K-1 in order, unfused, and the activation runs once: the
 * sums of __ref and of every exact variant, bit for bit. Include after f32_simd_loops.h. */
#ifndef CNNC_F32_DENSE_COLS_H
#define CNNC_F32_DENSE_COLS_H

F32_TARGET static void f32_dense_cols_loops(const cnnc_f32_dense_params *p, int c0, int c1,
                                            const float *CNNC_RESTRICT x,
                                            const float *CNNC_RESTRICT w,
                                            const float *CNNC_RESTRICT bias,
                                            float *CNNC_RESTRICT y) {
    const int m = p->m, k = p->k, cols = c1 - c0, tail = cols % F32_LANES, body = cols - tail;
    const f32m full = f32m_first(F32_LANES), tmask = f32m_first(tail ? tail : F32_LANES);
    int r, j, k0;
    for (r = 0; r < p->n; ++r) {
        const float *xr = x + (size_t)r * k; /* [k] */
        float *yr = y + (size_t)r * m + c0;  /* [cols] */
        for (j = 0; j < cols; ++j) yr[j] = bias ? bias[c0 + j] : 0.0f;
        for (k0 = 0; k0 < k; k0 += F32_DENSE_KB) {
            const int kb = k - k0 < F32_DENSE_KB ? k - k0 : F32_DENSE_KB;
            const float *wk = w + (size_t)k0 * m + c0; /* [kb][cols], rows m apart */
            for (j = 0; j < body; j += F32_LANES) {
                dense_row_block(F32_LANES, full, kb, xr + k0, wk + j, (size_t)m, yr + j);
            }
            if (tail) dense_row_block(tail, tmask, kb, xr + k0, wk + body, (size_t)m, yr + body);
        }
        for (j = 0; j < body; j += F32_LANES)
            f32v_store(yr + j, f32v_act(&p->act, f32v_load(yr + j)));
        if (tail) f32v_storem(yr + body, tmask, f32v_act(&p->act, f32v_loadm(yr + body, tmask)));
    }
}

#endif /* CNNC_F32_DENSE_COLS_H */
