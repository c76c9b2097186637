/* CRC-32 as in zlib.crc32 (reflected polynomial 0xEDB88320). Bitwise, table-free:
 * it runs once per init over the blob, so 2 KB of flash for a table is not worth it. */
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
