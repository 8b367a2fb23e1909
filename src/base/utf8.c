/* utf8: validation and repair of byte strings; see utf8.h. */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid sequence starting at s (at most n bytes), or 0 when invalid. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    size_t len;
    unsigned int cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return len;
}

size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

/* The small letter of a capital of the ranges utf8_fold covers, else c. */
static uint32_t fold_cp(uint32_t c)
{
    if (c >= 0xc0 && c <= 0xde) return c == 0xd7 ? c : c + 0x20; /* À-Þ, less × */
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c | 1; /* capitals at even code points, each before its small letter */
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return c & 1 ? c + 1 : c;
    if (c == 0x178) return 0xff; /* Ÿ */
    if (c == 0x386) return 0x3ac;
    if (c >= 0x388 && c <= 0x38a) return c + 0x25;
    if (c == 0x38c) return 0x3cc;
    if (c == 0x38e || c == 0x38f) return c + 0x3f;
    if ((c >= 0x391 && c <= 0x3a1) || (c >= 0x3a3 && c <= 0x3ab)) return c + 0x20;
    if (c == 0x3c2) return 0x3c3; /* final sigma */
    if (c >= 0x400 && c <= 0x40f) return c + 0x50;
    if (c >= 0x410 && c <= 0x42f) return c + 0x20;
    return c;
}

void utf8_fold(struct buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n) buf_reserve(out, n); /* none for nothing: a reserved buffer holds no NUL yet */
    for (size_t i = 0; i < n; i++) {
        unsigned char b = p[i];
        if (b >= 'A' && b <= 'Z') {
            buf_putc(out, (char)(b + 32));
        } else if ((b & 0xe0) == 0xc0 && i + 1 < n && (p[i + 1] & 0xc0) == 0x80 && b >= 0xc2) {
            /* every letter folded is in the two-byte range, and so is its small letter */
            uint32_t c = fold_cp(((uint32_t)(b & 0x1f) << 6) | (p[i + 1] & 0x3f));
            buf_putc(out, (char)(0xc0 | (c >> 6)));
            buf_putc(out, (char)(0x80 | (c & 0x3f)));
            i++;
        } else {
            buf_putc(out, (char)b);
        }
    }
}

bool utf8_blank(const char *s)
{
    while (*s && strchr(" \t\r\n\v\f", *s)) s++;
    return !*s;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = seq_len(p + i, n - i);
        if (!l) return false;
        i += l;
    }
    return true;
}

void utf8_sanitize(struct buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0;
    while (i < n) {
        size_t l = seq_len(p + i, n - i);
        if (l) {
            i += l;
            continue;
        }
        buf_append(out, s + start, i - start);
        buf_append(out, "\xef\xbf\xbd", 3);
        i++;
        start = i;
    }
    buf_append(out, s + start, n - start);
}
