/* buf: growable byte strings; see buf.h. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void buf_reserve(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

size_t fmt_int(char out[24], long long v)
{
    char num[24], *p = num + sizeof num;
    /* through unsigned: the negative of LLONG_MIN does not fit */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    size_t n = (size_t)(num + sizeof num - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

void buf_put_int(struct buf *b, long long v)
{
    char num[24];
    buf_append(b, num, fmt_int(num, v));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n <= 0) return;
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Whether any of the 8 bytes of w is below 0x20, '"' or '\\' (exact for the word as a whole:
 * the usual has-zero-byte tests). */
static bool word_needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    uint64_t hit = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash);
    return hit & highs;
}

bool buf_json_stringn(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_putc(b, '"');
    /* 1 for the bytes that need an escape: control characters, '"' and '\\' */
    static const unsigned char needs[256] = {
        [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
    };
    uint64_t high = 0;
    size_t from = 0; /* the bytes since the last escape are copied in one go */
    for (size_t i = 0; i < n;) {
        /* eight bytes at a time while none needs an escape (most strings: ids, times, links) */
        uint64_t w;
        if (i + 8 <= n && (memcpy(&w, s + i, 8), !word_needs_escape(w))) {
            high |= w;
            i += 8;
            continue;
        }
        unsigned char c = (unsigned char)s[i++];
        high |= c;
        if (!needs[c]) continue;
        buf_append(b, s + from, i - 1 - from);
        from = i;
        switch (c) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        case '\f': buf_append(b, "\\f", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, esc, 6);
        }
        }
    }
    buf_append(b, s + from, n - from);
    buf_putc(b, '"');
    return high & 0x8080808080808080u;
}

void buf_json_string(struct buf *b, const char *s)
{
    buf_json_stringn(b, s, strlen(s));
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

char *buf_steal(struct buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

const char *buf_cstr(const struct buf *b)
{
    return b->data ? b->data : "";
}
