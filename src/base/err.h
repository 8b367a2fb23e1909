/*
 * err: the one error convention. Functions return 0 or a negative errno-style code; parsers and
 * validators also fill a caller's struct sk_err, whose field and message become the API's 400
 * body ({"field": ..., "messages": [...]}) or a CLI's "FIELD: reason" line.
 */
#ifndef SKED_ERR_H
#define SKED_ERR_H

#include <stdarg.h>

struct sk_err {
    int code;        /* negative errno-style, 0 when unset */
    char field[128]; /* the offending field or position, "" when none */
    char msg[512];   /* what is wrong, for a person */
};

/* Fills e (when not NULL) and returns code, so callers can `return sk_err_set(...)`. */
int sk_err_set(struct sk_err *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sk_err_clear(struct sk_err *e);

#endif
