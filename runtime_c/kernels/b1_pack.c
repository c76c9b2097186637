/* Packing floats into sign bits and back; the convention is stated in cnnc_b1.h and
 * mirrored by compiler/ops/bitpack.py. */
#include "cnnc_b1.h"

int32_t cnnc_b1_popcount32__portable(uint32_t x) { return cnnc_b1_popcount32_portable(x); }

void cnnc_b1_pack__ref(const cnnc_b1_pack_params *p, const float *CNNC_RESTRICT x,
                       uint32_t *CNNC_RESTRICT y) {
    const int32_t c = p->c;
    const int32_t nw = CNNC_B1_WORDS(c);
    int32_t r, ch;
    for (r = 0; r < p->rows; ++r) {
        const float *row = x + (size_t)r * (size_t)c; /* [C] */
        uint32_t *out = y + (size_t)r * (size_t)nw;   /* [WORDS(C)] */
        int32_t word;
        for (word = 0; word < nw; ++word) out[word] = 0u; /* tail bits stay 0 */
        for (ch = 0; ch < c; ++ch) {
            /* sign(0) = +1: only x < 0 sets the bit (NaN compares false -> +1) */
            if (row[ch] < 0.0f) out[ch / CNNC_B1_BITS] |= 1u << (ch % CNNC_B1_BITS);
        }
    }
}

void cnnc_b1_pack_s8__ref(const cnnc_b1_pack_params *p, const int8_t *CNNC_RESTRICT x,
                          uint32_t *CNNC_RESTRICT y) {
    const int32_t c = p->c;
    const int32_t nw = CNNC_B1_WORDS(c);
    int32_t r, ch;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *row = x + (size_t)r * (size_t)c; /* [C] */
        uint32_t *out = y + (size_t)r * (size_t)nw;    /* [WORDS(C)] */
        int32_t word;
        for (word = 0; word < nw; ++word) out[word] = 0u;
        for (ch = 0; ch < c; ++ch) {
            /* (q - zp) * scale < 0 exactly when q < zp, for any scale > 0 */
            if (row[ch] < p->zero_point) out[ch / CNNC_B1_BITS] |= 1u << (ch % CNNC_B1_BITS);
        }
    }
}

void cnnc_b1_unpack__ref(const cnnc_b1_pack_params *p, const uint32_t *CNNC_RESTRICT x,
                         float *CNNC_RESTRICT y) {
    const int32_t c = p->c;
    const int32_t nw = CNNC_B1_WORDS(c);
    int32_t r, ch;
    for (r = 0; r < p->rows; ++r) {
        const uint32_t *row = x + (size_t)r * (size_t)nw; /* [WORDS(C)] */
        float *out = y + (size_t)r * (size_t)c;           /* [C] */
        for (ch = 0; ch < c; ++ch) {
            out[ch] = ((row[ch / CNNC_B1_BITS] >> (ch % CNNC_B1_BITS)) & 1u) ? -1.0f : 1.0f;
        }
    }
}
