/* uuid: version-4 UUIDs from libsodium's CSPRNG; see uuid.h. */
#include "uuid.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

void uuid_v4(char out[UUID_STR_LEN])
{
    /* the CSPRNG's bytes are taken 32 ids at a time: one getrandom per id was a system call on
     * every run's path (each thread has its own supply) */
    static _Thread_local unsigned char pool[16 * 32];
    static _Thread_local size_t left;
    if (left == 0) {
        randombytes_buf(pool, sizeof pool);
        left = sizeof pool;
    }
    unsigned char b[16];
    memcpy(b, pool + sizeof pool - left, sizeof b);
    sodium_memzero(pool + sizeof pool - left, sizeof b);
    left -= sizeof b;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
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
