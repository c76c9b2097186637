/* CRC-32 as in zlib.crc32 (reflected polynomial 0xEDB88320), and Adler-32 as in
 * zlib.adler32. Bitwise, table-free: they run once per init over the blob, so 2 KB of
 * flash for a table is not worth it. */
#include "cnnc_blob.h"

uint32_t cnnc_crc32(const uint8_t *data, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int bit;
    for (i = 0; i < n; ++i) {
        crc ^= data[i];
        for (bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

uint32_t cnnc_adler32(const uint8_t *data, size_t n) {
    uint32_t a = 1, b = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        a += data[i];
        if (a >= 65521u) a -= 65521u;
        b += a;
        if (b >= 65521u) b -= 65521u;
    }
    return b << 16 | a;
}
