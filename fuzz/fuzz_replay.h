/* main() for a replay build (-DCNNC_FUZZ_REPLAY, no -fsanitize=fuzzer): fuzz/campaign.py
 * streams cases on stdin as <uint32 little-endian length><bytes> and reads, per case,
 * "case I ran R" on stdout; the same marker on stderr lets it attribute sanitizer
 * reports (built with -fsanitize-recover, ASAN_OPTIONS=halt_on_error=0) to a case. */
#include <stdio.h>

#ifndef FUZZ_RAN
#define FUZZ_RAN 0
#endif

int main(void) {
    unsigned char header[4];
    long index = 0;
    while (fread(header, 1, 4, stdin) == 4) {
        size_t n = (size_t)header[0] | (size_t)header[1] << 8 | (size_t)header[2] << 16 |
                   (size_t)header[3] << 24;
        uint8_t *data = malloc(n + 1);
        if (data == NULL || fread(data, 1, n, stdin) != n) return 2;
        fprintf(stderr, "\n@@case %ld\n", index);
        fflush(stderr);
        LLVMFuzzerTestOneInput(data, n);
        free(data);
        printf("case %ld ran %d\n", index, FUZZ_RAN);
        fflush(stdout);
        ++index;
    }
    return 0;
}
