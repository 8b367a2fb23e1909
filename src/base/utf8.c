/* utf8: validation and repair of byte strings; see utf8.h. */
#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "casefold_table.h"

/* Length of the valid sequence starting at s (at most n bytes), or 0 when invalid; *cp gets its
 * code point. */
static inline size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    uint32_t v;
    if (c == 0) return 0;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        if (n < 2 || (s[1] & 0xc0) != 0x80) return 0;
        *cp = (uint32_t)(c & 0x1f) << 6 | (s[1] & 0x3f);
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
        v = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        if (v < 0x800 || (v >= 0xd800 && v <= 0xdfff)) return 0; /* overlong, or a surrogate */
        *cp = v;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        v = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
            (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
        if (v < 0x10000 || v > 0x10ffff) return 0; /* overlong, or past Unicode */
        *cp = v;
        return 4;
    }
    return 0;
}

static size_t seq_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    return decode(s, n, &cp);
}

size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

/* Columns a terminal gives c: 0 for combining marks and zero-width characters, 2 for the wide
 * and fullwidth ones of East Asian scripts and emoji (Unicode's EastAsianWidth W and F, in
 * blocks), else 1. */
static int cp_width(uint32_t c)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x0610, 0x061a},
        {0x064b, 0x065f}, {0x0e31, 0x0e31}, {0x0e34, 0x0e3a}, {0x0e47, 0x0e4e},
        {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x200b, 0x200f}, {0x202a, 0x202e},
        {0x2060, 0x2064}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f},
        {0xfeff, 0xfeff}, {0xe0100, 0xe01ef}};
    static const uint32_t wide[][2] = {
        {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
        {0x25fd, 0x25fe},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x26a1, 0x26a1},
        {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26d4, 0x26d4},
        {0x26ea, 0x26ea},   {0x26f2, 0x26f5},   {0x26fa, 0x26fd},   {0x2705, 0x2705},
        {0x270a, 0x270b},   {0x2728, 0x2728},   {0x274c, 0x274c},   {0x2753, 0x2755},
        {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},
        {0x2e80, 0x303e},   {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},
        {0xa000, 0xa4cf},   {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},
        {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},
        {0x16fe0, 0x16fe4}, {0x17000, 0x18cff}, {0x1b000, 0x1b2ff}, {0x1f004, 0x1f004},
        {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f251},
        {0x1f300, 0x1f64f}, {0x1f680, 0x1f6ff}, {0x1f7e0, 0x1f7eb}, {0x1f90c, 0x1f9ff},
        {0x1fa70, 0x1faff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd}};
    if (c < 0x300) return 1;
    for (size_t i = 0; i < sizeof zero / sizeof *zero; i++)
        if (c >= zero[i][0] && c <= zero[i][1]) return 0;
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
        if (c >= wide[i][0] && c <= wide[i][1]) return 2;
    return 1;
}

size_t utf8_whole(const char *s, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char b = (unsigned char)s[n - back];
        if ((b & 0xc0) == 0x80) continue; /* a continuation byte: its lead is further back */
        size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        return need > back && n > back ? n - back : n;
    }
    return n;
}

size_t utf8_next(const char *s, size_t n, int *width)
{
    uint32_t cp;
    size_t len = decode((const unsigned char *)s, n, &cp);
    if (len == 0) { /* an invalid byte: one column, as its replacement would take */
        *width = 1;
        return 1;
    }
    *width = cp_width(cp);
    return len;
}

size_t utf8_width(const char *s)
{
    size_t cols = 0, n = strlen(s);
    for (size_t i = 0; i < n;) {
        int w;
        i += utf8_next(s + i, n - i, &w);
        cols += (size_t)w;
    }
    return cols;
}

/* The range of casefold_table.h that decides how c folds: the last that starts at c or
 * before. Straight from an index for code points of one and two bytes in UTF-8 (Latin,
 * Greek, Cyrillic, Armenian); past them, among the few ranges c's block may hold. */
