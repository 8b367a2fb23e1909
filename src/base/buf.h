/*
 * buf: a growable byte string, always NUL-terminated so it can be used as a C string.
 * Callers that take bytes from outside check their own caps before appending.
 */
#ifndef SKED_BUF_H
#define SKED_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Makes room for extra more bytes (and the terminating NUL). */
void buf_reserve(struct buf *b, size_t extra);
/* Appending is inline: JSON writing appends a byte or a few at a time. */
static inline void buf_append(struct buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static inline void buf_putc(struct buf *b, char c)
{
    if (b->len + 2 > b->cap) buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}
void buf_puts(struct buf *b, const char *s);
/* v in decimal, as printf's %lld writes it. */
void buf_put_int(struct buf *b, long long v);
/* v in decimal into out, NUL-terminated; returns its length. For the hot paths printf is slow on. */
size_t fmt_int(char out[24], long long v);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The format attribute (no variadic arguments: 0) lets clang's -Wformat-nonliteral accept the
 * vsnprintf of fmt inside, and checks callers' formats. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal, quotes included, escaped as jansson does (\" \\ \b \f
 * \n \r \t, other control characters \u00XX); the bytes are taken as valid UTF-8. */
void buf_json_string(struct buf *b, const char *s);
/* The same for n bytes; true when some were not ASCII (for callers that check the UTF-8). */
bool buf_json_stringn(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);
/* Hands the data to the caller (who frees it) and empties b. Never NULL. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* The contents as a C string ("" when empty). */
const char *buf_cstr(const struct buf *b);

#endif
