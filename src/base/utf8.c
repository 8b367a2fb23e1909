/* utf8: validation and repair of byte strings; see utf8.h. */
#include "utf8.h"

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