static const struct casefold_range *fold_range(uint32_t c)
{
    if (c < CASEFOLD_DIRECT) return &casefold_ranges[casefold_direct[c]];
    size_t b = c >> CASEFOLD_BLOCK_SHIFT, lo, hi; /* it is one of [lo, hi], or lo - 1 */
    if (b < CASEFOLD_BLOCKS) {
        lo = casefold_blocks[b];
        hi = casefold_blocks[b + 1];
        if (hi > CASEFOLD_RANGES - 1) hi = CASEFOLD_RANGES - 1;
    } else {
        lo = casefold_blocks[CASEFOLD_BLOCKS];
        hi = CASEFOLD_RANGES - 1;
    }
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (casefold_ranges[mid].first <= c)
            lo = mid;
        else
            hi = mid - 1;
    }
    /* c before every range of its block: the one before (ending before the block) decides it,
     * as not folding, and from its start to lo's is where utf8_fold may keep it */
    if (casefold_ranges[lo].first > c && lo > 0) lo--;
    return &casefold_ranges[lo];
}

/* c folded by r, the range fold_range gives (c itself when c is past r's end, between its
 * strides, or before it: c - first then wraps around). */
static uint32_t fold_by(const struct casefold_range *r, uint32_t c)
{
    uint32_t off = c - r->first;
    uint32_t in = (off <= r->span) & ~(r->every_other & off); /* 1 or 0, without a branch */
    return c + ((uint32_t)r->delta & (0u - in));
}

/* Writes code point c as UTF-8 at o; returns its length. */
static size_t put_cp(unsigned char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xc0 | c >> 6);
        o[1] = (unsigned char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xe0 | c >> 12);
        o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | c >> 18);
    o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (c & 0x3f));
    return 4;
}

void utf8_fold(struct buf *out, const char *s, size_t n)
{
    if (!n) return; /* nothing reserved: a reserved buffer holds no NUL yet */
    const unsigned char *p = (const unsigned char *)s;
    /* A folded letter is at most half as long again as its capital (Ⱥ U+023A, two bytes,
     * folds to ⱥ U+2C65, three; tools/gen_casefold.py checks it): room for the longest. */
    buf_reserve(out, n + n / 2);
    unsigned char *o = (unsigned char *)out->data + out->len;
    /* Past the direct index: the range for the code points [near, near + width), from one
     * range's start to the next, where a text of one script mostly stays (Georgian's small
     * letters, CJK), so most of its letters need no search. */
    const struct casefold_range *far = casefold_ranges;
    uint32_t near = 0, width = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = p[i];
        uint32_t c;
        size_t l;
        if (b < 0x80) {
            *o++ = b >= 'A' && b <= 'Z' ? (unsigned char)(b + 32) : b;
            continue;
        }
        if (!(l = decode(p + i, n - i, &c))) {
            *o++ = b; /* a byte of no valid sequence, as it is */
            continue;
        }
        const struct casefold_range *r;
        if (c < CASEFOLD_DIRECT) {
            r = &casefold_ranges[casefold_direct[c]];
        } else {
            if (c - near >= width) {
                far = fold_range(c);
                bool last = far == casefold_ranges + CASEFOLD_RANGES - 1;
                near = far->first;
                width = (last ? 0x110000 : far[1].first) - near;
            }
            r = far;
            if (c - r->first > r->span) {
                /* past the range (CJK, Georgian's small letters): the bytes as they are */
                memcpy(o, p + i, l);
                o += l;
                i += l - 1;
                continue;
            }
        }
        o += put_cp(o, fold_by(r, c)); /* maybe of another length: K (Kelvin) k, ẞ ß, Ⱥ ⱥ */
        i += l - 1;
    }
    out->len = (size_t)((char *)o - out->data);
    out->data[out->len] = '\0';
}

/* Unicode's White_Space characters, and the invisible ones that take no room (zero-width
 * space, joiners, word joiner, byte order mark): a name of them alone shows nothing. */
static bool shows_nothing(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200d) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x2060 || c == 0x3000 || c == 0xfeff;
}

bool utf8_blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    uint32_t c;
    for (size_t l; *p; p += l, n -= l)
        if (!(l = decode(p, n, &c)) || !shows_nothing(c)) return false;
    return true;
}

bool utf8_has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
            (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))) /* U+2028, U+2029 */
            return true;
    return false;
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
