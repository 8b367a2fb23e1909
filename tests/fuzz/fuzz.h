/*
 * fuzz: what the libFuzzer targets share. A target states its invariants with FUZZ_CHECK,
 * which aborts (so both libFuzzer and the corpus replay report the input) instead of
 * asserting, because NDEBUG builds must still check them.
 */
#ifndef SKED_FUZZ_H
#define SKED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif
