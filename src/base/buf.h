/*
 * buf: a growable byte string, always NUL-terminated so it can be used as a C string.
 * Callers that take bytes from outside check their own caps before appending.
 */
#ifndef SKED_BUF_H
#define SKED_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The format attribute (no variadic arguments: 0) lets clang's -Wformat-nonliteral accept the
 * vsnprintf of fmt inside, and checks callers' formats. */
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal, quotes included. */
void buf_json_string(struct buf *b, const char *s);
void buf_reset(struct buf *b);
/* Hands the data to the caller (who frees it) and empties b. Never NULL. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* The contents as a C string ("" when empty). */
const char *buf_cstr(const struct buf *b);

#endif
