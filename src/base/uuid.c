/* uuid: version-4 and version-7 UUIDs from libsodium's CSPRNG; see uuid.h. */
#include "uuid.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* 16 bytes from the CSPRNG, taken 32 ids at a time: one getrandom per id was a system call on
 * every run's path (each thread has its own supply) */
static void random16(unsigned char b[16])
{
    static _Thread_local unsigned char pool[16 * 32];
    static _Thread_local size_t left;
    if (left == 0) {
        randombytes_buf(pool, sizeof pool);
        left = sizeof pool;
    }
    memcpy(b, pool + sizeof pool - left, 16);
    sodium_memzero(pool + sizeof pool - left, 16);
    left -= 16;
}

static void format(const unsigned char b[16], char out[UUID_STR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

void uuid_v4(char out[UUID_STR_LEN])
{
    unsigned char b[16];
    random16(b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format(b, out);
}

void uuid_v7(char out[UUID_STR_LEN], int64_t now_us)
{
    unsigned char b[16];
    random16(b);
    uint64_t ms = (uint64_t)(now_us < 0 ? 0 : now_us) / 1000;
    /* RFC 9562 section 6.2, method 3: the 12 bits after the version are the fraction of the
     * millisecond, so ids made a few microseconds apart still sort in the order they were made */
    unsigned frac = (unsigned)(((uint64_t)(now_us < 0 ? 0 : now_us) % 1000) * 4096 / 1000);
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (frac >> 8));
    b[7] = (unsigned char)(frac & 0xff);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format(b, out);
}

bool uuid_valid(const char *s)
{
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}
